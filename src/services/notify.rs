//! The notifier: follows the change log and tells members what concerns them. Writes never
//! wait for it (it reads what they logged, after they committed); several nodes may run it,
//! and each entry's notifications are written once, in the same transaction that moves the
//! notifier's position past it (`Store::record_notifications`).
//!
//! What notifies: a reply in a thread one watches, or to one's post; a quote of one's post; an
//! @mention; one's answer accepted or recommended; a staff answer in one's thread; a new thread
//! in a watched subtopic or tag; boosts (grouped); a moderator's action on one's post or thread,
//! to its author alone, with the reason. Never: one's own actions, a mention in code or a
//! quotation, an edit, anything about a post or thread that is removed, deleted or hidden, or
//! anything to a suspended account. One notification per member and post: the most direct kind.
//!
//! A bookmark's reminder is a notification too, under the same "never" rules, but it is
//! written by the `reminder` job (`jobs::reminder`) when it comes due, not from the change log.

use std::collections::HashMap;

use agora_store::{
    ChangeKind, ChangeRow, NewNotification, NotifyPrefs, PostFacts, PostId, ThreadFacts, ThreadId,
    UserId, WatchLevel, WatchTarget,
};

use crate::app::AppState;
use crate::error::AppError;

/// Every kind a member may be told of, with what settings call it, in the order settings show
/// them.
pub const KINDS: &[(&str, &str)] = &[
    ("mention", "Someone mentions you (@name)"),
    ("quote", "Someone quotes your post"),
    ("reply", "Someone replies to your post"),
    ("staff_answer", "Staff answer your thread"),
    ("watched", "A new reply in a thread you watch"),
    (
        "tracked",
        "New replies in a thread you track (one notification a thread, never emailed)",
    ),
    ("new_thread", "A new thread in a subtopic or tag you watch"),
    ("accepted", "Your answer is accepted"),
    ("recommended", "Staff recommend your answer"),
    ("boost", "People boost your post"),
    ("moderated", "A moderator acts on your post or thread"),
    ("reminder", "A bookmark's reminder comes due"),
];

/// How many change-log entries one round reads.
const BATCH: usize = 100;

/// Reads the change log from where the notifier stopped, writes what each entry notifies, and
/// moves on, until it is caught up. Returns how many notifications it wrote.
pub async fn catch_up(state: &AppState) -> Result<usize, AppError> {
    let mut written = 0;
    loop {
        let from = state.store.notifier_position().await?;
        let changes = state.store.changes_after(from, BATCH).await?;
        let Some(last) = changes.last() else {
            return Ok(written);
        };
        let to = last.seq;
        let mut rows = Vec::new();
        for change in &changes {
            rows.extend(for_change(state, change).await?);
        }
        let count = rows.len();
        // Another node moved first: it wrote these; read on from where it is.
        if state
            .store
            .record_notifications(from, to, rows, email_jobs(state))
            .await?
        {
            state.jobs_queued.notify_one();
            written += count;
        }
    }
}

/// The email jobs written beside new notifications: one per member and thread, due after
/// `email.notify_delay_secs` (the reminder job queues its notification's email this way too).
pub fn email_jobs(state: &AppState) -> agora_store::EmailJobs {
    agora_store::EmailJobs {
        kind: crate::jobs::JobKind::NotificationEmail.as_str().to_string(),
        run_after: agora_store::Timestamp::from_micros(
            agora_store::Timestamp::now().micros().saturating_add(
                (state.config.email.notify_delay_secs as i64).saturating_mul(1_000_000),
            ),
        ),
    }
}

