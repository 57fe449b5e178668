//! `agora import stackexchange`: the real History Meta dump (../shared/data/, read-only) and
//! small hand-written dumps in the same shape (tests/fixtures/stackexchange/) for what it lacks
//! (PostHistory, Votes, Tags, PostLinks, the `|a|b|` tag form). On both backends.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use agora::services::stackexchange::{self, ImportOptions, ImportReport};
use agora_store::archive::Thread;
use agora_store::{Archive, ThreadId};

use crate::util::{TestApp, both};

const SITE: &str = "https://history.meta.stackexchange.com";
const HOST: &str = "history.meta.stackexchange.com";
const FIXTURE_SITE: &str = "https://git.stackexchange.com";

fn real_dump() -> PathBuf {
    let dir =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/stackexchange-history-meta");
    assert!(
        dir.join("Posts.xml").is_file(),
        "the real dump is missing: {}",
        dir.display()
    );
    dir
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/stackexchange")
}

fn options(site: &str) -> ImportOptions {
    ImportOptions {
        site_url: Some(site.to_string()),
        ..ImportOptions::default()
    }
}

async fn import(app: &TestApp, dir: &Path, site: &str) -> ImportReport {
    stackexchange::import_dir(app.store(), dir, &options(site))
        .await
        .unwrap_or_else(|e| panic!("import {}: {e:#}", dir.display()))
}

async fn export(app: &TestApp) -> Archive {
    app.store()
        .export()
        .await
        .unwrap_or_else(|e| panic!("export: {e}"))
}

/// The imported threads by the Stack Exchange id of their question.
async fn threads_by_source(app: &TestApp, host: &str) -> HashMap<i64, ThreadId> {
    stackexchange::thread_ids(app.store(), host)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"))
}

fn thread(archive: &Archive, id: ThreadId) -> &Thread {
    archive
        .threads
        .iter()
        .find(|t| t.id == id.0)
        .unwrap_or_else(|| panic!("no thread {id}"))
}

/// A copy of a dump in a temporary folder, to change.
fn copy_of(dir: &Path, name: &str) -> (tempfile::TempDir, PathBuf) {
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let to = temp.path().join(name);
    std::fs::create_dir(&to).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        if entry.path().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    (temp, to)
}

/// Adds rows at the end of one of a dump's files.
fn append_rows(file: &Path, rows: &[&str]) {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{e}"));
    let at = text
        .rfind("</")
        .unwrap_or_else(|| panic!("{} has no root end", file.display()));
    let mut out = text[..at].to_string();
    for row in rows {
        out.push_str("  ");
        out.push_str(row);
        out.push('\n');
    }
    out.push_str(&text[at..]);
    std::fs::write(file, out).unwrap_or_else(|e| panic!("{e}"));
}

