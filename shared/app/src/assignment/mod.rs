//! Assignment: every change of a conversation's `status`, `assignee_id` and `group_id` after it is created, and
//! every agent's load counter, through transactions that hold the capacity invariant in the store.
//!
//! A routing decision is one `Query` (the routing partition: settings, agents' routing items, groups, schedules;
//! see [`store::snapshot`]) plus one transaction:
//! - the conversation's update, on condition that its `status` and `assignee_id` are still what was read
//!   (never on a whole-item version, so message writes never make it fail);
//! - the agent's `active += 1`, on condition `active < max_concurrent` (the value read, with `max_concurrent`
//!   itself unchanged), the agent online and not disabled;
//! - the previous agent's `active -= 1` when a conversation moves between agents;
//! - the customer's last agent (sticky routing) and the outbox entry of the event.
//!
//! So an agent never holds more than `max_concurrent` conversations and a conversation never has two assignees,
//! however many assigners run at once; a loser of a race reloads and tries again.
//!
//! The waiting queue is the `gsi2` partition `T#{t}#QUEUE`, sorted by priority rank then waiting time, so it
//! is drained (see [`drain`]) in priority order whenever capacity frees: a conversation closed or transferred,
//! an agent online or on shift, `max_concurrent` raised. Routing a new conversation drains the queue ahead of
//! it first, so a newcomer never overtakes a conversation that waits with a higher place in the queue.

pub mod activity;
pub mod admin;
pub mod agents;
pub mod groups;
pub mod restore;
pub mod schedules;
pub mod settings;
pub mod shaping;
pub mod store;

use std::time::Duration;

