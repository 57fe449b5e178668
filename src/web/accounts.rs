//! Account pages: sign up, sign in and out, password reset, email verification, settings
//! (profile, password, sessions, API tokens). Thin handlers over `services::accounts`.

use crate::web::form::Form;
use agora_store::{DraftContent, DraftPlace, Role, Timestamp, TokenScope};
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::{self, Viewer};
use crate::client_ip::ClientIp;
use crate::error::AppError;
use crate::limits::{Limit, Limits};
use crate::paths;
use crate::services::accounts::{self, FieldErrors, SignUp};
use crate::services::drafts;
use crate::services::members::{self, SignUpGate};
use crate::services::permissions::Action;
use crate::services::posting;
use crate::views::TimeView;
use crate::web::{Layout, private_page, render};

fn redirect_with_cookie(to: &str, cookie: axum::http::HeaderValue) -> Response {
    let mut response = Redirect::to(to).into_response();
    response.headers_mut().insert(header::SET_COOKIE, cookie);
    response
}

fn layout(state: &AppState, viewer: &Viewer, title: &str, path: &str) -> Layout {
    let mut layout = Layout::new(state, viewer, title, title, path);
    layout.noindex = true;
    layout
}

// ---------------------------------------------------------------- sign up

#[derive(Debug, Default, Deserialize)]
pub struct SignUpForm {
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub password: String,
    #[serde(default)]
    pub display_name: String,
    pub next: Option<String>,
    /// The token of the invitation this sign-up came with (`/signup?invite=…`).
    #[serde(default)]
    pub invite: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct NextQuery {
    pub next: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub struct SignUpQuery {
    pub next: Option<String>,
    pub invite: Option<String>,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUpTemplate {
    layout: Layout,
    form: SignUpForm,
    errors: FieldErrors,
    gate: SignUpGate,
    /// The role an invitation offers, when it is not member.
    invited_role: Option<&'static str>,
}

impl SignUpTemplate {
    fn offers_form(&self) -> bool {
        matches!(self.gate, SignUpGate::Open(_) | SignUpGate::Approval)
    }

    fn invited(&self) -> bool {
        matches!(self.gate, SignUpGate::Open(Some(_)))
    }

    fn closed(&self) -> bool {
        self.gate == SignUpGate::Closed
    }

    fn invitation_only(&self) -> bool {
        matches!(self.gate, SignUpGate::InvitationOnly { .. })
    }

    fn dead_link(&self) -> bool {
        self.gate == SignUpGate::InvitationOnly { link_given: true }
    }

    fn approval(&self) -> bool {
        self.gate == SignUpGate::Approval
    }
}

/// The sign-up page as the registration mode (and the invitation, if any) allows: the form,
/// or why there is none. A refusal's status is 403.
async fn signup_page(
    state: &AppState,
    viewer: &Viewer,
    form: SignUpForm,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let gate = members::gate(state, Some(&form.invite)).await?;
    let mut form = SignUpForm {
        password: String::new(),
        ..form
    };
    let mut invited_role = None;
    if let SignUpGate::Open(Some(invitation)) = &gate {
        form.email = invitation.email.clone();
        invited_role = (invitation.role != Role::Member).then(|| invitation.role.as_str());
    }
    let refused = matches!(gate, SignUpGate::Closed | SignUpGate::InvitationOnly { .. });
    let status = if refused && status != StatusCode::OK {
        StatusCode::FORBIDDEN
    } else {
        status
    };
    let html = render(&SignUpTemplate {
        layout: layout(state, viewer, "Sign up", "/signup"),
        form,
        errors: if refused {
            FieldErrors::default()
        } else {
            errors
        },
        gate,
        invited_role,
    })?;
    Ok(private_page(status, html))
}

pub async fn signup(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<SignUpQuery>,
) -> Result<Response, AppError> {
    let form = SignUpForm {
        next: query.next,
        invite: query.invite.unwrap_or_default(),
        ..SignUpForm::default()
    };
    signup_page(
        &state,
        &viewer,
        form,
        FieldErrors::default(),
        StatusCode::OK,
    )
    .await
}

pub async fn signup_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignUpForm>,
) -> Result<Response, AppError> {
    state
        .limits()
        .check(Limit::SignUpIp, &Limits::ip_key(ip.0))?;
    let request = SignUp {
        username: form.username.clone(),
        email: form.email.clone(),
        password: form.password.clone(),
        display_name: form.display_name.clone(),
    };
    match members::sign_up(&state, &request, Some(&form.invite)).await? {
        Ok(account) => {
            let cookie = auth::start_session(&state, &headers, ip, &account).await?;
            Ok(redirect_with_cookie(
                &paths::safe_next(form.next.as_deref()),
                cookie,
            ))
        }
        Err(errors) => {
            let status = if errors
                .0
                .iter()
                .any(|(_, m)| m.contains("taken") || m.contains("already"))
            {
                StatusCode::CONFLICT
            } else {
                StatusCode::BAD_REQUEST
            };
            signup_page(&state, &viewer, form, errors, status).await
        }
    }
}

// ---------------------------------------------------------------- sign in and out

#[derive(Debug, Default, Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    pub login: String,
    #[serde(default)]
    pub password: String,
    pub next: Option<String>,
    /// What a signed-out submit carried, kept through signing in (see [`sign_in_to_keep`]).
    #[serde(flatten)]
    pub held: HeldText,
}

/// The text of a form submitted while signed out (a session that ended while typing): carried
/// in the sign-in form, kept as the account's draft once signed in, and so back in the form
/// that `next` opens.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct HeldText {
    /// The draft's place (`thread`, `reply:12`, `edit:34`); empty when nothing is held.
    #[serde(default)]
    pub held_place: String,
    #[serde(default)]
    pub held_subtopic: String,
    #[serde(default)]
    pub held_title: String,
    #[serde(default)]
    pub held_tags: String,
    #[serde(default)]
    pub held_kind: String,
    #[serde(default)]
    pub held_body: String,
    #[serde(default)]
    pub held_reply_to: String,
    #[serde(default)]
    pub held_reason: String,
}

