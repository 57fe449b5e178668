//! Export and import: a lossless, byte-stable round trip, and bad archives rejected whole.

use std::sync::Arc;

use agora::services::archive;
use axum::http::StatusCode;

use crate::util::{TestApp, both, demo_archive};

both!(
    async fn export_import_export_is_byte_identical(b: Backend) {
        let app = TestApp::demo(b).await;
        let first = archive::to_json(&app.store().export().await.unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
        let copy =
            TestApp::with_archive(b, archive::parse(&first).unwrap_or_else(|e| panic!("{e}")))
                .await;
        let second = archive::to_json(
            &copy
                .store()
                .export()
                .await
                .unwrap_or_else(|e| panic!("{e}")),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert!(first == second, "the second export differs from the first");
        // And the copy serves the same pages.
        for path in [
            "/topics/app-system-services/networking",
            "/api/v1/threads/6",
            "/posts/1/revisions",
        ] {
            assert_eq!(app.ok(path).await.body, copy.ok(path).await.body, "{path}");
        }
        // The export holds what the demo held.
        let original = demo_archive();
        let exported = archive::parse(&first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exported.threads.len(), original.threads.len());
        assert_eq!(exported.users.len(), original.users.len());
        let posts =
            |a: &agora_store::Archive| a.threads.iter().map(|t| t.posts.len()).sum::<usize>();
        assert_eq!(posts(&exported), posts(&original));
        let revisions = |a: &agora_store::Archive| {
            a.threads
                .iter()
                .flat_map(|t| &t.posts)
                .map(|p| p.revisions.len())
                .sum::<usize>()
        };
        assert_eq!(revisions(&exported), revisions(&original));
        let boosts = |a: &agora_store::Archive| {
            a.threads
                .iter()
                .flat_map(|t| &t.posts)
                .map(|p| p.boosts.len())
                .sum::<usize>()
        };
        assert_eq!(boosts(&exported), boosts(&original));
    }
);

both!(
    async fn bad_archives_change_nothing_and_say_what_is_wrong(b: Backend) {
        let app = TestApp::empty(b).await;
        type Breakage = Box<dyn Fn(&mut agora_store::Archive)>;
        let cases: Vec<(Breakage, &str)> = vec![
            (
                Box::new(|a| a.threads[3].posts[1].author = "ghost".into()),
                "threads[3].posts[1].author: no user named \"ghost\"",
            ),
            (
                Box::new(|a| a.threads[2].tags.push("no-such-tag".into())),
                "threads[2].tags[2]: no tag",
            ),
            (
                Box::new(|a| a.threads[4].accepted_post_id = Some(1)),
                "threads[4].accepted_post_id",
            ),
            (Box::new(|a| a.threads[2].id = 1), "threads[2].id"),
            (
                Box::new(|a| a.threads[5].posts[0].body = String::new()),
                "threads[5].posts[0].body",
            ),
            (Box::new(|a| a.version = 9), "version"),
            (
                Box::new(|a| a.users[1].username = a.users[0].username.to_uppercase()),
                "users[1].username",
            ),
        ];
        for (break_it, expected) in cases {
            let mut archive = demo_archive();
            break_it(&mut archive);
            let err = archive::import(app.store(), archive, None)
                .await
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_default();
            assert!(err.contains(expected), "expected {expected:?} in {err:?}");
            assert!(
                app.store().is_empty().await.unwrap_or(false),
                "a bad archive wrote something"
            );
        }
        // Unknown fields and bad JSON are refused at parse time with a position.
        let err = archive::parse("{\"format\":\"agora-archive\",\"version\":1,\"areas\":[],\"tags\":[],\"users\":[],\"threads\":[],\"extra\":1}")
        .err()
        .map(|e| format!("{e:#}"))
        .unwrap_or_default();
        assert!(err.contains("extra"), "{err}");
        // After all that, the empty forum still takes a good archive.
        archive::import(app.store(), demo_archive(), None)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            app.get("/topics/app-system-services/networking")
                .await
                .status,
            StatusCode::OK
        );
    }
);

both!(
    async fn a_failed_write_rolls_back_everything(b: Backend) {
        // Importing into a forum that already has content is refused inside the transaction,
        // and leaves the forum exactly as it was.
        let app = TestApp::demo(b).await;
        let before = app.store().export().await.unwrap_or_else(|e| panic!("{e}"));
        let err = app
            .store()
            .import(Arc::new(demo_archive()), Arc::new(|_| {}))
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("not empty"), "{err}");
        let after = app.store().export().await.unwrap_or_else(|e| panic!("{e}"));
        assert!(before == after);
    }
);
