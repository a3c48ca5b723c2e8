//! Search by external id prefix: the tenant's external-id claims (`CUSTEXT#{external_id}` in its partition)
//! already sort by external id, so a prefix is one `Query` on them, no new index.

use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::{Query, TableError};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;

/// The customers whose external id starts with `prefix` (at most `limit`, by external id).
pub async fn by_external_id_prefix(
    app: &App,
    tenant: &TenantId,
    prefix: &str,
    limit: usize,
) -> Result<Vec<CustomerId>, TableError> {
    let p = prefix.trim();
    if p.is_empty() || p.chars().any(char::is_whitespace) {
        return Ok(Vec::new());
    }
    let claim = keys::customer_external(tenant, p);
    let q = Query::partition(keys::tenant_pk(tenant)).prefix(claim.sk.clone()).limit(limit);
    Ok(app
        .table
        .query(q)
        .await?
        .items
        .iter()
        .filter_map(|i| i.get("customer_id").and_then(Value::as_str).and_then(CustomerId::parse))
        .collect())
}
