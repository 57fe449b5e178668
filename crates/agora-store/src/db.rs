//! What a backend connection must offer so that every query and every write path is written
//! once: run SQL with neutral parameters and get neutral rows back.
//!
//! SQLite implements [`Conn`] synchronously (its futures are ready at once) and is driven on
//! tokio's blocking pool with [`run_ready`]; PostgreSQL implements it natively async. Queries
//! use `?N` placeholders; the PostgreSQL connection rewrites them to `$N`.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use crate::StoreError;

/// A parameter or a column value, the same on every backend.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Text(String),
    Bool(bool),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value {
    fn from(v: bool) -> Self {
        Value::Bool(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}
impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Self {
        v.map_or(Value::Null, Into::into)
    }
}

/// Builds a parameter list: `params![a, b, c]`.
macro_rules! params {
    ($($value:expr),* $(,)?) => { &[$($crate::db::Value::from($value)),*][..] };
}
pub(crate) use params;

/// A result row. Getters take the column index and convert, or fail with the column named.
#[derive(Clone, Debug, Default)]
pub struct Row(pub Vec<Value>);

fn type_error(index: usize, want: &str, got: &Value) -> StoreError {
    StoreError::Internal(format!("column {index}: expected {want}, found {got:?}"))
}

impl Row {
    fn at(&self, index: usize) -> Result<&Value, StoreError> {
        self.0
            .get(index)
            .ok_or_else(|| StoreError::Internal(format!("column {index} is missing")))
    }

    pub fn int(&self, index: usize) -> Result<i64, StoreError> {
        match self.at(index)? {
            Value::Int(v) => Ok(*v),
            Value::Bool(b) => Ok(i64::from(*b)),
            other => Err(type_error(index, "an integer", other)),
        }
    }

    pub fn opt_int(&self, index: usize) -> Result<Option<i64>, StoreError> {
        match self.at(index)? {
            Value::Null => Ok(None),
            _ => self.int(index).map(Some),
        }
    }

    pub fn text(&self, index: usize) -> Result<String, StoreError> {
        match self.at(index)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(type_error(index, "text", other)),
        }
    }

    pub fn opt_text(&self, index: usize) -> Result<Option<String>, StoreError> {
        match self.at(index)? {
            Value::Null => Ok(None),
            _ => self.text(index).map(Some),
        }
    }

    /// Booleans are integers on SQLite and booleans on PostgreSQL.
    pub fn bool(&self, index: usize) -> Result<bool, StoreError> {
        match self.at(index)? {
            Value::Bool(b) => Ok(*b),
            Value::Int(v) => Ok(*v != 0),
            other => Err(type_error(index, "a boolean", other)),
        }
    }

    pub fn parse<T: std::str::FromStr<Err = String>>(&self, index: usize) -> Result<T, StoreError> {
        self.text(index)?
            .parse()
            .map_err(|e| StoreError::Internal(format!("column {index}: {e}")))
    }

    pub fn opt_parse<T: std::str::FromStr<Err = String>>(
        &self,
        index: usize,
    ) -> Result<Option<T>, StoreError> {
        match self.at(index)? {
            Value::Null => Ok(None),
            _ => self.parse(index).map(Some),
        }
    }
}

/// A statement described but not run: its SQL and parameters, for [`Conn::query_batch`].
#[derive(Clone, Debug)]
pub struct Query {
    pub sql: std::borrow::Cow<'static, str>,
    pub params: Vec<Value>,
}

impl Query {
    pub fn new(sql: impl Into<std::borrow::Cow<'static, str>>, params: &[Value]) -> Self {
        Query {
            sql: sql.into(),
            params: params.to_vec(),
        }
    }
}

/// Where SQL dialects differ, queries ask which one they speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One connection (or transaction) of a backend.
pub trait Conn {
    fn dialect(&self) -> Dialect;

    /// Records that the open write changed `touched` (see [`crate::touch`]): the store tells
    /// the caches once the transaction commits. A read connection keeps nothing.
    fn touch(&mut self, touched: crate::touch::Touched);

    /// What the open write touched so far, emptied.
    fn take_touched(&mut self) -> crate::touch::Touched;

    /// Runs a query and returns all its rows.
    fn query(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Vec<Row>, StoreError>>;

    /// Runs a statement and returns the number of rows it changed.
    fn execute(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<u64, StoreError>>;

    /// Runs statements none of which needs another's result, in order, and returns each one's
    /// rows (none for a write without RETURNING). PostgreSQL sends them all before it waits for
    /// the first answer: one round trip for the lot, and each still sees the writes of those
    /// before it. SQLite, whose statements cost no round trip, runs them one after another.
    /// The first error is returned. Inside a write's transaction the write then rolls back
    /// whole; outside one, on PostgreSQL, each statement commits alone (the ones after a
    /// failing one may still run), so a batch that writes belongs in a transaction.
    fn query_batch(
        &mut self,
        queries: &[Query],
    ) -> impl Future<Output = Result<Vec<Vec<Row>>, StoreError>> {
        async move {
            let mut out = Vec::with_capacity(queries.len());
            for q in queries {
                out.push(self.query(&q.sql, &q.params).await?);
            }
            Ok(out)
        }
    }

    /// The first row, if any.
    fn query_opt(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Option<Row>, StoreError>> {
        async move { Ok(self.query(sql, params).await?.into_iter().next()) }
    }

    /// Exactly one row.
    fn query_one(
        &mut self,
        sql: &str,
        params: &[Value],
    ) -> impl Future<Output = Result<Row, StoreError>> {
        async move {
            self.query_opt(sql, params)
                .await?
                .ok_or_else(|| StoreError::Internal("the query returned no row".into()))
        }
    }
}

/// Drives a future that never waits (SQLite's) to completion on the current thread.
pub fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        // SQLite futures are ready at once; a pending one could only spin here.
        std::thread::yield_now();
    }
}

/// Rewrites `?N` placeholders to PostgreSQL's `$N`, leaving string literals alone.
pub fn to_postgres_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut in_string = false;
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match ch {
            '\'' => {
                in_string = !in_string;
                out.push(ch);
            }
            '?' if !in_string && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(ch),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_outside_strings() {
        assert_eq!(
            to_postgres_placeholders("SELECT '?1', a FROM t WHERE b = ?1 AND c = ?12"),
            "SELECT '?1', a FROM t WHERE b = $1 AND c = $12"
        );
    }

    #[test]
    fn rows_convert_between_backends() {
        let row = Row(vec![
            Value::Int(1),
            Value::Bool(true),
            Value::Null,
            Value::Text("x".into()),
        ]);
        assert_eq!(row.bool(0).ok(), Some(true));
        assert_eq!(row.int(1).ok(), Some(1));
        assert_eq!(row.opt_text(2).ok(), Some(None));
        assert!(row.int(3).is_err());
    }
}
