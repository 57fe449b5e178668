//! `TestApp`: a forum on a fresh SQLite file in a temporary directory, and helpers to send it
//! requests through the real router.

use agora::app::AppState;
use agora::config::Config;
use agora::services::archive;
use agora_store::{Archive, Store, StoreOptions};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[allow(dead_code)] // `dir` keeps the temporary directory alive for the test
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub dir: tempfile::TempDir,
}

pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn html(&self) -> scraper::Html {
        scraper::Html::parse_document(&self.text())
    }
}

pub fn config_for(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    }
}

impl TestApp {
    /// An empty forum.
    pub async fn empty() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let config = config_for(dir.path());
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("open: {e:#}"));
        let router = agora::router::build(state.clone());
        Self { state, router, dir }
    }

    /// A forum with the built-in demo content.
    pub async fn demo() -> Self {
        let app = Self::empty().await;
        archive::load_demo_if_empty(&app.state.store)
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        app
    }

    /// A forum holding `archive`.
    pub async fn with_archive(archive: Archive) -> Self {
        let app = Self::empty().await;
        archive::import(&app.state.store, archive, None)
            .await
            .unwrap_or_else(|e| panic!("import: {e:#}"));
        app
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(path, &[]).await
    }

    pub async fn request(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        let mut builder = Request::builder().uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(Body::empty())
            .unwrap_or_else(|e| panic!("request: {e}"));
        let response = self
            .router
            .clone()
            .oneshot(request)
            .await
            .unwrap_or_else(|e| panic!("router: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .unwrap_or_else(|e| panic!("body: {e}"))
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    /// GET that must answer 200; returns the response.
    pub async fn ok(&self, path: &str) -> TestResponse {
        let response = self.get(path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "GET {path}: {}",
            response.text()
        );
        response
    }

    /// Follows one redirect.
    pub async fn follow(&self, path: &str) -> (String, TestResponse) {
        let first = self.get(path).await;
        if first.status.is_redirection() {
            let location = first.header("location").unwrap_or_default().to_string();
            let second = self.get(&location).await;
            (location, second)
        } else {
            (path.to_string(), first)
        }
    }

    /// Opens a second store on the same file (as another process would).
    pub async fn reopen_store(&self) -> Store {
        let url = self
            .state
            .config
            .database()
            .unwrap_or_else(|e| panic!("{e}"));
        Store::open(&url, StoreOptions::default())
            .await
            .unwrap_or_else(|e| panic!("reopen: {e}"))
    }
}

/// The demo archive, parsed.
pub fn demo_archive() -> Archive {
    archive::parse(archive::DEMO).unwrap_or_else(|e| panic!("{e:#}"))
}

/// Texts of elements matching a CSS selector.
pub fn texts(html: &scraper::Html, selector: &str) -> Vec<String> {
    let sel =
        scraper::Selector::parse(selector).unwrap_or_else(|e| panic!("selector {selector}: {e}"));
    html.select(&sel)
        .map(|e| {
            e.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Values of an attribute on elements matching a selector.
pub fn attrs(html: &scraper::Html, selector: &str, attr: &str) -> Vec<String> {
    let sel =
        scraper::Selector::parse(selector).unwrap_or_else(|e| panic!("selector {selector}: {e}"));
    html.select(&sel)
        .filter_map(|e| e.value().attr(attr).map(str::to_string))
        .collect()
}