/// The notifications one change-log entry causes.
async fn for_change(
    state: &AppState,
    change: &ChangeRow,
) -> Result<Vec<NewNotification>, AppError> {
    let Some(actor) = change.actor else {
        // Imports and operator tooling tell nobody.
        return Ok(Vec::new());
    };
    let note = |user: UserId, kind: &str, thread: ThreadId, post: Option<PostId>| NewNotification {
        user,
        kind: kind.to_string(),
        thread,
        post,
        actor: Some(actor),
        reason: None,
        source: change.seq,
    };
    let mut out = Vec::new();
    // The settings read while choosing recipients, so they are not read again below.
    let mut known_prefs = HashMap::new();
    match change.kind {
        ChangeKind::ThreadCreated | ChangeKind::PostCreated => {
            let Some(post) = post(state, change).await? else {
                return Ok(out);
            };
            let (recipients, prefs) = recipients_of_post(state, &post, actor).await?;
            for (user, kind) in recipients {
                out.push(note(user, kind, post.thread.id, Some(post.id)));
            }
            known_prefs = prefs;
        }
        ChangeKind::AnswerMarked => {
            let Some(post) = post(state, change).await? else {
                return Ok(out);
            };
            let kind = if post.thread.accepted_post == Some(post.id) {
                "accepted"
            } else if post.thread.recommended_post == Some(post.id) {
                "recommended"
            } else {
                return Ok(out);
            };
            out.push(note(post.author, kind, post.thread.id, Some(post.id)));
        }
        ChangeKind::PostBoosted => {
            let Some(post) = post(state, change).await? else {
                return Ok(out);
            };
            // A boost taken back tells nobody.
            if state
                .store
                .boosted_by(actor, vec![post.id])
                .await?
                .contains(&post.id)
            {
                out.push(note(post.author, "boost", post.thread.id, Some(post.id)));
            }
        }
        ChangeKind::PostHidden | ChangeKind::PostDeleted => {
            let Some(id) = change.post else {
                return Ok(out);
            };
            let Some(post) = state.store.post_facts(id).await? else {
                return Ok(out);
            };
            let reason = if change.kind == ChangeKind::PostHidden {
                if !post.hidden {
                    return Ok(out);
                }
                format!(
                    "A moderator hid your post: {}",
                    post.hidden_reason.clone().unwrap_or_default()
                )
            } else {
                "A moderator deleted your post.".to_string()
            };
            out.push(NewNotification {
                reason: Some(reason),
                ..note(post.author, "moderated", post.thread.id, Some(post.id))
            });
        }
        ChangeKind::ThreadLockChanged => {
            let Some(thread) = change.thread else {
                return Ok(out);
            };
            let Some(facts) = state.store.thread_facts(thread).await? else {
                return Ok(out);
            };
            if facts.locked {
                let reason = state.store.lock_reason(thread).await?.unwrap_or_default();
                out.push(NewNotification {
                    reason: Some(format!("A moderator locked your thread: {reason}")),
                    ..note(facts.author, "moderated", thread, None)
                });
            }
        }
        _ => {}
    }
    keep_allowed(state, out, actor, known_prefs).await
}

/// The post an entry names, when readers can still see it.
async fn post(state: &AppState, change: &ChangeRow) -> Result<Option<PostFacts>, AppError> {
    let Some(id) = change.post else {
        return Ok(None);
    };
    Ok(state
        .store
        .post_facts(id)
        .await?
        .filter(|p| !p.deleted && !p.hidden && !p.thread.removed))
}

