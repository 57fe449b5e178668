//! The feed routes of subtopics, tags, threads, members and the whole site: which listing,
//! which format; `feeds` builds the documents.

use super::*;

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
        let view = read::subtopic_page(&state, &area, &sub, newest_first())
            .await
            .map_err(|e| e.moved_along(|to| format!("{to}/{file}")))?;
        let base = &state.site().settings.base_url.clone();
        let s = &view.subtopic;
        let meta = feeds::FeedMeta {
            title: format!("{} · {}", s.name, state.site().settings.name),
            description: s.description.clone(),
            page_url: format!("{base}{}", s.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base.to_string(),
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
        let view = read::tag_page(&state, &slug, newest_first())
            .await
            .map_err(|e| e.moved_along(|to| format!("{to}/{file}")))?;
        let base = &state.site().settings.base_url.clone();
        let t = &view.tag;
        let meta = feeds::FeedMeta {
            title: format!("{} tag · {}", t.name, state.site().settings.name),
            description: if t.description.is_empty() {
                format!("Threads tagged {}", t.name)
            } else {
                t.description.clone()
            },
            page_url: format!("{base}{}", t.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base.to_string(),
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
        let base = &state.site().settings.base_url.clone();
        let meta = feeds::FeedMeta {
            title: format!("{} · {}", view.thread.title, state.site().settings.name),
            description: view.thread.excerpt.clone(),
            page_url: format!("{base}{}", view.thread.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base.to_string(),
        };
        Ok((meta, feeds::post_entries(&view, base)))
    })
    .await
}

/// A member's feed (`/users/{name}/feed.rss` or `.atom`): their newest posts, as their
/// profile's activity tab lists them (nothing hidden, nothing removed).
pub async fn user_feed(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let file = uri.path().rsplit('/').next().unwrap_or("").to_string();
    feed(&state, &headers, &uri, &file, || async {
        let view = read::user_page(&state, &name, read::ProfileParams::feed()).await?;
        let base = &state.site().settings.base_url.clone();
        let u = &view.user;
        let meta = feeds::FeedMeta {
            title: format!(
                "Posts by {} · {}",
                u.display_name,
                state.site().settings.name
            ),
            description: format!("The newest posts of {} (@{})", u.display_name, u.username),
            page_url: format!("{base}{}", u.url),
            self_url: format!("{base}{}", uri.path()),
            base_url: base.to_string(),
        };
        Ok((meta, feeds::profile_entries(&view.items, base)))
    })
    .await
}

/// The site-wide feed (`/feed.rss` or `/feed.atom`): the newest threads in every subtopic.
pub async fn latest_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let file = uri.path().rsplit('/').next().unwrap_or("").to_string();
    feed(&state, &headers, &uri, &file, || async {
        let threads = read::latest_threads(&state).await?;
        let base = &state.site().settings.base_url.clone();
        let site = state.site();
        let meta = feeds::FeedMeta {
            title: format!("Newest threads · {}", site.settings.name),
            description: site.settings.description.clone(),
            page_url: format!("{base}/"),
            self_url: format!("{base}{}", uri.path()),
            base_url: base.to_string(),
        };
        Ok((meta, feeds::thread_entries(&threads, base)))
    })
    .await
}

/// Serves a feed through the page cache: `build` gathers what it says, this writes it in the
/// format the file name asks for.
pub(crate) async fn feed<F, Fut>(
    state: &AppState,
    headers: &HeaderMap,
    uri: &Uri,
    file: &str,
    build: F,
) -> Result<Response, AppError>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(feeds::FeedMeta, Vec<feeds::FeedEntry>), AppError>>,
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
