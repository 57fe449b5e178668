//! End-to-end flows through the real router, on both backends: signing up (names, conflicts,
//! cookies), email verification and password resets through the outbox, passwords, sessions and
//! API tokens; writing (validation, preview, threads, replies, quotes, edits and revisions,
//! deletion); boosts; accepted and recommended answers; moderation (lock, pin, move, retitle,
//! hide, suspend, flags, the audit log); the abuse limits with their default values; and a
//! session shared by two nodes on one PostgreSQL database.

use agora::app::AppState;
use agora::config::{Config, LimitsConfig};
use agora_store::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::util::{
    Backend, Person, PgDatabase, TestApp, TestResponse, attrs, both, form_body, session_cookie,
    texts,
};

const NET: &str = "app-system-services/networking";
const NET_URL: &str = "/topics/app-system-services/networking";
const STORAGE: &str = "app-system-services/storage";
const STORAGE_URL: &str = "/topics/app-system-services/storage";
const PASSWORD: &str = "correct horse battery staple";
const BODY: &str = "I start an NWPathMonitor on the main queue and the first update says \
                    unsatisfied.\n\nWhat am I missing?";

// ---------------------------------------------------------------- helpers

/// The readable text of a page's main content (or the whole body), for assertion messages.
fn shown(response: &TestResponse) -> String {
    let html = response.html();
    let main = texts(&html, "main").join(" ");
    let text = if main.is_empty() {
        response.text()
    } else {
        main
    };
    text.chars().take(1500).collect()
}

fn expect_status(response: &TestResponse, status: StatusCode, what: &str) {
    assert_eq!(
        response.status,
        status,
        "{what}: expected {status}, got {} — {}",
        response.status,
        shown(response)
    );
}

fn location(response: &TestResponse) -> String {
    response.header("location").unwrap_or_default().to_string()
}

fn selector(css: &str) -> scraper::Selector {
    scraper::Selector::parse(css).unwrap_or_else(|e| panic!("selector {css}: {e}"))
}

/// The text of the first element matching `css`, whitespace kept as it is.
fn raw_text(html: &scraper::Html, css: &str) -> Option<String> {
    html.select(&selector(css))
        .next()
        .map(|e| e.text().collect::<String>())
}

fn first_attr(html: &scraper::Html, css: &str, attr: &str) -> Option<String> {
    attrs(html, css, attr).into_iter().next()
}

fn all_set_cookies(response: &TestResponse) -> Vec<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::to_string)
        .collect()
}

/// A row of a thread listing.
#[derive(Clone, Debug)]
struct Row {
    title: String,
    replies: String,
    boosts: String,
    solved: bool,
    staff: bool,
    pinned: bool,
}

fn rows(html: &scraper::Html) -> Vec<Row> {
    let text_of = |row: scraper::ElementRef<'_>, css: &str| {
        row.select(&selector(css))
            .next()
            .map(|e| e.text().collect::<String>().trim().to_string())
            .unwrap_or_default()
    };
    html.select(&selector("tr.thread"))
        .map(|row| Row {
            title: text_of(row, "a.title"),
            replies: text_of(row, "td[data-label=Replies]"),
            boosts: text_of(row, "td[data-label=Boosts]"),
            solved: row.select(&selector(".badge.solved")).next().is_some(),
            staff: row.select(&selector(".badge.staff")).next().is_some(),
            pinned: row.value().classes().any(|c| c == "is-pinned"),
        })
        .collect()
}

/// A listing page as an anonymous reader sees it.
async fn listing(app: &TestApp, path: &str) -> Vec<Row> {
    rows(&app.ok(path).await.html())
}

fn find<'a>(rows: &'a [Row], title: &str) -> Option<&'a Row> {
    rows.iter().find(|r| r.title == title)
}

fn row<'a>(rows: &'a [Row], title: &str, path: &str) -> &'a Row {
    find(rows, title).unwrap_or_else(|| {
        panic!(
            "{title:?} is not listed on {path}: {:?}",
            rows.iter().map(|r| &r.title).collect::<Vec<_>>()
        )
    })
}

/// The first row that is not in the pinned group.
fn first_unpinned(rows: &[Row]) -> Option<&Row> {
    rows.iter().find(|r| !r.pinned)
}

/// A form post with extra request headers (a user agent, X-Forwarded-For).
async fn post_form_with(
    app: &TestApp,
    path: &str,
    cookie: Option<&str>,
    fields: &[(&str, &str)],
    extra: &[(&str, &str)],
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
    headers.extend_from_slice(extra);
    app.send_body("POST", path, &headers, form_body(fields))
        .await
}

async fn sign_up(app: &TestApp, username: &str, email: &str, display_name: &str) -> TestResponse {
    app.post_form(
        "/signup",
        None,
        &[
            ("username", username),
            ("email", email),
            ("password", PASSWORD),
            ("display_name", display_name),
        ],
    )
    .await
}

async fn sign_in(app: &TestApp, login: &str, password: &str, agent: &str) -> TestResponse {
    post_form_with(
        app,
        "/signin",
        None,
        &[("login", login), ("password", password)],
        &[("user-agent", agent)],
    )
    .await
}

/// Signs in and returns the new session's cookie.
async fn new_session(app: &TestApp, login: &str, password: &str, agent: &str) -> String {
    let response = sign_in(app, login, password, agent).await;
    expect_status(&response, StatusCode::SEE_OTHER, "sign in");
    session_cookie(&response).unwrap_or_else(|| panic!("sign in set no session cookie"))
}

/// Whether a session cookie still opens the settings page (else: 303 to sign in).
async fn settings_open(app: &TestApp, cookie: &str) -> bool {
    let response = app.request("/settings", &[("cookie", cookie)]).await;
    match response.status {
        StatusCode::OK => true,
        StatusCode::SEE_OTHER => {
            assert!(
                location(&response).starts_with("/signin"),
                "a signed-out /settings should go to /signin, went to {}",
                location(&response)
            );
            false
        }
        other => panic!("GET /settings: unexpected {other}: {}", shown(&response)),
    }
}

/// Starts a thread through the compose form.
async fn compose(
    app: &TestApp,
    who: &Person,
    subtopic: &str,
    title: &str,
    tags: &str,
    body: &str,
) -> TestResponse {
    app.post_form(
        "/new",
        Some(&who.cookie),
        &[
            ("subtopic", subtopic),
            ("title", title),
            ("tags", tags),
            ("kind", "question"),
            ("body", body),
        ],
    )
    .await
}

