//! Running a tenant's rules on an event (the `automation` consumer): `conversation.created`,
//! `message.received` (a visitor's message) and `conversation.unanswered` (the timers capability's, its
//! `conversation.unanswered_minutes` being the threshold reached). The rules are evaluated by the domain; the actions run here:
//!
//! - `add_tag`: the tag joins the conversation's tags (through the tag registry's [`crate::tags::prepare_write`]);
//! - `set_priority`: the conversation's priority (and its place in the queue when it waits there); only the last
//!   matching rule's priority is applied ([`Outcome::actions`]);
//! - `assign_group`: the assignment capability's transfer to the group, which routes it there (nothing when it
//!   is in that group already, so a second matching message does not take it from its agent);
//! - `require_skills`: the skills join the conversation's required skills (routing then only considers agents
//!   with all of them);
//! - `assign_agent`, `close`: the assignment capability's assignment (capacity holds: an agent at capacity is
//!   `skipped`) and close;
//! - `create_ticket`: a ticket with `source` `rule`, linked to the conversation and its customer, titled after
//!   the visitor's message, with its `ticket.created` event and an audit entry;
//! - `auto_reply`: a bot message through [`crate::conversations::bot_reply`], never a first response;
//! - `notify`: a `notification.requested` event (through the outbox) that the `notify` consumer delivers by the
//!   agents' preferences (the notifications capability's `deliver`);
//! - `webhook`: a delivery stored and queued ([`super::webhooks::enqueue`], `queued`): the `notify` consumer
//!   tries it, signed, and the queue retries it;
//! - `request_rating`: a `rating.requested` event (through the outbox), which asks the visitor for a rating;
//! - `reassign`: the conversation moves from its agent to another eligible agent it never had
//!   ([`crate::assignment::reassign_by_rule`], capacity held), or stays when nobody else can take it.
//!
//! Rules run on `conversation.created`, a visitor's `message.received`, `conversation.unanswered` and
//! `conversation.closed`. On `conversation.created`, `assign_group`, `set_priority` and `require_skills` shape the first routing
//! instead: the assign consumer calls [`shape_first_routing`] before it chooses, and the run records them as
//! `before_routing`. Each rule's
//! actions run at most once per event, even when the event is delivered twice: an idempotency record per
//! (event, rule) is claimed before they run and completed after. The run is recorded on the conversation
//! (`automation`: its last [`MAX_RUNS_KEPT`] runs, each an [`AutomationRun`]), so a supervisor sees which rules
//! matched and what each action did.

use std::time::Duration;

use kefu_domain::automation::{Action, Event, Outcome, RuleTrace};
use kefu_domain::conversation::Author;
use kefu_domain::conversation::TagName;
use kefu_domain::routing::Priority;
use kefu_domain::tag::TagTarget;
use kefu_domain::ticket::{TicketBody, TicketId, TicketPriority, TicketSource, TicketStatus, TicketTitle};
use kefu_domain::{ConversationId, TenantId};
use kefu_ports::table::{Condition, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::dry_run::facts_of;
use super::rule_set;
use crate::App;
use crate::assignment::shaping::{Shape, Shaped};
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

/// The result of the shaping actions of `conversation.created`, which routing applied before it chose.
pub const BEFORE_ROUTING: &str = "before_routing";

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

/// One run of the rules on an event, as kept in the conversation's `automation` attribute.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutomationRun {
    /// The event (`conversation.created`, `message.received`).
    pub event: String,
    /// The event's id (a redelivery replaces the run of the same id).
    pub event_id: String,
    /// When it ran.
    pub at: jiff::Timestamp,
    /// The matching rules, in the order they ran, with what each action did.
    pub rules: Vec<RuleRun>,
    /// The priority the matching `set_priority` actions resolve to.
    pub priority: Option<Priority>,
    /// The rule whose `stop_processing` ended the run, if one did.
    pub stopped_by: Option<String>,
    /// Every rule of the event with its verdict and each condition's answer.
    pub trace: Vec<RuleTrace>,
}

/// A matching rule in a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRun {
    /// The rule.
    pub rule_id: Option<String>,
    /// Its name.
    pub name: String,
    /// What each action did (one `already_done` entry when a redelivery found them done).
    pub actions: Vec<ActionResult>,
}

