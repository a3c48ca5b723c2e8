//! Notifications (issue 12), over HTTP and WebSocket: `GET|PUT /v1/me/notifications` (the caller's own
//! preferences, checked); a rule's `notify` reaches the sales agent at once as a `notification` frame on its live
//! socket, and an agent with no live socket by email; do-not-disturb holds a normal notification but not an urgent
//! one (a customer of a `high` priority group).

use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "an agent's long password";

struct Shop {
    t: TestApp,
    tenant: String,
    widget_key: String,
    admin: String,
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

impl Shop {
    async fn new(t: TestApp, email: &str) -> Self {
        let created = t.create_tenant("Acme", email).await;
        let tenant = s(&created["tenant_id"]);
        let admin = t.login(&tenant, email, ADMIN_PASSWORD).await;
        Self { widget_key: s(&created["widget_key"]), tenant, admin, t }
    }

    /// An agent, signed in (online when `online`); answers its id and token.
    async fn agent(&self, email: &str, online: bool) -> (String, String) {
        let body = json!({"email": email, "name": email, "password": PASSWORD, "role_id": "agent"});
        let r = self.t.post("/v1/agents", body, Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let token = self.t.login(&self.tenant, email, PASSWORD).await;
        if online {
            let r =
                self.t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
            assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        }
        (s(&r.body["id"]), token)
    }

    async fn prefs(&self, token: &str, body: Value) -> kefu_e2e::Reply {
        self.t.call(Method::PUT, "/v1/me/notifications", Some(body), Some(token), &[]).await
    }

    /// A visitor (of `external_id`) starts a conversation and writes `text`; answers the conversation's and the
    /// customer's ids.
    async fn lead(&self, external_id: &str, text: &str) -> (String, String) {
        let r = self
            .t
            .start_conversation(&self.widget_key, json!({"visitor": {"external_id": external_id, "name": external_id}}))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let sent = self.t.visitor_send(r.body["visitor_token"].as_str().unwrap(), text).await;
        assert!(sent.status.is_success(), "{:?}", sent.body);
        (s(&r.body["conversation_id"]), s(&r.body["customer_id"]))
    }
}

#[tokio::test]
async fn preferences_are_the_callers_own_and_checked() {
    let shop = Shop::new(spawn_app().await, "li@acme.test").await;
    let (_, ann) = shop.agent("ann@acme.test", false).await;
    let r = shop.t.get("/v1/me/notifications", Some(&ann)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body,
        json!({"desktop": true, "mobile": true, "email": true, "sms": false, "sms_number": null, "working_hours_only": false,
            "dnd_until": null, "events": ["conversation.new", "message.new", "conversation.assigned",
            "ticket.assigned", "conversation.unanswered", "approval.requested"]})
    );
    let r =
        shop.prefs(&ann, json!({"email": false, "dnd_until": "2030-01-01T00:00:00Z", "events": ["message.new"]})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["email"].as_bool(), r.body["dnd_until"].as_str()), (Some(false), Some("2030-01-01T00:00:00Z")));
    assert_eq!(r.body["events"], json!(["message.new"]));
    for (body, field) in [
        (json!({"desktop": 1}), "desktop"),
        (json!({"dnd_until": "soon"}), "dnd_until"),
        (json!({"events": ["message.new", "lunch"]}), "events[1]"),
        (json!({"volume": 11}), "volume"),
    ] {
        let r = shop.prefs(&ann, body).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
        assert_eq!(r.body["error"]["field"].as_str(), Some(field), "{:?}", r.body);
    }
    // Nothing changed, and they are Ann's alone.
    let r = shop.t.get("/v1/me/notifications", Some(&ann)).await;
    assert_eq!(r.body["events"], json!(["message.new"]));
    assert_eq!(shop.t.get("/v1/me/notifications", Some(&shop.admin)).await.body["email"], true);
    assert_eq!(shop.t.get("/v1/me/notifications", None).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_sales_lead_notifies_the_sales_agent_at_once_and_do_not_disturb_lets_only_vips_through() {
    let shop = Shop::new(spawn_app().await, "li@acme.test").await;
    let (bo, bo_token) = shop.agent("bo@acme.test", true).await;
    let (ann, _) = shop.agent("ann@acme.test", false).await;
    let r = shop.t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [bo, ann]}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let sales = s(&r.body["id"]);
    let r = shop
        .t
        .post(
            "/v1/rules",
            json!({"name": "Sales leads", "event": "message.received",
                "conditions": {"any": [{"field": "message.content", "op": "contains", "value": "price"},
                                       {"field": "message.content", "op": "contains", "value": "报价"}]},
                "actions": [{"type": "notify", "group_id": sales, "text": "New sales lead"}]}),
            Some(&shop.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // Bo is connected: the notification comes as a frame, at once.
    let mut ws = shop.t.websocket(&bo_token).await;
    let (c, _) = shop.lead("lead-1", "What's the price of the blue one?").await;
    let f = ws.frame_of_type("notification", Duration::from_secs(10)).await.expect("a notification frame");
    assert_eq!(f["conversation_id"], c.as_str());
    assert_eq!(
        f["data"],
        json!({"kind": "message.new", "priority": "normal", "text": "New sales lead", "conversation_id": c})
    );
    // Ann has no live socket: she gets an email instead.
    let mailed = eventually(Duration::from_secs(10), || async {
        shop.t.mail().iter().any(|m| m["to"] == "ann@acme.test" && m["body"] == "New sales lead")
    })
    .await;
    assert!(mailed, "{:?}", shop.t.mail());
    // The run is recorded on the conversation after its actions took effect: the notification may be out
    // before the record is written.
    let path = format!("/v1/conversations/{c}");
    let recorded = eventually(Duration::from_secs(10), || async {
        let conv = shop.t.get(&path, Some(&shop.admin)).await.body;
        conv["automation"].as_array().and_then(|runs| runs.last()).map(|run| run["rules"][0]["actions"].clone())
            == Some(json!([{"type": "notify", "result": "done"}]))
    })
    .await;
    assert!(recorded, "{:?}", shop.t.get(&path, Some(&shop.admin)).await.body["automation"]);

    // Do not disturb: a normal lead is held, a VIP's goes through as urgent.
    let r = shop.prefs(&bo_token, json!({"dnd_until": "2099-01-01T00:00:00Z"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = shop.t.post("/v1/customer_groups", json!({"name": "VIP", "priority": "high"}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let vip = s(&r.body["id"]);
    let (held, _) = shop.lead("lead-2", "报价多少?").await;
    // The VIP is a known customer, put in the VIP group before it writes.
    let r = shop
        .t
        .post("/v1/customers", json!({"external_id": "vip-1", "name": "Wang", "group_id": vip}), Some(&shop.admin))
        .await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let (urgent, _) = shop.lead("vip-1", "price for 500 units?").await;
    let f = ws.frame_of_type("notification", Duration::from_secs(10)).await.expect("the urgent notification");
    assert_eq!(f["conversation_id"], urgent.as_str(), "the held lead's came through: {f}");
    assert_eq!(f["data"]["priority"], "urgent");
    assert_ne!(held, urgent);
    ws.close().await;
}

#[tokio::test]
async fn an_agent_registers_lists_and_forgets_its_own_phones() {
    let shop = Shop::new(spawn_app().await, "li@acme.test").await;
    let (_, ann) = shop.agent("ann@acme.test", false).await;
    let r = shop.t.post("/v1/me/devices", json!({"platform": "apns", "token": "a1b2c3d4"}), Some(&ann)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = s(&r.body["id"]);
    assert!(id.starts_with("dv_"), "{id}");
    // The same token again is the same phone.
    let r = shop.t.post("/v1/me/devices", json!({"platform": "apns", "token": "a1b2c3d4"}), Some(&ann)).await;
    assert_eq!((r.status, s(&r.body["id"])), (StatusCode::CREATED, id.clone()));
    let r = shop.t.post("/v1/me/devices", json!({"platform": "fcm", "token": "f9e8d7"}), Some(&ann)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let list = shop.t.get("/v1/me/devices", Some(&ann)).await;
    assert_eq!(list.status, StatusCode::OK);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{:?}", list.body);
    assert_eq!((items[0]["id"].as_str(), items[0]["platform"].as_str()), (Some(id.as_str()), Some("apns")));
    assert!(items[0].get("token").is_none(), "the token is not shown back");

    // Bad input names the field and stores nothing.
    for (body, field) in [
        (json!({"platform": "sms", "token": "x"}), "platform"),
        (json!({"platform": "fcm", "token": " "}), "token"),
        (json!({"platform": "fcm", "token": "a b"}), "token"),
        (json!({"platform": "fcm", "token": "x", "colour": 1}), "colour"),
    ] {
        let r = shop.t.post("/v1/me/devices", body, Some(&ann)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
        assert!(r.body["error"]["field"].as_str().is_some_and(|f| f.contains(field)), "{field}: {:?}", r.body);
    }

    // Another agent sees none of them and cannot forget them.
    let del = |token: String, id: String| {
        let t = &shop.t;
        async move { t.call(Method::DELETE, &format!("/v1/me/devices/{id}"), None, Some(&token), &[]).await }
    };
    assert_eq!(shop.t.get("/v1/me/devices", Some(&shop.admin)).await.body["items"], json!([]));
    assert_eq!(del(shop.admin.clone(), id.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(del(ann.clone(), id.clone()).await.status, StatusCode::NO_CONTENT);
    assert_eq!(del(ann.clone(), id.clone()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(shop.t.get("/v1/me/devices", Some(&ann)).await.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn without_a_live_socket_a_phone_gets_a_push_and_else_an_sms_goes_to_the_agents_number() {
    let shop = Shop::new(spawn_app().await, "li@acme.test").await;
    let (ann, ann_token) = shop.agent("ann@acme.test", false).await;
    let (bo, bo_token) = shop.agent("bo@acme.test", false).await;
    let r = shop.t.post("/v1/me/devices", json!({"platform": "fcm", "token": "ann-phone"}), Some(&ann_token)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    // Bo has no phone and turned SMS on with his number (a bad number is refused first).
    let r = shop.prefs(&bo_token, json!({"sms": true, "sms_number": "13800138000"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
    let r = shop.prefs(&bo_token, json!({"sms": true, "sms_number": "+8613800138000"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["sms_number"], "+8613800138000");
    let r = shop.t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [ann, bo]}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let sales = s(&r.body["id"]);
    let rule = json!({"name": "Sales leads", "event": "message.received",
        "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "price"}]},
        "actions": [{"type": "notify", "group_id": sales, "text": "New sales lead"}]});
    assert_eq!(shop.t.post("/v1/rules", rule, Some(&shop.admin)).await.status, StatusCode::CREATED);

    shop.lead("lead-1", "What's the price?").await;
    let told = eventually(Duration::from_secs(10), || async {
        let out = shop.t.mail();
        let pushed = out.iter().any(|m| m["channel"] == "push" && m["to"] == "local:fcm:ann-phone");
        let texted = out.iter().any(|m| {
            m["channel"] == "sms"
                && m["to"] == "+8613800138000"
                && m["body"].as_str().unwrap().contains("New sales lead")
        });
        pushed && texted
    })
    .await;
    let out = shop.t.mail();
    assert!(told, "{out:?}");
    let push = out.iter().find(|m| m["channel"] == "push").unwrap();
    assert_eq!((push["title"].as_str(), push["body"].as_str()), (Some("Kefu notification"), Some("New sales lead")));
    assert!(
        !out.iter().any(|m| m["channel"] == "email" && (m["to"] == "ann@acme.test" || m["to"] == "bo@acme.test")),
        "a phone or an SMS instead of an email: {out:?}"
    );
}
