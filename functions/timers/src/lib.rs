//! `timers`: runs every minute. It sweeps the outbox (republishing events whose first publish never
//! happened) and the audit entries committed with a change but not yet in their chain, and drains the waiting queue of every tenant that has one, since agents come on shift and working
//! hours open with time, not with events; and it sets away the agents whose last WebSocket dropped more than the
//! presence grace period ago (`kefu_app::realtime::presence`); and it works through the removal of deleted tags
//! (`kefu_app::tags::cleanup`); and it removes uploads never sent within their day
//! (`kefu_app::conversations::attachments::sweep_expired`). Timers that must fire at their second (unanswered
//! conversations, their reassignment) are not swept here: they are due messages of the due queue
//! (`kefu_app::timers`, the `due` function).

use kefu_app::App;
use kefu_app::assignment::{self, DrainReport};
use kefu_app::plumbing::outbox::{self, SWEEP_AFTER, SweepReport};
use kefu_app::realtime::presence::{self, PresenceReport};
use kefu_ports::TableError;
use serde::Serialize;

/// What one tick did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// The outbox sweep.
    #[serde(flatten)]
    pub sweep: SweepReport,
    /// The audit entries appended to their chain by the sweep.
    pub audit: kefu_app::audit::pending::SweepReport,
    /// The queue drains.
    pub drained: DrainReport,
    /// Agents set away after their grace period.
    pub presence: PresenceReport,
    /// Deleted tags removed from where they were used (a page at a time, resumed each tick).
    pub tag_cleanup: kefu_app::tags::cleanup::CleanupReport,
    /// Uploads never sent within their day, removed with their bytes (issue 15).
    pub expired_uploads: u64,
}

/// One minute's work.
pub async fn tick(app: &App, at: jiff::Timestamp) -> Result<TickReport, TableError> {
    let sweep = outbox::sweep(app, SWEEP_AFTER).await?;
    let audit = kefu_app::audit::pending::sweep(app, kefu_app::audit::pending::SWEEP_AFTER).await?;
    let drained = assignment::drain_queued_tenants(app).await?;
    let presence = presence::sweep(app, at).await?;
    let tag_cleanup = kefu_app::tags::cleanup::sweep(app).await?;
    let expired_uploads = match kefu_app::conversations::attachments::sweep_expired(app, at).await {
        Ok(n) => n,
        Err(kefu_app::conversations::attachments::AttachmentError::Table(e)) => return Err(e),
        // The blob store failing leaves the uploads for the next tick; the other sweeps went through.
        Err(e) => {
            tracing::warn!(error = %e, "expired uploads not removed");
            0
        }
    };
    tracing::info!(%at, published = sweep.published, failed = sweep.failed, assigned = drained.assigned, set_away = presence.set_away, "timers tick");
    Ok(TickReport { sweep, audit, drained, presence, tag_cleanup, expired_uploads })
}
