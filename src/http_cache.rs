//! Rendered responses kept in memory, validated by ETag and compressed once per variant.
//!
//! An anonymous page is rendered at most once per version of what it shows and per `max_age`
//! (so "5m" does not stay "5m"); every request in between is served from memory, already
//! compressed, or answered 304 when the client has it.
//!
//! What a page shows is named by its handler while it renders ([`depends_on`]: a thread, a
//! subtopic, a tag, the front pages). Each write names what it touched (the store derives it
//! from the change log entry, see `agora_store::touch`), and only the pages that depend on
//! those go stale; a page that names nothing goes stale with any write that touched anything.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use agora_store::{Generations, Scope, Stamp};
use std::future::Future;

/// Cache-Control for pages: always revalidate, which costs a 304 when nothing changed.
pub const REVALIDATE: &str = "no-cache";
/// Cache-Control for content-addressed static files.
pub const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// A response body with its validators and lazily made compressed variants.
pub struct CachedBody {
    /// What the page was rendered from, at which generations (None: never stale, such as a
    /// content-addressed static file).
    stamp: Option<Stamp>,
    created: Instant,
    last_modified: HeaderValue,
    content_type: &'static str,
    etag: HeaderValue,
    body: Bytes,
    gzip: OnceLock<Bytes>,
    brotli: OnceLock<Bytes>,
    /// What the page was rendered from, kept beside it for readers whose own parts are
    /// spliced into it (the thread page's rows).
    extra: Option<Arc<dyn std::any::Any + Send + Sync>>,
}

