//! What the conversations capability (conversations, messages, the widget and its settings) answers when a
//! request fails, in the product's words and free of HTTP: the HTTP layer (`http::error`) maps it to API.md's
//! JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::BlobError;
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
    Attachment(#[from] AttachmentError),
}

/// Why an attachment request failed.
#[derive(Debug, thiserror::Error)]
pub enum AttachmentError {
    /// A field is invalid (400 `validation_failed`, with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The file is larger than the tenant allows (413 `too_large`).
    #[error("the file is larger than {max} bytes")]
    TooLarge {
        /// The tenant's `attachments.max_bytes`.
        max: u64,
    },
    /// Too many uploads declared too fast (429).
    #[error(transparent)]
    RateLimited(#[from] crate::plumbing::ratelimit::RateLimitError),
    /// The tenant has not turned visitor uploads on (403).
    #[error("attachments are turned off for this widget")]
    Disabled,
    /// No such attachment, or a link that is forged or stale (404: a wrong link learns nothing).
    #[error("no such resource")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
}

impl From<crate::plumbing::record::RecordError> for AttachmentError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        Self::Table(e.into())
    }
}
