//! What the exports capability answers when a request fails, in the product's words and free of HTTP: the HTTP
//! layer (`http::error`) maps it to API.md's JSON errors.

use kefu_domain::ValidationError;
use kefu_ports::table::TableError;

/// Why an export request or its download failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A field is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such export in this tenant, or a download link that is wrong or expired.
    #[error("no such resource")]
    NotFound,
    /// The blob store failed.
    #[error("blob store: {0}")]
    Blob(String),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<crate::plumbing::record::RecordError> for ExportError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        ExportError::Table(e.into())
    }
}

impl From<kefu_ports::BlobError> for ExportError {
    fn from(e: kefu_ports::BlobError) -> Self {
        ExportError::Blob(e.to_string())
    }
}
