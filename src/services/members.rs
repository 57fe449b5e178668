//! Looking after members: the staff directory, one account's role, name, suspension, password
//! reset, sessions, approval, anonymising and deleting; invitations; who may sign up under the
//! forum's registration mode; the public member directory. The pages, the API and the CLI call
//! these. Each action asks `services::permissions` first, then checks the input, then writes
//! through the store in one audited transaction.

use agora_store::{
    Account, Audit, InvitationRow, MemberDeleted, MemberQuery, MemberRow, MemberSort,
    NewInvitation, PublicMemberQuery, PublicMemberSort, Role, StoreError, Timestamp, UserId,
};
use serde::Deserialize;

use crate::app::AppState;
use crate::auth;
use crate::error::AppError;
use crate::services::accounts::{self, CreatedBy, FieldErrors, SignUp};
use crate::services::mail::Email;
use crate::services::moderation;
use crate::services::permissions::{self, Action};
use crate::services::read::{MAX_PAGE, parse_page};
use crate::settings::Registration;
use crate::views::{
    InvitationView, MemberDirectoryView, MemberView, PageLinksView, PublicMemberView,
    PublicMembersView,
};

/// Accounts on a page of either directory.
pub const PER_PAGE: u32 = 30;
/// How long an invitation link works.
pub const INVITATION_DAYS: i64 = 14;
/// The longest suspension the member page offers, in days.
pub const MAX_SUSPENSION_DAYS: u32 = 3650;
/// Longest staff title, in characters.
pub const TITLE_CHARS: usize = 60;

pub use crate::services::By;

impl By<'_> {
    /// The audit entry for an action on `target`. The audit log names an acting account and
    /// the operator has none: the operator's entries name the account acted on, and say so.
    fn member_audit(self, action: &'static str, target: UserId, details: String) -> Audit {
        let (actor, details) = match self.account() {
            Some(account) => (account.brief.id, details),
            None => (
                target,
                format!("{details}, by the operator at the command line"),
            ),
        };
        Audit {
            actor,
            action,
            thread: None,
            post: None,
            target_user: Some(target),
            details,
        }
    }
}

/// Narrows the directory to one kind of account.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MemberFilter {
    #[default]
    All,
    Suspended,
    /// Joined in the last 7 days.
    New,
    Unverified,
    Pending,
}

impl MemberFilter {
    pub const ALL: [MemberFilter; 5] = [
        MemberFilter::All,
        MemberFilter::Suspended,
        MemberFilter::New,
        MemberFilter::Unverified,
        MemberFilter::Pending,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            MemberFilter::All => "all",
            MemberFilter::Suspended => "suspended",
            MemberFilter::New => "new",
            MemberFilter::Unverified => "unverified",
            MemberFilter::Pending => "pending",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            MemberFilter::All => "Everyone",
            MemberFilter::Suspended => "Suspended",
            MemberFilter::New => "New (last 7 days)",
            MemberFilter::Unverified => "Email not confirmed",
            MemberFilter::Pending => "Awaiting approval",
        }
    }
}

/// The directory's query string as it arrives.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawMemberParams {
    /// The start of a username, display name or email address (any case).
    #[param(schema_with = search_schema)]
    pub q: Option<String>,
    /// Only this role.
    #[param(schema_with = crate::views::schema::role)]
    pub role: Option<String>,
    /// Which accounts: all, suspended, new, unverified or pending (`filter=` is read too).
    #[serde(alias = "filter")]
    #[param(schema_with = filter_schema)]
    pub show: Option<String>,
    #[param(schema_with = sort_schema)]
    pub sort: Option<String>,
    #[param(schema_with = crate::services::read::page_schema)]
    pub page: Option<String>,
}

fn search_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(100))
        .description(Some(
            "The start of a username, display name or email address.",
        ))
        .build()
}

fn filter_schema() -> utoipa::openapi::Object {
    crate::views::schema::one_of(MemberFilter::ALL.iter().map(|f| f.as_str()))
        .description(Some(
            "Only suspended, new (7 days), unconfirmed or waiting accounts.",
        ))
        .build()
}

