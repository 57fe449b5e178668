//! The moderators' lists page through everything: every open flag is reachable in the review
//! queue (`/review` and `GET /api/v1/flags`), oldest first, with no duplicates, forwards and
//! back; the audit log (`/audit`, `GET /api/v1/audit`) likewise, newest first. The header's
//! "Review" link shows each moderator the current count of open flags, on cached pages too.

use agora_store::archive::{Area, AuditEntry, Flag, FlagResolution, Post, Subtopic, Thread, User};
use agora_store::{Archive, Role, ThreadKind, Timestamp};
use axum::http::StatusCode;
use serde_json::Value;

use crate::util::{Person, TestApp, attrs, both, texts};

const OPEN_FLAGS: usize = 250;
const RESOLVED_FLAGS: usize = 10;
const AUDIT_ENTRIES: usize = 250;
const THREADS: usize = 10;

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_micros(1_767_225_600_000_000 + seconds * 1_000_000) // 2026-01-01
}

fn user(name: &str) -> User {
    User {
        username: name.into(),
        display_name: name.into(),
        role: Role::Member,
        staff_title: None,
        signature: String::new(),
        created_at: ts(0),
        account: None,
        avatar: None,
        signature_html: String::new(),
    }
}

/// The reason of open flag `k`: unique, so a page's flags can be told apart by it.
fn reason(k: usize) -> String {
    format!("Report number {k:03}")
}

/// Ten threads; `OPEN_FLAGS` open flags on their posts by 25 reporters, three to a timestamp
/// (so the order must break ties) and stored out of time order (so ids are not the order);
/// some resolved flags among them; `AUDIT_ENTRIES` audit entries.
fn queue_archive() -> Archive {
    let mut archive = Archive::empty();
    archive.areas.push(Area {
        slug: "area".into(),
        name: "Area".into(),
        description: String::new(),
        subtopics: vec![Subtopic {
            slug: "sub".into(),
            name: "Sub".into(),
            description: String::new(),
            docs_url: None,
            ..Default::default()
        }],
        archived_at: None,
    });
    archive.users.push(user("author"));
    for r in 0..OPEN_FLAGS / THREADS {
        archive.users.push(user(&format!("reporter{r:02}")));
    }
    for r in 0..RESOLVED_FLAGS {
        archive.users.push(user(&format!("settled{r:02}")));
    }
    for t in 0..THREADS {
        let id = t as i64 + 1;
        archive.threads.push(Thread {
            id,
            subtopic: "area/sub".into(),
            title: format!("Thread number {id} with flagged posts"),
            kind: ThreadKind::Discussion,
            tags: Vec::new(),
            pinned: None,
            locked: None,
            views: 0,
            accepted_post_id: None,
            recommended_post_id: None,
            posts: vec![Post {
                id,
                author: "author".into(),
                created_at: ts(0),
                body: format!("The opening post of thread {id}."),
                boosts: Vec::new(),
                revisions: Vec::new(),
                deleted: None,
                hidden: None,
                reply_to: None,
                body_html: String::new(),
            }],
            excerpt: String::new(),
        });
    }
    // Archive position i holds open flag k = 7i mod 250 (7 and 250 are coprime).
    for i in 0..OPEN_FLAGS {
        let k = (i * 7) % OPEN_FLAGS;
        archive.flags.push(Flag {
            post_id: (k % THREADS) as i64 + 1,
            user: format!("reporter{:02}", k / THREADS),
            reason: reason(k),
            created_at: ts(1_000 + (k / 3) as i64),
            resolved: None,
        });
        if i % (OPEN_FLAGS / RESOLVED_FLAGS) == 0 {
            let r = i / (OPEN_FLAGS / RESOLVED_FLAGS);
            archive.flags.push(Flag {
                post_id: 1,
                user: format!("settled{r:02}"),
                reason: format!("Already settled {r}"),
                created_at: ts(1_000 + (k / 3) as i64),
                resolved: Some(FlagResolution {
                    at: ts(5_000),
                    by: "author".into(),
                    resolution: "dismiss".into(),
                }),
            });
        }
    }
    for e in 0..AUDIT_ENTRIES {
        archive.audit_log.push(AuditEntry {
            at: ts(2_000 + e as i64),
            actor: "author".into(),
            action: "thread.lock".into(),
            thread_id: Some(1),
            post_id: None,
            target_user: None,
            details: format!("Audit entry {e:03}"),
        });
    }
    archive
}

