//! The routing records as stored, and the snapshot a decision is made from: one `Query` on the tenant's
//! routing partition (`T#{t}#ROUTING`) returns the assignment settings, every agent's routing item, every group
//! and every schedule.

use std::collections::HashMap;

use kefu_domain::routing::{AgentStatus, Candidate, OverflowRule, Priority, Strategy};
use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{AgentId, ConversationId, ConversationStatus, CustomerId, GroupId, ScheduleId, TenantId};
use kefu_ports::table::{Item, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::identity::accounts::AccountRecord;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record, RecordError};

pub(crate) fn s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(Value::as_str)
}

/// The default `max_concurrent` of a new agent.
pub const DEFAULT_MAX_CONCURRENT: u32 = 5;

/// The assignment settings of a tenant (`GET|PUT /v1/settings/assignment`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// How an agent is picked.
    pub strategy: Strategy,
    /// Whether a conversation nobody can take waits in the queue (else it stays unassigned, `pending`).
    pub queue_when_full: bool,
    /// Whether a returning customer goes to its last agent when that agent can take it.
    pub sticky_returning_customers: bool,
    /// Where conversations without a group go; `None`: every agent.
    pub default_group_id: Option<GroupId>,
    /// Working hours when the conversation's group has none; `None`: always open.
    pub schedule_id: Option<ScheduleId>,
    /// After how many seconds of a visitor waiting for its assignee's reply the conversation moves to another
    /// agent (the timers capability's due timer); `None`: never.
    pub reassign_unanswered_seconds: Option<u32>,
    /// Whether an agent going offline hands its open conversations back to routing.
    pub requeue_on_offline: bool,
    /// After how many minutes without activity an online agent is set away (the timers capability's due
    /// timer); `None`: never.
    pub auto_away_minutes: Option<u32>,
    /// Overflow between groups: a conversation queued in a rule's `from` group that long is offered to its `to`
    /// group too (routing reads it; the timers capability arms the moment).
    pub overflow: Vec<OverflowRule>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            strategy: Strategy::LeastLoaded,
            queue_when_full: true,
            sticky_returning_customers: true,
            default_group_id: None,
            schedule_id: None,
            reassign_unanswered_seconds: None,
            requeue_on_offline: false,
            auto_away_minutes: None,
            overflow: Vec::new(),
        }
    }
}

impl Settings {
    /// The settings of a stored item (defaults for anything missing).
    pub fn from_item(item: &Item) -> Self {
        let d = Self::default();
        Self {
            strategy: s(item, "strategy").and_then(Strategy::parse).unwrap_or(d.strategy),
            queue_when_full: item.get("queue_when_full").and_then(Value::as_bool).unwrap_or(d.queue_when_full),
            sticky_returning_customers: item
                .get("sticky_returning_customers")
                .and_then(Value::as_bool)
                .unwrap_or(d.sticky_returning_customers),
            default_group_id: s(item, "default_group_id").and_then(GroupId::parse),
            schedule_id: s(item, "schedule_id").and_then(ScheduleId::parse),
            reassign_unanswered_seconds: item
                .get("reassign_unanswered_seconds")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1),
            requeue_on_offline: item.get("requeue_on_offline").and_then(Value::as_bool).unwrap_or(false),
            auto_away_minutes: item
                .get("auto_away_minutes")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .filter(|n| *n >= 1),
            overflow: item
                .get("overflow")
                .and_then(|v| serde_json::from_value::<Vec<OverflowRule>>(v.clone()).ok())
                .unwrap_or_default(),
        }
    }

    /// The groups a conversation queued in `group` since `queued_at` is offered to besides its own, at `at`.
    pub fn overflow_groups(&self, group: &GroupId, queued_at: jiff::Timestamp, at: jiff::Timestamp) -> Vec<GroupId> {
        let waited = u64::try_from(at.duration_since(queued_at).as_secs()).unwrap_or(0);
        kefu_domain::routing::overflow_groups(&self.overflow, group, waited)
    }

    /// The API's JSON shape (also the stored fields).
    pub fn to_json(&self) -> Value {
        json!({
            "strategy": self.strategy.as_str(), "queue_when_full": self.queue_when_full,
            "sticky_returning_customers": self.sticky_returning_customers,
            "default_group_id": self.default_group_id, "schedule_id": self.schedule_id,
            "reassign_unanswered_seconds": self.reassign_unanswered_seconds,
            "requeue_on_offline": self.requeue_on_offline,
            "auto_away_minutes": self.auto_away_minutes,
            "overflow": self.overflow,
        })
    }
}

