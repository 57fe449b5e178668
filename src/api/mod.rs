//! JSON API v1: the same reads as the pages, the same views, documented by an OpenAPI 3.1
//! document generated from these handlers (`/api/v1/openapi.json`). Writes are in [`write`].

pub mod admin_members;
pub mod admin_site;
pub mod admin_structure;
pub mod bookmarks;
pub mod drafts;
pub mod extract;
pub mod notifications;
pub mod schema;
pub mod uploads;
pub mod write;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::OpenApi;

use crate::api::extract::ApiQuery;
use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::http_cache::cached;
use crate::paths::{parse_post_id, parse_thread_id};
use crate::services::read::{self, ListingParams, RawListingParams, RawPageParam};
use crate::views::*;

const JSON: &str = "application/json";

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, AppError> {
    serde_json::to_string(value).map_err(|e| AppError::Internal(e.into()))
}

/// The API's address of a listing whose page moved to `page` (an old slug): `/api/v1`, the
/// page's path, `/threads`, and the query as asked.
fn api_moved(page: &str, uri: &Uri) -> String {
    match uri.query() {
        Some(query) => format!("/api/v1{page}/threads?{query}"),
        None => format!("/api/v1{page}/threads"),
    }
}

fn key(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string()
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agora API",
        version = "1",
        description = "Read and write the forum: areas, listings, threads, users and revisions; posting, boosts, answers and moderation. Writes take a personal API token (`Authorization: Bearer agora_…`, created on the settings page; the write scope for changes); the caller is checked (401, or 403 for a read-only token) before the body is read. Errors are JSON with a stable `code`. Answers that carry an account's own data are sent with `Cache-Control: no-store`."
    ),
    paths(areas, subtopic_threads, tag_threads, tags, thread, user, revisions, search, similar,
        write::me, write::create_thread, write::reply, write::edit, write::delete, write::boost,
        write::accept, write::unaccept, write::recommend, write::unrecommend, write::flag,
        write::hide, write::unhide, write::lock, write::unlock, write::pin, write::move_thread,
        write::retitle, write::suspend, write::unsuspend, write::flags, write::resolve_flag,
        write::audit, write::preview,
        admin_structure::areas, admin_structure::create_area, admin_structure::edit_area,
        admin_structure::delete_area, admin_structure::create_subtopic,
        admin_structure::edit_subtopic, admin_structure::delete_subtopic,
        admin_structure::move_threads, admin_structure::tags, admin_structure::create_tag,
        admin_structure::edit_tag, admin_structure::delete_tag, admin_structure::merge_tag),
    components(schemas(ErrorBody)),
    modifiers(&TokenAuth)
)]
pub struct ApiDoc;

/// Declares the bearer token the write endpoints take.
struct TokenAuth;

impl utoipa::Modify for TokenAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document, built once.
pub fn openapi_json() -> String {
    let mut doc = ApiDoc::openapi();
    // Each admin module documents its own routes.
    doc.merge(admin_site::Doc::openapi());
    doc.merge(admin_members::Doc::openapi());
    doc.merge(drafts::Doc::openapi());
    doc.merge(notifications::Doc::openapi());
    doc.merge(bookmarks::Doc::openapi());
    doc.merge(uploads::Doc::openapi());
    doc.to_pretty_json().unwrap_or_else(|_| "{}".to_string())
}

pub async fn openapi(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async {
            crate::http_cache::depends_on(&state, [agora_store::Scope::Everything]);
            Ok(openapi_json())
        },
    )
    .await?)
}

/// `{username}` in a path.
#[derive(Debug, Deserialize)]
pub struct UsernameParam {
    pub username: String,
}

/// Written by hand: the derive drops `required` and the description beside `schema_with`.
impl utoipa::IntoParams for UsernameParam {
    fn into_params(
        _: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        vec![
            ParameterBuilder::new()
                .name("username")
                .parameter_in(ParameterIn::Path)
                .required(utoipa::openapi::Required::True)
                .description(Some("A username (an unknown one is 404)."))
                .schema(Some(schema::username()))
                .example(Some("javery".into()))
                .build(),
        ]
    }
}

/// Areas with their subtopics.
#[utoipa::path(get, path = "/api/v1/areas", tag = "forum",
    responses((status = 200, body = HomeView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn areas(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async { to_json(&read::home(&state).await?) },
    )
    .await?)
}

/// One page of a subtopic's threads, pinned threads first on page 1 of the default sort.
#[utoipa::path(get, path = "/api/v1/topics/{area}/{subtopic}/threads", tag = "forum",
    params(("area" = String, Path, example = "app-system-services"),
        ("subtopic" = String, Path, example = "networking"), RawListingParams),
    responses((status = 200, body = SubtopicPageView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn subtopic_threads(
    State(state): State<AppState>,
    Path((area, sub)): Path<(String, String)>,
    ApiQuery(raw): ApiQuery<RawListingParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = ListingParams::parse(&raw)?;
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async {
            let view = read::subtopic_page(&state, &area, &sub, params)
                .await
                .map_err(|e| e.moved_along(|to| api_moved(to, &uri)))?;
            to_json(&view)
        },
    )
    .await?)
}

