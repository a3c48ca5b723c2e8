//! The `assign` consumer: routes conversations to agents and drains the waiting queue when capacity frees.
//!
//! - `conversation.created`, `conversation.reopened`, `conversation.transferred`: route the conversation (a
//!   conversation routed meanwhile is left alone, so duplicates are harmless);
//! - `conversation.closed`, `conversation.assigned` with a previous agent (a transfer), `agent.status_changed`
//!   to online, `agent.updated` (capacity, groups, skills, shift), `agent.disabled`: drain the queue;
//! - `conversation.queued`: make sure the tenant is on the timers' list of tenants with a queue.
//!
//! It runs under `consumer::process_batch` (idempotency records, partial batch failures); a message that can
//! never be handled (no conversation id) fails permanently and ends in the dead-letter queue.

use async_trait::async_trait;
use kefu_app::App;
use kefu_app::assignment::{self, AssignmentError, events};
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{ConsumerName, Envelope, types};
use kefu_domain::ConversationId;
use serde_json::Value;

/// The routing consumer.
pub struct AssignConsumer;

fn retryable(e: AssignmentError) -> HandlerError {
    match e {
        AssignmentError::Table(t) => HandlerError::Retry(t.to_string()),
        AssignmentError::Busy => HandlerError::Retry("lost too many races".into()),
        other => HandlerError::Permanent(other.to_string()),
    }
}

fn conversation_id(event: &Envelope) -> Result<ConversationId, HandlerError> {
    event
        .data
        .get("conversation_id")
        .and_then(Value::as_str)
        .and_then(ConversationId::parse)
        .ok_or_else(|| HandlerError::Permanent(format!("{} without a valid conversation_id", event.event_type)))
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
            tracing::info!(tenant_id = %t, event_type = %event.event_type, assigned = r.assigned, still_queued = r.still_queued, "queue drained");
            Ok(())
        };
        match event.event_type.as_str() {
            types::CONVERSATION_CREATED | events::CONVERSATION_REOPENED | events::CONVERSATION_TRANSFERRED => {
                let c = conversation_id(event)?;
                match assignment::route(app, t, &c).await {
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
            events::CONVERSATION_CLOSED | events::AGENT_UPDATED | events::AGENT_DISABLED => drain().await,
            events::CONVERSATION_ASSIGNED => {
                if event.data.get("previous_agent_id").is_some_and(|p| !p.is_null()) {
                    drain().await
                } else {
                    Ok(())
                }
            }
            events::AGENT_STATUS_CHANGED => {
                if event.data.get("status").and_then(Value::as_str) == Some("online") {
                    drain().await
                } else {
                    Ok(())
                }
            }
            events::CONVERSATION_QUEUED => {
                assignment::mark_queued(app, t).await.map_err(|e| HandlerError::Retry(e.to_string()))
            }
            _ => Ok(()),
        }
    }
}
