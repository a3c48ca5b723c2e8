//! Audit: the append-only, hash-chained log of who did what ([`chain`]), the anomaly detector that watches
//! every recorded entry ([`anomaly`]), and the delivery of the security alerts it raises ([`alerts`]).
//!
//! The chain is the bottom piece: the detector appends its alerts to it directly. Everything else goes
//! through [`commit`], the one way other capabilities write an entry: a change and its entry are committed in
//! one transaction (the entry waits in [`pending`] for its place in the chain), so a committed change always
//! answers success and never loses its entry. [`record`] is [`commit`] of an entry with no change (a read, a
//! refusal, a failed sign-in); [`note`] is [`record`] for callers that carry on when the log is unavailable.

pub mod alerts;
pub mod anomaly;
pub mod chain;
pub mod pending;

pub use chain::{Actor, AuditEntry, ChainProblem, ChainReport, GENESIS, Outcome, entry_hash, platform, seq_of, verify};

use kefu_ports::table::{TableError, TxOp};

use crate::App;
use crate::plumbing::events::Envelope;
use crate::plumbing::outbox;

/// Commits a change — its table operations `ops` and its `events` (through the outbox) — together with the
/// audit `entries` that record it, in one transaction, then appends the entries to their chains and lets the
/// anomaly detector look at them. Once the transaction commits this answers `Ok`: an entry whose append fails
/// now stays pending and [`pending::sweep`] appends it later. With no operations and no events, the entries are
/// appended directly (there is nothing to commit them with) and a failure is returned.
///
/// The entries' operations go after `ops`, so positions in a `TransactionCanceled` error still name the
/// caller's operations.
pub async fn commit(
    app: &App,
    mut ops: Vec<TxOp>,
    events: Vec<Envelope>,
    entries: Vec<AuditEntry>,
) -> Result<(), TableError> {
    if ops.is_empty() && events.is_empty() {
        for entry in &entries {
            chain::append(app, entry, Vec::new(), None).await?;
            anomaly::observe(app, entry).await;
        }
        return Ok(());
    }
    let keyed: Vec<_> = entries.into_iter().map(|e| (pending::new_key(app), e)).collect();
    for (key, entry) in &keyed {
        ops.push(pending::put_op(key, entry)?);
    }
    outbox::commit(app, ops, events).await?;
    for (key, entry) in &keyed {
        pending::settle(app, key, entry).await;
    }
    Ok(())
}

/// Appends an entry that records no change (a read, a refusal, a failed sign-in) to its tenant's chain and
/// lets the anomaly detector look at it ([`anomaly::observe`], which may append a `security.alert` entry of
/// its own). Writers racing for the head retry with a short random pause; the store's conditions make sure
/// each sequence number is taken once.
pub async fn record(app: &App, entry: AuditEntry) -> Result<(), TableError> {
    commit(app, Vec::new(), Vec::new(), vec![entry]).await
}

/// Records an audit entry; a failure to record is logged, not passed on (for reads the caller serves anyway).
pub async fn note(app: &App, entry: AuditEntry) {
    if let Err(e) = record(app, entry).await {
        tracing::error!(error = %e, "audit entry not recorded");
    }
}
