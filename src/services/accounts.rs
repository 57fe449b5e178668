//! The account rules: what a username, email and password must be, signing up and in,
//! resetting and changing passwords, verifying email, profiles and API tokens. Pages and the
//! API call these; they never talk to the store about accounts themselves.

use agora_store::{
    Account, EmailPurpose, NewUser, Role, Timestamp, TokenScope, UserId, name_skeleton,
};

use crate::app::AppState;
use crate::auth;
use crate::error::AppError;
use crate::services::mail::Email;

/// Names nobody may take, nor anything that looks like them.
const RESERVED: &[&str] = &[
    "admin",
    "administrator",
    "staff",
    "system",
    "moderator",
    "mod",
    "root",
    "support",
    "agora",
    "official",
    "anonymous",
    "deleted",
    "null",
    "security",
    "help",
    "team",
    "api",
    "signin",
    "signup",
    "settings",
];

/// Shortest and longest username, in characters.
pub const USERNAME_CHARS: (usize, usize) = (2, 30);
pub const MIN_PASSWORD: usize = 10;
pub const MAX_PASSWORD: usize = 200;

/// A form's fields and what is wrong with each: every problem at once, in field order.
#[derive(Clone, Debug, Default)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }

    /// Refuses NUL and the other control characters in `value` (tab, line feed and carriage
    /// return are text): PostgreSQL cannot store NUL, feeds cannot carry the rest, and an
    /// archive holding them would not load elsewhere. True when the value is clean.
    pub fn text(&mut self, field: &'static str, value: &str) -> bool {
        match forbidden_char(value) {
            None => true,
            Some(c) => {
                self.add(field, forbidden_char_message(c));
                false
            }
        }
    }

    /// The first problem as an API error (the API reports one field at a time).
    pub fn into_error(self) -> Result<(), AppError> {
        match self.0.into_iter().next() {
            None => Ok(()),
            Some((field, message)) => Err(AppError::bad_param(field, message)),
        }
    }
}

pub use agora_store::forbidden_char;

/// What a person is told about a control character in what they typed.
pub fn forbidden_char_message(c: char) -> String {
    format!(
        "Remove the control character U+{:04X}: it cannot be stored (it may have come from a copy and paste).",
        c as u32
    )
}

/// Checks a username: 2–30 letters (any script), digits, `_`, `-` or `.`, not reserved and not
/// a look-alike of a reserved name.
pub fn check_username(name: &str) -> Result<(), String> {
    check_username_shape(name)?;
    check_not_reserved(name)
}

/// The characters and length of a username.
pub fn check_username_shape(name: &str) -> Result<(), String> {
    let count = name.chars().count();
    if !(USERNAME_CHARS.0..=USERNAME_CHARS.1).contains(&count) {
        return Err(format!(
            "Use {} to {} characters.",
            USERNAME_CHARS.0, USERNAME_CHARS.1
        ));
    }
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err("Use letters (any language), digits, and _ - . only.".into());
    }
    if !name.chars().next().is_some_and(char::is_alphanumeric) {
        return Err("Start with a letter or a digit.".into());
    }
    Ok(())
}

fn check_not_reserved(name: &str) -> Result<(), String> {
    let skeleton = name_skeleton(name);
    let reserved = RESERVED.iter().any(|r| {
        let reserved = name_skeleton(r);
        skeleton == reserved
            || skeleton
                .strip_prefix(reserved.as_str())
                .is_some_and(|rest| {
                    rest.chars()
                        .all(|c| c.is_ascii_digit() || c == 'l' || c == 'o')
                })
                && reserved.len() >= 4
    });
    if reserved {
        return Err("That name is reserved, or looks like a reserved name.".into());
    }
    Ok(())
}

pub fn check_email(email: &str) -> Result<(), String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !email.chars().any(|c| c.is_whitespace() || c.is_control())
        })
        && email.parse::<lettre::Address>().is_ok();
    if valid {
        Ok(())
    } else {
        Err("Enter an email address like name@example.com.".into())
    }
}

