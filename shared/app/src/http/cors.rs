//! Cross-origin use (API.md, Conventions): the widget runs on tenants' own sites, the console on Kefu's own.
//!
//! - Widget endpoints (`/v1/widget/*` and `/v1/realtime/ticket` with a visitor token): a preflight answers 204
//!   with `Access-Control-Allow-Origin` echoing the `Origin`, the methods and the headers the widget sends. A
//!   real request from an origin in the tenant's `allowed_origins` (an empty list allows any) gets
//!   `Access-Control-Allow-Origin`; from another origin it is refused with 403 `origin_not_allowed` before the
//!   handler runs, so nothing is stored. The tenant is known from `X-Widget-Key` or the visitor token, which
//!   are resolved once here and handed to the handler in the request's extensions. The refusal itself carries
//!   `Access-Control-Allow-Origin` so the widget can read why it was refused (it holds no data).
//! - Every other endpoint is the console's (staff) or an integration's: no `Access-Control-*` header is ever
//!   sent, so a browser lets no other origin read an answer, and a state-changing request (not GET, HEAD or
//!   OPTIONS) whose `Origin` is not the console's own (the `Host` the request was sent to, or the
//!   `X-Forwarded-Host` a CDN in front adds) is refused with 403 `origin_not_allowed`.
//!
//! Requests without an `Origin` header (servers, curl, same-origin GETs) are not affected.

use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kefu_domain::TenantId;
use kefu_domain::widget::{Origin, origin_allowed};

use super::ApiError;
use crate::App;
use crate::conversations::widget::{self, VISITOR_TOKEN_PREFIX};

/// The methods a preflight allows.
pub const ALLOW_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// The request headers a preflight allows (what the widget sends).
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type, X-Widget-Key, Idempotency-Key";
/// How long a browser may keep a preflight's answer, in seconds.
pub const MAX_AGE_SECS: u32 = 600;

/// The tenant of a cross-origin request's `X-Widget-Key`, resolved by the CORS check and reused by the
/// handler (one lookup, not two).
#[derive(Debug, Clone)]
pub struct WidgetKeyTenant(pub TenantId);

/// Whether a path is a widget endpoint, open to the tenant's origins.
pub fn is_widget_path(path: &str) -> bool {
    path.starts_with("/v1/widget/") || path == "/v1/realtime/ticket"
}

/// 403 `origin_not_allowed`.
pub fn origin_not_allowed() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "origin_not_allowed", "requests from this web origin are not allowed")
}

fn echo(res: &mut Response, origin: &HeaderValue) {
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
    h.append(header::VARY, HeaderValue::from_static("Origin"));
}

/// The layer (installed by `http::finish`) that applies the rules above.
pub async fn enforce(State(app): State<App>, mut req: Request, next: Next) -> Response {
    let Some(origin) = req.headers().get(header::ORIGIN).cloned() else {
        return next.run(req).await;
    };
    let path = req.uri().path();
    let bearer = bearer(req.headers()).map(str::to_owned);
    let visitor_call = path.starts_with("/v1/widget/")
        || (path == "/v1/realtime/ticket" && bearer.as_deref().is_some_and(|t| t.starts_with(VISITOR_TOKEN_PREFIX)));
    if is_widget_path(path) && req.method() == Method::OPTIONS {
        return preflight(&origin);
    }
    if !visitor_call {
        return staff(req, next, &origin).await;
    }

    // Which tenant? A visitor token names it, else the widget key.
    let mut tenant = None;
    if let Some(token) = bearer.as_deref().filter(|t| t.starts_with(VISITOR_TOKEN_PREFIX)) {
        match widget::authenticate_visitor(&app, token).await {
            Ok(v) => {
                tenant = Some(v.tenant_id.clone());
                req.extensions_mut().insert(v);
            }
            Err(crate::identity::auth::AuthError::Table(e)) => {
                return with_origin(ApiError::from(e).into_response(), &origin);
            }
            Err(_) => {}
        }
    }
    if tenant.is_none()
        && let Some(key) = req.headers().get("x-widget-key").and_then(|v| v.to_str().ok()).map(str::trim)
    {
        match widget::tenant_of_widget_key(&app, key).await {
            Ok(Some(t)) => {
                tenant = Some(t.clone());
                req.extensions_mut().insert(WidgetKeyTenant(t));
            }
            Ok(None) => {}
            Err(e) => return with_origin(ApiError::from(e).into_response(), &origin),
        }
    }
    // No tenant: the handler answers 401, which the widget may read.
    let Some(tenant) = tenant else {
        return with_origin(next.run(req).await, &origin);
    };
    let settings = match crate::conversations::widget_settings::get(&app, &tenant).await {
        Ok(s) => s,
        Err(e) => return with_origin(ApiError::from(e).into_response(), &origin),
    };
    let allowed = crate::conversations::widget_settings::allowed_origins(&settings);
    if !origin_allowed(&allowed, origin.to_str().unwrap_or("")) {
        tracing::info!(tenant_id = %tenant, origin = ?origin, path = %req.uri().path(), "widget origin not allowed");
        return with_origin(origin_not_allowed().into_response(), &origin);
    }
    with_origin(next.run(req).await, &origin)
}

