//! Thread pages (with the reader's buttons) and post revision histories.

use super::*;
use std::sync::Arc;

use agora_store::{PostRow, ThreadId, ThreadRow};

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

/// One post's buttons, rendered alone to be spliced into the shared page.
#[derive(Template)]
#[template(path = "_post_actions.html")]
struct PostActionsTemplate<'a> {
    a: &'a posting::PostActions,
    post: &'a crate::views::PostView,
    view: &'a ThreadPageView,
    t: &'a ThreadSummaryView,
}

/// The reader's own part of the thread page (watch, bookmark, reply box, moderation), rendered
/// alone to be spliced into the shared page.
#[derive(Template)]
#[template(path = "_thread_reader.html")]
struct ThreadReaderTemplate<'a> {
    layout: &'a Layout,
    view: &'a ThreadPageView,
    t: &'a ThreadSummaryView,
    actions: &'a posting::ThreadActions,
}

/// What a thread page was rendered from, kept with the cached page: a signed-in reader's
/// buttons are worked out from it without reading the thread again.
struct ThreadShared {
    view: ThreadPageView,
    row: ThreadRow,
    posts: Vec<PostRow>,
}

/// Renders page `page` of thread `id` for `viewer` (anonymous: the page every reader shares).
/// Rendering stops early with `MovedTo` when `slug` is not the thread's current one.
async fn render_thread(
    state: &AppState,
    viewer: &Viewer,
    id: ThreadId,
    page: u32,
    slug: &str,
) -> Result<(String, ThreadShared), AppError> {
    // The related threads beside it are other threads' titles and counts: they age with the
    // page (`cache.max_age_secs`) rather than drop every thread page whenever any thread is
    // started or retitled. A removed thread must leave them at once.
    crate::http_cache::depends_on(state, [agora_store::Scope::Removals]);
    let reveal = crate::services::permissions::allowed(
        viewer.account.as_deref(),
        crate::services::permissions::Action::SeeRemoved,
        agora_store::Timestamp::now(),
    );
    let (view, row, posts) = read::thread_page_rows(state, id, page, reveal).await?;
    let t = &view.thread;
    if t.url != paths::thread(id, slug) {
        // An old or mistyped slug: send readers (and search engines) to the current one.
        return Err(AppError::MovedTo {
            location: paths::thread_page(id, &t.slug, page),
        });
    }
    let mut layout = Layout::new(
        state,
        viewer,
        &t.title,
        &t.excerpt,
        &paths::thread_page(id, &t.slug, page),
    )
    .with_feeds(&t.title, &view.feed_rss, &view.feed_atom)
    .crumb("Topics", paths::home())
    .crumb(&t.subtopic.name, t.subtopic.url.clone());
    if page > 1 {
        layout.title = format!("{} (page {page}) · {}", t.title, state.site().settings.name);
    }
    let actions = posting::thread_actions(state, viewer, &view, &row, &posts).await?;
    mark_read(state, viewer, id, &posts).await?;
    let related = crate::services::search::related_views(state, id, &t.title, &t.excerpt).await;
    let html = render(&ThreadTemplate {
        layout,
        view: &view,
        actions,
        related,
    })?;
    Ok((html, ThreadShared { view, row, posts }))
}

/// The reader has seen these posts: what told them of them is read.
async fn mark_read(
    state: &AppState,
    viewer: &Viewer,
    id: ThreadId,
    posts: &[PostRow],
) -> Result<(), AppError> {
    if let Some(account) = viewer.account.as_deref()
        && viewer.unread.unwrap_or(0) > 0
    {
        let shown = posts.iter().map(|p| p.id).collect();
        state
            .store
            .mark_read(account.brief.id, Some(id), shown)
            .await?;
    }
    Ok(())
}

