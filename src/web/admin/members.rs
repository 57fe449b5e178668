//! `/admin/users` (the staff directory), `/admin/users/{username}` (one member and what staff
//! may do to them) and `/admin/invitations`. Thin handlers over `services::members`; refused
//! input comes back 400 with the field named and everything typed kept; success is a 303 with
//! a `?done=` notice.

use agora_store::{MemberRow, Role, Timestamp};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::accounts::FieldErrors;
use crate::services::members::{self, By, MemberFilter, MemberParams, RawMemberParams};
use crate::services::permissions::{self, Action};
use crate::views::{InvitationView, MemberDirectoryView, MemberView, admin_user_url};
use crate::web::admin::settings::{Choice, DoneQuery};
use crate::web::admin::{AdminNav, admin_layout, guard, sign_in_first};
use crate::web::form::Form;
use crate::web::{Layout, private_page, render};

fn roles() -> Vec<Choice> {
    Role::ALL
        .iter()
        .map(|r| Choice {
            value: r.as_str(),
            label: match r {
                Role::Member => "Member",
                Role::Moderator => "Moderator",
                Role::Staff => "Staff",
                Role::Admin => "Administrator",
            },
        })
        .collect()
}

// ---------------------------------------------------------------- the directory

#[derive(Template)]
#[template(path = "admin/users.html")]
struct DirectoryTemplate {
    layout: Layout,
    nav: AdminNav,
    view: MemberDirectoryView,
    params: MemberParams,
    roles: Vec<Choice>,
    filters: Vec<Choice>,
    sorts: Vec<Choice>,
    notice: Option<&'static str>,
}

impl DirectoryTemplate {
    fn role_selected(&self, value: &str) -> bool {
        self.params.role.is_some_and(|r| r.as_str() == value)
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DirectoryQuery {
    #[serde(flatten)]
    pub raw: RawMemberParams,
    pub done: Option<String>,
}

/// `GET /admin/users`.
pub async fn directory(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DirectoryQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/users") {
        return Ok(redirect);
    }
    let account = guard(&viewer, Action::ManageMembers)?;
    let params = MemberParams::parse(&query.raw)?;
    let view =
        members::directory(&state, By::Account(Some(account)), &params, "/admin/users").await?;
    let html = render(&DirectoryTemplate {
        layout: admin_layout(&state, &viewer, "Members", "/admin/users"),
        nav: AdminNav::new(account, "/admin/users"),
        view,
        params,
        roles: roles(),
        filters: MemberFilter::ALL
            .into_iter()
            .map(|f| Choice {
                value: f.as_str(),
                label: f.label(),
            })
            .collect(),
        sorts: [
            ("joined", "Newest first"),
            ("seen", "Last seen"),
            ("posts", "Most posts"),
            ("name", "Name, A–Z"),
        ]
        .into_iter()
        .map(|(value, label)| Choice { value, label })
        .collect(),
        notice: match query.done.as_deref() {
            Some("deleted") => Some("The account and its posts are deleted."),
            _ => None,
        },
    })?;
    Ok(private_page(StatusCode::OK, html))
}

// ---------------------------------------------------------------- one member

/// What the member page's forms hold, as typed.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct MemberForms {
    #[serde(default)]
    pub role: String,
    #[serde(default)]
    pub staff_title: String,
    #[serde(default)]
    pub days: String,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub confirm: String,
}

/// Which of the member page's actions the viewer may take.
struct Offers {
    administer: bool,
    manage: bool,
    suspend: bool,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct MemberTemplate {
    layout: Layout,
    nav: AdminNav,
    member: MemberView,
    form: MemberForms,
    /// The typed confirmation goes back into the form that failed only.
    anonymise_confirm: String,
    delete_confirm: String,
    errors: FieldErrors,
    notice: Option<&'static str>,
    roles: Vec<Choice>,
    offers: Offers,
    base: String,
}

fn member_notice(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "role" => Some("Saved: the new role is in force."),
        "suspended" => Some("Suspended: they are shown the reason when they try to write."),
        "unsuspended" => Some("The suspension is lifted."),
        "reset" => Some("A password-reset email is on its way to them."),
        "sessions" => Some("They are signed out everywhere."),
        "approved" => Some("Approved: they may post now."),
        "anonymised" => Some("Anonymised: their posts stay, under \"anonymous\"."),
        _ => None,
    }
}

/// Which form a failure came from, so its typed confirmation stays in that form alone.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Failed {
    None,
    Anonymise,
    Delete,
}

