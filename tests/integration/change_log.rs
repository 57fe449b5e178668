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
        .batch_execute(&format!(
            "BEGIN; \
             UPDATE threads SET title = 'Quuxtitlenew questions about sockets' WHERE id = {id}; \
             INSERT INTO change_log (at, kind, actor_id, thread_id, post_id) \
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
