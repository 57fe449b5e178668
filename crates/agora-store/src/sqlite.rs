//! The embedded SQLite backend: one writer connection and a small pool of read-only
//! connections over the same WAL database, each used on tokio's blocking pool.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OpenFlags, OptionalExtension, Row, params};
use tokio::sync::Semaphore;

use crate::archive::{self, Archive};
use crate::model::*;
use crate::sql;
use crate::{ImportStats, StoreError, slugify};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How SQLite syncs the WAL: `Normal` survives a crash of the process (what a server sees),
/// `Full` also survives power loss at the cost of an fsync per commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    #[default]
    Normal,
    Full,
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
    writer: Mutex<Connection>,
}

fn configure(conn: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(
        None,
        "synchronous",
        match synchronous {
            Synchronous::Normal => "NORMAL",
            Synchronous::Full => "FULL",
        },
    )?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    conn.pragma_update(None, "cache_size", -16_000)?; // 16 MB per connection
    conn.pragma_update(None, "mmap_size", 256 * 1024 * 1024)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, switches it to WAL and applies migrations.
    pub fn open(path: &Path, readers: usize, synchronous: Synchronous) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "{} could not be switched to WAL mode (it is in {mode} mode)",
                path.display()
            )));
        }
        configure(&writer, synchronous)?;
        embedded::migrations::runner()
            .run(&mut writer)
            .map_err(|e| StoreError::Migration(e.to_string()))?;
        let readers = readers.max(1);
        let mut pool = Vec::with_capacity(readers);
        for _ in 0..readers {
            let conn = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY
                    | OpenFlags::SQLITE_OPEN_NO_MUTEX
                    | OpenFlags::SQLITE_OPEN_URI,
            )?;
            configure(&conn, synchronous)?;
            pool.push(conn);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                readers: Mutex::new(pool),
                reader_permits: Semaphore::new(readers),
                writer: Mutex::new(writer),
            }),
        })
    }

    /// Runs `f` on a read-only connection, off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner
                .readers
                .lock()
                .map_err(|_| StoreError::Closed)?
                .pop()
                .ok_or(StoreError::Closed)?;
            let result = f(&conn);
            if let Ok(mut pool) = inner.readers.lock() {
                pool.push(conn);
            }
            result
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Runs `f` in one transaction on the writer connection, off the async runtime.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&rusqlite::Transaction<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = inner.writer.lock().map_err(|_| StoreError::Closed)?;
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let value = f(&tx)?;
            tx.commit()?;
            Ok(value)
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Checkpoints the WAL into the main file; called on clean shutdown.
    pub async fn close(&self) -> Result<(), StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.writer.lock().map_err(|_| StoreError::Closed)?;
            conn.pragma_update(None, "wal_checkpoint", "TRUNCATE")?;
            Ok(())
        })
        .await
        .map_err(|e| StoreError::Internal(e.to_string()))?
    }
}

// ---------------------------------------------------------------- row readers

fn ts(v: i64) -> Timestamp {
    Timestamp::from_micros(v)
}

fn parse<T: std::str::FromStr<Err = String>>(text: String) -> rusqlite::Result<T> {
    text.parse().map_err(|e: String| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, e.into())
    })
}

fn read_user_brief(row: &Row<'_>, at: usize) -> rusqlite::Result<UserBrief> {
    Ok(UserBrief {
        id: UserId(row.get(at)?),
        username: row.get(at + 1)?,
        display_name: row.get(at + 2)?,
        role: parse(row.get(at + 3)?)?,
        staff_title: row.get(at + 4)?,
    })
}

fn read_summary(row: &Row<'_>) -> rusqlite::Result<ThreadSummary> {
    let pin: Option<String> = row.get(18)?;
    Ok(ThreadSummary {
        id: ThreadId(row.get(0)?),
        slug: row.get(1)?,
        title: row.get(2)?,
        excerpt: row.get(3)?,
        kind: parse(row.get(4)?)?,
        area_slug: row.get(5)?,
        subtopic_slug: row.get(6)?,
        subtopic_name: row.get(7)?,
        author: read_user_brief(row, 8)?,
        created_at: ts(row.get(13)?),
        last_activity_at: ts(row.get(14)?),
        reply_count: row.get(15)?,
        boost_count: row.get(16)?,
        view_count: row.get(17)?,
        pin_scope: pin.map(parse).transpose()?,
        locked: row.get(19)?,
        solved: row.get(20)?,
        staff_answered: row.get(21)?,
        tags: Vec::new(),
    })
}

