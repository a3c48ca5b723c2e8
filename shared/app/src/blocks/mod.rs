//! Blocks: customers and IP ranges a tenant refuses (`/v1/blocks`, `customers.edit`). Until a block expires,
//! every widget request of a blocked visitor answers 403 `blocked`, before anything is stored (no customer, no
//! conversation, no message, no rate-limit counter) and before any agent is notified. Creating and lifting a
//! block are audited (`block.create`, `block.delete`); a refusal is only logged, since recording it would
//! store something for the visitor.
//!
//! Storage, and the cost on the widget's hot path: each block is a record (`BLOCK#{id}` in the tenant's
//! partition, listed by `GET /v1/blocks`, its `ttl` its expiry), and the tenant's active set is one more item
//! (`BLOCKS`: each block's id, target and expiry, no reason) kept in the same transaction as the records. A
//! widget request reads that one item ([`active`], a single `GetItem`, about 1 KB for a few dozen blocks and
//! at most ~40 KB at [`MAX_ACTIVE_BLOCKS`], so 1 to 10 read units) and matches in memory
//! ([`kefu_domain::block::blocked_by`]). No cache: a block takes effect on the very next request, and lifting
//! one too. Writers prune lapsed blocks from the set and update it under a version condition, so two admins
//! blocking at once cannot lose each other's block.

pub mod error;

use std::net::IpAddr;

use jiff::Timestamp;
use kefu_domain::block::{Block, BlockId, BlockTarget, blocked_by, parse_ip_range};
use kefu_domain::{CustomerId, ExternalId, TenantId, ValidationError};
use kefu_ports::table::{Condition, Item, Key, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use error::BlockError;

use crate::App;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::Record;

/// The most active blocks a tenant holds (bounds the item the widget reads on every request).
pub const MAX_ACTIVE_BLOCKS: usize = 500;

/// A block as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct BlockView {
    /// Block id (`bl_…`).
    pub id: String,
    /// The blocked customer, for a customer block.
    pub customer_id: Option<String>,
    /// The blocked range (canonical CIDR), for an IP block.
    pub ip_cidr: Option<String>,
    /// Why.
    pub reason: String,
    /// When it lapses; null holds until lifted.
    pub expires_at: Option<String>,
    /// Who created it (an account or an API key id).
    pub created_by: String,
    /// When.
    pub created_at: String,
}

/// A block's stored record.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BlockRecord {
    block_id: BlockId,
    tenant_id: TenantId,
    #[serde(default)]
    customer_id: Option<CustomerId>,
    #[serde(default)]
    ip_cidr: Option<String>,
    reason: String,
    #[serde(default)]
    expires_at: Option<Timestamp>,
    created_by: String,
    created_at: Timestamp,
    /// The store's expiry (epoch seconds) of a block that lapses: the table drops it some time after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ttl: Option<i64>,
}

impl Record for BlockRecord {
    const TYPE: &'static str = "block";

    fn key(&self) -> Key {
        keys::block(&self.tenant_id, self.block_id.as_str())
    }
}

impl BlockRecord {
    fn of_item(item: &Item) -> Option<Self> {
        Self::from_ref(item).map_err(|e| tracing::warn!(error = %e, "unreadable block record; skipped")).ok()
    }

    fn view(&self) -> BlockView {
        BlockView {
            id: self.block_id.to_string(),
            customer_id: self.customer_id.as_ref().map(ToString::to_string),
            ip_cidr: self.ip_cidr.clone(),
            reason: self.reason.clone(),
            expires_at: self.expires_at.map(|t| t.to_string()),
            created_by: self.created_by.clone(),
            created_at: self.created_at.to_string(),
        }
    }
}

/// One entry of the active set: what matching needs (no reason).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ActiveEntry {
    id: BlockId,
    #[serde(default)]
    customer_id: Option<CustomerId>,
    #[serde(default)]
    ip_cidr: Option<String>,
    #[serde(default)]
    expires_at: Option<Timestamp>,
}

impl ActiveEntry {
    fn block(&self) -> Option<Block> {
        let target = match (&self.customer_id, &self.ip_cidr) {
            (Some(c), None) => BlockTarget::Customer(c.clone()),
            (None, Some(ip)) => BlockTarget::Ip(parse_ip_range(ip, "ip_cidr").ok()?),
            _ => return None,
        };
        Some(Block { target, reason: String::new(), expires_at: self.expires_at })
    }
}

/// The tenant's active blocks, as the widget's hot path reads them (one `GetItem`).
#[derive(Debug, Clone, Default)]
pub struct ActiveBlocks {
    blocks: Vec<Block>,
}

impl ActiveBlocks {
    /// The block that refuses a request from `customer` (when known) at `ip`, at `now`.
    pub fn refuses(&self, customer: Option<&CustomerId>, ip: IpAddr, now: Timestamp) -> bool {
        blocked_by(&self.blocks, customer, Some(ip), now).is_some()
    }