impl HeldText {
    fn new(place: DraftPlace, content: DraftContent) -> Self {
        Self {
            held_place: place.key(),
            held_subtopic: content.subtopic,
            held_title: content.title,
            held_tags: content.tags,
            held_kind: content.kind,
            held_body: content.body,
            held_reply_to: content
                .reply_to
                .map(|p| p.0.to_string())
                .unwrap_or_default(),
            held_reason: content.reason,
        }
    }

    fn draft(&self) -> Option<(DraftPlace, DraftContent)> {
        let place = DraftPlace::parse(&self.held_place)?;
        Some((
            place,
            DraftContent {
                subtopic: self.held_subtopic.clone(),
                title: self.held_title.clone(),
                tags: self.held_tags.clone(),
                kind: self.held_kind.clone(),
                body: self.held_body.clone(),
                reply_to: self
                    .held_reply_to
                    .parse::<i64>()
                    .ok()
                    .filter(|id| *id > 0)
                    .map(agora_store::PostId),
                reason: self.held_reason.clone(),
            },
        ))
    }

    /// Whether there is text to carry.
    pub fn holds(&self) -> bool {
        !self.held_place.is_empty()
    }
}

#[derive(Template)]
#[template(path = "signin.html")]
struct SignInTemplate {
    layout: Layout,
    login: String,
    next: String,
    error: Option<String>,
    held: HeldText,
}

fn signin_page(
    state: &AppState,
    viewer: &Viewer,
    form: SignInForm,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let html = render(&SignInTemplate {
        layout: layout(state, viewer, "Sign in", "/signin"),
        login: form.login,
        next: form.next.unwrap_or_default(),
        error,
        held: form.held,
    })?;
    Ok(private_page(status, html))
}

/// A writing form submitted while signed out (the session ended while typing): the sign-in
/// page, carrying the text; once signed in it is the account's draft, back in the form at
/// `next`. Answered 401, as a signed-out write is everywhere.
pub fn sign_in_to_keep(
    state: &AppState,
    viewer: &Viewer,
    place: DraftPlace,
    content: DraftContent,
    next: &str,
) -> Result<Response, AppError> {
    let form = SignInForm {
        next: Some(next.to_string()),
        held: HeldText::new(place, content),
        ..SignInForm::default()
    };
    signin_page(state, viewer, form, None, StatusCode::UNAUTHORIZED)
}

