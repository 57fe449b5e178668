//! What the search indexer reads: the change log in order, and threads and posts as the index
//! needs them; and what search results read back: live summaries and visible posts' text.

use crate::db::{Conn, Dialect, Value, params};
use crate::model::*;
use crate::queries::{collect, read_summary};
use crate::{StoreError, sql};

/// Ids are read in fixed-size lists, padded with 0 (no row has id 0), so every list shape is
/// one prepared statement.
pub const ID_LIST: usize = 20;

fn id_list(start: usize) -> String {
    (start..start + ID_LIST)
        .map(|i| format!("?{i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn padded(ids: &[i64]) -> Vec<Value> {
    let mut v: Vec<Value> = ids.iter().map(|id| Value::Int(*id)).collect();
    v.resize(ID_LIST, Value::Int(0));
    v
}

fn tags_aggregate(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::Sqlite => {
            "(SELECT group_concat(g.slug, char(30) ORDER BY g.slug) FROM thread_tags tt \
             JOIN tags g ON g.id = tt.tag_id WHERE tt.thread_id = t.id)"
        }
        Dialect::Postgres => {
            "(SELECT string_agg(g.slug, chr(30) ORDER BY g.slug) FROM thread_tags tt \
             JOIN tags g ON g.id = tt.tag_id WHERE tt.thread_id = t.id)"
        }
    }
}

fn thread_columns(dialect: Dialect) -> String {
    format!(
        "t.id, t.title, s.slug, t.created_at, t.accepted_post_id, t.recommended_post_id, \
         t.staff_answered, t.locked_at IS NOT NULL, t.reply_count, t.removed_at IS NOT NULL, {}, \
         (SELECT h.id FROM posts h WHERE h.thread_id = t.id AND h.position = 0)",
        tags_aggregate(dialect)
    )
}

const POST_COLUMNS: &str = "p.id, p.thread_id, p.position, u.username, p.created_at, \
     p.boost_count, p.body_html, (p.deleted_at IS NULL AND p.hidden_at IS NULL)";

fn read_thread(row: &crate::db::Row) -> Result<IndexThreadRow, StoreError> {
    Ok(IndexThreadRow {
        id: ThreadId(row.int(0)?),
        title: row.text(1)?,
        subtopic: row.text(2)?,
        created_at: Timestamp::from_micros(row.int(3)?),
        accepted_post: row.opt_int(4)?.map(PostId),
        recommended_post: row.opt_int(5)?.map(PostId),
        staff_answered: row.bool(6)?,
        locked: row.bool(7)?,
        reply_count: row.int(8)?,
        removed: row.bool(9)?,
        tags: row
            .opt_text(10)?
            .map(|t| {
                t.split(sql::TAG_SEP)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        head_post: row.opt_int(11)?.map(PostId),
    })
}

fn read_post(row: &crate::db::Row) -> Result<IndexPostRow, StoreError> {
    Ok(IndexPostRow {
        id: PostId(row.int(0)?),
        thread: ThreadId(row.int(1)?),
        position: row.int(2)?,
        author: row.text(3)?,
        created_at: Timestamp::from_micros(row.int(4)?),
        boosts: row.int(5)?,
        body_html: row.text(6)?,
        visible: row.bool(7)?,
    })
}

/// Up to `limit` changes after `after`, in order.
pub async fn changes_after<C: Conn>(
    conn: &mut C,
    after: i64,
    limit: usize,
) -> Result<Vec<ChangeRow>, StoreError> {
    let query = format!(
        "SELECT seq, kind, thread_id, post_id, at, actor_id FROM change_log WHERE seq > ?1 ORDER BY seq LIMIT {limit}"
    );
    collect(conn.query(&query, params![after]).await?, |row| {
        Ok(ChangeRow {
            seq: row.int(0)?,
            at: row.int(4)?,
            kind: ChangeKind::parse(&row.text(1)?),
            actor: row.opt_int(5)?.map(UserId),
            thread: row.opt_int(2)?.map(ThreadId),
            post: row.opt_int(3)?.map(PostId),
        })
    })
}

/// Threads (removed ones included, marked), with their visible posts if `with_posts`, in id
/// order.
pub async fn threads_for_index<C: Conn>(
    conn: &mut C,
    ids: &[ThreadId],
    with_posts: bool,
) -> Result<Vec<(IndexThreadRow, Vec<IndexPostRow>)>, StoreError> {
    let dialect = conn.dialect();
    let threads_sql = format!(
        "SELECT {} FROM threads t JOIN subtopics s ON s.id = t.subtopic_id WHERE t.id IN ({}) ORDER BY t.id",
        thread_columns(dialect),
        id_list(1)
    );
    let posts_sql = format!(
        "SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id \
         WHERE p.thread_id IN ({}) AND p.deleted_at IS NULL AND p.hidden_at IS NULL \
         ORDER BY p.thread_id, p.position",
        id_list(1)
    );
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(ID_LIST) {
        let raw: Vec<i64> = chunk.iter().map(|t| t.0).collect();
        let threads = collect(conn.query(&threads_sql, &padded(&raw)).await?, read_thread)?;
        let posts = if with_posts {
            collect(conn.query(&posts_sql, &padded(&raw)).await?, read_post)?
        } else {
            Vec::new()
        };
        out.extend(attach(threads, posts));
    }
    Ok(out)
}

fn attach(
    threads: Vec<IndexThreadRow>,
    posts: Vec<IndexPostRow>,
) -> Vec<(IndexThreadRow, Vec<IndexPostRow>)> {
    let mut out: Vec<(IndexThreadRow, Vec<IndexPostRow>)> =
        threads.into_iter().map(|t| (t, Vec::new())).collect();
    let mut k = 0;
    for post in posts {
        while k < out.len() && out[k].0.id < post.thread {
            k += 1;
        }
        if k < out.len() && out[k].0.id == post.thread {
            out[k].1.push(post);
        }
    }
    out
}

/// Up to `limit` live threads with ids above `after`, with their visible posts: the full
/// rebuild's chunks, in id order.
pub async fn thread_chunk_for_index<C: Conn>(
    conn: &mut C,
    after: ThreadId,
    limit: usize,
) -> Result<Vec<(IndexThreadRow, Vec<IndexPostRow>)>, StoreError> {
    let dialect = conn.dialect();
    let last_sql = format!(
        "SELECT MAX(id) FROM (SELECT id FROM threads WHERE id > ?1 ORDER BY id LIMIT {limit}) chunk"
    );
    let Some(last) = conn
        .query_one(&last_sql, params![after.0])
        .await?
        .opt_int(0)?
    else {
        return Ok(Vec::new());
    };
    let threads_sql = format!(
        "SELECT {} FROM threads t JOIN subtopics s ON s.id = t.subtopic_id \
         WHERE t.id > ?1 AND t.id <= ?2 AND t.removed_at IS NULL ORDER BY t.id",
        thread_columns(dialect)
    );
    let posts_sql = format!(
        "SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id \
         WHERE p.thread_id > ?1 AND p.thread_id <= ?2 AND p.deleted_at IS NULL AND p.hidden_at IS NULL \
         ORDER BY p.thread_id, p.position"
    );
    let threads = collect(
        conn.query(&threads_sql, params![after.0, last]).await?,
        read_thread,
    )?;
    let posts = collect(
        conn.query(&posts_sql, params![after.0, last]).await?,
        read_post,
    )?;
    let mut out = attach(threads, posts);
    if out.is_empty() {
        // Every thread in the chunk was removed: hand back a marker so the caller moves on.
        out.push((
            IndexThreadRow {
                id: ThreadId(last),
                title: String::new(),
                subtopic: String::new(),
                tags: Vec::new(),
                created_at: Timestamp::from_micros(0),
                accepted_post: None,
                recommended_post: None,
                staff_answered: false,
                locked: false,
                reply_count: 0,
                removed: true,
                head_post: None,
            },
            Vec::new(),
        ));
    }
    Ok(out)
}

/// The ids of each thread's `best` most boosted visible replies (the earliest first among
/// equals), its opening post and accepted and recommended answers left out: with those, what
/// a thread's whole search document is made of.
pub async fn best_reply_ids<C: Conn>(
    conn: &mut C,
    ids: &[ThreadId],
    best: usize,
) -> Result<Vec<PostId>, StoreError> {
    let sql = format!(
        "SELECT id FROM (SELECT b.id, ROW_NUMBER() OVER (PARTITION BY b.thread_id \
         ORDER BY b.boost_count DESC, b.position) AS n FROM posts b JOIN threads t ON t.id = b.thread_id \
         WHERE b.thread_id IN ({}) AND b.position > 0 AND b.deleted_at IS NULL AND b.hidden_at IS NULL \
         AND b.id <> COALESCE(t.accepted_post_id, 0) AND b.id <> COALESCE(t.recommended_post_id, 0)) ranked \
         WHERE n <= {best}",
        id_list(1)
    );
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_LIST) {
        let raw: Vec<i64> = chunk.iter().map(|t| t.0).collect();
        out.extend(collect(conn.query(&sql, &padded(&raw)).await?, |row| {
            Ok(PostId(row.int(0)?))
        })?);
    }
    Ok(out)
}

/// Posts by id (any visibility, marked), with their threads' facts.
pub async fn posts_for_index<C: Conn>(
    conn: &mut C,
    ids: &[PostId],
) -> Result<Vec<IndexPostRow>, StoreError> {
    let sql = format!(
        "SELECT {POST_COLUMNS} FROM posts p JOIN users u ON u.id = p.author_id WHERE p.id IN ({})",
        id_list(1)
    );
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_LIST) {
        let raw: Vec<i64> = chunk.iter().map(|p| p.0).collect();
        out.extend(collect(conn.query(&sql, &padded(&raw)).await?, read_post)?);
    }
    Ok(out)
}

/// Listing summaries of live threads among `ids` (any order; removed ones left out).
pub async fn live_summaries<C: Conn>(
    conn: &mut C,
    ids: &[ThreadId],
) -> Result<Vec<ThreadSummary>, StoreError> {
    let sql = format!(
        "SELECT {} FROM threads t {} WHERE t.id IN ({}) AND t.removed_at IS NULL",
        sql::summary_columns(conn.dialect()),
        sql::SUMMARY_JOINS,
        id_list(1)
    );
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_LIST) {
        let raw: Vec<i64> = chunk.iter().map(|t| t.0).collect();
        out.extend(collect(
            conn.query(&sql, &padded(&raw)).await?,
            read_summary,
        )?);
    }
    Ok(out)
}

