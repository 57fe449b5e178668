//! Every read and write of the store, written once against [`Conn`] and run unchanged on
//! SQLite and PostgreSQL. Rows become model types here and nowhere else.

use std::collections::HashMap;

use crate::archive::{self, Archive};
use crate::db::{Conn, Dialect, Query, Row, params};
use crate::model::*;
use crate::sql;
use crate::touch::{Scope, Touched};
use crate::{ImportStats, StoreError, slugify};

// ---------------------------------------------------------------- row readers

fn ts(v: i64) -> Timestamp {
    Timestamp::from_micros(v)
}

fn read_user_brief(row: &Row, at: usize) -> Result<UserBrief, StoreError> {
    Ok(UserBrief {
        id: UserId(row.int(at)?),
        username: row.text(at + 1)?,
        display_name: row.text(at + 2)?,
        role: row.parse(at + 3)?,
        staff_title: row.opt_text(at + 4)?,
    })
}

pub(crate) fn read_summary(row: &Row) -> Result<ThreadSummary, StoreError> {
    Ok(ThreadSummary {
        id: ThreadId(row.int(0)?),
        slug: row.text(1)?,
        title: row.text(2)?,
        excerpt: row.text(3)?,
        kind: row.parse(4)?,
        area_slug: row.text(5)?,
        subtopic_slug: row.text(6)?,
        subtopic_name: row.text(7)?,
        author: read_user_brief(row, 8)?,
        created_at: ts(row.int(13)?),
        last_activity_at: ts(row.int(14)?),
        reply_count: row.int(15)?,
        boost_count: row.int(16)?,
        view_count: row.int(17)?,
        pin_scope: row.opt_parse(18)?,
        locked: row.bool(19)?,
        solved: row.bool(20)?,
        staff_answered: row.bool(21)?,
        tags: row
            .opt_text(22)?
            .map(|all| {
                all.split(sql::TAG_SEP)
                    .filter_map(|tag| tag.split_once(sql::TAG_FIELD_SEP))
                    .map(|(slug, name)| TagBrief {
                        slug: slug.to_string(),
                        name: name.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    })
}

pub(crate) fn read_subtopic(row: &Row) -> Result<SubtopicRow, StoreError> {
    Ok(SubtopicRow {
        id: SubtopicId(row.int(0)?),
        area_slug: row.text(1)?,
        area_name: row.text(2)?,
        slug: row.text(3)?,
        name: row.text(4)?,
        description: row.text(5)?,
        docs_url: row.opt_text(6)?,
        thread_count: row.int(7)?,
        post_count: row.int(8)?,
        last_activity_at: row.opt_int(9)?.map(ts),
        area_id: AreaId(row.int(10)?),
        archived: row.bool(11)?,
        who_starts: row.parse(12)?,
        tags_required: row.bool(13)?,
    })
}

fn read_tag(row: &Row) -> Result<TagRow, StoreError> {
    Ok(TagRow {
        id: TagId(row.int(0)?),
        slug: row.text(1)?,
        name: row.text(2)?,
        description: row.text(3)?,
        thread_count: row.int(4)?,
    })
}

fn read_post(row: &Row) -> Result<PostRow, StoreError> {
    Ok(PostRow {
        id: PostId(row.int(0)?),
        thread_id: ThreadId(row.int(1)?),
        position: row.int(2)?,
        author: read_user_brief(row, 3)?,
        author_signature_html: row.text(8)?,
        body_html: row.text(9)?,
        created_at: ts(row.int(10)?),
        edited_at: row.opt_int(11)?.map(ts),
        boost_count: row.int(12)?,
        deleted: row.bool(13)?,
        hidden_reason: row.opt_text(14)?,
        hidden: row.bool(15)?,
        deleted_by_moderator: row.bool(16)?,
        reply_count: row.int(17)?,
        reply_to: match (row.opt_int(18)?, row.opt_int(19)?, row.opt_text(20)?) {
            (Some(id), Some(position), Some(username)) => Some(ReplyTarget {
                id: PostId(id),
                position,
                username,
            }),
            _ => None,
        },
        author_avatar: row.opt_text(21)?,
    })
}

pub(crate) fn collect<T>(
    rows: Vec<Row>,
    read: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    rows.iter().map(read).collect()
}

// ---------------------------------------------------------------- reads

pub async fn areas<C: Conn>(conn: &mut C) -> Result<Vec<AreaRow>, StoreError> {
    let mut areas = collect(conn.query(sql::AREAS, &[]).await?, |row| {
        Ok(AreaRow {
            id: AreaId(row.int(0)?),
            slug: row.text(1)?,
            name: row.text(2)?,
            description: row.text(3)?,
            archived: row.bool(4)?,
            subtopics: Vec::new(),
        })
    })?;
    for row in conn.query(&sql::subtopics_all(conn.dialect()), &[]).await? {
        let area_id = AreaId(row.int(10)?);
        if let Some(area) = areas.iter_mut().find(|a| a.id == area_id) {
            area.subtopics.push(read_subtopic(&row)?);
        }
    }
    Ok(areas)
}

pub async fn subtopic<C: Conn>(
    conn: &mut C,
    area: &str,
    sub: &str,
) -> Result<Option<SubtopicRow>, StoreError> {
    conn.query_opt(&sql::subtopic_by_slugs(conn.dialect()), params![area, sub])
        .await?
        .map(|row| read_subtopic(&row))
        .transpose()
}

pub async fn tag<C: Conn>(conn: &mut C, slug: &str) -> Result<Option<TagRow>, StoreError> {
    conn.query_opt(sql::TAG_BY_SLUG, params![slug])
        .await?
        .map(|r| read_tag(&r))
        .transpose()
}

pub async fn tags<C: Conn>(conn: &mut C) -> Result<Vec<TagRow>, StoreError> {
    collect(conn.query(sql::TAGS_ALL, &[]).await?, read_tag)
}

pub async fn user<C: Conn>(conn: &mut C, username: &str) -> Result<Option<UserRow>, StoreError> {
    let row = conn
        .query_opt(sql::USER_BY_KEY, params![archive::username_key(username)])
        .await?;
    row.map(|row| {
        Ok(UserRow {
            brief: read_user_brief(&row, 0)?,
            signature_html: row.text(5)?,
            created_at: ts(row.int(6)?),
            thread_count: row.int(7)?,
            post_count: row.int(8)?,
            avatar: row.opt_text(9)?,
        })
    })
    .transpose()
}

pub async fn pinned<C: Conn>(
    conn: &mut C,
    subtopic: SubtopicId,
) -> Result<Vec<ThreadSummary>, StoreError> {
    let query = sql::pinned(conn.dialect());
    collect(conn.query(&query, params![subtopic.0]).await?, read_summary)
}

async fn listing<C: Conn>(conn: &mut C, q: &ListingQuery) -> Result<ListingPage, StoreError> {
    let scope_id = scope_id(q);
    let per_page = i64::from(q.per_page.max(1));
    let offset = i64::from(q.page.saturating_sub(1)) * per_page;
    let query = sql::listing(q, conn.dialect());
    let rows = conn.query(&query, params![scope_id, offset]).await?;
    let mut threads = collect(rows, read_summary)?;
    let has_more = threads.len() as i64 > per_page;
    threads.truncate(per_page as usize);
    Ok(ListingPage { threads, has_more })
}

/// Every thread id of `q`'s listing, in its order.
pub async fn listing_all_ids<C: Conn>(
    conn: &mut C,
    q: &ListingQuery,
) -> Result<Vec<ThreadId>, StoreError> {
    let rows = conn
        .query(&sql::listing_all_ids(q), params![scope_id(q)])
        .await?;
    rows.iter().map(|r| Ok(ThreadId(r.int(0)?))).collect()
}

/// The summaries of `ids` (at most [`sql::LISTING_IDS`]), in `q`'s order; a thread gone since
/// is left out.
pub async fn listing_by_ids<C: Conn>(
    conn: &mut C,
    q: &ListingQuery,
    ids: &[ThreadId],
) -> Result<Vec<ThreadSummary>, StoreError> {
    if ids.len() > sql::LISTING_IDS {
        return Err(StoreError::Invalid(format!(
            "at most {} threads at once",
            sql::LISTING_IDS
        )));
    }
    let params: Vec<crate::db::Value> = (0..sql::LISTING_IDS)
        .map(|i| crate::db::Value::Int(ids.get(i).map_or(0, |id| id.0)))
        .collect();
    let rows = conn
        .query(&sql::listing_by_ids(q, conn.dialect()), &params)
        .await?;
    collect(rows, read_summary)
}

fn scope_id(q: &ListingQuery) -> i64 {
    match q.scope {
        ListingScope::Subtopic(id) => id.0,
        ListingScope::Tag(id) => id.0,
        ListingScope::Author(id) => id.0,
    }
}

/// Pinned threads (when the query shows them apart: on every page, so callers can count the
/// pages without them) and the page.
pub async fn listing_with_pins<C: Conn>(
    conn: &mut C,
    q: &ListingQuery,
) -> Result<(Vec<ThreadSummary>, ListingPage), StoreError> {
    let pinned = match q.scope {
        ListingScope::Subtopic(id) if q.pins_apart() => pinned(conn, id).await?,
        _ => Vec::new(),
    };
    Ok((pinned, listing(conn, q).await?))
}

pub async fn thread<C: Conn>(conn: &mut C, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
    let query = sql::thread_by_id(conn.dialect());
    let Some(row) = conn.query_opt(&query, params![id.0]).await? else {
        return Ok(None);
    };
    let w = sql::SUMMARY_WIDTH;
    let thread = ThreadRow {
        summary: read_summary(&row)?,
        subtopic_id: SubtopicId(row.int(w)?),
        lock_reason: row.opt_text(w + 1)?,
        locked_at: row.opt_int(w + 2)?.map(ts),
        accepted_post_id: row.opt_int(w + 3)?.map(PostId),
        recommended_post_id: row.opt_int(w + 4)?.map(PostId),
        removed: row.bool(w + 5)?,
        last_position: row.int(w + 6)?,
        accepted_position: row.opt_int(w + 7)?,
        recommended_position: row.opt_int(w + 8)?,
    };
    Ok(Some(thread))
}

pub async fn posts<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    from: i64,
    to: i64,
) -> Result<Vec<PostRow>, StoreError> {
    collect(
        conn.query(&sql::posts_range(), params![thread.0, from, to])
            .await?,
        read_post,
    )
}

pub async fn thread_with_posts<C: Conn>(
    conn: &mut C,
    id: ThreadId,
    from: i64,
    to: i64,
) -> Result<Option<(ThreadRow, Vec<PostRow>)>, StoreError> {
    let Some(thread) = thread(conn, id).await? else {
        return Ok(None);
    };
    let posts = posts(conn, id, from, to).await?;
    Ok(Some((thread, posts)))
}

pub async fn post<C: Conn>(conn: &mut C, id: PostId) -> Result<Option<PostRow>, StoreError> {
    conn.query_opt(&sql::post_by_id(), params![id.0])
        .await?
        .map(|r| read_post(&r))
        .transpose()
}

pub async fn revisions<C: Conn>(
    conn: &mut C,
    post: PostId,
) -> Result<Vec<RevisionRow>, StoreError> {
    collect(conn.query(sql::REVISIONS, params![post.0]).await?, |row| {
        Ok(RevisionRow {
            revision: row.int(0)?,
            author: read_user_brief(row, 1)?,
            created_at: ts(row.int(6)?),
            reason: row.opt_text(7)?,
            body_md: row.text(8)?,
        })
    })
}

pub async fn change_head<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    conn.query_one(sql::CHANGE_HEAD, &[]).await?.int(0)
}

/// The position's change row time, if the change log holds that position.
pub async fn change_at<C: Conn>(conn: &mut C, seq: i64) -> Result<Option<i64>, StoreError> {
    match conn
        .query_opt("SELECT at FROM change_log WHERE seq = ?1", params![seq])
        .await?
    {
        Some(row) => Ok(Some(row.int(0)?)),
        None => Ok(None),
    }
}

/// This database's identity, if one was written.
pub async fn database_id<C: Conn>(conn: &mut C) -> Result<Option<String>, StoreError> {
    match conn
        .query_opt("SELECT database_id FROM instance WHERE id = 1", &[])
        .await?
    {
        Some(row) => Ok(Some(row.text(0)?)),
        None => Ok(None),
    }
}

/// Writes `id` as this database's identity: only if there is none yet, or (`replace`) always.
pub async fn write_database_id<C: Conn>(
    conn: &mut C,
    id: &str,
    replace: bool,
) -> Result<(), StoreError> {
    let sql = if replace {
        "INSERT INTO instance (id, database_id, created_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO UPDATE SET database_id = excluded.database_id"
    } else {
        "INSERT INTO instance (id, database_id, created_at) VALUES (1, ?1, ?2) \
         ON CONFLICT (id) DO NOTHING"
    };
    conn.execute(sql, params![id.to_string(), Timestamp::now().micros()])
        .await?;
    Ok(())
}

pub async fn markup_version<C: Conn>(conn: &mut C) -> Result<i64, StoreError> {
    match conn
        .query_opt("SELECT markup_version FROM instance WHERE id = 1", &[])
        .await?
    {
        Some(row) => row.int(0),
        None => Ok(1),
    }
}

pub async fn set_markup_version<C: Conn>(conn: &mut C, version: i64) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE instance SET markup_version = ?1 WHERE id = 1",
        params![version],
    )
    .await?;
    Ok(())
}

