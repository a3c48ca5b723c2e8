//! Real-time push to one WebSocket connection (API Gateway management API / an in-process hub).

use async_trait::async_trait;

/// Why a push failed.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The connection no longer exists: its record should be removed.
    #[error("connection gone")]
    Gone,
    /// The backend failed; the push may be retried.
    #[error("push unavailable: {0}")]
    Unavailable(String),
}

/// Sends a frame to a connected client.
#[async_trait]
pub trait Push: Send + Sync {
    /// Sends `payload` (a JSON text frame) to `connection_id`.
    async fn send(&self, connection_id: &str, payload: &str) -> Result<(), PushError>;

    /// Closes `connection_id` from the server's side (its reader may no longer receive frames). `Gone` when
    /// it was already closed.
    async fn close(&self, connection_id: &str) -> Result<(), PushError>;
}
