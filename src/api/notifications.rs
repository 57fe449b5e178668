//! `/api/v1/notifications` and `/api/v1/watches`: what the caller was told, marking it read,
//! and how closely they follow a thread, a subtopic or a tag. The same store and rules as the
//! pages (`web::notifications`).

use agora_store::{Timestamp, WatchLevel};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{ApiJson, ApiQuery, SignedIn, Writer};
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::permissions::Action;
use crate::services::posting;
use crate::views::TimeView;

/// One notification.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// mention, quote, reply, staff_answer, watched, new_thread, accepted, recommended, boost,
    /// moderated or reminder.
    pub kind: String,
    /// What happened, in a sentence.
    pub text: String,
    /// The post's permalink (or the thread's).
    pub url: String,
    pub thread_id: i64,
    pub thread_title: String,
    pub post_id: Option<i64>,
    /// Who did it (the latest, for boosts).
    pub actor: Option<String>,
    /// How many (boosts); 1 otherwise.
    pub count: i64,
    /// A moderator's reason, or a reminder's note.
    pub reason: Option<String>,
    pub created_at: TimeView,
    pub read: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationsView {
    /// Newest first.
    pub notifications: Vec<NotificationView>,
    /// Unread, counted up to 100.
    pub unread: i64,
    /// The next page: `?before=` this id; null on the last page.
    pub before: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationsQuery {
    /// Notifications older than this id (the previous page's `before`).
    #[param(schema_with = before_schema)]
    pub before: Option<String>,
}

fn before_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1))
        .maximum(Some(i64::MAX))
        .description(Some(
            "Notifications older than this id (a page's `before`).",
        ))
        .build()
}

/// `before`: absent, or decimal digits (no sign) from 1 to the largest id.
fn parse_before(text: Option<&str>) -> Result<Option<i64>, AppError> {
    let Some(text) = text else {
        return Ok(None);
    };
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<i64>().ok())
        .flatten()
        .filter(|n| *n >= 1)
        .map(Some)
        .ok_or_else(|| {
            AppError::bad_param(
                "before",
                format!("{text:?} is not a notification id (1 or more)."),
            )
        })
}

/// The caller's notifications, 30 a page.
#[utoipa::path(get, path = "/api/v1/notifications", tag = "notifications", params(NotificationsQuery),
    responses((status = 200, body = NotificationsView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    SignedIn(viewer): SignedIn,
    ApiQuery(query): ApiQuery<NotificationsQuery>,
) -> Result<Response, ApiError> {
    let account = viewer.require()?;
    let before = parse_before(query.before.as_deref())?;
    const PAGE: i64 = 30;
    let mut rows = state
        .store
        .notifications_of(account.brief.id, before, PAGE + 1)
        .await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let now = Timestamp::now();
    let notifications: Vec<NotificationView> = rows
        .iter()
        .map(|row| {
            let page = crate::web::notifications::view_of(row, now);
            NotificationView {
                id: row.id,
                kind: row.kind.clone(),
                text: page.text,
                url: page.url,
                thread_id: row.thread.0,
                thread_title: row.thread_title.clone(),
                post_id: row.post.map(|p| p.0),
                actor: row.actor.clone(),
                count: row.count,
                reason: row.reason.clone(),
                created_at: page.created_at,
                read: row.read,
            }
        })
        .collect();
    let before = more.then(|| notifications.last().map(|n| n.id)).flatten();
    let unread = state.store.unread_count(account.brief.id).await?;
    Ok(Json(NotificationsView {
        notifications,
        unread,
        before,
    })
    .into_response())
}

/// Which notifications to mark read: all, or those about one thread.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReadBody {
    /// Only this thread's; null or absent: all.
    #[serde(default, deserialize_with = "crate::api::extract::optional_integer")]
    #[schema(minimum = 1)]
    pub thread_id: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReadView {
    /// How many were marked read.
    pub marked: u64,
    /// Unread now, counted up to 100.
    pub unread: i64,
}

/// Marks the caller's notifications read.
#[utoipa::path(post, path = "/api/v1/notifications/read", tag = "notifications", request_body = ReadBody,
    responses((status = 200, body = ReadView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn read(
    State(state): State<AppState>,
    writer: Writer,
    ApiJson(body): ApiJson<ReadBody>,
) -> Result<Response, ApiError> {
    let account = &writer.0;
    if body.thread_id.is_some_and(|t| t < 1) {
        return Err(AppError::bad_param("thread_id", "must be a thread id (1 or more)").into());
    }
    let marked = state
        .store
        .mark_read(
            account.brief.id,
            body.thread_id.map(agora_store::ThreadId),
            Vec::new(),
        )
        .await?;
    let unread = state.store.unread_count(account.brief.id).await?;
    Ok(Json(ReadView { marked, unread }).into_response())
}

/// How closely to follow a thread, a subtopic or a tag.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WatchBody {
    /// `thread`, `subtopic` or `tag`.
    #[schema(schema_with = crate::views::schema::watch_target)]
    pub target: String,
    /// A thread's id (as a string of digits), a subtopic's `area/subtopic`, a tag's slug.
    #[schema(example = "6")]
    pub id: String,
    /// watching, watching_first_post (subtopics and tags), tracking, normal or muted.
    #[schema(schema_with = crate::views::schema::watch_level)]
    pub level: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WatchView {
    pub target: String,
    pub id: String,
    pub level: String,
}

/// Sets the caller's level for a thread, a subtopic or a tag.
#[utoipa::path(put, path = "/api/v1/watches", tag = "notifications", request_body = WatchBody,
    responses((status = 200, body = WatchView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn watch(
    State(state): State<AppState>,
    writer: Writer,
    ApiJson(body): ApiJson<WatchBody>,
) -> Result<Response, ApiError> {
    let account = &writer.0;
    posting::check(Some(account), Action::Watch)?;
    let level = WatchLevel::parse(&body.level).ok_or_else(|| {
        AppError::bad_param("level", "Choose watching, tracking, normal or muted.")
    })?;
    let target =
        crate::web::notifications::watch_target(&state, &body.target, &body.id, level).await?;
    state
        .store
        .set_watch(account.brief.id, target, level)
        .await?;
    Ok((
        StatusCode::OK,
        Json(WatchView {
            target: body.target,
            id: body.id,
            level: level.as_str().to_string(),
        }),
    )
        .into_response())
}

/// Its routes' documentation, merged into the API's.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(list, read, watch),
    components(schemas(
        NotificationView,
        NotificationsView,
        ReadBody,
        ReadView,
        WatchBody,
        WatchView
    ))
)]
pub struct Doc;
