//! Keeping the statistics as events happen: the `notify` consumer hands every event to [`record`], which adds
//! what it changes to the day × agent × group items in one transaction with a mark of the event id, so a
//! duplicate delivery (or a retry of the consumer after a later step failed) counts nothing.
//!
//! What each event counts (days in the tenant's zone):
//! - `conversation.created`: a conversation, on its start's day, in the group it started in (agent `-`);
//! - `conversation.assigned`: a conversation for the agent, the first time that agent gets it, on that day;
//! - `message.received` / `message.sent`: a message on its day (its agent when an agent wrote it), not internal
//!   notes nor system lines; an agent's reply that is the conversation's earliest counted one is its first
//!   response (wall-clock and working-hours seconds from the start), on the reply's day, for that agent — an
//!   earlier reply delivered later replaces it, so events in any order give the same counts;
//! - `conversation.closed`: a resolution (start to close), on the close's day, for the agent it had.

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use kefu_domain::schedule::Schedule;
use kefu_domain::stats::{business_seconds, day_key};
use kefu_domain::{AgentId, Author, ConversationId, GroupId, TenantId};
use kefu_ports::table::{Condition, TableError, TxOp};

use super::record::{CellDelta, ConversationStatsRecord, CountedRecord, FirstResponse, Measure, attr};
use crate::App;
use crate::conversations::ConversationRecord;
use crate::identity::tenants::TenantRecord;
use crate::plumbing::events::{Envelope, Event, EventMessage};
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How often a count is tried again when a concurrent event changed the conversation's state first.
const ATTEMPTS: usize = 8;

/// The conversation an event counts for, if it counts at all.
fn conversation_of(event: &Event) -> Option<&ConversationId> {
    match event {
        Event::ConversationCreated(e) => Some(&e.conversation_id),
        Event::ConversationAssigned(e) => Some(&e.conversation_id),
        Event::ConversationClosed(e) => Some(&e.conversation_id),
        Event::MessageReceived(e) => Some(&e.conversation_id),
        Event::MessageSent(e) => Some(&e.conversation_id),
        Event::ConversationRated(e) => Some(&e.conversation_id),
        _ => None,
    }
}

/// The tenant's time zone (UTC when it names none this build knows).
///
/// A tenant's zone is set when it is created and nothing changes it (no route, no operator command), so a
/// process reads the tenant record once and keeps the zone (`plumbing::memo`): every visitor message counts
/// in it, and this spares that read. Were the zone ever to change, the writer would have to move a version
/// that this reads first, as the rule set's does.
pub async fn tenant_zone(app: &App, t: &TenantId) -> Result<TimeZone, TableError> {
    let memo_key = format!("zone#{t}");
    if let Some(zone) = app.memo.kept::<TimeZone>(&memo_key) {
        return Ok((*zone).clone());
    }
    let Some(item) = app.table.get(&keys::tenant(t)).await? else {
        // Not kept: a tenant that does not exist yet is read again.
        return Ok(TimeZone::UTC);
    };
    let tenant = TenantRecord::from_item(item)?;
    let zone = TimeZone::get(&tenant.timezone).unwrap_or(TimeZone::UTC);
    app.memo.keep(memo_key, std::sync::Arc::new(zone.clone()));
    Ok(zone)
}

/// The working hours of a conversation in `group`: the group's schedule, else the assignment settings' one;
/// `None` when neither names one (always open: business time is wall-clock time).
pub async fn working_hours(app: &App, t: &TenantId, group: Option<&GroupId>) -> Result<Option<Schedule>, TableError> {
    let mut id = None;
    if let Some(g) = group
        && let Some(item) = app.table.get(&keys::group(t, g)).await?
    {
        id = crate::assignment::GroupRecord::from_item(&item)?.schedule_id;
    }
    if id.is_none() {
        id = crate::assignment::settings::get_settings(app, t).await?.schedule_id;
    }
    let Some(id) = id else { return Ok(None) };
    Ok(app
        .table
        .get(&keys::schedule(t, &id))
        .await?
        .and_then(|item| crate::assignment::store::schedule_of(&item))
        .map(|(_, s)| s))
}

