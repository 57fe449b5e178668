//! Bookmarks in the browser: the bookmark control's forms (`POST /bookmarks` saves one with
//! its note and reminder, `POST /bookmarks/{id}/delete` removes one) and the owner's list on
//! their profile (`/users/{name}/bookmarks`, nobody else's: 404 for anyone else, staff
//! included). Thin handlers over `services::bookmarks`; every form works without JavaScript.

use agora_store::{PostId, Timestamp};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::paths;
use crate::services::bookmarks::{self, BookmarkInput};
use crate::services::read::{self, RawPageParam};
use crate::views::{BookmarkControl, BookmarkView, BookmarksTabView, CountView, ProfileHeadView};
use crate::web::form::Form;
use crate::web::{Layout, private_page, render, see_other};

#[derive(Debug, Default, Deserialize)]
pub struct BookmarkForm {
    /// The thread's id.
    #[serde(default)]
    pub thread: String,
    /// The post's id; empty for the whole thread.
    #[serde(default)]
    pub post: String,
    #[serde(default)]
    pub note: String,
    /// `keep`, `` (none), `hour`, `tomorrow`, `3days` or `week`.
    #[serde(default)]
    pub remind: String,
    /// A date and time (`datetime-local`), in the zone `tz`; wins over `remind`.
    #[serde(default)]
    pub remind_at: String,
    /// The reader's offset from UTC in minutes (the page's script fills it in).
    #[serde(default)]
    pub tz: String,
    /// The page to go back to.
    pub next: Option<String>,
}

/// Signed out: to sign in, then back.
fn sign_in_first(next: &str) -> Response {
    see_other(&format!("/signin?next={}", paths::encode_query(next)))
}

/// Saves the reader's bookmark of a thread or a post, then goes back.
pub async fn save(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<BookmarkForm>,
) -> Result<Response, AppError> {
    let next = paths::safe_next(form.next.as_deref());
    if !viewer.signed_in() {
        return Ok(sign_in_first(&next));
    }
    let thread = paths::parse_thread_id(&form.thread)?;
    let post = match form.post.trim() {
        "" => None,
        text => Some(paths::parse_post_id(text)?),
    };
    let tz = bookmarks::parse_tz(&form.tz)?;
    let remind = bookmarks::remind_from_form(&form.remind, &form.remind_at, tz, Timestamp::now())?;
    bookmarks::save(
        &state,
        viewer.account.as_deref(),
        BookmarkInput {
            thread,
            post,
            note: form.note,
            remind,
        },
    )
    .await?;
    Ok(see_other(&next))
}

#[derive(Debug, Default, Deserialize)]
pub struct RemoveForm {
    pub next: Option<String>,
}

/// Removes one of the reader's bookmarks (anyone else's: 404), then goes back.
pub async fn remove(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RemoveForm>,
) -> Result<Response, AppError> {
    let next = paths::safe_next(form.next.as_deref());
    if !viewer.signed_in() {
        return Ok(sign_in_first(&next));
    }
    let id = parse_bookmark_id(&id)?;
    bookmarks::remove(&state, viewer.account.as_deref(), id).await?;
    Ok(see_other(&next))
}

/// Bookmark ids in paths that are not numbers name no bookmark: 404.
pub fn parse_bookmark_id(text: &str) -> Result<i64, AppError> {
    text.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::not_found(format!("There is no bookmark {text:?}.")))
}

/// One bookmark in the list, with its control.
pub struct BookmarkItem {
    pub view: BookmarkView,
    pub control: BookmarkControl,
}

#[derive(Template)]
#[template(path = "bookmarks.html")]
struct BookmarksTemplate {
    layout: Layout,
    head: ProfileHeadView,
    bookmarks_tab: Option<BookmarksTabView>,
    items: Vec<BookmarkItem>,
    count_text: String,
    page: u32,
    total_pages: u32,
    prev_url: Option<String>,
    next_url: Option<String>,
}

/// `/users/{name}/bookmarks`: the owner's bookmarks, newest first, 30 a page, each with its
/// note, reminder and controls. Signed out: to sign in; anyone but the owner: 404, as if
/// there were no such page.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(query): Query<RawPageParam>,
) -> Result<Response, AppError> {
    let here = paths::bookmarks(&name, 1);
    let Some(account) = viewer.account.as_deref() else {
        return Ok(sign_in_first(&here));
    };
    let head = read::profile_head(&state, &name).await?;
    let missing = || AppError::not_found("There is no such page.");
    let tab = bookmarks::tab(
        &state,
        Some(account),
        head.user_id,
        &head.user.username,
        true,
    )
    .await?
    .ok_or_else(missing)?;
    let page = read::parse_page(&query.page)?;
    let (rows, total) = bookmarks::page_of(&state, Some(account), page).await?;
    let now = Timestamp::now();
    let total_pages = bookmarks::total_pages(total);
    let username = head.user.username.clone();
    if page > total_pages {
        // Past the last page (its last bookmark was just removed): the last one there is.
        return Ok(see_other(&paths::bookmarks(&username, total_pages)));
    }
    let items = rows
        .iter()
        .map(|row| {
            let view = BookmarkView::new(row, now);
            let control = BookmarkControl::new(
                format!("b{}", row.id),
                row.thread.0,
                row.post.map(|p: PostId| p.0),
                format!("{}#bookmark-{}", paths::bookmarks(&username, page), row.id),
                Some(view.clone()),
            );
            BookmarkItem { view, control }
        })
        .collect();
    let mut layout = Layout::new(
        &state,
        &viewer,
        "Your bookmarks",
        "Your bookmarks",
        &paths::bookmarks(&username, page),
    );
    layout.noindex = true;
    let html = render(&BookmarksTemplate {
        layout,
        count_text: CountView::new(total).of("bookmark", "bookmarks"),
        prev_url: (page > 1).then(|| paths::bookmarks(&username, page - 1)),
        next_url: (page < total_pages).then(|| paths::bookmarks(&username, page + 1)),
        head,
        bookmarks_tab: Some(tab),
        items,
        page,
        total_pages,
    })?;
    Ok(private_page(StatusCode::OK, html))
}
