//! The routing records as stored, and the snapshot a decision is made from: one `Query` on the tenant's
//! routing partition (`T#{t}#ROUTING`) returns the assignment settings, every agent's routing item, every group
//! and every schedule.

use std::collections::HashMap;

use kefu_domain::routing::{AgentStatus, Candidate, Priority, Strategy};
use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{AgentId, ConversationId, ConversationStatus, CustomerId, GroupId, ScheduleId, TenantId};
use kefu_ports::table::{Item, Query, TableError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record::{self, RecordError};

pub(crate) fn s<'a>(item: &'a Item, k: &str) -> Option<&'a str> {
    item.get(k).and_then(Value::as_str)
}

pub(crate) fn strings(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

pub(crate) fn u32_of(item: &Item, k: &str) -> Option<u32> {
    item.get(k).and_then(Value::as_i64).map(|n| u32::try_from(n.max(0)).unwrap_or(u32::MAX))
}

pub(crate) fn ts(item: &Item, k: &str) -> Option<jiff::Timestamp> {
    s(item, k).and_then(|v| v.parse().ok())
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
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            strategy: Strategy::LeastLoaded,
            queue_when_full: true,
            sticky_returning_customers: true,
            default_group_id: None,
            schedule_id: None,
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
        }
    }

    /// The API's JSON shape (also the stored fields).
    pub fn to_json(&self) -> Value {
        json!({
            "strategy": self.strategy.as_str(), "queue_when_full": self.queue_when_full,
            "sticky_returning_customers": self.sticky_returning_customers,
            "default_group_id": self.default_group_id, "schedule_id": self.schedule_id,
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
    /// The record of a stored routing item.
    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            agent_id: AgentId::parse(s(item, "agent_id")?)?,
            status: s(item, "status").and_then(AgentStatus::parse).unwrap_or(AgentStatus::Offline),
            disabled: item.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            group_ids: strings(item, "group_ids").iter().filter_map(|g| GroupId::parse(g)).collect(),
            skills: strings(item, "skills"),
            max_concurrent: u32_of(item, "max_concurrent").unwrap_or(DEFAULT_MAX_CONCURRENT),
            active: u32_of(item, "active").unwrap_or(0),
            last_assigned_at: ts(item, "last_assigned_at"),
            schedule_id: s(item, "schedule_id").and_then(ScheduleId::parse),
        })
    }

    /// A routing item for an account item (what an agent's routing item starts from).
    pub fn item_for_account(t: &TenantId, account: &Item) -> Option<Item> {
        let a = AgentId::parse(s(account, "agent_id")?)?;
        Some(keys::agent_load(t, &a).with(json!({
            "type": "agent_load", "agent_id": a, "tenant_id": t,
            "status": s(account, "status").unwrap_or("offline"),
            "disabled": account.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            "group_ids": strings(account, "group_ids"), "skills": strings(account, "skills"),
            "max_concurrent": u32_of(account, "max_concurrent").unwrap_or(DEFAULT_MAX_CONCURRENT),
            "schedule_id": s(account, "schedule_id"), "active": 0,
        })))
    }
}

/// An agent group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRecord {
    /// The group.
    pub group_id: GroupId,
    /// Its name.
    pub name: String,
    /// Its members.
    pub agent_ids: Vec<AgentId>,
    /// Its working hours, if any.
    pub schedule_id: Option<ScheduleId>,
    /// Optimistic concurrency.
    pub version: u64,
}

impl GroupRecord {
    /// The record of a stored group item.
    pub fn from_item(item: &Item) -> Option<Self> {
        Some(Self {
            group_id: GroupId::parse(s(item, "group_id")?)?,
            name: s(item, "name").unwrap_or_default().to_owned(),
            agent_ids: strings(item, "agent_ids").iter().filter_map(|a| AgentId::parse(a)).collect(),
            schedule_id: s(item, "schedule_id").and_then(ScheduleId::parse),
            version: item.get("version").and_then(Value::as_u64).unwrap_or(1),
        })
    }
}

/// A schedule of a stored item (the API shape is stored as is).
pub fn schedule_of(item: &Item) -> Option<(ScheduleId, Schedule)> {
    let id = ScheduleId::parse(s(item, "schedule_id")?)?;
    let input: ScheduleInput = serde_json::from_value(Value::Object(item.clone())).ok()?;
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
                snap.agents.extend(AgentLoad::from_item(item));
            } else if sk.starts_with(keys::GROUP_PREFIX) {
                if let Some(g) = GroupRecord::from_item(item) {
                    snap.groups.insert(g.group_id.clone(), g);
                }
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
}

impl ConversationState {
    /// The state of a stored conversation item; an item that does not parse is an error.
    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        let c: StoredConversation = record::parse("conversation", item.clone())?;
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
        })
    }

    /// Whether routing may still act on it (not yet assigned, not closed).
    pub fn routable(&self) -> bool {
        matches!(self.status, ConversationStatus::Pending | ConversationStatus::Queued) && self.assignee_id.is_none()
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
