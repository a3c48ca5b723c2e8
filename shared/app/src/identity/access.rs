//! Who may give access, and the tenant's last administrator.
//!
//! The rules are the domain's ([`kefu_domain::permission`]): no one gives a permission they do not hold, no one
//! changes the email, password, role or state of an account that holds a permission they lack, and group
//! membership is given only by those who see the group. This module reads what the rules need (the caller's
//! and the target's permissions, group memberships) and answers the domain's verdict.
//!
//! The last administrator: a tenant always keeps an enabled account holding `roles.manage` and
//! `agents.manage`. Every write that could take that away (a role given to an account, an account disabled, a
//! role's permissions replaced, a role deleted) first reads the tenant's *administrator guard* (a per-tenant
//! item with a version), then every account and role, judges the change with [`Roster`], and commits the
//! change in one transaction with a conditional bump of the guard's version. Two such writes racing read the
//! same version; only the first commits, the second fails its condition and answers 409, so two admins
//! demoting each other at once cannot both succeed. Writes that only add access (enable, create) need no
//! guard: they can only make the judgement of a racing write conservative.

use kefu_domain::permission::{AccountChange, GrantRefusal, may_add_to_group, may_change_account};
use kefu_domain::{AgentId, GroupId, Permission, PermissionSet, RoleId, Roster, RosterChange, TenantId};
use kefu_ports::table::{Condition, Item, Query, TableError, TxOp, Update};
use serde_json::{Value, json};

use crate::App;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;

/// The permissions a role grants: nothing when it does not exist (a deleted role grants nothing).
pub async fn role_permissions(app: &App, t: &TenantId, role_id: &str) -> Result<PermissionSet, TableError> {
    Ok(app.table.get(&keys::role(t, role_id)).await?.map(|r| permissions_of_role_item(&r)).unwrap_or_default())
}

fn permissions_of_role_item(role: &Item) -> PermissionSet {
    let names: Vec<&str> = role
        .get("permissions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    PermissionSet::parse(names).unwrap_or_default()
}

/// A string field of an item, empty when absent.
pub(crate) fn text<'a>(item: &'a Item, k: &str) -> &'a str {
    item.get(k).and_then(Value::as_str).unwrap_or_default()
}

/// Whether an account item is enabled.
pub(crate) fn enabled(account: &Item) -> bool {
    !account.get("disabled").and_then(Value::as_bool).unwrap_or(false)
}

/// The group ids an account item lists.
fn groups_of(account: &Item) -> Vec<String> {
    account
        .get("group_ids")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

/// An account as the granting rules see it before a change.
#[derive(Debug, Clone)]
pub struct Target {
    /// The stored account.
    pub account: Item,
    /// Its role id now.
    pub role_id: String,
    /// Its sign-in email now.
    pub email: String,
    /// What its role allows now.
    pub permissions: PermissionSet,
}

/// Reads an account of the tenant with its permissions; `None` when the tenant has no such account.
pub async fn target(app: &App, t: &TenantId, a: &AgentId) -> Result<Option<Target>, TableError> {
    let Some(account) = app.table.get(&keys::agent(t, a)).await? else { return Ok(None) };
    let role_id = text(&account, "role_id").to_owned();
    let permissions = role_permissions(app, t, &role_id).await?;
    Ok(Some(Target { email: text(&account, "email").to_owned(), role_id, permissions, account }))
}

/// Whether `caller` may give an account the role `role_id` (on creation or by a change): it must hold every
/// permission of that role. An unknown role passes here (the write refuses it as a validation error).
pub async fn may_give_role(app: &App, t: &TenantId, caller: &Principal, role_id: &str) -> Result<(), AccessError> {
    let Some(role) = RoleId::parse_any(role_id) else { return Ok(()) };
    let granted = role_permissions(app, t, role.as_str()).await?;
    Ok(kefu_domain::permission::may_grant(&caller.permissions, &granted)?)
}

/// Whether `caller` may make a change to `target`: one touching access (`touches_access`: email, password,
/// role, enabled state) needs every permission the account holds; a new role (`new_role`) needs every
/// permission of that role.
pub async fn may_change(
    app: &App,
    t: &TenantId,
    caller: &Principal,
    target: &Target,
    touches_access: bool,
    new_role: Option<&str>,
) -> Result<(), AccessError> {
    let new_role = match new_role.and_then(RoleId::parse_any) {
        Some(r) => Some(role_permissions(app, t, r.as_str()).await?),
        None => None,
    };
    let change = AccountChange { touches_access, new_role: new_role.as_ref() };
    Ok(may_change_account(&caller.permissions, &target.permissions, change)?)
}

/// Whether `caller` may add members to each of `groups` (ids as sent; unknown ones are left to the write's
/// validation): a group counts as the caller's when its account lists it.
pub async fn may_add_to_groups(
    app: &App,
    t: &TenantId,
    caller: &Principal,
    groups: &[&str],
) -> Result<(), AccessError> {
    let p = &caller.permissions;
    if groups.is_empty() || p.has(Permission::ConversationsViewAll) {
        return Ok(());
    }
    let mine = match app.table.get(&keys::agent(t, &caller.agent_id)).await? {
        Some(account) => groups_of(&account),
        None => Vec::new(), // an API key is no member of anything
    };
    for g in groups {
        may_add_to_group(p, mine.iter().any(|m| m == g))?;
    }
    Ok(())
}

/// Whether `caller` may create a group with `members`: no conversation is routed to a new group yet, so it
/// counts as the caller's when the caller is among its members.
pub fn may_fill_new_group(caller: &Principal, members: &[String]) -> Result<(), AccessError> {
    if members.is_empty() {
        return Ok(());
    }
    let member = members.iter().any(|m| m == caller.agent_id.as_str());
    Ok(may_add_to_group(&caller.permissions, member)?)
}

/// The members a group lists now (`None` when the tenant has no such group).
pub async fn group_members(app: &App, t: &TenantId, g: &GroupId) -> Result<Option<Vec<String>>, TableError> {
    Ok(app.table.get(&keys::group(t, g)).await?.map(|item| {
        item.get("agent_ids")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }))
}

/// The groups an account lists.
pub fn groups_of_account(account: &Item) -> Vec<String> {
    groups_of(account)
}

/// The groups among `wanted` that `had` does not list (the ones being joined).
pub fn joined<'a>(had: &[String], wanted: &'a [String]) -> Vec<&'a str> {
    wanted.iter().filter(|g| !had.contains(g)).map(String::as_str).collect()
}

