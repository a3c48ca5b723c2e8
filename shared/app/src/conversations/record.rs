//! The conversation and message items as stored: one struct each, converted to and from the table's item by
//! [`Record`] (docs/data-model.md lists their attributes).
//!
//! The conversation item is shared with the assignment module, which owns `status`, `assignee_id`,
//! `group_id` and the queue / assignee index (gsi2) after creation, and changes them with updates, never by
//! writing the record whole. Assignment also writes the last routing decision, as its own item beside the
//! conversation ([`crate::assignment::RoutingRecord`]). [`ConversationRecord`] reads every attribute either writes; it is written
//! whole only once, when a visitor starts the conversation.

use jiff::Timestamp;
use kefu_domain::routing::Priority;
use kefu_domain::{
    AgentId, Author, ConversationId, ConversationStatus, CustomerId, GroupId, MessageId, TagName, TenantId,
};
use kefu_ports::table::Key;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// A fixed-width number for the activity index's sort key (RFC 3339 text does not sort: its fraction varies).
pub(crate) fn millis(at: Timestamp) -> i64 {
    at.as_millisecond().max(0)
}

/// A conversation: `T#{t}#CONV#{c}` / `CONV`, in the tenant's activity index (gsi1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Its id.
    pub conversation_id: ConversationId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The visitor's customer record.
    pub customer_id: CustomerId,
    /// Where it stands (stored as the domain names it; the API shows [`ConversationStatus::shown`]).
    pub status: ConversationStatus,
    /// Its agent; absent (not null) when none, because assignment conditions on the attribute's absence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee_id: Option<AgentId>,
    /// Its agent group (null: the default group).
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// From the customer's group when it started.
    pub priority: Priority,
    /// Skills an agent needs to take it.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Tag names.
    #[serde(default)]
    pub tags: Vec<TagName>,
    /// The page the visitor started from.
    #[serde(default)]
    pub page_url: Option<String>,
    /// When the visitor started it.
    pub created_at: Timestamp,
    /// The last message (or the start): the activity index's order.
    pub last_message_at: Timestamp,
    /// Since when it waits for an agent (the queue's order).
    #[serde(default)]
    pub waiting_since: Option<Timestamp>,
    /// The first agent or bot reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response_at: Option<Timestamp>,
    /// The last routing decision as conversations stored it before it moved to its own item
    /// ([`crate::assignment::RoutingRecord`]); read so that an older conversation still shows it, never written
    /// again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing: Option<Value>,
    /// Written 1 at creation.
    pub version: u64,
    /// When it was last assigned (assignment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_at: Option<Timestamp>,
    /// When it was last queued (assignment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queued_at: Option<Timestamp>,
    /// When it was closed (assignment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
    /// Who closed it (null: the system).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_by: Option<AgentId>,
    /// When it was last reopened (assignment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopened_at: Option<Timestamp>,
    /// When it was last transferred (assignment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transferred_at: Option<Timestamp>,
    /// The agent it had before it was closed or reopened (preferred when routed again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_assignee_id: Option<AgentId>,
    /// The last automation runs on it, newest last (the automation capability's: which rules matched and what
    /// each action did, so a supervisor sees why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<Value>,
    /// The last message the visitor has read (the `chat` capability's; moves forward only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor_read_up_to: Option<MessageId>,
    /// The last message an agent has read (the `chat` capability's; moves forward only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_read_up_to: Option<MessageId>,
    /// The visitor's rating (the `chat` capability's; a later one replaces it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// How many messages the visitor has written (added to by each one's transaction; absent until the first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub visitor_messages: u64,
    /// How many of them an agent has read (the `chat` capability's, moved with `agent_read_up_to`).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub agent_read_count: u64,
    /// The visitor's message its current wait for an agent's reply began with: set by a visitor's message when
    /// absent, removed by an agent's reply (in their transactions). The timers read it instead of the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_message_id: Option<MessageId>,
    /// When that message was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_since: Option<Timestamp>,
    /// The visitor's send budget (a visitor token is for one conversation, so its per-minute limit is kept
    /// here, in the message's own transaction, instead of in an item of its own): the minute it counts...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sends_minute: Option<i64>,
    /// ...and how many messages the visitor sent in it.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub sends_in_minute: u64,
    /// Its deletion has begun ([`keys::CONVERSATION_DELETING`], set by `conversations::delete`): no write may
    /// add to its partition any more, and it goes once its contents have.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleting: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A visitor's rating of a conversation (CSAT): 3 good, 2 neutral, 1 bad.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Rating {
    /// 1 bad, 2 neutral, 3 good.
    pub score: u8,
    /// What the visitor wrote, if anything.
    #[serde(default)]
    pub comment: Option<String>,
    /// When it was given.
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub at: Timestamp,
}

