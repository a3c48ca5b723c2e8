//! Which WebSocket frames an event becomes, and for whom: a pure mapping, so it is tested without a store.
//!
//! Frames (API.md): `{"type": "message.created" | "conversation.assigned" | "conversation.queued" |
//! "conversation.closed" | "notification", "conversation_id", "message"?, "data"?}`.
//!
//! | event                        | frame                   | to                                                  |
//! |------------------------------|-------------------------|-----------------------------------------------------|
//! | `message.received`           | `message.created`       | the assignee, or the watchers when there is none    |
//! | `message.sent`, not internal | `message.created`       | the visitor and the assignee (or the watchers)      |
//! | `message.sent`, internal     | `message.created`       | the assignee (or the watchers), **never the visitor** |
//! | `conversation.assigned`      | `conversation.assigned` | the new agent, and the previous one if another      |
//! | `conversation.queued`        | `conversation.queued`   | the visitor, and the watchers                       |
//! | `conversation.closed`        | `conversation.closed`   | the visitor and the agent who had it                |
//! | `conversation.unanswered`, `sla.breached` | `notification` | the assignee                                 |
//!
//! The *watchers* of a conversation nobody is assigned to are the staff who may see it (as the conversations
//! API decides: `conversations.view_all`, or `conversations.view_group` and membership of its group), so a
//! supervisor's console shows new and queued conversations live ([`Recipient::Watchers`]).

use kefu_domain::{AgentId, ConversationId};
use serde::Serialize;
use serde_json::{Value, json};

use crate::plumbing::events::{Envelope, Event, EventMessage, EventType, Reader};

/// Frame types (API.md).
pub mod types {
    /// A new message in the conversation.
    pub const MESSAGE_CREATED: &str = "message.created";
    /// The conversation was assigned.
    pub const CONVERSATION_ASSIGNED: &str = "conversation.assigned";
    /// The conversation is waiting in the queue.
    pub const CONVERSATION_QUEUED: &str = "conversation.queued";
    /// The conversation was closed.
    pub const CONVERSATION_CLOSED: &str = "conversation.closed";
    /// Something for the agent's attention.
    pub const NOTIFICATION: &str = "notification";
    /// A ticket was assigned to the agent, or to a group it is in (`tickets::notify`; data: the ticket).
    pub const TICKET_ASSIGNED: &str = "ticket.assigned";
    /// Someone is typing (pushed at once by `chat::typing`, never stored; data `{"who", "typing", "draft"?}`).
    pub const TYPING: &str = "typing";
    /// The other side read the conversation up to a message (data `{"reader", "up_to"}`).
    pub const MESSAGE_READ: &str = "message.read";
    /// A message was recalled (data `{"message_id"}`).
    pub const MESSAGE_RECALLED: &str = "message.recalled";
    /// The visitor is asked to rate the conversation.
    pub const RATING_REQUESTED: &str = "rating.requested";
    /// A queued visitor's place (data `{"position", "estimated_wait_seconds"}`).
    pub const QUEUE_POSITION: &str = "queue.position";
    /// An operation waits for approval (`approvals::notify`; data: the request, to holders of `approvals.review`).
    pub const APPROVAL_REQUESTED: &str = "approval.requested";
}

/// One server frame.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// The frame type.
    #[serde(rename = "type")]
    pub frame_type: &'static str,
    /// The conversation it is about (left out when empty: a ticket without a conversation).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub conversation_id: String,
    /// The message (API.md message shape), for `message.created`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
    /// The event's details, for the other types.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl Frame {
    /// The frame as JSON text.
    pub fn to_text(&self) -> String {
        serde_json::to_string(self).expect("a frame serialises")
    }

    /// The frame as a reader without `customers.view_sensitive` may see it: personal data in the message's
    /// content masked (as the conversations API masks it). `None` when masking changes nothing.
    pub fn masked(&self) -> Option<Frame> {
        let content = self.message.as_ref()?.get("content")?.as_str()?;
        let std::borrow::Cow::Owned(masked) = kefu_domain::masking::mask_text(content) else { return None };
        let mut frame = self.clone();
        if let Some(m) = frame.message.as_mut().and_then(Value::as_object_mut) {
            m.insert("content".into(), Value::String(masked));
        }
        Some(frame)
    }
}

