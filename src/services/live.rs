//! Live updates: one server-sent-events stream per open page (`GET /events`). A thread page
//! hears of its new replies and edits, a listing of its new threads, and a signed-in reader of
//! their unread count. Events come from the change log, so a write on another node reaches a
//! stream here (PostgreSQL's LISTEN/NOTIFY only wakes the follower; the ids are read back from
//! the log, and a node that reconnects catches up from it). Each event's id is its change-log
//! position: a browser that reconnects with `Last-Event-ID` is sent what it missed first.
//!
//! Streams are capped per client address and per node, and all end when the node shuts down.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use agora_store::ChangeRow;
use tokio::sync::{broadcast, watch};

use crate::app::AppState;

/// Streams one client address may hold open (tabs of one browser, a few people behind NAT).
pub const STREAMS_PER_CLIENT: usize = 16;
/// Streams one node holds open at most.
pub const STREAMS_PER_NODE: usize = 20_000;

/// The node's live hub: the change log, read once and handed to every stream.
pub struct Live {
    changes: broadcast::Sender<Arc<ChangeRow>>,
    open: AtomicUsize,
    per_client: Mutex<HashMap<IpAddr, usize>>,
    closing: watch::Sender<bool>,
}

impl Default for Live {
    fn default() -> Self {
        Self::new()
    }
}

impl Live {
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(1024);
        let (closing, _) = watch::channel(false);
        Self {
            changes,
            open: AtomicUsize::new(0),
            per_client: Mutex::new(HashMap::new()),
            closing,
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<ChangeRow>> {
        self.changes.subscribe()
    }

    /// A receiver that says when the node shuts down (every stream ends then).
    pub fn closing(&self) -> watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Ends every stream (shutdown).
    pub fn close(&self) {
        let _ = self.closing.send(true);
    }

    /// How many streams are open on this node.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    /// A place for one more stream from `client`, or None when the client or the node has
    /// enough; the place is given back when the guard is dropped.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Option<StreamGuard> {
        let Ok(mut per_client) = self.per_client.lock() else {
            return None;
        };
        let mine = per_client.entry(client).or_insert(0);
        if *mine >= STREAMS_PER_CLIENT || self.open.load(Ordering::Acquire) >= STREAMS_PER_NODE {
            return None;
        }
        *mine += 1;
        self.open.fetch_add(1, Ordering::AcqRel);
        Some(StreamGuard {
            live: self.clone(),
            client,
        })
    }
}

/// One open stream's place, given back when the stream ends.
pub struct StreamGuard {
    live: Arc<Live>,
    client: IpAddr,
}

impl Drop for StreamGuard {
    fn drop(&mut self) {
        self.live.open.fetch_sub(1, Ordering::AcqRel);
        if let Ok(mut per_client) = self.live.per_client.lock()
            && let Some(n) = per_client.get_mut(&self.client)
        {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_client.remove(&self.client);
            }
        }
    }
}

/// Follows the change log from its head and hands each entry to the streams, until the node
/// shuts down: whenever the store's change counter moves (this node's writes, or another
/// node's, heard through the store), and every half second regardless.
pub async fn follow(state: AppState) {
    let mut closing = state.live.closing();
    let counter = state.store.changes();
    // From the log's head: streams replay older entries themselves (Last-Event-ID). A
    // database that is away now is asked again, never answered with "from the start".
    let mut position = loop {
        match state.store.change_head().await {
            Ok(head) => break head,
            Err(err) => {
                tracing::warn!(error = %err, "live updates wait for the change log");
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = closing.changed() => return,
                }
            }
        }
    };
    let mut seen = None;
    let mut idle = 0u32;
    loop {
        let now = counter.load(Ordering::Acquire);
        if seen != Some(now) || idle >= 2 {
            seen = Some(now);
            idle = 0;
            match state.store.changes_after(position, 500).await {
                Ok(batch) => {
                    for change in batch {
                        position = change.seq;
                        let _ = state.live.changes.send(Arc::new(change));
                    }
                }
                Err(err) => tracing::warn!(error = %err, "live updates cannot read the change log"),
            }
        } else {
            idle += 1;
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(250)) => {}
            _ = closing.changed() => return,
        }
    }
}
