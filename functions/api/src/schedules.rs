//! Schedules (`settings.manage`): working hours of groups and of the tenant, and agents' shifts, in an IANA
//! time zone with weekly hours, holidays and dated overrides.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::assignment::schedules::{self, ScheduleView};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_domain::ScheduleId;
use kefu_domain::schedule::ScheduleInput;
use serde::Deserialize;

type E = kefu_app::http::error::ErrorEnvelope;

/// `POST /v1/schedules` and `PUT /v1/schedules/{id}` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleBody {
    /// Display name.
    pub name: String,
    /// IANA time zone, e.g. `Asia/Shanghai`.
    pub timezone: String,
    /// `{"mon": [["09:00", "18:00"]], ...}`; a range ending at or before its start runs overnight; missing days
    /// are closed.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub weekly: std::collections::BTreeMap<String, Vec<Vec<String>>>,
    /// Dates (`YYYY-MM-DD`) closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// `[{"date", "hours"}]`: a date with its own hours instead of its weekday's.
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub overrides: Vec<kefu_domain::schedule::OverrideInput>,
}

impl From<ScheduleBody> for ScheduleInput {
    fn from(b: ScheduleBody) -> Self {
        ScheduleInput {
            name: b.name,
            timezone: b.timezone,
            weekly: b.weekly,
            holidays: b.holidays,
            overrides: b.overrides,
        }
    }
}

/// The tenant's schedules.
#[utoipa::path(get, path = "/v1/schedules", tag = "schedules", security(("bearer" = ["settings.manage"])),
    params(("limit" = Option<u32>, Query, description = "1..=200, default 50"), ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, body = ListPage<ScheduleView>), (status = 403, body = E)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<ScheduleView>>, ApiError> {
    let (items, next) = schedules::list_schedules(&app, &staff.tenant_id, &params).await?;
    Ok(ApiJson(ListPage::new(items, next)))
}

/// Creates a schedule.
#[utoipa::path(post, path = "/v1/schedules", tag = "schedules", security(("bearer" = ["settings.manage"])), request_body = ScheduleBody,
    responses((status = 201, body = ScheduleView), (status = 400, body = E), (status = 403, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<ScheduleBody>,
) -> Result<(StatusCode, ApiJson<ScheduleView>), ApiError> {
    let entry = staff.audit("settings.update").ip(ip.0);
    let view = schedules::create_schedule(&app, &staff.tenant_id, req.into(), entry).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// Replaces a schedule; if that opens working hours or a shift now, the waiting queue drains.
#[utoipa::path(put, path = "/v1/schedules/{id}", tag = "schedules", security(("bearer" = ["settings.manage"])), request_body = ScheduleBody,
    params(("id" = String, Path, description = "schedule id")),
    responses((status = 200, body = ScheduleView), (status = 400, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ScheduleBody>,
) -> Result<ApiJson<ScheduleView>, ApiError> {
    let id = ScheduleId::parse(&id).ok_or_else(ApiError::not_found)?;
    let entry = staff.audit("settings.update").ip(ip.0);
    let view = schedules::update_schedule(&app, &staff.tenant_id, &id, req.into(), entry).await?;
    Ok(ApiJson(view))
}
