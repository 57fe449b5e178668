//! What the API takes from a request, each refusing with a JSON error: the caller ([`Writer`],
//! [`SignedIn`]), the query string ([`ApiQuery`]) and the JSON body ([`ApiJson`]).
//!
//! Order matters: axum runs extractors in argument order and reads the body last, so a handler
//! that takes `Writer` (or `SignedIn`) before `ApiJson` answers an anonymous caller 401 before
//! it looks at what was sent.

use std::sync::Arc;

use agora_store::{Account, TokenScope};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::{ApiError, AppError};

/// The caller of a write: signed in (else 401) and not with a read-only token (else 403).
pub struct Writer(pub Arc<Account>);

impl Writer {
    /// The account, as the services take it.
    pub fn account(&self) -> Option<&Account> {
        Some(&self.0)
    }
}

impl FromRequestParts<AppState> for Writer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if viewer.token_scope == Some(TokenScope::Read) {
            return Err(AppError::InsufficientScope.into());
        }
        viewer
            .account
            .map(Self)
            .ok_or_else(|| AppError::Unauthorized.into())
    }
}

/// A caller of `/api/v1/admin`: signed in with a session, or with an admin-scoped token
/// (401 without either; 403 `insufficient_scope` for a read or write token). What the
/// account may do there is still the services' permission check.
pub struct AdminCaller(pub std::sync::Arc<Account>);

impl AdminCaller {
    pub fn account(&self) -> Option<&Account> {
        Some(&self.0)
    }
}

impl FromRequestParts<AppState> for AdminCaller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if matches!(
            viewer.token_scope,
            Some(TokenScope::Read | TokenScope::Write)
        ) {
            return Err(AppError::InsufficientScope.into());
        }
        viewer
            .account
            .map(Self)
            .ok_or_else(|| AppError::Unauthorized.into())
    }
}

/// A signed-in caller, with a session or a token of either scope (else 401).
pub struct SignedIn(pub Viewer);

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        if viewer.signed_in() {
            Ok(Self(viewer))
        } else {
            Err(AppError::Unauthorized.into())
        }
    }
}

/// A query string whose parse errors are JSON errors (`param`: `query`).
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(AppError::bad_param("query", rejection.body_text()).into()),
        }
    }
}

/// A JSON body whose errors are API errors naming the field at fault (`tags[2]`, `post_id`),
/// or `body` for the body as a whole (not JSON, no JSON content type).
pub struct ApiJson<T>(pub T);

fn json_content_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        if !json_content_type(request.headers()) {
            return Err(AppError::bad_param(
                "body",
                "Send a JSON body with `Content-Type: application/json`.",
            )
            .into());
        }
        // Over the size limit: 413, as everywhere (`body::rejected`).
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                crate::body::rejected(rejection.status(), &rejection.body_text())
            })?;
        // Every body is an object. Serde would also fill a struct from an array of its fields
        // in order (`["text"]`), which the schema does not allow.
        if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(AppError::bad_param("body", "Send a JSON object.").into());
        }
        let mut reader = serde_json::Deserializer::from_slice(&bytes);
        let value: T = serde_path_to_error::deserialize(&mut reader).map_err(|error| {
            let path = error.path().to_string();
            let param = if path == "." {
                "body".to_string()
            } else {
                path
            };
            AppError::bad_param(param, error.into_inner().to_string())
        })?;
        reader
            .end()
            .map_err(|error| AppError::bad_param("body", error.to_string()))?;
        Ok(Self(value))
    }
}

/// An integer field of a JSON body. JSON does not tell `22` from `22.0` and JSON Schema calls
/// both integers, so both are taken; a fraction, or a number beyond `i64`, is refused.
pub fn integer<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let number = serde_json::Number::deserialize(deserializer)?;
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    // 2^63 is the first float beyond i64::MAX; every float below it with no fraction fits.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    match number.as_f64() {
        Some(f) if f.fract() == 0.0 && (-LIMIT..LIMIT).contains(&f) => Ok(f as i64),
        _ => Err(serde::de::Error::custom(format!(
            "{number} is not an integer of at most 64 bits"
        ))),
    }
}

/// [`integer`] for a field that may be null or absent (with `#[serde(default)]`).
pub fn optional_integer<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<i64>, D::Error> {
    #[derive(Deserialize)]
    struct Whole(#[serde(deserialize_with = "integer")] i64);
    Ok(Option::<Whole>::deserialize(deserializer)?.map(|w| w.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct MaybeId {
        #[serde(default, deserialize_with = "optional_integer")]
        id: Option<i64>,
    }

    #[test]
    fn optional_integers_too() {
        let id = |json: &str| serde_json::from_str::<MaybeId>(json).map(|v| v.id).ok();
        assert_eq!(id(r#"{"id": 7.0}"#), Some(Some(7)));
        assert_eq!(id(r#"{"id": null}"#), Some(None));
        assert_eq!(id(r#"{}"#), Some(None));
        assert_eq!(id(r#"{"id": 7.5}"#), None);
    }

    #[derive(Debug, Deserialize)]
    struct Id {
        #[serde(deserialize_with = "integer")]
        id: i64,
    }

    fn id(json: &str) -> Option<i64> {
        serde_json::from_str::<Id>(json).ok().map(|v| v.id)
    }

    #[test]
    fn integers_may_be_written_as_floats_without_a_fraction() {
        assert_eq!(id(r#"{"id": 22}"#), Some(22));
        assert_eq!(id(r#"{"id": 22.0}"#), Some(22));
        assert_eq!(id(r#"{"id": -4e3}"#), Some(-4000));
        assert_eq!(id(r#"{"id": 22.5}"#), None);
        assert_eq!(id(r#"{"id": 9223372036854775808}"#), None);
        assert_eq!(id(r#"{"id": 1e19}"#), None);
        assert_eq!(id(r#"{"id": "22"}"#), None);
    }

    #[test]
    fn json_content_types() {
        let mut headers = HeaderMap::new();
        assert!(!json_content_type(&headers));
        for (value, json) in [
            ("application/json", true),
            ("Application/JSON; charset=utf-8", true),
            ("application/merge-patch+json", true),
            ("text/plain", false),
            ("application/jsonx", false),
        ] {
            headers.insert(
                header::CONTENT_TYPE,
                value.parse().unwrap_or_else(|e| panic!("{e}")),
            );
            assert_eq!(json_content_type(&headers), json, "{value}");
        }
    }
}
