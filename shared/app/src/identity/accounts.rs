//! Staff accounts and roles as stored, the principal an authenticated request carries, and mail to an
//! account's owner: what sign-in, sessions, MFA, roles and agent administration share.

use std::net::IpAddr;

use jiff::Timestamp;
use kefu_domain::routing::AgentStatus;
use kefu_domain::security::{ApiKeyId, Restriction, SessionId};
use kefu_domain::{AgentId, BuiltinRole, GroupId, PermissionSet, RoleId, ScheduleId, TenantId};
use kefu_ports::table::{Condition, Item, Key, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record, RecordError};

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
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub status: AgentStatus,
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

impl AgentView {
    /// The view of a stored account.
    pub fn of(a: &AccountRecord) -> Self {
        Self {
            id: a.agent_id.to_string(),
            tenant_id: a.tenant_id.to_string(),
            email: a.email.clone(),
            name: a.name.clone(),
            role_id: a.role_id.to_string(),
            status: a.status,
            group_ids: a.group_ids.iter().map(ToString::to_string).collect(),
            skills: a.skills.clone(),
            max_concurrent: a.max_concurrent,
            last_login_at: a.last_login_at.map(|t| t.to_string()),
            disabled: a.disabled,
            mfa_enabled: a.mfa_enabled,
            created_at: a.created_at.to_string(),
        }
    }
}

fn default_max_concurrent() -> u32 {
    5
}

fn one() -> u64 {
    1
}

/// A staff account: `T#{t}` / `AGENT#{a}` (docs/data-model.md lists what each attribute is for). Written whole
/// when the account is created; every later change is an update of its own attributes (sign-in, MFA, sessions,
/// agent administration), so the record is the reader's and the creator's shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// Its id.
    pub agent_id: AgentId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Sign-in email, trimmed and lower-cased.
    pub email: String,
    /// Display name.
    pub name: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Its role (a built-in name or `ro_…`).
    pub role_id: RoleId,
    /// Presence (a copy of the routing item's, for `GET /v1/me`).
    #[serde(default = "offline")]
    pub status: AgentStatus,
    /// Agent groups (a copy of the routing item's).
    #[serde(default)]
    pub group_ids: Vec<GroupId>,
    /// Skills (a copy of the routing item's).
    #[serde(default)]
    pub skills: Vec<String>,
    /// Capacity (a copy of the routing item's).
    #[serde(default = "default_max_concurrent")]
    pub max_concurrent: u32,
    /// Its shift (a copy of the routing item's); null or absent: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_id: Option<ScheduleId>,
    /// Disabled accounts cannot sign in.
    #[serde(default)]
    pub disabled: bool,
    /// When it was created.
    pub created_at: Timestamp,
    /// When the password was last set (absent on old items: `created_at` counts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_changed_at: Option<Timestamp>,
    /// Sessions issued before this epoch no longer work.
    #[serde(default)]
    pub session_epoch: u64,
    /// Whether sign-in asks for a second factor.
    #[serde(default)]
    pub mfa_enabled: bool,
    /// Optimistic concurrency.
    #[serde(default = "one")]
    pub version: u64,
    /// The last successful sign-in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_login_at: Option<Timestamp>,
    /// The confirmed TOTP secret (base32).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_secret: Option<String>,
    /// A TOTP secret between enrolment and confirmation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_pending: Option<String>,
    /// The last TOTP time step accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totp_last_step: Option<u64>,
    /// Set by `kefu admin restore`: sessions are restricted to a password change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_must_change: Option<bool>,
    /// While disabled: since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Timestamp>,
}

fn offline() -> AgentStatus {
    AgentStatus::Offline
}

impl AccountRecord {
    /// A new account: offline, no groups or skills, 5 at once, enabled, no MFA, epoch 0, version 1.
    pub fn new(
        tenant: &TenantId,
        agent: &AgentId,
        email: &str,
        name: &str,
        password_hash: &str,
        role: &RoleId,
        at: Timestamp,
    ) -> Self {
        Self {
            agent_id: agent.clone(),
            tenant_id: tenant.clone(),
            email: email.to_owned(),
            name: name.to_owned(),
            password_hash: password_hash.to_owned(),
            role_id: role.clone(),
            status: AgentStatus::Offline,
            group_ids: Vec::new(),
            skills: Vec::new(),
            max_concurrent: default_max_concurrent(),
            schedule_id: None,
            disabled: false,
            created_at: at,
            password_changed_at: Some(at),
            session_epoch: 0,
            mfa_enabled: false,
            version: 1,
            last_login_at: None,
            totp_secret: None,
            totp_pending: None,
            totp_last_step: None,
            password_must_change: None,
            disabled_at: None,
        }
    }
}

impl Record for AccountRecord {
    const TYPE: &'static str = "agent";

    fn key(&self) -> Key {
        keys::agent(&self.tenant_id, &self.agent_id)
    }
}

