//! A tenant's security policy, as stored, and the checks built on it: new passwords, the IP allowlist, and
//! the per-account lockout after consecutive failed sign-ins (each attempt counted before it is checked).
//!
//! Nothing is cached across requests: the policy is read by every staff request, so a change (a narrower
//! allowlist, `mfa_required`) applies to the very next one.

use std::net::IpAddr;

use jiff::Timestamp;
use kefu_domain::security::SecurityPolicy;
use kefu_domain::{Password, TenantId, ValidationError};
use kefu_ports::table::{CmpOp, Condition, Item, Key, TableError, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// A tenant's saved security policy: `T#{t}` / `SETTINGS#SECURITY`, written whole on every save. It is read
/// leniently ([`policy_of`]: a field missing or malformed keeps its default), so it has no `from_item` reader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The policy, its fields stored side by side with the others.
    #[serde(flatten)]
    pub policy: SecurityPolicy,
    /// The last save.
    pub updated_at: Timestamp,
}

impl Record for SecurityRecord {
    const TYPE: &'static str = "security_settings";

    fn key(&self) -> Key {
        keys::security_settings(&self.tenant_id)
    }
}

/// How long consecutive failures are remembered when no lock follows them.
const FAILURES_REMEMBERED_SECS: i64 = 24 * 3600;

/// A tenant's policy; the defaults when it never saved one.
pub async fn policy(app: &App, tenant: &TenantId) -> Result<SecurityPolicy, TableError> {
    Ok(app.table.get(&keys::security_settings(tenant)).await?.map(|i| policy_of(&i)).unwrap_or_default())
}

/// The policy stored in a settings item (fields that are missing or malformed keep their defaults).
pub fn policy_of(item: &Item) -> SecurityPolicy {
    let d = SecurityPolicy::default();
    let num = |k: &str, default: u32| {
        item.get(k).and_then(Value::as_u64).and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
    };
    SecurityPolicy {
        password_min_length: num("password_min_length", d.password_min_length),
        password_max_age_days: item
            .get("password_max_age_days")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok()),
        lockout_threshold: num("lockout_threshold", d.lockout_threshold),
        lockout_minutes: num("lockout_minutes", d.lockout_minutes),
        mfa_required: item.get("mfa_required").and_then(Value::as_bool).unwrap_or(d.mfa_required),
        ip_allowlist: item
            .get("ip_allowlist")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        session_ttl_minutes: num("session_ttl_minutes", d.session_ttl_minutes),
    }
}

/// Stores a validated policy, committed with `audit` (the caller's `settings.update` entry).
pub async fn save_policy(
    app: &App,
    tenant: &TenantId,
    p: &SecurityPolicy,
    audit: crate::audit::AuditEntry,
) -> Result<(), TableError> {
    let item = SecurityRecord { tenant_id: tenant.clone(), policy: p.clone(), updated_at: app.now() }.to_item();
    let op = kefu_ports::table::TxOp::Put { item, condition: None };
    let ops = vec![op, super::version::bump(tenant)];
    crate::audit::commit(app, ops, Vec::new(), vec![audit.target("settings", "security")]).await
}

/// Whether the tenant's allowlist lets `ip` in.
pub fn ip_allowed(policy: &SecurityPolicy, ip: IpAddr) -> bool {
    policy.allowlist().allows(ip)
}

