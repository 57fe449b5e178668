//! The `notification_email` job: a member's notifications about one thread, emailed as one
//! message a few minutes after the first (`email.notify_delay_secs`), and only if they are
//! still unread, their post is still there, the member is away (not seen on the forum in the
//! last `email.away_secs`), wants email, is not suspended, and is under the day's cap.
//!
//! Each message has a text and an HTML part; `Message-ID`, `In-Reply-To` and `References` so
//! mail clients keep one conversation per thread; `List-Id`; and RFC 8058's one-click
//! `List-Unsubscribe` with `List-Unsubscribe-Post`, a link of its own that only turns
//! notification email off and needs no session.

use agora_store::{NotificationRow, ThreadId, Timestamp, UserId};
use serde::Deserialize;

use crate::app::AppState;
use crate::jobs::JobError;
use crate::services::mail::{Email, MailHeaders};

#[derive(Debug, Deserialize)]
struct Payload {
    user: i64,
    thread: i64,
}

fn retry(err: impl std::fmt::Display) -> JobError {
    JobError::Retry(err.to_string())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

pub async fn run(state: &AppState, payload: &str) -> Result<(), JobError> {
    let job: Payload = serde_json::from_str(payload)
        .map_err(|err| JobError::Fail(format!("not a notification email job: {err}")))?;
    let (user, thread) = (UserId(job.user), ThreadId(job.thread));
    let store = &state.store;
    let rows = store.unemailed(user, thread).await.map_err(retry)?;
    if rows.is_empty() {
        // Read meanwhile, or the post went: nothing to send.
        return Ok(());
    }
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let settle = || async { store.mark_emailed(ids.clone()).await.map_err(retry) };
    let Some(account) = store.account(user).await.map_err(retry)? else {
        return Ok(());
    };
    let now = Timestamp::now();
    let prefs = store.notify_prefs(user).await.map_err(retry)?;
    let away = match store.last_seen(user).await.map_err(retry)? {
        Some(seen) => {
            now.micros() - seen.micros() >= (state.config.email.away_secs as i64) * 1_000_000
        }
        None => true,
    };
    // Only to an address its owner confirmed: an account signed up with someone else's
    // address cannot have the forum mail them.
    let Some(to) = account.email.clone().filter(|_| account.email_verified) else {
        return settle().await;
    };
    if !prefs.email || account.suspended_at(now) || !away {
        // Not by email: the bell has them.
        return settle().await;
    }
    let day_ago = Timestamp::from_micros(now.micros() - 86_400_000_000);
    let sent_today = store.emails_since(user, day_ago).await.map_err(retry)?;
    if sent_today >= i64::from(state.config.email.daily_cap) {
        return settle().await;
    }
    let token = crate::auth::new_secret().map_err(retry)?;
    store
        .create_unsubscribe_token(
            user,
            &crate::auth::secret_hash(&token),
            agora_store::MailList::Notifications,
        )
        .await
        .map_err(retry)?;
    let email = compose(state, &to, &account.brief.display_name, &rows, &token);
    state
        .mailer
        .send(&state.config.email.from, &email)
        .await
        .map_err(|err| retry(format!("notification email not sent: {err}")))?;
    settle().await
}

/// The message for `rows` (one thread's notifications, oldest first).
fn compose(state: &AppState, to: &str, name: &str, rows: &[NotificationRow], token: &str) -> Email {
    let site = state.site();
    let forum = site.settings.name.clone();
    let base = site.settings.base_url.trim_end_matches('/').to_string();
    let host = crate::services::mail::host_of(&base);
    let now = Timestamp::now();
    let first = &rows[0];
    let title = first.thread_title.clone();
    let items: Vec<(String, String, Option<String>)> = rows
        .iter()
        .map(|row| {
            let view = crate::web::notifications::view_of(row, now);
            (view.text, format!("{base}{}", view.url), row.reason.clone())
        })
        .collect();
    let unsubscribe = format!("{base}/unsubscribe/{token}");
    let settings = format!("{base}/settings#s-notifications");
    let mut text = format!("Hello {name},\n\nOn {forum}, in \"{title}\":\n\n");
    for (what, url, reason) in &items {
        text.push_str(&format!("- {what}: {url}\n"));
        if let Some(reason) = reason {
            text.push_str(&format!("  {reason}\n"));
        }
    }
    text.push_str(&format!(
        "\nYou get this because you were away. Choose what is emailed: {settings}\n\
         Stop these emails: {unsubscribe}\n"
    ));
    let mut html = format!(
        "<!doctype html><html><body><p>Hello {},</p><p>On {}, in <strong>{}</strong>:</p><ul>",
        escape(name),
        escape(&forum),
        escape(&title)
    );
    for (what, url, reason) in &items {
        html.push_str(&format!(
            "<li><a href=\"{}\">{}</a>{}</li>",
            escape(url),
            escape(what),
            reason
                .as_deref()
                .map(|r| format!("<br>{}", escape(r)))
                .unwrap_or_default()
        ));
    }
    html.push_str(&format!(
        "</ul><p style=\"color:#59636e\">You get this because you were away. \
         <a href=\"{}\">Choose what is emailed</a> · <a href=\"{}\">Stop these emails</a></p>\
         </body></html>",
        escape(&settings),
        escape(&unsubscribe)
    ));
    let conversation = format!("<thread-{}@{host}>", first.thread.0);
    Email {
        to: to.to_string(),
        subject: format!("[{forum}] {title}"),
        body: text,
        html: Some(html),
        headers: MailHeaders {
            message_id: Some(format!("<notification-{}-{}@{host}>", first.id, rows.len())),
            in_reply_to: Some(conversation.clone()),
            references: Some(conversation),
            list_id: Some(format!("{forum} notifications <notifications.{host}>")),
            unsubscribe: Some(unsubscribe),
        },
    }
}
