//! What integrations push about customers, with an API key (or staff) holding `customers.edit`: the customer
//! itself (`POST /v1/customers`, an upsert by `external_id`) and its purchases
//! (`GET|POST /v1/customers/{id}/purchases`, idempotent by `order_id`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::customers::purchases::{self, PurchaseBody, PurchaseView};
use kefu_app::customers::upsert::{self, NewCustomer};
use kefu_app::customers::{CustomerView, sees_sensitive};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_domain::CustomerId;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// Creates a customer (201), or answers the one its `external_id` already names (200), updated with the
/// fields sent. Changes to email and phone are audited with both values masked.
#[utoipa::path(post, path = "/v1/customers", tag = "customers", request_body = NewCustomer,
    security(("bearer" = ["customers.edit"])),
    responses((status = 201, body = CustomerView), (status = 200, body = CustomerView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<NewCustomer>,
) -> Result<(StatusCode, ApiJson<CustomerView>), ApiError> {
    let done = upsert::upsert(&app, &staff, &body).await?;
    let status = if done.created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, ApiJson(CustomerView::of(&done.item, sees_sensitive(&staff)))))
}

/// Records a purchase of the customer (201), or updates the order with this `order_id` (200).
#[utoipa::path(post, path = "/v1/customers/{id}/purchases", tag = "customers", request_body = PurchaseBody,
    params(("id" = String, Path, description = "customer id")), security(("bearer" = ["customers.edit"])),
    responses((status = 201, body = PurchaseView), (status = 200, body = PurchaseView), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn record_purchase(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PurchaseBody>,
) -> Result<(StatusCode, ApiJson<PurchaseView>), ApiError> {
    let id = CustomerId::parse(&id).ok_or_else(ApiError::not_found)?;
    let (created, view) = purchases::record(&app, &staff, &id, &body).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, ApiJson(view)))
}

/// The customer's purchases, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/purchases", tag = "customers",
    params(("id" = String, Path, description = "customer id"), ("limit" = Option<u32>, Query), ("cursor" = Option<String>, Query)),
    security(("bearer" = ["customers.edit"])),
    responses((status = 200, body = ListPage<PurchaseView>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_purchases(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<ApiJson<ListPage<PurchaseView>>, ApiError> {
    let id = CustomerId::parse(&id).ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(purchases::list(&app, &staff.tenant_id, &id, &params).await?))
}
