//! The forum on a phone, in a real browser (chromium emulating a 390×844 touch screen) against
//! a real `agora serve` with the demo content: the header folds its links into a menu, search
//! stays in reach, and a member signs in from the menu, searches, opens a thread and replies,
//! without the page ever scrolling sideways. Skipped, loudly, without chromium.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::a11y::overflow;
use crate::browser::{Browser, Stage, installed, must};

/// Whether the element is laid out (not `display: none`) and inside the screen's width.
async fn shown(browser: &Browser, css: &str) -> bool {
    let visible = browser
        .client
        .execute(
            "const e = document.querySelector(arguments[0]); if (!e) return false; \
             const r = e.getBoundingClientRect(); \
             return r.width > 0 && r.height > 0 && r.right <= window.innerWidth + 1;",
            vec![serde_json::json!(css)],
        )
        .await;
    visible.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

async fn no_overflow(browser: &Browser, what: &str) {
    let problems = overflow(&browser.client, what).await;
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

async fn screenshot(browser: &Browser, name: &str) {
    if let Some(dir) = std::env::var_os("AGORA_SCREENSHOT_DIR").map(PathBuf::from) {
        must(std::fs::create_dir_all(&dir), "screenshot dir");
        let png = must(browser.client.screenshot().await, "screenshot");
        must(std::fs::write(dir.join(name), png), "write the screenshot");
    }
}

async fn open_menu(browser: &Browser) {
    assert!(
        !shown(browser, "#site-nav").await,
        "{}",
        browser
            .report("the site's links should be folded into the menu")
            .await
    );
    browser
        .click_xpath(
            "//button[contains(@class, 'menu-toggle')]",
            "the menu button",
        )
        .await;
    let expanded = must(
        browser
            .find(".menu-toggle")
            .await
            .attr("aria-expanded")
            .await,
        "aria-expanded",
    );
    assert_eq!(expanded.as_deref(), Some("true"));
    assert!(
        shown(browser, "#site-nav").await,
        "{}",
        browser.report("the menu did not open").await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_signs_in_searches_and_replies_on_a_phone() {
    if !installed() {
        return;
    }
    let stage = Stage::demo();
    let browser = stage.browser(&[], Some(390)).await;

    // The home page: the search field is usable (most of the screen's width), the links wait
    // behind the menu button.
    browser.goto("/").await;
    no_overflow(&browser, "home, signed out").await;
    let search_width = must(
        browser
            .client
            .execute(
                "return document.getElementById('header-q').getBoundingClientRect().width",
                Vec::new(),
            )
            .await,
        "measure the search field",
    );
    assert!(
        search_width.as_f64().unwrap_or(0.0) >= 300.0,
        "the header's search field is {search_width} px wide on a 390 px screen"
    );
    screenshot(&browser, "phone-home.png").await;

    // An account to sign in with (made through the sign-up form), then signed out.
    browser.sign_up("pat_on_a_phone").await;
    browser.goto("/").await;
    // Nothing unread: the menu button carries no count.
    assert!(
        !shown(&browser, ".menu-toggle .menu-count").await,
        "{}",
        browser
            .report("the menu button shows a count of nothing")
            .await
    );
    open_menu(&browser).await;
    browser.submit_action("/signout").await;

    // Sign in from the menu: its link brings the reader back where they were.
    browser.goto("/tags").await;
    open_menu(&browser).await;
    browser
        .click_xpath(
            "//nav[@id='site-nav']//a[starts-with(@href, '/signin')]",
            "Sign in",
        )
        .await;
    assert!(browser.path().await.starts_with("/signin"));
    no_overflow(&browser, "sign-in form").await;
    browser.fill("input[name=login]", "pat_on_a_phone").await;
    browser
        .fill("input[name=password]", "correct horse battery staple")
        .await;
    browser.submit_form_of("login").await;
    assert_eq!(
        browser.path().await,
        "/tags",
        "signing in did not come back"
    );

    // Signed in, the menu holds the member's own links, all within the screen.
    open_menu(&browser).await;
    screenshot(&browser, "phone-menu.png").await;
    for link in ["/settings", "/new"] {
        assert!(
            shown(&browser, &format!("#site-nav a[href='{link}']")).await,
            "{}",
            browser
                .report(&format!("{link} is not reachable in the menu"))
                .await
        );
    }
    no_overflow(&browser, "tags, menu open").await;

    // Search from the header.
    browser.fill("#header-q", "background connection").await;
    must(
        browser.find("#header-q").await.send_keys("\u{E007}").await,
        "press Enter",
    );
    browser.settle().await;
    assert!(
        browser.path().await.starts_with("/search"),
        "{}",
        browser.report("the header's search did not search").await
    );
    no_overflow(&browser, "search results").await;
    browser
        .click_xpath(
            "(//ol[contains(@class,'results')]//a[starts-with(@href,'/thread/')])[1]",
            "the first result",
        )
        .await;
    let thread = browser.path().await;
    assert!(
        thread.starts_with("/thread/"),
        "{}",
        browser.report("no thread").await
    );
    no_overflow(&browser, "thread, signed in").await;

    // Reply at the foot of the thread.
    let reply = "Seen on a phone: the same happens on cellular, and reconnecting on \
                 foreground fixes it for me.";
    browser.fill("textarea[name=body]", reply).await;
    browser.submit_form_of("body").await;
    let started = Instant::now();
    while !browser.text().await.contains("Seen on a phone") {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            browser.report("the reply did not appear").await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    no_overflow(&browser, "thread after replying").await;
    screenshot(&browser, "phone-thread.png").await;
    let _ = browser.client.clone().close().await;
}
