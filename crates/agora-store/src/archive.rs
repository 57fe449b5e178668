//! The archive: the whole forum as one versioned JSON document (docs/archive-format.md).
//!
//! These types are the format. `validate` checks every rule before anything is written and
//! names the first bad record by path and field. Fields marked `serde(skip)` are derived
//! (rendered HTML, excerpts): the caller fills them before import; they are never serialized.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::{PinScope, Role, ThreadKind, Timestamp};
use crate::uploads::UploadPurpose;

pub const FORMAT: &str = "agora-archive";
/// Version 2 adds accounts' sign-in details, deleted and hidden posts, flags and the audit log;
/// version 3 the site's settings, pages and images, archived areas and subtopics, and subtopic
/// rules (all optional); version 4 which earlier post of its thread a reply answers
/// (`reply_to`, optional); version 5 what was imported from other sites (`imported`,
/// optional); version 6 uploads (`uploads`, their bytes in a directory beside the file) and
/// members' own pictures (`avatar`), both optional. Older versions are read as they are.
pub const VERSION: u32 = 6;
pub const MAX_BODY_CHARS: usize = 60_000;
pub const MAX_TAGS: usize = 5;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    pub format: String,
    pub version: u32,
    pub areas: Vec<Area>,
    pub tags: Vec<Tag>,
    pub users: Vec<User>,
    /// Uploaded images and files (version 6), before the threads whose posts name them. Their
    /// bytes are not in the document but in a directory beside it (docs/archive-format.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uploads: Vec<Upload>,
    pub threads: Vec<Thread>,
    /// Reports about posts, open or resolved (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flags: Vec<Flag>,
    /// Every moderation action, oldest first (version 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub audit_log: Vec<AuditEntry>,
    /// What the administrator set for the whole site (version 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<Site>,
    /// What came from other sites: their ids, and boosts counted without boosters
    /// (version 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub imported: Option<Imported>,
}

/// Content imported from other sites, e.g. a Stack Exchange dump (version 5): the source's ids
/// of what is here, so importing the same source again adds only what is new, and the boosts
/// it carried as counts (a dump says how many, never who).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Imported {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<ImportedUser>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub threads: Vec<ImportedId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub posts: Vec<ImportedId>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boosts: Vec<CountedBoosts>,
}

impl Imported {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
            && self.threads.is_empty()
            && self.posts.is_empty()
            && self.boosts.is_empty()
    }
}

/// A source's user and the account it became here.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportedUser {
    /// The source, e.g. `history.meta.stackexchange.com`.
    pub source: String,
    pub source_id: i64,
    pub username: String,
}

/// A source's question or post and the thread or post id it became here (the thread or post
/// may have been deleted since: it is then not imported again).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ImportedId {
    pub source: String,
    pub source_id: i64,
    pub id: i64,
}

/// Boosts a post carries beyond its `boosts` list: counted at the source, nobody named.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CountedBoosts {
    pub post_id: i64,
    pub count: i64,
}

/// One member's uploaded image or file (version 6). Its bytes are named by `sha` and kept in
/// the archive's directory as the forum's upload store keeps them: `files/AB/SHA` and
/// `thumbs/AB/SHA/WxH.EXT` (`AB`: the hash's first two characters).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Upload {
    /// The name posts use in its address, `/uploads/TOKEN/…`.
    pub token: String,
    /// Who uploaded it; null when that account was deleted (its posts' files stay).
    pub owner: Option<String>,
    pub purpose: UploadPurpose,
    pub kind: UploadKind,
    /// The file name as uploaded, shown and sent as the download's name.
    pub name: String,
    pub content_type: String,
    /// BLAKE3 of the stored bytes, 64 lower-case hex digits.
    pub sha: String,
    pub bytes: i64,
    pub width: i64,
    pub height: i64,
    pub animated: bool,
    /// `WIDTHxHEIGHT.EXT` for each thumbnail, smallest first.
    pub thumbnails: Vec<String>,
    pub created_at: Timestamp,
    /// Deleted by its owner or removed by a moderator: its bytes are gone, posts that show it
    /// say so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removed: Option<UploadRemoval>,
}

/// Whether an upload is an image (shown, with thumbnails) or a file (linked).
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum UploadKind {
    Image,
    File,
}

/// When an upload was removed, and by whom (null when that account is gone).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UploadRemoval {
    pub at: Timestamp,
    pub by: Option<String>,
}

