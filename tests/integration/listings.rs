//! Listings, profiles, the member directory and feeds (issue 13, parts 4 and 5): the Ask
//! button and what it chooses, sort and order controls, the unanswered filter, empty states that
//! say why, counts that agree with their nouns, profile tabs that show exactly what a reader
//! may see, the directory's orders and search, and the member and site-wide feeds.

use agora::services::By;
use agora::services::structure::{self, AreaForm, SubtopicForm, TagForm};
use agora_store::Role;
use axum::http::StatusCode;
use serde_json::Value;

use crate::util::{Person, TestApp, TestResponse, attrs, both, texts};

const NET: &str = "app-system-services/networking";
const NET_URL: &str = "/topics/app-system-services/networking";
const BODY: &str = "The path monitor reports unsatisfied after the first update and never \
     recovers, even though the device is online.";

fn location(response: &TestResponse) -> String {
    response.header("location").unwrap_or_default().to_string()
}

fn expect(response: &TestResponse, status: StatusCode, what: &str) {
    assert_eq!(
        response.status,
        status,
        "{what}: {}",
        response.text().chars().take(600).collect::<String>()
    );
}

/// Starts a question through the compose form; returns the thread's id and URL.
async fn start(
    app: &TestApp,
    who: &Person,
    subtopic: &str,
    title: &str,
    tags: &str,
) -> (i64, String) {
    let response = app
        .post_form(
            "/new",
            Some(&who.cookie),
            &[
                ("subtopic", subtopic),
                ("title", title),
                ("tags", tags),
                ("kind", "question"),
                ("body", BODY),
            ],
        )
        .await;
    expect(&response, StatusCode::SEE_OTHER, "start a thread");
    let url = location(&response);
    let id = url
        .strip_prefix("/thread/")
        .and_then(|rest| rest.split('/').next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a thread URL: {url}"));
    (id, url)
}

/// The opening post's id of a thread.
async fn opening(app: &TestApp, thread: i64) -> i64 {
    let json = app.ok(&format!("/api/v1/threads/{thread}")).await.json();
    json["posts"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("thread {thread} has no posts: {json}"))
}

/// Replies through the form; returns the reply's id.
async fn reply(app: &TestApp, who: &Person, thread: i64, body: &str) -> i64 {
    let response = app
        .post_form(
            &format!("/thread/{thread}/reply"),
            Some(&who.cookie),
            &[("body", body)],
        )
        .await;
    expect(&response, StatusCode::SEE_OTHER, "reply");
    let url = location(&response);
    url.rsplit_once("#post-")
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("no #post- anchor in {url}"))
}

async fn act(app: &TestApp, who: &Person, path: &str, fields: &[(&str, &str)]) {
    let response = app.post_form(path, Some(&who.cookie), fields).await;
    expect(&response, StatusCode::SEE_OTHER, path);
}

/// A new area `lab` with one subtopic `lab/bench` and a tag `probe`: a place with no threads.
async fn empty_subtopic(app: &TestApp) {
    let state = &app.state;
    let area = AreaForm {
        slug: "lab".into(),
        name: "Lab".into(),
        description: "Experiments".into(),
    };
    let done = structure::create_area(state, By::Operator, &area).await;
    assert!(matches!(done, Ok(Ok(_))), "area: {done:?}");
    let sub = SubtopicForm {
        area: "lab".into(),
        slug: "bench".into(),
        name: "Bench".into(),
        description: "Nothing here yet".into(),
        docs_url: String::new(),
    };
    let done = structure::create_subtopic(state, By::Operator, &sub).await;
    assert!(matches!(done, Ok(Ok(_))), "subtopic: {done:?}");
    let tag = TagForm {
        slug: "probe".into(),
        name: "Probe".into(),
        description: String::new(),
    };
    let done = structure::create_tag(state, By::Operator, &tag).await;
    assert!(matches!(done, Ok(Ok(_))), "tag: {done:?}");
}

fn ids(json: &Value, key: &str) -> Vec<i64> {
    json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("no items: {json}"))
        .iter()
        .map(|item| item[key].as_i64().unwrap_or(-1))
        .collect()
}

