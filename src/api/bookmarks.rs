//! `/api/v1/bookmarks`: the caller's own bookmarks (posts and threads saved with a note and a
//! reminder). The same service and rules as the pages (`services::bookmarks`); nobody reads
//! or removes another's bookmark (its id answers 404, as one that never existed).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, ApiQuery, SignedIn, Writer};
use crate::api::schema;
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::bookmarks::{self, BookmarkInput, Remind};
use crate::services::read::{self, RawPageParam};
use crate::views::BookmarkView;
use agora_store::{PostId, ThreadId, Timestamp};

#[derive(Debug, Serialize, ToSchema)]
pub struct BookmarksView {
    /// This page of them, newest first (those about a post or thread the caller can no longer
    /// see are left out).
    pub bookmarks: Vec<BookmarkView>,
    /// How many the caller has (that it can see).
    pub total: i64,
    pub page: u32,
    pub total_pages: u32,
}

/// A bookmark to save: of a whole thread, or of one of its posts; it replaces the caller's
/// bookmark of the same thread or post.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BookmarkBody {
    #[serde(deserialize_with = "crate::api::extract::integer")]
    #[schema(minimum = 1, example = 6)]
    pub thread_id: i64,
    /// One post of that thread; null or absent: the whole thread.
    #[serde(default, deserialize_with = "crate::api::extract::optional_integer")]
    #[schema(minimum = 1)]
    pub post_id: Option<i64>,
    #[serde(default)]
    #[schema(schema_with = schema::bookmark_note)]
    pub note: String,
    #[serde(default)]
    #[schema(schema_with = schema::remind_at)]
    pub remind_at: Option<String>,
}

fn parse_bookmark_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::bad_param("id", "A bookmark id is a whole number from 1."))
}

/// The caller's bookmarks, 30 a page.
#[utoipa::path(get, path = "/api/v1/bookmarks", tag = "bookmarks", params(RawPageParam),
    responses((status = 200, body = BookmarksView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    ApiQuery(query): ApiQuery<RawPageParam>,
) -> Result<Response, ApiError> {
    let account = viewer.require()?;
    let page = read::parse_page(&query.page)?;
    let (rows, total) = bookmarks::page_of(&state, Some(account), page).await?;
    let now = Timestamp::now();
    Ok(Json(BookmarksView {
        bookmarks: rows.iter().map(|row| BookmarkView::new(row, now)).collect(),
        total,
        page,
        total_pages: bookmarks::total_pages(total),
    })
    .into_response())
}

/// Bookmarks a thread or a post, with a note and a reminder (a `reminder` notification at
/// `remind_at`), replacing the caller's bookmark of it: its reminder, changed or cleared, no
/// longer fires at the old time. A reminder in the past or a note too long is 400 naming the
/// field; a thread or post the caller cannot see is 404; a post of another thread is 409
/// (`post_id`). Nothing is saved on any of them.
#[utoipa::path(put, path = "/api/v1/bookmarks", tag = "bookmarks", request_body = BookmarkBody,
    responses((status = 200, body = BookmarkView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn save(
    State(state): State<AppState>,
    writer: Writer,
    ApiJson(body): ApiJson<BookmarkBody>,
) -> Result<Response, ApiError> {
    if body.thread_id < 1 {
        return Err(AppError::bad_param("thread_id", "must be a thread id (1 or more)").into());
    }
    let post = match body.post_id {
        Some(id) if id < 1 => {
            return Err(AppError::bad_param("post_id", "must be a post id (1 or more)").into());
        }
        id => id.map(PostId),
    };
    let remind = match body.remind_at.as_deref() {
        None => Remind::Never,
        Some(text) => Remind::At(Timestamp::parse_rfc3339(text).map_err(|why| {
            AppError::bad_param(
                "remind_at",
                format!("{why}: give a time such as 2031-01-31T09:00:00Z"),
            )
        })?),
    };
    let row = bookmarks::save(
        &state,
        writer.account(),
        BookmarkInput {
            thread: ThreadId(body.thread_id),
            post,
            note: body.note,
            remind,
        },
    )
    .await?;
    Ok(Json(BookmarkView::new(&row, Timestamp::now())).into_response())
}

/// Removes one of the caller's bookmarks (and its reminder).
#[utoipa::path(delete, path = "/api/v1/bookmarks/{id}", tag = "bookmarks",
    params(("id" = i64, Path, description = "A bookmark of the caller's.", minimum = 1)),
    responses((status = 204, description = "Removed."), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    bookmarks::remove(&state, writer.account(), parse_bookmark_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Its routes' documentation, merged into the API's.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, save, remove),
    components(schemas(BookmarkView, BookmarksView, BookmarkBody))
)]
pub struct Doc;
