//! The WebSocket of `kefu serve`: `GET /v1/realtime/ws?ticket=...` redeems a one-time ticket, registers the
//! connection with the in-process push hub and records it in the store (so the `notify` consumer finds it the
//! same way it finds API Gateway connections in AWS), then relays pushed frames until either side closes.
//! Closing (or the server stopping) removes the record; an agent's last connection closing starts its presence
//! grace period. This is only the axum adapter: the handshake, each frame, the checks and the close are
//! `kefu_app::realtime::socket`'s, which the `realtime` function (API Gateway) uses too.
//!
//! Limits: a subscriber's socket cap holds at the handshake too (429), the server holds at most
//! `KEFU_MAX_WEBSOCKETS` sockets (503 past it), and each socket's buffers are small (clients only ping), so an
//! idle socket costs a few kilobytes. A socket whose client sends nothing (not even a ping) for
//! `KEFU_WS_IDLE_TIMEOUT_SECS` (10 minutes, as API Gateway) is closed. A socket whose session stops working is closed when a frame or a ping
//! finds it so (see `kefu_app::realtime::socket`), and at the latest at the next [`RECHECK_EVERY`].

use std::sync::Arc;

use axum::Router;
use axum::extract::rejection::QueryRejection;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Extension, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use kefu_app::App;
use kefu_app::http::ApiError;
use kefu_app::realtime::{self, TicketError, socket};
use kefu_embedded::PushHub;
use serde::Deserialize;
use tokio::sync::{mpsc, watch};

/// The most WebSockets `kefu serve` holds open by default (`KEFU_MAX_WEBSOCKETS`).
pub const DEFAULT_MAX_WEBSOCKETS: usize = 10_000;

/// How often an open socket re-checks the session behind it even when nothing is pushed to it.
pub const RECHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// The largest message a client may send (clients send pings only).
const MAX_CLIENT_MESSAGE: usize = 16 * 1024;

/// What the WebSocket route needs besides the app: the hub frames are pushed through, the server's stop
/// signal (upgraded connections outlive the HTTP server's graceful shutdown otherwise), and the cap on sockets.
#[derive(Clone)]
struct Realtime {
    hub: Arc<PushHub>,
    stop: watch::Receiver<bool>,
    max_sockets: usize,
    idle_timeout: std::time::Duration,
}

/// The WebSocket route, to merge into the server's router; at most `max_sockets` open at once, each closed
/// after `idle_timeout` without a message from its client.
pub fn routes(
    hub: Arc<PushHub>,
    stop: watch::Receiver<bool>,
    max_sockets: usize,
    idle_timeout: std::time::Duration,
) -> Router<App> {
    Router::new().route(realtime::LOCAL_WS_PATH, get(upgrade)).layer(Extension(Realtime {
        hub,
        stop,
        max_sockets,
        idle_timeout,
    }))
}

#[derive(Deserialize)]
struct TicketQuery {
    ticket: Option<String>,
}

async fn upgrade(
    State(app): State<App>,
    Extension(rt): Extension<Realtime>,
    query: Result<Query<TicketQuery>, QueryRejection>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(_) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "validation_failed", "this path takes a WebSocket upgrade")
                .into_response();
        }
    };
    let Some(ticket) = query.ok().and_then(|Query(q)| q.ticket) else {
        return ApiError::unauthenticated().into_response();
    };
    if rt.hub.len() >= rt.max_sockets {
        tracing::warn!(max = rt.max_sockets, "websocket refused: the server's socket cap is reached");
        return ApiError::unavailable().into_response();
    }
    let id = format!("ws_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
    // Registered with the hub once admitted and before the record exists, so no frame pushed to it is lost.
    let frames = match socket::on_connect(&app, &id, Some(&ticket), || rt.hub.connect(&id)).await {
        Ok((_, frames)) => frames,
        Err(refused) => {
            rt.hub.disconnect(&id);
            return match refused {
                TicketError::Invalid => ApiError::unauthenticated(),
                TicketError::TooMany => ApiError {
                    message: "too many WebSockets open for this caller: close one first".into(),
                    ..ApiError::rate_limited(realtime::TICKET_TTL.as_secs())
                },
                TicketError::Table(e) => ApiError::from(e),
            }
            .into_response();
        }
    };
    let (failed_app, failed_hub, failed_id) = (app.clone(), rt.hub.clone(), id.clone());
    ws.read_buffer_size(4 * 1024)
        .write_buffer_size(4 * 1024)
        .max_message_size(MAX_CLIENT_MESSAGE)
        .max_frame_size(MAX_CLIENT_MESSAGE)
        .on_failed_upgrade(move |e| {
            tracing::info!(connection_id = %failed_id, error = %e, "websocket upgrade failed");
            failed_hub.disconnect(&failed_id);
            tokio::spawn(async move {
                socket::on_disconnect(&failed_app, &failed_id).await;
            });
        })
        .on_upgrade(move |upgraded| session(app, rt, id, upgraded, frames))
}

/// Relays frames until the client or the server goes away, then forgets the connection.
async fn session(
    app: App,
    mut rt: Realtime,
    id: String,
    mut ws: WebSocket,
    mut frames: mpsc::UnboundedReceiver<String>,
) {
    let period = realtime::CONNECTION_REFRESH;
    let mut refresh = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut recheck = tokio::time::interval_at(tokio::time::Instant::now() + RECHECK_EVERY, RECHECK_EVERY);
    let idle = tokio::time::sleep(rt.idle_timeout);
    tokio::pin!(idle);
    loop {
        tokio::select! {
            frame = frames.recv() => match frame {
                Some(text) => if ws.send(Message::Text(text.into())).await.is_err() { break },
                None => {
                    // The hub forgot it: the server closed it (its session no longer works).
                    let _ = ws.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = ws.recv() => {
                if matches!(incoming, Some(Ok(_))) {
                    idle.as_mut().reset(tokio::time::Instant::now() + rt.idle_timeout);
                }
                match incoming {
                Some(Ok(Message::Text(t))) => {
                    if let Some(reply) = socket::on_frame(&app, &id, t.as_str()).await
                        && ws.send(Message::Text(reply.into())).await.is_err() { break }
                }
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break,
                Some(Ok(_)) => {}
                }
            }
            _ = &mut idle => {
                // Nothing from the client for too long (as API Gateway's idle timeout): it should have pinged.
                let _ = ws.send(Message::Close(None)).await;
                break;
            }
            _ = recheck.tick() => { socket::on_recheck(&app, &id).await; }
            _ = refresh.tick() => socket::on_keep_alive(&app, &id).await,
            _ = async { let _ = rt.stop.wait_for(|s| *s).await; } => {
                let _ = ws.send(Message::Close(None)).await;
                break;
            }
        }
    }
    rt.hub.disconnect(&id);
    socket::on_disconnect(&app, &id).await;
}
