//! The weekly digest's records: when each member's next digest is due, and the best new
//! threads of a week in what they watch.
//!
//! A member who turns the digest on gets `notify_prefs.digest_due_at` and one queued job for
//! that time, written together ([`Store::schedule_digest`]). The job sends, then moves the
//! due time a week on and queues the next job, again together, and only if the due time is
//! still the one it was queued for: turning the digest off clears it (so the queued job finds
//! nothing to do), and turning it off and on again queues a new one that the old job's time
//! no longer matches. At most one digest per member and week, however many nodes run jobs.

use crate::db::{Conn, Value, params};
use crate::model::{ThreadId, Timestamp, UserId};
use crate::postgres::PgConn;
use crate::{Backend, Store, StoreError, queries, sqlite};

/// A thread as a digest lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DigestThread {
    pub id: ThreadId,
    pub slug: String,
    pub title: String,
    pub excerpt: String,
    pub author: String,
    pub subtopic: String,
    pub replies: i64,
    pub boosts: i64,
    pub solved: bool,
}

/// Watch levels that put a subtopic's or tag's new threads in the digest.
const WATCHED: &str = "('watching', 'watching_first_post', 'tracking')";

/// The threads started in `(since, until]` that `user` would want: in a subtopic or tag they
/// watch (the whole forum when they watch none), not theirs, not removed, not muted by them
/// (the thread, its subtopic or one of its tags); the most replied and boosted first.
pub async fn digest_threads<C: Conn>(
    conn: &mut C,
    user: UserId,
    since: Timestamp,
    until: Timestamp,
    limit: usize,
) -> Result<Vec<DigestThread>, StoreError> {
    let sql = format!(
        "SELECT t.id, t.slug, t.title, t.excerpt, u.username, s.name, t.reply_count, \
         t.boost_count, t.accepted_post_id IS NOT NULL OR t.staff_answered \
         FROM threads t JOIN users u ON u.id = t.author_id \
         JOIN subtopics s ON s.id = t.subtopic_id \
         WHERE t.created_at > ?2 AND t.created_at <= ?3 AND t.removed_at IS NULL \
         AND t.author_id <> ?1 \
         AND (NOT EXISTS (SELECT 1 FROM watches w WHERE w.user_id = ?1 \
                AND w.target_kind IN ('subtopic', 'tag') AND w.level IN {WATCHED}) \
              OR EXISTS (SELECT 1 FROM watches w WHERE w.user_id = ?1 \
                AND w.target_kind = 'subtopic' AND w.target_id = t.subtopic_id \
                AND w.level IN {WATCHED}) \
              OR EXISTS (SELECT 1 FROM watches w JOIN thread_tags tt ON tt.tag_id = w.target_id \
                WHERE w.user_id = ?1 AND w.target_kind = 'tag' AND tt.thread_id = t.id \
                AND w.level IN {WATCHED})) \
         AND NOT EXISTS (SELECT 1 FROM watches w WHERE w.user_id = ?1 AND w.level = 'muted' \
                AND ((w.target_kind = 'thread' AND w.target_id = t.id) \
                  OR (w.target_kind = 'subtopic' AND w.target_id = t.subtopic_id))) \
         AND NOT EXISTS (SELECT 1 FROM watches w JOIN thread_tags tt ON tt.tag_id = w.target_id \
                WHERE w.user_id = ?1 AND w.target_kind = 'tag' AND w.level = 'muted' \
                AND tt.thread_id = t.id) \
         ORDER BY t.reply_count * 2 + t.boost_count * 3 + t.view_count / 50 DESC, t.id DESC \
         LIMIT ?4"
    );
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = conn
        .query(&sql, params![user.0, since.micros(), until.micros(), limit])
        .await?;
    rows.iter()
        .map(|row| {
            Ok(DigestThread {
                id: ThreadId(row.int(0)?),
                slug: row.text(1)?,
                title: row.text(2)?,
                excerpt: row.text(3)?,
                author: row.text(4)?,
                subtopic: row.text(5)?,
                replies: row.int(6)?,
                boosts: row.int(7)?,
                solved: row.bool(8)?,
            })
        })
        .collect()
}

/// See [`Store::schedule_digest`].
pub async fn schedule_digest<C: Conn>(
    conn: &mut C,
    user: UserId,
    previous: Option<Timestamp>,
    next: Timestamp,
    job: (&str, &str),
) -> Result<bool, StoreError> {
    let (matches, values): (&str, Vec<Value>) = match previous {
        Some(previous) => (
            "digest_due_at = ?3",
            params![user.0, next.micros(), previous.micros()].to_vec(),
        ),
        None => (
            "digest_due_at IS NULL",
            params![user.0, next.micros()].to_vec(),
        ),
    };
    let moved = conn
        .execute(
            &format!(
                "UPDATE notify_prefs SET digest_due_at = ?2 \
                 WHERE user_id = ?1 AND digest = 'weekly' AND {matches}"
            ),
            &values,
        )
        .await?;
    if moved == 0 {
        return Ok(false);
    }
    let (kind, payload) = job;
    queries::enqueue_job(conn, kind, payload, next).await?;
    Ok(true)
}

/// When `user`'s next digest is due (None while it is off).
pub async fn digest_due<C: Conn>(
    conn: &mut C,
    user: UserId,
) -> Result<Option<Timestamp>, StoreError> {
    Ok(
        match conn
            .query_opt(
                "SELECT digest_due_at FROM notify_prefs WHERE user_id = ?1 AND digest = 'weekly'",
                params![user.0],
            )
            .await?
        {
            Some(row) => row.opt_int(0)?.map(Timestamp::from_micros),
            None => None,
        },
    )
}

impl Store {
    /// Sets `user`'s next digest to `next` and queues the job `(kind, payload)` to run then,
    /// in one transaction, if their digest is on and its due time is still `previous` (None:
    /// none is scheduled yet). False, and nothing written, otherwise: another node or an
    /// earlier request scheduled it, or the member turned the digest off.
    pub async fn schedule_digest(
        &self,
        user: UserId,
        previous: Option<Timestamp>,
        next: Timestamp,
        kind: &str,
        payload: &str,
    ) -> Result<bool, StoreError> {
        let (kind, payload) = (kind.to_string(), payload.to_string());
        write_private!(self, |conn| schedule_digest(
            conn,
            user,
            previous,
            next,
            (&kind, &payload)
        )
        .await)
    }

    /// When `user`'s next digest is due (None while it is off).
    pub async fn digest_due(&self, user: UserId) -> Result<Option<Timestamp>, StoreError> {
        read!(self, |conn| digest_due(conn, user).await)
    }

    /// See [`digest_threads`].
    pub async fn digest_threads(
        &self,
        user: UserId,
        since: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<DigestThread>, StoreError> {
        read!(self, |conn| digest_threads(conn, user, since, until, limit)
            .await)
    }
}
