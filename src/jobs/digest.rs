//! The `digest` job: a member's weekly email of the best new threads in the subtopics and tags
//! they watch (the whole forum when they watch none), for those who turned it on.
//!
//! Turning the digest on schedules the first a week later ([`schedule`]); each digest sends,
//! then schedules the next (`Store::schedule_digest`, which queues the job and moves the due
//! time together, and only while the due time is the one this job was queued for). A week with
//! nothing new sends nothing. Only to a confirmed address of a member who is not suspended.
//! The message has a text and an HTML part, `List-Id`, and RFC 8058's one-click
//! `List-Unsubscribe`, whose link turns the digest off and nothing else.

use agora_store::{DigestThread, MailList, Timestamp, UserId};
use askama::Template;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::error::AppError;
use crate::jobs::{JobError, JobKind};
use crate::services::mail::{Email, MailHeaders};

/// A digest's period.
pub const WEEK_MICROS: i64 = 7 * 86_400_000_000;

/// The most threads one digest lists.
pub const THREADS: usize = 10;

#[derive(Debug, Serialize, Deserialize)]
struct Payload {
    user: i64,
    /// The due time it was queued for (microseconds): it runs only while this is still it.
    due: i64,
}

fn retry(err: impl std::fmt::Display) -> JobError {
    JobError::Retry(err.to_string())
}

/// Schedules `user`'s first digest a week from now, unless one is scheduled already (their
/// digest was on) or it is off. Called whenever their settings are saved.
pub async fn schedule(state: &AppState, user: UserId) -> Result<(), AppError> {
    let due = Timestamp::from_micros(Timestamp::now().micros() + WEEK_MICROS);
    queue(state, user, None, due)
        .await
        .map_err(AppError::from)?;
    Ok(())
}

async fn queue(
    state: &AppState,
    user: UserId,
    previous: Option<Timestamp>,
    due: Timestamp,
) -> Result<bool, agora_store::StoreError> {
    let payload = serde_json::json!(Payload {
        user: user.0,
        due: due.micros()
    })
    .to_string();
    state
        .store
        .schedule_digest(user, previous, due, JobKind::Digest.as_str(), &payload)
        .await
}

pub async fn run(state: &AppState, payload: &str) -> Result<(), JobError> {
    let job: Payload = serde_json::from_str(payload)
        .map_err(|err| JobError::Fail(format!("not a digest job: {err}")))?;
    let (user, due) = (UserId(job.user), Timestamp::from_micros(job.due));
    let store = &state.store;
    if store.digest_due(user).await.map_err(retry)? != Some(due) {
        // Turned off, or off and on again (a newer job has the new time): not this one's.
        return Ok(());
    }
    send(state, user, due).await?;
    // The next one a week on, or, after a long outage, the next week still ahead.
    let now = Timestamp::now().micros();
    let mut next = due.micros() + WEEK_MICROS;
    while next <= now {
        next += WEEK_MICROS;
    }
    queue(state, user, Some(due), Timestamp::from_micros(next))
        .await
        .map_err(retry)?;
    Ok(())
}

/// Sends the digest for the week ending at `due`, if there is anyone and anything to send.
async fn send(state: &AppState, user: UserId, due: Timestamp) -> Result<(), JobError> {
    let store = &state.store;
    let Some(account) = store.account(user).await.map_err(retry)? else {
        return Ok(());
    };
    let Some(to) = account.email.clone().filter(|_| account.email_verified) else {
        return Ok(());
    };
    if account.suspended_at(Timestamp::now()) {
        return Ok(());
    }
    let since = Timestamp::from_micros(due.micros() - WEEK_MICROS);
    let threads = store
        .digest_threads(user, since, due, THREADS)
        .await
        .map_err(retry)?;
    if threads.is_empty() {
        return Ok(());
    }
    let token = crate::auth::new_secret().map_err(retry)?;
    store
        .create_unsubscribe_token(user, &crate::auth::secret_hash(&token), MailList::Digest)
        .await
        .map_err(retry)?;
    let email = compose(
        state,
        (user, &to),
        &account.brief.display_name,
        &threads,
        &token,
        due,
    )
    .map_err(|err| JobError::Fail(format!("digest not written: {err}")))?;
    state
        .mailer
        .send(&state.config.email.from, &email)
        .await
        .map_err(|err| retry(format!("digest not sent: {err}")))
}

