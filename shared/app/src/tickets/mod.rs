//! Tickets: work tracked apart from a live chat — made by staff (standalone or from a conversation, then linked
//! to it and to its customer), by an API key, or by the widget's leave-a-message form ([`leave_message`]);
//! assigned to an agent or a group; moved along `open → pending → solved → closed` with reopen (the rule is
//! `kefu_domain::ticket`'s); commented on; listed by status, assignee or group, each through an index; and
//! delivered to its assignee as a `ticket.assigned` frame ([`notify`]).
//!
//! Storage (`docs/data-model.md`): the ticket and its comments share a partition; the ticket item sits in gsi1
//! by status and gsi2 by assignee (or `none`); pointer items list every ticket of the tenant, of a group and of
//! a customer. Every change is written with its pointers, its events and its audit entry in one transaction.

use std::collections::BTreeSet;

use kefu_domain::ticket::{TicketBody, TicketCommentId, TicketContact, TicketId, TicketTitle};
use kefu_domain::{
    AgentId, ConversationId, CustomerId, GroupId, Permission, TenantId, TicketPriority, TicketSource, TicketStatus,
    ValidationError,
};
use kefu_ports::table::{Condition, Index, Item, Key, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::conversations::{AssigneeFilter, ConversationError, Viewer};
use crate::identity::accounts::{Caller, Principal};
use crate::plumbing::events::{Envelope, TicketAssigned, TicketCreated};
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::{Record, item_of, parse};

pub mod error;
pub mod leave_message;
pub mod notify;

pub use error::TicketError;

/// The most comments `GET /v1/tickets/{id}` returns (the oldest first).
pub const MAX_COMMENTS_SHOWN: usize = 500;

/// A ticket as stored: the item's fields besides its keys. Read back with [`TicketRecord::from_item`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// The ticket.
    pub ticket_id: TicketId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// One line.
    pub title: TicketTitle,
    /// The details (may be empty).
    pub description: TicketBody,
    /// Its customer, when it has one.
    pub customer_id: Option<CustomerId>,
    /// The conversation it was made from.
    pub conversation_id: Option<ConversationId>,
    /// How urgent.
    pub priority: TicketPriority,
    /// Where it stands.
    pub status: TicketStatus,
    /// Its agent.
    pub assignee_id: Option<AgentId>,
    /// Its agent group.
    pub group_id: Option<GroupId>,
    /// Who made it.
    pub source: TicketSource,
    /// How to reach the person who left a message (widget tickets).
    pub contact: Option<TicketContact>,
    /// The account or API key that made it; `None` for the widget.
    pub created_by: Option<String>,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it last changed (a comment counts).
    pub updated_at: jiff::Timestamp,
    /// Bumped by every change: writes are conditioned on the version read.
    pub version: u64,
}

/// The item stores the record, its key and its index entries (gsi1 by status, gsi2 by assignee).
impl Record for TicketRecord {
    const TYPE: &'static str = "ticket";

    fn key(&self) -> Key {
        keys::ticket(&self.tenant_id, &self.ticket_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let t = &self.tenant_id;
        vec![
            ("gsi1pk", keys::tickets_by_status(t, self.status)),
            ("gsi1sk", self.ticket_id.to_string()),
            ("gsi2pk", keys::tickets_by_assignee(t, self.assignee_id.as_ref())),
            ("gsi2sk", self.ticket_id.to_string()),
        ]
    }
}

impl TicketRecord {
    /// The record of a stored item; `Broken` when the item is not what [`Record::to_item`] writes.
    pub fn read(item: &Item) -> Result<Self, TicketError> {
        Self::from_ref(item).map_err(|e| {
            tracing::error!(error = %e, "a stored ticket does not read");
            TicketError::Broken("a stored ticket does not read")
        })
    }
}

/// A pointer to a ticket (its customer's, conversation's, group's list, or the tenant's by id): what a list
/// page needs to load it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TicketPointer {
    ticket_id: TicketId,
    created_at: jiff::Timestamp,
}

