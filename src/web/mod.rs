//! HTML pages: thin handlers that parse the request, call the read service and render a
//! template, through the page cache. Feeds live beside the pages they follow.

pub mod accounts;
pub mod feeds;
pub mod form;
pub mod moderation;
pub mod posting;
pub mod search;

use std::future::Future;

use askama::Template;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::{AppError, PageError};
use crate::http_cache::IMMUTABLE;
pub use crate::http_cache::{cached, cached_body, private_page, private_response};
use crate::paths;
pub use crate::paths::{parse_post_id, parse_thread_id};
use crate::services::read::{self, ListingParams, RawListingParams, RawPageParam};
use crate::services::view_counter::{Visitor, is_crawler};
use crate::views::*;

use crate::http_cache::HTML;
const RSS: &str = "application/rss+xml; charset=utf-8";
const ATOM: &str = "application/atom+xml; charset=utf-8";

/// A `<link rel="alternate">` to a feed.
pub struct FeedLink {
    pub title: String,
    pub href: String,
    pub mime: &'static str,
}

pub struct Crumb {
    pub label: String,
    pub url: String,
}

/// The signed-in account, as the page header shows it.
pub struct ViewerNav {
    pub username: String,
    pub display_name: String,
    pub url: String,
    pub moderator: bool,
    /// Open flags, shown on the moderator's "Review" link (0 for everyone else).
    pub open_flags: i64,
    pub staff: bool,
    /// "until …: reason", when suspended.
    pub suspended: Option<String>,
}

impl ViewerNav {
    pub fn new(viewer: &Viewer) -> Option<Self> {
        let account = viewer.account.as_deref()?;
        let now = agora_store::Timestamp::now();
        let may = |action| crate::services::permissions::allowed(Some(account), action, now);
        use crate::services::permissions::Action;
        Some(Self {
            username: account.brief.username.clone(),
            display_name: account.brief.display_name.clone(),
            url: paths::user(&account.brief.username),
            moderator: may(Action::ReviewFlags),
            open_flags: viewer.open_flags.unwrap_or(0),
            staff: may(Action::ReadAudit),
            suspended: account.suspended_at(now).then(|| {
                format!(
                    "until {}: {}",
                    account
                        .suspended_until
                        .unwrap_or(now)
                        .to_datetime()
                        .format("%Y-%m-%d %H:%M UTC"),
                    account.suspend_reason.clone().unwrap_or_default()
                )
            }),
        })
    }
}

/// What every page has around its content.
pub struct Layout {
    pub site_name: String,
    pub title: String,
    pub description: String,
    pub canonical: String,
    pub css: String,
    pub favicon: String,
    pub feeds: Vec<FeedLink>,
    pub breadcrumbs: Vec<Crumb>,
    pub noindex: bool,
    pub viewer: Option<ViewerNav>,
    pub script: String,
    /// The current path, query-encoded, for "sign in and come back here" links.
    pub here: String,
}

impl Layout {
    pub fn new(
        state: &AppState,
        viewer: &Viewer,
        title: &str,
        description: &str,
        path: &str,
    ) -> Self {
        let site = &state.config.site.name;
        Self {
            site_name: site.clone(),
            title: if title.is_empty() {
                site.clone()
            } else {
                format!("{title} · {site}")
            },
            description: description.chars().take(300).collect(),
            canonical: format!("{}{path}", state.config.base_url()),
            css: state.assets.href("agora.css").to_string(),
            favicon: state.assets.href("favicon.svg").to_string(),
            feeds: Vec::new(),
            breadcrumbs: Vec::new(),
            noindex: false,
            viewer: ViewerNav::new(viewer),
            script: state.assets.href("agora.js").to_string(),
            here: paths::encode_query(path),
        }
    }

