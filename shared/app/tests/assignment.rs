//! Assignment on the embedded store with a clock the test moves: routing with reasons, capacity, the queue and
//! its priority order, shifts and working hours, sticky routing, transfers, close/reopen, disabling an agent.
//! (The same capacity race also runs against DynamoDB in `tests/tests/e2e/routing.rs`.)

use std::sync::Arc;

use jiff::SignedDuration;
use kefu_app::App;
use kefu_app::assignment::admin;
use kefu_app::assignment::agents::{self, AgentPatch, NewAgent};
use kefu_app::assignment::groups::{self, GroupInput};
use kefu_app::assignment::schedules;
use kefu_app::assignment::settings::{self, SettingsInput};
use kefu_app::assignment::{self, AssignmentError, snapshot};
use kefu_app::audit::{AuditEntry, Outcome};
use kefu_app::conversations::ConversationRecord;
use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
use kefu_app::plumbing::events::{ConversationCreated, Envelope};
use kefu_app::plumbing::record::Record;
use kefu_app::plumbing::{keys, outbox};
use kefu_app::testing::EmbeddedApp;
use kefu_app::timers;
use kefu_domain::routing::{AgentStatus, Priority};
use kefu_domain::schedule::ScheduleInput;
use kefu_domain::{AgentId, ConversationId, CustomerId, GroupId, TenantId};
use kefu_ports::{FilterPolicy, ManualClock, TxOp};
use serde_json::{Value, json};

struct Fixture {
    _dir: tempfile::TempDir,
    app: App,
    clock: Arc<ManualClock>,
    tenant: TenantId,
}

/// Monday 2026-11-23 10:00 UTC.
const MONDAY_10: &str = "2026-11-23T10:00:00Z";

async fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::new(MONDAY_10.parse().unwrap()));
    let mut e = EmbeddedApp::new(clock.clone());
    e.subscribe("all", FilterPolicy::default());
    let (app, dir) = (e.app, e.dir);
    let created = create_tenant(
        &app,
        NewTenant {
            name: "Acme".into(),
            admin: NewAdmin {
                email: "boss@acme.test".into(),
                name: "Boss".into(),
                password: "a long admin password".into(),
            },
            timezone: None,
        },
    )
    .await
    .unwrap();
    let tenant = TenantId::parse(&created.tenant_id).unwrap();
    Fixture { _dir: dir, app, clock, tenant }
}

impl Fixture {
    async fn agent(&self, n: u32, max: i64, groups: &[&GroupId], skills: &[&str]) -> AgentId {
        let v = agents::create_agent(
            &self.app,
            &self.tenant,
            NewAgent {
                email: format!("agent{n}@acme.test"),
                name: format!("Agent {n}"),
                password: "a long agent password".into(),
                role_id: "agent".into(),
                group_ids: groups.iter().map(|g| g.to_string()).collect(),
                skills: skills.iter().map(|s| (*s).to_owned()).collect(),
                max_concurrent: Some(max),
                schedule_id: None,
            },
            None,
        )
        .await
        .unwrap();
        AgentId::parse(&v.id).unwrap()
    }

    async fn online(&self, a: &AgentId) {
        assignment::set_agent_status(&self.app, &self.tenant, a, AgentStatus::Online).await.unwrap();
    }

    async fn group(&self, name: &str, members: &[&AgentId]) -> GroupId {
        let g = groups::create_group(
            &self.app,
            &self.tenant,
            GroupInput {
                name: name.into(),
                agent_ids: members.iter().map(|a| a.to_string()).collect(),
                schedule_id: None,
            },
            AuditEntry::new(&self.tenant, "test", Outcome::Success),
        )
        .await
        .unwrap();
        GroupId::parse(&g.id).unwrap()
    }

    /// A pending conversation as intake writes it, with its `conversation.created` event.
    async fn conversation(
        &self,
        customer: &CustomerId,
        priority: &str,
        group: Option<&GroupId>,
        skills: &[&str],
    ) -> ConversationId {
        let c = ConversationId::generate();
        let now = self.app.now();
        let p = Priority::parse(priority).expect("a priority");
        let mut record = ConversationRecord::started(&self.tenant, &c, customer, group, p, None, now);
        record.skills = skills.iter().map(|s| (*s).to_owned()).collect();
        let item = record.to_item();
        let created = ConversationCreated {
            conversation_id: c.clone(),
            customer_id: customer.clone(),
            group_id: group.cloned(),
            priority: p,
        };
        let event = Envelope::new(&self.tenant, now, created);
        outbox::commit(&self.app, vec![TxOp::Put { item, condition: None }], vec![event]).await.unwrap();
        c
    }

