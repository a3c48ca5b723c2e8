//! What the conversations capability (conversations, messages, the widget and its settings) answers when a
//! request fails, in the product's words and free of HTTP: the HTTP layer (`http::error`) maps it to API.md's
//! JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

use crate::assignment::AssignmentError;
use crate::plumbing::json::BodyError;
use crate::plumbing::ratelimit::RateLimitError;

/// Why a request on conversations, messages or the widget failed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// A field or parameter is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The request body could not be read (too large, not JSON, a wrong field).
    #[error(transparent)]
    Body(#[from] BodyError),
    /// No such conversation in this tenant, or one the caller may not see.
    #[error("no such resource")]
    NotFound,
    /// A concurrent change got there first, or an `Idempotency-Key` was reused; the message says which.
    #[error("{0}")]
    Conflict(&'static str),
    /// The caller sent too much too fast.
    #[error(transparent)]
    RateLimited(#[from] RateLimitError),
    /// Routing refused the change (closing or reopening through the assignment capability).
    #[error(transparent)]
    Assignment(#[from] AssignmentError),
    /// A stored item or a setting is not what this code writes (a bug, never the caller's mistake).
    #[error("{0}")]
    Broken(&'static str),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// An attachment was refused, or the blob store failed (issue 15).
    #[error(transparent)]
    Attachment(#[from] super::attachments::AttachmentError),
}
