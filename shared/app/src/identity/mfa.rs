//! Multi-factor sign-in: TOTP (RFC 6238: 6 digits, 30 s steps, ±1 step, each step accepted once per account)
//! and one-time codes by email, through the challenge a password sign-in hands out.
//!
//! A challenge lives 5 minutes, takes at most 5 wrong codes (each also counts toward the account's lockout),
//! sends at most 3 emails, and is used up by its first success.

use jiff::Timestamp;
use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{CmpOp, Condition, Item, TableError, TxOp, Update};
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use super::secrets::{new_secret, token_hash};
use crate::App;
use crate::identity::accounts::AccountRecord;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How long a challenge lasts.
pub const CHALLENGE_TTL_SECS: i64 = 300;
/// Wrong codes a challenge takes before it is burnt.
pub const CHALLENGE_ATTEMPTS: i64 = 5;
/// Emails one challenge may send.
pub const CHALLENGE_EMAILS: i64 = 3;
/// The issuer shown by authenticator apps.
pub const ISSUER: &str = "Kefu";

/// Why a second-factor step failed.
#[derive(Debug, thiserror::Error)]
pub enum MfaError {
    /// The challenge is unknown, expired or used up, or the code is wrong or replayed.
    #[error("invalid code or challenge")]
    Invalid,
    /// The challenge took all its attempts (counted before each check, so concurrent codes cannot exceed
    /// them): the code was not checked.
    #[error("the challenge took all its attempts")]
    Spent,
    /// The challenge already sent its emails.
    #[error("no more emails for this challenge")]
    TooManyEmails,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The mailer failed.
    #[error("mailer: {0}")]
    Mail(String),
}

/// `POST /v1/me/mfa/totp` answer: what the authenticator app needs.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct TotpEnrolment {
    /// The shared secret, base32 (for typing in).
    pub secret: String,
    /// The `otpauth://totp/...` URL (for a QR code).
    pub otpauth_url: String,
}

fn totp(secret: Vec<u8>, account: &str) -> Option<Totp> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .with_issuer(Some(ISSUER))
        .with_account_name(account.replace(':', "_"))
        .build()
        .ok()
}

fn totp_of_base32(secret: &str, account: &str) -> Option<Totp> {
    let bytes = Secret::try_from_base32(secret).ok()?.as_bytes().to_vec();
    totp(bytes, account)
}

/// The step a code matches now (±1 step), if any.
fn matching_step(secret_b32: &str, account: &str, code: &str, now: i64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp_of_base32(secret_b32, account)?.check(code, u64::try_from(now).ok()?)
}

/// The code an authenticator shows at `at` for a base32 secret (tests and the local demo use it).
pub fn code_at(secret_b32: &str, at: i64) -> Option<String> {
    let t = totp_of_base32(secret_b32, "x")?;
    Some(t.generate(u64::try_from(at).ok()?).to_string())
}

/// Starts (or restarts) TOTP enrolment: a fresh 160-bit secret kept as pending until confirmed. An account
/// already enrolled keeps its current secret working until the new one is confirmed.
pub async fn enrol_totp(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    email: &str,
) -> Result<TotpEnrolment, TableError> {
    let mut bytes = vec![0u8; 20];
    rand::rng().fill(&mut bytes[..]);
    let t = totp(bytes, email).ok_or_else(|| TableError::Invalid("totp parameters".into()))?;
    let secret = t.secret().to_base32();
    let otpauth_url = t.to_url().map_err(|e| TableError::Invalid(e.to_string()))?;
    app.table
        .update(&keys::agent(tenant, agent), Update::new().set("totp_pending", json!(secret)), Some(Condition::Exists))
        .await?;
    Ok(TotpEnrolment { secret, otpauth_url })
}

/// Confirms enrolment with a code from the new secret; from then on sign-in asks for a code. The change is
/// committed with `audit` (the caller's `auth.mfa_enrol` entry).
pub async fn confirm_totp(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    code: &str,
    audit: crate::audit::AuditEntry,
) -> Result<(), MfaError> {
    let key = keys::agent(tenant, agent);
    let account = app.table.get(&key).await?.ok_or(MfaError::Invalid)?;
    let account = AccountRecord::from_item(account).map_err(TableError::from)?;
    let pending = account.totp_pending.as_deref().ok_or(MfaError::Invalid)?;
    let email = account.email.as_str();
    let step = matching_step(pending, email, code, app.now().as_second()).ok_or(MfaError::Invalid)?;
    let update = Update::new()
        .set("totp_secret", json!(pending))
        .set("mfa_enabled", json!(true))
        .set("totp_last_step", json!(step))
        .remove("totp_pending");
    let op = TxOp::Update { key: key.clone(), update, condition: Some(Condition::eq("totp_pending", pending)) };
    let ops = vec![op, super::version::bump(tenant)];
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => {
            crate::identity::accounts::tell_owner(
                app,
                email,
                "Two-step sign-in is on for your Kefu account",
                "An authenticator app was just set up for your Kefu account; sign-in now asks for its code. If this \
                 was not you, contact your administrator at once.",
            )
            .await;
            Ok(())
        }
        Err(TableError::TransactionCanceled { .. }) => Err(MfaError::Invalid),
        Err(e) => Err(e.into()),
    }
}

