//! `*View` structs: what a page shows, built from store rows once per request and rendered by
//! both the HTML templates and the JSON API, so the two cannot drift apart. Fields marked
//! `serde(skip)` are presentation (compact counts, relative times) the JSON leaves to clients.

mod bookmarks;
mod drafts;
pub mod format;
mod members;
mod moderation;
pub mod schema;

pub use bookmarks::*;
pub use drafts::*;
pub use members::*;
pub use moderation::*;

use agora_store::{
    AreaRow, ListingFilter, PinScope, PostRow, ProfileItemRow, ProfileTab, Role, SortKey,
    SortOrder, SubtopicRow, TagBrief, TagRow, ThreadKind, ThreadRow, ThreadSummary, Timestamp,
    UserBrief, UserRow,
};
use serde::Serialize;
use utoipa::ToSchema;

use crate::paths;

/// Presentation of a point in time: exact for machines, relative for readers. In JSON it is
/// only `iso`, and its schema says so (see the `PartialSchema` below).
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct TimeView {
    /// RFC 3339, UTC, microseconds.
    pub iso: String,
    /// For HTML's `datetime` attribute, which allows milliseconds at most.
    #[serde(skip)]
    pub datetime: String,
    #[serde(skip)]
    pub relative: String,
    /// The exact time in UTC, saying so: "2026-03-14 09:26 UTC" (the page's script shows it
    /// in the reader's own time zone).
    #[serde(skip)]
    pub exact: String,
}

impl TimeView {
    pub fn new(at: Timestamp, now: Timestamp) -> Self {
        Self {
            iso: at.to_rfc3339(),
            datetime: format::html_datetime(at),
            relative: format::relative_time(at, now),
            exact: format::exact_time(at),
        }
    }
}

/// A count with its compact label ("4.3k"). In JSON it is only the number.
#[derive(Clone, Debug, Serialize)]
#[serde(transparent)]
pub struct CountView {
    pub value: i64,
    #[serde(skip)]
    pub label: String,
}

// Both serialize transparently, so their schemas are their one field's: a field of either type
// is documented rightly without a `value_type` beside it.
impl utoipa::PartialSchema for TimeView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("RFC 3339, UTC, microseconds."))
            .into()
    }
}

impl ToSchema for TimeView {}

impl utoipa::PartialSchema for CountView {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new().schema_type(Type::Integer).into()
    }
}

impl ToSchema for CountView {}

impl CountView {
    pub fn new(value: i64) -> Self {
        Self {
            value,
            label: format::compact_count(value),
        }
    }

    /// The count with its noun, agreeing: `{{ t.replies.of("reply", "replies") }}` reads
    /// "1 reply", "2 replies", "1.2k replies". Templates write every count this way.
    pub fn of(&self, one: &str, many: &str) -> String {
        format::counted(self.value, &self.label, one, many)
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuthorView {
    pub username: String,
    pub display_name: String,
    #[schema(schema_with = schema::role)]
    pub role: Role,
    /// True for staff and admins: their posts carry the staff badge.
    pub is_staff: bool,
    pub staff_title: Option<String>,
    pub url: String,
    pub avatar: AvatarView,
}

impl From<&UserBrief> for AuthorView {
    fn from(user: &UserBrief) -> Self {
        Self {
            username: user.username.clone(),
            display_name: user.display_name.clone(),
            role: user.role,
            is_staff: user.role.is_staff(),
            staff_title: user.staff_title.clone(),
            url: paths::user(&user.username),
            avatar: AvatarView::generated(&user.username, &user.display_name),
        }
    }
}

impl AuthorView {
    /// With the picture they uploaded (its token), shown beside posts.
    pub fn with_avatar(mut self, token: Option<&str>) -> Self {
        self.avatar = self.avatar.with_upload(token, AVATAR_SMALL);
        self
    }
}

/// The sizes an uploaded avatar is served at, in pixels: twice what the pages show (40 beside
/// a post, 72 on a profile), for sharp screens.
pub const AVATAR_SMALL: u32 = 80;
pub const AVATAR_LARGE: u32 = 160;

/// How many avatar colours there are (`.avatar.av-0` … in the stylesheet).
pub const AVATAR_COLOURS: [&str; 12] = [
    "#1d4ed8", "#b91c1c", "#047857", "#7c3aed", "#b45309", "#0e7490", "#be185d", "#4d7c0f",
    "#6d28d9", "#0f766e", "#c2410c", "#4338ca",
];

/// A person's picture: an uploaded image (`image_url`) once accounts can have one, otherwise
/// their initials on a colour chosen from their username, the same on every page and node.
/// Every colour carries white text at 4.5:1 contrast or more. Beside a visible name it is
/// decorative (hidden from screen readers); alone it would need the name as its text.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AvatarView {
    /// An uploaded picture; null while the avatar is generated.
    pub image_url: Option<String>,
    /// One or two letters from the display name (or the username).
    pub initials: String,
    /// The background colour of the initials, `#rrggbb`; the text is white.
    pub color: String,
    /// The stylesheet's class for that colour (`av-N`).
    #[serde(skip)]
    pub class: String,
}

impl AvatarView {
    /// The uploaded picture (its token) at `size` pixels, when there is one.
    pub fn with_upload(mut self, token: Option<&str>, size: u32) -> Self {
        if let Some(token) = token {
            self.image_url = Some(format!("/avatars/{token}/{size}"));
        }
        self
    }

