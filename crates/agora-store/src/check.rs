//! `agora db check`: what is wrong in an existing forum's data, and how to fix it. Text that
//! no form would accept now (NUL and other control characters, from before forms refused
//! them), counters that disagree with the rows they count, and rows whose parent is gone.
//! Read-only; [`recount`] repairs the counters when asked (`--fix`), nothing else.

use crate::StoreError;
use crate::db::{Conn, params};

/// One thing wrong, where, and what to do about it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// `control_character`, `counter` or `orphan`.
    pub kind: &'static str,
    /// `table.column`.
    pub place: String,
    /// The row's id (for revisions, the post's).
    pub id: i64,
    pub detail: String,
    pub fix: String,
}

/// Text columns checked for characters forms refuse: (table, id column, column). What people
/// typed, not what was derived from it (rendered HTML and excerpts may hold a DEL or C1
/// character from a `&#127;` reference, which the source does not), nor revisions (history
/// keeps its text, so a finding there could never be cleared).
const TEXT_COLUMNS: &[(&str, &str, &str)] = &[
    ("areas", "id", "name"),
    ("areas", "id", "description"),
    ("subtopics", "id", "name"),
    ("subtopics", "id", "description"),
    ("subtopics", "id", "docs_url"),
    ("tags", "id", "name"),
    ("tags", "id", "description"),
    ("users", "id", "username"),
    ("users", "id", "display_name"),
    ("users", "id", "staff_title"),
    ("users", "id", "signature_md"),
    ("users", "id", "email"),
    ("users", "id", "suspend_reason"),
    ("threads", "id", "title"),
    ("threads", "id", "lock_reason"),
    ("posts", "id", "body_md"),
    ("posts", "id", "hidden_reason"),
    ("api_tokens", "id", "name"),
    ("flags", "id", "reason"),
    ("flags", "id", "resolution"),
    ("audit_log", "id", "details"),
];

/// Rows read per query while scanning text.
const CHUNK: usize = 2_000;

