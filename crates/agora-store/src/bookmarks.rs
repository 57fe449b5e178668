//! Bookmarks: the posts and threads a member saved, each with an optional short note and an
//! optional reminder. Private to their owner: every query here names the account, except the
//! reminder job's read of one bookmark by id (whose owner the job then tells). Nothing here
//! changes what readers see of the forum, so it is written without entering the change log or
//! invalidating pages.
//!
//! A reminder is a `reminder` job due at `remind_at`, queued in the same transaction as the
//! bookmark. Changing or clearing the reminder settles the job that waited for the old time;
//! the job also checks, when it runs, that the bookmark still wants it ([`record_reminder`]
//! sets `reminded_at` only where `remind_at` is still the job's and nothing was sent yet), so a
//! job claimed while the reminder changed tells nobody.

use crate::StoreError;
use crate::db::{Conn, Query, Row, params};
use crate::model::{PostId, ThreadId, Timestamp, UserId};
use crate::notifications::{EmailJobs, NewNotification, insert_notifications, queue_email_jobs};

/// The most bookmarks an account keeps: one more is refused until some are removed.
pub const BOOKMARKS_PER_ACCOUNT: i64 = 1000;

/// The notification kind a reminder writes.
pub const REMINDER_KIND: &str = "reminder";

/// A bookmark to save (replacing the owner's bookmark of the same post or thread).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewBookmark {
    pub user: UserId,
    pub thread: ThreadId,
    /// None: the whole thread.
    pub post: Option<PostId>,
    pub note: String,
    pub remind_at: Option<Timestamp>,
}

/// A stored bookmark, with what its owner's list shows of the thread and post.
#[derive(Clone, Debug)]
pub struct BookmarkRow {
    pub id: i64,
    pub user: UserId,
    pub thread: ThreadId,
    /// None: the whole thread.
    pub post: Option<PostId>,
    pub note: String,
    pub remind_at: Option<Timestamp>,
    /// When the reminder came due and was settled; None while it waits (or with none).
    pub reminded_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub thread_title: String,
    pub thread_slug: String,
    /// The bookmarked post's place in its thread (the opening post's, 0, for a thread).
    pub position: Option<i64>,
    /// The bookmarked post's Markdown (the opening post's for a thread), for an excerpt.
    pub body_md: String,
    /// Whether readers can see it now: the thread is not removed and the post is neither
    /// deleted nor hidden.
    pub visible: bool,
}

/// What saving did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SavedBookmark {
    pub id: i64,
    /// A reminder job was queued (the reminder is new or changed).
    pub queued: bool,
}

/// A reminder job's payload: the bookmark and the time it was set for (a job whose time is no
/// longer the bookmark's tells nobody).
pub fn reminder_payload(bookmark: i64, remind_at: Timestamp) -> String {
    format!(
        "{{\"bookmark\":{bookmark},\"remind_at\":{}}}",
        remind_at.micros()
    )
}

const COLUMNS: &str = "b.id, b.user_id, b.thread_id, b.post_id, b.note, b.remind_at, \
     b.reminded_at, b.created_at, t.title, t.slug, COALESCE(p.position, op.position), \
     COALESCE(p.body_md, op.body_md, ''), \
     (t.removed_at IS NULL AND (b.post_id = 0 OR (p.id IS NOT NULL AND p.deleted_at IS NULL \
      AND p.hidden_at IS NULL)))";

/// A bookmark's thread, its post, and the thread's opening post (a thread bookmark's excerpt).
const JOINS: &str = "FROM bookmarks b JOIN threads t ON t.id = b.thread_id \
     LEFT JOIN posts p ON b.post_id <> 0 AND p.id = b.post_id \
     LEFT JOIN posts op ON b.post_id = 0 AND op.thread_id = b.thread_id AND op.position = 0";

/// What the owner can see: the thread is there and not removed, the post neither deleted nor
/// hidden (nor gone with a deleted account).
const VISIBLE: &str = "t.removed_at IS NULL AND (b.post_id = 0 OR (p.id IS NOT NULL \
     AND p.deleted_at IS NULL AND p.hidden_at IS NULL))";

