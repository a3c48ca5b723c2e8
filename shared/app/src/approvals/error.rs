//! What the approvals capability answers when a request fails, free of HTTP: `http::error` maps it to API.md's
//! JSON errors (deciding one's own request is 403, a decided or expired request 409).

use kefu_domain::ValidationError;
use kefu_domain::approval::ApprovalError as Refusal;
use kefu_ports::table::TableError;

use crate::conversations::ConversationError;
use crate::customers::CustomerError;

/// Why a request on approvals failed.
#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    /// A field is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such approval request in this tenant.
    #[error("no such approval request")]
    NotFound,
    /// The decision is refused by the rules (own request: forbidden; not pending or expired: conflict).
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Another decision raced this one.
    #[error("{0}")]
    Conflict(&'static str),
    /// The approved conversation operation failed.
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    /// The approved customer operation failed.
    #[error(transparent)]
    Customer(#[from] CustomerError),
    /// The approved change's tags could not be checked.
    #[error(transparent)]
    Tag(#[from] crate::tags::TagError),
    /// The approved export could not be asked for.
    #[error(transparent)]
    Export(#[from] crate::exports::ExportError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
