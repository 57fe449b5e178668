//! Thread pages people enjoy: permalinks that open the right page of a long thread wherever a
//! post is linked from, replies that answer one post (stored, shown, counted, refused when
//! they point elsewhere, carried by the archive), generated avatars, highlighted code in the
//! languages developers write, and deleting that asks first.

use agora_store::archive::{Area, Flag, Post, Revision, Subtopic, Thread, User};
use agora_store::{Archive, PostId, Role, ThreadKind, Timestamp};
use axum::http::StatusCode;
use serde_json::json;

use crate::util::{Backend, Person, TestApp, attrs, both, texts};

fn ts(seconds: i64) -> Timestamp {
    Timestamp::from_micros(1_767_225_600_000_000 + seconds * 1_000_000) // 2026-01-01
}

fn user(name: &str, display: &str) -> User {
    User {
        username: name.into(),
        display_name: display.into(),
        role: Role::Member,
        staff_title: None,
        signature: String::new(),
        created_at: ts(0),
        account: None,
        avatar: None,
        signature_html: String::new(),
    }
}

fn post(id: i64, author: &str, at: i64, body: String) -> Post {
    Post {
        id,
        author: author.into(),
        created_at: ts(at),
        body,
        boosts: Vec::new(),
        revisions: Vec::new(),
        deleted: None,
        hidden: None,
        reply_to: None,
        body_html: String::new(),
    }
}

/// The long thread's post ids: post id `1000 + position`.
fn long_id(position: i64) -> i64 {
    1000 + position
}

/// One thread of 101 posts (three pages of 50): the post at position 100 (page 3) answers
/// the one at position 55 (page 2), is the accepted answer, was edited, and is flagged.
fn long_thread() -> Archive {
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
    archive.users.push(user("asker", "Ada Asker"));
    archive.users.push(user("helper", "Hal Helper"));
    archive.users.push(user("reporter", "Rita Reporter"));
    let mut posts = Vec::new();
    for position in 0..=100 {
        let author = if position % 2 == 0 { "asker" } else { "helper" };
        let body = match position {
            0 => "How do I keep a long thread navigable? Opening post.".to_string(),
            100 => "Quasarwidget is the word only this last answer holds.".to_string(),
            n => format!("Reply number {n} in the long thread."),
        };
        posts.push(post(long_id(position), author, position * 60, body));
    }
    posts[100].reply_to = Some(long_id(55));
    posts[100].revisions = vec![
        Revision {
            created_at: ts(6_000),
            author: "asker".into(),
            reason: None,
            body: "An earlier text of the last answer.".into(),
        },
        Revision {
            created_at: ts(6_100),
            author: "asker".into(),
            reason: Some("Clearer".into()),
            body: posts[100].body.clone(),
        },
    ];
    posts[100].created_at = ts(6_000);
    posts[100].revisions[0].created_at = ts(6_000);
    archive.threads.push(Thread {
        id: 1,
        subtopic: "area/sub".into(),
        title: "A long thread with three pages of posts".into(),
        kind: ThreadKind::Question,
        tags: Vec::new(),
        pinned: None,
        locked: None,
        views: 0,
        accepted_post_id: Some(long_id(100)),
        recommended_post_id: None,
        posts,
        excerpt: String::new(),
    });
    archive.flags.push(Flag {
        post_id: long_id(100),
        user: "reporter".into(),
        reason: "Please look at this answer".into(),
        created_at: ts(7_000),
        resolved: None,
    });
    archive
}

const LONG_URL: &str = "/thread/1/a-long-thread-with-three-pages-of-posts";

