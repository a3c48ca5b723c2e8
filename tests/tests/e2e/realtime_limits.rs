//! WebSocket limits and their tie to the session (issue 8, item 4): socket caps per subscriber and in total,
//! ticket rate limits per token and per IP, no ticket for a restricted session, sockets closed when their
//! session stops working, masking decided when a frame is rendered, and ticket issue audited.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use kefu_app::plumbing::events::{ConversationAssigned, Envelope};
use kefu_app::realtime;
use kefu_domain::{AgentId, ConversationId, TenantId};
use kefu_e2e::{ADMIN_PASSWORD, TestApp, embedded_config, eventually, spawn_app, spawn_with, ws_connect};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
const STAFF_PASSWORD: &str = "a long enough staff password";

struct Tenant {
    id: TenantId,
    admin: AgentId,
    admin_token: String,
    widget_key: String,
}

async fn tenant(t: &TestApp, email: &str) -> Tenant {
    let created = t.create_tenant("Acme", email).await;
    let id = TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let admin_token = t.login(id.as_str(), email, ADMIN_PASSWORD).await;
    Tenant {
        admin: AgentId::parse(created["admin_id"].as_str().unwrap()).unwrap(),
        admin_token,
        widget_key: created["widget_key"].as_str().unwrap().to_owned(),
        id,
    }
}

/// A staff account of `role` signed in: (id, token).
async fn staff(t: &TestApp, a: &Tenant, email: &str, role: &str) -> (AgentId, String) {
    let id = t.add_staff(a.id.as_str(), email, role, STAFF_PASSWORD).await;
    (AgentId::parse(&id).unwrap(), t.login(a.id.as_str(), email, STAFF_PASSWORD).await)
}

async fn ticket_reply(t: &TestApp, token: &str) -> kefu_e2e::Reply {
    t.post("/v1/realtime/ticket", json!({}), Some(token)).await
}

async fn visitor(t: &TestApp, a: &Tenant) -> String {
    let r = t.start_conversation(&a.widget_key, json!({})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["visitor_token"].as_str().unwrap().to_owned()
}

/// Publishes an event as a service would (outbox, then topic), so the `notify` poller delivers it.
async fn publish(t: &TestApp, tenant: &TenantId, event: ConversationAssigned) {
    let e = Envelope::new(tenant, t.app().now(), event);
    kefu_app::plumbing::outbox::commit(t.app(), Vec::new(), vec![e]).await.unwrap();
}

/// Publishes that a (new) conversation was assigned to `agent`.
async fn assigned_to(t: &TestApp, tenant: &TenantId, agent: &AgentId) {
    let event = ConversationAssigned {
        conversation_id: ConversationId::generate(),
        agent_id: agent.clone(),
        previous_agent_id: None,
        by: None,
    };
    publish(t, tenant, event).await;
}

async fn sockets_of(t: &TestApp, tenant: &TenantId, agent: &AgentId) -> usize {
    realtime::agent_connections(t.app(), tenant, agent).await.unwrap().len()
}

#[tokio::test]
async fn a_visitor_holds_a_few_sockets_and_the_handshake_keeps_the_cap() {
    let mut t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let token = visitor(&t, &a).await;
    let mut open = Vec::new();
    for _ in 0..realtime::MAX_VISITOR_SOCKETS - 1 {
        open.push(t.websocket(&token).await);
    }
    // Two tickets while one place is left: the first opens, the second handshake is refused.
    let (first, url) = t.ticket(&token).await;
    let (second, _) = t.ticket(&token).await;
    open.push(ws_connect(&url, &first).await.expect("the last place"));
    assert_eq!(ws_connect(&url, &second).await.err(), Some(429), "the cap holds at the handshake");
    let r = ticket_reply(&t, &token).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "no ticket past the cap");
    assert!(r.headers.contains_key("retry-after"));

    // Closing one frees a place.
    open.pop().unwrap().close().await;
    let freed = eventually(WAIT, || async { ticket_reply(&t, &token).await.status == StatusCode::OK }).await;
    assert!(freed, "a closed socket frees its place");
    for ws in open {
        ws.close().await;
    }
    t.stop().await;
}

