//! Timers end to end on `kefu serve` (issue 12's "an unanswered conversation alerts, then is reassigned"): a
//! visitor's wait arms due timers on the due queue; they fire at their second, not at a minute's sweep.
//!
//! - a conversation whose visitor waits `reassign_unanswered_seconds` for its agent goes to an agent it never
//!   had, the reason in `routing`, capacity held on both sides — and never back;
//! - `conversation.unanswered` at a rule's threshold: the rule runs, the assignee gets a `notification` frame;
//! - a duplicate or stale timer (answered wait, changed assignment) does nothing.

use std::time::Duration;

use kefu_app::timers::{self, Due, Fired};
use kefu_domain::{AgentId, ConversationId, MessageId};
use kefu_e2e::{Reply, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::shop::{AGENT_PASSWORD, Tenant, tenant};

/// Creates agent `n` (capacity `max`), signs it in and sets it online; answers its id and token.
pub(crate) async fn online_agent(t: &TestApp, ten: &Tenant, n: u32, max: u32) -> (AgentId, String) {
    let body = json!({"email": format!("agent{n}@example.test"), "name": format!("Agent {n}"),
        "password": AGENT_PASSWORD, "role_id": "agent", "max_concurrent": max});
    let r = t.post("/v1/agents", body, Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = AgentId::parse(r.body["id"].as_str().unwrap()).unwrap();
    let token = t.login(ten.id.as_str(), &format!("agent{n}@example.test"), AGENT_PASSWORD).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    (id, token)
}

async fn put_settings(t: &TestApp, ten: &Tenant, reassign: Value) -> Reply {
    t.call(
        Method::PUT,
        "/v1/settings/assignment",
        Some(json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": false,
                    "reassign_unanswered_seconds": reassign})),
        Some(&ten.admin),
        &[],
    )
    .await
}