/// A thread's id from its URL (`/thread/{id}/{slug}…`).
fn thread_id(url: &str) -> i64 {
    url.strip_prefix("/thread/")
        .and_then(|rest| rest.split(['/', '#', '?']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a thread URL: {url:?}"))
}

/// Starts a thread through the form; returns (thread id, its URL).
async fn start_thread(app: &TestApp, who: &Person, title: &str, tags: &str) -> (i64, String) {
    let response = compose(app, who, NET, title, tags, BODY).await;
    expect_status(&response, StatusCode::SEE_OTHER, "start a thread");
    let url = location(&response);
    (thread_id(&url), url)
}

async fn reply(app: &TestApp, who: &Person, thread: i64, body: &str) -> TestResponse {
    app.post_form(
        &format!("/thread/{thread}/reply"),
        Some(&who.cookie),
        &[("body", body)],
    )
    .await
}

/// The ids of the posts on a thread page, in order.
fn post_ids(html: &scraper::Html) -> Vec<i64> {
    attrs(html, "li.post", "id")
        .iter()
        .filter_map(|id| id.strip_prefix("post-").and_then(|n| n.parse().ok()))
        .collect()
}

/// Replies through the form; returns the new post's id (from the redirect's anchor).
async fn reply_id(app: &TestApp, who: &Person, thread: i64, body: &str) -> i64 {
    let response = reply(app, who, thread, body).await;
    expect_status(&response, StatusCode::SEE_OTHER, "reply");
    let url = location(&response);
    url.rsplit_once("#post-")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("the reply redirect has no #post- anchor: {url:?}"))
}

/// The opening post's id of a thread.
async fn opening_post(app: &TestApp, url: &str) -> i64 {
    post_ids(&app.ok(url).await.html())
        .first()
        .copied()
        .unwrap_or_else(|| panic!("no posts on {url}"))
}

/// The text of one post on a page, by id.
fn post_text(html: &scraper::Html, post: i64) -> String {
    texts(html, &format!("li#post-{post}"))
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no post {post} on the page"))
}

/// (actor, action) pairs of the audit log, as `who` reads it.
async fn audit_entries(app: &TestApp, who: &Person) -> Vec<(String, String)> {
    let response = app.get_as("/audit", who).await;
    expect_status(&response, StatusCode::OK, "GET /audit as staff");
    let html = response.html();
    html.select(&selector("table.audit tbody tr"))
        .map(|tr| {
            let cells: Vec<String> = tr
                .select(&selector("td"))
                .map(|td| td.text().collect::<String>().trim().to_string())
                .collect();
            (
                cells.get(1).cloned().unwrap_or_default(),
                cells.get(2).cloned().unwrap_or_default(),
            )
        })
        .collect()
}

fn assert_audited(entries: &[(String, String)], actor: &str, actions: &[&str]) {
    for action in actions {
        assert!(
            entries.iter().any(|(a, x)| a == actor && x == action),
            "the audit log has no {action} by {actor}: {entries:?}"
        );
    }
}

async fn pin(app: &TestApp, moderator: &Person, thread: i64, scope: &str) {
    let response = app
        .post_form(
            &format!("/thread/{thread}/pin"),
            Some(&moderator.cookie),
            &[("scope", scope)],
        )
        .await;
    expect_status(&response, StatusCode::SEE_OTHER, &format!("pin {scope}"));
}

/// The thread count shown for a subtopic on the home page.
async fn subtopic_threads(app: &TestApp, url: &str) -> u64 {
    let html = app.ok("/").await.html();
    for card in html.select(&selector("li.subtopic-card")) {
        let href = card
            .select(&selector("h3 a"))
            .next()
            .and_then(|a| a.value().attr("href"))
            .unwrap_or_default();
        if href == url {
            let label = card
                .select(&selector(".meta span"))
                .next()
                .map(|s| s.text().collect::<String>())
                .unwrap_or_default();
            return label
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no thread count in {label:?}"));
        }
    }
    panic!("no subtopic card for {url} on the home page")
}

// ---------------------------------------------------------------- email

/// Undoes the transfer encoding of an email's body.
pub(crate) fn decode_eml(raw: &str) -> String {
    let raw = raw.replace("\r\n", "\n");
    let (headers, body) = raw.split_once("\n\n").unwrap_or(("", raw.as_str()));
    let lower = headers.to_ascii_lowercase();
    let body = if lower.contains("content-transfer-encoding: base64") {
        base64_decode(body)
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        quoted_printable_decode(body)
    } else {
        body.to_string()
    };
    format!("{headers}\n\n{body}")
}

fn quoted_printable_decode(text: &str) -> String {
    let joined = text.replace("=\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'=' {
            let hex = joined.get(i + 1..i + 3).unwrap_or("");
            if let Ok(byte) = u8::from_str_radix(hex, 16) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64_decode(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::new();
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let Some(v) = ALPHABET.iter().position(|a| *a == c) else {
            continue;
        };
        acc = (acc << 6) | v as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Every `/{route}/<token>` link in the outbox's emails to `to`.
fn mail_links(app: &TestApp, to: &str, route: &str) -> Vec<String> {
    let dir = app.dir.path().join("outbox");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    let marker = format!("/{route}/");
    let mut links = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("eml") {
            continue;
        }
        let raw = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let text = decode_eml(&raw);
        let (headers, body) = text.split_once("\n\n").unwrap_or(("", ""));
        let addressed = headers.lines().any(|l| {
            l.to_ascii_lowercase().starts_with("to:")
                && l.to_ascii_lowercase().contains(&to.to_ascii_lowercase())
        });
        if !addressed {
            continue;
        }
        let mut rest = body;
        while let Some(at) = rest.find(&marker) {
            let after = &rest[at + marker.len()..];
            let token: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            if !token.is_empty() {
                links.push(format!("{marker}{token}"));
            }
            rest = after;
        }
    }
    links
}

/// Sends the queued mail and returns the one new `/{route}/…` link to `to`.
async fn delivered_link(app: &TestApp, to: &str, route: &str, seen: &[String]) -> String {
    let sent = app.state.run_jobs().await.done;
    assert!(sent >= 1, "no email was queued for {to}");
    let new: Vec<String> = mail_links(app, to, route)
        .into_iter()
        .filter(|l| !seen.contains(l))
        .collect();
    assert_eq!(
        new.len(),
        1,
        "expected one new /{route}/ link to {to} in {}: {new:?}",
        app.dir.path().join("outbox").display()
    );
    new.into_iter()
        .next()
        .unwrap_or_else(|| panic!("no /{route}/ link"))
}

// ---------------------------------------------------------------- apps with other configs

/// A forum with the DEFAULT abuse limits (util's `config_for` relaxes them), cheap password
/// hashing, and `tweak` applied to its config.
async fn app_with(backend: Backend, demo: bool, tweak: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let mut config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    config.accounts.password_memory_kib = 1024;
    config.accounts.password_passes = 1;
    config.limits = LimitsConfig::default();
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
    let app = TestApp {
        state,
        router,
        dir,
        database,
        backend,
    };
    if demo {
        agora::services::archive::load_demo_if_empty(&app.state.store)
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
    }
    app
}

/// Runs SQL on a PostgreSQL test database (for what cannot be done through the site: making a
/// link older than it is, reading what the database keeps).
async fn pg_client(app: &TestApp) -> tokio_postgres::Client {
    let url = app
        .database
        .as_ref()
        .map(|d| d.url.clone())
        .unwrap_or_else(|| panic!("not a PostgreSQL test"));
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect {url}: {e}"));
    tokio::spawn(connection);
    client
}

// ---------------------------------------------------------------- sign up

both!(
    async fn sign_up_names_conflicts_and_cookie(b: Backend) {
        let app = TestApp::empty(b).await;

        // A CJK username works, and shows on the profile page.
        let response = sign_up(&app, "张伟", "zhang@example.test", "张伟 (Zhang Wei)").await;
        expect_status(&response, StatusCode::SEE_OTHER, "sign up 张伟");
        let cookies = all_set_cookies(&response);
        let session = cookies
            .iter()
            .find(|c| c.starts_with("agora_session="))
            .unwrap_or_else(|| panic!("no agora_session cookie: {cookies:?}"));
        assert!(session.contains("HttpOnly"), "not HttpOnly: {session}");
        assert!(
            session.contains("SameSite=Lax"),
            "not SameSite=Lax: {session}"
        );
        let cookie = session_cookie(&response).unwrap_or_else(|| panic!("no session"));
        let profile = app.ok("/users/%E5%BC%A0%E4%BC%9F").await.html();
        assert_eq!(texts(&profile, "h1.page-title"), ["张伟 (Zhang Wei)"]);
        assert!(
            texts(&profile, ".handle")
                .iter()
                .any(|h| h.contains("@张伟")),
            "{:?}",
            texts(&profile, ".handle")
        );
        let settings = app
            .request("/settings", &[("cookie", cookie.as_str())])
            .await;
        expect_status(&settings, StatusCode::OK, "settings of 张伟");
        assert!(texts(&settings.html(), "strong").contains(&"张伟".to_string()));

        new_session(&app, "张伟", PASSWORD, "t").await;

        // Reserved names and their look-alikes: 400, the message at the field, all typed
        // values kept but the password.
        for name in ["admin", "Adm1n", "\u{430}dmin", "staff", "5taff"] {
            let email = "someone@example.test";
            let response = sign_up(&app, name, email, "Some One").await;
            expect_status(
                &response,
                StatusCode::BAD_REQUEST,
                &format!("sign up {name}"),
            );
            assert!(
                session_cookie(&response).is_none(),
                "{name}: a session was started"
            );
            let html = response.html();
            let error = texts(&html, "#e-username").join(" ");
            assert!(
                error.contains("reserved"),
                "{name}: username error {error:?}"
            );
            assert_eq!(
                attrs(&html, "#f-username", "aria-invalid"),
                ["true"],
                "{name}"
            );
            assert_eq!(
                texts(&html, ".error-summary[role=alert]").len(),
                1,
                "{name}"
            );
            assert_form_kept(&html, &response, name, email, "Some One");
        }

        // Taken: the same name, a case variant, a look-alike; the same email (any case).
        let response = sign_up(&app, "milo", "milo@example.test", "").await;
        expect_status(&response, StatusCode::SEE_OTHER, "sign up milo");
        for (name, email, field) in [
            ("milo", "milo2@example.test", "username"),
            ("Milo", "milo3@example.test", "username"),
            ("MIL0", "milo4@example.test", "username"),
            ("m1lo", "milo5@example.test", "username"),
            ("someone_else", "milo@example.test", "email"),
            ("someone_other", "MILO@Example.TEST", "email"),
        ] {
            let response = sign_up(&app, name, email, "Another Milo").await;
            expect_status(
                &response,
                StatusCode::CONFLICT,
                &format!("sign up {name} <{email}>"),
            );
            assert!(
                session_cookie(&response).is_none(),
                "{name}: a session was started"
            );
            let html = response.html();
            assert!(
                !texts(&html, &format!("#e-{field}")).is_empty(),
                "{name} <{email}>: no error at {field}: {}",
                shown(&response)
            );
            assert_eq!(
                attrs(&html, &format!("#f-{field}"), "aria-invalid"),
                ["true"]
            );
            assert_form_kept(&html, &response, name, email, "Another Milo");
        }
    }
);

fn assert_form_kept(
    html: &scraper::Html,
    response: &TestResponse,
    name: &str,
    email: &str,
    display: &str,
) {
    assert_eq!(attrs(html, "#f-username", "value"), [name], "username kept");
    assert_eq!(attrs(html, "#f-email", "value"), [email], "email kept");
    assert_eq!(
        attrs(html, "#f-display_name", "value"),
        [display],
        "display name kept"
    );
    let password = attrs(html, "#f-password", "value");
    assert!(
        password.iter().all(String::is_empty),
        "the password came back: {password:?}"
    );
    assert!(
        !response.text().contains(PASSWORD),
        "the password is in the page"
    );
}

// ---------------------------------------------------------------- email verification

both!(
    async fn email_verification_link_works_once(b: Backend) {
        let app = TestApp::empty(b).await;
        let vera = app.person("vera", Role::Member).await;
        let before = app.get_as("/settings", &vera).await.html();
        assert!(
            texts(&before, ".badge").contains(&"not confirmed".to_string()),
            "settings before: {:?}",
            texts(&before, ".badge")
        );
        let link = delivered_link(&app, "vera@example.test", "verify", &[]).await;
        let eml_count = std::fs::read_dir(app.dir.path().join("outbox"))
            .map(|d| d.flatten().count())
            .unwrap_or(0);
        assert!(eml_count >= 1, "no .eml in the outbox");

        let used = app.get(&link).await;
        expect_status(&used, StatusCode::OK, "the verification link");
        let after = app.get_as("/settings", &vera).await.html();
        assert!(
            texts(&after, ".badge.solved").contains(&"confirmed".to_string()),
            "settings after: {:?}",
            texts(&after, ".badge")
        );
        assert!(!texts(&after, ".badge").contains(&"not confirmed".to_string()));

        let again = app.get(&link).await;
        expect_status(
            &again,
            StatusCode::BAD_REQUEST,
            "the verification link, again",
        );
        let me = app.get_as("/settings", &vera).await.html();
        assert!(texts(&me, ".badge.solved").contains(&"confirmed".to_string()));
    }
);

// ---------------------------------------------------------------- password reset

both!(
    async fn password_reset_by_email(b: Backend) {
        let app = TestApp::empty(b).await;
        let rosa = app.person("rosa", Role::Member).await;
        let other_session = new_session(&app, "rosa", PASSWORD, "Other browser").await;
        // The verification email goes first, so only reset emails follow.
        app.state.run_jobs().await;

        // An unknown address gets the same answer, and no email.
        let unknown = app
            .post_form("/reset", None, &[("email", "nobody@example.test")])
            .await;
        expect_status(&unknown, StatusCode::OK, "reset for an unknown address");
        let known = app
            .post_form("/reset", None, &[("email", "rosa@example.test")])
            .await;
        expect_status(&known, StatusCode::OK, "reset for rosa");
        assert_eq!(
            texts(&unknown.html(), ".notice"),
            texts(&known.html(), ".notice"),
            "the answers differ, telling which addresses have accounts"
        );
        assert!(
            !texts(&known.html(), ".notice").is_empty(),
            "no notice after asking"
        );
        let link = delivered_link(&app, "rosa@example.test", "reset", &[]).await;
        assert!(
            mail_links(&app, "nobody@example.test", "reset").is_empty(),
            "an email went to an address without an account"
        );

        // The link shows a password form.
        let form = app.get(&link).await;
        expect_status(&form, StatusCode::OK, "the reset link");
        let html = form.html();
        assert_eq!(
            attrs(&html, "form input[name=password]", "type"),
            ["password"]
        );
        assert_eq!(attrs(&html, "form.stack", "action"), [link.as_str()]);

        // Too short: 400, and the link still works.
        let short = app.post_form(&link, None, &[("password", "short")]).await;
        expect_status(&short, StatusCode::BAD_REQUEST, "a too-short new password");
        assert_eq!(
            attrs(&short.html(), "#f-password", "aria-invalid"),
            ["true"]
        );
        let still = app.get(&link).await.html();
        assert_eq!(
            attrs(&still, "form input[name=password]", "type"),
            ["password"],
            "the link stopped working after a refused password"
        );

        // A good password: every session ends; the new password signs in, the old does not.
        let new_password = "a brand new passphrase for rosa";
        let done = app
            .post_form(&link, None, &[("password", new_password)])
            .await;
        expect_status(&done, StatusCode::SEE_OTHER, "a good new password");
        assert!(
            !settings_open(&app, &rosa.cookie).await,
            "the sign-up session survived a reset"
        );
        assert!(
            !settings_open(&app, &other_session).await,
            "another session survived a reset"
        );
        let old = sign_in(&app, "rosa", PASSWORD, "test").await;
        expect_status(
            &old,
            StatusCode::UNAUTHORIZED,
            "sign in with the old password",
        );
        let fresh = new_session(&app, "rosa@example.test", new_password, "test").await;
        assert!(settings_open(&app, &fresh).await);

        // One use only.
        let reuse = app
            .post_form(&link, None, &[("password", "yet another passphrase")])
            .await;
        expect_status(
            &reuse,
            StatusCode::BAD_REQUEST,
            "the reset link, used again",
        );
        let page = app.get(&link).await.html();
        assert!(
            attrs(&page, "form input[name=password]", "type").is_empty(),
            "a used link still shows the password form"
        );
        let refused = sign_in(&app, "rosa", "yet another passphrase", "test").await;
        expect_status(
            &refused,
            StatusCode::UNAUTHORIZED,
            "the password from a reused link",
        );

        // Expiry: the link lives at least a minute (the code clamps reset_link_minutes to 1), so
        // on PostgreSQL the test ages the token in the database; SQLite has no client here.
        if app.backend == Backend::Postgres {
            let seen = mail_links(&app, "rosa@example.test", "reset");
            let again = app
                .post_form("/reset", None, &[("email", "rosa@example.test")])
                .await;
            expect_status(&again, StatusCode::OK, "a second reset");
            let second = delivered_link(&app, "rosa@example.test", "reset", &seen).await;
            let client = pg_client(&app).await;
            let lifetimes = client
                .query(
                    "SELECT expires_at - created_at FROM email_tokens WHERE purpose = 'reset'",
                    &[],
                )
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            for row in lifetimes {
                let micros: i64 = row.get(0);
                assert!(
                    (3_590_000_000..=3_610_000_000).contains(&micros),
                    "a reset link lives {micros} µs, not an hour"
                );
            }
            let aged = client
                .execute(
                    "UPDATE email_tokens SET expires_at = 1 \
                     WHERE purpose = 'reset' AND used_at IS NULL",
                    &[],
                )
                .await
                .unwrap_or_else(|e| panic!("age the token: {e}"));
            assert_eq!(aged, 1, "one unused reset token");
            let page = app.get(&second).await.html();
            assert!(
                attrs(&page, "form input[name=password]", "type").is_empty(),
                "an expired link still shows the password form"
            );
            let expired = app
                .post_form(&second, None, &[("password", "expired link password")])
                .await;
            expect_status(&expired, StatusCode::BAD_REQUEST, "an expired reset link");
            assert!(
                settings_open(&app, &fresh).await,
                "an expired link ended sessions"
            );
        }
    }
);

// ---------------------------------------------------------------- password change

both!(
    async fn password_change_keeps_this_session_only(b: Backend) {
        let app = TestApp::empty(b).await;
        let paul = app.person("paul", Role::Member).await;
        let elsewhere = new_session(&app, "paul", PASSWORD, "Laptop").await;

        let wrong = app
            .post_form(
                "/settings/password",
                Some(&paul.cookie),
                &[
                    ("current_password", "not my password"),
                    ("new_password", "the next passphrase"),
                ],
            )
            .await;
        expect_status(&wrong, StatusCode::BAD_REQUEST, "a wrong current password");
        let html = wrong.html();
        assert!(
            texts(&html, "#e-current_password")
                .join(" ")
                .contains("not your current password"),
            "{:?}",
            texts(&html, "#e-current_password")
        );
        assert_eq!(
            attrs(&html, "#f-current_password", "aria-invalid"),
            ["true"]
        );
        assert!(
            settings_open(&app, &elsewhere).await,
            "a refused change ended a session"
        );

        let done = app
            .post_form(
                "/settings/password",
                Some(&paul.cookie),
                &[
                    ("current_password", PASSWORD),
                    ("new_password", "the next passphrase"),
                ],
            )
            .await;
        expect_status(&done, StatusCode::SEE_OTHER, "a password change");
        assert!(
            settings_open(&app, &paul.cookie).await,
            "the changing session ended"
        );
        assert!(
            !settings_open(&app, &elsewhere).await,
            "another session survived"
        );
        expect_status(
            &sign_in(&app, "paul", PASSWORD, "t").await,
            StatusCode::UNAUTHORIZED,
            "the old password",
        );
        new_session(&app, "paul", "the next passphrase", "t").await;
    }
);

// ---------------------------------------------------------------- sessions

both!(
    async fn sessions_listed_ended_and_signed_out(b: Backend) {
        let app = TestApp::empty(b).await;
        let sara = app.person("sara", Role::Member).await;
        let phone = new_session(&app, "sara", PASSWORD, "Phone browser 1.0").await;

        let page = app.get_as("/settings", &sara).await.html();
        let sessions: Vec<scraper::ElementRef<'_>> = page
            .select(&selector("#s-sessions ~ table tbody tr"))
            .collect();
        assert_eq!(
            sessions.len(),
            2,
            "sessions: {:?}",
            texts(&page, "#s-sessions ~ table tbody tr")
        );
        assert_eq!(
            texts(&page, "#s-sessions ~ table tbody tr")
                .iter()
                .filter(|t| t.contains("(this browser)"))
                .count(),
            1
        );
        let phone_row = sessions
            .iter()
            .find(|r| r.text().collect::<String>().contains("Phone browser 1.0"))
            .unwrap_or_else(|| panic!("the phone session is not listed"));
        let end = phone_row
            .select(&selector("form"))
            .next()
            .and_then(|f| f.value().attr("action"))
            .unwrap_or_else(|| panic!("no end form"))
            .to_string();
        assert!(
            end.starts_with("/settings/sessions/") && end.ends_with("/end"),
            "{end}"
        );

        let ended = app.post_form(&end, Some(&sara.cookie), &[]).await;
        expect_status(&ended, StatusCode::SEE_OTHER, "end a session");
        assert!(
            !settings_open(&app, &phone).await,
            "the ended session still works"
        );
        assert!(settings_open(&app, &sara.cookie).await);
        let page = app.get_as("/settings", &sara).await.html();
        assert_eq!(texts(&page, "#s-sessions ~ table tbody tr").len(), 1);

        // Signing in again from a browser that has a session replaces it (a new token).
        let again = post_form_with(
            &app,
            "/signin",
            Some(&phone),
            &[("login", "sara"), ("password", PASSWORD)],
            &[("user-agent", "Phone browser 1.0")],
        )
        .await;
        expect_status(&again, StatusCode::SEE_OTHER, "sign in again");
        let rotated = session_cookie(&again).unwrap_or_else(|| panic!("no new cookie"));
        assert_ne!(rotated, phone, "the session token was not rotated");
        assert!(settings_open(&app, &rotated).await);

        // Someone else cannot end my session by its id.
        let other = app.person("otto", Role::Member).await;
        let laptop = new_session(&app, "sara", PASSWORD, "Laptop browser").await;
        let page = app.get_as("/settings", &sara).await.html();
        let laptop_end = page
            .select(&selector("#s-sessions ~ table tbody tr"))
            .find(|r| r.text().collect::<String>().contains("Laptop browser"))
            .and_then(|r| r.select(&selector("form")).next())
            .and_then(|f| f.value().attr("action"))
            .unwrap_or_else(|| panic!("no laptop session"))
            .to_string();
        app.post_form(&laptop_end, Some(&other.cookie), &[]).await;
        assert!(
            settings_open(&app, &laptop).await,
            "another account ended my session"
        );

        // Signing out clears the cookie and ends the session.
        let out = app.post_form("/signout", Some(&sara.cookie), &[]).await;
        expect_status(&out, StatusCode::SEE_OTHER, "sign out");
        let cleared = all_set_cookies(&out);
        assert!(
            cleared
                .iter()
                .any(|c| c.starts_with("agora_session=;") && c.contains("Max-Age=0")),
            "sign out did not clear the cookie: {cleared:?}"
        );
        assert!(
            !settings_open(&app, &sara.cookie).await,
            "a signed-out token still works"
        );
    }
);

// ---------------------------------------------------------------- API tokens

both!(
    async fn api_tokens_scopes_and_revocation(b: Backend) {
        let app = TestApp::demo(b).await;
        let tia = app.person("tia", Role::Member).await;

        let created = app
            .post_form(
                "/settings/tokens",
                Some(&tia.cookie),
                &[("name", "ci reader"), ("scope", "read")],
            )
            .await;
        expect_status(&created, StatusCode::OK, "create a token");
        let read = texts(&created.html(), "#new-token")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no #new-token: {}", shown(&created)));
        assert!(read.starts_with("agora_") && read.len() > 40, "{read}");
        let again = app.get_as("/settings", &tia).await;
        assert!(
            texts(&again.html(), "#new-token").is_empty(),
            "the token is shown twice"
        );
        assert!(
            !again.text().contains(&read),
            "the token is on the settings page again"
        );
        assert!(
            texts(&again.html(), "#s-tokens ~ table tbody tr")
                .iter()
                .any(|r| r.contains("ci reader") && r.contains("read")),
            "the token is not listed"
        );

        // Read scope: reads, but cannot write.
        let me = app.api("GET", "/api/v1/me", Some(&read), None).await;
        expect_status(&me, StatusCode::OK, "GET /api/v1/me with a read token");
        assert_eq!(me.json()["username"], "tia", "{}", me.text());
        assert_eq!(me.json()["token_scope"], "read", "{}", me.text());
        let thread = json!({
            "subtopic": NET, "title": "Posting from a script with a token",
            "tags": ["network"], "kind": "question", "body": BODY,
        });
        let refused = app
            .api("POST", "/api/v1/threads", Some(&read), Some(thread.clone()))
            .await;
        expect_status(&refused, StatusCode::FORBIDDEN, "writing with a read token");
        assert_eq!(
            refused.json()["error"]["code"],
            "insufficient_scope",
            "{}",
            refused.text()
        );
        assert!(
            find(
                &listing(&app, NET_URL).await,
                "Posting from a script with a token"
            )
            .is_none(),
            "a refused write created a thread"
        );

        // Write scope: writes.
        let write = app.api_token(&tia, "write").await;
        let posted = app
            .api("POST", "/api/v1/threads", Some(&write), Some(thread))
            .await;
        expect_status(&posted, StatusCode::CREATED, "writing with a write token");
        assert!(
            find(
                &listing(&app, NET_URL).await,
                "Posting from a script with a token"
            )
            .is_some()
        );

        // Stored hashed: neither token is in an export, nor (PostgreSQL) in the token table.
        let export = app
            .store()
            .export()
            .await
            .unwrap_or_else(|e| panic!("export: {e}"));
        let dump = serde_json::to_string(&export).unwrap_or_else(|e| panic!("{e}"));
        for token in [&read, &write] {
            let secret = token.trim_start_matches("agora_");
            assert!(!dump.contains(secret), "a token is in the export");
        }
        if app.backend == Backend::Postgres {
            let stored = pg_client(&app)
                .await
                .query("SELECT token_hash FROM api_tokens", &[])
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(stored.len(), 2);
            for row in stored {
                let hash: String = row.get(0);
                for token in [&read, &write] {
                    assert!(
                        !token.contains(&hash)
                            && !hash.contains(token.trim_start_matches("agora_"))
                    );
                }
            }
        }

        // Revoked: 401.
        let page = app.get_as("/settings", &tia).await.html();
        let revoke = page
            .select(&selector("#s-tokens ~ table tbody tr"))
            .find(|r| r.text().collect::<String>().contains("ci reader"))
            .and_then(|r| r.select(&selector("form")).next())
            .and_then(|f| f.value().attr("action"))
            .unwrap_or_else(|| panic!("no revoke form for the read token"))
            .to_string();
        let revoked = app.post_form(&revoke, Some(&tia.cookie), &[]).await;
        expect_status(&revoked, StatusCode::SEE_OTHER, "revoke");
        let gone = app.api("GET", "/api/v1/me", Some(&read), None).await;
        expect_status(&gone, StatusCode::UNAUTHORIZED, "a revoked token");
        assert_eq!(gone.json()["error"]["code"], "unauthorized");
        let still = app.api("GET", "/api/v1/me", Some(&write), None).await;
        expect_status(&still, StatusCode::OK, "the other token after a revocation");
    }
);

// ---------------------------------------------------------------- writing

both!(
    async fn compose_errors_keep_everything_and_preview_saves_nothing(b: Backend) {
        let app = TestApp::demo(b).await;
        let wes = app.person("wes", Role::Member).await;
        let threads_before = subtopic_threads(&app, NET_URL).await;

        // Empty title, no tags, a 5-character body, no subtopic.
        let response = app
            .post_form(
                "/new",
                Some(&wes.cookie),
                &[
                    ("subtopic", ""),
                    ("title", ""),
                    ("tags", ""),
                    ("kind", "discussion"),
                    ("body", "tiny."),
                ],
            )
            .await;
        expect_status(
            &response,
            StatusCode::BAD_REQUEST,
            "an all-wrong compose form",
        );
        let html = response.html();
        for field in ["subtopic", "title", "tags", "body"] {
            assert_eq!(
                texts(&html, &format!("#e-{field}")).len(),
                1,
                "no error at {field}: {}",
                shown(&response)
            );
            assert_eq!(
                attrs(&html, &format!("#f-{field}"), "aria-invalid"),
                ["true"],
                "{field}"
            );
            let described =
                first_attr(&html, &format!("#f-{field}"), "aria-describedby").unwrap_or_default();
            assert!(
                described.contains(&format!("e-{field}")),
                "{field}: aria-describedby {described:?}"
            );
        }
        assert_eq!(
            texts(&html, ".error-summary[role=alert] li").len(),
            4,
            "{:?}",
            texts(&html, ".error-summary li")
        );
        assert_eq!(raw_text(&html, "#f-body").as_deref(), Some("tiny."));
        assert_eq!(
            attrs(&html, "input[name=kind][checked]", "value"),
            ["discussion"]
        );

        // A 200-character title and an unknown tag (with a valid subtopic, which stays chosen).
        let long_title = "T".repeat(200);
        let response = app
            .post_form(
                "/new",
                Some(&wes.cookie),
                &[
                    ("subtopic", NET),
                    ("title", &long_title),
                    ("tags", "network no-such-tag"),
                    ("kind", "question"),
                    ("body", "also tiny"),
                ],
            )
            .await;
        expect_status(
            &response,
            StatusCode::BAD_REQUEST,
            "a long title and an unknown tag",
        );
        let html = response.html();
        assert!(
            texts(&html, "#e-title").join(" ").contains("150"),
            "{:?}",
            texts(&html, "#e-title")
        );
        assert!(
            texts(&html, "#e-tags").join(" ").contains("no-such-tag"),
            "{:?}",
            texts(&html, "#e-tags")
        );
        assert!(
            texts(&html, "#e-subtopic").is_empty(),
            "a valid subtopic was refused"
        );
        assert_eq!(attrs(&html, "#f-title", "value"), [long_title.as_str()]);
        assert_eq!(attrs(&html, "#f-tags", "value"), ["network no-such-tag"]);
        assert_eq!(attrs(&html, "#f-subtopic option[selected]", "value"), [NET]);
        assert_eq!(raw_text(&html, "#f-body").as_deref(), Some("also tiny"));
        assert_eq!(attrs(&html, "#f-title", "aria-invalid"), ["true"]);
        assert_eq!(attrs(&html, "#f-tags", "aria-invalid"), ["true"]);
        assert_eq!(texts(&html, ".error-summary[role=alert]").len(), 1);

        // Preview renders Markdown and saves nothing.
        let title = "Previewing a question about sockets";
        let body = "Is **bold** rendered in the preview, and `code` too?";
        let preview = app
            .post_form(
                "/new",
                Some(&wes.cookie),
                &[
                    ("subtopic", NET),
                    ("title", title),
                    ("tags", "network"),
                    ("kind", "question"),
                    ("body", body),
                    ("preview", "1"),
                ],
            )
            .await;
        expect_status(&preview, StatusCode::OK, "preview");
        let html = preview.html();
        assert_eq!(texts(&html, ".preview .post-body strong"), ["bold"]);
        assert_eq!(texts(&html, ".preview .post-body code"), ["code"]);
        assert_eq!(
            attrs(&html, "#f-title", "value"),
            [title],
            "the preview lost the title"
        );
        assert_eq!(raw_text(&html, "#f-body").as_deref(), Some(body));
        assert!(
            find(&listing(&app, NET_URL).await, title).is_none(),
            "the preview created a thread"
        );
        assert_eq!(
            subtopic_threads(&app, NET_URL).await,
            threads_before,
            "a refused form or preview created a thread"
        );
    }
);

both!(
    async fn threads_replies_quotes_and_edits(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;

        let title = "Why does NWPathMonitor report unsatisfied on Wi-Fi?";
        let body = "First line of the question.\nSecond line, with **detail**.";
        let response = compose(&app, &ann, NET, title, "network wi-fi", body).await;
        expect_status(&response, StatusCode::SEE_OTHER, "post a thread");
        let url = location(&response);
        let id = thread_id(&url);
        assert_eq!(
            url,
            format!("/thread/{id}/why-does-nwpathmonitor-report-unsatisfied-on-wi-fi")
        );
        let page = app.ok(&url).await.html();
        assert_eq!(texts(&page, ".thread-title"), [title]);
        let op = post_ids(&page)[0];

        for path in [NET_URL, "/tags/network", "/tags/wi-fi"] {
            let rows = listing(&app, path).await;
            let first = first_unpinned(&rows).unwrap_or_else(|| panic!("{path} is empty"));
            assert_eq!(first.title, title, "the new thread is not first on {path}");
            assert_eq!(first.replies, "0", "{path}");
            assert_eq!(first.boosts, "0", "{path}");
        }

        // A reply: to its anchor; the Replies column counts it.
        let reply_body = "Try running it on a backgroud queue instead.";
        let response = reply(&app, &ben, id, reply_body).await;
        expect_status(&response, StatusCode::SEE_OTHER, "reply");
        let at = location(&response);
        let (page_url, anchor) = at
            .split_once('#')
            .unwrap_or_else(|| panic!("no anchor in {at}"));
        assert!(page_url.starts_with(&url), "{at}");
        let answer: i64 = anchor
            .strip_prefix("post-")
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("anchor {anchor}"));
        let page = app.ok(page_url).await.html();
        assert!(post_text(&page, answer).contains(reply_body));
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).replies,
            "1"
        );

        // Quoting pre-fills `> ` lines.
        let quoting = app
            .get_as(&format!("/thread/{id}/reply?quote={op}"), &ben)
            .await;
        expect_status(&quoting, StatusCode::OK, "the quote form");
        let quoted = raw_text(&quoting.html(), "#f-body").unwrap_or_default();
        assert!(
            quoted.contains("> First line of the question.\n"),
            "{quoted:?}"
        );
        assert!(
            quoted.contains("> Second line, with **detail**.\n"),
            "{quoted:?}"
        );
        assert!(
            quoted.contains("ann"),
            "the quote does not say who wrote it: {quoted:?}"
        );

        // An edit with a reason: a revision with the reason and a diff.
        let reason = "Fixed the typo in background";
        let edited = app
            .post_form(
                &format!("/posts/{answer}/edit"),
                Some(&ben.cookie),
                &[
                    ("body", "Try running it on a background queue instead."),
                    ("reason", reason),
                ],
            )
            .await;
        expect_status(&edited, StatusCode::SEE_OTHER, "edit a reply");
        let revisions = app.ok(&format!("/posts/{answer}/revisions")).await;
        let html = revisions.html();
        assert!(
            revisions.text().contains(reason),
            "the reason is not in the history"
        );
        assert!(
            texts(&html, ".diff-line.added")
                .iter()
                .any(|l| l.contains("background")),
            "added lines: {:?}",
            texts(&html, ".diff-line.added")
        );
        assert!(
            texts(&html, ".diff-line.removed")
                .iter()
                .any(|l| l.contains("backgroud")),
            "removed lines: {:?}",
            texts(&html, ".diff-line.removed")
        );
        let page = app.ok(&url).await.html();
        assert_eq!(
            attrs(&page, &format!("li#post-{answer} a.edited"), "href"),
            [format!("/posts/{answer}/revisions")],
            "no 'edited' link to the history"
        );
        assert!(post_text(&page, answer).contains("background queue"));
        assert!(!post_text(&page, answer).contains("backgroud"));

        // Editing the opening post changes the title; the old URL redirects (308).
        let form = app.get_as(&format!("/posts/{op}/edit"), &ann).await;
        expect_status(&form, StatusCode::OK, "the edit form of the opening post");
        assert_eq!(attrs(&form.html(), "#f-title", "value"), [title]);
        let new_title = "NWPathMonitor says unsatisfied on Wi-Fi only";
        let edited = app
            .post_form(
                &format!("/posts/{op}/edit"),
                Some(&ann.cookie),
                &[
                    ("title", new_title),
                    ("tags", "network quic"),
                    ("body", body),
                    ("reason", "A clearer title"),
                ],
            )
            .await;
        expect_status(&edited, StatusCode::SEE_OTHER, "retitle by editing");
        let new_url = format!("/thread/{id}/nwpathmonitor-says-unsatisfied-on-wi-fi-only");
        assert!(
            location(&edited).starts_with(&new_url),
            "{}",
            location(&edited)
        );
        let old = app.get(&url).await;
        expect_status(&old, StatusCode::PERMANENT_REDIRECT, "the old slug");
        assert_eq!(location(&old), new_url);
        let page = app.ok(&new_url).await.html();
        assert_eq!(texts(&page, ".thread-title"), [new_title]);
        let rows = listing(&app, NET_URL).await;
        assert!(find(&rows, new_title).is_some() && find(&rows, title).is_none());
        assert!(
            find(&listing(&app, "/tags/quic").await, new_title).is_some(),
            "an edit's new tag does not list it"
        );
        let wifi = listing(&app, "/tags/wi-fi").await;
        assert!(
            find(&wifi, new_title).is_none() && find(&wifi, title).is_none(),
            "an edit's dropped tag still lists it"
        );
    }
);

