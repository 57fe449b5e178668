//! `TestApp`: a forum on a fresh database — a SQLite file in a temporary directory, or a new
//! PostgreSQL database when `AGORA_TEST_POSTGRES_URL` is set — and helpers to send it requests
//! through the real router. `both!` runs a test on each backend.

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};

use agora::app::AppState;
use agora::config::Config;
use agora::services::archive;
use agora_store::{Archive, Store, StoreOptions};
use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Declares a test that runs once per backend: `mod NAME { fn sqlite; fn postgres }`.
macro_rules! both {
    ($(#[$meta:meta])* async fn $name:ident($b:ident: Backend) $body:block) => {
        $(#[$meta])*
        async fn $name($b: crate::util::Backend) $body

        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(crate::util::Backend::Sqlite).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if crate::util::postgres_url().is_some() {
                    super::$name(crate::util::Backend::Postgres).await
                }
            }
        }
    };
}
pub(crate) use both;

/// The server tests may create databases on, or None (and a loud note, once) without one.
pub fn postgres_url() -> Option<String> {
    static NOTE: Once = Once::new();
    let url = std::env::var("AGORA_TEST_POSTGRES_URL")
        .ok()
        .filter(|u| !u.trim().is_empty());
    if url.is_none() {
        NOTE.call_once(|| {
            // Written past the test harness's capture on purpose: this must be seen.
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! AGORA_TEST_POSTGRES_URL is not set: the PostgreSQL half of the test suite was SKIPPED.\n\
                 !!! Set it (e.g. postgres://postgres@127.0.0.1:5432/postgres) to run every test on PostgreSQL too.\n"
            );
        });
    }
    url
}

/// A database made for one test and dropped after it.
pub struct PgDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

async fn admin(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot reach PostgreSQL at {url}: {e}"));
    tokio::spawn(connection);
    client
}

impl PgDatabase {
    pub async fn create() -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let admin_url = postgres_url()
            .unwrap_or_else(|| panic!("PostgreSQL tests need AGORA_TEST_POSTGRES_URL"));
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!(
            "agora_test_{}_{}_{nanos}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        admin(&admin_url)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap_or_else(|e| panic!("create database: {e}"));
        let mut config: tokio_postgres::Config =
            admin_url.parse().unwrap_or_else(|e| panic!("{e}"));
        config.dbname(&name);
        let base = admin_url
            .rsplit_once('/')
            .map(|(b, _)| b)
            .unwrap_or(&admin_url);
        let url = format!("{base}/{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async code: use a small runtime of our own on another thread.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    let client = admin(&admin_url).await;
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .await;
                });
            }
        })
        .join();
    }
}

static READERS: AtomicU64 = AtomicU64::new(0);

#[allow(dead_code)] // `dir` and `database` keep the test's storage alive until it ends
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub dir: tempfile::TempDir,
    pub database: Option<PgDatabase>,
    pub backend: Backend,
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

/// The test configuration: the defaults, with cheap password hashing and abuse limits high
/// enough that tests signing up many accounts from one address are not refused (the limits
/// have tests of their own, with the defaults).
pub fn config_for(dir: &std::path::Path) -> Config {
    let mut config = Config {
        data_dir: dir.to_path_buf(),
        ..Config::default()
    };
    config.accounts.password_memory_kib = 1024;
    config.accounts.password_passes = 1;
    let plenty = agora::config::Rate::new(10_000, 60);
    let limits = &mut config.limits;
    for rate in [
        &mut limits.sign_in_per_ip,
        &mut limits.sign_in_per_account,
        &mut limits.sign_up_per_ip,
        &mut limits.reset_per_ip,
        &mut limits.post_per_account,
        &mut limits.post_per_ip,
        &mut limits.boost_per_account,
        &mut limits.flag_per_account,
    ] {
        *rate = plenty;
    }
    limits.new_account_posts = 10_000;
    limits.new_account_links = 10_000;
    config
}

impl TestApp {
    /// An empty forum.
    pub async fn empty(backend: Backend) -> Self {
        Self::configured(backend, |_| {}).await
    }

