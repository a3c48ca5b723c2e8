//! Timers precise to seconds: a due time armed per waiting conversation on the due queue (`App::due`, SQS with
//! `DelaySeconds` in AWS, the embedded queue in `kefu serve`), never a sweep and never a scan of the table.
//!
//! - **Arming** ([`on_visitor_message`], [`on_assigned`]): a visitor's message that starts a wait (no agent reply
//!   follows the visitor's oldest unanswered message) arms the first `conversation.unanswered` threshold of the
//!   tenant's enabled rules and, when the conversation has an agent and `reassign_unanswered_seconds` is set, a
//!   reassignment; an assignment during a wait arms the reassignment for its new agent.
//! - **Firing** ([`fire`], run by the due consumer): the state is read again. A timer whose wait was answered,
//!   whose conversation closed or changed hands, is stale and does nothing; one that arrives before its due
//!   time (its delay was cut at the queue's 15 minutes) sends itself again with the rest. An `unanswered`
//!   timer emits `conversation.unanswered` once per threshold per wait (its mark is written in the event's
//!   transaction) and arms the next threshold; a `reassign` timer moves the conversation through
//!   [`crate::assignment::reassign_unanswered`], conditioned on the conversation being unchanged, so a
//!   duplicate finds it moved already.
//! - **Overflow** ([`on_queued`], [`Due::Overflow`]): a conversation entering the queue arms the next moment an
//!   overflow rule of its group offers it to another group (`queued_at` + the rule's seconds); firing, a
//!   conversation still queued since the same moment is offered by draining the queue (routing reads the
//!   rules and records `reason: overflow`), and, still waiting, the chain's next moment is armed.
//! - **Auto-away** ([`on_online`], [`Due::Away`]): an agent going online with the tenant's `auto_away_minutes`
//!   arms a timer for its last activity (`last_active_s`, kept by [`crate::assignment::activity`]) plus the
//!   minutes; firing, an agent active since is armed again for its new idle time, an idle one is set away
//!   through assignment's status change (it keeps its conversations) and gets a `notification` frame.
//!
//! Owns the due record ([`Due`], the queue's body), the agents a conversation has had ([`HadRecord`]), and
//! [`TimerError`].

use std::time::Duration;

use kefu_domain::automation::{next_unanswered, timer_delay};
use kefu_domain::conversation::Author;
use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, ConversationId, ConversationStatus, MessageId, TenantId};
use kefu_ports::QueueError;
use kefu_ports::table::{CmpOp, Condition, Key, Query, SkCondition, TableError, TxOp};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::assignment::store::AgentLoadRecord;
use crate::conversations::record::{ConversationRecord, MessageRecord};
use crate::plumbing::events::{ConversationUnanswered, Envelope};
use crate::plumbing::idempotency::{ClaimStatus, IdempotencyRecord, KEEP_DONE};
use crate::plumbing::keys;
use crate::plumbing::outbox;
use crate::plumbing::record::{self, Record};
use crate::realtime::frames::Frame;

/// The due queue's name in the embedded store (`kefu serve`); `DueQueue` in the template.
pub const DUE_QUEUE: &str = "due";

/// The idempotency "consumer" name of fired `unanswered` timers (`IDEMP#timer-fired#{due id}`).
const FIRED: &str = "timer-fired";

/// How many messages one page of a conversation's history reads while looking for the wait's start.
const PAGE: usize = 50;

/// Why arming or firing a timer failed (retried by the queue).
#[derive(Debug, thiserror::Error)]
pub enum TimerError {
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The due queue failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
    /// The queue's body is not a due timer this version reads (it ends in the dead-letter queue).
    #[error("not a due timer: {0}")]
    Body(String),
    /// The reassignment could not be written (busy; retried).
    #[error("reassignment failed: {0}")]
    Reassign(String),
}