pub async fn signin(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NextQuery>,
) -> Result<Response, AppError> {
    let form = SignInForm {
        next: query.next,
        ..SignInForm::default()
    };
    signin_page(&state, &viewer, form, None, StatusCode::OK)
}

pub async fn signin_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Result<Response, AppError> {
    let limited = state
        .limits()
        .check(Limit::SignInIp, &Limits::ip_key(ip.0))
        .and_then(|()| {
            state
                .limits()
                .check(Limit::SignInAccount, &agora_store::email_key(&form.login))
        });
    if let Err(err) = limited {
        // Text carried from a signed-out submit stays in the page while the limit passes.
        if form.held.holds() {
            let status = err.status();
            let mut response =
                signin_page(&state, &viewer, form, Some(err.public_message()), status)?;
            if let Some(seconds) = err.retry_after()
                && let Ok(value) = axum::http::HeaderValue::from_str(&seconds.to_string())
            {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            return Ok(response);
        }
        return Err(err);
    }
    match accounts::sign_in(&state, &form.login, &form.password).await? {
        Some(account) => {
            let cookie = auth::start_session(&state, &headers, ip, &account).await?;
            if let Some((place, content)) = form.held.draft() {
                drafts::keep_refused(&state, Some(&account), place, content).await;
            }
            Ok(redirect_with_cookie(
                &paths::safe_next(form.next.as_deref()),
                cookie,
            ))
        }
        None => signin_page(
            &state,
            &viewer,
            form,
            Some("That username or email and password do not match an account.".into()),
            StatusCode::UNAUTHORIZED,
        ),
    }
}

pub async fn signout(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let cookie = auth::end_session(&state, &headers).await?;
    Ok(redirect_with_cookie("/", cookie))
}

// ---------------------------------------------------------------- reset and verify

#[derive(Debug, Default, Deserialize)]
pub struct ResetRequestForm {
    #[serde(default)]
    pub email: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    pub password: String,
}

#[derive(Template)]
#[template(path = "reset.html")]
struct ResetTemplate {
    layout: Layout,
    /// The form posts here: `/reset` (ask for a link) or `/reset/{token}` (choose a password).
    action: String,
    with_token: bool,
    email: String,
    notice: Option<String>,
    errors: FieldErrors,
}

fn reset_page(template: ResetTemplate, status: StatusCode) -> Result<Response, AppError> {
    Ok(private_page(status, render(&template)?))
}

pub async fn reset(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let template = ResetTemplate {
        layout: layout(&state, &viewer, "Reset your password", "/reset"),
        action: "/reset".into(),
        with_token: false,
        email: String::new(),
        notice: None,
        errors: FieldErrors::default(),
    };
    reset_page(template, StatusCode::OK)
}

/// Always the same answer, whether or not an account uses the address.
pub async fn reset_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    Form(form): Form<ResetRequestForm>,
) -> Result<Response, AppError> {
    state
        .limits()
        .check(Limit::ResetIp, &Limits::ip_key(ip.0))?;
    if let Err(problem) = accounts::check_email(&form.email) {
        // Not an address at all (saying so tells nothing about who has an account).
        let mut errors = FieldErrors::default();
        errors.add("email", problem);
        let template = ResetTemplate {
            layout: layout(&state, &viewer, "Reset your password", "/reset"),
            action: "/reset".into(),
            with_token: false,
            email: form.email,
            notice: None,
            errors,
        };
        return reset_page(template, StatusCode::BAD_REQUEST);
    }
    {
        // Looked up and queued after answering: a known address (a write) and an unknown one
        // (nothing) must take the same time to answer.
        let (background, email) = (state.clone(), form.email.clone());
        state.spawn(async move {
            if let Err(err) = accounts::request_reset(&background, &email).await {
                tracing::warn!(error = %err, "could not queue a password reset");
            }
        });
    }
    let template = ResetTemplate {
        layout: layout(&state, &viewer, "Reset your password", "/reset"),
        action: "/reset".into(),
        with_token: false,
        email: form.email,
        notice: Some(
            "If an account uses that address, an email with a link to choose a new password is \
             on its way. The link works once, for a limited time."
                .into(),
        ),
        errors: FieldErrors::default(),
    };
    reset_page(template, StatusCode::OK)
}