pub(crate) fn read_bookmark(row: &Row) -> Result<BookmarkRow, StoreError> {
    let post = row.int(3)?;
    Ok(BookmarkRow {
        id: row.int(0)?,
        user: UserId(row.int(1)?),
        thread: ThreadId(row.int(2)?),
        post: (post != 0).then_some(PostId(post)),
        note: row.text(4)?,
        remind_at: row.opt_int(5)?.map(Timestamp::from_micros),
        reminded_at: row.opt_int(6)?.map(Timestamp::from_micros),
        created_at: Timestamp::from_micros(row.int(7)?),
        thread_title: row.text(8)?,
        thread_slug: row.text(9)?,
        position: row.opt_int(10)?,
        body_md: row.text(11)?,
        visible: row.bool(12)?,
    })
}

/// Settles the reminder job waiting for `bookmark` at `remind_at` (not yet claimed): it is not
/// needed any more. A job already claimed finds the bookmark changed and tells nobody.
async fn settle_waiting_job<C: Conn>(
    conn: &mut C,
    kind: &str,
    bookmark: i64,
    remind_at: Timestamp,
    now: Timestamp,
) -> Result<(), StoreError> {
    // The kind is written into the query (the code's own name, not input) so the partial index
    // `jobs_reminder_waiting` answers it.
    let kind = kind.replace('\'', "");
    conn.execute(
        &format!(
            "UPDATE jobs SET done_at = ?2 WHERE kind = '{kind}' AND payload = ?1 \
             AND done_at IS NULL AND claimed_at IS NULL"
        ),
        params![reminder_payload(bookmark, remind_at), now.micros()],
    )
    .await?;
    Ok(())
}

/// Saves `new` (replacing the owner's bookmark of the same post or thread, whose creation time
/// it keeps). A reminder that is new or changed is due afresh: a `reminder_kind` job is queued
/// for it and the one waiting for the old time is settled; an unchanged reminder keeps its job
/// (and, once sent, stays sent). A new bookmark beyond [`BOOKMARKS_PER_ACCOUNT`] is a conflict.
pub async fn save_bookmark<C: Conn>(
    conn: &mut C,
    new: &NewBookmark,
    reminder_kind: &str,
    now: Timestamp,
) -> Result<SavedBookmark, StoreError> {
    let post = new.post.map_or(0, |p| p.0);
    let old = conn
        .query_opt(
            "SELECT id, remind_at, reminded_at FROM bookmarks \
             WHERE user_id = ?1 AND thread_id = ?2 AND post_id = ?3",
            params![new.user.0, new.thread.0, post],
        )
        .await?;
    let old = match old {
        Some(row) => Some((
            row.int(0)?,
            row.opt_int(1)?.map(Timestamp::from_micros),
            row.opt_int(2)?.map(Timestamp::from_micros),
        )),
        None => None,
    };
    if old.is_none() {
        let count = conn
            .query_one(
                "SELECT COUNT(*) FROM bookmarks WHERE user_id = ?1",
                params![new.user.0],
            )
            .await?
            .int(0)?;
        if count >= BOOKMARKS_PER_ACCOUNT {
            return Err(StoreError::Conflict {
                field: "bookmark",
                message: format!(
                    "You have {BOOKMARKS_PER_ACCOUNT} bookmarks, the most an account keeps: \
                     remove some first."
                ),
            });
        }
    }
    let changed = old.is_none_or(|(_, remind_at, _)| remind_at != new.remind_at);
    let reminded_at = match old {
        Some((_, _, reminded_at)) if !changed => reminded_at,
        _ => None,
    };
    let id = conn
        .query_one(
            "INSERT INTO bookmarks (user_id, thread_id, post_id, note, remind_at, reminded_at, \
             created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (user_id, thread_id, post_id) DO UPDATE SET note = excluded.note, \
             remind_at = excluded.remind_at, reminded_at = excluded.reminded_at \
             RETURNING id",
            params![
                new.user.0,
                new.thread.0,
                post,
                new.note.as_str(),
                new.remind_at.map(|t| t.micros()),
                reminded_at.map(|t| t.micros()),
                now.micros()
            ],
        )
        .await?
        .int(0)?;
    if !changed {
        return Ok(SavedBookmark { id, queued: false });
    }
    if let Some((_, Some(old_time), None)) = old {
        settle_waiting_job(conn, reminder_kind, id, old_time, now).await?;
    }
    let queued = match new.remind_at {
        Some(at) => {
            conn.execute(
                "INSERT INTO jobs (kind, payload, run_after) VALUES (?1, ?2, ?3)",
                params![reminder_kind, reminder_payload(id, at), at.micros()],
            )
            .await?;
            true
        }
        None => false,
    };
    Ok(SavedBookmark { id, queued })
}

