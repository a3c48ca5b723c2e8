//! Agent groups (`agents.manage`): sales, support, after-sales… Conversations are routed to a group's members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::assignment::admin::{self, GroupInput, GroupView};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_domain::{GroupId, Permission};
use serde_json::json;

use crate::agents::audit_agent;

type E = kefu_app::http::error::ErrorEnvelope;

fn group_id(id: &str) -> Result<GroupId, ApiError> {
    GroupId::parse(id).ok_or_else(ApiError::not_found)
}

/// The tenant's groups.
#[utoipa::path(get, path = "/v1/groups", tag = "groups", security(("bearer" = ["agents.manage"])),
    params(("limit" = Option<u32>, Query, description = "1..=200, default 50"), ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, body = ListPage<GroupView>), (status = 403, body = E)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<GroupView>>, ApiError> {
    staff.require(Permission::AgentsManage)?;
    let (items, next) = admin::list_groups(&app, &staff.tenant_id, &params).await?;
    Ok(ApiJson(ListPage::new(items, next)))
}

/// Creates a group with its members (their `group_ids` change in the same transaction).
#[utoipa::path(post, path = "/v1/groups", tag = "groups", security(("bearer" = ["agents.manage"])), request_body = GroupInput,
    responses((status = 201, body = GroupView), (status = 400, body = E), (status = 403, body = E), (status = 409, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<GroupInput>,
) -> Result<(StatusCode, ApiJson<GroupView>), ApiError> {
    staff.require(Permission::AgentsManage)?;
    let g = admin::create_group(&app, &staff.tenant_id, req).await?;
    audit_agent(&app, &staff, &ip, "group.create", &g.id, json!({"agent_ids": g.agent_ids})).await;
    Ok((StatusCode::CREATED, ApiJson(g)))
}

/// Replaces a group: name, members and working hours.
#[utoipa::path(put, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = ["agents.manage"])), request_body = GroupInput,
    params(("id" = String, Path, description = "group id")),
    responses((status = 200, body = GroupView), (status = 400, body = E), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<GroupInput>,
) -> Result<ApiJson<GroupView>, ApiError> {
    staff.require(Permission::AgentsManage)?;
    let g = admin::update_group(&app, &staff.tenant_id, &group_id(&id)?, req).await?;
    audit_agent(&app, &staff, &ip, "group.update", &g.id, json!({"agent_ids": g.agent_ids})).await;
    Ok(ApiJson(g))
}

/// Deletes a group (not the default group); its members leave it.
#[utoipa::path(delete, path = "/v1/groups/{id}", tag = "groups", security(("bearer" = ["agents.manage"])),
    params(("id" = String, Path, description = "group id")),
    responses((status = 204), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn delete(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    staff.require(Permission::AgentsManage)?;
    let g = group_id(&id)?;
    admin::delete_group(&app, &staff.tenant_id, &g).await?;
    audit_agent(&app, &staff, &ip, "group.delete", g.as_str(), json!({})).await;
    Ok(StatusCode::NO_CONTENT)
}
