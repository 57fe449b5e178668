//! Bringing people back: what notifies whom (a reply in a watched thread, a reply to one's post,
//! a quote, an @mention, an accepted answer, a staff answer, a new thread where one watches,
//! grouped boosts, a moderator's action with its reason) and what never does (one's own
//! actions, a mention in code or a quotation, an edit, a hidden post, a suspended account, a
//! muted thread, a kind turned off); mentions as profile links; the bell, `/notifications`,
//! "mark all read", and reading by seeing. The notifier runs as the server runs it
//! (`services::notify::catch_up`), on SQLite and PostgreSQL.

use agora_store::{Role, Timestamp};
use axum::http::StatusCode;

use crate::util::{Person, TestApp, attrs, both, texts};

const NET: &str = "app-system-services/networking";

async fn notify(app: &TestApp) -> usize {
    agora::services::notify::catch_up(&app.state)
        .await
        .unwrap_or_else(|e| panic!("notifier: {e}"))
}

/// The kinds on a member's first page of notifications, newest first.
async fn kinds(app: &TestApp, person: &Person) -> Vec<String> {
    let page = app.get_as("/notifications", person).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    attrs(&page.html(), "li.notification", "data-kind")
}

async fn unread(app: &TestApp, person: &Person) -> Vec<String> {
    let page = app.get_as("/notifications", person).await;
    attrs(&page.html(), "li.notification.unread", "data-kind")
}

/// A form post that must succeed (303); the Location it answers.
async fn act(app: &TestApp, person: &Person, path: &str, fields: &[(&str, &str)]) -> String {
    let r = app.post_form(path, Some(&person.cookie), fields).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "POST {path}: {}", r.text());
    r.header("location").unwrap_or_default().to_string()
}

/// Replies as `person`; the new post's id (from the permalink the reply redirects to).
async fn reply(app: &TestApp, person: &Person, thread: i64, body: &str) -> i64 {
    let at = act(
        app,
        person,
        &format!("/thread/{thread}/reply"),
        &[("body", body)],
    )
    .await;
    at.rsplit("#post-")
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no post id in {at}"))
}

async fn start_thread(app: &TestApp, person: &Person, title: &str, body: &str) -> i64 {
    let at = act(
        app,
        person,
        "/new",
        &[
            ("subtopic", NET),
            ("title", title),
            ("tags", "network"),
            ("kind", "question"),
            ("body", body),
        ],
    )
    .await;
    at.trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no thread id in {at}"))
}