    pub fn with_feeds(mut self, title: &str, rss: &str, atom: &str) -> Self {
        self.feeds.push(FeedLink {
            title: format!("{title} (RSS)"),
            href: rss.to_string(),
            mime: "application/rss+xml",
        });
        self.feeds.push(FeedLink {
            title: format!("{title} (Atom)"),
            href: atom.to_string(),
            mime: "application/atom+xml",
        });
        self
    }

    pub fn crumb(mut self, label: &str, url: String) -> Self {
        self.breadcrumbs.push(Crumb {
            label: label.to_string(),
            url,
        });
        self
    }
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate<'a> {
    layout: Layout,
    view: &'a HomeView,
}

#[derive(Template)]
#[template(path = "subtopic.html")]
struct SubtopicTemplate<'a> {
    layout: Layout,
    view: &'a SubtopicPageView,
    listing: &'a ListingView,
    listing_caption: String,
}

#[derive(Template)]
#[template(path = "tag.html")]
struct TagTemplate<'a> {
    layout: Layout,
    view: &'a TagPageView,
    listing: &'a ListingView,
    listing_caption: String,
}

#[derive(Template)]
#[template(path = "tags.html")]
struct TagsTemplate<'a> {
    layout: Layout,
    tags: &'a [TagView],
}

#[derive(Template)]
#[template(path = "user.html")]
struct UserTemplate<'a> {
    layout: Layout,
    view: &'a UserPageView,
    listing: &'a ListingView,
    listing_caption: String,
}

#[derive(Template)]
#[template(path = "thread.html")]
struct ThreadTemplate<'a> {
    layout: Layout,
    view: &'a ThreadPageView,
    actions: posting::ThreadActions,
    /// Threads on the same subject (from the search index).
    related: Vec<ThreadSummaryView>,
}

#[derive(Template)]
#[template(path = "revisions.html")]
struct RevisionsTemplate<'a> {
    layout: Layout,
    view: &'a RevisionsPageView,
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorTemplate {
    layout: Layout,
    heading: String,
    message: String,
    param: Option<String>,
    signin: bool,
}

pub fn render(template: &impl Template) -> Result<String, AppError> {
    template
        .render()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("template: {e}")))
}

#[derive(Template)]
#[template(path = "_viewer_links.html")]
struct ViewerLinksTemplate<'a> {
    layout: &'a Layout,
}

#[derive(Template)]
#[template(path = "_viewer_banner.html")]
struct ViewerBannerTemplate<'a> {
    layout: &'a Layout,
}

/// Replaces the text between `<!--name-->` and `<!--/name-->` (the first pair).
fn splice(page: &str, name: &str, with: &str, out: &mut String) -> bool {
    let (open, close) = (format!("<!--{name}-->"), format!("<!--/{name}-->"));
    let Some(start) = page.find(&open) else {
        return false;
    };
    let Some(end) = page[start..].find(&close).map(|e| start + e) else {
        return false;
    };
    out.push_str(&page[..start + open.len()]);
    out.push_str(with);
    out.push_str(&page[end..]);
    true
}

/// Serves a page whose content is the same for every reader except the header (listings, tags,
/// the home page). Anonymous readers get the cached page; a signed-in reader gets the same
/// cached page with their own header spliced in, so signed-in listings cost about what cached
/// ones do instead of a full render. The header sits between marker comments in base.html;
/// user text cannot forge them (Markdown output has no comments, and titles are escaped).
pub async fn cached_shared<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    key: String,
    render: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<String, AppError>>,
{
    if !viewer.signed_in() {
        return cached(state, viewer, headers, key, HTML, render).await;
    }
    let page = cached_body(state, key, HTML, render).await?;
    let text = std::str::from_utf8(page.body())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cached page: {e}")))?;
    let layout = Layout::new(state, viewer, "", "", "/");
    let links = ViewerLinksTemplate { layout: &layout };
    let banner = ViewerBannerTemplate { layout: &layout };
    let mut first = String::with_capacity(text.len() + 512);
    let mut second = String::with_capacity(text.len() + 512);
    if !splice(text, "viewer-links", &self::render(&links)?, &mut first)
        || !splice(
            &first,
            "viewer-banner",
            &self::render(&banner)?,
            &mut second,
        )
    {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the page has no viewer markers"
        )));
    }
    Ok(private_response(HTML, second))
}

