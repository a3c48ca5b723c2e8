//! Live chat as people expect it (issue 15): typing both ways (the draft only with `typing_preview`), read marks
//! moving forward only with `message.read` frames, recalls (author within 2 minutes, `conversations.delete`
//! any time, the original for `audit.view`), ratings with `rating.requested`, and a queued visitor's place.
//! Driven through `kefu serve` with real WebSockets.

use std::time::Duration;

use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, TenantId};
use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const QUIET: Duration = Duration::from_millis(800);

struct Chat {
    t: TestApp,
    tenant: TenantId,
    admin: AgentId,
    admin_token: String,
    widget_key: String,
}

async fn chat() -> Chat {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let admin = AgentId::parse(created["admin_id"].as_str().unwrap()).unwrap();
    let admin_token = t.login(tenant.as_str(), "li@acme.test", ADMIN_PASSWORD).await;
    let widget_key = created["widget_key"].as_str().unwrap().to_owned();
    Chat { t, tenant, admin, admin_token, widget_key }
}

impl Chat {
    async fn online(&self, agent: &AgentId) {
        kefu_app::assignment::set_agent_status(self.t.app(), &self.tenant, agent, AgentStatus::Online).await.unwrap();
    }

    /// A visitor's conversation: `(conversation id, visitor token)`.
    async fn visit(&self, name: &str) -> (String, String) {
        let s = self.t.start_conversation(&self.widget_key, json!({"visitor": {"name": name}})).await;
        assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
        (s.body["conversation_id"].as_str().unwrap().to_owned(), s.body["visitor_token"].as_str().unwrap().to_owned())
    }

