//! Every port conformance suite, run against the AWS adapters on moto, with resources made from the template.
//!
//! Run with `KEFU_MOTO_ENDPOINT` pointing at a `moto_server` (scripts/test.sh does this); without it the cases
//! skip (and fail under CI). Table and blob cases share one stack (their keys are unique); queue and topic cases
//! each get a fresh stack, since they need empty queues.

use std::collections::BTreeMap;
use std::sync::Arc;

use kefu_aws::{AwsAdapters, AwsConfig};
use kefu_conformance::queue::QueueUnderTest;
use kefu_conformance::topic::TopicUnderTest;
use kefu_conformance::{blob_tests, queue_tests, table_tests, topic_tests};
use kefu_ports::{BlobStore, FilterPolicy, Queue, Table, Topic};
use kefu_testkit::MotoStack;
use tokio::sync::OnceCell;

/// A fresh stack.
async fn create(prefix: &'static str) -> Option<MotoStack> {
    let endpoint = kefu_testkit::require_moto()?;
    Some(tokio::task::spawn_blocking(move || MotoStack::create_at(&endpoint, prefix)).await.expect("stack creation"))
}

/// The adapters over a stack. Built per case: SDK clients keep connections on the runtime that opened them,
/// and every case runs on its own runtime.
async fn adapters(stack: &MotoStack) -> AwsAdapters {
    // The same variables the template hands every function, read by the same code as in Lambda.
    let config =
        AwsConfig::from_lookup(|name| stack.environment.get(name).cloned()).expect("the template's environment");
    AwsAdapters::for_emulator(config, &stack.endpoint, &stack.region).await
}

/// A fresh stack and the adapters over it.
async fn stack(prefix: &'static str) -> Option<(MotoStack, AwsAdapters)> {
    let stack = create(prefix).await?;
    let adapters = adapters(&stack).await;
    Some((stack, adapters))
}

/// The adapters over one stack shared by the cases whose data never collides (unique keys per case).
async fn shared() -> Option<AwsAdapters> {
    static SHARED: OnceCell<Option<MotoStack>> = OnceCell::const_new();
    let stack = SHARED.get_or_init(|| create("aws-shared")).await.as_ref()?;
    Some(adapters(stack).await)
}

async fn table() -> Option<Arc<dyn Table>> {
    let adapters = shared().await?;
    Some(adapters.table.clone())
}

async fn blobs() -> Option<Arc<dyn BlobStore>> {
    let adapters = shared().await?;
    Some(adapters.exports.clone())
}

async fn queue() -> Option<QueueUnderTest> {
    let (stack, adapters) = stack("aws-queue").await?;
    let q = stack.queue("assign");
    Some(QueueUnderTest {
        queue: Arc::new(adapters.queue(&q.url)),
        dlq: Arc::new(adapters.queue(&q.dlq_url)),
        max_receive_count: q.max_receive_count,
    })
}

/// The due queue's short name in the template (`DueQueue`).
fn kefu_app_due_queue() -> &'static str {
    "due"
}

async fn topic() -> Option<TopicUnderTest> {
    let (stack, adapters) = stack("aws-topic").await?;
    let mut subscribers = BTreeMap::new();
    for (name, q) in &stack.queues {
        if name == kefu_app_due_queue() {
            // The due queue hears no topic: timers are sent to it directly, with a delay.
            continue;
        }
        let policy = stack.subscriptions.get(name).cloned().unwrap_or_else(|| panic!("no subscription for {name}"));
        let policy: FilterPolicy = serde_json::from_value(policy).expect("a filter policy the port understands");
        subscribers.insert(name.clone(), (Arc::new(adapters.queue(&q.url)) as Arc<dyn Queue>, policy));
    }
    Some(TopicUnderTest { topic: adapters.events.clone() as Arc<dyn Topic>, subscribers })
}

mod table_suite {
    use super::*;
    table_tests!(table);
}

mod blob_suite {
    use super::*;
    blob_tests!(blobs);
}

mod queue_suite {
    use super::*;
    queue_tests!(queue);
}

mod topic_suite {
    use super::*;
    topic_tests!(topic);
}