pub async fn posts_to_render<C: Conn>(
    conn: &mut C,
    after: PostId,
    limit: usize,
) -> Result<Vec<(PostId, String)>, StoreError> {
    // The limit is written in, not bound (see `sql::listing`).
    let sql = format!(
        "SELECT id, body_md FROM posts WHERE id > ?1 ORDER BY id LIMIT {}",
        limit.max(1)
    );
    collect(conn.query(&sql, params![after.0]).await?, |row| {
        Ok((PostId(row.int(0)?), row.text(1)?))
    })
}

pub async fn set_rendered_html<C: Conn>(
    conn: &mut C,
    posts: &[(PostId, String)],
) -> Result<(), StoreError> {
    for (id, html) in posts {
        conn.execute(
            "UPDATE posts SET body_html = ?2 WHERE id = ?1",
            params![id.0, html.as_str()],
        )
        .await?;
    }
    Ok(())
}

pub async fn is_empty<C: Conn>(conn: &mut C) -> Result<bool, StoreError> {
    Ok(conn.query_one(sql::COUNT_CONTENT, &[]).await?.int(0)? == 0)
}

// ---------------------------------------------------------------- writes

/// Appends to the change log; call inside the write's transaction. On PostgreSQL the entry
/// waits in `change_pending` until a follower settles it ([`settle_changes`]): writers take no
/// lock that would serialise their commits, and sequence numbers still become visible in order.
/// Once the transaction commits, the store tells the other nodes what the write touched.
/// `actor` is the account that made the change, None for system work (imports, recounts) that
/// no account asked for.
///
/// What the entry touched is derived here, in one place, from its kind and ids (the thread's
/// subtopic and tags are read in the same transaction): see [`reach`] and [`touched_with`].
/// A write that touched more than its entry says (a move leaves a subtopic, a retag leaves tags) adds those
/// with [`touch_thread_places`] before it changes them.
pub async fn append_change<C: Conn>(
    conn: &mut C,
    kind: ChangeKind,
    actor: Option<UserId>,
    thread: Option<ThreadId>,
    post: Option<PostId>,
) -> Result<(), StoreError> {
    append_change_along(conn, Vec::new(), kind, actor, thread, post).await
}

