//! Unknown pages, and the HTML page every error a page handler returns is rendered as.

use super::*;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    layout: Layout,
    heading: String,
    message: String,
    param: Option<String>,
    signin: bool,
}

pub async fn not_found(uri: Uri) -> AppError {
    AppError::not_found(format!("There is no page at {}.", uri.path()))
}

/// Renders the HTML page for errors that page handlers returned (they carry a [`PageError`]).
/// The page shows who is signed in, so the cookie is kept aside (cheaply: one header value)
/// in case the handler fails.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cookie = request.headers().get(header::COOKIE).cloned();
    let response = next.run(request).await;
    let Some(error) = response.extensions().get::<PageError>().cloned() else {
        return response;
    };
    let heading = match error.status {
        StatusCode::NOT_FOUND => "Not found",
        StatusCode::BAD_REQUEST => "Something in the request needs fixing",
        StatusCode::UNAUTHORIZED => "Sign in first",
        StatusCode::FORBIDDEN => "Not allowed",
        StatusCode::CONFLICT => "Already taken",
        StatusCode::TOO_MANY_REQUESTS => "Slow down a little",
        StatusCode::SERVICE_UNAVAILABLE => "Back in a moment",
        _ => "Something went wrong",
    };
    let viewer = match cookie {
        Some(cookie) => {
            let mut headers = HeaderMap::new();
            headers.insert(header::COOKIE, cookie);
            crate::auth::viewer_from_headers(&state, &headers)
                .await
                .unwrap_or_default()
        }
        None => Viewer::default(),
    };
    let mut layout = Layout::new(&state, &viewer, heading, &error.message, "/");
    layout.noindex = true;
    let template = ErrorTemplate {
        layout,
        heading: heading.to_string(),
        message: error.message,
        param: error.param,
        signin: error.status == StatusCode::UNAUTHORIZED,
    };
    let mut headers = response.headers().clone();
    headers.insert(header::CONTENT_TYPE, header::HeaderValue::from_static(HTML));
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    headers.remove(header::CONTENT_LENGTH);
    match template.render() {
        Ok(html) => (error.status, headers, html).into_response(),
        Err(_) => error.status.into_response(),
    }
}
