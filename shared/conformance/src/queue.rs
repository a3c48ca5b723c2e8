//! Queue conformance: SQS semantics.

use std::sync::Arc;
use std::time::Duration;

use kefu_ports::{Queue, QueueError};

/// A queue with its dead-letter queue and redrive limit.
pub struct QueueUnderTest {
    /// The queue, empty at the start of the case.
    pub queue: Arc<dyn Queue>,
    /// Its dead-letter queue, empty at the start of the case.
    pub dlq: Arc<dyn Queue>,
    /// Receives after which a message moves to the dead-letter queue.
    pub max_receive_count: u32,
}

const LONG: Duration = Duration::from_secs(60);
const WAIT: Duration = Duration::from_millis(300);

/// A sent message is received once with its body and count, and gone once deleted.
pub async fn send_receive_delete(t: QueueUnderTest) {
    let id = t.queue.send("hello").await.unwrap();
    let got = t.queue.receive(10, LONG, Duration::from_secs(2)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].body, "hello");
    assert_eq!(got[0].receive_count, 1);
    assert!(t.queue.receive(10, LONG, WAIT).await.unwrap().is_empty(), "in flight messages are hidden");
    t.queue.delete(&got[0].receipt).await.unwrap();
    assert_eq!(t.queue.approximate_len().await.unwrap(), 0);
}

/// A message not deleted before its visibility timeout comes back with a higher receive count.
pub async fn visibility_timeout_redelivers(t: QueueUnderTest) {
    t.queue.send("again").await.unwrap();
    let first = t.queue.receive(1, Duration::from_secs(1), Duration::from_secs(2)).await.unwrap();
    assert_eq!(first.len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let second = t.queue.receive(1, LONG, Duration::from_secs(2)).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].id, first[0].id);
    assert_eq!(second[0].receive_count, 2);
    t.queue.delete(&second[0].receipt).await.unwrap();
}

/// Visibility can be cut to zero (retry now) or extended.
pub async fn change_visibility(t: QueueUnderTest) {
    t.queue.send("v").await.unwrap();
    let got = t.queue.receive(1, LONG, Duration::from_secs(2)).await.unwrap();
    t.queue.change_visibility(&got[0].receipt, Duration::ZERO).await.unwrap();
    let again = t.queue.receive(1, Duration::from_secs(1), Duration::from_secs(2)).await.unwrap();
    assert_eq!(again.len(), 1);
    t.queue.change_visibility(&again[0].receipt, LONG).await.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(t.queue.receive(1, LONG, WAIT).await.unwrap().is_empty(), "extended visibility holds");
}

/// Batches of ten go in and come out; more than ten is refused.
pub async fn batches(t: QueueUnderTest) {
    let bodies: Vec<String> = (0..10).map(|i| format!("m{i}")).collect();
    let ids = t.queue.send_batch(&bodies).await.unwrap();
    assert_eq!(ids.len(), 10);
    let too_many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
    assert!(matches!(t.queue.send_batch(&too_many).await, Err(QueueError::BatchTooLarge(11))));
    let mut seen = Vec::new();
    for _ in 0..20 {
        if seen.len() == 10 {
            break;
        }
        for m in t.queue.receive(10, LONG, Duration::from_secs(1)).await.unwrap() {
            t.queue.delete(&m.receipt).await.unwrap();
            seen.push(m.body);
        }
    }
    seen.sort();
    let mut want = bodies.clone();
    want.sort();
    assert_eq!(seen, want);
}

/// After `max_receive_count` receives without a delete, the message moves to the dead-letter queue.
pub async fn dead_letter_after_max_receives(t: QueueUnderTest) {
    t.queue.send("poison").await.unwrap();
    for n in 1..=t.max_receive_count {
        let mut got = Vec::new();
        for _ in 0..10 {
            got = t.queue.receive(1, LONG, Duration::from_secs(1)).await.unwrap();
            if !got.is_empty() {
                break;
            }
        }
        assert_eq!(got.len(), 1, "receive {n}");
        assert_eq!(got[0].receive_count, n);
        t.queue.change_visibility(&got[0].receipt, Duration::ZERO).await.unwrap();
    }
    assert!(t.queue.receive(1, LONG, WAIT).await.unwrap().is_empty(), "moved away after the last receive");
    let dead = t.dlq.receive(1, LONG, Duration::from_secs(2)).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].body, "poison");
    t.dlq.delete(&dead[0].receipt).await.unwrap();
}

/// A batch delete removes every message whose receipt is good in one request, fails a garbled receipt alone,
/// and refuses more than ten.
pub async fn delete_batch(t: QueueUnderTest) {
    let bodies: Vec<String> = (0..3).map(|i| format!("d{i}")).collect();
    t.queue.send_batch(&bodies).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..20 {
        if got.len() == 3 {
            break;
        }
        got.extend(t.queue.receive(10, LONG, Duration::from_secs(1)).await.unwrap());
    }
    assert_eq!(got.len(), 3);
    let mut receipts: Vec<String> = got.iter().map(|m| m.receipt.clone()).collect();
    receipts.insert(1, "not-a-receipt".into());
    let results = t.queue.delete_batch(&receipts).await.unwrap();
    assert_eq!(results.len(), 4);
    assert!(results[0].is_ok() && results[2].is_ok() && results[3].is_ok(), "{results:?}");
    assert!(results[1].is_err(), "the garbled receipt fails alone: {results:?}");
    assert_eq!(t.queue.approximate_len().await.unwrap(), 0, "the three are gone");
    assert!(t.queue.delete_batch(&[]).await.unwrap().is_empty());
    let too_many: Vec<String> = (0..11).map(|i| i.to_string()).collect();
    assert!(matches!(t.queue.delete_batch(&too_many).await, Err(QueueError::BatchTooLarge(11))));
}

/// Garbage receipts are refused, not ignored.
pub async fn stale_receipts(t: QueueUnderTest) {
    assert!(t.queue.delete("not-a-receipt").await.is_err());
    assert!(t.queue.change_visibility("not-a-receipt", Duration::ZERO).await.is_err());
}

/// A delayed message stays hidden until its delay is over, then arrives like any other; a delay past the
/// 15-minute maximum is accepted (clamped), not refused.
pub async fn delayed_send(t: QueueUnderTest) {
    let id = t.queue.send_delayed("later", Duration::from_secs(2)).await.unwrap();
    assert!(t.queue.receive(10, LONG, WAIT).await.unwrap().is_empty(), "hidden during its delay");
    let mut got = Vec::new();
    for _ in 0..10 {
        got = t.queue.receive(10, LONG, Duration::from_secs(2)).await.unwrap();
        if !got.is_empty() {
            break;
        }
    }
    assert_eq!(got.len(), 1, "visible once the delay is over");
    assert_eq!(got[0].id, id);
    assert_eq!(got[0].body, "later");
    assert_eq!(got[0].receive_count, 1);
    t.queue.delete(&got[0].receipt).await.unwrap();

    t.queue.send_delayed("far", Duration::from_secs(3 * 60 * 60)).await.unwrap();
    assert!(t.queue.receive(10, LONG, WAIT).await.unwrap().is_empty(), "a clamped delay still hides the message");
}