    /// The generated avatar of an account: deterministic from the username (which never
    /// changes case-insensitively), initials from the display name.
    pub fn generated(username: &str, display_name: &str) -> Self {
        let key = username.to_lowercase();
        let hash = blake3::hash(key.as_bytes());
        let index = usize::from(hash.as_bytes()[0]) % AVATAR_COLOURS.len();
        Self {
            image_url: None,
            initials: initials(display_name)
                .or_else(|| initials(username))
                .unwrap_or_else(|| "?".to_string()),
            color: AVATAR_COLOURS[index].to_string(),
            class: format!("av-{index}"),
        }
    }
}

/// The first letter of the first word and of the last, upper-cased: "Ada Lovelace" → "AL",
/// "ada" → "A", "李明" → "李". None when the text has no letters or digits.
fn initials(name: &str) -> Option<String> {
    let words: Vec<char> = name
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | '_' | '.'))
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .collect();
    let first = *words.first()?;
    let mut out: String = first.to_uppercase().collect();
    if words.len() > 1
        && let Some(last) = words.last()
    {
        out.extend(last.to_uppercase());
    }
    Some(out)
}

/// The post a reply answers, as the reply shows it: "In reply to @name", linking to the page
/// of the thread that shows that post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ReplyToView {
    pub post_id: i64,
    pub username: String,
    pub url: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TagRefView {
    pub slug: String,
    pub name: String,
    pub url: String,
}

