//! The search page, a search's feeds, and the OpenSearch description that lets browsers add
//! Agora as a search engine.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::read;
use crate::services::search::search_page;
use crate::views::SearchPageView;
use crate::web::{Layout, feeds, private_page, render};

pub use crate::services::search::SearchParams;

#[derive(Template)]
#[template(path = "search.html")]
struct SearchTemplate<'a> {
    layout: Layout,
    view: &'a SearchPageView,
    tags: Vec<(String, String)>,
    /// When the search found little: threads like the query that it did not list.
    similar: Vec<crate::views::ThreadSummaryView>,
    /// When the search found little: the compose form with the query as its title.
    ask_url: Option<String>,
}

/// The words of a query as a question's title (filters and exclusions left out).
fn as_title(q: &str) -> String {
    let query = agora_search::parse(q);
    let words: Vec<String> = query
        .required
        .iter()
        .map(|t| match t {
            agora_search::Text::Word(w) => w.clone(),
            agora_search::Text::Phrase(p) => p.clone(),
        })
        .collect();
    words.join(" ")
}

/// `/search`: the results, or the search help when there is no query yet.
pub async fn search(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(params): Query<SearchParams>,
) -> Result<Response, AppError> {
    let q = params.q.unwrap_or_default();
    let page = read::parse_page(&params.page)?;
    let view = search_page(&state, &q, page).await?;
    let title = if q.trim().is_empty() {
        "Search".to_string()
    } else {
        format!("{} – search", q.trim())
    };
    let mut layout = Layout::new(
        &state,
        &viewer,
        &title,
        "Search every thread on the forum.",
        &crate::paths::search(&q, page),
    );
    // Result pages are endless and change: not for search engines' indexes.
    layout.noindex = true;
    if !q.trim().is_empty() {
        layout = layout.with_feeds(
            &format!("Search: {}", q.trim()),
            &view.feed_rss,
            &view.feed_atom,
        );
    }
    let tags = if q.trim().is_empty() {
        crate::services::read::tags(&state)
            .await?
            .into_iter()
            .take(12)
            .map(|t| (crate::paths::search(&format!("tag:{}", t.slug), 1), t.name))
            .collect()
    } else {
        Vec::new()
    };
    // No dead end: when the search found little, threads like the query, and a way to ask.
    let title = as_title(&q);
    let found_little = page == 1 && (view.results.len() < 3 || view.partial);
    let (similar, ask_url) = if found_little && !title.trim().is_empty() {
        let listed: std::collections::HashSet<i64> =
            view.results.iter().map(|r| r.thread.id).collect();
        let similar = crate::services::search::similar_views(&state, &title, "", None)
            .await
            .into_iter()
            .filter(|t| !listed.contains(&t.id))
            .collect();
        let ask = format!("/new?title={}", crate::paths::encode_query(&title));
        (similar, Some(ask))
    } else {
        (Vec::new(), None)
    };
    let html = render(&SearchTemplate {
        layout,
        view: &view,
        tags,
        similar,
        ask_url,
    })?;
    Ok(private_page(StatusCode::OK, html))
}

/// `/search/feed.rss` and `/search/feed.atom`: the newest matching threads, for any query.
pub async fn search_feed(
    State(state): State<AppState>,
    Query(params): Query<SearchParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let file = uri.path().rsplit('/').next().unwrap_or("").to_string();
    let q = params.q.unwrap_or_default();
    crate::web::feed_routes::feed(&state, &headers, &uri, &file, || async {
        // A feed follows what is new: newest matching threads first, unless the query says.
        let mut query = agora_search::parse(&q);
        if query.sort == agora_search::Sort::Relevance {
            query.sort = agora_search::Sort::Newest;
        }
        let view = search_page(&state, &query.render_with(&|_| None), 1).await?;
        let base = &state.site().settings.base_url.clone();
        let threads: Vec<_> = view.results.iter().map(|r| r.thread.clone()).collect();
        let meta = feeds::FeedMeta {
            title: format!("Search: {} · {}", q.trim(), state.site().settings.name),
            description: format!("Threads matching {:?}", q.trim()),
            page_url: format!("{base}{}", crate::paths::search(&q, 1)),
            self_url: format!("{base}{}", uri),
            base_url: base.to_string(),
        };
        let mut entries = feeds::thread_entries(&threads, base);
        for (entry, result) in entries.iter_mut().zip(&view.results) {
            if !result.snippet_html.is_empty() {
                entry.html = format!("<p>{}</p>", result.snippet_html);
            }
        }
        Ok((meta, entries))
    })
    .await
}

/// `/opensearch.xml`: lets a browser add this forum as a search engine.
pub async fn opensearch(State(state): State<AppState>) -> Response {
    let base = &state.site().settings.base_url.clone();
    let name = xml_escape(&state.site().settings.name);
    let body = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<OpenSearchDescription xmlns="http://a9.com/-/spec/opensearch/1.1/">
  <ShortName>{name}</ShortName>
  <Description>Search {name}</Description>
  <InputEncoding>UTF-8</InputEncoding>
  <Image width="16" height="16" type="image/svg+xml">{base}{icon}</Image>
  <Url type="text/html" method="get" template="{base}/search?q={{searchTerms}}"/>
  <Url type="application/rss+xml" template="{base}/search/feed.rss?q={{searchTerms}}"/>
  <Url type="application/opensearchdescription+xml" rel="self" template="{base}/opensearch.xml"/>
</OpenSearchDescription>
"#,
        base = xml_escape(base),
        icon = xml_escape(state.assets.href("favicon.svg")),
    );
    (
        [
            (
                header::CONTENT_TYPE,
                "application/opensearchdescription+xml",
            ),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        body,
    )
        .into_response()
}

fn xml_escape(text: &str) -> String {
    agora_markup::xml_safe(text)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
