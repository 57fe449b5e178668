//! Feeds parse with a real feed parser (feed-rs) and carry titles, absolute links and dates.

use crate::util::{TestApp, both};

async fn parse(app: &TestApp, path: &str, content_type: &str) -> feed_rs::model::Feed {
    let response = app.ok(path).await;
    assert_eq!(
        response.header("content-type"),
        Some(content_type),
        "{path}"
    );
    feed_rs::parser::parse(response.body.as_slice()).unwrap_or_else(|e| panic!("{path}: {e}"))
}

both!(
    async fn subtopic_feeds_list_threads_newest_first(b: Backend) {
        let app = TestApp::demo(b).await;
        for (path, kind, mime) in [
            (
                "/topics/app-system-services/networking/feed.rss",
                feed_rs::model::FeedType::RSS2,
                "application/rss+xml; charset=utf-8",
            ),
            (
                "/topics/app-system-services/networking/feed.atom",
                feed_rs::model::FeedType::Atom,
                "application/atom+xml; charset=utf-8",
            ),
        ] {
            let feed = parse(&app, path, mime).await;
            assert_eq!(feed.feed_type, kind);
            assert_eq!(
                feed.title.map(|t| t.content),
                Some("Networking · Agora".to_string())
            );
            assert_eq!(feed.entries.len(), 17, "{path}");
            let published: Vec<_> = feed
                .entries
                .iter()
                .map(|e| e.published.unwrap_or_default())
                .collect();
            assert!(
                published.windows(2).all(|w| w[0] >= w[1]),
                "{path}: not newest first"
            );
            for entry in &feed.entries {
                let link = &entry.links[0].href;
                assert!(link.starts_with("http://127.0.0.1:8080/thread/"), "{link}");
                assert!(entry.title.as_ref().is_some_and(|t| !t.content.is_empty()));
            }
            assert!(feed.entries.iter().any(|e| {
                e.title
                    .as_ref()
                    .is_some_and(|t| t.content.contains("轮询接口"))
            }));
        }
    }
);

both!(
    async fn tag_and_thread_feeds(b: Backend) {
        let app = TestApp::demo(b).await;
        let feed = parse(
            &app,
            "/tags/quic/feed.rss",
            "application/rss+xml; charset=utf-8",
        )
        .await;
        assert_eq!(
            feed.title.map(|t| t.content),
            Some("QUIC tag · Agora".to_string())
        );
        assert!(!feed.entries.is_empty());
        assert!(
            feed.entries
                .iter()
                .all(|e| e.categories.iter().any(|c| c.term == "QUIC"))
        );

        let feed = parse(
            &app,
            "/thread/6/feed.atom",
            "application/atom+xml; charset=utf-8",
        )
        .await;
        assert_eq!(feed.entries.len(), 6);
        let first = feed.entries.last().unwrap_or_else(|| panic!("no entries"));
        assert!(
            first
                .content
                .as_ref()
                .and_then(|c| c.body.as_ref())
                .is_some_and(|b| b.contains("<p>"))
        );
        assert!(
            feed.entries[0]
                .title
                .as_ref()
                .is_some_and(|t| t.content.starts_with("Re: "))
        );
        assert!(feed.updated.is_some());
        let feed = parse(
            &app,
            "/thread/6/feed.rss",
            "application/rss+xml; charset=utf-8",
        )
        .await;
        assert_eq!(feed.entries.len(), 6);
        assert!(
            feed.entries
                .iter()
                .all(|e| e.links[0].href.contains("/thread/6/")
                    && e.links[0].href.contains("#post-"))
        );
    }
);

both!(
    async fn thread_pages_advertise_their_feeds(b: Backend) {
        let app = TestApp::demo(b).await;
        let (_, page) = app.follow("/thread/6").await;
        let links = crate::util::attrs(&page.html(), "link[rel=alternate]", "href");
        assert_eq!(links, vec!["/thread/6/feed.rss", "/thread/6/feed.atom"]);
    }
);
