//! What the blocks capability answers when a request fails, free of HTTP: `http::error` maps it to API.md's JSON
//! errors (a refused visitor is 403 `blocked`).

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on blocks, or a widget request of a blocked visitor, failed.
#[derive(Debug, thiserror::Error)]
pub enum BlockError {
    /// A field is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such block in this tenant.
    #[error("no such block")]
    NotFound,
    /// The tenant already holds as many active blocks as it may, or another change raced this one.
    #[error("{0}")]
    Conflict(&'static str),
    /// The visitor is blocked: the widget request is refused, nothing is stored.
    #[error("this visitor is blocked")]
    Blocked,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
