//! Routing end to end on `kefu serve`: agents, groups, schedules and settings over HTTP; conversations routed by
//! the assign consumer; the waiting queue drained as capacity frees; and the capacity invariant under a race of
//! many assigners, on the embedded store and on DynamoDB (moto).
//!
//! The first two tests go the whole way a user does: a visitor starts in the widget, the agent reads the
//! conversation and its routing decision over `GET /v1/conversations/{id}`, VIP priority comes from the customer's
//! group. The others start conversations with `kefu_e2e::start_conversation` (a pending conversation and its
//! `conversation.created` event, what intake writes) where they need a group, a fixed customer or an app handle.

use std::collections::HashMap;
use std::time::Duration;

use kefu_app::App;
use kefu_app::assignment::{self, agents};
use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, ConversationId, CustomerId, GroupId, TenantId};
use kefu_e2e::{TestApp, conversation_item, eventually, routing_item, spawn_app, spawn_with, start_conversation};
use kefu_ports::{Index, Query};
use kefu_testkit::{MotoStack, require_moto};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::shop::{AGENT_PASSWORD, Tenant, tenant};

/// A visitor starts a conversation in the widget; answers its id and customer id.
async fn visitor(t: &TestApp, ten: &Tenant, external_id: &str) -> (ConversationId, String) {
    let r = t
        .start_conversation(&ten.widget_key, json!({"visitor": {"external_id": external_id, "name": external_id}}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (
        ConversationId::parse(r.body["conversation_id"].as_str().unwrap()).unwrap(),
        r.body["customer_id"].as_str().unwrap().to_owned(),
    )
}

/// The conversation as an agent sees it (`GET /v1/conversations/{id}`), once routing has decided (its `routing`
/// is set: a conversation not routed yet already reads `queued`) and its status is `status`.
async fn seen_as(t: &TestApp, token: &str, c: &ConversationId, status: &str) -> Value {
    let mut last = Value::Null;
    for _ in 0..100 {
        last = t.get(&format!("/v1/conversations/{c}"), Some(token)).await.body;
        if last["status"] == status && !last["routing"].is_null() {
            return last;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("conversation {c} never became {status}: {last}")
}

/// Creates an agent over HTTP and answers its id.
async fn agent(t: &TestApp, ten: &Tenant, n: u32, max: u32, extra: Value) -> AgentId {
    let mut body = json!({"email": format!("agent{n}@example.test"), "name": format!("Agent {n}"),
        "password": AGENT_PASSWORD, "role_id": "agent", "max_concurrent": max});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let r = t.post("/v1/agents", body, Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    AgentId::parse(r.body["id"].as_str().unwrap()).unwrap()
}

/// Signs the agent in and sets it online over HTTP; answers its token.
async fn online(t: &TestApp, ten: &Tenant, n: u32) -> String {
    let token = t.login(ten.id.as_str(), &format!("agent{n}@example.test"), AGENT_PASSWORD).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("online")), "{:?}", r.body);
    token
}

async fn assignee_within(app: &App, ten: &TenantId, c: &ConversationId, secs: u64) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let item = conversation_item(app, ten, c).await;
        if item["status"] == "open" {
            return item["assignee_id"].as_str().map(str::to_owned);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn one_online_agent_gets_the_first_conversation_within_seconds() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Acme").await;
    let a = agent(&t, &ten, 1, 3, json!({})).await;
    let away = agent(&t, &ten, 2, 3, json!({})).await;
    let token = online(&t, &ten, 1).await;
    let (c, _) = visitor(&t, &ten, "first-visitor").await;
    let seen = seen_as(&t, &token, &c, "open").await;
    assert_eq!(seen["assignee_id"], a.as_str());

    let routing = &seen["routing"];
    assert_eq!(routing["chosen_agent_id"], a.as_str());
    assert_eq!(routing["strategy"], "least_loaded");
    assert!(routing["decided_at"].is_string());
    let reasons: HashMap<String, Value> = routing["candidates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["agent_id"].as_str().unwrap().to_owned(), x["excluded"].clone()))
        .collect();
    assert_eq!(reasons[a.as_str()], Value::Null);
    assert_eq!(reasons[away.as_str()], "offline");

    let listed = t.get("/v1/agents", Some(&ten.admin)).await;
    let me = listed.body["items"].as_array().unwrap().iter().find(|x| x["id"] == a.as_str()).unwrap().clone();
    assert_eq!((me["status"].as_str(), me["active_conversations"].as_u64()), (Some("online"), Some(1)));
    assert!(me["last_login_at"].is_string());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_agent_queues_and_vip_waits_less_when_capacity_frees() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Queue").await;
    let a = agent(&t, &ten, 1, 1, json!({})).await;
    let token = online(&t, &ten, 1).await;
    // A VIP customer group, and a customer in it (from an earlier visit).
    let r = t.post("/v1/customer_groups", json!({"name": "VIP", "priority": "high"}), Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let vip_group = r.body["id"].as_str().unwrap().to_owned();
    let (earlier, vip_customer) = visitor(&t, &ten, "vip-customer").await;
    assert_eq!(seen_as(&t, &token, &earlier, "open").await["assignee_id"], a.as_str());
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/customers/{vip_customer}"),
            Some(json!({"group_id": vip_group})),
            Some(&ten.admin),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let (normal, _) = visitor(&t, &ten, "normal-customer").await;
    let queued = seen_as(&t, &token, &normal, "queued").await;
    assert_eq!(queued["routing"]["candidates"][0]["excluded"], "at_capacity");
    assert_eq!(queued["routing"]["outcome"], "queued");
    let (vip, _) = visitor(&t, &ten, "vip-customer").await;
    let queued = seen_as(&t, &token, &vip, "queued").await;
    assert_eq!(queued["priority"], "high");

    // Capacity frees: the assign consumer drains on conversation.closed, VIP first though it came later.
    let r = t.post(&format!("/v1/conversations/{earlier}/close"), json!({}), Some(&token)).await;
    assert!(r.status.is_success(), "{:?}", r.body);
    assert_eq!(seen_as(&t, &token, &vip, "open").await["assignee_id"], a.as_str());
    assert_eq!(t.get(&format!("/v1/conversations/{normal}"), Some(&ten.admin)).await.body["status"], "queued");
    // Raising max_concurrent frees capacity too.
    let r = t
        .call(Method::PATCH, &format!("/v1/agents/{a}"), Some(json!({"max_concurrent": 2})), Some(&ten.admin), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(seen_as(&t, &token, &normal, "open").await["assignee_id"], a.as_str());
}

#[tokio::test(flavor = "multi_thread")]
async fn off_shift_agents_are_skipped_and_returning_customers_stick() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Shifts").await;
    // A schedule with no hours at all: whoever works it is never on shift.
    let r = t
        .post("/v1/schedules", json!({"name": "Never", "timezone": "Asia/Shanghai", "weekly": {}}), Some(&ten.admin))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let never = r.body["id"].as_str().unwrap().to_owned();
    let off = agent(&t, &ten, 1, 3, json!({"schedule_id": never})).await;
    let b = agent(&t, &ten, 2, 3, json!({})).await;
    let c_agent = agent(&t, &ten, 3, 3, json!({})).await;
    online(&t, &ten, 1).await;
    online(&t, &ten, 2).await;

    let returning = CustomerId::generate();
    let c1 = start_conversation(t.app(), &ten.id, &returning, "normal", None).await;
    assert_eq!(assignee_within(t.app(), &ten.id, &c1, 10).await.as_deref(), Some(b.as_str()));
    let routing = routing_item(t.app(), &ten.id, &c1).await;
    let stored = conversation_item(t.app(), &ten.id, &c1).await;
    assert!(stored.get("routing").is_none(), "the decision lives beside the conversation, not in it: {stored}");
    let off_reason = routing["candidates"].as_array().unwrap().iter().find(|x| x["agent_id"] == off.as_str()).unwrap();
    assert_eq!(off_reason["excluded"], "off_shift");
    assert!(assignment::close(t.app(), &ten.id, &c1, None).await.unwrap());

    // b keeps one other conversation; c comes online with none. A new customer goes to c (least loaded), the
    // returning customer back to b.
    let other = start_conversation(t.app(), &ten.id, &CustomerId::generate(), "normal", None).await;
    assert_eq!(assignee_within(t.app(), &ten.id, &other, 10).await.as_deref(), Some(b.as_str()));
    online(&t, &ten, 3).await;
    let c2 = start_conversation(t.app(), &ten.id, &returning, "normal", None).await;
    assert_eq!(assignee_within(t.app(), &ten.id, &c2, 10).await.as_deref(), Some(b.as_str()));
    let routing = routing_item(t.app(), &ten.id, &c2).await;
    assert_eq!((routing["sticky"].as_bool(), routing["outcome"].as_str()), (Some(true), Some("sticky")));
    let c3 = start_conversation(t.app(), &ten.id, &CustomerId::generate(), "normal", None).await;
    assert_eq!(assignee_within(t.app(), &ten.id, &c3, 10).await.as_deref(), Some(c_agent.as_str()));
}

#[tokio::test(flavor = "multi_thread")]
async fn groups_route_by_membership_and_disabling_requeues() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Groups").await;
    let sales1 = agent(&t, &ten, 1, 2, json!({})).await;
    let sales2 = agent(&t, &ten, 2, 2, json!({})).await;
    let support = agent(&t, &ten, 3, 2, json!({})).await;
    let r = t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [sales1, sales2]}), Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let sales = GroupId::parse(r.body["id"].as_str().unwrap()).unwrap();
    let got = t.get(&format!("/v1/agents/{sales1}"), Some(&ten.admin)).await;
    assert_eq!(got.body["group_ids"], json!([sales.as_str()]), "the agent's side of the membership");
    let mut tokens = Vec::new();
    for n in 1..=3 {
        tokens.push(online(&t, &ten, n).await);
    }
    let c = start_conversation(t.app(), &ten.id, &CustomerId::generate(), "normal", Some(&sales)).await;
    let first = assignee_within(t.app(), &ten.id, &c, 10).await.unwrap();
    assert!(first == sales1.as_str() || first == sales2.as_str());
    let routing = routing_item(t.app(), &ten.id, &c).await;
    let sup = routing["candidates"].as_array().unwrap().iter().find(|x| x["agent_id"] == support.as_str()).unwrap();
    assert_eq!(sup["excluded"], "not_in_group");

    // Disabling the agent requeues its conversation, which goes to the other sales agent.
    let r = t.post(&format!("/v1/agents/{first}/disable"), json!({}), Some(&ten.admin)).await;
    assert_eq!((r.status, r.body["requeued"].as_u64()), (StatusCode::OK, Some(1)), "{:?}", r.body);
    let other = if first == sales1.as_str() { &sales2 } else { &sales1 };
    assert_eq!(assignee_within(t.app(), &ten.id, &c, 10).await.as_deref(), Some(other.as_str()));
    let disabled = t.get(&format!("/v1/agents/{first}"), Some(&ten.admin)).await.body;
    assert_eq!((disabled["disabled"].as_bool(), disabled["active_conversations"].as_u64()), (Some(true), Some(0)));
    let n = if first == sales1.as_str() { 1 } else { 2 };
    assert_eq!(t.get("/v1/me", Some(&tokens[n - 1])).await.status, StatusCode::UNAUTHORIZED, "its sessions ended");
    let login = t
        .post(
            "/v1/auth/login",
            json!({"tenant_id": ten.id, "email": format!("agent{n}@example.test"), "password": AGENT_PASSWORD}),
            None,
        )
        .await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED);

    // Leaving the group over PUT updates the agent's side in the same transaction.
    let r = t
        .call(
            Method::PUT,
            &format!("/v1/groups/{sales}"),
            Some(json!({"name": "Sales", "agent_ids": [other]})),
            Some(&ten.admin),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(t.get(&format!("/v1/agents/{first}"), Some(&ten.admin)).await.body["group_ids"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_endpoints_validate_scope_and_page() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Admin").await;
    let other = tenant(&t, "Other").await;
    let a = agent(&t, &ten, 1, 2, json!({})).await;
    let field = |r: &kefu_e2e::Reply| {
        (r.status, r.code().to_owned(), r.body["error"]["field"].as_str().unwrap_or("").to_owned())
    };
    let bad = |f: &str| (StatusCode::BAD_REQUEST, "validation_failed".to_owned(), f.to_owned());

    let base = json!({"email": "x@example.test", "name": "X", "password": AGENT_PASSWORD, "role_id": "agent"});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    for (body, f) in [
        (with("email", json!("nope")), "email"),
        (with("role_id", json!("ro_nope")), "role_id"),
        (with("group_ids", json!(["gr_01jd2q8m6xg3r8w6b4s1e2c9va"])), "group_ids[0]"),
        (with("max_concurrent", json!(101)), "max_concurrent"),
        (with("skills", json!(["zh", ""])), "skills[1]"),
        (with("password", json!("short")), "password"),
        (with("schedule_id", json!("sc_x")), "schedule_id"),
    ] {
        assert_eq!(field(&t.post("/v1/agents", body, Some(&ten.admin)).await), bad(f));
    }
    let dup = t.post("/v1/agents", with("email", json!("agent1@example.test")), Some(&ten.admin)).await;
    assert_eq!(dup.code(), "conflict");

    // Another tenant's ids are not found; an agent without agents.manage is forbidden.
    assert_eq!(t.get(&format!("/v1/agents/{a}"), Some(&other.admin)).await.status, StatusCode::NOT_FOUND);
    let r =
        t.call(Method::PATCH, &format!("/v1/agents/{a}"), Some(json!({"name": "Y"})), Some(&other.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let agent_token = t.login(ten.id.as_str(), "agent1@example.test", AGENT_PASSWORD).await;
    assert_eq!(t.get("/v1/agents", Some(&agent_token)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/v1/settings/assignment", Some(&agent_token)).await.status, StatusCode::FORBIDDEN);
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "busy"})), Some(&agent_token), &[]).await;
    assert_eq!(field(&r), bad("status"));
    let r = t.call(Method::DELETE, &format!("/v1/agents/{a}/sessions"), None, Some(&other.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.call(Method::DELETE, &format!("/v1/agents/{a}/sessions"), None, Some(&ten.admin), &[]).await;
    assert_eq!((r.status, r.body["revoked"].as_u64()), (StatusCode::OK, Some(1)), "{:?}", r.body);
    assert_eq!(t.get("/v1/me", Some(&agent_token)).await.status, StatusCode::UNAUTHORIZED);

    // Paging.
    agent(&t, &ten, 2, 2, json!({})).await;
    let p1 = t.get("/v1/agents?limit=2", Some(&ten.admin)).await.body;
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    let cursor = p1["next_cursor"].as_str().unwrap();
    let p2 = t.get(&format!("/v1/agents?limit=2&cursor={cursor}"), Some(&ten.admin)).await.body;
    assert_eq!(p2["items"].as_array().unwrap().len(), 1, "admin + 2 agents");
    assert_eq!(p2["next_cursor"], Value::Null);
    let foreign = t.get(&format!("/v1/agents?cursor={cursor}"), Some(&other.admin)).await;
    assert_eq!(foreign.status, StatusCode::BAD_REQUEST, "a cursor of another tenant's list");

    // Schedules and settings.
    let r = t
        .post(
            "/v1/schedules",
            json!({"name": "S", "timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}}),
            Some(&ten.admin),
        )
        .await;
    assert_eq!(field(&r), bad("weekly.mon[0][1]"));
    let r = t
        .post(
            "/v1/schedules",
            json!({"name": "S", "timezone": "UTC", "overrides": [{"date": "2026-13-01", "hours": []}]}),
            Some(&ten.admin),
        )
        .await;
    assert_eq!(field(&r), bad("overrides[0].date"));
    let r = t
        .post("/v1/schedules", json!({"name": "Office", "timezone": "Europe/Paris", "weekly": {"mon": [["09:00", "18:00"]]}, "holidays": ["2026-12-25"]}), Some(&ten.admin))
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let sched = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["weekly"]["mon"], json!([["09:00", "18:00"]]));
    let r = t
        .call(
            Method::PUT,
            &format!("/v1/schedules/{sched}"),
            Some(json!({"name": "Office 2", "timezone": "UTC"})),
            Some(&other.admin),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/v1/schedules", Some(&ten.admin)).await.body["items"].as_array().unwrap().len(), 1);

    let defaults = t.get("/v1/settings/assignment", Some(&ten.admin)).await.body;
    assert_eq!(
        defaults,
        json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": true, "default_group_id": null, "schedule_id": null, "reassign_unanswered_seconds": null, "requeue_on_offline": false, "auto_away_minutes": null, "overflow": []})
    );
    let put = |b: Value| t.call(Method::PUT, "/v1/settings/assignment", Some(b), Some(&ten.admin), &[]);
    let r = put(json!({"strategy": "fastest", "queue_when_full": true, "sticky_returning_customers": true})).await;
    assert_eq!(field(&r), bad("strategy"));
    let r = put(json!({"strategy": "round_robin", "queue_when_full": true, "sticky_returning_customers": false, "default_group_id": "gr_01jd2q8m6xg3r8w6b4s1e2c9va"})).await;
    assert_eq!(field(&r), bad("default_group_id"));
    let r = put(json!({"strategy": "round_robin", "queue_when_full": false, "sticky_returning_customers": false, "schedule_id": sched})).await;
    assert_eq!((r.status, r.body["schedule_id"].as_str()), (StatusCode::OK, Some(sched.as_str())));
    assert_eq!(t.get("/v1/settings/assignment", Some(&ten.admin)).await.body["strategy"], "round_robin");

    // Groups: foreign ids and validation.
    let r = t
        .post("/v1/groups", json!({"name": "G", "agent_ids": ["ag_01jd2q8m6xg3r8w6b4s1e2c9va"]}), Some(&ten.admin))
        .await;
    assert_eq!(field(&r), bad("agent_ids[0]"));
    let r = t.post("/v1/groups", json!({"name": "G", "agent_ids": [a]}), Some(&ten.admin)).await;
    let g = r.body["id"].as_str().unwrap().to_owned();
    let r = t.call(Method::DELETE, &format!("/v1/groups/{g}"), None, Some(&other.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = t.call(Method::DELETE, &format!("/v1/groups/{g}"), None, Some(&ten.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get(&format!("/v1/agents/{a}"), Some(&ten.admin)).await.body["group_ids"], json!([]));
}

// ------------------------------------------------------------------------------------------------ the race

/// 50 conversations race for 3 agents of capacity 2, with 50 routers and 10 drainers at once (plus the assign
/// consumer routing the same conversations from their events): at most 6 open, nobody over capacity, one
/// assignee each, the rest queued; then closing one drains the queue in priority order.
async fn race(t: &TestApp) {
    let app = t.app().clone();
    let ten = tenant(t, "Race").await;
    let mut agents = Vec::new();
    for n in 1..=3 {
        agents.push(agent(t, &ten, n, 2, json!({})).await);
    }
    for a in &agents {
        assignment::set_agent_status(&app, &ten.id, a, AgentStatus::Online).await.unwrap();
    }
    let mut convs = Vec::new();
    for i in 0..50 {
        let priority = ["low", "normal", "high"][i % 3];
        convs.push(start_conversation(&app, &ten.id, &CustomerId::generate(), priority, None).await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for c in convs.clone() {
        let (app, tid) = (app.clone(), ten.id.clone());
        tasks.spawn(async move { assignment::route(&app, &tid, &c).await.map(drop) });
    }
    for _ in 0..10 {
        let (app, tid) = (app.clone(), ten.id.clone());
        tasks.spawn(async move { assignment::drain(&app, &tid).await.map(drop) });
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap().unwrap();
    }

    let settled = eventually(Duration::from_secs(30), || async {
        let mut queued = 0;
        for c in &convs {
            if conversation_item(&app, &ten.id, c).await["status"] == "queued" {
                queued += 1;
            }
        }
        queued == 44
    })
    .await;
    let mut by_agent: HashMap<String, usize> = HashMap::new();
    let mut statuses: HashMap<String, usize> = HashMap::new();
    for c in &convs {
        let item = conversation_item(&app, &ten.id, c).await;
        *statuses.entry(item["status"].as_str().unwrap().to_owned()).or_default() += 1;
        if let Some(a) = item["assignee_id"].as_str() {
            assert_eq!(item["status"], "open");
            *by_agent.entry(a.to_owned()).or_default() += 1;
        }
    }
    assert!(settled, "{statuses:?}");
    assert_eq!(statuses.get("open"), Some(&6), "{statuses:?}");
    assert_eq!(statuses.get("queued"), Some(&44), "{statuses:?}");
    for a in &agents {
        let load = agents::get_agent(&app, &ten.id, a).await.unwrap();
        assert_eq!(load.active_conversations, 2, "never over capacity");
        assert_eq!(by_agent.get(a.as_str()), Some(&2), "the count is exactly the conversations it holds");
        let open = app
            .table
            .query(Query::index(Index::Gsi2, kefu_app::plumbing::keys::assigned_pk(&ten.id, a, "open")))
            .await
            .unwrap();
        assert_eq!(open.items.len(), 2);
    }

    // The queue's head is the oldest high-priority conversation; closing one conversation hands it the slot.
    let head =
        app.table.query(Query::index(Index::Gsi2, kefu_app::plumbing::keys::queue_pk(&ten.id)).limit(1)).await.unwrap();
    let head = ConversationId::parse(head.items[0]["conversation_id"].as_str().unwrap()).unwrap();
    assert_eq!(conversation_item(&app, &ten.id, &head).await["priority"], "high");
    let mut victim = None;
    for c in &convs {
        if conversation_item(&app, &ten.id, c).await["assignee_id"] == agents[0].as_str() {
            victim = Some(c.clone());
            break;
        }
    }
    let victim = victim.expect("the first agent holds two conversations");
    assert!(assignment::close(&app, &ten.id, &victim, None).await.unwrap());
    assignment::drain(&app, &ten.id).await.unwrap();
    assert_eq!(assignee_within(&app, &ten.id, &head, 10).await.as_deref(), Some(agents[0].as_str()));
    assert_eq!(agents::get_agent(&app, &ten.id, &agents[0]).await.unwrap().active_conversations, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_holds_under_a_race_on_the_embedded_store() {
    let t = spawn_app().await;
    race(&t).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn capacity_holds_under_a_race_on_dynamodb() {
    let Some(_) = require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| MotoStack::create("routing-race")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    race(&t).await;
}