/// A due timer: the due queue's message body. Each names the wait it belongs to (the visitor's message the
/// wait began with and, for a reassignment, the assignment it measures), so a firing recognises a wait that
/// ended or an assignment that changed, and does nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Due {
    /// `conversation.unanswered` at a rule's threshold.
    Unanswered {
        /// The tenant.
        tenant_id: TenantId,
        /// The conversation.
        conversation_id: ConversationId,
        /// The visitor's message the wait began with.
        message_id: MessageId,
        /// When it was stored (the wait's start).
        since: jiff::Timestamp,
        /// The threshold, in minutes.
        minutes: u64,
        /// When it falls due: `since` + `minutes`.
        due_at: jiff::Timestamp,
    },
    /// `reassign_unanswered_seconds`: the conversation moves to another agent.
    Reassign {
        /// The tenant.
        tenant_id: TenantId,
        /// The conversation.
        conversation_id: ConversationId,
        /// The visitor's message the wait began with.
        message_id: MessageId,
        /// The agent that has not replied.
        agent_id: AgentId,
        /// When the conversation was assigned to it (another assignment makes this timer stale).
        assigned_at: jiff::Timestamp,
        /// The setting's seconds when it was armed (recorded in `routing`).
        seconds: u64,
        /// When it falls due: the later of the wait's start and the assignment, plus `seconds`.
        due_at: jiff::Timestamp,
    },
    /// `overflow`: a conversation queued in its group that long is offered to the next group too.
    Overflow {
        /// The tenant.
        tenant_id: TenantId,
        /// The conversation.
        conversation_id: ConversationId,
        /// When it entered the queue (a later queueing makes this timer stale).
        queued_at: jiff::Timestamp,
        /// The rule's seconds.
        after_seconds: u64,
        /// When it falls due: `queued_at` + `after_seconds`.
        due_at: jiff::Timestamp,
    },
    /// `auto_away_minutes`: an online agent idle that long is set away.
    Away {
        /// The tenant.
        tenant_id: TenantId,
        /// The agent.
        agent_id: AgentId,
        /// When the agent went online (its routing item's `status_at`): a timer of an earlier online period is
        /// stale, so toggling away and back never leaves two timers re-arming each other.
        online_since: Option<jiff::Timestamp>,
        /// When it falls due: the agent's last activity known when armed, plus the setting's minutes and
        /// the activity clock's [`crate::assignment::activity::THROTTLE`].
        due_at: jiff::Timestamp,
    },
}

impl Due {
    /// When the timer falls due.
    pub fn due_at(&self) -> jiff::Timestamp {
        match self {
            Due::Unanswered { due_at, .. }
            | Due::Reassign { due_at, .. }
            | Due::Overflow { due_at, .. }
            | Due::Away { due_at, .. } => *due_at,
        }
    }

    /// The timer's identity: the same wait, threshold or assignment gives the same id, however often armed.
    pub fn id(&self) -> String {
        match self {
            Due::Unanswered { conversation_id, message_id, minutes, .. } => {
                format!("unanswered#{conversation_id}#{message_id}#{minutes}")
            }
            Due::Reassign { conversation_id, message_id, agent_id, assigned_at, .. } => {
                format!("reassign#{conversation_id}#{message_id}#{agent_id}#{}", assigned_at.as_millisecond())
            }
            Due::Overflow { conversation_id, queued_at, after_seconds, .. } => {
                format!("overflow#{conversation_id}#{}#{after_seconds}", queued_at.as_millisecond())
            }
            Due::Away { agent_id, due_at, .. } => format!("away#{agent_id}#{}", due_at.as_second()),
        }
    }
}

/// An agent a conversation has had: `T#{t}#CONV#{c}` / `HAD#{agent}` (no `type`: the agent is in the key and
/// the record). Written when the conversation is assigned; a reassignment never goes back to one of them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HadRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The agent.
    pub agent_id: AgentId,
    /// When it got the conversation (the latest time, if more than once).
    pub at: jiff::Timestamp,
}

impl Record for HadRecord {
    const TYPE: &'static str = "had_agent";
    const TYPED: bool = false;

    fn key(&self) -> Key {
        keys::had_agent(&self.tenant_id, &self.conversation_id, &self.agent_id)
    }
}

