//! Conversations and their messages: the items as stored, the views the API answers with, who may see what,
//! and the writes that add a message (message, conversation update and outbox entry in one transaction).
//!
//! The builders here are pure (no I/O), so the intake hot path can be measured without a store. Every change
//! of `status`, `assignee_id` or `group_id` after creation belongs to the assignment module; the writes here
//! touch only `last_message_at`, `first_response_at`, `tags` and the activity index, without
//! conditions on the fields assignment changes.

use std::sync::Mutex;

use kefu_domain::routing::Priority;
use kefu_domain::{
    AgentId, Author, ConversationId, ConversationStatus, CustomerId, GroupId, MessageContent, MessageId, Permission,
    TagName, TenantId, ValidationError,
};
use kefu_ports::table::{CmpOp, Condition, Index, Item, Query, SkCondition, TableError, TxOp, Update};
use serde::Serialize;
use serde_json::{Value, json};

pub mod attachments;
pub mod error;
pub mod record;
pub mod widget;
pub mod widget_settings;

use crate::plumbing::pages::filtered_records;
use crate::plumbing::record::Record;
pub use error::ConversationError;
use record::millis;
pub use record::{ConversationRecord, MessageRecord};

use crate::App;
use crate::audit::AuditEntry;
use crate::identity::accounts::Principal;
use crate::plumbing::events::{ConversationCreated, Envelope, EventMessage, MessageReceived, MessageSent};
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest, bad_cursor};

/// A message as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct MessageView {
    /// Message id (`ms_…`).
    pub id: String,
    /// Its conversation.
    pub conversation_id: String,
    /// `visitor` | `agent` | `bot` | `system`.
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub author: Author,
    /// The visitor's customer id or the agent's id; null for bots and the system.
    pub author_id: Option<String>,
    /// The text (masked for readers without `customers.view_sensitive`).
    pub content: String,
    /// An internal note: never shown to the visitor.
    pub internal: bool,
    /// When it was stored.
    pub created_at: String,
    /// Withdrawn by its author: its `content` is then empty, except for holders of `audit.view` who ask for
    /// `include_recalled`.
    pub recalled: bool,
    /// The files attached to it, each with a download link made afresh on every read (a recalled message shows
    /// none); absent when none (the message shape events carry).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<attachments::AttachmentView>,
}

impl MessageView {
    /// The view of a stored message: a recalled one shows no content.
    pub fn of(m: &MessageRecord) -> Self {
        let mut v = Self::original(m);
        if v.recalled {
            v.content = String::new();
            v.attachments.clear();
        }
        v
    }

    /// The view of a stored message with its content even when recalled (for holders of `audit.view`).
    pub fn original(m: &MessageRecord) -> Self {
        Self {
            id: m.message_id.to_string(),
            conversation_id: m.conversation_id.to_string(),
            author: m.author,
            author_id: m.author_id.clone(),
            content: m.content.clone(),
            internal: m.internal,
            created_at: m.created_at.to_string(),
            recalled: m.recalled_at.is_some(),
            attachments: m.attachments.iter().map(attachments::AttachmentView::unlinked).collect(),
        }
    }
}

/// A conversation in lists (API.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ConversationView {
    /// Conversation id (`cv_…`).
    pub id: String,
    /// The visitor's customer record.
    pub customer_id: String,
    /// `open` | `queued` | `closed` (API.md): a conversation waiting without an assignee reads `queued`, whether
    /// or not routing has placed it in the queue yet ([`ConversationStatus::shown`]).
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub status: ConversationStatus,
    /// The agent it is assigned to.
    pub assignee_id: Option<String>,
    /// Its agent group (null: the default group).
    pub group_id: Option<String>,
    /// `high` | `normal` | `low`, from the customer's group.
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub priority: Priority,
    /// Tag names.
    pub tags: Vec<String>,
    /// When the visitor started it.
    pub created_at: String,
    /// The last message (or the start).
    pub last_message_at: String,
    /// The visitor's messages no agent has read yet (`POST .../read` moves the mark).
    pub unread: u64,
}

impl ConversationView {
    /// The view of a stored conversation.
    pub fn of(c: &ConversationRecord) -> Self {
        Self {
            id: c.conversation_id.to_string(),
            customer_id: c.customer_id.to_string(),
            status: c.status.shown(),
            assignee_id: c.assignee_id.as_ref().map(ToString::to_string),
            group_id: c.group_id.as_ref().map(ToString::to_string),
            priority: c.priority,
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            created_at: c.created_at.to_string(),
            last_message_at: c.last_message_at.to_string(),
            unread: c.visitor_messages.saturating_sub(c.agent_read_count),
        }
    }
}

/// One conversation in full (`GET /v1/conversations/{id}`): the list fields plus the last routing decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ConversationDetail {
    /// The list fields.
    #[serde(flatten)]
    pub conversation: ConversationView,
    /// The last routing decision (API.md shape), null until routed.
    #[cfg_attr(feature = "http", schema(value_type = Option<Object>))]
    pub routing: Option<Value>,
    /// The page the visitor started from.
    pub page_url: Option<String>,
    /// Since when the visitor has been waiting for an answer (null once answered).
    pub waiting_since: Option<String>,
    /// Skills an agent needs to take it.
    pub skills: Vec<String>,
    /// The last automation runs (newest last): each `{"event", "event_id", "at", "rules": [{"rule_id", "name",
    /// "actions": [{"type", "result"}]}], "trace"}`; absent when no rule ever ran on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "http", schema(value_type = Option<Vec<Object>>))]
    pub automation: Option<Value>,
    /// The first agent reply (bots do not count).
    pub first_response_at: Option<String>,
    /// The last message the visitor has read.
    pub visitor_read_up_to: Option<String>,
    /// The last message an agent has read.
    pub agent_read_up_to: Option<String>,
    /// The visitor's rating, if any.
    pub rating: Option<RatingView>,
}

