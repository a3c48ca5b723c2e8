//! Telling reviewers: an `approval.requested` event becomes an `approval.requested` frame (its `data` is the
//! request as `GET /v1/approvals` shows it) on every live staff socket of the tenant whose account holds
//! `approvals.review` now, except the requester's own. The tenant's staff sockets are one `Query` (gsi2
//! `T#{t}#STAFF#WS`); each reader's session is re-checked when the frame is sent (a closed session's socket is
//! closed and gets nothing).

use kefu_domain::Permission;
use kefu_ports::table::TableError;

use crate::App;
use crate::plumbing::events::{ApprovalRequested, Envelope};
use crate::realtime::frames::{Frame, types};
use crate::realtime::{self, PushReport};

/// The `approval.requested` frame of a request.
pub fn frame(view: &super::ApprovalView) -> Frame {
    Frame {
        frame_type: types::APPROVAL_REQUESTED,
        conversation_id: String::new(),
        message: None,
        data: Some(serde_json::to_value(view).expect("an approval view serialises")),
    }
}

/// Delivers an `approval.requested` event (the `notify` consumer calls it). A request decided since, or gone,
/// is nobody's concern.
pub async fn deliver_requested(
    app: &App,
    event: &Envelope,
    requested: &ApprovalRequested,
) -> Result<PushReport, TableError> {
    let t = &event.tenant_id;
    let mut report = PushReport::default();
    let Some(record) = super::load(app, t, &requested.approval_id).await? else { return Ok(report) };
    let now = app.now();
    if record.effective_status(now) != kefu_domain::ApprovalStatus::Pending {
        return Ok(report);
    }
    let text = frame(&record.view(now)).to_text();
    let mut readers = Vec::new();
    for c in realtime::staff_connections(app, t).await? {
        let principal = match &c.subscriber {
            Some(s) => realtime::staff_principal(app, s).await?,
            None => None,
        };
        match principal {
            Some(p) if p.permissions.has(Permission::ApprovalsReview) && p.actor_id() != record.requested_by => {
                readers.push((c, true));
            }
            Some(_) => {}
            None => {
                realtime::close(app, &c.id).await?;
                report.closed += 1;
            }
        }
    }
    report += realtime::push_to(app, &readers, |_| text.clone()).await?;
    Ok(report)
}
