//! Areas, subtopics and tags as administrators run them (`/admin/structure`, `/admin/tags`,
//! `/api/v1/admin/...`, `agora area|subtopic|tag`): each action through the form, the API
//! and the CLI, with who may do it; refused input named by field with nothing changed; old
//! addresses answering 308; the subtopic rules when starting a thread; counters and the
//! search index kept right by merges, renames and moves.

use agora_store::{Cursor, Role};
use axum::http::StatusCode;
use serde_json::json;

use crate::util::{Person, TestApp, TestResponse, attrs, both, texts};

const NETWORKING: &str = "app-system-services/networking";

fn location(response: &TestResponse) -> String {
    response.header("location").unwrap_or_default().to_string()
}

fn assert_done(response: &TestResponse, what: &str) -> String {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{what}: {}",
        response.text()
    );
    let to = location(response);
    assert!(to.contains("?done="), "{what}: redirected to {to}");
    to
}

/// A refused form: 400, the field named in the summary and at the field, marked invalid.
fn assert_field_error(response: &TestResponse, field: &str, says: &str) {
    assert_eq!(
        response.status,
        StatusCode::BAD_REQUEST,
        "{}",
        response.text()
    );
    let html = response.html();
    let summary = attrs(&html, ".error-summary a", "href");
    assert!(
        summary.contains(&format!("#f-{field}")),
        "summary links {summary:?}, not #f-{field}"
    );
    let message = texts(&html, &format!("#e-{field}"));
    assert!(
        message.iter().any(|m| m.contains(says)),
        "#e-{field} says {message:?}, not {says:?}"
    );
    let described = attrs(&html, &format!("#f-{field}"), "aria-describedby");
    assert!(
        described
            .iter()
            .any(|d| d.split(' ').any(|id| id == format!("e-{field}"))),
        "#f-{field} is not described by its error: {described:?}"
    );
    let invalid = attrs(&html, &format!("#f-{field}"), "aria-invalid");
    assert_eq!(invalid, ["true"]);
}

async fn audit_actions(app: &TestApp) -> Vec<(String, String)> {
    app.store()
        .audit_log(Cursor::Start, 50)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .rows
        .into_iter()
        .map(|r| (r.action, r.details))
        .collect()
}

async fn subtopic_id(app: &TestApp, path: &str) -> i64 {
    let (area, sub) = path.split_once('/').unwrap_or((path, ""));
    app.store()
        .subtopic(area, sub)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no subtopic {path}"))
        .id
        .0
}

async fn area_id(app: &TestApp, slug: &str) -> i64 {
    app.store()
        .areas()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .find(|a| a.slug == slug)
        .unwrap_or_else(|| panic!("no area {slug}"))
        .id
        .0
}

async fn tag_count(app: &TestApp, slug: &str) -> Option<i64> {
    app.store()
        .tag(slug)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|t| t.thread_count)
}

async fn start_thread(
    app: &TestApp,
    who: &Person,
    subtopic: &str,
    title: &str,
    tags: &str,
) -> TestResponse {
    app.post_form(
        "/new",
        Some(&who.cookie),
        &[
            ("subtopic", subtopic),
            ("title", title),
            ("tags", tags),
            ("kind", "question"),
            (
                "body",
                "What I tried, what happened, and what I expected instead.",
            ),
        ],
    )
    .await
}

