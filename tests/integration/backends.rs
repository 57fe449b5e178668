//! What running on PostgreSQL, and on several nodes, promises: the same schema as SQLite,
//! jobs claimed once, other nodes' writes seen within a second, acknowledged writes kept
//! through a SIGKILL, and a lossless move from SQLite.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agora::services::archive;
use agora_store::{DatabaseUrl, Store, StoreOptions, ThreadId};
use axum::http::StatusCode;

use crate::util::{Backend, Node, PgDatabase, TestApp, both, postgres_url, texts};

fn normalize_type(t: &str) -> &'static str {
    match t.to_ascii_lowercase().as_str() {
        "integer" | "bigint" => "int",
        "text" => "text",
        "boolean" => "bool",
        "index" => "index",
        _ => "other",
    }
}

#[tokio::test]
async fn both_migration_sets_end_with_the_same_schema() {
    if postgres_url().is_none() {
        return;
    }
    let sqlite = TestApp::empty(Backend::Sqlite).await;
    let postgres = TestApp::empty(Backend::Postgres).await;
    let shape = |rows: Vec<(String, String, String)>| -> BTreeSet<(String, String, &'static str)> {
        rows.into_iter()
            .map(|(t, c, ty)| (t, c, normalize_type(&ty)))
            .collect()
    };
    let a = shape(
        sqlite
            .store()
            .schema()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    let b = shape(
        postgres
            .store()
            .schema()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert!(
        a.iter().all(|(_, _, ty)| *ty != "other"),
        "unmapped SQLite type in {a:?}"
    );
    assert!(
        b.iter().all(|(_, _, ty)| *ty != "other"),
        "unmapped PostgreSQL type in {b:?}"
    );
    let only_sqlite: Vec<_> = a.difference(&b).collect();
    let only_postgres: Vec<_> = b.difference(&a).collect();
    assert!(
        only_sqlite.is_empty() && only_postgres.is_empty(),
        "only in SQLite: {only_sqlite:?}\nonly in PostgreSQL: {only_postgres:?}"
    );
    assert!(a.len() > 80, "{}", a.len());
}

both!(
    /// Two nodes (two stores on one database) claiming at once never take the same job, and
    /// every job is taken.
    async fn jobs_are_claimed_once(b: Backend) {
        let app = TestApp::empty(b).await;
        let other = app.reopen_store().await;
        for i in 0..40 {
            app.store()
                .enqueue_job("email", &format!("{i}"))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let claim_all = |store: Store, worker: &'static str| {
            tokio::spawn(async move {
                let mut ids = Vec::new();
                while let Some(job) = store
                    .claim_job(worker, Duration::from_secs(60), &["email"])
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
                {
                    assert!(store.finish_job(job.id, worker).await.unwrap_or(false));
                    ids.push(job.id);
                }
                ids
            })
        };
        let (a, c) = (
            claim_all(app.store().clone(), "node-a"),
            claim_all(other, "node-b"),
        );
        let (a, c) = (a.await.unwrap_or_default(), c.await.unwrap_or_default());
        let all: BTreeSet<i64> = a.iter().chain(c.iter()).copied().collect();
        assert_eq!(
            a.len() + c.len(),
            40,
            "a job was claimed twice or lost: {a:?} {c:?}"
        );
        assert_eq!(all.len(), 40);
        // A lease that ran out lets another worker take the job again.
        app.store()
            .enqueue_job("email", "late")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let first = app
            .store()
            .claim_job("node-a", Duration::ZERO, &["email"])
            .await
            .ok()
            .flatten();
        tokio::time::sleep(Duration::from_millis(5)).await;
        let again = app
            .store()
            .claim_job("node-b", Duration::from_micros(1), &["email"])
            .await
            .ok()
            .flatten();
        assert_eq!(first.map(|j| j.id), again.as_ref().map(|j| j.id));
        assert!(
            !app.store()
                .finish_job(again.map_or(0, |j| j.id), "node-a")
                .await
                .unwrap_or(true)
        );
    }
);

both!(
    /// A lock written by this node shows at once, through the cache.
    async fn a_lock_shows_at_once_and_lands_in_the_change_log(b: Backend) {
        let app = TestApp::demo(b).await;
        let (url, page) = app.follow("/thread/7").await;
        assert!(texts(&page.html(), ".notice.locked").is_empty());
        let head = app.store().change_head().await.unwrap_or(0);
        assert!(
            app.store()
                .set_lock(
                    ThreadId(7),
                    Some(("hlindqvist", "Resolved; see the accepted answer."))
                )
                .await
                .unwrap_or(false)
        );
        assert_eq!(app.store().change_head().await.unwrap_or(0), head + 1);
        let notice = texts(&app.ok(&url).await.html(), ".notice.locked");
        assert!(
            notice[0].contains("Resolved; see the accepted answer."),
            "{notice:?}"
        );
        assert!(
            app.store()
                .set_lock(ThreadId(7), None)
                .await
                .unwrap_or(false)
        );
        assert!(texts(&app.ok(&url).await.html(), ".notice.locked").is_empty());
        assert!(
            !app.store()
                .set_lock(ThreadId(999), None)
                .await
                .unwrap_or(true)
        );
    }
);

/// Listings go to the replica when one is configured; thread pages (read-after-write) do not.
#[tokio::test]
async fn listings_read_from_the_replica() {
    let Some(_) = postgres_url() else { return };
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = crate::util::config_for(dir.path());
    config.database_url = db.url.clone();
    // Nothing listens on port 1: if listings use the replica, they fail.
    config.database.replica_url = "postgres://postgres@127.0.0.1:1/nowhere".into();
    let state = agora::app::AppState::open(config)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    archive::load_demo_if_empty(&state.store)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let app = TestApp {
        router: agora::router::build(state.clone()),
        state,
        dir,
        database: Some(db),
        backend: Backend::Postgres,
    };
    // An unreachable replica is an outage of what listings read: 503, try again later.
    assert_eq!(
        app.get("/topics/app-system-services/networking")
            .await
            .status,
        StatusCode::SERVICE_UNAVAILABLE
    );
    let (_, thread) = app.follow("/thread/7").await;
    assert_eq!(thread.status, StatusCode::OK);
}

fn agora() -> Command {
    Command::new(env!("CARGO_BIN_EXE_agora"))
}

/// `agora db copy` moves a forum from SQLite to PostgreSQL; both export identically.
#[tokio::test]
async fn db_copy_moves_sqlite_to_postgres_losslessly() {
    let Some(_) = postgres_url() else { return };
    let source = TestApp::demo(Backend::Sqlite).await;
    source
        .store()
        .close()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let target = PgDatabase::create().await;
    let from = format!("sqlite://{}", source.dir.path().join("agora.db").display());
    let out = agora()
        .args(["db", "copy", "--from", &from, "--to", &target.url])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("copied 15 users, 25 threads and 87 posts"),
        "{err}"
    );
    let copy = Store::open(
        &DatabaseUrl::Postgres(target.url.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let a = archive::to_json(
        &source
            .store()
            .export()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    let b = archive::to_json(&copy.export().await.unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    assert!(a == b, "the PostgreSQL copy exports differently");
    // A second copy into the now non-empty target is refused.
    let out = agora()
        .args(["db", "copy", "--from", &from, "--to", &target.url])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        !out.status.success()
            && String::from_utf8_lossy(&out.stderr).contains("already holds a forum")
    );
    copy.close().await.unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test]
async fn sqlite_backup_is_a_working_forum() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let target = app.dir.path().join("backup.db");
    app.store()
        .backup(&target)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let copy = Store::open(
        &DatabaseUrl::Sqlite(target.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let a = archive::to_json(&app.store().export().await.unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    let b = archive::to_json(&copy.export().await.unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    assert!(a == b);
    assert!(
        app.store().backup(&target).await.is_err(),
        "VACUUM INTO refuses to overwrite"
    );
}

// ------------------------------------------------------------ real processes

/// Two nodes share one PostgreSQL database: a write made elsewhere shows on both within a
/// second, without restarting either, although both had the page cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_see_each_others_writes_within_a_second() {
    let Some(_) = postgres_url() else { return };
    let db = PgDatabase::create().await;
    let store = Store::open(
        &DatabaseUrl::Postgres(db.url.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    archive::load_demo_if_empty(&store)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (a, b) = (
        Node::serve(&["--database", &db.url], &dir.path().join("a")),
        Node::serve(&["--database", &db.url], &dir.path().join("b")),
    );
    let thread = "/thread/7/nwconnection-udp-receivemessage-fires-once-and-then-never-again";
    let listing = "/topics/app-system-services/networking";
    for node in [&a, &b] {
        let (status, body) = node.get(thread);
        assert_eq!(status, 200);
        assert!(!body.contains("This thread is locked."));
        assert_eq!(node.get(listing).0, 200);
    }
    // A third writer (as a node without HTTP would): lock the thread.
    let written = Instant::now();
    assert!(
        store
            .set_lock(ThreadId(7), Some(("javery", "Moved to the new thread.")))
            .await
            .unwrap_or(false)
    );
    for (name, node) in [("A", &a), ("B", &b)] {
        loop {
            let (_, body) = node.get(thread);
            if body.contains("Moved to the new thread.") {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "node {name} still serves the old page after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        // The listing's lock marker changed too.
        assert!(
            node.get(listing).1.contains("marker locked"),
            "node {name}'s listing is stale"
        );
    }
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
}

/// Nodes started at the same moment on a new, empty database all come up; one loads the
/// demo, and all serve it (the README's two-node walkthrough).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_started_together_on_an_empty_database_all_come_up() {
    let Some(_) = postgres_url() else { return };
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let folders = [
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    ];
    let url = db.url.clone();
    let nodes: Vec<Node> = std::thread::scope(|scope| {
        let starts: Vec<_> = folders
            .iter()
            .map(|folder| {
                let url = url.clone();
                scope.spawn(move || Node::serve(&["--database", &url], folder))
            })
            .collect();
        starts
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| panic!("a node did not start")))
            .collect()
    });
    for node in &nodes {
        let (status, page) = node.get("/api/v1/areas");
        assert_eq!(status, 200);
        assert!(page.contains("\"Networking\""), "{page}");
    }
    let store = Store::open(
        &DatabaseUrl::Postgres(db.url.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let forum = store.export().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        forum.threads.len(),
        25,
        "the demo was loaded more than once, or not at all"
    );
    store.close().await.unwrap_or_else(|e| panic!("{e}"));
}

both!(
    /// A node killed with SIGKILL in the middle of a batch of writes has lost none it
    /// acknowledged.
    async fn sigkill_loses_no_acknowledged_write(b: Backend) {
        let app = TestApp::empty(b).await;
        let url = match &app.database {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", app.dir.path().join("agora.db").display()),
        };
        let mut child = agora()
            .args([
                "db",
                "probe-writes",
                "--count",
                "1000000",
                "--database",
                &url,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut stdout = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("no stdout")));
        let mut acked = Vec::new();
        let mut line = String::new();
        while acked.len() < 300 && stdout.read_line(&mut line).unwrap_or(0) > 0 {
            if let Some(id) = line
                .trim()
                .strip_prefix("acked ")
                .and_then(|v| v.parse::<i64>().ok())
            {
                acked.push(id);
            }
            line.clear();
        }
        child.kill().unwrap_or_else(|e| panic!("{e}")); // SIGKILL
        let _ = child.wait();
        // Acknowledgements printed before the kill but not yet read count too.
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
        acked.extend(
            rest.lines()
                .filter_map(|l| l.strip_prefix("acked ").and_then(|v| v.parse::<i64>().ok())),
        );
        assert!(acked.len() >= 300, "{}", acked.len());
        let store = app.reopen_store().await;
        let mut claimed = BTreeSet::new();
        while let Some(job) = store
            .claim_job("checker", Duration::from_secs(60), &["probe"])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        {
            claimed.insert(job.id);
        }
        let lost: Vec<&i64> = acked.iter().filter(|id| !claimed.contains(id)).collect();
        assert!(
            lost.is_empty(),
            "{} acknowledged writes were lost: {lost:?}",
            lost.len()
        );
    }
);

/// Accounts and moderation travel through the archive (version 2): a copy of a forum where
/// people signed up, were suspended, posted, deleted, hid and flagged exports identically, and
/// its members can sign in on the copy with their passwords.
#[tokio::test]
async fn db_copy_carries_accounts_and_moderation() {
    let source = TestApp::demo(Backend::Sqlite).await;
    let member = source.person("copyme", agora_store::Role::Member).await;
    let other = source.person("copyother", agora_store::Role::Member).await;
    let moderator = source.person("copymod", agora_store::Role::Moderator).await;
    let form = |path: &str, who: &crate::util::Person, fields: Vec<(&'static str, String)>| {
        let (path, cookie) = (path.to_string(), who.cookie.clone());
        let source = &source;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let response = source.post_form(&path, Some(&cookie), &fields).await;
            assert_eq!(
                response.status,
                StatusCode::SEE_OTHER,
                "{path}: {}",
                response.text()
            );
            response.header("location").unwrap_or_default().to_string()
        }
    };
    let url = form(
        "/new",
        &member,
        vec![
            ("subtopic", "app-system-services/networking".into()),
            ("title", "A thread that will be moved".into()),
            ("tags", "network".into()),
            ("kind", "question".into()),
            ("body", "Some text that is long enough.".into()),
        ],
    )
    .await;
    let thread: i64 = url
        .trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("{url}"));
    let reply = |n: i64| format!("Reply number {n}, long enough to post.");
    let mut replies = Vec::new();
    for n in 0..3 {
        let at = form(
            &format!("/thread/{thread}/reply"),
            &other,
            vec![("body", reply(n))],
        )
        .await;
        replies.push(
            at.rsplit_once("#post-")
                .map(|(_, id)| id.to_string())
                .unwrap_or_default(),
        );
    }
    form(
        &format!("/posts/{}/delete", replies[0]),
        &other,
        vec![("confirm", "yes".into())],
    )
    .await;
    form(
        &format!("/posts/{}/hide", replies[1]),
        &moderator,
        vec![("reason", "Off topic.".into())],
    )
    .await;
    form(
        &format!("/posts/{}/flag", replies[2]),
        &member,
        vec![("reason", "Looks like spam.".into())],
    )
    .await;
    form(
        &format!("/users/{}/suspend", other.username),
        &moderator,
        vec![
            ("until", "2099-01-01".into()),
            ("reason", "Cooling off.".into()),
        ],
    )
    .await;
    let before = archive::to_json(
        &source
            .store()
            .export()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
    )
    .unwrap_or_default();
    for needle in [
        "\"password_hash\": \"$argon2",
        "\"hidden\"",
        "\"deleted\"",
        "\"flags\"",
        "\"audit_log\"",
        "Cooling off.",
    ] {
        assert!(before.contains(needle), "the export has no {needle}");
    }
    source
        .store()
        .close()
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    let target = source.dir.path().join("copy.db");
    let from = format!("sqlite://{}", source.dir.path().join("agora.db").display());
    let to = format!("sqlite://{}", target.display());
    let out = agora()
        .args(["db", "copy", "--from", &from, "--to", &to])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && err.contains("sessions and API tokens"),
        "{err}"
    );
    let copy = Store::open(
        &DatabaseUrl::Sqlite(target.clone()),
        StoreOptions::default(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let after = archive::to_json(&copy.export().await.unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_default();
    assert!(before == after, "the copy exports differently");
    copy.close().await.unwrap_or_else(|e| panic!("{e}"));

    // The copy is a working forum: the member signs in with their password; the hidden and
    // deleted replies are still placeholders there.
    let mut config = crate::util::config_for(source.dir.path());
    config.database_url = to;
    let state = agora::app::AppState::open(config)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let router = agora::router::build(state);
    let request = axum::http::Request::builder()
        .method("POST")
        .uri("/signin")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(axum::body::Body::from(crate::util::form_body(&[
            ("login", "copyme"),
            ("password", "correct horse battery staple"),
        ])))
        .unwrap_or_else(|e| panic!("{e}"));
    let response = tower::ServiceExt::oneshot(router, request)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "signing in on the copy"
    );
}

/// PostgreSQL sessions run without JIT (compiling a short statement costs more than running
/// it), unless the URL's own options say otherwise, and a forum loaded in bulk is analysed
/// before it serves (an unanalysed 1M-post forum had every deep listing page JIT-compiled).
#[tokio::test]
async fn postgres_sessions_skip_jit_and_a_bulk_load_is_analysed() {
    if postgres_url().is_none() {
        return;
    }
    let app = TestApp::empty(Backend::Postgres).await;
    agora::services::generate::generate(
        app.store(),
        agora::services::generate::Plan {
            threads: 60,
            replies_per_thread: 2,
            seed: 3,
        },
        indicatif::ProgressBar::hidden(),
    )
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    let url = app.state.config.database_url.clone();
    let session = |url: String| async move {
        let config = agora_store::postgres::parse_url(&url).unwrap_or_else(|e| panic!("{e}"));
        let (client, connection) = config
            .connect(tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        tokio::spawn(connection);
        client
    };
    let client = session(url.clone()).await;
    let jit: String = client
        .query_one("SHOW jit", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(jit, "off");
    let joined = if url.contains('?') { '&' } else { '?' };
    let chosen = session(format!("{url}{joined}options=-c%20jit%3Don")).await;
    let jit: String = chosen
        .query_one("SHOW jit", &[])
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert_eq!(jit, "on", "the URL's own choice stands");
    // The generator loads in bulk: its tables have statistics.
    let analysed: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_stats WHERE schemaname = 'public' AND tablename = 'threads'",
            &[],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .get(0);
    assert!(
        analysed > 0,
        "no statistics for threads after the bulk load"
    );
}
