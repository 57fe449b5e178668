//! The change log, typed: writes through the real router land in it with their kind and the
//! account that made them, and a kind this build does not know (a newer node wrote it) makes
//! the search indexer index its thread again rather than fail or skip it.

use agora_store::{ChangeKind, ChangeRow, PostId, Role, ThreadId, UserId};
use axum::http::StatusCode;

use crate::util::{Backend, Person, TestApp, TestResponse, both, postgres_url};

const NET: &str = "app-system-services/networking";

fn expect_see_other(response: &TestResponse, what: &str) -> String {
    assert_eq!(
        response.status,
        StatusCode::SEE_OTHER,
        "{what}: {}",
        response.text().chars().take(1500).collect::<String>()
    );
    response.header("location").unwrap_or_default().to_string()
}

/// Starts a question through the compose form; returns the thread and its opening post.
async fn start(app: &TestApp, who: &Person, title: &str, body: &str) -> (ThreadId, PostId) {
    let response = app
        .post_form(
            "/new",
            Some(&who.cookie),
            &[
                ("subtopic", NET),
                ("title", title),
                ("tags", "network"),
                ("kind", "question"),
                ("body", body),
            ],
        )
        .await;
    let url = expect_see_other(&response, "start a thread");
    let id: i64 = url
        .split_once("/thread/")
        .and_then(|(_, rest)| rest.split(['/', '#', '?']).next())
        .and_then(|id| id.parse().ok())
        .unwrap_or_else(|| panic!("not a thread URL: {url:?}"));
    let read = app.ok(&format!("/api/v1/threads/{id}")).await.json();
    let op = read["posts"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no opening post in {read}"));
    (ThreadId(id), PostId(op))
}

async fn user_id(app: &TestApp, who: &Person) -> UserId {
    app.store()
        .account_by_name(&who.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account {}", who.username))
        .brief
        .id
}

async fn changes_since(app: &TestApp, head: i64) -> Vec<ChangeRow> {
    app.store()
        .changes_after(head, 1000)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// (kind, actor, thread, post) of each change, in order.
type Entry = (ChangeKind, Option<UserId>, Option<ThreadId>, Option<PostId>);

fn entries(changes: &[ChangeRow]) -> Vec<Entry> {
    changes
        .iter()
        .map(|c| (c.kind.clone(), c.actor, c.thread, c.post))
        .collect()
}

both!(
    /// A thread, a reply, a boost and a moderator's lock, each with its kind and its actor.
    async fn writes_log_their_kind_and_their_actor(b: Backend) {
        let app = TestApp::demo(b).await;
        let head = app.store().change_head().await.unwrap_or(0);
        let ann = app.person("ann", Role::Member).await;
        let ben = app.person("ben", Role::Member).await;
        let moe = app.person("moe", Role::Moderator).await;
        let (ann_id, ben_id, moe_id) = (
            user_id(&app, &ann).await,
            user_id(&app, &ben).await,
            user_id(&app, &moe).await,
        );
        // Signing up is the new account acting; the role comes from the operator's tooling,
        // which is no account.
        assert_eq!(
            entries(&changes_since(&app, head).await),
            [
                (ChangeKind::UserCreated, Some(ann_id), None, None),
                (ChangeKind::UserCreated, Some(ben_id), None, None),
                (ChangeKind::UserCreated, Some(moe_id), None, None),
                (ChangeKind::UserRoleChanged, None, None, None),
            ]
        );

        let head = app.store().change_head().await.unwrap_or(0);
        let (thread, op) = start(
            &app,
            &ann,
            "Who wrote this change, and what was it",
            "A question whose every change the log should name.",
        )
        .await;
        let reply = app
            .post_form(
                &format!("/thread/{}/reply", thread.0),
                Some(&ben.cookie),
                &[("body", "A reply that the change log should credit to ben.")],
            )
            .await;
        let url = expect_see_other(&reply, "reply");
        let reply = PostId(
            url.rsplit_once("#post-")
                .and_then(|(_, id)| id.parse().ok())
                .unwrap_or_else(|| panic!("no #post- anchor in {url:?}")),
        );
        let boost = app
            .post_form(&format!("/posts/{}/boost", op.0), Some(&ben.cookie), &[])
            .await;
        expect_see_other(&boost, "boost");
        let lock = app
            .post_form(
                &format!("/thread/{}/lock", thread.0),
                Some(&moe.cookie),
                &[("reason", "Settled; see the reply.")],
            )
            .await;
        expect_see_other(&lock, "lock");

        let changes = changes_since(&app, head).await;
        assert_eq!(
            entries(&changes),
            [
                (
                    ChangeKind::ThreadCreated,
                    Some(ann_id),
                    Some(thread),
                    Some(op)
                ),
                (
                    ChangeKind::PostCreated,
                    Some(ben_id),
                    Some(thread),
                    Some(reply)
                ),
                (
                    ChangeKind::PostBoosted,
                    Some(ben_id),
                    Some(thread),
                    Some(op)
                ),
                (
                    ChangeKind::ThreadLockChanged,
                    Some(moe_id),
                    Some(thread),
                    None
                ),
            ]
        );
        // The stored strings are the ones written before kinds were typed.
        assert_eq!(
            changes.iter().map(|c| c.kind.as_str()).collect::<Vec<_>>(),
            [
                "thread.created",
                "post.created",
                "post.boosted",
                "thread.lock"
            ]
        );
        assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    }
);

/// The subtopic's post count, as the home page reads it.
async fn subtopic_posts(app: &TestApp, id: agora_store::SubtopicId) -> i64 {
    let areas = app.store().areas().await.unwrap_or_else(|e| panic!("{e}"));
    areas
        .iter()
        .flat_map(|a| &a.subtopics)
        .find(|s| s.id == id)
        .map(|s| s.post_count)
        .unwrap_or_else(|| panic!("no subtopic {id:?}"))
}

async fn subtopic_of(app: &TestApp, thread: ThreadId) -> agora_store::SubtopicId {
    app.store()
        .thread(thread)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no thread {thread:?}"))
        .subtopic_id
}

/// `agora db check` finds every stored counter equal to what the rows say.
async fn counters_agree(app: &TestApp) {
    let findings = app.store().check().await.unwrap_or_else(|e| panic!("{e}"));
    assert!(findings.is_empty(), "{findings:?}");
}

async fn member_posts(app: &TestApp, who: &Person) -> i64 {
    app.store()
        .user(&who.username)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("no account {}", who.username))
        .post_count
}

both!(
    /// Many writers commit at once while a follower reads the log: the follower sees every
    /// reply exactly once, in the log's order, never skipping an entry that commits after a
    /// later one. On PostgreSQL writers take no lock through their commits, so this holds only
    /// because pending entries get their places when the follower reads. Counters (a
    /// subtopic's and each writer's) are exact at once, every write counted once.
    async fn a_follower_sees_every_concurrent_write_exactly_once(b: Backend) {
        const WRITERS: usize = 4;
        const EACH: usize = 15;
        let app = std::sync::Arc::new(TestApp::demo(b).await);
        let subtopic = subtopic_of(&app, ThreadId(1)).await;
        let mut writers = Vec::new();
        for i in 0..WRITERS {
            let who = app.person(&format!("writer{i}"), Role::Member).await;
            let token = app.api_token(&who, "write").await;
            writers.push((who, token));
        }
        // Three open threads of thread 1's subtopic, so that replies commit in an order their
        // thread locks do not decide.
        let mut open = Vec::new();
        for id in 1..=21 {
            if let Ok(Some(t)) = app.store().thread(ThreadId(id)).await
                && t.locked_at.is_none()
                && !t.removed
                && t.subtopic_id == subtopic
                && open.len() < 3
            {
                open.push(id);
            }
        }
        assert_eq!(
            open.len(),
            3,
            "the demo has three open threads in one subtopic"
        );
        let open = std::sync::Arc::new(open);
        let posts_before = subtopic_posts(&app, subtopic).await;
        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let follower = {
            let (app, done) = (app.clone(), done.clone());
            tokio::spawn(async move {
                let (mut cursor, mut seen) = (head, Vec::new());
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::Acquire);
                    let batch = changes_since(&app, cursor).await;
                    if let Some(last) = batch.last() {
                        cursor = last.seq;
                    }
                    seen.extend(batch);
                    if finished {
                        return seen;
                    }
                    tokio::task::yield_now().await;
                }
            })
        };
        let mut tasks = Vec::new();
        for (i, (_, token)) in writers.iter().enumerate() {
            for n in 0..EACH {
                let (app, token, open) = (app.clone(), token.clone(), open.clone());
                tasks.push(tokio::spawn(async move {
                    let thread = open[(i + n) % open.len()];
                    app.api(
                        "POST",
                        &format!("/api/v1/threads/{thread}/posts"),
                        Some(&token),
                        Some(serde_json::json!({ "body": format!("Reply {n} from writer {i}, at once") })),
                    )
                    .await
                    .status
                }));
            }
        }
        for task in tasks {
            assert_eq!(
                task.await.unwrap_or_else(|e| panic!("{e}")),
                StatusCode::CREATED
            );
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        let seen = follower.await.unwrap_or_else(|e| panic!("{e}"));

        let all = changes_since(&app, head).await;
        let seqs = |rows: &[ChangeRow]| rows.iter().map(|c| c.seq).collect::<Vec<_>>();
        assert_eq!(
            seqs(&seen),
            seqs(&all),
            "the follower skipped or repeated entries"
        );
        let replies: Vec<_> = all
            .iter()
            .filter(|c| c.kind == ChangeKind::PostCreated)
            .filter_map(|c| c.post)
            .collect();
        assert_eq!(replies.len(), WRITERS * EACH, "{:?}", entries(&all));
        let mut unique = replies.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), replies.len(), "a reply logged twice");

        assert_eq!(
            subtopic_posts(&app, subtopic).await,
            posts_before + (WRITERS * EACH) as i64
        );
        for (who, _) in &writers {
            assert_eq!(
                member_posts(&app, who).await,
                EACH as i64,
                "{}",
                who.username
            );
        }
        counters_agree(&app).await;
    }
);

