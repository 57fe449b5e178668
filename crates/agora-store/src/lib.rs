//! Agora's data model and its one store interface.
//!
//! [`Store`] is the narrow boundary every caller uses: reads return model rows, writes run
//! in one transaction that also appends to the ordered change log. The backend is chosen by
//! the database URL ([`DatabaseUrl`]); today that is embedded SQLite, with PostgreSQL next,
//! behind the same methods so that no caller changes.

pub mod archive;
pub mod db;
pub mod model;
pub mod postgres;
mod queries;
mod sql;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use archive::{Archive, ArchiveError};
pub use model::*;
pub use queries::{IdMaps, Job};
pub use sqlite::Synchronous;

use postgres::{PgConn, PgStore};
use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database error: {0}")]
    Postgres(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error("{0}")]
    Config(String),
    #[error("the forum is not empty: import needs an empty database")]
    NotEmpty,
    #[error("invalid data: {0}")]
    Invalid(String),
    #[error("the store is closed")]
    Closed,
    #[error("internal error: {0}")]
    Internal(String),
}

/// Where the data lives, parsed from `--database` / `AGORA_DATABASE_URL`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub const ACCEPTED: &'static str =
        "a file path, sqlite://PATH, or postgres://USER@HOST:PORT/DATABASE";

    /// Parses a URL or a plain path; an unknown scheme is an error naming the accepted ones.
    pub fn parse(text: &str) -> Result<Self, StoreError> {
        if let Some(path) = text.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Config("sqlite:// needs a file path".into()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if let Some(path) = text.strip_prefix("sqlite:") {
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            postgres::parse_url(text)?;
            return Ok(Self::Postgres(text.to_string()));
        }
        if let Some((scheme, _)) = text.split_once("://") {
            return Err(StoreError::Config(format!(
                "unknown database scheme {scheme:?}: accepted are {}",
                Self::ACCEPTED
            )));
        }
        Ok(Self::Sqlite(PathBuf::from(text)))
    }

    /// The default database inside a data directory.
    pub fn in_data_dir(dir: &Path) -> Self {
        Self::Sqlite(dir.join("agora.db"))
    }
}

#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// SQLite: read-only connections. PostgreSQL: pool size.
    pub read_connections: usize,
    pub synchronous: Synchronous,
    /// PostgreSQL: a replica for reads that tolerate lag (listings).
    pub replica_url: Option<String>,
    /// SQLite: give the writer a large page cache, for bulk loads.
    pub bulk: bool,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            read_connections: 4,
            synchronous: Synchronous::Normal,
            replica_url: None,
            bulk: false,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportStats {
    pub users: u64,
    pub threads: u64,
    pub posts: u64,
}

/// Turns a title into the readable part of a thread URL: letters of any script and digits
/// kept and lower-cased, everything else folded into single dashes, at most 80 characters.
pub fn slugify(title: &str) -> String {
    let mut slug = String::with_capacity(title.len());
    let mut dash = false;
    for ch in title.chars() {
        if ch.is_alphanumeric() {
            if dash && !slug.is_empty() {
                slug.push('-');
            }
            dash = false;
            slug.extend(ch.to_lowercase());
        } else {
            dash = true;
        }
        if slug.chars().count() >= 80 {
            break;
        }
    }
    if slug.is_empty() {
        "thread".to_string()
    } else {
        slug
    }
}

/// The store: one interface, one implementation per backend.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    /// Bumped after every write this store commits and every write another node announces:
    /// caches compare against it.
    changes: Arc<AtomicU64>,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

/// Runs shared query code on a read connection of whichever backend this is.
/// `lagging` reads may go to a PostgreSQL replica.
macro_rules! read {
    ($self:ident, $client:ident, |$conn:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(db) => {
                db.read(move |$conn| sqlite::drive(async move { $body }))
                    .await
            }
            Backend::Postgres(db) => {
                let client = db.$client().await?;
                let mut pg = PgConn::Client(&client);
                let $conn = &mut pg;
                $body
            }
        }
    };
    ($self:ident, |$conn:ident| $body:expr) => {
        read!($self, client, |$conn| $body)
    };
}