pub async fn reset_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let valid = accounts::reset_link_valid(&state, &token).await?;
    let mut errors = FieldErrors::default();
    if !valid {
        errors.add(
            "token",
            "This link was used already or has expired. Ask for a new one below.",
        );
    }
    choose_password_page(&state, &viewer, &token, errors, StatusCode::OK)
}

/// The "choose a new password" form for a reset link, or, when the link no longer works
/// (an error on `token`), the form that asks for a new link.
fn choose_password_page(
    state: &AppState,
    viewer: &Viewer,
    token: &str,
    errors: FieldErrors,
    status: StatusCode,
) -> Result<Response, AppError> {
    let valid = errors.get("token").is_none();
    let template = ResetTemplate {
        layout: layout(state, viewer, "Choose a new password", "/reset"),
        action: if valid {
            format!("/reset/{token}")
        } else {
            "/reset".into()
        },
        with_token: valid,
        email: String::new(),
        notice: None,
        errors,
    };
    reset_page(template, status)
}

pub async fn reset_token_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    ip: ClientIp,
    Path(token): Path<String>,
    Form(form): Form<ResetForm>,
) -> Result<Response, AppError> {
    state
        .limits()
        .check(Limit::ResetIp, &Limits::ip_key(ip.0))?;
    match accounts::reset_password(&state, &token, &form.password).await? {
        Ok(_) => Ok(Redirect::to("/signin?reset=1").into_response()),
        Err(errors) => {
            choose_password_page(&state, &viewer, &token, errors, StatusCode::BAD_REQUEST)
        }
    }
}

#[derive(Template)]
#[template(path = "notice.html")]
struct NoticeTemplate {
    layout: Layout,
    heading: String,
    message: String,
}

pub async fn verify(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    let confirmed = accounts::confirm_email(&state, &token).await?;
    let (status, heading, message) = match confirmed.then_some(()) {
        Some(()) => (
            StatusCode::OK,
            "Email address confirmed",
            "Thank you: your address is confirmed.",
        ),
        None => (
            StatusCode::BAD_REQUEST,
            "That link does not work",
            "It was used already or has expired. Signed in, you can send a new one from your settings.",
        ),
    };
    let html = render(&NoticeTemplate {
        layout: layout(&state, &viewer, heading, "/verify"),
        heading: heading.into(),
        message: message.into(),
    })?;
    Ok(private_page(status, html))
}

// ---------------------------------------------------------------- settings

pub struct SessionItem {
    pub id: i64,
    pub current: bool,
    pub user_agent: String,
    pub ip: String,
    pub created: TimeView,
    pub last_seen: TimeView,
}

pub struct TokenItem {
    pub id: i64,
    pub name: String,
    pub scope: &'static str,
    pub created: TimeView,
    pub last_used: Option<TimeView>,
}

#[derive(Template)]
#[template(path = "settings.html")]
struct SettingsTemplate {
    layout: Layout,
    username: String,
    email: String,
    email_verified: bool,
    display_name: String,
    signature: String,
    sessions: Vec<SessionItem>,
    tokens: Vec<TokenItem>,
    drafts: Vec<crate::views::DraftView>,
    notify: crate::web::notifications::PrefsView,
    new_token: Option<String>,
    notice: Option<String>,
    errors: FieldErrors,
    /// Whether the admin scope is offered.
    may_admin_token: bool,
    /// The member's picture, as pages show it.
    avatar: crate::views::AvatarView,
    has_avatar: bool,
    /// Their uploads for posts, newest first.
    uploads: Vec<UploadItem>,
}

/// One of the member's uploads on the settings page.
struct UploadItem {
    token: String,
    name: String,
    url: String,
    size: String,
    removed: bool,
    created: TimeView,
}

struct SettingsExtras {
    display_name: Option<String>,
    signature: Option<String>,
    new_token: Option<String>,
    notice: Option<String>,
    errors: FieldErrors,
}

