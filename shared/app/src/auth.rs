//! Staff sign-in: argon2id password hashes, opaque bearer tokens bound to stored sessions (so logout and
//! revocation take effect at once), and the principal every authenticated request carries.

use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kefu_domain::{AgentId, BuiltinRole, PermissionSet, RoleId, TenantId};
use kefu_ports::table::{Condition, Item, TableError, TxOp, Update};
use rand::RngCore;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::App;
use crate::keys;

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown account or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No valid session behind the token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

/// The default session lifetime when the tenant's policy does not set one.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

fn argon() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("static params"))
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    argon().hash_password(password.as_bytes(), &salt).expect("argon2 hashes").to_string()
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the account does not exist, so both answers take the same time.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("kefu-dummy-password-for-timing"))
}

/// Spends the effort of one real password check, for the paths that refuse without one (unknown account,
/// malformed tenant id or email), so a refusal's timing says nothing about why.
pub fn spend_verification_effort(password: &str) {
    verify_password(dummy_hash(), password);
}

/// A new random secret of 32 bytes with a readable prefix.
pub fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

/// SHA-256 of a token, hex: what the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Who is calling, after authentication.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's tenant: every lookup is scoped to it.
    pub tenant_id: TenantId,
    /// The caller's account.
    pub agent_id: AgentId,
    /// The caller's role.
    pub role_id: RoleId,
    /// What the role allows, read fresh on every request.
    pub permissions: PermissionSet,
    /// The session's key (for logout).
    pub session_hash: String,
}

/// The public view of a staff account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    /// Account id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role id.
    pub role_id: String,
    /// `online` / `away` / `offline`.
    pub status: String,
    /// Groups the agent belongs to.
    pub group_ids: Vec<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Most conversations at once.
    pub max_concurrent: u32,
    /// Last successful sign-in.
    pub last_login_at: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Created at.
    pub created_at: String,
}