/// PostgreSQL: a reply's counts show at once, before anything folds them into their rows,
/// and a recount while deltas wait does not count them twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_are_exact_before_and_after_they_are_folded() {
    let Some(_) = postgres_url() else { return };
    let app = TestApp::demo(Backend::Postgres).await;
    let ann = app.person("ann", Role::Member).await;
    let client = raw_client(&app).await;
    let waiting = async || -> i64 {
        client
            .query_one("SELECT COUNT(*) FROM count_deltas", &[])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .get(0)
    };
    let subtopic = subtopic_of(&app, ThreadId(1)).await;
    app.store()
        .change_head()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting().await, 0, "a settle folds every delta");
    let before = subtopic_posts(&app, subtopic).await;

    crate::util::reply_as(&app, &ann, 1, "A reply counted before it is folded.").await;
    assert_eq!(waiting().await, 1, "the reply's counts wait as one delta");
    assert_eq!(subtopic_posts(&app, subtopic).await, before + 1);
    assert_eq!(member_posts(&app, &ann).await, 1);

    // A recount while the delta waits, then the fold: counted once.
    app.store()
        .recount()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(subtopic_posts(&app, subtopic).await, before + 1);
    app.store()
        .change_head()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(waiting().await, 0);
    assert_eq!(subtopic_posts(&app, subtopic).await, before + 1);
    assert_eq!(member_posts(&app, &ann).await, 1);
    counters_agree(&app).await;
}