fn sort_schema() -> utoipa::openapi::Object {
    crate::views::schema::one_of(MemberSort::ALL.iter().map(|s| s.as_str()))
        .description(Some(
            "joined (newest first), seen (last seen first), posts (most first) or name (A–Z).",
        ))
        .build()
}

/// The directory's query, parsed: each bad value is answered naming its parameter.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberParams {
    pub q: String,
    pub role: Option<Role>,
    pub filter: MemberFilter,
    pub sort: MemberSort,
    pub page: u32,
}

impl MemberParams {
    pub fn parse(raw: &RawMemberParams) -> Result<Self, AppError> {
        let q = raw.q.as_deref().unwrap_or("").trim().to_string();
        if q.chars().count() > 100 || accounts::forbidden_char(&q).is_some() {
            return Err(AppError::bad_param(
                "q",
                "Search for at most 100 plain characters.",
            ));
        }
        let role = match raw.role.as_deref().filter(|r| !r.is_empty()) {
            None => None,
            Some(text) => Some(
                text.parse::<Role>()
                    .map_err(|e| AppError::bad_param("role", e))?,
            ),
        };
        let filter = match raw.show.as_deref().filter(|f| !f.is_empty()) {
            None => MemberFilter::All,
            Some(text) => MemberFilter::ALL
                .into_iter()
                .find(|f| f.as_str() == text)
                .ok_or_else(|| {
                    AppError::bad_param(
                        "show",
                        "Show all, suspended, new, unverified or pending accounts.",
                    )
                })?,
        };
        let sort = match raw.sort.as_deref().filter(|s| !s.is_empty()) {
            None => MemberSort::Joined,
            Some(text) => MemberSort::parse(text).ok_or_else(|| {
                AppError::bad_param("sort", "Sort by joined, seen, posts or name.")
            })?,
        };
        Ok(Self {
            q,
            role,
            filter,
            sort,
            page: parse_page(&raw.page)?,
        })
    }

    /// This query's URL at `base` on another page (only what differs from the defaults).
    pub fn url(&self, base: &str, page: u32) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", crate::paths::encode_query(&self.q)));
        }
        if let Some(role) = self.role {
            parts.push(format!("role={role}"));
        }
        if self.filter != MemberFilter::All {
            parts.push(format!("show={}", self.filter.as_str()));
        }
        if self.sort != MemberSort::Joined {
            parts.push(format!("sort={}", self.sort.as_str()));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

fn pages(total: i64) -> u32 {
    let total = u64::try_from(total).unwrap_or(0);
    u32::try_from(total.div_ceil(u64::from(PER_PAGE)).max(1))
        .unwrap_or(MAX_PAGE)
        .min(MAX_PAGE)
}

fn offset(page: u32) -> u64 {
    u64::from(page.saturating_sub(1)) * u64::from(PER_PAGE)
}

fn page_links(page: u32, total: i64, url: impl Fn(u32) -> String) -> PageLinksView {
    let pages = pages(total);
    PageLinksView {
        page,
        pages,
        prev_url: (page > 1).then(|| url(page.min(pages + 1) - 1)),
        next_url: (page < pages).then(|| url(page + 1)),
    }
}

/// One page of the staff directory; `base` is the path its page links lead to.
pub async fn directory(
    state: &AppState,
    by: By<'_>,
    params: &MemberParams,
    base: &str,
) -> Result<MemberDirectoryView, AppError> {
    by.authorize(Action::ManageMembers)?;
    let query = MemberQuery {
        search: Some(params.q.clone()).filter(|q| !q.is_empty()),
        role: params.role,
        suspended: params.filter == MemberFilter::Suspended,
        new: params.filter == MemberFilter::New,
        unverified: params.filter == MemberFilter::Unverified,
        pending: params.filter == MemberFilter::Pending,
        sort: params.sort,
        offset: offset(params.page),
        limit: PER_PAGE,
    };
    let (rows, total) = state.store.members(query).await?;
    let now = Timestamp::now();
    Ok(MemberDirectoryView {
        members: rows.iter().map(|m| MemberView::new(m, now)).collect(),
        total,
        pager: page_links(params.page, total, |p| params.url(base, p)),
    })
}

/// The public directory's query string as it arrives.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RawPublicMemberParams {
    /// The start of a username or display name (any case).
    #[param(schema_with = public_search_schema)]
    pub q: Option<String>,
    #[param(schema_with = public_sort_schema)]
    pub sort: Option<String>,
    #[param(schema_with = crate::services::read::page_schema)]
    pub page: Option<String>,
}