fn read_subtopic(row: &Row<'_>) -> rusqlite::Result<SubtopicRow> {
    Ok(SubtopicRow {
        id: SubtopicId(row.get(0)?),
        area_slug: row.get(1)?,
        area_name: row.get(2)?,
        slug: row.get(3)?,
        name: row.get(4)?,
        description: row.get(5)?,
        docs_url: row.get(6)?,
        thread_count: row.get(7)?,
        post_count: row.get(8)?,
        last_activity_at: row.get::<_, Option<i64>>(9)?.map(ts),
    })
}

fn read_tag(row: &Row<'_>) -> rusqlite::Result<TagRow> {
    Ok(TagRow {
        id: TagId(row.get(0)?),
        slug: row.get(1)?,
        name: row.get(2)?,
        description: row.get(3)?,
        thread_count: row.get(4)?,
    })
}

fn read_post(row: &Row<'_>) -> rusqlite::Result<PostRow> {
    Ok(PostRow {
        id: PostId(row.get(0)?),
        thread_id: ThreadId(row.get(1)?),
        position: row.get(2)?,
        author: read_user_brief(row, 3)?,
        author_signature_html: row.get(8)?,
        body_html: row.get(9)?,
        created_at: ts(row.get(10)?),
        edited_at: row.get::<_, Option<i64>>(11)?.map(ts),
        boost_count: row.get(12)?,
    })
}

