//! `/api/v1/uploads`: upload an image or a file for a post (the compose form's paste, drop and
//! file button use this too), list the caller's uploads, delete one. The same service and
//! rules as the forms (`services::uploads`): a refusal is a JSON error whose `code` says why
//! (`too_large` and `quota_exceeded` with 413; `type_not_allowed`, `not_what_it_says`,
//! `damaged`, `too_many_pixels`, `script`, `bad_name`, `empty` with 400) and nothing is kept.

use axum::Json;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::extract::Writer;
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::uploads::{self, IncomingFile};
use agora_store::UploadRow;

/// An upload, and how a post shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct UploadView {
    /// Its name in addresses.
    #[schema(example = "k3j5h2m9q8w4abcd")]
    pub token: String,
    /// The file name as uploaded.
    pub name: String,
    /// The whole file's address.
    pub url: String,
    /// What to put in a post to show it.
    #[schema(example = "![screenshot](/uploads/k3j5h2m9q8w4abcd/screenshot.png)")]
    pub markdown: String,
    pub image: bool,
    pub content_type: String,
    /// Bytes as stored (images after re-encoding).
    pub size: i64,
    /// Pixels (0 for files).
    pub width: i64,
    pub height: i64,
    /// RFC 3339.
    pub created_at: String,
    /// Deleted or removed: the posts showing it say so.
    pub removed: bool,
}

impl UploadView {
    pub fn new(row: &UploadRow) -> Self {
        UploadView {
            token: row.token.clone(),
            name: row.name.clone(),
            url: uploads::url_of(row),
            markdown: uploads::markdown_of(row),
            image: row.image,
            content_type: row.content_type.clone(),
            size: row.bytes,
            width: row.width,
            height: row.height,
            created_at: row.created_at.to_rfc3339(),
            removed: row.removed(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UploadsView {
    /// The caller's uploads for posts, newest first (at most 200).
    pub uploads: Vec<UploadView>,
}

/// The upload's multipart body.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct UploadForm {
    /// The file, with its name (the part's `filename`): an image (JPEG, PNG, GIF, WebP) or a
    /// file of a type the site allows, checked by content.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
}

/// Uploads one file (multipart, field `file`). Images are re-encoded without their metadata
/// (turned upright first) and get thumbnails; other files must be of an allowed type, checked
/// by content. The answer's `markdown` shows it in a post.
#[utoipa::path(post, path = "/api/v1/uploads", tag = "uploads",
    request_body(content = UploadForm, content_type = "multipart/form-data",
        description = "One part named `file`."),
    responses((status = 201, body = UploadView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn create(
    State(state): State<AppState>,
    writer: Writer,
    mut multipart: Multipart,
) -> Result<Response, ApiError> {
    let max = uploads::max_file_bytes(&state);
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::body::rejected(e.status(), &e.body_text()))?
    {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_string();
        let bytes = crate::body::read_file(&mut field, max).await??;
        let uploaded = uploads::upload(
            &state,
            writer.account(),
            IncomingFile {
                name,
                bytes: bytes.into(),
            },
        )
        .await?;
        return Ok((StatusCode::CREATED, Json(UploadView::new(&uploaded.upload))).into_response());
    }
    Err(AppError::bad_param("file", "Send the file as a multipart part named \"file\".").into())
}

/// The caller's uploads for posts, newest first.
#[utoipa::path(get, path = "/api/v1/uploads", tag = "uploads",
    responses((status = 200, body = UploadsView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(State(state): State<AppState>, writer: Writer) -> Result<Response, ApiError> {
    let rows = uploads::of_member(&state, writer.account()).await?;
    Ok(Json(UploadsView {
        uploads: rows.iter().map(UploadView::new).collect(),
    })
    .into_response())
}

/// Deletes one of the caller's uploads (a moderator: anyone's). Posts that show it then say
/// it was removed.
#[utoipa::path(delete, path = "/api/v1/uploads/{token}", tag = "uploads",
    params(("token" = String, Path, description = "The upload's token.")),
    responses((status = 204, description = "Removed."), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 503, body = ErrorBody),
        (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn remove(
    State(state): State<AppState>,
    writer: Writer,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    uploads::remove(&state, writer.account(), &token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Its routes' documentation, merged into the API's.
#[derive(utoipa::OpenApi)]
#[openapi(
    paths(create, list, remove),
    components(schemas(UploadView, UploadsView, UploadForm))
)]
pub struct Doc;
