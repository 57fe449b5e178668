//! `/api/v1/admin`: areas, subtopics (with their rules) and tags, the same actions as
//! `/admin/structure` and `/admin/tags` through the same services. The caller is an
//! [`AdminCaller`] (a session, or an admin-scoped token); the services then ask
//! `permissions` (administrators only). Bad input is 400 naming the field; a clash with what
//! is stored (a slug taken, a subtopic still holding threads, an area with subtopics) is 409.

use agora_store::{AreaId, AreaRow, Direction, SubtopicId, SubtopicRow, TagBrief, TagRow};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::extract::{AdminCaller, ApiJson};
use crate::api::write::{Done, done};
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::structure::{self, AreaForm, By, Outcome, RulesForm, SubtopicForm, TagForm};

/// An area as the admin API shows it, archived ones included.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminAreaView {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub archived: bool,
    pub subtopics: Vec<AdminSubtopicView>,
}

/// A subtopic with its rules.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminSubtopicView {
    pub id: i64,
    /// The area's slug.
    pub area: String,
    pub slug: String,
    pub name: String,
    pub description: String,
    pub docs_url: Option<String>,
    /// Archived itself, or its area is.
    pub archived: bool,
    /// `everyone`, or `staff` (announcements).
    #[schema(schema_with = who_starts_schema)]
    pub who_starts: String,
    pub tags_required: bool,
    /// Allowed tags' slugs; empty: any tag.
    pub allowed_tags: Vec<String>,
    pub threads: i64,
}

fn who_starts_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(
            agora_store::WhoStarts::ALL
                .iter()
                .map(|w| w.as_str())
                .collect::<Vec<_>>(),
        ))
        .build()
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AdminTagView {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub threads: i64,
}

impl AdminSubtopicView {
    fn new(s: &SubtopicRow, allowed: &[(SubtopicId, TagBrief)]) -> Self {
        Self {
            id: s.id.0,
            area: s.area_slug.clone(),
            slug: s.slug.clone(),
            name: s.name.clone(),
            description: s.description.clone(),
            docs_url: s.docs_url.clone(),
            archived: s.archived,
            who_starts: s.who_starts.as_str().to_string(),
            tags_required: s.tags_required,
            allowed_tags: allowed
                .iter()
                .filter(|(id, _)| *id == s.id)
                .map(|(_, t)| t.slug.clone())
                .collect(),
            threads: s.thread_count,
        }
    }
}

impl AdminAreaView {
    fn new(a: &AreaRow, allowed: &[(SubtopicId, TagBrief)]) -> Self {
        Self {
            id: a.id.0,
            slug: a.slug.clone(),
            name: a.name.clone(),
            description: a.description.clone(),
            archived: a.archived,
            subtopics: a
                .subtopics
                .iter()
                .map(|s| AdminSubtopicView::new(s, allowed))
                .collect(),
        }
    }
}

impl From<&TagRow> for AdminTagView {
    fn from(t: &TagRow) -> Self {
        Self {
            slug: t.slug.clone(),
            name: t.name.clone(),
            description: t.description.clone(),
            threads: t.thread_count,
        }
    }
}

fn by(caller: &AdminCaller) -> By<'_> {
    By::Account(caller.account())
}

/// A service's refusal as the API's error.
fn refused<T>(outcome: Outcome<T>) -> Result<T, AppError> {
    outcome?.map_err(structure::Refused::into_error)
}

fn id_param(id: &str, what: &str) -> Result<i64, AppError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::not_found(format!("There is no {what} {id:?}.")))
}

fn direction(text: &str) -> Result<Direction, AppError> {
    match text {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        _ => Err(AppError::bad_param("move", "Write up or down.")),
    }
}

async fn area_view(state: &AppState, by: By<'_>, id: AreaId) -> Result<AdminAreaView, AppError> {
    let area = structure::area(state, id).await?;
    let allowed = structure::allowed_tags(state, by).await?;
    Ok(AdminAreaView::new(&area, &allowed))
}

async fn subtopic_view(
    state: &AppState,
    by: By<'_>,
    id: SubtopicId,
) -> Result<AdminSubtopicView, AppError> {
    let sub = structure::subtopic(state, id).await?;
    let allowed = structure::allowed_tags(state, by).await?;
    Ok(AdminSubtopicView::new(&sub, &allowed))
}

// ---- areas ----

