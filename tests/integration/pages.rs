//! Every page renders, reads like the seed page, and every link on every page works.

use std::collections::{BTreeSet, VecDeque};

use axum::http::StatusCode;

use crate::util::{TestApp, attrs, both, texts};

const NETWORKING: &str = "/topics/app-system-services/networking";

both!(
    async fn home_lists_areas_with_subtopics_and_counts(b: Backend) {
        let app = TestApp::demo(b).await;
        let html = app.ok("/").await.html();
        assert_eq!(
            texts(&html, ".area h2"),
            vec!["App & System Services", "Developer Tools & Services"]
        );
        let subtopics = texts(&html, ".subtopic-card h3");
        assert_eq!(
            subtopics,
            vec![
                "Networking",
                "Background Tasks",
                "Storage & Persistence",
                "Build System",
                "Testing"
            ]
        );
        let meta = texts(&html, ".subtopic-card .meta");
        assert!(meta[0].starts_with("17 threads"), "{meta:?}");
        assert!(meta[0].contains("active"), "{meta:?}");
        assert_eq!(
            attrs(&html, "link[rel=canonical]", "href"),
            vec!["http://127.0.0.1:8080/"]
        );
    }
);

both!(
    async fn subtopic_listing_reads_like_the_seed(b: Backend) {
        let app = TestApp::demo(b).await;
        let page = app.ok(NETWORKING).await;
        let html = page.html();
        assert_eq!(texts(&html, "h1"), vec!["Networking"]);
        assert_eq!(
            texts(&html, "h2.listing-title"),
            vec!["Posts under Networking subtopic"]
        );
        assert_eq!(
            texts(&html, ".listing thead th"),
            vec!["Post", "Replies", "Boosts", "Views", "Activity"]
        );
        assert!(texts(&html, ".feed-link a").contains(&"RSS for subtopic".to_string()));
        assert!(texts(&html, "a.docs-link")[0].contains("Documentation"));
        // Pinned first: the global pin, then the subtopic pin, then by latest activity.
        let titles = texts(&html, ".listing tbody a.title");
        assert_eq!(titles.len(), 17);
        assert!(
            titles[0].starts_with("Tips for Writing a Question"),
            "{titles:?}"
        );
        assert!(
            titles[1].starts_with("Networking: Start Here"),
            "{titles:?}"
        );
        assert_eq!(texts(&html, "tr.is-pinned").len(), 2);
        // Compact counts and relative activity with the exact time in <time datetime>, to the
        // millisecond (HTML allows three fractional digits at most).
        let views: Vec<String> = texts(&html, "td[data-label=Views]");
        assert_eq!(views[1], "124k");
        assert!(views.iter().any(|v| v == "12k"), "{views:?}");
        assert!(
            views.iter().any(|v| v.ends_with('k') && v.contains('.')),
            "{views:?}"
        );
        let times = attrs(&html, "td[data-label=Activity] time", "datetime");
        assert_eq!(times.len(), 17);
        assert!(
            times.iter().all(|t| t.ends_with('Z') && t.len() == 24),
            "{times:?}"
        );
        // Markers: locked, solved, staff answered; tags link to their pages.
        assert!(!texts(&html, ".marker.locked").is_empty());
        assert!(!texts(&html, ".badge.solved").is_empty());
        assert!(!texts(&html, ".badge.staff").is_empty());
        assert!(
            attrs(&html, "ul.tags a", "href")
                .iter()
                .any(|h| h == "/tags/network")
        );
        // Feeds advertised.
        let alternates = attrs(&html, "link[rel=alternate]", "href");
        assert_eq!(
            alternates,
            vec![
                format!("{NETWORKING}/feed.rss"),
                format!("{NETWORKING}/feed.atom")
            ]
        );
        assert!(!attrs(&html, "meta[name=description]", "content")[0].is_empty());
    }
);

