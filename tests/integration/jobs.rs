//! The job runner: retries with backoff, the dead-letter state and what staff do about it,
//! polling that writes nothing readers see (so cached pages stay), and jobs run exactly once by
//! two nodes on one database.

use std::collections::BTreeSet;
use std::time::Duration;

use agora::app::AppState;
use agora::jobs::{self, MAX_ATTEMPTS, Round};
use agora::services::mail::Email;
use agora_store::{Cursor, Role, Store, ThreadId, Timestamp};
use axum::http::StatusCode;

use crate::util::{TestApp, both, config_for};

/// An SMTP server nobody listens at: every send fails at once (connection refused).
const NOWHERE: &str = "smtp://127.0.0.1:1";

fn email_to(to: &str) -> String {
    Email {
        to: to.to_string(),
        subject: "Hello".into(),
        body: "A message from the job tests.\n".into(),
        ..Email::default()
    }
    .to_job()
}

fn later(now: Timestamp, by: Duration) -> Timestamp {
    Timestamp::from_micros(now.micros() + i64::try_from(by.as_micros()).unwrap_or(i64::MAX))
}

async fn run_at(app: &TestApp, now: Timestamp) -> Round {
    let (round, result) = jobs::run_due(&app.state, now).await;
    assert_eq!(result, Ok(()), "the runner could not use the queue");
    round
}

/// The `To:` addresses of every `.eml` file in `dir` (empty when there is no outbox).
fn outbox_recipients(dir: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("outbox")) else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .filter_map(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("To: ").map(|to| to.trim().to_string()))
        })
        .collect()
}

both!(
    /// A job that keeps failing is tried again later and later (30 s × 2^attempts, at most an
    /// hour), then, after the last attempt, is dead: never claimed again, counted by /healthz
    /// (degraded), listed for staff on /admin with its error, and queued again by a staff
    /// member's retry (audited).
    async fn a_failing_job_backs_off_then_dies_and_staff_retry_it(b: Backend) {
        let app = TestApp::configured(b, |c| c.email.smtp_url = NOWHERE.into()).await;
        let id = app
            .store()
            .enqueue_job("email", &email_to("rosa@example.test"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));

        let mut now = Timestamp::now();
        let first = run_at(&app, now).await;
        assert_eq!(
            first,
            Round {
                done: 0,
                retried: 1,
                dead: 0
            }
        );
        // Not due again at once, nor before its first backoff (60 s after attempt 1)...
        assert_eq!(run_at(&app, now).await, Round::default());
        assert_eq!(
            run_at(&app, later(now, Duration::from_secs(59))).await,
            Round::default()
        );
        let health = app.ok("/healthz").await.json();
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["retrying_jobs"], 1, "{health}");
        assert_eq!(health["dead_jobs"], 0, "{health}");
        // ...and due after it.
        now = later(now, Duration::from_secs(61));
        assert_eq!(run_at(&app, now).await.retried, 1);
        // The rest of the attempts, each once its (capped) backoff has passed.
        let mut dead = 0;
        for _ in 2..MAX_ATTEMPTS {
            now = later(now, Duration::from_secs(2 * 3600));
            let round = run_at(&app, now).await;
            assert_eq!(round.done, 0, "{round:?}");
            dead += round.dead;
        }
        assert_eq!(dead, 1, "the job did not die after {MAX_ATTEMPTS} attempts");
        // Dead: never claimed again, however late.
        assert_eq!(
            run_at(&app, later(now, Duration::from_secs(30 * 86_400))).await,
            Round::default()
        );
        let dead_jobs = app
            .store()
            .dead_jobs()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dead_jobs.len(), 1, "{dead_jobs:?}");
        let job = &dead_jobs[0];
        assert_eq!((job.id, job.kind.as_str()), (id, "email"));
        assert_eq!(job.attempts, MAX_ATTEMPTS);
        assert!(job.last_error.starts_with("email not sent"), "{job:?}");

        let health = app.ok("/healthz").await.json();
        assert_eq!(health["status"], "degraded", "{health}");
        assert_eq!(health["dead_jobs"], 1, "{health}");
        assert_eq!(health["retrying_jobs"], 0, "{health}");

        // (Their sign-up emails are queued now, and never run in this test.)
        let admin = app.person("ada_admin", Role::Admin).await;
        let staff = app.person("sam_staff", Role::Staff).await;
        let moderator = app.person("max_mod", Role::Moderator).await;
        let member = app.person("mel_member", Role::Member).await;

        // Staff see the list with the error and a retry button; moderators the count only.
        let retry = format!("/admin/jobs/{id}/retry");
        let page = app.get_as("/admin", &staff).await;
        assert_eq!(page.status, StatusCode::OK);
        let text = page.text();
        assert!(
            text.contains(&format!("action=\"{retry}\"")),
            "no retry button"
        );
        assert!(text.contains("email not sent"), "no last error on the page");
        assert!(text.contains(&format!("{MAX_ATTEMPTS} attempts")));
        let page = app.get_as("/admin", &moderator).await.text();
        assert!(page.contains("Failed jobs"));
        assert!(!page.contains(&retry), "a moderator was offered the retry");
        assert!(
            !page.contains("email not sent"),
            "a moderator saw the error"
        );

        // Refused to members and moderators, who change nothing.
        for who in [&member, &moderator] {
            let refused = app.post_form(&retry, Some(&who.cookie), &[]).await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", who.username);
        }
        let refused = app.post_form(&retry, None, &[]).await;
        assert!(refused.status.is_client_error(), "{}", refused.status);
        assert!(
            app.store()
                .dead_jobs()
                .await
                .unwrap_or_default()
                .iter()
                .any(|j| j.id == id)
        );

        let retried = app.post_form(&retry, Some(&staff.cookie), &[]).await;
        assert_eq!(retried.status, StatusCode::SEE_OTHER);
        assert_eq!(
            retried.header("location"),
            Some("/admin?done=retried#s-jobs")
        );
        assert!(
            !app.store()
                .dead_jobs()
                .await
                .unwrap_or_default()
                .iter()
                .any(|j| j.id == id),
            "still dead after a retry"
        );
        let audit = app
            .store()
            .audit_log(Cursor::Start, 5)
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .rows;
        assert!(
            audit.iter().any(|e| e.action == "job.retry"
                && e.actor.username == "sam_staff"
                && e.details == format!("job {id}")),
            "{audit:?}"
        );
        // A second retry (an admin who had the page open) finds nothing to do.
        let again = app.post_form(&retry, Some(&admin.cookie), &[]).await;
        assert_eq!(
            again.header("location"),
            Some("/admin?done=not-dead#s-jobs")
        );
        // Due now (behind the sign-up emails), its attempts counted afresh.
        let mut claimed = None;
        while let Some(job) = app
            .store()
            .claim_job("test", Duration::from_secs(60), &["email"])
            .await
            .unwrap_or_else(|e| panic!("{e}"))
        {
            if job.id == id {
                claimed = Some(job);
                break;
            }
        }
        let claimed = claimed.unwrap_or_else(|| panic!("the retried job is not due"));
        assert_eq!(claimed.attempts, 1);
    }
);

