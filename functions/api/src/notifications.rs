//! `GET|PUT /v1/me/notifications`: the caller's own notification preferences (any signed-in staff member).

use axum::extract::State;
use kefu_app::App;
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::{ApiError, ApiJson, SignedIn};
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
