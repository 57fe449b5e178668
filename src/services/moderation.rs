//! Keeping order: locking, pinning, moving, retitling, hiding posts, suspending accounts,
//! flags and their review queue. Every action is checked by the permissions module and lands in
//! the audit log in the same transaction as the change.

use agora_store::{
    Account, Audit, Cursor, KeysetPage, PinScope, PostFacts, ThreadFacts, Timestamp,
};

use crate::app::AppState;
use crate::error::AppError;
use crate::limits::Limit;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::{self, Action};
use crate::services::posting::{self, check};
use crate::services::read::{RawCursorParams, parse_cursor};
use crate::views::{AuditEntryView, AuditPageView, FlagQueueView, FlagView, PagerView};

/// Flags on one page of the review queue.
pub const FLAGS_PER_PAGE: usize = 50;
/// Entries on one page of the audit log.
pub const AUDIT_PER_PAGE: usize = 100;

fn audit(actor: &Account, action: &'static str, details: String) -> Audit {
    Audit {
        actor: actor.brief.id,
        action,
        thread: None,
        post: None,
        target_user: None,
        details,
    }
}

/// The longest reason a moderator or a flag may give, counting everything sent.
pub const REASON_CHARS: usize = 300;

/// A reason shown to readers: trimmed, not empty when required, at most [`REASON_CHARS`] as
/// sent, and no control characters but line breaks.
pub fn reason(text: &str, field: &'static str, required: bool) -> Result<String, AppError> {
    let sent = text.chars().count();
    let text = text.trim();
    if required && text.is_empty() {
        return Err(AppError::bad_param(field, "Give a reason: readers see it."));
    }
    if sent > REASON_CHARS {
        return Err(AppError::bad_param(
            field,
            format!("Keep the reason to {REASON_CHARS} characters."),
        ));
    }
    if let Some(c) = crate::services::accounts::forbidden_char(text) {
        return Err(AppError::bad_param(
            field,
            crate::services::accounts::forbidden_char_message(c),
        ));
    }
    Ok(text.to_string())
}

/// Locks a thread with a reason shown to readers (`Some`), or unlocks it.
pub async fn lock(
    state: &AppState,
    actor: Option<&Account>,
    thread: &ThreadFacts,
    lock_reason: Option<&str>,
) -> Result<(), AppError> {
    check(actor, Action::Moderate(thread))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let lock = match lock_reason {
        Some(text) => Some((actor.brief.id, reason(text, "reason", true)?)),
        None => None,
    };
    let mut entry = audit(
        actor,
        if lock.is_some() {
            "thread.lock"
        } else {
            "thread.unlock"
        },
        lock.as_ref().map(|(_, r)| r.clone()).unwrap_or_default(),
    );
    entry.thread = Some(thread.id);
    state.store.lock_thread(thread.id, lock, entry).await?;
    Ok(())
}

pub fn parse_pin(text: &str) -> Result<Option<PinScope>, AppError> {
    match text.trim() {
        "none" | "" => Ok(None),
        other => other
            .parse::<PinScope>()
            .map(Some)
            .map_err(|_| AppError::bad_param("scope", "Choose subtopic, global or none.")),
    }
}

pub async fn pin(
    state: &AppState,
    actor: Option<&Account>,
    thread: &ThreadFacts,
    scope: Option<PinScope>,
) -> Result<(), AppError> {
    check(actor, Action::Moderate(thread))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let mut entry = audit(
        actor,
        if scope.is_some() {
            "thread.pin"
        } else {
            "thread.unpin"
        },
        scope.map(|s| s.as_str().to_string()).unwrap_or_default(),
    );
    entry.thread = Some(thread.id);
    state.store.pin_thread(thread.id, scope, entry).await?;
    Ok(())
}

/// Moves a thread to `area/subtopic`.
pub async fn move_to(
    state: &AppState,
    actor: Option<&Account>,
    thread: ThreadFacts,
    target: &str,
) -> Result<(), AppError> {
    check(actor, Action::Moderate(&thread))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let to = match target.split_once('/') {
        Some((area, sub)) => state.store.subtopic_id(area.trim(), sub.trim()).await?,
        None => None,
    }
    .ok_or_else(|| AppError::bad_param("subtopic", "Choose an existing subtopic."))?;
    let mut entry = audit(actor, "thread.move", format!("to {target}"));
    entry.thread = Some(thread.id);
    state.store.move_thread(thread, to, entry).await?;
    Ok(())
}

