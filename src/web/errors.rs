//! Unknown pages, and the HTML page every error a page handler returns is rendered as: what
//! happened in plain words, and a way forward (sign in and come back, retry after the wait the
//! server asked for, the same page without the parameter at fault, back to where the reader
//! came from, a search). Statuses and JSON codes are the handlers'; only the page is made here.

use super::*;

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    layout: Layout,
    heading: String,
    message: String,
    param: Option<String>,
    /// Seconds the server asked the reader to wait (429, 503).
    retry_after: Option<u64>,
    /// Links onward, most useful first.
    ways: Vec<Crumb>,
    /// Words for the search box (from a missing page's address).
    search: String,
}

pub async fn not_found(uri: Uri) -> AppError {
    AppError::not_found(format!("There is no page at {}.", uri.path()))
}

/// What the error page needs to know of the request that failed.
struct Asked {
    get: bool,
    /// Path and query, as asked.
    here: String,
    path: String,
    query: Option<String>,
    /// The page the reader came from, when it was on this site.
    from: Option<String>,
}

impl Asked {
    fn of(request: &Request) -> Self {
        let uri = request.uri();
        let headers = request.headers();
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok());
        let from = headers
            .get(header::REFERER)
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.parse::<Uri>().ok())
            .filter(|r| r.authority().map(|a| a.as_str()) == host && host.is_some())
            .and_then(|r| r.path_and_query().map(|p| p.as_str().to_string()))
            .map(|p| paths::safe_next(Some(&p)))
            .filter(|p| p.as_str() != uri.path_and_query().map_or("", |p| p.as_str()));
        Self {
            get: request.method() == Method::GET || request.method() == Method::HEAD,
            here: paths::safe_next(uri.path_and_query().map(|p| p.as_str())),
            path: uri.path().to_string(),
            query: uri.query().map(str::to_string),
            from,
        }
    }

    /// The page asked for without one query parameter.
    fn without(&self, param: &str) -> Option<String> {
        let query = self.query.as_deref()?;
        let kept: Vec<&str> = query
            .split('&')
            .filter(|pair| pair.split('=').next() != Some(param))
            .collect();
        if kept.len() == query.split('&').count() {
            return None;
        }
        Some(if kept.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{}", self.path, kept.join("&"))
        })
    }

    /// Words a missing page's address suggests: its last segment's, as a slug spells them.
    fn words(&self) -> String {
        let last = self
            .path
            .trim_end_matches('/')
            .rsplit('/')
            .find(|s| !s.is_empty() && s.parse::<i64>().is_err())
            .unwrap_or("");
        let decoded = percent_encoding::percent_decode_str(last).decode_utf8_lossy();
        decoded
            .split(['-', '_', '.', '+'])
            .filter(|w| !w.is_empty() && !matches!(*w, "html" | "php" | "rss" | "atom"))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn way(label: &str, url: impl Into<String>) -> Crumb {
    Crumb {
        label: label.to_string(),
        url: url.into(),
    }
}

/// The links onward from an error, most useful first.
fn ways_forward(status: StatusCode, param: Option<&str>, asked: &Asked) -> Vec<Crumb> {
    let mut ways = Vec::new();
    let back = asked.from.clone();
    match status {
        StatusCode::UNAUTHORIZED => {
            let next = if asked.get {
                asked.here.clone()
            } else {
                back.clone().unwrap_or_else(paths::home)
            };
            ways.push(way(
                "Sign in and come back here",
                format!("/signin?next={}", paths::encode_query(&next)),
            ));
            ways.push(way("Create an account", "/signup"));
        }
        StatusCode::TOO_MANY_REQUESTS
        | StatusCode::SERVICE_UNAVAILABLE
        | StatusCode::INTERNAL_SERVER_ERROR
            if asked.get =>
        {
            ways.push(way("Try again", asked.here.clone()));
        }
        StatusCode::BAD_REQUEST => {
            if let Some(fixed) = param.and_then(|p| asked.without(p)) {
                ways.push(way("Show the page without that setting", fixed));
            }
        }
        _ => {}
    }
    if let Some(from) = back {
        ways.push(way("Back to the page you came from", from));
    }
    ways.push(way("All topics", paths::home()));
    ways
}

/// Renders the HTML page for errors that page handlers returned (they carry a [`PageError`]).
/// The page shows who is signed in, so the cookie is kept aside (cheaply: one header value)
/// in case the handler fails.
pub async fn error_pages(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let cookie = request.headers().get(header::COOKIE).cloned();
    let asked = Asked::of(&request);
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
        StatusCode::PAYLOAD_TOO_LARGE => "Too large",
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
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let ways = ways_forward(error.status, error.param.as_deref(), &asked);
    let search = if error.status == StatusCode::NOT_FOUND {
        asked.words()
    } else {
        String::new()
    };
    let mut layout = Layout::new(&state, &viewer, heading, &error.message, "/");
    layout.noindex = true;
    let template = ErrorTemplate {
        layout,
        heading: heading.to_string(),
        message: error.message,
        param: error.param,
        retry_after,
        ways,
        search,
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

#[cfg(test)]
mod tests {
    use super::*;

    fn asked(method: Method, uri: &str, referer: Option<&str>) -> Asked {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::HOST, "forum.example");
        if let Some(r) = referer {
            request = request.header(header::REFERER, r);
        }
        Asked::of(
            &request
                .body(axum::body::Body::empty())
                .unwrap_or_else(|e| panic!("{e}")),
        )
    }

    #[test]
    fn a_bad_parameter_offers_the_page_without_it() {
        let a = asked(Method::GET, "/topics/a/b?sort=nope&page=2", None);
        let ways = ways_forward(StatusCode::BAD_REQUEST, Some("sort"), &a);
        assert_eq!(ways[0].url, "/topics/a/b?page=2");
        let a = asked(Method::GET, "/topics/a/b?sort=nope", None);
        let ways = ways_forward(StatusCode::BAD_REQUEST, Some("sort"), &a);
        assert_eq!(ways[0].url, "/topics/a/b");
    }

    #[test]
    fn signing_in_comes_back_to_the_page_or_the_form_it_came_from() {
        let a = asked(Method::GET, "/settings?tab=x", None);
        let ways = ways_forward(StatusCode::UNAUTHORIZED, None, &a);
        assert_eq!(ways[0].url, "/signin?next=%2Fsettings%3Ftab%3Dx");
        let a = asked(
            Method::POST,
            "/posts/3/boost",
            Some("http://forum.example/thread/1/x"),
        );
        let ways = ways_forward(StatusCode::UNAUTHORIZED, None, &a);
        assert_eq!(ways[0].url, "/signin?next=%2Fthread%2F1%2Fx");
        assert!(ways.iter().any(|w| w.url == "/thread/1/x"));
    }

    #[test]
    fn only_this_sites_referer_is_offered_as_the_way_back() {
        let a = asked(Method::GET, "/x", Some("https://evil.example/thread/1"));
        assert_eq!(a.from, None);
        let a = asked(
            Method::GET,
            "/x",
            Some("http://forum.example//evil.example"),
        );
        assert_eq!(a.from.as_deref(), Some("/"));
    }

    #[test]
    fn a_missing_pages_address_suggests_search_words() {
        let a = asked(Method::GET, "/thread/99/nwconnection-times-out", None);
        assert_eq!(a.words(), "nwconnection times out");
        let a = asked(Method::GET, "/tags/wi-fi", None);
        assert_eq!(a.words(), "wi fi");
    }
}
