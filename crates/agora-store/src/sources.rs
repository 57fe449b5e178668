//! Content imported from another site into a forum that need not be empty, remembered by the
//! source's own ids (`import_sources`, V17) so that importing the same source again adds only
//! what is new.
//!
//! The store knows no source's format: `agora::services::stackexchange` reads a data dump and
//! hands over archive records ([`archive::Thread`], [`archive::Post`]), which are written by the
//! archive import's own code (`queries::import_threads`, `queries::insert_post`): the same rows,
//! counters and `thread.imported` change-log entries. What differs is that ids are given here
//! (the forum may already hold threads, and another node may be writing), that each batch
//! commits on its own (a long import that stops is resumed by running it again), and that
//! boosts can be counts without boosters.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::archive;
use crate::db::{Conn, Dialect, Value, params};
use crate::model::*;
use crate::postgres::PgConn;
use crate::queries::{self, IdMaps};
use crate::structure::{RedirectKind, clear_redirect, recount_subtopics, recount_tag};
use crate::{Backend, Store, StoreError, sql, sqlite};

/// What a row of `import_sources` maps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    /// A source's user → `users.id`.
    User,
    /// A source's question → `threads.id`.
    Thread,
    /// A source's question or answer → `posts.id`.
    Post,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::User => "user",
            SourceKind::Thread => "thread",
            SourceKind::Post => "post",
        }
    }
}

/// An account to make for one of a source's users: no email, no password (it cannot sign in).
#[derive(Clone, Debug)]
pub struct SourcedUser {
    pub source_id: i64,
    /// The username wanted (valid: see [`archive::is_username`]); a free variant is chosen when
    /// it, or a name that looks like it, is taken (`name-2`, `name-3`…).
    pub username: String,
    pub display_name: String,
    pub created_at: Timestamp,
}

/// Where a post came from, and the boosts it carries from there (a count: who gave them is
/// not known here, so no `boosts` rows are written and nobody can take one back).
#[derive(Clone, Copy, Debug)]
pub struct PostOrigin {
    pub source_id: i64,
    pub boosts: i64,
}

/// A new thread. Its id and its posts' ids (and what refers to them: `accepted_post_id`,
/// `recommended_post_id`, `reply_to`) are the caller's own numbers, distinct within the
/// thread; the store gives them real ones. `origins` runs beside `thread.posts`.
#[derive(Clone, Debug)]
pub struct SourcedThread {
    pub thread: archive::Thread,
    pub source_id: i64,
    pub origins: Vec<PostOrigin>,
}

/// Replies to a thread imported earlier (a newer dump's answers), appended in order.
#[derive(Clone, Debug)]
pub struct SourcedReplies {
    /// The source's id of the thread (its question).
    pub thread_source_id: i64,
    /// Ids are ignored; `reply_to` must be None.
    pub posts: Vec<archive::Post>,
    pub origins: Vec<PostOrigin>,
    /// The source's id of the thread's accepted answer, when it is among `posts` (an accepted
    /// answer already set is kept).
    pub accepted: Option<i64>,
}

/// One transaction's worth of imported threads and replies from one source.
#[derive(Clone, Debug, Default)]
pub struct SourcedBatch {
    /// The source, e.g. `history.meta.stackexchange.com`.
    pub source: String,
    pub threads: Vec<SourcedThread>,
    pub replies: Vec<SourcedReplies>,
}

/// What a batch wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Each new thread: the source's id and the thread's.
    pub threads: Vec<(i64, ThreadId)>,
    /// Posts written, opening posts and replies.
    pub posts: u64,
    /// Of those, replies appended to threads imported earlier.
    pub appended: u64,
    /// Threads and posts left out: imported already (another run got there first), or their
    /// thread is gone from this forum.
    pub skipped: u64,
}

/// The area and subtopic imported threads go to, made when missing.
#[derive(Clone, Debug)]
pub struct ImportPlace {
    pub area_slug: String,
    pub area_name: String,
    pub subtopic_slug: String,
    pub subtopic_name: String,
    pub subtopic_description: String,
}

/// Ids are looked up in lists of this many, padded (every list one prepared statement).
const ID_CHUNK: usize = 100;
/// Pads a short list of source ids: no source uses it.
const NO_ID: i64 = i64::MIN;