fn s(item: &Item, k: &str) -> String {
    item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn strings(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl AgentView {
    /// The view of a stored account item.
    pub fn from_item(item: &Item) -> Self {
        Self {
            id: s(item, "agent_id"),
            tenant_id: s(item, "tenant_id"),
            email: s(item, "email"),
            name: s(item, "name"),
            role_id: s(item, "role_id"),
            status: item.get("status").and_then(Value::as_str).unwrap_or("offline").to_owned(),
            group_ids: strings(item, "group_ids"),
            skills: strings(item, "skills"),
            max_concurrent: item
                .get("max_concurrent")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(5),
            last_login_at: item.get("last_login_at").and_then(Value::as_str).map(str::to_owned),
            disabled: item.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            created_at: s(item, "created_at"),
        }
    }
}

/// A staff account item, as stored, ready to put.
pub fn agent_item(
    tenant: &TenantId,
    agent: &AgentId,
    email: &str,
    name: &str,
    password_hash: &str,
    role: &RoleId,
    at: jiff::Timestamp,
) -> Item {
    keys::agent(tenant, agent).with(json!({
        "type": "agent", "agent_id": agent, "tenant_id": tenant, "email": email, "name": name,
        "password_hash": password_hash, "role_id": role, "status": "offline", "group_ids": [], "skills": [],
        "max_concurrent": 5, "disabled": false, "created_at": at, "version": 1,
    }))
}

/// A role item, as stored.
pub fn role_item(tenant: &TenantId, role_id: &str, name: &str, permissions: &PermissionSet, builtin: bool) -> Item {
    keys::role(tenant, role_id).with(
        json!({"type": "role", "role_id": role_id, "name": name, "permissions": permissions.names(), "builtin": builtin}),
    )
}

/// The operations creating the three built-in roles of a new tenant.
pub fn builtin_role_ops(tenant: &TenantId) -> Vec<TxOp> {
    BuiltinRole::ALL
        .iter()
        .map(|r| TxOp::Put {
            item: role_item(tenant, r.name(), r.name(), &r.permissions(), true),
            condition: Some(Condition::NotExists),
        })
        .collect()
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LoginOk {
    /// The bearer token; shown once.
    pub token: String,
    /// When the session ends.
    pub expires_at: String,
    /// The account.
    pub agent: AgentView,
}

/// Signs a staff member in: the same answer, and about the same time, for an unknown email as for a wrong
/// password or a disabled account.
pub async fn login(app: &App, tenant: &TenantId, email: &str, password: &str, ip: &str) -> Result<LoginOk, AuthError> {
    let account = match app.table.get(&keys::agent_email(tenant, email)).await? {
        Some(claim) => match claim.get("agent_id").and_then(Value::as_str).and_then(AgentId::parse) {
            Some(id) => app.table.get(&keys::agent(tenant, &id)).await?,
            None => None,
        },
        None => None,
    };
    let Some(agent) = account else {
        spend_verification_effort(password);
        return Err(AuthError::InvalidCredentials);
    };
    let ok = verify_password(&s(&agent, "password_hash"), password);
    if !ok || agent.get("disabled").and_then(Value::as_bool).unwrap_or(false) {
        return Err(AuthError::InvalidCredentials);
    }
    let agent_id = AgentId::parse(&s(&agent, "agent_id")).ok_or(AuthError::InvalidCredentials)?;
    let now = app.now();
    let expires = now + jiff::SignedDuration::try_from(DEFAULT_SESSION_TTL).expect("fits");
    let token = new_secret("kfs_");
    let hash = token_hash(&token);
    let session = keys::session(&hash).with(json!({
        "type": "session", "tenant_id": tenant, "agent_id": agent_id, "created_at": now, "expires_at": expires,
        "ip": ip, "ttl": expires.as_second(),
        "gsi1pk": keys::sessions_of(tenant, &agent_id), "gsi1sk": now.to_string(),
    }));
    let stamp = TxOp::Update {
        key: keys::agent(tenant, &agent_id),
        update: Update::new().set("last_login_at", json!(now)),
        condition: Some(Condition::Exists),
    };
    app.table.transact(vec![TxOp::Put { item: session, condition: Some(Condition::NotExists) }, stamp]).await?;
    let mut view = AgentView::from_item(&agent);
    view.last_login_at = Some(now.to_string());
    Ok(LoginOk { token, expires_at: expires.to_string(), agent: view })
}

/// Resolves a bearer token to its principal: the session must exist and be unexpired, the account enabled;
/// the role's permissions are read now, so a change applies to the next request.
pub async fn authenticate(app: &App, token: &str) -> Result<Principal, AuthError> {
    if token.len() > 200 || !token.starts_with("kfs_") {
        return Err(AuthError::Unauthenticated);
    }
    let hash = token_hash(token);
    let session = app.table.get(&keys::session(&hash)).await?.ok_or(AuthError::Unauthenticated)?;
    let expires = session.get("ttl").and_then(Value::as_i64).unwrap_or(0);
    if expires <= app.now().as_second() {
        return Err(AuthError::Unauthenticated);
    }
    let tenant = TenantId::parse(&s(&session, "tenant_id")).ok_or(AuthError::Unauthenticated)?;
    let agent_id = AgentId::parse(&s(&session, "agent_id")).ok_or(AuthError::Unauthenticated)?;
    let agent = app.table.get(&keys::agent(&tenant, &agent_id)).await?.ok_or(AuthError::Unauthenticated)?;
    if agent.get("disabled").and_then(Value::as_bool).unwrap_or(false) {
        return Err(AuthError::Unauthenticated);
    }
    let role_id = RoleId::parse_any(&s(&agent, "role_id")).ok_or(AuthError::Unauthenticated)?;
    let permissions = match app.table.get(&keys::role(&tenant, role_id.as_str())).await? {
        Some(role) => {
            PermissionSet::parse(strings(&role, "permissions").iter().map(String::as_str)).unwrap_or_default()
        }
        None => PermissionSet::default(),
    };
    Ok(Principal { tenant_id: tenant, agent_id, role_id, permissions, session_hash: hash })
}

/// Ends a session at once.
pub async fn logout(app: &App, principal: &Principal) -> Result<(), AuthError> {
    app.table.delete(&keys::session(&principal.session_hash), None).await?;
    Ok(())
}

/// The account of a principal.
pub async fn me(app: &App, principal: &Principal) -> Result<AgentView, AuthError> {
    let item = app
        .table
        .get(&keys::agent(&principal.tenant_id, &principal.agent_id))
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(AgentView::from_item(&item))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse battery");
        let b = hash_password("correct horse battery");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "wrong horse battery"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let t = new_secret("kfs_");
        assert!(t.starts_with("kfs_") && t.len() == 47);
        assert_ne!(t, new_secret("kfs_"));
        assert_eq!(token_hash(&t).len(), 64);
    }
}
