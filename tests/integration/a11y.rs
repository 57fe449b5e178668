//! Valid HTML and accessibility on every page kind, signed out and signed in: the Nu HTML
//! Checker (`vnu.jar`, run once on all pages with the system Java) and axe-core (injected into
//! Debian's chromium: every page on a desktop in the light scheme, then each page kind on a
//! 320 px phone in the dark scheme, where the page must not scroll sideways either) must both
//! report nothing, and every id a page refers to must exist.
//!
//! Both tools come from npm into `.ci/node_modules` (`.ci/run` installs them from
//! `.ci/package.json`); `AGORA_VNU_JAR` and `AGORA_AXE_JS` point elsewhere. Without them, or
//! without Java or chromium, the test says loudly what it skipped.
//!
//! The pages come from one list on one forum ([`site`]): the demo plus a thread with
//! everything Markdown can hold, revisions, flags, a locked thread, a hidden and a deleted
//! post, a suspended account, and every form with its field errors. `site` also checks that
//! every GET page route in `src/router.rs` is on the list, so a new page kind cannot be missed.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use agora_store::{EmailPurpose, Role, Timestamp};
use axum::http::StatusCode;
use fantoccini::Client;

use crate::browser::Driver;
use crate::util::{Person, TestApp, attrs};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const NET: &str = "app-system-services/networking";
const NETWORKING: &str = "/topics/app-system-services/networking";

/// A post with everything the renderer makes: emphasis, links in running text, inline code, a
/// quote, headings, a task list, a table, wide code blocks (highlighted and plain), Chinese
/// text, an ordered list and a footnote.
const RICH: &str = r#"Our **NWConnection** times out after a few seconds in the background; see [the Network framework docs](https://developer.apple.com/documentation/network) and `NWParameters.tls`.

> From the release notes: *connections may be deferred* until the path is satisfied,
> so a [retry policy](https://example.com/retry) matters.

## What I tried

- [x] Restarted the device
- [ ] Tried another network
- [ ] Filed feedback

| Setting | Value | Effect |
|---|---|---|
| `waitsForConnectivity` | `true` | waits for a path instead of failing |
| `timeoutIntervalForResource` | 604800 | one week |

```swift
let connection = NWConnection(host: "example.com", port: 443, using: .tls) // a deliberately long line, so that this block has to scroll sideways on every screen width
connection.stateUpdateHandler = { state in print("state changed to \(state) while the app was in the background, which is when it fails") }
connection.start(queue: .main)
```

```
2026-01-01 12:00:00.000 nw_connection_copy_connected_path [C1] Client called nw_connection_copy_connected_path on unconnected nw_connection, returning nil
```

中文说明：应用进入后台几秒后，网络连接就被系统挂起了。有没有办法保持连接？

1. Open the app
2. Switch to another app[^1]

[^1]: After about [ten seconds](https://example.com/timing), see the log above.
"#;

const SHORT_BODY: &str = "Thanks, that explains the deferral: I will retry when the path \
                          becomes satisfied again.";

/// Who looks at a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Viewer {
    Anonymous,
    /// A member who wrote the rich thread.
    Member,
    /// A suspended member: the banner on every page.
    Suspended,
    /// An admin: moderation panels, the review queue and the audit log.
    Admin,
}

/// How a page is reached.
#[derive(Clone, Debug)]
enum Fetch {
    Get(String),
    /// A form submission: the browser first opens `from` (so the request is same-origin, as
    /// a person's would be), then posts `fields` to `action`.
    Post {
        from: String,
        action: String,
        fields: Vec<(String, String)>,
    },
}

#[derive(Clone, Debug)]
struct Page {
    name: String,
    viewer: Viewer,
    fetch: Fetch,
    status: StatusCode,
    /// Extra request headers (the in-process checks only: a browser cannot forge them).
    headers: Vec<(String, String)>,
}

impl Page {
    fn path(&self) -> &str {
        match &self.fetch {
            Fetch::Get(path) => path,
            Fetch::Post { action, .. } => action,
        }
    }
}

/// The forum every page is taken from, and who reads it.
struct Site {
    app: TestApp,
    people: BTreeMap<Viewer, Person>,
    pages: Vec<Page>,
}

fn must<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    result.unwrap_or_else(|e| panic!("{what}: {e}"))
}

/// Written past the test harness's capture on purpose: a skipped check must be seen.
fn skipped(what: &str, how: &str) {
    let _ = writeln!(std::io::stderr(), "\n!!! SKIPPED: {what}\n!!! {how}\n");
}

fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The file named by `var`, or the npm package's copy in `.ci/node_modules`.
pub(crate) fn tool(var: &str, default: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_path(default));
    path.is_file().then_some(path)
}

fn java() -> Option<PathBuf> {
    let java = std::env::var_os("AGORA_JAVA")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("java"));
    let works = Command::new(&java)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then_some(java)
}

const HOW_TO_INSTALL: &str = "Install the checkers with `npm install --prefix .ci --no-audit --no-fund \
                              --no-package-lock --ignore-scripts` (.ci/run does), or point \
                              AGORA_VNU_JAR / AGORA_AXE_JS at them.";

// ---------------------------------------------------------------- the forum and its pages

fn get(name: &str, viewer: Viewer, path: &str) -> Page {
    Page {
        name: name.to_string(),
        viewer,
        fetch: Fetch::Get(path.to_string()),
        status: StatusCode::OK,
        headers: Vec::new(),
    }
}

fn post(
    name: &str,
    viewer: Viewer,
    from: &str,
    action: &str,
    fields: &[(&str, &str)],
    status: StatusCode,
) -> Page {
    Page {
        name: name.to_string(),
        viewer,
        fetch: Fetch::Post {
            from: from.to_string(),
            action: action.to_string(),
            fields: fields
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        },
        status,
        headers: Vec::new(),
    }
}

fn with_status(mut page: Page, status: StatusCode) -> Page {
    page.status = status;
    page
}

/// A form post that must redirect (setting up the forum).
async fn act(app: &TestApp, who: &Person, path: &str, fields: &[(&str, &str)]) -> String {
    let response = app.post_form(path, Some(&who.cookie), fields).await;
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "POST {path}: {}",
        response.text()
    );
    response.header("location").unwrap_or_default().to_string()
}

