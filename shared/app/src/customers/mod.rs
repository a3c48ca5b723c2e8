//! Customers and customer groups: the profiles visitors get when they start a conversation (a returning
//! `external_id` finds the same one), the groups that give their conversations a priority (VIP first), and
//! search by name, email or phone without a scan (prefix queries on stored search terms).

use kefu_domain::customer::{SearchKind, search_prefix, search_terms};
use kefu_domain::routing::Priority;
use kefu_domain::{
    ConversationId, CustomerGroupId, CustomerId, Email, ExternalId, Name, Permission, Phone, TagName, TenantId,
    ValidationError,
};
use kefu_ports::table::{Condition, Index, Item, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::App;
use crate::audit::AuditEntry;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::{Record, item_of};

pub mod counts;
pub mod error;
pub mod pageviews;
pub mod profile;
pub mod purchases;
pub mod record;
pub mod search;
pub mod sensitive;
pub mod upsert;

pub use error::CustomerError;
pub use record::{ConversationPointerRecord, CustomerGroupRecord, CustomerPointerRecord, CustomerRecord};

fn text(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(Value::as_str).map(str::to_owned)
}

/// A customer as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CustomerView {
    /// Customer id (`cu_…`).
    pub id: String,
    /// Name, when the visitor gave one.
    pub name: Option<String>,
    /// Email (masked without `customers.view_sensitive`).
    pub email: Option<String>,
    /// Phone (masked without `customers.view_sensitive`).
    pub phone: Option<String>,
    /// The tenant's own id for the visitor.
    pub external_id: Option<String>,
    /// Customer group.
    pub group_id: Option<String>,
    /// Tag names.
    pub tags: Vec<String>,
    /// Custom attributes.
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub attributes: Value,
    /// When the customer first came.
    pub created_at: String,
}

/// Whether the reader sees personal data unmasked.
pub fn sees_sensitive(principal: &Principal) -> bool {
    principal.permissions.has(Permission::CustomersViewSensitive)
}

/// The single call site of email masking.
fn mask_email(email: &str) -> String {
    kefu_domain::masking::mask_email(email)
}

/// The single call site of phone masking.
fn mask_phone(phone: &str) -> String {
    kefu_domain::masking::mask_phone(phone)
}

impl CustomerView {
    /// The view of a stored customer, masked unless `sensitive`.
    pub fn of(c: &CustomerRecord, sensitive: bool) -> Self {
        let (email, phone) = (c.email.clone(), c.phone.clone());
        Self {
            id: c.customer_id.to_string(),
            name: c.name.clone(),
            email: if sensitive { email } else { email.as_deref().map(mask_email) },
            phone: if sensitive { phone } else { phone.as_deref().map(mask_phone) },
            external_id: c.external_id.clone(),
            group_id: c.group_id.as_ref().map(ToString::to_string),
            tags: c.tags.iter().map(|t| t.as_str().to_owned()).collect(),
            attributes: Value::Object(c.attributes.clone()),
            created_at: c.created_at.to_string(),
        }
    }
}

/// The contact data a visitor gives the widget, validated.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    /// The tenant's own id for the visitor.
    pub external_id: Option<ExternalId>,
    /// Name.
    pub name: Option<Name>,
    /// Email.
    pub email: Option<Email>,
    /// Phone.
    pub phone: Option<Phone>,
    /// Custom attributes the visitor gave (its pre-chat answers): set on a new customer; on a returning one they
    /// replace the attributes of the same names.
    pub attributes: std::collections::BTreeMap<String, String>,
}

/// A new customer's item plus its search-term items (pure).
pub fn new_customer_ops(tenant: &TenantId, id: &CustomerId, contact: &Contact, at: jiff::Timestamp) -> Vec<TxOp> {
    let terms = search_terms(
        contact.name.as_ref().map(Name::as_str),
        contact.email.as_ref().map(Email::as_str),
        contact.phone.as_ref(),
    );
    let item = CustomerRecord {
        customer_id: id.clone(),
        tenant_id: tenant.clone(),
        name: contact.name.as_ref().map(|n| n.as_str().to_owned()),
        email: contact.email.as_ref().map(|e| e.as_str().to_owned()),
        phone: contact.phone.as_ref().map(|p| p.as_str().to_owned()),
        external_id: contact.external_id.as_ref().map(|x| x.as_str().to_owned()),
        group_id: None,
        tags: Vec::new(),
        attributes: contact.attributes.iter().map(|(k, v)| (k.clone(), Value::from(v.as_str()))).collect(),
        search_terms: terms.clone(),
        created_at: at,
        updated_at: None,
        version: 1,
    }
    .to_item();
    let mut ops = vec![TxOp::Put { item, condition: Some(Condition::NotExists) }];
    if let Some(ext) = &contact.external_id {
        ops.push(TxOp::Put {
            item: item_of(
                keys::customer_external(tenant, ext.as_str()),
                &CustomerPointerRecord { customer_id: id.clone() },
            ),
            condition: Some(Condition::NotExists),
        });
    }
    ops.extend(terms.iter().map(|t| TxOp::Put { item: term_item(tenant, t, id), condition: None }));
    ops
}