pub fn check_password(password: &str, username: &str) -> Result<(), String> {
    if let Some(c) = forbidden_char(password) {
        return Err(forbidden_char_message(c));
    }
    let count = password.chars().count();
    if count < MIN_PASSWORD {
        return Err(format!(
            "Make the password at least {MIN_PASSWORD} characters."
        ));
    }
    if count > MAX_PASSWORD {
        return Err(format!(
            "Make the password at most {MAX_PASSWORD} characters."
        ));
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Err("Don't put your username in your password.".into());
    }
    Ok(())
}

pub fn check_display_name(name: &str) -> Result<(), String> {
    let count = name.trim().chars().count();
    if count > 60 {
        return Err("Use at most 60 characters.".into());
    }
    if let Some(c) = name.chars().find(|c| c.is_control()) {
        return Err(forbidden_char_message(c));
    }
    Ok(())
}

#[derive(Clone, Debug)]
pub struct SignUp {
    pub username: String,
    pub email: String,
    pub password: String,
    pub display_name: String,
}

/// Who is creating an account: someone signing up (every rule applies, and the address must
/// be confirmed), or an operator at the command line (reserved names allowed, the address
/// taken as confirmed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreatedBy {
    SignUp,
    Operator,
}

/// Validates every field, then creates the account (and queues the verification email).
/// Checks a new account's fields (every problem at once) and hashes its password: the
/// account to create, not yet stored.
pub async fn new_user(
    state: &AppState,
    form: &SignUp,
    role: Role,
    staff_title: Option<String>,
    by: CreatedBy,
) -> Result<Result<NewUser, FieldErrors>, AppError> {
    let username = form.username.trim();
    let mut errors = FieldErrors::default();
    let name_check = match by {
        CreatedBy::SignUp => check_username(username),
        CreatedBy::Operator => check_username_shape(username),
    };
    if let Err(e) = name_check {
        errors.add("username", e);
    }
    if let Err(e) = check_email(&form.email) {
        errors.add("email", e);
    }
    if let Err(e) = check_password(&form.password, username) {
        errors.add("password", e);
    }
    if let Err(e) = check_display_name(&form.display_name) {
        errors.add("display_name", e);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hash = auth::hash_password(state, &form.password).await?;
    let display_name = match form.display_name.trim() {
        "" => username.to_string(),
        name => name.to_string(),
    };
    Ok(Ok(NewUser {
        username: username.to_string(),
        display_name,
        email: form.email.trim().to_string(),
        password_hash: hash,
        role,
        staff_title,
        email_verified: by == CreatedBy::Operator,
    }))
}

pub async fn sign_up(
    state: &AppState,
    form: &SignUp,
    role: Role,
    staff_title: Option<String>,
    by: CreatedBy,
) -> Result<Result<Account, FieldErrors>, AppError> {
    let user = match new_user(state, form, role, staff_title, by).await? {
        Ok(user) => user,
        Err(errors) => return Ok(Err(errors)),
    };
    let created = state.store.create_user(user).await;
    let id = match created {
        Ok(id) => id,
        Err(agora_store::StoreError::Conflict { field, message }) => {
            let mut errors = FieldErrors::default();
            errors.add(field, message);
            return Ok(Err(errors));
        }
        Err(other) => return Err(other.into()),
    };
    let account = state
        .store
        .account(id)
        .await?
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("account {id} vanished")))?;
    if by == CreatedBy::SignUp {
        send_verification(state, &account).await?;
    }
    Ok(Ok(account))
}

