//! Tags as a registry (issue 11, item 2), over HTTP: reading and managing the registry, writing only
//! registered tags in their scope once a tenant has one (tags a record already carries may stay), deleting a
//! tag removes it from its conversations and customers, audited, and another tenant's tags are 404.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const AGENT_PASSWORD: &str = "a long enough agent password";

struct Shop {
    t: TestApp,
    tenant: String,
    widget_key: String,
    admin: String,
}

impl Shop {
    async fn in_app(t: TestApp, email: &str) -> Self {
        let created = t.create_tenant("Acme", email).await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, email, ADMIN_PASSWORD).await;
        Self { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
    }

    async fn agent(&self, email: &str) -> String {
        let body = json!({"email": email, "name": "Ann", "password": AGENT_PASSWORD, "role_id": "agent"});
        let r = self.t.post("/v1/agents", body, Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        self.t.login(&self.tenant, email, AGENT_PASSWORD).await
    }

    /// A conversation and its customer: (conversation id, customer id).
    async fn conversation(&self) -> (String, String) {
        let r = self.t.start_conversation(&self.widget_key, json!({"visitor": {"name": "Zhang"}})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (s(&r.body["conversation_id"]), s(&r.body["customer_id"]))
    }

    async fn tag(&self, name: &str, scope: &str) -> Value {
        let r =
            self.t.post("/v1/tags", json!({"name": name, "scope": scope, "color": "#1677FF"}), Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    async fn put_tags(&self, c: &str, tags: Value) -> kefu_e2e::Reply {
        let path = format!("/v1/conversations/{c}/tags");
        self.t.call(Method::PUT, &path, Some(json!({"tags": tags})), Some(&self.admin), &[]).await
    }

    async fn patch_tags(&self, cu: &str, tags: Value) -> kefu_e2e::Reply {
        let path = format!("/v1/customers/{cu}");
        self.t.call(Method::PATCH, &path, Some(json!({"tags": tags})), Some(&self.admin), &[]).await
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_registry_decides_which_tags_may_be_written_and_where() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    let (c, cu) = shop.conversation().await;

    // No registry yet: tags are free-form, as before.
    let r = shop.put_tags(&c, json!(["legacy"])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let ann = shop.agent("ann@acme.test").await;
    let denied = shop.t.post("/v1/tags", json!({"name": "vip"}), Some(&ann)).await;
    assert_eq!((denied.status, denied.code()), (StatusCode::FORBIDDEN, "forbidden"));

    let vip = shop.tag("VIP", "both").await;
    assert_eq!(
        (vip["name"].as_str(), vip["scope"].as_str(), vip["color"].as_str()),
        (Some("VIP"), Some("both"), Some("#1677ff"))
    );
    assert!(vip["id"].as_str().unwrap().starts_with("tg_"));
    shop.tag("refund", "conversation").await;
    shop.tag("wholesale", "customer").await;
    let dup = shop.t.post("/v1/tags", json!({"name": "ｖｉｐ"}), Some(&shop.admin)).await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "conflict"));
    for (body, field) in [
        (json!({"name": "x", "scope": "everywhere"}), "scope"),
        (json!({"name": "x", "color": "blue"}), "color"),
        (json!({"name": ""}), "name"),
    ] {
        let r = shop.t.post("/v1/tags", body, Some(&shop.admin)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }

    // Any signed-in staff member reads the registry, by name.
    let listed = shop.t.get("/v1/tags", Some(&ann)).await;
    assert_eq!(listed.status, StatusCode::OK, "{:?}", listed.body);
    let names: Vec<&str> =
        listed.body["items"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["refund", "VIP", "wholesale"]);

    // Now only registered tags in their scope; the legacy tag the conversation carries may stay.
    let r = shop.put_tags(&c, json!(["legacy", "vip", "refund"])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tags"], json!(["legacy", "VIP", "refund"]));
    let r = shop.put_tags(&c, json!(["vip", "vipp"])).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
    assert_eq!(r.body["error"]["field"], "tags[1]");
    let r = shop.put_tags(&c, json!(["wholesale"])).await;
    assert_eq!(r.body["error"]["field"], "tags[0]", "a customer tag on a conversation: {:?}", r.body);
    let r = shop.patch_tags(&cu, json!(["wholesale", "refund"])).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("tags[1]")));
    let r = shop.patch_tags(&cu, json!(["wholesale", "vip"])).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["tags"], json!(["wholesale", "VIP"]));
    let unchanged = shop.t.get(&format!("/v1/conversations/{c}"), Some(&shop.admin)).await;
    assert_eq!(unchanged.body["tags"], json!(["legacy", "VIP", "refund"]), "a refused write changes nothing");

    // Deleting a tag removes it from the conversation and the customer; the deletion is audited.
    let gone = shop.t.call(Method::DELETE, &format!("/v1/tags/{}", s(&vip["id"])), None, Some(&shop.admin), &[]).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{:?}", gone.body);
    let conv = shop.t.get(&format!("/v1/conversations/{c}"), Some(&shop.admin)).await;
    assert_eq!(conv.body["tags"], json!(["legacy", "refund"]));
    let cust = shop.t.get(&format!("/v1/customers/{cu}"), Some(&shop.admin)).await;
    assert_eq!(cust.body["tags"], json!(["wholesale"]));
    let r = shop.put_tags(&c, json!(["vip"])).await;
    assert_eq!(r.body["error"]["field"], "tags[0]", "a deleted tag is no longer written");
    let again = shop.t.call(Method::DELETE, &format!("/v1/tags/{}", s(&vip["id"])), None, Some(&shop.admin), &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    // Once removed everywhere, its name is free again.
    shop.tag("vip", "customer").await;

    let tenant = shop.tenant.clone();
    let entries = shop.t.audit_entries(&tenant).await;
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    for a in ["tag.create", "tag.delete", "tag.cleanup"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
    let cleanup = entries.iter().find(|e| e["action"] == "tag.cleanup").unwrap();
    assert_eq!(cleanup["detail"]["removed"], 2, "{cleanup:?}");
}

#[tokio::test]
async fn another_tenants_tags_are_not_found_and_not_listed() {
    let t = spawn_app().await;
    let a = Shop::in_app(t, "li@acme.test").await;
    let created = a.t.create_tenant("Other", "bo@other.test").await;
    let other = a.t.login(created["tenant_id"].as_str().unwrap(), "bo@other.test", ADMIN_PASSWORD).await;
    let vip = a.tag("vip", "both").await;
    let r = a.t.call(Method::DELETE, &format!("/v1/tags/{}", s(&vip["id"])), None, Some(&other), &[]).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    assert_eq!(a.t.get("/v1/tags", Some(&other)).await.body["items"], json!([]));
    assert_eq!(a.t.get("/v1/tags", Some(&a.admin)).await.body["items"].as_array().unwrap().len(), 1);
}
