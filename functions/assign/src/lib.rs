//! The `assign` consumer: routes conversations to agents.
//!
//! Routing itself (capacity, skills, schedules, priority, the waiting queue) is delivered with the
//! conversations issue; until then this consumer is wired to its queue and decodes and logs each event it
//! receives, so the plumbing (subscription, idempotency, partial batch failures, DLQ) is exercised end to end.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::consumer::{Consumer, HandlerError};
use kefu_app::events::{ConsumerName, Envelope};

/// The routing consumer.
pub struct AssignConsumer;

#[async_trait]
impl Consumer for AssignConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Assign
    }

    async fn handle(&self, _app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "assign", event_id = %event.id, event_type = %event.event_type, tenant_id = %event.tenant_id, "event received");
        Ok(())
    }
}