/// What a returning visitor's contact data adds to its profile (pure): the name, email and phone the profile
/// lacks, with their search terms, on condition that the profile is still the version read. Nothing (no
/// operation) when it adds nothing; what the profile already has is never overwritten by a visitor.
pub fn fill_missing_ops(
    tenant: &TenantId,
    id: &CustomerId,
    current: &CustomerRecord,
    contact: &Contact,
    at: jiff::Timestamp,
) -> Vec<TxOp> {
    let mut update = Update::new();
    let mut next = current.clone();
    let mut changed = false;
    for (k, slot, v) in [
        ("name", &mut next.name, contact.name.as_ref().map(Name::as_str)),
        ("email", &mut next.email, contact.email.as_ref().map(Email::as_str)),
        ("phone", &mut next.phone, contact.phone.as_ref().map(Phone::as_str)),
    ] {
        if let Some(v) = v.filter(|_| slot.is_none()) {
            update = update.set(k, v);
            *slot = Some(v.to_owned());
            changed = true;
        }
    }
    if !contact.attributes.is_empty() {
        let mut merged = current.attributes.clone();
        for (k, v) in &contact.attributes {
            if merged.len() < MAX_ATTRIBUTES || merged.contains_key(k) {
                merged.insert(k.clone(), json!(v));
            }
        }
        if current.attributes != merged {
            update = update.set("attributes", Value::Object(merged));
            changed = true;
        }
    }
    if !changed {
        return Vec::new();
    }
    let version = current.version;
    let phone = next.phone.as_deref().and_then(|p| Phone::parse(p, "phone").ok());
    let terms = search_terms(next.name.as_deref(), next.email.as_deref(), phone.as_ref());
    let old_terms = &current.search_terms;
    let update = update.set("search_terms", json!(terms)).set("updated_at", json!(at)).set("version", version + 1);
    let mut ops = vec![TxOp::Update {
        key: keys::customer(tenant, id),
        update,
        condition: Some(Condition::eq("version", version)),
    }];
    ops.extend(
        terms
            .iter()
            .filter(|t| !old_terms.contains(t))
            .map(|t| TxOp::Put { item: term_item(tenant, t, id), condition: None }),
    );
    ops
}

fn term_item(tenant: &TenantId, term: &str, id: &CustomerId) -> Item {
    item_of(keys::customer_search(tenant, term, id), &CustomerPointerRecord { customer_id: id.clone() })
}

/// The customer an `external_id` is claimed by, if any.
pub async fn by_external_id(app: &App, tenant: &TenantId, ext: &ExternalId) -> Result<Option<CustomerId>, TableError> {
    Ok(app
        .table
        .get(&keys::customer_external(tenant, ext.as_str()))
        .await?
        .and_then(|c| text(&c, "customer_id"))
        .and_then(|s| CustomerId::parse(&s)))
}

/// A customer of this tenant (an item that does not parse is an error).
pub async fn load(app: &App, tenant: &TenantId, id: &CustomerId) -> Result<Option<CustomerRecord>, TableError> {
    match app.table.get(&keys::customer(tenant, id)).await? {
        Some(item) => Ok(Some(CustomerRecord::from_item(item)?)),
        None => Ok(None),
    }
}

/// The priority a customer's conversations get: its group's, `normal` without one (or when the group is gone).
pub async fn priority_of(
    app: &App,
    tenant: &TenantId,
    customer: Option<&CustomerRecord>,
) -> Result<Priority, TableError> {
    let Some(g) = customer.and_then(|c| c.group_id.as_ref()) else {
        return Ok(Priority::Normal);
    };
    match app.table.get(&keys::customer_group(tenant, g)).await? {
        Some(item) => Ok(CustomerGroupRecord::from_item(item)?.priority),
        None => Ok(Priority::Normal),
    }
}

