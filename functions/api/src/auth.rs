//! Sign-in (password, then a second factor for enrolled accounts), sign-out and the caller's own account.

use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, ClientIp, SignedIn};
use kefu_app::identity::accounts::AgentView;
use kefu_app::identity::auth::{self, LoginAnswer, LoginAttempt, LoginOk};
use kefu_app::identity::mfa;
use kefu_app::identity::secrets;
use kefu_app::plumbing::ratelimit::{self, limits};
use kefu_domain::{Email, TenantId};
use serde::{Deserialize, Serialize};

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

/// The client's `User-Agent`, kept with the session so its owner can recognise it.
pub fn user_agent(headers: &HeaderMap) -> Option<&str> {
    headers.get(USER_AGENT).and_then(|v| v.to_str().ok())
}

/// Counts a sign-in step against the per-IP limit of the tenant (30 a minute per address, and per IPv6 /64;
/// malformed tenant ids share one bucket per IP).
async fn limit_sign_in(app: &App, tenant: Option<&TenantId>, ip: std::net::IpAddr) -> Result<(), ApiError> {
    let tenant = tenant.map_or("-", TenantId::as_str);
    ratelimit::hit_ip(app, "auth.login", tenant, ip, limits::SIGN_INS_PER_IP_PER_MINUTE, limits::MINUTE).await?;
    Ok(())
}

/// Signs in. An unknown tenant or email answers exactly like a wrong password (401 `invalid_credentials`);
/// after `lockout_threshold` failures in a row the email is locked (423 `account_locked`, also for unknown
/// emails); an IP off the tenant's allowlist gets 403 `ip_not_allowed`; an account with MFA gets
/// `{"mfa_required": true, "challenge"}` to finish with `POST /v1/auth/mfa`.
#[utoipa::path(post, path = "/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = LoginAnswer), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 423, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn login(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<LoginRequest>,
) -> Result<ApiJson<LoginAnswer>, ApiError> {
    let tenant = TenantId::parse(req.tenant_id.trim());
    limit_sign_in(&app, tenant.as_ref(), ip).await?;
    let email = Email::parse(&req.email).ok();
    let (Some(tenant), Some(email)) = (tenant, email) else {
        secrets::spend_verification_effort(&req.password).await;
        return Err(ApiError::invalid_credentials());
    };
    let attempt = LoginAttempt {
        tenant: &tenant,
        email: email.as_str(),
        password: &req.password,
        ip,
        user_agent: user_agent(&headers),
    };
    match auth::login(&app, attempt).await {
        Ok(answer) => {
            tracing::info!(tenant_id = %tenant, %ip, mfa = matches!(answer, LoginAnswer::Mfa(_)), "password accepted");
            Ok(ApiJson(answer))
        }
        Err(e) => {
            tracing::info!(tenant_id = %tenant, %ip, error = %e, "sign-in failed");
            Err(e.into())
        }
    }
}

/// `POST /v1/auth/mfa` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    /// The challenge login answered with.
    pub challenge: String,
    /// A 6-digit code from the authenticator app, or the code emailed by `POST /v1/auth/mfa/email`.
    pub code: String,
}

/// Finishes a sign-in with a second factor. A TOTP code is accepted once; 5 wrong codes burn the challenge,
/// and each counts toward the account's lockout. Wrong, used or expired: 401 `mfa_invalid`.
#[utoipa::path(post, path = "/v1/auth/mfa", tag = "auth", request_body = MfaRequest,
    responses((status = 200, body = LoginOk), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 423, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn mfa(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ApiJson(req): ApiJson<MfaRequest>,
) -> Result<ApiJson<LoginOk>, ApiError> {
    limit_sign_in(&app, None, ip).await?;
    Ok(ApiJson(auth::login_mfa(&app, &req.challenge, &req.code, ip, user_agent(&headers)).await?))
}

/// `POST /v1/auth/mfa/email` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MfaEmailRequest {
    /// The challenge login answered with.
    pub challenge: String,
}

/// `POST /v1/auth/mfa/email` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaEmailSent {
    /// Always true: a code went to the account's email.
    pub sent: bool,
}

/// Emails a one-time code for a pending challenge (at most 3 per challenge; a new code replaces the last).
/// Finish with `POST /v1/auth/mfa` and that code.
#[utoipa::path(post, path = "/v1/auth/mfa/email", tag = "auth", request_body = MfaEmailRequest,
    responses((status = 202, body = MfaEmailSent), (status = 401, body = ErrorEnvelope), (status = 429, body = ErrorEnvelope)))]
pub async fn mfa_email(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    ApiJson(req): ApiJson<MfaEmailRequest>,
) -> Result<(StatusCode, ApiJson<MfaEmailSent>), ApiError> {
    limit_sign_in(&app, None, ip).await?;
    let challenge = mfa::challenge(&app, &req.challenge).await.map_err(auth::AuthError::from)?;
    let policy = kefu_app::identity::security::policy(&app, &challenge.tenant_id).await?;
    if !kefu_app::identity::security::ip_allowed(&policy, ip) {
        return Err(ApiError::ip_not_allowed());
    }
    mfa::send_email_code(&app, &challenge).await.map_err(auth::AuthError::from)?;
    Ok((StatusCode::ACCEPTED, ApiJson(MfaEmailSent { sent: true })))
}

/// Ends the caller's session at once.
#[utoipa::path(post, path = "/v1/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorEnvelope)))]
pub async fn logout(State(app): State<App>, me: SignedIn) -> Result<StatusCode, ApiError> {
    auth::logout(&app, &me).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/me`: the caller's account, with what its role allows now and what it must do first, so a
/// console shows only the screens the caller may use (and no probing of forbidden routes is needed).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MeView {
    /// The account.
    #[serde(flatten)]
    pub agent: AgentView,
    /// The permissions the caller's role grants, by name (API.md's catalogue), read fresh on this request.
    pub permissions: Vec<String>,
    /// What the session must do before it may work: `password_expired` or `mfa_enrollment_required`; null
    /// when nothing is pending.
    pub restriction: Option<String>,
}

/// The caller's account.
#[utoipa::path(get, path = "/v1/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorEnvelope)))]
pub async fn me(State(app): State<App>, me: SignedIn) -> Result<ApiJson<MeView>, ApiError> {
    let agent = auth::me(&app, &me).await?;
    Ok(ApiJson(MeView {
        agent,
        permissions: me.permissions.names().into_iter().map(str::to_owned).collect(),
        restriction: me.restriction.map(|r| r.code().to_owned()),
    }))
}
