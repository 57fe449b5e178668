//! JSON API v1 writes: the same actions as the forms, through the same services and the same
//! permission checks. Callers prove who they are with a personal API token
//! (`Authorization: Bearer agora_…`; write scope for anything that changes something) or, for
//! the site's own scripts, the session cookie (then cross-site requests are refused).

use agora_store::{AnswerMark, PinScope, ThreadKind};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{ApiJson, SignedIn, Writer, integer};
use crate::api::schema;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::client_ip::ClientIp;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::paths::{parse_post_id, parse_thread_id};
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;
use crate::services::read::RawCursorParams;
use crate::services::{moderation, posting, render};
use crate::views::{AuditPageView, AuthorView, FlagQueueView};

fn first_error(errors: FieldErrors) -> AppError {
    errors
        .into_error()
        .err()
        .unwrap_or_else(|| AppError::bad_param("body", "invalid"))
}

/// The API's tags, as the services read them (slugs separated by spaces). The schema's
/// `maxItems` counts what was sent, before repeats are folded, and so does this.
fn tag_list(tags: &[String]) -> Result<String, AppError> {
    if tags.len() > posting::MAX_TAGS {
        return Err(AppError::bad_param(
            "tags",
            format!("Use at most {} tags.", posting::MAX_TAGS),
        ));
    }
    Ok(tags.join(" "))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Done {
    pub ok: bool,
}

/// `200 {ok: true}`: a write that has nothing else to say.
pub(crate) fn done() -> Response {
    Json(Done { ok: true }).into_response()
}

/// The caller's own account.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    #[serde(flatten)]
    pub user: AuthorView,
    pub email: Option<String>,
    pub email_verified: bool,
    /// `read` or `write` when called with a token; null with a session.
    #[schema(schema_with = crate::views::schema::token_scope)]
    pub token_scope: Option<String>,
    pub suspended_until: Option<String>,
}