/// Sends `due` to the due queue, delayed until its due time (at most the queue's 15 minutes, as the domain's
/// `timer_delay` says: a later due time is reached by the firing sending itself again). The delay keeps its
/// milliseconds; SQS rounds it up to its whole seconds, the embedded queue keeps them.
pub async fn arm(app: &App, due: &Due) -> Result<(), TimerError> {
    let now = app.now();
    let (whole_seconds, _) = timer_delay(now, due.due_at());
    let exact = Duration::try_from(due.due_at().duration_since(now)).unwrap_or(Duration::ZERO);
    let delay = exact.min(Duration::from_secs(whole_seconds));
    let body = serde_json::to_string(due).expect("a due timer serialises");
    app.due.send_delayed(&body, delay).await?;
    tracing::debug!(timer = %due.id(), due_at = %due.due_at(), delay_ms = delay.as_millis(), "timer armed");
    Ok(())
}

/// The visitor's oldest message that no agent reply follows (the start of the current wait), if the visitor is
/// waiting: the conversation's messages read newest first, a page at a time, up to the last agent reply.
async fn wait_start(app: &App, t: &TenantId, c: &ConversationId) -> Result<Option<MessageRecord>, TableError> {
    let mut oldest = None;
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(t, c))
            .sk(SkCondition::Between(keys::MESSAGE_PREFIX.to_owned(), keys::MESSAGE_END.to_owned()))
            .backwards()
            .limit(PAGE)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            let m = MessageRecord::from_item(item)?;
            match (m.author, m.internal) {
                (Author::Agent, false) => return Ok(oldest),
                (Author::Visitor, false) => oldest = Some(m),
                _ => {}
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(oldest);
        }
    }
}

/// Whether an agent replied (a message to the visitor, not a note) after `m`.
async fn answered_after(app: &App, t: &TenantId, c: &ConversationId, m: &MessageId) -> Result<bool, TableError> {
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(t, c))
            .sk(SkCondition::Between(keys::message_sk(m), keys::MESSAGE_END.to_owned()))
            .limit(PAGE)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            let r = MessageRecord::from_item(item)?;
            if r.author == Author::Agent && !r.internal && &r.message_id != m {
                return Ok(true);
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(false);
        }
    }
}

fn after(at: jiff::Timestamp, seconds: u64) -> jiff::Timestamp {
    at.checked_add(jiff::SignedDuration::from_secs(i64::try_from(seconds).unwrap_or(i64::MAX / 2)))
        .unwrap_or(jiff::Timestamp::MAX)
}

/// A visitor's message `m` was stored (the automation consumer calls it on `message.received`): when it starts
/// a wait, arms the first `conversation.unanswered` threshold of the tenant's enabled rules and, for an
/// assigned conversation with `reassign_unanswered_seconds`, the reassignment. Answers how many timers it armed.
pub async fn on_visitor_message(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    m: &MessageId,
) -> Result<usize, TimerError> {
    let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(0) };
    let Some(start) = wait_of(app, &conv).await? else { return Ok(0) };
    if &start.message_id != m {
        // The visitor was already waiting: this wait's timers are armed.
        return Ok(0);
    }
    let mut armed = 0;
    let thresholds = crate::automation::rule_set(app, t).await?.unanswered_thresholds();
    if let Some((minutes, due_at)) = next_unanswered(&thresholds, start.since, None) {
        let due = Due::Unanswered {
            tenant_id: t.clone(),
            conversation_id: c.clone(),
            message_id: start.message_id.clone(),
            since: start.since,
            minutes,
            due_at,
        };
        arm(app, &due).await?;
        armed += 1;
    }
    if let (ConversationStatus::Open, Some(agent_id), Some(assigned_at)) =
        (conv.status, conv.assignee_id.clone(), conv.assigned_at)
        && arm_reassign(app, &conv, &start, agent_id, assigned_at).await?
    {
        armed += 1;
    }
    Ok(armed)
}

/// The start of a visitor's wait for an agent's reply.
struct Wait {
    /// The visitor's message it began with.
    message_id: MessageId,
    /// When that message was stored.
    since: jiff::Timestamp,
}

