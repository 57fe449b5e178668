//! Rendered responses kept in memory, validated by ETag and compressed once per variant.
//!
//! An anonymous page is rendered at most once per data version (bumped by every write this
//! node sees) and per `max_age` (so "5m" does not stay "5m"); every request in between is
//! served from memory, already compressed, or answered 304 when the client has it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use std::future::Future;

/// Cache-Control for pages: always revalidate, which costs a 304 when nothing changed.
pub const REVALIDATE: &str = "no-cache";
/// Cache-Control for content-addressed static files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A response body with its validators and lazily made compressed variants.
pub struct CachedBody {
    version: u64,
    created: Instant,
    last_modified: HeaderValue,
    content_type: &'static str,
    etag: HeaderValue,
    body: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

/// Picks the best encoding the client accepts (a `q=0` refuses one).
fn negotiate(headers: &HeaderMap) -> Encoding {
    let Some(accept) = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
    else {
        return Encoding::Identity;
    };
    let mut gzip = false;
    let mut brotli = false;
    for item in accept.split(',') {
        let mut parts = item.split(';');
        let name = parts.next().unwrap_or("").trim();
        let refused = parts.any(|p| {
            p.trim()
                .strip_prefix("q=")
                .and_then(|q| q.trim().parse::<f32>().ok())
                .is_some_and(|q| q <= 0.0)
        });
        if refused {
            continue;
        }
        match name {
            "br" => brotli = true,
            "gzip" => gzip = true,
            _ => {}
        }
    }
    if brotli {
        Encoding::Brotli
    } else if gzip {
        Encoding::Gzip
    } else {
        Encoding::Identity
    }
}

fn compress_gzip(body: &[u8]) -> Bytes {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(
        Vec::with_capacity(body.len() / 4),
        flate2::Compression::new(6),
    );
    // Writing into a Vec cannot fail.
    let _ = encoder.write_all(body);
    Bytes::from(encoder.finish().unwrap_or_default())
}

fn compress_brotli(body: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(body.len() / 4);
    let params = brotli::enc::BrotliEncoderParams {
        quality: 5,
        ..Default::default()
    };
    let mut input = body;
    let _ = brotli::BrotliCompress(&mut input, &mut out, &params);
    Bytes::from(out)
}

impl CachedBody {
    pub fn new(content_type: &'static str, body: impl Into<Bytes>, version: u64) -> Self {
        let body = body.into();
        let hash = blake3::hash(&body);
        let etag = format!("W/\"{}\"", &hash.to_hex()[..20]);
        let now = httpdate::fmt_http_date(SystemTime::now());
        Self {
            version,
            created: Instant::now(),
            last_modified: HeaderValue::from_str(&now).unwrap_or(HeaderValue::from_static("")),
            content_type,
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("")),
            body,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
        }
    }

    /// The uncompressed body.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    pub fn etag(&self) -> &HeaderValue {
        &self.etag
    }

    fn not_modified(&self, headers: &HeaderMap) -> bool {
        if let Some(tags) = headers
            .get(header::IF_NONE_MATCH)
            .and_then(|v| v.to_str().ok())
        {
            let ours = self.etag.to_str().unwrap_or("");
            let bare = ours.trim_start_matches("W/");
            return tags.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == bare
            });
        }
        if let Some(since) = headers
            .get(header::IF_MODIFIED_SINCE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| httpdate::parse_http_date(v).ok())
        {
            let modified = self
                .last_modified
                .to_str()
                .ok()
                .and_then(|v| httpdate::parse_http_date(v).ok());
            return modified.is_some_and(|m| m <= since);
        }
        false
    }

    /// The response for one request: 304, or the body in the best accepted encoding.
    pub fn respond(&self, request: &HeaderMap, cache_control: &'static str) -> Response {
        let mut builder = Response::builder()
            .header(header::ETAG, self.etag.clone())
            .header(header::LAST_MODIFIED, self.last_modified.clone())
            .header(header::CACHE_CONTROL, cache_control)
            .header(header::VARY, "Accept-Encoding");
        if self.not_modified(request) {
            return builder
                .status(StatusCode::NOT_MODIFIED)
                .body(Body::empty())
                .unwrap_or_else(|_| StatusCode::NOT_MODIFIED.into_response());
        }
        builder = builder.header(header::CONTENT_TYPE, self.content_type);
        let body = match negotiate(request) {
            Encoding::Brotli if self.body.len() > 256 => {
                builder = builder.header(header::CONTENT_ENCODING, "br");
                self.brotli
                    .get_or_init(|| compress_brotli(&self.body))
                    .clone()
            }
            Encoding::Gzip | Encoding::Brotli if self.body.len() > 256 => {
                builder = builder.header(header::CONTENT_ENCODING, "gzip");
                self.gzip.get_or_init(|| compress_gzip(&self.body)).clone()
            }
            _ => self.body.clone(),
        };
        builder
            .body(Body::from(body))
            .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
    }
}

