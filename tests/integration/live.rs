//! Live updates across nodes: two nodes on one PostgreSQL database; a reply written on one
//! (the in-process app) reaches a server-sent-events stream held on the other (a real
//! `agora serve`), read with a plain HTTP client; a stream that reconnects with
//! `Last-Event-ID` is sent everything it missed. Skipped, loudly, without PostgreSQL.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use agora_store::Role;
use axum::http::StatusCode;

use crate::util::{Node, PgDatabase, TestApp, config_for, postgres_url};

/// An open `/events` stream on a node, read as raw text.
struct EventStream {
    stream: std::net::TcpStream,
    seen: String,
}

impl EventStream {
    fn open(address: &str, path: &str, last_event_id: Option<i64>) -> Self {
        let mut stream =
            std::net::TcpStream::connect(address).unwrap_or_else(|e| panic!("connect: {e}"));
        let last = last_event_id
            .map(|id| format!("Last-Event-ID: {id}\r\n"))
            .unwrap_or_default();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n{last}\r\n"
        );
        stream
            .write_all(request.as_bytes())
            .unwrap_or_else(|e| panic!("{e}"));
        stream
            .set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap_or_else(|e| panic!("{e}"));
        Self {
            stream,
            seen: String::new(),
        }
    }

    /// Reads until `wanted` has been seen (or a generous while has passed); how long it took.
    fn wait_for(&mut self, wanted: &str) -> Option<Duration> {
        let started = Instant::now();
        let mut buffer = [0u8; 8192];
        while started.elapsed() < Duration::from_secs(15) {
            if self.seen.contains(wanted) {
                return Some(started.elapsed());
            }
            match self.stream.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => self.seen.push_str(&String::from_utf8_lossy(&buffer[..n])),
                Err(_) => {}
            }
        }
        self.seen.contains(wanted).then(|| started.elapsed())
    }

    /// The ids of the `post` events seen so far.
    fn post_ids(&self) -> Vec<i64> {
        let mut ids = Vec::new();
        let mut id = None;
        for line in self.seen.lines() {
            if let Some(value) = line.strip_prefix("id:") {
                id = value.trim().parse().ok();
            }
            if line.trim() == "event: post"
                && let Some(id) = id
            {
                ids.push(id);
            }
        }
        ids
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_on_one_node_reaches_a_stream_on_another_and_reconnects_miss_nothing() {
    let Some(_) = postgres_url() else { return };
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = config_for(&dir.path().join("a"));
    config.database_url = db.url.clone();
    let a = TestApp::demo_with(config).await;
    let b = Node::serve(&["--database", &db.url], &dir.path().join("b"));
    let ann = a.person("ann_live", Role::Member).await;
    let ben = a.person("ben_live", Role::Member).await;
    let started = a
        .post_form(
            "/new",
            Some(&ann.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", "Live: do replies show up by themselves?"),
                ("tags", "network"),
                ("kind", "question"),
                ("body", "Asking on one node, watching on another."),
            ],
        )
        .await;
    assert_eq!(started.status, StatusCode::SEE_OTHER, "{}", started.text());
    let location = started.header("location").unwrap_or_default().to_string();
    let thread: i64 = location
        .trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no thread in {location}"));

    // A stream on node B; a reply written through node A.
    let mut stream = EventStream::open(&b.address, &format!("/events?thread={thread}"), None);
    assert!(
        stream.wait_for("text/event-stream").is_some(),
        "{}",
        stream.seen
    );
    let reply = |body: &'static str| {
        let a = &a;
        let cookie = ben.cookie.clone();
        async move {
            let r = a
                .post_form(
                    &format!("/thread/{thread}/reply"),
                    Some(&cookie),
                    &[("body", body)],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }
    };
    reply("A reply written on node A, for node B's stream.").await;
    let took = stream
        .wait_for("event: post")
        .unwrap_or_else(|| panic!("no post event on node B:\n{}", stream.seen));
    eprintln!("live: a reply on node A reached node B's stream in {took:?}");
    let first = stream.post_ids();
    assert_eq!(first.len(), 1, "{}", stream.seen);
    drop(stream);

    // Missed while disconnected: both come first after reconnecting with Last-Event-ID.
    reply("Missed while the stream was closed, number one.").await;
    reply("Missed while the stream was closed, number two.").await;
    let mut again = EventStream::open(
        &b.address,
        &format!("/events?thread={thread}"),
        Some(first[0]),
    );
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    while got.len() < 2 && Instant::now() < deadline {
        again.wait_for("event: post");
        got = again.post_ids();
        if got.len() < 2 {
            again.seen.push('\n');
            std::thread::sleep(Duration::from_millis(100));
            let mut buffer = [0u8; 8192];
            if let Ok(n) = again.stream.read(&mut buffer) {
                again.seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
            got = again.post_ids();
        }
    }
    assert_eq!(
        got.len(),
        2,
        "a reconnect missed something:\n{}",
        again.seen
    );
    assert!(got.iter().all(|id| *id > first[0]), "{got:?}");
    drop(b);
}

/// In chromium against a real server: two members on one thread; one replies, and the other's
/// page shows the new reply's bar and a bell that counts it, without reloading. Skipped,
/// loudly, without chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_shows_up_on_the_askers_open_page_with_the_bell() {
    use crate::browser::{Stage, installed, must};
    if !installed() {
        return;
    }
    let stage = Stage::demo();
    let asker = stage.browser(&["--window-size=1280,900"], None).await;
    let answerer = stage.browser(&["--window-size=1280,900"], None).await;
    asker.sign_up("asa_asks").await;
    answerer.sign_up("ada_answers").await;
    asker
        .goto("/new?subtopic=app-system-services/networking")
        .await;
    asker
        .fill("input[name=title]", "Live in a browser: who answers?")
        .await;
    asker.fill("input[name=tags]", "network").await;
    asker
        .fill(
            "textarea[name=body]",
            "Asked in one browser, answered in another.",
        )
        .await;
    asker.submit_form_of("title").await;
    let thread = asker.path().await;
    assert!(
        thread.starts_with("/thread/"),
        "{}",
        asker.report("no thread").await
    );
    assert!(!asker.exists_xpath("//p[contains(@class,'live-bar')]").await);

    answerer.goto(&thread).await;
    answerer
        .fill(
            ".reply-box textarea[name=body]",
            "@asa_asks set TCP keepalive below the proxy's idle timeout.",
        )
        .await;
    answerer.submit_form_of("body").await;

    // The asker's page, never reloaded: the bar and the bell.
    let started = Instant::now();
    loop {
        let bar = asker
            .exists_xpath("//p[contains(@class,'live-bar')]//a[contains(., '1 new reply')]")
            .await;
        let bell = must(
            asker
                .client
                .execute(
                    "const c = document.querySelector('.nav-bell .nav-count'); \
                     return c ? c.textContent : '';",
                    Vec::new(),
                )
                .await,
            "read the bell",
        );
        if bar && bell.as_str().unwrap_or("").starts_with('1') {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{}",
            asker
                .report(&format!(
                    "no live reply bar or bell (bar {bar}, bell {bell})"
                ))
                .await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(asker.path().await, thread, "the page moved");
    let _ = asker.client.clone().close().await;
    let _ = answerer.client.clone().close().await;
}