both!(
    async fn replies_mentions_and_answers_notify_and_nothing_else_does(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_asks", Role::Member).await;
        let ben = app.person("ben_answers", Role::Member).await;
        let cleo = app.person("cleo_c", Role::Member).await;
        let dan = app.person("dan_d", Role::Member).await;
        let eve = app.person("eve_suspended", Role::Member).await;
        let sam = app.person("sam_staff", Role::Staff).await;
        let mod_ = app.person("mo_moderator", Role::Moderator).await;
        let thread = start_thread(
            &app,
            &ann,
            "Sockets close after a minute idle",
            "Our sockets close after exactly one minute of idling. Why?",
        )
        .await;
        notify(&app).await;
        assert!(
            kinds(&app, &ann).await.is_empty(),
            "her own thread told her something"
        );

        // A reply with a mention: the asker (watching her own thread) and the one mentioned.
        let answer = reply(
            &app,
            &ben,
            thread,
            "The proxy's idle timeout is 60 s; @cleo_c knows the setting.",
        )
        .await;
        notify(&app).await;
        assert_eq!(kinds(&app, &ann).await, ["watched"]);
        assert_eq!(kinds(&app, &cleo).await, ["mention"]);
        assert!(kinds(&app, &ben).await.is_empty(), "told of his own reply");
        // The bell says so on any page, and the mention links to the profile.
        let home = app.get_as("/", &ann).await;
        assert_eq!(texts(&home.html(), ".nav-bell .nav-count"), ["1 unread"]);
        let (url, _) = app.follow(&format!("/thread/{thread}")).await;
        let page = app.get_as(&url, &dan).await;
        assert_eq!(attrs(&page.html(), "a.mention", "href"), ["/users/cleo_c"]);
        // Seeing the post reads its notification.
        app.get_as(&url, &ann).await;
        assert!(unread(&app, &ann).await.is_empty());
        let home = app.get_as("/", &ann).await;
        assert!(texts(&home.html(), ".nav-bell .nav-count").is_empty());

        // Never: a mention in code or a quotation, an edit, a suspended account.
        reply(
            &app,
            &dan,
            thread,
            "Not a mention: `@cleo_c`.\n\n> @cleo_c said so too",
        )
        .await;
        act(
            &app,
            &ben,
            &format!("/posts/{answer}/edit"),
            &[
                (
                    "body",
                    "The proxy's idle timeout is 60 s; @cleo_c and @dan_d know it.",
                ),
                ("reason", ""),
            ],
        )
        .await;
        let until = Timestamp::from_micros(Timestamp::now().micros() + 3 * 86_400_000_000)
            .to_datetime()
            .format("%Y-%m-%d")
            .to_string();
        act(
            &app,
            &mod_,
            "/users/eve_suspended/suspend",
            &[("until", &until), ("reason", "Cooling off")],
        )
        .await;
        reply(
            &app,
            &ben,
            thread,
            "And @eve_suspended may know more about keepalive.",
        )
        .await;
        notify(&app).await;
        assert_eq!(
            kinds(&app, &cleo).await,
            ["mention"],
            "code, quotes and edits notified"
        );
        assert!(
            kinds(&app, &dan).await.is_empty(),
            "an edit's new mention notified"
        );
        assert!(
            kinds(&app, &eve).await.is_empty(),
            "a suspended account was told"
        );

        // A reply to one's post, a quote, a staff answer in one's thread.
        let quoting =
            "**@ben_answers** wrote:\n\n> The proxy's idle timeout is 60 s\n\nThat was it, thanks!";
        act(
            &app,
            &ann,
            &format!("/thread/{thread}/reply"),
            &[("body", quoting), ("reply_to", &answer.to_string())],
        )
        .await;
        reply(
            &app,
            &sam,
            thread,
            "Staff here: set TCP keepalive below the proxy's timeout.",
        )
        .await;
        notify(&app).await;
        assert_eq!(kinds(&app, &ben).await[0], "quote");
        assert_eq!(kinds(&app, &ann).await[0], "staff_answer");

        // Accepting tells the answerer; boosts gather in one notification.
        act(&app, &ann, &format!("/posts/{answer}/accept"), &[]).await;
        act(&app, &cleo, &format!("/posts/{answer}/boost"), &[]).await;
        act(&app, &dan, &format!("/posts/{answer}/boost"), &[]).await;
        notify(&app).await;
        let bens = kinds(&app, &ben).await;
        assert_eq!(bens.iter().filter(|k| *k == "boost").count(), 1, "{bens:?}");
        assert!(bens.contains(&"accepted".to_string()), "{bens:?}");
        let page = app.get_as("/notifications", &ben).await;
        assert!(
            texts(&page.html(), "li.notification[data-kind=boost] a")
                .concat()
                .contains("and 1 other boosted your post"),
            "{}",
            page.text()
        );

        // A muted thread tells nothing, not even a mention.
        act(
            &app,
            &ann,
            "/watch",
            &[
                ("target", "thread"),
                ("id", &thread.to_string()),
                ("level", "muted"),
                ("next", "/"),
            ],
        )
        .await;
        let before = kinds(&app, &ann).await.len();
        reply(
            &app,
            &ben,
            thread,
            "One more idea for @ann_asks: check the load balancer too.",
        )
        .await;
        notify(&app).await;
        assert_eq!(
            kinds(&app, &ann).await.len(),
            before,
            "a muted thread notified"
        );

        // A hidden post tells nobody of it; its author is told why, alone.
        let hidden = reply(
            &app,
            &ben,
            thread,
            "Spam for @dan_d: buy sockets at example.com",
        )
        .await;
        act(
            &app,
            &mod_,
            &format!("/posts/{hidden}/hide"),
            &[("reason", "Advertising")],
        )
        .await;
        notify(&app).await;
        assert!(
            kinds(&app, &dan).await.is_empty(),
            "a hidden post's mention notified"
        );
        let page = app.get_as("/notifications", &ben).await;
        assert_eq!(
            attrs(&page.html(), "li.notification", "data-kind")[0],
            "moderated"
        );
        assert!(
            texts(&page.html(), "li.notification .reason")
                .concat()
                .contains("Advertising")
        );

        // A kind turned off is not told; running the notifier again writes nothing twice.
        act(
            &app,
            &dan,
            "/settings/notifications",
            &[
                ("own_threads", "watching"),
                ("replied", "tracking"),
                ("on_quote", "1"),
            ],
        )
        .await;
        reply(&app, &ben, thread, "@dan_d: does this match what you see?").await;
        notify(&app).await;
        assert!(
            kinds(&app, &dan).await.is_empty(),
            "a kind turned off was told"
        );
        assert_eq!(notify(&app).await, 0);

        // Mark all read.
        act(&app, &ben, "/notifications/read", &[]).await;
        assert!(unread(&app, &ben).await.is_empty());
    }
);

