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
            Self::BadRequest { param, .. } => Some(param.clone()),
            _ => None,
        };
        let message = match &self {
            Self::BadRequest { message, .. } => message.clone(),
            other => other.public_message(),
        };
        let mut response = status.into_response();
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
    /// Stable: `not_found`, `bad_request`, `unavailable` or `internal`.
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
            AppError::BadRequest { param, message } => (Some(param.clone()), message.clone()),
            other => (None, other.public_message()),
        };
        let body = ErrorBody {
            error: ErrorDetail {
                code: err.code(),
                message,
                param,
            },
        };
        (err.status(), Json(body)).into_response()
    }
}
