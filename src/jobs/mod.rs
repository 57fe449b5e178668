//! The job runner: work that must happen once however many nodes run (email, notification
//! email, the weekly digest, bookmarks' reminders), each kind with its handler.
//!
//! Jobs wait in the store's `jobs` table. One loop per node ([`run_forever`]) claims the due
//! jobs of the kinds this build knows ([`JobKind::ALL`]), each for a lease, and hands each to
//! its handler. A kind this build does not know (a newer node queued it) is never claimed, so
//! it waits for a node that runs it, never marked done. A job that fails is tried again later
//! ([`backoff`]: 30 s × 2^attempts, at most an hour); after [`MAX_ATTEMPTS`], or at once when
//! its handler says it can never succeed ([`JobError::Fail`]), it is dead: never claimed again,
//! listed on `/admin` with its last error and a button to retry it, and `/healthz` is
//! `degraded` while any is. Claiming, finishing and rescheduling are private writes: a node
//! polling an empty queue does not throw its cached pages away.
//!
//! Adding a kind is one variant of [`JobKind`] (with its name) and one arm in [`handle`].

pub mod digest;
pub mod email;
pub mod notification_email;
pub mod reminder;

use std::time::Duration;

use agora_store::{Job, Timestamp};

use crate::app::AppState;
use crate::error::AppError;
use crate::services::permissions::{self, Action};

/// Every kind of job this build runs, by the name the `jobs` table stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// An email ([`crate::services::mail::Email`] as JSON), sent by [`email::run`].
    Email,
    /// A member's notifications about one thread, emailed together if they are still unread
    /// and the member is away ([`notification_email::run`]).
    NotificationEmail,
    /// A member's weekly digest ([`digest::run`]), which queues the next.
    Digest,
    /// A bookmark's reminder, due at its time: a notification to its owner, if the bookmark
    /// still wants it ([`reminder::run`]).
    Reminder,
}

impl JobKind {
    /// The kinds this build claims.
    pub const ALL: &'static [JobKind] = &[
        JobKind::Email,
        JobKind::NotificationEmail,
        JobKind::Digest,
        JobKind::Reminder,
    ];

    /// The name stored in `jobs.kind` (never changed once released: old rows keep it).
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::Email => "email",
            JobKind::NotificationEmail => "notification_email",
            JobKind::Digest => "digest",
            JobKind::Reminder => "reminder",
        }
    }

    /// The kind a stored name means, or None for a kind this build does not run.
    pub fn parse(name: &str) -> Option<JobKind> {
        Self::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// How long a node holds a claimed job of this kind before another may take it (a node
    /// that died holding it).
    fn lease(self) -> Duration {
        match self {
            JobKind::Email | JobKind::NotificationEmail | JobKind::Digest | JobKind::Reminder => {
                Duration::from_secs(300)
            }
        }
    }
}

/// Why a job did not succeed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobError {
    /// It may succeed later (a server away): tried again after [`backoff`].
    Retry(String),
    /// It can never succeed as it is (a payload that does not parse): dead at once.
    Fail(String),
}

impl std::fmt::Display for JobError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JobError::Retry(why) | JobError::Fail(why) => f.write_str(why),
        }
    }
}

/// Runs one job of `kind`.
async fn handle(state: &AppState, kind: JobKind, payload: &str) -> Result<(), JobError> {
    match kind {
        JobKind::Email => email::run(state, payload).await,
        JobKind::NotificationEmail => notification_email::run(state, payload).await,
        JobKind::Digest => digest::run(state, payload).await,
        JobKind::Reminder => reminder::run(state, payload).await,
    }
}

/// Attempts before a failing job is dead.
pub const MAX_ATTEMPTS: i64 = 8;

/// The longest wait between attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// How long to wait before trying a job again after its `attempts`th attempt failed:
/// 30 s × 2^attempts, at most [`MAX_BACKOFF`].
pub fn backoff(attempts: i64) -> Duration {
    let exponent = u32::try_from(attempts.clamp(0, 20)).unwrap_or(20);
    Duration::from_secs(30)
        .saturating_mul(2u32.saturating_pow(exponent))
        .min(MAX_BACKOFF)
}

/// What one round of the runner did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Round {
    /// Jobs that succeeded.
    pub done: usize,
    /// Jobs that failed and will be tried again.
    pub retried: usize,
    /// Jobs that failed for the last time.
    pub dead: usize,
}

/// Runs every job due at `now` of the kinds this build knows, until none is left, or until a
/// job of a kind fails and will be retried (the rest of that kind waits for the next round);
/// the error is the store's, when the queue cannot be read or written (the round stops there).
pub async fn run_due(state: &AppState, now: Timestamp) -> (Round, Result<(), String>) {
    let mut kinds: Vec<&str> = JobKind::ALL.iter().map(|k| k.as_str()).collect();
    let lease = JobKind::ALL
        .iter()
        .map(|k| k.lease())
        .max()
        .unwrap_or(Duration::from_secs(300));
    let mut round = Round::default();
    loop {
        let job = match state
            .store
            .claim_job_at(&state.node, lease, &kinds, now)
            .await
        {
            Ok(Some(job)) => job,
            Ok(None) => return (round, Ok(())),
            Err(err) => {
                tracing::warn!(error = %err, "cannot claim jobs");
                return (round, Err(format!("cannot claim jobs: {err}")));
            }
        };
        let retried = round.retried;
        let kind = job.kind.clone();
        if let Err(err) = run_one(state, job, now, &mut round).await {
            tracing::warn!(error = %err, "cannot record how a job went");
            return (round, Err(format!("cannot record how a job went: {err}")));
        }
        if round.retried > retried {
            // What failed for a passing reason (the SMTP server away) would most likely fail
            // for the next job of its kind too: leave them for the next round rather than
            // spend their attempts (and the round's time) on it.
            kinds.retain(|k| *k != kind);
            if kinds.is_empty() {
                return (round, Ok(()));
            }
        }
    }
}

