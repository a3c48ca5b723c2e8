//! Statistics and the live board: `GET /v1/stats` (JSON or CSV, read from the counters kept as events happen)
//! and `GET /v1/live` (the queue and the agents now). Both need `stats.view`.

use crate::query::{nonempty, query_params};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use kefu_app::App;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::stats::live::{self, LiveBoard};
use kefu_app::stats::report::{self, StatsReport, StatsRequest};
use serde::Deserialize;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// `GET /v1/stats` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start, RFC 3339 (default: 7 days before `until`).
    pub since: Option<String>,
    /// End, RFC 3339, exclusive (default: now).
    pub until: Option<String>,
    /// Only this agent's counts.
    pub agent_id: Option<String>,
    /// Only this group's counts.
    pub group_id: Option<String>,
    /// `true`: durations count working hours only.
    pub business_hours: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// The tenant's statistics over the days `[since, until)` touches, in its time zone: volumes, first response
/// and resolution times (median, p90), CSAT, per agent, per group and per day; `format=csv` answers CSV.
#[utoipa::path(get, path = "/v1/stats", tag = "stats", params(StatsQuery), security(("bearer" = ["stats.view"])),
    responses((status = 200, body = StatsReport, content_type = "application/json"),
              (status = 200, description = "`format=csv`", body = String, content_type = "text/csv"),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    staff: Staff,
    q: Result<Query<StatsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query_params(q)?;
    let csv = match nonempty(&q.format).as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(_) => return Err(ApiError::validation("format", "must be json or csv")),
    };
    let req = StatsRequest::parse(
        nonempty(&q.since).as_deref(),
        nonempty(&q.until).as_deref(),
        nonempty(&q.agent_id).as_deref(),
        nonempty(&q.group_id).as_deref(),
        nonempty(&q.business_hours).as_deref(),
        app.now(),
    )?;
    let r = report::report(&app, &staff.tenant_id, &req).await?;
    if csv {
        Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], report::to_csv(&r)).into_response())
    } else {
        Ok(ApiJson(r).into_response())
    }
}

/// Now: conversations waiting by priority, the longest wait, and each enabled agent's presence, load and idle
/// time.
#[utoipa::path(get, path = "/v1/live", tag = "stats", security(("bearer" = ["stats.view"])),
    responses((status = 200, body = LiveBoard), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn live(State(app): State<App>, staff: Staff) -> Result<ApiJson<LiveBoard>, ApiError> {
    Ok(ApiJson(live::board(&app, &staff.tenant_id).await?))
}