use kefu_domain::routing::{AgentStatus, Candidate, Decision, Needs, Waiting, decide};
use kefu_domain::{AgentId, ConversationId, ConversationStatus, GroupId, TenantId};
use kefu_ports::table::{CmpOp, Condition, Key, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

pub use store::{AgentLoad, ConversationState, GroupRecord, Settings, Snapshot, snapshot};

use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::events::{
    AgentStatusChanged, ConversationAssigned, ConversationClosed, ConversationQueued, ConversationReopened,
    ConversationTransferred, Envelope,
};
use crate::plumbing::keys;
use crate::plumbing::outbox;
use crate::plumbing::record::{self, Record};

/// How many times a transition retries after losing a race before it gives up.
const MAX_ATTEMPTS: usize = 25;
/// The most candidates stored on a conversation's decision (the rest are counted, by reason).
pub const MAX_STORED_CANDIDATES: usize = 200;
/// Queue entries read per page while draining.
const QUEUE_PAGE: usize = 100;
/// The most queue entries one drain pass looks at.
const QUEUE_SCAN_LIMIT: usize = 2000;

/// Why a transition was refused.
#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    /// No such conversation in this tenant.
    #[error("no such conversation")]
    ConversationNotFound,
    /// No such (enabled) agent in this tenant.
    #[error("no such agent")]
    AgentNotFound,
    /// No such group in this tenant.
    #[error("no such group")]
    GroupNotFound,
    /// The agent already has `max_concurrent` conversations.
    #[error("the agent is at capacity")]
    AtCapacity,
    /// The conversation is not in a state that allows this.
    #[error("{0}")]
    InvalidState(&'static str),
    /// Lost too many races in a row; the caller may retry.
    #[error("too many concurrent changes; retry")]
    Busy,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// The result of one conditional write.
enum Applied {
    Done,
    ConversationChanged,
    AgentChanged,
    Retry,
}

fn classify(e: TableError, conversation_at: usize, agent_at: Option<usize>) -> Result<Applied, TableError> {
    match e {
        TableError::TransactionCanceled { failed } => {
            if failed.contains(&conversation_at) {
                Ok(Applied::ConversationChanged)
            } else if agent_at.is_some_and(|a| failed.contains(&a)) {
                Ok(Applied::AgentChanged)
            } else {
                Ok(Applied::Retry)
            }
        }
        TableError::Conflict => Ok(Applied::Retry),
        e => Err(e),
    }
}

async fn backoff(attempt: usize) {
    let cap = 5u64 << attempt.min(5);
    tokio::time::sleep(Duration::from_millis(rand::random_range(1..=cap))).await;
}

/// The condition that a conversation's `status` and `assignee_id` are still what was read.
fn unchanged(c: &ConversationState) -> Condition {
    Condition::And(vec![
        Condition::Exists,
        Condition::eq("status", c.status.as_str()),
        match &c.assignee_id {
            Some(a) => Condition::eq("assignee_id", a.as_str()),
            None => Condition::AttrNotExists("assignee_id".into()),
        },
    ])
}

/// [`unchanged`], and the conversation's deletion not begun ([`keys::conversation_live`]): the condition of a
/// transaction that writes a decision ([`routing_put`] adds an item to the conversation's partition, which must
/// not outlive its deletion) or reopens it. Closing or transferring a conversation whose deletion has begun
/// still works: the deletion closes it first, and they write nothing beside it.
fn unchanged_live(c: &ConversationState) -> Condition {
    Condition::And(vec![unchanged(c), keys::conversation_live()])
}

/// Writes a decision as the conversation's last (its own item beside the conversation: see [`RoutingRecord`]),
/// in the transaction that acts on it.
fn routing_put(t: &TenantId, c: &ConversationId, routing: Value) -> TxOp {
    let record = RoutingRecord { tenant_id: t.clone(), conversation_id: c.clone(), routing };
    TxOp::Put { item: record.to_item(), condition: None }
}

/// The decision as stored beside the conversation (`routing`): API.md's shape, at most
/// [`MAX_STORED_CANDIDATES`] candidates (the rest counted by reason), with the outcome.
pub fn routing_json(d: &Decision, outcome: &str, in_working_hours: bool) -> Value {
    let mut v = serde_json::to_value(d).expect("a decision serialises");
    if d.candidates.len() > MAX_STORED_CANDIDATES {
        let mut omitted = serde_json::Map::new();
        for c in &d.candidates[MAX_STORED_CANDIDATES..] {
            let reason = c.excluded.map_or("eligible".to_owned(), |r| {
                serde_json::to_value(r).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
            });
            let n = omitted.entry(reason).or_insert(json!(0));
            *n = json!(n.as_u64().unwrap_or(0) + 1);
        }
        v["candidates"] = serde_json::to_value(&d.candidates[..MAX_STORED_CANDIDATES]).expect("serialises");
        v["candidates_omitted"] = Value::Object(omitted);
    }
    v["outcome"] = json!(outcome);
    v["outside_working_hours"] = json!(!in_working_hours);
    v
}

/// Writes an assignment: conversation → `open` with `agent`, capacity taken, previous agent released.
#[allow(clippy::too_many_arguments)]
async fn commit_assign(
    app: &App,
    t: &TenantId,
    conv: &ConversationState,
    agent: &AgentLoad,
    routing: Value,
    by: Option<&AgentId>,
    manual: bool,
    release_previous: bool,
    audit: Option<&AuditEntry>,
) -> Result<Applied, TableError> {
    let now = app.now();
    let a = &agent.agent_id;
    let routing_again = routing.clone();
    let conv_update = Update::new()
        .set("status", ConversationStatus::Open.as_str())
        .set("assignee_id", a.as_str())
        .set("assigned_at", json!(now))
        .remove("routing")
        .set("gsi2pk", keys::assigned_pk(t, a, ConversationStatus::Open.as_str()))
        .set("gsi2sk", keys::assigned_sk(now, &conv.id))
        .remove("previous_assignee_id");
    let mut agent_cond = vec![
        Condition::Exists,
        Condition::eq("max_concurrent", agent.max_concurrent),
        Condition::cmp("active", CmpOp::Lt, agent.max_concurrent),
        Condition::cmp("disabled", CmpOp::Ne, true),
    ];
    if !manual {
        agent_cond.push(Condition::eq("status", AgentStatus::Online.as_str()));
    }
    let mut ops = vec![
        TxOp::Update {
            key: keys::conversation(t, &conv.id),
            update: conv_update,
            condition: Some(unchanged_live(conv)),
        },
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().add("active", 1).set("last_assigned_at", json!(now)),
            condition: Some(Condition::And(agent_cond)),
        },
    ];
    let previous = conv.assignee_id.as_ref().filter(|p| *p != a);
    if let Some(p) = previous.filter(|_| release_previous) {
        ops.push(TxOp::Update {
            key: keys::agent_load(t, p),
            update: Update::new().add("active", -1),
            condition: Some(Condition::cmp("active", CmpOp::Gt, 0)),
        });
    }
    if let Some(cu) = &conv.customer_id {
        ops.push(TxOp::Put {
            item: record::item_of(
                keys::last_agent(t, cu),
                &LastAgentRecord { agent_id: a.clone(), at: now, conversation_id: conv.id.clone() },
            ),
            condition: None,
        });
    }
    ops.push(routing_put(t, &conv.id, routing));
    let assigned = ConversationAssigned {
        conversation_id: conv.id.clone(),
        agent_id: a.clone(),
        previous_agent_id: previous.cloned(),
        by: by.cloned(),
    };
    let event = Envelope::new(t, now, assigned);
    match crate::audit::commit(app, ops, vec![event], audit.into_iter().cloned().collect()).await {
        Ok(()) => Ok(Applied::Done),
        Err(TableError::TransactionCanceled { failed }) if failed == [2] && release_previous && previous.is_some() => {
            // The previous agent's count is already 0: nothing to release. Say so and assign without it.
            warn!(tenant_id = %t, conversation_id = %conv.id, "previous agent's active count was already 0");
            Box::pin(commit_assign(app, t, conv, agent, routing_again, by, manual, false, audit)).await
        }
        Err(e) => classify(e, 0, Some(1)),
    }
}

/// Writes a conversation nobody can take into the queue (or, with `queue_when_full` off, leaves it `pending`
/// with its decision).
async fn commit_wait(
    app: &App,
    t: &TenantId,
    conv: &ConversationState,
    routing: Value,
    queue: bool,
) -> Result<Applied, TableError> {
    let key = keys::conversation(t, &conv.id);
    if !queue {
        // Nothing on the conversation changes: its state is only checked, and the decision written beside it.
        let ops = vec![TxOp::Check { key, condition: unchanged_live(conv) }, routing_put(t, &conv.id, routing)];
        return match app.table.transact(ops).await {
            Ok(()) => Ok(Applied::Done),
            Err(TableError::TransactionCanceled { .. }) => Ok(Applied::ConversationChanged),
            Err(e) => Err(e),
        };
    }
    let now = app.now();
    let update = Update::new()
        .set("status", ConversationStatus::Queued.as_str())
        .remove("routing")
        .set("waiting_since", json!(conv.waiting_since))
        .set("queued_at", json!(now))
        .set("gsi2pk", keys::queue_pk(t))
        .set("gsi2sk", keys::queue_sk(conv.priority.rank(), conv.waiting_since, &conv.id));
    let events = if conv.status == ConversationStatus::Queued {
        vec![]
    } else {
        let queued = ConversationQueued {
            conversation_id: conv.id.clone(),
            group_id: conv.group_id.clone(),
            priority: conv.priority,
        };
        vec![Envelope::new(t, now, queued)]
    };
    let ops =
        vec![TxOp::Update { key, update, condition: Some(unchanged_live(conv)) }, routing_put(t, &conv.id, routing)];
    match outbox::commit(app, ops, events).await {
        Ok(()) => {
            if let Err(e) = mark_queued(app, t).await {
                warn!(tenant_id = %t, error = %e, "could not mark the tenant as having a queue; conversation.queued will");
            }
            Ok(Applied::Done)
        }
        Err(e) => classify(e, 0, None),
    }
}

/// A conversation's last routing decision: `T#{t}#CONV#{c}` / `ROUTING` (API.md's shape plus assignment's
/// fields: up to 200 candidates, each with why it was or was not chosen). Written by assignment with each
/// decision, in the decision's own transaction; read only for the conversation's detail. It lives apart from
/// the conversation item because that item is read and rewritten by every message, and a decision with 50
/// candidates made it several times larger.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoutingRecord {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its conversation.
    pub conversation_id: ConversationId,
    /// The decision.
    pub routing: Value,
}

