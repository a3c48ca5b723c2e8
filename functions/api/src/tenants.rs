//! `POST /v1/tenants`: the operator creates a tenant with its first admin, guarded by the bootstrap token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::App;
use kefu_app::http::{ApiError, ApiJson};
use kefu_app::tenants::{CreateTenantError, CreatedTenant, NewTenant, create_tenant};
use subtle::ConstantTimeEq;

/// Checks `X-Bootstrap-Token` against the operator's secret in constant time.
fn check_bootstrap(app: &App, headers: &HeaderMap) -> Result<(), ApiError> {
    let Some(expected) = app.config.bootstrap_token.as_deref() else {
        return Err(ApiError::forbidden("tenant creation is disabled: set KEFU_BOOTSTRAP_TOKEN"));
    };
    let given = headers.get("x-bootstrap-token").and_then(|v| v.to_str().ok()).ok_or_else(ApiError::unauthenticated)?;
    if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::forbidden("the bootstrap token is wrong"))
    }
}

/// Creates a tenant, its built-in roles, its first admin and its widget key.
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    params(("X-Bootstrap-Token" = String, Header, description = "the operator's secret")),
    responses((status = 201, body = CreatedTenant), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope), (status = 403, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn create(
    State(app): State<App>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewTenant>,
) -> Result<(StatusCode, ApiJson<CreatedTenant>), ApiError> {
    check_bootstrap(&app, &headers)?;
    match create_tenant(&app, req).await {
        Ok(created) => {
            tracing::info!(tenant_id = %created.tenant_id, "tenant created");
            Ok((StatusCode::CREATED, ApiJson(created)))
        }
        Err(CreateTenantError::Invalid(e)) => Err(e.into()),
        Err(CreateTenantError::Table(e)) => Err(e.into()),
    }
}
