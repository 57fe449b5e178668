//! `/notifications` (what a member was told, grouped by thread, paged, "mark all read"), the
//! watch control of threads, subtopics and tags, and the notification settings. Thin handlers
//! over `services::notify` and the store; every form works without JavaScript.

use agora_store::{MailList, NotificationRow, NotifyPrefs, Timestamp, WatchLevel, WatchTarget};
use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use crate::app::AppState;
use crate::auth::Viewer;
use crate::error::AppError;
use crate::paths;
use crate::services::notify::KINDS;
use crate::services::permissions::Action;
use crate::services::posting;
use crate::services::read::post_url;
use crate::views::TimeView;
use crate::web::form::Form;
use crate::web::{Layout, private_page, render, see_other};

/// Notifications on one page.
const PAGE: i64 = 30;

/// One notification as the list shows it.
pub struct NotificationView {
    pub id: i64,
    pub kind: String,
    /// What happened, in a sentence (the thread's title follows it as a link).
    pub text: String,
    pub url: String,
    pub reason: Option<String>,
    pub created_at: TimeView,
    pub read: bool,
}

/// The notifications of one thread, in a row on the page.
pub struct NotificationGroup {
    pub thread_title: String,
    pub thread_url: String,
    pub items: Vec<NotificationView>,
}

fn sentence(row: &NotificationRow) -> String {
    let who = row
        .actor
        .as_deref()
        .map_or("Someone".to_string(), |a| format!("@{a}"));
    match row.kind.as_str() {
        "mention" => format!("{who} mentioned you"),
        "quote" => format!("{who} quoted your post"),
        "reply" => format!("{who} replied to your post"),
        "staff_answer" => format!("{who} (staff) answered your thread"),
        "watched" => format!("{who} replied in a thread you watch"),
        "tracked" if row.count > 1 => format!("{} new replies in a thread you track", row.count),
        "tracked" => format!("{who} replied in a thread you track"),
        "new_thread" => format!("{who} started a thread where you watch"),
        "accepted" => format!("{who} accepted your answer"),
        "recommended" => format!("{who} recommended your answer"),
        "boost" if row.count > 1 => {
            let others = row.count - 1;
            format!(
                "{who} and {} boosted your post",
                crate::views::format::plural(others, "other", "others")
            )
        }
        "boost" => format!("{who} boosted your post"),
        "moderated" => "A moderator acted on your post or thread".to_string(),
        "reminder" if row.post.is_some() => "Reminder: a post you bookmarked".to_string(),
        "reminder" => "Reminder: a thread you bookmarked".to_string(),
        other => format!("{who}: {other}"),
    }
}

pub fn view_of(row: &NotificationRow, now: Timestamp) -> NotificationView {
    let url = match (row.post, row.position) {
        (Some(post), Some(position)) => post_url(row.thread, &row.thread_slug, position, post),
        _ => paths::thread(row.thread, &row.thread_slug),
    };
    NotificationView {
        id: row.id,
        kind: row.kind.clone(),
        text: sentence(row),
        url,
        reason: row.reason.clone(),
        created_at: TimeView::new(row.created_at, now),
        read: row.read,
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
struct NotificationsTemplate {
    layout: Layout,
    groups: Vec<NotificationGroup>,
    unread: i64,
    older: Option<String>,
    newer: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct NotificationsQuery {
    pub before: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(query): Query<NotificationsQuery>,
) -> Result<Response, AppError> {
    let Some(account) = viewer.account.as_deref() else {
        return Ok(see_other("/signin?next=/notifications"));
    };
    let before = match query.before.as_deref().filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<i64>().ok().filter(|b| *b > 0).ok_or_else(|| {
            AppError::bad_param("before", "A page starts below a notification's id.")
        })?),
    };
    let rows = state
        .store
        .notifications_of(account.brief.id, before, PAGE + 1)
        .await?;
    let more = rows.len() as i64 > PAGE;
    let now = Timestamp::now();
    let mut groups: Vec<NotificationGroup> = Vec::new();
    let mut last_id = None;
    for row in rows.iter().take(PAGE as usize) {
        last_id = Some(row.id);
        let view = view_of(row, now);
        let url = paths::thread(row.thread, &row.thread_slug);
        match groups.last_mut() {
            Some(group) if group.thread_url == url => group.items.push(view),
            _ => groups.push(NotificationGroup {
                thread_title: row.thread_title.clone(),
                thread_url: url,
                items: vec![view],
            }),
        }
    }
    let mut layout = Layout::new(
        &state,
        &viewer,
        "Notifications",
        "Notifications",
        "/notifications",
    );
    layout.noindex = true;
    let html = render(&NotificationsTemplate {
        layout,
        groups,
        unread: viewer.unread.unwrap_or(0),
        older: more
            .then_some(last_id)
            .flatten()
            .map(|id| format!("/notifications?before={id}")),
        newer: before.is_some(),
    })?;
    Ok(private_page(StatusCode::OK, html))
}

/// "Mark all read".
pub async fn read_all(State(state): State<AppState>, viewer: Viewer) -> Result<Response, AppError> {
    let account = viewer.require()?;
    state
        .store
        .mark_read(account.brief.id, None, Vec::new())
        .await?;
    Ok(see_other("/notifications"))
}

// ---------------------------------------------------------------- watching

#[derive(Debug, Default, Deserialize)]
pub struct WatchForm {
    /// `thread`, `subtopic` or `tag`.
    #[serde(default)]
    pub target: String,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub level: String,
    /// The page to go back to.
    pub next: Option<String>,
}

/// The watch control's choices for a thread (which has no "first post only").
pub fn thread_levels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("watching", "Watching: every new reply"),
        (
            "tracking",
            "Tracking: new replies gathered in one notification, never emailed",
        ),
        ("normal", "Normal: only replies to me, quotes and mentions"),
        ("muted", "Muted: nothing at all"),
    ]
}