impl Record for RoutingRecord {
    const TYPE: &'static str = "conversation_routing";

    fn key(&self) -> Key {
        keys::conversation_routing(&self.tenant_id, &self.conversation_id)
    }
}

/// A customer's last agent: `last_agent(t, cu)` (no `type`; the customer is only in the key, so it is written
/// with `record::item_of`), for sticky routing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastAgentRecord {
    /// The agent the customer's last conversation went to.
    pub agent_id: AgentId,
    /// When.
    pub at: jiff::Timestamp,
    /// That conversation.
    pub conversation_id: ConversationId,
}

/// A tenant's mark in the list of tenants with a waiting queue: `queued_tenant(t)` (no `type`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedTenantRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// A fresh token per marking: removal is conditioned on it.
    pub mark: String,
    /// When it was marked.
    pub at: jiff::Timestamp,
}

impl Record for QueuedTenantRecord {
    const TYPE: &'static str = "queued_tenant";
    const TYPED: bool = false;

    fn key(&self) -> Key {
        keys::queued_tenant(&self.tenant_id)
    }
}

/// Puts the tenant in the list of tenants with a waiting queue (timers drain them every minute). The mark is a
/// fresh token each time, so [`unmark_if_empty`] never removes a mark set after the queue was seen empty.
pub async fn mark_queued(app: &App, t: &TenantId) -> Result<(), TableError> {
    let item =
        QueuedTenantRecord { tenant_id: t.clone(), mark: ulid::Ulid::new().to_string(), at: app.now() }.to_item();
    app.table.put(item, None).await
}

/// Removes the tenant's queue mark when its queue is empty and nobody marked it since `mark` was read.
async fn unmark_if_empty(app: &App, t: &TenantId, mark: &str) -> Result<bool, TableError> {
    if queue_len_at_least_one(app, t).await? {
        return Ok(false);
    }
    match app.table.delete(&keys::queued_tenant(t), Some(Condition::eq("mark", mark))).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

async fn queue_len_at_least_one(app: &App, t: &TenantId) -> Result<bool, TableError> {
    let page = app.table.query(Query::index(kefu_ports::Index::Gsi2, keys::queue_pk(t)).limit(1)).await?;
    Ok(!page.items.is_empty())
}

/// What a routing pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct DrainReport {
    /// Conversations assigned.
    pub assigned: usize,
    /// Whether conversations are still waiting.
    pub still_queued: bool,
}

/// One conversation in a pass, with what it needs.
struct Entry {
    conv: ConversationState,
    needs: Needs,
    in_hours: bool,
}

async fn entry_for(app: &App, t: &TenantId, snap: &Snapshot, conv: ConversationState) -> Result<Entry, TableError> {
    let at = app.now();
    let group = snap.route_group(conv.group_id.as_ref());
    let in_hours = snap.in_working_hours(group.as_ref(), at);
    let mut preferred = conv.previous_assignee_id.clone();
    if preferred.is_none()
        && snap.settings.sticky_returning_customers
        && let Some(cu) = &conv.customer_id
    {
        preferred = app
            .table
            .get(&keys::last_agent(t, cu))
            .await?
            .and_then(|i| i.get("agent_id").and_then(Value::as_str).and_then(AgentId::parse));
    }
    // Waiting in the queue past an overflow rule, it is offered to the rule's group too.
    let overflow_group_ids = match (&group, conv.status, conv.queued_at) {
        (Some(g), ConversationStatus::Queued, Some(queued_at)) => snap.settings.overflow_groups(g, queued_at, at),
        _ => Vec::new(),
    };
    let needs = Needs { group_id: group, skills: conv.skills.clone(), preferred_agent: preferred, overflow_group_ids };
    Ok(Entry { conv, needs, in_hours })
}

/// How one pass ended.
enum Pass {
    /// Finished; the target's decision when there was one.
    Finished { target: Option<Decision>, report: DrainReport },
    /// The target was routed or closed by someone else.
    TargetGone,
    /// Lost a race on an agent: reload and go again.
    Restart,
}