/// A rating as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RatingView {
    /// 1 bad, 2 neutral, 3 good.
    pub score: u8,
    /// The visitor's comment.
    pub comment: Option<String>,
    /// When.
    pub at: String,
}

impl ConversationDetail {
    /// The detail view of a stored conversation.
    pub fn of(c: &ConversationRecord) -> Self {
        Self {
            conversation: ConversationView::of(c),
            routing: c.routing.clone().filter(|v| !v.is_null()),
            page_url: c.page_url.clone(),
            waiting_since: c.waiting_since.map(|t| t.to_string()),
            skills: c.skills.clone(),
            automation: c.automation.clone(),
            first_response_at: c.first_response_at.map(|t| t.to_string()),
            visitor_read_up_to: c.visitor_read_up_to.as_ref().map(ToString::to_string),
            agent_read_up_to: c.agent_read_up_to.as_ref().map(ToString::to_string),
            rating: c.rating.as_ref().map(|r| RatingView {
                score: r.score,
                comment: r.comment.clone(),
                at: r.at.to_string(),
            }),
        }
    }

    /// The detail of a stored conversation with its last routing decision, read from the decision's own item
    /// (one more `GetItem`); a conversation stored before decisions had their own item shows the one it holds.
    pub async fn load(app: &App, c: &ConversationRecord) -> Result<Self, TableError> {
        let mut detail = Self::of(c);
        if let Some(item) = app.table.get(&keys::conversation_routing(&c.tenant_id, &c.conversation_id)).await? {
            detail.routing = Some(crate::assignment::RoutingRecord::from_item(item)?.routing).filter(|v| !v.is_null());
        }
        Ok(detail)
    }
}

/// A new message id minted at `at`, strictly increasing within this process even for messages stored in the
/// same millisecond, so a poll `after` one message never skips a later one written by this instance.
pub fn next_message_id(at: jiff::Timestamp) -> MessageId {
    static LAST: Mutex<(u64, u128)> = Mutex::new((0, 0));
    let ms = u64::try_from(millis(at)).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (ms, random) = if ms <= last.0 {
        (last.0, last.1.wrapping_add(1) & ((1u128 << 80) - 1))
    } else {
        (ms, rand::random::<u128>() & ((1u128 << 79) - 1))
    };
    *last = (ms, random);
    MessageId::from_ulid(ulid::Ulid::from_parts(ms, random))
}

/// A conversation a visitor starts.
#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// Its id.
    pub id: &'a ConversationId,
    /// The visitor's customer record.
    pub customer: &'a CustomerId,
    /// The agent group asked for (None: the default group).
    pub group: Option<&'a GroupId>,
    /// From the customer's group.
    pub priority: Priority,
    /// The page the widget is on.
    pub page_url: Option<&'a str>,
    /// Now.
    pub at: jiff::Timestamp,
}

/// The conversation item as first stored: `pending`, no assignee, waiting since now.
pub fn conversation_item(c: &NewConversation<'_>) -> Item {
    ConversationRecord::started(c.tenant, c.id, c.customer, c.group, c.priority, c.page_url, c.at).to_item()
}

/// The `conversation.created` event.
pub fn created_event(c: &NewConversation<'_>) -> Envelope {
    let created = ConversationCreated {
        conversation_id: c.id.clone(),
        customer_id: c.customer.clone(),
        group_id: c.group.cloned(),
        priority: c.priority,
    };
    Envelope::new(c.tenant, c.at, created)
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The conversation.
    pub conversation: &'a ConversationId,
    /// Its id (see [`next_message_id`]).
    pub id: &'a MessageId,
    /// Who wrote it.
    pub author: Author,
    /// The customer (visitor) or the agent.
    pub author_id: Option<&'a str>,
    /// The text.
    pub content: &'a MessageContent,
    /// An internal note.
    pub internal: bool,
    /// Now.
    pub at: jiff::Timestamp,
    /// The files it carries (checked and moved by [`attachments::take`]).
    pub attachments: &'a [kefu_domain::attachment::AttachmentMeta],
}