    async fn conv(&self, c: &ConversationId) -> Value {
        Value::Object(self.app.table.get(&keys::conversation(&self.tenant, c)).await.unwrap().unwrap())
    }

    /// The last routing decision, as stored beside the conversation.
    async fn routing(&self, c: &ConversationId) -> Value {
        let item = self.app.table.get(&keys::conversation_routing(&self.tenant, c)).await.unwrap();
        item.and_then(|mut i| i.remove("routing")).unwrap_or(Value::Null)
    }

    async fn active(&self, a: &AgentId) -> u64 {
        self.app.table.get(&keys::agent_load(&self.tenant, a)).await.unwrap().unwrap()["active"].as_u64().unwrap()
    }

    fn tick(&self, secs: i64) {
        self.clock.advance(SignedDuration::from_secs(secs));
    }
}

fn customer() -> CustomerId {
    CustomerId::generate()
}

#[tokio::test]
async fn an_online_agent_gets_the_conversation_and_the_decision_says_why() {
    let f = fixture().await;
    let a = f.agent(1, 2, &[], &[]).await;
    let away = f.agent(2, 2, &[], &[]).await;
    let c = f.conversation(&customer(), "normal", None, &[]).await;
    let d = assignment::route(&f.app, &f.tenant, &c).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id, None, "nobody online yet");
    assert_eq!(f.conv(&c).await["status"], "queued");

    f.online(&a).await;
    let r = assignment::drain(&f.app, &f.tenant).await.unwrap();
    assert_eq!(r.assigned, 1);
    let conv = f.conv(&c).await;
    assert_eq!((conv["status"].as_str(), conv["assignee_id"].as_str()), (Some("open"), Some(a.as_str())));
    assert!(conv.get("routing").is_none(), "the decision is stored beside the conversation: {conv}");
    let routing = &f.routing(&c).await;
    assert_eq!(routing["chosen_agent_id"], a.as_str());
    assert_eq!(routing["strategy"], "least_loaded");
    let reason = |id: &AgentId| {
        routing["candidates"].as_array().unwrap().iter().find(|x| x["agent_id"] == id.as_str()).unwrap()["excluded"]
            .clone()
    };
    assert_eq!(reason(&a), Value::Null);
    assert_eq!(reason(&away), "offline");
    assert_eq!(f.active(&a).await, 1);
    // Routing it again (a duplicate event) changes nothing.
    assert_eq!(assignment::route(&f.app, &f.tenant, &c).await.unwrap(), None);
    assert_eq!(f.active(&a).await, 1);
}

