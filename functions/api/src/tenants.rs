//! `POST /v1/tenants`: the operator creates a tenant with its first admin, guarded by the bootstrap token.
//!
//! A refused token (missing or wrong) is recorded in the platform audit chain ([`audit::platform`]: there is
//! no tenant yet to key it by) and counted against the client's IP: after
//! [`limits::BOOTSTRAP_TRIES_PER_IP_PER_MINUTE`] refusals a minute (per address, and per IPv6 /64) the answer
//! is 429 without the token being compared. The try is counted before the comparison and given back when
//! the token is right, so a burst compares at most the limit and the operator's own calls cost nothing.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::App;
use kefu_app::audit::{self, AuditEntry, Outcome};
use kefu_app::http::{ApiError, ApiJson, ClientIp};
use kefu_app::identity::tenants::{CreateTenantError, CreatedTenant, NewTenant, create_tenant};
use kefu_app::plumbing::ratelimit::{self, limits};
use serde_json::json;
use subtle::ConstantTimeEq;

/// The rate-limit scope of bootstrap tries.
const SCOPE: &str = "tenants.bootstrap";

/// Checks `X-Bootstrap-Token` against the operator's secret in constant time, after counting the try
/// against the caller's IP; a refusal is audited.
async fn check_bootstrap(app: &App, headers: &HeaderMap, ip: std::net::IpAddr) -> Result<(), ApiError> {
    let Some(expected) = app.config.bootstrap_token.as_deref() else {
        return Err(ApiError::forbidden("tenant creation is disabled: set KEFU_BOOTSTRAP_TOKEN"));
    };
    let per_ip = limits::BOOTSTRAP_TRIES_PER_IP_PER_MINUTE;
    // Refusals beyond the limit are not audited one by one: the limit bounds what a flood writes.
    ratelimit::hit_ip(app, SCOPE, "-", ip, per_ip, limits::MINUTE).await?;
    let given = headers.get("x-bootstrap-token").and_then(|v| v.to_str().ok());
    match given {
        Some(given) if bool::from(given.as_bytes().ct_eq(expected.as_bytes())) => {
            ratelimit::refund_ip(app, SCOPE, "-", ip, limits::MINUTE).await?;
            Ok(())
        }
        Some(_) => {
            refused(app, ip, "wrong_token").await;
            Err(ApiError::forbidden("the bootstrap token is wrong"))
        }
        None => {
            refused(app, ip, "missing_token").await;
            Err(ApiError::unauthenticated())
        }
    }
}

/// Records a refused bootstrap try in the platform chain (best effort: a failure to record is logged).
async fn refused(app: &App, ip: std::net::IpAddr, reason: &str) {
    tracing::warn!(%ip, reason, "bootstrap token refused");
    let entry = AuditEntry::new(&audit::platform(), "tenant.bootstrap", Outcome::Denied)
        .ip(ip)
        .detail(json!({"reason": reason}));
    if let Err(e) = audit::record(app, entry).await {
        tracing::error!(error = %e, "audit entry not recorded");
    }
}

/// Creates a tenant, its built-in roles, its first admin and its widget key. Refused tokens are audited and
/// rate limited per IP (429).
#[utoipa::path(post, path = "/v1/tenants", tag = "tenants", request_body = NewTenant,
    params(("X-Bootstrap-Token" = String, Header, description = "the operator's secret")),
    responses((status = 201, body = CreatedTenant), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope), (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 429, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn create(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<NewTenant>,
) -> Result<(StatusCode, ApiJson<CreatedTenant>), ApiError> {
    check_bootstrap(&app, &headers, ip).await?;
    match create_tenant(&app, req).await {
        Ok(created) => {
            tracing::info!(tenant_id = %created.tenant_id, "tenant created");
            Ok((StatusCode::CREATED, ApiJson(created)))
        }
        Err(CreateTenantError::Invalid(e)) => Err(e.into()),
        Err(CreateTenantError::Table(e)) => Err(e.into()),
    }
}