impl Store {
    /// Which of `ids` were imported from `source` as `kind`, with the local id each became
    /// (which may since have been deleted).
    pub async fn imported_ids(
        &self,
        source: &str,
        kind: SourceKind,
        ids: Vec<i64>,
    ) -> Result<HashMap<i64, i64>, StoreError> {
        let source = source.to_string();
        read!(self, |conn| {
            let marks = (3..ID_CHUNK + 3)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let query = format!(
                "SELECT source_id, local_id FROM import_sources \
                 WHERE source = ?1 AND kind = ?2 AND source_id IN ({marks})"
            );
            let mut found = HashMap::new();
            for chunk in ids.chunks(ID_CHUNK) {
                let mut values = vec![Value::from(source.as_str()), Value::from(kind.as_str())];
                values.extend(chunk.iter().map(|&id| Value::Int(id)));
                values.resize(ID_CHUNK + 2, Value::Int(NO_ID));
                for row in conn.query(&query, &values).await? {
                    found.insert(row.int(0)?, row.int(1)?);
                }
            }
            Ok(found)
        })
    }

    /// Every thread imported from `source` that this forum still has: (the source's id of its
    /// question, the thread), in the source's order.
    pub async fn imported_threads(&self, source: &str) -> Result<Vec<(i64, ThreadId)>, StoreError> {
        let source = source.to_string();
        read!(self, |conn| {
            conn.query(
                "SELECT s.source_id, s.local_id FROM import_sources s \
                 JOIN threads t ON t.id = s.local_id \
                 WHERE s.source = ?1 AND s.kind = 'thread' ORDER BY s.source_id",
                params![source.as_str()],
            )
            .await?
            .iter()
            .map(|row| Ok((row.int(0)?, ThreadId(row.int(1)?))))
            .collect()
        })
    }

    /// Makes an account for each of a source's users not imported yet (or whose account was
    /// deleted since), in one transaction; returns every given user's username here, and how
    /// many accounts were made.
    pub async fn import_users(
        &self,
        source: &str,
        users: Vec<SourcedUser>,
    ) -> Result<(HashMap<i64, String>, u64), StoreError> {
        let source = source.to_string();
        write!(self, |conn| write_users(conn, &source, &users).await)
    }

    /// The area and subtopic imports go to, made if missing; returns `area/subtopic`.
    pub async fn ensure_import_place(&self, place: ImportPlace) -> Result<String, StoreError> {
        write!(self, |conn| ensure_place(conn, &place).await)
    }

    /// Makes the tags that do not exist yet (by slug); existing ones are left as they are.
    pub async fn ensure_tags(&self, tags: Vec<archive::Tag>) -> Result<u64, StoreError> {
        write!(self, |conn| {
            let mut made = 0;
            for tag in &tags {
                let inserted = conn
                    .execute(
                        "INSERT INTO tags (slug, name, description) VALUES (?1, ?2, ?3) \
                         ON CONFLICT (slug) DO NOTHING",
                        params![
                            tag.slug.as_str(),
                            tag.name.as_str(),
                            tag.description.as_str()
                        ],
                    )
                    .await?;
                if inserted > 0 {
                    clear_redirect(conn, RedirectKind::Tag, &tag.slug).await?;
                    made += 1;
                }
            }
            if made > 0 {
                queries::append_change(conn, ChangeKind::TaxonomyChanged, None, None, None).await?;
            }
            Ok(made)
        })
    }

    /// Writes a batch of imported threads and replies in one transaction, with their
    /// `import_sources` rows, the counters they move, and a `thread.imported` change-log entry
    /// per thread touched (the search index follows). Threads and posts whose source id is
    /// already here are skipped.
    pub async fn import_sourced(
        &self,
        batch: Arc<SourcedBatch>,
    ) -> Result<BatchOutcome, StoreError> {
        write!(self, |conn| write_batch(conn, &batch).await)
    }
}

async fn mapped<C: Conn>(
    conn: &mut C,
    source: &str,
    kind: SourceKind,
    id: i64,
) -> Result<Option<i64>, StoreError> {
    conn.query_opt(
        "SELECT local_id FROM import_sources WHERE source = ?1 AND kind = ?2 AND source_id = ?3",
        params![source, kind.as_str(), id],
    )
    .await?
    .map(|row| row.int(0))
    .transpose()
}

pub(crate) async fn remember<C: Conn>(
    conn: &mut C,
    source: &str,
    kind: SourceKind,
    id: i64,
    local: i64,
) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO import_sources (source, kind, source_id, local_id) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (source, kind, source_id) DO UPDATE SET local_id = excluded.local_id",
        params![source, kind.as_str(), id, local],
    )
    .await?;
    Ok(())
}

