//! Writing and moderation, written once against [`Conn`]: threads, replies, edits, deletion,
//! boosts, answers, locks, pins, moves, hiding, flags and the audit log. Each function runs
//! inside the caller's transaction and keeps the stored counters right; rules about *who* may
//! do what live in the application's permissions module, not here.

use crate::db::{Conn, Dialect, Query, Row, Value, params};
use crate::model::*;
use crate::queries::{append_change, append_change_along};
use crate::{StoreError, slugify, sql};

fn ts(v: i64) -> Timestamp {
    Timestamp::from_micros(v)
}

const THREAD_FACTS: &str = "t.id, t.slug, t.title, t.kind, t.author_id, t.subtopic_id, \
     t.locked_at IS NOT NULL, t.removed_at IS NOT NULL, t.pin_scope, t.accepted_post_id, \
     t.recommended_post_id";
const THREAD_FACTS_WIDTH: usize = 11;

fn read_thread_facts(row: &Row, at: usize, tags: Vec<TagId>) -> Result<ThreadFacts, StoreError> {
    Ok(ThreadFacts {
        id: ThreadId(row.int(at)?),
        slug: row.text(at + 1)?,
        title: row.text(at + 2)?,
        kind: row.parse(at + 3)?,
        author: UserId(row.int(at + 4)?),
        subtopic: SubtopicId(row.int(at + 5)?),
        locked: row.bool(at + 6)?,
        removed: row.bool(at + 7)?,
        pin_scope: row.opt_parse(at + 8)?,
        accepted_post: row.opt_int(at + 9)?.map(PostId),
        recommended_post: row.opt_int(at + 10)?.map(PostId),
        tags,
    })
}

/// What the write paths and permission checks need of a thread: its row and its tags, read in
/// one batch (one round trip on PostgreSQL).
pub async fn thread_facts<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<Option<ThreadFacts>, StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("SELECT {THREAD_FACTS} FROM threads t WHERE t.id = ?1")
    });
    let Some((row, tags)) = with_tags(
        conn,
        Query::new(SQL.as_str(), params![thread.0]),
        Query::new(
            "SELECT tag_id FROM thread_tags WHERE thread_id = ?1 ORDER BY tag_id",
            params![thread.0],
        ),
    )
    .await?
    else {
        return Ok(None);
    };
    read_thread_facts(&row, 0, tags).map(Some)
}

/// A row of facts (`facts`, its first row) and a thread's tag ids (`tags`), read in one batch;
/// None when there is no such row.
async fn with_tags<C: Conn>(
    conn: &mut C,
    facts: Query,
    tags: Query,
) -> Result<Option<(Row, Vec<TagId>)>, StoreError> {
    let mut answers = conn.query_batch(&[facts, tags]).await?.into_iter();
    let (Some(facts), Some(tags)) = (answers.next(), answers.next()) else {
        return Err(StoreError::Internal(
            "a read of the batch is missing".into(),
        ));
    };
    let Some(row) = facts.into_iter().next() else {
        return Ok(None);
    };
    let tags = tags
        .iter()
        .map(|r| Ok(TagId(r.int(0)?)))
        .collect::<Result<_, StoreError>>()?;
    Ok(Some((row, tags)))
}

/// A post with its thread's facts and tags, in one batch.
pub async fn post_facts<C: Conn>(
    conn: &mut C,
    post: PostId,
) -> Result<Option<PostFacts>, StoreError> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "SELECT {THREAD_FACTS}, p.id, p.position, p.author_id, u.username, p.body_md, \
             p.deleted_at IS NOT NULL, p.hidden_at IS NOT NULL, \
             EXISTS (SELECT 1 FROM posts o WHERE o.thread_id = p.thread_id AND o.position > 0 \
                     AND o.author_id <> p.author_id AND o.deleted_at IS NULL), \
             p.reply_to, p.hidden_reason \
             FROM posts p JOIN threads t ON t.id = p.thread_id JOIN users u ON u.id = p.author_id \
             WHERE p.id = ?1"
        )
    });
    let Some((row, tags)) = with_tags(
        conn,
        Query::new(SQL.as_str(), params![post.0]),
        Query::new(
            "SELECT tag_id FROM thread_tags \
             WHERE thread_id = (SELECT thread_id FROM posts WHERE id = ?1) ORDER BY tag_id",
            params![post.0],
        ),
    )
    .await?
    else {
        return Ok(None);
    };
    let w = THREAD_FACTS_WIDTH;
    Ok(Some(PostFacts {
        thread: read_thread_facts(&row, 0, tags)?,
        id: PostId(row.int(w)?),
        position: row.int(w + 1)?,
        author: UserId(row.int(w + 2)?),
        author_name: row.text(w + 3)?,
        body_md: row.text(w + 4)?,
        deleted: row.bool(w + 5)?,
        hidden: row.bool(w + 6)?,
        others_replied: row.bool(w + 7)?,
        reply_to: row.opt_int(w + 8)?.map(PostId),
        hidden_reason: row.opt_text(w + 9)?,
    }))
}