/// Stores a one-time link's hash and queues the email that carries the link, together.
/// `write` gets the link and returns the subject and body.
#[allow(clippy::too_many_arguments)]
async fn queue_link_email(
    state: &AppState,
    account: &Account,
    to: &str,
    purpose: EmailPurpose,
    path: &str,
    lifetime_minutes: i64,
    audit: Option<agora_store::Audit>,
    write: impl FnOnce(&str) -> (String, String),
) -> Result<(), AppError> {
    let token = auth::new_secret()?;
    let link = format!("{}/{path}/{token}", state.site().settings.base_url);
    let (subject, body) = write(&link);
    let job = Email {
        to: to.to_string(),
        subject,
        body,
        ..Email::default()
    };
    let expires = Timestamp::from_micros(Timestamp::now().micros() + lifetime_minutes * 60_000_000);
    let hash = auth::secret_hash(&token);
    match audit {
        None => {
            state
                .store
                .create_email_token(account.brief.id, purpose, &hash, expires, job.to_job())
                .await?
        }
        Some(audit) => {
            state
                .store
                .create_email_token_audited(
                    account.brief.id,
                    purpose,
                    &hash,
                    expires,
                    job.to_job(),
                    audit,
                )
                .await?
        }
    }
    state.jobs_queued.notify_one();
    Ok(())
}

/// Queues an email with a link that verifies the account's address.
pub async fn send_verification(state: &AppState, account: &Account) -> Result<(), AppError> {
    let Some(email) = &account.email else {
        return Ok(());
    };
    let site = &state.site().settings.name;
    queue_link_email(state, account, email, EmailPurpose::Verify, "verify", 7 * 24 * 60, None, |link| {
        (
            format!("Confirm your email address on {site}"),
            format!(
                "Hello {},\n\nPlease confirm that this is your address on {site} by opening this \
                 link:\n\n{link}\n\nThe link works once and for 7 days. If you did not sign up, \
                 ignore this email.\n",
                account.brief.display_name
            ),
        )
    })
    .await
}

/// The account a sign-in names, when the password matches. Takes as long whether or not the
/// account exists, and says nothing about which part was wrong.
pub async fn sign_in(
    state: &AppState,
    login: &str,
    password: &str,
) -> Result<Option<Account>, AppError> {
    let account = state.store.account_by_login(login.trim()).await?;
    let hash = account.as_ref().and_then(|a| a.password_hash.as_deref());
    let dummy = auth::dummy_hash(state).await;
    let ok = auth::verify_password(hash, password, &dummy).await;
    Ok(if ok { account } else { None })
}

/// Queues a password-reset email when an account uses `email`; silent otherwise.
pub async fn request_reset(state: &AppState, email: &str) -> Result<(), AppError> {
    let Some(account) = state.store.account_by_login(email.trim()).await? else {
        return Ok(());
    };
    let Some(address) = account.email.clone() else {
        return Ok(());
    };
    if agora_store::email_key(&address) != agora_store::email_key(email) {
        // Matched a username, not an address: resets are by address only.
        return Ok(());
    }
    queue_reset(state, &account, &address, None).await
}

/// Queues the password-reset email (with its one-time link) to `address`, the account's;
/// `audit` says who sent it, when staff did.
pub(crate) async fn queue_reset(
    state: &AppState,
    account: &Account,
    address: &str,
    audit: Option<agora_store::Audit>,
) -> Result<(), AppError> {
    let minutes = state.config.accounts.reset_link_minutes.max(1);
    let site = &state.site().settings.name;
    let lifetime = i64::try_from(minutes).unwrap_or(60);
    queue_link_email(
        state,
        account,
        address,
        EmailPurpose::Reset,
        "reset",
        lifetime,
        audit,
        |link| {
            (
                format!("Reset your password on {site}"),
                format!(
                    "Hello {},\n\nSomeone (hopefully you) asked to reset your password on {site}. \
                 Choose a new one here:\n\n{link}\n\nThe link works once and for {minutes} \
                 minutes. If you did not ask, ignore this email: your password stays as it is.\n",
                    account.brief.display_name
                ),
            )
        },
    )
    .await
}