    async fn staff(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> kefu_e2e::Reply {
        self.t.call(method, path, body, Some(token), &[]).await
    }
}

#[tokio::test]
async fn typing_reaches_the_other_side_and_the_draft_only_with_typing_preview() {
    let c = chat().await;
    c.online(&c.admin).await;
    let mut agent = c.t.websocket(&c.admin_token).await;
    let (conv, visitor_token) = c.visit("Wang").await;
    let mut visitor = c.t.websocket(&visitor_token).await;
    agent.frame_of_type("conversation.assigned", WAIT).await.expect("assigned");

    let r = c
        .t
        .post("/v1/widget/typing", json!({"typing": true, "draft": "my phone is 13812345678"}), Some(&visitor_token))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let f = agent.frame_of_type("typing", WAIT).await.expect("the agent sees the visitor typing");
    assert_eq!(
        (f["conversation_id"].as_str(), &f["data"]["who"], &f["data"]["typing"]),
        (Some(conv.as_str()), &json!("visitor"), &json!(true))
    );
    assert!(f["data"].get("draft").is_none(), "no draft without typing_preview: {f}");

    let on = c.staff(Method::PUT, "/v1/settings/widget", Some(json!({"typing_preview": true})), &c.admin_token).await;
    assert_eq!(on.status, StatusCode::OK, "{:?}", on.body);
    c.t.post("/v1/widget/typing", json!({"typing": true, "draft": "my phone is 13812345678"}), Some(&visitor_token))
        .await;
    let f = agent.frame_of_type("typing", WAIT).await.expect("typing again");
    let draft = f["data"]["draft"].as_str().expect("the draft with typing_preview");
    assert!(draft.starts_with("my phone is") && !draft.contains("13812345678"), "masked like message text: {draft}");

    let r = c
        .staff(Method::POST, &format!("/v1/conversations/{conv}/typing"), Some(json!({"typing": true})), &c.admin_token)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let f = visitor.frame_of_type("typing", WAIT).await.expect("the visitor sees the agent typing");
    assert_eq!((&f["data"]["who"], &f["data"]["typing"]), (&json!("agent"), &json!(true)));

    // Bad input changes nothing and is a 400, never a 5xx.
    let bad = c.t.post("/v1/widget/typing", json!({"typing": "yes"}), Some(&visitor_token)).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    // The draft is never stored: nothing in the conversation or its messages carries it.
    let detail = c.staff(Method::GET, &format!("/v1/conversations/{conv}"), None, &c.admin_token).await;
    assert!(!detail.body.to_string().contains("my phone"), "{:?}", detail.body);
}

#[tokio::test]
async fn read_marks_move_forward_only_and_each_side_hears_the_other() {
    let c = chat().await;
    c.online(&c.admin).await;
    let mut agent = c.t.websocket(&c.admin_token).await;
    let (conv, visitor_token) = c.visit("Wang").await;
    let mut visitor = c.t.websocket(&visitor_token).await;
    let first = c.t.visitor_send(&visitor_token, "hello").await.body["id"].as_str().unwrap().to_owned();
    let second = c.t.visitor_send(&visitor_token, "anyone?").await.body["id"].as_str().unwrap().to_owned();

    let read = |up_to: &str| json!({"up_to": up_to});
    let r = c.staff(Method::POST, &format!("/v1/conversations/{conv}/read"), Some(read(&second)), &c.admin_token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let f = visitor.frame_of_type("message.read", WAIT).await.expect("the visitor hears its messages were read");
    assert_eq!((&f["data"]["reader"], &f["data"]["up_to"]), (&json!("agent"), &json!(second)));
    // Back is no move: nothing changes, nobody is told.
    let back =
        c.staff(Method::POST, &format!("/v1/conversations/{conv}/read"), Some(read(&first)), &c.admin_token).await;
    assert_eq!(back.status, StatusCode::NO_CONTENT);
    assert!(visitor.frame_of_type("message.read", QUIET).await.is_none());
    let w = c.t.get("/v1/widget/conversation", Some(&visitor_token)).await;
    assert_eq!(
        (w.body["agent_read_up_to"].as_str(), w.body["status"].as_str()),
        (Some(second.as_str()), Some("open")),
        "{:?}",
        w.body
    );
    assert!(w.body["assignee"]["name"].is_string(), "{:?}", w.body);

    let reply = c
        .staff(
            Method::POST,
            &format!("/v1/conversations/{conv}/messages"),
            Some(json!({"content": "Hi!"})),
            &c.admin_token,
        )
        .await;
    let reply_id = reply.body["id"].as_str().unwrap().to_owned();
    let r = c.t.post("/v1/widget/read", read(&reply_id), Some(&visitor_token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let f = agent.frame_of_type("message.read", WAIT).await.expect("the agent hears the visitor read the reply");
    assert_eq!((&f["data"]["reader"], &f["data"]["up_to"]), (&json!("visitor"), &json!(reply_id)));
    let detail = c.staff(Method::GET, &format!("/v1/conversations/{conv}"), None, &c.admin_token).await;
    assert_eq!(
        (detail.body["visitor_read_up_to"].as_str(), detail.body["agent_read_up_to"].as_str()),
        (Some(reply_id.as_str()), Some(second.as_str()))
    );
    // The inbox counts the visitor's messages no agent has read: none now; one after a new message.
    let unread = |list: Value| {
        list["items"].as_array().unwrap().iter().find(|x| x["id"] == conv.as_str()).unwrap()["unread"].clone()
    };
    let list = c.staff(Method::GET, "/v1/conversations", None, &c.admin_token).await;
    assert_eq!(unread(list.body), 0);
    let third = c.t.visitor_send(&visitor_token, "still there?").await.body["id"].as_str().unwrap().to_owned();
    let list = c.staff(Method::GET, "/v1/conversations", None, &c.admin_token).await;
    assert_eq!(unread(list.body), 1);
    c.staff(Method::POST, &format!("/v1/conversations/{conv}/read"), Some(read(&third)), &c.admin_token).await;
    let list = c.staff(Method::GET, "/v1/conversations", None, &c.admin_token).await;
    assert_eq!(unread(list.body), 0);
    // A message of no conversation of the visitor's is a 400 naming the field.
    let other = c.t.post("/v1/widget/read", read("ms_01jd2q8m6xg3r8w6b4s1e2c9va"), Some(&visitor_token)).await;
    assert_eq!((other.status, other.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
}

#[tokio::test]
async fn a_recalled_message_disappears_for_the_visitor_but_not_for_the_supervisor() {
    let c = chat().await;
    c.online(&c.admin).await;
    let (conv, visitor_token) = c.visit("Wang").await;
    let mut visitor = c.t.websocket(&visitor_token).await;
    c.t.add_staff(c.tenant.as_str(), "zhao@acme.test", "agent", "a long enough agent password").await;
    let agent = c.t.login(c.tenant.as_str(), "zhao@acme.test", "a long enough agent password").await;

    let path = format!("/v1/conversations/{conv}/messages");
    let reply = c.staff(Method::POST, &path, Some(json!({"content": "wrong price: 99"})), &c.admin_token).await;
    let id = reply.body["id"].as_str().unwrap().to_owned();
    // Someone else without conversations.delete may not recall it (the agent does not even see it: 404).
    let other = c.staff(Method::DELETE, &format!("{path}/{id}"), None, &agent).await;
    assert!(matches!(other.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{:?}", other.body);

    let r = c.staff(Method::DELETE, &format!("{path}/{id}"), None, &c.admin_token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let f = visitor.frame_of_type("message.recalled", WAIT).await.expect("the visitor is told");
    assert_eq!(f["data"]["message_id"], id.as_str());
    let seen = c.t.visitor_poll(&visitor_token, None).await;
    let m = seen.body["items"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap().clone();
    assert_eq!((&m["recalled"], &m["content"]), (&json!(true), &json!("")), "withdrawn for the visitor");
    let staff_view = c.staff(Method::GET, &path, None, &c.admin_token).await;
    let m = staff_view.body["items"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap().clone();
    assert_eq!(m["content"], "", "withdrawn in the console too");
    let original = c.staff(Method::GET, &format!("{path}?include_recalled=true"), None, &c.admin_token).await;
    let m = original.body["items"].as_array().unwrap().iter().find(|m| m["id"] == id.as_str()).unwrap().clone();
    assert_eq!((&m["recalled"], &m["content"]), (&json!(true), &json!("wrong price: 99")), "audit.view reads it");
    let denied = c.staff(Method::GET, &format!("{path}?include_recalled=true"), None, &agent).await;
    assert!(matches!(denied.status, StatusCode::FORBIDDEN | StatusCode::NOT_FOUND), "{:?}", denied.body);
    let audit = c.t.audit_entries(c.tenant.as_str()).await;
    assert_eq!(audit.iter().filter(|e| e["action"] == "message.recall").count(), 1);
    // Again: nothing more happens.
    assert_eq!(
        c.staff(Method::DELETE, &format!("{path}/{id}"), None, &c.admin_token).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        c.t.audit_entries(c.tenant.as_str()).await.iter().filter(|e| e["action"] == "message.recall").count(),
        1
    );
}

#[tokio::test]
async fn a_rule_asks_for_a_rating_when_a_conversation_closes() {
    let c = chat().await;
    c.online(&c.admin).await;
    let rule =
        json!({"name": "CSAT on close", "event": "conversation.closed", "actions": [{"type": "request_rating"}]});
    let r = c.staff(Method::POST, "/v1/rules", Some(rule), &c.admin_token).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let (conv, visitor_token) = c.visit("Wang").await;
    let mut visitor = c.t.websocket(&visitor_token).await;
    let r = c.staff(Method::POST, &format!("/v1/conversations/{conv}/close"), Some(json!({})), &c.admin_token).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let f = visitor.frame_of_type("rating.requested", WAIT).await.expect("the rule asks the visitor for a rating");
    assert_eq!(f["conversation_id"], conv.as_str());
    let ran = eventually(WAIT, || async {
        let d = c.staff(Method::GET, &format!("/v1/conversations/{conv}"), None, &c.admin_token).await.body;
        d["automation"].as_array().is_some_and(|runs| {
            runs.iter().any(|run| run["rules"][0]["actions"] == json!([{"type": "request_rating", "result": "done"}]))
        })
    })
    .await;
    assert!(ran, "the run is recorded on the conversation");
}

#[tokio::test]
async fn a_requested_rating_is_stored_replaced_and_shown() {
    let c = chat().await;
    c.online(&c.admin).await;
    let mut agent = c.t.websocket(&c.admin_token).await;
    let (conv, visitor_token) = c.visit("Wang").await;
    let mut visitor = c.t.websocket(&visitor_token).await;
    let r = c.staff(Method::POST, &format!("/v1/conversations/{conv}/rating_request"), None, &c.admin_token).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    visitor.frame_of_type("rating.requested", WAIT).await.expect("the widget asks for a rating");

    for bad in [json!({"score": 4}), json!({"score": 0}), json!({"score": "3"})] {
        let r = c.t.post("/v1/widget/rating", bad, Some(&visitor_token)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    }
    assert_eq!(
        c.t.post("/v1/widget/rating", json!({"score": 1}), Some(&visitor_token)).await.status,
        StatusCode::NO_CONTENT
    );
    let f = agent.frame_of_type("notification", WAIT).await.expect("the agent hears of the rating");
    assert_eq!((&f["data"]["kind"], &f["data"]["priority"]), (&json!("conversation.rated"), &json!("urgent")));
    let r = c.t.post("/v1/widget/rating", json!({"score": 3, "comment": "谢谢!"}), Some(&visitor_token)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let detail = c.staff(Method::GET, &format!("/v1/conversations/{conv}"), None, &c.admin_token).await;
    assert_eq!((&detail.body["rating"]["score"], &detail.body["rating"]["comment"]), (&json!(3), &json!("谢谢!")));
}

#[tokio::test]
async fn a_queued_visitor_sees_its_place_fall_as_agents_free_up() {
    let c = chat().await;
    let one = c
        .staff(Method::PATCH, &format!("/v1/agents/{}", c.admin), Some(json!({"max_concurrent": 1})), &c.admin_token)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{:?}", one.body);
    // Nobody online: everyone queues.
    let (first, first_token) = c.visit("First").await;
    let mut first_ws = c.t.websocket(&first_token).await;
    let (_, second_token) = c.visit("Second").await;
    let mut second = c.t.websocket(&second_token).await;
    // Routing queues it through the assign consumer, just after the start answers (until then it is pending,
    // shown as queued, with no place yet).
    let deadline = tokio::time::Instant::now() + WAIT;
    let w = loop {
        let w = c.t.get("/v1/widget/conversation", Some(&second_token)).await;
        if !w.body["queue_position"].is_null() || tokio::time::Instant::now() > deadline {
            break w;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        (w.body["status"].as_str(), w.body["queue_position"].as_u64()),
        (Some("queued"), Some(2)),
        "{:?}",
        w.body
    );

    // The agent comes online and takes the first; the second is now first in line.
    c.online(&c.admin).await;
    // Its own queuing may still be announced (place 2) before the move to place 1.
    let mut moved = None;
    while let Some(f) = second.frame_of_type("queue.position", WAIT).await {
        if f["data"]["position"] == 1 {
            moved = Some(f);
            break;
        }
        assert_eq!(f["data"]["position"], 2, "{f}");
    }
    assert!(moved.is_some(), "the queued visitor hears its place fall to 1");
    // The first visitor heard its place while it waited; then that it is out of the queue.
    let mut out = None;
    while let Some(f) = first_ws.frame_of_type("queue.position", WAIT).await {
        if f["data"]["position"].is_null() {
            out = Some(f);
            break;
        }
    }
    assert!(out.is_some(), "the one taken hears it is out of the queue");
    let w = c.t.get("/v1/widget/conversation", Some(&second_token)).await;
    assert_eq!(w.body["queue_position"], 1, "{:?}", w.body);
    let detail = c.staff(Method::GET, &format!("/v1/conversations/{first}"), None, &c.admin_token).await;
    assert_eq!(detail.body["status"], "open");
}

#[tokio::test]
async fn a_transcript_without_notes_arrives_by_email_and_is_rate_limited() {
    let c = chat().await;
    c.online(&c.admin).await;
    let (conv, visitor_token) = c.visit("Wang").await;
    c.t.visitor_send(&visitor_token, "Where is order 77?").await;
    let path = format!("/v1/conversations/{conv}/messages");
    c.staff(Method::POST, &path, Some(json!({"content": "It left the warehouse today."})), &c.admin_token).await;
    c.staff(Method::POST, &path, Some(json!({"content": "VIP customer (internal)", "internal": true})), &c.admin_token)
        .await;

    let bad = c.t.post("/v1/widget/transcript", json!({"email": "not an email"}), Some(&visitor_token)).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
    let r = c.t.post("/v1/widget/transcript", json!({"email": "wang@example.com"}), Some(&visitor_token)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let sent = kefu_e2e::eventually(WAIT, || async {
        c.t.mail()
            .iter()
            .any(|m| m["to"] == "wang@example.com" && m["body"].as_str().is_some_and(|b| b.contains("warehouse")))
    })
    .await;
    assert!(sent, "the transcript arrives in the outbox: {:?}", c.t.mail());
    let mail = c.t.mail().into_iter().find(|m| m["to"] == "wang@example.com").unwrap();
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("Where is order 77?") && !body.contains("VIP customer"), "no internal notes: {body}");
    for _ in 0..2 {
        c.t.post("/v1/widget/transcript", json!({"email": "wang@example.com"}), Some(&visitor_token)).await;
    }
    let limited = c.t.post("/v1/widget/transcript", json!({"email": "wang@example.com"}), Some(&visitor_token)).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS, "{:?}", limited.body);
}

/// Issue 14: a visitor's message is pushed to the assignee's socket right after intake's commit, and the
/// `notify` consumer delivers the same frame again (the at-least-once fallback, through the outbox and the
/// topic): the agent sees the message's id twice and keeps one copy (clients drop a frame whose id they have).
#[tokio::test]
async fn a_visitor_message_is_pushed_once_at_intake_and_by_notify_only_when_intake_did_not_publish_it() {
    let c = chat().await;
    c.online(&c.admin).await;
    let mut agent = c.t.websocket(&c.admin_token).await;
    agent.keep_repeats();
    let (conv, visitor_token) = c.visit("Zhao").await;
    agent.frame_of_type("conversation.assigned", WAIT).await.expect("assigned");

    // Intake pushes the frame, then publishes the event marked `pushed` (and `notify=done`): `notify` pushes
    // nothing again.
    let sent = c.t.visitor_send(&visitor_token, "is anyone there?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let id = sent.body["id"].as_str().unwrap().to_owned();
    let f = agent.frame_of_type("message.created", WAIT).await.expect("the message's frame");
    assert_eq!(f["conversation_id"].as_str(), Some(conv.as_str()));
    assert_eq!(
        (f["message"]["id"].as_str(), &f["message"]["content"]),
        (Some(id.as_str()), &json!("is anyone there?"))
    );
    // A retry under the same Idempotency-Key stores nothing and pushes nothing new.
    let key = [("idempotency-key", "same-send")];
    let body = Some(json!({"content": "once"}));
    let first = c.t.call(Method::POST, "/v1/widget/messages", body.clone(), Some(&visitor_token), &key).await;
    let again = c.t.call(Method::POST, "/v1/widget/messages", body, Some(&visitor_token), &key).await;
    assert_eq!(first.body["id"], again.body["id"]);
    let f = agent.frame_of_type("message.created", WAIT).await.expect("the stored send's frame");
    assert_eq!(f["message"]["id"], first.body["id"]);
    // Both were counted by their transactions, and published with `notify=done`: the notify queue never
    // receives them (`Envelope::attributes`). The automation consumer hears the first (it began the visitor's
    // wait: its timers), not the second (`automation=done`: no wait begun, no message rule); still no copy.
    let counted = eventually(WAIT, || async {
        c.t.get("/v1/stats", Some(&c.admin_token)).await.body["messages"].as_u64().unwrap_or(0) >= 2
    })
    .await;
    assert!(counted, "both messages counted");
    assert!(
        agent.frame_of_type("message.created", QUIET).await.is_none(),
        "one push at intake per stored send, none from notify, none for the replay"
    );

    // Intake stops after the commit, before it pushes or publishes: the sweeper publishes the stored copy,
    // unmarked, and the notify consumer pushes the frame (at least once).
    let visitor = kefu_app::conversations::widget::authenticate_visitor(c.t.app(), &visitor_token).await.unwrap();
    let stored = kefu_app::conversations::widget::send_stored(
        c.t.app(),
        &visitor,
        None,
        br#"{"content": "after a crash"}"#,
        None,
    )
    .await
    .unwrap();
    let event = stored.event.expect("stored, not yet published");
    assert!(!event.pushed);
    assert!(agent.frame_of_type("message.created", QUIET).await.is_none(), "nothing pushed or published yet");
    let swept = kefu_app::plumbing::outbox::sweep(c.t.app(), Duration::ZERO).await.unwrap();
    assert!(swept.published >= 1, "{swept:?}");
    let f = agent.frame_of_type("message.created", WAIT).await.expect("the fallback's frame");
    assert_eq!(f["message"]["id"].as_str(), Some(stored.sent.id.as_str()));
}
