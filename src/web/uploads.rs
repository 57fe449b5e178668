//! Uploaded files served, and removed from the pages. Nothing uploaded ever runs in the
//! forum's origin: every answer carries `X-Content-Type-Options: nosniff` and a sandboxing
//! `Content-Security-Policy`, and anything but an image (re-encoded by `media`) is sent as an
//! attachment. With `uploads.origin` set, the forum's own addresses redirect to that origin,
//! and that origin serves nothing but uploads.

use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::uploads;

/// What an upload's answer may do in a browser: nothing (no script, no plugins, no forms,
/// no same-origin access even when opened directly).
pub const UPLOAD_CSP: &str =
    "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox";

/// How long browsers and proxies keep a file: a day (a removed one is gone within it), then
/// they ask again with its ETag.
const UPLOAD_CACHE: &str = "public, max-age=86400";

/// The host of the upload origin, when one is configured.
fn upload_host(state: &AppState) -> Option<String> {
    let origin = state.config.uploads.origin.trim();
    if origin.is_empty() {
        return None;
    }
    url::Url::parse(origin).ok().and_then(|u| {
        u.host_str().map(|h| match u.port() {
            Some(port) => format!("{h}:{port}"),
            None => h.to_string(),
        })
    })
}

fn request_host(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::HOST).and_then(|v| v.to_str().ok())
}

/// On the upload origin, only uploads are served (a page of the forum there would share the
/// origin with what members uploaded).
pub async fn upload_origin_only(
    State(state): State<AppState>,
    request: Request,
    next: axum::middleware::Next,
) -> Response {
    if let Some(host) = upload_host(&state) {
        let on_upload_host = request_host(request.headers()).is_some_and(|h| h == host);
        if on_upload_host && !request.uri().path().starts_with("/uploads/") {
            return (
                StatusCode::NOT_FOUND,
                "Only uploaded files are served here.",
            )
                .into_response();
        }
    }
    next.run(request).await
}

/// `Content-Disposition`: the name as uploaded (any script, RFC 5987), with an ASCII stand-in
/// for old clients.
fn disposition(inline: bool, name: &str) -> HeaderValue {
    let ascii: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' && c != ';' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // RFC 5987's attr-char: letters, digits and a few marks stay as they are.
    const ATTR: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    let encoded = percent_encoding::utf8_percent_encode(name, ATTR);
    let kind = if inline { "inline" } else { "attachment" };
    HeaderValue::from_str(&format!(
        "{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

async fn serve(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    token: &str,
    thumbnail: Option<&str>,
) -> Result<Response, AppError> {
    let served = uploads::served(state, token, thumbnail).await?;
    respond(state, headers, uri, served).await
}

/// Sends what `served` names: a redirect to the bucket, 304, or the bytes with headers that
/// keep them from running.
async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    uri: &axum::http::Uri,
    served: uploads::Served,
) -> Result<Response, AppError> {
    if let Some(host) = upload_host(state)
        && request_host(headers).is_some_and(|h| h != host)
    {
        let origin = state.config.uploads.origin.trim_end_matches('/');
        let path = uri.path_and_query().map_or(uri.path(), |p| p.as_str());
        return Ok(Redirect::permanent(&format!("{origin}{path}")).into_response());
    }
    if let Some(url) = uploads::redirect_url(state, &served).await? {
        let mut response = Redirect::temporary(&url).into_response();
        response.headers_mut().insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("private, max-age=60"),
        );
        return Ok(response);
    }
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == served.etag)
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let Some(bytes) = state.blobs.get(&served.key).await? else {
            tracing::error!(key = %served.key, "an upload's bytes are missing from the store");
            return Err(AppError::not_found("This file is missing."));
        };
        let mut response = bytes.into_response();
        let content_type = if served.inline {
            served.content_type.as_str()
        } else {
            "application/octet-stream"
        };
        if let Ok(value) = HeaderValue::from_str(content_type) {
            response.headers_mut().insert(header::CONTENT_TYPE, value);
        }
        response.headers_mut().insert(
            header::CONTENT_DISPOSITION,
            disposition(served.inline, &served.name),
        );
        response
    };
    let h = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&served.etag) {
        h.insert(header::ETAG, etag);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(UPLOAD_CACHE),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(UPLOAD_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `GET /uploads/{token}/{name}`: the whole file (the name is for people and downloads; the
/// token alone decides).
pub async fn file(
    State(state): State<AppState>,
    Path((token, _name)): Path<(String, String)>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    serve(&state, &headers, &uri, &token, None).await
}

/// `GET /uploads/{token}`: the same, for an address typed without the name.
pub async fn file_by_token(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    serve(&state, &headers, &uri, &token, None).await
}

/// `GET /uploads/{token}/t/{thumbnail}`: one of an image's smaller copies.
pub async fn thumbnail(
    State(state): State<AppState>,
    Path((token, thumbnail)): Path<(String, String)>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    serve(&state, &headers, &uri, &token, Some(&thumbnail)).await
}

/// `GET /avatars/{token}/{size}`: a member's picture at one of the sizes pages show.
pub async fn avatar(
    State(state): State<AppState>,
    Path((token, size)): Path<(String, String)>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    let size: u32 = size
        .parse()
        .map_err(|_| AppError::not_found("There is no such picture."))?;
    let served = uploads::served_avatar(&state, &token, size).await?;
    respond(&state, &headers, &uri, served).await
}

/// Where a removal goes back to.
#[derive(Debug, Default, serde::Deserialize)]
pub struct RemoveForm {
    /// `/admin/uploads` (the moderators' list); anything else: the member's settings.
    #[serde(default)]
    pub next: String,
}

/// `POST /uploads/{token}/delete`: its owner deletes it, or a moderator removes it; back to
/// the list it was removed from.
pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
    sent: crate::web::form::WritingForm<RemoveForm>,
) -> Result<Response, AppError> {
    uploads::remove(&state, viewer.account.as_deref(), &token).await?;
    if sent.form.next == "/admin/uploads" {
        return Ok(Redirect::to("/admin/uploads?done=removed").into_response());
    }
    Ok(Redirect::to("/settings?done=upload-removed#uploads").into_response())
}