both!(
    /// Every place that links to the post on page 3 names page 3 and the post's anchor: the
    /// post's own permalink, the accepted-answer jump link (from page 1), the feed, search,
    /// the revisions page, the review queue, the redirect after boosting it, the API; and the
    /// post that answers one on page 2 links to page 2.
    async fn permalinks_open_the_right_page(b: Backend) {
        let app = TestApp::with_archive(b, long_thread()).await;
        let last = long_id(100);
        let want = format!("{LONG_URL}?page=3#post-{last}");
        let on_page_two = format!("{LONG_URL}?page=2#post-{}", long_id(55));

        // The thread page: page 1's jump link, page 3's permalink and "In reply to".
        let first = app.ok(LONG_URL).await.html();
        assert_eq!(
            attrs(&first, ".answer-links .accepted a", "href"),
            vec![want.clone()]
        );
        // Early posts link to page 1.
        assert!(
            attrs(&first, ".post-time a", "href")
                .contains(&format!("{LONG_URL}#post-{}", long_id(3))),
            "{:?}",
            attrs(&first, ".post-time a", "href")
        );
        let third = app.ok(&format!("{LONG_URL}?page=3")).await.html();
        assert_eq!(
            attrs(&third, &format!("#post-{last} .post-time a"), "href"),
            vec![want.clone()]
        );
        assert_eq!(
            texts(&third, &format!("#post-{last} .in-reply-to")),
            vec!["In reply to @helper".to_string()]
        );
        assert_eq!(
            attrs(&third, &format!("#post-{last} .in-reply-to a"), "href"),
            vec![on_page_two.clone()]
        );
        // The post answered counts its reply.
        let second = app.ok(&format!("{LONG_URL}?page=2")).await.html();
        assert_eq!(
            texts(&second, &format!("#post-{} .reply-count", long_id(55))),
            vec!["1 reply".to_string()]
        );

        // The API's post view and its thread's answer link.
        let api = app.ok("/api/v1/threads/1?page=3").await.json();
        let post = api["posts"]
            .as_array()
            .and_then(|posts| posts.iter().find(|p| p["id"] == json!(last)))
            .cloned()
            .unwrap_or_else(|| panic!("no post {last} in {api}"));
        assert_eq!(post["url"], json!(want));
        assert_eq!(post["reply_to"]["url"], json!(on_page_two));
        assert_eq!(post["reply_to"]["post_id"], json!(long_id(55)));
        assert_eq!(api["accepted_answer"]["url"], json!(want));

        // The thread's feed.
        let feed = app.ok("/thread/1/feed.atom").await.text();
        assert!(feed.contains(&format!("{want}\"")), "{feed}");

        // Search.
        let found = app.search("quasarwidget").await;
        let urls: Vec<&str> = found["results"]
            .as_array()
            .map(|r| r.iter().filter_map(|r| r["post_url"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(urls, vec![want.as_str()], "{found}");
        let page = app.ok("/search?q=quasarwidget").await.html();
        assert_eq!(attrs(&page, ".snippet a", "href"), vec![want.clone()]);

        // The revisions page.
        let revisions = app.ok(&format!("/posts/{last}/revisions")).await.html();
        assert_eq!(attrs(&revisions, ".lede a", "href"), vec![want.clone()]);

        // The review queue, page and API.
        let moderator = app.person("mod_mia", Role::Moderator).await;
        let review = app.get_as("/review", &moderator).await;
        assert_eq!(review.status, StatusCode::OK, "{}", review.text());
        assert!(
            attrs(&review.html(), "a", "href").contains(&want),
            "{}",
            review.text()
        );
        let token = app.api_token(&moderator, "read").await;
        let flags = app
            .api("GET", "/api/v1/flags", Some(&token), None)
            .await
            .json();
        assert_eq!(flags["flags"][0]["post_url"], json!(want), "{flags}");

        // After a write, back to the post's page.
        let reader = app.person("rob_reader", Role::Member).await;
        let boosted = app
            .post_form(&format!("/posts/{last}/boost"), Some(&reader.cookie), &[])
            .await;
        assert_eq!(boosted.status, StatusCode::SEE_OTHER, "{}", boosted.text());
        assert_eq!(boosted.header("location"), Some(want.as_str()));

        // A new reply (position 101, page 3) answering the opening post: its URL names page 3,
        // its "In reply to" page 1.
        let token = app.api_token(&reader, "write").await;
        let created = app
            .api(
                "POST",
                "/api/v1/threads/1/posts",
                Some(&token),
                Some(
                    json!({ "body": "An answer to the very first post.", "reply_to": long_id(0) }),
                ),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
        let created = created.json();
        let new_id = created["post_id"].as_i64().unwrap_or_default();
        assert_eq!(
            created["url"],
            json!(format!("{LONG_URL}?page=3#post-{new_id}"))
        );
        let third = app.ok(&format!("{LONG_URL}?page=3")).await.html();
        assert_eq!(
            attrs(&third, &format!("#post-{new_id} .in-reply-to a"), "href"),
            vec![format!("{LONG_URL}#post-{}", long_id(0))]
        );
    }
);

/// Starts a thread through the form; returns its id and URL.
async fn start(app: &TestApp, who: &Person, title: &str) -> (i64, String) {
    let r = app
        .post_form(
            "/new",
            Some(&who.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", title),
                ("tags", "network"),
                ("kind", "question"),
                ("body", "The question, long enough to be a post."),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let url = r
        .header("location")
        .unwrap_or_default()
        .split('#')
        .next()
        .unwrap_or_default()
        .to_string();
    let id = url
        .trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no id in {url}"));
    (id, url)
}

/// Replies through the form (answering `to`, if given); returns the new post's id.
async fn reply(app: &TestApp, who: &Person, thread: i64, body: &str, to: Option<i64>) -> i64 {
    let to = to.map(|t| t.to_string()).unwrap_or_default();
    let r = app
        .post_form(
            &format!("/thread/{thread}/reply"),
            Some(&who.cookie),
            &[("body", body), ("reply_to", &to)],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    r.header("location")
        .and_then(|l| l.rsplit_once("#post-"))
        .and_then(|(_, id)| id.parse().ok())
        .unwrap_or_else(|| panic!("no post in {:?}", r.header("location")))
}

/// The reply count a post shows on its thread page (0 when it shows none).
async fn shown_replies(app: &TestApp, url: &str, post: i64) -> String {
    texts(
        &app.ok(url).await.html(),
        &format!("#post-{post} .reply-count"),
    )
    .into_iter()
    .next()
    .unwrap_or_else(|| "0 replies".into())
}

async fn post_count(app: &TestApp) -> i64 {
    app.store()
        .post_count()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

both!(
    /// A reply stores the post it answers and shows "In reply to @name"; the post answered
    /// counts its visible replies through reply, hide, show and delete; pointing into another
    /// thread, at a hidden or a deleted post is refused (form and API), changing nothing.
    async fn replies_answer_one_post(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_asks", Role::Member).await;
        let ben = app.person("ben_helps", Role::Member).await;
        let moderator = app.person("meg_mod", Role::Moderator).await;
        let (id, url) = start(&app, &ann, "How do replies to one post work here?").await;
        let (other, _) = start(&app, &ann, "Another thread entirely, for the refusals").await;
        let answer = reply(
            &app,
            &ben,
            id,
            "An answer to the question, at length.",
            None,
        )
        .await;
        let follow_up = reply(
            &app,
            &ann,
            id,
            "Thanks: a follow-up to that answer.",
            Some(answer),
        )
        .await;

        // Stored and shown.
        let page = app.ok(&url).await.html();
        assert_eq!(
            texts(&page, &format!("#post-{follow_up} .in-reply-to")),
            vec!["In reply to @ben_helps".to_string()]
        );
        assert_eq!(
            attrs(&page, &format!("#post-{follow_up} .in-reply-to a"), "href"),
            vec![format!("{url}#post-{answer}")]
        );
        assert_eq!(shown_replies(&app, &url, answer).await, "1 reply");
        let facts = app.store().thread(agora_store::ThreadId(id)).await;
        assert!(facts.is_ok_and(|t| t.is_some()));
        // The no-script Reply link, and the page it opens.
        assert!(
            attrs(&app.get_as(&url, &ann).await.html(), ".reply-link", "href")
                .contains(&format!("/thread/{id}/reply?to={answer}"))
        );
        let form = app
            .get_as(&format!("/thread/{id}/reply?to={answer}"), &ann)
            .await;
        assert_eq!(form.status, StatusCode::OK, "{}", form.text());
        let form = form.html();
        assert_eq!(
            attrs(&form, "input[name=reply_to]", "value"),
            vec![answer.to_string()]
        );
        assert_eq!(
            texts(&form, ".replying-to"),
            vec!["In reply to @ben_helps".to_string()]
        );

        // A second answer; hiding and showing it moves the count; deleting it too.
        let second = reply(
            &app,
            &ann,
            id,
            "And a second follow-up to the answer.",
            Some(answer),
        )
        .await;
        assert_eq!(shown_replies(&app, &url, answer).await, "2 replies");
        let hidden = app
            .post_form(
                &format!("/posts/{second}/hide"),
                Some(&moderator.cookie),
                &[("reason", "Off topic")],
            )
            .await;
        assert_eq!(hidden.status, StatusCode::SEE_OTHER, "{}", hidden.text());
        assert_eq!(shown_replies(&app, &url, answer).await, "1 reply");
        let shown = app
            .post_form(
                &format!("/posts/{second}/unhide"),
                Some(&moderator.cookie),
                &[],
            )
            .await;
        assert_eq!(shown.status, StatusCode::SEE_OTHER, "{}", shown.text());
        assert_eq!(shown_replies(&app, &url, answer).await, "2 replies");
        let deleted = app
            .post_form(
                &format!("/posts/{second}/delete"),
                Some(&ann.cookie),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER, "{}", deleted.text());
        assert_eq!(shown_replies(&app, &url, answer).await, "1 reply");

        // Refusals: another thread's post, a hidden post, a deleted post; nothing is written.
        let elsewhere = reply(
            &app,
            &ben,
            other,
            "A reply living in the other thread.",
            None,
        )
        .await;
        let gone = reply(&app, &ben, id, "A reply its author deletes again.", None).await;
        let deleted = app
            .post_form(
                &format!("/posts/{gone}/delete"),
                Some(&ben.cookie),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(deleted.status, StatusCode::SEE_OTHER);
        let veiled = reply(&app, &ben, id, "A reply a moderator hides.", None).await;
        let hidden = app
            .post_form(
                &format!("/posts/{veiled}/hide"),
                Some(&moderator.cookie),
                &[("reason", "Spam")],
            )
            .await;
        assert_eq!(hidden.status, StatusCode::SEE_OTHER);
        let token = app.api_token(&ann, "write").await;
        let before = post_count(&app).await;
        for target in [elsewhere, gone, veiled, 999_999] {
            let body = "A reply that must not be stored anywhere.";
            let r = app
                .post_form(
                    &format!("/thread/{id}/reply"),
                    Some(&ann.cookie),
                    &[("body", body), ("reply_to", &target.to_string())],
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "form, reply_to {target}: {}",
                r.text()
            );
            let html = r.html();
            assert_eq!(
                attrs(&html, "#errors a", "href"),
                vec!["#f-reply_to".to_string()]
            );
            assert_eq!(texts(&html, "textarea[name=body]"), vec![body.to_string()]);
            let r = app
                .api(
                    "POST",
                    &format!("/api/v1/threads/{id}/posts"),
                    Some(&token),
                    Some(json!({ "body": body, "reply_to": target })),
                )
                .await;
            // The API: a post that does not exist is 404; one that exists but cannot be
            // answered here conflicts with its state (409) and names reply_to.
            if target == 999_999 {
                assert_eq!(r.status, StatusCode::NOT_FOUND, "API: {}", r.text());
                assert_eq!(r.json()["error"]["code"], json!("not_found"));
            } else {
                assert_eq!(
                    r.status,
                    StatusCode::CONFLICT,
                    "API, reply_to {target}: {}",
                    r.text()
                );
                assert_eq!(
                    r.json()["error"]["param"],
                    json!("reply_to"),
                    "{}",
                    r.text()
                );
            }
        }
        for bad in [json!(0), json!(-3), json!("seven")] {
            let r = app
                .api(
                    "POST",
                    &format!("/api/v1/threads/{id}/posts"),
                    Some(&token),
                    Some(json!({ "body": "A reply with a strange target.", "reply_to": bad })),
                )
                .await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{bad}: {}", r.text());
        }
        assert_eq!(post_count(&app).await, before, "a refused reply was stored");
        // The API takes a good one and shows it in the post view.
        let r = app
            .api(
                "POST",
                &format!("/api/v1/threads/{id}/posts"),
                Some(&token),
                Some(json!({ "body": "A third follow-up, through the API.", "reply_to": answer })),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        let api = app.ok(&format!("/api/v1/threads/{id}")).await.json();
        let posts = api["posts"].as_array().cloned().unwrap_or_default();
        let answered = posts
            .iter()
            .find(|p| p["id"] == json!(answer))
            .cloned()
            .unwrap_or_default();
        assert_eq!(answered["replies"], json!(2), "{answered}");
        assert_eq!(
            answered["author"]["avatar"]["initials"],
            json!("BH"),
            "{answered}"
        );
        assert!(answered["author"]["avatar"]["image_url"].is_null());
        let counted = posts
            .iter()
            .filter(|p| p["reply_to"]["post_id"] == json!(answer) && p["deleted"] == json!(false))
            .count();
        assert_eq!(counted, 2, "{api}");
        // Every stored counter agrees with the rows.
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
    }
);

both!(
    /// Export keeps which post each reply answers; importing the file into an empty forum
    /// shows it again and recounts the replies; an archive of the previous version (no
    /// `reply_to`) still imports, and a reply_to pointing at a later post is refused.
    async fn the_archive_carries_reply_to(b: Backend) {
        let app = TestApp::with_archive(b, long_thread()).await;
        let exported = app.store().export().await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exported.version, agora_store::archive::VERSION);
        assert!(exported.version >= 4, "reply_to came with version 4");
        let last = &exported.threads[0].posts[100];
        assert_eq!(last.reply_to, Some(long_id(55)));
        let text = serde_json::to_string(&exported).unwrap_or_default();
        assert_eq!(
            text.matches("\"reply_to\"").count(),
            1,
            "only the one reply carries it"
        );

        let again = TestApp::with_archive(b, exported.clone()).await;
        let third = again.ok(&format!("{LONG_URL}?page=3")).await.html();
        assert_eq!(
            texts(&third, &format!("#post-{} .in-reply-to", long_id(100))),
            vec!["In reply to @helper".to_string()]
        );
        let second = again.ok(&format!("{LONG_URL}?page=2")).await.html();
        assert_eq!(
            texts(&second, &format!("#post-{} .reply-count", long_id(55))),
            vec!["1 reply".to_string()]
        );
        let round = again
            .store()
            .export()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            round, exported,
            "export → import → export changed the archive"
        );

        // Version 3, as written before replies answered posts.
        let mut old = long_thread();
        old.version = 3;
        old.threads[0].posts[100].reply_to = None;
        let old_app = TestApp::with_archive(b, old).await;
        old_app.ok(&format!("{LONG_URL}?page=3")).await;

        let mut bad = long_thread();
        bad.threads[0].posts[10].reply_to = Some(long_id(20));
        let err = bad
            .validate()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("threads[0].posts[10].reply_to:"), "{err}");
        let mut opening = long_thread();
        opening.threads[0].posts[0].reply_to = Some(long_id(0));
        assert!(opening.validate().is_err());
    }
);

both!(
    /// Delete asks first. Without scripts the thread page's Delete opens a page saying what
    /// goes (an opening post: the thread and how many replies); a POST that did not confirm
    /// deletes nothing and is sent to that page; the confirmed one deletes.
    async fn deleting_asks_first(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_asks", Role::Member).await;
        let ben = app.person("ben_helps", Role::Member).await;
        let moderator = app.person("meg_mod", Role::Moderator).await;
        let (id, url) = start(&app, &ann, "A thread that a moderator deletes whole").await;
        let first = reply(&app, &ben, id, "The first of two replies here.", None).await;
        reply(&app, &ben, id, "The second of two replies here.", None).await;
        let page = app.get_as(&url, &moderator).await.html();
        let opening: i64 = attrs(&page, "li.post", "id")[0]
            .trim_start_matches("post-")
            .parse()
            .unwrap_or_default();
        // The thread page: a GET form to the confirmation page, with the question for scripts.
        assert_eq!(
            attrs(
                &page,
                &format!("#post-{opening} form.delete-form"),
                "action"
            ),
            vec![format!("/posts/{opening}/delete")]
        );
        assert_eq!(
            attrs(
                &page,
                &format!("#post-{opening} form.delete-form"),
                "method"
            ),
            vec!["get".to_string()]
        );
        let question = attrs(
            &page,
            &format!("#post-{opening} form.delete-form"),
            "data-confirm-delete",
        );
        assert!(
            question[0].contains("whole thread and its 2 replies"),
            "{question:?}"
        );

        let confirm = app
            .get_as(&format!("/posts/{opening}/delete"), &moderator)
            .await;
        assert_eq!(confirm.status, StatusCode::OK, "{}", confirm.text());
        let html = confirm.html();
        assert_eq!(texts(&html, "h1"), vec!["Delete this thread?".to_string()]);
        assert!(
            confirm
                .text()
                .contains("the whole thread and its 2 replies"),
            "{}",
            confirm.text()
        );
        assert_eq!(
            attrs(&html, "form.actions", "method"),
            vec!["post".to_string()]
        );
        assert_eq!(
            attrs(&html, "form.actions input[name=confirm]", "value"),
            vec!["yes".to_string()]
        );
        let reply_page = app.get_as(&format!("/posts/{first}/delete"), &ben).await;
        assert_eq!(
            texts(&reply_page.html(), "h1"),
            vec!["Delete this post?".to_string()]
        );
        // Not theirs: refused; not signed in: sign in first.
        assert_eq!(
            app.get_as(&format!("/posts/{first}/delete"), &ann)
                .await
                .status,
            StatusCode::FORBIDDEN
        );
        let anonymous = app.get(&format!("/posts/{first}/delete")).await;
        assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
        assert!(
            anonymous
                .header("location")
                .is_some_and(|l| l.starts_with("/signin?next="))
        );

        // Unconfirmed POSTs change nothing.
        for fields in [vec![], vec![("confirm", "no")], vec![("confirm", "")]] {
            let r = app
                .post_form(
                    &format!("/posts/{opening}/delete"),
                    Some(&moderator.cookie),
                    &fields,
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{fields:?}");
            assert_eq!(
                r.header("location"),
                Some(format!("/posts/{opening}/delete").as_str())
            );
            app.ok(&url).await;
        }
        // Someone who may not delete is refused, confirmed or not.
        let r = app
            .post_form(&format!("/posts/{opening}/delete"), Some(&ben.cookie), &[])
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        app.ok(&url).await;
        // Confirmed: the thread goes.
        let r = app
            .post_form(
                &format!("/posts/{opening}/delete"),
                Some(&moderator.cookie),
                &[("confirm", "yes")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(app.get(&url).await.status, StatusCode::NOT_FOUND);
    }
);

/// Generated avatars: the same person has the same avatar on every page (thread, profile) and
/// in the API; beside the visible name it is hidden from screen readers; initials come from
/// the display name.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn avatars_are_deterministic_and_decorative() {
    let app = TestApp::with_archive(Backend::Sqlite, long_thread()).await;
    let page = app.ok(LONG_URL).await.html();
    let asker = attrs(&page, &format!("#post-{} .avatar", long_id(0)), "class");
    let again = attrs(&page, &format!("#post-{} .avatar", long_id(2)), "class");
    assert_eq!(asker.len(), 1, "one avatar a post");
    assert_eq!(asker, again, "the same author, another colour");
    assert!(
        asker[0].split(' ').any(|c| c.starts_with("av-")),
        "{asker:?}"
    );
    assert_eq!(
        texts(&page, &format!("#post-{} .avatar", long_id(0))),
        vec!["AA".to_string()]
    );
    assert_eq!(
        texts(&page, &format!("#post-{} .avatar", long_id(1))),
        vec!["HH".to_string()]
    );
    assert_eq!(
        attrs(
            &page,
            &format!("#post-{} .avatar", long_id(0)),
            "aria-hidden"
        ),
        vec!["true".to_string()]
    );
    let profile = app.ok("/users/asker").await.html();
    let on_profile = attrs(&profile, ".profile .avatar", "class");
    assert_eq!(
        on_profile,
        vec![asker[0].replace("avatar ", "avatar large ")],
        "the profile's avatar differs"
    );
    let api = app.ok("/api/v1/users/asker").await.json();
    let thread = app.ok("/api/v1/threads/1").await.json();
    assert_eq!(
        api["user"]["avatar"], thread["posts"][0]["author"]["avatar"],
        "{api}"
    );
    assert_eq!(api["user"]["avatar"]["initials"], json!("AA"));
    let colour = api["user"]["avatar"]["color"].as_str().unwrap_or_default();
    assert!(colour.starts_with('#') && colour.len() == 7, "{colour}");
    // A fresh forum with the same account gives the same avatar.
    let other = TestApp::with_archive(Backend::Sqlite, long_thread()).await;
    assert_eq!(
        other.ok("/api/v1/users/asker").await.json()["user"]["avatar"],
        api["user"]["avatar"]
    );
}

/// Times: relative words in a `<time>` carrying the exact instant, with the exact UTC time in
/// its title for readers without scripts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_times_say_utc_without_scripts() {
    let app = TestApp::with_archive(Backend::Sqlite, long_thread()).await;
    let page = app.ok(LONG_URL).await.html();
    let sel = format!("#post-{} .post-time time", long_id(0));
    assert_eq!(
        attrs(&page, &sel, "datetime"),
        vec!["2026-01-01T00:00:00.000Z".to_string()]
    );
    assert_eq!(
        attrs(&page, &sel, "title"),
        vec!["2026-01-01 00:00 UTC".to_string()]
    );
    assert_eq!(attrs(&page, &sel, "data-ago"), vec![String::new()]);
    let text = texts(&page, &sel).join("");
    assert!(text == "1 Jan 2026" || text.ends_with(" ago"), "{text}");
}

/// Code in the languages a developer forum writes is highlighted on the page: Swift (nearly
/// every block in the demo), shell, Kotlin, JSON, YAML and TOML.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn code_in_common_languages_is_highlighted() {
    let app = TestApp::demo(Backend::Sqlite).await;
    // The demo's Swift and shell blocks.
    let demo = crate::util::demo_archive();
    for lang in ["swift", "shell"] {
        let thread = demo
            .threads
            .iter()
            .find(|t| {
                t.posts
                    .iter()
                    .any(|p| p.body.contains(&format!("```{lang}\n")))
            })
            .unwrap_or_else(|| panic!("no {lang} block in the demo"));
        let (_, page) = app.follow(&format!("/thread/{}", thread.id)).await;
        let html = page.html();
        let spans = attrs(&html, &format!("code.language-{lang} span"), "class");
        assert!(
            spans.iter().filter(|c| c.contains("hl-")).count() >= 2,
            "{lang} in thread {} is not highlighted: {spans:?}",
            thread.id
        );
    }
    // Posted now.
    let ann = app.person("ann_asks", Role::Member).await;
    let body = "Configs:\n\n```kotlin\nfun main() { val x: Int = 1 }\n```\n\n```json\n{\"a\": [1, true]}\n```\n\n```yaml\nkey: value\n```\n\n```toml\n[package]\nname = \"x\"\n```\n\n```console\n$ cargo build --release\n```\n";
    let r = app
        .post_form(
            "/new",
            Some(&ann.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", "Configuration files in four languages"),
                ("tags", "network"),
                ("kind", "discussion"),
                ("body", body),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    let (_, page) = app.follow(r.header("location").unwrap_or_default()).await;
    let html = page.html();
    for lang in ["kotlin", "json", "yaml", "toml", "console"] {
        let spans = attrs(&html, &format!("code.language-{lang} span"), "class");
        assert!(
            spans.iter().filter(|c| c.contains("hl-")).count() >= 2,
            "{lang} is not highlighted: {spans:?}"
        );
    }
}

both!(
    /// Posts stored by an older renderer are rendered again at start-up (and by `agora posts
    /// rerender`): their stored HTML gains the highlighting, once.
    async fn stored_posts_are_rendered_again(b: Backend) {
        let app = TestApp::with_archive(b, long_thread()).await;
        let store = app.store();
        // As an older build left it: plain HTML, renderer version 1.
        let swift = "```swift\nlet c = NWConnection(host: h, port: 443, using: .tls)\n```\n";
        store
            .set_rendered_html(vec![(PostId(long_id(3)), "<p>old</p>".into())])
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .set_markup_version(1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(store.markup_version().await.ok(), Some(1));
        let rendered = agora::services::archive::rerender_if_stale(store)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(rendered, Some(101));
        assert_eq!(
            store.markup_version().await.ok(),
            Some(agora_markup::VERSION)
        );
        let page = app.ok(LONG_URL).await.html();
        assert_eq!(
            texts(&page, &format!("#post-{} .post-body", long_id(3))),
            vec!["Reply number 3 in the long thread.".to_string()]
        );
        // Current: nothing to do.
        let again = agora::services::archive::rerender_if_stale(store)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(again, None);
        // A newer renderer's database is left alone by this (older) build.
        store
            .set_markup_version(agora_markup::VERSION + 1)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let newer = agora::services::archive::rerender_if_stale(store)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(newer, None);
        // And the HTML a swift block renders to is highlighted.
        assert!(agora_markup::render(swift).contains("hl-"));
    }
);

/// The CLI renders every post again and says how many.
#[test]
fn the_cli_renders_posts_again() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = dir.path().join("data");
    let agora = env!("CARGO_BIN_EXE_agora");
    let out = std::process::Command::new(agora)
        .arg("--data")
        .arg(&data)
        .args(["posts", "rerender"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("rendered 0 posts again"), "{said}");
}

/// In a real browser whose time zone is Tokyo: post times are shown in it (not UTC); select
/// text in a post, press Quote, and the reply box holds that text as a Markdown quote linked
/// to its post and author, answering that post; the posted reply says whom it answers; and
/// Delete asks first, then deletes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quoting_a_selection_and_local_times_in_a_browser() {
    use crate::browser::{Browser, Driver, installed, must};
    use fantoccini::Locator;
    use std::time::{Duration, Instant};
    if !installed() {
        return;
    }
    let dir = must(tempfile::tempdir(), "tempdir");
    let data = dir.path().join("data");
    must(std::fs::create_dir_all(&data), "data dir");
    let node = crate::util::Node::serve(&[], &data);
    let driver = Driver::start_with(
        &dir.path().join("chromedriver.log"),
        &[("TZ", "Asia/Tokyo")],
    );
    let client = crate::browser::session(&driver, &["--window-size=1280,1600"], None).await;
    let browser = Browser {
        client,
        base: format!("http://{}", node.address),
    };
    let js = |script: &'static str| {
        let client = browser.client.clone();
        async move { must(client.execute(script, Vec::new()).await, script) }
    };

    browser.sign_up("quinn_quotes").await;
    browser.goto("/thread/1").await;
    browser.settle().await;

    // Times: the script put the reader's zone in every title, and the age in words.
    let time = js("var t = document.querySelector('li.post .post-time time'); \
                   return [t.getAttribute('title'), t.hasAttribute('data-localised'), t.textContent];")
        .await;
    let title = time[0].as_str().unwrap_or_default().to_string();
    assert_eq!(time[1], json!(true), "{time}");
    assert!(!title.ends_with("UTC"), "still the UTC fallback: {title}");
    assert!(
        title.contains("GMT+9") || title.contains("JST"),
        "not in Tokyo time: {title}"
    );
    assert!(
        time[2].as_str().is_some_and(|t| !t.trim().is_empty()),
        "{time}"
    );

    // Select text in the opening post.
    let selected = js("var body = document.querySelector('li.post .post-body'); \
         var walk = document.createTreeWalker(body, NodeFilter.SHOW_TEXT); var node; \
         while ((node = walk.nextNode()) && node.textContent.trim().length < 20) {} \
         var start = node.textContent.search(/\\S/); \
         var range = document.createRange(); range.setStart(node, start); range.setEnd(node, start + 18); \
         var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(range); \
         return sel.toString();")
        .await;
    let selected = selected.as_str().unwrap_or_default().trim().to_string();
    assert!(selected.len() >= 10, "{selected:?}");
    let started = Instant::now();
    loop {
        let shown =
            js("var b = document.querySelector('.quote-selection'); return !!b && !b.hidden;")
                .await;
        if shown == json!(true) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            browser
                .report("no Quote button appeared for a selection")
                .await
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let button = must(
        browser.client.find(Locator::Css(".quote-selection")).await,
        "quote button",
    );
    must(button.click().await, "click Quote");
    let state = js("var li = document.querySelector('li.post'); \
         return [document.querySelector('.reply-box textarea[name=body]').value, \
                 (document.querySelector('.reply-box input[name=reply_to]') || {}).value, \
                 li.getAttribute('data-author'), li.getAttribute('data-url'), li.id];")
    .await;
    let (text, reply_to, author, url, anchor) = (
        state[0].as_str().unwrap_or_default().to_string(),
        state[1].as_str().unwrap_or_default().to_string(),
        state[2].as_str().unwrap_or_default().to_string(),
        state[3].as_str().unwrap_or_default().to_string(),
        state[4].as_str().unwrap_or_default().to_string(),
    );
    assert!(
        text.contains(&format!("> {selected}")),
        "{text:?} lacks {selected:?}"
    );
    assert!(
        text.starts_with(&format!("[@{author}]({url}) wrote:")),
        "{text:?}"
    );
    assert!(url.ends_with(&format!("#{anchor}")), "{url}");
    assert_eq!(
        format!("post-{reply_to}"),
        anchor,
        "the reply does not answer the quoted post"
    );

    // Post it: the new reply says whom it answers.
    browser.submit_form_of("body").await;
    let replied = js(
        "var posts = document.querySelectorAll('li.post'); var last = posts[posts.length - 1]; \
         var r = last.querySelector('.in-reply-to'); return [r ? r.textContent : '', last.id];",
    )
    .await;
    assert_eq!(
        replied[0].as_str().map(str::trim),
        Some(format!("In reply to @{author}").as_str()),
        "{}",
        browser
            .report("the posted quote does not say whom it answers")
            .await
    );
    let mine = replied[1].as_str().unwrap_or_default().to_string();

    // Delete asks (a confirm dialog), then deletes.
    let delete = must(
        browser
            .client
            .find(Locator::Css(&format!("#{mine} form.delete-form button")))
            .await,
        "delete button",
    );
    must(delete.click().await, "click Delete");
    let question = must(browser.client.get_alert_text().await, "the confirm dialog");
    assert!(question.starts_with("Delete this post?"), "{question}");
    must(browser.client.accept_alert().await, "accept");
    browser.settle().await;
    let gone = browser.text().await;
    assert!(
        gone.contains("This post was deleted by its author."),
        "{gone}"
    );
    let _ = browser.client.close().await;
    drop(driver);
}