/// What one event changes: the items' additions and the conversation's new state (if it changes).
#[derive(Debug, Default, PartialEq)]
pub struct Plan {
    /// Additions by item: (day, agent, group).
    pub cells: BTreeMap<(String, Option<AgentId>, Option<GroupId>), CellDelta>,
    /// The conversation's state to store.
    pub state: Option<ConversationStatsRecord>,
}

impl Plan {
    fn cell(&mut self, day: String, agent: Option<&AgentId>, group: Option<&GroupId>) -> &mut CellDelta {
        self.cells.entry((day, agent.cloned(), group.cloned())).or_default()
    }

    /// Whether the event changes nothing.
    pub fn is_empty(&self) -> bool {
        self.state.is_none() && self.cells.values().all(CellDelta::is_empty)
    }
}

/// What the event needs to know beyond its payload.
pub struct Context<'a> {
    /// The conversation as stored now.
    pub conversation: &'a ConversationRecord,
    /// What was counted for it before.
    pub state: &'a ConversationStatsRecord,
    /// The tenant's zone.
    pub zone: &'a TimeZone,
    /// Its working hours (`None`: always open).
    pub hours: Option<&'a Schedule>,
}

fn seconds_between(from: Timestamp, to: Timestamp) -> u64 {
    if to <= from { 0 } else { to.duration_since(from).as_secs().unsigned_abs() }
}

fn business(hours: Option<&Schedule>, from: Timestamp, to: Timestamp) -> u64 {
    hours.map_or_else(|| seconds_between(from, to), |s| business_seconds(s, from, to))
}

/// Whether the event needs the conversation's working hours.
fn needs_hours(event: &Event) -> bool {
    matches!(event, Event::ConversationClosed(_) | Event::MessageSent(_))
}

fn message_plan(plan: &mut Plan, m: &EventMessage, cx: &Context<'_>) {
    if m.internal || m.author == Author::System {
        return;
    }
    let group = cx.conversation.group_id.as_ref();
    let agent = (m.author == Author::Agent).then(|| m.author_id.as_deref().and_then(AgentId::parse)).flatten();
    let day = day_key(m.created_at, cx.zone);
    plan.cell(day.clone(), agent.as_ref(), group).add(attr::MESSAGES, 1);
    let Some(agent) = agent else { return };
    if cx.state.first_response.as_ref().is_some_and(|fr| fr.at <= m.created_at) {
        return;
    }
    let mut state = cx.state.clone();
    if let Some(old) = &state.first_response {
        let cell = plan.cell(old.day.clone(), Some(&old.agent_id), old.group_id.as_ref());
        cell.sample(Measure::FirstResponse, old.seconds, -1);
        cell.sample(Measure::FirstResponseBusiness, old.business_seconds, -1);
    }
    let start = cx.conversation.created_at;
    let fr = FirstResponse {
        at: m.created_at,
        seconds: seconds_between(start, m.created_at),
        business_seconds: business(cx.hours, start, m.created_at),
        cell: keys::stats_cell_sk(&day, Some(&agent), group),
        day: day.clone(),
        agent_id: agent.clone(),
        group_id: group.cloned(),
    };
    let cell = plan.cell(day, Some(&agent), group);
    cell.sample(Measure::FirstResponse, fr.seconds, 1);
    cell.sample(Measure::FirstResponseBusiness, fr.business_seconds, 1);
    state.first_response = Some(fr);
    plan.state = Some(state);
}

