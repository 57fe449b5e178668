//! Bookmarks: a member saves a post or a whole thread with a note and a reminder, through plain
//! forms (no script) and the API; the list on their profile is theirs alone (another member,
//! staff and administrators get 404 and no tab); the reminder arrives as a notification through
//! the job runner, once, and by email when they are away; a changed or cleared reminder never
//! fires the old one; nothing is told about a post since hidden or to a suspended member; bad
//! input and cross-site forms change nothing. On SQLite and PostgreSQL.

use agora_store::{Role, Timestamp};
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::util::{
    Person, TestApp, TestResponse, act, attrs, both, reply_as as reply, start_question, texts,
};

const HOUR: i64 = 3_600_000_000;

/// Starts a thread through the forms; its id.
async fn start_thread(app: &TestApp, person: &Person, title: &str) -> i64 {
    start_question(
        app,
        person,
        title,
        "The opening post of a thread that gets bookmarked.",
    )
    .await
}

/// Bookmarks a post (or, with `post` empty, the thread) through the bookmark control's form.
async fn bookmark(
    app: &TestApp,
    person: &Person,
    thread: i64,
    post: &str,
    extra: &[(&str, &str)],
) -> TestResponse {
    let thread = thread.to_string();
    let mut fields = vec![
        ("thread", thread.as_str()),
        ("post", post),
        ("next", "/"),
        ("tz", "0"),
    ];
    fields.extend_from_slice(extra);
    app.post_form("/bookmarks", Some(&person.cookie), &fields)
        .await
}

fn list_path(person: &Person) -> String {
    format!("/users/{}/bookmarks", person.username)
}

/// The ids of the bookmarks on the first page of `person`'s list.
async fn listed(app: &TestApp, person: &Person) -> Vec<i64> {
    let page = app.get_as(&list_path(person), person).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    attrs(&page.html(), "li.bookmark", "id")
        .iter()
        .filter_map(|id| id.strip_prefix("bookmark-")?.parse().ok())
        .collect()
}

/// The kinds on a member's first page of notifications, newest first.
async fn kinds(app: &TestApp, person: &Person) -> Vec<String> {
    let page = app.get_as("/notifications", person).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    attrs(&page.html(), "li.notification", "data-kind")
}

/// Runs every job due at `now` + `hours`.
async fn run_jobs_in(app: &TestApp, hours: i64) {
    let at = Timestamp::from_micros(Timestamp::now().micros() + hours * HOUR);
    let (_, result) = agora::jobs::run_due(&app.state, at).await;
    result.unwrap_or_else(|e| panic!("jobs: {e}"));
}

/// A date and time `hours` from now as a `datetime-local` input sends it, in UTC.
fn local_time_in(hours: i64) -> String {
    Timestamp::from_micros(Timestamp::now().micros() + hours * HOUR)
        .to_datetime()
        .format("%Y-%m-%dT%H:%M")
        .to_string()
}