fn tab_counts(json: &Value) -> Vec<(String, i64)> {
    json["tabs"]
        .as_array()
        .unwrap_or_else(|| panic!("no tabs: {json}"))
        .iter()
        .map(|t| {
            (
                t["tab"].as_str().unwrap_or("").to_string(),
                t["count"].as_i64().unwrap_or(-1),
            )
        })
        .collect()
}

both!(
    /// "Ask a question" on a subtopic and on a tag leads to the compose form with that subtopic
    /// or tag chosen; signed out, through sign-in and back to the same choice.
    async fn the_ask_button_chooses_the_subtopic_or_tag(b: Backend) {
        let app = TestApp::demo(b).await;
        let ada = app.person("ada", Role::Member).await;

        let page = app.ok(NET_URL).await.html();
        let ask = attrs(&page, ".listing-header a.ask-button", "href");
        assert_eq!(ask, vec![format!("/new?subtopic={NET}")]);
        let form = app.get_as(&ask[0], &ada).await;
        expect(&form, StatusCode::OK, "compose from the subtopic");
        let chosen = attrs(&form.html(), "#f-subtopic option[selected]", "value");
        assert_eq!(chosen, vec![NET.to_string()]);

        let page = app.ok("/tags/network").await.html();
        let ask = attrs(&page, ".listing-header a.ask-button", "href");
        assert_eq!(ask, vec!["/new?tag=network".to_string()]);
        let form = app.get_as(&ask[0], &ada).await.html();
        assert_eq!(
            attrs(&form, "#f-tags", "value"),
            vec!["network".to_string()]
        );
        assert!(attrs(&form, "#f-subtopic option[selected]", "value").is_empty());

        // Signed out: sign in first, then back to the form with the tag still chosen.
        let response = app.get("/new?tag=network").await;
        assert_eq!(response.status, StatusCode::SEE_OTHER);
        assert_eq!(location(&response), "/signin?next=%2Fnew%3Ftag%3Dnetwork");

        // The home page asks too (no subtopic chosen there).
        let home = app.ok("/").await.html();
        assert_eq!(
            attrs(&home, "a.ask-button", "href"),
            vec!["/new".to_string()]
        );
    }
);