/// A comment as stored, in its ticket's partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CommentRecord {
    tenant_id: TenantId,
    ticket_id: TicketId,
    comment_id: TicketCommentId,
    #[serde(flatten)]
    view: CommentView,
}

impl Record for CommentRecord {
    const TYPE: &'static str = "ticket_comment";

    fn key(&self) -> Key {
        keys::ticket_comment(&self.tenant_id, &self.ticket_id, &self.comment_id)
    }
}

/// How to reach the visitor who left a message, as API.md shows it (masked without
/// `customers.view_sensitive`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ContactView {
    /// Email.
    pub email: Option<String>,
    /// Phone.
    pub phone: Option<String>,
}

/// A ticket as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TicketView {
    /// Ticket id (`tk_…`).
    pub id: String,
    /// One line.
    pub title: String,
    /// The details.
    pub description: String,
    /// Its customer.
    pub customer_id: Option<String>,
    /// The conversation it was made from.
    pub conversation_id: Option<String>,
    /// `low` | `normal` | `high` | `urgent`.
    pub priority: String,
    /// `open` | `pending` | `solved` | `closed`.
    pub status: String,
    /// Its agent.
    pub assignee_id: Option<String>,
    /// Its agent group.
    pub group_id: Option<String>,
    /// `agent` | `widget` | `rule` | `api`.
    pub source: String,
    /// The contact left with a leave-a-message form.
    pub contact: Option<ContactView>,
    /// Created at.
    pub created_at: String,
    /// Last changed at.
    pub updated_at: String,
}

impl TicketView {
    /// The view of a record, its contact masked unless `sensitive`.
    pub fn of(r: &TicketRecord, sensitive: bool) -> Self {
        let contact = r.contact.as_ref().map(|c| {
            let email = c.email.as_ref().map(|e| e.as_str().to_owned());
            let phone = c.phone.as_ref().map(|p| p.as_str().to_owned());
            ContactView {
                email: if sensitive { email } else { email.as_deref().map(kefu_domain::masking::mask_email) },
                phone: if sensitive { phone } else { phone.as_deref().map(kefu_domain::masking::mask_phone) },
            }
        });
        Self {
            id: r.ticket_id.to_string(),
            title: r.title.as_str().to_owned(),
            description: r.description.as_str().to_owned(),
            customer_id: r.customer_id.as_ref().map(ToString::to_string),
            conversation_id: r.conversation_id.as_ref().map(ToString::to_string),
            priority: r.priority.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            assignee_id: r.assignee_id.as_ref().map(ToString::to_string),
            group_id: r.group_id.as_ref().map(ToString::to_string),
            source: r.source.as_str().to_owned(),
            contact,
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
        }
    }
}

/// A comment on a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CommentView {
    /// Comment id (`tc_…`).
    pub id: String,
    /// Who wrote it (an account or API key id).
    pub author_id: String,
    /// The text.
    pub content: String,
    /// When.
    pub created_at: String,
}

/// `GET /v1/tickets/{id}`: the ticket with its comments, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TicketDetail {
    /// The ticket.
    #[serde(flatten)]
    pub ticket: TicketView,
    /// Its comments, oldest first (at most [`MAX_COMMENTS_SHOWN`]).
    pub comments: Vec<CommentView>,
}

/// Whether the reader sees contacts unmasked.
pub fn sees_sensitive(principal: &Principal) -> bool {
    principal.permissions.has(Permission::CustomersViewSensitive)
}

/// `POST /v1/tickets` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewTicket {
    /// One line, 1..=200 characters.
    pub title: String,
    /// The details, up to 10,000 characters.
    #[serde(default)]
    pub description: Option<String>,
    /// Its customer (taken from the conversation when `conversation_id` is given).
    #[serde(default)]
    pub customer_id: Option<String>,
    /// The conversation it is made from: linked, with its customer.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// `low` | `normal` (default) | `high` | `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// An agent of the tenant.
    #[serde(default)]
    pub assignee_id: Option<String>,
    /// An agent group of the tenant.
    #[serde(default)]
    pub group_id: Option<String>,
}

