//! `/api/v1/admin`: the site settings, the site's images and the demo, for scripts. The same
//! services as `/admin/settings`; an admin-scoped token or a session (`AdminCaller`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};

use crate::api::extract::{AdminCaller, ApiJson};
use crate::api::write::Done;
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::permissions::{self, Action};
use crate::services::settings::{self as site, ImageChanges, ImageUpload};
use crate::settings::{SiteImage, SiteSettings};

#[derive(OpenApi)]
#[openapi(
    paths(settings, update_settings, put_image, delete_image, remove_demo),
    components(schemas(SiteSettings, DemoRemovedView, Done, ErrorBody))
)]
pub struct Doc;

#[utoipa::path(get, path = "/api/v1/admin/settings", tag = "admin",
    responses((status = 200, body = SiteSettings), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
/// The site settings in force (administrators).
pub async fn settings(
    State(state): State<AppState>,
    caller: AdminCaller,
) -> Result<Response, ApiError> {
    permissions::check(
        caller.account(),
        Action::Administer,
        agora_store::Timestamp::now(),
    )
    .map_err(AppError::from)?;
    Ok(Json(state.site().settings.clone()).into_response())
}

#[utoipa::path(patch, path = "/api/v1/admin/settings", tag = "admin",
    request_body(content = Object, description = "Any of the settings' fields, with their new values; the rest stay. The image fields are set through /api/v1/admin/site-images."),
    responses((status = 200, body = SiteSettings), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
/// Changes some settings: in force on every node within a second. A field this API does not
/// know, or a value that does not fit, is refused by name and nothing changes.
pub async fn update_settings(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(changes): ApiJson<serde_json::Map<String, serde_json::Value>>,
) -> Result<Response, ApiError> {
    permissions::check(
        caller.account(),
        Action::Administer,
        agora_store::Timestamp::now(),
    )
    .map_err(AppError::from)?;
    let current = site::current(&state).await?;
    let settings = merge(&current.settings, changes)?;
    match site::save(
        &state,
        caller.account(),
        settings,
        ImageChanges::default(),
        Some(current.version),
    )
    .await?
    {
        Ok(()) => Ok(Json(state.site().settings.clone()).into_response()),
        Err(errors) => Err(refused(errors).into()),
    }
}

/// `changes` laid over `current` (see [`SiteSettings::with_changes`]), as an API error.
fn merge(
    current: &SiteSettings,
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<SiteSettings, AppError> {
    current
        .with_changes(changes)
        .map_err(|(field, message)| AppError::bad_param(field, message))
}

/// The first problem as an API error: a save made meanwhile is a 409 `conflict` (try again),
/// the rest 400 naming the field.
fn refused(errors: crate::services::accounts::FieldErrors) -> AppError {
    match errors.0.into_iter().next() {
        Some(("version", message)) => AppError::Conflict {
            param: "version".into(),
            message,
        },
        Some((field, message)) => AppError::bad_param(field, message),
        None => AppError::bad_param("body", "The settings were refused."),
    }
}

fn image_param(name: &str) -> Result<SiteImage, AppError> {
    SiteImage::parse(name).ok_or_else(|| {
        AppError::not_found(format!(
            "There is no site image {name:?}: logo-light, logo-dark or favicon."
        ))
    })
}

#[utoipa::path(put, path = "/api/v1/admin/site-images/{name}", tag = "admin",
    params(("name" = String, Path, description = "logo-light, logo-dark or favicon.", example = "logo-light")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The image: PNG, JPEG, GIF, WebP or ICO, up to 1 MB. It is decoded, scaled down and stored as PNG."),
    responses((status = 200, body = SiteSettings), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
/// Uploads the logo (light or dark) or the favicon.
pub async fn put_image(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let image = image_param(&name)?;
    let current = site::current(&state).await?;
    let settings = current.settings.clone();
    let changes = ImageChanges {
        uploads: vec![ImageUpload {
            image,
            bytes: body.to_vec(),
        }],
        remove: Vec::new(),
    };
    if body.is_empty() {
        return Err(AppError::bad_param("body", "Send the image's bytes.").into());
    }
    match site::save(
        &state,
        caller.account(),
        settings,
        changes,
        Some(current.version),
    )
    .await?
    {
        Ok(()) => Ok(Json(state.site().settings.clone()).into_response()),
        Err(errors) if errors.get("version").is_some() => Err(refused(errors).into()),
        Err(errors) => Err(errors
            .0
            .into_iter()
            .next()
            .map(|(_, message)| AppError::bad_param("body", message))
            .unwrap_or_else(|| AppError::bad_param("body", "The image was refused."))
            .into()),
    }
}

#[utoipa::path(delete, path = "/api/v1/admin/site-images/{name}", tag = "admin",
    params(("name" = String, Path, description = "logo-light, logo-dark or favicon.", example = "logo-dark")),
    responses((status = 200, body = SiteSettings), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
/// Goes back to the built-in logo or favicon.
pub async fn delete_image(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let image = image_param(&name)?;
    let current = site::current(&state).await?;
    let settings = current.settings.clone();
    let changes = ImageChanges {
        uploads: Vec::new(),
        remove: vec![image],
    };
    match site::save(
        &state,
        caller.account(),
        settings,
        changes,
        Some(current.version),
    )
    .await?
    {
        Ok(()) => Ok(Json(state.site().settings.clone()).into_response()),
        Err(errors) => Err(refused(errors).into()),
    }
}

/// What removing the demo took away.
#[derive(Debug, Serialize, ToSchema)]
pub struct DemoRemovedView {
    pub threads: u64,
    /// Demo threads kept because members wrote in them.
    pub kept_threads: u64,
    pub subtopics: u64,
    pub areas: u64,
    pub tags: u64,
    pub users: u64,
}

#[utoipa::path(post, path = "/api/v1/admin/demo/remove", tag = "admin",
    responses((status = 200, body = DemoRemovedView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
/// Removes the demo content and nothing else (a second call removes nothing).
pub async fn remove_demo(
    State(state): State<AppState>,
    caller: AdminCaller,
) -> Result<Response, ApiError> {
    let removed = site::remove_demo(&state, caller.account()).await?;
    Ok((
        StatusCode::OK,
        Json(DemoRemovedView {
            threads: removed.threads,
            kept_threads: removed.kept_threads,
            subtopics: removed.subtopics,
            areas: removed.areas,
            tags: removed.tags,
            users: removed.users,
        }),
    )
        .into_response())
}