/// Runs one claimed job and records how it went.
async fn run_one(
    state: &AppState,
    job: Job,
    now: Timestamp,
    round: &mut Round,
) -> Result<(), agora_store::StoreError> {
    let Some(kind) = JobKind::parse(&job.kind) else {
        // Never happens: the claim names only the kinds this build knows. Should it, let go
        // without marking anything, so that a node that knows the kind runs it.
        tracing::error!(job = job.id, kind = %job.kind, "claimed a job of an unknown kind");
        return Ok(());
    };
    let result = handle(state, kind, &job.payload).await;
    let store = &state.store;
    match result {
        Ok(()) => {
            if !store.finish_job(job.id, &state.node).await? {
                tracing::warn!(
                    job = job.id,
                    kind = kind.as_str(),
                    "a job ran after its lease ran out (another node may run it again)"
                );
            }
            round.done += 1;
        }
        Err(JobError::Retry(why)) if job.attempts < MAX_ATTEMPTS => {
            let wait = backoff(job.attempts);
            let wait_micros = i64::try_from(wait.as_micros()).unwrap_or(i64::MAX);
            let at = Timestamp::from_micros(now.micros().saturating_add(wait_micros));
            tracing::warn!(
                job = job.id,
                kind = kind.as_str(),
                attempts = job.attempts,
                retry_in_secs = wait.as_secs(),
                error = %why,
                "a job failed; it will be tried again"
            );
            store.reschedule_job(job.id, &state.node, at, &why).await?;
            round.retried += 1;
        }
        Err(err) => {
            tracing::error!(
                job = job.id,
                kind = kind.as_str(),
                attempts = job.attempts,
                error = %err,
                "a job failed for good: it is dead until staff retry it from /admin"
            );
            store
                .kill_job(job.id, &state.node, now, &err.to_string())
                .await?;
            round.dead += 1;
        }
    }
    Ok(())
}

/// The node's one runner: a round when a job is queued here ([`AppState::jobs_queued`]) and
/// at least every 10 seconds (jobs queued elsewhere, retries coming due). Aborted on
/// shutdown: an unfinished job is claimed again when its lease ends.
/// How often unused uploads are looked for.
const UPLOAD_CLEAN_EVERY: Duration = Duration::from_secs(3600);

pub async fn run_forever(state: AppState) {
    let mut last_clean: Option<std::time::Instant> = None;
    loop {
        state.run_jobs().await;
        state.limits().tidy();
        // Uploads no post used: looked for every hour (each node; removing one twice is
        // removing it once).
        if last_clean.is_none_or(|at| at.elapsed() >= UPLOAD_CLEAN_EVERY) {
            last_clean = Some(std::time::Instant::now());
            let result = crate::services::uploads::clean_unused(&state, Timestamp::now()).await;
            if let Err(err) = &result {
                tracing::warn!(error = %err, "could not clean up unused uploads; trying again later");
            }
            state.faults.record("upload clean-up", &result);
        }
        tokio::select! {
            () = state.jobs_queued.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(10)) => {}
        }
    }
}

// ---------------------------------------------------------------- staff

/// How many jobs are dead, and how many failed and wait to be tried again (the dashboard's
/// and `/healthz`'s numbers).
pub async fn health(state: &AppState) -> Result<agora_store::JobHealth, AppError> {
    Ok(state.store.job_health().await?)
}

/// The dead jobs staff see on `/admin`, newest first (at most 50), if `actor` may see them.
pub async fn dead(
    state: &AppState,
    actor: &agora_store::Account,
) -> Result<Vec<agora_store::DeadJob>, AppError> {
    permissions::check(Some(actor), Action::RetryJobs, Timestamp::now())?;
    Ok(state.store.dead_jobs().await?)
}

/// Makes a dead job due again, its attempts counted afresh (staff; audited as `job.retry`),
/// and wakes this node's runner. False when there is no such dead job (another member of
/// staff retried it first).
pub async fn retry(
    state: &AppState,
    actor: Option<&agora_store::Account>,
    id: i64,
) -> Result<bool, AppError> {
    permissions::check(actor, Action::RetryJobs, Timestamp::now())?;
    let Some(actor) = actor else {
        return Err(AppError::Unauthorized);
    };
    let audit = agora_store::Audit {
        actor: actor.brief.id,
        action: "job.retry",
        thread: None,
        post: None,
        target_user: None,
        details: format!("job {id}"),
    };
    let revived = state.store.revive_job(id, audit).await?;
    if let Some(kind) = &revived {
        tracing::info!(job = id, kind = %kind, by = %actor.brief.username, "a dead job is retried");
        state.jobs_queued.notify_one();
    }
    Ok(revived.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_read_back_by_their_stored_names() {
        for kind in JobKind::ALL {
            assert_eq!(JobKind::parse(kind.as_str()), Some(*kind));
        }
        // The name the store queues emails under (`agora_store` cannot see this enum).
        assert_eq!(JobKind::parse("email"), Some(JobKind::Email));
        assert_eq!(JobKind::parse("webhook.from-the-future"), None);
    }

    #[test]
    fn backoff_doubles_up_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(60));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(6), Duration::from_secs(1920));
        assert_eq!(backoff(7), MAX_BACKOFF);
        assert_eq!(backoff(i64::MAX), MAX_BACKOFF);
        assert_eq!(backoff(-3), Duration::from_secs(30));
    }
}
