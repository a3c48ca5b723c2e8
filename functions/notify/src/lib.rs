//! The `notify` consumer: tells people what happened — email, SMS and real-time frames.
//!
//! It welcomes a new tenant's first admin by email (through the mailer port: SNS in AWS, the outbox file in
//! `kefu serve`), and turns conversation and message events into WebSocket frames for the people concerned
//! (`kefu_app::realtime::deliver`: the assignee, the visitor, and while nobody is assigned the staff who may see
//! the conversation; never an internal note to a visitor), and `ticket.assigned` into a `ticket.assigned` frame
//! for the ticket's assignee, else its group's members (`kefu_app::tickets::notify`), and `approval.requested` into
//! an `approval.requested` frame for the connected holders of `approvals.review` (`kefu_app::approvals::notify`). A push to a
//! connection that is gone removes its record. It also keeps the statistics (`kefu_app::stats::keep`: every
//! conversation and message event adds to the day's counters, once per event id). Like every consumer it is
//! idempotent per event id.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope, Event, TenantCreated};
use kefu_ports::MailError;

/// The notifications consumer.
pub struct NotifyConsumer;

async fn welcome(app: &App, event: &Envelope, created: &TenantCreated) -> Result<(), HandlerError> {
    let (email, name) = (&created.admin_email, &created.name);
    let body = format!(
        "Welcome to Kefu.\n\nYour workspace \"{name}\" is ready. Sign in with tenant id {} and this email address.\n",
        event.tenant_id
    );
    match app.mailer.send_email(email, "Your Kefu workspace is ready", &body).await {
        Ok(()) => Ok(()),
        Err(MailError::InvalidRecipient(r)) => Err(HandlerError::Permanent(format!("invalid recipient {r}"))),
        Err(MailError::Unavailable(e)) => Err(HandlerError::Retry(e)),
    }
}

#[async_trait]
impl Consumer for NotifyConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Notify
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "notify", event_id = %event.id, event_type = %event.event_type(), tenant_id = %event.tenant_id, "event received");
        kefu_app::stats::keep::record(app, event).await?;
        match &event.event {
            Event::SecurityAlert(alert) => kefu_app::audit::alerts::notify_admins(app, event, alert).await?,
            Event::TenantCreated(created) => welcome(app, event, created).await?,
            _ => {}
        }
        let mut pushed = kefu_app::realtime::deliver(app, event).await?;
        if let Event::TicketAssigned(assigned) = &event.event {
            pushed += kefu_app::tickets::notify::deliver_assigned(app, event, assigned).await?;
        }
        if let Event::ApprovalRequested(requested) = &event.event {
            pushed += kefu_app::approvals::notify::deliver_requested(app, event, requested).await?;
        }
        if pushed.sent + pushed.gone + pushed.failed + pushed.closed > 0 {
            tracing::debug!(consumer = "notify", event_id = %event.id, sent = pushed.sent, gone = pushed.gone, failed = pushed.failed, closed = pushed.closed, "frames pushed");
        }
        if pushed.failed > 0 {
            return Err(HandlerError::Retry(format!("{} pushes failed", pushed.failed)));
        }
        Ok(())
    }
}
