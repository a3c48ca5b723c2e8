//! The embedded store keeps queued and in-flight messages and table items across a restart.

use std::sync::Arc;
use std::time::Duration;

use kefu_embedded::EmbeddedStore;
use kefu_ports::table::{Key, Table};
use kefu_ports::{Queue, RedrivePolicy, SystemClock};
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