/// The conversation's current wait, if the visitor is waiting: its `wait_message_id` and `wait_since`, which
/// the message transactions keep (one item, already read). A conversation stored before they existed, whose
/// visitor writes while waiting, has them from that message on; until then its messages are read back to the
/// last agent reply ([`wait_start`]).
async fn wait_of(app: &App, conv: &ConversationRecord) -> Result<Option<Wait>, TableError> {
    if let (Some(message_id), Some(since)) = (conv.wait_message_id.clone(), conv.wait_since) {
        return Ok(Some(Wait { message_id, since }));
    }
    if conv.visitor_messages == 0 {
        return Ok(None);
    }
    let start = wait_start(app, &conv.tenant_id, &conv.conversation_id).await?;
    Ok(start.map(|m| Wait { message_id: m.message_id, since: m.created_at }))
}

async fn arm_reassign(
    app: &App,
    conv: &ConversationRecord,
    start: &Wait,
    agent_id: AgentId,
    assigned_at: jiff::Timestamp,
) -> Result<bool, TimerError> {
    let t = &conv.tenant_id;
    let settings = crate::assignment::settings::get_settings(app, t).await?;
    let Some(seconds) = settings.reassign_unanswered_seconds.map(u64::from) else { return Ok(false) };
    let due = Due::Reassign {
        tenant_id: t.clone(),
        conversation_id: conv.conversation_id.clone(),
        message_id: start.message_id.clone(),
        agent_id,
        assigned_at,
        seconds,
        due_at: after(start.since.max(assigned_at), seconds),
    };
    arm(app, &due).await?;
    Ok(true)
}

/// A conversation was assigned to `agent` (the assign consumer calls it on `conversation.assigned`): the agent
/// joins the ones it has had and, when the visitor is waiting and `reassign_unanswered_seconds` is set, the
/// reassignment is armed for the new agent. Answers whether it armed one.
pub async fn on_assigned(app: &App, t: &TenantId, c: &ConversationId, agent: &AgentId) -> Result<bool, TimerError> {
    let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(false) };
    let at = conv.assigned_at.unwrap_or_else(|| app.now());
    let had = HadRecord { tenant_id: t.clone(), conversation_id: c.clone(), agent_id: agent.clone(), at };
    // In the conversation's partition: only while its deletion has not begun, so it cannot outlive it.
    let ops = vec![crate::conversations::still_there(t, c), TxOp::Put { item: had.to_item(), condition: None }];
    match app.table.transact(ops).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    if conv.status != ConversationStatus::Open || conv.assignee_id.as_ref() != Some(agent) {
        return Ok(false);
    }
    let Some(start) = wait_of(app, &conv).await? else { return Ok(false) };
    arm_reassign(app, &conv, &start, agent.clone(), at).await
}

/// A conversation entered the queue (the assign consumer calls it on `conversation.queued`, and after routing a
/// transferred one): when an overflow rule of its group will offer it to another group, the moment is armed.
/// Answers whether it armed one.
pub async fn on_queued(app: &App, t: &TenantId, c: &ConversationId) -> Result<bool, TimerError> {
    let Some(conv) = crate::assignment::store::conversation(app, t, c).await? else { return Ok(false) };
    let (ConversationStatus::Queued, Some(queued_at)) = (conv.status, conv.queued_at) else { return Ok(false) };
    arm_overflow(app, t, &conv, queued_at).await
}

/// Arms the next overflow moment of a queued conversation, if its group's rules have one left.
async fn arm_overflow(
    app: &App,
    t: &TenantId,
    conv: &crate::assignment::ConversationState,
    queued_at: jiff::Timestamp,
) -> Result<bool, TimerError> {
    let settings = crate::assignment::settings::get_settings(app, t).await?;
    let Some(group) = conv.group_id.clone().or(settings.default_group_id.clone()) else { return Ok(false) };
    let waited = u64::try_from(app.now().duration_since(queued_at).as_secs()).unwrap_or(0);
    let Some(after_seconds) = kefu_domain::routing::next_overflow(&settings.overflow, &group, waited) else {
        return Ok(false);
    };
    let due = Due::Overflow {
        tenant_id: t.clone(),
        conversation_id: conv.id.clone(),
        queued_at,
        after_seconds,
        due_at: after(queued_at, after_seconds),
    };
    arm(app, &due).await?;
    Ok(true)
}

