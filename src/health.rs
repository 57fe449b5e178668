//! `/healthz`: is the node up, which database it uses, how far its change log is, and what is
//! wrong with its background work.
//!
//! `status` is `ok`, or `degraded` when the node serves but some background work is failing
//! (the search indexer, view counting, the job runner) or jobs failed: each such problem is
//! named in `problems` until the work succeeds again, and dead jobs (`dead_jobs`) until staff
//! retry them from `/admin`. When the database cannot be reached the answer is
//! 503 with `Retry-After`, like every other route then.

use std::collections::BTreeMap;
use std::sync::Mutex;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::app::AppState;
use crate::error::{ApiError, AppError};

#[derive(Serialize)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// What is failing, in words an operator can act on; empty when `ok`.
    pub problems: Vec<String>,
    pub database: &'static str,
    pub change_head: i64,
    pub pending_views: i64,
    /// Jobs that failed for good and wait for staff (listed on `/admin`).
    pub dead_jobs: i64,
    /// Jobs that failed and will be tried again.
    pub retrying_jobs: i64,
    /// This node's search index: documents, position and lag behind the change log.
    pub search: Option<crate::services::search::SearchStatus>,
    pub uploads: UploadHealth,
    pub cache: CacheHealth,
}

/// This node's page cache since it started, for monitoring: the hit rate is
/// `hits / (hits + renders)`.
#[derive(Serialize)]
pub struct CacheHealth {
    /// Requests for cacheable pages answered from memory.
    pub hits: u64,
    /// Pages rendered because the cache did not hold them fresh (once per page however many
    /// readers waited for it).
    pub renders: u64,
}

/// Uploads kept and the clean-up's work, for monitoring.
#[derive(Serialize)]
pub struct UploadHealth {
    /// Uploads not removed, and their bytes.
    pub count: i64,
    pub bytes: i64,
    /// Distinct files in the upload store, and their bytes.
    pub stored_files: i64,
    pub stored_bytes: i64,
    /// Unused uploads this node's clean-up removed since it started.
    pub cleaned: u64,
}

/// Background work that is failing now, by part, with why. A part is cleared by its next
/// success, so a fault that heals leaves no trace here (the log keeps it).
#[derive(Default)]
pub struct Faults(Mutex<BTreeMap<&'static str, String>>);

impl Faults {
    /// Records how `part`'s latest round went.
    pub fn record<T, E: std::fmt::Display>(&self, part: &'static str, result: &Result<T, E>) {
        match result {
            Ok(_) => self.clear(part),
            Err(err) => self.fail(part, err.to_string()),
        }
    }

    pub fn fail(&self, part: &'static str, why: String) {
        if let Ok(mut faults) = self.0.lock() {
            faults.insert(part, why);
        }
    }

    pub fn clear(&self, part: &'static str) {
        if let Ok(mut faults) = self.0.lock() {
            faults.remove(part);
        }
    }

    /// `part: why` for every failing part.
    pub fn list(&self) -> Vec<String> {
        match self.0.lock() {
            Ok(faults) => faults
                .iter()
                .map(|(part, why)| format!("{part}: {why}"))
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

pub async fn health(State(state): State<AppState>) -> Result<Response, ApiError> {
    let change_head = state.store.change_head().await?;
    let jobs = state.store.job_health().await?;
    let search = match state.search.status(&state.store).await {
        Ok(status) => Some(status),
        Err(err) => {
            // A database that stopped answering between the two reads is an outage, not a
            // search problem.
            if let Some(store) = err.downcast_ref::<agora_store::StoreError>()
                && store.is_unavailable()
            {
                return Err(AppError::from(agora_store::StoreError::Unavailable(
                    store.to_string(),
                ))
                .into());
            }
            None
        }
    };
    let mut problems = state.faults.list();
    problems.extend(state.search.problems());
    if jobs.dead > 0 {
        problems.push(format!(
            "jobs: {} failed for good and will not run again until staff retry them on /admin",
            jobs.dead
        ));
    }
    if jobs.retrying > 0 {
        problems.push(format!(
            "jobs: {} failed and will be tried again",
            jobs.retrying
        ));
    }
    let totals = state.store.upload_totals().await?;
    let uploads = UploadHealth {
        count: totals.count,
        bytes: totals.bytes,
        stored_files: totals.stored_files,
        stored_bytes: totals.stored_bytes,
        cleaned: state.upload_stats.cleaned().0,
    };
    let health = Health {
        status: if problems.is_empty() {
            "ok"
        } else {
            "degraded"
        },
        problems,
        database: state.store.backend_name(),
        change_head,
        pending_views: state.views.pending(),
        dead_jobs: jobs.dead,
        retrying_jobs: jobs.retrying,
        search,
        uploads,
        cache: CacheHealth {
            hits: state.cache.hits(),
            renders: state.cache.renders(),
        },
    };
    Ok((StatusCode::OK, Json(health)).into_response())
}
