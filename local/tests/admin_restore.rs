//! `kefu admin restore` as an operator runs it, on a tenant whose only admin was disabled (the tenant can no
//! longer give access back): the account is enabled, made admin, given a one-time password that must be
//! changed at the first sign-in, its lock cleared and its sessions ended; an unknown email creates an admin;
//! the result is printed readably (or as JSON) and audited; operator mistakes are clear errors.

mod common;
use common::{kefu, text};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
use kefu_local::ServeConfig;
use kefu_ports::table::Update;
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough admin password";

fn config(dir: &Path) -> ServeConfig {
    ServeConfig { sweep_every: Duration::from_secs(60), ..ServeConfig::embedded(dir) }
}

fn restore(dir: &Path, args: &[&str]) -> Output {
    kefu(&["admin", "restore", "--data-dir"]).arg(dir).args(args).output().expect("kefu runs")
}

async fn call(
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = reqwest::Client::new().request(method, format!("{base}{path}"));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn restore_gives_a_locked_out_tenant_its_admin_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = kefu_local::start(config(dir.path())).await.unwrap();
    let created = create_tenant(
        &server.app,
        NewTenant {
            name: "Acme".into(),
            admin: NewAdmin { email: "admin@acme.example".into(), name: "Admin".into(), password: PASSWORD.into() },
            timezone: None,
        },
    )
    .await
    .unwrap();
    let t = kefu_domain::TenantId::parse(&created.tenant_id).unwrap();
    let admin = kefu_domain::AgentId::parse(&created.admin_id).unwrap();
    // The tenant lost its admin (the way the API no longer allows: straight in the store) and the account is
    // locked out by failed sign-ins.
    let demoted = Update::new().set("disabled", true).set("role_id", "agent");
    server.app.table.update(&kefu_app::plumbing::keys::agent(&t, &admin), demoted, None).await.unwrap();
    let base = format!("http://{}", server.addr);
    for _ in 0..6 {
        let body = json!({"tenant_id": t, "email": "admin@acme.example", "password": "not the password at all"});
        call(&base, reqwest::Method::POST, "/v1/auth/login", None, Some(body)).await;
    }
    server.stop().await;

    let out = restore(dir.path(), &["--tenant", t.as_str(), "--email", "Admin@Acme.example"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", text(&out.stderr));
    assert!(stdout.starts_with(&format!("admin restored in tenant {t}\n")), "{stdout}");
    assert!(
        stdout.contains(&format!("account   {admin} admin@acme.example (existing; was disabled, role agent)")),
        "{stdout}"
    );
    assert!(stdout.contains("one-time: the first sign-in must set a new password"), "{stdout}");
    let one_time =
        stdout.lines().find_map(|l| l.trim().strip_prefix("password  ")).expect("password printed").trim().to_owned();
    assert!(one_time.len() >= 20, "{one_time}");

    let server = kefu_local::start(config(dir.path())).await.unwrap();
    let base = format!("http://{}", server.addr);
    let body = json!({"tenant_id": t, "email": "admin@acme.example", "password": one_time});
    let (status, login) = call(&base, reqwest::Method::POST, "/v1/auth/login", None, Some(body)).await;
    assert_eq!(status, 200, "enabled and unlocked: {login}");
    assert_eq!(login["password_change_required"], true, "{login}");
    assert_eq!(login["agent"]["role_id"], "admin");
    let token = login["token"].as_str().unwrap().to_owned();
    let (status, refused) = call(&base, reqwest::Method::GET, "/v1/agents", Some(&token), None).await;
    assert_eq!((status, refused["error"]["code"].as_str()), (403, Some("password_expired")));
    let change = json!({"current_password": one_time, "new_password": "the admin's own new password"});
    let (status, body) = call(&base, reqwest::Method::POST, "/v1/me/password", Some(&token), Some(change)).await;
    assert!((200..300).contains(&status), "{status} {body}");
    let (status, agents) = call(&base, reqwest::Method::GET, "/v1/agents", Some(&token), None).await;
    assert_eq!(status, 200, "an administrator again: {agents}");
    let log = kefu_app::audit::verify(&server.app, &t, |_| {}).await.unwrap();
    assert!(log.is_intact());
    server.stop().await;

    // An email no account has: an admin is created. JSON for scripts.
    let out = restore(dir.path(), &["--tenant", t.as_str(), "--email", "ops@acme.example", "--name", "Ops", "--json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("one JSON object");
    assert_eq!(r["created"], true);
    assert_eq!(r["email"], "ops@acme.example");
    assert!(r["one_time_password"].as_str().is_some_and(|p| p.len() >= 20));

    let server = kefu_local::start(config(dir.path())).await.unwrap();
    let entries = server
        .app
        .table
        .query(
            kefu_ports::table::Query::partition(kefu_app::plumbing::keys::audit_pk(&t))
                .prefix(kefu_app::plumbing::keys::AUDIT_ENTRY_PREFIX),
        )
        .await
        .unwrap()
        .items;
    let restores: Vec<_> =
        entries.iter().filter(|e| e["actor_id"] == "operator" && e["detail"]["op"] == "admin.restore").collect();
    assert_eq!(restores.len(), 2, "both restores are audited");
    assert_eq!(restores[0]["target_id"], admin.as_str());
    assert_eq!(restores[0]["detail"]["role_id"], json!({"from": "agent", "to": "admin"}));
    server.stop().await;

    // Operator mistakes.
    let unknown = restore(dir.path(), &["--tenant", "tn_01jzzzzzzzzzzzzzzzzzzzzzzz", "--email", "a@b.example"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no tenant"), "{}", text(&unknown.stderr));
    let bad = restore(dir.path(), &["--tenant", t.as_str(), "--email", "not an email"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("email"), "{}", text(&bad.stderr));
    let empty = tempfile::tempdir().unwrap();
    let nothing = restore(empty.path(), &["--tenant", t.as_str(), "--email", "a@b.example"]);
    assert!(text(&nothing.stderr).contains("no Kefu data"), "{}", text(&nothing.stderr));
}
