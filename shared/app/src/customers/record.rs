//! The customer and customer-group items as stored: one struct each, converted to and from the table's item by
//! [`Record`] (docs/data-model.md lists their attributes).

use jiff::Timestamp;
use kefu_domain::routing::Priority;
use kefu_domain::{ConversationId, CustomerGroupId, CustomerId, TagName, TenantId};
use kefu_ports::table::Key;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// A customer's profile: `T#{t}#CUST#{cu}` / `CUST`, in the tenant's customer index (gsi1) and, with a group, in
/// that group's (gsi2). Written whole when a visitor first comes; changed afterwards by updates conditioned on
/// `version`, which never replace the item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerRecord {
    /// Its id.
    pub customer_id: CustomerId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Name, as validated (`Name`).
    #[serde(default)]
    pub name: Option<String>,
    /// Email, trimmed and lower-cased (`Email`).
    #[serde(default)]
    pub email: Option<String>,
    /// Phone (`Phone`).
    #[serde(default)]
    pub phone: Option<String>,
    /// The tenant's own id for the visitor (claimed by `T#{t}` / `CUSTEXT#{external_id}`).
    #[serde(default)]
    pub external_id: Option<String>,
    /// Its customer group (null: none).
    #[serde(default)]
    pub group_id: Option<CustomerGroupId>,
    /// Tag names.
    #[serde(default)]
    pub tags: Vec<TagName>,
    /// Custom attributes (a flat object).
    #[serde(default)]
    pub attributes: Map<String, Value>,
    /// The search terms stored for it (`T#{t}#CUSTSEARCH` / `{term}#{cu}`), to replace them when it changes.
    #[serde(default)]
    pub search_terms: Vec<String>,
    /// When the customer first came.
    pub created_at: Timestamp,
    /// The last change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// Optimistic concurrency: every change is conditioned on the version read and adds 1.
    pub version: u64,
}

impl Record for CustomerRecord {
    const TYPE: &'static str = "customer";

    fn key(&self) -> Key {
        keys::customer(&self.tenant_id, &self.customer_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        let mut index =
            vec![("gsi1pk", keys::customers_index(&self.tenant_id)), ("gsi1sk", self.customer_id.to_string())];
        if let Some(g) = &self.group_id {
            index.push(("gsi2pk", keys::customers_of_group_index(&self.tenant_id, g)));
            index.push(("gsi2sk", self.customer_id.to_string()));
        }
        index
    }
}

/// A customer group: `T#{t}` / `CGROUP#{g}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerGroupRecord {
    /// Its id.
    pub group_id: CustomerGroupId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its name.
    pub name: String,
    /// The priority its customers' new conversations get.
    pub priority: Priority,
    /// When it was created.
    pub created_at: Timestamp,
}

impl Record for CustomerGroupRecord {
    const TYPE: &'static str = "customer_group";

    fn key(&self) -> Key {
        keys::customer_group(&self.tenant_id, &self.group_id)
    }
}

/// A lookup that names a customer: the external-id claim (`T#{t}` / `CUSTEXT#{external_id}`) and each search
/// term (`T#{t}#CUSTSEARCH` / `{term}#{cu}`). No `type`; the key says what it is, so it is written with
/// `record::item_of`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerPointerRecord {
    /// The customer.
    pub customer_id: CustomerId,
}

/// The pointer from a customer to one of its conversations (no `type`; written with `record::item_of`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationPointerRecord {
    /// The conversation.
    pub conversation_id: ConversationId,
    /// When it started.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_pointers_are_stored_as_before() {
        use crate::plumbing::record::{item_of, parse};
        let (t, cu, c) = (TenantId::generate(), CustomerId::generate(), ConversationId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let ext = keys::customer_external(&t, "u-1");
        let expected = ext.clone().with(json!({"customer_id": cu}));
        assert_eq!(item_of(ext, &CustomerPointerRecord { customer_id: cu.clone() }), expected);
        assert_eq!(parse::<CustomerPointerRecord>("customer pointer", expected).unwrap().customer_id, cu);
        let key = keys::customer_conversation(&t, &cu, &c);
        let r = ConversationPointerRecord { conversation_id: c.clone(), created_at: at };
        let expected = key.clone().with(json!({"conversation_id": c, "created_at": at}));
        assert_eq!(item_of(key, &r), expected);
        assert_eq!(parse::<ConversationPointerRecord>("conversation pointer", expected).unwrap(), r);
    }

    #[test]
    fn a_customer_is_stored_as_before_and_a_group_adds_its_index() {
        let (t, cu) = (TenantId::generate(), CustomerId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let mut c = CustomerRecord {
            customer_id: cu.clone(),
            tenant_id: t.clone(),
            name: Some("Li Lei".into()),
            email: None,
            phone: None,
            external_id: Some("u-1".into()),
            group_id: None,
            tags: Vec::new(),
            attributes: json!({"plan": "gold"}).as_object().unwrap().clone(),
            search_terms: vec!["N:li lei".into(), "N:lei".into()],
            created_at: at,
            updated_at: None,
            version: 1,
        };
        let expected = keys::customer(&t, &cu).with(json!({
            "type": "customer", "customer_id": cu, "tenant_id": t, "name": "Li Lei", "email": null, "phone": null,
            "external_id": "u-1", "group_id": null, "tags": [], "attributes": {"plan": "gold"},
            "search_terms": ["N:li lei", "N:lei"], "created_at": at, "version": 1,
            "gsi1pk": keys::customers_index(&t), "gsi1sk": cu,
        }));
        assert_eq!(c.to_item(), expected);
        assert_eq!(CustomerRecord::from_item(expected).unwrap(), c);
        let g = CustomerGroupId::generate();
        c.group_id = Some(g.clone());
        assert_eq!(c.to_item()["gsi2pk"], keys::customers_of_group_index(&t, &g));
    }

    #[test]
    fn a_group_round_trips_and_a_bad_priority_is_an_error() {
        let (t, g) = (TenantId::generate(), CustomerGroupId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let r = CustomerGroupRecord {
            group_id: g.clone(),
            tenant_id: t.clone(),
            name: "VIP".into(),
            priority: Priority::High,
            created_at: at,
        };
        let item = r.to_item();
        assert_eq!(item["priority"], "high");
        assert_eq!(CustomerGroupRecord::from_ref(&item).unwrap(), r);
        let mut bad = item;
        bad.insert("priority".into(), json!("urgent"));
        assert!(CustomerGroupRecord::from_item(bad).unwrap_err().reason.starts_with("priority"));
    }
}