/// An agent's routing item: what routing knows of the agent, and its load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentLoad {
    /// The agent.
    pub agent_id: AgentId,
    /// Presence.
    pub status: AgentStatus,
    /// Disabled accounts never receive conversations.
    pub disabled: bool,
    /// Groups.
    pub group_ids: Vec<GroupId>,
    /// Skills.
    pub skills: Vec<String>,
    /// Capacity.
    pub max_concurrent: u32,
    /// Open conversations assigned to it now.
    pub active: u32,
    /// When it last received a conversation.
    pub last_assigned_at: Option<jiff::Timestamp>,
    /// Its shift, if any.
    pub schedule_id: Option<ScheduleId>,
}

impl AgentLoad {
    /// The routing view of a stored routing item; an item that does not parse is an error.
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        let r = AgentLoadRecord::from_ref(item)?;
        Ok(Self {
            agent_id: r.agent_id,
            status: r.status,
            disabled: r.disabled,
            group_ids: r.group_ids,
            skills: r.skills,
            max_concurrent: r.max_concurrent,
            active: r.active,
            last_assigned_at: r.last_assigned_at,
            schedule_id: r.schedule_id,
        })
    }

    /// A routing item for an account (what an agent's routing item starts from: the account's copies, no
    /// conversations).
    pub fn item_for_account(account: &AccountRecord) -> Item {
        AgentLoadRecord {
            agent_id: account.agent_id.clone(),
            tenant_id: account.tenant_id.clone(),
            status: account.status,
            status_at: None,
            disabled: account.disabled,
            group_ids: account.group_ids.clone(),
            skills: account.skills.clone(),
            max_concurrent: account.max_concurrent,
            schedule_id: account.schedule_id.clone(),
            active: 0,
            last_assigned_at: None,
            gv: None,
            last_active_s: None,
        }
        .to_item()
    }
}

fn default_max_concurrent() -> u32 {
    DEFAULT_MAX_CONCURRENT
}

fn offline() -> AgentStatus {
    AgentStatus::Offline
}

/// An agent's routing item as stored: `T#{t}#ROUTING` / `AGENT#{a}` (docs/data-model.md). Written whole when the
/// agent is created or first routed ([`AgentLoad::item_for_account`]); every later change is an update
/// conditioned on what routing read (`active`, `max_concurrent`, `status`, `gv`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentLoadRecord {
    /// The agent.
    pub agent_id: AgentId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Presence.
    #[serde(default = "offline")]
    pub status: AgentStatus,
    /// When the presence last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<jiff::Timestamp>,
    /// Disabled accounts never receive conversations.
    #[serde(default)]
    pub disabled: bool,
    /// Its groups.
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    /// Its skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Capacity.
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// Its shift (null: none).
    #[serde(default)]
    pub schedule_id: Option<ScheduleId>,
    /// Open conversations it holds (the capacity invariant's counter).
    #[serde(default)]
    pub active: u32,
    /// When it last received a conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_assigned_at: Option<jiff::Timestamp>,
    /// Membership version: every change of `group_ids` is conditioned on it and adds 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gv: Option<u64>,
    /// The agent's last activity while online (a request, a WebSocket ping, typing), in Unix seconds: set when
    /// it goes online, then by [`super::activity::touch`] at most once a minute (auto-away's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_active_s: Option<i64>,
}

impl Record for AgentLoadRecord {
    const TYPE: &'static str = "agent_load";

    fn key(&self) -> kefu_ports::table::Key {
        keys::agent_load(&self.tenant_id, &self.agent_id)
    }
}

fn one() -> u64 {
    1
}

/// An agent group: `T#{t}#ROUTING` / `GROUP#{g}`. Written whole when created; renamed and re-membered by
/// updates conditioned on `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRecord {
    /// The group.
    pub group_id: GroupId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// Its members.
    #[serde(default)]
    pub agent_ids: Vec<AgentId>,
    /// Its working hours, if any.
    #[serde(default)]
    pub schedule_id: Option<ScheduleId>,
    /// When it was created.
    pub created_at: jiff::Timestamp,
    /// Optimistic concurrency.
    #[serde(default = "one")]
    pub version: u64,
}

impl GroupRecord {
    /// The record of a stored group item; an item that does not parse is an error.
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        Self::from_ref(item)
    }
}

impl Record for GroupRecord {
    const TYPE: &'static str = "group";

    fn key(&self) -> kefu_ports::table::Key {
        keys::group(&self.tenant_id, &self.group_id)
    }
}

