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
    #[error("the service is shutting down")]
    Unavailable,
    /// Not an error for the reader: the thing lives at another address now (an old slug).
    /// Answered 308 with `Location`.
    #[error("moved to {location}")]
    MovedTo { location: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
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

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound { .. } => StatusCode::NOT_FOUND,
            Self::BadRequest { .. } => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden(_)
            | Self::Suspended { .. }
            | Self::CrossSite
            | Self::InsufficientScope => StatusCode::FORBIDDEN,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::MovedTo { .. } => StatusCode::PERMANENT_REDIRECT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine-readable code of the JSON error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "not_found",
            Self::BadRequest { .. } => "bad_request",
            Self::Unauthorized => "unauthorized",
            Self::Forbidden(_) => "forbidden",
            Self::Suspended { .. } => "suspended",
            Self::InsufficientScope => "insufficient_scope",
            Self::Conflict { .. } => "conflict",
            Self::TooManyRequests { .. } => "rate_limited",
            Self::CrossSite => "cross_site",
            Self::Unavailable => "unavailable",
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
}

impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Closed => Self::Unavailable,
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
            _ => None,
        };
        let message = match &self {
            Self::BadRequest { message, .. } | Self::Conflict { message, .. } => message.clone(),
            other => other.public_message(),
        };
        let mut response = status.into_response();
        if let Self::TooManyRequests { retry_after } = &self {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        response.extensions_mut().insert(PageError {
            status,
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
    /// `insufficient_scope`, `conflict`, `rate_limited`, `cross_site`, `unavailable` or
    /// `internal`.
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
        if let AppError::TooManyRequests { retry_after } = &err {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, (*retry_after).into());
        }
        response
    }
}
