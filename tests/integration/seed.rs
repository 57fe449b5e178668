//! The seed page's 21 threads (../shared/seed/networking-listing.json), converted to an
//! archive in this test, import and render: titles, reply and view columns as the seed shows
//! them, the Chinese thread included.

use agora_store::archive::{Area, Lock, Post, Revision, Subtopic, Thread, User};
use agora_store::{Archive, PinScope, Role, ThreadKind, Timestamp};
use serde::Deserialize;

use crate::util::{TestApp, both, texts};

#[derive(Deserialize)]
struct SeedThread {
    title: String,
    body: String,
    replies: usize,
    views_label: String,
    views_approx: i64,
    author_role: String,
    locked: bool,
    has_revision_history: bool,
}

#[derive(Deserialize)]
struct Seed {
    threads: Vec<SeedThread>,
}

fn seed_path() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/seed/networking-listing.json")
}

/// The seed's threads as an archive of their own (area, subtopic, three users).
pub(crate) fn seed_archive() -> Archive {
    let path = seed_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let seed: Seed = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    to_archive(&seed)
}

fn ts(micros: i64) -> Timestamp {
    Timestamp::from_micros(1_767_225_600_000_000 + micros) // 2026-01-01
}

fn to_archive(seed: &Seed) -> Archive {
    let mut archive = Archive::empty();
    archive.areas.push(Area {
        slug: "app-system-services".into(),
        name: "App & System Services".into(),
        description: String::new(),
        subtopics: vec![Subtopic {
            slug: "networking".into(),
            name: "Networking".into(),
            description: "Networking protocols and technologies.".into(),
            docs_url: None,
            ..Default::default()
        }],
        archived_at: None,
    });
    for (name, role, title) in [
        ("dts", Role::Staff, Some("Developer Technical Support")),
        ("asker", Role::Member, None),
        ("helper", Role::Member, None),
    ] {
        archive.users.push(User {
            username: name.into(),
            display_name: name.into(),
            role,
            staff_title: title.map(str::to_string),
            signature: String::new(),
            created_at: ts(0),
            account: None,
            avatar: None,
            signature_html: String::new(),
        });
    }
    let mut post_id = 0;
    for (i, s) in seed.threads.iter().enumerate() {
        let author = if s.author_role == "staff" {
            "dts"
        } else {
            "asker"
        };
        let start = (i as i64) * 3_600_000_000;
        post_id += 1;
        let mut first = Post {
            id: post_id,
            author: author.into(),
            created_at: ts(start),
            body: s.body.clone(),
            boosts: Vec::new(),
            revisions: Vec::new(),
            deleted: None,
            hidden: None,
            reply_to: None,
            body_html: String::new(),
        };
        if s.has_revision_history {
            first.revisions = vec![
                Revision {
                    created_at: ts(start),
                    author: author.into(),
                    reason: None,
                    body: format!("{}\n\nDraft.", s.body),
                },
                Revision {
                    created_at: ts(start + 1_000_000),
                    author: author.into(),
                    reason: Some("Tidied up".into()),
                    body: s.body.clone(),
                },
            ];
        }
        let mut posts = vec![first];
        for r in 0..s.replies {
            post_id += 1;
            posts.push(Post {
                id: post_id,
                author: "helper".into(),
                created_at: ts(start + 60_000_000 * (r as i64 + 1)),
                body: format!("Reply {r}"),
                boosts: Vec::new(),
                revisions: Vec::new(),
                deleted: None,
                hidden: None,
                reply_to: None,
                body_html: String::new(),
            });
        }
        archive.threads.push(Thread {
            id: i as i64 + 1,
            subtopic: "app-system-services/networking".into(),
            title: s.title.clone(),
            kind: if s.author_role == "staff" {
                ThreadKind::Discussion
            } else {
                ThreadKind::Question
            },
            tags: Vec::new(),
            pinned: (s.author_role == "staff" && s.title.ends_with("Resources"))
                .then_some(PinScope::Subtopic),
            locked: s.locked.then(|| Lock {
                at: ts(start + 2_000_000),
                by: "dts".into(),
                reason: "Locked to keep it focused.".into(),
            }),
            views: s.views_approx,
            accepted_post_id: None,
            recommended_post_id: None,
            posts,
            excerpt: String::new(),
        });
    }
    archive
}

both!(
    async fn the_seed_threads_import_and_render(b: Backend) {
        let path = seed_path();
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let seed: Seed = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(seed.threads.len(), 21);
        let app = TestApp::with_archive(b, to_archive(&seed)).await;

        let listing = app
            .ok("/topics/app-system-services/networking?sortBy=newest&sortOrder=asc")
            .await
            .html();
        let titles = texts(&listing, "tbody a.title");
        let views = texts(&listing, "td[data-label=Views]");
        let replies = texts(&listing, "td[data-label=Replies]");
        assert_eq!(titles.len(), 21);
        for (i, s) in seed.threads.iter().enumerate() {
            assert_eq!(
                titles[i],
                s.title.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            assert_eq!(views[i], s.views_label, "views of {}", s.title);
            assert_eq!(replies[i], s.replies.to_string(), "replies of {}", s.title);
        }
        for i in 1..=seed.threads.len() {
            let (_, page) = app.follow(&format!("/thread/{i}")).await;
            assert_eq!(page.status, axum::http::StatusCode::OK, "thread {i}");
            let html = page.html();
            let s = &seed.threads[i - 1];
            assert_eq!(
                texts(&html, "h1 .thread-title")[0],
                s.title.split_whitespace().collect::<Vec<_>>().join(" ")
            );
            assert_eq!(texts(&html, "ol.posts > li").len(), s.replies + 1);
            assert_eq!(
                !texts(&html, ".notice.locked").is_empty(),
                s.locked,
                "thread {i}"
            );
            assert_eq!(
                !texts(&html, "a.edited").is_empty(),
                s.has_revision_history,
                "thread {i}"
            );
        }
        let chinese = seed
            .threads
            .iter()
            .position(|t| t.title.contains("网络请求"))
            .unwrap_or_else(|| panic!("no Chinese thread"));
        let (url, page) = app.follow(&format!("/thread/{}", chinese + 1)).await;
        assert!(url.contains("%E7%BD%91%E7%BB%9C"), "{url}");
        assert!(texts(&page.html(), ".post-body")[0].contains("已经检查过手机的存储空间"));
    }
);