both!(
    async fn areas_and_subtopics_through_the_forms(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let c = Some(admin.cookie.as_str());

        // Create an area and a subtopic in it.
        let r = app
            .post_form(
                "/admin/structure/areas",
                c,
                &[
                    ("slug", "community"),
                    ("name", "Community"),
                    ("description", "Meet-ups"),
                ],
            )
            .await;
        assert_done(&r, "create area");
        let community = area_id(&app, "community").await;
        let r = app
            .post_form(
                "/admin/structure/subtopics",
                c,
                &[
                    ("area", "community"),
                    ("slug", "events"),
                    ("name", "Events"),
                    ("description", "What is on"),
                    ("docs_url", "https://example.com/events"),
                ],
            )
            .await;
        assert_done(&r, "create subtopic");
        app.ok("/topics/community/events").await;
        let overview = app.get_as("/admin/structure", &admin).await;
        assert_eq!(overview.status, StatusCode::OK);
        assert!(overview.text().contains("Events"));

        // Rename it: the old address, its feed and its API listing answer 308 to the new.
        let events = subtopic_id(&app, "community/events").await;
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{events}"),
                c,
                &[
                    ("area", "community"),
                    ("slug", "meetups"),
                    ("name", "Meet-ups"),
                    ("description", "What is on"),
                    ("docs_url", ""),
                ],
            )
            .await;
        assert_done(&r, "rename subtopic");
        for (old, new) in [
            (
                "/topics/community/events?sortBy=newest",
                "/topics/community/meetups?sortBy=newest",
            ),
            (
                "/topics/community/events/feed.rss",
                "/topics/community/meetups/feed.rss",
            ),
            (
                "/api/v1/topics/community/events/threads",
                "/api/v1/topics/community/meetups/threads",
            ),
        ] {
            let r = app.get(old).await;
            assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{old}");
            assert_eq!(location(&r), new, "{old}");
        }
        // An area renamed: its subtopics' old addresses follow.
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}"),
                c,
                &[
                    ("slug", "people"),
                    ("name", "People"),
                    ("description", "Meet-ups"),
                ],
            )
            .await;
        assert_done(&r, "rename area");
        let r = app.get("/topics/community/meetups").await;
        assert_eq!(location(&r), "/topics/people/meetups");
        let r = app.get("/topics/community/events").await;
        assert_eq!(location(&r), "/topics/people/meetups");
        // Renamed back: the old name is the live one again, no loop.
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}"),
                c,
                &[
                    ("slug", "community"),
                    ("name", "Community"),
                    ("description", ""),
                ],
            )
            .await;
        assert_done(&r, "rename the area back");
        app.ok("/topics/community/meetups").await;
        assert_eq!(
            location(&app.get("/topics/people/meetups").await),
            "/topics/community/meetups"
        );

        // Reorder: the new area moves up one place.
        let before: Vec<String> = app
            .store()
            .areas()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|a| a.slug)
            .collect();
        assert_eq!(before.last().map(String::as_str), Some("community"));
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}/move"),
                c,
                &[("direction", "up")],
            )
            .await;
        assert_done(&r, "move area");
        let after: Vec<String> = app
            .store()
            .areas()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|a| a.slug)
            .collect();
        assert_eq!(after[after.len() - 2], "community", "{after:?}");

        // A subtopic holding threads cannot be deleted: the page says to move them first.
        let networking = subtopic_id(&app, NETWORKING).await;
        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{networking}/delete"),
                c,
                &[],
            )
            .await;
        assert_field_error(&r, "delete", "move them to another subtopic first");
        assert_eq!(
            app.store()
                .change_head()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            head
        );

        // Move every thread to the new subtopic: one audited action, counters follow.
        let moving = app
            .store()
            .subtopic("app-system-services", "networking")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("gone"));
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{networking}/move-threads"),
                c,
                &[("move_to", "community/meetups")],
            )
            .await;
        assert_done(&r, "move threads");
        let from = app
            .store()
            .subtopic("app-system-services", "networking")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("gone"));
        let to = app
            .store()
            .subtopic("community", "meetups")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("gone"));
        assert_eq!((from.thread_count, from.post_count), (0, 0));
        assert_eq!(
            (to.thread_count, to.post_count),
            (moving.thread_count, moving.post_count)
        );
        assert_eq!(to.last_activity_at, moving.last_activity_at);
        let audit = audit_actions(&app).await;
        assert!(
            audit
                .iter()
                .any(|(a, d)| a == "subtopic.move_threads" && d.contains("community/meetups")),
            "{audit:?}"
        );
        let listing = app.ok("/topics/community/meetups").await;
        assert!(
            listing.text().contains("thread/"),
            "the threads are listed where they went"
        );

        // Now empty, it can be deleted; an area with subtopics cannot.
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{networking}/delete"),
                c,
                &[],
            )
            .await;
        assert_done(&r, "delete the empty subtopic");
        assert_eq!(
            app.get("/topics/app-system-services/networking")
                .await
                .status,
            StatusCode::NOT_FOUND
        );
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}/delete"),
                c,
                &[],
            )
            .await;
        assert_field_error(&r, "delete", "delete or move them first");

        // Archive: off the home page, read-only; back again.
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}/archive"),
                c,
                &[("archived", "1")],
            )
            .await;
        assert_done(&r, "archive");
        let home = app.ok("/").await.text();
        assert!(
            !home.contains("/topics/community/"),
            "archived area on the home page"
        );
        let page = app.ok("/topics/community/meetups").await.text();
        assert!(
            page.contains("archived"),
            "the archived subtopic does not say so"
        );
        let r = app
            .post_form(
                &format!("/admin/structure/areas/{community}/archive"),
                c,
                &[("archived", "0")],
            )
            .await;
        assert_done(&r, "unarchive");
        assert!(
            app.ok("/")
                .await
                .text()
                .contains("/topics/community/meetups")
        );
    }
);

