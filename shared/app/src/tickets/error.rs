//! What the tickets capability answers when a request fails, in the product's words and free of HTTP: the HTTP
//! layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_domain::ticket::TicketMoveError;
use kefu_ports::table::TableError;

use crate::conversations::ConversationError;
use crate::plumbing::ratelimit::RateLimitError;

/// Why a request on tickets failed.
#[derive(Debug, thiserror::Error)]
pub enum TicketError {
    /// A field or parameter is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such ticket (or customer) in this tenant.
    #[error("no such resource")]
    NotFound,
    /// A status move the ticket's status does not allow (409 `conflict`).
    #[error(transparent)]
    Move(#[from] TicketMoveError),
    /// Someone else changed the ticket first; read it again.
    #[error("{0}")]
    Conflict(&'static str),
    /// The widget's visitor sent too many messages too fast.
    #[error(transparent)]
    RateLimited(#[from] RateLimitError),
    /// Reading the conversation a ticket is made from failed.
    #[error(transparent)]
    Conversation(#[from] ConversationError),
    /// A stored ticket is not what this code writes (a bug, never the caller's mistake).
    #[error("{0}")]
    Broken(&'static str),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl TicketError {
    /// Someone else changed the ticket between its read and this write.
    pub const CHANGED: Self = Self::Conflict("the ticket changed meanwhile; read it again");
}
