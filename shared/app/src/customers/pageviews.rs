//! The customer's page trail: each `POST /v1/widget/pageviews` is one small record in the customer's
//! partition (sort key by time, a `ttl` of [`keys::PAGEVIEW_TTL_DAYS`] days), written without reading
//! anything, so the widget's call costs one write; the profile reads the newest
//! [`kefu_domain::pageview::TRAIL_LEN`] with one query.

use kefu_domain::pageview::{Pageview, TRAIL_LEN};
use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::{Item, Key, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record;

/// `POST /v1/widget/pageviews` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PageviewBody {
    /// The page's absolute http(s) address.
    pub url: String,
    /// Its title.
    #[serde(default)]
    pub title: Option<String>,
}

/// A page of the trail as the profile shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PageView {
    /// The address.
    pub url: String,
    /// The title, when the widget sent one.
    pub title: Option<String>,
    /// When the visitor opened it.
    pub viewed_at: String,
}

/// A page view as stored: `T#{t}#CUST#{cu}` / `PAGE#{ULID}` (the customer and the order are only in the key, so
/// it is written with `record::item_of`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageviewRecord {
    /// The page's address, as `Pageview::parse` kept it.
    pub url: String,
    /// Its title, null when the widget sent none.
    pub title: Option<String>,
    /// When the visitor opened it.
    pub viewed_at: jiff::Timestamp,
    /// When the store drops it (epoch seconds, `keys::PAGEVIEW_TTL_DAYS` after).
    pub ttl: i64,
}

impl PageviewRecord {
    /// The `type` attribute of a page-view item.
    pub const TYPE: &'static str = "pageview";

    /// The item to store under `key`.
    pub fn item(&self, key: Key) -> Item {
        let mut item = record::item_of(key, self);
        item.insert("type".into(), Value::String(Self::TYPE.into()));
        item
    }
}

/// Records that customer `id` opened a page (one write; nothing read).
pub async fn record(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    body: &PageviewBody,
) -> Result<(), super::CustomerError> {
    let view = Pageview::parse(&body.url, body.title.as_deref())?;
    let now = app.now();
    let ulid = next_id(now);
    let ttl = now.as_second() + keys::PAGEVIEW_TTL_DAYS * 86_400;
    let item = PageviewRecord { url: view.url, title: view.title, viewed_at: now, ttl }
        .item(keys::customer_pageview(tenant, id, &ulid));
    app.table.put(item, None).await?;
    Ok(())
}

/// A page view's sort key, strictly increasing within this process even for views in the same millisecond, so
/// the trail keeps the order the pages were opened in.
fn next_id(at: jiff::Timestamp) -> String {
    static LAST: std::sync::Mutex<(u64, u128)> = std::sync::Mutex::new((0, 0));
    let ms = u64::try_from(at.as_millisecond()).unwrap_or(0);
    let mut last = LAST.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (ms, random) = if ms <= last.0 {
        (last.0, last.1.wrapping_add(1) & ((1u128 << 80) - 1))
    } else {
        (ms, rand::random::<u128>() & ((1u128 << 79) - 1))
    };
    *last = (ms, random);
    ulid::Ulid::from_parts(ms, random).to_string()
}

fn view_of(item: &Item) -> Option<PageView> {
    PageView::deserialize(item).ok()
}

/// The newest [`TRAIL_LEN`] pages customer `id` opened, newest first.
pub async fn recent(app: &App, tenant: &TenantId, id: &CustomerId) -> Result<Vec<PageView>, TableError> {
    let q = Query::partition(keys::customer_pk(tenant, id))
        .prefix(keys::CUSTOMER_PAGEVIEW_PREFIX)
        .backwards()
        .limit(TRAIL_LEN);
    Ok(app.table.query(q).await?.items.iter().filter_map(view_of).collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_page_view_is_stored_as_before_and_reads_back() {
        let (t, cu) = (TenantId::generate(), CustomerId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let key = keys::customer_pageview(&t, &cu, "01JD2Q8M6Y7N3F0ZK5T9W4XH2C");
        let r = PageviewRecord { url: "https://acme.test/p".into(), title: None, viewed_at: at, ttl: 7 };
        let expected = key.clone().with(json!({
            "type": "pageview", "url": "https://acme.test/p", "title": null, "viewed_at": at, "ttl": 7,
        }));
        assert_eq!(r.item(key), expected);
        assert_eq!(record::parse::<PageviewRecord>(PageviewRecord::TYPE, expected).unwrap(), r);
    }
}
