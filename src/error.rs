//! One error type for every handler, and the one place it becomes a response.
//!
//! Policy: a missing thing is 404 and says what was missing; bad input is 400 and names the
//! parameter and what would be accepted; anything unexpected is logged with its cause and
//! answered with a plain 500 that leaks nothing. Pages get an HTML page (rendered by the
//! `error_pages` middleware, which has the site's layout); the API gets JSON with a stable
//! `code`. `MovedTo` is the one non-error: a 308 to where the thing lives now (an old slug).

use agora_store::StoreError;
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{what}")]
    NotFound { what: String },
    /// It was here and was removed on purpose (an uploaded file): 410.
    #[error("{0}")]
    Gone(String),
    #[error("{param}: {message}")]
    BadRequest { param: String, message: String },
    #[error("Sign in to do that.")]
    Unauthorized,
    #[error("{0}")]
    Forbidden(String),
    #[error("Your account is suspended until {until}: {reason}")]
    Suspended { until: String, reason: String },
    #[error("This API token may only read; create a token with the write scope.")]
    InsufficientScope,
    #[error("{param}: {message}")]
    Conflict { param: String, message: String },
    #[error("Too many requests: try again in {retry_after} seconds.")]
    TooManyRequests { retry_after: u64 },
    #[error("This request came from another site, so it was refused. Use the forms on this site.")]
    CrossSite,
    #[error("The forum cannot reach its database right now. Please try again in a moment.")]
    Unavailable,
    #[error("The forum took too long to answer. Please try again in a moment.")]
    TimedOut,
    #[error(
        "The forum's storage is full, so nothing can be saved right now. The operator has to free space; please try again later."
    )]
    StorageFull,
    #[error("The request is too large: at most {limit_kb} KB are accepted.")]
    PayloadTooLarge { limit_kb: u64 },
    /// An uploaded file refused: `code` says why for programs (`too_large`, `quota_exceeded`,
    /// `type_not_allowed`, `not_what_it_says`, `damaged`, `too_many_pixels`, `script`,
    /// `bad_name`, `empty`, …), `message` for people. 413 for sizes, 400 otherwise.
    #[error("{message}")]
    UploadRefused {
        code: &'static str,
        message: String,
        too_large: bool,
    },
    /// Not an error for the reader: the thing lives at another address now (an old slug).
    /// Answered 308 with `Location`.
    #[error("moved to {location}")]
    MovedTo { location: String },
    #[error(transparent)]
    Internal(anyhow::Error),
}

/// Seconds a client is asked to wait when the database is unavailable.
pub const RETRY_AFTER_UNAVAILABLE: u64 = 5;

impl From<anyhow::Error> for AppError {
    /// A store error carried inside (from a service that returns `anyhow`) keeps its meaning:
    /// an outage is still 503, a full disk still 507.
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<StoreError>() {
            Ok(store) => store.into(),
            Err(err) => Self::Internal(err),
        }
    }
}

impl AppError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    pub fn bad_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadRequest {
            param: param.into(),
            message: message.into(),
        }
    }

    /// An old slug's 308 (`MovedTo` a page's new path) aimed at another form of the same
    /// thing's address (its feed, its API route): `to` builds that from the page's path.
    pub fn moved_along(self, to: impl FnOnce(&str) -> String) -> Self {
        match self {
            Self::MovedTo { location } => Self::MovedTo {
                location: to(&location),
            },
            other => other,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::Gone(_) => StatusCode::GONE,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_)
            | Self::Suspended { .. }
            | Self::CrossSite
            | Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable | Self::TimedOut => StatusCode::SERVICE_UNAVAILABLE,
            Self::StorageFull => StatusCode::INSUFFICIENT_STORAGE,
            Self::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadRefused {
                too_large: true, ..
            } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UploadRefused { .. } => StatusCode::BAD_REQUEST,
            Self::MovedTo { .. } => StatusCode::PERMANENT_REDIRECT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the JSON error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::Gone(_) => "gone",
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Suspended { .. } => "suspended",
            Self::InsufficientScope => "insufficient_scope",
            Self::Conflict { .. } => "conflict",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::CrossSite => "cross_site",
            Self::Unavailable => "unavailable",
            Self::TimedOut => "timeout",
            Self::StorageFull => "storage_full",
            Self::PayloadTooLarge { .. } => "too_large",
            Self::UploadRefused { code, .. } => code,
            Self::MovedTo { .. } => "moved",
            Self::Internal(_) => "internal",
        }
    }

    /// What a reader is told. Internal errors are never described.
    pub fn public_message(&self) -> String {
        match self {
            Self::Internal(_) => {
                "Something went wrong on our side. It has been logged; please try again.".into()
            }
            other => other.to_string(),
        }
    }

    fn log(&self) {
        if let Self::Internal(cause) = self {
            tracing::error!(error = ?cause, "request failed");
        }
    }

    /// Seconds to wait before trying again, for the errors that have one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::TooManyRequests { retry_after } => Some(*retry_after),
            Self::Unavailable | Self::TimedOut => Some(RETRY_AFTER_UNAVAILABLE),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Closed => Self::Unavailable,
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::Unavailable
            }
            StoreError::StorageFull(cause) => {
                tracing::error!(error = %cause, "the database's storage is full: writes fail until space is freed");
                Self::StorageFull
            }
            StoreError::Unstorable(_) => Self::bad_param(
                "text",
                "The text holds characters that cannot be stored (NUL or other control characters).",
            ),
            StoreError::Conflict { field, message } => Self::Conflict {
                param: field.to_string(),
                message,
            },
            other => Self::Internal(other.into()),
        }
    }
}

