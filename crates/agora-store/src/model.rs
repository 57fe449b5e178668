//! The forum's data model as it crosses the store boundary: ids, enums, timestamps and rows.
//!
//! Nothing here is backend-specific: timestamps are microseconds since the epoch in UTC on
//! every backend, and enums travel as the same lower-case strings the database stores.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An area, e.g. "App & System Services".
    AreaId
);
id_type!(
    /// A subtopic inside an area, e.g. "Networking".
    SubtopicId
);
id_type!(
    /// A tag.
    TagId
);
id_type!(
    /// A user account.
    UserId
);
id_type!(
    /// A thread: a title and its posts.
    ThreadId
);
id_type!(
    /// A post: the opening post or a reply.
    PostId
);

/// A point in time, UTC, at microsecond precision: the one precision every backend stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_micros(micros: i64) -> Self {
        Self(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    pub fn now() -> Self {
        Self::from(Utc::now())
    }

    pub fn to_datetime(self) -> DateTime<Utc> {
        Utc.timestamp_micros(self.0).single().unwrap_or_default()
    }

    /// RFC 3339 with exactly six fractional digits: the archive's and the API's format.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime()
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    }

    pub fn parse_rfc3339(text: &str) -> Result<Self, String> {
        DateTime::parse_from_rfc3339(text)
            .map(|t| Self::from(t.with_timezone(&Utc)))
            .map_err(|e| format!("not an RFC 3339 timestamp ({e})"))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(value: DateTime<Utc>) -> Self {
        Self(value.timestamp_micros())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse_rfc3339(&text).map_err(serde::de::Error::custom)
    }
}