/// Ids of subtopics and tags by their slugs, for forms.
pub async fn subtopic_id<C: Conn>(
    conn: &mut C,
    area: &str,
    subtopic: &str,
) -> Result<Option<SubtopicId>, StoreError> {
    conn.query_opt(
        "SELECT s.id FROM subtopics s JOIN areas a ON a.id = s.area_id \
         WHERE a.slug = ?1 AND s.slug = ?2",
        params![area, subtopic],
    )
    .await?
    .map(|r| r.int(0).map(SubtopicId))
    .transpose()
}

pub async fn tag_ids<C: Conn>(
    conn: &mut C,
    slugs: &[String],
) -> Result<Vec<(String, TagId)>, StoreError> {
    let mut out = Vec::new();
    for slug in slugs {
        if let Some(row) = conn
            .query_opt(
                "SELECT id FROM tags WHERE slug = ?1",
                params![slug.as_str()],
            )
            .await?
        {
            out.push((slug.clone(), TagId(row.int(0)?)));
        }
    }
    Ok(out)
}

/// How many posts a user wrote since `since`, counting no further than `cap` (new accounts'
/// first-day limit only asks whether the cap is reached; counting every post would make each
/// new post slower than the last).
pub async fn posts_since<C: Conn>(
    conn: &mut C,
    user: UserId,
    since: Timestamp,
    cap: i64,
) -> Result<i64, StoreError> {
    // The cap is written into the SQL (an integer, never text): SQLite re-prepares a statement
    // whose LIMIT is bound, at every execution.
    let sql = format!(
        "SELECT COUNT(*) FROM (SELECT 1 FROM posts WHERE author_id = ?1 AND created_at >= ?2 \
         LIMIT {}) capped",
        cap.max(0)
    );
    conn.query_one(&sql, params![user.0, since.micros()])
        .await?
        .int(0)
}

async fn insert_revision<C: Conn>(
    conn: &mut C,
    post: PostId,
    revision: i64,
    author: UserId,
    at: i64,
    reason: Option<&str>,
    body_md: &str,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO post_revisions (post_id, revision, author_id, created_at, reason, body_md) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![post.0, revision, author.0, at, reason, body_md],
    )
    .await?;
    Ok(())
}

/// What a new post adds to its subtopic's counters (`posts` is 0 for a reply in a removed
/// thread, which its subtopic does not count) and to its author's, with the time of the
/// activity. On SQLite the rows are updated in place. On PostgreSQL a delta row is added
/// instead, folded in when changes settle: otherwise every write in one subtopic, or by one
/// member, would wait for the one before it to commit, its row lock held through the commit's
/// flush to disk. Readers add the deltas not folded yet (see `sql::subtopic_columns`).
fn count_changes(
    dialect: Dialect,
    subtopic: i64,
    author: UserId,
    posts: i64,
    threads: i64,
    at: i64,
) -> Vec<Query> {
    if dialect == Dialect::Postgres {
        // One row for both, unless the subtopic does not count the post (the author does).
        if posts == 1 {
            return vec![Query::new(
                sql::ADD_COUNT_DELTA,
                params![subtopic, author.0, 1, threads, at],
            )];
        }
        return vec![
            Query::new(
                sql::ADD_COUNT_DELTA,
                params![subtopic, None::<i64>, posts, threads, at],
            ),
            Query::new(
                sql::ADD_COUNT_DELTA,
                params![None::<i64>, author.0, 1, threads, at],
            ),
        ];
    }
    vec![
        Query::new(
            "UPDATE subtopics SET thread_count = thread_count + ?3, post_count = post_count + ?2, \
             last_activity_at = ?4 WHERE id = ?1",
            params![subtopic, posts, threads, at],
        ),
        Query::new(
            "UPDATE users SET post_count = post_count + 1, thread_count = thread_count + ?2 \
             WHERE id = ?1",
            params![author.0, threads],
        ),
    ]
}

/// Starts a thread with its opening post. Returns the thread and post. A post's history starts
/// at its first edit, which records the original as revision 1 (as the archive format has it).
pub async fn create_thread<C: Conn>(
    conn: &mut C,
    new: &NewThread,
) -> Result<(ThreadId, PostId), StoreError> {
    let now = Timestamp::now().micros();
    let thread = ThreadId(
        conn.query_one(
            "INSERT INTO threads (subtopic_id, slug, title, kind, author_id, excerpt, created_at, \
             last_activity_at, last_poster_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?5) \
             RETURNING id",
            params![
                new.subtopic.0,
                slugify(&new.title),
                new.title.as_str(),
                new.kind.as_str(),
                new.author.0,
                new.excerpt.as_str(),
                now
            ],
        )
        .await?
        .int(0)?,
    );
    for tag in &new.tags {
        conn.execute(sql::INSERT_THREAD_TAG, params![thread.0, tag.0, now, now])
            .await?;
        conn.execute(
            "UPDATE tags SET thread_count = thread_count + 1 WHERE id = ?1",
            params![tag.0],
        )
        .await?;
    }
    let post = PostId(
        conn.query_one(
            "INSERT INTO posts (thread_id, position, author_id, body_md, body_html, created_at) \
             VALUES (?1, 0, ?2, ?3, ?4, ?5) RETURNING id",
            params![
                thread.0,
                new.author.0,
                new.body_md.as_str(),
                new.body_html.as_str(),
                now
            ],
        )
        .await?
        .int(0)?,
    );
    let mut along = Vec::with_capacity(4);
    along.extend(crate::uploads::link_query(post, &new.body_md));
    along.extend(count_changes(
        conn.dialect(),
        new.subtopic.0,
        new.author,
        1,
        1,
        now,
    ));
    // The author's draft of it has done its work: gone if and only if the thread is there.
    along.push(crate::drafts::delete_at(
        new.author,
        crate::DraftPlace::NewThread,
    ));
    append_change_along(
        conn,
        along,
        ChangeKind::ThreadCreated,
        Some(new.author),
        Some(thread),
        Some(post),
    )
    .await?;
    Ok((thread, post))
}

