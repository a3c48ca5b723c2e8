//! Approvals (issue 11, item 6): with `conversation.delete` or `customer.update_sensitive` turned on in
//! `/v1/settings/approvals`, the operation answers 202 with an approval id and changes nothing; the requester
//! cannot decide it (403); another holder of `approvals.review` approves and the operation runs exactly once
//! (a second approve is 409 and runs nothing); a rejected or expired request changes nothing. Each step is
//! audited. Driven through the whole router (`kefu_local::router`) with a clock the test moves.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use kefu_app::http::ClientIp;
use kefu_ports::ManualClock;
use serde_json::{Value, json};
use tower::ServiceExt;

const BOOTSTRAP: &str = "approvals-bootstrap";
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

/// A tenant: its widget key, its first admin's token, a second reviewer's (a supervisor) token, and an
/// agent's token (no `approvals.review`).
struct Tenant {
    id: String,
    key: String,
    admin: String,
    reviewer: String,
    agent: String,
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
    async fn call(&self, method: Method, path: &str, body: Option<Value>, headers: &[(&str, &str)]) -> Reply {
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
        req.extensions_mut().insert(ClientIp("192.0.2.1".parse::<IpAddr>().unwrap()));
        let res = kefu_local::router(self.app.clone()).oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), usize::MAX).await.unwrap();
        Reply { status, body: serde_json::from_slice(&bytes).unwrap_or(Value::Null) }
    }

    async fn staff(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> Reply {
        self.call(method, path, body, &[("authorization", &format!("Bearer {token}"))]).await
    }

    async fn login(&self, tenant: &str, email: &str) -> String {
        let login = self
            .call(
                Method::POST,
                "/v1/auth/login",
                Some(json!({"tenant_id": tenant, "email": email, "password": PASSWORD})),
                &[],
            )
            .await;
        assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
        login.body["token"].as_str().unwrap().into()
    }

    async fn tenant(&self) -> Tenant {
        let created = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(json!({"name": "Acme", "admin": {"email": "li@acme.test", "name": "Li", "password": PASSWORD}})),
                &[("x-bootstrap-token", BOOTSTRAP)],
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{:?}", created.body);
        let tenant = created.body["tenant_id"].as_str().unwrap().to_owned();
        let admin = self.login(&tenant, "li@acme.test").await;
        for (email, role) in [("wang@acme.test", "supervisor"), ("zhao@acme.test", "agent")] {
            let body = json!({"email": email, "name": "Staff", "password": PASSWORD, "role_id": role});
            let r = self.staff(Method::POST, "/v1/agents", Some(body), &admin).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        }
        Tenant {
            id: tenant.clone(),
            key: created.body["widget_key"].as_str().unwrap().into(),
            reviewer: self.login(&tenant, "wang@acme.test").await,
            agent: self.login(&tenant, "zhao@acme.test").await,
            admin,
        }
    }

    /// A visitor's conversation: (conversation id, customer id).
    async fn conversation(&self, t: &Tenant) -> (String, String) {
        let s = self
            .call(
                Method::POST,
                "/v1/widget/conversations",
                Some(json!({"visitor": {"name": "Zhang", "email": "zhang@example.com"}})),
                &[("x-widget-key", &t.key)],
            )
            .await;
        assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
        (s.body["conversation_id"].as_str().unwrap().into(), s.body["customer_id"].as_str().unwrap().into())
    }

    async fn require(&self, t: &Tenant, settings: Value) {
        let r = self.staff(Method::PUT, "/v1/settings/approvals", Some(settings), &t.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    async fn audit_count(&self, t: &Tenant, action: &str) -> usize {
        let r = self.staff(Method::GET, &format!("/v1/audit?action={action}&limit=200"), None, &t.admin).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["items"].as_array().unwrap().iter().filter(|e| e["outcome"] == "success").count()
    }

    async fn pending(&self, t: &Tenant) -> Vec<Value> {
        let r = self.staff(Method::GET, "/v1/approvals?status=pending", None, &t.reviewer).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body["items"].as_array().unwrap().clone()
    }
}

#[tokio::test]
async fn settings_default_to_nothing_and_refuse_unknown_keys() {
    let e = env();
    let t = e.tenant().await;
    let r = e.staff(Method::GET, "/v1/settings/approvals", None, &t.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        r.body,
        json!({"conversation.delete": false, "customer.update_sensitive": false, "export.create": false, "expires_after_hours": 72})
    );
    let bad =
        e.staff(Method::PUT, "/v1/settings/approvals", Some(json!({"conversation.deleet": true})), &t.admin).await;
    assert_eq!(
        (bad.status, bad.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("conversation.deleet"))
    );
    let r = e.staff(Method::PUT, "/v1/settings/approvals", Some(json!({"export.create": true})), &t.admin).await;
    assert_eq!(r.body["export.create"], true);
    assert_eq!(e.audit_count(&t, "settings.update").await, 1);
    // Without the setting, a delete runs at once.
    let (c, _) = e.conversation(&t).await;
    let d = e.staff(Method::DELETE, &format!("/v1/conversations/{c}"), None, &t.admin).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{:?}", d.body);
    // Only holders of approvals.review list requests.
    let r = e.staff(Method::GET, "/v1/approvals", None, &t.agent).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_delete_waits_for_another_reviewer_and_runs_exactly_once() {
    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"conversation.delete": true})).await;
    let (c, _) = e.conversation(&t).await;

    let d = e.staff(Method::DELETE, &format!("/v1/conversations/{c}"), None, &t.admin).await;
    assert_eq!(d.status, StatusCode::ACCEPTED, "{:?}", d.body);
    assert_eq!(d.body["status"], "pending");
    let id = d.body["approval_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("ap_"));
    assert_eq!(e.staff(Method::GET, &format!("/v1/conversations/{c}"), None, &t.admin).await.status, StatusCode::OK);
    let pending = e.pending(&t).await;
    assert_eq!(pending.len(), 1);
    assert_eq!(
        (pending[0]["operation"].as_str(), pending[0]["target_id"].as_str()),
        (Some("conversation.delete"), Some(c.as_str()))
    );
    assert_eq!(pending[0]["expires_at"], "2026-11-28T08:00:00Z", "72 hours");
    assert_eq!(e.audit_count(&t, "approval.request").await, 1);

    // The requester cannot decide its own request, either way.
    for verb in ["approve", "reject"] {
        let own = e.staff(Method::POST, &format!("/v1/approvals/{id}/{verb}"), None, &t.admin).await;
        assert_eq!((own.status, own.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", own.body);
    }
    // Without approvals.review: 403 by the route.
    let agent = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.agent).await;
    assert_eq!(agent.status, StatusCode::FORBIDDEN);
    assert_eq!(e.staff(Method::GET, &format!("/v1/conversations/{c}"), None, &t.admin).await.status, StatusCode::OK);

    let ok = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    assert_eq!(ok.body["status"], "approved");
    assert_eq!(
        e.staff(Method::GET, &format!("/v1/conversations/{c}"), None, &t.admin).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(e.audit_count(&t, "conversation.delete").await, 1);

    // Twice: 409, nothing more happens.
    let again = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "conflict"), "{:?}", again.body);
    assert_eq!(e.audit_count(&t, "conversation.delete").await, 1, "ran exactly once");
    assert_eq!(e.audit_count(&t, "approval.decide").await, 1);
    assert!(e.pending(&t).await.is_empty());
    let approved = e.staff(Method::GET, "/v1/approvals?status=approved", None, &t.reviewer).await;
    assert_eq!(approved.body["items"][0]["id"], id.as_str());

    // Another tenant's reviewer does not see it.
    let e2 = e.tenant_other().await;
    let foreign = e.staff(Method::POST, &format!("/v1/approvals/{id}/reject"), None, &e2).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);
}

