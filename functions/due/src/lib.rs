//! The `due` consumer: receives the due queue's timers as they fall due (SQS `DelaySeconds`) and fires them
//! (`kefu_app::timers::fire`): `conversation.unanswered` at a rule's threshold, the reassignment of a
//! conversation whose visitor waited `reassign_unanswered_seconds` for its agent, an agent idle
//! `auto_away_minutes` set away (and told by a `notification` frame on its sockets: the function pushes to the
//! WebSocket API). A timer whose wait ended does
//! nothing; one that came early (a due time past the queue's 15-minute delay) sends itself again. Failed timers
//! are reported as partial batch failures, retried, then dead-lettered (`DueDlq`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use kefu_app::App;
use kefu_app::timers::{self, DueItem};

/// Fires one SQS batch of due timers; answers the failed ones for SQS to retry.
pub async fn handle(app: &App, event: SqsEvent) -> SqsBatchResponse {
    let items: Vec<DueItem> = event
        .records
        .into_iter()
        .map(|r| DueItem { message_id: r.message_id.unwrap_or_default(), body: r.body.unwrap_or_default() })
        .collect();
    kefu_lambda::batch_response(timers::fire_batch(app, items).await)
}