/// Adds a reply at the end of a thread. The position comes from the thread row's counter,
/// updated first: on PostgreSQL its row lock orders concurrent replies. Two round trips on
/// PostgreSQL between BEGIN and COMMIT (there were seven): the counter and the post, which
/// takes its position from it, are sent together; then the post's id is known and everything
/// else goes in one batch with the change-log entry (`append_change_along`).
pub async fn create_reply<C: Conn>(
    conn: &mut C,
    new: &NewReply,
) -> Result<(PostId, i64), StoreError> {
    let now = Timestamp::now().micros();
    let answers = conn
        .query_batch(&[
            Query::new(
                "UPDATE threads SET reply_count = reply_count + 1, \
                 last_position = last_position + 1, last_activity_at = ?2, last_poster_id = ?3, \
                 staff_answered = (staff_answered OR ?4) \
                 WHERE id = ?1 RETURNING subtopic_id, last_position, removed_at IS NULL",
                params![new.thread.0, now, new.author.0, new.author_is_staff],
            ),
            // The position the update just gave; no row, so no post, when there is no thread.
            Query::new(
                "INSERT INTO posts (thread_id, position, author_id, body_md, body_html, \
                 created_at, reply_to) SELECT id, last_position, ?2, ?3, ?4, ?5, ?6 \
                 FROM threads WHERE id = ?1 RETURNING id",
                params![
                    new.thread.0,
                    new.author.0,
                    new.body_md.as_str(),
                    new.body_html.as_str(),
                    now,
                    new.reply_to.map(|p| p.0)
                ],
            ),
        ])
        .await?;
    let (Some(row), Some(inserted)) = (
        answers.first().and_then(|rows| rows.first()),
        answers.get(1).and_then(|rows| rows.first()),
    ) else {
        return Err(StoreError::Invalid(format!("no thread {}", new.thread)));
    };
    let (subtopic, position, visible) = (row.int(0)?, row.int(1)?, row.bool(2)?);
    let post = PostId(inserted.int(0)?);
    let mut along = Vec::with_capacity(6);
    along.extend(crate::uploads::link_query(post, &new.body_md));
    // The post answered counts its visible replies; this one is visible.
    if let Some(answered) = new.reply_to {
        along.push(Query::new(
            "UPDATE posts SET reply_count = reply_count + 1 WHERE id = ?1",
            params![answered.0],
        ));
    }
    along.push(Query::new(
        "UPDATE thread_tags SET last_activity_at = ?2 WHERE thread_id = ?1",
        params![new.thread.0, now],
    ));
    // A removed thread's posts are not in its subtopic's count (restoring it adds them all).
    along.extend(count_changes(
        conn.dialect(),
        subtopic,
        new.author,
        i64::from(visible),
        0,
        now,
    ));
    // The author's draft of it has done its work: gone if and only if the reply is there.
    along.push(crate::drafts::delete_at(
        new.author,
        crate::DraftPlace::Reply(new.thread),
    ));
    append_change_along(
        conn,
        along,
        ChangeKind::PostCreated,
        Some(new.author),
        Some(new.thread),
        Some(post),
    )
    .await?;
    Ok((post, position))
}

/// Replaces a post's text, keeping the old text as a revision. Posts imported without a
/// revision history get their original recorded as revision 1 first.
pub async fn edit_post<C: Conn>(conn: &mut C, edit: &PostEdit) -> Result<(), StoreError> {
    let now = Timestamp::now().micros();
    // Two edits of one post at once would both read the same last revision number and the
    // second insert would fail: they take turns, and the read below sees the first one's.
    lock_post_row(conn, edit.post).await?;
    let Some(post) = conn
        .query_opt(
            "SELECT thread_id, author_id, created_at, body_md, \
             (SELECT COALESCE(MAX(revision), 0) FROM post_revisions r WHERE r.post_id = p.id) \
             FROM posts p WHERE p.id = ?1",
            params![edit.post.0],
        )
        .await?
    else {
        return Err(StoreError::Invalid(format!("no post {}", edit.post)));
    };
    let thread = ThreadId(post.int(0)?);
    let mut last = post.int(4)?;
    if last == 0 {
        insert_revision(
            conn,
            edit.post,
            1,
            UserId(post.int(1)?),
            post.int(2)?,
            None,
            &post.text(3)?,
        )
        .await?;
        last = 1;
    }
    insert_revision(
        conn,
        edit.post,
        last + 1,
        edit.editor,
        now,
        edit.reason.as_deref(),
        &edit.body_md,
    )
    .await?;
    conn.execute(
        "UPDATE posts SET body_md = ?2, body_html = ?3, edited_at = ?4 WHERE id = ?1",
        params![
            edit.post.0,
            edit.body_md.as_str(),
            edit.body_html.as_str(),
            now
        ],
    )
    .await?;
    crate::uploads::link_uploads(conn, edit.post, &edit.body_md).await?;
    if let Some(excerpt) = &edit.excerpt {
        conn.execute(
            "UPDATE threads SET excerpt = ?2 WHERE id = ?1",
            params![thread.0, excerpt.as_str()],
        )
        .await?;
    }
    append_change(
        conn,
        ChangeKind::PostEdited,
        Some(edit.editor),
        Some(thread),
        Some(edit.post),
    )
    .await?;
    Ok(())
}

