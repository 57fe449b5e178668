//! The embedded SQLite backend: one writer connection and a small pool of read-only
//! connections over the same WAL database, each used on tokio's blocking pool. Queries are
//! the shared ones in `queries.rs`, driven here by [`run_ready`].

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::Semaphore;

use crate::StoreError;
use crate::db::{Conn, Dialect, Row, Value, run_ready};

mod embedded {
    refinery::embed_migrations!("migrations/sqlite");
}

/// How SQLite syncs the WAL. `Full` (the default) syncs at every commit, so a write that was
/// acknowledged survives power loss, an OS crash or a failing disk. `Normal` syncs only at
/// checkpoints: it survives a crash of the process, but the last commits before a power loss
/// or an OS crash can be lost (measured: up to 1.7 s of acknowledged replies).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    Normal,
    #[default]
    Full,
}

/// A borrowed SQLite connection (or the connection of an open transaction), with what the
/// write running on it touched.
pub struct SqliteConn<'a>(&'a Connection, crate::touch::Touched);

impl<'a> SqliteConn<'a> {
    pub fn new(conn: &'a Connection) -> Self {
        Self(conn, crate::touch::Touched::default())
    }
}

fn to_sqlite(value: &Value) -> rusqlite::types::Value {
    match value {
        Value::Null => rusqlite::types::Value::Null,
        Value::Int(v) => rusqlite::types::Value::Integer(*v),
        Value::Bool(b) => rusqlite::types::Value::Integer(i64::from(*b)),
        Value::Text(s) => rusqlite::types::Value::Text(s.clone()),
    }
}

fn from_sqlite(value: ValueRef<'_>) -> Result<Value, StoreError> {
    Ok(match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(v) => Value::Int(v),
        ValueRef::Text(t) => Value::Text(match std::str::from_utf8(t) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(t).into_owned(),
        }),
        ValueRef::Real(v) => Value::Int(v as i64),
        ValueRef::Blob(_) => return Err(StoreError::Internal("unexpected BLOB column".into())),
    })
}

impl SqliteConn<'_> {
    fn query_sync(&self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        let width = stmt.column_count();
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter().map(to_sqlite)))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next()? {
            let mut values = Vec::with_capacity(width);
            for i in 0..width {
                values.push(from_sqlite(row.get_ref(i)?)?);
            }
            out.push(Row(values));
        }
        Ok(out)
    }
}

impl Conn for SqliteConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }

    fn touch(&mut self, touched: crate::touch::Touched) {
        self.1.extend(touched.scopes().iter().copied());
    }

    fn take_touched(&mut self) -> crate::touch::Touched {
        std::mem::take(&mut self.1)
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        self.query_sync(sql, params)
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let mut stmt = self.0.prepare_cached(sql)?;
        Ok(stmt.execute(rusqlite::params_from_iter(params.iter().map(to_sqlite)))? as u64)
    }
}

#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    readers: Mutex<Vec<Connection>>,
    reader_permits: Semaphore,
    writer: Mutex<Connection>,
    /// Writes waiting for the writer: whoever holds it next commits them all in one transaction.
    pending: Mutex<Vec<Job>>,
}

/// Hands a write's result to its caller once the transaction it ran in has committed (or
/// failed: then the commit's error, whatever the write returned).
type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;

/// One queued write: run on the writer's connection (`Some`), returning a copy of its error if
/// it failed and how to deliver its result; or never run (`None`), delivering the error given.
type Job = Box<
    dyn for<'c, 'd> FnOnce(
            Option<&'c mut SqliteConn<'d>>,
            StoreError,
        ) -> (Option<StoreError>, Deliver)
        + Send,
>;

/// Writes committed together at most (the rest wait for the next commit).
const GROUP_MAX: usize = 128;

impl StoreError {
    /// The same error again, for every write of a group that failed together (the variants
    /// that carry meaning — unavailable, storage full — keep it).
    fn again(&self) -> StoreError {
        match self {
            StoreError::Unavailable(m) => StoreError::Unavailable(m.clone()),
            StoreError::StorageFull(m) => StoreError::StorageFull(m.clone()),
            StoreError::Unstorable(m) => StoreError::Unstorable(m.clone()),
            StoreError::Conflict { field, message } => StoreError::Conflict {
                field,
                message: message.clone(),
            },
            StoreError::Closed => StoreError::Closed,
            other => StoreError::Internal(other.to_string()),
        }
    }
}

