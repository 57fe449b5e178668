//! Nothing lost, nothing stale, nothing broken by one post: text that once panicked the
//! indexer, control characters refused by every write, an index that notices a restored
//! database, faults that heal without a restart, outages answered 503, and the statuses of
//! oversized and malformed requests.

use agora::services::archive;
use agora_store::Role;
use axum::http::StatusCode;
use serde_json::json;

use crate::util::{Backend, TestApp, both, config_for};

/// Bodies that panicked the indexer for good before the markup fix, and a deterministic corpus
/// of multibyte text around `&` and `<`.
fn tricky_bodies() -> Vec<String> {
    let mut bodies = vec![
        "R&D 🎉🎉 is where the budget went".to_string(),
        "‹中文中文中文中文› 网络请求失败 after the upgrade".to_string(),
        "A&中文中文中文中文中文 and <中文 in one line".to_string(),
        "Emoji after an ampersand: &🎉🎉🎉 and &#x1F389;🎉 together".to_string(),
    ];
    let pieces = [
        "&",
        "<",
        ">",
        ";",
        "&amp",
        "&#",
        "🎉",
        "‹",
        "中文",
        "日本語",
        "é",
        "ß",
        "한국",
        " ",
        "x",
    ];
    let mut seed = 0x9e37_79b9_u64;
    for _ in 0..24 {
        let mut text = String::from("fuzz ");
        for _ in 0..40 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            text.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
        }
        bodies.push(text);
    }
    bodies
}

async fn head(app: &TestApp) -> i64 {
    app.store()
        .change_head()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A reply to the demo's first thread through the API, with a write token.
async fn reply_to_thread_1(
    app: &TestApp,
    token: &str,
    body: impl std::fmt::Display,
) -> crate::util::TestResponse {
    app.api(
        "POST",
        "/api/v1/threads/1/posts",
        Some(token),
        Some(json!({ "body": body.to_string() })),
    )
    .await
}

async fn health(app: &TestApp) -> serde_json::Value {
    let response = app.get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

both! {
    async fn multibyte_text_is_posted_indexed_searched_edited_and_reindexed(b: Backend) {
        let app = TestApp::demo(b).await;
        let mira = app.person("mira", Role::Member).await;
        let token = app.api_token(&mira, "write").await;
        let started = app
            .api(
                "POST",
                "/api/v1/threads",
                Some(&token),
                Some(json!({"subtopic": "app-system-services/networking",
                    "title": "Quokka budget question", "tags": ["network"],
                    "body": "Where did the quokka budget go? R&D 🎉🎉"})),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text());
        let thread = started.json()["thread"]["id"].as_i64().unwrap_or(0);
        let head_post = started.json()["post_id"].as_i64().unwrap_or(0);
        for body in tricky_bodies() {
            let r = app
                .api("POST", &format!("/api/v1/threads/{thread}/posts"), Some(&token),
                    Some(json!({"body": format!("quokka {body}")})))
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{body}: {}", r.text());
        }
        // Indexed without a panic, and found, with snippets cut from that text.
        let found = app.search("quokka").await;
        assert_eq!(found["results"][0]["thread"]["id"].as_i64(), Some(thread), "{found}");
        assert!(app.search_titles("R&D").await.iter().any(|t| t == "Quokka budget question"));
        // An indexed post edited to hold such text: searches that match it still answer.
        let edited = app
            .api("PATCH", &format!("/api/v1/posts/{head_post}"), Some(&token),
                Some(json!({"body": "Where did the quokka budget go? ‹中文中文中文中文 &🎉🎉🎉🎉", "reason": "more"})))
            .await;
        assert_eq!(edited.status, StatusCode::OK, "{}", edited.text());
        let page = app.get("/search?q=quokka").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.text().contains("Quokka budget question"));
        // A full rebuild takes the same posts.
        let documents = app
            .state
            .search
            .rebuild(app.store(), None)
            .await
            .unwrap_or_else(|e| panic!("reindex: {e:#}"));
        assert!(documents > 30, "{documents}");
        assert!(app.search_titles("quokka").await.iter().any(|t| t == "Quokka budget question"));
        let h = health(&app).await;
        assert_eq!(h["status"], "ok", "{h}");
        assert_eq!(h["search"]["lag"], 0, "{h}");
    }
}

both! {
    async fn concurrent_edits_of_one_post_each_keep_a_revision(b: Backend) {
        // PostgreSQL once answered 500 here: both edits read the same last revision number.
        let app = TestApp::demo(b).await;
        let mira = app.person("mira", Role::Member).await;
        let token = app.api_token(&mira, "write").await;
        let started = app
            .api("POST", "/api/v1/threads", Some(&token),
                Some(json!({"subtopic": "app-system-services/networking",
                    "title": "A post edited by two tabs at once", "tags": ["network"],
                    "body": "The first text of a post that is edited many times at once."})))
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text());
        let post = started.json()["post_id"].as_i64().unwrap_or(0);
        let path = format!("/api/v1/posts/{post}");
        let edits = futures_util::future::join_all((0..8).map(|i| {
            app.api("PATCH", &path, Some(&token),
                Some(json!({"body": format!("Edit number {i} of a post edited many times at once."),
                    "reason": format!("edit {i}")})))
        }))
        .await;
        for (i, edit) in edits.iter().enumerate() {
            assert_eq!(edit.status, StatusCode::OK, "edit {i}: {}", edit.text());
        }
        let history = app.get(&format!("/api/v1/posts/{post}/revisions")).await;
        assert_eq!(history.status, StatusCode::OK, "{}", history.text());
        let mut numbers: Vec<i64> = history.json()["revisions"]
            .as_array()
            .map(|r| r.iter().filter_map(|v| v["number"].as_i64()).collect())
            .unwrap_or_default();
        numbers.sort_unstable();
        assert_eq!(numbers, (1..=9).collect::<Vec<i64>>(), "{}", history.text());
    }
}

