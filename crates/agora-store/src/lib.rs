//! Agora's data model and its one store interface.
//!
//! [`Store`] is the narrow boundary every caller uses: reads return model rows, writes run
//! in one transaction that also appends to the ordered change log. The backend is chosen by
//! the database URL ([`DatabaseUrl`]); today that is embedded SQLite, with PostgreSQL next,
//! behind the same methods so that no caller changes.

pub mod archive;
pub mod model;
mod sql;
pub mod sqlite;

use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use archive::{Archive, ArchiveError};
pub use model::*;
pub use sqlite::Synchronous;

use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
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
}

impl DatabaseUrl {
    pub const ACCEPTED: &'static str = "a file path, or sqlite://PATH";

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

#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    pub read_connections: usize,
    pub synchronous: Synchronous,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            read_connections: 4,
            synchronous: Synchronous::Normal,
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
}

#[derive(Clone)]
enum Backend {
    Sqlite(SqliteStore),
}

macro_rules! read {
    ($self:ident, |$conn:ident| $body:expr) => {
        match &$self.backend {
            Backend::Sqlite(db) => db.read(move |$conn| $body).await,
        }
    };
}

impl Store {
    /// Opens the database at `url`, creating it and applying migrations as needed.
    pub async fn open(url: &DatabaseUrl, options: StoreOptions) -> Result<Self, StoreError> {
        match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent).map_err(|e| {
                        StoreError::Config(format!("cannot create {}: {e}", parent.display()))
                    })?;
                }
                let path = path.clone();
                let db = tokio::task::spawn_blocking(move || {
                    SqliteStore::open(&path, options.read_connections, options.synchronous)
                })
                .await
                .map_err(|e| StoreError::Internal(e.to_string()))??;
                Ok(Self {
                    backend: Backend::Sqlite(db),
                })
            }
        }
    }

    pub fn backend_name(&self) -> &'static str {
        match &self.backend {
            Backend::Sqlite(_) => "sqlite",
        }
    }

    /// True when the forum has no areas, users or threads (a new database).
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        read!(self, |conn| sqlite::is_empty(conn))
    }

    /// Every area with its subtopics, in display order.
    pub async fn areas(&self) -> Result<Vec<AreaRow>, StoreError> {
        read!(self, |conn| sqlite::areas(conn))
    }

    pub async fn subtopic(
        &self,
        area: &str,
        subtopic: &str,
    ) -> Result<Option<SubtopicRow>, StoreError> {
        let (area, subtopic) = (area.to_string(), subtopic.to_string());
        read!(self, |conn| sqlite::subtopic(conn, &area, &subtopic))
    }

    pub async fn tag(&self, slug: &str) -> Result<Option<TagRow>, StoreError> {
        let slug = slug.to_string();
        read!(self, |conn| sqlite::tag(conn, &slug))
    }

    pub async fn tags(&self) -> Result<Vec<TagRow>, StoreError> {
        read!(self, |conn| sqlite::tags(conn))
    }

    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let username = username.to_string();
        read!(self, |conn| sqlite::user(conn, &username))
    }

    /// Threads pinned in this subtopic and pinned everywhere.
    pub async fn pinned(&self, subtopic: SubtopicId) -> Result<Vec<ThreadSummary>, StoreError> {
        read!(self, |conn| sqlite::pinned(conn, subtopic))
    }

    /// The pinned threads (when the query shows them apart) and one page of a listing,
    /// read in one go.
    pub async fn listing(
        &self,
        query: ListingQuery,
    ) -> Result<(Vec<ThreadSummary>, ListingPage), StoreError> {
        read!(self, |conn| {
            let pinned = match query.scope {
                ListingScope::Subtopic(id) if query.pins_apart() && query.page == 1 => {
                    sqlite::pinned(conn, id)?
                }
                _ => Vec::new(),
            };
            Ok((pinned, sqlite::listing(conn, &query)?))
        })
    }

    pub async fn thread(&self, id: ThreadId) -> Result<Option<ThreadRow>, StoreError> {
        read!(self, |conn| sqlite::thread(conn, id))
    }

    /// The thread and the posts at positions `[from, to)`, from one snapshot.
    pub async fn thread_with_posts(
        &self,
        id: ThreadId,
        from: i64,
        to: i64,
    ) -> Result<Option<(ThreadRow, Vec<PostRow>)>, StoreError> {
        read!(self, |conn| {
            let Some(thread) = sqlite::thread(conn, id)? else {
                return Ok(None);
            };
            let posts = sqlite::posts(conn, id, from, to)?;
            Ok(Some((thread, posts)))
        })
    }

    pub async fn post(&self, id: PostId) -> Result<Option<PostRow>, StoreError> {
        read!(self, |conn| sqlite::post(conn, id))
    }

    pub async fn revisions(&self, post: PostId) -> Result<Vec<RevisionRow>, StoreError> {
        read!(self, |conn| sqlite::revisions(conn, post))
    }

    /// The newest change-log sequence number (0 for an empty log).
    pub async fn change_head(&self) -> Result<i64, StoreError> {
        read!(self, |conn| sqlite::change_head(conn))
    }

    /// Adds buffered view counts (never overwrites: several nodes may add to one thread).
    pub async fn add_views(&self, views: Vec<(ThreadId, i64)>) -> Result<(), StoreError> {
        if views.is_empty() {
            return Ok(());
        }
        match &self.backend {
            Backend::Sqlite(db) => db.write(move |tx| sqlite::add_views(tx, &views)).await,
        }
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
        match &self.backend {
            Backend::Sqlite(db) => {
                db.write(move |tx| sqlite::import(tx, &archive, progress.as_ref()))
                    .await
            }
        }
    }

    /// The whole forum as an archive, from one consistent snapshot.
    pub async fn export(&self) -> Result<Archive, StoreError> {
        read!(self, |conn| {
            conn.execute_batch("BEGIN")?;
            let result = sqlite::export(conn);
            conn.execute_batch("COMMIT")?;
            result
        })
    }

    /// Flushes and closes: on SQLite, checkpoints the WAL into the database file.
    pub async fn close(&self) -> Result<(), StoreError> {
        match &self.backend {
            Backend::Sqlite(db) => db.close().await,
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
