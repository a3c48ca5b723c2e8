//! `intake`: the visitor widget's endpoints (`/v1/widget/...`), the hot path.
//!
//! Starting conversations, sending and polling arrive with the conversations issue; until then the router
//! carries the shared layers, so every widget path answers API.md's JSON 404.

use axum::Router;
use kefu_app::App;
use utoipa_axum::router::OpenApiRouter;

/// The widget routes with their OpenAPI descriptions (merged into the API's document).
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::default()
}

/// The widget routes, before the shared layers (so `kefu serve` can merge them with the API's).
pub fn routes() -> Router<App> {
    let (router, _) = api().split_for_parts();
    router
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(), app)
}
