//! `spawn_app`: each test gets a fresh, isolated `kefu serve` on 127.0.0.1:0 with its own data directory,
//! and a client that speaks the API.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kefu_local::{Backend, ServeConfig, Server};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

/// The bootstrap token every test server accepts.
pub const BOOTSTRAP: &str = "test-bootstrap-token";
/// The first admin's password in tests.
pub const ADMIN_PASSWORD: &str = "a long enough admin password";

/// A running server and what a test needs to talk to it.
pub struct TestApp {
    /// The server (None once stopped).
    pub server: Option<Server>,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// A plain HTTP client.
    pub client: Client,
    /// The data directory (kept alive with the app).
    pub dir: Option<tempfile::TempDir>,
    /// Its path.
    pub data_dir: PathBuf,
}

/// A response: status and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug, Clone)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Body.
    pub body: Value,
    /// Headers.
    pub headers: reqwest::header::HeaderMap,
}

impl Reply {
    /// The error code of an error answer.
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

/// The configuration of a test server on the embedded store in `dir`.
pub fn embedded_config(dir: &Path) -> ServeConfig {
    ServeConfig {
        bootstrap_token: Some(BOOTSTRAP.into()),
        sweep_every: Duration::from_millis(250),
        ..ServeConfig::embedded(dir)
    }
}

/// The configuration of a test server on the AWS adapters against a moto stack provisioned from the template:
/// the adapters read the environment the template gives the functions, through the same code as in Lambda.
pub fn aws_config(stack: &kefu_testkit::MotoStack, dir: &Path) -> ServeConfig {
    let config =
        kefu_aws::AwsConfig::from_lookup(|name| stack.environment.get(name).cloned()).expect("template environment");
    ServeConfig {
        backend: Backend::Aws {
            config: Box::new(config),
            queue_urls: stack.queues.iter().map(|(name, q)| (name.clone(), q.url.clone())).collect(),
            emulator: Some((stack.endpoint.clone(), stack.region.clone())),
        },
        ..embedded_config(dir)
    }
}

/// A fresh server on a fresh embedded store.
pub async fn spawn_app() -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = spawn_with(embedded_config(dir.path())).await;
    app.dir = Some(dir);
    app
}

/// A server with this configuration.
pub async fn spawn_with(config: ServeConfig) -> TestApp {
    let data_dir = config.data_dir.clone();
    let server = kefu_local::start(config).await.expect("server starts");
    let base = format!("http://{}", server.addr);
    TestApp { server: Some(server), base, client: Client::new(), dir: None, data_dir }
}

impl TestApp {
    /// The running server's app state.
    pub fn app(&self) -> &kefu_app::App {
        &self.server.as_ref().expect("running").app
    }

    /// Sends a request with an optional JSON body, bearer token and extra headers.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        token: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(b) = body {
            req = req.json(&b);
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = req.send().await.expect("request sent");
        let status = res.status();
        let headers = res.headers().clone();
        let text = res.text().await.expect("body read");
        Reply { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
    }

    /// GET with a token.
    pub async fn get(&self, path: &str, token: Option<&str>) -> Reply {
        self.call(Method::GET, path, None, token, &[]).await
    }

    /// POST JSON with a token.
    pub async fn post(&self, path: &str, body: Value, token: Option<&str>) -> Reply {
        self.call(Method::POST, path, Some(body), token, &[]).await
    }