/// Fires an overflow moment: the conversation, still queued since the same moment, is offered to the groups
/// its wait has reached, by draining the tenant's queue in order (routing reads the overflow rules; capacity
/// holds as for any assignment). Still queued, the next moment of the chain is armed.
async fn fire_overflow(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    armed_queued_at: jiff::Timestamp,
) -> Result<Fired, TimerError> {
    let still_queued = |conv: &crate::assignment::ConversationState| {
        conv.status == ConversationStatus::Queued && conv.queued_at == Some(armed_queued_at)
    };
    let Some(conv) = crate::assignment::store::conversation(app, t, c).await? else { return Ok(Fired::Stale) };
    if !still_queued(&conv) {
        return Ok(Fired::Stale);
    }
    match crate::assignment::drain(app, t).await {
        Ok(_) => {}
        Err(crate::assignment::AssignmentError::Table(e)) => return Err(e.into()),
        Err(e) => return Err(TimerError::Reassign(e.to_string())),
    }
    let Some(conv) = crate::assignment::store::conversation(app, t, c).await? else { return Ok(Fired::Stale) };
    if let (ConversationStatus::Open, Some(to)) = (conv.status, conv.assignee_id.clone()) {
        return Ok(Fired::Overflowed { to: Some(to) });
    }
    if still_queued(&conv) {
        arm_overflow(app, t, &conv, armed_queued_at).await?;
    }
    Ok(Fired::Overflowed { to: None })
}

/// When an agent last active at `last_active_s` (Unix seconds) counts as idle for `minutes`: the stored time
/// lags the real activity by under [`crate::assignment::activity::THROTTLE`], so that much is added (an agent
/// is set away after between `minutes` and `minutes` + 1 minute without activity, never sooner).
fn idle_at(last_active_s: i64, minutes: u32) -> jiff::Timestamp {
    let s = last_active_s.saturating_add(i64::from(minutes) * 60).saturating_add(crate::assignment::activity::THROTTLE);
    jiff::Timestamp::from_second(s).unwrap_or(jiff::Timestamp::MAX)
}

/// An agent went online (the assign consumer calls it on `agent.status_changed` to online): with the tenant's
/// `auto_away_minutes`, its auto-away timer is armed. Answers whether it armed one.
pub async fn on_online(app: &App, t: &TenantId, a: &AgentId) -> Result<bool, TimerError> {
    let settings = crate::assignment::settings::get_settings(app, t).await?;
    let Some(minutes) = settings.auto_away_minutes else { return Ok(false) };
    let Some(item) = app.table.get(&keys::agent_load(t, a)).await? else { return Ok(false) };
    let load = AgentLoadRecord::from_item(item).map_err(TableError::from)?;
    if load.status != AgentStatus::Online || load.disabled {
        return Ok(false);
    }
    let last = load.last_active_s.unwrap_or_else(|| app.now().as_second());
    let due = Due::Away {
        tenant_id: t.clone(),
        agent_id: a.clone(),
        online_since: load.status_at,
        due_at: idle_at(last, minutes),
    };
    arm(app, &due).await?;
    Ok(true)
}

