//! The mailer port on SNS: email through a mail topic, SMS directly to a phone number.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use kefu_ports::{MailError, Mailer};

use crate::error::describe;
use crate::topic::string_attribute;

/// Hands email and SMS to SNS.
///
/// Email goes to the mail topic (whose subscriber does the delivery) with the attributes `channel=email` and
/// `to=<address>`, the subject as SNS `Subject` and, because SNS subjects must be short ASCII, the full subject
/// again in the `subject` attribute. SMS is published straight to the number.
#[derive(Debug, Clone)]
pub struct SnsMailer {
    client: crate::LazyClient<Client>,
    mail_topic_arn: String,
}

/// The fallback SNS subject when the real one has nothing SNS accepts.
const DEFAULT_SUBJECT: &str = "Kefu notification";

impl SnsMailer {
    /// The mailer publishing email to `mail_topic_arn`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, mail_topic_arn: impl Into<String>) -> Self {
        Self { client: client.into(), mail_topic_arn: mail_topic_arn.into() }
    }
}

/// A plausible email address: one `@`, a non-empty local part, a dotted domain, no spaces or controls.
pub(crate) fn valid_email(to: &str) -> bool {
    let Some((local, domain)) = to.split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
        && to.len() <= 254
        && !to.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// An E.164 number: `+` then 8 to 15 digits.
pub(crate) fn valid_phone(to: &str) -> bool {
    to.strip_prefix('+')
        .is_some_and(|digits| (8..=15).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit()))
}

/// What SNS accepts as a subject: printable ASCII, under 100 characters, starting with a letter, digit or punctuation.
fn sns_subject(subject: &str) -> String {
    let cleaned: String = subject
        .chars()
        .map(|c| if c.is_ascii_graphic() || c == ' ' { c } else { ' ' })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let cut: String = cleaned.chars().take(99).collect();
    if cut.is_empty() { DEFAULT_SUBJECT.to_owned() } else { cut }
}

fn unavailable<E>(err: aws_sdk_sns::error::SdkError<E>) -> MailError
where
    E: aws_sdk_sns::error::ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::warn!(error = %describe(&err), "sns publish failed");
    MailError::Unavailable(describe(&err))
}

#[async_trait]
impl Mailer for SnsMailer {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        if !valid_email(to) {
            return Err(MailError::InvalidRecipient(to.to_owned()));
        }
        let attr = |v: &str| string_attribute(v).map_err(MailError::Unavailable);
        self.client
            .get()
            .publish()
            .topic_arn(&self.mail_topic_arn)
            .subject(sns_subject(subject))
            .message(body)
            .message_attributes("channel", attr("email")?)
            .message_attributes("to", attr(to)?)
            .message_attributes("subject", attr(if subject.is_empty() { DEFAULT_SUBJECT } else { subject })?)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), MailError> {
        if !valid_phone(to) {
            return Err(MailError::InvalidRecipient(to.to_owned()));
        }
        match self.client.get().publish().phone_number(to).message(text).send().await {
            Ok(_) => Ok(()),
            // SNS refuses numbers it cannot reach (unknown country, opted out) as a bad parameter.
            Err(e) if crate::error::code(&e) == Some("InvalidParameter") => {
                Err(MailError::InvalidRecipient(describe(&e)))
            }
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_checked() {
        assert!(valid_email("li.lei@example.cn"));
        for bad in ["", "a", "a@b", "@b.c", "a@@b.c", "a@b@c.d", "a b@c.d", "a@.c", "a@c."] {
            assert!(!valid_email(bad), "{bad}");
        }
        assert!(valid_phone("+8613800138000"));
        for bad in ["8613800138000", "+1234567", "+1234567890123456", "+86 138", "+86-1380013800"] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }

    #[test]
    fn subjects_fit_sns() {
        assert_eq!(sns_subject("Hello\nworld"), "Hello world");
        assert_eq!(sns_subject("新消息"), DEFAULT_SUBJECT);
        assert_eq!(sns_subject(&"x".repeat(200)).len(), 99);
    }
}
