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
        addr: "127.0.0.1:0".parse().expect("addr"),
        data_dir: dir.to_path_buf(),
        bootstrap_token: Some(BOOTSTRAP.into()),
        backend: Backend::Embedded,
        sweep_every: Duration::from_millis(250),
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
    let item = kefu_app::keys::conversation(tenant, &c).with(json!({
        "type": "conversation", "conversation_id": c, "tenant_id": tenant, "customer_id": customer,
        "status": "pending", "group_id": group, "priority": priority, "skills": [], "tags": [],
        "created_at": now, "last_message_at": now, "waiting_since": now, "version": 1,
    }));
    let event = kefu_app::events::Envelope::new(
        "conversation.created",
        tenant,
        now,
        json!({"conversation_id": c, "customer_id": customer, "group_id": group, "priority": priority}),
    );
    kefu_app::outbox::commit(app, vec![kefu_ports::TxOp::Put { item, condition: None }], vec![event])
        .await
        .expect("conversation stored");
    c
}

/// A conversation item as stored (`Value::Null` when absent).
pub async fn conversation_item(
    app: &kefu_app::App,
    tenant: &kefu_domain::TenantId,
    c: &kefu_domain::ConversationId,
) -> Value {
    app.table
        .get(&kefu_app::keys::conversation(tenant, c))
        .await
        .expect("read")
        .map(Value::Object)
        .unwrap_or(Value::Null)
}
