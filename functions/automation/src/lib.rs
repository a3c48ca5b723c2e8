//! The `automation` consumer: on `conversation.created` and a visitor's `message.received`, evaluates the
//! tenant's rules and runs the actions that are cheap and local (`kefu_app::automation::run`): `add_tag`,
//! `set_priority`, `assign_group`, `auto_reply`; the others are recorded as unsupported. Each rule's actions run
//! at most once per event; the run is recorded on the conversation (`automation`).

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::automation::run;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope};

/// The rules consumer.
pub struct AutomationConsumer;

#[async_trait]
impl Consumer for AutomationConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Automation
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        match run::run(app, event).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!(consumer = "automation", event_id = %event.id, tenant_id = %event.tenant_id, error = %e, "automation run failed; retried");
                Err(HandlerError::Retry(e.to_string()))
            }
        }
    }
}
