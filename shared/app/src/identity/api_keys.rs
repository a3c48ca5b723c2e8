//! API keys for integrations: their own permissions (never more than their creator's), stored only as a
//! SHA-256 hash, shown once, revocable, sent as `X-Api-Key` on staff routes. The tenant's IP allowlist
//! applies to them as to staff.

use std::net::IpAddr;

use jiff::Timestamp;
use kefu_domain::security::ApiKeyId;
use kefu_domain::{AgentId, Name, PermissionSet, RoleId, TenantId};
use kefu_ports::table::{Condition, Item, Key, PK, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::accounts::{Caller, Principal};
use super::auth::AuthError;
use super::error::IdentityError;
use super::secrets::{new_secret, token_hash};
use super::security;
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::{Record, RecordError, parse_ref};

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
    fn of(r: &ApiKeyRecord) -> Self {
        Self {
            id: r.key_id.to_string(),
            name: r.name.clone(),
            permissions: r.permissions.clone(),
            prefix: r.prefix.clone(),
            created_by: r.created_by.clone(),
            created_at: r.created_at.to_string(),
        }
    }
}

/// An API key's record in its tenant's partition: `T#{t}` / `APIKEY#{key id}` (listing and revocation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeyRecord {
    /// Its id.
    pub key_id: ApiKeyId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What it is for.
    pub name: String,
    /// The names of its permissions (names, so a permission retired later does not make the item unreadable).
    pub permissions: Vec<String>,
    /// The key's first characters, to recognise it.
    pub prefix: String,
    /// The SHA-256 of the key: the key of its [`ApiKeySecretRecord`], deleted with it on revocation.
    pub key_hash: String,
    /// The actor id of its creator.
    pub created_by: String,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Record for ApiKeyRecord {
    const TYPE: &'static str = "api_key";

    fn key(&self) -> Key {
        keys::api_key(&self.tenant_id, self.key_id.as_str())
    }
}

/// The lookup `X-Api-Key` resolves through: `APIKEY#{key hash}` / `APIKEY`, with what a request needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApiKeySecretRecord {
    /// The SHA-256 of the key: only in the key (`from_item` reads it back from `pk`).
    #[serde(skip)]
    pub key_hash: String,
    /// The key's id.
    pub key_id: ApiKeyId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The names of its permissions.
    pub permissions: Vec<String>,
}

impl Record for ApiKeySecretRecord {
    const TYPE: &'static str = "api_key_secret";

    fn key(&self) -> Key {
        keys::api_key_secret(&self.key_hash)
    }

    fn from_item(item: Item) -> Result<Self, RecordError> {
        Self::from_ref(&item)
    }

    fn from_ref(item: &Item) -> Result<Self, RecordError> {
        let mut record: Self = parse_ref(Self::TYPE, item)?;
        let hash = item.get(PK).and_then(Value::as_str).and_then(|pk| pk.strip_prefix("APIKEY#"));
        record.key_hash = hash.unwrap_or_default().to_owned();
        Ok(record)
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
    let names: Vec<String> = permissions.names().into_iter().map(str::to_owned).collect();
    let record = ApiKeyRecord {
        key_id: id.clone(),
        tenant_id: tenant.clone(),
        name: name.as_str().to_owned(),
        permissions: names.clone(),
        prefix,
        key_hash: hash.clone(),
        created_by: creator.actor_id(),
        created_at: now,
    }
    .to_item();
    let lookup =
        ApiKeySecretRecord { key_hash: hash, key_id: id.clone(), tenant_id: tenant.clone(), permissions: names }
            .to_item();
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
    let items = page.items.iter().map(|i| ApiKeyRecord::from_ref(i).map(|r| ApiKeyView::of(&r)));
    let items = items.collect::<Result<_, _>>().map_err(TableError::from)?;
    Ok(ListPage::new(items, page.cursor))
}

/// Revokes a key at once (audited as `api_key.revoke` by `by`); `false` when the tenant has no such key.
pub async fn revoke(app: &App, by: &Principal, id: &ApiKeyId) -> Result<bool, TableError> {
    let tenant = &by.tenant_id;
    let key = keys::api_key(tenant, id.as_str());
    let Some(item) = app.table.get(&key).await? else { return Ok(false) };
    let record = ApiKeyRecord::from_item(item)?;
    let ops = vec![
        TxOp::Delete { key, condition: Some(Condition::Exists) },
        TxOp::Delete { key: keys::api_key_secret(&record.key_hash), condition: None },
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
    let ApiKeySecretRecord { tenant_id: tenant, key_id, permissions, .. } =
        ApiKeySecretRecord::from_item(item).map_err(TableError::from)?;
    let policy = security::policy(app, &tenant).await?;
    if !security::ip_allowed(&policy, ip) {
        return Err(AuthError::IpNotAllowed);
    }
    let permissions = PermissionSet::parse(permissions.iter().map(String::as_str)).unwrap_or_default();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_and_its_lookup_are_stored_as_before_and_read_back() {
        let (t, id) = (TenantId::generate(), ApiKeyId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = ApiKeyRecord {
            key_id: id.clone(),
            tenant_id: t.clone(),
            name: "CRM".into(),
            permissions: vec!["conversations.read".into()],
            prefix: "kfk_abcdef".into(),
            key_hash: "h1".into(),
            created_by: "ag_1".into(),
            created_at: at,
        };
        let expected = keys::api_key(&t, id.as_str()).with(json!({
            "type": "api_key", "key_id": id, "tenant_id": t, "name": "CRM",
            "permissions": ["conversations.read"], "prefix": "kfk_abcdef", "key_hash": "h1",
            "created_by": "ag_1", "created_at": at,
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(ApiKeyRecord::from_item(expected).unwrap(), r);

        let s = ApiKeySecretRecord {
            key_hash: "h1".into(),
            key_id: id.clone(),
            tenant_id: t.clone(),
            permissions: vec!["conversations.read".into()],
        };
        let expected = keys::api_key_secret("h1").with(json!({
            "type": "api_key_secret", "key_id": id, "tenant_id": t, "permissions": ["conversations.read"],
        }));
        assert_eq!(s.to_item(), expected);
        assert_eq!(ApiKeySecretRecord::from_item(expected).unwrap(), s);
    }
}
