//! `timers`: runs every minute. It sweeps the outbox (republishing events whose first publish never
//! happened); time-based triggers (unanswered conversations, SLA breaches, agent grace periods) join it with
//! the issues that bring them.

use kefu_app::App;
use kefu_app::outbox::{self, SWEEP_AFTER, SweepReport};
use kefu_ports::TableError;

/// One minute's work.
pub async fn tick(app: &App, at: jiff::Timestamp) -> Result<SweepReport, TableError> {
    let report = outbox::sweep(app, SWEEP_AFTER).await?;
    tracing::info!(%at, published = report.published, failed = report.failed, "timers tick");
    Ok(report)
}
