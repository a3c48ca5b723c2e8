//! Domain events: the one list of event types — each with its payload struct and the consumers that hear it —,
//! the envelope every event travels in, and the consumers' filter policies, derived from the list.
//!
//! Producers build a payload struct and wrap it in an [`Envelope`] (`Envelope::new(tenant, at, payload)`);
//! consumers match on [`Envelope::event`]. The wire format is fixed: the topic's `type` attribute and the
//! envelope JSON `{"id", "type", "tenant_id", "at", "data"}`, where `data` is the payload's fields. Reading an
//! envelope decodes its payload: an unknown type, a missing field or an id of the wrong shape makes it a poison
//! message, which the consumer runner logs and leaves to the dead-letter queue ([`crate::plumbing::consumer`]).
//!
//! To add an event: its payload struct below, and a line in [`event_list!`]'s invocation naming its type and
//! who hears it; `docs/events.md` lists it (a test checks the doc against this list), and `infra/template.yaml`'s
//! filter policies follow [`ConsumerName::filter_policy`] (a test against moto checks them).

use kefu_domain::approval::{ApprovalId, SensitiveOperation};
use kefu_domain::ids::ExportId;
use kefu_domain::routing::{AgentStatus, Priority};
use kefu_domain::ticket::{TicketId, TicketPriority, TicketSource};
use kefu_domain::{AgentId, Author, ConversationId, CustomerId, GroupId, MessageId, TenantId};
use kefu_ports::FilterPolicy;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

/// Declares the list of event types: for each, its name on the wire, its variant (named like its payload
/// struct) and the consumers that hear it. Reserved types have a fixed name and routing but no payload yet.
macro_rules! event_list {
    (
        emitted {
            $( $(#[$doc:meta])* $name:literal => $variant:ident, heard by [$($heard:ident),*]; )*
        }
        reserved {
            $( $(#[$rdoc:meta])* $rname:literal => $rvariant:ident, heard by [$($rheard:ident),*]; )*
        }
    ) => {
        /// An event type: its name is the topic's `type` attribute and the envelope's `type`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventType {
            $( $(#[$doc])* $variant, )*
            $( $(#[$rdoc])* $rvariant, )*
        }

        impl EventType {
            /// Every event type, emitted ones first, in the list's order (the order of the filter policies).
            pub const ALL: &'static [EventType] = &[$(EventType::$variant,)* $(EventType::$rvariant,)*];

            /// The type's name on the wire (`conversation.created`…).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(EventType::$variant => $name,)*
                    $(EventType::$rvariant => $rname,)*
                }
            }

            /// The consumers whose queues receive events of this type (their filter policies name it).
            pub fn consumers(self) -> &'static [ConsumerName] {
                match self {
                    $(EventType::$variant => &[$(ConsumerName::$heard),*],)*
                    $(EventType::$rvariant => &[$(ConsumerName::$rheard),*],)*
                }
            }

            /// Whether the type is reserved: named and routed, but no code emits it yet, so it has no payload
            /// struct (the issue that emits it adds one).
            pub fn is_reserved(self) -> bool {
                match self {
                    $(EventType::$variant => false,)*
                    $(EventType::$rvariant => true,)*
                }
            }
        }

        /// An event with its typed payload: what producers build and consumers match on.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Event {
            $( $(#[$doc])* $variant($variant), )*
            /// An event of a reserved type (see [`EventType::is_reserved`]); its data is kept as it came.
            Reserved(ReservedEvent),
        }

        impl Event {
            /// The event's type.
            pub fn event_type(&self) -> EventType {
                match self {
                    $(Event::$variant(_) => EventType::$variant,)*
                    Event::Reserved(r) => r.event_type,
                }
            }

            /// Decodes the `data` of an event of type `ty`.
            fn decode(ty: EventType, data: Value) -> Result<Self, serde_json::Error> {
                match ty {
                    $(EventType::$variant => serde_json::from_value(data).map(Event::$variant),)*
                    $(EventType::$rvariant)|* => Ok(Event::Reserved(ReservedEvent { event_type: ty, data })),
                }
            }

            /// Writes the payload (the envelope's `data`).
            fn serialize_data<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $(Event::$variant(p) => p.serialize(s),)*
                    Event::Reserved(r) => r.data.serialize(s),
                }
            }
        }

        $(
            impl From<$variant> for Event {
                fn from(payload: $variant) -> Self {
                    Event::$variant(payload)
                }
            }
        )*
    };
}

event_list! {
    emitted {
        /// A tenant was created (notify: welcome mail to the first admin).
        "tenant.created" => TenantCreated, heard by [Notify];
        /// A visitor started a conversation (assign routes it).
        "conversation.created" => ConversationCreated, heard by [Assign, Automation, Notify];
        /// A conversation got an agent.
        "conversation.assigned" => ConversationAssigned, heard by [Assign, Notify];
        /// Nobody could take a conversation; it waits in the queue.
        "conversation.queued" => ConversationQueued, heard by [Assign, Notify];
        /// A conversation was closed (its agent's slot is free: assign drains the queue; automation runs the
        /// `conversation.closed` rules).
        "conversation.closed" => ConversationClosed, heard by [Assign, Automation, Notify];
        /// A closed conversation was reopened (assign routes it again).
        "conversation.reopened" => ConversationReopened, heard by [Assign, Notify];
        /// A conversation was moved to another group (assign routes it there).
        "conversation.transferred" => ConversationTransferred, heard by [Assign, Notify];
        /// A visitor's message was stored.
        "message.received" => MessageReceived, heard by [Automation, Notify];
        /// An agent's or bot's reply, or an internal note, was stored.
        "message.sent" => MessageSent, heard by [Notify];
        /// An agent's presence changed (assign drains the queue when it comes online).
        "agent.status_changed" => AgentStatusChanged, heard by [Assign];
        /// An agent's routing settings or a group's members changed (assign drains the queue).
        "agent.updated" => AgentUpdated, heard by [Assign];
        /// An agent was disabled and its open conversations requeued (assign drains the queue).
        "agent.disabled" => AgentDisabled, heard by [Assign];
        /// A security anomaly was detected (notify emails the tenant's admins).
        "security.alert" => SecurityAlert, heard by [Notify];
        /// A ticket was created (by staff, an API key or the widget's leave-a-message form).
        "ticket.created" => TicketCreated, heard by [Automation];
        /// A ticket got an assignee or a group (notify tells the assignee, else the group's members).
        "ticket.assigned" => TicketAssigned, heard by [Notify];
        /// An operation waits for approval (notify tells the connected holders of `approvals.review`).
        "approval.requested" => ApprovalRequested, heard by [Notify];
        /// The visitor or an agent read a conversation up to a message (notify tells the other side).
        "message.read" => MessageRead, heard by [Notify];
        /// A message was recalled (notify tells the visitor and the assignee).
        "message.recalled" => MessageRecalled, heard by [Notify];
        /// An agent asked the visitor to rate the conversation (notify tells the visitor).
        "rating.requested" => RatingRequested, heard by [Notify];
        /// The visitor rated a conversation (notify tells its agent).
        "conversation.rated" => ConversationRated, heard by [Notify];
        /// A visitor asked for its conversation by email (notify sends the transcript).
        "transcript.requested" => TranscriptRequested, heard by [Notify];
        /// Something for some agents' attention (a rule's `notify`): notify delivers it by each one's preferences.
        "notification.requested" => NotificationRequested, heard by [Notify];
        /// A webhook delivery waits for its try (a rule's `webhook`): notify posts it, retried by the queue.
        "webhook.requested" => WebhookRequested, heard by [Notify];
        /// An export was asked for (or its approval granted): the export consumer writes it.
        "export.requested" => ExportRequested, heard by [Export];
        /// A visitor has waited a rule's `conversation.unanswered_minutes` threshold for an agent's reply (the
        /// timers capability, at the due time; automation runs the rules, notify alerts the assignee).
        "conversation.unanswered" => ConversationUnanswered, heard by [Assign, Automation, Notify];
    }
    reserved {
        /// An SLA was breached (timers, with the SLA issue).
        "sla.breached" => SlaBreached, heard by [Notify];
    }
}

impl EventType {
    /// The type named `s` on the wire.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == s)
    }
}

impl std::fmt::Display for EventType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ids in payloads are checked on the way in, as the API checks them: an id of the wrong shape cannot name one
/// of ours, so the event is a poison message rather than a lookup of nothing.
mod checked {
    use super::*;

    /// An id type with a shape to check.
    pub(super) trait Id: Sized {
        /// What it is, for the error.
        const WHAT: &'static str;
        /// The id, when `s` has its shape.
        fn parse_id(s: &str) -> Option<Self>;
    }

    macro_rules! ids {
        ($($t:ident => $what:literal),*) => {
            $(impl Id for $t {
                const WHAT: &'static str = $what;
                fn parse_id(s: &str) -> Option<Self> {
                    $t::parse(s)
                }
            })*
        };
    }
    ids!(AgentId => "agent id", ConversationId => "conversation id", CustomerId => "customer id",
         GroupId => "group id", MessageId => "message id");
    ids!(TicketId => "ticket id");
    ids!(ApprovalId => "approval id");
    ids!(ExportId => "export id");

    fn check<E: serde::de::Error, T: Id>(s: String) -> Result<T, E> {
        T::parse_id(&s).ok_or_else(|| E::custom(format!("{s:?} is not a valid {}", T::WHAT)))
    }

    /// A required id.
    pub(super) fn id<'de, D: Deserializer<'de>, T: Id>(d: D) -> Result<T, D::Error> {
        check(String::deserialize(d)?)
    }

    /// An id or null.
    pub(super) fn opt_id<'de, D: Deserializer<'de>, T: Id>(d: D) -> Result<Option<T>, D::Error> {
        Option::<String>::deserialize(d)?.map(check).transpose()
    }
}

/// `tenant.created`: a tenant and its first admin were created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantCreated {
    /// The company's name.
    pub name: String,
    /// The first admin's account.
    #[serde(deserialize_with = "checked::id")]
    pub admin_id: AgentId,
    /// The first admin's email address (the welcome mail goes there).
    pub admin_email: String,
}

/// `export.requested`: an export was asked for (or its approval granted); the `export` consumer writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRequested {
    /// The export (its record holds what to write).
    #[serde(deserialize_with = "checked::id")]
    pub export_id: ExportId,
}