both!(
    async fn deleting_posts_and_threads(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;

        // My own reply: a placeholder, and the count drops.
        let title = "Deleting a reply leaves a placeholder";
        let (id, url) = start_thread(&app, &ann, title, "network").await;
        let gone_text = "This reply will be deleted by its author shortly.";
        let own_reply = reply_id(&app, &ben, id, gone_text).await;
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).replies,
            "1"
        );
        let deleted = app
            .post_form(
                &format!("/posts/{own_reply}/delete"),
                Some(&ben.cookie),
                &[("confirm", "yes")],
            )
            .await;
        expect_status(&deleted, StatusCode::SEE_OTHER, "delete my reply");
        let page = app.ok(&url).await.html();
        let text = post_text(&page, own_reply);
        assert!(text.contains("deleted"), "no placeholder: {text:?}");
        assert!(!text.contains(gone_text), "the deleted text is still shown");
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).replies,
            "0",
            "the reply count did not drop"
        );

        // My opening post, nobody else replied: the thread goes.
        let alone = "A thread nobody answered, deleted";
        let threads_before = subtopic_threads(&app, NET_URL).await;
        let (_, alone_url) = start_thread(&app, &ann, alone, "network").await;
        assert_eq!(subtopic_threads(&app, NET_URL).await, threads_before + 1);
        let op = opening_post(&app, &alone_url).await;
        let deleted = app
            .post_form(
                &format!("/posts/{op}/delete"),
                Some(&ann.cookie),
                &[("confirm", "yes")],
            )
            .await;
        expect_status(
            &deleted,
            StatusCode::SEE_OTHER,
            "delete my lone opening post",
        );
        assert!(
            find(&listing(&app, NET_URL).await, alone).is_none(),
            "the deleted thread is listed"
        );
        assert!(
            find(&listing(&app, "/tags/network").await, alone).is_none(),
            "the deleted thread is listed under its tag"
        );
        assert_eq!(
            subtopic_threads(&app, NET_URL).await,
            threads_before,
            "the subtopic still counts the deleted thread"
        );
        expect_status(
            &app.get(&alone_url).await,
            StatusCode::NOT_FOUND,
            "the deleted thread, anonymously",
        );
        expect_status(
            &app.get_as(&alone_url, &ben).await,
            StatusCode::NOT_FOUND,
            "the deleted thread, as a member",
        );

        // My opening post after someone else replied: refused.
        let answered = "A thread somebody answered";
        let (answered_id, answered_url) = start_thread(&app, &ann, answered, "network").await;
        reply_id(
            &app,
            &ben,
            answered_id,
            "An answer that keeps the thread alive.",
        )
        .await;
        let op = opening_post(&app, &answered_url).await;
        let refused = app
            .post_form(
                &format!("/posts/{op}/delete"),
                Some(&ann.cookie),
                &[("confirm", "yes")],
            )
            .await;
        expect_status(
            &refused,
            StatusCode::FORBIDDEN,
            "delete my opening post after a reply",
        );
        assert!(find(&listing(&app, NET_URL).await, answered).is_some());
        app.ok(&answered_url).await;
    }
);