/// The visible posts among `ids`, as (post, thread, position, stored HTML); the HTML only when
/// `with_html` (a snippet needs it; a visibility check does not), empty otherwise.
pub async fn visible_posts<C: Conn>(
    conn: &mut C,
    ids: &[PostId],
    with_html: bool,
) -> Result<Vec<(PostId, ThreadId, i64, String)>, StoreError> {
    let html = if with_html { "p.body_html" } else { "''" };
    let sql = format!(
        "SELECT p.id, p.thread_id, p.position, {html} FROM posts p \
         WHERE p.id IN ({}) AND p.deleted_at IS NULL AND p.hidden_at IS NULL",
        id_list(1)
    );
    let mut out = Vec::new();
    for chunk in ids.chunks(ID_LIST) {
        let raw: Vec<i64> = chunk.iter().map(|p| p.0).collect();
        out.extend(collect(conn.query(&sql, &padded(&raw)).await?, |row| {
            Ok((
                PostId(row.int(0)?),
                ThreadId(row.int(1)?),
                row.int(2)?,
                row.text(3)?,
            ))
        })?);
    }
    Ok(out)
}

/// Posts written, deleted and hidden ones included (a progress bar's length).
pub async fn post_count<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    conn.query_one("SELECT COUNT(*) FROM posts", &[])
        .await?
        .int(0)
}

