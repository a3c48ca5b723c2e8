//! Issue 8, items 1, 2 and 9: no one gives more access than they hold, or takes over an account above them
//! (a holder of `agents.manage` making itself admin, creating admins, changing an admin's email and password);
//! an email change tells the old address; role and email changes are audited with their old and new values;
//! a tenant never loses its last administrator (demote, disable, role edit, role delete answer 409, even when
//! raced); disabled accounts are enabled again; names refuse invisible characters and role names compare by
//! NFKC. One's own password changes only through `POST /v1/me/password`; ending an account's sessions follows
//! the granting rule.

use kefu_e2e::{ADMIN_PASSWORD, Reply, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const PASSWORD: &str = "a long enough staff password";

struct Tenant {
    t: TestApp,
    id: String,
    admin_id: String,
    admin: String,
}

impl Tenant {
    async fn new() -> Self {
        Self::on(spawn_app().await).await
    }

    async fn on(t: TestApp) -> Self {
        let created = t.create_tenant("Acme", "admin@acme.test").await;
        let id = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&id, "admin@acme.test", ADMIN_PASSWORD).await;
        Self { admin_id: created["admin_id"].as_str().unwrap().to_owned(), t, id, admin }
    }

    async fn role(&self, name: &str, permissions: &[&str]) -> String {
        let r = self.t.post("/v1/roles", json!({"name": name, "permissions": permissions}), Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body["id"].as_str().unwrap().to_owned()
    }

    /// A signed-in account of `role`, made by the admin through the API: (id, token).
    async fn staff(&self, email: &str, role: &str) -> (String, String) {
        let body = json!({"email": email, "name": "Staff", "password": PASSWORD, "role_id": role});
        let r = self.t.post("/v1/agents", body, Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (r.body["id"].as_str().unwrap().to_owned(), self.t.login(&self.id, email, PASSWORD).await)
    }

    async fn patch(&self, agent: &str, body: Value, token: &str) -> Reply {
        self.t.call(Method::PATCH, &format!("/v1/agents/{agent}"), Some(body), Some(token), &[]).await
    }

    async fn agent(&self, agent: &str) -> Value {
        self.t.get(&format!("/v1/agents/{agent}"), Some(&self.admin)).await.body
    }

    async fn login_status(&self, email: &str, password: &str) -> StatusCode {
        let body = json!({"tenant_id": self.id, "email": email, "password": password});
        self.t.post("/v1/auth/login", body, None).await.status
    }

    async fn audit(&self, action: &str) -> Vec<Value> {
        self.t.audit_entries(&self.id).await.into_iter().filter(|e| e["action"] == action).collect()
    }
}

fn forbidden(r: &Reply, what: &str) {
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{what}: {:?}", r.body);
}

fn conflict(r: &Reply, what: &str) {
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{what}: {:?}", r.body);
}

#[tokio::test]
async fn agents_manage_cannot_make_admins_or_take_over_an_admin_account() {
    let s = Tenant::new().await;
    let hr_role = s.role("HR", &["agents.manage", "conversations.reply"]).await;
    let (hr, hr_t) = s.staff("hr@acme.test", &hr_role).await;

    // The reproduction from the issue: promote yourself, create an admin, take over the admin's account.
    forbidden(&s.patch(&hr, json!({"role_id": "admin"}), &hr_t).await, "self-promotion");
    assert_eq!(s.agent(&hr).await["role_id"], hr_role.as_str());
    for role in ["admin", "supervisor", "agent"] {
        let body =
            json!({"email": format!("new.{role}@acme.test"), "name": "X", "password": PASSWORD, "role_id": role});
        forbidden(&s.t.post("/v1/agents", body, Some(&hr_t)).await, role);
    }
    for body in [
        json!({"email": "mine@acme.test"}),
        json!({"password": "a brand new admin password"}),
        json!({"role_id": hr_role}),
    ] {
        forbidden(&s.patch(&s.admin_id, body.clone(), &hr_t).await, &body.to_string());
    }
    forbidden(&s.t.post(&format!("/v1/agents/{}/disable", s.admin_id), json!({}), Some(&hr_t)).await, "disable");
    assert_eq!(s.login_status("admin@acme.test", ADMIN_PASSWORD).await, StatusCode::OK, "the admin is intact");
    assert_eq!(s.agent(&s.admin_id).await["email"], "admin@acme.test");
    // A change that touches no access (the display name) is still allowed.
    assert_eq!(s.patch(&s.admin_id, json!({"name": "Boss"}), &hr_t).await.status, StatusCode::OK);

    // Within its own permissions, HR works as before.
    let clerk = s.role("Clerk", &["conversations.reply"]).await;
    let body = json!({"email": "clerk@acme.test", "name": "Clerk", "password": PASSWORD, "role_id": clerk});
    let r = s.t.post("/v1/agents", body, Some(&hr_t)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let clerk_id = r.body["id"].as_str().unwrap().to_owned();
    let r = s.patch(&clerk_id, json!({"email": "clerk2@acme.test", "password": "another staff password"}), &hr_t).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    forbidden(&s.patch(&clerk_id, json!({"role_id": "agent"}), &hr_t).await, "agent has permissions HR lacks");

    // An API key with agents.manage is held to the same rule.
    let key = s.t.post("/v1/api_keys", json!({"name": "sync", "permissions": ["agents.manage"]}), Some(&s.admin)).await;
    let key = key.body["key"].as_str().unwrap().to_owned();
    let r =
        s.t.with_key(
            Method::PATCH,
            &format!("/v1/agents/{}", s.admin_id),
            Some(json!({"password": "a brand new admin password"})),
            &key,
        )
        .await;
    forbidden(&r, "key: admin password");
    let body = json!({"email": "key.admin@acme.test", "name": "X", "password": PASSWORD, "role_id": "admin"});
    forbidden(&s.t.with_key(Method::POST, "/v1/agents", Some(body), &key).await, "key: create admin");
}

#[tokio::test]
async fn an_own_password_changes_only_through_me_password() {
    let s = Tenant::new().await;
    let hr_role = s.role("HR", &["agents.manage", "conversations.reply"]).await;
    let (hr, hr_t) = s.staff("hr@acme.test", &hr_role).await;

    // The granting rule lets an account change itself; its password must still go through /v1/me/password,
    // which asks for the current one (a stolen session could otherwise set a new password and keep the account).
    for (me, token, email, password) in
        [(&s.admin_id, &s.admin, "admin@acme.test", ADMIN_PASSWORD), (&hr, &hr_t, "hr@acme.test", PASSWORD)]
    {
        let r = s.patch(me, json!({"password": "a brand new own password", "name": "Renamed"}), token).await;
        forbidden(&r, email);
        assert!(r.body["error"]["message"].as_str().unwrap().contains("/v1/me/password"), "{:?}", r.body);
        assert_ne!(s.agent(me).await["name"], "Renamed", "{email}: nothing of the refused change is written");
        assert_eq!(s.login_status(email, password).await, StatusCode::OK, "{email}: the password is unchanged");
        assert_eq!(s.login_status(email, "a brand new own password").await, StatusCode::UNAUTHORIZED);
        // The rest of one's own account stays open to a PATCH.
        assert_eq!(s.patch(me, json!({"name": "Renamed"}), token).await.status, StatusCode::OK, "{email}");
    }
    // The way that does work: the current password, then the new one.
    let body = json!({"current_password": PASSWORD, "new_password": "a brand new own password"});
    let r = s.t.post("/v1/me/password", body, Some(&hr_t)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(s.login_status("hr@acme.test", "a brand new own password").await, StatusCode::OK);
    // An administrator still resets another account's password.
    let r = s.patch(&hr, json!({"password": "an admin-set staff password"}), &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
}

async fn end_sessions(s: &Tenant, id: &str, token: &str) -> Reply {
    s.t.call(Method::DELETE, &format!("/v1/agents/{id}/sessions"), None, Some(token), &[]).await
}

#[tokio::test]
async fn ending_an_accounts_sessions_needs_every_permission_it_holds() {
    let s = Tenant::new().await;
    let hr_role = s.role("HR", &["agents.manage", "conversations.reply"]).await;
    let (hr, hr_t) = s.staff("hr@acme.test", &hr_role).await;
    let clerk = s.role("Clerk", &["conversations.reply"]).await;
    let (clerk_id, clerk_t) = s.staff("clerk@acme.test", &clerk).await;

    // A lower account cannot sign a higher one out everywhere.
    forbidden(&end_sessions(&s, &s.admin_id, &hr_t).await, "hr ends the admin's sessions");
    assert_eq!(s.t.get("/v1/me", Some(&s.admin)).await.status, StatusCode::OK, "the admin's session lives");
    assert!(s.audit("permission.denied").await.iter().any(|e| e["actor_id"] == hr.as_str()), "the refusal is audited");
    let key = s.t.post("/v1/api_keys", json!({"name": "sync", "permissions": ["agents.manage"]}), Some(&s.admin)).await;
    let key = key.body["key"].as_str().unwrap().to_owned();
    let path = format!("/v1/agents/{}/sessions", s.admin_id);
    forbidden(&s.t.with_key(Method::DELETE, &path, None, &key).await, "a key ends the admin's sessions");
    assert_eq!(s.t.get("/v1/me", Some(&s.admin)).await.status, StatusCode::OK);

    // Within the caller's permissions, and for its own account, it works as before.
    let r = end_sessions(&s, &clerk_id, &hr_t).await;
    assert_eq!((r.status, &r.body["revoked"]), (StatusCode::OK, &json!(1)), "{:?}", r.body);
    assert_eq!(s.t.get("/v1/me", Some(&clerk_t)).await.status, StatusCode::UNAUTHORIZED);
    let r = end_sessions(&s, &hr, &hr_t).await;
    assert_eq!(r.status, StatusCode::OK, "own account: {:?}", r.body);
    assert_eq!(s.t.get("/v1/me", Some(&hr_t)).await.status, StatusCode::UNAUTHORIZED);
    let r = end_sessions(&s, &hr, &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "the admin holds all: {:?}", r.body);
}

#[tokio::test]
async fn email_changes_tell_the_old_address_and_the_audit_names_old_and_new_values() {
    let s = Tenant::new().await;
    let (ann, _) = s.staff("ann@acme.test", "agent").await;
    let r = s.patch(&ann, json!({"email": "ann.new@acme.test", "role_id": "supervisor"}), &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let mail = s.t.mail();
    let notice =
        mail.iter().find(|m| m["to"] == "ann@acme.test" && m["subject"].as_str().unwrap_or("").contains("email"));
    assert!(notice.is_some(), "the old address is told its account moved: {mail:?}");
    assert!(!mail.iter().any(|m| m["to"] == "ann.new@acme.test" && m["subject"] == notice.unwrap()["subject"]));

    let updates = s.audit("agent.update").await;
    let entry = updates.iter().find(|e| e["target_id"] == ann.as_str()).expect("audited");
    assert_eq!(entry["detail"]["role_id"], json!({"from": "agent", "to": "supervisor"}), "{entry}");
    let email = &entry["detail"]["email"];
    assert_eq!(email["from"], "a***@acme.test", "{entry}");
    assert_eq!(email["from_sha256"], kefu_app::identity::secrets::token_hash("ann@acme.test"), "{entry}");
    assert_eq!(email["to_sha256"], kefu_app::identity::secrets::token_hash("ann.new@acme.test"), "{entry}");
    let text = entry.to_string();
    assert!(!text.contains("ann@acme.test") && !text.contains("ann.new@acme.test"), "no address in clear: {text}");
    // The account signs in with the new address only.
    assert_eq!(s.login_status("ann.new@acme.test", PASSWORD).await, StatusCode::OK);
    assert_eq!(s.login_status("ann@acme.test", PASSWORD).await, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn roles_keys_and_groups_give_only_what_the_caller_holds() {
    let s = Tenant::new().await;
    let role_admin = s.role("Role admin", &["roles.manage", "stats.view"]).await;
    let (_, ra_t) = s.staff("ra@acme.test", &role_admin).await;
    forbidden(
        &s.t.post("/v1/roles", json!({"name": "Spy", "permissions": ["audit.view"]}), Some(&ra_t)).await,
        "create",
    );
    let r = s.t.post("/v1/roles", json!({"name": "Stats", "permissions": ["stats.view"]}), Some(&ra_t)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let stats = r.body["id"].as_str().unwrap().to_owned();
    let r =
        s.t.call(
            Method::PUT,
            &format!("/v1/roles/{stats}"),
            Some(json!({"name": "Stats", "permissions": ["stats.view", "audit.view"]})),
            Some(&ra_t),
            &[],
        )
        .await;
    forbidden(&r, "widen a role");
    let narrow = json!({"name": "Numbers", "permissions": []});
    let r = s.t.call(Method::PUT, &format!("/v1/roles/{stats}"), Some(narrow), Some(&ra_t), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let edits = s.audit("role.update").await;
    let edit =
        edits.iter().find(|e| e["target_id"] == stats.as_str() && e["detail"]["op"] == "update").expect("audited");
    assert_eq!(edit["detail"]["from"], json!({"name": "Stats", "permissions": ["stats.view"]}), "{edit}");
    assert_eq!(edit["detail"]["permissions"], json!([]));

    let settings = s.role("Settings", &["settings.manage"]).await;
    let (_, st_t) = s.staff("st@acme.test", &settings).await;
    forbidden(&s.t.post("/v1/api_keys", json!({"name": "k", "permissions": ["audit.view"]}), Some(&st_t)).await, "key");

    // Group membership: a team lead who sees only its own group cannot add people to another one.
    let lead = s.role("Lead", &["agents.manage", "conversations.view_group"]).await;
    let mine =
        s.t.post("/v1/groups", json!({"name": "Mine"}), Some(&s.admin)).await.body["id"].as_str().unwrap().to_owned();
    let other =
        s.t.post("/v1/groups", json!({"name": "Other"}), Some(&s.admin)).await.body["id"].as_str().unwrap().to_owned();
    let (lead_id, lead_t) = s.staff("lead@acme.test", &lead).await;
    assert_eq!(s.patch(&lead_id, json!({"group_ids": [mine]}), &s.admin).await.status, StatusCode::OK);
    let (x, _) = s.staff("x@acme.test", "agent").await;
    let put = |g: &str, members: Vec<&str>| {
        let path = format!("/v1/groups/{g}");
        let body = json!({"name": "G", "agent_ids": members});
        let (t, token) = (&s.t, lead_t.clone());
        async move { t.call(Method::PUT, &path, Some(body), Some(&token), &[]).await }
    };
    forbidden(&put(&other, vec![&x]).await, "join a group the lead cannot see");
    forbidden(&s.patch(&x, json!({"group_ids": [other]}), &lead_t).await, "join through the agent");
    forbidden(&s.patch(&lead_id, json!({"group_ids": [mine, other]}), &lead_t).await, "join it yourself");
    let create =
        |members: Vec<&str>| s.t.post("/v1/groups", json!({"name": "New", "agent_ids": members}), Some(&lead_t));
    forbidden(&create(vec![&x]).await, "a new group the lead is not in");
    assert_eq!(create(vec![&lead_id, &x]).await.status, StatusCode::CREATED, "a new group of its own");
    let r = put(&mine, vec![&lead_id, &x]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(s.agent(&x).await["group_ids"].as_array().unwrap().contains(&json!(mine)));
    let r = s.patch(&x, json!({"group_ids": []}), &lead_t).await;
    assert_eq!(r.status, StatusCode::OK, "leaving narrows access: {:?}", r.body);
}

#[tokio::test]
async fn the_last_administrator_stays_and_disabled_accounts_are_enabled_again() {
    let s = Tenant::new().await;
    conflict(&s.patch(&s.admin_id, json!({"role_id": "agent"}), &s.admin).await, "demote the only admin");
    let (b, _) = s.staff("b@acme.test", "admin").await;

    // With two admins, one may be disabled, then enabled again (and sign in again).
    let r = s.t.post(&format!("/v1/agents/{b}/disable"), json!({}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(s.login_status("b@acme.test", PASSWORD).await, StatusCode::UNAUTHORIZED);
    conflict(&s.patch(&s.admin_id, json!({"role_id": "agent"}), &s.admin).await, "b is disabled");
    let r = s.t.post(&format!("/v1/agents/{b}/enable"), json!({}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["disabled"], false);
    let b_t = s.t.login(&s.id, "b@acme.test", PASSWORD).await;
    assert!(
        s.audit("agent.update").await.iter().any(|e| e["target_id"] == b.as_str() && e["detail"]["disabled"] == false)
    );
    let r = s.t.post("/v1/agents/ag_01jzzzzzzzzzzzzzzzzzzzzzzz/enable", json!({}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // A custom role that administers counts; editing or deleting it may not leave nobody.
    let boss = s.role("Boss", &["roles.manage", "agents.manage"]).await;
    assert_eq!(s.patch(&s.admin_id, json!({"role_id": boss}), &b_t).await.status, StatusCode::OK);
    assert_eq!(s.patch(&b, json!({"role_id": "agent"}), &b_t).await.status, StatusCode::OK, "the boss remains");
    let boss_t = s.admin.clone();
    let edit = json!({"name": "Boss", "permissions": ["roles.manage"]});
    let r = s.t.call(Method::PUT, &format!("/v1/roles/{boss}"), Some(edit), Some(&boss_t), &[]).await;
    conflict(&r, "strip the last admin's role");
    let r = s.t.call(Method::DELETE, &format!("/v1/roles/{boss}"), None, Some(&boss_t), &[]).await;
    conflict(&r, "delete the last admin's role");
    assert_eq!(s.login_status("admin@acme.test", ADMIN_PASSWORD).await, StatusCode::OK);
    assert!(s.t.get("/v1/roles", Some(&boss_t)).await.status.is_success(), "still administers");
}

#[tokio::test]
async fn racing_demotions_never_leave_a_tenant_without_an_administrator() {
    let s = Tenant::new().await;
    let mut admins = vec![(s.admin_id.clone(), s.admin.clone())];
    for i in 0..3 {
        admins.push(s.staff(&format!("admin{i}@acme.test"), "admin").await);
    }
    // Every admin demotes the next one, all at once, twice over (demote and disable).
    let n = admins.len();
    let calls = (0..n).flat_map(|i| {
        let (target, _) = &admins[(i + 1) % n];
        let (_, token) = &admins[i];
        [
            (format!("/v1/agents/{target}"), Method::PATCH, Some(json!({"role_id": "agent"})), token.clone()),
            (format!("/v1/agents/{}/disable", admins[(i + 2) % n].0), Method::POST, None, token.clone()),
        ]
    });
    let replies = futures::future::join_all(calls.map(|(path, m, body, token)| {
        let t = &s.t;
        async move { t.call(m, &path, body, Some(&token), &[]).await }
    }))
    .await;
    for r in &replies {
        assert!(
            r.status.is_success()
                || matches!(r.status, StatusCode::CONFLICT | StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN),
            "{:?} {:?}",
            r.status,
            r.body
        );
    }
    let list = s.t.call(Method::GET, "/v1/agents?limit=200", None, Some(&s.admin), &[]).await;
    let mut left = 0;
    for (id, _) in &admins {
        let a =
            s.t.app()
                .table
                .get(&kefu_app::plumbing::keys::agent(
                    &kefu_domain::TenantId::parse(&s.id).unwrap(),
                    &kefu_domain::AgentId::parse(id).unwrap(),
                ))
                .await
                .unwrap()
                .unwrap();
        if a["role_id"] == "admin" && a["disabled"] != true {
            left += 1;
        }
    }
    assert!(left >= 1, "an administrator is left: {:?}", list.body);
}

#[tokio::test]
async fn names_refuse_invisible_characters_and_role_names_compare_by_nfkc() {
    let s = Tenant::new().await;
    for name in ["Ａdmin", "ＡＤＭＩＮ", "Supervisor"] {
        let r = s.t.post("/v1/roles", json!({"name": name, "permissions": []}), Some(&s.admin)).await;
        conflict(&r, name);
        assert_eq!(r.body["error"]["field"], "name");
    }
    for name in ["admin\u{200B}", "\u{202E}nimda", "Sup\u{200D}port", "\u{2067}Ops\u{2069}"] {
        let r = s.t.post("/v1/roles", json!({"name": name, "permissions": []}), Some(&s.admin)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{name:?}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"], "name");
    }
    s.role("Auditor", &[]).await;
    conflict(
        &s.t.post("/v1/roles", json!({"name": "ＡＵＤＩＴＯＲ", "permissions": []}), Some(&s.admin)).await,
        "look-alike",
    );
    let body = json!({"email": "x@acme.test", "name": "Ann\u{202E}gnaW", "password": PASSWORD, "role_id": "agent"});
    let r = s.t.post("/v1/agents", body, Some(&s.admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
    assert_eq!(r.body["error"]["field"], "name");
    let r = s.patch(&s.admin_id, json!({"name": "Li\u{200B}Lei"}), &s.admin).await;
    assert_eq!(r.body["error"]["field"], "name", "{:?}", r.body);
}

/// The same rule on the AWS adapters (DynamoDB's transactions and conditions, through moto): the only admin is
/// not demoted, two admins demoting each other at once leave one, and an administering role is not stripped.
#[tokio::test(flavor = "multi_thread")]
async fn the_last_administrator_is_kept_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("lastadmin")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = Tenant::on(kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await).await;
    conflict(&s.patch(&s.admin_id, json!({"role_id": "agent"}), &s.admin).await, "demote the only admin");
    let (b, b_t) = s.staff("b@acme.test", "admin").await;
    let (one, two) = tokio::join!(
        s.patch(&b, json!({"role_id": "agent"}), &s.admin),
        s.patch(&s.admin_id, json!({"role_id": "agent"}), &b_t)
    );
    let ok = [&one, &two].iter().filter(|r| r.status == StatusCode::OK).count();
    assert!(ok <= 1, "both demotions committed: {:?} {:?}", one.body, two.body);
    // Each account reads its own role (`/v1/me`): whichever of the two lost its role can no longer read others'.
    let (admin_role, b_role) = (
        s.t.get("/v1/me", Some(&s.admin)).await.body["role_id"].clone(),
        s.t.get("/v1/me", Some(&b_t)).await.body["role_id"].clone(),
    );
    let admins = [&admin_role, &b_role].iter().filter(|r| **r == "admin").count();
    assert!(
        admins >= 1 && admins + ok == 2,
        "{admins} admins after {ok} demotions: {} {:?} / {} {:?}",
        one.status,
        one.body,
        two.status,
        two.body
    );
    let (holder, token) = if b_role == "admin" { (&b, &b_t) } else { (&s.admin_id, &s.admin) };
    let r =
        s.t.post("/v1/roles", json!({"name": "Boss", "permissions": ["roles.manage", "agents.manage"]}), Some(token))
            .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let boss = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(s.patch(holder, json!({"role_id": boss}), token).await.status, StatusCode::OK, "still one admin");
    let edit = json!({"name": "Boss", "permissions": []});
    let r = s.t.call(Method::PUT, &format!("/v1/roles/{boss}"), Some(edit), Some(token), &[]).await;
    conflict(&r, "strip the last admin's role");
}
