//! The embedded store keeps queued and in-flight messages and table items across a restart.

use std::sync::Arc;
use std::time::Duration;

use kefu_embedded::EmbeddedStore;
use kefu_ports::table::{Key, Table};
use kefu_ports::{Clock, Queue, RedrivePolicy, SystemClock};
use serde_json::json;

#[tokio::test]
async fn queues_and_items_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kefu.redb");
    let redrive = || Some(RedrivePolicy { dead_letter_queue: "q-dlq".into(), max_receive_count: 3 });
    {
        let store = EmbeddedStore::open(&path, Arc::new(SystemClock)).unwrap();
        let q = store.queue("q", redrive());
        q.send("waiting").await.unwrap();
        q.send("in flight").await.unwrap();
        let got = q.receive(1, Duration::from_secs(1), Duration::from_secs(1)).await.unwrap();
        assert_eq!(got[0].body, "waiting");
        store.table().put(json!({"pk": "a", "sk": "b", "v": 1}).as_object().unwrap().clone(), None).await.unwrap();
    }
    let store = EmbeddedStore::open(&path, Arc::new(SystemClock)).unwrap();
    let q = store.queue("q", redrive());
    assert_eq!(q.approximate_len().await.unwrap(), 2);
    let first = q.receive(10, Duration::from_secs(30), Duration::from_secs(1)).await.unwrap();
    assert_eq!(first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["in flight"]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = q.receive(10, Duration::from_secs(30), Duration::from_secs(1)).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!((later[0].body.as_str(), later[0].receive_count), ("waiting", 2), "the receive count survives too");
    assert_eq!(store.table().get(&Key::new("a", "b")).await.unwrap().unwrap()["v"], 1);
}

#[tokio::test]
async fn expired_items_are_purged_with_their_index_entries() {
    use kefu_ports::table::{Index, Query};
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(kefu_ports::ManualClock::new("2026-11-25T00:00:00Z".parse().unwrap()));
    let store = EmbeddedStore::open(&dir.path().join("kefu.redb"), clock.clone()).unwrap();
    let table = store.table();
    let now = clock.now().as_second();
    let item = |sk: &str, ttl: i64| {
        json!({"pk": "p", "sk": sk, "gsi1pk": "g", "gsi1sk": sk, "ttl": ttl}).as_object().unwrap().clone()
    };
    table.put(item("soon", now + 10), None).await.unwrap();
    table.put(item("later", now + 1000), None).await.unwrap();
    table.put(json!({"pk": "p", "sk": "forever"}).as_object().unwrap().clone(), None).await.unwrap();
    assert_eq!(table.purge_expired(100).await.unwrap(), 0);
    clock.advance(jiff::SignedDuration::from_secs(11));
    table.put(item("later", now + 2000), None).await.unwrap();
    assert_eq!(table.purge_expired(100).await.unwrap(), 1);
    clock.advance(jiff::SignedDuration::from_secs(1500));
    assert_eq!(table.purge_expired(100).await.unwrap(), 0, "the rewritten item moved its expiry");
    clock.set("2000-01-01T00:00:00Z".parse().unwrap());
    let all = table.query(Query::partition("p")).await.unwrap().items;
    assert_eq!(all.len(), 2, "purged items are gone for good, even for a clock turned back");
    assert_eq!(table.query(Query::index(Index::Gsi1, "g")).await.unwrap().items.len(), 1);
}

/// Queues moved to a store of their own (`kefu serve`'s `queues.redb`) keep every message: waiting, in flight
/// and dead-lettered, with its receive count, and leave nothing behind in the old file.
#[tokio::test]
async fn queues_move_to_a_store_of_their_own() {
    let dir = tempfile::tempdir().unwrap();
    let redrive = || Some(RedrivePolicy { dead_letter_queue: "q-dlq".into(), max_receive_count: 1 });
    let old = EmbeddedStore::open(&dir.path().join("kefu.redb"), Arc::new(SystemClock)).unwrap();
    let q = old.queue("q", redrive());
    q.send("dead").await.unwrap();
    let got = q.receive(1, Duration::ZERO, Duration::ZERO).await.unwrap();
    assert_eq!(got[0].body, "dead");
    assert!(q.receive(1, Duration::ZERO, Duration::ZERO).await.unwrap().is_empty(), "it went to the dead letters");
    q.send("waiting").await.unwrap();
    q.send("in flight").await.unwrap();
    assert_eq!(q.receive(1, Duration::from_secs(1), Duration::ZERO).await.unwrap()[0].body, "waiting");

    let new = EmbeddedStore::open(&dir.path().join("queues.redb"), Arc::new(SystemClock)).unwrap();
    assert_eq!(kefu_embedded::queue::move_queues(&old, &new).await.unwrap(), 3);
    assert_eq!(kefu_embedded::queue::move_queues(&old, &new).await.unwrap(), 0, "nothing is left to move");
    assert_eq!(old.queue("q", redrive()).approximate_len().await.unwrap(), 0);
    assert_eq!(old.queue("q-dlq", None).approximate_len().await.unwrap(), 0);

    // A redrive policy belongs to the queue's handle, not to its messages: the moved queue allows more receives.
    let q = new.queue("q", Some(RedrivePolicy { dead_letter_queue: "q-dlq".into(), max_receive_count: 3 }));
    let dlq = new.queue("q-dlq", None);
    assert_eq!(dlq.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap()[0].body, "dead");
    let first = q.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!(first.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["in flight"]);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = q.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
    assert_eq!((later[0].body.as_str(), later[0].receive_count), ("waiting", 2), "the receive count moves too");
}