both! {
    async fn the_real_dump_imports_with_attribution_and_is_found(b: Backend) {
        let app = TestApp::empty(b).await;
        let started = std::time::Instant::now();
        let report = import(&app, &real_dump(), SITE).await;
        eprintln!("{b:?}: imported the real dump in {:?}: {report:?}", started.elapsed());
        assert_eq!(report.threads, 556, "{report:?}");
        assert_eq!(report.posts, 556 + 1095, "{report:?}");
        assert_eq!(report.comments, 3454, "every comment is kept");
        assert_eq!(report.other_posts, 6, "the tag wikis are not threads");
        assert_eq!(report.orphans, 0);
        assert_eq!(report.source, HOST);
        assert_eq!(report.subtopic, "imported/history-meta-stack-exchange");

        let archive = export(&app).await;
        assert_eq!(archive.threads.len(), 556);
        let replies: usize = archive.threads.iter().map(|t| t.posts.len() - 1).sum();
        assert_eq!(replies, 1095);
        let accepted = archive.threads.iter().filter(|t| t.accepted_post_id.is_some()).count();
        assert_eq!(accepted, 181);
        assert!(
            archive.users.iter().all(|u| u.account.is_none()),
            "imported people have no email, no password"
        );
        assert_eq!(archive.users.len() as u64, report.users);
        let community = archive.users.iter().find(|u| u.display_name == "Community");
        assert!(community.is_some(), "Id=-1, the Community account, owns posts here");
        assert!(app.store().check().await.unwrap_or_else(|e| panic!("{e}")).is_empty(),
            "counters and rows agree after an import");

        let by_source = threads_by_source(&app, HOST).await;
        assert_eq!(by_source.len(), 556);
        // A known question: its title, tags, views and answers in date order.
        let first = thread(&archive, by_source[&1]);
        assert_eq!(first.title, "Should we include sources in answers?");
        assert_eq!(first.tags, ["answers", "discussion"], "in slug order");
        assert_eq!(first.views, 223);
        assert_eq!(first.posts.len(), 7);
        assert!(first.posts.windows(2).all(|w| w[0].created_at <= w[1].created_at));
        assert!(first.posts[0].body.starts_with("As a historian I know that while information"));
        // An answer with a code block, links (one with parentheses) and a numbered list that
        // starts at 2.
        let fashion = thread(&archive, by_source[&3547]);
        let answer = fashion
            .posts
            .iter()
            .find(|p| p.body.starts_with("As long as you document your research"))
            .unwrap_or_else(|| panic!("answer 3548 is missing"));
        assert!(answer.body.contains("```\n\"splashware\" (ceramic,pottery)\n```"), "{}", answer.body);
        assert!(answer.body.contains("[preliminary research test](https://history.meta.stackexchange.com/a/785/24858)"));
        assert!(answer.body.contains("\n2. On a modern brooch"));
        assert!(answer.body.contains("> \"The body of a fibula"));

        // The thread page credits the original: question link, author, licence.
        let (_, page) = app.follow(&format!("/thread/{}", by_source[&1])).await;
        let html = page.text();
        assert!(html.contains("href=\"https://history.meta.stackexchange.com/q/1\""), "{html}");
        assert!(html.contains("History Meta Stack Exchange"));
        assert!(html.contains(">Sorcerer Blob</a>"), "the asker is named");
        assert!(html.contains("CC BY-SA 3.0"));
        assert!(html.contains("href=\"https://history.meta.stackexchange.com/a/2\""), "each answer too");
        assert!(html.contains("<strong>Comments</strong>"));
        let (_, page) = app.follow(&format!("/thread/{}", by_source[&3547])).await;
        assert!(page.text().contains("href=\"https://en.wikipedia.org/wiki/Fibula_(brooch)\""));
        // Images stay at the site's image host (answer 31 shows one): linked, not uploaded.
        let scope = thread(&archive, by_source[&28]);
        assert!(
            scope.posts.iter().any(|p| p.body.contains("![image](https://i.stack.imgur.com/laD01.gif)")),
            "the image link is kept as it was"
        );
        assert!(archive.uploads.is_empty(), "nothing is copied in as an upload");
        assert!(page.text().contains("<pre tabindex=\"0\"><code>\"splashware\" (ceramic,pottery)"));

        // Found by search, the search index following the change log.
        let found = app.search_titles("include sources answers").await;
        assert!(
            found.iter().any(|t| t == "Should we include sources in answers?"),
            "{found:?}"
        );
        let found = app.search_titles("splashware").await;
        assert!(
            found.iter().any(|t| t == &fashion.title),
            "answers are searchable: {found:?}"
        );

        // Running it again adds nothing.
        let again = import(&app, &real_dump(), SITE).await;
        assert_eq!((again.threads, again.posts, again.users, again.tags), (0, 0, 0, 0), "{again:?}");
        assert_eq!(again.already, 556 + 1095);
        let after = export(&app).await;
        assert_eq!(after.threads.len(), 556);
        assert_eq!(after.users.len(), archive.users.len());
    }
}