impl NewMessage<'_> {
    /// The view of the message, as events carry it.
    pub fn view(&self) -> MessageView {
        MessageView::of(&self.record())
    }

    /// The message as stored.
    pub fn record(&self) -> MessageRecord {
        MessageRecord {
            message_id: self.id.clone(),
            conversation_id: self.conversation.clone(),
            tenant_id: self.tenant.clone(),
            author: self.author,
            author_id: self.author_id.map(str::to_owned),
            content: self.content.as_str().to_owned(),
            internal: self.internal,
            created_at: self.at,
            recalled_at: None,
            recalled_by: None,
            attachments: self.attachments.to_vec(),
        }
    }

    /// The message item.
    pub fn item(&self) -> Item {
        self.record().to_item()
    }

    /// The transaction operations that store the message and touch its conversation (never `status`,
    /// `assignee_id`, `group_id` or `waiting_since`, which routing owns). Each needs the conversation to exist
    /// with its deletion not begun ([`keys::conversation_live`]: position 1 fails otherwise), and:
    /// - a visitor's message needs it not closed,
    ///   moves `last_message_at` and, when the visitor was not waiting yet, starts the wait
    ///   (`wait_message_id`, `wait_since`);
    /// - an agent's reply moves `last_message_at`, stamps `first_response_at` once and ends the wait; a bot's or the system's
    ///   only moves `last_message_at` (API.md: a first response is the first agent reply, never a bot's);
    /// - an internal note only checks the conversation (it is not activity the visitor sees).
    pub fn ops(&self) -> Vec<TxOp> {
        let key = keys::conversation(self.tenant, self.conversation);
        let at = json!(self.at);
        let index_sk = json!(keys::conversations_index_sk(millis(self.at), self.conversation));
        let touch = match (self.internal, self.author) {
            (true, _) => TxOp::Check { key, condition: keys::conversation_live() },
            (false, Author::Visitor) => TxOp::Update {
                key,
                update: Update::new()
                    .set("last_message_at", at.clone())
                    .set("gsi1sk", index_sk)
                    .add("visitor_messages", 1)
                    .set_if_absent("wait_message_id", json!(self.id))
                    .set_if_absent("wait_since", at),
                condition: Some(Condition::And(vec![
                    keys::conversation_live(),
                    Condition::cmp("status", CmpOp::Ne, ConversationStatus::Closed.as_str()),
                ])),
            },
            (false, Author::Agent) => TxOp::Update {
                key,
                update: Update::new()
                    .set("last_message_at", at.clone())
                    .set("gsi1sk", index_sk)
                    .set_if_absent("first_response_at", at)
                    .remove("wait_message_id")
                    .remove("wait_since"),
                condition: Some(keys::conversation_live()),
            },
            (false, _) => TxOp::Update {
                key,
                update: Update::new().set("last_message_at", at).set("gsi1sk", index_sk),
                condition: Some(keys::conversation_live()),
            },
        };
        vec![TxOp::Put { item: self.item(), condition: Some(Condition::NotExists) }, touch]
    }

    /// The message as its event carries it (the same fields as [`NewMessage::view`], unmasked).
    pub fn event_message(&self) -> EventMessage {
        EventMessage {
            id: self.id.clone(),
            conversation_id: self.conversation.clone(),
            author: self.author,
            author_id: self.author_id.map(str::to_owned),
            content: self.content.as_str().to_owned(),
            internal: self.internal,
            created_at: self.at,
            recalled: false,
            attachments: self.attachments.to_vec(),
        }
    }

    /// The event the message emits: `message.received` for a visitor's, `message.sent` for the others.
    pub fn event(&self) -> Envelope {
        let (conversation_id, message) = (self.conversation.clone(), self.event_message());
        if self.author == Author::Visitor {
            Envelope::new(
                self.tenant,
                self.at,
                MessageReceived { conversation_id, message, counted: false, starts_wait: None },
            )
        } else {
            Envelope::new(self.tenant, self.at, MessageSent { conversation_id, message })
        }
    }
}

/// The conversation, if it exists in this tenant (an item that does not parse is an error).
pub async fn load(app: &App, tenant: &TenantId, id: &ConversationId) -> Result<Option<ConversationRecord>, TableError> {
    match app.table.get_stored(&keys::conversation(tenant, id)).await? {
        Some(stored) => Ok(Some(ConversationRecord::from_stored(stored)?)),
        None => Ok(None),
    }
}

/// The conversation, unless it is gone or its deletion has begun: the read-side twin of [`still_there`], for
/// calls that must treat a conversation being deleted as already gone.
pub async fn load_live(
    app: &App,
    tenant: &TenantId,
    id: &ConversationId,
) -> Result<Option<ConversationRecord>, TableError> {
    Ok(load(app, tenant, id).await?.filter(|c| !c.deleting))
}

/// Who is reading, with what they may see.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The caller.
    pub principal: Principal,
    /// The caller's agent groups (read only when `conversations.view_group` decides visibility).
    pub group_ids: Vec<String>,
}

