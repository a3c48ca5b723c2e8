//! Purchases a shop pushes onto a customer (`GET|POST /v1/customers/{id}/purchases`, `customers.edit`, usually
//! an API key): one record per order id, so re-posting an order updates it; listed newest first through the
//! customer's purchases index; the profile shows the latest [`PROFILE_PURCHASES`].

use kefu_domain::purchase::Purchase;
use kefu_domain::{CustomerId, TenantId};
use kefu_ports::table::{Index, Item, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{CustomerError, load};
use crate::App;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};

/// How many purchases the profile shows.
pub const PROFILE_PURCHASES: usize = 20;

/// `POST /v1/customers/{id}/purchases` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PurchaseBody {
    /// The shop's order id (1..=64 characters): re-posting it updates the order.
    pub order_id: String,
    /// The amount, a decimal number or string (`199.00`), exact to the currency's minor unit.
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub amount: Value,
    /// ISO 4217 code (`CNY`).
    pub currency: String,
    /// The items: names, or `{"name", "quantity"}`.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Vec<Object>))]
    pub items: Vec<Value>,
    /// When it was bought (RFC 3339).
    pub purchased_at: String,
}

/// One item of a purchase as shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PurchaseItemView {
    /// What.
    pub name: String,
    /// How many.
    pub quantity: u32,
}

/// A purchase as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PurchaseView {
    /// The shop's order id.
    pub order_id: String,
    /// The amount as an exact decimal string (`199.00`).
    pub amount: String,
    /// ISO 4217 code.
    pub currency: String,
    /// The items.
    pub items: Vec<PurchaseItemView>,
    /// When it was bought.
    pub purchased_at: String,
    /// When it was last posted.
    pub updated_at: String,
}

/// A purchase as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PurchaseRecord {
    customer_id: CustomerId,
    tenant_id: TenantId,
    #[serde(flatten)]
    purchase: Purchase,
    updated_at: jiff::Timestamp,
}

impl PurchaseRecord {
    fn to_item(&self) -> Item {
        let (t, cu) = (&self.tenant_id, &self.customer_id);
        let mut item = keys::customer_purchase(t, cu, self.purchase.order_id.as_str())
            .with(serde_json::to_value(self).expect("a purchase serializes"));
        item.insert("type".into(), json!("purchase"));
        item.insert("gsi1pk".into(), json!(keys::customer_purchases_index(t, cu)));
        item.insert(
            "gsi1sk".into(),
            json!(format!("{:015}#{}", self.purchase.purchased_at.as_millisecond(), self.purchase.order_id.as_str())),
        );
        item
    }

    fn of_item(item: &Item) -> Option<Self> {
        Self::deserialize(item).map_err(|e| tracing::warn!(error = %e, "unreadable purchase record; skipped")).ok()
    }

    fn view(&self) -> PurchaseView {
        let p = &self.purchase;
        PurchaseView {
            order_id: p.order_id.as_str().to_owned(),
            amount: p.amount.to_decimal(),
            currency: p.amount.currency.as_str().to_owned(),
            items: p.items.iter().map(|i| PurchaseItemView { name: i.name.clone(), quantity: i.quantity }).collect(),
            purchased_at: p.purchased_at.to_string(),
            updated_at: self.updated_at.to_string(),
        }
    }
}

/// Records (or, for an order id already recorded, replaces) a purchase of customer `id`; audited
/// (`customer.purchase`). Answers whether it is new, and the purchase.
pub async fn record(
    app: &App,
    by: &Principal,
    id: &CustomerId,
    body: &PurchaseBody,
) -> Result<(bool, PurchaseView), CustomerError> {
    let tenant = &by.tenant_id;
    load(app, tenant, id).await?.ok_or(CustomerError::NotFound)?;
    let now = app.now();
    let purchase = Purchase::parse(&body.order_id, &body.amount, &body.currency, &body.items, &body.purchased_at, now)?;
    let key = keys::customer_purchase(tenant, id, purchase.order_id.as_str());
    let existed = app.table.get(&key).await?.is_some();
    let record = PurchaseRecord { customer_id: id.clone(), tenant_id: tenant.clone(), purchase, updated_at: now };
    let entry = by.audit("customer.purchase").target("customer", id).detail(json!({
        "order_id": record.purchase.order_id.as_str(), "updated": existed,
    }));
    let op = TxOp::Put { item: record.to_item(), condition: None };
    crate::audit::commit(app, vec![op], Vec::new(), vec![entry]).await?;
    Ok((!existed, record.view()))
}

/// A page of customer `id`'s purchases, newest first.
pub async fn list(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    params: &PageRequest,
) -> Result<ListPage<PurchaseView>, CustomerError> {
    load(app, tenant, id).await?.ok_or(CustomerError::NotFound)?;
    let q = params.apply(Query::index(Index::Gsi1, keys::customer_purchases_index(tenant, id)))?.backwards();
    let page = app.table.query(q).await?;
    let items = page.items.iter().filter_map(PurchaseRecord::of_item).map(|r| r.view()).collect();
    Ok(ListPage::new(items, page.cursor))
}

/// The latest [`PROFILE_PURCHASES`] purchases of a customer (for its profile).
pub async fn latest(app: &App, tenant: &TenantId, id: &CustomerId) -> Result<Vec<PurchaseView>, TableError> {
    let q = Query::index(Index::Gsi1, keys::customer_purchases_index(tenant, id)).backwards().limit(PROFILE_PURCHASES);
    let page = app.table.query(q).await?;
    Ok(page.items.iter().filter_map(PurchaseRecord::of_item).map(|r| r.view()).collect())
}
