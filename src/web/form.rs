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
