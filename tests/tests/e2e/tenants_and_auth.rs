//! Creating tenants and signing in and out, as a new user would.

use kefu_e2e::{ADMIN_PASSWORD, BOOTSTRAP, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::json;

fn new_tenant(email: &str, password: &str) -> serde_json::Value {
    json!({"name": "Acme Trading", "admin": {"email": email, "name": "Li Lei", "password": password}, "timezone": "Asia/Shanghai"})
}

#[tokio::test]
async fn tenant_creation_needs_the_bootstrap_token() {
    let t = spawn_app().await;
    let body = new_tenant("li@acme.test", ADMIN_PASSWORD);
    let r = t.call(Method::POST, "/v1/tenants", Some(body.clone()), None, &[]).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let r = t.call(Method::POST, "/v1/tenants", Some(body.clone()), None, &[("x-bootstrap-token", "wrong")]).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = t.call(Method::POST, "/v1/tenants", Some(body), None, &[("x-bootstrap-token", BOOTSTRAP)]).await;
    assert_eq!(r.status, StatusCode::CREATED);
    for field in ["tenant_id", "widget_key", "admin_id"] {
        assert!(r.body[field].as_str().is_some_and(|s| !s.is_empty()), "{field}");
    }
}

#[tokio::test]
async fn tenant_fields_are_validated_by_name() {
    let t = spawn_app().await;
    let cases = [
        (new_tenant("not-an-email", ADMIN_PASSWORD), "admin.email"),
        (new_tenant("li@acme.test", "short"), "admin.password"),
        (new_tenant("li@acme.test", "Acme Trading"), "admin.password"),
        (json!({"name": " ", "admin": {"email": "li@acme.test", "name": "Li", "password": ADMIN_PASSWORD}}), "name"),
        (
            json!({"name": "Acme", "admin": {"email": "li@acme.test", "name": "Li", "password": ADMIN_PASSWORD}, "timezone": "Nowhere/Else"}),
            "timezone",
        ),
    ];
    for (body, field) in cases {
        let r = t.call(Method::POST, "/v1/tenants", Some(body), None, &[("x-bootstrap-token", BOOTSTRAP)]).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        assert_eq!(r.body["error"]["field"], field);
    }
}

#[tokio::test]
async fn sign_in_me_and_sign_out() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "Li@Acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap();
    let r = t
        .post("/v1/auth/login", json!({"tenant_id": tenant, "email": "li@acme.test", "password": ADMIN_PASSWORD}), None)
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["expires_at"].as_str().unwrap().parse::<jiff::Timestamp>().unwrap() > jiff::Timestamp::now());
    assert_eq!(r.body["agent"]["role_id"], "admin");
    assert_eq!(r.body["agent"]["id"], created["admin_id"]);
    assert!(r.body["agent"].get("password_hash").is_none(), "the hash never leaves the server");
    let token = r.body["token"].as_str().unwrap().to_owned();

    let me = t.get("/v1/me", Some(&token)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "li@acme.test");
    assert!(me.body["last_login_at"].is_string());

    let second = t.login(tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let out = t.call(Method::POST, "/v1/auth/logout", None, Some(&token), &[]).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let r = t.get("/v1/me", Some(&token)).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "logout works at once");
    let r = t.call(Method::POST, "/v1/auth/logout", None, Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/v1/me", Some(&second)).await.status, StatusCode::OK, "other sessions live on");
}

#[tokio::test]
async fn unknown_user_and_wrong_password_answer_alike() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap();
    let other = t.create_tenant("Other", "han@other.test").await;
    let attempts = [
        json!({"tenant_id": tenant, "email": "li@acme.test", "password": "wrong password here"}),
        json!({"tenant_id": tenant, "email": "nobody@acme.test", "password": ADMIN_PASSWORD}),
        json!({"tenant_id": tenant, "email": "han@other.test", "password": ADMIN_PASSWORD}),
        json!({"tenant_id": other["tenant_id"], "email": "li@acme.test", "password": ADMIN_PASSWORD}),
        json!({"tenant_id": "tn_00000000000000000000000000", "email": "li@acme.test", "password": ADMIN_PASSWORD}),
        json!({"tenant_id": "not-a-tenant", "email": "li@acme.test", "password": ADMIN_PASSWORD}),
    ];
    let mut answers = Vec::new();
    for a in attempts {
        let r = t.post("/v1/auth/login", a, None).await;
        answers.push((r.status, r.body));
    }
    assert_eq!(answers[0].0, StatusCode::UNAUTHORIZED);
    assert_eq!(answers[0].1["error"]["code"], "invalid_credentials");
    for a in &answers {
        assert_eq!(a, &answers[0], "every failure looks the same");
    }
}

#[tokio::test]
async fn one_email_per_tenant_but_the_same_email_in_two_tenants() {
    let t = spawn_app().await;
    let a = t.create_tenant("A", "same@x.test").await;
    let b = t.create_tenant("B", "same@x.test").await;
    let ta = t.login(a["tenant_id"].as_str().unwrap(), "same@x.test", ADMIN_PASSWORD).await;
    let tb = t.login(b["tenant_id"].as_str().unwrap(), "same@x.test", ADMIN_PASSWORD).await;
    assert_eq!(t.get("/v1/me", Some(&ta)).await.body["tenant_id"], a["tenant_id"]);
    assert_eq!(t.get("/v1/me", Some(&tb)).await.body["tenant_id"], b["tenant_id"]);
}
