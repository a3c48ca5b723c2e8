//! Exports: ask for one (`POST /v1/exports`, 202; or, when the tenant puts exports behind an approval, 202 with
//! the approval request), follow it (`GET /v1/exports/{id}`: status, rows, and once done a link that lives 15
//! minutes), and — in `kefu serve`, where the blob store cannot presign — fetch it through the signed link
//! (`GET /v1/exports/{id}/download`, no credentials: the signature is the credential).

use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_app::App;
use kefu_app::exports::{self, ExportSpec, ExportView, NewExport};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_domain::approval::SensitiveOperation;
use kefu_domain::ids::ExportId;
use serde::Deserialize;

use kefu_app::approvals;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// Asks for an export of conversations with their messages, customers or the audit log, as CSV or JSONL, within
/// `since` / `until`; personal data is masked unless the caller holds `customers.view_sensitive`. Audited
/// (`export.create`). When the tenant requires an approval, answers the pending approval request instead
/// (`{"approval_id", "status": "pending", "id"}`: the export gets that id once approved).
#[utoipa::path(post, path = "/v1/exports", tag = "exports", request_body = NewExport,
    security(("bearer" = ["exports.create"])),
    responses((status = 202, body = ExportView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<NewExport>,
) -> Result<Response, ApiError> {
    let spec = ExportSpec::parse(&req, &staff)?;
    let id = ExportId::generate();
    if approvals::required(&app, &staff.tenant_id, SensitiveOperation::CreateExport).await? {
        // The export's id is fixed now, so the requester can follow it once it is approved.
        let arguments = serde_json::to_value(&spec).map_err(|_| ApiError::internal())?;
        let pending =
            approvals::request(&app, &staff, SensitiveOperation::CreateExport, id.as_str(), arguments).await?;
        let body = serde_json::json!({"approval_id": pending.approval_id, "status": pending.status, "id": id});
        return Ok((StatusCode::ACCEPTED, ApiJson(body)).into_response());
    }
    let view =
        exports::create(&app, &staff.tenant_id, id, staff.actor_id(), spec, staff.audit("export.create"), None).await?;
    Ok((StatusCode::ACCEPTED, ApiJson(view)).into_response())
}

/// An export: its status and row count while it runs; once done, a link that lives 15 minutes.
#[utoipa::path(get, path = "/v1/exports/{id}", tag = "exports", security(("bearer" = ["exports.create"])),
    params(("id" = String, Path, description = "export id")),
    responses((status = 200, body = ExportView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<ExportView>, ApiError> {
    Ok(ApiJson(exports::view(&app, &staff.tenant_id, &id).await?))
}

/// `GET /v1/exports/{id}/download` parameters: what the link signs.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct DownloadQuery {
    /// The export's tenant.
    pub tenant_id: Option<String>,
    /// When the link expires (epoch seconds).
    pub expires: Option<String>,
    /// The signature.
    pub sig: Option<String>,
}

/// The file of a done export, through the signed link `GET /v1/exports/{id}` gave (`kefu serve`; in AWS the link
/// is an S3 presigned URL). A wrong, forged or expired link is 404.
#[utoipa::path(get, path = "/v1/exports/{id}/download", tag = "exports", params(("id" = String, Path, description = "export id"), DownloadQuery),
    responses((status = 200, description = "the export's file", body = String), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(app): State<App>,
    Path(id): Path<String>,
    q: Result<Query<DownloadQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Ok(Query(q)) = q else { return Err(ApiError::not_found()) };
    let (Some(tenant), Some(expires), Some(sig)) = (q.tenant_id, q.expires.and_then(|e| e.parse().ok()), q.sig) else {
        return Err(ApiError::not_found());
    };
    let d = exports::download(&app, &tenant, &id, expires, &sig).await?;
    let disposition = format!("attachment; filename=\"{}\"", d.file_name);
    Ok(([(header::CONTENT_TYPE, d.content_type.to_owned()), (header::CONTENT_DISPOSITION, disposition)], d.body)
        .into_response())
}