fn public_search_schema() -> utoipa::openapi::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(100))
        .pattern(Some(format!("^[^{}]*$", crate::views::schema::FORBIDDEN)))
        .description(Some(
            "The start of a username or display name, any case; no control characters.",
        ))
        .build()
}

fn public_sort_schema() -> utoipa::openapi::Object {
    crate::views::schema::one_of(PublicMemberSort::ALL.iter().map(|s| s.as_str()))
        .description(Some(
            "posts (most first, the default), answers (most accepted answers first) or joined \
             (newest first); anything else is 400 `bad_request` naming `sort`.",
        ))
        .default(Some(PublicMemberSort::Posts.as_str().into()))
        .build()
}

/// The public directory's query, parsed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PublicMemberParams {
    pub q: String,
    pub sort: PublicMemberSort,
    pub page: u32,
}

/// How each public directory order reads on the page.
pub fn public_sort_label(sort: PublicMemberSort) -> &'static str {
    match sort {
        PublicMemberSort::Posts => "Most posts",
        PublicMemberSort::Answers => "Most accepted answers",
        PublicMemberSort::Joined => "Newest members",
    }
}

impl PublicMemberParams {
    /// Each bad value is answered naming its parameter (the API).
    pub fn parse(raw: &RawPublicMemberParams) -> Result<Self, AppError> {
        match Self::parse_keeping(raw) {
            (_, Some((param, message))) => Err(AppError::bad_param(param, message)),
            (params, None) => Ok(params),
        }
    }