/// What a render made: the body, and optionally the data it was made from (kept with it).
pub type Rendered = (String, Option<Arc<dyn std::any::Any + Send + Sync>>);

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
    pub fn new(content_type: &'static str, body: impl Into<Bytes>) -> Self {
        let body = body.into();
        let hash = blake3::hash(&body);
        let etag = format!("W/\"{}\"", &hash.to_hex()[..20]);
        let now = httpdate::fmt_http_date(SystemTime::now());
        Self {
            stamp: None,
            created: Instant::now(),
            last_modified: HeaderValue::from_str(&now).unwrap_or(HeaderValue::from_static("")),
            content_type,
            etag: HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("")),
            body,
            gzip: OnceLock::new(),
            brotli: OnceLock::new(),
            extra: None,
        }
    }

    /// The data the page was rendered from, when it is a `T`.
    pub fn extra<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        self.extra.clone()?.downcast::<T>().ok()
    }

    /// The body, stale once anything `stamp` depends on changes.
    pub fn stamped(mut self, stamp: Stamp) -> Self {
        self.stamp = Some(stamp);
        self
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

/// What a kept page costs in memory, roughly: its key, its body, the compressed copies made
/// when first asked for (about half the body between them), and the rows and view kept beside
/// a thread page (about three times its body). Counted once, when the page is kept. No page
/// weighs less than `floor` (the byte budget over `cache.max_pages`), so that the cache also
/// keeps at most that many pages.
#[derive(Clone)]
struct PageWeight {
    floor: u64,
}

impl quick_cache::Weighter<String, Arc<CachedBody>> for PageWeight {
    fn weight(&self, key: &String, page: &Arc<CachedBody>) -> u64 {
        let body = page.body.len() as u64;
        let extra = if page.extra.is_some() { 3 * body } else { 0 };
        (512 + key.len() as u64 + body + body / 2 + extra).max(self.floor)
    }
}

/// The page cache, and the generations of what its pages were rendered from.
pub struct PageCache {
    pages: Option<quick_cache::sync::Cache<String, Arc<CachedBody>, PageWeight>>,
    max_age: Duration,
    /// The store's generations: bumped for what every write this node makes or hears of
    /// touched, and by `invalidate`.
    generations: Arc<Generations>,
    /// Renders in progress, by key: a request for a page being rendered waits for that render
    /// instead of rendering it again (single flight).
    flights: std::sync::Mutex<std::collections::HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Pages rendered into the cache since start.
    renders: AtomicU64,
    /// Requests answered from the cache since start.
    hits: AtomicU64,
}

impl PageCache {
    /// Keeps at most `max_pages` pages, and at most `max_bytes` of them as [`PageWeight`]
    /// counts them (whichever is reached first).
    pub fn new(
        max_pages: usize,
        max_bytes: u64,
        max_age: Duration,
        generations: Arc<Generations>,
    ) -> Self {
        Self {
            pages: (max_pages > 0 && max_bytes > 0).then(|| {
                let floor = (max_bytes / max_pages as u64).max(1);
                quick_cache::sync::Cache::with_weighter(max_pages, max_bytes, PageWeight { floor })
            }),
            max_age,
            generations,
            flights: std::sync::Mutex::new(std::collections::HashMap::new()),
            renders: AtomicU64::new(0),
            hits: AtomicU64::new(0),
        }
    }

    /// Pages rendered into the cache since start (each miss that rendered, once per flight).
    pub fn renders(&self) -> u64 {
        self.renders.load(Ordering::Relaxed)
    }

    /// Requests answered from the cache since start.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::Relaxed)
    }

    /// True when `key` (as `cached_body` keys it: content type, space, path) is in the cache
    /// and fresh.
    pub fn holds(&self, content_type: &str, key: &str) -> bool {
        self.fresh(&format!("{content_type} {key}")).is_some()
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

    /// Marks every cached page stale, on this node (what a write recorded as touching
    /// everything also does on every node).
    pub fn invalidate(&self) {
        self.generations.bump_everything();
    }

    fn fresh(&self, key: &str) -> Option<Arc<CachedBody>> {
        let page = self.pages.as_ref()?.get(key)?;
        let current = page
            .stamp
            .as_ref()
            .is_none_or(|stamp| self.generations.fresh(stamp));
        (current && page.created.elapsed() < self.max_age).then_some(page)
    }

    /// A fresh cached body for `key`, if there is one (counted as a hit).
    pub fn get(&self, key: &str) -> Option<Arc<CachedBody>> {
        let page = self.fresh(key)?;
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some(page)
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

/// The cached body for `key`, or `render`ed now (under the generations current before the
/// reads, so a write during rendering cannot be cached as fresh) and cached.
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
    cached_body_with(state, key, content_type, || async {
        render().await.map(|body| (body, None))
    })
    .await
}

/// [`cached_body`] for a render that also hands over the data it was made from, kept with the
/// page ([`CachedBody::extra`]).
pub async fn cached_body_with<F, Fut>(
    state: &AppState,
    key: String,
    content_type: &'static str,
    render: F,
) -> Result<Arc<CachedBody>, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, AppError>>,
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

tokio::task_local! {
    /// What the page being rendered for the cache depends on, as its handler names it.
    static DEPENDS: Arc<std::sync::Mutex<Stamp>>;
}

/// Names what the page being rendered shows, so that only writes touching those make it stale
/// (a page that names nothing is stale after any write that touched anything). Call it before
/// reading what the scope covers: the generation is taken now, so a write between this call
/// and the read leaves the page stale rather than cached as fresh. Outside a cached render (a
/// signed-in reader's page) it does nothing.
pub fn depends_on(state: &AppState, scopes: impl IntoIterator<Item = Scope>) {
    let _ = DEPENDS.try_with(|stamp| {
        if let Ok(mut stamp) = stamp.lock() {
            let generations = state.store.generations();
            for scope in scopes {
                generations.depend(&mut stamp, scope);
            }
        }
    });
}

/// Renders a missed page and caches it under the generations current before each read.
async fn render_into<F, Fut>(
    state: &AppState,
    key: &str,
    content_type: &'static str,
    render: F,
) -> Result<Arc<CachedBody>, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<Rendered, AppError>>,
{
    let stamp = Arc::new(std::sync::Mutex::new(
        state.store.generations().stamp_anything(),
    ));
    let (body, extra) = match DEPENDS.scope(stamp.clone(), render()).await {
        Ok(rendered) => rendered,
        Err(AppError::Unavailable) => {
            return state.cache.get_stale(key).ok_or(AppError::Unavailable);
        }
        Err(err) => return Err(err),
    };
    let stamp = stamp
        .lock()
        .map(|stamp| stamp.clone())
        .map_err(|_| AppError::Internal(anyhow::anyhow!("a page's dependencies were poisoned")))?;
    let mut page = CachedBody::new(content_type, body).stamped(stamp);
    page.extra = extra;
    let page = Arc::new(page);
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
    use agora_store::Touched;

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
    fn kept_pages_stay_within_their_memory_and_their_number() {
        let generations = Arc::new(Generations::default());
        let page = |n: usize| Arc::new(CachedBody::new("text/html", "x".repeat(n)));
        // 200 pages of 10 KB into 256 KB: the budget holds, whatever the page count allows.
        let cache = PageCache::new(
            1_000,
            256 << 10,
            Duration::from_secs(60),
            generations.clone(),
        );
        for i in 0..200 {
            cache.insert(format!("/p/{i}"), page(10_000));
        }
        let pages = cache.pages.as_ref().map_or(0, |p| p.weight());
        assert!(pages <= 256 << 10, "{pages} bytes kept");
        let held = (0..200)
            .filter(|i| cache.fresh(&format!("/p/{i}")).is_some())
            .count();
        assert!(
            (10..=20).contains(&held),
            "{held} pages of 10 KB held in 256 KB"
        );
        // Tiny pages: the page count holds.
        let cache = PageCache::new(8, 64 << 20, Duration::from_secs(60), generations);
        for i in 0..100 {
            cache.insert(format!("/q/{i}"), page(10));
        }
        let held = (0..100)
            .filter(|i| cache.fresh(&format!("/q/{i}")).is_some())
            .count();
        assert!(held <= 8, "{held} pages held, 8 allowed");
    }

    #[test]
    fn stale_pages_are_not_served() {
        let generations = Arc::new(Generations::default());
        let cache = PageCache::new(10, 1 << 20, Duration::from_secs(60), generations.clone());
        let mut stamp = generations.stamp();
        generations.depend(&mut stamp, Scope::Front);
        cache.insert(
            "/".into(),
            Arc::new(CachedBody::new("text/html", "x").stamped(stamp.clone())),
        );
        assert!(cache.get("/").is_some());
        let mut elsewhere = Touched::default();
        elsewhere.push(Scope::Thread(agora_store::ThreadId(5)));
        generations.bump(&elsewhere);
        assert!(
            cache.get("/").is_some(),
            "a write elsewhere leaves the page"
        );
        cache.invalidate();
        assert!(cache.get("/").is_none());
        let mut stamp = generations.stamp();
        generations.depend(&mut stamp, Scope::Front);
        cache.insert(
            "/".into(),
            Arc::new(CachedBody::new("text/html", "x").stamped(stamp)),
        );
        generations.bump(&Touched::decode("f"));
        assert!(
            cache.get("/").is_none(),
            "a write that touched what the page shows makes it stale"
        );
    }
}
