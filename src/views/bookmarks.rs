//! A member's bookmark, as their list, the thread page's bookmark controls and the JSON API
//! show it.

use agora_store::{BookmarkRow, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::paths;
use crate::services::bookmarks::{NOTE_CHARS, REMIND_CHOICES};
use crate::services::read::post_url;
use crate::views::TimeView;

/// Characters of the bookmarked post shown in the list.
const EXCERPT_CHARS: usize = 200;

/// One bookmark: what it points at, the note, and the reminder.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BookmarkView {
    pub id: i64,
    pub thread_id: i64,
    pub thread_title: String,
    pub thread_url: String,
    /// The bookmarked post; null for a bookmark of the whole thread.
    pub post_id: Option<i64>,
    /// The post's permalink (the thread's, for a thread).
    pub url: String,
    /// The start of the post as plain text (of the opening post, for a thread).
    pub excerpt: String,
    /// The member's note ("" for none).
    pub note: String,
    /// When the reminder is due (or was); null: no reminder.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub remind_at: Option<TimeView>,
    /// When the reminder came due and was settled; null while it waits, or with none.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub reminded_at: Option<TimeView>,
    pub created_at: TimeView,
    /// "post" or "thread", for the list's badge.
    #[serde(skip)]
    pub kind: &'static str,
}

impl BookmarkView {
    pub fn new(row: &BookmarkRow, now: Timestamp) -> Self {
        let thread_url = paths::thread(row.thread, &row.thread_slug);
        let url = match (row.post, row.position) {
            (Some(post), Some(position)) => post_url(row.thread, &row.thread_slug, position, post),
            _ => thread_url.clone(),
        };
        Self {
            id: row.id,
            thread_id: row.thread.0,
            thread_title: row.thread_title.clone(),
            thread_url,
            post_id: row.post.map(|p| p.0),
            url,
            excerpt: agora_markup::excerpt(&row.body_md, EXCERPT_CHARS),
            note: row.note.clone(),
            remind_at: row.remind_at.map(|t| TimeView::new(t, now)),
            reminded_at: row.reminded_at.map(|t| TimeView::new(t, now)),
            created_at: TimeView::new(row.created_at, now),
            kind: if row.post.is_some() { "post" } else { "thread" },
        }
    }

    /// A reminder is set and has not come due yet.
    pub fn reminder_waiting(&self) -> bool {
        self.remind_at.is_some() && self.reminded_at.is_none()
    }
}

/// The bookmark control of a thread or a post (`templates/_bookmark.html`): a plain form that
/// saves the bookmark with its note and reminder, and one that removes it.
#[derive(Clone, Debug)]
pub struct BookmarkControl {
    /// What makes the control's element ids unique on its page: `thread`, or `p` and the
    /// post id, or `b` and the bookmark id.
    pub key: String,
    pub thread: i64,
    /// The post's id, or "" for the thread.
    pub post: String,
    /// "post" or "thread", for the labels.
    pub what: &'static str,
    /// Where the forms come back to.
    pub next: String,
    /// The reader's bookmark here, if any.
    pub bookmark: Option<BookmarkView>,
    /// The reminder choices besides "as set" and a date and time.
    pub choices: &'static [(&'static str, &'static str)],
    /// The longest note.
    pub note_chars: usize,
}

impl BookmarkControl {
    pub fn new(
        key: String,
        thread: i64,
        post: Option<i64>,
        next: String,
        bookmark: Option<BookmarkView>,
    ) -> Self {
        Self {
            key,
            thread,
            post: post.map(|p| p.to_string()).unwrap_or_default(),
            what: if post.is_some() { "post" } else { "thread" },
            next,
            bookmark,
            choices: REMIND_CHOICES,
            note_chars: NOTE_CHARS,
        }
    }

    /// The note as it stands ("" without a bookmark).
    pub fn note(&self) -> &str {
        self.bookmark.as_ref().map_or("", |b| b.note.as_str())
    }

    /// The reminder waiting, to offer keeping it.
    pub fn waiting(&self) -> Option<&TimeView> {
        self.bookmark
            .as_ref()
            .filter(|b| b.reminder_waiting())
            .and_then(|b| b.remind_at.as_ref())
    }
}

/// The "Bookmarks" tab of a member's profile: shown to its owner alone.
#[derive(Clone, Debug)]
pub struct BookmarksTabView {
    pub url: String,
    /// "3 bookmarks".
    pub count_text: String,
    pub current: bool,
}