/// The page cache and the data version that invalidates it.
pub struct PageCache {
    pages: Option<quick_cache::sync::Cache<String, Arc<CachedBody>>>,
    max_age: Duration,
    /// Bumped by `invalidate` (site settings, member changes that every page may show).
    local: AtomicU64,
    /// The store's change counter: every write this node makes or hears of.
    store: Arc<AtomicU64>,
    /// Renders in progress, by key: a request for a page being rendered waits for that render
    /// instead of rendering it again (single flight).
    flights: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Pages rendered into the cache since start.
    renders: AtomicU64,
}

impl PageCache {
    pub fn new(max_pages: usize, max_age: Duration, store_changes: Arc<AtomicU64>) -> Self {
        Self {
            pages: (max_pages > 0).then(|| quick_cache::sync::Cache::new(max_pages)),
            max_age,
            local: AtomicU64::new(1),
            store: store_changes,
            flights: std::sync::Mutex::new(std::collections::HashMap::new()),
            renders: AtomicU64::new(0),
        }
    }

    /// Pages rendered into the cache since start (each miss that rendered, once per flight).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// The lock of `key`'s render, held by whoever renders it now; None when pages are not
    /// kept at all (`cache.max_pages` = 0).
    fn flight(&self, key: &str) -> Option<Arc<tokio::sync::Mutex<()>>> {
        self.pages.as_ref()?;
        let mut flights = self.flights.lock().ok()?;
        Some(flights.entry(key.to_string()).or_default().clone())
    }

    /// `key`'s render is done (its page is in the cache, or it failed).
    fn land(&self, key: &str) {
        if let Ok(mut flights) = self.flights.lock() {
            flights.remove(key);
        }
    }

    /// The current data version (both counters only grow, so their sum does too); anything
    /// rendered under an older one is stale.
    pub fn version(&self) -> u64 {
        self.local.load(Ordering::Acquire) + self.store.load(Ordering::Acquire)
    }

    /// Marks every cached page stale.
    pub fn invalidate(&self) {
        self.local.fetch_add(1, Ordering::AcqRel);
    }

    /// A fresh cached body for `key`, if there is one.
    pub fn get(&self, key: &str) -> Option<Arc<CachedBody>> {
        let page = self.pages.as_ref()?.get(key)?;
        (page.version == self.version() && page.created.elapsed() < self.max_age).then_some(page)
    }

    /// The cached body for `key` however old: served when the page cannot be rendered because
    /// the database is unavailable (a stale page beats an error page for a reader).
    pub fn get_stale(&self, key: &str) -> Option<Arc<CachedBody>> {
        self.pages.as_ref()?.get(key)
    }

    pub fn insert(&self, key: String, body: Arc<CachedBody>) {
        if let Some(pages) = &self.pages {
            pages.insert(key, body);
        }
    }
}

// ---------------------------------------------------------------- serving through the cache