/// Why an access change was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccessError {
    /// The granting rules refuse it (403).
    #[error("{0}")]
    Refused(GrantRefusal),
    /// It would leave the tenant with no enabled administrator (409).
    #[error(
        "this would leave the tenant with no enabled account holding roles.manage and agents.manage; give another account such a role first"
    )]
    LastAdministrator,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<GrantRefusal> for AccessError {
    fn from(r: GrantRefusal) -> Self {
        Self::Refused(r)
    }
}

/// The permission a refusal names (for the `permission.denied` audit entry): the one the caller lacked.
pub fn refused_permission(r: &GrantRefusal) -> Permission {
    match r {
        GrantRefusal::WouldGrant(p) | GrantRefusal::AccountOutranksCaller(p) => *p,
        GrantRefusal::GroupNotVisibleToCaller => Permission::ConversationsViewAll,
    }
}

// -------------------------------------------------------------------------------------- the last administrator

/// The tenant's accounts and roles for the last-administrator rule, read after the guard's version (so a
/// change committed in between fails the guard's condition).
async fn roster(app: &App, t: &TenantId) -> Result<Roster, TableError> {
    let mut r = Roster::new();
    for prefix in [keys::ROLE_PREFIX, keys::AGENT_PREFIX] {
        let mut cursor = None;
        loop {
            let q = Query::partition(keys::tenant_pk(t)).prefix(prefix).limit(500).after(cursor);
            let page = app.table.query(q).await?;
            for item in &page.items {
                match text(item, "type") {
                    "role" => {
                        r.role(text(item, "role_id"), permissions_of_role_item(item));
                    }
                    "agent" => {
                        r.account(text(item, "agent_id"), enabled(item), text(item, "role_id"));
                    }
                    _ => {}
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    Ok(r)
}

/// Judges `change` under the last-administrator rule and answers the operation to commit with it: the
/// guard's version bumped, on condition that it is still the one read before the judgement.
pub async fn keep_an_administrator(app: &App, t: &TenantId, change: &RosterChange) -> Result<TxOp, AccessError> {
    let key = keys::admin_guard(t);
    let version = app.table.get(&key).await?.and_then(|g| g.get("version").and_then(Value::as_u64)).unwrap_or(0);
    let roster = roster(app, t).await?;
    if !roster.keeps_an_administrator(change) {
        return Err(AccessError::LastAdministrator);
    }
    Ok(TxOp::Update {
        key,
        update: Update::new().set("type", "admin_guard").set("version", json!(version + 1)),
        condition: Some(Condition::version(version)),
    })
}

/// The message of a 409 when the guard moved under a change: another change to accounts or roles won.
pub const GUARD_MOVED: &str = "another change to accounts or roles happened at the same time; retry";

/// The roster change of giving `a` the role `role`.
pub fn set_role(a: &AgentId, role: &str) -> RosterChange {
    RosterChange::SetRole { account: a.to_string(), role: role.to_owned() }
}

/// The roster change of disabling `a`.
pub fn disable(a: &AgentId) -> RosterChange {
    RosterChange::SetEnabled { account: a.to_string(), enabled: false }
}

/// Whether a transaction failed on the guard at `index`.
pub fn guard_failed(e: &TableError, index: usize) -> bool {
    matches!(e, TableError::TransactionCanceled { failed } if failed.contains(&index))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joined_lists_only_new_groups() {
        let had = vec!["gr_a".to_owned(), "gr_b".to_owned()];
        let wanted = vec!["gr_b".to_owned(), "gr_c".to_owned()];
        assert_eq!(joined(&had, &wanted), ["gr_c"]);
        assert!(joined(&wanted, &had[1..]).is_empty());
    }
}