/// Fires an auto-away timer: still online and idle → away (through assignment's status change, conditioned on
/// the activity read, so a request meanwhile wins) and a `notification` frame to the agent's sockets; active
/// since → armed again for when it would be idle.
async fn fire_away(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    online_since: Option<jiff::Timestamp>,
    now: jiff::Timestamp,
) -> Result<Fired, TimerError> {
    let settings = crate::assignment::settings::get_settings(app, t).await?;
    let Some(minutes) = settings.auto_away_minutes else { return Ok(Fired::Stale) };
    let Some(item) = app.table.get(&keys::agent_load(t, a)).await? else { return Ok(Fired::Stale) };
    let load = AgentLoadRecord::from_item(item).map_err(TableError::from)?;
    if load.status != AgentStatus::Online || load.disabled || load.status_at != online_since {
        return Ok(Fired::Stale);
    }
    let last = load.last_active_s.or(load.status_at.map(|at| at.as_second())).unwrap_or_else(|| now.as_second());
    let idle = idle_at(last, minutes);
    if now < idle {
        arm(app, &Due::Away { tenant_id: t.clone(), agent_id: a.clone(), online_since, due_at: idle }).await?;
        return Ok(Fired::StillActive { until: idle });
    }
    // Unchanged since read: still online with the same last activity (a request meanwhile moved it).
    let same = match load.last_active_s {
        Some(s) => Condition::cmp("last_active_s", CmpOp::Eq, s),
        None => Condition::AttrNotExists("last_active_s".into()),
    };
    let unchanged = Condition::And(vec![Condition::cmp("status", CmpOp::Eq, AgentStatus::Online.as_str()), same]);
    match crate::assignment::set_status_when(app, t, a, AgentStatus::Away, Some(unchanged)).await {
        Ok(true) => {}
        // Active meanwhile, or no longer online: a later timer (or none) decides.
        Ok(false) | Err(crate::assignment::AssignmentError::AgentNotFound) => return Ok(Fired::Stale),
        Err(crate::assignment::AssignmentError::Table(e)) => return Err(e.into()),
        Err(e) => return Err(TimerError::Reassign(e.to_string())),
    }
    let frame = Frame {
        frame_type: crate::realtime::frames::types::NOTIFICATION,
        conversation_id: String::new(),
        message: None,
        data: Some(serde_json::json!({
            "kind": "agent.auto_away", "priority": "normal", "status": "away", "minutes": minutes,
            "text": format!("You were set away after {minutes} min without activity"),
        })),
    };
    let mut closed = 0;
    let readers = crate::realtime::agent_readers(app, t, a, &mut closed).await?;
    let text = frame.to_text();
    crate::realtime::push_to(app, &readers, |_| text.clone()).await?;
    Ok(Fired::Away { minutes })
}

/// What a firing did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// It came before its due time and was sent again with the rest of its delay.
    Rearmed,
    /// The wait it belonged to ended (answered, closed, reassigned…): nothing done.
    Stale,
    /// Done before (a duplicate delivery): nothing done again.
    AlreadyDone,
    /// `conversation.unanswered` was emitted for the threshold.
    Alerted {
        /// The threshold.
        minutes: u64,
    },
    /// The conversation moved to another agent.
    Reassigned {
        /// The new agent.
        to: AgentId,
    },
    /// Due, but no other agent could take it: it stays where it is.
    NobodyElse,
    /// An overflow moment: the conversation was offered to the next group; `to` is the agent it went to, if
    /// one had room (else it waits on, offered to both).
    Overflowed {
        /// The agent, when assigned.
        to: Option<AgentId>,
    },
    /// The agent was active since: the auto-away timer was armed again for when it would be idle.
    StillActive {
        /// The new due time.
        until: jiff::Timestamp,
    },
    /// The idle agent was set away and told.
    Away {
        /// The setting's minutes.
        minutes: u32,
    },
}

