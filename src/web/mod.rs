//! HTML pages: thin handlers that parse the request, call a service and render a template,
//! through the page cache. One module per resource (`topics`, `tags`, `threads`, `users`,
//! `feed_routes`, `errors`, and the forms: `accounts`, `posting`, `moderation`, `search`);
//! this module holds what they share: the layout, rendering, the shared-page cache.

pub mod accounts;
pub mod admin;
pub mod bookmarks;
pub mod errors;
pub mod feed_routes;
pub mod feeds;
pub mod form;
pub mod live;
pub mod moderation;
pub mod notifications;
pub mod posting;
pub mod search;
pub mod site;
pub mod tags;
pub mod threads;
pub mod topics;
pub mod uploads;
pub mod users;

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
use crate::settings::{PageKind, SiteImage};
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
    /// Unread notifications, on the bell ("99+" past 99).
    pub unread: i64,
    pub staff: bool,
    /// Shown the admin link (moderators see the member directory there).
    pub admin: bool,
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
            unread: viewer.unread.unwrap_or(0),
            staff: may(Action::ReadAudit),
            admin: may(Action::ManageMembers),
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
    /// The accent colour's stylesheet, when an administrator chose one.
    pub theme_css: Option<String>,
    pub favicon: String,
    pub favicon_type: &'static str,
    /// The uploaded logo (light, and dark when there is one); None: the built-in mark.
    pub logo_light: Option<String>,
    pub logo_dark: Option<String>,
    /// The footer: the administrator's links, then the site's pages that have text.
    pub footer_links: Vec<Crumb>,
    pub feeds: Vec<FeedLink>,
    pub breadcrumbs: Vec<Crumb>,
    pub noindex: bool,
    pub viewer: Option<ViewerNav>,
    pub script: String,
    /// The current path, query-encoded, for "sign in and come back here" links.
    pub here: String,
    /// What the writing forms' file field says and accepts.
    pub attach: std::sync::Arc<AttachField>,
}

impl Layout {
    pub fn new(
        state: &AppState,
        viewer: &Viewer,
        title: &str,
        description: &str,
        path: &str,
    ) -> Self {
        let live = state.site();
        let site = &live.settings.name;
        let favicon = live.image_url(SiteImage::Favicon);
        let mut footer_links: Vec<Crumb> = live
            .settings
            .footer_links
            .iter()
            .map(|l| Crumb {
                label: l.label.clone(),
                url: l.url.clone(),
            })
            .collect();
        for kind in PageKind::ALL {
            if kind == PageKind::About || !live.page_html(kind).is_empty() {
                footer_links.push(Crumb {
                    label: kind.title().to_string(),
                    url: format!("/{}", kind.slug()),
                });
            }
        }
        Self {
            site_name: site.clone(),
            title: if title.is_empty() {
                site.clone()
            } else {
                format!("{title} · {site}")
            },
            description: description.chars().take(300).collect(),
            canonical: format!("{}{path}", live.settings.base_url),
            css: state.assets.href("agora.css").to_string(),
            theme_css: (!live.settings.accent_colour.is_empty())
                .then(|| format!("/site/theme.css?v={}", live.version)),
            favicon_type: if favicon.is_some() {
                "image/png"
            } else {
                "image/svg+xml"
            },
            favicon: favicon.unwrap_or_else(|| state.assets.href("favicon.svg").to_string()),
            logo_light: live.image_url(SiteImage::LogoLight),
            logo_dark: live.image_url(SiteImage::LogoDark),
            footer_links,
            feeds: Vec::new(),
            breadcrumbs: Vec::new(),
            noindex: false,
            viewer: ViewerNav::new(viewer),
            script: state.assets.href("agora.js").to_string(),
            here: paths::encode_query(path),
            attach: live.attach.clone(),
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

/// The reader's header (their links and banner), as pieces for [`splice_in_order`]: what
/// replaces the anonymous header of a shared cached page.
pub fn viewer_header(layout: &Layout) -> Result<Vec<(&'static str, String)>, AppError> {
    Ok(vec![
        ("viewer-links", render(&ViewerLinksTemplate { layout })?),
        ("viewer-banner", render(&ViewerBannerTemplate { layout })?),
    ])
}

/// A shared cached page with `layout`'s reader's header in place of the anonymous one.
pub fn with_viewer_header(
    layout: &Layout,
    page: &crate::http_cache::CachedBody,
) -> Result<String, AppError> {
    let text = std::str::from_utf8(page.body())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cached page: {e}")))?;
    let mut out = String::with_capacity(text.len() + 1024);
    if !splice_in_order(text, &viewer_header(layout)?, &mut out) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the page has no viewer markers"
        )));
    }
    Ok(out)
}