    /// What can be read of the query, bad values replaced by their defaults, and the first
    /// mistake (the parameter and why): the page answers it with the directory again, the
    /// mistake named on it.
    pub fn parse_keeping(raw: &RawPublicMemberParams) -> (Self, Option<(&'static str, String)>) {
        let mut mistake = None;
        let mut q = raw.q.as_deref().unwrap_or("").trim().to_string();
        if q.chars().count() > 100 || accounts::forbidden_char(&q).is_some() {
            q.clear();
            mistake.get_or_insert(("q", "Search for at most 100 plain characters.".to_string()));
        }
        let sort = match raw.sort.as_deref() {
            None | Some("") => PublicMemberSort::default(),
            Some(text) => PublicMemberSort::parse(text).unwrap_or_else(|| {
                mistake.get_or_insert((
                    "sort",
                    format!("{text:?} is not an order here: sort by posts, answers or joined."),
                ));
                PublicMemberSort::default()
            }),
        };
        let page = match parse_page(&raw.page) {
            Ok(page) => page,
            Err(_) => {
                mistake
                    .get_or_insert(("page", format!("Pages are numbered from 1 to {MAX_PAGE}.")));
                1
            }
        };
        (Self { q, sort, page }, mistake)
    }

    /// This query's URL at `base` on another page (only what differs from the defaults).
    pub fn url(&self, base: &str, page: u32) -> String {
        let mut parts = Vec::new();
        if !self.q.is_empty() {
            parts.push(format!("q={}", crate::paths::encode_query(&self.q)));
        }
        if self.sort != PublicMemberSort::default() {
            parts.push(format!("sort={}", self.sort.as_str()));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            base.to_string()
        } else {
            format!("{base}?{}", parts.join("&"))
        }
    }
}

/// One page of the public member directory; 404 while the setting hides it. `base` is the
/// path its links lead to.
pub async fn public_directory(
    state: &AppState,
    params: &PublicMemberParams,
    base: &str,
) -> Result<PublicMembersView, AppError> {
    if !state.site().settings.member_directory {
        return Err(AppError::not_found("There is no member directory here."));
    }
    let query = PublicMemberQuery {
        search: Some(params.q.clone()).filter(|q| !q.is_empty()),
        sort: params.sort,
        offset: offset(params.page),
        limit: PER_PAGE,
    };
    let (rows, total) = state.store.public_members(query).await?;
    let now = Timestamp::now();
    let sorts = PublicMemberSort::ALL
        .into_iter()
        .map(|sort| crate::views::SortLink {
            label: public_sort_label(sort),
            url: PublicMemberParams {
                sort,
                ..params.clone()
            }
            .url(base, 1),
            current: sort == params.sort,
        })
        .collect();
    Ok(PublicMembersView {
        members: rows.iter().map(|m| PublicMemberView::new(m, now)).collect(),
        total: crate::views::CountView::new(total),
        q: params.q.clone(),
        sort: params.sort.as_str(),
        sort_label: public_sort_label(params.sort),
        sorts,
        clear_url: (!params.q.is_empty()).then(|| {
            PublicMemberParams {
                q: String::new(),
                ..params.clone()
            }
            .url(base, 1)
        }),
        pager: page_links(params.page, total, |p| params.url(base, p)),
    })
}

/// The account a staff action names, or 404.
async fn target(state: &AppState, username: &str) -> Result<MemberRow, AppError> {
    state
        .store
        .member(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user {username:?}.")))
}

/// One account as staff see it.
pub async fn member(state: &AppState, by: By<'_>, username: &str) -> Result<MemberRow, AppError> {
    by.authorize(Action::ManageMembers)?;
    target(state, username).await
}

/// Changes an account's role and staff title (administrators, not on themselves).
pub async fn set_role(
    state: &AppState,
    by: By<'_>,
    username: &str,
    role: Role,
    staff_title: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::AdministerMember { user: member.id })?;
    let title = staff_title.trim();
    let mut errors = FieldErrors::default();
    if title.chars().count() > TITLE_CHARS {
        errors.add(
            "staff_title",
            format!("Use at most {TITLE_CHARS} characters."),
        );
    }
    errors.text("staff_title", title);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let title = Some(title.to_string()).filter(|t| !t.is_empty());
    let details = format!(
        "{} → {role}{}",
        member.role,
        title
            .as_deref()
            .map(|t| format!(" ({t})"))
            .unwrap_or_default()
    );
    let audit = by.member_audit("user.role", member.id, details);
    match by {
        By::Account(_) => {
            state
                .store
                .set_member_role(member.id, role, title, audit)
                .await?
        }
        // The operator's change is the one `agora user set-role` makes.
        By::Operator => state.store.set_role(member.id, role, title, audit).await?,
    }
    state.cache.invalidate();
    Ok(Ok(()))
}

/// Sets an account's display name (administrators, not on themselves; the operator).
pub async fn set_display_name(
    state: &AppState,
    by: By<'_>,
    username: &str,
    display_name: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::AdministerMember { user: member.id })?;
    let name = display_name.trim();
    let mut errors = FieldErrors::default();
    if let Err(e) = accounts::check_display_name(name) {
        errors.add("display_name", e);
    } else if name.is_empty() {
        errors.add("display_name", "Give a display name.");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let audit = by.member_audit(
        "user.name",
        member.id,
        format!("display name {:?} → {name:?}", member.display_name),
    );
    state
        .store
        .set_display_name(member.id, name.to_string(), audit, by.actor_id())
        .await?;
    state.cache.invalidate();
    Ok(Ok(()))
}

/// Suspends an account for `days` days with a reason they are shown, through moderation's
/// suspension (its permission rule, its audit entry): the member page's form.
pub async fn suspend_for(
    state: &AppState,
    actor: Option<&Account>,
    username: &str,
    days: &str,
    reason: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let member = target(state, username).await?;
    permissions::check(
        actor,
        Action::Suspend {
            user: member.id,
            role: member.role,
        },
        Timestamp::now(),
    )?;
    let mut errors = FieldErrors::default();
    let days = match days.trim().parse::<u32>() {
        Ok(n) if (1..=MAX_SUSPENSION_DAYS).contains(&n) => Some(n),
        _ => {
            errors.add(
                "days",
                format!("Suspend for a whole number of days, 1 to {MAX_SUSPENSION_DAYS}."),
            );
            None
        }
    };
    let reason = reason.trim();
    if reason.is_empty() {
        errors.add("reason", "Say why: the member is shown the reason.");
    } else if reason.chars().count() > 500 {
        errors.add("reason", "Keep the reason under 500 characters.");
    }
    errors.text("reason", reason);
    let Some(days) = days.filter(|_| errors.is_empty()) else {
        return Ok(Err(errors));
    };
    let last_day = chrono::Utc::now().date_naive() + chrono::Days::new(u64::from(days));
    let until = last_day.format("%Y-%m-%d").to_string();
    moderation::suspend(state, actor, username, Some((&until, reason))).await?;
    Ok(Ok(()))
}

/// Sends the account the same password-reset email it could ask for itself.
pub async fn send_reset(state: &AppState, by: By<'_>, username: &str) -> Result<(), AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::ManageMember {
        user: member.id,
        role: member.role,
    })?;
    let account = state
        .store
        .account(member.id)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user {username:?}.")))?;
    let Some(address) = account.email.clone() else {
        return Err(AppError::Conflict {
            param: "username".into(),
            message: "This account has no email address to send a reset to.".into(),
        });
    };
    let audit = by.member_audit("user.reset", member.id, String::new());
    accounts::queue_reset(state, &account, &address, Some(audit)).await
}