/// Runs shared write code in one transaction, then tells the caches.
macro_rules! write {
    ($self:ident, |$conn:ident| $body:expr) => {{
        let result = match &$self.backend {
            Backend::Sqlite(db) => {
                db.write(move |$conn| sqlite::drive(async move { $body }))
                    .await
            }
            Backend::Postgres(db) => {
                let mut client = db.client().await?;
                let tx = client.transaction().await?;
                let value = {
                    let mut pg = PgConn::Tx(&tx);
                    let $conn = &mut pg;
                    $body
                };
                match value {
                    Ok(value) => {
                        tx.commit().await?;
                        Ok(value)
                    }
                    Err(err) => Err(err),
                }
            }
        };
        if result.is_ok() {
            $self.changes.fetch_add(1, Ordering::AcqRel);
        }
        result
    }};
}

impl Store {
    /// Opens the database at `url`, creating it and applying migrations as needed.
    pub async fn open(url: &DatabaseUrl, options: StoreOptions) -> Result<Self, StoreError> {
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                let path = path.clone();
                let db = tokio::task::spawn_blocking(move || {
                    SqliteStore::open(
                        &path,
                        options.read_connections,
                        options.synchronous,
                        options.bulk,
                    )
                })
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))??;
                Backend::Sqlite(db)
            }
            DatabaseUrl::Postgres(url) => Backend::Postgres(Box::new(
                PgStore::open(
                    url,
                    options.replica_url.as_deref(),
                    options.read_connections.max(2) * 2,
                )
                .await?,
            )),
        };
        Ok(Self {
            backend,
            changes: Arc::new(AtomicU64::new(0)),
        })
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// A counter that grows with every write this node makes or hears of.
    pub fn changes(&self) -> Arc<AtomicU64> {
        self.changes.clone()
    }

    /// On PostgreSQL, starts following other nodes' writes (LISTEN/NOTIFY, with a catch-up
    /// after every reconnect); on SQLite there are no other nodes.
    pub fn follow_other_nodes(&self) -> Option<tokio::task::JoinHandle<()>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => Some(db.spawn_listener(self.changes.clone())),
        }
    }

    /// True when the forum has no areas, users or threads (a new database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        read!(self, |conn| queries::is_empty(conn).await)
    }

    /// Every area with its subtopics, in display order.
    pub async fn areas(&self) -> Result<Vec<AreaRow>, StoreError> {
        read!(self, lagging_client, |conn| queries::areas(conn).await)
    }

    pub async fn subtopic(
        &self,
        area: &str,
        subtopic: &str,
    ) -> Result<Option<SubtopicRow>, StoreError> {
        let (area, subtopic) = (area.to_string(), subtopic.to_string());
        read!(self, lagging_client, |conn| queries::subtopic(
            conn, &area, &subtopic
        )
        .await)
    }

    pub async fn tag(&self, slug: &str) -> Result<Option<TagRow>, StoreError> {
        let slug = slug.to_string();
        read!(self, lagging_client, |conn| queries::tag(conn, &slug).await)
    }

    pub async fn tags(&self) -> Result<Vec<TagRow>, StoreError> {
        read!(self, lagging_client, |conn| queries::tags(conn).await)
    }

    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let username = username.to_string();
        read!(self, |conn| queries::user(conn, &username).await)
    }

    /// Threads pinned in this subtopic and pinned everywhere.
    pub async fn pinned(&self, subtopic: SubtopicId) -> Result<Vec<ThreadSummary>, StoreError> {
        read!(self, lagging_client, |conn| queries::pinned(conn, subtopic)
            .await)
    }

    /// The pinned threads (when the query shows them apart, whatever the page) and one page of
    /// a listing.
    /// Listings tolerate lag: on PostgreSQL they may be read from a replica.
    pub async fn listing(
        &self,
        query: ListingQuery,
    ) -> Result<(Vec<ThreadSummary>, ListingPage), StoreError> {
        read!(self, lagging_client, |conn| queries::listing_with_pins(
            conn, &query
        )
        .await)
    }

    pub async fn thread(&self, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
        read!(self, |conn| queries::thread(conn, id).await)
    }

    /// The thread and the posts at positions `[from, to)`.
    pub async fn thread_with_posts(
        &self,
        id: ThreadId,
        from: i64,
        to: i64,
    ) -> Result<Option<(ThreadRow, Vec<PostRow>)>, StoreError> {
        read!(self, |conn| queries::thread_with_posts(conn, id, from, to)
            .await)
    }

    /// A post, its thread and every revision of it, newest last, read together.
    pub async fn post_history(
        &self,
        id: PostId,
    ) -> Result<Option<(PostRow, ThreadRow, Vec<RevisionRow>)>, StoreError> {
        read!(self, |conn| {
            let Some(post) = queries::post(conn, id).await? else {
                return Ok(None);
            };
            let Some(thread) = queries::thread(conn, post.thread_id).await? else {
                return Ok(None);
            };
            let revisions = queries::revisions(conn, id).await?;
            Ok(Some((post, thread, revisions)))
        })
    }

    /// The newest change-log sequence number (0 for an empty log).
    pub async fn change_head(&self) -> Result<i64, StoreError> {
        read!(self, |conn| queries::change_head(conn).await)
    }

    /// Adds buffered view counts (never overwrites: several nodes may add to one thread).
    pub async fn add_views(&self, views: Vec<(ThreadId, i64)>) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        write!(self, |conn| queries::add_views(conn, &views).await)
    }

    /// Imports a validated archive (derived fields filled) into an empty forum, in one
    /// transaction. `progress` is told the number of posts written so far.
    pub async fn import(
        &self,
        archive: Arc<Archive>,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<ImportStats, StoreError> {
        archive
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        write!(self, |conn| queries::import(
            conn,
            &archive,
            progress.as_ref()
        )
        .await)
    }

    /// Bulk loading in steps (for large generated forums): the taxonomy of `archive` (its
    /// threads are ignored) into an empty forum, in one transaction. With `defer_indexes`,
    /// secondary indexes are dropped until [`Self::bulk_finish`] builds them again (SQLite;
    /// faster for large loads, but a load that dies half-way leaves the database without
    /// them: use it only for databases that are thrown away on failure).
    pub async fn bulk_taxonomy(
        &self,
        archive: Arc<Archive>,
        defer_indexes: bool,
    ) -> Result<Arc<IdMaps>, StoreError> {
        write!(self, |conn| {
            let mut maps = queries::import_taxonomy(conn, &archive).await?;
            if defer_indexes {
                queries::defer_indexes(conn, &mut maps).await?;
            }
            Ok(Arc::new(maps))
        })
    }

    /// Bulk loading: one chunk of threads, in one transaction. The caller guarantees what
    /// `Archive::validate` would check.
    pub async fn bulk_threads(
        &self,
        threads: Arc<Vec<archive::Thread>>,
        maps: Arc<IdMaps>,
        posts_before: u64,
        progress: Arc<dyn Fn(u64) + Send + Sync>,
    ) -> Result<ImportStats, StoreError> {
        write!(self, |conn| queries::import_threads(
            conn,
            &threads,
            &maps,
            posts_before,
            progress.as_ref()
        )
        .await)
    }

    /// Bulk loading: build deferred indexes and recount the stored counters once every chunk
    /// is in.
    pub async fn bulk_finish(&self, maps: Arc<IdMaps>) -> Result<(), StoreError> {
        write!(self, |conn| queries::finish_bulk(conn, &maps).await)
    }

    /// The whole forum as an archive, from one consistent snapshot.
    pub async fn export(&self) -> Result<Archive, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                db.read_snapshot(|conn| sqlite::drive(queries::export(conn)))
                    .await
            }
            Backend::Postgres(db) => {
                let mut client = db.client().await?;
                let tx = client
                    .build_transaction()
                    .isolation_level(tokio_postgres::IsolationLevel::RepeatableRead)
                    .read_only(true)
                    .start()
                    .await?;
                let archive = queries::export(&mut PgConn::Tx(&tx)).await?;
                tx.commit().await?;
                Ok(archive)
            }
        }
    }

    /// Locks a thread (`lock` = (moderator's username, reason shown to readers)) or unlocks
    /// it (`None`). False when there is no such thread.
    pub async fn set_lock(
        &self,
        thread: ThreadId,
        lock: Option<(&str, &str)>,
    ) -> Result<bool, StoreError> {
        let lock = lock.map(|(by, reason)| (by.to_string(), reason.to_string()));
        write!(self, |conn| {
            let lock = lock
                .as_ref()
                .map(|(by, reason)| (by.as_str(), reason.as_str()));
            queries::set_lock(conn, thread, lock).await
        })
    }

    /// Writes a consistent copy of the whole database to `path` while the forum runs
    /// (SQLite's `VACUUM INTO`). PostgreSQL is backed up with its own tools (pg_dump).
    pub async fn backup(&self, path: &Path) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => {
                let target = path.to_string_lossy().into_owned();
                db.read_blocking(move |conn| {
                    sqlite::drive(async move {
                        db::Conn::execute(conn, "VACUUM INTO ?1", db::params![target]).await
                    })
                })
                .await
                .map(|_| ())
            }
            Backend::Postgres(_) => Err(StoreError::Config(
                "back up PostgreSQL with pg_dump (see the README); `agora db backup` is for SQLite"
                    .into(),
            )),
        }
    }

    /// Queues work that must happen once, whichever node does it.
    pub async fn enqueue_job(&self, kind: &str, payload: &str) -> Result<i64, StoreError> {
        let (kind, payload) = (kind.to_string(), payload.to_string());
        write!(self, |conn| queries::enqueue_job(
            conn,
            &kind,
            &payload,
            Timestamp::now()
        )
        .await)
    }

    /// Claims the next ready job for `worker` for `lease`; no other worker gets it meanwhile.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
    ) -> Result<Option<Job>, StoreError> {
        let worker = worker.to_string();
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        write!(self, |conn| queries::claim_job(conn, &worker, lease).await)
    }

    pub async fn finish_job(&self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let worker = worker.to_string();
        write!(self, |conn| queries::finish_job(conn, id, &worker).await)
    }

    /// Every column (table, name, type) and index, for comparing the two backends' schemas.
    pub async fn schema(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.schema().await,
            Backend::Postgres(db) => db.schema().await,
        }
    }

    /// Flushes and closes: on SQLite, checkpoints the WAL into the database file.
    pub async fn close(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
            Backend::Postgres(db) => {
                db.close();
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_every_script() {
        assert_eq!(slugify("Ping without CFSockets"), "ping-without-cfsockets");
        assert_eq!(
            slugify("iPhone App 进行网络请求的时候出错"),
            "iphone-app-进行网络请求的时候出错"
        );
        assert_eq!(slugify("  --  "), "thread");
        assert_eq!(slugify("A  \"quoted\"  title?"), "a-quoted-title");
    }

    #[test]
    fn database_urls() {
        assert_eq!(
            DatabaseUrl::parse("x.db").ok(),
            Some(DatabaseUrl::Sqlite("x.db".into()))
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/a.db").ok(),
            Some(DatabaseUrl::Sqlite("/tmp/a.db".into()))
        );
        let err = DatabaseUrl::parse("mysql://x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("mysql") && err.contains("sqlite://"), "{err}");
    }
}
