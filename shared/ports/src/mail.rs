//! Outbound email and SMS (SNS in AWS, a local outbox file in `kefu serve`).

use async_trait::async_trait;

/// Why a message could not be handed over.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    /// The address or number is not acceptable.
    #[error("invalid recipient: {0}")]
    InvalidRecipient(String),
    /// The backend failed; sending may be retried.
    #[error("mailer unavailable: {0}")]
    Unavailable(String),
}

/// Hands email and SMS to a delivery service.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Sends an email.
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError>;
    /// Sends an SMS to an E.164 number.
    async fn send_sms(&self, to: &str, text: &str) -> Result<(), MailError>;
}