impl Env {
    /// Another tenant's admin token.
    async fn tenant_other(&self) -> String {
        let created = self
            .call(
                Method::POST,
                "/v1/tenants",
                Some(json!({"name": "Other", "admin": {"email": "x@other.test", "name": "X", "password": PASSWORD}})),
                &[("x-bootstrap-token", BOOTSTRAP)],
            )
            .await;
        self.login(created.body["tenant_id"].as_str().unwrap(), "x@other.test").await
    }
}

#[tokio::test]
async fn a_rejected_request_changes_nothing() {
    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"conversation.delete": true})).await;
    let (c, _) = e.conversation(&t).await;
    let d = e.staff(Method::DELETE, &format!("/v1/conversations/{c}"), None, &t.admin).await;
    let id = d.body["approval_id"].as_str().unwrap().to_owned();
    let r = e.staff(Method::POST, &format!("/v1/approvals/{id}/reject"), None, &t.reviewer).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some("rejected")), "{:?}", r.body);
    let late = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(late.status, StatusCode::CONFLICT);
    assert_eq!(e.staff(Method::GET, &format!("/v1/conversations/{c}"), None, &t.admin).await.status, StatusCode::OK);
    assert_eq!(e.audit_count(&t, "conversation.delete").await, 0);
    assert_eq!(e.audit_count(&t, "approval.decide").await, 1);
}

