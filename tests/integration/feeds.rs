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
        // Newest first (read from thread_tags' own order, not the threads joined and sorted).
        let published: Vec<_> = feed.entries.iter().map(|e| e.published).collect();
        assert!(published.iter().all(Option::is_some), "{published:?}");
        assert!(published.windows(2).all(|w| w[0] >= w[1]), "{published:?}");
        let mira = app.person("mira", agora_store::Role::Member).await;
        let token = app.api_token(&mira, "write").await;
        let started = app
            .api(
                "POST",
                "/api/v1/threads",
                Some(&token),
                Some(
                    serde_json::json!({"subtopic": "app-system-services/networking",
                    "title": "QUIC handshake stalls behind a corporate proxy", "tags": ["quic"],
                    "body": "Our QUIC handshake stalls behind the corporate proxy since Monday."}),
                ),
            )
            .await;
        assert_eq!(
            started.status,
            axum::http::StatusCode::CREATED,
            "{}",
            started.text()
        );
        let feed = parse(
            &app,
            "/tags/quic/feed.rss",
            "application/rss+xml; charset=utf-8",
        )
        .await;
        assert_eq!(
            feed.entries
                .first()
                .and_then(|e| e.title.clone())
                .map(|t| t.content),
            Some("QUIC handshake stalls behind a corporate proxy".to_string())
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

/// Characters XML 1.0 forbids, however they got into the database: typed raw, or written as
/// references that the Markdown renderer turned into the characters (`&#1;`, `&#x0;`).
const NASTY: &str = "\u{1}\u{8}\u{b}\u{c}\u{1f}\u{fffe}\u{ffff}";

/// An archive whose texts hold what the archive lets in (U+FFFE, U+FFFF; references in
/// Markdown bodies) in every place a feed shows: subtopic and tag names and descriptions,
/// display names, titles, bodies.
fn hostile_archive() -> agora_store::Archive {
    use agora_store::archive::{Area, Post, Subtopic, Tag, Thread, User};
    use agora_store::{Role, ThreadKind, Timestamp};
    let at = |s: i64| Timestamp::from_micros(1_767_225_600_000_000 + s * 1_000_000);
    let post = |id: i64, author: &str, body: &str| Post {
        id,
        author: author.into(),
        created_at: at(id),
        body: body.into(),
        boosts: Vec::new(),
        revisions: Vec::new(),
        deleted: None,
        hidden: None,
        reply_to: None,
        body_html: String::new(),
    };
    let mut archive = agora_store::Archive::empty();
    archive.areas.push(Area {
        slug: "area".into(),
        name: "Area\u{fffe}".into(),
        description: String::new(),
        subtopics: vec![Subtopic {
            slug: "sub".into(),
            name: "Sub\u{fffe}topic".into(),
            description: "Described\u{ffff} here &#1;".into(),
            docs_url: None,
            ..Default::default()
        }],
        archived_at: None,
    });
    archive.tags.push(Tag {
        slug: "ctl".into(),
        name: "Ctl\u{fffe}Tag".into(),
        description: "Tag\u{ffff} description".into(),
    });
    for name in ["asker", "helper"] {
        archive.users.push(User {
            username: name.into(),
            display_name: format!("{name}\u{fffe}\u{ffff}"),
            role: Role::Member,
            staff_title: None,
            signature: String::new(),
            created_at: at(0),
            account: None,
            avatar: None,
            signature_html: String::new(),
        });
    }
    archive.threads.push(Thread {
        id: 1,
        subtopic: "area/sub".into(),
        title: "Zebracontrol title\u{fffe} with &#1; typed".into(),
        kind: ThreadKind::Question,
        tags: vec!["ctl".into()],
        pinned: None,
        locked: None,
        views: 0,
        accepted_post_id: None,
        recommended_post_id: None,
        posts: vec![
            post(
                1,
                "asker",
                "Zebracontrol body &#1; one &#x0; two &#x1F; three \u{fffe} four &#xFFFF; five\n\n\
                 ```\ncode &#8; here \u{fffe}\n```\n",
            ),
            post(
                2,
                "helper",
                "Zebracontrol reply &#1;&#11;&#12; and `&#1;` \u{ffff}",
            ),
        ],
        excerpt: String::new(),
    });
    archive
}

/// A feed must be well-formed XML 1.0 (a strict parser, and no forbidden character anywhere)
/// and a feed a reader understands (feed-rs). Returns the document.
fn strictly_valid(path: &str, response: &crate::util::TestResponse) -> String {
    assert_eq!(response.status, 200, "{path}: {}", response.text());
    let text = String::from_utf8(response.body.clone())
        .unwrap_or_else(|e| panic!("{path}: not UTF-8: {e}"));
    if let Some(bad) = text.chars().find(|c| !agora_markup::is_xml_char(*c)) {
        panic!("{path}: holds U+{:04X}", bad as u32);
    }
    if let Err(e) = roxmltree::Document::parse(&text) {
        panic!("{path}: not well-formed XML: {e}\n{text}");
    }
    let feed = feed_rs::parser::parse(text.as_bytes())
        .unwrap_or_else(|e| panic!("{path}: not a feed: {e}"));
    assert!(!feed.entries.is_empty(), "{path}: no entries");
    text
}

both!(
    async fn feeds_stay_valid_xml_whatever_posts_hold(b: Backend) {
        use agora_store::{NewReply, NewThread, ThreadKind};

        let app = TestApp::with_archive(b, hostile_archive()).await;
        let store = app.store();

        // Rows the forms and the archive would refuse, written straight to the store as rows
        // stored before either refused them: raw controls in a title, a rendered body, an
        // excerpt, a display name.
        let asker = store
            .account_by_name("asker")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no asker"));
        let helper = store
            .account_by_name("helper")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no helper"));
        let subtopic = store
            .subtopic_id("area", "sub")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no subtopic"));
        let tags: Vec<_> = store
            .tag_ids(vec!["ctl".to_string()])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        let (raw_thread, _) = store
            .create_thread(NewThread {
                subtopic,
                title: format!("Zebracontrol raw{NASTY} title"),
                kind: ThreadKind::Discussion,
                tags,
                author: asker.brief.id,
                body_md: format!("Zebracontrol raw{NASTY} body"),
                body_html: format!("<p>Zebracontrol raw{NASTY} body</p>"),
                excerpt: format!("Zebracontrol raw{NASTY} excerpt"),
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .create_reply(NewReply {
                thread: raw_thread,
                author: helper.brief.id,
                author_is_staff: false,
                body_md: format!("Zebracontrol raw{NASTY} reply"),
                body_html: format!("<p>Zebracontrol raw{NASTY} reply</p>"),
                reply_to: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        store
            .update_profile(helper.brief.id, &format!("Helper{NASTY}"), "", "")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        app.index().await;

        let mut checked = 0;
        for base in [
            "/topics/area/sub/feed".to_string(),
            "/tags/ctl/feed".to_string(),
            "/thread/1/feed".to_string(),
            format!("/thread/{raw_thread}/feed"),
        ] {
            for kind in ["rss", "atom"] {
                let path = format!("{base}.{kind}");
                let text = strictly_valid(&path, &app.get(&path).await);
                // Only the forbidden characters went: the words around them stay.
                assert!(text.contains("Zebracontrol"), "{path}");
                checked += 1;
            }
        }
        for query in [
            "zebracontrol",
            "zebracontrol%01%EF%BF%BE",
            "%01",
            "tag%3Actl",
        ] {
            for kind in ["rss", "atom"] {
                let path = format!("/search/feed.{kind}?q={query}");
                let response = app.get(&path).await;
                if query == "%01" {
                    // Nothing matches a control character, but the empty feed is valid too.
                    assert_eq!(response.status, 200, "{path}");
                    let text = String::from_utf8_lossy(&response.body).into_owned();
                    assert!(text.chars().all(agora_markup::is_xml_char), "{path}");
                    assert!(roxmltree::Document::parse(&text).is_ok(), "{path}: {text}");
                } else {
                    strictly_valid(&path, &response);
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 16);

        // The thread's own feed says what the posts said, less the forbidden characters.
        let feed = feed_rs::parser::parse(app.ok("/thread/1/feed.atom").await.body.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
        let bodies: Vec<String> = feed
            .entries
            .iter()
            .filter_map(|e| e.content.as_ref().and_then(|c| c.body.clone()))
            .collect();
        assert!(
            bodies
                .iter()
                .any(|b| b.contains("one") && b.contains("five")),
            "{bodies:?}"
        );
        let raw = feed_rs::parser::parse(
            app.ok(&format!("/thread/{raw_thread}/feed.rss"))
                .await
                .body
                .as_slice(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let titles: Vec<String> = raw
            .entries
            .iter()
            .filter_map(|e| e.title.as_ref().map(|t| t.content.clone()))
            .collect();
        assert!(
            titles.contains(&"Zebracontrol raw title".to_string()),
            "{titles:?}"
        );
    }
);
