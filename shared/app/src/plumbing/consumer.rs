//! Queue consumers: one handler per consumer, run on SQS batches in Lambda and by pollers in `kefu serve`,
//! with the same semantics: idempotent per event, partial batch failures, poison messages left to the DLQ.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kefu_ports::Queue;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::App;
use crate::plumbing::events::{ConsumerName, Envelope};
use crate::plumbing::idempotency::{self, Claim};

/// Why handling an event failed.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Worth retrying (a dependency was unavailable).
    #[error("retry: {0}")]
    Retry(String),
    /// Will never succeed; the message goes to the dead-letter queue after its receives run out.
    #[error("permanent: {0}")]
    Permanent(String),
}

impl From<kefu_ports::TableError> for HandlerError {
    fn from(e: kefu_ports::TableError) -> Self {
        HandlerError::Retry(e.to_string())
    }
}

/// How a consumer keeps an event from being handled again once it was handled (its idempotency record,
/// `IDEMP#{consumer}#{event}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Idempotency {
    /// Claim the event with a conditional write before handling it, complete the claim after (two writes). A
    /// concurrent copy of the event waits for the claim, so the handler runs at most once at a time per event:
    /// for handlers with effects that must not happen twice (an email, a webhook, a routing decision).
    Claim,
    /// Skip an event whose record says it was handled (one read), else handle it and write the completed
    /// record after (one write). For handlers that cannot do half their work twice, because every durable
    /// effect carries its own once-per-event guard (a conditional write in the same transaction) and their
    /// frames are safe to repeat (clients drop a frame whose message id they have): two copies racing may then
    /// both run, with the same outcome as one. A failed handler leaves no record, so the retry runs it again.
    CompleteAfter,
    /// No record at all (no read, no write): for handlers whose every durable effect carries its own
    /// once-per-event guard and whose frames are safe to repeat, so that a duplicate delivery, which queues
    /// make rare, just runs the handler again with the same outcome. The hot path's message events use it.
    Repeatable,
}

/// A queue consumer.
#[async_trait]
pub trait Consumer: Send + Sync {
    /// Which consumer this is (names its queue and its idempotency records).
    fn name(&self) -> ConsumerName;
    /// How `event` is kept from being handled twice ([`Idempotency::Claim`] unless the consumer knows its
    /// handling of this event is safe to repeat).
    fn idempotency(&self, _event: &Envelope) -> Idempotency {
        Idempotency::Claim
    }
    /// Handles one event. Not called again for an event id while its completed record is kept; under
    /// [`Idempotency::Claim`] also never while another copy of it is being handled.
    async fn handle(&self, app: &App, event: &Envelope) -> Result<(), HandlerError>;
}

/// One message of a batch.
#[derive(Debug, Clone)]
pub struct BatchItem {
    /// The queue's message id (reported back when it failed).
    pub message_id: String,
    /// The body: an [`Envelope`] as JSON.
    pub body: String,
}

/// Handles a batch; answers the ids of the messages that failed (to be retried, then dead-lettered). The
/// messages are handled concurrently (each one's store round trips overlap the others'), as SQS gives no order
/// within a batch anyway; every event still runs at most once at a time, under its idempotency claim.
///
/// A batch may carry the same event twice (at-least-once delivery): only its first copy is handled, and the
/// others share that copy's outcome, so a duplicate is acknowledged when the event is done instead of racing
/// its twin for the claim and coming back later.
pub async fn process_batch(app: &App, consumer: &dyn Consumer, items: Vec<BatchItem>) -> Vec<String> {
    let event_id = |item: &BatchItem| {
        serde_json::from_str::<Envelope>(&item.body).map(|e| e.id).unwrap_or_else(|_| item.message_id.clone())
    };
    let ids: Vec<String> = items.iter().map(event_id).collect();
    let mut first_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let firsts: Vec<usize> = (0..items.len()).filter(|&i| first_of.entry(ids[i].as_str()).or_insert(i) == &i).collect();
    let outcomes = futures::future::join_all(firsts.iter().map(|&i| process_one(app, consumer, &items[i]))).await;
    let ok_of: std::collections::HashMap<usize, bool> = firsts.into_iter().zip(outcomes).collect();
    items
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !ok_of[&first_of[ids[*i].as_str()]])
        .map(|(_, item)| item.message_id)
        .collect()
}

