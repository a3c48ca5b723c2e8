//! Agent groups (`agents.manage`): sales, support, after-sales… Conversations are routed to a group's members.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::assignment::groups::{self, GroupInput, GroupView};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_app::identity::access;
use kefu_domain::GroupId;
use serde_json::json;

use crate::agents::{audit_entry, denied};

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
    let (items, next) = groups::list_groups(&app, &staff.tenant_id, &params).await?;
    Ok(ApiJson(ListPage::new(items, next)))
}

/// Creates a group with its members (their `group_ids` change in the same transaction). Membership widens what
/// an account sees and is routed, so only a caller who would see the group's conversations gives it: one
/// holding `conversations.view_all`, or `conversations.view_group` and being a member (403 otherwise).
#[utoipa::path(post, path = "/v1/groups", tag = "groups", security(("bearer" = ["agents.manage"])), request_body = GroupInput,
    responses((status = 201, body = GroupView), (status = 400, body = E), (status = 403, body = E), (status = 409, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<GroupInput>,
) -> Result<(StatusCode, ApiJson<GroupView>), ApiError> {
    access::may_fill_new_group(&staff, &req.agent_ids).map_err(denied(&staff))?;
    let g =
        groups::create_group(&app, &staff.tenant_id, req, audit_entry(&staff, &ip, "group.create", json!({}))).await?;
    Ok((StatusCode::CREATED, ApiJson(g)))
}

/// Replaces a group: name, members and working hours. New members need a caller who sees the group's
/// conversations (`conversations.view_all`, or `conversations.view_group` and membership); leaving needs nothing.
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
    let g = group_id(&id)?;
    let had = access::group_members(&app, &staff.tenant_id, &g).await?.ok_or_else(ApiError::not_found)?;
    if !access::joined(&had, &req.agent_ids).is_empty() {
        access::may_add_to_groups(&app, &staff.tenant_id, &staff, &[g.as_str()]).await.map_err(denied(&staff))?;
    }
    let entry = audit_entry(&staff, &ip, "group.update", json!({}));
    let g = groups::update_group(&app, &staff.tenant_id, &g, req, entry).await?;
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
    let g = group_id(&id)?;
    groups::delete_group(&app, &staff.tenant_id, &g, audit_entry(&staff, &ip, "group.delete", json!({}))).await?;
    Ok(StatusCode::NO_CONTENT)
}