both! {
    async fn history_votes_tags_links_and_the_new_tag_form(b: Backend) {
        let app = TestApp::demo(b).await;
        let before = export(&app).await;
        let report = import(&app, &fixture(), FIXTURE_SITE).await;
        assert_eq!((report.threads, report.posts, report.orphans), (3, 7, 1), "{report:?}");
        assert_eq!(report.revisions, 2);
        assert_eq!(report.users, 5, "Lurker wrote nothing and gets no account");
        for file in ["Comments.xml", "PostHistory.xml", "Votes.xml", "PostLinks.xml", "Tags.xml"] {
            assert!(report.files.iter().any(|f| f == file), "{file}: {:?}", report.files);
        }
        let archive = export(&app).await;
        assert_eq!(archive.threads.len(), before.threads.len() + 3, "added beside the demo");
        let by_source = threads_by_source(&app, "git.stackexchange.com").await;
        let undo = thread(&archive, by_source[&10]);
        let rename = thread(&archive, by_source[&13]);
        let revert = thread(&archive, by_source[&15]);

        // `|a|b|` and `<a><b>` tags; Tags.xml's excerpt describes git.
        assert_eq!(undo.tags, ["git", "undo"]);
        assert_eq!(rename.tags, ["branches", "git"]);
        let git = archive.tags.iter().find(|t| t.slug == "git");
        assert_eq!(
            git.map(|t| t.description.as_str()),
            Some("Git is a distributed version control system.")
        );
        assert!(!archive.tags.iter().any(|t| t.slug == "unused"));

        // Votes.xml: up-votes are boosts, counts only (nobody is named as a booster).
        let (row, posts) = app
            .store()
            .thread_with_posts(by_source[&10], 0, 50)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("thread"));
        assert_eq!(row.summary.boost_count, 3);
        assert!(undo.posts.iter().all(|p| p.boosts.is_empty()));
        let boosts: Vec<i64> = posts.iter().map(|p| p.boost_count).collect();
        assert_eq!(boosts, [3, 0, 4]);
        // The accepted answer, and its code block with its language.
        let accepted = undo.accepted_post_id.unwrap_or_else(|| panic!("accepted"));
        let answer = undo.posts.iter().find(|p| p.id == accepted).unwrap_or_else(|| panic!("answer"));
        assert!(answer.body.starts_with("Use a soft reset"));
        assert!(answer.body.contains("```sh\ngit reset --soft HEAD~1\n```"));
        assert!(answer.body.contains("[the git-reset manual](https://git-scm.com/docs/git-reset)"));
        assert!(answer.body.contains("![image](https://i.stack.imgur.com/abc.png)"));
        assert!(answer.body.contains("- This worked, thanks! `git log` shows it gone \\<3 — Ada Lovelace, 2024-03-01"));

        // PostHistory.xml: the author's Markdown, and the edit as a revision with its reason.
        let question = &rename.posts[0];
        assert_eq!(question.revisions.len(), 2);
        assert!(question.revisions[0].body.starts_with("Renaming a branch locally is easy: `git branch -m old new`. But it is pushed."));
        assert_eq!(question.revisions[1].reason.as_deref(), Some("added the remote part"));
        assert_eq!(question.revisions[1].author, "Ada_Lovelace");
        assert_eq!(question.revisions[0].author, "Ben");
        assert!(question.body.starts_with("Renaming a branch locally is easy: `git branch -m old new`.\n\nBut it is already on the remote."));
        assert_eq!(question.body, question.revisions[1].body);
        assert!(question.body.contains("- \\# Have you tried the web page? — user555, 2024-04-10"));
        let (_, page) = app.follow(&format!("/posts/{}/revisions", question.id)).await;
        assert!(page.text().contains("added the remote part"), "{}", page.text());

        // PostLinks.xml: the duplicate points at the imported thread, and so does the link.
        let body = &revert.posts[0].body;
        assert!(
            body.starts_with(&format!(
                "**Duplicate of:** [How do I undo the last commit without losing my changes\\?](/thread/{})",
                by_source[&10]
            )),
            "{body}"
        );
        assert!(body.contains(&format!("**Linked:** [Can I rename a branch that is already pushed\\?](/thread/{})", by_source[&13])));
        // A deleted account (`user999`) is named, not linked; a reserved name is made safe.
        assert!(body.contains("by user999, 2024-05-01"));
        let authors: Vec<&str> = archive.users.iter().map(|u| u.username.as_str()).collect();
        assert!(authors.contains(&"Admin-se104"), "{authors:?}");
        assert!(authors.contains(&"Chloé_Dupont"), "{authors:?}");
        let (_, page) = app.follow(&format!("/thread/{}", by_source[&15])).await;
        assert!(page.text().contains(&format!("href=\"/thread/{}\"", by_source[&10])));
        assert!(app.store().check().await.unwrap_or_else(|e| panic!("{e}")).is_empty());
    }
}