/// `n` new ids for `table`, taken so that nothing else writing at the same time can take them:
/// on SQLite inside the one writer's transaction, on PostgreSQL from the table's sequence.
async fn new_ids<C: Conn>(conn: &mut C, table: &str, n: usize) -> Result<Vec<i64>, StoreError> {
    if n == 0 {
        return Ok(Vec::new());
    }
    match conn.dialect() {
        Dialect::Sqlite => {
            let max = conn
                .query_one(&format!("SELECT COALESCE(MAX(id), 0) FROM {table}"), &[])
                .await?
                .int(0)?;
            Ok((1..=n as i64).map(|i| max + i).collect())
        }
        Dialect::Postgres => conn
            .query(
                &format!(
                    "SELECT nextval(pg_get_serial_sequence('{table}', 'id')) \
                     FROM generate_series(1, {n})"
                ),
                &[],
            )
            .await?
            .iter()
            .map(|row| row.int(0))
            .collect(),
    }
}

/// Longest username kept before a `-N` suffix is added.
const USERNAME_BASE_CHARS: usize = 32;

/// `wanted`, or `wanted-2`, `wanted-3`… : the first that neither an account's name nor its
/// look-alike skeleton takes.
async fn free_username<C: Conn>(conn: &mut C, wanted: &str) -> Result<String, StoreError> {
    let base: String = wanted.chars().take(USERNAME_BASE_CHARS).collect();
    for n in 1..=10_000u32 {
        let candidate = if n == 1 {
            base.clone()
        } else {
            format!("{base}-{n}")
        };
        let taken = conn
            .query_opt(
                "SELECT 1 FROM users WHERE username_key = ?1 OR name_skeleton = ?2",
                params![
                    archive::username_key(&candidate),
                    archive::name_skeleton(&candidate)
                ],
            )
            .await?
            .is_some();
        if !taken {
            return Ok(candidate);
        }
    }
    Err(StoreError::Invalid(format!(
        "no free username like {wanted:?}"
    )))
}

async fn write_users<C: Conn>(
    conn: &mut C,
    source: &str,
    users: &[SourcedUser],
) -> Result<(HashMap<i64, String>, u64), StoreError> {
    let mut names = HashMap::new();
    let mut made = 0;
    for user in users {
        if names.contains_key(&user.source_id) {
            continue;
        }
        // An account deleted since is made again (its row then points at the new one).
        let existing = conn
            .query_opt(
                "SELECT u.username FROM import_sources s JOIN users u ON u.id = s.local_id \
                 WHERE s.source = ?1 AND s.kind = 'user' AND s.source_id = ?2",
                params![source, user.source_id],
            )
            .await?;
        if let Some(row) = existing {
            names.insert(user.source_id, row.text(0)?);
            continue;
        }
        if !archive::is_username(&user.username) {
            return Err(StoreError::Invalid(format!(
                "{:?} is not a username",
                user.username
            )));
        }
        let username = free_username(conn, &user.username).await?;
        let id = conn
            .query_one(
                sql::INSERT_USER,
                params![
                    username.as_str(),
                    archive::username_key(&username),
                    user.display_name.as_str(),
                    Role::Member.as_str(),
                    None::<String>,
                    "",
                    "",
                    user.created_at.micros(),
                    archive::name_skeleton(&username)
                ],
            )
            .await?
            .int(0)?;
        remember(conn, source, SourceKind::User, user.source_id, id).await?;
        names.insert(user.source_id, username);
        made += 1;
    }
    Ok((names, made))
}