/// Every area with its subtopics and their rules, archived ones included.
#[utoipa::path(get, path = "/api/v1/admin/areas", tag = "admin",
    responses((status = 200, body = Vec<AdminAreaView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn areas(
    State(state): State<AppState>,
    caller: AdminCaller,
) -> Result<Response, ApiError> {
    let areas = structure::areas(&state, by(&caller)).await?;
    let allowed = structure::allowed_tags(&state, by(&caller)).await?;
    let views: Vec<AdminAreaView> = areas
        .iter()
        .map(|a| AdminAreaView::new(a, &allowed))
        .collect();
    Ok(Json(views).into_response())
}

/// Creates an area (last in order).
#[utoipa::path(post, path = "/api/v1/admin/areas", tag = "admin", request_body = AreaForm,
    responses((status = 201, body = AdminAreaView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_area(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<AreaForm>,
) -> Result<Response, ApiError> {
    let id = refused(structure::create_area(&state, by(&caller), &body).await)?;
    Ok((
        StatusCode::CREATED,
        Json(area_view(&state, by(&caller), id).await?),
    )
        .into_response())
}

/// What to change about an area; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AreaPatch {
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub archived: Option<bool>,
    /// `up` or `down`: one place in the order.
    #[serde(rename = "move")]
    #[schema(schema_with = direction_schema)]
    pub move_to: Option<String>,
}

fn direction_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(["up", "down"]))
        .build()
}

/// Edits, archives or moves an area. A new slug leaves the old addresses redirecting.
#[utoipa::path(patch, path = "/api/v1/admin/areas/{id}", tag = "admin", request_body = AreaPatch,
    params(("id" = i64, Path, description = "An area.", minimum = 1, example = 1)),
    responses((status = 200, body = AdminAreaView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit_area(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<AreaPatch>,
) -> Result<Response, ApiError> {
    let id = AreaId(id_param(&id, "area")?);
    let area = structure::area(&state, id).await?;
    let mut form = AreaForm::from_row(&area);
    let edits = body.slug.is_some() || body.name.is_some() || body.description.is_some();
    if let Some(slug) = body.slug {
        form.slug = slug;
    }
    if let Some(name) = body.name {
        form.name = name;
    }
    if let Some(description) = body.description {
        form.description = description;
    }
    if edits {
        refused(structure::edit_area(&state, by(&caller), id, &form).await)?;
    }
    if let Some(archived) = body.archived {
        structure::archive_area(&state, by(&caller), id, archived).await?;
    }
    if let Some(to) = body.move_to {
        structure::move_area(&state, by(&caller), id, direction(&to)?).await?;
    }
    Ok(Json(area_view(&state, by(&caller), id).await?).into_response())
}

/// Deletes an area with no subtopics (else 409).
#[utoipa::path(delete, path = "/api/v1/admin/areas/{id}", tag = "admin",
    params(("id" = i64, Path, description = "An area.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn delete_area(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = AreaId(id_param(&id, "area")?);
    refused(structure::delete_area(&state, by(&caller), id).await)?;
    Ok(done())
}

// ---- subtopics ----

/// Creates a subtopic (last in its area; anyone may start threads, tags required, any tag).
#[utoipa::path(post, path = "/api/v1/admin/subtopics", tag = "admin", request_body = SubtopicForm,
    responses((status = 201, body = AdminSubtopicView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_subtopic(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<SubtopicForm>,
) -> Result<Response, ApiError> {
    let id = refused(structure::create_subtopic(&state, by(&caller), &body).await)?;
    Ok((
        StatusCode::CREATED,
        Json(subtopic_view(&state, by(&caller), id).await?),
    )
        .into_response())
}

/// What to change about a subtopic; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubtopicPatch {
    /// Another area's slug moves the subtopic there.
    pub area: Option<String>,
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// An http(s) address; empty removes the link.
    pub docs_url: Option<String>,
    pub archived: Option<bool>,
    /// `up` or `down`: one place within its area.
    #[serde(rename = "move")]
    #[schema(schema_with = direction_schema)]
    pub move_to: Option<String>,
    /// `everyone`, or `staff` (announcements).
    #[schema(schema_with = who_starts_schema)]
    pub who_starts: Option<String>,
    pub tags_required: Option<bool>,
    /// The allowed tags' slugs; an empty list allows any tag.
    pub allowed_tags: Option<Vec<String>>,
}

/// Edits a subtopic, its rules, its order or whether it is archived. A new slug or area
/// leaves the old address redirecting.
#[utoipa::path(patch, path = "/api/v1/admin/subtopics/{id}", tag = "admin", request_body = SubtopicPatch,
    params(("id" = i64, Path, description = "A subtopic.", minimum = 1, example = 1)),
    responses((status = 200, body = AdminSubtopicView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit_subtopic(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<SubtopicPatch>,
) -> Result<Response, ApiError> {
    let id = SubtopicId(id_param(&id, "subtopic")?);
    let sub = structure::subtopic(&state, id).await?;
    let mut form = SubtopicForm::from_row(&sub);
    let edits = body.area.is_some()
        || body.slug.is_some()
        || body.name.is_some()
        || body.description.is_some()
        || body.docs_url.is_some();
    for (field, value) in [
        (&mut form.area, body.area),
        (&mut form.slug, body.slug),
        (&mut form.name, body.name),
        (&mut form.description, body.description),
        (&mut form.docs_url, body.docs_url),
    ] {
        if let Some(value) = value {
            *field = value;
        }
    }
    if edits {
        refused(structure::edit_subtopic(&state, by(&caller), id, &form).await)?;
    }
    if body.who_starts.is_some() || body.tags_required.is_some() || body.allowed_tags.is_some() {
        let allowed = structure::allowed_tags(&state, by(&caller)).await?;
        let mut rules = RulesForm::from_row(&sub, &allowed);
        if let Some(who) = body.who_starts {
            rules.who_starts = who;
        }
        if let Some(required) = body.tags_required {
            rules.tags_required = required;
        }
        if let Some(tags) = body.allowed_tags {
            rules.allowed_tags = tags.join(" ");
        }
        refused(structure::set_rules(&state, by(&caller), id, &rules).await)?;
    }
    if let Some(archived) = body.archived {
        structure::archive_subtopic(&state, by(&caller), id, archived).await?;
    }
    if let Some(to) = body.move_to {
        structure::move_subtopic(&state, by(&caller), id, direction(&to)?).await?;
    }
    Ok(Json(subtopic_view(&state, by(&caller), id).await?).into_response())
}

/// Deletes a subtopic holding no threads (else 409: move them first).
#[utoipa::path(delete, path = "/api/v1/admin/subtopics/{id}", tag = "admin",
    params(("id" = i64, Path, description = "A subtopic.", minimum = 1, example = 1)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn delete_subtopic(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = SubtopicId(id_param(&id, "subtopic")?);
    refused(structure::delete_subtopic(&state, by(&caller), id).await)?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoveThreadsBody {
    /// `area/subtopic`: where every thread goes.
    pub to: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MovedView {
    /// How many threads moved.
    pub moved: u64,
}

/// Moves every thread of a subtopic to another, as one audited action.
#[utoipa::path(post, path = "/api/v1/admin/subtopics/{id}/move-threads", tag = "admin", request_body = MoveThreadsBody,
    params(("id" = i64, Path, description = "A subtopic.", minimum = 1, example = 1)),
    responses((status = 200, body = MovedView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn move_threads(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MoveThreadsBody>,
) -> Result<Response, ApiError> {
    let id = SubtopicId(id_param(&id, "subtopic")?);
    let moved =
        refused(structure::move_threads(&state, by(&caller), id, &body.to).await).map_err(|e| {
            match e {
                AppError::BadRequest { message, .. } => AppError::bad_param("to", message),
                other => other,
            }
        })?;
    Ok(Json(MovedView { moved }).into_response())
}

// ---- tags ----

/// Every tag with its thread count.
#[utoipa::path(get, path = "/api/v1/admin/tags", tag = "admin",
    responses((status = 200, body = Vec<AdminTagView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn tags(
    State(state): State<AppState>,
    caller: AdminCaller,
) -> Result<Response, ApiError> {
    let tags = structure::tags(&state, by(&caller)).await?;
    let views: Vec<AdminTagView> = tags.iter().map(AdminTagView::from).collect();
    Ok(Json(views).into_response())
}

async fn tag_view(state: &AppState, slug: &str) -> Result<AdminTagView, AppError> {
    Ok(AdminTagView::from(&structure::tag(state, slug).await?))
}

/// Creates a tag.
#[utoipa::path(post, path = "/api/v1/admin/tags", tag = "admin", request_body = TagForm,
    responses((status = 201, body = AdminTagView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create_tag(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<TagForm>,
) -> Result<Response, ApiError> {
    refused(structure::create_tag(&state, by(&caller), &body).await)?;
    Ok((
        StatusCode::CREATED,
        Json(tag_view(&state, body.slug.trim()).await?),
    )
        .into_response())
}

/// What to change about a tag; fields left out stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagPatch {
    /// A new slug renames the tag; the old address redirects.
    pub slug: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
}

/// Renames or describes a tag.
#[utoipa::path(patch, path = "/api/v1/admin/tags/{tag}", tag = "admin", request_body = TagPatch,
    params(("tag" = String, Path, example = "network")),
    responses((status = 200, body = AdminTagView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn edit_tag(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<TagPatch>,
) -> Result<Response, ApiError> {
    let tag = structure::tag(&state, &slug).await?;
    let mut form = TagForm::from_row(&tag);
    if let Some(new) = body.slug {
        form.slug = new;
    }
    if let Some(name) = body.name {
        form.name = name;
    }
    if let Some(description) = body.description {
        form.description = description;
    }
    refused(structure::edit_tag(&state, by(&caller), &slug, &form).await)?;
    Ok(Json(tag_view(&state, form.slug.trim()).await?).into_response())
}

/// Deletes a tag, taking it off its threads.
#[utoipa::path(delete, path = "/api/v1/admin/tags/{tag}", tag = "admin",
    params(("tag" = String, Path, example = "network")),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn delete_tag(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    structure::delete_tag(&state, by(&caller), &slug).await?;
    Ok(done())
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The tag that remains.
    pub into: String,
}

/// Merges a tag into another: its threads carry the other (once), its address redirects.
#[utoipa::path(post, path = "/api/v1/admin/tags/{tag}/merge", tag = "admin", request_body = MergeBody,
    params(("tag" = String, Path, example = "network")),
    responses((status = 200, body = AdminTagView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn merge_tag(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(slug): Path<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<Response, ApiError> {
    refused(structure::merge_tag(&state, by(&caller), &slug, &body.into).await)?;
    Ok(Json(tag_view(&state, body.into.trim()).await?).into_response())
}