/// Writes `page` to `out` with the text between each `<!--name-->` and its `<!--/name-->`
/// replaced by the piece named so, in one pass: `pieces` name the pairs in the order the page
/// holds them (a name may come several times, one piece per pair). False when the page's
/// pairs do not match `pieces` (a page made from other data: render it whole instead).
pub fn splice_in_order(page: &str, pieces: &[(&str, String)], out: &mut String) -> bool {
    // One pass over the page from comment to comment: a page holds no comments but markers
    // (Markdown output has none), so this visits about two per piece.
    let mut markers = Markers::new(page);
    let mut copied = 0;
    for (name, piece) in pieces {
        let Some(open) = markers.find(|m| m == *name) else {
            return false;
        };
        let Some(close) = markers.find(|m| m.strip_prefix('/') == Some(name)) else {
            return false;
        };
        out.push_str(&page[copied..open.end]);
        out.push_str(piece);
        copied = close.start;
    }
    // A pair left over means the page has more places than pieces.
    if markers
        .find(|m| pieces.iter().any(|(name, _)| m == *name))
        .is_some()
    {
        return false;
    }
    out.push_str(&page[copied..]);
    true
}

/// The markers of a page, in order: `<!--name-->`, a name being up to 40 of `a-z`, `0-9`, `-`
/// and `/`; anything else that opens a comment is passed over, so stray text cannot hide the
/// marker after it.
struct Markers<'a> {
    page: &'a str,
    at: usize,
}

impl<'a> Markers<'a> {
    fn new(page: &'a str) -> Self {
        Self { page, at: 0 }
    }

    /// The next marker whose name `wanted` accepts, passing over the others.
    fn find(&mut self, wanted: impl Fn(&str) -> bool) -> Option<std::ops::Range<usize>> {
        static OPEN: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"<!--"));
        let bytes = self.page.as_bytes();
        loop {
            let start = self.at + OPEN.find(&bytes[self.at..])?;
            let name_at = start + 4;
            self.at = name_at;
            let name_len = bytes[name_at..]
                .iter()
                .take(41)
                .take_while(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'/'))
                .count();
            // A name stops at "-->"; its own dashes cannot end it early (no name ends in one).
            let name = self.page[name_at..name_at + name_len].trim_end_matches('-');
            let end = name_at + name.len() + 3;
            if name.is_empty() || name.len() > 40 || bytes.get(end - 3..end) != Some(b"-->") {
                continue;
            }
            self.at = end;
            if wanted(name) {
                return Some(start..end);
            }
        }
    }
}

/// Replaces the text between `<!--name-->` and `<!--/name-->` (the first pair).
pub fn splice(page: &str, name: &str, with: &str, out: &mut String) -> bool {
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
/// A page's watch control (a subtopic or a tag): what it watches, as `POST /watch` names it.
pub struct WatchPlace {
    pub kind: &'static str,
    pub id: String,
}

#[derive(Template)]
#[template(path = "_watch_options.html")]
struct WatchOptionsTemplate<'a> {
    level: &'a str,
}

/// The watch control's options with `level` chosen (cached pages hold "normal").
pub fn watch_options(level: &str) -> Result<String, AppError> {
    render(&WatchOptionsTemplate { level })
}

