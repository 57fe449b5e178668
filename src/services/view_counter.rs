//! View counting that never writes inside a request: counts are buffered in memory and added
//! to the database in one batch per flush interval, and once more on shutdown. Adding (never
//! overwriting) lets several nodes count the same thread.

use std::collections::HashMap;
use std::sync::Mutex;

use agora_store::{Store, StoreError, ThreadId};

#[derive(Default)]
pub struct ViewCounter {
    pending: Mutex<HashMap<ThreadId, i64>>,
}

impl ViewCounter {
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
