//! The application state every handler receives: no globals, so tests can build as many
//! differently configured apps as they like.

use std::sync::Arc;
use std::time::Duration;

use agora_store::Store;
use arc_swap::ArcSwap;

use crate::assets::Assets;
use crate::config::Config;
use crate::http_cache::PageCache;
use crate::limits::Limits;
use crate::services::mail::Mailer;
use crate::services::search::Search;
use crate::services::settings::Site;
use crate::services::view_counter::ViewCounter;
use crate::settings::SiteSettings;

#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

pub struct Inner {
    pub store: Store,
    pub config: Config,
    pub cache: PageCache,
    pub views: ViewCounter,
    pub assets: Assets,
    /// Abuse limits, rebuilt when the site settings change them.
    limits: ArcSwap<Limits>,
    /// The live site settings (see [`crate::services::settings`]).
    site: ArcSwap<Site>,
    pub mailer: Mailer,
    /// This node's search index and its indexer.
    pub search: Arc<Search>,
    /// Woken when a job is queued here, so the job runner does not wait for its next round.
    pub jobs_queued: tokio::sync::Notify,
    /// Live updates: the change log handed to every open `/events` stream.
    pub live: std::sync::Arc<crate::services::live::Live>,
    /// When this node last wrote each account's `last_seen_at` (at most once a minute each).
    pub seen: std::sync::Mutex<std::collections::HashMap<i64, std::time::Instant>>,
    /// This node's name in the job table.
    pub node: String,
    /// See `auth::dummy_hash`.
    pub dummy_hash: tokio::sync::OnceCell<String>,
    /// Where uploaded files' bytes live.
    pub blobs: crate::blobs::Blobs,
    /// Listings' whole orders, for deep pages.
    pub listing_orders: crate::services::listing_order::ListingOrders,
    /// Images being decoded and re-encoded at once (one per core: each holds a whole image).
    pub media_slots: tokio::sync::Semaphore,
    /// The upload clean-up's counts, for the metrics and the dashboard.
    pub upload_stats: crate::services::uploads::UploadStats,
    /// Background work failing now, for `/healthz`.
    pub faults: crate::health::Faults,
    /// Work a request started but did not wait for (see [`AppState::spawn`]).
    background: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl AppState {
    /// Whether to write that `user` was seen now: once a minute per account on this node
    /// (notification email asks whether someone is away). Forgets accounts idle for an hour.
    pub fn seen_due(&self, user: i64) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return false;
        };
        let now = std::time::Instant::now();
        if seen.len() > 10_000 {
            seen.retain(|_, at| now.duration_since(*at).as_secs() < 3600);
        }
        match seen.get(&user) {
            Some(at) if now.duration_since(*at).as_secs() < 60 => false,
            _ => {
                seen.insert(user, now);
                true
            }
        }
    }

    pub fn new(store: Store, config: Config) -> anyhow::Result<Self> {
        let cache = PageCache::new(
            config.cache.max_pages,
            config.cache.max_mb.saturating_mul(1 << 20),
            Duration::from_secs(config.cache.max_age_secs),
            store.generations(),
        );
        let mailer = Mailer::new(&config)?;
        let search = Arc::new(Search::open(&config.data_dir, &config.search)?);
        let blobs = crate::blobs::Blobs::open(&config.uploads, &config.data_dir)?;
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        let node = format!(
            "{}-{}",
            std::process::id(),
            crate::auth::new_secret()
                .unwrap_or_default()
                .get(..8)
                .unwrap_or("")
        );
        let listing_orders =
            crate::services::listing_order::ListingOrders::new(store.generations());
        Ok(Self {
            inner: Arc::new(Inner {
                listing_orders,
                limits: ArcSwap::from_pointee(Limits::new(&config.limits)),
                site: ArcSwap::from_pointee(Site::new(SiteSettings::defaults(&config), 0)),
                store,
                config,
                cache,
                views: ViewCounter::default(),
                assets: Assets::new(),
                mailer,
                search,
                jobs_queued: tokio::sync::Notify::new(),
                live: std::sync::Arc::new(crate::services::live::Live::new()),
                seen: std::sync::Mutex::new(std::collections::HashMap::new()),
                node,
                dummy_hash: tokio::sync::OnceCell::new(),
                blobs,
                media_slots: tokio::sync::Semaphore::new(cores),
                upload_stats: Default::default(),
                faults: crate::health::Faults::default(),
                background: std::sync::Mutex::new(Vec::new()),
            }),
        })
    }

    /// Opens the configured database and builds the state.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let url = config.database()?;
        let store = Store::open(&url, config.store_options()).await?;
        let state = Self::new(store, config)?;
        crate::services::settings::refresh(&state).await?;
        Ok(state)
    }

    /// The live site settings.
    pub fn site(&self) -> Arc<Site> {
        self.site.load_full()
    }

    /// The abuse limits now in force.
    pub fn limits(&self) -> Arc<Limits> {
        self.limits.load_full()
    }

    /// Puts new settings in force on this node, unless newer ones already are (two reads
    /// finishing out of order); limits are rebuilt only when they changed, so the buckets'
    /// state survives other changes. True when installed.
    pub fn install_site(&self, site: Site) -> bool {
        let site = Arc::new(site);
        let previous = self.site.rcu(|current| {
            if current.version < site.version {
                site.clone()
            } else {
                current.clone()
            }
        });
        if previous.version >= site.version {
            return false;
        }
        if site.settings.limits != previous.settings.limits {
            self.limits
                .store(Arc::new(Limits::new(&site.settings.limits)));
        }
        true
    }

    /// Runs work a request should not wait for (so its answer takes the same time whatever the
    /// work finds). Finished by [`AppState::finish_background`] before mail goes out and at
    /// shutdown.
    pub fn spawn(&self, work: impl std::future::Future<Output = ()> + Send + 'static) {
        let handle = tokio::spawn(work);
        if let Ok(mut background) = self.background.lock() {
            background.retain(|h| !h.is_finished());
            background.push(handle);
        }
    }

    /// Waits for the background work started so far.
    pub async fn finish_background(&self) {
        let handles: Vec<_> = match self.background.lock() {
            Ok(mut background) => background.drain(..).collect(),
            Err(_) => return,
        };
        for handle in handles {
            let _ = handle.await;
        }
    }

    /// Runs every job that is due now (emails among them), after the background work
    /// requests started (which may queue some). The server's job runner calls this; tests
    /// call it instead of waiting for it.
    pub async fn run_jobs(&self) -> crate::jobs::Round {
        self.finish_background().await;
        let (round, result) = crate::jobs::run_due(self, agora_store::Timestamp::now()).await;
        self.faults.record("job runner", &result);
        round
    }

    /// Writes buffered views. Cached pages are kept: they show the new counts when next
    /// rendered (after a write that touches them, or `cache.max_age_secs` at the latest), so
    /// readers alone never empty the page cache.
    pub async fn flush_views(&self) -> anyhow::Result<()> {
        let result = self.views.flush(&self.store).await;
        self.faults.record("view counting", &result);
        result?;
        Ok(())
    }
}
