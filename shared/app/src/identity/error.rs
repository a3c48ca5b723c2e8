//! What identity's reads answer when they fail, in the product's words and free of HTTP: the HTTP layer
//! (`http::error`) maps it, and identity's narrower errors ([`super::auth::AuthError`],
//! [`super::access::AccessError`], [`super::roles::RoleError`], [`super::security::PasswordCheckError`]), to
//! API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why a request on identity's items (sessions, API keys, roles) failed.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// A field or parameter is invalid (a page's `limit` or `cursor` among them).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such thing in this tenant.
    #[error("no such resource")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}