/// [`append_change`], with the write's last statements (`along`, none depending on another's
/// result) sent in the same batch as the entry and the read of what it touched: one round
/// trip on PostgreSQL for all of them. They run in order, before the read.
pub async fn append_change_along<C: Conn>(
    conn: &mut C,
    along: Vec<Query>,
    kind: ChangeKind,
    actor: Option<UserId>,
    thread: Option<ThreadId>,
    post: Option<PostId>,
) -> Result<(), StoreError> {
    let append = match conn.dialect() {
        Dialect::Sqlite => sql::APPEND_CHANGE,
        Dialect::Postgres => sql::APPEND_PENDING_CHANGE,
    };
    let mut batch = along;
    batch.push(Query::new(
        append,
        params![
            Timestamp::now().micros(),
            kind.as_str(),
            actor.map(|u| u.0),
            thread.map(|t| t.0),
            post.map(|p| p.0)
        ],
    ));
    let reach = reach(&kind, actor, thread);
    if let Reach::Thread(thread) | Reach::Listings(thread) = reach {
        batch.push(Query::new(
            sql::touch_facts(conn.dialect()),
            params![thread.0, post.map(|p| p.0)],
        ));
    }
    let answers = conn.query_batch(&batch).await?;
    let touched = match reach {
        Reach::Known(touched) => touched,
        Reach::Thread(_) | Reach::Listings(_) => {
            let row = answers
                .last()
                .and_then(|rows| rows.first())
                .ok_or_else(|| StoreError::Internal("the touch facts read no row".into()))?;
            touched_with(&kind, actor, reach, &read_touch_facts(row)?)
        }
    };
    // On PostgreSQL the store tells other nodes once the transaction commits.
    conn.touch(touched);
    Ok(())
}

/// PostgreSQL: gives every committed pending change its place in the log, in the order they
/// were written, and folds the committed count deltas into their rows; one short transaction
/// under the change lock, so sequence numbers commit in order. Returns how many changes moved.
/// Followers call it (through `Store::changes_after` and `Store::change_head`) before they
/// read the log. A no-op on SQLite, whose writers append to the log directly.
pub async fn settle_changes<C: Conn>(conn: &mut C) -> Result<u64, StoreError> {
    if conn.dialect() != Dialect::Postgres {
        return Ok(0);
    }
    conn.query(sql::PG_CHANGE_LOCK, &[]).await?;
    let moved = conn.execute(sql::PG_SETTLE_CHANGES, &[]).await?;
    conn.execute(sql::PG_FOLD_COUNTS, &[]).await?;
    Ok(moved)
}

/// Whether any change or count delta waits to be settled (one cheap read, so that a follower
/// finding nothing new takes no lock). Always false on SQLite.
pub async fn changes_pending<C: Conn>(conn: &mut C) -> Result<bool, StoreError> {
    Ok(conn.query_opt(sql::CHANGES_PENDING, &[]).await?.is_some())
}

/// Before a recount: on PostgreSQL, holds the change lock to commit, so no fold adds deltas
/// while the recount leaves them out (see `sql::RECOUNT`).
pub async fn hold_folds<C: Conn>(conn: &mut C) -> Result<(), StoreError> {
    if conn.dialect() == Dialect::Postgres {
        conn.query(sql::PG_CHANGE_LOCK, &[]).await?;
    }
    Ok(())
}

/// How far a change reaches, as far as its kind and ids tell.
enum Reach {
    /// Known without reading anything.
    Known(Touched),
    /// Only the thread's own pages (nothing listings show changed), unless the post is the
    /// opening one.
    Thread(ThreadId),
    /// The thread's pages and every listing that shows it.
    Listings(ThreadId),
}

/// The parts of the forum a change-log entry changed: the pages that must not be served from
/// a cache once it commits. Everything else keeps its cached pages (counts may age for up to
/// `cache.max_age_secs`, as they do across nodes). A change to a thread is finished by
/// [`touched_with`] from what [`sql::touch_facts`] reads.
fn reach(kind: &ChangeKind, actor: Option<UserId>, thread: Option<ThreadId>) -> Reach {
    use ChangeKind as K;
    let mut touched = Touched::default();
    let listings = match kind {
        // Shown beside every post or on every page.
        K::SettingsChanged
        | K::TaxonomyChanged
        | K::UserProfileUpdated
        | K::UserRoleChanged
        | K::UserRemoved
        | K::ForumRecounted
        // A thread pinned everywhere leads every listing.
        | K::ThreadPinned
        | K::Unknown(_) => {
            touched.push(Scope::Everything);
            return Reach::Known(touched);
        }
        K::UserCreated | K::UserSuspensionChanged => {
            touched.push(Scope::Members);
            touched.extend(actor.map(Scope::User));
            return Reach::Known(touched);
        }
        // Not shown to readers who are not moderators (whose pages are never cached).
        K::UserPasswordChanged | K::FlagRaised | K::FlagResolved => return Reach::Known(touched),
        K::ThreadCreated
        | K::ThreadImported
        | K::ThreadMoved
        | K::ThreadRetitled
        | K::ThreadRewritten
        | K::ThreadLockChanged
        | K::ThreadLocked
        | K::ThreadUnlocked
        | K::AnswerMarked
        | K::PostCreated
        | K::PostDeleted
        | K::PostHidden
        | K::PostShown
        | K::PostBoosted => true,
        // A reply's new text shows on its thread's pages only; an opening post's, in the
        // excerpt listings show too (below).
        K::PostEdited => false,
    };
    match thread {
        // A thread-level kind without its thread (operator tooling): be safe.
        None => {
            touched.push(Scope::Everything);
            Reach::Known(touched)
        }
        Some(thread) if listings => Reach::Listings(thread),
        Some(thread) => Reach::Thread(thread),
    }
}