fn cache_key(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string()
}

pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), || async {
        let view = read::home(&state).await?;
        let layout = Layout::new(&state, &anonymous, "", &state.config.site.description, "/");
        render(&HomeTemplate {
            layout,
            view: &view,
        })
    })
    .await
}

pub async fn subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((area, sub)): Path<(String, String)>,
    Query(raw): Query<RawListingParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = ListingParams::parse(&raw)?;
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), || async {
        let view = read::subtopic_page(&state, &area, &sub, params).await?;
        let s = &view.subtopic;
        let layout = Layout::new(
            &state,
            &anonymous,
            &format!("{} · {}", s.name, s.area_name),
            &s.description,
            &s.url,
        )
        .with_feeds(&s.name, &s.feed_rss, &s.feed_atom)
        .crumb("Topics", paths::home())
        .crumb(&s.area_name, format!("/#area-{}", s.area))
        .crumb(&s.name, s.url.clone());
        let caption = format!("Posts under {} subtopic", s.name);
        render(&SubtopicTemplate {
            layout,
            view: &view,
            listing: &view.listing,
            listing_caption: caption,
        })
    })
    .await
}

pub async fn tag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(raw): Query<RawListingParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = ListingParams::parse(&raw)?;
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), || async {
        let view = read::tag_page(&state, &slug, params).await?;
        let t = &view.tag;
        let description = if t.description.is_empty() {
            format!("Threads tagged {}", t.name)
        } else {
            t.description.clone()
        };
        let layout = Layout::new(
            &state,
            &anonymous,
            &format!("{} tag", t.name),
            &description,
            &t.url,
        )
        .with_feeds(&format!("{} tag", t.name), &t.feed_rss, &t.feed_atom)
        .crumb("Tags", paths::tags())
        .crumb(&t.name, t.url.clone());
        let caption = format!("Posts tagged {}", t.name);
        render(&TagTemplate {
            layout,
            view: &view,
            listing: &view.listing,
            listing_caption: caption,
        })
    })
    .await
}

pub async fn tags(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), || async {
        let tags = read::tags(&state).await?;
        let layout = Layout::new(
            &state,
            &anonymous,
            "Tags",
            "Every tag on the forum, with its threads.",
            "/tags",
        );
        render(&TagsTemplate {
            layout,
            tags: &tags,
        })
    })
    .await
}

pub async fn user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(raw): Query<RawListingParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = ListingParams::parse(&raw)?;
    cached(&state, &viewer, &headers, cache_key(&uri), HTML, || async {
        let view = read::user_page(&state, &name, params).await?;
        let u = &view.user;
        let description = format!(
            "{} (@{}) on {}",
            u.display_name, u.username, state.config.site.name
        );
        let layout = Layout::new(&state, &viewer, &u.display_name, &description, &u.url);
        let caption = format!("Threads started by {}", u.display_name);
        render(&UserTemplate {
            layout,
            view: &view,
            listing: &view.listing,
            listing_caption: caption,
        })
    })
    .await
}

/// After a form: on to the page that shows the result (303, so a reload does not repeat it).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A post's place in its thread (page one of the thread; the anchor finds it).
pub fn back_to_post(post: &agora_store::PostFacts) -> String {
    format!(
        "{}#{}",
        paths::thread(post.thread.id, &post.thread.slug),
        paths::post_anchor(post.id)
    )
}