/// What became of one action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    /// The action's type (absent on an `already_done` entry).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// `done`, `queued`, `unchanged`, `before_routing`, `overridden`, `unsupported`, `already_done`, or why it
    /// was skipped.
    pub result: String,
}

/// Whether an action shapes the first routing of a new conversation (see [`shape_first_routing`]).
fn shapes_routing(a: &Action) -> bool {
    matches!(a, Action::AssignGroup { .. } | Action::SetPriority { .. } | Action::RequireSkills { .. })
}

/// What the tenant's `conversation.created` rules give a new conversation before it is routed: the last
/// matching `assign_group`'s group, the last `set_priority`'s priority, every `require_skills`'s skills.
pub fn shape_of(outcome: &Outcome) -> Shape {
    let mut shape = Shape { priority: outcome.priority, ..Shape::default() };
    for a in outcome.matched.iter().flat_map(|m| &m.actions) {
        match a {
            Action::AssignGroup { group_id } => shape.group_id = Some(group_id.clone()),
            Action::RequireSkills { skills } => shape.skills.extend(skills.iter().cloned()),
            _ => {}
        }
    }
    shape
}

/// Evaluates the tenant's `conversation.created` rules on a new conversation and writes the group, priority
/// and skills they give it while it is still unrouted (the assign consumer calls it before routing it).
/// `None` when no rule of the event exists (one Query of the rules partition, nothing else read).
pub async fn shape_first_routing(app: &App, t: &TenantId, c: &ConversationId) -> Result<Option<Shaped>, TableError> {
    let set = rule_set(app, t).await?;
    if !set.rules().any(|(_, r)| r.event == Event::ConversationCreated) {
        return Ok(None);
    }
    let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(None) };
    let facts = facts_of(app, &conv, None).await?;
    let shape = shape_of(&set.evaluate(Event::ConversationCreated, &facts));
    let shaped = crate::assignment::shaping::shape_before_routing(app, t, c, &shape).await?;
    tracing::info!(tenant_id = %t, conversation_id = %c, ?shape, ?shaped, "rules shaped the first routing");
    Ok(Some(shaped))
}

/// Whether the `automation` consumer arms a wait's timers on this message: a visitor's message (not an
/// internal one) unless the send knew it began no wait (`starts_wait: false`).
pub fn arms_timers(m: &crate::plumbing::events::MessageReceived) -> bool {
    heard_from_visitor(m) && m.starts_wait != Some(false)
}

/// A visitor's message, the only `message.received` the rules and the timers look at.
fn heard_from_visitor(m: &crate::plumbing::events::MessageReceived) -> bool {
    m.message.author == Author::Visitor && !m.message.internal
}

/// Whether the `automation` consumer would do nothing with `event`, asked before it is published (intake then
/// marks the copy it publishes [`Envelope::automation_idle`], and the `automation` queue never receives it): a
/// `message.received` that arms no timer ([`arms_timers`]) and that no rule hears (not a visitor's, or the
/// tenant has no `message.received` rule). One read, the rule set's version, which [`run`] would have read;
/// a rule saved after it applies to the messages that arrive after it. Any other event: `false`.
pub async fn idle_on(app: &App, event: &Envelope) -> Result<bool, TableError> {
    let Happened::MessageReceived(m) = &event.event else { return Ok(false) };
    if arms_timers(m) {
        return Ok(false);
    }
    if !heard_from_visitor(m) {
        return Ok(true);
    }
    let set = rule_set(app, &event.tenant_id).await?;
    Ok(!set.rules().any(|(_, r)| r.event == Event::MessageReceived))
}

