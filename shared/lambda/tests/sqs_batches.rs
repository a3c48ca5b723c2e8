//! The Lambda SQS path: a batch with a good event, a duplicate, a poison message and a failing event answers
//! exactly the failures, so SQS retries only those.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, HandlerError};
use kefu_app::plumbing::events::{AgentDisabled, ConsumerName, Envelope, Event};
use kefu_app::testing::EmbeddedApp;
use kefu_ports::SystemClock;

struct FailsOnBoom;

#[async_trait]
impl Consumer for FailsOnBoom {
    fn name(&self) -> ConsumerName {
        ConsumerName::Automation
    }

    async fn handle(&self, _app: &App, event: &Envelope) -> Result<(), HandlerError> {
        // An agent disabled with requeued conversations stands for an event whose handling fails.
        match &event.event {
            Event::AgentDisabled(d) if d.requeued > 0 => Err(HandlerError::Retry("boom".into())),
            _ => Ok(()),
        }
    }
}

fn record(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.into());
    m.body = Some(body.into());
    m
}

#[tokio::test]
async fn partial_batch_failures_name_only_the_failed_records() {
    let EmbeddedApp { app, dir: _dir, .. } = EmbeddedApp::new(Arc::new(SystemClock));
    let tenant = kefu_domain::TenantId::generate();
    let disabled = |requeued| AgentDisabled { agent_id: kefu_domain::AgentId::generate(), requeued };
    let ok = Envelope::new(&tenant, jiff::Timestamp::now(), disabled(0));
    let bad = Envelope::new(&tenant, jiff::Timestamp::now(), disabled(1));
    let mut event = SqsEvent::default();
    event.records = vec![
        record("m1", &serde_json::to_string(&ok).unwrap()),
        record("m2", &serde_json::to_string(&ok).unwrap()),
        record("m3", "{this is not an event"),
        record("m4", &serde_json::to_string(&bad).unwrap()),
    ];
    let response = kefu_lambda::handle_sqs(&app, &FailsOnBoom, event).await;
    let failed: Vec<&str> = response.batch_item_failures.iter().map(|f| f.item_identifier.as_str()).collect();
    assert_eq!(failed, ["m3", "m4"], "the duplicate m2 is acknowledged; poison and failing records are retried");
    assert!(kefu_app::plumbing::idempotency::is_done(&app, "automation", &ok.id).await.unwrap());
    assert!(!kefu_app::plumbing::idempotency::is_done(&app, "automation", &bad.id).await.unwrap());
}