/// Memory each connection may use for its page cache and for mapping the file. Readers map
/// the first 64 MB (hot pages: indexes, recent threads) and read the rest through the OS page
/// cache; mapped pages count in the process's RSS, so a larger map shows up as memory use
/// (measured: 256 MB maps gave a 222 MB peak on a million posts).
const READER_CACHE_KB: i64 = 8 * 1024;
const MMAP_BYTES: i64 = 64 * 1024 * 1024;
const WRITER_CACHE_KB: i64 = 32 * 1024;
/// For bulk loads: index pages of a million-post forum stay in memory while it is written.
const BULK_WRITER_CACHE_KB: i64 = 512 * 1024;

impl Inner {
    /// Takes the writer and commits the queued writes (ours among them, unless an earlier
    /// holder already committed it) in one transaction: one group per call, so whoever waits
    /// for this call is never held up by writes that arrive later (each write has its own call,
    /// so none is left behind).
    fn commit_pending(&self) {
        let conn = match self.writer.lock() {
            Ok(conn) => conn,
            Err(_) => {
                // A panic while the writer was held: refuse every waiting write, never leave
                // one hanging.
                let jobs: Vec<Job> = match self.pending.lock() {
                    Ok(mut pending) => pending.drain(..).collect(),
                    Err(poisoned) => poisoned.into_inner().drain(..).collect(),
                };
                for job in jobs {
                    let _ = job(None, StoreError::Closed);
                }
                return;
            }
        };
        let jobs: Vec<Job> = match self.pending.lock() {
            Ok(mut pending) => {
                let n = pending.len().min(GROUP_MAX);
                pending.drain(..n).collect()
            }
            Err(_) => return,
        };
        if !jobs.is_empty() {
            run_group(&conn, jobs);
        }
    }

    /// Borrows a reader from the pool (the caller holds a permit, so one is free) and returns
    /// it afterwards, even when `f` panics.
    fn with_reader<T>(
        &self,
        f: impl FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self
            .readers
            .lock()
            .map_err(|_| StoreError::Closed)?
            .pop()
            .ok_or(StoreError::Closed)?;
        let lent = Lent {
            inner: self,
            conn: Some(conn),
        };
        let conn = lent.conn.as_ref().ok_or(StoreError::Closed)?;
        f(&mut SqliteConn::new(conn))
    }
}

/// A reader borrowed from the pool. Dropping it gives the reader back, never inside a
/// transaction (its later reads would keep seeing that snapshot, and checkpoints could not pass
/// it): an open one is rolled back, and a reader that cannot be brought out of it is closed, its
/// permit with it, so the pool never holds more permits than readers.
struct Lent<'a> {
    inner: &'a Inner,
    conn: Option<Connection>,
}

impl Drop for Lent<'_> {
    fn drop(&mut self) {
        let Some(conn) = self.conn.take() else {
            return;
        };
        if !conn.is_autocommit() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        if conn.is_autocommit()
            && let Ok(mut pool) = self.inner.readers.lock()
        {
            pool.push(conn);
            return;
        }
        self.inner.reader_permits.forget_permits(1);
    }
}

fn configure(conn: &Connection, synchronous: Synchronous, cache_kb: i64) -> rusqlite::Result<()> {
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
    conn.pragma_update(None, "cache_size", -cache_kb)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(())
}