/// The caller's own account. It carries the email address, so it is never stored by a cache.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn me(SignedIn(viewer): SignedIn) -> Result<Response, ApiError> {
    let account = viewer.require()?;
    Ok(Json(MeView {
        user: AuthorView::from(&account.brief),
        email: account.email.clone(),
        email_verified: account.email_verified,
        token_scope: viewer.token_scope.map(|s| s.as_str().to_string()),
        suspended_until: account.suspended_until.map(|t| t.to_rfc3339()),
    })
    .into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewThreadBody {
    /// `area/subtopic`: an existing subtopic.
    #[schema(schema_with = schema::subtopic)]
    pub subtopic: String,
    #[schema(schema_with = schema::title)]
    pub title: String,
    /// Existing tag slugs.
    #[schema(schema_with = schema::tags)]
    pub tags: Vec<String>,
    /// A question can have an accepted answer; a discussion cannot.
    #[serde(default = "question")]
    #[schema(schema_with = schema::thread_kind)]
    pub kind: ThreadKind,
    /// Markdown.
    #[schema(schema_with = schema::body)]
    pub body: String,
}

fn question() -> ThreadKind {
    ThreadKind::Question
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedThread {
    pub thread: ThreadRef,
    /// The opening post.
    pub post_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ThreadRef {
    pub id: i64,
    pub url: String,
}

#[utoipa::path(post, path = "/api/v1/threads", tag = "writing", request_body = NewThreadBody,
    responses((status = 201, body = CreatedThread), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_thread(
    State(state): State<AppState>,
    writer: Writer,
    ip: ClientIp,
    ApiJson(body): ApiJson<NewThreadBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let draft = posting::ThreadDraft {
        subtopic: body.subtopic,
        title: body.title,
        tags: tag_list(&body.tags)?,
        kind: body.kind.as_str().to_string(),
        body: body.body,
    };
    match posting::start_thread(&state, account, ip, &draft).await? {
        Ok((thread, post, url)) => Ok((
            StatusCode::CREATED,
            Json(CreatedThread {
                thread: ThreadRef { id: thread.0, url },
                post_id: post.0,
            }),
        )
            .into_response()),
        Err(errors) => Err(first_error(errors).into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReplyBody {
    /// Markdown.
    #[schema(schema_with = schema::body)]
    pub body: String,
    /// The post of this thread the reply answers (shown as "In reply to @name"); it must be
    /// neither deleted nor hidden. Null or absent: a reply to the thread.
    #[serde(default, deserialize_with = "crate::api::extract::optional_integer")]
    #[schema(minimum = 1, example = 7)]
    pub reply_to: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedPost {
    pub post_id: i64,
    pub url: String,
}

#[utoipa::path(post, path = "/api/v1/threads/{id}/posts", tag = "writing", request_body = ReplyBody,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 201, body = CreatedPost), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn reply(
    State(state): State<AppState>,
    writer: Writer,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplyBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    let reply_to = match body.reply_to {
        Some(id) if id < 1 => {
            return Err(AppError::bad_param("reply_to", "must be a post id (1 or more)").into());
        }
        id => id.map(agora_store::PostId),
    };
    if let Some(answered) = reply_to
        && let Some(problem) = posting::reply_to_problem(&state, &thread, answered).await?
    {
        return Err(problem.into_error(answered).into());
    }
    match posting::reply(&state, account, ip, &thread, &body.body, reply_to).await? {
        Ok((post, url)) => Ok((
            StatusCode::CREATED,
            Json(CreatedPost {
                post_id: post.0,
                url,
            }),
        )
            .into_response()),
        Err(errors) => Err(first_error(errors).into()),
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct EditBody {
    #[schema(schema_with = schema::body)]
    pub body: String,
    /// Why, shown in the revision history.
    #[serde(default)]
    #[schema(schema_with = schema::edit_reason)]
    pub reason: String,
    /// The thread's new title (opening posts; checked but left on a reply). Null or absent:
    /// unchanged.
    #[schema(schema_with = schema::title_or_null)]
    pub title: Option<String>,
    /// The thread's new tags (opening posts; checked but left on a reply). Null or absent:
    /// unchanged.
    #[schema(schema_with = schema::tags_or_null)]
    pub tags: Option<Vec<String>>,
}

#[utoipa::path(patch, path = "/api/v1/posts/{id}", tag = "writing", request_body = EditBody,
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<EditBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let draft = posting::EditDraft {
        body: body.body,
        reason: body.reason,
        title: body.title,
        tags: body.tags.as_deref().map(tag_list).transpose()?,
    };
    match posting::edit(&state, account, &post, &draft).await? {
        Ok(_) => Ok(done()),
        Err(errors) => Err(first_error(errors).into()),
    }
}

#[utoipa::path(delete, path = "/api/v1/posts/{id}", tag = "writing",
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    posting::delete(&state, account, post).await?;
    Ok(done())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct BoostState {
    pub boosted: bool,
    pub boosts: i64,
}

#[utoipa::path(post, path = "/api/v1/posts/{id}/boost", tag = "writing",
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = BoostState), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 429, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn boost(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let (boosted, boosts) = posting::boost(&state, account, post).await?;
    Ok(Json(BoostState { boosted, boosts }).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostRef {
    /// A post of this thread.
    #[serde(deserialize_with = "integer")]
    #[schema(schema_with = schema::post_id)]
    pub post_id: i64,
}

async fn set_mark(
    state: &AppState,
    writer: &Writer,
    thread: &str,
    post: Option<i64>,
    mark: AnswerMark,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(state, parse_thread_id(thread)?).await?;
    let current = match mark {
        AnswerMark::Accepted => thread.accepted_post,
        AnswerMark::Recommended => thread.recommended_post,
    };
    let (post_id, on) = match post {
        Some(id) => (agora_store::PostId(id), true),
        None => match current {
            Some(id) => (id, false),
            // Nothing is marked: answer as unmarking would, had something been.
            None => {
                posting::check(account, Action::Unmark(&thread, mark))?;
                return Ok(done());
            }
        },
    };
    let post = posting::post_facts(state, post_id).await?;
    if post.thread.id != thread.id {
        return Err(AppError::bad_param("post_id", "That post is in another thread.").into());
    }
    posting::mark_answer(state, account, &post, mark, on).await?;
    Ok(done())
}

#[utoipa::path(put, path = "/api/v1/threads/{id}/accepted", tag = "writing", request_body = PostRef,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn accept(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostRef>,
) -> Result<Response, ApiError> {
    set_mark(
        &state,
        &writer,
        &id,
        Some(body.post_id),
        AnswerMark::Accepted,
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/threads/{id}/accepted", tag = "writing",
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn unaccept(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_mark(&state, &writer, &id, None, AnswerMark::Accepted).await
}

#[utoipa::path(put, path = "/api/v1/threads/{id}/recommended", tag = "writing", request_body = PostRef,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn recommend(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PostRef>,
) -> Result<Response, ApiError> {
    set_mark(
        &state,
        &writer,
        &id,
        Some(body.post_id),
        AnswerMark::Recommended,
    )
    .await
}

#[utoipa::path(delete, path = "/api/v1/threads/{id}/recommended", tag = "writing",
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn unrecommend(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    set_mark(&state, &writer, &id, None, AnswerMark::Recommended).await
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReasonBody {
    /// Shown to readers (or, for a flag, to the moderators).
    #[schema(schema_with = schema::reason)]
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/posts/{id}/flags", tag = "moderation", request_body = ReasonBody,
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 201, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 429, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn flag(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    moderation::flag(&state, account, post, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(Done { ok: true })).into_response())
}

#[utoipa::path(post, path = "/api/v1/posts/{id}/hidden", tag = "moderation", request_body = ReasonBody,
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn hide(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    moderation::hide(&state, account, post, Some(&body.reason)).await?;
    Ok(done())
}

#[utoipa::path(delete, path = "/api/v1/posts/{id}/hidden", tag = "moderation",
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn unhide(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    moderation::hide(&state, account, post, None).await?;
    Ok(done())
}

#[utoipa::path(post, path = "/api/v1/threads/{id}/lock", tag = "moderation", request_body = ReasonBody,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn lock(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReasonBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::lock(&state, account, &thread, Some(&body.reason)).await?;
    Ok(done())
}

#[utoipa::path(delete, path = "/api/v1/threads/{id}/lock", tag = "moderation",
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn unlock(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::lock(&state, account, &thread, None).await?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PinBody {
    /// Pinned at the top of its subtopic, of every listing, or not at all.
    #[schema(schema_with = schema::pin_choice)]
    pub scope: PinChoice,
}

/// Where a thread is pinned.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PinChoice {
    Subtopic,
    Global,
    None,
}

impl PinChoice {
    fn scope(self) -> Option<PinScope> {
        match self {
            Self::Subtopic => Some(PinScope::Subtopic),
            Self::Global => Some(PinScope::Global),
            Self::None => None,
        }
    }
}

#[utoipa::path(put, path = "/api/v1/threads/{id}/pin", tag = "moderation", request_body = PinBody,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn pin(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PinBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::pin(&state, account, &thread, body.scope.scope()).await?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveBody {
    /// `area/subtopic`: an existing subtopic.
    #[schema(schema_with = schema::subtopic)]
    pub subtopic: String,
}

#[utoipa::path(post, path = "/api/v1/threads/{id}/move", tag = "moderation", request_body = MoveBody,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn move_thread(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::move_to(&state, account, thread, &body.subtopic).await?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RetitleBody {
    #[schema(schema_with = schema::title)]
    pub title: String,
    /// Existing tag slugs.
    #[schema(schema_with = schema::tags)]
    pub tags: Vec<String>,
}

#[utoipa::path(patch, path = "/api/v1/threads/{id}", tag = "moderation", request_body = RetitleBody,
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn retitle(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RetitleBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    let tags = tag_list(&body.tags)?;
    moderation::retitle(&state, account, thread, &body.title, &tags)
        .await?
        .map_err(first_error)?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SuspendBody {
    /// The last day of the suspension (UTC), in the future.
    #[schema(schema_with = schema::suspension_end)]
    pub until: String,
    /// Shown to the suspended account.
    #[schema(schema_with = schema::reason)]
    pub reason: String,
}

#[utoipa::path(put, path = "/api/v1/users/{username}/suspension", tag = "moderation",
    request_body = SuspendBody, params(crate::api::UsernameParam),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn suspend(
    State(state): State<AppState>,
    writer: Writer,
    Path(crate::api::UsernameParam { username: name }): Path<crate::api::UsernameParam>,
    ApiJson(body): ApiJson<SuspendBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    moderation::suspend(&state, account, &name, Some((&body.until, &body.reason))).await?;
    Ok(done())
}

#[utoipa::path(delete, path = "/api/v1/users/{username}/suspension", tag = "moderation",
    params(crate::api::UsernameParam),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn unsuspend(
    State(state): State<AppState>,
    writer: Writer,
    Path(crate::api::UsernameParam { username: name }): Path<crate::api::UsernameParam>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    moderation::suspend(&state, account, &name, None).await?;
    Ok(done())
}

/// One page of the review queue, oldest flag first: `?after=ID` for newer flags, `?before=ID`
/// for older ones (the answer's `pager` links say which), the same pages as `/review`.
#[utoipa::path(get, path = "/api/v1/flags", tag = "moderation", params(RawCursorParams),
    responses((status = 200, body = FlagQueueView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn flags(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawCursorParams>,
) -> Result<Response, ApiError> {
    let view =
        moderation::flag_queue(&state, viewer.account.as_deref(), &raw, "/api/v1/flags").await?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ResolveBody {
    /// `dismiss` leaves the post as it is; `hide` hides it.
    #[schema(schema_with = schema::resolution)]
    pub resolution: Resolution,
}

/// What a moderator decides about a flag.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Resolution {
    Dismiss,
    Hide,
}

impl Resolution {
    pub const ALL: [Self; 2] = [Self::Dismiss, Self::Hide];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Dismiss => "dismiss",
            Self::Hide => "hide",
        }
    }
}

#[utoipa::path(post, path = "/api/v1/flags/{id}/resolve", tag = "moderation",
    request_body = ResolveBody, params(("id" = i64, Path, description = "A flag.", minimum = 1)),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn resolve_flag(
    State(state): State<AppState>,
    writer: Writer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> Result<Response, ApiError> {
    let account = writer.account();
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such flag."))?;
    moderation::resolve_flag(&state, account, id, body.resolution.as_str()).await?;
    Ok(done())
}

/// One page of the audit log, newest entry first: `?before=ID` for older entries, `?after=ID`
/// for newer ones, the same pages as `/audit`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "moderation", params(RawCursorParams),
    responses((status = 200, body = AuditPageView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawCursorParams>,
) -> Result<Response, ApiError> {
    let view =
        moderation::audit_page(&state, viewer.account.as_deref(), &raw, "/api/v1/audit").await?;
    Ok(Json(view).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreviewBody {
    /// Markdown, of any length a post may have (even too short to post).
    #[schema(schema_with = schema::preview_body)]
    pub body: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PreviewView {
    /// The sanitised HTML the Markdown becomes.
    pub html: String,
}

/// The HTML a post's Markdown becomes, without saving anything (any token scope): rendered as
/// a post is, so uploaded images show as their sized thumbnails and mentions as links.
#[utoipa::path(post, path = "/api/v1/preview", tag = "writing", request_body = PreviewBody,
    responses((status = 200, body = PreviewView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn preview(
    State(state): State<AppState>,
    _caller: SignedIn,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Response, ApiError> {
    if body.body.chars().count() > posting::BODY_CHARS.1 {
        return Err(AppError::bad_param("body", "Too long to preview.").into());
    }
    Ok(Json(PreviewView {
        html: render::post_html(&state, &body.body).await?,
    })
    .into_response())
}