/// The open flags' reasons in the order the queue must show them: by time, ties by id (the
/// archive's order).
fn expected_reasons(archive: &Archive) -> Vec<String> {
    let mut open: Vec<(Timestamp, usize, String)> = archive
        .flags
        .iter()
        .enumerate()
        .filter(|(_, f)| f.resolved.is_none())
        .map(|(i, f)| (f.created_at, i, f.reason.clone()))
        .collect();
    open.sort_by_key(|(at, i, _)| (*at, *i));
    open.into_iter().map(|(_, _, reason)| reason).collect()
}

/// Follows `rel` links from `start` through the HTML pages; returns each page's address and
/// items.
async fn html_pages(
    app: &TestApp,
    who: &Person,
    start: &str,
    items: &str,
    rel: &str,
) -> Vec<(String, Vec<String>)> {
    let mut pages = Vec::new();
    let mut url = Some(start.to_string());
    while let Some(path) = url {
        assert!(pages.len() < 50, "{start}: the pages never end");
        let response = app.get_as(&path, who).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            response.text()
        );
        let html = response.html();
        url = attrs(&html, &format!("nav.pager a[rel={rel}]"), "href")
            .into_iter()
            .next();
        pages.push((path, texts(&html, items)));
    }
    pages
}

/// Follows the API's `pager.{link}` from `start`; returns each page's address and JSON.
async fn api_pages(app: &TestApp, token: &str, start: &str, link: &str) -> Vec<(String, Value)> {
    let mut pages = Vec::new();
    let mut url = Some(start.to_string());
    while let Some(path) = url {
        assert!(pages.len() < 50, "{start}: the pages never end");
        let response = app.api("GET", &path, Some(token), None).await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "{path}: {}",
            response.text()
        );
        let page = response.json();
        url = page["pager"][link].as_str().map(str::to_string);
        pages.push((path, page));
    }
    pages
}

/// The items of every page, in the list's order (`backwards`: the pages were walked from the
/// end).
fn in_order<T: Clone>(pages: &[(String, Vec<T>)], backwards: bool) -> Vec<T> {
    let mut all: Vec<Vec<T>> = pages.iter().map(|(_, items)| items.clone()).collect();
    if backwards {
        all.reverse();
    }
    all.into_iter().flatten().collect()
}

fn api_items(pages: &[(String, Value)], field: &str) -> Vec<(String, Vec<Value>)> {
    pages
        .iter()
        .map(|(url, page)| {
            (
                url.clone(),
                page[field].as_array().cloned().unwrap_or_default(),
            )
        })
        .collect()
}

/// A page as a signed-in reader sees it, following a redirect to the canonical address.
async fn page_as(app: &TestApp, path: &str, who: &Person) -> scraper::Html {
    let mut response = app.get_as(path, who).await;
    if response.status.is_redirection() {
        let location = response.header("location").unwrap_or_default().to_string();
        response = app.get_as(&location, who).await;
    }
    assert_eq!(
        response.status,
        StatusCode::OK,
        "{path}: {}",
        response.text()
    );
    response.html()
}

/// The reason in a queue item's text ("… Reason: Report number 007 Dismiss …").
fn reason_in(item: &str) -> String {
    item.split("Reason: ")
        .nth(1)
        .and_then(|rest| rest.get(..17))
        .unwrap_or_default()
        .to_string()
}

fn review_link(html: &scraper::Html) -> Option<String> {
    texts(html, "a[href=\"/review\"]").into_iter().next()
}

