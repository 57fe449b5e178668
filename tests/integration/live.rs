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

    // "Show" puts the reply in place under the question: no reload (what the asker was
    // typing is still in the box), the new post focused.
    asker
        .fill(
            ".reply-box textarea[name=body]",
            "Typed while the answer came",
        )
        .await;
    must(
        asker
            .client
            .execute("window.__notReloaded = true; return true;", Vec::new())
            .await,
        "mark the page",
    );
    asker
        .click_xpath("//p[contains(@class,'live-bar')]//a", "the live bar")
        .await;
    let started = Instant::now();
    loop {
        let state = must(
            asker
                .client
                .execute(
                    "const posts = document.querySelectorAll('ol.posts > li.post');                      const last = posts[posts.length - 1];                      return [posts.length, window.__notReloaded === true,                        last ? last.textContent.includes('keepalive below') : false,                        document.querySelector('.reply-box textarea[name=body]').value,                        !document.querySelector('.live-bar'), document.querySelector('[data-reply-count]').textContent];",
                    Vec::new(),
                )
                .await,
            "read the thread",
        );
        if state[2].as_bool() == Some(true) {
            assert_eq!(state[0].as_i64(), Some(2), "{state}");
            assert_eq!(state[1].as_bool(), Some(true), "the page reloaded: {state}");
            assert_eq!(
                state[3].as_str(),
                Some("Typed while the answer came"),
                "the typed text went: {state}"
            );
            assert_eq!(state[4].as_bool(), Some(true), "the bar stayed: {state}");
            assert_eq!(
                state[5].as_str(),
                Some("1 reply"),
                "the header's count: {state}"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            asker
                .report(&format!("the reply was not put in place: {state}"))
                .await
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(asker.path().await, thread, "the page moved");
    let _ = asker.client.clone().close().await;
    let _ = answerer.client.clone().close().await;
}

// ---------------------------------------------------------------- measurements
// In CI they run small (200 streams, 300 watchers) and check what they measure works: every
// stream admitted, every watcher notified. For BENCHMARKS.md's numbers run them at full size:
// `MEASURE_N=10000 cargo test --test integration measure_ -- --nocapture`. Their
// numbers are in BENCHMARKS.md. They assert nothing about time.

/// How large a measurement runs: `MEASURE_N`, else `small` (CI's size).
fn measure_n(small: usize) -> usize {
    std::env::var("MEASURE_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(small)
}

/// Resident memory of a process, in KB (`VmRSS`).
fn rss_kb(pid: u32) -> i64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_memory_of_idle_streams() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // MEASURE_BIN=target/release/agora measures the release build.
    let node = match std::env::var_os("MEASURE_BIN") {
        Some(bin) => Node::serve_binary(std::path::Path::new(&bin), &[], &dir.path().join("data")),
        None => Node::serve(&[], &dir.path().join("data")),
    };
    let pid = node.child.id();
    let address: std::net::SocketAddr = node.address.parse().unwrap_or_else(|e| panic!("{e}"));
    // Warm: one stream, so the stream machinery's one-time allocations are in the baseline.
    let mut warm = EventStream::open(&node.address, "/events?home=1", None);
    warm.wait_for("text/event-stream");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = rss_kb(pid);
    let n = measure_n(200) as u32;
    let mut streams = Vec::with_capacity(n as usize);
    let request = format!(
        "GET /events?home=1 HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    );
    for i in 0..n {
        // 16 streams per client address: spread over loopback addresses.
        let ip = std::net::Ipv4Addr::new(127, 1, (i / 16 / 250) as u8, (i / 16 % 250 + 1) as u8);
        let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
        socket
            .bind(std::net::SocketAddr::new(ip.into(), 0))
            .unwrap_or_else(|e| panic!("bind {ip}: {e}"));
        let mut stream = socket
            .connect(address)
            .await
            .unwrap_or_else(|e| panic!("connect {i}: {e}"));
        tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        streams.push(stream);
    }
    // Every stream answered (its headers read).
    let mut buffer = [0u8; 512];
    let mut open = 0;
    for stream in &mut streams {
        if let Ok(Ok(read)) = tokio::time::timeout(
            Duration::from_secs(5),
            tokio::io::AsyncReadExt::read(stream, &mut buffer),
        )
        .await
            && String::from_utf8_lossy(&buffer[..read]).contains("200 OK")
        {
            open += 1;
        }
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = rss_kb(pid);
    eprintln!(
        "measure: {open} idle streams open; node RSS {before} KB -> {after} KB: {:.1} KB per stream",
        (after - before) as f64 / f64::from(open.max(1))
    );
    assert_eq!(open, n, "not every stream was admitted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn measure_a_reply_to_many_watchers() {
    let watchers = measure_n(300);
    use agora_store::{NewUser, WatchLevel, WatchTarget};
    let backend = if postgres_url().is_some() && std::env::var_os("MEASURE_POSTGRES").is_some() {
        crate::util::Backend::Postgres
    } else {
        crate::util::Backend::Sqlite
    };
    let app = TestApp::demo(backend).await;
    let asker = app.person("asker", Role::Member).await;
    let writer = app.person("writer", Role::Member).await;
    let ask = |title: &'static str, subtopic: &'static str| {
        let app = &app;
        let cookie = asker.cookie.clone();
        async move {
            let r = app
                .post_form(
                    "/new",
                    Some(&cookie),
                    &[
                        ("subtopic", subtopic),
                        ("title", title),
                        ("tags", "network"),
                        ("kind", "question"),
                        ("body", "A thread for measuring notification fan-out."),
                    ],
                )
                .await;
            let at = r.header("location").unwrap_or_default().to_string();
            at.trim_start_matches("/thread/")
                .split('/')
                .next()
                .and_then(|id| id.parse::<i64>().ok())
                .unwrap_or_else(|| panic!("no thread: {}", r.text()))
        }
    };
    let watched = ask(
        "Fan-out: a thread many people watch",
        "app-system-services/networking",
    )
    .await;
    let quiet = ask(
        "Fan-out: a thread nobody watches",
        "app-system-services/storage",
    )
    .await;
    let subtopic = app
        .store()
        .subtopic_id("app-system-services", "networking")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no subtopic"));
    for i in 0..watchers {
        let id = app
            .store()
            .create_user(NewUser {
                username: format!("watcher{i}"),
                display_name: format!("Watcher {i}"),
                email: format!("watcher{i}@example.test"),
                password_hash: String::new(),
                role: Role::Member,
                staff_title: None,
                email_verified: true,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        app.store()
            .set_watch(id, WatchTarget::Subtopic(subtopic.0), WatchLevel::Watching)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    agora::services::notify::catch_up(&app.state)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let reply_ms = |thread: i64| {
        let app = &app;
        let cookie = writer.cookie.clone();
        async move {
            let started = Instant::now();
            let r = app
                .post_form(
                    &format!("/thread/{thread}/reply"),
                    Some(&cookie),
                    &[("body", "A reply whose notifications are measured.")],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
            started.elapsed().as_secs_f64() * 1000.0
        }
    };
    let mut quiet_ms = Vec::new();
    let mut watched_ms = Vec::new();
    for _ in 0..5 {
        quiet_ms.push(reply_ms(quiet).await);
        agora::services::notify::catch_up(&app.state)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut fan_out_ms = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        watched_ms.push(reply_ms(watched).await);
        let started = Instant::now();
        rows = agora::services::notify::catch_up(&app.state)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        fan_out_ms.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(|a, b| a.total_cmp(b));
        v[v.len() / 2]
    };
    eprintln!(
        "measure ({}): reply commit {:.1} ms with nobody watching, {:.1} ms with {watchers} watching; \
         every notification row written {:.0} ms after ({rows} rows a reply)",
        app.store().backend_name(),
        median(&mut quiet_ms),
        median(&mut watched_ms),
        median(&mut fan_out_ms)
    );
    assert!(
        rows > watchers,
        "{rows} notifications for {watchers} watchers"
    );
}
