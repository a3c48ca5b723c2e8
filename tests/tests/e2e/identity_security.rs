//! Identity and security through HTTP, tried as a new user would and as an attacker would: roles and their
//! permissions, the password policy, lockout without enumeration, sign-in rate limits, sessions, TOTP and
//! emailed codes (with replay), MFA-required, the IP allowlist, API keys, and the audit trail of it all.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use kefu_ports::table::Update;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Tenant {
    id: String,
    admin: String,
}

async fn tenant(t: &TestApp, name: &str, email: &str) -> Tenant {
    let created = t.create_tenant(name, email).await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, email, ADMIN_PASSWORD).await;
    Tenant { id, admin }
}

async fn login_raw(t: &TestApp, tenant: &str, email: &str, password: &str) -> kefu_e2e::Reply {
    t.post("/v1/auth/login", json!({"tenant_id": tenant, "email": email, "password": password}), None).await
}

async fn put_security(t: &TestApp, token: &str, body: Value) -> kefu_e2e::Reply {
    t.call(Method::PUT, "/v1/settings/security", Some(body), Some(token), &[]).await
}

fn agent_key(tenant: &str, agent: &str) -> kefu_ports::Key {
    kefu_app::plumbing::keys::agent(
        &kefu_domain::TenantId::parse(tenant).unwrap(),
        &kefu_domain::AgentId::parse(agent).unwrap(),
    )
}

const STAFF_PASSWORD: &str = "a long enough staff password";

#[tokio::test]
async fn custom_roles_apply_on_the_next_request_and_built_ins_are_fixed() {
    let t = spawn_app().await;
    let a = tenant(&t, "Acme", "admin@acme.test").await;
    let roles = t.get("/v1/roles", Some(&a.admin)).await;
    assert_eq!(roles.status, StatusCode::OK);
    let ids: Vec<&str> = roles.body["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["admin", "agent", "supervisor"]);
    assert!(roles.body["next_cursor"].is_null());

    let r = t
        .post("/v1/roles", json!({"name": "Auditor", "permissions": ["audit.view", "stats.view"]}), Some(&a.admin))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let role = r.body["id"].as_str().unwrap().to_owned();
    assert!(role.starts_with("ro_"));
    assert_eq!(r.body["permissions"], json!(["stats.view", "audit.view"]), "catalogue order");
    assert_eq!(r.body["builtin"], false);

    for (body, field) in [
        (json!({"name": "X", "permissions": ["nope.nope"]}), "permissions"),
        (json!({"name": " ", "permissions": []}), "name"),
        (json!({"name": "X"}), "permissions"),
    ] {
        let r = t.post("/v1/roles", body, Some(&a.admin)).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field))
        );
    }
    for name in ["auditor", "Admin"] {
        let r = t.post("/v1/roles", json!({"name": name, "permissions": []}), Some(&a.admin)).await;
        assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{name}");
    }

    let staff = t.add_staff(&a.id, "aud@acme.test", &role, STAFF_PASSWORD).await;
    let token = t.login(&a.id, "aud@acme.test", STAFF_PASSWORD).await;
    let r = t.get("/v1/roles", Some(&token)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    let path = format!("/v1/roles/{role}");
    let r = t
        .call(
            Method::PUT,
            &path,
            Some(json!({"name": "Auditor", "permissions": ["audit.view", "roles.manage"]})),
            Some(&a.admin),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(t.get("/v1/roles", Some(&token)).await.status, StatusCode::OK, "the change applies to the next request");

    // No one hands out what they do not hold.
    let r = t.post("/v1/roles", json!({"name": "Boss", "permissions": ["settings.manage"]}), Some(&token)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    for builtin in ["admin", "agent", "supervisor"] {
        let p = format!("/v1/roles/{builtin}");
        let r = t.call(Method::PUT, &p, Some(json!({"name": "x", "permissions": []})), Some(&a.admin), &[]).await;
        assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{builtin}");
        let r = t.call(Method::DELETE, &p, None, Some(&a.admin), &[]).await;
        assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "{builtin}");
    }
    let r = t.call(Method::DELETE, &path, None, Some(&a.admin), &[]).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "still held");
    t.app().table.update(&agent_key(&a.id, &staff), Update::new().set("role_id", json!("agent")), None).await.unwrap();
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&a.admin), &[]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(t.call(Method::DELETE, &path, None, Some(&a.admin), &[]).await.status, StatusCode::NOT_FOUND);

    // Another tenant's role ids are not found.
    let b = tenant(&t, "Other", "admin@other.test").await;
    let r = t.post("/v1/roles", json!({"name": "Theirs", "permissions": []}), Some(&b.admin)).await;
    let theirs = format!("/v1/roles/{}", r.body["id"].as_str().unwrap());
    let r = t.call(Method::PUT, &theirs, Some(json!({"name": "Mine", "permissions": []})), Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(t.call(Method::DELETE, &theirs, None, Some(&a.admin), &[]).await.status, StatusCode::NOT_FOUND);

    let log = t.audit_entries(&a.id).await;
    assert!(log.iter().any(|e| e["action"] == "role.update" && e["detail"]["op"] == "create"));
    let denied: Vec<&Value> = log.iter().filter(|e| e["outcome"] == "denied").collect();
    assert!(
        denied.iter().any(|e| e["actor_id"] == staff.as_str()
            && e["detail"]["permission"] == "roles.manage"
            && e["target_id"] == "GET /v1/roles"),
        "{denied:?}"
    );
}