/// What the run did, as recorded on the conversation (`None`: no rule of the event, or a visitor's message that
/// matched no rule, which is not recorded).
pub async fn run(app: &App, event: &Envelope) -> Result<Option<AutomationRun>, RunError> {
    let t = &event.tenant_id;
    let (kind, conversation_id, message, message_json) = match &event.event {
        Happened::ConversationCreated(e) => (Event::ConversationCreated, &e.conversation_id, None, None),
        Happened::MessageReceived(e) if heard_from_visitor(e) => (
            Event::MessageReceived,
            &e.conversation_id,
            Some(e.message.content.clone()),
            serde_json::to_value(&e.message).ok(),
        ),
        Happened::ConversationUnanswered(e) => (Event::ConversationUnanswered, &e.conversation_id, None, None),
        Happened::ConversationClosed(e) => (Event::ConversationClosed, &e.conversation_id, None, None),
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
    let mut facts = facts_of(app, &conv, message).await?;
    if let Happened::ConversationUnanswered(e) = &event.event {
        // The wait is the threshold the timer fired at, not the time since the conversation's queueing.
        facts.unanswered_seconds = Some(e.minutes.saturating_mul(60));
    }
    let outcome = set.evaluate(kind, &facts);
    let ctx = Ctx {
        event: kind,
        message_json: message_json.as_ref(),
        app,
        t,
        c: conversation_id,
        message: facts.message_content.as_deref(),
    };
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
                vec![ActionResult { kind: None, result: "already_done".into() }]
            }
            Claim::InProgress => return Err(RunError::Busy(rule_key)),
            Claim::Acquired => {
                let mut results = Vec::new();
                for a in &m.actions {
                    let overridden = matches!(a, Action::SetPriority { .. }) && last_priority != Some(index);
                    index += 1;
                    let result = if kind == Event::ConversationCreated && shapes_routing(a) {
                        Ok(BEFORE_ROUTING.to_owned())
                    } else if overridden {
                        Ok("overridden".to_owned())
                    } else {
                        act(&ctx, a).await
                    };
                    match result {
                        Ok(r) => results.push(ActionResult { kind: Some(a.kind().to_owned()), result: r }),
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
        rules.push(RuleRun {
            rule_id: m.rule_id.as_ref().map(|r| r.to_string()),
            name: m.name.clone(),
            actions: results,
        });
    }
    if kind == Event::MessageReceived && outcome.matched.is_empty() {
        // The most frequent event, and most messages match no rule: such a run is not recorded, so it costs no
        // write (the dry run on the conversation shows why a rule did not match).
        log(t, conversation_id, &outcome);
        return Ok(None);
    }
    let run = AutomationRun {
        event: kind.as_str().to_owned(),
        event_id: event.id.to_string(),
        at: app.now(),
        rules,
        priority: outcome.priority,
        stopped_by: outcome.stopped_by.clone(),
        trace: outcome.trace.clone(),
    };
    record(app, t, conversation_id, &run).await?;
    log(t, conversation_id, &outcome);
    Ok(Some(run))
}

fn log(t: &TenantId, c: &ConversationId, outcome: &Outcome) {
    let names: Vec<&str> = outcome.matched.iter().map(|m| m.name.as_str()).collect();
    tracing::info!(tenant_id = %t, conversation_id = %c, event = %outcome.event, matched = ?names, "automation ran");
}

/// What an action runs against: the conversation of the event, and the visitor's message it is about.
struct Ctx<'a> {
    event: Event,
    message_json: Option<&'a Value>,
    app: &'a App,
    t: &'a TenantId,
    c: &'a ConversationId,
    message: Option<&'a str>,
}

/// The audit entry of a change an automation rule makes (no person acted).
fn automation_audit(t: &TenantId, action: &str) -> crate::audit::AuditEntry {
    crate::audit::AuditEntry::new(t, action, crate::audit::Outcome::Success).with("by", json!("automation"))
}

/// Carries out one action: `Ok` with what became of it (`done`, `unchanged`, `unsupported`, or why it was
/// skipped); `Err` only when the store failed (the event is retried).
async fn act(ctx: &Ctx<'_>, action: &Action) -> Result<String, RunError> {
    use crate::assignment::AssignmentError as AE;
    use crate::conversations::ConversationError as CE;
    let (app, t, c) = (ctx.app, ctx.t, ctx.c);
    match action {
        Action::AddTag { tag } => add_tag(app, t, c, tag).await,
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
                Err(AE::Table(e)) => Err(e.into()),
                Err(e) => Ok(format!("skipped: {e}")),
            }
        }
        Action::RequireSkills { skills } => {
            match crate::assignment::shaping::require_skills(app, t, c, skills).await? {
                Shaped::Done => Ok("done".into()),
                Shaped::Unchanged => Ok("unchanged".into()),
                Shaped::TooLate => Ok("conversation_gone".into()),
            }
        }
        Action::AssignAgent { agent_id } => {
            let Some(conv) = crate::conversations::load(app, t, c).await? else {
                return Ok("conversation_gone".into());
            };
            if conv.assignee_id.as_ref() == Some(agent_id) {
                return Ok("unchanged".into());
            }
            match crate::assignment::assign_to_agent(app, t, c, agent_id, None).await {
                Ok(()) => Ok("done".into()),
                Err(AE::Table(e)) => Err(e.into()),
                Err(e) => Ok(format!("skipped: {e}")),
            }
        }
        Action::Close => match crate::assignment::close(app, t, c, None).await {
            Ok(true) => Ok("done".into()),
            Ok(false) => Ok("unchanged".into()),
            Err(AE::Table(e)) => Err(e.into()),
            Err(AE::ConversationNotFound) => Ok("conversation_gone".into()),
            Err(e) => Ok(format!("skipped: {e}")),
        },
        Action::CreateTicket { group_id, priority } => create_ticket(ctx, group_id.as_ref(), *priority).await,
        Action::AutoReply { content } => match crate::conversations::bot_reply(app, t, c, content).await {
            Ok(_) => Ok("done".into()),
            Err(CE::Table(e)) => Err(e.into()),
            Err(e) => Ok(format!("skipped: {e}")),
        },
        Action::Notify { to, text } => notify(ctx, to, text).await,
        Action::Webhook { url } => {
            super::webhooks::enqueue(app, t, url, ctx.event.as_str(), c, ctx.message_json).await?;
            Ok("queued".into())
        }
        Action::RequestRating => {
            if crate::conversations::load(app, t, c).await?.is_none() {
                return Ok("conversation_gone".into());
            }
            let asked = crate::plumbing::events::RatingRequested { conversation_id: c.clone(), by: None };
            crate::plumbing::outbox::commit(app, Vec::new(), vec![Envelope::new(t, app.now(), asked)]).await?;
            Ok("done".into())
        }
        Action::Reassign => match crate::assignment::reassign_by_rule(app, t, c).await {
            Ok(Some(_)) => Ok("done".into()),
            Ok(None) => Ok("skipped: no other agent can take it".into()),
            Err(AE::Table(e)) => Err(e.into()),
            Err(e) => Ok(format!("skipped: {e}")),
        },
    }
}