/// Deletes `user`'s bookmark `id` (and settles its waiting reminder); whether there was one.
pub async fn delete_bookmark<C: Conn>(
    conn: &mut C,
    user: UserId,
    id: i64,
    reminder_kind: &str,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row = conn
        .query_opt(
            "DELETE FROM bookmarks WHERE id = ?1 AND user_id = ?2 \
             RETURNING remind_at, reminded_at",
            params![id, user.0],
        )
        .await?;
    let Some(row) = row else {
        return Ok(false);
    };
    if let (Some(at), None) = (row.opt_int(0)?, row.opt_int(1)?) {
        settle_waiting_job(conn, reminder_kind, id, Timestamp::from_micros(at), now).await?;
    }
    Ok(true)
}

/// A bookmark by its id, whoever owns it: the caller decides who may see it.
pub async fn bookmark_by_id<C: Conn>(
    conn: &mut C,
    id: i64,
) -> Result<Option<BookmarkRow>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} {JOINS} WHERE b.id = ?1"),
        params![id],
    )
    .await?
    .as_ref()
    .map(read_bookmark)
    .transpose()
}

/// `user`'s bookmark of `post` (None: of the whole thread) in `thread`.
pub async fn bookmark_at<C: Conn>(
    conn: &mut C,
    user: UserId,
    thread: ThreadId,
    post: Option<PostId>,
) -> Result<Option<BookmarkRow>, StoreError> {
    conn.query_opt(
        &format!(
            "SELECT {COLUMNS} {JOINS} WHERE b.user_id = ?1 AND b.thread_id = ?2 \
             AND b.post_id = ?3"
        ),
        params![user.0, thread.0, post.map_or(0, |p| p.0)],
    )
    .await?
    .as_ref()
    .map(read_bookmark)
    .transpose()
}

/// `user`'s bookmarks they can still see, newest first: `limit` of them from `offset`.
pub async fn bookmarks_of<C: Conn>(
    conn: &mut C,
    user: UserId,
    offset: i64,
    limit: i64,
) -> Result<Vec<BookmarkRow>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} {JOINS} WHERE b.user_id = ?1 AND {VISIBLE} \
             ORDER BY b.created_at DESC, b.id DESC LIMIT ?2 OFFSET ?3"
        ),
        params![user.0, limit, offset],
    )
    .await?
    .iter()
    .map(read_bookmark)
    .collect()
}

/// How many bookmarks `user` can still see.
pub async fn bookmark_count<C: Conn>(conn: &mut C, user: UserId) -> Result<i64, StoreError> {
    conn.query_one(
        &format!("SELECT COUNT(*) {JOINS} WHERE b.user_id = ?1 AND {VISIBLE}"),
        params![user.0],
    )
    .await?
    .int(0)
}

/// `user`'s bookmarks in one thread (of the thread itself and of its posts), for its page; rows
/// read by [`read_bookmark`].
pub(crate) fn in_thread(user: UserId, thread: ThreadId) -> Query {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {COLUMNS} {JOINS} WHERE b.user_id = ?1 AND b.thread_id = ?2")
    });
    Query::new(SQL.as_str(), params![user.0, thread.0])
}

/// A reminder came due: marks bookmark `id` reminded, if its reminder is still `remind_at` and
/// was not settled yet, and in the same transaction writes `note` (replacing the notification
/// an earlier reminder of this bookmark wrote) and queues its email like any notification's.
/// `note` None settles the reminder telling nobody (the post is gone, the member suspended or
/// not wanting reminders). Returns false, writing nothing, when the bookmark no longer wants
/// this reminder (changed, cleared, deleted, or already sent).
pub async fn record_reminder<C: Conn>(
    conn: &mut C,
    id: i64,
    remind_at: Timestamp,
    note: Option<&NewNotification>,
    email: &EmailJobs,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let settled = conn
        .execute(
            "UPDATE bookmarks SET reminded_at = ?3 WHERE id = ?1 AND remind_at = ?2 \
             AND reminded_at IS NULL",
            params![id, remind_at.micros(), now.micros()],
        )
        .await?;
    if settled == 0 {
        return Ok(false);
    }
    if let Some(note) = note {
        conn.execute(
            "DELETE FROM notifications WHERE user_id = ?1 AND kind = ?2 AND source = ?3",
            params![note.user.0, note.kind.as_str(), note.source],
        )
        .await?;
        insert_notifications(conn, &[note], now).await?;
        queue_email_jobs(conn, std::slice::from_ref(note), email).await?;
    }
    Ok(true)
}
