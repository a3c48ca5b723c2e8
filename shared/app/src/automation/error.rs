//! What the automation capability answers when a request fails, in the product's words and free of HTTP:
//! the HTTP layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on rules failed.
#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    /// A field is invalid, or names something that does not exist (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such rule (or conversation, for a dry run) in the caller's tenant.
    #[error("no such resource")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
