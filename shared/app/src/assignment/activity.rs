//! An agent's last activity, auto-away's clock: `last_active_s` on its routing item (`T#{t}#ROUTING` /
//! `AGENT#{a}`), set when it goes online and moved by [`touch`] on a staff request, a WebSocket ping and
//! typing. Cheap by design: at most one write per agent per minute. A process remembers when it last wrote
//! (or tried) for an agent and skips the store within [`THROTTLE`]; across processes the write is an update
//! conditioned on the stored time being older than [`THROTTLE`] (and the agent online), so the stored time
//! moves at most once a minute and lags the real last activity by under a minute.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{CmpOp, Condition, TableError, Update};

use crate::App;
use crate::plumbing::keys;

/// How stale the stored activity may get: the write happens at most once per this many seconds per agent.
pub const THROTTLE: i64 = 60;

/// Past this many remembered agents the process's memo starts again (it only saves writes).
const MEMO_MAX: usize = 10_000;

fn memo() -> &'static Mutex<HashMap<(TenantId, AgentId), i64>> {
    static MEMO: OnceLock<Mutex<HashMap<(TenantId, AgentId), i64>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// Whether this process should try the write now (and remembers that it does).
fn due_here(t: &TenantId, a: &AgentId, now_s: i64) -> bool {
    let mut m = memo().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if m.get(&(t.clone(), a.clone())).is_some_and(|last| now_s - last < THROTTLE) {
        return false;
    }
    if m.len() >= MEMO_MAX {
        m.clear();
    }
    m.insert((t.clone(), a.clone()), now_s);
    true
}

/// Records that agent `a` was active now, at most once a minute (see the module). Answers whether the stored
/// time moved. An agent that is not online, or has no routing item, is left alone (going online sets it).
pub async fn touch(app: &App, t: &TenantId, a: &AgentId) -> Result<bool, TableError> {
    let now_s = app.now().as_second();
    if !due_here(t, a, now_s) {
        return Ok(false);
    }
    let condition = Condition::And(vec![
        Condition::Exists,
        Condition::cmp("status", CmpOp::Eq, AgentStatus::Online.as_str()),
        Condition::Or(vec![
            Condition::AttrNotExists("last_active_s".into()),
            Condition::cmp("last_active_s", CmpOp::Lt, now_s - THROTTLE),
        ]),
    ]);
    match app.table.update(&keys::agent_load(t, a), Update::new().set("last_active_s", now_s), Some(condition)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// [`touch`] for callers that must not fail because of it (the request path, the socket): a failure is logged.
pub async fn touch_quietly(app: &App, t: &TenantId, a: &AgentId) {
    if let Err(e) = touch(app, t, a).await {
        tracing::warn!(tenant_id = %t, agent_id = %a, error = %e, "agent activity not recorded");
    }
}

/// Forgets what this process wrote for agent `a` (a test moving the stored time by hand).
pub fn forget(t: &TenantId, a: &AgentId) {
    memo().lock().unwrap_or_else(std::sync::PoisonError::into_inner).remove(&(t.clone(), a.clone()));
}
