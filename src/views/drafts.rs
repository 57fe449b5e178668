//! A member's draft, as the settings page, the writing forms and the JSON API show it.

use agora_store::{DraftPlace, DraftRow, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::services::drafts;
use crate::views::TimeView;

/// One draft: where it belongs, what it holds and when it was saved.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct DraftView {
    pub id: i64,
    /// `thread` (a new thread), `reply:{thread id}` or `edit:{post id}`.
    #[schema(example = "reply:12")]
    pub place: String,
    /// What the draft is: `thread`, `reply` or `edit`.
    #[schema(example = "reply")]
    pub kind: &'static str,
    /// What it is about: a new thread's title as typed, or the title of the thread a reply or
    /// an edit belongs to ("" when that thread is gone).
    pub about: String,
    /// The form that opens it again.
    pub url: String,
    /// A new thread's subtopic (`area/subtopic`), title, tags and kind, as typed.
    pub subtopic: String,
    pub title: String,
    pub tags: String,
    pub thread_kind: String,
    /// Markdown, as typed.
    pub body: String,
    /// The post a reply answers.
    pub reply_to: Option<i64>,
    /// An edit's reason, as typed.
    pub reason: String,
    pub updated_at: TimeView,
    /// The start of the text, for a list.
    #[serde(skip)]
    pub excerpt: String,
    /// The thread or post it was for is gone (its form cannot open).
    #[serde(skip)]
    pub gone: bool,
}

impl DraftView {
    pub fn new(row: DraftRow, now: Timestamp) -> Self {
        let (kind, about) = match row.place {
            DraftPlace::NewThread => ("thread", row.content.title.trim().to_string()),
            DraftPlace::Reply(_) => ("reply", row.thread_title.clone().unwrap_or_default()),
            DraftPlace::Edit(_) => ("edit", row.thread_title.clone().unwrap_or_default()),
        };
        let excerpt = agora_markup::excerpt(&row.content.body, 140);
        let gone = row.place != DraftPlace::NewThread && row.thread.is_none();
        Self {
            id: row.id,
            place: row.place.key(),
            kind,
            about,
            url: drafts::form_url(row.place),
            subtopic: row.content.subtopic,
            title: row.content.title,
            tags: row.content.tags,
            thread_kind: row.content.kind,
            body: row.content.body,
            reply_to: row.content.reply_to.map(|p| p.0),
            reason: row.content.reason,
            updated_at: TimeView::new(row.updated_at, now),
            excerpt,
            gone,
        }
    }

    /// What the settings list calls it.
    pub fn label(&self) -> String {
        let about = if self.about.is_empty() {
            "(untitled)".to_string()
        } else {
            self.about.clone()
        };
        match self.kind {
            "thread" => format!("New thread: {about}"),
            "reply" if self.about.is_empty() => "A reply in a thread that is gone".into(),
            "reply" => format!("Reply in {about}"),
            _ if self.about.is_empty() => "An edit of a post that is gone".into(),
            _ => format!("Edit in {about}"),
        }
    }
}
