//! What the live-chat capability answers when a request fails, free of HTTP: `http::error` maps it to API.md's
//! JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a live-chat request failed.
#[derive(Debug, thiserror::Error)]
pub enum ChatError {
    /// A field is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such conversation or message for this caller.
    #[error("no such resource")]
    NotFound,
    /// The caller may not do this to this message (a recall by someone else, or too late).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Too many requests (transcripts).
    #[error(transparent)]
    RateLimited(#[from] crate::plumbing::ratelimit::RateLimitError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<crate::plumbing::record::RecordError> for ChatError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        ChatError::Table(e.into())
    }
}
