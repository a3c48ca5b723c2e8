//! Mobile push to agents' phones (SNS platform endpoints in AWS, the local outbox file in `kefu serve`).

use async_trait::async_trait;

/// Why a mobile push operation failed.
#[derive(Debug, thiserror::Error)]
pub enum MobileError {
    /// The phone's token is not acceptable to its push service.
    #[error("invalid push token: {0}")]
    InvalidToken(String),
    /// This deployment has no push application for the platform (APNs or FCM credentials not configured).
    #[error("push not configured for {0}")]
    NotConfigured(String),
    /// The endpoint is disabled or gone (the app was removed, the token expired): forget the phone.
    #[error("endpoint gone")]
    Gone,
    /// The backend failed; the operation may be retried.
    #[error("mobile push unavailable: {0}")]
    Unavailable(String),
}

/// A phone's push service, as named in `/v1/me/devices`.
pub const PLATFORMS: [&str; 2] = ["apns", "fcm"];

/// Registers phones and sends them notifications.
#[async_trait]
pub trait MobilePush: Send + Sync {
    /// Registers the phone whose app got `token` from `platform` (`apns` | `fcm`); answers the endpoint to send
    /// to. Registering the same token again answers the same endpoint.
    async fn register(&self, platform: &str, token: &str) -> Result<String, MobileError>;
    /// Sends a notification with `title` and `body` to `endpoint`.
    async fn send(&self, endpoint: &str, title: &str, body: &str) -> Result<(), MobileError>;
    /// Forgets `endpoint`; forgetting one that is gone is not an error.
    async fn unregister(&self, endpoint: &str) -> Result<(), MobileError>;
}