/// Why a new password was refused.
#[derive(Debug, thiserror::Error)]
pub enum PasswordCheckError {
    /// It breaks the policy (the field is `password`; callers rename it with [`ValidationError::under`] or by
    /// setting `field`).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// Checks a password someone is about to set for the account `email` of `tenant`, against the tenant's
/// policy: its minimum length (default 12) up to 1024 characters, not on the bundled common-password list,
/// not the account's email (or its local part) nor the tenant's name. No composition rules. Every code path
/// that sets a password calls this (password change, agent creation, resets).
pub async fn check_new_password(
    app: &App,
    tenant: &TenantId,
    password: &str,
    email: &str,
) -> Result<Password, PasswordCheckError> {
    let tenant_key = keys::tenant(tenant);
    let (policy, tenant_item) = futures::try_join!(policy(app, tenant), app.table.get(&tenant_key))?;
    let tenant_name = tenant_item.as_ref().and_then(|t| t.get("name")).and_then(Value::as_str).unwrap_or_default();
    let min = usize::try_from(policy.password_min_length).unwrap_or(kefu_domain::text::PASSWORD_MIN_CHARS);
    Ok(Password::parse(password, min, email, tenant_name)?)
}

/// The lock state of one email in one tenant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockState {
    /// Epoch second the lock ends, when locked now.
    pub locked_until: Option<i64>,
    /// Consecutive failures so far.
    pub failures: i64,
}

impl LockState {
    /// Seconds until the lock ends (at least 1), when locked.
    pub fn retry_after(&self, now: i64) -> Option<u64> {
        self.locked_until.filter(|u| *u > now).map(|u| u64::try_from(u - now).unwrap_or(1).max(1))
    }
}

/// The lock state of `email` (the same for an unknown email as for a real one).
pub async fn lock_state(app: &App, tenant: &TenantId, email: &str) -> Result<LockState, TableError> {
    let now = app.now().as_second();
    let item = app.table.get(&keys::login_failures(tenant, email)).await?;
    Ok(item.map_or_else(LockState::default, |i| LockState {
        locked_until: i.get("locked_until").and_then(Value::as_i64).filter(|u| *u > now),
        failures: i.get("failures").and_then(Value::as_i64).unwrap_or(0),
    }))
}

/// What claiming an attempt answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// The attempt may be checked; it is already counted as the `n`th consecutive failure (a success clears
    /// the count with [`clear_failures`], a failure settles it with [`settle_failure`]).
    Granted(i64),
    /// Locked (or the threshold is taken by attempts still being checked): do not check; retry after this
    /// many seconds.
    Locked(u64),
}