/// `conversation.created`: a visitor started a conversation, stored `pending`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationCreated {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The visitor's customer record.
    #[serde(deserialize_with = "checked::id")]
    pub customer_id: CustomerId,
    /// The group asked for; `None` (null) is the default group.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
    /// Its priority (from the customer's group).
    pub priority: Priority,
}

/// `conversation.assigned`: a conversation got an agent (routing, a drain, or staff assigning it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationAssigned {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// Its agent now.
    #[serde(deserialize_with = "checked::id")]
    pub agent_id: AgentId,
    /// The agent it had, when it moved from one agent to another (its slot is free); else `None`.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub previous_agent_id: Option<AgentId>,
    /// The staff member who assigned it; `None` for routing.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub by: Option<AgentId>,
}

/// `conversation.queued`: nobody could take a conversation (or its agent was disabled); it waits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationQueued {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// Its group; `None` is the default group.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
    /// Its priority (its place in the queue).
    pub priority: Priority,
}

/// `conversation.closed`: a conversation was closed and its agent's slot released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationClosed {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The agent it had; `None` when it had none.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub agent_id: Option<AgentId>,
    /// The staff member who closed it, if one did.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub by: Option<AgentId>,
}

/// Who read a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reader {
    /// The visitor.
    Visitor,
    /// An agent.
    Agent,
}

/// `message.read`: the visitor or an agent read a conversation up to a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRead {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// Who read.
    pub reader: Reader,
    /// The last message read.
    #[serde(deserialize_with = "checked::id")]
    pub up_to: MessageId,
}

/// `message.recalled`: a message was withdrawn by its author or a holder of `conversations.delete`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageRecalled {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The message.
    #[serde(deserialize_with = "checked::id")]
    pub message_id: MessageId,
    /// Whether it was an internal note (the visitor is then not told).
    #[serde(default)]
    pub internal: bool,
}

/// `rating.requested`: an agent (or a rule) asked the visitor to rate the conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatingRequested {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The agent who asked, if one did.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub by: Option<AgentId>,
}

/// `conversation.rated`: the visitor rated a conversation (a later rating replaces an earlier one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRated {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// 1 bad, 2 neutral, 3 good.
    pub score: u8,
    /// The score it replaces, if the visitor had rated before.
    #[serde(default)]
    pub previous_score: Option<u8>,
    /// The agent it was assigned to when rated.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub agent_id: Option<AgentId>,
    /// Its group.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
}

/// `transcript.requested`: a visitor asked for its conversation by email.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscriptRequested {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// Where to send it.
    pub email: String,
}

/// `conversation.reopened`: a closed conversation is pending again and will be routed, preferring its agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationReopened {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The agent it had before it was closed.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub previous_agent_id: Option<AgentId>,
    /// The staff member who reopened it; `None` when a visitor's message did.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub by: Option<AgentId>,
}