/// What a change to a thread touched, from its reach and the facts read in its transaction.
fn touched_with(
    kind: &ChangeKind,
    actor: Option<UserId>,
    reach: Reach,
    facts: &TouchFacts,
) -> Touched {
    use ChangeKind as K;
    let mut touched = Touched::default();
    let (thread, mut listings) = match reach {
        Reach::Known(touched) => return touched,
        Reach::Thread(thread) => (thread, false),
        Reach::Listings(thread) => (thread, true),
    };
    touched.push(Scope::Thread(thread));
    touched.extend(actor.map(Scope::User));
    if let Some((author, position)) = facts.post {
        touched.push(Scope::User(author));
        let opening = position == 0;
        // An opening post's text is the excerpt listings show.
        if opening && matches!(kind, K::PostEdited) {
            listings = true;
        }
        // Removing or restoring an opening post removes or restores its thread.
        if opening && matches!(kind, K::PostDeleted | K::PostHidden | K::PostShown) {
            touched.push(Scope::Removals);
        }
    }
    if listings {
        facts.places(&mut touched);
    }
    touched
}

/// What `touched_with` reads about a change's thread and post.
struct TouchFacts {
    /// The post's author and position, if it names a post that exists.
    post: Option<(UserId, i64)>,
    subtopic: Option<SubtopicId>,
    tags: Vec<TagId>,
}

impl TouchFacts {
    /// The listings the thread is shown in now: its subtopic's, its tags' and the forum's.
    fn places(&self, touched: &mut Touched) {
        touched.push(Scope::Front);
        touched.extend(self.subtopic.map(Scope::Subtopic));
        touched.extend(self.tags.iter().copied().map(Scope::Tag));
    }
}

/// Everything [`touched_with`] needs, in one round trip (it runs inside every write).
async fn touch_facts<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    post: Option<PostId>,
) -> Result<TouchFacts, StoreError> {
    let sql = sql::touch_facts(conn.dialect());
    read_touch_facts(
        &conn
            .query_one(sql, params![thread.0, post.map(|p| p.0)])
            .await?,
    )
}

fn read_touch_facts(row: &Row) -> Result<TouchFacts, StoreError> {
    let post = match (row.opt_int(0)?, row.opt_int(1)?) {
        (Some(author), Some(position)) => Some((UserId(author), position)),
        _ => None,
    };
    let tags = row
        .opt_text(3)?
        .unwrap_or_default()
        .split_ascii_whitespace()
        .map(|id| {
            id.parse()
                .map(TagId)
                .map_err(|_| StoreError::Internal(format!("tag id {id:?}")))
        })
        .collect::<Result<_, _>>()?;
    Ok(TouchFacts {
        post,
        subtopic: row.opt_int(2)?.map(SubtopicId),
        tags,
    })
}

/// For a write about to take `thread` out of listings it is in now (a move, a retag): those
/// listings are touched too, as well as the ones its change-log entry will name.
pub async fn touch_thread_places<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
) -> Result<(), StoreError> {
    let mut touched = Touched::default();
    touch_facts(conn, thread, None).await?.places(&mut touched);
    conn.touch(touched);
    Ok(())
}

pub async fn add_views<C: Conn>(conn: &mut C, views: &[(ThreadId, i64)]) -> Result<(), StoreError> {
    for (thread, count) in views {
        conn.execute(sql::ADD_VIEWS, params![thread.0, *count])
            .await?;
    }
    Ok(())
}

/// Names of the taxonomy mapped to the ids the database gave them: what thread rows need.
#[derive(Clone, Debug, Default)]
pub struct IdMaps {
    subtopics: HashMap<String, i64>,
    tags: HashMap<String, i64>,
    users: HashMap<String, (i64, Role)>,
    /// Secondary indexes dropped for a bulk load, to be built again when it finishes.
    deferred_indexes: Vec<String>,
}

/// SQLite: drops the secondary indexes of the content tables and returns their definitions.
/// Building an index once from all rows is several times faster than inserting rows in random
/// order into it (measured: 37k → see BENCHMARKS.md posts/s on a million posts).
pub async fn defer_indexes<C: Conn>(conn: &mut C, maps: &mut IdMaps) -> Result<(), StoreError> {
    if conn.dialect() != Dialect::Sqlite {
        return Ok(());
    }
    let rows = conn
        .query(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL \
             AND tbl_name IN ('threads', 'posts', 'thread_tags', 'boosts', 'post_revisions')",
            &[],
        )
        .await?;
    for row in rows {
        let (name, definition) = (row.text(0)?, row.text(1)?);
        conn.execute(&format!("DROP INDEX {name}"), &[]).await?;
        maps.deferred_indexes.push(definition);
    }
    Ok(())
}

impl IdMaps {
    /// The ids a batch of threads names, read from the database (for imports into a forum
    /// that is not empty): subtopics as `area/subtopic`, tags by slug, users by username.
    /// A name with no row is left out: writing a thread that names it fails, naming it.
    pub(crate) async fn load<C: Conn>(
        conn: &mut C,
        subtopics: &[&str],
        tags: &[&str],
        usernames: &[&str],
    ) -> Result<IdMaps, StoreError> {
        let mut maps = IdMaps::default();
        for &key in subtopics {
            let Some((area, sub)) = key.split_once('/') else {
                continue;
            };
            if let Some(row) = conn
                .query_opt(
                    "SELECT s.id FROM subtopics s JOIN areas a ON a.id = s.area_id \
                     WHERE a.slug = ?1 AND s.slug = ?2",
                    params![area, sub],
                )
                .await?
            {
                maps.subtopics.insert(key.to_string(), row.int(0)?);
            }
        }
        for &slug in tags {
            if let Some(row) = conn
                .query_opt("SELECT id FROM tags WHERE slug = ?1", params![slug])
                .await?
            {
                maps.tags.insert(slug.to_string(), row.int(0)?);
            }
        }
        for &name in usernames {
            let key = archive::username_key(name);
            if let Some(row) = conn
                .query_opt(
                    "SELECT id, role FROM users WHERE username_key = ?1",
                    params![key.as_str()],
                )
                .await?
            {
                maps.users.insert(key, (row.int(0)?, row.parse(1)?));
            }
        }
        Ok(maps)
    }

    /// A tag's id by slug.
    pub(crate) fn tag_id(&self, slug: &str) -> Option<i64> {
        self.tags.get(slug).copied()
    }

    pub(crate) fn user(&self, name: &str) -> Result<(i64, Role), StoreError> {
        self.users
            .get(&archive::username_key(name))
            .copied()
            .ok_or_else(|| StoreError::Invalid(format!("no user named {name:?}")))
    }
}

