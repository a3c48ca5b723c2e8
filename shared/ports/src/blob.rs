//! Blob storage shaped like S3: archives before deletion, exports.

use async_trait::async_trait;
use bytes::Bytes;

/// Why a blob operation failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key is not acceptable (empty, absolute, or climbing out with `..`).
    #[error("invalid blob key: {0}")]
    InvalidKey(String),
    /// The backend failed; the operation may be retried.
    #[error("blob store unavailable: {0}")]
    Unavailable(String),
}

/// A flat namespace of byte objects addressed by `/`-separated keys.
#[async_trait]
pub trait BlobStore: Send + Sync {
    /// Stores `body` under `key`, replacing what was there.
    async fn put(&self, key: &str, body: Bytes, content_type: &str) -> Result<(), BlobError>;
    /// The object under `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError>;
    /// Removes `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// Every key that starts with `prefix`, in ascending order.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, BlobError>;
}

/// Checks a key the way both adapters must: relative, non-empty, no `..` or empty segments.
pub fn validate_key(key: &str) -> Result<(), BlobError> {
    let bad = key.is_empty()
        || key.starts_with('/')
        || key.len() > 1024
        || key.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..")
        || key.contains('\\')
        || key.chars().any(char::is_control);
    if bad { Err(BlobError::InvalidKey(key.to_owned())) } else { Ok(()) }
}
