//! `GET|POST /v1/blocks`, `DELETE /v1/blocks/{id}` (`customers.edit`): customers and IP ranges the widget
//! refuses with 403 `blocked` until the block lapses. The work is in [`kefu_app::blocks`].

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::blocks::{self, BlockView, NewBlock};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_domain::block::BlockId;

/// Blocks a customer or an IP range, with a reason and an optional expiry; audited (`block.create`).
#[utoipa::path(post, path = "/v1/blocks", tag = "blocks", security(("bearer" = ["customers.edit"])), request_body = NewBlock,
    responses((status = 201, body = BlockView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<NewBlock>,
) -> Result<(StatusCode, ApiJson<BlockView>), ApiError> {
    Ok((StatusCode::CREATED, ApiJson(blocks::create(&app, &staff, &body).await?)))
}

/// The tenant's blocks that have not lapsed, oldest first.
#[utoipa::path(get, path = "/v1/blocks", tag = "blocks", security(("bearer" = ["customers.edit"])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<BlockView>), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<BlockView>>, ApiError> {
    Ok(ApiJson(blocks::list(&app, &staff.tenant_id, &params).await?))
}

/// Lifts a block at once; audited (`block.delete`).
#[utoipa::path(delete, path = "/v1/blocks/{id}", tag = "blocks", security(("bearer" = ["customers.edit"])),
    params(("id" = String, Path, description = "a block id (`bl_…`)")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope)))]
pub async fn delete(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = BlockId::parse(&id).ok_or_else(ApiError::not_found)?;
    if !blocks::delete(&app, &staff, &id).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
