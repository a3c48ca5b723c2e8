//! Real time end to end: one-time tickets, WebSockets in `kefu serve`, frames from the `notify` consumer,
//! connection records and the presence grace period.

use std::time::Duration;

use jiff::SignedDuration;
use kefu_app::plumbing::events::{ConversationAssigned, Envelope, Event};
use kefu_app::realtime::{self, Subscriber, TicketError, presence};
use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, ConversationId, TenantId};
use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, manual_clock_app, spawn_app, ws_connect};
use reqwest::StatusCode;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(5);

/// A tenant with its admin signed in: (tenant, admin, token).
async fn tenant_with_admin(t: &TestApp, email: &str) -> (TenantId, AgentId, String) {
    let created = t.create_tenant("Acme", email).await;
    let tenant = TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let admin = AgentId::parse(created["admin_id"].as_str().unwrap()).unwrap();
    let token = t.login(tenant.as_str(), email, ADMIN_PASSWORD).await;
    (tenant, admin, token)
}

/// A staff subscriber of a session (by its key), asked for from loopback.
fn staff(tenant_id: TenantId, agent_id: AgentId, session_hash: &str) -> Subscriber {
    Subscriber::Agent { tenant_id, agent_id, session_hash: session_hash.into(), ip: [127, 0, 0, 1].into() }
}

/// A tenant created straight on `app`, with its admin signed in: (tenant, admin, session token).
async fn signed_in(app: &kefu_app::App, email: &str) -> (TenantId, AgentId, String) {
    use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
    let admin = NewAdmin { email: email.into(), name: "Li".into(), password: ADMIN_PASSWORD.into() };
    let created = create_tenant(app, NewTenant { name: "Acme".into(), admin, timezone: None }).await.unwrap();
    let tenant = TenantId::parse(&created.tenant_id).unwrap();
    let attempt = kefu_app::identity::auth::LoginAttempt {
        tenant: &tenant,
        email,
        password: ADMIN_PASSWORD,
        ip: [127, 0, 0, 1].into(),
        user_agent: None,
    };
    let kefu_app::identity::auth::LoginAnswer::Session(ok) =
        kefu_app::identity::auth::login(app, attempt).await.unwrap()
    else {
        panic!("no MFA on a new tenant")
    };
    (tenant, AgentId::parse(&created.admin_id).unwrap(), ok.token)
}

/// Publishes an event as a service would (outbox, then topic), so the `notify` poller handles it.
async fn publish(t: &TestApp, tenant: &TenantId, event: impl Into<Event>) {
    let e = Envelope::new(tenant, t.app().now(), event);
    kefu_app::plumbing::outbox::commit(t.app(), Vec::new(), vec![e]).await.unwrap();
}

#[tokio::test]
async fn a_ticket_opens_one_websocket_once() {
    let t = spawn_app().await;
    let (_, _, token) = tenant_with_admin(&t, "li@acme.test").await;

    let r = t.post("/v1/realtime/ticket", json!({}), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let r = t.post("/v1/realtime/ticket", json!({}), Some("kfs_forged")).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);

    let (ticket, url) = t.ticket(&token).await;
    assert!(url.starts_with("ws://127.0.0.1:") && url.ends_with("/v1/realtime/ws"), "{url}");
    let ws = ws_connect(&url, &ticket).await.expect("the ticket opens a websocket");
    assert_eq!(ws_connect(&url, &ticket).await.err(), Some(401), "a ticket works once");
    assert_eq!(ws_connect(&url, "kft_unknown").await.err(), Some(401));
    assert_eq!(ws_connect(&url, "").await.err(), Some(401));
    let plain = t.get("/v1/realtime/ws", None).await;
    assert_eq!(plain.status, StatusCode::BAD_REQUEST, "a plain GET is not an upgrade");
    ws.close().await;
}