/// Changes a thread's title and tags.
pub async fn retitle(
    state: &AppState,
    actor: Option<&Account>,
    thread: ThreadFacts,
    title: &str,
    tags: &str,
) -> Result<Result<(), FieldErrors>, AppError> {
    check(actor, Action::Moderate(&thread))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let mut errors = FieldErrors::default();
    posting::check_title(title, &mut errors);
    let title = title.trim().to_string();
    let ids = posting::resolve_tags(state, tags, &mut errors).await?;
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let mut entry = audit(
        actor,
        "thread.retitle",
        format!("“{}” → “{title}”", thread.title),
    );
    entry.thread = Some(thread.id);
    state
        .store
        .retitle_thread(thread, title, ids, entry)
        .await?;
    Ok(Ok(()))
}

/// Hides a post with a reason shown to readers (`Some`), or shows it again.
pub async fn hide(
    state: &AppState,
    actor: Option<&Account>,
    post: PostFacts,
    hide_reason: Option<&str>,
) -> Result<(), AppError> {
    check(actor, Action::HidePost(&post))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let why = match hide_reason {
        Some(text) => Some(reason(text, "reason", true)?),
        None => None,
    };
    let mut entry = audit(
        actor,
        if why.is_some() {
            "post.hide"
        } else {
            "post.unhide"
        },
        why.clone().unwrap_or_default(),
    );
    entry.thread = Some(post.thread.id);
    entry.post = Some(post.id);
    state
        .store
        .set_hidden(post, actor.brief.id, why, entry)
        .await?;
    Ok(())
}

/// Parses a suspension end: a date (exactly `YYYY-MM-DD`, as a date input sends it and as
/// RFC 3339's `full-date` has it; to the end of that day UTC) in the future.
pub fn parse_until(text: &str) -> Result<Timestamp, AppError> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = shaped
        .then(|| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok())
        .flatten()
        .ok_or_else(|| {
            AppError::bad_param(
                "until",
                "Give the last day of the suspension as YYYY-MM-DD.",
            )
        })?;
    let end = date
        .and_hms_opt(23, 59, 59)
        .map(|t| Timestamp::from(t.and_utc()))
        .ok_or_else(|| AppError::bad_param("until", "Not a date."))?;
    if end <= Timestamp::now() {
        return Err(AppError::bad_param("until", "Choose a day in the future."));
    }
    Ok(end)
}

/// Suspends `username` until a time with a reason they are shown, or lifts the suspension.
pub async fn suspend(
    state: &AppState,
    actor: Option<&Account>,
    username: &str,
    until: Option<(&str, &str)>,
) -> Result<(), AppError> {
    let target = state
        .store
        .account_by_name(username)
        .await?
        .ok_or_else(|| AppError::not_found(format!("There is no user {username:?}.")))?;
    check(
        actor,
        Action::Suspend {
            user: target.brief.id,
            role: target.brief.role,
        },
    )?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let until = match until {
        Some((date, why)) => Some((parse_until(date)?, reason(why, "reason", true)?)),
        None => None,
    };
    let mut entry = audit(
        actor,
        if until.is_some() {
            "user.suspend"
        } else {
            "user.unsuspend"
        },
        until
            .as_ref()
            .map(|(t, r)| format!("until {}: {r}", t.to_datetime().format("%Y-%m-%d")))
            .unwrap_or_default(),
    );
    entry.target_user = Some(target.brief.id);
    state
        .store
        .set_suspension(target.brief.id, until, entry)
        .await?;
    Ok(())
}

/// Reports a post to the moderators.
pub async fn flag(
    state: &AppState,
    actor: Option<&Account>,
    post: PostFacts,
    why: &str,
) -> Result<(), AppError> {
    check(actor, Action::Flag(&post))?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let why = reason(why, "reason", true)?;
    if permissions::limited(actor) {
        state
            .limits()
            .check(Limit::FlagAccount, &actor.brief.id.to_string())?;
    }
    state.store.flag_post(post, actor.brief.id, why).await?;
    Ok(())
}