impl SettingsExtras {
    fn none() -> Self {
        Self {
            display_name: None,
            signature: None,
            new_token: None,
            notice: None,
            errors: FieldErrors::default(),
        }
    }
}

async fn settings_page(
    state: &AppState,
    viewer: &Viewer,
    extras: SettingsExtras,
    status: StatusCode,
) -> Result<Response, AppError> {
    let account = viewer.require()?;
    let now = Timestamp::now();
    let sessions = accounts::sessions(state, account)
        .await?
        .into_iter()
        .map(|s| SessionItem {
            current: viewer.session_id == Some(s.id),
            id: s.id,
            user_agent: if s.user_agent.is_empty() {
                "Unknown browser".into()
            } else {
                s.user_agent
            },
            ip: s.ip,
            created: TimeView::new(s.created_at, now),
            last_seen: TimeView::new(s.last_seen_at, now),
        })
        .collect();
    let tokens = accounts::api_tokens(state, account)
        .await?
        .into_iter()
        .map(|t| TokenItem {
            id: t.id,
            name: t.name,
            scope: t.scope.as_str(),
            created: TimeView::new(t.created_at, now),
            last_used: t.last_used_at.map(|at| TimeView::new(at, now)),
        })
        .collect();
    let drafts = drafts::list(state, Some(account))
        .await?
        .into_iter()
        .map(|d| crate::views::DraftView::new(d, now))
        .collect();
    let picture = state.store.avatar_of(account.brief.id).await?;
    let avatar =
        crate::views::AvatarView::generated(&account.brief.username, &account.brief.display_name)
            .with_upload(
                picture.as_ref().map(|p| p.token.as_str()),
                crate::views::AVATAR_LARGE,
            );
    let uploads = crate::services::uploads::of_member(state, Some(account))
        .await?
        .into_iter()
        .map(|u| UploadItem {
            url: crate::services::uploads::url_of(&u),
            size: crate::services::uploads::human_size(u.bytes.max(0) as u64),
            token: u.token,
            name: u.name,
            removed: u.removed_at.is_some(),
            created: TimeView::new(u.created_at, now),
        })
        .collect();
    let html = render(&SettingsTemplate {
        layout: layout(state, viewer, "Settings", "/settings"),
        avatar,
        has_avatar: picture.is_some(),
        uploads,
        username: account.brief.username.clone(),
        email: account.email.clone().unwrap_or_default(),
        email_verified: account.email_verified,
        display_name: extras
            .display_name
            .unwrap_or_else(|| account.brief.display_name.clone()),
        signature: extras
            .signature
            .unwrap_or_else(|| account.signature_md.clone()),
        sessions,
        tokens,
        drafts,
        notify: crate::web::notifications::PrefsView::new(
            &state.store.notify_prefs(account.brief.id).await?,
        ),
        new_token: extras.new_token,
        notice: extras.notice,
        errors: extras.errors,
        may_admin_token: crate::services::permissions::allowed(
            Some(account),
            Action::ManageMembers,
            now,
        ),
    })?;
    Ok(private_page(status, html))
}

fn own_settings(viewer: &Viewer) -> Result<&agora_store::Account, AppError> {
    posting::check(viewer.account.as_deref(), Action::OwnSettings)?;
    viewer.require()
}

fn own_profile(viewer: &Viewer) -> Result<&agora_store::Account, AppError> {
    posting::check(viewer.account.as_deref(), Action::EditProfile)?;
    viewer.require()
}

/// What just happened, as the settings page says it. The address carries only the code, so a
/// link cannot make the page say anything else.
#[derive(Clone, Copy)]
enum Done {
    Profile,
    Password,
    Verify,
    SessionEnded,
    OthersEnded,
    TokenRevoked,
    Notifications,
    Avatar,
    AvatarRemoved,
    UploadRemoved,
}