both!(
    async fn every_open_flag_is_reachable_oldest_first(b: Backend) {
        let archive = queue_archive();
        let expected = expected_reasons(&archive);
        assert_eq!(expected.len(), OPEN_FLAGS);
        let app = TestApp::with_archive(b, archive).await;
        let mona = app.person("mona", Role::Moderator).await;
        let token = app.api_token(&mona, "read").await;

        // The pages, forwards: 50 a page, every flag once, oldest first.
        let pages = html_pages(&app, &mona, "/review", "li.flag", "next").await;
        let sizes: Vec<usize> = pages.iter().map(|(_, items)| items.len()).collect();
        assert_eq!(sizes, vec![50; 5], "flags per page");
        let seen: Vec<String> = in_order(&pages, false)
            .iter()
            .map(|f| reason_in(f))
            .collect();
        assert_eq!(seen, expected, "the queue's pages, forwards");
        let first = app.get_as("/review", &mona).await.html();
        assert!(
            texts(&first, ".lede")
                .iter()
                .any(|t| t.contains("250 open flags")),
            "{:?}",
            texts(&first, ".lede")
        );
        assert!(attrs(&first, "a[rel=prev]", "href").is_empty());

        // And back from the last page.
        let last = pages.last().map(|(url, _)| url.clone()).unwrap_or_default();
        let back = html_pages(&app, &mona, &last, "li.flag", "prev").await;
        let seen: Vec<String> = in_order(&back, true).iter().map(|f| reason_in(f)).collect();
        assert_eq!(seen, expected, "the queue's pages, backwards");

        // The API: the same pages, the same records, both ways.
        let pages = api_pages(&app, &token, "/api/v1/flags", "next_url").await;
        assert!(
            pages.iter().all(|(_, p)| p["open"] == 250),
            "{}",
            pages[0].1["open"]
        );
        let flags = in_order(&api_items(&pages, "flags"), false);
        let reasons: Vec<&str> = flags.iter().filter_map(|f| f["reason"].as_str()).collect();
        assert_eq!(pages.len(), 5);
        assert_eq!(reasons, expected, "the API's pages, forwards");
        let mut ids: Vec<i64> = flags.iter().filter_map(|f| f["id"].as_i64()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), OPEN_FLAGS, "duplicates in the API's pages");
        let times: Vec<&str> = flags
            .iter()
            .filter_map(|f| f["created_at"].as_str())
            .collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "not oldest first");
        let last = pages.last().map(|(url, _)| url.clone()).unwrap_or_default();
        let back = api_pages(&app, &token, &last, "prev_url").await;
        let flags = in_order(&api_items(&back, "flags"), true);
        let reasons: Vec<&str> = flags.iter().filter_map(|f| f["reason"].as_str()).collect();
        assert_eq!(reasons, expected, "the API's pages, backwards");

        // Bad cursors are named.
        for (query, param) in [
            ("after=abc", "after"),
            ("before=0", "before"),
            ("after=999999", "after"),
            ("after=1&before=2", "after"),
        ] {
            let response = app
                .api("GET", &format!("/api/v1/flags?{query}"), Some(&token), None)
                .await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(response.json()["error"]["param"], param, "{query}");
        }
    }
);

both!(
    async fn the_review_link_counts_open_flags_for_each_reader(b: Backend) {
        let app = TestApp::with_archive(b, queue_archive()).await;
        let mona = app.person("mona", Role::Moderator).await;
        let max = app.person("max", Role::Moderator).await;
        let mia = app.person("mia", Role::Member).await;

        // The shared page is cached by an anonymous reader first; each signed-in reader gets
        // their own header spliced in, with the count as it is now.
        for path in ["/", "/topics/area/sub", "/tags", "/review", "/thread/1"] {
            app.get(path).await;
            for who in [&mona, &max] {
                let link = review_link(&page_as(&app, path, who).await);
                assert_eq!(
                    link.as_deref(),
                    Some("Review 250 open flags"),
                    "{path} as {}",
                    who.username
                );
            }
            if path != "/review" {
                let page = page_as(&app, path, &mia).await;
                assert_eq!(review_link(&page), None, "{path} as a member");
            }
        }

        // Resolving a flag from the second page returns to that page, and every header counts
        // one fewer at once.
        let second = attrs(
            &app.get_as("/review", &mona).await.html(),
            "nav.pager a[rel=next]",
            "href",
        )
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no second page"));
        let html = app.get_as(&second, &mona).await.html();
        let action = attrs(&html, "li.flag form", "action")
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no resolve form"));
        let next = attrs(&html, "li.flag form input[name=next]", "value")
            .into_iter()
            .next()
            .unwrap_or_default();
        assert_eq!(next, second);
        let resolved = app
            .post_form(
                &action,
                Some(&mona.cookie),
                &[("resolution", "dismiss"), ("next", &next)],
            )
            .await;
        assert_eq!(
            resolved.status,
            StatusCode::SEE_OTHER,
            "{}",
            resolved.text()
        );
        assert_eq!(resolved.header("location"), Some(second.as_str()));
        for who in [&mona, &max] {
            let page = app.get_as("/", who).await.html();
            assert_eq!(
                review_link(&page).as_deref(),
                Some("Review 249 open flags"),
                "as {}",
                who.username
            );
        }
        let api = app.api_token(&max, "read").await;
        let queue = app
            .api("GET", "/api/v1/flags", Some(&api), None)
            .await
            .json();
        assert_eq!(queue["open"], 249);
    }
);

