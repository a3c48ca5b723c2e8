//! Personal data written the way visitors write it (full-width digits from Chinese input methods, numbers
//! split by dots, spaces or zero-width characters, full-width `＠`/`．`, landlines, mistyped ID numbers)
//! reaches an agent without `customers.view_sensitive` masked; and the audit trail records reads of the log,
//! refused bootstrap tokens (rate limited) and which customers a list page showed.

use kefu_e2e::{ADMIN_PASSWORD, BOOTSTRAP, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const AGENT_PASSWORD: &str = "a long enough agent password";

/// A tenant with its admin's token, an agent of the built-in `agent` role (no `customers.view_sensitive`)
/// and the widget key.
async fn shop(t: &TestApp) -> (String, String, String, String) {
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let r = t
        .post(
            "/v1/agents",
            json!({"email": "ann@acme.test", "name": "Ann", "password": AGENT_PASSWORD, "role_id": "agent"}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let agent = t.login(&tenant, "ann@acme.test", AGENT_PASSWORD).await;
    (tenant, admin, agent, created["widget_key"].as_str().unwrap().to_owned())
}

/// The ASCII digits a reader sees in `text`, with full-width digits read as digits and invisible characters
/// ignored (what a person copying the number would get).
fn digits(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_u32(u32::from(c) - 0xFEE0),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn disguised_personal_data_from_the_widget_reaches_an_agent_masked() {
    let t = spawn_app().await;
    let (_tenant, admin, agent, widget_key) = shop(&t).await;
    let started = t.start_conversation(&widget_key, json!({"visitor": {"name": "Wang Fang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let conversation = started.body["conversation_id"].as_str().unwrap().to_owned();
    let visitor = started.body["visitor_token"].as_str().unwrap().to_owned();

    // Each message and the digits (or address) that must not reach the agent whole.
    let sent: [(&str, &str); 9] = [
        ("手机１３８１２３４５６７８", "13812345678"),
        ("手机 138.1234.5678 谢谢", "13812345678"),
        ("手机 1 3 8 1 2 3 4 5 6 7 8", "13812345678"),
        ("手机138\u{200B}1234\u{200B}5678", "13812345678"),
        ("邮箱 ｗａｎｇ.ｆａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ", "wang.fang@example.com"),
        ("卡号 ６２２２．０２１２．３４５６．７８９４", "6222021234567894"),
        ("座机 010-87654321，或者 (021)12345678", "87654321"),
        ("座机 0755 1234 5678", "075512345678"),
        ("身份证 110105194912310021", "110105194912310021"),
    ];
    for (text, _) in &sent {
        let r = t.visitor_send(&visitor, text).await;
        assert_eq!(r.status, StatusCode::CREATED, "{text}: {:?}", r.body);
    }
    let path = format!("/v1/conversations/{conversation}/messages?limit=50");
    let shown = t.get(&path, Some(&agent)).await;
    assert_eq!(shown.status, StatusCode::OK, "{:?}", shown.body);
    let contents: Vec<String> = shown.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["content"].as_str().map(str::to_owned))
        .collect();
    for (text, secret) in &sent {
        // What the agent got is the domain's masking of the message, and the secret is not in it.
        let masked = kefu_domain::masking::mask_text(text).into_owned();
        assert!(contents.contains(&masked), "{text}: the agent got {contents:?}");
        assert_ne!(&masked, text, "{text} was not masked");
        if secret.contains('@') {
            let folded: String = masked
                .chars()
                .map(|c| match c {
                    '！'..='～' => char::from_u32(u32::from(c) - 0xFEE0).unwrap(),
                    c => c,
                })
                .collect();
            assert!(!folded.contains(secret), "{masked}");
        } else {
            assert!(!digits(&masked).contains(secret), "{text} reached the agent as {masked}");
        }
    }
    // The user's own characters stay around the hidden digits.
    assert!(contents.iter().any(|c| c == "手机１３８****５６７８"), "{contents:?}");
    assert!(contents.iter().any(|c| c == "邮箱 ｗ***＠ｅｘａｍｐｌｅ．ｃｏｍ"), "{contents:?}");
    // The admin (who holds the permission) and the visitor see the words as written.
    let full = t.get(&path, Some(&admin)).await;
    let full: Vec<&str> = full.body["items"].as_array().unwrap().iter().filter_map(|m| m["content"].as_str()).collect();
    for (text, _) in &sent {
        assert!(full.contains(text), "{text} not shown whole to the admin");
    }
    let own = t.visitor_poll(&visitor, None).await;
    assert!(own.body["items"].as_array().unwrap().iter().any(|m| m["content"] == sent[0].0));
}

/// The entries of the platform chain (refused bootstrap tokens), oldest first.
async fn platform_entries(t: &TestApp) -> Vec<Value> {
    let page = t
        .app()
        .table
        .query(
            kefu_ports::table::Query::partition(kefu_app::plumbing::keys::audit_pk(&kefu_app::audit::platform()))
                .prefix(kefu_app::plumbing::keys::AUDIT_ENTRY_PREFIX),
        )
        .await
        .unwrap();
    page.items.into_iter().map(Value::Object).collect()
}

async fn bootstrap(t: &TestApp, name: &str, token: Option<&str>) -> kefu_e2e::Reply {
    let body = json!({"name": name, "admin": {"email": "op@x.test", "name": "Op", "password": ADMIN_PASSWORD}});
    let headers: Vec<(&str, &str)> = token.map(|v| ("x-bootstrap-token", v)).into_iter().collect();
    t.call(Method::POST, "/v1/tenants", Some(body), None, &headers).await
}

#[tokio::test]
async fn refused_bootstrap_tokens_are_audited_and_rate_limited_per_ip() {
    let t = spawn_app().await;
    // The operator's own calls cost nothing against the limit (else the refusals below would meet it sooner).
    for k in 0..12 {
        let r = bootstrap(&t, &format!("Shop {k}"), Some(BOOTSTRAP)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    // The limit counts in fixed one-minute windows: start the refusals well inside one, so a slow machine does
    // not see the count reset half-way.
    let into_minute = jiff::Timestamp::now().as_second().rem_euclid(60);
    if into_minute > 45 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - into_minute as u64)).await;
    }
    let r = bootstrap(&t, "Wrong", Some("not-the-token")).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = bootstrap(&t, "Missing", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let entries = platform_entries(&t).await;
    let refused: Vec<&Value> = entries.iter().filter(|e| e["action"] == "tenant.bootstrap").collect();
    assert_eq!(refused.len(), 2, "{entries:?}");
    assert!(refused.iter().all(|e| e["outcome"] == "denied" && e["ip"] == "127.0.0.1"), "{refused:?}");
    assert_eq!(refused[0]["detail"]["reason"], "wrong_token");
    assert_eq!(refused[1]["detail"]["reason"], "missing_token");
    assert!(refused.iter().all(|e| e.get("detail").is_some_and(|d| !d.to_string().contains("not-the-token"))));

    // Ten refusals a minute per IP; then 429 without the token being compared, the right one included.
    for k in 2..10 {
        let r = bootstrap(&t, "Guess", Some(&format!("guess-{k}"))).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "try {k}");
    }
    let r = bootstrap(&t, "Guess", Some("guess-10")).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(r.headers.get("retry-after").is_some());
    let r = bootstrap(&t, "Right", Some(BOOTSTRAP)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "not compared once the budget is spent");
    let refused = platform_entries(&t).await.into_iter().filter(|e| e["action"] == "tenant.bootstrap").count();
    assert_eq!(refused, 10, "refusals past the limit are not written one by one");
    // The platform chain is a chain like a tenant's: `kefu audit verify --tenant platform` walks it.
    let (mut out, mut progress) = (Vec::new(), Vec::new());
    let report =
        kefu_local::cli::verify_audit_chain(t.app(), &kefu_app::audit::platform(), &mut out, &mut progress, false)
            .await
            .expect("verify runs");
    assert!(report.is_intact() && report.entries == 10, "{report:?}");
}

#[tokio::test]
async fn reads_of_the_audit_log_and_of_customer_lists_are_audited() {
    let t = spawn_app().await;
    let (tenant, admin, _agent, widget_key) = shop(&t).await;

    let r = t.get("/v1/audit?action=auth.login&limit=5", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let shown = r.body["items"].as_array().unwrap().len();
    let log = t.audit_entries(&tenant).await;
    let read = log.iter().rev().find(|e| e["action"] == "audit.read").expect("the read is on the trail");
    assert_eq!(read["outcome"], "success");
    assert_eq!(read["detail"]["action"], "auth.login");
    assert_eq!(read["detail"]["entries"], shown);
    assert!(read["actor_id"].as_str().unwrap().starts_with("ag_"));

    let mut ids = Vec::new();
    for k in 0..3 {
        let r = t.start_conversation(&widget_key, json!({"visitor": {"name": format!("Visitor {k}")}})).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        ids.push(r.body["customer_id"].as_str().unwrap().to_owned());
    }
    let r = t.get("/v1/customers?limit=2", Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let page: Vec<String> =
        r.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect();
    assert_eq!(page.len(), 2);
    let log = t.audit_entries(&tenant).await;
    let listed = log
        .iter()
        .rev()
        .find(|e| e["action"] == "customer.read" && e["target_id"].is_null())
        .expect("the list read is on the trail");
    let named: Vec<String> = listed["detail"]["customer_ids"]
        .as_array()
        .expect("the ids the page showed")
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(named, page);
    assert!(named.iter().all(|id| ids.contains(id)));
    assert_eq!(listed["detail"]["ids_omitted"], 0);
}