impl Done {
    const ALL: [(Done, &'static str, &'static str); 10] = [
        (Done::Profile, "profile", "Profile saved."),
        (
            Done::Password,
            "password",
            "Password changed. Every other session was signed out.",
        ),
        (
            Done::Verify,
            "verify",
            "A new confirmation link is on its way.",
        ),
        (Done::SessionEnded, "session", "Session ended."),
        (Done::OthersEnded, "others", "Signed out everywhere else."),
        (Done::TokenRevoked, "token", "Token revoked."),
        (
            Done::Notifications,
            "notifications",
            "Notification settings saved.",
        ),
        (Done::Avatar, "avatar", "Your picture is saved."),
        (
            Done::AvatarRemoved,
            "avatar-removed",
            "Your picture is removed: your initials are shown again.",
        ),
        (
            Done::UploadRemoved,
            "upload-removed",
            "The file is deleted. Posts that showed it now say it was removed.",
        ),
    ];

    fn code(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(d, _, _)| *d as u8 == self as u8)
            .map_or("", |(_, code, _)| code)
    }

    fn message(code: &str) -> Option<&'static str> {
        Self::ALL
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(_, _, message)| *message)
    }
}

/// After a change: back to the settings page with a notice (303, so a reload does not repeat).
fn settings_done(done: Done) -> Response {
    Redirect::to(&format!("/settings?done={}", done.code())).into_response()
}

#[derive(Debug, Default, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub signature: String,
}

pub async fn profile_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<ProfileForm>,
) -> Result<Response, AppError> {
    let account = own_profile(&viewer)?;
    match accounts::update_profile(&state, account, &form.display_name, &form.signature).await? {
        Ok(()) => Ok(settings_done(Done::Profile)),
        Err(errors) => {
            let extras = SettingsExtras {
                display_name: Some(form.display_name),
                signature: Some(form.signature),
                errors,
                ..SettingsExtras::none()
            };
            settings_page(&state, &viewer, extras, StatusCode::BAD_REQUEST).await
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    pub current_password: String,
    #[serde(default)]
    pub new_password: String,
}

pub async fn password_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PasswordForm>,
) -> Result<Response, AppError> {
    let account = own_settings(&viewer)?;
    match accounts::change_password(
        &state,
        account,
        &form.current_password,
        &form.new_password,
        viewer.session_id,
    )
    .await?
    {
        Ok(()) => Ok(settings_done(Done::Password)),
        Err(errors) => {
            let extras = SettingsExtras {
                errors,
                ..SettingsExtras::none()
            };
            settings_page(&state, &viewer, extras, StatusCode::BAD_REQUEST).await
        }
    }
}

pub async fn resend_verification(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let account = own_settings(&viewer)?;
    if !account.email_verified {
        accounts::send_verification(&state, account).await?;
    }
    Ok(settings_done(Done::Verify))
}

pub async fn end_session(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let account = own_settings(&viewer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such session."))?;
    accounts::end_session(&state, account, id).await?;
    if viewer.session_id == Some(id) {
        return Ok(Redirect::to("/").into_response());
    }
    Ok(settings_done(Done::SessionEnded))
}

pub async fn end_other_sessions(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let account = own_settings(&viewer)?;
    accounts::end_other_sessions(&state, account, viewer.session_id).await?;
    Ok(settings_done(Done::OthersEnded))
}

#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub scope: String,
}

/// Creates an API token and shows it on the page, once.
pub async fn create_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<TokenForm>,
) -> Result<Response, AppError> {
    let account = own_profile(&viewer)?;
    let scope: TokenScope = form
        .scope
        .trim()
        .parse()
        .map_err(|_| AppError::bad_param("scope", "Choose read, write or admin."))?;
    let extras = match accounts::create_api_token(&state, account, &form.name, scope).await? {
        Ok(token) => SettingsExtras {
            new_token: Some(token),
            notice: Some("Copy your new token now: it is shown only this once.".into()),
            ..SettingsExtras::none()
        },
        Err(errors) => SettingsExtras {
            errors,
            ..SettingsExtras::none()
        },
    };
    let status = if extras.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    settings_page(&state, &viewer, extras, status).await
}

pub async fn revoke_token(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let account = own_settings(&viewer)?;
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such token."))?;
    accounts::revoke_api_token(&state, account, id).await?;
    Ok(settings_done(Done::TokenRevoked))
}

#[derive(Debug, Default, Deserialize)]
pub struct DoneQuery {
    pub done: Option<String>,
}

