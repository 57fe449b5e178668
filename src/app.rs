//! The application state every handler receives: no globals, so tests can build as many
//! differently configured apps as they like.

use std::sync::Arc;
use std::time::Duration;

use agora_store::Store;

use crate::assets::Assets;
use crate::config::Config;
use crate::http_cache::PageCache;
use crate::services::view_counter::ViewCounter;

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
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.inner
    }
}

impl AppState {
    pub fn new(store: Store, config: Config) -> Self {
        let cache = PageCache::new(
            config.cache.max_pages,
            Duration::from_secs(config.cache.max_age_secs),
            store.changes(),
        );
        Self {
            inner: Arc::new(Inner {
                store,
                config,
                cache,
                views: ViewCounter::default(),
                assets: Assets::new(),
            }),
        }
    }

    /// Opens the configured database and builds the state.
    pub async fn open(config: Config) -> anyhow::Result<Self> {
        let url = config.database()?;
        let store = Store::open(&url, config.store_options()).await?;
        Ok(Self::new(store, config))
    }

    /// Writes buffered views; the cached pages then show the new counts.
    pub async fn flush_views(&self) -> anyhow::Result<()> {
        if self.views.flush(&self.store).await? > 0 {
            self.cache.invalidate();
        }
        Ok(())
    }
}