/// The watch control's choices for a subtopic or a tag.
pub fn place_levels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("watching", "Watching: every new post"),
        (
            "watching_first_post",
            "Watching first post: every new thread",
        ),
        ("tracking", "Tracking"),
        ("normal", "Normal"),
        ("muted", "Muted: nothing from here"),
    ]
}

/// Sets the reader's level for a thread, a subtopic or a tag, then goes back.
pub async fn watch(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<WatchForm>,
) -> Result<Response, AppError> {
    let next = paths::safe_next(form.next.as_deref());
    if !viewer.signed_in() {
        return Ok(see_other(&format!(
            "/signin?next={}",
            paths::encode_query(&next)
        )));
    }
    let account = viewer.require()?;
    posting::check(Some(account), Action::Watch)?;
    let level = WatchLevel::parse(&form.level).ok_or_else(|| {
        AppError::bad_param("level", "Choose watching, tracking, normal or muted.")
    })?;
    let target = watch_target(&state, &form.target, &form.id, level).await?;
    state
        .store
        .set_watch(account.brief.id, target, level)
        .await?;
    Ok(see_other(&next))
}

/// What a watch names: a thread by its id, a subtopic by `area/subtopic`, a tag by its slug
/// (404 when there is no such thing; a thread has no "first post" level).
pub async fn watch_target(
    state: &AppState,
    kind: &str,
    id: &str,
    level: WatchLevel,
) -> Result<WatchTarget, AppError> {
    let missing = || AppError::not_found(format!("There is no {kind} {id:?}."));
    Ok(match kind {
        "thread" => {
            if level == WatchLevel::WatchingFirstPost {
                return Err(AppError::bad_param(
                    "level",
                    "A thread has no first post to watch for.",
                ));
            }
            let id = crate::paths::parse_thread_id(id)?;
            let thread = posting::thread_facts(state, id).await?;
            WatchTarget::Thread(thread.id)
        }
        "subtopic" => {
            let (area, slug) = id.split_once('/').ok_or_else(missing)?;
            let id = state
                .store
                .subtopic_id(area, slug)
                .await?
                .ok_or_else(missing)?;
            WatchTarget::Subtopic(id.0)
        }
        "tag" => {
            let found = state.store.tag_ids(vec![id.to_string()]).await?;
            let (_, id) = found.into_iter().next().ok_or_else(missing)?;
            WatchTarget::Tag(id.0)
        }
        _ => {
            return Err(AppError::bad_param(
                "target",
                "Watch a thread, a subtopic or a tag.",
            ));
        }
    })
}

// ---------------------------------------------------------------- settings

/// The notification settings, as the settings page shows them.
pub struct PrefsView {
    pub email: bool,
    pub digest: bool,
    pub own_threads: &'static str,
    pub replied: &'static str,
    /// (kind, label, on)
    pub kinds: Vec<(&'static str, &'static str, bool)>,
}