/// The shared page of the thread (cached, rendered once per version of what it shows for every
/// reader), with the data it was made from.
async fn shared_thread_page(
    state: &AppState,
    key: String,
    id: ThreadId,
    page: u32,
    slug: &str,
) -> Result<Arc<crate::http_cache::CachedBody>, AppError> {
    crate::http_cache::cached_body_with(state, key, HTML, || async {
        let (html, shared) = render_thread(state, &Viewer::default(), id, page, slug).await?;
        let shared: Arc<dyn std::any::Any + Send + Sync> = Arc::new(shared);
        Ok((html, Some(shared)))
    })
    .await
}

/// A signed-in member's thread page: the shared cached page with their header, their buttons
/// on each post and their reply box, watch control and bookmark spliced in (the technique
/// listings use), so it costs the reader's own few reads instead of a whole render.
/// Moderators, who may see removed posts the shared page leaves out, get a whole render.
async fn reader_thread_page(
    state: &AppState,
    viewer: &Viewer,
    key: String,
    id: ThreadId,
    page: u32,
    slug: &str,
) -> Result<Response, AppError> {
    let whole = || async {
        let (html, _) = render_thread(state, viewer, id, page, slug).await?;
        Ok::<_, AppError>(private_response(HTML, html))
    };
    let reveal = crate::services::permissions::allowed(
        viewer.account.as_deref(),
        crate::services::permissions::Action::SeeRemoved,
        agora_store::Timestamp::now(),
    );
    if reveal {
        return whole().await;
    }
    let cached = shared_thread_page(state, key, id, page, slug).await?;
    let Some(shared) = cached.extra::<ThreadShared>() else {
        return whole().await;
    };
    let (view, t) = (&shared.view, &shared.view.thread);
    let actions = posting::thread_actions(state, viewer, view, &shared.row, &shared.posts).await?;
    mark_read(state, viewer, id, &shared.posts).await?;
    let layout = Layout::new(state, viewer, &t.title, &t.excerpt, &t.url);
    let mut pieces = super::viewer_header(&layout)?;
    for (i, post) in view.posts.iter().enumerate() {
        let buttons = render(&PostActionsTemplate {
            a: &actions.post(i),
            post,
            view,
            t,
        })?;
        pieces.push(("post-actions", buttons));
    }
    let own = render(&ThreadReaderTemplate {
        layout: &layout,
        view,
        t,
        actions: &actions,
    })?;
    pieces.push(("thread-reader", own));
    let text = std::str::from_utf8(cached.body())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("cached page: {e}")))?;
    let mut out = String::with_capacity(text.len() + 8192);
    if !super::splice_in_order(text, &pieces, &mut out) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "the thread page has no reader markers"
        )));
    }
    Ok(private_response(HTML, out))
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
    let response = if viewer.signed_in() {
        reader_thread_page(&state, &viewer, cache_key(&uri), id, page, &slug).await
    } else {
        shared_thread_page(&state, cache_key(&uri), id, page, &slug)
            .await
            .map(|cached| cached.respond(&headers, crate::http_cache::REVALIDATE))
    };
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

#[derive(Template)]
#[template(path = "delete.html")]
struct DeleteTemplate<'a> {
    layout: Layout,
    view: &'a DeletionView,
}

/// `GET /posts/{id}/delete`: what deleting this post takes with it, and the form that does it
/// (the thread page's Delete button without scripts).
pub async fn delete_confirm(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(post): Path<String>,
) -> Result<Response, AppError> {
    let post = parse_post_id(&post)?;
    if !viewer.signed_in() {
        let next = paths::encode_query(&paths::delete_post(post));
        return Ok(Redirect::to(&format!("/signin?next={next}")).into_response());
    }
    let facts = crate::services::posting::post_facts(&state, post).await?;
    let view =
        crate::services::posting::deletion(&state, viewer.account.as_deref(), &facts).await?;
    let title = if view.opening {
        "Delete this thread?"
    } else {
        "Delete this post?"
    };
    let mut layout = Layout::new(
        &state,
        &viewer,
        title,
        &view.thread_title,
        &paths::delete_post(post),
    )
    .crumb(&view.thread_title, view.thread_url.clone());
    layout.noindex = true;
    let html = render(&DeleteTemplate {
        layout,
        view: &view,
    })?;
    Ok(private_page(StatusCode::OK, html))
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
