//! Audit: the append-only, hash-chained log of who did what ([`chain`]), the anomaly detector that watches
//! every recorded entry ([`anomaly`]), and the delivery of the security alerts it raises ([`alerts`]).
//!
//! The chain is the bottom piece: the detector appends its alerts to it directly, and [`record`], the one
//! way other capabilities write an entry, appends and then lets the detector look.

pub mod alerts;
pub mod anomaly;
pub mod chain;

pub use chain::{AuditEntry, ChainProblem, ChainReport, GENESIS, Outcome, entry_hash, platform, seq_of, verify};

use kefu_ports::table::{Item, TableError};

use crate::App;

/// Appends an entry to its tenant's chain and returns the stored item, then lets the anomaly detector look at
/// it ([`anomaly::observe`], which may append a `security.alert` entry of its own). Writers racing for the
/// head retry with a short random pause; the store's conditions make sure each sequence number is taken once.
pub async fn record(app: &App, entry: AuditEntry) -> Result<Item, TableError> {
    let item = chain::append(app, &entry, Vec::new()).await?;
    anomaly::observe(app, &entry).await;
    Ok(item)
}

/// Records an audit entry; a failure to record is logged, not passed on (the action itself already happened).
pub async fn note(app: &App, entry: AuditEntry) {
    if let Err(e) = record(app, entry).await {
        tracing::error!(error = %e, "audit entry not recorded");
    }
}