both!(
    async fn refused_input_is_named_and_kept(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let c = Some(admin.cookie.as_str());
        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        // A slug clash.
        let r = app
            .post_form(
                "/admin/structure/areas",
                c,
                &[
                    ("slug", "app-system-services"),
                    ("name", "Clash Typed"),
                    ("description", "kept text"),
                ],
            )
            .await;
        assert_field_error(&r, "slug", "already has the address");
        let html = r.html();
        assert_eq!(attrs(&html, "#f-name", "value"), ["Clash Typed"]);
        assert_eq!(texts(&html, "#f-description"), ["kept text"]);

        // A documentation link that is not http(s), and a control character in a name.
        let r = app
            .post_form(
                "/admin/structure/subtopics",
                c,
                &[
                    ("area", "app-system-services"),
                    ("slug", "scripts"),
                    ("name", "Bad\u{7}name"),
                    ("description", ""),
                    ("docs_url", "javascript:alert(1)"),
                ],
            )
            .await;
        assert_field_error(&r, "docs_url", "https://");
        assert_field_error(&r, "name", "control character");
        assert_eq!(
            attrs(&r.html(), "#f-docs_url", "value"),
            ["javascript:alert(1)"]
        );

        // A bad slug, and a subtopic renamed onto its sibling's address.
        let r = app
            .post_form(
                "/admin/tags",
                c,
                &[("slug", "Has Spaces"), ("name", ""), ("description", "")],
            )
            .await;
        assert_field_error(&r, "slug", "lower-case");
        let storage = subtopic_id(&app, "app-system-services/storage").await;
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{storage}"),
                c,
                &[
                    ("area", "app-system-services"),
                    ("slug", "networking"),
                    ("name", "Storage"),
                    ("description", ""),
                    ("docs_url", ""),
                ],
            )
            .await;
        assert_field_error(&r, "slug", "already has the address");

        // Merging a tag into itself.
        let r = app
            .post_form("/admin/tags/quic/merge", c, &[("into", "quic")])
            .await;
        assert_field_error(&r, "into", "into itself");
        assert_eq!(attrs(&r.html(), "#f-into", "value"), ["quic"]);

        assert_eq!(
            app.store()
                .change_head()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            head,
            "a refused change wrote something"
        );
    }
);

