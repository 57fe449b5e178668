//! The PostgreSQL backend: a pool of native async connections (statements prepared once per
//! connection and reused), the same queries as SQLite, and a listener that hears other nodes'
//! writes through LISTEN/NOTIFY.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{AsyncMessage, NoTls};

use crate::StoreError;
use crate::db::{Conn, Dialect, Query, Row, Value, to_postgres_placeholders};
use crate::sql;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(err: tokio_postgres::Error) -> Self {
        use tokio_postgres::error::SqlState;
        let Some(code) = err.code() else {
            // No SQLSTATE: the connection itself failed (refused, reset, closed) — or the
            // client did (a conversion, a row count): that is a bug, a plain 500.
            let io = std::error::Error::source(&err)
                .is_some_and(|source| source.downcast_ref::<std::io::Error>().is_some());
            return if err.is_closed() || io {
                StoreError::Unavailable(err.to_string())
            } else {
                StoreError::Postgres(err.to_string())
            };
        };
        let class = code.code().get(..2).unwrap_or("");
        let constraint = err
            .as_db_error()
            .and_then(|d| d.constraint())
            .unwrap_or_default();
        if *code == SqlState::UNIQUE_VIOLATION
            && let Some(taken) = StoreError::taken(constraint)
        {
            // Two writers raced past the check for a taken name or address.
            taken
        } else if *code == SqlState::DISK_FULL {
            StoreError::StorageFull(err.to_string())
        } else if class == "08"
            || *code == SqlState::ADMIN_SHUTDOWN
            || *code == SqlState::CRASH_SHUTDOWN
            || *code == SqlState::CANNOT_CONNECT_NOW
            || *code == SqlState::TOO_MANY_CONNECTIONS
            || *code == SqlState::READ_ONLY_SQL_TRANSACTION
        {
            StoreError::Unavailable(err.to_string())
        } else if *code == SqlState::CHARACTER_NOT_IN_REPERTOIRE
            || *code == SqlState::UNTRANSLATABLE_CHARACTER
        {
            StoreError::Unstorable(err.to_string())
        } else {
            StoreError::Postgres(err.to_string())
        }
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        match err {
            deadpool_postgres::PoolError::Backend(err) => err.into(),
            // Timeouts waiting for or creating a connection, a closed pool: the database
            // cannot be reached now.
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_sql(ty, out),
            },
            Value::Bool(b) => b.to_sql(ty, out),
            Value::Text(s) => s.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn from_postgres(row: &tokio_postgres::Row) -> Result<Row, StoreError> {
    let mut values = Vec::with_capacity(row.len());
    for (i, column) in row.columns().iter().enumerate() {
        let value = match *column.type_() {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(i64::from(v))),
            Type::BOOL => row.try_get::<_, Option<bool>>(i)?.map(Value::Bool),
            Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
                row.try_get::<_, Option<String>>(i)?.map(Value::Text)
            }
            Type::VOID => None,
            ref other => {
                return Err(StoreError::Internal(format!(
                    "column {} has unsupported type {other}",
                    column.name()
                )));
            }
        };
        values.push(value.unwrap_or(Value::Null));
    }
    Ok(Row(values))
}

fn as_params(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// A pooled connection, or a transaction on one.
pub enum PgConn<'a> {
    Client(&'a deadpool_postgres::Client),
    /// A write's transaction, with what the write touched once it appended to the change log
    /// (None while it has not).
    Tx(
        &'a deadpool_postgres::Transaction<'a>,
        Option<crate::touch::Touched>,
    ),
}

impl<'a> PgConn<'a> {
    pub fn tx(tx: &'a deadpool_postgres::Transaction<'a>) -> Self {
        PgConn::Tx(tx, None)
    }

    /// What the write touched, if it appended to the change log (then other nodes must hear
    /// of it once it commits, even when it touched nothing a page shows).
    pub fn take_logged(&mut self) -> Option<crate::touch::Touched> {
        match self {
            PgConn::Tx(_, mine) => mine.take(),
            PgConn::Client(_) => None,
        }
    }
}

impl PgConn<'_> {
    async fn statement(&self, sql: &str) -> Result<tokio_postgres::Statement, StoreError> {
        let sql = to_postgres_placeholders(sql);
        Ok(match self {
            PgConn::Client(c) => c.prepare_cached(&sql).await?,
            PgConn::Tx(t, _) => t.prepare_cached(&sql).await?,
        })
    }
}