/// One write with a control character in one field, and how to recognise its refusal.
struct Case {
    what: String,
    method: &'static str,
    path: String,
    /// A form (fields) or a JSON body.
    form: Option<Vec<(String, String)>>,
    json: Option<serde_json::Value>,
    cookie: Option<String>,
    token: Option<String>,
}

both! {
    async fn control_characters_are_refused_by_every_write(b: Backend) {
        let app = TestApp::demo(b).await;
        let mira = app.person("mira", Role::Member).await;
        let moder = app.person("moder", Role::Moderator).await;
        let mira_token = app.api_token(&mira, "write").await;
        let mod_token = app.api_token(&moder, "write").await;
        let started = app
            .api("POST", "/api/v1/threads", Some(&mira_token),
                Some(json!({"subtopic": "app-system-services/networking",
                    "title": "A clean thread to refuse edits on", "tags": ["network"],
                    "body": "Clean text, nothing strange in it."})))
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{}", started.text());
        let thread = started.json()["thread"]["id"].as_i64().unwrap_or(0);
        let post = started.json()["post_id"].as_i64().unwrap_or(0);
        let flagged = app
            .api("POST", &format!("/api/v1/posts/{post}/flags"), Some(&moder_token_for_flag(&app).await),
                Some(json!({"reason": "spam, probably"})))
            .await;
        assert!(flagged.status.is_success(), "{}", flagged.text());
        let flags = app.api("GET", "/api/v1/flags", Some(&mod_token), None).await.json();
        let flag = flags["flags"][0]["id"].as_i64()
            .or_else(|| flags[0]["id"].as_i64())
            .unwrap_or_else(|| panic!("no flag id in {flags}"));

        let form = |what: &str, path: String, cookie: Option<&str>, fields: &[(&str, &str)]| Case {
            what: what.to_string(),
            method: "POST",
            path,
            form: Some(fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()),
            json: None,
            cookie: cookie.map(str::to_string),
            token: None,
        };
        let api = |what: &str, method: &'static str, path: String, token: &str, body: serde_json::Value| Case {
            what: what.to_string(),
            method,
            path,
            form: None,
            json: Some(body),
            cookie: None,
            token: Some(token.to_string()),
        };
        let good_body = "A perfectly ordinary body of text.";
        for bad in ["\u{0}", "\u{1}", "\u{1b}", "\u{85}"] {
            let t = |s: &str| format!("{s}{bad}x");
            let m = Some(mira.cookie.as_str());
            let mo = Some(moder.cookie.as_str());
            let cases = vec![
                form("sign-up username", "/signup".into(), None, &[("username", &t("neo")), ("email", "neo@example.test"), ("password", "correct horse battery staple")]),
                form("sign-up email", "/signup".into(), None, &[("username", "neo"), ("email", &t("neo@example.test")), ("password", "correct horse battery staple")]),
                form("sign-up password", "/signup".into(), None, &[("username", "neo"), ("email", "neo@example.test"), ("password", &t("correct horse battery staple"))]),
                form("sign-up display name", "/signup".into(), None, &[("username", "neo"), ("email", "neo@example.test"), ("password", "correct horse battery staple"), ("display_name", &t("Neo"))]),
                form("reset email", "/reset".into(), None, &[("email", &t("mira@example.test"))]),
                form("compose title", "/new".into(), m, &[("subtopic", "app-system-services/networking"), ("title", &t("A title of some length")), ("tags", "network"), ("body", good_body)]),
                form("compose body", "/new".into(), m, &[("subtopic", "app-system-services/networking"), ("title", "A title of some length"), ("tags", "network"), ("body", &t(good_body))]),
                form("compose tags", "/new".into(), m, &[("subtopic", "app-system-services/networking"), ("title", "A title of some length"), ("tags", &t("network")), ("body", good_body)]),
                form("compose subtopic", "/new".into(), m, &[("subtopic", &t("app-system-services/networking")), ("title", "A title of some length"), ("tags", "network"), ("body", good_body)]),
                form("compose kind", "/new".into(), m, &[("subtopic", "app-system-services/networking"), ("title", "A title of some length"), ("tags", "network"), ("kind", &t("question")), ("body", good_body)]),
                form("reply body", format!("/thread/{thread}/reply"), m, &[("body", &t(good_body))]),
                form("edit body", format!("/posts/{post}/edit"), m, &[("body", &t(good_body)), ("reason", "typo")]),
                form("edit reason", format!("/posts/{post}/edit"), m, &[("body", good_body), ("reason", &t("typo"))]),
                form("edit title", format!("/posts/{post}/edit"), m, &[("body", good_body), ("reason", "typo"), ("title", &t("A new title for it"))]),
                form("profile display name", "/settings/profile".into(), m, &[("display_name", &t("Mira")), ("signature", "")]),
                form("profile signature", "/settings/profile".into(), m, &[("display_name", "Mira"), ("signature", &t("Cheers"))]),
                form("new password", "/settings/password".into(), m, &[("current_password", "correct horse battery staple"), ("new_password", &t("another long password"))]),
                form("token name", "/settings/tokens".into(), m, &[("name", &t("laptop")), ("scope", "read")]),
                form("flag reason", format!("/posts/{post}/flag"), mo, &[("reason", &t("spam"))]),
                form("lock reason", format!("/thread/{thread}/lock"), mo, &[("reason", &t("done"))]),
                form("hide reason", format!("/posts/{post}/hide"), mo, &[("reason", &t("rude"))]),
                form("retitle title", format!("/thread/{thread}/retitle"), mo, &[("title", &t("A retitled thread")), ("tags", "network")]),
                form("retitle tags", format!("/thread/{thread}/retitle"), mo, &[("title", "A retitled thread"), ("tags", &t("network"))]),
                form("move subtopic", format!("/thread/{thread}/move"), mo, &[("subtopic", &t("developer-tools-services/testing"))]),
                form("suspend reason", "/users/mira/suspend".into(), mo, &[("until", "2099-01-01"), ("reason", &t("spam"))]),
                form("suspend until", "/users/mira/suspend".into(), mo, &[("until", &t("2099-01-01")), ("reason", "spam")]),
                form("resolve resolution", format!("/review/{flag}/resolve"), mo, &[("resolution", &t("dismiss"))]),
                api("API thread title", "POST", "/api/v1/threads".into(), &mira_token, json!({"subtopic": "app-system-services/networking", "title": t("A title of some length"), "tags": ["network"], "body": good_body})),
                api("API thread body", "POST", "/api/v1/threads".into(), &mira_token, json!({"subtopic": "app-system-services/networking", "title": "A title of some length", "tags": ["network"], "body": t(good_body)})),
                api("API thread tag", "POST", "/api/v1/threads".into(), &mira_token, json!({"subtopic": "app-system-services/networking", "title": "A title of some length", "tags": [t("network")], "body": good_body})),
                api("API reply", "POST", format!("/api/v1/threads/{thread}/posts"), &mira_token, json!({"body": t(good_body)})),
                api("API edit body", "PATCH", format!("/api/v1/posts/{post}"), &mira_token, json!({"body": t(good_body), "reason": "x"})),
                api("API edit reason", "PATCH", format!("/api/v1/posts/{post}"), &mira_token, json!({"body": good_body, "reason": t("x")})),
                api("API retitle", "PATCH", format!("/api/v1/threads/{thread}"), &mod_token, json!({"title": t("A retitled thread"), "tags": ["network"]})),
                api("API flag", "POST", format!("/api/v1/posts/{post}/flags"), &mod_token, json!({"reason": t("spam")})),
                api("API hide", "POST", format!("/api/v1/posts/{post}/hidden"), &mod_token, json!({"reason": t("rude")})),
                api("API lock", "POST", format!("/api/v1/threads/{thread}/lock"), &mod_token, json!({"reason": t("done")})),
                api("API move", "POST", format!("/api/v1/threads/{thread}/move"), &mod_token, json!({"subtopic": t("developer-tools-services/testing")})),
                api("API suspend", "PUT", "/api/v1/users/mira/suspension".into(), &mod_token, json!({"until": "2099-01-01", "reason": t("spam")})),
                api("API resolve", "POST", format!("/api/v1/flags/{flag}/resolve"), &mod_token, json!({"resolution": t("dismiss")})),
            ];
            for case in cases {
                let before = head(&app).await;
                let response = send(&app, &case).await;
                let label = format!("{} with U+{:04X}", case.what, bad.chars().next().map_or(0, |c| c as u32));
                assert_eq!(response.status, StatusCode::BAD_REQUEST, "{label}: {}", response.text());
                assert_eq!(head(&app).await, before, "{label} changed something");
                if case.json.is_some() {
                    assert_eq!(response.json()["error"]["code"], "bad_request", "{label}");
                }
            }
        }
        // The field is named, and what was typed comes back.
        let r = app
            .post_form(&format!("/thread/{thread}/reply"), Some(&mira.cookie), &[("body", "Keep this text\u{1} please")])
            .await;
        assert!(r.text().contains("U+0001"), "{}", r.text());
        assert!(r.text().contains("Keep this text"), "{}", r.text());
        // Nothing that was refused reached the data: the forum's own export imports again.
        let exported = app.store().export().await.unwrap_or_else(|e| panic!("export: {e}"));
        let copy = TestApp::empty(b).await;
        archive::import(copy.store(), exported, None)
            .await
            .unwrap_or_else(|e| panic!("re-import: {e:#}"));
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
    }
}

