//! `/healthz`: is the node up, which database it uses, and how far its change log is.

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::app::AppState;
use crate::error::ApiError;

#[derive(Serialize)]
pub struct Health {
    pub status: &'static str,
    pub database: &'static str,
    pub change_head: i64,
    pub pending_views: i64,
    /// This node's search index: documents, position and lag behind the change log.
    pub search: Option<crate::services::search::SearchStatus>,
}

pub async fn health(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    Ok(Json(Health {
        status: "ok",
        database: state.store.backend_name(),
        change_head: state.store.change_head().await?,
        pending_views: state.views.pending(),
        search: state.search.status(&state.store).await.ok(),
    }))
}
