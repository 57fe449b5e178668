//! Making the forum one's own: the first-run setup link, the site settings (form, API, CLI),
//! the site's images, pages and colour, removing the demo, the dashboard, and settings
//! reaching every node without a restart.

use std::process::Command;
use std::time::{Duration, Instant};

use agora::services::settings;
use agora_store::Role;
use axum::http::StatusCode;

use crate::util::{Node, PgDatabase, TestApp, TestResponse, both, config_for, postgres_url, texts};

/// A multipart/form-data body: text fields, then files (field, file name, content type, bytes).
fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----agora-test-boundary-7d93";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file, mime, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: {mime}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts the settings form as a browser does.
async fn post_settings(
    app: &TestApp,
    cookie: &str,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &str, &[u8])],
) -> TestResponse {
    let (content_type, body) = multipart(fields, files);
    app.send_body(
        "POST",
        "/admin/settings",
        &[
            ("content-type", content_type.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("cookie", cookie),
        ],
        body,
    )
    .await
}

/// The form's fields as the page fills them, with `changes` applied.
fn settings_fields<'a>(app: &TestApp, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, String)> {
    let s = app.state.site().settings.clone();
    let mut fields: Vec<(&str, String)> = vec![
        ("name", s.name),
        ("description", s.description),
        ("base_url", s.base_url),
        ("accent_colour", s.accent_colour),
        ("footer_links", String::new()),
        ("contact_email", s.contact_email),
        ("about", s.about),
        ("guidelines", s.guidelines),
        ("terms", s.terms),
        ("privacy", s.privacy),
        ("registration", s.registration.as_str().into()),
        ("tag_creation", s.tag_creation.as_str().into()),
        ("tag_creation_min_days", s.tag_creation_min_days.to_string()),
        ("new_account_posts", s.limits.new_account_posts.to_string()),
        ("new_account_links", s.limits.new_account_links.to_string()),
        (
            "post_per_account_n",
            s.limits.post_per_account.n.to_string(),
        ),
        (
            "post_per_account_secs",
            s.limits.post_per_account.secs.to_string(),
        ),
        ("post_per_ip_n", s.limits.post_per_ip.n.to_string()),
        ("post_per_ip_secs", s.limits.post_per_ip.secs.to_string()),
        ("sign_up_per_ip_n", s.limits.sign_up_per_ip.n.to_string()),
        (
            "sign_up_per_ip_secs",
            s.limits.sign_up_per_ip.secs.to_string(),
        ),
        ("member_directory", "1".into()),
    ];
    for (name, value) in changes {
        match fields.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => fields.push((name, value.to_string())),
        }
    }
    fields
}