both!(
    async fn watching_a_subtopic_or_tag_tells_of_new_threads(b: Backend) {
        let app = TestApp::demo(b).await;
        let fay = app.person("fay_first_posts", Role::Member).await;
        let gus = app.person("gus_everything", Role::Member).await;
        let hal = app.person("hal_muted", Role::Member).await;
        let ann = app.person("ann_asks", Role::Member).await;
        act(
            &app,
            &fay,
            "/watch",
            &[
                ("target", "subtopic"),
                ("id", NET),
                ("level", "watching_first_post"),
                ("next", "/"),
            ],
        )
        .await;
        act(
            &app,
            &gus,
            "/watch",
            &[
                ("target", "tag"),
                ("id", "network"),
                ("level", "watching"),
                ("next", "/"),
            ],
        )
        .await;
        act(
            &app,
            &hal,
            "/watch",
            &[
                ("target", "tag"),
                ("id", "network"),
                ("level", "watching"),
                ("next", "/"),
            ],
        )
        .await;
        act(
            &app,
            &hal,
            "/watch",
            &[
                ("target", "subtopic"),
                ("id", NET),
                ("level", "muted"),
                ("next", "/"),
            ],
        )
        .await;
        let thread = start_thread(
            &app,
            &ann,
            "QUIC streams stall under load",
            "Streams stall when the connection is busy.",
        )
        .await;
        notify(&app).await;
        assert_eq!(kinds(&app, &fay).await, ["new_thread"]);
        assert_eq!(kinds(&app, &gus).await, ["new_thread"]);
        assert!(
            kinds(&app, &hal).await.is_empty(),
            "a muted subtopic told of a thread"
        );
        // A reply: those watching everything are told, those watching first posts are not.
        reply(
            &app,
            &ann,
            thread,
            "More detail: it happens only over cellular.",
        )
        .await;
        notify(&app).await;
        assert_eq!(kinds(&app, &fay).await, ["new_thread"]);
        assert_eq!(kinds(&app, &gus).await, ["watched", "new_thread"]);
        // Bad watch requests change nothing.
        let r = app
            .post_form(
                "/watch",
                Some(&fay.cookie),
                &[
                    ("target", "thread"),
                    ("id", &thread.to_string()),
                    ("level", "watching_first_post"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        let r = app
            .post_form(
                "/watch",
                Some(&fay.cookie),
                &[
                    ("target", "tag"),
                    ("id", "no-such-tag"),
                    ("level", "watching"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
);

both!(
    async fn the_api_lists_marks_read_and_watches(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_api", Role::Member).await;
        let ben = app.person("ben_api", Role::Member).await;
        let thread = start_thread(
            &app,
            &ann,
            "API notifications: a thread",
            "A question asked through the forms.",
        )
        .await;
        reply(
            &app,
            &ben,
            thread,
            "An answer that tells @ann_api something.",
        )
        .await;
        notify(&app).await;
        let token = app.api_token(&ann, "write").await;
        let list = app
            .api("GET", "/api/v1/notifications", Some(&token), None)
            .await;
        assert_eq!(list.status, StatusCode::OK, "{}", list.text());
        let json = list.json();
        assert_eq!(json["unread"], serde_json::json!(1));
        assert_eq!(
            json["notifications"][0]["kind"],
            serde_json::json!("mention")
        );
        assert_eq!(
            json["notifications"][0]["actor"],
            serde_json::json!("ben_api")
        );
        assert!(
            json["notifications"][0]["url"]
                .as_str()
                .unwrap_or("")
                .contains("#post-")
        );
        let read = app
            .api(
                "POST",
                "/api/v1/notifications/read",
                Some(&token),
                Some(serde_json::json!({})),
            )
            .await;
        assert_eq!(read.status, StatusCode::OK, "{}", read.text());
        assert_eq!(read.json()["marked"], serde_json::json!(1));
        assert_eq!(read.json()["unread"], serde_json::json!(0));
        // Watches: a thread muted through the API tells nothing more.
        let muted = app
            .api(
                "PUT",
                "/api/v1/watches",
                Some(&token),
                Some(serde_json::json!({ "target": "thread", "id": thread.to_string(), "level": "muted" })),
            )
            .await;
        assert_eq!(muted.status, StatusCode::OK, "{}", muted.text());
        reply(
            &app,
            &ben,
            thread,
            "Another answer for @ann_api, muted now.",
        )
        .await;
        notify(&app).await;
        let list = app
            .api("GET", "/api/v1/notifications", Some(&token), None)
            .await;
        assert_eq!(
            list.json()["unread"],
            serde_json::json!(0),
            "{}",
            list.text()
        );
        // Bad requests: 400 naming the field, 404 for nothing there, 401 without a caller.
        for (body, status) in [
            (
                serde_json::json!({ "target": "thread", "id": thread.to_string(), "level": "loud" }),
                StatusCode::BAD_REQUEST,
            ),
            (
                serde_json::json!({ "target": "tag", "id": "no-such-tag", "level": "watching" }),
                StatusCode::NOT_FOUND,
            ),
        ] {
            let r = app
                .api("PUT", "/api/v1/watches", Some(&token), Some(body))
                .await;
            assert_eq!(r.status, status, "{}", r.text());
        }
        let r = app.api("GET", "/api/v1/notifications", None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
);
