//! The port conformance suites against the embedded adapters.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use kefu_conformance::{queue::QueueUnderTest, topic::TopicUnderTest};
use kefu_embedded::{EmbeddedStore, EmbeddedTopic, LocalBlobs};
use kefu_ports::{BlobStore, FilterPolicy, Queue, RedrivePolicy, SystemClock, Table};

struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
}

fn shared() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let store = EmbeddedStore::open(&dir.path().join("kefu.redb"), Arc::new(SystemClock)).unwrap();
        Fixture { _dir: dir, store }
    })
}

async fn table() -> Option<Arc<dyn Table>> {
    Some(Arc::new(shared().store.table()))
}

async fn queue() -> Option<QueueUnderTest> {
    let store = &shared().store;
    let name = kefu_conformance::unique("q");
    let dlq = format!("{name}-dlq");
    let policy = RedrivePolicy { dead_letter_queue: dlq.clone(), max_receive_count: 5 };
    Some(QueueUnderTest {
        queue: Arc::new(store.queue(&name, Some(policy))),
        dlq: Arc::new(store.queue(&dlq, None)),
        max_receive_count: 5,
    })
}

async fn topic() -> Option<TopicUnderTest> {
    let store = &shared().store;
    let p = kefu_conformance::unique("t");
    let policies: [(&str, &str); 4] = [
        ("assign", r#"{"type": [{"prefix": "conversation."}, {"prefix": "agent."}]}"#),
        ("automation", r#"{"type": ["conversation.created", "message.received"]}"#),
        ("notify", r#"{"type": ["message.received", "tenant.created"], "notify": [{"exists": false}]}"#),
        ("export", r#"{"type": ["export.requested"]}"#),
    ];
    let mut topic = EmbeddedTopic::new(store.clone());
    let mut subscribers = BTreeMap::new();
    for (name, policy) in policies {
        let policy: FilterPolicy = serde_json::from_str(policy).unwrap();
        let qname = format!("{p}-{name}");
        topic = topic.subscribe(&qname, policy.clone());
        subscribers.insert(name.to_owned(), (Arc::new(store.queue(&qname, None)) as Arc<dyn Queue>, policy));
    }
    Some(TopicUnderTest { topic: Arc::new(topic), subscribers })
}

async fn blobs() -> Option<Arc<dyn BlobStore>> {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    Some(Arc::new(LocalBlobs::new(dir.path())))
}

mod table_suite {
    use super::*;
    kefu_conformance::table_tests!(table);
}
mod queue_suite {
    use super::*;
    kefu_conformance::queue_tests!(queue);
}
mod topic_suite {
    use super::*;
    kefu_conformance::topic_tests!(topic);
}
mod blob_suite {
    use super::*;
    kefu_conformance::blob_tests!(blobs);
}