impl Viewer {
    /// The viewer for a principal: reads the account's groups when they matter.
    pub async fn of(app: &App, principal: &Principal) -> Result<Self, TableError> {
        let p = &principal.permissions;
        let group_ids = if !p.has(Permission::ConversationsViewAll) && p.has(Permission::ConversationsViewGroup) {
            app.table
                .get(&keys::agent(&principal.tenant_id, &principal.agent_id))
                .await?
                .map(|a| {
                    a.get("group_ids")
                        .and_then(Value::as_array)
                        .map(|g| g.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                        .unwrap_or_default()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Ok(Self { principal: principal.clone(), group_ids })
    }

    /// Whether the caller may see the conversation: `view_all` sees every one; `view_group` those of its
    /// groups (and of the default group, `group_id` null, which every agent serves); everyone sees the ones
    /// assigned to them.
    pub fn can_see(&self, conversation: &ConversationRecord) -> bool {
        let p = &self.principal.permissions;
        if p.has(Permission::ConversationsViewAll) || self.is_assignee(conversation) {
            return true;
        }
        if p.has(Permission::ConversationsViewGroup) {
            return match &conversation.group_id {
                None => true,
                Some(g) => self.group_ids.iter().any(|mine| mine == g.as_str()),
            };
        }
        false
    }

    /// Whether the conversation is assigned to the caller.
    pub fn is_assignee(&self, conversation: &ConversationRecord) -> bool {
        conversation.assignee_id.as_ref() == Some(&self.principal.agent_id)
    }

    /// Whether message text reaches this reader unmasked.
    pub fn sees_sensitive(&self) -> bool {
        self.principal.permissions.has(Permission::CustomersViewSensitive)
    }
}

/// The conversation if it exists in the caller's tenant and the caller may see it; 404 otherwise (another
/// tenant's id, or one the caller may not see, are both simply not found).
pub async fn load_visible(app: &App, viewer: &Viewer, id: &str) -> Result<ConversationRecord, ConversationError> {
    let id = ConversationId::parse(id).ok_or(ConversationError::NotFound)?;
    let item = load(app, &viewer.principal.tenant_id, &id).await?.ok_or(ConversationError::NotFound)?;
    if viewer.can_see(&item) { Ok(item) } else { Err(ConversationError::NotFound) }
}

/// `assignee=` of the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssigneeFilter {
    /// The caller.
    Me,
    /// Nobody.
    Unassigned,
    /// This agent.
    Agent(AgentId),
}

impl AssigneeFilter {
    /// Parses `me`, `unassigned` or an agent id.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        match s {
            "me" => Ok(Self::Me),
            "unassigned" => Ok(Self::Unassigned),
            other => AgentId::parse(other)
                .map(Self::Agent)
                .ok_or_else(|| ValidationError::new("assignee", "must be me, unassigned or an agent id")),
        }
    }
}

/// The list's filters.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    /// Only this status, as the API shows it (`open`, `queued` or `closed`; `queued` includes `pending`).
    pub status: Option<ConversationStatus>,
    /// Only this assignee.
    pub assignee: Option<AssigneeFilter>,
    /// Only conversations carrying this tag.
    pub tag: Option<TagName>,
    /// Only this agent group.
    pub group_id: Option<GroupId>,
}

impl ListFilter {
    fn matches(&self, viewer: &Viewer, c: &ConversationRecord) -> bool {
        let assignee = c.assignee_id.as_ref();
        self.status.is_none_or(|s| c.status.shown() == s)
            && match &self.assignee {
                None => true,
                Some(AssigneeFilter::Me) => assignee == Some(&viewer.principal.agent_id),
                Some(AssigneeFilter::Unassigned) => assignee.is_none(),
                Some(AssigneeFilter::Agent(a)) => assignee == Some(a),
            }
            && self.tag.as_ref().is_none_or(|t| c.tags.contains(t))
            && self.group_id.as_ref().is_none_or(|g| c.group_id.as_ref() == Some(g))
    }
}

/// The index partitions that hold every conversation a list filter can match, narrowest first:
/// - an assignee (`me` or an id) with `open` or `closed`: that agent's partition of the assignment module's
///   gsi2 (`T#{t}#ASSIGNED#{a}#{status}`, newest assignment first); without a status, its open partition then its
///   closed one (a conversation with an assignee is open, or closed keeping it);
/// - `queued` without an assignee: the waiting queue (gsi2 `T#{t}#QUEUE`, in queue order: priority, then
///   longest waiting), then the conversations waiting outside it (stored `pending`: not routed yet, or a
///   tenant that does not queue), from the activity index;
/// - otherwise the tenant's activity index (gsi1 `T#{t}#CONVS`, newest activity first).
///
/// Each partition comes with the stored status it is read for, when it holds others too. `None` when nothing
/// can match (an assignee with `queued`: a waiting conversation has no assignee).
fn partitions(viewer: &Viewer, filter: &ListFilter) -> Option<Vec<(Query, Option<ConversationStatus>)>> {
    let t = &viewer.principal.tenant_id;
    let assignee = match &filter.assignee {
        Some(AssigneeFilter::Me) => Some(&viewer.principal.agent_id),
        Some(AssigneeFilter::Agent(a)) => Some(a),
        _ => None,
    };
    let assigned = |a: &AgentId, s: ConversationStatus| {
        (Query::index(Index::Gsi2, keys::assigned_pk(t, a, s.as_str())).backwards(), None)
    };
    let activity = || Query::index(Index::Gsi1, keys::conversations_index(t)).backwards();
    Some(match (assignee, filter.status) {
        (Some(a), Some(s @ (ConversationStatus::Open | ConversationStatus::Closed))) => vec![assigned(a, s)],
        (Some(_), Some(_)) => return None,
        (Some(a), None) => vec![assigned(a, ConversationStatus::Open), assigned(a, ConversationStatus::Closed)],
        (None, Some(ConversationStatus::Queued)) if filter.assignee.is_none() => {
            vec![(Query::index(Index::Gsi2, keys::queue_pk(t)), None), (activity(), Some(ConversationStatus::Pending))]
        }
        _ => vec![(activity(), None)],
    })
}

