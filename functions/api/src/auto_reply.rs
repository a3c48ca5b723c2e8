//! `GET|PUT /v1/settings/auto_reply` (`settings.manage`): the welcome message a new conversation gets and the
//! off-hours reply it gets when its working hours are closed.

use axum::extract::State;
use kefu_app::App;
use kefu_app::automation::auto_reply::{self, AutoReplySettings, AutoReplyUpdate};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};

/// The tenant's auto-replies (off, with no messages, until it saves some).
#[utoipa::path(get, path = "/v1/settings/auto_reply", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = AutoReplySettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get(State(app): State<App>, staff: Staff) -> Result<ApiJson<AutoReplySettings>, ApiError> {
    Ok(ApiJson(auto_reply::get(&app, &staff.tenant_id).await?))
}

/// Changes the auto-replies: the fields given replace the current ones, the others stay; a message is checked
/// like any message (400 naming the field). Audited as `settings.update`.
#[utoipa::path(put, path = "/v1/settings/auto_reply", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = AutoReplyUpdate,
    responses((status = 200, body = AutoReplySettings), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<AutoReplyUpdate>,
) -> Result<ApiJson<AutoReplySettings>, ApiError> {
    let entry = staff.audit("settings.update").ip(ip.0);
    Ok(ApiJson(auto_reply::put(&app, &staff.tenant_id, req, entry).await?))
}