/// One pass over the queue (in order, a page at a time), with the target conversation (a new one, a reopened
/// or transferred one) taken at its place in the queue order.
async fn pass(app: &App, t: &TenantId, target: Option<&ConversationState>) -> Result<Pass, AssignmentError> {
    let at = app.now();
    let snap = snapshot(app, t).await?;
    let strategy = snap.settings.strategy;
    let mut cands: Vec<Candidate> = snap.candidates(at);
    let mut report = DrainReport::default();
    let mut target_decision = None;
    let mut target_done = target.is_none();
    let mut cursor = None;
    let mut seen = 0usize;

    loop {
        if !cands.iter().any(Candidate::has_room) {
            break;
        }
        let page = app
            .table
            .query(Query::index(kefu_ports::Index::Gsi2, keys::queue_pk(t)).limit(QUEUE_PAGE).after(cursor))
            .await?;
        seen += page.items.len();
        let mut waiting: Vec<ConversationState> = page
            .items
            .iter()
            .map(ConversationState::from_item)
            .collect::<Result<Vec<_>, _>>()
            .map_err(TableError::from)?
            .into_iter()
            .filter(|c| c.routable() && c.status == ConversationStatus::Queued && target.is_none_or(|x| x.id != c.id))
            .collect();
        waiting.sort_by_key(ConversationState::waiting);
        let last_of_page: Option<Waiting> = waiting.last().map(ConversationState::waiting);
        let more = page.cursor.is_some() && seen < QUEUE_SCAN_LIMIT;
        if let Some(x) = target.filter(|_| !target_done)
            && (!more || last_of_page.as_ref().is_none_or(|l| x.waiting() < *l))
        {
            waiting.push(x.clone());
            waiting.sort_by_key(ConversationState::waiting);
        }
        for conv in waiting {
            let is_target = target.is_some_and(|x| x.id == conv.id);
            if !is_target && !cands.iter().any(Candidate::has_room) {
                break;
            }
            let e = entry_for(app, t, &snap, conv).await?;
            let mut d = decide(strategy, &cands, &e.needs, at);
            if !e.in_hours {
                d.chosen_agent_id = None;
                d.sticky = false;
            }
            match d.chosen_agent_id.clone() {
                Some(a) => {
                    let agent = snap.agent(&a).expect("a candidate is a snapshot agent");
                    let agent = AgentLoad {
                        active: cands.iter().find(|c| c.agent_id == a).map_or(agent.active, |c| c.active),
                        ..agent.clone()
                    };
                    let outcome = if d.sticky { "sticky" } else { "assigned" };
                    let mut routing = routing_json(&d, outcome, true);
                    if let Some(via) =
                        cands.iter().find(|c| c.agent_id == a).and_then(|c| e.needs.overflow_via(c)).cloned()
                    {
                        // Offered to this agent's group by an overflow rule: the record says so.
                        routing["reason"] = json!("overflow");
                        routing["overflow_group_id"] = json!(via);
                        routing["queued_seconds"] =
                            json!(e.conv.queued_at.map_or(0, |q| at.duration_since(q).as_secs().max(0)));
                    }
                    match commit_assign(app, t, &e.conv, &agent, routing, None, false, true, None).await? {
                        Applied::Done => {
                            debug!(tenant_id = %t, conversation_id = %e.conv.id, agent_id = %a, "assigned");
                            let c = cands.iter_mut().find(|c| c.agent_id == a).expect("chosen among candidates");
                            c.active += 1;
                            c.last_assigned_at = Some(at);
                            report.assigned += 1;
                            if is_target {
                                target_decision = Some(d);
                                target_done = true;
                            }
                        }
                        Applied::ConversationChanged if is_target => return Ok(Pass::TargetGone),
                        Applied::ConversationChanged => {}
                        Applied::AgentChanged | Applied::Retry => return Ok(Pass::Restart),
                    }
                }
                None if is_target => {
                    let queue = snap.settings.queue_when_full;
                    let outcome = if queue { "queued" } else { "unassigned" };
                    match commit_wait(app, t, &e.conv, routing_json(&d, outcome, e.in_hours), queue).await? {
                        Applied::Done => {
                            report.still_queued |= queue;
                            target_decision = Some(d);
                            target_done = true;
                        }
                        Applied::ConversationChanged => return Ok(Pass::TargetGone),
                        Applied::AgentChanged | Applied::Retry => return Ok(Pass::Restart),
                    }
                }
                None => report.still_queued = true,
            }
        }
        cursor = page.cursor;
        if cursor.is_none() || seen >= QUEUE_SCAN_LIMIT {
            break;
        }
    }
    if let Some(x) = target.filter(|_| !target_done) {
        // Nobody has room (or the queue ahead took it all): the target waits, with its reasons.
        let e = entry_for(app, t, &snap, x.clone()).await?;
        let mut d = decide(strategy, &cands, &e.needs, at);
        if !e.in_hours || d.chosen_agent_id.is_some() {
            // Room that is left belongs to conversations ahead in the queue that could not use it.
            d.chosen_agent_id = None;
            d.sticky = false;
        }
        let queue = snap.settings.queue_when_full;
        match commit_wait(
            app,
            t,
            &e.conv,
            routing_json(&d, if queue { "queued" } else { "unassigned" }, e.in_hours),
            queue,
        )
        .await?
        {
            Applied::Done => {
                report.still_queued |= queue;
                target_decision = Some(d);
            }
            Applied::ConversationChanged => return Ok(Pass::TargetGone),
            Applied::AgentChanged | Applied::Retry => return Ok(Pass::Restart),
        }
    }
    if !report.still_queued {
        report.still_queued = queue_len_at_least_one(app, t).await?;
    }
    Ok(Pass::Finished { target: target_decision, report })
}