/// `conversation.transferred`: a conversation was moved to a group, to be routed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationTransferred {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The group it moved to.
    #[serde(deserialize_with = "checked::id")]
    pub group_id: GroupId,
    /// The agent it had (released when it was open).
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub previous_agent_id: Option<AgentId>,
    /// The staff member who moved it.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub by: Option<AgentId>,
}

/// A message as message events carry it: API.md's message shape, unmasked (whoever shows it masks it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMessage {
    /// The message.
    #[serde(deserialize_with = "checked::id")]
    pub id: MessageId,
    /// Its conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// Who wrote it.
    pub author: Author,
    /// The visitor's customer id or the agent's id; `None` for bots and the system.
    pub author_id: Option<String>,
    /// The text, unmasked.
    pub content: String,
    /// An internal note: never shown to the visitor.
    pub internal: bool,
    /// When it was stored.
    pub created_at: jiff::Timestamp,
    /// Always false for a new message (the API's message shape has it; events written before it read false).
    #[serde(default)]
    pub recalled: bool,
    /// The files it carries (issue 15): their metadata, never a link (readers fetch the message for links).
    /// Absent when none, so events without files keep their stored shape.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<kefu_domain::attachment::AttachmentMeta>,
}

/// `message.received`: a visitor's message was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageReceived {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The message.
    pub message: EventMessage,
    /// The transaction that stored the message also counted it in the statistics (intake does, since issue
    /// 14), so the statistics keeper adds nothing for it. Absent (false) in events written before.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub counted: bool,
    /// Whether the message began the visitor's wait for an agent's reply (the conversation had no
    /// `wait_message_id`), as the transaction that stored it checked: `Some(false)` tells the timers that this
    /// wait's timers are armed already, so they read nothing. Absent when unknown (events written before, or
    /// by a path that does not check): the timers then read the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_wait: Option<bool>,
}

/// `conversation.unanswered`: the visitor's oldest unanswered message (`since`) is `minutes` old and no agent
/// has replied; fired once per threshold per wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationUnanswered {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The threshold reached, in minutes (a rule's `conversation.unanswered_minutes`).
    pub minutes: u64,
    /// The visitor's message the wait began with.
    #[serde(deserialize_with = "checked::id")]
    pub message_id: MessageId,
    /// When that message was stored.
    pub since: jiff::Timestamp,
    /// The agent that has not replied, if one is assigned.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub agent_id: Option<AgentId>,
}

/// `message.sent`: an agent's or bot's reply, or an internal note (`message.internal`), was stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSent {
    /// The conversation.
    #[serde(deserialize_with = "checked::id")]
    pub conversation_id: ConversationId,
    /// The message.
    pub message: EventMessage,
}

/// `agent.status_changed`: an agent's presence changed (only on a change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentStatusChanged {
    /// The agent.
    #[serde(deserialize_with = "checked::id")]
    pub agent_id: AgentId,
    /// Its presence now.
    pub status: AgentStatus,
}

/// `agent.updated`: routing may place more conversations now — an agent's settings changed (capacity, groups,
/// skills, shift, enabled again), or a group's members did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum AgentUpdated {
    /// One agent changed: `{"agent_id"}`.
    Agent {
        /// The agent.
        #[serde(deserialize_with = "checked::id")]
        agent_id: AgentId,
    },
    /// A group was changed or deleted: `{"group_id"}`.
    Group {
        /// The group.
        #[serde(deserialize_with = "checked::id")]
        group_id: GroupId,
    },
}

/// `agent.disabled`: an agent was disabled, after its open conversations were requeued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentDisabled {
    /// The agent.
    #[serde(deserialize_with = "checked::id")]
    pub agent_id: AgentId,
    /// How many of its conversations went back to the queue.
    pub requeued: u64,
}

/// Which anomaly rule raised a security alert (see `audit::anomaly`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// Many failed sign-ins or MFA codes in a window (per account, per IP or across the tenant).
    FailedSignInBurst,
    /// A sign-in from a network the account never used.
    NewNetworkSignIn,
    /// One actor read many different customers or transcripts.
    MassRead,
    /// One actor created many exports.
    MassExport,
}

impl AlertKind {
    /// The rule's name (in the audit log and the mail's subject).
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::FailedSignInBurst => "failed_sign_in_burst",
            AlertKind::NewNetworkSignIn => "new_network_sign_in",
            AlertKind::MassRead => "mass_read",
            AlertKind::MassExport => "mass_export",
        }
    }
}

/// What a security alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertTarget {
    /// A staff account (`target_id` is its id).
    Agent,
    /// An email address that names no account (`target_id` is the address).
    Email,
    /// A client IP.
    Ip,
    /// The whole tenant.
    Tenant,
}

impl AlertTarget {
    /// The name, as the audit entry's `target_type`.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertTarget::Agent => "agent",
            AlertTarget::Email => "email",
            AlertTarget::Ip => "ip",
            AlertTarget::Tenant => "tenant",
        }
    }
}

/// Over what a failed sign-in burst was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertScope {
    /// One email address.
    Account,
    /// One client IP, any account.
    Ip,
    /// The whole tenant.
    Tenant,
}

impl AlertScope {
    /// The scope's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertScope::Account => "account",
            AlertScope::Ip => "ip",
            AlertScope::Tenant => "tenant",
        }
    }
}

/// The numbers of the rule that raised an alert: each rule sets its own, the others are absent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertNumbers {
    /// `failed_sign_in_burst`: what was counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<AlertScope>,
    /// `failed_sign_in_burst` per account: the email address tried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// `failed_sign_in_burst`, `mass_export`: how many in the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// The window's length, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window_seconds: Option<u64>,
    /// `new_network_sign_in`: the network (IPv4 /24, IPv6 /48).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `mass_read`: how many different customers or transcripts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_targets: Option<u64>,
}

/// A security alert's detail: the rule's numbers and what caused it. The alert's audit entry carries the same
/// detail, plus the event's id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDetail {
    /// The rule's numbers.
    #[serde(flatten)]
    pub numbers: AlertNumbers,
    /// The rule (as the payload's `kind`).
    pub kind: AlertKind,
    /// The audited action that completed the rule (`auth.login`, `export.create`…).
    pub cause_action: String,
    /// Who did it, when known.
    #[serde(default)]
    pub cause_actor_id: Option<String>,
}

/// `security.alert`: an anomaly rule fired (its audit entry is written in the same transaction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityAlert {
    /// The rule.
    pub kind: AlertKind,
    /// What it is about.
    pub target_type: AlertTarget,
    /// Its id: an account id, an email address, an IP or the tenant's id.
    pub target_id: String,
    /// Who caused it (an account or API key id), when known.
    pub actor_id: Option<String>,
    /// The client IP of the cause, when known.
    pub ip: Option<String>,
    /// The rule's numbers.
    pub detail: AlertDetail,
}

