//! Limits that must hold under a burst, not only one request at a time: a burst of sign-ins or second-factor
//! codes checks at most the threshold (each attempt is counted, with a conditional write, before it is
//! checked).

use std::net::IpAddr;

use kefu_app::identity::auth::{AuthError, LoginAttempt};
use kefu_domain::TenantId;
use kefu_e2e::{ADMIN_PASSWORD, spawn_app};
use reqwest::StatusCode;
use serde_json::json;

const BURST: usize = 100;

fn ip() -> IpAddr {
    "203.0.113.7".parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_sign_ins_checks_at_most_the_lockout_threshold() {
    let t = spawn_app().await;
    let created = t.create_tenant("Burst", "ann@burst.test").await;
    let tenant = TenantId::parse(created["tenant_id"].as_str().unwrap()).unwrap();
    let app = t.app().clone();
    let tasks: Vec<_> = (0..BURST)
        .map(|k| {
            let (app, tenant) = (app.clone(), tenant.clone());
            tokio::spawn(async move {
                let password = format!("not the password {k}");
                let attempt = LoginAttempt {
                    tenant: &tenant,
                    email: "ann@burst.test",
                    password: &password,
                    ip: ip(),
                    user_agent: None,
                };
                kefu_app::identity::auth::login(&app, attempt).await
            })
        })
        .collect();
    let (mut wrong, mut locked) = (0, 0);
    for task in tasks {
        match task.await.unwrap() {
            Err(AuthError::InvalidCredentials) => wrong += 1,
            Err(AuthError::Locked { .. }) => locked += 1,
            other => panic!("unexpected answer {:?}", other.map(|_| "signed in")),
        }
    }
    // The default threshold is 5: at most 5 passwords were checked (the fifth failure answers 423 itself).
    assert!(wrong <= 5, "{wrong} passwords were checked and refused; {locked} locked");
    assert_eq!(wrong + locked, BURST);
    let log = t.audit_entries(tenant.as_str()).await;
    let checked =
        log.iter().filter(|e| e["action"] == "auth.login" && e["detail"]["reason"] == "wrong_password").count();
    assert!((1..=5).contains(&checked), "{checked} password checks were audited");
    // Locked: even the right password is refused now.
    let r = t
        .post(
            "/v1/auth/login",
            json!({"tenant_id": tenant, "email": "ann@burst.test", "password": ADMIN_PASSWORD}),
            None,
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::LOCKED, "account_locked"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_second_factor_codes_checks_at_most_the_challenge_limit() {
    let t = spawn_app().await;
    let created = t.create_tenant("Burst", "ann@burst.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "ann@burst.test", ADMIN_PASSWORD).await;
    // A lockout threshold above the challenge's 5 attempts, so the challenge is the limit under test.
    let r = t
        .call(reqwest::Method::PUT, "/v1/settings/security", Some(json!({"lockout_threshold": 20})), Some(&admin), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let secret = t.post("/v1/me/mfa/totp", json!({}), Some(&admin)).await.body["secret"].as_str().unwrap().to_owned();
    let now = jiff::Timestamp::now().as_second();
    let r = t
        .post(
            "/v1/me/mfa/totp/confirm",
            json!({"code": kefu_app::identity::mfa::code_at(&secret, now).unwrap()}),
            Some(&admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = t
        .post(
            "/v1/auth/login",
            json!({"tenant_id": tenant, "email": "ann@burst.test", "password": ADMIN_PASSWORD}),
            None,
        )
        .await;
    let challenge = r.body["challenge"].as_str().expect("a challenge").to_owned();

    // 100 well-formed codes, none of them right (the steps around now are left out).
    let valid: Vec<String> = (-2..=2).filter_map(|k| kefu_app::identity::mfa::code_at(&secret, now + 30 * k)).collect();
    let codes: Vec<String> =
        (0..).map(|k| format!("{:06}", 100_000 + k * 7919)).filter(|c| !valid.contains(c)).take(BURST).collect();
    let app = t.app().clone();
    let tasks: Vec<_> = codes
        .into_iter()
        .map(|code| {
            let (app, challenge) = (app.clone(), challenge.clone());
            tokio::spawn(async move { kefu_app::identity::auth::login_mfa(&app, &challenge, &code, ip(), None).await })
        })
        .collect();
    for task in tasks {
        let answer = task.await.unwrap();
        assert!(matches!(answer, Err(AuthError::MfaInvalid | AuthError::Locked { .. })), "{:?}", answer.map(|_| ()));
    }
    let log = t.audit_entries(&tenant).await;
    let checked = log.iter().filter(|e| e["action"] == "auth.mfa" && e["detail"]["reason"] == "wrong_code").count();
    assert!((1..=5).contains(&checked), "{checked} codes were checked");
}
