//! The moderators' views: the review queue and the audit log, one view per record, rendered
//! by both the pages (`/review`, `/audit`) and the API (`/api/v1/flags`, `/api/v1/audit`).

use agora_store::{AuditRow, FlagRow, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::paths;
use crate::views::{AuthorView, TimeView};

/// One open flag: a member's report about a post.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FlagView {
    pub id: i64,
    pub post_id: i64,
    pub thread_id: i64,
    /// The flagged post in its thread.
    pub post_url: String,
    pub thread_title: String,
    pub post_author: String,
    /// The start of the post's Markdown source.
    pub excerpt: String,
    pub reporter: String,
    pub reason: String,
    pub created_at: TimeView,
}

impl FlagView {
    pub fn new(f: &FlagRow, now: Timestamp) -> Self {
        Self {
            id: f.id,
            post_id: f.post.0,
            thread_id: f.thread.0,
            post_url: post_url(f),
            thread_title: f.thread_title.clone(),
            post_author: f.post_author.clone(),
            excerpt: f.excerpt.clone(),
            reporter: f.reporter.clone(),
            reason: f.reason.clone(),
            created_at: TimeView::new(f.created_at, now),
        }
    }
}

fn post_url(f: &FlagRow) -> String {
    paths::post(
        f.thread,
        &f.thread_slug,
        f.post_position,
        f.post,
        crate::services::read::POSTS_PER_PAGE,
    )
}

/// Links to the pages either side of this one; absent at either end.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct PagerView {
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
    /// Set when this page is empty but is not the start (its cursor is past the end, or what
    /// was there is gone): the list's first page.
    pub first_url: Option<String>,
}

/// One page of the review queue, oldest flag first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct FlagQueueView {
    pub flags: Vec<FlagView>,
    /// Open flags in all, on every page.
    pub open: i64,
    /// `prev_url` leads to older flags, `next_url` to newer ones.
    pub pager: PagerView,
}

/// One moderation action.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditEntryView {
    pub id: i64,
    pub at: TimeView,
    pub actor: AuthorView,
    /// What was done, e.g. `thread.lock`, `post.hide`, `flag.resolve`.
    pub action: String,
    pub thread_id: Option<i64>,
    pub thread_url: Option<String>,
    pub post_id: Option<i64>,
    /// The username of the account acted on (suspensions).
    pub target_user: Option<String>,
    pub details: String,
}

impl AuditEntryView {
    pub fn new(r: &AuditRow, now: Timestamp) -> Self {
        Self {
            id: r.id,
            at: TimeView::new(r.at, now),
            actor: AuthorView::from(&r.actor),
            action: r.action.clone(),
            thread_id: r.thread.map(|t| t.0),
            thread_url: r.thread.map(paths::thread_by_id),
            post_id: r.post.map(|p| p.0),
            target_user: r.target_user.clone(),
            details: r.details.clone(),
        }
    }
}

/// One page of the audit log, newest entry first.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditPageView {
    pub entries: Vec<AuditEntryView>,
    /// `prev_url` leads to newer entries, `next_url` to older ones.
    pub pager: PagerView,
}