/// Takes a thread out of every listing (its opening post was deleted or hidden), or puts it
/// back. Counters follow.
async fn set_thread_removed<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    removed: bool,
) -> Result<(), StoreError> {
    let now = Timestamp::now().micros();
    let changed = if removed {
        conn.execute(
            "UPDATE threads SET removed_at = ?2 WHERE id = ?1 AND removed_at IS NULL",
            params![thread.0, now],
        )
        .await?
    } else {
        conn.execute(
            "UPDATE threads SET removed_at = NULL WHERE id = ?1 AND removed_at IS NOT NULL",
            params![thread.0],
        )
        .await?
    };
    if changed == 0 {
        return Ok(());
    }
    let delta: i64 = if removed { -1 } else { 1 };
    conn.execute(
        "UPDATE thread_tags SET visible = ?2 WHERE thread_id = ?1",
        params![thread.0, !removed],
    )
    .await?;
    conn.execute(
        "UPDATE tags SET thread_count = thread_count + ?2 \
         WHERE id IN (SELECT tag_id FROM thread_tags WHERE thread_id = ?1)",
        params![thread.0, delta],
    )
    .await?;
    conn.execute(
        "UPDATE subtopics SET thread_count = thread_count + ?2, \
         post_count = post_count + ?2 * (SELECT reply_count + 1 FROM threads WHERE id = ?1) \
         WHERE id = (SELECT subtopic_id FROM threads WHERE id = ?1)",
        params![thread.0, delta],
    )
    .await?;
    Ok(())
}

/// Counts a reply in or out of its thread's reply count, and its subtopic's post count while
/// the thread is listed, and of the reply count of the post it answers, if any. Invariants: a
/// subtopic's post_count is the sum of reply_count + 1 over its threads that are not removed;
/// a post's reply_count is the number of its answers neither deleted nor hidden.
async fn count_reply<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    post: PostId,
    delta: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE posts SET reply_count = reply_count + ?2 \
         WHERE id = (SELECT reply_to FROM posts WHERE id = ?1)",
        params![post.0, delta],
    )
    .await?;
    let row = conn
        .query_one(
            "UPDATE threads SET reply_count = reply_count + ?2 WHERE id = ?1 \
             RETURNING subtopic_id, removed_at IS NULL",
            params![thread.0, delta],
        )
        .await?;
    if row.bool(1)? {
        conn.execute(
            "UPDATE subtopics SET post_count = post_count + ?2 WHERE id = ?1",
            params![row.int(0)?, delta],
        )
        .await?;
    }
    Ok(())
}

/// On PostgreSQL, locks the thread's row until commit, so that facts read next are current and
/// concurrent writes to one thread (a delete and a hide, two moves) take turns. SQLite's single
/// writer already serialises them.
async fn lock_thread_row<C: Conn>(conn: &mut C, thread: ThreadId) -> Result<(), StoreError> {
    lock_row(
        conn,
        "SELECT id FROM threads WHERE id = ?1 FOR UPDATE",
        thread.0,
    )
    .await
}

/// On PostgreSQL, locks the post's row until commit (as [`lock_thread_row`] does a thread's):
/// concurrent writes to one post take turns, and each reads what the one before wrote (a new
/// statement, a new snapshot).
async fn lock_post_row<C: Conn>(conn: &mut C, post: PostId) -> Result<(), StoreError> {
    lock_row(
        conn,
        "SELECT id FROM posts WHERE id = ?1 FOR UPDATE",
        post.0,
    )
    .await
}

/// Runs `select_for_update` for `id` on PostgreSQL; nothing on SQLite.
async fn lock_row<C: Conn>(
    conn: &mut C,
    select_for_update: &str,
    id: i64,
) -> Result<(), StoreError> {
    if conn.dialect() == Dialect::Postgres {
        conn.query(select_for_update, params![id]).await?;
    }
    Ok(())
}

/// The post's facts as they are inside this transaction (after locking its thread): writes
/// act on these, not on what was read before the transaction began.
pub async fn fresh_post<C: Conn>(conn: &mut C, post: &PostFacts) -> Result<PostFacts, StoreError> {
    lock_thread_row(conn, post.thread.id).await?;
    post_facts(conn, post.id)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("no post {}", post.id)))
}

pub async fn fresh_thread<C: Conn>(
    conn: &mut C,
    thread: &ThreadFacts,
) -> Result<ThreadFacts, StoreError> {
    lock_thread_row(conn, thread.id).await?;
    thread_facts(conn, thread.id)
        .await?
        .ok_or_else(|| StoreError::Invalid(format!("no thread {}", thread.id)))
}

