//! Uploads through the real router: the API (the compose form's paste, drop and file button),
//! the writing forms without JavaScript (multipart), serving with headers that keep uploads
//! from running in the forum's origin, limits that name themselves, removal ("image
//! removed"), content stored once, and the clean-up of files no post used.

use agora::services::uploads;
use agora_store::Role;
use axum::http::StatusCode;

use crate::util::{Backend, Person, TestApp, TestResponse, attrs, both, start_question, texts};

/// A PNG of `width` × `height`, a gradient (so it does not compress to nothing).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("png: {e}"));
    out
}

/// A PNG of noise (it hardly compresses): `width` × `height` × 3 bytes or so.
pub fn noise_png(width: u32, height: u32) -> Vec<u8> {
    let mut seed: u32 = 0x2545_f491;
    let img = image::RgbImage::from_fn(width, height, |_, _| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let [a, b, c, _] = seed.to_le_bytes();
        image::Rgb([a, b, c])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("png: {e}"));
    out
}

/// A JPEG of `width` × `height` that looks like a photo (a gradient with grain).
pub fn photo(width: u32, height: u32) -> Vec<u8> {
    let mut seed: u32 = 0x9e37_79b9;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = (seed % 24) as u8;
        image::Rgb([
            ((x * 255 / width.max(1)) as u8).saturating_add(grain),
            ((y * 255 / height.max(1)) as u8).saturating_add(grain),
            128u8.saturating_add(grain),
        ])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(
            &mut std::io::Cursor::new(&mut out),
            image::ImageFormat::Jpeg,
        )
        .unwrap_or_else(|e| panic!("jpeg: {e}"));
    out
}