    /// An empty forum whose configuration `tweak` changed.
    pub async fn configured(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut config = config_for(dir.path());
        tweak(&mut config);
        let database = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create().await),
        };
        if let Some(db) = &database {
            config.database_url = db.url.clone();
        }
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("open: {e:#}"));
        let router = agora::router::build(state.clone());
        Self {
            state,
            router,
            dir,
            database,
            backend,
        }
    }

    /// A test app around a state and router made elsewhere (a reopened database); its own
    /// folder is an unused temporary one.
    pub fn from_parts(state: AppState, router: Router) -> Self {
        Self {
            backend: if state.store.backend_name() == "sqlite" {
                Backend::Sqlite
            } else {
                Backend::Postgres
            },
            state,
            router,
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}")),
            database: None,
        }
    }

    /// A forum with the demo content on a configuration of the test's own (a database or data
    /// folder somewhere else); the configuration's folders are the caller's to keep.
    pub async fn demo_with(config: Config) -> Self {
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("open: {e:#}"));
        archive::load_demo_if_empty(&state.store)
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        Self::from_parts(state.clone(), agora::router::build(state))
    }

    /// A forum with the built-in demo content.
    pub async fn demo(backend: Backend) -> Self {
        let app = Self::empty(backend).await;
        archive::load_demo_if_empty(&app.state.store)
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        app
    }

    /// A forum holding `archive`.
    pub async fn with_archive(backend: Backend, archive: Archive) -> Self {
        let app = Self::empty(backend).await;
        archive::import(&app.state.store, archive, None)
            .await
            .unwrap_or_else(|e| panic!("import: {e:#}"));
        app
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    /// Brings the search index up to date with every change so far (the server's indexer
    /// does this in the background; tests wait for it explicitly, never by sleeping).
    pub async fn index(&self) {
        self.state
            .search
            .catch_up(self.store())
            .await
            .unwrap_or_else(|e| panic!("search catch-up: {e:#}"));
    }

    /// Indexes, then searches through the JSON API; returns the response's JSON.
    pub async fn search(&self, query: &str) -> serde_json::Value {
        self.index().await;
        let path = format!("/api/v1/search?q={}", agora::paths::encode_query(query));
        let response = self.get(&path).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            response.text()
        );
        response.json()
    }

    /// The titles `search` found, best first.
    pub async fn search_titles(&self, query: &str) -> Vec<String> {
        self.search(query).await["results"]
            .as_array()
            .map(|results| {
                results
                    .iter()
                    .map(|r| r["thread"]["title"].as_str().unwrap_or("").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.request(path, &[]).await
    }

    pub async fn request(&self, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send("GET", path, headers).await
    }

    pub async fn send(&self, method: &str, path: &str, headers: &[(&str, &str)]) -> TestResponse {
        self.send_body(method, path, headers, Vec::new()).await
    }

    /// Any request with a body, as a browser or API client would send it.
    pub async fn send_body(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> TestResponse {
        let mut builder = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        // Requests come from a browser unless a test says otherwise (views are not counted
        // for clients that do not say what they are).
        if !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
        {
            builder = builder.header("user-agent", "Mozilla/5.0 (agora tests)");
        }
        let request = builder
            .body(Body::from(body))
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

/// A real `agora serve` process on a free loopback port, its log kept for the test.
pub struct Node {
    pub child: std::process::Child,
    pub address: String,
    log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Node {
    /// Starts `agora serve --listen 127.0.0.1:0 --data DIR EXTRA…` and waits until it says
    /// where it listens.
    pub fn serve(extra: &[&str], data: &std::path::Path) -> Self {
        Self::serve_binary(
            std::path::Path::new(env!("CARGO_BIN_EXE_agora")),
            extra,
            data,
        )
    }

    /// As [`Node::serve`], with another build of the binary (a measurement's release build).
    pub fn serve_binary(binary: &std::path::Path, extra: &[&str], data: &std::path::Path) -> Self {
        use std::io::BufRead;
        let mut child = std::process::Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--data"])
            .arg(data)
            .args(extra)
            .env("RUST_LOG", "info")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let stderr = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
        let mut lines = std::io::BufReader::new(stderr).lines();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let mut address = None;
        for line in lines.by_ref().map_while(Result::ok) {
            if let Ok(mut log) = log.lock() {
                log.push_str(&line);
                log.push('\n');
            }
            if let Some(at) = line.find("address=http://") {
                address = line[at + "address=http://".len()..]
                    .split_whitespace()
                    .next()
                    .map(str::to_string);
                break;
            }
        }
        let address = address.unwrap_or_else(|| panic!("the node did not start"));
        // Keep reading the log, so the node never blocks on a full pipe and the test can read it.
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                if let Ok(mut log) = sink.lock() {
                    log.push_str(&line);
                    log.push('\n');
                }
            }
        });
        Self {
            child,
            address,
            log,
        }
    }

    /// A plain HTTP/1.1 GET as a new reader: (status, the whole response).
    pub fn get(&self, path: &str) -> (u16, String) {
        use std::io::{Read, Write};
        let mut stream =
            std::net::TcpStream::connect(&self.address).unwrap_or_else(|e| panic!("{e}"));
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (reader {})\r\nConnection: close\r\n\r\n",
            self.address,
            // Each request is another reader, so each counts as a view.
            READERS.fetch_add(1, Ordering::Relaxed)
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        let mut response = String::new();
        stream
            .read_to_string(&mut response)
            .unwrap_or_else(|e| panic!("{e}"));
        let status = response
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        (status, response)
    }

    /// Sends SIGTERM and waits for the process to exit.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(sent.success());
        let status = self.child.wait().unwrap_or_else(|e| panic!("{e}"));
        // Let the log reader catch the last lines.
        std::thread::sleep(std::time::Duration::from_millis(50));
        status
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------- people and forms

/// A signed-up account: its session cookie (`agora_session=…`, ready for a Cookie header).
#[derive(Clone, Debug)]
pub struct Person {
    pub username: String,
    pub cookie: String,
}

/// Encodes form fields as `application/x-www-form-urlencoded`.
pub fn form_body(fields: &[(&str, &str)]) -> Vec<u8> {
    use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
    fields
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                utf8_percent_encode(k, NON_ALPHANUMERIC),
                utf8_percent_encode(v, NON_ALPHANUMERIC)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes()
}

impl TestApp {
    /// Posts a form the way a browser on this site does (same-origin fetch metadata), with
    /// `cookie` (a Person's) when given.
    pub async fn post_form(
        &self,
        path: &str,
        cookie: Option<&str>,
        fields: &[(&str, &str)],
    ) -> TestResponse {
        let mut headers = vec![
            ("content-type", "application/x-www-form-urlencoded"),
            ("sec-fetch-site", "same-origin"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ];
        if let Some(cookie) = cookie {
            headers.push(("cookie", cookie));
        }
        self.send_body("POST", path, &headers, form_body(fields))
            .await
    }

    /// A JSON API call with a bearer token (or none).
    pub async fn api(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<serde_json::Value>,
    ) -> TestResponse {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers = vec![("content-type", "application/json")];
        if let Some(auth) = &auth {
            headers.push(("authorization", auth.as_str()));
        }
        let body = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        self.send_body(method, path, &headers, body).await
    }

    /// GET as a signed-in person.
    pub async fn get_as(&self, path: &str, person: &Person) -> TestResponse {
        self.request(path, &[("cookie", person.cookie.as_str())])
            .await
    }

    /// Signs up through the real form and gives the account `role`; returns its cookie.
    pub async fn person(&self, username: &str, role: agora_store::Role) -> Person {
        let email = format!("{}@example.test", username.to_lowercase());
        let response = self
            .post_form(
                "/signup",
                None,
                &[
                    ("username", username),
                    ("email", &email),
                    ("password", "correct horse battery staple"),
                ],
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::SEE_OTHER,
            "sign up {username}: {}",
            response.text()
        );
        let cookie = session_cookie(&response)
            .unwrap_or_else(|| panic!("sign up {username}: no session cookie"));
        if role != agora_store::Role::Member {
            agora::services::accounts::set_role_by_operator(&self.state, username, role, None)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        Person {
            username: username.to_string(),
            cookie,
        }
    }

    /// Confirms `person`'s address, as following the link in the confirmation email does.
    pub async fn confirm_email(&self, person: &Person) {
        let account = self
            .store()
            .account_by_name(&person.username)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no account {}", person.username));
        let token = format!("confirm-{}-0123456789abcdef", person.username);
        let letter = agora::services::mail::Email {
            to: account.email.clone().unwrap_or_default(),
            subject: "Confirm your address".into(),
            body: "(test)".into(),
            html: None,
            headers: Default::default(),
        };
        self.store()
            .create_email_token(
                account.brief.id,
                agora_store::EmailPurpose::Verify,
                &agora::auth::secret_hash(&token),
                agora_store::Timestamp::from_micros(
                    agora_store::Timestamp::now().micros() + 3_600_000_000,
                ),
                serde_json::to_string(&letter).unwrap_or_else(|e| panic!("{e}")),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            agora::services::accounts::confirm_email(&self.state, &token)
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            "the confirmation link did not work"
        );
    }

    /// Creates an API token for `person` through the settings form; returns it.
    pub async fn api_token(&self, person: &Person, scope: &str) -> String {
        let response = self
            .post_form(
                "/settings/tokens",
                Some(&person.cookie),
                &[("name", "test"), ("scope", scope)],
            )
            .await;
        assert_eq!(response.status, StatusCode::OK, "{}", response.text());
        let html = response.html();
        let token = texts(&html, "#new-token");
        token
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no #new-token on the page: {}", response.text()))
    }
}

/// `agora_session=…` from a response's Set-Cookie, if it sets one.
pub fn session_cookie(response: &TestResponse) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(|v| v.split(';').next())
        .find(|v| v.starts_with("agora_session=") && v.len() > "agora_session=".len())
        .map(str::to_string)
}

/// A form post that must succeed (303); the Location it answers.
pub async fn act(app: &TestApp, person: &Person, path: &str, fields: &[(&str, &str)]) -> String {
    let r = app.post_form(path, Some(&person.cookie), fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "POST {path}: {}", r.text());
    r.header("location").unwrap_or_default().to_string()
}

/// Replies as `person` through the form; the new post's id (from the permalink the reply
/// redirects to).
pub async fn reply_as(app: &TestApp, person: &Person, thread: i64, body: &str) -> i64 {
    let at = act(
        app,
        person,
        &format!("/thread/{thread}/reply"),
        &[("body", body)],
    )
    .await;
    at.rsplit("#post-")
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no post id in {at}"))
}

/// Starts a question in Networking (tag `network`) through the form; its id.
pub async fn start_question(app: &TestApp, person: &Person, title: &str, body: &str) -> i64 {
    let at = act(
        app,
        person,
        "/new",
        &[
            ("subtopic", "app-system-services/networking"),
            ("title", title),
            ("tags", "network"),
            ("kind", "question"),
            ("body", body),
        ],
    )
    .await;
    at.trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no thread id in {at}"))
}