// ---------------------------------------------------------------- boosts

both!(
    async fn boosts_toggle_and_count(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;
        let title = "A post worth boosting, surely";
        let (_, url) = start_thread(&app, &ann, title, "network").await;
        let op = opening_post(&app, &url).await;
        let boost = format!("/posts/{op}/boost");

        let on = app.post_form(&boost, Some(&ben.cookie), &[]).await;
        expect_status(&on, StatusCode::SEE_OTHER, "boost");
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).boosts,
            "1"
        );
        let page = app.get_as(&url, &ben).await.html();
        assert_eq!(
            attrs(&page, &format!("li#post-{op} button.boost"), "aria-pressed"),
            ["true"]
        );

        let off = app.post_form(&boost, Some(&ben.cookie), &[]).await;
        expect_status(&off, StatusCode::SEE_OTHER, "boost again");
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).boosts,
            "0"
        );

        let own = app.post_form(&boost, Some(&ann.cookie), &[]).await;
        expect_status(&own, StatusCode::FORBIDDEN, "boost my own post");
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).boosts,
            "0"
        );

        let token = app.api_token(&ben, "write").await;
        let path = format!("/api/v1/posts/{op}/boost");
        let first = app.api("POST", &path, Some(&token), None).await;
        expect_status(&first, StatusCode::OK, "boost through the API");
        assert_eq!(first.json(), json!({"boosted": true, "boosts": 1}));
        assert_eq!(
            row(&listing(&app, NET_URL).await, title, NET_URL).boosts,
            "1"
        );
        let second = app.api("POST", &path, Some(&token), None).await;
        expect_status(&second, StatusCode::OK, "un-boost through the API");
        assert_eq!(second.json(), json!({"boosted": false, "boosts": 0}));
    }
);