/// One thread as the message shows it.
struct Item {
    title: String,
    url: String,
    excerpt: String,
    /// "in Networking, by alice · 12 replies · 3 boosts · solved"
    facts: String,
}

#[derive(Template)]
#[template(path = "email/digest.txt")]
struct DigestText<'a> {
    name: &'a str,
    forum: &'a str,
    items: &'a [Item],
    settings: &'a str,
    unsubscribe: &'a str,
}

#[derive(Template)]
#[template(path = "email/digest.html")]
struct DigestHtml<'a> {
    name: &'a str,
    forum: &'a str,
    items: &'a [Item],
    settings: &'a str,
    unsubscribe: &'a str,
}

fn facts(thread: &DigestThread) -> String {
    let mut facts = format!("in {}, by {}", thread.subtopic, thread.author);
    let count =
        |n: i64, one: &str, many: &str| format!(" · {n} {}", if n == 1 { one } else { many });
    facts.push_str(&count(thread.replies, "reply", "replies"));
    if thread.boosts > 0 {
        facts.push_str(&count(thread.boosts, "boost", "boosts"));
    }
    if thread.solved {
        facts.push_str(" · solved");
    }
    facts
}

fn compose(
    state: &AppState,
    (user, to): (UserId, &str),
    name: &str,
    threads: &[DigestThread],
    token: &str,
    due: Timestamp,
) -> Result<Email, askama::Error> {
    let site = state.site();
    let forum = site.settings.name.clone();
    let base = site.settings.base_url.trim_end_matches('/').to_string();
    let host = crate::services::mail::host_of(&base);
    let items: Vec<Item> = threads
        .iter()
        .map(|t| Item {
            title: t.title.clone(),
            url: format!("{base}{}", crate::paths::thread(t.id, &t.slug)),
            excerpt: t.excerpt.clone(),
            facts: facts(t),
        })
        .collect();
    let unsubscribe = format!("{base}/unsubscribe/{token}");
    let settings = format!("{base}/settings#s-notifications");
    let text = DigestText {
        name,
        forum: &forum,
        items: &items,
        settings: &settings,
        unsubscribe: &unsubscribe,
    }
    .render()?;
    let html = DigestHtml {
        name,
        forum: &forum,
        items: &items,
        settings: &settings,
        unsubscribe: &unsubscribe,
    }
    .render()?;
    let subject = match threads {
        [only] => format!("[{forum}] This week: {}", only.title),
        [first, rest @ ..] => format!(
            "[{forum}] This week: {} and {} more",
            first.title,
            rest.len()
        ),
        [] => format!("[{forum}] This week"),
    };
    Ok(Email {
        to: to.to_string(),
        subject,
        body: text,
        html: Some(html),
        headers: MailHeaders {
            message_id: Some(format!("<digest-{}-{}@{host}>", user.0, due.micros())),
            in_reply_to: None,
            references: None,
            list_id: Some(format!("{forum} digest <digest.{host}>")),
            unsubscribe: Some(unsubscribe),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread(replies: i64, boosts: i64, solved: bool) -> DigestThread {
        DigestThread {
            id: agora_store::ThreadId(7),
            slug: "wifi".into(),
            title: "Wi-Fi drops".into(),
            excerpt: String::new(),
            author: "alice".into(),
            subtopic: "Networking".into(),
            replies,
            boosts,
            solved,
        }
    }

    #[test]
    fn facts_count_in_words() {
        assert_eq!(
            facts(&thread(1, 0, false)),
            "in Networking, by alice · 1 reply"
        );
        assert_eq!(
            facts(&thread(12, 3, true)),
            "in Networking, by alice · 12 replies · 3 boosts · solved"
        );
    }
}
