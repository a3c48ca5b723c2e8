//! Idempotency records for consumers, as in Powertools: a consumer claims an event with a conditional write
//! before handling it, marks it done after, and releases it on failure. An in-progress claim expires (its
//! `ttl`), so a consumer that died mid-event does not block the retry forever.

use std::time::Duration;

use kefu_ports::table::{Condition, TableError};
use serde::{Deserialize, Serialize};

use crate::App;
use crate::plumbing::keys::idempotency;
use crate::plumbing::record;

/// Where a consumer's handling of one event stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Claimed, being handled (until the claim's `ttl`).
    InProgress,
    /// Handled.
    Completed,
}

impl ClaimStatus {
    /// The name as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            ClaimStatus::InProgress => "in_progress",
            ClaimStatus::Completed => "completed",
        }
    }
}

/// An idempotency record: `IDEMP#{consumer}#{event_id}` / `IDEMP` (the key names the consumer and the event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Where the handling stands.
    pub status: ClaimStatus,
    /// When it was marked handled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<jiff::Timestamp>,
    /// Expiry, epoch seconds: the claim's lapse, or how long a completed record is kept.
    pub ttl: i64,
}

async fn status(app: &App, consumer: &str, event_id: &str) -> Result<Option<ClaimStatus>, TableError> {
    match app.table.get(&idempotency(consumer, event_id)).await? {
        Some(item) => Ok(Some(record::parse::<IdempotencyRecord>("idempotency", item)?.status)),
        None => Ok(None),
    }
}

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
    let claim =
        IdempotencyRecord { status: ClaimStatus::InProgress, completed_at: None, ttl: now + secs(in_progress_for) };
    match app.table.put(record::item_of(key, &claim), Some(Condition::NotExists)).await {
        Ok(()) => Ok(Claim::Acquired),
        Err(TableError::ConditionFailed) => {
            let done = status(app, consumer, event_id).await? == Some(ClaimStatus::Completed);
            Ok(if done { Claim::AlreadyDone } else { Claim::InProgress })
        }
        Err(e) => Err(e),
    }
}

/// Marks the event handled.
pub async fn complete(app: &App, consumer: &str, event_id: &str) -> Result<(), TableError> {
    let done = IdempotencyRecord {
        status: ClaimStatus::Completed,
        completed_at: Some(app.now()),
        ttl: app.now().as_second() + secs(KEEP_DONE),
    };
    app.table.put(record::item_of(idempotency(consumer, event_id), &done), None).await
}

/// Gives a claim up after a failure, so the retry can take it at once.
pub async fn release(app: &App, consumer: &str, event_id: &str) -> Result<(), TableError> {
    app.table
        .delete(&idempotency(consumer, event_id), Some(Condition::eq("status", ClaimStatus::InProgress.as_str())))
        .await
        .map(drop)
        .or_else(|e| match e {
            TableError::ConditionFailed => Ok(()),
            e => Err(e),
        })
}

/// Whether `consumer` has completed `event_id` (the check of `Idempotency::CompleteAfter` consumers; tests and
/// operations).
pub async fn is_done(app: &App, consumer: &str, event_id: &str) -> Result<bool, TableError> {
    Ok(status(app, consumer, event_id).await? == Some(ClaimStatus::Completed))
}
