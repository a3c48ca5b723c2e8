//! Audit entries committed with the change they record. A change's transaction cannot append to the chain
//! itself (the chain's head is read first and every tenant's writers would contend on it), so it stores its
//! entry here, in the same transaction: if the change commits, its entry exists. Right after, the entry is
//! appended to the chain, and the append deletes the pending item in its own transaction; what a crash or a
//! busy head leaves behind, [`sweep`] appends later. Like the outbox for events: nothing committed is lost, and
//! an entry takes exactly one place in the chain.

use std::time::Duration;

use kefu_ports::table::{Condition, Item, Key, Query, SkCondition, TableError, TxOp};
use serde_json::Value;
use tracing::{info, warn};

use super::{AuditEntry, anomaly, chain};
use crate::App;
use crate::plumbing::keys::{AUDIT_PENDING_SHARDS, audit_pending_pk};

/// How long a pending entry may wait for its append before the sweeper takes it over.
pub const SWEEP_AFTER: Duration = Duration::from_secs(5);

/// A pending entry's key: a fresh ULID from the app's clock (so the sweeper can tell old from new), in the
/// shard its id hashes to.
pub(crate) fn new_key(app: &App) -> Key {
    let millis = u64::try_from(app.now().as_millisecond()).unwrap_or(0);
    let id = ulid::Ulid::from_parts(millis, rand::random::<u128>() & ((1u128 << 80) - 1)).to_string();
    let shard = crate::plumbing::keys::shard_of(&id, AUDIT_PENDING_SHARDS);
    Key::new(audit_pending_pk(shard), id)
}

/// The operation that stores `entry` as pending under `key`.
pub(crate) fn put_op(key: &Key, entry: &AuditEntry) -> Result<TxOp, TableError> {
    let mut item = key.to_item();
    let body = serde_json::to_string(entry).map_err(|e| TableError::Invalid(e.to_string()))?;
    item.insert("entry".into(), Value::String(body));
    Ok(TxOp::Put { item, condition: Some(Condition::NotExists) })
}

/// Appends a pending entry to its chain (removing it from the pending partition in the same transaction) and
/// lets the anomaly detector look at it. A failure leaves it pending for [`sweep`]; `false` says so.
pub(crate) async fn settle(app: &App, key: &Key, entry: &AuditEntry) -> bool {
    match chain::append(app, entry, Vec::new(), Some(key)).await {
        Ok(Some(_)) => {
            anomaly::observe(app, entry).await;
            true
        }
        Ok(None) => true,
        Err(e) => {
            warn!(action = %entry.action, error = %e, "audit entry not appended yet; the sweeper will retry");
            false
        }
    }
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Entries appended to their chain now.
    pub appended: u64,
    /// Entries whose append failed again (they stay pending).
    pub failed: u64,
    /// Stored items that are not an entry (written by hand?): logged and left alone.
    pub unreadable: u64,
}

fn entry_of(item: &Item) -> Option<AuditEntry> {
    serde_json::from_str(item.get("entry")?.as_str()?).ok()
}