/// Resolves a flag: `dismiss` leaves the post, `hide` hides it (in the same transaction).
pub async fn resolve_flag(
    state: &AppState,
    actor: Option<&Account>,
    flag: i64,
    resolution: &str,
) -> Result<(), AppError> {
    check(actor, Action::ReviewFlags)?;
    let actor = actor.ok_or(AppError::Unauthorized)?;
    let hide_post = match resolution.trim() {
        "dismiss" => false,
        "hide" => true,
        _ => {
            return Err(AppError::bad_param("resolution", "Choose dismiss or hide."));
        }
    };
    let entry = audit(
        actor,
        "flag.resolve",
        format!("flag {flag}: {}", resolution.trim()),
    );
    let hide = hide_post.then(|| {
        (
            "Hidden by a moderator after a report.".to_string(),
            audit(actor, "post.hide", "after a report".into()),
        )
    });
    if state
        .store
        .resolve_flag(
            flag,
            actor.brief.id,
            resolution.trim().to_string(),
            entry,
            hide,
        )
        .await?
        .is_none()
    {
        return Err(AppError::not_found(format!(
            "There is no open flag {flag}."
        )));
    }
    Ok(())
}

/// How many flags wait for a moderator (the header's "Review" link shows it).
pub async fn open_flag_count(state: &AppState) -> Result<i64, AppError> {
    Ok(state.store.open_flag_count().await?)
}

/// Links around a keyset page at `base` (where the list lives: a page or an API path).
/// `id` reads an entry's id; `older_first` says which way the list runs.
fn pager<T>(
    base: &str,
    cursor: Cursor,
    page: &KeysetPage<T>,
    id: impl Fn(&T) -> i64,
    older_first: bool,
) -> PagerView {
    let (first, last) = (page.rows.first().map(&id), page.rows.last().map(&id));
    let link = |older: bool, id: i64| {
        let param = if older { "before" } else { "after" };
        format!("{base}?{param}={id}")
    };
    PagerView {
        // The previous page holds what sorts before the first entry: older entries when the
        // list runs oldest first, newer ones when it runs newest first.
        prev_url: first
            .filter(|_| page.has_prev)
            .map(|id| link(older_first, id)),
        next_url: last
            .filter(|_| page.has_next)
            .map(|id| link(!older_first, id)),
        first_url: (cursor != Cursor::Start && page.rows.is_empty()).then(|| base.to_string()),
    }
}

/// One page of the review queue, oldest flag first, for a moderator. `base` is where its
/// pages live (`/review`, `/api/v1/flags`), so its links lead to the same kind of page.
pub async fn flag_queue(
    state: &AppState,
    actor: Option<&Account>,
    raw: &RawCursorParams,
    base: &str,
) -> Result<FlagQueueView, AppError> {
    check(actor, Action::ReviewFlags)?;
    let cursor = parse_cursor(raw)?;
    let page = state
        .store
        .open_flags(cursor, FLAGS_PER_PAGE)
        .await?
        .ok_or_else(|| {
            let param = if matches!(cursor, Cursor::Before(_)) {
                "before"
            } else {
                "after"
            };
            AppError::bad_param(param, "There is no flag with that id.")
        })?;
    let open = open_flag_count(state).await?;
    let now = Timestamp::now();
    Ok(FlagQueueView {
        pager: pager(base, cursor, &page, |f| f.id, true),
        flags: page.rows.iter().map(|f| FlagView::new(f, now)).collect(),
        open,
    })
}

/// One page of the audit log, newest entry first, for staff.
pub async fn audit_page(
    state: &AppState,
    actor: Option<&Account>,
    raw: &RawCursorParams,
    base: &str,
) -> Result<AuditPageView, AppError> {
    check(actor, Action::ReadAudit)?;
    let cursor = parse_cursor(raw)?;
    let page = state.store.audit_log(cursor, AUDIT_PER_PAGE).await?;
    let now = Timestamp::now();
    Ok(AuditPageView {
        pager: pager(base, cursor, &page, |e| e.id, false),
        entries: page
            .rows
            .iter()
            .map(|e| AuditEntryView::new(e, now))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suspension_ends_are_full_dates() {
        for (text, shaped) in [
            ("2031-01-31", true),
            ("2031-1-31", false),
            (" 2031-01-31", false),
            ("+2031-01-31", false),
            ("02031-01-31", false),
            ("2031-02-30", false),
        ] {
            let parsed = parse_until(text);
            assert_eq!(parsed.is_ok(), shaped, "{text:?}: {parsed:?}");
        }
    }
}
