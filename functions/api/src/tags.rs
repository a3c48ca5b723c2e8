//! The tag registry: any signed-in staff member reads it (to pick tags); `tags.manage` registers and deletes
//! tags. Deleting a tag removes it from every conversation and customer that carries it, in pages that resume
//! (`kefu_app::tags::cleanup`).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::http::list::ListPage;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::tags::{self, NewTag, TagView};

type E = kefu_app::http::error::ErrorEnvelope;

/// The tenant's registered tags, by name (all of them: a tenant has at most 500).
#[utoipa::path(get, path = "/v1/tags", tag = "tags", security(("bearer" = [])),
    responses((status = 200, body = ListPage<TagView>), (status = 401, body = E)))]
pub async fn list(State(app): State<App>, staff: Staff) -> Result<ApiJson<ListPage<TagView>>, ApiError> {
    Ok(ApiJson(ListPage::new(tags::list(&app, &staff.tenant_id).await?, None)))
}

/// Registers a tag. Its name is unique up to case and width (409 otherwise); once a tenant has a tag, only
/// registered tags may be newly written to conversations and customers.
#[utoipa::path(post, path = "/v1/tags", tag = "tags", security(("bearer" = ["tags.manage"])), request_body = NewTag,
    responses((status = 201, body = TagView), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E), (status = 409, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<NewTag>,
) -> Result<(StatusCode, ApiJson<TagView>), ApiError> {
    let tag = tags::create(&app, &staff.tenant_id, &req, staff.audit("tag.create")).await?;
    Ok((StatusCode::CREATED, ApiJson(tag)))
}

/// Deletes a tag: it can no longer be written at once, and it is removed from every conversation and customer
/// that carries it (the first pages now, the rest within minutes).
#[utoipa::path(delete, path = "/v1/tags/{id}", tag = "tags", security(("bearer" = ["tags.manage"])),
    params(("id" = String, Path, description = "tag id")),
    responses((status = 204), (status = 401, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn delete(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    tags::delete(&app, &staff.tenant_id, &id, staff.audit("tag.delete")).await?;
    Ok(StatusCode::NO_CONTENT)
}