/// Loads a validated archive (derived fields filled) into an empty database.
pub async fn import<C: Conn>(
    conn: &mut C,
    archive: &Archive,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportStats, StoreError> {
    let maps = import_taxonomy(conn, archive).await?;
    // Before the posts: writing a post's text links the uploads it names.
    crate::uploads::import_uploads(conn, archive, &maps).await?;
    let mut stats = import_threads(conn, &archive.threads, &maps, 0, progress).await?;
    import_moderation(conn, archive, &maps).await?;
    if let Some(imported) = &archive.imported {
        crate::sources::import_imported(conn, imported, &maps).await?;
    }
    finish_import(conn).await?;
    stats.users = archive.users.len() as u64;
    stats.uploads = archive.uploads.len() as u64;
    Ok(stats)
}

/// Writes areas, subtopics, tags and users (not threads) into an empty database.
pub async fn import_taxonomy<C: Conn>(
    conn: &mut C,
    archive: &Archive,
) -> Result<IdMaps, StoreError> {
    if conn.dialect() == Dialect::Postgres {
        // Nodes started together on a new database all try to load the demo: the first
        // loads it, the others wait here and then find the forum no longer empty. (SQLite's
        // single writer serialises imports already.)
        conn.query(sql::PG_IMPORT_LOCK, &[]).await?;
    }
    if !is_empty(conn).await? {
        return Err(StoreError::NotEmpty);
    }
    let mut maps = IdMaps::default();
    for (position, area) in archive.areas.iter().enumerate() {
        let area_id = conn
            .query_one(
                sql::INSERT_AREA,
                params![&area.slug, &area.name, &area.description, position as i64],
            )
            .await?
            .int(0)?;
        for (position, sub) in area.subtopics.iter().enumerate() {
            let id = conn
                .query_one(
                    sql::INSERT_SUBTOPIC,
                    params![
                        area_id,
                        &sub.slug,
                        &sub.name,
                        &sub.description,
                        sub.docs_url.clone(),
                        position as i64
                    ],
                )
                .await?
                .int(0)?;
            maps.subtopics
                .insert(format!("{}/{}", area.slug, sub.slug), id);
        }
    }
    for tag in &archive.tags {
        let id = conn
            .query_one(
                sql::INSERT_TAG,
                params![&tag.slug, &tag.name, &tag.description],
            )
            .await?
            .int(0)?;
        maps.tags.insert(tag.slug.clone(), id);
    }
    for user in &archive.users {
        let key = archive::username_key(&user.username);
        let id = conn
            .query_one(
                sql::INSERT_USER,
                params![
                    &user.username,
                    &key,
                    &user.display_name,
                    user.role.as_str(),
                    user.staff_title.clone(),
                    &user.signature,
                    &user.signature_html,
                    user.created_at.micros(),
                    archive::name_skeleton(&user.username)
                ],
            )
            .await?
            .int(0)?;
        if let Some(account) = &user.account {
            conn.execute(
                "UPDATE users SET email = ?2, email_key = ?3, email_verified_at = ?4, \
                 password_hash = ?5, suspended_until = ?6, suspend_reason = ?7 WHERE id = ?1",
                params![
                    id,
                    account.email.trim(),
                    crate::accounts::email_key(&account.email),
                    account.email_verified_at.map(|t| t.micros()),
                    account.password_hash.clone(),
                    account.suspended.as_ref().map(|s| s.until.micros()),
                    account.suspended.as_ref().map(|s| s.reason.clone())
                ],
            )
            .await?;
        }
        maps.users.insert(key, (id, user.role));
    }
    import_site_and_rules(conn, archive, &maps).await?;
    Ok(maps)
}

/// The site's settings and images, if any were ever saved.
async fn export_site<C: Conn>(conn: &mut C) -> Result<Option<archive::Site>, StoreError> {
    let settings = match conn
        .query_opt("SELECT body FROM site_settings WHERE id = 1", &[])
        .await?
    {
        Some(row) => match serde_json::from_str(&row.text(0)?) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        },
        None => serde_json::Map::new(),
    };
    let files = collect(
        conn.query(
            "SELECT name, content_type, bytes, sha FROM site_files ORDER BY name",
            &[],
        )
        .await?,
        |r| {
            Ok(archive::SiteFileEntry {
                name: r.text(0)?,
                content_type: r.text(1)?,
                bytes: r.text(2)?,
                sha: r.text(3)?,
            })
        },
    )?;
    if settings.is_empty() && files.is_empty() {
        return Ok(None);
    }
    Ok(Some(archive::Site { settings, files }))
}

/// Writes the version-3 parts of the taxonomy: archived areas and subtopics, subtopic rules
/// (after the tags they name), and the site's settings and images.
async fn import_site_and_rules<C: Conn>(
    conn: &mut C,
    archive: &Archive,
    maps: &IdMaps,
) -> Result<(), StoreError> {
    for area in &archive.areas {
        if let Some(at) = area.archived_at {
            conn.execute(
                "UPDATE areas SET archived_at = ?2 WHERE slug = ?1",
                params![&area.slug, at.micros()],
            )
            .await?;
        }
        for sub in &area.subtopics {
            let Some(&id) = maps.subtopics.get(&format!("{}/{}", area.slug, sub.slug)) else {
                continue;
            };
            if sub.archived_at.is_some()
                || sub.who_starts != archive::WhoStarts::Everyone
                || !sub.tags_required
            {
                conn.execute(
                    "UPDATE subtopics SET archived_at = ?2, who_starts = ?3, tags_required = ?4 \
                     WHERE id = ?1",
                    params![
                        id,
                        sub.archived_at.map(|t| t.micros()),
                        sub.who_starts.as_str(),
                        sub.tags_required
                    ],
                )
                .await?;
            }
            for tag in &sub.allowed_tags {
                if let Some(&tag_id) = maps.tags.get(tag) {
                    conn.execute(
                        "INSERT INTO subtopic_tags (subtopic_id, tag_id) VALUES (?1, ?2)",
                        params![id, tag_id],
                    )
                    .await?;
                }
            }
        }
    }
    if let Some(site) = &archive.site {
        let now = Timestamp::now().micros();
        conn.execute(
            "INSERT INTO site_settings (id, body, version, updated_at) VALUES (1, ?1, 1, ?2) \
             ON CONFLICT (id) DO UPDATE SET body = excluded.body, \
             version = site_settings.version + 1, updated_at = excluded.updated_at",
            params![
                serde_json::Value::Object(site.settings.clone()).to_string(),
                now
            ],
        )
        .await?;
        for file in &site.files {
            conn.execute(
                "INSERT INTO site_files (name, content_type, bytes, sha, updated_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (name) DO UPDATE SET \
                 content_type = excluded.content_type, bytes = excluded.bytes, \
                 sha = excluded.sha, updated_at = excluded.updated_at",
                params![&file.name, &file.content_type, &file.bytes, &file.sha, now],
            )
            .await?;
        }
    }
    Ok(())
}

