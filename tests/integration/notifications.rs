//! Bringing people back: what notifies whom (a reply in a watched thread, a reply to one's post,
//! a quote, an @mention, an accepted answer, a staff answer, a new thread where one watches,
//! grouped boosts, a moderator's action with its reason) and what never does (one's own
//! actions, a mention in code or a quotation, an edit, a hidden post, a suspended account, a
//! muted thread, a kind turned off); mentions as profile links; the bell, `/notifications`,
//! "mark all read", and reading by seeing. The notifier runs as the server runs it
//! (`services::notify::catch_up`), on SQLite and PostgreSQL.

use agora_store::{Role, Timestamp};
use axum::http::StatusCode;

use crate::util::{
    Person, TestApp, act, attrs, both, reply_as as reply, start_question as start_thread, texts,
};

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
        // Dan replied, so he tracks the thread: Ben's later reply is his one "tracked"
        // notification; the edit that mentions him is nothing.
        assert_eq!(
            kinds(&app, &dan).await,
            ["tracked"],
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
        let dans = kinds(&app, &dan).await;
        assert!(
            !dans.contains(&"mention".to_string()),
            "a hidden post's mention notified: {dans:?}"
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
        let dans = kinds(&app, &dan).await;
        assert!(
            !dans.contains(&"mention".to_string()),
            "a kind turned off was told: {dans:?}"
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
        // The subtopic's and the tag's pages (cached, shared) show each reader their own level.
        let subtopic = format!("/topics/{NET}");
        for (person, page, level) in [
            (&fay, subtopic.as_str(), "watching_first_post"),
            (&hal, subtopic.as_str(), "muted"),
            (&gus, "/tags/network", "watching"),
            (&gus, subtopic.as_str(), "normal"),
            (&ann, "/tags/network", "normal"),
        ] {
            let html = app.get_as(page, person).await.html();
            assert_eq!(
                attrs(&html, "#watch-level option[selected]", "value"),
                [level],
                "{} on {page}",
                person.username
            );
        }
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
        // The thread page's control says what the notifier does: watching, by the tag (and
        // muted, by the subtopic, for Hal).
        // Its author follows it by her setting for her own threads, a member who replied by
        // his for threads he replied in, and a member's choice for the thread itself comes
        // before any rule.
        let ivy = app.person("ivy_replies", Role::Member).await;
        reply(&app, &ivy, thread, "Same here, on cellular and on wifi.").await;
        act(
            &app,
            &fay,
            "/watch",
            &[
                ("target", "thread"),
                ("id", &thread.to_string()),
                ("level", "tracking"),
                ("next", "/"),
            ],
        )
        .await;
        let (url, _) = app.follow(&format!("/thread/{thread}")).await;
        for (person, level) in [
            (&gus, "watching"),
            (&hal, "muted"),
            (&fay, "tracking"),
            (&ann, "watching"),
            (&ivy, "tracking"),
        ] {
            let page = app.get_as(&url, person).await;
            assert_eq!(
                attrs(&page.html(), "#watch-level option[selected]", "value"),
                [level],
                "{}",
                person.username
            );
        }
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

// ---------------------------------------------------------------- email, through real SMTP

/// A real SMTP server (aiosmtpd, installed into target/aiosmtpd by `.ci/run`) writing what it
/// receives to a maildir; stopped when dropped.
struct SmtpServer {
    child: std::process::Child,
    port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    fn start() -> Option<Self> {
        let python =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/aiosmtpd/bin/python");
        if !python.exists() {
            // Written past the test harness's capture, so a passing run shows it too.
            let say = format!(
                "\n!!! SKIPPED: aiosmtpd is not installed ({}): an email test did not run. \
                 `.ci/run` installs it (python3 -m venv target/aiosmtpd && target/aiosmtpd/bin/pip \
                 install aiosmtpd==1.4.6).\n",
                python.display()
            );
            let _ = std::io::Write::write_all(&mut std::io::stderr(), say.as_bytes());
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("a free port: {e}"));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        let child = std::process::Command::new(&python)
            .args([
                "-m",
                "aiosmtpd",
                "-n",
                "-l",
                &format!("127.0.0.1:{port}"),
                "-c",
                "aiosmtpd.handlers.Mailbox",
            ])
            .arg(dir.path().join("mail"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start aiosmtpd: {e}"));
        let server = Self { child, port, dir };
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("aiosmtpd did not start on port {port}");
    }

    /// Every notification email received so far, raw (sign-up confirmations left out).
    fn messages(&self) -> Vec<String> {
        let mut out = Vec::new();
        for sub in ["new", "cur"] {
            if let Ok(entries) = std::fs::read_dir(self.dir.path().join("mail").join(sub)) {
                for entry in entries.flatten() {
                    if let Ok(text) = std::fs::read_to_string(entry.path())
                        && text.contains("\nSubject: [Agora]")
                    {
                        out.push(text);
                    }
                }
            }
        }
        out
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message's headers, unfolded, by lower-cased name.
fn headers_of(message: &str) -> Vec<(String, String)> {
    let head = message
        .split("\r\n\r\n")
        .next()
        .unwrap_or("")
        .split("\n\n")
        .next()
        .unwrap_or("");
    let mut out: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some(last) = out.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            out.push((name.trim().to_lowercase(), value.trim().to_string()));
        }
    }
    out
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

/// The path of a message's one-click unsubscribe link (`List-Unsubscribe: <https://…>`).
fn unsubscribe_path(headers: &[(String, String)]) -> String {
    let link = header(headers, "list-unsubscribe")
        .unwrap_or("")
        .trim_matches(['<', '>'])
        .to_string();
    let rest = link.split_once("://").map_or("", |(_, rest)| rest);
    let path = rest[rest.find('/').unwrap_or(0)..].to_string();
    assert!(path.starts_with("/unsubscribe/"), "{link}");
    path
}

async fn run_jobs(app: &TestApp) {
    let (_, result) = agora::jobs::run_due(&app.state, Timestamp::now()).await;
    result.unwrap_or_else(|e| panic!("jobs: {e}"));
}

/// The notification emails received, once `count` are there or a moment has passed (a job's
/// send has finished when `run_jobs` returns: SMTP's answer to DATA means the server has it).
async fn wait_for_mail(smtp: &SmtpServer, count: usize) -> Vec<String> {
    for _ in 0..10 {
        let messages = smtp.messages();
        if messages.len() >= count {
            return messages;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    smtp.messages()
}

both!(
    async fn away_members_get_one_threaded_email_per_thread_with_one_click_unsubscribe(b: Backend) {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let port = smtp.port;
        let app = TestApp::configured(b, |c| {
            c.email.smtp_url = format!("smtp://127.0.0.1:{port}");
            c.email.notify_delay_secs = 0;
            c.email.away_secs = 0;
        })
        .await;
        agora::services::archive::load_demo_if_empty(app.store())
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        let ann = app.person("ann_mail", Role::Member).await;
        let ben = app.person("ben_mail", Role::Member).await;
        let cleo = app.person("cleo_mail", Role::Member).await;
        for person in [&ann, &ben, &cleo] {
            app.confirm_email(person).await;
        }
        // Dora never confirmed her address: the forum does not mail it.
        let dora = app.person("dora_mail", Role::Member).await;
        let thread = start_thread(
            &app,
            &ann,
            "Email test: sockets idle out",
            "Our sockets close after a minute.",
        )
        .await;
        // Two notifications for one thread before the job runs: one message.
        reply(
            &app,
            &ben,
            thread,
            "@ann_mail the proxy's idle timeout is 60 s.",
        )
        .await;
        reply(
            &app,
            &cleo,
            thread,
            "Same here; keepalive fixed it for us. @dora_mail?",
        )
        .await;
        notify(&app).await;
        assert_eq!(kinds(&app, &dora).await, ["mention"]);
        run_jobs(&app).await;
        let messages = wait_for_mail(&smtp, 2).await;
        assert_eq!(
            messages.len(),
            1,
            "one message for one thread, none to an unconfirmed address: {messages:?}"
        );
        let message = &messages[0];
        let headers = headers_of(message);
        assert_eq!(header(&headers, "to"), Some("ann_mail@example.test"));
        assert!(
            header(&headers, "subject")
                .unwrap_or("")
                .contains("Email test: sockets idle out")
        );
        let conversation = format!("<thread-{thread}@127.0.0.1>");
        assert_eq!(header(&headers, "in-reply-to"), Some(conversation.as_str()));
        assert_eq!(header(&headers, "references"), Some(conversation.as_str()));
        assert!(header(&headers, "message-id").is_some_and(|id| id.starts_with("<notification-")));
        assert!(
            header(&headers, "list-id").is_some_and(|id| id.contains("<notifications.127.0.0.1>"))
        );
        assert_eq!(
            header(&headers, "list-unsubscribe-post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(
            header(&headers, "content-type")
                .unwrap_or("")
                .starts_with("multipart/alternative")
        );
        assert!(message.contains("Content-Type: text/plain"), "{message}");
        assert!(message.contains("Content-Type: text/html"), "{message}");
        assert!(message.contains("mentioned you"), "{message}");
        assert!(
            message.contains("replied in a thread you watch"),
            "{message}"
        );
        // Sent once: running the jobs again sends nothing more.
        run_jobs(&app).await;
        assert_eq!(wait_for_mail(&smtp, 2).await.len(), 1);

        // One click unsubscribes, with no session, once.
        let path = &unsubscribe_path(&headers);
        let scanner = app.get(path).await;
        assert_eq!(
            scanner.status,
            StatusCode::OK,
            "a GET only asks: {}",
            scanner.text()
        );
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let click = app
            .send_body("POST", path, &form, b"List-Unsubscribe=One-Click".to_vec())
            .await;
        assert_eq!(click.status, StatusCode::OK, "{}", click.text());
        let again = app
            .send_body("POST", path, &form, b"List-Unsubscribe=One-Click".to_vec())
            .await;
        assert_eq!(again.status, StatusCode::NOT_FOUND, "the link worked twice");
        let settings = app.get_as("/settings", &ann).await;
        assert_eq!(
            attrs(
                &settings.html(),
                "#f-notify-email option[selected]",
                "value"
            ),
            ["never"]
        );
        reply(
            &app,
            &ben,
            thread,
            "@ann_mail one more thing: check the load balancer.",
        )
        .await;
        notify(&app).await;
        run_jobs(&app).await;
        assert_eq!(
            wait_for_mail(&smtp, 2).await.len(),
            1,
            "mailed after unsubscribing"
        );

        // Read in the browser before the email goes: no email.
        reply(
            &app,
            &cleo,
            thread,
            "@ben_mail did the load balancer matter for you?",
        )
        .await;
        notify(&app).await;
        let (url, _) = app.follow(&format!("/thread/{thread}")).await;
        app.get_as(&url, &ben).await;
        run_jobs(&app).await;
        assert_eq!(
            wait_for_mail(&smtp, 2).await.len(),
            1,
            "a read notification was mailed"
        );
    }
);

/// Turns the weekly digest on or off through the settings form (the rest as defaults).
async fn set_digest(app: &TestApp, person: &Person, digest: &str) {
    let mut fields = vec![
        ("own_threads", "watching"),
        ("replied", "tracking"),
        ("email", "away"),
        ("digest", digest),
    ];
    let on: Vec<String> = agora::services::notify::KINDS
        .iter()
        .map(|(kind, _)| format!("on_{kind}"))
        .collect();
    fields.extend(on.iter().map(|name| (name.as_str(), "1")));
    act(app, person, "/settings/notifications", &fields).await;
}

/// The digests received so far (to whom, and the message).
async fn digests(smtp: &SmtpServer) -> Vec<(String, String)> {
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    smtp.messages()
        .into_iter()
        .filter(|m| m.contains("\nSubject: [Agora] This week"))
        .map(|m| {
            let to = header(&headers_of(&m), "to").unwrap_or("").to_string();
            (to, m)
        })
        .collect()
}

/// Runs the jobs due `days` from now.
async fn run_jobs_in(app: &TestApp, days: i64) {
    let at = Timestamp::from_micros(Timestamp::now().micros() + days * 86_400_000_000 + 60_000_000);
    let (_, result) = agora::jobs::run_due(&app.state, at).await;
    result.unwrap_or_else(|e| panic!("jobs: {e}"));
}

both!(
    async fn the_weekly_digest_goes_to_those_who_asked_weekly_and_unsubscribes_alone(b: Backend) {
        let Some(smtp) = SmtpServer::start() else {
            return;
        };
        let port = smtp.port;
        let app = TestApp::configured(b, |c| {
            c.email.smtp_url = format!("smtp://127.0.0.1:{port}");
        })
        .await;
        agora::services::archive::load_demo_if_empty(app.store())
            .await
            .unwrap_or_else(|e| panic!("demo: {e:#}"));
        // Ann watches nothing (the whole forum); Dan watches Networking alone; Ben never
        // confirmed his address; Eve did not ask for a digest.
        let ann = app.person("ann_digest", Role::Member).await;
        let dan = app.person("dan_digest", Role::Member).await;
        let ben = app.person("ben_digest", Role::Member).await;
        let eve = app.person("eve_digest", Role::Member).await;
        let cleo = app.person("cleo_digest", Role::Member).await;
        for person in [&ann, &dan, &eve] {
            app.confirm_email(person).await;
        }
        let _ = (&eve, "confirmed, but never asked for a digest");
        // Off and on again, twice saved: still one digest a week.
        set_digest(&app, &ann, "weekly").await;
        set_digest(&app, &ann, "off").await;
        set_digest(&app, &ann, "weekly").await;
        set_digest(&app, &ann, "weekly").await;
        set_digest(&app, &dan, "weekly").await;
        set_digest(&app, &ben, "weekly").await;
        let settings = app.get_as("/settings", &ann).await;
        assert_eq!(
            attrs(
                &settings.html(),
                "#f-notify-digest option[selected]",
                "value"
            ),
            ["weekly"]
        );
        act(
            &app,
            &dan,
            "/watch",
            &[
                ("target", "subtopic"),
                ("id", NET),
                ("level", "watching"),
                ("next", "/"),
            ],
        )
        .await;
        let net = start_thread(
            &app,
            &cleo,
            "Digest test: sockets reset under load",
            "Connections reset when the pool is full.",
        )
        .await;
        act(
            &app,
            &cleo,
            "/new",
            &[
                ("subtopic", "app-system-services/storage"),
                ("title", "Digest test: the disk fills with logs"),
                ("tags", "network"),
                ("kind", "discussion"),
                ("body", "Rotating logs never frees the space."),
            ],
        )
        .await;
        start_thread(
            &app,
            &ann,
            "Digest test: Ann's own question",
            "Ann asks; her digest leaves it out.",
        )
        .await;
        reply(&app, &ann, net, "Raising the pool size helped here.").await;

        // Nothing before the week is out.
        run_jobs_in(&app, 6).await;
        assert!(digests(&smtp).await.is_empty(), "a digest came early");

        run_jobs_in(&app, 7).await;
        let sent = digests(&smtp).await;
        let to: Vec<&str> = sent.iter().map(|(to, _)| to.as_str()).collect();
        assert_eq!(to.len(), 2, "one digest each for Ann and Dan: {to:?}");
        assert!(to.contains(&"ann_digest@example.test"), "{to:?}");
        assert!(to.contains(&"dan_digest@example.test"), "{to:?}");
        let ann_mail = &sent
            .iter()
            .find(|(to, _)| to == "ann_digest@example.test")
            .unwrap_or_else(|| panic!("no digest for Ann"))
            .1;
        let dan_mail = &sent
            .iter()
            .find(|(to, _)| to == "dan_digest@example.test")
            .unwrap_or_else(|| panic!("no digest for Dan"))
            .1;
        // The most replied first; her own thread left out.
        let sockets = ann_mail.find("Digest test: sockets reset under load");
        let disk = ann_mail.find("Digest test: the disk fills with logs");
        assert!(sockets.is_some() && disk.is_some(), "{ann_mail}");
        assert!(sockets < disk, "the busier thread comes first: {ann_mail}");
        assert!(!ann_mail.contains("Ann's own question"), "{ann_mail}");
        assert!(ann_mail.contains("1 reply"), "{ann_mail}");
        // Dan watches Networking: the storage thread is not his.
        assert!(dan_mail.contains("sockets reset under load"), "{dan_mail}");
        assert!(!dan_mail.contains("disk fills with logs"), "{dan_mail}");
        let headers = headers_of(ann_mail);
        assert!(header(&headers, "list-id").is_some_and(|id| id.contains("<digest.127.0.0.1>")));
        assert!(header(&headers, "message-id").is_some_and(|id| id.starts_with("<digest-")));
        assert_eq!(
            header(&headers, "list-unsubscribe-post"),
            Some("List-Unsubscribe=One-Click")
        );
        assert!(ann_mail.contains("Content-Type: text/plain"), "{ann_mail}");
        assert!(ann_mail.contains("Content-Type: text/html"), "{ann_mail}");
        assert!(
            ann_mail.contains(&format!("/thread/{net}/")),
            "no link to the thread: {ann_mail}"
        );

        // The same time again sends nothing; the next week has nothing new, so nothing.
        run_jobs_in(&app, 7).await;
        run_jobs_in(&app, 14).await;
        assert_eq!(digests(&smtp).await.len(), 2, "a digest twice");

        // Ann's one-click link turns the digest off, and notification email stays on.
        let path = &unsubscribe_path(&headers);
        let asked = app.get(path).await;
        assert!(
            asked.text().contains("Stop the weekly digest?"),
            "{}",
            asked.text()
        );
        let form = [("content-type", "application/x-www-form-urlencoded")];
        let click = app
            .send_body("POST", path, &form, b"List-Unsubscribe=One-Click".to_vec())
            .await;
        assert_eq!(click.status, StatusCode::OK, "{}", click.text());
        let settings = app.get_as("/settings", &ann).await.html();
        assert_eq!(
            attrs(&settings, "#f-notify-digest option[selected]", "value"),
            ["off"]
        );
        assert_eq!(
            attrs(&settings, "#f-notify-email option[selected]", "value"),
            ["away"]
        );
        // Her queued digest now finds nothing to do; Dan's is still a week ahead.
        let due = |name: &'static str| {
            let app = &app;
            async move {
                let account = app.store().account_by_name(name).await.ok().flatten();
                let id = account
                    .map(|a| a.brief.id)
                    .unwrap_or_else(|| panic!("{name}"));
                app.store()
                    .digest_due(id)
                    .await
                    .unwrap_or_else(|e| panic!("{e}"))
            }
        };
        assert_eq!(due("ann_digest").await, None);
        assert!(due("dan_digest").await.is_some());
    }
);

both!(
    /// Tracking (the default for threads one replied in): new replies gather in one unread
    /// notification a thread, which is never emailed.
    async fn tracked_threads_gather_new_replies_in_one_notification(b: Backend) {
        let app = TestApp::demo(b).await;
        let ann = app.person("ann_track", Role::Member).await;
        let ben = app.person("ben_track", Role::Member).await;
        let cleo = app.person("cleo_track", Role::Member).await;
        let thread = start_thread(
            &app,
            &ann,
            "Tracking: sockets close early",
            "Sockets close after a minute.",
        )
        .await;
        reply(&app, &ben, thread, "Same here, on cellular only.").await;
        notify(&app).await;
        reply(&app, &cleo, thread, "Check the idle timeout.").await;
        reply(&app, &cleo, thread, "And the keepalive interval.").await;
        notify(&app).await;
        assert_eq!(kinds(&app, &ben).await, ["tracked"]);
        let page = app.get_as("/notifications", &ben).await.html();
        assert!(
            texts(&page, "li.notification")
                .concat()
                .contains("2 new replies in a thread you track"),
            "{:?}",
            texts(&page, "li.notification")
        );
        // Never emailed: the email job finds nothing to send.
        let account = app
            .store()
            .account_by_name("ben_track")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no ben"));
        let waiting = app
            .store()
            .unemailed(account.brief.id, agora_store::ThreadId(thread))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(waiting.is_empty(), "{waiting:?}");
        // Watching (her own thread), Ann is told of each.
        assert_eq!(kinds(&app, &ann).await, ["watched", "watched", "watched"]);
    }
);