    /// Whether any active block names a customer (when none does, a caller need not find out who the visitor
    /// is before checking).
    pub fn has_customer_blocks(&self, now: Timestamp) -> bool {
        self.blocks.iter().any(|b| b.is_active(now) && matches!(b.target, BlockTarget::Customer(_)))
    }
}

/// The tenant's active set as stored (`BLOCKS#ACTIVE`): every block still in force, what matching needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ActiveSetRecord {
    tenant_id: TenantId,
    #[serde(default)]
    blocks: Vec<ActiveEntry>,
    version: u64,
}

impl Record for ActiveSetRecord {
    const TYPE: &'static str = "active_blocks";

    fn key(&self) -> Key {
        keys::active_blocks(&self.tenant_id)
    }
}

/// The active set as read, with its version (0 when the item does not exist yet).
async fn read_set(app: &App, tenant: &TenantId) -> Result<(Vec<ActiveEntry>, u64), TableError> {
    let Some(item) = app.table.get(&keys::active_blocks(tenant)).await? else {
        return Ok((Vec::new(), 0));
    };
    let set = ActiveSetRecord::from_item(item)?;
    Ok((set.blocks, set.version))
}

/// The operation writing the active set as `entries`, on condition it is still at `version`.
fn write_set(tenant: &TenantId, entries: &[ActiveEntry], version: u64) -> TxOp {
    let item = ActiveSetRecord { tenant_id: tenant.clone(), blocks: entries.to_vec(), version: version + 1 }.to_item();
    let condition = if version == 0 { Condition::NotExists } else { Condition::version(version) };
    TxOp::Put { item, condition: Some(condition) }
}

/// The tenant's active blocks (the widget's check): one read.
pub async fn active(app: &App, tenant: &TenantId) -> Result<ActiveBlocks, TableError> {
    let (entries, _) = read_set(app, tenant).await?;
    Ok(ActiveBlocks { blocks: entries.iter().filter_map(ActiveEntry::block).collect() })
}

/// Refuses (with [`BlockError::Blocked`]) a widget request from `customer` (when known) at `ip` that an active
/// block names. Logs the refusal; stores nothing.
pub fn check(
    blocks: &ActiveBlocks,
    tenant: &TenantId,
    customer: Option<&CustomerId>,
    ip: IpAddr,
    now: Timestamp,
) -> Result<(), BlockError> {
    if blocks.refuses(customer, ip, now) {
        tracing::info!(tenant_id = %tenant, customer_id = ?customer.map(CustomerId::as_str), "blocked visitor refused");
        return Err(BlockError::Blocked);
    }
    Ok(())
}

/// Refuses a widget request whose visitor names a returning `external_id` that belongs to a blocked customer
/// (before `POST /v1/widget/conversations` finds or makes the customer). Reads the claim only when some
/// active block names a customer.
pub async fn check_external_id(
    app: &App,
    blocks: &ActiveBlocks,
    tenant: &TenantId,
    external_id: Option<&str>,
    ip: IpAddr,
) -> Result<(), BlockError> {
    let now = app.now();
    let Some(ext) = external_id.and_then(|e| ExternalId::parse(e, "visitor.external_id").ok()) else {
        return Ok(());
    };
    if !blocks.has_customer_blocks(now) {
        return Ok(());
    }
    match crate::customers::by_external_id(app, tenant, &ext).await? {
        Some(customer) => check(blocks, tenant, Some(&customer), ip, now),
        None => Ok(()),
    }
}

/// `POST /v1/blocks` body, as received.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewBlock {
    /// The customer to block (`cu_…`), or…
    #[serde(default)]
    pub customer_id: Option<String>,
    /// …an IPv4 or IPv6 address or CIDR range (at least a /8 for IPv4, a /32 for IPv6).
    #[serde(default)]
    pub ip_cidr: Option<String>,
    /// Why, 1..=500 characters.
    pub reason: String,
    /// When the block lapses (RFC 3339, in the future); absent holds until lifted.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub expires_at: Option<Timestamp>,
}

