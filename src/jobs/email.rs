//! The `email` job: one message ([`Email`] as JSON), sent through the node's [`Mailer`] (SMTP,
//! or `.eml` files in `<data_dir>/outbox` without an SMTP server).
//!
//! [`Mailer`]: crate::services::mail::Mailer

use crate::app::AppState;
use crate::jobs::JobError;
use crate::services::mail::Email;

/// Sends the email a job carries. A payload that does not parse can never be sent (dead at
/// once); a message the transport refuses or cannot deliver now is tried again later.
pub async fn run(state: &AppState, payload: &str) -> Result<(), JobError> {
    let email: Email = serde_json::from_str(payload)
        .map_err(|err| JobError::Fail(format!("not an email job: {err}")))?;
    state
        .mailer
        .send(&state.config.email.from, &email)
        .await
        .map_err(|err| JobError::Retry(format!("email not sent: {err}")))
}
