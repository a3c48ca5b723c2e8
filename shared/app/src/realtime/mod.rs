//! Real time: one-time tickets, WebSocket connection records, and pushing frames to them.
//!
//! A client (an agent's console or a visitor's widget) asks `POST /v1/realtime/ticket` for a ticket, then opens
//! `{url}?ticket=...`. The ticket works once (a conditional delete) and within [`TICKET_TTL`]. The connection is
//! then recorded under its id, indexed (gsi1) by agent or by the visitor's conversation, so the `notify` consumer
//! finds every connection of a recipient with one Query; a staff connection is also listed (gsi2) under its
//! tenant's staff sockets, where the watchers of an unassigned conversation are found. The same functions serve
//! `kefu serve` (axum WebSocket, in-process [`kefu_ports::Push`] hub) and AWS (the `realtime` function's `$connect`/`$disconnect`, pushes
//! through the API Gateway management API). A push that answers `Gone` removes the record. One
//! socket's life (handshake, client frames, re-checks, close) is [`socket`]'s: both transports only adapt it.
//!
//! Limits: a subscriber holds at most [`MAX_VISITOR_SOCKETS`] or [`MAX_AGENT_SOCKETS`] sockets (a ticket past
//! that answers 429, and so does a handshake that would pass it); tickets are rate limited per token and per
//! IP. A staff socket stays tied to its session: every frame is rendered for the reader as it is now (the
//! session is re-checked as a request would be: logged out, revoked, expired, account disabled or off the IP
//! allowlist closes the socket; masking follows the role's permissions at that moment), and a client's ping
//! re-checks it too.

pub mod frames;
pub mod presence;
pub mod socket;

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use kefu_domain::{AgentId, ConversationId, Permission, TenantId};
use kefu_ports::table::{Condition, Index, Item, Key, Query, TableError, Update};
use kefu_ports::{PushError, SkCondition};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::identity::accounts::Principal;
use crate::identity::auth::AuthError;
use crate::identity::secrets::{new_secret, token_hash};
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How long a ticket may wait to be redeemed.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// How long a connection record lives without a refresh. API Gateway closes a WebSocket after 2 hours at most,
/// so a record whose `$disconnect` was lost disappears on its own; `kefu serve` refreshes live ones hourly.
pub const CONNECTION_TTL: Duration = Duration::from_secs(3 * 3600);

/// How often `kefu serve` refreshes the record of a connection that stays open.
pub const CONNECTION_REFRESH: Duration = Duration::from_secs(3600);

/// Prefix of every ticket (so a ticket is never mistaken for a session or visitor token).
pub const TICKET_PREFIX: &str = "kft_";

/// The most sockets one visitor (its conversation) may hold open: a widget needs one, a few tabs a few.
pub const MAX_VISITOR_SOCKETS: usize = 5;

/// The most sockets one staff account may hold open (tabs and devices).
pub const MAX_AGENT_SOCKETS: usize = 10;

/// Tickets one token (session or visitor token) may get per minute.
pub const TICKETS_PER_TOKEN_PER_MINUTE: u32 = 20;

/// Tickets one client IP may get per minute per tenant, all tokens together.
pub const TICKETS_PER_IP_PER_MINUTE: u32 = 120;

/// Who a ticket (and then a connection) is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subscriber {
    /// A staff member's console.
    Agent {
        /// The tenant.
        tenant_id: TenantId,
        /// The account.
        agent_id: AgentId,
        /// The session's key (its token's hash): the socket lives only as long as the session works.
        session_hash: String,
        /// The address the ticket was asked from, for the tenant's IP allowlist on every re-check.
        ip: IpAddr,
    },
    /// A visitor's widget, bound to its conversation.
    Visitor {
        /// The tenant.
        tenant_id: TenantId,
        /// The visitor's conversation.
        conversation_id: String,
        /// The visitor's customer record.
        customer_id: String,
    },
}

impl Subscriber {
    /// The subscriber a staff principal stands for.
    pub fn of_staff(p: &Principal) -> Self {
        Subscriber::Agent {
            tenant_id: p.tenant_id.clone(),
            agent_id: p.agent_id.clone(),
            session_hash: p.session_hash.clone(),
            ip: p.ip,
        }
    }

