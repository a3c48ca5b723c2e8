//! The `export` consumer: writes requested exports (CSV / JSONL) to the blob store.
//!
//! Exports arrive with the data issue; until then this consumer is wired to its queue and decodes and logs
//! each `export.requested` event it receives.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope};

/// The export consumer.
pub struct ExportConsumer;

#[async_trait]
impl Consumer for ExportConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Export
    }

    async fn handle(&self, _app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "export", event_id = %event.id, event_type = %event.event_type(), tenant_id = %event.tenant_id, "event received");
        Ok(())
    }
}