both! {
    async fn a_newer_dump_adds_only_what_is_new(b: Backend) {
        let app = TestApp::empty(b).await;
        let (_temp, dir) = copy_of(&fixture(), "git.stackexchange.com");
        // The folder's name is the site when none is given.
        let first = stackexchange::import_dir(app.store(), &dir, &ImportOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((first.threads, first.posts), (3, 7));
        assert_eq!(first.source, "git.stackexchange.com");
        assert_eq!(first.subtopic, "imported/git-stack-exchange");
        let again = stackexchange::import_dir(app.store(), &dir, &ImportOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((again.threads, again.posts, again.users), (0, 0, 0), "{again:?}");

        // A later dump: a new answer to an old question (now its accepted one), a new
        // question with an answer, by someone who had written nothing before.
        append_rows(&dir.join("Posts.xml"), &[
            r#"<row Id="19" PostTypeId="2" ParentId="13" CreationDate="2024-06-01T09:00:00.000" Score="4" Body="&lt;p&gt;Use &lt;code&gt;git push origin -u new&lt;/code&gt; then delete &lt;code&gt;old&lt;/code&gt;.&lt;/p&gt;" OwnerUserId="105" LastActivityDate="2024-06-01T09:00:00.000" CommentCount="0" />"#,
            r#"<row Id="20" PostTypeId="1" AcceptedAnswerId="21" CreationDate="2024-06-02T09:00:00.000" Score="1" ViewCount="5" Body="&lt;p&gt;Where does git keep stashes?&lt;/p&gt;" OwnerUserId="105" LastActivityDate="2024-06-02T09:00:00.000" Title="Where are stashes stored?" Tags="|git|stash|" AnswerCount="1" CommentCount="0" />"#,
            r#"<row Id="21" PostTypeId="2" ParentId="20" CreationDate="2024-06-02T10:00:00.000" Score="2" Body="&lt;p&gt;In &lt;code&gt;refs/stash&lt;/code&gt;.&lt;/p&gt;" OwnerUserId="101" LastActivityDate="2024-06-02T10:00:00.000" CommentCount="0" />"#,
        ]);
        let newer = stackexchange::import_dir(app.store(), &dir, &ImportOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            (newer.threads, newer.posts, newer.appended, newer.users, newer.tags),
            (1, 3, 1, 1, 1),
            "{newer:?}"
        );
        let by_source = threads_by_source(&app, "git.stackexchange.com").await;
        assert_eq!(by_source.len(), 4);
        let archive = export(&app).await;
        let rename = thread(&archive, by_source[&13]);
        assert_eq!(rename.posts.len(), 4, "the new answer is appended");
        assert!(rename.posts[3].body.starts_with("Use `git push origin -u new`"));
        assert_eq!(rename.posts[3].author, "Lurker");
        let stash = thread(&archive, by_source[&20]);
        assert_eq!(stash.tags, ["git", "stash"]);
        assert_eq!(stash.accepted_post_id, Some(stash.posts[1].id));
        let row = app
            .store()
            .thread(by_source[&13])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("thread"));
        assert_eq!(row.summary.reply_count, 3);
        assert_eq!(row.last_position, 3);
        assert!(app.store().check().await.unwrap_or_else(|e| panic!("{e}")).is_empty());
        // The appended answer is searchable.
        let found = app.search_titles("push origin").await;
        assert!(found.iter().any(|t| t == &rename.title), "{found:?}");

        let last = stackexchange::import_dir(app.store(), &dir, &ImportOptions::default())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((last.threads, last.posts), (0, 0));
    }
}

both! {
    async fn a_malformed_dump_names_file_line_and_field_and_writes_nothing(b: Backend) {
        let app = TestApp::empty(b).await;
        let (_temp, dir) = copy_of(&fixture(), "broken");
        // The last question's date (line 10 of Posts.xml) is not a date.
        let posts = dir.join("Posts.xml");
        let text = std::fs::read_to_string(&posts).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&posts, text.replace("2024-05-01T07:00:00.000", "1 May 2024"))
            .unwrap_or_else(|e| panic!("{e}"));
        let err = stackexchange::import_dir(app.store(), &dir, &options(FIXTURE_SITE))
            .await
            .err()
            .unwrap_or_else(|| panic!("a bad date must be refused"));
        let message = format!("{err:#}");
        assert!(
            message.contains("Posts.xml, line 10, CreationDate: \"1 May 2024\" is not a date"),
            "{message}"
        );
        let dump_error = err.downcast_ref::<stackexchange::DumpError>();
        assert_eq!(dump_error.map(|e| (e.line, e.field.as_deref())), Some((10, Some("CreationDate"))));
        let archive = export(&app).await;
        assert!(archive.threads.is_empty() && archive.users.is_empty(), "nothing half-imported");

        // Broken XML in a later file: also found before anything is written.
        std::fs::write(&posts, text).unwrap_or_else(|e| panic!("{e}"));
        let comments = dir.join("Comments.xml");
        let text = std::fs::read_to_string(&comments).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&comments, text.replace("UserId=\"101\" />", "UserId=\"101\" >"))
            .unwrap_or_else(|e| panic!("{e}"));
        let message = format!(
            "{:#}",
            stackexchange::import_dir(app.store(), &dir, &options(FIXTURE_SITE))
                .await
                .err()
                .unwrap_or_else(|| panic!("broken XML must be refused"))
        );
        assert!(message.starts_with("Comments.xml, line "), "{message}");
        assert!(message.contains("not well-formed XML") || message.contains("ends inside"), "{message}");
        assert!(export(&app).await.threads.is_empty());

        // No site given and a folder name that is not one: refused, saying what to give.
        let message = format!(
            "{:#}",
            stackexchange::import_dir(app.store(), &dir, &ImportOptions::default())
                .await
                .err()
                .unwrap_or_else(|| panic!("an unknown site must be refused"))
        );
        assert!(message.contains("--site-url"), "{message}");
        // Not a dump at all.
        let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let message = format!(
            "{:#}",
            stackexchange::import_dir(app.store(), empty.path(), &options(FIXTURE_SITE))
                .await
                .err()
                .unwrap_or_else(|| panic!("an empty folder must be refused"))
        );
        assert!(message.contains("has no Posts.xml"), "{message}");
    }
}

