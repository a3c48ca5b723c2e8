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
    // A body that is right (nearly all of them) is read straight into `T`. Only one that is not goes through
    // a `Value` ([`through_value`]), to tell which error it is and to name the field. The answer is the same
    // either way: an object that reads into `T` directly reads into it through a value too.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
        && let Ok(parsed) = serde_json::from_slice(bytes)
    {
        return Ok(parsed);
    }
    through_value(bytes)
}

/// [`parse`] by way of a `serde_json::Value`, which tells a syntax error from a body that is not an object, and
/// names the field at fault (`serde_path_to_error`, which copies every name as it goes).
fn through_value<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        name: String,
        #[serde(default)]
        count: u32,
        #[serde(default)]
        tags: Vec<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Loose {
        #[serde(default)]
        name: Option<String>,
        #[serde(default)]
        extra: BTreeMap<String, serde_json::Value>,
        #[serde(default)]
        ratio: Option<f64>,
    }

    const BODIES: &[&str] = &[
        r#"{"name": "a"}"#,
        "  \n\t{\"name\": \"spaced\", \"count\": 3}  \n",
        r#"{"name": "a", "name": "b"}"#,
        r#"{"name": "a", "other": 1}"#,
        r#"{"name": 5}"#,
        r#"{"count": 1}"#,
        r#"{"name": "a", "count": -1}"#,
        r#"{"name": "a", "count": 4294967296}"#,
        r#"{"name": "a", "count": 1.0}"#,
        r#"{"name": "a", "count": 18446744073709551616}"#,
        r#"{"name": "a", "tags": ["x", 1]}"#,
        r#"{"name": "a\u0000b", "tags": []}"#,
        r#"{"name": "\ud800"}"#,
        r#"{"name": "a"} trailing"#,
        r#"{"name": "a",}"#,
        r#"["name", "a"]"#,
        r#"[{"name": "a"}]"#,
        r#""a""#,
        "null",
        "",
        "{}",
        r#"{"extra": {"k": [1, {"x": null}]}, "ratio": 1e308}"#,
        r#"{"ratio": 1e309}"#,
        r#"{"ratio": 12}"#,
        "\u{feff}{\"name\": \"bom\"}",
    ];

    /// For every body, right or wrong, the direct reading answers exactly what the reading through a value
    /// answers: the same value, or the same error naming the same field.
    #[test]
    fn reading_directly_answers_as_reading_through_a_value() {
        let mut direct_reads = 0;
        for body in BODIES {
            let bytes = body.as_bytes();
            assert_eq!(parse::<Strict>(bytes), through_value::<Strict>(bytes), "Strict from {body:?}");
            assert_eq!(parse::<Loose>(bytes), through_value::<Loose>(bytes), "Loose from {body:?}");
            direct_reads += usize::from(serde_json::from_slice::<Strict>(bytes).is_ok());
        }
        // The comparison covers bodies the direct reading takes, not only ones it leaves to the fallback.
        assert!(direct_reads >= 3, "{direct_reads}");
        assert_eq!(parse::<Strict>(br#"["a"]"#), Err(BodyError::NotAnObject));
        assert_eq!(parse::<Strict>(&vec![b' '; MAX_BODY + 1]), Err(BodyError::TooLarge));
    }
}