both!(
    /// Every sort has both orders as links, the current ones marked; each gives its order.
    async fn sort_and_order_controls_give_their_orders(b: Backend) {
        let app = TestApp::demo(b).await;
        let page = app.ok(&format!("{NET_URL}?sortBy=replies")).await.html();
        assert_eq!(
            texts(&page, "nav[aria-label=Order] a"),
            vec!["Most replies first", "Fewest replies first"]
        );
        assert_eq!(
            texts(&page, "nav[aria-label=Order] a[aria-current=true]"),
            vec!["Most replies first"]
        );
        assert_eq!(
            texts(&page, "nav[aria-label='Sort by'] a[aria-current=true]"),
            vec!["Most replies"]
        );
        let asc = attrs(&page, "nav[aria-label=Order] a", "href")[1].clone();
        assert_eq!(asc, format!("{NET_URL}?sortBy=replies&sortOrder=asc"));

        // The order the links promise is the order the listing has (its JSON twin, same query).
        for (query, key, ascending) in [
            ("sortBy=replies&sortOrder=asc", "replies", true),
            ("sortBy=replies", "replies", false),
            ("sortBy=newest&sortOrder=asc", "created_at", true),
            ("sortBy=newest", "created_at", false),
            ("sortBy=views&sortOrder=asc", "views", true),
        ] {
            let page = app.ok(&format!("{NET_URL}?{query}")).await.html();
            let current = texts(&page, "nav[aria-label=Order] a[aria-current=true]");
            assert_eq!(current.len(), 1, "{query}");
            assert!(current[0].contains("first"));
            let titles = texts(&page, "tbody a.title");
            let json = app
                .ok(&format!("/api/v1/topics/{NET}/threads?{query}"))
                .await
                .json();
            let threads = json["listing"]["threads"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            assert!(threads.len() > 3, "{query}");
            let json_titles: Vec<String> = threads
                .iter()
                .map(|t| t["title"].as_str().unwrap_or("").to_string())
                .collect();
            assert_eq!(titles, json_titles, "{query}: page and API agree");
            let values: Vec<String> = threads
                .iter()
                .map(|t| match &t[key] {
                    Value::Number(n) => format!("{:020}", n.as_i64().unwrap_or(0)),
                    other => other.as_str().unwrap_or("").to_string(),
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort();
            if !ascending {
                sorted.reverse();
            }
            assert_eq!(values, sorted, "{query}");
        }
    }
);

both!(
    /// "Unanswered" lists threads nobody replied to, but neither pinned nor locked ones.
    async fn unanswered_leaves_out_pinned_and_locked(b: Backend) {
        let app = TestApp::demo(b).await;
        let ada = app.person("ada", Role::Member).await;
        let moderator = app.person("mo", Role::Moderator).await;
        let (open, _) = start(&app, &ada, NET, "Open question nobody answered", "network").await;
        let (pinned, _) = start(&app, &ada, NET, "Pinned notice without replies", "network").await;
        let (locked, _) = start(
            &app,
            &ada,
            NET,
            "Locked question without replies",
            "network",
        )
        .await;
        let (answered, _) = start(&app, &ada, NET, "Answered question here", "network").await;
        reply(&app, &moderator, answered, "Here is the answer you need.").await;
        act(
            &app,
            &moderator,
            &format!("/thread/{pinned}/pin"),
            &[("scope", "subtopic")],
        )
        .await;
        act(
            &app,
            &moderator,
            &format!("/thread/{locked}/lock"),
            &[("reason", "Duplicate")],
        )
        .await;

        let json = app
            .ok(&format!(
                "/api/v1/topics/{NET}/threads?filter=unanswered&sortBy=newest"
            ))
            .await
            .json();
        let listed: Vec<i64> = json["listing"]["threads"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|t| t["id"].as_i64().unwrap_or(0))
            .collect();
        assert!(listed.contains(&open), "{listed:?}");
        for left_out in [pinned, locked, answered] {
            assert!(!listed.contains(&left_out), "{left_out} in {listed:?}");
        }
        let page = app.ok(&format!("{NET_URL}?filter=unanswered")).await.html();
        let titles = texts(&page, "tbody a.title");
        assert!(titles.contains(&"Open question nobody answered".to_string()));
        assert!(
            !titles
                .iter()
                .any(|t| t.starts_with("Pinned notice") || t.starts_with("Locked question"))
        );
    }
);

both!(
    /// An empty place says "start one" with the button; a filter matching nothing says so and
    /// links to the listing without it. Counts read "1 thread", "2 posts", "1 reply".
    async fn empty_states_say_why_and_counts_agree(b: Backend) {
        let app = TestApp::empty(b).await;
        empty_subtopic(&app).await;
        let home = app.ok("/").await.html();
        assert_eq!(
            texts(&home, ".empty-listing p")[0],
            "No threads yet — start one."
        );
        let bench = "/topics/lab/bench";
        let page = app.ok(bench).await.html();
        assert_eq!(
            texts(&page, ".empty-listing p")[0],
            "No threads yet — start one."
        );
        assert_eq!(
            attrs(&page, ".empty-listing a.ask-button", "href"),
            vec!["/new?subtopic=lab/bench".to_string()]
        );
        assert!(texts(&page, ".empty-filtered").is_empty());
        let page = app.ok("/tags/probe").await.html();
        assert_eq!(
            attrs(&page, ".empty-listing a.ask-button", "href"),
            vec!["/new?tag=probe".to_string()]
        );

        let ada = app.person("ada", Role::Member).await;
        let bo = app.person("bo", Role::Member).await;
        let (thread, url) = start(&app, &ada, "lab/bench", "First experiment", "probe").await;
        reply(&app, &bo, thread, "Reproduced it on my machine too.").await;

        // A filter that matches nothing: says so, and clearing it keeps the sort.
        for place in [bench, "/tags/probe"] {
            let filtered = format!("{place}?sortBy=newest&filter=solved");
            let page = app.ok(&filtered).await.html();
            let empty = texts(&page, ".empty-filtered");
            assert_eq!(
                empty,
                vec!["No threads match this filter — clear it."],
                "{place}"
            );
            assert!(texts(&page, ".empty-listing").is_empty());
            let clear = attrs(&page, ".empty-filtered a", "href");
            assert_eq!(clear, vec![format!("{place}?sortBy=newest")]);
            let cleared = app.ok(&clear[0]).await.html();
            assert_eq!(texts(&cleared, "tbody a.title"), vec!["First experiment"]);
            assert!(texts(&cleared, ".empty").is_empty());
        }

        // Counts and their nouns.
        let home = app.ok("/").await.html();
        assert!(texts(&home, ".empty-listing").is_empty());
        let meta = texts(&home, ".subtopic-card .meta")[0].clone();
        assert!(
            meta.contains("1 thread ·") && meta.contains("2 posts"),
            "{meta}"
        );
        let tags = app.ok("/tags").await.html();
        assert_eq!(texts(&tags, ".tag-index .count"), vec!["1 thread"]);
        let thread = app.ok(&url).await.text();
        assert!(thread.contains("1 reply"), "the thread header");
        assert!(!thread.contains("1 replies"));
        let profile = app.ok("/users/bo").await.html();
        let meta = texts(&profile, ".profile .meta")[0].clone();
        assert!(
            meta.contains("0 threads") && meta.contains("1 post"),
            "{meta}"
        );
        assert!(!meta.contains("1 posts"));
        let tabs = texts(&profile, ".profile-tabs a");
        assert_eq!(
            tabs,
            vec![
                "Activity (1 post)",
                "Threads (0 threads)",
                "Replies (1 reply)",
                "Accepted answers (0 answers)",
                "Boosts given (0 boosts)",
                "Boosts received (0 boosts)",
            ]
        );
        let members = app.ok("/users").await.html();
        assert!(
            texts(&members, ".hint")[0].starts_with("2 members"),
            "{:?}",
            texts(&members, ".hint")
        );
        let one = app.ok("/users?q=bo").await.html();
        assert!(
            texts(&one, ".hint")[0].starts_with("1 member whose"),
            "{:?}",
            texts(&one, ".hint")
        );
    }
);

both!(
    /// Each profile tab lists exactly its posts, newest first, with its count; hidden posts
    /// and removed threads appear nowhere (lists, counts, the feed).
    async fn profile_tabs_show_exactly_what_readers_may_see(b: Backend) {
        let app = TestApp::demo(b).await;
        let ada = app.person("ada", Role::Member).await;
        let bob = app.person("bob", Role::Member).await;
        let moderator = app.person("mo", Role::Moderator).await;

        let (t1, _) = start(&app, &ada, NET, "Ada asks about path monitors", "network").await;
        let t1_op = opening(&app, t1).await;
        let r1 = reply(
            &app,
            &bob,
            t1,
            "Bob answers: restart the monitor on a new queue.",
        )
        .await;
        let r2 = reply(&app, &ada, t1, "Ada thanks Bob for the answer here.").await;
        let (t2, _) = start(&app, &bob, NET, "Bob asks about sockets", "network").await;
        let r3 = reply(&app, &ada, t2, "Ada replies to Bob about sockets.").await;
        let r4 = reply(&app, &ada, t2, "Ada writes something a moderator hides.").await;
        let (t3, _) = start(&app, &ada, NET, "Ada thread that is removed", "network").await;
        let t3_op = opening(&app, t3).await;
        act(&app, &ada, &format!("/posts/{r1}/accept"), &[]).await;
        act(&app, &bob, &format!("/posts/{t1_op}/boost"), &[]).await;
        act(&app, &ada, &format!("/posts/{r1}/boost"), &[]).await;
        act(&app, &bob, &format!("/posts/{r4}/boost"), &[]).await;
        act(
            &app,
            &moderator,
            &format!("/posts/{r4}/hide"),
            &[("reason", "Off topic")],
        )
        .await;
        act(
            &app,
            &moderator,
            &format!("/posts/{t3_op}/hide"),
            &[("reason", "Spam")],
        )
        .await;

        let tab = |user: &str, tab: &str| format!("/api/v1/users/{user}?tab={tab}");
        let ada_activity = app.ok("/api/v1/users/ada").await.json();
        assert_eq!(ada_activity["tab"], "activity");
        assert_eq!(ids(&ada_activity, "post_id"), vec![r3, r2, t1_op]);
        assert_eq!(
            tab_counts(&ada_activity),
            vec![
                ("activity".to_string(), 3),
                ("threads".to_string(), 1),
                ("replies".to_string(), 2),
                ("answers".to_string(), 0),
                ("boosts-given".to_string(), 1),
                ("boosts-received".to_string(), 1),
            ]
        );
        let json = app.ok(&tab("ada", "threads")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![t1_op]);
        assert_eq!(json["items"][0]["kind"], "thread");
        let json = app.ok(&tab("ada", "replies")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![r3, r2]);
        let json = app.ok(&tab("ada", "answers")).await.json();
        assert_eq!(ids(&json, "post_id"), Vec::<i64>::new());
        let json = app.ok(&tab("bob", "answers")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![r1]);
        assert_eq!(json["items"][0]["accepted"], true);
        let json = app.ok(&tab("ada", "boosts-given")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![r1]);
        assert_eq!(json["items"][0]["author"]["username"], "bob");
        let json = app.ok(&tab("ada", "boosts-received")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![t1_op]);
        assert_eq!(json["items"][0]["boosted_by"]["username"], "bob");
        // Bob's boost of the hidden reply is not there, given or received.
        let json = app.ok(&tab("bob", "boosts-given")).await.json();
        assert_eq!(ids(&json, "post_id"), vec![t1_op]);

        // The page shows the same, its tabs real links, the current one marked; nothing
        // hidden or removed on any tab, whoever reads (the page is the same for everyone).
        for reader in [None, Some(&moderator)] {
            for tab in [
                "activity",
                "threads",
                "replies",
                "answers",
                "boosts-given",
                "boosts-received",
            ] {
                let path = format!("/users/ada?tab={tab}");
                let response = match reader {
                    Some(who) => app.get_as(&path, who).await,
                    None => app.get(&path).await,
                };
                expect(&response, StatusCode::OK, &path);
                let text = response.text();
                assert!(!text.contains("a moderator hides"), "{path}");
                assert!(!text.contains("that is removed"), "{path}");
                assert!(!text.contains(&format!("#post-{r4}\"")), "{path}");
                let html = response.html();
                let current = attrs(&html, ".profile-tabs a[aria-current=page]", "href");
                let expected = if tab == "activity" {
                    "/users/ada".to_string()
                } else {
                    format!("/users/ada?tab={tab}")
                };
                assert_eq!(current, vec![expected], "{path}");
            }
        }
        let page = app.ok("/users/ada?tab=replies").await.html();
        let links = attrs(&page, ".profile-item a.title", "href");
        assert_eq!(links.len(), 2);
        assert!(links[0].ends_with(&format!("#post-{r3}")), "{links:?}");
        assert_eq!(texts(&page, ".profile-item .title-line .badge")[0], "Reply");
        let page = app.ok("/users/bob?tab=answers").await.html();
        assert!(
            texts(&page, ".profile-item .badge.solved").contains(&"Accepted answer".to_string())
        );

        // A bad tab is named; a page past the end is 404.
        let response = app.get("/api/v1/users/ada?tab=likes").await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
        assert_eq!(response.json()["error"]["param"], "tab");
        assert_eq!(
            app.get("/users/ada?tab=replies&page=2").await.status,
            StatusCode::NOT_FOUND
        );

        // The member's feed: the same posts, newest first, nothing hidden.
        let feed = app.ok("/users/ada/feed.atom").await;
        let feed = feed_rs::parser::parse(feed.body.as_slice()).unwrap_or_else(|e| panic!("{e}"));
        let links: Vec<String> = feed
            .entries
            .iter()
            .map(|e| e.links[0].href.clone())
            .collect();
        assert_eq!(links.len(), 3, "{links:?}");
        for (link, post) in links.iter().zip([r3, r2, t1_op]) {
            assert!(link.ends_with(&format!("#post-{post}")), "{link}");
        }
    }
);

both!(
    /// The directory orders by posts, accepted answers or joining, searches names by their
    /// start, on the page and in the API; a bad order is named (400) on both.
    async fn the_directory_sorts_and_searches(b: Backend) {
        let app = TestApp::demo(b).await;
        let numbers = |json: &Value, key: &str| -> Vec<i64> {
            json["members"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .map(|m| m[key].as_i64().unwrap_or(-1))
                .collect()
        };
        let descending = |v: &[i64]| v.windows(2).all(|w| w[0] >= w[1]);

        let by_posts = app.ok("/api/v1/users").await.json();
        assert_eq!(by_posts["sort"], "posts");
        let posts = numbers(&by_posts, "posts");
        assert!(posts.len() > 3 && descending(&posts), "{posts:?}");
        let by_answers = app.ok("/api/v1/users?sort=answers").await.json();
        let answers = numbers(&by_answers, "accepted_answers");
        assert!(answers[0] > 0 && descending(&answers), "{answers:?}");
        let by_joined = app.ok("/api/v1/users?sort=joined").await.json();
        let joined: Vec<String> = by_joined["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["joined"].as_str().unwrap_or("").to_string())
            .collect();
        let mut newest_first = joined.clone();
        newest_first.sort();
        newest_first.reverse();
        assert_eq!(joined, newest_first);

        let found = app.ok("/api/v1/users?q=JAV").await.json();
        let names: Vec<String> = found["members"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| m["username"].as_str().unwrap_or("").to_string())
            .collect();
        assert!(names.contains(&"javery".to_string()), "{names:?}");
        assert_eq!(found["total"].as_i64(), Some(names.len() as i64));
        let nobody = app.ok("/api/v1/users?q=zzqqxx").await.json();
        assert_eq!(nobody["total"], 0);

        let bad = app.get("/api/v1/users?sort=karma").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        assert_eq!(bad.json()["error"]["code"], "bad_request");
        assert_eq!(bad.json()["error"]["param"], "sort");

        // The page: the same orders as links (current marked), the search box keeps the query.
        let page = app.ok("/users?sort=answers&q=j").await.html();
        assert_eq!(
            texts(&page, "nav.sorts a[aria-current=true]"),
            vec!["Most accepted answers"]
        );
        assert_eq!(attrs(&page, "#member-q", "value"), vec!["j".to_string()]);
        assert_eq!(
            attrs(&page, ".directory-search input[name=sort]", "value"),
            vec!["answers".to_string()]
        );
        let shown: Vec<String> = texts(&page, "table.members a.member");
        assert!(!shown.is_empty());
        for member in &shown {
            let lower = member.to_lowercase();
            assert!(lower.starts_with('j') || lower.contains(" @j"), "{member}");
        }
        let page_json = app.ok("/api/v1/users?sort=answers&q=j").await.json();
        assert_eq!(
            shown.len(),
            page_json["members"].as_array().map_or(0, Vec::len)
        );
        let bad = app.get("/users?sort=karma&q=j").await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let html = bad.html();
        assert!(texts(&html, "#directory-error")[0].contains("karma"));
        assert_eq!(attrs(&html, "#member-q", "value"), vec!["j".to_string()]);
        assert!(!texts(&html, "table.members tbody tr").is_empty());
    }
);

both!(
    /// A member's feeds and the site-wide feed parse with a real feed parser, list the right
    /// things newest first, and are linked from their pages.
    async fn member_and_site_feeds(b: Backend) {
        let app = TestApp::demo(b).await;
        let ada = app.person("ada", Role::Member).await;
        let moderator = app.person("mo", Role::Moderator).await;
        let (first, _) = start(&app, &ada, NET, "Ada's first feed thread", "network").await;
        let reply_id = reply(&app, &ada, first, "Ada follows up on her own thread.").await;
        let (gone, _) = start(&app, &ada, NET, "Ada's thread that gets hidden", "network").await;
        start(&app, &ada, NET, "Ada's newest feed thread", "network").await;
        let gone_op = opening(&app, gone).await;
        act(
            &app,
            &moderator,
            &format!("/posts/{gone_op}/hide"),
            &[("reason", "Spam")],
        )
        .await;

        for (path, mime) in [
            ("/users/ada/feed.rss", "application/rss+xml; charset=utf-8"),
            (
                "/users/ada/feed.atom",
                "application/atom+xml; charset=utf-8",
            ),
        ] {
            let response = app.ok(path).await;
            assert_eq!(response.header("content-type"), Some(mime));
            let feed = feed_rs::parser::parse(response.body.as_slice())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            let titles: Vec<String> = feed
                .entries
                .iter()
                .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
                .collect();
            assert_eq!(
                titles,
                vec![
                    "Ada's newest feed thread",
                    "Re: Ada's first feed thread",
                    "Ada's first feed thread"
                ],
                "{path}"
            );
            assert!(
                feed.entries[1].links[0]
                    .href
                    .starts_with("http://127.0.0.1:8080/thread/")
            );
            assert!(
                feed.entries[1].links[0]
                    .href
                    .ends_with(&format!("#post-{reply_id}"))
            );
        }
        let profile = app.ok("/users/ada").await.html();
        assert_eq!(
            attrs(&profile, "link[rel=alternate]", "href"),
            vec!["/users/ada/feed.rss", "/users/ada/feed.atom"]
        );
        assert_eq!(
            attrs(&profile, ".feed-link a", "href"),
            vec!["/users/ada/feed.rss", "/users/ada/feed.atom"]
        );
        assert_eq!(
            app.get("/users/nobody/feed.rss").await.status,
            StatusCode::NOT_FOUND
        );

        // Every visible thread, up to a page of them.
        let areas = app.ok("/api/v1/areas").await.json();
        let threads: i64 = areas["areas"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .flat_map(|a| a["subtopics"].as_array().cloned().unwrap_or_default())
            .map(|s| s["threads"].as_i64().unwrap_or(0))
            .sum();
        let expected = usize::try_from(threads.min(30)).unwrap_or(0);
        assert!(expected > 20, "{threads}");
        for path in ["/feed.rss", "/feed.atom"] {
            let feed = feed_rs::parser::parse(app.ok(path).await.body.as_slice())
                .unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(
                feed.title.map(|t| t.content),
                Some("Newest threads · Agora".to_string())
            );
            let titles: Vec<String> = feed
                .entries
                .iter()
                .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
                .collect();
            assert_eq!(titles.len(), expected, "{path}");
            assert_eq!(titles[0], "Ada's newest feed thread");
            assert_eq!(titles[1], "Ada's first feed thread");
            assert!(!titles.iter().any(|t| t.contains("gets hidden")));
            let published: Vec<_> = feed.entries.iter().map(|e| e.published).collect();
            assert!(
                published.windows(2).all(|w| w[0] >= w[1]),
                "{path}: newest first"
            );
            // Each thread once.
            let links: std::collections::HashSet<String> = feed
                .entries
                .iter()
                .map(|e| e.links[0].href.clone())
                .collect();
            assert_eq!(links.len(), expected);
        }
        let home = app.ok("/").await.html();
        assert_eq!(
            attrs(&home, "link[rel=alternate]", "href"),
            vec!["/feed.rss", "/feed.atom"]
        );
        assert_eq!(
            attrs(&home, ".feed-link a", "href"),
            vec!["/feed.rss", "/feed.atom"]
        );
    }
);

both!(
    /// Deep listing pages are cut from the listing's whole order, kept until a write touches
    /// the listing: every deep page holds exactly the threads `OFFSET` reads at that moment,
    /// before and after a reply moves a thread to the top, in any sort, for a subtopic and a tag.
    async fn deep_pages_are_the_same_threads_offset_reads(b: Backend) {
        use agora::services::listing_order::FROM_PAGE;
        use agora_store::{ListingFilter, ListingQuery, ListingScope, SortKey, SortOrder};

        let app = TestApp::empty(b).await;
        agora::services::generate::generate(
            app.store(),
            agora::services::generate::Plan {
                threads: 1_500,
                replies_per_thread: 1,
                seed: 7,
            },
            indicatif::ProgressBar::hidden(),
        )
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
        // Generated posts are this build's rendering: a start renders none of them again.
        assert_eq!(
            agora::services::archive::rerender_if_stale(app.store())
                .await
                .unwrap_or_else(|e| panic!("{e:#}")),
            None
        );
        let areas = app.store().areas().await.unwrap_or_else(|e| panic!("{e}"));
        let biggest = areas
            .iter()
            .flat_map(|a| &a.subtopics)
            .max_by_key(|s| s.thread_count)
            .unwrap_or_else(|| panic!("no subtopic"));
        let url = format!("/topics/{}/{}", biggest.area_slug, biggest.slug);
        let pages = (biggest.thread_count as u32).div_ceil(30);
        assert!(pages > FROM_PAGE + 2, "{} pages only", pages);
        let tag = app
            .store()
            .tags()
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .max_by_key(|t| t.thread_count)
            .unwrap_or_else(|| panic!("no tag"));

        // What OFFSET reads for a page: the ground truth.
        let offset_ids = |scope: ListingScope, sort: SortKey, page: u32| {
            let store = app.store().clone();
            async move {
                let q = ListingQuery {
                    scope,
                    sort,
                    order: SortOrder::Desc,
                    filter: ListingFilter::All,
                    page,
                    per_page: 30,
                };
                let (_, listed) = store.listing(q).await.unwrap_or_else(|e| panic!("{e}"));
                listed.threads.iter().map(|t| t.id.0).collect::<Vec<_>>()
            }
        };
        let served_ids = |path: String| {
            let app = &app;
            async move {
                let json = app.ok(&format!("/api/v1{path}")).await.json();
                json["listing"]["threads"]
                    .as_array()
                    .map(|ts| {
                        ts.iter()
                            .filter_map(|t| t["id"].as_i64())
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default()
            }
        };
        let check = |label: &'static str| {
            let (url, tag_url) = (url.clone(), format!("/tags/{}", tag.slug));
            let (sub, tag_id) = (biggest.id, tag.id);
            let offset_ids = &offset_ids;
            let served_ids = &served_ids;
            async move {
                for page in [FROM_PAGE, FROM_PAGE + 1, pages] {
                    for (sort, name) in [
                        (SortKey::Activity, "activity"),
                        (SortKey::Replies, "replies"),
                    ] {
                        let served =
                            served_ids(format!("{url}/threads?sortBy={name}&page={page}")).await;
                        let truth = offset_ids(ListingScope::Subtopic(sub), sort, page).await;
                        assert!(
                            !served.is_empty(),
                            "{label}: page {page} by {name} is empty"
                        );
                        assert_eq!(served, truth, "{label}: page {page} by {name}");
                    }
                }
                let tag_page = FROM_PAGE;
                let served = served_ids(format!("{tag_url}/threads?page={tag_page}")).await;
                let truth =
                    offset_ids(ListingScope::Tag(tag_id), SortKey::Activity, tag_page).await;
                assert_eq!(served, truth, "{label}: tag page {tag_page}");
            }
        };
        check("before any write").await;

        // A reply to a thread on a deep page moves it to the top: every page after shifts.
        let deep = served_ids(format!("{url}/threads?page={}", FROM_PAGE + 1)).await;
        let member = app.person("deep_reader", agora_store::Role::Member).await;
        crate::util::reply_as(&app, &member, deep[0], "A reply that moves this thread up.").await;
        let after = served_ids(format!("{url}/threads?page={}", FROM_PAGE + 1)).await;
        assert!(
            !after.contains(&deep[0]),
            "the thread did not move off its deep page"
        );
        check("after a reply").await;

        // Concurrent deep pages of a listing whose order was dropped read it once between them
        // (tasks on both workers, each asking for its own page).
        crate::util::reply_as(&app, &member, deep[1], "Another reply, dropping the order.").await;
        let before = app.state.listing_orders.reads();
        let asks: Vec<_> = (FROM_PAGE..FROM_PAGE + 8)
            .map(|page| {
                let state = app.state.clone();
                let q = ListingQuery {
                    scope: ListingScope::Subtopic(biggest.id),
                    sort: SortKey::Activity,
                    order: SortOrder::Desc,
                    filter: ListingFilter::All,
                    page,
                    per_page: 30,
                };
                tokio::spawn(
                    async move { state.listing_orders.page(&state.store, q).await.is_ok() },
                )
            })
            .collect();
        for ask in asks {
            assert!(ask.await.unwrap_or(false), "a deep page failed");
        }
        assert_eq!(app.state.listing_orders.reads() - before, 1, "orders read");
    }
);