/// Creates a block, by `by`; audited (`block.create`).
pub async fn create(app: &App, by: &Principal, body: &NewBlock) -> Result<BlockView, BlockError> {
    let tenant = &by.tenant_id;
    let now = app.now();
    let block = Block::parse(body.customer_id.as_deref(), body.ip_cidr.as_deref(), &body.reason, body.expires_at, now)?;
    if let BlockTarget::Customer(c) = &block.target
        && crate::customers::load(app, tenant, c).await?.is_none()
    {
        return Err(ValidationError::new("customer_id", "no such customer").into());
    }
    let record = BlockRecord {
        block_id: BlockId::generate(),
        tenant_id: tenant.clone(),
        customer_id: block.target.customer_id().cloned(),
        ip_cidr: block.target.ip_cidr(),
        reason: block.reason.clone(),
        expires_at: block.expires_at,
        created_by: by.actor_id().to_string(),
        created_at: now,
        ttl: block.expires_at.map(Timestamp::as_second),
    };
    for _ in 0..5 {
        let (mut entries, version) = read_set(app, tenant).await?;
        entries.retain(|e| e.expires_at.is_none_or(|x| now < x));
        if entries.len() >= MAX_ACTIVE_BLOCKS {
            return Err(BlockError::Conflict(
                "this tenant already holds the most active blocks it may: lift one first",
            ));
        }
        entries.push(ActiveEntry {
            id: record.block_id.clone(),
            customer_id: record.customer_id.clone(),
            ip_cidr: record.ip_cidr.clone(),
            expires_at: record.expires_at,
        });
        let ops = vec![
            write_set(tenant, &entries, version),
            TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) },
        ];
        let entry = by.audit("block.create").target("block", &record.block_id).detail(json!({
            "customer_id": record.customer_id, "ip_cidr": record.ip_cidr, "reason": record.reason,
            "expires_at": record.expires_at,
        }));
        match crate::audit::commit(app, ops, Vec::new(), vec![entry]).await {
            Ok(()) => return Ok(record.view()),
            Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BlockError::Conflict("the blocks changed meanwhile; try again"))
}

/// Lifts a block, by `by`; audited (`block.delete`). `false` when the tenant has no such active block.
pub async fn delete(app: &App, by: &Principal, id: &BlockId) -> Result<bool, BlockError> {
    let tenant = &by.tenant_id;
    let Some(record) = app.table.get(&keys::block(tenant, id.as_str())).await?.and_then(|i| BlockRecord::of_item(&i))
    else {
        return Ok(false);
    };
    let now = app.now();
    for _ in 0..5 {
        let (mut entries, version) = read_set(app, tenant).await?;
        entries.retain(|e| e.id != *id && e.expires_at.is_none_or(|x| now < x));
        let ops = vec![
            write_set(tenant, &entries, version),
            TxOp::Delete { key: keys::block(tenant, id.as_str()), condition: Some(Condition::Exists) },
        ];
        let entry = by.audit("block.delete").target("block", id).detail(json!({
            "customer_id": record.customer_id, "ip_cidr": record.ip_cidr,
        }));
        match crate::audit::commit(app, ops, Vec::new(), vec![entry]).await {
            Ok(()) => return Ok(true),
            Err(TableError::TransactionCanceled { failed }) if failed.contains(&1) => return Ok(false),
            Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(BlockError::Conflict("the blocks changed meanwhile; try again"))
}

/// A page of the tenant's blocks that have not lapsed, oldest first.
pub async fn list(app: &App, tenant: &TenantId, params: &PageRequest) -> Result<ListPage<BlockView>, BlockError> {
    let q = params.apply(Query::partition(keys::tenant_pk(tenant)).prefix(keys::BLOCK_PREFIX))?;
    let page = app.table.query(q).await?;
    let items = page.items.iter().filter_map(BlockRecord::of_item).map(|r| r.view()).collect();
    Ok(ListPage::new(items, page.cursor))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-06-01T00:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_active_set_matches_as_the_domain_does() {
        let c = CustomerId::generate();
        let later = now() + jiff::SignedDuration::from_hours(1);
        let entries = [
            ActiveEntry {
                id: BlockId::generate(),
                customer_id: Some(c.clone()),
                ip_cidr: None,
                expires_at: Some(later),
            },
            ActiveEntry {
                id: BlockId::generate(),
                customer_id: None,
                ip_cidr: Some("2001:db8::/48".into()),
                expires_at: None,
            },
            // An unreadable entry is skipped, never a refusal of everyone.
            ActiveEntry {
                id: BlockId::generate(),
                customer_id: None,
                ip_cidr: Some("0.0.0.0/0".into()),
                expires_at: None,
            },
        ];
        let set = ActiveBlocks { blocks: entries.iter().filter_map(ActiveEntry::block).collect() };
        assert_eq!(set.blocks.len(), 2);
        let v4: IpAddr = "198.51.100.1".parse().unwrap();
        assert!(set.refuses(Some(&c), v4, now()));
        assert!(!set.refuses(Some(&c), v4, later), "lapsed");
        assert!(!set.refuses(Some(&CustomerId::generate()), v4, now()));
        assert!(set.refuses(None, "2001:db8::7".parse().unwrap(), now()));
        assert!(set.has_customer_blocks(now()) && !set.has_customer_blocks(later));
        let json = serde_json::to_value(&entries[0]).unwrap();
        let back: ActiveEntry = serde_json::from_value(json).unwrap();
        assert_eq!(back.customer_id, Some(c));
    }
}
