//! The `assign` consumer: routes conversations to agents and drains the waiting queue when capacity frees.
//!
//! - `conversation.created`, `conversation.reopened`, `conversation.transferred`: route the conversation (a
//!   conversation routed meanwhile is left alone, so duplicates are harmless); a new conversation first gets the
//!   group, priority and skills the tenant's `conversation.created` rules give it
//!   (`kefu_app::automation::run::shape_first_routing`), so they shape its first assignment;
//! - `conversation.closed`, `conversation.assigned` with a previous agent (a transfer), `agent.status_changed`
//!   to online, `agent.updated` (capacity, groups, skills, shift), `agent.disabled`: drain the queue;
//! - `agent.status_changed` to offline, with the tenant's `requeue_on_offline`: the agent's open conversations go
//!   back to routing (`kefu_app::assignment::agents::requeue_on_offline`);
//! - `conversation.queued` (and a transferred conversation queued in its new group): make sure the tenant is on
//!   the timers' list of tenants with a queue, and arm the moment an overflow rule offers it to the next group
//!   (`kefu_app::timers::on_queued`);
//! - `conversation.assigned`: the agent joins the ones the conversation had, and a waiting visitor's
//!   reassignment timer is armed for it (`kefu_app::timers::on_assigned`).
//!
//! It runs under `consumer::process_batch` (idempotency records, partial batch failures); a message that can
//! never be handled (its payload does not decode, e.g. no valid conversation id) fails and ends in the
//! dead-letter queue.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::assignment::{self, AssignmentError};
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope, Event};
use kefu_domain::routing::AgentStatus;
use kefu_domain::{ConversationId, TenantId};

/// The routing consumer.
pub struct AssignConsumer;

fn retryable(e: AssignmentError) -> HandlerError {
    match e {
        AssignmentError::Table(t) => HandlerError::Retry(t.to_string()),
        AssignmentError::Busy => HandlerError::Retry("lost too many races".into()),
        other => HandlerError::Permanent(other.to_string()),
    }
}

#[async_trait]
impl Consumer for AssignConsumer {
    fn name(&self) -> ConsumerName {
        ConsumerName::Assign
    }

    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError> {
        let t = &event.tenant_id;
        let drain = || async {
            let r = assignment::drain(app, t).await.map_err(retryable)?;
            tracing::info!(tenant_id = %t, event_type = %event.event_type(), assigned = r.assigned, still_queued = r.still_queued, "queue drained");
            Ok(())
        };
        match &event.event {
            Event::ConversationCreated(e) => {
                kefu_app::automation::run::shape_first_routing(app, t, &e.conversation_id)
                    .await
                    .map_err(|e| HandlerError::Retry(e.to_string()))?;
                route(app, t, &e.conversation_id).await
            }
            Event::ConversationReopened(e) => route(app, t, &e.conversation_id).await,
            Event::ConversationTransferred(e) => {
                route(app, t, &e.conversation_id).await?;
                // Queued again in its new group (no `conversation.queued` when it was queued already): the new
                // group's overflow moment is armed.
                kefu_app::timers::on_queued(app, t, &e.conversation_id)
                    .await
                    .map(drop)
                    .map_err(|e| HandlerError::Retry(e.to_string()))
            }
            Event::ConversationClosed(_) | Event::AgentUpdated(_) | Event::AgentDisabled(_) => drain().await,
            Event::ConversationAssigned(e) => {
                // The agent joins the ones the conversation had; a waiting visitor's reassignment is armed.
                kefu_app::timers::on_assigned(app, t, &e.conversation_id, &e.agent_id)
                    .await
                    .map_err(|e| HandlerError::Retry(e.to_string()))?;
                // A transfer between agents freed the previous agent's slot.
                if e.previous_agent_id.is_some() { drain().await } else { Ok(()) }
            }
            Event::AgentStatusChanged(e) if e.status == AgentStatus::Online => {
                // With `auto_away_minutes`, the agent's auto-away timer starts.
                kefu_app::timers::on_online(app, t, &e.agent_id)
                    .await
                    .map_err(|e| HandlerError::Retry(e.to_string()))?;
                drain().await
            }
            Event::AgentStatusChanged(e) if e.status == AgentStatus::Offline => {
                let n = assignment::agents::requeue_on_offline(app, t, &e.agent_id).await.map_err(retryable)?;
                if n > 0 {
                    tracing::info!(tenant_id = %t, agent_id = %e.agent_id, requeued = n, "offline agent's conversations back to routing");
                }
                Ok(())
            }
            Event::ConversationQueued(e) => {
                assignment::mark_queued(app, t).await.map_err(|e| HandlerError::Retry(e.to_string()))?;
                // With an overflow rule for its group, the moment it is offered to the next group is armed.
                kefu_app::timers::on_queued(app, t, &e.conversation_id)
                    .await
                    .map(drop)
                    .map_err(|e| HandlerError::Retry(e.to_string()))
            }
            _ => Ok(()),
        }
    }
}

/// Routes a conversation; one routed meanwhile is left alone, one gone is logged.
async fn route(app: &App, t: &TenantId, c: &ConversationId) -> Result<(), HandlerError> {
    match assignment::route(app, t, c).await {
        Ok(Some(d)) => {
            tracing::info!(tenant_id = %t, conversation_id = %c, chosen = ?d.chosen_agent_id.as_ref().map(|a| a.as_str()), "routed");
            Ok(())
        }
        Ok(None) => Ok(()),
        Err(AssignmentError::ConversationNotFound) => {
            tracing::warn!(tenant_id = %t, conversation_id = %c, "conversation gone before routing");
            Ok(())
        }
        Err(e) => Err(retryable(e)),
    }
}