/// A staff account item, as stored, ready to put (see [`AccountRecord::new`]).
pub fn agent_item(
    tenant: &TenantId,
    agent: &AgentId,
    email: &str,
    name: &str,
    password_hash: &str,
    role: &RoleId,
    at: jiff::Timestamp,
) -> Item {
    AccountRecord::new(tenant, agent, email, name, password_hash, role, at).to_item()
}

/// A role as stored: `T#{t}` / `ROLE#{role id}`. The tenant is only in the key, so the record is written with
/// [`RoleRecord::to_item`] given the tenant, not through [`Record`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleRecord {
    /// `admin`, `supervisor`, `agent` or `ro_…`.
    pub role_id: String,
    /// Its name.
    pub name: String,
    /// The names of its permissions (names, so a permission retired later does not make the item unreadable).
    pub permissions: Vec<String>,
    /// Built-in roles cannot be changed or deleted.
    #[serde(default)]
    pub builtin: bool,
    /// When a custom role was created (built-ins have none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    /// Its last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
}

impl RoleRecord {
    /// The `type` attribute of a role item.
    pub const TYPE: &'static str = "role";

    /// A role holding `permissions`, created at `at` (none for the built-ins).
    pub fn new(role_id: &str, name: &str, permissions: &PermissionSet, builtin: bool, at: Option<Timestamp>) -> Self {
        Self {
            role_id: role_id.to_owned(),
            name: name.to_owned(),
            permissions: permissions.names().into_iter().map(str::to_owned).collect(),
            builtin,
            created_at: at,
            updated_at: None,
        }
    }

    /// The item to store in `tenant`'s partition.
    pub fn to_item(&self, tenant: &TenantId) -> Item {
        let mut item = record::item_of(keys::role(tenant, &self.role_id), self);
        item.insert("type".into(), Value::String(Self::TYPE.into()));
        item
    }

    /// The record of a stored role item; one that does not parse is an error.
    pub fn from_ref(item: &Item) -> Result<Self, RecordError> {
        record::parse_ref(Self::TYPE, item)
    }
}

/// A built-in role's item, as stored.
pub fn role_item(tenant: &TenantId, role_id: &str, name: &str, permissions: &PermissionSet, builtin: bool) -> Item {
    RoleRecord::new(role_id, name, permissions, builtin, None).to_item(tenant)
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

/// An account's display name (what a visitor sees of the agent who answers), `None` when it is gone.
pub async fn display_name(app: &App, t: &TenantId, a: &AgentId) -> Result<Option<String>, TableError> {
    match app.table.get(&keys::agent(t, a)).await? {
        Some(item) => Ok(Some(AccountRecord::from_item(item)?.name)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// A new account is written with the attributes it had before it had a record, and an old item (no
    /// `password_changed_at`, `status` or `version`) still reads.
    #[test]
    fn a_role_is_stored_as_before_and_reads_back() {
        let t = TenantId::generate();
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let perms = PermissionSet::parse(["roles.manage"]).unwrap();
        let r = RoleRecord::new("ro_1", "Leads", &perms, false, Some(at));
        let expected = keys::role(&t, "ro_1").with(json!({
            "type": "role", "role_id": "ro_1", "name": "Leads", "permissions": ["roles.manage"], "builtin": false,
            "created_at": at,
        }));
        assert_eq!(r.to_item(&t), expected);
        assert_eq!(RoleRecord::from_ref(&expected).unwrap(), r);
        let builtin = role_item(&t, "admin", "admin", &perms, true);
        assert!(!builtin.contains_key("created_at"));
        assert_eq!(builtin["builtin"], true);
    }

    #[test]
    fn an_account_is_stored_as_before_and_old_items_read() {
        let (t, a) = (TenantId::generate(), AgentId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let role = RoleId::from_static("admin");
        let item = agent_item(&t, &a, "li@acme.test", "Li", "$argon2id$x", &role, at);
        let expected = keys::agent(&t, &a).with(json!({
            "type": "agent", "agent_id": a, "tenant_id": t, "email": "li@acme.test", "name": "Li",
            "password_hash": "$argon2id$x", "role_id": "admin", "status": "offline", "group_ids": [], "skills": [],
            "max_concurrent": 5, "disabled": false, "created_at": at, "password_changed_at": at, "session_epoch": 0,
            "mfa_enabled": false, "version": 1,
        }));
        assert_eq!(item, expected);
        let mut old = expected;
        for k in ["password_changed_at", "status", "version", "session_epoch"] {
            old.remove(k);
        }
        old.insert("last_login_at".into(), json!(at));
        let r = AccountRecord::from_item(old).unwrap();
        assert_eq!(
            (r.status, r.version, r.password_changed_at, r.last_login_at),
            (AgentStatus::Offline, 1, None, Some(at))
        );
        let mut bad = item;
        bad.insert("status".into(), json!("busy"));
        assert!(AccountRecord::from_item(bad).is_err(), "a status no enum names is an error");
    }
}
