//! The transactional outbox: an event is stored in the same transaction as the state change it describes,
//! published right after, and republished by the sweeper if the publish never happened (a crash, a timeout).
//! So a crash between "stored" and "published" loses nothing; consumers deduplicate the rare repeat.

use std::time::Duration;

use kefu_ports::table::{Condition, Item, Key, Query, SkCondition, TableError, TxOp};
use serde_json::{Value, json};
use tracing::{info, warn};

use crate::App;
use crate::plumbing::events::Envelope;
use crate::plumbing::keys::{OUTBOX_SHARDS, outbox_pk};

/// How long an entry may wait for its first publish before the sweeper takes it over.
pub const SWEEP_AFTER: Duration = Duration::from_secs(5);

/// The outbox key of an event: shard by id (or, `one_partition`, always shard 0: see
/// `Config::outbox_one_partition`), sorted by its ULID (so by time).
pub fn key_of(one_partition: bool, event: &Envelope) -> Key {
    let shard = if one_partition { 0 } else { crate::plumbing::keys::shard_of(&event.id, OUTBOX_SHARDS) };
    Key::new(outbox_pk(shard), event.id.clone())
}

/// [`key_of`] as `app` stores its entries.
fn key_in(app: &App, event: &Envelope) -> Key {
    key_of(app.config.outbox_one_partition, event)
}

fn entry(one_partition: bool, event: &Envelope) -> Result<Item, TableError> {
    let mut item = key_of(one_partition, event).to_item();
    item.insert("type".into(), Value::String(event.event_type().as_str().to_owned()));
    item.insert(
        "body".into(),
        Value::String(serde_json::to_string(event).map_err(|e| TableError::Invalid(e.to_string()))?),
    );
    Ok(item)
}

/// The transaction operations that store `events` in the outbox (in one partition or spread: see [`key_of`]);
/// append them to a state change's operations.
pub fn ops_for(one_partition: bool, events: &[Envelope]) -> Result<Vec<TxOp>, TableError> {
    events
        .iter()
        .map(|e| Ok(TxOp::Put { item: entry(one_partition, e)?, condition: Some(Condition::NotExists) }))
        .collect()
}

/// Commits `ops` together with `events` (the outbox entries go last, so positions in a
/// `TransactionCanceled` error still name the caller's operations), then publishes the events.
pub async fn commit(app: &App, ops: Vec<TxOp>, events: Vec<Envelope>) -> Result<(), TableError> {
    commit_unpublished(app, ops, &events).await?;
    publish(app, &events).await;
    Ok(())
}

/// Commits like [`commit`] but leaves the events for the caller to [`publish`] (intake pushes a message's
/// frames first). Stored, they are never lost: if the caller never publishes them, the sweeper does, after
/// [`SWEEP_AFTER`].
pub async fn commit_unpublished(app: &App, mut ops: Vec<TxOp>, events: &[Envelope]) -> Result<(), TableError> {
    ops.extend(ops_for(app.config.outbox_one_partition, events)?);
    app.table.transact(ops).await
}

/// Publishes committed events (the copies given, which may say more than the stored ones: `pushed`) and
/// clears their outbox entries; an event whose publish fails stays for the sweeper.
pub async fn publish(app: &App, events: &[Envelope]) {
    for e in events {
        let body = serde_json::to_string(e).expect("envelope serialises");
        publish_one(app, &key_in(app, e), e.event_type().as_str(), &body, e.attributes()).await;
    }
}

/// Publishes one stored entry (with the topic attributes `more`) and clears it; on failure the entry stays for
/// the sweeper.
async fn publish_one(app: &App, key: &Key, event_type: &str, body: &str, more: &[(&str, &str)]) -> bool {
    if let Err(e) = app.topic.publish(event_type, body, more).await {
        warn!(event_id = %key.sk, error = %e, "publish failed; the outbox sweeper will retry");
        return false;
    }
    if !app.clearing.hand_over(key)
        && let Err(e) = app.table.delete(key, None).await
    {
        warn!(event_id = %key.sk, error = %e, "published but not cleared; it may be published again");
    }
    true
}

/// What a sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct SweepReport {
    /// Entries published now.
    pub published: u64,
    /// Entries whose publish failed again.
    pub failed: u64,
}