#[allow(clippy::too_many_arguments)]
async fn member_page(
    state: &AppState,
    viewer: &Viewer,
    member: MemberRow,
    mut form: MemberForms,
    errors: FieldErrors,
    failed: Failed,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::ManageMembers)?;
    let now = Timestamp::now();
    let offers = Offers {
        administer: permissions::allowed(
            Some(account),
            Action::AdministerMember { user: member.id },
            now,
        ),
        manage: permissions::allowed(
            Some(account),
            Action::ManageMember {
                user: member.id,
                role: member.role,
            },
            now,
        ),
        suspend: permissions::allowed(
            Some(account),
            Action::Suspend {
                user: member.id,
                role: member.role,
            },
            now,
        ),
    };
    if form.role.is_empty() {
        form.role = member.role.as_str().to_string();
        form.staff_title = member.staff_title.clone().unwrap_or_default();
    }
    let confirm = std::mem::take(&mut form.confirm);
    let view = MemberView::new(&member, now);
    let base = view.admin_url.clone();
    let html = render(&MemberTemplate {
        layout: admin_layout(state, viewer, &view.display_name, &base),
        nav: AdminNav::new(account, "/admin/users"),
        member: view,
        form,
        anonymise_confirm: if failed == Failed::Anonymise {
            confirm.clone()
        } else {
            String::new()
        },
        delete_confirm: if failed == Failed::Delete {
            confirm
        } else {
            String::new()
        },
        errors,
        notice,
        roles: roles(),
        offers,
        base,
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/users/{username}`.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    let here = admin_user_url(&name);
    if let Some(redirect) = sign_in_first(&viewer, &here) {
        return Ok(redirect);
    }
    let member = members::member(&state, By::Account(viewer.account.as_deref()), &name).await?;
    member_page(
        &state,
        &viewer,
        member,
        MemberForms::default(),
        FieldErrors::default(),
        Failed::None,
        member_notice(query.done.as_deref()),
        StatusCode::OK,
    )
    .await
}

/// After an action: the member's page (under their name now) with its notice.
fn done(username: &str, what: &str) -> Response {
    Redirect::to(&format!("{}?done={what}", admin_user_url(username))).into_response()
}

/// The member page again, 400, with what was typed and what is wrong.
async fn refused(
    state: &AppState,
    viewer: &Viewer,
    name: &str,
    form: MemberForms,
    errors: FieldErrors,
    failed: Failed,
) -> Result<Response, AppError> {
    let member = members::member(state, By::Account(viewer.account.as_deref()), name).await?;
    member_page(
        state,
        viewer,
        member,
        form,
        errors,
        failed,
        None,
        StatusCode::BAD_REQUEST,
    )
    .await
}

/// Renames the fields of a failed confirmation after the form they came from.
fn confirm_errors(errors: FieldErrors, field: &'static str) -> FieldErrors {
    FieldErrors(
        errors
            .0
            .into_iter()
            .map(|(f, m)| (if f == "confirm" { field } else { f }, m))
            .collect(),
    )
}

/// `POST /admin/users/{username}/role`.
pub async fn set_role(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<MemberForms>,
) -> Result<Response, AppError> {
    let by = By::Account(viewer.account.as_deref());
    let role = match form.role.parse::<Role>() {
        Ok(role) => role,
        Err(_) => {
            let mut errors = FieldErrors::default();
            errors.add("role", "Choose a role.");
            return refused(&state, &viewer, &name, form, errors, Failed::None).await;
        }
    };
    match members::set_role(&state, by, &name, role, &form.staff_title).await? {
        Ok(()) => Ok(done(&name, "role")),
        Err(errors) => refused(&state, &viewer, &name, form, errors, Failed::None).await,
    }
}

/// `POST /admin/users/{username}/suspend`: for a number of days, with a reason.
pub async fn suspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<MemberForms>,
) -> Result<Response, AppError> {
    let actor = viewer.account.as_deref();
    match members::suspend_for(&state, actor, &name, &form.days, &form.reason).await? {
        Ok(()) => Ok(done(&name, "suspended")),
        Err(errors) => refused(&state, &viewer, &name, form, errors, Failed::None).await,
    }
}

/// `POST /admin/users/{username}/unsuspend`.
pub async fn unsuspend(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    crate::services::moderation::suspend(&state, viewer.account.as_deref(), &name, None).await?;
    Ok(done(&name, "unsuspended"))
}

/// `POST /admin/users/{username}/reset`.
pub async fn send_reset(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    members::send_reset(&state, By::Account(viewer.account.as_deref()), &name).await?;
    Ok(done(&name, "reset"))
}

/// `POST /admin/users/{username}/end-sessions`.
pub async fn end_sessions(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    members::end_sessions(&state, By::Account(viewer.account.as_deref()), &name).await?;
    Ok(done(&name, "sessions"))
}

/// `POST /admin/users/{username}/approve`.
pub async fn approve(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
) -> Result<Response, AppError> {
    members::approve(&state, By::Account(viewer.account.as_deref()), &name).await?;
    Ok(done(&name, "approved"))
}

/// `POST /admin/users/{username}/anonymise`: confirmed by typing the username.
pub async fn anonymise(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<MemberForms>,
) -> Result<Response, AppError> {
    let by = By::Account(viewer.account.as_deref());
    let member = members::member(&state, by, &name).await?;
    match members::anonymise(&state, by, &name, &form.confirm).await? {
        Ok(()) => Ok(done(&format!("anonymous-{}", member.id), "anonymised")),
        Err(errors) => {
            let errors = confirm_errors(errors, "anonymise_confirm");
            refused(&state, &viewer, &name, form, errors, Failed::Anonymise).await
        }
    }
}

/// `POST /admin/users/{username}/delete`: confirmed by typing the username.
pub async fn delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(name): Path<String>,
    Form(form): Form<MemberForms>,
) -> Result<Response, AppError> {
    let by = By::Account(viewer.account.as_deref());
    match members::delete(&state, by, &name, &form.confirm).await? {
        Ok(_) => Ok(Redirect::to("/admin/users?done=deleted").into_response()),
        Err(errors) => {
            let errors = confirm_errors(errors, "delete_confirm");
            refused(&state, &viewer, &name, form, errors, Failed::Delete).await
        }
    }
}

// ---------------------------------------------------------------- invitations

#[derive(Clone, Debug, Default, Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Template)]
#[template(path = "admin/invitations.html")]
struct InvitationsTemplate {
    layout: Layout,
    nav: AdminNav,
    invitations: Vec<InvitationView>,
    form: InviteForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    roles: Vec<Choice>,
}

async fn invitations_page(
    state: &AppState,
    viewer: &Viewer,
    form: InviteForm,
    errors: FieldErrors,
    notice: Option<&'static str>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = guard(viewer, Action::ManageMembers)?;
    let now = Timestamp::now();
    // Offer only the roles this viewer may invite with.
    let roles = roles()
        .into_iter()
        .filter(|c| {
            c.value
                .parse::<Role>()
                .is_ok_and(|role| permissions::allowed(Some(account), Action::Invite { role }, now))
        })
        .collect();
    let invitations = members::invitations(state, Some(account)).await?;
    let html = render(&InvitationsTemplate {
        layout: admin_layout(state, viewer, "Invitations", "/admin/invitations"),
        nav: AdminNav::new(account, "/admin/invitations"),
        invitations,
        form,
        errors,
        notice,
        roles,
    })?;
    Ok(private_page(status, html))
}

/// `GET /admin/invitations`.
pub async fn invitations(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/invitations") {
        return Ok(redirect);
    }
    let notice = match query.done.as_deref() {
        Some("sent") => Some("The invitation is on its way."),
        Some("revoked") => Some("The invitation is withdrawn: its link no longer works."),
        _ => None,
    };
    let form = InviteForm {
        role: Role::Member.as_str().into(),
        ..InviteForm::default()
    };
    invitations_page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
        notice,
        StatusCode::OK,
    )
    .await
}

/// `POST /admin/invitations`.
pub async fn invite(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<InviteForm>,
) -> Result<Response, AppError> {
    guard(&viewer, Action::ManageMembers)?;
    let Ok(role) = form.role.parse::<Role>() else {
        let mut errors = FieldErrors::default();
        errors.add("role", "Choose a role.");
        return invitations_page(&state, &viewer, form, errors, None, StatusCode::BAD_REQUEST)
            .await;
    };
    match members::invite(&state, viewer.account.as_deref(), &form.email, role).await? {
        Ok(()) => Ok(Redirect::to("/admin/invitations?done=sent").into_response()),
        Err(errors) => {
            invitations_page(&state, &viewer, form, errors, None, StatusCode::BAD_REQUEST).await
        }
    }
}

/// `POST /admin/invitations/{id}/revoke`.
pub async fn revoke_invitation(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such invitation."))?;
    members::revoke_invitation(&state, viewer.account.as_deref(), id).await?;
    Ok(Redirect::to("/admin/invitations?done=revoked").into_response())
}
