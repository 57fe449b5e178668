//! A new operator's first minutes, in a real browser against a real `agora serve` on an empty
//! data folder: the setup link from the log, naming the forum and creating the administrator,
//! the dashboard, the settings (name, logo, colour, about page), the forum's structure, and
//! removing the demo. Every admin page is checked with axe-core and for sideways scrolling at
//! 1280 and 390 px wide, and screenshotted (kept in `AGORA_SCREENSHOT_DIR` when set).
//! Skipped, loudly, when chromium or chromedriver is not installed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::Locator;

use crate::browser::{Browser, Driver, installed, must};
use crate::util::Node;

const PASSWORD: &str = "a long admin password";

/// Checks the open page at both widths: axe (when installed) and no sideways scrolling; saves
/// a screenshot of each. Returns the problems found.
async fn check_page(browser: &Browser, name: &str, axe: Option<&str>, shots: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    for (width, height) in [(1280, 900), (390, 844)] {
        must(
            browser.client.set_window_size(width, height).await,
            "resize the window",
        );
        tokio::time::sleep(Duration::from_millis(150)).await;
        let what = format!("{name} at {width}px");
        problems.extend(crate::a11y::overflow(&browser.client, &what).await);
        if let Some(axe) = axe {
            problems.extend(crate::a11y::axe(&browser.client, axe, &what).await);
        }
        let png = must(browser.client.screenshot().await, "screenshot");
        must(
            std::fs::write(shots.join(format!("{name}-{width}.png")), &png),
            "write the screenshot",
        );
    }
    must(
        browser.client.set_window_size(1280, 900).await,
        "resize the window",
    );
    problems
}

