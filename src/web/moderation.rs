//! Moderation pages and actions: lock, pin, move, retitle, hide, flag, suspend, the review
//! queue and the audit log. Thin handlers over `services::moderation`.

use crate::web::form::Form;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::paths;
use crate::services::moderation;
use crate::services::permissions::Action;
use crate::services::posting;
use crate::services::read::RawCursorParams;
use crate::views::{AuditPageView, FlagQueueView};
use crate::web::{
    Layout, back_to_post, parse_post_id, parse_thread_id, private_page, render, see_other,
};

#[derive(Debug, Default, Deserialize)]
pub struct ReasonForm {
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct PinForm {
    #[serde(default)]
    pub scope: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    pub subtopic: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct RetitleForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub tags: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct SuspendForm {
    #[serde(default)]
    pub until: String,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResolveForm {
    #[serde(default)]
    pub resolution: String,
    /// The queue page the form was on, to return to.
    #[serde(default)]
    pub next: Option<String>,
}

/// Where a thread is now (after a retitle, its slug has changed).
async fn thread_url(state: &AppState, id: agora_store::ThreadId) -> Result<String, AppError> {
    let thread = posting::thread_facts(state, id).await?;
    Ok(paths::thread(thread.id, &thread.slug))
}

pub async fn lock(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::lock(
        &state,
        viewer.account.as_deref(),
        &thread,
        Some(&form.reason),
    )
    .await?;
    Ok(see_other(&thread_url(&state, thread.id).await?))
}

pub async fn unlock(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    moderation::lock(&state, viewer.account.as_deref(), &thread, None).await?;
    Ok(see_other(&thread_url(&state, thread.id).await?))
}

pub async fn pin(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<PinForm>,
) -> Result<Response, AppError> {
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    posting::check(viewer.account.as_deref(), Action::Moderate(&thread))?;
    let scope = moderation::parse_pin(&form.scope)?;
    moderation::pin(&state, viewer.account.as_deref(), &thread, scope).await?;
    Ok(see_other(&thread_url(&state, thread.id).await?))
}

pub async fn move_thread(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    let id = thread.id;
    moderation::move_to(&state, viewer.account.as_deref(), thread, &form.subtopic).await?;
    Ok(see_other(&thread_url(&state, id).await?))
}

pub async fn retitle(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<RetitleForm>,
) -> Result<Response, AppError> {
    let thread = posting::thread_facts(&state, parse_thread_id(&id)?).await?;
    let id = thread.id;
    if let Err(errors) = moderation::retitle(
        &state,
        viewer.account.as_deref(),
        thread,
        &form.title,
        &form.tags,
    )
    .await?
    {
        errors.into_error()?;
    }
    Ok(see_other(&thread_url(&state, id).await?))
}

pub async fn hide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let back = back_to_post(&post);
    moderation::hide(&state, viewer.account.as_deref(), post, Some(&form.reason)).await?;
    Ok(see_other(&back))
}

pub async fn unhide(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let back = back_to_post(&post);
    moderation::hide(&state, viewer.account.as_deref(), post, None).await?;
    Ok(see_other(&back))
}

pub async fn flag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ReasonForm>,
) -> Result<Response, AppError> {
    let post = posting::post_facts(&state, parse_post_id(&id)?).await?;
    let back = back_to_post(&post);
    moderation::flag(&state, viewer.account.as_deref(), post, &form.reason).await?;
    Ok(see_other(&back))
}

pub async fn suspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<SuspendForm>,
) -> Result<Response, AppError> {
    moderation::suspend(
        &state,
        viewer.account.as_deref(),
        &name,
        Some((&form.until, &form.reason)),
    )
    .await?;
    Ok(see_other(&paths::user(&name)))
}

pub async fn unsuspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    moderation::suspend(&state, viewer.account.as_deref(), &name, None).await?;
    Ok(see_other(&paths::user(&name)))
}

// ---------------------------------------------------------------- review queue and audit log

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewTemplate<'a> {
    layout: Layout,
    view: &'a FlagQueueView,
    /// This page's path and query, for the resolve forms to come back to.
    page_path: String,
}

/// `/review`, `/review?after=ID`, `/review?before=ID`: open flags, oldest first.
pub async fn review(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawCursorParams>,
    uri: Uri,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(see_other("/signin?next=%2Freview"));
    }
    let view = moderation::flag_queue(&state, viewer.account.as_deref(), &raw, "/review").await?;
    let page_path = uri
        .path_and_query()
        .map_or("/review", |p| p.as_str())
        .to_string();
    let mut layout = Layout::new(&state, &viewer, "Review queue", "Open flags", &page_path);
    layout.noindex = true;
    let html = render(&ReviewTemplate {
        layout,
        view: &view,
        page_path,
    })?;
    Ok(private_page(StatusCode::OK, html))
}

/// Where a resolved flag's form returns to: the queue page it was on, or the queue's start.
fn back_to_queue(next: Option<&str>) -> String {
    let next = paths::safe_next(next);
    if next == "/review" || next.starts_with("/review?") {
        next
    } else {
        "/review".to_string()
    }
}

pub async fn resolve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ResolveForm>,
) -> Result<Response, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such flag."))?;
    moderation::resolve_flag(&state, viewer.account.as_deref(), id, &form.resolution).await?;
    Ok(see_other(&back_to_queue(form.next.as_deref())))
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTemplate<'a> {
    layout: Layout,
    view: &'a AuditPageView,
}

/// `/audit`, `/audit?before=ID`, `/audit?after=ID`: moderation actions, newest first.
pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(raw): Query<RawCursorParams>,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(see_other("/signin?next=%2Faudit"));
    }
    let view = moderation::audit_page(&state, viewer.account.as_deref(), &raw, "/audit").await?;
    let mut layout = Layout::new(&state, &viewer, "Audit log", "Moderation actions", "/audit");
    layout.noindex = true;
    let html = render(&AuditTemplate {
        layout,
        view: &view,
    })?;
    Ok(private_page(StatusCode::OK, html))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolving_returns_to_the_queue_only() {
        assert_eq!(back_to_queue(Some("/review?after=12")), "/review?after=12");
        assert_eq!(back_to_queue(Some("/review")), "/review");
        for elsewhere in [
            None,
            Some("/"),
            Some("//evil.example"),
            Some("/reviewer"),
            Some("/audit"),
        ] {
            assert_eq!(back_to_queue(elsewhere), "/review", "{elsewhere:?}");
        }
    }
}