#[tokio::test]
async fn an_agent_holds_a_handful_of_sockets_and_the_server_a_total() {
    let dir = tempfile::tempdir().unwrap();
    let mut t = spawn_with(kefu_local::ServeConfig {
        max_websockets: realtime::MAX_AGENT_SOCKETS + 1,
        ..embedded_config(dir.path())
    })
    .await;
    let a = tenant(&t, "li@acme.test").await;
    let mut open = Vec::new();
    for _ in 0..realtime::MAX_AGENT_SOCKETS {
        open.push(t.websocket(&a.admin_token).await);
    }
    let r = ticket_reply(&t, &a.admin_token).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));

    // One more socket of someone else fills the server; past its total, a handshake answers 503.
    let visitor_token = visitor(&t, &a).await;
    open.push(t.websocket(&visitor_token).await);
    let (ticket, url) = t.ticket(&visitor_token).await;
    assert_eq!(ws_connect(&url, &ticket).await.err(), Some(503), "the server's total cap");
    assert_eq!(t.get("/v1/health", None).await.status, StatusCode::OK, "HTTP goes on at the socket cap");
    for ws in open {
        ws.close().await;
    }
    t.stop().await;
}

#[tokio::test]
async fn tickets_are_rate_limited_per_token_and_per_ip() {
    let mut t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let (_, token) = staff(&t, &a, "wang@acme.test", "agent").await;
    // Up to twice the limit's worth, as a minute's window may end in the middle.
    let mut first_refusal = None;
    for n in 0..2 * realtime::TICKETS_PER_TOKEN_PER_MINUTE + 1 {
        let r = ticket_reply(&t, &token).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            assert_eq!(r.code(), "rate_limited");
            first_refusal = Some(n);
            break;
        }
        assert_eq!(r.status, StatusCode::OK);
    }
    assert!(first_refusal.is_some_and(|n| n >= realtime::TICKETS_PER_TOKEN_PER_MINUTE), "per token: {first_refusal:?}");
    assert_eq!(ticket_reply(&t, &a.admin_token).await.status, StatusCode::OK, "another token is not limited by it");

    // From one IP, all tokens together: visitors' tokens, each under its own limit, run into the IP's. (Twice
    // the limit's worth, as a minute's window may end in the middle.)
    let mut refused = false;
    'outer: for _ in 0..(2 * realtime::TICKETS_PER_IP_PER_MINUTE / (realtime::TICKETS_PER_TOKEN_PER_MINUTE - 1) + 2) {
        let v = visitor(&t, &a).await;
        for _ in 0..realtime::TICKETS_PER_TOKEN_PER_MINUTE - 1 {
            let r = ticket_reply(&t, &v).await;
            if r.status == StatusCode::TOO_MANY_REQUESTS {
                refused = true;
                break 'outer;
            }
            assert_eq!(r.status, StatusCode::OK);
        }
    }
    assert!(refused, "one IP's tickets are limited");
    let elsewhere = reqwest::Client::builder().local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))).build().unwrap();
    let r = elsewhere
        .post(format!("{}/v1/realtime/ticket", t.base))
        .bearer_auth(&a.admin_token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "another IP is not limited by it");
    t.stop().await;
}

#[tokio::test]
async fn a_restricted_session_gets_no_ticket_and_tickets_are_audited() {
    let mut t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    assert_eq!(ticket_reply(&t, &a.admin_token).await.status, StatusCode::OK);
    let v = visitor(&t, &a).await;
    assert_eq!(ticket_reply(&t, &v).await.status, StatusCode::OK);
    let entries = t.audit_entries(a.id.as_str()).await;
    let tickets: Vec<&Value> = entries.iter().filter(|e| e["action"] == "realtime.ticket").collect();
    assert_eq!(tickets.len(), 2, "{entries:?}");
    assert_eq!(tickets[0]["actor_id"], json!(a.admin));
    assert_eq!(tickets[0]["target_type"], "session");
    assert_eq!(tickets[1]["target_type"], "conversation");

    let r = t
        .call(Method::PUT, "/v1/settings/security", Some(json!({"mfa_required": true})), Some(&a.admin_token), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = ticket_reply(&t, &a.admin_token).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "mfa_enrollment_required"));
    t.stop().await;
}

