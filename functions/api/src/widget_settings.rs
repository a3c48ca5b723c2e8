//! `GET|PUT /v1/settings/widget` (`settings.manage`): the widget's look, language, the origins allowed to embed
//! it, the pre-chat form, the groups visitors may choose, what it offers when nobody is online, typing preview
//! and uploads.

use axum::extract::State;
use kefu_app::App;
use kefu_app::conversations::widget_settings::{self, WidgetSettings, WidgetSettingsUpdate};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_domain::TenantId;
use serde::Serialize;

/// The widget settings as the console reads them: the settings, plus the tenant's widget key, which the
/// embed snippet needs (`<script ... data-widget-key="...">`). The key is public by design (every page that
/// embeds the widget shows it), so `settings.manage` is enough to read it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct WidgetSettingsView {
    /// The settings.
    #[serde(flatten)]
    pub settings: WidgetSettings,
    /// The tenant's widget key (`X-Widget-Key`, `data-widget-key`).
    pub widget_key: String,
}

async fn view(app: &App, tenant: &TenantId, settings: WidgetSettings) -> Result<WidgetSettingsView, ApiError> {
    let item = app.table.get(&kefu_app::plumbing::keys::tenant(tenant)).await?;
    let widget_key =
        item.as_ref().and_then(|i| i.get("widget_key")).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    Ok(WidgetSettingsView { settings, widget_key })
}

/// The tenant's widget settings (the defaults until it saves some).
#[utoipa::path(get, path = "/v1/settings/widget", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = WidgetSettingsView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get(State(app): State<App>, staff: Staff) -> Result<ApiJson<WidgetSettingsView>, ApiError> {
    let settings = widget_settings::get(&app, &staff.tenant_id).await?;
    Ok(ApiJson(view(&app, &staff.tenant_id, settings).await?))
}

/// Changes the widget settings: the fields given replace the current ones, the others stay. Every field is
/// validated (errors name its path, e.g. `allowed_origins[1]`); group ids must be groups of this tenant. The
/// change is audited as `settings.update`.
#[utoipa::path(put, path = "/v1/settings/widget", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = WidgetSettingsUpdate,
    responses((status = 200, body = WidgetSettingsView), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<WidgetSettingsUpdate>,
) -> Result<ApiJson<WidgetSettingsView>, ApiError> {
    let (current, groups) = tokio::try_join!(
        widget_settings::get(&app, &staff.tenant_id),
        widget_settings::group_ids(&app, &staff.tenant_id)
    )?;
    let next = widget_settings::apply(current, req, &groups)?;
    widget_settings::save(&app, &staff.tenant_id, &next, staff.audit("settings.update").ip(ip.0)).await?;
    Ok(ApiJson(view(&app, &staff.tenant_id, next).await?))
}
