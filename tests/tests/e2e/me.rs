//! `GET /v1/me` tells the console what the caller may do, and the widget settings name the widget key the
//! embed snippet needs.

use kefu_e2e::spawn_app;
use serde_json::{Value, json};

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("permissions list in {v}"))
        .iter()
        .map(|p| p.as_str().expect("name").to_owned())
        .collect()
}

#[tokio::test]
async fn me_lists_the_roles_permissions_and_settings_name_the_widget_key() {
    let t = spawn_app().await;
    let tenant = t.create_tenant("Acme", "admin@acme.example").await;
    let tenant_id = tenant["tenant_id"].as_str().expect("tenant id");
    let admin = t.login(tenant_id, "admin@acme.example", kefu_e2e::ADMIN_PASSWORD).await;

    let me = t.get("/v1/me", Some(&admin)).await;
    assert_eq!(me.status, 200);
    assert!(me.body["permissions"].is_array(), "{:?}", me.body);
    let perms = names(&me.body["permissions"]);
    for p in ["agents.manage", "roles.manage", "settings.manage", "customers.view_sensitive"] {
        assert!(perms.iter().any(|x| x == p), "admin holds {p}: {perms:?}");
    }
    assert_eq!(me.body["restriction"], Value::Null);
    assert_eq!(me.body["email"], "admin@acme.example", "the account's fields stay at the top level");

    t.add_staff(tenant_id, "agent@acme.example", "agent", "an agent's long password").await;
    let agent = t.login(tenant_id, "agent@acme.example", "an agent's long password").await;
    let me = t.get("/v1/me", Some(&agent)).await;
    assert_eq!(me.status, 200, "{:?}", me.body);
    let perms = names(&me.body["permissions"]);
    assert!(!perms.iter().any(|x| x == "agents.manage" || x == "settings.manage"), "agent: {perms:?}");
    assert!(perms.iter().any(|x| x == "conversations.reply"), "agent replies: {perms:?}");

    let settings = t.get("/v1/settings/widget", Some(&admin)).await;
    assert_eq!(settings.status, 200);
    assert_eq!(settings.body["widget_key"], tenant["widget_key"]);
    let put =
        t.call(reqwest::Method::PUT, "/v1/settings/widget", Some(json!({"title": "Help"})), Some(&admin), &[]).await;
    assert_eq!(put.status, 200, "{:?}", put.body);
    assert_eq!(put.body["widget_key"], tenant["widget_key"]);
    assert_eq!(put.body["title"], "Help");
}
