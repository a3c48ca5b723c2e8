//! API.md's list convention, shared by every endpoint that returns several things: `?limit=` (default 50,
//! max 200) and `?cursor=`, read into the services' [`PageRequest`] and answered as their [`ListPage`]:
//! `{"items": [...], "next_cursor": "..." | null}`.

use axum::extract::{FromRequestParts, Query as QueryString};
use axum::http::request::Parts;
use serde::Deserialize;

use super::ApiError;
pub use crate::plumbing::pages::{DEFAULT_LIMIT, ListPage, MAX_LIMIT, PageRequest};

/// `?limit` and `?cursor`, validated into the services' [`PageRequest`]: a bad value is 400
/// `validation_failed` naming the parameter.
pub type ListParams = PageRequest;

#[derive(Deserialize)]
struct Raw {
    limit: Option<String>,
    cursor: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for PageRequest {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let QueryString(raw) = QueryString::<Raw>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::validation("query", "the query string is malformed"))?;
        Ok(Self::parse(raw.limit.as_deref(), raw.cursor.as_deref())?)
    }
}

#[cfg(test)]
mod tests {
    use kefu_ports::Key;
    use kefu_ports::table::{Cursor, Index, Query};

    use super::*;

    #[test]
    fn limits_default_and_bound() {
        assert_eq!(ListParams::parse(None, None).unwrap().limit, 50);
        assert_eq!(ListParams::parse(Some("200"), None).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "x", ""] {
            let e = ApiError::from(ListParams::parse(Some(bad), None).unwrap_err());
            assert_eq!((e.code, e.field.as_deref()), ("validation_failed", Some("limit")), "{bad}");
        }
    }

    #[test]
    fn cursors_must_be_ours_and_for_this_partition() {
        assert!(ListParams::parse(None, Some("not a cursor")).is_err());
        let item = Key::new("T#a", "X#1").to_item();
        let ours = Cursor::after(&item, None).unwrap();
        let params = ListParams::parse(None, Some(&ours.0)).unwrap();
        assert!(params.apply(Query::partition("T#a")).is_ok());
        let e = ApiError::from(params.apply(Query::partition("T#b")).unwrap_err());
        assert_eq!(e.field.as_deref(), Some("cursor"));
        assert!(params.apply(Query::index(Index::Gsi1, "T#a")).is_err(), "a table cursor is not an index cursor");
    }
}
