//! Watching and notifications: members' levels for threads, subtopics and tags, what they are
//! told, and how far the notifier has read the change log. None of it changes what readers see
//! of the forum, so it is written without entering the change log or invalidating pages.

use crate::StoreError;
use crate::db::{Conn, Query, Row, Value, params};
use crate::model::{PostId, ThreadId, Timestamp, UserId};

/// How closely a member follows a thread, a subtopic or a tag (Discourse's levels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchLevel {
    /// Told of every new post.
    Watching,
    /// Subtopics and tags: told of each new thread, not of its replies.
    WatchingFirstPost,
    /// Told only when someone answers, quotes or mentions them.
    Tracking,
    /// As tracking (the default for anything not chosen).
    Normal,
    /// Never told anything about it.
    Muted,
}

impl WatchLevel {
    pub const ALL: [WatchLevel; 5] = [
        WatchLevel::Watching,
        WatchLevel::WatchingFirstPost,
        WatchLevel::Tracking,
        WatchLevel::Normal,
        WatchLevel::Muted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Watching => "watching",
            Self::WatchingFirstPost => "watching_first_post",
            Self::Tracking => "tracking",
            Self::Normal => "normal",
            Self::Muted => "muted",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == text)
    }
}

/// What a watch is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WatchTarget {
    Thread(ThreadId),
    Subtopic(i64),
    Tag(i64),
}

impl WatchTarget {
    fn columns(self) -> (&'static str, i64) {
        match self {
            Self::Thread(t) => ("thread", t.0),
            Self::Subtopic(s) => ("subtopic", s),
            Self::Tag(t) => ("tag", t),
        }
    }
}

/// A notification to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewNotification {
    pub user: UserId,
    pub kind: String,
    pub thread: ThreadId,
    pub post: Option<PostId>,
    pub actor: Option<UserId>,
    pub reason: Option<String>,
    /// The change-log entry that caused it.
    pub source: i64,
}

/// A notification as a member's list shows it.
#[derive(Clone, Debug)]
pub struct NotificationRow {
    pub id: i64,
    pub kind: String,
    pub thread: ThreadId,
    pub thread_title: String,
    pub thread_slug: String,
    pub post: Option<PostId>,
    /// The post's place in its thread (for its permalink).
    pub position: Option<i64>,
    pub actor: Option<String>,
    pub count: i64,
    pub reason: Option<String>,
    pub created_at: Timestamp,
    pub read: bool,
}

/// A member's notification settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyPrefs {
    /// The level of threads they start.
    pub own_threads: WatchLevel,
    /// The level of threads they reply in.
    pub replied: WatchLevel,
    /// Kinds they do not want to be told of.
    pub off_kinds: Vec<String>,
    /// Whether notifications are emailed when they are away (else never).
    pub email: bool,
    /// Whether they get the weekly digest (off unless they ask).
    pub digest: bool,
}

impl Default for NotifyPrefs {
    fn default() -> Self {
        Self {
            own_threads: WatchLevel::Watching,
            replied: WatchLevel::Tracking,
            off_kinds: Vec::new(),
            email: true,
            digest: false,
        }
    }
}

pub async fn set_watch<C: Conn>(
    conn: &mut C,
    user: UserId,
    target: WatchTarget,
    level: WatchLevel,
) -> Result<(), StoreError> {
    let (kind, id) = target.columns();
    conn.execute(
        "INSERT INTO watches (user_id, target_kind, target_id, level, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (user_id, target_kind, target_id) \
         DO UPDATE SET level = excluded.level, updated_at = excluded.updated_at",
        params![user.0, kind, id, level.as_str(), Timestamp::now().micros()],
    )
    .await?;
    Ok(())
}

pub async fn watch_level<C: Conn>(
    conn: &mut C,
    user: UserId,
    target: WatchTarget,
) -> Result<Option<WatchLevel>, StoreError> {
    let (kind, id) = target.columns();
    let row = conn
        .query_opt(
            "SELECT level FROM watches WHERE user_id = ?1 AND target_kind = ?2 AND target_id = ?3",
            params![user.0, kind, id],
        )
        .await?;
    Ok(row
        .and_then(|r| r.text(0).ok())
        .and_then(|l| WatchLevel::parse(&l)))
}

