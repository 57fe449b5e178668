//! JSON API for looking after members, under `/api/v1/admin`: the staff directory, one
//! account, its role, approval, a password reset, ending its sessions, anonymising and
//! deleting it; invitations. Callers are [`AdminCaller`]s (a session, or an admin-scoped
//! token); what each may do is the same `services::members` permission check as the pages'.
//! Suspensions are `/api/v1/users/{username}/suspension`. Also the public member directory,
//! `/api/v1/users`.

use agora_store::Role;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

use crate::api::UsernameParam;
use crate::api::extract::{AdminCaller, ApiJson, ApiQuery};
use crate::api::write::{Done, done};
use crate::app::AppState;
use crate::error::{ApiError, AppError, ErrorBody};
use crate::services::accounts::FieldErrors;
use crate::services::members::{self, By, MemberParams, RawMemberParams};
use crate::views::{
    InvitationView, MemberDirectoryView, MemberView, PublicMembersView, schema as view_schema,
};

#[derive(OpenApi)]
#[openapi(
    paths(
        list,
        one,
        set_role,
        approve,
        reset,
        end_sessions,
        anonymise,
        delete,
        invitations,
        invite,
        revoke_invitation,
        public_list
    ),
    components(schemas(Done, ErrorBody))
)]
pub struct Doc;

fn first_error(errors: FieldErrors) -> AppError {
    errors
        .into_error()
        .err()
        .unwrap_or_else(|| AppError::bad_param("body", "invalid"))
}

