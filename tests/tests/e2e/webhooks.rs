//! Webhooks (issue 12) end to end on `kefu serve`: a sales lead's message makes a rule post the event to a local
//! receiver (the CRM), signed with the tenant's secret; a receiver that fails is tried again from the queue with
//! the same delivery id and body; the delivery log shows the tries and the last answer; the secret rotates;
//! the routes are `rules.manage` only.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode as AxumStatus};
use kefu_e2e::{ADMIN_PASSWORD, eventually, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// What the receiver got: each try's headers and body.
#[derive(Default)]
struct Received {
    tries: Vec<(HeaderMap, String)>,
}

/// A receiver on 127.0.0.1:0 that answers 503 to the first try and 200 after; answers its URL.
async fn receiver(got: Arc<Mutex<Received>>) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().route(
        "/crm/leads",
        axum::routing::post(move |headers: HeaderMap, body: String| {
            let got = got.clone();
            async move {
                let mut g = got.lock().unwrap();
                g.tries.push((headers, body));
                if g.tries.len() == 1 { AxumStatus::SERVICE_UNAVAILABLE } else { AxumStatus::OK }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/crm/leads", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn a_sales_lead_reaches_the_crm_signed_and_is_retried_until_it_is_taken() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let got = Arc::new(Mutex::new(Received::default()));
    let (url, server) = receiver(got.clone()).await;
    let r = t
        .post(
            "/v1/rules",
            json!({"name": "Leads to the CRM", "event": "message.received",
                "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "price"}]},
                "actions": [{"type": "webhook", "url": url}]}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let secret = t.get("/v1/settings/webhooks", Some(&admin)).await.body["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 64);

    let started = t
        .start_conversation(
            created["widget_key"].as_str().unwrap(),
            json!({"visitor": {"name": "Wang", "email": "wang@example.com"}}),
        )
        .await;
    let c = started.body["conversation_id"].as_str().unwrap().to_owned();
    let r = t.visitor_send(started.body["visitor_token"].as_str().unwrap(), "What is the price for 500 units?").await;
    assert!(r.status.is_success(), "{:?}", r.body);

    // The first try fails (503); the queue tries again and the CRM takes it.
    let taken = eventually(Duration::from_secs(30), || async { got.lock().unwrap().tries.len() >= 2 }).await;
    assert!(taken);
    let tries: Vec<(HeaderMap, String)> = got.lock().unwrap().tries.clone();
    let (headers, body) = &tries[1];
    assert_eq!(headers["x-kefu-event"], "message.received");
    let delivery = headers["x-kefu-delivery"].to_str().unwrap().to_owned();
    assert_eq!(tries[0].0["x-kefu-delivery"], delivery.as_str(), "the same delivery id on every try");
    assert_eq!(&tries[0].1, body, "the same body on every try");
    let signature = headers["x-kefu-signature"].to_str().unwrap();
    assert!(kefu_domain::webhook::verify(secret.as_bytes(), body.as_bytes(), signature), "{signature}");
    let payload: Value = serde_json::from_str(body).unwrap();
    assert_eq!(payload["id"], delivery.as_str());
    assert_eq!(payload["event"], "message.received");
    assert_eq!(payload["tenant_id"], tenant.as_str());
    assert_eq!(payload["conversation"]["id"], c.as_str());
    assert_eq!(payload["customer"]["email"], "wang@example.com", "the tenant's own CRM gets it unmasked");
    assert_eq!(payload["message"]["content"], "What is the price for 500 units?");

    // The log: two tries, the last answer 200.
    let logged = eventually(Duration::from_secs(10), || async {
        t.get("/v1/webhook_deliveries?status=succeeded", Some(&admin)).await.body["items"]
            .as_array()
            .is_some_and(|i| i.len() == 1)
    })
    .await;
    let log = t.get("/v1/webhook_deliveries", Some(&admin)).await.body;
    assert!(logged, "{log}");
    let d = &log["items"][0];
    assert_eq!((d["id"].as_str(), d["status"].as_str()), (Some(delivery.as_str()), Some("succeeded")), "{log}");
    assert_eq!((d["attempts"].as_u64(), d["last_status"].as_u64()), (Some(2), Some(200)), "{log}");
    assert_eq!(t.get("/v1/webhook_deliveries?status=failed", Some(&admin)).await.body["items"], json!([]));
    let r = t.get("/v1/webhook_deliveries?status=lost", Some(&admin)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));

    // The rule's run says it was queued.
    let conv = t.get(&format!("/v1/conversations/{c}"), Some(&admin)).await.body;
    let run = conv["automation"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(run["rules"][0]["actions"], json!([{"type": "webhook", "result": "queued"}]));

    // Rotating makes a new secret, audited; an agent may not see it.
    let r = t.post("/v1/settings/webhooks/rotate", json!({}), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_ne!(r.body["secret"].as_str(), Some(secret.as_str()));
    assert_eq!(t.get("/v1/settings/webhooks", Some(&admin)).await.body["secret"], r.body["secret"]);
    t.add_staff(&tenant, "ann@acme.test", "agent", "a long enough agent password").await;
    let agent = t.login(&tenant, "ann@acme.test", "a long enough agent password").await;
    assert_eq!(t.get("/v1/settings/webhooks", Some(&agent)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(t.get("/v1/webhook_deliveries", Some(&agent)).await.status, StatusCode::FORBIDDEN);
    server.abort();
}
