//! API.md's conventions through HTTP: health, the OpenAPI document, JSON errors for unknown routes, wrong
//! methods, bad JSON, wrong types and oversized bodies — never a 5xx for a client's mistake.

use kefu_e2e::{BOOTSTRAP, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_and_openapi() {
    let t = spawn_app().await;
    let r = t.get("/v1/health", None).await;
    assert_eq!((r.status, r.body.clone()), (StatusCode::OK, json!({"status": "ok"})));
    let doc = t.get("/v1/openapi.json", None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert!(doc.body["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/v1/health", "/v1/tenants", "/v1/auth/login", "/v1/auth/logout", "/v1/me"] {
        assert!(doc.body["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    assert!(doc.body["components"]["schemas"]["LoginOk"].is_object());
    assert!(r.headers.get("x-request-id").is_some(), "every answer carries a request id");
}

/// Maps of strings say so, so the generated TypeScript types them (`{[key: string]: string}`, not
/// `Record<string, never>`, which no pre-chat answer fits).
#[tokio::test]
async fn string_maps_are_typed_in_the_openapi_document() {
    let t = spawn_app().await;
    let doc = t.get("/v1/openapi.json", None).await.body;
    let pre_chat = &doc["components"]["schemas"]["StartRequest"]["properties"]["pre_chat"];
    assert_eq!(pre_chat["additionalProperties"], json!({"type": "string"}), "{pre_chat}");
    assert_eq!(pre_chat["type"], json!(["object", "null"]), "{pre_chat}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_json() {
    let t = spawn_app().await;
    // (`/` and other paths outside `/v1` are the console's: tests/web.rs.)
    for path in ["/v1/nope", "/v1", "/v1/widget/nope", "/v1/tenants/x/y"] {
        let r = t.get(path, None).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{path}");
    }
    let r = t.call(Method::DELETE, "/v1/health", None, None, &[]).await;
    assert_eq!(r.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(r.code(), "method_not_allowed");
    let r = t.get("/v1/widget/conversations", None).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed"),
        "the widget starts by POST"
    );
}

#[tokio::test]
async fn bad_bodies_get_the_documented_errors() {
    let t = spawn_app().await;
    let raw = |body: &'static str| {
        t.client.post(format!("{}/v1/auth/login", t.base)).header("content-type", "application/json").body(body)
    };
    let r = raw("{not json").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "invalid_json");

    let r = t.post("/v1/auth/login", json!({"tenant_id": 5, "email": "a@b.co", "password": "x"}), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
    assert_eq!(r.body["error"]["field"], "tenant_id");

    let r = t.post("/v1/auth/login", json!({"email": "a@b.co", "password": "x"}), None).await;
    assert_eq!((r.code(), r.body["error"]["field"].as_str()), ("validation_failed", Some("tenant_id")));

    let r = t.post("/v1/auth/login", json!(["not", "an", "object"]), None).await;
    assert_eq!(r.code(), "validation_failed");

    let big = format!("{{\"name\": \"{}\"}}", "x".repeat(1024 * 1024 + 1));
    let r = t
        .client
        .post(format!("{}/v1/tenants", t.base))
        .header("content-type", "application/json")
        .header("x-bootstrap-token", BOOTSTRAP)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["error"]["code"], "too_large");
}

#[tokio::test]
async fn malformed_input_never_yields_a_server_error() {
    let t = spawn_app().await;
    let bodies = [
        json!(null),
        json!({}),
        json!({"name": "", "admin": {}}),
        json!({"name": "\u{0000}", "admin": {"email": "x", "name": "y", "password": "z"}}),
        json!({"name": "A", "admin": {"email": "a@b.co", "name": "B", "password": "p".repeat(5000)}}),
        json!({"name": "A", "admin": {"email": "a@b.co", "name": "B", "password": "long enough pass"}, "timezone": "Mars/Base"}),
        json!({"name": "A", "admin": {"email": "a@b.co", "name": "B", "password": "long enough pass"}, "extra": 1}),
    ];
    for b in bodies {
        let r = t.call(Method::POST, "/v1/tenants", Some(b.clone()), None, &[("x-bootstrap-token", BOOTSTRAP)]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{b} → {:?}", r.body);
        assert!(matches!(r.code(), "validation_failed" | "invalid_json"), "{b}");
    }
    for token in ["", "garbage", "kfs_", "kfs_forged-token-value", &"k".repeat(5000)] {
        let r = t.get("/v1/me", Some(token)).await;
        assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{token:?}");
    }
    let r = t.call(Method::GET, "/v1/me", None, None, &[("authorization", "Basic abc")]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

/// Walks every operation of the OpenAPI document — which is built from the router's own registrations, so a
/// new route cannot be missed — and checks that each one declaring bearer security refuses a missing, a
/// forged and a revoked token, while the public ones answer without one.
#[tokio::test]
async fn every_route_checks_its_caller() {
    let t = spawn_app().await;
    let doc = t.get("/v1/openapi.json", None).await.body;
    let created = t.create_tenant("Walk", "walk@x.test").await;
    let revoked = t.login(created["tenant_id"].as_str().unwrap(), "walk@x.test", kefu_e2e::ADMIN_PASSWORD).await;
    assert_eq!(t.call(Method::POST, "/v1/auth/logout", None, Some(&revoked), &[]).await.status, StatusCode::NO_CONTENT);
    let mut protected = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let m: Method = method.to_uppercase().parse().unwrap();
            let concrete = path.replace(['{', '}'], "");
            let needs_token = op["security"].as_array().is_some_and(|s| s.iter().any(|r| r.get("bearer").is_some()));
            if needs_token {
                protected += 1;
                for token in [None, Some("kfs_forged"), Some(revoked.as_str())] {
                    let r = t.call(m.clone(), &concrete, Some(json!({})), token, &[]).await;
                    assert_eq!(
                        (r.status, r.code()),
                        (StatusCode::UNAUTHORIZED, "unauthenticated"),
                        "{method} {path} with {token:?}"
                    );
                }
            } else {
                let r = t.call(m.clone(), &concrete, None, None, &[]).await;
                assert!(!r.status.is_server_error(), "{method} {path}: {:?}", r.body);
            }
        }
    }
    assert!(protected >= 2, "the walk found the protected routes");
}
