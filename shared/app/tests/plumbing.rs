//! The event plumbing on the embedded store with a clock the test moves: idempotency claims and their
//! expiry, the outbox sweeper's age threshold, and retries after a failed event.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::SignedDuration;
use kefu_app::App;
use kefu_app::plumbing::consumer::{BatchItem, Consumer, HandlerError, Idempotency, process_batch};
use kefu_app::plumbing::events::{ConsumerName, ConversationCreated, Envelope};
use kefu_app::plumbing::idempotency::{self, Claim};
use kefu_app::plumbing::outbox;
use kefu_app::testing::EmbeddedApp;
use kefu_ports::{FilterPolicy, ManualClock, Queue, Topic, TopicError};

struct Fixture {
    _dir: tempfile::TempDir,
    app: App,
    clock: Arc<ManualClock>,
    queue: Arc<dyn Queue>,
}

fn fixture() -> Fixture {
    let clock = Arc::new(ManualClock::new("2026-11-25T08:00:00Z".parse().unwrap()));
    let mut e = EmbeddedApp::new(clock.clone());
    let queue = e.subscribe("all", FilterPolicy::default());
    Fixture { _dir: e.dir, app: e.app, clock, queue }
}

fn event(app: &App) -> Envelope {
    let created = ConversationCreated {
        conversation_id: kefu_domain::ConversationId::generate(),
        customer_id: kefu_domain::CustomerId::generate(),
        group_id: None,
        priority: kefu_domain::routing::Priority::Normal,
    };
    Envelope::new(&kefu_domain::TenantId::generate(), app.now(), created)
}

#[tokio::test]
async fn claims_are_exclusive_until_done_or_expired() {
    let f = fixture();
    let e = event(&f.app);
    assert_eq!(idempotency::claim(&f.app, "assign", &e.id, Duration::from_secs(180)).await.unwrap(), Claim::Acquired);
    assert_eq!(idempotency::claim(&f.app, "assign", &e.id, Duration::from_secs(180)).await.unwrap(), Claim::InProgress);
    assert_eq!(
        idempotency::claim(&f.app, "notify", &e.id, Duration::from_secs(180)).await.unwrap(),
        Claim::Acquired,
        "per consumer"
    );
    f.clock.advance(SignedDuration::from_secs(181));
    assert_eq!(
        idempotency::claim(&f.app, "assign", &e.id, Duration::from_secs(180)).await.unwrap(),
        Claim::Acquired,
        "a claim whose holder died lapses"
    );
    idempotency::complete(&f.app, "assign", &e.id).await.unwrap();
    f.clock.advance(SignedDuration::from_hours(24));
    assert_eq!(
        idempotency::claim(&f.app, "assign", &e.id, Duration::from_secs(180)).await.unwrap(),
        Claim::AlreadyDone
    );
}

struct DownTopic;

#[async_trait]
impl Topic for DownTopic {
    async fn publish(&self, _: &str, _: &str, _: &[(&str, &str)]) -> Result<(), TopicError> {
        Err(TopicError::Unavailable("down".into()))
    }
}

#[tokio::test]
async fn the_sweeper_takes_over_entries_older_than_the_threshold() {
    let f = fixture();
    let mut down = f.app.clone();
    down.topic = Arc::new(DownTopic);
    let e = event(&f.app);
    outbox::commit(&down, Vec::new(), vec![e.clone()]).await.unwrap();
    assert_eq!(outbox::pending(&f.app).await.unwrap()["pending"], 1);

    let early = outbox::sweep(&f.app, outbox::SWEEP_AFTER).await.unwrap();
    assert_eq!(early.published, 0, "a fresh entry is left to its own publisher");
    f.clock.advance(SignedDuration::from_secs(6));
    let failed = outbox::sweep(&down, outbox::SWEEP_AFTER).await.unwrap();
    assert_eq!((failed.published, failed.failed), (0, 1), "still down: the entry stays");
    let report = outbox::sweep(&f.app, outbox::SWEEP_AFTER).await.unwrap();
    assert_eq!(report.published, 1);
    assert_eq!(outbox::pending(&f.app).await.unwrap()["pending"], 0);
    let got = f.queue.receive(10, Duration::from_secs(30), Duration::from_millis(100)).await.unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(serde_json::from_str::<Envelope>(&got[0].body).unwrap(), e, "the same event, byte for byte");
}

/// A consumer whose first try fails and later ones succeed, counting its tries, with the idempotency asked for.
struct FailsFirst {
    tries: AtomicU32,
    name: ConsumerName,
    idempotency: Idempotency,
}

