//! What the statistics capability answers when a request fails, in the product's words and free of HTTP: the
//! HTTP layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a statistics or live-board request failed.
#[derive(Debug, thiserror::Error)]
pub enum StatsError {
    /// A parameter is invalid (with its name): a time that does not parse, a range backwards or too long, an id
    /// of the wrong shape.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<crate::plumbing::record::RecordError> for StatsError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        StatsError::Table(e.into())
    }
}