both!(
    async fn the_chinese_thread_renders(b: Backend) {
        let app = TestApp::demo(b).await;
        let (url, page) = app.follow("/thread/15").await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(url.starts_with("/thread/15/%E8%BD%AE"), "{url}");
        let html = page.html();
        assert!(texts(&html, "h1")[0].contains("轮询接口"));
        assert!(
            texts(&html, ".post-body")
                .iter()
                .any(|b| b.contains("URLSession"))
        );
        assert_eq!(texts(&html, ".post-flag.accepted").len(), 1);
    }
);

both!(
    async fn sorts_and_filters(b: Backend) {
        let app = TestApp::demo(b).await;
        let views = |html: &scraper::Html| -> Vec<i64> {
            texts(html, "td[data-label=Views]")
                .iter()
                .map(|v| {
                    let (num, mult) = match v.strip_suffix('k') {
                        Some(n) => (n, 1000.0),
                        None => (v.as_str(), 1.0),
                    };
                    (num.parse::<f64>().unwrap_or(0.0) * mult) as i64
                })
                .collect()
        };
        let html = app.ok(&format!("{NETWORKING}?sortBy=views")).await.html();
        let v = views(&html);
        assert_eq!(v.len(), 17);
        assert!(v.windows(2).all(|w| w[0] >= w[1]), "{v:?}");
        let html = app
            .ok(&format!("{NETWORKING}?sortBy=views&sortOrder=asc"))
            .await
            .html();
        let v = views(&html);
        assert!(v.windows(2).all(|w| w[0] <= w[1]), "{v:?}");
        // Filters: solved threads all carry the marker; unanswered ones have no replies.
        let html = app.ok(&format!("{NETWORKING}?filter=solved")).await.html();
        assert_eq!(
            texts(&html, "tbody tr").len(),
            texts(&html, "tbody .badge.solved").len()
        );
        assert_eq!(texts(&html, "tbody tr").len(), 6);
        let html = app
            .ok(&format!("{NETWORKING}?filter=unanswered"))
            .await
            .html();
        let replies = texts(&html, "td[data-label=Replies]");
        assert!(
            !replies.is_empty() && replies.iter().all(|r| r == "0"),
            "{replies:?}"
        );
        let html = app
            .ok(&format!("{NETWORKING}?filter=staff-answered"))
            .await
            .html();
        assert_eq!(
            texts(&html, "tbody tr").len(),
            texts(&html, "tbody .badge.staff").len()
        );
        for sort in ["activity", "newest", "boosts", "views", "replies"] {
            for order in ["asc", "desc"] {
                app.ok(&format!("{NETWORKING}?sortBy={sort}&sortOrder={order}"))
                    .await;
            }
        }
        // The selected sort is marked for assistive technology.
        assert_eq!(
            texts(&html, "nav.filters a[aria-current]"),
            vec!["Staff answered"]
        );
    }
);

both!(
    async fn thread_page_shows_staff_answers_and_history(b: Backend) {
        let app = TestApp::demo(b).await;
        let (url, page) = app.follow("/thread/6").await;
        let html = page.html();
        assert_eq!(texts(&html, "ol.posts > li").len(), 6);
        assert!(!texts(&html, ".answer-links .accepted").is_empty());
        assert!(!texts(&html, ".answer-links .recommended").is_empty());
        assert_eq!(
            attrs(&html, ".answer-links .accepted a", "href"),
            vec![format!("{url}#post-15")]
        );
        assert_eq!(attrs(&html, "li.is-recommended", "id"), vec!["post-17"]);
        let staff = texts(&html, "li.by-staff .staff-title");
        assert!(
            staff.iter().any(|t| t == "Developer Technical Support"),
            "{staff:?}"
        );
        assert!(!texts(&html, "li.by-staff .signature").is_empty());
        // A table in Markdown renders as a table.
        assert!(!texts(&html, ".post-body table").is_empty());

        let (_, page) = app.follow("/thread/1").await;
        let html = page.html();
        let edited = attrs(&html, "a.edited", "href");
        assert_eq!(edited, vec!["/posts/1/revisions"]);
        let revisions = app.ok("/posts/1/revisions").await.html();
        assert_eq!(
            texts(&revisions, ".revision h2"),
            vec!["Revision 4", "Revision 3", "Revision 2", "Revision 1"]
        );
        assert!(!texts(&revisions, ".diff-line.added").is_empty());
        assert!(!texts(&revisions, ".diff-line.removed ,.diff-line.added ins").is_empty());

        let (_, page) = app.follow("/thread/3").await;
        let notice = texts(&page.html(), ".notice.locked");
        assert!(
            notice[0].contains("This thread is locked.") && notice[0].contains("new thread"),
            "{notice:?}"
        );
    }
);

