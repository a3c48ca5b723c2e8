//! Paged reads, API.md's list convention without HTTP: the page a caller asks for ([`PageRequest`]: a size
//! and where the previous page ended), the page answered ([`ListPage`]), and reading a filtered list from the
//! table page by page ([`filtered_page`]), the shared helper of every list whose filter the index cannot
//! express (a tag, a group alongside a search), with a bound on how much one request examines. The HTTP layer
//! reads `?limit=` and `?cursor=` into a [`PageRequest`]; the services only see this.

use kefu_domain::ValidationError;
use kefu_ports::table::{Cursor, Item, Page, Query, TableError};
use serde::Serialize;
use serde_json::Value;

use crate::App;
use crate::plumbing::record::Record;

/// The default page size.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page size a client may ask for.
pub const MAX_LIMIT: usize = 200;

/// The page a caller asks for: a size and where the previous page ended, validated (a bad value is a
/// [`ValidationError`] naming `limit` or `cursor`).
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    /// Items per page, 1..=200.
    pub limit: usize,
    /// Where the previous page ended.
    pub cursor: Option<Cursor>,
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { limit: DEFAULT_LIMIT, cursor: None }
    }
}

impl PageRequest {
    /// Parses the raw parameters (the query string's `limit` and `cursor`).
    pub fn parse(limit: Option<&str>, cursor: Option<&str>) -> Result<Self, ValidationError> {
        let limit = match limit {
            None => DEFAULT_LIMIT,
            Some(s) => match s.trim().parse::<usize>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => n,
                _ => {
                    return Err(ValidationError::new(
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
    pub fn apply(&self, query: Query) -> Result<Query, ValidationError> {
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

/// The cursor a list refuses: not one it gave out (or one of another list).
pub fn bad_cursor() -> ValidationError {
    ValidationError::new("cursor", "the cursor is not one this list gave out")
}

/// One page of a list, as API.md answers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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

/// The most index items one list request examines before it answers with what it found and a cursor (so a
/// selective filter costs bounded work per request, like a DynamoDB FilterExpression with a Limit).
pub const LIST_EXAMINE_BUDGET: usize = 1000;

/// Reads a query page by page, keeping the items `keep` accepts, until `limit` are kept, the query ends, or
/// [`LIST_EXAMINE_BUDGET`] items were examined. Answers the kept items and the cursor to continue from (after
/// the last kept item when the page filled up mid-page, else where the store stopped).
pub async fn filtered_page(
    app: &App,
    query: Query,
    limit: usize,
    mut keep: impl FnMut(&Item) -> bool,
) -> Result<(Vec<Item>, Option<Cursor>), TableError> {
    let index = query.index;
    let mut cursor = query.cursor.clone();
    let mut kept = Vec::new();
    let mut examined = 0usize;
    loop {
        let page_size = (limit - kept.len()).clamp(25, 200);
        let page = app.table.query(query.clone().limit(page_size).after(cursor)).await?;
        examined += page.items.len();
        for item in page.items {
            if keep(&item) {
                kept.push(item);
                if kept.len() == limit {
                    let next = Cursor::after(kept.last().expect("one kept"), index)?;
                    return Ok((kept, Some(next)));
                }
            }
        }
        cursor = page.cursor;
        if cursor.is_none() || examined >= LIST_EXAMINE_BUDGET {
            return Ok((kept, cursor));
        }
    }
}

/// [`filtered_page`] over typed records: each item read is parsed into `R` (an item that does not parse fails
/// the read: the list does not skip what it cannot understand), and `keep` sees the record.
pub async fn filtered_records<R: Record>(
    app: &App,
    query: Query,
    limit: usize,
    mut keep: impl FnMut(&R) -> bool,
) -> Result<(Vec<R>, Option<Cursor>), TableError> {
    let mut records = Vec::new();
    let mut failed = None;
    let (_, cursor) = filtered_page(app, query, limit, |item| {
        if failed.is_some() {
            return false;
        }
        match R::from_ref(item) {
            Ok(r) if keep(&r) => {
                records.push(r);
                true
            }
            Ok(_) => false,
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })
    .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok((records, cursor)),
    }
}
