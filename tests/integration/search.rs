//! Search, end to end on both backends: every operator of the query language (filters, dates,
//! orders, phrases, exclusions, CJK, code tokens, stemming), typo correction, malformed queries,
//! what hidden and deleted posts and removed threads leave behind (before and after the index
//! catches up), the results page, its feeds, the OpenSearch description, paging, escaping,
//! similar and related threads, and the index following every kind of write.
//!
//! Each test writes threads with invented words ("quuxoperand") so the demo content cannot
//! interfere, and calls `app.index()` (through `app.search`) after writing, never sleeping.

use agora_store::Role;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::util::{Person, TestApp, TestResponse, attrs, both, texts};

const NET: &str = "app-system-services/networking";
const STORAGE: &str = "app-system-services/storage";

// ---------------------------------------------------------------- helpers

/// A thread a test started.
#[derive(Clone, Debug)]
struct Thread {
    id: i64,
    url: String,
    /// The opening post.
    op: i64,
    title: String,
}

fn expect_status(response: &TestResponse, status: StatusCode, what: &str) {
    assert_eq!(
        response.status,
        status,
        "{what}: expected {status}, got {} — {}",
        response.status,
        response.text().chars().take(1500).collect::<String>()
    );
}

fn location(response: &TestResponse) -> String {
    response.header("location").unwrap_or_default().to_string()
}

