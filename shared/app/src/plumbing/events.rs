//! Domain events: the envelope every event travels in, the types, and which consumer hears which.

use kefu_domain::TenantId;
use kefu_ports::FilterPolicy;
use serde::{Deserialize, Serialize};

/// Event type names (the `type` attribute on the topic).
pub mod types {
    /// A tenant was created (notify: welcome mail to the first admin).
    pub const TENANT_CREATED: &str = "tenant.created";
    /// A visitor started a conversation.
    pub const CONVERSATION_CREATED: &str = "conversation.created";
    /// A conversation was closed.
    pub const CONVERSATION_CLOSED: &str = "conversation.closed";
    /// A conversation went without an answer too long.
    pub const CONVERSATION_UNANSWERED: &str = "conversation.unanswered";
    /// A visitor's message arrived.
    pub const MESSAGE_RECEIVED: &str = "message.received";
    /// An agent's status changed (assign drains the queue).
    pub const AGENT_STATUS_CHANGED: &str = "agent.status_changed";
    /// A ticket was created.
    pub const TICKET_CREATED: &str = "ticket.created";
    /// An export was asked for.
    pub const EXPORT_REQUESTED: &str = "export.requested";
    /// A security anomaly was detected.
    pub const SECURITY_ALERT: &str = "security.alert";
    /// An SLA was breached.
    pub const SLA_BREACHED: &str = "sla.breached";
}

/// An event as stored in the outbox and published: the same bytes reach every consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// Unique per event; consumers deduplicate on it.
    pub id: String,
    /// The event type, also the topic's `type` attribute.
    #[serde(rename = "type")]
    pub event_type: String,
    /// The tenant the event belongs to.
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: jiff::Timestamp,
    /// The event's own fields.
    pub data: serde_json::Value,
}

impl Envelope {
    /// A new event with a fresh id. The id is a ULID minted from `at` (the app's clock, not the host's), so
    /// the outbox, which sorts and sweeps by id, orders events by the time the app gave them.
    pub fn new(event_type: &str, tenant_id: &TenantId, at: jiff::Timestamp, data: serde_json::Value) -> Self {
        let millis = u64::try_from(at.as_millisecond()).unwrap_or(0);
        let random = rand::random::<u128>() & ((1u128 << 80) - 1);
        let id = ulid::Ulid::from_parts(millis, random).to_string();
        Self { id, event_type: event_type.to_owned(), tenant_id: tenant_id.clone(), at, data }
    }
}

/// The queue consumers, each with its own queue subscribed to the `events` topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumerName {
    /// Routing.
    Assign,
    /// Rules and auto-replies.
    Automation,
    /// Notifications and real-time frames.
    Notify,
    /// Data exports.
    Export,
}

impl ConsumerName {
    /// Every consumer.
    pub const ALL: [ConsumerName; 4] =
        [ConsumerName::Assign, ConsumerName::Automation, ConsumerName::Notify, ConsumerName::Export];

    /// The consumer's name (its queue is named after it in the template: `AssignQueue`…).
    pub fn as_str(self) -> &'static str {
        match self {
            ConsumerName::Assign => "assign",
            ConsumerName::Automation => "automation",
            ConsumerName::Notify => "notify",
            ConsumerName::Export => "export",
        }
    }

    /// How long a received message stays hidden (the queue's visibility timeout in the template: six times the
    /// function's timeout). An idempotency claim lasts as long, so a slow handler is never raced by a redelivery.
    pub fn visibility_timeout(self) -> std::time::Duration {
        std::time::Duration::from_secs(match self {
            ConsumerName::Export => 1800,
            _ => 180,
        })
    }

    /// The subscription's filter policy. `infra/template.yaml` carries the same JSON; a test keeps them equal.
    pub fn filter_policy(self) -> FilterPolicy {
        let json = match self {
            ConsumerName::Assign => r#"{"type": [{"prefix": "conversation."}, {"prefix": "agent."}]}"#,
            ConsumerName::Automation => {
                r#"{"type": ["conversation.created", "message.received", "conversation.unanswered", "ticket.created"]}"#
            }
            ConsumerName::Notify => {
                r#"{"type": [{"prefix": "message."}, {"prefix": "conversation."}, "tenant.created", "security.alert", "sla.breached"]}"#
            }
            ConsumerName::Export => r#"{"type": ["export.requested"]}"#,
        };
        serde_json::from_str(json).expect("static filter policy")
    }
}

/// After this many receives a message moves to its consumer's dead-letter queue (as in the template).
pub const MAX_RECEIVE_COUNT: u32 = 5;
