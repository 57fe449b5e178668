//! Agora's data model and its one store interface.
//!
//! [`Store`] is the narrow boundary every caller uses: reads return model rows, writes run
//! in one transaction that also appends to the ordered change log. The backend is chosen by
//! the database URL ([`DatabaseUrl`]); today that is embedded SQLite, with PostgreSQL next,
//! behind the same methods so that no caller changes.

mod accounts;
pub mod archive;
pub mod check;
pub mod db;
mod forum;
pub mod model;
pub mod postgres;
mod queries;
mod search_feed;
pub use search_feed::{RelatedList, RelatedSource};
mod sql;
pub mod sqlite;
pub mod touch;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

pub use accounts::email_key;
pub use archive::{Archive, ArchiveError, name_skeleton};
pub use check::forbidden_char;
pub use model::*;
pub use queries::{DeadJob, IdMaps, Job, JobHealth};
pub use sqlite::Synchronous;
pub use touch::{Generations, Scope, Stamp, Touched};

use db::Conn;
use postgres::{PgConn, PgStore};
use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(rusqlite::Error),
    /// The database cannot be reached or cannot work now (down, restarting, out of
    /// connections, an I/O error): worth trying again later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The disk (or the database's quota) is full: nothing can be written until space is freed.
    #[error("the database's storage is full: {0}")]
    StorageFull(String),
    /// Text the database refuses to store (on PostgreSQL, a NUL character).
    #[error("the text cannot be stored: {0}")]
    Unstorable(String),
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
    /// A unique value is taken (a username, an email address): `field` names the input.
    #[error("{field}: {message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    #[error("the store is closed")]
    Closed,
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(err: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        match err.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::StorageFull(err.to_string()),
            Some(ErrorCode::ConstraintViolation)
                if StoreError::taken(&err.to_string()).is_some() =>
            {
                StoreError::taken(&err.to_string()).unwrap_or(StoreError::Sqlite(err))
            }
            Some(ErrorCode::SystemIoFailure | ErrorCode::DatabaseBusy | ErrorCode::CannotOpen) => {
                StoreError::Unavailable(err.to_string())
            }
            _ => StoreError::Sqlite(err),
        }
    }
}

impl StoreError {
    /// A username or email address taken between the check and the insert (two sign-ups at
    /// once): a conflict naming the field. Any other unique violation is a bug: `None`.
    pub fn taken(constraint: &str) -> Option<StoreError> {
        // PostgreSQL names the constraint or index; SQLite says "UNIQUE constraint failed:
        // users.email_key".
        let field =
            if constraint.contains("users_by_email") || constraint.contains("users.email_key") {
                "email"
            } else if constraint.contains("users_username_key")
                || constraint.contains("users.username_key")
            {
                "username"
            } else {
                return None;
            };
        Some(StoreError::Conflict {
            field,
            message: "That was taken a moment ago by someone else. Try another.".into(),
        })
    }

    /// True when the database cannot be reached or cannot work now: answered 503.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable(_) | StoreError::Closed)
    }
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
            synchronous: Synchronous::Full,
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
    pub uploads: u64,
}

/// 128 random bits as hex.
fn new_database_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::Internal(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
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
    /// followers (live updates, the search indexer, settings) wake on it.
    changes: Arc<AtomicU64>,
    /// The generation of each part of the forum, bumped for what each write touched: page
    /// caches compare against it.
    generations: Arc<Generations>,
    /// PostgreSQL: one settle of pending changes at a time on this node (see [`Store::settle`]).
    settler: Arc<Settler>,
}

/// Settles on one node run one at a time, and a caller that arrives while one runs waits for
/// the next to begin rather than running its own: `begun` and `done` number them.
#[derive(Default)]
struct Settler {
    lock: tokio::sync::Mutex<()>,
    begun: AtomicU64,
    done: AtomicU64,
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
    Postgres(Box<PgStore>),
}

