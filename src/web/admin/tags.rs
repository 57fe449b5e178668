//! `/admin/tags`: every tag with its thread count and a form to create one; each tag's own
//! page renames or describes it, merges it into another, or deletes it. Refusals come back
//! as the page with 400, the field named and everything typed kept; success is a 303 back
//! with a notice.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use agora_store::TagRow;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::Action;
use crate::services::structure::{self, By, Refused, TagForm};
use crate::web::admin::structure::DoneQuery;
use crate::web::admin::{AdminNav, admin_layout, guard, sign_in_first};
use crate::web::form::Form;
use crate::web::{Layout, private_page, render};

const LIST: &str = "/admin/tags";

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "The tag is created.",
        "saved" => "The tag is saved; its old address redirects here.",
        "merged" => "The tags are merged: the threads carry this one now.",
        "deleted" => "The tag is deleted and taken off its threads.",
        _ => return None,
    })
}

fn by(viewer: &Viewer) -> By<'_> {
    By::Account(viewer.account.as_deref())
}

fn tag_url(slug: &str) -> String {
    crate::paths::admin_tag(slug)
}

#[derive(Template)]
#[template(path = "admin/tags.html")]
struct TagsTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    tags: Vec<TagRow>,
    form: TagForm,
    errors: FieldErrors,
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    form: TagForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::Administer)?;
    let html = render(&TagsTemplate {
        layout: admin_layout(state, viewer, "Tags", LIST),
        nav: AdminNav::new(account, LIST),
        notice,
        tags: structure::tags(state, by(viewer)).await?,
        form,
        errors,
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/tags`.
pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, LIST) {
        return Ok(redirect);
    }
    list_page(
        &state,
        &viewer,
        TagForm::default(),
        FieldErrors::default(),
        notice(query.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/tags`.
pub async fn create(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TagForm>,
) -> Result<Response, AppError> {
    match structure::create_tag(&state, by(&viewer), &form).await? {
        Ok(_) => Ok(Redirect::to(&format!("{LIST}?done=created")).into_response()),
        Err(refused) => {
            list_page(
                &state,
                &viewer,
                form,
                refused.errors,
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/tag.html")]
struct TagTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    tag: TagRow,
    form: TagForm,
    into: String,
    /// Every other tag's (slug, name): where it can be merged.
    others: Vec<(String, String)>,
    errors: FieldErrors,
}

/// What the tag page shows as typed after a refusal (the rest shows what is stored).
#[derive(Default)]
struct Typed {
    form: Option<TagForm>,
    into: String,
    errors: FieldErrors,
}

async fn tag_page(
    state: &AppState,
    viewer: &Viewer,
    tag: TagRow,
    typed: Typed,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let Typed { form, into, errors } = typed;
    let account = guard(viewer, Action::Administer)?;
    let others = structure::tags(state, by(viewer))
        .await?
        .into_iter()
        .filter(|t| t.id != tag.id)
        .map(|t| (t.slug, t.name))
        .collect();
    let url = tag_url(&tag.slug);
    let html = render(&TagTemplate {
        layout: admin_layout(state, viewer, &format!("Tag: {}", tag.name), &url),
        nav: AdminNav::new(account, LIST),
        notice,
        form: form.unwrap_or_else(|| TagForm::from_row(&tag)),
        tag,
        into,
        others,
        errors,
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/tags/{slug}`.
pub async fn tag(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, &tag_url(&slug)) {
        return Ok(redirect);
    }
    guard(&viewer, Action::Administer)?;
    let tag = structure::tag(&state, &slug).await?;
    tag_page(
        &state,
        &viewer,
        tag,
        Typed::default(),
        notice(query.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/tags/{slug}`: rename (slug and name) and describe.
pub async fn edit(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<TagForm>,
) -> Result<Response, AppError> {
    match structure::edit_tag(&state, by(&viewer), &slug, &form).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("{}?done=saved", tag_url(form.slug.trim()))).into_response())
        }
        Err(Refused { errors, .. }) => {
            let tag = structure::tag(&state, &slug).await?;
            tag_page(
                &state,
                &viewer,
                tag,
                Typed {
                    form: Some(form),
                    into: String::new(),
                    errors,
                },
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct MergeForm {
    #[serde(default)]
    pub into: String,
}

/// `POST /admin/tags/{slug}/merge`.
pub async fn merge(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
    Form(form): Form<MergeForm>,
) -> Result<Response, AppError> {
    match structure::merge_tag(&state, by(&viewer), &slug, &form.into).await? {
        Ok(()) => {
            Ok(Redirect::to(&format!("{}?done=merged", tag_url(form.into.trim()))).into_response())
        }
        Err(Refused { errors, .. }) => {
            let tag = structure::tag(&state, &slug).await?;
            tag_page(
                &state,
                &viewer,
                tag,
                Typed {
                    form: None,
                    into: form.into,
                    errors,
                },
                None,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
    }
}

/// `POST /admin/tags/{slug}/delete`.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    structure::delete_tag(&state, by(&viewer), &slug).await?;
    Ok(Redirect::to(&format!("{LIST}?done=deleted")).into_response())
}
