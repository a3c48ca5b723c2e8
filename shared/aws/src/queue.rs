//! The queue port on SQS.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sqs::types::{
    DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName, SendMessageBatchRequestEntry,
};
use kefu_ports::queue::{MAX_BATCH, MAX_DELAY};
use kefu_ports::{Queue, QueueError, QueueMessage};

use crate::error::{code, describe};

/// One SQS queue behind the [`Queue`] port.
///
/// The move to the dead-letter queue after too many receives is SQS's own redrive policy, configured by the
/// template, so the adapter only has to report each message's receive count.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: crate::LazyClient<Client>,
    url: String,
}

/// The longest long poll SQS allows.
const MAX_WAIT_SECS: u64 = 20;
/// The longest visibility timeout SQS allows (12 hours).
const MAX_VISIBILITY_SECS: u64 = 12 * 60 * 60;

impl SqsQueue {
    /// The adapter for the queue at `url`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, url: impl Into<String>) -> Self {
        Self { client: client.into(), url: url.into() }
    }

    /// The queue's URL, for logs.
    pub fn url(&self) -> &str {
        &self.url
    }
}

fn unavailable<E>(err: SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    tracing::warn!(error = %describe(&err), "sqs request failed");
    QueueError::Unavailable(describe(&err))
}

/// Maps an error of an operation that takes a receipt handle.
fn receipt_error<E>(err: SdkError<E>) -> QueueError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let bad_receipt = code(&err).is_some_and(|c| {
        ["ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight", "InvalidIdFormat"]
            .iter()
            .any(|known| c.ends_with(known))
    });
    if bad_receipt { QueueError::InvalidReceipt } else { unavailable(err) }
}

/// Whole seconds, rounding a fraction up so a requested timeout is never cut short.
fn secs_up(d: Duration, max: u64) -> i32 {
    let s = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    i32::try_from(s.min(max)).unwrap_or(i32::MAX)
}

#[async_trait]
impl Queue for SqsQueue {
    async fn send(&self, body: &str) -> Result<String, QueueError> {
        let out = self
            .client
            .get()
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .send()
            .await
            .map_err(unavailable)?;
        out.message_id.ok_or_else(|| QueueError::Unavailable("SQS answered without a message id".into()))
    }

    async fn send_delayed(&self, body: &str, delay: Duration) -> Result<String, QueueError> {
        let out = self
            .client
            .get()
            .send_message()
            .queue_url(&self.url)
            .message_body(body)
            .delay_seconds(secs_up(delay, MAX_DELAY.as_secs()))
            .send()
            .await
            .map_err(unavailable)?;
        out.message_id.ok_or_else(|| QueueError::Unavailable("SQS answered without a message id".into()))
    }

    async fn send_batch(&self, bodies: &[String]) -> Result<Vec<String>, QueueError> {
        if bodies.len() > MAX_BATCH {
            return Err(QueueError::BatchTooLarge(bodies.len()));
        }
        if bodies.is_empty() {
            return Ok(Vec::new());
        }
        let entries = bodies
            .iter()
            .enumerate()
            .map(|(i, b)| SendMessageBatchRequestEntry::builder().id(i.to_string()).message_body(b).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::Unavailable(e.to_string()))?;
        let out = self
            .client
            .get()
            .send_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(unavailable)?;
        if let Some(f) = out.failed.first() {
            return Err(QueueError::Unavailable(format!(
                "{} of {} messages refused: {} {}",
                out.failed.len(),
                bodies.len(),
                f.code,
                f.message.as_deref().unwrap_or_default()
            )));
        }
        let mut ids = vec![String::new(); bodies.len()];
        for ok in out.successful {
            if let Some(slot) = ok.id.parse::<usize>().ok().and_then(|i| ids.get_mut(i)) {
                *slot = ok.message_id;
            }
        }
        if ids.iter().any(String::is_empty) {
            return Err(QueueError::Unavailable("SQS did not confirm every message of the batch".into()));
        }
        Ok(ids)
    }

    async fn receive(&self, max: usize, visibility: Duration, wait: Duration) -> Result<Vec<QueueMessage>, QueueError> {
        if max == 0 {
            return Ok(Vec::new());
        }
        let max = i32::try_from(max.min(MAX_BATCH)).unwrap_or(1);
        let wait_secs = (wait.as_millis() + 500) / 1000;
        let out = self
            .client
            .get()
            .receive_message()
            .queue_url(&self.url)
            .max_number_of_messages(max)
            .visibility_timeout(secs_up(visibility, MAX_VISIBILITY_SECS))
            .wait_time_seconds(i32::try_from(wait_secs.min(u128::from(MAX_WAIT_SECS))).unwrap_or(0))
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .send()
            .await
            .map_err(unavailable)?;
        let messages = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .filter_map(|m| {
                let receive_count = m
                    .attributes
                    .as_ref()
                    .and_then(|a| a.get(&MessageSystemAttributeName::ApproximateReceiveCount))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(1);
                Some(QueueMessage {
                    id: m.message_id?,
                    receipt: m.receipt_handle?,
                    body: m.body.unwrap_or_default(),
                    receive_count,
                })
            })
            .collect();
        Ok(messages)
    }

    async fn delete(&self, receipt: &str) -> Result<(), QueueError> {
        self.client
            .get()
            .delete_message()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .send()
            .await
            .map_err(receipt_error)?;
        Ok(())
    }

    async fn delete_batch(&self, receipts: &[String]) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        if receipts.len() > MAX_BATCH {
            return Err(QueueError::BatchTooLarge(receipts.len()));
        }
        if receipts.is_empty() {
            return Ok(Vec::new());
        }
        let entries = receipts
            .iter()
            .enumerate()
            .map(|(i, r)| DeleteMessageBatchRequestEntry::builder().id(i.to_string()).receipt_handle(r).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| QueueError::Unavailable(e.to_string()))?;
        let out = self
            .client
            .get()
            .delete_message_batch()
            .queue_url(&self.url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(unavailable)?;
        let mut results: Vec<Result<(), QueueError>> = receipts.iter().map(|_| Ok(())).collect();
        for f in &out.failed {
            let Some(slot) = f.id.parse::<usize>().ok().and_then(|i| results.get_mut(i)) else { continue };
            let bad_receipt =
                ["ReceiptHandleIsInvalid", "InvalidParameterValue", "MessageNotInflight", "InvalidIdFormat"]
                    .iter()
                    .any(|known| f.code.ends_with(known));
            *slot = Err(if bad_receipt {
                QueueError::InvalidReceipt
            } else {
                QueueError::Unavailable(format!("{} {}", f.code, f.message.as_deref().unwrap_or_default()))
            });
        }
        Ok(results)
    }

    async fn change_visibility(&self, receipt: &str, visibility: Duration) -> Result<(), QueueError> {
        self.client
            .get()
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt)
            .visibility_timeout(secs_up(visibility, MAX_VISIBILITY_SECS))
            .send()
            .await
            .map_err(receipt_error)?;
        Ok(())
    }

    async fn approximate_len(&self) -> Result<usize, QueueError> {
        let out = self
            .client
            .get()
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .map_err(unavailable)?;
        let attrs = out.attributes.unwrap_or_default();
        let n = |name: QueueAttributeName| attrs.get(&name).and_then(|v| v.parse::<usize>().ok()).unwrap_or(0);
        Ok(n(QueueAttributeName::ApproximateNumberOfMessages)
            + n(QueueAttributeName::ApproximateNumberOfMessagesNotVisible))
    }
}
