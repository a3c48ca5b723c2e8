//! JSON in and out with API.md's errors: bad syntax is `invalid_json`, a wrong or missing field is
//! `validation_failed` naming the field, a body over 1 MiB is `too_large`.

use axum::extract::{FromRequest, Request};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;

/// The largest request body accepted.
pub const MAX_BODY: usize = 1024 * 1024;

/// A JSON body (extractor) or a JSON answer (response).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Parses a JSON body into `T` with API.md's errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY {
        return Err(ApiError::too_large());
    }
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_json(format!("the body is not valid JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "validation_failed",
            "the body must be a JSON object",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner().to_string();
        let field = if path == "." { inner.split('`').nth(1).map(str::to_owned).unwrap_or_default() } else { path };
        ApiError::validation(field, inner)
    })
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::too_large()
            } else {
                ApiError::invalid_json(e.body_text())
            }
        })?;
        parse(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Body {
        name: String,
        admin: Inner,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        email: String,
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(parse::<Body>(b"{nope").unwrap_err().code, "invalid_json");
        let e = parse::<Body>(br#"{"name": 5, "admin": {"email": "x"}}"#).unwrap_err();
        assert_eq!((e.code, e.field.as_deref()), ("validation_failed", Some("name")));
        let e = parse::<Body>(br#"{"name": "a", "admin": {"email": 1}}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("admin.email"));
        let e = parse::<Body>(br#"{"name": "a"}"#).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("admin"));
        assert_eq!(parse::<Body>(&vec![b' '; MAX_BODY + 1]).unwrap_err().code, "too_large");
    }
}