// ---------------------------------------------------------------- answers

both!(
    async fn accepted_and_recommended_answers(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;
        let sam = app.person("sam", Role::Staff).await;
        let title = "How do I keep a QUIC connection alive?";
        let (id, url) = start_thread(&app, &ann, title, "network quic").await;
        let solved = format!("{NET_URL}?filter=solved");
        let unanswered = format!("{NET_URL}?filter=unanswered");
        let staff = format!("{NET_URL}?filter=staff-answered");
        assert!(
            find(&listing(&app, &unanswered).await, title).is_some(),
            "not listed as unanswered"
        );

        let answer = reply_id(&app, &ben, id, "Send a PING frame before the idle timeout.").await;
        assert!(
            find(&listing(&app, &unanswered).await, title).is_none(),
            "still unanswered after a reply"
        );
        assert!(find(&listing(&app, &solved).await, title).is_none());

        assert!(texts(&app.ok(&url).await.html(), ".answer-links").is_empty());
        let accepted = app
            .post_form(&format!("/posts/{answer}/accept"), Some(&ann.cookie), &[])
            .await;
        expect_status(&accepted, StatusCode::SEE_OTHER, "accept");
        assert!(
            row(&listing(&app, NET_URL).await, title, NET_URL).solved,
            "no Solved badge"
        );
        assert!(
            find(&listing(&app, &solved).await, title).is_some(),
            "?filter=solved misses it"
        );
        assert!(find(&listing(&app, &unanswered).await, title).is_none());
        let page = app.ok(&url).await.html();
        assert!(
            texts(&page, ".answer-links .accepted")
                .iter()
                .any(|t| t.contains("Jump to the accepted answer")),
            "{:?}",
            texts(&page, ".answer-links")
        );
        assert_eq!(
            attrs(&page, ".answer-links .accepted a", "href")
                .first()
                .map(|h| h.ends_with(&format!("#post-{answer}"))),
            Some(true)
        );
        assert!(post_text(&page, answer).contains("Accepted answer"));

        let recommended = app
            .post_form(
                &format!("/posts/{answer}/recommend"),
                Some(&sam.cookie),
                &[],
            )
            .await;
        expect_status(&recommended, StatusCode::SEE_OTHER, "recommend");
        let page = app.ok(&url).await.html();
        assert!(post_text(&page, answer).contains("Recommended by staff"));
        assert!(
            find(&listing(&app, &staff).await, title).is_some(),
            "?filter=staff-answered misses it"
        );
        assert!(row(&listing(&app, NET_URL).await, title, NET_URL).staff);

        let unaccepted = app
            .post_form(&format!("/posts/{answer}/unaccept"), Some(&ann.cookie), &[])
            .await;
        expect_status(&unaccepted, StatusCode::SEE_OTHER, "unaccept");
        assert!(
            !row(&listing(&app, NET_URL).await, title, NET_URL).solved,
            "still Solved"
        );
        assert!(
            find(&listing(&app, &solved).await, title).is_none(),
            "still in ?filter=solved"
        );
        let page = app.ok(&url).await.html();
        assert!(texts(&page, ".answer-links .accepted").is_empty());
        assert!(!post_text(&page, answer).contains("Accepted answer"));

        let unrecommended = app
            .post_form(
                &format!("/posts/{answer}/unrecommend"),
                Some(&sam.cookie),
                &[],
            )
            .await;
        expect_status(&unrecommended, StatusCode::SEE_OTHER, "unrecommend");
        assert!(
            find(&listing(&app, &staff).await, title).is_none(),
            "still in ?filter=staff-answered"
        );
        let page = app.ok(&url).await.html();
        assert!(!post_text(&page, answer).contains("Recommended by staff"));
        assert!(!row(&listing(&app, NET_URL).await, title, NET_URL).staff);
    }
);