async fn ensure_place<C: Conn>(conn: &mut C, place: &ImportPlace) -> Result<String, StoreError> {
    for slug in [&place.area_slug, &place.subtopic_slug] {
        if !archive::is_slug(slug) {
            return Err(StoreError::Invalid(format!(
                "{slug:?} is not a slug (a-z, 0-9, -)"
            )));
        }
    }
    let mut made = false;
    let area = match conn
        .query_opt(
            "SELECT id FROM areas WHERE slug = ?1",
            params![place.area_slug.as_str()],
        )
        .await?
    {
        Some(row) => row.int(0)?,
        None => {
            let position = conn
                .query_one("SELECT COALESCE(MAX(position), -1) + 1 FROM areas", &[])
                .await?
                .int(0)?;
            made = true;
            let id = conn
                .query_one(
                    sql::INSERT_AREA,
                    params![
                        place.area_slug.as_str(),
                        place.area_name.as_str(),
                        "",
                        position
                    ],
                )
                .await?
                .int(0)?;
            clear_redirect(conn, RedirectKind::Area, &place.area_slug).await?;
            id
        }
    };
    let exists = conn
        .query_opt(
            "SELECT id FROM subtopics WHERE area_id = ?1 AND slug = ?2",
            params![area, place.subtopic_slug.as_str()],
        )
        .await?
        .is_some();
    if !exists {
        let position = conn
            .query_one(
                "SELECT COALESCE(MAX(position), -1) + 1 FROM subtopics WHERE area_id = ?1",
                params![area],
            )
            .await?
            .int(0)?;
        conn.query_one(
            sql::INSERT_SUBTOPIC,
            params![
                area,
                place.subtopic_slug.as_str(),
                place.subtopic_name.as_str(),
                place.subtopic_description.as_str(),
                None::<String>,
                position
            ],
        )
        .await?;
        let key = format!("{}/{}", place.area_slug, place.subtopic_slug);
        clear_redirect(conn, RedirectKind::Subtopic, &key).await?;
        made = true;
    }
    if made {
        queries::append_change(conn, ChangeKind::TaxonomyChanged, None, None, None).await?;
    }
    Ok(format!("{}/{}", place.area_slug, place.subtopic_slug))
}

/// Gives a thread and its posts real ids, and moves what refers to them along.
fn renumber(thread: &mut archive::Thread, id: i64, post_ids: &mut impl Iterator<Item = i64>) {
    thread.id = id;
    let mut new = HashMap::new();
    for post in &mut thread.posts {
        let real = post_ids.next().unwrap_or(0);
        new.insert(post.id, real);
        post.id = real;
    }
    let map = |old: Option<i64>| old.and_then(|old| new.get(&old).copied());
    thread.accepted_post_id = map(thread.accepted_post_id);
    thread.recommended_post_id = map(thread.recommended_post_id);
    for post in &mut thread.posts {
        post.reply_to = map(post.reply_to);
    }
}