/// A thread's related threads as the search index found them: (thread, the post that
/// matched), best first.
pub type RelatedList = Vec<(ThreadId, PostId)>;

/// A thread that needs its related threads found: its id, title and opening excerpt.
pub type RelatedSource = (ThreadId, String, String);

fn encode_related(list: &RelatedList) -> String {
    list.iter()
        .map(|(t, p)| format!("{}:{}", t.0, p.0))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The stored form back; pairs that do not parse (none are written) are left out.
fn decode_related(text: &str) -> RelatedList {
    text.split_ascii_whitespace()
        .filter_map(|pair| {
            let (t, p) = pair.split_once(':')?;
            Some((ThreadId(t.parse().ok()?), PostId(p.parse().ok()?)))
        })
        .collect()
}

/// A thread's stored related threads and when they were found; `None` if never.
pub async fn related_of<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<Option<(RelatedList, Timestamp)>, StoreError> {
    let Some(row) = conn
        .query_opt(
            "SELECT related, computed_at FROM related_threads WHERE thread_id = ?1",
            params![thread.0],
        )
        .await?
    else {
        return Ok(None);
    };
    Ok(Some((
        decode_related(&row.text(0)?),
        Timestamp::from_micros(row.int(1)?),
    )))
}

/// Keeps threads' related threads, found at `at` (replacing what was kept).
pub async fn save_related<C: Conn>(
    conn: &mut C,
    lists: &[(ThreadId, RelatedList)],
    at: Timestamp,
) -> Result<(), StoreError> {
    for (thread, list) in lists {
        conn.execute(
            "INSERT INTO related_threads (thread_id, related, computed_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (thread_id) DO UPDATE SET related = excluded.related, \
             computed_at = excluded.computed_at",
            params![thread.0, encode_related(list), at.micros()],
        )
        .await?;
    }
    Ok(())
}

/// Forgets threads' related threads (their title or opening changed): found again when next
/// shown.
pub async fn forget_related<C: Conn>(conn: &mut C, threads: &[ThreadId]) -> Result<(), StoreError> {
    for thread in threads {
        conn.execute(
            "DELETE FROM related_threads WHERE thread_id = ?1",
            params![thread.0],
        )
        .await?;
    }
    Ok(())
}

fn related_sources(rows: Vec<crate::db::Row>) -> Result<Vec<RelatedSource>, StoreError> {
    rows.iter()
        .map(|r| Ok((ThreadId(r.int(0)?), r.text(1)?, r.text(2)?)))
        .collect()
}

/// The newest thread's id (0 when there is none).
pub async fn newest_thread_id<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    conn.query_one("SELECT COALESCE(MAX(id), 0) FROM threads", &[])
        .await?
        .int(0)
}