/// Signs an account out everywhere; returns how many sessions ended.
pub async fn end_sessions(state: &AppState, by: By<'_>, username: &str) -> Result<u64, AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::ManageMember {
        user: member.id,
        role: member.role,
    })?;
    let audit = by.member_audit("user.end_sessions", member.id, String::new());
    Ok(state.store.end_member_sessions(member.id, audit).await?)
}

/// Approves a sign-up waiting for approval: from now on the account may post.
pub async fn approve(state: &AppState, by: By<'_>, username: &str) -> Result<(), AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::ManageMember {
        user: member.id,
        role: member.role,
    })?;
    let audit = by.member_audit("user.approve", member.id, String::new());
    if state.store.approve_member(member.id, audit).await? {
        Ok(())
    } else {
        Err(AppError::Conflict {
            param: "username".into(),
            message: "This account is not waiting for approval.".into(),
        })
    }
}

/// A destructive action is confirmed by typing the account's username.
fn confirmed(member: &MemberRow, confirm: &str, errors: &mut FieldErrors) {
    if !confirm.trim().eq_ignore_ascii_case(&member.username) {
        errors.add(
            "confirm",
            format!("Type the username, {}, to confirm.", member.username),
        );
    }
}

/// Anonymises an account: its posts stay under "anonymous"; everything that identifies it
/// goes. `confirm` must be its username.
pub async fn anonymise(
    state: &AppState,
    by: By<'_>,
    username: &str,
    confirm: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::AdministerMember { user: member.id })?;
    let mut errors = FieldErrors::default();
    confirmed(&member, confirm, &mut errors);
    if member.anonymised_at.is_some() {
        errors.add("confirm", "This account is anonymised already.");
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    // The entry names the account by number only: its old name is what is being removed.
    let audit = by.member_audit(
        "user.anonymise",
        member.id,
        format!("account #{}", member.id),
    );
    state
        .store
        .anonymise_member(member.id, audit, by.actor_id())
        .await?;
    state.cache.invalidate();
    tracing::info!(user = member.id.0, "anonymised an account");
    Ok(Ok(()))
}

/// Deletes an account and its posts (the threads it started go whole). `confirm` must be its
/// username. The operator's deletion has no audit entry (it could name no account); the
/// change log and the server log record it.
pub async fn delete(
    state: &AppState,
    by: By<'_>,
    username: &str,
    confirm: &str,
) -> Result<Result<MemberDeleted, FieldErrors>, AppError> {
    let member = target(state, username).await?;
    by.authorize(Action::AdministerMember { user: member.id })?;
    let mut errors = FieldErrors::default();
    confirmed(&member, confirm, &mut errors);
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let audit = by.account().map(|account| Audit {
        actor: account.brief.id,
        action: "user.delete",
        thread: None,
        post: None,
        target_user: None,
        details: format!(
            "deleted @{} (account #{}, {} threads, {} posts)",
            member.username, member.id, member.thread_count, member.post_count
        ),
    });
    match state
        .store
        .delete_member(member.id, audit, by.actor_id())
        .await
    {
        Ok(deleted) => {
            state.cache.invalidate();
            tracing::info!(
                user = member.id.0,
                threads = deleted.threads,
                replies = deleted.replies,
                "deleted an account"
            );
            Ok(Ok(deleted))
        }
        Err(StoreError::Conflict { field, message }) => {
            errors.add(field, message);
            Ok(Err(errors))
        }
        Err(other) => Err(other.into()),
    }
}