/// `ticket.created`: a ticket was stored, with its audit entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketCreated {
    /// The ticket.
    #[serde(deserialize_with = "checked::id")]
    pub ticket_id: TicketId,
    /// Who made it: `agent`, `widget`, `rule` or `api`.
    pub source: TicketSource,
    /// Its customer, when it has one.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub customer_id: Option<CustomerId>,
    /// The conversation it was made from, if any.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub conversation_id: Option<ConversationId>,
    /// Its agent group, if any.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
    /// Its assignee, if any.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub assignee_id: Option<AgentId>,
    /// How urgent it is.
    pub priority: TicketPriority,
}

/// `ticket.assigned`: a ticket got an assignee or a group (at creation or by a change).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketAssigned {
    /// The ticket.
    #[serde(deserialize_with = "checked::id")]
    pub ticket_id: TicketId,
    /// Its assignee now; `None` when it waits in its group.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub agent_id: Option<AgentId>,
    /// Its group now, if any.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
    /// The assignee it had before, when another.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub previous_agent_id: Option<AgentId>,
    /// Who assigned it (an account or API key id); `None` for the widget.
    #[serde(default)]
    pub by: Option<String>,
}

/// `approval.requested`: a sensitive operation was stored for approval instead of running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalRequested {
    /// The approval request.
    #[serde(deserialize_with = "checked::id")]
    pub approval_id: ApprovalId,
    /// The operation that waits.
    pub operation: SensitiveOperation,
    /// What it acts on (a conversation or customer id).
    pub target_id: String,
    /// Who asked (an account or API key id).
    pub requested_by: String,
    /// When it expires unless decided.
    pub expires_at: jiff::Timestamp,
}

/// `notification.requested`: a notification for an agent or a group's agents (a rule's `notify` action). The
/// `notify` consumer delivers it to each one as its preferences allow (`kefu_app::notifications::deliver`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationRequested {
    /// Its kind (`conversation.new`, `message.new`, … or `rule`): the agents' `events` preferences filter by it.
    pub kind: String,
    /// `urgent` (about a customer of a `high` priority group: through do-not-disturb) or `normal`.
    pub priority: kefu_domain::notification::Urgency,
    /// What to say.
    pub text: String,
    /// The conversation it is about, if any.
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub conversation_id: Option<ConversationId>,
    /// The agent to tell (or none, with `group_id`).
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub agent_id: Option<AgentId>,
    /// The group whose members to tell (or none, with `agent_id`).
    #[serde(default, deserialize_with = "checked::opt_id")]
    pub group_id: Option<GroupId>,
}

/// `webhook.requested`: a stored webhook delivery to try (its body, URL and tries are on the delivery record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookRequested {
    /// The delivery (`T#{t}#WEBHOOKS` / `DELIVERY#{id}`).
    pub delivery_id: kefu_domain::ids::WebhookDeliveryId,
}

/// An event of a reserved type: its name and routing are fixed, its payload is not (no code emits it yet).
/// Its data is kept as it came, so such an event still travels and is routed like any other.
#[derive(Debug, Clone, PartialEq)]
pub struct ReservedEvent {
    event_type: EventType,
    data: Value,
}

impl ReservedEvent {
    /// An event of the reserved type `event_type`; `None` for a type that has a payload struct (build that).
    pub fn new(event_type: EventType, data: Value) -> Option<Self> {
        event_type.is_reserved().then_some(Self { event_type, data })
    }

    /// Its type.
    pub fn event_type(&self) -> EventType {
        self.event_type
    }

    /// Its data, as it came.
    pub fn data(&self) -> &Value {
        &self.data
    }
}

/// An event as stored in the outbox and published: the same bytes reach every consumer. On the wire it is
/// `{"id", "type", "tenant_id", "at", "data"}`, and `"pushed": true` on a copy whose frames intake pushed
/// itself (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope {
    /// Unique per event; consumers deduplicate on it.
    pub id: String,
    /// The tenant the event belongs to.
    pub tenant_id: TenantId,
    /// When it happened.
    pub at: jiff::Timestamp,
    /// What happened: the type and its payload.
    pub event: Event,
    /// Set only on the copy that intake publishes after it pushed the event's frames itself to every connection
    /// concerned (`"pushed": true` on the wire, absent otherwise): the `notify` consumer then pushes nothing
    /// again. The outbox's stored copy never has it, so a copy the sweeper publishes (intake stopped before
    /// publishing) is pushed by `notify`: at least once either way.
    pub pushed: bool,
    /// Set only on the copy that intake publishes after it found that the `automation` consumer has nothing
    /// to do with it (`kefu_app::automation::run::idle_on`: a visitor's message that began no wait, in a tenant
    /// with no rule of its event). Never on the wire: it only adds the topic attribute [`AUTOMATION_DONE`], so
    /// the `automation` queue never receives that copy. The stored copy never has it, so a copy the sweeper
    /// publishes reaches `automation`, which finds nothing to do.
    pub automation_idle: bool,
}

impl Envelope {
    /// A new event with a fresh id. The id is a ULID minted from `at` (the app's clock, not the host's), so
    /// the outbox, which sorts and sweeps by id, orders events by the time the app gave them.
    pub fn new(tenant_id: &TenantId, at: jiff::Timestamp, event: impl Into<Event>) -> Self {
        let millis = u64::try_from(at.as_millisecond()).unwrap_or(0);
        let random = rand::random::<u128>() & ((1u128 << 80) - 1);
        let id = ulid::Ulid::from_parts(millis, random).to_string();
        Self { id, tenant_id: tenant_id.clone(), at, event: event.into(), pushed: false, automation_idle: false }
    }

    /// The event's type (the topic's `type` attribute).
    pub fn event_type(&self) -> EventType {
        self.event.event_type()
    }

    /// The topic attributes this copy is published with besides its type: [`NOTIFY_DONE`] when intake did all
    /// of the `notify` consumer's work on it (a visitor's message whose frames it pushed and which its
    /// transaction counted in the statistics), so the `notify` queue never receives it; [`AUTOMATION_DONE`]
    /// when intake found that `automation` has nothing to do with it ([`Envelope::automation_idle`]). A copy
    /// the sweeper publishes has none: `notify` pushes it (the at-least-once fallback).
    pub fn attributes(&self) -> &'static [(&'static str, &'static str)] {
        const BOTH: &[(&str, &str)] = &[NOTIFY_DONE, AUTOMATION_DONE];
        let notify_done = matches!(&self.event, Event::MessageReceived(m) if self.pushed && m.counted);
        match (notify_done, self.automation_idle) {
            (true, true) => BOTH,
            (true, false) => &BOTH[..1],
            (false, true) => &BOTH[1..],
            (false, false) => &[],
        }
    }

    /// The payload as it travels (the envelope's `data`): what real-time frames forward to clients.
    pub fn data(&self) -> Value {
        Data(&self.event).serialize(serde_json::value::Serializer).expect("a payload serialises")
    }
}

