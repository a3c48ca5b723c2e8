//! API keys for integrations: their own permissions (never more than their creator's), stored only as a
//! SHA-256 hash, shown once, revocable, sent as `X-Api-Key` on staff routes. The tenant's IP allowlist
//! applies to them as to staff.

use std::net::IpAddr;

use kefu_domain::security::ApiKeyId;
use kefu_domain::{AgentId, Name, PermissionSet, RoleId, TenantId};
use kefu_ports::table::{Condition, Item, Query, TableError, TxOp};
use serde::Serialize;
use serde_json::{Value, json};

use super::accounts::{Caller, Principal};
use super::auth::AuthError;
use super::error::IdentityError;
use super::secrets::{new_secret, token_hash};
use super::security;
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};

/// The prefix of API keys.
pub const KEY_PREFIX: &str = "kfk_";
/// The role id a key's principal carries (no role has it).
pub const API_KEY_ROLE: &str = "api_key";

/// An API key as listed (never the key).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ApiKeyView {
    /// The key's id.
    pub id: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub permissions: Vec<String>,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at: String,
}

impl ApiKeyView {
    fn from_item(item: &Item) -> Self {
        let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
        Self {
            id: s("key_id"),
            name: s("name"),
            permissions: item
                .get("permissions")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
                .unwrap_or_default(),
            prefix: s("prefix"),
            created_by: s("created_by"),
            created_at: s("created_at"),
        }
    }
}

/// `POST /v1/api_keys` answer: the key, shown this once.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CreatedApiKey {
    /// The key's id.
    pub id: String,
    /// The key itself: send it as `X-Api-Key`. It is not stored and cannot be shown again.
    pub key: String,
    /// What it is for.
    pub name: String,
    /// What it may do.
    pub permissions: Vec<String>,
    /// When it was created.
    pub created_at: String,
}

/// Creates a key with `permissions` for `tenant`, by `creator`.
pub async fn create(
    app: &App,
    tenant: &TenantId,
    creator: &Principal,
    name: &Name,
    permissions: &PermissionSet,
) -> Result<CreatedApiKey, TableError> {
    let id = ApiKeyId::generate();
    let key = new_secret(KEY_PREFIX);
    let hash = token_hash(&key);
    let now = app.now();
    let prefix: String = key.chars().take(KEY_PREFIX.len() + 6).collect();
    let record = keys::api_key(tenant, id.as_str()).with(json!({
        "type": "api_key", "key_id": id, "tenant_id": tenant, "name": name.as_str(),
        "permissions": permissions.names(), "prefix": prefix, "key_hash": hash,
        "created_by": creator.actor_id(), "created_at": now,
    }));
    let lookup = keys::api_key_secret(&hash).with(json!({
        "type": "api_key_secret", "key_id": id, "tenant_id": tenant, "permissions": permissions.names(),
    }));
    let entry = creator
        .audit("api_key.create")
        .target("api_key", &id)
        .detail(json!({"name": name.as_str(), "permissions": permissions.names()}));
    let ops = vec![
        TxOp::Put { item: record, condition: Some(Condition::NotExists) },
        TxOp::Put { item: lookup, condition: Some(Condition::NotExists) },
    ];
    crate::audit::commit(app, ops, Vec::new(), vec![entry]).await?;
    Ok(CreatedApiKey {
        id: id.to_string(),
        key,
        name: name.as_str().to_owned(),
        permissions: permissions.names().into_iter().map(str::to_owned).collect(),
        created_at: now.to_string(),
    })
}

/// A page of a tenant's keys, oldest first.
pub async fn list(app: &App, tenant: &TenantId, params: &PageRequest) -> Result<ListPage<ApiKeyView>, IdentityError> {
    let q = params.apply(Query::partition(keys::tenant_pk(tenant)).prefix(keys::API_KEY_PREFIX))?;
    let page = app.table.query(q).await?;
    Ok(ListPage::from_page(page, ApiKeyView::from_item))
}

/// Revokes a key at once (audited as `api_key.revoke` by `by`); `false` when the tenant has no such key.
pub async fn revoke(app: &App, by: &Principal, id: &ApiKeyId) -> Result<bool, TableError> {
    let tenant = &by.tenant_id;
    let key = keys::api_key(tenant, id.as_str());
    let Some(record) = app.table.get(&key).await? else { return Ok(false) };
    let hash = record.get("key_hash").and_then(Value::as_str).unwrap_or_default();
    let ops = vec![
        TxOp::Delete { key, condition: Some(Condition::Exists) },
        TxOp::Delete { key: keys::api_key_secret(hash), condition: None },
    ];
    crate::audit::commit(app, ops, Vec::new(), vec![by.audit("api_key.revoke").target("api_key", id)]).await?;
    Ok(true)
}

/// Resolves `X-Api-Key` to a principal with exactly the key's permissions, after the tenant's allowlist.
pub async fn authenticate(app: &App, key: &str, ip: IpAddr) -> Result<Principal, AuthError> {
    if key.len() > 200 || !key.starts_with(KEY_PREFIX) {
        return Err(AuthError::Unauthenticated);
    }
    let item = app.table.get(&keys::api_key_secret(&token_hash(key))).await?.ok_or(AuthError::Unauthenticated)?;
    let s = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let tenant = TenantId::parse(&s("tenant_id")).ok_or(AuthError::Unauthenticated)?;
    let key_id = ApiKeyId::parse(&s("key_id")).ok_or(AuthError::Unauthenticated)?;
    let policy = security::policy(app, &tenant).await?;
    if !security::ip_allowed(&policy, ip) {
        return Err(AuthError::IpNotAllowed);
    }
    let names: Vec<&str> = item
        .get("permissions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let permissions = PermissionSet::parse(names).unwrap_or_default();
    let agent_id = AgentId::parse(&format!("ag_{}", key_id.ulid_part())).ok_or(AuthError::Unauthenticated)?;
    Ok(Principal {
        tenant_id: tenant,
        agent_id,
        role_id: RoleId::from_static(API_KEY_ROLE),
        permissions,
        session_hash: String::new(),
        caller: Caller::ApiKey(key_id),
        ip,
        restriction: None,
    })
}
