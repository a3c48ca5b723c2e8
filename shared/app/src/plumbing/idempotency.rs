//! Idempotency records for consumers, as in Powertools: a consumer claims an event with a conditional write
//! before handling it, marks it done after, and releases it on failure. An in-progress claim expires (its
//! `ttl`), so a consumer that died mid-event does not block the retry forever.

use std::time::Duration;

use kefu_ports::table::{Condition, TableError};
use serde_json::{Value, json};

use crate::App;
use crate::plumbing::keys::idempotency;

/// The outcome of a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller owns the event now.
    Acquired,
    /// The event was handled before: acknowledge it and do nothing.
    AlreadyDone,
    /// Someone else is handling it right now: retry later.
    InProgress,
}

/// How long a completed record is kept (duplicates arriving later than this are handled again).
pub const KEEP_DONE: Duration = Duration::from_secs(7 * 24 * 3600);

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 2)
}

/// Claims `event_id` for `consumer`; the claim lapses after `in_progress_for`.
pub async fn claim(app: &App, consumer: &str, event_id: &str, in_progress_for: Duration) -> Result<Claim, TableError> {
    let key = idempotency(consumer, event_id);
    let now = app.now().as_second();
    let mut item = key.to_item();
    item.insert("status".into(), json!("in_progress"));
    item.insert("ttl".into(), json!(now + secs(in_progress_for)));
    match app.table.put(item, Some(Condition::NotExists)).await {
        Ok(()) => Ok(Claim::Acquired),
        Err(TableError::ConditionFailed) => {
            let done = app.table.get(&key).await?.is_some_and(|i| i.get("status") == Some(&Value::from("completed")));
            Ok(if done { Claim::AlreadyDone } else { Claim::InProgress })
        }
        Err(e) => Err(e),
    }
}

/// Marks the event handled.
pub async fn complete(app: &App, consumer: &str, event_id: &str) -> Result<(), TableError> {
    let mut item = idempotency(consumer, event_id).to_item();
    item.insert("status".into(), json!("completed"));
    item.insert("completed_at".into(), json!(app.now()));
    item.insert("ttl".into(), json!(app.now().as_second() + secs(KEEP_DONE)));
    app.table.put(item, None).await
}

/// Gives a claim up after a failure, so the retry can take it at once.
pub async fn release(app: &App, consumer: &str, event_id: &str) -> Result<(), TableError> {
    app.table
        .delete(&idempotency(consumer, event_id), Some(Condition::eq("status", "in_progress")))
        .await
        .map(drop)
        .or_else(|e| match e {
            TableError::ConditionFailed => Ok(()),
            e => Err(e),
        })
}

/// Whether `consumer` has completed `event_id` (for tests and operations).
pub async fn is_done(app: &App, consumer: &str, event_id: &str) -> Result<bool, TableError> {
    Ok(app
        .table
        .get(&idempotency(consumer, event_id))
        .await?
        .is_some_and(|i| i.get("status") == Some(&Value::from("completed"))))
}