/// What `event` (at `at`) adds to the statistics, given the conversation and what was counted for it: pure.
pub fn plan(event: &Event, at: Timestamp, cx: &Context<'_>) -> Plan {
    let mut plan = Plan::default();
    let group = cx.conversation.group_id.as_ref();
    match event {
        Event::ConversationCreated(c) => {
            let day = day_key(cx.conversation.created_at, cx.zone);
            plan.cell(day, None, c.group_id.as_ref()).add(attr::CONVERSATIONS, 1);
        }
        Event::ConversationAssigned(a) if !cx.state.agents.contains(&a.agent_id) => {
            plan.cell(day_key(at, cx.zone), Some(&a.agent_id), group).add(attr::ASSIGNED, 1);
            let mut state = cx.state.clone();
            state.agents.push(a.agent_id.clone());
            plan.state = Some(state);
        }
        Event::ConversationClosed(c) => {
            let start = cx.conversation.created_at;
            let cell = plan.cell(day_key(at, cx.zone), c.agent_id.as_ref(), group);
            cell.sample(Measure::Resolution, seconds_between(start, at), 1);
            cell.sample(Measure::ResolutionBusiness, business(cx.hours, start, at), 1);
        }
        Event::MessageReceived(m) => message_plan(&mut plan, &m.message, cx),
        Event::MessageSent(m) => message_plan(&mut plan, &m.message, cx),
        Event::ConversationRated(r) => {
            // A conversation counts once: a later rating takes the earlier one's place, in the cell of the day
            // the conversation started, for the agent it had when rated.
            let cell = plan.cell(day_key(cx.conversation.created_at, cx.zone), r.agent_id.as_ref(), group);
            if let Some(previous) = r.previous_score.and_then(csat_attr) {
                cell.add(previous, -1);
            }
            if let Some(now) = csat_attr(r.score) {
                cell.add(now, 1);
            }
        }
        _ => {}
    }
    plan
}

/// The counter of a score (3 good, 2 neutral, 1 bad).
fn csat_attr(score: u8) -> Option<&'static str> {
    match score {
        3 => Some(attr::CSAT_GOOD),
        2 => Some(attr::CSAT_NEUTRAL),
        1 => Some(attr::CSAT_BAD),
        _ => None,
    }
}

/// The operation that counts a visitor's message of `conversation_id` (in `group`) sent `at`, for the
/// transaction that stores it (intake's; see `conversations::widget::Counter`): one more message in the day's
/// item of the group, no agent, in one of [`keys::STATS_MESSAGE_SHARDS`] items chosen by the conversation.
pub fn visitor_message_op(
    t: &TenantId,
    zone: &TimeZone,
    group: Option<&GroupId>,
    conversation_id: &ConversationId,
    at: Timestamp,
) -> TxOp {
    let day = day_key(at, zone);
    let shard = keys::shard_of(conversation_id.as_str(), keys::STATS_MESSAGE_SHARDS);
    let mut delta = CellDelta::default();
    delta.add(attr::MESSAGES, 1);
    TxOp::Update {
        key: keys::stats_cell(t, &keys::stats_cell_shard_sk(&day, None, group, shard)),
        update: delta.update(&day, None, group),
        condition: None,
    }
}

async fn counted(app: &App, t: &TenantId, event_id: &str) -> Result<bool, TableError> {
    Ok(app.table.get(&keys::stats_counted(t, event_id)).await?.is_some())
}