    /// Creates a tenant named `name` with admin `email`; answers the 201 body.
    pub async fn create_tenant(&self, name: &str, email: &str) -> Value {
        let r = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(json!({"name": name, "admin": {"email": email, "name": "Admin", "password": ADMIN_PASSWORD}})),
                None,
                &[("x-bootstrap-token", BOOTSTRAP)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// Signs in and answers the token.
    pub async fn login(&self, tenant_id: &str, email: &str, password: &str) -> String {
        let r = self
            .post("/v1/auth/login", json!({"tenant_id": tenant_id, "email": email, "password": password}), None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["token"].as_str().expect("token").to_owned()
    }

    /// Stops the server (graceful: pollers drained), keeping the data directory.
    pub async fn stop(&mut self) {
        if let Some(s) = self.server.take() {
            s.stop().await;
        }
    }

    /// The lines of the local mail outbox.
    pub fn mail(&self) -> Vec<Value> {
        std::fs::read_to_string(self.data_dir.join("outbox.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("outbox line"))
            .collect()
    }
}

/// Polls `check` every 100 ms until it holds or `within` passes; answers whether it held.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- Identity and security (H2) ----

impl TestApp {
    /// Creates a staff account straight in the store (role `role_id`: a built-in name or a custom role's id)
    /// and answers its id: for tests that need accounts of a given role without going through the agents API.
    pub async fn add_staff(&self, tenant_id: &str, email: &str, role_id: &str, password: &str) -> String {
        use kefu_ports::table::{Condition, TxOp};
        let tenant = kefu_domain::TenantId::parse(tenant_id).expect("tenant id");
        let agent = kefu_domain::AgentId::generate();
        let role = kefu_domain::RoleId::parse_any(role_id).expect("role id");
        let item = kefu_app::identity::accounts::agent_item(
            &tenant,
            &agent,
            email,
            "Test Staff",
            &kefu_app::identity::secrets::hash_password_now(password),
            &role,
            self.app().now(),
        );
        let claim = kefu_app::plumbing::keys::agent_email(&tenant, email).with(json!({"agent_id": agent}));
        self.app()
            .table
            .transact(vec![
                TxOp::Put { item, condition: Some(Condition::NotExists) },
                TxOp::Put { item: claim, condition: Some(Condition::NotExists) },
            ])
            .await
            .expect("staff stored");
        agent.to_string()
    }

    /// Sends a request with an API key.
    pub async fn with_key(&self, method: Method, path: &str, body: Option<Value>, key: &str) -> Reply {
        self.call(method, path, body, None, &[("x-api-key", key)]).await
    }

    /// The audit entries of a tenant, oldest first (read from the store).
    pub async fn audit_entries(&self, tenant_id: &str) -> Vec<Value> {
        let tenant = kefu_domain::TenantId::parse(tenant_id).expect("tenant id");
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let page = self
                .app()
                .table
                .query(
                    kefu_ports::table::Query::partition(kefu_app::plumbing::keys::audit_pk(&tenant))
                        .prefix(kefu_app::plumbing::keys::AUDIT_ENTRY_PREFIX)
                        .limit(500)
                        .after(cursor),
                )
                .await
                .expect("audit read");
            out.extend(page.items.into_iter().map(Value::Object));
            cursor = page.cursor;
            if cursor.is_none() {
                return out;
            }
        }
    }
}

// ---- Conversations, customers and the widget (H4) ----

impl TestApp {
    /// `POST /v1/widget/conversations` with a widget key; answers the reply (201 body: `conversation_id`,
    /// `customer_id`, `visitor_token`).
    pub async fn start_conversation(&self, widget_key: &str, body: Value) -> Reply {
        self.call(Method::POST, "/v1/widget/conversations", Some(body), None, &[("x-widget-key", widget_key)]).await
    }

    /// `POST /v1/widget/messages` as a visitor.
    pub async fn visitor_send(&self, visitor_token: &str, content: &str) -> Reply {
        self.post("/v1/widget/messages", json!({"content": content}), Some(visitor_token)).await
    }

    /// `GET /v1/widget/messages` as a visitor, optionally `after` a message id.
    pub async fn visitor_poll(&self, visitor_token: &str, after: Option<&str>) -> Reply {
        let path = match after {
            Some(a) => format!("/v1/widget/messages?after={a}"),
            None => "/v1/widget/messages".to_owned(),
        };
        self.get(&path, Some(visitor_token)).await
    }
}
// ---------------------------------------------------------------------------------------------------------------
// Real time (H5): tickets and WebSocket clients.
// ---------------------------------------------------------------------------------------------------------------

/// A WebSocket client of `kefu serve`. Like the console and the widget, it drops a `message.created` frame whose
/// message id it has seen already (a message is pushed at intake and again by the `notify` consumer), unless
/// told to keep repeats ([`WsClient::keep_repeats`]).
pub struct WsClient {
    stream: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    seen_messages: std::collections::HashSet<String>,
    keep_repeats: bool,
}

/// Opens `{url}?ticket={ticket}`; answers the HTTP status of a refused handshake as the error.
pub async fn ws_connect(url: &str, ticket: &str) -> Result<WsClient, u16> {
    use tokio_tungstenite::tungstenite::Error;
    match tokio_tungstenite::connect_async(format!("{url}?ticket={ticket}")).await {
        Ok((stream, _)) => Ok(WsClient { stream, seen_messages: Default::default(), keep_repeats: false }),
        Err(Error::Http(res)) => Err(res.status().as_u16()),
        Err(e) => panic!("websocket handshake failed: {e}"),
    }
}

impl WsClient {
    /// Keeps repeated `message.created` frames from now on (for tests of the delivery itself).
    pub fn keep_repeats(&mut self) {
        self.keep_repeats = true;
    }

    /// Whether `frame` repeats a `message.created` frame seen before (remembering it if not).
    fn is_repeat(&mut self, frame: &Value) -> bool {
        if self.keep_repeats || frame["type"] != "message.created" {
            return false;
        }
        match frame["message"]["id"].as_str() {
            Some(id) => !self.seen_messages.insert(id.to_owned()),
            None => false,
        }
    }

    /// The next text frame as JSON (a repeated `message.created` frame skipped), or `None` when none arrives
    /// within `within` or the server closed.
    pub async fn next_frame(&mut self, within: Duration) -> Option<Value> {
        use futures::StreamExt;
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + within;
        loop {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let frame: Value = serde_json::from_str(t.as_str()).expect("JSON frame");
                    if !self.is_repeat(&frame) {
                        return Some(frame);
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(Some(Err(_))) | Ok(None) | Err(_) => return None,
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// The next frame of type `ty` within `within`, skipping others.
    pub async fn frame_of_type(&mut self, ty: &str, within: Duration) -> Option<Value> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let f = self.next_frame(left).await?;
            if f["type"] == ty {
                return Some(f);
            }
        }
    }

    /// Sends a text frame.
    pub async fn send_text(&mut self, text: &str) {
        use futures::SinkExt;
        self.stream.send(tokio_tungstenite::tungstenite::Message::Text(text.into())).await.expect("frame sent");
    }

    /// Closes the connection and waits for the server to acknowledge.
    pub async fn close(mut self) {
        use futures::StreamExt;
        let _ = self.stream.close(None).await;
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(2), self.stream.next()).await {}
    }
}

impl TestApp {
    /// `POST /v1/realtime/ticket` with a staff or visitor token; answers `(ticket, url)`.
    pub async fn ticket(&self, token: &str) -> (String, String) {
        let r = self.post("/v1/realtime/ticket", json!({}), Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        (r.body["ticket"].as_str().expect("ticket").to_owned(), r.body["url"].as_str().expect("url").to_owned())
    }

    /// A WebSocket for a staff or visitor token.
    pub async fn websocket(&self, token: &str) -> WsClient {
        let (ticket, url) = self.ticket(token).await;
        ws_connect(&url, &ticket).await.expect("websocket opens")
    }
}

/// An app on a fresh embedded store whose time only moves when the test says (expiry, grace periods); no
/// server, so tests call the app layer directly. Keep the returned directory alive as long as the app.
pub fn manual_clock_app() -> (kefu_app::App, std::sync::Arc<kefu_ports::ManualClock>, tempfile::TempDir) {
    use std::sync::Arc;
    let clock = Arc::new(kefu_ports::ManualClock::new("2026-11-25T08:00:00Z".parse().expect("time")));
    let e = kefu_app::testing::EmbeddedApp::new(clock.clone());
    (e.app, clock, e.dir)
}

// ---------------------------------------------------------------------------------------------------------------
// Routing (H3): conversations as intake writes them, until the widget's endpoints replace this in the tests.
// ---------------------------------------------------------------------------------------------------------------

/// Starts a conversation the way intake does: a `pending` conversation item and its `conversation.created`
/// event, in one transaction (the assign consumer routes it). Answers its id.
pub async fn start_conversation(
    app: &kefu_app::App,
    tenant: &kefu_domain::TenantId,
    customer: &kefu_domain::CustomerId,
    priority: &str,
    group: Option<&kefu_domain::GroupId>,
) -> kefu_domain::ConversationId {
    let c = kefu_domain::ConversationId::generate();
    let now = app.now();
    let p = kefu_domain::routing::Priority::parse(priority).expect("a priority");
    let item = kefu_app::conversations::ConversationRecord::started(tenant, &c, customer, group, p, None, now);
    let item = kefu_app::plumbing::record::Record::to_item(&item);
    let created = kefu_app::plumbing::events::ConversationCreated {
        conversation_id: c.clone(),
        customer_id: customer.clone(),
        group_id: group.cloned(),
        priority: p,
    };
    let event = kefu_app::plumbing::events::Envelope::new(tenant, now, created);
    kefu_app::plumbing::outbox::commit(app, vec![kefu_ports::TxOp::Put { item, condition: None }], vec![event])
        .await
        .expect("conversation stored");
    c
}

/// A conversation's last routing decision as stored beside it (`Value::Null` when it has none).
pub async fn routing_item(
    app: &kefu_app::App,
    tenant: &kefu_domain::TenantId,
    c: &kefu_domain::ConversationId,
) -> Value {
    stored_item(app, &kefu_app::plumbing::keys::conversation_routing(tenant, c)).await["routing"].clone()
}

/// A conversation item as stored (`Value::Null` when absent).
pub async fn conversation_item(
    app: &kefu_app::App,
    tenant: &kefu_domain::TenantId,
    c: &kefu_domain::ConversationId,
) -> Value {
    stored_item(app, &kefu_app::plumbing::keys::conversation(tenant, c)).await
}

/// The item under `key` as stored (`Value::Null` when absent).
async fn stored_item(app: &kefu_app::App, key: &kefu_ports::Key) -> Value {
    app.table.get(key).await.expect("read").map(Value::Object).unwrap_or(Value::Null)
}