/// Fills in the tags of listed threads with one query.
fn attach_tags(conn: &Connection, threads: &mut [ThreadSummary]) -> Result<(), StoreError> {
    if threads.is_empty() {
        return Ok(());
    }
    let placeholders = vec!["?"; threads.len()].join(",");
    let query = format!(
        "{}({placeholders}){}",
        sql::TAGS_OF_THREADS_PREFIX,
        sql::TAGS_OF_THREADS_SUFFIX
    );
    let mut stmt = conn.prepare_cached(&query)?;
    let ids: Vec<i64> = threads.iter().map(|t| t.id.0).collect();
    let mut by_thread: HashMap<i64, Vec<TagBrief>> = HashMap::new();
    let rows = stmt.query_map(rusqlite::params_from_iter(ids.iter()), |row| {
        Ok((
            row.get::<_, i64>(0)?,
            TagBrief {
                slug: row.get(1)?,
                name: row.get(2)?,
            },
        ))
    })?;
    for row in rows {
        let (id, tag) = row?;
        by_thread.entry(id).or_default().push(tag);
    }
    for thread in threads {
        if let Some(tags) = by_thread.remove(&thread.id.0) {
            thread.tags = tags;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- reads

pub(crate) fn areas(conn: &Connection) -> Result<Vec<AreaRow>, StoreError> {
    let mut areas: Vec<AreaRow> = conn
        .prepare_cached(sql::AREAS)?
        .query_map([], |row| {
            Ok(AreaRow {
                id: AreaId(row.get(0)?),
                slug: row.get(1)?,
                name: row.get(2)?,
                description: row.get(3)?,
                subtopics: Vec::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut stmt = conn.prepare_cached(&sql::subtopics_all())?;
    let subs = stmt.query_map([], |row| Ok((AreaId(row.get(10)?), read_subtopic(row)?)))?;
    for sub in subs {
        let (area_id, sub) = sub?;
        if let Some(area) = areas.iter_mut().find(|a| a.id == area_id) {
            area.subtopics.push(sub);
        }
    }
    Ok(areas)
}

pub(crate) fn subtopic(
    conn: &Connection,
    area: &str,
    sub: &str,
) -> Result<Option<SubtopicRow>, StoreError> {
    Ok(conn
        .prepare_cached(&sql::subtopic_by_slugs())?
        .query_row(params![area, sub], read_subtopic)
        .optional()?)
}

pub(crate) fn tag(conn: &Connection, slug: &str) -> Result<Option<TagRow>, StoreError> {
    Ok(conn
        .prepare_cached(sql::TAG_BY_SLUG)?
        .query_row([slug], read_tag)
        .optional()?)
}

pub(crate) fn tags(conn: &Connection) -> Result<Vec<TagRow>, StoreError> {
    Ok(conn
        .prepare_cached(sql::TAGS_ALL)?
        .query_map([], read_tag)?
        .collect::<Result<_, _>>()?)
}

pub(crate) fn user(conn: &Connection, username: &str) -> Result<Option<UserRow>, StoreError> {
    Ok(conn
        .prepare_cached(sql::USER_BY_KEY)?
        .query_row([archive::username_key(username)], |row| {
            Ok(UserRow {
                brief: read_user_brief(row, 0)?,
                signature_html: row.get(5)?,
                created_at: ts(row.get(6)?),
                thread_count: row.get(7)?,
                post_count: row.get(8)?,
            })
        })
        .optional()?)
}

pub(crate) fn pinned(
    conn: &Connection,
    subtopic: SubtopicId,
) -> Result<Vec<ThreadSummary>, StoreError> {
    let mut threads: Vec<ThreadSummary> = conn
        .prepare_cached(&sql::pinned())?
        .query_map([subtopic.0], read_summary)?
        .collect::<Result<_, _>>()?;
    attach_tags(conn, &mut threads)?;
    Ok(threads)
}

pub(crate) fn listing(conn: &Connection, q: &ListingQuery) -> Result<ListingPage, StoreError> {
    let scope_id = match q.scope {
        ListingScope::Subtopic(id) => id.0,
        ListingScope::Tag(id) => id.0,
        ListingScope::Author(id) => id.0,
    };
    let per_page = i64::from(q.per_page.max(1));
    let offset = i64::from(q.page.saturating_sub(1)) * per_page;
    let mut threads: Vec<ThreadSummary> = conn
        .prepare_cached(&sql::listing(q))?
        .query_map(params![scope_id, per_page + 1, offset], read_summary)?
        .collect::<Result<_, _>>()?;
    let has_more = threads.len() as i64 > per_page;
    threads.truncate(per_page as usize);
    attach_tags(conn, &mut threads)?;
    Ok(ListingPage { threads, has_more })
}

pub(crate) fn thread(conn: &Connection, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
    let row = conn
        .prepare_cached(&sql::thread_by_id())?
        .query_row([id.0], |row| {
            let w = sql::SUMMARY_WIDTH;
            Ok(ThreadRow {
                summary: read_summary(row)?,
                subtopic_id: SubtopicId(row.get(w)?),
                lock_reason: row.get(w + 1)?,
                locked_at: row.get::<_, Option<i64>>(w + 2)?.map(ts),
                accepted_post_id: row.get::<_, Option<i64>>(w + 3)?.map(PostId),
                recommended_post_id: row.get::<_, Option<i64>>(w + 4)?.map(PostId),
            })
        })
        .optional()?;
    let Some(mut row) = row else { return Ok(None) };
    attach_tags(conn, std::slice::from_mut(&mut row.summary))?;
    Ok(Some(row))
}

pub(crate) fn posts(
    conn: &Connection,
    thread: ThreadId,
    from: i64,
    to: i64,
) -> Result<Vec<PostRow>, StoreError> {
    Ok(conn
        .prepare_cached(&sql::posts_range())?
        .query_map(params![thread.0, from, to], read_post)?
        .collect::<Result<_, _>>()?)
}

pub(crate) fn post(conn: &Connection, id: PostId) -> Result<Option<PostRow>, StoreError> {
    Ok(conn
        .prepare_cached(&sql::post_by_id())?
        .query_row([id.0], read_post)
        .optional()?)
}

pub(crate) fn revisions(conn: &Connection, post: PostId) -> Result<Vec<RevisionRow>, StoreError> {
    Ok(conn
        .prepare_cached(sql::REVISIONS)?
        .query_map([post.0], |row| {
            Ok(RevisionRow {
                revision: row.get(0)?,
                author: read_user_brief(row, 1)?,
                created_at: ts(row.get(6)?),
                reason: row.get(7)?,
                body_md: row.get(8)?,
            })
        })?
        .collect::<Result<_, _>>()?)
}

pub(crate) fn change_head(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached(sql::CHANGE_HEAD)?
        .query_row([], |r| r.get(0))?)
}

pub(crate) fn is_empty(conn: &Connection) -> Result<bool, StoreError> {
    let count: i64 = conn
        .prepare_cached(sql::COUNT_CONTENT)?
        .query_row([], |r| r.get(0))?;
    Ok(count == 0)
}

// ---------------------------------------------------------------- writes

fn append_change(
    tx: &Connection,
    kind: &str,
    thread: Option<ThreadId>,
    post: Option<PostId>,
) -> Result<(), StoreError> {
    tx.prepare_cached(sql::APPEND_CHANGE)?.execute(params![
        Timestamp::now().micros(),
        kind,
        thread.map(|t| t.0),
        post.map(|p| p.0)
    ])?;
    Ok(())
}

pub(crate) fn add_views(tx: &Connection, views: &[(ThreadId, i64)]) -> Result<(), StoreError> {
    let mut stmt = tx.prepare_cached(sql::ADD_VIEWS)?;
    for (thread, count) in views {
        stmt.execute(params![thread.0, count])?;
    }
    Ok(())
}

/// Loads a validated archive into an empty database; derived fields must be filled.
pub(crate) fn import(
    tx: &Connection,
    archive: &Archive,
    progress: &(dyn Fn(u64) + Send + Sync),
) -> Result<ImportStats, StoreError> {
    if !is_empty(tx)? {
        return Err(StoreError::NotEmpty);
    }
    let mut subtopic_ids: HashMap<String, i64> = HashMap::new();
    for (position, area) in archive.areas.iter().enumerate() {
        let area_id: i64 = tx.prepare_cached(sql::INSERT_AREA)?.query_row(
            params![area.slug, area.name, area.description, position as i64],
            |r| r.get(0),
        )?;
        for (position, sub) in area.subtopics.iter().enumerate() {
            let id: i64 = tx.prepare_cached(sql::INSERT_SUBTOPIC)?.query_row(
                params![
                    area_id,
                    sub.slug,
                    sub.name,
                    sub.description,
                    sub.docs_url,
                    position as i64
                ],
                |r| r.get(0),
            )?;
            subtopic_ids.insert(format!("{}/{}", area.slug, sub.slug), id);
        }
    }
    let mut tag_ids: HashMap<&str, i64> = HashMap::new();
    for tag in &archive.tags {
        let id: i64 = tx
            .prepare_cached(sql::INSERT_TAG)?
            .query_row(params![tag.slug, tag.name, tag.description], |r| r.get(0))?;
        tag_ids.insert(&tag.slug, id);
    }
    let mut users: HashMap<String, (i64, Role)> = HashMap::new();
    for user in &archive.users {
        let key = archive::username_key(&user.username);
        let id: i64 = tx.prepare_cached(sql::INSERT_USER)?.query_row(
            params![
                user.username,
                key,
                user.display_name,
                user.role.as_str(),
                user.staff_title,
                user.signature,
                user.signature_html,
                user.created_at.micros()
            ],
            |r| r.get(0),
        )?;
        users.insert(key, (id, user.role));
    }
    let user_id = |name: &str| -> Result<(i64, Role), StoreError> {
        users
            .get(&archive::username_key(name))
            .copied()
            .ok_or_else(|| StoreError::Invalid(format!("no user named {name:?}")))
    };
    let mut stats = ImportStats::default();
    for thread in &archive.threads {
        let (Some(first), Some(last)) = (thread.posts.first(), thread.posts.last()) else {
            return Err(StoreError::Invalid(format!(
                "thread {} has no posts",
                thread.id
            )));
        };
        let subtopic_id = *subtopic_ids
            .get(&thread.subtopic)
            .ok_or_else(|| StoreError::Invalid(format!("no subtopic {:?}", thread.subtopic)))?;
        let (author_id, _) = user_id(&first.author)?;
        let (last_poster, _) = user_id(&last.author)?;
        let staff_answered = thread.recommended_post_id.is_some()
            || thread.posts[1..]
                .iter()
                .any(|p| user_id(&p.author).is_ok_and(|(_, role)| role.is_staff()));
        let locked_by = thread.locked.as_ref().map(|l| user_id(&l.by)).transpose()?;
        tx.prepare_cached(sql::INSERT_THREAD)?.execute(params![
            thread.id,
            subtopic_id,
            slugify(&thread.title),
            thread.title.trim(),
            thread.kind.as_str(),
            author_id,
            thread.excerpt,
            first.created_at.micros(),
            last.created_at.micros(),
            last_poster,
            thread.pinned.map(|p| p.as_str()),
            thread.locked.as_ref().map(|l| l.at.micros()),
            locked_by.map(|(id, _)| id),
            thread.locked.as_ref().map(|l| l.reason.as_str()),
            thread.accepted_post_id,
            thread.recommended_post_id,
            staff_answered,
            thread.posts.len() as i64 - 1,
            first.boosts.len() as i64,
            thread.views,
        ])?;
        for tag in &thread.tags {
            let tag_id = tag_ids
                .get(tag.as_str())
                .ok_or_else(|| StoreError::Invalid(format!("no tag {tag:?}")))?;
            tx.prepare_cached(sql::INSERT_THREAD_TAG)?.execute(params![
                thread.id,
                tag_id,
                last.created_at.micros()
            ])?;
        }
        for (position, post) in thread.posts.iter().enumerate() {
            let (post_author, _) = user_id(&post.author)?;
            let edited_at = (post.revisions.len() > 1)
                .then(|| post.revisions.last().map(|r| r.created_at.micros()))
                .flatten();
            tx.prepare_cached(sql::INSERT_POST)?.execute(params![
                post.id,
                thread.id,
                position as i64,
                post_author,
                post.body,
                post.body_html,
                post.created_at.micros(),
                edited_at,
                post.boosts.len() as i64,
            ])?;
            for (n, rev) in post.revisions.iter().enumerate() {
                let (rev_author, _) = user_id(&rev.author)?;
                tx.prepare_cached(sql::INSERT_REVISION)?.execute(params![
                    post.id,
                    n as i64 + 1,
                    rev_author,
                    rev.created_at.micros(),
                    rev.reason,
                    rev.body
                ])?;
            }
            for boost in &post.boosts {
                let (booster, _) = user_id(&boost.user)?;
                tx.prepare_cached(sql::INSERT_BOOST)?.execute(params![
                    post.id,
                    booster,
                    boost.at.micros()
                ])?;
            }
            stats.posts += 1;
        }
        append_change(tx, "thread.imported", Some(ThreadId(thread.id)), None)?;
        stats.threads += 1;
        progress(stats.posts);
    }
    for statement in sql::RECOUNT {
        tx.execute(statement, [])?;
    }
    stats.users = archive.users.len() as u64;
    Ok(stats)
}

/// Reads the whole forum into an archive, in the format's fixed order.
pub(crate) fn export(conn: &Connection) -> Result<Archive, StoreError> {
    let mut out = Archive::empty();
    let mut area_index: HashMap<i64, usize> = HashMap::new();
    for row in conn.prepare(sql::EXPORT_AREAS)?.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            archive::Area {
                slug: r.get(1)?,
                name: r.get(2)?,
                description: r.get(3)?,
                subtopics: Vec::new(),
            },
        ))
    })? {
        let (id, area) = row?;
        area_index.insert(id, out.areas.len());
        out.areas.push(area);
    }
    for row in conn.prepare(sql::EXPORT_SUBTOPICS)?.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            archive::Subtopic {
                slug: r.get(1)?,
                name: r.get(2)?,
                description: r.get(3)?,
                docs_url: r.get(4)?,
            },
        ))
    })? {
        let (area_id, sub) = row?;
        if let Some(&i) = area_index.get(&area_id) {
            out.areas[i].subtopics.push(sub);
        }
    }
    out.tags = conn
        .prepare(sql::EXPORT_TAGS)?
        .query_map([], |r| {
            Ok(archive::Tag {
                slug: r.get(0)?,
                name: r.get(1)?,
                description: r.get(2)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    out.users = conn
        .prepare(sql::EXPORT_USERS)?
        .query_map([], |r| {
            Ok(archive::User {
                username: r.get(0)?,
                display_name: r.get(1)?,
                role: parse(r.get(2)?)?,
                staff_title: r.get(3)?,
                signature: r.get(4)?,
                created_at: ts(r.get(5)?),
                signature_html: String::new(),
            })
        })?
        .collect::<Result<_, _>>()?;
    let mut thread_index: HashMap<i64, usize> = HashMap::new();
    for row in conn.prepare(sql::EXPORT_THREADS)?.query_map([], |r| {
        let pin: Option<String> = r.get(5)?;
        let locked_at: Option<i64> = r.get(6)?;
        let locked_by: Option<String> = r.get(7)?;
        let lock_reason: Option<String> = r.get(8)?;
        let locked = match (locked_at, locked_by) {
            (Some(at), Some(by)) => Some(archive::Lock {
                at: ts(at),
                by,
                reason: lock_reason.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(archive::Thread {
            id: r.get(0)?,
            subtopic: format!("{}/{}", r.get::<_, String>(1)?, r.get::<_, String>(2)?),
            title: r.get(3)?,
            kind: parse(r.get(4)?)?,
            tags: Vec::new(),
            pinned: pin.map(parse).transpose()?,
            locked,
            views: r.get(9)?,
            accepted_post_id: r.get(10)?,
            recommended_post_id: r.get(11)?,
            posts: Vec::new(),
            excerpt: String::new(),
        })
    })? {
        let thread = row?;
        thread_index.insert(thread.id, out.threads.len());
        out.threads.push(thread);
    }
    for row in conn
        .prepare(sql::EXPORT_THREAD_TAGS)?
        .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?
    {
        let (thread, tag) = row?;
        if let Some(&i) = thread_index.get(&thread) {
            out.threads[i].tags.push(tag);
        }
    }
    let mut post_index: HashMap<i64, (usize, usize)> = HashMap::new();
    for row in conn.prepare(sql::EXPORT_POSTS)?.query_map([], |r| {
        Ok((
            r.get::<_, i64>(1)?,
            archive::Post {
                id: r.get(0)?,
                author: r.get(2)?,
                created_at: ts(r.get(3)?),
                body: r.get(4)?,
                boosts: Vec::new(),
                revisions: Vec::new(),
                body_html: String::new(),
            },
        ))
    })? {
        let (thread, post) = row?;
        if let Some(&i) = thread_index.get(&thread) {
            post_index.insert(post.id, (i, out.threads[i].posts.len()));
            out.threads[i].posts.push(post);
        }
    }
    for row in conn.prepare(sql::EXPORT_BOOSTS)?.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            archive::Boost {
                user: r.get(1)?,
                at: ts(r.get(2)?),
            },
        ))
    })? {
        let (post, boost) = row?;
        if let Some(&(t, p)) = post_index.get(&post) {
            out.threads[t].posts[p].boosts.push(boost);
        }
    }
    for row in conn.prepare(sql::EXPORT_REVISIONS)?.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            archive::Revision {
                created_at: ts(r.get(1)?),
                author: r.get(2)?,
                reason: r.get(3)?,
                body: r.get(4)?,
            },
        ))
    })? {
        let (post, rev) = row?;
        if let Some(&(t, p)) = post_index.get(&post) {
            out.threads[t].posts[p].revisions.push(rev);
        }
    }
    Ok(out)
}
