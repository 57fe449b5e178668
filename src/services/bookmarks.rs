//! Bookmarks: posts and threads a member saved to come back to, each with an optional short
//! note and an optional reminder that arrives as a notification (the `reminder` job,
//! `jobs::reminder`). A member's bookmarks are theirs alone (`permissions::Action::
//! OwnBookmarks`): nobody else, staff included, lists, reads or changes them, and anyone
//! else's bookmark reads as missing.
//!
//! Order of checks in a save: permission, then the input (every field at once), then the place
//! (a thread or post the member cannot see is 404; a post of another thread is 409), then one
//! private store write that also queues the reminder.

use agora_store::{Account, BookmarkRow, NewBookmark, PostId, ThreadId, Timestamp, UserId};
use chrono::{Datelike, Duration, NaiveDateTime, NaiveTime};

use crate::app::AppState;
use crate::error::AppError;
use crate::jobs::JobKind;
use crate::paths;
use crate::services::accounts::FieldErrors;
use crate::services::permissions::{self, Action};
use crate::services::posting;
use crate::views::{BookmarksTabView, CountView};

/// The longest note a bookmark keeps, in characters.
pub const NOTE_CHARS: usize = 200;

/// Bookmarks on one page of the list.
pub const PER_PAGE: u32 = 30;

/// How far ahead a reminder may be set, in days (about five years).
pub const MAX_AHEAD_DAYS: i64 = 1830;

/// The furthest a time-zone offset reaches, in minutes (UTC−12:00 to UTC+14:00, with room).
pub const MAX_TZ_MINUTES: i64 = 16 * 60;

/// The hour, in the member's time zone, that "tomorrow" and "next week" remind at.
const MORNING: u32 = 9;

/// The reminder choices the forms offer besides a date and time: (value, label).
pub const REMIND_CHOICES: &[(&str, &str)] = &[
    ("", "No reminder"),
    ("hour", "In 1 hour"),
    ("tomorrow", "Tomorrow at 9:00"),
    ("3days", "In 3 days"),
    ("week", "Next Monday at 9:00"),
];

/// What to do with a bookmark's reminder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remind {
    /// Leave it as it is (a new bookmark gets none).
    Keep,
    /// No reminder (clears one).
    Never,
    At(Timestamp),
}

/// What a member asks to save.
#[derive(Clone, Debug)]
pub struct BookmarkInput {
    pub thread: ThreadId,
    /// None: the whole thread.
    pub post: Option<PostId>,
    pub note: String,
    pub remind: Remind,
}

/// A time-zone offset as the forms send it: minutes east of UTC (the page's script fills it
/// in; without the script it is 0, and the form says times are UTC).
pub fn parse_tz(text: &str) -> Result<i64, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(0);
    }
    text.parse::<i64>()
        .ok()
        .filter(|m| m.abs() <= MAX_TZ_MINUTES)
        .ok_or_else(|| {
            AppError::bad_param(
                "tz",
                format!("A time-zone offset is minutes east of UTC, at most {MAX_TZ_MINUTES}."),
            )
        })
}

fn micros(d: Duration) -> i64 {
    d.num_microseconds().unwrap_or(i64::MAX)
}