#[tokio::test]
async fn a_socket_closes_when_its_session_stops_working() {
    let mut t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let mut accounts = Vec::new();
    for who in ["logout", "revoke", "password", "disable"] {
        let (id, token) = staff(&t, &a, &format!("{who}@acme.test"), "agent").await;
        let ws = t.websocket(&token).await;
        accounts.push((who, id, token, ws));
    }
    for (who, id, token, _) in &accounts {
        let r = match *who {
            "logout" => t.post("/v1/auth/logout", json!({}), Some(token)).await,
            "revoke" => {
                let path = format!("/v1/agents/{id}/sessions");
                t.call(Method::DELETE, &path, None, Some(&a.admin_token), &[]).await
            }
            "password" => {
                // From another session of the same account: that one goes on, the socket's ends.
                let other = t.login(a.id.as_str(), &format!("{who}@acme.test"), STAFF_PASSWORD).await;
                let body = json!({"current_password": STAFF_PASSWORD, "new_password": "another long enough password"});
                t.post("/v1/me/password", body, Some(&other)).await
            }
            _ => t.post(&format!("/v1/agents/{id}/disable"), json!({}), Some(&a.admin_token)).await,
        };
        assert!(r.status.is_success(), "{who}: {:?}", r.body);
    }
    for (who, id, _, ws) in &mut accounts {
        assigned_to(&t, &a.id, id).await;
        assert_eq!(ws.next_frame(WAIT).await, None, "{who}: no frame after the session ended");
        let gone = eventually(WAIT, || async { sockets_of(&t, &a.id, id).await == 0 }).await;
        assert!(gone, "{who}: the socket is closed and forgotten");
    }

    // A client's ping re-checks too, with nothing pushed.
    let (id, token) = staff(&t, &a, "ping@acme.test", "agent").await;
    let mut ws = t.websocket(&token).await;
    ws.send_text(r#"{"action":"ping"}"#).await;
    assert_eq!(ws.next_frame(WAIT).await, Some(json!({"type": "pong"})));
    assert_eq!(t.post("/v1/auth/logout", json!({}), Some(&token)).await.status, StatusCode::NO_CONTENT);
    ws.send_text(r#"{"action":"ping"}"#).await;
    assert_eq!(ws.next_frame(WAIT).await, None, "no pong for an ended session: closed");
    assert!(eventually(WAIT, || async { sockets_of(&t, &a.id, &id).await == 0 }).await);

    // A live session's socket still gets its frames.
    let mut live = t.websocket(&a.admin_token).await;
    assigned_to(&t, &a.id, &a.admin).await;
    assert!(live.frame_of_type("conversation.assigned", WAIT).await.is_some());
    live.close().await;
    t.stop().await;
}

#[tokio::test]
async fn masking_follows_the_readers_permissions_when_the_frame_is_rendered() {
    let mut t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let perms = ["conversations.view_group", "conversations.reply", "customers.view", "customers.view_sensitive"];
    let r = t.post("/v1/roles", json!({"name": "Senior", "permissions": perms}), Some(&a.admin_token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let role = r.body["id"].as_str().unwrap().to_owned();
    let (agent, token) = staff(&t, &a, "wang@acme.test", &role).await;
    kefu_app::assignment::set_agent_status(t.app(), &a.id, &agent, kefu_domain::routing::AgentStatus::Online)
        .await
        .unwrap();
    let mut ws = t.websocket(&token).await;
    let v = visitor(&t, &a).await;
    let assigned = ws.frame_of_type("conversation.assigned", WAIT).await.expect("the conversation is the agent's");
    assert_eq!(assigned["data"]["agent_id"], json!(agent));

    assert_eq!(t.visitor_send(&v, "call me on 13812345678").await.status, StatusCode::CREATED);
    let f = ws.frame_of_type("message.created", WAIT).await.expect("the message reaches the agent");
    assert_eq!(f["message"]["content"], "call me on 13812345678", "the role may see it");

    // The role loses the permission while the socket stays open: the next frame is masked.
    let without = &perms[..3];
    let path = format!("/v1/roles/{role}");
    let r =
        t.call(Method::PUT, &path, Some(json!({"name": "Senior", "permissions": without})), Some(&a.admin_token), &[]);
    assert_eq!(r.await.status, StatusCode::OK);
    assert_eq!(t.visitor_send(&v, "or on 13987654321").await.status, StatusCode::CREATED);
    let f = ws.frame_of_type("message.created", WAIT).await.expect("the message reaches the agent");
    let content = f["message"]["content"].as_str().unwrap();
    assert!(!content.contains("13987654321"), "masked by the role as it is now: {content}");
    ws.close().await;
    t.stop().await;
}
