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
