//! The `automation` consumer: evaluates the tenant's rules and auto-replies on each event.
//!
//! Rules arrive with the automation issue; until then this consumer is wired to its queue and decodes and
//! logs each event it receives.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope};

/// The rules consumer.
pub struct AutomationConsumer;

#[async_trait]
impl Consumer for AutomationConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Automation
    }

    async fn handle(&self, _app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "automation", event_id = %event.id, event_type = %event.event_type(), tenant_id = %event.tenant_id, "event received");
        Ok(())
    }
}
