//! The `notify` consumer: tells people what happened — email, SMS and real-time frames.
//!
//! It welcomes a new tenant's first admin by email (through the mailer port: SNS in AWS, the outbox file in
//! `kefu serve`), and turns conversation and message events into WebSocket frames for the people concerned
//! (`kefu_app::realtime::deliver`: the assignee, the visitor, and while nobody is assigned the staff who may see
//! the conversation; never an internal note to a visitor; nothing again for a visitor's message that intake
//! published marked `pushed`, having pushed its frames itself; such a copy that intake's transaction also counted
//! carries the topic attribute `notify=done` and never reaches this queue), and `ticket.assigned` into a `ticket.assigned` frame
//! for the ticket's assignee, else its group's members (`kefu_app::tickets::notify`), and `approval.requested` into
//! an `approval.requested` frame for the connected holders of `approvals.review` (`kefu_app::approvals::notify`), and
//! `notification.requested` (a rule's `notify`) into a `notification` frame, or an email, for each agent concerned
//! as its preferences allow (`kefu_app::notifications::deliver`), and `webhook.requested` into one signed try of the
//! delivery (`kefu_app::automation::webhooks::attempt`; a failed try fails the message, so the queue retries it). A push to a connection that is gone removes its record. It also keeps the statistics (`kefu_app::stats::keep`: every
//! conversation and message event adds to the day's counters, once per event id). Like every consumer it is
//! idempotent per event id.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError, Idempotency};
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

    /// A message's events (the hot path) only add to the statistics, which count each event id once by a
    /// conditional write in their own transaction, and push frames, which clients drop when they have the
    /// message already: no record ([`Idempotency::Repeatable`]: no read, no write). Everything else may mail,
    /// call a webhook or push a frame without an id to drop it by, so it is claimed first.
    fn idempotency(&self, event: &Envelope) -> Idempotency {
        match event.event {
            Event::MessageReceived(_) | Event::MessageSent(_) => Idempotency::Repeatable,
            _ => Idempotency::Claim,
        }
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        tracing::info!(consumer = "notify", event_id = %event.id, event_type = %event.event_type(), tenant_id = %event.tenant_id, "event received");
        kefu_app::stats::keep::record(app, event).await?;
        match &event.event {
            Event::SecurityAlert(alert) => kefu_app::audit::alerts::notify_admins(app, event, alert).await?,
            Event::TenantCreated(created) => welcome(app, event, created).await?,
            _ => {}
        }
        // Intake pushed this message's frames itself before publishing it (`pushed`): nothing to push again.
        let mut pushed = if event.pushed {
            kefu_app::realtime::PushReport::default()
        } else {
            kefu_app::realtime::deliver(app, event).await?
        };
        if let Event::TicketAssigned(assigned) = &event.event {
            pushed += kefu_app::tickets::notify::deliver_assigned(app, event, assigned).await?;
        }
        if let Event::ApprovalRequested(requested) = &event.event {
            pushed += kefu_app::approvals::notify::deliver_requested(app, event, requested).await?;
        }
        if let Event::TranscriptRequested(t) = &event.event {
            match kefu_app::chat::send_transcript(app, &event.tenant_id, t).await {
                Ok(()) => {}
                Err(kefu_app::chat::TranscriptError::Mail(MailError::InvalidRecipient(r))) => {
                    return Err(HandlerError::Permanent(format!("invalid recipient {r}")));
                }
                Err(kefu_app::chat::TranscriptError::Mail(MailError::Unavailable(e))) => {
                    return Err(HandlerError::Retry(e));
                }
                Err(kefu_app::chat::TranscriptError::Table(e)) => return Err(e.into()),
            }
        }
        // Queued visitors hear their place as the queue moves.
        match &event.event {
            Event::ConversationAssigned(assigned) => {
                pushed += kefu_app::chat::on_assigned(app, &event.tenant_id, assigned).await?;
            }
            Event::ConversationQueued(_) => pushed += kefu_app::chat::push_positions(app, &event.tenant_id).await?,
            _ => {}
        }
        if let Event::WebhookRequested(w) = &event.event {
            use kefu_app::automation::webhooks::{self, Tried};
            match webhooks::attempt(app, &event.tenant_id, &w.delivery_id).await {
                Ok(Tried::Done) => {}
                Ok(Tried::GaveUp) => {
                    tracing::warn!(consumer = "notify", event_id = %event.id, delivery_id = %w.delivery_id, "webhook failed for the last time");
                }
                Ok(Tried::Retry(why)) => return Err(HandlerError::Retry(format!("webhook {}: {why}", w.delivery_id))),
                Err(e) => return Err(HandlerError::Retry(e.to_string())),
            }
        }
        if let Event::NotificationRequested(n) = &event.event {
            let done = kefu_app::notifications::deliver(app, event, n)
                .await
                .map_err(|e| HandlerError::Retry(e.to_string()))?;
            tracing::info!(consumer = "notify", event_id = %event.id, kind = %n.kind, phoned = done.phoned, texted = done.texted, emailed = done.emailed, held = ?done.held, "notification delivered");
            pushed += done.pushed;
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
