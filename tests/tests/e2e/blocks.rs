//! Blocks: `/v1/blocks` for admins, and every widget endpoint refusing a blocked visitor with 403 `blocked`
//! (by customer, by IPv4 and IPv6 range, an IPv4-mapped address as its IPv4 address) while storing nothing,
//! until the block lapses or is lifted. Driven through the whole router (`kefu_local::router`) with the
//! caller's address set per request and a clock the test moves, so expiry needs no waiting.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use kefu_app::http::ClientIp;
use kefu_ports::ManualClock;
use serde_json::{Value, json};
use tower::ServiceExt;

const BOOTSTRAP: &str = "blocks-bootstrap";
const PASSWORD: &str = "a long enough admin password";

struct Env {
    app: kefu_app::App,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

struct Reply {
    status: StatusCode,
    body: Value,
}

impl Reply {
    fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }
}

fn env() -> Env {
    let clock = Arc::new(ManualClock::new("2026-11-25T08:00:00Z".parse().unwrap()));
    let e = kefu_app::testing::EmbeddedApp::new(clock.clone()).with_config(kefu_app::Config {
        bootstrap_token: Some(BOOTSTRAP.into()),
        websocket_url: Some("ws://127.0.0.1:9/ws".into()),
        local: true,
        ..Default::default()
    });
    Env { app: e.app, clock, _dir: e.dir }
}