/// The notification kind of a rule's `notify` on `event` (the agents' `events` preferences filter by it).
fn notification_kind(event: Event) -> &'static str {
    match event {
        Event::ConversationCreated => "conversation.new",
        Event::MessageReceived => "message.new",
        Event::ConversationUnanswered => "conversation.unanswered",
        _ => "rule",
    }
}

/// `notify`: a `notification.requested` event for the agent or the group's agents (the `notify` consumer
/// delivers it by their preferences); `urgent` when the customer is in a `high` priority group.
async fn notify(
    ctx: &Ctx<'_>,
    to: &kefu_domain::automation::NotifyTarget,
    text: &kefu_domain::conversation::MessageContent,
) -> Result<String, RunError> {
    use kefu_domain::automation::NotifyTarget;
    use kefu_domain::notification::Urgency;
    let (app, t, c) = (ctx.app, ctx.t, ctx.c);
    let Some(conv) = crate::conversations::load(app, t, c).await? else {
        return Ok("conversation_gone".into());
    };
    let customer = crate::customers::load(app, t, &conv.customer_id).await?;
    let vip = crate::customers::priority_of(app, t, customer.as_ref()).await? == Priority::High;
    let (agent_id, group_id) = match to {
        NotifyTarget::AgentId(a) => (Some(a.clone()), None),
        NotifyTarget::GroupId(g) => (None, Some(g.clone())),
    };
    let n = crate::plumbing::events::NotificationRequested {
        kind: notification_kind(ctx.event).to_owned(),
        priority: if vip { Urgency::Urgent } else { Urgency::Normal },
        text: text.as_str().to_owned(),
        conversation_id: Some(c.clone()),
        agent_id,
        group_id,
    };
    crate::plumbing::outbox::commit(app, Vec::new(), vec![Envelope::new(t, app.now(), n)]).await?;
    Ok("done".into())
}

