//! `GET|PUT /v1/settings/security`: the tenant's password, lockout, MFA, IP allowlist and session policy.

use axum::extract::State;
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::identity::security;
use kefu_domain::security::SecurityPolicy;
use serde::{Deserialize, Serialize};
use serde_json::json;

/// The security policy as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SecuritySettings {
    /// Shortest password accepted, 8..=128 (default 12). Passwords may be up to 1024 characters.
    pub password_min_length: u32,
    /// Days after which a password must be changed at the next sign-in, 1..=3650; null: never (default).
    pub password_max_age_days: Option<u32>,
    /// Consecutive failed sign-ins that lock an account, 3..=100 (default 5).
    pub lockout_threshold: u32,
    /// How long the lock lasts, 1..=1440 (default 15).
    pub lockout_minutes: u32,
    /// Whether every staff account must enrol in MFA before it can work (default false).
    pub mfa_required: bool,
    /// IPv4/IPv6 CIDRs staff and API keys may call from (at most 100); empty: anywhere (default).
    pub ip_allowlist: Vec<String>,
    /// How long a new session lasts, 5..=43200 (default 720).
    pub session_ttl_minutes: u32,
}

impl From<SecurityPolicy> for SecuritySettings {
    fn from(p: SecurityPolicy) -> Self {
        Self {
            password_min_length: p.password_min_length,
            password_max_age_days: p.password_max_age_days,
            lockout_threshold: p.lockout_threshold,
            lockout_minutes: p.lockout_minutes,
            mfa_required: p.mfa_required,
            ip_allowlist: p.ip_allowlist,
            session_ttl_minutes: p.session_ttl_minutes,
        }
    }
}

/// `PUT /v1/settings/security` body: the fields to change (missing ones keep their value).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SecuritySettingsUpdate {
    /// See [`SecuritySettings`].
    pub password_min_length: Option<u32>,
    /// Null turns expiry off.
    #[serde(default, deserialize_with = "present")]
    pub password_max_age_days: Option<Option<u32>>,
    /// See [`SecuritySettings`].
    pub lockout_threshold: Option<u32>,
    /// See [`SecuritySettings`].
    pub lockout_minutes: Option<u32>,
    /// See [`SecuritySettings`].
    pub mfa_required: Option<bool>,
    /// See [`SecuritySettings`].
    pub ip_allowlist: Option<Vec<String>>,
    /// See [`SecuritySettings`].
    pub session_ttl_minutes: Option<u32>,
    /// Save an allowlist that shuts out the caller's own IP anyway (otherwise 409 `conflict`).
    #[serde(default)]
    pub allow_self_lockout: bool,
}

/// Tells a field that is present and null from one that is absent.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

/// The tenant's security policy.
#[utoipa::path(get, path = "/v1/settings/security", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = SecuritySettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get(State(app): State<App>, staff: Staff) -> Result<ApiJson<SecuritySettings>, ApiError> {
    Ok(ApiJson(security::policy(&app, &staff.tenant_id).await?.into()))
}

/// Changes the tenant's security policy; it applies to the next request of everyone (allowlist, MFA) and to
/// the next password set or session opened (length, age, lifetime). An allowlist that excludes the caller's
/// own IP is refused with 409 `conflict` unless `allow_self_lockout` is true.
#[utoipa::path(put, path = "/v1/settings/security", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = SecuritySettingsUpdate,
    responses((status = 200, body = SecuritySettings), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<SecuritySettingsUpdate>,
) -> Result<ApiJson<SecuritySettings>, ApiError> {
    let current = security::policy(&app, &staff.tenant_id).await?;
    let next = SecurityPolicy {
        password_min_length: req.password_min_length.unwrap_or(current.password_min_length),
        password_max_age_days: req.password_max_age_days.unwrap_or(current.password_max_age_days),
        lockout_threshold: req.lockout_threshold.unwrap_or(current.lockout_threshold),
        lockout_minutes: req.lockout_minutes.unwrap_or(current.lockout_minutes),
        mfa_required: req.mfa_required.unwrap_or(current.mfa_required),
        ip_allowlist: req.ip_allowlist.unwrap_or_else(|| current.ip_allowlist.clone()),
        session_ttl_minutes: req.session_ttl_minutes.unwrap_or(current.session_ttl_minutes),
    }
    .validated()?;
    if !security::ip_allowed(&next, staff.ip) && !req.allow_self_lockout {
        return Err(ApiError::conflict(format!(
            "this allowlist does not include your own IP ({}): you would be shut out; send \"allow_self_lockout\": true to save it anyway",
            staff.ip
        ))
        .with_field("ip_allowlist"));
    }
    let changed: Vec<&str> = [
        ("password_min_length", current.password_min_length != next.password_min_length),
        ("password_max_age_days", current.password_max_age_days != next.password_max_age_days),
        ("lockout_threshold", current.lockout_threshold != next.lockout_threshold),
        ("lockout_minutes", current.lockout_minutes != next.lockout_minutes),
        ("mfa_required", current.mfa_required != next.mfa_required),
        ("ip_allowlist", current.ip_allowlist != next.ip_allowlist),
        ("session_ttl_minutes", current.session_ttl_minutes != next.session_ttl_minutes),
    ]
    .into_iter()
    .filter_map(|(k, c)| c.then_some(k))
    .collect();
    let entry = staff
        .audit("settings.update")
        .detail(json!({"changed": changed, "settings": SecuritySettings::from(next.clone())}));
    security::save_policy(&app, &staff.tenant_id, &next, entry).await?;
    Ok(ApiJson(next.into()))
}
