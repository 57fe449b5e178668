//! Tag listings and the tags index.

use super::*;

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
    cached_shared(
        &state,
        &viewer,
        &headers,
        cache_key(&uri),
        Some(crate::web::WatchPlace {
            kind: "tag",
            id: slug.clone(),
        }),
        || async {
            let view = read::tag_page(&state, &slug, params)
                .await
                .map_err(|e| e.moved_along(|to| crate::web::with_query(to, &uri)))?;
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
        },
    )
    .await
}

pub async fn tags(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let anonymous = Viewer::default();
    cached_shared(&state, &viewer, &headers, cache_key(&uri), None, || async {
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