both! {
    async fn an_imported_forum_moves_through_the_archive_whole(b: Backend) {
        let app = TestApp::empty(b).await;
        import(&app, &fixture(), FIXTURE_SITE).await;
        let archive = export(&app).await;
        let imported = archive.imported.clone().unwrap_or_else(|| panic!("imports are carried"));
        assert_eq!((imported.users.len(), imported.threads.len(), imported.posts.len()), (5, 3, 7));
        let counted: i64 = imported.boosts.iter().map(|b| b.count).sum();
        assert_eq!(counted, 3 + 4, "the up-votes of 10 and 12 (with Votes.xml, scores are not used)");

        // Into another forum (what `agora db copy` does): counts and source ids come along.
        let copy = TestApp::empty(b).await;
        agora::services::archive::import(copy.store(), archive.clone(), None)
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(export(&copy).await, archive, "export → import → export is the same");
        let by_source = threads_by_source(&copy, "git.stackexchange.com").await;
        // Images stay where the site kept them: linked at their external address, never
        // copied in as uploads, in the archive and on the copy's page.
        assert!(archive.uploads.is_empty(), "{:?}", archive.uploads);
        let undo = thread(&archive, by_source[&10]);
        assert!(
            undo.posts.iter().any(|p| p.body.contains("![image](https://i.stack.imgur.com/abc.png)")),
            "the image link is kept as it was"
        );
        let (_, page) = copy.follow(&format!("/thread/{}", by_source[&10])).await;
        assert!(
            page.text().contains("src=\"https://i.stack.imgur.com/abc.png\""),
            "{}",
            page.text()
        );
        assert!(!page.text().contains("/uploads/"), "{}", page.text());
        let row = copy
            .store()
            .thread(by_source[&10])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("thread"));
        assert_eq!(row.summary.boost_count, 3);
        assert!(copy.store().check().await.unwrap_or_else(|e| panic!("{e}")).is_empty());
        let again = import(&copy, &fixture(), FIXTURE_SITE).await;
        assert_eq!((again.threads, again.posts, again.users), (0, 0, 0), "{again:?}");
    }
}

#[test]
fn the_command_line_imports_a_dump_into_a_subtopic_it_names() {
    let temp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let data = temp.path().join("data");
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
            .arg("import")
            .arg("stackexchange")
            .arg(fixture())
            .args([
                "--site-url",
                FIXTURE_SITE,
                "--subtopic",
                "community/git-answers",
            ])
            .arg("--data")
            .arg(&data)
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, err) = run();
    assert!(ok, "{err}");
    assert!(
        err.contains("imported 3 threads, 7 posts") && err.contains("into community/git-answers"),
        "{err}"
    );
    let (ok, err) = run();
    assert!(
        ok && err.contains("imported 0 threads, 0 posts")
            && err.contains("7 posts were here already"),
        "{err}"
    );
}
