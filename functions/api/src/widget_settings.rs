//! `GET|PUT /v1/settings/widget` (`settings.manage`): the widget's look, language, the origins allowed to embed
//! it, the pre-chat form, the groups visitors may choose, what it offers when nobody is online, typing preview
//! and uploads.

use axum::extract::State;
use kefu_app::App;
use kefu_app::audit::{self, AuditEntry, Outcome};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_app::widget_settings::{self, WidgetSettings, WidgetSettingsUpdate};
use kefu_domain::Permission;

/// The tenant's widget settings (the defaults until it saves some).
#[utoipa::path(get, path = "/v1/settings/widget", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = WidgetSettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get(State(app): State<App>, staff: Staff) -> Result<ApiJson<WidgetSettings>, ApiError> {
    staff.require(Permission::SettingsManage)?;
    Ok(ApiJson(widget_settings::get(&app, &staff.tenant_id).await?))
}

/// Changes the widget settings: the fields given replace the current ones, the others stay. Every field is
/// validated (errors name its path, e.g. `allowed_origins[1]`); group ids must be groups of this tenant. The
/// change is audited as `settings.update`.
#[utoipa::path(put, path = "/v1/settings/widget", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = WidgetSettingsUpdate,
    responses((status = 200, body = WidgetSettings), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<WidgetSettingsUpdate>,
) -> Result<ApiJson<WidgetSettings>, ApiError> {
    staff.require(Permission::SettingsManage)?;
    let (current, groups) = tokio::try_join!(
        widget_settings::get(&app, &staff.tenant_id),
        widget_settings::group_ids(&app, &staff.tenant_id)
    )?;
    let next = widget_settings::apply(current, req, &groups)?;
    widget_settings::save(&app, &staff.tenant_id, &next).await?;
    let entry = AuditEntry::new(&staff.tenant_id, "settings.update", Outcome::Success)
        .actor(&staff.agent_id)
        .target("settings", "widget")
        .ip(ip.0)
        .detail(serde_json::to_value(&next).unwrap_or_default());
    if let Err(e) = audit::record(&app, entry).await {
        tracing::error!(error = %e, "audit record failed");
    }
    Ok(ApiJson(next))
}