/// Sets a new password through a reset link; ends every session. None: the link is used or
/// expired.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    password: &str,
) -> Result<Result<UserId, FieldErrors>, AppError> {
    let hash = auth::secret_hash(token);
    if !state
        .store
        .email_token_valid(&hash, EmailPurpose::Reset)
        .await?
    {
        let mut errors = FieldErrors::default();
        errors.add(
            "token",
            "This link was used already or has expired. Ask for a new one.",
        );
        return Ok(Err(errors));
    }
    if let Err(e) = check_password(password, "") {
        let mut errors = FieldErrors::default();
        errors.add("password", e);
        return Ok(Err(errors));
    }
    let password_hash = auth::hash_password(state, password).await?;
    let Some(user) = state
        .store
        .use_email_token(&hash, EmailPurpose::Reset)
        .await?
    else {
        let mut errors = FieldErrors::default();
        errors.add(
            "token",
            "This link was used already or has expired. Ask for a new one.",
        );
        return Ok(Err(errors));
    };
    // A reset ends every session and API token: whoever had the account may have made some.
    state
        .store
        .set_password(user, &password_hash, None, true)
        .await?;
    Ok(Ok(user))
}

/// Changes a password after checking the current one; ends the other sessions.
pub async fn change_password(
    state: &AppState,
    account: &Account,
    current: &str,
    new: &str,
    keep_session: Option<i64>,
) -> Result<Result<(), FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    let dummy = auth::dummy_hash(state).await;
    if !auth::verify_password(account.password_hash.as_deref(), current, &dummy).await {
        errors.add("current_password", "That is not your current password.");
    }
    if let Err(e) = check_password(new, &account.brief.username) {
        errors.add("new_password", e);
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let hash = auth::hash_password(state, new).await?;
    state
        .store
        .set_password(account.brief.id, &hash, keep_session, false)
        .await?;
    Ok(Ok(()))
}

pub async fn update_profile(
    state: &AppState,
    account: &Account,
    display_name: &str,
    signature: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let mut errors = FieldErrors::default();
    if let Err(e) = check_display_name(display_name) {
        errors.add("display_name", e);
    }
    if signature.chars().count() > 500 {
        errors.add("signature", "Keep the signature under 500 characters.");
    }
    errors.text("signature", signature);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let display_name = match display_name.trim() {
        "" => account.brief.username.clone(),
        name => name.to_string(),
    };
    let signature = signature.trim();
    let html = agora_markup::render(signature);
    state
        .store
        .update_profile(account.brief.id, &display_name, signature, &html)
        .await?;
    Ok(Ok(()))
}

