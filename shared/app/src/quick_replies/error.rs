//! What the quick-replies capability answers when a request fails, in the product's words and free of HTTP:
//! the HTTP layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on quick replies failed.
#[derive(Debug, thiserror::Error)]
pub enum QuickReplyError {
    /// A field or parameter is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such quick reply that the caller may see (another agent's personal one answers this too).
    #[error("no such resource")]
    NotFound,
    /// The shortcut is taken in that scope, or the reply changed meanwhile; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// Team replies are written only by holders of `quick_replies.manage`.
    #[error("team quick replies need the `quick_replies.manage` permission")]
    TeamNeedsManage,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