pub async fn cached_shared<F, Fut>(
    state: &AppState,
    viewer: &Viewer,
    headers: &HeaderMap,
    key: String,
    place: Option<WatchPlace>,
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
    let layout = Layout::new(state, viewer, "", "", "/");
    let mut second = with_viewer_header(&layout, &page)?;
    // The reader's own level in the page's watch control.
    if let (Some(place), Some(account)) = (place, viewer.account.as_deref()) {
        let target = crate::web::notifications::watch_target(
            state,
            place.kind,
            &place.id,
            agora_store::WatchLevel::Normal,
        )
        .await;
        if let Ok(target) = target {
            let level = state
                .store
                .watch_level(account.brief.id, target)
                .await?
                .unwrap_or(agora_store::WatchLevel::Normal);
            let mut third = String::with_capacity(second.len());
            if splice(
                &second,
                "watch-options",
                &watch_options(level.as_str())?,
                &mut third,
            ) {
                second = third;
            }
        }
    }
    Ok(private_response(HTML, second))
}

fn cache_key(uri: &Uri) -> String {
    uri.path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_string()
}

/// After a form: on to the page that shows the result (303, so a reload does not repeat it).
/// `path` with the query `uri` was asked with (an old address's redirect keeps the sort and
/// page asked for).
pub fn with_query(path: &str, uri: &axum::http::Uri) -> String {
    match uri.query() {
        Some(query) => format!("{path}?{query}"),
        None => path.to_string(),
    }
}

pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// A post's place in its thread: the page that shows it, and its anchor.
pub fn back_to_post(post: &agora_store::PostFacts) -> String {
    paths::post(
        post.thread.id,
        &post.thread.slug,
        post.position,
        post.id,
        crate::services::read::POSTS_PER_PAGE,
    )
}

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

#[cfg(test)]
mod tests {
    use super::splice_in_order;

    fn spliced(page: &str, pieces: &[(&str, &str)]) -> Option<String> {
        let pieces: Vec<(&str, String)> = pieces.iter().map(|(n, p)| (*n, p.to_string())).collect();
        let mut out = String::new();
        splice_in_order(page, &pieces, &mut out).then_some(out)
    }

    #[test]
    fn pieces_replace_their_pairs_in_order_and_leave_the_rest() {
        let page = "<h1>t</h1><!--a-->old<!--/a><p>x</p><!--other--><!--b-->1<!--/b>\
                    <!--b-->2<!--/b>tail";
        // The closing markers above are malformed on purpose ("<!--/a>" is not one): no pair.
        assert_eq!(spliced(page, &[("a", "new")]), None);
        let page = "<h1>t</h1><!--a-->old<!--/a--><p>é</p><!--other--><!--b-->1<!--/b-->\
                    <!--b-->2<!--/b-->tail";
        assert_eq!(
            spliced(page, &[("a", "A"), ("b", "B1"), ("b", "B2")]).as_deref(),
            Some(
                "<h1>t</h1><!--a-->A<!--/a--><p>é</p><!--other--><!--b-->B1<!--/b-->\
                 <!--b-->B2<!--/b-->tail"
            )
        );
        // Fewer pieces than pairs, more pieces than pairs, or out of order: refused.
        assert_eq!(spliced(page, &[("a", "A"), ("b", "B1")]), None);
        assert_eq!(
            spliced(page, &[("a", "A"), ("b", "1"), ("b", "2"), ("b", "3")]),
            None
        );
        assert_eq!(spliced(page, &[("b", "B1"), ("a", "A")]), None);
        // No pieces on a page without those markers: the page as it was.
        assert_eq!(spliced("plain", &[]).as_deref(), Some("plain"));
        // Stray comment openings (a lone one, one with other text) hide no marker after them.
        let page = "<p><!-- x</p><!--[if IE]>…<!--a-->old<!--/a-->end";
        assert_eq!(
            spliced(page, &[("a", "A")]).as_deref(),
            Some("<p><!-- x</p><!--[if IE]>…<!--a-->A<!--/a-->end")
        );
    }
}
