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

pub mod counts;
pub mod error;
pub mod pageviews;
pub mod profile;
pub mod purchases;
pub mod search;
pub mod sensitive;
pub mod upsert;

pub use error::CustomerError;

fn text(item: &Item, k: &str) -> Option<String> {
    item.get(k).and_then(Value::as_str).map(str::to_owned)
}

fn strings(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
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
    pub fn from_item(item: &Item, sensitive: bool) -> Self {
        let email = text(item, "email");
        let phone = text(item, "phone");
        Self {
            id: text(item, "customer_id").unwrap_or_default(),
            name: text(item, "name"),
            email: if sensitive { email } else { email.as_deref().map(mask_email) },
            phone: if sensitive { phone } else { phone.as_deref().map(mask_phone) },
            external_id: text(item, "external_id"),
            group_id: text(item, "group_id"),
            tags: strings(item, "tags"),
            attributes: item.get("attributes").filter(|v| v.is_object()).cloned().unwrap_or_else(|| json!({})),
            created_at: text(item, "created_at").unwrap_or_default(),
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
    let item = keys::customer(tenant, id).with(json!({
        "type": "customer", "customer_id": id, "tenant_id": tenant,
        "name": contact.name.as_ref().map(Name::as_str), "email": contact.email.as_ref().map(Email::as_str),
        "phone": contact.phone.as_ref().map(Phone::as_str),
        "external_id": contact.external_id.as_ref().map(ExternalId::as_str),
        "group_id": null, "tags": [], "attributes": contact.attributes, "search_terms": terms, "created_at": at, "version": 1,
        "gsi1pk": keys::customers_index(tenant), "gsi1sk": id,
    }));
    let mut ops = vec![TxOp::Put { item, condition: Some(Condition::NotExists) }];
    if let Some(ext) = &contact.external_id {
        ops.push(TxOp::Put {
            item: keys::customer_external(tenant, ext.as_str()).with(json!({"customer_id": id})),
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
    current: &Item,
    contact: &Contact,
    at: jiff::Timestamp,
) -> Vec<TxOp> {
    let missing = |k: &str| text(current, k).is_none();
    let mut update = Update::new();
    let mut next = current.clone();
    let mut changed = false;
    for (k, v) in [
        ("name", contact.name.as_ref().map(Name::as_str)),
        ("email", contact.email.as_ref().map(Email::as_str)),
        ("phone", contact.phone.as_ref().map(Phone::as_str)),
    ] {
        if let Some(v) = v.filter(|_| missing(k)) {
            update = update.set(k, v);
            next.insert(k.into(), json!(v));
            changed = true;
        }
    }
    if !contact.attributes.is_empty() {
        let mut merged = current.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
        for (k, v) in &contact.attributes {
            if merged.len() < MAX_ATTRIBUTES || merged.contains_key(k) {
                merged.insert(k.clone(), json!(v));
            }
        }
        if current.get("attributes").and_then(Value::as_object) != Some(&merged) {
            update = update.set("attributes", Value::Object(merged));
            changed = true;
        }
    }
    if !changed {
        return Vec::new();
    }
    let version = current.get("version").and_then(Value::as_u64).unwrap_or(1);
    let phone = text(&next, "phone").and_then(|p| Phone::parse(&p, "phone").ok());
    let terms = search_terms(text(&next, "name").as_deref(), text(&next, "email").as_deref(), phone.as_ref());
    let old_terms = strings(current, "search_terms");
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
    keys::customer_search(tenant, term, id).with(json!({"customer_id": id}))
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

/// A customer of this tenant.
pub async fn load(app: &App, tenant: &TenantId, id: &CustomerId) -> Result<Option<Item>, TableError> {
    app.table.get(&keys::customer(tenant, id)).await
}

/// The priority a customer's conversations get: its group's, `normal` without one.
pub async fn priority_of(app: &App, tenant: &TenantId, customer: Option<&Item>) -> Result<Priority, TableError> {
    let Some(g) = customer.and_then(|c| text(c, "group_id")).and_then(|g| CustomerGroupId::parse(&g)) else {
        return Ok(Priority::Normal);
    };
    Ok(app
        .table
        .get(&keys::customer_group(tenant, &g))
        .await?
        .and_then(|g| text(&g, "priority"))
        .and_then(|p| Priority::parse(&p))
        .unwrap_or(Priority::Normal))
}

/// The pointer from a customer to one of its conversations, written with the conversation (pure).
pub fn conversation_pointer_op(tenant: &TenantId, cu: &CustomerId, c: &ConversationId, at: jiff::Timestamp) -> TxOp {
    TxOp::Put {
        item: keys::customer_conversation(tenant, cu, c).with(json!({"conversation_id": c, "created_at": at})),
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
    let group = filter.group_id.as_ref().map(CustomerGroupId::as_str);
    let keep = |c: &Item| {
        group.is_none_or(|g| text(c, "group_id").as_deref() == Some(g))
            && filter.tag.as_ref().is_none_or(|t| strings(c, "tags").iter().any(|x| x == t.as_str()))
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
        let items = loaded.into_iter().flatten().filter(|c| keep(c)).map(|c| CustomerView::from_item(&c, sensitive));
        return Ok(ListPage::new(items.collect(), page.cursor));
    }
    let query = match &filter.group_id {
        Some(g) => Query::index(Index::Gsi2, keys::customers_of_group_index(tenant, g)),
        None => Query::index(Index::Gsi1, keys::customers_index(tenant)),
    };
    let query = params.apply(query)?.backwards();
    let (items, next) = crate::plumbing::pages::filtered_page(app, query, params.limit, keep).await?;
    Ok(ListPage::new(items.iter().map(|c| CustomerView::from_item(c, sensitive)).collect(), next))
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
/// one transaction. Answers the item as it now stands.
///
/// `audit` (the caller's `customer.update` entry) is committed in the same transaction.
pub async fn update(
    app: &App,
    tenant: &TenantId,
    id: &CustomerId,
    patch: CustomerPatch,
    audit: AuditEntry,
) -> Result<Item, CustomerError> {
    let current = load(app, tenant, id).await?.ok_or(CustomerError::NotFound)?;
    let version = current.get("version").and_then(Value::as_u64).unwrap_or(1);
    let mut next = current.clone();
    let mut update = Update::new();
    let set = |update: &mut Update, next: &mut Item, k: &str, v: Option<String>| {
        *update = std::mem::take(update).set(k, json!(v));
        next.insert(k.into(), json!(v));
    };
    if let Some(name) = patch.name {
        let v = name.map(|n| Name::parse(&n, "name")).transpose()?.map(|n| n.as_str().to_owned());
        set(&mut update, &mut next, "name", v);
    }
    if let Some(email) = patch.email {
        let v = email.map(|e| Email::parse(&e)).transpose()?.map(|e| e.as_str().to_owned());
        set(&mut update, &mut next, "email", v);
    }
    if let Some(phone) = patch.phone {
        let v = phone.map(|p| Phone::parse(&p, "phone")).transpose()?.map(|p| p.as_str().to_owned());
        set(&mut update, &mut next, "phone", v);
    }
    if let Some(group) = patch.group_id {
        match group {
            Some(g) => {
                let g = CustomerGroupId::parse(&g).ok_or_else(|| ValidationError::new("group_id", "no such group"))?;
                if app.table.get(&keys::customer_group(tenant, &g)).await?.is_none() {
                    return Err(ValidationError::new("group_id", "no such group").into());
                }
                update =
                    update.set("gsi2pk", json!(keys::customers_of_group_index(tenant, &g))).set("gsi2sk", json!(id));
                set(&mut update, &mut next, "group_id", Some(g.to_string()));
            }
            None => {
                update = update.remove("gsi2pk").remove("gsi2sk");
                set(&mut update, &mut next, "group_id", None);
            }
        }
    }
    if let Some(tags) = patch.tags {
        let tags = TagName::parse_list(&tags, "tags")?;
        let names: Vec<&str> = tags.iter().map(TagName::as_str).collect();
        update = update.set("tags", json!(names));
        next.insert("tags".into(), json!(names));
    }
    if let Some(attrs) = patch.attributes {
        let mut merged = current.get("attributes").and_then(Value::as_object).cloned().unwrap_or_default();
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
        next.insert("attributes".into(), Value::Object(merged));
    }
    let phone = text(&next, "phone").and_then(|p| Phone::parse(&p, "phone").ok());
    let terms = search_terms(text(&next, "name").as_deref(), text(&next, "email").as_deref(), phone.as_ref());
    let old_terms = strings(&current, "search_terms");
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
    next.insert("updated_at".into(), json!(now));
    next.insert("version".into(), json!(version + 1));
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
    pub priority: String,
    /// Created at.
    pub created_at: String,
}

impl CustomerGroupView {
    /// The view of a stored group.
    pub fn from_item(item: &Item) -> Self {
        Self {
            id: text(item, "group_id").unwrap_or_default(),
            name: text(item, "name").unwrap_or_default(),
            priority: text(item, "priority").unwrap_or_else(|| "normal".into()),
            created_at: text(item, "created_at").unwrap_or_default(),
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
    Ok(ListPage::from_page(page, CustomerGroupView::from_item))
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
    let item = keys::customer_group(tenant, &id).with(json!({
        "type": "customer_group", "group_id": id, "tenant_id": tenant, "name": name.as_str(),
        "priority": priority.as_str(), "created_at": app.now(),
    }));
    let op = TxOp::Put { item: item.clone(), condition: Some(Condition::NotExists) };
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("customer_group", &id)]).await?;
    Ok(CustomerGroupView::from_item(&item))
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
            Ok(CustomerGroupView::from_item(&item))
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
