//! View counting that never writes inside a request: counts are buffered in memory and added
//! to the database in one batch per flush interval, and once more on shutdown. Adding (never
//! overwriting) lets several nodes count the same thread.
//!
//! A visitor counts once per thread per day: signed-in readers by account, anonymous ones by a
//! salted hash of their address and user agent (the salt is random per process and never
//! stored, so the hashes cannot be reversed or joined with anything). Common crawlers are not
//! counted. The "seen" memory is bounded; under extreme churn a visitor may count twice.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use agora_store::{Store, StoreError, ThreadId};

const ONCE_PER: Duration = Duration::from_secs(24 * 3600);

pub struct ViewCounter {
    pending: Mutex<HashMap<ThreadId, i64>>,
    seen: quick_cache::sync::Cache<(u64, ThreadId), Instant>,
    salt: [u8; 32],
}

impl Default for ViewCounter {
    fn default() -> Self {
        let mut salt = [0u8; 32];
        if getrandom::fill(&mut salt).is_err() {
            salt = *blake3::hash(format!("{:?}", Instant::now()).as_bytes()).as_bytes();
        }
        Self {
            pending: Mutex::new(HashMap::new()),
            seen: quick_cache::sync::Cache::new(200_000),
            salt,
        }
    }
}

/// User agents of crawlers and link previewers, lower-cased substrings.
const CRAWLERS: &[&str] = &[
    "bot",
    "crawler",
    "spider",
    "slurp",
    "facebookexternalhit",
    "embedly",
    "preview",
    "bingpreview",
    "mediapartners",
    "feedfetcher",
    "curl/",
    "wget/",
    "python-requests",
    "httpclient",
    "headlesschrome",
    "lighthouse",
];

pub fn is_crawler(user_agent: &str) -> bool {
    let ua = user_agent.to_ascii_lowercase();
    ua.is_empty() || CRAWLERS.iter().any(|c| ua.contains(c))
}

/// Who is reading, for counting views once per visitor.
pub enum Visitor<'a> {
    Account(i64),
    Anonymous {
        ip: std::net::IpAddr,
        user_agent: &'a str,
    },
}

impl ViewCounter {
    fn visitor_key(&self, visitor: &Visitor<'_>) -> u64 {
        let mut hasher = blake3::Hasher::new_keyed(&self.salt);
        match visitor {
            Visitor::Account(id) => {
                hasher.update(b"u");
                hasher.update(&id.to_le_bytes());
            }
            Visitor::Anonymous { ip, user_agent } => {
                hasher.update(b"a");
                hasher.update(ip.to_string().as_bytes());
                hasher.update(b"\0");
                hasher.update(user_agent.as_bytes());
            }
        }
        let bytes = hasher.finalize();
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes.as_bytes()[..8]);
        u64::from_le_bytes(first)
    }

    /// Counts a view of a thread, unless this visitor was counted for it in the last day.
    /// Returns whether it counted.
    pub fn record_visit(&self, thread: ThreadId, visitor: &Visitor<'_>) -> bool {
        let key = (self.visitor_key(visitor), thread);
        let now = Instant::now();
        if self
            .seen
            .get(&key)
            .is_some_and(|at| now.duration_since(at) < ONCE_PER)
        {
            return false;
        }
        self.seen.insert(key, now);
        self.record(thread);
        true
    }

    /// Counts one view of a thread.
    pub fn record(&self, thread: ThreadId) {
        if let Ok(mut pending) = self.pending.lock() {
            *pending.entry(thread).or_insert(0) += 1;
        }
    }

    /// Views counted but not yet written.
    pub fn pending(&self) -> i64 {
        self.pending.lock().map(|p| p.values().sum()).unwrap_or(0)
    }

    /// Writes buffered counts in one transaction; on failure they stay buffered for the next
    /// flush. Returns how many threads were updated.
    pub async fn flush(&self, store: &Store) -> Result<usize, StoreError> {
        let batch: Vec<(ThreadId, i64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(0),
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let count = batch.len();
        if let Err(err) = store.add_views(batch.clone()).await {
            if let Ok(mut pending) = self.pending.lock() {
                for (thread, views) in batch {
                    *pending.entry(thread).or_insert(0) += views;
                }
            }
            return Err(err);
        }
        Ok(count)
    }
}
