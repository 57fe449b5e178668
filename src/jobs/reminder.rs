//! The `reminder` job: a bookmark's reminder came due. It tells the bookmark's owner with a
//! `reminder` notification (the bookmark's note as its text; the bell counts it, and it is
//! emailed like any notification when they are away), and marks the bookmark reminded, both in
//! one transaction that first checks the bookmark still wants this reminder.
//!
//! Nothing is told, and the job is done, when the bookmark is gone or its reminder changed,
//! was cleared or was already sent (a job queued for an older time); the reminder is settled
//! without a notification when the owner may no longer see what it is about (the thread
//! removed, the post deleted or hidden), is suspended, or turned reminders off. Those are the
//! notifier's "never" rules (`services::notify`).

use agora_store::{NewNotification, Timestamp};
use serde::Deserialize;

use crate::app::AppState;
use crate::jobs::JobError;

#[derive(Debug, Deserialize)]
struct Payload {
    bookmark: i64,
    /// The reminder's time, in microseconds, when the job was queued.
    remind_at: i64,
}

fn retry(err: impl std::fmt::Display) -> JobError {
    JobError::Retry(err.to_string())
}

pub async fn run(state: &AppState, payload: &str) -> Result<(), JobError> {
    let job: Payload = serde_json::from_str(payload)
        .map_err(|err| JobError::Fail(format!("not a reminder job: {err}")))?;
    let store = &state.store;
    let Some(bookmark) = store.bookmark_by_id(job.bookmark).await.map_err(retry)? else {
        // Removed meanwhile.
        return Ok(());
    };
    let remind_at = Timestamp::from_micros(job.remind_at);
    if bookmark.remind_at != Some(remind_at) || bookmark.reminded_at.is_some() {
        // Changed, cleared or already sent: this job's time is not the bookmark's.
        return Ok(());
    }
    let user = bookmark.user;
    let suspended = store.is_suspended(user).await.map_err(retry)?;
    let prefs = store.notify_prefs(user).await.map_err(retry)?;
    let wanted = !prefs
        .off_kinds
        .iter()
        .any(|k| k == agora_store::bookmarks::REMINDER_KIND);
    let note = (bookmark.visible && !suspended && wanted).then(|| NewNotification {
        user,
        kind: agora_store::bookmarks::REMINDER_KIND.to_string(),
        thread: bookmark.thread,
        post: bookmark.post,
        actor: None,
        reason: (!bookmark.note.is_empty()).then(|| bookmark.note.clone()),
        // One reminder notification per bookmark: a later reminder replaces it.
        source: bookmark.id,
    });
    let told = note.is_some();
    let settled = store
        .record_reminder(
            bookmark.id,
            remind_at,
            note,
            crate::services::notify::email_jobs(state),
        )
        .await
        .map_err(retry)?;
    if settled && told {
        tracing::debug!(bookmark = bookmark.id, "a bookmark's reminder was sent");
    }
    Ok(())
}
