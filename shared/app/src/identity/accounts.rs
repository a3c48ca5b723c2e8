//! Staff accounts and roles as stored, the principal an authenticated request carries, and mail to an
//! account's owner: what sign-in, sessions, MFA, roles and agent administration share.

use std::net::IpAddr;

use kefu_domain::security::{ApiKeyId, Restriction, SessionId};
use kefu_domain::{AgentId, BuiltinRole, PermissionSet, RoleId, TenantId};
use kefu_ports::table::{Condition, Item, TxOp};
use serde::Serialize;
use serde_json::{Value, json};

use crate::App;
use crate::plumbing::keys;

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A staff member's sign-in session (`Authorization: Bearer kfs_…`).
    Session(SessionId),
    /// An integration's API key (`X-Api-Key: kfk_…`).
    ApiKey(ApiKeyId),
}

/// Who is calling, after authentication.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's tenant: every lookup is scoped to it.
    pub tenant_id: TenantId,
    /// The caller's account. For an API key this is an id no account has (`ag_` + the key's ULID), so
    /// "assigned to me" finds nothing and nothing is done in a person's name.
    pub agent_id: AgentId,
    /// The caller's role (`api_key` for an API key).
    pub role_id: RoleId,
    /// What the role (or the key) allows, read fresh on every request.
    pub permissions: PermissionSet,
    /// The session's key (for logout); empty for an API key.
    pub session_hash: String,
    /// Session or API key.
    pub caller: Caller,
    /// The client's IP (from `ClientIp`, never `X-Forwarded-For`).
    pub ip: IpAddr,
    /// What a signed-in account must do before it may work (expired password, MFA enrolment); `Staff`
    /// refuses a restricted principal, `SignedIn` lets the few routes that lift it through.
    pub restriction: Option<Restriction>,
}

impl Principal {
    /// Who acts, as audit entries name it: the account, or the API key.
    pub fn actor(&self) -> crate::audit::Actor {
        match &self.caller {
            Caller::Session(_) => crate::audit::Actor::Account(self.agent_id.clone()),
            Caller::ApiKey(k) => crate::audit::Actor::ApiKey(k.clone()),
        }
    }

    /// A successful `action` by this caller, from its IP: the start of every audit entry a caller's change
    /// writes (the service making the change adds the target and detail and commits it with the change).
    pub fn audit(&self, action: &str) -> crate::audit::AuditEntry {
        crate::audit::AuditEntry::new(&self.tenant_id, action, crate::audit::Outcome::Success)
            .by(&self.actor())
            .ip(self.ip)
    }

    /// The actor's id (the account's, or the API key's), as audit entries and records store it.
    pub fn actor_id(&self) -> String {
        self.actor().id().unwrap_or_default()
    }

    /// The session's public id, when the caller is a session.
    pub fn session_id(&self) -> Option<&SessionId> {
        match &self.caller {
            Caller::Session(s) => Some(s),
            Caller::ApiKey(_) => None,
        }
    }
}

/// The public view of a staff account.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
    /// Whether sign-in asks for a second factor (TOTP confirmed).
    pub mfa_enabled: bool,
    /// Created at.
    pub created_at: String,
}

/// A string field of an item, empty when absent.
pub(super) fn s(item: &Item, k: &str) -> String {
    item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A list-of-strings field of an item, empty when absent.
pub(super) fn strings(item: &Item, k: &str) -> Vec<String> {
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
            mfa_enabled: item.get("mfa_enabled").and_then(Value::as_bool).unwrap_or(false),
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
        "max_concurrent": 5, "disabled": false, "created_at": at, "password_changed_at": at, "session_epoch": 0,
        "mfa_enabled": false, "version": 1,
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

/// Tells an account's owner about a change to its security by email (best effort: a mailer failure is
/// logged), so a change they did not make does not go unnoticed.
pub(crate) async fn tell_owner(app: &App, to: &str, subject: &str, body: &str) {
    if let Err(e) = app.mailer.send_email(to, subject, body).await {
        tracing::warn!(error = %e, "security notice not sent");
    }
}
