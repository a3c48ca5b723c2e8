//! The realtime push port in process: WebSocket connections of `kefu serve` register here.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use kefu_ports::{Push, PushError};
use tokio::sync::mpsc;

/// Live connections by id; a push to a closed or unknown connection is `Gone`.
#[derive(Default)]
pub struct PushHub {
    connections: Mutex<HashMap<String, mpsc::UnboundedSender<String>>>,
}

impl PushHub {
    /// An empty hub.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers a connection; frames pushed to `id` arrive on the returned receiver.
    pub fn connect(&self, id: &str) -> mpsc::UnboundedReceiver<String> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.connections.lock().expect("hub lock").insert(id.to_owned(), tx);
        rx
    }

    /// Forgets a connection.
    pub fn disconnect(&self, id: &str) {
        self.connections.lock().expect("hub lock").remove(id);
    }

    /// How many connections are live.
    pub fn len(&self) -> usize {
        self.connections.lock().expect("hub lock").len()
    }

    /// Whether no connection is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl Push for PushHub {
    async fn send(&self, connection_id: &str, payload: &str) -> Result<(), PushError> {
        let mut conns = self.connections.lock().expect("hub lock");
        let Some(tx) = conns.get(connection_id) else { return Err(PushError::Gone) };
        if tx.send(payload.to_owned()).is_err() {
            conns.remove(connection_id);
            return Err(PushError::Gone);
        }
        Ok(())
    }

    /// Forgets the connection: its socket's task sees its frame channel end and closes the socket.
    async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        match self.connections.lock().expect("hub lock").remove(connection_id) {
            Some(_) => Ok(()),
            None => Err(PushError::Gone),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn pushes_reach_live_connections_only() {
        let hub = PushHub::new();
        let mut rx = hub.connect("c1");
        hub.send("c1", "{\"type\":\"notification\"}").await.unwrap();
        assert_eq!(rx.recv().await.as_deref(), Some("{\"type\":\"notification\"}"));
        assert!(matches!(hub.send("nobody", "x").await, Err(PushError::Gone)));
        drop(rx);
        assert!(matches!(hub.send("c1", "x").await, Err(PushError::Gone)));
        assert!(hub.is_empty());
    }
}