both!(
    async fn old_slugs_redirect_to_the_current_one(b: Backend) {
        let app = TestApp::demo(b).await;
        let response = app.get("/thread/7/some-old-title?page=1").await;
        assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT);
        assert_eq!(
            response.header("location"),
            Some("/thread/7/nwconnection-udp-receivemessage-fires-once-and-then-never-again")
        );
    }
);

both!(
    async fn user_and_tag_pages(b: Backend) {
        let app = TestApp::demo(b).await;
        let html = app.ok("/users/javery").await.html();
        assert_eq!(texts(&html, "h1"), vec!["Jordan Avery"]);
        assert!(texts(&html, ".profile .staff-title")[0].contains("Developer Technical Support"));
        assert!(!texts(&html, ".profile-items .profile-item").is_empty());
        let html = app.ok("/users/%E6%9D%8E%E6%98%8E").await.html();
        assert!(texts(&html, ".handle")[0].contains("李明"));

        let html = app.ok("/tags/network").await.html();
        assert_eq!(texts(&html, "h1"), vec!["Network"]);
        assert!(texts(&html, ".feed-link a").contains(&"RSS for tag".to_string()));
        let rows = texts(&html, "tbody tr").len();
        assert!(rows >= 8, "{rows}");
        let html = app.ok("/tags").await.html();
        assert_eq!(texts(&html, ".tag-index li").len(), 14);
    }
);

both!(
    async fn missing_things_are_404_pages_that_help(b: Backend) {
        let app = TestApp::demo(b).await;
        for path in [
            "/topics/app-system-services/nope",
            "/topics/nope/networking",
            "/tags/nope",
            "/thread/999",
            "/thread/abc",
            "/thread/999/slug",
            "/thread/0/x",
            "/users/nobody",
            "/posts/9999/revisions",
            "/no/such/page",
            "/static/agora.css",
            "/topics/app-system-services/networking/feed.xml",
            &format!("{NETWORKING}?page=50"),
            "/thread/6/x?page=9",
        ] {
            let response = app.get(path).await;
            assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
            let html = response.html();
            assert_eq!(texts(&html, "h1"), vec!["Not found"], "{path}");
            assert!(!texts(&html, ".lede")[0].is_empty(), "{path}");
            assert!(
                attrs(&html, "main a", "href").contains(&"/".to_string()),
                "{path}"
            );
            assert_eq!(
                response.header("content-type"),
                Some("text/html; charset=utf-8")
            );
        }
    }
);

both!(
    async fn bad_parameters_are_400_pages_naming_the_parameter(b: Backend) {
        let app = TestApp::demo(b).await;
        for (query, param) in [
            ("sortBy=likes", "sortBy"),
            ("sortOrder=up", "sortOrder"),
            ("filter=hot", "filter"),
            ("page=0", "page"),
            ("page=two", "page"),
        ] {
            let response = app.get(&format!("{NETWORKING}?{query}")).await;
            assert_eq!(response.status, StatusCode::BAD_REQUEST, "{query}");
            let html = response.html();
            assert_eq!(texts(&html, "main code"), vec![param], "{query}");
        }
        let response = app.get("/thread/6/x?page=-2").await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST);
    }
);