/// The site's settings and images (version 3).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Site {
    /// The settings that differ from the defaults, as the forum stores them: a JSON object
    /// of fields (name, description, about, registration, …; see /api/v1/admin/settings).
    pub settings: serde_json::Map<String, serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<SiteFileEntry>,
}

/// One of the site's images, as stored (already re-encoded when it was uploaded).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SiteFileEntry {
    /// `logo-light`, `logo-dark` or `favicon`.
    pub name: String,
    pub content_type: String,
    /// The content, base64.
    pub bytes: String,
    pub sha: String,
}

/// Who may start threads in a subtopic (version 3).
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum WhoStarts {
    #[default]
    Everyone,
    Staff,
}

impl WhoStarts {
    pub fn as_str(self) -> &'static str {
        match self {
            WhoStarts::Everyone => "everyone",
            WhoStarts::Staff => "staff",
        }
    }

    fn is_everyone(&self) -> bool {
        *self == WhoStarts::Everyone
    }
}

impl Default for Subtopic {
    fn default() -> Self {
        Subtopic {
            slug: String::new(),
            name: String::new(),
            description: String::new(),
            docs_url: None,
            archived_at: None,
            who_starts: WhoStarts::Everyone,
            tags_required: true,
            allowed_tags: Vec::new(),
        }
    }
}

fn is_true(value: &bool) -> bool {
    *value
}

fn yes() -> bool {
    true
}

/// How a user signs in (version 2). Sessions and API tokens are not carried: after a move,
/// people sign in again and make new tokens.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UserAccount {
    pub email: String,
    pub email_verified_at: Option<Timestamp>,
    /// An Argon2 PHC string, exactly as stored.
    pub password_hash: Option<String>,
    pub suspended: Option<Suspension>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Suspension {
    pub until: Timestamp,
    pub reason: String,
}

/// A post deleted by its author or a moderator (`by`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Deletion {
    pub at: Timestamp,
    pub by: String,
}