async fn write_batch<C: Conn>(
    conn: &mut C,
    batch: &SourcedBatch,
) -> Result<BatchOutcome, StoreError> {
    if conn.dialect() == Dialect::Postgres {
        // Two imports of one source at once would each think a thread new: the second waits.
        conn.query(sql::PG_IMPORT_LOCK, &[]).await?;
    }
    let source = batch.source.as_str();
    let mut out = BatchOutcome::default();

    // The names the batch uses, and their ids here.
    let mut subtopics = BTreeSet::new();
    let mut tags = BTreeSet::new();
    let mut users = BTreeSet::new();
    let posts = batch
        .threads
        .iter()
        .flat_map(|t| &t.thread.posts)
        .chain(batch.replies.iter().flat_map(|r| &r.posts));
    for post in posts {
        users.insert(post.author.as_str());
        users.extend(post.revisions.iter().map(|r| r.author.as_str()));
    }
    for sourced in &batch.threads {
        subtopics.insert(sourced.thread.subtopic.as_str());
        tags.extend(sourced.thread.tags.iter().map(String::as_str));
    }
    let subtopics: Vec<&str> = subtopics.into_iter().collect();
    let tags: Vec<&str> = tags.into_iter().collect();
    let users: Vec<&str> = users.into_iter().collect();
    let maps = IdMaps::load(conn, &subtopics, &tags, &users).await?;

    // New threads: skipped when another run wrote them since the caller looked.
    let mut threads = Vec::new();
    let mut origins = Vec::new();
    for sourced in &batch.threads {
        if mapped(conn, source, SourceKind::Thread, sourced.source_id)
            .await?
            .is_some()
        {
            out.skipped += 1;
            continue;
        }
        if sourced.origins.len() != sourced.thread.posts.len() {
            return Err(StoreError::Invalid(format!(
                "thread {} has {} posts but {} origins",
                sourced.source_id,
                sourced.thread.posts.len(),
                sourced.origins.len()
            )));
        }
        threads.push(sourced.thread.clone());
        origins.push((sourced.source_id, &sourced.origins));
    }
    let post_count: usize = threads.iter().map(|t| t.posts.len()).sum::<usize>()
        + batch.replies.iter().map(|r| r.posts.len()).sum::<usize>();
    let thread_ids = new_ids(conn, "threads", threads.len()).await?;
    let mut post_ids = new_ids(conn, "posts", post_count).await?.into_iter();
    for (thread, id) in threads.iter_mut().zip(thread_ids) {
        renumber(thread, id, &mut post_ids);
    }
    let stats = queries::import_threads(conn, &threads, &maps, 0, &|_| {}).await?;
    out.posts += stats.posts;
    let mut touched_users = BTreeSet::new();
    let mut touched_tags = BTreeSet::new();
    for (thread, (source_id, origins)) in threads.iter().zip(origins) {
        conn.execute(
            "UPDATE threads SET last_position = ?2 WHERE id = ?1",
            params![thread.id, thread.posts.len() as i64 - 1],
        )
        .await?;
        remember(conn, source, SourceKind::Thread, source_id, thread.id).await?;
        for (post, origin) in thread.posts.iter().zip(origins.iter()) {
            remember(conn, source, SourceKind::Post, origin.source_id, post.id).await?;
            if origin.boosts > 0 {
                conn.execute(
                    "UPDATE posts SET boost_count = boost_count + ?2 WHERE id = ?1",
                    params![post.id, origin.boosts],
                )
                .await?;
            }
            touched_users.insert(maps.user(&post.author)?.0);
        }
        if origins.first().is_some_and(|o| o.boosts > 0) {
            conn.execute(
                "UPDATE threads SET boost_count = (SELECT p.boost_count FROM posts p \
                 WHERE p.thread_id = threads.id AND p.position = 0) WHERE id = ?1",
                params![thread.id],
            )
            .await?;
        }
        touched_tags.extend(thread.tags.iter().filter_map(|t| maps.tag_id(t)));
        out.threads.push((source_id, ThreadId(thread.id)));
    }

    let mut touched_threads: Vec<i64> = out.threads.iter().map(|(_, t)| t.0).collect();
    for replies in &batch.replies {
        if let Some(thread) =
            append_replies(conn, source, replies, &maps, &mut post_ids, &mut out).await?
        {
            touched_threads.push(thread);
            for post in &replies.posts {
                touched_users.insert(maps.user(&post.author)?.0);
            }
        }
    }

    // The counters of what the batch touched (as `sql::RECOUNT` does for the whole forum).
    let mut subtopic_ids = BTreeSet::new();
    for thread in &touched_threads {
        if let Some(row) = conn
            .query_opt(
                "SELECT subtopic_id FROM threads WHERE id = ?1",
                params![*thread],
            )
            .await?
        {
            subtopic_ids.insert(row.int(0)?);
        }
    }
    let subtopic_ids: Vec<SubtopicId> = subtopic_ids.into_iter().map(SubtopicId).collect();
    recount_subtopics(conn, &subtopic_ids).await?;
    for tag in touched_tags {
        recount_tag(conn, TagId(tag)).await?;
    }
    for user in touched_users {
        conn.execute(crate::sql::RECOUNT_USER, params![user])
            .await?;
    }
    Ok(out)
}

/// Appends replies to a thread imported earlier; returns the thread, or None when it is gone
/// or nothing was new.
async fn append_replies<C: Conn>(
    conn: &mut C,
    source: &str,
    replies: &SourcedReplies,
    maps: &IdMaps,
    post_ids: &mut impl Iterator<Item = i64>,
    out: &mut BatchOutcome,
) -> Result<Option<i64>, StoreError> {
    let thread = conn
        .query_opt(
            "SELECT t.id, t.last_position, t.last_activity_at FROM import_sources s \
             JOIN threads t ON t.id = s.local_id \
             WHERE s.source = ?1 AND s.kind = 'thread' AND s.source_id = ?2",
            params![source, replies.thread_source_id],
        )
        .await?;
    let Some(thread) = thread else {
        out.skipped += replies.posts.len() as u64;
        return Ok(None);
    };
    let (thread, mut position, mut last_at) = (thread.int(0)?, thread.int(1)?, thread.int(2)?);
    let mut last_poster = None;
    let mut accepted = None;
    let mut staff = false;
    let mut written = 0i64;
    for (post, origin) in replies.posts.iter().zip(&replies.origins) {
        if mapped(conn, source, SourceKind::Post, origin.source_id)
            .await?
            .is_some()
        {
            out.skipped += 1;
            continue;
        }
        let mut post = post.clone();
        post.id = post_ids.next().unwrap_or(0);
        post.reply_to = None;
        position += 1;
        queries::insert_post(conn, ThreadId(thread), position, &post, maps).await?;
        remember(conn, source, SourceKind::Post, origin.source_id, post.id).await?;
        if origin.boosts > 0 {
            conn.execute(
                "UPDATE posts SET boost_count = boost_count + ?2 WHERE id = ?1",
                params![post.id, origin.boosts],
            )
            .await?;
        }
        let (author, role) = maps.user(&post.author)?;
        staff |= role.is_staff();
        if post.created_at.micros() >= last_at {
            last_at = post.created_at.micros();
            last_poster = Some(author);
        }
        if replies.accepted == Some(origin.source_id) {
            accepted = Some(post.id);
        }
        written += 1;
    }
    if written == 0 {
        return Ok(None);
    }
    conn.execute(
        "UPDATE threads SET reply_count = reply_count + ?2, last_position = ?3, \
         last_activity_at = ?4, last_poster_id = COALESCE(?5, last_poster_id), \
         accepted_post_id = COALESCE(accepted_post_id, ?6), \
         staff_answered = (staff_answered OR ?7) WHERE id = ?1",
        params![
            thread,
            written,
            position,
            last_at,
            last_poster,
            accepted,
            staff
        ],
    )
    .await?;
    conn.execute(
        "UPDATE thread_tags SET last_activity_at = ?2 WHERE thread_id = ?1",
        params![thread, last_at],
    )
    .await?;
    queries::append_change(
        conn,
        ChangeKind::ThreadImported,
        None,
        Some(ThreadId(thread)),
        None,
    )
    .await?;
    out.posts += written as u64;
    out.appended += written as u64;
    Ok(Some(thread))
}

