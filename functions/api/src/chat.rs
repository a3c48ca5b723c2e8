//! Live chat from the agent's side: typing, read marks, recalls and rating requests
//! (`kefu_app::chat`). Each acts on a conversation the caller handles (visible, and assigned to the caller or
//! the caller holds `conversations.reply`); a recall is allowed to the message's author within two minutes, or
//! to a holder of `conversations.delete`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::chat::{self, ReadRequest, TypingRequest};
use kefu_app::http::error::ErrorEnvelope as ErrorBody;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::plumbing::events::Reader;

use crate::conversations::handled;

/// Tells the visitor the agent is typing (or stopped): a `typing` frame, nothing stored.
#[utoipa::path(post, path = "/v1/conversations/{id}/typing", tag = "conversations", request_body = TypingRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn typing(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TypingRequest>,
) -> Result<StatusCode, ApiError> {
    let c = handled(&app, &staff, &id).await?;
    chat::agent_typing(&app, &staff.tenant_id, &c, req.typing).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Marks the conversation read by the agent up to a message: `agent_read_up_to` moves forward, never back,
/// and the visitor gets a `message.read` frame.
#[utoipa::path(post, path = "/v1/conversations/{id}/read", tag = "conversations", request_body = ReadRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReadRequest>,
) -> Result<StatusCode, ApiError> {
    let c = handled(&app, &staff, &id).await?;
    chat::read(&app, &staff.tenant_id, &c, Reader::Agent, &req.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recalls a message: its author within 2 minutes, or a holder of `conversations.delete` at any time. Readers
/// then see it withdrawn (`recalled: true`, no content); holders of `audit.view` still read it with
/// `?include_recalled=true`. Audited (`message.recall`).
#[utoipa::path(delete, path = "/v1/conversations/{id}/messages/{message_id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id"),
           ("message_id" = String, Path, description = "message id")), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn recall(
    State(app): State<App>,
    staff: Staff,
    Path((id, message_id)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let c = handled(&app, &staff, &id).await?;
    chat::recall(&app, &staff, &c, &message_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Asks the visitor to rate the conversation (a `rating.requested` frame to the widget).
#[utoipa::path(post, path = "/v1/conversations/{id}/rating_request", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn rating_request(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let c = handled(&app, &staff, &id).await?;
    chat::request_rating(&app, &staff.tenant_id, &c, &staff.agent_id).await?;
    Ok(StatusCode::NO_CONTENT)
}