/// Runs shared query code on a read connection of whichever backend this is.
/// `lagging` reads may go to a PostgreSQL replica.
macro_rules! read {
    // `$sqlite`: the SqliteStore method that lends the connection; `$client`: the PgStore
    // method that gives one.
    (@on $sqlite:ident, $self:ident, $client:ident, |$conn:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(db) => {
                db.$sqlite(move |$conn| sqlite::drive(async move { $body }))
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
    ($self:ident, $client:ident, |$conn:ident| $body:expr) => {
        read!(@on read, $self, $client, |$conn| $body)
    };
    ($self:ident, |$conn:ident| $body:expr) => {
        read!(@on read, $self, client, |$conn| $body)
    };
}

/// Like `read!`, for several reads that belong together: on SQLite in one read transaction
/// (one snapshot, the read lock taken once); on PostgreSQL on one connection.
macro_rules! read_together {
    ($self:ident, |$conn:ident| $body:expr) => {
        read!(@on read_together, $self, client, |$conn| $body)
    };
}

/// A write that changes nothing readers see (a member's draft, the job queue): one
/// transaction, and the caches and the indexer are not told.
macro_rules! write_private {
    ($self:ident, |$conn:ident| $body:expr) => {{ write_touching!($self, |$conn| $body).map(|(value, _)| value) }};
}

/// Runs `$body` in one transaction; yields its value with what it touched (the scopes that
/// `queries::append_change` named), once committed.
macro_rules! write_touching {
    ($self:ident, |$conn:ident| $body:expr) => {{
        match &$self.backend {
            Backend::Sqlite(db) => {
                db.write(move |c| {
                    let value = sqlite::drive(async {
                        let $conn = &mut *c;
                        $body
                    })?;
                    Ok((value, c.take_touched()))
                })
                .await
            }
            Backend::Postgres(db) => {
                let mut client = db.client().await?;
                let tx = client.transaction().await?;
                let value = {
                    let mut pg = PgConn::tx(&tx);
                    let value = {
                        let $conn = &mut pg;
                        $body
                    };
                    value.map(|value| (value, pg.take_logged()))
                };
                match value {
                    Ok((value, logged)) => {
                        tx.commit().await?;
                        let touched = match logged {
                            Some(touched) => {
                                db.tell_other_nodes(touched.clone());
                                touched
                            }
                            None => $crate::touch::Touched::default(),
                        };
                        Ok((value, touched))
                    }
                    Err(err) => Err(err),
                }
            }
        }
    }};
}

/// Runs shared write code in one transaction, then tells the caches what it touched.
macro_rules! write {
    ($self:ident, |$conn:ident| $body:expr) => {{
        let result = write_touching!($self, |$conn| $body);
        result.map(|(value, touched)| {
            $self.announce(&touched);
            value
        })
    }};
}

mod site;
pub use site::{Dashboard, DemoRemoved, FileChange, SettingsRow, SiteFile};
mod structure;
pub use structure::{AreaInput, Direction, RedirectKind, SubtopicInput, SubtopicRules, TagInput};
pub mod bookmarks;
pub mod digest;
pub use digest::DigestThread;
pub mod drafts;
pub mod notifications;
mod reader;
pub use notifications::{
    EmailJobs, MailList, NewNotification, NotificationRow, NotifyPrefs, WatchLevel, WatchTarget,
};
pub use reader::ThreadReader;
mod members;
mod profile;
pub use bookmarks::{BookmarkRow, NewBookmark, SavedBookmark};
pub mod sources;
pub mod uploads;
pub use drafts::{DraftContent, DraftPlace, DraftRow};
pub use members::{
    InvitationRow, MemberDeleted, MemberQuery, MemberRow, MemberSort, NewInvitation,
    PublicMemberQuery, PublicMemberRow, PublicMemberSort,
};
pub use sources::{
    BatchOutcome, ImportPlace, PostOrigin, SourceKind, SourcedBatch, SourcedReplies, SourcedThread,
    SourcedUser,
};
pub use uploads::{NewUpload, PostText, RemovedUpload, UploadPurpose, UploadRow, UploadTotals};

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
            generations: Arc::new(Generations::default()),
            settler: Arc::default(),
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

    /// The generation of each part of the forum (what page caches compare against).
    pub fn generations(&self) -> Arc<Generations> {
        self.generations.clone()
    }

    /// A committed write touched `touched`: followers wake, and the pages rendered from those
    /// parts go stale (a write that touched nothing a page shows only wakes followers).
    fn announce(&self, touched: &Touched) {
        self.generations.bump(touched);
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// A write this node did not hear of (another process on the same SQLite file): every
    /// page may show it.
    pub fn announce_unheard(&self) {
        self.generations.bump_everything();
        self.changes.fetch_add(1, Ordering::AcqRel);
    }

    /// On PostgreSQL, starts following other nodes' writes (LISTEN/NOTIFY carrying what each
    /// touched, and everything after every reconnect); on SQLite there are no other nodes.
    pub fn follow_other_nodes(&self) -> Option<tokio::task::JoinHandle<()>> {
        match &self.backend {
            Backend::Sqlite(_) => None,
            Backend::Postgres(db) => {
                Some(db.spawn_listener(self.changes.clone(), self.generations.clone()))
            }
        }
    }

    /// Fills the name skeletons of accounts made before skeletons existed (start-up; a no-op
    /// read when there are none).
    pub async fn backfill_name_skeletons(&self) -> Result<u64, StoreError> {
        let missing = read!(self, |conn| {
            conn.query_opt("SELECT 1 FROM users WHERE name_skeleton IS NULL", &[])
                .await
        })?;
        if missing.is_none() {
            return Ok(0);
        }
        write!(self, |conn| accounts::backfill_name_skeletons(conn).await)
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

    /// Every thread id of `query`'s listing, in its order (deep pages are cut from it).
    pub async fn listing_ids(&self, query: ListingQuery) -> Result<Vec<ThreadId>, StoreError> {
        read!(self, lagging_client, |conn| queries::listing_all_ids(
            conn, &query
        )
        .await)
    }

    /// The summaries of up to [`Store::LISTING_IDS`] threads, in `query`'s order.
    pub async fn listing_by_ids(
        &self,
        query: ListingQuery,
        ids: Vec<ThreadId>,
    ) -> Result<Vec<ThreadSummary>, StoreError> {
        read!(self, lagging_client, |conn| queries::listing_by_ids(
            conn, &query, &ids
        )
        .await)
    }

    /// The most threads [`Store::listing_by_ids`] takes at once.
    pub const LISTING_IDS: usize = sql::LISTING_IDS;

    pub async fn thread(&self, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
        read!(self, |conn| queries::thread(conn, id).await)
    }

    /// Up to `limit` change-log entries after `after`, in order (the search indexer's feed),
    /// every write committed before the call included.
    pub async fn changes_after(
        &self,
        after: i64,
        limit: usize,
    ) -> Result<Vec<ChangeRow>, StoreError> {
        self.settle().await?;
        read!(self, |conn| search_feed::changes_after(conn, after, limit)
            .await)
    }

    /// Threads (removed ones marked), with their visible posts if `with_posts`, for the
    /// search index.
    pub async fn threads_for_index(
        &self,
        ids: Vec<ThreadId>,
        with_posts: bool,
    ) -> Result<Vec<(IndexThreadRow, Vec<IndexPostRow>)>, StoreError> {
        read!(self, |conn| search_feed::threads_for_index(
            conn, &ids, with_posts
        )
        .await)
    }

    /// The next chunk of live threads after `after`, for a full rebuild of the search index.
    pub async fn thread_chunk_for_index(
        &self,
        after: ThreadId,
        limit: usize,
    ) -> Result<Vec<(IndexThreadRow, Vec<IndexPostRow>)>, StoreError> {
        read!(self, |conn| search_feed::thread_chunk_for_index(
            conn, after, limit
        )
        .await)
    }

    /// The ids of each thread's `best` most boosted visible replies other than its answers,
    /// for the search index's whole-thread documents.
    pub async fn best_reply_ids(
        &self,
        ids: Vec<ThreadId>,
        best: usize,
    ) -> Result<Vec<PostId>, StoreError> {
        read!(self, |conn| search_feed::best_reply_ids(conn, &ids, best)
            .await)
    }

    /// Posts by id, visible or not (marked), for the search index.
    pub async fn posts_for_index(&self, ids: Vec<PostId>) -> Result<Vec<IndexPostRow>, StoreError> {
        read!(self, |conn| search_feed::posts_for_index(conn, &ids).await)
    }

    /// Posts written, deleted and hidden ones included.
    pub async fn post_count(&self) -> Result<i64, StoreError> {
        read!(self, |conn| search_feed::post_count(conn).await)
    }

    /// A thread's kept related threads and when they were found; `None` if never.
    pub async fn related_of(
        &self,
        thread: ThreadId,
    ) -> Result<Option<(RelatedList, Timestamp)>, StoreError> {
        read!(self, |conn| search_feed::related_of(conn, thread).await)
    }

    /// Keeps threads' related threads, found now. A private write: a cached thread page keeps
    /// its related box until it is rendered again.
    pub async fn save_related(
        &self,
        lists: Vec<(ThreadId, RelatedList)>,
    ) -> Result<(), StoreError> {
        if lists.is_empty() {
            return Ok(());
        }
        let at = Timestamp::now();
        write_private!(self, |conn| search_feed::save_related(conn, &lists, at)
            .await)
    }

    /// Forgets threads' related threads (their title or opening changed): a private write.
    pub async fn forget_related(&self, threads: Vec<ThreadId>) -> Result<(), StoreError> {
        if threads.is_empty() {
            return Ok(());
        }
        write_private!(self, |conn| search_feed::forget_related(conn, &threads)
            .await)
    }

    /// The newest thread's id (0 when there is none).
    pub async fn newest_thread_id(&self) -> Result<i64, StoreError> {
        read!(self, |conn| search_feed::newest_thread_id(conn).await)
    }

    /// Live threads whose related threads were never found: newest first, ids below `before`
    /// and above `above`.
    pub async fn threads_without_related(
        &self,
        before: i64,
        above: i64,
        limit: i64,
    ) -> Result<Vec<RelatedSource>, StoreError> {
        read!(self, |conn| search_feed::threads_without_related(
            conn, before, above, limit
        )
        .await)
    }

    /// Live threads whose related threads were found before `older_than`, oldest first.
    pub async fn threads_with_stale_related(
        &self,
        older_than: Timestamp,
        limit: i64,
    ) -> Result<Vec<RelatedSource>, StoreError> {
        read!(self, |conn| search_feed::threads_with_stale_related(
            conn, older_than, limit
        )
        .await)
    }

    /// Summaries of the live threads among `ids` (removed ones left out), in no set order.
    pub async fn live_summaries(
        &self,
        ids: Vec<ThreadId>,
    ) -> Result<Vec<ThreadSummary>, StoreError> {
        read!(self, |conn| search_feed::live_summaries(conn, &ids).await)
    }

    /// The visible posts among `ids`, as (post, thread, position, stored HTML if `with_html`).
    pub async fn visible_posts(
        &self,
        ids: Vec<PostId>,
        with_html: bool,
    ) -> Result<Vec<(PostId, ThreadId, i64, String)>, StoreError> {
        read!(self, |conn| search_feed::visible_posts(
            conn, &ids, with_html
        )
        .await)
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

    /// The newest change-log sequence number (0 for an empty log), every write committed
    /// before the call included.
    pub async fn change_head(&self) -> Result<i64, StoreError> {
        self.settle().await?;
        read!(self, |conn| queries::change_head(conn).await)
    }

    /// PostgreSQL: gives the committed pending changes their places in the log before a
    /// follower reads it (`queries::settle_changes`), so that a follower sees every write
    /// committed before it asked, on any node. Callers that arrive together share one settle
    /// that began after they arrived. A no-op on SQLite.
    async fn settle(&self) -> Result<(), StoreError> {
        if !matches!(self.backend, Backend::Postgres(_)) {
            return Ok(());
        }
        let settler = &self.settler;
        let arrived = settler.begun.load(Ordering::Acquire);
        let _one_at_a_time = settler.lock.lock().await;
        if settler.done.load(Ordering::Acquire) > arrived {
            return Ok(());
        }
        let number = settler.begun.fetch_add(1, Ordering::AcqRel) + 1;
        let pending = read!(self, |conn| queries::changes_pending(conn).await)?;
        if pending {
            write_private!(self, |conn| queries::settle_changes(conn).await)?;
        }
        settler.done.store(number, Ordering::Release);
        Ok(())
    }

    /// SQLite's `synchronous` level on the writer's connection (0 off, 1 normal, 2 full, 3
    /// extra); `None` on PostgreSQL, which syncs every commit.
    pub async fn sqlite_synchronous(&self) -> Result<Option<i64>, StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => Ok(Some(db.synchronous().await?)),
            Backend::Postgres(_) => Ok(None),
        }
    }

    /// What is wrong in the data (`agora db check`): control characters, counters, orphans.
    pub async fn check(&self) -> Result<Vec<check::Finding>, StoreError> {
        read!(self, |conn| check::check(conn).await)
    }

    /// Sets every counter to what the rows say (`agora db check --fix`).
    pub async fn recount(&self) -> Result<(), StoreError> {
        write!(self, |conn| check::recount(conn).await)
    }

    /// When the change at `seq` was written, if the log holds it: with [`Store::database_id`],
    /// how a follower tells that the history it followed is still this database's.
    pub async fn change_at(&self, seq: i64) -> Result<Option<i64>, StoreError> {
        read!(self, |conn| queries::change_at(conn, seq).await)
    }

    /// This database's identity: a random id written once (here, on first use) and renewed by
    /// [`Store::renew_database_id`] after a restore.
    pub async fn database_id(&self) -> Result<String, StoreError> {
        if let Some(id) = read!(self, |conn| queries::database_id(conn).await)? {
            return Ok(id);
        }
        let fresh = new_database_id()?;
        // Two nodes starting at once: the first write wins, both read it back.
        write!(self, |conn| queries::write_database_id(conn, &fresh, false)
            .await)?;
        read!(self, |conn| queries::database_id(conn).await)?
            .ok_or_else(|| StoreError::Internal("the database identity was not written".into()))
    }

    /// Gives the database a new identity (after a restore): every search index built from it
    /// before is rebuilt.
    pub async fn renew_database_id(&self) -> Result<String, StoreError> {
        let fresh = new_database_id()?;
        let id = fresh.clone();
        write!(self, |conn| queries::write_database_id(conn, &id, true)
            .await)?;
        Ok(fresh)
    }

    /// The renderer version the stored post HTML was written by (`agora_markup::VERSION`
    /// when it was last rendered in full); 1 for a database older than the record.
    pub async fn markup_version(&self) -> Result<i64, StoreError> {
        // The instance row is made with the database identity.
        self.database_id().await?;
        read!(self, |conn| queries::markup_version(conn).await)
    }

    /// Records that every stored post was rendered by renderer `version`.
    pub async fn set_markup_version(&self, version: i64) -> Result<(), StoreError> {
        self.database_id().await?;
        write!(self, |conn| queries::set_markup_version(conn, version)
            .await)
    }

    /// Up to `limit` posts after `after` in id order, with their Markdown: a batch to render
    /// again.
    pub async fn posts_to_render(
        &self,
        after: PostId,
        limit: usize,
    ) -> Result<Vec<(PostId, String)>, StoreError> {
        read!(self, |conn| queries::posts_to_render(conn, after, limit)
            .await)
    }

    /// Stores posts' HTML rendered again from their unchanged Markdown (one transaction). No
    /// change-log entry: the text, and so the search index, is the same.
    pub async fn set_rendered_html(&self, posts: Vec<(PostId, String)>) -> Result<(), StoreError> {
        write!(self, |conn| queries::set_rendered_html(conn, &posts).await)
    }

    /// Adds buffered view counts (never overwrites: several nodes may add to one thread).
    pub async fn add_views(&self, views: Vec<(ThreadId, i64)>) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        // Counts only: cached pages are not thrown away for them (they show the new counts
        // when next rendered, within the cache's max age), and nothing enters the change log.
        write_private!(self, |conn| queries::add_views(conn, &views).await)
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
        let stats = write!(self, |conn| queries::import(
            conn,
            &archive,
            progress.as_ref()
        )
        .await)?;
        self.analyze_after_bulk().await?;
        Ok(stats)
    }

    /// PostgreSQL: statistics for tables just loaded in bulk, before the forum serves them.
    /// Without them the planner guesses (a thread with a thousand tags), and its cost estimates
    /// for the listing statements crossed `jit_above_cost` (about 20 ms each; connections also
    /// turn JIT off, see `postgres::parse_url`). Autovacuum gets there eventually, when it is on.
    async fn analyze_after_bulk(&self) -> Result<(), StoreError> {
        if let Backend::Postgres(db) = &self.backend {
            db.client().await?.batch_execute("ANALYZE").await?;
        }
        Ok(())
    }

    /// Imports the demo: like [`Self::import`], and everything written is remembered as the
    /// demo's, so [`Self::remove_demo`] can take exactly that away.
    pub async fn import_demo(&self, archive: Arc<Archive>) -> Result<ImportStats, StoreError> {
        archive
            .validate()
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        write!(self, |conn| {
            let stats = queries::import(conn, &archive, &|_| {}).await?;
            site::mark_all_as_demo(conn).await?;
            Ok(stats)
        })
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
        write!(self, |conn| queries::finish_bulk(conn, &maps).await)?;
        self.analyze_after_bulk().await
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
                let archive = queries::export(&mut PgConn::tx(&tx)).await?;
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

    /// Queues work that must happen once, whichever node does it. Jobs are nothing readers
    /// see, so queueing, claiming and finishing them are private writes: a node polling its
    /// queue keeps its cached pages.
    pub async fn enqueue_job(&self, kind: &str, payload: &str) -> Result<i64, StoreError> {
        let (kind, payload) = (kind.to_string(), payload.to_string());
        write_private!(self, |conn| queries::enqueue_job(
            conn,
            &kind,
            &payload,
            Timestamp::now()
        )
        .await)
    }

    /// Claims the next ready job of one of `kinds` (the kinds this node runs) for `worker` for
    /// `lease`; no other worker gets it meanwhile. Other kinds (a newer node's) are left, and
    /// so are dead jobs.
    pub async fn claim_job(
        &self,
        worker: &str,
        lease: std::time::Duration,
        kinds: &[&str],
    ) -> Result<Option<Job>, StoreError> {
        self.claim_job_at(worker, lease, kinds, Timestamp::now())
            .await
    }

    /// [`Store::claim_job`] as of `now`: jobs due by then, leases counted from then.
    pub async fn claim_job_at(
        &self,
        worker: &str,
        lease: std::time::Duration,
        kinds: &[&str],
        now: Timestamp,
    ) -> Result<Option<Job>, StoreError> {
        let worker = worker.to_string();
        let lease = i64::try_from(lease.as_micros()).unwrap_or(i64::MAX);
        let kinds: Vec<String> = kinds.iter().map(|k| k.to_string()).collect();
        write_private!(self, |conn| queries::claim_job(
            conn, &worker, lease, &kinds, now
        )
        .await)
    }

    /// Marks a claimed job done; false if `worker` no longer holds it (its lease ran out and
    /// another worker took it).
    pub async fn finish_job(&self, id: i64, worker: &str) -> Result<bool, StoreError> {
        let worker = worker.to_string();
        write_private!(self, |conn| queries::finish_job(conn, id, &worker).await)
    }

    /// Lets go of a claimed job after a failed attempt: tried again from `run_after`, with
    /// `error` kept as its last error. False if `worker` no longer holds it.
    pub async fn reschedule_job(
        &self,
        id: i64,
        worker: &str,
        run_after: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        let (worker, error) = (worker.to_string(), error.to_string());
        write_private!(self, |conn| queries::reschedule_job(
            conn, id, &worker, run_after, &error
        )
        .await)
    }

    /// Marks a claimed job dead: never claimed again until staff retry it. False if `worker`
    /// no longer holds it.
    pub async fn kill_job(
        &self,
        id: i64,
        worker: &str,
        at: Timestamp,
        error: &str,
    ) -> Result<bool, StoreError> {
        let (worker, error) = (worker.to_string(), error.to_string());
        write_private!(self, |conn| queries::kill_job(
            conn, id, &worker, at, &error
        )
        .await)
    }

    /// Makes a dead job due again, its attempts counted afresh, with its audit entry in the
    /// same transaction. Returns its kind, or None when there is no such dead job.
    pub async fn revive_job(&self, id: i64, audit: Audit) -> Result<Option<String>, StoreError> {
        write_private!(self, |conn| {
            let kind = queries::revive_job(conn, id, Timestamp::now()).await?;
            if kind.is_some() {
                forum::record_audit(conn, &audit).await?;
            }
            Ok(kind)
        })
    }

    /// The newest 50 dead jobs, newest first.
    pub async fn dead_jobs(&self) -> Result<Vec<DeadJob>, StoreError> {
        read!(self, |conn| queries::dead_jobs(conn).await)
    }

    /// How many jobs are dead, and how many failed and wait to be tried again.
    pub async fn job_health(&self) -> Result<JobHealth, StoreError> {
        read!(self, |conn| queries::job_health(conn).await)
    }

    // ------------------------------------------------------------ accounts

    /// Creates an account; a taken or look-alike username or a taken email is a `Conflict`.
    pub async fn create_user(&self, user: NewUser) -> Result<UserId, StoreError> {
        write!(self, |conn| accounts::create_user(conn, &user).await)
    }

    /// The account a sign-in form names, by username or email.
    pub async fn account_by_login(&self, login: &str) -> Result<Option<Account>, StoreError> {
        let login = login.to_string();
        read!(self, |conn| accounts::account_by_login(conn, &login).await)
    }

    pub async fn account(&self, id: UserId) -> Result<Option<Account>, StoreError> {
        read!(self, |conn| accounts::account(conn, id).await)
    }

    /// The members some names stand for (matched as usernames are, ignoring case): each name
    /// given, with the username and id of the member it names. Names nobody has are left out.
    /// At most 100 names are looked up.
    pub async fn usernames_named(
        &self,
        names: Vec<String>,
    ) -> Result<Vec<(String, String, UserId)>, StoreError> {
        let names: Vec<String> = names.into_iter().take(100).collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        read!(self, |conn| {
            let keys: Vec<String> = names.iter().map(|n| archive::username_key(n)).collect();
            let marks = (1..=keys.len())
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ");
            let values: Vec<db::Value> = keys.iter().map(db::Value::from).collect();
            let rows = conn
                .query(
                    &format!(
                        "SELECT username_key, username, id FROM users WHERE username_key IN ({marks})"
                    ),
                    &values,
                )
                .await?;
            let mut found = Vec::new();
            for row in rows {
                let key = row.text(0)?;
                let username = row.text(1)?;
                let id = UserId(row.int(2)?);
                for (name, k) in names.iter().zip(&keys) {
                    if *k == key {
                        found.push((name.clone(), username.clone(), id));
                    }
                }
            }
            Ok(found)
        })
    }

    pub async fn account_by_name(&self, username: &str) -> Result<Option<Account>, StoreError> {
        let username = username.to_string();
        read!(self, |conn| accounts::account_by_name(conn, &username)
            .await)
    }

    /// Sets a new password hash and ends every session but `keep`; with `revoke_tokens`
    /// (a reset: someone else may have had the account) its API tokens end too.
    pub async fn set_password(
        &self,
        user: UserId,
        hash: &str,
        keep: Option<i64>,
        revoke_tokens: bool,
    ) -> Result<(), StoreError> {
        let hash = hash.to_string();
        write!(self, |conn| {
            accounts::set_password(conn, user, &hash).await?;
            accounts::end_sessions(conn, user, None, keep).await?;
            if revoke_tokens {
                accounts::revoke_api_tokens(conn, user).await?;
            }
            Ok(())
        })
    }

    pub async fn update_profile(
        &self,
        user: UserId,
        display_name: &str,
        signature_md: &str,
        signature_html: &str,
    ) -> Result<(), StoreError> {
        let (name, md, html) = (
            display_name.to_string(),
            signature_md.to_string(),
            signature_html.to_string(),
        );
        write!(self, |conn| accounts::update_profile(
            conn, user, &name, &md, &html
        )
        .await)
    }

    /// Gives an account a role (and staff title), with its audit entry in the same transaction.
    pub async fn set_role(
        &self,
        user: UserId,
        role: Role,
        staff_title: Option<String>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            accounts::set_role(conn, user, role, staff_title.as_deref(), None).await?;
            forum::record_audit(conn, &audit).await
        })
    }

    /// Suspends a user until a time (with the reason they are shown), or lifts it.
    pub async fn set_suspension(
        &self,
        user: UserId,
        until: Option<(Timestamp, String)>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let until = until.as_ref().map(|(t, r)| (*t, r.as_str()));
            accounts::set_suspension(conn, user, until, audit.actor).await?;
            forum::record_audit(conn, &audit).await
        })
    }

    pub async fn create_session(&self, session: NewSession) -> Result<(), StoreError> {
        write!(self, |conn| accounts::create_session(conn, &session).await)
    }

    /// The live session with this token hash, with its account and, when `unread`, its unread
    /// notifications (for a page's bell) in the same statement.
    pub async fn session_account(
        &self,
        token_hash: &str,
        now: Timestamp,
        unread: bool,
    ) -> Result<Option<SessionAccount>, StoreError> {
        let hash = token_hash.to_string();
        read!(self, |conn| accounts::session_account(
            conn, &hash, now, unread
        )
        .await)
    }

    pub async fn touch_session(
        &self,
        id: i64,
        now: Timestamp,
        expires_at: Timestamp,
    ) -> Result<(), StoreError> {
        write!(self, |conn| accounts::touch_session(
            conn, id, now, expires_at
        )
        .await)
    }

    pub async fn sessions_of(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<SessionRow>, StoreError> {
        read!(self, |conn| accounts::sessions_of(conn, user, now).await)
    }

    /// Ends one session (`only`), or all but `keep`.
    pub async fn end_sessions(
        &self,
        user: UserId,
        only: Option<i64>,
        keep: Option<i64>,
    ) -> Result<u64, StoreError> {
        write!(self, |conn| accounts::end_sessions(conn, user, only, keep)
            .await)
    }

    pub async fn end_session_by_hash(&self, token_hash: &str) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        write!(self, |conn| accounts::end_session_by_hash(conn, &hash)
            .await)
    }

    pub async fn create_api_token(
        &self,
        user: UserId,
        name: &str,
        scope: TokenScope,
        token_hash: &str,
    ) -> Result<i64, StoreError> {
        let (name, hash) = (name.to_string(), token_hash.to_string());
        write!(self, |conn| accounts::create_api_token(
            conn, user, &name, scope, &hash
        )
        .await)
    }

    /// The account and scope of a live API token; its last use is noted at most once a minute.
    pub async fn api_token_account(
        &self,
        token_hash: &str,
    ) -> Result<Option<(Account, TokenScope)>, StoreError> {
        let hash = token_hash.to_string();
        let found = read!(self, |conn| accounts::api_token_account(conn, &hash).await)?;
        let Some((account, scope, id, last_used)) = found else {
            return Ok(None);
        };
        let now = Timestamp::now();
        if last_used.is_none_or(|at| now.micros() - at.micros() > 60_000_000) {
            write!(self, |conn| accounts::touch_api_token(conn, id).await)?;
        }
        Ok(Some((account, scope)))
    }

    /// Saves `user`'s draft for `place` (see [`drafts::save_draft`]).
    pub async fn save_draft(
        &self,
        user: UserId,
        place: DraftPlace,
        content: DraftContent,
    ) -> Result<i64, StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| drafts::save_draft(
            conn, user, place, &content, now
        )
        .await)
    }

    pub async fn draft_at(
        &self,
        user: UserId,
        place: DraftPlace,
    ) -> Result<Option<DraftRow>, StoreError> {
        read!(self, |conn| drafts::draft_at(conn, user, place).await)
    }

    pub async fn draft_by_id(&self, id: i64) -> Result<Option<DraftRow>, StoreError> {
        read!(self, |conn| drafts::draft_by_id(conn, id).await)
    }

    pub async fn drafts_of(&self, user: UserId) -> Result<Vec<DraftRow>, StoreError> {
        read!(self, |conn| drafts::drafts_of(conn, user).await)
    }

    pub async fn delete_draft_at(
        &self,
        user: UserId,
        place: DraftPlace,
    ) -> Result<bool, StoreError> {
        write_private!(self, |conn| drafts::delete_draft_at(conn, user, place)
            .await)
    }

    // ------------------------------------------------------------ uploads

    /// Records an upload whose bytes are already in the upload store. Nothing readers see
    /// changes until a post names it.
    pub async fn insert_upload(&self, new: NewUpload) -> Result<UploadRow, StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| uploads::insert_upload(conn, &new, now).await)
    }

    pub async fn upload_by_token(&self, token: &str) -> Result<Option<UploadRow>, StoreError> {
        let token = token.to_string();
        read!(self, |conn| uploads::upload_by_token(conn, &token).await)
    }

    pub async fn upload_by_id(&self, id: i64) -> Result<Option<UploadRow>, StoreError> {
        read!(self, |conn| uploads::upload_by_id(conn, id).await)
    }

    /// The uploads these tokens name (those that exist).
    pub async fn uploads_by_tokens(
        &self,
        tokens: Vec<String>,
    ) -> Result<Vec<UploadRow>, StoreError> {
        if tokens.is_empty() {
            return Ok(Vec::new());
        }
        read!(self, |conn| uploads::uploads_by_tokens(conn, &tokens).await)
    }

    /// A member's uploads for posts, newest first.
    pub async fn uploads_of(
        &self,
        owner: UserId,
        limit: usize,
    ) -> Result<Vec<UploadRow>, StoreError> {
        read!(self, |conn| uploads::uploads_of(conn, owner, limit).await)
    }

    /// The bytes `owner` uploaded since `since` (for the daily quota).
    pub async fn uploaded_bytes_since(
        &self,
        owner: UserId,
        since: Timestamp,
    ) -> Result<i64, StoreError> {
        read!(self, |conn| uploads::uploaded_bytes_since(
            conn, owner, since
        )
        .await)
    }

    /// Marks an upload removed by `by` (see [`uploads::remove_upload`]).
    pub async fn remove_upload(&self, id: i64, by: UserId) -> Result<RemovedUpload, StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| uploads::remove_upload(conn, id, by, now).await)
    }

    /// Whether an upload not removed keeps the bytes of `sha`.
    pub async fn sha_in_use(&self, sha: &str) -> Result<bool, StoreError> {
        let sha = sha.to_string();
        read!(self, |conn| uploads::sha_in_use(conn, &sha, 0).await)
    }

    /// Writes posts' HTML rendered again (see [`uploads::set_posts_html`]).
    pub async fn set_posts_html(
        &self,
        posts: Vec<(PostText, String)>,
        actor: Option<UserId>,
    ) -> Result<(), StoreError> {
        if posts.is_empty() {
            return Ok(());
        }
        write!(self, |conn| uploads::set_posts_html(conn, &posts, actor)
            .await)
    }

    /// Uploads for posts that no post named, made before `before` (the clean-up's work).
    pub async fn unused_uploads(
        &self,
        before: Timestamp,
        limit: usize,
    ) -> Result<Vec<UploadRow>, StoreError> {
        read!(self, |conn| uploads::unused_uploads(conn, before, limit)
            .await)
    }

    /// Deletes an unused upload's row; the content hash whose bytes may go too.
    pub async fn delete_upload_row(&self, id: i64) -> Result<Option<String>, StoreError> {
        write_private!(self, |conn| uploads::delete_upload_row(conn, id).await)
    }

    /// Sets or clears a member's picture; the bytes of the one it replaced that nothing else
    /// keeps (to delete from the upload store). Pages showing the member are told.
    pub async fn set_avatar(
        &self,
        user: UserId,
        upload: Option<i64>,
    ) -> Result<Option<String>, StoreError> {
        let now = Timestamp::now();
        write!(self, |conn| {
            let unshared = uploads::set_avatar(conn, user, upload, now).await?;
            queries::append_change(conn, ChangeKind::UserProfileUpdated, Some(user), None, None)
                .await?;
            Ok(unshared)
        })
    }

    pub async fn avatar_of(&self, user: UserId) -> Result<Option<UploadRow>, StoreError> {
        read!(self, |conn| uploads::avatar_of(conn, user).await)
    }

    /// The newest uploads for posts, with owners and use counts (the moderators' list).
    pub async fn recent_uploads(
        &self,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<uploads::UploadListed>, StoreError> {
        read!(self, |conn| uploads::recent_uploads(conn, before, limit)
            .await)
    }

    /// What the uploads hold (dashboard and metrics).
    pub async fn upload_totals(&self) -> Result<UploadTotals, StoreError> {
        read!(self, |conn| uploads::totals(conn).await)
    }

    /// Saves a bookmark, queueing a `reminder_kind` job when its reminder is new or changed
    /// (see [`bookmarks::save_bookmark`]).
    pub async fn save_bookmark(
        &self,
        new: NewBookmark,
        reminder_kind: &str,
    ) -> Result<SavedBookmark, StoreError> {
        let now = Timestamp::now();
        let kind = reminder_kind.to_string();
        write_private!(self, |conn| bookmarks::save_bookmark(
            conn, &new, &kind, now
        )
        .await)
    }

    /// Deletes `user`'s bookmark `id`; whether there was one.
    pub async fn delete_bookmark(
        &self,
        user: UserId,
        id: i64,
        reminder_kind: &str,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        let kind = reminder_kind.to_string();
        write_private!(self, |conn| bookmarks::delete_bookmark(
            conn, user, id, &kind, now
        )
        .await)
    }

    pub async fn bookmark_by_id(&self, id: i64) -> Result<Option<BookmarkRow>, StoreError> {
        read!(self, |conn| bookmarks::bookmark_by_id(conn, id).await)
    }

    pub async fn bookmark_at(
        &self,
        user: UserId,
        thread: ThreadId,
        post: Option<PostId>,
    ) -> Result<Option<BookmarkRow>, StoreError> {
        read!(self, |conn| bookmarks::bookmark_at(
            conn, user, thread, post
        )
        .await)
    }

    pub async fn bookmarks_of(
        &self,
        user: UserId,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<BookmarkRow>, StoreError> {
        read!(self, |conn| bookmarks::bookmarks_of(
            conn, user, offset, limit
        )
        .await)
    }

    pub async fn bookmark_count(&self, user: UserId) -> Result<i64, StoreError> {
        read!(self, |conn| bookmarks::bookmark_count(conn, user).await)
    }

    /// See [`bookmarks::record_reminder`].
    pub async fn record_reminder(
        &self,
        id: i64,
        remind_at: Timestamp,
        note: Option<NewNotification>,
        email: EmailJobs,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| bookmarks::record_reminder(
            conn,
            id,
            remind_at,
            note.as_ref(),
            &email,
            now
        )
        .await)
    }

    pub async fn set_watch(
        &self,
        user: UserId,
        target: WatchTarget,
        level: WatchLevel,
    ) -> Result<(), StoreError> {
        write_private!(self, |conn| notifications::set_watch(
            conn, user, target, level
        )
        .await)
    }

    pub async fn watch_level(
        &self,
        user: UserId,
        target: WatchTarget,
    ) -> Result<Option<WatchLevel>, StoreError> {
        read!(self, |conn| notifications::watch_level(conn, user, target)
            .await)
    }

    pub async fn watches_on(
        &self,
        targets: Vec<WatchTarget>,
    ) -> Result<Vec<(UserId, WatchTarget, WatchLevel)>, StoreError> {
        read!(self, |conn| notifications::watches_on(conn, &targets).await)
    }

    pub async fn participants(&self, thread: ThreadId) -> Result<Vec<UserId>, StoreError> {
        read!(self, |conn| notifications::participants(conn, thread).await)
    }

    pub async fn notify_prefs(&self, user: UserId) -> Result<NotifyPrefs, StoreError> {
        read!(self, |conn| notifications::notify_prefs(conn, user).await)
    }

    pub async fn set_notify_prefs(
        &self,
        user: UserId,
        prefs: NotifyPrefs,
    ) -> Result<(), StoreError> {
        write_private!(self, |conn| notifications::set_notify_prefs(
            conn, user, &prefs
        )
        .await)
    }

    pub async fn notifier_position(&self) -> Result<i64, StoreError> {
        read!(self, |conn| notifications::notifier_position(conn).await)
    }

    /// See [`notifications::record_notifications`].
    pub async fn record_notifications(
        &self,
        from: i64,
        to: i64,
        rows: Vec<NewNotification>,
        email: notifications::EmailJobs,
    ) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| notifications::record_notifications(
            conn, from, to, &rows, &email, now
        )
        .await)
    }

    pub async fn unemailed(
        &self,
        user: UserId,
        thread: ThreadId,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        read!(self, |conn| notifications::unemailed(conn, user, thread)
            .await)
    }

    pub async fn mark_emailed(&self, ids: Vec<i64>) -> Result<(), StoreError> {
        let now = Timestamp::now();
        write_private!(self, |conn| notifications::mark_emailed(conn, &ids, now)
            .await)
    }

    pub async fn emails_since(&self, user: UserId, since: Timestamp) -> Result<i64, StoreError> {
        read!(self, |conn| notifications::emails_since(conn, user, since)
            .await)
    }

    pub async fn touch_last_seen(&self, user: UserId, now: Timestamp) -> Result<(), StoreError> {
        write_private!(self, |conn| notifications::touch_last_seen(conn, user, now)
            .await)
    }

    pub async fn last_seen(&self, user: UserId) -> Result<Option<Timestamp>, StoreError> {
        read!(self, |conn| notifications::last_seen(conn, user).await)
    }

    /// Stores an unsubscribe link's token, by the hash the caller computed.
    pub async fn create_unsubscribe_token(
        &self,
        user: UserId,
        hash: &str,
        list: MailList,
    ) -> Result<(), StoreError> {
        let hash = hash.to_string();
        write_private!(self, |conn| notifications::create_unsubscribe_token(
            conn, user, &hash, list
        )
        .await)
    }

    pub async fn use_unsubscribe_token(
        &self,
        hash: &str,
    ) -> Result<Option<(UserId, MailList)>, StoreError> {
        let hash = hash.to_string();
        write_private!(self, |conn| notifications::use_unsubscribe_token(
            conn, &hash
        )
        .await)
    }

    pub async fn unsubscribe_token_valid(
        &self,
        hash: &str,
    ) -> Result<Option<MailList>, StoreError> {
        let hash = hash.to_string();
        read!(self, |conn| notifications::unsubscribe_token_valid(
            conn, &hash
        )
        .await)
    }

    pub async fn notifications_of(
        &self,
        user: UserId,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, StoreError> {
        read!(self, |conn| notifications::notifications_of(
            conn, user, before, limit
        )
        .await)
    }

    pub async fn unread_count(&self, user: UserId) -> Result<i64, StoreError> {
        read!(self, |conn| notifications::unread_count(conn, user).await)
    }

    pub async fn mark_read(
        &self,
        user: UserId,
        thread: Option<ThreadId>,
        posts: Vec<PostId>,
    ) -> Result<u64, StoreError> {
        write_private!(self, |conn| notifications::mark_read(
            conn, user, thread, &posts
        )
        .await)
    }

    pub async fn lock_reason(&self, thread: ThreadId) -> Result<Option<String>, StoreError> {
        read!(self, |conn| notifications::lock_reason(conn, thread).await)
    }

    pub async fn notify_prefs_of(
        &self,
        users: Vec<UserId>,
    ) -> Result<std::collections::HashMap<UserId, NotifyPrefs>, StoreError> {
        read!(self, |conn| notifications::notify_prefs_of(conn, &users)
            .await)
    }

    pub async fn suspended_of(
        &self,
        users: Vec<UserId>,
    ) -> Result<std::collections::HashSet<UserId>, StoreError> {
        let now = Timestamp::now();
        read!(self, |conn| notifications::suspended_of(conn, &users, now)
            .await)
    }

    pub async fn is_suspended(&self, user: UserId) -> Result<bool, StoreError> {
        let now = Timestamp::now();
        read!(self, |conn| notifications::suspended(conn, user, now).await)
    }

    pub async fn api_tokens_of(&self, user: UserId) -> Result<Vec<ApiTokenRow>, StoreError> {
        read!(self, |conn| accounts::api_tokens_of(conn, user).await)
    }

    pub async fn revoke_api_token(&self, user: UserId, id: i64) -> Result<bool, StoreError> {
        write!(self, |conn| accounts::revoke_api_token(conn, user, id)
            .await)
    }

    /// Stores a one-time emailed link and queues the email that carries it, together.
    pub async fn create_email_token(
        &self,
        user: UserId,
        purpose: EmailPurpose,
        token_hash: &str,
        expires_at: Timestamp,
        email_job: String,
    ) -> Result<(), StoreError> {
        let hash = token_hash.to_string();
        write!(self, |conn| {
            accounts::create_email_token(conn, user, purpose, &hash, expires_at).await?;
            queries::enqueue_job(conn, "email", &email_job, Timestamp::now()).await?;
            Ok(())
        })
    }

    /// Uses a one-time link: its user, once, before it expires.
    pub async fn use_email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> Result<Option<UserId>, StoreError> {
        let hash = token_hash.to_string();
        write!(self, |conn| {
            let user = accounts::use_email_token(conn, &hash, purpose, Timestamp::now()).await?;
            if let (Some(user), EmailPurpose::Verify) = (user, purpose) {
                accounts::mark_email_verified(conn, user).await?;
            }
            Ok(user)
        })
    }

    pub async fn email_token_valid(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> Result<bool, StoreError> {
        let hash = token_hash.to_string();
        read!(self, |conn| accounts::email_token_valid(
            conn,
            &hash,
            purpose,
            Timestamp::now()
        )
        .await)
    }

    // ------------------------------------------------------------ writing

    pub async fn thread_facts(&self, thread: ThreadId) -> Result<Option<ThreadFacts>, StoreError> {
        read!(self, |conn| forum::thread_facts(conn, thread).await)
    }

    pub async fn post_facts(&self, post: PostId) -> Result<Option<PostFacts>, StoreError> {
        read!(self, |conn| forum::post_facts(conn, post).await)
    }

    pub async fn subtopic_id(
        &self,
        area: &str,
        subtopic: &str,
    ) -> Result<Option<SubtopicId>, StoreError> {
        let (area, subtopic) = (area.to_string(), subtopic.to_string());
        read!(self, |conn| forum::subtopic_id(conn, &area, &subtopic)
            .await)
    }

    /// The ids of the tags that exist among `slugs`.
    pub async fn tag_ids(&self, slugs: Vec<String>) -> Result<Vec<(String, TagId)>, StoreError> {
        read!(self, |conn| forum::tag_ids(conn, &slugs).await)
    }

    /// Posts a user wrote since a time, counted up to `cap`.
    pub async fn posts_since(
        &self,
        user: UserId,
        since: Timestamp,
        cap: i64,
    ) -> Result<i64, StoreError> {
        read!(self, |conn| forum::posts_since(conn, user, since, cap)
            .await)
    }

    pub async fn create_thread(&self, new: NewThread) -> Result<(ThreadId, PostId), StoreError> {
        write!(self, |conn| forum::create_thread(conn, &new).await)
    }

    /// Adds a reply; returns the post and its position in the thread.
    pub async fn create_reply(&self, new: NewReply) -> Result<(PostId, i64), StoreError> {
        write!(self, |conn| forum::create_reply(conn, &new).await)
    }

    /// Edits a post (a new revision), and with `retitle` the thread's title and tags too;
    /// `audit` when a moderator edits someone else's post.
    pub async fn edit_post(
        &self,
        edit: PostEdit,
        retitle: Option<(ThreadFacts, String, Vec<TagId>)>,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            forum::edit_post(conn, &edit).await?;
            if let Some((thread, title, tags)) = &retitle {
                forum::retitle_thread(conn, thread, title, tags, edit.editor, None).await?;
            }
            if let Some(audit) = &audit {
                forum::record_audit(conn, audit).await?;
            }
            Ok(())
        })
    }

    /// Deletes a post (soft); `by` is its author or a moderator (then `audit` says so).
    pub async fn delete_post(
        &self,
        post: PostFacts,
        by: UserId,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::delete_post(
            conn,
            &post,
            by,
            audit.as_ref()
        )
        .await)
    }

    /// Boosts or un-boosts; returns (boosted now, the post's boost count).
    pub async fn toggle_boost(
        &self,
        post: PostFacts,
        user: UserId,
    ) -> Result<(bool, i64), StoreError> {
        write!(self, |conn| forum::toggle_boost(conn, &post, user).await)
    }

    /// What a signed-in reader's parts of a thread page depend on, read together
    /// (`with_draft`: whether to read their reply draft).
    pub async fn thread_reader(
        &self,
        user: UserId,
        thread: ThreadId,
        subtopic: SubtopicId,
        posts: Vec<PostId>,
        with_draft: bool,
    ) -> Result<ThreadReader, StoreError> {
        read_together!(self, |conn| reader::thread_reader(
            conn, user, thread, subtopic, &posts, with_draft
        )
        .await)
    }

    pub async fn boosted_by(
        &self,
        user: UserId,
        posts: Vec<PostId>,
    ) -> Result<Vec<PostId>, StoreError> {
        read!(self, |conn| forum::boosted_by(conn, user, &posts).await)
    }

    /// Marks or clears an answer; `by` is the account doing it (`audit` when that is staff).
    pub async fn set_answer(
        &self,
        thread: ThreadId,
        mark: AnswerMark,
        post: Option<PostId>,
        by: UserId,
        audit: Option<Audit>,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::set_answer(
            conn,
            thread,
            mark,
            post,
            by,
            audit.as_ref()
        )
        .await)
    }

    // ------------------------------------------------------------ moderation

    pub async fn lock_thread(
        &self,
        thread: ThreadId,
        lock: Option<(UserId, String)>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| {
            let lock = lock.as_ref().map(|(by, reason)| (*by, reason.as_str()));
            forum::lock_thread(conn, thread, lock, &audit).await
        })
    }

    pub async fn pin_thread(
        &self,
        thread: ThreadId,
        scope: Option<PinScope>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::pin_thread(conn, thread, scope, &audit)
            .await)
    }

    pub async fn move_thread(
        &self,
        thread: ThreadFacts,
        to: SubtopicId,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::move_thread(conn, &thread, to, &audit)
            .await)
    }

    pub async fn retitle_thread(
        &self,
        thread: ThreadFacts,
        title: String,
        tags: Vec<TagId>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::retitle_thread(
            conn,
            &thread,
            &title,
            &tags,
            audit.actor,
            Some(&audit)
        )
        .await)
    }

    /// Hides a post with a reason, or shows it again (`reason` None).
    pub async fn set_hidden(
        &self,
        post: PostFacts,
        by: UserId,
        reason: Option<String>,
        audit: Audit,
    ) -> Result<(), StoreError> {
        write!(self, |conn| forum::set_hidden(
            conn,
            &post,
            by,
            reason.as_deref(),
            &audit
        )
        .await)
    }

    /// Reports a post; false when this user had already reported it.
    pub async fn flag_post(
        &self,
        post: PostFacts,
        user: UserId,
        reason: String,
    ) -> Result<bool, StoreError> {
        write!(self, |conn| forum::flag_post(conn, &post, user, &reason)
            .await)
    }

    /// One page of open flags, oldest first; None when the cursor names no flag.
    pub async fn open_flags(
        &self,
        cursor: Cursor,
        limit: usize,
    ) -> Result<Option<KeysetPage<FlagRow>>, StoreError> {
        read!(self, |conn| forum::open_flags(conn, cursor, limit).await)
    }

    /// How many flags are open.
    pub async fn open_flag_count(&self) -> Result<i64, StoreError> {
        read!(self, |conn| forum::open_flag_count(conn).await)
    }

    pub async fn resolve_flag(
        &self,
        flag: i64,
        by: UserId,
        resolution: String,
        audit: Audit,
        hide: Option<(String, Audit)>,
    ) -> Result<Option<PostId>, StoreError> {
        write!(self, |conn| {
            let Some(post) = forum::resolve_flag(conn, flag, by, &resolution, &audit).await? else {
                return Ok(None);
            };
            if let Some((reason, mut hide_audit)) = hide
                && let Some(facts) = forum::post_facts(conn, post).await?
                && !facts.hidden
            {
                hide_audit.thread = Some(facts.thread.id);
                hide_audit.post = Some(post);
                forum::set_hidden(conn, &facts, by, Some(&reason), &hide_audit).await?;
            }
            Ok(Some(post))
        })
    }

    /// One page of the audit log, newest first.
    pub async fn audit_log(
        &self,
        cursor: Cursor,
        limit: usize,
    ) -> Result<KeysetPage<AuditRow>, StoreError> {
        read!(self, |conn| forum::audit_log(conn, cursor, limit).await)
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
                db.close().await;
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accounts from before name skeletons get one at start-up, so a look-alike of them is
    /// refused like a look-alike of anyone else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn old_accounts_get_name_skeletons() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("a.db");
        let store = Store::open(&DatabaseUrl::Sqlite(path.clone()), StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let user = NewUser {
            username: "alice".into(),
            display_name: "Alice".into(),
            email: "alice@example.test".into(),
            password_hash: "$argon2id$x".into(),
            role: Role::Member,
            staff_title: None,
            email_verified: false,
        };
        store
            .create_user(user.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // As a database from before skeletons has it.
        rusqlite::Connection::open(&path)
            .and_then(|c| c.execute("UPDATE users SET name_skeleton = NULL", []))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.backfill_name_skeletons().await.ok(), Some(1));
        assert_eq!(store.backfill_name_skeletons().await.ok(), Some(0));
        let look_alike = NewUser {
            username: "aIice".into(),
            email: "other@example.test".into(),
            ..user
        };
        assert!(matches!(
            store.create_user(look_alike).await,
            Err(StoreError::Conflict {
                field: "username",
                ..
            })
        ));
        store.close().await.unwrap_or_else(|e| panic!("{e}"));
    }

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
