//! API.md's list convention, shared by every endpoint that returns several things: `?limit=` (default 50,
//! max 200) and `?cursor=`, answered as `{"items": [...], "next_cursor": "..." | null}`.

use axum::extract::{FromRequestParts, Query as QueryString};
use axum::http::request::Parts;
use kefu_ports::table::{Cursor, Page, Query};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ApiError;

/// The default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page size a client may ask for.
pub const MAX_LIMIT: usize = 200;

/// `?limit` and `?cursor`, validated: a bad value is 400 `validation_failed` naming the parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct ListParams {
    /// Items per page, 1..=200.
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

impl Default for ListParams {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, cursor: None }
    }
}

#[derive(Deserialize)]
struct Raw {
    limit: Option<String>,
    cursor: Option<String>,
}

impl ListParams {
    /// Parses the raw parameters (the query string's `limit` and `cursor`).
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ApiError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ApiError::validation(
                        "limit",
                        format!("limit must be a whole number from 1 to {MAX_LIMIT}"),
                    ));
                }
            },
        };
        let cursor = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => {
                let cursor = Cursor(c.to_owned());
                if c.len() > 2048 || cursor.key_item().is_err() {
                    return Err(bad_cursor());
                }
                Some(cursor)
            }
        };
        Ok(Self { limit, cursor })
    }

    /// Applies the page size and the cursor to a query. A cursor made for another partition (or another
    /// list) is refused as a client mistake instead of reaching the store.
    pub fn apply(&self, query: Query) -> Result<Query, ApiError> {
        if let Some(cursor) = &self.cursor {
            let key = cursor.key_item().map_err(|_| bad_cursor())?;
            let pk_attr = query.index.map_or("pk", |ix| ix.pk_attr());
            if key.get(pk_attr).and_then(Value::as_str) != Some(query.pk.as_str()) {
                return Err(bad_cursor());
            }
        }
        Ok(query.limit(self.limit).after(self.cursor.clone()))
    }
}

fn bad_cursor() -> ApiError {
    ApiError::validation("cursor", "the cursor is not one this list gave out")
}

impl<S: Send + Sync> FromRequestParts<S> for ListParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let QueryString(raw) = QueryString::<Raw>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::validation("query", "the query string is malformed"))?;
        Self::parse(raw.limit.as_deref(), raw.cursor.as_deref())
    }
}

/// One page of a list, as API.md answers it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ListPage<T> {
    /// The page's items.
    pub items: Vec<T>,
    /// Pass back as `?cursor=` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

impl<T> ListPage<T> {
    /// A page from a store page, mapping each item.
    pub fn from_page(page: Page, map: impl FnMut(&kefu_ports::Item) -> T) -> Self {
        Self { items: page.items.iter().map(map).collect(), next_cursor: page.cursor.map(|c| c.0) }
    }

    /// A page from items already mapped, with the cursor to continue after them.
    pub fn new(items: Vec<T>, next: Option<Cursor>) -> Self {
        Self { items, next_cursor: next.map(|c| c.0) }
    }
}

#[cfg(test)]
mod tests {
    use kefu_ports::Key;
    use kefu_ports::table::Index;

    use super::*;

    #[test]
    fn limits_default_and_bound() {
        assert_eq!(ListParams::parse(None, None).unwrap().limit, 50);
        assert_eq!(ListParams::parse(Some("200"), None).unwrap().limit, 200);
        for bad in ["0", "201", "-1", "x", ""] {
            let e = ListParams::parse(Some(bad), None).unwrap_err();
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
        let e = params.apply(Query::partition("T#b")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("cursor"));
        assert!(params.apply(Query::index(Index::Gsi1, "T#a")).is_err(), "a table cursor is not an index cursor");
    }
}
