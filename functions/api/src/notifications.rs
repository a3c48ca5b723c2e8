//! `GET|PUT /v1/me/notifications`: the caller's own notification preferences, and `/v1/me/devices`: the phones
//! it registers for push (any signed-in staff member, for itself only).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::ListPage;
use kefu_app::http::{ApiError, ApiJson, SignedIn};
use kefu_app::notifications::devices::{self, DeviceView, NewDevice};
use kefu_app::notifications::{self, PreferencesView};
use serde_json::Value;

/// The caller's notification preferences (the defaults until it saves some: desktop, mobile and email on,
/// SMS off, no do-not-disturb, every kind).
#[utoipa::path(get, path = "/v1/me/notifications", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = PreferencesView), (status = 401, body = ErrorEnvelope)))]
pub async fn get(State(app): State<App>, me: SignedIn) -> Result<ApiJson<PreferencesView>, ApiError> {
    let p = notifications::preferences(&app, &me.tenant_id, &me.agent_id).await?;
    Ok(ApiJson(PreferencesView::from(&p)))
}

/// Changes the caller's notification preferences: `{"desktop", "mobile", "email", "sms", "working_hours_only"
/// (bools), "dnd_until" (a time or null), "events" (kinds)}`, each optional; the fields given replace the
/// current ones. A bad or unknown field is 400 naming it, and changes nothing.
#[utoipa::path(put, path = "/v1/me/notifications", tag = "me", security(("bearer" = [])),
    request_body(content = Object, description = "The fields to change"),
    responses((status = 200, body = PreferencesView), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
pub async fn put(
    State(app): State<App>,
    me: SignedIn,
    ApiJson(body): ApiJson<Value>,
) -> Result<ApiJson<PreferencesView>, ApiError> {
    let p = notifications::update(&app, &me.tenant_id, &me.agent_id, &body).await?;
    Ok(ApiJson(PreferencesView::from(&p)))
}

/// `POST /v1/me/devices` answer.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct DeviceCreated {
    /// The phone's id (`dv_…`); the same when its token was registered already.
    pub id: String,
}

/// Registers one of the caller's phones for push notifications (at most 10; a token registered already answers
/// its id). Bad input is 400 naming the field.
#[utoipa::path(post, path = "/v1/me/devices", tag = "me", security(("bearer" = [])), request_body = NewDevice,
    responses((status = 201, body = DeviceCreated), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope)))]
pub async fn register_device(
    State(app): State<App>,
    me: SignedIn,
    ApiJson(body): ApiJson<NewDevice>,
) -> Result<(StatusCode, ApiJson<DeviceCreated>), ApiError> {
    let id = devices::register(&app, &me.tenant_id, &me.agent_id, &body).await?;
    Ok((StatusCode::CREATED, ApiJson(DeviceCreated { id: id.to_string() })))
}

/// The caller's registered phones, oldest first.
#[utoipa::path(get, path = "/v1/me/devices", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = ListPage<DeviceView>), (status = 401, body = ErrorEnvelope)))]
pub async fn list_devices(State(app): State<App>, me: SignedIn) -> Result<ApiJson<ListPage<DeviceView>>, ApiError> {
    Ok(ApiJson(ListPage::new(devices::list(&app, &me.tenant_id, &me.agent_id).await?, None)))
}

/// Forgets one of the caller's phones; another agent's ids answer 404.
#[utoipa::path(delete, path = "/v1/me/devices/{id}", tag = "me", security(("bearer" = [])),
    params(("id" = String, Path, description = "a device id (`dv_…`)")),
    responses((status = 204), (status = 401, body = ErrorEnvelope), (status = 404, body = ErrorEnvelope)))]
pub async fn delete_device(
    State(app): State<App>,
    me: SignedIn,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    if !devices::delete(&app, &me.tenant_id, &me.agent_id, &id).await? {
        return Err(ApiError::not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