/// What an archive carries of imports (version 5): `import_sources` (accounts by username, as
/// the archive names them) and boosts counted beyond their boosters. None when there is none.
pub(crate) async fn export_imported<C: Conn>(
    conn: &mut C,
) -> Result<Option<archive::Imported>, StoreError> {
    let mut imported = archive::Imported::default();
    for row in conn
        .query(
            "SELECT s.source, s.source_id, u.username FROM import_sources s \
             JOIN users u ON u.id = s.local_id WHERE s.kind = 'user' \
             ORDER BY s.source, s.source_id",
            &[],
        )
        .await?
    {
        imported.users.push(archive::ImportedUser {
            source: row.text(0)?,
            source_id: row.int(1)?,
            username: row.text(2)?,
        });
    }
    for (kind, list) in [
        (SourceKind::Thread, &mut imported.threads),
        (SourceKind::Post, &mut imported.posts),
    ] {
        for row in conn
            .query(
                "SELECT source, source_id, local_id FROM import_sources WHERE kind = ?1 \
                 ORDER BY source, source_id",
                params![kind.as_str()],
            )
            .await?
        {
            list.push(archive::ImportedId {
                source: row.text(0)?,
                source_id: row.int(1)?,
                id: row.int(2)?,
            });
        }
    }
    for row in conn
        .query(
            "SELECT p.id, p.boost_count - (SELECT COUNT(*) FROM boosts b WHERE b.post_id = p.id) \
             FROM posts p WHERE p.boost_count > \
             (SELECT COUNT(*) FROM boosts b WHERE b.post_id = p.id) ORDER BY p.id",
            &[],
        )
        .await?
    {
        imported.boosts.push(archive::CountedBoosts {
            post_id: row.int(0)?,
            count: row.int(1)?,
        });
    }
    Ok((!imported.is_empty()).then_some(imported))
}

/// Writes an archive's imports (after its threads and users).
pub(crate) async fn import_imported<C: Conn>(
    conn: &mut C,
    imported: &archive::Imported,
    maps: &IdMaps,
) -> Result<(), StoreError> {
    for user in &imported.users {
        let (id, _) = maps.user(&user.username)?;
        remember(conn, &user.source, SourceKind::User, user.source_id, id).await?;
    }
    for thread in &imported.threads {
        remember(
            conn,
            &thread.source,
            SourceKind::Thread,
            thread.source_id,
            thread.id,
        )
        .await?;
    }
    for post in &imported.posts {
        remember(
            conn,
            &post.source,
            SourceKind::Post,
            post.source_id,
            post.id,
        )
        .await?;
    }
    for boosts in &imported.boosts {
        conn.execute(
            "UPDATE posts SET boost_count = boost_count + ?2 WHERE id = ?1",
            params![boosts.post_id, boosts.count],
        )
        .await?;
        conn.execute(
            "UPDATE threads SET boost_count = (SELECT p.boost_count FROM posts p \
             WHERE p.thread_id = threads.id AND p.position = 0) \
             WHERE id = (SELECT thread_id FROM posts WHERE id = ?1)",
            params![boosts.post_id],
        )
        .await?;
    }
    Ok(())
}
