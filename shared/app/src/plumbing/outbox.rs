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

fn shard_of(event_id: &str) -> u32 {
    crate::plumbing::keys::shard_of(event_id, OUTBOX_SHARDS)
}

/// The outbox key of an event: shard by id, sorted by its ULID (so by time).
pub fn key_of(event: &Envelope) -> Key {
    Key::new(outbox_pk(shard_of(&event.id)), event.id.clone())
}

fn entry(event: &Envelope) -> Result<Item, TableError> {
    let mut item = key_of(event).to_item();
    item.insert("type".into(), Value::String(event.event_type().as_str().to_owned()));
    item.insert(
        "body".into(),
        Value::String(serde_json::to_string(event).map_err(|e| TableError::Invalid(e.to_string()))?),
    );
    Ok(item)
}

/// The transaction operations that store `events` in the outbox; append them to a state change's operations.
pub fn ops_for(events: &[Envelope]) -> Result<Vec<TxOp>, TableError> {
    events.iter().map(|e| Ok(TxOp::Put { item: entry(e)?, condition: Some(Condition::NotExists) })).collect()
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
    ops.extend(ops_for(events)?);
    app.table.transact(ops).await
}

/// Publishes committed events (the copies given, which may say more than the stored ones: `pushed`) and
/// clears their outbox entries; an event whose publish fails stays for the sweeper.
pub async fn publish(app: &App, events: &[Envelope]) {
    for e in events {
        let body = serde_json::to_string(e).expect("envelope serialises");
        publish_one(app, &key_of(e), e.event_type().as_str(), &body, e.attributes()).await;
    }
}

/// Publishes one stored entry (with the topic attributes `more`) and clears it; on failure the entry stays for
/// the sweeper.
async fn publish_one(app: &App, key: &Key, event_type: &str, body: &str, more: &[(&str, &str)]) -> bool {
    if let Err(e) = app.topic.publish(event_type, body, more).await {
        warn!(event_id = %key.sk, error = %e, "publish failed; the outbox sweeper will retry");
        return false;
    }
    if let Err(e) = app.table.delete(key, None).await {
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
