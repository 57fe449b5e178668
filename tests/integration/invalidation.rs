//! Targeted cache invalidation: a write drops the cached pages that show what it changed and
//! keeps every other one, on this node and (on PostgreSQL) on the others; the pages it touched
//! show it at once.

use std::time::{Duration, Instant};

use agora::app::AppState;
use agora::http_cache::HTML;
use agora_store::Role;
use serde_json::Value;

use crate::util::{Backend, TestApp, act, both, postgres_url, reply_as};

/// The pages one thread appears on, as paths the router serves.
struct Places {
    thread: String,
    subtopic: String,
    tags: Vec<String>,
    /// Its JSON twin (cached too, under its own key).
    api: String,
}

impl Places {
    async fn of(app: &TestApp, id: i64) -> Places {
        let json = app.ok(&format!("/api/v1/threads/{id}")).await.json();
        let thread = &json["thread"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_string();
        Places {
            thread: text(&thread["url"]),
            subtopic: text(&thread["subtopic"]["url"]),
            tags: thread["tags"]
                .as_array()
                .map(|tags| tags.iter().map(|t| text(&t["url"])).collect())
                .unwrap_or_default(),
            api: format!("/api/v1/threads/{id}"),
        }
    }

    fn pages(&self) -> Vec<(&'static str, String)> {
        let mut pages = vec![
            (HTML, self.thread.clone()),
            (HTML, self.subtopic.clone()),
            ("application/json", self.api.clone()),
        ];
        pages.extend(self.tags.iter().map(|t| (HTML, t.clone())));
        pages
    }
}

/// A thread of another subtopic sharing no tag with `places`' thread.
async fn unrelated(app: &TestApp, places: &Places) -> Places {
    for id in 1..=21 {
        let candidate = Places::of(app, id).await;
        if candidate.subtopic != places.subtopic
            && candidate.tags.iter().all(|t| !places.tags.contains(t))
        {
            return candidate;
        }
    }
    panic!("the demo has no thread apart from {}", places.thread);
}

/// True when `state`'s cache holds the page fresh (the API is keyed without its prefix).
fn holds(state: &AppState, (kind, path): &(&'static str, String)) -> bool {
    state
        .cache
        .holds(kind, path.strip_prefix("/api/v1").unwrap_or(path))
}

async fn warm(app: &TestApp, pages: &[(&'static str, String)]) {
    for page in pages {
        app.ok(&page.1).await;
        assert!(holds(&app.state, page), "{} was not cached", page.1);
    }
}

both!(
    /// A reply drops its thread's page, its subtopic's and tags' listings, the home page and
    /// the JSON of its thread; another thread's pages and listings stay cached. A view-count
    /// flush drops nothing.
    async fn a_reply_drops_what_it_touched_and_keeps_the_rest(b: Backend) {
        let app = TestApp::demo(b).await;
        let writer = app.person("wren", Role::Member).await;
        let mine = Places::of(&app, 7).await;
        assert!(!mine.tags.is_empty(), "thread 7 has tags");
        let other = unrelated(&app, &mine).await;
        let mut touched = mine.pages();
        touched.push((HTML, "/".to_string()));
        let untouched = other.pages();
        warm(&app, &touched).await;
        warm(&app, &untouched).await;

        app.state
            .flush_views()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        for page in touched.iter().chain(&untouched) {
            assert!(holds(&app.state, page), "a view flush dropped {}", page.1);
        }

        reply_as(
            &app,
            &writer,
            7,
            "A reply that every touched page shows at once.",
        )
        .await;
        for page in &touched {
            assert!(!holds(&app.state, page), "{} is still cached", page.1);
        }
        for page in &untouched {
            assert!(holds(&app.state, page), "{} was dropped", page.1);
        }
        let thread = app.ok(&mine.thread).await.text();
        assert!(
            thread.contains("A reply that every touched page shows at once."),
            "{thread}"
        );

        // A new thread elsewhere leaves other threads' pages cached too (their related-threads
        // box ages with them instead).
        assert!(
            !other.pages().iter().any(|p| p.1.contains("networking")),
            "the unrelated thread is in Networking"
        );
        crate::util::start_question(
            &app,
            &writer,
            "A new question in Networking about sockets",
            "It should not drop thread pages elsewhere in the forum.",
        )
        .await;
        for page in &untouched {
            assert!(holds(&app.state, page), "a new thread dropped {}", page.1);
        }
    }
);

both!(
    /// Moving a thread and changing its tags: the listings it leaves drop it at once, as the
    /// ones it joins show it.
    async fn a_moved_and_retagged_thread_leaves_its_old_listings_at_once(b: Backend) {
        let app = TestApp::demo(b).await;
        let moderator = app.person("mona", Role::Moderator).await;
        let mine = Places::of(&app, 7).await;
        let other = unrelated(&app, &mine).await;
        let title = app.ok(&mine.api).await.json()["thread"]["title"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut pages = mine.pages();
        pages.extend(other.pages());
        warm(&app, &pages).await;
        for listing in [&mine.subtopic, &mine.tags[0]] {
            assert!(app.ok(listing).await.text().contains(&title), "{listing}");
        }

        // Into the other thread's subtopic.
        let to = other.subtopic.trim_start_matches("/topics/");
        act(&app, &moderator, "/thread/7/move", &[("subtopic", to)]).await;
        assert!(
            !app.ok(&mine.subtopic).await.text().contains(&title),
            "the old subtopic still lists it"
        );
        assert!(
            app.ok(&other.subtopic).await.text().contains(&title),
            "the new subtopic does not list it"
        );

        // Its tags replaced by the other thread's first tag.
        let opening = app.ok(&mine.api).await.json()["posts"][0]["id"]
            .as_i64()
            .unwrap_or_default();
        let new_tag = other.tags[0].trim_start_matches("/tags/").to_string();
        let edit = app
            .get_as(&format!("/posts/{opening}/edit"), &moderator)
            .await;
        let kept_body = crate::util::texts(&edit.html(), "textarea[name=body]")
            .first()
            .cloned()
            .unwrap_or_default();
        assert!(!kept_body.is_empty(), "the edit form holds the post");
        act(
            &app,
            &moderator,
            &format!("/posts/{opening}/edit"),
            &[
                ("title", &title),
                ("tags", &new_tag),
                ("body", &kept_body),
                ("reason", "retagged"),
            ],
        )
        .await;
        assert!(
            !app.ok(&mine.tags[0]).await.text().contains(&title),
            "the old tag still lists it"
        );
        assert!(
            app.ok(&other.tags[0]).await.text().contains(&title),
            "the new tag does not list it"
        );
    }
);

/// Two nodes on one PostgreSQL database: a reply on node A drops that thread's cached page on
/// node B within a second (B hears what the write touched), and nothing else there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_nodes_reply_drops_only_that_threads_pages() {
    if postgres_url().is_none() {
        return;
    }
    let a = TestApp::demo(Backend::Postgres).await;
    let writer = a.person("wren", Role::Member).await;
    let folder = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut config = crate::util::config_for(folder.path());
    config.database_url = a.state.config.database_url.clone();
    let b_state = AppState::open(config)
        .await
        .unwrap_or_else(|e| panic!("{e:#}"));
    let listener = b_state
        .store
        .follow_other_nodes()
        .unwrap_or_else(|| panic!("PostgreSQL follows other nodes"));
    let b = TestApp::from_parts(b_state.clone(), agora::router::build(b_state));

    let mine = Places::of(&b, 7).await;
    let other = unrelated(&b, &mine).await;
    // The listener announces a (re)connect by dropping everything: let that pass first.
    tokio::time::sleep(Duration::from_millis(300)).await;
    warm(&b, &mine.pages()).await;
    warm(&b, &other.pages()).await;

    reply_as(&a, &writer, 7, "Written on node A.").await;
    let start = Instant::now();
    let thread = (HTML, mine.thread.clone());
    while holds(&b.state, &thread) {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "node B still serves its cached page of the thread a second after the reply"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for page in mine.pages() {
        assert!(!holds(&b.state, &page), "node B still holds {}", page.1);
    }
    for page in other.pages() {
        assert!(holds(&b.state, &page), "node B dropped {}", page.1);
    }
    assert!(
        b.ok(&mine.thread)
            .await
            .text()
            .contains("Written on node A."),
        "node B's page does not show the reply"
    );
    listener.abort();
}

both!(
    /// A signed-in member's thread page is the shared cached page with their own parts spliced
    /// in: rendered once for every reader, it shows each member their own buttons (edit on
    /// their post, their boost pressed, their draft in the reply box), never another's, and
    /// never a member's parts to anonymous readers.
    async fn signed_in_thread_pages_share_one_render_and_keep_their_own_parts(b: Backend) {
        let app = TestApp::demo(b).await;
        let ada = app.person("ada_reader", Role::Member).await;
        let bo = app.person("bo_reader", Role::Member).await;
        let post = reply_as(&app, &ada, 7, "Ada's reply, which only Ada may edit.").await;
        let url = Places::of(&app, 7).await.thread;
        let edit_link = format!("href=\"/posts/{post}/edit\"");

        // Bo boosts Ada's reply and leaves a draft in the reply box.
        let boost = app
            .post_form(&format!("/posts/{post}/boost"), Some(&bo.cookie), &[])
            .await;
        assert!(boost.status.is_redirection(), "{}", boost.text());
        let token = app.api_token(&bo, "write").await;
        let draft = app
            .api(
                "PUT",
                "/api/v1/drafts",
                Some(&token),
                Some(serde_json::json!({ "place": "reply:7", "body": "Bo's draft <b>kept</b>" })),
            )
            .await;
        assert!(draft.status.is_success(), "{}", draft.text());

        let renders = app.state.cache.renders();
        let as_ada = app.get_as(&url, &ada).await;
        assert!(
            app.state.cache.holds(HTML, &url),
            "a member's request did not leave the shared page in the cache"
        );
        let as_bo = app.get_as(&url, &bo).await;
        let anonymous = app.ok(&url).await.text();
        assert_eq!(
            app.state.cache.renders() - renders,
            1,
            "the page was rendered more than once for three readers"
        );
        assert_eq!(as_ada.header("cache-control"), Some("private, no-store"));
        let (ada_page, bo_page) = (as_ada.text(), as_bo.text());

        assert!(ada_page.contains(&edit_link), "Ada cannot edit her post");
        assert!(!bo_page.contains(&edit_link), "Bo can edit Ada's post");
        assert!(!anonymous.contains(&edit_link));
        assert!(ada_page.contains("ada_reader") && !ada_page.contains("Sign in</a>"));
        assert!(!bo_page.contains("href=\"/users/ada_reader\" class=\"nav-me\""));

        let pressed = |page: &str| {
            let html = scraper::Html::parse_document(page);
            crate::util::attrs(
                &html,
                &format!("form[action=\"/posts/{post}/boost\"] button"),
                "aria-pressed",
            )
        };
        assert_eq!(pressed(&bo_page), vec!["true".to_string()], "Bo's boost");
        assert_eq!(
            pressed(&ada_page),
            Vec::<String>::new(),
            "no boosting oneself"
        );
        assert!(
            pressed(&anonymous).is_empty(),
            "anonymous readers get no button"
        );

        let reply_box = |page: &str| {
            crate::util::texts(&scraper::Html::parse_document(page), "textarea#f-body").concat()
        };
        assert_eq!(reply_box(&bo_page), "Bo's draft <b>kept</b>", "Bo's draft");
        assert!(!bo_page.contains("<b>kept</b>"), "the draft is not escaped");
        assert!(
            !ada_page.contains("draft &lt;b&gt;kept"),
            "Ada sees Bo's draft"
        );
        assert!(
            anonymous.contains("to reply."),
            "anonymous readers are asked to sign in"
        );
        assert!(
            !anonymous.contains("Bo&#"),
            "a member's draft in the shared page"
        );
    }
);

both!(
    /// What a write does not touch still reaches every page within `cache.max_age_secs`: a
    /// view-count flush drops no page, and the counts show once the page ages out.
    async fn untouched_pages_show_a_change_once_they_age_out(b: Backend) {
        let app = crate::util::TestApp::configured(b, |c| c.cache.max_age_secs = 1).await;
        agora::services::archive::load_demo_if_empty(app.store())
            .await
            .unwrap_or_else(|e| panic!("{e:#}"));
        // Thread 7 has 412 views: this visit makes 413 once flushed.
        let (url, first) = app.follow("/thread/7").await;
        assert!(first.text().contains("412 views"), "{}", first.text());
        app.state
            .flush_views()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            app.ok(&url).await.text().contains("412 views"),
            "the flush dropped the page"
        );
        tokio::time::sleep(Duration::from_millis(1_100)).await;
        let aged = app.ok(&url).await.text();
        assert!(aged.contains("413 views"), "{aged}");
    }
);
