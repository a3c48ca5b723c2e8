//! The topic port in process: fan-out to embedded queues by filter policy, in one atomic write.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use kefu_ports::{FilterPolicy, Topic, TopicError};

use crate::store::EmbeddedStore;

/// Publishes to the subscribed queues of the embedded store whose filter policy accepts the event.
pub struct EmbeddedTopic {
    store: Arc<EmbeddedStore>,
    subscriptions: Vec<(String, FilterPolicy)>,
}

impl EmbeddedTopic {
    /// A topic with no subscribers yet.
    pub fn new(store: Arc<EmbeddedStore>) -> Self {
        Self { store, subscriptions: Vec::new() }
    }

    /// Subscribes the queue named `queue` with `policy` (raw delivery: the queue receives the body as published).
    pub fn subscribe(mut self, queue: &str, policy: FilterPolicy) -> Self {
        self.subscriptions.push((queue.to_owned(), policy));
        self
    }
}

#[async_trait]
impl Topic for EmbeddedTopic {
    async fn publish(&self, event_type: &str, body: &str, more: &[(&str, &str)]) -> Result<(), TopicError> {
        let mut attrs: BTreeMap<String, String> =
            more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        attrs.insert("type".to_owned(), event_type.to_owned());
        let targets: Vec<String> =
            self.subscriptions.iter().filter(|(_, p)| p.accepts(&attrs)).map(|(q, _)| q.clone()).collect();
        if targets.is_empty() {
            return Ok(());
        }
        let body = body.to_owned();
        let sent = targets.clone();
        self.store
            .write(move |tx, shared| -> Result<(), TopicError> {
                let now = shared.now_ms();
                for q in &targets {
                    crate::queue::enqueue(tx, q, &body, now).map_err(|e| TopicError::Unavailable(e.to_string()))?;
                }
                Ok(())
            })
            .await?;
        for q in sent {
            self.store.notify_of(&q).notify_waiters();
        }
        Ok(())
    }
}