// ---------------------------------------------------------------- moderation

both!(
    async fn moderating_threads(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;
        let mod_person = app.person("moe", Role::Moderator).await;
        let sam = app.person("sam", Role::Staff).await;
        let title = "A thread the moderators will handle";
        let (id, url) = start_thread(&app, &ann, title, "network").await;

        // Lock with a reason: readers see it; members cannot reply, moderators can.
        // (Read first, so a stale cached page would show.)
        assert!(texts(&app.ok(&url).await.html(), ".notice.locked").is_empty());
        let reason = "Answered in the pinned FAQ; please continue there";
        let locked = app
            .post_form(
                &format!("/thread/{id}/lock"),
                Some(&mod_person.cookie),
                &[("reason", reason)],
            )
            .await;
        expect_status(&locked, StatusCode::SEE_OTHER, "lock");
        let page = app.ok(&url).await.html();
        assert!(
            texts(&page, ".notice.locked")
                .iter()
                .any(|t| t.contains(reason)),
            "the lock reason is not shown: {:?}",
            texts(&page, ".notice")
        );
        let refused = reply(&app, &ben, id, "A reply to a locked thread, refused.").await;
        expect_status(
            &refused,
            StatusCode::FORBIDDEN,
            "a member replying to a locked thread",
        );
        let member_view = app.get_as(&url, &ben).await.html();
        assert!(
            texts(&member_view, ".reply-box .notice")
                .iter()
                .any(|t| t.contains("locked")),
            "a member is not told why they cannot reply: {:?}",
            texts(&member_view, ".reply-box")
        );
        assert!(
            texts(&member_view, ".reply-box form").is_empty(),
            "a member is offered the reply form"
        );
        reply_id(&app, &mod_person, id, "A moderator may still reply here.").await;
        let unlocked = app
            .post_form(
                &format!("/thread/{id}/unlock"),
                Some(&mod_person.cookie),
                &[],
            )
            .await;
        expect_status(&unlocked, StatusCode::SEE_OTHER, "unlock");
        assert!(texts(&app.ok(&url).await.html(), ".notice.locked").is_empty());
        reply_id(&app, &ben, id, "A member reply once unlocked again.").await;

        // Pin in the subtopic: the pinned group at the top.
        pin(&app, &mod_person, id, "subtopic").await;
        let rows = listing(&app, NET_URL).await;
        let at = rows
            .iter()
            .position(|r| r.title == title)
            .unwrap_or_else(|| panic!("not listed"));
        assert!(rows[at].pinned, "not in the pinned group");
        assert!(
            rows[..at].iter().all(|r| r.pinned),
            "pinned below unpinned threads"
        );
        assert!(
            find(&listing(&app, STORAGE_URL).await, title).is_none(),
            "a subtopic pin shows elsewhere"
        );
        pin(&app, &mod_person, id, "global").await;
        let rows = listing(&app, STORAGE_URL).await;
        assert!(
            find(&rows, title).is_some_and(|r| r.pinned),
            "a global pin is not shown in another subtopic"
        );
        pin(&app, &mod_person, id, "none").await;
        assert!(
            !row(&listing(&app, NET_URL).await, title, NET_URL).pinned,
            "still pinned"
        );

        // Move: listed in the new subtopic only; the counts follow.
        let (net_before, storage_before) = (
            subtopic_threads(&app, NET_URL).await,
            subtopic_threads(&app, STORAGE_URL).await,
        );
        let moved = app
            .post_form(
                &format!("/thread/{id}/move"),
                Some(&mod_person.cookie),
                &[("subtopic", STORAGE)],
            )
            .await;
        expect_status(&moved, StatusCode::SEE_OTHER, "move");
        assert!(
            find(&listing(&app, STORAGE_URL).await, title).is_some(),
            "not in the new subtopic"
        );
        assert!(
            find(&listing(&app, NET_URL).await, title).is_none(),
            "still in the old subtopic"
        );
        assert_eq!(
            subtopic_threads(&app, NET_URL).await,
            net_before - 1,
            "the old subtopic's count"
        );
        assert_eq!(
            subtopic_threads(&app, STORAGE_URL).await,
            storage_before + 1,
            "the new subtopic's count"
        );

        // Retitle with new tags: the tag listings follow.
        let new_title = "A thread the moderators renamed";
        let retitled = app
            .post_form(
                &format!("/thread/{id}/retitle"),
                Some(&mod_person.cookie),
                &[("title", new_title), ("tags", "quic security")],
            )
            .await;
        expect_status(&retitled, StatusCode::SEE_OTHER, "retitle");
        assert!(
            find(&listing(&app, "/tags/quic").await, new_title).is_some(),
            "not under the new tag"
        );
        assert!(
            find(&listing(&app, "/tags/security").await, new_title).is_some(),
            "not under the new tag"
        );
        let network = listing(&app, "/tags/network").await;
        assert!(
            find(&network, new_title).is_none() && find(&network, title).is_none(),
            "still under the old tag"
        );
        let page = app.ok(&location(&retitled)).await.html();
        assert_eq!(texts(&page, ".thread-title"), [new_title]);

        let entries = audit_entries(&app, &sam).await;
        assert_audited(
            &entries,
            "moe",
            &[
                "thread.lock",
                "thread.unlock",
                "thread.pin",
                "thread.unpin",
                "thread.move",
                "thread.retitle",
            ],
        );
        expect_status(
            &app.get_as("/audit", &mod_person).await,
            StatusCode::FORBIDDEN,
            "/audit as a moderator",
        );
        expect_status(
            &app.get_as("/audit", &ben).await,
            StatusCode::FORBIDDEN,
            "/audit as a member",
        );
    }
);

both!(
    async fn moderating_posts_people_and_flags(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;
        let cal = app.person("cal", Role::Member).await;
        let mod_person = app.person("moe", Role::Moderator).await;
        let sam = app.person("sam", Role::Staff).await;
        let (id, url) =
            start_thread(&app, &ann, "A thread with a rude reply in it", "network").await;
        let rude = "This reply is rude and will be hidden by moderators.";
        let rude_reply = reply_id(&app, &ben, id, rude).await;

        // Hide with a reason: readers see the reason, not the text; moderators see both.
        // (Read first, so a stale cached page would show.)
        assert!(post_text(&app.ok(&url).await.html(), rude_reply).contains(rude));
        let reason = "Personal attack";
        let hidden = app
            .post_form(
                &format!("/posts/{rude_reply}/hide"),
                Some(&mod_person.cookie),
                &[("reason", reason)],
            )
            .await;
        expect_status(&hidden, StatusCode::SEE_OTHER, "hide");
        let anonymous = post_text(&app.ok(&url).await.html(), rude_reply);
        assert!(
            anonymous.contains(&format!("Hidden by a moderator: {reason}")),
            "{anonymous:?}"
        );
        assert!(
            !anonymous.contains(rude),
            "anonymous readers see a hidden post's text"
        );
        let member = post_text(&app.get_as(&url, &cal).await.html(), rude_reply);
        assert!(!member.contains(rude), "members see a hidden post's text");
        let moderator = post_text(&app.get_as(&url, &mod_person).await.html(), rude_reply);
        assert!(
            moderator.contains(rude),
            "moderators cannot see the hidden text"
        );
        let shown_again = app
            .post_form(
                &format!("/posts/{rude_reply}/unhide"),
                Some(&mod_person.cookie),
                &[],
            )
            .await;
        expect_status(&shown_again, StatusCode::SEE_OTHER, "unhide");
        let anonymous = post_text(&app.ok(&url).await.html(), rude_reply);
        assert!(
            anonymous.contains(rude) && !anonymous.contains("Hidden by a moderator"),
            "{anonymous:?}"
        );

        // Suspend: a notice with the reason; no posting; unsuspend restores it.
        let ben_token = app.api_token(&ben, "write").await;
        let why = "Repeated personal attacks";
        let suspended = app
            .post_form(
                "/users/ben/suspend",
                Some(&mod_person.cookie),
                &[("until", "2099-12-31"), ("reason", why)],
            )
            .await;
        expect_status(&suspended, StatusCode::SEE_OTHER, "suspend");
        for path in ["/", url.as_str(), "/users/ben"] {
            let page = app.get_as(path, &ben).await.html();
            let notice = texts(&page, ".notice.suspended").join(" ");
            assert!(
                notice.contains(why) && notice.contains("2099"),
                "{path}: suspension notice {notice:?}"
            );
        }
        let new = compose(
            &app,
            &ben,
            NET,
            "A thread from a suspended account",
            "network",
            BODY,
        )
        .await;
        expect_status(&new, StatusCode::FORBIDDEN, "POST /new while suspended");
        assert!(new.text().contains("suspended"), "{}", shown(&new));
        let replied = reply(&app, &ben, id, "A reply from a suspended account.").await;
        expect_status(&replied, StatusCode::FORBIDDEN, "reply while suspended");
        assert!(replied.text().contains("suspended"), "{}", shown(&replied));
        let api = app
            .api(
                "POST",
                &format!("/api/v1/threads/{id}/posts"),
                Some(&ben_token),
                Some(json!({"body": "A reply through the API while suspended."})),
            )
            .await;
        expect_status(&api, StatusCode::FORBIDDEN, "an API reply while suspended");
        assert_eq!(api.json()["error"]["code"], "suspended", "{}", api.text());
        let lifted = app
            .post_form("/users/ben/unsuspend", Some(&mod_person.cookie), &[])
            .await;
        expect_status(&lifted, StatusCode::SEE_OTHER, "unsuspend");
        assert!(texts(&app.get_as("/", &ben).await.html(), ".notice.suspended").is_empty());
        reply_id(&app, &ben, id, "Back, and politer this time.").await;

        // Flags: listed for review; `hide` hides the post, `dismiss` leaves it.
        let flag_reason = "Looks like harassment to me";
        let flagged = app
            .post_form(
                &format!("/posts/{rude_reply}/flag"),
                Some(&cal.cookie),
                &[("reason", flag_reason)],
            )
            .await;
        expect_status(&flagged, StatusCode::SEE_OTHER, "flag a reply");
        let review = app.get_as("/review", &mod_person).await;
        expect_status(&review, StatusCode::OK, "/review as a moderator");
        let html = review.html();
        assert!(
            texts(&html, "li.flag")
                .iter()
                .any(|f| f.contains(flag_reason) && f.contains("cal")),
            "{:?}",
            texts(&html, "li.flag")
        );
        let resolve = first_attr(&html, "li.flag form", "action")
            .unwrap_or_else(|| panic!("no resolve form"));
        let resolved = app
            .post_form(
                &resolve,
                Some(&mod_person.cookie),
                &[("resolution", "hide")],
            )
            .await;
        expect_status(&resolved, StatusCode::SEE_OTHER, "resolve: hide");
        let anonymous = post_text(&app.ok(&url).await.html(), rude_reply);
        assert!(
            anonymous.contains("Hidden by a moderator") && !anonymous.contains(rude),
            "resolving with hide did not hide: {anonymous:?}"
        );
        assert!(
            texts(&app.get_as("/review", &mod_person).await.html(), "li.flag").is_empty(),
            "the flag is still open"
        );

        // (Flagging the opening post and dismissing: the thread stays, as it was.)
        let op = opening_post(&app, &url).await;
        let dismissed_reason = "I just disagree with it";
        let flagged = app
            .post_form(
                &format!("/posts/{op}/flag"),
                Some(&cal.cookie),
                &[("reason", dismissed_reason)],
            )
            .await;
        expect_status(&flagged, StatusCode::SEE_OTHER, "flag the opening post");
        let html = app.get_as("/review", &mod_person).await.html();
        assert!(
            texts(&html, "li.flag")
                .iter()
                .any(|f| f.contains(dismissed_reason)),
            "{:?}",
            texts(&html, "li.flag")
        );
        let resolve = first_attr(&html, "li.flag form", "action")
            .unwrap_or_else(|| panic!("no resolve form"));
        let resolved = app
            .post_form(
                &resolve,
                Some(&mod_person.cookie),
                &[("resolution", "dismiss")],
            )
            .await;
        expect_status(&resolved, StatusCode::SEE_OTHER, "resolve: dismiss");
        let anonymous = post_text(&app.ok(&url).await.html(), op);
        assert!(
            anonymous.contains("NWPathMonitor") && !anonymous.contains("Hidden by a moderator"),
            "dismiss hid the post: {anonymous:?}"
        );
        assert!(
            texts(&app.get_as("/review", &mod_person).await.html(), "li.flag").is_empty(),
            "a dismissed flag is still open"
        );

        let entries = audit_entries(&app, &sam).await;
        assert_audited(
            &entries,
            "moe",
            &[
                "post.hide",
                "post.unhide",
                "user.suspend",
                "user.unsuspend",
                "flag.resolve",
            ],
        );
        expect_status(
            &app.get_as("/audit", &mod_person).await,
            StatusCode::FORBIDDEN,
            "/audit as a moderator",
        );
        expect_status(
            &app.get_as("/review", &ben).await,
            StatusCode::FORBIDDEN,
            "/review as a member",
        );
    }
);