/// Counts a sign-in (or second-factor, or current-password) attempt of `email` *before* it is checked, with
/// one conditional update that succeeds only while the account is not locked and fewer than
/// `lockout_threshold` failures are counted. So a burst of concurrent attempts checks at most the threshold:
/// the attempts beyond it are refused without being checked.
///
/// When the count is full but no lock is set yet, the attempts that filled it are still being checked (or
/// their checker stopped before settling): the account counts as locked until `lockout_minutes` after the
/// last of them, after which the count starts over.
pub async fn claim_attempt(
    app: &App,
    tenant: &TenantId,
    email: &str,
    policy: &SecurityPolicy,
) -> Result<Claim, TableError> {
    let now = app.now().as_second();
    let key = keys::login_failures(tenant, email);
    let threshold = i64::from(policy.lockout_threshold);
    let lock_secs = i64::from(policy.lockout_minutes) * 60;
    let count = |failures: Update| {
        failures
            .set("tenant_id", json!(tenant))
            .set("last_attempt_at", json!(now))
            .set("ttl", json!(now + FAILURES_REMEMBERED_SECS.max(lock_secs)))
    };
    let unlocked = Condition::Or(vec![
        Condition::AttrNotExists("locked_until".into()),
        Condition::cmp("locked_until", CmpOp::Le, now),
    ]);
    let room = Condition::Or(vec![
        Condition::AttrNotExists("failures".into()),
        Condition::cmp("failures", CmpOp::Lt, threshold),
    ]);
    let retry = |until: i64| Claim::Locked(u64::try_from(until - now).unwrap_or(1).max(1));
    // Twice at most: a success may clear the count between the update and the read.
    for _ in 0..2 {
        let claim = Condition::And(vec![unlocked.clone(), room.clone()]);
        match app.table.update(&key, count(Update::new().add("failures", 1)), Some(claim)).await {
            Ok(item) => return Ok(Claim::Granted(item.get("failures").and_then(Value::as_i64).unwrap_or(1))),
            Err(TableError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
        let Some(item) = app.table.get(&key).await? else { continue };
        if let Some(until) = item.get("locked_until").and_then(Value::as_i64).filter(|u| *u > now) {
            return Ok(retry(until));
        }
        let last = item.get("last_attempt_at").and_then(Value::as_i64);
        if let Some(last) = last
            && last + lock_secs > now
        {
            return Ok(retry(last + lock_secs));
        }
        // A full count whose attempts were never settled, older than a lock would last (or left by a higher
        // threshold): start over.
        let stale = match last {
            Some(last) => Condition::cmp("last_attempt_at", CmpOp::Le, last),
            None => Condition::AttrNotExists("last_attempt_at".into()),
        };
        let update = count(Update::new().set("failures", json!(1)).remove("locked_until"));
        return match app.table.update(&key, update, Some(stale)).await {
            Ok(_) => Ok(Claim::Granted(1)),
            Err(TableError::ConditionFailed) => Ok(retry(now + lock_secs)),
            Err(e) => Err(e),
        };
    }
    Ok(retry(now + 1))
}

/// Settles a claimed attempt (the `failures`th) that failed its check: when it reached `lockout_threshold`,
/// the account locks for `lockout_minutes` and the count starts over. Answers the new state.
pub async fn settle_failure(
    app: &App,
    tenant: &TenantId,
    email: &str,
    policy: &SecurityPolicy,
    failures: i64,
) -> Result<LockState, TableError> {
    if failures < i64::from(policy.lockout_threshold) {
        return Ok(LockState { locked_until: None, failures });
    }
    let now = app.now().as_second();
    let until = now + i64::from(policy.lockout_minutes) * 60;
    app.table
        .update(
            &keys::login_failures(tenant, email),
            Update::new()
                .set("failures", json!(0))
                .set("locked_until", json!(until))
                .set("tenant_id", json!(tenant))
                .set("ttl", json!(until.max(now + FAILURES_REMEMBERED_SECS))),
            None,
        )
        .await?;
    Ok(LockState { locked_until: Some(until), failures })
}

/// Forgets the failures of `email` after a successful check. A lock that a concurrent failure set in the
/// meantime stays.
pub async fn clear_failures(app: &App, tenant: &TenantId, email: &str) -> Result<(), TableError> {
    let now = app.now().as_second();
    let unlocked = Condition::Or(vec![
        Condition::AttrNotExists("locked_until".into()),
        Condition::cmp("locked_until", CmpOp::Le, now),
    ]);
    match app.table.delete(&keys::login_failures(tenant, email), Some(unlocked)).await {
        Ok(_) | Err(TableError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Lifts the sign-in lock of `email` and forgets its failures, whatever their state: for an operator giving an
/// account back (`kefu admin restore`), not for a sign-in (which uses [`clear_failures`], keeping a lock that a
/// concurrent failure set).
pub async fn unlock(app: &App, tenant: &TenantId, email: &str) -> Result<(), TableError> {
    app.table.delete(&keys::login_failures(tenant, email), None).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;

    #[test]
    fn a_saved_policy_is_stored_as_before_and_reads_back() {
        let t = TenantId::generate();
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let p = SecurityPolicy { mfa_required: true, ip_allowlist: vec!["10.0.0.0/8".into()], ..Default::default() };
        let r = SecurityRecord { tenant_id: t.clone(), policy: p.clone(), updated_at: at };
        let expected = keys::security_settings(&t).with(json!({
            "type": "security_settings", "tenant_id": t,
            "password_min_length": p.password_min_length, "password_max_age_days": null,
            "lockout_threshold": p.lockout_threshold, "lockout_minutes": p.lockout_minutes,
            "mfa_required": true, "ip_allowlist": ["10.0.0.0/8"],
            "session_ttl_minutes": p.session_ttl_minutes, "updated_at": at,
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(SecurityRecord::from_ref(&expected).unwrap(), r);
        assert_eq!(policy_of(&expected), p);
    }

    #[tokio::test]
    async fn lockout_counts_consecutive_failures_and_expires() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let t = TenantId::generate();
        let p = SecurityPolicy { lockout_threshold: 3, lockout_minutes: 10, ..Default::default() };
        let fail = || async {
            let Claim::Granted(n) = claim_attempt(&app, &t, "x@y.co", &p).await.unwrap() else { panic!("locked") };
            settle_failure(&app, &t, "x@y.co", &p, n).await.unwrap()
        };
        for n in 1..3 {
            let s = fail().await;
            assert_eq!((s.failures, s.locked_until), (n, None));
        }
        clear_failures(&app, &t, "x@y.co").await.unwrap();
        for _ in 0..2 {
            fail().await;
        }
        assert_eq!(lock_state(&app, &t, "x@y.co").await.unwrap().locked_until, None, "a success resets the run");
        let s = fail().await;
        assert!(s.locked_until.is_some());
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Locked(600), "no check while locked");
        let now = app.now().as_second();
        assert_eq!(lock_state(&app, &t, "x@y.co").await.unwrap().retry_after(now), Some(600));
        assert_eq!(lock_state(&app, &t, "other@y.co").await.unwrap(), LockState::default());
        clock.advance(jiff::SignedDuration::from_secs(600));
        let s = lock_state(&app, &t, "x@y.co").await.unwrap();
        assert_eq!((s.locked_until, s.failures), (None, 0), "the lock ends and the count starts over");
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Granted(1));
    }

    #[tokio::test]
    async fn attempts_are_counted_before_they_are_checked() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let t = TenantId::generate();
        let p = SecurityPolicy { lockout_threshold: 3, lockout_minutes: 10, ..Default::default() };
        // Three attempts in flight fill the count: a fourth is refused before any of them is settled.
        for n in 1..=3 {
            assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Granted(n));
        }
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Locked(600));
        // A success among them clears the count, but not a lock a concurrent failure set.
        clear_failures(&app, &t, "x@y.co").await.unwrap();
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Granted(1));
        settle_failure(&app, &t, "x@y.co", &p, 3).await.unwrap();
        clear_failures(&app, &t, "x@y.co").await.unwrap();
        assert!(matches!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Locked(_)));
        // Attempts whose checker stopped before settling hold the count for a lock's length, then it starts over.
        clock.advance(jiff::SignedDuration::from_secs(600));
        for n in 1..=3 {
            assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Granted(n));
        }
        clock.advance(jiff::SignedDuration::from_secs(300));
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Locked(300));
        clock.advance(jiff::SignedDuration::from_secs(300));
        assert_eq!(claim_attempt(&app, &t, "x@y.co", &p).await.unwrap(), Claim::Granted(1));
    }

    #[tokio::test]
    async fn policies_round_trip_and_new_passwords_follow_them() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(kefu_ports::SystemClock));
        let t = TenantId::generate();
        assert_eq!(policy(&app, &t).await.unwrap(), SecurityPolicy::default());
        let p = SecurityPolicy {
            password_min_length: 16,
            password_max_age_days: Some(90),
            ip_allowlist: vec!["10.0.0.0/8".into()],
            ..Default::default()
        };
        save_policy(&app, &t, &p, crate::audit::AuditEntry::new(&t, "test", crate::audit::Outcome::Success))
            .await
            .unwrap();
        assert_eq!(policy(&app, &t).await.unwrap(), p);
        let e = check_new_password(&app, &t, "fifteen chars!!", "li@x.co").await.unwrap_err();
        assert!(matches!(e, PasswordCheckError::Invalid(v) if v.field == "password"));
        assert!(check_new_password(&app, &t, "sixteen chars ok", "li@x.co").await.is_ok());
        assert!(check_new_password(&app, &t, "qwerty1234567890", "li@x.co").await.is_err(), "common");
        assert!(check_new_password(&app, &t, "li@x.co", "li@x.co").await.is_err());
    }
}
