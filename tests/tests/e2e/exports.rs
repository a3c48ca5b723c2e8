//! Exports end to end on `kefu serve`: asked for with `exports.create` (202, audited), written by the `export`
//! consumer to the blob store, followed to `done` with its row count, and fetched through a signed link that
//! holds exactly the rows created; masked for a reader without `customers.view_sensitive`; a tampered link is
//! 404; bad input is 400; and behind an approval, the export runs only once another person approves it.

use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(20);
const STAFF_PASSWORD: &str = "a long enough staff password";

struct Shop {
    t: TestApp,
    tenant: String,
    admin: String,
    widget_key: String,
}

impl Shop {
    async fn new() -> Self {
        let t = spawn_app().await;
        let created = t.create_tenant("Acme", "li@acme.test").await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
        Self { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
    }

    /// Asks for an export and waits until it is done; answers its final view.
    async fn export(&self, body: Value, token: &str) -> Value {
        let r = self.t.post("/v1/exports", body, Some(token)).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
        assert_eq!(r.body["status"], "queued");
        self.done(r.body["id"].as_str().unwrap(), token).await
    }

    async fn done(&self, id: &str, token: &str) -> Value {
        let path = format!("/v1/exports/{id}");
        let finished =
            eventually(WAIT, || async { self.t.get(&path, Some(token)).await.body["status"] == "done" }).await;
        let view = self.t.get(&path, Some(token)).await.body;
        assert!(finished, "the export finished: {view}");
        view
    }

    async fn fetch(&self, url: &str) -> (StatusCode, String) {
        let r = self.t.client.get(url).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }
}

#[tokio::test]
async fn an_export_holds_what_was_created_behind_a_link_that_expires() {
    let s = Shop::new().await;
    for (name, email) in [("Wang Fang", "wang@example.com"), ("Li Lei", "lilei@example.com")] {
        let r = s.t.start_conversation(&s.widget_key, json!({"visitor": {"name": name, "email": email}})).await;
        assert_eq!(r.status, StatusCode::CREATED);
        let token = r.body["visitor_token"].as_str().unwrap();
        for text in ["hello", "my phone is 13812345678"] {
            assert_eq!(s.t.visitor_send(token, text).await.status, StatusCode::CREATED);
        }
    }

    let done = s.export(json!({"kind": "conversations", "format": "jsonl"}), &s.admin).await;
    assert_eq!(done["rows"], 2, "{done}");
    let url = done["download_url"].as_str().unwrap();
    let expires: jiff::Timestamp = done["expires_at"].as_str().unwrap().parse().unwrap();
    let life = expires.duration_since(jiff::Timestamp::now());
    assert!(life <= jiff::SignedDuration::from_mins(15) && life > jiff::SignedDuration::from_mins(14), "{life:?}");
    let (status, body) = s.fetch(url).await;
    assert_eq!(status, StatusCode::OK);
    let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    for c in &lines {
        let contents: Vec<&str> =
            c["messages"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
        assert_eq!(contents, ["hello", "my phone is 13812345678"], "the admin sees the text unmasked");
    }

    // A link changed in any part is refused and tells nothing.
    let other = url.replace(done["id"].as_str().unwrap(), "ex_01hzzzzzzzzzzzzzzzzzzzzzzz");
    for bad in [url.replace("sig=", "sig=0"), url.replace("expires=", "expires=9"), other] {
        let (status, _) = s.fetch(&bad).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{bad}");
    }

    // Customers as CSV, by a reader who may export but not see personal data: masked.
    let role =
        s.t.post("/v1/roles", json!({"name": "Exporter", "permissions": ["exports.create"]}), Some(&s.admin)).await;
    assert_eq!(role.status, StatusCode::CREATED, "{:?}", role.body);
    s.t.add_staff(&s.tenant, "ex@acme.test", role.body["id"].as_str().unwrap(), STAFF_PASSWORD).await;
    let exporter = s.t.login(&s.tenant, "ex@acme.test", STAFF_PASSWORD).await;
    let done = s.export(json!({"kind": "customers", "format": "csv"}), &exporter).await;
    assert_eq!(done["rows"], 2);
    let (_, csv) = s.fetch(done["download_url"].as_str().unwrap()).await;
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 3, "a header and two customers: {csv}");
    assert!(rows[0].starts_with("id,name,email,phone"));
    assert!(!csv.contains("wang@example.com") && !csv.contains("lilei@example.com"), "masked: {csv}");
    let masked = s.export(json!({"kind": "conversations", "format": "csv"}), &exporter).await;
    let (_, csv) = s.fetch(masked["download_url"].as_str().unwrap()).await;
    assert_eq!(masked["rows"], 4, "a row per message");
    assert!(!csv.contains("13812345678"), "message text masked: {csv}");

    // The audit log holds the three exports (JSONL, within a range that covers them).
    let since = (jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1)).to_string();
    let done = s.export(json!({"kind": "audit", "format": "jsonl", "since": since}), &s.admin).await;
    let (_, body) = s.fetch(done["download_url"].as_str().unwrap()).await;
    let creates =
        body.lines().filter(|l| serde_json::from_str::<Value>(l).unwrap()["action"] == "export.create").count();
    assert!(creates >= 3, "{body}");

