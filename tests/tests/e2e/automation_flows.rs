//! The product's own automation flows (issue 12), as a new tenant sets them up in one shop: a refund question
//! (退款) becomes a tagged conversation with an after-sales ticket; a sales lead goes to the CRM (a signed
//! webhook) and the sales agent hears of it at once (a `notification` frame).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn refunds_become_after_sales_tickets_and_sales_leads_reach_the_crm_and_the_sales_agent() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let widget_key = created["widget_key"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;

    // The CRM: a local receiver that keeps what it gets.
    let got: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let crm = {
        let got = got.clone();
        axum::Router::new().route(
            "/leads",
            axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
                let got = got.clone();
                async move {
                    let sig = headers["x-kefu-signature"].to_str().unwrap_or_default().to_owned();
                    got.lock().unwrap().push((sig, body));
                    axum::http::StatusCode::NO_CONTENT
                }
            }),
        )
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let crm_url = format!("http://{}/leads", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, crm).await.unwrap() });

    // Groups: after-sales (售后) and sales, with its agent online and connected.
    let group = |name: &'static str, agents: Value| {
        let (t, admin) = (&t, admin.clone());
        async move {
            let r = t.post("/v1/groups", json!({"name": name, "agent_ids": agents}), Some(&admin)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };
    let after_sales = group("售后", json!([])).await;
    let r = t
        .post(
            "/v1/agents",
            json!({"email": "bo@acme.test", "name": "Bo", "password": "an agent's long password",
            "role_id": "agent"}),
            Some(&admin),
        )
        .await;
    let bo = r.body["id"].as_str().unwrap().to_owned();
    let sales = group("Sales", json!([bo])).await;
    let bo_token = t.login(&tenant, "bo@acme.test", "an agent's long password").await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&bo_token), &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let mut bo_socket = t.websocket(&bo_token).await;

    for rule in [
        json!({"name": "退款 → after-sales", "position": 1, "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "退款"}]},
            "actions": [{"type": "add_tag", "tag": "refund"},
                        {"type": "create_ticket", "group_id": after_sales, "priority": "normal"},
                        {"type": "auto_reply", "content": "已为您创建售后工单"}],
            "stop_processing": true}),
        json!({"name": "Sales leads", "position": 2, "event": "message.received",
            "conditions": {"any": [{"field": "message.content", "op": "contains", "value": "报价"},
                                   {"field": "message.content", "op": "contains", "value": "price"}]},
            "actions": [{"type": "webhook", "url": crm_url},
                        {"type": "notify", "group_id": sales, "text": "新销售线索 / new sales lead"}]}),
    ] {
        let r = t.post("/v1/rules", rule, Some(&admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }

    // A refund question.
    let refund = t.start_conversation(&widget_key, json!({"visitor": {"name": "Zhang"}})).await;
    let refund_id = refund.body["conversation_id"].as_str().unwrap().to_owned();
    let refund_token = refund.body["visitor_token"].as_str().unwrap().to_owned();
    t.visitor_send(&refund_token, "你好，我要退款，不用报价了").await;
    let tickets = format!("/v1/tickets?group_id={after_sales}");
    let ticketed = eventually(Duration::from_secs(10), || async {
        t.get(&tickets, Some(&admin)).await.body["items"].as_array().is_some_and(|i| i.len() == 1)
    })
    .await;
    let list = t.get(&tickets, Some(&admin)).await.body;
    assert!(ticketed, "{list}");
    assert_eq!(list["items"][0]["conversation_id"], refund_id.as_str());
    assert_eq!(list["items"][0]["source"], "rule");
    let conv = t.get(&format!("/v1/conversations/{refund_id}"), Some(&admin)).await.body;
    assert_eq!(conv["tags"], json!(["refund"]), "{conv}");
    let replied = eventually(Duration::from_secs(10), || async {
        t.visitor_poll(&refund_token, None).await.body["items"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["author"] == "bot" && m["content"] == "已为您创建售后工单"))
    })
    .await;
    assert!(replied);

    // A sales lead: the CRM gets it signed, and Bo hears of it at once.
    let lead = t.start_conversation(&widget_key, json!({"visitor": {"name": "Wang"}})).await;
    let lead_id = lead.body["conversation_id"].as_str().unwrap().to_owned();
    t.visitor_send(lead.body["visitor_token"].as_str().unwrap(), "请给我报价").await;
    let frame = bo_socket.frame_of_type("notification", Duration::from_secs(10)).await.expect("Bo is told");
    assert_eq!(frame["conversation_id"], lead_id.as_str(), "{frame}");
    assert_eq!(frame["data"]["text"], "新销售线索 / new sales lead");
    let posted = eventually(Duration::from_secs(10), || async { !got.lock().unwrap().is_empty() }).await;
    assert!(posted);
    let secret = t.get("/v1/settings/webhooks", Some(&admin)).await.body["secret"].as_str().unwrap().to_owned();
    let (sig, body) = got.lock().unwrap()[0].clone();
    assert!(kefu_domain::webhook::verify(secret.as_bytes(), body.as_bytes(), &sig));
    let payload: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(payload["conversation"]["id"], lead_id.as_str());
    // The refund question also said 报价, but its rule stops processing: it never reached the CRM (nor Bo, whose
    // first notification was the lead's).
    assert_eq!(got.lock().unwrap().len(), 1);

    bo_socket.close().await;
    server.abort();
}