impl Env {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)], ip: &str) -> Reply {
        let mut req = Request::builder().method(method).uri(path);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                req = req.header("content-type", "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        let mut req = req.body(body).unwrap();
        req.extensions_mut().insert(ClientIp(ip.parse::<IpAddr>().unwrap()));
        let res = kefu_local::router(self.app.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    async fn staff(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> Reply {
        self.call(method, path, body, &[("authorization", &format!("Bearer {token}"))], "192.0.2.1").await
    }

    /// A tenant: its widget key and an admin's token.
    async fn tenant(&self) -> (String, String) {
        let created = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(json!({"name": "Acme", "admin": {"email": "li@acme.test", "name": "Li", "password": PASSWORD}})),
                &[("x-bootstrap-token", BOOTSTRAP)],
                "192.0.2.1",
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let login = self
            .call(
                Method::POST,
                "/v1/auth/login",
                Some(json!({"tenant_id": created.body["tenant_id"], "email": "li@acme.test", "password": PASSWORD})),
                &[],
                "192.0.2.1",
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        (created.body["widget_key"].as_str().unwrap().into(), login.body["token"].as_str().unwrap().into())
    }

    async fn start(&self, key: &str, visitor: Value, ip: &str) -> Reply {
        self.call(
            Method::POST,
            "/v1/widget/conversations",
            Some(json!({"visitor": visitor})),
            &[("x-widget-key", key)],
            ip,
        )
        .await
    }

    /// Every widget endpoint a visitor with `token` (and the widget key) may call, with what each answers.
    async fn every_widget_call(&self, key: &str, token: &str, ip: &str) -> Vec<(&'static str, Reply)> {
        let bearer = format!("Bearer {token}");
        let auth = [("authorization", bearer.as_str())];
        vec![
            ("config", self.call(Method::GET, "/v1/widget/config", None, &[("x-widget-key", key)], ip).await),
            ("start", self.start(key, json!({"name": "Again"}), ip).await),
            ("send", self.call(Method::POST, "/v1/widget/messages", Some(json!({"content": "hi"})), &auth, ip).await),
            ("poll", self.call(Method::GET, "/v1/widget/messages", None, &auth, ip).await),
            ("ticket", self.call(Method::POST, "/v1/realtime/ticket", None, &auth, ip).await),
            (
                "pageview",
                self.call(Method::POST, "/v1/widget/pageviews", Some(json!({"url": "https://acme.test/p"})), &auth, ip)
                    .await,
            ),
            ("leave_message", self.leave_message(key, json!({}), ip).await),
        ]
    }

    /// `POST /v1/widget/leave_message` from `visitor`, with a contact to answer.
    async fn leave_message(&self, key: &str, visitor: Value, ip: &str) -> Reply {
        let body = json!({"visitor": visitor, "content": "please call me back", "contact": {"email": "v@acme.test"}});
        self.call(Method::POST, "/v1/widget/leave_message", Some(body), &[("x-widget-key", key)], ip).await
    }

    async fn message_count(&self, admin: &str, conversation: &str) -> usize {
        let r = self.staff(Method::GET, &format!("/v1/conversations/{conversation}/messages"), None, admin).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["items"].as_array().unwrap().len()
    }

    async fn customer_count(&self, admin: &str) -> usize {
        let r = self.staff(Method::GET, "/v1/customers", None, admin).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["items"].as_array().unwrap().len()
    }
}

fn assert_all_blocked(replies: &[(&str, Reply)]) {
    for (name, r) in replies {
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "blocked"), "{name}: {:?}", r.body);
    }
}

fn assert_none_blocked(replies: &[(&str, Reply)]) {
    for (name, r) in replies {
        assert!(r.status.is_success(), "{name}: {} {:?}", r.status, r.body);
    }
}

#[tokio::test]
async fn a_blocked_customer_is_refused_everywhere_and_nothing_is_stored() {
    let e = env();
    let (key, admin) = e.tenant().await;
    let ip = "198.51.100.7";
    let s = e.start(&key, json!({"external_id": "user-9", "name": "Troll"}), ip).await;
    assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
    let (token, customer, conversation) = (
        s.body["visitor_token"].as_str().unwrap(),
        s.body["customer_id"].as_str().unwrap(),
        s.body["conversation_id"].as_str().unwrap(),
    );
    assert_none_blocked(&e.every_widget_call(&key, token, ip).await);
    let before = e.message_count(&admin, conversation).await;

    let later = (e.app.now() + jiff::SignedDuration::from_hours(1)).to_string();
    let b = e
        .staff(
            Method::POST,
            "/v1/blocks",
            Some(json!({"customer_id": customer, "reason": "abuse", "expires_at": later})),
            &admin,
        )
        .await;
    assert_eq!(b.status, StatusCode::CREATED, "{:?}", b.body);
    assert_eq!((b.body["customer_id"].as_str(), b.body["ip_cidr"].as_str()), (Some(customer), None));
    assert_eq!(b.body["reason"], "abuse");

    // Its token is refused at every endpoint that knows who it is; the widget key alone (config, a start
    // without external_id from this IP) does not name it.
    let bearer = format!("Bearer {token}");
    let auth = [("authorization", bearer.as_str())];
    let send = e.call(Method::POST, "/v1/widget/messages", Some(json!({"content": "spam"})), &auth, ip).await;
    let poll = e.call(Method::GET, "/v1/widget/messages", None, &auth, ip).await;
    let ticket = e.call(Method::POST, "/v1/realtime/ticket", None, &auth, ip).await;
    let pages =
        e.staff(Method::GET, &format!("/v1/customers/{customer}"), None, &admin).await.body["recent_pages"].clone();
    let page =
        e.call(Method::POST, "/v1/widget/pageviews", Some(json!({"url": "https://acme.test/x"})), &auth, ip).await;
    let customers = e.customer_count(&admin).await;
    let returning = e.start(&key, json!({"external_id": "user-9"}), "203.0.113.50").await;
    let left = e.leave_message(&key, json!({"external_id": "user-9"}), "203.0.113.50").await;
    assert_all_blocked(&[
        ("returning leave_message", left),
        ("send", send),
        ("poll", poll),
        ("ticket", ticket),
        ("pageview", page),
        ("returning start", returning),
    ]);
    let after = e.staff(Method::GET, &format!("/v1/customers/{customer}"), None, &admin).await;
    assert_eq!(after.body["recent_pages"], pages, "no page stored");
    assert_eq!(e.message_count(&admin, conversation).await, before, "nothing stored");
    assert_eq!(e.customer_count(&admin).await, customers, "no customer made");
    let other = e.start(&key, json!({"external_id": "user-10"}), ip).await;
    assert_eq!(other.status, StatusCode::CREATED, "another customer from the same IP is not blocked");

    // The block lapses at its expiry.
    e.clock.advance(jiff::SignedDuration::from_secs(3601));
    assert_none_blocked(&e.every_widget_call(&key, token, ip).await);
    let listed = e.staff(Method::GET, "/v1/blocks", None, &admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 0, "a lapsed block is not listed: {:?}", listed.body);
}

#[tokio::test]
async fn ip_ranges_block_ipv4_ipv6_and_mapped_addresses_until_lifted() {
    let e = env();
    let (key, admin) = e.tenant().await;
    let v4 = e.start(&key, json!({"name": "A"}), "203.0.113.9").await;
    let v6 = e.start(&key, json!({"name": "B"}), "2001:db8:1::5").await;
    let (t4, t6) = (v4.body["visitor_token"].as_str().unwrap(), v6.body["visitor_token"].as_str().unwrap());

    let mut ids = Vec::new();
    for cidr in ["203.0.113.0/24", "2001:db8:1::/48"] {
        let b = e.staff(Method::POST, "/v1/blocks", Some(json!({"ip_cidr": cidr, "reason": "flood"})), &admin).await;
        assert_eq!(b.status, StatusCode::CREATED, "{:?}", b.body);
        assert_eq!(b.body["ip_cidr"], cidr);
        assert!(b.body["expires_at"].is_null());
        ids.push(b.body["id"].as_str().unwrap().to_owned());
    }
    let customers = e.customer_count(&admin).await;
    assert_all_blocked(&e.every_widget_call(&key, t4, "203.0.113.200").await);
    assert_all_blocked(&e.every_widget_call(&key, t4, "::ffff:203.0.113.77").await);
    assert_all_blocked(&e.every_widget_call(&key, t6, "2001:db8:1:ffff::1").await);
    assert_eq!(e.customer_count(&admin).await, customers, "no customer made by a blocked start");
    // Outside the ranges, the same visitors are served.
    assert_none_blocked(&e.every_widget_call(&key, t4, "203.0.114.1").await);
    assert_none_blocked(&e.every_widget_call(&key, t6, "2001:db8:2::1").await);

    let listed = e.staff(Method::GET, "/v1/blocks", None, &admin).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2, "{:?}", listed.body);
    for id in &ids {
        let r = e.staff(Method::DELETE, &format!("/v1/blocks/{id}"), None, &admin).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
        let again = e.staff(Method::DELETE, &format!("/v1/blocks/{id}"), None, &admin).await;
        assert_eq!(again.status, StatusCode::NOT_FOUND);
    }
    assert_none_blocked(&e.every_widget_call(&key, t4, "203.0.113.200").await);
    assert_none_blocked(&e.every_widget_call(&key, t6, "2001:db8:1:ffff::1").await);
}

#[tokio::test]
async fn blocks_are_validated_audited_and_kept_to_their_tenant() {
    let e = env();
    let (_, admin) = e.tenant().await;
    let bad = [
        (json!({"reason": "x"}), "customer_id"),
        (json!({"ip_cidr": "0.0.0.0/0", "reason": "x"}), "ip_cidr"),
        (json!({"ip_cidr": "10.0.0.1", "customer_id": "cu_01HZZZZZZZZZZZZZZZZZZZZZZZ", "reason": "x"}), "ip_cidr"),
        (json!({"ip_cidr": "10.0.0.1", "reason": ""}), "reason"),
        (json!({"ip_cidr": "10.0.0.1", "reason": "x", "expires_at": "2020-01-01T00:00:00Z"}), "expires_at"),
        (json!({"customer_id": "cu_01HZZZZZZZZZZZZZZZZZZZZZZZ", "reason": "x"}), "customer_id"),
    ];
    for (body, field) in bad {
        let r = e.staff(Method::POST, "/v1/blocks", Some(body.clone()), &admin).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field)),
            "{body}: {:?}",
            r.body
        );
    }
    let r =
        e.staff(Method::POST, "/v1/blocks", Some(json!({"ip_cidr": "10.1.2.3/16", "reason": "bots"})), &admin).await;
    assert_eq!(r.status, StatusCode::CREATED);
    assert_eq!(r.body["ip_cidr"], "10.1.0.0/16");
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(e.staff(Method::DELETE, "/v1/blocks/bl_nope", None, &admin).await.status, StatusCode::NOT_FOUND);
    // Another tenant neither sees nor lifts it.
    let (_, other) = e.tenant().await;
    let theirs = e.staff(Method::GET, "/v1/blocks", None, &other).await;
    assert!(theirs.body["items"].as_array().unwrap().is_empty(), "{:?}", theirs.body);
    assert_eq!(e.staff(Method::DELETE, &format!("/v1/blocks/{id}"), None, &other).await.status, StatusCode::NOT_FOUND);
    assert_eq!(e.staff(Method::DELETE, &format!("/v1/blocks/{id}"), None, &admin).await.status, StatusCode::NO_CONTENT);

    let audit = e.staff(Method::GET, "/v1/audit?limit=200", None, &admin).await;
    assert_eq!(audit.status, StatusCode::OK, "{:?}", audit.body);
    let actions: Vec<&str> =
        audit.body["items"].as_array().unwrap().iter().filter_map(|i| i["action"].as_str()).collect();
    assert!(actions.contains(&"block.create") && actions.contains(&"block.delete"), "{actions:?}");
}