/// `/thread/{id}`: the canonical URL has the slug. A removed thread's slug (its title's words)
/// is not given away: 404, as its page answers, for everyone but moderators.
pub async fn thread_without_slug(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response, AppError> {
    let id = parse_thread_id(&id)?;
    let thread = crate::services::read::thread_row(&state, id).await?;
    let reveal = crate::services::permissions::allowed(
        viewer.account.as_deref(),
        crate::services::permissions::Action::SeeRemoved,
        agora_store::Timestamp::now(),
    );
    if thread.removed && !reveal {
        return Err(AppError::not_found(format!(
            "Thread {id} was removed by its author or a moderator."
        )));
    }
    let query = uri.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok(Redirect::permanent(&format!(
        "{}{query}",
        paths::thread(id, &thread.summary.slug)
    ))
    .into_response())
}

// Axum handlers take one argument per thing they extract from the request.
#[allow(clippy::too_many_arguments)]
pub async fn thread(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((id, slug)): Path<(String, String)>,
    Query(raw): Query<RawPageParam>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    client: crate::client_ip::ClientIp,
) -> Result<Response, AppError> {
    let id = parse_thread_id(&id)?;
    let page = read::parse_page(&raw.page)?;
    // Rendering stops early with `MovedTo` when the slug is not the thread's current one.
    let response = cached(&state, &viewer, &headers, cache_key(&uri), HTML, || async {
        let reveal = crate::services::permissions::allowed(
            viewer.account.as_deref(),
            crate::services::permissions::Action::SeeRemoved,
            agora_store::Timestamp::now(),
        );
        let (view, thread_row, post_rows) =
            read::thread_page_rows(&state, id, page, reveal).await?;
        let t = &view.thread;
        if t.url != paths::thread(id, &slug) {
            // An old or mistyped slug: send readers (and search engines) to the current one.
            return Err(AppError::MovedTo {
                location: paths::thread_page(id, &t.slug, page),
            });
        }
        let mut layout = Layout::new(
            &state,
            &viewer,
            &t.title,
            &t.excerpt,
            &paths::thread_page(id, &t.slug, page),
        )
        .with_feeds(&t.title, &view.feed_rss, &view.feed_atom)
        .crumb("Topics", paths::home())
        .crumb(&t.subtopic.name, t.subtopic.url.clone());
        if page > 1 {
            layout.title = format!("{} (page {page}) · {}", t.title, state.config.site.name);
        }
        let actions =
            posting::thread_actions(&state, &viewer, &view, &thread_row, &post_rows).await?;
        let related =
            crate::services::search::related_views(&state, id, &t.title, &t.excerpt).await;
        render(&ThreadTemplate {
            layout,
            view: &view,
            actions,
            related,
        })
    })
    .await;
    let response = response?;
    let served = response.status().is_success() || response.status() == StatusCode::NOT_MODIFIED;
    if method == Method::GET && served {
        let user_agent = headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let visitor = match &viewer.account {
            Some(account) => Some(Visitor::Account(account.brief.id.0)),
            None if is_crawler(user_agent) => None,
            None => Some(Visitor::Anonymous {
                ip: client.0,
                user_agent,
            }),
        };
        if let Some(visitor) = visitor {
            state.views.record_visit(id, &visitor);
        }
    }
    Ok(response)
}

pub async fn revisions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(post): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let post = parse_post_id(&post)?;
    cached(&state, &viewer, &headers, cache_key(&uri), HTML, || async {
        let reveal = crate::services::permissions::allowed(
            viewer.account.as_deref(),
            crate::services::permissions::Action::SeeRemoved,
            agora_store::Timestamp::now(),
        );
        let view = read::revisions_page(&state, post, reveal).await?;
        let description = format!("Every revision of a post in “{}”", view.thread.title);
        let mut layout = Layout::new(
            &state,
            &viewer,
            &format!("Revisions · {}", view.thread.title),
            &description,
            &paths::revisions(post),
        )
        .crumb(&view.thread.subtopic.name, view.thread.subtopic.url.clone())
        .crumb(&view.thread.title, view.thread.url.clone());
        layout.noindex = true;
        render(&RevisionsTemplate {
            layout,
            view: &view,
        })
    })
    .await
}

