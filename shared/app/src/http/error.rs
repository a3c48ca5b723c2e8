//! The one error type of the HTTP boundary, mapped to API.md's JSON errors in one place.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_domain::ValidationError;
use kefu_ports::TableError;
use serde::Serialize;

/// An error answer: `{"error": {"code", "message", "field"?}}` with its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// The stable, snake_case code.
    pub code: &'static str,
    /// For a person.
    pub message: String,
    /// The offending field's path, when one is to blame.
    pub field: Option<String>,
    /// Seconds to wait (429).
    pub retry_after: Option<u64>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub(crate) struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

/// The error envelope, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelope {
    /// The error.
    #[schema(value_type = Object)]
    pub error: serde_json::Value,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), field: None, retry_after: None }
    }

    /// Blames a field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// 400 `invalid_json`.
    pub fn invalid_json(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_json", message)
    }

    /// 415 `unsupported_media_type`: a JSON endpoint's body came without a JSON `Content-Type`.
    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the body with Content-Type: application/json",
        )
    }

    /// 400 `validation_failed` on `field`.
    pub fn validation(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation_failed", message).with_field(field)
    }

    /// 401 `unauthenticated`.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in first: the token is missing, expired or revoked",
        )
    }

    /// 401 `invalid_credentials`.
    pub fn invalid_credentials() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_credentials", "the email or password is wrong")
    }

    /// 403 `forbidden`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 404 `not_found` (also for another tenant's ids).
    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", "no such resource")
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 413 `too_large`.
    pub fn too_large() -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the request body is over 1 MiB")
    }

    /// 429 `rate_limited`.
    pub fn rate_limited(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests; slow down")
        }
    }

    /// 503 `unavailable`: the store is down; the client may retry.
    pub fn unavailable() -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "a dependency is unavailable; retry shortly")
    }

    /// 500 `internal`: a bug; logged, never detailed to the client.
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "something went wrong on our side")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(code = self.code, message = %self.message, "request failed");
        }
        let body = serde_json::json!({"error": ErrorBody { code: self.code, message: &self.message, field: self.field.as_deref() }});
        let mut res = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::validation(e.field, e.message)
    }
}

impl From<TableError> for ApiError {
    fn from(e: TableError) -> Self {
        match e {
            TableError::Unavailable(m) => {
                tracing::warn!(error = %m, "table unavailable");
                Self::unavailable()
            }
            TableError::Conflict => Self::conflict("a concurrent change got there first; retry"),
            other => {
                tracing::error!(error = %other, "unexpected table error");
                Self::internal()
            }
        }
    }
}

impl From<crate::identity::auth::AuthError> for ApiError {
    fn from(e: crate::identity::auth::AuthError) -> Self {
        match e {
            crate::identity::auth::AuthError::InvalidCredentials => Self::invalid_credentials(),
            crate::identity::auth::AuthError::Unauthenticated => Self::unauthenticated(),
            crate::identity::auth::AuthError::IpNotAllowed => crate::identity::security::ip_not_allowed(),
            crate::identity::auth::AuthError::Locked { retry_after } => {
                crate::identity::security::account_locked(retry_after)
            }
            crate::identity::auth::AuthError::MfaInvalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "mfa_invalid",
                "the code is wrong or used, or the challenge expired: sign in again if it keeps failing",
            ),
            crate::identity::auth::AuthError::TooManyEmails => Self::rate_limited(60),
            crate::identity::auth::AuthError::MailUnavailable => Self::unavailable(),
            crate::identity::auth::AuthError::Table(t) => t.into(),
        }
    }
}
