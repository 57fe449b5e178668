//! Members as staff see them (the directory at `/admin/users`, one account, invitations) and as
//! everyone sees them (the public directory at `/users`): rendered by the pages and the API
//! alike. Only the staff views carry email addresses.

use agora_store::{InvitationRow, MemberRow, PublicMemberRow, Role, Timestamp};
use serde::Serialize;
use utoipa::ToSchema;

use crate::paths;
use crate::views::{CountView, TimeView, format, schema};

fn count(value: i64) -> CountView {
    CountView {
        value,
        label: format::compact_count(value),
    }
}

/// One account in the staff directory.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MemberView {
    pub username: String,
    pub display_name: String,
    #[schema(schema_with = schema::role)]
    pub role: Role,
    pub staff_title: Option<String>,
    /// Staff only: never shown to members.
    pub email: Option<String>,
    pub email_verified: bool,
    pub joined: TimeView,
    /// The last time a session of theirs was used; null when none is live.
    pub last_seen: Option<TimeView>,
    pub threads: CountView,
    pub posts: CountView,
    /// While suspended: the last moment of the suspension.
    pub suspended_until: Option<TimeView>,
    pub suspend_reason: Option<String>,
    /// Waiting for a moderator's approval before they may post.
    pub pending_approval: bool,
    pub anonymised: bool,
    /// The public profile.
    pub url: String,
    /// The staff page about this account.
    pub admin_url: String,
}

impl MemberView {
    pub fn new(m: &MemberRow, now: Timestamp) -> Self {
        let suspended = m.suspended_until.filter(|until| *until > now);
        Self {
            username: m.username.clone(),
            display_name: m.display_name.clone(),
            role: m.role,
            staff_title: m.staff_title.clone(),
            email: m.email.clone(),
            email_verified: m.email_verified,
            joined: TimeView::new(m.created_at, now),
            last_seen: m.last_seen_at.map(|t| TimeView::new(t, now)),
            threads: count(m.thread_count),
            posts: count(m.post_count),
            suspended_until: suspended.map(|t| TimeView::new(t, now)),
            suspend_reason: suspended.and(m.suspend_reason.clone()),
            pending_approval: m.pending_approval,
            anonymised: m.anonymised_at.is_some(),
            url: paths::user(&m.username),
            admin_url: admin_user_url(&m.username),
        }
    }
}

/// `/admin/users/{username}`.
pub fn admin_user_url(username: &str) -> String {
    format!("/admin{}", paths::user(username))
}

/// Links to the neighbouring pages of a numbered list; absent at either end.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct PageLinksView {
    pub page: u32,
    pub pages: u32,
    pub prev_url: Option<String>,
    pub next_url: Option<String>,
}

/// One page of the staff directory.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct MemberDirectoryView {
    pub members: Vec<MemberView>,
    /// Accounts matching the search and filters, on every page.
    pub total: i64,
    pub pager: PageLinksView,
}

/// One account in the public member directory: nothing private.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PublicMemberView {
    pub username: String,
    pub display_name: String,
    #[schema(schema_with = schema::role)]
    pub role: Role,
    pub staff_title: Option<String>,
    pub joined: TimeView,
    pub posts: CountView,
    /// Their replies marked as a question's accepted answer.
    pub accepted_answers: CountView,
    pub url: String,
}

impl PublicMemberView {
    pub fn new(m: &PublicMemberRow, now: Timestamp) -> Self {
        Self {
            username: m.username.clone(),
            display_name: m.display_name.clone(),
            role: m.role,
            staff_title: m.staff_title.clone(),
            joined: TimeView::new(m.created_at, now),
            posts: count(m.post_count),
            accepted_answers: count(m.accepted_answers),
            url: paths::user(&m.username),
        }
    }
}

/// One page of the public member directory, in the order asked for.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PublicMembersView {
    pub members: Vec<PublicMemberView>,
    /// Members matching the search, on every page.
    #[schema(value_type = i64)]
    pub total: CountView,
    /// The search as applied (empty: everyone).
    pub q: String,
    /// The order: posts, answers or joined.
    #[schema(schema_with = public_member_sort)]
    pub sort: &'static str,
    #[serde(skip)]
    pub sort_label: &'static str,
    /// The order links, the current one marked.
    #[serde(skip)]
    pub sorts: Vec<crate::views::SortLink>,
    /// The directory without the search, while there is one.
    #[serde(skip)]
    pub clear_url: Option<String>,
    pub pager: PageLinksView,
}

fn public_member_sort() -> utoipa::openapi::Object {
    schema::one_of(
        agora_store::PublicMemberSort::ALL
            .iter()
            .map(|s| s.as_str()),
    )
    .build()
}

/// An invitation, as staff see it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct InvitationView {
    pub id: i64,
    pub email: String,
    #[schema(schema_with = schema::role)]
    pub role: Role,
    pub invited_by: String,
    pub created_at: TimeView,
    pub expires_at: TimeView,
    /// `open`, `accepted` or `expired`.
    pub status: &'static str,
    /// The account made from it.
    pub accepted_by: Option<String>,
}

impl InvitationView {
    pub fn new(i: &InvitationRow, now: Timestamp) -> Self {
        let status = if i.accepted_at.is_some() {
            "accepted"
        } else if i.expires_at <= now {
            "expired"
        } else {
            "open"
        };
        Self {
            id: i.id,
            email: i.email.clone(),
            role: i.role,
            invited_by: i.invited_by.clone(),
            created_at: TimeView::new(i.created_at, now),
            expires_at: TimeView::new(i.expires_at, now),
            status,
            accepted_by: i.accepted_by.clone(),
        }
    }
}