/// Declares a string-backed enum with its database/JSON spelling.
macro_rules! str_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        // Serde spells each variant as `as_str` does (`staff-answered`), never a second way.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $(#[serde(rename = $text)] $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, String> {
                match text {
                    $($text => Ok($name::$variant),)+
                    other => Err(format!(
                        "unknown {} {other:?}; expected one of: {}",
                        stringify!($name).to_lowercase(),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

str_enum!(
    /// What a user may do beyond posting; staff answers are marked in listings.
    Role { Member = "member", Moderator = "moderator", Staff = "staff", Admin = "admin" }
);

impl Role {
    /// Staff and admins speak for the organisation: their posts carry the staff badge.
    pub fn is_staff(self) -> bool {
        matches!(self, Role::Staff | Role::Admin)
    }
}

str_enum!(
    /// Questions can have an accepted answer; discussions cannot.
    ThreadKind { Question = "question", Discussion = "discussion" }
);

str_enum!(
    /// Where a pinned thread leads the listing.
    PinScope { Subtopic = "subtopic", Global = "global" }
);

str_enum!(
    /// Listing sort keys (the `sortBy` query parameter).
    SortKey { Activity = "activity", Newest = "newest", Boosts = "boosts", Views = "views", Replies = "replies" }
);

str_enum!(
    /// Listing sort direction (the `sortOrder` query parameter).
    SortOrder { Desc = "desc", Asc = "asc" }
);

str_enum!(
    /// Listing filters (the `filter` query parameter).
    ListingFilter { All = "all", Unanswered = "unanswered", Solved = "solved", StaffAnswered = "staff-answered" }
);

/// A user as shown beside a post or in a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserBrief {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub staff_title: Option<String>,
}

#[derive(Clone, Debug)]
pub struct AreaRow {
    pub id: AreaId,
    pub slug: String,
    pub name: String,
    pub description: String,
    /// Archived: read-only and left off the home page.
    pub archived: bool,
    pub subtopics: Vec<SubtopicRow>,
}

#[derive(Clone, Debug)]
pub struct SubtopicRow {
    pub id: SubtopicId,
    pub area_slug: String,
    pub area_name: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub docs_url: Option<String>,
    pub thread_count: i64,
    pub post_count: i64,
    pub last_activity_at: Option<Timestamp>,
    pub area_id: AreaId,
    /// The subtopic or its area is archived: read-only, left off the home page.
    pub archived: bool,
    pub who_starts: WhoStarts,
    /// Whether a new thread needs at least one tag.
    pub tags_required: bool,
}

str_enum!(
    /// Who may start threads in a subtopic: everyone, or staff only (announcements).
    WhoStarts { Everyone = "everyone", Staff = "staff" }
);

#[derive(Clone, Debug)]
pub struct TagRow {
    pub id: TagId,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub thread_count: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagBrief {
    pub slug: String,
    pub name: String,
}

#[derive(Clone, Debug)]
pub struct UserRow {
    pub brief: UserBrief,
    pub signature_html: String,
    pub created_at: Timestamp,
    pub thread_count: i64,
    pub post_count: i64,
    /// The upload token of their picture, when they chose one.
    pub avatar: Option<String>,
}

/// A thread as a listing shows it: everything is on the thread row, nothing is counted.
#[derive(Clone, Debug)]
pub struct ThreadSummary {
    pub id: ThreadId,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub kind: ThreadKind,
    pub area_slug: String,
    pub subtopic_slug: String,
    pub subtopic_name: String,
    pub author: UserBrief,
    pub created_at: Timestamp,
    pub last_activity_at: Timestamp,
    pub reply_count: i64,
    pub boost_count: i64,
    pub view_count: i64,
    pub pin_scope: Option<PinScope>,
    pub locked: bool,
    pub solved: bool,
    pub staff_answered: bool,
    pub tags: Vec<TagBrief>,
}

/// A whole thread's header: the summary plus what the thread page shows at the top.
#[derive(Clone, Debug)]
pub struct ThreadRow {
    pub summary: ThreadSummary,
    pub subtopic_id: SubtopicId,
    pub lock_reason: Option<String>,
    pub locked_at: Option<Timestamp>,
    pub accepted_post_id: Option<PostId>,
    pub recommended_post_id: Option<PostId>,
    /// The opening post was deleted or hidden: the thread is out of every listing.
    pub removed: bool,
    /// Position of the last post (deleted posts keep their places).
    pub last_position: i64,
    /// Where the accepted and recommended answers stand in the thread.
    pub accepted_position: Option<i64>,
    pub recommended_position: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct PostRow {
    pub id: PostId,
    pub thread_id: ThreadId,
    pub position: i64,
    pub author: UserBrief,
    pub author_signature_html: String,
    pub body_html: String,
    pub created_at: Timestamp,
    pub edited_at: Option<Timestamp>,
    pub boost_count: i64,
    /// Deleted (by its author, or a moderator): shown as a placeholder.
    pub deleted: bool,
    pub deleted_by_moderator: bool,
    /// Hidden by a moderator, with the reason shown to readers.
    pub hidden_reason: Option<String>,
    pub hidden: bool,
    /// Visible replies that answer this post (`reply_to` it).
    pub reply_count: i64,
    /// The post this one answers, when it is a reply to one.
    pub reply_to: Option<ReplyTarget>,
    /// The upload token of its author's picture, when they chose one.
    pub author_avatar: Option<String>,
}

/// The post a reply answers: where it stands in the (same) thread and who wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyTarget {
    pub id: PostId,
    pub position: i64,
    pub username: String,
}

#[derive(Clone, Debug)]
pub struct RevisionRow {
    pub revision: i64,
    pub author: UserBrief,
    pub created_at: Timestamp,
    pub reason: Option<String>,
    pub body_md: String,
}

/// Which threads a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ListingScope {
    Subtopic(SubtopicId),
    Tag(TagId),
    Author(UserId),
}

/// One page of a listing, asked for by page number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListingQuery {
    pub scope: ListingScope,
    pub sort: SortKey,
    pub order: SortOrder,
    pub filter: ListingFilter,
    /// 1-based.
    pub page: u32,
    pub per_page: u32,
}

impl ListingQuery {
    /// The default view (latest activity first, no filter) shows pinned threads apart, on top.
    pub fn pins_apart(&self) -> bool {
        matches!(self.scope, ListingScope::Subtopic(_))
            && self.sort == SortKey::Activity
            && self.order == SortOrder::Desc
            && self.filter == ListingFilter::All
    }
}

/// A page of a listing: `has_more` says whether a next page exists.
#[derive(Clone, Debug)]
pub struct ListingPage {
    pub threads: Vec<ThreadSummary>,
    pub has_more: bool,
}

// ---------------------------------------------------------------- accounts

str_enum!(
    /// What a personal API token may do.
    TokenScope { Read = "read", Write = "write", Admin = "admin" }
);

str_enum!(
    /// What a one-time emailed link is for.
    EmailPurpose { Verify = "verify", Reset = "reset" }
);

/// A new account. The password arrives already hashed: hashing is the caller's (slow) work.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub staff_title: Option<String>,
    pub email_verified: bool,
}