    /// The subscriber a visitor token stands for.
    pub fn of_visitor(v: &crate::conversations::widget::Visitor) -> Self {
        Subscriber::Visitor {
            tenant_id: v.tenant_id.clone(),
            conversation_id: v.conversation_id.to_string(),
            customer_id: v.customer_id.to_string(),
        }
    }

    /// The tenant.
    pub fn tenant_id(&self) -> &TenantId {
        match self {
            Subscriber::Agent { tenant_id, .. } | Subscriber::Visitor { tenant_id, .. } => tenant_id,
        }
    }

    /// The most sockets this subscriber may hold open.
    pub fn max_sockets(&self) -> usize {
        match self {
            Subscriber::Agent { .. } => MAX_AGENT_SOCKETS,
            Subscriber::Visitor { .. } => MAX_VISITOR_SOCKETS,
        }
    }

    /// The index partition this subscriber's connections are listed under.
    pub fn connections_pk(&self) -> String {
        match self {
            Subscriber::Agent { tenant_id, agent_id, .. } => keys::agent_connections(tenant_id, agent_id),
            Subscriber::Visitor { tenant_id, conversation_id, .. } => {
                keys::visitor_connections(tenant_id, conversation_id)
            }
        }
    }

    /// The stored fields describing the subscriber (on tickets and connection records).
    fn fields(&self) -> SubscriberFields {
        match self {
            Subscriber::Agent { tenant_id, agent_id, session_hash, ip } => SubscriberFields::Agent {
                tenant_id: tenant_id.clone(),
                agent_id: agent_id.clone(),
                session_hash: session_hash.clone(),
                ip: ip.to_string(),
            },
            Subscriber::Visitor { tenant_id, conversation_id, customer_id } => SubscriberFields::Visitor {
                tenant_id: tenant_id.clone(),
                conversation_id: conversation_id.clone(),
                customer_id: customer_id.clone(),
            },
        }
    }

    /// The subscriber stored on a ticket or connection record.
    fn from_item(item: &Item) -> Option<Self> {
        let s = |k: &str| item.get(k).and_then(Value::as_str);
        let tenant_id = TenantId::parse(s("tenant_id")?)?;
        match s("kind")? {
            "agent" => Some(Subscriber::Agent {
                tenant_id,
                agent_id: AgentId::parse(s("agent_id")?)?,
                // A record without a session (written before sockets were tied to one) never passes a re-check.
                session_hash: s("session_hash").unwrap_or_default().to_owned(),
                ip: s("ip").and_then(|ip| ip.parse().ok()).unwrap_or(IpAddr::from([0, 0, 0, 0])),
            }),
            "visitor" => Some(Subscriber::Visitor {
                tenant_id,
                conversation_id: s("conversation_id")?.to_owned(),
                customer_id: s("customer_id").unwrap_or_default().to_owned(),
            }),
            _ => None,
        }
    }
}

/// A subscriber as stored on a ticket or a connection record: `kind` (`agent` | `visitor`) and its fields.
/// Read back leniently by `Subscriber::from_item` (a record from before sockets were tied to a session lacks
/// `session_hash`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SubscriberFields {
    /// A staff member's console.
    Agent {
        /// The tenant.
        tenant_id: TenantId,
        /// The account.
        agent_id: AgentId,
        /// The session's key (its token's hash).
        #[serde(default)]
        session_hash: String,
        /// The address the ticket was asked from.
        #[serde(default)]
        ip: String,
    },
    /// A visitor's widget, bound to its conversation.
    Visitor {
        /// The tenant.
        tenant_id: TenantId,
        /// The conversation.
        conversation_id: String,
        /// The visitor's customer.
        #[serde(default)]
        customer_id: String,
    },
}

/// A one-time WebSocket ticket as stored: `RTTICKET#{sha256_hex(ticket)}` (only the hash, in the key, so the
/// item is written with `record::item_of`); deleted when redeemed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketRecord {
    /// Who it lets in.
    #[serde(flatten)]
    pub subscriber: SubscriberFields,
    /// When it was issued.
    pub created_at: jiff::Timestamp,
    /// When it lapses (epoch seconds).
    pub ttl: i64,
}

impl TicketRecord {
    /// The `type` attribute of a ticket item.
    pub const TYPE: &'static str = "realtime_ticket";