#[tokio::test]
async fn a_ticket_expires_after_sixty_seconds() {
    let (app, clock, _dir) = manual_clock_app();
    let who = staff(TenantId::generate(), AgentId::generate(), "a session's hash");
    let fresh = realtime::issue_ticket(
        &app,
        &who,
        "ws://x".into(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    let stale = realtime::issue_ticket(
        &app,
        &who,
        "ws://x".into(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    clock.advance(SignedDuration::from_secs(59));
    assert_eq!(realtime::redeem_ticket(&app, &fresh.ticket).await.unwrap(), who);
    assert!(matches!(realtime::redeem_ticket(&app, &fresh.ticket).await, Err(TicketError::Invalid)));
    clock.advance(SignedDuration::from_secs(1));
    assert!(matches!(realtime::redeem_ticket(&app, &stale.ticket).await, Err(TicketError::Invalid)), "expired at 60 s");
}

#[tokio::test]
async fn frames_reach_every_connection_of_the_agent_and_closed_ones_are_forgotten() {
    let t = spawn_app().await;
    let (tenant, admin, token) = tenant_with_admin(&t, "li@acme.test").await;
    let mut tab1 = t.websocket(&token).await;
    let mut tab2 = t.websocket(&token).await;
    assert_eq!(realtime::agent_connections(t.app(), &tenant, &admin).await.unwrap().len(), 2);

    let assigned = |c: &ConversationId| ConversationAssigned {
        conversation_id: c.clone(),
        agent_id: admin.clone(),
        previous_agent_id: None,
        by: None,
    };
    let (cv_1, cv_2) = (ConversationId::generate(), ConversationId::generate());
    publish(&t, &tenant, assigned(&cv_1)).await;
    for tab in [&mut tab1, &mut tab2] {
        let f = tab.frame_of_type("conversation.assigned", WAIT).await.expect("assignment frame");
        assert_eq!(f["conversation_id"], cv_1.as_str());
        assert_eq!(f["data"]["agent_id"], json!(admin));
    }

    tab1.send_text(r#"{"action":"ping"}"#).await;
    assert_eq!(tab1.next_frame(WAIT).await, Some(json!({"type": "pong"})));

    tab2.close().await;
    let one_left =
        eventually(WAIT, || async { realtime::agent_connections(t.app(), &tenant, &admin).await.unwrap().len() == 1 })
            .await;
    assert!(one_left, "the closed connection's record is removed");
    assert!(!presence::is_pending(t.app(), &tenant, &admin).await.unwrap(), "another connection is still open");

    // A connection whose record outlived it (a crash) answers Gone on the next push and is forgotten.
    let ghost = staff(tenant.clone(), admin.clone(), &kefu_app::identity::secrets::token_hash(&token));
    realtime::connect(t.app(), "ws_ghost", &ghost).await.unwrap();
    publish(&t, &tenant, assigned(&cv_2)).await;
    assert_eq!(tab1.frame_of_type("conversation.assigned", WAIT).await.unwrap()["conversation_id"], cv_2.as_str());
    let ghost_gone =
        eventually(WAIT, || async { realtime::agent_connections(t.app(), &tenant, &admin).await.unwrap().len() == 1 })
            .await;
    assert!(ghost_gone, "a push answered Gone removes the record");

    tab1.close().await;
    let pending = eventually(WAIT, || async { presence::is_pending(t.app(), &tenant, &admin).await.unwrap() }).await;
    assert!(pending, "the last connection closing starts the grace period");
    let again = t.websocket(&token).await;
    assert!(!presence::is_pending(t.app(), &tenant, &admin).await.unwrap(), "reconnecting cancels it");
    again.close().await;
}

/// A sample WebSocket event of `infra/events/`, with its query string's ticket replaced.
fn sample_event(name: &str, ticket: Option<&str>) -> aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest {
    let path = kefu_testkit::repo_root().join("infra/events").join(name);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    if let Some(t) = ticket {
        v["queryStringParameters"] = json!({"ticket": t});
        v["multiValueQueryStringParameters"] = json!({"ticket": [t]});
    }
    serde_json::from_value(v).unwrap()
}

async fn realtime_fn(app: &kefu_app::App, name: &str, ticket: Option<&str>) -> u16 {
    let request = sample_event(name, ticket);
    let (route, event) = kefu_fn_realtime::decode(&request);
    kefu_fn_realtime::handle(app, route, event).await
}

#[tokio::test(flavor = "multi_thread")]
async fn the_realtime_function_connects_pushes_and_disconnects_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("realtime")).await.unwrap();
    let mut config = kefu_aws::AwsConfig::from_lookup(|n| stack.environment.get(n).cloned()).unwrap();
    // moto answers the management API (post_to_connection) at its own root.
    config.ws_endpoint = Some(stack.endpoint.clone());
    let aws = kefu_aws::AwsAdapters::for_emulator(config, &stack.endpoint, &stack.region).await;
    let app = kefu_lambda::app_on(
        &aws,
        kefu_app::Config { websocket_url: Some("wss://ws.kefu.example/prod".into()), ..Default::default() },
    );

    // Frames go only to a socket whose session works: sign someone in on this stack.
    let (tenant, agent, token) = signed_in(&app, "li@acme.test").await;
    let who = staff(tenant.clone(), agent.clone(), &kefu_app::identity::secrets::token_hash(&token));
    assert_eq!(realtime_fn(&app, "ws-connect.json", None).await, 401, "the sample's ticket is unknown");
    let ticket = realtime::issue_ticket(
        &app,
        &who,
        app.config.websocket_url.clone().unwrap(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    assert_eq!(realtime_fn(&app, "ws-connect.json", Some(&ticket.ticket)).await, 200);
    assert_eq!(realtime_fn(&app, "ws-connect.json", Some(&ticket.ticket)).await, 401, "a ticket works once");
    let conns = realtime::agent_connections(&app, &tenant, &agent).await.unwrap();
    assert_eq!(conns.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["probeConn="]);
    // Also listed among the tenant's staff sockets (gsi2), where the watchers of an unassigned conversation are.
    let staff_conns = realtime::staff_connections(&app, &tenant).await.unwrap();
    assert_eq!(staff_conns.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), vec!["probeConn="]);

    let assigned = ConversationAssigned {
        conversation_id: ConversationId::from_static("cv_1"),
        agent_id: agent.clone(),
        previous_agent_id: None,
        by: None,
    };
    let assigned = Envelope::new(&tenant, app.now(), assigned);
    let report = realtime::deliver(&app, &assigned).await.unwrap();
    assert_eq!((report.sent, report.gone, report.failed), (1, 0, 0), "pushed through the management API");

    assert_eq!(realtime_fn(&app, "ws-default.json", None).await, 200, "ping answered");
    assert_eq!(realtime_fn(&app, "ws-disconnect.json", None).await, 200);
    assert!(realtime::agent_connections(&app, &tenant, &agent).await.unwrap().is_empty());
    assert!(presence::is_pending(&app, &tenant, &agent).await.unwrap(), "the agent's last connection dropped");

    // The cap holds at $connect: with the most sockets open, a valid ticket is refused with 429.
    for n in 0..realtime::MAX_AGENT_SOCKETS {
        realtime::connect(&app, &format!("other{n}"), &who).await.unwrap();
    }
    let ticket = realtime::issue_ticket(
        &app,
        &who,
        "wss://x".into(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    assert_eq!(realtime_fn(&app, "ws-connect.json", Some(&ticket.ticket)).await, 429, "over the socket cap");
    for n in 0..realtime::MAX_AGENT_SOCKETS {
        realtime::disconnect(&app, &format!("other{n}")).await.unwrap();
    }
    let ticket = realtime::issue_ticket(
        &app,
        &who,
        "wss://x".into(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    assert_eq!(realtime_fn(&app, "ws-connect.json", Some(&ticket.ticket)).await, 200);

    // The session ends: a ping re-checks it and the connection is closed and forgotten; a ticket issued before
    // the end no longer opens a socket; a frame for it is not sent.
    let principal = kefu_app::identity::auth::authenticate(&app, &token, [127, 0, 0, 1].into()).await.unwrap();
    let stale = realtime::issue_ticket(
        &app,
        &who,
        "wss://x".into(),
        kefu_app::audit::AuditEntry::new(who.tenant_id(), "realtime.ticket", kefu_app::audit::Outcome::Success),
    )
    .await
    .unwrap();
    kefu_app::identity::auth::logout(&app, &principal).await.unwrap();
    assert_eq!(realtime_fn(&app, "ws-default.json", None).await, 200);
    assert!(realtime::agent_connections(&app, &tenant, &agent).await.unwrap().is_empty(), "closed on the ping");
    assert_eq!(realtime_fn(&app, "ws-connect.json", Some(&stale.ticket)).await, 401, "the session ended");
    realtime::connect(&app, "probeConn=", &who).await.unwrap();
    let report = realtime::deliver(&app, &assigned).await.unwrap();
    assert_eq!((report.sent, report.closed), (0, 1), "nothing for an ended session; its socket is closed");
}

/// Sets a staff member's status through the assignment module (as `PUT /v1/me/status` does).
async fn set_status(app: &kefu_app::App, t: &TenantId, a: &AgentId, status: AgentStatus) {
    kefu_app::assignment::set_agent_status(app, t, a, status).await.unwrap();
}

async fn tick(app: &kefu_app::App) -> Result<kefu_fn_timers::TickReport, kefu_ports::TableError> {
    kefu_fn_timers::tick(app, app.now()).await
}

async fn status_of(app: &kefu_app::App, t: &TenantId, a: &AgentId) -> AgentStatus {
    kefu_app::assignment::ensure_agent_load(app, t, a).await.unwrap().status
}

#[tokio::test]
async fn visitor_messages_reach_the_assigned_agent_and_replies_reach_the_visitor_but_notes_never_do() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let admin = AgentId::parse(created["admin_id"].as_str().unwrap()).unwrap();
    let token = t.login(tenant.as_str(), "li@acme.test", ADMIN_PASSWORD).await;
    set_status(t.app(), &tenant, &admin, AgentStatus::Online).await;
    let mut agent = t.websocket(&token).await;

    let started =
        t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Wang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let conversation = started.body["conversation_id"].as_str().unwrap().to_owned();
    let visitor_token = started.body["visitor_token"].as_str().unwrap().to_owned();
    let mut visitor = t.websocket(&visitor_token).await;

    let assigned =
        agent.frame_of_type("conversation.assigned", WAIT).await.expect("the agent hears of its new conversation");
    assert_eq!(assigned["conversation_id"], conversation.as_str());
    assert_eq!(assigned["data"]["agent_id"], json!(admin));

    assert_eq!(t.visitor_send(&visitor_token, "Where is my parcel?").await.status, StatusCode::CREATED);
    let f = agent.frame_of_type("message.created", WAIT).await.expect("the visitor's message reaches the agent");
    assert_eq!(f["conversation_id"], conversation.as_str());
    assert_eq!(f["message"]["content"], "Where is my parcel?");
    assert_eq!(f["message"]["author"], "visitor");

    let path = format!("/v1/conversations/{conversation}/messages");
    let note = t.post(&path, json!({"content": "VIP, be quick", "internal": true}), Some(&token)).await;
    assert_eq!(note.status, StatusCode::CREATED, "{:?}", note.body);
    let reply = t.post(&path, json!({"content": "It ships today."}), Some(&token)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    let f = visitor.frame_of_type("message.created", WAIT).await.expect("the reply reaches the visitor");
    assert_eq!(f["message"]["content"], "It ships today.", "the note before it never did");
    assert_eq!(f["message"]["author"], "agent");
    assert_eq!(f["message"]["internal"], false);
    let seen_by_agent =
        agent.frame_of_type("message.created", WAIT).await.expect("the agent's other tabs see the note");
    assert_eq!(seen_by_agent["message"]["internal"], true);

    let c = kefu_domain::ConversationId::parse(&conversation).unwrap();
    assert!(kefu_app::assignment::close(t.app(), &tenant, &c, Some(&admin)).await.unwrap());
    let closed = visitor.frame_of_type("conversation.closed", WAIT).await.expect("the visitor sees the close");
    assert_eq!(closed["conversation_id"], conversation.as_str());
    let mut rest = Vec::new();
    while let Some(f) = visitor.next_frame(Duration::from_millis(300)).await {
        rest.push(f);
    }
    assert!(
        rest.iter().all(|f| f["message"]["internal"] != true),
        "no internal note ever reaches the visitor: {rest:?}"
    );
    visitor.close().await;
    agent.close().await;
}

#[tokio::test]
async fn an_agent_whose_last_connection_stays_away_past_the_grace_is_set_away() {
    let (app, clock, _dir) = manual_clock_app();
    let created = kefu_app::identity::tenants::create_tenant(
        &app,
        kefu_app::identity::tenants::NewTenant {
            name: "Acme".into(),
            admin: kefu_app::identity::tenants::NewAdmin {
                email: "li@acme.test".into(),
                name: "Li".into(),
                password: ADMIN_PASSWORD.into(),
            },
            timezone: None,
        },
    )
    .await
    .unwrap();
    let tenant = TenantId::parse(&created.tenant_id).unwrap();
    let agent = AgentId::parse(&created.admin_id).unwrap();
    let me = staff(tenant.clone(), agent.clone(), "a session's hash");
    set_status(&app, &tenant, &agent, AgentStatus::Online).await;

    // Two tabs: closing one is not leaving.
    realtime::connect(&app, "tab1", &me).await.unwrap();
    realtime::connect(&app, "tab2", &me).await.unwrap();
    realtime::disconnect(&app, "tab1").await.unwrap();
    clock.advance(SignedDuration::from_secs(120));
    assert_eq!(tick(&app).await.unwrap().presence.set_away, 0);
    assert_eq!(status_of(&app, &tenant, &agent).await, AgentStatus::Online);

    // The last tab closes; back within the grace: nothing happens.
    realtime::disconnect(&app, "tab2").await.unwrap();
    clock.advance(SignedDuration::from_secs(30));
    realtime::connect(&app, "tab3", &me).await.unwrap();
    clock.advance(SignedDuration::from_secs(60));
    assert_eq!(tick(&app).await.unwrap().presence, Default::default());
    assert_eq!(status_of(&app, &tenant, &agent).await, AgentStatus::Online);

    // Gone and not back: still online during the grace, away after it.
    realtime::disconnect(&app, "tab3").await.unwrap();
    clock.advance(SignedDuration::from_secs(59));
    assert_eq!(tick(&app).await.unwrap().presence.set_away, 0);
    assert_eq!(status_of(&app, &tenant, &agent).await, AgentStatus::Online);
    clock.advance(SignedDuration::from_secs(1));
    assert_eq!(tick(&app).await.unwrap().presence.set_away, 1);
    assert_eq!(status_of(&app, &tenant, &agent).await, AgentStatus::Away);
    assert!(!presence::is_pending(&app, &tenant, &agent).await.unwrap());
    assert_eq!(tick(&app).await.unwrap().presence, Default::default(), "handled once");

    // An agent who went offline itself keeps its choice.
    set_status(&app, &tenant, &agent, AgentStatus::Offline).await;
    realtime::connect(&app, "tab4", &me).await.unwrap();
    realtime::disconnect(&app, "tab4").await.unwrap();
    clock.advance(SignedDuration::from_secs(61));
    assert_eq!(tick(&app).await.unwrap().presence.unchanged, 1);
    assert_eq!(status_of(&app, &tenant, &agent).await, AgentStatus::Offline);
}

#[tokio::test(flavor = "multi_thread")]
async fn frames_flow_through_kefu_serve_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("realtime-serve")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let slow = Duration::from_secs(20);
    let created = t.create_tenant("Acme on AWS", "li@acme.test").await;
    let token = t.login(created["tenant_id"].as_str().unwrap(), "li@acme.test", ADMIN_PASSWORD).await;
    let online =
        t.call(reqwest::Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert!(online.status.is_success(), "{:?}", online.body);
    let mut agent = t.websocket(&token).await;
    let started =
        t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Wang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let conversation = started.body["conversation_id"].as_str().unwrap().to_owned();
    let visitor_token = started.body["visitor_token"].as_str().unwrap().to_owned();
    let mut visitor = t.websocket(&visitor_token).await;
    assert!(agent.frame_of_type("conversation.assigned", slow).await.is_some(), "routed through SQS");

    assert_eq!(t.visitor_send(&visitor_token, "Hello from the widget").await.status, StatusCode::CREATED);
    let f = agent.frame_of_type("message.created", slow).await.expect("the message reaches the agent");
    assert_eq!(f["message"]["content"], "Hello from the widget");
    let path = format!("/v1/conversations/{conversation}/messages");
    assert_eq!(
        t.post(&path, json!({"content": "a note", "internal": true}), Some(&token)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(t.post(&path, json!({"content": "Hello back"}), Some(&token)).await.status, StatusCode::CREATED);
    let f = visitor.frame_of_type("message.created", slow).await.expect("the reply reaches the visitor");
    assert_eq!(f["message"]["content"], "Hello back", "and the note never did");
    visitor.close().await;
    agent.close().await;
}
