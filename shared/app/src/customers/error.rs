//! What the customers capability answers when a request fails, in the product's words and free of HTTP: the
//! HTTP layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on customers or customer groups failed.
#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    /// A field or parameter is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such customer (or customer group) in this tenant.
    #[error("no such resource")]
    NotFound,
    /// Someone else changed it first, or it is still in use; the message says which and what to do.
    #[error("{0}")]
    Conflict(&'static str),
    /// The caller's role does not allow this (searching by email or phone without `customers.view_sensitive`).
    #[error("{0}")]
    Forbidden(&'static str),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl CustomerError {
    /// Someone else changed the customer between its read and this write.
    pub const CHANGED: Self = Self::Conflict("the customer changed meanwhile; read it again");
}