/// Handles one message of a batch; answers whether it is done (handled now or before). A poison message — not
/// an envelope, or one whose type or payload this version does not decode — is logged and fails, so it ends in
/// the dead-letter queue after its receives, where it can be looked at.
async fn process_one(app: &App, consumer: &dyn Consumer, item: &BatchItem) -> bool {
    let name = consumer.name().as_str();
    let event: Envelope = match serde_json::from_str(&item.body) {
        Ok(e) => e,
        Err(e) => {
            error!(consumer = name, message_id = %item.message_id, error = %e, "poison message: not an event envelope this version reads");
            return false;
        }
    };
    match consumer.idempotency(&event) {
        Idempotency::CompleteAfter => return complete_after(app, consumer, &event).await,
        Idempotency::Repeatable => {
            return match consumer.handle(app, &event).await {
                Ok(()) => true,
                Err(e) => {
                    warn!(consumer = name, event_id = %event.id, tenant_id = %event.tenant_id, error = %e, "event failed");
                    false
                }
            };
        }
        Idempotency::Claim => {}
    }
    match idempotency::claim(app, name, &event.id, consumer.name().visibility_timeout()).await {
        Ok(Claim::AlreadyDone) => {
            info!(consumer = name, event_id = %event.id, "duplicate delivery acknowledged");
            return true;
        }
        Ok(Claim::InProgress) => return false,
        Ok(Claim::Acquired) => {}
        Err(e) => {
            warn!(consumer = name, error = %e, "idempotency claim failed");
            return false;
        }
    }
    match consumer.handle(app, &event).await {
        Ok(()) => {
            if let Err(e) = idempotency::complete(app, name, &event.id).await {
                warn!(consumer = name, event_id = %event.id, error = %e, "handled, but not recorded as done");
            }
            true
        }
        Err(e) => {
            warn!(consumer = name, event_id = %event.id, tenant_id = %event.tenant_id, error = %e, "event failed");
            let _ = idempotency::release(app, name, &event.id).await;
            false
        }
    }
}

/// [`Idempotency::CompleteAfter`]: one read to skip a handled event, the handler, one write to record it.
async fn complete_after(app: &App, consumer: &dyn Consumer, event: &Envelope) -> bool {
    let name = consumer.name().as_str();
    match idempotency::is_done(app, name, &event.id).await {
        Ok(true) => {
            info!(consumer = name, event_id = %event.id, "duplicate delivery acknowledged");
            return true;
        }
        Ok(false) => {}
        Err(e) => {
            warn!(consumer = name, error = %e, "idempotency read failed");
            return false;
        }
    }
    match consumer.handle(app, event).await {
        Ok(()) => {
            if let Err(e) = idempotency::complete(app, name, &event.id).await {
                warn!(consumer = name, event_id = %event.id, error = %e, "handled, but not recorded as done");
            }
            true
        }
        Err(e) => {
            warn!(consumer = name, event_id = %event.id, tenant_id = %event.tenant_id, error = %e, "event failed");
            false
        }
    }
}

/// Runs a consumer against an embedded queue until `shutdown` turns true; the batch in hand is finished
/// first (drained), so stopping never abandons a claimed event. Failed messages come back after a short
/// backoff, and move to the dead-letter queue after their receives run out.
pub async fn run_poller(
    app: App,
    queue: Arc<dyn Queue>,
    consumer: Arc<dyn Consumer>,
    mut shutdown: watch::Receiver<bool>,
) {
    let name = consumer.name().as_str();
    info!(consumer = name, "poller started");
    loop {
        if *shutdown.borrow() {
            break;
        }
        let received = tokio::select! {
            r = queue.receive(10, consumer.name().visibility_timeout(), Duration::from_secs(1)) => r,
            _ = shutdown.changed() => break,
        };
        let messages = match received {
            Ok(m) => m,
            Err(e) => {
                warn!(consumer = name, error = %e, "receive failed");
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let items = messages.iter().map(|m| BatchItem { message_id: m.id.clone(), body: m.body.clone() }).collect();
        let failed = process_batch(&app, consumer.as_ref(), items).await;
        let (retry, done): (Vec<_>, Vec<_>) = messages.iter().partition(|m| failed.contains(&m.id));
        // The handled messages go in one request (one write on the embedded store), the failed ones come back
        // after their backoff.
        let delete = async {
            if done.is_empty() {
                return;
            }
            let receipts: Vec<String> = done.iter().map(|m| m.receipt.clone()).collect();
            match queue.delete_batch(&receipts).await {
                Ok(results) => {
                    for (m, r) in done.iter().zip(results) {
                        if let Err(e) = r {
                            warn!(consumer = name, message_id = %m.id, error = %e, "could not settle message");
                        }
                    }
                }
                Err(e) => warn!(consumer = name, error = %e, "could not settle {} messages", done.len()),
            }
        };
        let backoffs = retry.iter().map(|m| {
            let queue = &queue;
            async move {
                let backoff = Duration::from_secs(1u64 << m.receive_count.min(6));
                if let Err(e) = queue.change_visibility(&m.receipt, backoff).await {
                    warn!(consumer = name, message_id = %m.id, error = %e, "could not settle message");
                }
            }
        });
        futures::future::join(delete, futures::future::join_all(backoffs)).await;
    }
    info!(consumer = name, "poller drained and stopped");
}
