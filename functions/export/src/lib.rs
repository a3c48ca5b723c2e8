//! The `export` consumer: writes requested exports (CSV / JSONL) to the blob store.
//!
//! On `export.requested` it runs `kefu_app::exports::write::run`: the export's rows are read page by page through
//! indexes and uploaded in parts, its status and row count kept on its record while it runs. A store failure is
//! retried (the run starts over, aborting the upload it left); a done or failed export is never written again,
//! so a duplicate delivery changes nothing.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope, Event};

/// The export consumer.
pub struct ExportConsumer;

#[async_trait]
impl Consumer for ExportConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Export
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "export", event_id = %event.id, event_type = %event.event_type(), tenant_id = %event.tenant_id, "event received");
        if let Event::ExportRequested(requested) = &event.event {
            kefu_app::exports::write::run(app, &event.tenant_id, &requested.export_id).await?;
        }
        Ok(())
    }
}