/// The payload of an event, serialised on its own.
struct Data<'a>(&'a Event);

impl Serialize for Data<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize_data(s)
    }
}

impl Serialize for Envelope {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            id: &'a str,
            #[serde(rename = "type")]
            event_type: &'static str,
            tenant_id: &'a TenantId,
            at: &'a jiff::Timestamp,
            data: Data<'a>,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            pushed: bool,
        }
        Wire {
            id: &self.id,
            event_type: self.event_type().as_str(),
            tenant_id: &self.tenant_id,
            at: &self.at,
            data: Data(&self.event),
            pushed: self.pushed,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Envelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Wire {
            id: String,
            #[serde(rename = "type")]
            event_type: String,
            tenant_id: TenantId,
            at: jiff::Timestamp,
            data: Value,
            #[serde(default)]
            pushed: bool,
        }
        let w = Wire::deserialize(d)?;
        let ty = EventType::parse(&w.event_type)
            .ok_or_else(|| D::Error::custom(format!("unknown event type {:?}", w.event_type)))?;
        let event = Event::decode(ty, w.data).map_err(|e| D::Error::custom(format!("{ty} data: {e}")))?;
        Ok(Self { id: w.id, tenant_id: w.tenant_id, at: w.at, event, pushed: w.pushed, automation_idle: false })
    }
}

/// The topic attribute (name, value) of a copy the `notify` consumer has nothing to do with
/// ([`Envelope::attributes`]); its subscription accepts only copies without it.
pub const NOTIFY_DONE: (&str, &str) = ("notify", "done");

/// The topic attribute (name, value) of a copy the `automation` consumer has nothing to do with
/// ([`Envelope::automation_idle`]); its subscription accepts only copies without it.
pub const AUTOMATION_DONE: (&str, &str) = ("automation", "done");

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

    /// The event types this consumer hears, in the list's order.
    pub fn event_types(self) -> impl Iterator<Item = EventType> {
        EventType::ALL.iter().copied().filter(move |t| t.consumers().contains(&self))
    }

    /// The subscription's filter policy: the exact types this consumer hears ([`EventType::consumers`]), and
    /// for `notify` only copies without [`NOTIFY_DONE`], for `automation` only copies without
    /// [`AUTOMATION_DONE`]. `infra/template.yaml` carries the same lists, in the same order; a test keeps them
    /// equal.
    pub fn filter_policy(self) -> FilterPolicy {
        let types = FilterPolicy::types(self.event_types().map(EventType::as_str));
        match self {
            ConsumerName::Notify => types.without(NOTIFY_DONE.0),
            ConsumerName::Automation => types.without(AUTOMATION_DONE.0),
            _ => types,
        }
    }
}

