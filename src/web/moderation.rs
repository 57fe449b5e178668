//! Moderation pages and actions: lock, pin, move, retitle, hide, flag, suspend, the review
//! queue and the audit log. Thin handlers over `services::moderation`.

use askama::Template;
use crate::web::form::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::paths;
use crate::services::moderation;
use crate::services::permissions::Action;
use crate::services::posting;
use crate::views::{AuthorView, TimeView};
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

pub struct FlagItem {
    pub id: i64,
    pub post_url: String,
    pub thread_title: String,
    pub post_author: String,
    pub excerpt: String,
    pub reporter: String,
    pub reason: String,
    pub created: TimeView,
}

#[derive(Template)]
#[template(path = "review.html")]
struct ReviewTemplate {
    layout: Layout,
    flags: Vec<FlagItem>,
}

pub async fn review(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(see_other("/signin?next=%2Freview"));
    }
    posting::check(viewer.account.as_deref(), Action::ReviewFlags)?;
    let now = agora_store::Timestamp::now();
    let flags = state
        .store
        .open_flags(200)
        .await?
        .into_iter()
        .map(|f| FlagItem {
            id: f.id,
            post_url: format!(
                "{}#{}",
                paths::thread(f.thread, &f.thread_slug),
                paths::post_anchor(f.post)
            ),
            thread_title: f.thread_title,
            post_author: f.post_author,
            excerpt: f.excerpt,
            reporter: f.reporter,
            reason: f.reason,
            created: TimeView::new(f.created_at, now),
        })
        .collect();
    let mut layout = Layout::new(&state, &viewer, "Review queue", "Open flags", "/review");
    layout.noindex = true;
    let html = render(&ReviewTemplate { layout, flags })?;
    Ok(private_page(StatusCode::OK, html))
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
    Ok(see_other("/review"))
}

pub struct AuditItem {
    pub at: TimeView,
    pub actor: AuthorView,
    pub action: String,
    pub thread_url: Option<String>,
    pub post_id: Option<i64>,
    pub target_user: Option<String>,
    pub details: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditTemplate {
    layout: Layout,
    entries: Vec<AuditItem>,
    older: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct BeforeQuery {
    pub before: Option<i64>,
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<BeforeQuery>,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(see_other("/signin?next=%2Faudit"));
    }
    posting::check(viewer.account.as_deref(), Action::ReadAudit)?;
    let now = agora_store::Timestamp::now();
    let rows = state.store.audit_log(query.before, 100).await?;
    let older = (rows.len() == 100)
        .then(|| rows.last().map(|r| format!("/audit?before={}", r.id)))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|r| AuditItem {
            at: TimeView::new(r.at, now),
            actor: AuthorView::from(&r.actor),
            action: r.action,
            thread_url: r.thread.map(|t| format!("/thread/{t}")),
            post_id: r.post.map(|p| p.0),
            target_user: r.target_user,
            details: r.details,
        })
        .collect();
    let mut layout = Layout::new(&state, &viewer, "Audit log", "Moderation actions", "/audit");
    layout.noindex = true;
    let html = render(&AuditTemplate {
        layout,
        entries,
        older,
    })?;
    Ok(private_page(StatusCode::OK, html))
}