/// The pointer from a customer to one of its conversations, written with the conversation (pure).
pub fn conversation_pointer_op(tenant: &TenantId, cu: &CustomerId, c: &ConversationId, at: jiff::Timestamp) -> TxOp {
    TxOp::Put {
        item: item_of(
            keys::customer_conversation(tenant, cu, c),
            &ConversationPointerRecord { conversation_id: c.clone(), created_at: at },
        ),
        condition: Some(Condition::NotExists),
    }
}

/// `GET /v1/customers` filters.
#[derive(Debug, Clone, Default)]
pub struct CustomerFilter {
    /// Prefix of a name, email or phone.
    pub q: Option<String>,
    /// Only this customer group.
    pub group_id: Option<CustomerGroupId>,
    /// Only customers with this tag.
    pub tag: Option<TagName>,
}

/// Lists customers. With `q`: a prefix query on the tenant's search terms (name; email and phone only for
/// readers with `customers.view_sensitive`), newest match first within a term, after (on the first page) the
/// customers whose external id starts with `q`. With `group_id`: the group's
/// index. Otherwise the tenant's customer index, by creation. `tag` (and `group_id` alongside `q`) filter each
/// page as read, so a page may hold fewer than `limit` items while `next_cursor` says there is more.
pub async fn list(
    app: &App,
    principal: &Principal,
    filter: &CustomerFilter,
    params: &PageRequest,
) -> Result<ListPage<CustomerView>, CustomerError> {
    let tenant = &principal.tenant_id;
    let sensitive = sees_sensitive(principal);
    let keep = |c: &CustomerRecord| {
        filter.group_id.as_ref().is_none_or(|g| c.group_id.as_ref() == Some(g))
            && filter.tag.as_ref().is_none_or(|t| c.tags.contains(t))
    };
    if let Some(q) = &filter.q {
        let (kind, prefix) = search_prefix(q)?;
        if kind != SearchKind::Name && !sensitive {
            return Err(CustomerError::Forbidden(
                "searching by email or phone needs the `customers.view_sensitive` permission",
            ));
        }
        let page =
            app.table.query(params.apply(Query::partition(keys::customer_search_pk(tenant)).prefix(prefix))?).await?;
        let mut ids: Vec<CustomerId> = Vec::new();
        // The first page also holds the customers whose external id starts with `q`.
        if params.cursor.is_none() {
            ids.extend(search::by_external_id_prefix(app, tenant, q, params.limit).await?);
        }
        for t in &page.items {
            if let Some(id) = text(t, "customer_id").and_then(|s| CustomerId::parse(&s))
                && !ids.contains(&id)
            {
                ids.push(id);
            }
        }
        let loaded = futures::future::try_join_all(ids.iter().map(|id| load(app, tenant, id))).await?;
        let items = loaded.into_iter().flatten().filter(|c| keep(c)).map(|c| CustomerView::of(&c, sensitive));
        return Ok(ListPage::new(items.collect(), page.cursor));
    }
    let query = match &filter.group_id {
        Some(g) => Query::index(Index::Gsi2, keys::customers_of_group_index(tenant, g)),
        None => Query::index(Index::Gsi1, keys::customers_index(tenant)),
    };
    let query = params.apply(query)?.backwards();
    let (items, next) = crate::plumbing::pages::filtered_records(app, query, params.limit, keep).await?;
    Ok(ListPage::new(items.iter().map(|c| CustomerView::of(c, sensitive)).collect(), next))
}

/// `PATCH /v1/customers/{id}` body: only the fields present change; `null` clears an optional one.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerPatch {
    /// Name (null clears it).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub name: Option<Option<String>>,
    /// Email (null clears it).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub email: Option<Option<String>>,
    /// Phone (null clears it).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub phone: Option<Option<String>>,
    /// Customer group id (null: no group).
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub group_id: Option<Option<String>>,
    /// Tag names (replace the list).
    pub tags: Option<Vec<String>>,
    /// Custom attributes: merged key by key; a null value removes that key.
    #[cfg_attr(feature = "http", schema(value_type = Option<Object>))]
    pub attributes: Option<Map<String, Value>>,
}

/// Tells a field sent as `null` (Some(None)) from one left out (None).
fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// The most custom attributes a customer carries.
pub const MAX_ATTRIBUTES: usize = 50;

