//! Building the app on the embedded adapters or on the AWS ones.

use std::sync::Arc;

use kefu_app::events::{ConsumerName, MAX_RECEIVE_COUNT};
use kefu_app::{App, Config};
use kefu_embedded::{EmbeddedStore, EmbeddedTopic, LocalBlobs, OutboxMailer, PushHub};
use kefu_ports::{Clock, Queue, RedrivePolicy, SystemClock};

use crate::{ServeConfig, Wired};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The dead-letter queue of a consumer's queue, in the embedded store.
pub fn dead_letter_queue(name: ConsumerName) -> String {
    format!("{}-dlq", name.as_str())
}

/// Everything on the embedded store under the data directory: `kefu.redb`, `blobs/`, `outbox.jsonl`.
pub fn embedded(config: &ServeConfig) -> Result<Wired, BoxError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&config.data_dir.join("kefu.redb"), clock.clone())?;
    let mut topic = EmbeddedTopic::new(store.clone());
    let mut queues: Vec<(ConsumerName, Arc<dyn Queue>)> = Vec::new();
    for name in ConsumerName::ALL {
        let redrive = RedrivePolicy { dead_letter_queue: dead_letter_queue(name), max_receive_count: MAX_RECEIVE_COUNT };
        queues.push((name, Arc::new(store.queue(name.as_str(), Some(redrive)))));
        topic = topic.subscribe(name.as_str(), name.filter_policy());
    }
    let hub = Arc::new(PushHub::new());
    let app = App {
        table: Arc::new(store.table()),
        topic: Arc::new(topic),
        blobs: Arc::new(LocalBlobs::new(config.data_dir.join("blobs"))),
        push: hub.clone(),
        mailer: Arc::new(OutboxMailer::new(config.data_dir.join("outbox.jsonl"))),
        clock,
        config: Arc::new(Config { bootstrap_token: config.bootstrap_token.clone(), websocket_url: None, local: true }),
    };
    Ok(Wired { app, queues, hub: Some(hub) })
}

/// Everything on the AWS adapters; consumers poll the queues named by `KEFU_QUEUE_URL_<NAME>` when set
/// (e.g. against an emulator, where no Lambda event source mapping delivers them).
pub async fn aws(config: &ServeConfig) -> Result<Wired, BoxError> {
    let mut cfg = kefu_lambda::config_from_env(true);
    cfg.bootstrap_token = config.bootstrap_token.clone();
    let (app, aws) = kefu_lambda::aws_app(cfg).await.map_err(|e| -> BoxError { e.to_string().into() })?;
    let mut queues: Vec<(ConsumerName, Arc<dyn Queue>)> = Vec::new();
    for name in ConsumerName::ALL {
        let var = format!("KEFU_QUEUE_URL_{}", name.as_str().to_ascii_uppercase());
        if let Some(url) = std::env::var(&var).ok().filter(|v| !v.is_empty()) {
            queues.push((name, Arc::new(aws.queue(url))));
        }
    }
    Ok(Wired { app, queues, hub: None })
}