/// PostgreSQL: a write still open when a later one commits gets its place in the log when it
/// commits, after the later one, so a follower that read past the later one still reads it.
/// (With sequence numbers taken when entries are written, the open write's number would be
/// below the follower's cursor by then, and skipped for ever.) The open write is held open
/// here by hand: it writes its entry as every write does, to `change_pending`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_that_commits_late_is_read_after_the_ones_before() {
    let Some(_) = postgres_url() else { return };
    let app = TestApp::demo(Backend::Postgres).await;
    let ann = app.person("ann", Role::Member).await;
    let head = app
        .store()
        .change_head()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let slow = raw_client(&app).await;
    slow.batch_execute(
        "BEGIN; INSERT INTO change_pending (at, kind, actor_id, thread_id, post_id) \
         VALUES (1, 'thread.locked', NULL, 1, NULL)",
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));

    let reply = crate::util::reply_as(&app, &ann, 1, "A reply that commits first.").await;
    let first = changes_since(&app, head).await;
    assert_eq!(
        first.iter().map(|c| c.post).collect::<Vec<_>>(),
        [Some(PostId(reply))],
        "the committed reply is read; the open write is not"
    );
    let cursor = first[0].seq;

    slow.batch_execute("COMMIT")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let later = changes_since(&app, cursor).await;
    assert_eq!(
        entries(&later),
        [(ChangeKind::ThreadLocked, None, Some(ThreadId(1)), None)],
        "the late write is read after the cursor"
    );
}

