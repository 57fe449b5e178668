//! `/admin/structure`: areas and their subtopics. The overview lists them with their order,
//! archive and delete buttons; an area or a subtopic is created and edited on its own page
//! (a subtopic's page also holds its rules and "move every thread to…"). Every refusal comes
//! back as the page with 400, the field named and everything typed kept; success is a 303
//! back with a notice. Everything works without JavaScript.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use agora_store::{AreaId, AreaRow, Direction, SubtopicId, SubtopicRow, TagBrief};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;
use crate::services::structure::{self, AreaForm, By, Refused, RulesForm, SubtopicForm};
use crate::web::admin::{AdminNav, admin_layout, guard, sign_in_first};
use crate::web::form::Form;
use crate::web::{Layout, private_page, render};

const OVERVIEW: &str = "/admin/structure";

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "area-created" => "The area is created.",
        "area-saved" => "The area is saved.",
        "area-deleted" => "The area is deleted.",
        "subtopic-created" => "The subtopic is created.",
        "subtopic-saved" => "The subtopic is saved.",
        "subtopic-deleted" => "The subtopic is deleted.",
        "rules-saved" => "The subtopic's rules are saved.",
        "moved" => "The order is saved.",
        "archived" => "Archived: it is read-only and left off the home page.",
        "unarchived" => "Back in use: it is on the home page again.",
        "threads-moved" => "Every thread was moved, and the move is in the audit log.",
        _ => return None,
    })
}

fn by(viewer: &Viewer) -> By<'_> {
    By::Account(viewer.account.as_deref())
}

fn done(url: &str, what: &str) -> Response {
    Redirect::to(&format!("{url}?done={what}")).into_response()
}

fn area_id(id: &str) -> Result<AreaId, AppError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(AreaId)
        .ok_or_else(|| AppError::not_found(format!("There is no area {id:?}.")))
}

fn subtopic_id(id: &str) -> Result<SubtopicId, AppError> {
    id.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .map(SubtopicId)
        .ok_or_else(|| AppError::not_found(format!("There is no subtopic {id:?}.")))
}

fn area_url(id: AreaId) -> String {
    format!("/admin/structure/areas/{}", id.0)
}

fn subtopic_url(id: SubtopicId) -> String {
    format!("/admin/structure/subtopics/{}", id.0)
}

// ---- the overview ----

#[derive(Template)]
#[template(path = "admin/structure.html")]
struct OverviewTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    areas: Vec<AreaRow>,
    allowed: Vec<(SubtopicId, TagBrief)>,
}

