//! `api`: the admin and agent REST API. One axum router, served by API Gateway through `lambda_http` in AWS
//! and directly by `kefu serve`.

pub mod auth;
pub mod openapi;
pub mod system;
pub mod tenants;

use axum::Router;
use axum::routing::{get, post};
use kefu_app::App;

/// The API's routes, before the shared layers (so `kefu serve` can merge them with the widget's).
pub fn routes() -> Router<App> {
    Router::new()
        .route("/v1/health", get(system::health))
        .route("/v1/openapi.json", get(openapi::document))
        .route("/v1/tenants", post(tenants::create))
        .route("/v1/auth/login", post(auth::login))
        .route("/v1/auth/logout", post(auth::logout))
        .route("/v1/me", get(auth::me))
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(), app)
}