/// Creates an API token; returns the token itself, which is never shown again.
pub async fn create_api_token(
    state: &AppState,
    account: &Account,
    name: &str,
    scope: TokenScope,
) -> Result<Result<String, FieldErrors>, AppError> {
    let name = name.trim();
    let mut errors = FieldErrors::default();
    if name.is_empty() || name.chars().count() > 60 {
        errors.add("name", "Give the token a name of up to 60 characters.");
    }
    errors.text("name", name);
    if scope == TokenScope::Admin
        && !crate::services::permissions::allowed(
            Some(account),
            crate::services::permissions::Action::ManageMembers,
            Timestamp::now(),
        )
    {
        errors.add(
            "scope",
            "Only moderators and administrators can make admin tokens.",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let token = format!("{}{}", auth::TOKEN_PREFIX, auth::new_secret()?);
    state
        .store
        .create_api_token(account.brief.id, name, scope, &auth::secret_hash(&token))
        .await?;
    Ok(Ok(token))
}

/// Whether a password-reset link can still be used (shown before the new password is typed).
pub async fn reset_link_valid(state: &AppState, token: &str) -> Result<bool, AppError> {
    Ok(state
        .store
        .email_token_valid(&auth::secret_hash(token), EmailPurpose::Reset)
        .await?)
}

/// Confirms the address an email-verification link was sent to; false when the link was
/// used already or expired.
pub async fn confirm_email(state: &AppState, token: &str) -> Result<bool, AppError> {
    Ok(state
        .store
        .use_email_token(&auth::secret_hash(token), EmailPurpose::Verify)
        .await?
        .is_some())
}

/// The account's signed-in sessions, newest first.
pub async fn sessions(
    state: &AppState,
    account: &Account,
) -> Result<Vec<agora_store::SessionRow>, AppError> {
    Ok(state
        .store
        .sessions_of(account.brief.id, Timestamp::now())
        .await?)
}

/// The account's API tokens.
pub async fn api_tokens(
    state: &AppState,
    account: &Account,
) -> Result<Vec<agora_store::ApiTokenRow>, AppError> {
    Ok(state.store.api_tokens_of(account.brief.id).await?)
}

/// Ends one of the account's sessions.
pub async fn end_session(state: &AppState, account: &Account, id: i64) -> Result<(), AppError> {
    state
        .store
        .end_sessions(account.brief.id, Some(id), None)
        .await?;
    Ok(())
}

/// Ends every session of the account but `keep` (the one asking).
pub async fn end_other_sessions(
    state: &AppState,
    account: &Account,
    keep: Option<i64>,
) -> Result<(), AppError> {
    state
        .store
        .end_sessions(account.brief.id, None, keep)
        .await?;
    Ok(())
}

/// Revokes one of the account's API tokens; another account's token is not found.
pub async fn revoke_api_token(
    state: &AppState,
    account: &Account,
    id: i64,
) -> Result<(), AppError> {
    if state.store.revoke_api_token(account.brief.id, id).await? {
        Ok(())
    } else {
        Err(AppError::not_found("There is no such token."))
    }
}

/// Sets an account's role and staff title from the command line, audited like a moderator's
/// action. The audit log names an acting account, and an operator at a terminal has none: the
/// entry names the account itself as actor and says in its details that the operator did it.
pub async fn set_role_by_operator(
    state: &AppState,
    username: &str,
    role: Role,
    staff_title: Option<String>,
) -> Result<Account, AppError> {
    let account = state
        .store
        .account_by_name(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user {username:?}.")))?;
    let title = staff_title.or(account.brief.staff_title.clone());
    let audit = agora_store::Audit {
        actor: account.brief.id,
        action: "user.role",
        thread: None,
        post: None,
        target_user: Some(account.brief.id),
        details: format!(
            "{} → {role}{}, set at the command line by the operator",
            account.brief.role,
            title
                .as_deref()
                .map(|t| format!(" ({t})"))
                .unwrap_or_default()
        ),
    };
    state
        .store
        .set_role(account.brief.id, role, title, audit)
        .await?;
    Ok(account)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names_and_look_alikes_are_refused() {
        for name in [
            "admin",
            "Admin",
            "ADMIN",
            "аdmin",
            "adm1n",
            "ad_min",
            "Adm1n2",
            "staff",
            "5taff",
            "system",
            "moderator",
            "m0derator",
            "root",
            "ѕystem",
        ] {
            assert!(check_username(name).is_err(), "{name} was accepted");
        }
        for name in [
            "alice",
            "bob_dev",
            "张伟",
            "山田太郎",
            "badminton",
            "o.k",
            "quinn-42",
        ] {
            assert!(check_username(name).is_ok(), "{name} was refused");
        }
    }

    #[test]
    fn usernames_have_a_shape() {
        assert!(check_username("a").is_err());
        assert!(check_username("has space").is_err());
        assert!(check_username("<script>").is_err());
        assert!(check_username("_lead").is_err());
        assert!(check_username(&"x".repeat(31)).is_err());
    }

    #[test]
    fn emails_and_passwords() {
        assert!(check_email("a@example.com").is_ok());
        assert!(check_email("not-an-email").is_err());
        assert!(check_email("a@b").is_err());
        assert!(check_password("short", "").is_err());
        assert!(check_password("alice-is-great-1", "alice").is_err());
        assert!(check_password("correct horse battery", "alice").is_ok());
    }
}
