//! HTTP hygiene (issue 8, item 9): JSON bodies only with a JSON content type, a client's `X-Request-Id` kept
//! only when short and printable, and ticket URLs from configuration rather than the `Host` header.

use kefu_e2e::{ADMIN_PASSWORD, BOOTSTRAP, TestApp, spawn_app};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Posts `body` as is with `content_type` (none when `None`).
async fn post_raw(t: &TestApp, path: &str, content_type: Option<&str>, body: &str, extra: &[(&str, &str)]) -> Value {
    let mut req = t.client.post(format!("{}{path}", t.base)).body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    for (k, v) in extra {
        req = req.header(*k, *v);
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    json!({"status": status, "code": body["error"]["code"], "body": body})
}

#[tokio::test]
async fn json_bodies_need_a_json_content_type() {
    let mut t = spawn_app().await;
    let created = t.create_tenant("Acme", "admin@acme.example").await;
    let tenant = created["tenant_id"].as_str().unwrap();
    let widget_key = created["widget_key"].as_str().unwrap();
    let login = json!({"tenant_id": tenant, "email": "admin@acme.example", "password": ADMIN_PASSWORD}).to_string();

    // A form post or a text/plain "simple request" never reaches the handler (no preflight is needed for them).
    for ct in [None, Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("text/json")] {
        let r = post_raw(&t, "/v1/auth/login", ct, &login, &[]).await;
        assert_eq!((r["status"].as_u64(), r["code"].as_str()), (Some(415), Some("unsupported_media_type")), "{ct:?}");
    }
    let tenant_body = json!({"name": "B", "admin": {"email": "b@b.example", "name": "B", "password": ADMIN_PASSWORD}});
    let r =
        post_raw(&t, "/v1/tenants", Some("text/plain"), &tenant_body.to_string(), &[("x-bootstrap-token", BOOTSTRAP)])
            .await;
    assert_eq!(r["code"], "unsupported_media_type");
    // The widget's routes read the body themselves; they refuse alike, and nothing is stored.
    let start = json!({"page_url": "https://acme.example/help"}).to_string();
    let r = post_raw(&t, "/v1/widget/conversations", Some("text/plain"), &start, &[("x-widget-key", widget_key)]).await;
    assert_eq!((r["status"].as_u64(), r["code"].as_str()), (Some(415), Some("unsupported_media_type")));

    // JSON with a charset, and a +json type, are JSON.
    let r = post_raw(&t, "/v1/auth/login", Some("application/json; charset=utf-8"), &login, &[]).await;
    assert_eq!(r["status"], 200, "{r}");
    let r = post_raw(&t, "/v1/auth/login", Some("application/merge-patch+json"), &login, &[]).await;
    assert_eq!(r["status"], 200, "{r}");
    let r = post_raw(&t, "/v1/widget/conversations", Some("application/json"), &start, &[("x-widget-key", widget_key)])
        .await;
    assert_eq!(r["status"], 201, "{r}");
    let visitor = r["body"]["visitor_token"].as_str().unwrap().to_owned();
    let auth = format!("Bearer {visitor}");
    let send = json!({"content": "again"}).to_string();
    let r = post_raw(&t, "/v1/widget/messages", Some("text/plain"), &send, &[("authorization", &auth)]).await;
    assert_eq!(r["code"], "unsupported_media_type");
    let r = post_raw(&t, "/v1/widget/messages", Some("application/json"), &send, &[("authorization", &auth)]).await;
    assert_eq!(r["status"], 201, "{r}");
    t.stop().await;
}

#[tokio::test]
async fn a_clients_request_id_is_kept_only_when_short_and_printable() {
    let mut t = spawn_app().await;
    let id_of = |r: &kefu_e2e::Reply| r.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    let call = |id: String| {
        let t = &t;
        async move { t.call(reqwest::Method::GET, "/v1/health", None, None, &[("x-request-id", &id)]).await }
    };

    let fine = "trace-0123456789abcdef".to_owned();
    assert_eq!(id_of(&call(fine.clone()).await), fine);
    let longest = "a".repeat(128);
    assert_eq!(id_of(&call(longest.clone()).await), longest);

    for unfit in ["a".repeat(129), "a".repeat(8000), "two words".to_owned(), "tab\there".to_owned()] {
        let r = call(unfit.clone()).await;
        assert_eq!(r.status, StatusCode::OK);
        let replaced = id_of(&r);
        assert_ne!(replaced, unfit);
        assert!(!replaced.is_empty() && replaced.len() <= 128 && replaced.bytes().all(|b| b.is_ascii_graphic()));
    }
    t.stop().await;
}

#[tokio::test]
async fn ticket_urls_come_from_configuration_not_the_host_header() {
    let mut t = spawn_app().await;
    let created = t.create_tenant("Acme", "admin@acme.example").await;
    let token = t.login(created["tenant_id"].as_str().unwrap(), "admin@acme.example", ADMIN_PASSWORD).await;
    let addr = t.server.as_ref().unwrap().addr;
    let r = t
        .call(reqwest::Method::POST, "/v1/realtime/ticket", Some(json!({})), Some(&token), &[("host", "evil.example")])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["url"], format!("ws://{addr}/v1/realtime/ws"));
    t.stop().await;
}

#[test]
fn the_public_url_names_the_websocket() {
    let addr = "0.0.0.0:8080".parse().unwrap();
    assert_eq!(kefu_local::websocket_url(None, addr).unwrap(), "ws://127.0.0.1:8080/v1/realtime/ws");
    assert_eq!(
        kefu_local::websocket_url(Some("https://kefu.example.com/"), addr).unwrap(),
        "wss://kefu.example.com/v1/realtime/ws"
    );
    assert_eq!(
        kefu_local::websocket_url(Some("http://10.0.0.5:9000"), addr).unwrap(),
        "ws://10.0.0.5:9000/v1/realtime/ws"
    );
    assert!(kefu_local::websocket_url(Some("kefu.example.com"), addr).is_err());
}
