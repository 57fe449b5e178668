//! Export and import: a lossless, byte-stable round trip (uploads' bytes in a directory beside
//! the file), and bad archives rejected whole.

use std::path::Path;
use std::sync::Arc;

use agora::services::archive;
use axum::http::StatusCode;

use crate::util::{TestApp, attrs, both, demo_archive, reply_as, start_question};

/// Gives the forum uploads of every kind: an image (with thumbnails) and a file in a new
/// question, a picture for its author, and an image shown in a reply and then removed (its
/// bytes gone, the reply saying so). Returns the question's id and the image's token.
async fn with_uploads(app: &TestApp) -> (i64, String) {
    use agora::services::uploads::{self, IncomingFile};
    let ann = app.person("ann", agora_store::Role::Member).await;
    let account = app
        .store()
        .account_by_name(&ann.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account"));
    let file = |name: &str, bytes: Vec<u8>| IncomingFile {
        name: name.into(),
        bytes: bytes.into(),
    };
    let shot = uploads::upload(
        &app.state,
        Some(&account),
        file("screenshot.jpg", crate::uploads::photo(2000, 1000)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let log = uploads::upload(
        &app.state,
        Some(&account),
        file(
            "crash.log",
            b"Thread 0 Crashed:\n0 libsystem_kernel.dylib\n".to_vec(),
        ),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    uploads::set_avatar(
        &app.state,
        Some(&account),
        file("me.png", crate::uploads::png(300, 300)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let thread = start_question(
        app,
        &ann,
        "Why does the app crash when the dialog opens?",
        &format!(
            "The dialog:\n\n{}\n\nThe log: {}",
            shot.markdown, log.markdown
        ),
    )
    .await;
    let gone = uploads::upload(
        &app.state,
        Some(&account),
        file("wrong.png", crate::uploads::png(120, 80)),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    reply_as(
        app,
        &ann,
        thread,
        &format!("Oops, not this one: {}", gone.markdown),
    )
    .await;
    uploads::remove(&app.state, Some(&account), &gone.upload.token)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    (thread, shot.upload.token)
}

/// Every file under `dir` (relative path, bytes), sorted.
fn files_under(dir: &Path) -> Vec<(String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let name = path
                    .strip_prefix(root)
                    .unwrap_or_else(|e| panic!("{e}"))
                    .to_string_lossy()
                    .into_owned();
                out.push((name, std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"))));
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

both!(
    async fn export_import_export_is_byte_identical(b: Backend) {
        let app = TestApp::demo(b).await;
        let (thread, token) = with_uploads(&app).await;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (first_file, second_file) =
            (dir.path().join("forum.json"), dir.path().join("again.json"));
        archive::export_file(app.store(), &app.state.blobs, &first_file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let first = std::fs::read_to_string(&first_file).unwrap_or_else(|e| panic!("{e}"));
        let copy = TestApp::empty(b).await;
        let stats = archive::import_file(copy.store(), &copy.state.blobs, &first_file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(stats.uploads, 4);
        archive::export_file(copy.store(), &copy.state.blobs, &second_file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let second = std::fs::read_to_string(&second_file).unwrap_or_else(|e| panic!("{e}"));
        assert!(first == second, "the second export differs from the first");
        // The uploads' bytes beside each file: the same files, laid out as the store does.
        let files = files_under(&dir.path().join("forum.uploads"));
        assert!(
            files == files_under(&dir.path().join("again.uploads")),
            "the files differ"
        );
        assert!(files == files_under(&copy.state.config.data_dir.join("uploads")));
        let names: Vec<&str> = files.iter().map(|(name, _)| name.as_str()).collect();
        assert!(names.iter().any(|n| n.starts_with("files/")), "{names:?}");
        assert!(
            names
                .iter()
                .any(|n| n.starts_with("thumbs/") && n.contains("/800x400.")),
            "{names:?}"
        );
        // And the copy serves the same pages.
        let api_thread = format!("/api/v1/threads/{thread}");
        for path in [
            "/topics/app-system-services/networking",
            "/api/v1/threads/6",
            "/posts/1/revisions",
            &api_thread,
        ] {
            assert_eq!(app.ok(path).await.body, copy.ok(path).await.body, "{path}");
        }
        // The image, its thumbnail and the picture come from the copy's store; the removed
        // image is still removed.
        let (_, page) = copy.follow(&format!("/thread/{thread}")).await;
        let html = page.html();
        let src = attrs(&html, ".post-body a.upload-image img", "src").concat();
        assert!(
            src.contains(&format!("/uploads/{token}/t/800x400.")),
            "{src}"
        );
        assert_eq!(copy.ok(&src).await.body, app.ok(&src).await.body);
        let href = attrs(&html, ".post-body a.upload-image", "href").concat();
        assert_eq!(copy.ok(&href).await.body, app.ok(&href).await.body);
        assert!(page.text().contains("image removed"), "{}", page.text());
        let exported = archive::parse(&first).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(exported.version, agora_store::archive::VERSION);
        assert_eq!(exported.uploads.len(), 4);
        assert_eq!(
            exported
                .uploads
                .iter()
                .filter(|u| u.removed.is_some())
                .count(),
            1
        );
        let ann = exported
            .users
            .iter()
            .find(|u| u.username == "ann")
            .unwrap_or_else(|| panic!("no ann"));
        let account = copy
            .store()
            .account_by_name("ann")
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no ann in the copy"));
        let avatar = copy
            .store()
            .avatar_of(account.brief.id)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the copy lost ann's picture"));
        assert_eq!(ann.avatar.as_deref(), Some(avatar.token.as_str()));
        for size in [80, 160] {
            let picture = format!("/avatars/{}/{size}", avatar.token);
            assert_eq!(
                copy.ok(&picture).await.body,
                app.ok(&picture).await.body,
                "{picture}"
            );
        }

        // The export holds what the demo held.
        let original = demo_archive();
        assert_eq!(exported.threads.len(), original.threads.len() + 1);
        assert_eq!(exported.users.len(), original.users.len() + 1);
        let posts =
            |a: &agora_store::Archive| a.threads.iter().map(|t| t.posts.len()).sum::<usize>();
        assert_eq!(posts(&exported), posts(&original) + 2);
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
    /// An archive whose directory lacks a file one of its uploads needs (or holds it changed)
    /// is refused naming the upload and the path, and nothing is written: no rows, no bytes.
    async fn a_missing_upload_file_is_refused_by_name_and_changes_nothing(b: Backend) {
        let app = TestApp::demo(b).await;
        let (_, token) = with_uploads(&app).await;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("forum.json");
        archive::export_file(app.store(), &app.state.blobs, &file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        let exported =
            archive::parse(&std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
        let shot = exported
            .uploads
            .iter()
            .find(|u| u.token == token)
            .unwrap_or_else(|| panic!("no {token}"));
        let files = dir.path().join("forum.uploads");
        let whole = files.join(agora::blobs::file_key(&shot.sha));
        let thumb = files.join(agora::blobs::thumb_key(&shot.sha, &shot.thumbnails[0]));
        let bytes = std::fs::read(&whole).unwrap_or_else(|e| panic!("{e}"));
        let copy = TestApp::empty(b).await;
        let refused = async |expected: &str, path: &Path| {
            let err = archive::import_file(copy.store(), &copy.state.blobs, &file)
                .await
                .err()
                .map(|e| format!("{e:#}"))
                .unwrap_or_else(|| panic!("imported without {}", path.display()));
            assert!(err.contains(&token), "{err}");
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(expected), "{err}");
            assert!(
                copy.store().is_empty().await.unwrap_or(false),
                "rows were written"
            );
            assert!(
                files_under(&copy.state.config.data_dir.join("uploads")).is_empty(),
                "bytes were copied"
            );
        };
        std::fs::remove_file(&whole).unwrap_or_else(|e| panic!("{e}"));
        refused("the file is missing", &whole).await;
        std::fs::write(&whole, b"not the screenshot").unwrap_or_else(|e| panic!("{e}"));
        refused("does not match its sha", &whole).await;
        std::fs::write(&whole, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let thumb_bytes = std::fs::read(&thumb).unwrap_or_else(|e| panic!("{e}"));
        std::fs::remove_file(&thumb).unwrap_or_else(|e| panic!("{e}"));
        refused("the thumbnail is missing", &thumb).await;
        // Whole again, it imports.
        std::fs::write(&thumb, thumb_bytes).unwrap_or_else(|e| panic!("{e}"));
        archive::import_file(copy.store(), &copy.state.blobs, &file)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert!(!copy.store().is_empty().await.unwrap_or(true));
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
