//! Webhooks (`rules.manage`): the tenant's signing secret (`GET /v1/settings/webhooks`, `POST
//! /v1/settings/webhooks/rotate`) and the delivery log (`GET /v1/webhook_deliveries?status`).

use axum::extract::{Query, State};
use kefu_app::App;
use kefu_app::automation::webhooks::{self, DeliveryView, WebhookSettings};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::ListPage;
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use serde::Deserialize;

use crate::query::{nonempty, query_params};

/// The tenant's webhook secret (made on first read): the key of `X-Kefu-Signature`'s HMAC-SHA256.
#[utoipa::path(get, path = "/v1/settings/webhooks", tag = "rules", security(("bearer" = ["rules.manage"])),
    responses((status = 200, body = WebhookSettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get_settings(State(app): State<App>, staff: Staff) -> Result<ApiJson<WebhookSettings>, ApiError> {
    Ok(ApiJson(WebhookSettings { secret: webhooks::secret(&app, &staff.tenant_id).await? }))
}

/// Makes a new secret (the old one stops signing at once). Audited as `settings.update`.
#[utoipa::path(post, path = "/v1/settings/webhooks/rotate", tag = "rules", security(("bearer" = ["rules.manage"])),
    responses((status = 200, body = WebhookSettings), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn rotate(State(app): State<App>, staff: Staff, ip: ClientIp) -> Result<ApiJson<WebhookSettings>, ApiError> {
    let entry = staff.audit("settings.update").ip(ip.0);
    Ok(ApiJson(WebhookSettings { secret: webhooks::rotate(&app, &staff.tenant_id, entry).await? }))
}

/// `GET /v1/webhook_deliveries` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DeliveriesQuery {
    /// `pending` | `succeeded` | `failed`.
    pub status: Option<String>,
}

/// The latest deliveries (at most 100, newest first), with their tries and last answer.
#[utoipa::path(get, path = "/v1/webhook_deliveries", tag = "rules", security(("bearer" = ["rules.manage"])),
    params(DeliveriesQuery),
    responses((status = 200, body = ListPage<DeliveryView>), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn deliveries(
    State(app): State<App>,
    staff: Staff,
    q: Result<Query<DeliveriesQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<DeliveryView>>, ApiError> {
    let q = query_params(q)?;
    let items = webhooks::list(&app, &staff.tenant_id, nonempty(&q.status).as_deref()).await?;
    Ok(ApiJson(ListPage::new(items, None)))
}