/// Every explicit watch on `targets`: (member, target, level).
pub async fn watches_on<C: Conn>(
    conn: &mut C,
    targets: &[WatchTarget],
) -> Result<Vec<(UserId, WatchTarget, WatchLevel)>, StoreError> {
    // One statement a target (each reads its own index range), sent as one batch.
    let reads: Vec<Query> = targets
        .iter()
        .map(|target| {
            let (kind, id) = target.columns();
            Query::new(
                "SELECT user_id, level FROM watches WHERE target_kind = ?1 AND target_id = ?2",
                params![kind, id],
            )
        })
        .collect();
    let mut out = Vec::new();
    for (target, rows) in targets.iter().zip(conn.query_batch(&reads).await?) {
        for row in rows {
            if let Some(level) = WatchLevel::parse(&row.text(1)?) {
                out.push((UserId(row.int(0)?), *target, level));
            }
        }
    }
    Ok(out)
}

/// The members who wrote a visible post in `thread` (its participants), the first to write
/// first.
pub async fn participants<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<Vec<UserId>, StoreError> {
    let rows = conn
        .query(
            "SELECT author_id, MIN(position) AS first FROM posts WHERE thread_id = ?1 \
             AND deleted_at IS NULL GROUP BY author_id ORDER BY first",
            params![thread.0],
        )
        .await?;
    rows.iter().map(|r| Ok(UserId(r.int(0)?))).collect()
}

pub async fn notify_prefs<C: Conn>(conn: &mut C, user: UserId) -> Result<NotifyPrefs, StoreError> {
    Ok(notify_prefs_of(conn, &[user])
        .await?
        .remove(&user)
        .unwrap_or_default())
}

pub async fn set_notify_prefs<C: Conn>(
    conn: &mut C,
    user: UserId,
    prefs: &NotifyPrefs,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO notify_prefs (user_id, own_threads, replied, off_kinds, email, digest) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (user_id) DO UPDATE SET \
         own_threads = excluded.own_threads, replied = excluded.replied, \
         off_kinds = excluded.off_kinds, email = excluded.email, digest = excluded.digest, \
         digest_due_at = CASE WHEN excluded.digest = 'off' THEN NULL \
         ELSE notify_prefs.digest_due_at END",
        params![
            user.0,
            prefs.own_threads.as_str(),
            prefs.replied.as_str(),
            prefs.off_kinds.join(" "),
            if prefs.email { "away" } else { "never" },
            if prefs.digest { "weekly" } else { "off" }
        ],
    )
    .await?;
    Ok(())
}

pub async fn notifier_position<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    match conn
        .query_opt("SELECT position FROM notifier_state WHERE id = 1", &[])
        .await?
    {
        Some(row) => row.int(0),
        None => Ok(0),
    }
}

/// Rows per multi-row INSERT (8 values each: well under SQLite's and PostgreSQL's limits).
const INSERT_CHUNK: usize = 500;

/// Writes `rows` and moves the notifier from `from` to `to`, in one transaction; nothing when
/// another node moved it first (false: that node wrote these).
pub async fn record_notifications<C: Conn>(
    conn: &mut C,
    from: i64,
    to: i64,
    rows: &[NewNotification],
    email: &EmailJobs,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let moved = conn
        .execute(
            "UPDATE notifier_state SET position = ?2 WHERE id = 1 AND position = ?1",
            params![from, to],
        )
        .await?;
    if moved == 0 {
        return Ok(false);
    }
    let mut plain: Vec<&NewNotification> = Vec::with_capacity(rows.len());
    for row in rows {
        // Kinds that gather in one unread notification: a post's boosts ("3 people boosted")
        // and a tracked thread's new replies ("3 new replies", still pointing at the first).
        let gathers = match row.kind.as_str() {
            "boost" => Some(("post_id", row.post.map_or(0, |p| p.0))),
            "tracked" => Some(("thread_id", row.thread.0)),
            _ => None,
        };
        let Some((column, key)) = gathers else {
            plain.push(row);
            continue;
        };
        // The column is the code's own name, never input.
        let grouped = conn
            .execute(
                &format!(
                    "UPDATE notifications SET count = count + 1, actor_id = ?3, created_at = ?4, \
                     source = ?5 WHERE user_id = ?1 AND kind = ?6 AND {column} = ?2 \
                     AND read_at IS NULL"
                ),
                params![
                    row.user.0,
                    key,
                    row.actor.map(|a| a.0),
                    now.micros(),
                    row.source,
                    row.kind.as_str()
                ],
            )
            .await?;
        if grouped == 0 {
            // Written now, not with the others: the next of its kind in this batch gathers
            // into it.
            insert_notifications(conn, &[row], now).await?;
        }
    }
    // Many rows per statement: a reply to a subtopic with 10,000 watchers is 10,000 rows.
    for chunk in plain.chunks(INSERT_CHUNK) {
        insert_notifications(conn, chunk, now).await?;
    }
    queue_email_jobs(conn, rows, email).await?;
    Ok(true)
}