    /// The item to store under the ticket's hash.
    pub fn item(&self, ticket_hash: &str) -> Item {
        let mut item = record::item_of(keys::realtime_ticket(ticket_hash), self);
        item.insert("type".into(), Value::String(Self::TYPE.into()));
        item
    }
}

/// An open WebSocket connection as stored: `CONN#{connection_id}`, listed under its subscriber (gsi1: the
/// agent's or the conversation's connections) and, for staff, among the tenant's staff sockets (gsi2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// The gateway's connection id.
    pub connection_id: String,
    /// Who is connected.
    #[serde(flatten)]
    pub subscriber: SubscriberFields,
    /// When it connected.
    pub connected_at: jiff::Timestamp,
    /// When the store drops it (epoch seconds), pushed on by each ping.
    pub ttl: i64,
}

impl Record for ConnectionRecord {
    const TYPE: &'static str = "connection";

    fn key(&self) -> Key {
        keys::connection(&self.connection_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let id = self.connection_id.clone();
        match &self.subscriber {
            SubscriberFields::Agent { tenant_id, agent_id, .. } => vec![
                (Index::Gsi1.pk_attr(), keys::agent_connections(tenant_id, agent_id)),
                (Index::Gsi1.sk_attr(), id.clone()),
                (Index::Gsi2.pk_attr(), keys::staff_connections(tenant_id)),
                (Index::Gsi2.sk_attr(), id),
            ],
            SubscriberFields::Visitor { tenant_id, conversation_id, .. } => vec![
                (Index::Gsi1.pk_attr(), keys::visitor_connections(tenant_id, conversation_id)),
                (Index::Gsi1.sk_attr(), id),
            ],
        }
    }
}

/// A ticket, as `POST /v1/realtime/ticket` answers it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Ticket {
    /// The one-time ticket; append it to `url` as `?ticket=...` within 60 seconds.
    pub ticket: String,
    /// The WebSocket URL to open.
    pub url: String,
}

/// Why a ticket was refused.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// Unknown, already used or expired; or the session behind it no longer works.
    #[error("the ticket is unknown, used or expired")]
    Invalid,
    /// The subscriber already holds as many sockets as it may.
    #[error("too many sockets open")]
    TooMany,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Counts one ticket against its rate limits: [`TICKETS_PER_IP_PER_MINUTE`] per client IP within the tenant
/// (per address and, for IPv6, per /64 prefix, as sign-in counts: [`crate::plumbing::ratelimit::hit_ip`]; else a client
/// rotating addresses inside its /64 multiplies the budget), then [`TICKETS_PER_TOKEN_PER_MINUTE`] per token.
/// `Limited` (429 with `Retry-After`) past either.
pub async fn limit_tickets(
    app: &App,
    subscriber: &Subscriber,
    token: &str,
    ip: IpAddr,
) -> Result<(), crate::plumbing::ratelimit::RateLimitError> {
    use crate::plumbing::ratelimit::{hit, hit_ip, limits::MINUTE};
    let tenant = subscriber.tenant_id().as_str();
    hit_ip(app, "realtime.ticket.ip", tenant, ip, TICKETS_PER_IP_PER_MINUTE, MINUTE).await?;
    hit(app, "realtime.ticket", &token_hash(token), TICKETS_PER_TOKEN_PER_MINUTE, MINUTE).await
}

/// Issues a ticket for `subscriber`, to be redeemed at `url`, committed with `audit` (its `realtime.ticket`
/// entry). Only the ticket's hash is stored.
pub async fn issue_ticket(
    app: &App,
    subscriber: &Subscriber,
    url: String,
    audit: crate::audit::AuditEntry,
) -> Result<Ticket, TableError> {
    let ticket = new_secret(TICKET_PREFIX);
    let now = app.now();
    let record =
        TicketRecord { subscriber: subscriber.fields(), created_at: now, ttl: now.as_second() + secs(TICKET_TTL) };
    let item = record.item(&token_hash(&ticket));
    let op = kefu_ports::table::TxOp::Put { item, condition: Some(Condition::NotExists) };
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit]).await?;
    Ok(Ticket { ticket, url })
}

