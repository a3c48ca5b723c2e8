//! Agents' attachments (issue 15): `POST /v1/conversations/{id}/attachments` declares a file to send in a reply
//! (`kefu_app::conversations::attachments`); the reply then names it in `attachment_ids`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::conversations::attachments::{self, UploadRequest, UploadTicket};
use kefu_app::http::{ApiError, ApiJson, Staff};

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// Declares a file for a reply in a conversation the caller may answer (its assignee, or a holder of
/// `conversations.reply` who sees it; anyone else 404 or 403 like a reply). The tenant's widget settings bound
/// it: a type outside `attachments.content_types` is 400, a size over `attachments.max_bytes` 413. The answer
/// says where to `PUT` exactly `size` bytes within 15 minutes.
#[utoipa::path(post, path = "/v1/conversations/{id}/attachments", tag = "conversations", request_body = UploadRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 201, body = UploadTicket), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
              (status = 429, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<UploadRequest>,
) -> Result<(StatusCode, ApiJson<UploadTicket>), ApiError> {
    let conversation = crate::conversations::handled(&app, &staff, &id).await?;
    let uploader = staff.agent_id.to_string();
    let ticket = attachments::create(&app, &staff.tenant_id, &conversation, &uploader, false, &req).await?;
    Ok((StatusCode::CREATED, ApiJson(ticket)))
}