/// Applies a patch: the profile update (conditioned on the version read), the search terms that changed, in
/// one transaction. Answers the customer as it now stands.
///
/// `audit` (the caller's `customer.update` entry) is committed in the same transaction.
pub async fn update(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    patch: CustomerPatch,
    audit: AuditEntry,
) -> Result<CustomerRecord, CustomerError> {
    let current = load(app, tenant, id).await?.ok_or(CustomerError::NotFound)?;
    let version = current.version;
    let mut next = current.clone();
    let mut update = Update::new();
    if let Some(name) = patch.name {
        next.name = name.map(|n| Name::parse(&n, "name")).transpose()?.map(|n| n.as_str().to_owned());
        update = update.set("name", json!(next.name));
    }
    if let Some(email) = patch.email {
        next.email = email.map(|e| Email::parse(&e)).transpose()?.map(|e| e.as_str().to_owned());
        update = update.set("email", json!(next.email));
    }
    if let Some(phone) = patch.phone {
        next.phone = phone.map(|p| Phone::parse(&p, "phone")).transpose()?.map(|p| p.as_str().to_owned());
        update = update.set("phone", json!(next.phone));
    }
    if let Some(group) = patch.group_id {
        match group {
            Some(g) => {
                let g = CustomerGroupId::parse(&g).ok_or_else(|| ValidationError::new("group_id", "no such group"))?;
                if app.table.get(&keys::customer_group(tenant, &g)).await?.is_none() {
                    return Err(ValidationError::new("group_id", "no such group").into());
                }
                update = update
                    .set("gsi2pk", json!(keys::customers_of_group_index(tenant, &g)))
                    .set("gsi2sk", json!(id))
                    .set("group_id", json!(g));
                next.group_id = Some(g);
            }
            None => {
                update = update.remove("gsi2pk").remove("gsi2sk").set("group_id", Value::Null);
                next.group_id = None;
            }
        }
    }
    if let Some(tags) = patch.tags {
        next.tags = TagName::parse_list(&tags, "tags")?;
        update = update.set("tags", json!(next.tags));
    }
    if let Some(attrs) = patch.attributes {
        let mut merged = current.attributes.clone();
        for (k, v) in attrs {
            if k.is_empty() || k.chars().count() > 64 {
                return Err(ValidationError::new(format!("attributes.{k}"), "names are 1 to 64 characters").into());
            }
            if v.is_null() {
                merged.remove(&k);
            } else if v.is_object() || v.is_array() || v.to_string().len() > 1000 {
                return Err(
                    ValidationError::new(format!("attributes.{k}"), "must be a short string, number or bool").into()
                );
            } else {
                merged.insert(k, v);
            }
        }
        if merged.len() > MAX_ATTRIBUTES {
            return Err(ValidationError::new("attributes", format!("at most {MAX_ATTRIBUTES} attributes")).into());
        }
        update = update.set("attributes", Value::Object(merged.clone()));
        next.attributes = merged;
    }
    let phone = next.phone.as_deref().and_then(|p| Phone::parse(p, "phone").ok());
    let terms = search_terms(next.name.as_deref(), next.email.as_deref(), phone.as_ref());
    let old_terms = &current.search_terms;
    let now = app.now();
    update = update.set("search_terms", json!(terms)).set("updated_at", json!(now)).set("version", json!(version + 1));
    let mut ops = vec![TxOp::Update {
        key: keys::customer(tenant, id),
        update,
        condition: Some(Condition::eq("version", version)),
    }];
    for t in old_terms.iter().filter(|t| !terms.contains(t)) {
        ops.push(TxOp::Delete { key: keys::customer_search(tenant, t, id), condition: None });
    }
    for t in terms.iter().filter(|t| !old_terms.contains(t)) {
        ops.push(TxOp::Put { item: term_item(tenant, t, id), condition: None });
    }
    match crate::audit::commit(app, ops, Vec::new(), vec![audit.target("customer", id)]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => return Err(CustomerError::CHANGED),
        Err(e) => return Err(e.into()),
    }
    next.search_terms = terms;
    next.updated_at = Some(now);
    next.version = version + 1;
    Ok(next)
}

/// A customer group as API.md shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CustomerGroupView {
    /// Group id (`cg_…`).
    pub id: String,
    /// Name.
    pub name: String,
    /// `high` | `normal` | `low`: the priority its customers' conversations get.
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub priority: Priority,
    /// Created at.
    pub created_at: String,
}