both!(
    /// Crawls every internal link from the home page (pages, feeds, API links in the footer)
    /// and expects each to answer 200 or a redirect to a page that does.
    async fn every_link_on_every_page_works(b: Backend) {
        let app = TestApp::demo(b).await;
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from(["/".to_string()]);
        while let Some(path) = queue.pop_front() {
            if !seen.insert(path.clone()) {
                continue;
            }
            let (at, response) = app.follow(&path).await;
            assert_eq!(response.status, StatusCode::OK, "{path} (via {at})");
            let is_html = response
                .header("content-type")
                .is_some_and(|c| c.starts_with("text/html"));
            if !is_html {
                continue;
            }
            let html = response.html();
            for attr in ["href", "src"] {
                for link in attrs(&html, &format!("[{attr}]"), attr) {
                    let link = link.split('#').next().unwrap_or("").to_string();
                    if link.starts_with('/') && !link.starts_with("//") && !seen.contains(&link) {
                        queue.push_back(link);
                    }
                }
            }
        }
        assert!(seen.len() > 60, "crawled only {} pages", seen.len());
    }
);

both!(
    async fn listings_paginate_without_losing_or_repeating_threads(b: Backend) {
        let mut archive = crate::util::demo_archive();
        let template = archive.threads[6].clone();
        for i in 0..70 {
            let mut thread = template.clone();
            thread.id = 1_000 + i;
            thread.title = format!("Generated thread number {i}");
            thread.accepted_post_id = None;
            thread.recommended_post_id = None;
            thread.posts.truncate(1);
            thread.posts[0].id = 10_000 + i;
            thread.subtopic = "developer-tools-services/testing".into();
            archive.threads.push(thread);
        }
        let app = TestApp::with_archive(b, archive).await;
        let base = "/topics/developer-tools-services/testing";
        let mut all = Vec::new();
        for page in 1..=3 {
            let html = app.ok(&format!("{base}?page={page}")).await.html();
            let pager = texts(&html, "nav.pager span");
            assert_eq!(pager, vec![format!("Page {page} of 3")]);
            all.extend(texts(&html, "tbody a.title"));
        }
        // 72 threads, plus the globally pinned one leading page 1.
        assert_eq!(all.len(), 73);
        let unique: BTreeSet<&String> = all.iter().collect();
        assert_eq!(unique.len(), 73);
        assert_eq!(
            app.get(&format!("{base}?page=4")).await.status,
            StatusCode::NOT_FOUND
        );
        let html = app.ok(&format!("{base}?page=2&sortBy=newest")).await.html();
        assert_eq!(
            attrs(&html, "a[rel=next]", "href"),
            vec![format!("{base}?sortBy=newest&page=3")]
        );
        assert_eq!(
            attrs(&html, "a[rel=prev]", "href"),
            vec![format!("{base}?sortBy=newest")]
        );
    }
);

both!(
    async fn long_threads_page_by_fifty(b: Backend) {
        let mut archive = crate::util::demo_archive();
        let thread = archive
            .threads
            .iter_mut()
            .find(|t| t.id == 7)
            .unwrap_or_else(|| panic!("thread 7"));
        let reply = thread.posts[1].clone();
        for i in 0..120 {
            let mut post = reply.clone();
            post.id = 20_000 + i;
            post.body = format!("Reply number {i}");
            post.boosts.clear();
            post.created_at = agora_store::Timestamp::from_micros(
                thread.posts.last().map_or(0, |p| p.created_at.micros()) + 1_000_000,
            );
            thread.posts.push(post);
        }
        let total = thread.posts.len();
        let app = TestApp::with_archive(b, archive).await;
        let (url, first) = app.follow("/thread/7").await;
        assert_eq!(texts(&first.html(), "ol.posts > li").len(), 50);
        let last_page = total.div_ceil(50);
        let last = app.ok(&format!("{url}?page={last_page}")).await.html();
        assert_eq!(
            texts(&last, "ol.posts > li").len(),
            total - 50 * (last_page - 1)
        );
        assert_eq!(
            texts(&last, "nav.pager span"),
            vec![format!("Page {last_page} of {last_page}")]
        );
        assert!(
            texts(&last, ".post-body")
                .last()
                .is_some_and(|b| b.contains("Reply number 119"))
        );
    }
);