impl ConversationRecord {
    /// A conversation as a visitor starts it: `pending`, no assignee, waiting since `at`, version 1.
    pub fn started(
        tenant: &TenantId,
        id: &ConversationId,
        customer: &CustomerId,
        group: Option<&GroupId>,
        priority: Priority,
        page_url: Option<&str>,
        at: Timestamp,
    ) -> Self {
        Self {
            conversation_id: id.clone(),
            tenant_id: tenant.clone(),
            customer_id: customer.clone(),
            status: ConversationStatus::Pending,
            assignee_id: None,
            group_id: group.cloned(),
            priority,
            skills: Vec::new(),
            tags: Vec::new(),
            page_url: page_url.map(str::to_owned),
            created_at: at,
            last_message_at: at,
            waiting_since: Some(at),
            first_response_at: None,
            routing: None,
            version: 1,
            assigned_at: None,
            queued_at: None,
            closed_at: None,
            closed_by: None,
            reopened_at: None,
            transferred_at: None,
            previous_assignee_id: None,
            automation: None,
            visitor_read_up_to: None,
            agent_read_up_to: None,
            rating: None,
            visitor_messages: 0,
            agent_read_count: 0,
            wait_message_id: None,
            wait_since: None,
            sends_minute: None,
            sends_in_minute: 0,
            deleting: false,
        }
    }
}

impl Record for ConversationRecord {
    const TYPE: &'static str = "conversation";

    fn key(&self) -> Key {
        keys::conversation(&self.tenant_id, &self.conversation_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("gsi1pk", keys::conversations_index(&self.tenant_id)),
            ("gsi1sk", keys::conversations_index_sk(millis(self.last_message_at), &self.conversation_id)),
        ]
    }
}

/// A message: `T#{t}#CONV#{c}` / `MSG#{ULID}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecord {
    /// Its id (`ms_` + the ULID of its sort key).
    pub message_id: MessageId,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Who wrote it.
    pub author: Author,
    /// The visitor's customer id or the agent's id; null for bots and the system.
    #[serde(default)]
    pub author_id: Option<String>,
    /// The text, as written.
    pub content: String,
    /// An internal note: never shown to the visitor.
    #[serde(default)]
    pub internal: bool,
    /// When it was stored.
    pub created_at: Timestamp,
    /// When its author (or a holder of `conversations.delete`) recalled it; readers then see it withdrawn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_at: Option<Timestamp>,
    /// Who recalled it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recalled_by: Option<String>,
    /// The files attached to it (issue 15): metadata only; the bytes are in the blob store
    /// (`attachments::blob_key`), links are made on every read.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<kefu_domain::attachment::AttachmentMeta>,
}

impl Record for MessageRecord {
    const TYPE: &'static str = "message";