/// A thread's id from a URL (`/thread/{id}/{slug}…`, absolute or not).
fn thread_id(url: &str) -> i64 {
    url.split_once("/thread/")
        .and_then(|(_, rest)| rest.split(['/', '#', '?']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a thread URL: {url:?}"))
}

/// Starts a thread through the compose form.
async fn start_in(
    app: &TestApp,
    who: &Person,
    subtopic: &str,
    tags: &str,
    kind: &str,
    title: &str,
    body: &str,
) -> Thread {
    let response = app
        .post_form(
            "/new",
            Some(&who.cookie),
            &[
                ("subtopic", subtopic),
                ("title", title),
                ("tags", tags),
                ("kind", kind),
                ("body", body),
            ],
        )
        .await;
    expect_status(
        &response,
        StatusCode::SEE_OTHER,
        &format!("start {title:?}"),
    );
    let url = location(&response);
    let id = thread_id(&url);
    // The API, not the page: rendering the page would look for related threads (and keep
    // what it found) before the test brings the index up to date.
    let read = app.ok(&format!("/api/v1/threads/{id}")).await.json();
    let op = read["posts"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no opening post in {read}"));
    Thread {
        id,
        url,
        op,
        title: title.to_string(),
    }
}

/// Starts a question in Networking tagged `network`.
/// Runs the related-threads sweep until a step finds nothing; how many lists it found.
async fn sweep_until_idle(
    search: &agora::services::search::Search,
    store: &agora_store::Store,
    sweep: &mut agora::services::search::Sweep,
) -> usize {
    let mut found = 0;
    loop {
        let step = search
            .sweep_related(store, sweep)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        if step == 0 {
            return found;
        }
        found += step;
    }
}

async fn start(app: &TestApp, who: &Person, title: &str, body: &str) -> Thread {
    start_in(app, who, NET, "network", "question", title, body).await
}

/// Replies through the form; returns the new post's id.
async fn reply(app: &TestApp, who: &Person, thread: &Thread, body: &str) -> i64 {
    let response = app
        .post_form(
            &format!("/thread/{}/reply", thread.id),
            Some(&who.cookie),
            &[("body", body)],
        )
        .await;
    expect_status(&response, StatusCode::SEE_OTHER, "reply");
    let url = location(&response);
    url.rsplit_once("#post-")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("the reply redirect has no #post- anchor: {url:?}"))
}

/// A form post that must succeed (303).
async fn act(app: &TestApp, who: &Person, path: &str, fields: &[(&str, &str)]) {
    let response = app.post_form(path, Some(&who.cookie), fields).await;
    expect_status(&response, StatusCode::SEE_OTHER, path);
}

/// Thread titles of a search API answer, best first.
fn titles(found: &Value) -> Vec<String> {
    found["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {found}"))
        .iter()
        .map(|r| r["thread"]["title"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The snippets of a search API answer.
fn snippets(found: &Value) -> Vec<String> {
    found["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results array: {found}"))
        .iter()
        .map(|r| r["snippet_html"].as_str().unwrap_or("").to_string())
        .collect()
}

fn sorted(mut list: Vec<String>) -> Vec<String> {
    list.sort();
    list
}

/// Indexes, searches, and checks the set of titles found (order not checked).
async fn expect_found(app: &TestApp, q: &str, want: &[&Thread]) {
    let got = sorted(app.search_titles(q).await);
    let want = sorted(want.iter().map(|t| t.title.clone()).collect());
    assert_eq!(got, want, "search {q:?}");
}

/// Searches through the API *without* bringing the index up to date first.
async fn search_unindexed(app: &TestApp, q: &str) -> Value {
    let path = format!("/api/v1/search?q={}", agora::paths::encode_query(q));
    let response = app.get(&path).await;
    expect_status(&response, StatusCode::OK, &path);
    response.json()
}

/// `/api/v1/similar` titles for a title (and body).
async fn similar(app: &TestApp, title: &str, body: &str) -> Vec<Value> {
    let path = format!(
        "/api/v1/similar?title={}&body={}",
        agora::paths::encode_query(title),
        agora::paths::encode_query(body)
    );
    let response = app.ok(&path).await;
    response.json()["threads"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("{path}: no threads array: {}", response.text()))
}

fn summary_titles(threads: &[Value]) -> Vec<String> {
    threads
        .iter()
        .map(|t| t["title"].as_str().unwrap_or("").to_string())
        .collect()
}

/// The ids of the threads listed in a thread page's "Related threads".
async fn related_ids(app: &TestApp, thread: &Thread) -> Vec<i64> {
    let page = app.ok(&thread.url).await.html();
    attrs(&page, "aside.related li a", "href")
        .iter()
        .map(|href| thread_id(href))
        .collect()
}

/// A search feed, parsed.
async fn search_feed(app: &TestApp, q: &str, format: &str) -> feed_rs::model::Feed {
    let path = format!("/search/feed.{format}?q={}", agora::paths::encode_query(q));
    let response = app.ok(&path).await;
    let mime = if format == "rss" {
        "application/rss+xml; charset=utf-8"
    } else {
        "application/atom+xml; charset=utf-8"
    };
    assert_eq!(response.header("content-type"), Some(mime), "{path}");
    feed_rs::parser::parse(response.body.as_slice()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn feed_titles(feed: &feed_rs::model::Feed) -> Vec<String> {
    feed.entries
        .iter()
        .map(|e| {
            e.title
                .as_ref()
                .map(|t| t.content.clone())
                .unwrap_or_default()
        })
        .collect()
}

/// Everything a feed says about its entries (titles, links, content), for "never shows" checks.
fn feed_text(feed: &feed_rs::model::Feed) -> String {
    feed.entries
        .iter()
        .map(|e| {
            format!(
                "{} {} {} {}",
                e.title.as_ref().map(|t| t.content.as_str()).unwrap_or(""),
                e.links.iter().map(|l| l.href.as_str()).collect::<String>(),
                e.summary.as_ref().map(|t| t.content.as_str()).unwrap_or(""),
                e.content
                    .as_ref()
                    .and_then(|c| c.body.as_deref())
                    .unwrap_or("")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The search page for `q`, which must answer 200.
async fn search_page(app: &TestApp, q: &str) -> scraper::Html {
    app.ok(&format!("/search?q={}", agora::paths::encode_query(q)))
        .await
        .html()
}

/// The forum's people: two members, a moderator and a staff member.
struct People {
    ann: Person,
    ben: Person,
    moe: Person,
    sam: Person,
}

async fn people(app: &TestApp) -> People {
    People {
        ann: app.person("ann", Role::Member).await,
        ben: app.person("ben", Role::Member).await,
        moe: app.person("moe", Role::Moderator).await,
        sam: app.person("sam", Role::Staff).await,
    }
}

// ---------------------------------------------------------------- the query language

both!(
    async fn filters_by_tag_subtopic_author_and_state(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        // Solved: ben's answer, accepted by ann.
        let solved = start_in(
            &app,
            &p.ann,
            NET,
            "quic",
            "question",
            "Operators: the solved one",
            "quuxoperand opening post of the solved thread.",
        )
        .await;
        let answer = reply(&app, &p.ben, &solved, "quuxoperand: the answer, by ben.").await;
        act(&app, &p.ann, &format!("/posts/{answer}/accept"), &[]).await;
        // Staff answered, in Storage.
        let staff = start_in(
            &app,
            &p.ann,
            STORAGE,
            "security",
            "question",
            "Operators: the staff-answered one",
            "quuxoperand opening post of the staff thread.",
        )
        .await;
        reply(&app, &p.sam, &staff, "Staff here: quuxoperand is expected.").await;
        // Unanswered, by ben.
        let unanswered = start_in(
            &app,
            &p.ben,
            NET,
            "network",
            "discussion",
            "Operators: the unanswered one",
            "quuxoperand opening post nobody answered.",
        )
        .await;
        // Locked, with a reply that does not hold the word.
        let locked = start_in(
            &app,
            &p.ann,
            NET,
            "quic network",
            "question",
            "Operators: the locked one",
            "quuxoperand opening post of the locked thread.",
        )
        .await;
        reply(
            &app,
            &p.ann,
            &locked,
            "A follow-up without the invented word.",
        )
        .await;
        act(
            &app,
            &p.moe,
            &format!("/thread/{}/lock", locked.id),
            &[("reason", "Done")],
        )
        .await;

        let all = [&solved, &staff, &unanswered, &locked];
        expect_found(&app, "quuxoperand", &all).await;
        expect_found(&app, "quuxoperand tag:quic", &[&solved, &locked]).await;
        expect_found(&app, "quuxoperand tag:QUIC tag:network", &[&locked]).await;
        expect_found(&app, "quuxoperand tag:bonjour", &[]).await;
        expect_found(&app, "quuxoperand in:storage", &[&staff]).await;
        expect_found(
            &app,
            "quuxoperand in:networking",
            &[&solved, &unanswered, &locked],
        )
        .await;
        // author: is the matching post's author (ben's reply matches, so its thread does).
        expect_found(&app, "quuxoperand author:ben", &[&solved, &unanswered]).await;
        expect_found(&app, "quuxoperand author:@Sam", &[&staff]).await;
        expect_found(&app, "quuxoperand author:ann", &[&solved, &staff, &locked]).await;
        expect_found(&app, "quuxoperand author:nobody", &[]).await;
        expect_found(&app, "quuxoperand is:solved", &[&solved]).await;
        expect_found(&app, "quuxoperand is:staff", &[&staff]).await;
        expect_found(&app, "quuxoperand is:unanswered", &[&unanswered]).await;
        expect_found(&app, "quuxoperand is:locked", &[&locked]).await;
        expect_found(&app, "quuxoperand is:solved is:locked", &[]).await;
        expect_found(
            &app,
            "quuxoperand in:networking tag:quic is:locked",
            &[&locked],
        )
        .await;

        // Filters alone are a search too.
        let only_filters = app.search_titles("tag:quic is:locked author:ann").await;
        assert_eq!(only_filters, [locked.title.as_str()], "filters alone");
        let found = app.search("quuxoperand is:solved").await;
        assert_eq!(found["results"][0]["thread"]["solved"], true, "{found}");
        assert!(
            found["notices"].as_array().is_some_and(|n| n.is_empty()),
            "{found}"
        );
    }
);

/// The demo archive plus threads written on chosen days.
fn dated_archive() -> agora_store::Archive {
    let mut archive: Value = serde_json::from_str(agora::services::archive::DEMO)
        .unwrap_or_else(|e| panic!("demo archive: {e}"));
    let post = |id: i64, at: &str, body: &str| {
        json!({"id": id, "author": "bgarner", "created_at": at, "body": body,
               "boosts": [], "revisions": []})
    };
    let thread = |id: i64, title: &str, posts: Vec<Value>| {
        json!({"id": id, "subtopic": NET, "title": title, "kind": "question",
               "tags": ["network"], "pinned": null, "locked": null, "views": 0,
               "accepted_post_id": null, "recommended_post_id": null, "posts": posts})
    };
    let threads = archive["threads"]
        .as_array_mut()
        .unwrap_or_else(|| panic!("no threads in the demo archive"));
    threads.push(thread(
        901,
        "Dated: written in June 2020",
        vec![post(
            9001,
            "2020-06-15T10:00:00Z",
            "quuxdated from the fifteenth of June.",
        )],
    ));
    threads.push(thread(
        902,
        "Dated: written in March 2023",
        vec![post(
            9002,
            "2023-03-01T08:00:00Z",
            "quuxdated from the first of March.",
        )],
    ));
    // Started in 2019 without the word; the word comes in a reply of 2024.
    threads.push(thread(
        903,
        "Dated: started in 2019, answered in 2024",
        vec![
            post(9003, "2019-02-02T12:00:00Z", "An old opening post."),
            post(
                9004,
                "2024-01-10T09:30:00Z",
                "quuxdated in a reply from January 2024.",
            ),
        ],
    ));
    agora::services::archive::parse(&archive.to_string()).unwrap_or_else(|e| panic!("{e:#}"))
}

both!(
    async fn before_and_after_filter_by_the_posts_day(b: Backend) {
        let app = TestApp::with_archive(b, dated_archive()).await;
        let june = "Dated: written in June 2020";
        let march = "Dated: written in March 2023";
        let reply_2024 = "Dated: started in 2019, answered in 2024";
        let cases: &[(&str, &[&str])] = &[
            ("quuxdated", &[june, march, reply_2024]),
            // before: is exclusive, after: inclusive, on the post's own day.
            ("quuxdated before:2020-06-15", &[]),
            ("quuxdated before:2020-06-16", &[june]),
            ("quuxdated after:2020-06-15", &[june, march, reply_2024]),
            ("quuxdated after:2020-06-16", &[march, reply_2024]),
            ("quuxdated after:2021-01-01 before:2024-01-01", &[march]),
            // The reply's date counts, not the thread's.
            ("quuxdated before:2021-01-01", &[june]),
            ("quuxdated after:2024-01-10", &[reply_2024]),
            ("quuxdated after:2024-01-11", &[]),
            // A month or a year alone.
            ("quuxdated after:2023-03 before:2023-04", &[march]),
            ("quuxdated after:2024", &[reply_2024]),
        ];
        for (q, want) in cases {
            let got = sorted(app.search_titles(q).await);
            let want = sorted(want.iter().map(|t| t.to_string()).collect());
            assert_eq!(got, want, "search {q:?}");
        }
        // A post written today is found by after:today, and by before: only from tomorrow.
        let p = app.person("ann", Role::Member).await;
        let day = chrono::Utc::now().date_naive();
        let today = start(
            &app,
            &p,
            "Dated: written today",
            "quuxdated written while the test runs.",
        )
        .await;
        if chrono::Utc::now().date_naive() != day {
            return; // The day turned while the thread was written: nothing certain to check.
        }
        let tomorrow = day.succ_opt().unwrap_or(day);
        expect_found(&app, &format!("quuxdated after:{day}"), &[&today]).await;
        expect_found(&app, &format!("quuxdated after:{tomorrow}"), &[]).await;
        let before_today = app.search_titles(&format!("quuxdated before:{day}")).await;
        assert_eq!(before_today.len(), 3, "{before_today:?}");
        assert!(!before_today.contains(&today.title), "{before_today:?}");
        let before_tomorrow = app
            .search_titles(&format!("quuxdated before:{tomorrow}"))
            .await;
        assert_eq!(before_tomorrow.len(), 4, "{before_tomorrow:?}");
    }
);

both!(
    async fn every_sort_order(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let extra = app.person("eve", Role::Member).await;
        // Created in this order: titled, a, b, c; then a reply to a.
        let titled = start(
            &app,
            &p.ann,
            "Sorting quuxsortable in the title",
            "quuxsortable once.",
        )
        .await;
        let a = start(
            &app,
            &p.ann,
            "Sorting: thread A",
            "The word quuxsortable is in this long opening post, among many other words that \
             dilute it, so that it does not rank first by relevance.",
        )
        .await;
        let b_ = start(
            &app,
            &p.ann,
            "Sorting: thread B",
            "The word quuxsortable is in this long opening post, among many other words that \
             dilute it, so that it does not rank first by relevance.",
        )
        .await;
        let c = start(
            &app,
            &p.ann,
            "Sorting: thread C",
            "The word quuxsortable is in this long opening post, among many other words that \
             dilute it, so that it does not rank first by relevance.",
        )
        .await;
        reply(&app, &p.ben, &a, "A late reply that mentions quuxsortable.").await;
        // Boosts: B twice, C once.
        for who in [&p.ben, &extra] {
            act(&app, who, &format!("/posts/{}/boost", b_.op), &[]).await;
        }
        act(&app, &p.ben, &format!("/posts/{}/boost", c.op), &[]).await;

        let relevance = app.search_titles("quuxsortable").await;
        assert_eq!(relevance.len(), 4, "{relevance:?}");
        assert_eq!(relevance[0], titled.title, "a title match ranks first");
        let same = app.search_titles("quuxsortable sort:relevance").await;
        assert_eq!(same, relevance, "sort:relevance is the default order");

        let activity = app.search_titles("quuxsortable sort:activity").await;
        assert_eq!(
            activity,
            [
                a.title.clone(),
                c.title.clone(),
                b_.title.clone(),
                titled.title.clone()
            ],
            "sort:activity: most recent matching post first"
        );
        let newest = app.search_titles("quuxsortable sort:newest").await;
        assert_eq!(
            newest,
            [
                c.title.clone(),
                b_.title.clone(),
                a.title.clone(),
                titled.title.clone()
            ],
            "sort:newest: newest thread first"
        );
        let boosts = app.search_titles("quuxsortable sort:boosts").await;
        assert_eq!(boosts.len(), 4, "{boosts:?}");
        assert_eq!(
            boosts[..2],
            [b_.title.clone(), c.title.clone()],
            "sort:boosts: most boosted first"
        );

        // The page offers every order and marks the current one.
        let found = app.search("quuxsortable sort:newest").await;
        let sorts = found["sorts"]
            .as_array()
            .unwrap_or_else(|| panic!("no sorts: {found}"));
        let labels: Vec<&str> = sorts.iter().filter_map(|s| s["label"].as_str()).collect();
        assert_eq!(labels, ["relevance", "activity", "newest", "boosts"]);
        let current: Vec<&str> = sorts
            .iter()
            .filter(|s| s["current"] == true)
            .filter_map(|s| s["label"].as_str())
            .collect();
        assert_eq!(current, ["newest"]);
        for s in sorts {
            let url = s["url"].as_str().unwrap_or("");
            assert!(url.starts_with("/search?q=quuxsortable"), "sort link {url}");
        }
    }
);

both!(
    async fn phrases_exclusions_error_codes_and_stemming(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let in_order = start(
            &app,
            &ann,
            "Phrases: words in order",
            "With glorbix the cache invalidation fails on every launch.",
        )
        .await;
        let out_of_order = start(
            &app,
            &ann,
            "Phrases: same words out of order",
            "With glorbix the invalidation of the cache fails on every launch.",
        )
        .await;
        expect_found(
            &app,
            "glorbix cache invalidation",
            &[&in_order, &out_of_order],
        )
        .await;
        expect_found(&app, "glorbix \"cache invalidation\"", &[&in_order]).await;
        expect_found(
            &app,
            "\"invalidation of the cache\" glorbix",
            &[&out_of_order],
        )
        .await;
        expect_found(&app, "glorbix \"invalidation cache\"", &[]).await;

        // Exclusions: a word, a phrase.
        expect_found(&app, "glorbix -of", &[&in_order]).await;
        expect_found(&app, "glorbix -\"cache invalidation\"", &[&out_of_order]).await;
        expect_found(&app, "glorbix -launch", &[]).await;

        // `-1009` is an error code to look for, not an exclusion.
        let code = start(
            &app,
            &ann,
            "Error codes: zintrafoo",
            "zintrafoo fails with NSURLErrorDomain -1009 when offline.",
        )
        .await;
        let plain = start(
            &app,
            &ann,
            "Error codes: zintrafoo without one",
            "zintrafoo fails without any code at all.",
        )
        .await;
        expect_found(&app, "zintrafoo", &[&code, &plain]).await;
        expect_found(&app, "zintrafoo -1009", &[&code]).await;
        expect_found(&app, "zintrafoo -NSURLErrorDomain", &[&plain]).await;

        // Stemming, both ways.
        let uploads = start(
            &app,
            &ann,
            "Stemming: the plural",
            "wombatica uploads stall at ninety percent.",
        )
        .await;
        let uploading = start(
            &app,
            &ann,
            "Stemming: the gerund",
            "wombatica keeps uploading the same file.",
        )
        .await;
        expect_found(&app, "wombatica uploading", &[&uploads, &uploading]).await;
        expect_found(&app, "wombatica uploads", &[&uploads, &uploading]).await;
        expect_found(&app, "wombatica uploaded", &[&uploads, &uploading]).await;
        expect_found(&app, "wombatica stalled", &[&uploads]).await;
        expect_found(&app, "wombatica -uploaded", &[]).await;
        let found = app.search("wombatica uploading").await;
        assert!(
            snippets(&found)
                .iter()
                .any(|s| s.contains("<mark>uploads</mark>")),
            "the stemmed form is highlighted: {found}"
        );
    }
);

both!(
    /// A thread is matched as a whole: words spread over its question and a reply find it,
    /// as words of one post do.
    async fn words_may_be_anywhere_in_a_thread(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let split = start(
            &app,
            &p.ann,
            "One post: words split over two posts",
            "gorpwidget is in the opening post only.",
        )
        .await;
        reply(&app, &p.ben, &split, "splendorf is in the reply only.").await;
        expect_found(&app, "gorpwidget", &[&split]).await;
        expect_found(&app, "splendorf", &[&split]).await;
        expect_found(&app, "gorpwidget splendorf", &[&split]).await;
        let found = app.search("gorpwidget splendorf").await;
        assert_eq!(
            found["partial"], false,
            "the thread holds every word: {found}"
        );
        // The opening post's document holds the title too.
        let titled = start(
            &app,
            &p.ann,
            "One post: frammistat in the title",
            "And zibbledorf in the body.",
        )
        .await;
        expect_found(&app, "frammistat zibbledorf", &[&titled]).await;
        // One result per thread, whichever posts match.
        let many = start(
            &app,
            &p.ann,
            "One post: quuxmany in every post",
            "quuxmany in the opening post.",
        )
        .await;
        for n in 0..3 {
            reply(&app, &p.ben, &many, &format!("quuxmany in reply {n}.")).await;
        }
        expect_found(&app, "quuxmany", &[&many]).await;
    }
);

both!(
    async fn cjk_mixed_and_single_character_queries(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let mixed = start(
            &app,
            &ann,
            "CJK: 数据库 mixed with English",
            "quuxcjk 连接数据库失败 when the device sleeps.",
        )
        .await;
        let apart = start(
            &app,
            &ann,
            "CJK: the same characters apart",
            "quuxcjk 我们请求数据，据库管理员说没问题。",
        )
        .await;
        let rare = start(
            &app,
            &ann,
            "CJK: a rare character",
            "quuxcjk 这里有一个鬯字。",
        )
        .await;
        let first = app.search_titles("数据库 sleeps").await;
        assert_eq!(first.first(), Some(&mixed.title), "{first:?}");
        expect_found(&app, "quuxcjk 连接", &[&mixed]).await;
        // The one thread with both words is excluded: what is left are partial matches.
        let without = app.search("quuxcjk 失败 -sleeps").await;
        assert_eq!(without["partial"], true, "{without}");
        assert!(!titles(&without).contains(&mixed.title), "{without}");
        expect_found(&app, "quuxcjk -鬯 -连接", &[&apart]).await;
        // A one-character query.
        expect_found(&app, "鬯", &[&rare]).await;
        let found = app.search("鬯").await;
        assert!(
            snippets(&found)[0].contains("<mark>鬯</mark>"),
            "the character is marked: {found}"
        );
        let single = app.search_titles("quuxcjk 据").await;
        assert_eq!(sorted(single), sorted(vec![mixed.title, apart.title]));
    }
);

both!(
    /// A CJK run counts where it stands together: "数据库" (database) finds the post holding
    /// it first, before one holding "数据，据库"; as a "phrase", only the first.
    async fn a_chinese_run_ranks_first_where_it_stands_together(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let together = start(&app, &ann, "CJK run: together", "quuxrun 连接数据库失败。").await;
        // Holds 数据 and 据库 (every bigram of 数据库) but never 数据库.
        start(
            &app,
            &ann,
            "CJK run: apart",
            "quuxrun 我们请求数据，据库管理员说没问题。",
        )
        .await;
        let word = app.search_titles("quuxrun 数据库").await;
        let phrase = app.search_titles("quuxrun \"数据库\"").await;
        let want = [together.title.as_str()];
        // As a word, the run standing together comes first (its parts elsewhere may follow);
        // as a phrase, only the run together.
        assert!(
            word.first().map(String::as_str) == Some(want[0]) && phrase == want,
            "want {want:?} first; as a word: {word:?}; as a phrase: {phrase:?}"
        );
    }
);

both!(
    async fn code_tokens_whole_and_by_part(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let camel = start(
            &app,
            &ann,
            "Code tokens: camel case",
            "Creating a QuuxPlonkSession hangs forever.",
        )
        .await;
        let snake = start(
            &app,
            &ann,
            "Code tokens: snake case",
            "Calling zintar_flush_queue() from a signal handler crashes.",
        )
        .await;
        let dotted = start(
            &app,
            &ann,
            "Code tokens: dotted names",
            "The launch agent com.plinkett.daemon never starts.",
        )
        .await;
        expect_found(&app, "QuuxPlonkSession", &[&camel]).await;
        expect_found(&app, "quuxplonksession", &[&camel]).await;
        expect_found(&app, "plonk", &[&camel]).await;
        expect_found(&app, "plonk session hangs", &[&camel]).await;
        expect_found(&app, "zintar_flush_queue", &[&snake]).await;
        expect_found(&app, "zintar flush", &[&snake]).await;
        expect_found(&app, "com.plinkett.daemon", &[&dotted]).await;
        expect_found(&app, "plinkett", &[&dotted]).await;
        expect_found(&app, "plinkett daemon starts", &[&dotted]).await;
        let found = app.search("plonk").await;
        assert!(
            snippets(&found)[0].contains("<mark>"),
            "a part is highlighted: {found}"
        );
    }
);

// ---------------------------------------------------------------- typos

both!(
    async fn misspelt_words_are_corrected(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let thread = start(
            &app,
            &ann,
            "Typos: the gribblefoam thread",
            "Our gribblefoam importer drops every second row.",
        )
        .await;

        // A word that exists: no correction.
        let exact = app.search("gribblefoam").await;
        assert_eq!(titles(&exact), [thread.title.as_str()]);
        assert_eq!(exact["did_you_mean"], Value::Null, "{exact}");

        // One edit away (deletion, transposition, substitution, insertion).
        for typo in ["gribblfoam", "gribbelfoam", "gribblefoan", "gribblefoamm"] {
            let found = app.search(typo).await;
            assert_eq!(titles(&found), [thread.title.as_str()], "{typo}: {found}");
            assert_eq!(
                found["did_you_mean"]["label"], "gribblefoam",
                "{typo}: {found}"
            );
            assert_eq!(found["did_you_mean"]["current"], false);
            assert!(
                snippets(&found)[0].contains("<mark>gribblefoam</mark>"),
                "{typo}: the corrected word is marked: {found}"
            );
        }
        // The rest of the query is kept in the correction.
        let found = app.search("gribblfoam importer tag:network").await;
        assert_eq!(titles(&found), [thread.title.as_str()], "{found}");
        assert_eq!(
            found["did_you_mean"]["label"], "gribblefoam importer tag:network",
            "{found}"
        );
        // The example from the documentation, on the demo content.
        let network = app.search("netwrok").await;
        assert_eq!(network["did_you_mean"]["label"], "network", "{network}");
        assert!(!titles(&network).is_empty());
        // Words under five letters are not corrected.
        assert!(!app.search_titles("quic").await.is_empty());
        let short = app.search("quuc").await;
        assert!(titles(&short).is_empty(), "{short}");
        assert_eq!(short["did_you_mean"], Value::Null, "{short}");

        // The page says so, and the link searches for the correction.
        let page = search_page(&app, "gribbelfoam").await;
        assert_eq!(texts(&page, ".did-you-mean a"), ["gribblefoam"]);
        let href = attrs(&page, ".did-you-mean a", "href");
        assert_eq!(href, ["/search?q=gribblefoam"]);
        let followed = search_page(&app, "gribblefoam").await;
        assert!(texts(&followed, ".did-you-mean").is_empty());
        assert_eq!(
            texts(&followed, "ol.results li.result a.title"),
            [thread.title.as_str()]
        );
    }
);

// ---------------------------------------------------------------- malformed queries

both!(
    async fn malformed_queries_answer_200_with_notices(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let thread = start(
            &app,
            &ann,
            "Malformed: quuxmal is here",
            "quuxmal and an unclosed phrase here.",
        )
        .await;
        app.index().await;
        let long_ascii = "quuxmal ".repeat(75);
        let long_cjk = "网络请求".repeat(150);
        let many_words = (0..30)
            .map(|i| format!("w{i}"))
            .collect::<Vec<_>>()
            .join(" ");
        // (query, a notice that must be given)
        let cases: Vec<(&str, Option<&str>)> = vec![
            ("quuxmal \"unclosed phrase", Some("closing quote")),
            ("quuxmal is:nonsense", Some("is:nonsense")),
            ("quuxmal before:notadate", Some("before:notadate")),
            ("quuxmal after:2025-13-45", Some("after:2025-13-45")),
            ("quuxmal sort:random", Some("sort:random")),
            ("quuxmal tag:", Some("tag:")),
            ("quuxmal author:", Some("author:")),
            ("quuxmal -is:solved", Some("-is:")),
            ("-quuxmal -other", Some("at least one word")),
            (long_ascii.as_str(), Some("longer than")),
            (long_cjk.as_str(), Some("longer than")),
            (many_words.as_str(), Some("first 24")),
            ("\"", None),
            ("-", None),
            (":::", None),
            ("%", None),
            ("%%25", None),
            ("tag:\"", None),
            ("-\"", None),
            ("\"\"", None),
            ("*", None),
            ("\\", None),
            ("(((", None),
            ("a:b:c", None),
            ("quuxmal^2 ~1", None),
            ("AND OR NOT", None),
            ("   ", None),
            ("<>&'", None),
            ("🙂", None),
            ("\u{0}", None),
        ];
        for (q, notice) in cases {
            let encoded = agora::paths::encode_query(q);
            let api = app.get(&format!("/api/v1/search?q={encoded}")).await;
            expect_status(&api, StatusCode::OK, &format!("API search {q:?}"));
            let json = api.json();
            let notices: Vec<String> = json["notices"]
                .as_array()
                .unwrap_or_else(|| panic!("{q:?}: no notices array: {json}"))
                .iter()
                .filter_map(|n| n.as_str().map(str::to_string))
                .collect();
            let page = app.get(&format!("/search?q={encoded}")).await;
            expect_status(&page, StatusCode::OK, &format!("search page {q:?}"));
            if let Some(notice) = notice {
                assert!(
                    notices.iter().any(|n| n.contains(notice)),
                    "{q:?}: no notice with {notice:?}: {notices:?}"
                );
                let shown = texts(&page.html(), ".notice li");
                assert!(
                    shown.iter().any(|n| n.contains(notice)),
                    "{q:?}: the page shows no notice with {notice:?}: {shown:?}"
                );
            }
            let feed = app.get(&format!("/search/feed.rss?q={encoded}")).await;
            expect_status(&feed, StatusCode::OK, &format!("search feed {q:?}"));
        }
        // What was understood still searches.
        for q in [
            "quuxmal is:nonsense",
            "quuxmal sort:random",
            "quuxmal tag:",
            "\"unclosed phrase",
            long_ascii.as_str(),
        ] {
            assert_eq!(
                app.search_titles(q).await,
                [thread.title.as_str()],
                "search {q:?}"
            );
        }
        // Unencoded percent signs in the URL itself.
        for path in [
            "/api/v1/search?q=%",
            "/api/v1/search?q=%zz",
            "/search?q=%",
            "/search?q=100%",
        ] {
            let response = app.get(path).await;
            expect_status(&response, StatusCode::OK, path);
        }
        // Bad page numbers are the one 400.
        for page in ["0", "-1", "abc", "41", "99999999999"] {
            let response = app
                .get(&format!("/api/v1/search?q=quuxmal&page={page}"))
                .await;
            expect_status(&response, StatusCode::BAD_REQUEST, &format!("page={page}"));
            assert_eq!(response.json()["error"]["param"], "page", "page={page}");
            let response = app.get(&format!("/search?q=quuxmal&page={page}")).await;
            expect_status(&response, StatusCode::BAD_REQUEST, &format!("page {page}"));
        }
    }
);

// ---------------------------------------------------------------- hidden, deleted, removed

both!(
    async fn hidden_and_deleted_replies_never_show(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let thread = start(
            &app,
            &p.ann,
            "Permissions: quuxperm thread",
            "quuxperm in the opening post.",
        )
        .await;
        let hidden = reply(
            &app,
            &p.ben,
            &thread,
            "quuxperm with the secret hiddenzorp in a reply.",
        )
        .await;
        let deleted = reply(
            &app,
            &p.ben,
            &thread,
            "quuxperm with the secret deletedzorp in a reply.",
        )
        .await;
        let found = app.search("hiddenzorp").await;
        assert_eq!(titles(&found), [thread.title.as_str()]);
        assert!(snippets(&found)[0].contains("<mark>hiddenzorp</mark>"));
        assert_eq!(
            titles(&app.search("deletedzorp").await),
            [thread.title.as_str()]
        );

        act(
            &app,
            &p.moe,
            &format!("/posts/{hidden}/hide"),
            &[("reason", "Off topic")],
        )
        .await;
        act(
            &app,
            &p.ben,
            &format!("/posts/{deleted}/delete"),
            &[("confirm", "yes")],
        )
        .await;

        // Before the index catches up: the text is never shown.
        for q in ["hiddenzorp", "deletedzorp", "quuxperm", "quuxperm secret"] {
            let found = search_unindexed(&app, q).await;
            for s in snippets(&found) {
                assert!(
                    !s.contains("hiddenzorp") && !s.contains("deletedzorp"),
                    "{q:?} (index behind): a hidden or deleted post's text in a snippet: {s}"
                );
            }
            let page = search_page(&app, q).await;
            let shown = texts(&page, "ol.results").join(" ");
            assert!(
                !shown.contains("hiddenzorp") && !shown.contains("deletedzorp"),
                "{q:?} (index behind): the page shows it: {shown}"
            );
            let rss = feed_text(&search_feed(&app, q, "rss").await);
            assert!(
                !rss.contains("hiddenzorp") && !rss.contains("deletedzorp"),
                "{q:?} (index behind): the feed shows it: {rss}"
            );
        }

        // After: the words are gone; the thread is still found by its visible words.
        for q in ["hiddenzorp", "deletedzorp"] {
            assert!(app.search_titles(q).await.is_empty(), "search {q:?}");
            assert!(feed_titles(&search_feed(&app, q, "atom").await).is_empty());
        }
        // The hidden word no longer counts: the thread is only a partial match.
        let partial = app.search("quuxperm secret").await;
        assert_eq!(partial["partial"], true, "{partial}");
        let found = app.search("quuxperm").await;
        assert_eq!(titles(&found), [thread.title.as_str()]);
        let snippet = &snippets(&found)[0];
        assert!(
            snippet.contains("<mark>quuxperm</mark>") && !snippet.contains("zorp"),
            "{snippet}"
        );
        // The moderator's unhide brings it back.
        act(&app, &p.moe, &format!("/posts/{hidden}/unhide"), &[]).await;
        assert_eq!(
            app.search_titles("hiddenzorp").await,
            [thread.title.as_str()]
        );
    }
);

both!(
    /// A thread found only through a reply that was hidden or deleted since it was indexed is
    /// left out until the index catches up, rather than listed with an empty snippet.
    async fn a_thread_found_only_through_a_hidden_reply_is_left_out(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let thread = start(
            &app,
            &p.ann,
            "Permissions: the lagging index",
            "The opening post says nothing special.",
        )
        .await;
        let hidden = reply(&app, &p.ben, &thread, "The secret word is quuxlagzorp.").await;
        let deleted = reply(&app, &p.ben, &thread, "Another secret: quuxlagdelete.").await;
        assert_eq!(
            app.search_titles("quuxlagzorp").await,
            [thread.title.as_str()]
        );
        assert_eq!(
            app.search_titles("quuxlagdelete").await,
            [thread.title.as_str()]
        );
        act(
            &app,
            &p.moe,
            &format!("/posts/{hidden}/hide"),
            &[("reason", "Off topic")],
        )
        .await;
        act(
            &app,
            &p.ben,
            &format!("/posts/{deleted}/delete"),
            &[("confirm", "yes")],
        )
        .await;
        for q in ["quuxlagzorp", "quuxlagdelete"] {
            let found = search_unindexed(&app, q).await;
            assert!(
                titles(&found).is_empty(),
                "{q:?} (index behind): the thread is listed because of a hidden or deleted \
                 reply: {found}"
            );
            let feed = search_feed(&app, q, "rss").await;
            assert!(
                feed_titles(&feed).is_empty(),
                "{q:?} (index behind): the feed lists it: {:?}",
                feed_titles(&feed)
            );
        }
    }
);

both!(
    async fn removed_threads_never_show(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let hidden = start(
            &app,
            &p.ann,
            "Keychain quuxgone items vanish after a restore",
            "After restoring from a backup the keychain quuxgone items vanish; hidethreadword.",
        )
        .await;
        let deleted = start(
            &app,
            &p.ben,
            "Keychain quuxgone items vanish after an update",
            "After updating the keychain quuxgone items vanish; delthreadword.",
        )
        .await;
        let host = start(
            &app,
            &p.ann,
            "Keychain quuxgone items vanish after a reboot",
            "After a reboot the keychain quuxgone items vanish too.",
        )
        .await;
        let removed = [hidden.title.clone(), deleted.title.clone()];

        // Found everywhere while they are live.
        let all = sorted(vec![
            hidden.title.clone(),
            deleted.title.clone(),
            host.title.clone(),
        ]);
        assert_eq!(sorted(app.search_titles("quuxgone").await), all);
        assert_eq!(
            sorted(feed_titles(&search_feed(&app, "quuxgone", "rss").await)),
            all
        );
        let like = summary_titles(&similar(&app, &hidden.title, "").await);
        assert!(removed.iter().all(|t| like.contains(t)), "{like:?}");
        let related = related_ids(&app, &host).await;
        assert!(
            related.contains(&hidden.id) && related.contains(&deleted.id),
            "related to the host: {related:?}"
        );

        act(
            &app,
            &p.moe,
            &format!("/posts/{}/hide", hidden.op),
            &[("reason", "Spam")],
        )
        .await;
        act(
            &app,
            &p.ben,
            &format!("/posts/{}/delete", deleted.op),
            &[("confirm", "yes")],
        )
        .await;
        expect_status(&app.get(&hidden.url).await, StatusCode::NOT_FOUND, "hidden");
        expect_status(
            &app.get(&deleted.url).await,
            StatusCode::NOT_FOUND,
            "deleted",
        );

        for caught_up in [false, true] {
            let when = if caught_up {
                "after catch-up"
            } else {
                "index behind"
            };
            for q in [
                "quuxgone",
                "quuxgone keychain",
                "hidethreadword",
                "delthreadword",
            ] {
                let found = if caught_up {
                    app.search(q).await
                } else {
                    search_unindexed(&app, q).await
                };
                let got = titles(&found);
                assert!(
                    removed.iter().all(|t| !got.contains(t)),
                    "{q:?} ({when}): {got:?}"
                );
                let page = search_page(&app, q).await;
                let listed = texts(&page, "ol.results li.result a.title");
                assert!(
                    removed.iter().all(|t| !listed.contains(t)),
                    "{q:?} ({when}): the page lists {listed:?}"
                );
                for format in ["rss", "atom"] {
                    let feed = search_feed(&app, q, format).await;
                    let text = feed_text(&feed);
                    assert!(
                        removed.iter().all(|t| !text.contains(t.as_str()))
                            && !text.contains("hidethreadword")
                            && !text.contains("delthreadword"),
                        "{q:?} ({when}): the {format} feed: {text}"
                    );
                }
            }
            assert_eq!(
                search_unindexed(&app, "quuxgone").await["results"][0]["thread"]["title"],
                host.title.as_str(),
                "{when}: the live thread is still found"
            );
            for title in [&hidden.title, &deleted.title] {
                let like = summary_titles(&similar(&app, title, "").await);
                assert!(
                    removed.iter().all(|t| !like.contains(t)),
                    "similar to {title:?} ({when}): {like:?}"
                );
                assert!(like.contains(&host.title), "{when}: {like:?}");
            }
            let related = related_ids(&app, &host).await;
            assert!(
                !related.contains(&hidden.id) && !related.contains(&deleted.id),
                "related to the host ({when}): {related:?}"
            );
            if !caught_up {
                app.index().await;
            }
        }
    }
);

// ---------------------------------------------------------------- pages and feeds

both!(
    async fn the_search_page_search_box_and_opensearch(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let thread = start_in(
            &app,
            &ann,
            NET,
            "quic",
            "question",
            "Pages: the quuxpage thread",
            "Something about Quuxpage connections, then many more words.",
        )
        .await;
        app.index().await;

        let page = search_page(&app, "quuxpage connection").await;
        assert_eq!(
            texts(&page, "ol.results li.result a.title"),
            [thread.title.as_str()]
        );
        assert_eq!(
            attrs(&page, "ol.results li.result a.title", "href"),
            [thread.url.as_str()]
        );
        let marks = texts(&page, "ol.results li.result .snippet mark");
        assert!(
            marks.contains(&"Quuxpage".to_string()) && marks.contains(&"connections".to_string()),
            "marked: {marks:?}"
        );
        let snippet_links = attrs(&page, ".snippet a", "href");
        assert!(
            snippet_links[0].contains(&format!("/thread/{}/", thread.id))
                && snippet_links[0].contains(&format!("#post-{}", thread.op)),
            "{snippet_links:?}"
        );
        assert_eq!(
            attrs(&page, "#search-q", "value"),
            ["quuxpage connection"],
            "the query stays in the box"
        );
        assert_eq!(
            attrs(&page, "link[rel=alternate]", "href"),
            [
                "/search/feed.rss?q=quuxpage%20connection",
                "/search/feed.atom?q=quuxpage%20connection"
            ]
        );
        // Not every word anywhere: the closest threads, said once and quietly.
        let near = search_page(&app, "quuxpage zyzzogeton").await;
        assert_eq!(
            texts(&near, "ol.results li h2 a.title"),
            ["Pages: the quuxpage thread"]
        );
        assert_eq!(texts(&near, "p.partial-note").len(), 1);
        // No dead end: a way to ask, the query as the question's title.
        assert_eq!(
            attrs(&near, "section.no-dead-end a.button", "href"),
            ["/new?title=quuxpage%20zyzzogeton"]
        );
        // No results: said plainly.
        let none = search_page(&app, "zyzzogeton qwxvbnmz").await;
        assert_eq!(texts(&none, "section.no-dead-end a.button").len(), 1);
        let compose = app
            .get_as("/new?title=quuxpage%20zyzzogeton", &ann)
            .await
            .html();
        assert_eq!(
            attrs(&compose, "input[name=title]", "value"),
            ["quuxpage zyzzogeton"]
        );
        assert!(texts(&none, "ol.results li").is_empty());
        assert_eq!(texts(&none, "p.empty").len(), 1);
        // One known word of four is no partial match: the words the forum lacks count as
        // unmatched, so the page says nothing matches and offers to ask.
        let mostly_unknown = search_page(&app, "quuxpage zyzzogeton qwxvbnmz frobnicatzz").await;
        assert!(
            texts(&mostly_unknown, "ol.results li").is_empty(),
            "{:?}",
            texts(&mostly_unknown, "ol.results li")
        );
        assert_eq!(
            texts(&mostly_unknown, "section.no-dead-end a.button").len(),
            1
        );
        // No query: the help.
        let help = app.ok("/search").await.html();
        assert_eq!(texts(&help, ".search-help").len(), 1);
        assert!(texts(&help, "ol.results").is_empty());

        // Every page offers the search box and the OpenSearch description.
        for path in ["/", thread.url.as_str(), "/tags/quic", "/search"] {
            let html = app.ok(path).await.html();
            assert_eq!(
                attrs(&html, "form.header-search", "action"),
                ["/search"],
                "{path}"
            );
            assert_eq!(
                attrs(&html, "form.header-search input", "name"),
                ["q"],
                "{path}"
            );
            assert_eq!(
                attrs(
                    &html,
                    "link[rel=search][type=\"application/opensearchdescription+xml\"]",
                    "href"
                ),
                ["/opensearch.xml"],
                "{path}"
            );
        }
        let description = app.ok("/opensearch.xml").await;
        assert_eq!(
            description.header("content-type"),
            Some("application/opensearchdescription+xml")
        );
        let xml = description.text();
        assert!(
            xml.contains("<OpenSearchDescription")
                && xml.contains("<ShortName>")
                && xml.contains("template=\"http://127.0.0.1:8080/search?q={searchTerms}\""),
            "{xml}"
        );
    }
);

both!(
    async fn search_feeds_parse_and_list_matches(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let older = start(
            &app,
            &ann,
            "Feeds: the older quuxfeed thread",
            "quuxfeed in an older thread.",
        )
        .await;
        let newer = start(
            &app,
            &ann,
            "Feeds: the newer quuxfeed thread",
            "quuxfeed in a newer thread.",
        )
        .await;
        app.index().await;
        for format in ["rss", "atom"] {
            let feed = search_feed(&app, "quuxfeed", format).await;
            assert_eq!(
                feed.feed_type,
                if format == "rss" {
                    feed_rs::model::FeedType::RSS2
                } else {
                    feed_rs::model::FeedType::Atom
                }
            );
            assert!(
                feed.title
                    .as_ref()
                    .is_some_and(|t| t.content.contains("quuxfeed")),
                "{format}: {:?}",
                feed.title
            );
            // Newest first.
            assert_eq!(
                feed_titles(&feed),
                [newer.title.clone(), older.title.clone()],
                "{format}"
            );
            let link = &feed.entries[0].links[0].href;
            assert!(
                link.starts_with("http://127.0.0.1:8080/thread/") && thread_id(link) == newer.id,
                "{format}: {link}"
            );
            assert!(feed_text(&feed).contains("quuxfeed"), "{format}");
            let nothing = search_feed(&app, "quuxfeed zyzzogeton", format).await;
            assert!(nothing.entries.is_empty(), "{format}");
        }
        // The page and the API point at the feeds.
        let found = app.search("quuxfeed").await;
        assert_eq!(found["feed_rss"], "/search/feed.rss?q=quuxfeed");
        assert_eq!(found["feed_atom"], "/search/feed.atom?q=quuxfeed");
        let page = search_page(&app, "quuxfeed").await;
        assert_eq!(
            attrs(&page, ".feed-link a", "href"),
            [
                "/search/feed.rss?q=quuxfeed",
                "/search/feed.atom?q=quuxfeed"
            ]
        );
    }
);

both!(
    async fn results_are_paged(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        for n in 0..45 {
            start(
                &app,
                &ann,
                &format!("Paging: pagerquux thread number {n}"),
                &format!("pagerquux body of thread {n}."),
            )
            .await;
        }
        app.index().await;
        let mut seen = Vec::new();
        for (page, count, prev, next) in [
            (1, 20, None, Some("/search?q=pagerquux&page=2")),
            (
                2,
                20,
                Some("/search?q=pagerquux"),
                Some("/search?q=pagerquux&page=3"),
            ),
            (3, 5, Some("/search?q=pagerquux&page=2"), None),
        ] {
            let path = format!("/api/v1/search?q=pagerquux&page={page}");
            let found = app.ok(&path).await.json();
            assert_eq!(found["page"], page, "{path}");
            assert_eq!(titles(&found).len(), count, "{path}");
            assert_eq!(found["prev_url"].as_str(), prev, "{path}");
            assert_eq!(found["next_url"].as_str(), next, "{path}");
            seen.extend(titles(&found));

            let html = app
                .ok(&format!("/search?q=pagerquux&page={page}"))
                .await
                .html();
            assert_eq!(texts(&html, "ol.results li.result").len(), count);
            let prev_links = attrs(&html, "nav.pager a[rel=prev]", "href");
            let next_links = attrs(&html, "nav.pager a[rel=next]", "href");
            assert_eq!(prev_links.first().map(String::as_str), prev, "page {page}");
            assert_eq!(next_links.first().map(String::as_str), next, "page {page}");
        }
        let distinct = sorted(seen.clone());
        let mut dedup = distinct.clone();
        dedup.dedup();
        assert_eq!(
            dedup.len(),
            45,
            "every thread once over the pages: {distinct:?}"
        );
        let empty = app.ok("/api/v1/search?q=pagerquux&page=4").await.json();
        assert!(titles(&empty).is_empty());
        assert_eq!(empty["next_url"], Value::Null);
        let too_deep = app.get("/api/v1/search?q=pagerquux&page=41").await;
        expect_status(&too_deep, StatusCode::BAD_REQUEST, "page 41");
        assert_eq!(too_deep.json()["error"]["param"], "page");
        let deepest = app.get("/api/v1/search?q=pagerquux&page=40").await;
        expect_status(&deepest, StatusCode::OK, "page 40");
    }
);

both!(
    /// A page reads a fixed number of matching *posts* (100 for page 1) and groups them into
    /// threads afterwards, so when threads have several matching posts a page holds fewer than
    /// 20 threads and offers no next page: the other matching threads cannot be reached.
    async fn pages_count_threads_not_posts(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        for n in 0..24 {
            let thread = start(
                &app,
                &p.ann,
                &format!("Busy threads: number {n}"),
                "busyquux in the opening post.",
            )
            .await;
            for k in 0..7 {
                reply(&app, &p.ben, &thread, &format!("busyquux in reply {k}.")).await;
            }
        }
        app.index().await;
        for q in [
            "busyquux",
            "busyquux sort:activity",
            "busyquux sort:newest",
            "busyquux sort:boosts",
        ] {
            let first = search_unindexed(&app, q).await;
            let path = format!("/api/v1/search?q={}&page=2", agora::paths::encode_query(q));
            let second = app.ok(&path).await.json();
            let mut all = titles(&first);
            all.extend(titles(&second));
            assert!(
                titles(&first).len() == 20
                    && first["next_url"].is_string()
                    && sorted(all.clone()).len() == 24,
                "{q:?}: 24 threads match; page 1 has {} (next {}), page 2 has {}",
                titles(&first).len(),
                first["next_url"],
                titles(&second).len()
            );
            all.sort();
            all.dedup();
            assert_eq!(all.len(), 24, "{q:?}: every thread once over the pages");
        }
    }
);

both!(
    async fn markup_in_titles_bodies_and_queries_is_escaped(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann", Role::Member).await;
        let title = "quuxxss <script>alert(1)</script> <img src=x onerror=alert(1)>";
        start(
            &app,
            &ann,
            title,
            "quuxxss raw <script>alert(2)</script> <img src=x onerror=alert(3)> and as code \
             `<script>alert(4)</script>` `<img src=x onerror=alert(5)>` \"quoted\" & done.",
        )
        .await;
        let found = app.search("quuxxss").await;
        assert_eq!(titles(&found), [title]);
        let snippet = &snippets(&found)[0];
        assert!(snippet.contains("<mark>quuxxss</mark>"), "{snippet}");
        assert!(snippet.contains("&lt;script&gt;alert(4)"), "{snippet}");
        let bare = snippet.replace("<mark>", "").replace("</mark>", "");
        assert!(
            !bare.contains('<') && !bare.contains('>'),
            "tags other than <mark> in the snippet: {snippet}"
        );
        for q in [
            "quuxxss",
            "quuxxss script",
            "quuxxss <script>alert(9)</script>",
            // A correction echoes the rest of the query in the did-you-mean link.
            "netwrok <script>alert(9)</script>",
        ] {
            let response = app
                .ok(&format!("/search?q={}", agora::paths::encode_query(q)))
                .await;
            let raw = response.text();
            for needle in ["<script>alert", "<img src=x", "onerror=alert(1)>"] {
                assert!(
                    !raw.contains(needle),
                    "{q:?}: {needle} unescaped on the page"
                );
            }
            let html = response.html();
            let sel =
                scraper::Selector::parse("main *").unwrap_or_else(|e| panic!("selector: {e}"));
            for element in html.select(&sel) {
                let name = element.value().name();
                assert!(
                    name != "script" && name != "img",
                    "{q:?}: a <{name}> in main"
                );
                for (attr, _) in element.value().attrs() {
                    assert!(!attr.starts_with("on"), "{q:?}: an {attr} attribute");
                }
            }
            let snippet_sel = scraper::Selector::parse(".snippet a *")
                .unwrap_or_else(|e| panic!("selector: {e}"));
            for element in html.select(&snippet_sel) {
                assert_eq!(element.value().name(), "mark", "{q:?}");
            }
        }
        // The feed's content is escaped too: it parses, and carries the text, not the tags.
        let feed = search_feed(&app, "quuxxss", "rss").await;
        assert_eq!(feed_titles(&feed), [title]);
        let content = feed.entries[0]
            .content
            .as_ref()
            .and_then(|c| c.body.clone())
            .or_else(|| feed.entries[0].summary.as_ref().map(|s| s.content.clone()))
            .unwrap_or_default();
        assert!(!content.contains("<script"), "{content}");
        assert!(!content.contains("<img"), "{content}");
    }
);

// ---------------------------------------------------------------- similar and related

both!(
    async fn similar_and_related_threads(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let plain = start(
            &app,
            &p.ann,
            "Quuxgadget crashes on launch after the update",
            "Since the update Quuxgadget crashes right at launch.",
        )
        .await;
        let solved = start(
            &app,
            &p.ann,
            "Quuxgadget crash at launch with the new SDK",
            "Building with the new SDK, Quuxgadget crashes at launch.",
        )
        .await;
        let answer = reply(
            &app,
            &p.ben,
            &solved,
            "Link the quuxgadget framework weakly.",
        )
        .await;
        act(&app, &p.ann, &format!("/posts/{answer}/accept"), &[]).await;
        let staff = start(
            &app,
            &p.ann,
            "Quuxgadget launch crashes on older devices",
            "On older devices Quuxgadget crashes during launch.",
        )
        .await;
        reply(&app, &p.sam, &staff, "This is a known quuxgadget issue.").await;
        let other = start(
            &app,
            &p.ben,
            "Zorptastic keychain entries vanish after reboot",
            "Our zorptastic keychain entries are gone after every reboot.",
        )
        .await;
        app.index().await;

        // A paraphrased title finds the thread.
        let like = summary_titles(
            &similar(
                &app,
                "keychain entry disappears when rebooting zorptastic",
                "",
            )
            .await,
        );
        assert_eq!(like.first(), Some(&other.title), "{like:?}");
        assert!(!like.contains(&plain.title), "{like:?}");

        // Relevance first: the plain thread says it best ("crashes on launch"), and no answer
        // puts a weaker match ahead of it.
        let threads = similar(&app, "quuxgadget crashes on launch after the update", "").await;
        let like = summary_titles(&threads);
        assert!(like.len() <= 5, "{like:?}");
        assert_eq!(like.first(), Some(&plain.title), "{like:?}");
        for title in [&solved.title, &staff.title] {
            assert!(like.contains(title), "{like:?}");
        }
        // Between two equal matches, the answered one leads.
        let twin_open = start(
            &app,
            &p.ben,
            "Flimflorp sync stalls at ninety percent",
            "Flimflorp sync stalls at ninety percent every time.",
        )
        .await;
        let twin_solved = start(
            &app,
            &p.ben,
            "Flimflorp sync stalls at ninety percent",
            "Flimflorp sync stalls at ninety percent every time.",
        )
        .await;
        let fix = reply(&app, &p.ann, &twin_solved, "Update the flimflorp agent.").await;
        act(&app, &p.ben, &format!("/posts/{fix}/accept"), &[]).await;
        let _ = &twin_open;
        app.index().await;
        let twins = similar(&app, "flimflorp sync stalls", "").await;
        assert_eq!(twins[0]["solved"], true, "{twins:?}");
        assert_eq!(twins[0]["id"].as_i64(), Some(twin_solved.id), "{twins:?}");

        // The body helps; exclude leaves a thread out.
        let by_body = summary_titles(&similar(&app, "", "zorptastic keychain reboot").await);
        assert_eq!(by_body.first(), Some(&other.title), "{by_body:?}");
        let path = format!(
            "/api/v1/similar?title={}&exclude={}",
            agora::paths::encode_query("quuxgadget crashing when launching"),
            solved.id
        );
        let excluded = summary_titles(
            app.ok(&path).await.json()["threads"]
                .as_array()
                .unwrap_or(&Vec::new()),
        );
        assert!(
            !excluded.contains(&solved.title) && excluded.contains(&plain.title),
            "{excluded:?}"
        );

        // Nothing to go on: nothing suggested.
        for path in [
            "/api/v1/similar",
            "/api/v1/similar?title=",
            "/api/v1/similar?title=%20%20&body=",
        ] {
            let response = app.ok(path).await.json();
            assert_eq!(response, json!({"threads": []}), "{path}");
        }

        // The compose preview suggests them.
        let preview = app
            .post_form(
                "/new",
                Some(&p.ben.cookie),
                &[
                    ("subtopic", NET),
                    ("title", "Quuxgadget crashing when launching"),
                    ("tags", "network"),
                    ("kind", "question"),
                    ("body", "It crashes at launch every time."),
                    ("preview", "1"),
                ],
            )
            .await;
        expect_status(&preview, StatusCode::OK, "compose preview");
        let suggested = texts(&preview.html(), "aside#similar li a");
        for t in [&plain, &solved, &staff] {
            assert!(suggested.contains(&t.title), "{suggested:?}");
        }
        assert!(!suggested.contains(&other.title), "{suggested:?}");

        // A thread page lists related threads, never itself.
        for thread in [&plain, &solved, &staff] {
            let related = related_ids(&app, thread).await;
            assert!(!related.is_empty(), "{}: no related threads", thread.title);
            assert!(
                !related.contains(&thread.id),
                "{} lists itself: {related:?}",
                thread.title
            );
            assert!(related.len() <= 5, "{related:?}");
        }
        let related = related_ids(&app, &plain).await;
        assert!(
            related.contains(&solved.id) && related.contains(&staff.id),
            "{related:?}"
        );
        assert!(!related.contains(&other.id), "{related:?}");
    }
);

both!(
    async fn related_threads_are_found_once_and_kept(b: Backend) {
        use agora_store::{PostId, ThreadId};
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let first = start(
            &app,
            &p.ann,
            "Quuxwidget stalls on a slow network",
            "The quuxwidget stalls whenever the network is slow.",
        )
        .await;
        let second = start(
            &app,
            &p.ben,
            "Quuxwidget stalls on slow network links",
            "On slow network links the quuxwidget stalls.",
        )
        .await;
        let other = start(
            &app,
            &p.ben,
            "Zorbleflux colour palette for dark mode",
            "Which zorbleflux palette suits dark mode?",
        )
        .await;
        app.index().await;
        let search = &app.state.search;
        let store = app.store();

        // The sweep finds a list for every live thread that has none, then has nothing to do.
        let mut sweep = agora::services::search::Sweep::default();
        let found = sweep_until_idle(search, store, &mut sweep).await;
        assert!(found >= 3, "the demo's threads and these three: {found}");
        assert_eq!(
            search
                .sweep_related(store, &mut sweep)
                .await
                .unwrap_or_else(|e| panic!("{e:#}")),
            0
        );
        let (kept, _) = store
            .related_of(ThreadId(first.id))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no list kept for the first thread"));
        let kept: Vec<i64> = kept.iter().map(|(t, _)| t.0).collect();
        assert!(kept.contains(&second.id), "{kept:?}");
        assert!(
            !kept.contains(&first.id) && !kept.contains(&other.id),
            "{kept:?}"
        );

        // Looking again reads only threads newer than the last pass began with: a new thread
        // gets its list; an older one that lost its list waits for its next render.
        store
            .forget_related(vec![ThreadId(first.id)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let newer = start(
            &app,
            &p.ben,
            "Quuxwidget stalls again after an update",
            "After the update the quuxwidget stalls on slow links again.",
        )
        .await;
        app.index().await;
        sweep.look_again_now();
        let again = sweep_until_idle(search, store, &mut sweep).await;
        assert_eq!(again, 1, "only the new thread is looked at");
        assert!(
            store
                .related_of(ThreadId(newer.id))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_some()
        );
        assert!(
            store
                .related_of(ThreadId(first.id))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "below the floor: left for its next render"
        );

        // A new node (its index not built yet) fills missing lists with `agora search related`:
        // it builds its index first, or every list would come out empty.
        let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let mut config = crate::util::config_for(folder.path());
        config.database_url = match app.state.config.database_url.as_str() {
            "" => format!(
                "sqlite://{}",
                app.state.config.data_dir.join("agora.db").display()
            ),
            url => url.to_string(),
        };
        let node = agora::app::AppState::open(config)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        store
            .forget_related(vec![ThreadId(first.id)])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let filled = node
            .search
            .fill_related(&node.store, None)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(filled, 1, "only the forgotten list is missing");
        let (kept, _) = store
            .related_of(ThreadId(first.id))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no list filled for the first thread"));
        assert!(kept.iter().any(|(t, _)| t.0 == second.id), "{kept:?}");

        // That node's thread page reads the kept list; it does not search again. (Kept here by
        // hand, pointing elsewhere, to tell the two apart.)
        store
            .save_related(vec![(
                ThreadId(first.id),
                vec![(ThreadId(other.id), PostId(other.op))],
            )])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let node = TestApp::from_parts(node.clone(), agora::router::build(node));
        assert_eq!(related_ids(&node, &first).await, vec![other.id]);
        // The others show what the sweep kept.
        assert!(related_ids(&node, &second).await.contains(&first.id));

        // A new title is a new subject: the kept list is forgotten once the index has it.
        let token = app.api_token(&p.ann, "write").await;
        let retitled = app
            .api("PATCH", &format!("/api/v1/posts/{}", first.op), Some(&token),
                Some(json!({"body": "The quuxwidget stalls whenever the network is slow.",
                    "reason": "clearer title", "title": "Quuxwidget freezes when the link is slow"})))
            .await;
        expect_status(&retitled, StatusCode::OK, "retitle");
        app.index().await;
        let kept = store
            .related_of(ThreadId(first.id))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(kept.is_none(), "{kept:?}");
    }
);

// ---------------------------------------------------------------- the index follows writes

both!(
    async fn the_index_follows_every_write(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let thread = start(
            &app,
            &p.ann,
            "Follow the writes titlebefore",
            "quuxfollow in the opening post.",
        )
        .await;
        let t = &thread;
        expect_found(&app, "quuxfollow is:unanswered", &[t]).await;

        // A reply: its words, and the thread is no longer unanswered.
        let answer = reply(&app, &p.ben, t, "quuxfollow replyzeta appears now.").await;
        expect_found(&app, "replyzeta", &[t]).await;
        expect_found(&app, "quuxfollow is:unanswered", &[]).await;
        expect_found(&app, "quuxfollow author:ben", &[t]).await;

        // Editing the reply: the old word goes, the new one comes.
        act(
            &app,
            &p.ben,
            &format!("/posts/{answer}/edit"),
            &[
                ("body", "quuxfollow replyomega instead."),
                ("reason", "Better"),
            ],
        )
        .await;
        expect_found(&app, "replyzeta", &[]).await;
        expect_found(&app, "replyomega", &[t]).await;

        // Editing the opening post.
        act(
            &app,
            &p.ann,
            &format!("/posts/{}/edit", t.op),
            &[
                ("title", t.title.as_str()),
                ("tags", "network"),
                ("body", "quuxfollow in the rewritten opening bodynewword."),
                ("reason", "Clearer"),
            ],
        )
        .await;
        expect_found(&app, "bodynewword", &[t]).await;
        expect_found(&app, "quuxfollow opening", &[t]).await;
        expect_found(&app, "quuxfollow \"in the opening post\"", &[]).await;

        // Retitling, with new tags.
        let renamed = Thread {
            title: "Follow the writes titleafter".to_string(),
            ..thread.clone()
        };
        act(
            &app,
            &p.moe,
            &format!("/thread/{}/retitle", t.id),
            &[("title", renamed.title.as_str()), ("tags", "quic")],
        )
        .await;
        expect_found(&app, "titlebefore", &[]).await;
        expect_found(&app, "titleafter", &[&renamed]).await;
        expect_found(&app, "replyomega tag:quic", &[&renamed]).await;
        expect_found(&app, "quuxfollow tag:network", &[]).await;

        // Moving.
        expect_found(&app, "quuxfollow in:networking", &[&renamed]).await;
        act(
            &app,
            &p.moe,
            &format!("/thread/{}/move", t.id),
            &[("subtopic", STORAGE)],
        )
        .await;
        expect_found(&app, "quuxfollow in:networking", &[]).await;
        expect_found(&app, "quuxfollow in:storage", &[&renamed]).await;
        expect_found(&app, "replyomega in:storage", &[&renamed]).await;

        // Accepting an answer.
        expect_found(&app, "quuxfollow is:solved", &[]).await;
        act(&app, &p.ann, &format!("/posts/{answer}/accept"), &[]).await;
        expect_found(&app, "quuxfollow is:solved", &[&renamed]).await;
        assert_eq!(
            app.search("replyomega").await["results"][0]["thread"]["solved"],
            true
        );

        // A staff reply.
        expect_found(&app, "quuxfollow is:staff", &[]).await;
        reply(&app, &p.sam, t, "Staff confirms this.").await;
        expect_found(&app, "quuxfollow is:staff", &[&renamed]).await;

        // Locking, and unlocking.
        expect_found(&app, "quuxfollow is:locked", &[]).await;
        act(
            &app,
            &p.moe,
            &format!("/thread/{}/lock", t.id),
            &[("reason", "Solved")],
        )
        .await;
        expect_found(&app, "quuxfollow is:locked", &[&renamed]).await;
        act(&app, &p.moe, &format!("/thread/{}/unlock", t.id), &[]).await;
        expect_found(&app, "quuxfollow is:locked", &[]).await;

        // Boosts: sort:boosts follows.
        let rival = start(
            &app,
            &p.ben,
            "Follow the writes: a rival",
            "quuxfollow in a rival thread.",
        )
        .await;
        act(&app, &p.ann, &format!("/posts/{}/boost", rival.op), &[]).await;
        let by_boosts = app.search_titles("quuxfollow sort:boosts").await;
        assert_eq!(by_boosts.first(), Some(&rival.title), "{by_boosts:?}");
    }
);

both!(
    /// A documentation link's address is searchable by its words (never shown in snippets).
    async fn words_in_link_addresses_are_searchable(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let linked = start(
            &app,
            &p.ann,
            "Links: where the answer lives",
            "Read [the reference](https://developer.example.com/documentation/quuxlinkpath/setup-guide) first.",
        )
        .await;
        expect_found(&app, "quuxlinkpath", &[&linked]).await;
        let found = app.search("quuxlinkpath").await;
        assert!(
            !snippets(&found)[0].contains("developer.example.com"),
            "the address is not in the snippet: {found}"
        );
    }
);

both!(
    /// An abbreviation the forum's posts define ("Zorbly Quantum Widget (ZQW)") finds threads
    /// that write it out, and the written-out form finds threads that abbreviate it; the
    /// curated list does the same for common ones (BLE).
    async fn abbreviations_and_their_expansions_find_each_other(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        start(
            &app,
            &p.ann,
            "Abbreviations: the definition",
            "Our Zorbly Quantum Widget (ZQW) ships next month.",
        )
        .await;
        let long = start(
            &app,
            &p.ben,
            "Abbreviations: written out",
            "The zorbly quantum widget stalls under heavy load.",
        )
        .await;
        let short = start(
            &app,
            &p.ben,
            "Abbreviations: abbreviated",
            "Our ZQW firmware reboots every night.",
        )
        .await;
        let found = app.search_titles("ZQW stalls under load").await;
        assert_eq!(found.first(), Some(&long.title), "{found:?}");
        let found = app
            .search_titles("zorbly quantum widget firmware reboots")
            .await;
        assert_eq!(found.first(), Some(&short.title), "{found:?}");
        let ble = start(
            &app,
            &p.ann,
            "Abbreviations: a curated one",
            "Scanning for Bluetooth Low Energy quuxsensor peripherals finds nothing.",
        )
        .await;
        let found = app.search_titles("BLE quuxsensor scan").await;
        assert_eq!(found.first(), Some(&ble.title), "{found:?}");
    }
);

both!(
    /// Hyphenated, joined and split spellings are one word, and so are British and American
    /// spellings: each finds the other.
    async fn spelling_variants_find_each_other(b: Backend) {
        let app = TestApp::demo(b).await;
        let p = people(&app).await;
        let hyphen = start(
            &app,
            &p.ann,
            "Variants: hyphenated",
            "The quuxvar Wi-Fi e-mail flow breaks.",
        )
        .await;
        let split = start(
            &app,
            &p.ann,
            "Variants: split",
            "How to set up quuxsplit on a fresh machine.",
        )
        .await;
        let joined = start(
            &app,
            &p.ann,
            "Variants: joined",
            "The quuxjoin setup wizard hangs.",
        )
        .await;
        let british = start(
            &app,
            &p.ann,
            "Variants: British",
            "The quuxcolour colour picker's behaviour changed after we optimised it.",
        )
        .await;
        for (q, want) in [
            ("quuxvar wifi email", &hyphen),
            ("quuxvar WiFi", &hyphen),
            ("quuxsplit setup", &split),
            ("quuxjoin set up", &joined),
            ("quuxcolour color behavior optimized", &british),
        ] {
            let found = app.search_titles(q).await;
            assert_eq!(found.first(), Some(&want.title), "{q:?}: {found:?}");
        }
    }
);

both!(
    /// A Chinese question typed without spaces finds the English thread it is about: the
    /// glossary's terms in the run (后台 background, 上传 upload) are words of their own, held
    /// by their English, and the rest of the run, which no English thread holds, does not
    /// outweigh them.
    async fn a_chinese_question_without_spaces_finds_an_english_thread(b: Backend) {
        let app = TestApp::demo(b).await;
        let titles = app.search_titles("后台上传完成了但是没有回调").await;
        assert_eq!(
            titles.first().map(String::as_str),
            Some(
                "Background upload finishes on the server, but didCompleteWithError is never called"
            ),
            "{titles:?}"
        );
    }
);