// ---------------------------------------------------------------- abuse limits (defaults)

both!(
    async fn sign_up_limit_per_address(b: Backend) {
        let app = app_with(b, false, |_| {}).await;
        for n in 1..=5 {
            let response = sign_up(
                &app,
                &format!("early{n}"),
                &format!("early{n}@example.test"),
                "",
            )
            .await;
            expect_status(
                &response,
                StatusCode::SEE_OTHER,
                &format!("sign-up {n} of 5"),
            );
        }
        let sixth = sign_up(&app, "early6", "early6@example.test", "").await;
        expect_status(
            &sixth,
            StatusCode::TOO_MANY_REQUESTS,
            "the 6th sign-up within the hour",
        );
        let retry: u64 = sixth
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no numeric Retry-After: {:?}", sixth.header("retry-after")));
        assert!((1..=3600).contains(&retry), "Retry-After {retry}");
        assert!(
            app.store()
                .account_by_name("early6")
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "the refused sign-up created an account"
        );
    }
);

both!(
    async fn sign_in_limit_on_wrong_passwords(b: Backend) {
        let app = app_with(b, false, |_| {}).await;
        app.person("lena", Role::Member).await;
        let mut refused_at = None;
        for attempt in 1..=30 {
            let response = sign_in(&app, "lena", "not the password at all", "t").await;
            match response.status {
                StatusCode::UNAUTHORIZED => continue,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert!(
                        response
                            .header("retry-after")
                            .and_then(|v| v.parse::<u64>().ok())
                            .is_some()
                    );
                    refused_at = Some(attempt);
                    break;
                }
                other => panic!("wrong sign-in {attempt}: {other}: {}", shown(&response)),
            }
        }
        let at = refused_at.unwrap_or_else(|| panic!("30 wrong sign-ins, never a 429"));
        assert!(at > 3, "limited after only {at} attempts");
        // While limited, even the right password waits.
        let right = sign_in(&app, "lena", PASSWORD, "t").await;
        expect_status(
            &right,
            StatusCode::TOO_MANY_REQUESTS,
            "the right password while limited",
        );
    }
);

both!(
    async fn new_account_limits(b: Backend) {
        let app = app_with(b, true, |_| {}).await;

        // Three links in a first-day post: 400 on the body (form and API).
        let lin = app.person("lin", Role::Member).await;
        let links = THREE_LINKS;
        let response = compose(
            &app,
            &lin,
            NET,
            "A post with three links in it",
            "network",
            links,
        )
        .await;
        expect_status(
            &response,
            StatusCode::BAD_REQUEST,
            "three links from a new account",
        );
        assert!(response.text().contains("links"), "{}", shown(&response));
        let token = app.api_token(&lin, "write").await;
        let api = app
            .api(
                "POST",
                "/api/v1/threads",
                Some(&token),
                Some(json!({
                    "subtopic": NET, "title": "A post with three links in it", "tags": ["network"],
                    "kind": "question", "body": links,
                })),
            )
            .await;
        expect_status(&api, StatusCode::BAD_REQUEST, "three links through the API");
        assert_eq!(api.json()["error"]["param"], "body", "{}", api.text());
        // Two are fine.
        let two = "See https://a.example/x and [b](https://b.example/) for details.";
        let response = compose(
            &app,
            &lin,
            NET,
            "A post with two links in it",
            "network",
            two,
        )
        .await;
        expect_status(
            &response,
            StatusCode::SEE_OTHER,
            "two links from a new account",
        );

        // Five posts in the first day, then 403.
        let nia = app.person("nia", Role::Member).await;
        let (id, _) = start_thread(&app, &nia, "My first thread on this forum", "network").await;
        for n in 2..=5 {
            let response = reply(
                &app,
                &nia,
                id,
                &format!("Follow-up number {n} with more detail."),
            )
            .await;
            expect_status(&response, StatusCode::SEE_OTHER, &format!("post {n} of 5"));
        }
        let sixth = reply(&app, &nia, id, "Follow-up number 6, one too many.").await;
        expect_status(&sixth, StatusCode::FORBIDDEN, "a new account's 6th post");
        assert!(sixth.text().contains("New accounts"), "{}", shown(&sixth));
        let thread = compose(
            &app,
            &nia,
            NET,
            "Another thread on the first day",
            "network",
            BODY,
        )
        .await;
        expect_status(
            &thread,
            StatusCode::FORBIDDEN,
            "a new account's 6th post, as a thread",
        );
    }
);

const THREE_LINKS: &str =
    "See https://a.example/x and [b](https://b.example/) and <https://c.example/z> for details.";

both!(
    async fn link_limit_refusal_keeps_the_compose_form(b: Backend) {
        // Bad input brings the form back, the typed text kept and the error at the field
        // (docs/write-routes.md, "Bad input"), the new-account link limit included.
        let app = app_with(b, true, |_| {}).await;
        let lin = app.person("lin", Role::Member).await;
        let title = "A post with three links in it";
        let response = compose(&app, &lin, NET, title, "network", THREE_LINKS).await;
        expect_status(
            &response,
            StatusCode::BAD_REQUEST,
            "three links from a new account",
        );
        let html = response.html();
        assert!(
            texts(&html, "#e-body").join(" ").contains("links"),
            "the three-links refusal is not at the body field \
             (the compose form did not come back): {}",
            shown(&response)
        );
        assert_eq!(attrs(&html, "#f-body", "aria-invalid"), ["true"]);
        assert_eq!(
            raw_text(&html, "#f-body").as_deref(),
            Some(THREE_LINKS),
            "the typed body was lost"
        );
        assert_eq!(attrs(&html, "#f-title", "value"), [title]);
        assert_eq!(attrs(&html, "#f-tags", "value"), ["network"]);

        // The same for a reply.
        let (id, _) = start_thread(&app, &lin, "A thread to reply to with links", "network").await;
        let response = reply(&app, &lin, id, THREE_LINKS).await;
        expect_status(
            &response,
            StatusCode::BAD_REQUEST,
            "a reply with three links from a new account",
        );
        let html = response.html();
        assert!(
            texts(&html, "#e-body").join(" ").contains("links"),
            "the reply form did not come back: {}",
            shown(&response)
        );
        assert_eq!(
            raw_text(&html, "#f-body").as_deref(),
            Some(THREE_LINKS),
            "the typed reply was lost"
        );
    }
);

/// Signs up from an address given in X-Forwarded-For.
async fn sign_up_from(app: &TestApp, n: &str, forwarded: &str) -> TestResponse {
    let email = format!("{n}@example.test");
    post_form_with(
        app,
        "/signup",
        None,
        &[("username", n), ("email", &email), ("password", PASSWORD)],
        &[("x-forwarded-for", forwarded)],
    )
    .await
}

