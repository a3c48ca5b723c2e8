//! The authorization matrix: every route of `/v1/openapi.json` (built from the routers' own registrations,
//! so a new route cannot be missed) × every built-in role × a custom role with no permissions × API keys ×
//! another tenant's ids, each checked against the route's declared permission:
//!
//! - `security(("bearer" = ["p"]))`: a caller lacking `p` gets 403 `forbidden` (and the refusal is audited);
//!   a caller holding it is not refused (401/403) — with another tenant's ids in the path, it gets 404 (or,
//!   when the empty test body is refused first, exactly the answer a made-up id gets);
//! - `security(("bearer" = []))`: every signed-in staff member passes; another tenant's ids are 404;
//! - every bearer route answers 401 without a token; widget routes refuse staff tokens;
//! - no answer is a 5xx;
//! - a route with no security annotation must be one of the few public routes listed here (the decision is
//!   made explicitly), and an unknown scheme or a route naming several permissions fails the test.

use std::collections::{BTreeMap, BTreeSet};

use kefu_e2e::{ADMIN_PASSWORD, Reply, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Routes that take no credentials at all, by decision.
const PUBLIC: &[&str] = &[
    "GET /v1/health",
    "POST /v1/tenants",
    "POST /v1/auth/login",
    "POST /v1/auth/mfa",
    "POST /v1/auth/mfa/email",
    // The signed link to a done export (its signature is the credential; checked in tests/tests/e2e/exports.rs).
    "GET /v1/exports/{id}/download",
    // The signed local links of attachments (the signature is the credential; checked in tests/tests/e2e/attachments.rs).
    "PUT /v1/widget/uploads/{id}",
    "GET /v1/widget/files/{id}",
];

/// Widget schemes (visitors): staff credentials never open them.
const WIDGET_SCHEMES: &[&str] = &["widget_key", "visitor"];

/// The id prefixes of the kinds of object a path names (the segment before `{id}`); an unknown kind gets a
/// ULID with a made-up prefix, which must answer 404 all the same.
const PREFIXES: &[(&str, &str)] = &[
    ("agents", "ag_"),
    ("roles", "ro_"),
    ("conversations", "cv_"),
    ("customers", "cu_"),
    ("sessions", "se_"),
    ("api_keys", "ak_"),
    ("messages", "ms_"),
    ("tags", "tg_"),
    ("quick_replies", "qr_"),
    ("blocks", "bl_"),
    ("tickets", "tk_"),
    ("approvals", "ap_"),
    ("rules", "ru_"),
    ("devices", "dv_"),
    ("exports", "ex_"),
];

/// Bodies that create one object of a kind in the other tenant, tried in order when `POST /v1/{kind}` exists.
fn factory_bodies(kind: &str) -> Vec<Value> {
    let mut bodies = match kind {
        "roles" => vec![json!({"name": "Foreign role", "permissions": []})],
        "api_keys" => vec![json!({"name": "Foreign key", "permissions": []})],
        "customer_groups" => vec![json!({"name": "Foreign VIP", "priority": "high"})],
        "groups" => vec![json!({"name": "Foreign group", "agent_ids": []}), json!({"name": "Foreign group"})],
        "schedules" => {
            vec![json!({"name": "Foreign hours", "timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "18:00"]]}})]
        }
        "tags" => vec![json!({"name": "foreign", "scope": "both", "color": "#ff0000"})],
        "quick_replies" => vec![json!({"title": "Hi", "content": "Hello", "category": "greeting", "scope": "team"})],
        "tickets" => vec![json!({"title": "Foreign ticket", "description": "x", "priority": "normal"})],
        "blocks" => vec![json!({"ip_cidr": "10.9.9.9", "reason": "foreign"})],
        "rules" => vec![json!({"name": "Foreign rule", "event": "message.received",
            "actions": [{"type": "set_priority", "priority": "high"}]})],
        "exports" => vec![json!({"kind": "audit", "format": "jsonl"})],
        "agents" => vec![
            json!({"email": "foreign.agent@b.test", "name": "Foreign", "password": "a long enough agent password", "role_id": "agent"}),
        ],
        _ => vec![],
    };
    bodies.push(json!({"name": format!("Foreign {kind}")}));
    bodies
}

/// One caller of the home tenant.
struct Caller {
    label: String,
    /// A bearer token or an API key.
    token: String,
    is_key: bool,
    /// For re-signing in when a route ended the session (logout).
    email: Option<String>,
    /// The account id or key id audit entries name.
    actor: String,
    permissions: BTreeSet<String>,
}

impl Caller {
    async fn call(&self, t: &TestApp, m: Method, path: &str, body: Option<Value>) -> Reply {
        if self.is_key {
            t.with_key(m, path, body, &self.token).await
        } else {
            t.call(m, path, body, Some(&self.token), &[]).await
        }
    }
}

fn required_permission(op: &Value, route: &str) -> Result<Option<Decision>, String> {
    let Some(reqs) = op.get("security").and_then(Value::as_array) else { return Ok(None) };
    let (mut staff, mut widget) = (None, false);
    for req in reqs {
        for (scheme, scopes) in req.as_object().into_iter().flatten() {
            let scopes: Vec<String> =
                scopes.as_array().into_iter().flatten().filter_map(|s| s.as_str().map(str::to_owned)).collect();
            match scheme.as_str() {
                "bearer" if scopes.len() <= 1 => {
                    let d = scopes.into_iter().next();
                    if staff.as_ref().is_some_and(|prev| *prev != d) {
                        return Err(format!("{route}: several staff permissions"));
                    }
                    staff = Some(d);
                }
                "bearer" => return Err(format!("{route}: one permission per route, not {scopes:?}")),
                s if WIDGET_SCHEMES.contains(&s) => widget = true,
                other => return Err(format!("{route}: unknown security scheme `{other}`")),
            }
        }
    }
    // A route open to staff and visitors alike (a real-time ticket) is checked as a staff route.
    match (staff, widget) {
        (Some(p), _) => Ok(Some(Decision::Staff(p))),
        (None, true) => Ok(Some(Decision::Widget)),
        (None, false) => Err(format!("{route}: an empty security list is no decision")),
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    /// A staff route needing this permission (None: any signed-in staff member).
    Staff(Option<String>),
    /// A widget route.
    Widget,
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_permission_says() {
    let t = spawn_app().await;
    let doc = t.get("/v1/openapi.json", None).await.body;
    let catalogue: BTreeSet<String> = kefu_domain::Permission::ALL.iter().map(|p| p.name().to_owned()).collect();

    // The routes and their decisions, before anything runs: a route without a decision fails here.
    let mut routes = Vec::new();
    let mut problems = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let route = format!("{} {path}", method.to_uppercase());
            match required_permission(op, &route) {
                Ok(Some(d)) => {
                    if let Decision::Staff(Some(p)) = &d
                        && !catalogue.contains(p)
                    {
                        problems.push(format!("{route}: `{p}` is not in the permission catalogue"));
                    }
                    routes.push((method.to_uppercase(), path.clone(), Some(d)));
                }
                Ok(None) if PUBLIC.contains(&route.as_str()) => routes.push((method.to_uppercase(), path.clone(), None)),
                Ok(None) => problems.push(format!(
                    "{route}: no security annotation; declare security((\"bearer\" = [\"<permission>\"])) or add it to PUBLIC"
                )),
                Err(e) => problems.push(e),
            }
        }
    }
    assert!(problems.is_empty(), "routes without a clear authorization decision:\n{}", problems.join("\n"));
    assert!(routes.len() >= 20, "the walk found the routes ({})", routes.len());

    // The home tenant's callers: each built-in role, a custom role with no permissions, and API keys.
    let home = t.create_tenant("Home", "admin@home.test").await;
    let home_id = home["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&home_id, "admin@home.test", ADMIN_PASSWORD).await;
    let empty_role = t.post("/v1/roles", json!({"name": "Nothing", "permissions": []}), Some(&admin)).await;
    let empty_role = empty_role.body["id"].as_str().expect("custom role").to_owned();
    const PASSWORD: &str = "a long enough staff password";
    let mut callers = vec![Caller {
        label: "admin".into(),
        token: admin.clone(),
        is_key: false,
        email: Some("admin@home.test".into()),
        actor: home["admin_id"].as_str().unwrap().to_owned(),
        permissions: catalogue.clone(),
    }];
    for (label, role) in [("supervisor", "supervisor"), ("agent", "agent"), ("custom-empty", empty_role.as_str())] {
        let email = format!("{label}@home.test");
        let actor = t.add_staff(&home_id, &email, role, PASSWORD).await;
        let token = t.login(&home_id, &email, PASSWORD).await;
        let permissions = match kefu_domain::BuiltinRole::from_name(role) {
            Some(b) => b.permissions().names().into_iter().map(str::to_owned).collect(),
            None => BTreeSet::new(),
        };
        callers.push(Caller { label: label.into(), token, is_key: false, email: Some(email), actor, permissions });
    }
    for (label, perms) in [("key-none", vec![]), ("key-customers", vec!["customers.view", "customers.edit"])] {
        let r = t.post("/v1/api_keys", json!({"name": label, "permissions": perms}), Some(&admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        callers.push(Caller {
            label: label.into(),
            token: r.body["key"].as_str().unwrap().to_owned(),
            is_key: true,
            email: None,
            actor: r.body["id"].as_str().unwrap().to_owned(),
            permissions: perms.into_iter().map(str::to_owned).collect(),
        });
    }

    // The other tenant's objects, made through whatever routes exist today.
    let other = t.create_tenant("Other", "admin@other.test").await;
    let other_id = other["tenant_id"].as_str().unwrap().to_owned();
    let other_admin = t.login(&other_id, "admin@other.test", ADMIN_PASSWORD).await;
    let mut foreign: BTreeMap<String, String> = BTreeMap::new();
    foreign.insert("agents".into(), other["admin_id"].as_str().unwrap().to_owned());
    let sessions = t.get("/v1/me/sessions", Some(&other_admin)).await;
    if let Some(id) = sessions.body["items"][0]["id"].as_str() {
        foreign.insert("sessions".into(), id.to_owned());
    }
    if doc["paths"]["/v1/widget/conversations"]["post"].is_object() {
        let r = t
            .start_conversation(other["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Foreign visitor"}}))
            .await;
        if r.status.is_success() {
            for (kind, field) in [("conversations", "conversation_id"), ("customers", "customer_id")] {
                if let Some(id) = r.body[field].as_str() {
                    foreign.insert(kind.into(), id.to_owned());
                }
            }
        }
    }
    let kinds: BTreeSet<String> =
        routes.iter().flat_map(|(_, path, _)| id_kinds(path).into_iter().map(|(_, kind)| kind)).collect();
    for kind in &kinds {
        if foreign.contains_key(kind) || !doc["paths"][format!("/v1/{kind}")]["post"].is_object() {
            continue;
        }
        for body in factory_bodies(kind) {
            let r = t.post(&format!("/v1/{kind}"), body, Some(&other_admin)).await;
            if let Some(id) = r.body["id"].as_str().filter(|_| r.status.is_success()) {
                foreign.insert(kind.clone(), id.to_owned());
                break;
            }
        }
    }

    let mut failures = Vec::new();
    let mut expected_denials = Vec::new();
    for (method, path, decision) in &routes {
        let m: Method = method.parse().unwrap();
        let has_ids = !id_kinds(path).is_empty();
        let concrete = fill(path, &foreign);
        let body = matches!(m, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
        let route = format!("{method} {path}");

        let anonymous = t.call(m.clone(), &concrete, body.clone(), None, &[]).await;
        if anonymous.status.is_server_error() {
            failures.push(format!("{route} without credentials: {}", anonymous.status));
        }
        let Some(decision) = decision else { continue };
        match decision {
            Decision::Widget => {
                if anonymous.status != StatusCode::UNAUTHORIZED {
                    failures.push(format!("{route} without credentials: {} (expected 401)", anonymous.status));
                }
                let r = t.call(m.clone(), &concrete, body.clone(), Some(&admin), &[]).await;
                if r.status.is_success() || r.status.is_server_error() {
                    failures.push(format!("{route} with a staff token: {}", r.status));
                }
                continue;
            }
            Decision::Staff(_) if anonymous.status != StatusCode::UNAUTHORIZED => {
                failures.push(format!("{route} without a token: {} (expected 401)", anonymous.status));
            }
            Decision::Staff(_) => {}
        }
        let Decision::Staff(permission) = decision else { unreachable!() };
        for caller in callers.iter_mut() {
            if caller.is_key && permission.is_none() {
                continue; // `[]` routes are for signed-in people; keys are checked on permissioned routes.
            }
            let r = caller.call(&t, m.clone(), &concrete, body.clone()).await;
            let who = format!("{route} as {} → {} {}", caller.label, r.status, r.body);
            let allowed = permission.as_ref().is_none_or(|p| caller.permissions.contains(p));
            if r.status.is_server_error() {
                failures.push(format!("{who}: server error"));
            } else if !allowed {
                if (r.status, r.code()) != (StatusCode::FORBIDDEN, "forbidden") {
                    failures.push(format!("{who}: expected 403 forbidden"));
                } else {
                    expected_denials.push((caller.actor.clone(), format!("{method} {concrete}")));
                }
            } else if has_ids && r.status != StatusCode::NOT_FOUND {
                // A body refused before the lookup is fine as long as it says nothing about the id: the
                // answer must be exactly the one a made-up id gets.
                let probe = caller.call(&t, m.clone(), &fill(path, &BTreeMap::new()), body.clone()).await;
                let shape = |r: &Reply| (r.status, r.code().to_owned(), r.body["error"]["field"].clone());
                if r.status.is_success() || shape(&r) != shape(&probe) {
                    failures.push(format!("{who}: another tenant's ids must be 404 (made-up id: {})", probe.status));
                }
            } else if matches!(r.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
                failures.push(format!("{who}: refused a caller that holds the permission"));
            }
            // A route that succeeded may have ended the session (logout): sign in again.
            if r.status.is_success()
                && let Some(email) = caller.email.clone()
                && t.get("/v1/me", Some(&caller.token)).await.status == StatusCode::UNAUTHORIZED
            {
                let password = if caller.label == "admin" { ADMIN_PASSWORD } else { PASSWORD };
                caller.token = t.login(&home_id, &email, password).await;
            }
        }
    }
    assert!(failures.is_empty(), "{} authorization failures:\n{}", failures.len(), failures.join("\n"));

    // Every refusal for lack of permission is in the home tenant's audit log, as `denied`.
    let log = t.audit_entries(&home_id).await;
    let denied: BTreeSet<(String, String)> = log
        .iter()
        .filter(|e| e["outcome"] == "denied" && e["action"] == "permission.denied")
        .map(|e| {
            (
                e["actor_id"].as_str().unwrap_or_default().to_owned(),
                e["target_id"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let missing: Vec<_> = expected_denials.iter().filter(|d| !denied.contains(*d)).collect();
    assert!(!expected_denials.is_empty());
    assert!(missing.is_empty(), "refusals missing from the audit log: {missing:?}");
    assert!(
        t.audit_entries(&other_id).await.iter().all(|e| e["outcome"] != "denied"),
        "nothing leaks into the other log"
    );
}

/// The `{param}`s of a path with the kind of object each names (the segment before it).
fn id_kinds(path: &str) -> Vec<(String, String)> {
    let segments: Vec<&str> = path.split('/').collect();
    segments
        .iter()
        .enumerate()
        .filter(|(_, s)| s.starts_with('{') && s.ends_with('}'))
        .map(|(i, s)| (s.to_string(), segments.get(i.wrapping_sub(1)).copied().unwrap_or_default().to_owned()))
        .collect()
}

/// The path with each id replaced by the other tenant's object of that kind, or a well-formed random id.
fn fill(path: &str, foreign: &BTreeMap<String, String>) -> String {
    let mut out = path.to_owned();
    for (param, kind) in id_kinds(path) {
        let id = foreign.get(&kind).cloned().unwrap_or_else(|| {
            let prefix = PREFIXES.iter().find(|(k, _)| *k == kind).map_or("xx_", |(_, p)| p);
            format!("{prefix}{}", kefu_domain::security::SessionId::generate().ulid_part())
        });
        out = out.replace(&param, &id);
    }
    out
}

/// The routes whose decision depends on the conversation (`security(("bearer" = []))` with a check in the
/// handler): close, reopen and tags need the conversation's assignee or `conversations.assign`; seeing it is
/// not enough (issue 8, item 7). Each role is tried on each of them, in the conversation's every state.
#[tokio::test]
async fn conversation_actions_need_the_assignee_or_conversations_assign() {
    let t = spawn_app().await;
    let home = t.create_tenant("Home", "admin@home.test").await;
    let tenant = home["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "admin@home.test", ADMIN_PASSWORD).await;
    const PASSWORD: &str = "a long enough staff password";
    let watcher =
        t.post("/v1/roles", json!({"name": "Watcher", "permissions": ["conversations.view_all"]}), Some(&admin)).await;
    let watcher = watcher.body["id"].as_str().unwrap().to_owned();
    let empty = t.post("/v1/roles", json!({"name": "Nothing", "permissions": []}), Some(&admin)).await;
    let empty = empty.body["id"].as_str().unwrap().to_owned();
    let mut who = BTreeMap::new();
    who.insert("admin", (home["admin_id"].as_str().unwrap().to_owned(), admin.clone()));
    for (label, role) in [
        ("supervisor", "supervisor"),
        ("assignee", "agent"),
        ("colleague", "agent"),
        ("watcher", &watcher),
        ("nothing", &empty),
    ] {
        let email = format!("{label}@home.test");
        let id = t.add_staff(&tenant, &email, role, PASSWORD).await;
        who.insert(label, (id, t.login(&tenant, &email, PASSWORD).await));
    }
    let started = t.start_conversation(home["widget_key"].as_str().unwrap(), json!({})).await;
    let c = started.body["conversation_id"].as_str().expect("conversation").to_owned();
    let routed = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        !t.get(&format!("/v1/conversations/{c}"), Some(&admin)).await.body["routing"].is_null()
    })
    .await;
    assert!(routed);
    let r =
        t.post(&format!("/v1/conversations/{c}/assign"), json!({"agent_id": who["assignee"].0}), Some(&admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let act = |action: &'static str, label: &'static str| {
        let (path, method, body) = match action {
            "tags" => (format!("/v1/conversations/{c}/tags"), Method::PUT, Some(json!({"tags": [label]}))),
            other => (format!("/v1/conversations/{c}/{other}"), Method::POST, None),
        };
        let token = who[label].1.clone();
        let t = &t;
        async move { t.call(method, &path, body, Some(&token), &[]).await }
    };
    let mut failures = Vec::new();
    let mut expect = |what: &str, r: Reply, status: StatusCode| {
        if r.status != status {
            failures.push(format!("{what}: {} {} (expected {status})", r.status, r.body));
        }
    };
    // Open, assigned: the outsiders first, then those allowed to tag.
    for label in ["colleague", "watcher"] {
        expect(&format!("tags as {label}"), act("tags", label).await, StatusCode::FORBIDDEN);
        expect(&format!("close as {label}"), act("close", label).await, StatusCode::FORBIDDEN);
    }
    expect("tags as nothing", act("tags", "nothing").await, StatusCode::NOT_FOUND);
    expect("close as nothing", act("close", "nothing").await, StatusCode::NOT_FOUND);
    for label in ["assignee", "supervisor", "admin"] {
        expect(&format!("tags as {label}"), act("tags", label).await, StatusCode::OK);
    }
    expect("close as assignee", act("close", "assignee").await, StatusCode::OK);
    // Closed (it keeps its last assignee).
    for label in ["colleague", "watcher"] {
        expect(&format!("reopen as {label}"), act("reopen", label).await, StatusCode::FORBIDDEN);
    }
    expect("reopen as nothing", act("reopen", "nothing").await, StatusCode::NOT_FOUND);
    expect("reopen as supervisor", act("reopen", "supervisor").await, StatusCode::OK);
    // Reopened, routed again (nobody is online): the former assignee is no longer its handler.
    expect("close as former assignee", act("close", "assignee").await, StatusCode::FORBIDDEN);
    expect("close as admin", act("close", "admin").await, StatusCode::OK);
    expect("reopen as admin", act("reopen", "admin").await, StatusCode::OK);
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let denials = t
        .audit_entries(&tenant)
        .await
        .into_iter()
        .filter(|e| e["action"] == "permission.denied" && e["detail"]["permission"] == "conversations.assign")
        .count();
    assert_eq!(denials, 7, "every 403 is audited as a denial");
}
