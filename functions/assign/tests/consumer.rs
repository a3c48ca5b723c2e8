//! The assign consumer under its batch semantics: a conversation routed once however often its event arrives,
//! poison messages failed (to end in the DLQ) without stopping the batch, capacity-freeing events draining.

use std::sync::Arc;

use kefu_app::App;
use kefu_app::assignment::{self, agents};
use kefu_app::conversations::ConversationRecord;
use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
use kefu_app::plumbing::consumer::{BatchItem, process_batch};
use kefu_app::plumbing::events::{ConversationClosed, ConversationCreated, Envelope};
use kefu_app::plumbing::keys;
use kefu_app::plumbing::record::Record;
use kefu_app::testing::EmbeddedApp;
use kefu_domain::routing::{AgentStatus, Priority};
use kefu_domain::{AgentId, ConversationId, CustomerId, TenantId};
use kefu_fn_assign::AssignConsumer;
use kefu_ports::{ManualClock, TxOp};
use serde_json::json;

async fn app() -> (App, TenantId, tempfile::TempDir) {
    let clock = Arc::new(ManualClock::new("2026-11-23T10:00:00Z".parse().unwrap()));
    let EmbeddedApp { app, dir, .. } = EmbeddedApp::new(clock);
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
    let t = TenantId::parse(&created.tenant_id).unwrap();
    (app, t, dir)
}

async fn agent(app: &App, t: &TenantId, max: i64) -> AgentId {
    let v = agents::create_agent(
        app,
        t,
        agents::NewAgent {
            email: "a@acme.test".into(),
            name: "A".into(),
            password: "a long agent password".into(),
            role_id: "agent".into(),
            group_ids: vec![],
            skills: vec![],
            max_concurrent: Some(max),
            schedule_id: None,
        },
        None,
    )
    .await
    .unwrap();
    let a = AgentId::parse(&v.id).unwrap();
    assignment::set_agent_status(app, t, &a, AgentStatus::Online).await.unwrap();
    a
}

async fn pending(app: &App, t: &TenantId) -> (ConversationId, Envelope) {
    let c = ConversationId::generate();
    let now = app.now();
    let item = ConversationRecord::started(t, &c, &CustomerId::generate(), None, Priority::Normal, None, now).to_item();
    app.table.transact(vec![TxOp::Put { item, condition: None }]).await.unwrap();
    let created = ConversationCreated {
        conversation_id: c.clone(),
        customer_id: CustomerId::generate(),
        group_id: None,
        priority: Priority::Normal,
    };
    let event = Envelope::new(t, now, created);
    (c, event)
}

fn item(id: &str, e: &Envelope) -> BatchItem {
    BatchItem { message_id: id.into(), body: serde_json::to_string(e).unwrap() }
}

#[tokio::test]
async fn duplicates_route_once_and_poison_fails_alone() {
    let (app, t, _dir) = app().await;
    let a = agent(&app, &t, 1).await;
    let (c1, created1) = pending(&app, &t).await;
    let (c2, created2) = pending(&app, &t).await;
    // A payload as an older or broken producer might have written it: no valid conversation id.
    let no_id = json!({"id": "01JD2Q8M6Y7N3F0ZK5T9W4XH2C", "type": "conversation.created", "tenant_id": t,
                       "at": app.now(), "data": {"conversation_id": "nope"}});
    let batch = vec![
        item("m1", &created1),
        BatchItem { message_id: "m2".into(), body: "not json".into() },
        BatchItem { message_id: "m3".into(), body: no_id.to_string() },
        item("m4", &created2),
    ];
    let failed = process_batch(&app, &AssignConsumer, batch).await;
    assert_eq!(failed, vec!["m2".to_owned(), "m3".to_owned()], "only the poison messages fail");
    let conv = |c: &ConversationId| {
        let (app, t, c) = (app.clone(), t.clone(), c.clone());
        async move { app.table.get(&keys::conversation(&t, &c)).await.unwrap().unwrap() }
    };
    // A batch's events are handled concurrently, so either conversation may take the one free place; the
    // other waits in the queue.
    let (first, second, first_event) =
        if conv(&c1).await.get("assignee_id").and_then(serde_json::Value::as_str) == Some(a.as_str()) {
            (c1.clone(), c2.clone(), created1.clone())
        } else {
            (c2.clone(), c1.clone(), created2.clone())
        };
    assert_eq!(conv(&first).await["assignee_id"], a.as_str());
    assert_eq!(conv(&second).await["status"], "queued");

    // The same event again (acknowledged by its idempotency record), and a copy under a new event id (past the
    // record: the handler itself must not route it twice): nothing changes.
    let copy = Envelope::new(&t, app.now(), first_event.event.clone());
    let failed = process_batch(&app, &AssignConsumer, vec![item("m5", &first_event), item("m6", &copy)]).await;
    assert!(failed.is_empty());
    let load = app.table.get(&keys::agent_load(&t, &a)).await.unwrap().unwrap();
    assert_eq!(load["active"], 1);

    // Closing frees the slot; the consumer drains on conversation.closed.
    assignment::close(&app, &t, &first, None).await.unwrap();
    let closed = Envelope::new(
        &t,
        app.now(),
        ConversationClosed { conversation_id: first.clone(), agent_id: Some(a.clone()), by: None },
    );
    assert!(process_batch(&app, &AssignConsumer, vec![item("m7", &closed)]).await.is_empty());
    assert_eq!(conv(&second).await["assignee_id"], a.as_str());
}