// ---------------------------------------------------------------- invitations

/// Invites `email` with `role`: the email carries a link to `/signup?invite=…`.
pub async fn invite(
    state: &AppState,
    actor: Option<&Account>,
    email: &str,
    role: Role,
) -> Result<Result<(), FieldErrors>, AppError> {
    permissions::check(actor, Action::Invite { role }, Timestamp::now())?;
    let inviter = actor.ok_or(AppError::Unauthorized)?;
    send_invitation(state, By::Account(actor), inviter, email, role).await
}

/// The operator's invitation (`agora user invite`), sent in the name of `from` (an account
/// must stand behind every invitation: the email and the list name it).
pub async fn invite_as_operator(
    state: &AppState,
    from: &str,
    email: &str,
    role: Role,
) -> Result<Result<(), FieldErrors>, AppError> {
    let inviter = state
        .store
        .account_by_name(from)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user {from:?}.")))?;
    send_invitation(state, By::Operator, &inviter, email, role).await
}

async fn send_invitation(
    state: &AppState,
    by: By<'_>,
    inviter: &Account,
    email: &str,
    role: Role,
) -> Result<Result<(), FieldErrors>, AppError> {
    let email = email.trim();
    let mut errors = FieldErrors::default();
    if let Err(e) = accounts::check_email(email) {
        errors.add("email", e);
    } else if state.store.account_by_login(email).await?.is_some_and(|a| {
        a.email
            .as_deref()
            .is_some_and(|e| agora_store::email_key(e) == agora_store::email_key(email))
    }) {
        errors.add("email", "An account already uses this address.");
    } else if state.store.open_invitation_for(email).await? {
        errors.add(
            "email",
            "This address has an open invitation already: withdraw it first to send a new one.",
        );
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let token = auth::new_secret()?;
    let site = state.site();
    let link = format!("{}/signup?invite={token}", site.settings.base_url);
    let name = &site.settings.name;
    let job = Email {
        to: email.to_string(),
        subject: format!("You are invited to join {name}"),
        body: format!(
            "Hello,\n\n{} invites you to join {name}{}. Choose your username and password \
             here:\n\n{link}\n\nThe link works once and for {INVITATION_DAYS} days. If you do not \
             want to join, ignore this email.\n",
            inviter.brief.display_name,
            if role == Role::Member {
                String::new()
            } else {
                format!(" as {role}")
            },
        ),
        ..Email::default()
    };
    let expires_at =
        Timestamp::from_micros(Timestamp::now().micros() + INVITATION_DAYS * 86_400_000_000);
    let mut audit = by.member_audit(
        "invitation.create",
        inviter.brief.id,
        format!("{email} as {role}"),
    );
    audit.target_user = None;
    state
        .store
        .create_invitation(
            NewInvitation {
                email: email.to_string(),
                role,
                token_hash: auth::secret_hash(&token),
                invited_by: inviter.brief.id,
                expires_at,
            },
            audit,
            job.to_job(),
        )
        .await?;
    state.jobs_queued.notify_one();
    Ok(Ok(()))
}

/// The latest invitations, newest first.
pub async fn invitations(
    state: &AppState,
    actor: Option<&Account>,
) -> Result<Vec<InvitationView>, AppError> {
    permissions::check(actor, Action::ManageMembers, Timestamp::now())?;
    let now = Timestamp::now();
    Ok(state
        .store
        .invitations(200)
        .await?
        .iter()
        .map(|i| InvitationView::new(i, now))
        .collect())
}

/// Withdraws an open invitation.
pub async fn revoke_invitation(
    state: &AppState,
    actor: Option<&Account>,
    id: i64,
) -> Result<(), AppError> {
    permissions::check(actor, Action::ManageMembers, Timestamp::now())?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let audit = Audit {
        actor: actor.brief.id,
        action: "invitation.revoke",
        thread: None,
        post: None,
        target_user: None,
        details: format!("invitation #{id}"),
    };
    if state.store.revoke_invitation(id, audit).await? {
        Ok(())
    } else {
        Err(AppError::not_found("There is no such open invitation."))
    }
}

/// The invitation an `/signup?invite=…` link names, while it can be used.
pub async fn live_invitation(
    state: &AppState,
    token: &str,
) -> Result<Option<InvitationRow>, AppError> {
    if token.is_empty() {
        return Ok(None);
    }
    Ok(state
        .store
        .live_invitation(&auth::secret_hash(token))
        .await?)
}

// ---------------------------------------------------------------- signing up

/// Whether the sign-up form is offered, and why not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SignUpGate {
    /// The form, with the invitation it came with.
    Open(Option<InvitationRow>),
    /// The form; the new account waits for approval before it may post.
    Approval,
    /// Invitation only, and the link is missing (None) or no longer good.
    InvitationOnly {
        link_given: bool,
    },
    Closed,
}