/// The reminder the forms ask for: `choice` one of [`REMIND_CHOICES`] or `keep`, or a date
/// and time (`remind_at`, as a `datetime-local` input sends it, `YYYY-MM-DDTHH:MM[:SS]`) in
/// the member's time zone `tz` (minutes east of UTC). A date and time, when given, wins over
/// the choice. Whether the time is in the future is [`save`]'s question.
pub fn remind_from_form(
    choice: &str,
    remind_at: &str,
    tz: i64,
    now: Timestamp,
) -> Result<Remind, AppError> {
    let offset = Duration::minutes(tz);
    let remind_at = remind_at.trim();
    if !remind_at.is_empty() {
        let local = NaiveDateTime::parse_from_str(remind_at, "%Y-%m-%dT%H:%M")
            .or_else(|_| NaiveDateTime::parse_from_str(remind_at, "%Y-%m-%dT%H:%M:%S"))
            .map_err(|_| {
                AppError::bad_param(
                    "remind_at",
                    "Give the date and time as YYYY-MM-DDTHH:MM (for example 2031-01-31T09:00).",
                )
            })?;
        let utc = local - offset;
        return Ok(Remind::At(Timestamp::from_micros(
            utc.and_utc().timestamp_micros(),
        )));
    }
    let at = |d: Duration| Remind::At(Timestamp::from_micros(now.micros() + micros(d)));
    // The member's wall clock, and a morning `days` from its date, back in UTC.
    let local = now.to_datetime().naive_utc() + offset;
    let morning = |days: i64| {
        let date = local.date() + Duration::days(days);
        let time = NaiveTime::from_hms_opt(MORNING, 0, 0).unwrap_or(NaiveTime::MIN);
        let utc = NaiveDateTime::new(date, time) - offset;
        Remind::At(Timestamp::from_micros(utc.and_utc().timestamp_micros()))
    };
    Ok(match choice {
        "keep" => Remind::Keep,
        "" | "none" => Remind::Never,
        "hour" => at(Duration::hours(1)),
        "tomorrow" => morning(1),
        "3days" => at(Duration::days(3)),
        "week" => {
            let to_monday = 7 - i64::from(local.weekday().num_days_from_monday());
            morning(to_monday)
        }
        _ => {
            return Err(AppError::bad_param(
                "remind",
                "Choose no reminder, in 1 hour, tomorrow, in 3 days or next week.",
            ));
        }
    })
}

/// The note's and the reminder's problems, all at once.
fn check_input(input: &BookmarkInput, now: Timestamp) -> FieldErrors {
    let mut errors = FieldErrors::default();
    let n = input.note.chars().count();
    if n > NOTE_CHARS {
        errors.add(
            "note",
            format!("Keep the note to {NOTE_CHARS} characters (it has {n})."),
        );
    } else {
        errors.text("note", &input.note);
    }
    if let Remind::At(at) = input.remind {
        if at <= now {
            errors.add(
                "remind_at",
                "That time has passed: choose a reminder in the future.",
            );
        } else if at.micros() - now.micros() > micros(Duration::days(MAX_AHEAD_DAYS)) {
            errors.add(
                "remind_at",
                format!("A reminder can be at most {MAX_AHEAD_DAYS} days ahead."),
            );
        }
    }
    errors
}

/// That `account` can see the thread (and the post, of that thread) it bookmarks: 404 for
/// what it cannot see (a removed thread, a deleted post, a hidden one unless it moderates),
/// 409 for a post of another thread.
async fn check_place(
    state: &AppState,
    account: &Account,
    thread: ThreadId,
    post: Option<PostId>,
) -> Result<(), AppError> {
    let moderator = permissions::allowed(Some(account), Action::SeeRemoved, Timestamp::now());
    let facts = posting::thread_facts(state, thread).await?;
    if facts.removed && !moderator {
        return Err(AppError::not_found(format!("There is no thread {thread}.")));
    }
    if let Some(post) = post {
        let facts = posting::post_facts(state, post).await?;
        if facts.thread.id != thread {
            return Err(AppError::Conflict {
                param: "post_id".into(),
                message: format!("Post {post} is in another thread, not in thread {thread}."),
            });
        }
        if facts.deleted || (facts.hidden && !moderator) {
            return Err(AppError::not_found(format!("There is no post {post}.")));
        }
    }
    Ok(())
}

/// The signed-in account, allowed to keep bookmarks.
fn owner(account: Option<&Account>) -> Result<&Account, AppError> {
    let account = account.ok_or(AppError::Unauthorized)?;
    posting::check(
        Some(account),
        Action::OwnBookmarks {
            owner: account.brief.id,
        },
    )?;
    Ok(account)
}