/// Soft-deletes a post (by its author, or a moderator: `by`). Deleting the opening post removes
/// the thread.
pub async fn delete_post<C: Conn>(
    conn: &mut C,
    post: &PostFacts,
    by: UserId,
    audit: Option<&Audit>,
) -> Result<(), StoreError> {
    let post = &fresh_post(conn, post).await?;
    let changed = conn
        .execute(
            "UPDATE posts SET deleted_at = ?2, deleted_by = ?3 WHERE id = ?1 AND deleted_at IS NULL",
            params![post.id.0, Timestamp::now().micros(), by.0],
        )
        .await?;
    if changed == 0 {
        return Ok(());
    }
    if post.position == 0 {
        set_thread_removed(conn, post.thread.id, true).await?;
    } else if !post.hidden {
        count_reply(conn, post.thread.id, post.id, -1).await?;
    }
    clear_answer_marks(conn, post.thread.id, post.id).await?;
    recompute_staff_answered(conn, post.thread.id).await?;
    if let Some(audit) = audit {
        record_audit(conn, audit).await?;
    }
    append_change(
        conn,
        ChangeKind::PostDeleted,
        Some(by),
        Some(post.thread.id),
        Some(post.id),
    )
    .await?;
    Ok(())
}

/// A post that is gone (deleted or hidden) cannot stay the accepted or recommended answer.
async fn clear_answer_marks<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    post: PostId,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE threads SET accepted_post_id = NULL WHERE id = ?1 AND accepted_post_id = ?2",
        params![thread.0, post.0],
    )
    .await?;
    if conn
        .execute(
            "UPDATE threads SET recommended_post_id = NULL WHERE id = ?1 \
             AND recommended_post_id = ?2",
            params![thread.0, post.0],
        )
        .await?
        > 0
    {
        recompute_staff_answered(conn, thread).await?;
    }
    Ok(())
}

async fn recompute_staff_answered<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE threads SET staff_answered = (recommended_post_id IS NOT NULL OR EXISTS (\
           SELECT 1 FROM posts p JOIN users u ON u.id = p.author_id \
           WHERE p.thread_id = threads.id AND p.position > 0 AND p.deleted_at IS NULL \
           AND p.hidden_at IS NULL AND u.role IN ('staff', 'admin'))) WHERE id = ?1",
        params![thread.0],
    )
    .await?;
    Ok(())
}

/// Hides a post with a reason shown to readers, or shows it again (`reason` None).
pub async fn set_hidden<C: Conn>(
    conn: &mut C,
    post: &PostFacts,
    by: UserId,
    reason: Option<&str>,
    audit: &Audit,
) -> Result<(), StoreError> {
    let post = &fresh_post(conn, post).await?;
    let changed = match reason {
        Some(reason) => {
            conn.execute(
                "UPDATE posts SET hidden_at = ?2, hidden_by = ?3, hidden_reason = ?4 \
                 WHERE id = ?1 AND hidden_at IS NULL",
                params![post.id.0, Timestamp::now().micros(), by.0, reason],
            )
            .await?
        }
        None => {
            conn.execute(
                "UPDATE posts SET hidden_at = NULL, hidden_by = NULL, hidden_reason = NULL \
                 WHERE id = ?1 AND hidden_at IS NOT NULL",
                params![post.id.0],
            )
            .await?
        }
    };
    if changed == 0 {
        return Ok(());
    }
    let hide = reason.is_some();
    if post.position == 0 {
        if !post.deleted {
            set_thread_removed(conn, post.thread.id, hide).await?;
        }
    } else if !post.deleted {
        count_reply(conn, post.thread.id, post.id, if hide { -1 } else { 1 }).await?;
    }
    if hide {
        clear_answer_marks(conn, post.thread.id, post.id).await?;
    }
    recompute_staff_answered(conn, post.thread.id).await?;
    record_audit(conn, audit).await?;
    let kind = if hide {
        ChangeKind::PostHidden
    } else {
        ChangeKind::PostShown
    };
    append_change(conn, kind, Some(by), Some(post.thread.id), Some(post.id)).await?;
    Ok(())
}

/// Boosts a post, or takes the boost back. Returns (boosted now, the post's boost count).
/// The thread's boost count is its opening post's.
pub async fn toggle_boost<C: Conn>(
    conn: &mut C,
    post: &PostFacts,
    user: UserId,
) -> Result<(bool, i64), StoreError> {
    let removed = conn
        .execute(
            "DELETE FROM boosts WHERE post_id = ?1 AND user_id = ?2",
            params![post.id.0, user.0],
        )
        .await?;
    // A concurrent toggle may have inserted first: then this one changes nothing.
    let (boosted, delta) = if removed > 0 {
        (false, -1)
    } else {
        let inserted = conn
            .execute(
                "INSERT INTO boosts (post_id, user_id, created_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT (post_id, user_id) DO NOTHING",
                params![post.id.0, user.0, Timestamp::now().micros()],
            )
            .await?;
        (true, i64::from(inserted > 0))
    };
    let count = conn
        .query_one(
            "UPDATE posts SET boost_count = boost_count + ?2 WHERE id = ?1 RETURNING boost_count",
            params![post.id.0, delta],
        )
        .await?
        .int(0)?;
    if post.position == 0 {
        conn.execute(
            "UPDATE threads SET boost_count = ?2 WHERE id = ?1",
            params![post.thread.id.0, count],
        )
        .await?;
    }
    append_change(
        conn,
        ChangeKind::PostBoosted,
        Some(user),
        Some(post.thread.id),
        Some(post.id),
    )
    .await?;
    Ok((boosted, count))
}