/// A multipart body: text fields, then files (field, file name, bytes); its content type.
pub fn multipart(fields: &[(&str, &str)], files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "agora-test-boundary-7d9f2c";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    for (name, file_name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
                 filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Posts multipart as a browser on this site does, signed in as `person`.
async fn post_multipart(
    app: &TestApp,
    path: &str,
    person: &Person,
    fields: &[(&str, &str)],
    files: &[(&str, &str, &[u8])],
) -> TestResponse {
    let (content_type, body) = multipart(fields, files);
    app.send_body(
        "POST",
        path,
        &[
            ("content-type", content_type.as_str()),
            ("sec-fetch-site", "same-origin"),
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
            ("cookie", person.cookie.as_str()),
        ],
        body,
    )
    .await
}

/// Uploads one file as the compose form's script does; the response.
async fn upload(app: &TestApp, person: &Person, name: &str, bytes: &[u8]) -> TestResponse {
    post_multipart(
        app,
        "/api/v1/uploads",
        person,
        &[],
        &[("file", name, bytes)],
    )
    .await
}

async fn uploaded(app: &TestApp, person: &Person, name: &str, bytes: &[u8]) -> serde_json::Value {
    let r = upload(app, person, name, bytes).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    r.json()
}

async fn uploads_of(app: &TestApp, person: &Person) -> Vec<agora_store::UploadRow> {
    let account = app
        .store()
        .account_by_name(&person.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account"));
    app.store()
        .uploads_of(account.brief.id, 100)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Files stored in the local upload store (whole files, not thumbnails).
fn stored_files(app: &TestApp) -> usize {
    let dir = app.state.config.data_dir.join("uploads").join("files");
    walk(&dir)
}

fn walk(dir: &std::path::Path) -> usize {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .map(|e| {
            if e.path().is_dir() {
                walk(&e.path())
            } else {
                1
            }
        })
        .sum()
}

/// Whether the page's posts hold `needle`.
fn thread_html(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.text()
}

both!(
    async fn an_image_uploaded_with_the_api_shows_as_a_sized_thumbnail(backend: Backend) {
        let app = TestApp::demo(backend).await;
        let ann = app.person("ann", Role::Member).await;
        let json = uploaded(&app, &ann, "screenshot.jpg", &photo(2000, 1000)).await;
        let markdown = json["markdown"].as_str().unwrap_or_default().to_string();
        let url = json["url"].as_str().unwrap_or_default().to_string();
        assert!(
            markdown.starts_with("![screenshot](/uploads/"),
            "{markdown}"
        );
        assert_eq!(json["width"], 2000);
        assert_eq!(json["image"], true);

        // The whole image: an image, sandboxed, with an ETag that answers 304.
        let full = app.get(&url).await;
        assert_eq!(full.status, StatusCode::OK);
        assert_eq!(full.header("content-type"), Some("image/jpeg"));
        assert_eq!(full.header("x-content-type-options"), Some("nosniff"));
        assert!(
            full.header("content-security-policy")
                .unwrap_or_default()
                .contains("sandbox")
        );
        let etag = full.header("etag").unwrap_or_default().to_string();
        assert!(!etag.is_empty());
        let again = app.request(&url, &[("if-none-match", etag.as_str())]).await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        let decoded = image::load_from_memory(&full.body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((decoded.width(), decoded.height()), (2000, 1000));

        // In a post: the 800-wide copy, a 1600-wide one for sharp screens, its size set, a
        // link to the whole image.
        let thread = start_question(
            &app,
            &ann,
            "Where does this screenshot's error come from?",
            &format!("The dialog says nothing useful:\n\n{markdown}"),
        )
        .await;
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        let html = page.html();
        let links = attrs(&html, ".post-body a.upload-image", "href");
        assert_eq!(links, vec![url.clone()], "{}", thread_html(&page));
        let img = |attr: &str| attrs(&html, ".post-body a.upload-image img", attr).concat();
        assert_eq!(img("width"), "800");
        assert_eq!(img("height"), "400");
        assert!(img("src").contains("/t/800x400."), "{}", img("src"));
        assert!(img("srcset").contains("/t/1600x800.") && img("srcset").ends_with(" 2x"));
        assert_eq!(img("alt"), "screenshot");
        assert_eq!(img("loading"), "lazy");
        // The thumbnails are there to fetch, and smaller than the whole.
        let thumb = app.get(&img("src")).await;
        assert_eq!(thumb.status, StatusCode::OK);
        assert!(thumb.body.len() < full.body.len());
        let thumb_img = image::load_from_memory(&thumb.body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(thumb_img.width(), 800);
        // A thumbnail that was never made is not invented.
        let no = app
            .get(&format!(
                "{}/t/123x45.png",
                url.rsplit_once('/').map_or("", |(a, _)| a)
            ))
            .await;
        assert_eq!(no.status, StatusCode::NOT_FOUND);
    }
);

#[tokio::test]
async fn the_live_preview_shows_an_uploaded_image_as_the_post_will() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let json = uploaded(&app, &ann, "screenshot.jpg", &photo(2000, 1000)).await;
    let url = json["url"].as_str().unwrap_or_default();
    let body = serde_json::json!({
        "body": format!("See {}", json["markdown"].as_str().unwrap_or_default())
    });
    let r = app
        .send_body(
            "POST",
            "/api/v1/preview",
            &[
                ("content-type", "application/json"),
                ("sec-fetch-site", "same-origin"),
                ("cookie", ann.cookie.as_str()),
            ],
            body.to_string().into_bytes(),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = scraper::Html::parse_fragment(r.json()["html"].as_str().unwrap_or_default());
    assert_eq!(
        attrs(&html, "a.upload-image", "href"),
        vec![url.to_string()]
    );
    let img = |attr: &str| attrs(&html, "a.upload-image img", attr).concat();
    assert!(img("src").contains("/t/800x400."), "{}", img("src"));
    assert_eq!((img("width"), img("height")), ("800".into(), "400".into()));
}

both!(
    async fn a_reply_form_without_javascript_attaches_its_files(backend: Backend) {
        let app = TestApp::demo(backend).await;
        let ann = app.person("ann", Role::Member).await;
        let thread = start_question(
            &app,
            &ann,
            "Crash when the app resumes from background",
            "It crashes on resume; log to follow.",
        )
        .await;
        let log = b"Thread 0 Crashed:\n0 libsystem_kernel.dylib 0x1 __pthread_kill\n";
        let r = post_multipart(
            &app,
            &format!("/thread/{thread}/reply"),
            &ann,
            &[("body", "Here is the crash log and a screenshot.")],
            &[
                ("files", "crash.log", &log[..]),
                ("files", "截图 1.png", &png(300, 200)),
            ],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        let html = page.html();
        let body = texts(&html, ".post-body").concat();
        assert!(body.contains("Here is the crash log"), "{body}");
        // The log: a link with its name and size; the image: shown (small: no thumbnails).
        let links = attrs(&html, ".post-body a", "href");
        let log_url = links
            .iter()
            .find(|l| l.ends_with("/crash.log"))
            .unwrap_or_else(|| panic!("no link to the log in {links:?}"))
            .clone();
        assert!(body.contains("crash.log (1 KB)"), "{body}");
        let imgs = attrs(&html, ".post-body a.upload-image img", "src");
        assert_eq!(imgs.len(), 1, "{}", page.text());
        assert_eq!(
            attrs(&html, ".post-body a.upload-image img", "width"),
            vec!["300"]
        );
        // The log downloads, byte for byte, and cannot run or be sniffed.
        let served = app.get(&log_url).await;
        assert_eq!(served.status, StatusCode::OK);
        assert_eq!(served.body, log.to_vec());
        assert_eq!(
            served.header("content-type"),
            Some("application/octet-stream")
        );
        let disposition = served.header("content-disposition").unwrap_or_default();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        // The Chinese name is kept as it was.
        let image_url = attrs(&html, ".post-body a.upload-image", "href").concat();
        let image = app.get(&image_url).await;
        let disposition = image
            .header("content-disposition")
            .unwrap_or_default()
            .to_string();
        assert!(
            disposition.contains("filename*=UTF-8''%E6%88%AA%E5%9B%BE%201.png"),
            "{disposition}"
        );
        let names: Vec<String> = uploads_of(&app, &ann)
            .await
            .into_iter()
            .map(|u| u.name)
            .collect();
        assert!(names.contains(&"截图 1.png".to_string()), "{names:?}");
    }
);

#[tokio::test]
async fn a_file_over_the_limit_is_refused_with_413_naming_it_and_the_text_is_kept() {
    let app = TestApp::demo(Backend::Sqlite).await;
    set_settings(&app, serde_json::json!({"uploads": {"max_file_kb": 100}})).await;
    let ann = app.person("ann", Role::Member).await;
    let big = png(600, 600);
    assert!(big.len() > 100 * 1024, "the fixture must be over the limit");
    let r = post_multipart(
        &app,
        "/new",
        &ann,
        &[
            ("subtopic", "app-system-services/networking"),
            ("title", "Socket closes after exactly sixty seconds"),
            ("tags", "network"),
            ("kind", "question"),
            (
                "body",
                "Every socket closes after 60 s; screenshot attached.",
            ),
        ],
        &[("files", "big.png", &big)],
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let html = r.html();
    let error = texts(&html, "#e-files").concat();
    assert!(error.contains("100 KB"), "{error}");
    assert_eq!(
        attrs(&html, "#f-title", "value").concat(),
        "Socket closes after exactly sixty seconds"
    );
    assert!(
        texts(&html, "#f-body")
            .concat()
            .contains("Every socket closes")
    );
    assert!(uploads_of(&app, &ann).await.is_empty());
    assert_eq!(stored_files(&app), 0);
    // The API says the same with a stable code.
    let r = upload(&app, &ann, "big.png", &big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json()["error"]["code"], "too_large");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("100 KB"),
        "{}",
        r.text()
    );
}

#[tokio::test]
async fn bad_files_are_refused_by_name_and_nothing_is_stored() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let mut gif = Vec::new();
    image::DynamicImage::ImageRgba8(image::RgbaImage::new(4, 4))
        .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap_or_else(|e| panic!("{e}"));
    gif.extend_from_slice(b"<script>alert(document.cookie)</script>");
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "notes.png",
            b"this is plain text, not a picture".to_vec(),
            "not_what_it_says",
        ),
        ("cat.gif", gif, "script"),
        ("logo.svg", svg.to_vec(), "svg"),
        ("logo.png", svg.to_vec(), "svg"),
        ("../../etc/passwd.png", png(10, 10), "bad_name"),
        ("tool.exe", b"MZ\x90\x00".to_vec(), "type_not_allowed"),
        ("empty.txt", Vec::new(), "empty"),
    ];
    for (name, bytes, code) in cases {
        let r = upload(&app, &ann, name, &bytes).await;
        let json = r.json();
        assert!(
            r.status == StatusCode::BAD_REQUEST || r.status == StatusCode::PAYLOAD_TOO_LARGE,
            "{name}: {} {}",
            r.status,
            r.text()
        );
        // An empty part may be taken for no file at all.
        let got = json["error"]["code"].as_str().unwrap_or_default();
        assert!(
            got == code || (code == "empty" && got == "bad_request"),
            "{name}: expected {code}, got {}",
            r.text()
        );
        assert!(
            !json["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .is_empty()
        );
    }
    assert!(uploads_of(&app, &ann).await.is_empty());
    assert_eq!(stored_files(&app), 0);
}

both!(
    async fn removing_an_upload_leaves_image_removed_in_its_posts(backend: Backend) {
        let app = TestApp::demo(backend).await;
        let ann = app.person("ann", Role::Member).await;
        let bob = app.person("bob", Role::Member).await;
        let mod_ = app.person("mia", Role::Moderator).await;
        let first = uploaded(&app, &ann, "one.png", &png(120, 80)).await;
        let second = uploaded(&app, &ann, "two.png", &png(90, 60)).await;
        let thread = start_question(
            &app,
            &ann,
            "Two screenshots of the same connection error",
            &format!(
                "First {}\n\nSecond {}",
                first["markdown"].as_str().unwrap_or_default(),
                second["markdown"].as_str().unwrap_or_default()
            ),
        )
        .await;
        let token = |j: &serde_json::Value| j["token"].as_str().unwrap_or_default().to_string();
        // Not someone else's.
        let r = post_multipart(
            &app,
            &format!("/uploads/{}/delete", token(&first)),
            &bob,
            &[],
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
        // Its owner may.
        let r = post_multipart(
            &app,
            &format!("/uploads/{}/delete", token(&first)),
            &ann,
            &[],
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        // A moderator may remove anyone's.
        let r = post_multipart(
            &app,
            &format!("/uploads/{}/delete", token(&second)),
            &mod_,
            &[],
            &[],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        let html = page.html();
        assert_eq!(
            texts(&html, ".post-body .upload-removed"),
            vec!["image removed", "image removed"]
        );
        assert!(attrs(&html, ".post-body img", "src").is_empty());
        let gone = app.get(first["url"].as_str().unwrap_or_default()).await;
        assert_eq!(gone.status, StatusCode::GONE);
        assert_eq!(stored_files(&app), 0);
    }
);

#[tokio::test]
async fn identical_files_are_stored_once_and_kept_while_one_upload_needs_them() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let bob = app.person("bob", Role::Member).await;
    let bytes = png(1000, 500);
    let a = uploaded(&app, &ann, "same.png", &bytes).await;
    let b = uploaded(&app, &bob, "copy.png", &bytes).await;
    assert_ne!(a["token"], b["token"]);
    assert_eq!(stored_files(&app), 1);
    // Ann deletes hers: Bob's still serves.
    let r = app
        .send_body(
            "DELETE",
            &format!(
                "/api/v1/uploads/{}",
                a["token"].as_str().unwrap_or_default()
            ),
            &[
                ("cookie", ann.cookie.as_str()),
                ("sec-fetch-site", "same-origin"),
            ],
            Vec::new(),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text());
    assert_eq!(
        app.get(b["url"].as_str().unwrap_or_default()).await.status,
        StatusCode::OK
    );
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test]
async fn uploads_no_post_used_are_cleaned_up_after_a_day() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let used = uploaded(&app, &ann, "used.png", &png(50, 50)).await;
    let unused = uploaded(&app, &ann, "unused.png", &png(60, 60)).await;
    start_question(
        &app,
        &ann,
        "The used screenshot stays with its post",
        &format!("See {}", used["markdown"].as_str().unwrap_or_default()),
    )
    .await;
    let now = agora_store::Timestamp::now();
    // Not yet a day old: nothing goes.
    let cleaned = uploads::clean_unused(&app.state, now)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cleaned.uploads, 0);
    let later = agora_store::Timestamp::from_micros(now.micros() + 2 * 86_400_000_000);
    let cleaned = uploads::clean_unused(&app.state, later)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((cleaned.uploads, cleaned.files), (1, 1));
    assert_eq!(
        app.get(unused["url"].as_str().unwrap_or_default())
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(used["url"].as_str().unwrap_or_default())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(stored_files(&app), 1);
}

#[tokio::test]
async fn a_new_account_has_a_smaller_daily_quota_that_names_itself() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let admin = set_settings(
        &app,
        serde_json::json!({"uploads": {"new_account_daily_mb": 1}}),
    )
    .await;
    let ann = app.person("ann", Role::Member).await;
    let picture = noise_png(450, 450);
    assert!(picture.len() > 512 * 1024, "{}", picture.len());
    uploaded(&app, &ann, "first.png", &picture).await;
    let r = upload(&app, &ann, "second.png", &picture).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    let json = r.json();
    assert_eq!(json["error"]["code"], "quota_exceeded");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("New accounts may upload 1 MB a day"),
        "{json}"
    );
    // Staff are not limited by the day's quota.
    uploaded(&app, &admin, "first.png", &picture).await;
    uploaded(&app, &admin, "second.png", &picture).await;
}

#[tokio::test]
async fn uploading_needs_an_account_and_a_page_of_this_site() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let (content_type, body) = multipart(&[], &[("file", "a.png", &png(10, 10))]);
    let r = app
        .send_body(
            "POST",
            "/api/v1/uploads",
            &[("content-type", content_type.as_str())],
            body.clone(),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.text());
    let ann = app.person("ann", Role::Member).await;
    let r = app
        .send_body(
            "POST",
            "/api/v1/uploads",
            &[
                ("content-type", content_type.as_str()),
                ("cookie", ann.cookie.as_str()),
                ("sec-fetch-site", "cross-site"),
            ],
            body,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert!(uploads_of(&app, &ann).await.is_empty());
}

both!(
    async fn a_member_picture_is_cropped_square_and_shown_beside_their_posts(backend: Backend) {
        let app = TestApp::demo(backend).await;
        let ann = app.person("ann", Role::Member).await;
        let thread = start_question(
            &app,
            &ann,
            "Does my new picture show beside my question?",
            "Checking how the picture looks beside a post.",
        )
        .await;
        // Without JavaScript: the whole picture goes, the server keeps the middle.
        let r = post_multipart(
            &app,
            "/settings/avatar",
            &ann,
            &[],
            &[("avatar", "me.jpg", &photo(900, 600))],
        )
        .await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let settings = app.get_as("/settings", &ann).await;
        let html = settings.html();
        let current = attrs(&html, "#avatar-current", "src").concat();
        assert!(
            current.starts_with("/avatars/") && current.ends_with("/160"),
            "{current}"
        );
        let big = app.get(&current).await;
        assert_eq!(big.status, StatusCode::OK);
        let big = image::load_from_memory(&big.body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((big.width(), big.height()), (160, 160));
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        let small = attrs(&page.html(), "img.avatar", "src");
        assert!(
            !small.is_empty() && small.iter().all(|s| s.ends_with("/80")),
            "{small:?}"
        );
        let small = app.get(&small[0]).await;
        assert_eq!(small.status, StatusCode::OK);
        let small = image::load_from_memory(&small.body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((small.width(), small.height()), (80, 80));
        // The profile shows it large.
        let profile = app.ok("/users/ann").await;
        assert_eq!(
            attrs(&profile.html(), "img.avatar.large", "src"),
            vec![current.clone()]
        );
        // Not a picture: said beside the field, nothing changed.
        let r = post_multipart(
            &app,
            "/settings/avatar",
            &ann,
            &[],
            &[("avatar", "me.png", b"not an image at all")],
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST);
        assert!(
            !texts(&r.html(), "#e-avatar").concat().is_empty(),
            "{}",
            r.text()
        );
        assert_eq!(attrs(&r.html(), "#avatar-current", "src").concat(), current);
        // Back to initials.
        let r = post_multipart(&app, "/settings/avatar/remove", &ann, &[], &[]).await;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
        let (_, page) = app.follow(&format!("/thread/{thread}")).await;
        assert!(attrs(&page.html(), "img.avatar", "src").is_empty());
        assert_eq!(app.get(&current).await.status, StatusCode::GONE);
    }
);

#[tokio::test]
async fn a_separate_upload_origin_serves_uploads_and_nothing_else() {
    let app = TestApp::configured(Backend::Sqlite, |c| {
        c.uploads.origin = "https://files.forum.test".into();
    })
    .await;
    let ann = app.person("ann", Role::Member).await;
    let json = uploaded(&app, &ann, "shot.png", &png(40, 30)).await;
    let url = json["url"].as_str().unwrap_or_default().to_string();
    // On the forum's own host: a redirect to the upload origin.
    let r = app.request(&url, &[("host", "forum.test")]).await;
    assert!(r.status.is_redirection(), "{}", r.status);
    assert_eq!(
        r.header("location"),
        Some(format!("https://files.forum.test{url}").as_str())
    );
    // On the upload origin: the file, and no page of the forum.
    let r = app.request(&url, &[("host", "files.forum.test")]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.header("content-type"), Some("image/png"));
    let r = app.request("/", &[("host", "files.forum.test")]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app
        .request(
            "/settings",
            &[
                ("host", "files.forum.test"),
                ("cookie", ann.cookie.as_str()),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn moderators_list_uploads_and_remove_one_from_there() {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let mia = app.person("mia", Role::Moderator).await;
    let json = uploaded(&app, &ann, "offtopic.png", &png(64, 64)).await;
    // Members may not see the list.
    let r = app.get_as("/admin/uploads", &ann).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = app.get_as("/admin/uploads", &mia).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.html();
    assert_eq!(
        texts(&html, "table.uploads tbody td a")
            .first()
            .map(String::as_str),
        Some("offtopic.png")
    );
    let token = json["token"].as_str().unwrap_or_default();
    let r = post_multipart(
        &app,
        &format!("/uploads/{token}/delete"),
        &mia,
        &[("next", "/admin/uploads")],
        &[],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.header("location"), Some("/admin/uploads?done=removed"));
    let r = app.get_as("/admin/uploads?done=removed", &mia).await;
    assert!(
        texts(&r.html(), "table.uploads .badge")
            .concat()
            .contains("removed")
    );
}

/// A PNG whose header says `width` × `height`, with `idat` as its one data chunk (valid
/// chunk checksums, so only its size can be refused).
fn png_claiming(width: u32, height: u32, idat: &[u8]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    chunk(&mut out, b"IDAT", idat);
    chunk(&mut out, b"IEND", &[]);
    out
}

/// An administrator ("ada") changes site settings through the API; the administrator.
async fn set_settings(app: &TestApp, changes: serde_json::Value) -> Person {
    let admin = app.person("ada", Role::Admin).await;
    let token = app.api_token(&admin, "admin").await;
    let r = app
        .api(
            "PATCH",
            "/api/v1/admin/settings",
            Some(&token),
            Some(changes),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    admin
}

/// Refused with `code` through the API, and nothing kept.
async fn refused_and_nothing_stored(name: &str, bytes: &[u8], code: &str) {
    let app = TestApp::demo(Backend::Sqlite).await;
    let ann = app.person("ann", Role::Member).await;
    let r = upload(&app, &ann, name, bytes).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert_eq!(r.json()["error"]["code"], code, "{}", r.text());
    assert!(
        !r.json()["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .is_empty()
    );
    assert!(uploads_of(&app, &ann).await.is_empty());
    assert_eq!(stored_files(&app), 0);
}

#[tokio::test]
async fn a_truncated_image_is_refused() {
    let whole = photo(800, 600);
    refused_and_nothing_stored("cut.jpg", &whole[..whole.len() / 2], "damaged").await;
    let whole = png(300, 200);
    let cut = &whole[..whole.len() - 40];
    let r = {
        let app = TestApp::demo(Backend::Sqlite).await;
        let ann = app.person("ann", Role::Member).await;
        let r = upload(&app, &ann, "cut.png", cut).await;
        assert!(uploads_of(&app, &ann).await.is_empty());
        r
    };
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}

#[tokio::test]
async fn an_image_60000_pixels_wide_is_refused_before_it_is_decoded() {
    refused_and_nothing_stored(
        "wide.png",
        &png_claiming(
            60_000,
            10,
            &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
        ),
        "too_many_pixels",
    )
    .await;
}

#[tokio::test]
async fn a_decompression_bomb_in_an_image_container_is_refused() {
    // 30,000 × 30,000 pixels of zeros (2.7 GB decoded) compress to a few kilobytes.
    use std::io::Write as _;
    let mut zeros = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; 30_000 * 3 + 1];
    for _ in 0..2_000 {
        zeros.write_all(&row).unwrap_or_else(|e| panic!("{e}"));
    }
    let idat = zeros.finish().unwrap_or_else(|e| panic!("{e}"));
    assert!(idat.len() < 1 << 20, "{}", idat.len());
    refused_and_nothing_stored(
        "bomb.png",
        &png_claiming(30_000, 30_000, &idat),
        "too_many_pixels",
    )
    .await;
}

#[tokio::test]
async fn a_new_members_pasted_screenshots_are_not_counted_as_links() {
    let app = TestApp::demo(Backend::Sqlite).await;
    set_settings(
        &app,
        serde_json::json!({"limits": {"new_account_links": 1}}),
    )
    .await;
    let ann = app.person("ann", Role::Member).await;
    let mut shots = Vec::new();
    for i in 0..3 {
        let json = uploaded(&app, &ann, &format!("step{i}.png"), &png(100 + i, 80)).await;
        shots.push(json["markdown"].as_str().unwrap_or_default().to_string());
    }
    start_question(
        &app,
        &ann,
        "Three screenshots of the same failing request",
        &format!(
            "See the docs at https://example.com/docs and:\n\n{}",
            shots.join("\n\n")
        ),
    )
    .await;
    // Two links out are still one too many on the first day.
    let r = app
        .post_form(
            "/new",
            Some(&ann.cookie),
            &[
                ("subtopic", "app-system-services/networking"),
                ("title", "Two links out on my first day"),
                ("tags", "network"),
                ("kind", "question"),
                (
                    "body",
                    "See https://example.com/a and https://example.com/b please.",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    assert!(
        texts(&r.html(), "#e-body")
            .concat()
            .contains("at most 1 links")
    );
}
