//! Member profiles with their threads, and the public member directory.

use super::*;

#[derive(Template)]
#[template(path = "user.html")]
struct UserTemplate<'a> {
    layout: Layout,
    view: &'a UserPageView,
    listing: &'a ListingView,
    listing_caption: String,
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
            u.display_name,
            u.username,
            state.site().settings.name
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

#[derive(Template)]
#[template(path = "users.html")]
struct MembersTemplate {
    layout: Layout,
    view: PublicMembersView,
}

/// `/users`: the public member directory, most posts first; 404 while the setting hides it.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawPageParam>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let page = read::parse_page(&raw.page)?;
    if !state.site().settings.member_directory {
        return Err(AppError::not_found("There is no member directory here."));
    }
    cached(&state, &viewer, &headers, cache_key(&uri), HTML, || async {
        let view = crate::services::members::public_directory(&state, page, "/users").await?;
        let description = format!("The members of {}", state.site().settings.name);
        let layout = Layout::new(&state, &viewer, "Members", &description, "/users");
        render(&MembersTemplate { layout, view })
    })
    .await
}