#[tokio::test]
async fn an_expired_request_is_409_and_changes_nothing() {
    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"conversation.delete": true, "expires_after_hours": 24})).await;
    let (c, _) = e.conversation(&t).await;
    let d = e.staff(Method::DELETE, &format!("/v1/conversations/{c}"), None, &t.admin).await;
    let id = d.body["approval_id"].as_str().unwrap().to_owned();
    e.clock.advance(jiff::SignedDuration::from_hours(24));
    // Sessions last 12 hours: sign in again.
    let t =
        Tenant { admin: e.login(&t.id, "li@acme.test").await, reviewer: e.login(&t.id, "wang@acme.test").await, ..t };
    assert_eq!(e.pending(&t).await[0]["status"], "expired", "lazily shown expired");
    let r = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{:?}", r.body);
    assert!(e.pending(&t).await.is_empty(), "recorded expired");
    let expired = e.staff(Method::GET, "/v1/approvals?status=expired", None, &t.reviewer).await;
    assert_eq!(expired.body["items"][0]["id"], id.as_str());
    assert_eq!(e.staff(Method::GET, &format!("/v1/conversations/{c}"), None, &t.admin).await.status, StatusCode::OK);
    assert_eq!(e.audit_count(&t, "conversation.delete").await, 0);
}

#[tokio::test]
async fn an_email_change_waits_and_is_applied_as_sent_once_approved() {
    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"customer.update_sensitive": true})).await;
    let (_, cu) = e.conversation(&t).await;
    let path = format!("/v1/customers/{cu}");
    // A change that touches neither email nor phone runs at once.
    let n = e.staff(Method::PATCH, &path, Some(json!({"name": "Zhang San"})), &t.admin).await;
    assert_eq!(n.status, StatusCode::OK, "{:?}", n.body);
    let p = e.staff(Method::PATCH, &path, Some(json!({"email": "new@example.com", "name": "Z. San"})), &t.admin).await;
    assert_eq!(p.status, StatusCode::ACCEPTED, "{:?}", p.body);
    let id = p.body["approval_id"].as_str().unwrap().to_owned();
    let before = e.staff(Method::GET, &path, None, &t.admin).await;
    assert_eq!(
        (before.body["email"].as_str(), before.body["name"].as_str()),
        (Some("zhang@example.com"), Some("Zhang San"))
    );
    let ok = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let after = e.staff(Method::GET, &path, None, &t.admin).await;
    assert_eq!((after.body["email"].as_str(), after.body["name"].as_str()), (Some("new@example.com"), Some("Z. San")));
}

