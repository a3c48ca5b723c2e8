//! Reading a filtered list from the table page by page: the shared helper of every list whose filter the
//! index cannot express (a tag, a group alongside a search), with a bound on how much one request examines.

use kefu_ports::table::{Cursor, Item, Query, TableError};

use crate::App;
use crate::plumbing::record::Record;

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
