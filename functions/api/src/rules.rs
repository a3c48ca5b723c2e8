//! Automation rules (`rules.manage`): list, create, replace, delete, and a dry run that changes nothing. A rule
//! is checked on save: anything unknown, a bad regular expression, or a group, agent, customer group or tag
//! that does not exist answers 400 naming the field.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::automation::dry_run::{DryRunBody, DryRunResult};
use kefu_app::automation::{self, RuleBody, RuleView};
use kefu_app::http::list::ListPage;
use kefu_app::http::{ApiError, ApiJson, Staff};
use serde_json::Value;

type E = kefu_app::http::error::ErrorEnvelope;

/// The tenant's rules in running order (all of them: a tenant has at most 200).
#[utoipa::path(get, path = "/v1/rules", tag = "rules", security(("bearer" = ["rules.manage"])),
    responses((status = 200, body = ListPage<RuleView>), (status = 401, body = E), (status = 403, body = E)))]
pub async fn list(State(app): State<App>, staff: Staff) -> Result<ApiJson<ListPage<RuleView>>, ApiError> {
    Ok(ApiJson(ListPage::new(automation::list(&app, &staff.tenant_id).await?, None)))
}

/// Saves a rule.
#[utoipa::path(post, path = "/v1/rules", tag = "rules", security(("bearer" = ["rules.manage"])), request_body = RuleBody,
    responses((status = 201, body = RuleView), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<Value>,
) -> Result<(StatusCode, ApiJson<RuleView>), ApiError> {
    let rule = automation::create(&app, &staff.tenant_id, &req, staff.audit("rule.create")).await?;
    Ok((StatusCode::CREATED, ApiJson(rule)))
}

/// Replaces a rule.
#[utoipa::path(put, path = "/v1/rules/{id}", tag = "rules", security(("bearer" = ["rules.manage"])),
    request_body = RuleBody, params(("id" = String, Path, description = "rule id")),
    responses((status = 200, body = RuleView), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E), (status = 404, body = E)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<Value>,
) -> Result<ApiJson<RuleView>, ApiError> {
    Ok(ApiJson(automation::update(&app, &staff.tenant_id, &id, &req, staff.audit("rule.update")).await?))
}

/// Deletes a rule.
#[utoipa::path(delete, path = "/v1/rules/{id}", tag = "rules", security(("bearer" = ["rules.manage"])),
    params(("id" = String, Path, description = "rule id")),
    responses((status = 204), (status = 401, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn delete(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    automation::delete(&app, &staff.tenant_id, &id, staff.audit("rule.delete")).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which rules (the saved ones, or the draft `rules`) would match an event, against a sample or a real
/// conversation. Changes nothing.
#[utoipa::path(post, path = "/v1/rules/dry_run", tag = "rules", security(("bearer" = ["rules.manage"])),
    request_body = DryRunBody,
    responses((status = 200, body = DryRunResult), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E), (status = 404, body = E)))]
pub async fn dry_run(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<DryRunBody>,
) -> Result<ApiJson<DryRunResult>, ApiError> {
    Ok(ApiJson(automation::dry_run::dry_run(&app, &staff.tenant_id, &req).await?))
}
