//! Customers and customer groups: profiles (email and phone masked without `customers.view_sensitive`), search,
//! edits, a customer's conversations, and the groups whose priority routes VIPs first. Every read and change of
//! a customer is audited (`customer.read`, `customer.update`).

use crate::query::{nonempty, query_params};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::audit::{self, AuditEntry};
use kefu_app::conversations::{ConversationView, Viewer};
use kefu_app::customers::profile::{self, CustomerProfile};
use kefu_app::customers::{
    self, CustomerFilter, CustomerGroupBody, CustomerGroupView, CustomerPatch, CustomerView, sees_sensitive,
};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_domain::{CustomerGroupId, CustomerId, TagName, TagTarget};
use serde::Deserialize;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// `GET /v1/customers` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// A prefix of a name; of an email (contains `@`) or a phone number (digits) for readers with
    /// `customers.view_sensitive`.
    pub q: Option<String>,
    /// A customer group id.
    pub group_id: Option<String>,
    /// A tag name.
    pub tag: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

fn audit_entry(staff: &Staff, action: &str, target: Option<&str>, ip: std::net::IpAddr) -> AuditEntry {
    let e = staff.audit(action).ip(ip);
    match target {
        Some(id) => e.target("customer", id),
        None => e,
    }
}

/// The most customer ids one list read records in its audit entry (a page holds at most 200).
pub const LISTED_IDS_KEPT: usize = 100;