impl OverviewTemplate {
    fn allowed_of(&self, id: &SubtopicId) -> String {
        self.allowed
            .iter()
            .filter(|(s, _)| s == id)
            .map(|(_, t)| t.slug.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// `GET /admin/structure`.
pub async fn overview(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, OVERVIEW) {
        return Ok(redirect);
    }
    let account = guard(&viewer, Action::Administer)?;
    let html = render(&OverviewTemplate {
        layout: admin_layout(&state, &viewer, "Areas & subtopics", OVERVIEW),
        nav: AdminNav::new(account, OVERVIEW),
        notice: notice(query.done.as_deref()),
        areas: structure::areas(&state, by(&viewer)).await?,
        allowed: structure::allowed_tags(&state, by(&viewer)).await?,
    })?;
    Ok(private_page(StatusCode::OK, html))
}

#[derive(Debug, Deserialize)]
pub struct MoveForm {
    pub direction: String,
}

fn direction(form: &MoveForm) -> Result<Direction, AppError> {
    match form.direction.as_str() {
        "up" => Ok(Direction::Up),
        "down" => Ok(Direction::Down),
        _ => Err(AppError::bad_param("direction", "Choose up or down.")),
    }
}

#[derive(Debug, Deserialize)]
pub struct ArchiveForm {
    /// "1" to archive, "0" to bring back.
    pub archived: String,
}

fn archived(form: &ArchiveForm) -> bool {
    form.archived == "1"
}

// ---- areas ----

#[derive(Template)]
#[template(path = "admin/area.html")]
struct AreaTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    /// None: a new area.
    area: Option<AreaRow>,
    form: AreaForm,
    errors: FieldErrors,
}

async fn area_page(
    state: &AppState,
    viewer: &Viewer,
    area: Option<AreaRow>,
    form: AreaForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::Administer)?;
    let (title, path) = match &area {
        Some(a) => (format!("Area: {}", a.name), area_url(a.id)),
        None => ("New area".to_string(), "/admin/structure/areas/new".into()),
    };
    let html = render(&AreaTemplate {
        layout: admin_layout(state, viewer, &title, &path),
        nav: AdminNav::new(account, OVERVIEW),
        notice,
        area,
        form,
        errors,
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/structure/areas/new`.
pub async fn new_area(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/structure/areas/new") {
        return Ok(redirect);
    }
    area_page(
        &state,
        &viewer,
        None,
        AreaForm::default(),
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/structure/areas`.
pub async fn create_area(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<AreaForm>,
) -> Result<Response, AppError> {
    match structure::create_area(&state, by(&viewer), &form).await? {
        Ok(id) => Ok(done(&area_url(id), "area-created")),
        Err(refused) => {
            area_page(
                &state,
                &viewer,
                None,
                form,
                refused.errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /admin/structure/areas/{id}`.
pub async fn area(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, &format!("/admin/structure/areas/{id}")) {
        return Ok(redirect);
    }
    guard(&viewer, Action::Administer)?;
    let area = structure::area(&state, area_id(&id)?).await?;
    let form = AreaForm::from_row(&area);
    area_page(
        &state,
        &viewer,
        Some(area),
        form,
        FieldErrors::default(),
        notice(query.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/structure/areas/{id}`: saves the name, slug and description.
pub async fn edit_area(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<AreaForm>,
) -> Result<Response, AppError> {
    let id = area_id(&id)?;
    match structure::edit_area(&state, by(&viewer), id, &form).await? {
        Ok(()) => Ok(done(&area_url(id), "area-saved")),
        Err(Refused { errors, .. }) => {
            let area = structure::area(&state, id).await?;
            area_page(
                &state,
                &viewer,
                Some(area),
                form,
                errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /admin/structure/areas/{id}/move`.
pub async fn move_area(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    structure::move_area(&state, by(&viewer), area_id(&id)?, direction(&form)?).await?;
    Ok(done(OVERVIEW, "moved"))
}

/// `POST /admin/structure/areas/{id}/archive`.
pub async fn archive_area(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ArchiveForm>,
) -> Result<Response, AppError> {
    let archived = archived(&form);
    structure::archive_area(&state, by(&viewer), area_id(&id)?, archived).await?;
    Ok(done(
        OVERVIEW,
        if archived { "archived" } else { "unarchived" },
    ))
}

/// `POST /admin/structure/areas/{id}/delete`: only an area with no subtopics.
pub async fn delete_area(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = area_id(&id)?;
    match structure::delete_area(&state, by(&viewer), id).await? {
        Ok(()) => Ok(done(OVERVIEW, "area-deleted")),
        Err(Refused { errors, .. }) => {
            let area = structure::area(&state, id).await?;
            let form = AreaForm::from_row(&area);
            area_page(
                &state,
                &viewer,
                Some(area),
                form,
                errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

// ---- subtopics ----

#[derive(Template)]
#[template(path = "admin/subtopic.html")]
struct SubtopicTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    /// None: a new subtopic.
    subtopic: Option<SubtopicRow>,
    form: SubtopicForm,
    rules: RulesForm,
    move_to: String,
    errors: FieldErrors,
    /// (slug, name) of every area.
    areas: Vec<(String, String)>,
    /// (`area/subtopic`, label) of every other subtopic.
    targets: Vec<(String, String)>,
}

/// The parts of the subtopic page a failed form keeps as typed; the rest shows what is stored.
#[derive(Default)]
struct Typed {
    form: Option<SubtopicForm>,
    rules: Option<RulesForm>,
    move_to: Option<String>,
}

async fn subtopic_page(
    state: &AppState,
    viewer: &Viewer,
    subtopic: Option<SubtopicRow>,
    typed: Typed,
    errors: FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::Administer)?;
    let areas = structure::areas(state, by(viewer)).await?;
    let allowed = structure::allowed_tags(state, by(viewer)).await?;
    let (title, path) = match &subtopic {
        Some(s) => (format!("Subtopic: {}", s.name), subtopic_url(s.id)),
        None => (
            "New subtopic".to_string(),
            "/admin/structure/subtopics/new".into(),
        ),
    };
    let form = typed.form.unwrap_or_else(|| match &subtopic {
        Some(s) => SubtopicForm::from_row(s),
        None => SubtopicForm::default(),
    });
    let rules = typed.rules.unwrap_or_else(|| match &subtopic {
        Some(s) => RulesForm::from_row(s, &allowed),
        None => RulesForm::default(),
    });
    let targets = areas
        .iter()
        .flat_map(|a| {
            a.subtopics
                .iter()
                .filter(|s| subtopic.as_ref().is_none_or(|me| me.id != s.id))
                .map(move |s| {
                    (
                        format!("{}/{}", a.slug, s.slug),
                        format!("{} › {}", a.name, s.name),
                    )
                })
        })
        .collect();
    let html = render(&SubtopicTemplate {
        layout: admin_layout(state, viewer, &title, &path),
        nav: AdminNav::new(account, OVERVIEW),
        notice,
        subtopic,
        form,
        rules,
        move_to: typed.move_to.unwrap_or_default(),
        errors,
        areas: areas
            .iter()
            .map(|a| (a.slug.clone(), a.name.clone()))
            .collect(),
        targets,
    })?;
    Ok(private_page(status, html))
}

#[derive(Debug, Default, Deserialize)]
pub struct NewSubtopicQuery {
    pub area: Option<String>,
}

/// `GET /admin/structure/subtopics/new`.
pub async fn new_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NewSubtopicQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/structure/subtopics/new") {
        return Ok(redirect);
    }
    let typed = Typed {
        form: Some(SubtopicForm {
            area: query.area.unwrap_or_default(),
            ..SubtopicForm::default()
        }),
        ..Typed::default()
    };
    subtopic_page(
        &state,
        &viewer,
        None,
        typed,
        FieldErrors::default(),
        None,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/structure/subtopics`.
pub async fn create_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<SubtopicForm>,
) -> Result<Response, AppError> {
    match structure::create_subtopic(&state, by(&viewer), &form).await? {
        Ok(id) => Ok(done(&subtopic_url(id), "subtopic-created")),
        Err(Refused { errors, .. }) => {
            let typed = Typed {
                form: Some(form),
                ..Typed::default()
            };
            subtopic_page(
                &state,
                &viewer,
                None,
                typed,
                errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `GET /admin/structure/subtopics/{id}`.
pub async fn subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, &format!("/admin/structure/subtopics/{id}")) {
        return Ok(redirect);
    }
    guard(&viewer, Action::Administer)?;
    let sub = structure::subtopic(&state, subtopic_id(&id)?).await?;
    subtopic_page(
        &state,
        &viewer,
        Some(sub),
        Typed::default(),
        FieldErrors::default(),
        notice(query.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// Answers a subtopic form: 303 back with `done`, or the page again with the problems.
async fn subtopic_outcome<T>(
    state: &AppState,
    viewer: &Viewer,
    id: SubtopicId,
    result: Result<T, Refused>,
    done_with: &str,
    typed: Typed,
) -> Result<Response, AppError> {
    match result {
        Ok(_) => Ok(done(&subtopic_url(id), done_with)),
        Err(Refused { errors, .. }) => {
            let sub = structure::subtopic(state, id).await?;
            subtopic_page(
                state,
                viewer,
                Some(sub),
                typed,
                errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /admin/structure/subtopics/{id}`: name, slug, area, description, documentation link.
pub async fn edit_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<SubtopicForm>,
) -> Result<Response, AppError> {
    let id = subtopic_id(&id)?;
    let result = structure::edit_subtopic(&state, by(&viewer), id, &form).await?;
    let typed = Typed {
        form: Some(form),
        ..Typed::default()
    };
    subtopic_outcome(&state, &viewer, id, result, "subtopic-saved", typed).await
}

/// The rules form as sent: a cleared checkbox sends nothing.
#[derive(Debug, Default, Deserialize)]
pub struct RulesFields {
    #[serde(default)]
    pub who_starts: String,
    pub tags_required: Option<String>,
    #[serde(default)]
    pub allowed_tags: String,
}

/// `POST /admin/structure/subtopics/{id}/rules`.
pub async fn set_rules(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(fields): Form<RulesFields>,
) -> Result<Response, AppError> {
    let id = subtopic_id(&id)?;
    let rules = RulesForm {
        who_starts: fields.who_starts,
        tags_required: fields.tags_required.is_some(),
        allowed_tags: fields.allowed_tags,
    };
    let result = structure::set_rules(&state, by(&viewer), id, &rules).await?;
    let typed = Typed {
        rules: Some(rules),
        ..Typed::default()
    };
    subtopic_outcome(&state, &viewer, id, result, "rules-saved", typed).await
}

#[derive(Debug, Default, Deserialize)]
pub struct MoveThreadsForm {
    #[serde(default)]
    pub move_to: String,
}

/// `POST /admin/structure/subtopics/{id}/move-threads`: every thread, one audited action.
pub async fn move_threads(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveThreadsForm>,
) -> Result<Response, AppError> {
    let id = subtopic_id(&id)?;
    let result = structure::move_threads(&state, by(&viewer), id, &form.move_to).await?;
    let typed = Typed {
        move_to: Some(form.move_to),
        ..Typed::default()
    };
    subtopic_outcome(&state, &viewer, id, result, "threads-moved", typed).await
}

/// `POST /admin/structure/subtopics/{id}/move`: one place up or down in its area.
pub async fn move_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<MoveForm>,
) -> Result<Response, AppError> {
    structure::move_subtopic(&state, by(&viewer), subtopic_id(&id)?, direction(&form)?).await?;
    Ok(done(OVERVIEW, "moved"))
}

/// `POST /admin/structure/subtopics/{id}/archive`.
pub async fn archive_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<ArchiveForm>,
) -> Result<Response, AppError> {
    let archived = archived(&form);
    structure::archive_subtopic(&state, by(&viewer), subtopic_id(&id)?, archived).await?;
    Ok(done(
        OVERVIEW,
        if archived { "archived" } else { "unarchived" },
    ))
}

/// `POST /admin/structure/subtopics/{id}/delete`: only a subtopic with no threads.
pub async fn delete_subtopic(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = subtopic_id(&id)?;
    match structure::delete_subtopic(&state, by(&viewer), id).await? {
        Ok(()) => Ok(done(OVERVIEW, "subtopic-deleted")),
        Err(refused) => {
            subtopic_outcome::<()>(&state, &viewer, id, Err(refused), "", Typed::default()).await
        }
    }
}