/// Which of `posts` the user has boosted.
pub async fn boosted_by<C: Conn>(
    conn: &mut C,
    user: UserId,
    posts: &[PostId],
) -> Result<Vec<PostId>, StoreError> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let q = boosts_among(user, posts);
    boosted_of(&conn.query(&q.sql, &q.params).await?, posts)
}

/// The read of `user`'s boosts in the range of ids `posts` spans (one range scan of their
/// boosts); [`boosted_of`] keeps those of `posts`.
pub(crate) fn boosts_among(user: UserId, posts: &[PostId]) -> Query {
    // With no posts the range is empty (lo > hi) and the read finds nothing.
    let (min, max) = posts.iter().fold((i64::MAX, i64::MIN), |(lo, hi), p| {
        (lo.min(p.0), hi.max(p.0))
    });
    Query::new(
        "SELECT post_id FROM boosts WHERE user_id = ?1 AND post_id >= ?2 AND post_id <= ?3",
        params![user.0, min, max],
    )
}

pub(crate) fn boosted_of(rows: &[Row], posts: &[PostId]) -> Result<Vec<PostId>, StoreError> {
    let mut out = Vec::new();
    for row in rows {
        let id = PostId(row.int(0)?);
        if posts.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

/// Marks `post` as the thread's accepted or staff-recommended answer, or clears the mark.
pub async fn set_answer<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    mark: AnswerMark,
    post: Option<PostId>,
    by: UserId,
    audit: Option<&Audit>,
) -> Result<(), StoreError> {
    let column = match mark {
        AnswerMark::Accepted => "accepted_post_id",
        AnswerMark::Recommended => "recommended_post_id",
    };
    conn.execute(
        &format!("UPDATE threads SET {column} = ?2 WHERE id = ?1"),
        params![thread.0, post.map(|p| p.0)],
    )
    .await?;
    if mark == AnswerMark::Recommended {
        recompute_staff_answered(conn, thread).await?;
    }
    if let Some(audit) = audit {
        record_audit(conn, audit).await?;
    }
    append_change(conn, ChangeKind::AnswerMarked, Some(by), Some(thread), post).await?;
    Ok(())
}

// ---------------------------------------------------------------- moderation

pub async fn record_audit<C: Conn>(conn: &mut C, audit: &Audit) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO audit_log (at, actor_id, action, thread_id, post_id, target_user, details) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            Timestamp::now().micros(),
            audit.actor.0,
            audit.action,
            audit.thread.map(|t| t.0),
            audit.post.map(|p| p.0),
            audit.target_user.map(|u| u.0),
            audit.details.as_str()
        ],
    )
    .await?;
    Ok(())
}

pub async fn lock_thread<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    lock: Option<(UserId, &str)>,
    audit: &Audit,
) -> Result<(), StoreError> {
    match lock {
        Some((by, reason)) => {
            conn.execute(
                "UPDATE threads SET locked_at = ?2, locked_by = ?3, lock_reason = ?4 WHERE id = ?1",
                params![thread.0, Timestamp::now().micros(), by.0, reason],
            )
            .await?
        }
        None => {
            conn.execute(
                "UPDATE threads SET locked_at = NULL, locked_by = NULL, lock_reason = NULL \
                 WHERE id = ?1",
                params![thread.0],
            )
            .await?
        }
    };
    record_audit(conn, audit).await?;
    append_change(
        conn,
        ChangeKind::ThreadLockChanged,
        Some(audit.actor),
        Some(thread),
        None,
    )
    .await?;
    Ok(())
}

pub async fn pin_thread<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    scope: Option<PinScope>,
    audit: &Audit,
) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE threads SET pin_scope = ?2 WHERE id = ?1",
        params![thread.0, scope.map(|s| s.as_str())],
    )
    .await?;
    record_audit(conn, audit).await?;
    append_change(
        conn,
        ChangeKind::ThreadPinned,
        Some(audit.actor),
        Some(thread),
        None,
    )
    .await?;
    Ok(())
}

