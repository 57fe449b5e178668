//! HTTP behaviour: validators and 304s, compression, security headers, view counting, and
//! the JSON API's errors.

use axum::http::StatusCode;

use crate::util::{Backend, TestApp, both};

const NETWORKING: &str = "/topics/app-system-services/networking";

both!(
    async fn pages_revalidate_with_304(b: Backend) {
        let app = TestApp::demo(b).await;
        let first = app.ok(NETWORKING).await;
        let etag = first.header("etag").unwrap_or_default().to_string();
        assert!(etag.starts_with("W/\""), "{etag}");
        assert!(first.header("last-modified").is_some());
        assert_eq!(first.header("cache-control"), Some("no-cache"));
        let again = app.request(NETWORKING, &[("if-none-match", &etag)]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.body.is_empty());
        let since = first
            .header("last-modified")
            .unwrap_or_default()
            .to_string();
        let again = app
            .request(NETWORKING, &[("if-modified-since", &since)])
            .await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        let other = app
            .request(NETWORKING, &[("if-none-match", "W/\"nope\"")])
            .await;
        assert_eq!(other.status, StatusCode::OK);
        // The API revalidates the same way.
        let json = app.ok("/api/v1/areas").await;
        let etag = json.header("etag").unwrap_or_default().to_string();
        assert_eq!(
            app.request("/api/v1/areas", &[("if-none-match", &etag)])
                .await
                .status,
            StatusCode::NOT_MODIFIED
        );
    }
);

both!(
    /// Readers alone never empty the page cache: a view flush keeps the cached page (its count
    /// ages, within the cache's max age); a write to the thread renders it again, new count
    /// and all.
    async fn a_view_flush_keeps_cached_pages_and_a_write_changes_them(b: Backend) {
        let app = TestApp::demo(b).await;
        // Thread 7 has 412 views: this visit makes 413.
        let (url, first) = app.follow("/thread/7").await;
        let etag = first.header("etag").unwrap_or_default().to_string();
        assert!(first.text().contains("412 views"), "{}", first.text());
        app.state
            .flush_views()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let kept = app.request(&url, &[("if-none-match", &etag)]).await;
        assert_eq!(
            kept.status,
            StatusCode::NOT_MODIFIED,
            "the flush threw the page away"
        );
        let writer = app.person("wren", agora_store::Role::Member).await;
        crate::util::reply_as(&app, &writer, 7, "A reply, so the thread's page changes.").await;
        let changed = app.request(&url, &[("if-none-match", &etag)]).await;
        assert_eq!(changed.status, StatusCode::OK, "the reply did not show");
        assert_ne!(changed.header("etag"), Some(etag.as_str()));
        assert!(changed.text().contains("413 views"), "{}", changed.text());
    }
);

both!(
    async fn responses_are_compressed(b: Backend) {
        let app = TestApp::demo(b).await;
        let plain = app.ok(NETWORKING).await;
        let br = app
            .request(NETWORKING, &[("accept-encoding", "gzip, deflate, br")])
            .await;
        assert_eq!(br.header("content-encoding"), Some("br"));
        assert_eq!(br.header("vary"), Some("Accept-Encoding"));
        assert!(
            br.body.len() * 3 < plain.body.len(),
            "{} vs {}",
            br.body.len(),
            plain.body.len()
        );
        let mut decoded = Vec::new();
        brotli::BrotliDecompress(&mut br.body.as_slice(), &mut decoded)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded, plain.body);
        let gz = app
            .request(NETWORKING, &[("accept-encoding", "gzip")])
            .await;
        assert_eq!(gz.header("content-encoding"), Some("gzip"));
        let mut decoded = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(gz.body.as_slice()),
            &mut decoded,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(decoded, plain.body);
    }
);