/// `add_tag`: the tag joins the conversation's tags, checked against the tenant's tag registry.
async fn add_tag(app: &App, t: &TenantId, c: &ConversationId, tag: &TagName) -> Result<String, RunError> {
    use crate::conversations::ConversationError as CE;
    let Some(conv) = crate::conversations::load(app, t, c).await? else {
        return Ok("conversation_gone".into());
    };
    let current: Vec<String> = conv.tags.iter().map(|x| x.as_str().to_owned()).collect();
    if current.iter().any(|x| kefu_domain::text::fold(x) == kefu_domain::text::fold(tag.as_str())) {
        return Ok("unchanged".into());
    }
    let mut names = current.clone();
    names.push(tag.as_str().to_owned());
    let checked = match crate::tags::prepare_write(app, t, TagTarget::Conversation, c.as_str(), &current, &names).await
    {
        Ok(n) => n,
        Err(crate::tags::TagError::Table(e)) => return Err(e.into()),
        Err(e) => return Ok(format!("skipped: {e}")),
    };
    match crate::conversations::set_tags(app, t, c, &checked, automation_audit(t, "conversation.update")).await {
        Ok(_) => Ok("done".into()),
        Err(CE::Table(e)) => Err(e.into()),
        Err(e) => Ok(format!("skipped: {e}")),
    }
}

/// The most characters of the visitor's message a rule's ticket title keeps.
const TICKET_TITLE_CHARS: usize = 80;

/// `create_ticket`: a ticket (`source` `rule`) for the conversation and its customer, in the rule's group and
/// priority, titled after the visitor's message (its first line, shortened), which is also its description.
async fn create_ticket(
    ctx: &Ctx<'_>,
    group_id: Option<&kefu_domain::GroupId>,
    priority: Priority,
) -> Result<String, RunError> {
    let (app, t, c) = (ctx.app, ctx.t, ctx.c);
    let Some(conv) = crate::conversations::load(app, t, c).await? else {
        return Ok("conversation_gone".into());
    };
    if let Some(g) = group_id
        && !crate::conversations::group_exists(app, t, g).await?
    {
        return Ok("skipped: the group no longer exists".into());
    }
    let message = ctx.message.unwrap_or_default().trim();
    let first_line: String = message.lines().next().unwrap_or_default().chars().take(TICKET_TITLE_CHARS).collect();
    let title = match TicketTitle::parse(first_line.trim(), "title") {
        Ok(title) => title,
        Err(_) => TicketTitle::parse(&format!("Conversation {c}"), "title").expect("a conversation id is a title"),
    };
    let description = TicketBody::parse_description(message, "description")
        .unwrap_or_else(|_| TicketBody::parse_description("", "description").expect("empty is a description"));
    let priority = TicketPriority::parse(priority.as_str(), "priority").unwrap_or_default();
    let now = app.now();
    let record = crate::tickets::TicketRecord {
        ticket_id: TicketId::generate(),
        tenant_id: t.clone(),
        title,
        description,
        customer_id: Some(conv.customer_id.clone()),
        conversation_id: Some(c.clone()),
        priority,
        status: TicketStatus::Open,
        assignee_id: None,
        group_id: group_id.cloned(),
        source: TicketSource::Rule,
        contact: None,
        created_by: None,
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let (ops, events) = crate::tickets::new_ticket_writes(&record);
    let entry =
        automation_audit(t, "ticket.create").target("ticket", &record.ticket_id).with("conversation_id", json!(c));
    crate::audit::commit(app, ops, events, vec![entry]).await?;
    Ok("done".into())
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
async fn record(app: &App, t: &TenantId, c: &ConversationId, run: &AutomationRun) -> Result<(), TableError> {
    let Some(conv): Option<ConversationRecord> = crate::conversations::load(app, t, c).await? else { return Ok(()) };
    let mut runs: Vec<Value> = conv.automation.and_then(|v| v.as_array().cloned()).unwrap_or_default();
    runs.retain(|r| r["event_id"].as_str() != Some(run.event_id.as_str()));
    runs.push(serde_json::to_value(run).map_err(|e| TableError::Invalid(e.to_string()))?);
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