/// A post a moderator hid, with the reason readers see.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Hiding {
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    pub post_id: i64,
    pub user: String,
    pub reason: String,
    pub created_at: Timestamp,
    pub resolved: Option<FlagResolution>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FlagResolution {
    pub at: Timestamp,
    pub by: String,
    pub resolution: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AuditEntry {
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub thread_id: Option<i64>,
    pub post_id: Option<i64>,
    pub target_user: Option<String>,
    pub details: String,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Area {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub subtopics: Vec<Subtopic>,
    /// When it was archived (version 3): read-only, off the home page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Subtopic {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub docs_url: Option<String>,
    /// Version 3: when it was archived; who may start threads; whether threads need tags;
    /// the tags allowed (none listed: any).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archived_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "WhoStarts::is_everyone")]
    pub who_starts: WhoStarts,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub tags_required: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_tags: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Tag {
    pub slug: String,
    pub name: String,
    pub description: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub staff_title: Option<String>,
    pub signature: String,
    pub created_at: Timestamp,
    /// Sign-in details (version 2); absent for people who never had an account here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<UserAccount>,
    /// The token of the upload that is their picture (version 6); absent: the generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avatar: Option<String>,
    /// Derived: the rendered signature.
    #[serde(skip)]
    pub signature_html: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Thread {
    pub id: i64,
    pub subtopic: String,
    pub title: String,
    pub kind: ThreadKind,
    pub tags: Vec<String>,
    pub pinned: Option<PinScope>,
    pub locked: Option<Lock>,
    pub views: i64,
    pub accepted_post_id: Option<i64>,
    pub recommended_post_id: Option<i64>,
    pub posts: Vec<Post>,
    /// Derived: the listing's one-line excerpt of the opening post.
    #[serde(skip)]
    pub excerpt: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Lock {
    pub at: Timestamp,
    pub by: String,
    pub reason: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Post {
    pub id: i64,
    pub author: String,
    pub created_at: Timestamp,
    pub body: String,
    pub boosts: Vec<Boost>,
    pub revisions: Vec<Revision>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Deletion>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<Hiding>,
    /// The id of the earlier post in the same thread this reply answers (version 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i64>,
    /// Derived: the rendered, sanitised body.
    #[serde(skip)]
    pub body_html: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Boost {
    pub user: String,
    pub at: Timestamp,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    pub created_at: Timestamp,
    pub author: String,
    pub reason: Option<String>,
    pub body: String,
}

/// The first thing wrong with an archive: where, and what.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ArchiveError {
    pub path: String,
    pub message: String,
}

fn err(path: impl Into<String>, message: impl Into<String>) -> ArchiveError {
    ArchiveError {
        path: path.into(),
        message: message.into(),
    }
}

/// A slug: lower-case ASCII letters, digits and `-`, 1–64 long, no `-` at either end.
pub fn is_slug(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 64
        && !text.starts_with('-')
        && !text.ends_with('-')
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A username: 1–40 characters, letters of any script, digits, `_`, `-`, `.`.
pub fn is_username(text: &str) -> bool {
    let count = text.chars().count();
    // "." and ".." would be path segments that browsers resolve away.
    (1..=40).contains(&count)
        && !text.chars().all(|c| c == '.')
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// The key usernames are unique by.
pub fn username_key(username: &str) -> String {
    username.to_lowercase()
}

/// What a username looks like, after Unicode's confusable mapping (UTS #39 skeleton), case
/// folding, and dropping separators: `AdMin`, `аdmin` (Cyrillic а), `ad_min` and `adm1n`
/// share one. Two accounts may not share a skeleton, and reserved names are refused by theirs.
pub fn name_skeleton(username: &str) -> String {
    let folded: String = unicode_security::skeleton(&username.to_lowercase()).collect();
    unicode_security::skeleton(&folded.to_lowercase())
        .filter(|c| !matches!(c, '_' | '-' | '.'))
        .map(|c| match c {
            '0' => 'o',
            '1' | 'i' => 'l',
            '3' => 'e',
            '4' => 'a',
            '5' => 's',
            '7' => 't',
            other => other,
        })
        .collect()
}

/// Control characters (other than tab and line breaks) have no place in forum text: they break
/// XML feeds and the store's packed columns.
fn check_chars(path: &str, text: &str) -> Result<(), ArchiveError> {
    match crate::check::forbidden_char(text) {
        Some(c) => Err(err(
            path,
            format!("contains the control character U+{:04X}", c as u32),
        )),
        None => Ok(()),
    }
}

fn check_len(path: &str, text: &str, min: usize, max: usize) -> Result<(), ArchiveError> {
    check_chars(path, text)?;
    let count = text.chars().count();
    if count < min || count > max {
        return Err(err(
            path,
            format!("must be {min}–{max} characters long, is {count}"),
        ));
    }
    Ok(())
}

impl Archive {
    /// An empty archive of the current version.
    pub fn empty() -> Self {
        Self {
            format: FORMAT.to_string(),
            version: VERSION,
            areas: Vec::new(),
            tags: Vec::new(),
            users: Vec::new(),
            uploads: Vec::new(),
            threads: Vec::new(),
            flags: Vec::new(),
            audit_log: Vec::new(),
            site: None,
            imported: None,
        }
    }

    /// Checks every rule of the format; the error names the first bad record and field.
    pub fn validate(&self) -> Result<(), ArchiveError> {
        if self.format != FORMAT {
            return Err(err("format", format!("must be {FORMAT:?}")));
        }
        if !(1..=VERSION).contains(&self.version) {
            return Err(err(
                "version",
                format!(
                    "this Agora reads archive versions 1 to {VERSION}, the file is version {}",
                    self.version
                ),
            ));
        }
        let mut subtopics = HashSet::new();
        let mut area_slugs = HashSet::new();
        for (i, area) in self.areas.iter().enumerate() {
            let path = format!("areas[{i}]");
            if !is_slug(&area.slug) {
                return Err(err(format!("{path}.slug"), "must be a slug (a-z, 0-9, -)"));
            }
            if !area_slugs.insert(area.slug.as_str()) {
                return Err(err(
                    format!("{path}.slug"),
                    format!("{:?} is used twice", area.slug),
                ));
            }
            check_len(&format!("{path}.name"), &area.name, 1, 100)?;
            check_chars(&format!("{path}.description"), &area.description)?;
            for (j, sub) in area.subtopics.iter().enumerate() {
                let path = format!("{path}.subtopics[{j}]");
                if !is_slug(&sub.slug) {
                    return Err(err(format!("{path}.slug"), "must be a slug (a-z, 0-9, -)"));
                }
                check_len(&format!("{path}.name"), &sub.name, 1, 100)?;
                check_chars(&format!("{path}.description"), &sub.description)?;
                if let Some(url) = &sub.docs_url
                    && !(url.starts_with("https://") || url.starts_with("http://"))
                {
                    return Err(err(
                        format!("{path}.docs_url"),
                        "must start with https:// or http://",
                    ));
                }
                if !subtopics.insert(format!("{}/{}", area.slug, sub.slug)) {
                    return Err(err(
                        format!("{path}.slug"),
                        format!("{:?} is used twice in this area", sub.slug),
                    ));
                }
            }
        }
        let mut tags = HashSet::new();
        for (i, tag) in self.tags.iter().enumerate() {
            let path = format!("tags[{i}]");
            if !is_slug(&tag.slug) {
                return Err(err(format!("{path}.slug"), "must be a slug (a-z, 0-9, -)"));
            }
            if !tags.insert(tag.slug.as_str()) {
                return Err(err(
                    format!("{path}.slug"),
                    format!("{:?} is used twice", tag.slug),
                ));
            }
            check_len(&format!("{path}.name"), &tag.name, 1, 50)?;
            check_chars(&format!("{path}.description"), &tag.description)?;
        }
        for (i, area) in self.areas.iter().enumerate() {
            for (j, sub) in area.subtopics.iter().enumerate() {
                for (k, tag) in sub.allowed_tags.iter().enumerate() {
                    if !tags.contains(tag.as_str()) {
                        return Err(err(
                            format!("areas[{i}].subtopics[{j}].allowed_tags[{k}]"),
                            format!("{tag:?} is not one of the archive's tags"),
                        ));
                    }
                }
            }
        }
        if let Some(site) = &self.site {
            let text = serde_json::Value::Object(site.settings.clone()).to_string();
            check_chars("site.settings", &text)?;
            let mut names = HashSet::new();
            for (i, file) in site.files.iter().enumerate() {
                let path = format!("site.files[{i}]");
                if !matches!(file.name.as_str(), "logo-light" | "logo-dark" | "favicon") {
                    return Err(err(
                        format!("{path}.name"),
                        "must be logo-light, logo-dark or favicon",
                    ));
                }
                if !names.insert(file.name.as_str()) {
                    return Err(err(format!("{path}.name"), "is used twice"));
                }
                if file.content_type != "image/png" {
                    return Err(err(format!("{path}.content_type"), "must be image/png"));
                }
                if file.bytes.is_empty()
                    || !file
                        .bytes
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
                {
                    return Err(err(format!("{path}.bytes"), "must be base64"));
                }
                check_len(&format!("{path}.sha"), &file.sha, 1, 128)?;
            }
        }
        let mut users: HashMap<String, Role> = HashMap::new();
        let mut emails = HashSet::new();
        for (i, user) in self.users.iter().enumerate() {
            let path = format!("users[{i}]");
            if !is_username(&user.username) {
                return Err(err(
                    format!("{path}.username"),
                    "must be 1–40 letters, digits, '_', '-' or '.'",
                ));
            }
            if users
                .insert(username_key(&user.username), user.role)
                .is_some()
            {
                return Err(err(
                    format!("{path}.username"),
                    format!(
                        "{:?} is used twice (names are unique regardless of case)",
                        user.username
                    ),
                ));
            }
            check_len(&format!("{path}.display_name"), &user.display_name, 1, 80)?;
            check_chars(
                &format!("{path}.staff_title"),
                user.staff_title.as_deref().unwrap_or(""),
            )?;
            check_len(&format!("{path}.signature"), &user.signature, 0, 2_000)?;
            if let Some(account) = &user.account {
                let email = account.email.trim().to_lowercase();
                if !email.contains('@') || email.chars().any(char::is_whitespace) {
                    return Err(err(
                        format!("{path}.account.email"),
                        "is not an email address",
                    ));
                }
                if !emails.insert(email) {
                    return Err(err(
                        format!("{path}.account.email"),
                        "is used by another user (addresses are unique regardless of case)",
                    ));
                }
                if let Some(hash) = &account.password_hash
                    && !hash.starts_with("$argon2")
                {
                    return Err(err(
                        format!("{path}.account.password_hash"),
                        "must be an Argon2 PHC string ($argon2id$…)",
                    ));
                }
                if let Some(suspension) = &account.suspended {
                    check_chars(
                        &format!("{path}.account.suspended.reason"),
                        &suspension.reason,
                    )?;
                }
            }
        }
        let known_user = |path: String, name: &str| -> Result<(), ArchiveError> {
            if users.contains_key(&username_key(name)) {
                Ok(())
            } else {
                Err(err(path, format!("no user named {name:?}")))
            }
        };
        self.validate_uploads(&known_user)?;
        let mut thread_ids = HashSet::new();
        let mut post_ids = HashSet::new();
        for (i, thread) in self.threads.iter().enumerate() {
            let path = format!("threads[{i}]");
            if thread.id < 1 || !thread_ids.insert(thread.id) {
                return Err(err(
                    format!("{path}.id"),
                    format!("{} is not a new id ≥ 1", thread.id),
                ));
            }
            if !subtopics.contains(&thread.subtopic) {
                return Err(err(
                    format!("{path}.subtopic"),
                    format!(
                        "no subtopic {:?} (write it as \"area-slug/subtopic-slug\")",
                        thread.subtopic
                    ),
                ));
            }
            check_len(&format!("{path}.title"), thread.title.trim(), 1, 300)?;
            if thread.tags.len() > MAX_TAGS {
                return Err(err(
                    format!("{path}.tags"),
                    format!("at most {MAX_TAGS} tags"),
                ));
            }
            let mut seen_tags = HashSet::new();
            for (t, tag) in thread.tags.iter().enumerate() {
                if !tags.contains(tag.as_str()) {
                    return Err(err(format!("{path}.tags[{t}]"), format!("no tag {tag:?}")));
                }
                if !seen_tags.insert(tag) {
                    return Err(err(
                        format!("{path}.tags[{t}]"),
                        format!("{tag:?} is listed twice"),
                    ));
                }
            }
            if thread.views < 0 {
                return Err(err(format!("{path}.views"), "must not be negative"));
            }
            if let Some(lock) = &thread.locked {
                known_user(format!("{path}.locked.by"), &lock.by)?;
                check_chars(&format!("{path}.locked.reason"), &lock.reason)?;
            }
            if thread.posts.is_empty() {
                return Err(err(
                    format!("{path}.posts"),
                    "a thread needs its opening post",
                ));
            }
            let mut previous = None;
            let mut reply_ids = HashSet::new();
            let mut earlier = HashSet::new();
            for (p, post) in thread.posts.iter().enumerate() {
                let path = format!("{path}.posts[{p}]");
                if post.id < 1 || !post_ids.insert(post.id) {
                    return Err(err(
                        format!("{path}.id"),
                        format!("{} is not a new id ≥ 1", post.id),
                    ));
                }
                if let Some(answered) = post.reply_to
                    && (p == 0 || !earlier.contains(&answered))
                {
                    return Err(err(
                        format!("{path}.reply_to"),
                        format!("{answered} is not an earlier post in this thread"),
                    ));
                }
                earlier.insert(post.id);
                if p > 0 {
                    reply_ids.insert(post.id);
                }
                known_user(format!("{path}.author"), &post.author)?;
                check_len(&format!("{path}.body"), &post.body, 1, MAX_BODY_CHARS)?;
                if let Some(deleted) = &post.deleted {
                    known_user(format!("{path}.deleted.by"), &deleted.by)?;
                }
                if let Some(hidden) = &post.hidden {
                    known_user(format!("{path}.hidden.by"), &hidden.by)?;
                    check_chars(&format!("{path}.hidden.reason"), &hidden.reason)?;
                }
                if previous.is_some_and(|prev| post.created_at < prev) {
                    return Err(err(
                        format!("{path}.created_at"),
                        "is before the previous post's",
                    ));
                }
                previous = Some(post.created_at);
                let mut boosters = HashSet::new();
                for (b, boost) in post.boosts.iter().enumerate() {
                    let bpath = format!("{path}.boosts[{b}].user");
                    known_user(bpath.clone(), &boost.user)?;
                    if username_key(&boost.user) == username_key(&post.author) {
                        return Err(err(bpath, "authors cannot boost their own posts"));
                    }
                    if !boosters.insert(username_key(&boost.user)) {
                        return Err(err(
                            bpath,
                            format!("{:?} boosts this post twice", boost.user),
                        ));
                    }
                }
                if let Some(first) = post.revisions.first() {
                    if first.created_at != post.created_at {
                        return Err(err(
                            format!("{path}.revisions[0].created_at"),
                            "the first revision is the original and must have the post's created_at",
                        ));
                    }
                    if post.revisions.len() < 2 {
                        return Err(err(
                            format!("{path}.revisions"),
                            "an edited post has at least two revisions (the original and the edit); leave it empty if never edited",
                        ));
                    }
                }
                for (r, rev) in post.revisions.iter().enumerate() {
                    let rpath = format!("{path}.revisions[{r}]");
                    known_user(format!("{rpath}.author"), &rev.author)?;
                    check_len(&format!("{rpath}.body"), &rev.body, 1, MAX_BODY_CHARS)?;
                    check_chars(
                        &format!("{rpath}.reason"),
                        rev.reason.as_deref().unwrap_or(""),
                    )?;
                    if r > 0 && rev.created_at <= post.revisions[r - 1].created_at {
                        return Err(err(
                            format!("{rpath}.created_at"),
                            "must be after the previous revision's",
                        ));
                    }
                }
                if let Some(last) = post.revisions.last()
                    && last.body != post.body
                {
                    return Err(err(
                        format!("{path}.revisions[{}].body", post.revisions.len() - 1),
                        "the last revision must equal the post's body",
                    ));
                }
            }
            for (field, id) in [
                ("accepted_post_id", thread.accepted_post_id),
                ("recommended_post_id", thread.recommended_post_id),
            ] {
                if let Some(id) = id
                    && !reply_ids.contains(&id)
                {
                    return Err(err(
                        format!("{path}.{field}"),
                        format!("{id} is not a reply in this thread"),
                    ));
                }
            }
            if thread.accepted_post_id.is_some() && thread.kind != ThreadKind::Question {
                return Err(err(
                    format!("{path}.accepted_post_id"),
                    "only questions have accepted answers",
                ));
            }
        }
        for (i, flag) in self.flags.iter().enumerate() {
            let path = format!("flags[{i}]");
            if !post_ids.contains(&flag.post_id) {
                return Err(err(
                    format!("{path}.post_id"),
                    format!("no post {}", flag.post_id),
                ));
            }
            known_user(format!("{path}.user"), &flag.user)?;
            check_chars(&format!("{path}.reason"), &flag.reason)?;
            if let Some(resolved) = &flag.resolved {
                known_user(format!("{path}.resolved.by"), &resolved.by)?;
            }
        }
        for (i, entry) in self.audit_log.iter().enumerate() {
            let path = format!("audit_log[{i}]");
            known_user(format!("{path}.actor"), &entry.actor)?;
            if let Some(target) = &entry.target_user {
                known_user(format!("{path}.target_user"), target)?;
            }
            check_chars(&format!("{path}.details"), &entry.details)?;
        }
        if let Some(imported) = &self.imported {
            let sources = imported
                .users
                .iter()
                .map(|u| &u.source)
                .chain(imported.threads.iter().map(|t| &t.source))
                .chain(imported.posts.iter().map(|p| &p.source));
            for (i, source) in sources.enumerate() {
                check_len(&format!("imported.source[{i}]"), source, 1, 200)?;
            }
            for (i, user) in imported.users.iter().enumerate() {
                known_user(format!("imported.users[{i}].username"), &user.username)?;
            }
            for (i, boosts) in imported.boosts.iter().enumerate() {
                let path = format!("imported.boosts[{i}]");
                if !post_ids.contains(&boosts.post_id) {
                    return Err(err(
                        format!("{path}.post_id"),
                        format!("no post {}", boosts.post_id),
                    ));
                }
                if boosts.count < 1 {
                    return Err(err(format!("{path}.count"), "must be at least 1"));
                }
            }
        }
        Ok(())
    }
}

impl Archive {
    /// The uploads (version 6) and the pictures users name: each field well formed (the hash
    /// and thumbnail names become paths in the archive's directory), tokens unique, people
    /// known, and a picture an avatar upload of its own user that was not removed.
    fn validate_uploads(
        &self,
        known_user: &dyn Fn(String, &str) -> Result<(), ArchiveError>,
    ) -> Result<(), ArchiveError> {
        let mut tokens: HashMap<&str, &Upload> = HashMap::new();
        for (i, upload) in self.uploads.iter().enumerate() {
            let path = format!("uploads[{i}]");
            if !crate::uploads::is_token(&upload.token) {
                return Err(err(
                    format!("{path}.token"),
                    format!(
                        "must be {} characters of a-z and 2-7",
                        crate::uploads::TOKEN_CHARS
                    ),
                ));
            }
            if tokens.insert(&upload.token, upload).is_some() {
                return Err(err(
                    format!("{path}.token"),
                    format!("{:?} is used twice", upload.token),
                ));
            }
            if let Some(owner) = &upload.owner {
                known_user(format!("{path}.owner"), owner)?;
            }
            if let Some(why) = bad_file_name(&upload.name) {
                return Err(err(format!("{path}.name"), why));
            }
            let content_type = &upload.content_type;
            if content_type.is_empty()
                || content_type.len() > 100
                || !content_type.contains('/')
                || !content_type
                    .bytes()
                    .all(|b| b == b' ' || b.is_ascii_graphic())
            {
                return Err(err(
                    format!("{path}.content_type"),
                    "must be a media type such as image/png",
                ));
            }
            if upload.sha.len() != 64
                || !upload
                    .sha
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Err(err(
                    format!("{path}.sha"),
                    "must be a BLAKE3 hash: 64 lower-case hex digits",
                ));
            }
            for (field, value) in [
                ("bytes", upload.bytes),
                ("width", upload.width),
                ("height", upload.height),
            ] {
                if value < 0 {
                    return Err(err(format!("{path}.{field}"), "must not be negative"));
                }
            }
            let mut seen = HashSet::new();
            for (t, thumbnail) in upload.thumbnails.iter().enumerate() {
                if !is_thumbnail_name(thumbnail) {
                    return Err(err(
                        format!("{path}.thumbnails[{t}]"),
                        "must be WIDTHxHEIGHT.EXT, e.g. 800x600.webp",
                    ));
                }
                if !seen.insert(thumbnail) {
                    return Err(err(
                        format!("{path}.thumbnails[{t}]"),
                        format!("{thumbnail:?} is listed twice"),
                    ));
                }
            }
            if let Some(by) = upload.removed.as_ref().and_then(|r| r.by.as_ref()) {
                known_user(format!("{path}.removed.by"), by)?;
            }
        }
        for (i, user) in self.users.iter().enumerate() {
            let Some(token) = &user.avatar else {
                continue;
            };
            let path = format!("users[{i}].avatar");
            let Some(upload) = tokens.get(token.as_str()) else {
                return Err(err(path, format!("no upload {token:?}")));
            };
            let own = upload
                .owner
                .as_ref()
                .is_some_and(|owner| username_key(owner) == username_key(&user.username));
            if upload.purpose != UploadPurpose::Avatar || !own {
                return Err(err(
                    path,
                    format!("{token:?} is not an avatar upload of this user's"),
                ));
            }
            if upload.removed.is_some() {
                return Err(err(path, format!("{token:?} was removed")));
            }
        }
        Ok(())
    }
}

/// Why an uploaded file's name cannot be one (the rules uploads are checked by), if it cannot.
fn bad_file_name(name: &str) -> Option<&'static str> {
    if name.is_empty() || name.len() > 255 || name.trim() != name {
        Some("must be 1–255 bytes, without spaces at either end")
    } else if name.contains(['/', '\\']) || name.chars().all(|c| c == '.') {
        Some("must be a plain file name (no / or \\, not only dots)")
    } else if name
        .chars()
        .any(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
    {
        Some("holds control or text-direction characters")
    } else {
        None
    }
}

/// A thumbnail's name: `WIDTHxHEIGHT.EXT`, digits and a lower-case extension.
fn is_thumbnail_name(name: &str) -> bool {
    let Some((size, ext)) = name.split_once('.') else {
        return false;
    };
    let Some((w, h)) = size.split_once('x') else {
        return false;
    };
    let digits = |s: &str| (1..=5).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    digits(w)
        && digits(h)
        && (1..=5).contains(&ext.len())
        && ext
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse_rfc3339(s).unwrap_or_else(|e| panic!("{e}"))
    }

    pub(crate) fn small() -> Archive {
        let mut a = Archive::empty();
        a.areas.push(Area {
            slug: "apps".into(),
            name: "Apps".into(),
            description: String::new(),
            subtopics: vec![Subtopic {
                slug: "net".into(),
                name: "Net".into(),
                description: String::new(),
                docs_url: None,
                ..Default::default()
            }],
            archived_at: None,
        });
        a.users.push(User {
            username: "ann".into(),
            display_name: "Ann".into(),
            role: Role::Member,
            staff_title: None,
            signature: String::new(),
            created_at: ts("2025-01-01T00:00:00Z"),
            account: None,
            avatar: None,
            signature_html: String::new(),
        });
        a.threads.push(Thread {
            id: 1,
            subtopic: "apps/net".into(),
            title: "Hello".into(),
            kind: ThreadKind::Question,
            tags: vec![],
            pinned: None,
            locked: None,
            views: 3,
            accepted_post_id: None,
            recommended_post_id: None,
            posts: vec![Post {
                id: 1,
                author: "ann".into(),
                created_at: ts("2025-01-02T00:00:00Z"),
                body: "Body text".into(),
                boosts: vec![],
                revisions: vec![],
                deleted: None,
                hidden: None,
                reply_to: None,
                body_html: String::new(),
            }],
            excerpt: String::new(),
        });
        a
    }

    #[test]
    fn a_good_archive_validates() {
        assert_eq!(small().validate(), Ok(()));
    }

    #[test]
    fn errors_name_the_record_and_field() {
        let mut a = small();
        a.threads[0].posts[0].author = "bob".into();
        assert_eq!(
            a.validate().map_err(|e| e.to_string()),
            Err("threads[0].posts[0].author: no user named \"bob\"".to_string())
        );
        let mut a = small();
        a.threads[0].tags = vec!["nope".into()];
        assert_eq!(
            a.validate().map_err(|e| e.path),
            Err("threads[0].tags[0]".to_string())
        );
        let mut a = small();
        a.threads[0].posts[0].boosts.push(Boost {
            user: "ANN".into(),
            at: ts("2025-01-03T00:00:00Z"),
        });
        assert_eq!(
            a.validate().map_err(|e| e.path),
            Err("threads[0].posts[0].boosts[0].user".to_string())
        );
        let mut a = small();
        a.version = VERSION + 1;
        assert!(a.validate().is_err());
        let mut a = small();
        a.version = 1;
        assert_eq!(a.validate(), Ok(()), "version 1 archives are still read");
        let mut a = small();
        a.threads[0].title = "Title\u{1}".into();
        assert_eq!(
            a.validate().map_err(|e| e.path),
            Err("threads[0].title".to_string())
        );
    }

    fn with_upload() -> Archive {
        let mut a = small();
        a.uploads.push(Upload {
            token: "abcdefghijkmnpqr".into(),
            owner: Some("ann".into()),
            purpose: UploadPurpose::Avatar,
            kind: UploadKind::Image,
            name: "me.png".into(),
            content_type: "image/png".into(),
            sha: "ab".repeat(32),
            bytes: 1234,
            width: 512,
            height: 512,
            animated: false,
            thumbnails: vec!["40x40.png".into(), "80x80.png".into()],
            created_at: ts("2025-01-01T00:00:00Z"),
            removed: None,
        });
        a.users[0].avatar = Some("abcdefghijkmnpqr".into());
        a
    }

    #[test]
    fn uploads_are_checked_field_by_field() {
        assert_eq!(with_upload().validate(), Ok(()));
        type Breakage = fn(&mut Archive);
        let cases: [(Breakage, &str); 9] = [
            (|a| a.uploads[0].token = "ABC".into(), "uploads[0].token"),
            (
                |a| a.uploads[0].owner = Some("bob".into()),
                "uploads[0].owner",
            ),
            (
                |a| a.uploads[0].sha = "../../etc/passwd".into(),
                "uploads[0].sha",
            ),
            (
                |a| a.uploads[0].thumbnails[1] = "../x.png".into(),
                "uploads[0].thumbnails[1]",
            ),
            (|a| a.uploads[0].name = "a/b.png".into(), "uploads[0].name"),
            (
                |a| a.uploads[0].content_type = "image/png\r\nX: y".into(),
                "uploads[0].content_type",
            ),
            (
                |a| a.users[0].avatar = Some("zzzzzzzzzzzzzzzz".into()),
                "users[0].avatar",
            ),
            (
                |a| a.uploads[0].purpose = UploadPurpose::Post,
                "users[0].avatar",
            ),
            (
                |a| {
                    a.uploads[0].removed = Some(UploadRemoval {
                        at: ts("2025-01-03T00:00:00Z"),
                        by: None,
                    })
                },
                "users[0].avatar",
            ),
        ];
        for (break_it, path) in cases {
            let mut a = with_upload();
            break_it(&mut a);
            assert_eq!(a.validate().map_err(|e| e.path), Err(path.to_string()));
        }
        // Uploads are optional: an archive without them is as before, in any version.
        let mut a = small();
        a.version = 5;
        assert_eq!(a.validate(), Ok(()));
        let text = serde_json::to_string(&small()).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !text.contains("uploads") && !text.contains("avatar"),
            "{text}"
        );
    }

    #[test]
    fn slugs_and_usernames() {
        assert!(is_slug("network-extension"));
        assert!(!is_slug("Network"));
        assert!(!is_slug("-x"));
        assert!(is_username("李明"));
        assert!(is_username("quinn.e"));
        assert!(!is_username("a b"));
        assert!(!is_username(".."));
        assert!(is_username("a.b"));
    }
}
