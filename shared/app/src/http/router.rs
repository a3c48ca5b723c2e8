//! What every router gets: the 1 MiB body limit, CORS (`cors`), JSON answers for unknown routes and wrong
//! methods, request ids (a client's own kept only when short and printable) and request logging.

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderName, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::LatencyUnit;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
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
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type(),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => ApiError::invalid_json("the body must be JSON"),
        _ => return res,
    };
    mapped.into_response()
}

/// The longest `X-Request-Id` kept from a client.
pub const MAX_REQUEST_ID: usize = 128;

/// Whether a client's `X-Request-Id` may be kept: 1 to [`MAX_REQUEST_ID`] visible ASCII characters (no
/// spaces or control characters, so it cannot forge log lines or bloat them).
pub fn is_fit_request_id(value: &[u8]) -> bool {
    (1..=MAX_REQUEST_ID).contains(&value.len()) && value.iter().all(|b| b.is_ascii_graphic())
}

/// Drops a client's `X-Request-Id` that is not fit to keep, so a fresh one is made in its place.
async fn drop_unfit_request_id(mut req: Request, next: Next) -> Response {
    let unfit = req.headers().get_all("x-request-id").iter().count() > 1
        || req.headers().get("x-request-id").is_some_and(|v| !is_fit_request_id(v.as_bytes()));
    if unfit {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

/// Makes a request's id: a random UUID (version 4) from the thread's generator. tower-http's own
/// `MakeRequestUuid` took its 16 bytes from a `getrandom` system call per request.
#[derive(Debug, Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        axum::http::HeaderValue::from_str(id.hyphenated().encode_lower(&mut text)).ok().map(RequestId::new)
    }
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
///
/// The layers wrap the router once, as one service, rather than each route (`Router::layer`): a request then
/// clones one stack of layers whose innermost service is the router (a reference count), where a layer on each
/// route cloned the route's boxed service at every `from_fn` layer. None of these layers reads the matched
/// route, which only the routes' own layer (`staff::authorize`) reads.
pub fn finish(router: Router<crate::App>, app: crate::App) -> Router {
    let request_id = HeaderName::from_static("x-request-id");
    let routes = router.fallback(not_found).with_state(app.clone());
    let layered = ServiceBuilder::new()
        .layer(middleware::from_fn(drop_unfit_request_id))
        .layer(SetRequestIdLayer::new(request_id.clone(), RandomRequestId))
        .layer(PropagateRequestIdLayer::new(request_id))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros)),
        )
        .layer(middleware::from_fn_with_state(app.clone(), super::cors::enforce))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(json_refusals))
        .layer(middleware::from_fn_with_state(app, super::staff::record_denials))
        .service(routes);
    Router::new().fallback_service(layered)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn request_ids_are_distinct_random_uuids() {
        let req = axum::http::Request::new(());
        let mut make = RandomRequestId;
        let ids: HashSet<String> =
            (0..200).map(|_| make.make_request_id(&req).unwrap().header_value().to_str().unwrap().to_owned()).collect();
        assert_eq!(ids.len(), 200);
        for id in &ids {
            let parsed = uuid::Uuid::parse_str(id).unwrap();
            assert_eq!((id.len(), parsed.get_version_num(), parsed.get_variant()), (36, 4, uuid::Variant::RFC4122));
            assert_eq!(id, &id.to_ascii_lowercase());
        }
    }
}
