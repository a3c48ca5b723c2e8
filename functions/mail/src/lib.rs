//! The `mail` consumer: every email Kefu sends in AWS (welcome mails, sign-in codes, password resets, security
//! alerts, notifications, transcripts) is first handed to the mail topic, which accepts it durably at once; the
//! topic's queue feeds this consumer, which delivers each message with SES.
//!
//! A queued mail is the topic's raw message: the body is the text, and the message attributes say
//! `channel=email`, `to` and `subject`. Delivery is idempotent per SQS message id (a mail claimed and sent is
//! never sent again when the message comes back), a failure SES may get over (throttling, an unverified
//! sender, the sandbox's limits) leaves the message on its queue for a later try and finally in the
//! dead-letter queue, and a recipient SES refuses for good is logged and dropped. A message that is not a mail
//! at all (a poison message) is reported as failed, so it ends in the dead-letter queue rather than vanishing.

use std::time::Duration;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use kefu_app::App;
use kefu_app::plumbing::idempotency::{self, Claim};
use kefu_ports::{MailError, Mailer};

/// The consumer name in idempotency keys.
const CONSUMER: &str = "mail";
/// How long a claimed mail stays claimed if this process dies while sending it.
const CLAIM_FOR: Duration = Duration::from_secs(60);

/// One email taken from the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// The SQS message id: the same on every delivery of this message.
    pub id: String,
    /// The recipient.
    pub to: String,
    /// The subject, in full (SNS's own subject is short ASCII and is not delivered raw).
    pub subject: String,
    /// The text.
    pub body: String,
}

impl QueuedMail {
    /// Reads a queue message, or says why it is not a mail.
    pub fn from_message(m: &SqsMessage) -> Result<Self, String> {
        let attr = |name: &str| m.message_attributes.get(name).and_then(|a| a.string_value.clone());
        let id = m.message_id.clone().filter(|id| !id.is_empty()).ok_or("no message id")?;
        match attr("channel").as_deref() {
            Some("email") => {}
            other => return Err(format!("channel {other:?} is not email")),
        }
        let to = attr("to").filter(|to| !to.is_empty()).ok_or("no `to` attribute")?;
        Ok(Self { id, to, subject: attr("subject").unwrap_or_default(), body: m.body.clone().unwrap_or_default() })
    }
}

/// What became of one mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent now.
    Sent,
    /// Sent by an earlier delivery of the same message.
    AlreadySent,
    /// The recipient is refused for good: logged and dropped.
    Refused(String),
    /// Not sent now; the queue delivers it again.
    Retry(String),
}

/// Sends one mail once.
pub async fn deliver(app: &App, mailer: &dyn Mailer, mail: &QueuedMail) -> Outcome {
    match idempotency::claim(app, CONSUMER, &mail.id, CLAIM_FOR).await {
        Ok(Claim::Acquired) => {}
        Ok(Claim::AlreadyDone) => return Outcome::AlreadySent,
        Ok(Claim::InProgress) => return Outcome::Retry("another delivery is sending it".into()),
        Err(e) => return Outcome::Retry(e.to_string()),
    }
    let outcome = match mailer.send_email(&mail.to, &mail.subject, &mail.body).await {
        Ok(()) => Outcome::Sent,
        Err(MailError::InvalidRecipient(why)) => Outcome::Refused(why),
        Err(MailError::Unavailable(why)) => {
            if let Err(e) = idempotency::release(app, CONSUMER, &mail.id).await {
                tracing::warn!(error = %e, message_id = %mail.id, "mail claim not released; it lapses by itself");
            }
            return Outcome::Retry(why);
        }
    };
    if let Err(e) = idempotency::complete(app, CONSUMER, &mail.id).await {
        // The mail went out; only the mark is missing. A redelivery after the claim lapses would send it
        // again, which is better than losing it.
        tracing::warn!(error = %e, message_id = %mail.id, "mail sent but not marked");
    }
    outcome
}

