//! The `automation` consumer: on `conversation.created` and a visitor's `message.received`, evaluates the
//! tenant's rules and runs their actions (`kefu_app::automation::run`; on `conversation.created` the assign
//! consumer has already applied the ones that shape routing). Each rule's actions run at most once per event;
//! the run is recorded on the conversation (`automation`). On `conversation.created` it first sends the
//! tenant's welcome and off-hours replies (`kefu_app::automation::auto_reply::greet`). A visitor's message that
//! starts a wait arms its timers (`kefu_app::timers::on_visitor_message`); on `conversation.unanswered` the
//! rules of that event run.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::automation::{auto_reply, run};
use kefu_app::plumbing::consumer::{Consumer, HandlerError, Idempotency};
use kefu_app::plumbing::events::{ConsumerName, Envelope, Event};
use kefu_app::timers;

/// The rules consumer.
pub struct AutomationConsumer;

#[async_trait]
impl Consumer for AutomationConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Automation
    }

    /// A visitor's message only runs the rules, whose actions are claimed per (event, rule) and whose run is
    /// recorded under the event's id, and arms its wait's timers, which carry their own ids (a timer armed
    /// twice fires once): a second run does nothing twice, so the event keeps no record
    /// ([`Idempotency::Repeatable`]: no read, no write). `conversation.created` sends the welcome replies first,
    /// so it is claimed.
    fn idempotency(&self, event: &Envelope) -> Idempotency {
        match event.event {
            Event::MessageReceived(_) => Idempotency::Repeatable,
            _ => Idempotency::Claim,
        }
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        if let Event::ConversationCreated(e) = &event.event {
            // The welcome and off-hours replies come first, before any rule's reply.
            if let Err(err) = auto_reply::greet(app, &event.tenant_id, &e.conversation_id, event.id.as_str()).await {
                tracing::warn!(consumer = "automation", event_id = %event.id, tenant_id = %event.tenant_id, error = %err, "auto-replies failed; retried");
                return Err(HandlerError::Retry(err.to_string()));
            }
        }
        if let Event::MessageReceived(e) = &event.event
            && run::arms_timers(e)
        {
            // A message that starts a wait arms its timers (arming twice is harmless: a timer fires once). One
            // that the send knew did not start one (`starts_wait: false`) costs nothing here.
            if let Err(err) = timers::on_visitor_message(app, &event.tenant_id, &e.conversation_id, &e.message.id).await
            {
                tracing::warn!(consumer = "automation", event_id = %event.id, error = %err, "arming timers failed; retried");
                return Err(HandlerError::Retry(err.to_string()));
            }
        }
        match run::run(app, event).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(consumer = "automation", event_id = %event.id, tenant_id = %event.tenant_id, error = %e, "automation run failed; retried");
                Err(HandlerError::Retry(e.to_string()))
            }
        }
    }
}
