//! Email through SES (v2 `SendEmail`): what the `mail` function does with the mail topic's messages.
//!
//! Every other function hands mail to the mail topic ([`crate::SnsMailer`]), so a send is accepted durably and
//! at once; the topic's queue feeds the `mail` function, which delivers each message with this adapter. SMS does
//! not pass through the topic: it is published straight to the number, so this adapter sends it the same way.

use async_trait::async_trait;
use aws_sdk_sesv2::Client;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
use kefu_ports::{MailError, Mailer};

use crate::error::{code, describe};
use crate::mail::valid_email;

/// Sends email with SES from one verified address (`KEFU_MAIL_FROM`), SMS with SNS.
#[derive(Debug, Clone)]
pub struct SesMailer {
    client: crate::LazyClient<Client>,
    from: String,
    sms: crate::SnsMailer,
}

impl SesMailer {
    /// The mailer sending from `from` (an address or domain verified in SES), SMS through `sms`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, from: impl Into<String>, sms: crate::SnsMailer) -> Self {
        Self { client: client.into(), from: from.into(), sms }
    }

    /// The mailer over the adapters' shared SDK configuration.
    pub fn on(adapters: &crate::AwsAdapters, from: impl Into<String>) -> Self {
        Self::new(crate::LazyClient::new(&adapters.sdk, Client::new), from, (*adapters.mailer).clone())
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| MailError::Unavailable(e.to_string()))
}

#[async_trait]
impl Mailer for SesMailer {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        if !valid_email(to) {
            return Err(MailError::InvalidRecipient(to.to_owned()));
        }
        let message =
            Message::builder().subject(content(subject)?).body(Body::builder().text(content(body)?).build()).build();
        let sent = self
            .client
            .get()
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(to).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            // SES refuses an address it will never deliver to (malformed, or on the account's suppression
            // list) as a bad request: retrying cannot help.
            Err(e) if code(&e) == Some("BadRequestException") => Err(MailError::InvalidRecipient(describe(&e))),
            // Everything else (throttling, an unverified sender, the sandbox's limits, a network failure) may
            // pass later: the message goes back to its queue, and to the dead-letter queue if it never does.
            Err(e) => {
                tracing::warn!(error = %describe(&e), "ses send failed");
                Err(MailError::Unavailable(describe(&e)))
            }
        }
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), MailError> {
        self.sms.send_sms(to, text).await
    }
}
