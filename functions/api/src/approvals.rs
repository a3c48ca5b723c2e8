//! `GET|PUT /v1/settings/approvals` (`settings.manage`): which operations wait for a second person;
//! `GET /v1/approvals?status=`, `POST /v1/approvals/{id}/approve|reject` (`approvals.review`). The work is in
//! [`kefu_app::approvals`].

use axum::extract::{Path, Query, State};
use kefu_app::App;
use kefu_app::approvals::{self, ApprovalView};
use kefu_app::http::error::ErrorEnvelope;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_domain::{ApprovalStatus, Decision};
use serde::Deserialize;
use serde_json::{Map, Value};

/// The tenant's approval settings: every operation with its flag (`conversation.delete`,
/// `customer.update_sensitive`, `export.create` — the last applies once exports exist), and
/// `expires_after_hours` (default 72).
#[utoipa::path(get, path = "/v1/settings/approvals", tag = "settings", security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = Object), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn get_settings(State(app): State<App>, staff: Staff) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(approvals::settings(&app, &staff.tenant_id).await?.to_json()))
}

/// Replaces the approval settings (an absent operation needs no approval, an absent expiry is 72 hours);
/// audited (`settings.update`).
#[utoipa::path(put, path = "/v1/settings/approvals", tag = "settings", security(("bearer" = ["settings.manage"])),
    request_body = Object,
    responses((status = 200, body = Object), (status = 400, body = ErrorEnvelope), (status = 401, body = ErrorEnvelope),
              (status = 403, body = ErrorEnvelope)))]
pub async fn put_settings(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<Map<String, Value>>,
) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(approvals::put_settings(&app, &staff, &body).await?.to_json()))
}

/// `GET /v1/approvals` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `pending` (default) | `approved` | `rejected` | `expired`.
    pub status: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// The tenant's approval requests in one status, oldest first (a pending one past its expiry shows `expired`).
#[utoipa::path(get, path = "/v1/approvals", tag = "approvals", params(ListQuery),
    security(("bearer" = ["approvals.review"])),
    responses((status = 200, body = ListPage<ApprovalView>), (status = 400, body = ErrorEnvelope),
              (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<ApprovalView>>, ApiError> {
    let q = q.map(|Query(q)| q).map_err(|_| ApiError::validation("query", "the query string is malformed"))?;
    let status = match q.status.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(s) => ApprovalStatus::parse(s, "status")?,
        None => ApprovalStatus::Pending,
    };
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    Ok(ApiJson(approvals::list(&app, &staff.tenant_id, status, &params).await?))
}

/// Approves a pending request: it moves to `approved` and its operation runs, once. The requester may not
/// (403); a request already decided or expired is 409. Audited (`approval.decide`, and the operation's entry).
#[utoipa::path(post, path = "/v1/approvals/{id}/approve", tag = "approvals", security(("bearer" = ["approvals.review"])),
    params(("id" = String, Path, description = "an approval id (`ap_…`)")),
    responses((status = 200, body = ApprovalView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn approve(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<ApprovalView>, ApiError> {
    Ok(ApiJson(approvals::decide(&app, &staff, &id, Decision::Approve).await?))
}

/// Rejects a pending request: nothing changes. The requester may not (403); a request already decided or
/// expired is 409. Audited (`approval.decide`).
#[utoipa::path(post, path = "/v1/approvals/{id}/reject", tag = "approvals", security(("bearer" = ["approvals.review"])),
    params(("id" = String, Path, description = "an approval id (`ap_…`)")),
    responses((status = 200, body = ApprovalView), (status = 401, body = ErrorEnvelope), (status = 403, body = ErrorEnvelope),
              (status = 404, body = ErrorEnvelope), (status = 409, body = ErrorEnvelope)))]
pub async fn reject(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<ApprovalView>, ApiError> {
    Ok(ApiJson(approvals::decide(&app, &staff, &id, Decision::Reject).await?))
}
