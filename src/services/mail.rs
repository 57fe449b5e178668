//! Email: queued as jobs in the same transaction as what caused them (so several nodes send
//! each message once, and a crash loses none), then sent by the job runner's email handler
//! (`jobs::email`) by SMTP, or written as .eml files to `<data_dir>/outbox` when no SMTP
//! server is configured.

use std::path::PathBuf;

use lettre::message::header::ContentType;
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::config::Config;

/// One email, as the job payload carries it.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
    /// An HTML part beside the text (`multipart/alternative`), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// Threading and list headers (notification email).
    #[serde(default, skip_serializing_if = "MailHeaders::is_empty")]
    pub headers: MailHeaders,
}

/// The headers that make a notification email a good citizen of a mailbox: `Message-ID`,
/// `In-Reply-To` and `References` (one conversation per thread), `List-Id`, and RFC 8058's
/// one-click `List-Unsubscribe` with `List-Unsubscribe-Post`.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MailHeaders {
    pub message_id: Option<String>,
    pub in_reply_to: Option<String>,
    pub references: Option<String>,
    pub list_id: Option<String>,
    /// The one-click unsubscribe URL (HTTPS or HTTP), without angle brackets.
    pub unsubscribe: Option<String>,
}

impl MailHeaders {
    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl Email {
    pub fn to_job(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

pub enum Mailer {
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
    Outbox(PathBuf, AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let url = config.email.smtp_url.trim();
        if url.is_empty() {
            let dir = config.data_dir.join("outbox");
            Ok(Self::Outbox(dir.clone(), AsyncFileTransport::new(dir)))
        } else {
            let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                .map_err(|e| anyhow::anyhow!("email.smtp_url: {e}"))?
                .build();
            Ok(Self::Smtp(Box::new(transport)))
        }
    }

    /// Sends one message now (the job runner calls this; everything else queues a job).
    pub async fn send(&self, from: &str, email: &Email) -> anyhow::Result<()> {
        use lettre::message::header::{HeaderName, HeaderValue};
        let mut builder = Message::builder()
            .from(from.parse()?)
            .to(email.to.parse()?)
            .subject(email.subject.clone());
        let h = &email.headers;
        if let Some(id) = &h.message_id {
            builder = builder.message_id(Some(id.clone()));
        }
        if let Some(id) = &h.in_reply_to {
            builder = builder.in_reply_to(id.clone());
        }
        if let Some(ids) = &h.references {
            builder = builder.references(ids.clone());
        }
        if let Some(list) = &h.list_id {
            builder = builder.raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Id"),
                list.clone(),
            ));
        }
        if let Some(url) = &h.unsubscribe {
            builder = builder
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe"),
                    format!("<{url}>"),
                ))
                .raw_header(HeaderValue::new(
                    HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                    "List-Unsubscribe=One-Click".into(),
                ));
        }
        let message = match &email.html {
            Some(html) => builder.multipart(lettre::message::MultiPart::alternative_plain_html(
                email.body.clone(),
                html.clone(),
            ))?,
            None => builder
                .header(ContentType::TEXT_PLAIN)
                .body(email.body.clone())?,
        };
        match self {
            Self::Smtp(transport) => {
                transport.send(message).await?;
            }
            Self::Outbox(dir, transport) => {
                tokio::fs::create_dir_all(dir).await?;
                let id = transport.send(message).await?;
                tracing::info!(
                    file = %dir.join(format!("{id}.eml")).display(),
                    to = %email.to,
                    "no SMTP server configured: email written to the outbox"
                );
            }
        }
        Ok(())
    }
}

/// Queues a test email to an administrator's own address (the dashboard's button): it goes
/// through the same queue and transport as every other email.
pub async fn send_test(
    state: &crate::app::AppState,
    account: &agora_store::Account,
) -> Result<(), crate::error::AppError> {
    let Some(to) = account.email.clone() else {
        return Err(crate::error::AppError::bad_param(
            "email",
            "Your account has no email address to send to.",
        ));
    };
    let site = state.site();
    let email = Email {
        to,
        subject: format!("Test email from {}", site.settings.name),
        body: format!(
            "Hello {},\n\nThis is the test email you asked for from {}'s admin dashboard. If you \
             are reading it, email from the forum works.\n\n{}\n",
            account.brief.display_name, site.settings.name, site.settings.base_url
        ),
        ..Email::default()
    };
    state
        .store
        .enqueue_job(crate::jobs::JobKind::Email.as_str(), &email.to_job())
        .await?;
    state.jobs_queued.notify_one();
    Ok(())
}

/// The host part of message ids and the list id: the forum's public address without scheme.
pub fn host_of(base_url: &str) -> String {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest)
        .trim_end_matches('/');
    let host = rest.split(['/', ':']).next().unwrap_or("localhost");
    if host.is_empty() {
        "localhost".into()
    } else {
        host.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_of_a_base_url() {
        assert_eq!(host_of("https://forum.example.com/"), "forum.example.com");
        assert_eq!(host_of("http://127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_of(""), "localhost");
    }
}