// ---------------------------------------------------------------- feeds

/// `feed.rss` or `feed.atom`; anything else names no feed.
fn feed_kind(file: &str) -> Result<(&'static str, bool), AppError> {
    match file {
        "feed.rss" => Ok((RSS, false)),
        "feed.atom" => Ok((ATOM, true)),
        other => Err(AppError::not_found(format!(
            "There is no page {other:?} here; feeds are feed.rss and feed.atom."
        ))),
    }
}

fn newest_first() -> ListingParams {
    ListingParams {
        sort: agora_store::SortKey::Newest,
        order: agora_store::SortOrder::Desc,
        filter: agora_store::ListingFilter::All,
        page: 1,
    }
}

pub async fn subtopic_feed(
    State(state): State<AppState>,
    Path((area, sub, file)): Path<(String, String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    feed(&state, &headers, &uri, &file, || async {
        let view = read::subtopic_page(&state, &area, &sub, newest_first()).await?;
        let base = state.config.base_url();
        let s = &view.subtopic;
        let meta = feeds::FeedMeta {
            title: format!("{} · {}", s.name, state.config.site.name),
            description: s.description.clone(),
            page_url: format!("{base}{}", s.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base,
        };
        Ok((meta, feeds::thread_entries(&view.listing.threads, base)))
    })
    .await
}

pub async fn tag_feed(
    State(state): State<AppState>,
    Path((slug, file)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    feed(&state, &headers, &uri, &file, || async {
        let view = read::tag_page(&state, &slug, newest_first()).await?;
        let base = state.config.base_url();
        let t = &view.tag;
        let meta = feeds::FeedMeta {
            title: format!("{} tag · {}", t.name, state.config.site.name),
            description: if t.description.is_empty() {
                format!("Threads tagged {}", t.name)
            } else {
                t.description.clone()
            },
            page_url: format!("{base}{}", t.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base,
        };
        Ok((meta, feeds::thread_entries(&view.listing.threads, base)))
    })
    .await
}

/// A thread's feed (`feed.rss` or `feed.atom`): its newest posts (the last page), newest first.
pub async fn thread_feed(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let id = parse_thread_id(&id)?;
    let file = uri.path().rsplit('/').next().unwrap_or("").to_string();
    feed(&state, &headers, &uri, &file, || async {
        let first = read::thread_page(&state, id, 1, false).await?;
        let view = if first.total_pages > 1 {
            read::thread_page(&state, id, first.total_pages, false).await?
        } else {
            first
        };
        let base = state.config.base_url();
        let meta = feeds::FeedMeta {
            title: format!("{} · {}", view.thread.title, state.config.site.name),
            description: view.thread.excerpt.clone(),
            page_url: format!("{base}{}", view.thread.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base,
        };
        Ok((meta, feeds::post_entries(&view, base)))
    })
    .await
}

/// Serves a feed through the page cache: `build` gathers what it says, this writes it in the
/// format the file name asks for.
pub(crate) async fn feed<'a, F, Fut>(
    state: &'a AppState,
    headers: &HeaderMap,
    uri: &Uri,
    file: &str,
    build: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(feeds::FeedMeta<'a>, Vec<feeds::FeedEntry>), AppError>>,
{
    let (mime, is_atom) = feed_kind(file)?;
    cached(
        state,
        &Viewer::default(),
        headers,
        cache_key(uri),
        mime,
        || async {
            let (meta, entries) = build().await?;
            Ok(if is_atom {
                feeds::atom(&meta, &entries)
            } else {
                feeds::rss(&meta, &entries)
            })
        },
    )
    .await
}

// ---------------------------------------------------------------- static files, errors

pub async fn static_file(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    match state.assets.get(&name) {
        Some(asset) => asset.respond(&headers, IMMUTABLE),
        None => AppError::not_found(format!("There is no file {name:?}.")).into_response(),
    }
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
