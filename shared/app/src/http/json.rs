//! JSON in and out with API.md's errors: a body without a JSON `Content-Type` is `unsupported_media_type`
//! (so a cross-site form post, which cannot set one without a preflight, never reaches a handler), bad syntax
//! is `invalid_json`, a wrong or missing field is `validation_failed` naming the field, a body over 1 MiB is
//! `too_large`.

use axum::extract::{FromRequest, Request};
use axum::http::HeaderMap;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ApiError;

pub use crate::plumbing::json::MAX_BODY;

/// A JSON body (extractor) or a JSON answer (response).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

/// Whether a `Content-Type` names JSON: `application/json` or `application/<anything>+json`, with optional
/// parameters, of which a `charset` must be UTF-8.
pub fn is_json_content_type(value: &str) -> bool {
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || essence.strip_prefix("application/").and_then(|s| s.strip_suffix("+json")).is_some_and(|sub| {
            !sub.is_empty() && sub.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
        });
    json && parts.all(|p| match p.split_once('=') {
        Some((name, v)) if name.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        Some(_) => true,
        None => p.trim().is_empty(),
    })
}

/// 415 `unsupported_media_type` unless the request says its body is JSON.
pub fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        Some(v) if is_json_content_type(v) => Ok(()),
        _ => Err(ApiError::unsupported_media_type()),
    }
}

/// A JSON request body kept as bytes, for handlers that authenticate before they parse (then
/// [`parse`]): the `Content-Type` and size are checked as for [`ApiJson`].
#[derive(Debug, Clone, Default)]
pub struct JsonBytes(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBytes {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        body_bytes(req, state).await.map(JsonBytes)
    }
}

async fn body_bytes<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    Bytes::from_request(req, state).await.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large()
        } else {
            ApiError::invalid_json(e.body_text())
        }
    })
}

/// Parses a JSON body into `T` with API.md's errors.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    Ok(crate::plumbing::json::parse(bytes)?)
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        require_json(req.headers())?;
        parse(&body_bytes(req, state).await?).map(ApiJson)
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

    #[test]
    fn only_json_content_types_are_json() {
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
            "application/merge-patch+json",
            "application/vnd.kefu.v1+json; charset=utf-8",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for refused in [
            "",
            "text/plain",
            "text/plain; charset=utf-8",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
            "application/jsonp",
            "application/+json",
            "text/json",
            "application/json; charset=latin1",
            "application/json, text/plain",
        ] {
            assert!(!is_json_content_type(refused), "{refused}");
        }
    }
}
