//! The one error type of the HTTP boundary, and the one place the capabilities' errors (each free of HTTP)
//! become API.md's JSON errors: their status, code and field.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use kefu_domain::ValidationError;
use kefu_ports::TableError;
use serde::Serialize;

use crate::approvals::ApprovalError;
use crate::assignment::AssignmentError;
use crate::assignment::admin::AdminError;
use crate::automation::RuleError;
use crate::blocks::BlockError;
use crate::chat::ChatError;
use crate::conversations::ConversationError;
use crate::customers::CustomerError;
use crate::exports::ExportError;
use crate::identity::access::AccessError;
use crate::identity::auth::AuthError;
use crate::identity::error::IdentityError;
use crate::identity::roles::{MAX_CUSTOM_ROLES, RoleError};
use crate::identity::security::PasswordCheckError;
use crate::plumbing::json::BodyError;
use crate::plumbing::ratelimit::RateLimitError;
use crate::quick_replies::QuickReplyError;
use crate::retention::RetentionError;
use crate::stats::StatsError;
use crate::tags::TagError;
use crate::tickets::TicketError;

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
    #[cfg_attr(feature = "http", schema(value_type = Object))]
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

    /// 403 `ip_not_allowed`: the tenant's IP allowlist does not hold the caller's address.
    pub fn ip_not_allowed() -> Self {
        Self::new(StatusCode::FORBIDDEN, "ip_not_allowed", "this network is not on the tenant's IP allowlist")
    }

    /// 423 `account_locked`, with `Retry-After`: too many failed sign-ins in a row.
    pub fn account_locked(retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(
                StatusCode::LOCKED,
                "account_locked",
                "too many failed sign-ins: this account is locked for a while",
            )
        }
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

// ------------------------------------------------------------------------------------------------------------
// The one mapping from the capabilities' errors (free of HTTP) to API.md's JSON errors: status, code, field.
// Every error a service answers reaches the client through one of these.

impl From<BodyError> for ApiError {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::too_large(),
            BodyError::Syntax(_) => Self::invalid_json(e.to_string()),
            BodyError::NotAnObject => Self::new(StatusCode::BAD_REQUEST, "validation_failed", e.to_string()),
            BodyError::Field(v) => v.into(),
        }
    }
}

impl From<RateLimitError> for ApiError {
    fn from(e: RateLimitError) -> Self {
        match e {
            RateLimitError::Limited { retry_after } => Self::rate_limited(retry_after),
            RateLimitError::Table(t) => t.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidCredentials => Self::invalid_credentials(),
            AuthError::Unauthenticated => Self::unauthenticated(),
            AuthError::IpNotAllowed => Self::ip_not_allowed(),
            AuthError::Locked { retry_after } => Self::account_locked(retry_after),
            AuthError::MfaInvalid => Self::new(
                StatusCode::UNAUTHORIZED,
                "mfa_invalid",
                "the code is wrong or used, or the challenge expired: sign in again if it keeps failing",
            ),
            AuthError::TooManyEmails => Self::rate_limited(60),
            AuthError::MailUnavailable => Self::unavailable(),
            AuthError::Table(t) => t.into(),
        }
    }
}

impl From<IdentityError> for ApiError {
    fn from(e: IdentityError) -> Self {
        match e {
            IdentityError::Invalid(v) => v.into(),
            IdentityError::NotFound => Self::not_found(),
            IdentityError::Table(t) => t.into(),
        }
    }
}

impl From<PasswordCheckError> for ApiError {
    fn from(e: PasswordCheckError) -> Self {
        match e {
            PasswordCheckError::Invalid(v) => v.into(),
            PasswordCheckError::Table(t) => t.into(),
        }
    }
}

impl From<AccessError> for ApiError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Refused(r) => Self::forbidden(r.to_string()),
            AccessError::LastAdministrator => Self::conflict(e.to_string()),
            AccessError::Table(t) => t.into(),
        }
    }
}

impl From<RoleError> for ApiError {
    fn from(e: RoleError) -> Self {
        match e {
            RoleError::NotFound => Self::not_found(),
            RoleError::Builtin => Self::conflict(
                "built-in roles (admin, supervisor, agent) cannot be changed or deleted; create a custom role",
            ),
            RoleError::InUse(n) => {
                Self::conflict(format!("{n} account(s) still hold this role; give them another role first"))
            }
            RoleError::NameTaken => Self::conflict("another role has this name").with_field("name"),
            RoleError::TooMany => Self::conflict(format!("a tenant may have at most {MAX_CUSTOM_ROLES} custom roles")),
            RoleError::Conflict(m) => Self::conflict(m),
            RoleError::Table(t) => t.into(),
        }
    }
}

