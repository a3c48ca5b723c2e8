//! `realtime`: the WebSocket API's `$connect`, `$disconnect` and `$default` routes.
//!
//! Connections are admitted with one-time tickets (`POST /v1/realtime/ticket`), which arrive with the
//! conversations issue. Until then every route is decoded and logged, and `$connect` is refused (401) because
//! there is no ticket that could authenticate it.

use kefu_app::App;

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

/// Handles one WebSocket event; answers the HTTP status API Gateway should see.
pub async fn handle(_app: &App, route: Option<Route>, connection_id: &str) -> u16 {
    tracing::info!(?route, connection_id, "websocket event");
    match route {
        Some(Route::Connect) => 401,
        Some(Route::Disconnect) | Some(Route::Default) => 200,
        None => 400,
    }
}
