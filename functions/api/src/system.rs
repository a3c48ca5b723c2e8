//! Liveness.

use kefu_app::http::ApiJson;
use serde::Serialize;

/// `GET /v1/health` answer.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok` when the function answers.
    pub status: &'static str,
}

/// Answers 200 without authentication.
#[utoipa::path(get, path = "/v1/health", tag = "system", responses((status = 200, body = Health)))]
pub async fn health() -> ApiJson<Health> {
    ApiJson(Health { status: "ok" })
}
