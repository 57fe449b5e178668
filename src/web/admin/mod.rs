//! The admin pages under /admin: a module per part. This one holds what they share (the
//! section's layout and tabs, the guard) and the dashboard; `settings` is the site's
//! identity, access and limits; `structure` the areas and subtopics; `tags` the tags;
//! `members` the member directory, one member's page and invitations.
//! Moderators see the dashboard and the member directory; everything else is for
//! administrators, as `services::permissions` says.

pub mod members;
pub mod settings;
pub mod structure;
pub mod tags;

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
        tabs.push(("Invitations", "/admin/invitations"));
        tabs.push(("Uploads", "/admin/uploads"));
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

/// One day of activity on the dashboard.
pub struct DayRow {
    pub date: String,
    pub members: i64,
    pub threads: i64,
    pub posts: i64,
    /// Bar widths, in percent of the busiest day.
    pub posts_pct: i64,
}

/// One dead job on the dashboard.
pub struct DeadJobRow {
    pub id: i64,
    pub kind: String,
    /// "8 attempts".
    pub attempts_text: String,
    /// The last error, cut to a few lines.
    pub last_error: String,
    pub failed: crate::views::TimeView,
    pub retry_url: String,
}

impl DeadJobRow {
    fn new(job: agora_store::DeadJob, now: Timestamp) -> Self {
        const SHOWN: usize = 300;
        let mut last_error: String = job.last_error.chars().take(SHOWN).collect();
        if job.last_error.chars().count() > SHOWN {
            last_error.push('…');
        }
        Self {
            retry_url: crate::paths::retry_job(job.id),
            id: job.id,
            kind: job.kind,
            attempts_text: crate::views::format::plural(job.attempts, "attempt", "attempts"),
            last_error,
            failed: crate::views::TimeView::new(job.failed_at, now),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct DashboardTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<String>,
    days: Vec<DayRow>,
    stats: agora_store::Dashboard,
    database_size: String,
    search_lag: Option<i64>,
    search_documents: u64,
    version: &'static str,
    backend: &'static str,
    /// The host requests arrive on, when it is not `base_url`'s.
    host_mismatch: Option<String>,
    base_url: String,
    base_url_is_default: bool,
    may_administer: bool,
    checklist: Vec<(&'static str, &'static str, bool)>,
    /// Jobs that failed for good, all of them counted.
    dead_count: i64,
    /// The newest of them, for staff (None: this viewer may not see them).
    dead_jobs: Option<Vec<DeadJobRow>>,
    /// Uploads kept, what they weigh and where; what the clean-up removed since start.
    uploads: UploadsLine,
}

/// The dashboard's line about uploads.
struct UploadsLine {
    count: i64,
    size: String,
    stored_files: i64,
    stored_size: String,
    store: String,
    cleaned: u64,
    last_clean: Option<String>,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct DashboardQuery {
    pub welcome: Option<String>,
    pub done: Option<String>,
}

/// How many days of activity the dashboard shows.
const DASHBOARD_DAYS: i64 = 14;

fn human_bytes(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b >= 1e9 {
        format!("{:.1} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} KB", b / 1e3)
    }
}

/// `/admin`: the dashboard: activity per day, what waits (flags, sign-ups, email), search
/// lag, database size, version, and the first steps of a new forum.
pub async fn dashboard(
    State(state): State<AppState>,
    viewer: Viewer,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<DashboardQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin") {
        return Ok(redirect);
    }
    let account = guard(&viewer, Action::ManageMembers)?;
    let now = Timestamp::now();
    let today = now.micros() / 86_400_000_000;
    let since = Timestamp::from_micros((today - DASHBOARD_DAYS + 1) * 86_400_000_000);
    let stats = crate::services::settings::dashboard(&state, since).await?;
    let busiest = stats.days.iter().map(|d| d.3).max().unwrap_or(0).max(1);
    let days = (0..DASHBOARD_DAYS)
        .map(|back| today - back)
        .map(|day| {
            let (members, threads, posts) = stats
                .days
                .iter()
                .find(|d| d.0 == day)
                .map(|d| (d.1, d.2, d.3))
                .unwrap_or((0, 0, 0));
            DayRow {
                date: Timestamp::from_micros(day * 86_400_000_000)
                    .to_datetime()
                    .format("%a %e %b")
                    .to_string(),
                members,
                threads,
                posts,
                posts_pct: posts * 100 / busiest,
            }
        })
        .collect();
    let dead_count = crate::jobs::health(&state).await?.dead;
    let dead_jobs = if permissions::allowed(Some(account), Action::RetryJobs, now) {
        Some(
            crate::jobs::dead(&state, account)
                .await?
                .into_iter()
                .map(|job| DeadJobRow::new(job, now))
                .collect(),
        )
    } else {
        None
    };
    let search = state.search.status(&state.store).await.ok();
    let live = state.site();
    let may_administer = permissions::allowed(Some(account), Action::Administer, now);
    let has_demo = crate::services::settings::has_demo(&state).await?;
    let areas = crate::services::read::home(&state).await?.areas;
    let checklist = vec![
        (
            "Name the forum and set its public address",
            "/admin/settings",
            live.version > 0 && !live.settings.base_url_is_default(),
        ),
        (
            "Upload a logo",
            "/admin/settings",
            live.settings.logo_light.is_some(),
        ),
        (
            "Write the about page",
            "/admin/settings",
            !live.settings.about.trim().is_empty(),
        ),
        (
            "Create areas and subtopics",
            "/admin/structure",
            areas.iter().any(|a| !a.subtopics.is_empty()),
        ),
        ("Invite your staff", "/admin/invitations", stats.members > 1),
        ("Remove the demo content", "/admin/settings", !has_demo),
    ];
    let notice = match (query.welcome.is_some(), query.done.as_deref()) {
        (true, _) => Some("Welcome: your forum is ready, and you are its administrator. The list below walks through the first steps.".to_string()),
        (_, Some("email")) => Some(format!(
            "A test email is queued to {}. It appears under Email below until it is sent.",
            account.email.clone().unwrap_or_default()
        )),
        (_, Some("retried")) => Some("The job is queued again: it runs within seconds, with its attempts counted afresh.".to_string()),
        (_, Some("not-dead")) => Some("That job is not waiting to be retried any more (someone retried it first).".to_string()),
        _ => None,
    };
    let totals = state.store.upload_totals().await?;
    let (cleaned, _, last_clean) = state.upload_stats.cleaned();
    let uploads = UploadsLine {
        count: totals.count,
        size: human_bytes(totals.bytes),
        stored_files: totals.stored_files,
        stored_size: human_bytes(totals.stored_bytes),
        store: state.blobs.describe().to_string(),
        cleaned,
        last_clean: last_clean.map(|t| t.to_datetime().format("%H:%M UTC").to_string()),
    };
    let html = render(&DashboardTemplate {
        layout: admin_layout(&state, &viewer, "Dashboard", "/admin"),
        nav: AdminNav::new(account, "/admin"),
        notice,
        days,
        database_size: human_bytes(stats.database_bytes),
        stats,
        search_lag: search.as_ref().map(|s| s.lag),
        search_documents: search.as_ref().map(|s| s.documents).unwrap_or(0),
        version: env!("CARGO_PKG_VERSION"),
        backend: state.store.backend_name(),
        host_mismatch: crate::services::settings::host_mismatch(
            &live,
            settings::request_host(&headers).as_deref(),
        ),
        base_url: live.settings.base_url.clone(),
        base_url_is_default: live.settings.base_url_is_default(),
        may_administer,
        checklist,
        uploads,
        dead_count,
        dead_jobs,
    })?;
    Ok(private_page(StatusCode::OK, html))
}

/// `POST /admin/test-email`: queues an email to the administrator's own address, to check
/// that mail goes out.
pub async fn test_email(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    let account = guard(&viewer, Action::Administer)?;
    crate::services::mail::send_test(&state, account).await?;
    Ok(Redirect::to("/admin?done=email").into_response())
}

/// `POST /admin/jobs/{id}/retry`: a dead job is queued again (staff; audited).
pub async fn retry_job(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let id: i64 = id
        .parse()
        .map_err(|_| AppError::not_found("There is no such job."))?;
    let retried = crate::jobs::retry(&state, viewer.account.as_deref(), id).await?;
    let done = if retried { "retried" } else { "not-dead" };
    Ok(Redirect::to(&format!("/admin?done={done}#s-jobs")).into_response())
}

// ---------------------------------------------------------------- uploads

#[derive(Template)]
#[template(path = "admin/uploads.html")]
struct UploadsTemplate {
    layout: Layout,
    nav: AdminNav,
    notice: Option<&'static str>,
    uploads: Vec<UploadLine>,
    /// The id to list older uploads from, when there are more.
    older: Option<i64>,
}

struct UploadLine {
    token: String,
    name: String,
    url: String,
    owner: String,
    size: String,
    posts: i64,
    removed: bool,
    created: crate::views::TimeView,
}

#[derive(Debug, Default, serde::Deserialize)]
pub struct UploadsQuery {
    pub before: Option<i64>,
    pub done: Option<String>,
}

/// How many uploads the moderators' list shows at once.
const UPLOADS_PER_PAGE: usize = 50;

/// `/admin/uploads`: the newest uploads, for moderators to remove what should not be there.
pub async fn uploads(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Query(query): axum::extract::Query<UploadsQuery>,
) -> Result<Response, AppError> {
    if let Some(redirect) = sign_in_first(&viewer, "/admin/uploads") {
        return Ok(redirect);
    }
    let account = guard(&viewer, Action::ManageMembers)?;
    let now = Timestamp::now();
    let rows = state
        .store
        .recent_uploads(query.before, UPLOADS_PER_PAGE + 1)
        .await?;
    let older = (rows.len() > UPLOADS_PER_PAGE)
        .then(|| rows.get(UPLOADS_PER_PAGE - 1).map(|r| r.upload.id))
        .flatten();
    let uploads = rows
        .into_iter()
        .take(UPLOADS_PER_PAGE)
        .map(|r| UploadLine {
            url: crate::services::uploads::url_of(&r.upload),
            size: crate::services::uploads::human_size(r.upload.bytes.max(0) as u64),
            removed: r.upload.removed(),
            created: crate::views::TimeView::new(r.upload.created_at, now),
            token: r.upload.token,
            name: r.upload.name,
            owner: r.owner_name,
            posts: r.posts,
        })
        .collect();
    let html = render(&UploadsTemplate {
        layout: admin_layout(&state, &viewer, "Uploads", "/admin/uploads"),
        nav: AdminNav::new(account, "/admin/uploads"),
        notice: (query.done.as_deref() == Some("removed"))
            .then_some("Removed. The posts that showed it now say so."),
        uploads,
        older,
    })?;
    Ok(private_page(StatusCode::OK, html))
}
