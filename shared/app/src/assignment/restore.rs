//! The operator's way back in: `kefu admin restore` gives a tenant an administrator again when it has none it
//! can use. It creates the account through agent administration when needed, so it sits above both identity
//! and the agents it grants.

use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{Condition, TableError, TxOp, Update};
use serde_json::{Value, json};

use crate::App;
use crate::identity::access::{enabled, text};
use crate::plumbing::keys;

/// What `kefu admin restore` did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    /// The tenant.
    pub tenant_id: String,
    /// The account that administers the tenant now.
    pub agent_id: String,
    /// Its sign-in email.
    pub email: String,
    /// Whether the account was created (no account had this email).
    pub created: bool,
    /// Whether it was disabled before.
    pub was_disabled: bool,
    /// Its role before (`None` when created).
    pub previous_role: Option<String>,
    /// The password to sign in with, once: the first sign-in must set a new one (403 `password_expired`
    /// on anything else until then).
    pub one_time_password: String,
    /// Sessions of the account that were ended.
    pub sessions_ended: usize,
    /// Whether its TOTP second factor was removed (`--reset-mfa`).
    pub mfa_reset: bool,
}

/// Why the operator's restore failed.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// No such tenant in this store.
    #[error("no tenant {0} in this store")]
    NoTenant(String),
    /// The email (or the name, for a new account) is invalid.
    #[error(transparent)]
    Invalid(#[from] kefu_domain::ValidationError),
    /// The account could not be created.
    #[error("{0}")]
    Create(String),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// A one-time password an operator can read out: 4 groups of 5 characters from an alphabet without look-alikes
/// (about 98 bits), longer when the tenant's policy asks for more.
fn one_time_password(min_chars: usize) -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let groups = min_chars.div_ceil(5).max(4);
    (0..groups)
        .map(|_| (0..5).map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())])).collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Gives a tenant an administrator back, for the operator whose tenant has none it can use (every admin
/// disabled, demoted, locked out or gone): the account with `email` is enabled, given the built-in `admin` role,
/// unlocked, its sessions ended and its password replaced by a one-time password that must be changed at the
/// first sign-in (`reset_mfa` also removes its TOTP second factor). When no account has that email, one is
/// created (named `name`, default "Administrator"). Audited as `agent.update` by `operator`.
pub async fn restore_admin(
    app: &App,
    t: &TenantId,
    email: &str,
    name: Option<&str>,
    reset_mfa: bool,
) -> Result<Restored, RestoreError> {
    if app.table.get(&keys::tenant(t)).await?.is_none() {
        return Err(RestoreError::NoTenant(t.to_string()));
    }
    let email = kefu_domain::Email::parse(email)?;
    let policy = crate::identity::security::policy(app, t).await?;
    let min = usize::try_from(policy.password_min_length).unwrap_or(kefu_domain::text::PASSWORD_MIN_CHARS);
    let password = one_time_password(min);
    let claim = app.table.get(&keys::agent_email(t, email.as_str())).await?;
    let existing = claim.as_ref().and_then(|c| c.get("agent_id")).and_then(Value::as_str).and_then(AgentId::parse);
    let (agent, created, was_disabled, previous_role, mfa_reset) = match existing {
        Some(a) => {
            let account =
                app.table.get(&keys::agent(t, &a)).await?.ok_or_else(|| RestoreError::NoTenant(t.to_string()))?;
            super::ensure_agent_load(app, t, &a).await.map_err(|e| RestoreError::Create(e.to_string()))?;
            let mut update = Update::new()
                .set("role_id", "admin")
                .set("disabled", false)
                .remove("disabled_at")
                .set("password_hash", crate::identity::secrets::hash_password(&password).await)
                .set("password_changed_at", json!(app.now()))
                .set("password_must_change", true);
            let mfa_reset = reset_mfa && account.get("mfa_enabled").and_then(Value::as_bool).unwrap_or(false);
            if reset_mfa {
                update = update
                    .set("mfa_enabled", false)
                    .remove("totp_secret")
                    .remove("totp_pending")
                    .remove("totp_last_step");
            }
            let guard = keys::admin_guard(t);
            let version =
                app.table.get(&guard).await?.and_then(|g| g.get("version").and_then(Value::as_u64)).unwrap_or(0);
            app.table
                .transact(vec![
                    TxOp::Update { key: keys::agent(t, &a), update, condition: Some(Condition::Exists) },
                    TxOp::Update {
                        key: keys::agent_load(t, &a),
                        update: Update::new().set("disabled", false),
                        condition: Some(Condition::Exists),
                    },
                    TxOp::Update {
                        key: guard,
                        update: Update::new().set("type", "admin_guard").set("version", json!(version + 1)),
                        condition: None,
                    },
                    crate::identity::version::bump(t),
                ])
                .await?;
            (a, false, !enabled(&account), Some(text(&account, "role_id").to_owned()), mfa_reset)
        }
        None => {
            let req = super::agents::NewAgent {
                email: email.as_str().to_owned(),
                name: name.unwrap_or("Administrator").to_owned(),
                password: password.clone(),
                role_id: "admin".into(),
                group_ids: vec![],
                skills: vec![],
                max_concurrent: None,
                schedule_id: None,
            };
            let view = super::agents::create_agent(app, t, req, None).await.map_err(|e| match e {
                super::admin::AdminError::Invalid(v) => RestoreError::Invalid(v),
                super::admin::AdminError::Table(t) => RestoreError::Table(t),
                other => RestoreError::Create(other.to_string()),
            })?;
            let a = AgentId::parse(&view.id).ok_or_else(|| RestoreError::Create("no account id".into()))?;
            let update = Update::new().set("password_must_change", true);
            app.table.update(&keys::agent(t, &a), update, Some(Condition::Exists)).await?;
            crate::identity::version::bump_now(app, t).await?;
            (a, true, false, None, false)
        }
    };
    let sessions_ended =
        if created { 0 } else { crate::identity::sessions::revoke_all(app, t, &agent, None, None).await? };
    crate::identity::security::unlock(app, t, email.as_str()).await?;
    crate::audit::record(
        app,
        crate::audit::AuditEntry::new(t, "agent.update", crate::audit::Outcome::Success)
            .by(&crate::audit::Actor::Operator)
            .target("agent", &agent)
            .detail(json!({
                "op": "admin.restore", "created": created, "disabled": false,
                "role_id": {"from": previous_role, "to": "admin"}, "sessions_revoked": sessions_ended,
                "mfa_reset": mfa_reset, "password_must_change": true,
            })),
    )
    .await?;
    Ok(Restored {
        tenant_id: t.to_string(),
        agent_id: agent.to_string(),
        email: email.as_str().to_owned(),
        created,
        was_disabled,
        previous_role,
        one_time_password: password,
        sessions_ended,
        mfa_reset,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_time_passwords_are_readable_long_and_fresh() {
        let p = one_time_password(12);
        assert_eq!(p.len(), 4 * 5 + 3, "{p}");
        assert!(
            p.split('-').all(|g| g.len() == 5 && g.bytes().all(|b| b"abcdefghjkmnpqrstuvwxyz23456789".contains(&b)))
        );
        assert_ne!(p, one_time_password(12));
        assert!(one_time_password(128).chars().filter(|c| *c != '-').count() >= 128, "the policy's minimum holds");
    }
}