/// Live threads whose related threads were never found, newest first, with ids below `before`
/// (the caller's place in the sweep) and above `above`, at most `limit`.
pub async fn threads_without_related<C: Conn>(
    conn: &mut C,
    before: i64,
    above: i64,
    limit: i64,
) -> Result<Vec<RelatedSource>, StoreError> {
    let rows = conn
        .query(
            "SELECT t.id, t.title, t.excerpt FROM threads t \
             WHERE t.id < ?1 AND t.id > ?3 AND t.removed_at IS NULL \
             AND NOT EXISTS (SELECT 1 FROM related_threads r WHERE r.thread_id = t.id) \
             ORDER BY t.id DESC LIMIT ?2",
            params![before, limit, above],
        )
        .await?;
    related_sources(rows)
}

/// Live threads whose related threads were found before `older_than`, oldest first, at most
/// `limit`.
pub async fn threads_with_stale_related<C: Conn>(
    conn: &mut C,
    older_than: Timestamp,
    limit: i64,
) -> Result<Vec<RelatedSource>, StoreError> {
    let rows = conn
        .query(
            "SELECT t.id, t.title, t.excerpt FROM related_threads r \
             JOIN threads t ON t.id = r.thread_id \
             WHERE r.computed_at < ?1 AND t.removed_at IS NULL \
             ORDER BY r.computed_at LIMIT ?2",
            params![older_than.micros(), limit],
        )
        .await?;
    related_sources(rows)
}

#[cfg(test)]
mod related_tests {
    use super::*;

    #[test]
    fn related_lists_survive_their_stored_form() {
        let list = vec![(ThreadId(12), PostId(340)), (ThreadId(7), PostId(7))];
        assert_eq!(decode_related(&encode_related(&list)), list);
        assert_eq!(decode_related(""), Vec::new());
        assert_eq!(
            decode_related("3:4 junk 5:x 6:7"),
            vec![(ThreadId(3), PostId(4)), (ThreadId(6), PostId(7))]
        );
    }
}