/// After this many receives a message moves to its consumer's dead-letter queue (as in the template).
pub const MAX_RECEIVE_COUNT: u32 = 5;

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const TENANT: &str = "tn_01jd2q8m6xg3r8w6b4s1e2c9va";
    const CV: &str = "cv_01jd2q8m6xg3r8w6b4s1e2c9va";
    const CU: &str = "cu_01jd2q8m6xg3r8w6b4s1e2c9va";
    const GR: &str = "gr_01jd2q8m6xg3r8w6b4s1e2c9va";
    const MS: &str = "ms_01jd2q8m6xg3r8w6b4s1e2c9va";
    const AG: &str = "ag_01jd2q8m6xg3r8w6b4s1e2c9va";
    const AG2: &str = "ag_01jd2q8m6xg3r8w6b4s1e2c9vb";
    const TK: &str = "tk_01jd2q8m6xg3r8w6b4s1e2c9va";

    fn id<T: checked::Id>(s: &str) -> T {
        T::parse_id(s).unwrap()
    }

    /// The `data` of each emitted type exactly as the code before typed payloads wrote it (`json!`, keys
    /// sorted), i.e. as outbox entries and queued messages already hold it.
    fn stored(ty: EventType) -> String {
        match ty {
            EventType::TenantCreated => {
                format!(r#"{{"admin_email":"admin@demo.test","admin_id":"{AG}","name":"Demo Company"}}"#)
            }
            EventType::ConversationCreated => {
                format!(r#"{{"conversation_id":"{CV}","customer_id":"{CU}","group_id":null,"priority":"high"}}"#)
            }
            EventType::ConversationAssigned => {
                format!(r#"{{"agent_id":"{AG}","by":"{AG2}","conversation_id":"{CV}","previous_agent_id":null}}"#)
            }
            EventType::ConversationQueued => {
                format!(r#"{{"conversation_id":"{CV}","group_id":"{GR}","priority":"normal"}}"#)
            }
            EventType::ConversationClosed => format!(r#"{{"agent_id":"{AG}","by":null,"conversation_id":"{CV}"}}"#),
            EventType::ConversationReopened => {
                format!(r#"{{"by":"{AG2}","conversation_id":"{CV}","previous_agent_id":"{AG}"}}"#)
            }
            EventType::ConversationTransferred => {
                format!(r#"{{"by":"{AG2}","conversation_id":"{CV}","group_id":"{GR}","previous_agent_id":null}}"#)
            }
            EventType::MessageReceived => format!(
                r#"{{"conversation_id":"{CV}","message":{{"id":"{MS}","conversation_id":"{CV}","author":"visitor","author_id":"{CU}","content":"hello","internal":false,"created_at":"2026-11-25T08:00:00.123456789Z","recalled":false}}}}"#
            ),
            EventType::MessageSent => format!(
                r#"{{"conversation_id":"{CV}","message":{{"id":"{MS}","conversation_id":"{CV}","author":"agent","author_id":"{AG}","content":"a note","internal":true,"created_at":"2026-11-25T08:00:00Z","recalled":false}}}}"#
            ),
            EventType::AgentStatusChanged => format!(r#"{{"agent_id":"{AG}","status":"online"}}"#),
            EventType::AgentUpdated => format!(r#"{{"agent_id":"{AG}"}}"#),
            EventType::AgentDisabled => format!(r#"{{"agent_id":"{AG}","requeued":3}}"#),
            EventType::SecurityAlert => format!(
                r#"{{"actor_id":"{AG}","detail":{{"cause_action":"export.create","cause_actor_id":"{AG}","count":3,"kind":"mass_export","window_seconds":3600}},"ip":"192.0.2.1","kind":"mass_export","target_id":"{AG}","target_type":"agent"}}"#
            ),
            EventType::TicketCreated => format!(
                r#"{{"assignee_id":null,"conversation_id":"{CV}","customer_id":"{CU}","group_id":"{GR}","priority":"high","source":"agent","ticket_id":"{TK}"}}"#
            ),
            EventType::TicketAssigned => {
                format!(
                    r#"{{"agent_id":"{AG}","by":"{AG2}","group_id":null,"previous_agent_id":null,"ticket_id":"{TK}"}}"#
                )
            }
            EventType::ApprovalRequested => format!(
                r#"{{"approval_id":"ap_01jd2q8m6xg3r8w6b4s1e2c9va","expires_at":"2026-11-28T08:00:00Z","operation":"conversation.delete","requested_by":"{AG}","target_id":"{CV}"}}"#
            ),
            EventType::MessageRead => format!(r#"{{"conversation_id":"{CV}","reader":"visitor","up_to":"{MS}"}}"#),
            EventType::MessageRecalled => {
                format!(r#"{{"conversation_id":"{CV}","internal":false,"message_id":"{MS}"}}"#)
            }
            EventType::RatingRequested => format!(r#"{{"by":"{AG}","conversation_id":"{CV}"}}"#),
            EventType::ConversationRated => format!(
                r#"{{"agent_id":"{AG}","conversation_id":"{CV}","group_id":null,"previous_score":null,"score":3}}"#
            ),
            EventType::TranscriptRequested => format!(r#"{{"conversation_id":"{CV}","email":"li@example.com"}}"#),
            EventType::NotificationRequested => format!(
                r#"{{"agent_id":null,"conversation_id":"{CV}","group_id":"{GR}","kind":"message.new","priority":"urgent","text":"New sales lead"}}"#
            ),
            EventType::WebhookRequested => r#"{"delivery_id":"wh_01jd2q8m6xg3r8w6b4s1e2c9va"}"#.to_owned(),
            EventType::ExportRequested => r#"{"export_id":"ex_01jd2q8m6xg3r8w6b4s1e2c9va"}"#.to_owned(),
            EventType::ConversationUnanswered => format!(
                r#"{{"agent_id":"{AG}","conversation_id":"{CV}","message_id":"{MS}","minutes":5,"since":"2026-03-01T10:00:00Z"}}"#
            ),
            reserved => panic!("{reserved} has no payload"),
        }
    }

    fn body(ty: &str, data: &str) -> String {
        format!(
            r#"{{"id":"01JD2Q8M6Y7N3F0ZK5T9W4XH2C","type":"{ty}","tenant_id":"{TENANT}","at":"2026-11-25T08:00:00.5Z","data":{data}}}"#
        )
    }

    /// An envelope stored before typed payloads reads as `expected`, and writes back the same JSON.
    fn round_trip(expected: impl Into<Event>) {
        let expected = expected.into();
        let ty = expected.event_type();
        let envelope = body(ty.as_str(), &stored(ty));
        let read: Envelope = serde_json::from_str(&envelope).unwrap_or_else(|e| panic!("{ty}: {e}"));
        assert_eq!(read.event, expected, "{ty}");
        assert_eq!((read.id.as_str(), read.tenant_id.as_str()), ("01JD2Q8M6Y7N3F0ZK5T9W4XH2C", TENANT));
        let written = serde_json::to_string(&read).unwrap();
        let as_json = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(as_json(&written), as_json(&envelope), "{ty}: the same JSON as stored");
        assert!(written.starts_with(r#"{"id":"#) && written.contains(&format!(r#""type":"{ty}""#)), "{written}");
        assert_eq!(serde_json::from_str::<Envelope>(&written).unwrap(), read, "{ty}: reads back");
        assert_eq!(read.data(), as_json(&stored(ty)));
    }

    #[test]
    fn pushed_is_on_the_wire_only_when_true_and_reads_back() {
        let ty = EventType::TenantCreated;
        let stored_body = body(ty.as_str(), &stored(ty));
        let mut read: Envelope = serde_json::from_str(&stored_body).unwrap();
        assert!(!read.pushed, "absent: not pushed");
        assert!(!serde_json::to_string(&read).unwrap().contains("pushed"));
        read.pushed = true;
        let written = serde_json::to_string(&read).unwrap();
        assert!(written.ends_with(r#","pushed":true}"#), "{written}");
        assert_eq!(serde_json::from_str::<Envelope>(&written).unwrap(), read);
    }

    /// A visitor's message that intake pushed and counted skips the `notify` queue; every other copy (the
    /// sweeper's, one whose push failed, one not counted) reaches it, and the other consumers hear all of them.
    #[test]
    fn only_a_copy_intake_pushed_and_counted_skips_notify() {
        let m = message(Author::Visitor, CU, "hello", false, "2026-11-25T08:00:00.123456789Z");
        let copy = |counted: bool, pushed: bool| {
            let mut e = Envelope::new(
                &TenantId::parse(TENANT).unwrap(),
                "2026-11-25T08:00:00Z".parse().unwrap(),
                MessageReceived { conversation_id: id(CV), message: m.clone(), counted, starts_wait: None },
            );
            e.pushed = pushed;
            let mut attrs = BTreeMap::from([("type".to_owned(), e.event_type().as_str().to_owned())]);
            attrs.extend(e.attributes().iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            attrs
        };
        let notify = ConsumerName::Notify.filter_policy();
        let automation = ConsumerName::Automation.filter_policy();
        assert!(!notify.accepts(&copy(true, true)));
        assert!(automation.accepts(&copy(true, true)));
        for (counted, pushed) in [(true, false), (false, true), (false, false)] {
            assert!(notify.accepts(&copy(counted, pushed)), "counted {counted}, pushed {pushed}");
            assert!(automation.accepts(&copy(counted, pushed)));
        }
        let ty = EventType::TenantCreated;
        let mut tenant: Envelope = serde_json::from_str(&body(ty.as_str(), &stored(ty))).unwrap();
        tenant.pushed = true;
        assert!(tenant.attributes().is_empty(), "only a visitor's message is ever done at intake");
    }

    /// A copy intake found `automation` idle on skips the `automation` queue, whether or not it also skips
    /// `notify`; the flag never travels, so the copy a queue receives (or the sweeper's) reads back without it.
    #[test]
    fn a_copy_marked_automation_idle_skips_automation_only() {
        let m = message(Author::Visitor, CU, "hello", false, "2026-11-25T08:00:00.123456789Z");
        let attrs_of = |e: &Envelope| {
            let mut attrs = BTreeMap::from([("type".to_owned(), e.event_type().as_str().to_owned())]);
            attrs.extend(e.attributes().iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
            attrs
        };
        let notify = ConsumerName::Notify.filter_policy();
        let automation = ConsumerName::Automation.filter_policy();
        for pushed in [true, false] {
            let mut e = Envelope::new(
                &TenantId::parse(TENANT).unwrap(),
                "2026-11-25T08:00:00Z".parse().unwrap(),
                MessageReceived {
                    conversation_id: id(CV),
                    message: m.clone(),
                    counted: true,
                    starts_wait: Some(false),
                },
            );
            e.pushed = pushed;
            e.automation_idle = true;
            assert!(!automation.accepts(&attrs_of(&e)), "pushed {pushed}");
            assert_eq!(notify.accepts(&attrs_of(&e)), !pushed, "pushed {pushed}");
            let written = serde_json::to_string(&e).unwrap();
            assert!(!written.contains("automation"), "{written}");
            let read: Envelope = serde_json::from_str(&written).unwrap();
            assert!(!read.automation_idle && automation.accepts(&attrs_of(&read)));
        }
    }

    #[test]
    fn tenant_created_round_trips() {
        round_trip(TenantCreated {
            name: "Demo Company".into(),
            admin_id: id(AG),
            admin_email: "admin@demo.test".into(),
        });
    }

    #[test]
    fn conversation_created_round_trips() {
        round_trip(ConversationCreated {
            conversation_id: id(CV),
            customer_id: id(CU),
            group_id: None,
            priority: Priority::High,
        });
    }

    #[test]
    fn conversation_assigned_round_trips() {
        round_trip(ConversationAssigned {
            conversation_id: id(CV),
            agent_id: id(AG),
            previous_agent_id: None,
            by: Some(id(AG2)),
        });
    }

    #[test]
    fn conversation_queued_round_trips() {
        round_trip(ConversationQueued { conversation_id: id(CV), group_id: Some(id(GR)), priority: Priority::Normal });
    }

    #[test]
    fn conversation_closed_round_trips() {
        round_trip(ConversationClosed { conversation_id: id(CV), agent_id: Some(id(AG)), by: None });
    }

    #[test]
    fn conversation_reopened_round_trips() {
        round_trip(ConversationReopened {
            conversation_id: id(CV),
            previous_agent_id: Some(id(AG)),
            by: Some(id(AG2)),
        });
    }

    #[test]
    fn conversation_transferred_round_trips() {
        round_trip(ConversationTransferred {
            conversation_id: id(CV),
            group_id: id(GR),
            previous_agent_id: None,
            by: Some(id(AG2)),
        });
    }

    #[test]
    fn ticket_created_round_trips() {
        round_trip(TicketCreated {
            ticket_id: id(TK),
            source: TicketSource::Agent,
            customer_id: Some(id(CU)),
            conversation_id: Some(id(CV)),
            group_id: Some(id(GR)),
            assignee_id: None,
            priority: TicketPriority::High,
        });
    }

    #[test]
    fn ticket_assigned_round_trips() {
        round_trip(TicketAssigned {
            ticket_id: id(TK),
            agent_id: Some(id(AG)),
            group_id: None,
            previous_agent_id: None,
            by: Some(AG2.into()),
        });
    }

    #[test]
    fn approval_requested_round_trips() {
        round_trip(ApprovalRequested {
            approval_id: id("ap_01jd2q8m6xg3r8w6b4s1e2c9va"),
            operation: SensitiveOperation::DeleteConversation,
            target_id: CV.into(),
            requested_by: AG.into(),
            expires_at: "2026-11-28T08:00:00Z".parse().unwrap(),
        });
    }

    #[test]
    fn notification_requested_round_trips() {
        round_trip(NotificationRequested {
            kind: "message.new".into(),
            priority: kefu_domain::notification::Urgency::Urgent,
            text: "New sales lead".into(),
            conversation_id: Some(id(CV)),
            agent_id: None,
            group_id: Some(id(GR)),
        });
    }

    fn message(author: Author, author_id: &str, content: &str, internal: bool, at: &str) -> EventMessage {
        EventMessage {
            id: id(MS),
            conversation_id: id(CV),
            author,
            author_id: Some(author_id.into()),
            content: content.into(),
            internal,
            created_at: at.parse().unwrap(),
            recalled: false,
            attachments: Vec::new(),
        }
    }

    #[test]
    fn message_received_round_trips() {
        let m = message(Author::Visitor, CU, "hello", false, "2026-11-25T08:00:00.123456789Z");
        round_trip(MessageReceived { conversation_id: id(CV), message: m.clone(), counted: false, starts_wait: None });
        // Counted by intake's transaction: on the wire only then, and read back.
        let counted = Envelope::new(
            &TenantId::parse(TENANT).unwrap(),
            "2026-11-25T08:00:00Z".parse().unwrap(),
            MessageReceived { conversation_id: id(CV), message: m, counted: true, starts_wait: Some(false) },
        );
        let written = serde_json::to_string(&counted).unwrap();
        assert!(written.contains(r#""counted":true"#) && written.contains(r#""starts_wait":false"#), "{written}");
        assert_eq!(serde_json::from_str::<Envelope>(&written).unwrap(), counted);
    }

    #[test]
    fn message_sent_round_trips() {
        let m = message(Author::Agent, AG, "a note", true, "2026-11-25T08:00:00Z");
        round_trip(MessageSent { conversation_id: id(CV), message: m });
    }

    #[test]
    fn agent_status_changed_round_trips() {
        round_trip(AgentStatusChanged { agent_id: id(AG), status: AgentStatus::Online });
    }

    #[test]
    fn agent_updated_round_trips_for_an_agent_and_for_a_group() {
        round_trip(AgentUpdated::Agent { agent_id: id(AG) });
        let group = body("agent.updated", &format!(r#"{{"group_id":"{GR}"}}"#));
        let read: Envelope = serde_json::from_str(&group).unwrap();
        assert_eq!(read.event, Event::AgentUpdated(AgentUpdated::Group { group_id: id(GR) }));
        assert_eq!(serde_json::to_value(&read).unwrap(), serde_json::from_str::<Value>(&group).unwrap());
    }

    #[test]
    fn agent_disabled_round_trips() {
        round_trip(AgentDisabled { agent_id: id(AG), requeued: 3 });
    }

    #[test]
    fn security_alert_round_trips() {
        round_trip(SecurityAlert {
            kind: AlertKind::MassExport,
            target_type: AlertTarget::Agent,
            target_id: AG.into(),
            actor_id: Some(AG.into()),
            ip: Some("192.0.2.1".into()),
            detail: AlertDetail {
                numbers: AlertNumbers { count: Some(3), window_seconds: Some(3600), ..AlertNumbers::default() },
                kind: AlertKind::MassExport,
                cause_action: "export.create".into(),
                cause_actor_id: Some(AG.into()),
            },
        });
        // A burst on an email that names no account (the account's `email` was written null when unknown).
        let data = r#"{"actor_id":null,"detail":{"cause_action":"auth.login","cause_actor_id":null,"count":10,
            "email":null,"kind":"failed_sign_in_burst","scope":"account","window_seconds":600},"ip":null,
            "kind":"failed_sign_in_burst","target_id":"x@y.test","target_type":"email"}"#;
        let Event::SecurityAlert(alert) =
            serde_json::from_str::<Envelope>(&body("security.alert", data)).unwrap().event
        else {
            panic!("a security alert")
        };
        assert_eq!((alert.target_type, alert.detail.numbers.scope), (AlertTarget::Email, Some(AlertScope::Account)));
        assert_eq!((alert.detail.numbers.email, alert.detail.numbers.count), (None, Some(10)));
    }

    #[test]
    fn reserved_types_travel_with_their_data_as_it_came() {
        let data = format!(r#"{{"conversation_id":"{CV}","minutes":5}}"#);
        let read: Envelope = serde_json::from_str(&body("sla.breached", &data)).unwrap();
        let Event::Reserved(r) = &read.event else { panic!("reserved") };
        assert_eq!((r.event_type(), r.data()["minutes"].as_u64()), (EventType::SlaBreached, Some(5)));
        assert_eq!(read.data(), serde_json::from_str::<Value>(&data).unwrap());
        assert!(ReservedEvent::new(EventType::SlaBreached, Value::Null).is_some());
        assert!(ReservedEvent::new(EventType::ConversationCreated, Value::Null).is_none(), "it has a payload struct");
    }

    #[test]
    fn payloads_that_do_not_decode_are_refused() {
        let refused = |ty: &str, data: &str| serde_json::from_str::<Envelope>(&body(ty, data)).unwrap_err().to_string();
        assert!(refused("nobody.listens", "{}").contains("unknown event type"));
        let e = refused("conversation.created", r#"{"conversation_id":"nope","customer_id":null,"priority":"high"}"#);
        assert!(e.contains("conversation.created") && e.contains("not a valid conversation id"), "{e}");
        assert!(refused("agent.status_changed", &format!(r#"{{"agent_id":"{AG}","status":"busy"}}"#)).contains("busy"));
        assert!(refused("agent.disabled", &format!(r#"{{"agent_id":"{AG}"}}"#)).contains("requeued"));
        assert!(refused("agent.updated", "{}").contains("agent.updated"));
        assert!(serde_json::from_str::<Envelope>(r#"{"id":"x","type":"tenant.created"}"#).is_err());
    }

    #[test]
    fn every_type_has_one_name_and_someone_who_hears_it() {
        for &t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Some(t));
            assert!(!t.consumers().is_empty(), "{t} reaches nobody");
        }
        assert_eq!(EventType::parse("conversation.creat"), None);
        let names: std::collections::BTreeSet<_> = EventType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), EventType::ALL.len());
    }

    /// Event types added after the filter policies were derived from the list.
    const ADDED_SINCE: &[&str] =
        &["message.read", "message.recalled", "rating.requested", "conversation.rated", "transcript.requested"];

    /// The policies as they were written by hand (and in the template) before they were derived: every type
    /// reaches the same consumers.
    #[test]
    fn derived_policies_route_every_type_as_the_hand_written_ones_did() {
        let by_hand = |c: ConsumerName| -> FilterPolicy {
            serde_json::from_str(match c {
                ConsumerName::Assign => r#"{"type": [{"prefix": "conversation."}, {"prefix": "agent."}]}"#,
                ConsumerName::Automation => {
                    r#"{"type": ["conversation.created", "conversation.closed", "message.received", "conversation.unanswered", "ticket.created"]}"#
                }
                ConsumerName::Notify => {
                    r#"{"type": [{"prefix": "message."}, {"prefix": "conversation."}, "tenant.created", "security.alert", "sla.breached", "ticket.assigned", "approval.requested", "notification.requested", "webhook.requested"]}"#
                }
                ConsumerName::Export => r#"{"type": ["export.requested"]}"#,
            })
            .unwrap()
        };
        for c in ConsumerName::ALL {
            let derived = c.filter_policy();
            for &t in EventType::ALL {
                let attrs = BTreeMap::from([("type".to_owned(), t.as_str().to_owned())]);
                // Types added after the policies were derived have no hand-written routing to agree with.
                if !ADDED_SINCE.contains(&t.as_str()) {
                    assert_eq!(derived.accepts(&attrs), by_hand(c).accepts(&attrs), "{t} for {}", c.as_str());
                }
                assert_eq!(derived.accepts(&attrs), t.consumers().contains(&c), "{t} for {}", c.as_str());
            }
        }
        assert_eq!(
            serde_json::to_value(ConsumerName::Export.filter_policy()).unwrap(),
            serde_json::json!({"type": ["export.requested"]})
        );
    }

    /// `docs/events.md` lists every type with its status, its payload's fields and who hears it.
    #[test]
    fn the_events_page_lists_every_type_as_the_code_declares_it() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/events.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let section = doc.split("\n## Event types").nth(1).and_then(|s| s.split("\n## ").next()).unwrap();
        for &t in EventType::ALL {
            let name = format!("`{t}`");
            let row = section
                .lines()
                .find(|l| l.split('|').nth(1).is_some_and(|c| c.trim() == name))
                .unwrap_or_else(|| panic!("docs/events.md has no row for {t}"));
            let cells: Vec<&str> = row.split('|').map(str::trim).collect();
            let (status, data, heard) = (cells[2], cells[4], cells[5]);
            let expected: Vec<&str> = t.consumers().iter().map(|c| c.as_str()).collect();
            assert_eq!(heard.split(", ").collect::<Vec<_>>(), expected, "{t}: delivered to");
            assert_eq!(status.contains("emitted"), !t.is_reserved(), "{t}: status {status}");
            if t.is_reserved() {
                continue;
            }
            let fields = serde_json::from_str::<Value>(&stored(t)).unwrap();
            for field in fields.as_object().unwrap().keys() {
                assert!(data.contains(&format!("`{field}`")), "{t}: docs/events.md does not name `{field}`");
            }
        }
    }
}