/// One email job per member and thread of `rows`, due after the delay; a job already waiting
/// for that thread takes these too (one message for several notifications).
pub(crate) async fn queue_email_jobs<C: Conn>(
    conn: &mut C,
    rows: &[NewNotification],
    email: &EmailJobs,
) -> Result<(), StoreError> {
    let mut seen = std::collections::HashSet::new();
    let payloads: Vec<String> = rows
        .iter()
        // A tracked thread's new replies are for the bell alone.
        .filter(|row| row.kind != "tracked")
        .filter(|row| seen.insert((row.user.0, row.thread.0)))
        .map(|row| format!("{{\"user\":{},\"thread\":{}}}", row.user.0, row.thread.0))
        .collect();
    // The kind is written into the query (it is the code's own name, not input) so the
    // partial index `jobs_notification_waiting` answers it.
    let kind = email.kind.replace('\'', "");
    for chunk in payloads.chunks(INSERT_CHUNK) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let values: Vec<Value> = chunk.iter().map(|p| Value::from(p.as_str())).collect();
        let waiting: std::collections::HashSet<String> = conn
            .query(
                &format!(
                    "SELECT payload FROM jobs WHERE kind = '{kind}' AND payload IN ({}) \
                     AND done_at IS NULL AND claimed_at IS NULL AND failed_at IS NULL",
                    marks.join(", ")
                ),
                &values,
            )
            .await?
            .iter()
            .map(|r| r.text(0))
            .collect::<Result<_, _>>()?;
        let missing: Vec<&String> = chunk.iter().filter(|p| !waiting.contains(*p)).collect();
        if missing.is_empty() {
            continue;
        }
        let mut values: Vec<Value> = Vec::with_capacity(missing.len() * 3);
        let mut tuples: Vec<String> = Vec::with_capacity(missing.len());
        for payload in missing {
            let at = values.len();
            tuples.push(format!("(?{}, ?{}, ?{})", at + 1, at + 2, at + 3));
            values.extend([
                Value::from(email.kind.as_str()),
                Value::from(payload.as_str()),
                Value::from(email.run_after.micros()),
            ]);
        }
        conn.execute(
            &format!(
                "INSERT INTO jobs (kind, payload, run_after) VALUES {}",
                tuples.join(", ")
            ),
            &values,
        )
        .await?;
    }
    Ok(())
}

/// Inserts `rows` in one statement (a row already written for the same entry is left).
pub(crate) async fn insert_notifications<C: Conn>(
    conn: &mut C,
    rows: &[&NewNotification],
    now: Timestamp,
) -> Result<(), StoreError> {
    let mut values: Vec<Value> = Vec::with_capacity(rows.len() * 8);
    let mut tuples: Vec<String> = Vec::with_capacity(rows.len());
    for row in rows {
        let at = values.len();
        tuples.push(format!(
            "(?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{}, ?{})",
            at + 1,
            at + 2,
            at + 3,
            at + 4,
            at + 5,
            at + 6,
            at + 7,
            at + 8
        ));
        values.extend([
            Value::from(row.user.0),
            Value::from(row.kind.as_str()),
            Value::from(row.thread.0),
            Value::from(row.post.map(|p| p.0)),
            Value::from(row.actor.map(|a| a.0)),
            Value::from(row.reason.clone()),
            Value::from(row.source),
            Value::from(now.micros()),
        ]);
    }
    conn.execute(
        &format!(
            "INSERT INTO notifications (user_id, kind, thread_id, post_id, actor_id, reason, \
             source, created_at) VALUES {} ON CONFLICT (user_id, source, kind) DO NOTHING",
            tuples.join(", ")
        ),
        &values,
    )
    .await?;
    Ok(())
}

/// The email jobs [`record_notifications`] queues: their kind and when they are due.
#[derive(Clone, Debug)]
pub struct EmailJobs {
    pub kind: String,
    pub run_after: Timestamp,
}