both!(
    async fn static_files_have_hashed_names_and_long_lifetimes(b: Backend) {
        let app = TestApp::demo(b).await;
        let html = app.ok("/").await.html();
        let css = crate::util::attrs(&html, "link[rel=stylesheet]", "href");
        assert_eq!(css.len(), 1);
        assert!(
            css[0].starts_with("/static/agora.") && css[0].ends_with(".css"),
            "{css:?}"
        );
        let response = app.ok(&css[0]).await;
        assert_eq!(
            response.header("cache-control"),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(
            response.header("content-type"),
            Some("text/css; charset=utf-8")
        );
    }
);

both!(
    async fn security_headers_are_set(b: Backend) {
        let app = TestApp::demo(b).await;
        for path in ["/", "/nope", "/api/v1/areas"] {
            let response = app.get(path).await;
            let csp = response
                .header("content-security-policy")
                .unwrap_or_default();
            assert!(
                csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
                "{path}: {csp}"
            );
            assert_eq!(
                response.header("x-content-type-options"),
                Some("nosniff"),
                "{path}"
            );
            assert!(response.header("referrer-policy").is_some(), "{path}");
        }
    }
);

/// A thread's stored view count, as the database has it now.
async fn views_of(app: &TestApp, thread: i64) -> Option<i64> {
    app.store()
        .thread(agora_store::ThreadId(thread))
        .await
        .ok()
        .flatten()
        .map(|t| t.summary.view_count)
}

both!(
    async fn views_are_buffered_then_written_in_a_batch(b: Backend) {
        let app = TestApp::demo(b).await;
        let before = views_of(&app, 5).await;
        let reader = |n: u32| format!("Mozilla/5.0 (reader {n})");
        // The first visit (through the redirect from /thread/5) counts once.
        let (url, _) = app.follow("/thread/5").await;
        // Two more readers count; the first coming back the same day does not.
        app.request(&url, &[("user-agent", &reader(1))]).await;
        app.request(&url, &[("user-agent", &reader(2))]).await;
        app.request(&url, &[("user-agent", &reader(1))]).await;
        // Nothing written yet: the count lives in memory.
        let during = views_of(&app, 5).await;
        assert_eq!(during, before);
        assert_eq!(app.state.views.pending(), 3);
        // Crawlers are not readers.
        app.request(
            &url,
            &[("user-agent", "Mozilla/5.0 (compatible; Googlebot/2.1)")],
        )
        .await;
        // A HEAD request, answered 304 or not, is nobody reading the thread.
        let etag = app
            .request(&url, &[("user-agent", &reader(3))])
            .await
            .header("etag")
            .unwrap_or_default()
            .to_string();
        app.send("HEAD", &url, &[("if-none-match", &etag)]).await;
        app.send("HEAD", &url, &[]).await;
        assert_eq!(app.state.views.pending(), 4);
        // A signed-in reader counts once per account, whatever their browser says.
        let reader_account = app.person("reader5", agora_store::Role::Member).await;
        for n in 10..13 {
            app.request(
                &url,
                &[
                    ("cookie", reader_account.cookie.as_str()),
                    ("user-agent", &reader(n)),
                ],
            )
            .await;
        }
        assert_eq!(app.state.views.pending(), 5);
        app.state
            .flush_views()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let after = views_of(&app, 5).await;
        assert_eq!(after, before.map(|v| v + 5));
        assert_eq!(app.state.views.pending(), 0);
        // Another node (another store on the same database) adds; it never overwrites.
        let other = app.reopen_store().await;
        other
            .add_views(vec![(agora_store::ThreadId(5), 10)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let merged = views_of(&app, 5).await;
        assert_eq!(merged, before.map(|v| v + 15));
    }
);

both!(
    async fn api_errors_are_json_with_stable_codes(b: Backend) {
        let app = TestApp::demo(b).await;
        let response = app.get("/api/v1/threads/999").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.json()["error"]["code"], "not_found");
        let response = app
            .get("/api/v1/topics/app-system-services/networking/threads?sortBy=hot")
            .await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        let body = response.json();
        assert_eq!(body["error"]["code"], "bad_request");
        assert_eq!(body["error"]["param"], "sortBy");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("views")
        );
        let response = app.get("/api/v1/nothing/here").await;
        assert_eq!(response.status, StatusCode::NOT_FOUND);
        assert_eq!(response.json()["error"]["code"], "not_found");
    }
);

both!(
    async fn api_reads_match_the_pages(b: Backend) {
        let app = TestApp::demo(b).await;
        let listing = app
            .ok("/api/v1/topics/app-system-services/networking/threads")
            .await
            .json();
        assert_eq!(listing["subtopic"]["name"], "Networking");
        assert_eq!(
            listing["listing"]["pinned"].as_array().map(Vec::len),
            Some(2)
        );
        assert_eq!(
            listing["listing"]["threads"].as_array().map(Vec::len),
            Some(15)
        );
        assert_eq!(listing["listing"]["state"]["sortBy"], "activity");
        let first = &listing["listing"]["pinned"][1];
        assert_eq!(first["views"], 124318);
        assert_eq!(first["pinned"], "subtopic");
        let thread = app.ok("/api/v1/threads/6").await.json();
        assert_eq!(thread["posts"].as_array().map(Vec::len), Some(6));
        assert_eq!(thread["accepted_answer"]["post_id"], 15);
        assert!(
            thread["posts"][0]["body_html"]
                .as_str()
                .unwrap_or("")
                .contains("<p>")
        );
        let user = app.ok("/api/v1/users/javery").await.json();
        assert_eq!(user["user"]["staff_title"], "Developer Technical Support");
        let revisions = app.ok("/api/v1/posts/1/revisions").await.json();
        assert_eq!(revisions["revisions"].as_array().map(Vec::len), Some(4));
        let tag = app
            .ok("/api/v1/tags/quic/threads?sortBy=replies")
            .await
            .json();
        assert!(
            tag["listing"]["threads"]
                .as_array()
                .is_some_and(|t| !t.is_empty())
        );
        let tags = app.ok("/api/v1/tags").await.json();
        assert_eq!(tags.as_array().map(Vec::len), Some(14));
        let health = app.ok("/healthz").await.json();
        assert_eq!(health["status"], "ok");
        assert!(health["change_head"].as_i64().unwrap_or(0) >= 25);
    }
);

both!(
    /// The API and the pages share paths once `/api/v1` is stripped by nesting; their cached
    /// responses must not.
    async fn api_and_pages_never_share_a_cache_entry(b: Backend) {
        let app = TestApp::demo(b).await;
        for path in ["/tags?x=1", "/users/javery", "/posts/1/revisions"] {
            let api = app.ok(&format!("/api/v1{path}")).await;
            assert_eq!(
                api.header("content-type"),
                Some("application/json"),
                "{path}"
            );
            let page = app.ok(path).await;
            assert_eq!(
                page.header("content-type"),
                Some("text/html; charset=utf-8"),
                "{path}"
            );
            let api = app.ok(&format!("/api/v1{path}")).await;
            assert_eq!(
                api.header("content-type"),
                Some("application/json"),
                "{path}"
            );
        }
    }
);

both!(
    /// Whatever carries an account's email address is never stored by a browser or a proxy:
    /// the API's `/me` and the settings page.
    async fn answers_with_an_email_are_not_stored(b: Backend) {
        let app = TestApp::demo(b).await;
        let person = app.person("quinn", agora_store::Role::Member).await;
        let token = app.api_token(&person, "read").await;
        let me = app.api("GET", "/api/v1/me", Some(&token), None).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.text());
        assert_eq!(me.json()["email"], "quinn@example.test");
        let cache = me.header("cache-control").unwrap_or_default();
        assert!(cache.contains("no-store"), "/api/v1/me: {cache:?}");
        let settings = app.get_as("/settings", &person).await;
        assert_eq!(settings.status, StatusCode::OK);
        assert!(settings.text().contains("quinn@example.test"));
        let cache = settings.header("cache-control").unwrap_or_default();
        assert!(cache.contains("no-store"), "/settings: {cache:?}");
        // Public reads keep their own revalidation.
        let areas = app.ok("/api/v1/areas").await;
        assert_eq!(areas.header("cache-control"), Some("no-cache"));
    }
);