/// A patch that waits carries its tags: an unregistered one is refused at once (400, nothing waits); registered
/// ones are applied with the email once approved; one deleted meanwhile is not written back, the rest applies.
#[tokio::test]
async fn a_waiting_patch_carries_its_tags_checked_again_when_approved() {
    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"customer.update_sensitive": true})).await;
    let (_, cu) = e.conversation(&t).await;
    let path = format!("/v1/customers/{cu}");
    for name in ["VIP", "Churn risk"] {
        let r = e.staff(Method::POST, "/v1/tags", Some(json!({"name": name, "scope": "customer"})), &t.admin).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let bad = e.staff(Method::PATCH, &path, Some(json!({"email": "a@example.com", "tags": ["nope"]})), &t.admin).await;
    assert_eq!((bad.status, bad.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", bad.body);
    assert!(e.pending(&t).await.is_empty(), "nothing waits for a refused patch");

    let body = json!({"email": "vip@example.com", "tags": ["vip"]});
    let p = e.staff(Method::PATCH, &path, Some(body), &t.admin).await;
    assert_eq!(p.status, StatusCode::ACCEPTED, "{:?}", p.body);
    let id = p.body["approval_id"].as_str().unwrap().to_owned();
    assert_eq!(e.pending(&t).await[0]["arguments"]["tags"], json!(["VIP"]), "stored in the registry's spelling");
    let ok = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let after = e.staff(Method::GET, &path, None, &t.admin).await;
    assert_eq!((after.body["email"].as_str(), &after.body["tags"]), (Some("vip@example.com"), &json!(["VIP"])));

    // A tag deleted while the request waits is not written back; the email still changes.
    let body = json!({"email": "churn@example.com", "tags": ["VIP", "Churn risk"]});
    let p = e.staff(Method::PATCH, &path, Some(body), &t.admin).await;
    let id = p.body["approval_id"].as_str().unwrap().to_owned();
    let tags = e.staff(Method::GET, "/v1/tags", None, &t.admin).await;
    let churn = tags.body["items"].as_array().unwrap().iter().find(|x| x["name"] == "Churn risk").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let d = e.staff(Method::DELETE, &format!("/v1/tags/{churn}"), None, &t.admin).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{:?}", d.body);
    let ok = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let after = e.staff(Method::GET, &path, None, &t.admin).await;
    assert_eq!((after.body["email"].as_str(), &after.body["tags"]), (Some("churn@example.com"), &json!(["VIP"])));
}

/// The reviewer's move committed but the run stopped before the change (a crash, a timeout): the request is
/// `approved` and not done. Approving it again (not by the requester) runs the change once; after that, 409.
#[tokio::test]
async fn an_approved_run_that_stopped_half_way_resumes_on_the_next_approve() {
    use kefu_app::approvals::ApprovalRecord;
    use kefu_app::plumbing::record::Record;
    use kefu_domain::approval::{ApprovalId, ApprovalStatus};

    let e = env();
    let t = e.tenant().await;
    e.require(&t, json!({"customer.update_sensitive": true})).await;
    let (_, cu) = e.conversation(&t).await;
    let path = format!("/v1/customers/{cu}");
    let p = e.staff(Method::PATCH, &path, Some(json!({"email": "resumed@example.com"})), &t.admin).await;
    assert_eq!(p.status, StatusCode::ACCEPTED, "{:?}", p.body);
    let id = p.body["approval_id"].as_str().unwrap().to_owned();

    // What a crash right after the conditional move leaves behind.
    let tenant = kefu_domain::TenantId::parse(&t.id).unwrap();
    let key = kefu_app::plumbing::keys::approval(&tenant, &ApprovalId::parse(&id).unwrap());
    let mut record = ApprovalRecord::from_item(e.app.table.get(&key).await.unwrap().unwrap()).unwrap();
    record.status = ApprovalStatus::Approved;
    record.decided_by = Some("someone else".into());
    record.version += 1;
    e.app.table.put(record.to_item(), None).await.unwrap();
    assert_eq!(e.staff(Method::GET, &path, None, &t.admin).await.body["email"], "zhang@example.com");

    let own = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.admin).await;
    assert_eq!(own.status, StatusCode::FORBIDDEN, "the requester cannot resume it either: {:?}", own.body);
    let resumed = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!(resumed.status, StatusCode::OK, "{:?}", resumed.body);
    assert_eq!(resumed.body["status"], "approved");
    assert_eq!(e.staff(Method::GET, &path, None, &t.admin).await.body["email"], "resumed@example.com");
    let again = e.staff(Method::POST, &format!("/v1/approvals/{id}/approve"), None, &t.reviewer).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "conflict"), "done: {:?}", again.body);
    assert_eq!(e.audit_count(&t, "customer.update").await, 1, "ran exactly once");
}

/// On the served app (with the notify consumer running): a request reaches a connected reviewer as an
/// `approval.requested` frame; the requester's own socket does not get it.
#[tokio::test]
async fn a_connected_reviewer_gets_an_approval_requested_frame() {
    let wait = std::time::Duration::from_secs(10);
    let t = kefu_e2e::spawn_app().await;
    let created = t.create_tenant("Acme", "admin@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "admin@acme.test", kefu_e2e::ADMIN_PASSWORD).await;
    t.add_staff(&tenant, "wang@acme.test", "supervisor", PASSWORD).await;
    let reviewer = t.login(&tenant, "wang@acme.test", PASSWORD).await;
    let mut reviewer_ws = t.websocket(&reviewer).await;
    let mut admin_ws = t.websocket(&admin).await;

    let r = t
        .call(
            reqwest::Method::PUT,
            "/v1/settings/approvals",
            Some(json!({"conversation.delete": true})),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{:?}", r.body);
    let s = t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Zhang"}})).await;
    let c = s.body["conversation_id"].as_str().unwrap().to_owned();
    let d = t.call(reqwest::Method::DELETE, &format!("/v1/conversations/{c}"), None, Some(&admin), &[]).await;
    assert_eq!(d.status.as_u16(), 202, "{:?}", d.body);

    let frame = reviewer_ws.frame_of_type("approval.requested", wait).await.expect("the reviewer is told");
    assert_eq!(frame["data"]["id"], d.body["approval_id"]);
    assert_eq!(
        (frame["data"]["operation"].as_str(), frame["data"]["target_id"].as_str()),
        (Some("conversation.delete"), Some(c.as_str()))
    );
    assert!(
        admin_ws.frame_of_type("approval.requested", std::time::Duration::from_secs(2)).await.is_none(),
        "not the requester"
    );
}