/// Publishes every outbox entry older than `older_than`, shard by shard.
pub async fn sweep(app: &App, older_than: Duration) -> Result<SweepReport, TableError> {
    let cutoff = app.now().as_millisecond() - i64::try_from(older_than.as_millis()).unwrap_or(i64::MAX);
    let bound = ulid::Ulid::from_parts(u64::try_from(cutoff.max(0)).unwrap_or(0), 0).to_string();
    let mut report = SweepReport::default();
    for shard in 0..OUTBOX_SHARDS {
        let mut cursor = None;
        loop {
            let page = app
                .table
                .query(Query::partition(outbox_pk(shard)).sk(SkCondition::Lt(bound.clone())).limit(100).after(cursor))
                .await?;
            for item in &page.items {
                let key = Key::of(item)?;
                let ty = item.get("type").and_then(Value::as_str).unwrap_or_default();
                let body = item.get("body").and_then(Value::as_str).unwrap_or_default();
                if publish_one(app, &key, ty, body, &[]).await {
                    report.published += 1;
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
    if report.published + report.failed > 0 {
        info!(published = report.published, failed = report.failed, "outbox sweep");
    }
    Ok(report)
}

/// A summary of the outbox for operations (`kefu` and health checks).
pub async fn pending(app: &App) -> Result<Value, TableError> {
    let mut total = 0usize;
    for shard in 0..OUTBOX_SHARDS {
        total += app.table.query(Query::partition(outbox_pk(shard)).limit(1000)).await?.items.len();
    }
    Ok(json!({"pending": total}))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::TenantId;
    use kefu_domain::ids::ExportId;
    use kefu_ports::ManualClock;

    use super::*;
    use crate::plumbing::clearing::{CLEAR_BACKLOG, Clearing};
    use crate::plumbing::events::ExportRequested;
    use crate::testing::EmbeddedApp;

    /// `n` events committed to the outbox (not yet published).
    async fn stored(app: &App, n: usize) -> Vec<Envelope> {
        let t = TenantId::generate();
        let events: Vec<Envelope> =
            (0..n).map(|_| Envelope::new(&t, app.now(), ExportRequested { export_id: ExportId::generate() })).collect();
        commit_unpublished(app, Vec::new(), &events).await.unwrap();
        events
    }

    async fn pending_count(app: &App) -> u64 {
        pending(app).await.unwrap()["pending"].as_u64().unwrap()
    }

    fn embedded() -> (EmbeddedApp, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new("2026-12-04T00:00:00Z".parse().unwrap()));
        (EmbeddedApp::new(clock.clone()), clock)
    }

    /// An app whose published entries leave in batches.
    fn batched() -> EmbeddedApp {
        let (mut e, _) = embedded();
        e.app.clearing = Clearing::batched(e.app.table.clone());
        e
    }

    #[tokio::test]
    async fn in_one_partition_entries_go_to_shard_zero_and_the_sweeper_still_reads_every_shard() {
        let (e, clock) = embedded();
        // Entries a process that spreads them left behind.
        let spread = stored(&e.app, 16).await;
        let shards: std::collections::HashSet<String> = spread.iter().map(|ev| key_in(&e.app, ev).pk).collect();
        assert!(shards.len() > 1, "spread over partitions: {shards:?}");
        let one = e.with_outbox_in_one_partition();
        let events = stored(&one.app, 16).await;
        for ev in &events {
            let key = key_in(&one.app, ev);
            assert_eq!(key.pk, outbox_pk(0));
            assert!(one.app.table.get(&key).await.unwrap().is_some(), "stored under the key it is cleared by");
        }
        assert_eq!(pending_count(&one.app).await, 32);
        publish(&one.app, &events).await;
        assert_eq!(pending_count(&one.app).await, 16, "the published entries are cleared");
        clock.advance(jiff::SignedDuration::from_secs(1));
        let report = sweep(&one.app, Duration::ZERO).await.unwrap();
        assert_eq!(report.published, 16, "the sweeper takes the entries of every partition");
        assert_eq!(pending_count(&one.app).await, 0);
    }

    #[tokio::test]
    async fn inline_a_publish_clears_its_entry_before_it_returns() {
        let (e, _) = embedded();
        let events = stored(&e.app, 3).await;
        assert_eq!(pending_count(&e.app).await, 3);
        let before = e.app.table.stats();
        publish(&e.app, &events).await;
        let after = e.app.table.stats();
        assert_eq!(after.items_written - before.items_written, 3);
        assert_eq!(after.requests - before.requests, 3, "one delete each");
        assert_eq!(pending_count(&e.app).await, 0);
    }

    #[tokio::test]
    async fn batched_the_entries_handed_over_together_leave_in_one_write() {
        let e = batched();
        let events = stored(&e.app, 10).await;
        // The test's runtime runs one task at a time: the batching task takes nothing before the flush.
        for ev in &events {
            assert!(e.app.clearing.hand_over(&key_in(&e.app, ev)));
        }
        assert!(e.app.clearing.hand_over(&key_in(&e.app, &events[0])), "a key handed over twice");
        let before = e.app.table.stats();
        e.app.clearing.flush().await;
        let after = e.app.table.stats();
        assert_eq!(after.requests - before.requests, 1, "one transaction for the ten entries");
        assert_eq!(after.items_written - before.items_written, 10, "each entry deleted once");
        assert_eq!(pending_count(&e.app).await, 0);
    }

    #[tokio::test]
    async fn batched_entries_handed_over_while_a_batch_gathers_leave_with_it() {
        let e = batched();
        let events = stored(&e.app, 5).await;
        assert!(e.app.clearing.hand_over(&key_in(&e.app, &events[0])));
        // Let the batching task take the first key and start gathering; the rest arrive during its wait.
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        for ev in &events[1..] {
            assert!(e.app.clearing.hand_over(&key_in(&e.app, ev)));
        }
        let before = e.app.table.stats();
        e.app.clearing.flush().await;
        let after = e.app.table.stats();
        assert_eq!(after.requests - before.requests, 1, "the first key waited for the other four");
        assert_eq!(after.items_written - before.items_written, 5);
        assert_eq!(pending_count(&e.app).await, 0);
    }

    #[tokio::test]
    async fn batched_a_publish_hands_its_entry_over_and_a_flush_sees_it_gone() {
        let e = batched();
        let events = stored(&e.app, 5).await;
        publish(&e.app, &events).await;
        e.app.clearing.flush().await;
        assert_eq!(pending_count(&e.app).await, 0);
        // The sweeper finds nothing to publish again.
        assert_eq!(sweep(&e.app, Duration::ZERO).await.unwrap(), SweepReport::default());
    }

    #[tokio::test]
    async fn batched_a_full_backlog_makes_the_publish_clear_its_own_entry() {
        let e = batched();
        let filler = stored(&e.app, 1).await;
        let events = stored(&e.app, 1).await;
        // No await from here to the publish's own delete: the batching task cannot run and drain the backlog.
        for _ in 0..CLEAR_BACKLOG {
            assert!(e.app.clearing.hand_over(&key_in(&e.app, &filler[0])));
        }
        assert!(!e.app.clearing.hand_over(&key_in(&e.app, &events[0])), "the backlog is full");
        publish(&e.app, &events).await;
        let left = e.app.table.get(&key_in(&e.app, &events[0])).await.unwrap();
        assert!(left.is_none(), "cleared by the publish itself, before the batching task ran");
        e.app.clearing.flush().await;
        assert_eq!(pending_count(&e.app).await, 0);
    }

    #[tokio::test]
    async fn closing_clears_what_waits_lets_go_of_the_table_and_leaves_later_publishes_inline() {
        let (mut e, _) = embedded();
        let held = Arc::strong_count(&e.app.table);
        e.app.clearing = Clearing::batched(e.app.table.clone());
        assert_eq!(Arc::strong_count(&e.app.table), held + 1, "the batching task holds the table");
        let events = stored(&e.app, 3).await;
        for ev in &events {
            assert!(e.app.clearing.hand_over(&key_in(&e.app, ev)));
        }
        // Another clone of the app (a request in flight) does not keep the task alive.
        let other = e.app.clone();
        e.app.clearing.close().await;
        assert_eq!(pending_count(&e.app).await, 0, "what was handed over is cleared");
        assert_eq!(Arc::strong_count(&e.app.table), held, "the task let go of the table");
        drop(other);
        assert!(!e.app.clearing.is_batched());
        let later = stored(&e.app, 1).await;
        let before = e.app.table.stats();
        publish(&e.app, &later).await;
        assert_eq!(e.app.table.stats().requests - before.requests, 1, "the publish deleted its own entry");
        assert_eq!(pending_count(&e.app).await, 0);
    }

    #[tokio::test]
    async fn a_failed_publish_leaves_its_entry_for_the_sweeper_either_way() {
        struct Down;
        #[async_trait::async_trait]
        impl kefu_ports::Topic for Down {
            async fn publish(&self, _: &str, _: &str, _: &[(&str, &str)]) -> Result<(), kefu_ports::TopicError> {
                Err(kefu_ports::TopicError::Unavailable("down".into()))
            }
        }
        for batched in [false, true] {
            let (mut e, clock) = embedded();
            if batched {
                e.app.clearing = Clearing::batched(e.app.table.clone());
            }
            let up = e.app.topic.clone();
            e.app.topic = Arc::new(Down);
            let events = stored(&e.app, 2).await;
            publish(&e.app, &events).await;
            e.app.clearing.flush().await;
            assert_eq!(pending_count(&e.app).await, 2, "batched: {batched}");
            e.app.topic = up;
            clock.advance(jiff::SignedDuration::from_millis(1));
            let report = sweep(&e.app, Duration::ZERO).await.unwrap();
            assert_eq!(report.published, 2);
            e.app.clearing.flush().await;
            assert_eq!(pending_count(&e.app).await, 0, "batched: {batched}");
        }
    }
}
