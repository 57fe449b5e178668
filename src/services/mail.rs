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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
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
        let message = Message::builder()
            .from(from.parse()?)
            .to(email.to.parse()?)
            .subject(email.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.clone())?;
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
    };
    state
        .store
        .enqueue_job(crate::jobs::JobKind::Email.as_str(), &email.to_job())
        .await?;
    state.jobs_queued.notify_one();
    Ok(())
}
