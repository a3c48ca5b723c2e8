//! Running a tenant's rules on an event (the `automation` consumer): `conversation.created` and
//! `message.received` (a visitor's message). The rules are evaluated by the domain; the actions that are cheap
//! and local run here:
//!
//! - `add_tag`: the tag joins the conversation's tags (through the tag registry's [`crate::tags::prepare_write`]);
//! - `set_priority`: the conversation's priority (and its place in the queue when it waits there); only the last
//!   matching rule's priority is applied ([`Outcome::actions`]);
//! - `assign_group`: the assignment capability's transfer to the group, which routes it there (nothing when it
//!   is in that group already, so a second matching message does not take it from its agent);
//! - `auto_reply`: a bot message through [`crate::conversations::bot_reply`], never a first response.
//!
//! Every other action is recorded as `unsupported` (skipped), never pretended. Each rule's actions run at most
//! once per event, even when the event is delivered twice: an idempotency record per (event, rule) is claimed
//! before they run and completed after. The run is recorded on the conversation (`automation`: its last
//! [`MAX_RUNS_KEPT`] runs), so a supervisor sees which rules matched and what each action did.

use std::time::Duration;

use kefu_domain::automation::{Action, Event, Outcome};
use kefu_domain::conversation::Author;
use kefu_domain::tag::TagTarget;
use kefu_domain::{ConversationId, TenantId};
use kefu_ports::table::{Condition, TableError, TxOp, Update};
use serde_json::{Value, json};

use super::dry_run::facts_of;
use super::rule_set;
use crate::App;
use crate::conversations::record::ConversationRecord;
use crate::plumbing::events::{Envelope, Event as Happened};
use crate::plumbing::idempotency::{self, Claim};
use crate::plumbing::keys;

/// How many runs a conversation keeps in `automation`.
pub const MAX_RUNS_KEPT: usize = 10;

/// The idempotency "consumer" name of per-rule claims (`IDEMP#automation-rule#{event}#{rule}`).
const RULE_CLAIMS: &str = "automation-rule";

/// How long a rule's claim holds while its actions run.
const CLAIM_FOR: Duration = Duration::from_secs(120);

/// Why a run failed (the event is retried; actions already done are not done again).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// Another delivery of the same event is running this rule right now.
    #[error("rule {0} of this event is being run by another delivery")]
    Busy(String),
}

/// What the run did, as recorded on the conversation (`None`: no rule of the event).
pub async fn run(app: &App, event: &Envelope) -> Result<Option<Value>, RunError> {
    let t = &event.tenant_id;
    let (kind, conversation_id, message) = match &event.event {
        Happened::ConversationCreated(e) => (Event::ConversationCreated, &e.conversation_id, None),
        Happened::MessageReceived(e) if e.message.author == Author::Visitor && !e.message.internal => {
            (Event::MessageReceived, &e.conversation_id, Some(e.message.content.clone()))
        }
        _ => return Ok(None),
    };
    let set = rule_set(app, t).await?;
    if !set.rules().any(|(_, r)| r.event == kind) {
        return Ok(None);
    }
    let Some(conv) = crate::conversations::load(app, t, conversation_id).await? else {
        tracing::warn!(tenant_id = %t, conversation_id = %conversation_id, "conversation gone before automation");
        return Ok(None);
    };
    let facts = facts_of(app, &conv, message).await?;
    let outcome = set.evaluate(kind, &facts);
    let mut rules = Vec::new();
    // Only the last matching `set_priority` applies (a later rule's overrides an earlier one's).
    let last_priority = outcome
        .matched
        .iter()
        .flat_map(|m| &m.actions)
        .enumerate()
        .filter(|(_, a)| matches!(a, Action::SetPriority { .. }))
        .map(|(i, _)| i)
        .last();
    let mut index = 0;
    for m in &outcome.matched {
        let rule_key = m.rule_id.as_ref().map(|r| r.to_string()).unwrap_or_else(|| m.name.clone());
        let claim_id = format!("{}#{rule_key}", event.id);
        let results = match idempotency::claim(app, RULE_CLAIMS, &claim_id, CLAIM_FOR).await? {
            Claim::AlreadyDone => {
                index += m.actions.len();
                vec![json!({"result": "already_done"})]
            }
            Claim::InProgress => return Err(RunError::Busy(rule_key)),
            Claim::Acquired => {
                let mut results = Vec::new();
                for a in &m.actions {
                    let overridden = matches!(a, Action::SetPriority { .. }) && last_priority != Some(index);
                    index += 1;
                    let result =
                        if overridden { Ok("overridden".to_owned()) } else { act(app, t, conversation_id, a).await };
                    match result {
                        Ok(r) => results.push(json!({"type": a.kind(), "result": r})),
                        Err(e) => {
                            let _ = idempotency::release(app, RULE_CLAIMS, &claim_id).await;
                            return Err(e);
                        }
                    }
                }
                idempotency::complete(app, RULE_CLAIMS, &claim_id).await?;
                results
            }
        };
        rules.push(json!({"rule_id": m.rule_id, "name": m.name, "actions": results}));
    }
    let run = json!({
        "event": kind.as_str(), "event_id": event.id, "at": app.now(), "rules": rules,
        "priority": outcome.priority, "stopped_by": outcome.stopped_by, "trace": outcome.trace,
    });
    record(app, t, conversation_id, &run).await?;
    log(t, conversation_id, &outcome);
    Ok(Some(run))
}

