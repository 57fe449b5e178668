//! Drafts: what a member was writing and has not published, one per account and place (a new
//! thread, a reply in a thread, an edit of a post). Private to their author: every query here
//! names the account, so no draft is read or written across accounts. Saving a draft is not a
//! change to the forum: it neither enters the change log nor invalidates cached pages.

use crate::StoreError;
use crate::db::{Conn, Query, Row, params};
use crate::model::{PostId, ThreadId, Timestamp, UserId};

/// The most drafts an account keeps: saving one more drops the one left longest.
pub const DRAFTS_PER_ACCOUNT: i64 = 50;

/// Where a draft belongs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DraftPlace {
    /// A new thread (one per account; the subtopic it is for is part of the draft).
    NewThread,
    /// A reply in this thread.
    Reply(ThreadId),
    /// An edit of this post.
    Edit(PostId),
}

impl DraftPlace {
    fn columns(self) -> (&'static str, i64) {
        match self {
            Self::NewThread => ("thread", 0),
            Self::Reply(thread) => ("reply", thread.0),
            Self::Edit(post) => ("edit", post.0),
        }
    }

    fn from_columns(place: &str, target: i64) -> Result<Self, StoreError> {
        match place {
            "thread" => Ok(Self::NewThread),
            "reply" => Ok(Self::Reply(ThreadId(target))),
            "edit" => Ok(Self::Edit(PostId(target))),
            other => Err(StoreError::Invalid(format!(
                "unknown draft place {other:?}"
            ))),
        }
    }

    /// The place as one word, as the API and the forms name it: `thread`, `reply:12`,
    /// `edit:345`.
    pub fn key(self) -> String {
        match self {
            Self::NewThread => "thread".into(),
            Self::Reply(thread) => format!("reply:{}", thread.0),
            Self::Edit(post) => format!("edit:{}", post.0),
        }
    }

    /// Reads [`DraftPlace::key`]'s spelling back; anything else is `None`.
    pub fn parse(key: &str) -> Option<Self> {
        let id = |text: &str| text.parse::<i64>().ok().filter(|id| *id > 0);
        match key.split_once(':') {
            None if key == "thread" => Some(Self::NewThread),
            Some(("reply", id_text)) => id(id_text).map(|id| Self::Reply(ThreadId(id))),
            Some(("edit", id_text)) => id(id_text).map(|id| Self::Edit(PostId(id))),
            _ => None,
        }
    }
}

/// What a draft holds: every field of the form it came from (the ones a place does not use
/// stay empty).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DraftContent {
    pub subtopic: String,
    pub title: String,
    pub tags: String,
    pub kind: String,
    pub body: String,
    pub reply_to: Option<PostId>,
    pub reason: String,
}

/// A stored draft, with the title of the thread it belongs to (for a reply or an edit; `None`
/// when that thread or post is gone).
#[derive(Clone, Debug)]
pub struct DraftRow {
    pub id: i64,
    pub author: UserId,
    pub place: DraftPlace,
    pub content: DraftContent,
    pub updated_at: Timestamp,
    pub thread_title: Option<String>,
    /// The thread a reply or an edit belongs to.
    pub thread: Option<ThreadId>,
}

const COLUMNS: &str = "d.id, d.user_id, d.place, d.target, d.subtopic, d.title, d.tags, \
     d.thread_kind, d.body, d.reply_to, d.reason, d.updated_at, \
     COALESCE(rt.title, et.title), COALESCE(rt.id, et.id)";

/// The threads a draft belongs to: a reply's thread, or the thread of an edited post.
const JOINS: &str = "FROM drafts d \
     LEFT JOIN threads rt ON d.place = 'reply' AND rt.id = d.target AND rt.removed_at IS NULL \
     LEFT JOIN posts ep ON d.place = 'edit' AND ep.id = d.target \
     LEFT JOIN threads et ON et.id = ep.thread_id AND et.removed_at IS NULL";

fn read_draft(row: &Row) -> Result<DraftRow, StoreError> {
    Ok(DraftRow {
        id: row.int(0)?,
        author: UserId(row.int(1)?),
        place: DraftPlace::from_columns(&row.text(2)?, row.int(3)?)?,
        content: DraftContent {
            subtopic: row.text(4)?,
            title: row.text(5)?,
            tags: row.text(6)?,
            kind: row.text(7)?,
            body: row.text(8)?,
            reply_to: row.opt_int(9)?.map(PostId),
            reason: row.text(10)?,
        },
        updated_at: Timestamp::from_micros(row.int(11)?),
        thread_title: row.opt_text(12)?,
        thread: row.opt_int(13)?.map(ThreadId),
    })
}