/// A schedule of a stored item (the API shape is stored as is).
pub fn schedule_of(item: &Item) -> Option<(ScheduleId, Schedule)> {
    let id = ScheduleId::parse(s(item, "schedule_id")?)?;
    let input = ScheduleInput::deserialize(item).ok()?;
    Some((id, Schedule::parse(&input).ok()?))
}

/// Everything a decision needs from the routing partition.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Assignment settings.
    pub settings: Settings,
    /// Every agent's routing item, in agent id order.
    pub agents: Vec<AgentLoad>,
    /// Groups by id.
    pub groups: HashMap<GroupId, GroupRecord>,
    /// Schedules by id.
    pub schedules: HashMap<ScheduleId, Schedule>,
}

/// Loads the snapshot: one `Query` (paged) on the routing partition.
pub async fn snapshot(app: &App, t: &TenantId) -> Result<Snapshot, TableError> {
    let mut snap = Snapshot::default();
    let mut cursor = None;
    loop {
        let page = app.table.query(Query::partition(keys::routing_pk(t)).after(cursor)).await?;
        for item in &page.items {
            let sk = s(item, kefu_ports::table::SK).unwrap_or_default();
            if sk == "SETTINGS" {
                snap.settings = Settings::from_item(item);
            } else if sk.starts_with(keys::AGENT_LOAD_PREFIX) {
                snap.agents.push(AgentLoad::from_item(item)?);
            } else if sk.starts_with(keys::GROUP_PREFIX) {
                let g = GroupRecord::from_item(item)?;
                snap.groups.insert(g.group_id.clone(), g);
            } else if sk.starts_with(keys::SCHEDULE_PREFIX)
                && let Some((id, sc)) = schedule_of(item)
            {
                snap.schedules.insert(id, sc);
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    Ok(snap)
}

impl Snapshot {
    /// The agents as routing candidates at `at` (disabled accounts are not candidates).
    pub fn candidates(&self, at: jiff::Timestamp) -> Vec<Candidate> {
        self.agents
            .iter()
            .filter(|a| !a.disabled)
            .map(|a| Candidate {
                agent_id: a.agent_id.clone(),
                status: a.status,
                on_shift: a.schedule_id.as_ref().and_then(|s| self.schedules.get(s)).is_none_or(|s| s.is_open(at)),
                group_ids: a.group_ids.clone(),
                skills: a.skills.clone(),
                max_concurrent: a.max_concurrent,
                active: a.active,
                last_assigned_at: a.last_assigned_at,
            })
            .collect()
    }

    /// The group a conversation is routed to: its own when it exists, else the default group when that exists,
    /// else none (every agent).
    pub fn route_group(&self, own: Option<&GroupId>) -> Option<GroupId> {
        own.filter(|g| self.groups.contains_key(*g))
            .or(self.settings.default_group_id.as_ref().filter(|g| self.groups.contains_key(*g)))
            .cloned()
    }

    /// Whether working hours are open for a conversation routed to `group` at `at`: the group's schedule, else
    /// the settings' schedule, else always.
    pub fn in_working_hours(&self, group: Option<&GroupId>, at: jiff::Timestamp) -> bool {
        let id = group.and_then(|g| self.groups.get(g)).and_then(|g| g.schedule_id.as_ref());
        let id = id.or(self.settings.schedule_id.as_ref());
        id.and_then(|id| self.schedules.get(id)).is_none_or(|s| s.is_open(at))
    }

    /// An agent's routing item.
    pub fn agent(&self, a: &AgentId) -> Option<&AgentLoad> {
        self.agents.iter().find(|x| &x.agent_id == a)
    }
}

/// What routing reads of a conversation: a typed view of some attributes of the conversation item
/// (`conversations::record::ConversationRecord` is the whole item; the conversations capability sits above this
/// one, so routing reads its own part through the same [`record::parse`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversationState {
    /// The conversation.
    pub id: ConversationId,
    /// Its customer.
    pub customer_id: Option<CustomerId>,
    /// Where it stands.
    pub status: ConversationStatus,
    /// Its agent, if any.
    pub assignee_id: Option<AgentId>,
    /// Its group (`None`: the default group).
    pub group_id: Option<GroupId>,
    /// Its priority.
    pub priority: Priority,
    /// Required skills.
    pub skills: Vec<String>,
    /// Since when it waits for an agent.
    pub waiting_since: jiff::Timestamp,
    /// The agent it had before it was closed (preferred when reopened).
    pub previous_assignee_id: Option<AgentId>,
    /// When it entered the queue (overflow between groups counts from then); `None` when never queued.
    pub queued_at: Option<jiff::Timestamp>,
    /// Its deletion has begun (`keys::CONVERSATION_DELETING`): routing leaves it alone.
    pub deleting: bool,
}

/// The attributes of a stored conversation routing reads (see `ConversationRecord` for their meaning).
#[derive(Deserialize)]
struct StoredConversation {
    conversation_id: ConversationId,
    #[serde(default)]
    customer_id: Option<CustomerId>,
    status: ConversationStatus,
    #[serde(default)]
    assignee_id: Option<AgentId>,
    #[serde(default)]
    group_id: Option<GroupId>,
    priority: Priority,
    #[serde(default)]
    skills: Vec<String>,
    created_at: jiff::Timestamp,
    #[serde(default)]
    waiting_since: Option<jiff::Timestamp>,
    #[serde(default)]
    previous_assignee_id: Option<AgentId>,
    #[serde(default)]
    queued_at: Option<jiff::Timestamp>,
    #[serde(default)]
    deleting: bool,
}

impl ConversationState {
    /// The state of a stored conversation item; an item that does not parse is an error.
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        let c: StoredConversation = record::parse_ref("conversation", item)?;
        Ok(Self {
            id: c.conversation_id,
            customer_id: c.customer_id,
            status: c.status,
            assignee_id: c.assignee_id,
            group_id: c.group_id,
            priority: c.priority,
            skills: c.skills,
            waiting_since: c.waiting_since.unwrap_or(c.created_at),
            previous_assignee_id: c.previous_assignee_id,
            queued_at: c.queued_at,
            deleting: c.deleting,
        })
    }

    /// Whether routing may still act on it (not yet assigned, not closed, not being deleted).
    pub fn routable(&self) -> bool {
        matches!(self.status, ConversationStatus::Pending | ConversationStatus::Queued)
            && self.assignee_id.is_none()
            && !self.deleting
    }

    /// Its place in the waiting queue.
    pub fn waiting(&self) -> kefu_domain::routing::Waiting {
        kefu_domain::routing::Waiting {
            priority: self.priority,
            waiting_since: self.waiting_since,
            conversation_id: self.id.clone(),
        }
    }
}

/// Reads a conversation's routing state.
pub async fn conversation(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
) -> Result<Option<ConversationState>, TableError> {
    match app.table.get(&keys::conversation(t, c)).await? {
        Some(item) => Ok(Some(ConversationState::from_item(&item)?)),
        None => Ok(None),
    }
}

/// The conversation, unless it is gone or its deletion has begun: what every decision by hand or by
/// reassignment starts from (a conversation being deleted gets nothing written beside it).
pub async fn live_conversation(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
) -> Result<Option<ConversationState>, TableError> {
    Ok(conversation(app, t, c).await?.filter(|c| !c.deleting))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_routing_item_starts_from_the_account_as_before() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let account =
            AccountRecord::new(&t, &a, "li@acme.test", "Li", "h", &kefu_domain::RoleId::from_static("agent"), at);
        let item = AgentLoad::item_for_account(&account);
        let expected = keys::agent_load(&t, &a).with(json!({
            "type": "agent_load", "agent_id": a, "tenant_id": t, "status": "offline", "disabled": false,
            "group_ids": [], "skills": [], "max_concurrent": 5, "schedule_id": null, "active": 0,
        }));
        assert_eq!(item, expected);
        let load = AgentLoad::from_item(&item).unwrap();
        assert_eq!((load.status, load.active, load.max_concurrent), (AgentStatus::Offline, 0, 5));
        let mut bad = item;
        bad.insert("active".into(), json!("two"));
        assert!(AgentLoad::from_item(&bad).is_err());
    }

    #[test]
    fn a_group_is_stored_as_before() {
        let (t, g, a) = (TenantId::generate(), GroupId::generate(), AgentId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = GroupRecord {
            group_id: g.clone(),
            tenant_id: t.clone(),
            name: "Sales".into(),
            agent_ids: vec![a.clone()],
            schedule_id: None,
            created_at: at,
            version: 1,
        };
        let expected = keys::group(&t, &g).with(json!({
            "type": "group", "group_id": g, "tenant_id": t, "name": "Sales", "agent_ids": [a],
            "schedule_id": null, "created_at": at, "version": 1,
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(GroupRecord::from_item(&expected).unwrap(), r);
    }
}