both!(
    async fn tags_through_the_forms(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let c = Some(admin.cookie.as_str());

        let r = app
            .post_form(
                "/admin/tags",
                c,
                &[
                    ("slug", "http3"),
                    ("name", "HTTP/3"),
                    ("description", "The web over QUIC"),
                ],
            )
            .await;
        assert_done(&r, "create tag");
        assert_eq!(tag_count(&app, "http3").await, Some(0));
        let list = app.get_as("/admin/tags", &admin).await;
        assert!(list.text().contains("http3"));

        // Rename: the old address and its feeds follow.
        let quic = tag_count(&app, "quic").await.unwrap_or_default();
        assert!(quic > 0);
        let r = app
            .post_form(
                "/admin/tags/quic",
                c,
                &[
                    ("slug", "quic-transport"),
                    ("name", "QUIC"),
                    ("description", ""),
                ],
            )
            .await;
        assert_done(&r, "rename tag");
        for (old, new) in [
            ("/tags/quic", "/tags/quic-transport"),
            ("/tags/quic/feed.atom", "/tags/quic-transport/feed.atom"),
            (
                "/api/v1/tags/quic/threads?page=1",
                "/api/v1/tags/quic-transport/threads?page=1",
            ),
        ] {
            let r = app.get(old).await;
            assert_eq!(r.status, StatusCode::PERMANENT_REDIRECT, "{old}");
            assert_eq!(location(&r), new);
        }
        assert_eq!(tag_count(&app, "quic-transport").await, Some(quic));

        // Merge it into "network": threads carrying both keep one, counters stay right, and
        // the old addresses (both of them) lead to "network".
        let network = tag_count(&app, "network").await.unwrap_or_default();
        let r = app
            .post_form(
                "/admin/tags/quic-transport/merge",
                c,
                &[("into", "network")],
            )
            .await;
        assert_done(&r, "merge");
        assert_eq!(tag_count(&app, "quic-transport").await, None);
        let merged = tag_count(&app, "network").await.unwrap_or_default();
        assert!(
            merged >= network && merged <= network + quic,
            "{network} + {quic} -> {merged}"
        );
        // Every stored counter agrees with the rows (no duplicate thread_tags rows either:
        // the count is of rows).
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
        assert_eq!(location(&app.get("/tags/quic").await), "/tags/network");
        assert_eq!(
            location(&app.get("/tags/quic-transport").await),
            "/tags/network"
        );

        // Delete: off every thread.
        let r = app.post_form("/admin/tags/network/delete", c, &[]).await;
        assert_done(&r, "delete tag");
        assert_eq!(tag_count(&app, "network").await, None);
        assert_eq!(app.get("/tags/network").await.status, StatusCode::NOT_FOUND);
        let audit = audit_actions(&app).await;
        for action in ["tag.create", "tag.rename", "tag.merge", "tag.delete"] {
            assert!(
                audit.iter().any(|(a, _)| a == action),
                "{action}: {audit:?}"
            );
        }
    }
);

both!(
    async fn a_renamed_tag_is_what_search_filters_by(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let before = app.search_titles("tag:bonjour").await;
        assert!(!before.is_empty());
        let r = app
            .post_form(
                "/admin/tags/bonjour",
                Some(&admin.cookie),
                &[
                    ("slug", "zeroconf"),
                    ("name", "Zeroconf"),
                    ("description", ""),
                ],
            )
            .await;
        assert_done(&r, "rename");
        let mut after = app.search_titles("tag:zeroconf").await;
        let mut before = before;
        after.sort();
        before.sort();
        assert_eq!(after, before, "the renamed tag finds the same threads");
        assert!(app.search_titles("tag:bonjour").await.is_empty());
    }
);