/// The ids of a thread page's posts, in order.
async fn post_ids(app: &TestApp, url: &str) -> Vec<i64> {
    attrs(&app.ok(url).await.html(), "li.post", "id")
        .iter()
        .filter_map(|id| id.strip_prefix("post-").and_then(|n| n.parse().ok()))
        .collect()
}

fn thread_url(location: &str) -> String {
    location.split('#').next().unwrap_or(location).to_string()
}

/// The demo forum plus one of everything a page can show, and the list of pages.
async fn site() -> Site {
    let app = TestApp::demo(crate::util::Backend::Sqlite).await;
    let member = app.person("ada_asks", Role::Member).await;
    let admin = app.person("mo_admin", Role::Admin).await;
    let suspended = app.person("sam_suspended", Role::Member).await;

    // A thread with everything Markdown makes, answered, accepted, edited (revisions).
    let rich = thread_url(
        &act(
            &app,
            &member,
            "/new",
            &[
                ("subtopic", NET),
                (
                    "title",
                    "NWConnection drops in the background: what keeps it alive?",
                ),
                ("tags", "network quic"),
                ("kind", "question"),
                ("body", RICH),
            ],
        )
        .await,
    );
    let rich_id: i64 = rich
        .trim_start_matches("/thread/")
        .split('/')
        .next()
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("no thread id in {rich}"));
    act(
        &app,
        &admin,
        &format!("/thread/{rich_id}/reply"),
        &[("body", "Set `waitsForConnectivity`:\n\n```swift\nconfig.waitsForConnectivity = true\n```\n\n> connections may be deferred\n\nThat is the [documented](https://example.com/docs) behaviour.")],
    )
    .await;
    act(
        &app,
        &member,
        &format!("/thread/{rich_id}/reply"),
        &[("body", SHORT_BODY)],
    )
    .await;
    // An uploaded screenshot in a reply (a linked thumbnail), and a log file beside it.
    let mut shown = Vec::new();
    for (name, bytes) in [
        ("screenshot.jpg", crate::uploads::photo(1700, 900)),
        ("console.log", b"error: connection reset by peer\n".to_vec()),
    ] {
        let (content_type, body) = crate::uploads::multipart(&[], &[("file", name, &bytes)]);
        let r = app
            .send_body(
                "POST",
                "/api/v1/uploads",
                &[
                    ("content-type", content_type.as_str()),
                    ("cookie", member.cookie.as_str()),
                ],
                body,
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
        shown.push(
            r.json()["markdown"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
    }
    act(
        &app,
        &member,
        &format!("/thread/{rich_id}/reply"),
        &[(
            "body",
            &format!("What the app shows, and its log:\n\n{}", shown.join("\n\n")),
        )],
    )
    .await;
    act(
        &app,
        &member,
        &format!("/thread/{rich_id}/reply"),
        &[("body", "A reply I delete again, to leave a gap.")],
    )
    .await;
    // A draft of the member's, for the settings list, the reply box and the reply page: a
    // reply too short to post is kept.
    let kept = app
        .post_form(
            &format!("/thread/{rich_id}/reply"),
            Some(&member.cookie),
            &[("body", "Half-done")],
        )
        .await;
    assert_eq!(kept.status, StatusCode::BAD_REQUEST, "{}", kept.text());
    let posts = post_ids(&app, &rich).await;
    let [opening, answer, thanks, _shots, deleted] = posts[..] else {
        panic!("expected five posts on {rich}: {posts:?}");
    };
    act(&app, &member, &format!("/posts/{answer}/accept"), &[]).await;
    act(
        &app,
        &member,
        &format!("/posts/{deleted}/delete"),
        &[("confirm", "yes")],
    )
    .await;
    act(
        &app,
        &admin,
        &format!("/posts/{thanks}/hide"),
        &[("reason", "Off topic")],
    )
    .await;
    act(
        &app,
        &member,
        &format!("/posts/{opening}/edit"),
        &[
            (
                "title",
                "NWConnection drops in the background: what keeps it alive?",
            ),
            ("tags", "network quic"),
            ("body", &RICH.replace("a few seconds", "five seconds")),
            ("reason", "More precise"),
        ],
    )
    .await;
    // A flag for the review queue, a locked thread, a suspension (the audit log).
    act(
        &app,
        &member,
        &format!("/posts/{answer}/flag"),
        &[("reason", "Please check the link")],
    )
    .await;
    // Bookmarks of the member's: the answer with a note and a reminder, and the whole thread
    // (the controls on the thread page show them; the list on the profile is theirs alone).
    let rich_text = rich_id.to_string();
    let answer_text = answer.to_string();
    for fields in [
        vec![
            ("thread", rich_text.as_str()),
            ("post", answer_text.as_str()),
            ("note", "Try waitsForConnectivity on Monday"),
            ("remind", "3days"),
            ("next", "/"),
        ],
        vec![("thread", rich_text.as_str()), ("next", "/")],
    ] {
        act(&app, &member, "/bookmarks", &fields).await;
    }
    let demo_thread = thread_url(&app.follow("/thread/1").await.0);
    act(
        &app,
        &admin,
        "/thread/2/lock",
        &[("reason", "Answered; locked to keep it tidy.")],
    )
    .await;
    let locked = thread_url(&app.follow("/thread/2").await.0);
    let chinese = thread_url(&app.follow("/thread/15").await.0);
    let until = Timestamp::from_micros(Timestamp::now().micros() + 30 * 86_400_000_000)
        .to_datetime()
        .format("%Y-%m-%d")
        .to_string();
    act(
        &app,
        &admin,
        "/users/sam_suspended/suspend",
        &[("until", &until), ("reason", "Spam")],
    )
    .await;
    // A reset link that works.
    let token = "a11yresettoken0123456789abcdefghij";
    let account = must(app.store().account_by_name("ada_asks").await, "account")
        .unwrap_or_else(|| panic!("no account ada_asks"));
    must(
        app.store()
            .create_email_token(
                account.brief.id,
                EmailPurpose::Reset,
                &agora::auth::secret_hash(token),
                Timestamp::from_micros(Timestamp::now().micros() + 3_600_000_000),
                String::new(),
            )
            .await,
        "reset token",
    );
    // An unsubscribe link, as a notification email carries one.
    must(
        app.store()
            .create_unsubscribe_token(
                account.brief.id,
                &agora::auth::secret_hash("a11yunsubscribetoken0123456789"),
                agora_store::MailList::Notifications,
            )
            .await,
        "unsubscribe token",
    );
    // The site's own pages, a footer link and an accent colour, as an administrator sets them.
    let mut settings = app.state.site().settings.clone();
    settings.about = "# About us\n\nA forum for **network** developers.".into();
    settings.guidelines = "1. Be kind.\n2. Search first.".into();
    settings.terms = "Posts are licensed CC BY-SA.".into();
    settings.privacy = "We keep your email address private.".into();
    settings.contact_email = "team@example.com".into();
    settings.accent_colour = "#7a3e9d".into();
    settings.footer_links.push(agora::settings::FooterLink {
        label: "Docs".into(),
        url: "https://example.com/docs".into(),
    });
    must(
        agora::services::settings::save_as_operator(&app.state, settings).await,
        "settings",
    )
    .unwrap_or_else(|e| panic!("settings refused: {e:?}"));
    app.index().await;

    // Sort and filter links as the listing offers them.
    let listing = app.ok(NETWORKING).await.html();
    let sort = attrs(&listing, ".listing-controls .sorts a", "href");
    let filter = attrs(&listing, ".listing-controls .filters a", "href");
    let (sort, filter) = (
        sort.last()
            .cloned()
            .unwrap_or_else(|| panic!("no sort links")),
        filter
            .last()
            .cloned()
            .unwrap_or_else(|| panic!("no filter links")),
    );

    use Viewer::{Admin, Anonymous, Member, Suspended};
    let bad = StatusCode::BAD_REQUEST;
    let mut pages = Vec::new();
    for viewer in [Anonymous, Member, Admin] {
        pages.extend([
            get("home", viewer, "/"),
            get("subtopic", viewer, NETWORKING),
            get("subtopic sorted", viewer, &sort),
            get("subtopic filtered", viewer, &filter),
            get("tags", viewer, "/tags"),
            get("tag", viewer, "/tags/network"),
            get("rich thread", viewer, &rich),
            get("demo thread", viewer, &demo_thread),
            get("locked thread", viewer, &locked),
            get("chinese thread", viewer, &chinese),
            get("revisions", viewer, &format!("/posts/{opening}/revisions")),
            get("profile", viewer, "/users/ada_asks"),
            get("search help", viewer, "/search"),
            get("about", viewer, "/about"),
            get("guidelines", viewer, "/guidelines"),
            get("terms", viewer, "/terms"),
            get("privacy", viewer, "/privacy"),
            get(
                "search results",
                viewer,
                "/search?q=NWConnection+background",
            ),
            get("search chinese", viewer, "/search?q=%E7%BD%91%E7%BB%9C"),
            get("search nothing", viewer, "/search?q=zzqqxxnothing"),
            get(
                "search filters",
                viewer,
                "/search?q=tag%3Anetwork+is%3Asolved&sort=newest",
            ),
            with_status(
                get("not found", viewer, "/no/such/page"),
                StatusCode::NOT_FOUND,
            ),
            with_status(
                get("no such thread", viewer, "/thread/99999/gone"),
                StatusCode::NOT_FOUND,
            ),
            with_status(
                get("bad parameter", viewer, &format!("{NETWORKING}?page=zero")),
                bad,
            ),
        ]);
    }
    pages.extend([
        // Signed out: accounts.
        get("sign in", Anonymous, "/signin?next=%2Fnew"),
        post(
            "sign in refused",
            Anonymous,
            "/signin",
            "/signin",
            &[
                ("login", "ada_asks"),
                ("password", "wrong password"),
                ("next", ""),
            ],
            StatusCode::UNAUTHORIZED,
        ),
        get("sign up", Anonymous, "/signup"),
        post(
            "sign up errors",
            Anonymous,
            "/signup",
            "/signup",
            &[
                ("username", "x"),
                ("email", "not an address"),
                ("password", "short"),
                ("display_name", ""),
                ("next", ""),
            ],
            bad,
        ),
        get("reset", Anonymous, "/reset"),
        post(
            "reset sent",
            Anonymous,
            "/reset",
            "/reset",
            &[("email", "ada_asks@example.test")],
            StatusCode::OK,
        ),
        get("reset link", Anonymous, &format!("/reset/{token}")),
        post(
            "reset link errors",
            Anonymous,
            &format!("/reset/{token}"),
            &format!("/reset/{token}"),
            &[("password", "short")],
            bad,
        ),
        get("reset link used", Anonymous, "/reset/no-such-token"),
        with_status(
            get("verify link used", Anonymous, "/verify/no-such-token"),
            bad,
        ),
        // Signed in: writing.
        get("compose", Member, "/new"),
        post(
            "compose errors",
            Member,
            "/new",
            "/new",
            &[
                ("subtopic", ""),
                ("title", "short"),
                ("tags", ""),
                ("kind", "poll"),
                ("body", "tiny"),
            ],
            bad,
        ),
        post(
            "compose preview",
            Member,
            "/new",
            "/new",
            &[
                ("subtopic", NET),
                ("title", "A preview of everything"),
                ("tags", "network"),
                ("kind", "discussion"),
                ("body", RICH),
                ("preview", "1"),
            ],
            StatusCode::OK,
        ),
        get("reply", Member, &format!("/thread/{rich_id}/reply")),
        get(
            "reply to a post",
            Member,
            &format!("/thread/{rich_id}/reply?to={answer}"),
        ),
        get("delete a reply", Admin, &format!("/posts/{answer}/delete")),
        get(
            "delete a thread",
            Admin,
            &format!("/posts/{opening}/delete"),
        ),
        get(
            "reply quoting",
            Member,
            &format!("/thread/{rich_id}/reply?quote={answer}"),
        ),
        post(
            "reply errors",
            Member,
            &format!("/thread/{rich_id}/reply"),
            &format!("/thread/{rich_id}/reply"),
            &[("body", "tiny")],
            bad,
        ),
        post(
            "reply preview",
            Member,
            &format!("/thread/{rich_id}/reply"),
            &format!("/thread/{rich_id}/reply"),
            &[("body", RICH), ("preview", "1")],
            StatusCode::OK,
        ),
        // Refused and signed-out submits: the form again with the reason, the sign-in form
        // carrying the text.
        post(
            "reply refused (suspended)",
            Suspended,
            &rich,
            &format!("/thread/{rich_id}/reply"),
            &[("body", SHORT_BODY)],
            StatusCode::FORBIDDEN,
        ),
        post(
            "reply signed out",
            Anonymous,
            &rich,
            &format!("/thread/{rich_id}/reply"),
            &[("body", SHORT_BODY)],
            StatusCode::UNAUTHORIZED,
        ),
        Page {
            headers: vec![("sec-fetch-site".into(), "cross-site".into())],
            ..post(
                "reply cross-site",
                Member,
                &rich,
                &format!("/thread/{rich_id}/reply"),
                &[("body", SHORT_BODY)],
                StatusCode::FORBIDDEN,
            )
        },
        get("edit", Member, &format!("/posts/{opening}/edit")),
        post(
            "edit errors",
            Member,
            &format!("/posts/{opening}/edit"),
            &format!("/posts/{opening}/edit"),
            &[
                ("title", "x"),
                ("tags", ""),
                ("body", "tiny"),
                ("reason", ""),
            ],
            bad,
        ),
        get("edit reply", Admin, &format!("/posts/{answer}/edit")),
        // Signed in: settings and tokens.
        get("settings", Member, "/settings"),
        get("notifications", Member, "/notifications"),
        get("bookmarks", Member, "/users/ada_asks/bookmarks"),
        with_status(
            get(
                "bookmarks of someone else",
                Admin,
                "/users/ada_asks/bookmarks",
            ),
            StatusCode::NOT_FOUND,
        ),
        post(
            "bookmark errors",
            Member,
            &rich,
            "/bookmarks",
            &[("thread", &rich_id.to_string()), ("remind_at", "soon")],
            bad,
        ),
        get(
            "unsubscribe",
            Anonymous,
            "/unsubscribe/a11yunsubscribetoken0123456789",
        ),
        get("notifications", Suspended, "/notifications"),
        get("settings saved", Member, "/settings?done=profile"),
        post(
            "settings profile errors",
            Member,
            "/settings",
            "/settings/profile",
            &[("display_name", &"x".repeat(61)), ("signature", "")],
            bad,
        ),
        post(
            "settings password errors",
            Member,
            "/settings",
            "/settings/password",
            &[
                ("current_password", "wrong password"),
                ("new_password", "short"),
            ],
            bad,
        ),
        post(
            "new token",
            Member,
            "/settings",
            "/settings/tokens",
            &[("name", "release bot"), ("scope", "read")],
            StatusCode::OK,
        ),
        post(
            "new token errors",
            Member,
            "/settings",
            "/settings/tokens",
            &[("name", ""), ("scope", "read")],
            bad,
        ),
        with_status(
            get("review forbidden", Member, "/review"),
            StatusCode::FORBIDDEN,
        ),
        // Admin.
        get("admin dashboard", Admin, "/admin"),
        get("admin settings", Admin, "/admin/settings"),
        with_status(
            get("admin forbidden", Member, "/admin"),
            StatusCode::FORBIDDEN,
        ),
        // Moderation.
        get("review queue", Admin, "/review"),
        get("audit log", Admin, "/audit"),
        get("profile to moderate", Admin, "/users/sam_suspended"),
        // Areas, subtopics and tags.
        get("structure", Admin, "/admin/structure?done=moved"),
        get("new area", Admin, "/admin/structure/areas/new"),
        get("area", Admin, "/admin/structure/areas/1"),
        get("new subtopic", Admin, "/admin/structure/subtopics/new"),
        get("subtopic rules", Admin, "/admin/structure/subtopics/1"),
        post(
            "subtopic errors",
            Admin,
            "/admin/structure/subtopics/1",
            "/admin/structure/subtopics/1",
            &[
                ("area", "app-system-services"),
                ("slug", "Not A Slug"),
                ("name", ""),
                ("docs_url", "javascript:alert(1)"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        get("tags admin", Admin, "/admin/tags"),
        get("tag admin", Admin, "/admin/tags/network"),
        post(
            "tag merge errors",
            Admin,
            "/admin/tags/network",
            "/admin/tags/network/merge",
            &[("into", "network")],
            StatusCode::BAD_REQUEST,
        ),
        // Members (the staff directory, one member, invitations) and the public directory.
        get("member directory", Admin, "/admin/users?q=s&sort=name"),
        get("member page", Admin, "/admin/users/sam_suspended"),
        post(
            "member page errors",
            Admin,
            "/admin/users/sam_suspended",
            "/admin/users/sam_suspended/delete",
            &[("confirm", "not the name")],
            bad,
        ),
        get("invitations", Admin, "/admin/invitations"),
        get("uploads (moderators)", Admin, "/admin/uploads"),
        post(
            "invitation errors",
            Admin,
            "/admin/invitations",
            "/admin/invitations",
            &[("email", "not an address"), ("role", "member")],
            bad,
        ),
        get("member directory (public)", Anonymous, "/users"),
        get(
            "member directory searched and sorted",
            Anonymous,
            "/users?q=a&sort=answers",
        ),
        get(
            "member directory, nobody found",
            Anonymous,
            "/users?q=zzqqxx",
        ),
        with_status(
            get("member directory, bad sort", Anonymous, "/users?sort=karma"),
            bad,
        ),
        get(
            "profile: boosts received",
            Anonymous,
            "/users/ada_asks?tab=boosts-received",
        ),
        get(
            "profile: empty tab",
            Anonymous,
            "/users/ada_asks?tab=answers",
        ),
        get(
            "subtopic, filtered, ascending",
            Anonymous,
            &format!("{NETWORKING}?filter=staff-answered&sortBy=views&sortOrder=asc"),
        ),
        // Suspended: the banner.
        get("home", Suspended, "/"),
        get("rich thread", Suspended, &rich),
        get("settings", Suspended, "/settings"),
        Page {
            headers: vec![("sec-fetch-site".into(), "cross-site".into())],
            ..post(
                "cross-site refused",
                Anonymous,
                "/",
                "/signout",
                &[],
                StatusCode::FORBIDDEN,
            )
        },
    ]);
    // What the setup's replies, accepts and boosts tell people, for the bell and the list.
    must(
        agora::services::notify::catch_up(&app.state).await,
        "notifier",
    );
    assert_every_page_route_listed(&pages);
    // A job that failed for good, so the dashboard lists one with its retry button. (The
    // reset token above queued an empty email job too, which dies beside it.)
    let dead = must(
        app.store()
            .enqueue_job("email", "a payload no email handler can read")
            .await,
        "job",
    );
    app.state.run_jobs().await;
    let listed = must(app.store().dead_jobs().await, "dead jobs");
    assert!(listed.iter().any(|j| j.id == dead), "{listed:?}");
    let people = BTreeMap::from([(Member, member), (Admin, admin), (Suspended, suspended)]);
    Site { app, people, pages }
}

impl Site {
    /// A page as the in-process router answers it (status checked).
    async fn fetch(&self, page: &Page) -> String {
        let cookie = self.people.get(&page.viewer).map(|p| p.cookie.as_str());
        let response = match &page.fetch {
            Fetch::Get(path) => {
                let mut headers: Vec<(&str, &str)> = page
                    .headers
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if let Some(cookie) = cookie {
                    headers.push(("cookie", cookie));
                }
                self.app.request(path, &headers).await
            }
            Fetch::Post { action, fields, .. } => {
                let fields: Vec<(&str, &str)> = fields
                    .iter()
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                if page.headers.is_empty() {
                    self.app.post_form(action, cookie, &fields).await
                } else {
                    let mut headers: Vec<(&str, &str)> = page
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    headers.push(("content-type", "application/x-www-form-urlencoded"));
                    if let Some(cookie) = cookie {
                        headers.push(("cookie", cookie));
                    }
                    self.app
                        .send_body("POST", action, &headers, crate::util::form_body(&fields))
                        .await
                }
            }
        };
        assert_eq!(
            response.status,
            page.status,
            "{} ({:?}) {}: {}",
            page.name,
            page.viewer,
            page.path(),
            response.text().chars().take(2000).collect::<String>()
        );
        response.text()
    }
}

// ---------------------------------------------------------------- the Nu HTML Checker

#[derive(serde::Deserialize)]
struct VnuReport {
    messages: Vec<VnuMessage>,
}

#[derive(serde::Deserialize)]
struct VnuMessage {
    #[serde(rename = "type")]
    kind: String,
    url: Option<String>,
    #[serde(rename = "lastLine")]
    line: Option<u64>,
    message: String,
    extract: Option<String>,
}

/// References by id that lead nowhere: `aria-describedby` and the like, `for`, `list`, and
/// in-page links. Neither checker reports all of them (axe only marks a missing description
/// for review; vnu checks some attributes only).
fn dangling_ids(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let all = scraper::Selector::parse("*").unwrap_or_else(|e| panic!("{e}"));
    let ids: std::collections::HashSet<&str> =
        doc.select(&all).filter_map(|e| e.value().id()).collect();
    let mut problems = Vec::new();
    for element in doc.select(&all) {
        for (name, value) in element.value().attrs() {
            let refs: Vec<&str> = match name {
                "aria-describedby" | "aria-labelledby" | "aria-controls" | "aria-owns"
                | "aria-details" | "headers" => value.split_whitespace().collect(),
                "for" | "list" | "form" | "aria-activedescendant" | "aria-errormessage" => {
                    vec![value]
                }
                "href" => value
                    .strip_prefix('#')
                    .filter(|id| !id.is_empty())
                    .into_iter()
                    .collect(),
                _ => continue,
            };
            for id in refs {
                if !ids.contains(id) {
                    problems.push(format!(
                        "<{} {name}=\"{value}\">: no element has id \"{id}\"",
                        element.value().name()
                    ));
                }
            }
        }
    }
    problems
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_kind_is_valid_html() {
    let started = Instant::now();
    let site = site().await;
    let mut pages = Vec::new();
    let mut dangling = Vec::new();
    for page in &site.pages {
        let html = site.fetch(page).await;
        for problem in dangling_ids(&html) {
            dangling.push(format!(
                "{} ({:?}) {}: {problem}",
                page.name,
                page.viewer,
                page.path()
            ));
        }
        pages.push((page, html));
    }
    assert!(
        dangling.is_empty(),
        "references to ids that are not on the page:\n{}",
        dangling.join("\n")
    );
    let (Some(jar), Some(java)) = (
        tool(
            "AGORA_VNU_JAR",
            ".ci/node_modules/vnu-jar/build/dist/vnu.jar",
        ),
        java(),
    ) else {
        skipped(
            "the Nu HTML Checker (vnu.jar) or Java is missing: no page was checked for valid HTML \
             (ids and statuses were).",
            HOW_TO_INSTALL,
        );
        return;
    };
    let dir = must(tempfile::tempdir(), "tempdir");
    let mut files = Vec::new();
    let mut names = BTreeMap::new();
    for (n, (page, html)) in pages.into_iter().enumerate() {
        let file = dir.path().join(format!("{n:03}.html"));
        must(std::fs::write(&file, html), "write page");
        names.insert(
            format!("{n:03}.html"),
            format!("{} ({:?}) {}", page.name, page.viewer, page.path()),
        );
        files.push(file);
    }
    let fetched = started.elapsed();
    // One run for every page: the checker takes seconds to start.
    let output = must(
        Command::new(&java)
            .args(["-Xss8m", "-jar"])
            .arg(&jar)
            .args(["--errors-only", "--format", "json"])
            .args(&files)
            .output(),
        "run vnu.jar",
    );
    let report = String::from_utf8_lossy(&output.stderr);
    let report: VnuReport = serde_json::from_str(&report)
        .unwrap_or_else(|e| panic!("vnu.jar did not answer JSON ({e}): {report}"));
    let mut failures = Vec::new();
    for m in &report.messages {
        if m.kind == "info" {
            continue;
        }
        let file = m
            .url
            .as_deref()
            .and_then(|u| u.rsplit('/').next())
            .unwrap_or("?");
        let page = names.get(file).map_or(file, String::as_str);
        failures.push(format!(
            "{page}, line {}: {} [{}]\n    {}",
            m.line.unwrap_or(0),
            m.message,
            m.kind,
            m.extract.as_deref().unwrap_or("").replace('\n', "⏎")
        ));
    }
    // Past the harness's capture: CI's log shows what was checked.
    let _ = writeln!(
        std::io::stderr(),
        "a11y: vnu checked {} pages: {} errors (pages fetched in {:.1}s, checked in {:.1}s)",
        files.len(),
        failures.len(),
        fetched.as_secs_f64(),
        (started.elapsed() - fetched).as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "the Nu HTML Checker found {} errors on {} pages:\n{}",
        failures.len(),
        files.len(),
        summary(&failures, |f| f
            .split(": ")
            .nth(1)
            .unwrap_or("?")
            .chars()
            .take(90)
            .collect())
    );
    assert!(
        output.status.success(),
        "vnu.jar exited with {} and reported no error: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout)
    );
}

// ---------------------------------------------------------------- axe-core in chromium

/// Waits until a navigation that started after `mark_old_document` has loaded.
async fn wait_for_new_document(client: &Client, what: &str) {
    let started = Instant::now();
    loop {
        let state = client
            .execute(
                "return window.__agoraOld ? 'old' : document.readyState",
                Vec::new(),
            )
            .await;
        if let Ok(serde_json::Value::String(s)) = &state
            && s == "complete"
        {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{what}: the page did not load within 15 s ({state:?})"
        );
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// Opens a page in the browser as its viewer.
async fn open(client: &Client, base: &str, page: &Page) {
    match &page.fetch {
        Fetch::Get(path) => must(client.goto(&format!("{base}{path}")).await, &page.name),
        Fetch::Post {
            from,
            action,
            fields,
        } => {
            must(client.goto(&format!("{base}{from}")).await, &page.name);
            let fields: Vec<serde_json::Value> = fields
                .iter()
                .map(|(k, v)| serde_json::json!([k, v]))
                .collect();
            must(
                client
                    .execute(
                        "const [action, fields] = arguments; window.__agoraOld = true; \
                         const f = document.createElement('form'); f.method = 'post'; \
                         f.action = action; for (const [k, v] of fields) { \
                         const i = document.createElement('input'); i.type = 'hidden'; \
                         i.name = k; i.value = v; f.append(i); } \
                         document.body.append(f); f.submit();",
                        vec![serde_json::json!(action), serde_json::json!(fields)],
                    )
                    .await,
                &page.name,
            );
            wait_for_new_document(client, &page.name).await;
        }
    }
}

/// The failures, counted by their first word (a rule, or a page for vnu), then the first 60.
fn summary(failures: &[String], key: impl Fn(&str) -> String) -> String {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for failure in failures {
        *counts.entry(key(failure)).or_default() += 1;
    }
    let mut out: Vec<String> = counts
        .iter()
        .map(|(k, n)| format!("  {n:>4} × {k}"))
        .collect();
    out.push(String::new());
    out.extend(failures.iter().take(60).cloned());
    if failures.len() > 60 {
        out.push(format!("… and {} more", failures.len() - 60));
    }
    out.join("\n")
}

/// Content wider than the viewport: WCAG 1.4.10 (reflow) asks that a page read at 320 CSS
/// pixels without scrolling sideways; code blocks and tables may scroll inside boxes of their
/// own. axe does not check this. Returns the elements that stick out of the page.
pub(crate) async fn overflow(client: &Client, what: &str) -> Vec<String> {
    let found = must(
        client
            .execute(
                "const width = document.documentElement.clientWidth; \
                 if (document.documentElement.scrollWidth <= width) return []; \
                 const scrolls = e => { for (let a = e.parentElement; a && a !== document.body; \
                   a = a.parentElement) { if (getComputedStyle(a).overflowX !== 'visible') \
                   return true; } return false; }; \
                 const out = []; \
                 for (const e of document.body.querySelectorAll('*')) { \
                   const r = e.getBoundingClientRect(); \
                   if (r.right > width + 1 && !scrolls(e)) { \
                     const id = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') \
                       + (e.classList.length ? '.' + [...e.classList].join('.') : ''); \
                     out.push(id + ' reaches ' + Math.round(r.right) + 'px'); } } \
                 return [document.documentElement.scrollWidth + 'px wide in ' + width + 'px'] \
                   .concat(out.slice(0, 6));",
                Vec::new(),
            )
            .await,
        &format!("{what}: measure overflow"),
    );
    let lines: Vec<&str> = found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .collect();
    if lines.is_empty() {
        return Vec::new();
    }
    vec![format!(
        "{what}: reflow (serious): the page scrolls sideways: {}",
        lines.join("; ")
    )]
}

/// Controls smaller than a fingertip: every link, button, field and disclosure a reader can
/// touch must be at least 44×44 CSS px (WCAG 2.5.5), except links inside running text (the
/// guideline's own exception) and checkboxes whose label is the target. Returns one line per
/// control that is too small.
pub(crate) async fn touch_targets(client: &Client, what: &str) -> Vec<String> {
    let found = must(
        client
            .execute(
                "const out = []; \
                 const inText = e => { if (e.closest('label')) return true; \
                   if (getComputedStyle(e).display !== 'inline') return false; \
                   if (e.closest('.post-body, .signature, p, dd, blockquote, .hint, .meta, \
                     .lede, .excerpt, caption, figcaption, label')) return true; \
                   return [...e.parentElement.childNodes].some(n => n !== e && \
                     (n.nodeType === 3 ? n.textContent.trim() !== '' : \
                      getComputedStyle(n).display === 'inline' && n.tagName !== 'A')); }; \
                 for (const e of document.querySelectorAll('a[href], button, select, textarea, \
                     summary, input:not([type=hidden])')) { \
                   let r = e.getBoundingClientRect(); \
                   if (r.width === 0 || r.height === 0 || r.bottom <= 0 \
                       || getComputedStyle(e).visibility === 'hidden' || e.closest('.sr-only')) continue; \
                   if ((e.tagName === 'A' && inText(e)) || e.disabled) continue; \
                   const after = getComputedStyle(e, '::after'); \
                   if (after.position === 'absolute' && after.content !== 'none' && e.offsetParent) \
                     r = e.offsetParent.getBoundingClientRect(); \
                   if (e.type === 'checkbox' || e.type === 'radio') { \
                     const label = e.closest('label') || (e.id && document.querySelector( \
                       'label[for=\"' + e.id + '\"]')); \
                     if (label) r = label.getBoundingClientRect(); } \
                   if (r.height < 43.5 || r.width < 43.5) { \
                     const id = e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') \
                       + (e.classList.length ? '.' + [...e.classList].join('.') : ''); \
                     out.push(id + ' \"' + (e.textContent || e.value || '').trim().slice(0, 30) \
                       + '\" ' + Math.round(r.width) + 'x' + Math.round(r.height)); } } \
                 return out;",
                Vec::new(),
            )
            .await,
        &format!("{what}: measure touch targets"),
    );
    found
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str())
        .map(|line| format!("{what}: touch-target (serious): smaller than 44×44 px: {line}"))
        .collect()
}

/// Runs axe on the open page; returns its violations, one line per element.
pub(crate) async fn axe(client: &Client, axe_source: &str, what: &str) -> Vec<String> {
    let loaded = client
        .execute(
            &format!("{axe_source}\n;return typeof window.axe;"),
            Vec::new(),
        )
        .await;
    assert_eq!(
        loaded
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .as_deref(),
        Some("object"),
        "{what}: axe-core did not load"
    );
    let result = must(
        client
            .execute_async(
                "const done = arguments[arguments.length - 1]; \
                 axe.run(document, { resultTypes: ['violations'] }) \
                   .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, \
                     help: v.help, nodes: v.nodes.map(n => ({ target: n.target.join(' '), \
                     summary: n.failureSummary, html: n.html.slice(0, 200) })) })))) \
                   .catch(e => done({ error: String(e) }));",
                Vec::new(),
            )
            .await,
        &format!("{what}: axe.run"),
    );
    if let Some(error) = result.get("error") {
        panic!("{what}: axe.run failed: {error}");
    }
    let mut out = Vec::new();
    for v in result.as_array().into_iter().flatten() {
        for node in v["nodes"].as_array().into_iter().flatten() {
            out.push(format!(
                "{what}: {} ({}): {}\n    at {}\n    {}\n    {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or(""),
                node["target"].as_str().unwrap_or(""),
                node["html"].as_str().unwrap_or("").replace('\n', "⏎"),
                node["summary"].as_str().unwrap_or("").replace('\n', " / ")
            ));
        }
    }
    out
}

/// Signs the browser in as `viewer` (their session cookie for the forum's origin), or out.
async fn become_viewer(
    client: &Client,
    base: &str,
    site: &Site,
    viewer: Viewer,
    address: &std::net::SocketAddr,
) {
    must(client.goto(&format!("{base}/tags")).await, "open the forum");
    must(client.delete_all_cookies().await, "delete cookies");
    if let Some(person) = site.people.get(&viewer) {
        // As the forum sets it (SameSite=Lax): WebDriver's default, None, needs Secure.
        let mut cookie = must(
            fantoccini::cookies::Cookie::parse(format!(
                "{}; Path=/; SameSite=Lax; HttpOnly",
                person.cookie
            )),
            "session cookie",
        );
        cookie.set_domain(address.ip().to_string());
        must(client.add_cookie(cookie).await, "add cookie");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_kind_passes_axe() {
    let Some(axe_js) = tool("AGORA_AXE_JS", ".ci/node_modules/axe-core/axe.min.js") else {
        skipped(
            "axe-core is missing: no page was checked for accessibility.",
            HOW_TO_INSTALL,
        );
        return;
    };
    if !Path::new(CHROMIUM).exists() || !Path::new(CHROMEDRIVER).exists() {
        skipped(
            "chromium/chromedriver are not installed: no page was checked with axe-core.",
            "Install them with `apt-get install chromium chromium-driver` (.ci/run does).",
        );
        return;
    }
    let axe_source = must(std::fs::read_to_string(&axe_js), "read axe.min.js");
    let started = Instant::now();
    let site = site().await;

    // The same forum on a real socket, for the browser.
    let listener = must(tokio::net::TcpListener::bind("127.0.0.1:0").await, "bind");
    let address = must(listener.local_addr(), "address");
    let service = site
        .app
        .router
        .clone()
        .into_make_service_with_connect_info::<std::net::SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, service).await });
    let base = format!("http://{address}");

    let dir = must(tempfile::tempdir(), "tempdir");
    let driver = Driver::start(&dir.path().join("chromedriver.log"));
    // See browser.rs: two TLS providers are compiled in; fantoccini needs one chosen.
    let _ = rustls::crypto::ring::default_provider().install_default();

    // Every page as laid out on a laptop (1280×900) in the light scheme. Then each page kind on
    // a phone (390×844), signed out and signed in (as the viewer who sees the most of it), where
    // every control must also be big enough to touch. Then each page kind once on the narrowest
    // phone WCAG's reflow rule names (320 px) in the dark scheme, whose palette has contrasts of
    // its own.
    let mut everything: Vec<&Page> = site.pages.iter().filter(|p| p.headers.is_empty()).collect();
    everything.sort_by_key(|p| p.viewer);
    let mut kinds: BTreeMap<&str, &Page> = BTreeMap::new();
    let mut signed_out: BTreeMap<&str, &Page> = BTreeMap::new();
    for page in &everything {
        kinds.insert(&page.name, page);
        if page.viewer == Viewer::Anonymous {
            signed_out.insert(&page.name, page);
        }
    }
    let mut phone: Vec<&Page> = signed_out.values().copied().collect();
    phone.extend(
        kinds
            .values()
            .filter(|p| p.viewer != Viewer::Anonymous)
            .copied(),
    );
    phone.sort_by_key(|p| p.viewer);
    let mut kinds: Vec<&Page> = kinds.into_values().collect();
    kinds.sort_by_key(|p| p.viewer);
    let shots = std::env::var_os("AGORA_SCREENSHOT_DIR").map(PathBuf::from);
    if let Some(dir) = &shots {
        must(std::fs::create_dir_all(dir), "screenshot dir");
    }
    let mut violations = Vec::new();
    let mut checked = 0;
    for (pass, pages, args, phone_width) in [
        (
            "laptop, light",
            everything,
            &["--window-size=1280,900"][..],
            None,
        ),
        ("phone, light", phone, &[][..], Some(390)),
        ("phone, dark", kinds, &["--force-dark-mode"][..], Some(320)),
    ] {
        let client = crate::browser::session(&driver, args, phone_width).await;
        let mut current = None;
        for page in pages {
            if current != Some(page.viewer) {
                become_viewer(&client, &base, &site, page.viewer, &address).await;
                current = Some(page.viewer);
            }
            open(&client, &base, page).await;
            let what = format!("[{pass}] {} ({:?}) {}", page.name, page.viewer, page.path());
            violations.extend(axe(&client, &axe_source, &what).await);
            violations.extend(overflow(&client, &what).await);
            if phone_width == Some(390) {
                violations.extend(touch_targets(&client, &what).await);
            }
            checked += 1;
            if let Some(dir) = &shots {
                // For a person to look at: AGORA_SCREENSHOT_DIR=… keeps one per page view.
                let name = format!("{pass}-{checked:03}-{:?}-{}.png", page.viewer, page.name)
                    .replace(", ", "-")
                    .replace(' ', "-");
                let png = must(client.screenshot().await, "screenshot");
                must(std::fs::write(dir.join(name), png), "write the screenshot");
            }
        }
        let _ = client.close().await;
    }
    drop(driver);
    let _ = writeln!(
        std::io::stderr(),
        "a11y: axe-core checked {checked} page views: {} violations ({:.1}s)",
        violations.len(),
        started.elapsed().as_secs_f64()
    );
    if let Some(path) = std::env::var_os("AGORA_A11Y_REPORT") {
        // Every violation, for working through a long list (the panic shows the first 60).
        must(
            std::fs::write(path, violations.join("\n")),
            "write the report",
        );
    }
    assert!(
        violations.is_empty(),
        "axe-core found {} violations in {checked} page views:\n{}",
        violations.len(),
        summary(&violations, |v| v
            .split(": ")
            .nth(1)
            .and_then(|rule| rule.split(" (").next())
            .unwrap_or("?")
            .to_string())
    );
}

// ---------------------------------------------------------------- every page kind is listed

/// GET routes that answer something other than an HTML page.
const NOT_PAGES: &[&str] = &[
    "/topics/{area}/{subtopic}/{feed}",
    "/search/feed.rss",
    "/search/feed.atom",
    "/opensearch.xml",
    "/tags/{tag}/{feed}",
    "/thread/{id}/feed.rss",
    "/thread/{id}/feed.atom",
    "/users/{username}/feed.rss",
    "/users/{username}/feed.atom",
    "/feed.rss",
    "/feed.atom",
    // Redirects to the thread's URL with its slug.
    "/thread/{id}",
    "/static/{file}",
    // The logo, favicon and the accent colour's stylesheet.
    "/site/{file}",
    // Answers 404 once an administrator exists, as here; the setup form itself goes through
    // axe and the screenshots in the browser journey (admin.rs).
    "/setup",
    // A server-sent-events stream, not a page (live.rs tests it).
    "/events",
    // Uploaded files and their thumbnails (uploads.rs tests them).
    "/uploads/{token}",
    "/uploads/{token}/{name}",
    "/uploads/{token}/t/{thumbnail}",
    "/avatars/{token}/{size}",
];

/// The page routes' paths, as `src/router.rs` spells them, with whether they answer GET.
fn page_routes() -> Vec<(String, bool)> {
    let source = include_str!("../../src/router.rs");
    let pages = source
        .split("let pages = Router::new()")
        .nth(1)
        .and_then(|rest| rest.split(".fallback(").next())
        .unwrap_or_else(|| panic!("router.rs no longer has `let pages = Router::new()`"));
    let mut routes = Vec::new();
    for chunk in pages.split(".route(").skip(1) {
        let Some(path) = chunk.split('"').nth(1) else {
            continue;
        };
        routes.push((path.to_string(), chunk.contains("get(")));
    }
    routes
}

/// Whether `path` (no query) is answered by `route`, and how specifically (literal segments).
fn route_match(route: &str, path: &str) -> Option<usize> {
    let route: Vec<&str> = route.trim_matches('/').split('/').collect();
    let path: Vec<&str> = path.trim_matches('/').split('/').collect();
    if route.len() != path.len() {
        return None;
    }
    let mut literal = 0;
    for (r, p) in route.iter().zip(&path) {
        if r.starts_with('{') {
            if p.is_empty() {
                return None;
            }
        } else if r == p {
            literal += 1;
        } else {
            return None;
        }
    }
    Some(literal)
}

/// Every GET page route in `src/router.rs` is answered by at least one page on the list.
fn assert_every_page_route_listed(pages: &[Page]) {
    let routes = page_routes();
    assert!(
        routes.len() > 20,
        "read too few routes from router.rs: {routes:?}"
    );
    let mut covered = std::collections::BTreeSet::new();
    for page in pages {
        let path = page.path().split('?').next().unwrap_or("/");
        let best = routes
            .iter()
            .filter_map(|(route, _)| route_match(route, path).map(|n| (n, route)))
            .max_by_key(|(n, _)| *n);
        if let Some((_, route)) = best {
            covered.insert(route.clone());
        }
    }
    let missing: Vec<&String> = routes
        .iter()
        .filter(|(route, is_get)| {
            *is_get && !covered.contains(route) && !NOT_PAGES.contains(&route.as_str())
        })
        .map(|(route, _)| route)
        .collect();
    assert!(
        missing.is_empty(),
        "page routes that no page in a11y.rs checks (add them to `site`, or to NOT_PAGES if \
         they answer no HTML): {missing:?}"
    );
}

#[test]
fn dangling_ids_are_found() {
    let html = r##"<!doctype html><title>t</title><p id="hint">h</p>
        <label for="q">Q</label><input id="q" aria-describedby="hint gone">
        <a href="#hint">ok</a> <a href="#nowhere">bad</a> <a href="#">top</a> <a href="/x#y">away</a>"##;
    let problems = dangling_ids(html);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("\"gone\""), "{problems:#?}");
    assert!(problems[1].contains("\"nowhere\""), "{problems:#?}");
}