/// `GET /v1/conversations`: the conversations the caller may see that pass the filters, from the narrowest
/// index that holds them all ([`partitions`]); visibility and the remaining filters are applied to each page
/// as read (see docs/data-model.md for the cost).
pub async fn list(
    app: &App,
    viewer: &Viewer,
    filter: &ListFilter,
    params: &PageRequest,
) -> Result<ListPage<ConversationView>, ConversationError> {
    let Some(parts) = partitions(viewer, filter) else { return Ok(ListPage::new(Vec::new(), None)) };
    let start = match &params.cursor {
        None => 0,
        Some(c) => {
            let key = c.key_item().map_err(|_| bad_cursor())?;
            parts
                .iter()
                .position(|(q, _)| {
                    let attr = q.index.map_or("pk", |ix| ix.pk_attr());
                    key.get(attr).and_then(Value::as_str) == Some(q.pk.as_str())
                })
                .ok_or_else(bad_cursor)?
        }
    };
    let mut kept: Vec<ConversationRecord> = Vec::new();
    for (n, (query, stored)) in parts.into_iter().enumerate().skip(start) {
        let cursor = if n == start { params.cursor.clone() } else { None };
        let (items, next) =
            filtered_records(app, query.after(cursor), params.limit - kept.len(), |c: &ConversationRecord| {
                stored.is_none_or(|s| c.status == s) && viewer.can_see(c) && filter.matches(viewer, c)
            })
            .await?;
        kept.extend(items);
        if next.is_some() {
            return Ok(ListPage::new(kept.iter().map(ConversationView::of).collect(), next));
        }
        if kept.len() == params.limit {
            break;
        }
    }
    Ok(ListPage::new(kept.iter().map(ConversationView::of).collect(), None))
}

/// Whether an agent group exists in this tenant (the assignment module's group item).
pub async fn group_exists(app: &App, tenant: &TenantId, group: &GroupId) -> Result<bool, TableError> {
    Ok(app.table.get(&keys::group(tenant, group)).await?.is_some())
}

/// The conversations of a customer that `keep` accepts, newest first (its pointers, then each conversation).
pub async fn of_customer(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    params: &PageRequest,
    keep: impl Fn(&ConversationRecord) -> bool,
) -> Result<ListPage<ConversationView>, ConversationError> {
    let query = Query::partition(keys::customer_pk(tenant, id)).prefix(keys::CUSTOMER_CONVERSATION_PREFIX).backwards();
    let page = app.table.query(params.apply(query)?).await?;
    let ids: Vec<ConversationId> = page
        .items
        .iter()
        .filter_map(|p| p.get("conversation_id").and_then(Value::as_str))
        .filter_map(ConversationId::parse)
        .collect();
    let loaded = futures::future::try_join_all(ids.iter().map(|c| load(app, tenant, c))).await?;
    let items = loaded.iter().flatten().filter(|c| keep(c)).map(ConversationView::of).collect();
    Ok(ListPage::new(items, page.cursor))
}

/// Before a conversation is deleted, whatever it holds in routing (an agent's capacity, a place in the
/// queue) is released by closing it through the assignment module first.
pub async fn release_before_delete(
    app: &App,
    principal: &Principal,
    conversation: &ConversationRecord,
) -> Result<(), ConversationError> {
    if conversation.status == ConversationStatus::Closed {
        return Ok(());
    }
    let id = &conversation.conversation_id;
    crate::assignment::close(app, &principal.tenant_id, id, Some(&principal.agent_id)).await?;
    Ok(())
}

/// Masks personal data in message text for a reader without `customers.view_sensitive`. The one place message
/// content is masked for staff.
pub fn mask_for(viewer: &Viewer, content: String) -> String {
    if viewer.sees_sensitive() { content } else { mask_message(&content) }
}

/// The single call site of personal-data masking for message text.
fn mask_message(content: &str) -> String {
    kefu_domain::masking::mask_text(content).into_owned()
}

/// `GET /v1/conversations/{id}/messages`: the messages of the last `days` days, oldest first, with cursors;
/// internal notes included (staff see them), text masked for readers without the sensitive permission.
pub async fn history(
    app: &App,
    viewer: &Viewer,
    conversation: &ConversationRecord,
    days: u32,
    params: &PageRequest,
    include_recalled: bool,
) -> Result<ListPage<MessageView>, ConversationError> {
    let tenant = &viewer.principal.tenant_id;
    let id = &conversation.conversation_id;
    let since = app.now() - jiff::SignedDuration::from_hours(24 * i64::from(days));
    let from = ulid::Ulid::from_parts(u64::try_from(millis(since)).unwrap_or(0), 0);
    let query = Query::partition(keys::conversation_pk(tenant, id))
        .sk(SkCondition::Between(format!("{}{from}", keys::MESSAGE_PREFIX), keys::MESSAGE_END.to_owned()));
    let page = app.table.query(params.apply(query)?).await?;
    let items = page
        .items
        .into_iter()
        .map(|i| {
            let record = MessageRecord::from_item(i)?;
            let mut m = if include_recalled { MessageView::original(&record) } else { MessageView::of(&record) };
            m.content = mask_for(viewer, m.content);
            Ok(m)
        })
        .collect::<Result<Vec<_>, TableError>>()?;
    let mut items = items;
    attachments::link_views(app, tenant, &mut items).await?;
    Ok(ListPage::new(items, page.cursor))
}

/// The messages a visitor sees: after `after` (exclusive), oldest first, never internal notes.
pub async fn visitor_messages(
    app: &App,
    tenant: &TenantId,
    conversation: &ConversationId,
    after: Option<&MessageId>,
    params: &PageRequest,
) -> Result<ListPage<MessageView>, ConversationError> {
    let from = match after {
        Some(m) => format!("{}{}", keys::MESSAGE_PREFIX, ulid::Ulid(m.ulid().0.saturating_add(1))),
        None => keys::MESSAGE_PREFIX.to_owned(),
    };
    let query = params.apply(
        Query::partition(keys::conversation_pk(tenant, conversation))
            .sk(SkCondition::Between(from, keys::MESSAGE_END.to_owned())),
    )?;
    let (items, next) = filtered_records(app, query, params.limit, |m: &MessageRecord| !m.internal).await?;
    // Nothing to show: say whether that is because the conversation is gone (deleted by staff or by retention),
    // so the widget starts afresh instead of waiting on it. A page with messages costs no read for this.
    if items.is_empty() && load_live(app, tenant, conversation).await?.is_none() {
        return Err(ConversationError::NotFound);
    }
    let mut views: Vec<MessageView> = items.iter().map(MessageView::of).collect();
    attachments::link_views(app, tenant, &mut views).await?;
    Ok(ListPage::new(views, next))
}