both!(
    async fn the_api_does_the_same(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let token = app.api_token(&admin, "admin").await;
        let t = Some(token.as_str());

        let r = app.api("GET", "/api/v1/admin/areas", t, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json().as_array().map_or(0, Vec::len), 2);

        let r = app
            .api(
                "POST",
                "/api/v1/admin/areas",
                t,
                Some(json!({"slug": "news", "name": "News"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let area = r.json()["id"].as_i64().unwrap_or_default();
        let r = app
            .api(
                "POST",
                "/api/v1/admin/areas",
                t,
                Some(json!({"slug": "news", "name": "Again"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.json()["error"]["code"], "conflict");
        assert_eq!(r.json()["error"]["param"], "slug");

        let r = app
            .api(
                "POST",
                "/api/v1/admin/subtopics",
                t,
                Some(json!({"area": "news", "slug": "announcements", "name": "Announcements"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let sub = r.json()["id"].as_i64().unwrap_or_default();
        let r = app
            .api(
                "PATCH",
                &format!("/api/v1/admin/subtopics/{sub}"),
                t,
                Some(json!({"who_starts": "staff", "tags_required": false, "docs_url": "ftp://x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["error"]["param"], "docs_url");
        let r = app
            .api(
                "PATCH",
                &format!("/api/v1/admin/subtopics/{sub}"),
                t,
                Some(json!({"who_starts": "staff", "tags_required": false, "allowed_tags": ["quic"]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["who_starts"], "staff");
        assert_eq!(r.json()["allowed_tags"], json!(["quic"]));

        let r = app
            .api(
                "PATCH",
                &format!("/api/v1/admin/areas/{area}"),
                t,
                Some(json!({"name": "Newsroom", "move": "up", "archived": true})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["archived"], true);

        // Move the storage threads there; the emptied subtopic can then go.
        let storage = subtopic_id(&app, "app-system-services/storage").await;
        let r = app
            .api(
                "DELETE",
                &format!("/api/v1/admin/subtopics/{storage}"),
                t,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);
        let r = app
            .api(
                "POST",
                &format!("/api/v1/admin/subtopics/{storage}/move-threads"),
                t,
                Some(json!({"to": "news/announcements"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["moved"], 2);
        let r = app
            .api(
                "DELETE",
                &format!("/api/v1/admin/subtopics/{storage}"),
                t,
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let r = app
            .api("DELETE", &format!("/api/v1/admin/areas/{area}"), t, None)
            .await;
        assert_eq!(r.status, StatusCode::CONFLICT);

        // Tags.
        let r = app
            .api(
                "POST",
                "/api/v1/admin/tags",
                t,
                Some(json!({"slug": "wwdc"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let r = app
            .api(
                "PATCH",
                "/api/v1/admin/tags/wwdc",
                t,
                Some(json!({"slug": "wwdc26", "description": "June"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["slug"], "wwdc26");
        let r = app
            .api(
                "POST",
                "/api/v1/admin/tags/wwdc26/merge",
                t,
                Some(json!({"into": "wwdc26"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(r.json()["error"]["param"], "into");
        let r = app
            .api(
                "POST",
                "/api/v1/admin/tags/wwdc26/merge",
                t,
                Some(json!({"into": "xcode"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let r = app.api("DELETE", "/api/v1/admin/tags/xcode", t, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let r = app.api("GET", "/api/v1/admin/tags", t, None).await;
        assert!(!r.text().contains("\"xcode\""));
    }
);

both!(
    async fn only_administrators(b: Backend) {
        let app = TestApp::demo(b).await;
        let moderator = app.person("mo_moderator", Role::Moderator).await;
        let member = app.person("mia_member", Role::Member).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let networking = subtopic_id(&app, NETWORKING).await;
        let pages = [
            "/admin/structure".to_string(),
            "/admin/structure/areas/new".to_string(),
            format!("/admin/structure/subtopics/{networking}"),
            "/admin/tags".to_string(),
            "/admin/tags/quic".to_string(),
        ];
        for page in &pages {
            assert_eq!(
                app.get_as(page, &admin).await.status,
                StatusCode::OK,
                "{page}"
            );
            for who in [&moderator, &member] {
                let r = app.get_as(page, who).await;
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{page} for {}",
                    who.username
                );
            }
            let r = app.get(page).await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{page} signed out");
            assert!(location(&r).starts_with("/signin"));
        }
        let writes: [(&str, Vec<(&str, &str)>); 4] = [
            ("/admin/structure/areas", vec![("slug", "x"), ("name", "X")]),
            ("/admin/tags", vec![("slug", "x")]),
            ("/admin/tags/quic/merge", vec![("into", "network")]),
            ("/admin/tags/quic/delete", vec![]),
        ];
        for (path, fields) in &writes {
            for who in [&moderator, &member] {
                let r = app.post_form(path, Some(&who.cookie), fields).await;
                assert_eq!(
                    r.status,
                    StatusCode::FORBIDDEN,
                    "{path} by {}",
                    who.username
                );
            }
            assert_eq!(
                app.post_form(path, None, fields).await.status,
                StatusCode::UNAUTHORIZED
            );
        }
        let mod_token = app.api_token(&moderator, "admin").await;
        let write_token = app.api_token(&admin, "write").await;
        let r = app
            .api(
                "POST",
                "/api/v1/admin/tags",
                Some(&mod_token),
                Some(json!({"slug": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["error"]["code"], "forbidden");
        let r = app
            .api(
                "POST",
                "/api/v1/admin/tags",
                Some(&write_token),
                Some(json!({"slug": "x"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["error"]["code"], "insufficient_scope");
        let r = app.api("GET", "/api/v1/admin/areas", None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert_eq!(
            app.store()
                .change_head()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
            head,
            "a refused change wrote something"
        );
    }
);

both!(
    async fn subtopic_rules_when_starting_threads(b: Backend) {
        let app = TestApp::demo(b).await;
        let admin = app.person("ada_admin", Role::Admin).await;
        let staff = app.person("sam_staff", Role::Staff).await;
        let member = app.person("mia_member", Role::Member).await;
        let c = Some(admin.cookie.as_str());
        let storage = subtopic_id(&app, "app-system-services/storage").await;
        let testing = subtopic_id(&app, "developer-tools-services/testing").await;

        // Staff only: a member is refused and not offered it; staff may.
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{storage}/rules"),
                c,
                &[
                    ("who_starts", "staff"),
                    ("tags_required", "1"),
                    ("allowed_tags", ""),
                ],
            )
            .await;
        assert_done(&r, "rules");
        let r = start_thread(
            &app,
            &member,
            "app-system-services/storage",
            "A member's try in announcements",
            "core-data",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(
            r.text().contains("Only staff can start threads"),
            "{}",
            r.text()
        );
        let compose = app.get_as("/new", &member).await.text();
        assert!(!compose.contains("value=\"app-system-services/storage\""));
        assert!(compose.contains("value=\"app-system-services/networking\""));
        let r = start_thread(
            &app,
            &staff,
            "app-system-services/storage",
            "Storage announcement from staff",
            "core-data",
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());

        // Tags optional, and only some allowed.
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{testing}/rules"),
                c,
                &[("who_starts", "everyone"), ("allowed_tags", "xctest xcode")],
            )
            .await;
        assert_done(&r, "rules");
        let r = start_thread(
            &app,
            &member,
            "developer-tools-services/testing",
            "A test question without tags",
            "",
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let r = start_thread(
            &app,
            &member,
            "developer-tools-services/testing",
            "A test question tagged wrongly",
            "xctest quic",
        )
        .await;
        assert_field_error(&r, "tags", "“quic” is not allowed");
        // A tag required where the rules say so, and a missing tag's message names no demo tag.
        let r = start_thread(
            &app,
            &member,
            NETWORKING,
            "A networking question without tags",
            "",
        )
        .await;
        assert_field_error(&r, "tags", "Add at least one tag");
        let r = start_thread(
            &app,
            &member,
            NETWORKING,
            "A networking question with a new tag",
            "webtransport",
        )
        .await;
        assert_field_error(&r, "tags", "There is no tag “webtransport”");
        assert!(!r.text().contains("such as networking"));

        // Members may create tags while writing once the settings say so.
        let mut settings = app.state.site().settings.clone();
        settings.tag_creation = agora::settings::TagCreation::Members;
        settings.tag_creation_min_days = 0;
        // The test config's limit is beyond what the settings form accepts.
        settings.limits.new_account_links = settings.limits.new_account_links.min(1000);
        agora::services::settings::save_as_operator(&app.state, settings)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|e| panic!("{e:?}"));
        let r = start_thread(
            &app,
            &member,
            NETWORKING,
            "A networking question with a new tag",
            "webtransport network",
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(tag_count(&app, "webtransport").await, Some(1));

        // Archived: read-only for everyone, and says so.
        let r = app
            .post_form(
                &format!("/admin/structure/subtopics/{testing}/archive"),
                c,
                &[("archived", "1")],
            )
            .await;
        assert_done(&r, "archive");
        let r = start_thread(
            &app,
            &admin,
            "developer-tools-services/testing",
            "An admin's try in an archive",
            "xctest",
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert!(r.text().contains("archived"), "{}", r.text());
        assert!(
            !app.ok("/")
                .await
                .text()
                .contains("/topics/developer-tools-services/testing")
        );
    }
);

/// The `agora` binary against a data directory.
fn agora(data: &std::path::Path, args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_cli_does_the_same() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let demo = dir.path().join("demo.json");
    std::fs::write(&demo, agora::services::archive::DEMO).unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let ok = |args: &[&str]| {
        let (ok, out, err) = agora(&data, args);
        assert!(ok, "agora {args:?}: {err}");
        out
    };
    ok(&["import", demo.to_str().unwrap_or_default()]);
    ok(&["area", "create", "news", "--name", "News"]);
    ok(&[
        "subtopic",
        "create",
        "news/announcements",
        "--name",
        "Announcements",
    ]);
    ok(&[
        "subtopic",
        "edit",
        "news/announcements",
        "--who-starts",
        "staff",
        "--tags-required",
        "false",
        "--slug",
        "notices",
    ]);
    ok(&[
        "subtopic",
        "move-threads",
        "app-system-services/storage",
        "--to",
        "news/notices",
    ]);
    ok(&["subtopic", "delete", "app-system-services/storage"]);
    ok(&["tag", "create", "wwdc", "--name", "WWDC"]);
    ok(&["tag", "rename", "wwdc", "wwdc26"]);
    ok(&["tag", "merge", "wwdc26", "--into", "xcode"]);
    ok(&["tag", "delete", "xcode"]);
    ok(&["area", "edit", "news", "--move", "up", "--archive", "true"]);
    let list = ok(&["subtopic", "list"]);
    assert!(
        list.contains("news/notices")
            && list.contains("start: staff")
            && list.contains("tags: optional"),
        "{list}"
    );
    assert!(
        list.contains("news/notices\tAnnouncements\t2 threads"),
        "{list}"
    );
    let tags = ok(&["tag", "list"]);
    assert!(!tags.contains("xcode") && !tags.contains("wwdc"), "{tags}");
    let areas = ok(&["area", "list"]);
    assert!(areas.contains("news\tNews (archived)"), "{areas}");

    // Refusals name the field and change nothing.
    let (ok_, _, err) = agora(&data, &["subtopic", "delete", "news/notices"]);
    assert!(
        !ok_ && err.contains("delete: This subtopic holds 2 threads"),
        "{err}"
    );
    let (ok_, _, err) = agora(&data, &["area", "create", "news", "--name", "Again"]);
    assert!(!ok_ && err.contains("slug:"), "{err}");
    let (ok_, _, err) = agora(&data, &["tag", "merge", "quic", "--into", "quic"]);
    assert!(!ok_ && err.contains("into:"), "{err}");
}