impl From<AssignmentError> for ApiError {
    fn from(e: AssignmentError) -> Self {
        match e {
            AssignmentError::ConversationNotFound => Self::not_found(),
            AssignmentError::AgentNotFound => Self::validation("agent_id", "no such agent, or it is disabled"),
            AssignmentError::GroupNotFound => Self::validation("group_id", "no such group"),
            AssignmentError::AtCapacity => {
                Self::conflict("the agent already has as many conversations as its max_concurrent allows")
            }
            AssignmentError::InvalidState(m) => Self::conflict(m),
            AssignmentError::Busy => Self::conflict("too many concurrent changes; retry"),
            AssignmentError::Table(t) => t.into(),
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(v) => v.into(),
            AdminError::NotFound => Self::not_found(),
            AdminError::Conflict(m) => Self::conflict(m),
            AdminError::Refused(r) => Self::forbidden(r.to_string()),
            AdminError::Table(t) => t.into(),
        }
    }
}

impl From<CustomerError> for ApiError {
    fn from(e: CustomerError) -> Self {
        match e {
            CustomerError::Invalid(v) => v.into(),
            CustomerError::NotFound => Self::not_found(),
            CustomerError::Conflict(m) => Self::conflict(m),
            CustomerError::Forbidden(m) => Self::forbidden(m),
            CustomerError::Table(t) => t.into(),
        }
    }
}

impl From<TicketError> for ApiError {
    fn from(e: TicketError) -> Self {
        match e {
            TicketError::Invalid(v) => v.into(),
            TicketError::NotFound => Self::not_found(),
            TicketError::Move(m) => Self::conflict(m.to_string()),
            TicketError::Conflict(m) => Self::conflict(m),
            TicketError::RateLimited(r) => r.into(),
            TicketError::Conversation(c) => c.into(),
            TicketError::Broken(m) => {
                tracing::error!(error = m, "a stored item is not what this code writes");
                Self::internal()
            }
            TicketError::Table(t) => t.into(),
        }
    }
}

