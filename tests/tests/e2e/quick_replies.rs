//! Quick replies (issue 11, item 3), over HTTP: personal and team scopes (team needs `quick_replies.manage`),
//! shortcuts unique per scope and owner, search by words of the title or content (Chinese too), categories,
//! variables with fallbacks filled in by `render` as the reader may see them, and nobody seeing another
//! agent's personal replies.

use kefu_e2e::{ADMIN_PASSWORD, Reply, TestApp, spawn_app};
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
    async fn new() -> Self {
        let t = spawn_app().await;
        let created = t.create_tenant("Acme", "li@acme.test").await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
        Self { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
    }

    /// An agent (role `agent`: no `quick_replies.manage`, no `customers.view_sensitive`): (id, token).
    async fn agent(&self, email: &str, name: &str) -> (String, String) {
        let body = json!({"email": email, "name": name, "password": AGENT_PASSWORD, "role_id": "agent"});
        let r = self.t.post("/v1/agents", body, Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (s(&r.body["id"]), self.t.login(&self.tenant, email, AGENT_PASSWORD).await)
    }

    async fn create(&self, token: &str, body: Value) -> Reply {
        self.t.post("/v1/quick_replies", body, Some(token)).await
    }

    async fn titles(&self, path: &str, token: &str) -> Vec<String> {
        let r = self.t.get(path, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        r.body["items"].as_array().unwrap().iter().map(|q| s(&q["title"])).collect()
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn personal_and_team_replies_shortcuts_and_search() {
    let shop = Shop::new().await;
    let (_ann, ann) = shop.agent("ann@acme.test", "Ann").await;
    let (_bob, bob) = shop.agent("bob@acme.test", "Bob").await;

    // Team replies need quick_replies.manage.
    let team = json!({"title": "申请退款流程", "content": "您好 {{customer.name|朋友}}，退款请在订单页申请。",
                      "category": "售后", "scope": "team", "shortcut": "/Refund"});
    let r = shop.create(&ann, team.clone()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", r.body);
    let r = shop.create(&shop.admin, team.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!((s(&r.body["scope"]), s(&r.body["shortcut"])), ("team".into(), "refund".into()));
    let team_id = s(&r.body["id"]);
    assert!(team_id.starts_with("qr_"));
    let r = shop
        .create(&shop.admin, json!({"title": "Other", "content": "x", "scope": "team", "shortcut": "refund"}))
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "a shortcut is unique per scope");

    // Personal replies: the same shortcut is free in each agent's own scope.
    let r = shop.create(&ann, json!({"title": "Ann's refund", "content": "Refunds take 3 days, {{agent.name}}", "shortcut": "refund", "category": "after-sales"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ann_id = s(&r.body["id"]);
    let r = shop
        .create(
            &bob,
            json!({"title": "Bob's greeting", "content": "Hello {{customer.email|there}}", "shortcut": "refund"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let bob_id = s(&r.body["id"]);
    let r = shop.create(&ann, json!({"title": "Dup", "content": "x", "shortcut": "refund"})).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{:?}", r.body);
    for (body, field) in [
        (json!({"title": "", "content": "x"}), "title"),
        (json!({"title": "x", "content": "{{customer.age}}"}), "content"),
        (json!({"title": "x", "content": "x", "shortcut": "no spaces"}), "shortcut"),
        (json!({"title": "x", "content": "x", "scope": "everyone"}), "scope"),
    ] {
        let r = shop.create(&ann, body).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
        assert_eq!(r.body["error"]["field"], field);
    }

    // Each sees its own and the team's; nobody sees another agent's personal ones.
    assert_eq!(shop.titles("/v1/quick_replies", &ann).await, ["Ann's refund", "申请退款流程"]);
    assert_eq!(shop.titles("/v1/quick_replies", &bob).await, ["Bob's greeting", "申请退款流程"]);
    assert_eq!(shop.titles("/v1/quick_replies", &shop.admin).await, ["申请退款流程"]);
    for (m, body) in [(Method::PUT, Some(json!({"title": "mine", "content": "x"}))), (Method::DELETE, None)] {
        let r = shop.t.call(m, &format!("/v1/quick_replies/{ann_id}"), body, Some(&bob), &[]).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    }
    let r = shop.t.call(Method::DELETE, &format!("/v1/quick_replies/{team_id}"), None, Some(&ann), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "an agent cannot delete a team reply");

    // Search by words (Chinese included) and category.
    assert_eq!(shop.titles("/v1/quick_replies?q=退款", &ann).await, ["申请退款流程"]);
    assert_eq!(
        shop.titles("/v1/quick_replies?q=%E8%AE%A2%E5%8D%95", &bob).await,
        ["申请退款流程"],
        "订单 in the content"
    );
    assert_eq!(shop.titles("/v1/quick_replies?q=REFUND", &ann).await, ["Ann's refund"]);
    assert_eq!(shop.titles("/v1/quick_replies?q=ref", &bob).await, Vec::<String>::new(), "not Ann's");
    assert_eq!(shop.titles("/v1/quick_replies?q=款退", &ann).await, Vec::<String>::new());
    assert_eq!(shop.titles("/v1/quick_replies?category=售后", &ann).await, ["申请退款流程"]);
    assert_eq!(shop.titles("/v1/quick_replies?q=days&category=after-sales", &ann).await, ["Ann's refund"]);

    // Editing moves the index; the old words no longer find it.
    let path = format!("/v1/quick_replies/{ann_id}");
    let r = shop
        .t
        .call(
            Method::PUT,
            &path,
            Some(json!({"title": "Shipping", "content": "Parcels leave daily", "shortcut": "ship"})),
            Some(&ann),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(shop.titles("/v1/quick_replies?q=refunds", &ann).await, Vec::<String>::new());
    assert_eq!(shop.titles("/v1/quick_replies?q=parcel", &ann).await, ["Shipping"]);
    let r = shop.create(&ann, json!({"title": "Again", "content": "x", "shortcut": "refund"})).await;
    assert_eq!(r.status, StatusCode::CREATED, "the old shortcut is free again: {:?}", r.body);
    let r = shop
        .t
        .call(Method::PUT, &path, Some(json!({"title": "x", "content": "x", "scope": "team"})), Some(&ann), &[])
        .await;
    assert_eq!(r.body["error"]["field"], "scope");
    let r = shop.t.call(Method::DELETE, &path, None, Some(&ann), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(shop.titles("/v1/quick_replies?q=parcel", &ann).await, Vec::<String>::new());
    let _ = bob_id;

    let entries = shop.t.audit_entries(&shop.tenant).await;
    let actions: Vec<&str> = entries.iter().filter_map(|e| e["action"].as_str()).collect();
    for a in ["quick_reply.create", "quick_reply.update", "quick_reply.delete", "permission.denied"] {
        assert!(actions.contains(&a), "{a} missing from {actions:?}");
    }
}

#[tokio::test]
async fn render_fills_in_variables_as_the_reader_may_see_them() {
    let shop = Shop::new().await;
    let (ann_id, ann) = shop.agent("ann@acme.test", "Ann").await;
    let started = shop
        .t
        .start_conversation(&shop.widget_key, json!({"visitor": {"name": "Zhang Wei", "email": "zw@example.com"}}))
        .await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let c = s(&started.body["conversation_id"]);
    let anonymous = s(&shop.t.start_conversation(&shop.widget_key, json!({})).await.body["conversation_id"]);
    let r = shop.t.post(&format!("/v1/conversations/{c}/assign"), json!({"agent_id": ann_id}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = shop
        .t
        .post(&format!("/v1/conversations/{anonymous}/assign"), json!({"agent_id": ann_id}), Some(&shop.admin))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let body = json!({"title": "Hi", "content": "{{customer.name|朋友}} <{{customer.email|-}}>, {{agent.name}} here ({{conversation.id}})"});
    let r = shop.create(&ann, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = s(&r.body["id"]);
    let render = |conversation: String, token: String| {
        let (t, path) = (&shop.t, format!("/v1/quick_replies/{id}/render"));
        async move { t.post(&path, json!({"conversation_id": conversation}), Some(&token)).await }
    };
    let r = render(c.clone(), ann.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(s(&r.body["content"]), format!("Zhang Wei <z***@example.com>, Ann here ({c})"), "masked for an agent");
    let r = render(anonymous.clone(), ann.clone()).await;
    assert_eq!(s(&r.body["content"]), format!("朋友 <->, Ann here ({anonymous})"), "fallbacks");

    // A conversation the reader may not see, or a reply it may not see, is 404.
    let (_bob, bob) = shop.agent("bob@acme.test", "Bob").await;
    let r = render(c.clone(), bob).await;
    assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"));
    let team = shop.create(&shop.admin, json!({"title": "T", "content": "{{customer.email}}", "scope": "team"})).await;
    let r = shop
        .t
        .post(
            &format!("/v1/quick_replies/{}/render", s(&team.body["id"])),
            json!({"conversation_id": c}),
            Some(&shop.admin),
        )
        .await;
    assert_eq!(s(&r.body["content"]), "zw@example.com", "unmasked for customers.view_sensitive");
    let r =
        shop.t.post(&format!("/v1/quick_replies/{id}/render"), json!({"conversation_id": c}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "Ann's personal reply is hers alone");
}
