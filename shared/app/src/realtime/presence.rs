//! Presence: an agent whose last WebSocket connection drops, and who does not come back within [`GRACE`], is
//! treated as away.
//!
//! When the last connection of an agent closes, a pending item is written under the tenant
//! (`T#{t}` / `PRESENCE#{agent}`), listed in a small sharded due index (gsi1 `PRESENCEDUE#{shard}`, sorted by the
//! due time). A reconnection deletes it. `timers` (every minute) queries the due shards (no Scan), takes each due
//! item with a conditional delete, checks the agent still has no connection, and sets an online agent away.
//! So an agent is set away between [`GRACE`] and [`GRACE`] + one minute after its last connection dropped.

use std::time::Duration;

use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{Condition, Index, Key, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::assignment::{self, AssignmentError};
use crate::plumbing::keys;
use crate::plumbing::record::Record;
use kefu_domain::routing::AgentStatus;

/// How long an agent may stay disconnected before it is set away (a page reload, a flaky network).
pub const GRACE: Duration = Duration::from_secs(60);

fn shard_of(agent: &AgentId) -> u32 {
    keys::shard_of(agent.as_str(), keys::PRESENCE_SHARDS)
}

/// A pending grace period as stored: `T#{t}` / `PRESENCE#{agent}`, in the due index (gsi1
/// `PRESENCEDUE#{shard}` / `{due_ms:013}#{t}#{agent}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The agent.
    pub agent_id: AgentId,
    /// When its last connection dropped (absent on an item put back after a failed change).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disconnected_at: Option<jiff::Timestamp>,
    /// When the grace period ends (epoch ms).
    pub due_ms: i64,
}

impl Record for PendingRecord {
    const TYPE: &'static str = "presence_pending";

    fn key(&self) -> Key {
        keys::presence_pending(&self.tenant_id, &self.agent_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let (t, a) = (&self.tenant_id, &self.agent_id);
        vec![
            (Index::Gsi1.pk_attr(), keys::presence_due_pk(shard_of(a))),
            (Index::Gsi1.sk_attr(), format!("{:013}#{t}#{a}", self.due_ms)),
        ]
    }
}

/// Starts the grace period of an agent whose last connection dropped now.
pub async fn mark(app: &App, t: &TenantId, a: &AgentId) -> Result<(), TableError> {
    let now = app.now();
    let due_ms = now.as_millisecond() + i64::try_from(GRACE.as_millis()).unwrap_or(i64::MAX / 2);
    let item =
        PendingRecord { tenant_id: t.clone(), agent_id: a.clone(), disconnected_at: Some(now), due_ms }.to_item();
    app.table.put(item, None).await
}

/// Cancels a pending grace period (the agent reconnected).
pub async fn cancel(app: &App, t: &TenantId, a: &AgentId) -> Result<(), TableError> {
    app.table.delete(&keys::presence_pending(t, a), None).await.map(drop)
}

/// An agent whose grace period has run out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The agent.
    pub agent_id: AgentId,
    /// When the grace period ended (epoch ms); the claim is conditioned on it.
    pub due_ms: i64,
}