/// Redeems a ticket: deletes it on condition that it is there and unexpired, so it works once.
pub async fn redeem_ticket(app: &App, ticket: &str) -> Result<Subscriber, TicketError> {
    if !ticket.starts_with(TICKET_PREFIX) || ticket.len() > 100 {
        return Err(TicketError::Invalid);
    }
    let key = keys::realtime_ticket(&token_hash(ticket));
    match app.table.delete(&key, Some(Condition::Exists)).await {
        Ok(Some(item)) => Subscriber::from_item(&item).ok_or(TicketError::Invalid),
        Ok(None) | Err(TableError::ConditionFailed) => Err(TicketError::Invalid),
        Err(e) => Err(e.into()),
    }
}

/// One recorded connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The connection id (API Gateway's, or `kefu serve`'s own).
    pub id: String,
    /// Whom it was opened for (`None` for an unreadable record, which is never pushed to).
    pub subscriber: Option<Subscriber>,
}

/// How many sockets `subscriber` holds open (counting up to its cap only).
pub async fn open_sockets(app: &App, subscriber: &Subscriber) -> Result<usize, TableError> {
    let cap = subscriber.max_sockets();
    let page = app.table.query(Query::index(Index::Gsi1, subscriber.connections_pk()).limit(cap)).await?;
    Ok(page.items.len())
}

/// Whether `subscriber` may open one more socket now: under its cap and, for staff, with a session that still
/// works (the ticket may have waited up to a minute). `Invalid` or `TooMany` otherwise.
pub async fn admit(app: &App, subscriber: &Subscriber) -> Result<(), TicketError> {
    if let Subscriber::Agent { .. } = subscriber
        && reader_view(app, subscriber).await?.is_none()
    {
        return Err(TicketError::Invalid);
    }
    if open_sockets(app, subscriber).await? >= subscriber.max_sockets() {
        return Err(TicketError::TooMany);
    }
    Ok(())
}

/// What a subscriber may see now: `Some(view_sensitive)` when it may receive frames (for staff: its session
/// passes the same checks as a request, unrestricted; unmasked when its role has `customers.view_sensitive`
/// now), `None` when its socket must close.
pub async fn reader_view(app: &App, subscriber: &Subscriber) -> Result<Option<bool>, TableError> {
    if let Subscriber::Visitor { .. } = subscriber {
        return Ok(Some(true));
    }
    Ok(staff_reader(app, subscriber).await?.map(|p| p.permissions.has(Permission::CustomersViewSensitive)))
}

/// The staff member behind a socket as it is now, with its permissions (its session re-checked as a request
/// would be); `None` when its socket must close (and for a visitor's). For frames meant for holders of a
/// permission (`approval.requested`).
pub async fn staff_principal(app: &App, subscriber: &Subscriber) -> Result<Option<Principal>, TableError> {
    staff_reader(app, subscriber).await
}

/// The staff member behind a socket as it is now (its session re-checked as a request would be); `None` when
/// its socket must close (and for a visitor's).
async fn staff_reader(app: &App, subscriber: &Subscriber) -> Result<Option<Principal>, TableError> {
    let Subscriber::Agent { tenant_id, agent_id, session_hash, ip } = subscriber else { return Ok(None) };
    if session_hash.is_empty() {
        return Ok(None);
    }
    match crate::identity::auth::authenticate_session_of(app, session_hash.clone(), *ip, Some(tenant_id)).await {
        Ok(p) if &p.tenant_id == tenant_id && &p.agent_id == agent_id && p.restriction.is_none() => Ok(Some(p)),
        Ok(_) | Err(AuthError::Unauthenticated | AuthError::IpNotAllowed) => Ok(None),
        Err(AuthError::Table(e)) => Err(e),
        Err(e) => {
            tracing::warn!(error = %e, "session re-check failed");
            Ok(None)
        }
    }
}

/// Closes a connection whose reader may no longer receive frames, and forgets it.
pub async fn close(app: &App, connection_id: &str) -> Result<(), TableError> {
    match app.push.close(connection_id).await {
        Ok(()) | Err(PushError::Gone) => {}
        Err(PushError::Unavailable(e)) => tracing::warn!(connection_id, error = %e, "close failed"),
    }
    disconnect(app, connection_id).await?;
    tracing::info!(connection_id, "websocket closed: its session no longer works");
    Ok(())
}

