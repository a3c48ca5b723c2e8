//! `realtime`: the WebSocket API's `$connect`, `$disconnect` and `$default` routes.
//!
//! `$connect` admits a client with a one-time ticket from `POST /v1/realtime/ticket` (`?ticket=...` in the
//! query string) and records the connection (401 without a valid ticket or when the staff session behind it
//! no longer works, 429 when the subscriber already holds its most sockets; API Gateway then refuses the
//! handshake);
//! `$disconnect` removes the record (an agent's last connection starts its presence grace period); `$default`
//! answers `{"action": "ping"}` with a `{"type": "pong"}` frame through the management API and keeps the
//! record alive, after re-checking the session behind it (a socket whose session ended is closed instead). Frames themselves are pushed by the `notify` consumer. The work is in `kefu_app::realtime`,
//! which `kefu serve`'s own WebSocket uses too.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use kefu_app::App;
use kefu_app::realtime::{self, TicketError};

/// Which WebSocket route an event is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A client is connecting.
    Connect,
    /// A client went away.
    Disconnect,
    /// A client sent a frame.
    Default,
}

impl Route {
    /// The route of an API Gateway route key.
    pub fn parse(key: &str) -> Option<Self> {
        match key {
            "$connect" => Some(Route::Connect),
            "$disconnect" => Some(Route::Disconnect),
            "$default" => Some(Route::Default),
            _ => None,
        }
    }
}

/// One WebSocket event, as API Gateway hands it over.
#[derive(Debug, Clone, Default)]
pub struct WsEvent<'a> {
    /// The connection's id.
    pub connection_id: &'a str,
    /// `?ticket=` of the handshake (`$connect` only).
    pub ticket: Option<&'a str>,
    /// The frame's body (`$default` only).
    pub body: Option<&'a str>,
}

/// The route and the fields Kefu uses of an API Gateway WebSocket event.
pub fn decode(request: &ApiGatewayWebsocketProxyRequest) -> (Option<Route>, WsEvent<'_>) {
    let ctx = &request.request_context;
    let route = ctx.route_key.as_deref().and_then(Route::parse);
    let event = WsEvent {
        connection_id: ctx.connection_id.as_deref().unwrap_or_default(),
        ticket: request.query_string_parameters.first("ticket"),
        body: request.body.as_deref(),
    };
    (route, event)
}

/// Handles one WebSocket event; answers the HTTP status API Gateway should see (for `$connect`, anything but
/// 2xx refuses the handshake).
pub async fn handle(app: &App, route: Option<Route>, event: WsEvent<'_>) -> u16 {
    let id = event.connection_id;
    if id.is_empty() {
        return 400;
    }
    match route {
        Some(Route::Connect) => {
            let Some(ticket) = event.ticket else { return 401 };
            let admitted = match realtime::redeem_ticket(app, ticket).await {
                Ok(subscriber) => realtime::admit(app, &subscriber).await.map(|()| subscriber),
                Err(e) => Err(e),
            };
            match admitted {
                Ok(subscriber) => match realtime::connect(app, id, &subscriber).await {
                    Ok(()) => 200,
                    Err(e) => {
                        tracing::error!(connection_id = id, error = %e, "connection not recorded");
                        500
                    }
                },
                Err(TicketError::TooMany) => {
                    tracing::info!(connection_id = id, "websocket refused: the subscriber's socket cap is reached");
                    429
                }
                Err(TicketError::Invalid) => {
                    tracing::info!(connection_id = id, "websocket refused: no valid ticket");
                    401
                }
                Err(TicketError::Table(e)) => {
                    tracing::error!(connection_id = id, error = %e, "ticket not redeemed");
                    500
                }
            }
        }
        Some(Route::Disconnect) => match realtime::disconnect(app, id).await {
            Ok(_) => 200,
            Err(e) => {
                tracing::warn!(connection_id = id, error = %e, "connection record not removed; it expires on its own");
                500
            }
        },
        Some(Route::Default) => {
            if event.body.is_some_and(realtime::is_ping) {
                match realtime::recheck(app, id).await {
                    Ok(true) => {}
                    Ok(false) => return 200,
                    Err(e) => tracing::warn!(connection_id = id, error = %e, "session re-check failed"),
                }
                if let Err(e) = app.push.send(id, realtime::PONG).await {
                    tracing::info!(connection_id = id, error = %e, "pong not delivered");
                }
                if let Err(e) = realtime::refresh(app, id).await {
                    tracing::warn!(connection_id = id, error = %e, "connection refresh failed");
                }
            }
            200
        }
        None => 400,
    }
}