/// Writes threads with their posts, revisions, boosts and tags. `posts_before` counts posts
/// written by earlier chunks, for progress.
pub async fn import_threads<C: Conn>(
    conn: &mut C,
    threads: &[archive::Thread],
    maps: &IdMaps,
    posts_before: u64,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportStats, StoreError> {
    let mut stats = ImportStats::default();
    for thread in threads {
        let (Some(first), Some(last)) = (thread.posts.first(), thread.posts.last()) else {
            return Err(StoreError::Invalid(format!(
                "thread {} has no posts",
                thread.id
            )));
        };
        let subtopic_id = *maps
            .subtopics
            .get(&thread.subtopic)
            .ok_or_else(|| StoreError::Invalid(format!("no subtopic {:?}", thread.subtopic)))?;
        let (author_id, _) = maps.user(&first.author)?;
        let (last_poster, _) = maps.user(&last.author)?;
        let staff_answered = thread.recommended_post_id.is_some()
            || thread.posts[1..]
                .iter()
                .any(|p| maps.user(&p.author).is_ok_and(|(_, role)| role.is_staff()));
        let locked_by = thread
            .locked
            .as_ref()
            .map(|l| maps.user(&l.by))
            .transpose()?;
        conn.execute(
            sql::INSERT_THREAD,
            params![
                thread.id,
                subtopic_id,
                slugify(&thread.title),
                thread.title.trim(),
                thread.kind.as_str(),
                author_id,
                &thread.excerpt,
                first.created_at.micros(),
                last.created_at.micros(),
                last_poster,
                thread.pinned.map(|p| p.as_str()),
                thread.locked.as_ref().map(|l| l.at.micros()),
                locked_by.map(|(id, _)| id),
                thread.locked.as_ref().map(|l| l.reason.clone()),
                thread.accepted_post_id,
                thread.recommended_post_id,
                staff_answered,
                thread.posts[1..]
                    .iter()
                    .filter(|p| p.deleted.is_none() && p.hidden.is_none())
                    .count() as i64,
                first.boosts.len() as i64,
                thread.views,
            ],
        )
        .await?;
        for tag in &thread.tags {
            let tag_id = *maps
                .tags
                .get(tag.as_str())
                .ok_or_else(|| StoreError::Invalid(format!("no tag {tag:?}")))?;
            conn.execute(
                sql::INSERT_THREAD_TAG,
                params![
                    thread.id,
                    tag_id,
                    last.created_at.micros(),
                    first.created_at.micros()
                ],
            )
            .await?;
        }
        for (position, post) in thread.posts.iter().enumerate() {
            insert_post(conn, ThreadId(thread.id), position as i64, post, maps).await?;
            stats.posts += 1;
        }
        // A thread whose opening post is deleted or hidden is out of every listing.
        let removed_at = first
            .deleted
            .as_ref()
            .map(|d| d.at)
            .or(first.hidden.as_ref().map(|h| h.at));
        if let Some(at) = removed_at {
            conn.execute(
                "UPDATE threads SET removed_at = ?2 WHERE id = ?1",
                params![thread.id, at.micros()],
            )
            .await?;
            conn.execute(
                "UPDATE thread_tags SET visible = FALSE WHERE thread_id = ?1",
                params![thread.id],
            )
            .await?;
        }
        // An import is system work: the archive's authors wrote the posts, nobody made this
        // change.
        append_change(
            conn,
            ChangeKind::ThreadImported,
            None,
            Some(ThreadId(thread.id)),
            None,
        )
        .await?;
        stats.threads += 1;
        progress(posts_before + stats.posts);
    }
    Ok(stats)
}

/// Writes one post of an imported thread at `position`: the post, its revisions, its deletion
/// or hiding, and its boosts (the archive's and the Stack Exchange importer's one way to write a
/// post).
pub(crate) async fn insert_post<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    position: i64,
    post: &archive::Post,
    maps: &IdMaps,
) -> Result<(), StoreError> {
    let (post_author, _) = maps.user(&post.author)?;
    let edited_at = (post.revisions.len() > 1)
        .then(|| post.revisions.last().map(|r| r.created_at.micros()))
        .flatten();
    conn.execute(
        sql::INSERT_POST,
        params![
            post.id,
            thread.0,
            position,
            post_author,
            &post.body,
            &post.body_html,
            post.created_at.micros(),
            edited_at,
            post.boosts.len() as i64,
            post.reply_to,
        ],
    )
    .await?;
    for (n, rev) in post.revisions.iter().enumerate() {
        let (rev_author, _) = maps.user(&rev.author)?;
        conn.execute(
            sql::INSERT_REVISION,
            params![
                post.id,
                n as i64 + 1,
                rev_author,
                rev.created_at.micros(),
                rev.reason.clone(),
                &rev.body
            ],
        )
        .await?;
        crate::uploads::link_uploads(conn, PostId(post.id), &rev.body).await?;
    }
    crate::uploads::link_uploads(conn, PostId(post.id), &post.body).await?;
    if post.deleted.is_some() || post.hidden.is_some() {
        let deleted_by = post
            .deleted
            .as_ref()
            .map(|d| maps.user(&d.by))
            .transpose()?;
        let hidden_by = post.hidden.as_ref().map(|h| maps.user(&h.by)).transpose()?;
        conn.execute(
            "UPDATE posts SET deleted_at = ?2, deleted_by = ?3, hidden_at = ?4, \
             hidden_by = ?5, hidden_reason = ?6 WHERE id = ?1",
            params![
                post.id,
                post.deleted.as_ref().map(|d| d.at.micros()),
                deleted_by.map(|(id, _)| id),
                post.hidden.as_ref().map(|h| h.at.micros()),
                hidden_by.map(|(id, _)| id),
                post.hidden.as_ref().map(|h| h.reason.clone())
            ],
        )
        .await?;
    }
    for boost in &post.boosts {
        let (booster, _) = maps.user(&boost.user)?;
        conn.execute(
            sql::INSERT_BOOST,
            params![post.id, booster, boost.at.micros()],
        )
        .await?;
    }
    Ok(())
}

/// Writes flags and the audit log (archive version 2), after the threads they point at.
pub async fn import_moderation<C: Conn>(
    conn: &mut C,
    archive: &Archive,
    maps: &IdMaps,
) -> Result<(), StoreError> {
    for flag in &archive.flags {
        let (user, _) = maps.user(&flag.user)?;
        let resolved_by = flag
            .resolved
            .as_ref()
            .map(|r| maps.user(&r.by))
            .transpose()?;
        conn.execute(
            "INSERT INTO flags (post_id, user_id, reason, created_at, resolved_at, resolved_by, \
             resolution) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                flag.post_id,
                user,
                flag.reason.as_str(),
                flag.created_at.micros(),
                flag.resolved.as_ref().map(|r| r.at.micros()),
                resolved_by.map(|(id, _)| id),
                flag.resolved.as_ref().map(|r| r.resolution.clone())
            ],
        )
        .await?;
    }
    for entry in &archive.audit_log {
        let (actor, _) = maps.user(&entry.actor)?;
        let target = entry
            .target_user
            .as_ref()
            .map(|t| maps.user(t))
            .transpose()?;
        conn.execute(
            "INSERT INTO audit_log (at, actor_id, action, thread_id, post_id, target_user, \
             details) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                entry.at.micros(),
                actor,
                entry.action.as_str(),
                entry.thread_id,
                entry.post_id,
                target.map(|(id, _)| id),
                entry.details.as_str()
            ],
        )
        .await?;
    }
    Ok(())
}