/// `PATCH /v1/tickets/{id}` body: only the fields sent change; `null` clears the assignee or the group.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TicketPatch {
    /// One line.
    #[serde(default)]
    pub title: Option<String>,
    /// The details.
    #[serde(default)]
    pub description: Option<String>,
    /// `low` | `normal` | `high` | `urgent`.
    #[serde(default)]
    pub priority: Option<String>,
    /// The next status: `open → pending → solved → closed`, `open` again from `solved` or `closed`; any other
    /// move is 409.
    #[serde(default)]
    pub status: Option<String>,
    /// An agent of the tenant (null: nobody).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub assignee_id: Option<Option<String>>,
    /// An agent group of the tenant (null: none).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub group_id: Option<Option<String>>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// `POST /v1/tickets/{id}/comments` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1..=10,000 characters.
    pub content: String,
}

/// `GET /v1/tickets` filters.
#[derive(Debug, Clone, Default)]
pub struct TicketFilter {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only the caller's, nobody's, or one agent's.
    pub assignee: Option<AssigneeFilter>,
    /// Only this agent group's.
    pub group_id: Option<GroupId>,
}

/// An agent of the tenant, for `field`.
async fn check_agent(app: &App, t: &TenantId, id: &str, field: &str) -> Result<AgentId, TicketError> {
    let bad = || ValidationError::new(field, "no such agent");
    let a = AgentId::parse(id).ok_or_else(bad)?;
    app.table.get(&keys::agent(t, &a)).await?.ok_or_else(bad)?;
    Ok(a)
}

/// An agent group of the tenant, for `field`.
pub async fn check_group(app: &App, t: &TenantId, id: &str, field: &str) -> Result<GroupId, TicketError> {
    let bad = || ValidationError::new(field, "no such group");
    let g = GroupId::parse(id).ok_or_else(bad)?;
    if !crate::conversations::group_exists(app, t, &g).await? {
        return Err(bad().into());
    }
    Ok(g)
}

/// The operations that store a new ticket with its pointers, and its events (pure).
pub fn new_ticket_writes(r: &TicketRecord) -> (Vec<TxOp>, Vec<Envelope>) {
    let t = &r.tenant_id;
    let pointer = |key: kefu_ports::Key| TxOp::Put {
        item: item_of(key, &TicketPointer { ticket_id: r.ticket_id.clone(), created_at: r.created_at }),
        condition: Some(Condition::NotExists),
    };
    let mut ops = vec![
        TxOp::Put { item: r.to_item(), condition: Some(Condition::NotExists) },
        pointer(keys::ticket_pointer(t, &r.ticket_id)),
    ];
    if let Some(g) = &r.group_id {
        ops.push(pointer(keys::group_ticket(t, g, &r.ticket_id)));
    }
    if let Some(cu) = &r.customer_id {
        ops.push(pointer(keys::customer_ticket(t, cu, &r.ticket_id)));
    }
    let mut events = vec![Envelope::new(
        t,
        r.created_at,
        TicketCreated {
            ticket_id: r.ticket_id.clone(),
            source: r.source,
            customer_id: r.customer_id.clone(),
            conversation_id: r.conversation_id.clone(),
            group_id: r.group_id.clone(),
            assignee_id: r.assignee_id.clone(),
            priority: r.priority,
        },
    )];
    if r.assignee_id.is_some() || r.group_id.is_some() {
        events.push(Envelope::new(
            t,
            r.created_at,
            TicketAssigned {
                ticket_id: r.ticket_id.clone(),
                agent_id: r.assignee_id.clone(),
                group_id: r.group_id.clone(),
                previous_agent_id: None,
                by: r.created_by.clone(),
            },
        ));
    }
    (ops, events)
}

