//! Request bodies: the size every route accepts, and how an extractor's rejection is answered
//! (413 over the limit, otherwise 400 naming the field), shared by the form and JSON
//! extractors of the pages and the API.

use axum::extract::Request;
use axum::http::StatusCode;

use crate::error::AppError;

/// Bodies larger than this are refused (413) on every route, before any handler reads them.
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The site settings' form and image uploads carry up to three images of 1 MB each beside
/// the pages' text: they may send this much (each image's own limit is checked by name).
pub const MAX_UPLOAD_BODY_BYTES: usize = 6 * 1024 * 1024;

/// What the routes that take a member's file (an upload, a writing form with files
/// attached, an avatar) may send: the largest file a site may allow
/// ([`crate::settings::MAX_UPLOAD_FILE_KB`]) and the form's text beside it. The site's own
/// limit, usually lower, is checked while the file is read, and its refusal names it.
pub const MAX_FILE_BODY_BYTES: usize =
    (crate::settings::MAX_UPLOAD_FILE_KB as usize) * 1024 + MAX_BODY_BYTES;

/// Whether `path` takes members' files.
pub fn takes_files(path: &str) -> bool {
    let parts: Vec<&str> = path.split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "uploads"]
            | ["", "new"]
            | ["", "thread", _, "reply"]
            | ["", "posts", _, "edit"]
            | ["", "settings", "avatar"]
    )
}

/// The largest body `path` accepts (as the router it is nested in sees it: the API's paths
/// without `/api/v1`).
pub fn limit_for(path: &str) -> usize {
    if path == "/admin/settings" || path.starts_with("/admin/site-images/") {
        MAX_UPLOAD_BODY_BYTES
    } else if takes_files(path) {
        MAX_FILE_BODY_BYTES
    } else {
        MAX_BODY_BYTES
    }
}

/// Our answer to an extractor's rejection (`status`, `text`): 413 stays 413, the rest is a 400
/// naming the field when the message names one (serde writes it between backticks).
pub fn rejected(status: StatusCode, text: &str) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        return AppError::PayloadTooLarge {
            limit_kb: (MAX_BODY_BYTES / 1024) as u64,
        };
    }
    let field = text
        .split('`')
        .nth(1)
        .filter(|f| {
            !f.is_empty()
                && f.len() <= 40
                && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        })
        .unwrap_or("body");
    let message = if text.contains("duplicate field") {
        format!("The field {field} was sent more than once; send it once.")
    } else {
        text.to_string()
    };
    AppError::bad_param(field, message)
}

/// Refuses a request whose declared length is over [`MAX_BODY_BYTES`] before any handler runs,
/// so a route that reads no body answers 413 too. Bodies without a length are cut off at the
/// same size by the extractors.
pub async fn limit_body(
    request: Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    // Files come as multipart; a form's text alone keeps the ordinary limit.
    let limit = match limit_for(request.uri().path()) {
        MAX_FILE_BODY_BYTES if !multipart => MAX_BODY_BYTES,
        limit => limit,
    };
    if declared.is_some_and(|n| n > limit as u64) {
        return AppError::PayloadTooLarge {
            limit_kb: (limit / 1024) as u64,
        }
        .into_response();
    }
    next.run(request).await
}

/// Reads one file part of a multipart body, at most `max` bytes. The outer error is a body
/// that cannot be read; the inner one the refusal of a file larger than `max` (named, with
/// the limit; the rest of it is left unread).
pub async fn read_file(
    field: &mut axum::extract::multipart::Field<'_>,
    max: u64,
) -> Result<Result<Vec<u8>, AppError>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field
        .chunk()
        .await
        .map_err(|e| rejected(e.status(), &e.body_text()))?
    {
        if (bytes.len() + chunk.len()) as u64 > max {
            let name = field.file_name().unwrap_or("This file").to_string();
            return Ok(Err(AppError::UploadRefused {
                code: "too_large",
                message: format!(
                    "{name} is larger than {}, the most a file may be.",
                    crate::services::uploads::human_size(max)
                ),
                too_large: true,
            }));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Ok(bytes))
}