#[tokio::test]
async fn capacity_queue_and_priority_order() {
    let f = fixture().await;
    let a = f.agent(1, 1, &[], &[]).await;
    f.online(&a).await;
    let first = f.conversation(&customer(), "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &first).await.unwrap();
    f.tick(1);
    let low = f.conversation(&customer(), "low", None, &[]).await;
    f.tick(1);
    let normal = f.conversation(&customer(), "normal", None, &[]).await;
    f.tick(1);
    let vip = f.conversation(&customer(), "high", None, &[]).await;
    for c in [&low, &normal, &vip] {
        let d = assignment::route(&f.app, &f.tenant, c).await.unwrap().unwrap();
        assert_eq!(d.chosen_agent_id, None);
        assert_eq!(d.candidates[0].excluded, Some(kefu_domain::routing::Exclusion::AtCapacity));
    }
    let queue =
        f.app.table.query(kefu_ports::Query::index(kefu_ports::Index::Gsi2, keys::queue_pk(&f.tenant))).await.unwrap();
    let order: Vec<&str> = queue.items.iter().map(|i| i["conversation_id"].as_str().unwrap()).collect();
    assert_eq!(order, [vip.as_str(), normal.as_str(), low.as_str()], "the queue's index order is its order");

    for expected in [&vip, &normal, &low] {
        let open = f
            .app
            .table
            .query(kefu_ports::Query::index(kefu_ports::Index::Gsi2, keys::assigned_pk(&f.tenant, &a, "open")))
            .await
            .unwrap();
        let current = ConversationId::parse(open.items[0]["conversation_id"].as_str().unwrap()).unwrap();
        assert!(assignment::close(&f.app, &f.tenant, &current, Some(&a)).await.unwrap());
        assert_eq!(f.active(&a).await, 0);
        assignment::drain(&f.app, &f.tenant).await.unwrap();
        assert_eq!(f.conv(expected).await["assignee_id"], a.as_str(), "drained in priority order");
        assert_eq!(f.active(&a).await, 1);
    }
    assert!(!assignment::close(&f.app, &f.tenant, &first, None).await.unwrap(), "closing twice is a no-op");
}

#[tokio::test]
async fn a_newcomer_never_overtakes_the_queue() {
    let f = fixture().await;
    let a = f.agent(1, 1, &[], &[]).await;
    let waiting = f.conversation(&customer(), "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &waiting).await.unwrap();
    // The agent comes online, but before the drain runs a new conversation arrives: the waiting one goes first.
    assignment::set_agent_status(&f.app, &f.tenant, &a, AgentStatus::Online).await.unwrap();
    f.tick(5);
    let newcomer = f.conversation(&customer(), "normal", None, &[]).await;
    let d = assignment::route(&f.app, &f.tenant, &newcomer).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id, None);
    assert_eq!(f.conv(&waiting).await["assignee_id"], a.as_str());
    assert_eq!(f.conv(&newcomer).await["status"], "queued");
    // A VIP newcomer does go ahead of normal ones in the queue, by priority.
    let vip = f.conversation(&customer(), "high", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &vip).await.unwrap();
    assignment::close(&f.app, &f.tenant, &waiting, None).await.unwrap();
    assignment::drain(&f.app, &f.tenant).await.unwrap();
    assert_eq!(f.conv(&vip).await["assignee_id"], a.as_str());
}

#[tokio::test]
async fn groups_skills_shifts_and_working_hours() {
    let f = fixture().await;
    let night = schedules::create_schedule(
        &f.app,
        &f.tenant,
        serde_json::from_value::<ScheduleInput>(
            json!({"name": "Night", "timezone": "UTC", "weekly": {"mon": [["22:00", "06:00"]]}}),
        )
        .unwrap(),
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    let sales_agent = f.agent(1, 3, &[], &["zh"]).await;
    let support_agent = f.agent(2, 3, &[], &[]).await;
    let night_agent = f.agent(3, 3, &[], &["zh"]).await;
    agents::update_agent(
        &f.app,
        &f.tenant,
        &night_agent,
        AgentPatch { schedule_id: Some(Some(night.id.clone())), ..Default::default() },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    let sales = f.group("Sales", &[&sales_agent, &night_agent]).await;
    let _support = f.group("Support", &[&support_agent]).await;
    for a in [&sales_agent, &support_agent, &night_agent] {
        f.online(a).await;
    }
    let snap = snapshot(&f.app, &f.tenant).await.unwrap();
    assert_eq!(snap.agent(&sales_agent).unwrap().group_ids, vec![sales.clone()], "both sides of membership");

    let c = f.conversation(&customer(), "normal", Some(&sales), &["zh"]).await;
    let d = assignment::route(&f.app, &f.tenant, &c).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id.as_ref(), Some(&sales_agent));
    let reason = |a: &AgentId| d.candidates.iter().find(|x| &x.agent_id == a).unwrap().excluded;
    use kefu_domain::routing::Exclusion::*;
    assert_eq!(reason(&support_agent), Some(NotInGroup));
    assert_eq!(reason(&night_agent), Some(OffShift));

    let needs_en = f.conversation(&customer(), "normal", Some(&sales), &["en"]).await;
    let d = assignment::route(&f.app, &f.tenant, &needs_en).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id, None);
    assert_eq!(d.candidates.iter().find(|x| x.agent_id == sales_agent).unwrap().excluded, Some(MissingSkill));

    // Working hours: the sales group gets office hours; at 20:00 a new sales conversation waits.
    let office = schedules::create_schedule(
        &f.app,
        &f.tenant,
        serde_json::from_value::<ScheduleInput>(json!({"name": "Office", "timezone": "UTC", "weekly": {"mon": [["09:00", "18:00"]], "tue": [["09:00", "18:00"]]}})).unwrap(),
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    groups::update_group(
        &f.app,
        &f.tenant,
        &sales,
        GroupInput {
            name: "Sales".into(),
            agent_ids: vec![sales_agent.to_string(), night_agent.to_string()],
            schedule_id: Some(office.id.clone()),
        },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    f.tick(10 * 3600); // Monday 20:00
    let late = f.conversation(&customer(), "normal", Some(&sales), &[]).await;
    assignment::route(&f.app, &f.tenant, &late).await.unwrap();
    let conv = f.conv(&late).await;
    assert_eq!(conv["status"], "queued");
    assert_eq!(f.routing(&late).await["outside_working_hours"], true);
    // Tuesday 09:00: the timers' drain assigns it.
    f.tick(13 * 3600);
    let r = assignment::drain_queued_tenants(&f.app).await.unwrap();
    assert!(r.assigned >= 1);
    assert_eq!(f.conv(&late).await["status"], "open");
}

#[tokio::test]
async fn sticky_routing_and_reopen_prefer_the_last_agent() {
    let f = fixture().await;
    let a = f.agent(1, 3, &[], &[]).await;
    let b = f.agent(2, 3, &[], &[]).await;
    f.online(&b).await;
    let returning = customer();
    let c1 = f.conversation(&returning, "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &c1).await.unwrap();
    assert_eq!(f.conv(&c1).await["assignee_id"], b.as_str());
    assignment::close(&f.app, &f.tenant, &c1, Some(&b)).await.unwrap();
    f.online(&a).await;
    // b has load 0 and a has load 0: least-loaded alone would pick by idle time (a never had one); sticky wins.
    let c2 = f.conversation(&returning, "normal", None, &[]).await;
    let d = assignment::route(&f.app, &f.tenant, &c2).await.unwrap().unwrap();
    assert_eq!((d.chosen_agent_id.as_ref(), d.sticky), (Some(&b), true));
    assert_eq!(f.routing(&c2).await["outcome"], "sticky");
    let other = f.conversation(&customer(), "normal", None, &[]).await;
    let d = assignment::route(&f.app, &f.tenant, &other).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id.as_ref(), Some(&a), "a new customer goes by load");

    assignment::close(&f.app, &f.tenant, &other, None).await.unwrap();
    let d = assignment::reopen(&f.app, &f.tenant, &other, None).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id.as_ref(), Some(&a), "reopened to the agent it had");
    assert!(matches!(assignment::reopen(&f.app, &f.tenant, &other, None).await, Err(AssignmentError::InvalidState(_))));
}

#[tokio::test]
async fn manual_assignment_transfer_and_disable_keep_the_counts() {
    let f = fixture().await;
    let a = f.agent(1, 1, &[], &[]).await;
    let b = f.agent(2, 1, &[], &[]).await;
    f.online(&a).await;
    let c = f.conversation(&customer(), "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &c).await.unwrap();
    assert_eq!(f.conv(&c).await["assignee_id"], a.as_str());
    // By hand to b (away is fine for a manual assignment), releasing a.
    assignment::assign_to_agent(&f.app, &f.tenant, &c, &b, Some(&a)).await.unwrap();
    assert_eq!((f.active(&a).await, f.active(&b).await), (0, 1));
    let c2 = f.conversation(&customer(), "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &c2).await.unwrap();
    assert!(matches!(
        assignment::assign_to_agent(&f.app, &f.tenant, &c2, &b, None).await,
        Err(AssignmentError::AtCapacity)
    ));
    // Transfer to a group nobody online belongs to: it waits there, and a is released.
    let g = f.group("Billing", &[&b]).await;
    let d = assignment::transfer_to_group(&f.app, &f.tenant, &c2, &g, None).await.unwrap().unwrap();
    assert_eq!(d.chosen_agent_id, None);
    assert_eq!(f.conv(&c2).await["status"], "queued");
    assert_eq!(f.active(&a).await, 0);
    // Raising b's capacity and putting b online drains the billing queue.
    agents::update_agent(
        &f.app,
        &f.tenant,
        &b,
        AgentPatch { max_concurrent: Some(2), ..Default::default() },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    f.online(&b).await;
    assignment::drain(&f.app, &f.tenant).await.unwrap();
    assert_eq!(f.conv(&c2).await["assignee_id"], b.as_str());
    assert_eq!(f.active(&b).await, 2);
    // Capacity never drops below what b holds.
    let lower = agents::update_agent(
        &f.app,
        &f.tenant,
        &b,
        AgentPatch { max_concurrent: Some(1), ..Default::default() },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await;
    assert!(matches!(lower, Err(admin::AdminError::Conflict(ref m)) if m.contains("holds 2")), "{lower:?}");
    // Disabling b requeues both; only the default-group one can go to a, the billing one waits.
    let requeued = agents::disable_agent(&f.app, &f.tenant, &b, AuditEntry::new(&f.tenant, "test", Outcome::Success))
        .await
        .unwrap();
    assert_eq!(requeued, 2);
    assert_eq!(f.active(&b).await, 0);
    assert_eq!(f.conv(&c).await["assignee_id"], a.as_str());
    assert_eq!(f.conv(&c2).await["status"], "queued");
    let snap = snapshot(&f.app, &f.tenant).await.unwrap();
    assert!(snap.candidates(f.app.now()).iter().all(|x| x.agent_id != b), "disabled agents are not candidates");
}

/// Once a conversation's deletion has begun (`conversations::delete` marks it `deleting`, then empties its
/// partition, then deletes it), routing writes nothing beside it: no decision, no assignment by hand, no
/// reassignment, no agent it had. Closing it (the deletion's first step for an open one) still works and frees
/// the agent's slot.
#[tokio::test]
async fn a_conversation_being_deleted_gets_nothing_written_beside_it() {
    let f = fixture().await;
    let (a, b) = (f.agent(1, 2, &[], &[]).await, f.agent(2, 2, &[], &[]).await);
    f.online(&a).await;
    let c = f.conversation(&customer(), "normal", None, &[]).await;
    assignment::route(&f.app, &f.tenant, &c).await.unwrap();
    assert_eq!((f.conv(&c).await["assignee_id"].as_str(), f.active(&a).await), (Some(a.as_str()), 1));
    let waiting = f.conversation(&customer(), "normal", None, &[]).await;
    for id in [&c, &waiting] {
        let mark = kefu_ports::Update::new().set(keys::CONVERSATION_DELETING, true);
        f.app.table.update(&keys::conversation(&f.tenant, id), mark, None).await.unwrap();
    }

    assert_eq!(assignment::route(&f.app, &f.tenant, &waiting).await.unwrap(), None);
    assert_eq!(f.routing(&waiting).await, Value::Null, "no decision beside it");
    assert!(matches!(
        assignment::assign_to_agent(&f.app, &f.tenant, &c, &b, None).await,
        Err(AssignmentError::ConversationNotFound)
    ));
    f.online(&b).await;
    assert_eq!(assignment::reassign_by_rule(&f.app, &f.tenant, &c).await.unwrap(), None);
    assert!(!timers::on_assigned(&f.app, &f.tenant, &c, &a).await.unwrap());
    assert_eq!(assignment::agents_had(&f.app, &f.tenant, &c).await.unwrap(), Vec::<AgentId>::new());
    assert_eq!((f.active(&a).await, f.active(&b).await), (1, 0));

    assert!(assignment::close(&f.app, &f.tenant, &c, None).await.unwrap());
    assert_eq!((f.conv(&c).await["status"].as_str(), f.active(&a).await), (Some("closed"), 0));
}

#[tokio::test]
async fn settings_validate_and_round_robin_rotates() {
    let f = fixture().await;
    let bad = settings::put_settings(
        &f.app,
        &f.tenant,
        SettingsInput {
            strategy: "random".into(),
            queue_when_full: true,
            sticky_returning_customers: false,
            default_group_id: None,
            schedule_id: None,
            reassign_unanswered_seconds: None,
            requeue_on_offline: None,
            auto_away_minutes: None,
            overflow: None,
        },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap_err();
    assert!(matches!(bad, admin::AdminError::Invalid(ref v) if v.field == "strategy"));
    settings::put_settings(
        &f.app,
        &f.tenant,
        SettingsInput {
            strategy: "round_robin".into(),
            queue_when_full: false,
            sticky_returning_customers: false,
            default_group_id: None,
            schedule_id: None,
            reassign_unanswered_seconds: None,
            requeue_on_offline: None,
            auto_away_minutes: None,
            overflow: None,
        },
        AuditEntry::new(&f.tenant, "test", Outcome::Success),
    )
    .await
    .unwrap();
    let a = f.agent(1, 5, &[], &[]).await;
    let b = f.agent(2, 5, &[], &[]).await;
    f.online(&a).await;
    f.online(&b).await;
    let mut got = Vec::new();
    for _ in 0..4 {
        f.tick(1);
        let c = f.conversation(&customer(), "normal", None, &[]).await;
        got.push(assignment::route(&f.app, &f.tenant, &c).await.unwrap().unwrap().chosen_agent_id.unwrap());
    }
    assert_ne!(got[0], got[1]);
    assert_eq!(got[0], got[2]);
    assert_eq!(got[1], got[3]);
    // queue_when_full off: a conversation nobody can take stays pending, unassigned.
    let g = f.group("Empty", &[]).await;
    let c = f.conversation(&customer(), "normal", Some(&g), &[]).await;
    assignment::route(&f.app, &f.tenant, &c).await.unwrap();
    let conv = f.conv(&c).await;
    let routing = f.routing(&c).await;
    assert_eq!((conv["status"].as_str(), routing["outcome"].as_str()), (Some("pending"), Some("unassigned")));
}