/// Who a frame goes to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// Whoever the conversation is assigned to now (read from the conversation when the frame is sent).
    Assignee,
    /// A named agent.
    Agent(AgentId),
    /// The visitor of the conversation.
    Visitor,
    /// While the conversation has no assignee (read when the frame is sent): every connected staff member who
    /// may see it now. Nobody when it has one (its assignee is told instead).
    Watchers,
}

/// The frames an event becomes, each with its recipient; none for events that concern nobody's screen.
pub fn frames_for(event: &Envelope) -> Vec<(Recipient, Frame)> {
    let message_frame = |conversation_id: &ConversationId, message: &EventMessage| Frame {
        frame_type: types::MESSAGE_CREATED,
        conversation_id: conversation_id.to_string(),
        message: Some(serde_json::to_value(message).expect("a message serialises")),
        data: None,
    };
    let data_frame = |frame_type, conversation_id: &ConversationId| Frame {
        frame_type,
        conversation_id: conversation_id.to_string(),
        message: None,
        data: Some(event.data()),
    };
    match &event.event {
        Event::MessageReceived(m) => {
            let frame = message_frame(&m.conversation_id, &m.message);
            vec![(Recipient::Assignee, frame.clone()), (Recipient::Watchers, frame)]
        }
        Event::MessageSent(m) => {
            let frame = message_frame(&m.conversation_id, &m.message);
            let mut out = if m.message.internal { vec![] } else { vec![(Recipient::Visitor, frame.clone())] };
            out.extend([(Recipient::Assignee, frame.clone()), (Recipient::Watchers, frame)]);
            out
        }
        Event::ConversationAssigned(a) => {
            let frame = data_frame(types::CONVERSATION_ASSIGNED, &a.conversation_id);
            let mut out = vec![(Recipient::Agent(a.agent_id.clone()), frame.clone())];
            if let Some(b) = a.previous_agent_id.as_ref().filter(|b| **b != a.agent_id) {
                out.push((Recipient::Agent(b.clone()), frame));
            }
            out
        }
        Event::ConversationQueued(q) => {
            let frame = data_frame(types::CONVERSATION_QUEUED, &q.conversation_id);
            vec![(Recipient::Visitor, frame.clone()), (Recipient::Watchers, frame)]
        }
        Event::ConversationClosed(c) => {
            let frame = data_frame(types::CONVERSATION_CLOSED, &c.conversation_id);
            let mut out = vec![(Recipient::Visitor, frame.clone())];
            if let Some(a) = &c.agent_id {
                out.push((Recipient::Agent(a.clone()), frame));
            }
            out
        }
        Event::MessageRead(r) => {
            let frame = Frame {
                frame_type: types::MESSAGE_READ,
                conversation_id: r.conversation_id.to_string(),
                message: None,
                data: Some(json!({"reader": r.reader, "up_to": r.up_to})),
            };
            match r.reader {
                Reader::Visitor => vec![(Recipient::Assignee, frame)],
                Reader::Agent => vec![(Recipient::Visitor, frame)],
            }
        }
        Event::MessageRecalled(r) => {
            let frame = Frame {
                frame_type: types::MESSAGE_RECALLED,
                conversation_id: r.conversation_id.to_string(),
                message: None,
                data: Some(json!({"message_id": r.message_id})),
            };
            let mut out = if r.internal { vec![] } else { vec![(Recipient::Visitor, frame.clone())] };
            out.extend([(Recipient::Assignee, frame.clone()), (Recipient::Watchers, frame)]);
            out
        }
        Event::RatingRequested(r) => {
            vec![(Recipient::Visitor, data_frame(types::RATING_REQUESTED, &r.conversation_id))]
        }
        Event::ConversationRated(r) => {
            let label = match r.score {
                3 => "good",
                2 => "neutral",
                _ => "bad",
            };
            let frame = Frame {
                frame_type: types::NOTIFICATION,
                conversation_id: r.conversation_id.to_string(),
                message: None,
                data: Some(json!({
                    "kind": "conversation.rated", "priority": if r.score == 1 { "urgent" } else { "normal" },
                    "text": format!("The visitor rated the conversation {label}"),
                    "conversation_id": r.conversation_id, "score": r.score,
                })),
            };
            vec![(Recipient::Assignee, frame)]
        }
        Event::ConversationUnanswered(u) => {
            let frame = Frame {
                frame_type: types::NOTIFICATION,
                conversation_id: u.conversation_id.to_string(),
                message: None,
                data: Some(json!({
                    "event": "conversation.unanswered", "kind": "conversation.unanswered", "priority": "normal",
                    "text": format!("The visitor has waited {} min for a reply", u.minutes),
                    "conversation_id": u.conversation_id, "minutes": u.minutes, "since": u.since,
                })),
            };
            vec![(Recipient::Assignee, frame)]
        }
        // Reserved types: no payload struct yet, so the conversation is read from the data as it came.
        Event::Reserved(r) if matches!(r.event_type(), EventType::SlaBreached) => {
            let conversation_id = r.data().get("conversation_id").and_then(Value::as_str).filter(|s| !s.is_empty());
            let Some(conversation_id) = conversation_id.map(str::to_owned) else { return Vec::new() };
            let mut details = r.data().clone();
            if let Some(m) = details.as_object_mut() {
                m.insert("event".into(), json!(r.event_type().as_str()));
            }
            let frame = Frame { frame_type: types::NOTIFICATION, conversation_id, message: None, data: Some(details) };
            vec![(Recipient::Assignee, frame)]
        }
        _ => Vec::new(),
    }
}