impl PrefsView {
    pub fn new(prefs: &NotifyPrefs) -> Self {
        Self {
            email: prefs.email,
            digest: prefs.digest,
            own_threads: prefs.own_threads.as_str(),
            replied: prefs.replied.as_str(),
            kinds: KINDS
                .iter()
                .map(|(kind, label)| (*kind, *label, !prefs.off_kinds.iter().any(|k| k == kind)))
                .collect(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct PrefsForm {
    /// `away` (email when not on the forum) or `never`.
    #[serde(default)]
    pub email: String,
    /// `weekly` or `off`.
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub own_threads: String,
    #[serde(default)]
    pub replied: String,
    /// The kinds left on (checkboxes named `on_KIND`).
    #[serde(flatten)]
    pub on: std::collections::HashMap<String, String>,
}

pub async fn save_prefs(
    State(state): State<AppState>,
    viewer: Viewer,
    Form(form): Form<PrefsForm>,
) -> Result<Response, AppError> {
    let account = viewer.require()?;
    posting::check(Some(account), Action::Watch)?;
    let level = |text: &str, field: &str| {
        WatchLevel::parse(text)
            .filter(|l| *l != WatchLevel::WatchingFirstPost)
            .ok_or_else(|| {
                AppError::bad_param(field, "Choose watching, tracking, normal or muted.")
            })
    };
    let prefs = NotifyPrefs {
        own_threads: level(&form.own_threads, "own_threads")?,
        replied: level(&form.replied, "replied")?,
        off_kinds: KINDS
            .iter()
            .filter(|(kind, _)| !form.on.contains_key(&format!("on_{kind}")))
            .map(|(kind, _)| kind.to_string())
            .collect(),
        email: form.email != "never",
        digest: form.digest == "weekly",
    };
    let digest = prefs.digest;
    state
        .store
        .set_notify_prefs(account.brief.id, prefs)
        .await?;
    if digest {
        crate::jobs::digest::schedule(&state, account.brief.id).await?;
    }
    Ok(see_other("/settings?done=notifications#s-notifications"))
}

// ---------------------------------------------------------------- unsubscribing

#[derive(Template)]
#[template(path = "unsubscribe.html")]
struct UnsubscribeTemplate {
    layout: Layout,
    heading: &'static str,
    message: String,
    ask: bool,
    action: String,
}

fn unsubscribe_page(
    state: &AppState,
    viewer: &Viewer,
    token: &str,
    status: StatusCode,
    heading: &'static str,
    message: String,
    ask: bool,
) -> Result<Response, AppError> {
    let mut layout = Layout::new(state, viewer, heading, heading, "/unsubscribe");
    layout.noindex = true;
    let html = render(&UnsubscribeTemplate {
        layout,
        heading,
        message,
        ask,
        action: format!("/unsubscribe/{}", paths::encode_query(token)),
    })?;
    Ok(private_page(status, html))
}

/// The page for a link that was used already, or never existed (404).
fn link_used(state: &AppState, viewer: &Viewer, token: &str) -> Result<Response, AppError> {
    unsubscribe_page(
        state,
        viewer,
        token,
        StatusCode::NOT_FOUND,
        "Link used",
        "This link was used already, or it never existed. Choose what is emailed in your \
         notification settings."
            .into(),
        false,
    )
}

/// The page's heading and text before and after an unsubscribe link is used.
fn unsubscribe_words(list: MailList) -> [(&'static str, &'static str); 2] {
    match list {
        MailList::Notifications => [
            (
                "Stop notification emails?",
                "You will still see notifications on the forum, under the bell.",
            ),
            (
                "Unsubscribed",
                "No more notification emails. You can turn them on again in your notification \
                 settings.",
            ),
        ],
        MailList::Digest => [
            (
                "Stop the weekly digest?",
                "Notification emails and the bell stay as they are.",
            ),
            (
                "Unsubscribed",
                "No more weekly digests. You can turn the digest on again in your notification \
                 settings.",
            ),
        ],
    }
}

/// `GET /unsubscribe/{token}` (the link in an email's footer): asks first, as a link that
/// anything may fetch (a mail scanner) must change nothing.
pub async fn unsubscribe_form(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let hash = crate::auth::secret_hash(&token);
    match state.store.unsubscribe_token_valid(&hash).await? {
        Some(list) => {
            let [(heading, message), _] = unsubscribe_words(list);
            unsubscribe_page(
                &state,
                &viewer,
                &token,
                StatusCode::OK,
                heading,
                message.into(),
                true,
            )
        }
        None => link_used(&state, &viewer, &token),
    }
}

/// `POST /unsubscribe/{token}`: RFC 8058's one-click unsubscribe (a mail client posts
/// `List-Unsubscribe=One-Click`, with no session), or the button above. The token works once
/// and does only this: the email it came in (notifications, or the digest) off.
pub async fn unsubscribe(
    State(state): State<AppState>,
    viewer: Viewer,
    axum::extract::Path(token): axum::extract::Path<String>,
) -> Result<Response, AppError> {
    let hash = crate::auth::secret_hash(&token);
    let Some((user, list)) = state.store.use_unsubscribe_token(&hash).await? else {
        return link_used(&state, &viewer, &token);
    };
    let mut prefs = state.store.notify_prefs(user).await?;
    match list {
        MailList::Notifications => prefs.email = false,
        MailList::Digest => prefs.digest = false,
    }
    state.store.set_notify_prefs(user, prefs).await?;
    let [_, (heading, message)] = unsubscribe_words(list);
    unsubscribe_page(
        &state,
        &viewer,
        &token,
        StatusCode::OK,
        heading,
        message.into(),
        false,
    )
}