/// A member's unread notifications about `thread` not yet emailed, oldest first (those about
/// a post that is gone are left out).
pub async fn unemailed<C: Conn>(
    conn: &mut C,
    user: UserId,
    thread: ThreadId,
) -> Result<Vec<NotificationRow>, StoreError> {
    let rows = conn
        .query(
            &format!(
                "SELECT {COLUMNS} FROM notifications n JOIN threads t ON t.id = n.thread_id \
                 LEFT JOIN posts p ON p.id = n.post_id LEFT JOIN users a ON a.id = n.actor_id \
                 WHERE n.user_id = ?1 AND n.thread_id = ?2 AND n.read_at IS NULL \
                 AND n.emailed_at IS NULL AND n.kind <> 'tracked' AND t.removed_at IS NULL \
                 AND (n.post_id IS NULL OR (p.deleted_at IS NULL AND p.hidden_at IS NULL) \
                      OR n.kind = 'moderated') \
                 ORDER BY n.id"
            ),
            params![user.0, thread.0],
        )
        .await?;
    rows.iter().map(read_row).collect()
}

/// Marks notifications as settled by email (sent, or not to be sent).
pub async fn mark_emailed<C: Conn>(
    conn: &mut C,
    ids: &[i64],
    now: Timestamp,
) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        let mut values: Vec<Value> = vec![now.micros().into()];
        let marks: Vec<String> = chunk
            .iter()
            .enumerate()
            .map(|(i, id)| {
                values.push((*id).into());
                format!("?{}", i + 2)
            })
            .collect();
        conn.execute(
            &format!(
                "UPDATE notifications SET emailed_at = ?1 WHERE id IN ({})",
                marks.join(", ")
            ),
            &values,
        )
        .await?;
    }
    Ok(())
}

/// How many notification emails a member was sent since `since` (for the daily cap): the
/// distinct times their notifications were emailed.
pub async fn emails_since<C: Conn>(
    conn: &mut C,
    user: UserId,
    since: Timestamp,
) -> Result<i64, StoreError> {
    conn.query_one(
        "SELECT COUNT(DISTINCT emailed_at) FROM notifications WHERE user_id = ?1 \
         AND emailed_at > ?2 AND read_at IS NULL",
        params![user.0, since.micros()],
    )
    .await?
    .int(0)
}

pub async fn touch_last_seen<C: Conn>(
    conn: &mut C,
    user: UserId,
    now: Timestamp,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE users SET last_seen_at = ?2 WHERE id = ?1",
        params![user.0, now.micros()],
    )
    .await?;
    Ok(())
}

pub async fn last_seen<C: Conn>(
    conn: &mut C,
    user: UserId,
) -> Result<Option<Timestamp>, StoreError> {
    Ok(
        match conn
            .query_opt(
                "SELECT last_seen_at FROM users WHERE id = ?1",
                params![user.0],
            )
            .await?
        {
            Some(row) => row.opt_int(0)?.map(Timestamp::from_micros),
            None => None,
        },
    )
}

/// What an unsubscribe link turns off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MailList {
    /// Notification email (`notify_prefs.email`).
    Notifications,
    /// The weekly digest (`notify_prefs.digest`).
    Digest,
}

impl MailList {
    pub fn as_str(self) -> &'static str {
        match self {
            MailList::Notifications => "notifications",
            MailList::Digest => "digest",
        }
    }

    fn parse(text: &str) -> Self {
        if text == "digest" {
            MailList::Digest
        } else {
            MailList::Notifications
        }
    }
}

pub async fn create_unsubscribe_token<C: Conn>(
    conn: &mut C,
    user: UserId,
    token_hash: &str,
    list: MailList,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO unsubscribe_tokens (token_hash, user_id, created_at, scope) \
         VALUES (?1, ?2, ?3, ?4)",
        params![token_hash, user.0, Timestamp::now().micros(), list.as_str()],
    )
    .await?;
    Ok(())
}

/// Uses an unsubscribe link once: its member and what it turns off, or None when it was used
/// or never existed.
pub async fn use_unsubscribe_token<C: Conn>(
    conn: &mut C,
    token_hash: &str,
) -> Result<Option<(UserId, MailList)>, StoreError> {
    let row = conn
        .query_opt(
            "UPDATE unsubscribe_tokens SET used_at = ?2 WHERE token_hash = ?1 AND used_at IS NULL \
             RETURNING user_id, scope",
            params![token_hash, Timestamp::now().micros()],
        )
        .await?;
    row.map(|r| Ok((UserId(r.int(0)?), MailList::parse(&r.text(1)?))))
        .transpose()
}