/// Re-checks one connection (a client's ping): closes it when its reader may no longer receive frames.
/// Answers whether it stays open. With `activity` (a frame the client sent, not the transport's periodic
/// re-check), an agent's open connection records its activity (auto-away's clock).
pub async fn recheck(app: &App, connection_id: &str, activity: bool) -> Result<bool, TableError> {
    let Some(item) = app.table.get(&keys::connection(connection_id)).await? else { return Ok(false) };
    let subscriber = Subscriber::from_item(&item);
    let view = match &subscriber {
        Some(subscriber) => reader_view(app, subscriber).await?,
        None => None,
    };
    if view.is_none() {
        close(app, connection_id).await?;
    } else if activity && let Some(Subscriber::Agent { tenant_id, agent_id, .. }) = &subscriber {
        // An agent's frame is activity (auto-away's clock; at most one write a minute).
        crate::assignment::activity::touch_quietly(app, tenant_id, agent_id).await;
    }
    Ok(view.is_some())
}

/// Records a new connection of `subscriber`. An agent's reconnection cancels a pending away (presence grace).
pub async fn connect(app: &App, connection_id: &str, subscriber: &Subscriber) -> Result<(), TableError> {
    let now = app.now();
    // An agent's is also listed among the tenant's staff sockets, where the watchers of an unassigned
    // conversation are (`ConnectionRecord::index`).
    let item = ConnectionRecord {
        connection_id: connection_id.to_owned(),
        subscriber: subscriber.fields(),
        connected_at: now,
        ttl: now.as_second() + secs(CONNECTION_TTL),
    }
    .to_item();
    app.table.put(item, None).await?;
    if let Subscriber::Agent { tenant_id, agent_id, .. } = subscriber {
        presence::cancel(app, tenant_id, agent_id).await?;
    }
    tracing::info!(tenant_id = %subscriber.tenant_id(), connection_id, "websocket connected");
    Ok(())
}