/// Creates a ticket for a staff member or an API key (`source` `agent` or `api`). From a conversation the
/// caller may see, the ticket is linked to it and to its customer. Committed with its `ticket.create` entry
/// and its `ticket.created` (and `ticket.assigned`) events.
pub async fn create(app: &App, principal: &Principal, body: &NewTicket) -> Result<TicketView, TicketError> {
    let t = &principal.tenant_id;
    let title = TicketTitle::parse(&body.title, "title")?;
    let description = TicketBody::parse_description(body.description.as_deref().unwrap_or_default(), "description")?;
    let priority = body.priority.as_deref().map(|p| TicketPriority::parse(p, "priority")).transpose()?;
    let nonempty = |o: &Option<String>| o.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    let mut customer_id = match nonempty(&body.customer_id) {
        Some(c) => {
            let bad = || ValidationError::new("customer_id", "no such customer");
            let cu = CustomerId::parse(&c).ok_or_else(bad)?;
            crate::customers::load(app, t, &cu).await?.ok_or_else(bad)?;
            Some(cu)
        }
        None => None,
    };
    let conversation_id = match nonempty(&body.conversation_id) {
        Some(c) => {
            let viewer = Viewer::of(app, principal).await?;
            let conversation = match crate::conversations::load_visible(app, &viewer, &c).await {
                Ok(item) => item,
                Err(ConversationError::NotFound) => {
                    return Err(ValidationError::new("conversation_id", "no such conversation").into());
                }
                Err(e) => return Err(e.into()),
            };
            let of_conversation = Some(conversation.customer_id.clone());
            if customer_id.is_some() && of_conversation.is_some() && customer_id != of_conversation {
                return Err(ValidationError::new("customer_id", "is not the conversation's customer").into());
            }
            customer_id = customer_id.or(of_conversation);
            ConversationId::parse(&c)
        }
        None => None,
    };
    let assignee_id = match nonempty(&body.assignee_id) {
        Some(a) => Some(check_agent(app, t, &a, "assignee_id").await?),
        None => None,
    };
    let group_id = match nonempty(&body.group_id) {
        Some(g) => Some(check_group(app, t, &g, "group_id").await?),
        None => None,
    };
    let source = match principal.caller {
        Caller::ApiKey(_) => TicketSource::Api,
        Caller::Session(_) => TicketSource::Agent,
    };
    let now = app.now();
    let record = TicketRecord {
        ticket_id: TicketId::generate(),
        tenant_id: t.clone(),
        title,
        description,
        customer_id,
        conversation_id,
        priority: priority.unwrap_or_default(),
        status: TicketStatus::Open,
        assignee_id,
        group_id,
        source,
        contact: None,
        created_by: Some(principal.actor_id()),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (ops, events) = new_ticket_writes(&record);
    let entry = principal.audit("ticket.create").target("ticket", &record.ticket_id).detail(json!({
        "source": record.source.as_str(), "conversation_id": record.conversation_id,
        "assignee_id": record.assignee_id, "group_id": record.group_id,
    }));
    crate::audit::commit(app, ops, events, vec![entry]).await?;
    Ok(TicketView::of(&record, sees_sensitive(principal)))
}

/// The ticket `id` of this tenant (`NotFound` for an id of another shape or tenant).
pub async fn load(app: &App, t: &TenantId, id: &str) -> Result<TicketRecord, TicketError> {
    let id = TicketId::parse(id).ok_or(TicketError::NotFound)?;
    let item = app.table.get(&keys::ticket(t, &id)).await?.ok_or(TicketError::NotFound)?;
    TicketRecord::read(&item)
}

/// A ticket with its comments, oldest first.
pub async fn get(app: &App, principal: &Principal, id: &str) -> Result<TicketDetail, TicketError> {
    let t = &principal.tenant_id;
    let record = load(app, t, id).await?;
    let mut comments = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::ticket_pk(t, &record.ticket_id))
            .prefix(keys::TICKET_COMMENT_PREFIX)
            .limit(200)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            match serde_json::from_value::<CommentView>(Value::Object(item)) {
                Ok(c) => comments.push(c),
                Err(_) => return Err(TicketError::Broken("a stored ticket comment does not read")),
            }
        }
        cursor = page.cursor;
        if cursor.is_none() || comments.len() >= MAX_COMMENTS_SHOWN {
            break;
        }
    }
    comments.truncate(MAX_COMMENTS_SHOWN);
    Ok(TicketDetail { ticket: TicketView::of(&record, sees_sensitive(principal)), comments })
}

