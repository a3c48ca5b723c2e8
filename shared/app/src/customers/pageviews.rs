//! The customer's page trail: each `POST /v1/widget/pageviews` is one small record in the customer's
//! partition (sort key by time, a `ttl` of [`keys::PAGEVIEW_TTL_DAYS`] days), written without reading
//! anything, so the widget's call costs one write; the profile reads the newest
//! [`kefu_domain::pageview::TRAIL_LEN`] with one query.

use kefu_domain::pageview::{Pageview, TRAIL_LEN};
use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::{Item, Query, TableError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::plumbing::keys;

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
    let item = keys::customer_pageview(tenant, id, &ulid).with(json!({
        "type": "pageview", "url": view.url, "title": view.title, "viewed_at": now, "ttl": ttl,
    }));
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
    serde_json::from_value(Value::Object(item.clone())).ok()
}

/// The newest [`TRAIL_LEN`] pages customer `id` opened, newest first.
pub async fn recent(app: &App, tenant: &TenantId, id: &CustomerId) -> Result<Vec<PageView>, TableError> {
    let q = Query::partition(keys::customer_pk(tenant, id))
        .prefix(keys::CUSTOMER_PAGEVIEW_PREFIX)
        .backwards()
        .limit(TRAIL_LEN);
    Ok(app.table.query(q).await?.items.iter().filter_map(view_of).collect())
}
