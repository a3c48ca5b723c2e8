//! Reading a JSON object request body into a typed value, telling apart a body too large, a body that is not
//! JSON, one that is not an object and a wrong or missing field (named by its path). Services that take the
//! raw body (the widget authenticates before it parses) use this; the HTTP layer maps [`BodyError`] to
//! API.md's `too_large`, `invalid_json` and `validation_failed`.

use kefu_domain::ValidationError;
use serde::de::DeserializeOwned;

/// The largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    /// Over [`MAX_BODY`].
    #[error("the request body is over 1 MiB")]
    TooLarge,
    /// Not JSON at all.
    #[error("the body is not valid JSON: {0}")]
    Syntax(String),
    /// JSON, but not an object.
    #[error("the body must be a JSON object")]
    NotAnObject,
    /// A field is missing or of the wrong type.
    #[error(transparent)]
    Field(#[from] ValidationError),
}

/// Parses a JSON object body into `T`, naming the offending field's path when one is to blame.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    if bytes.len() > MAX_BODY {
        return Err(BodyError::TooLarge);
    }
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| BodyError::Syntax(e.to_string()))?;
    if !value.is_object() {
        return Err(BodyError::NotAnObject);
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." { inner.split('`').nth(1).map(str::to_owned).unwrap_or_default() } else { path };
        BodyError::Field(ValidationError::new(field, inner))
    })
}