/// Extends a live connection's record (nothing happens when it is gone).
pub async fn refresh(app: &App, connection_id: &str) -> Result<(), TableError> {
    let ttl = app.now().as_second() + secs(CONNECTION_TTL);
    match app
        .table
        .update(&keys::connection(connection_id), Update::new().set("ttl", ttl), Some(Condition::Exists))
        .await
    {
        Ok(_) | Err(TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Forgets a connection (closed, or answered `Gone`); answers who it belonged to. When it was an agent's last
/// connection, the agent enters the presence grace period.
pub async fn disconnect(app: &App, connection_id: &str) -> Result<Option<Subscriber>, TableError> {
    let Some(item) = app.table.delete(&keys::connection(connection_id), None).await? else { return Ok(None) };
    let subscriber = Subscriber::from_item(&item);
    if let Some(Subscriber::Agent { tenant_id, agent_id, .. }) = &subscriber
        && !has_connections(app, &keys::agent_connections(tenant_id, agent_id)).await?
    {
        presence::mark(app, tenant_id, agent_id).await?;
    }
    tracing::info!(connection_id, "websocket disconnected");
    Ok(subscriber)
}

async fn has_connections(app: &App, pk: &str) -> Result<bool, TableError> {
    Ok(!app.table.query(Query::index(Index::Gsi1, pk).limit(1)).await?.items.is_empty())
}

/// Every live connection listed under an index partition.
async fn connections_under(app: &App, pk: String) -> Result<Vec<Connection>, TableError> {
    connections_in(app, Index::Gsi1, pk).await
}

/// Every live connection listed under a partition of `index`.
async fn connections_in(app: &App, index: Index, pk: String) -> Result<Vec<Connection>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.table.query(Query::index(index, pk.clone()).limit(100).after(cursor)).await?;
        out.extend(page.items.iter().filter_map(|i| {
            Some(Connection { id: i.get("connection_id")?.as_str()?.to_owned(), subscriber: Subscriber::from_item(i) })
        }));
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Every connection of an agent.
pub async fn agent_connections(app: &App, t: &TenantId, a: &AgentId) -> Result<Vec<Connection>, TableError> {
    connections_under(app, keys::agent_connections(t, a)).await
}

/// An agent's live sockets, each with whether its reader sees personal data unmasked; a socket whose session
/// may no longer receive frames (ended, account disabled) is closed instead, and counted in `closed`.
pub async fn agent_readers(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    closed: &mut usize,
) -> Result<Vec<(Connection, bool)>, TableError> {
    let mut readers = Vec::new();
    for c in agent_connections(app, t, a).await? {
        let view = match &c.subscriber {
            Some(s) => reader_view(app, s).await?,
            None => None,
        };
        match view {
            Some(sensitive) => readers.push((c, sensitive)),
            None => {
                close(app, &c.id).await?;
                *closed += 1;
            }
        }
    }
    Ok(readers)
}

/// Every staff connection of a tenant (one Query on gsi2): where the watchers of an unassigned conversation
/// are found.
pub async fn staff_connections(app: &App, t: &TenantId) -> Result<Vec<Connection>, TableError> {
    connections_in(app, Index::Gsi2, keys::staff_connections(t)).await
}

/// Every visitor connection of a conversation.
pub async fn visitor_connections(
    app: &App,
    t: &TenantId,
    conversation_id: &str,
) -> Result<Vec<Connection>, TableError> {
    connections_under(app, keys::visitor_connections(t, conversation_id)).await
}

/// What a push to several connections did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushReport {
    /// Frames delivered.
    pub sent: usize,
    /// Connections found gone (their records removed).
    pub gone: usize,
    /// Pushes that failed for another reason.
    pub failed: usize,
    /// Connections closed because their reader may no longer receive frames (session ended, account
    /// disabled…).
    pub closed: usize,
}

/// Pushes a frame to each connection (`render` builds the text for one reader: unmasked or not);
/// connections that answer `Gone` are forgotten.
pub async fn push_to(
    app: &App,
    connections: &[(Connection, bool)],
    render: impl Fn(bool) -> String,
) -> Result<PushReport, TableError> {
    let mut report = PushReport::default();
    for (c, view_sensitive) in connections {
        match app.push.send(&c.id, &render(*view_sensitive)).await {
            Ok(()) => report.sent += 1,
            Err(PushError::Gone) => {
                report.gone += 1;
                disconnect(app, &c.id).await?;
            }
            Err(PushError::Unavailable(e)) => {
                tracing::warn!(connection_id = %c.id, error = %e, "push failed");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// The sort-key bound that selects index entries due at or before `now_ms` in a `{ms:013}#...` sort key.
fn due_bound(now_ms: i64) -> SkCondition {
    SkCondition::Lt(format!("{:013}$", now_ms.max(0)))
}

impl std::ops::AddAssign for PushReport {
    fn add_assign(&mut self, o: Self) {
        self.sent += o.sent;
        self.gone += o.gone;
        self.failed += o.failed;
        self.closed += o.closed;
    }
}

/// The conversation as it is now (one read); `None` when it does not exist.
async fn conversation_of(
    app: &App,
    t: &TenantId,
    conversation_id: &str,
) -> Result<Option<crate::conversations::ConversationRecord>, TableError> {
    let Some(c) = ConversationId::parse(conversation_id) else { return Ok(None) };
    crate::conversations::load(app, t, &c).await
}

/// What one staff socket's reader may receive of this event, decided once per session: `None` when the socket
/// must close, else whether it reads unmasked and whether it may see the conversation.
#[derive(Debug, Clone, Copy)]
struct StaffView {
    view_sensitive: bool,
    sees_conversation: bool,
}

/// Pushes the frames an event becomes (see [`frames`]) to every connection of each recipient. Used by the
/// `notify` consumer; delivery is at least once (a retried event pushes again; frames carry ids to dedupe on).
///
/// The watchers of an unassigned conversation ([`frames::Recipient::Watchers`]) are found among the tenant's
/// staff sockets (one Query on their index partition, no Scan); each reader's session is re-checked and what it
/// may see decided as the conversations API decides it ([`crate::conversations::Viewer::can_see`]), now.
pub async fn deliver(app: &App, event: &crate::plumbing::events::Envelope) -> Result<PushReport, TableError> {
    deliver_with(app, event, None).await
}

/// [`deliver`] when the caller knows the conversation's assignee as of the event's commit (intake: the
/// message's transaction was conditioned on it), which saves reading the conversation; with `None` the
/// conversation is read as in [`deliver`].
pub async fn deliver_with(
    app: &App,
    event: &crate::plumbing::events::Envelope,
    known_assignee: Option<&AgentId>,
) -> Result<PushReport, TableError> {
    let frames = frames::frames_for(event);
    let mut report = PushReport::default();
    if frames.is_empty() {
        return Ok(report);
    }
    let t = &event.tenant_id;
    let conversation = match frames.first() {
        Some((_, f)) if known_assignee.is_none() && frames::needs_assignee(&frames) => {
            conversation_of(app, t, &f.conversation_id).await?
        }
        _ => None,
    };
    let assignee = known_assignee.cloned().or_else(|| conversation.as_ref().and_then(|c| c.assignee_id.clone()));
    let watched = assignee.is_none() && frames.iter().any(|(to, _)| *to == frames::Recipient::Watchers);
    // Each reader is checked once per event, as it is now: a closed session gets nothing and its socket closes.
    let mut views: HashMap<String, Option<StaffView>> = HashMap::new();
    for (to, frame) in &frames {
        let connections = match to {
            frames::Recipient::Assignee => match &assignee {
                Some(a) => agent_connections(app, t, a).await?,
                None => continue,
            },
            frames::Recipient::Agent(a) => agent_connections(app, t, a).await?,
            frames::Recipient::Visitor => visitor_connections(app, t, &frame.conversation_id).await?,
            frames::Recipient::Watchers => match (&conversation, &assignee) {
                (Some(_), None) => staff_connections(app, t).await?,
                _ => continue,
            },
        };
        if connections.is_empty() {
            continue;
        }
        let watchers = *to == frames::Recipient::Watchers;
        let mut readers = Vec::with_capacity(connections.len());
        for c in connections {
            let view = match &c.subscriber {
                Some(s @ Subscriber::Agent { session_hash, .. }) => match views.get(session_hash) {
                    Some(v) => *v,
                    None => {
                        let v = match staff_reader(app, s).await? {
                            Some(p) => {
                                let view_sensitive = p.permissions.has(Permission::CustomersViewSensitive);
                                // Visibility matters (and costs a read) only when watchers are told.
                                let sees_conversation = match &conversation {
                                    Some(item) if watched => {
                                        crate::conversations::Viewer::of(app, &p).await?.can_see(item)
                                    }
                                    _ => false,
                                };
                                Some(StaffView { view_sensitive, sees_conversation })
                            }
                            None => None,
                        };
                        views.insert(session_hash.clone(), v);
                        v
                    }
                },
                // A visitor's socket is listed only under its own conversation.
                Some(Subscriber::Visitor { .. }) if !watchers => {
                    Some(StaffView { view_sensitive: true, sees_conversation: true })
                }
                Some(Subscriber::Visitor { .. }) => continue,
                None => None,
            };
            match view {
                Some(v) if watchers && !v.sees_conversation => {}
                Some(v) => readers.push((c, v.view_sensitive)),
                None => {
                    close(app, &c.id).await?;
                    report.closed += 1;
                }
            }
        }
        let text = frame.to_text();
        let masked = frame.masked().map(|f| f.to_text());
        let render = |view_sensitive: bool| match &masked {
            Some(m) if !view_sensitive => m.clone(),
            _ => text.clone(),
        };
        report += push_to(app, &readers, render).await?;
    }
    Ok(report)
}

/// The path `kefu serve` upgrades to a WebSocket (`GET /v1/realtime/ws?ticket=...`).
pub const LOCAL_WS_PATH: &str = "/v1/realtime/ws";

/// The frame a client's `{"action": "ping"}` is answered with, in `kefu serve` and in AWS.
pub const PONG: &str = r#"{"type":"pong"}"#;

/// Whether a client frame is a ping (`{"action": "ping"}`; API Gateway selects routes on `action`), the one
/// client frame Kefu answers. Clients ping to keep a connection open through idle timeouts.
pub fn is_ping(text: &str) -> bool {
    serde_json::from_str::<Value>(text).is_ok_and(|v| v.get("action").and_then(Value::as_str) == Some("ping"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use std::net::Ipv6Addr;
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;
    use crate::plumbing::ratelimit::RateLimitError;

    #[test]
    fn tickets_and_connections_are_stored_as_before_and_read_back() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let now: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let agent = Subscriber::Agent {
            tenant_id: t.clone(),
            agent_id: a.clone(),
            session_hash: "sh".into(),
            ip: IpAddr::from([10, 0, 0, 1]),
        };
        let fields = json!({"tenant_id": t, "kind": "agent", "agent_id": a, "session_hash": "sh", "ip": "10.0.0.1"});
        let ticket = TicketRecord { subscriber: agent.fields(), created_at: now, ttl: 99 };
        let mut expected = keys::realtime_ticket("h1").with(fields.clone());
        expected.extend(json!({"type": "realtime_ticket", "created_at": now, "ttl": 99}).as_object().unwrap().clone());
        assert_eq!(ticket.item("h1"), expected);
        assert_eq!(record::parse::<TicketRecord>(TicketRecord::TYPE, expected.clone()).unwrap(), ticket);
        assert_eq!(Subscriber::from_item(&expected), Some(agent.clone()));

        let conn =
            ConnectionRecord { connection_id: "c1".into(), subscriber: agent.fields(), connected_at: now, ttl: 99 };
        let mut expected = keys::connection("c1").with(fields);
        expected.extend(
            json!({
                "type": "connection", "connection_id": "c1", "connected_at": now, "ttl": 99,
                "gsi1pk": agent.connections_pk(), "gsi1sk": "c1", "gsi2pk": keys::staff_connections(&t), "gsi2sk": "c1",
            })
            .as_object()
            .unwrap()
            .clone(),
        );
        assert_eq!(conn.to_item(), expected);
        assert_eq!(ConnectionRecord::from_item(expected).unwrap(), conn);

        let visitor =
            Subscriber::Visitor { tenant_id: t.clone(), conversation_id: "cv_1".into(), customer_id: "cu_1".into() };
        let conn = ConnectionRecord { subscriber: visitor.fields(), ..conn };
        let expected = keys::connection("c1").with(json!({
            "tenant_id": t, "kind": "visitor", "conversation_id": "cv_1", "customer_id": "cu_1",
            "type": "connection", "connection_id": "c1", "connected_at": now, "ttl": 99,
            "gsi1pk": visitor.connections_pk(), "gsi1sk": "c1",
        }));
        assert_eq!(conn.to_item(), expected);
        assert_eq!(Subscriber::from_item(&expected), Some(visitor));
    }

    #[tokio::test]
    async fn ticket_limits_count_an_ipv6_client_by_its_64() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:10Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let tenant = TenantId::generate();
        let visitor = |n: usize| Subscriber::Visitor {
            tenant_id: tenant.clone(),
            conversation_id: format!("cv_{n}"),
            customer_id: format!("cu_{n}"),
        };
        let in_64 = |k: u16| IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 7, k, 0, 0, 1));
        let per_ip = TICKETS_PER_IP_PER_MINUTE as usize;
        let factor = crate::plumbing::ratelimit::limits::IPV6_PREFIX_FACTOR as usize;
        // Fresh tokens (so the per-token limit never binds), one address after another inside one /64: each
        // address has its own budget, but together they spend the prefix's.
        let mut n = 0;
        for k in 0..factor {
            for _ in 0..per_ip {
                n += 1;
                limit_tickets(&app, &visitor(n), &format!("token{n}"), in_64(k as u16)).await.expect("in budget");
            }
        }
        let fresh = in_64(0xffff);
        let r = limit_tickets(&app, &visitor(0), "a fresh token", fresh).await;
        assert!(matches!(r, Err(RateLimitError::Limited { .. })), "a fresh address in a spent /64: {r:?}");
        // Another /64, or the same address in another tenant, has its own budget.
        let neighbour = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 8, 0, 0, 0, 1));
        limit_tickets(&app, &visitor(0), "a fresh token", neighbour).await.expect("another /64");
        let elsewhere = Subscriber::Visitor {
            tenant_id: TenantId::generate(),
            conversation_id: "cv_x".into(),
            customer_id: "cu_x".into(),
        };
        limit_tickets(&app, &elsewhere, "another fresh token", fresh).await.expect("another tenant");
        // The per-token limit still holds.
        let v4 = IpAddr::from([203, 0, 113, 9]);
        for _ in 0..TICKETS_PER_TOKEN_PER_MINUTE {
            limit_tickets(&app, &visitor(0), "one token", v4).await.expect("in the token's budget");
        }
        let r = limit_tickets(&app, &visitor(0), "one token", v4).await;
        assert!(matches!(r, Err(RateLimitError::Limited { .. })), "{r:?}");
    }
}