/// What `/signup` offers under the forum's registration mode. An invitation that is still
/// good admits its holder whatever the mode.
pub async fn gate(state: &AppState, invite: Option<&str>) -> Result<SignUpGate, AppError> {
    let token = invite.map(str::trim).filter(|t| !t.is_empty());
    if let Some(token) = token
        && let Some(invitation) = live_invitation(state, token).await?
    {
        return Ok(SignUpGate::Open(Some(invitation)));
    }
    Ok(match state.site().settings.registration {
        Registration::Open if token.is_none() => SignUpGate::Open(None),
        Registration::Approval if token.is_none() => SignUpGate::Approval,
        Registration::Closed => SignUpGate::Closed,
        // A dead invitation link says so, whatever the mode.
        _ => SignUpGate::InvitationOnly {
            link_given: token.is_some(),
        },
    })
}

/// Creates an account under the registration mode: open, by approval (the account waits),
/// or with an invitation (its role and address; the address counts as confirmed). Refused
/// with the field named when the mode allows no sign-up.
pub async fn sign_up(
    state: &AppState,
    form: &SignUp,
    invite: Option<&str>,
) -> Result<Result<Account, FieldErrors>, AppError> {
    let refuse = |field: &'static str, message: &str| {
        let mut errors = FieldErrors::default();
        errors.add(field, message);
        Ok(Err(errors))
    };
    match gate(state, invite).await? {
        SignUpGate::Open(None) => {
            accounts::sign_up(state, form, Role::Member, None, CreatedBy::SignUp).await
        }
        SignUpGate::Open(Some(invitation)) => {
            let form = SignUp {
                email: invitation.email.clone(),
                ..form.clone()
            };
            let user =
                match accounts::new_user(state, &form, invitation.role, None, CreatedBy::SignUp)
                    .await?
                {
                    Ok(user) => user,
                    Err(errors) => return Ok(Err(errors)),
                };
            let token = invite.map(str::trim).unwrap_or_default();
            let created = state
                .store
                .accept_invitation(&auth::secret_hash(token), user)
                .await;
            created_account(state, created, false).await
        }
        SignUpGate::Approval => {
            let user = match accounts::new_user(state, form, Role::Member, None, CreatedBy::SignUp)
                .await?
            {
                Ok(user) => user,
                Err(errors) => return Ok(Err(errors)),
            };
            let created = state.store.create_pending_user(user).await;
            created_account(state, created, true).await
        }
        SignUpGate::InvitationOnly { link_given: false } => refuse(
            "invite",
            "This forum is by invitation only: open the link in your invitation email.",
        ),
        SignUpGate::InvitationOnly { link_given: true } => refuse(
            "invite",
            "This invitation was used already, withdrawn or has expired. Ask for a new one.",
        ),
        SignUpGate::Closed => refuse("username", "Sign-ups are closed on this forum."),
    }
}

async fn created_account(
    state: &AppState,
    created: Result<UserId, StoreError>,
    verify: bool,
) -> Result<Result<Account, FieldErrors>, AppError> {
    let id = match created {
        Ok(id) => id,
        Err(StoreError::Conflict { field, message }) => {
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
    if verify {
        accounts::send_verification(state, &account).await?;
    }
    Ok(Ok(account))
}
