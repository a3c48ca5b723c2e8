//! Roles: the three built-ins every tenant has (`admin`, `supervisor`, `agent`; fixed, neither changed nor
//! deleted, so their meaning is the same in every tenant and no one can lock the tenant out of administration
//! by editing `admin`) and custom roles built from the permission catalogue. A role still held by an account
//! cannot be deleted. Permissions are read on every request, so a change applies to the next one. Role names
//! are compared after NFKC, so no role can be made to look like another. A change to a role's permissions, or
//! its deletion, that would leave the tenant without an enabled administrator is refused ([`crate::identity::access`]).

use kefu_domain::text::fold;
use kefu_domain::{BuiltinRole, Name, PermissionSet, RoleId, RosterChange, TenantId};
use kefu_ports::table::{Condition, Item, Query, TableError, TxOp, Update};
use serde::Serialize;
use serde_json::{Value, json};

use super::error::IdentityError;
use crate::App;
use crate::audit::AuditEntry;
use crate::identity::access::{self, AccessError};
use crate::identity::accounts::RoleRecord;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};

/// The most custom roles a tenant may have.
pub const MAX_CUSTOM_ROLES: usize = 100;

/// A role as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RoleView {
    /// The role's id (`admin`, `supervisor`, `agent` or `ro_…`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// What it allows, in catalogue order.
    pub permissions: Vec<String>,
    /// Built-in roles cannot be changed or deleted.
    pub builtin: bool,
}

impl RoleView {
    /// The view of a role record.
    pub fn of(r: &RoleRecord) -> Self {
        Self { id: r.role_id.clone(), name: r.name.clone(), permissions: r.permissions.clone(), builtin: r.builtin }
    }

    /// The view of a stored role item.
    pub fn from_item(item: &Item) -> Self {
        let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Self {
            id: s("role_id"),
            name: s("name"),
            permissions: item
                .get("permissions")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            builtin: item.get("builtin").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// Why a role change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RoleError {
    /// No such role in this tenant.
    #[error("not found")]
    NotFound,
    /// Built-in roles are fixed.
    #[error("built-in roles cannot be changed or deleted")]
    Builtin,
    /// Accounts still hold the role.
    #[error("{0} accounts hold this role")]
    InUse(usize),
    /// Another role has this name.
    #[error("name taken")]
    NameTaken,
    /// The tenant has too many roles.
    #[error("too many roles")]
    TooMany,
    /// The change would leave the tenant without an enabled administrator, or raced another such change.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<AccessError> for RoleError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Table(t) => RoleError::Table(t),
            other => RoleError::Conflict(other.to_string()),
        }
    }
}

/// A page of the tenant's roles, by id (built-ins by name, custom roles `ro_…` oldest first).
pub async fn list(app: &App, tenant: &TenantId, params: &PageRequest) -> Result<ListPage<RoleView>, IdentityError> {
    let q = params.apply(Query::partition(keys::tenant_pk(tenant)).prefix(keys::ROLE_PREFIX))?;
    let page = app.table.query(q).await?;
    Ok(ListPage::from_page(page, RoleView::from_item))
}

/// Every role of the tenant.
async fn all(app: &App, tenant: &TenantId) -> Result<Vec<RoleView>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(Query::partition(keys::tenant_pk(tenant)).prefix(keys::ROLE_PREFIX).limit(200).after(cursor))
            .await?;
        out.extend(page.items.iter().map(RoleView::from_item));
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// One role of the tenant (also how other code checks that a role id names a role before giving it to an
/// account).
pub async fn get(app: &App, tenant: &TenantId, id: &RoleId) -> Result<Option<RoleView>, TableError> {
    Ok(app.table.get(&keys::role(tenant, id.as_str())).await?.map(|i| RoleView::from_item(&i)))
}

/// Whether `name` reads like a built-in role's or another role's name: compared after NFKC and lower-casing
/// ([`Name::folded`]), so a full-width "Ａdmin" collides with "admin" and no look-alike of a role can be made.
fn name_clash(roles: &[RoleView], name: &Name, except: Option<&RoleId>) -> bool {
    let wanted = name.folded();
    BuiltinRole::ALL.iter().any(|b| fold(b.name()) == wanted)
        || roles.iter().any(|r| fold(&r.name) == wanted && except.is_none_or(|e| e.as_str() != r.id))
}

