//! Real-time tickets: `POST /v1/realtime/ticket` gives a signed-in staff member (or a visitor, with its visitor
//! token) a one-time ticket for the WebSocket. The work is in [`kefu_app::realtime`].
//!
//! Refusals: 429 `rate_limited` past [`realtime::TICKETS_PER_IP_PER_MINUTE`] tickets a minute from one IP (per
//! tenant; an IPv6 client also per /64, see [`realtime::limit_tickets`]) or
//! [`realtime::TICKETS_PER_TOKEN_PER_MINUTE`] for one token, and when the caller already holds as many sockets
//! as it may ([`realtime::MAX_AGENT_SOCKETS`], [`realtime::MAX_VISITOR_SOCKETS`]); 403 with the restriction's
//! code for a session that must first change its password or enrol in MFA. Each ticket issued is audited.

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::App;
use kefu_app::audit::{AuditEntry, Outcome};
use kefu_app::conversations::widget;
use kefu_app::http::{ApiError, ApiJson, ClientIp};
use kefu_app::identity::auth;
use kefu_app::realtime::{self, Subscriber, Ticket};
use serde_json::json;

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
    responses((status = 200, body = Ticket), (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 429, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn ticket(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<ApiJson<Ticket>, ApiError> {
    let token = bearer(&headers).ok_or_else(ApiError::unauthenticated)?;
    let (subscriber, entry) = if token.starts_with(widget::VISITOR_TOKEN_PREFIX) {
        let visitor = widget::authenticate_visitor(&app, token).await?;
        // A blocked visitor gets no socket (and no ticket is stored or counted).
        let active = kefu_app::blocks::active(&app, &visitor.tenant_id).await?;
        kefu_app::blocks::check(&active, &visitor.tenant_id, Some(&visitor.customer_id), ip, app.now())?;
        let entry = AuditEntry::new(&visitor.tenant_id, "realtime.ticket", Outcome::Success)
            .by(&kefu_app::audit::Actor::Visitor(visitor.customer_id.clone()))
            .target("conversation", &visitor.conversation_id)
            .detail(json!({"subscriber": "visitor"}));
        (Subscriber::of_visitor(&visitor), entry)
    } else {
        let principal = auth::authenticate(&app, token, ip).await?;
        if let Some(r) = principal.restriction {
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                r.code(),
                "this session may not open a WebSocket until its restriction is lifted",
            ));
        }
        let mut entry = AuditEntry::new(&principal.tenant_id, "realtime.ticket", Outcome::Success)
            .by(&principal.actor())
            .detail(json!({"subscriber": "agent"}));
        if let Some(session) = principal.session_id() {
            entry = entry.target("session", session);
        }
        (Subscriber::of_staff(&principal), entry)
    };
    // Per IP (and IPv6 /64) within the tenant, as API.md's other per-IP limits, then per token.
    realtime::limit_tickets(&app, &subscriber, token, ip).await?;
    if realtime::open_sockets(&app, &subscriber).await? >= subscriber.max_sockets() {
        return Err(ApiError {
            message: "too many WebSockets open for this caller: close one first".into(),
            ..ApiError::rate_limited(realtime::TICKET_TTL.as_secs())
        });
    }
    let url = websocket_url(&app)?;
    let ticket = realtime::issue_ticket(&app, &subscriber, url, entry.ip(ip)).await?;
    Ok(ApiJson(ticket))
}