/// What an unsubscribe link that still works would turn off (for the page that asks first);
/// None when it was used or never existed.
pub async fn unsubscribe_token_valid<C: Conn>(
    conn: &mut C,
    token_hash: &str,
) -> Result<Option<MailList>, StoreError> {
    let row = conn
        .query_opt(
            "SELECT scope FROM unsubscribe_tokens WHERE token_hash = ?1 AND used_at IS NULL",
            params![token_hash],
        )
        .await?;
    row.map(|r| Ok(MailList::parse(&r.text(0)?))).transpose()
}

const COLUMNS: &str = "n.id, n.kind, n.thread_id, t.title, t.slug, n.post_id, p.position, \
     a.username, n.count, n.reason, n.created_at, n.read_at IS NOT NULL";

fn read_row(row: &Row) -> Result<NotificationRow, StoreError> {
    Ok(NotificationRow {
        id: row.int(0)?,
        kind: row.text(1)?,
        thread: ThreadId(row.int(2)?),
        thread_title: row.text(3)?,
        thread_slug: row.text(4)?,
        post: row.opt_int(5)?.map(PostId),
        position: row.opt_int(6)?,
        actor: row.opt_text(7)?,
        count: row.int(8)?,
        reason: row.opt_text(9)?,
        created_at: Timestamp::from_micros(row.int(10)?),
        read: row.bool(11)?,
    })
}

/// A member's notifications, newest first, `limit` of them below the id `before`. Those about
/// a thread or post that is gone (removed, deleted, hidden) are left out.
pub async fn notifications_of<C: Conn>(
    conn: &mut C,
    user: UserId,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, StoreError> {
    let rows = conn
        .query(
            &format!(
                "SELECT {COLUMNS} FROM notifications n JOIN threads t ON t.id = n.thread_id \
                 LEFT JOIN posts p ON p.id = n.post_id LEFT JOIN users a ON a.id = n.actor_id \
                 WHERE n.user_id = ?1 AND n.id < ?2 AND t.removed_at IS NULL \
                 AND (n.post_id IS NULL OR (p.deleted_at IS NULL AND p.hidden_at IS NULL) \
                      OR n.kind = 'moderated') \
                 ORDER BY n.id DESC LIMIT ?3"
            ),
            params![user.0, before.unwrap_or(i64::MAX), limit],
        )
        .await?;
    rows.iter().map(read_row).collect()
}

/// SQL for how many unread notifications the member `$user` (an SQL expression) has, counted
/// up to 100 (the bell says "99+"). A macro, so statements write it into their text with
/// `concat!`: the cap is part of the SQL because SQLite re-prepares a statement at every run
/// when a `LIMIT` is a bound value (its planner reads it).
macro_rules! count_unread {
    ($user:literal) => {
        concat!(
            "(SELECT COUNT(*) FROM (SELECT 1 FROM notifications n WHERE n.user_id = ",
            $user,
            " AND n.read_at IS NULL LIMIT 100) unread)"
        )
    };
}
pub(crate) use count_unread;

/// How many unread notifications a member has ([`count_unread`]).
pub async fn unread_count<C: Conn>(conn: &mut C, user: UserId) -> Result<i64, StoreError> {
    conn.query_one(concat!("SELECT ", count_unread!("?1")), params![user.0])
        .await?
        .int(0)
}

/// Marks read: every notification of the member, or those about `posts` of `thread` (the
/// posts a page showed them), or about the thread itself. Returns how many.
pub async fn mark_read<C: Conn>(
    conn: &mut C,
    user: UserId,
    thread: Option<ThreadId>,
    posts: &[PostId],
) -> Result<u64, StoreError> {
    let now = Timestamp::now().micros();
    match thread {
        None => {
            conn.execute(
                "UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND read_at IS NULL",
                params![user.0, now],
            )
            .await
        }
        Some(thread) => {
            let mut values: Vec<Value> = vec![user.0.into(), now.into(), thread.0.into()];
            let marks: Vec<String> = posts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    values.push(p.0.into());
                    format!("?{}", i + 4)
                })
                .collect();
            let posts_clause = if marks.is_empty() {
                "post_id IS NULL".to_string()
            } else {
                format!("(post_id IS NULL OR post_id IN ({}))", marks.join(", "))
            };
            conn.execute(
                &format!(
                    "UPDATE notifications SET read_at = ?2 WHERE user_id = ?1 AND thread_id = ?3 \
                     AND read_at IS NULL AND {posts_clause}"
                ),
                &values,
            )
            .await
        }
    }
}

