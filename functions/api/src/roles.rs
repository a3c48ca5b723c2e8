//! `GET|POST /v1/roles`, `PUT|DELETE /v1/roles/{id}` (`roles.manage`): custom roles from the permission
//! catalogue. Built-in roles are listed but fixed (409 on change or delete); a role still held is not deleted
//! (409); no one grants a permission they do not hold themselves (403).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::identity::roles::{self, RoleView};
use kefu_domain::{Name, PermissionSet, RoleId};
use serde::Deserialize;

/// A role's body (`POST /v1/roles`, `PUT /v1/roles/{id}`).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleBody {
    /// 1..=100 characters, unique in the tenant (case-insensitive), not a built-in role's name.
    pub name: String,
    /// Names from the permission catalogue.
    pub permissions: Vec<String>,
}

/// Parses a permission list from a body, refusing unknown names (400 on `permissions`) and permissions the
/// caller does not hold (403: no one hands out more than they have).
pub fn grantable(staff: &Staff, names: &[String]) -> Result<PermissionSet, ApiError> {
    let set = PermissionSet::parse(names.iter().map(String::as_str))
        .map_err(|bad| ApiError::validation("permissions", format!("`{bad}` is not in the permission catalogue")))?;
    kefu_domain::permission::may_grant(&staff.permissions, &set)
        .map_err(|r| staff.refuse(kefu_app::identity::access::refused_permission(&r), r.to_string()))?;
    Ok(set)
}

fn parse_body(staff: &Staff, body: &RoleBody) -> Result<(Name, PermissionSet), ApiError> {
    Ok((Name::parse(&body.name, "name")?, grantable(staff, &body.permissions)?))
}

/// The tenant's roles: the built-ins, then custom roles.
#[utoipa::path(get, path = "/v1/roles", tag = "roles", security(("bearer" = ["roles.manage"])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<RoleView>), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<RoleView>>, ApiError> {
    Ok(ApiJson(roles::list(&app, &staff.tenant_id, &params).await?))
}

/// Creates a custom role.
#[utoipa::path(post, path = "/v1/roles", tag = "roles", security(("bearer" = ["roles.manage"])), request_body = RoleBody,
    responses((status = 201, body = RoleView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<(StatusCode, ApiJson<RoleView>), ApiError> {
    let (name, permissions) = parse_body(&staff, &body)?;
    let role = roles::create(&app, &staff.tenant_id, &name, &permissions, staff.audit("role.update")).await?;
    Ok((StatusCode::CREATED, ApiJson(role)))
}

/// Renames a custom role and replaces its permissions; holders get them on their next request. The audit entry
/// keeps the name and permissions before (`from`) and after. A change that would leave the tenant without an
/// enabled administrator is 409.
#[utoipa::path(put, path = "/v1/roles/{id}", tag = "roles", security(("bearer" = ["roles.manage"])), request_body = RoleBody,
    params(("id" = String, Path, description = "a role id")),
    responses((status = 200, body = RoleView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<RoleBody>,
) -> Result<ApiJson<RoleView>, ApiError> {
    let id = RoleId::parse_any(&id).ok_or_else(ApiError::not_found)?;
    let (name, permissions) = parse_body(&staff, &body)?;
    let role = roles::update(&app, &staff.tenant_id, &id, &name, &permissions, staff.audit("role.update")).await?;
    Ok(ApiJson(role))
}

/// Deletes a custom role nobody holds.
#[utoipa::path(delete, path = "/v1/roles/{id}", tag = "roles", security(("bearer" = ["roles.manage"])),
    params(("id" = String, Path, description = "a role id")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn delete(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = RoleId::parse_any(&id).ok_or_else(ApiError::not_found)?;
    roles::delete(&app, &staff.tenant_id, &id, staff.audit("role.update")).await?;
    Ok(StatusCode::NO_CONTENT)
}
