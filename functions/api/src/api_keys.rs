//! `POST|GET /v1/api_keys`, `DELETE /v1/api_keys/{id}` (`settings.manage`): keys for integrations, shown
//! once, stored hashed, with their own permissions (at most the creator's).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::identity::api_keys::{self, ApiKeyView, CreatedApiKey};
use kefu_domain::Name;
use kefu_domain::security::ApiKeyId;
use serde::Deserialize;

/// `POST /v1/api_keys` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// What the key is for, 1..=100 characters.
    pub name: String,
    /// Names from the permission catalogue; at most the creator's own.
    pub permissions: Vec<String>,
}

/// Creates a key; the answer's `key` is shown this once.
#[utoipa::path(post, path = "/v1/api_keys", tag = "api_keys", security(("bearer" = ["settings.manage"])), request_body = NewApiKey,
    responses((status = 201, body = CreatedApiKey), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<NewApiKey>,
) -> Result<(StatusCode, ApiJson<CreatedApiKey>), ApiError> {
    let name = Name::parse(&body.name, "name")?;
    let permissions = crate::roles::grantable(&staff, &body.permissions)?;
    let created = api_keys::create(&app, &staff.tenant_id, &staff, &name, &permissions).await?;
    Ok((StatusCode::CREATED, ApiJson(created)))
}

/// The tenant's keys (never the keys themselves).
#[utoipa::path(get, path = "/v1/api_keys", tag = "api_keys", security(("bearer" = ["settings.manage"])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<ApiKeyView>), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<ApiKeyView>>, ApiError> {
    Ok(ApiJson(api_keys::list(&app, &staff.tenant_id, &params).await?))
}

/// Revokes a key at once.
#[utoipa::path(delete, path = "/v1/api_keys/{id}", tag = "api_keys", security(("bearer" = ["settings.manage"])),
    params(("id" = String, Path, description = "an API key id (`ak_…`)")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn revoke(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let id = ApiKeyId::parse(&id).ok_or_else(ApiError::not_found)?;
    if !api_keys::revoke(&app, &staff, &id).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
