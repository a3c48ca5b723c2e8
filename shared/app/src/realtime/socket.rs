//! One WebSocket connection's life, whatever carries it: the handshake, each frame from the client, the
//! periodic checks and the close. Two adapters only move bytes: the `realtime` function (API Gateway's
//! `$connect`, `$default` and `$disconnect` routes; frames pushed through the management API) and
//! `kefu serve`'s axum WebSocket (frames pushed through the in-process hub). So a refusal, a ping, a session
//! that stopped working and a close behave the same in AWS and locally.
//!
//! What stays in each adapter is what only its transport has: `kefu serve`'s cap on sockets per server, its
//! buffers and idle timeout (API Gateway has its own), and how a refusal is written (a status code for API
//! Gateway, API.md's JSON error for `kefu serve`).

use super::{PONG, Subscriber, TicketError};
use crate::App;

/// The handshake of connection `connection_id` with `?ticket=` (if any): redeems the one-time ticket, holds
/// the subscriber's socket cap and records the connection; `ready` runs once the subscriber is admitted, just
/// before the record is written (a transport that delivers frames in-process registers the connection there,
/// so no frame pushed once the record exists is lost; API Gateway's `$connect` has nothing to do). Refused
/// with `Invalid` (401) without a valid ticket or when the staff session behind it no longer works,
/// `TooMany` (429) past the cap, `Table` when the store failed (after `ready` too: undo it then).
pub async fn on_connect<R>(
    app: &App,
    connection_id: &str,
    ticket: Option<&str>,
    ready: impl FnOnce() -> R,
) -> Result<(Subscriber, R), TicketError> {
    let admitted = async {
        let subscriber = super::redeem_ticket(app, ticket.ok_or(TicketError::Invalid)?).await?;
        super::admit(app, &subscriber).await?;
        let registered = ready();
        super::connect(app, connection_id, &subscriber).await?;
        Ok((subscriber, registered))
    }
    .await;
    match &admitted {
        Ok(_) => {}
        Err(TicketError::TooMany) => {
            tracing::info!(connection_id, "websocket refused: the subscriber's socket cap is reached");
        }
        Err(TicketError::Invalid) => tracing::info!(connection_id, "websocket refused: no valid ticket"),
        Err(TicketError::Table(e)) => tracing::error!(connection_id, error = %e, "connection not admitted"),
    }
    admitted
}

/// A text frame from the client: answers the frame to send back, if any. A ping (`{"action": "ping"}`)
/// re-checks the session behind the connection (one that no longer works is closed instead, and gets no
/// answer), extends the connection's record and is answered [`PONG`]; anything else is ignored.
pub async fn on_frame(app: &App, connection_id: &str, text: &str) -> Option<&'static str> {
    if !super::is_ping(text) || !checked(app, connection_id, true).await {
        return None;
    }
    on_keep_alive(app, connection_id).await;
    Some(PONG)
}

/// Re-checks the session behind a connection (closing it through the push port when it no longer works);
/// answers whether it stays open. A failed re-check keeps it open until the next one. Called on each ping and,
/// by a transport that holds its sockets itself, periodically.
pub async fn on_recheck(app: &App, connection_id: &str) -> bool {
    checked(app, connection_id, false).await
}

/// [`on_recheck`]; with `activity` (a client's frame), an agent's activity is recorded too.
async fn checked(app: &App, connection_id: &str, activity: bool) -> bool {
    match super::recheck(app, connection_id, activity).await {
        Ok(open) => open,
        Err(e) => {
            tracing::warn!(connection_id, error = %e, "session re-check failed");
            true
        }
    }
}

/// Extends a live connection's record so it does not expire while the socket is open (on each ping and, by a
/// transport that holds its sockets itself, every [`super::CONNECTION_REFRESH`]).
pub async fn on_keep_alive(app: &App, connection_id: &str) {
    if let Err(e) = super::refresh(app, connection_id).await {
        tracing::warn!(connection_id, error = %e, "connection refresh failed");
    }
}

/// The connection went away (either side closed it): forgets its record; an agent's last connection starts
/// its presence grace period. Answers false when the record could not be removed (it expires on its own).
pub async fn on_disconnect(app: &App, connection_id: &str) -> bool {
    match super::disconnect(app, connection_id).await {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(connection_id, error = %e, "connection record not removed; it expires on its own");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::TenantId;
    use kefu_ports::ManualClock;

    use super::*;
    use crate::realtime::MAX_VISITOR_SOCKETS;

    fn visitor(tenant_id: &TenantId) -> Subscriber {
        Subscriber::Visitor { tenant_id: tenant_id.clone(), conversation_id: "cv_1".into(), customer_id: "cu_1".into() }
    }

    async fn ticket(app: &App, subscriber: &Subscriber) -> String {
        super::super::issue_ticket(
            app,
            subscriber,
            "ws://kefu.test".into(),
            crate::audit::AuditEntry::new(subscriber.tenant_id(), "realtime.ticket", crate::audit::Outcome::Success),
        )
        .await
        .expect("issued")
        .ticket
    }

    #[tokio::test]
    async fn a_connection_lives_and_ends_the_same_whatever_carries_it() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:10Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let tenant = TenantId::generate();
        let v = visitor(&tenant);

        // No ticket, a made-up one, then a good one that works once.
        assert!(matches!(on_connect(&app, "c0", None, || ()).await, Err(TicketError::Invalid)));
        assert!(matches!(on_connect(&app, "c0", Some("kft_made_up"), || ()).await, Err(TicketError::Invalid)));
        let t = ticket(&app, &v).await;
        let mut registered = Vec::new();
        let (admitted, ()) = on_connect(&app, "c1", Some(&t), || registered.push("c1")).await.expect("admitted");
        assert_eq!((admitted, registered), (v.clone(), vec!["c1"]), "registered once admitted");
        let refused = on_connect(&app, "c2", Some(&t), || panic!("not admitted, not registered")).await;
        assert!(matches!(refused, Err(TicketError::Invalid)), "a ticket works once");
        assert_eq!(super::super::visitor_connections(&app, &tenant, "cv_1").await.expect("listed").len(), 1);

        // Only a ping is answered; anything else is ignored.
        assert_eq!(on_frame(&app, "c1", r#"{"action":"ping"}"#).await, Some(PONG));
        assert_eq!(on_frame(&app, "c1", r#"{"action":"shout"}"#).await, None);
        assert_eq!(on_frame(&app, "c1", "not json").await, None);

        // The cap holds at the handshake.
        for n in 2..=MAX_VISITOR_SOCKETS {
            let t = ticket(&app, &v).await;
            on_connect(&app, &format!("c{n}"), Some(&t), || ()).await.expect("under the cap");
        }
        let t = ticket(&app, &v).await;
        let refused = on_connect(&app, "c99", Some(&t), || panic!("over the cap, not registered")).await;
        assert!(matches!(refused, Err(TicketError::TooMany)));

        // Gone: forgotten, and a late ping on it is not answered.
        assert!(on_disconnect(&app, "c1").await);
        assert_eq!(on_frame(&app, "c1", r#"{"action":"ping"}"#).await, None);
        let left = super::super::visitor_connections(&app, &tenant, "cv_1").await.expect("listed");
        assert_eq!(left.len(), MAX_VISITOR_SOCKETS - 1);
    }
}