/// Changes a ticket: title, description, priority, status (along the line or a reopen, else 409), assignee
/// and group. Written on condition that the ticket is still the version read, with its pointers, its
/// `ticket.update` entry (the fields changed, the status move) and, when it got a new assignee or group, a
/// `ticket.assigned` event.
pub async fn update(
    app: &App,
    principal: &Principal,
    id: &str,
    patch: &TicketPatch,
) -> Result<TicketView, TicketError> {
    let t = &principal.tenant_id;
    let current = load(app, t, id).await?;
    let mut next = current.clone();
    let mut fields = BTreeSet::new();
    if let Some(title) = &patch.title {
        next.title = TicketTitle::parse(title, "title")?;
        fields.insert("title");
    }
    if let Some(d) = &patch.description {
        next.description = TicketBody::parse_description(d, "description")?;
        fields.insert("description");
    }
    if let Some(p) = &patch.priority {
        next.priority = TicketPriority::parse(p, "priority")?;
        fields.insert("priority");
    }
    if let Some(a) = &patch.assignee_id {
        next.assignee_id = match a.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(a) => Some(check_agent(app, t, a, "assignee_id").await?),
            None => None,
        };
        fields.insert("assignee_id");
    }
    if let Some(g) = &patch.group_id {
        next.group_id = match g.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(g) => Some(check_group(app, t, g, "group_id").await?),
            None => None,
        };
        fields.insert("group_id");
    }
    if let Some(s) = &patch.status {
        let to = TicketStatus::parse(s, "status")?;
        next.status = current.status.move_to(to)?;
        fields.insert("status");
    }
    if next == current {
        return Ok(TicketView::of(&current, sees_sensitive(principal)));
    }
    let now = app.now();
    next.updated_at = now;
    next.version = current.version + 1;
    let mut ops = vec![TxOp::Put { item: next.to_item(), condition: Some(Condition::eq("version", current.version)) }];
    if current.group_id != next.group_id {
        if let Some(g) = &current.group_id {
            ops.push(TxOp::Delete { key: keys::group_ticket(t, g, &current.ticket_id), condition: None });
        }
        if let Some(g) = &next.group_id {
            ops.push(TxOp::Put {
                item: item_of(
                    keys::group_ticket(t, g, &next.ticket_id),
                    &TicketPointer { ticket_id: next.ticket_id.clone(), created_at: next.created_at },
                ),
                condition: None,
            });
        }
    }
    let assigned = (next.assignee_id != current.assignee_id && next.assignee_id.is_some())
        || (next.group_id != current.group_id && next.group_id.is_some() && next.assignee_id.is_none());
    let events = if assigned {
        vec![Envelope::new(
            t,
            now,
            TicketAssigned {
                ticket_id: next.ticket_id.clone(),
                agent_id: next.assignee_id.clone(),
                group_id: next.group_id.clone(),
                previous_agent_id: current.assignee_id.clone().filter(|p| Some(p) != next.assignee_id.as_ref()),
                by: Some(principal.actor_id()),
            },
        )]
    } else {
        Vec::new()
    };
    let mut detail = json!({"fields": fields});
    if next.status != current.status {
        detail["status"] =
            json!({"from": current.status, "to": next.status, "reopen": current.status.is_reopen(next.status)});
    }
    if next.assignee_id != current.assignee_id || next.group_id != current.group_id {
        detail["assignee_id"] = json!(next.assignee_id);
        detail["group_id"] = json!(next.group_id);
    }
    let entry = principal.audit("ticket.update").target("ticket", &next.ticket_id).detail(detail);
    match crate::audit::commit(app, ops, events, vec![entry]).await {
        Ok(()) => Ok(TicketView::of(&next, sees_sensitive(principal))),
        Err(TableError::TransactionCanceled { .. } | TableError::Conflict | TableError::ConditionFailed) => {
            Err(TicketError::CHANGED)
        }
        Err(e) => Err(e.into()),
    }
}