/// Whether any frame needs the conversation as it is now: its assignee, or who may see it (one read).
pub fn needs_assignee(frames: &[(Recipient, Frame)]) -> bool {
    frames.iter().any(|(r, _)| matches!(r, Recipient::Assignee | Recipient::Watchers))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plumbing::events::{
        ConversationAssigned, ConversationClosed, ConversationCreated, ConversationQueued, ConversationReopened,
        MessageReceived, MessageSent, ReservedEvent, TenantCreated,
    };
    use kefu_domain::routing::Priority;
    use kefu_domain::{Author, CustomerId, MessageId, TenantId};

    fn event(e: impl Into<Event>) -> Envelope {
        Envelope::new(&TenantId::generate(), "2026-11-25T08:00:00Z".parse().unwrap(), e)
    }

    fn cv() -> ConversationId {
        ConversationId::from_static("cv_1")
    }

    fn message(internal: bool, author: Author) -> EventMessage {
        EventMessage {
            id: MessageId::from_static("ms_1"),
            conversation_id: cv(),
            author,
            author_id: None,
            content: "hi".into(),
            internal,
            created_at: "2026-11-25T08:00:00Z".parse().unwrap(),
            recalled: false,
            attachments: Vec::new(),
        }
    }

    fn received(m: EventMessage) -> Envelope {
        event(MessageReceived { conversation_id: cv(), message: m, counted: false, starts_wait: None })
    }

    fn sent(m: EventMessage) -> Envelope {
        event(MessageSent { conversation_id: cv(), message: m })
    }

    fn reserved(ty: EventType, data: Value) -> Envelope {
        event(Event::Reserved(ReservedEvent::new(ty, data).unwrap()))
    }

    #[test]
    fn a_visitor_message_goes_to_the_assignee_as_message_created() {
        let m = message(false, Author::Visitor);
        let frames = frames_for(&received(m.clone()));
        let to: Vec<_> = frames.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(to, vec![Recipient::Assignee, Recipient::Watchers], "the watchers when nobody is assigned");
        let (_, f) = &frames[0];
        assert_eq!(
            serde_json::from_str::<Value>(&f.to_text()).unwrap(),
            json!({"type": "message.created", "conversation_id": "cv_1", "message": m})
        );
        assert!(needs_assignee(&frames));
    }

    #[test]
    fn replies_reach_the_visitor_and_internal_notes_never_do() {
        let reply = frames_for(&sent(message(false, Author::Agent)));
        let to: Vec<_> = reply.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(to, vec![Recipient::Visitor, Recipient::Assignee, Recipient::Watchers]);
        let bot = frames_for(&sent(message(false, Author::Bot)));
        assert!(bot.iter().any(|(r, f)| *r == Recipient::Visitor && f.frame_type == "message.created"));

        let note = frames_for(&sent(message(true, Author::Agent)));
        assert!(!note.is_empty(), "the assignee sees the note");
        assert!(note.iter().all(|(r, _)| *r != Recipient::Visitor), "never to the visitor");
    }

    #[test]
    fn assignment_goes_to_the_new_and_the_previous_agent() {
        let (a, b) = (AgentId::generate(), AgentId::generate());
        let frames = frames_for(&event(ConversationAssigned {
            conversation_id: cv(),
            agent_id: a.clone(),
            previous_agent_id: Some(b.clone()),
            by: None,
        }));
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].0, Recipient::Agent(a.clone()));
        assert_eq!(frames[1].0, Recipient::Agent(b));
        assert_eq!(frames[0].1.frame_type, "conversation.assigned");
        assert_eq!(frames[0].1.data.as_ref().unwrap()["agent_id"], json!(a));
        assert!(frames[0].1.message.is_none());

        let first = frames_for(&event(ConversationAssigned {
            conversation_id: cv(),
            agent_id: a.clone(),
            previous_agent_id: None,
            by: None,
        }));
        assert_eq!(first.len(), 1);
        assert!(!needs_assignee(&first));
    }

    #[test]
    fn queued_reaches_the_visitor_and_the_watchers_and_closed_the_visitor() {
        let q =
            frames_for(&event(ConversationQueued { conversation_id: cv(), group_id: None, priority: Priority::High }));
        let to: Vec<_> = q.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(to, vec![Recipient::Visitor, Recipient::Watchers], "the supervisors see the queue live");
        assert_eq!(q[0].1.frame_type, "conversation.queued");
        assert_eq!(q[0].1.data.as_ref().unwrap()["priority"], "high");

        let a = AgentId::generate();
        let c = frames_for(&event(ConversationClosed { conversation_id: cv(), agent_id: Some(a.clone()), by: None }));
        let to: Vec<_> = c.iter().map(|(r, _)| r.clone()).collect();
        assert_eq!(to, vec![Recipient::Visitor, Recipient::Agent(a)]);
        assert!(c.iter().all(|(_, f)| f.frame_type == "conversation.closed"));
    }

    #[test]
    fn reminders_are_notifications_for_the_assignee() {
        let unanswered = crate::plumbing::events::ConversationUnanswered {
            conversation_id: cv(),
            minutes: 5,
            message_id: kefu_domain::MessageId::generate(),
            since: "2026-03-01T10:00:00Z".parse().unwrap(),
            agent_id: None,
        };
        let n = frames_for(&event(unanswered));
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].0, Recipient::Assignee);
        assert_eq!(n[0].1.frame_type, "notification");
        assert_eq!(n[0].1.data.as_ref().unwrap()["event"], "conversation.unanswered");
        assert_eq!(n[0].1.data.as_ref().unwrap()["minutes"], 5);
        let n = frames_for(&reserved(EventType::SlaBreached, json!({"conversation_id": "cv_1", "minutes": 5})));
        assert_eq!((n.len(), n[0].1.data.as_ref().unwrap()["event"].as_str()), (1, Some("sla.breached")));
    }

    #[test]
    fn frames_mask_personal_data_for_readers_without_the_permission() {
        let mut m = message(false, Author::Visitor);
        m.content = "call me on 13812345678 or z.li@example.com".into();
        let frames = frames_for(&received(m));
        let masked = frames[0].1.masked().expect("something to mask");
        let content = masked.message.as_ref().unwrap()["content"].as_str().unwrap();
        assert!(!content.contains("13812345678") && !content.contains("z.li@example.com"), "{content}");
        assert_eq!(masked.message.as_ref().unwrap()["id"], "ms_1", "only the content changes");
        let plain = received(message(false, Author::Visitor));
        assert!(frames_for(&plain)[0].1.masked().is_none(), "nothing to mask");
    }

    #[test]
    fn other_events_and_events_without_a_conversation_make_no_frames() {
        let created = ConversationCreated {
            conversation_id: cv(),
            customer_id: CustomerId::generate(),
            group_id: None,
            priority: Priority::Normal,
        };
        assert!(frames_for(&event(created)).is_empty());
        let tenant = TenantCreated { name: "x".into(), admin_id: AgentId::generate(), admin_email: "a@x.test".into() };
        assert!(frames_for(&event(tenant)).is_empty());
        assert!(frames_for(&reserved(EventType::SlaBreached, json!({"minutes": 5}))).is_empty());
        let reopened = ConversationReopened { conversation_id: cv(), previous_agent_id: None, by: None };
        assert!(frames_for(&event(reopened)).is_empty());
    }
}
