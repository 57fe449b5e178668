//! Deep listing pages without walking the index to them.
//!
//! Page N of a listing is rows (N−1)·30 … N·30 of its order. `OFFSET` finds them by stepping
//! over every row before, so page 500 of a 25,000-thread subtopic walks 15,000 index entries on
//! each cache miss. From [`FROM_PAGE`] on, a listing's whole order (its thread ids, 8 bytes each)
//! is read once per version of the listing and kept here; a deep page is then a slice of it and
//! one read of its 30 threads by id, as cheap as page 1. The order is dropped when a write
//! touches the listing (its subtopic's or tag's generation moves, see `agora_store::touch`), so
//! a page cut from it is as exact as one read with `OFFSET` at the same moment.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use agora_store::{
    Generations, ListingFilter, ListingPage, ListingQuery, ListingScope, Scope, SortKey, SortOrder,
    Stamp, Store, ThreadId,
};

use crate::error::AppError;

/// Pages before this one are read with `OFFSET` (a few hundred index entries at most).
pub const FROM_PAGE: u32 = 6;

/// How many listings' orders are kept (the largest on 1M posts is 25,000 ids, 200 KB).
const KEPT: usize = 64;

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
struct Key {
    scope: ListingScope,
    sort: SortKey,
    order: SortOrder,
    filter: ListingFilter,
}

struct Order {
    stamp: Stamp,
    ids: Vec<ThreadId>,
}

/// Listings' whole orders, kept while no write touches them.
pub struct ListingOrders {
    orders: quick_cache::sync::Cache<Key, Arc<Order>>,
    generations: Arc<Generations>,
    /// One read of an order at a time per listing: concurrent deep pages of a listing whose
    /// order was dropped wait for that read instead of each reading every id (single flight).
    flights: std::sync::Mutex<HashMap<Key, Arc<tokio::sync::Mutex<()>>>>,
    /// Orders read from the database since start.
    reads: AtomicU64,
}

impl ListingOrders {
    pub fn new(generations: Arc<Generations>) -> Self {
        Self {
            orders: quick_cache::sync::Cache::new(KEPT),
            generations,
            flights: std::sync::Mutex::new(HashMap::new()),
            reads: AtomicU64::new(0),
        }
    }

    /// Orders read from the database since start (each drop of a listing's order costs one).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    fn kept(&self, key: &Key) -> Option<Arc<Order>> {
        self.orders
            .get(key)
            .filter(|order| self.generations.fresh(&order.stamp))
    }

    /// Page `q.page` of the listing, cut from its kept order (read now when there is none or
    /// a write touched the listing since). None: the page is shallow enough for `OFFSET`.
    pub async fn page(
        &self,
        store: &Store,
        q: ListingQuery,
    ) -> Result<Option<ListingPage>, AppError> {
        // An author's listing is not dropped when others reply in their threads: read it with
        // OFFSET always.
        if q.page < FROM_PAGE || matches!(q.scope, ListingScope::Author(_)) {
            return Ok(None);
        }
        let order = self.order(store, q).await?;
        let per = q.per_page.max(1) as usize;
        let from = (q.page as usize - 1).saturating_mul(per);
        let ids: Vec<ThreadId> = order.ids.iter().skip(from).take(per).copied().collect();
        let has_more = order.ids.len() > from + per;
        let threads = if ids.is_empty() {
            Vec::new()
        } else {
            store.listing_by_ids(q, ids).await?
        };
        Ok(Some(ListingPage { threads, has_more }))
    }

    async fn order(&self, store: &Store, q: ListingQuery) -> Result<Arc<Order>, AppError> {
        let key = Key {
            scope: q.scope,
            sort: q.sort,
            order: q.order,
            filter: q.filter,
        };
        if let Some(order) = self.kept(&key) {
            return Ok(order);
        }
        let flight = self
            .flights
            .lock()
            .ok()
            .map(|mut flights| flights.entry(key).or_default().clone());
        let _turn = match &flight {
            Some(flight) => Some(flight.lock().await),
            None => None,
        };
        // Read while this request waited its turn?
        if let Some(order) = self.kept(&key) {
            return Ok(order);
        }
        let order = self.read(store, q, key).await;
        if let Ok(mut flights) = self.flights.lock() {
            flights.remove(&key);
        }
        order
    }

    async fn read(&self, store: &Store, q: ListingQuery, key: Key) -> Result<Arc<Order>, AppError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        // The generation before the read: a write during it leaves the order stale.
        let mut stamp = self.generations.stamp();
        let scope = match q.scope {
            ListingScope::Subtopic(id) => Scope::Subtopic(id),
            ListingScope::Tag(id) => Scope::Tag(id),
            ListingScope::Author(_) => Scope::Everything,
        };
        self.generations.depend(&mut stamp, scope);
        let ids = store.listing_ids(q).await?;
        let order = Arc::new(Order { stamp, ids });
        self.orders.insert(key, order.clone());
        Ok(order)
    }
}