impl CustomerGroupView {
    /// The view of a stored group.
    pub fn of(g: &CustomerGroupRecord) -> Self {
        Self {
            id: g.group_id.to_string(),
            name: g.name.clone(),
            priority: g.priority,
            created_at: g.created_at.to_string(),
        }
    }
}

/// `POST /v1/customer_groups` and `PUT /v1/customer_groups/{id}` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct CustomerGroupBody {
    /// Name.
    pub name: String,
    /// `high` | `normal` | `low` (default `normal`).
    #[serde(default)]
    pub priority: Option<String>,
}

impl CustomerGroupBody {
    fn validate(&self) -> Result<(Name, Priority), ValidationError> {
        let name = Name::parse(&self.name, "name")?;
        let priority = match self.priority.as_deref() {
            Some(p) => {
                Priority::parse(p).ok_or_else(|| ValidationError::new("priority", "must be high, normal or low"))?
            }
            None => Priority::Normal,
        };
        Ok((name, priority))
    }
}

/// Every customer group of a tenant.
pub async fn groups(
    app: &App,
    tenant: &TenantId,
    params: &PageRequest,
) -> Result<ListPage<CustomerGroupView>, CustomerError> {
    let query = Query::partition(keys::tenant_pk(tenant)).prefix(keys::CUSTOMER_GROUP_PREFIX);
    let page = app.table.query(params.apply(query)?).await?;
    let items = page
        .items
        .into_iter()
        .map(|i| CustomerGroupRecord::from_item(i).map(|g| CustomerGroupView::of(&g)))
        .collect::<Result<_, _>>()
        .map_err(TableError::from)?;
    Ok(ListPage::new(items, page.cursor))
}

/// Creates a customer group, committed with `audit` (the caller's `customer_group.create` entry).
pub async fn create_group(
    app: &App,
    tenant: &TenantId,
    body: &CustomerGroupBody,
    audit: AuditEntry,
) -> Result<CustomerGroupView, CustomerError> {
    let (name, priority) = body.validate()?;
    let id = CustomerGroupId::generate();
    let group = CustomerGroupRecord {
        group_id: id,
        tenant_id: tenant.clone(),
        name: name.as_str().to_owned(),
        priority,
        created_at: app.now(),
    };
    let op = TxOp::Put { item: group.to_item(), condition: Some(Condition::NotExists) };
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("customer_group", &group.group_id)]).await?;
    Ok(CustomerGroupView::of(&group))
}

/// Renames a customer group or changes its priority (new conversations of its customers get the new one),
/// committed with `audit` (the caller's `customer_group.update` entry).
pub async fn update_group(
    app: &App,
    tenant: &TenantId,
    id: &str,
    body: &CustomerGroupBody,
    audit: AuditEntry,
) -> Result<CustomerGroupView, CustomerError> {
    let (name, priority) = body.validate()?;
    let id = CustomerGroupId::parse(id).ok_or(CustomerError::NotFound)?;
    let update = Update::new().set("name", name.as_str()).set("priority", priority.as_str());
    let key = keys::customer_group(tenant, &id);
    let op = TxOp::Update { key: key.clone(), update, condition: Some(Condition::Exists) };
    match crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("customer_group", &id)]).await {
        Ok(()) => {
            let item = app.table.get(&key).await?.ok_or(CustomerError::NotFound)?;
            Ok(CustomerGroupView::of(&CustomerGroupRecord::from_item(item).map_err(TableError::from)?))
        }
        Err(TableError::TransactionCanceled { .. }) => Err(CustomerError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a customer group that no customer belongs to any more (409 otherwise: move them first), committed
/// with `audit` (the caller's `customer_group.delete` entry).
pub async fn delete_group(app: &App, tenant: &TenantId, id: &str, audit: AuditEntry) -> Result<(), CustomerError> {
    let id = CustomerGroupId::parse(id).ok_or(CustomerError::NotFound)?;
    if app.table.get(&keys::customer_group(tenant, &id)).await?.is_none() {
        return Err(CustomerError::NotFound);
    }
    let members =
        app.table.query(Query::index(Index::Gsi2, keys::customers_of_group_index(tenant, &id)).limit(1)).await?;
    if !members.items.is_empty() {
        return Err(CustomerError::Conflict("the group still has customers; move them to another group first"));
    }
    let op = TxOp::Delete { key: keys::customer_group(tenant, &id), condition: None };
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("customer_group", &id)]).await?;
    Ok(())
}
