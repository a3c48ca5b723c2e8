//! A customer's counters, kept as they happen rather than counted by reading: `conversations` goes up by one
//! in the transaction that starts each of its conversations ([`conversation_started_op`]) and down by one in
//! the one that deletes one ([`conversation_deleted_op`]), so the profile's
//! `conversations_count` is one `GetItem` whatever the history. The counters live in their own item
//! (`COUNTS`), apart from the profile, because a start may also put or update the profile in that transaction
//! and a transaction touches an item once.

use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::{TableError, TxOp, Update};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;

/// The operation that counts one more conversation of customer `cu` (creates the counters when absent).
pub fn conversation_started_op(tenant: &TenantId, cu: &CustomerId) -> TxOp {
    TxOp::Update {
        key: keys::customer_counts(tenant, cu),
        update: Update::new().add("conversations", 1),
        condition: None,
    }
}

/// The operation that counts one conversation fewer (with the deletion of one of `cu`'s conversations). A
/// customer counted before the counters existed may go below zero; [`conversations`] reads that as 0.
pub fn conversation_deleted_op(tenant: &TenantId, cu: &CustomerId) -> TxOp {
    TxOp::Update {
        key: keys::customer_counts(tenant, cu),
        update: Update::new().add("conversations", -1),
        condition: None,
    }
}

/// How many conversations customer `cu` has started.
pub async fn conversations(app: &App, tenant: &TenantId, cu: &CustomerId) -> Result<u64, TableError> {
    Ok(app
        .table
        .get(&keys::customer_counts(tenant, cu))
        .await?
        .and_then(|i| i.get("conversations").and_then(Value::as_u64))
        .unwrap_or(0))
}
