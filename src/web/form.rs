//! The form extractor every page handler uses: axum's, with its rejections answered the way
//! the rest of the forum answers bad input.
//!
//! A body over the limit is 413; anything else wrong with the form (a field sent twice, a
//! value of the wrong type) is 400 naming the field, not axum's 422.

use axum::extract::rejection::FormRejection;
use axum::extract::{FromRequest, Request};

use crate::error::AppError;

/// A URL-encoded form body.
pub struct Form<T>(pub T);

impl<T, S> FromRequest<S> for Form<T>
where
    axum::Form<T>: FromRequest<S, Rejection = FormRejection>,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, AppError> {
        match axum::Form::<T>::from_request(request, state).await {
            Ok(axum::Form(value)) => Ok(Self(value)),
            Err(rejection) => Err(crate::body::rejected(
                rejection.status(),
                &rejection.body_text(),
            )),
        }
    }
}

/// Whether a writing form was sent from one of this site's pages, by the same rules as the
/// router's cross-site check (`tower_http::csrf`: `Sec-Fetch-Site`, then `Origin` against the
/// host). The router lets the writing forms (`/new`, a reply, an edit: see [`keeps_text`])
/// through that check so that a refused submit can show the form again with the text in it;
/// their handlers take this extractor and change nothing when it says cross-site.
#[derive(Clone, Copy, Debug)]
pub struct FormSource {
    pub cross_site: bool,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for FormSource {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        use tower::{Layer, ServiceExt};
        let mut probe = axum::http::Request::new(());
        *probe.method_mut() = parts.method.clone();
        *probe.uri_mut() = parts.uri.clone();
        for name in ["origin", "sec-fetch-site", "host"] {
            if let Some(value) = parts.headers.get(name) {
                probe.headers_mut().insert(name, value.clone());
            }
        }
        let check = tower_http::csrf::CsrfLayer::new().layer(tower::service_fn(
            |_: axum::http::Request<()>| async {
                Ok::<_, std::convert::Infallible>(axum::http::Response::new(()))
            },
        ));
        let cross_site = match check.oneshot(probe).await {
            Ok(response) => !response.status().is_success(),
            Err(never) => match never {},
        };
        Ok(Self { cross_site })
    }
}

/// The writing forms whose handlers check their own source ([`FormSource`]), so that a
/// cross-site refusal shows the form again with the text instead of a bare error page.
pub fn keeps_text(method: &axum::http::Method, uri: &axum::http::Uri) -> bool {
    if method != axum::http::Method::POST {
        return false;
    }
    let parts: Vec<&str> = uri.path().split('/').collect();
    matches!(
        parts.as_slice(),
        ["", "new"] | ["", "thread", _, "reply"] | ["", "posts", _, "edit"]
    )
}

/// RFC 8058's one-click unsubscribe: a mail provider posts it from its own servers, from no
/// page of ours. Its token is the whole authority, and it only turns notification email off.
pub fn one_click(method: &axum::http::Method, uri: &axum::http::Uri) -> bool {
    method == axum::http::Method::POST && uri.path().starts_with("/unsubscribe/")
}

/// A writing form (a new thread, a reply, an edit) as sent: URL-encoded, or multipart with
/// files attached (`files`, the form's file field, which works without JavaScript). The
/// text fields are read into `T` either way. A file over the size limit stops the reading:
/// the fields before it (the form puts the file field last) are kept and `refused` says why,
/// so the form comes back with the text in it.
pub struct WritingForm<T> {
    pub form: T,
    pub files: Vec<crate::services::uploads::IncomingFile>,
    /// A file refused while reading (over the size limit).
    pub refused: Option<AppError>,
}

impl<T> FromRequest<crate::app::AppState> for WritingForm<T>
where
    T: serde::de::DeserializeOwned + Send,
{
    type Rejection = AppError;

    async fn from_request(
        request: Request,
        state: &crate::app::AppState,
    ) -> Result<Self, AppError> {
        let multipart = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        if !multipart {
            // Text alone: the ordinary limit (the route's own is for files).
            let (parts, body) = request.into_parts();
            let bytes = axum::body::to_bytes(body, crate::body::MAX_BODY_BYTES)
                .await
                .map_err(|_| AppError::PayloadTooLarge {
                    limit_kb: (crate::body::MAX_BODY_BYTES / 1024) as u64,
                })?;
            let request = Request::from_parts(parts, axum::body::Body::from(bytes));
            let Form(form) = Form::<T>::from_request(request, state).await?;
            return Ok(Self {
                form,
                files: Vec::new(),
                refused: None,
            });
        }
        let mut multipart = axum::extract::Multipart::from_request(request, state)
            .await
            .map_err(|e| crate::body::rejected(e.status(), &e.body_text()))?;
        let max = crate::services::uploads::max_file_bytes(state);
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut files = Vec::new();
        let mut refused = None;
        while let Some(mut field) = multipart
            .next_field()
            .await
            .map_err(|e| crate::body::rejected(e.status(), &e.body_text()))?
        {
            let name = field.name().unwrap_or_default().to_string();
            if let Some(file_name) = field.file_name().map(str::to_string) {
                if name != "files" || file_name.is_empty() {
                    continue;
                }
                match crate::body::read_file(&mut field, max).await? {
                    Ok(bytes) if !bytes.is_empty() => {
                        files.push(crate::services::uploads::IncomingFile {
                            name: file_name,
                            bytes: bytes.into(),
                        });
                    }
                    Ok(_) => {}
                    Err(err) => {
                        refused = Some(err);
                        break;
                    }
                }
                continue;
            }
            let value = field
                .text()
                .await
                .map_err(|e| crate::body::rejected(e.status(), &e.body_text()))?;
            pairs.push((name, value));
        }
        let encoded = serde_urlencoded::to_string(&pairs)
            .map_err(|e| AppError::bad_param("form", e.to_string()))?;
        let form = serde_urlencoded::from_str::<T>(&encoded).map_err(|e| {
            crate::body::rejected(axum::http::StatusCode::BAD_REQUEST, &e.to_string())
        })?;
        Ok(Self {
            form,
            files,
            refused,
        })
    }
}