/// Routes a conversation (the assign consumer calls it on `conversation.created`): assigns it when an eligible
/// agent has room and nobody ahead of it in the queue needs that room, else queues it (or, with
/// `queue_when_full` off, leaves it unassigned). Answers the decision, or `None` when the conversation was
/// already routed or closed.
pub async fn route(app: &App, t: &TenantId, c: &ConversationId) -> Result<Option<Decision>, AssignmentError> {
    for attempt in 0..MAX_ATTEMPTS {
        let conv = store::conversation(app, t, c).await?.ok_or(AssignmentError::ConversationNotFound)?;
        if !conv.routable() {
            return Ok(None);
        }
        match pass(app, t, Some(&conv)).await? {
            Pass::Finished { target, report } => {
                if report.assigned > 1 {
                    info!(tenant_id = %t, assigned = report.assigned, "routing drained the queue too");
                }
                return Ok(target);
            }
            Pass::TargetGone | Pass::Restart => backoff(attempt).await,
        }
    }
    Err(AssignmentError::Busy)
}

/// Drains the tenant's waiting queue in priority order while agents have room.
pub async fn drain(app: &App, t: &TenantId) -> Result<DrainReport, AssignmentError> {
    let mut total = DrainReport::default();
    for attempt in 0..MAX_ATTEMPTS {
        match pass(app, t, None).await? {
            Pass::Finished { report, .. } => {
                total.assigned += report.assigned;
                total.still_queued = report.still_queued;
                return Ok(total);
            }
            Pass::TargetGone | Pass::Restart => backoff(attempt).await,
        }
    }
    Err(AssignmentError::Busy)
}

