//! What the tags capability answers when a request fails, in the product's words and free of HTTP: the HTTP
//! layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on the tag registry, or a write of tags, failed.
#[derive(Debug, thiserror::Error)]
pub enum TagError {
    /// A field is invalid (with its path): a bad name, scope or colour, or an unregistered tag written.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such tag in this tenant.
    #[error("no such resource")]
    NotFound,
    /// A tag of that name exists, or is still being removed; the message says which.
    #[error("{0}")]
    Conflict(String),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