/// A second member's write token, to flag with (a member may flag another's post).
async fn moder_token_for_flag(app: &TestApp) -> String {
    let flagger = app.person("flagger", Role::Member).await;
    app.api_token(&flagger, "write").await
}

async fn send(app: &TestApp, case: &Case) -> crate::util::TestResponse {
    if let Some(fields) = &case.form {
        let fields: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        return app
            .post_form(&case.path, case.cookie.as_deref(), &fields)
            .await;
    }
    app.api(
        case.method,
        &case.path,
        case.token.as_deref(),
        case.json.clone(),
    )
    .await
}

both! {
    async fn db_check_finds_control_characters_and_broken_counters(b: Backend) {
        // An archive may not carry control characters either; the forum's own data is checked
        // by `agora db check`, here through the store.
        let app = TestApp::demo(b).await;
        assert!(app.store().check().await.unwrap_or_else(|e| panic!("{e}")).is_empty());
        let mut bad = crate::util::demo_archive();
        bad.threads[0].posts[0].body.push('\u{1}');
        let refused = archive::import(TestApp::empty(b).await.store(), bad, None).await;
        let message = format!("{:#}", refused.err().unwrap_or_else(|| panic!("a control character was imported")));
        assert!(message.contains("threads[0].posts[0].body") && message.contains("U+0001"), "{message}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn synchronous_is_full_by_default() {
    let app = TestApp::empty(Backend::Sqlite).await;
    assert_eq!(
        app.store()
            .sqlite_synchronous()
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(2),
        "PRAGMA synchronous on the live writer: 2 is FULL"
    );
}

// ---------------------------------------------------------------- statuses

both! {
    async fn oversized_and_malformed_requests_get_their_statuses(b: Backend) {
        let app = TestApp::demo(b).await;
        let mira = app.person("mira", Role::Member).await;
        let token = app.api_token(&mira, "write").await;
        let huge = "x".repeat(10 * 1024 * 1024);
        let before = head(&app).await;
        let r = app
            .send_body("POST", "/api/v1/threads/1/posts",
                &[("content-type", "application/json"), ("authorization", &format!("Bearer {token}"))],
                format!("{{\"body\": \"{huge}\"}}").into_bytes())
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", &r.text()[..r.text().len().min(300)]);
        assert_eq!(r.json()["error"]["code"], "too_large");
        let r = app.post_form("/thread/1/reply", Some(&mira.cookie), &[("body", &huge)]).await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
        // A route that reads no body refuses a declared oversized one too.
        let length = huge.len().to_string();
        let r = app
            .send_body("POST", "/api/v1/posts/1/boost",
                &[("content-type", "application/json"), ("authorization", &format!("Bearer {token}")),
                    ("content-length", &length)],
                huge.clone().into_bytes())
            .await;
        assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
        assert_eq!(head(&app).await, before);
        // A field sent twice: 400 naming it, as docs/write-routes.md says.
        let r = app
            .post_form("/thread/1/reply", Some(&mira.cookie), &[("body", "First body of the two"), ("body", "Second body of the two")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert!(r.text().contains("body"), "{}", r.text());
        assert_eq!(head(&app).await, before);
    }
}

// ---------------------------------------------------------------- restores

/// Stops using the app's database and index (as a stopped server would), keeping its folder.
async fn shut(app: TestApp) -> (tempfile::TempDir, Option<crate::util::PgDatabase>) {
    let TestApp {
        state,
        router,
        dir,
        database,
        ..
    } = app;
    drop(router);
    state.store.close().await.unwrap_or_else(|e| panic!("{e}"));
    drop(state);
    (dir, database)
}

async fn reopen(dir: &std::path::Path) -> agora::app::AppState {
    agora::app::AppState::open(config_for(dir))
        .await
        .unwrap_or_else(|e| panic!("reopen: {e:#}"))
}

async fn post_thread(app_state: &agora::app::AppState, router: &axum::Router, title: &str) {
    let app = TestApp::from_parts(app_state.clone(), router.clone());
    static AUTHORS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = AUTHORS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let person = app.person(&format!("author{n}"), Role::Member).await;
    let r = app
        .post_form(
            "/new",
            Some(&person.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", title),
                ("tags", "network"),
                ("body", "Some words that make a body long enough."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_backup_is_noticed_and_the_index_rebuilt() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let kept = "Zebrafish kept across the restore";
    post_thread(&app.state, &app.router, kept).await;
    app.index().await;
    let backup = app.dir.path().join("backup.db");
    app.store()
        .backup(&backup)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let lost = "Wombat lost in the restore";
    post_thread(&app.state, &app.router, lost).await;
    app.index().await;
    assert_eq!(app.search_titles("wombat").await, [lost]);
    let (dir, _) = shut(app).await;

    // The command refuses while a server holds the database, and restores when none does.
    let database = dir.path().join("agora.db");
    let lock = agora_store::sqlite::hold_lock(&database, false).unwrap_or_else(|e| panic!("{e}"));
    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["db", "restore"])
        .arg(&backup)
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("stop it first"));
    drop(lock);
    let restored = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["db", "restore"])
        .arg(&backup)
        .arg("--data")
        .arg(dir.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        restored.status.success(),
        "{}",
        String::from_utf8_lossy(&restored.stderr)
    );

    // New writes reuse the sequence numbers the old index saw; it must notice and rebuild.
    let state = reopen(dir.path()).await;
    let router = agora::router::build(state.clone());
    let new_titles = [
        "Narwhal after the restore",
        "Numbat after the restore",
        "Nightjar after the restore",
    ];
    for title in new_titles {
        post_thread(&state, &router, title).await;
    }
    let app = TestApp::from_parts(state, router);
    for title in new_titles {
        let word = title.split(' ').next().unwrap_or("").to_lowercase();
        assert_eq!(app.search_titles(&word).await, [title], "{word}");
    }
    assert!(
        app.search_titles("wombat").await.is_empty(),
        "a lost post is still found"
    );
    assert_eq!(app.search_titles("zebrafish").await, [kept]);
    let h = health(&app).await;
    assert_eq!(h["search"]["lag"], 0, "{h}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_that_went_back_in_time_is_noticed_without_the_restore_command() {
    // The file copied back by hand (same identity): the index is ahead of the log, and once
    // new writes pass its position, the change at that position is not the one it applied.
    let app = TestApp::demo(Backend::Sqlite).await;
    let backup = app.dir.path().join("backup.db");
    app.index().await;
    app.store()
        .backup(&backup)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for title in ["Lost platypus number one", "Lost platypus number two"] {
        post_thread(&app.state, &app.router, title).await;
    }
    app.index().await;
    let (dir, _) = shut(app).await;
    let database = dir.path().join("agora.db");
    for side in ["agora.db-wal", "agora.db-shm"] {
        let _ = std::fs::remove_file(dir.path().join(side));
    }
    std::fs::copy(&backup, &database).unwrap_or_else(|e| panic!("{e}"));
    let state = reopen(dir.path()).await;
    let router = agora::router::build(state.clone());
    for title in [
        "Quetzal written later one",
        "Quetzal written later two",
        "Quetzal written later three",
        "Quetzal written later four",
    ] {
        post_thread(&state, &router, title).await;
    }
    let app = TestApp::from_parts(state, router);
    assert_eq!(app.search_titles("quetzal").await.len(), 4);
    assert!(
        app.search_titles("platypus").await.is_empty(),
        "lost posts are still found"
    );
}

// ---------------------------------------------------------------- outages

/// A TCP proxy in front of PostgreSQL that a test can cut (every connection dropped, new ones
/// closed at once) and heal: a database outage without stopping the shared server.
struct Proxy {
    address: std::net::SocketAddr,
    open: std::sync::Arc<std::sync::atomic::AtomicBool>,
    links: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl Proxy {
    async fn start(upstream: String) -> Proxy {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let address = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let open = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let links = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (is_open, all) = (open.clone(), links.clone());
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !is_open.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let link = tokio::spawn(async move {
                    if let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                if let Ok(mut all) = all.lock() {
                    all.push(link.abort_handle());
                }
            }
        });
        Proxy {
            address,
            open,
            links,
            accept,
        }
    }

    fn cut(&self) {
        self.open.store(false, std::sync::atomic::Ordering::Release);
        if let Ok(mut links) = self.links.lock() {
            for link in links.drain(..) {
                link.abort();
            }
        }
    }

    fn heal(&self) {
        self.open.store(true, std::sync::atomic::Ordering::Release);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.accept.abort();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_503_and_cached_pages_still_served() {
    if crate::util::postgres_url().is_none() {
        return;
    }
    let database = crate::util::PgDatabase::create().await;
    let proxy = Proxy::start("127.0.0.1:5432".to_string()).await;
    let (before_host, rest) = database
        .url
        .split_once("@")
        .unwrap_or_else(|| panic!("{}", database.url));
    let after_host = rest.split_once('/').map_or("", |(_, db)| db);
    let proxied = format!("{before_host}@{}/{after_host}", proxy.address);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = config_for(dir.path());
    config.database_url = proxied;
    let app = TestApp::demo_with(config).await;
    let mira = app.person("mira", Role::Member).await;
    let token = app.api_token(&mira, "write").await;
    let home = app.get("/").await;
    assert_eq!(home.status, StatusCode::OK);

    proxy.cut();
    let h = app.get("/healthz").await;
    assert_eq!(h.status, StatusCode::SERVICE_UNAVAILABLE, "{}", h.text());
    assert!(h.header("retry-after").is_some());
    assert_eq!(h.json()["error"]["code"], "unavailable");
    let me = app.api("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::SERVICE_UNAVAILABLE, "{}", me.text());
    assert_eq!(me.json()["error"]["code"], "unavailable", "{}", me.text());
    assert!(me.header("retry-after").is_some());
    let reply = reply_to_thread_1(&app, &token, "Written while the database is down.").await;
    assert_eq!(
        reply.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        reply.text()
    );
    assert_eq!(reply.json()["error"]["code"], "unavailable");
    let cached = app.get("/").await;
    assert_eq!(
        cached.status,
        StatusCode::OK,
        "a cached page is served through the outage"
    );
    assert_eq!(cached.body, home.body);
    let page = app.get("/tags/networking?sort=views").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.header("retry-after").is_some());
    assert!(page.text().contains("Back in a moment"), "{}", page.text());

    proxy.heal();
    let mut healthy = false;
    for _ in 0..100 {
        if app.get("/healthz").await.status == StatusCode::OK {
            healthy = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        healthy,
        "the node did not recover after the database came back"
    );
    let me = app.api("GET", "/api/v1/me", Some(&token), None).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    drop(app);
    drop(database);
}

// ---------------------------------------------------------------- a full disk

/// A small tmpfs mounted for one test (root only), unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    /// None, loudly, where mounting is not allowed.
    fn mount(megabytes: u32) -> Option<SmallDisk> {
        use std::io::Write;
        let dir = tempfile::tempdir().ok()?;
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !mounted {
            let _ = writeln!(
                std::io::stderr(),
                "\n!!! cannot mount a small tmpfs here (needs root): the full-disk test was SKIPPED.\n"
            );
            return None;
        }
        Some(SmallDisk { dir })
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Fills the disk; returns the filler to remove.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        let _ = file.sync_all();
        path
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_heals_by_itself_after_the_disk_fills() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    // The index on the small disk, the database elsewhere.
    let elsewhere = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = config_for(disk.path());
    config.database_url = elsewhere.path().join("agora.db").display().to_string();
    let app = TestApp::demo_with(config).await;
    app.index().await;
    let mira = app.person("mira", Role::Member).await;
    let token = app.api_token(&mira, "write").await;

    let filler = disk.fill();
    for i in 0..5 {
        let r = reply_to_thread_1(
            &app,
            &token,
            format!("Capybara reply number {i} while the index disk is full"),
        )
        .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    }
    assert!(
        app.state.search.catch_up(app.store()).await.is_err(),
        "indexing on a full disk succeeded"
    );
    assert!(app.state.search.catch_up(app.store()).await.is_err());
    let h = health(&app).await;
    assert_eq!(h["status"], "degraded", "{h}");
    assert!(h["problems"].to_string().contains("search indexer"), "{h}");
    assert!(h["search"]["lag"].as_i64().unwrap_or(0) > 0, "{h}");

    std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
    let applied = app
        .state
        .search
        .catch_up(app.store())
        .await
        .unwrap_or_else(|e| panic!("the indexer did not heal: {e:#}"));
    assert!(applied >= 5, "{applied}");
    let found = app.search("capybara").await;
    assert!(
        !found["results"].as_array().is_none_or(Vec::is_empty),
        "{found}"
    );
    let h = health(&app).await;
    assert_eq!(h["status"], "ok", "{h}");
    assert_eq!(h["search"]["lag"], 0, "{h}");
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_answers_507_and_writes_resume_when_space_returns() {
    let Some(disk) = SmallDisk::mount(24) else {
        return;
    };
    let app = TestApp::demo_with(config_for(disk.path())).await;
    let mira = app.person("mira", Role::Member).await;
    let token = app.api_token(&mira, "write").await;
    let filler = disk.fill();
    // The write-ahead log reuses its space for a while; keep writing until the disk says no.
    let big = "A long reply that takes room. ".repeat(1_500);
    let mut refused = None;
    let mut acknowledged = 0;
    for _ in 0..400 {
        let r = reply_to_thread_1(&app, &token, &big).await;
        if r.status == StatusCode::CREATED {
            acknowledged += 1;
            continue;
        }
        refused = Some(r);
        break;
    }
    let refused = refused.unwrap_or_else(|| panic!("400 writes fit on a full disk"));
    assert_eq!(
        refused.status,
        StatusCode::INSUFFICIENT_STORAGE,
        "{}",
        refused.text()
    );
    assert_eq!(refused.json()["error"]["code"], "storage_full");
    std::fs::remove_file(&filler).unwrap_or_else(|e| panic!("{e}"));
    let r = reply_to_thread_1(&app, &token, "Space is back, and so are replies.").await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let thread = app.get("/api/v1/threads/1").await.json();
    let text = thread.to_string();
    assert!(
        text.contains("Space is back"),
        "acknowledged={acknowledged}"
    );
    drop(app);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn db_check_finds_bad_rows_written_before_the_rules_and_fix_recounts() {
    // Rows as an older version could have left them, written with SQL past every rule.
    if crate::util::postgres_url().is_none() {
        return;
    }
    let app = TestApp::demo(Backend::Postgres).await;
    let url = app
        .database
        .as_ref()
        .map(|d| d.url.clone())
        .unwrap_or_default();
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    client
        .batch_execute(
            "UPDATE posts SET body_md = body_md || chr(1) WHERE id = (SELECT MIN(id) FROM posts);
             UPDATE users SET display_name = display_name || chr(27) WHERE id = (SELECT MIN(id) FROM users);
             UPDATE threads SET reply_count = reply_count + 5 WHERE id = (SELECT MIN(id) FROM threads);",
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
    let places: Vec<&str> = findings.iter().map(|f| f.place.as_str()).collect();
    assert!(places.contains(&"posts.body_md"), "{findings:?}");
    assert!(places.contains(&"users.display_name"), "{findings:?}");
    assert!(places.contains(&"threads.reply_count"), "{findings:?}");
    assert!(places.contains(&"subtopics.post_count"), "{findings:?}");
    assert!(findings.iter().all(|f| !f.fix.is_empty()));
    let exported = app.store().export().await.unwrap_or_else(|e| panic!("{e}"));
    let refused = archive::import(
        TestApp::empty(Backend::Sqlite).await.store(),
        exported,
        None,
    )
    .await;
    assert!(
        format!("{:#}", refused.err().unwrap_or_else(|| panic!("imported")))
            .contains("control character U+00")
    );
    app.store()
        .recount()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let left = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(
        left.iter().all(|f| f.kind == "control_character"),
        "{left:?}"
    );
    assert_eq!(left.len(), 2, "{left:?}");
}

both! {
    async fn concurrent_writes_each_get_their_own_answer(b: Backend) {
        // On SQLite concurrent writes are committed in groups (one transaction, a savepoint
        // each): a write that fails inside a group must fail alone, and every acknowledged one
        // must be there, with every counter right.
        let app = std::sync::Arc::new(TestApp::demo(b).await);
        let mira = app.person("mira", Role::Member).await;
        let token = app.api_token(&mira, "write").await;
        let replies_before = app.get("/api/v1/threads/1").await.json()["thread"]["replies"]
            .as_i64()
            .unwrap_or_else(|| panic!("no reply count"));
        let mut tasks = Vec::new();
        for i in 0..30 {
            let (app, token) = (app.clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let r = reply_to_thread_1(&app, &token, format!("Concurrent reply number {i}, written at once")).await;
                ("reply", r.status)
            }));
        }
        for i in 0..10 {
            let app = app.clone();
            tasks.push(tokio::spawn(async move {
                let email = format!("twin{i}@example.test");
                let r = app
                    .post_form("/signup", None, &[("username", "twin"), ("email", &email),
                        ("password", "correct horse battery staple")])
                    .await;
                ("signup", r.status)
            }));
        }
        let mut replies = 0;
        let mut signed_up = 0;
        for task in tasks {
            let (what, status) = task.await.unwrap_or_else(|e| panic!("{e}"));
            match (what, status) {
                ("reply", StatusCode::CREATED) => replies += 1,
                ("signup", StatusCode::SEE_OTHER) => signed_up += 1,
                ("signup", StatusCode::CONFLICT | StatusCode::BAD_REQUEST) => {}
                other => panic!("unexpected answer {other:?}"),
            }
        }
        assert_eq!(replies, 30);
        assert_eq!(signed_up, 1, "exactly one of the twins gets the name");
        let thread = app.get("/api/v1/threads/1").await.json();
        assert_eq!(thread["thread"]["replies"].as_i64(), Some(replies_before + 30), "{}", thread["thread"]);
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
    }
}