fn with_origin(mut res: Response, origin: &HeaderValue) -> Response {
    echo(&mut res, origin);
    res
}

/// A preflight's answer: the tenant is not known yet (a preflight carries no credentials), so it echoes the
/// origin; the real request is checked against the tenant's list.
fn preflight(origin: &HeaderValue) -> Response {
    let mut res = StatusCode::NO_CONTENT.into_response();
    echo(&mut res, origin);
    let h = res.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static(ALLOW_METHODS));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static(ALLOW_HEADERS));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from(MAX_AGE_SECS));
    res
}

/// Staff and integration endpoints: never an `Access-Control-*` header; state changes only from the
/// console's own origin.
async fn staff(req: Request, next: Next, origin: &HeaderValue) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe && !same_origin(req.headers(), origin) {
        tracing::info!(origin = ?origin, path = %req.uri().path(), "cross-origin staff request refused");
        return origin_not_allowed().into_response();
    }
    let mut res = next.run(req).await;
    for h in [
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
        header::ACCESS_CONTROL_ALLOW_METHODS,
        header::ACCESS_CONTROL_ALLOW_HEADERS,
    ] {
        res.headers_mut().remove(h);
    }
    res
}

/// Whether `origin` is the site the request was sent to: its `host[:port]` equals the `Host` header, or the
/// `X-Forwarded-Host` a CDN in front of the API sets to the host the browser used. (A page on another origin
/// cannot send `X-Forwarded-Host` itself: that custom header needs a preflight, which staff endpoints never
/// grant.)
pub fn same_origin(headers: &HeaderMap, origin: &HeaderValue) -> bool {
    let Some(origin) = origin.to_str().ok().and_then(|o| Origin::parse(o, "origin").ok()) else {
        return false;
    };
    let default_port = if origin.as_str().starts_with("https:") { ":443" } else { ":80" };
    [header::HOST.as_str(), "x-forwarded-host"].iter().filter_map(|h| headers.get(*h)?.to_str().ok()).any(|host| {
        let host = host.split(',').next().unwrap_or("").trim().to_ascii_lowercase();
        let host = host.strip_suffix(default_port).unwrap_or(&host);
        host == origin.authority()
    })
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(axum::http::HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn the_console_is_the_host_the_request_was_sent_to() {
        let o = |s: &'static str| HeaderValue::from_static(s);
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")]), &o("http://127.0.0.1:8080")));
        assert!(same_origin(&headers(&[("host", "kefu.example")]), &o("https://kefu.example")));
        assert!(same_origin(&headers(&[("host", "kefu.example:443")]), &o("https://kefu.example")));
        assert!(same_origin(
            &headers(&[("host", "abc.execute-api.example"), ("x-forwarded-host", "d1.cloudfront.net")]),
            &o("https://d1.cloudfront.net")
        ));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080")]), &o("http://127.0.0.1:9090")));
        assert!(!same_origin(&headers(&[("host", "kefu.example")]), &o("https://evil.example")));
        assert!(!same_origin(&headers(&[("host", "kefu.example")]), &o("null")));
        assert!(!same_origin(&headers(&[]), &o("https://kefu.example")));
    }

    #[test]
    fn widget_paths() {
        assert!(is_widget_path("/v1/widget/messages"));
        assert!(is_widget_path("/v1/realtime/ticket"));
        assert!(!is_widget_path("/v1/widgets"));
        assert!(!is_widget_path("/v1/settings/widget"));
    }
}