impl Conn for PgConn<'_> {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    fn touch(&mut self, touched: crate::touch::Touched) {
        if let PgConn::Tx(_, mine) = self {
            mine.get_or_insert_default()
                .extend(touched.scopes().iter().copied());
        }
    }

    fn take_touched(&mut self) -> crate::touch::Touched {
        self.take_logged().unwrap_or_default()
    }

    async fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.statement(sql).await?;
        let params = as_params(params);
        let rows = match self {
            PgConn::Client(c) => c.query(&stmt, &params).await?,
            PgConn::Tx(t, _) => t.query(&stmt, &params).await?,
        };
        rows.iter().map(from_postgres).collect()
    }

    async fn query_batch(&mut self, queries: &[Query]) -> Result<Vec<Vec<Row>>, StoreError> {
        let mut stmts = Vec::with_capacity(queries.len());
        for q in queries {
            stmts.push(self.statement(&q.sql).await?);
        }
        let params: Vec<_> = queries.iter().map(|q| as_params(&q.params)).collect();
        // Polled together, tokio-postgres writes every request before reading any answer.
        let answers =
            futures_util::future::try_join_all(stmts.iter().zip(&params).map(|(stmt, params)| {
                match self {
                    PgConn::Client(c) => futures_util::future::Either::Left(c.query(stmt, params)),
                    PgConn::Tx(t, _) => futures_util::future::Either::Right(t.query(stmt, params)),
                }
            }))
            .await?;
        answers
            .iter()
            .map(|rows| rows.iter().map(from_postgres).collect())
            .collect()
    }

    async fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql).await?;
        let params = as_params(params);
        Ok(match self {
            PgConn::Client(c) => c.execute(&stmt, &params).await?,
            PgConn::Tx(t, _) => t.execute(&stmt, &params).await?,
        })
    }
}

#[derive(Clone)]
pub struct PgStore {
    primary: Pool,
    /// Serves reads that tolerate lag (listings), when configured.
    replica: Option<Pool>,
    config: tokio_postgres::Config,
    /// Tells the other nodes what this node's committed writes touched ([`spawn_teller`]).
    teller: tokio::sync::mpsc::UnboundedSender<Note>,
}

/// For the teller: what a committed write touched, or a request to say when everything
/// handed over so far has been told.
enum Note {
    Touched(crate::touch::Touched),
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// A notification carries less than 8,000 bytes.
const NOTE_BYTES: usize = 7_000;

/// Tells the other nodes, after commit, what this node's writes touched: `NOTIFY
/// agora_changes` on a connection of its own, with everything committed since the last
/// notification merged into one. Writes used to notify inside their own transactions, but
/// PostgreSQL serialises the commits of notifying transactions (a lock taken at commit and
/// held through the commit's flush to disk): with every write notifying, commits queued one
/// by one. Here a burst of writes costs one small notifying transaction, and a lone write is
/// told at once. A write whose notification is lost (the node stops first, or PostgreSQL
/// refuses it three times) leaves other nodes' cached pages stale until they age out, within
/// `cache.max_age_secs`; their followers find it by polling.
fn spawn_teller(pool: Pool) -> tokio::sync::mpsc::UnboundedSender<Note> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Note>();
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut touched: Option<crate::touch::Touched> = None;
            let mut waiting = Vec::new();
            let mut next = Some(first);
            while let Some(note) = next {
                match note {
                    Note::Touched(t) => touched
                        .get_or_insert_default()
                        .extend(t.scopes().iter().copied()),
                    Note::Flush(done) => waiting.push(done),
                }
                next = rx.try_recv().ok();
            }
            if let Some(touched) = touched {
                tell(&pool, &touched).await;
            }
            for done in waiting {
                let _ = done.send(());
            }
        }
    });
    tx
}

