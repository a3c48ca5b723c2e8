//! `POST /v1/customers` (`customers.edit`, staff or an API key): an integration pushes a customer it knows by
//! its own `external_id`. A new one is created (201); an `external_id` already claimed answers the same
//! customer (200), with the fields sent replacing the stored ones (as a PATCH would, its sensitive changes
//! audited masked). Without `external_id` it always creates.

use std::collections::BTreeMap;

use kefu_domain::{CustomerGroupId, CustomerId, Email, ExternalId, Name, Phone, TagName, ValidationError};
use kefu_ports::table::{TableError, TxOp};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::{
    Contact, CustomerError, CustomerPatch, CustomerRecord, MAX_ATTRIBUTES, by_external_id, load, new_customer_ops,
    update,
};
use crate::App;
use crate::identity::accounts::Principal;
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// `POST /v1/customers` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewCustomer {
    /// The integration's own id for the customer (1..=128 characters, no spaces): the upsert key.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// Customer group id.
    #[serde(default)]
    pub group_id: Option<String>,
    /// Tag names.
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    /// Custom attributes (short strings, numbers or booleans).
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Option<Object>))]
    pub attributes: Option<Map<String, Value>>,
}

impl NewCustomer {
    /// The same fields as a PATCH of an existing customer (only those sent).
    fn as_patch(&self) -> CustomerPatch {
        CustomerPatch {
            name: self.name.clone().map(Some),
            email: self.email.clone().map(Some),
            phone: self.phone.clone().map(Some),
            group_id: self.group_id.clone().map(Some),
            tags: self.tags.clone(),
            attributes: self.attributes.clone(),
        }
    }

    fn sends_fields(&self) -> bool {
        self.name.is_some()
            || self.email.is_some()
            || self.phone.is_some()
            || self.group_id.is_some()
            || self.tags.is_some()
            || self.attributes.is_some()
    }
}

/// Checks custom attributes as `PATCH` does: 1..=64-character names, short scalar values, at most
/// [`MAX_ATTRIBUTES`]; nulls are left out.
fn attributes(attrs: &Map<String, Value>) -> Result<Map<String, Value>, ValidationError> {
    let mut out = Map::new();
    for (k, v) in attrs {
        if k.is_empty() || k.chars().count() > 64 {
            return Err(ValidationError::new(format!("attributes.{k}"), "names are 1 to 64 characters"));
        }
        if v.is_object() || v.is_array() || v.to_string().len() > 1000 {
            return Err(ValidationError::new(format!("attributes.{k}"), "must be a short string, number or bool"));
        }
        if !v.is_null() {
            out.insert(k.clone(), v.clone());
        }
    }
    if out.len() > MAX_ATTRIBUTES {
        return Err(ValidationError::new("attributes", format!("at most {MAX_ATTRIBUTES} attributes")));
    }
    Ok(out)
}

/// Whether the customer was made now or already existed, and the item as it now stands.
#[derive(Debug, Clone)]
pub struct Upserted {
    /// Made by this request (201) rather than found by its `external_id` (200).
    pub created: bool,
    /// The customer as stored.
    pub item: CustomerRecord,
}

/// Creates the customer, or updates the one its `external_id` names; audited (`customer.create`, or
/// `customer.update` with the sensitive changes masked).
pub async fn upsert(app: &App, by: &Principal, body: &NewCustomer) -> Result<Upserted, CustomerError> {
    let tenant = &by.tenant_id;
    let external_id = body.external_id.as_deref().map(|e| ExternalId::parse(e, "external_id")).transpose()?;
    let contact = Contact {
        external_id: external_id.clone(),
        name: body.name.as_deref().map(|n| Name::parse(n, "name")).transpose()?,
        email: body.email.as_deref().map(Email::parse).transpose()?,
        phone: body.phone.as_deref().map(|p| Phone::parse(p, "phone")).transpose()?,
        attributes: BTreeMap::new(),
    };
    let tags = body.tags.as_deref().map(|t| TagName::parse_list(t, "tags")).transpose()?;
    let attrs = body.attributes.as_ref().map(attributes).transpose()?;
    let group = match body.group_id.as_deref() {
        Some(g) => {
            let g = CustomerGroupId::parse(g).ok_or_else(|| ValidationError::new("group_id", "no such group"))?;
            if app.table.get(&keys::customer_group(tenant, &g)).await?.is_none() {
                return Err(ValidationError::new("group_id", "no such group").into());
            }
            Some(g)
        }
        None => None,
    };
    for _ in 0..3 {
        if let Some(ext) = &external_id
            && let Some(id) = by_external_id(app, tenant, ext).await?
        {
            let current = load(app, tenant, &id).await?.ok_or(CustomerError::NotFound)?;
            if !body.sends_fields() {
                return Ok(Upserted { created: false, item: current });
            }
            let sensitive =
                super::sensitive::changes(&current, &body.email.clone().map(Some), &body.phone.clone().map(Some))?;
            let entry = by.audit("customer.update").detail(json!({"upsert": true, "sensitive": sensitive}));
            let item = update(app, tenant, &id, body.as_patch(), entry).await?;
            return Ok(Upserted { created: false, item });
        }
        let id = CustomerId::generate();
        let now = app.now();
        let mut ops = new_customer_ops(tenant, &id, &contact, now);
        let Some(TxOp::Put { item, .. }) = ops.first_mut() else {
            unreachable!("new_customer_ops puts the customer first")
        };
        if let Some(g) = &group {
            item.insert("group_id".into(), json!(g));
            item.insert("gsi2pk".into(), json!(keys::customers_of_group_index(tenant, g)));
            item.insert("gsi2sk".into(), json!(id));
        }
        if let Some(tags) = &tags {
            item.insert("tags".into(), json!(tags.iter().map(TagName::as_str).collect::<Vec<_>>()));
        }
        if let Some(attrs) = &attrs {
            item.insert("attributes".into(), Value::Object(attrs.clone()));
        }
        let stored = item.clone();
        let entry = by.audit("customer.create").target("customer", &id).detail(json!({
            "external_id": external_id.as_ref().map(ExternalId::as_str),
        }));
        match crate::audit::commit(app, ops, Vec::new(), vec![entry]).await {
            Ok(()) => {
                let item = CustomerRecord::from_item(stored).map_err(TableError::from)?;
                return Ok(Upserted { created: true, item });
            }
            // Another request claimed the external_id first: answer that customer.
            Err(TableError::TransactionCanceled { .. } | TableError::Conflict) if external_id.is_some() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(CustomerError::CHANGED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_checked_as_a_patch_checks_them() {
        let ok = json!({"plan": "gold", "orders": 3, "vip": true, "gone": null});
        let out = attributes(ok.as_object().unwrap()).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(attributes(json!({"a": [1]}).as_object().unwrap()).unwrap_err().field, "attributes.a");
        assert_eq!(attributes(json!({"": 1}).as_object().unwrap()).unwrap_err().field, "attributes.");
        let many: Map<String, Value> = (0..=MAX_ATTRIBUTES).map(|i| (format!("k{i}"), json!(i))).collect();
        assert_eq!(attributes(&many).unwrap_err().field, "attributes");
        let body = NewCustomer { external_id: Some("x".into()), ..NewCustomer::default() };
        assert!(!body.sends_fields());
        let patch = NewCustomer { email: Some("a@b.test".into()), ..body }.as_patch();
        assert_eq!(patch.email, Some(Some("a@b.test".into())));
        assert!(patch.name.is_none());
    }
}
