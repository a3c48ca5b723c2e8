//! The audit log end to end: `GET /v1/audit` with its filters and paging, the chain verification that finds a
//! tampered log, and security alerts reaching the tenant's admins by email.

use std::time::Duration;

use kefu_app::assignment::agents::{NewAgent, create_agent};
use kefu_app::plumbing::keys;
use kefu_domain::TenantId;
use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use kefu_ports::table::Update;
use reqwest::StatusCode;
use serde_json::{Value, json};

const AGENT_PASSWORD: &str = "an agent's long password";

/// A tenant with its admin signed in; answers (tenant id, admin id, admin token).
async fn tenant(app: &TestApp, name: &str, email: &str) -> (TenantId, String, String) {
    let created = app.create_tenant(name, email).await;
    let t = created["tenant_id"].as_str().unwrap().to_owned();
    let token = app.login(&t, email, ADMIN_PASSWORD).await;
    (TenantId::parse(&t).unwrap(), created["admin_id"].as_str().unwrap().to_owned(), token)
}

/// A staff account with `role` created directly through the app; answers its id.
async fn staff(app: &TestApp, t: &TenantId, email: &str, role: &str) -> String {
    let req = NewAgent {
        email: email.into(),
        name: "Staff".into(),
        password: AGENT_PASSWORD.into(),
        role_id: role.into(),
        group_ids: vec![],
        skills: vec![],
        max_concurrent: None,
        schedule_id: None,
    };
    create_agent(app.app(), t, req, None).await.expect("agent created").id
}

/// Every item of a list, following `next_cursor`.
async fn all_pages(app: &TestApp, path: &str, token: &str) -> Vec<Value> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let sep = if path.contains('?') { '&' } else { '?' };
        let url = match &cursor {
            Some(c) => format!("{path}{sep}cursor={c}"),
            None => path.to_owned(),
        };
        let r = app.get(&url, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{url}: {:?}", r.body);
        // Every read is itself recorded (`audit.read`): leave those out, so reads compare with each other.
        items.extend(r.body["items"].as_array().unwrap().iter().filter(|e| e["action"] != "audit.read").cloned());
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return items,
        }
    }
    panic!("more than 100 pages");
}

#[tokio::test]
async fn the_audit_log_lists_filters_pages_and_stays_in_its_tenant() {
    let app = spawn_app().await;
    let (t, admin_id, admin) = tenant(&app, "Acme", "admin@acme.example").await;
    let agent_id = staff(&app, &t, "agent@acme.example", "agent").await;
    let agent = app.login(t.as_str(), "agent@acme.example", AGENT_PASSWORD).await;
    let wrong = json!({"tenant_id": t, "email": "agent@acme.example", "password": "not the password at all"});
    assert_eq!(app.post("/v1/auth/login", wrong, None).await.status, StatusCode::UNAUTHORIZED);

    // Without `audit.view`: 403, and the refusal is itself in the log.
    let r = app.get("/v1/audit", Some(&agent)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    let everything = all_pages(&app, "/v1/audit", &admin).await;
    let first = &everything[0];
    for field in ["id", "at", "actor_id", "action", "target_type", "target_id", "ip", "outcome"] {
        assert!(first.get(field).is_some(), "{field} missing in {first}");
    }
    let seqs: Vec<u64> = everything.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] > w[1]), "newest first: {seqs:?}");
    assert_eq!(*seqs.last().unwrap(), 1);
    let failed: Vec<&Value> =
        everything.iter().filter(|e| e["action"] == "auth.login" && e["outcome"] == "failure").collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["actor_id"], agent_id.as_str());
    assert_eq!(failed[0]["ip"], "127.0.0.1");

    // Paging by one gives the same entries.
    assert_eq!(all_pages(&app, "/v1/audit?limit=1", &admin).await, everything);

    // Filters: action (also paged), actor, time.
    let logins = all_pages(&app, "/v1/audit?action=auth.login&limit=1", &admin).await;
    assert!(logins.len() >= 3 && logins.iter().all(|e| e["action"] == "auth.login"), "{logins:?}");
    assert_eq!(logins, everything.iter().filter(|e| e["action"] == "auth.login").cloned().collect::<Vec<_>>());
    let by_agent = all_pages(&app, &format!("/v1/audit?actor_id={agent_id}"), &admin).await;
    assert!(!by_agent.is_empty() && by_agent.iter().all(|e| e["actor_id"] == agent_id.as_str()));
    let admin_logins = all_pages(&app, &format!("/v1/audit?actor_id={admin_id}&action=auth.login"), &admin).await;
    assert_eq!(admin_logins.len(), 1);
    let middle = &everything[everything.len() / 2];
    let at = middle["at"].as_str().unwrap();
    let since = all_pages(&app, &format!("/v1/audit?since={at}"), &admin).await;
    assert!(since.iter().any(|e| e["id"] == middle["id"]));
    assert!(since.iter().all(|e| e["at"].as_str().unwrap() >= at));
    let until = all_pages(&app, &format!("/v1/audit?until={at}"), &admin).await;
    assert!(until.iter().all(|e| e["at"].as_str().unwrap() < at), "until is exclusive");
    assert!(until.len() + since.len() >= everything.len());

    // Bad input is a clear 400.
    for (q, field) in [
        ("since=yesterday", "since"),
        ("until=2026-13-01T00:00:00Z", "until"),
        ("since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("limit=0", "limit"),
        ("cursor=nonsense", "cursor"),
    ] {
        let r = app.get(&format!("/v1/audit?{q}"), Some(&admin)).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field)),
            "{q}"
        );
    }
    // A cursor of the actor list does not continue the time list.
    let r = app.get(&format!("/v1/audit?actor_id={agent_id}&limit=1"), Some(&admin)).await;
    let foreign = r.body["next_cursor"].as_str().expect("more than one entry of the agent");
    let r = app.get(&format!("/v1/audit?cursor={foreign}"), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Another tenant sees only its own log, even when asking for this tenant's actor.
    let (_, _, other) = tenant(&app, "Other", "admin@other.example").await;
    let theirs = all_pages(&app, "/v1/audit", &other).await;
    assert!(theirs.iter().all(|e| e["actor_id"] != admin_id.as_str() && e["actor_id"] != agent_id.as_str()));
    assert!(all_pages(&app, &format!("/v1/audit?actor_id={agent_id}"), &other).await.is_empty());
}

