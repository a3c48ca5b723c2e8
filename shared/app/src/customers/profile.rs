//! The customer's profile as `GET /v1/customers/{id}` answers it: the customer, its latest purchases, its page
//! trail and how many conversations it has started, read at once (three reads besides the customer, none a
//! scan).

use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::TableError;
use serde::Serialize;

use super::pageviews::{self, PageView};
use super::purchases::{self, PurchaseView};
use super::{CustomerRecord, CustomerView};
use crate::App;

/// A customer with what an agent wants beside it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CustomerProfile {
    /// The customer.
    #[serde(flatten)]
    pub customer: CustomerView,
    /// The latest 20 purchases, newest first.
    pub purchases: Vec<PurchaseView>,
    /// The last 50 pages it opened, newest first.
    pub recent_pages: Vec<PageView>,
    /// How many conversations it has started.
    pub conversations_count: u64,
}

/// The profile of the stored customer (masked unless `sensitive`).
pub async fn profile(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    customer: &CustomerRecord,
    sensitive: bool,
) -> Result<CustomerProfile, TableError> {
    let (purchases, recent_pages, conversations_count) = futures::try_join!(
        purchases::latest(app, tenant, id),
        pageviews::recent(app, tenant, id),
        super::counts::conversations(app, tenant, id),
    )?;
    Ok(CustomerProfile {
        customer: CustomerView::of(customer, sensitive),
        purchases,
        recent_pages,
        conversations_count,
    })
}
