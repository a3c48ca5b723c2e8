//! Building the app on the embedded adapters or on the AWS ones.

use std::sync::Arc;

use kefu_app::plumbing::events::{ConsumerName, MAX_RECEIVE_COUNT};
use kefu_app::{App, AppParts, Config};
use kefu_embedded::{EmbeddedStore, EmbeddedTopic, LocalBlobs, OutboxMailer, PushHub};
use kefu_ports::{Clock, Queue, RedrivePolicy, SystemClock};

use kefu_aws::AwsAdapters;

use crate::{Backend, ServeConfig, Wired};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The dead-letter queue of a consumer's queue, in the embedded store.
pub fn dead_letter_queue(name: ConsumerName) -> String {
    format!("{}-dlq", name.as_str())
}

/// How long a busy store writer gathers writes before it commits: `KEFU_STORE_GROUP_WINDOW_US` (0..=100,000
/// microseconds), else the store's default (`kefu_embedded::GROUP_WINDOW`, 3 ms; see docs/performance.md).
fn group_window() -> Option<std::time::Duration> {
    let us: u64 = std::env::var("KEFU_STORE_GROUP_WINDOW_US").ok()?.trim().parse().ok()?;
    (us <= 100_000).then(|| std::time::Duration::from_micros(us))
}

/// Everything on the embedded store under the data directory: `kefu.redb` (the table), `queues.redb` (the
/// topic's queues), `blobs/`, `outbox.jsonl`.
///
/// The queues have a file, and so a writer thread, of their own: the table's writes and the queues' (fan-out,
/// receives, deletes) then commit in parallel, on two cores, instead of one after the other. Nothing wrote to
/// both in one transaction (a publish follows the table's commit; the outbox covers the gap), so no guarantee
/// changes. Queued messages an older `kefu.redb` still holds are moved over at start.
pub async fn embedded(config: &ServeConfig) -> Result<Wired, BoxError> {
    std::fs::create_dir_all(&config.data_dir)?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = EmbeddedStore::open(&config.data_dir.join("kefu.redb"), clock.clone())?;
    let queue_store = EmbeddedStore::open(&config.data_dir.join("queues.redb"), clock.clone())?;
    if let Some(window) = group_window() {
        store.set_group_window(window);
        queue_store.set_group_window(window);
    }
    let moved = kefu_embedded::queue::move_queues(&store, &queue_store).await?;
    if moved > 0 {
        tracing::info!(moved, "queued messages moved from kefu.redb to queues.redb");
    }
    let mut topic = EmbeddedTopic::new(queue_store.clone());
    let mut queues: Vec<(ConsumerName, Arc<dyn Queue>)> = Vec::new();
    for name in ConsumerName::ALL {
        let redrive =
            RedrivePolicy { dead_letter_queue: dead_letter_queue(name), max_receive_count: MAX_RECEIVE_COUNT };
        queues.push((name, Arc::new(queue_store.queue(name.as_str(), Some(redrive)))));
        topic = topic.subscribe(name.as_str(), name.filter_policy());
    }
    let hub = Arc::new(PushHub::new());
    let table = Arc::new(store.table());
    let outbox = Arc::new(OutboxMailer::new(config.data_dir.join("outbox.jsonl")));
    let app = App::from(AppParts {
        table: table.clone(),
        topic: Arc::new(topic),
        blobs: Arc::new(LocalBlobs::new(config.data_dir.join("blobs"))),
        push: hub.clone(),
        mailer: outbox.clone(),
        mobile: outbox,
        clock,
        due: Arc::new(queue_store.queue(
            kefu_app::timers::DUE_QUEUE,
            Some(RedrivePolicy {
                dead_letter_queue: format!("{}-dlq", kefu_app::timers::DUE_QUEUE),
                max_receive_count: MAX_RECEIVE_COUNT,
            }),
        )),
        config: Arc::new(Config {
            bootstrap_token: config.bootstrap_token.clone(),
            websocket_url: None,
            local: true,
            outbox_one_partition: true,
        }),
        memo: Arc::default(),
        clearing: kefu_app::plumbing::clearing::Clearing::inline(),
    });
    Ok(Wired { app, queues, hub: Some(hub), embedded_table: Some(table) })
}

/// The wiring `config` asks for.
pub async fn wire(config: &ServeConfig) -> Result<Wired, BoxError> {
    match &config.backend {
        Backend::Embedded => embedded(config).await,
        Backend::Aws { config: aws_config, queue_urls, emulator } => {
            let aws = match emulator {
                Some((endpoint, region)) => {
                    AwsAdapters::for_emulator(aws_config.as_ref().clone(), endpoint, region).await
                }
                None => AwsAdapters::load(aws_config.as_ref().clone()).await,
            };
            let mut cfg = kefu_lambda::config_from_env(true);
            cfg.bootstrap_token = config.bootstrap_token.clone();
            let mut app = kefu_lambda::app_on(&aws, cfg);
            // kefu serve terminates the WebSockets itself, so frames go through its hub, not API Gateway.
            let hub = Arc::new(PushHub::new());
            app.push = hub.clone();
            let mut queues: Vec<(ConsumerName, Arc<dyn Queue>)> = Vec::new();
            for name in ConsumerName::ALL {
                if let Some(url) = queue_urls.get(name.as_str()) {
                    queues.push((name, Arc::new(aws.queue(url.clone()))));
                }
            }
            Ok(Wired { app, queues, hub: Some(hub), embedded_table: None })
        }
    }
}
