//! The home page and subtopic listings.

use super::*;

#[derive(Template)]
#[template(path = "home.html")]
struct HomeTemplate<'a> {
    layout: Layout,
    view: &'a HomeView,
    latest_rss: String,
    latest_atom: String,
}

#[derive(Template)]
#[template(path = "subtopic.html")]
struct SubtopicTemplate<'a> {
    layout: Layout,
    view: &'a SubtopicPageView,
    listing: &'a ListingView,
    listing_caption: String,
}

pub async fn home(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), None, || async {
        let view = read::home(&state).await?;
        let (latest_rss, latest_atom) = (paths::latest_feed("rss"), paths::latest_feed("atom"));
        let layout = Layout::new(
            &state,
            &anonymous,
            "",
            &state.site().settings.description,
            "/",
        )
        .with_feeds("Newest threads", &latest_rss, &latest_atom);
        render(&HomeTemplate {
            layout,
            view: &view,
            latest_rss,
            latest_atom,
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
    cached_shared(
        &state,
        &viewer,
        &headers,
        cache_key(&uri),
        Some(crate::web::WatchPlace {
            kind: "subtopic",
            id: format!("{area}/{sub}"),
        }),
        || async {
            let view = read::subtopic_page(&state, &area, &sub, params)
                .await
                .map_err(|e| e.moved_along(|to| crate::web::with_query(to, &uri)))?;
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
        },
    )
    .await
}