/// One page of the staff directory: the same search, filters, sorts and pages as
/// `/admin/users`. Moderators and up.
#[utoipa::path(get, path = "/api/v1/admin/users", tag = "members", params(RawMemberParams),
    responses((status = 200, body = MemberDirectoryView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiQuery(raw): ApiQuery<RawMemberParams>,
) -> Result<Response, ApiError> {
    let params = MemberParams::parse(&raw)?;
    let view = members::directory(
        &state,
        By::Account(caller.account()),
        &params,
        "/api/v1/admin/users",
    )
    .await?;
    Ok(Json(view).into_response())
}

/// One account as staff see it. Moderators and up.
#[utoipa::path(get, path = "/api/v1/admin/users/{username}", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = MemberView), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn one(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    let member = members::member(&state, By::Account(caller.account()), &username).await?;
    Ok(Json(MemberView::new(&member, agora_store::Timestamp::now())).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RoleBody {
    #[schema(schema_with = view_schema::role)]
    pub role: Role,
    /// Shown beside their name; empty or absent for none.
    #[serde(default)]
    #[schema(max_length = 60)]
    pub staff_title: Option<String>,
}

/// Sets an account's role and staff title. Administrators, on anyone but themselves.
#[utoipa::path(put, path = "/api/v1/admin/users/{username}/role", tag = "members",
    request_body = RoleBody, params(UsernameParam),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn set_role(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<Response, ApiError> {
    members::set_role(
        &state,
        By::Account(caller.account()),
        &username,
        body.role,
        body.staff_title.as_deref().unwrap_or(""),
    )
    .await?
    .map_err(first_error)?;
    Ok(done())
}

/// Approves an account waiting for approval (409 `conflict` when it is not waiting).
/// Moderators and up, on accounts below their role.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/approve", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn approve(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    members::approve(&state, By::Account(caller.account()), &username).await?;
    Ok(done())
}

/// Emails the account a password-reset link. Moderators and up, on accounts below their role.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/reset", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn reset(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    members::send_reset(&state, By::Account(caller.account()), &username).await?;
    Ok(done())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEnded {
    /// How many sessions ended.
    pub ended: u64,
}

/// Signs the account out everywhere. Moderators and up, on accounts below their role.
#[utoipa::path(delete, path = "/api/v1/admin/users/{username}/sessions", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = SessionsEnded), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn end_sessions(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    let ended = members::end_sessions(&state, By::Account(caller.account()), &username).await?;
    Ok(Json(SessionsEnded { ended }).into_response())
}

/// Anonymises the account: its posts stay under "anonymous"; its name, email, password,
/// signature, sessions and tokens go. Administrators, on anyone but themselves.
#[utoipa::path(post, path = "/api/v1/admin/users/{username}/anonymise", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn anonymise(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    // Naming the account in the URL is the API's confirmation.
    members::anonymise(&state, By::Account(caller.account()), &username, &username)
        .await?
        .map_err(first_error)?;
    Ok(done())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeletedView {
    /// Threads they started, removed with every reply in them.
    pub threads: u64,
    /// Their replies in other threads, removed.
    pub replies: u64,
}

/// Deletes the account with its posts (and the threads it started). An account that acted as
/// staff is refused (400, `param` `confirm`): anonymise it instead. Administrators, on anyone
/// but themselves.
#[utoipa::path(delete, path = "/api/v1/admin/users/{username}", tag = "members",
    params(UsernameParam),
    responses((status = 200, body = DeletedView), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn delete(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(UsernameParam { username }): Path<UsernameParam>,
) -> Result<Response, ApiError> {
    let deleted = members::delete(&state, By::Account(caller.account()), &username, &username)
        .await?
        .map_err(first_error)?;
    Ok(Json(DeletedView {
        threads: deleted.threads,
        replies: deleted.replies,
    })
    .into_response())
}

/// Invitations, newest first. Moderators and up.
#[utoipa::path(get, path = "/api/v1/admin/invitations", tag = "members",
    responses((status = 200, body = Vec<InvitationView>), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn invitations(
    State(state): State<AppState>,
    caller: AdminCaller,
) -> Result<Response, ApiError> {
    Ok(Json(members::invitations(&state, caller.account()).await?).into_response())
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct InviteBody {
    #[schema(max_length = 254)]
    pub email: String,
    /// The role the new account gets; a staff role takes an administrator.
    #[serde(default = "member")]
    #[schema(schema_with = view_schema::role)]
    pub role: Role,
}

fn member() -> Role {
    Role::Member
}

/// Emails an invitation with a sign-up link (`/signup?invite=…`, good for 14 days, once).
/// Moderators invite members; administrators any role.
#[utoipa::path(post, path = "/api/v1/admin/invitations", tag = "members",
    request_body = InviteBody,
    responses((status = 201, body = Done), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    caller: AdminCaller,
    ApiJson(body): ApiJson<InviteBody>,
) -> Result<Response, ApiError> {
    members::invite(&state, caller.account(), &body.email, body.role)
        .await?
        .map_err(first_error)?;
    Ok((StatusCode::CREATED, Json(Done { ok: true })).into_response())
}

/// Withdraws an invitation not yet used. Moderators and up.
#[utoipa::path(delete, path = "/api/v1/admin/invitations/{id}", tag = "members",
    params(("id" = i64, Path, description = "An invitation.", minimum = 1)),
    responses((status = 200, body = Done), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody), (status = 507, body = ErrorBody)),
    security(("token" = [])))]
pub async fn revoke_invitation(
    State(state): State<AppState>,
    caller: AdminCaller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such invitation."))?;
    members::revoke_invitation(&state, caller.account(), id).await?;
    Ok(done())
}

/// The public member directory: most posts first, or by `sort`; `q` searches names by their
/// start (404 when the forum hides it).
#[utoipa::path(get, path = "/api/v1/users", tag = "forum",
    params(crate::services::members::RawPublicMemberParams),
    responses((status = 200, body = PublicMembersView), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 503, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn public_list(
    State(state): State<AppState>,
    ApiQuery(raw): ApiQuery<crate::services::members::RawPublicMemberParams>,
) -> Result<Response, ApiError> {
    let params = members::PublicMemberParams::parse(&raw)?;
    let view = members::public_directory(&state, &params, "/api/v1/users").await?;
    Ok(Json::<PublicMembersView>(view).into_response())
}
