//! `/api/v1/drafts`: the caller's own drafts (what they are writing, kept for each place).
//! The forum's pages save drafts through it as one types; nobody reads another's draft (a
//! draft id of someone else's answers 404, as one that never existed).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, SignedIn, Writer};
use crate::api::schema;
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::drafts::{self, Outcome};
use crate::views::DraftView;
use agora_store::{DraftContent, DraftPlace, PostId, Timestamp};

#[derive(Debug, Serialize, ToSchema)]
pub struct DraftsView {
    /// The most recently saved first.
    pub drafts: Vec<DraftView>,
}

/// A draft to keep: where it belongs and every field of its form as typed (those the place
/// does not use may be left out).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DraftBody {
    #[schema(schema_with = schema::draft_place)]
    pub place: String,
    #[serde(default)]
    #[schema(schema_with = schema::draft_subtopic)]
    pub subtopic: String,
    #[serde(default)]
    #[schema(schema_with = schema::draft_title)]
    pub title: String,
    #[serde(default)]
    #[schema(schema_with = schema::draft_tags)]
    pub tags: String,
    #[serde(default)]
    #[schema(schema_with = schema::draft_thread_kind)]
    pub thread_kind: String,
    #[serde(default)]
    #[schema(schema_with = schema::draft_body)]
    pub body: String,
    /// A reply's answered post.
    #[serde(default, deserialize_with = "crate::api::extract::optional_integer")]
    #[schema(minimum = 1)]
    pub reply_to: Option<i64>,
    #[serde(default)]
    #[schema(schema_with = schema::draft_reason)]
    pub reason: String,
}

fn parse_draft_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_param("id", "A draft id is a whole number from 1."))
}

/// The caller's drafts.
#[utoipa::path(get, path = "/api/v1/drafts", tag = "drafts",
    responses((status = 200, body = DraftsView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
) -> Result<Response, ApiError> {
    let now = Timestamp::now();
    let drafts = drafts::list(&state, viewer.account.as_deref())
        .await?
        .into_iter()
        .map(|row| DraftView::new(row, now))
        .collect();
    Ok(Json(DraftsView { drafts }).into_response())
}

/// Keeps a draft for its place, replacing the one there. A draft with every field empty is
/// deleted instead (204). Longer than a post may be: 400 naming the field, nothing kept.
#[utoipa::path(put, path = "/api/v1/drafts", tag = "drafts", request_body = DraftBody,
    responses((status = 200, body = DraftView), (status = 204, description = "Nothing typed: the draft is gone."),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn save(
    State(state): State<AppState>,
    writer: Writer,
    ApiJson(body): ApiJson<DraftBody>,
) -> Result<Response, ApiError> {
    let place = DraftPlace::parse(&body.place).ok_or_else(|| {
        AppError::bad_param(
            "place",
            "Name the place as thread, reply:{thread id} or edit:{post id}.",
        )
    })?;
    let reply_to = match body.reply_to {
        Some(id) if id < 1 => {
            return Err(AppError::bad_param("reply_to", "must be a post id (1 or more)").into());
        }
        id => id.map(PostId),
    };
    let content = DraftContent {
        subtopic: body.subtopic,
        title: body.title,
        tags: body.tags,
        kind: body.thread_kind,
        body: body.body,
        reply_to,
        reason: body.reason,
    };
    match drafts::save(&state, writer.account(), place, content).await? {
        Err(errors) => Err(errors
            .into_error()
            .err()
            .unwrap_or_else(|| AppError::bad_param("body", "invalid"))
            .into()),
        Ok(Outcome::Cleared) => Ok(StatusCode::NO_CONTENT.into_response()),
        Ok(Outcome::Saved(saved)) => {
            let row = drafts::by_id(&state, writer.account(), saved.id).await?;
            Ok(Json(DraftView::new(row, Timestamp::now())).into_response())
        }
    }
}

/// One of the caller's drafts.
#[utoipa::path(get, path = "/api/v1/drafts/{id}", tag = "drafts",
    params(("id" = i64, Path, description = "A draft of the caller's.", minimum = 1)),
    responses((status = 200, body = DraftView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn show(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row = drafts::by_id(&state, viewer.account.as_deref(), parse_draft_id(&id)?).await?;
    Ok(Json(DraftView::new(row, Timestamp::now())).into_response())
}

/// Discards one of the caller's drafts.
#[utoipa::path(delete, path = "/api/v1/drafts/{id}", tag = "drafts",
    params(("id" = i64, Path, description = "A draft of the caller's.", minimum = 1)),
    responses((status = 204, description = "Discarded."), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn discard(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    drafts::discard(&state, writer.account(), parse_draft_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Its routes' documentation, merged into the API's.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, save, show, discard),
    components(schemas(DraftView, DraftsView, DraftBody))
)]
pub struct Doc;
