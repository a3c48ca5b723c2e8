//! A queue shaped like SQS: at-least-once delivery, visibility timeout, receive count, dead-letter queue.

use std::time::Duration;

use async_trait::async_trait;

/// Why a queue operation failed.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The receipt handle is unknown or stale.
    #[error("invalid receipt handle")]
    InvalidReceipt,
    /// More messages than one batch takes (10).
    #[error("batch too large: {0} messages (at most {max})", max = MAX_BATCH)]
    BatchTooLarge(usize),
    /// The backend failed; the operation may be retried.
    #[error("queue unavailable: {0}")]
    Unavailable(String),
}

/// The most messages one send or receive batch carries, as in SQS.
pub const MAX_BATCH: usize = 10;

/// A message as received: deliver it, then delete it with its receipt, or let it reappear.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueMessage {
    /// Stable across deliveries.
    pub id: String,
    /// Names this delivery; needed to delete or change visibility.
    pub receipt: String,
    /// The payload.
    pub body: String,
    /// How many times the message has been received, this delivery included.
    pub receive_count: u32,
}

/// Where a message goes after too many receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedrivePolicy {
    /// The dead-letter queue's name.
    pub dead_letter_queue: String,
    /// A message received this many times without being deleted moves to the dead-letter queue instead of
    /// being delivered again.
    pub max_receive_count: u32,
}

/// The longest delay one message can carry, as in SQS (`DelaySeconds` ≤ 900). A due time further away is
/// reached in steps: the receiver sees the message early and sends it again with the rest of the delay.
pub const MAX_DELAY: Duration = Duration::from_secs(15 * 60);

/// One queue.
#[async_trait]
pub trait Queue: Send + Sync {
    /// Sends one message; returns its id.
    async fn send(&self, body: &str) -> Result<String, QueueError>;
    /// Sends one message that stays invisible for `delay` (clamped to [`MAX_DELAY`]; SQS counts whole
    /// seconds, rounding up); returns its id. Timers use it to be woken at a due time without a sweep.
    async fn send_delayed(&self, body: &str, delay: Duration) -> Result<String, QueueError>;
    /// Sends up to [`MAX_BATCH`] messages at once; returns their ids in order.
    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>, QueueError>;
    /// Receives up to `max` (≤ [`MAX_BATCH`]) visible messages, hiding them for `visibility`; waits up to `wait`
    /// for the first one to arrive (long polling).
    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> Result<Vec<QueueMessage>, QueueError>;
    /// Deletes a received message.
    async fn delete(&self, receipt: &str) -> Result<(), QueueError>;
    /// Deletes up to [`MAX_BATCH`] received messages in one request (SQS `DeleteMessageBatch`; one write on the
    /// embedded store), so a consumer settles its batch at once. Answers each receipt's own result, in order: a
    /// stale or garbled receipt fails alone, as [`Queue::delete`] would fail it, and the others are deleted.
    /// The outer error is for the request as a whole (more than [`MAX_BATCH`], the backend unavailable).
    async fn delete_batch(&self, receipts: &[String]) -> Result<Vec<Result<(), QueueError>>, QueueError>;
    /// Changes how long a received message stays hidden (zero makes it visible now).
    async fn change_visibility(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError>;
    /// Approximately how many messages wait, visible or in flight (for operations and tests).
    async fn approximate_len(&self) -> Result<usize, QueueError>;
}