/// Builds again the indexes a bulk load deferred, then recounts.
pub async fn finish_bulk<C: Conn>(conn: &mut C, maps: &IdMaps) -> Result<(), StoreError> {
    for definition in &maps.deferred_indexes {
        conn.execute(definition, &[]).await?;
    }
    finish_import(conn).await
}

/// Recomputes the stored counters and, on PostgreSQL, moves id generators past imported ids.
pub async fn finish_import<C: Conn>(conn: &mut C) -> Result<(), StoreError> {
    hold_folds(conn).await?;
    for statement in sql::RECOUNT {
        conn.execute(statement, &[]).await?;
    }
    if conn.dialect() == Dialect::Postgres {
        for statement in sql::PG_RESYNC_IDS {
            conn.query(statement, &[]).await?;
        }
    }
    Ok(())
}

/// Reads the whole forum into an archive, in the format's fixed order. Call inside one
/// read transaction for a consistent snapshot.
pub async fn export<C: Conn>(conn: &mut C) -> Result<Archive, StoreError> {
    let mut out = Archive::empty();
    let mut area_index: HashMap<i64, usize> = HashMap::new();
    for row in conn.query(sql::EXPORT_AREAS, &[]).await? {
        area_index.insert(row.int(0)?, out.areas.len());
        out.areas.push(archive::Area {
            slug: row.text(1)?,
            name: row.text(2)?,
            description: row.text(3)?,
            subtopics: Vec::new(),
            archived_at: row.opt_int(4)?.map(ts),
        });
    }
    let mut allowed: HashMap<i64, Vec<String>> = HashMap::new();
    for row in conn.query(sql::EXPORT_ALLOWED_TAGS, &[]).await? {
        allowed.entry(row.int(0)?).or_default().push(row.text(1)?);
    }
    for row in conn.query(sql::EXPORT_SUBTOPICS, &[]).await? {
        if let Some(&i) = area_index.get(&row.int(0)?) {
            out.areas[i].subtopics.push(archive::Subtopic {
                slug: row.text(1)?,
                name: row.text(2)?,
                description: row.text(3)?,
                docs_url: row.opt_text(4)?,
                allowed_tags: allowed.remove(&row.int(5)?).unwrap_or_default(),
                archived_at: row.opt_int(6)?.map(ts),
                who_starts: if row.text(7)? == "staff" {
                    archive::WhoStarts::Staff
                } else {
                    archive::WhoStarts::Everyone
                },
                tags_required: row.bool(8)?,
            });
        }
    }
    out.site = export_site(conn).await?;
    out.tags = collect(conn.query(sql::EXPORT_TAGS, &[]).await?, |r| {
        Ok(archive::Tag {
            slug: r.text(0)?,
            name: r.text(1)?,
            description: r.text(2)?,
        })
    })?;
    out.users = collect(conn.query(sql::EXPORT_USERS, &[]).await?, |r| {
        Ok(archive::User {
            username: r.text(0)?,
            display_name: r.text(1)?,
            role: r.parse(2)?,
            staff_title: r.opt_text(3)?,
            signature: r.text(4)?,
            created_at: ts(r.int(5)?),
            account: match r.opt_text(6)? {
                Some(email) => Some(archive::UserAccount {
                    email,
                    email_verified_at: r.opt_int(7)?.map(ts),
                    password_hash: r.opt_text(8)?,
                    suspended: match r.opt_int(9)? {
                        Some(until) => Some(archive::Suspension {
                            until: ts(until),
                            reason: r.opt_text(10)?.unwrap_or_default(),
                        }),
                        None => None,
                    },
                }),
                None => None,
            },
            avatar: r.opt_text(11)?,
            signature_html: String::new(),
        })
    })?;
    out.uploads = crate::uploads::export_uploads(conn).await?;
    let mut thread_index: HashMap<i64, usize> = HashMap::new();
    for r in conn.query(sql::EXPORT_THREADS, &[]).await? {
        let locked = match (r.opt_int(6)?, r.opt_text(7)?) {
            (Some(at), Some(by)) => Some(archive::Lock {
                at: ts(at),
                by,
                reason: r.opt_text(8)?.unwrap_or_default(),
            }),
            _ => None,
        };
        let thread = archive::Thread {
            id: r.int(0)?,
            subtopic: format!("{}/{}", r.text(1)?, r.text(2)?),
            title: r.text(3)?,
            kind: r.parse(4)?,
            tags: Vec::new(),
            pinned: r.opt_parse(5)?,
            locked,
            views: r.int(9)?,
            accepted_post_id: r.opt_int(10)?,
            recommended_post_id: r.opt_int(11)?,
            posts: Vec::new(),
            excerpt: String::new(),
        };
        thread_index.insert(thread.id, out.threads.len());
        out.threads.push(thread);
    }
    for r in conn.query(sql::EXPORT_THREAD_TAGS, &[]).await? {
        if let Some(&i) = thread_index.get(&r.int(0)?) {
            out.threads[i].tags.push(r.text(1)?);
        }
    }
    let mut post_index: HashMap<i64, (usize, usize)> = HashMap::new();
    for r in conn.query(sql::EXPORT_POSTS, &[]).await? {
        if let Some(&i) = thread_index.get(&r.int(1)?) {
            let post = archive::Post {
                id: r.int(0)?,
                author: r.text(2)?,
                created_at: ts(r.int(3)?),
                body: r.text(4)?,
                boosts: Vec::new(),
                revisions: Vec::new(),
                deleted: match (r.opt_int(5)?, r.opt_text(6)?) {
                    (Some(at), Some(by)) => Some(archive::Deletion { at: ts(at), by }),
                    _ => None,
                },
                hidden: match (r.opt_int(7)?, r.opt_text(8)?) {
                    (Some(at), Some(by)) => Some(archive::Hiding {
                        at: ts(at),
                        by,
                        reason: r.opt_text(9)?.unwrap_or_default(),
                    }),
                    _ => None,
                },
                reply_to: r.opt_int(10)?,
                body_html: String::new(),
            };
            post_index.insert(post.id, (i, out.threads[i].posts.len()));
            out.threads[i].posts.push(post);
        }
    }
    for r in conn.query(sql::EXPORT_BOOSTS, &[]).await? {
        if let Some(&(t, p)) = post_index.get(&r.int(0)?) {
            out.threads[t].posts[p].boosts.push(archive::Boost {
                user: r.text(1)?,
                at: ts(r.int(2)?),
            });
        }
    }
    for r in conn.query(sql::EXPORT_REVISIONS, &[]).await? {
        if let Some(&(t, p)) = post_index.get(&r.int(0)?) {
            out.threads[t].posts[p].revisions.push(archive::Revision {
                created_at: ts(r.int(1)?),
                author: r.text(2)?,
                reason: r.opt_text(3)?,
                body: r.text(4)?,
            });
        }
    }
    out.flags = collect(conn.query(sql::EXPORT_FLAGS, &[]).await?, |r| {
        Ok(archive::Flag {
            post_id: r.int(0)?,
            user: r.text(1)?,
            reason: r.text(2)?,
            created_at: ts(r.int(3)?),
            resolved: match (r.opt_int(4)?, r.opt_text(5)?) {
                (Some(at), Some(by)) => Some(archive::FlagResolution {
                    at: ts(at),
                    by,
                    resolution: r.opt_text(6)?.unwrap_or_default(),
                }),
                _ => None,
            },
        })
    })?;
    out.audit_log = collect(conn.query(sql::EXPORT_AUDIT, &[]).await?, |r| {
        Ok(archive::AuditEntry {
            at: ts(r.int(0)?),
            actor: r.text(1)?,
            action: r.text(2)?,
            thread_id: r.opt_int(3)?,
            post_id: r.opt_int(4)?,
            target_user: r.opt_text(5)?,
            details: r.text(6)?,
        })
    })?;
    out.imported = crate::sources::export_imported(conn).await?;
    Ok(out)
}