/// Every agent whose grace period ended at or before `now`, from each shard of the due index.
pub async fn due(app: &App, now: jiff::Timestamp) -> Result<Vec<Due>, TableError> {
    let mut out = Vec::new();
    for shard in 0..keys::PRESENCE_SHARDS {
        let mut cursor = None;
        loop {
            let q = Query::index(Index::Gsi1, keys::presence_due_pk(shard))
                .sk(super::due_bound(now.as_millisecond()))
                .limit(100)
                .after(cursor);
            let page = app.table.query(q).await?;
            out.extend(page.items.iter().filter_map(|i| {
                Some(Due {
                    tenant_id: TenantId::parse(i.get("tenant_id")?.as_str()?)?,
                    agent_id: AgentId::parse(i.get("agent_id")?.as_str()?)?,
                    due_ms: i.get("due_ms")?.as_i64()?,
                })
            }));
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(out)
}

/// Takes a due item, so one timer run acts on it; `false` when a reconnection (or another run) got there first.
pub async fn claim(app: &App, d: &Due) -> Result<bool, TableError> {
    let cond = Condition::eq("due_ms", Value::from(d.due_ms));
    match app.table.delete(&keys::presence_pending(&d.tenant_id, &d.agent_id), Some(cond)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Whether an agent is still in its grace period (for tests and operations).
pub async fn is_pending(app: &App, t: &TenantId, a: &AgentId) -> Result<bool, TableError> {
    Ok(app.table.get(&keys::presence_pending(t, a)).await?.is_some())
}

/// What a presence sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct PresenceReport {
    /// Agents whose grace ran out and who were online: now away.
    pub set_away: u64,
    /// Due agents left as they were (connected again, or not online any more).
    pub unchanged: u64,
    /// Due agents whose change failed; they stay due for the next run.
    pub failed: u64,
}

/// Sets away every agent whose grace period has run out, who has no connection and who is still `online`
/// (an agent who chose `away` or `offline` keeps its choice). Run by `timers` every minute.
pub async fn sweep(app: &App, now: jiff::Timestamp) -> Result<PresenceReport, TableError> {
    let mut report = PresenceReport::default();
    for d in due(app, now).await? {
        if !claim(app, &d).await? {
            continue;
        }
        match set_away(app, &d).await {
            Ok(true) => {
                tracing::info!(tenant_id = %d.tenant_id, agent_id = %d.agent_id, "presence: set away");
                report.set_away += 1;
            }
            Ok(false) => report.unchanged += 1,
            Err(e) => {
                tracing::warn!(tenant_id = %d.tenant_id, agent_id = %d.agent_id, error = %e, "presence: not set away; retried next run");
                restore(app, &d).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

async fn set_away(app: &App, d: &Due) -> Result<bool, AssignmentError> {
    if !super::agent_connections(app, &d.tenant_id, &d.agent_id).await?.is_empty() {
        return Ok(false);
    }
    let load = match assignment::ensure_agent_load(app, &d.tenant_id, &d.agent_id).await {
        Ok(load) => load,
        Err(AssignmentError::AgentNotFound) => return Ok(false),
        Err(e) => return Err(e),
    };
    if load.status != AgentStatus::Online || load.disabled {
        return Ok(false);
    }
    match assignment::set_agent_status(app, &d.tenant_id, &d.agent_id, AgentStatus::Away).await {
        Ok(()) => Ok(true),
        Err(AssignmentError::AgentNotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Puts a claimed due item back (its change failed), unless the agent reconnected or left again meanwhile.
async fn restore(app: &App, d: &Due) -> Result<(), TableError> {
    let item = PendingRecord {
        tenant_id: d.tenant_id.clone(),
        agent_id: d.agent_id.clone(),
        disconnected_at: None,
        due_ms: d.due_ms,
    }
    .to_item();
    match app.table.put(item, Some(Condition::NotExists)).await {
        Ok(()) | Err(TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_pending_grace_period_is_stored_as_before_and_reads_back() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let now: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let due_ms = now.as_millisecond() + 60_000;
        let r = PendingRecord { tenant_id: t.clone(), agent_id: a.clone(), disconnected_at: Some(now), due_ms };
        let expected = keys::presence_pending(&t, &a).with(json!({
            "type": "presence_pending", "tenant_id": t, "agent_id": a, "disconnected_at": now, "due_ms": due_ms,
            Index::Gsi1.pk_attr(): keys::presence_due_pk(shard_of(&a)),
            Index::Gsi1.sk_attr(): format!("{due_ms:013}#{t}#{a}"),
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(PendingRecord::from_item(expected).unwrap(), r);
        let restored = PendingRecord { disconnected_at: None, ..r };
        assert!(!restored.to_item().contains_key("disconnected_at"));
    }
}
