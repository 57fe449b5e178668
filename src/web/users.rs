//! Member profiles with their tabs (activity, threads, replies, accepted answers, boosts given
//! and received), and the public member directory.

use super::*;
use crate::services::members::{PublicMemberParams, RawPublicMemberParams};
use crate::services::read::{ProfileParams, RawProfileParams};

#[derive(Template)]
#[template(path = "user.html")]
struct UserTemplate<'a> {
    layout: Layout,
    view: &'a UserPageView,
    /// The owner's own "Bookmarks" tab (None for everyone else).
    bookmarks_tab: Option<BookmarksTabView>,
}

pub async fn user(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(raw): Query<RawProfileParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    let params = ProfileParams::parse(&raw)?;
    cached(&state, &viewer, &headers, cache_key(&uri), HTML, || async {
        let view = read::user_page(&state, &name, params).await?;
        let u = &view.user;
        let description = format!(
            "{} (@{}) on {}",
            u.display_name,
            u.username,
            state.site().settings.name
        );
        let layout = Layout::new(&state, &viewer, &u.display_name, &description, &u.url)
            .with_feeds(
                &format!("Posts by {}", u.display_name),
                &view.feed_rss,
                &view.feed_atom,
            );
        // Only the owner, signed in, gets it: such a page is rendered for them alone, never
        // cached (`cached` renders signed-in readers' pages privately).
        let bookmarks_tab = crate::services::bookmarks::tab(
            &state,
            viewer.account.as_deref(),
            view.user_id,
            &view.user.username,
            false,
        )
        .await?;
        render(&UserTemplate {
            layout,
            view: &view,
            bookmarks_tab,
        })
    })
    .await
}

#[derive(Template)]
#[template(path = "users.html")]
struct MembersTemplate {
    layout: Layout,
    view: PublicMembersView,
    /// A parameter the page could not use, named, with why: the directory comes back with it.
    error: Option<String>,
    /// The search was the mistake.
    q_invalid: bool,
}

/// `/users`: the public member directory, by posts, accepted answers or joining date, searchable
/// by name; 404 while the setting hides it. A bad parameter gets the directory back (400) with
/// the mistake named and the rest of the query kept.
pub async fn members(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawPublicMemberParams>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response, AppError> {
    if !state.site().settings.member_directory {
        return Err(AppError::not_found("There is no member directory here."));
    }
    let (params, mistake) = PublicMemberParams::parse_keeping(&raw);
    let page = |mistake: Option<(&'static str, String)>| {
        let state = &state;
        let viewer = &viewer;
        let params = &params;
        async move {
            crate::http_cache::depends_on(state, [agora_store::Scope::Members]);
            let view = crate::services::members::public_directory(state, params, "/users").await?;
            let description = format!("The members of {}", state.site().settings.name);
            let layout = Layout::new(state, viewer, "Members", &description, "/users");
            let q_invalid = matches!(mistake, Some(("q", _)));
            let error = mistake.map(|(param, message)| {
                let field = match param {
                    "sort" => "Order",
                    "q" => "Search",
                    _ => "Page",
                };
                format!("{field}: {message}")
            });
            render(&MembersTemplate {
                layout,
                view,
                error,
                q_invalid,
            })
        }
    };
    match mistake {
        None => {
            cached(&state, &viewer, &headers, cache_key(&uri), HTML, || {
                page(None)
            })
            .await
        }
        Some(named) => Ok(private_page(
            StatusCode::BAD_REQUEST,
            page(Some(named)).await?,
        )),
    }
}