/// Saves `account`'s bookmark of `input`'s thread or post (replacing the one there, whose
/// reminder `Remind::Keep` keeps). A reminder that is new or changed queues a reminder job for
/// its time; the old one's job tells nobody.
pub async fn save(
    state: &AppState,
    account: Option<&Account>,
    input: BookmarkInput,
) -> Result<BookmarkRow, AppError> {
    let account = owner(account)?;
    let now = Timestamp::now();
    check_input(&input, now).into_error()?;
    check_place(state, account, input.thread, input.post).await?;
    let user = account.brief.id;
    let remind_at = match input.remind {
        Remind::Never => None,
        Remind::At(at) => Some(at),
        Remind::Keep => state
            .store
            .bookmark_at(user, input.thread, input.post)
            .await?
            .and_then(|b| b.remind_at),
    };
    let saved = state
        .store
        .save_bookmark(
            NewBookmark {
                user,
                thread: input.thread,
                post: input.post,
                note: input.note,
                remind_at,
            },
            JobKind::Reminder.as_str(),
        )
        .await?;
    if saved.queued {
        // Due later, but a reminder set for a moment from now should not wait for the
        // runner's next round.
        state.jobs_queued.notify_one();
    }
    by_id(state, Some(account), saved.id).await
}

/// One bookmark by id, for its owner alone; anybody else is told there is no such bookmark.
pub async fn by_id(
    state: &AppState,
    account: Option<&Account>,
    id: i64,
) -> Result<BookmarkRow, AppError> {
    let account = owner(account)?;
    let missing = || AppError::not_found(format!("You have no bookmark {id}."));
    let bookmark = state.store.bookmark_by_id(id).await?.ok_or_else(missing)?;
    // Someone else's bookmark reads as missing: what one saved is one's own business.
    posting::check(
        Some(account),
        Action::OwnBookmarks {
            owner: bookmark.user,
        },
    )
    .map_err(|_| missing())?;
    Ok(bookmark)
}

/// Removes one of `account`'s bookmarks (and its waiting reminder).
pub async fn remove(state: &AppState, account: Option<&Account>, id: i64) -> Result<(), AppError> {
    let bookmark = by_id(state, account, id).await?;
    state
        .store
        .delete_bookmark(bookmark.user, id, JobKind::Reminder.as_str())
        .await?;
    Ok(())
}

/// One page of `account`'s bookmarks it can still see, newest first, and how many it has (a
/// page past the last is empty).
pub async fn page_of(
    state: &AppState,
    account: Option<&Account>,
    page: u32,
) -> Result<(Vec<BookmarkRow>, i64), AppError> {
    let account = owner(account)?;
    let user = account.brief.id;
    let per = i64::from(PER_PAGE);
    let offset = i64::from(page.saturating_sub(1)) * per;
    let (rows, total) = tokio::try_join!(
        state.store.bookmarks_of(user, offset, per),
        state.store.bookmark_count(user),
    )?;
    Ok((rows, total))
}

/// How many pages `total` bookmarks fill (one at least).
pub fn total_pages(total: i64) -> u32 {
    let pages = total.max(1).unsigned_abs().div_ceil(u64::from(PER_PAGE));
    u32::try_from(pages).unwrap_or(u32::MAX)
}