fn as_refs<'a>(fields: &'a [(&'a str, String)]) -> Vec<(&'a str, &'a str)> {
    fields.iter().map(|(n, v)| (*n, v.as_str())).collect()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbaImage::from_fn(width, height, |x, y| {
        image::Rgba([(x * 7) as u8, (y * 5) as u8, 160, 255])
    });
    let mut bytes = Vec::new();
    image
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap_or_else(|e| panic!("{e}"));
    bytes
}

// ---------------------------------------------------------------- first run

both! {
/// A new forum with no administrator is set up through a one-time link: refused without
/// its token, named and given an administrator with it, and gone (404) afterwards.
async fn setup_link_works_once_and_then_the_page_is_gone(b: Backend) {
    let app = TestApp::demo(b).await;
    assert!(app.store().needs_setup().await.unwrap_or(false), "the demo's admin cannot sign in");
    let link = settings::setup_link(&app.state)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no setup link while no administrator exists"));
    let token = link.trim_start_matches("/setup?token=").to_string();
    assert_eq!(token.len(), 64);

    assert_eq!(app.get("/setup").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/setup?token=0123").await.status, StatusCode::NOT_FOUND);
    let page = app
        .request(&link, &[("host", "forum.example.org")])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let html = page.html();
    assert_eq!(
        crate::util::attrs(&html, "#f-base_url", "value"),
        ["http://forum.example.org"],
        "the public address is prefilled from the request"
    );

    // Bad input: every problem named, what was typed kept, nothing created.
    let refused = app
        .post_form(
            "/setup",
            None,
            &[
                ("token", &token),
                ("name", ""),
                ("description", "Questions about our SDK"),
                ("base_url", "ftp://forum.example.org/"),
                ("username", "root"),
                ("email", "not-an-address"),
                ("password", "short"),
                ("demo", "remove"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let html = refused.html();
    for field in ["name", "base_url", "email", "password"] {
        assert_eq!(
            texts(&html, &format!("#e-{field}")).len(),
            1,
            "{field} is not named: {}",
            refused.text()
        );
    }
    assert_eq!(texts(&html, "#f-description"), ["Questions about our SDK"]);
    assert_eq!(crate::util::attrs(&html, "#f-username", "value"), ["root"]);
    assert!(app.store().needs_setup().await.unwrap_or(false));

    // A wrong token is refused whatever else is right.
    let fields = [
        ("name", "SDK Forum"),
        ("description", "Questions about our SDK"),
        ("base_url", "https://forum.example.org"),
        ("username", "root"),
        ("email", "root@example.org"),
        ("password", "a long enough password"),
        ("demo", "remove"),
    ];
    let mut wrong = vec![("token", "f".repeat(64))];
    wrong.extend(fields.iter().map(|(k, v)| (*k, v.to_string())));
    let wrong: Vec<(&str, &str)> = wrong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = app.post_form("/setup", None, &wrong).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let html = refused.html();
    assert_eq!(texts(&html, "#f-token").len(), 1, "the expired link is explained: {}", refused.text());
    assert_eq!(crate::util::attrs(&html, "#f-name", "value"), ["SDK Forum"], "typed text kept");
    assert!(app.store().needs_setup().await.unwrap_or(false));

    let mut good = vec![("token", token.as_str())];
    good.extend(fields);
    let done = app.post_form("/setup", None, &good).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.text());
    assert_eq!(done.header("location"), Some("/admin?welcome=1"));
    let cookie = crate::util::session_cookie(&done).unwrap_or_else(|| panic!("not signed in"));
    let dashboard = app.request("/admin?welcome=1", &[("cookie", &cookie)]).await;
    assert_eq!(dashboard.status, StatusCode::OK, "{}", dashboard.text());
    assert!(dashboard.text().contains("Welcome"));
    let account = app
        .store()
        .account_by_name("root")
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no administrator"));
    assert_eq!(account.brief.role, Role::Admin);
    assert_eq!(app.state.site().settings.name, "SDK Forum");
    assert_eq!(app.state.site().settings.base_url, "https://forum.example.org");
    assert!(!app.store().has_demo().await.unwrap_or(true), "start empty removed the demo");
    assert!(app.store().areas().await.unwrap_or_default().is_empty());

    // The link is used up, and the page is gone for good.
    assert!(!app.store().needs_setup().await.unwrap_or(true));
    assert_eq!(app.get(&link).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.post_form("/setup", None, &good).await.status, StatusCode::NOT_FOUND);
    assert!(settings::setup_link(&app.state).await.unwrap_or_else(|e| panic!("{e}")).is_none());
}
}

both! {
/// Keeping the demo at setup keeps it; removing it later takes exactly the demo away: a
/// member's own thread, in a subtopic the demo made, stays with its subtopic and area.
async fn the_demo_is_removed_and_nothing_else(b: Backend) {
    let app = TestApp::demo(b).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    let member = app.person("nina_member", Role::Member).await;
    let mine = app
        .post_form(
            "/new",
            Some(&member.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", "Our own question about sockets stays put"),
                ("tags", "network"),
                ("kind", "question"),
                ("body", "It is not demo content, so removing the demo keeps it."),
            ],
        )
        .await;
    assert_eq!(mine.status, StatusCode::SEE_OTHER, "{}", mine.text());
    let mine = mine.header("location").unwrap_or_default().to_string();
    // A member's reply in a demo thread makes that thread theirs too: it stays.
    let replied = app
        .post_form("/thread/6/reply", Some(&member.cookie), &[("body", "My own words in a demo thread.")])
        .await;
    assert_eq!(replied.status, StatusCode::SEE_OTHER, "{}", replied.text());

    // (thread 6 is by a demo account; its author stays with it)
    // A moderator cannot; an administrator can, from the settings page.
    let moderator = app.person("mod_mary", Role::Moderator).await;
    assert_eq!(
        app.post_form("/admin/demo/remove", Some(&moderator.cookie), &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let page = app.get_as("/admin/settings", &admin).await;
    assert!(page.text().contains("Remove the demo content"));
    let removed = app.post_form("/admin/demo/remove", Some(&admin.cookie), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert!(!app.store().has_demo().await.unwrap_or(true));
    assert_eq!(app.ok(&mine).await.status, StatusCode::OK, "the member's thread stays");
    let areas = app.store().areas().await.unwrap_or_default();
    let subtopics: Vec<&str> = areas
        .iter()
        .flat_map(|a| a.subtopics.iter().map(|s| s.slug.as_str()))
        .collect();
    assert_eq!(subtopics, ["networking"], "only the subtopic still holding threads stays");
    assert_eq!(app.follow("/thread/6").await.1.status, StatusCode::OK, "the thread a member wrote in stays");
    let tags: Vec<String> = app.store().tags().await.unwrap_or_default().into_iter().map(|t| t.slug).collect();
    assert!(tags.contains(&"network".to_string()), "{tags:?}");
    assert!(tags.len() <= 3, "the demo's unused tags go: {tags:?}");
    assert!(app.store().user("rajiv_m").await.unwrap_or(None).is_none(), "the demo's accounts go");
    assert!(app.store().user("wang.fang").await.unwrap_or(None).is_some(), "those in the kept thread stay");
    assert!(app.store().user("nina_member").await.unwrap_or(None).is_some());
    assert_eq!(app.get("/thread/1").await.status, StatusCode::NOT_FOUND);
    let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "counters and rows agree: {findings:?}");
    // Search forgets the demo too.
    app.index().await;
    assert!(app.search_titles("SecTrustEvaluateWithError").await.is_empty());
    assert_eq!(app.search_titles("sockets stays").await.len(), 1);
    // Audited, and a second removal removes nothing.
    let audit = app.get_as("/audit", &admin).await.text();
    assert!(audit.contains("demo.remove"), "{audit}");
    assert!(!app.get_as("/admin/settings", &admin).await.text().contains("Remove the demo content"));
}
}

// ---------------------------------------------------------------- settings

both! {
/// The settings form: only administrators; saved settings show at once (name, pages,
/// footer, colour); refused input comes back with each field named, as typed, and changes
/// nothing.
async fn settings_are_saved_live_and_bad_input_changes_nothing(b: Backend) {
    let app = TestApp::demo(b).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    let moderator = app.person("mod_mary", Role::Moderator).await;
    let member = app.person("nina_member", Role::Member).await;
    // Signed up now: the settings below make the forum invitation-only.
    let other = app.person("second_admin", Role::Admin).await;
    assert_eq!(app.get("/admin/settings").await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.get_as("/admin/settings", &member).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as("/admin/settings", &moderator).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as("/admin", &moderator).await.status, StatusCode::OK);
    assert_eq!(app.get_as("/admin", &member).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get_as("/admin/settings", &admin).await.status, StatusCode::OK);
    // Cached before the change: the new name must still show.
    assert!(app.ok("/").await.text().contains("<title>Agora</title>"));

    let fields = settings_fields(
        &app,
        &[
            ("name", "Rust Q&A"),
            ("about", "# Hello\n\nWe answer **Rust** questions.<script>alert(1)</script>"),
            ("footer_links", "Docs | https://docs.example.com\nStatus | /about"),
            ("accent_colour", "#7a3e9d"),
            ("contact_email", "team@example.com"),
            ("registration", "invitation"),
        ],
    );
    let refused_by_moderator = post_settings(&app, &moderator.cookie, &as_refs(&fields), &[]).await;
    assert_eq!(refused_by_moderator.status, StatusCode::FORBIDDEN);
    assert_eq!(app.state.site().settings.name, "Agora");
    let saved = post_settings(&app, &admin.cookie, &as_refs(&fields), &[]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let home = app.ok("/").await;
    assert_eq!(texts(&home.html(), "title"), ["Rust Q&A"], "the cached page follows");
    let home = home.text();
    assert!(home.contains("https://docs.example.com"));
    assert!(home.contains("/site/theme.css?v="));
    let about = app.ok("/about").await.text();
    assert!(about.contains("<strong>Rust</strong>") && !about.contains("<script>alert"));
    assert!(about.contains("mailto:team@example.com"));
    let css = app.ok(&format!("/site/theme.css?v={}", app.state.site().version)).await;
    assert!(css.text().contains("#7a3e9d"));
    assert_eq!(css.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert_eq!(app.get("/terms").await.status, StatusCode::NOT_FOUND, "an empty page is not there");
    let stored = app.state.site();
    assert_eq!(stored.settings.registration, agora::settings::Registration::Invitation);

    // Bad input: all named, all kept, nothing changed.
    let bad = settings_fields(
        &app,
        &[
            ("name", "  "),
            ("description", "A description I typed and want to keep"),
            ("base_url", "https://forum.example.com/path"),
            ("accent_colour", "#ffff00"),
            ("new_account_posts", "many"),
            ("footer_links", "Evil | javascript:alert(1)"),
        ],
    );
    let version = app.state.site().version;
    let refused = post_settings(&app, &admin.cookie, &as_refs(&bad), &[]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let html = refused.html();
    for field in ["name", "base_url", "accent_colour", "new_account_posts", "footer_links"] {
        assert_eq!(texts(&html, &format!("#e-{field}")).len(), 1, "{field}: {}", refused.text());
    }
    assert_eq!(texts(&html, "#f-description"), ["A description I typed and want to keep"]);
    assert_eq!(crate::util::attrs(&html, "#f-new_account_posts", "value"), ["many"]);
    assert_eq!(app.state.site().version, version, "nothing saved");
    assert_eq!(app.state.site().settings.name, "Rust Q&A");

    // Two administrators editing the same page: the second save does not undo the first.
    let page = app.get_as("/admin/settings", &other).await.html();
    let stale_version = crate::util::attrs(&page, "input[name=version]", "value");
    assert_eq!(stale_version, [version.to_string()]);
    let first = settings_fields(&app, &[("name", "First Admin's Name"), ("version", &stale_version[0])]);
    assert_eq!(post_settings(&app, &admin.cookie, &as_refs(&first), &[]).await.status, StatusCode::SEE_OTHER);
    let second = settings_fields(&app, &[("description", "Second admin's text"), ("name", "Rust Q&A"), ("version", &stale_version[0])]);
    let conflict = post_settings(&app, &other.cookie, &as_refs(&second), &[]).await;
    assert_eq!(conflict.status, StatusCode::BAD_REQUEST);
    let html = conflict.html();
    assert!(conflict.text().contains("Someone saved the settings while you were editing"), "{}", conflict.text());
    assert_eq!(texts(&html, "#f-description"), ["Second admin's text"], "typed text kept");
    assert_eq!(app.state.site().settings.name, "First Admin's Name");
    // Saving again from that page (now carrying the current version) goes through.
    let again = crate::util::attrs(&html, "input[name=version]", "value");
    let second = settings_fields(&app, &[("description", "Second admin's text"), ("version", &again[0])]);
    assert_eq!(post_settings(&app, &other.cookie, &as_refs(&second), &[]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.state.site().settings.description, "Second admin's text");
    assert_eq!(app.state.site().settings.name, "First Admin's Name");
    let audit = app.get_as("/audit", &admin).await.text();
    assert!(audit.contains("settings.save"), "{audit}");
}
}

both! {
/// Logos and favicons are decoded, scaled and re-encoded (what was uploaded is never served
/// as is), served from the database with a content hash; SVG and non-images are refused by
/// field, and nothing is stored.
async fn site_images_are_reencoded_and_svg_is_refused(b: Backend) {
    let app = TestApp::demo(b).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    let fields = settings_fields(&app, &[]);
    let logo = png(600, 200);
    let saved = post_settings(
        &app,
        &admin.cookie,
        &as_refs(&fields),
        &[("logo_light", "logo.png", "image/png", &logo), ("favicon", "icon.png", "image/png", &png(128, 128))],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    let site = app.state.site();
    let url = site
        .image_url(agora::settings::SiteImage::LogoLight)
        .unwrap_or_else(|| panic!("no logo URL"));
    let home = app.ok("/").await.text();
    assert!(home.contains(&url), "the header shows the logo");
    let served = app.ok(&url).await;
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("cache-control"), Some("public, max-age=31536000, immutable"));
    assert!(served.header("content-security-policy").unwrap_or("").contains("sandbox"));
    assert_ne!(served.body, logo, "re-encoded, not stored as uploaded");
    let decoded = image::load_from_memory(&served.body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((decoded.width(), decoded.height()), (256, 85), "scaled to the size shown");
    let favicon = site.image_url(agora::settings::SiteImage::Favicon).unwrap_or_default();
    assert!(home.contains(&format!("<link rel=\"icon\" href=\"{favicon}\" type=\"image/png\">")));

    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let version = app.state.site().version;
    // An image with script appended (a polyglot) is refused outright, as every upload is.
    let mut polyglot = png(600, 200);
    polyglot.extend_from_slice(b"<script>alert('polyglot')</script>");
    for (name, bytes) in [
        ("logo.svg", &svg[..]),
        ("notes.txt", &b"just text"[..]),
        ("logo.png", &polyglot[..]),
    ] {
        let refused = post_settings(
            &app,
            &admin.cookie,
            &as_refs(&fields),
            &[("logo_dark", name, "image/svg+xml", bytes)],
        )
        .await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{name}");
        assert_eq!(texts(&refused.html(), "#e-logo_dark").len(), 1, "{name}: {}", refused.text());
    }
    assert_eq!(app.state.site().version, version);
    assert!(app.state.site().settings.logo_dark.is_none());

    // Removing goes back to the built-in mark.
    let mut fields = settings_fields(&app, &[]);
    fields.push(("remove_logo_light", "1".into()));
    let removed = post_settings(&app, &admin.cookie, &as_refs(&fields), &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.text());
    assert!(app.state.site().settings.logo_light.is_none());
    assert_eq!(app.get("/site/logo-light").await.status, StatusCode::NOT_FOUND);
}
}

both! {
/// `/api/v1/admin`: an admin-scoped token (only moderators and up may make one) reads and
/// changes settings, uploads images and removes the demo; read and write tokens are refused
/// 403, and bad fields are named.
async fn the_admin_api_changes_settings(b: Backend) {
    let app = TestApp::demo(b).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    let member = app.person("nina_member", Role::Member).await;
    let refused = app
        .post_form("/settings/tokens", Some(&member.cookie), &[("name", "x"), ("scope", "admin")])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST, "members cannot make admin tokens");
    let write = app.api_token(&admin, "write").await;
    let token = app.api_token(&admin, "admin").await;
    let denied = app.api("GET", "/api/v1/admin/settings", Some(&write), None).await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(denied.json()["error"]["code"], "insufficient_scope");
    assert_eq!(app.api("GET", "/api/v1/admin/settings", None, None).await.status, StatusCode::UNAUTHORIZED);

    let read = app.api("GET", "/api/v1/admin/settings", Some(&token), None).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text());
    assert_eq!(read.json()["name"], "Agora");
    let changed = app
        .api(
            "PATCH",
            "/api/v1/admin/settings",
            Some(&token),
            Some(serde_json::json!({"name": "API Forum", "member_directory": false})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(changed.json()["name"], "API Forum");
    assert!(app.ok("/").await.text().contains("<title>API Forum</title>"));

    for (body, param) in [
        (serde_json::json!({"nonsense": 1}), "nonsense"),
        (serde_json::json!({"registration": "sometimes"}), "registration"),
        (serde_json::json!({"accent_colour": "#ffff00"}), "accent_colour"),
        (serde_json::json!({"base_url": "not a url"}), "base_url"),
    ] {
        let bad = app.api("PATCH", "/api/v1/admin/settings", Some(&token), Some(body.clone())).await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{body}: {}", bad.text());
        assert_eq!(bad.json()["error"]["param"], param, "{body}: {}", bad.text());
    }
    assert_eq!(app.state.site().settings.name, "API Forum");

    let auth = format!("Bearer {token}");
    let headers = [("authorization", auth.as_str()), ("content-type", "image/png")];
    let put = app.send_body("PUT", "/api/v1/admin/site-images/favicon", &headers, png(64, 64)).await;
    assert_eq!(put.status, StatusCode::OK, "{}", put.text());
    assert!(put.json()["favicon"].is_string());
    let bad = app.send_body("PUT", "/api/v1/admin/site-images/favicon", &headers, b"GIF89a-not-really".to_vec()).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.text());

    let removed = app.api("POST", "/api/v1/admin/demo/remove", Some(&token), None).await;
    assert_eq!(removed.status, StatusCode::OK, "{}", removed.text());
    assert_eq!(removed.json()["threads"], 25);
    let again = app.api("POST", "/api/v1/admin/demo/remove", Some(&token), None).await;
    assert_eq!(again.json()["threads"], 0);

    // A member's session is refused by the permission check.
    let member_admin = app
        .request("/api/v1/admin/settings", &[("cookie", member.cookie.as_str())])
        .await;
    assert_eq!(member_admin.status, StatusCode::FORBIDDEN);
}
}

/// `agora settings get/set` and `agora demo remove` on the database a forum uses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_reads_and_changes_settings_and_removes_the_demo() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    {
        let app = TestApp::demo_with(config_for(dir.path())).await;
        app.state
            .store
            .close()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let agora = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_agora"))
            .arg("--data")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = agora(&["settings", "set", "name", "CLI Forum"]);
    assert!(ok, "{err}");
    let (ok, out2, _) = agora(&["settings", "get", "name"]);
    assert!(ok);
    assert_eq!(out2.trim(), "CLI Forum", "{out}");
    let (ok, _, err) = agora(&["settings", "set", "registration", "approval"]);
    assert!(ok, "{err}");
    let (ok, _, err) = agora(&["settings", "set", "accent_colour", "#ffff00"]);
    assert!(!ok, "a colour too pale to read is refused");
    assert!(err.contains("accent_colour"), "{err}");
    let (ok, _, err) = agora(&["settings", "set", "no_such_thing", "1"]);
    assert!(!ok && err.contains("no_such_thing"), "{err}");
    let (ok, all, _) = agora(&["settings", "get"]);
    assert!(ok);
    let all: serde_json::Value =
        serde_json::from_str(&all).unwrap_or_else(|e| panic!("{e}: {all}"));
    assert_eq!(all["registration"], "approval");
    assert_eq!(all["name"], "CLI Forum");
    let (ok, _, err) = agora(&["demo", "remove"]);
    assert!(ok, "{err}");
    assert!(err.contains("25 threads"), "{err}");
    let (_, _, err) = agora(&["demo", "remove"]);
    assert!(err.contains("0 threads"), "{err}");
}

/// Two nodes on one PostgreSQL database: settings saved elsewhere show on both within a
/// second, with no restart, although both had the page cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settings_reach_every_node_within_a_second() {
    let Some(_) = postgres_url() else { return };
    let db = PgDatabase::create().await;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = config_for(&dir.path().join("writer"));
    config.database_url = db.url.clone();
    let writer = TestApp::demo_with(config).await;
    let (a, b) = (
        Node::serve(&["--database", &db.url], &dir.path().join("a")),
        Node::serve(&["--database", &db.url], &dir.path().join("b")),
    );
    for node in [&a, &b] {
        assert!(node.get("/").1.contains("<title>Agora</title>"));
    }
    let mut settings = writer.state.site().settings.clone();
    settings.name = "Renamed Everywhere".into();
    let written = Instant::now();
    settings::save_as_operator(&writer.state, settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:?}"));
    for (name, node) in [("A", &a), ("B", &b)] {
        loop {
            if node
                .get("/")
                .1
                .contains("<title>Renamed Everywhere</title>")
            {
                break;
            }
            assert!(
                written.elapsed() < Duration::from_secs(1),
                "node {name} still shows the old name after 1 s"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

both! {
/// Limits changed in the settings hold at once (the new-account cap here), and the dashboard
/// warns when requests arrive on another host than the public address names.
async fn limits_apply_at_once_and_the_dashboard_warns_about_the_host(b: Backend) {
    let app = TestApp::demo(b).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    let member = app.person("nina_member", Role::Member).await;
    let token = app.api_token(&admin, "admin").await;
    let changed = app
        .api(
            "PATCH",
            "/api/v1/admin/settings",
            Some(&token),
            Some(serde_json::json!({"limits": {
                "sign_in_per_ip": {"n": 10000, "secs": 60}, "sign_in_per_account": {"n": 10000, "secs": 60},
                "sign_up_per_ip": {"n": 10000, "secs": 60}, "reset_per_ip": {"n": 10000, "secs": 60},
                "post_per_account": {"n": 10000, "secs": 60}, "post_per_ip": {"n": 10000, "secs": 60},
                "boost_per_account": {"n": 10000, "secs": 60}, "flag_per_account": {"n": 10000, "secs": 60},
                "new_account_posts": 1, "new_account_links": 10}})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    let reply = |body: &'static str| {
        let app = &app;
        let cookie = member.cookie.clone();
        async move {
            app.post_form("/thread/6/reply", Some(&cookie), &[("body", body)]).await
        }
    };
    assert_eq!(reply("A first reply from a new account.").await.status, StatusCode::SEE_OTHER);
    let capped = reply("A second one on the first day.").await;
    assert_eq!(capped.status, StatusCode::FORBIDDEN, "{}", capped.text());
    assert!(capped.text().contains("can write 1 post in their first day"), "{}", capped.text());

    // The public address says one host; the request came to another.
    let elsewhere = app
        .request("/admin", &[("cookie", admin.cookie.as_str()), ("host", "forum.internal:9000")])
        .await;
    assert_eq!(elsewhere.status, StatusCode::OK);
    assert!(elsewhere.text().contains("Requests arrive at <strong>forum.internal:9000</strong>"), "{}", elsewhere.text());
    let here = app
        .request("/admin", &[("cookie", admin.cookie.as_str()), ("host", "127.0.0.1:8080")])
        .await;
    assert!(!here.text().contains("Requests arrive at"));
}
}

/// The settings form takes three images of up to 1 MB beside the pages (over the 2 MB every
/// other form gets); an image over 1 MB is refused by name, the rest of the form kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_settings_form_takes_large_images_and_names_the_one_too_large() {
    let app = TestApp::demo(crate::util::Backend::Sqlite).await;
    let admin = app.person("ops_admin", Role::Admin).await;
    // Noise compresses badly: each of these is close to 1 MB.
    let mut rng = 7u32;
    let noisy = |w: u32, h: u32, rng: &mut u32| {
        let image = image::RgbImage::from_fn(w, h, |_, _| {
            *rng = rng.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let b = rng.to_le_bytes();
            image::Rgb([b[0], b[1], b[2]])
        });
        let mut bytes = Vec::new();
        image
            .write_to(
                &mut std::io::Cursor::new(&mut bytes),
                image::ImageFormat::Png,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        bytes
    };
    let light = noisy(560, 560, &mut rng);
    let dark = noisy(560, 560, &mut rng);
    assert!(
        light.len() > 900_000 && light.len() < 1 << 20,
        "{}",
        light.len()
    );
    let fields = settings_fields(&app, &[("about", "Kept when an image is refused.")]);
    let saved = post_settings(
        &app,
        &admin.cookie,
        &as_refs(&fields),
        &[
            ("logo_light", "a.png", "image/png", &light),
            ("logo_dark", "b.png", "image/png", &dark),
        ],
    )
    .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.text());
    assert!(app.state.site().settings.logo_dark.is_some());
    let too_big = noisy(700, 700, &mut rng);
    assert!(too_big.len() > 1 << 20);
    let refused = post_settings(
        &app,
        &admin.cookie,
        &as_refs(&fields),
        &[("favicon", "c.png", "image/png", &too_big)],
    )
    .await;
    assert_eq!(
        refused.status,
        StatusCode::BAD_REQUEST,
        "{}",
        refused.text()
    );
    let html = refused.html();
    assert!(
        texts(&html, "#e-favicon")
            .concat()
            .contains("at most 1024 KB"),
        "{}",
        refused.text()
    );
    assert_eq!(texts(&html, "#f-about"), ["Kept when an image is refused."]);
}

both! {
/// Who may do the site's admin actions, through the page and the API: anonymous, member,
/// moderator, staff, admin, and a suspended admin. A refused action changes nothing; an
/// allowed one changes something.
async fn admin_actions_follow_the_permission_table(b: Backend) {
    let app = TestApp::demo(b).await;
    let people = [
        ("member", Some(app.person("mia_member", Role::Member).await)),
        ("moderator", Some(app.person("mo_moderator", Role::Moderator).await)),
        ("staff", Some(app.person("sam_staff", Role::Staff).await)),
        ("admin", Some(app.person("ada_admin", Role::Admin).await)),
        ("suspended admin", Some(app.person("sus_admin", Role::Admin).await)),
        ("anonymous", None),
    ];
    // The suspended administrator's tokens are made before the suspension.
    let mut tokens = std::collections::HashMap::new();
    for (who, person) in &people {
        if let Some(person) = person
            && !matches!(*who, "member")
        {
            tokens.insert(*who, app.api_token(person, "admin").await);
        }
    }
    let boss = app.person("root_admin", Role::Admin).await;
    let suspended = app.store().account_by_name("sus_admin").await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no sus_admin"));
    let root = app.store().account_by_name(&boss.username).await.unwrap_or_else(|e| panic!("{e}")).unwrap_or_else(|| panic!("no root"));
    app.store()
        .set_suspension(
            suspended.brief.id,
            Some((agora_store::Timestamp::from_micros(agora_store::Timestamp::now().micros() + 86_400_000_000), "test".into())),
            agora_store::Audit { actor: root.brief.id, action: "user.suspend", thread: None, post: None, target_user: Some(suspended.brief.id), details: "test".into() },
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));

    // (action, who may)
    let table: [(&str, &[&str]); 4] = [
        ("dashboard", &["moderator", "staff", "admin"]),
        ("settings page", &["admin"]),
        ("save settings", &["admin"]),
        ("send a test email", &["admin"]),
    ];
    for (action, allowed) in table {
        for (who, person) in &people {
            let may = allowed.contains(who);
            let version = app.state.site().version;
            let cookie = person.as_ref().map(|p| p.cookie.as_str());
            let status = match action {
                "dashboard" => match cookie {
                    Some(c) => app.request("/admin", &[("cookie", c)]).await.status,
                    None => app.get("/admin").await.status,
                },
                "settings page" => match cookie {
                    Some(c) => app.request("/admin/settings", &[("cookie", c)]).await.status,
                    None => app.get("/admin/settings").await.status,
                },
                "save settings" => {
                    let name = format!("Saved by {who}");
                    let fields = settings_fields(&app, &[("name", &name)]);
                    post_settings(&app, cookie.unwrap_or(""), &as_refs(&fields), &[]).await.status
                }
                _ => app.post_form("/admin/test-email", cookie, &[]).await.status,
            };
            if may {
                assert!(status.is_success() || status.is_redirection(), "{who} may {action} (form): {status}");
            } else {
                assert!(
                    matches!(status, StatusCode::FORBIDDEN | StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED),
                    "{who} may not {action} (form): {status}"
                );
                if status == StatusCode::SEE_OTHER {
                    assert!(person.is_none(), "only the signed-out are sent to sign in ({who}, {action})");
                }
                assert_eq!(app.state.site().version, version, "{who} changed the settings through {action}");
            }
            if action == "save settings" {
                // The same through the API, with an admin-scoped token where one could be made.
                let body = serde_json::json!({"name": format!("API save by {who}")});
                let response = match (tokens.get(who), cookie) {
                    (Some(token), _) => app.api("PATCH", "/api/v1/admin/settings", Some(token), Some(body)).await,
                    (None, Some(c)) => {
                        app.send_body(
                            "PATCH",
                            "/api/v1/admin/settings",
                            &[("cookie", c), ("content-type", "application/json"), ("sec-fetch-site", "same-origin")],
                            body.to_string().into_bytes(),
                        )
                        .await
                    }
                    (None, None) => app.api("PATCH", "/api/v1/admin/settings", None, Some(body)).await,
                };
                let before = app.state.site().version;
                if may {
                    assert_eq!(response.status, StatusCode::OK, "{who} (API): {}", response.text());
                } else {
                    assert!(
                        matches!(response.status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
                        "{who} may not save settings (API): {}",
                        response.status
                    );
                    assert_eq!(app.state.site().version, before);
                }
            }
        }
    }
    // Removing the demo: refused to all but the administrator, and only then is it gone.
    for (who, person) in &people {
        let cookie = person.as_ref().map(|p| p.cookie.as_str());
        let status = app.post_form("/admin/demo/remove", cookie, &[]).await.status;
        if *who == "admin" {
            assert_eq!(status, StatusCode::SEE_OTHER);
            assert!(!app.store().has_demo().await.unwrap_or(true));
        } else {
            assert!(status.is_client_error() || (status == StatusCode::SEE_OTHER && person.is_none()), "{who}: {status}");
            if *who != "anonymous" {
                assert!(app.store().has_demo().await.unwrap_or(false) || *who == "suspended admin", "{who} removed the demo");
            }
        }
    }
}
}

/// A job kind this build does not run (a newer node queued it) is never claimed here, so it
/// waits, unclaimed and not done, for a node that runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_job_kinds_wait_for_a_node_that_runs_them() {
    let app = TestApp::demo(crate::util::Backend::Sqlite).await;
    let id = app
        .store()
        .enqueue_job("webhook.from-the-future", "{}")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    app.state.run_jobs().await;
    let newer = app
        .store()
        .claim_job(
            "newer-node",
            Duration::from_secs(60),
            &["webhook.from-the-future"],
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("the job was taken or marked done by a node that cannot run it"));
    assert_eq!(newer.id, id);
}

/// On SQLite, the CLI writes the same file the running server reads: after `agora demo
/// remove` in another process, the server's cached pages follow within seconds (it reads the
/// change log's head every 5 s), with no restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_server_follows_what_the_cli_changed() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let node = Node::serve(&[], dir.path());
    assert!(node.get("/").1.contains("Networking"), "the demo is served");
    let out = Command::new(env!("CARGO_BIN_EXE_agora"))
        .arg("--data")
        .arg(dir.path())
        .args(["demo", "remove"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let removed = Instant::now();
    while node.get("/").1.contains("Networking") {
        assert!(
            removed.elapsed() < Duration::from_secs(8),
            "the server still shows the demo 8 s after the CLI removed it"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
