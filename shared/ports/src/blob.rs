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

    /// Starts an object written in parts (an export of any size with a flat memory): answers the upload's id.
    /// Nothing is visible under `key` until [`BlobStore::complete_upload`].
    async fn start_upload(&self, key: &str, content_type: &str) -> Result<String, BlobError>;
    /// Adds part `number` (1, 2, … in order; every part but the last at least [`MIN_PART_BYTES`]); answers the
    /// part's tag, which completion needs.
    async fn upload_part(&self, key: &str, upload_id: &str, number: u32, body: Bytes) -> Result<String, BlobError>;
    /// Joins the parts (their tags in order) into the object under `key`, replacing what was there.
    async fn complete_upload(&self, key: &str, upload_id: &str, parts: &[String]) -> Result<(), BlobError>;
    /// Drops an upload and its parts (a failed export); dropping one that is gone is not an error.
    async fn abort_upload(&self, key: &str, upload_id: &str) -> Result<(), BlobError>;
    /// A link that reads `key` without credentials until `expires_in` passes, when the store can sign one (S3:
    /// a presigned URL); `None` when it cannot (local files: the application signs its own link).
    async fn presign_get(&self, key: &str, expires_in: std::time::Duration) -> Result<Option<String>, BlobError>;
    /// A link through which a client without credentials writes exactly `size` bytes of `content_type` under
    /// `key` until `expires_in` passes (attachments: the browser uploads straight to the store), with the
    /// headers the client must send along; `None` when the store cannot sign one (local files: the application
    /// signs its own upload link).
    async fn presign_put(
        &self,
        key: &str,
        content_type: &str,
        size: u64,
        expires_in: std::time::Duration,
    ) -> Result<Option<PresignedPut>, BlobError>;
}

/// A presigned upload: where to `PUT` the bytes and which headers to send with them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresignedPut {
    /// The URL to `PUT` to.
    pub url: String,
    /// Headers the signature covers (`content-type`, `content-length`…), as name and value.
    pub headers: Vec<(String, String)>,
}

/// The smallest part S3 accepts, except the last: what a writer buffers before it sends a part.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

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