/// A client of the test app's PostgreSQL database, for what no route does.
async fn raw_client(app: &TestApp) -> tokio_postgres::Client {
    let url = app
        .database
        .as_ref()
        .map(|db| db.url.clone())
        .unwrap_or_else(|| panic!("a PostgreSQL test app without its database"));
    let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(connection);
    client
}

/// A kind written by a newer node, naming a thread, indexes that thread again: the indexer
/// neither fails on it nor skips it as done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_kind_reindexes_its_thread() {
    let Some(_) = postgres_url() else { return };
    let app = TestApp::demo(Backend::Postgres).await;
    let ann = app.person("ann", Role::Member).await;
    let (thread, _) = start(
        &app,
        &ann,
        "Quuxtitleold questions about sockets",
        "A body that stays as it is.",
    )
    .await;
    assert_eq!(
        app.search_titles("quuxtitleold").await,
        ["Quuxtitleold questions about sockets"]
    );

    // A newer node changes the title and logs it under a kind this build does not know.
    let client = raw_client(&app).await;
    client
        .batch_execute(&format!(
            "BEGIN; \
             UPDATE threads SET title = 'Quuxtitlenew questions about sockets' WHERE id = {id}; \
             INSERT INTO change_pending (at, kind, actor_id, thread_id, post_id) \
               SELECT MAX(at) + 1, 'thread.quuxified', NULL, {id}, NULL FROM change_log; \
             COMMIT;",
            id = thread.0
        ))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = app.store().change_head().await.unwrap_or(0);
    let last = changes_since(&app, head - 1).await;
    assert_eq!(
        entries(&last),
        [(
            ChangeKind::Unknown("thread.quuxified".into()),
            None,
            Some(thread),
            None
        )]
    );

    assert_eq!(
        app.search_titles("quuxtitlenew").await,
        ["Quuxtitlenew questions about sockets"]
    );
    assert!(app.search_titles("quuxtitleold").await.is_empty());
}

both!(
    /// A reply's statements go to the database in batches (the thread's counter with the post
    /// that takes its position from it, then the rest with the change-log entry). A reply to a
    /// thread that is not there is refused and leaves nothing behind: no post, no entry, no
    /// count, and the member's draft elsewhere untouched.
    async fn a_reply_to_no_thread_writes_nothing(b: Backend) {
        let app = TestApp::demo(b).await;
        let who = app.person("replier", Role::Member).await;
        let author = user_id(&app, &who).await;
        let head = app
            .store()
            .change_head()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let refused = app
            .store()
            .create_reply(agora_store::NewReply {
                thread: ThreadId(987_654),
                author,
                author_is_staff: false,
                body_md: "A reply to a thread that was never there.".into(),
                body_html: "<p>A reply to a thread that was never there.</p>".into(),
                reply_to: None,
            })
            .await;
        assert!(
            matches!(refused, Err(agora_store::StoreError::Invalid(_))),
            "{refused:?}"
        );
        assert!(changes_since(&app, head).await.is_empty());
        assert_eq!(member_posts(&app, &who).await, 0);
        counters_agree(&app).await;

        // The same member's reply to a real thread lands whole: its position follows the
        // thread's last, and its entry names it.
        let before = app
            .store()
            .thread(ThreadId(1))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("no thread 1"));
        let (post, position) = app
            .store()
            .create_reply(agora_store::NewReply {
                thread: ThreadId(1),
                author,
                author_is_staff: false,
                body_md: "A reply that lands.".into(),
                body_html: "<p>A reply that lands.</p>".into(),
                reply_to: None,
            })
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(position, before.last_position + 1);
        assert_eq!(
            entries(&changes_since(&app, head).await),
            vec![(
                ChangeKind::PostCreated,
                Some(author),
                Some(ThreadId(1)),
                Some(post)
            )]
        );
        assert_eq!(member_posts(&app, &who).await, 1);
        counters_agree(&app).await;
    }
);