// ---------------------------------------------------------------- jobs

/// A unit of work claimed by one node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// A job that will not be tried again until staff retry it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeadJob {
    pub id: i64,
    pub kind: String,
    pub attempts: i64,
    pub last_error: String,
    pub failed_at: Timestamp,
}

/// The job queue's trouble: dead jobs, and live ones that failed and wait to be tried again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JobHealth {
    pub dead: i64,
    pub retrying: i64,
}

pub async fn enqueue_job<C: Conn>(
    conn: &mut C,
    kind: &str,
    payload: &str,
    run_after: Timestamp,
) -> Result<i64, StoreError> {
    conn.query_one(sql::ENQUEUE_JOB, params![kind, payload, run_after.micros()])
        .await?
        .int(0)
}

/// Claims the oldest ready job nobody holds (or whose holder's lease ran out).
pub async fn claim_job<C: Conn>(
    conn: &mut C,
    worker: &str,
    lease_micros: i64,
    kinds: &[String],
    now: Timestamp,
) -> Result<Option<Job>, StoreError> {
    let now = now.micros();
    let query = sql::claim_job(conn.dialect() == Dialect::Postgres, kinds.len());
    let mut values = vec![
        crate::db::Value::from(worker),
        crate::db::Value::from(now),
        crate::db::Value::from(now - lease_micros),
    ];
    values.extend(kinds.iter().map(crate::db::Value::from));
    if kinds.is_empty() {
        values.push(crate::db::Value::Null);
    }
    let row = conn.query_opt(&query, &values).await?;
    row.map(|r| {
        Ok(Job {
            id: r.int(0)?,
            kind: r.text(1)?,
            payload: r.text(2)?,
            attempts: r.int(3)?,
        })
    })
    .transpose()
}

/// Marks a claimed job done; false if this worker no longer holds it.
pub async fn finish_job<C: Conn>(conn: &mut C, id: i64, worker: &str) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            sql::FINISH_JOB,
            params![id, Timestamp::now().micros(), worker],
        )
        .await?
        == 1)
}

/// Lets go of a claimed job after a failed attempt, to be tried again at `run_after`; false
/// if this worker no longer holds it.
pub async fn reschedule_job<C: Conn>(
    conn: &mut C,
    id: i64,
    worker: &str,
    run_after: Timestamp,
    error: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(
            sql::RESCHEDULE_JOB,
            params![id, run_after.micros(), worker, error],
        )
        .await?
        == 1)
}

/// Marks a claimed job dead (never claimed again); false if this worker no longer holds it.
pub async fn kill_job<C: Conn>(
    conn: &mut C,
    id: i64,
    worker: &str,
    at: Timestamp,
    error: &str,
) -> Result<bool, StoreError> {
    Ok(conn
        .execute(sql::KILL_JOB, params![id, at.micros(), worker, error])
        .await?
        == 1)
}

/// Makes a dead job due again with its attempts counted afresh; its kind, or None when there
/// is no such dead job (already retried, or never dead).
pub async fn revive_job<C: Conn>(
    conn: &mut C,
    id: i64,
    now: Timestamp,
) -> Result<Option<String>, StoreError> {
    let Some(kind) = conn.query_opt(sql::DEAD_JOB_KIND, params![id]).await? else {
        return Ok(None);
    };
    let kind = kind.text(0)?;
    if conn
        .execute(sql::REVIVE_JOB, params![id, now.micros()])
        .await?
        == 1
    {
        Ok(Some(kind))
    } else {
        Ok(None)
    }
}

pub async fn dead_jobs<C: Conn>(conn: &mut C) -> Result<Vec<DeadJob>, StoreError> {
    let rows = conn.query(sql::DEAD_JOBS, &[]).await?;
    rows.iter()
        .map(|r| {
            Ok(DeadJob {
                id: r.int(0)?,
                kind: r.text(1)?,
                attempts: r.int(2)?,
                last_error: r.opt_text(3)?.unwrap_or_default(),
                failed_at: Timestamp::from_micros(r.int(4)?),
            })
        })
        .collect()
}

pub async fn job_health<C: Conn>(conn: &mut C) -> Result<JobHealth, StoreError> {
    let row = conn.query_one(sql::JOB_HEALTH, &[]).await?;
    Ok(JobHealth {
        dead: row.int(0)?,
        retrying: row.int(1)?,
    })
}

// ---------------------------------------------------------------- moderation

/// Locks a thread with a reason shown to readers, or unlocks it (`lock` None).
/// Returns false when there is no such thread.
pub async fn set_lock<C: Conn>(
    conn: &mut C,
    thread: ThreadId,
    lock: Option<(&str, &str)>,
) -> Result<bool, StoreError> {
    let mut actor = None;
    let changed = match lock {
        Some((by, reason)) => {
            let by = conn
                .query_opt(sql::USER_ID_BY_KEY, params![archive::username_key(by)])
                .await?
                .ok_or_else(|| StoreError::Invalid(format!("no user named {by:?}")))?
                .int(0)?;
            actor = Some(UserId(by));
            conn.execute(
                sql::LOCK_THREAD,
                params![thread.0, Timestamp::now().micros(), by, reason],
            )
            .await?
        }
        None => conn.execute(sql::UNLOCK_THREAD, params![thread.0]).await?,
    };
    if changed == 0 {
        return Ok(false);
    }
    let kind = if lock.is_some() {
        ChangeKind::ThreadLocked
    } else {
        ChangeKind::ThreadUnlocked
    };
    // An unlock through this operator door names no account (the web's goes through
    // `forum::lock_thread`, with its moderator).
    append_change(conn, kind, actor, Some(thread), None).await?;
    Ok(true)
}