both!(
    async fn the_audit_log_pages_newest_first(b: Backend) {
        let app = TestApp::with_archive(b, queue_archive()).await;
        let stan = app.person("stan", Role::Staff).await;
        let token = app.api_token(&stan, "read").await;
        // Newest first: making stan staff is audited too (the operator's role change).
        let expected: Vec<String> =
            std::iter::once("member → staff, set at the command line by the operator".to_string())
                .chain(
                    (0..AUDIT_ENTRIES)
                        .rev()
                        .map(|e| format!("Audit entry {e:03}")),
                )
                .collect();

        let cells = "table.audit tbody td:last-child";
        let pages = html_pages(&app, &stan, "/audit", cells, "next").await;
        let sizes: Vec<usize> = pages.iter().map(|(_, items)| items.len()).collect();
        assert_eq!(sizes, vec![100, 100, 51], "entries per page");
        assert_eq!(in_order(&pages, false), expected, "the audit log's pages");
        let last = pages.last().map(|(url, _)| url.clone()).unwrap_or_default();
        let back = html_pages(&app, &stan, &last, cells, "prev").await;
        assert_eq!(
            in_order(&back, true),
            expected,
            "the audit log's pages, backwards"
        );

        let pages = api_pages(&app, &token, "/api/v1/audit", "next_url").await;
        let entries = in_order(&api_items(&pages, "entries"), false);
        let details: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["details"].as_str())
            .collect();
        assert_eq!(details, expected, "the API's audit pages");
        assert_eq!(entries[0]["actor"]["username"], "stan");
        assert_eq!(entries[1]["actor"]["username"], "author");
        let last = pages.last().map(|(url, _)| url.clone()).unwrap_or_default();
        let back = api_pages(&app, &token, &last, "prev_url").await;
        let entries = in_order(&api_items(&back, "entries"), true);
        let details: Vec<&str> = entries
            .iter()
            .filter_map(|e| e["details"].as_str())
            .collect();
        assert_eq!(details, expected, "the API's audit pages, backwards");
    }
);

both!(
    async fn the_api_documents_its_paging_parameters_as_integers(b: Backend) {
        let app = TestApp::with_archive(b, queue_archive()).await;
        let doc = app.ok("/api/v1/openapi.json").await.json();
        for path in ["/api/v1/flags", "/api/v1/audit"] {
            let parameters = doc["paths"][path]["get"]["parameters"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for name in ["before", "after"] {
                let parameter = parameters
                    .iter()
                    .find(|p| p["name"] == name)
                    .unwrap_or_else(|| panic!("{path} does not document {name}"));
                assert_eq!(parameter["in"], "query");
                let kind = &parameter["schema"]["type"];
                let integer = kind == "integer"
                    || kind
                        .as_array()
                        .is_some_and(|k| k.iter().any(|t| t == "integer"));
                assert!(integer, "{path} {name}: {parameter}");
            }
        }
        // The answers match their documented schemas.
        let stan = app.person("stan", Role::Staff).await;
        let token = app.api_token(&stan, "read").await;
        for path in ["/api/v1/flags", "/api/v1/audit"] {
            let body = app.api("GET", path, Some(&token), None).await.json();
            let schema = &doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"];
            crate::openapi::check(&doc, schema, &body, path);
        }
    }
);
