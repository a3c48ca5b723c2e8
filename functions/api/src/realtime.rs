//! Real-time tickets: `POST /v1/realtime/ticket` gives a signed-in staff member (or a visitor, with its visitor
//! token) a one-time ticket for the WebSocket. The work is in [`kefu_app::realtime`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use kefu_app::App;
use kefu_app::http::{ApiError, ApiJson, ClientIp};
use kefu_app::realtime::{self, Subscriber, Ticket};
use kefu_app::{auth, widget};

fn bearer(headers: &HeaderMap) -> Option<&str> {
    let (scheme, token) = headers.get(AUTHORIZATION)?.to_str().ok()?.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// Where clients open the WebSocket: the configured URL only (`KEFU_WS_URL`, the WebSocket API's stage URL,
/// in AWS; `kefu serve` sets its own at start), never the request's `Host` header, which the client writes.
fn websocket_url(app: &App) -> Result<String, ApiError> {
    app.config.websocket_url.clone().ok_or_else(|| {
        tracing::error!("no WebSocket URL configured (KEFU_WS_URL)");
        ApiError::unavailable()
    })
}

/// Issues a one-time WebSocket ticket (valid 60 s) for the caller: a staff member, or a visitor with its
/// visitor token. Open `{url}?ticket=...` with it.
#[utoipa::path(post, path = "/v1/realtime/ticket", tag = "realtime", security(("bearer" = []), ("visitor" = [])),
    responses((status = 200, body = Ticket), (status = 401, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn ticket(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<ApiJson<Ticket>, ApiError> {
    let token = bearer(&headers).ok_or_else(ApiError::unauthenticated)?;
    let subscriber = if token.starts_with(widget::VISITOR_TOKEN_PREFIX) {
        Subscriber::of_visitor(&widget::authenticate_visitor(&app, token).await?)
    } else {
        Subscriber::of_staff(&auth::authenticate(&app, token, ip).await?)
    };
    let url = websocket_url(&app)?;
    Ok(ApiJson(realtime::issue_ticket(&app, &subscriber, url).await?))
}
