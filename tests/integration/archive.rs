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

both!(
    /// Version 3 carries what an administrator set: the site's settings, pages and images,
    /// archived areas and subtopics, and subtopic rules; a copy serves them the same, and
    /// version 2 files (the demo is one) still import.
    async fn settings_pages_images_and_rules_travel_in_version_3(b: Backend) {
        let app = TestApp::demo(b).await;
        let mut demo = demo_archive();
        assert_eq!(demo.version, 1, "the built-in demo is an old-version file");
        // Rules and an archived subtopic, as an archive states them.
        demo.version = 3;
        let sub = &mut demo.areas[0].subtopics[0];
        sub.who_starts = agora_store::archive::WhoStarts::Staff;
        sub.tags_required = false;
        sub.allowed_tags = vec!["network".into()];
        demo.areas[0].subtopics[1].archived_at =
            Some(agora_store::Timestamp::from_micros(1_700_000_000_000_000));
        let ruled = TestApp::with_archive(b, demo).await;
        // Settings with a page and an image, saved the way the admin pages save them.
        let admin = ruled.person("ops_admin", agora_store::Role::Admin).await;
        let account = ruled
            .store()
            .account_by_name(&admin.username)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mut settings = ruled.state.site().settings.clone();
        settings.name = "Carried Forum".into();
        settings.about = "All about **us**.".into();
        let mut png = Vec::new();
        image::RgbaImage::from_pixel(40, 40, image::Rgba([10, 90, 200, 255]))
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap_or_else(|e| panic!("{e}"));
        agora::services::settings::save(
            &ruled.state,
            account.as_ref(),
            settings,
            agora::services::settings::ImageChanges {
                uploads: vec![agora::services::settings::ImageUpload {
                    image: agora::settings::SiteImage::Favicon,
                    bytes: png,
                }],
                remove: Vec::new(),
            },
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e:?}"));

        let exported = ruled
            .store()
            .export()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exported.version, agora_store::archive::VERSION);
        let first = archive::to_json(&exported).unwrap_or_else(|e| panic!("{e}"));
        let site = exported
            .site
            .as_ref()
            .unwrap_or_else(|| panic!("no site in the export"));
        assert_eq!(site.settings["name"], "Carried Forum");
        assert_eq!(site.files.len(), 1);
        let sub = &exported.areas[0].subtopics[0];
        assert_eq!(sub.who_starts, agora_store::archive::WhoStarts::Staff);
        assert!(!sub.tags_required);
        assert_eq!(sub.allowed_tags, ["network"]);
        assert!(exported.areas[0].subtopics[1].archived_at.is_some());

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
        // As a running node does when the change counter moves (or at start-up).
        agora::services::settings::refresh(&copy.state)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(copy.state.site().settings.name, "Carried Forum");
        assert!(
            copy.ok("/about")
                .await
                .text()
                .contains("<strong>us</strong>")
        );
        let favicon = copy
            .state
            .site()
            .image_url(agora::settings::SiteImage::Favicon)
            .unwrap_or_else(|| panic!("no favicon in the copy"));
        assert_eq!(
            copy.ok(&favicon).await.header("content-type"),
            Some("image/png")
        );
        // The original demo (version 1) and this app's own still load as they were.
        assert_eq!(app.ok("/").await.status, StatusCode::OK);

        // An allowed tag the archive does not have is refused by path.
        let mut bad = archive::parse(&first).unwrap_or_else(|e| panic!("{e}"));
        bad.areas[0].subtopics[0].allowed_tags = vec!["no-such-tag".into()];
        let err = bad.validate().err().unwrap_or_else(|| panic!("accepted"));
        assert!(
            err.to_string()
                .contains("areas[0].subtopics[0].allowed_tags[0]"),
            "{err}"
        );
    }
);