#[tokio::test]
async fn verify_finds_an_edited_and_a_removed_entry_and_passes_a_clean_chain() {
    let app = spawn_app().await;
    let (t, _, _) = tenant(&app, "Acme", "admin@acme.example").await;
    for _ in 0..4 {
        app.login(t.as_str(), "admin@acme.example", ADMIN_PASSWORD).await;
    }
    let verify = |app: &TestApp, t: TenantId| {
        let app = app.app().clone();
        async move {
            let (mut out, mut progress) = (Vec::new(), Vec::new());
            let report = kefu_local::cli::verify_audit_chain(&app, &t, &mut out, &mut progress, false)
                .await
                .expect("verify runs");
            (report, String::from_utf8(out).unwrap())
        }
    };
    let (clean, out) = verify(&app, t.clone()).await;
    assert!(clean.is_intact(), "{clean:?}");
    assert!(clean.entries >= 5 && out.contains("intact"), "{out}");

    // Tamper through the table port: edit one field of entry 2, delete entry 4.
    let table = &app.app().table;
    table.update(&keys::audit_entry(&t, 2), Update::new().set("ip", json!("10.9.9.9")), None).await.unwrap();
    assert!(table.delete(&keys::audit_entry(&t, 4), None).await.unwrap().is_some());
    let (broken, out) = verify(&app, t.clone()).await;
    use kefu_app::audit::ChainProblem;
    assert_eq!(broken.problems, vec![ChainProblem::Edited { seq: 2 }, ChainProblem::Missing { from: 4, to: 4 }]);
    assert!(out.contains("EDITED   entry 2 (auth.login by "), "{out}");
    assert!(out.contains("REMOVED  entry 4") && out.contains("BROKEN: 2 problem(s)"), "{out}");
}

#[tokio::test]
async fn a_burst_of_failed_sign_ins_emails_every_admin_once() {
    let app = spawn_app().await;
    let (t, _, admin) = tenant(&app, "Acme", "admin@acme.example").await;
    staff(&app, &t, "second.admin@acme.example", "admin").await;
    staff(&app, &t, "agent@acme.example", "agent").await;
    let wrong = json!({"tenant_id": t, "email": "agent@acme.example", "password": "guessing guessing guessing"});
    for _ in 0..kefu_app::audit::anomaly::FAILED_SIGN_INS_PER_ACCOUNT + 3 {
        let r = app.post("/v1/auth/login", wrong.clone(), None).await;
        assert!(matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::LOCKED), "{:?}", r.body);
    }
    let alert_mail = |app: &TestApp| {
        app.mail()
            .into_iter()
            .filter(|m| m["subject"].as_str().unwrap_or_default().contains("security alert"))
            .map(|m| m["to"].as_str().unwrap_or_default().to_owned())
            .collect::<Vec<_>>()
    };
    assert!(
        eventually(Duration::from_secs(15), || async { alert_mail(&app).len() >= 2 }).await,
        "alert mail: {:?}",
        app.mail()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut to = alert_mail(&app);
    to.sort();
    assert_eq!(to, vec!["admin@acme.example", "second.admin@acme.example"], "admins only, once each");
    let body =
        app.mail().into_iter().find(|m| m["subject"].as_str().unwrap_or_default().contains("security alert")).unwrap();
    assert!(body["body"].as_str().unwrap().contains("failed sign-ins"), "{body}");

    let alerts = app.get("/v1/audit?action=security.alert", Some(&admin)).await;
    let items = alerts.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["detail"]["kind"], "failed_sign_in_burst");
    assert_eq!(items[0]["detail"]["scope"], "account");
}
