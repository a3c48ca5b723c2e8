//! `realtime`: the WebSocket API's `$connect`, `$disconnect` and `$default` routes.
//!
//! `$connect` admits a client with a one-time ticket from `POST /v1/realtime/ticket` (`?ticket=...` in the
//! query string) and records the connection (401 without a valid ticket or when the staff session behind it
//! no longer works, 429 when the subscriber already holds its most sockets; API Gateway then refuses the
//! handshake);
//! `$disconnect` removes the record (an agent's last connection starts its presence grace period); `$default`
//! answers `{"action": "ping"}` with a `{"type": "pong"}` frame through the management API and keeps the
//! record alive, after re-checking the session behind it (a socket whose session ended is closed instead).
//! Frames themselves are pushed by the `notify` consumer. This is only the API Gateway adapter: the handling
//! is `kefu_app::realtime::socket`'s, which `kefu serve`'s own WebSocket uses too.

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use kefu_app::App;
use kefu_app::realtime::TicketError;
use kefu_app::realtime::socket;

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
/// 2xx refuses the handshake). The work is [`socket`]'s, shared with `kefu serve`; this only translates.
pub async fn handle(app: &App, route: Option<Route>, event: WsEvent<'_>) -> u16 {
    let id = event.connection_id;
    if id.is_empty() {
        return 400;
    }
    match route {
        Some(Route::Connect) => match socket::on_connect(app, id, event.ticket, || ()).await {
            Ok(_) => 200,
            Err(TicketError::Invalid) => 401,
            Err(TicketError::TooMany) => 429,
            Err(TicketError::Table(_)) => 500,
        },
        Some(Route::Disconnect) => {
            if socket::on_disconnect(app, id).await {
                200
            } else {
                500
            }
        }
        Some(Route::Default) => {
            if let Some(reply) = socket::on_frame(app, id, event.body.unwrap_or_default()).await
                && let Err(e) = app.push.send(id, reply).await
            {
                tracing::info!(connection_id = id, error = %e, "pong not delivered");
            }
            200
        }
        None => 400,
    }
}