/// The "Bookmarks" tab of `owner`'s profile (`username`), for `account` when it is the owner;
/// None for everyone else, staff included.
pub async fn tab(
    state: &AppState,
    account: Option<&Account>,
    owner: UserId,
    username: &str,
    current: bool,
) -> Result<Option<BookmarksTabView>, AppError> {
    if !permissions::allowed(account, Action::OwnBookmarks { owner }, Timestamp::now()) {
        return Ok(None);
    }
    let count = state.store.bookmark_count(owner).await?;
    Ok(Some(BookmarksTabView {
        url: paths::bookmarks(username, 1),
        count_text: CountView::new(count).of("bookmark", "bookmarks"),
        current,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        Timestamp::parse_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn remind(choice: &str, custom: &str, tz: i64, now: &str) -> Option<String> {
        match remind_from_form(choice, custom, tz, at(now)) {
            Ok(Remind::At(t)) => Some(t.to_rfc3339()),
            Ok(other) => Some(format!("{other:?}")),
            Err(_) => None,
        }
    }

    #[test]
    fn presets_count_from_now_or_reach_the_members_morning() {
        // A Wednesday, 22:30 UTC: 00:30 on Thursday in UTC+2.
        let now = "2031-01-15T22:30:00Z";
        assert_eq!(
            remind("hour", "", 0, now).as_deref(),
            Some("2031-01-15T23:30:00.000000Z")
        );
        assert_eq!(
            remind("3days", "", 120, now).as_deref(),
            Some("2031-01-18T22:30:00.000000Z")
        );
        // Tomorrow at 9:00 where the member is: Thursday in UTC, Friday in UTC+2.
        assert_eq!(
            remind("tomorrow", "", 0, now).as_deref(),
            Some("2031-01-16T09:00:00.000000Z")
        );
        assert_eq!(
            remind("tomorrow", "", 120, now).as_deref(),
            Some("2031-01-17T07:00:00.000000Z")
        );
        // Next Monday at 9:00; on a Monday, the one a week on.
        assert_eq!(
            remind("week", "", 0, now).as_deref(),
            Some("2031-01-20T09:00:00.000000Z")
        );
        assert_eq!(
            remind("week", "", 0, "2031-01-20T08:00:00Z").as_deref(),
            Some("2031-01-27T09:00:00.000000Z")
        );
        assert_eq!(remind("", "", 0, now).as_deref(), Some("Never"));
        assert_eq!(remind("keep", "", 0, now).as_deref(), Some("Keep"));
        assert_eq!(remind("fortnight", "", 0, now), None);
    }

    #[test]
    fn a_date_and_time_is_read_in_the_members_zone_and_wins() {
        let now = "2031-01-15T22:30:00Z";
        assert_eq!(
            remind("hour", "2031-02-01T09:15", -300, now).as_deref(),
            Some("2031-02-01T14:15:00.000000Z")
        );
        assert_eq!(
            remind("", "2031-02-01T09:15:30", 0, now).as_deref(),
            Some("2031-02-01T09:15:30.000000Z")
        );
        assert_eq!(remind("", "next tuesday", 0, now), None);
        assert_eq!(remind("", "2031-02-30T09:00", 0, now), None);
    }

    #[test]
    fn offsets_and_input_are_checked() {
        assert_eq!(parse_tz("").ok(), Some(0));
        assert_eq!(parse_tz("-330").ok(), Some(-330));
        assert!(parse_tz("961").is_err());
        assert!(parse_tz("UTC").is_err());
        let now = at("2031-01-15T22:30:00Z");
        let input = |note: &str, remind| BookmarkInput {
            thread: ThreadId(1),
            post: None,
            note: note.to_string(),
            remind,
        };
        assert!(check_input(&input("read later", Remind::Never), now).is_empty());
        let errors = check_input(
            &input(
                &"n".repeat(NOTE_CHARS + 1),
                Remind::At(at("2031-01-15T22:29:00Z")),
            ),
            now,
        );
        assert!(errors.get("note").is_some(), "{errors:?}");
        assert!(errors.get("remind_at").is_some(), "{errors:?}");
        assert!(
            check_input(&input("a\u{0}b", Remind::Keep), now)
                .get("note")
                .is_some()
        );
        let far = Timestamp::from_micros(now.micros() + micros(Duration::days(MAX_AHEAD_DAYS + 1)));
        assert!(
            check_input(&input("", Remind::At(far)), now)
                .get("remind_at")
                .is_some()
        );
        assert_eq!(total_pages(0), 1);
        assert_eq!(total_pages(30), 1);
        assert_eq!(total_pages(31), 2);
    }
}
