//! Topic conformance: fan-out to subscribed queues by filter policy.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kefu_ports::{FilterPolicy, Queue, Topic};

/// A topic with its subscribed queues and the filter policy each subscription carries.
pub struct TopicUnderTest {
    /// The topic.
    pub topic: Arc<dyn Topic>,
    /// Subscriber name → (its queue, its filter policy).
    pub subscribers: BTreeMap<String, (Arc<dyn Queue>, FilterPolicy)>,
}

async fn drain(q: &dyn Queue) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let got = q.receive(10, Duration::from_secs(30), Duration::from_millis(200)).await.unwrap();
        if got.is_empty() {
            return out;
        }
        for m in got {
            q.delete(&m.receipt).await.unwrap();
            out.push(m.body);
        }
    }
}

/// Each published event reaches exactly the queues whose policy accepts its type, with the body unchanged.
pub async fn fan_out_by_filter_policy(t: TopicUnderTest) {
    for (q, _) in t.subscribers.values() {
        drain(q.as_ref()).await;
    }
    let types = [
        "conversation.created",
        "message.received",
        "export.requested",
        "tenant.created",
        "agent.status_changed",
        "nobody.listens",
    ];
    for ty in types {
        let body = serde_json::json!({"type": ty, "id": crate::unique("evt")}).to_string();
        t.topic.publish(ty, &body).await.unwrap();
    }
    for (name, (q, policy)) in &t.subscribers {
        let got = drain(q.as_ref()).await;
        let mut got_types: Vec<String> = got
            .iter()
            .map(|b| serde_json::from_str::<serde_json::Value>(b).unwrap()["type"].as_str().unwrap().to_owned())
            .collect();
        got_types.sort();
        let mut expected: Vec<String> = types
            .iter()
            .filter(|ty| policy.accepts(&BTreeMap::from([("type".to_owned(), (**ty).to_owned())])))
            .map(|s| (*s).to_owned())
            .collect();
        expected.sort();
        assert_eq!(got_types, expected, "subscriber {name}");
    }
}