/// The content type of every page.
pub const HTML: &str = "text/html; charset=utf-8";

/// The cached body for `key`, or `render`ed now (under the version current before the read, so
/// a write during rendering cannot be cached as fresh) and cached.
pub async fn cached_body<F, Fut>(
    state: &AppState,
    key: String,
    content_type: &'static str,
    render: F,
) -> Result<Arc<CachedBody>, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    // Pages, feeds and the API can share a path once nesting strips `/api/v1`: the content
    // type keeps their entries apart.
    let key = format!("{content_type} {key}");
    if let Some(hit) = state.cache.get(&key) {
        return Ok(hit);
    }
    // Single flight: one request renders a missed page, the others wait for it and take its
    // result from the cache (a hot page missed under load is rendered once, not once per
    // request). Without a cache there is nothing to share, so nobody waits.
    let flight = state.cache.flight(&key);
    let _turn = match &flight {
        Some(flight) => {
            let turn = flight.lock().await;
            if let Some(hit) = state.cache.get(&key) {
                return Ok(hit);
            }
            Some(turn)
        }
        None => None,
    };
    let rendered = render_into(state, &key, content_type, render).await;
    if flight.is_some() {
        state.cache.land(&key);
    }
    rendered
}

/// Renders a missed page and caches it under the version current before the read.
async fn render_into<F, Fut>(
    state: &AppState,
    key: &str,
    content_type: &'static str,
    render: F,
) -> Result<Arc<CachedBody>, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    let version = state.cache.version();
    let body = match render().await {
        Ok(body) => body,
        Err(AppError::Unavailable) => {
            return state.cache.get_stale(key).ok_or(AppError::Unavailable);
        }
        Err(err) => return Err(err),
    };
    let page = Arc::new(CachedBody::new(content_type, body, version));
    state.cache.insert(key.to_string(), page.clone());
    state.cache.renders.fetch_add(1, Ordering::Relaxed);
    Ok(page)
}

/// A response made for one signed-in reader: never stored by shared caches.
pub fn private_response(content_type: &'static str, body: impl Into<axum::body::Body>) -> Response {
    private_with_status(StatusCode::OK, content_type, body)
}

fn private_with_status(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<axum::body::Body>,
) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        body.into(),
    )
        .into_response()
}

/// A form page made for one signed-in reader, with the status its submission earned.
pub fn private_page(status: StatusCode, html: String) -> Response {
    private_with_status(status, HTML, html)
}

/// Serves `key` from the page cache, or renders and caches it. A signed-in reader's page is
/// theirs alone (their name, their buttons): rendered for them and never cached.
pub async fn cached<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    key: String,
    content_type: &'static str,
    render: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    if viewer.signed_in() {
        return Ok(private_response(content_type, render().await?));
    }
    let page = cached_body(state, key, content_type, render).await?;
    Ok(page.respond(headers, REVALIDATE))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn encodings_are_negotiated() {
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "gzip, deflate, br")])),
            Encoding::Brotli
        );
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "gzip, br;q=0")])),
            Encoding::Gzip
        );
        assert_eq!(
            negotiate(&headers(&[("accept-encoding", "identity")])),
            Encoding::Identity
        );
        assert_eq!(negotiate(&headers(&[])), Encoding::Identity);
    }

    #[test]
    fn stale_versions_are_not_served() {
        let store = Arc::new(AtomicU64::new(0));
        let cache = PageCache::new(10, Duration::from_secs(60), store.clone());
        cache.insert(
            "/".into(),
            Arc::new(CachedBody::new("text/html", "x", cache.version())),
        );
        assert!(cache.get("/").is_some());
        cache.invalidate();
        assert!(cache.get("/").is_none());
        cache.insert(
            "/".into(),
            Arc::new(CachedBody::new("text/html", "x", cache.version())),
        );
        store.fetch_add(1, Ordering::AcqRel);
        assert!(
            cache.get("/").is_none(),
            "a write the store saw makes pages stale"
        );
    }
}