async fn bookmarks_api(app: &TestApp, token: &str) -> Value {
    let r = app.api("GET", "/api/v1/bookmarks", Some(token), None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    r.json()
}

both!(
    async fn bookmarks_are_saved_edited_and_removed_without_javascript(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_keeps", Role::Member).await;
        let ben = app.person("ben_writes", Role::Member).await;
        let thread = start_thread(&app, &ben, "Bookmarks: sockets that idle out").await;
        let post = reply(
            &app,
            &ben,
            thread,
            "Set TCP keepalive below the proxy's timeout.",
        )
        .await;
        let (url, page) = app.follow(&format!("/thread/{thread}")).await;
        assert_eq!(page.status, StatusCode::OK);
        // Signed out: no control, and the form sends to sign-in, saving nothing.
        assert!(attrs(&page.html(), "details.bookmark-control", "id").is_empty());
        let r = app
            .post_form(
                "/bookmarks",
                None,
                &[("thread", &thread.to_string()), ("next", "/")],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert!(
            r.header("location")
                .unwrap_or("")
                .starts_with("/signin?next=")
        );

        // Signed in: a control on the thread and on each post, plain forms.
        let page = app.get_as(&url, &ann).await;
        let html = page.html();
        let controls = attrs(&html, "details.bookmark-control", "id");
        assert!(controls.contains(&"bm-thread".to_string()), "{controls:?}");
        assert!(controls.contains(&format!("bm-p{post}")), "{controls:?}");
        assert_eq!(
            attrs(&html, &format!("#bm-p{post} form"), "action"),
            ["/bookmarks"]
        );

        // The post, with a note; the whole thread, without.
        let r = bookmark(
            &app,
            &ann,
            thread,
            &post.to_string(),
            &[("note", "Try this on Monday")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.header("location"), Some("/"));
        assert_eq!(
            bookmark(&app, &ann, thread, "", &[]).await.status,
            StatusCode::SEE_OTHER
        );
        let page = app.get_as(&url, &ann).await;
        let html = page.html();
        assert!(
            texts(&html, &format!("#bm-p{post} summary"))
                .concat()
                .contains("Bookmarked"),
            "{}",
            page.text()
        );
        assert!(
            texts(&html, "#bm-thread summary")
                .concat()
                .contains("Bookmarked")
        );
        assert_eq!(
            attrs(&html, &format!("#bm-p{post} input[name=note]"), "value"),
            ["Try this on Monday"]
        );

        // The list on the profile: newest first, with the note, and a tab to it.
        let ids = listed(&app, &ann).await;
        assert_eq!(ids.len(), 2, "{ids:?}");
        let list = app.get_as(&list_path(&ann), &ann).await;
        let html = list.html();
        assert_eq!(attrs(&html, "li.bookmark", "data-kind"), ["thread", "post"]);
        assert_eq!(
            texts(&html, ".bookmark-note"),
            ["Your note: Try this on Monday"]
        );
        assert_eq!(
            attrs(&html, ".bookmark .title", "href")[1],
            format!("{url}#post-{post}")
        );
        let profile = app.get_as(&format!("/users/{}", ann.username), &ann).await;
        assert_eq!(
            attrs(&profile.html(), ".profile-tabs .own-tab a", "href"),
            [list_path(&ann)]
        );
        assert!(
            texts(&profile.html(), ".profile-tabs .own-tab")
                .concat()
                .contains("2 bookmarks")
        );

        // Saving again edits it (one bookmark per post): a new note, a reminder.
        let r = bookmark(
            &app,
            &ann,
            thread,
            &post.to_string(),
            &[("note", "Tried: it works"), ("remind", "tomorrow")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(listed(&app, &ann).await, ids);
        let list = app.get_as(&list_path(&ann), &ann).await;
        assert_eq!(
            texts(&list.html(), ".bookmark-note"),
            ["Your note: Tried: it works"]
        );
        assert_eq!(
            attrs(&list.html(), ".bookmark-reminder", "datetime").len(),
            1
        );
        // "As set" keeps that reminder while the note changes.
        let before = attrs(&list.html(), ".bookmark-reminder", "datetime");
        let r = bookmark(
            &app,
            &ann,
            thread,
            &post.to_string(),
            &[("note", "Tried twice"), ("remind", "keep")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let list = app.get_as(&list_path(&ann), &ann).await;
        assert_eq!(
            attrs(&list.html(), ".bookmark-reminder", "datetime"),
            before
        );
        assert_eq!(
            attrs(
                &list.html(),
                &format!("#bm-b{} option[selected]", ids[1]),
                "value"
            ),
            ["keep"]
        );

        // Un-bookmark the post: the thread's bookmark stays.
        let r = app
            .post_form(
                &format!("/bookmarks/{}/delete", ids[1]),
                Some(&ann.cookie),
                &[("next", &url)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(r.header("location"), Some(url.as_str()));
        assert_eq!(listed(&app, &ann).await, [ids[0]]);
        let page = app.get_as(&url, &ann).await;
        assert!(
            texts(&page.html(), &format!("#bm-p{post} summary"))
                .concat()
                .contains("☆ Bookmark")
        );
        // Removing it again: it is not there.
        let r = app
            .post_form(
                &format!("/bookmarks/{}/delete", ids[1]),
                Some(&ann.cookie),
                &[],
            )
            .await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
    }
);

both!(
    async fn the_list_is_its_owners_alone(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_private", Role::Member).await;
        let ben = app.person("ben_curious", Role::Member).await;
        let sam = app.person("sam_staff", Role::Staff).await;
        let ada = app.person("ada_admin", Role::Admin).await;
        let thread = start_thread(&app, &ann, "Bookmarks: nobody else's business").await;
        assert_eq!(
            bookmark(&app, &ann, thread, "", &[("note", "secret plans")])
                .await
                .status,
            StatusCode::SEE_OTHER
        );
        let ids = listed(&app, &ann).await;
        assert_eq!(ids.len(), 1);
        let id = ids[0];
        // Another member, staff, an administrator: no such page, no tab, no note anywhere.
        for other in [&ben, &sam, &ada] {
            let r = app.get_as(&list_path(&ann), other).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{}: {}",
                other.username,
                r.text()
            );
            assert!(!r.text().contains("secret plans"));
            let profile = app.get_as(&format!("/users/{}", ann.username), other).await;
            assert_eq!(profile.status, StatusCode::OK);
            assert!(
                attrs(&profile.html(), ".profile-tabs .own-tab a", "href").is_empty(),
                "{} sees the tab",
                other.username
            );
            // Nor remove it, by form or by API.
            let r = app
                .post_form(&format!("/bookmarks/{id}/delete"), Some(&other.cookie), &[])
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", other.username);
            let token = app.api_token(other, "write").await;
            let r = app
                .api(
                    "DELETE",
                    &format!("/api/v1/bookmarks/{id}"),
                    Some(&token),
                    None,
                )
                .await;
            assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
            assert_eq!(r.json()["error"]["code"], "not_found");
            let theirs = bookmarks_api(&app, &token).await;
            assert_eq!(theirs["total"], json!(0), "{theirs}");
        }
        // Anonymous readers: to sign in; the shared profile page has no tab either.
        let r = app.get(&list_path(&ann)).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let profile = app.get(&format!("/users/{}", ann.username)).await;
        assert!(attrs(&profile.html(), ".profile-tabs .own-tab a", "href").is_empty());
        // The owner's own tab on another's profile does not exist either.
        let r = app.get_as(&list_path(&ben), &ann).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND);
        // It is all still there for its owner.
        assert_eq!(listed(&app, &ann).await, [id]);
        let token = app.api_token(&ann, "read").await;
        let mine = bookmarks_api(&app, &token).await;
        assert_eq!(
            mine["bookmarks"][0]["note"],
            json!("secret plans"),
            "{mine}"
        );
        assert!(mine["bookmarks"][0]["post_id"].is_null());
    }
);

both!(
    async fn a_reminder_arrives_once_as_a_notification_and_by_email(b: Backend) {
        let app = TestApp::configured(b, |c| {
            c.email.notify_delay_secs = 0;
            c.email.away_secs = 0;
        })
        .await;
        agora::services::archive::load_demo_if_empty(app.store())
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        let ann = app.person("ann_reminded", Role::Member).await;
        // Notification email goes only to a confirmed address.
        app.confirm_email(&ann).await;
        let ben = app.person("ben_posts", Role::Member).await;
        let thread = start_thread(&app, &ben, "Bookmarks: a reminder in an hour").await;
        let post = reply(&app, &ben, thread, "An answer worth coming back to later.").await;
        let r = bookmark(
            &app,
            &ann,
            thread,
            &post.to_string(),
            &[("remind", "hour"), ("note", "Read this properly")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // Not yet due: nothing.
        run_jobs_in(&app, 0).await;
        assert!(kinds(&app, &ann).await.is_empty());
        // Due: one notification, with the note, linking to the post; the bell counts it.
        run_jobs_in(&app, 2).await;
        let page = app.get_as("/notifications", &ann).await;
        let html = page.html();
        assert_eq!(attrs(&html, "li.notification", "data-kind"), ["reminder"]);
        assert_eq!(
            texts(&html, "li.notification a"),
            ["Reminder: a post you bookmarked"]
        );
        assert_eq!(
            texts(&html, "li.notification .reason"),
            ["Read this properly"]
        );
        assert!(attrs(&html, "li.notification a", "href")[0].ends_with(&format!("#post-{post}")));
        let home = app.get_as("/", &ann).await;
        assert_eq!(texts(&home.html(), ".nav-bell .nav-count"), ["1 unread"]);
        // The list says it was sent; the runner tells nobody twice.
        let list = app.get_as(&list_path(&ann), &ann).await;
        assert!(
            texts(&list.html(), ".bookmark .meta")
                .concat()
                .contains("reminded")
        );
        run_jobs_in(&app, 3).await;
        assert_eq!(kinds(&app, &ann).await, ["reminder"]);
        // And by email, as notifications are, to the member who was away (away_secs = 0).
        let outbox = app.dir.path().join("outbox");
        let mails: Vec<String> = std::fs::read_dir(&outbox)
            .map(|entries| {
                entries
                    .flatten()
                    .filter_map(|e| std::fs::read_to_string(e.path()).ok())
                    .filter(|m| m.contains("Reminder: a post you bookmarked"))
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(mails.len(), 1, "{outbox:?}");
        assert!(mails[0].contains("ann_reminded@example.test"));
        assert!(mails[0].contains("Read this properly"));
        // A reminder turned off in the settings is settled without a word.
        act(
            &app,
            &ann,
            "/settings/notifications",
            &[
                ("own_threads", "watching"),
                ("replied", "tracking"),
                ("on_mention", "1"),
            ],
        )
        .await;
        let r = bookmark(&app, &ann, thread, "", &[("remind", "hour")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        run_jobs_in(&app, 2).await;
        assert_eq!(
            kinds(&app, &ann).await,
            ["reminder"],
            "a reminder turned off was sent"
        );
    }
);

both!(
    async fn a_changed_or_cleared_reminder_does_not_fire_the_old_one(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_changes", Role::Member).await;
        let thread = start_thread(&app, &ann, "Bookmarks: reminders that change").await;
        let token = app.api_token(&ann, "write").await;
        // In an hour, then moved to a chosen time in five hours.
        bookmark(&app, &ann, thread, "", &[("remind", "hour")]).await;
        let first = bookmarks_api(&app, &token).await["bookmarks"][0].clone();
        let id = first["id"].as_i64().unwrap_or(0);
        let old_time = Timestamp::parse_rfc3339(first["remind_at"].as_str().unwrap_or(""))
            .unwrap_or_else(|e| panic!("{e}: {first}"));
        let later = local_time_in(5);
        let r = bookmark(
            &app,
            &ann,
            thread,
            "",
            &[("remind", "hour"), ("remind_at", &later)],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        assert_eq!(
            bookmarks_api(&app, &token).await["bookmarks"][0]["remind_at"],
            json!(format!("{later}:00.000000Z"))
        );
        // A job for the old time that escaped being settled (another node had claimed it
        // while the reminder changed) finds the bookmark changed and tells nobody.
        app.store()
            .enqueue_job(
                "reminder",
                &agora_store::bookmarks::reminder_payload(id, old_time),
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        run_jobs_in(&app, 2).await;
        assert!(kinds(&app, &ann).await.is_empty(), "the old time fired");
        run_jobs_in(&app, 6).await;
        assert_eq!(kinds(&app, &ann).await, ["reminder"]);

        // Set again, then cleared: nothing, ever.
        let post = reply(&app, &ann, thread, "A reply of my own to come back to.").await;
        bookmark(
            &app,
            &ann,
            thread,
            &post.to_string(),
            &[("remind", "3days")],
        )
        .await;
        let r = bookmark(&app, &ann, thread, &post.to_string(), &[("remind", "")]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        run_jobs_in(&app, 24 * 4).await;
        assert_eq!(
            kinds(&app, &ann).await,
            ["reminder"],
            "a cleared reminder fired"
        );

        // Through the API: a reminder, then the bookmark removed before it is due.
        let at = Timestamp::from_micros(Timestamp::now().micros() + HOUR).to_rfc3339();
        let r = app
            .api(
                "PUT",
                "/api/v1/bookmarks",
                Some(&token),
                Some(json!({"thread_id": thread, "post_id": post, "remind_at": at})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["remind_at"], json!(at));
        let id = r.json()["id"].as_i64().unwrap_or(0);
        let r = app
            .api(
                "DELETE",
                &format!("/api/v1/bookmarks/{id}"),
                Some(&token),
                None,
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
        run_jobs_in(&app, 2).await;
        assert_eq!(
            kinds(&app, &ann).await,
            ["reminder"],
            "a removed bookmark reminded"
        );
        // A reminder that already fired fires again only when set again.
        let r = bookmark(
            &app,
            &ann,
            thread,
            "",
            &[("remind", "keep"), ("note", "again?")],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        run_jobs_in(&app, 24 * 8).await;
        assert_eq!(kinds(&app, &ann).await, ["reminder"]);
        bookmark(&app, &ann, thread, "", &[("remind", "week")]).await;
        run_jobs_in(&app, 24 * 8).await;
        // One notification per bookmark: the new reminder replaced the old one, unread again.
        assert_eq!(kinds(&app, &ann).await, ["reminder"]);
        let page = app.get_as("/notifications", &ann).await;
        assert_eq!(
            attrs(&page.html(), "li.notification.unread", "data-kind"),
            ["reminder"]
        );
    }
);

both!(
    async fn nothing_is_told_about_a_post_since_hidden_or_to_a_suspended_member(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_hidden", Role::Member).await;
        let eve = app.person("eve_suspended", Role::Member).await;
        let ben = app.person("ben_spams", Role::Member).await;
        let mo = app.person("mo_moderator", Role::Moderator).await;
        let thread = start_thread(&app, &ben, "Bookmarks: posts that go away").await;
        let post = reply(&app, &ben, thread, "A post a moderator will hide soon.").await;
        let post_text = post.to_string();
        bookmark(&app, &ann, thread, &post_text, &[("remind", "hour")]).await;
        bookmark(&app, &eve, thread, "", &[("remind", "hour")]).await;
        assert_eq!(listed(&app, &ann).await.len(), 1);
        act(
            &app,
            &mo,
            &format!("/posts/{post}/hide"),
            &[("reason", "Spam")],
        )
        .await;
        let until = Timestamp::from_micros(Timestamp::now().micros() + 72 * HOUR)
            .to_datetime()
            .format("%Y-%m-%d")
            .to_string();
        act(
            &app,
            &mo,
            &format!("/users/{}/suspend", eve.username),
            &[("until", &until), ("reason", "Cooling off")],
        )
        .await;
        // The hidden post's bookmark leaves the list (it comes back if shown again).
        assert!(listed(&app, &ann).await.is_empty());
        run_jobs_in(&app, 2).await;
        assert!(
            kinds(&app, &ann).await.is_empty(),
            "told about a hidden post"
        );
        assert!(
            kinds(&app, &eve).await.is_empty(),
            "a suspended member was told"
        );
        act(&app, &mo, &format!("/posts/{post}/unhide"), &[]).await;
        assert_eq!(listed(&app, &ann).await.len(), 1);
        // Settled: showing the post again does not send the missed reminder late.
        run_jobs_in(&app, 3).await;
        assert!(kinds(&app, &ann).await.is_empty());
        // A hidden post cannot be bookmarked by those who cannot see it.
        act(
            &app,
            &mo,
            &format!("/posts/{post}/hide"),
            &[("reason", "Spam")],
        )
        .await;
        let r = bookmark(&app, &ben, thread, &post_text, &[]).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    }
);

both!(
    async fn bad_input_is_refused_and_changes_nothing(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_mistakes", Role::Member).await;
        let thread = start_thread(&app, &ann, "Bookmarks: mistakes are refused").await;
        let other = start_thread(&app, &ann, "Bookmarks: another thread entirely").await;
        let post = reply(&app, &ann, thread, "A reply in the first thread.").await;
        let token = app.api_token(&ann, "write").await;
        let past = Timestamp::from_micros(Timestamp::now().micros() - HOUR).to_rfc3339();
        let cases = [
            (
                json!({"thread_id": thread, "remind_at": past}),
                400,
                "bad_request",
                Some("remind_at"),
            ),
            (
                json!({"thread_id": thread, "remind_at": "tomorrow"}),
                400,
                "bad_request",
                Some("remind_at"),
            ),
            (
                json!({"thread_id": thread, "remind_at": "2999-01-01T00:00:00Z"}),
                400,
                "bad_request",
                Some("remind_at"),
            ),
            (
                json!({"thread_id": thread, "note": "n".repeat(201)}),
                400,
                "bad_request",
                Some("note"),
            ),
            (
                json!({"thread_id": thread, "note": "a\u{0}b"}),
                400,
                "bad_request",
                Some("note"),
            ),
            (
                json!({"thread_id": thread, "post_id": 0}),
                400,
                "bad_request",
                Some("post_id"),
            ),
            (
                json!({"thread_id": thread, "colour": "red"}),
                400,
                "bad_request",
                None,
            ),
            (json!({"thread_id": 999_999}), 404, "not_found", None),
            (
                json!({"thread_id": thread, "post_id": 999_999}),
                404,
                "not_found",
                None,
            ),
            (
                json!({"thread_id": other, "post_id": post}),
                409,
                "conflict",
                Some("post_id"),
            ),
        ];
        for (body, status, code, param) in cases {
            let r = app
                .api("PUT", "/api/v1/bookmarks", Some(&token), Some(body.clone()))
                .await;
            assert_eq!(r.status.as_u16(), status, "{body}: {}", r.text());
            assert_eq!(
                r.json()["error"]["code"],
                json!(code),
                "{body}: {}",
                r.text()
            );
            if let Some(param) = param {
                assert_eq!(
                    r.json()["error"]["param"],
                    json!(param),
                    "{body}: {}",
                    r.text()
                );
            }
        }
        // The forms: a time in the past, a choice that is none, a note too long.
        for extra in [
            vec![("remind_at", local_time_in(-1))],
            vec![("remind", "fortnight".to_string())],
            vec![("note", "n".repeat(201))],
            vec![("remind_at", "soon".to_string())],
            vec![("tz", "9999".to_string())],
        ] {
            let fields: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = bookmark(&app, &ann, thread, &post.to_string(), &fields).await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{fields:?}: {}",
                r.text()
            );
        }
        let r = bookmark(&app, &ann, other, &post.to_string(), &[]).await;
        assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
        // Nothing was saved, and no reminder waits.
        assert_eq!(bookmarks_api(&app, &token).await["total"], json!(0));
        assert!(listed(&app, &ann).await.is_empty());
        run_jobs_in(&app, 24 * 365).await;
        assert!(kinds(&app, &ann).await.is_empty());
        // A good one after all that, with everything in it, as the API shows it.
        let at = Timestamp::from_micros(Timestamp::now().micros() + 24 * HOUR).to_rfc3339();
        let r = app
            .api(
                "PUT",
                "/api/v1/bookmarks",
                Some(&token),
                Some(json!({"thread_id": thread, "post_id": post, "note": "ok", "remind_at": at})),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        let saved = r.json();
        assert_eq!(saved["post_id"], json!(post));
        assert_eq!(saved["thread_id"], json!(thread));
        assert!(saved["reminded_at"].is_null());
        assert!(
            saved["url"]
                .as_str()
                .unwrap_or("")
                .ends_with(&format!("#post-{post}"))
        );
        let list = bookmarks_api(&app, &token).await;
        assert_eq!(list["total"], json!(1));
        assert_eq!(list["bookmarks"][0]["id"], saved["id"]);
        // Both answers are what the OpenAPI document says they are.
        let doc = app.ok("/api/v1/openapi.json").await.json();
        let ok = |path: &str, method: &str| {
            doc["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
                .clone()
        };
        crate::openapi::check(&doc, &ok("/api/v1/bookmarks", "put"), &saved, "PUT");
        crate::openapi::check(&doc, &ok("/api/v1/bookmarks", "get"), &list, "GET");
        let error = &doc["paths"]["/api/v1/bookmarks"]["put"]["responses"]["409"];
        assert!(error.is_object(), "409 is not documented");
        // Unauthenticated and read-only callers change nothing.
        let r = app
            .api(
                "PUT",
                "/api/v1/bookmarks",
                None,
                Some(json!({"thread_id": thread})),
            )
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        let read_only = app.api_token(&ann, "read").await;
        let r = app
            .api(
                "PUT",
                "/api/v1/bookmarks",
                Some(&read_only),
                Some(json!({"thread_id": thread})),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()["error"]["code"], "insufficient_scope");
        assert_eq!(bookmarks_api(&app, &token).await["total"], json!(1));
    }
);

both!(
    async fn cross_site_bookmark_forms_are_refused(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_guarded", Role::Member).await;
        let thread = start_thread(&app, &ann, "Bookmarks: forged from elsewhere").await;
        let body = crate::util::form_body(&[("thread", &thread.to_string()), ("next", "/")]);
        for forged in [
            vec![("sec-fetch-site", "cross-site")],
            vec![("origin", "https://evil.example")],
        ] {
            let mut headers = vec![
                ("content-type", "application/x-www-form-urlencoded"),
                ("host", "127.0.0.1:8080"),
                ("cookie", ann.cookie.as_str()),
            ];
            headers.extend(forged);
            let r = app
                .send_body("POST", "/bookmarks", &headers, body.clone())
                .await;
            assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        }
        assert!(
            listed(&app, &ann).await.is_empty(),
            "a forged form saved a bookmark"
        );
        // The same form from this site works, and removing it from elsewhere is refused.
        assert_eq!(
            bookmark(&app, &ann, thread, "", &[]).await.status,
            StatusCode::SEE_OTHER
        );
        let ids = listed(&app, &ann).await;
        assert_eq!(ids.len(), 1);
        let r = app
            .send_body(
                "POST",
                &format!("/bookmarks/{}/delete", ids[0]),
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("host", "127.0.0.1:8080"),
                    ("cookie", ann.cookie.as_str()),
                    ("sec-fetch-site", "cross-site"),
                ],
                Vec::new(),
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(listed(&app, &ann).await, ids);
    }
);

both!(
    async fn deleting_an_account_takes_its_bookmarks_and_those_of_its_posts(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_stays", Role::Member).await;
        let spam = app.person("spam_leaves", Role::Member).await;
        let ada = app.person("ada_admin", Role::Admin).await;
        let ours = start_thread(&app, &ann, "Bookmarks: a thread that stays").await;
        let theirs = start_thread(&app, &spam, "Bookmarks: a thread that goes").await;
        let reply_id = reply(&app, &spam, ours, "A reply that goes with its author.").await;
        bookmark(
            &app,
            &ann,
            ours,
            &reply_id.to_string(),
            &[("remind", "hour")],
        )
        .await;
        bookmark(&app, &ann, theirs, "", &[("remind", "hour")]).await;
        bookmark(&app, &spam, ours, "", &[("remind", "hour")]).await;
        let ann_token = app.api_token(&ann, "read").await;
        let mine: Vec<i64> = bookmarks_api(&app, &ann_token).await["bookmarks"]
            .as_array()
            .map(|list| list.iter().filter_map(|b| b["id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(mine.len(), 2);
        let r = app
            .post_form(
                &format!("/admin/users/{}/delete", spam.username),
                Some(&ada.cookie),
                &[("confirm", &spam.username)],
            )
            .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // Ann's bookmark of the reply (in her own thread, which stays) went with the reply.
        for id in mine {
            let row = app
                .store()
                .bookmark_by_id(id)
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(row.is_none(), "bookmark {id} outlived what it pointed at");
        }
        assert!(listed(&app, &ann).await.is_empty());
        // The reminders that were waiting for them tell nobody and fail nothing.
        let at = Timestamp::from_micros(Timestamp::now().micros() + 2 * HOUR);
        let (round, result) = agora::jobs::run_due(&app.state, at).await;
        result.unwrap_or_else(|e| panic!("jobs: {e}"));
        assert_eq!(round.dead + round.retried, 0, "{round:?}");
        assert!(kinds(&app, &ann).await.is_empty());
        let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(findings.is_empty(), "{findings:?}");
    }
);