/// Saves `user`'s draft for `place` (replacing the one there), and drops the oldest beyond
/// [`DRAFTS_PER_ACCOUNT`]. Returns the draft's id.
pub async fn save_draft<C: Conn>(
    conn: &mut C,
    user: UserId,
    place: DraftPlace,
    content: &DraftContent,
    now: Timestamp,
) -> Result<i64, StoreError> {
    let (place_word, target) = place.columns();
    let id = conn
        .query_one(
            "INSERT INTO drafts (user_id, place, target, subtopic, title, tags, thread_kind, \
             body, reply_to, reason, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (user_id, place, target) DO UPDATE SET subtopic = excluded.subtopic, \
             title = excluded.title, tags = excluded.tags, thread_kind = excluded.thread_kind, \
             body = excluded.body, reply_to = excluded.reply_to, reason = excluded.reason, \
             updated_at = excluded.updated_at \
             RETURNING id",
            params![
                user.0,
                place_word,
                target,
                content.subtopic.as_str(),
                content.title.as_str(),
                content.tags.as_str(),
                content.kind.as_str(),
                content.body.as_str(),
                content.reply_to.map(|p| p.0),
                content.reason.as_str(),
                now.micros()
            ],
        )
        .await?
        .int(0)?;
    conn.execute(
        "DELETE FROM drafts WHERE user_id = ?1 AND id NOT IN \
         (SELECT id FROM drafts WHERE user_id = ?1 ORDER BY updated_at DESC, id DESC LIMIT ?2)",
        params![user.0, DRAFTS_PER_ACCOUNT],
    )
    .await?;
    Ok(id)
}

/// `user`'s draft for `place`.
pub async fn draft_at<C: Conn>(
    conn: &mut C,
    user: UserId,
    place: DraftPlace,
) -> Result<Option<DraftRow>, StoreError> {
    let q = at(user, place);
    first_draft(&conn.query(&q.sql, &q.params).await?)
}

/// The read of `user`'s draft for `place`; [`first_draft`] reads its rows.
pub(crate) fn at(user: UserId, place: DraftPlace) -> Query {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {COLUMNS} {JOINS} WHERE d.user_id = ?1 AND d.place = ?2 AND d.target = ?3")
    });
    let (place_word, target) = place.columns();
    Query::new(SQL.as_str(), params![user.0, place_word, target])
}

pub(crate) fn first_draft(rows: &[Row]) -> Result<Option<DraftRow>, StoreError> {
    rows.first().map(read_draft).transpose()
}

/// A draft by its id, whoever wrote it: the caller decides who may see it.
pub async fn draft_by_id<C: Conn>(conn: &mut C, id: i64) -> Result<Option<DraftRow>, StoreError> {
    conn.query_opt(
        &format!("SELECT {COLUMNS} {JOINS} WHERE d.id = ?1"),
        params![id],
    )
    .await?
    .as_ref()
    .map(read_draft)
    .transpose()
}

/// `user`'s drafts, the most recently saved first.
pub async fn drafts_of<C: Conn>(conn: &mut C, user: UserId) -> Result<Vec<DraftRow>, StoreError> {
    conn.query(
        &format!(
            "SELECT {COLUMNS} {JOINS} WHERE d.user_id = ?1 ORDER BY d.updated_at DESC, d.id DESC"
        ),
        params![user.0],
    )
    .await?
    .iter()
    .map(read_draft)
    .collect()
}

/// Deletes `user`'s draft for `place`; whether there was one.
pub async fn delete_draft_at<C: Conn>(
    conn: &mut C,
    user: UserId,
    place: DraftPlace,
) -> Result<bool, StoreError> {
    let q = delete_at(user, place);
    Ok(conn.execute(&q.sql, &q.params).await? > 0)
}

/// The statement of [`delete_draft_at`], to send along with others.
pub(crate) fn delete_at(user: UserId, place: DraftPlace) -> Query {
    let (place_word, target) = place.columns();
    Query::new(
        "DELETE FROM drafts WHERE user_id = ?1 AND place = ?2 AND target = ?3",
        params![user.0, place_word, target],
    )
}
