//! `api`: the admin and agent REST API. One axum router, served by API Gateway through `lambda_http` in AWS
//! and directly by `kefu serve`.

pub mod agents;
pub mod assignment_settings;
pub mod auth;
pub mod groups;
pub mod openapi;
pub mod schedules;
pub mod system;
pub mod tenants;

use axum::Router;
use axum::routing::get;
use kefu_app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API's routes, each registered together with its OpenAPI description, so the document (and the
/// route-walking tests built on it) cannot miss a route.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(tenants::create))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::get_one, agents::update))
        .routes(routes!(agents::disable))
        .routes(routes!(agents::set_my_status))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::update, groups::delete))
        .routes(routes!(schedules::list, schedules::create))
        .routes(routes!(schedules::update))
        .routes(routes!(assignment_settings::get, assignment_settings::put))
}

/// The API's routes, before the shared layers (so `kefu serve` can merge them with the widget's).
pub fn routes() -> Router<App> {
    let (router, _) = api().split_for_parts();
    router.route("/v1/openapi.json", get(openapi::document))
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(), app)
}