impl SqliteStore {
    /// Opens (creating if needed) the database file, switches it to WAL and applies migrations.
    pub fn open(
        path: &Path,
        readers: usize,
        synchronous: Synchronous,
        bulk: bool,
    ) -> Result<Self, StoreError> {
        let mut writer = Connection::open(path)?;
        let mode: String =
            writer.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Config(format!(
                "{} could not be switched to WAL mode (it is in {mode} mode)",
                path.display()
            )));
        }
        configure(
            &writer,
            synchronous,
            if bulk {
                BULK_WRITER_CACHE_KB
            } else {
                WRITER_CACHE_KB
            },
        )?;
        if bulk {
            // Checkpoint once, at close, rather than every 4 MB of WAL: each checkpoint syncs.
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
        }
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
            configure(&conn, synchronous, READER_CACHE_KB)?;
            pool.push(conn);
        }
        Ok(Self {
            inner: Arc::new(Inner {
                readers: Mutex::new(pool),
                reader_permits: Semaphore::new(readers),
                writer: Mutex::new(writer),
                pending: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` on a read-only connection, on the calling thread. For page-sized reads
    /// (tens of microseconds): handing them to the blocking pool cost more than the query
    /// (measured 33% more uncached listings per second inline). Bulk reads use [`Self::read_blocking`].
    pub async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        self.inner.with_reader(f)
    }

    /// Runs `f` inside one read transaction, on the calling thread: for a few point reads that
    /// belong together (a page's facts about its reader). They see one snapshot, and the
    /// database's read lock is taken once instead of once per statement (in `perf`, that lock's
    /// `fcntl` calls were a tenth of a signed-in page's time).
    pub async fn read_together<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.read(move |conn| {
            conn.0.prepare_cached("BEGIN")?.execute([])?;
            let result = f(conn);
            // A read keeps nothing: whatever `f` returned, end the transaction (a reader left in
            // one is rolled back when it goes back to the pool).
            let _ = conn
                .0
                .prepare_cached("COMMIT")
                .and_then(|mut s| s.execute([]));
            result
        })
        .await
    }

    /// Runs `f` on a read-only connection on tokio's blocking pool: for reads that take long
    /// (exports, backups), which must not hold up a worker thread.
    pub async fn read_blocking<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let _permit = self
            .inner
            .reader_permits
            .acquire()
            .await
            .map_err(|_| StoreError::Closed)?;
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || inner.with_reader(f))
            .await
            .map_err(|e| StoreError::Internal(e.to_string()))?
    }

    /// Runs `f` inside one read transaction, a consistent snapshot, on the blocking pool.
    pub async fn read_snapshot<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        self.read_blocking(move |conn| {
            conn.0.execute_batch("BEGIN")?;
            let result = f(conn);
            // As in `read_together`: a reader left in the transaction is rolled back on return.
            let _ = conn.0.execute_batch("COMMIT");
            result
        })
        .await
    }

    /// Runs `f` in a transaction on the writer connection, off the async runtime, and returns
    /// once that transaction has committed (synced to disk with `synchronous = full`).
    ///
    /// Group commit: writes that arrive while the writer is busy wait in a queue, and whoever
    /// takes the writer next runs them all in one transaction, each inside its own savepoint
    /// (a write that fails is rolled back alone and gets its error), then commits once. One
    /// fsync then acknowledges many writes, and no write is acknowledged before it is durable.
    pub async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut SqliteConn<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, StoreError>>();
        let job: Job = Box::new(move |conn, skipped| {
            let Some(conn) = conn else {
                let _ = tx.send(Err(skipped));
                return (None, Box::new(|_| {}));
            };
            let result = f(conn);
            let failed = result.as_ref().err().map(StoreError::again);
            let ok = failed.is_none();
            let deliver: Deliver = Box::new(move |commit| {
                let _ = tx.send(match commit {
                    Ok(()) => result,
                    Err(err) if ok => Err(err),
                    Err(_) => result,
                });
            });
            (failed, deliver)
        });
        self.inner
            .pending
            .lock()
            .map_err(|_| StoreError::Closed)?
            .push(job);
        let inner = self.inner.clone();
        // Not awaited: the answer comes through `rx` as soon as the group holding this write
        // has committed, whichever call ran it.
        drop(tokio::task::spawn_blocking(move || inner.commit_pending()));
        rx.await
            .map_err(|_| StoreError::Internal("the write was dropped by a panic".into()))?
    }

    /// The writer connection's `synchronous` level, as SQLite reports it.
    pub async fn synchronous(&self) -> Result<i64, StoreError> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let conn = inner.writer.lock().map_err(|_| StoreError::Closed)?;
            Ok(conn.pragma_query_value(None, "synchronous", |r| r.get(0))?)
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

    /// The names and declared types of every column, and every index, for the schema
    /// comparison test.
    pub async fn schema(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        self.read_blocking(|conn| {
            let mut out = Vec::new();
            let tables = conn.query_sync(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                 AND name NOT LIKE 'refinery_%' ORDER BY name",
                &[],
            )?;
            for table in tables {
                let table = table.text(0)?;
                for col in conn.query_sync(&format!("SELECT name, type FROM pragma_table_info('{table}')"), &[])? {
                    out.push((table.clone(), col.text(0)?, col.text(1)?));
                }
            }
            for index in conn.query_sync(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name",
                &[],
            )? {
                out.push((index.text(0)?, index.text(1)?, "INDEX".to_string()));
            }
            Ok(out)
        })
        .await
    }
}

/// Runs a group of writes in one transaction, each in a savepoint, commits, and delivers
/// every result. A write that fails is rolled back to its savepoint and answered with its own
/// error. If the transaction itself fails (a full disk, an I/O error, or SQLite rolling back
/// the whole transaction after a failed write), every write of the group gets the error: none
/// was acknowledged.
fn run_group(conn: &Connection, jobs: Vec<Job>) {
    const ROLLBACK_ONE: &str = "ROLLBACK TO agora_write; RELEASE agora_write";
    let mut delivers: Vec<Deliver> = Vec::with_capacity(jobs.len());
    let mut jobs = jobs.into_iter();
    let failure: Option<StoreError> = 'group: {
        if let Err(err) = conn.execute_batch("BEGIN IMMEDIATE") {
            break 'group Some(err.into());
        }
        for job in jobs.by_ref() {
            if let Err(err) = conn.execute_batch("SAVEPOINT agora_write") {
                let err: StoreError = err.into();
                let _ = job(None, err.again());
                break 'group Some(err);
            }
            let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                job(Some(&mut SqliteConn::new(conn)), StoreError::Closed)
            }));
            match ran {
                Ok((None, deliver)) => {
                    delivers.push(deliver);
                    if let Err(err) = conn.execute_batch("RELEASE agora_write") {
                        break 'group Some(err.into());
                    }
                }
                Ok((Some(err), deliver)) => {
                    // A failed write has nothing to wait for: its own error, now.
                    deliver(Ok(()));
                    if conn.is_autocommit() {
                        // SQLite undid the whole transaction (a full disk, an I/O error).
                        break 'group Some(err);
                    }
                    if let Err(err) = conn.execute_batch(ROLLBACK_ONE) {
                        break 'group Some(err.into());
                    }
                }
                // Its sender went with the panic: its caller hears of it.
                Err(_) => {
                    if conn.is_autocommit() {
                        break 'group Some(StoreError::Internal("a write panicked".into()));
                    }
                    if let Err(err) = conn.execute_batch(ROLLBACK_ONE) {
                        break 'group Some(err.into());
                    }
                }
            }
        }
        conn.execute_batch("COMMIT").err().map(StoreError::from)
    };
    match failure {
        None => {
            for deliver in delivers {
                deliver(Ok(()));
            }
        }
        Some(err) => {
            if !conn.is_autocommit() {
                let _ = conn.execute_batch("ROLLBACK");
            }
            for deliver in delivers {
                deliver(Err(err.again()));
            }
            for job in jobs {
                let _ = job(None, err.again());
            }
        }
    }
}

/// Runs shared (async) query code on a SQLite connection, on the current blocking thread.
pub fn drive<T>(
    future: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    run_ready(future)
}

/// The lock file beside a database: `agora serve` holds it shared while it runs, and a restore
/// takes it exclusively, so a database is never replaced under a running server.
pub fn lock_path(database: &Path) -> std::path::PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".lock");
    std::path::PathBuf::from(name)
}

/// Holds `database`'s lock file shared (a running server) or exclusively (a restore) until
/// dropped; fails at once if that cannot be had.
pub fn hold_lock(database: &Path, exclusive: bool) -> Result<std::fs::File, StoreError> {
    let path = lock_path(database);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| StoreError::Config(format!("cannot open {}: {e}", path.display())))?;
    let taken = if exclusive {
        file.try_lock()
    } else {
        file.try_lock_shared()
    };
    match taken {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Config(format!(
            "{} is in use by a running `agora serve`: stop it first",
            database.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Config(format!(
            "cannot lock {}: {e}",
            path.display()
        ))),
    }
}

/// Replaces the database at `target` with the backup at `backup` (from `agora db backup`):
/// checks that the backup is a whole Agora database, writes a compacted copy beside the
/// target, syncs it, sets the replaced database and its write-ahead log aside
/// (`*.before-restore`), and renames the copy into place. The caller
/// holds the exclusive lock and renews the database's identity afterwards.
pub fn restore(backup: &Path, target: &Path) -> Result<(), StoreError> {
    if !backup.is_file() {
        return Err(StoreError::Config(format!(
            "{} is not a file",
            backup.display()
        )));
    }
    let source = Connection::open_with_flags(backup, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let check: String = source.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
    if check != "ok" {
        return Err(StoreError::Config(format!(
            "{} is damaged ({check}); pick another backup",
            backup.display()
        )));
    }
    let tables: i64 = source.query_row(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('change_log', 'threads', 'posts', 'users')",
        [],
        |r| r.get(0),
    )?;
    if tables != 4 {
        return Err(StoreError::Config(format!(
            "{} is not an Agora database",
            backup.display()
        )));
    }
    let mut staging = target.as_os_str().to_owned();
    staging.push(".restoring");
    let staging = std::path::PathBuf::from(staging);
    let _ = std::fs::remove_file(&staging);
    source.execute("VACUUM INTO ?1", [staging.to_string_lossy().as_ref()])?;
    drop(source);
    let io = |what: &str, e: std::io::Error| StoreError::Config(format!("{what}: {e}"));
    std::fs::File::open(&staging)
        .and_then(|f| f.sync_all())
        .map_err(|e| io("syncing the restored copy", e))?;
    // The replaced database and its write-ahead log are kept aside, together, never deleted:
    // whatever happens from here, the forum as it was can be put back by hand.
    for suffix in ["", "-wal", "-shm"] {
        let mut from = target.as_os_str().to_owned();
        from.push(suffix);
        let mut aside = from.clone();
        aside.push(".before-restore");
        match std::fs::rename(
            std::path::PathBuf::from(&from),
            std::path::PathBuf::from(aside),
        ) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("setting the replaced database aside", e)),
        }
    }
    std::fs::rename(&staging, target).map_err(|e| io("moving the restored copy into place", e))?;
    if let Some(dir) = target.parent().filter(|p| !p.as_os_str().is_empty())
        && let Ok(dir) = std::fs::File::open(dir)
    {
        let _ = dir.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &mut SqliteConn<'_>) -> Result<i64, StoreError> {
        Ok(conn
            .0
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))?)
    }

    /// A reader given back inside a transaction, or after a panic, comes back to the pool
    /// outside one: later reads see later writes, and the pool never runs dry.
    #[tokio::test]
    async fn a_reader_always_comes_back_to_the_pool_fresh() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = SqliteStore::open(&dir.path().join("t.db"), 1, Synchronous::Normal, false)
            .unwrap_or_else(|e| panic!("{e}"));
        let insert = |n: i64| {
            move |conn: &mut SqliteConn<'_>| {
                conn.0.execute("INSERT INTO t (n) VALUES (?1)", [n])?;
                Ok(())
            }
        };
        store
            .write(|conn| {
                conn.0.execute_batch("CREATE TABLE t (n INTEGER)")?;
                Ok(())
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .write(insert(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        // A read that leaves its transaction open (as a failed COMMIT would).
        let seen = store
            .read(|conn| {
                conn.0.execute_batch("BEGIN")?;
                count(conn)
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seen, 1);
        store
            .write(insert(2))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store.read(count).await.unwrap_or_else(|e| panic!("{e}")),
            2,
            "an old snapshot was kept"
        );
        // A read that panics inside its transaction.
        let panicking = store.clone();
        let crashed = tokio::spawn(async move {
            panicking
                .read_together(|_| -> Result<(), StoreError> { panic!("a bug in a read") })
                .await
        })
        .await;
        assert!(crashed.is_err());
        store
            .write(insert(3))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            store
                .read_together(count)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            3
        );
        assert_eq!(store.read(count).await.unwrap_or_else(|e| panic!("{e}")), 3);
    }
}