/// The first character no text in the forum may hold: NUL and the other control characters
/// (C0, DEL, C1) except tab, line feed and carriage return. The one definition: forms, the API,
/// archive import and `db check` all ask it.
pub fn forbidden_char(text: &str) -> Option<char> {
    text.chars()
        .find(|&c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
}

fn text_fix(table: &str, id: i64) -> String {
    match table {
        "posts" | "post_revisions" => format!(
            "edit post {id} in the forum (/posts/{id}/edit): the form refuses the character, so \
             saving without it removes it; older revisions keep their text"
        ),
        "threads" => format!("retitle thread {id} (moderator controls on /thread/{id})"),
        "users" => "the member (or an administrator) edits the profile in Settings".into(),
        "api_tokens" => format!("revoke token {id} and create a new one"),
        _ => "edit the record in the forum, or export, correct the archive and import".into(),
    }
}

async fn scan_text<C: Conn>(conn: &mut C, out: &mut Vec<Finding>) -> Result<(), StoreError> {
    for &(table, id_column, column) in TEXT_COLUMNS {
        let sql = format!(
            "SELECT {id_column}, {column} FROM {table} WHERE {id_column} > ?1 AND {column} IS NOT NULL \
             ORDER BY {id_column} LIMIT {CHUNK}"
        );
        let mut after = 0i64;
        let mut seen_last = None;
        loop {
            let rows = conn.query(&sql, params![after]).await?;
            let count = rows.len();
            for row in &rows {
                let id = row.int(0)?;
                after = after.max(id);
                if let Some(c) = forbidden_char(&row.text(1)?)
                    && seen_last != Some(id)
                {
                    seen_last = Some(id);
                    out.push(Finding {
                        kind: "control_character",
                        place: format!("{table}.{column}"),
                        id,
                        detail: format!("holds the control character U+{:04X}", c as u32),
                        fix: text_fix(table, id),
                    });
                }
            }
            // Revisions share a post id: stepping by id can skip a post's later revisions
            // only when a chunk ends inside them, which at worst leaves one unreported.
            if count < CHUNK {
                break;
            }
        }
    }
    Ok(())
}

/// Counter checks: (what, SQL returning id, stored, actual for each disagreeing row).
/// Subtopics' counters count their deltas not folded yet (`count_deltas`, PostgreSQL only).
const COUNTERS: &[(&str, &str)] = &[
    (
        "threads.reply_count",
        "SELECT t.id, t.reply_count, (SELECT COUNT(*) FROM posts p WHERE p.thread_id = t.id \
         AND p.position > 0 AND p.deleted_at IS NULL AND p.hidden_at IS NULL) AS actual \
         FROM threads t",
    ),
    (
        "threads.last_position",
        "SELECT t.id, t.last_position, (SELECT COALESCE(MAX(p.position), 0) FROM posts p \
         WHERE p.thread_id = t.id) AS actual FROM threads t",
    ),
    (
        "threads.boost_count",
        "SELECT t.id, t.boost_count, COALESCE((SELECT p.boost_count FROM posts p \
         WHERE p.thread_id = t.id AND p.position = 0), 0) AS actual FROM threads t",
    ),
    (
        "subtopics.thread_count",
        "SELECT s.id, s.thread_count + (SELECT CAST(COALESCE(SUM(d.threads), 0) AS BIGINT) \
         FROM count_deltas d WHERE d.subtopic_id = s.id) AS thread_count, \
         (SELECT COUNT(*) FROM threads t WHERE t.subtopic_id = s.id \
         AND t.removed_at IS NULL) AS actual FROM subtopics s",
    ),
    (
        "subtopics.post_count",
        "SELECT s.id, s.post_count + (SELECT CAST(COALESCE(SUM(d.posts), 0) AS BIGINT) \
         FROM count_deltas d WHERE d.subtopic_id = s.id) AS post_count, \
         (SELECT CAST(COALESCE(SUM(t.reply_count + 1), 0) AS BIGINT) FROM threads t \
         WHERE t.subtopic_id = s.id AND t.removed_at IS NULL) AS actual FROM subtopics s",
    ),
    (
        "tags.thread_count",
        "SELECT g.id, g.thread_count, (SELECT COUNT(*) FROM thread_tags tt WHERE tt.tag_id = g.id \
         AND tt.visible = TRUE) AS actual FROM tags g",
    ),
    (
        "posts.reply_count",
        "SELECT p.id, p.reply_count, (SELECT COUNT(*) FROM posts r WHERE r.reply_to = p.id \
         AND r.deleted_at IS NULL AND r.hidden_at IS NULL) AS actual FROM posts p",
    ),
];

async fn check_counters<C: Conn>(conn: &mut C, out: &mut Vec<Finding>) -> Result<(), StoreError> {
    for &(place, inner) in COUNTERS {
        let sql = format!(
            "SELECT * FROM ({inner}) c WHERE c.actual <> c.{}",
            counter_column(place)
        );
        for row in conn.query(&sql, &[]).await? {
            out.push(Finding {
                kind: "counter",
                place: place.to_string(),
                id: row.int(0)?,
                detail: format!("is {}, but the rows say {}", row.int(1)?, row.int(2)?),
                fix: "run `agora db check --fix` to recount".into(),
            });
        }
    }
    Ok(())
}

fn counter_column(place: &str) -> &str {
    place.split_once('.').map_or(place, |(_, c)| c)
}

/// Rows whose parent is gone (possible only where foreign keys were not enforced).
const ORPHANS: &[(&str, &str, &str)] = &[
    (
        "posts.thread_id",
        "SELECT p.id FROM posts p WHERE NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = p.thread_id)",
        "delete the post rows, or export (which fails naming them) and repair the archive",
    ),
    (
        "threads.subtopic_id",
        "SELECT t.id FROM threads t WHERE NOT EXISTS (SELECT 1 FROM subtopics s WHERE s.id = t.subtopic_id)",
        "move the thread to an existing subtopic",
    ),
    (
        "threads.opening_post",
        "SELECT t.id FROM threads t WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.thread_id = t.id AND p.position = 0)",
        "the thread has no opening post: restore one from a backup or delete the thread's rows",
    ),
    (
        "thread_tags.tag_id",
        "SELECT tt.thread_id FROM thread_tags tt WHERE NOT EXISTS (SELECT 1 FROM tags g WHERE g.id = tt.tag_id)",
        "delete the thread_tags rows naming a missing tag",
    ),
    (
        "post_revisions.post_id",
        "SELECT r.post_id FROM post_revisions r WHERE NOT EXISTS (SELECT 1 FROM posts p WHERE p.id = r.post_id)",
        "delete the revisions of the missing post",
    ),
];

async fn check_orphans<C: Conn>(conn: &mut C, out: &mut Vec<Finding>) -> Result<(), StoreError> {
    for &(place, sql, fix) in ORPHANS {
        for row in conn.query(sql, &[]).await? {
            out.push(Finding {
                kind: "orphan",
                place: place.to_string(),
                id: row.int(0)?,
                detail: "points at a row that does not exist".into(),
                fix: fix.into(),
            });
        }
    }
    Ok(())
}

/// Everything wrong, in the order: text, counters, orphans.
pub async fn check<C: Conn>(conn: &mut C) -> Result<Vec<Finding>, StoreError> {
    let mut out = Vec::new();
    scan_text(conn, &mut out).await?;
    check_counters(conn, &mut out).await?;
    check_orphans(conn, &mut out).await?;
    Ok(out)
}

/// Sets every counter to what the rows say (one transaction, the caller's).
pub async fn recount<C: Conn>(conn: &mut C) -> Result<(), StoreError> {
    crate::queries::hold_folds(conn).await?;
    for sql in [
        "UPDATE threads SET reply_count = (SELECT COUNT(*) FROM posts p WHERE p.thread_id = threads.id \
         AND p.position > 0 AND p.deleted_at IS NULL AND p.hidden_at IS NULL)",
        "UPDATE threads SET boost_count = COALESCE((SELECT p.boost_count FROM posts p \
         WHERE p.thread_id = threads.id AND p.position = 0), 0)",
    ] {
        conn.execute(sql, &[]).await?;
    }
    for sql in crate::sql::RECOUNT {
        conn.execute(sql, &[]).await?;
    }
    // System work: no account asked for it.
    crate::queries::append_change(conn, crate::ChangeKind::ForumRecounted, None, None, None)
        .await?;
    Ok(())
}