/// `/settings?done=…`: the settings page with the notice of what just happened.
pub async fn settings_with_notice(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<DoneQuery>,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(Redirect::to("/signin?next=%2Fsettings").into_response());
    }
    let notice = query
        .done
        .as_deref()
        .and_then(Done::message)
        .map(str::to_string);
    let extras = SettingsExtras {
        notice,
        ..SettingsExtras::none()
    };
    settings_page(&state, &viewer, extras, StatusCode::OK).await
}

// ---------------------------------------------------------------- picture

/// `POST /settings/avatar` (multipart, field `avatar`): the member's picture, cropped to a
/// square (the page's script sends the part chosen; without it the server keeps the middle).
/// A refusal comes back on the settings page beside the field.
pub async fn avatar_submit(
    State(state): State<AppState>,
    viewer: Viewer,
    mut multipart: axum::extract::Multipart,
) -> Result<Response, AppError> {
    if !viewer.signed_in() {
        return Ok(Redirect::to("/signin?next=%2Fsettings").into_response());
    }
    let max = crate::services::uploads::max_file_bytes(&state);
    let mut file = None;
    let mut refused = None;
    while let Some(mut field) = multipart
        .next_field()
        .await
        .map_err(|e| crate::body::rejected(e.status(), &e.body_text()))?
    {
        if field.name() != Some("avatar") {
            continue;
        }
        let name = field.file_name().unwrap_or_default().to_string();
        let bytes = match crate::body::read_file(&mut field, max).await? {
            Ok(bytes) => bytes,
            Err(err) => {
                refused = Some(err.public_message());
                break;
            }
        };
        file = Some(crate::services::uploads::IncomingFile {
            name,
            bytes: bytes.into(),
        });
        break;
    }
    let outcome = match (refused, file) {
        (Some(why), _) => Err((StatusCode::PAYLOAD_TOO_LARGE, why)),
        (None, Some(file)) if !file.bytes.is_empty() => {
            match crate::services::uploads::set_avatar(&state, viewer.account.as_deref(), file)
                .await
            {
                Ok(_) => Ok(()),
                Err(AppError::UploadRefused {
                    message, too_large, ..
                }) => Err((
                    if too_large {
                        StatusCode::PAYLOAD_TOO_LARGE
                    } else {
                        StatusCode::BAD_REQUEST
                    },
                    message,
                )),
                Err(other) => return Err(other),
            }
        }
        _ => Err((
            StatusCode::BAD_REQUEST,
            "Choose a picture to upload.".into(),
        )),
    };
    match outcome {
        Ok(()) => Ok(
            Redirect::to(&format!("/settings?done={}#s-avatar", Done::Avatar.code()))
                .into_response(),
        ),
        Err((status, why)) => {
            let mut errors = FieldErrors::default();
            errors.add("avatar", why);
            let extras = SettingsExtras {
                errors,
                ..SettingsExtras::none()
            };
            settings_page(&state, &viewer, extras, status).await
        }
    }
}

/// `POST /settings/avatar/remove`: back to the generated picture (initials).
pub async fn avatar_remove(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    crate::services::uploads::clear_avatar(&state, viewer.account.as_deref()).await?;
    Ok(Redirect::to(&format!(
        "/settings?done={}#s-avatar",
        Done::AvatarRemoved.code()
    ))
    .into_response())
}

// ---------------------------------------------------------------- drafts

#[derive(Debug, Default, Deserialize)]
pub struct DiscardForm {
    /// Where to go afterwards: the form the draft filled, or the settings list.
    pub next: Option<String>,
}

/// Throws one of the reader's drafts away (the settings list, or the note above a form the
/// draft filled), then goes back.
pub async fn discard_draft(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    Form(form): Form<DiscardForm>,
) -> Result<Response, AppError> {
    let id = id
        .parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| AppError::not_found(format!("There is no draft {id}.")))?;
    drafts::discard(&state, viewer.account.as_deref(), id).await?;
    let next = match form.next.as_deref() {
        Some(next) if !next.is_empty() => paths::safe_next(Some(next)),
        _ => "/settings#s-drafts".to_string(),
    };
    Ok(crate::web::see_other(&next))
}
