//! What the administrator made of the site, served to everyone: the pages (about,
//! guidelines, terms, privacy), the uploaded logo and favicon, the accent colour's stylesheet;
//! and the first-run setup page.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{self, Viewer};
use crate::error::AppError;
use crate::http_cache::{HTML, IMMUTABLE};
use crate::services::accounts::FieldErrors;
use crate::services::settings::{self as site, SetupInput};
use crate::settings::{PageKind, SiteImage, theme_css};
use crate::web::form::Form;
use crate::web::{Layout, cached, private_page, render};

#[derive(Template)]
#[template(path = "page.html")]
struct PageTemplate {
    layout: Layout,
    heading: &'static str,
    html: String,
    description: String,
    contact_email: String,
    about: bool,
}

/// `/about`, `/guidelines`, `/terms`, `/privacy`: the administrator's Markdown, sanitised.
/// An empty page is 404, except the about page, which shows the description.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Result<Response, AppError> {
    let slug = uri.path().trim_start_matches('/');
    let kind = PageKind::parse(slug).ok_or_else(|| AppError::not_found("page"))?;
    let path = uri.path().to_string();
    cached(&state, &viewer, &headers, path.clone(), HTML, || async {
        // The site's own pages change with its settings only.
        crate::http_cache::depends_on(&state, [agora_store::Scope::Everything]);
        let live = state.site();
        let html = live.page_html(kind).to_string();
        if html.is_empty() && kind != PageKind::About {
            return Err(AppError::not_found(format!(
                "This forum has no {} page yet.",
                kind.title().to_lowercase()
            )));
        }
        render(&PageTemplate {
            layout: Layout::new(
                &state,
                &Viewer::default(),
                kind.title(),
                &live.settings.description,
                &path,
            ),
            heading: kind.title(),
            html,
            description: live.settings.description.clone(),
            contact_email: live.settings.contact_email.clone(),
            about: kind == PageKind::About,
        })
    })
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct VersionQuery {
    pub v: Option<String>,
}

/// `/site/theme.css`, `/site/logo-light`, `/site/logo-dark`, `/site/favicon`: the same on
/// every node (kept in the database). Asked for with the current version, cached for a year;
/// otherwise for a minute.
pub async fn file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    Query(query): Query<VersionQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let live = state.site();
    if name == "theme.css" {
        let css = theme_css(&live.settings.accent_colour);
        let current = query.v.as_deref() == Some(live.version.to_string().as_str());
        return Ok(respond(
            &headers,
            "text/css; charset=utf-8",
            css.into_bytes(),
            current,
        ));
    }
    let image = SiteImage::parse(&name).ok_or_else(|| AppError::not_found("file"))?;
    let Some((content_type, bytes, sha)) = site::image(&state, image).await? else {
        return Err(AppError::not_found("image"));
    };
    let current = query
        .v
        .as_deref()
        .is_some_and(|v| sha.starts_with(v) && !v.is_empty());
    let content_type = if content_type == "image/png" {
        "image/png"
    } else {
        "application/octet-stream"
    };
    Ok(respond(&headers, content_type, bytes, current))
}

fn respond(
    headers: &HeaderMap,
    content_type: &'static str,
    bytes: Vec<u8>,
    current: bool,
) -> Response {
    let etag = format!("\"{}\"", &blake3::hash(&bytes).to_hex()[..32]);
    let cache = if current {
        IMMUTABLE
    } else {
        "public, max-age=60"
    };
    if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == etag)
    {
        return (
            StatusCode::NOT_MODIFIED,
            [
                (header::ETAG, etag),
                (header::CACHE_CONTROL, cache.to_string()),
            ],
        )
            .into_response();
    }
    (
        [
            (header::CONTENT_TYPE, content_type.to_string()),
            (header::ETAG, etag),
            (header::CACHE_CONTROL, cache.to_string()),
            // Served as what it is and nothing else, never run as a page.
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; sandbox".to_string(),
            ),
        ],
        bytes,
    )
        .into_response()
}

// ---- first-run setup ----

#[derive(Template)]
#[template(path = "setup.html")]
struct SetupTemplate {
    layout: Layout,
    form: SetupForm,
    errors: FieldErrors,
    has_demo: bool,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct SetupForm {
    #[serde(default)]
    pub token: String,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub base_url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    /// "keep" or "remove".
    #[serde(default)]
    pub demo: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    pub token: String,
}

/// The address this request was made to, as a guess for `base_url`.
fn requested_base(headers: &HeaderMap) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1:8080");
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    format!("{}://{host}", if https { "https" } else { "http" })
}

async fn setup_page(
    state: &AppState,
    form: SetupForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let mut layout = Layout::new(state, &Viewer::default(), "Set up your forum", "", "/setup");
    layout.noindex = true;
    let html = render(&SetupTemplate {
        layout,
        form,
        errors,
        has_demo: site::has_demo(state).await?,
    })?;
    let mut response = private_page(status, html);
    // The token is in the address: never send it on as a referrer.
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    Ok(response)
}

/// `GET /setup?token=…`: 404 once an administrator exists, and without a live token.
pub async fn setup(
    State(state): State<AppState>,
    Query(query): Query<TokenQuery>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    if !site::setup_open(&state).await? || !site::setup_token_ok(&state.store, &query.token).await?
    {
        return Err(AppError::not_found("page"));
    }
    let live = state.site();
    let form = SetupForm {
        token: query.token,
        name: live.settings.name.clone(),
        description: live.settings.description.clone(),
        base_url: requested_base(&headers),
        demo: "keep".into(),
        ..SetupForm::default()
    };
    setup_page(&state, form, FieldErrors::default(), StatusCode::OK).await
}

/// `POST /setup`: names the forum, creates the administrator and signs them in.
pub async fn setup_submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    ip: crate::client_ip::ClientIp,
    Form(form): Form<SetupForm>,
) -> Result<Response, AppError> {
    if !site::setup_open(&state).await? {
        return Err(AppError::not_found("page"));
    }
    let input = SetupInput {
        token: form.token.clone(),
        name: form.name.clone(),
        description: form.description.clone(),
        base_url: form.base_url.clone(),
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        keep_demo: form.demo != "remove",
    };
    match site::complete_setup(&state, &input).await? {
        Ok(id) => {
            let account = state
                .store
                .account(id)
                .await?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("account {id} vanished")))?;
            let cookie = auth::start_session(&state, &headers, ip, &account).await?;
            let mut response = Redirect::to("/admin?welcome=1").into_response();
            response.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(response)
        }
        Err(errors) => {
            let form = SetupForm {
                password: String::new(),
                ..form
            };
            setup_page(&state, form, errors, StatusCode::BAD_REQUEST).await
        }
    }
}