/// Who a new post tells, and of what: one kind per member, the most direct.
async fn recipients_of_post(
    state: &AppState,
    post: &PostFacts,
    actor: UserId,
) -> Result<(Vec<(UserId, &'static str)>, HashMap<UserId, NotifyPrefs>), AppError> {
    let thread = &post.thread;
    let mut kinds: HashMap<UserId, &'static str> = HashMap::new();
    // Most direct first: `give` keeps the first kind a member is given.
    for user in crate::services::mentions::mentioned(&state.store, &post.body_md).await? {
        give(&mut kinds, user, "mention");
    }
    let quoted = agora_markup::quoted_names(&post.body_md);
    for user in crate::services::mentions::members_named(&state.store, quoted).await? {
        give(&mut kinds, user, "quote");
    }
    let first = post.position == 0;
    if let Some(answered) = post.reply_to
        && let Some(answered) = state.store.post_facts(answered).await?
    {
        give(&mut kinds, answered.author, "reply");
    }
    // Watches on the thread, its subtopic and its tags.
    let watches = state.store.watches_on(targets_of(thread)).await?;
    let participants = if first {
        Vec::new()
    } else {
        state.store.participants(thread.id).await?
    };
    if !first {
        let staff_answer = state
            .store
            .account(actor)
            .await?
            .is_some_and(|a| a.brief.role.is_staff());
        if staff_answer {
            give(&mut kinds, thread.author, "staff_answer");
        }
    }
    // Everyone who might watch: the author, the participants, every explicit watcher.
    let mut candidates: Vec<UserId> = vec![thread.author];
    candidates.extend(participants.iter().copied());
    candidates.extend(watches.iter().map(|(u, _, _)| *u));
    candidates.sort_by_key(|u| u.0);
    candidates.dedup();
    // Everyone's settings in a few queries, not one per member (10,000 watchers are common).
    let mut everyone: Vec<UserId> = candidates.clone();
    everyone.extend(kinds.keys().copied());
    everyone.sort_by_key(|u| u.0);
    everyone.dedup();
    let prefs = state.store.notify_prefs_of(everyone.clone()).await?;
    let default_prefs = NotifyPrefs::default();
    let levels: HashMap<UserId, WatchLevel> = everyone
        .iter()
        .map(|user| {
            let p = prefs.get(user).unwrap_or(&default_prefs);
            (*user, level_of(*user, thread, &participants, &watches, p))
        })
        .collect();
    for user in candidates {
        let level = levels.get(&user).copied().unwrap_or(WatchLevel::Normal);
        if first {
            // A new thread: those watching its subtopic or tags (first posts or everything).
            let watching_place = watches.iter().any(|(u, t, l)| {
                *u == user
                    && !matches!(t, WatchTarget::Thread(_))
                    && matches!(l, WatchLevel::Watching | WatchLevel::WatchingFirstPost)
            });
            if watching_place && level != WatchLevel::Muted {
                give(&mut kinds, user, "new_thread");
            }
        } else if level == WatchLevel::Watching {
            give(&mut kinds, user, "watched");
        } else if level == WatchLevel::Tracking {
            // Gathered into one notification a thread, never emailed.
            give(&mut kinds, user, "tracked");
        }
    }
    let recipients = kinds
        .into_iter()
        .filter(|(user, _)| *user != actor)
        .filter(|(user, _)| levels.get(user) != Some(&WatchLevel::Muted))
        .collect();
    Ok((recipients, prefs))
}

/// Gives `user` the notification `kind`, unless a more direct one came first.
fn give(kinds: &mut HashMap<UserId, &'static str>, user: UserId, kind: &'static str) {
    kinds.entry(user).or_insert(kind);
}

/// The targets whose watches decide a thread's level: it, its subtopic, its tags.
fn targets_of(thread: &ThreadFacts) -> Vec<WatchTarget> {
    let mut targets = vec![
        WatchTarget::Thread(thread.id),
        WatchTarget::Subtopic(thread.subtopic.0),
    ];
    targets.extend(thread.tags.iter().map(|t| WatchTarget::Tag(t.0)));
    targets
}

/// One member's level for a thread, by the same rule the notifier applies (for the thread
/// page's watch control), from what was read of them with the page.
pub fn level_of_reader(
    user: UserId,
    thread: &ThreadFacts,
    reader: &agora_store::ThreadReader,
) -> WatchLevel {
    let posted = if reader.posted {
        vec![user]
    } else {
        Vec::new()
    };
    level_of(user, thread, &posted, &reader.watches, &reader.prefs)
}

/// A member's level for a thread: what they chose for it; else muted when they muted its
/// subtopic or a tag; else their setting for threads they started or replied in; else watching
/// when they watch its subtopic or a tag; else normal.
fn level_of(
    user: UserId,
    thread: &ThreadFacts,
    participants: &[UserId],
    watches: &[(UserId, WatchTarget, WatchLevel)],
    prefs: &NotifyPrefs,
) -> WatchLevel {
    let mine = || watches.iter().filter(move |(u, _, _)| *u == user);
    if let Some((_, _, level)) = mine().find(|(_, t, _)| matches!(t, WatchTarget::Thread(_))) {
        return *level;
    }
    let places: Vec<WatchLevel> = mine()
        .filter(|(_, t, _)| !matches!(t, WatchTarget::Thread(_)))
        .map(|(_, _, l)| *l)
        .collect();
    if places.contains(&WatchLevel::Muted) {
        WatchLevel::Muted
    } else if thread.author == user {
        prefs.own_threads
    } else if participants.contains(&user) {
        prefs.replied
    } else if places.contains(&WatchLevel::Watching) {
        WatchLevel::Watching
    } else {
        WatchLevel::Normal
    }
}

/// Leaves out the actor, suspended members, and kinds a member turned off (`prefs`: settings
/// already read; the others are read here).
async fn keep_allowed(
    state: &AppState,
    rows: Vec<NewNotification>,
    actor: UserId,
    mut prefs: HashMap<UserId, NotifyPrefs>,
) -> Result<Vec<NewNotification>, AppError> {
    let mut users: Vec<UserId> = rows.iter().map(|r| r.user).collect();
    users.sort_by_key(|u| u.0);
    users.dedup();
    let suspended = state.store.suspended_of(users.clone()).await?;
    let missing: Vec<UserId> = users
        .into_iter()
        .filter(|u| !prefs.contains_key(u))
        .collect();
    if !missing.is_empty() {
        prefs.extend(state.store.notify_prefs_of(missing).await?);
    }
    Ok(rows
        .into_iter()
        .filter(|row| row.user != actor && !suspended.contains(&row.user))
        .filter(|row| {
            prefs
                .get(&row.user)
                .is_none_or(|p| !p.off_kinds.contains(&row.kind))
        })
        .collect())
}