/// One page of a tag's threads.
#[utoipa::path(get, path = "/api/v1/tags/{tag}/threads", tag = "forum",
    params(("tag" = String, Path, example = "network"), RawListingParams),
    responses((status = 200, body = TagPageView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn tag_threads(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    ApiQuery(raw): ApiQuery<RawListingParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = ListingParams::parse(&raw)?;
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async {
            let view = read::tag_page(&state, &slug, params)
                .await
                .map_err(|e| e.moved_along(|to| api_moved(to, &uri)))?;
            to_json(&view)
        },
    )
    .await?)
}

/// Every tag.
#[utoipa::path(get, path = "/api/v1/tags", tag = "forum",
    responses((status = 200, body = Vec<TagView>), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn tags(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async { to_json(&read::tags(&state).await?) },
    )
    .await?)
}

/// A thread and one page (50) of its posts.
#[utoipa::path(get, path = "/api/v1/threads/{id}", tag = "forum",
    params(("id" = i64, Path, description = "A thread.", minimum = 1, example = 6), RawPageParam),
    responses((status = 200, body = ThreadPageView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn thread(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(raw): ApiQuery<RawPageParam>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = parse_thread_id(&id)?;
    let page = read::parse_page(&raw.page)?;
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async { to_json(&read::thread_page(&state, id, page, false).await?) },
    )
    .await?)
}

/// A user's profile and one page of one of its tabs (`tab`: everything they posted, newest
/// first, by default; or threads, replies, accepted answers, boosts given or received). Deleted
/// and hidden posts, and posts in removed threads, are never listed or counted.
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "forum",
    params(UsernameParam, read::RawProfileParams),
    responses((status = 200, body = UserPageView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn user(
    State(state): State<AppState>,
    Path(UsernameParam { username: name }): Path<UsernameParam>,
    ApiQuery(raw): ApiQuery<read::RawProfileParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let params = read::ProfileParams::parse(&raw)?;
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async { to_json(&read::user_page(&state, &name, params).await?) },
    )
    .await?)
}

/// Every revision of a post, newest first, with diffs.
#[utoipa::path(get, path = "/api/v1/posts/{id}/revisions", tag = "forum",
    params(("id" = i64, Path, description = "A post.", minimum = 1, example = 1)),
    responses((status = 200, body = RevisionsPageView), (status = 304, description = "Not modified (`If-None-Match`)"),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn revisions(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, ApiError> {
    let id = parse_post_id(&id)?;
    Ok(cached(
        &state,
        &Viewer::default(),
        &headers,
        key(&uri),
        JSON,
        || async { to_json(&read::revisions_page(&state, id, false).await?) },
    )
    .await?)
}

/// Anything else under /api: a JSON 404.
pub async fn not_found(uri: Uri) -> Response {
    ApiError(AppError::not_found(format!(
        "There is no API endpoint at {}.",
        uri.path()
    )))
    .into_response()
}

/// Search: the same results as the search page. The query language is the page's: words,
/// "phrases", -exclusions, `tag:`, `in:`, `author:`, `is:`, `before:`, `after:`, `sort:`.
/// A query that cannot be fully understood still answers 200, with `notices` saying why.
#[utoipa::path(get, path = "/api/v1/search", tag = "search",
    params(crate::services::search::SearchParams),
    responses((status = 200, body = crate::views::SearchPageView), (status = 400, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn search(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<crate::services::search::SearchParams>,
) -> Result<Response, ApiError> {
    let page = read::parse_page(&params.page)?;
    let view =
        crate::services::search::search_page(&state, params.q.as_deref().unwrap_or(""), page)
            .await?;
    Ok(axum::Json(view).into_response())
}

/// `?title=…&body=…&exclude=…` for [`similar`].
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimilarParams {
    /// The question's title as typed so far.
    pub title: Option<String>,
    /// The start of its body, if any.
    pub body: Option<String>,
    /// A thread to leave out (the one being read).
    #[param(value_type = Option<i64>)]
    pub exclude: Option<String>,
}

/// Up to five existing threads likely to answer a question being written, solved and
/// staff-answered first: what the compose form shows while a title is typed.
#[utoipa::path(get, path = "/api/v1/similar", tag = "search",
    params(SimilarParams),
    responses((status = 200, body = crate::views::SimilarView), (status = 400, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn similar(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<SimilarParams>,
) -> Result<Response, ApiError> {
    let exclude =
        match params.exclude.as_deref() {
            None => None,
            Some(text) => Some(text.parse::<i64>().map_err(|_| {
                AppError::bad_param("exclude", format!("{text:?} is not a thread id"))
            })?),
        };
    let title: String = params.title.unwrap_or_default().chars().take(300).collect();
    let body: String = params
        .body
        .unwrap_or_default()
        .chars()
        .take(2_000)
        .collect();
    let threads = if title.trim().is_empty() && body.trim().is_empty() {
        Vec::new()
    } else {
        crate::services::search::similar_views(
            &state,
            &title,
            &body,
            exclude.map(agora_store::ThreadId),
        )
        .await
    };
    Ok(axum::Json(crate::views::SimilarView { threads }).into_response())
}
