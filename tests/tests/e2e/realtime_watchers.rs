//! Frames of a conversation nobody is assigned to reach the staff who may see it (API.md, Real time: "only for
//! what it may see"): holders of `conversations.view_all`, and holders of `conversations.view_group` who are
//! members of its group; not an agent outside the group, not the visitor of another conversation. Masking is
//! decided per reader when the frame is rendered.

use std::time::Duration;

use kefu_app::plumbing::events::{ConversationQueued, Envelope, EventMessage, MessageReceived};
use kefu_app::realtime;
use kefu_domain::routing::Priority;
use kefu_domain::{Author, ConversationId, GroupId, MessageId, TenantId};
use kefu_e2e::{ADMIN_PASSWORD, TestApp, WsClient, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(5);
const PASSWORD: &str = "a long enough staff password";
const PHONE: &str = "13812345678";

/// A staff account of `role` made through the API, signed in, with its console's socket open.
async fn console(t: &TestApp, tenant: &str, admin: &str, email: &str, role: &str) -> (String, WsClient) {
    let body = json!({"email": email, "name": "Staff", "password": PASSWORD, "role_id": role});
    let r = t.post("/v1/agents", body, Some(admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let token = t.login(tenant, email, PASSWORD).await;
    (r.body["id"].as_str().unwrap().to_owned(), t.websocket(&token).await)
}

/// The next frame of `ty` about `conversation` (frames of other conversations are skipped).
async fn frame_about(ws: &mut WsClient, ty: &str, conversation: &str) -> Value {
    loop {
        let f = ws.frame_of_type(ty, WAIT).await.unwrap_or_else(|| panic!("no {ty} frame for {conversation}"));
        if f["conversation_id"] == conversation {
            return f;
        }
    }
}

#[tokio::test]
async fn unassigned_conversations_reach_the_staff_who_may_see_them_live() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "admin@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let widget_key = created["widget_key"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "admin@acme.test", ADMIN_PASSWORD).await;
    let mut admin_ws = t.websocket(&admin).await;
    // Nobody is online, so conversations wait unassigned in the queue.
    let (_, mut supervisor) = console(&t, &tenant, &admin, "sup@acme.test", "supervisor").await;
    let (member_id, mut member) = console(&t, &tenant, &admin, "member@acme.test", "agent").await;
    let (_, mut outsider) = console(&t, &tenant, &admin, "outsider@acme.test", "agent").await;
    let g = t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [member_id]}), Some(&admin)).await;
    assert_eq!(g.status, StatusCode::CREATED, "{:?}", g.body);
    let group = g.body["id"].as_str().unwrap().to_owned();

    // Another visitor, in the default group, with its widget's socket open.
    let other = t.start_conversation(&widget_key, json!({})).await;
    assert_eq!(other.status, StatusCode::CREATED, "{:?}", other.body);
    let mut other_visitor = t.websocket(other.body["visitor_token"].as_str().unwrap()).await;

    let started = t.start_conversation(&widget_key, json!({"group_id": group})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let cv = started.body["conversation_id"].as_str().unwrap().to_owned();
    let visitor_token = started.body["visitor_token"].as_str().unwrap().to_owned();
    let visitor = t.websocket(&visitor_token).await;

    // The queue, live: the supervisor (view_all), the group's member and the admin see it arrive.
    for ws in [&mut supervisor, &mut member, &mut admin_ws] {
        let f = frame_about(ws, "conversation.queued", &cv).await;
        assert_eq!(f["data"]["group_id"], json!(group), "{f}");
    }
    let sent = t.visitor_send(&visitor_token, &format!("call me on {PHONE}")).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    for (ws, unmasked) in [(&mut supervisor, false), (&mut member, false), (&mut admin_ws, true)] {
        let f = frame_about(ws, "message.created", &cv).await;
        let content = f["message"]["content"].as_str().unwrap();
        assert_eq!(content.contains(PHONE), unmasked, "masked unless the reader has customers.view_sensitive: {f}");
    }

    // Exactly who a frame reaches, counted by the delivery itself: the visitor of the conversation and the
    // three who may see it; never the agent outside the group, nor the other conversation's visitor.
    let tid = TenantId::parse(&tenant).unwrap();
    let conversation_id = ConversationId::parse(&cv).unwrap();
    let data = ConversationQueued {
        conversation_id: conversation_id.clone(),
        group_id: GroupId::parse(&group),
        priority: Priority::Normal,
    };
    let queued = Envelope::new(&tid, t.app().now(), data);
    let report = realtime::deliver(t.app(), &queued).await.unwrap();
    assert_eq!((report.sent, report.closed, report.failed), (4, 0, 0), "{report:?}");
    let message = EventMessage {
        id: MessageId::from_static("ms_x"),
        conversation_id: conversation_id.clone(),
        author: Author::Visitor,
        author_id: None,
        content: "again".into(),
        internal: false,
        created_at: t.app().now(),
        recalled: false,
        attachments: Vec::new(),
    };
    let received = Envelope::new(
        &tid,
        t.app().now(),
        MessageReceived { conversation_id, message, counted: false, starts_wait: None },
    );
    let report = realtime::deliver(t.app(), &received).await.unwrap();
    assert_eq!(report.sent, 3, "the three staff who may see it, not the visitor itself: {report:?}");
    // Every frame the outsider and the other visitor got by now is about something else.
    for ws in [&mut outsider, &mut other_visitor] {
        while let Some(f) = ws.next_frame(Duration::from_millis(200)).await {
            assert_ne!(f["conversation_id"], json!(cv), "{f}");
        }
    }
    // Once assigned, the conversation's messages go to its assignee only.
    let r = t.post(&format!("/v1/conversations/{cv}/assign"), json!({"agent_id": member_id}), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let report = realtime::deliver(t.app(), &received).await.unwrap();
    assert_eq!(report.sent, 1, "the assignee alone: {report:?}");
    visitor.close().await;
}