/// Counts `event` in its tenant's statistics, once: a duplicate (its mark is there) counts nothing, and an event
/// of a conversation that no longer exists, or whose deletion has begun, counts nothing either (checked in the
/// transaction, so its statistics item cannot outlive the deletion). Retries when a concurrent event of the
/// same conversation changed its state first.
pub async fn record(app: &App, event: &Envelope) -> Result<(), TableError> {
    /// The position of the conversation's check in the transaction.
    const STILL_THERE: usize = 0;
    let Some(conversation_id) = conversation_of(&event.event) else { return Ok(()) };
    if let Event::MessageReceived(m) = &event.event
        && m.counted
    {
        // The transaction that stored it counted it (`visitor_message_op`); a visitor's message adds nothing else.
        return Ok(());
    }
    let t = &event.tenant_id;
    for _ in 0..ATTEMPTS {
        if counted(app, t, &event.id).await? {
            return Ok(());
        }
        let Some(conversation) = crate::conversations::load(app, t, conversation_id).await? else {
            return Ok(());
        };
        let state = match app.table.get(&keys::conversation_stats(t, conversation_id)).await? {
            Some(item) => ConversationStatsRecord::from_item(item)?,
            None => ConversationStatsRecord::empty(t, conversation_id),
        };
        let zone = tenant_zone(app, t).await?;
        let hours =
            if needs_hours(&event.event) { working_hours(app, t, conversation.group_id.as_ref()).await? } else { None };
        let cx = Context { conversation: &conversation, state: &state, zone: &zone, hours: hours.as_ref() };
        let plan = plan(&event.event, event.at, &cx);
        if plan.is_empty() {
            return Ok(());
        }
        let now = app.now();
        let mark = CountedRecord { counted_at: now, ttl: now.as_second() + keys::STATS_COUNTED_TTL_DAYS * 86_400 };
        let mut ops = vec![
            crate::conversations::still_there(t, conversation_id),
            TxOp::Put {
                item: record::item_of(keys::stats_counted(t, &event.id), &mark),
                condition: Some(Condition::NotExists),
            },
        ];
        for ((day, agent, group), delta) in &plan.cells {
            if delta.is_empty() {
                continue;
            }
            let sk = keys::stats_cell_sk(day, agent.as_ref(), group.as_ref());
            ops.push(TxOp::Update {
                key: keys::stats_cell(t, &sk),
                update: delta.update(day, agent.as_ref(), group.as_ref()),
                condition: None,
            });
        }
        if let Some(mut next) = plan.state {
            next.version = state.version + 1;
            ops.push(TxOp::Put { item: next.to_item(), condition: Some(Condition::version(state.version)) });
        }
        match app.table.transact(ops).await {
            Ok(()) => return Ok(()),
            // The conversation is gone or going: nothing to count.
            Err(TableError::TransactionCanceled { failed }) if failed.contains(&STILL_THERE) => return Ok(()),
            Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Conflict)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::routing::Priority;
    use kefu_domain::{CustomerId, MessageId, TenantId};
    use kefu_ports::ManualClock;

    use super::*;
    use crate::plumbing::events::{
        ConversationAssigned, ConversationClosed, ConversationCreated, MessageReceived, MessageSent,
    };
    use crate::stats::report::{StatsRequest, report};

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    struct World {
        app: App,
        _dir: tempfile::TempDir,
        t: TenantId,
        c: ConversationId,
        agent: AgentId,
    }

    /// Stores a conversation started on 2026-03-02 at 01:00.
    async fn put_conversation(app: &App, t: &TenantId, c: &ConversationId) {
        crate::testing::put_conversation(app, t, c, at("2026-03-02T01:00:00Z")).await;
    }

    async fn world() -> World {
        let clock = Arc::new(ManualClock::new(at("2026-03-02T12:00:00Z")));
        let (app, dir) = crate::testing::embedded_app(clock);
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let tenant = TenantRecord {
            tenant_id: t.clone(),
            name: "Acme".into(),
            timezone: "Asia/Shanghai".into(),
            widget_key: "wk".into(),
            created_at: at("2026-03-01T00:00:00Z"),
        };
        app.table.put(tenant.to_item(), None).await.unwrap();
        put_conversation(&app, &t, &c).await;
        World { app, _dir: dir, t, c, agent: AgentId::generate() }
    }

    fn reply(w: &World, sent: &str) -> Envelope {
        let m = EventMessage {
            id: MessageId::generate(),
            conversation_id: w.c.clone(),
            author: Author::Agent,
            author_id: Some(w.agent.to_string()),
            content: "hello".into(),
            internal: false,
            created_at: at(sent),
            recalled: false,
            attachments: Vec::new(),
        };
        Envelope::new(&w.t, at(sent), MessageSent { conversation_id: w.c.clone(), message: m })
    }

    async fn whole_month(w: &World) -> crate::stats::report::StatsReport {
        let req = StatsRequest::parse(
            Some("2026-03-01T00:00:00+08:00"),
            Some("2026-04-01T00:00:00+08:00"),
            None,
            None,
            None,
            w.app.now(),
        )
        .unwrap();
        report(&w.app, &w.t, &req).await.unwrap()
    }

    #[tokio::test]
    async fn a_process_reads_a_tenants_zone_once() {
        let w = world().await;
        let unknown = TenantId::generate();
        assert_eq!(tenant_zone(&w.app, &unknown).await.unwrap(), TimeZone::UTC, "no tenant: UTC");
        let before = w.app.table.stats().items_read;
        assert_eq!(tenant_zone(&w.app, &unknown).await.unwrap(), TimeZone::UTC);
        assert_eq!(w.app.table.stats().items_read - before, 1, "a tenant not found is not kept");
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        assert_eq!(tenant_zone(&w.app, &w.t).await.unwrap(), shanghai);
        let before = w.app.table.stats().items_read;
        assert_eq!(tenant_zone(&w.app, &w.t).await.unwrap(), shanghai);
        assert_eq!(w.app.table.stats().items_read - before, 0, "kept");
    }

    /// An event that arrives once a conversation's deletion has begun counts nothing and leaves nothing in
    /// its partition (the deletion may already have deleted its contents); the same event of a conversation
    /// not being deleted is counted.
    #[tokio::test]
    async fn an_event_of_a_conversation_being_deleted_counts_nothing() {
        let w = world().await;
        let assigned = |c: &ConversationId| {
            Envelope::new(
                &w.t,
                at("2026-03-02T01:00:01Z"),
                ConversationAssigned {
                    conversation_id: c.clone(),
                    agent_id: w.agent.clone(),
                    previous_agent_id: None,
                    by: None,
                },
            )
        };

        let event = assigned(&w.c);
        assert!(crate::conversations::begin_delete(&w.app, &w.t, &w.c).await.unwrap());
        record(&w.app, &event).await.unwrap();
        assert_eq!(
            w.app.table.get(&keys::conversation_stats(&w.t, &w.c)).await.unwrap(),
            None,
            "nothing lands in the partition being deleted"
        );
        assert!(!counted(&w.app, &w.t, &event.id).await.unwrap());
        let gone = ConversationId::generate();
        assert!(!crate::conversations::begin_delete(&w.app, &w.t, &gone).await.unwrap(), "no such conversation");

        let other = ConversationId::generate();
        put_conversation(&w.app, &w.t, &other).await;
        let event = assigned(&other);
        record(&w.app, &event).await.unwrap();
        assert!(w.app.table.get(&keys::conversation_stats(&w.t, &other)).await.unwrap().is_some(), "counted");
        assert!(counted(&w.app, &w.t, &event.id).await.unwrap());
    }

    #[tokio::test]
    async fn a_duplicate_delivery_counts_nothing() {
        let w = world().await;
        let created = Envelope::new(
            &w.t,
            at("2026-03-02T01:00:00Z"),
            ConversationCreated {
                conversation_id: w.c.clone(),
                customer_id: CustomerId::generate(),
                group_id: None,
                priority: Priority::Normal,
            },
        );
        let assigned = Envelope::new(
            &w.t,
            at("2026-03-02T01:00:01Z"),
            ConversationAssigned {
                conversation_id: w.c.clone(),
                agent_id: w.agent.clone(),
                previous_agent_id: None,
                by: None,
            },
        );
        let again = Envelope::new(
            &w.t,
            at("2026-03-02T02:00:00Z"),
            ConversationAssigned {
                conversation_id: w.c.clone(),
                agent_id: w.agent.clone(),
                previous_agent_id: None,
                by: None,
            },
        );
        let first = reply(&w, "2026-03-02T01:00:10Z");
        let closed = Envelope::new(
            &w.t,
            at("2026-03-02T03:00:00Z"),
            ConversationClosed { conversation_id: w.c.clone(), agent_id: Some(w.agent.clone()), by: None },
        );
        for e in [&created, &assigned, &again, &first, &closed, &created, &first, &closed, &assigned] {
            record(&w.app, e).await.unwrap();
        }
        let r = whole_month(&w).await;
        assert_eq!((r.figures.conversations, r.figures.messages), (1, 1));
        // Below 16 s a histogram is exact; above, a quantile is within 5% (the mean is exact).
        assert_eq!(r.figures.first_response_seconds.median, Some(10));
        assert_eq!(r.figures.avg_first_response_seconds, Some(10.0));
        let res = r.figures.resolution_seconds.median.unwrap();
        assert!(res.abs_diff(7200) <= 360, "{res}");
        assert_eq!(r.by_agent.len(), 1);
        assert_eq!(r.by_agent[0].figures.conversations, 1, "assigned twice, counted once for the agent");
        let day = r.by_day.iter().find(|d| d.figures.conversations == 1).unwrap();
        assert_eq!(day.day, "2026-03-02", "09:00 in Shanghai");
        assert_eq!(r.timezone, "Asia/Shanghai");
    }

    #[tokio::test]
    async fn a_visitor_message_counted_by_its_own_transaction_is_not_counted_again() {
        let w = world().await;
        let zone = TimeZone::get("Asia/Shanghai").unwrap();
        let group = GroupId::generate();
        // Three messages of this conversation and one of another, as intake counts them (23:30 UTC is the next
        // day in Shanghai).
        let other = ConversationId::generate();
        let ops = vec![
            visitor_message_op(&w.t, &zone, Some(&group), &w.c, at("2026-03-02T01:00:00Z")),
            visitor_message_op(&w.t, &zone, Some(&group), &w.c, at("2026-03-02T02:00:00Z")),
            visitor_message_op(&w.t, &zone, Some(&group), &w.c, at("2026-03-02T23:30:00Z")),
            visitor_message_op(&w.t, &zone, Some(&group), &other, at("2026-03-02T03:00:00Z")),
        ];
        for op in ops {
            w.app.table.transact(vec![op]).await.unwrap();
        }
        let m = EventMessage {
            id: MessageId::generate(),
            conversation_id: w.c.clone(),
            author: Author::Visitor,
            author_id: None,
            content: "hi".into(),
            internal: false,
            created_at: at("2026-03-02T01:00:00Z"),
            recalled: false,
            attachments: Vec::new(),
        };
        let counted = Envelope::new(
            &w.t,
            at("2026-03-02T01:00:00Z"),
            MessageReceived { conversation_id: w.c.clone(), message: m.clone(), counted: true, starts_wait: None },
        );
        let before = w.app.table.stats();
        record(&w.app, &counted).await.unwrap();
        record(&w.app, &counted).await.unwrap();
        let after = w.app.table.stats();
        assert_eq!((after.requests, after.items_written), (before.requests, before.items_written), "no table work");
        let r = whole_month(&w).await;
        assert_eq!(r.figures.messages, 4, "the shards of a day and group add up");
        let per_day: Vec<(String, u64)> =
            r.by_day.iter().filter(|d| d.figures.messages > 0).map(|d| (d.day.clone(), d.figures.messages)).collect();
        assert_eq!(per_day, vec![("2026-03-02".to_owned(), 3), ("2026-03-03".to_owned(), 1)]);
        assert_eq!(r.by_group.len(), 1);
        assert_eq!(r.by_group[0].group_id.as_deref(), Some(group.as_str()));

        // An event written before intake counted (no `counted`) is still counted by the keeper, once.
        let legacy = Envelope::new(
            &w.t,
            at("2026-03-02T04:00:00Z"),
            MessageReceived { conversation_id: w.c.clone(), message: m, counted: false, starts_wait: None },
        );
        record(&w.app, &legacy).await.unwrap();
        record(&w.app, &legacy).await.unwrap();
        assert_eq!(whole_month(&w).await.figures.messages, 5);
    }

    #[tokio::test]
    async fn an_earlier_reply_delivered_later_becomes_the_first_response() {
        let w = world().await;
        // The second reply's event arrives first; then the real first reply's, on another day in the tenant's
        // zone (01:00 UTC is 09:00 in Shanghai, 17:00 UTC is 01:00 the next day).
        record(&w.app, &reply(&w, "2026-03-02T17:00:00Z")).await.unwrap();
        record(&w.app, &reply(&w, "2026-03-02T01:00:12Z")).await.unwrap();
        record(&w.app, &reply(&w, "2026-03-02T02:00:00Z")).await.unwrap();
        let r = whole_month(&w).await;
        assert_eq!(r.figures.messages, 3);
        assert_eq!(r.figures.first_response_seconds.median, Some(12), "{:?}", r.figures);
        assert_eq!(r.figures.avg_first_response_seconds, Some(12.0), "the late one was taken back");
        let fr_days: Vec<&str> = r
            .by_day
            .iter()
            .filter(|d| d.figures.first_response_seconds.median.is_some())
            .map(|d| d.day.as_str())
            .collect();
        assert_eq!(fr_days, ["2026-03-02"]);
    }

    /// Working-hours time: a reply two hours after a start one hour before the office opens counts one hour.
    #[test]
    fn business_time_counts_only_working_hours() {
        let t = TenantId::generate();
        let c = ConversationId::generate();
        // Monday 2026-03-02, 08:00 UTC; the office opens at 09:00 UTC.
        let conv = ConversationRecord::started(
            &t,
            &c,
            &CustomerId::generate(),
            None,
            Priority::Normal,
            None,
            at("2026-03-02T08:00:00Z"),
        );
        let input: kefu_domain::schedule::ScheduleInput = serde_json::from_value(serde_json::json!({
            "name": "Office", "timezone": "UTC", "weekly": {"mon": [["09:00", "18:00"]]}
        }))
        .unwrap();
        let hours = Schedule::parse(&input).unwrap();
        let state = ConversationStatsRecord::empty(&t, &c);
        let cx = Context { conversation: &conv, state: &state, zone: &TimeZone::UTC, hours: Some(&hours) };
        let agent = AgentId::generate();
        let m = EventMessage {
            id: MessageId::generate(),
            conversation_id: c.clone(),
            author: Author::Agent,
            author_id: Some(agent.to_string()),
            content: "hi".into(),
            internal: false,
            created_at: at("2026-03-02T10:00:00Z"),
            recalled: false,
            attachments: Vec::new(),
        };
        let p = plan(
            &Event::MessageSent(MessageSent { conversation_id: c.clone(), message: m }),
            at("2026-03-02T10:00:00Z"),
            &cx,
        );
        let fr = p.state.unwrap().first_response.unwrap();
        assert_eq!((fr.seconds, fr.business_seconds), (7200, 3600));
        assert_eq!((fr.day.as_str(), fr.agent_id), ("2026-03-02", agent));
        let closed = Event::ConversationClosed(ConversationClosed { conversation_id: c, agent_id: None, by: None });
        let p = plan(&closed, at("2026-03-02T19:00:00Z"), &cx);
        assert!(p.state.is_none(), "a close changes no state");
        assert_eq!(p.cells.len(), 1);
    }

    #[tokio::test]
    async fn events_of_a_deleted_conversation_and_other_events_count_nothing() {
        let w = world().await;
        w.app.table.delete(&keys::conversation(&w.t, &w.c), None).await.unwrap();
        record(&w.app, &reply(&w, "2026-03-02T01:00:30Z")).await.unwrap();
        let r = whole_month(&w).await;
        assert_eq!((r.figures.conversations, r.figures.messages), (0, 0));
        assert!(r.by_agent.is_empty() && r.by_group.is_empty());
        assert_eq!(r.by_day.len(), 31, "every day of March, empty");
    }
}