impl FailsFirst {
    fn new(name: ConsumerName, idempotency: Idempotency, tries: u32) -> Self {
        Self { tries: AtomicU32::new(tries), name, idempotency }
    }
}

#[async_trait]
impl Consumer for FailsFirst {
    fn name(&self) -> ConsumerName {
        self.name
    }

    fn idempotency(&self, _event: &Envelope) -> Idempotency {
        self.idempotency
    }

    async fn handle(&self, _app: &App, _event: &Envelope) -> Result<(), HandlerError> {
        if self.tries.fetch_add(1, Ordering::SeqCst) == 0 {
            Err(HandlerError::Retry("first try fails".into()))
        } else {
            Ok(())
        }
    }
}

#[tokio::test]
async fn a_failed_event_is_released_for_an_immediate_retry() {
    let f = fixture();
    let e = event(&f.app);
    let item = || vec![BatchItem { message_id: "m".into(), body: serde_json::to_string(&e).unwrap() }];
    let consumer = FailsFirst::new(ConsumerName::Assign, Idempotency::Claim, 0);
    assert_eq!(process_batch(&f.app, &consumer, item()).await, ["m"]);
    assert!(process_batch(&f.app, &consumer, item()).await.is_empty(), "the retry is not blocked by a stale claim");
    assert!(process_batch(&f.app, &consumer, item()).await.is_empty(), "and a third copy is a no-op");
    assert_eq!(consumer.tries.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unrecorded_handler_costs_no_table_work_and_runs_again_on_a_duplicate() {
    let f = fixture();
    let e = event(&f.app);
    let item = || vec![BatchItem { message_id: "m".into(), body: serde_json::to_string(&e).unwrap() }];
    let consumer = FailsFirst::new(ConsumerName::Automation, Idempotency::Repeatable, 0);
    let before = f.app.table.stats();
    assert_eq!(process_batch(&f.app, &consumer, item()).await, ["m"], "a failure is retried by the queue");
    assert!(process_batch(&f.app, &consumer, item()).await.is_empty());
    assert!(process_batch(&f.app, &consumer, item()).await.is_empty());
    let after = f.app.table.stats();
    assert_eq!((after.items_written, after.requests), (before.items_written, before.requests), "no table work");
    assert_eq!(consumer.tries.load(Ordering::SeqCst), 3, "every copy runs the handler (its effects guard themselves)");
    assert!(!idempotency::is_done(&f.app, "automation", &e.id).await.unwrap());
}

#[tokio::test]
async fn a_repeatable_handler_costs_one_write_and_still_skips_a_handled_event() {
    let f = fixture();
    let e = event(&f.app);
    let item = || vec![BatchItem { message_id: "m".into(), body: serde_json::to_string(&e).unwrap() }];
    let consumer = FailsFirst::new(ConsumerName::Notify, Idempotency::CompleteAfter, 0);
    let before = f.app.table.stats();
    assert_eq!(process_batch(&f.app, &consumer, item()).await, ["m"]);
    let failed = f.app.table.stats();
    assert_eq!(failed.items_written - before.items_written, 0, "a failed try leaves no record to release");
    assert!(!idempotency::is_done(&f.app, "notify", &e.id).await.unwrap());

    let failed = f.app.table.stats();
    assert!(process_batch(&f.app, &consumer, item()).await.is_empty(), "the retry runs the handler again");
    let done = f.app.table.stats();
    assert_eq!(done.items_written - failed.items_written, 1, "one write: the completed record");
    assert_eq!(done.requests - failed.requests, 2, "a read of the record and the write");
    assert!(idempotency::is_done(&f.app, "notify", &e.id).await.unwrap());

    assert!(process_batch(&f.app, &consumer, item()).await.is_empty(), "a later copy is acknowledged");
    assert_eq!(f.app.table.stats().items_written, done.items_written, "and writes nothing");
    assert_eq!(consumer.tries.load(Ordering::SeqCst), 2, "without running the handler again");

    // A claim-based consumer pays two writes for the same event.
    let e2 = event(&f.app);
    let before = f.app.table.stats();
    let claimed = FailsFirst::new(ConsumerName::Assign, Idempotency::Claim, 1);
    let body = serde_json::to_string(&e2).unwrap();
    assert!(process_batch(&f.app, &claimed, vec![BatchItem { message_id: "n".into(), body }]).await.is_empty());
    assert_eq!(f.app.table.stats().items_written - before.items_written, 2, "claim and completion");
}
