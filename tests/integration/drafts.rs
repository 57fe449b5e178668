//! Nothing typed is lost: drafts kept on the server for each account and place (a new thread,
//! a reply, an edit), saved by the page's script through the API and by every submit that
//! fails; back when the form opens again, gone once published, listed in settings, and nobody
//! else's business. Every refusal (locked, rate-limited, the first-day cap, suspended,
//! validation, cross-site, signed out) shows the form again with the text and the reason.
//! And in a real browser: typed, left, back again; locked while typing, the text comes back.

use std::time::{Duration, Instant};

use agora::config::Rate;
use agora_store::{Role, Timestamp};
use axum::http::StatusCode;
use serde_json::json;

use crate::browser::{Browser, Stage, installed, must};
use crate::util::{Person, TestApp, TestResponse, attrs, both, texts};

const NET: &str = "app-system-services/networking";
const PASSWORD: &str = "correct horse battery staple";

/// Starts a thread through the API as `person`; its id.
async fn thread_by(app: &TestApp, person: &Person, title: &str) -> i64 {
    let token = app.api_token(person, "write").await;
    let r = app
        .api(
            "POST",
            "/api/v1/threads",
            Some(&token),
            Some(json!({
                "subtopic": NET, "title": title, "tags": ["network"], "kind": "question",
                "body": "The opening post of a thread that gets drafts written in it.",
            })),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()["thread"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no thread id: {}", r.text()))
}

/// The demo forum on a configuration of the test's choosing.
async fn demo_where(
    b: crate::util::Backend,
    tweak: impl FnOnce(&mut agora::config::Config),
) -> TestApp {
    let app = TestApp::configured(b, tweak).await;
    agora::services::archive::load_demo_if_empty(app.store())
        .await
        .unwrap_or_else(|e| panic!("demo: {e:#}"));
    app
}

/// The text in a page's `textarea[name=body]`.
fn body_field(r: &TestResponse) -> Vec<String> {
    texts(&r.html(), "textarea[name=body]")
}

async fn drafts_of(app: &TestApp, token: &str) -> Vec<serde_json::Value> {
    let r = app.api("GET", "/api/v1/drafts", Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()["drafts"].as_array().cloned().unwrap_or_default()
}

async fn post_count(app: &TestApp) -> i64 {
    app.store()
        .post_count()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

both!(
    async fn drafts_are_kept_for_each_place_and_come_back(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_drafts", Role::Member).await;
        let ben = app.person("ben_other", Role::Member).await;
        let id = thread_by(&app, &ann, "Drafts: a thread to reply in").await;
        let token = app.api_token(&ann, "write").await;

        // Without scripts: a submit that fails keeps its text as a draft.
        let r = app
            .post_form(
                &format!("/thread/{id}/reply"),
                Some(&ann.cookie),
                &[("body", "Too short")],
            )
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
        assert_eq!(body_field(&r), ["Too short"]);
        // It comes back when the form opens again: the reply page and the thread's own box.
        let form = app.get_as(&format!("/thread/{id}/reply"), &ann).await;
        assert_eq!(form.status, StatusCode::OK);
        assert_eq!(body_field(&form), ["Too short"]);
        assert_eq!(
            texts(&form.html(), "#draft-note").len(),
            1,
            "{}",
            form.text()
        );
        let (url, _) = app.follow(&format!("/thread/{id}")).await;
        let page = app.get_as(&url, &ann).await;
        assert_eq!(body_field(&page), ["Too short"], "{}", page.text());
        assert_eq!(
            attrs(&page.html(), ".reply-box form[data-draft]", "data-draft"),
            [format!("reply:{id}")]
        );
        // Another member's box is empty: drafts are per account.
        let theirs = app.get_as(&format!("/thread/{id}/reply"), &ben).await;
        assert_eq!(body_field(&theirs), [""]);

        // As the page's script saves it: PUT through the API, listed, in settings.
        let text = "A longer reply, typed slowly: the proxy closes idle sockets after 60 s.";
        let saved = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(json!({ "place": format!("reply:{id}"), "body": text })),
            )
            .await;
        assert_eq!(saved.status, StatusCode::OK, "{}", saved.text());
        let draft_id = saved.json()["id"].as_i64().unwrap_or(0);
        assert_eq!(saved.json()["place"], json!(format!("reply:{id}")));
        assert_eq!(saved.json()["about"], json!("Drafts: a thread to reply in"));
        let all = drafts_of(&app, &token).await;
        assert_eq!(all.len(), 1, "one place, one draft: {all:?}");
        assert_eq!(all[0]["body"], json!(text));
        let settings = app.get_as("/settings", &ann).await;
        assert_eq!(
            attrs(&settings.html(), "ul.drafts a", "href"),
            [format!("/thread/{id}/reply")]
        );
        assert!(
            texts(&settings.html(), "ul.drafts li")
                .concat()
                .contains("Reply in Drafts: a thread to reply in"),
            "{}",
            settings.text()
        );

        // Nobody else reads, lists or discards it: it reads as missing.
        let ben_token = app.api_token(&ben, "write").await;
        for (method, path) in [
            ("GET", format!("/api/v1/drafts/{draft_id}")),
            ("DELETE", format!("/api/v1/drafts/{draft_id}")),
        ] {
            let r = app.api(method, &path, Some(&ben_token), None).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{method} {path}: {}",
                r.text()
            );
        }
        let r = app
            .post_form(
                &format!("/drafts/{draft_id}/discard"),
                Some(&ben.cookie),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
        assert!(drafts_of(&app, &ben_token).await.is_empty());
        assert_eq!(
            drafts_of(&app, &token).await.len(),
            1,
            "ann's draft survived"
        );
        // Without a session or token: 401.
        let r = app.api("GET", "/api/v1/drafts", None, None).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);

        // Bad drafts change nothing: longer than a post, a place that is not one, a thread
        // that does not exist.
        let long = "x".repeat(60_001);
        for (body, status, param) in [
            (
                json!({ "place": format!("reply:{id}"), "body": long }),
                StatusCode::BAD_REQUEST,
                Some("body"),
            ),
            (
                json!({ "place": "reply:seven", "body": "text" }),
                StatusCode::BAD_REQUEST,
                Some("place"),
            ),
            (
                json!({ "place": "reply:999999", "body": "text" }),
                StatusCode::NOT_FOUND,
                None,
            ),
        ] {
            let r = app
                .api("PUT", "/api/v1/drafts", Some(&token), Some(body))
                .await;
            assert_eq!(r.status, status, "{}", r.text());
            if let Some(param) = param {
                assert_eq!(r.json()["error"]["param"], json!(param), "{}", r.text());
            }
        }
        let too_long = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(json!({ "place": format!("reply:{id}"), "body": "y".repeat(60_001) })),
            )
            .await;
        assert!(
            too_long.json()["error"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("too long"),
            "{}",
            too_long.text()
        );
        let all = drafts_of(&app, &token).await;
        assert_eq!(all.len(), 1);
        assert_eq!(
            all[0]["body"],
            json!(text),
            "a refused draft left the old one alone"
        );

        // Published: the draft is gone.
        let r = app
            .post_form(
                &format!("/thread/{id}/reply"),
                Some(&ann.cookie),
                &[("body", text)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert!(drafts_of(&app, &token).await.is_empty());
        let form = app.get_as(&format!("/thread/{id}/reply"), &ann).await;
        assert_eq!(body_field(&form), [""]);

        // A new thread's draft keeps every field of the form.
        let r = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(json!({
                    "place": "thread", "subtopic": NET, "title": "Half a title",
                    "tags": "network", "thread_kind": "discussion", "body": "Half a thought",
                })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let compose = app.get_as("/new?subtopic=other/elsewhere", &ann).await;
        let html = compose.html();
        assert_eq!(attrs(&html, "input[name=title]", "value"), ["Half a title"]);
        assert_eq!(attrs(&html, "input[name=tags]", "value"), ["network"]);
        assert_eq!(
            attrs(&html, "select[name=subtopic] option[selected]", "value"),
            [NET]
        );
        assert_eq!(
            attrs(&html, "input[name=kind][checked]", "value"),
            ["discussion"]
        );
        assert_eq!(texts(&html, "textarea[name=body]"), ["Half a thought"]);
        // Emptied, it is gone (204).
        let r = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(json!({ "place": "thread", "subtopic": NET, "body": "  " })),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        assert!(drafts_of(&app, &token).await.is_empty());

        // An edit's draft wins over the post's text until it is discarded.
        let post = app
            .api("GET", &format!("/api/v1/threads/{id}"), Some(&token), None)
            .await
            .json()["posts"][0]["id"]
            .as_i64()
            .unwrap_or(0);
        let r = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(json!({ "place": format!("edit:{post}"), "body": "An edit in progress", "reason": "typo" })),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let edit_draft = r.json()["id"].as_i64().unwrap_or(0);
        let edit = app.get_as(&format!("/posts/{post}/edit"), &ann).await;
        assert_eq!(body_field(&edit), ["An edit in progress"]);
        assert_eq!(attrs(&edit.html(), "input[name=reason]", "value"), ["typo"]);
        let r = app
            .post_form(
                &format!("/drafts/{edit_draft}/discard"),
                Some(&ann.cookie),
                &[("next", &format!("/posts/{post}/edit"))],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(
            r.header("location"),
            Some(format!("/posts/{post}/edit").as_str())
        );
        let edit = app.get_as(&format!("/posts/{post}/edit"), &ann).await;
        assert_eq!(
            body_field(&edit),
            ["The opening post of a thread that gets drafts written in it."]
        );
    }
);

/// What every refused form must show: the status, the reason, and the text in the form.
fn shows_refusal(r: &TestResponse, status: StatusCode, reason: &str, text: &str, what: &str) {
    assert_eq!(r.status, status, "{what}: {}", r.text());
    let html = r.html();
    let said = texts(&html, "#refusal").concat();
    assert!(
        said.contains(reason),
        "{what}: the reason {reason:?} is not in {said:?}"
    );
    assert!(
        texts(&html, "textarea[name=body]").concat().contains(text),
        "{what}: the text is not back in the form: {}",
        r.text()
    );
}

both!(
    async fn every_refusal_shows_the_form_again_with_the_text(b: Backend) {
        let app = demo_where(b, |c| c.limits.new_account_posts = 2).await;
        let moderator = app.person("mia_moderator", Role::Moderator).await;
        let id = thread_by(&app, &moderator, "Refusals: a thread to reply in").await;
        let reply_path = format!("/thread/{id}/reply");

        // Validation: the field is named and the text is kept (as a draft too).
        let val = app.person("val_validation", Role::Member).await;
        let r = app
            .post_form(&reply_path, Some(&val.cookie), &[("body", "short")])
            .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert_eq!(attrs(&r.html(), "#errors a", "href"), ["#f-body"]);
        assert_eq!(body_field(&r), ["short"]);

        // The first-day cap: two posts, then the third comes back with the reason.
        let cap = app.person("cal_capped", Role::Member).await;
        for n in 1..=2 {
            let r = app
                .post_form(
                    &reply_path,
                    Some(&cap.cookie),
                    &[("body", &format!("First-day reply number {n}."))],
                )
                .await;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        }
        let third = "A third reply on the first day, kept though refused.";
        let r = app
            .post_form(&reply_path, Some(&cap.cookie), &[("body", third)])
            .await;
        shows_refusal(
            &r,
            StatusCode::FORBIDDEN,
            "New accounts can write 2 posts",
            third,
            "first-day cap",
        );
        // The thread form too.
        let r = app
            .post_form(
                "/new",
                Some(&cap.cookie),
                &[
                    ("subtopic", NET),
                    ("title", "A thread on the first day"),
                    ("tags", "network"),
                    ("kind", "question"),
                    ("body", third),
                ],
            )
            .await;
        shows_refusal(
            &r,
            StatusCode::FORBIDDEN,
            "New accounts",
            third,
            "first-day cap, new thread",
        );
        assert_eq!(
            attrs(&r.html(), "input[name=title]", "value"),
            ["A thread on the first day"]
        );

        // Suspended: the reason and the end, the text kept for afterwards.
        let sus = app.person("sue_suspended", Role::Member).await;
        let until = Timestamp::from_micros(Timestamp::now().micros() + 3 * 86_400_000_000)
            .to_datetime()
            .format("%Y-%m-%d")
            .to_string();
        let r = app
            .post_form(
                "/users/sue_suspended/suspend",
                Some(&moderator.cookie),
                &[("until", &until), ("reason", "Cooling off")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let words = "Written while suspended, and not lost.";
        let r = app
            .post_form(&reply_path, Some(&sus.cookie), &[("body", words)])
            .await;
        shows_refusal(&r, StatusCode::FORBIDDEN, "Cooling off", words, "suspended");
        let form = app.get_as(&reply_path, &sus).await;
        shows_refusal(
            &form,
            StatusCode::FORBIDDEN,
            "Cooling off",
            words,
            "suspended, opened again",
        );

        // Cross-site: nothing posted, nothing saved, the text shown back.
        let cross = app.person("cleo_cross", Role::Member).await;
        let before = post_count(&app).await;
        let forged = "A forged reply that must not be posted.";
        for (path, fields) in [
            (reply_path.clone(), vec![("body", forged)]),
            (
                "/new".to_string(),
                vec![
                    ("subtopic", NET),
                    ("title", "A forged thread title"),
                    ("tags", "network"),
                    ("kind", "question"),
                    ("body", forged),
                ],
            ),
        ] {
            let r = app
                .send_body(
                    "POST",
                    &path,
                    &[
                        ("content-type", "application/x-www-form-urlencoded"),
                        ("sec-fetch-site", "cross-site"),
                        ("origin", "https://evil.example"),
                        ("cookie", cross.cookie.as_str()),
                    ],
                    crate::util::form_body(&fields),
                )
                .await;
            shows_refusal(
                &r,
                StatusCode::FORBIDDEN,
                "another site",
                forged,
                &format!("cross-site {path}"),
            );
        }
        // Signed out and from another site: refused as cross-site, not carried into sign-in
        // (where it would become the draft of whoever signs in).
        let r = app
            .send_body(
                "POST",
                &reply_path,
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("sec-fetch-site", "cross-site"),
                ],
                crate::util::form_body(&[("body", forged)]),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        assert!(attrs(&r.html(), "input[name=held_body]", "value").is_empty());
        assert_eq!(post_count(&app).await, before, "a cross-site form posted");
        let token = app.api_token(&cross, "read").await;
        assert!(
            drafts_of(&app, &token).await.is_empty(),
            "a cross-site form saved a draft"
        );

        // Signed out (the session ended while typing): sign in, and the text is back.
        let out = app.person("otto_signed_out", Role::Member).await;
        let kept = "Typed while the session ended; it must survive signing in.";
        let r = app.post_form(&reply_path, None, &[("body", kept)]).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
        let html = r.html();
        assert_eq!(attrs(&html, "input[name=held_body]", "value"), [kept]);
        assert_eq!(
            attrs(&html, "input[name=next]", "value"),
            [reply_path.as_str()]
        );
        assert_eq!(texts(&html, "#held").len(), 1, "{}", r.text());
        let signed_in = app
            .post_form(
                "/signin",
                None,
                &[
                    ("login", "otto_signed_out"),
                    ("password", PASSWORD),
                    ("next", &reply_path),
                    ("held_place", &format!("reply:{id}")),
                    ("held_body", kept),
                ],
            )
            .await;
        assert_eq!(
            signed_in.status,
            StatusCode::SEE_OTHER,
            "{}",
            signed_in.text()
        );
        assert_eq!(signed_in.header("location"), Some(reply_path.as_str()));
        let cookie =
            crate::util::session_cookie(&signed_in).unwrap_or_else(|| panic!("no session"));
        let back = app
            .request(&reply_path, &[("cookie", cookie.as_str())])
            .await;
        assert_eq!(back.status, StatusCode::OK);
        assert_eq!(body_field(&back), [kept]);
        drop(out);

        // Locked while typing: the reason, the text, and the draft kept for later.
        let lou = app.person("lou_locked_out", Role::Member).await;
        let r = app
            .post_form(
                &format!("/thread/{id}/lock"),
                Some(&moderator.cookie),
                &[("reason", "Resolved")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let late = "An answer that arrives after the lock.";
        let r = app
            .post_form(&reply_path, Some(&lou.cookie), &[("body", late)])
            .await;
        shows_refusal(&r, StatusCode::FORBIDDEN, "locked", late, "locked");
        assert!(
            texts(&r.html(), "#refusal")
                .concat()
                .contains("kept as a draft")
        );
        let token = app.api_token(&lou, "read").await;
        assert_eq!(drafts_of(&app, &token).await.len(), 1);
    }
);

both!(
    async fn a_rate_limited_reply_says_when_to_try_again(b: Backend) {
        let app = demo_where(b, |c| c.limits.post_per_account = Rate::new(1, 3600)).await;
        let staff = app.person("stan_staff", Role::Staff).await;
        let id = thread_by(&app, &staff, "Rate limits: a thread to reply in").await;
        let ray = app.person("ray_rapid", Role::Member).await;
        let path = format!("/thread/{id}/reply");
        let r = app
            .post_form(
                &path,
                Some(&ray.cookie),
                &[("body", "The first reply goes through.")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let second = "The second reply, too soon after the first.";
        let r = app
            .post_form(&path, Some(&ray.cookie), &[("body", second)])
            .await;
        shows_refusal(
            &r,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            second,
            "rate limit",
        );
        let wait: u64 = r
            .header("retry-after")
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no Retry-After"));
        assert!(wait > 0);
        assert!(
            texts(&r.html(), "#refusal")
                .concat()
                .contains(&format!("Try again in {wait} second")),
            "{}",
            r.text()
        );
    }
);

// ---------------------------------------------------------------- in a real browser

/// Runs a script in the page and returns what it returns.
async fn script(browser: &Browser, js: &str) -> serde_json::Value {
    must(browser.client.execute(js, Vec::new()).await, js)
}

/// Whether leaving the page now would ask first (the page's `beforeunload` handler).
async fn leaving_asks(browser: &Browser) -> bool {
    script(
        browser,
        "const e = new Event('beforeunload', {cancelable: true}); window.dispatchEvent(e); \
         return e.defaultPrevented;",
    )
    .await
    .as_bool()
    .unwrap_or(false)
}

async fn reply_box_text(browser: &Browser) -> String {
    script(
        browser,
        "return document.querySelector('textarea[name=body]').value",
    )
    .await
    .as_str()
    .unwrap_or("")
    .to_string()
}

/// In chromium against a real server: a reply typed in the thread's box is saved as one types;
/// leaving before it is saved asks first; left and opened again, the text is back. Then a
/// moderator locks the thread while the member types, and submitting brings the whole text
/// back with the reason. Skipped, loudly, without chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_survives_leaving_the_page_and_a_lock_while_typing() {
    if !installed() {
        return;
    }
    let stage = Stage::demo();
    let member = stage.browser(&["--window-size=1280,900"], None).await;
    member.sign_up("dora_drafts").await;

    // A thread to reply in, started from the compose form.
    member.goto(&format!("/new?subtopic={NET}")).await;
    member
        .fill(
            "input[name=title]",
            "Drafts in a browser: idle sockets close",
        )
        .await;
    member.fill("input[name=tags]", "network").await;
    member
        .fill(
            "textarea[name=body]",
            "Our sockets close after a minute of idling. Why?",
        )
        .await;
    member.submit_form_of("title").await;
    let thread = member.path().await;
    assert!(
        thread.starts_with("/thread/"),
        "{}",
        member.report("no thread").await
    );

    // "@" and the start of a name offers the thread's participants; Enter takes one.
    member
        .fill(".reply-box textarea[name=body]", "Thanks @dor")
        .await;
    let started = Instant::now();
    while !member
        .exists_xpath("//ul[contains(@class,'mention-suggestions')]//button[.='@dora_drafts']")
        .await
    {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            member.report("no mention suggestion").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    must(
        member
            .find(".reply-box textarea[name=body]")
            .await
            .send_keys("\u{E007}")
            .await,
        "press Enter",
    );
    assert_eq!(reply_box_text(&member).await, "Thanks @dora_drafts ");

    // Typed: until the server has it, leaving asks; then it says it is saved and does not.
    let words = "Half-written: the proxy's idle timeout is sixty seconds";
    member.fill(".reply-box textarea[name=body]", words).await;
    assert!(
        leaving_asks(&member).await,
        "{}",
        member.report("leaving with unsaved text did not ask").await
    );
    let started = Instant::now();
    loop {
        let status = member.find(".reply-box .draft-status").await;
        let said = status.text().await.unwrap_or_default();
        if said.contains("Draft saved") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            member
                .report(&format!("the draft was never saved (status: {said:?})"))
                .await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        !leaving_asks(&member).await,
        "saved, and leaving still asks"
    );

    // Left and opened again: the text is back in the box.
    member.goto("/").await;
    member.goto(&thread).await;
    assert_eq!(
        reply_box_text(&member).await,
        words,
        "{}",
        member.report("the draft did not come back").await
    );

    // A moderator locks the thread while the member goes on typing.
    let moderator = stage.browser(&["--window-size=1280,900"], None).await;
    moderator.sign_up("milo_moderates").await;
    let role = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("--data")
        .arg(stage.dir.path().join("data"))
        .args(["user", "set-role", "milo_moderates", "moderator"])
        .output();
    let role = must(role, "agora user set-role");
    assert!(
        role.status.success(),
        "{}",
        String::from_utf8_lossy(&role.stderr)
    );
    moderator.goto(&thread).await;
    moderator.fill("#lock-reason", "Answered in the FAQ").await;
    moderator.submit_action("/lock").await;
    let _ = moderator.client.clone().close().await;

    let more = ", and TCP keepalive every 30 s fixes it.";
    must(
        member
            .find(".reply-box textarea[name=body]")
            .await
            .send_keys(more)
            .await,
        "type more",
    );
    member.submit_form_of("body").await;
    let said = member
        .find("#refusal")
        .await
        .text()
        .await
        .unwrap_or_default();
    assert!(
        said.contains("locked"),
        "{}",
        member.report("the refusal does not say locked").await
    );
    assert_eq!(
        reply_box_text(&member).await,
        format!("{words}{more}"),
        "{}",
        member.report("the text did not come back").await
    );
    let _ = member.client.clone().close().await;
}