    fn key(&self) -> Key {
        keys::message(&self.tenant_id, &self.conversation_id, &self.message_id)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(v: Value) -> kefu_ports::table::Item {
        v.as_object().unwrap().clone()
    }

    /// The attributes a conversation was stored with before it had a record (and that test fixtures and the
    /// AWS table still hold) read, and the record writes them back the same way, but for `routing`, which
    /// has its own item now ([`crate::assignment::RoutingRecord`]).
    #[test]
    fn a_started_conversation_is_stored_as_before() {
        let (t, c, cu) = (TenantId::generate(), ConversationId::generate(), CustomerId::generate());
        let at: Timestamp = "2026-03-01T10:00:00.5Z".parse().unwrap();
        let r = ConversationRecord::started(&t, &c, &cu, None, Priority::High, Some("https://shop.test/"), at);
        let stored = r.to_item();
        let key = keys::conversation(&t, &c);
        let expected = key.with(json!({
            "type": "conversation", "conversation_id": c, "tenant_id": t, "customer_id": cu,
            "status": "pending", "group_id": null, "priority": "high",
            "skills": [], "tags": [], "page_url": "https://shop.test/", "created_at": at, "last_message_at": at,
            "waiting_since": at, "version": 1,
            "gsi1pk": keys::conversations_index(&t), "gsi1sk": keys::conversations_index_sk(millis(at), &c),
        }));
        assert_eq!(stored, expected);
        assert_eq!(ConversationRecord::from_item(stored.clone()).unwrap(), r);
        let mut older = stored;
        older.insert("routing".into(), Value::Null);
        assert_eq!(ConversationRecord::from_item(older).unwrap(), r, "an older item's `routing: null` reads the same");
    }

    #[test]
    fn an_assigned_conversation_reads_with_assignment_attributes_and_a_fixture_without_optional_ones() {
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let a = AgentId::generate();
        let stored = keys::conversation(&t, &c).with(json!({
            "type": "conversation", "conversation_id": c, "tenant_id": t, "customer_id": CustomerId::generate(),
            "status": "open", "assignee_id": a, "group_id": null, "priority": "normal", "skills": [],
            "created_at": "2026-03-01T10:00:00Z", "last_message_at": "2026-03-01T10:00:00Z", "version": 1,
            "assigned_at": "2026-03-01T10:00:01Z", "closed_by": null, "routing": {"outcome": "assigned"},
            "gsi2pk": "x", "gsi2sk": "y",
        }));
        let r = ConversationRecord::from_item(stored).unwrap();
        assert_eq!((r.status, r.assignee_id.as_ref()), (ConversationStatus::Open, Some(&a)));
        assert!(r.tags.is_empty() && r.waiting_since.is_none() && r.closed_by.is_none());
        assert_eq!(r.routing, Some(json!({"outcome": "assigned"})));
    }

    #[test]
    fn a_conversation_that_does_not_parse_is_an_error() {
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let bad = keys::conversation(&t, &c).with(json!({
            "conversation_id": c, "tenant_id": t, "customer_id": "cu_x", "status": "done", "priority": "normal",
            "created_at": "2026-03-01T10:00:00Z", "last_message_at": "2026-03-01T10:00:00Z", "version": 1,
        }));
        assert!(ConversationRecord::from_item(bad).unwrap_err().reason.starts_with("status"));
        let missing = item(json!({"conversation_id": c}));
        assert!(ConversationRecord::from_item(missing).is_err());
    }

    #[test]
    fn a_message_round_trips_as_stored_before() {
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let id = MessageId::from_ulid(ulid::Ulid::from_parts(1_700_000_000_000, 7));
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let m = MessageRecord {
            message_id: id.clone(),
            conversation_id: c.clone(),
            tenant_id: t.clone(),
            author: Author::Bot,
            author_id: None,
            content: "hi".into(),
            internal: false,
            created_at: at,
            recalled_at: None,
            recalled_by: None,
            attachments: Vec::new(),
        };
        let stored = m.to_item();
        let expected = keys::message(&t, &c, &id).with(json!({
            "type": "message", "message_id": id, "conversation_id": c, "tenant_id": t, "author": "bot",
            "author_id": null, "content": "hi", "internal": false, "created_at": at,
        }));
        assert_eq!(stored, expected);
        assert_eq!(MessageRecord::from_item(stored).unwrap(), m);
    }
}