/// Appends every pending entry older than `older_than`, shard by shard, oldest first.
pub async fn sweep(app: &App, older_than: Duration) -> Result<SweepReport, TableError> {
    let cutoff = app.now().as_millisecond() - i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    let bound = ulid::Ulid::from_parts(u64::try_from(cutoff.max(0)).unwrap_or(0), 0).to_string();
    let mut report = SweepReport::default();
    for shard in 0..AUDIT_PENDING_SHARDS {
        let mut cursor = None;
        loop {
            let page = app
                .table
                .query(
                    Query::partition(audit_pending_pk(shard))
                        .sk(SkCondition::Lt(bound.clone()))
                        .limit(100)
                        .after(cursor),
                )
                .await?;
            for item in &page.items {
                let key = Key::of(item)?;
                let Some(entry) = entry_of(item) else {
                    warn!(key = %key.sk, "a pending audit item that is not an entry; left alone");
                    report.unreadable += 1;
                    continue;
                };
                if settle(app, &key, &entry).await {
                    report.appended += 1;
                } else {
                    report.failed += 1;
                }
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }
    if report.appended + report.failed > 0 {
        info!(appended = report.appended, failed = report.failed, "audit sweep");
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::TenantId;
    use kefu_ports::SystemClock;
    use kefu_ports::table::Query;
    use serde_json::json;

    use super::*;
    use crate::audit::{Outcome, verify};
    use crate::plumbing::keys;

    fn entry(t: &TenantId, n: u32) -> AuditEntry {
        AuditEntry::new(t, "settings.update", Outcome::Success).actor_id_for_test("ag_1").detail(json!({"n": n}))
    }

    async fn chain(app: &App, t: &TenantId) -> Vec<Item> {
        app.table.query(Query::partition(keys::audit_pk(t)).prefix(keys::AUDIT_ENTRY_PREFIX)).await.unwrap().items
    }

    async fn pending_left(app: &App) -> usize {
        let mut n = 0;
        for shard in 0..AUDIT_PENDING_SHARDS {
            n += app.table.query(Query::partition(audit_pending_pk(shard))).await.unwrap().items.len();
        }
        n
    }

    #[tokio::test]
    async fn a_change_and_its_entry_commit_together_and_nothing_stays_pending() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = TenantId::generate();
        let thing = Key::new(format!("T#{t}"), "THING");
        let put = TxOp::Put { item: thing.to_item(), condition: Some(Condition::NotExists) };
        crate::audit::commit(&app, vec![put.clone()], Vec::new(), vec![entry(&t, 1)]).await.unwrap();
        assert!(app.table.get(&thing).await.unwrap().is_some());
        let stored = chain(&app, &t).await;
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0]["detail"], json!({"n": 1}));
        assert_eq!(pending_left(&app).await, 0);

        // A change that does not commit leaves no entry either.
        let again = crate::audit::commit(&app, vec![put], Vec::new(), vec![entry(&t, 2)]).await;
        assert!(matches!(again, Err(TableError::TransactionCanceled { .. })), "{again:?}");
        assert_eq!(chain(&app, &t).await.len(), 1);
        assert_eq!(pending_left(&app).await, 0);
    }

    #[tokio::test]
    async fn an_entry_left_pending_by_a_crash_is_appended_once_by_the_sweep() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = TenantId::generate();
        // What a crash right after the change's transaction leaves: the entry, pending.
        let keys: Vec<Key> = (0..3).map(|_| new_key(&app)).collect();
        let ops = keys.iter().zip(1..).map(|(k, n)| put_op(k, &entry(&t, n)).unwrap()).collect();
        app.table.transact(ops).await.unwrap();
        assert_eq!(pending_left(&app).await, 3);

        // Too young for the sweeper: left for the request that wrote it.
        assert_eq!(sweep(&app, Duration::from_secs(3600)).await.unwrap(), SweepReport::default());
        // Several sweepers racing append each entry exactly once.
        let runs: Vec<_> = (0..4)
            .map(|_| {
                let app = app.clone();
                tokio::spawn(async move { sweep(&app, Duration::ZERO).await.unwrap() })
            })
            .collect();
        let mut appended = 0;
        for r in runs {
            appended += r.await.unwrap().appended;
        }
        assert!(appended >= 3, "each entry counted by a sweeper that settled it: {appended}");
        let stored = chain(&app, &t).await;
        let mut ns: Vec<u64> = stored.iter().map(|i| i["detail"]["n"].as_u64().unwrap()).collect();
        ns.sort_unstable();
        assert_eq!(ns, vec![1, 2, 3], "each entry once");
        assert!(verify(&app, &t, |_| {}).await.unwrap().is_intact());
        assert_eq!(pending_left(&app).await, 0);
        assert_eq!(sweep(&app, Duration::ZERO).await.unwrap(), SweepReport::default(), "nothing left to do");
    }

    #[tokio::test]
    async fn settling_an_entry_already_settled_appends_nothing() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = TenantId::generate();
        let key = new_key(&app);
        app.table.transact(vec![put_op(&key, &entry(&t, 1)).unwrap()]).await.unwrap();
        assert!(settle(&app, &key, &entry(&t, 1)).await);
        assert!(settle(&app, &key, &entry(&t, 1)).await, "a repeat is not a failure");
        assert_eq!(chain(&app, &t).await.len(), 1);
    }
}