/// Adds a comment by the caller, committed with the ticket's new `updated_at` and a `ticket.comment` entry.
pub async fn comment(
    app: &App,
    principal: &Principal,
    id: &str,
    body: &NewComment,
) -> Result<CommentView, TicketError> {
    let t = &principal.tenant_id;
    let content = TicketBody::parse_comment(&body.content, "content")?;
    let ticket = load(app, t, id).await?;
    let now = app.now();
    let comment_id = TicketCommentId::generate();
    let view = CommentView {
        id: comment_id.to_string(),
        author_id: principal.actor_id(),
        content: content.as_str().to_owned(),
        created_at: now.to_string(),
    };
    let item = CommentRecord {
        tenant_id: t.clone(),
        ticket_id: ticket.ticket_id.clone(),
        comment_id: comment_id.clone(),
        view: view.clone(),
    }
    .to_item();
    let ops = vec![
        TxOp::Put { item, condition: Some(Condition::NotExists) },
        TxOp::Update {
            key: keys::ticket(t, &ticket.ticket_id),
            update: Update::new().set("updated_at", json!(now)),
            condition: Some(Condition::Exists),
        },
    ];
    let entry =
        principal.audit("ticket.comment").target("ticket", &ticket.ticket_id).detail(json!({"comment_id": comment_id}));
    match crate::audit::commit(app, ops, Vec::new(), vec![entry]).await {
        Ok(()) => Ok(view),
        Err(TableError::TransactionCanceled { .. }) => Err(TicketError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Reads the tickets a page of pointer items names (pointers to tickets gone are skipped).
async fn tickets_of_pointers(app: &App, t: &TenantId, items: &[Item]) -> Result<Vec<TicketRecord>, TicketError> {
    let ids: Vec<TicketId> = items
        .iter()
        .filter_map(|p| parse::<TicketPointer>("ticket pointer", p.clone()).ok())
        .map(|p| p.ticket_id)
        .collect();
    let keys: Vec<kefu_ports::Key> = ids.iter().map(|id| keys::ticket(t, id)).collect();
    let loaded = futures::future::try_join_all(keys.iter().map(|k| app.table.get(k))).await?;
    loaded.into_iter().flatten().map(|i| TicketRecord::read(&i)).collect()
}

/// Lists tickets, newest first. With `assignee`: the assignee index (gsi2), `status` and `group_id` checked on
/// each page as read; else with `status`: the status index (gsi1), `group_id` checked as read; else with
/// `group_id`: the group's pointers; else every ticket's pointers. Never a scan of the tenant.
pub async fn list(
    app: &App,
    principal: &Principal,
    filter: &TicketFilter,
    params: &PageRequest,
) -> Result<ListPage<TicketView>, TicketError> {
    let t = &principal.tenant_id;
    let sensitive = sees_sensitive(principal);
    let assignee = filter.assignee.as_ref().map(|a| match a {
        AssigneeFilter::Me => Some(principal.agent_id.clone()),
        AssigneeFilter::Unassigned => None,
        AssigneeFilter::Agent(a) => Some(a.clone()),
    });
    let status = filter.status.map(|s| s.as_str().to_owned());
    let group = filter.group_id.as_ref().map(|g| g.as_str().to_owned());
    let keep = |i: &Item| {
        status.as_deref().is_none_or(|s| i.get("status").and_then(Value::as_str) == Some(s))
            && group.as_deref().is_none_or(|g| i.get("group_id").and_then(Value::as_str) == Some(g))
    };
    let indexed = match (&assignee, filter.status) {
        (Some(a), _) => Some(Query::index(Index::Gsi2, keys::tickets_by_assignee(t, a.as_ref()))),
        (None, Some(s)) => Some(Query::index(Index::Gsi1, keys::tickets_by_status(t, s))),
        (None, None) => None,
    };
    if let Some(query) = indexed {
        let query = params.apply(query)?.backwards();
        let (items, next) = crate::plumbing::pages::filtered_page(app, query, params.limit, keep).await?;
        let views = items
            .iter()
            .map(|i| TicketRecord::read(i).map(|r| TicketView::of(&r, sensitive)))
            .collect::<Result<_, _>>()?;
        return Ok(ListPage::new(views, next));
    }
    let pk = match &filter.group_id {
        Some(g) => keys::tickets_of_group_pk(t, g),
        None => keys::tickets_pk(t),
    };
    let page = app.table.query(params.apply(Query::partition(pk))?.backwards()).await?;
    let records = tickets_of_pointers(app, t, &page.items).await?;
    Ok(ListPage::new(records.iter().map(|r| TicketView::of(r, sensitive)).collect(), page.cursor))
}

/// A customer's tickets, newest first (`NotFound` for a customer not of this tenant).
pub async fn of_customer(
    app: &App,
    principal: &Principal,
    customer_id: &str,
    params: &PageRequest,
) -> Result<ListPage<TicketView>, TicketError> {
    let t = &principal.tenant_id;
    let cu = CustomerId::parse(customer_id).ok_or(TicketError::NotFound)?;
    crate::customers::load(app, t, &cu).await?.ok_or(TicketError::NotFound)?;
    let q = Query::partition(keys::customer_pk(t, &cu)).prefix(keys::CUSTOMER_TICKET_PREFIX);
    let page = app.table.query(params.apply(q)?.backwards()).await?;
    let records = tickets_of_pointers(app, t, &page.items).await?;
    let sensitive = sees_sensitive(principal);
    Ok(ListPage::new(records.iter().map(|r| TicketView::of(r, sensitive)).collect(), page.cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> TicketRecord {
        let at: jiff::Timestamp = "2026-12-01T08:00:00Z".parse().unwrap();
        TicketRecord {
            ticket_id: TicketId::generate(),
            tenant_id: TenantId::generate(),
            title: TicketTitle::parse("退货", "title").unwrap(),
            description: TicketBody::parse_description("订单 123", "description").unwrap(),
            customer_id: Some(CustomerId::generate()),
            conversation_id: None,
            priority: TicketPriority::High,
            status: TicketStatus::Pending,
            assignee_id: None,
            group_id: Some(GroupId::generate()),
            source: TicketSource::Widget,
            contact: Some(TicketContact::parse(Some("li@example.com"), Some("13800138000"), "contact").unwrap()),
            created_by: None,
            created_at: at,
            updated_at: at,
            version: 3,
        }
    }

    #[test]
    fn a_record_reads_back_from_its_item_with_its_index_keys() {
        let r = record();
        let item = r.to_item();
        assert_eq!(TicketRecord::read(&item).unwrap(), r);
        let t = &r.tenant_id;
        assert_eq!(item["gsi1pk"], json!(keys::tickets_by_status(t, TicketStatus::Pending)));
        assert_eq!(item["gsi2pk"], json!(keys::tickets_by_assignee(t, None)));
        assert_eq!(item["pk"], json!(keys::ticket_pk(t, &r.ticket_id)));
        assert!(TicketRecord::read(&keys::ticket(t, &r.ticket_id).with(json!({"title": 1}))).is_err());
    }

    #[test]
    fn views_mask_the_contact_without_view_sensitive() {
        let r = record();
        let masked = TicketView::of(&r, false).contact.unwrap();
        assert_eq!(masked.phone.as_deref(), Some("138****8000"));
        assert_ne!(masked.email.as_deref(), Some("li@example.com"));
        let clear = TicketView::of(&r, true);
        assert_eq!(clear.contact.unwrap().email.as_deref(), Some("li@example.com"));
        assert_eq!(
            (clear.status.as_str(), clear.source.as_str(), clear.priority.as_str()),
            ("pending", "widget", "high")
        );
    }

    #[test]
    fn a_new_ticket_is_written_with_its_pointers_and_events() {
        let mut r = record();
        let (ops, events) = new_ticket_writes(&r);
        assert_eq!(ops.len(), 4, "ticket, tenant pointer, group pointer, customer pointer");
        let types: Vec<_> = events.iter().map(|e| e.event_type().as_str()).collect();
        assert_eq!(types, ["ticket.created", "ticket.assigned"]);
        r.group_id = None;
        r.customer_id = None;
        let (ops, events) = new_ticket_writes(&r);
        assert_eq!((ops.len(), events.len()), (2, 1), "no assignee nor group: nobody to tell");
    }
}
