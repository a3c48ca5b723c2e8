//! Retention: the tenant's period and archiving choice (`GET|PUT /v1/settings/retention`) and a run on demand
//! (`POST /v1/retention/run`, with `dry_run` to preview and `as_of` to run as of another time). All need
//! `settings.manage`; saving and running are audited.

use axum::extract::State;
use kefu_app::App;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::retention::{self, RetentionSettings, RunReport, RunRequest};

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// The tenant's retention settings (`messages_days` null: kept forever).
#[utoipa::path(get, path = "/v1/settings/retention", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = RetentionSettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get_settings(State(app): State<App>, staff: Staff) -> Result<ApiJson<RetentionSettings>, ApiError> {
    Ok(ApiJson(retention::settings(&app, &staff.tenant_id).await?))
}

/// Replaces the retention settings (`messages_days` 1..=3650 or null). Audited (`settings.update`).
#[utoipa::path(put, path = "/v1/settings/retention", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = RetentionSettings,
    responses((status = 200, body = RetentionSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn put_settings(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<RetentionSettings>,
) -> Result<ApiJson<RetentionSettings>, ApiError> {
    Ok(ApiJson(retention::put_settings(&app, &staff.tenant_id, req, staff.audit("settings.update")).await?))
}

/// Runs retention now (or as of `as_of`): archives then deletes the closed conversations past the period;
/// `dry_run` only counts them. Audited (`retention.run`) unless dry.
#[utoipa::path(post, path = "/v1/retention/run", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = RunRequest,
    responses((status = 200, body = RunReport), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn run(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<RunRequest>,
) -> Result<ApiJson<RunReport>, ApiError> {
    let as_of = retention::as_of(&req, app.now())?;
    let entry = staff.audit("retention.run");
    Ok(ApiJson(retention::run_tenant(&app, &staff.tenant_id, as_of, req.dry_run, Some(entry)).await?))
}