/// Drains every tenant with a waiting queue (timers, every minute: agents come on shift and working hours
/// open with time, not with events). Tenants whose queue turns out empty leave the list.
pub async fn drain_queued_tenants(app: &App) -> Result<DrainReport, TableError> {
    let mut total = DrainReport::default();
    let mut cursor = None;
    loop {
        let page = app.table.query(Query::partition(keys::QUEUED_TENANTS_PK).limit(100).after(cursor)).await?;
        for item in &page.items {
            let Some(t) = item.get("tenant_id").and_then(Value::as_str).and_then(TenantId::parse) else { continue };
            let mark = item.get("mark").and_then(Value::as_str).unwrap_or_default().to_owned();
            match drain(app, &t).await {
                Ok(r) => {
                    total.assigned += r.assigned;
                    if r.still_queued {
                        total.still_queued = true;
                    } else {
                        unmark_if_empty(app, &t, &mark).await?;
                    }
                }
                Err(e) => warn!(tenant_id = %t, error = %e, "drain failed; the next tick retries"),
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(total)
}

/// Reads an agent's routing item, creating it from the account when it does not exist yet (accounts made
/// before routing knew them, e.g. a tenant's first admin).
pub async fn ensure_agent_load(app: &App, t: &TenantId, a: &AgentId) -> Result<AgentLoad, AssignmentError> {
    if let Some(item) = app.table.get(&keys::agent_load(t, a)).await? {
        return Ok(AgentLoad::from_item(&item).map_err(TableError::from)?);
    }
    let account = app.table.get(&keys::agent(t, a)).await?.ok_or(AssignmentError::AgentNotFound)?;
    let account = <crate::identity::accounts::AccountRecord as crate::plumbing::record::Record>::from_item(account)
        .map_err(TableError::from)?;
    let item = AgentLoad::item_for_account(&account);
    match app.table.put(item, Some(Condition::NotExists)).await {
        Ok(()) | Err(TableError::ConditionFailed) => {}
        Err(e) => return Err(e.into()),
    }
    let item = app.table.get(&keys::agent_load(t, a)).await?.ok_or(AssignmentError::AgentNotFound)?;
    Ok(AgentLoad::from_item(&item).map_err(TableError::from)?)
}

/// Assigns a conversation to an agent by hand (`POST /v1/conversations/{id}/assign {"agent_id"}`), from
/// `pending`, `queued` or `open` (a transfer between agents). The agent may be away, but never over capacity.
pub async fn assign_to_agent(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    agent_id: &AgentId,
    by: Option<&AgentId>,
) -> Result<(), AssignmentError> {
    assign_to_agent_recorded(app, t, c, agent_id, by, None).await
}

/// [`assign_to_agent`], with `audit` (a staff member's `conversation.assign` entry) committed with the
/// assignment. Assigning to the agent it already has changes nothing and records nothing.
pub async fn assign_to_agent_recorded(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    agent_id: &AgentId,
    by: Option<&AgentId>,
    audit: Option<AuditEntry>,
) -> Result<(), AssignmentError> {
    let audit = audit.map(|e| e.target("conversation", c));
    for attempt in 0..MAX_ATTEMPTS {
        let conv = store::live_conversation(app, t, c).await?.ok_or(AssignmentError::ConversationNotFound)?;
        if conv.status == ConversationStatus::Closed {
            return Err(AssignmentError::InvalidState("the conversation is closed; reopen it first"));
        }
        if conv.assignee_id.as_ref() == Some(agent_id) {
            return Ok(());
        }
        let agent = ensure_agent_load(app, t, agent_id).await?;
        if agent.disabled {
            return Err(AssignmentError::AgentNotFound);
        }
        if agent.active >= agent.max_concurrent {
            return Err(AssignmentError::AtCapacity);
        }
        let settings =
            app.table.get(&keys::assignment_settings(t)).await?.map(|i| Settings::from_item(&i)).unwrap_or_default();
        let now = app.now();
        let routing = json!({
            "decided_at": now, "strategy": settings.strategy.as_str(), "chosen_agent_id": agent_id,
            "sticky": false, "candidates": [{"agent_id": agent_id, "excluded": null}],
            "outcome": "manual", "by": by, "outside_working_hours": false,
        });
        match commit_assign(app, t, &conv, &agent, routing, by, true, true, audit.as_ref()).await? {
            Applied::Done => return Ok(()),
            Applied::ConversationChanged | Applied::AgentChanged | Applied::Retry => backoff(attempt).await,
        }
    }
    Err(AssignmentError::Busy)
}

/// The operation releasing one slot of an agent's capacity.
fn release(t: &TenantId, a: &AgentId) -> TxOp {
    TxOp::Update {
        key: keys::agent_load(t, a),
        update: Update::new().add("active", -1),
        condition: Some(Condition::cmp("active", CmpOp::Gt, 0)),
    }
}

/// Closes a conversation, releasing its agent's slot (the queue drains on `conversation.closed`). Closing a
/// closed conversation changes nothing and answers `false`.
pub async fn close(app: &App, t: &TenantId, c: &ConversationId, by: Option<&AgentId>) -> Result<bool, AssignmentError> {
    close_recorded(app, t, c, by, None).await
}

/// [`close`], with `audit` (a staff member's `conversation.close` entry) committed with the change.
pub async fn close_recorded(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    by: Option<&AgentId>,
    audit: Option<AuditEntry>,
) -> Result<bool, AssignmentError> {
    let audit: Vec<AuditEntry> = audit.into_iter().map(|e| e.target("conversation", c)).collect();
    let mut release_slot = true;
    for attempt in 0..MAX_ATTEMPTS {
        let conv = store::conversation(app, t, c).await?.ok_or(AssignmentError::ConversationNotFound)?;
        if conv.status == ConversationStatus::Closed {
            return Ok(false);
        }
        let now = app.now();
        let mut update = Update::new()
            .set("status", ConversationStatus::Closed.as_str())
            .set("closed_at", json!(now))
            .set("closed_by", json!(by));
        update = match &conv.assignee_id {
            Some(a) => update
                .set("gsi2pk", keys::assigned_pk(t, a, ConversationStatus::Closed.as_str()))
                .set("gsi2sk", keys::assigned_sk(now, c)),
            None => update.remove("gsi2pk").remove("gsi2sk"),
        };
        let mut ops = vec![TxOp::Update { key: keys::conversation(t, c), update, condition: Some(unchanged(&conv)) }];
        let holds_slot = conv.status == ConversationStatus::Open && conv.assignee_id.is_some();
        if let Some(a) = conv.assignee_id.as_ref().filter(|_| holds_slot && release_slot) {
            ops.push(release(t, a));
        }
        let closed =
            ConversationClosed { conversation_id: c.clone(), agent_id: conv.assignee_id.clone(), by: by.cloned() };
        let event = Envelope::new(t, now, closed);
        match crate::audit::commit(app, ops, vec![event], audit.clone()).await {
            Ok(()) => return Ok(true),
            Err(TableError::TransactionCanceled { failed }) if failed == [1] => {
                warn!(tenant_id = %t, conversation_id = %c, "the agent's active count was already 0");
                release_slot = false;
            }
            Err(e) => match classify(e, 0, None)? {
                Applied::Done => return Ok(true),
                _ => backoff(attempt).await,
            },
        }
    }
    Err(AssignmentError::Busy)
}

/// Reopens a closed conversation and routes it again, preferring the agent it had.
pub async fn reopen(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    by: Option<&AgentId>,
) -> Result<Option<Decision>, AssignmentError> {
    reopen_recorded(app, t, c, by, None).await
}

/// [`reopen`], with `audit` (a staff member's `conversation.reopen` entry) committed with the change.
pub async fn reopen_recorded(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    by: Option<&AgentId>,
    audit: Option<AuditEntry>,
) -> Result<Option<Decision>, AssignmentError> {
    let audit: Vec<AuditEntry> = audit.into_iter().map(|e| e.target("conversation", c)).collect();
    let conv = store::live_conversation(app, t, c).await?.ok_or(AssignmentError::ConversationNotFound)?;
    if conv.status != ConversationStatus::Closed {
        return Err(AssignmentError::InvalidState("only a closed conversation can be reopened"));
    }
    let now = app.now();
    let mut update = Update::new()
        .set("status", ConversationStatus::Pending.as_str())
        .set("waiting_since", json!(now))
        .set("reopened_at", json!(now))
        .remove("assignee_id")
        .remove("gsi2pk")
        .remove("gsi2sk");
    update = match &conv.assignee_id {
        Some(a) => update.set("previous_assignee_id", a.as_str()),
        None => update.remove("previous_assignee_id"),
    };
    let ops = vec![TxOp::Update { key: keys::conversation(t, c), update, condition: Some(unchanged_live(&conv)) }];
    let reopened = ConversationReopened {
        conversation_id: c.clone(),
        previous_agent_id: conv.assignee_id.clone(),
        by: by.cloned(),
    };
    let event = Envelope::new(t, now, reopened);
    match crate::audit::commit(app, ops, vec![event], audit).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) => {
            return Err(AssignmentError::InvalidState("the conversation changed meanwhile; retry"));
        }
        Err(e) => return Err(e.into()),
    }
    route(app, t, c).await
}

/// Moves a conversation to a group and routes it there (its agent, if any, is released).
pub async fn transfer_to_group(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    group_id: &GroupId,
    by: Option<&AgentId>,
) -> Result<Option<Decision>, AssignmentError> {
    transfer_to_group_recorded(app, t, c, group_id, by, None).await
}

/// [`transfer_to_group`], with `audit` (a staff member's `conversation.assign` entry) committed with the move.
pub async fn transfer_to_group_recorded(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    group_id: &GroupId,
    by: Option<&AgentId>,
    audit: Option<AuditEntry>,
) -> Result<Option<Decision>, AssignmentError> {
    let audit: Vec<AuditEntry> = audit.into_iter().map(|e| e.target("conversation", c)).collect();
    if app.table.get(&keys::group(t, group_id)).await?.is_none() {
        return Err(AssignmentError::GroupNotFound);
    }
    let mut release_slot = true;
    for attempt in 0..MAX_ATTEMPTS {
        let conv = store::conversation(app, t, c).await?.ok_or(AssignmentError::ConversationNotFound)?;
        if conv.status == ConversationStatus::Closed {
            return Err(AssignmentError::InvalidState("the conversation is closed; reopen it first"));
        }
        let now = app.now();
        let was_open = conv.status == ConversationStatus::Open;
        let update = Update::new()
            .set("group_id", group_id.as_str())
            .set("status", ConversationStatus::Pending.as_str())
            .set("waiting_since", json!(if was_open { now } else { conv.waiting_since }))
            .set("transferred_at", json!(now))
            .remove("assignee_id")
            .remove("previous_assignee_id")
            .remove("gsi2pk")
            .remove("gsi2sk");
        let mut ops = vec![TxOp::Update { key: keys::conversation(t, c), update, condition: Some(unchanged(&conv)) }];
        if let Some(a) = conv.assignee_id.as_ref().filter(|_| was_open && release_slot) {
            ops.push(release(t, a));
        }
        let transferred = ConversationTransferred {
            conversation_id: c.clone(),
            group_id: group_id.clone(),
            previous_agent_id: conv.assignee_id.clone(),
            by: by.cloned(),
        };
        let event = Envelope::new(t, now, transferred);
        match crate::audit::commit(app, ops, vec![event], audit.clone()).await {
            Ok(()) => return route(app, t, c).await,
            Err(TableError::TransactionCanceled { failed }) if failed == [1] => release_slot = false,
            Err(e) => {
                classify(e, 0, None)?;
                backoff(attempt).await;
            }
        }
    }
    Err(AssignmentError::Busy)
}

/// Why a conversation is moved from its agent to another (recorded in its `routing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReassignReason {
    /// The visitor waited this long for the agent's reply (`reassign_unanswered_seconds`).
    Unanswered {
        /// The wait, in seconds.
        waited_seconds: u64,
    },
    /// A rule's `reassign` action.
    Rule,
}