/// What the account rules need to know about a user (never shown to other users).
#[derive(Clone, Debug)]
pub struct Account {
    pub brief: UserBrief,
    pub email: Option<String>,
    pub email_verified: bool,
    pub password_hash: Option<String>,
    pub signature_md: String,
    pub created_at: Timestamp,
    pub suspended_until: Option<Timestamp>,
    pub suspend_reason: Option<String>,
    /// Signed up while registration was by approval, and not yet approved: may not post.
    pub pending_approval: bool,
}

impl Account {
    /// Suspended at `now`: may read, not write.
    pub fn suspended_at(&self, now: Timestamp) -> bool {
        self.suspended_until.is_some_and(|until| until > now)
    }
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub token_hash: String,
    pub user: UserId,
    pub expires_at: Timestamp,
    pub user_agent: String,
    pub ip: String,
}

/// A signed-in browser, as the settings page lists it.
#[derive(Clone, Debug)]
pub struct SessionRow {
    pub id: i64,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub user_agent: String,
    pub ip: String,
}

/// A session found by its token, with its account.
#[derive(Clone, Debug)]
pub struct SessionAccount {
    pub session_id: i64,
    pub last_seen_at: Timestamp,
    pub account: Account,
    /// Unread notifications, counted up to 100 (`notifications::count_unread`), when asked for.
    pub unread: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct ApiTokenRow {
    pub id: i64,
    pub name: String,
    pub scope: TokenScope,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
}

// ---------------------------------------------------------------- writing

#[derive(Clone, Debug)]
pub struct NewThread {
    pub subtopic: SubtopicId,
    pub title: String,
    pub kind: ThreadKind,
    pub tags: Vec<TagId>,
    pub author: UserId,
    pub body_md: String,
    pub body_html: String,
    pub excerpt: String,
}

#[derive(Clone, Debug)]
pub struct NewReply {
    pub thread: ThreadId,
    pub author: UserId,
    pub author_is_staff: bool,
    pub body_md: String,
    pub body_html: String,
    /// The post in the same thread this reply answers (checked by the caller: visible, same
    /// thread); its reply count goes up with this reply.
    pub reply_to: Option<PostId>,
}

#[derive(Clone, Debug)]
pub struct PostEdit {
    pub post: PostId,
    pub editor: UserId,
    pub body_md: String,
    pub body_html: String,
    /// The thread's new excerpt when the opening post changes.
    pub excerpt: Option<String>,
    pub reason: Option<String>,
}

/// What permission rules and forms need to know about a post and its thread.
#[derive(Clone, Debug)]
pub struct PostFacts {
    pub id: PostId,
    pub position: i64,
    pub author: UserId,
    pub author_name: String,
    pub body_md: String,
    pub deleted: bool,
    pub hidden: bool,
    pub thread: ThreadFacts,
    /// Whether other people have replied (an author may not delete such a thread).
    pub others_replied: bool,
    /// The post this one answers.
    pub reply_to: Option<PostId>,
    /// A moderator's reason, when hidden.
    pub hidden_reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct ThreadFacts {
    pub id: ThreadId,
    pub slug: String,
    pub title: String,
    pub kind: ThreadKind,
    pub author: UserId,
    pub subtopic: SubtopicId,
    pub locked: bool,
    pub removed: bool,
    pub pin_scope: Option<PinScope>,
    pub accepted_post: Option<PostId>,
    pub recommended_post: Option<PostId>,
    pub tags: Vec<TagId>,
}

str_enum!(
    /// The two answer markers a thread can carry.
    AnswerMark { Accepted = "accepted", Recommended = "recommended" }
);

// ---------------------------------------------------------------- moderation

/// One moderation action, recorded in the audit log in the same transaction as the change.
#[derive(Clone, Debug)]
pub struct Audit {
    pub actor: UserId,
    pub action: &'static str,
    pub thread: Option<ThreadId>,
    pub post: Option<PostId>,
    pub target_user: Option<UserId>,
    pub details: String,
}

#[derive(Clone, Debug)]
pub struct AuditRow {
    pub id: i64,
    pub at: Timestamp,
    pub actor: UserBrief,
    pub action: String,
    pub thread: Option<ThreadId>,
    pub post: Option<PostId>,
    pub target_user: Option<String>,
    pub details: String,
}

/// Where a keyset-paged list starts, in time: its first page, or the entries older
/// (`Before`) or newer (`After`) than the entry with this id. Which of the two is "next"
/// depends on the list's order (the review queue is oldest first, the audit log newest first).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Cursor {
    #[default]
    Start,
    Before(i64),
    After(i64),
}

/// One page of a keyset-paged list, in the list's order, and whether there is more on either
/// side of it.
#[derive(Clone, Debug)]
pub struct KeysetPage<T> {
    pub rows: Vec<T>,
    /// Entries come before this page in the list's order.
    pub has_prev: bool,
    /// Entries come after this page in the list's order.
    pub has_next: bool,
}

/// An open report about a post, for the review queue.
#[derive(Clone, Debug)]
pub struct FlagRow {
    pub id: i64,
    pub post: PostId,
    /// The post's place in its thread, for a link to the right page.
    pub post_position: i64,
    pub thread: ThreadId,
    pub thread_slug: String,
    pub thread_title: String,
    pub post_author: String,
    pub excerpt: String,
    pub reporter: String,
    pub reason: String,
    pub created_at: Timestamp,
}

/// Declares `ChangeKind`: each known kind with the string the change log stores for it.
macro_rules! change_kinds {
    ($($(#[$doc:meta])* $variant:ident = $text:literal),+ $(,)?) => {
        /// What a change-log entry records. The stored strings are the ones written since the
        /// log began and must never change: old databases and other nodes read them. A string
        /// this build does not know (written by a newer node) reads as `Unknown` and keeps its
        /// text, so it is never mistaken for a known kind, and never dropped as done.
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum ChangeKind {
            $($(#[$doc])* $variant,)+
            /// A kind this build does not know, as stored.
            Unknown(String),
        }

        impl ChangeKind {
            /// Every known kind (not `Unknown`).
            pub const KNOWN: &'static [ChangeKind] = &[$(ChangeKind::$variant),+];

            /// The string the change log stores.
            pub fn as_str(&self) -> &str {
                match self {
                    $(ChangeKind::$variant => $text,)+
                    ChangeKind::Unknown(text) => text,
                }
            }

            /// The kind a stored string names; never fails (see `Unknown`).
            pub fn parse(text: &str) -> ChangeKind {
                match text {
                    $($text => ChangeKind::$variant,)+
                    other => ChangeKind::Unknown(other.to_string()),
                }
            }
        }
    };
}

change_kinds!(
    /// A thread started, with its opening post.
    ThreadCreated = "thread.created",
    /// A thread written by an import (no actor).
    ThreadImported = "thread.imported",
    /// A moderator locked or unlocked a thread.
    ThreadLockChanged = "thread.lock",
    /// A thread locked through `Store::set_lock` (operator tooling).
    ThreadLocked = "thread.locked",
    /// A thread unlocked through `Store::set_lock`.
    ThreadUnlocked = "thread.unlocked",
    /// A thread pinned or unpinned (pins are not in the search index).
    ThreadPinned = "thread.pin",
    ThreadMoved = "thread.moved",
    /// New title and/or tags.
    ThreadRetitled = "thread.retitled",
    /// An accepted or recommended answer marked or cleared.
    AnswerMarked = "thread.answer",
    PostCreated = "post.created",
    PostEdited = "post.edited",
    PostDeleted = "post.deleted",
    PostHidden = "post.hidden",
    PostShown = "post.shown",
    /// A boost given or taken back.
    PostBoosted = "post.boosted",
    UserCreated = "user.created",
    UserPasswordChanged = "user.password",
    /// Display name or signature.
    UserProfileUpdated = "user.updated",
    UserRoleChanged = "user.role",
    /// A suspension set or lifted.
    UserSuspensionChanged = "user.suspension",
    FlagRaised = "flag.created",
    FlagResolved = "flag.resolved",
    /// Every stored counter recomputed (after an import or `agora db check --fix`).
    ForumRecounted = "forum.recounted",
    /// Something about a thread changed that no one did to the thread itself: a tag of it
    /// renamed or merged, its author anonymised, the demo it belonged to removed. Followers
    /// read the thread again whole (it may be gone).
    ThreadRewritten = "thread.rewritten",
    /// The live site settings (or the site's files) saved.
    SettingsChanged = "settings.changed",
    /// Areas, subtopics or tags created, edited, reordered, archived or deleted (threads
    /// they moved get their own entries).
    TaxonomyChanged = "taxonomy.changed",
    /// An account deleted or anonymised (threads it touched get their own entries).
    UserRemoved = "user.removed",
);

impl fmt::Display for ChangeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One entry of the change log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeRow {
    pub seq: i64,
    /// When the change was written (microseconds).
    pub at: i64,
    pub kind: ChangeKind,
    /// The account that made the change; None for system work (imports, recounts, operator
    /// tooling) and for entries written before the log recorded actors.
    pub actor: Option<UserId>,
    pub thread: Option<ThreadId>,
    pub post: Option<PostId>,
}

/// A thread as the search index needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexThreadRow {
    pub id: ThreadId,
    pub title: String,
    pub subtopic: String,
    /// Tag slugs, sorted.
    pub tags: Vec<String>,
    pub created_at: Timestamp,
    pub accepted_post: Option<PostId>,
    pub recommended_post: Option<PostId>,
    pub staff_answered: bool,
    pub locked: bool,
    pub reply_count: i64,
    pub removed: bool,
    /// The opening post.
    pub head_post: Option<PostId>,
}

/// A post as the search index needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexPostRow {
    pub id: PostId,
    pub thread: ThreadId,
    pub position: i64,
    pub author: String,
    pub created_at: Timestamp,
    pub boosts: i64,
    pub body_html: String,
    /// Neither deleted nor hidden.
    pub visible: bool,
}

// ---------------------------------------------------------------- profiles

str_enum!(
    /// A tab of a member's profile: what of theirs it lists, newest first.
    ProfileTab {
        Activity = "activity",
        Threads = "threads",
        Replies = "replies",
        Answers = "answers",
        BoostsGiven = "boosts-given",
        BoostsReceived = "boosts-received",
    }
);

/// One post as a profile tab lists it, with its thread; on the boost tabs, the boost too.
#[derive(Clone, Debug)]
pub struct ProfileItemRow {
    pub post_id: PostId,
    pub position: i64,
    pub author: UserBrief,
    pub created_at: Timestamp,
    pub boost_count: i64,
    pub body_md: String,
    pub body_html: String,
    pub thread_id: ThreadId,
    pub thread_slug: String,
    pub thread_title: String,
    pub area_slug: String,
    pub subtopic_slug: String,
    pub subtopic_name: String,
    /// The post is its question's accepted answer.
    pub accepted: bool,
    /// On the boost tabs: who boosted it (the member on "given") and when.
    pub boost: Option<(UserBrief, Timestamp)>,
}

/// How many items each profile tab lists (visible posts only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ProfileCounts {
    pub activity: i64,
    pub threads: i64,
    pub replies: i64,
    pub answers: i64,
    pub boosts_given: i64,
    pub boosts_received: i64,
}

impl ProfileCounts {
    pub fn of(&self, tab: ProfileTab) -> i64 {
        match tab {
            ProfileTab::Activity => self.activity,
            ProfileTab::Threads => self.threads,
            ProfileTab::Replies => self.replies,
            ProfileTab::Answers => self.answers,
            ProfileTab::BoostsGiven => self.boosts_given,
            ProfileTab::BoostsReceived => self.boosts_received,
        }
    }
}

#[cfg(test)]
mod change_kind_tests {
    use super::ChangeKind;

    #[test]
    fn every_change_kind_round_trips_through_its_string() {
        let mut seen = std::collections::HashSet::new();
        for kind in ChangeKind::KNOWN {
            assert!(seen.insert(kind.as_str()), "{kind} is spelt twice");
            assert_eq!(&ChangeKind::parse(kind.as_str()), kind);
            assert_eq!(kind.to_string(), kind.as_str());
        }
        // The strings written before the enum existed, exactly.
        assert_eq!(ChangeKind::PostCreated.as_str(), "post.created");
        assert_eq!(ChangeKind::ThreadLockChanged.as_str(), "thread.lock");
        assert_eq!(ChangeKind::FlagRaised.as_str(), "flag.created");
    }

    #[test]
    fn an_unknown_kind_keeps_its_text() {
        let kind = ChangeKind::parse("thread.archived");
        assert_eq!(kind, ChangeKind::Unknown("thread.archived".into()));
        assert_eq!(kind.as_str(), "thread.archived");
        assert!(!ChangeKind::KNOWN.contains(&kind));
    }
}
