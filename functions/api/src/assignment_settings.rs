//! `GET|PUT /v1/settings/assignment` (`settings.manage`): strategy, queueing, sticky routing, the default group
//! and the tenant's working hours, the timers (reassignment, auto-away) and overflow between groups.

use axum::extract::State;
use kefu_app::App;
use kefu_app::assignment::Settings;
use kefu_app::assignment::settings::{self, SettingsInput};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};

type E = kefu_app::http::error::ErrorEnvelope;

fn view(s: &Settings) -> SettingsInput {
    SettingsInput {
        strategy: s.strategy.as_str().to_owned(),
        queue_when_full: s.queue_when_full,
        sticky_returning_customers: s.sticky_returning_customers,
        default_group_id: s.default_group_id.as_ref().map(ToString::to_string),
        schedule_id: s.schedule_id.as_ref().map(ToString::to_string),
        reassign_unanswered_seconds: s.reassign_unanswered_seconds,
        requeue_on_offline: Some(s.requeue_on_offline),
        auto_away_minutes: s.auto_away_minutes,
        overflow: Some(
            s.overflow
                .iter()
                .map(|r| settings::OverflowInput {
                    from_group_id: r.from_group_id.to_string(),
                    to_group_id: r.to_group_id.to_string(),
                    after_seconds: r.after_seconds,
                })
                .collect(),
        ),
    }
}

/// The assignment settings (defaults: least_loaded, queue when full, sticky, no default group, always open).
#[utoipa::path(get, path = "/v1/settings/assignment", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = SettingsInput), (status = 403, body = E)))]
pub async fn get(State(app): State<App>, staff: Staff) -> Result<ApiJson<SettingsInput>, ApiError> {
    Ok(ApiJson(view(&settings::get_settings(&app, &staff.tenant_id).await?)))
}

/// Replaces the assignment settings; the waiting queue drains under the new rules.
#[utoipa::path(put, path = "/v1/settings/assignment", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = SettingsInput,
    responses((status = 200, body = SettingsInput), (status = 400, body = E), (status = 403, body = E)))]
pub async fn put(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<SettingsInput>,
) -> Result<ApiJson<SettingsInput>, ApiError> {
    let entry = staff.audit("settings.update").ip(ip.0);
    let settings = settings::put_settings(&app, &staff.tenant_id, req, entry).await?;
    Ok(ApiJson(view(&settings)))
}