/// Stores a staff member's reply or internal note with its `message.sent` event.
pub async fn reply(
    app: &App,
    principal: &Principal,
    conversation: &ConversationId,
    content: &MessageContent,
    internal: bool,
) -> Result<MessageView, ConversationError> {
    reply_with(app, principal, conversation, content, internal, &[]).await
}

/// [`reply`] carrying the agent's uploads named by `attachment_ids` (checked and moved by
/// [`attachments::take`], attached in the message's transaction).
pub async fn reply_with(
    app: &App,
    principal: &Principal,
    conversation: &ConversationId,
    content: &MessageContent,
    internal: bool,
    attachment_ids: &[String],
) -> Result<MessageView, ConversationError> {
    let at = app.now();
    let id = next_message_id(at);
    let author_id = principal.agent_id.to_string();
    let tenant = &principal.tenant_id;
    let taken = attachments::take(app, tenant, conversation, &author_id, attachment_ids, &id).await?;
    let m = NewMessage {
        tenant,
        conversation,
        id: &id,
        author: Author::Agent,
        author_id: Some(&author_id),
        content,
        internal,
        at,
        attachments: &taken.metas,
    };
    let mut ops = m.ops();
    let first_attachment = ops.len();
    ops.extend(taken.ops.iter().cloned());
    match crate::plumbing::outbox::commit(app, ops, vec![m.event()]).await {
        Ok(()) => {
            attachments::settle(app, &taken).await;
            let mut view = [m.view()];
            attachments::link_views(app, tenant, &mut view).await?;
            let [view] = view;
            Ok(view)
        }
        Err(e) => {
            attachments::abandon(app, &taken).await;
            match e {
                TableError::TransactionCanceled { failed } if failed.iter().any(|p| *p >= first_attachment) => {
                    Err(ValidationError::new("attachment_ids", "an attachment was sent already").into())
                }
                TableError::TransactionCanceled { .. } => Err(ConversationError::NotFound),
                e => Err(e.into()),
            }
        }
    }
}