both!(
    async fn forwarded_for_only_through_trusted_proxies(b: Backend) {
        // No trusted proxies: the header is ignored, so every sign-up draws on 127.0.0.1's five.
        let app = app_with(b, false, |_| {}).await;
        for n in 1..=5 {
            let response =
                sign_up_from(&app, &format!("direct{n}"), &format!("198.51.100.{n}")).await;
            expect_status(
                &response,
                StatusCode::SEE_OTHER,
                &format!("direct sign-up {n}"),
            );
        }
        let sixth = sign_up_from(&app, "direct6", "198.51.100.6").await;
        expect_status(
            &sixth,
            StatusCode::TOO_MANY_REQUESTS,
            "a 6th sign-up with a new X-Forwarded-For, untrusted",
        );
        drop(app);

        // 127.0.0.1 trusted: each forwarded address has its own allowance.
        let app = app_with(b, false, |config| {
            config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap_or_else(|e| panic!("{e}"))];
        })
        .await;
        for n in 1..=5 {
            let response = sign_up_from(&app, &format!("proxied{n}"), "203.0.113.7").await;
            expect_status(
                &response,
                StatusCode::SEE_OTHER,
                &format!("proxied sign-up {n}"),
            );
        }
        let sixth = sign_up_from(&app, "proxied6", "203.0.113.7").await;
        expect_status(
            &sixth,
            StatusCode::TOO_MANY_REQUESTS,
            "a 6th sign-up from one forwarded address",
        );
        let other = sign_up_from(&app, "proxied7", "203.0.113.8").await;
        expect_status(
            &other,
            StatusCode::SEE_OTHER,
            "a sign-up from another forwarded address",
        );
        // A client cannot pick a fresh address by writing one before the proxy's entry.
        let spoofed = sign_up_from(&app, "proxied8", "192.0.2.1, 203.0.113.7").await;
        expect_status(
            &spoofed,
            StatusCode::TOO_MANY_REQUESTS,
            "a spoofed left-most X-Forwarded-For",
        );
    }
);

// ---------------------------------------------------------------- several nodes

both!(
    async fn sessions_work_across_nodes(b: Backend) {
        if b == Backend::Sqlite {
            // Several nodes share one PostgreSQL database; SQLite serves one node.
            eprintln!("sessions_work_across_nodes: PostgreSQL only, skipped on SQLite");
            return;
        }
        let app = TestApp::empty(b).await;
        let nora = app.person("nora", Role::Member).await;
        let token = app.api_token(&nora, "read").await;

        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let mut config = app.state.config.clone();
        config.data_dir = dir.path().to_path_buf();
        let state = AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("open node 2: {e:#}"));
        let router = agora::router::build(state.clone());
        let node2 = TestApp {
            state,
            router,
            dir,
            database: None,
            backend: b,
        };

        let settings = node2.get_as("/settings", &nora).await;
        expect_status(&settings, StatusCode::OK, "node 2: a session from node 1");
        assert!(texts(&settings.html(), "strong").contains(&"nora".to_string()));
        let me = node2.api("GET", "/api/v1/me", Some(&token), None).await;
        expect_status(&me, StatusCode::OK, "node 2: a token from node 1");
        assert_eq!(me.json()["username"], "nora");

        // A session started on node 2 works on node 1; signing out on one ends it on both.
        let second = new_session(&node2, "nora", PASSWORD, "Node 2 browser").await;
        assert!(
            settings_open(&app, &second).await,
            "node 1 does not know node 2's session"
        );
        let out = node2.post_form("/signout", Some(&nora.cookie), &[]).await;
        expect_status(&out, StatusCode::SEE_OTHER, "sign out on node 2");
        assert!(
            !settings_open(&app, &nora.cookie).await,
            "node 1 still honours a signed-out session"
        );
        assert!(settings_open(&app, &second).await);
    }
);

both!(
    /// Listings are cached once for everyone; a signed-in reader gets the cached page with
    /// their own header spliced in. Whoever renders a page first, nobody sees another's header.
    async fn shared_pages_never_carry_another_readers_header(b: Backend) {
        let app = TestApp::demo(b).await;
        let moderator = app.person("headercheck", Role::Moderator).await;
        for path in [
            "/",
            "/tags",
            "/tags/network",
            "/topics/app-system-services/networking",
        ] {
            // Signed in first: the page is rendered (and cached) on this request.
            let mine = app.get_as(path, &moderator).await;
            assert_eq!(mine.status, StatusCode::OK, "{path}");
            assert_eq!(mine.header("cache-control"), Some("private, no-store"));
            let mine = mine.text();
            assert!(mine.contains("headercheck"), "{path}: no own header");
            assert!(
                mine.contains("href=\"/review\""),
                "{path}: no moderator link"
            );
            assert!(!mine.contains(">Sign in</a>"), "{path}: still says sign in");
            // Then anonymously, from the same cache entry.
            let anonymous = app.ok(path).await.text();
            assert!(
                !anonymous.contains("headercheck"),
                "{path}: leaked a header"
            );
            assert!(
                !anonymous.contains("href=\"/review\""),
                "{path}: leaked a link"
            );
            assert!(anonymous.contains(">Sign in</a>"), "{path}");
            // The content is the same page.
            let strip = |page: &str| {
                page.split("<!--/viewer-banner-->")
                    .nth(1)
                    .unwrap_or_default()
                    .to_string()
            };
            assert_eq!(strip(&mine), strip(&anonymous), "{path}");
        }
    }
);

/// The subtopic's stored post count, and what it should be from the rows.
async fn networking_post_count(app: &TestApp) -> (i64, i64) {
    let subtopic = app
        .store()
        .subtopic("app-system-services", "networking")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no networking subtopic"));
    // Recount from the listing API: every listed thread's replies + 1.
    let mut counted = 0;
    let mut page = 1;
    loop {
        let listing = app
            .ok(&format!(
                "/api/v1/topics/app-system-services/networking/threads?page={page}"
            ))
            .await
            .json();
        if page == 1 {
            // Pinned here (global pins from other subtopics count there).
            for t in listing["listing"]["pinned"]
                .as_array()
                .into_iter()
                .flatten()
            {
                if t["subtopic"]["slug"] == "networking" {
                    counted += t["replies"].as_i64().unwrap_or(0) + 1;
                }
            }
        }
        for t in listing["listing"]["threads"]
            .as_array()
            .into_iter()
            .flatten()
        {
            counted += t["replies"].as_i64().unwrap_or(0) + 1;
        }
        if listing["listing"]["state"]["next_url"].is_null() {
            break;
        }
        page += 1;
    }
    (subtopic.post_count, counted)
}

both!(
    /// Problems a code review found, each pinned by a test.
    async fn review_findings_stay_fixed(b: Backend) {
        let app = TestApp::demo(b).await;
        let author = app.person("rvauthor", Role::Member).await;
        let other = app.person("rvother", Role::Member).await;
        let moderator = app.person("rvmod", Role::Moderator).await;

        // A read-scope token is ignored by the forms: it cannot act, nor mint a write token.
        let read = app.api_token(&author, "read").await;
        let bearer = format!("Bearer {read}");
        let response = app
            .send_body(
                "POST",
                "/settings/tokens",
                &[
                    ("authorization", bearer.as_str()),
                    ("content-type", "application/x-www-form-urlencoded"),
                ],
                crate::util::form_body(&[("name", "x"), ("scope", "write")]),
            )
            .await;
        assert_eq!(
            response.status,
            StatusCode::UNAUTHORIZED,
            "{}",
            response.text()
        );
        assert!(!response.text().contains("new-token"));

        // `next` never leaves the site, however it is disguised.
        for next in ["/\t/evil.example", "//evil.example", "/\\evil.example"] {
            let response = app
                .post_form(
                    "/signin",
                    None,
                    &[
                        ("login", "rvauthor"),
                        ("password", "correct horse battery staple"),
                        ("next", next),
                    ],
                )
                .await;
            assert_eq!(response.status, StatusCode::SEE_OTHER);
            assert_eq!(location(&response), "/", "{next:?}");
        }

        // Counters follow deletes, hides and restores: the subtopic's post count always equals
        // the sum over its listed threads.
        let (thread, url) = start_thread(
            &app,
            &author,
            "Counting replies that come and go",
            "network",
        )
        .await;
        let first = reply_id(&app, &other, thread, "A first reply, to be deleted later.").await;
        let second = reply_id(&app, &other, thread, "A second reply, to be hidden later.").await;
        let (stored, counted) = networking_post_count(&app).await;
        assert_eq!(stored, counted, "after replies");
        let response = app
            .post_form(
                &format!("/posts/{first}/delete"),
                Some(&other.cookie),
                &[("confirm", "yes")],
            )
            .await;
        expect_status(&response, StatusCode::SEE_OTHER, "delete a reply");
        let response = app
            .post_form(
                &format!("/posts/{second}/hide"),
                Some(&moderator.cookie),
                &[("reason", "Off topic.")],
            )
            .await;
        expect_status(&response, StatusCode::SEE_OTHER, "hide a reply");
        let (stored, counted) = networking_post_count(&app).await;
        assert_eq!(stored, counted, "after a delete and a hide");
        let opening = opening_post(&app, &url).await;
        let response = app
            .post_form(
                &format!("/posts/{opening}/hide"),
                Some(&moderator.cookie),
                &[("reason", "Spam.")],
            )
            .await;
        expect_status(&response, StatusCode::SEE_OTHER, "hide the opening post");
        let (stored, counted) = networking_post_count(&app).await;
        assert_eq!(stored, counted, "with the thread removed");
        // A removed thread gives nothing away, not even its slug through the short link.
        let short = app.get(&format!("/thread/{thread}")).await;
        assert_eq!(short.status, StatusCode::NOT_FOUND);
        assert!(!short.text().contains("counting-replies"));
        // A moderator's reply to a removed thread, then the restore.
        reply_id(
            &app,
            &moderator,
            thread,
            "A moderator's note while it is removed.",
        )
        .await;
        let response = app
            .post_form(
                &format!("/posts/{opening}/unhide"),
                Some(&moderator.cookie),
                &[],
            )
            .await;
        expect_status(
            &response,
            StatusCode::SEE_OTHER,
            "show the opening post again",
        );
        let (stored, counted) = networking_post_count(&app).await;
        assert_eq!(stored, counted, "after the restore");

        // A moderator's delete of someone else's post says so, and is audited.
        let third = reply_id(
            &app,
            &other,
            thread,
            "A third reply, for a moderator to remove.",
        )
        .await;
        let response = app
            .post_form(
                &format!("/posts/{third}/delete"),
                Some(&moderator.cookie),
                &[("confirm", "yes")],
            )
            .await;
        expect_status(&response, StatusCode::SEE_OTHER, "moderator delete");
        let page = app.get_as(&url, &author).await.text();
        assert!(
            page.contains("removed by a moderator"),
            "no moderator placeholder"
        );
        let admin = app.person("rvadmin", Role::Admin).await;
        let entries = audit_entries(&app, &admin).await;
        assert_audited(&entries, "rvmod", &["post.delete"]);

        // The settings notice is chosen by code, never by the address's text.
        let page = app
            .get_as("/settings?done=Your+account+is+at+risk", &author)
            .await
            .text();
        assert!(!page.contains("at risk"));
        let page = app.get_as("/settings?done=profile", &author).await.text();
        assert!(page.contains("Profile saved."));
    }
);