/// A small PNG logo on disk, for the file field.
fn logo_file(dir: &Path) -> PathBuf {
    let image = image::RgbaImage::from_fn(240, 64, |x, _| {
        if x < 64 {
            image::Rgba([122, 62, 157, 255])
        } else {
            image::Rgba([0, 0, 0, 0])
        }
    });
    let path = dir.join("logo.png");
    must(image.save(&path), "write the logo");
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_operator_sets_up_their_forum_in_a_browser() {
    if !installed() {
        return;
    }
    let dir = must(tempfile::tempdir(), "tempdir");
    let shots = std::env::var("AGORA_SCREENSHOT_DIR")
        .map(|d| PathBuf::from(d).join("admin"))
        .unwrap_or_else(|_| dir.path().join("shots"));
    must(std::fs::create_dir_all(&shots), "screenshot folder");
    let axe_source = crate::a11y::tool("AGORA_AXE_JS", ".ci/node_modules/axe-core/axe.min.js")
        .and_then(|path| std::fs::read_to_string(path).ok());
    if axe_source.is_none() {
        eprintln!(
            "\n!!! admin journey: axe-core is missing: the admin pages were NOT checked for accessibility.\n"
        );
    }
    let axe = axe_source.as_deref();
    let data = dir.path().join("data");
    must(std::fs::create_dir_all(&data), "data dir");
    let node = Node::serve(&[], &data);
    // The setup link is printed as the server comes up.
    let mut link = None;
    for _ in 0..100 {
        link = node.log().lines().find_map(|l| {
            l.split("link=")
                .nth(1)
                .map(|s| s.split_whitespace().next().unwrap_or("").to_string())
        });
        if link.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let link = link.unwrap_or_else(|| panic!("no setup link in the log:\n{}", node.log()));
    assert!(link.contains("/setup?token="), "{link}");

    let driver = Driver::start(&dir.path().join("chromedriver.log"));
    let browser = Browser {
        client: crate::browser::session(&driver, &["--window-size=1280,900"], None).await,
        base: format!("http://{}", node.address),
    };
    let mut problems = Vec::new();

    // 1. The setup page, from the link in the log.
    must(browser.client.goto(&link).await, "open the setup link");
    browser.settle().await;
    assert!(
        browser.text().await.contains("Set up your forum"),
        "{}",
        browser.report("no setup page").await
    );
    problems.extend(check_page(&browser, "setup", axe, &shots).await);
    browser.fill("#f-name", "Lumen SDK Forum").await;
    browser
        .fill(
            "#f-description",
            "Questions and answers about the Lumen SDK.",
        )
        .await;
    browser.fill("#f-username", "lena_admin").await;
    browser.fill("#f-email", "lena@example.test").await;
    browser.fill("#f-password", PASSWORD).await;
    browser.submit_form_of("username").await;
    assert_eq!(
        browser.path().await,
        "/admin?welcome=1",
        "{}",
        browser.report("setup did not finish").await
    );
    assert!(browser.text().await.contains("Welcome"));
    problems.extend(check_page(&browser, "dashboard", axe, &shots).await);
    // The link is used up.
    must(browser.client.goto(&link).await, "open the used link");
    assert!(
        browser.text().await.contains("not found") || browser.text().await.contains("Not found"),
        "{}",
        browser.report("the setup link still works").await
    );

    // 2. Settings: name, colour, logo, about page.
    browser.goto("/admin/settings").await;
    problems.extend(check_page(&browser, "settings", axe, &shots).await);
    browser.fill("#f-accent_colour", "#7a3e9d").await;
    browser
        .fill(
            "#f-about",
            "# About Lumen\n\nThe place to ask about the **Lumen SDK**.",
        )
        .await;
    let logo = logo_file(dir.path());
    let file = browser.find("#f-logo_light").await;
    must(
        file.send_keys(&logo.display().to_string()).await,
        "choose the logo file",
    );
    browser.submit_form_of("accent_colour").await;
    assert!(
        browser
            .path()
            .await
            .starts_with("/admin/settings?done=saved"),
        "{}",
        browser.report("settings not saved").await
    );
    browser.goto("/").await;
    let logo_src = must(
        must(
            browser.client.find(Locator::Css(".brand img.logo")).await,
            "the header's logo",
        )
        .attr("src")
        .await,
        "logo src",
    )
    .unwrap_or_default();
    assert!(logo_src.starts_with("/site/logo-light?v="), "{logo_src}");
    assert!(must(browser.client.title().await, "title").contains("Lumen SDK Forum"));
    browser.goto("/about").await;
    assert!(
        browser
            .text()
            .await
            .contains("The place to ask about the Lumen SDK")
    );
    problems.extend(check_page(&browser, "about", axe, &shots).await);

    // 3. The forum's structure: two areas, three subtopics (one for staff announcements),
    //    five tags.
    for (name, slug) in [("Lumen SDK", "lumen-sdk"), ("Community", "community")] {
        browser.goto("/admin/structure/areas/new").await;
        browser.fill("#f-name", name).await;
        browser.fill("#f-slug", slug).await;
        browser
            .fill("#f-description", &format!("Everything about {name}."))
            .await;
        browser.submit_form_of("slug").await;
        assert!(
            browser.path().await.contains("done="),
            "{}",
            browser.report(&format!("area {name} not created")).await
        );
    }
    problems.extend(check_page(&browser, "area", axe, &shots).await);
    for (area, name, slug) in [
        ("lumen-sdk", "Getting started", "getting-started"),
        ("lumen-sdk", "Rendering", "rendering"),
        ("community", "Announcements", "announcements"),
    ] {
        browser
            .goto(&format!("/admin/structure/subtopics/new?area={area}"))
            .await;
        browser.choose("//form", "area", area).await;
        browser.fill("#f-name", name).await;
        browser.fill("#f-slug", slug).await;
        browser
            .fill(
                "#f-description",
                &format!("Questions about {}.", name.to_lowercase()),
            )
            .await;
        browser.submit_form_of("slug").await;
        assert!(
            browser.path().await.contains("done="),
            "{}",
            browser
                .report(&format!("subtopic {name} not created"))
                .await
        );
        if slug == "announcements" {
            browser
                .choose("//form[contains(@action, '/rules')]", "who_starts", "staff")
                .await;
            browser.submit_form_of("who_starts").await;
            assert!(
                browser.text().await.contains("Staff only"),
                "{}",
                browser.report("rules not shown").await
            );
            problems.extend(check_page(&browser, "subtopic", axe, &shots).await);
        }
    }
    browser.goto("/admin/structure").await;
    problems.extend(check_page(&browser, "structure", axe, &shots).await);
    for (slug, name) in [
        ("shaders", "Shaders"),
        ("textures", "Textures"),
        ("install", "Installation"),
        ("performance", "Performance"),
        ("release", "Release notes"),
    ] {
        browser.goto("/admin/tags").await;
        browser.fill("#f-slug", slug).await;
        browser.fill("#f-name", name).await;
        browser.submit_form_of("slug").await;
        assert!(
            browser.path().await.contains("done="),
            "{}",
            browser.report(&format!("tag {slug} not created")).await
        );
    }
    browser.goto("/admin/tags").await;
    problems.extend(check_page(&browser, "tags", axe, &shots).await);

    // 4. Invite a staff member.
    browser.goto("/admin/invitations").await;
    browser.fill("#f-email", "sam.staff@example.test").await;
    browser
        .choose("//form[@action='/admin/invitations']", "role", "staff")
        .await;
    browser.submit_form_of("email").await;
    assert!(
        browser
            .path()
            .await
            .starts_with("/admin/invitations?done=sent"),
        "{}",
        browser.report("invitation not sent").await
    );
    assert!(browser.text().await.contains("sam.staff@example.test"));
    problems.extend(check_page(&browser, "invitations", axe, &shots).await);
    browser.goto("/admin/users").await;
    problems.extend(check_page(&browser, "users", axe, &shots).await);

    // 5. A thread in the new structure, then a tag renamed under it.
    browser.goto("/new").await;
    browser
        .choose("//form", "subtopic", "lumen-sdk/rendering")
        .await;
    browser
        .fill(
            "input[name=title]",
            "Shader compile fails on the first frame only",
        )
        .await;
    browser.fill("input[name=tags]", "shaders").await;
    browser.fill("textarea[name=body]", "The first frame logs a compile error; every later frame renders fine. Is warm-up required?").await;
    browser.submit_form_of("title").await;
    let thread = browser.path().await;
    assert!(
        thread.starts_with("/thread/"),
        "{}",
        browser.report("thread not started").await
    );
    browser.goto("/admin/tags/shaders").await;
    problems.extend(check_page(&browser, "tag", axe, &shots).await);
    browser.fill("#f-slug", "shader-compilation").await;
    browser.fill("#f-name", "Shader compilation").await;
    browser.submit_form_of("slug").await;
    browser.goto("/tags/shaders").await;
    assert_eq!(
        browser.path().await,
        "/tags/shader-compilation",
        "{}",
        browser.report("the old tag address does not follow").await
    );
    assert!(
        browser
            .text()
            .await
            .contains("Shader compile fails on the first frame only")
    );

    // 6. Remove the demo (the page asks first).
    browser.goto("/admin/settings").await;
    let remove = browser
        .find("form[action='/admin/demo/remove'] button")
        .await;
    must(remove.click().await, "click remove");
    must(browser.client.accept_alert().await, "confirm the removal");
    browser.settle().await;
    assert!(
        browser
            .path()
            .await
            .starts_with("/admin/settings?done=demo"),
        "{}",
        browser.report("demo not removed").await
    );
    browser.goto("/").await;
    let home = browser.text().await;
    assert!(
        !home.contains("Networking"),
        "{}",
        browser.report("demo content still shown").await
    );
    assert!(
        home.contains("Lumen SDK") && home.contains("Announcements"),
        "{}",
        browser
            .report("the new structure is not on the home page")
            .await
    );
    problems.extend(check_page(&browser, "home", axe, &shots).await);
    browser.goto(&thread).await;
    assert!(
        browser.text().await.contains("Shader compile fails"),
        "{}",
        browser.report("our thread went with the demo").await
    );

    eprintln!("admin journey: screenshots in {}", shots.display());
    let _ = browser.client.close().await;
    drop(driver);
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