#[tokio::test]
async fn the_password_policy_is_enforced_on_every_new_password() {
    let t = spawn_app().await;
    let a = tenant(&t, "Globex Trading", "li@globex.test").await;
    let r = t.get("/v1/settings/security", Some(&a.admin)).await;
    assert_eq!(
        r.body,
        json!({"password_min_length": 12, "password_max_age_days": null, "lockout_threshold": 5, "lockout_minutes": 15,
               "mfa_required": false, "ip_allowlist": [], "session_ttl_minutes": 720})
    );
    for (body, field) in [
        (json!({"password_min_length": 7}), "password_min_length"),
        (json!({"password_min_length": 129}), "password_min_length"),
        (json!({"lockout_threshold": 0}), "lockout_threshold"),
        (json!({"session_ttl_minutes": 1}), "session_ttl_minutes"),
        (json!({"password_max_age_days": 0}), "password_max_age_days"),
        (json!({"ip_allowlist": ["10.0.0.0/33"]}), "ip_allowlist[0]"),
        (json!({"unknown": 1}), "unknown"),
    ] {
        let r = put_security(&t, &a.admin, body.clone()).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{body}");
        assert_eq!(r.body["error"]["field"], field, "{body}");
    }
    let r = put_security(&t, &a.admin, json!({"password_min_length": 16})).await;
    assert_eq!(r.body["password_min_length"], 16);
    assert_eq!(r.body["lockout_threshold"], 5, "fields left out keep their value");

    let change = |current: &str, new: &str| json!({"current_password": current, "new_password": new});
    for (new, why) in [
        ("fifteen chars!!", "too short for the policy"),
        ("Password1234567890", "common password with digits"),
        ("qwertyuiop123456", "common keyboard walk with digits"),
        ("globex trading", "too short and the tenant's name"),
        ("Globex Trading Globex", "fine"),
        ("li@globex.test", "the email"),
    ] {
        let r = t.post("/v1/me/password", change(ADMIN_PASSWORD, new), Some(&a.admin)).await;
        if why == "fine" {
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{new}: {:?}", r.body);
            let r = t.post("/v1/me/password", change(new, ADMIN_PASSWORD), Some(&a.admin)).await;
            assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
        } else {
            assert_eq!(
                (r.status, r.body["error"]["field"].as_str()),
                (StatusCode::BAD_REQUEST, Some("new_password")),
                "{new}: {why}"
            );
        }
    }
    let long = "a passphrase of one hundred and twenty eight characters ".repeat(3);
    let long = &long[..128];
    let r = t.post("/v1/me/password", change(ADMIN_PASSWORD, long), Some(&a.admin)).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "128 characters are accepted: {:?}", r.body);
    let r = t.post("/v1/me/password", change("not the password", "another good passphrase"), Some(&a.admin)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("current_password")));
    let r = t.post("/v1/me/password", change(long, long), Some(&a.admin)).await;
    assert_eq!(r.body["error"]["field"], "new_password", "must differ");
    assert!(
        t.audit_entries(&a.id)
            .await
            .iter()
            .any(|e| e["action"] == "settings.update" && e["detail"]["changed"] == json!(["password_min_length"]))
    );
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_an_expired_password_must_be_changed_first() {
    let t = spawn_app().await;
    let a = tenant(&t, "Initech", "boss@initech.test").await;
    let other = t.login(&a.id, "boss@initech.test", ADMIN_PASSWORD).await;
    let r = t
        .post(
            "/v1/me/password",
            json!({"current_password": ADMIN_PASSWORD, "new_password": "a brand new passphrase"}),
            Some(&a.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(t.get("/v1/me", Some(&other)).await.status, StatusCode::UNAUTHORIZED, "other sessions end at once");
    assert!(
        t.mail().iter().any(|m| m["to"] == "boss@initech.test" && m["subject"] == "Your Kefu password was changed"),
        "the owner is told"
    );
    assert_eq!(t.get("/v1/me", Some(&a.admin)).await.status, StatusCode::OK, "this one lives on");
    assert_eq!(login_raw(&t, &a.id, "boss@initech.test", ADMIN_PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    // Expiry: 30 days, and the password was last set 31 days ago.
    put_security(&t, &a.admin, json!({"password_max_age_days": 30})).await;
    let me = t.get("/v1/me", Some(&a.admin)).await.body;
    let old = t.app().now() - jiff::SignedDuration::from_hours(31 * 24);
    t.app()
        .table
        .update(
            &agent_key(&a.id, me["id"].as_str().unwrap()),
            Update::new().set("password_changed_at", json!(old)),
            None,
        )
        .await
        .unwrap();
    let r = login_raw(&t, &a.id, "boss@initech.test", "a brand new passphrase").await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        (r.body["password_change_required"].as_bool(), r.body["mfa_enrollment_required"].as_bool()),
        (Some(true), Some(false))
    );
    let token = r.body["token"].as_str().unwrap();
    let r = t.get("/v1/settings/security", Some(token)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "password_expired"));
    assert_eq!(t.get("/v1/me", Some(token)).await.status, StatusCode::OK);
    let r = t
        .post(
            "/v1/me/password",
            json!({"current_password": "a brand new passphrase", "new_password": "the next fine passphrase"}),
            Some(token),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/v1/settings/security", Some(token)).await.status, StatusCode::OK, "lifted at once");
}

#[tokio::test]
async fn lockout_is_per_email_and_says_nothing_about_which_accounts_exist() {
    let t = spawn_app().await;
    let a = tenant(&t, "Umbrella", "ada@umbrella.test").await;
    put_security(&t, &a.admin, json!({"lockout_threshold": 3, "lockout_minutes": 5})).await;
    let mut answers = Vec::new();
    for email in ["ada@umbrella.test", "ghost@umbrella.test"] {
        let mut seen = Vec::new();
        for _ in 0..3 {
            let r = login_raw(&t, &a.id, email, "wrong password, again").await;
            seen.push((r.status, r.body.clone()));
        }
        let r = login_raw(&t, &a.id, email, ADMIN_PASSWORD).await;
        seen.push((r.status, r.body.clone()));
        assert!(r.headers.get("retry-after").is_some());
        answers.push(seen);
    }
    assert_eq!(answers[0], answers[1], "a real and an unknown email answer alike, locks included");
    let statuses: Vec<StatusCode> = answers[0].iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED, StatusCode::UNAUTHORIZED, StatusCode::LOCKED, StatusCode::LOCKED]);
    assert_eq!(answers[0][3].1["error"]["code"], "account_locked");
    assert_eq!(t.get("/v1/me", Some(&a.admin)).await.status, StatusCode::OK, "a lock does not end sessions");

    // The lock ends after lockout_minutes (moved forward in the store).
    let tenant_id = kefu_domain::TenantId::parse(&a.id).unwrap();
    let past = t.app().now().as_second() - 1;
    t.app()
        .table
        .update(
            &kefu_app::plumbing::keys::login_failures(&tenant_id, "ada@umbrella.test"),
            Update::new().set("locked_until", json!(past)),
            None,
        )
        .await
        .unwrap();
    assert_eq!(login_raw(&t, &a.id, "ada@umbrella.test", ADMIN_PASSWORD).await.status, StatusCode::OK);
    let log = t.audit_entries(&a.id).await;
    let failures = log.iter().filter(|e| e["action"] == "auth.login" && e["outcome"] == "failure").count();
    assert_eq!(failures, 8);
    assert!(log.iter().any(|e| e["action"] == "auth.login" && e["outcome"] == "failure" && e["actor_id"].is_string()));
    assert!(log.iter().any(|e| e["detail"]["email"] == "ghost@umbrella.test" && e["actor_id"].is_null()));
}

#[tokio::test]
async fn sign_ins_are_rate_limited_per_ip_and_tenant() {
    let t = spawn_app().await;
    let a = tenant(&t, "Hooli", "gavin@hooli.test").await;
    let b = tenant(&t, "Pied Piper", "richard@pp.test").await;
    // The admin's own sign-in above was one attempt.
    for i in 1..30 {
        let r = login_raw(&t, &a.id, &format!("u{i}@hooli.test"), "some wrong password").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = login_raw(&t, &a.id, "gavin@hooli.test", ADMIN_PASSWORD).await;
    assert_eq!((r.status, r.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    assert!(r.headers.get("retry-after").is_some());
    assert_eq!(login_raw(&t, &b.id, "richard@pp.test", ADMIN_PASSWORD).await.status, StatusCode::OK, "per tenant");
}

#[tokio::test]
async fn sessions_are_listed_and_revoked_by_their_own_ids() {
    let t = spawn_app().await;
    let a = tenant(&t, "Stark", "tony@stark.test").await;
    let second = t.login(&a.id, "tony@stark.test", ADMIN_PASSWORD).await;
    let r = t.get("/v1/me/sessions", Some(&a.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    let items = r.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items.iter().filter(|s| s["current"] == true).count(), 1);
    for s in items {
        let id = s["id"].as_str().unwrap();
        assert!(id.starts_with("se_"));
        assert!(!a.admin.contains(&id[3..]) && !second.contains(&id[3..]), "ids are not tokens");
        assert_eq!(s["ip"], "127.0.0.1");
    }
    let other = items.iter().find(|s| s["current"] == false).unwrap()["id"].as_str().unwrap().to_owned();

    let b = tenant(&t, "Wayne", "bruce@wayne.test").await;
    let theirs = t.get("/v1/me/sessions", Some(&b.admin)).await.body["items"][0]["id"].as_str().unwrap().to_owned();
    let r = t.call(Method::DELETE, &format!("/v1/me/sessions/{theirs}"), None, Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another account's session");
    assert_eq!(t.get("/v1/me", Some(&b.admin)).await.status, StatusCode::OK);
    let r = t.call(Method::DELETE, "/v1/me/sessions/garbage", None, Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let r = t.call(Method::DELETE, &format!("/v1/me/sessions/{other}"), None, Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/v1/me", Some(&second)).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/v1/me/sessions", Some(&a.admin)).await.body["items"].as_array().unwrap().len(), 1);

    // Session lifetime comes from the policy.
    put_security(&t, &a.admin, json!({"session_ttl_minutes": 30})).await;
    let r = login_raw(&t, &a.id, "tony@stark.test", ADMIN_PASSWORD).await;
    let expires: jiff::Timestamp = r.body["expires_at"].as_str().unwrap().parse().unwrap();
    let left = expires.duration_since(t.app().now());
    assert!(left <= jiff::SignedDuration::from_mins(30) && left > jiff::SignedDuration::from_mins(29), "{left:?}");
}

fn code(secret: &str, offset: i64) -> String {
    kefu_app::identity::mfa::code_at(secret, jiff::Timestamp::now().as_second() + offset).unwrap()
}

#[tokio::test]
async fn totp_enrolment_sign_in_with_a_code_once_and_emailed_codes() {
    let t = spawn_app().await;
    let a = tenant(&t, "Cyberdyne", "miles@cyberdyne.test").await;
    let r = t.post("/v1/me/mfa/totp", json!({}), Some(&a.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(r.body["otpauth_url"].as_str().unwrap().starts_with("otpauth://totp/Kefu:"));
    let r = t.post("/v1/me/mfa/totp/confirm", json!({"code": "12345"}), Some(&a.admin)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("code")));
    let r = t.post("/v1/me/mfa/totp/confirm", json!({"code": code(&secret, 0)}), Some(&a.admin)).await;
    assert_eq!((r.status, r.body["mfa_enabled"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", r.body);

    let r = login_raw(&t, &a.id, "miles@cyberdyne.test", ADMIN_PASSWORD).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["mfa_required"], true);
    assert!(r.body.get("token").is_none(), "no session before the second factor");
    let challenge = r.body["challenge"].as_str().unwrap().to_owned();
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": "000000x"}), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "mfa_invalid"));
    // The confirm spent the current step: the next one (within the ±1 window) signs in.
    let next = code(&secret, 30);
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": next}), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["mfa_enabled"], true);
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": next}), None).await;
    assert_eq!(r.code(), "mfa_invalid", "a challenge works once");

    // Replay: the same code on a fresh challenge is refused.
    let challenge = login_raw(&t, &a.id, "miles@cyberdyne.test", ADMIN_PASSWORD).await.body["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": next}), None).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "mfa_invalid"), "TOTP replay");

    // An emailed code finishes it instead.
    let r = t.post("/v1/auth/mfa/email", json!({"challenge": challenge}), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let mail = t.mail();
    let last = mail.iter().rev().find(|m| m["subject"] == "Your Kefu sign-in code").expect("a code went out");
    assert_eq!(last["to"], "miles@cyberdyne.test");
    let text = last["body"].as_str().unwrap();
    let emailed: String = text
        .split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 6)
        .expect("a 6-digit code in the mail")
        .to_owned();
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": emailed}), None).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // A challenge takes five wrong codes, then is burnt.
    let challenge = login_raw(&t, &a.id, "miles@cyberdyne.test", ADMIN_PASSWORD).await.body["challenge"]
        .as_str()
        .unwrap()
        .to_owned();
    put_security(&t, &a.admin, json!({"lockout_threshold": 20})).await;
    for _ in 0..5 {
        let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": "999999x"}), None).await;
        assert_eq!(r.code(), "mfa_invalid");
    }
    let r = t.post("/v1/auth/mfa", json!({"challenge": challenge, "code": code(&secret, 0)}), None).await;
    assert_eq!(r.code(), "mfa_invalid", "burnt");
    let log = t.audit_entries(&a.id).await;
    assert!(log.iter().any(|e| e["action"] == "auth.mfa" && e["outcome"] == "success"));
    assert!(log.iter().any(|e| e["action"] == "auth.mfa" && e["outcome"] == "failure"));
}

#[tokio::test]
async fn mfa_required_holds_every_account_until_it_enrols() {
    let t = spawn_app().await;
    let a = tenant(&t, "Tyrell", "eldon@tyrell.test").await;
    t.add_staff(&a.id, "rachael@tyrell.test", "agent", STAFF_PASSWORD).await;
    let r = put_security(&t, &a.admin, json!({"mfa_required": true})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.get("/v1/settings/security", Some(&a.admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "mfa_enrollment_required"), "applies to the next request");
    let r = login_raw(&t, &a.id, "rachael@tyrell.test", STAFF_PASSWORD).await;
    assert_eq!(r.body["mfa_enrollment_required"], true);
    let token = r.body["token"].as_str().unwrap().to_owned();
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, StatusCode::OK);
    let r = t.get("/v1/roles", Some(&token)).await;
    assert_eq!(r.code(), "mfa_enrollment_required");
    let secret = t.post("/v1/me/mfa/totp", json!({}), Some(&token)).await.body["secret"].as_str().unwrap().to_owned();
    let r = t.post("/v1/me/mfa/totp/confirm", json!({"code": code(&secret, 0)}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.get("/v1/roles", Some(&token)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "enrolled: now only permissions decide");
}

#[tokio::test]
async fn the_ip_allowlist_guards_staff_and_keys_and_refuses_to_shut_out_its_author() {
    let t = spawn_app().await;
    let created = t.create_tenant("Soylent", "sol@soylent.test").await;
    let a = Tenant {
        id: created["tenant_id"].as_str().unwrap().to_owned(),
        admin: t.login(created["tenant_id"].as_str().unwrap(), "sol@soylent.test", ADMIN_PASSWORD).await,
    };
    let key = t.post("/v1/api_keys", json!({"name": "CRM", "permissions": ["roles.manage"]}), Some(&a.admin)).await;
    let key = key.body["key"].as_str().unwrap().to_owned();
    let r = put_security(&t, &a.admin, json!({"ip_allowlist": ["10.0.0.0/8", "2001:db8::/32"]})).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(t.get("/v1/settings/security", Some(&a.admin)).await.body["ip_allowlist"], json!([]), "nothing saved");
    let r = put_security(&t, &a.admin, json!({"ip_allowlist": ["127.0.0.0/8", "::1"]})).await;
    assert_eq!((r.status, r.body["ip_allowlist"].clone()), (StatusCode::OK, json!(["127.0.0.0/8", "::1/128"])));
    assert_eq!(t.with_key(Method::GET, "/v1/roles", None, &key).await.status, StatusCode::OK);

    let r = put_security(&t, &a.admin, json!({"ip_allowlist": ["10.0.0.0/8"], "allow_self_lockout": true})).await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.get("/v1/me", Some(&a.admin)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "ip_not_allowed"));
    let r = t.with_key(Method::GET, "/v1/roles", None, &key).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "ip_not_allowed"));
    let r = login_raw(&t, &a.id, "sol@soylent.test", ADMIN_PASSWORD).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "ip_not_allowed"), "sign-in too");
    let other = tenant(&t, "Elsewhere", "x@elsewhere.test").await;
    assert_eq!(t.get("/v1/me", Some(&other.admin)).await.status, StatusCode::OK, "other tenants are not affected");
    let r =
        t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Visitor"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "visitors are never affected: {:?}", r.body);

    // An operator lifts it in the store; the change applies at once (nothing is cached).
    kefu_app::identity::security::save_policy(
        t.app(),
        &kefu_domain::TenantId::parse(&a.id).unwrap(),
        &kefu_domain::security::SecurityPolicy::default(),
        kefu_app::audit::AuditEntry::new(
            &kefu_domain::TenantId::parse(&a.id).unwrap(),
            "settings.update",
            kefu_app::audit::Outcome::Success,
        )
        .by(&kefu_app::audit::Actor::Operator),
    )
    .await
    .unwrap();
    assert_eq!(t.get("/v1/me", Some(&a.admin)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn api_keys_carry_exactly_their_permissions_and_die_when_revoked() {
    let t = spawn_app().await;
    let a = tenant(&t, "Wonka", "willy@wonka.test").await;
    let r =
        t.post("/v1/api_keys", json!({"name": "Roles sync", "permissions": ["roles.manage"]}), Some(&a.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let (id, key) = (r.body["id"].as_str().unwrap().to_owned(), r.body["key"].as_str().unwrap().to_owned());
    assert!(id.starts_with("ak_") && key.starts_with("kfk_"));

    assert_eq!(t.with_key(Method::GET, "/v1/roles", None, &key).await.status, StatusCode::OK);
    let r = t.with_key(Method::GET, "/v1/settings/security", None, &key).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let r = t.with_key(Method::GET, "/v1/me", None, &key).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a key is not a person");
    let r = t.with_key(Method::GET, "/v1/roles", None, "kfk_forged").await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    let listed = t.get("/v1/api_keys", Some(&a.admin)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 1);
    assert!(!listed.body.to_string().contains(&key), "the key is shown once");
    assert!(key.starts_with(listed.body["items"][0]["prefix"].as_str().unwrap()));

    // A custom role with settings.manage cannot mint a key with more than it holds.
    let role = t.post("/v1/roles", json!({"name": "Ops", "permissions": ["settings.manage"]}), Some(&a.admin)).await;
    t.add_staff(&a.id, "ops@wonka.test", role.body["id"].as_str().unwrap(), STAFF_PASSWORD).await;
    let ops = t.login(&a.id, "ops@wonka.test", STAFF_PASSWORD).await;
    let r = t.post("/v1/api_keys", json!({"name": "Sneaky", "permissions": ["audit.view"]}), Some(&ops)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"));

    let b = tenant(&t, "Other", "o@other.test").await;
    let r = t.call(Method::DELETE, &format!("/v1/api_keys/{id}"), None, Some(&b.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another tenant's key");
    let r = t.call(Method::DELETE, &format!("/v1/api_keys/{id}"), None, Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    assert_eq!(t.with_key(Method::GET, "/v1/roles", None, &key).await.status, StatusCode::UNAUTHORIZED);
    let log = t.audit_entries(&a.id).await;
    for action in ["api_key.create", "api_key.revoke"] {
        assert!(log.iter().any(|e| e["action"] == action && e["target_id"] == id.as_str()), "{action}");
    }
}
