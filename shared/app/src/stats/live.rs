//! The live board (`GET /v1/live`): the queue now and each agent's presence and load, read from the routing
//! partition (one paged `Query`: every agent's routing item), the tenant's accounts (names; the state of an agent
//! never routed yet) and the queue
//! index (gsi2 `T#{t}#QUEUE`: only the conversations waiting). Nothing reads the conversations of the past.
//!
//! `idle_seconds` is how long an agent holding no conversation has been without one: since it last received a
//! conversation or changed its presence, whichever is later; 0 while it holds any, `null` when offline.

use jiff::Timestamp;
use kefu_domain::routing::{AgentStatus, Priority};
use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{Index, Query};
use serde::{Deserialize, Serialize};

use super::StatsError;
use crate::App;
use crate::assignment::store::AgentLoadRecord;
use crate::identity::accounts::AccountRecord;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// Waiting conversations by priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Queued {
    /// High priority.
    pub high: u64,
    /// Normal priority.
    pub normal: u64,
    /// Low priority.
    pub low: u64,
}

/// One agent on the board.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct LiveAgent {
    /// The agent.
    pub agent_id: String,
    /// Its display name.
    pub name: String,
    /// `online`, `away` or `offline`.
    pub status: String,
    /// Open conversations it holds.
    pub active: u32,
    /// How many it may hold.
    pub max_concurrent: u32,
    /// Seconds without a conversation (0 while it holds one; `null` when offline).
    pub idle_seconds: Option<u64>,
}

/// `GET /v1/live`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct LiveBoard {
    /// When it was read.
    pub at: String,
    /// Conversations waiting, by priority.
    pub queued: Queued,
    /// The longest wait of a conversation in the queue (`null`: nobody waits).
    pub longest_wait_seconds: Option<u64>,
    /// Every enabled account, by name.
    pub agents: Vec<LiveAgent>,
}

/// What the board reads of a queued conversation item.
#[derive(Debug, Deserialize)]
struct QueuedView {
    priority: Priority,
    #[serde(default)]
    waiting_since: Option<Timestamp>,
}

fn seconds_since(then: Timestamp, now: Timestamp) -> u64 {
    if now <= then { 0 } else { now.duration_since(then).as_secs().unsigned_abs() }
}

/// An agent's idle time at `now` (see the module's documentation).
pub fn idle_seconds(load: &AgentLoadRecord, now: Timestamp) -> Option<u64> {
    if load.status == AgentStatus::Offline {
        return None;
    }
    if load.active > 0 {
        return Some(0);
    }
    let since = [load.last_assigned_at, load.status_at].into_iter().flatten().max();
    Some(since.map_or(0, |s| seconds_since(s, now)))
}

async fn query_all(app: &App, q: Query) -> Result<Vec<kefu_ports::table::Item>, StatsError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.table.query(q.clone().after(cursor)).await?;
        out.extend(page.items);
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// The live board of tenant `t` now.
pub async fn board(app: &App, t: &TenantId) -> Result<LiveBoard, StatsError> {
    let now = app.now();
    let mut queued = Queued::default();
    let mut longest: Option<u64> = None;
    for item in query_all(app, Query::index(Index::Gsi2, keys::queue_pk(t))).await? {
        let q: QueuedView = record::parse("queued conversation", item)?;
        match q.priority {
            Priority::High => queued.high += 1,
            Priority::Normal => queued.normal += 1,
            Priority::Low => queued.low += 1,
        }
        if let Some(w) = q.waiting_since {
            longest = longest.max(Some(seconds_since(w, now)));
        }
    }
    let mut loads: std::collections::HashMap<AgentId, AgentLoadRecord> = std::collections::HashMap::new();
    for item in query_all(app, Query::partition(keys::routing_pk(t)).prefix(keys::AGENT_LOAD_PREFIX)).await? {
        let load = AgentLoadRecord::from_item(item)?;
        loads.insert(load.agent_id.clone(), load);
    }
    let mut agents = Vec::new();
    for item in query_all(app, Query::partition(keys::tenant_pk(t)).prefix(keys::AGENT_PREFIX)).await? {
        let account = AccountRecord::from_item(item)?;
        if account.disabled {
            continue;
        }
        // An account that was never routed has no routing item yet: its account's copies are its state.
        let load = loads.remove(&account.agent_id).unwrap_or_else(|| AgentLoadRecord {
            agent_id: account.agent_id.clone(),
            tenant_id: t.clone(),
            status: account.status,
            status_at: None,
            disabled: false,
            group_ids: Vec::new(),
            skills: Vec::new(),
            max_concurrent: account.max_concurrent,
            schedule_id: None,
            active: 0,
            last_assigned_at: None,
            gv: None,
            last_active_s: None,
        });
        agents.push(LiveAgent {
            agent_id: account.agent_id.to_string(),
            name: account.name,
            status: load.status.as_str().to_owned(),
            active: load.active,
            max_concurrent: load.max_concurrent,
            idle_seconds: idle_seconds(&load, now),
        });
    }
    agents.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.agent_id.cmp(&b.agent_id)));
    Ok(LiveBoard { at: now.to_string(), queued, longest_wait_seconds: longest, agents })
}
