//! Tickets: list with filters (status, assignee, group, each through an index), create (standalone, from a
//! conversation, or by an API key), read with comments, change (status moves along `open → pending → solved →
//! closed` or reopen, else 409; priority; assignee or group), comment, and a customer's tickets. Every route
//! needs `tickets.manage`; every change is audited with it.

use crate::query::{nonempty, query_params};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::conversations::AssigneeFilter;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::tickets::{
    self, CommentView, NewComment, NewTicket, TicketDetail, TicketFilter, TicketPatch, TicketView,
};
use kefu_domain::{GroupId, TicketStatus};
use serde::Deserialize;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// `GET /v1/tickets` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` | `pending` | `solved` | `closed`.
    pub status: Option<String>,
    /// `me` | `unassigned` | an agent id.
    pub assignee: Option<String>,
    /// An agent group id.
    pub group_id: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<TicketFilter, ApiError> {
        Ok(TicketFilter {
            status: nonempty(&self.status).map(|s| TicketStatus::parse(&s, "status")).transpose()?,
            assignee: nonempty(&self.assignee).map(|s| AssigneeFilter::parse(&s)).transpose()?,
            group_id: nonempty(&self.group_id)
                .map(|s| GroupId::parse(&s).ok_or_else(|| ApiError::validation("group_id", "must be a group id")))
                .transpose()?,
        })
    }
}

/// The tenant's tickets, newest first, filtered by `status`, `assignee` and `group_id`.
#[utoipa::path(get, path = "/v1/tickets", tag = "tickets", params(ListQuery),
    security(("bearer" = ["tickets.manage"])),
    responses((status = 200, body = ListPage<TicketView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<TicketView>>, ApiError> {
    let q = query_params(q)?;
    let filter = q.filter()?;
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    Ok(ApiJson(tickets::list(&app, &staff, &filter, &params).await?))
}

/// Creates a ticket: standalone, or from a conversation the caller may see (linked to it and its customer);
/// `source` is `agent`, or `api` for an API key. The assignee or group is told (`ticket.assigned`).
#[utoipa::path(post, path = "/v1/tickets", tag = "tickets", request_body = NewTicket,
    security(("bearer" = ["tickets.manage"])),
    responses((status = 201, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<NewTicket>,
) -> Result<(StatusCode, ApiJson<TicketView>), ApiError> {
    Ok((StatusCode::CREATED, ApiJson(tickets::create(&app, &staff, &body).await?)))
}

/// One ticket with its comments, oldest first.
#[utoipa::path(get, path = "/v1/tickets/{id}", tag = "tickets",
    params(("id" = String, Path, description = "ticket id")), security(("bearer" = ["tickets.manage"])),
    responses((status = 200, body = TicketDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<TicketDetail>, ApiError> {
    Ok(ApiJson(tickets::get(&app, &staff, &id).await?))
}

/// Changes a ticket: only the fields sent change. A status move off the line (`open → pending → solved →
/// closed`, reopen from `solved` or `closed`) is 409 `conflict`.
#[utoipa::path(patch, path = "/v1/tickets/{id}", tag = "tickets", request_body = TicketPatch,
    params(("id" = String, Path, description = "ticket id")), security(("bearer" = ["tickets.manage"])),
    responses((status = 200, body = TicketView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn patch(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TicketPatch>,
) -> Result<ApiJson<TicketView>, ApiError> {
    Ok(ApiJson(tickets::update(&app, &staff, &id, &body).await?))
}

/// Comments on a ticket.
#[utoipa::path(post, path = "/v1/tickets/{id}/comments", tag = "tickets", request_body = NewComment,
    params(("id" = String, Path, description = "ticket id")), security(("bearer" = ["tickets.manage"])),
    responses((status = 201, body = CommentView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn comment(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<NewComment>,
) -> Result<(StatusCode, ApiJson<CommentView>), ApiError> {
    Ok((StatusCode::CREATED, ApiJson(tickets::comment(&app, &staff, &id, &body).await?)))
}

/// A customer's tickets, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/tickets", tag = "tickets",
    params(("id" = String, Path, description = "customer id"), ("limit" = Option<String>, Query, description = "page size"),
           ("cursor" = Option<String>, Query, description = "where the previous page ended")),
    security(("bearer" = ["tickets.manage"])),
    responses((status = 200, body = ListPage<TicketView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn of_customer(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<ApiJson<ListPage<TicketView>>, ApiError> {
    Ok(ApiJson(tickets::of_customer(&app, &staff, &id, &params).await?))
}