/// HSTS is configured, off by default, and only sent for an https address.
#[tokio::test]
async fn hsts_is_sent_only_when_configured_for_https() {
    let paths = ["/", "/api/v1/areas", "/api/v1/nowhere", "/healthz"];
    let app = TestApp::configured(Backend::Sqlite, |_| {}).await;
    for path in paths {
        let response = app.get(path).await;
        assert_eq!(response.header("strict-transport-security"), None, "{path}");
    }
    let plain = TestApp::configured(Backend::Sqlite, |c| c.site.hsts_max_age_secs = 600).await;
    assert_eq!(
        plain.get("/").await.header("strict-transport-security"),
        None
    );
    let app = TestApp::configured(Backend::Sqlite, |c| {
        c.site.base_url = "https://forum.example.com".into();
        c.site.hsts_max_age_secs = 31_536_000;
    })
    .await;
    for path in paths {
        let response = app.get(path).await;
        assert_eq!(
            response.header("strict-transport-security"),
            Some("max-age=31536000"),
            "{path}"
        );
    }
}

/// A request still running at the deadline is answered 503 `timeout` with the JSON error (or
/// the HTML page), not an empty body. The clock is paused, so this takes no real time.
#[tokio::test(start_paused = true)]
async fn a_request_past_the_deadline_gets_a_clear_503() {
    use axum::body::Body;
    use axum::http::Request;
    use http_body_util::BodyExt;
    use tower::ServiceExt;
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3_600)).await;
                "never"
            }),
        )
        .layer(axum::middleware::from_fn(agora::error::deadline))
        .layer(axum::middleware::from_fn(agora::error::api_errors));
    let response = app
        .oneshot(
            Request::get("/slow")
                .body(Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(response.headers().get("retry-after").is_some());
    let body = response
        .into_body()
        .collect()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(json["error"]["code"], "timeout", "{json}");
}

both!(
    /// Single flight: fifty readers asking at once for a page the cache just lost get it from
    /// one render.
    async fn a_missed_page_is_rendered_once_for_many_readers(b: Backend) {
        let app = TestApp::demo(b).await;
        let (url, first) = app.follow("/thread/7").await;
        assert_eq!(first.status, StatusCode::OK);
        app.state.cache.invalidate();
        let before = app.state.cache.renders();
        let answers = futures_util::future::join_all((0..50).map(|_| app.get(&url))).await;
        assert!(answers.iter().all(|a| a.status == StatusCode::OK));
        assert!(answers.iter().all(|a| a.body == answers[0].body));
        assert_eq!(
            app.state.cache.renders() - before,
            1,
            "rendered more than once"
        );
    }
);