both!(
    /// When a job fails for a passing reason (the SMTP server away), the rest of its kind
    /// waits for the next round instead of spending attempts on the same failure.
    async fn a_failing_kind_waits_for_the_next_round(b: Backend) {
        let app = TestApp::configured(b, |c| c.email.smtp_url = NOWHERE.into()).await;
        for to in ["a@example.test", "b@example.test", "c@example.test"] {
            app.store()
                .enqueue_job("email", &email_to(to))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let now = Timestamp::now();
        assert_eq!(
            run_at(&app, now).await,
            Round {
                done: 0,
                retried: 1,
                dead: 0
            }
        );
        let health = app
            .store()
            .job_health()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((health.retrying, health.dead), (1, 0));
        // The other two were never tried: due now, at their first attempt.
        for _ in 0..2 {
            let job = app
                .store()
                .claim_job_at("test", Duration::from_secs(60), &["email"], now)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .unwrap_or_else(|| panic!("an untried email is not due"));
            assert_eq!(job.attempts, 1);
        }
    }
);

both!(
    /// A job that can never succeed (a payload that does not parse) is dead at its first
    /// attempt, and says why; one that succeeds is done and forgets its payload's link.
    async fn a_job_that_cannot_succeed_dies_at_once(b: Backend) {
        let app = TestApp::empty(b).await;
        let bad = app
            .store()
            .enqueue_job("email", "not json")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        app.store()
            .enqueue_job("email", &email_to("ok@example.test"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let round = app.state.run_jobs().await;
        assert_eq!(
            round,
            Round {
                done: 1,
                retried: 0,
                dead: 1
            }
        );
        let dead = app
            .store()
            .dead_jobs()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!((dead[0].id, dead[0].attempts), (bad, 1));
        assert!(
            dead[0].last_error.starts_with("not an email job"),
            "{dead:?}"
        );
        assert_eq!(
            outbox_recipients(app.dir.path()),
            vec!["ok@example.test".to_string()]
        );
    }
);

both!(
    /// Polling for jobs is not a write: a node whose queue is empty (or whose jobs run, fail
    /// or die) keeps its change counter, and so its cached pages. Another store changes the
    /// thread behind this node's back; this node's page stays the cached one until something
    /// this node hears of invalidates it.
    async fn polling_for_jobs_keeps_cached_pages(b: Backend) {
        let app = TestApp::demo(b).await;
        let (path, first) = app.follow("/thread/1").await;
        assert_eq!(first.status, StatusCode::OK, "{path}");
        const REASON: &str = "Closed while the job runner polled";
        assert!(!first.text().contains(REASON));

        let other = app.reopen_store().await;
        assert!(
            other
                .set_lock(ThreadId(1), Some(("javery", REASON)))
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        );

        let changes = app.store().changes();
        let before = changes.load(std::sync::atomic::Ordering::Acquire);
        assert!(app.state.cache.holds(agora::http_cache::HTML, &path));
        // Empty polls...
        for _ in 0..3 {
            assert_eq!(app.state.run_jobs().await, Round::default());
        }
        // ...queueing, running and finishing a job, and one that dies at once.
        app.store()
            .enqueue_job("email", &email_to("poll@example.test"))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        app.store()
            .enqueue_job("email", "not json")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let round = app.state.run_jobs().await;
        assert_eq!((round.done, round.dead), (1, 1), "{round:?}");
        assert_eq!(
            changes.load(std::sync::atomic::Ordering::Acquire),
            before,
            "the job queue moved the change counter"
        );
        assert!(
            app.state.cache.holds(agora::http_cache::HTML, &path),
            "the job queue made the cached page stale"
        );

        let cached = app.ok(&path).await;
        assert_eq!(cached.header("etag"), first.header("etag"));
        assert!(
            !cached.text().contains(REASON),
            "the page was rendered again: the cache was thrown away"
        );
        // The database did change: once this node hears of a change, the page shows it.
        app.state.cache.invalidate();
        assert!(app.ok(&path).await.text().contains(REASON));
    }
);

/// A second node on `app`'s database: its own store and state (and its own data folder, so
/// its own outbox and search index).
async fn second_node(app: &TestApp, dir: &std::path::Path) -> AppState {
    let store: Store = app.reopen_store().await;
    let mut config = config_for(dir);
    config.database_url = match app.state.config.database() {
        Ok(agora_store::DatabaseUrl::Sqlite(path)) => path.display().to_string(),
        Ok(agora_store::DatabaseUrl::Postgres(url)) => url,
        Err(e) => panic!("{e}"),
    };
    AppState::new(store, config).unwrap_or_else(|e| panic!("{e:#}"))
}

both!(
    /// Two nodes on one database running their job runners at once: every job runs exactly
    /// once (each email is in exactly one node's outbox), and none is left.
    async fn two_nodes_run_every_job_exactly_once(b: Backend) {
        const JOBS: usize = 40;
        let app = TestApp::empty(b).await;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let other = second_node(&app, dir.path()).await;
        let mut want = BTreeSet::new();
        for i in 0..JOBS {
            let to = format!("n{i}@example.test");
            app.store()
                .enqueue_job("email", &email_to(&to))
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            want.insert(to);
        }
        let run = |state: AppState| {
            tokio::spawn(async move {
                let mut done = 0;
                // Several rounds each, so the two overlap for as long as there is work.
                for _ in 0..3 {
                    let (round, result) = jobs::run_due(&state, Timestamp::now()).await;
                    assert_eq!(result, Ok(()));
                    assert_eq!((round.retried, round.dead), (0, 0), "{round:?}");
                    done += round.done;
                }
                done
            })
        };
        let (a, c) = (run(app.state.clone()), run(other.clone()));
        let (a, c) = (
            a.await.unwrap_or_else(|e| panic!("{e}")),
            c.await.unwrap_or_else(|e| panic!("{e}")),
        );
        assert_eq!(a + c, JOBS, "done: {a} + {c}");
        let mut sent = outbox_recipients(app.dir.path());
        sent.extend(outbox_recipients(dir.path()));
        assert_eq!(
            sent.len(),
            JOBS,
            "an email was sent twice or never: {sent:?}"
        );
        let sent: BTreeSet<String> = sent.into_iter().collect();
        assert_eq!(sent, want);
        assert!(
            app.store()
                .claim_job("test", Duration::ZERO, &["email"])
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .is_none(),
            "a job was left"
        );
    }
);