/// Creates a custom role, committed with `audit` (the caller's `role.update` entry, op `create`).
pub async fn create(
    app: &App,
    tenant: &TenantId,
    name: &Name,
    permissions: &PermissionSet,
    audit: AuditEntry,
) -> Result<RoleView, RoleError> {
    let roles = all(app, tenant).await?;
    if roles.iter().filter(|r| !r.builtin).count() >= MAX_CUSTOM_ROLES {
        return Err(RoleError::TooMany);
    }
    if name_clash(&roles, name, None) {
        return Err(RoleError::NameTaken);
    }
    let id = RoleId::generate();
    let record = RoleRecord::new(id.as_str(), name.as_str(), permissions, false, Some(app.now()));
    let item = record.to_item(tenant);
    let audit = audit.target("role", &id).detail(json!({
        "op": "create", "name": name.as_str(), "permissions": permissions.names(),
    }));
    let op = TxOp::Put { item, condition: Some(Condition::NotExists) };
    crate::audit::commit(app, vec![op, super::version::bump(tenant)], Vec::new(), vec![audit]).await?;
    Ok(RoleView::of(&record))
}

/// Renames a custom role and replaces its permissions, committed with `audit` (the caller's `role.update`
/// entry, op `update`, keeping the name and permissions before as `from`).
pub async fn update(
    app: &App,
    tenant: &TenantId,
    id: &RoleId,
    name: &Name,
    permissions: &PermissionSet,
    audit: AuditEntry,
) -> Result<RoleView, RoleError> {
    let current = get(app, tenant, id).await?.ok_or(RoleError::NotFound)?;
    if current.builtin {
        return Err(RoleError::Builtin);
    }
    if name_clash(&all(app, tenant).await?, name, Some(id)) {
        return Err(RoleError::NameTaken);
    }
    let change = RosterChange::SetRolePermissions { role: id.to_string(), permissions: permissions.clone() };
    let guard = access::keep_an_administrator(app, tenant, &change).await?;
    let update = Update::new()
        .set("name", json!(name.as_str()))
        .set("permissions", json!(permissions.names()))
        .set("updated_at", json!(app.now()));
    let condition = Condition::And(vec![Condition::Exists, Condition::eq("builtin", false)]);
    let key = keys::role(tenant, id.as_str());
    let ops = vec![
        TxOp::Update { key: key.clone(), update, condition: Some(condition) },
        guard,
        super::version::bump(tenant),
    ];
    let audit = audit.target("role", id).detail(json!({
        "op": "update", "name": name.as_str(), "permissions": permissions.names(),
        "from": {"name": current.name, "permissions": current.permissions},
    }));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(get(app, tenant, id).await?.ok_or(RoleError::NotFound)?),
        Err(e) if access::guard_failed(&e, 1) => Err(RoleError::Conflict(access::GUARD_MOVED.into())),
        Err(TableError::TransactionCanceled { .. }) => Err(RoleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// How many accounts of the tenant hold `id` (one query on the tenant's accounts; no scan).
pub async fn holders(app: &App, tenant: &TenantId, id: &RoleId) -> Result<usize, TableError> {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(Query::partition(keys::tenant_pk(tenant)).prefix(keys::AGENT_PREFIX).limit(200).after(cursor))
            .await?;
        n += page
            .items
            .iter()
            .filter(|i| i.get("type").and_then(Value::as_str) == Some("agent"))
            .filter(|i| i.get("role_id").and_then(Value::as_str) == Some(id.as_str()))
            .count();
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(n);
        }
    }
}

/// Deletes a custom role nobody holds, committed with `audit` (the caller's `role.update` entry, op `delete`).
pub async fn delete(app: &App, tenant: &TenantId, id: &RoleId, audit: AuditEntry) -> Result<(), RoleError> {
    let current = get(app, tenant, id).await?.ok_or(RoleError::NotFound)?;
    if current.builtin {
        return Err(RoleError::Builtin);
    }
    let n = holders(app, tenant, id).await?;
    if n > 0 {
        return Err(RoleError::InUse(n));
    }
    // The guard serialises the delete with role changes of accounts, so an account given the role meanwhile
    // makes one of the two fail rather than leave a holder of a deleted role.
    let guard = access::keep_an_administrator(app, tenant, &RosterChange::DeleteRole { role: id.to_string() }).await?;
    let condition = Condition::And(vec![Condition::Exists, Condition::eq("builtin", false)]);
    let ops = vec![
        TxOp::Delete { key: keys::role(tenant, id.as_str()), condition: Some(condition) },
        guard,
        super::version::bump(tenant),
    ];
    let audit = audit.target("role", id).detail(json!({"op": "delete"}));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(()),
        Err(e) if access::guard_failed(&e, 1) => Err(RoleError::Conflict(access::GUARD_MOVED.into())),
        Err(TableError::TransactionCanceled { .. }) => Err(RoleError::NotFound),
        Err(e) => Err(e.into()),
    }
}