/// Handles one batch: the mails that must be tried again are reported as partial batch failures.
pub async fn handle(app: &App, mailer: &dyn Mailer, event: SqsEvent) -> SqsBatchResponse {
    let mut failed = Vec::new();
    for m in &event.records {
        let id = m.message_id.clone().unwrap_or_default();
        let outcome = match QueuedMail::from_message(m) {
            Ok(mail) => deliver(app, mailer, &mail).await,
            Err(why) => {
                tracing::error!(message_id = %id, reason = %why, "not a mail; left for the dead-letter queue");
                Outcome::Retry(why)
            }
        };
        match &outcome {
            Outcome::Sent => tracing::info!(message_id = %id, "mail sent"),
            Outcome::AlreadySent => tracing::info!(message_id = %id, "mail sent before; acknowledged"),
            Outcome::Refused(why) => tracing::warn!(message_id = %id, reason = %why, "recipient refused; dropped"),
            Outcome::Retry(why) => tracing::warn!(message_id = %id, reason = %why, "mail not sent; retried later"),
        }
        if matches!(outcome, Outcome::Retry(_)) {
            failed.push(id);
        }
    }
    kefu_lambda::batch_response(failed)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex};

    use async_trait::async_trait;
    use aws_lambda_events::event::sqs::SqsMessageAttribute;
    use kefu_app::testing::EmbeddedApp;

    use super::*;

    /// Records what it sends; fails while `down` is set.
    #[derive(Default)]
    struct Recorder {
        sent: Mutex<Vec<(String, String, String)>>,
        down: Mutex<bool>,
    }

    #[async_trait]
    impl Mailer for Recorder {
        async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
            if *self.down.lock().unwrap() {
                return Err(MailError::Unavailable("throttled".into()));
            }
            if !to.contains('@') {
                return Err(MailError::InvalidRecipient(to.into()));
            }
            self.sent.lock().unwrap().push((to.into(), subject.into(), body.into()));
            Ok(())
        }
        async fn send_sms(&self, _to: &str, _text: &str) -> Result<(), MailError> {
            unreachable!("the mail consumer sends no SMS")
        }
    }

    fn message(id: &str, attrs: &[(&str, &str)], body: &str) -> SqsMessage {
        let mut m = SqsMessage::default();
        m.message_id = Some(id.into());
        m.body = Some(body.into());
        m.message_attributes = attrs
            .iter()
            .map(|(k, v)| {
                let mut a = SqsMessageAttribute::default();
                a.string_value = Some((*v).into());
                a.data_type = Some("String".into());
                ((*k).to_owned(), a)
            })
            .collect::<HashMap<_, _>>();
        m
    }

    fn mail(id: &str, to: &str) -> SqsMessage {
        message(id, &[("channel", "email"), ("to", to), ("subject", "Your Kefu workspace is ready")], "Welcome")
    }

    fn batch(records: Vec<SqsMessage>) -> SqsEvent {
        let mut e = SqsEvent::default();
        e.records = records;
        e
    }

    fn failed(r: &SqsBatchResponse) -> Vec<&str> {
        r.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect()
    }

    #[tokio::test]
    async fn a_mail_is_sent_once_even_when_delivered_twice() {
        let e = EmbeddedApp::new(Arc::new(kefu_ports::SystemClock));
        let rec = Recorder::default();
        let r =
            handle(&e.app, &rec, batch(vec![mail("m1", "li.lei@example.cn"), mail("m1", "li.lei@example.cn")])).await;
        assert!(failed(&r).is_empty());
        let r = handle(&e.app, &rec, batch(vec![mail("m1", "li.lei@example.cn")])).await;
        assert!(failed(&r).is_empty());
        let sent = rec.sent.lock().unwrap().clone();
        assert_eq!(sent, vec![("li.lei@example.cn".into(), "Your Kefu workspace is ready".into(), "Welcome".into())]);
    }

    #[tokio::test]
    async fn a_failed_send_is_retried_and_then_sent() {
        let e = EmbeddedApp::new(Arc::new(kefu_ports::SystemClock));
        let rec = Recorder::default();
        *rec.down.lock().unwrap() = true;
        let r = handle(&e.app, &rec, batch(vec![mail("m2", "han.meimei@example.cn")])).await;
        assert_eq!(failed(&r), ["m2"]);
        *rec.down.lock().unwrap() = false;
        let r = handle(&e.app, &rec, batch(vec![mail("m2", "han.meimei@example.cn")])).await;
        assert!(failed(&r).is_empty());
        assert_eq!(rec.sent.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn poison_messages_fail_and_refused_recipients_are_dropped() {
        let e = EmbeddedApp::new(Arc::new(kefu_ports::SystemClock));
        let rec = Recorder::default();
        let r = handle(
            &e.app,
            &rec,
            batch(vec![
                message("p1", &[("to", "a@b.cn")], "no channel"),
                message("p2", &[("channel", "sms"), ("to", "+8613800138000")], "not a mail"),
                message("p3", &[("channel", "email")], "no recipient"),
                mail("ok", "wang.fang@example.cn"),
                mail("bad", "nobody"),
            ]),
        )
        .await;
        assert_eq!(failed(&r), ["p1", "p2", "p3"]);
        let sent: Vec<String> = rec.sent.lock().unwrap().iter().map(|(to, ..)| to.clone()).collect();
        assert_eq!(sent, ["wang.fang@example.cn"]);
        // The refused one is done with: a redelivery does not try again.
        let r = handle(&e.app, &rec, batch(vec![mail("bad", "nobody")])).await;
        assert!(failed(&r).is_empty());
    }
}
