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

/// Each published event reaches exactly the queues whose policy accepts its attributes (its type, and the
/// extra ones it was published with), with the body unchanged.
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
    // Each type plain, and again with attributes that a policy may refuse by their presence (`notify`,
    // `automation`, both).
    // (An extra `type` never replaces the event's type.)
    let extras: [&[(&str, &str)]; 4] = [
        &[],
        &[("notify", "done"), ("type", "nobody.listens")],
        &[("automation", "done")],
        &[("notify", "done"), ("automation", "done")],
    ];
    let mut published = Vec::new();
    for ty in types {
        for (i, more) in extras.into_iter().enumerate() {
            let tag = if more.is_empty() { "plain".to_owned() } else { format!("marked{i}") };
            let body = serde_json::json!({"type": ty, "tag": tag, "id": crate::unique("evt")}).to_string();
            t.topic.publish(ty, &body, more).await.unwrap();
            let mut attrs: BTreeMap<String, String> =
                more.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
            attrs.insert("type".to_owned(), ty.to_owned());
            published.push((format!("{ty}/{tag}"), attrs));
        }
    }
    for (name, (q, policy)) in &t.subscribers {
        let got = drain(q.as_ref()).await;
        let mut got_tags: Vec<String> = got
            .iter()
            .map(|b| {
                let v: serde_json::Value = serde_json::from_str(b).unwrap();
                format!("{}/{}", v["type"].as_str().unwrap(), v["tag"].as_str().unwrap())
            })
            .collect();
        got_tags.sort();
        let mut expected: Vec<String> =
            published.iter().filter(|(_, attrs)| policy.accepts(attrs)).map(|(tag, _)| tag.clone()).collect();
        expected.sort();
        assert_eq!(got_tags, expected, "subscriber {name}");
    }
}