/// Moves a thread to another subtopic, carrying its counts along.
pub async fn move_thread<C: Conn>(
    conn: &mut C,
    thread: &ThreadFacts,
    to: SubtopicId,
    audit: &Audit,
) -> Result<(), StoreError> {
    let thread = &fresh_thread(conn, thread).await?;
    if thread.subtopic == to {
        return Ok(());
    }
    let row = conn
        .query_one(
            "SELECT reply_count + 1, last_activity_at FROM threads WHERE id = ?1",
            params![thread.id.0],
        )
        .await?;
    let (posts, activity) = (row.int(0)?, row.int(1)?);
    // The subtopic it leaves must drop its cached listing too.
    crate::queries::touch_thread_places(conn, thread.id).await?;
    let (threads_delta, posts_delta) = if thread.removed { (0, 0) } else { (1, posts) };
    conn.execute(
        "UPDATE subtopics SET thread_count = thread_count - ?2, post_count = post_count - ?3 \
         WHERE id = ?1",
        params![thread.subtopic.0, threads_delta, posts_delta],
    )
    .await?;
    let max_activity = match conn.dialect() {
        Dialect::Sqlite => "MAX(COALESCE(last_activity_at, 0), ?4)",
        Dialect::Postgres => "GREATEST(COALESCE(last_activity_at, 0), ?4)",
    };
    conn.execute(
        &format!(
            "UPDATE subtopics SET thread_count = thread_count + ?2, post_count = post_count + ?3, \
             last_activity_at = {max_activity} WHERE id = ?1"
        ),
        params![to.0, threads_delta, posts_delta, activity],
    )
    .await?;
    conn.execute(
        "UPDATE threads SET subtopic_id = ?2 WHERE id = ?1",
        params![thread.id.0, to.0],
    )
    .await?;
    record_audit(conn, audit).await?;
    append_change(
        conn,
        ChangeKind::ThreadMoved,
        Some(audit.actor),
        Some(thread.id),
        None,
    )
    .await?;
    Ok(())
}

/// Changes a thread's title and tags (`by`: a moderator, or the author editing their post).
pub async fn retitle_thread<C: Conn>(
    conn: &mut C,
    thread: &ThreadFacts,
    title: &str,
    tags: &[TagId],
    by: UserId,
    audit: Option<&Audit>,
) -> Result<(), StoreError> {
    let thread = &fresh_thread(conn, thread).await?;
    conn.execute(
        "UPDATE threads SET title = ?2, slug = ?3 WHERE id = ?1",
        params![thread.id.0, title, slugify(title)],
    )
    .await?;
    if tags != thread.tags.as_slice() {
        // The tags it leaves must drop their cached listings too.
        crate::queries::touch_thread_places(conn, thread.id).await?;
        let activity = conn
            .query_one(
                "SELECT last_activity_at FROM threads WHERE id = ?1",
                params![thread.id.0],
            )
            .await?
            .int(0)?;
        let counted: i64 = if thread.removed { 0 } else { 1 };
        for old in &thread.tags {
            conn.execute(
                "UPDATE tags SET thread_count = thread_count - ?2 WHERE id = ?1",
                params![old.0, counted],
            )
            .await?;
        }
        conn.execute(
            "DELETE FROM thread_tags WHERE thread_id = ?1",
            params![thread.id.0],
        )
        .await?;
        for tag in tags {
            conn.execute(
                "INSERT INTO thread_tags (thread_id, tag_id, last_activity_at, visible, created_at) \
                 SELECT ?1, ?2, ?3, ?4, t.created_at FROM threads t WHERE t.id = ?1",
                params![thread.id.0, tag.0, activity, !thread.removed],
            )
            .await?;
            conn.execute(
                "UPDATE tags SET thread_count = thread_count + ?2 WHERE id = ?1",
                params![tag.0, counted],
            )
            .await?;
        }
    }
    if let Some(audit) = audit {
        record_audit(conn, audit).await?;
    }
    append_change(
        conn,
        ChangeKind::ThreadRetitled,
        Some(by),
        Some(thread.id),
        None,
    )
    .await?;
    Ok(())
}

/// Files a report about a post; one per member per post (a second report is ignored).
pub async fn flag_post<C: Conn>(
    conn: &mut C,
    post: &PostFacts,
    user: UserId,
    reason: &str,
) -> Result<bool, StoreError> {
    let inserted = conn
        .execute(
            "INSERT INTO flags (post_id, user_id, reason, created_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (post_id, user_id) DO NOTHING",
            params![post.id.0, user.0, reason, Timestamp::now().micros()],
        )
        .await?;
    if inserted > 0 {
        append_change(
            conn,
            ChangeKind::FlagRaised,
            Some(user),
            Some(post.thread.id),
            Some(post.id),
        )
        .await?;
    }
    Ok(inserted > 0)
}

fn read_flag(r: &Row) -> Result<FlagRow, StoreError> {
    Ok(FlagRow {
        id: r.int(0)?,
        post: PostId(r.int(1)?),
        thread: ThreadId(r.int(2)?),
        thread_slug: r.text(3)?,
        thread_title: r.text(4)?,
        post_author: r.text(5)?,
        excerpt: r.text(6)?.chars().take(300).collect(),
        reporter: r.text(7)?,
        reason: r.text(8)?,
        created_at: ts(r.int(9)?),
        post_position: r.int(10)?,
    })
}

/// Reads one keyset page: `rows` ran with a limit of `limit + 1` (the extra row says there is
/// more that way) in the list's order, or in reverse (`reversed`, for a page before a cursor);
/// `beyond` is whether anything lies on the other side of the cursor.
fn keyset_page<T>(mut rows: Vec<T>, limit: usize, reversed: bool, beyond: bool) -> KeysetPage<T> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    if reversed {
        rows.reverse();
        KeysetPage {
            rows,
            has_prev: more,
            has_next: beyond,
        }
    } else {
        KeysetPage {
            rows,
            has_prev: beyond,
            has_next: more,
        }
    }
}

async fn exists<C: Conn>(conn: &mut C, sql: &str, params: &[Value]) -> Result<bool, StoreError> {
    Ok(conn.query_opt(sql, params).await?.is_some())
}