    // Bad input changes nothing.
    for (body, field) in [
        (json!({"kind": "ticket", "format": "csv"}), "kind"),
        (json!({"kind": "audit", "format": "xml"}), "format"),
        (json!({"kind": "audit", "format": "csv", "since": "yesterday"}), "since"),
        (
            json!({"kind": "audit", "format": "csv", "since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}),
            "until",
        ),
    ] {
        let r = s.t.post("/v1/exports", body, Some(&s.admin)).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field))
        );
    }
    let missing = s.t.get("/v1/exports/ex_01hzzzzzzzzzzzzzzzzzzzzzzz", Some(&s.admin)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn behind_an_approval_an_export_runs_once_another_person_approves() {
    let s = Shop::new().await;
    let r =
        s.t.call(Method::PUT, "/v1/settings/approvals", Some(json!({"export.create": true})), Some(&s.admin), &[])
            .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = s.t.post("/v1/exports", json!({"kind": "audit", "format": "csv"}), Some(&s.admin)).await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::ACCEPTED, Some("pending")), "{:?}", r.body);
    let (approval, id) =
        (r.body["approval_id"].as_str().unwrap().to_owned(), r.body["id"].as_str().unwrap().to_owned());
    assert_eq!(s.t.get(&format!("/v1/exports/{id}"), Some(&s.admin)).await.status, StatusCode::NOT_FOUND, "not yet");

    s.t.add_staff(&s.tenant, "boss@acme.test", "admin", STAFF_PASSWORD).await;
    let reviewer = s.t.login(&s.tenant, "boss@acme.test", STAFF_PASSWORD).await;
    let ok = s.t.post(&format!("/v1/approvals/{approval}/approve"), json!({}), Some(&reviewer)).await;
    assert_eq!(ok.status, StatusCode::OK, "{:?}", ok.body);
    let done = s.done(&id, &s.admin).await;
    assert!(done["rows"].as_u64().unwrap() >= 1, "{done}");
    let (status, csv) = s.fetch(done["download_url"].as_str().unwrap()).await;
    assert_eq!(status, StatusCode::OK);
    assert!(csv.contains("approval.request"), "{csv}");
}

#[tokio::test]
async fn tickets_export_with_their_contact_masked_for_readers_without_the_sensitive_permission() {
    let s = Shop::new().await;
    for (content, email) in [("Refund order 1", "a@example.com"), ("Broken zip", "b@example.com")] {
        let body = json!({"visitor": {"name": "Wang"}, "content": content, "contact": {"email": email}});
        let r =
            s.t.call(
                reqwest::Method::POST,
                "/v1/widget/leave_message",
                Some(body),
                None,
                &[("x-widget-key", &s.widget_key)],
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let done = s.export(json!({"kind": "tickets", "format": "csv"}), &s.admin).await;
    assert_eq!(done["rows"], 2, "{done}");
    let (_, csv) = s.fetch(done["download_url"].as_str().unwrap()).await;
    assert!(csv.starts_with("id,title,status,priority"), "{csv}");
    assert!(csv.contains("Refund order 1") && csv.contains("a@example.com"), "{csv}");

    let role =
        s.t.post("/v1/roles", json!({"name": "Exporter", "permissions": ["exports.create"]}), Some(&s.admin)).await;
    s.t.add_staff(&s.tenant, "ex@acme.test", role.body["id"].as_str().unwrap(), STAFF_PASSWORD).await;
    let exporter = s.t.login(&s.tenant, "ex@acme.test", STAFF_PASSWORD).await;
    let done = s.export(json!({"kind": "tickets", "format": "jsonl"}), &exporter).await;
    let (_, body) = s.fetch(done["download_url"].as_str().unwrap()).await;
    assert_eq!(body.lines().count(), 2);
    assert!(!body.contains("a@example.com") && body.contains("Broken zip"), "contacts masked: {body}");
}