async fn tell(pool: &Pool, touched: &crate::touch::Touched) {
    for attempt in 1..=3 {
        let sent = async {
            let client = pool.get().await?;
            let statement = client
                .prepare_cached(&to_postgres_placeholders(sql::PG_NOTIFY_CHANGE))
                .await?;
            for note in touched.notes(NOTE_BYTES) {
                client.execute(&statement, &[&note]).await?;
            }
            Ok::<_, StoreError>(())
        }
        .await;
        match sent {
            Ok(()) => return,
            Err(err) if attempt < 3 => {
                tracing::warn!(error = %err, "could not tell other nodes of a write; retrying");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(err) => {
                tracing::warn!(error = %err, "could not tell other nodes of a write; their caches catch up as pages age")
            }
        }
    }
}

fn pool(config: &tokio_postgres::Config, size: usize) -> Result<Pool, StoreError> {
    let manager = Manager::from_config(
        config.clone(),
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .build()
        .map_err(|e| StoreError::Config(format!("PostgreSQL pool: {e}")))
}

/// The server's settings for every connection, unless the URL's `options` set them: no JIT.
/// Every statement here is short; compiling one costs 10-20 ms, more than running it (an
/// unanalysed 1M-post forum had its deep listing pages JIT-compiled on every read).
const SESSION_OPTIONS: &str = "-c jit=off";

pub fn parse_url(url: &str) -> Result<tokio_postgres::Config, StoreError> {
    let mut config = url
        .parse::<tokio_postgres::Config>()
        .map_err(|e| StoreError::Config(format!("bad PostgreSQL URL: {e}")))?;
    let options = match config.get_options() {
        Some(given) if given.contains("jit") => given.to_string(),
        Some(given) => format!("{given} {SESSION_OPTIONS}"),
        None => SESSION_OPTIONS.to_string(),
    };
    config.options(&options);
    Ok(config)
}

impl PgStore {
    /// Connects, applies migrations (under an advisory lock, so nodes starting together take
    /// turns) and builds the pools.
    pub async fn open(
        url: &str,
        replica_url: Option<&str>,
        pool_size: usize,
    ) -> Result<Self, StoreError> {
        let config = parse_url(url)?;
        let (mut client, connection) = config
            .connect(NoTls)
            .await
            .map_err(|e| StoreError::Config(format!("cannot connect to PostgreSQL: {e}")))?;
        let driver = tokio::spawn(connection);
        client
            .batch_execute("SELECT pg_advisory_lock(7243000)")
            .await?;
        let migrated = embedded::migrations::runner().run_async(&mut client).await;
        client
            .batch_execute("SELECT pg_advisory_unlock(7243000)")
            .await?;
        migrated.map_err(|e| StoreError::Migration(e.to_string()))?;
        drop(client);
        let _ = driver.await;
        let replica = replica_url
            .map(|u| parse_url(u).and_then(|c| pool(&c, pool_size)))
            .transpose()?;
        let primary = pool(&config, pool_size)?;
        Ok(Self {
            teller: spawn_teller(primary.clone()),
            primary,
            replica,
            config,
        })
    }

    /// After a write that appended to the change log commits: other nodes will hear what it
    /// touched.
    pub fn tell_other_nodes(&self, touched: crate::touch::Touched) {
        let _ = self.teller.send(Note::Touched(touched));
    }

    pub async fn client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        Ok(self.primary.get().await?)
    }

    /// A connection for reads that may lag behind the primary.
    pub async fn lagging_client(&self) -> Result<deadpool_postgres::Client, StoreError> {
        match &self.replica {
            Some(replica) => Ok(replica.get().await?),
            None => self.client().await,
        }
    }

    /// Listens for other nodes' writes: each notification names what its write touched, and
    /// those parts' generations move here too (`changes` wakes this node's followers). After
    /// every (re)connect everything moves, so a notification missed while disconnected cannot
    /// leave this node serving stale pages. Runs until the task is dropped.
    pub fn spawn_listener(
        &self,
        changes: Arc<AtomicU64>,
        generations: Arc<crate::touch::Generations>,
    ) -> tokio::task::JoinHandle<()> {
        let config = self.config.clone();
        tokio::spawn(async move {
            loop {
                match config.connect(NoTls).await {
                    Ok((client, mut connection)) => {
                        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                        let driver = tokio::spawn(async move {
                            while let Some(message) =
                                std::future::poll_fn(|cx| connection.poll_message(cx)).await
                            {
                                match message {
                                    Ok(AsyncMessage::Notification(note)) => {
                                        let _ =
                                            tx.send(crate::touch::Touched::decode(note.payload()));
                                    }
                                    Ok(_) => {}
                                    Err(_) => break,
                                }
                            }
                        });
                        if client
                            .batch_execute(&format!("LISTEN {}", sql::PG_CHANNEL))
                            .await
                            .is_ok()
                        {
                            generations.bump_everything();
                            changes.fetch_add(1, Ordering::AcqRel);
                            while let Some(touched) = rx.recv().await {
                                generations.bump(&touched);
                                changes.fetch_add(1, Ordering::AcqRel);
                            }
                        }
                        driver.abort();
                        tracing::warn!("lost the PostgreSQL change listener; reconnecting");
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "cannot connect the PostgreSQL change listener")
                    }
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    }

    /// Columns (with types) and indexes, for the schema comparison test.
    pub async fn schema(&self) -> Result<Vec<(String, String, String)>, StoreError> {
        let client = self.client().await?;
        let mut conn = PgConn::Client(&client);
        let mut out = Vec::new();
        for row in conn
            .query(
                "SELECT table_name::text, column_name::text, data_type::text FROM information_schema.columns \
                 WHERE table_schema = current_schema() AND table_name NOT LIKE 'refinery%' \
                 ORDER BY table_name, ordinal_position",
                &[],
            )
            .await?
        {
            out.push((row.text(0)?, row.text(1)?, row.text(2)?));
        }
        for row in conn
            .query(
                "SELECT tablename::text, indexname::text FROM pg_indexes WHERE schemaname = current_schema() \
                 AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY indexname",
                &[],
            )
            .await?
        {
            out.push((row.text(0)?, row.text(1)?, "INDEX".to_string()));
        }
        Ok(out)
    }

    /// Tells other nodes of every write committed so far (waiting up to 5 s), then closes
    /// the pools.
    pub async fn close(&self) {
        let (done, told) = tokio::sync::oneshot::channel();
        if self.teller.send(Note::Flush(done)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(5), told).await;
        }
        self.primary.close();
        if let Some(replica) = &self.replica {
            replica.close();
        }
    }
}
