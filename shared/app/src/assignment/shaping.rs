//! Shaping a new conversation before its first routing: the group, priority and required skills that the
//! tenant's `conversation.created` rules give it are written while it is still `pending` and unassigned, so the
//! routing decision that follows already uses them (the automation capability computes them and calls
//! [`shape_before_routing`]; this capability does not know about rules).

use kefu_domain::routing::Priority;
use kefu_domain::{ConversationId, ConversationStatus, GroupId, TenantId};
use kefu_ports::table::{Condition, TableError, TxOp, Update};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;

/// What to give a conversation before it is routed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shape {
    /// The group it is routed in (`None`: left as it is).
    pub group_id: Option<GroupId>,
    /// Its priority (`None`: left as it is).
    pub priority: Option<Priority>,
    /// Skills every candidate agent must have (added to those it has).
    pub skills: Vec<String>,
}

impl Shape {
    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.group_id.is_none() && self.priority.is_none() && self.skills.is_empty()
    }
}

/// What [`shape_before_routing`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shaped {
    /// The conversation now has the shape.
    Done,
    /// It had it already.
    Unchanged,
    /// It was routed, closed or deleted meanwhile: too late to shape it (nothing written).
    TooLate,
}

/// Writes `shape` on a conversation that is still `pending` with no agent (conditioned on exactly that, so a
/// conversation routed meanwhile is never changed behind routing's back). Skills are merged with the ones it
/// has, sorted.
pub async fn shape_before_routing(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    shape: &Shape,
) -> Result<Shaped, TableError> {
    if shape.is_empty() {
        return Ok(Shaped::Unchanged);
    }
    let Some(conv) = super::store::conversation(app, t, c).await? else { return Ok(Shaped::TooLate) };
    if conv.status != ConversationStatus::Pending || conv.assignee_id.is_some() {
        return Ok(Shaped::TooLate);
    }
    let mut skills = conv.skills.clone();
    skills.extend(shape.skills.iter().cloned());
    skills.sort();
    skills.dedup();
    let group_changes = shape.group_id.as_ref().is_some_and(|g| conv.group_id.as_ref() != Some(g));
    let priority_changes = shape.priority.is_some_and(|p| p != conv.priority);
    if !group_changes && !priority_changes && skills == conv.skills {
        return Ok(Shaped::Unchanged);
    }
    let mut update = Update::new();
    if let Some(g) = shape.group_id.as_ref().filter(|_| group_changes) {
        update = update.set("group_id", g.as_str());
    }
    if let Some(p) = shape.priority.filter(|_| priority_changes) {
        update = update.set("priority", p.as_str());
    }
    if skills != conv.skills {
        update = update.set("skills", Value::from(skills));
    }
    let op = TxOp::Update { key: keys::conversation(t, c), update, condition: Some(super::unchanged(&conv)) };
    match app.table.transact(vec![op]).await {
        Ok(()) => Ok(Shaped::Done),
        Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => Ok(Shaped::TooLate),
        Err(e) => Err(e),
    }
}

/// Adds `skills` to a conversation's required skills at any point of its life (a rule's `require_skills` on a
/// later message): routing and queue draining then only consider agents with all of them. (The store compares
/// no lists, so two rules adding skills at the same instant keep the later write; rules of one event run one
/// after the other.)
pub async fn require_skills(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    skills: &[String],
) -> Result<Shaped, TableError> {
    let Some(conv) = super::store::conversation(app, t, c).await? else { return Ok(Shaped::TooLate) };
    let mut merged = conv.skills.clone();
    merged.extend(skills.iter().cloned());
    merged.sort();
    merged.dedup();
    if merged == conv.skills {
        return Ok(Shaped::Unchanged);
    }
    let op = TxOp::Update {
        key: keys::conversation(t, c),
        update: Update::new().set("skills", Value::from(merged)),
        condition: Some(Condition::Exists),
    };
    match app.table.transact(vec![op]).await {
        Ok(()) => Ok(Shaped::Done),
        Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => Ok(Shaped::TooLate),
        Err(e) => Err(e),
    }
}