impl From<&TagBrief> for TagRefView {
    fn from(tag: &TagBrief) -> Self {
        Self {
            slug: tag.slug.clone(),
            name: tag.name.clone(),
            url: paths::tag(&tag.slug),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubtopicRefView {
    pub area: String,
    pub slug: String,
    pub name: String,
    pub url: String,
}

/// One row of a listing.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ThreadSummaryView {
    pub id: i64,
    /// The readable part of the thread's URL, unencoded (the `url` field is encoded).
    #[serde(skip)]
    pub slug: String,
    pub title: String,
    pub url: String,
    pub excerpt: String,
    #[schema(schema_with = schema::thread_kind)]
    pub kind: ThreadKind,
    pub subtopic: SubtopicRefView,
    pub author: AuthorView,
    #[schema(value_type = String)]
    pub created_at: TimeView,
    #[schema(value_type = String)]
    pub last_activity_at: TimeView,
    #[schema(value_type = i64)]
    pub replies: CountView,
    #[schema(value_type = i64)]
    pub boosts: CountView,
    #[schema(value_type = i64)]
    pub views: CountView,
    #[schema(schema_with = schema::pinned)]
    pub pinned: Option<PinScope>,
    pub locked: bool,
    pub solved: bool,
    pub staff_answered: bool,
    pub tags: Vec<TagRefView>,
    /// `lang` for the title and excerpt when they are plainly CJK.
    #[serde(skip)]
    pub lang: Option<&'static str>,
}

impl ThreadSummaryView {
    pub fn new(t: &ThreadSummary, now: Timestamp) -> Self {
        Self {
            id: t.id.0,
            slug: t.slug.clone(),
            title: t.title.clone(),
            url: paths::thread(t.id, &t.slug),
            excerpt: t.excerpt.clone(),
            kind: t.kind,
            subtopic: SubtopicRefView {
                area: t.area_slug.clone(),
                slug: t.subtopic_slug.clone(),
                name: t.subtopic_name.clone(),
                url: paths::subtopic(&t.area_slug, &t.subtopic_slug),
            },
            author: AuthorView::from(&t.author),
            created_at: TimeView::new(t.created_at, now),
            last_activity_at: TimeView::new(t.last_activity_at, now),
            replies: CountView::new(t.reply_count),
            boosts: CountView::new(t.boost_count),
            views: CountView::new(t.view_count),
            pinned: t.pin_scope,
            locked: t.locked,
            solved: t.solved,
            staff_answered: t.staff_answered,
            tags: t.tags.iter().map(TagRefView::from).collect(),
            lang: format::cjk_lang(&t.title).or_else(|| format::cjk_lang(&t.excerpt)),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubtopicView {
    pub area: String,
    pub area_name: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub docs_url: Option<String>,
    pub url: String,
    #[schema(value_type = i64)]
    pub threads: CountView,
    #[schema(value_type = i64)]
    pub posts: CountView,
    #[schema(value_type = Option<String>)]
    pub last_activity_at: Option<TimeView>,
    /// Archived: read-only, no new threads.
    pub archived: bool,
    /// Only staff may start threads here (announcements).
    pub staff_only: bool,
    /// Whether a new thread needs at least one tag.
    pub tags_required: bool,
    #[serde(skip)]
    pub feed_rss: String,
    #[serde(skip)]
    pub feed_atom: String,
}

impl SubtopicView {
    pub fn new(s: &SubtopicRow, now: Timestamp) -> Self {
        Self {
            area: s.area_slug.clone(),
            area_name: s.area_name.clone(),
            slug: s.slug.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            docs_url: s.docs_url.clone(),
            url: paths::subtopic(&s.area_slug, &s.slug),
            threads: CountView::new(s.thread_count),
            posts: CountView::new(s.post_count),
            last_activity_at: s.last_activity_at.map(|t| TimeView::new(t, now)),
            archived: s.archived,
            staff_only: s.who_starts == agora_store::WhoStarts::Staff,
            tags_required: s.tags_required,
            feed_rss: paths::subtopic_feed(&s.area_slug, &s.slug, "rss"),
            feed_atom: paths::subtopic_feed(&s.area_slug, &s.slug, "atom"),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AreaView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub subtopics: Vec<SubtopicView>,
}

impl AreaView {
    pub fn new(a: &AreaRow, now: Timestamp) -> Self {
        Self {
            slug: a.slug.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            subtopics: a
                .subtopics
                .iter()
                .map(|s| SubtopicView::new(s, now))
                .collect(),
        }
    }
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TagView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub url: String,
    #[schema(value_type = i64)]
    pub threads: CountView,
    #[serde(skip)]
    pub feed_rss: String,
    #[serde(skip)]
    pub feed_atom: String,
}

impl From<&TagRow> for TagView {
    fn from(t: &TagRow) -> Self {
        Self {
            slug: t.slug.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            url: paths::tag(&t.slug),
            threads: CountView::new(t.thread_count),
            feed_rss: paths::tag_feed(&t.slug, "rss"),
            feed_atom: paths::tag_feed(&t.slug, "atom"),
        }
    }
}

/// The sort, filter and page a listing was asked for, with links to its neighbours.
#[derive(Clone, Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListingStateView {
    #[schema(schema_with = schema::sort_by)]
    pub sort_by: SortKey,
    #[schema(schema_with = schema::sort_order)]
    pub sort_order: SortOrder,
    #[schema(schema_with = schema::filter)]
    pub filter: ListingFilter,
    pub page: u32,
    /// Pages in this listing when known (unfiltered listings); filtered ones say `has_more`.
    pub total_pages: Option<u32>,
    pub has_more: bool,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    #[serde(skip)]
    pub sort_links: Vec<SortLink>,
    /// Descending and ascending, named for the sort ("Newest first", "Oldest first").
    #[serde(skip)]
    pub order_links: Vec<SortLink>,
    #[serde(skip)]
    pub filter_links: Vec<SortLink>,
    /// While a filter is on: the same listing without it.
    #[serde(skip)]
    pub clear_filter_url: Option<String>,
    /// The compose form with this listing's subtopic or tag chosen, where threads may start.
    #[serde(skip)]
    pub ask_url: Option<String>,
    /// "Ask a question", or "Post an announcement" where only staff start threads.
    #[serde(skip)]
    pub ask_label: &'static str,
}

/// A link in the sort or filter bar.
#[derive(Clone, Debug)]
pub struct SortLink {
    pub label: &'static str,
    pub url: String,
    pub current: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ListingView {
    pub pinned: Vec<ThreadSummaryView>,
    pub threads: Vec<ThreadSummaryView>,
    pub state: ListingStateView,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SubtopicPageView {
    pub subtopic: SubtopicView,
    pub listing: ListingView,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct TagPageView {
    pub tag: TagView,
    pub listing: ListingView,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PostView {
    pub id: i64,
    /// 0 for the opening post.
    pub position: i64,
    /// The post's permalink: the page of its thread that shows it, and its anchor.
    pub url: String,
    pub author: AuthorView,
    /// The post this one answers, when it is a reply to one.
    pub reply_to: Option<ReplyToView>,
    /// How many visible replies answer this post.
    #[schema(value_type = i64)]
    pub replies: CountView,
    /// Sanitised HTML rendered from the Markdown source when the post was written.
    pub body_html: String,
    #[schema(value_type = String)]
    pub created_at: TimeView,
    #[schema(value_type = Option<String>)]
    pub edited_at: Option<TimeView>,
    /// Where the revision history is, for edited posts.
    pub revisions_url: Option<String>,
    #[schema(value_type = i64)]
    pub boosts: CountView,
    pub accepted: bool,
    pub recommended: bool,
    /// Deleted by its author: `body_html` is empty.
    pub deleted: bool,
    /// Hidden by a moderator, with the reason: `body_html` is empty for everyone else.
    pub hidden_reason: Option<String>,
    #[serde(skip)]
    pub hidden: bool,
    #[serde(skip)]
    pub deleted_by_moderator: bool,
    #[serde(skip)]
    pub signature_html: String,
    #[serde(skip)]
    pub anchor: String,
    #[serde(skip)]
    pub lang: Option<&'static str>,
    /// The post's age in words ("3 hours ago"), beside `created_at.exact`.
    #[serde(skip)]
    pub ago: String,
}

impl PostView {
    /// `reveal`: a moderator's view, which shows hidden posts' text.
    pub fn new(p: &PostRow, thread: &ThreadRow, now: Timestamp, reveal: bool) -> Self {
        let shown = !p.deleted && (!p.hidden || reveal);
        let (id, slug) = (thread.summary.id, thread.summary.slug.as_str());
        let per_page = crate::services::read::POSTS_PER_PAGE;
        Self {
            id: p.id.0,
            position: p.position,
            url: paths::post(id, slug, p.position, p.id, per_page),
            author: AuthorView::from(&p.author).with_avatar(p.author_avatar.as_deref()),
            reply_to: p.reply_to.as_ref().map(|to| ReplyToView {
                post_id: to.id.0,
                username: to.username.clone(),
                url: paths::post(id, slug, to.position, to.id, per_page),
            }),
            replies: CountView::new(p.reply_count),
            ago: format::ago(p.created_at, now),
            body_html: if shown {
                p.body_html.clone()
            } else {
                String::new()
            },
            deleted: p.deleted,
            hidden_reason: p
                .hidden
                .then(|| p.hidden_reason.clone().unwrap_or_default()),
            hidden: p.hidden,
            deleted_by_moderator: p.deleted_by_moderator,
            created_at: TimeView::new(p.created_at, now),
            edited_at: p.edited_at.map(|t| TimeView::new(t, now)),
            revisions_url: p.edited_at.map(|_| paths::revisions(p.id)),
            boosts: CountView::new(p.boost_count),
            accepted: thread.accepted_post_id == Some(p.id),
            recommended: thread.recommended_post_id == Some(p.id),
            signature_html: p.author_signature_html.clone(),
            anchor: paths::post_anchor(p.id),
            lang: format::cjk_lang(&p.body_html),
        }
    }
}

/// What deleting a post takes with it, for the page that asks first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DeletionView {
    pub post_id: i64,
    pub post_url: String,
    /// Where the confirming form posts.
    pub action: String,
    pub thread_title: String,
    pub thread_url: String,
    /// The opening post: deleting it removes the whole thread.
    pub opening: bool,
    /// The visible replies that go with the thread (0 for a reply).
    #[schema(value_type = i64)]
    pub replies: CountView,
    pub excerpt: String,
}

/// A link from the top of a thread to its accepted or recommended answer.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AnswerLinkView {
    pub post_id: i64,
    pub url: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ThreadPageView {
    pub thread: ThreadSummaryView,
    /// The opening post was deleted or hidden (only moderators see such a thread).
    pub removed: bool,
    pub lock_reason: Option<String>,
    #[schema(value_type = Option<String>)]
    pub locked_at: Option<TimeView>,
    pub accepted_answer: Option<AnswerLinkView>,
    pub recommended_answer: Option<AnswerLinkView>,
    pub posts: Vec<PostView>,
    pub page: u32,
    pub total_pages: u32,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    #[serde(skip)]
    pub feed_rss: String,
    #[serde(skip)]
    pub feed_atom: String,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    pub avatar: AvatarView,
    #[schema(schema_with = schema::role)]
    pub role: Role,
    pub is_staff: bool,
    pub staff_title: Option<String>,
    pub signature_html: String,
    #[schema(value_type = String)]
    pub joined_at: TimeView,
    #[serde(skip)]
    pub joined_label: String,
    #[schema(value_type = i64)]
    pub threads: CountView,
    #[schema(value_type = i64)]
    pub posts: CountView,
    pub url: String,
}

impl UserView {
    pub fn new(u: &UserRow, now: Timestamp) -> Self {
        Self {
            username: u.brief.username.clone(),
            display_name: u.brief.display_name.clone(),
            avatar: AvatarView::generated(&u.brief.username, &u.brief.display_name)
                .with_upload(u.avatar.as_deref(), AVATAR_LARGE),
            role: u.brief.role,
            is_staff: u.brief.role.is_staff(),
            staff_title: u.brief.staff_title.clone(),
            signature_html: u.signature_html.clone(),
            joined_at: TimeView::new(u.created_at, now),
            joined_label: format::long_date(u.created_at),
            threads: CountView::new(u.thread_count),
            posts: CountView::new(u.post_count),
            url: paths::user(&u.brief.username),
        }
    }
}

/// A tab of a profile: its link, with how many items it lists.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProfileTabView {
    #[schema(schema_with = schema::profile_tab)]
    pub tab: ProfileTab,
    pub label: &'static str,
    #[schema(value_type = i64)]
    pub count: CountView,
    pub url: String,
    pub current: bool,
    /// The count with its noun: "1 reply", "3 boosts".
    #[serde(skip)]
    pub count_text: String,
}

/// A thread as a profile's item names it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ThreadRefView {
    pub id: i64,
    pub title: String,
    pub url: String,
}

/// One post on a profile tab, with its thread; on the boost tabs, who boosted it and when.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ProfileItemView {
    pub post_id: i64,
    /// "thread" for an opening post, "reply" for any other.
    #[schema(schema_with = schema::profile_item_kind)]
    pub kind: &'static str,
    /// The post on its thread's page.
    pub url: String,
    pub thread: ThreadRefView,
    pub subtopic: SubtopicRefView,
    pub author: AuthorView,
    #[schema(value_type = String)]
    pub created_at: TimeView,
    /// The start of the post as plain text.
    pub excerpt: String,
    #[schema(value_type = i64)]
    pub boosts: CountView,
    /// The post is its question's accepted answer.
    pub accepted: bool,
    pub boosted_by: Option<AuthorView>,
    #[schema(value_type = Option<String>)]
    pub boosted_at: Option<TimeView>,
    /// The post's HTML, for the member's feed.
    #[serde(skip)]
    pub body_html: String,
    #[serde(skip)]
    pub lang: Option<&'static str>,
}

/// Characters of a post shown on a profile.
const PROFILE_EXCERPT_CHARS: usize = 240;

impl ProfileItemView {
    /// `url` is where the post is (see `paths::post`).
    pub fn new(row: &ProfileItemRow, url: String, now: Timestamp) -> Self {
        let excerpt = agora_markup::excerpt(&row.body_md, PROFILE_EXCERPT_CHARS);
        Self {
            post_id: row.post_id.0,
            kind: if row.position == 0 { "thread" } else { "reply" },
            url,
            thread: ThreadRefView {
                id: row.thread_id.0,
                title: row.thread_title.clone(),
                url: paths::thread(row.thread_id, &row.thread_slug),
            },
            subtopic: SubtopicRefView {
                area: row.area_slug.clone(),
                slug: row.subtopic_slug.clone(),
                name: row.subtopic_name.clone(),
                url: paths::subtopic(&row.area_slug, &row.subtopic_slug),
            },
            author: AuthorView::from(&row.author),
            created_at: TimeView::new(row.created_at, now),
            lang: format::cjk_lang(&row.thread_title).or_else(|| format::cjk_lang(&excerpt)),
            excerpt,
            boosts: CountView::new(row.boost_count),
            accepted: row.accepted,
            boosted_by: row.boost.as_ref().map(|(by, _)| AuthorView::from(by)),
            boosted_at: row.boost.as_ref().map(|(_, at)| TimeView::new(*at, now)),
            body_html: row.body_html.clone(),
        }
    }
}

/// A member's profile and one page of one of its tabs.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct UserPageView {
    pub user: UserView,
    #[schema(schema_with = schema::profile_tab)]
    pub tab: ProfileTab,
    pub tabs: Vec<ProfileTabView>,
    /// This page of the tab, newest first.
    pub items: Vec<ProfileItemView>,
    pub page: u32,
    pub total_pages: u32,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    /// What the tab says when it lists nothing.
    #[serde(skip)]
    pub empty_text: String,
    #[serde(skip)]
    pub feed_rss: String,
    #[serde(skip)]
    pub feed_atom: String,
    /// Whose profile it is (for the owner's own tabs).
    #[serde(skip)]
    pub user_id: agora_store::UserId,
}

/// A profile's header and tabs without a tab's items (the owner's bookmarks page).
#[derive(Clone, Debug)]
pub struct ProfileHeadView {
    pub user_id: agora_store::UserId,
    pub user: UserView,
    pub tabs: Vec<ProfileTabView>,
    pub feed_rss: String,
    pub feed_atom: String,
}

/// What a diff line can be: see [`DiffLineView::kind`].
pub const DIFF_LINE_KINDS: [&str; 4] = ["added", "removed", "same", "gap"];

/// One line of a diff between two revisions, split into runs so changed words stand out.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DiffLineView {
    /// "added", "removed", "same", or "gap" for a run of unchanged lines left out.
    #[schema(schema_with = schema::diff_line_kind)]
    pub kind: &'static str,
    pub segments: Vec<DiffSegmentView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DiffSegmentView {
    pub text: String,
    /// True for the words that changed within a changed line.
    pub emphasized: bool,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RevisionView {
    pub number: i64,
    pub author: AuthorView,
    #[schema(value_type = String)]
    pub created_at: TimeView,
    pub reason: Option<String>,
    /// The Markdown source of this revision.
    pub body: String,
    /// Changes from the previous revision; empty for the first.
    pub diff: Vec<DiffLineView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RevisionsPageView {
    pub post_id: i64,
    pub thread: ThreadSummaryView,
    pub post_url: String,
    /// Newest first.
    pub revisions: Vec<RevisionView>,
}

#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct HomeView {
    pub areas: Vec<AreaView>,
    /// No subtopic shown has a thread yet.
    #[serde(skip)]
    pub no_threads: bool,
}

/// One search result: the thread and the passage of its best-matching post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchResultView {
    pub thread: ThreadSummaryView,
    /// The matched passage as HTML: text escaped, matched words in `<mark>`.
    pub snippet_html: String,
    /// Link to the matched post.
    pub post_url: String,
}

/// A link that changes one thing about the search (its order, its page, a correction).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchLinkView {
    pub label: String,
    pub url: String,
    pub current: bool,
}

/// A page of search results, for the page and the JSON API alike.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SearchPageView {
    /// The query as typed.
    pub query: String,
    /// What in the query was not understood or left out, in words a person can act on.
    pub notices: Vec<String>,
    /// The query with misspelt words corrected, when a word matched nothing and a word one
    /// edit away did (results are already for the correction).
    pub did_you_mean: Option<SearchLinkView>,
    /// No thread holds every word of the query: the results are the closest matches, those
    /// holding the most of its distinctive words first.
    pub partial: bool,
    pub results: Vec<SearchResultView>,
    pub page: u32,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    pub sorts: Vec<SearchLinkView>,
    pub feed_rss: String,
    pub feed_atom: String,
}

/// Threads that may already answer a question being written.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SimilarView {
    pub threads: Vec<ThreadSummaryView>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// WCAG's relative luminance of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let channel = |i: usize| {
            let v = f64::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap_or(0)) / 255.0;
            if v <= 0.03928 {
                v / 12.92
            } else {
                ((v + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5)
    }

    #[test]
    fn avatar_colours_carry_white_text() {
        for colour in AVATAR_COLOURS {
            let contrast = 1.05 / (luminance(colour) + 0.05);
            assert!(contrast >= 4.5, "{colour}: {contrast:.2}");
        }
    }

    #[test]
    fn avatars_are_deterministic() {
        let a = AvatarView::generated("Ada_L", "Ada Lovelace");
        let b = AvatarView::generated("ada_l", "Ada Lovelace");
        assert_eq!((a.initials.as_str(), &a.color), ("AL", &b.color));
        assert_eq!(a.class, b.class);
        assert!(a.image_url.is_none());
        assert_eq!(AvatarView::generated("x", "李明").initials, "李");
        assert_eq!(AvatarView::generated("bob", "").initials, "B");
        assert_eq!(AvatarView::generated("bob", "  ").initials, "B");
        assert_eq!(
            AvatarView::generated("mary-jane", "mary jane watson").initials,
            "MW"
        );
        // Different people mostly get different colours.
        let colours: std::collections::HashSet<String> = (0..40)
            .map(|i| AvatarView::generated(&format!("user{i}"), "U").color)
            .collect();
        assert!(colours.len() >= 6, "{colours:?}");
    }
}

/// The writing forms' file field: the types it accepts and the hint that names them and the
/// size limit (from the site settings).
#[derive(Clone, Debug, Default)]
pub struct AttachField {
    /// For the input's `accept`: ".png,.jpg,…".
    pub accept: String,
    pub hint: String,
    pub max_bytes: u64,
    /// Not one type is allowed: no field.
    pub off: bool,
}

impl AttachField {
    pub fn new(rules: &crate::settings::UploadRules) -> Self {
        let images: Vec<&str> = rules
            .types
            .iter()
            .map(String::as_str)
            .filter(|t| matches!(*t, "jpg" | "jpeg" | "png" | "gif" | "webp"))
            .collect();
        let files: Vec<String> = rules
            .types
            .iter()
            .filter(|t| !images.contains(&t.as_str()))
            .map(|t| format!(".{t}"))
            .collect();
        let max_bytes = rules.max_file_kb.saturating_mul(1024);
        let mut kinds = Vec::new();
        if !images.is_empty() {
            let names: Vec<String> = images
                .iter()
                .filter(|t| **t != "jpeg")
                .map(|t| match *t {
                    "jpg" => "JPEG".to_string(),
                    "webp" => "WebP".to_string(),
                    other => other.to_uppercase(),
                })
                .collect();
            kinds.push(format!("images ({})", names.join(", ")));
        }
        if !files.is_empty() {
            kinds.push(files.join(" "));
        }
        let hint = format!(
            "{}, up to {} each.",
            capitalise(&kinds.join(" or ")),
            crate::services::uploads::human_size(max_bytes)
        );
        AttachField {
            accept: rules
                .types
                .iter()
                .map(|t| format!(".{t}"))
                .collect::<Vec<_>>()
                .join(","),
            hint,
            max_bytes,
            off: rules.types.is_empty(),
        }
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