/// Moves an open conversation whose visitor has waited `waited_seconds` for `from`'s reply to another eligible
/// agent that is none of `had` (the agents it already had), as routing would choose among them (strategy,
/// group, skills, capacity, working hours): the conversation's `routing` says `reassigned` with the reason
/// `unanswered`, `from`'s slot is released and the new agent's taken in one transaction (capacity holds).
/// Answers the new agent, or `None` when the conversation is no longer `from`'s open conversation or nobody
/// else can take it (it then stays with `from`).
pub async fn reassign_unanswered(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    from: &AgentId,
    had: &[AgentId],
    waited_seconds: u64,
) -> Result<Option<AgentId>, AssignmentError> {
    reassign_away(app, t, c, from, had, ReassignReason::Unanswered { waited_seconds }).await
}

/// A rule's `reassign`: moves the open conversation from its agent to another eligible agent it never had
/// (`routing` says `reassigned`, reason `rule`). Answers the new agent, or `None` when it has no agent, is not
/// open, or nobody else can take it (it then stays where it is).
pub async fn reassign_by_rule(app: &App, t: &TenantId, c: &ConversationId) -> Result<Option<AgentId>, AssignmentError> {
    let Some(conv) = store::conversation(app, t, c).await? else { return Ok(None) };
    let Some(from) = conv.assignee_id.clone() else { return Ok(None) };
    let had = agents_had(app, t, c).await?;
    reassign_away(app, t, c, &from, &had, ReassignReason::Rule).await
}

/// The agents a conversation has had (the `HAD#` items the assign consumer writes on each assignment).
pub async fn agents_had(app: &App, t: &TenantId, c: &ConversationId) -> Result<Vec<AgentId>, TableError> {
    #[derive(Deserialize)]
    struct Had {
        agent_id: AgentId,
    }
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(t, c))
            .sk(kefu_ports::table::SkCondition::BeginsWith(keys::HAD_PREFIX.to_owned()))
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            out.push(record::parse::<Had>("had agent", item)?.agent_id);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

async fn reassign_away(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    from: &AgentId,
    had: &[AgentId],
    reason: ReassignReason,
) -> Result<Option<AgentId>, AssignmentError> {
    for attempt in 0..MAX_ATTEMPTS {
        let Some(conv) = store::live_conversation(app, t, c).await? else { return Ok(None) };
        if conv.status != ConversationStatus::Open || conv.assignee_id.as_ref() != Some(from) {
            return Ok(None);
        }
        let at = app.now();
        let snap = snapshot(app, t).await?;
        let cands: Vec<Candidate> =
            snap.candidates(at).into_iter().filter(|x| &x.agent_id != from && !had.contains(&x.agent_id)).collect();
        let mut e = entry_for(app, t, &snap, conv).await?;
        e.needs.preferred_agent = None;
        let d = decide(snap.settings.strategy, &cands, &e.needs, at);
        let Some(a) = d.chosen_agent_id.clone().filter(|_| e.in_hours) else {
            info!(tenant_id = %t, conversation_id = %c, ?reason, "to be reassigned, but no other agent can take it");
            return Ok(None);
        };
        let Some(agent) = snap.agent(&a).cloned() else { return Ok(None) };
        let mut routing = routing_json(&d, "reassigned", e.in_hours);
        match reason {
            ReassignReason::Unanswered { waited_seconds } => {
                routing["reason"] = json!("unanswered");
                routing["unanswered_seconds"] = json!(waited_seconds);
            }
            ReassignReason::Rule => routing["reason"] = json!("rule"),
        }
        routing["previous_agent_id"] = json!(from);
        match commit_assign(app, t, &e.conv, &agent, routing, None, false, true, None).await? {
            Applied::Done => return Ok(Some(a)),
            Applied::ConversationChanged | Applied::AgentChanged | Applied::Retry => backoff(attempt).await,
        }
    }
    Err(AssignmentError::Busy)
}

