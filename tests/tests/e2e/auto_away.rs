//! Auto-away end to end on `kefu serve` (issue 12 item 5, `auto_away_minutes` of `/v1/settings/assignment`):
//! an online agent with no activity for that long is set away, keeps its conversations and gets a
//! `notification` frame; a request or a WebSocket ping is activity, so an active agent stays online.
//!
//! The idle time is made by moving the agent's stored last activity back (`last_active_s`, written at most
//! once a minute) and firing the timer at once, so no test waits a minute; that going online arms the timer
//! on the due queue is seen on the queue itself.

use std::time::Duration;

use kefu_app::assignment::activity;
use kefu_app::plumbing::keys;
use kefu_app::timers::{self, Due, Fired};
use kefu_domain::{AgentId, ConversationId};
use kefu_e2e::{Reply, TestApp, eventually, spawn_app};
use kefu_ports::table::Update;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::shop::{AGENT_PASSWORD, Tenant, tenant};

async fn put_settings(t: &TestApp, ten: &Tenant, minutes: Value) -> Reply {
    t.call(
        Method::PUT,
        "/v1/settings/assignment",
        Some(json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": false,
                    "auto_away_minutes": minutes})),
        Some(&ten.admin),
        &[],
    )
    .await
}

/// Creates an agent, signs it in and sets it online; answers its id and token.
async fn online_agent(t: &TestApp, ten: &Tenant) -> (AgentId, String) {
    let body = json!({"email": "agent@example.test", "name": "Agent", "password": AGENT_PASSWORD,
        "role_id": "agent", "max_concurrent": 2});
    let r = t.post("/v1/agents", body, Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = AgentId::parse(r.body["id"].as_str().unwrap()).unwrap();
    let token = t.login(ten.id.as_str(), "agent@example.test", AGENT_PASSWORD).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    (id, token)
}

/// The agent's status as `GET /v1/agents` shows it.
async fn status(t: &TestApp, ten: &Tenant, a: &AgentId) -> String {
    let listed = t.get("/v1/agents", Some(&ten.admin)).await;
    let me = listed.body["items"].as_array().unwrap().iter().find(|x| x["id"] == a.as_str()).unwrap().clone();
    me["status"].as_str().unwrap().to_owned()
}

/// The agent's stored last activity (Unix seconds).
async fn last_active(t: &TestApp, ten: &Tenant, a: &AgentId) -> Option<i64> {
    let item = t.app().table.get(&keys::agent_load(&ten.id, a)).await.unwrap().expect("routing item");
    item.get("last_active_s").and_then(Value::as_i64)
}

/// When the agent went online (its routing item's `status_at`).
async fn online_since(t: &TestApp, ten: &Tenant, a: &AgentId) -> Option<jiff::Timestamp> {
    let item = t.app().table.get(&keys::agent_load(&ten.id, a)).await.unwrap().expect("routing item");
    item.get("status_at").and_then(Value::as_str).map(|s| s.parse().unwrap())
}

/// Moves the agent's stored last activity `minutes` back (and makes this process forget it wrote it, so the
/// next activity writes again).
async fn idle_for(t: &TestApp, ten: &Tenant, a: &AgentId, minutes: i64) -> i64 {
    let back = jiff::Timestamp::now().as_second() - minutes * 60;
    t.app().table.update(&keys::agent_load(&ten.id, a), Update::new().set("last_active_s", back), None).await.unwrap();
    activity::forget(&ten.id, a);
    back
}

/// Fires the agent's auto-away timer of its current online period now.
async fn fire_now(t: &TestApp, ten: &Tenant, a: &AgentId) -> Fired {
    let due = Due::Away {
        tenant_id: ten.id.clone(),
        agent_id: a.clone(),
        online_since: online_since(t, ten, a).await,
        due_at: jiff::Timestamp::now(),
    };
    timers::fire(t.app(), &serde_json::to_string(&due).unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settings_take_auto_away_minutes_and_refuse_zero() {
    let t = spawn_app().await;
    let ten = tenant(&t, "AwaySettings").await;
    let r = put_settings(&t, &ten, json!(0)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("auto_away_minutes")));
    let r = put_settings(&t, &ten, json!(-1)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = put_settings(&t, &ten, json!("soon")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = put_settings(&t, &ten, json!(15)).await;
    assert_eq!((r.status, r.body["auto_away_minutes"].as_u64()), (StatusCode::OK, Some(15)));
    assert_eq!(t.get("/v1/settings/assignment", Some(&ten.admin)).await.body["auto_away_minutes"], 15);
    let r = put_settings(&t, &ten, Value::Null).await;
    assert_eq!((r.status, r.body["auto_away_minutes"].clone()), (StatusCode::OK, Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_idle_agent_is_set_away_keeps_its_conversation_and_is_told() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Idle").await;
    assert_eq!(put_settings(&t, &ten, json!(1)).await.status, StatusCode::OK);
    let before = t.app().due.approximate_len().await.unwrap();
    let (agent, token) = online_agent(&t, &ten).await;
    // Going online armed the agent's auto-away timer on the due queue (the assign consumer).
    let armed =
        eventually(Duration::from_secs(30), || async { t.app().due.approximate_len().await.unwrap() > before }).await;
    assert!(armed, "going online arms the auto-away timer");
    assert!(last_active(&t, &ten, &agent).await.is_some(), "going online is activity");
    let mut socket = t.websocket(&token).await;
    let r = t.start_conversation(&ten.widget_key, json!({"visitor": {"name": "Li"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let c = ConversationId::parse(r.body["conversation_id"].as_str().unwrap()).unwrap();
    let assigned = eventually(Duration::from_secs(30), || async {
        t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body["assignee_id"] == agent.as_str()
    })
    .await;
    assert!(assigned);

    // Nothing from the agent for two minutes: the timer sets it away.
    idle_for(&t, &ten, &agent, 2).await;
    assert_eq!(fire_now(&t, &ten, &agent).await, Fired::Away { minutes: 1 });
    assert_eq!(status(&t, &ten, &agent).await, "away");
    let mut told = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while told.is_none() && tokio::time::Instant::now() < deadline {
        if let Some(f) = socket.frame_of_type("notification", Duration::from_secs(5)).await
            && f["data"]["kind"] == "agent.auto_away"
        {
            told = Some(f);
        }
    }
    let told = told.expect("the agent is told by a notification frame");
    assert_eq!((told["data"]["status"].as_str(), told["data"]["minutes"].as_u64()), (Some("away"), Some(1)));
    // It keeps its conversation.
    let conv = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
    assert_eq!((conv["status"].as_str(), conv["assignee_id"].as_str()), (Some("open"), Some(agent.as_str())));
    // A duplicate or late timer finds it away already: nothing more.
    assert_eq!(fire_now(&t, &ten, &agent).await, Fired::Stale);
    assert_eq!(status(&t, &ten, &agent).await, "away");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_or_a_ping_keeps_an_agent_online() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Active").await;
    assert_eq!(put_settings(&t, &ten, json!(1)).await.status, StatusCode::OK);
    let (agent, token) = online_agent(&t, &ten).await;
    // The assign consumer armed the timer (before the last activity is moved back, or it would arm it for now).
    let armed =
        eventually(Duration::from_secs(30), || async { t.app().due.approximate_len().await.unwrap() >= 1 }).await;
    assert!(armed, "going online arms the auto-away timer");

    // Idle for two minutes, then a request: the activity is recorded and the timer is armed again for later.
    let back = idle_for(&t, &ten, &agent, 2).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
    let now = last_active(&t, &ten, &agent).await.unwrap();
    assert!(now > back + 60, "the request moved the last activity: {back} -> {now}");
    assert!(matches!(fire_now(&t, &ten, &agent).await, Fired::StillActive { .. }));
    assert_eq!(status(&t, &ten, &agent).await, "online");
    // Another request within the minute does not write again.
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
    assert_eq!(last_active(&t, &ten, &agent).await, Some(now));

    // Idle again, then a WebSocket ping: activity too.
    let mut socket = t.websocket(&token).await;
    let back = idle_for(&t, &ten, &agent, 2).await;
    socket.send_text(r#"{"action":"ping"}"#).await;
    assert!(socket.frame_of_type("pong", Duration::from_secs(10)).await.is_some());
    let now = last_active(&t, &ten, &agent).await.unwrap();
    assert!(now > back + 60, "the ping moved the last activity: {back} -> {now}");
    assert!(matches!(fire_now(&t, &ten, &agent).await, Fired::StillActive { .. }));
    assert_eq!(status(&t, &ten, &agent).await, "online");

    // A timer of an earlier online period (the agent went away and came back since) is stale: the current
    // period's timer would be armed again (the agent is active), the earlier one does nothing.
    let earlier = online_since(&t, &ten, &agent).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "away"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let old = Due::Away {
        tenant_id: ten.id.clone(),
        agent_id: agent.clone(),
        online_since: earlier,
        due_at: jiff::Timestamp::now(),
    };
    assert_eq!(timers::fire(t.app(), &serde_json::to_string(&old).unwrap()).await.unwrap(), Fired::Stale);
    assert!(matches!(fire_now(&t, &ten, &agent).await, Fired::StillActive { .. }));
    assert_eq!(status(&t, &ten, &agent).await, "online");

    // With the setting off, a timer does nothing.
    assert_eq!(put_settings(&t, &ten, Value::Null).await.status, StatusCode::OK);
    idle_for(&t, &ten, &agent, 2).await;
    assert_eq!(fire_now(&t, &ten, &agent).await, Fired::Stale);
    assert_eq!(status(&t, &ten, &agent).await, "online");
}