/// Checks a TOTP code of an enrolled account and spends its step, so the same code (or an older one) is
/// never accepted twice.
pub async fn use_totp(app: &App, account: &AccountRecord, code: &str) -> Result<bool, TableError> {
    let Some(secret) = account.totp_secret.as_deref() else { return Ok(false) };
    let Some(step) = matching_step(secret, &account.email, code, app.now().as_second()) else { return Ok(false) };
    let key = keys::agent(&account.tenant_id, &account.agent_id);
    let fresh = Condition::Or(vec![
        Condition::AttrNotExists("totp_last_step".into()),
        Condition::cmp("totp_last_step", CmpOp::Lt, step),
    ]);
    match app.table.update(&key, Update::new().set("totp_last_step", json!(step)), Some(fresh)).await {
        Ok(_) => Ok(true),
        Err(TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A pending second step.
#[derive(Debug, Clone)]
pub struct Challenge {
    /// The challenge's store key hash.
    pub hash: String,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The account.
    pub agent_id: AgentId,
    /// The account's email (lockout key, email codes).
    pub email: String,
    /// The stored item.
    pub item: Item,
}

/// A pending second sign-in step as stored: `MFACHALLENGE#{challenge hash}` / `MFACHALLENGE` (the challenge
/// itself is never stored; its hash is only in the key, so the item is built with `record::item_of`). Its
/// `attempts` and `emails` are counted up by conditioned updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChallengeRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The account.
    pub agent_id: AgentId,
    /// The account's email (lockout key, email codes).
    pub email: String,
    /// The IP the password came from.
    pub ip: String,
    /// Wrong codes so far.
    #[serde(default)]
    pub attempts: i64,
    /// Codes sent by email so far.
    #[serde(default)]
    pub emails: i64,
    /// When the password was accepted.
    pub created_at: Timestamp,
    /// When it lapses (epoch seconds).
    pub ttl: i64,
}

impl ChallengeRecord {
    /// The `type` attribute of a challenge item.
    pub const TYPE: &'static str = "mfa_challenge";

    /// The item to store under the challenge's hash.
    pub fn item(&self, challenge_hash: &str) -> Item {
        let mut item = record::item_of(keys::mfa_challenge(challenge_hash), self);
        item.insert("type".into(), Value::String(Self::TYPE.into()));
        item
    }
}

/// Hands out a challenge after a correct password for an enrolled account.
pub async fn create_challenge(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    email: &str,
    ip: &str,
) -> Result<String, TableError> {
    let challenge = new_secret("kfc_");
    let now = app.now();
    let item = ChallengeRecord {
        tenant_id: tenant.clone(),
        agent_id: agent.clone(),
        email: email.to_owned(),
        ip: ip.to_owned(),
        attempts: 0,
        emails: 0,
        created_at: now,
        ttl: now.as_second() + CHALLENGE_TTL_SECS,
    };
    let item = item.item(&token_hash(&challenge));
    app.table.put(item, Some(Condition::NotExists)).await?;
    Ok(challenge)
}

/// The live challenge behind a challenge string.
pub async fn challenge(app: &App, challenge: &str) -> Result<Challenge, MfaError> {
    if challenge.len() > 100 || !challenge.starts_with("kfc_") {
        return Err(MfaError::Invalid);
    }
    let hash = token_hash(challenge);
    let item = app.table.get(&keys::mfa_challenge(&hash)).await?.ok_or(MfaError::Invalid)?;
    let now = app.now().as_second();
    let live = item.get("ttl").and_then(Value::as_i64).is_some_and(|t| t > now);
    let attempts = item.get("attempts").and_then(Value::as_i64).unwrap_or(0);
    if !live || attempts >= CHALLENGE_ATTEMPTS {
        return Err(MfaError::Invalid);
    }
    let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Challenge {
        tenant_id: TenantId::parse(&s("tenant_id")).ok_or(MfaError::Invalid)?,
        agent_id: AgentId::parse(&s("agent_id")).ok_or(MfaError::Invalid)?,
        email: s("email"),
        hash,
        item,
    })
}

fn email_code_hash(challenge_hash: &str, code: &str) -> String {
    token_hash(&format!("{challenge_hash}:{code}"))
}

/// Emails a one-time code for a challenge (through the mailer port: SNS in AWS, the local outbox in
/// `kefu serve`). A new code replaces the previous one.
pub async fn send_email_code(app: &App, c: &Challenge) -> Result<(), MfaError> {
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let update = Update::new().add("emails", 1).set("email_code", json!(email_code_hash(&c.hash, &code)));
    let condition = Condition::And(vec![Condition::Exists, Condition::cmp("emails", CmpOp::Lt, CHALLENGE_EMAILS)]);
    match app.table.update(&keys::mfa_challenge(&c.hash), update, Some(condition)).await {
        Ok(_) => {}
        Err(TableError::ConditionFailed) => return Err(MfaError::TooManyEmails),
        Err(e) => return Err(e.into()),
    }
    let body = format!(
        "Your Kefu sign-in code is {code}. It works once, for the next {} minutes. If you did not try to sign \
         in, change your password.",
        CHALLENGE_TTL_SECS / 60
    );
    app.mailer.send_email(&c.email, "Your Kefu sign-in code", &body).await.map_err(|e| MfaError::Mail(e.to_string()))
}

/// Checks a code against a challenge: the account's TOTP (each step once) or the emailed code. The attempt
/// is counted first, with a conditional update that only succeeds while the challenge has attempts left, so
/// at most [`CHALLENGE_ATTEMPTS`] codes are ever checked however many arrive at once (`Spent` for the
/// others). On success the challenge is used up (only one caller can use it).
pub async fn answer(app: &App, c: &Challenge, account: &AccountRecord, code: &str) -> Result<(), MfaError> {
    let key = keys::mfa_challenge(&c.hash);
    let room = Condition::And(vec![Condition::Exists, Condition::cmp("attempts", CmpOp::Lt, CHALLENGE_ATTEMPTS)]);
    match app.table.update(&key, Update::new().add("attempts", 1), Some(room)).await {
        Ok(_) => {}
        Err(TableError::ConditionFailed) => return Err(MfaError::Spent),
        Err(e) => return Err(e.into()),
    }
    let code = code.trim();
    let by_email = c.item.get("email_code").and_then(Value::as_str).is_some_and(|stored| {
        code.len() == 6 && bool::from(stored.as_bytes().ct_eq(email_code_hash(&c.hash, code).as_bytes()))
    });
    let ok = by_email || use_totp(app, account, code).await?;
    if !ok {
        return Err(MfaError::Invalid);
    }
    match app.table.delete(&key, Some(Condition::Exists)).await {
        Ok(_) => Ok(()),
        Err(TableError::ConditionFailed) => Err(MfaError::Invalid),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;

    #[test]
    fn a_challenge_is_stored_as_before_and_reads_back() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = ChallengeRecord {
            tenant_id: t.clone(),
            agent_id: a.clone(),
            email: "li@acme.test".into(),
            ip: "10.0.0.1".into(),
            attempts: 0,
            emails: 0,
            created_at: at,
            ttl: at.as_second() + CHALLENGE_TTL_SECS,
        };
        let expected = keys::mfa_challenge("h1").with(json!({
            "type": "mfa_challenge", "tenant_id": t, "agent_id": a, "email": "li@acme.test", "ip": "10.0.0.1",
            "attempts": 0, "emails": 0, "created_at": at, "ttl": at.as_second() + CHALLENGE_TTL_SECS,
        }));
        assert_eq!(r.item("h1"), expected);
        assert_eq!(record::parse::<ChallengeRecord>(ChallengeRecord::TYPE, expected).unwrap(), r);
    }

    #[tokio::test]
    async fn totp_codes_work_once_within_one_step_either_side() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let account = crate::identity::accounts::agent_item(
            &t,
            &a,
            "li@x.co",
            "Li",
            "h",
            &kefu_domain::RoleId::from_static("admin"),
            app.now(),
        );
        app.table.put(account, None).await.unwrap();
        let e = enrol_totp(&app, &t, &a, "li@x.co").await.unwrap();
        assert!(e.otpauth_url.starts_with("otpauth://totp/Kefu:li%40x.co?secret="), "{}", e.otpauth_url);
        let now = app.now().as_second();
        let entry = || crate::audit::AuditEntry::new(&t, "auth.mfa_enrol", crate::audit::Outcome::Success);
        assert!(matches!(confirm_totp(&app, &t, &a, "12345", entry()).await, Err(MfaError::Invalid)));
        confirm_totp(&app, &t, &a, &code_at(&e.secret, now).unwrap(), entry()).await.unwrap();
        let account = || async {
            let item = app.table.get(&keys::agent(&t, &a)).await.unwrap().unwrap();
            crate::identity::accounts::AccountRecord::from_item(item).unwrap()
        };
        assert!(
            !use_totp(&app, &account().await, &code_at(&e.secret, now).unwrap()).await.unwrap(),
            "spent at confirm"
        );

        clock.advance(jiff::SignedDuration::from_secs(30));
        let now = app.now().as_second();
        let previous_step = code_at(&e.secret, now - 30).unwrap();
        let next_step = code_at(&e.secret, now + 30).unwrap();
        let far = code_at(&e.secret, now + 90).unwrap();
        assert!(!use_totp(&app, &account().await, &far).await.unwrap(), "two steps ahead");
        assert!(!use_totp(&app, &account().await, &previous_step).await.unwrap(), "already used step");
        assert!(use_totp(&app, &account().await, &next_step).await.unwrap(), "one step ahead is fine");
        assert!(!use_totp(&app, &account().await, &next_step).await.unwrap(), "replay");
        assert!(!use_totp(&app, &account().await, &code_at(&e.secret, now).unwrap()).await.unwrap(), "older");
        clock.advance(jiff::SignedDuration::from_secs(60));
        let now = app.now().as_second();
        assert!(use_totp(&app, &account().await, &code_at(&e.secret, now).unwrap()).await.unwrap());
    }
}
