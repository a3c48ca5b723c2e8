//! The push port on the API Gateway WebSocket management API.

use async_trait::async_trait;
use aws_sdk_apigatewaymanagement::Client;
use aws_sdk_apigatewaymanagement::operation::delete_connection::DeleteConnectionError;
use aws_sdk_apigatewaymanagement::operation::post_to_connection::PostToConnectionError;
use aws_sdk_apigatewaymanagement::primitives::Blob;
use kefu_ports::{Push, PushError};

use crate::error::describe;

/// Sends frames to WebSocket clients connected through API Gateway.
///
/// The client must point at the stage's management endpoint (`KEFU_WS_ENDPOINT`,
/// `https://{api}.execute-api.{region}.amazonaws.com/{stage}`); [`crate::AwsAdapters`] sets that up.
#[derive(Debug, Clone)]
pub struct ApiGatewayPush {
    client: crate::LazyClient<Client>,
}

impl ApiGatewayPush {
    /// The adapter over a management API client already pointed at the stage endpoint.
    pub fn new(client: impl Into<crate::LazyClient<Client>>) -> Self {
        Self { client: client.into() }
    }
}

#[async_trait]
impl Push for ApiGatewayPush {
    async fn send(&self, connection_id: &str, payload: &str) -> Result<(), PushError> {
        match self
            .client
            .get()
            .post_to_connection()
            .connection_id(connection_id)
            .data(Blob::new(payload.as_bytes()))
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(PostToConnectionError::GoneException(_))) => {
                Err(PushError::Gone)
            }
            Err(e) => {
                tracing::warn!(error = %describe(&e), "post to connection failed");
                Err(PushError::Unavailable(describe(&e)))
            }
        }
    }

    async fn close(&self, connection_id: &str) -> Result<(), PushError> {
        match self.client.get().delete_connection().connection_id(connection_id).send().await {
            Ok(_) => Ok(()),
            Err(e) if matches!(e.as_service_error(), Some(DeleteConnectionError::GoneException(_))) => {
                Err(PushError::Gone)
            }
            Err(e) => {
                tracing::warn!(error = %describe(&e), "delete connection failed");
                Err(PushError::Unavailable(describe(&e)))
            }
        }
    }
}