/// Carried from a failed page handler to the `error_pages` middleware, which renders it.
#[derive(Clone, Debug)]
pub struct PageError {
    pub status: StatusCode,
    /// The JSON error's stable code, for `api_errors`.
    pub code: &'static str,
    pub message: String,
    pub param: Option<String>,
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        if let Self::MovedTo { location } = &self {
            return axum::response::Redirect::permanent(location).into_response();
        }
        self.log();
        let status = self.status();
        let param = match &self {
            Self::BadRequest { param, .. } | Self::Conflict { param, .. } => Some(param.clone()),
            Self::UploadRefused { .. } => Some("file".to_string()),
            _ => None,
        };
        let message = match &self {
            Self::BadRequest { message, .. } | Self::Conflict { message, .. } => message.clone(),
            other => other.public_message(),
        };
        let mut response = status.into_response();
        if let Some(retry_after) = self.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
        }
        response.extensions_mut().insert(PageError {
            status,
            code: self.code(),
            message,
            param,
        });
        response
    }
}

/// The JSON API's error body.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable: `not_found`, `bad_request`, `unauthorized`, `forbidden`, `suspended`,
    /// `insufficient_scope`, `conflict`, `rate_limited`, `cross_site`, `too_large`,
    /// `unavailable` or `timeout` (both with `Retry-After`), `storage_full` or `internal`.
    pub code: &'static str,
    pub message: String,
    /// The query or path parameter at fault, for `bad_request`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub param: Option<String>,
}

/// An [`AppError`] answered as JSON.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl<E: Into<AppError>> From<E> for ApiError {
    fn from(err: E) -> Self {
        Self(err.into())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let err = self.0;
        if let AppError::MovedTo { location } = &err {
            return axum::response::Redirect::permanent(location).into_response();
        }
        err.log();
        let (param, message) = match &err {
            AppError::BadRequest { param, message } | AppError::Conflict { param, message } => {
                (Some(param.clone()), message.clone())
            }
            AppError::UploadRefused { message, .. } => (Some("file".into()), message.clone()),
            other => (None, other.public_message()),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: err.code(),
                message,
                param,
            },
        };
        let mut response = (err.status(), Json(body)).into_response();
        if let Some(retry_after) = err.retry_after() {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, retry_after.into());
        }
        response
    }
}

/// Under `/api`, an error raised before a handler ran (an extractor's rejection, which
/// carries a [`PageError`] for the HTML pages) is answered as the JSON error, never as an
/// empty body.
pub async fn api_errors(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<PageError>().cloned() else {
        return plain_rejection_as_json(response).await;
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code: error.code,
            message: error.message,
            param: error.param,
        },
    };
    let mut headers = response.headers().clone();
    headers.remove(axum::http::header::CONTENT_LENGTH);
    headers.remove(axum::http::header::CONTENT_TYPE);
    (error.status, headers, Json(body)).into_response()
}

/// axum's own rejections (a malformed query string or path) answer plain text: under `/api`
/// they become the JSON error too, `bad_request` for any 4xx.
async fn plain_rejection_as_json(response: Response) -> Response {
    let status = response.status();
    let plain = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/plain"));
    if !status.is_client_error() || !plain {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        _ => "bad_request",
    };
    let body = ErrorBody {
        error: ErrorDetail {
            code,
            message: text,
            param: None,
        },
    };
    let mut headers = parts.headers;
    headers.remove(axum::http::header::CONTENT_LENGTH);
    headers.remove(axum::http::header::CONTENT_TYPE);
    let status = if status == StatusCode::UNPROCESSABLE_ENTITY {
        StatusCode::BAD_REQUEST
    } else {
        status
    };
    (status, headers, Json(body)).into_response()
}

/// How long a request may take before it is answered 503 `timeout`.
pub const REQUEST_DEADLINE: std::time::Duration = std::time::Duration::from_secs(30);

/// Answers a request that is still running at [`REQUEST_DEADLINE`] with the 503 `timeout`
/// error (dropping the work), inside the error middlewares so that it gets the HTML page or
/// the JSON body like any other error.
pub async fn deadline(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    match tokio::time::timeout(REQUEST_DEADLINE, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!("a request ran past the deadline and was answered 503");
            AppError::TimedOut.into_response()
        }
    }
}

/// A handler that panicked is answered with the plain 500 (logged), not a dropped connection.
pub fn panicked(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    AppError::Internal(anyhow::anyhow!("a handler panicked: {message}")).into_response()
}