/// Customers: search by `q`, filter by `group_id` and `tag`. The audit entry (`customer.read`) names the
/// customers the page showed (at most [`LISTED_IDS_KEPT`] ids, and how many more).
#[utoipa::path(get, path = "/v1/customers", tag = "customers", params(ListQuery),
    security(("bearer" = ["customers.view"])),
    responses((status = 200, body = ListPage<CustomerView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<CustomerView>>, ApiError> {
    let q = query_params(q)?;
    let filter = CustomerFilter {
        q: nonempty(&q.q),
        group_id: nonempty(&q.group_id)
            .map(|g| CustomerGroupId::parse(&g).ok_or_else(|| ApiError::validation("group_id", "must be a group id")))
            .transpose()?,
        tag: nonempty(&q.tag).map(|t| TagName::parse(&t, "tag")).transpose()?,
    };
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let page = customers::list(&app, &staff, &filter, &params).await?;
    // Which customers the page showed (the first LISTED_IDS_KEPT ids), so a reader who pages through the
    // customer base leaves a trail naming them.
    let ids: Vec<&str> = page.items.iter().take(LISTED_IDS_KEPT).map(|c| c.id.as_str()).collect();
    let detail = serde_json::json!({
        "list": page.items.len(), "customer_ids": ids,
        "ids_omitted": page.items.len().saturating_sub(LISTED_IDS_KEPT), "query": filter.q.is_some(),
    });
    audit::record(&app, audit_entry(&staff, "customer.read", None, ip).detail(detail)).await?;
    Ok(ApiJson(page))
}

async fn load_customer(app: &App, staff: &Staff, id: &str) -> Result<(CustomerId, CustomerItem), ApiError> {
    let id = CustomerId::parse(id).ok_or_else(ApiError::not_found)?;
    let item = customers::load(app, &staff.tenant_id, &id).await?.ok_or_else(ApiError::not_found)?;
    Ok((id, item))
}

type CustomerItem = kefu_app::customers::CustomerRecord;

/// One customer, with its latest purchases, its page trail and its conversation count.
#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers",
    params(("id" = String, Path, description = "customer id")), security(("bearer" = ["customers.view"])),
    responses((status = 200, body = CustomerProfile), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<CustomerProfile>, ApiError> {
    let (cid, item) = load_customer(&app, &staff, &id).await?;
    audit::record(&app, audit_entry(&staff, "customer.read", Some(&id), ip)).await?;
    Ok(ApiJson(profile::profile(&app, &staff.tenant_id, &cid, &item, sees_sensitive(&staff)).await?))
}

/// Edits a customer: only the fields sent change; `null` clears one; `attributes` merge key by key. Once the
/// tenant has a tag registry, each tag added must be registered with a scope that allows customers (400
/// `validation_failed` on `tags[i]` otherwise); tags it already carries may stay.
#[utoipa::path(patch, path = "/v1/customers/{id}", tag = "customers", request_body = CustomerPatch,
    params(("id" = String, Path, description = "customer id")), security(("bearer" = ["customers.edit"])),
    responses((status = 200, body = CustomerView), (status = 202, body = kefu_app::approvals::Pending),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn patch(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(mut body): ApiJson<CustomerPatch>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    use kefu_app::approvals;
    use kefu_domain::SensitiveOperation;
    let cid = CustomerId::parse(&id).ok_or_else(ApiError::not_found)?;
    // A change of email or phone waits for a second person when the tenant asks for it: the whole patch is
    // stored as sent and applied once approved.
    // Tags are checked first, so a patch that waits for approval carries only registered tags (in the
    // registry's spelling); the approved run checks them again.
    if let Some(names) = &body.tags {
        let current = customers::load(&app, &staff.tenant_id, &cid).await?.ok_or_else(ApiError::not_found)?;
        let current = CustomerView::of(&current, false).tags;
        let checked =
            kefu_app::tags::prepare_write(&app, &staff.tenant_id, TagTarget::Customer, cid.as_str(), &current, names)
                .await?;
        body.tags = Some(checked.iter().map(|t| t.as_str().to_owned()).collect());
    }
    if approvals::required(&app, &staff.tenant_id, SensitiveOperation::ChangeCustomerSensitive).await? {
        let (_, current) = load_customer(&app, &staff, &id).await?;
        if !customers::sensitive::changes(&current, &body.email, &body.phone)?.is_empty() {
            let args = approvals::patch_arguments(&body);
            let pending =
                approvals::request(&app, &staff, SensitiveOperation::ChangeCustomerSensitive, cid.as_str(), args)
                    .await?;
            return Ok((StatusCode::ACCEPTED, ApiJson(pending)).into_response());
        }
    }
    let changed: Vec<&str> = [
        ("name", body.name.is_some()),
        ("email", body.email.is_some()),
        ("phone", body.phone.is_some()),
        ("group_id", body.group_id.is_some()),
        ("tags", body.tags.is_some()),
        ("attributes", body.attributes.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect();
    // Email and phone changes are logged masked, never in clear.
    let (_, current) = load_customer(&app, &staff, &id).await?;
    let sensitive = customers::sensitive::changes(&current, &body.email, &body.phone)?;
    let entry = audit_entry(&staff, "customer.update", None, ip)
        .detail(serde_json::json!({"fields": changed, "sensitive": sensitive}));
    let item = customers::update(&app, &staff.tenant_id, &cid, body, entry).await?;
    Ok(ApiJson(CustomerView::of(&item, sees_sensitive(&staff))).into_response())
}

/// The customer's conversations, newest first (only those the caller may see).
#[utoipa::path(get, path = "/v1/customers/{id}/conversations", tag = "customers",
    params(("id" = String, Path, description = "customer id"), ("limit" = Option<String>, Query, description = "page size"),
           ("cursor" = Option<String>, Query, description = "where the previous page ended")),
    security(("bearer" = ["customers.view"])),
    responses((status = 200, body = ListPage<ConversationView>), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn conversations(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    params: ListParams,
) -> Result<ApiJson<ListPage<ConversationView>>, ApiError> {
    let (cid, _) = load_customer(&app, &staff, &id).await?;
    let viewer = Viewer::of(&app, &staff).await?;
    let page =
        kefu_app::conversations::of_customer(&app, &staff.tenant_id, &cid, &params, |c| viewer.can_see(c)).await?;
    audit::record(
        &app,
        audit_entry(&staff, "customer.read", Some(&id), ip)
            .detail(serde_json::json!({"conversations": page.items.len()})),
    )
    .await?;
    Ok(ApiJson(page))
}

/// The tenant's customer groups.
#[utoipa::path(get, path = "/v1/customer_groups", tag = "customers",
    params(("limit" = Option<String>, Query, description = "page size"),
           ("cursor" = Option<String>, Query, description = "where the previous page ended")),
    security(("bearer" = ["customers.view"])),
    responses((status = 200, body = ListPage<CustomerGroupView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_groups(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<CustomerGroupView>>, ApiError> {
    Ok(ApiJson(customers::groups(&app, &staff.tenant_id, &params).await?))
}

/// Creates a customer group. Its priority routes its customers' new conversations (`high` first).
#[utoipa::path(post, path = "/v1/customer_groups", tag = "customers", request_body = CustomerGroupBody,
    security(("bearer" = ["settings.manage"])),
    responses((status = 201, body = CustomerGroupView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)))]
pub async fn create_group(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    ApiJson(body): ApiJson<CustomerGroupBody>,
) -> Result<(StatusCode, ApiJson<CustomerGroupView>), ApiError> {
    let entry = audit_entry(&staff, "customer_group.create", None, ip);
    let group = customers::create_group(&app, &staff.tenant_id, &body, entry).await?;
    Ok((StatusCode::CREATED, ApiJson(group)))
}

/// Renames a customer group or changes its priority.
#[utoipa::path(put, path = "/v1/customer_groups/{id}", tag = "customers", request_body = CustomerGroupBody,
    params(("id" = String, Path, description = "customer group id")), security(("bearer" = ["settings.manage"])),
    responses((status = 200, body = CustomerGroupView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn update_group(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<CustomerGroupBody>,
) -> Result<ApiJson<CustomerGroupView>, ApiError> {
    let entry = audit_entry(&staff, "customer_group.update", None, ip);
    let group = customers::update_group(&app, &staff.tenant_id, &id, &body, entry).await?;
    Ok(ApiJson(group))
}

/// Deletes a customer group without customers (409 while it has some).
#[utoipa::path(delete, path = "/v1/customer_groups/{id}", tag = "customers",
    params(("id" = String, Path, description = "customer group id")), security(("bearer" = ["settings.manage"])),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn delete_group(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    customers::delete_group(&app, &staff.tenant_id, &id, audit_entry(&staff, "customer_group.delete", None, ip))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
