//! What every router gets: the 1 MiB body limit, CORS (`cors`), JSON answers for unknown routes and wrong
//! methods, request ids and request logging.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use super::ApiError;
use super::json::MAX_BODY;

async fn not_found() -> ApiError {
    ApiError::not_found()
}

/// Turns axum's plain-text refusals (wrong method, unsupported media, oversize) into API.md's JSON errors.
async fn json_refusals(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let is_json = res
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json || res.status().is_success() || res.status().is_informational() || res.status().is_redirection() {
        return res;
    }
    let mapped = match res.status() {
        StatusCode::METHOD_NOT_ALLOWED => {
            ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this path does not take that method")
        }
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(),
        StatusCode::NOT_FOUND => ApiError::not_found(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => {
            ApiError::invalid_json("the body must be JSON")
        }
        _ => return res,
    };
    mapped.into_response()
}

/// The span every request's log lines carry: method, path, request id, and (once authenticated) tenant and
/// account.
fn request_span(req: &Request) -> tracing::Span {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    tracing::info_span!(
        "request",
        method = %req.method(),
        path = %req.uri().path(),
        request_id = %request_id,
        tenant_id = tracing::field::Empty,
        agent_id = tracing::field::Empty,
    )
}

/// Finishes a function's router with the shared layers and state.
pub fn finish(router: Router<crate::App>, app: crate::App) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    router
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), super::staff::record_denials))
        .layer(middleware::from_fn(json_refusals))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(app.clone(), super::cors::enforce))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(app)
}