/// Stores a bot's message (an automation's auto-reply) with its `message.sent` event: the visitor sees it like
/// an agent's reply; it never counts as the first response.
pub async fn bot_reply(
    app: &App,
    tenant: &TenantId,
    conversation: &ConversationId,
    content: &MessageContent,
) -> Result<MessageView, ConversationError> {
    let at = app.now();
    let id = next_message_id(at);
    let m = NewMessage {
        tenant,
        conversation,
        id: &id,
        author: Author::Bot,
        author_id: None,
        content,
        internal: false,
        at,
        attachments: &[],
    };
    match crate::plumbing::outbox::commit(app, m.ops(), vec![m.event()]).await {
        Ok(()) => Ok(m.view()),
        Err(TableError::TransactionCanceled { .. }) => Err(ConversationError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Replaces a conversation's tags (names, deduplicated). Assignment never touches tags, so this is a plain
/// update of that one attribute, committed with `audit` (the caller's `conversation.update` entry).
pub async fn set_tags(
    app: &App,
    tenant: &TenantId,
    id: &ConversationId,
    tags: &[TagName],
    audit: AuditEntry,
) -> Result<ConversationRecord, ConversationError> {
    let op = TxOp::Update {
        key: keys::conversation(tenant, id),
        update: Update::new().set("tags", json!(tags)),
        condition: Some(Condition::Exists),
    };
    let audit = audit.target("conversation", id).with("tags", json!(tags));
    match crate::audit::commit(app, vec![op], Vec::new(), vec![audit]).await {
        Ok(()) => load(app, tenant, id).await?.ok_or(ConversationError::NotFound),
        Err(TableError::TransactionCanceled { .. }) => Err(ConversationError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes everything in a conversation's partition but the conversation item itself (its messages and what
/// else lives there), a page of 100 at a time, so a conversation of any length goes in bounded transactions.
/// Repeating it after an interruption deletes what is left.
pub async fn delete_contents(app: &App, tenant: &TenantId, id: &ConversationId) -> Result<(), TableError> {
    let pk = keys::conversation_pk(tenant, id);
    loop {
        let page = app.table.query(Query::partition(pk.clone()).sk(SkCondition::Gt("CONV".into())).limit(100)).await?;
        if page.items.is_empty() {
            return Ok(());
        }
        let ops = page
            .items
            .iter()
            .map(|i| kefu_ports::Key::of(i).map(|key| TxOp::Delete { key, condition: None }))
            .collect::<Result<Vec<_>, _>>()?;
        app.table.transact(ops).await?;
    }
}

/// A transaction's check that the conversation exists and its deletion has not begun
/// ([`keys::conversation_live`]): a writer that adds an item to the conversation's partition and does not
/// otherwise touch the conversation item puts it in its transaction.
pub fn still_there(tenant: &TenantId, id: &ConversationId) -> TxOp {
    TxOp::Check { key: keys::conversation(tenant, id), condition: keys::conversation_live() }
}

/// Marks the conversation's deletion as begun ([`still_there`] and every write into its partition fail from now
/// on); false when it does not exist.
pub(crate) async fn begin_delete(app: &App, tenant: &TenantId, id: &ConversationId) -> Result<bool, TableError> {
    mark_deleting(app, tenant, id, Condition::Exists).await
}

/// [`begin_delete`] for retention: only while the conversation is still closed and has had no message since it
/// was read (one reopened or written to meanwhile is not due any more, and is left alone).
pub(crate) async fn begin_delete_closed(
    app: &App,
    tenant: &TenantId,
    read: &ConversationRecord,
) -> Result<bool, TableError> {
    let due = Condition::And(vec![
        Condition::eq("status", ConversationStatus::Closed.as_str()),
        Condition::eq("last_message_at", json!(read.last_message_at)),
    ]);
    mark_deleting(app, tenant, &read.conversation_id, due).await
}

async fn mark_deleting(
    app: &App,
    tenant: &TenantId,
    id: &ConversationId,
    condition: Condition,
) -> Result<bool, TableError> {
    let mark = Update::new().set(keys::CONVERSATION_DELETING, true);
    match app.table.update(&keys::conversation(tenant, id), mark, Some(condition)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Deletes a conversation with all of its messages and its customer's pointer to it. The conversation item is
/// marked first ([`still_there`] fails from then on), then the rest of its partition goes in transactions of
/// up to 100, and the conversation item last, so an interrupted delete leaves a conversation that can be
/// deleted again, never messages without their conversation being visible.
///
/// `audit` (the caller's `conversation.delete` entry) is committed with the conversation item's deletion.
pub async fn delete(
    app: &App,
    tenant: &TenantId,
    conversation: &ConversationRecord,
    audit: AuditEntry,
) -> Result<(), ConversationError> {
    let id = &conversation.conversation_id;
    if !begin_delete(app, tenant, id).await? {
        return Err(ConversationError::NotFound);
    }
    delete_contents(app, tenant, id).await?;
    let mut last = vec![
        TxOp::Delete { key: keys::conversation(tenant, id), condition: Some(Condition::Exists) },
        TxOp::Delete { key: keys::customer_conversation(tenant, &conversation.customer_id, id), condition: None },
    ];
    last.push(crate::customers::counts::conversation_deleted_op(tenant, &conversation.customer_id));
    match crate::audit::commit(app, last, Vec::new(), vec![audit.target("conversation", id)]).await {
        Ok(()) => {
            // Its files go with it.
            attachments::delete_blobs_of(app, tenant, id).await.map_err(attachments::AttachmentError::from)?;
            Ok(())
        }
        Err(TableError::TransactionCanceled { .. }) => Err(ConversationError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A message event carries the message in API.md's shape: the same JSON as the view the API answers with.
    #[test]
    fn message_events_carry_the_api_view_of_the_message() {
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let content = MessageContent::parse("hello", "content").unwrap();
        for at in ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00.123456789Z"] {
            let at: jiff::Timestamp = at.parse().unwrap();
            let id = next_message_id(at);
            let (author, author_id) = (Author::Agent, Some("ag_01jd2q8m6xg3r8w6b4s1e2c9va"));
            let m = NewMessage {
                tenant: &t,
                conversation: &c,
                id: &id,
                author,
                author_id,
                content: &content,
                internal: true,
                at,
                attachments: &[],
            };
            let data = m.event().data();
            assert_eq!(data["message"], serde_json::to_value(m.view()).unwrap());
            assert_eq!(data["conversation_id"], c.as_str());
        }
    }

    /// The detail shows the decision from its own item, and an older conversation that still holds one inline
    /// shows that until a new decision is written beside it.
    #[tokio::test]
    async fn the_detail_reads_the_routing_decision_beside_the_conversation() {
        let clock = std::sync::Arc::new(kefu_ports::ManualClock::new("2026-03-02T10:00:05Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let tenant = TenantId::generate();
        let started = widget::start(&app, &tenant, "192.0.2.1", &widget::StartRequest::default()).await.unwrap();
        let id = ConversationId::parse(&started.conversation_id).unwrap();
        let stored = load(&app, &tenant, &id).await.unwrap().unwrap();
        assert!(stored.routing.is_none());
        assert_eq!(ConversationDetail::load(&app, &stored).await.unwrap().routing, None, "not routed yet");

        let key = keys::conversation(&tenant, &id);
        let inline = json!({"outcome": "queued", "candidates": []});
        app.table.update(&key, Update::new().set("routing", inline.clone()), None).await.unwrap();
        let older = load(&app, &tenant, &id).await.unwrap().unwrap();
        assert_eq!(ConversationDetail::load(&app, &older).await.unwrap().routing, Some(inline));

        let decided = json!({"outcome": "assigned", "candidates": [{"agent_id": "ag_x", "excluded": null}]});
        let record = crate::assignment::RoutingRecord {
            tenant_id: tenant.clone(),
            conversation_id: id.clone(),
            routing: decided.clone(),
        };
        app.table.put(record.to_item(), None).await.unwrap();
        assert_eq!(ConversationDetail::load(&app, &older).await.unwrap().routing, Some(decided));
        assert_eq!(crate::assignment::RoutingRecord::from_item(record.to_item()).unwrap(), record);
    }

    #[test]
    fn message_ids_increase_within_a_millisecond() {
        let at: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let ids: Vec<MessageId> = (0..100).map(|_| next_message_id(at)).collect();
        assert!(ids.windows(2).all(|w| w[0].ulid() < w[1].ulid()));
        assert!(keys::message_sk(&ids[0]) < keys::message_sk(&ids[99]));
    }

    /// A visitor's text message, now.
    fn visitor_message<'a>(
        t: &'a TenantId,
        c: &'a ConversationId,
        id: &'a MessageId,
        content: &'a MessageContent,
    ) -> NewMessage<'a> {
        NewMessage {
            tenant: t,
            conversation: c,
            id,
            author: Author::Visitor,
            author_id: Some("cu_x"),
            content,
            internal: false,
            at: jiff::Timestamp::now(),
            attachments: &[],
        }
    }

    /// Every message's transaction refuses a conversation whose deletion has begun (`deleting`): a message
    /// committed after its partition was emptied would outlive it. A visitor's send answers 404 and stores
    /// nothing.
    #[tokio::test]
    async fn no_message_lands_in_a_conversation_being_deleted() {
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let content = MessageContent::parse("hello", "content").unwrap();
        let id = next_message_id(jiff::Timestamp::now());
        let visitor = visitor_message(&t, &c, &id, &content);
        let agent = NewMessage { author: Author::Agent, author_id: Some("ag_x"), ..visitor.clone() };
        let bot = NewMessage { author: Author::Bot, author_id: None, ..visitor.clone() };
        let note = NewMessage { internal: true, ..agent.clone() };
        let live = json!({"status": "open"}).as_object().unwrap().clone();
        let mut deleting = live.clone();
        deleting.insert(keys::CONVERSATION_DELETING.into(), json!(true));
        for m in [&visitor, &agent, &bot, &note] {
            let (TxOp::Update { condition: Some(cond), .. } | TxOp::Check { condition: cond, .. }) = &m.ops()[1] else {
                panic!("a conditioned touch of the conversation")
            };
            assert!(cond.evaluate(Some(&live), 0), "{:?}", m.author);
            assert!(!cond.evaluate(Some(&deleting), 0), "{:?} internal {}", m.author, m.internal);
        }

        let (app, _dir) = crate::testing::embedded_app(std::sync::Arc::new(kefu_ports::SystemClock));
        let started = widget::start(&app, &t, "192.0.2.1", &widget::StartRequest::default()).await.unwrap();
        let session = widget::authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        let conversation = &session.conversation_id;
        assert!(begin_delete(&app, &t, conversation).await.unwrap());
        let sent = widget::send(&app, &session, None, br#"{"content": "still there?"}"#).await;
        assert!(matches!(sent, Err(ConversationError::NotFound)), "{sent:?}");
        let id = next_message_id(app.now());
        let late = NewMessage { conversation, id: &id, ..agent.clone() };
        let refused = app.table.transact(late.ops()).await;
        assert!(matches!(&refused, Err(TableError::TransactionCanceled { failed }) if failed == &[1]), "{refused:?}");
        let partition = app.table.query(Query::partition(keys::conversation_pk(&t, conversation))).await.unwrap();
        let kinds: Vec<_> = partition.items.iter().map(|i| i[kefu_ports::table::SK].clone()).collect();
        assert_eq!(kinds, [json!("CONV")], "nothing but the conversation item");
    }

    #[test]
    fn visitor_message_ops_condition_on_open_conversation_only() {
        let t = TenantId::generate();
        let c = ConversationId::generate();
        let id = next_message_id(jiff::Timestamp::now());
        let content = MessageContent::parse("hello", "content").unwrap();
        let m = visitor_message(&t, &c, &id, &content);
        let ops = m.ops();
        assert_eq!(ops.len(), 2);
        let TxOp::Update { condition: Some(cond), update, .. } = &ops[1] else { panic!("an update") };
        assert!(!cond.evaluate(Some(&json!({"status": "closed"}).as_object().unwrap().clone()), 0));
        assert!(cond.evaluate(Some(&json!({"status": "open", "version": 9}).as_object().unwrap().clone()), 0));
        assert!(
            update
                .actions
                .iter()
                .all(|a| !matches!(a, kefu_ports::UpdateAction::Set(n, _) if n == "status" || n == "assignee_id"))
        );
        assert_eq!(m.event().event_type().as_str(), "message.received");
        // The first message of a wait starts it; a second keeps it; an agent's reply ends it.
        let mut item = json!({"status": "open"}).as_object().unwrap().clone();
        update.apply(&mut item).unwrap();
        assert_eq!((item["wait_message_id"].as_str(), &item["wait_since"]), (Some(id.as_str()), &json!(m.at)));
        let later = next_message_id(jiff::Timestamp::now());
        let second = NewMessage { id: &later, at: jiff::Timestamp::now(), ..m };
        let TxOp::Update { update, .. } = &second.ops()[1] else { panic!("an update") };
        update.apply(&mut item).unwrap();
        assert_eq!(item["wait_message_id"].as_str(), Some(id.as_str()), "the wait began with the first");
        let reply = NewMessage { author: Author::Agent, author_id: Some("ag_x"), ..second };
        let TxOp::Update { update, .. } = &reply.ops()[1] else { panic!("an update") };
        update.apply(&mut item).unwrap();
        assert!(!item.contains_key("wait_message_id") && !item.contains_key("wait_since"), "{item:?}");
        let note = NewMessage { internal: true, author: Author::Agent, ..m };
        assert!(matches!(note.ops()[1], TxOp::Check { .. }));
        assert_eq!(note.event().event_type().as_str(), "message.sent");
        assert_eq!(note.event().data()["message"]["internal"], true);
    }
}