/// Whether a member is suspended now (the notifier tells suspended accounts nothing).
pub async fn suspended<C: Conn>(
    conn: &mut C,
    user: UserId,
    now: Timestamp,
) -> Result<bool, StoreError> {
    let row = conn
        .query_opt(
            "SELECT suspended_until FROM users WHERE id = ?1",
            params![user.0],
        )
        .await?;
    Ok(match row {
        Some(row) => row.opt_int(0)?.is_some_and(|until| until > now.micros()),
        None => true,
    })
}

/// Why a thread is locked (what its author is told).
pub async fn lock_reason<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<Option<String>, StoreError> {
    Ok(
        match conn
            .query_opt(
                "SELECT lock_reason FROM threads WHERE id = ?1",
                params![thread.0],
            )
            .await?
        {
            Some(row) => row.opt_text(0)?,
            None => None,
        },
    )
}

/// The notification settings of many members at once (defaults for those who chose none).
pub async fn notify_prefs_of<C: Conn>(
    conn: &mut C,
    users: &[UserId],
) -> Result<std::collections::HashMap<UserId, NotifyPrefs>, StoreError> {
    let mut out: std::collections::HashMap<UserId, NotifyPrefs> =
        users.iter().map(|u| (*u, NotifyPrefs::default())).collect();
    for chunk in users.chunks(500) {
        let q = prefs_of(chunk);
        for row in conn.query(&q.sql, &q.params).await? {
            let (user, prefs) = read_prefs(&row)?;
            out.insert(user, prefs);
        }
    }
    Ok(out)
}

/// The read of `users`' notification settings (at most a few hundred); rows read by
/// [`read_prefs`]. A member who chose none has no row.
pub(crate) fn prefs_of(users: &[UserId]) -> Query {
    let marks: Vec<String> = (1..=users.len()).map(|i| format!("?{i}")).collect();
    let values: Vec<Value> = users.iter().map(|u| Value::from(u.0)).collect();
    Query::new(
        format!(
            "SELECT user_id, own_threads, replied, off_kinds, email, digest FROM notify_prefs \
             WHERE user_id IN ({})",
            marks.join(", ")
        ),
        &values,
    )
}

pub(crate) fn read_prefs(row: &Row) -> Result<(UserId, NotifyPrefs), StoreError> {
    let defaults = NotifyPrefs::default();
    Ok((
        UserId(row.int(0)?),
        NotifyPrefs {
            own_threads: WatchLevel::parse(&row.text(1)?).unwrap_or(defaults.own_threads),
            replied: WatchLevel::parse(&row.text(2)?).unwrap_or(defaults.replied),
            off_kinds: row
                .text(3)?
                .split_whitespace()
                .map(str::to_string)
                .collect(),
            email: row.text(4)? != "never",
            digest: row.text(5)? == "weekly",
        },
    ))
}

/// Which of `users` are suspended now (or gone).
pub async fn suspended_of<C: Conn>(
    conn: &mut C,
    users: &[UserId],
    now: Timestamp,
) -> Result<std::collections::HashSet<UserId>, StoreError> {
    let mut present = std::collections::HashSet::new();
    let mut suspended = std::collections::HashSet::new();
    for chunk in users.chunks(500) {
        let marks: Vec<String> = (1..=chunk.len()).map(|i| format!("?{i}")).collect();
        let values: Vec<Value> = chunk.iter().map(|u| Value::from(u.0)).collect();
        let rows = conn
            .query(
                &format!(
                    "SELECT id, suspended_until FROM users WHERE id IN ({})",
                    marks.join(", ")
                ),
                &values,
            )
            .await?;
        for row in rows {
            let id = UserId(row.int(0)?);
            present.insert(id);
            if row.opt_int(1)?.is_some_and(|until| until > now.micros()) {
                suspended.insert(id);
            }
        }
    }
    suspended.extend(users.iter().filter(|u| !present.contains(u)).copied());
    Ok(suspended)
}

/// Whether `user` wrote a post in `thread` that is not deleted (their settings for threads they
/// replied in then apply): a row if so.
pub(crate) fn posted_in(user: UserId, thread: ThreadId) -> Query {
    Query::new(
        "SELECT 1 FROM posts WHERE author_id = ?1 AND thread_id = ?2 AND deleted_at IS NULL \
         LIMIT 1",
        params![user.0, thread.0],
    )
}
