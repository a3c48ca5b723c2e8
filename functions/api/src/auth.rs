//! Sign-in, sign-out and the caller's own account.

use axum::extract::State;
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::auth::{self, AgentView, LoginOk};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_domain::{Email, TenantId};
use serde::Deserialize;

/// `POST /v1/auth/login` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant to sign in to.
    pub tenant_id: String,
    /// Sign-in email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// Signs in; an unknown tenant or email answers exactly like a wrong password.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginOk), (status = 401, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn login(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<LoginOk>, ApiError> {
    let tenant = TenantId::parse(req.tenant_id.trim());
    let email = Email::parse(&req.email).ok();
    let (Some(tenant), Some(email)) = (tenant, email) else {
        auth::spend_verification_effort(&req.password);
        return Err(ApiError::invalid_credentials());
    };
    match auth::login(&app, &tenant, email.as_str(), &req.password, &ip.to_string()).await {
        Ok(ok) => {
            tracing::info!(tenant_id = %tenant, agent_id = %ok.agent.id, %ip, "signed in");
            Ok(ApiJson(ok))
        }
        Err(e) => {
            tracing::info!(tenant_id = %tenant, %ip, "sign-in failed");
            Err(e.into())
        }
    }
}

/// Ends the caller's session at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn logout(State(app): State<App>, staff: Staff) -> Result<StatusCode, ApiError> {
    auth::logout(&app, &staff).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = AgentView), (status = 401, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn me(State(app): State<App>, staff: Staff) -> Result<ApiJson<AgentView>, ApiError> {
    Ok(ApiJson(auth::me(&app, &staff).await?))
}