/// One page of open flags, oldest first: the first `limit`, or those just newer (`After`) or
/// just older (`Before`) than the flag `cursor` names. None when the cursor names no flag.
pub async fn open_flags<C: Conn>(
    conn: &mut C,
    cursor: Cursor,
    limit: usize,
) -> Result<Option<KeysetPage<FlagRow>>, StoreError> {
    let fetch = limit + 1;
    let key = match cursor {
        Cursor::Start => None,
        Cursor::Before(id) | Cursor::After(id) => {
            match conn.query_opt(sql::FLAG_KEY, params![id]).await? {
                Some(row) => Some((row.int(0)?, id)),
                None => return Ok(None),
            }
        }
    };
    let page = match (cursor, key) {
        (Cursor::After(_), Some((at, id))) => {
            let rows = conn
                .query(
                    &format!(
                        "{} AND (f.created_at, f.id) > (?1, ?2) ORDER BY f.created_at, f.id \
                         LIMIT {fetch}",
                        sql::OPEN_FLAGS
                    ),
                    params![at, id],
                )
                .await?;
            let beyond = exists(conn, sql::OPEN_FLAG_AT_OR_BEFORE, params![at, id]).await?;
            let rows = rows.iter().map(read_flag).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, false, beyond)
        }
        (Cursor::Before(_), Some((at, id))) => {
            let rows = conn
                .query(
                    &format!(
                        "{} AND (f.created_at, f.id) < (?1, ?2) \
                         ORDER BY f.created_at DESC, f.id DESC LIMIT {fetch}",
                        sql::OPEN_FLAGS
                    ),
                    params![at, id],
                )
                .await?;
            let beyond = exists(conn, sql::OPEN_FLAG_AT_OR_AFTER, params![at, id]).await?;
            let rows = rows.iter().map(read_flag).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, true, beyond)
        }
        _ => {
            let rows = conn
                .query(
                    &format!(
                        "{} ORDER BY f.created_at, f.id LIMIT {fetch}",
                        sql::OPEN_FLAGS
                    ),
                    &[],
                )
                .await?;
            let rows = rows.iter().map(read_flag).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, false, false)
        }
    };
    Ok(Some(page))
}

/// How many flags are open.
pub async fn open_flag_count<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    conn.query_one(sql::OPEN_FLAG_COUNT, &[]).await?.int(0)
}

/// Resolves a flag. Returns the flagged post, or None when there is no open flag by that id.
pub async fn resolve_flag<C: Conn>(
    conn: &mut C,
    flag: i64,
    by: UserId,
    resolution: &str,
    audit: &Audit,
) -> Result<Option<PostId>, StoreError> {
    let row = conn
        .query_opt(
            "UPDATE flags SET resolved_at = ?2, resolved_by = ?3, resolution = ?4 \
             WHERE id = ?1 AND resolved_at IS NULL RETURNING post_id",
            params![flag, Timestamp::now().micros(), by.0, resolution],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    record_audit(conn, audit).await?;
    let post = PostId(row.int(0)?);
    append_change(conn, ChangeKind::FlagResolved, Some(by), None, Some(post)).await?;
    Ok(Some(post))
}

fn read_audit(r: &Row) -> Result<AuditRow, StoreError> {
    Ok(AuditRow {
        id: r.int(0)?,
        at: ts(r.int(1)?),
        actor: UserBrief {
            id: UserId(r.int(2)?),
            username: r.text(3)?,
            display_name: r.text(4)?,
            role: r.parse(5)?,
            staff_title: r.opt_text(6)?,
        },
        action: r.text(7)?,
        thread: r.opt_int(8)?.map(ThreadId),
        post: r.opt_int(9)?.map(PostId),
        target_user: r.opt_text(10)?,
        details: r.text(11)?,
    })
}

/// One page of the audit log, newest first: the newest `limit` entries, or those just older
/// (`Before`) or just newer (`After`) than the entry with the cursor's id.
pub async fn audit_log<C: Conn>(
    conn: &mut C,
    cursor: Cursor,
    limit: usize,
) -> Result<KeysetPage<AuditRow>, StoreError> {
    let fetch = limit + 1;
    let entries = sql::AUDIT_ENTRIES;
    Ok(match cursor {
        Cursor::Start => {
            let rows = conn
                .query(&format!("{entries} ORDER BY l.id DESC LIMIT {fetch}"), &[])
                .await?;
            let rows = rows.iter().map(read_audit).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, false, false)
        }
        Cursor::Before(id) => {
            let rows = conn
                .query(
                    &format!("{entries} WHERE l.id < ?1 ORDER BY l.id DESC LIMIT {fetch}"),
                    params![id],
                )
                .await?;
            let beyond = exists(conn, sql::AUDIT_AT_OR_AFTER, params![id]).await?;
            let rows = rows.iter().map(read_audit).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, false, beyond)
        }
        Cursor::After(id) => {
            let rows = conn
                .query(
                    &format!("{entries} WHERE l.id > ?1 ORDER BY l.id LIMIT {fetch}"),
                    params![id],
                )
                .await?;
            let beyond = exists(conn, sql::AUDIT_AT_OR_BEFORE, params![id]).await?;
            let rows = rows.iter().map(read_audit).collect::<Result<_, _>>()?;
            keyset_page(rows, limit, true, beyond)
        }
    })
}