/// A visitor starts a conversation; answers its id and the visitor's token.
pub(crate) async fn visitor(t: &TestApp, ten: &Tenant) -> (ConversationId, String) {
    let r = t.start_conversation(&ten.widget_key, json!({"visitor": {"name": "Li"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    (
        ConversationId::parse(r.body["conversation_id"].as_str().unwrap()).unwrap(),
        r.body["visitor_token"].as_str().unwrap().to_owned(),
    )
}

/// The conversation as the admin sees it, once `check` holds (within a generous minute).
pub(crate) async fn conversation_when(
    t: &TestApp,
    ten: &Tenant,
    c: &ConversationId,
    within: Duration,
    check: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let last = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
        if check(&last) {
            return last;
        }
        assert!(tokio::time::Instant::now() < deadline, "conversation {c} never got there: {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each agent's `active_conversations` as `GET /v1/agents` shows it.
pub(crate) async fn active(t: &TestApp, ten: &Tenant, a: &AgentId) -> u64 {
    let listed = t.get("/v1/agents", Some(&ten.admin)).await;
    let me = listed.body["items"].as_array().unwrap().iter().find(|x| x["id"] == a.as_str()).unwrap().clone();
    me["active_conversations"].as_u64().unwrap()
}

/// The visitor's message ids in the conversation, oldest first.
async fn visitor_messages(t: &TestApp, ten: &Tenant, c: &ConversationId) -> Vec<(MessageId, jiff::Timestamp)> {
    let r = t.get(&format!("/v1/conversations/{c}/messages"), Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"] == "visitor")
        .map(|m| {
            (MessageId::parse(m["id"].as_str().unwrap()).unwrap(), m["created_at"].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_settings_take_reassignment_seconds_and_refuse_zero() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Settings").await;
    let r = put_settings(&t, &ten, json!(0)).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("reassign_unanswered_seconds"))
    );
    let r = put_settings(&t, &ten, json!(-3)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = put_settings(&t, &ten, json!(45)).await;
    assert_eq!((r.status, r.body["reassign_unanswered_seconds"].as_u64()), (StatusCode::OK, Some(45)));
    assert_eq!(t.get("/v1/settings/assignment", Some(&ten.admin)).await.body["reassign_unanswered_seconds"], 45);
    let r = put_settings(&t, &ten, Value::Null).await;
    assert_eq!((r.status, r.body["reassign_unanswered_seconds"].clone()), (StatusCode::OK, Value::Null));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_conversation_moves_to_an_agent_it_never_had_and_never_back() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Reassign").await;
    let r = put_settings(&t, &ten, json!(1)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (first, _) = online_agent(&t, &ten, 1, 2).await;
    let (c, visitor_token) = visitor(&t, &ten).await;
    let seen = conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["status"] == "open").await;
    assert_eq!(seen["assignee_id"], first.as_str());
    let (second, _) = online_agent(&t, &ten, 2, 2).await;

    // The visitor writes; nobody answers for a second.
    let r = t.visitor_send(&visitor_token, "hello? anyone there?").await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let moved = conversation_when(&t, &ten, &c, Duration::from_secs(60), |v| v["assignee_id"] == second.as_str()).await;
    let routing = &moved["routing"];
    assert_eq!(routing["outcome"], "reassigned", "{routing}");
    assert_eq!(routing["reason"], "unanswered", "{routing}");
    assert_eq!(routing["previous_agent_id"], first.as_str(), "{routing}");
    assert_eq!(routing["unanswered_seconds"], 1, "{routing}");
    // Capacity moved with it: one slot released, one taken.
    assert!(eventually(Duration::from_secs(10), || async { active(&t, &ten, &first).await == 0 }).await);
    assert_eq!(active(&t, &ten, &second).await, 1);

    // The second agent does not answer either: its own timer is armed (by the assign consumer) and fires, but
    // the only other agent already had the conversation, so it stays (the firing is seen as the due queue
    // emptying: a timer is deleted once fired).
    let had = eventually(Duration::from_secs(30), || async {
        kefu_app::assignment::agents_had(t.app(), &ten.id, &c).await.unwrap().contains(&second)
    })
    .await;
    assert!(had, "the assign consumer saw the reassignment");
    let armed =
        eventually(Duration::from_secs(30), || async { t.app().due.approximate_len().await.unwrap() >= 1 }).await;
    assert!(armed, "the second agent's timer is armed");
    let fired =
        eventually(Duration::from_secs(60), || async { t.app().due.approximate_len().await.unwrap() == 0 }).await;
    assert!(fired);
    let still = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
    assert_eq!(still["assignee_id"], second.as_str(), "never back to an agent it had: {still}");
    assert_eq!((active(&t, &ten, &first).await, active(&t, &ten, &second).await), (0, 1));

    // Firing the first agent's timer again (a duplicate delivery) finds the assignment changed: nothing moves.
    let (m, at) = visitor_messages(&t, &ten, &c).await[0].clone();
    let stale = Due::Reassign {
        tenant_id: ten.id.clone(),
        conversation_id: c.clone(),
        message_id: m,
        agent_id: first.clone(),
        assigned_at: at,
        seconds: 1,
        due_at: at,
    };
    let fired = timers::fire(t.app(), &serde_json::to_string(&stale).unwrap()).await.unwrap();
    assert_eq!(fired, Fired::Stale);
    assert_eq!((active(&t, &ten, &first).await, active(&t, &ten, &second).await), (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_reply_ends_the_wait_so_its_timer_does_nothing() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Answered").await;
    assert_eq!(put_settings(&t, &ten, json!(1)).await.status, StatusCode::OK);
    let (first, token) = online_agent(&t, &ten, 1, 2).await;
    let (c, visitor_token) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["status"] == "open").await;
    online_agent(&t, &ten, 2, 2).await;
    t.visitor_send(&visitor_token, "a question").await;
    let (m, _) = visitor_messages(&t, &ten, &c).await[0].clone();
    let r = t.post(&format!("/v1/conversations/{c}/messages"), json!({"content": "an answer"}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let conv = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
    let assigned_at: jiff::Timestamp = {
        let item = kefu_e2e::conversation_item(t.app(), &ten.id, &c).await;
        item["assigned_at"].as_str().unwrap().parse().unwrap()
    };
    // The timer as armed for the first agent, fired now (late is fine): the wait was answered.
    let due = Due::Reassign {
        tenant_id: ten.id.clone(),
        conversation_id: c.clone(),
        message_id: m,
        agent_id: first.clone(),
        assigned_at,
        seconds: 1,
        due_at: assigned_at,
    };
    let body = serde_json::to_string(&due).unwrap();
    assert_eq!(timers::fire(t.app(), &body).await.unwrap(), Fired::Stale);
    assert_eq!(timers::fire(t.app(), &body).await.unwrap(), Fired::Stale);
    let after = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
    assert_eq!((conv["assignee_id"].clone(), after["assignee_id"].clone()), (json!(first), json!(first)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unanswered_conversation_alerts_its_agent_and_runs_the_rules_once() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Alert").await;
    let rule = json!({"name": "Waiting a minute", "position": 1, "event": "conversation.unanswered",
        "conditions": {"all": [{"field": "conversation.unanswered_minutes", "op": "eq", "value": 1}]},
        "actions": [{"type": "set_priority", "priority": "high"}]});
    let r = t.post("/v1/rules", rule, Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let (first, token) = online_agent(&t, &ten, 1, 2).await;
    let mut socket = t.websocket(&token).await;
    let (c, visitor_token) = visitor(&t, &ten).await;
    let seen = conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["status"] == "open").await;
    assert_eq!(seen["assignee_id"], first.as_str());
    t.visitor_send(&visitor_token, "is anybody there?").await;

    // A minute later (the smallest threshold a rule can name), the assignee is told…
    let mut alert = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    while alert.is_none() && tokio::time::Instant::now() < deadline {
        if let Some(f) = socket.frame_of_type("notification", Duration::from_secs(5)).await
            && f["data"]["event"] == "conversation.unanswered"
        {
            alert = Some(f);
        }
    }
    let alert = alert.expect("the assignee is alerted");
    assert_eq!((alert["conversation_id"].as_str(), alert["data"]["minutes"].as_u64()), (Some(c.as_str()), Some(1)));
    // … and the rule ran on the event.
    let ran = conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["priority"] == "high").await;
    assert_eq!(ran["priority"], "high");

    // The same timer delivered again does nothing: the threshold fired once for this wait.
    let (m, since) = visitor_messages(&t, &ten, &c).await[0].clone();
    let due = Due::Unanswered {
        tenant_id: ten.id.clone(),
        conversation_id: c.clone(),
        message_id: m,
        since,
        minutes: 1,
        due_at: since,
    };
    assert_eq!(timers::fire(t.app(), &serde_json::to_string(&due).unwrap()).await.unwrap(), Fired::AlreadyDone);
    socket.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_agent_going_offline_hands_its_conversations_back_with_requeue_on_offline() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Offline").await;
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/assignment",
            Some(json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": false,
                        "requeue_on_offline": true})),
            Some(&ten.admin),
            &[],
        )
        .await;
    assert_eq!((r.status, r.body["requeue_on_offline"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", r.body);
    let (first, token) = online_agent(&t, &ten, 1, 2).await;
    let (c, _) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["assignee_id"] == first.as_str()).await;
    let (second, _) = online_agent(&t, &ten, 2, 2).await;

    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "offline"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["assignee_id"] == second.as_str()).await;
    assert_eq!((active(&t, &ten, &first).await, active(&t, &ten, &second).await), (0, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_requeue_on_offline_an_offline_agent_keeps_its_conversations() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Keeps").await;
    let (first, token) = online_agent(&t, &ten, 1, 2).await;
    let (c, _) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["assignee_id"] == first.as_str()).await;
    online_agent(&t, &ten, 2, 2).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "offline"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    // The handler ran when the assign consumer has marked the status event done; the conversation stayed.
    let settled = eventually(Duration::from_secs(30), || async {
        let load = kefu_app::assignment::ensure_agent_load(t.app(), &ten.id, &first).await.unwrap();
        load.status == kefu_domain::routing::AgentStatus::Offline
    })
    .await;
    assert!(settled);
    let n = kefu_app::assignment::agents::requeue_on_offline(t.app(), &ten.id, &first).await.unwrap();
    assert_eq!(n, 0, "the setting is off");
    let conv = t.get(&format!("/v1/conversations/{c}"), Some(&ten.admin)).await.body;
    assert_eq!(conv["assignee_id"], first.as_str());
}

/// The same reassignment on the AWS adapters (moto, from the template): the timer is an SQS message with
/// `DelaySeconds`, polled by `kefu serve`'s due poller as the `due` function's event source would deliver it.
#[tokio::test(flavor = "multi_thread")]
async fn on_aws_the_timer_is_an_sqs_message_with_delay_seconds() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("timers")).await.unwrap();
    assert!(stack.environment.contains_key("KEFU_DUE_QUEUE_URL"), "the template hands the due queue to functions");
    let dir = tempfile::tempdir().unwrap();
    let t = kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let ten = tenant(&t, "AwsTimers").await;
    assert_eq!(put_settings(&t, &ten, json!(1)).await.status, StatusCode::OK);
    let (first, _) = online_agent(&t, &ten, 1, 2).await;
    let (c, visitor_token) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &c, Duration::from_secs(60), |v| v["assignee_id"] == first.as_str()).await;
    let (second, _) = online_agent(&t, &ten, 2, 2).await;
    t.visitor_send(&visitor_token, "hello from AWS").await;
    let moved = conversation_when(&t, &ten, &c, Duration::from_secs(90), |v| v["assignee_id"] == second.as_str()).await;
    assert_eq!(
        (moved["routing"]["outcome"].as_str(), moved["routing"]["reason"].as_str()),
        (Some("reassigned"), Some("unanswered"))
    );
    assert!(eventually(Duration::from_secs(20), || async { active(&t, &ten, &first).await == 0 }).await);
    assert_eq!(active(&t, &ten, &second).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rules_reassign_moves_the_conversation_to_another_agent_with_capacity_held() {
    let t = spawn_app().await;
    let ten = tenant(&t, "RuleReassign").await;
    let (first, _) = online_agent(&t, &ten, 1, 2).await;
    let (c, visitor_token) = visitor(&t, &ten).await;
    let seen = conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["status"] == "open").await;
    assert_eq!(seen["assignee_id"], first.as_str());
    let (second, _) = online_agent(&t, &ten, 2, 2).await;
    let rule = json!({"name": "Escalate", "event": "message.received",
        "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "manager"}]},
        "actions": [{"type": "reassign"}]});
    let r = t.post("/v1/rules", rule, Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    assert!(t.visitor_send(&visitor_token, "I want to talk to a manager").await.status.is_success());
    let moved = conversation_when(&t, &ten, &c, Duration::from_secs(30), |v| v["assignee_id"] == second.as_str()).await;
    assert_eq!(
        (moved["routing"]["outcome"].as_str(), moved["routing"]["reason"].as_str()),
        (Some("reassigned"), Some("rule"))
    );
    assert_eq!(moved["routing"]["previous_agent_id"], first.as_str());
    let held = eventually(Duration::from_secs(10), || async {
        active(&t, &ten, &first).await == 0 && active(&t, &ten, &second).await == 1
    })
    .await;
    assert!(held, "one slot moved: {} / {}", active(&t, &ten, &first).await, active(&t, &ten, &second).await);
    let run = conversation_when(&t, &ten, &c, Duration::from_secs(10), |v| {
        v["automation"].as_array().is_some_and(|runs| !runs.is_empty())
    })
    .await;
    let last = run["automation"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["rules"][0]["actions"], json!([{"type": "reassign", "result": "done"}]), "{last}");
}