/// Sets an agent's presence (`PUT /v1/me/status`, the real-time grace period). Coming online drains the queue
/// (the assign consumer does it on `agent.status_changed`). Going away keeps the agent's open conversations.
pub async fn set_agent_status(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    status: kefu_domain::routing::AgentStatus,
) -> Result<(), AssignmentError> {
    set_status_when(app, t, a, status, None).await.map(|_| ())
}

/// [`set_agent_status`] with one more condition on the agent's routing item (auto-away: "still online and
/// idle since the activity it read"); the change, its event and what routing does with it are the same.
/// Answers `Ok(false)` when the extra condition no longer held (nothing changed), `Ok(true)` when the status
/// changed or already was `status`.
pub(crate) async fn set_status_when(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    status: kefu_domain::routing::AgentStatus,
    extra: Option<Condition>,
) -> Result<bool, AssignmentError> {
    let load = ensure_agent_load(app, t, a).await?;
    if load.disabled {
        return Err(AssignmentError::AgentNotFound);
    }
    if load.status == status {
        return Ok(true);
    }
    let now = app.now();
    let mut update = Update::new().set("status", status.as_str()).set("status_at", json!(now));
    if status == AgentStatus::Online {
        // Going online is activity: auto-away counts from here.
        update = update.set("last_active_s", now.as_second());
    }
    let mut conditions = vec![Condition::Exists, Condition::cmp("disabled", CmpOp::Ne, true)];
    let conditioned = extra.is_some();
    conditions.extend(extra);
    let ops = vec![
        TxOp::Update { key: keys::agent_load(t, a), update, condition: Some(Condition::And(conditions)) },
        TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new().set("status", status.as_str()),
            condition: Some(Condition::Exists),
        },
    ];
    let event = Envelope::new(t, now, AgentStatusChanged { agent_id: a.clone(), status });
    match outbox::commit(app, ops, vec![event]).await {
        Ok(()) => Ok(true),
        Err(TableError::TransactionCanceled { .. }) if conditioned => Ok(false),
        Err(TableError::TransactionCanceled { .. }) => Err(AssignmentError::AgentNotFound),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use kefu_domain::CustomerId;

    use super::*;

    /// A decision read before a conversation's deletion began, committed after: its transaction is refused on
    /// the conversation, so no `ROUTING` item is left in the partition the deletion empties.
    #[tokio::test]
    async fn a_decision_is_not_written_beside_a_conversation_being_deleted() {
        let (app, _dir) = crate::testing::embedded_app(std::sync::Arc::new(kefu_ports::SystemClock));
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        // What routing reads of a pending conversation (the conversations capability, above this one, writes
        // the whole item).
        let stored = keys::conversation(&t, &c).with(json!({
            "conversation_id": c, "customer_id": CustomerId::generate(), "status": "pending", "priority": "normal",
            "created_at": app.now(),
        }));
        app.table.put(stored, None).await.unwrap();
        let read = store::conversation(&app, &t, &c).await.unwrap().unwrap();
        assert!(read.routable());
        app.table
            .update(&keys::conversation(&t, &c), Update::new().set(keys::CONVERSATION_DELETING, true), None)
            .await
            .unwrap();
        for queue in [false, true] {
            let applied = commit_wait(&app, &t, &read, json!({"outcome": "queued"}), queue).await.unwrap();
            assert!(matches!(applied, Applied::ConversationChanged), "queue {queue}");
        }
        assert_eq!(app.table.get(&keys::conversation_routing(&t, &c)).await.unwrap(), None);
        let again = store::conversation(&app, &t, &c).await.unwrap().unwrap();
        assert!(again.deleting && !again.routable(), "routing leaves it alone");
        assert_eq!(route(&app, &t, &c).await.unwrap(), None);
    }

    #[test]
    fn the_last_agent_and_the_queue_mark_are_stored_as_before() {
        let (t, cu, a, c) =
            (TenantId::generate(), CustomerId::generate(), AgentId::generate(), ConversationId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = LastAgentRecord { agent_id: a.clone(), at, conversation_id: c.clone() };
        let expected = keys::last_agent(&t, &cu).with(json!({"agent_id": a, "at": at, "conversation_id": c}));
        assert_eq!(record::item_of(keys::last_agent(&t, &cu), &r), expected);
        assert_eq!(record::parse::<LastAgentRecord>("last agent", expected).unwrap(), r);
        let q = QueuedTenantRecord { tenant_id: t.clone(), mark: "m1".into(), at };
        let expected = keys::queued_tenant(&t).with(json!({"tenant_id": t, "mark": "m1", "at": at}));
        assert_eq!(q.to_item(), expected);
        assert_eq!(QueuedTenantRecord::from_item(expected).unwrap(), q);
    }
}