fn log(t: &TenantId, c: &ConversationId, outcome: &Outcome) {
    let names: Vec<&str> = outcome.matched.iter().map(|m| m.name.as_str()).collect();
    tracing::info!(tenant_id = %t, conversation_id = %c, event = %outcome.event, matched = ?names, "automation ran");
}

/// Carries out one action: `Ok` with what became of it (`done`, `unchanged`, `unsupported`, or why it was
/// skipped); `Err` only when the store failed (the event is retried).
async fn act(app: &App, t: &TenantId, c: &ConversationId, action: &Action) -> Result<String, RunError> {
    use crate::conversations::ConversationError as CE;
    match action {
        Action::AddTag { tag } => {
            let Some(conv) = crate::conversations::load(app, t, c).await? else {
                return Ok("conversation_gone".into());
            };
            let current: Vec<String> = conv.tags.iter().map(|x| x.as_str().to_owned()).collect();
            if current.iter().any(|x| kefu_domain::text::fold(x) == kefu_domain::text::fold(tag.as_str())) {
                return Ok("unchanged".into());
            }
            let mut names = current.clone();
            names.push(tag.as_str().to_owned());
            let checked =
                match crate::tags::prepare_write(app, t, TagTarget::Conversation, c.as_str(), &current, &names).await {
                    Ok(n) => n,
                    Err(crate::tags::TagError::Table(e)) => return Err(e.into()),
                    Err(e) => return Ok(format!("skipped: {e}")),
                };
            let audit = crate::audit::AuditEntry::new(t, "conversation.update", crate::audit::Outcome::Success)
                .with("by", json!("automation"));
            match crate::conversations::set_tags(app, t, c, &checked, audit).await {
                Ok(_) => Ok("done".into()),
                Err(CE::Table(e)) => Err(e.into()),
                Err(e) => Ok(format!("skipped: {e}")),
            }
        }
        Action::SetPriority { priority } => set_priority(app, t, c, *priority).await,
        Action::AssignGroup { group_id } => {
            // Already there: a transfer would take it from its agent for nothing (a second refund message).
            let Some(conv) = crate::conversations::load(app, t, c).await? else {
                return Ok("conversation_gone".into());
            };
            if conv.group_id.as_ref() == Some(group_id) {
                return Ok("unchanged".into());
            }
            match crate::assignment::transfer_to_group(app, t, c, group_id, None).await {
                Ok(_) => Ok("done".into()),
                Err(crate::assignment::AssignmentError::Table(e)) => Err(e.into()),
                Err(e) => Ok(format!("skipped: {e}")),
            }
        }
        Action::AutoReply { content } => match crate::conversations::bot_reply(app, t, c, content).await {
            Ok(_) => Ok("done".into()),
            Err(CE::Table(e)) => Err(e.into()),
            Err(e) => Ok(format!("skipped: {e}")),
        },
        _ => Ok("unsupported".into()),
    }
}

/// Sets a conversation's priority, and its place in the queue when it waits there (the queue index's sort key
/// begins with the priority's rank); conditioned on the state read, retried once if it changed meanwhile.
async fn set_priority(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    priority: kefu_domain::routing::Priority,
) -> Result<String, RunError> {
    for _ in 0..3 {
        let Some(item) = app.table.get(&keys::conversation(t, c)).await? else { return Ok("conversation_gone".into()) };
        let conv = crate::assignment::store::ConversationState::from_item(&item).map_err(TableError::from)?;
        if conv.priority == priority {
            return Ok("unchanged".into());
        }
        let mut update = Update::new().set("priority", priority.as_str());
        let queued = item.get("gsi2pk").and_then(Value::as_str) == Some(keys::queue_pk(t).as_str());
        if queued {
            update = update.set("gsi2sk", keys::queue_sk(priority.rank(), conv.waiting_since, c));
        }
        let condition = Condition::And(vec![
            Condition::eq("status", conv.status.as_str()),
            Condition::eq("priority", conv.priority.as_str()),
        ]);
        match app
            .table
            .transact(vec![TxOp::Update { key: keys::conversation(t, c), update, condition: Some(condition) }])
            .await
        {
            Ok(()) => return Ok("done".into()),
            Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed | TableError::Conflict) => {
                continue;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok("skipped: the conversation kept changing".into())
}

/// Appends `run` to the conversation's `automation` record (its last [`MAX_RUNS_KEPT`] runs); a run already
/// recorded for the same event is replaced, so a redelivery does not record it twice.
async fn record(app: &App, t: &TenantId, c: &ConversationId, run: &Value) -> Result<(), TableError> {
    let Some(conv): Option<ConversationRecord> = crate::conversations::load(app, t, c).await? else { return Ok(()) };
    let mut runs: Vec<Value> = conv.automation.and_then(|v| v.as_array().cloned()).unwrap_or_default();
    runs.retain(|r| r["event_id"] != run["event_id"]);
    runs.push(run.clone());
    let skip = runs.len().saturating_sub(MAX_RUNS_KEPT);
    let runs: Vec<Value> = runs.into_iter().skip(skip).collect();
    let op = TxOp::Update {
        key: keys::conversation(t, c),
        update: Update::new().set("automation", Value::Array(runs)),
        condition: Some(Condition::Exists),
    };
    match app.table.transact(vec![op]).await {
        Ok(()) | Err(TableError::TransactionCanceled { .. }) => Ok(()),
        Err(e) => Err(e),
    }
}
