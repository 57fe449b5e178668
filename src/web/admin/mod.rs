//! The admin pages under /admin: a module per part. This one holds what they share (the
//! section's layout and tabs, the guard) and the dashboard; `settings` is the site's
//! identity, access and limits.
//! Moderators see the dashboard and the member directory; everything else is for
//! administrators, as `services::permissions` says.

pub mod settings;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::services::permissions::{self, Action};
use crate::web::{Layout, private_page, render};
use agora_store::{Account, Timestamp};

/// One tab of the admin section.
pub struct AdminTab {
    pub label: &'static str,
    pub url: &'static str,
    pub current: bool,
}

/// The admin section's tabs, for this viewer (a tab shows only when its page would open).
pub struct AdminNav {
    pub tabs: Vec<AdminTab>,
}

impl AdminNav {
    pub fn new(account: &Account, current: &str) -> AdminNav {
        let now = Timestamp::now();
        let admin = permissions::allowed(Some(account), Action::Administer, now);
        let mut tabs = vec![("Dashboard", "/admin")];
        if admin {
            tabs.push(("Settings", "/admin/settings"));
            tabs.push(("Areas & subtopics", "/admin/structure"));
            tabs.push(("Tags", "/admin/tags"));
        }
        tabs.push(("Members", "/admin/users"));
        AdminNav {
            tabs: tabs
                .into_iter()
                .map(|(label, url)| AdminTab {
                    label,
                    url,
                    current: url == current,
                })
                .collect(),
        }
    }
}

/// The account behind an admin page, if `action` is allowed to it: signed-out readers are
/// sent to sign in (and back), others refused with the reason.
pub fn guard<'v>(viewer: &'v Viewer, action: Action<'_>) -> Result<&'v Account, AppError> {
    let account = viewer.account.as_deref();
    permissions::check(account, action, Timestamp::now())?;
    viewer.require()
}

/// A sign-in redirect for a signed-out reader of `path`, else None.
pub fn sign_in_first(viewer: &Viewer, path: &str) -> Option<Response> {
    (!viewer.signed_in()).then(|| {
        Redirect::to(&format!(
            "/signin?next={}",
            crate::paths::encode_query(path)
        ))
        .into_response()
    })
}

/// The layout of an admin page: never indexed, titled "… · Admin".
pub fn admin_layout(state: &AppState, viewer: &Viewer, title: &str, path: &str) -> Layout {
    let mut layout = Layout::new(state, viewer, &format!("{title} · Admin"), "", path);
    layout.noindex = true;
    layout
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardTemplate {
    layout: Layout,
    nav: AdminNav,
}

/// `/admin`: the dashboard.
pub async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    _headers: HeaderMap,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin") {
        return Ok(redirect);
    }
    let account = guard(&viewer, Action::ManageMembers)?;
    let html = render(&DashboardTemplate {
        layout: admin_layout(&state, &viewer, "Dashboard", "/admin"),
        nav: AdminNav::new(account, "/admin"),
    })?;
    Ok(private_page(StatusCode::OK, html))
}