both!(
    /// A wrong slug on a thread whose title is not ASCII redirects once, to a page that
    /// answers; the canonical link is encoded once.
    async fn non_ascii_slugs_redirect_once(b: Backend) {
        let app = TestApp::demo(b).await;
        let response = app.get("/thread/15/wrong").await;
        assert_eq!(response.status, StatusCode::PERMANENT_REDIRECT);
        let location = response.header("location").unwrap_or_default().to_string();
        assert!(
            location.starts_with("/thread/15/%E8%BD%AE") && !location.contains("%25"),
            "{location}"
        );
        let page = app.ok(&location).await;
        let canonical = attrs(&page.html(), "link[rel=canonical]", "href");
        assert_eq!(canonical, vec![format!("http://127.0.0.1:8080{location}")]);
    }
);

both!(
    /// Pinned threads lead page 1 and do not count towards the pages: 31 threads with one
    /// pinned fill exactly one page.
    async fn pinned_threads_do_not_count_as_pages(b: Backend) {
        let mut archive = crate::util::demo_archive();
        let template = archive.threads[6].clone();
        archive
            .threads
            .retain(|t| !t.subtopic.ends_with("/testing"));
        for i in 0..31 {
            let mut thread = template.clone();
            thread.id = 2_000 + i;
            thread.title = format!("Thread number {i}");
            thread.accepted_post_id = None;
            thread.recommended_post_id = None;
            thread.posts.truncate(1);
            thread.posts[0].id = 30_000 + i;
            thread.subtopic = "developer-tools-services/testing".into();
            thread.pinned = (i == 0).then_some(agora_store::PinScope::Subtopic);
            archive.threads.push(thread);
        }
        let app = TestApp::with_archive(b, archive).await;
        let listing = app
            .ok("/api/v1/topics/developer-tools-services/testing/threads")
            .await
            .json();
        assert_eq!(
            listing["listing"]["state"]["totalPages"], 1,
            "{}",
            listing["listing"]["state"]
        );
        assert_eq!(listing["listing"]["state"]["hasMore"], false);
        assert_eq!(
            listing["listing"]["threads"].as_array().map(Vec::len),
            Some(30)
        );
        let page = app
            .get("/topics/developer-tools-services/testing?page=2")
            .await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    }
);

both!(
    async fn error_pages_say_what_happened_and_offer_a_way_forward(b: Backend) {
        let app = TestApp::demo(b).await;

        // A bad parameter: the same page without it, one click away.
        let bad = app
            .request(
                &format!("{NETWORKING}?sortBy=sideways&filter=solved"),
                &[
                    ("host", "127.0.0.1:8080"),
                    ("referer", "http://127.0.0.1:8080/tags"),
                ],
            )
            .await;
        assert_eq!(bad.status, StatusCode::BAD_REQUEST);
        let html = bad.html();
        let ways = attrs(&html, "ul.ways a", "href");
        assert_eq!(ways[0], format!("{NETWORKING}?filter=solved"), "{ways:?}");
        assert!(ways.contains(&"/tags".to_string()), "back: {ways:?}");
        assert_eq!(texts(&html, ".error-page code"), vec!["sortBy"]);
        let fixed = app.get(&ways[0]).await;
        assert_eq!(fixed.status, StatusCode::OK);

        // A missing thread: a search for the words of its address.
        let gone = app.get("/thread/99999/nwconnection-keeps-dropping").await;
        assert_eq!(gone.status, StatusCode::NOT_FOUND);
        assert_eq!(
            attrs(&gone.html(), ".error-page input[name=q]", "value"),
            vec!["nwconnection keeps dropping"]
        );

        // A form sent by someone signed out: sign in, then back to the page it was on.
        let boost = app
            .send_body(
                "POST",
                "/posts/3/boost",
                &[
                    ("content-type", "application/x-www-form-urlencoded"),
                    ("sec-fetch-site", "same-origin"),
                    ("host", "127.0.0.1:8080"),
                    ("origin", "http://127.0.0.1:8080"),
                    ("referer", "http://127.0.0.1:8080/thread/2/tips"),
                ],
                Vec::new(),
            )
            .await;
        assert_eq!(boost.status, StatusCode::UNAUTHORIZED);
        let ways = attrs(&boost.html(), "ul.ways a", "href");
        assert_eq!(ways[0], "/signin?next=%2Fthread%2F2%2Ftips", "{ways:?}");
    }
);