/// Handles one due timer's body (the due consumer, in Lambda and in `kefu serve`). Firing late or twice does no
/// harm: the state is read again and the effect is written only if the wait still holds.
pub async fn fire(app: &App, body: &str) -> Result<Fired, TimerError> {
    let due: Due = serde_json::from_str(body).map_err(|e| TimerError::Body(e.to_string()))?;
    let now = app.now();
    if now < due.due_at() {
        arm(app, &due).await?;
        return Ok(Fired::Rearmed);
    }
    let fired = match &due {
        Due::Unanswered { tenant_id, conversation_id, message_id, since, minutes, .. } => {
            let (t, c) = (tenant_id, conversation_id);
            let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(Fired::Stale) };
            if conv.status == ConversationStatus::Closed || answered_after(app, t, c, message_id).await? {
                return Ok(Fired::Stale);
            }
            let event = ConversationUnanswered {
                conversation_id: c.clone(),
                minutes: *minutes,
                message_id: message_id.clone(),
                since: *since,
                agent_id: conv.assignee_id.clone(),
            };
            let mark = IdempotencyRecord {
                status: ClaimStatus::Completed,
                completed_at: Some(now),
                ttl: now.as_second() + i64::try_from(KEEP_DONE.as_secs()).unwrap_or(i64::MAX / 2),
            };
            let ops = vec![TxOp::Put {
                item: record::item_of(keys::idempotency(FIRED, &due.id()), &mark),
                condition: Some(Condition::NotExists),
            }];
            let fired = match outbox::commit(app, ops, vec![Envelope::new(t, now, event)]).await {
                Ok(()) => Fired::Alerted { minutes: *minutes },
                Err(TableError::TransactionCanceled { .. }) => Fired::AlreadyDone,
                Err(e) => return Err(e.into()),
            };
            // The next threshold of the same wait (also after a duplicate, in case the first firing stopped here).
            let thresholds = crate::automation::rule_set(app, t).await?.unanswered_thresholds();
            if let Some((minutes, due_at)) = next_unanswered(&thresholds, *since, Some(*minutes)) {
                let next = Due::Unanswered {
                    tenant_id: t.clone(),
                    conversation_id: c.clone(),
                    message_id: message_id.clone(),
                    since: *since,
                    minutes,
                    due_at,
                };
                arm(app, &next).await?;
            }
            fired
        }
        Due::Reassign { tenant_id, conversation_id, message_id, agent_id, assigned_at, seconds, .. } => {
            let (t, c) = (tenant_id, conversation_id);
            let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(Fired::Stale) };
            let same_assignment = conv.status == ConversationStatus::Open
                && conv.assignee_id.as_ref() == Some(agent_id)
                && conv.assigned_at == Some(*assigned_at);
            if !same_assignment || answered_after(app, t, c, message_id).await? {
                return Ok(Fired::Stale);
            }
            let had = crate::assignment::agents_had(app, t, c).await?;
            match crate::assignment::reassign_unanswered(app, t, c, agent_id, &had, *seconds).await {
                Ok(Some(to)) => Fired::Reassigned { to },
                Ok(None) => Fired::NobodyElse,
                Err(crate::assignment::AssignmentError::Table(e)) => return Err(e.into()),
                Err(e) => return Err(TimerError::Reassign(e.to_string())),
            }
        }
        Due::Overflow { tenant_id, conversation_id, queued_at, .. } => {
            fire_overflow(app, tenant_id, conversation_id, *queued_at).await?
        }
        Due::Away { tenant_id, agent_id, online_since, .. } => {
            fire_away(app, tenant_id, agent_id, *online_since, now).await?
        }
    };
    tracing::info!(timer = %due.id(), due_at = %due.due_at(), late_ms = (now - due.due_at()).get_milliseconds(), ?fired, "timer fired");
    Ok(fired)
}

/// One due message of a batch: its queue id and body.
#[derive(Debug, Clone)]
pub struct DueItem {
    /// The queue's message id (reported back when it failed).
    pub message_id: String,
    /// The body: a [`Due`] as JSON.
    pub body: String,
}

/// Fires a batch of due timers concurrently; answers the ids of the messages that failed (retried by the
/// queue, then dead-lettered).
pub async fn fire_batch(app: &App, items: Vec<DueItem>) -> Vec<String> {
    let outcomes = futures::future::join_all(items.iter().map(|i| fire(app, &i.body))).await;
    items
        .into_iter()
        .zip(outcomes)
        .filter_map(|(item, outcome)| match outcome {
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(message_id = %item.message_id, error = %e, "timer failed; retried");
                Some(item.message_id)
            }
        })
        .collect()
}

/// How long a received due message stays hidden while it fires.
pub const VISIBILITY: Duration = Duration::from_secs(60);

/// Runs the due consumer on a queue (`kefu serve`) until `shutdown` turns true: receives what fell due,
/// fires it, deletes what fired and lets a failure come back after a short backoff.
pub async fn run_poller(app: App, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let queue = app.due.clone();
    loop {
        if *shutdown.borrow() {
            break;
        }
        let received = tokio::select! {
            r = queue.receive(10, VISIBILITY, Duration::from_secs(1)) => r,
            _ = shutdown.changed() => break,
        };
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                tracing::warn!(error = %e, "due queue receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let items = messages.iter().map(|m| DueItem { message_id: m.id.clone(), body: m.body.clone() }).collect();
        let failed = fire_batch(&app, items).await;
        for m in &messages {
            let result = if failed.contains(&m.id) {
                queue.change_visibility(&m.receipt, Duration::from_secs(1u64 << m.receive_count.min(6))).await
            } else {
                queue.delete(&m.receipt).await
            };
            if let Err(e) = result {
                tracing::warn!(message_id = %m.id, error = %e, "due message not settled");
            }
        }
    }
}

#[cfg(test)]
mod tests;