impl From<QuickReplyError> for ApiError {
    fn from(e: QuickReplyError) -> Self {
        match e {
            QuickReplyError::Invalid(v) => v.into(),
            QuickReplyError::NotFound => Self::not_found(),
            QuickReplyError::Conflict(m) => Self::conflict(m),
            QuickReplyError::TeamNeedsManage => {
                Self::forbidden("team quick replies need the `quick_replies.manage` permission")
            }
            QuickReplyError::Table(t) => t.into(),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> Self {
        match e {
            ExportError::Invalid(v) => v.into(),
            ExportError::NotFound => Self::not_found(),
            ExportError::Blob(m) => TableError::Unavailable(m).into(),
            ExportError::Table(t) => t.into(),
        }
    }
}

impl From<RetentionError> for ApiError {
    fn from(e: RetentionError) -> Self {
        match e {
            RetentionError::Invalid(v) => v.into(),
            RetentionError::Blob(m) => TableError::Unavailable(m).into(),
            RetentionError::Table(t) => t.into(),
        }
    }
}

impl From<StatsError> for ApiError {
    fn from(e: StatsError) -> Self {
        match e {
            StatsError::Invalid(v) => v.into(),
            StatsError::Table(t) => t.into(),
        }
    }
}

impl From<TagError> for ApiError {
    fn from(e: TagError) -> Self {
        match e {
            TagError::Invalid(v) => v.into(),
            TagError::NotFound => Self::not_found(),
            TagError::Conflict(m) => Self::conflict(m),
            TagError::Table(t) => t.into(),
        }
    }
}

impl From<crate::notifications::NotificationError> for ApiError {
    fn from(e: crate::notifications::NotificationError) -> Self {
        match e {
            crate::notifications::NotificationError::Invalid(v) => v.into(),
            crate::notifications::NotificationError::Table(t) => t.into(),
            crate::notifications::NotificationError::Push(e) => {
                tracing::warn!(error = %e, "push service unavailable");
                Self::unavailable()
            }
        }
    }
}

impl From<RuleError> for ApiError {
    fn from(e: RuleError) -> Self {
        match e {
            RuleError::Invalid(v) => v.into(),
            RuleError::NotFound => Self::not_found(),
            RuleError::Table(t) => t.into(),
        }
    }
}

impl From<ConversationError> for ApiError {
    fn from(e: ConversationError) -> Self {
        match e {
            ConversationError::Invalid(v) => v.into(),
            ConversationError::Body(b) => b.into(),
            ConversationError::NotFound => Self::not_found(),
            ConversationError::Conflict(m) => Self::conflict(m),
            ConversationError::RateLimited(r) => r.into(),
            ConversationError::Assignment(a) => a.into(),
            ConversationError::Broken(m) => {
                tracing::error!(error = m, "a stored item is not what this code writes");
                Self::internal()
            }
            ConversationError::Table(t) => t.into(),
            ConversationError::Attachment(a) => a.into(),
        }
    }
}

impl From<crate::conversations::attachments::AttachmentError> for ApiError {
    fn from(e: crate::conversations::attachments::AttachmentError) -> Self {
        use crate::conversations::attachments::AttachmentError;
        match e {
            AttachmentError::Invalid(v) => v.into(),
            AttachmentError::TooLarge { max } => Self::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("the file is larger than this tenant accepts ({max} bytes)"),
            )
            .with_field("size"),
            AttachmentError::RateLimited(r) => r.into(),
            AttachmentError::Disabled => Self::forbidden("attachments are turned off for this widget"),
            AttachmentError::NotFound => Self::not_found(),
            AttachmentError::Table(t) => t.into(),
            AttachmentError::Blob(b) => {
                tracing::warn!(error = %b, "blob store failed");
                Self::unavailable()
            }
        }
    }
}

impl From<BlockError> for ApiError {
    fn from(e: BlockError) -> Self {
        match e {
            BlockError::Invalid(v) => v.into(),
            BlockError::NotFound => Self::not_found(),
            BlockError::Conflict(m) => Self::conflict(m),
            BlockError::Blocked => Self::new(StatusCode::FORBIDDEN, "blocked", "this visitor is blocked"),
            BlockError::Table(t) => t.into(),
        }
    }
}

impl From<ApprovalError> for ApiError {
    fn from(e: ApprovalError) -> Self {
        use kefu_domain::approval::ApprovalError as Refusal;
        match e {
            ApprovalError::Invalid(v) => v.into(),
            ApprovalError::NotFound => Self::not_found(),
            ApprovalError::Refused(r @ Refusal::OwnRequest) => Self::forbidden(r.to_string()),
            ApprovalError::Refused(r) => Self::conflict(r.to_string()),
            ApprovalError::Conflict(m) => Self::conflict(m),
            ApprovalError::Conversation(c) => c.into(),
            ApprovalError::Customer(c) => c.into(),
            ApprovalError::Tag(t) => t.into(),
            ApprovalError::Export(e) => e.into(),
            ApprovalError::Table(t) => t.into(),
        }
    }
}

impl From<ChatError> for ApiError {
    fn from(e: ChatError) -> Self {
        match e {
            ChatError::Invalid(v) => v.into(),
            ChatError::NotFound => Self::not_found(),
            ChatError::Forbidden(m) => Self::forbidden(m),
            ChatError::RateLimited(r) => r.into(),
            ChatError::Table(t) => t.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use kefu_domain::permission::GrantRefusal;

    use super::*;

    fn answer(e: impl Into<ApiError>) -> (u16, &'static str, String, Option<String>) {
        let e = e.into();
        (e.status.as_u16(), e.code, e.message, e.field)
    }

    #[test]
    fn each_capabilitys_errors_map_to_apimd_codes() {
        let invalid = || ValidationError::new("name", "is required");
        let field = Some("name".to_owned());
        assert_eq!(answer(IdentityError::Invalid(invalid())), (400, "validation_failed", "is required".into(), field));
        assert_eq!(answer(IdentityError::NotFound).1, "not_found");
        assert_eq!(
            answer(CustomerError::CHANGED),
            (409, "conflict", "the customer changed meanwhile; read it again".into(), None)
        );
        assert_eq!(answer(CustomerError::Forbidden("no")).0, 403);
        assert_eq!(answer(ConversationError::NotFound), (404, "not_found", "no such resource".into(), None));
        assert_eq!(
            answer(ConversationError::Broken("bug")),
            (500, "internal", "something went wrong on our side".into(), None)
        );
        assert_eq!(
            answer(ConversationError::Assignment(AssignmentError::GroupNotFound)).3.as_deref(),
            Some("group_id")
        );
        let limited = ApiError::from(ConversationError::RateLimited(RateLimitError::Limited { retry_after: 0 }));
        assert_eq!((limited.status.as_u16(), limited.code, limited.retry_after), (429, "rate_limited", Some(1)));
        assert_eq!(answer(AdminError::Refused(GrantRefusal::GroupNotVisibleToCaller)).1, "forbidden");
        assert_eq!(answer(AccessError::LastAdministrator).1, "conflict");
        assert_eq!(answer(RoleError::NameTaken).3.as_deref(), Some("name"));
        assert_eq!(answer(AuthError::IpNotAllowed).0, 403);
        let locked = ApiError::from(AuthError::Locked { retry_after: 90 });
        assert_eq!((locked.status.as_u16(), locked.code, locked.retry_after), (423, "account_locked", Some(90)));
        assert_eq!(answer(TableError::Conflict).1, "conflict");
        assert_eq!(answer(IdentityError::Table(TableError::Unavailable("down".into()))).0, 503);
    }

    #[test]
    fn body_errors_keep_the_json_extractors_answers() {
        assert_eq!(answer(BodyError::TooLarge), (413, "too_large", "the request body is over 1 MiB".into(), None));
        assert_eq!(
            answer(BodyError::Syntax("eof".into())),
            (400, "invalid_json", "the body is not valid JSON: eof".into(), None)
        );
        assert_eq!(
            answer(BodyError::NotAnObject),
            (400, "validation_failed", "the body must be a JSON object".into(), None)
        );
        assert_eq!(answer(BodyError::Field(ValidationError::new("a.b", "wrong"))).3.as_deref(), Some("a.b"));
    }
}
