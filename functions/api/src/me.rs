//! The caller's own security: password change, sessions, TOTP enrolment. These routes take a restricted
//! session too (an expired password, a pending MFA enrolment), since they are how such a session lifts its
//! restriction; API keys are refused.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::audit::{AuditEntry, Outcome};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, SignedIn};
use kefu_app::identity::auth::{self, ChangePasswordError};
use kefu_app::identity::mfa::{self, MfaError, TotpEnrolment};
use kefu_app::identity::sessions::{self, SessionView};
use kefu_domain::security::SessionId;
use serde::{Deserialize, Serialize};

/// `POST /v1/me/password` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The password in use now.
    pub current_password: String,
    /// The new one: the tenant's minimum length (default 12) to 1024 characters, not a common password, not
    /// the email or the company's name.
    pub new_password: String,
}

/// Changes the caller's password and ends every other session of the account. A wrong current password is
/// 400 on `current_password` and counts toward the lockout.
#[utoipa::path(post, path = "/v1/me/password", tag = "me", security(("bearer" = [])), request_body = ChangePassword,
    responses((status = 204), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 423, body = ErrorEnvelope)))]
pub async fn change_password(
    State(app): State<App>,
    me: SignedIn,
    ApiJson(req): ApiJson<ChangePassword>,
) -> Result<StatusCode, ApiError> {
    match auth::change_password(&app, &me, &req.current_password, &req.new_password).await {
        Ok(()) => Ok(StatusCode::NO_CONTENT),
        Err(ChangePasswordError::Invalid(v)) => Err(v.into()),
        Err(ChangePasswordError::Auth(a)) => Err(a.into()),
    }
}

/// The caller's live sessions (`current` marks this one).
#[utoipa::path(get, path = "/v1/me/sessions", tag = "me", security(("bearer" = [])),
    params(("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    responses((status = 200, body = ListPage<SessionView>), (status = 401, body = ErrorEnvelope)))]
pub async fn list_sessions(
    State(app): State<App>,
    me: SignedIn,
    params: ListParams,
) -> Result<ApiJson<ListPage<SessionView>>, ApiError> {
    Ok(ApiJson(sessions::list(&app, &me.tenant_id, &me.agent_id, me.session_id(), &params).await?))
}

/// Ends one of the caller's sessions (this one included: that is a logout). Another account's session ids
/// answer 404.
#[utoipa::path(delete, path = "/v1/me/sessions/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "a session id (`se_…`)")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn revoke_session(
    State(app): State<App>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = SessionId::parse(&id).ok_or_else(ApiError::not_found)?;
    if !sessions::revoke(&app, &me.tenant_id, &me.agent_id, &id, me.audit("auth.session_revoke")).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Starts TOTP enrolment: a new secret for the authenticator app, active once confirmed.
#[utoipa::path(post, path = "/v1/me/mfa/totp", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = TotpEnrolment), (status = 401, body = ErrorEnvelope)))]
pub async fn enrol_totp(State(app): State<App>, me: SignedIn) -> Result<ApiJson<TotpEnrolment>, ApiError> {
    let account = auth::me(&app, &me).await?;
    Ok(ApiJson(mfa::enrol_totp(&app, &me.tenant_id, &me.agent_id, &account.email).await?))
}

/// `POST /v1/me/mfa/totp/confirm` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmTotp {
    /// The authenticator's current 6-digit code for the new secret.
    pub code: String,
}

/// `POST /v1/me/mfa/totp/confirm` answer.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MfaStatus {
    /// Whether sign-in now asks for a code.
    pub mfa_enabled: bool,
}

/// Confirms enrolment; sign-in asks for a code from then on. A wrong code is 400 on `code`.
#[utoipa::path(post, path = "/v1/me/mfa/totp/confirm", tag = "me", security(("bearer" = [])), request_body = ConfirmTotp,
    responses((status = 200, body = MfaStatus), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
pub async fn confirm_totp(
    State(app): State<App>,
    me: SignedIn,
    ApiJson(req): ApiJson<ConfirmTotp>,
) -> Result<ApiJson<MfaStatus>, ApiError> {
    match mfa::confirm_totp(&app, &me.tenant_id, &me.agent_id, &req.code, me.audit("auth.mfa_enrol")).await {
        Ok(()) => Ok(ApiJson(MfaStatus { mfa_enabled: true })),
        Err(MfaError::Invalid) => {
            let failed = AuditEntry::new(&me.tenant_id, "auth.mfa_enrol", Outcome::Failure).by(&me.actor()).ip(me.ip);
            kefu_app::audit::note(&app, failed).await;
            Err(ApiError::validation("code", "the code does not match: start again if the enrolment was replaced"))
        }
        Err(e) => Err(auth::AuthError::from(e).into()),
    }
}
