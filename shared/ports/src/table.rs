//! A table shaped like the subset of DynamoDB Kefu uses.
//!
//! Items are JSON objects. Every item has the string key attributes `pk` and `sk`; two secondary indexes are
//! projected from `gsi1pk`/`gsi1sk` and `gsi2pk`/`gsi2sk` when an item carries them; a numeric `ttl` attribute
//! (seconds since the epoch) marks an item that reads — and the `Exists`/`NotExists` conditions — treat as gone
//! once that time has passed. The pure evaluation of conditions and updates lives here too, so every adapter
//! that has to evaluate them itself (the embedded one) shares one definition.

use std::cmp::Ordering;

use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// An item: attribute name → value.
pub type Item = Map<String, Value>;

/// The partition key attribute.
pub const PK: &str = "pk";
/// The sort key attribute.
pub const SK: &str = "sk";
/// The expiry attribute (epoch seconds).
pub const TTL: &str = "ttl";
/// The most operations one transaction takes, as in DynamoDB.
pub const MAX_TX_ITEMS: usize = 100;

/// Why a table operation failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TableError {
    /// The operation's condition did not hold; nothing changed.
    #[error("condition failed")]
    ConditionFailed,
    /// A transaction was cancelled; nothing changed. `failed` lists the positions of the operations whose
    /// condition did not hold.
    #[error("transaction cancelled: conditions failed at {failed:?}")]
    TransactionCanceled {
        /// Positions (0-based) of the failing operations.
        failed: Vec<usize>,
    },
    /// Another transaction touched the same items at the same time; retry.
    #[error("transaction conflict")]
    Conflict,
    /// The request is malformed (missing key attributes, too many operations, a bad cursor…).
    #[error("invalid request: {0}")]
    Invalid(String),
    /// The backend failed; the operation may be retried.
    #[error("table unavailable: {0}")]
    Unavailable(String),
}

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    /// Partition key.
    pub pk: String,
    /// Sort key.
    pub sk: String,
}

impl Key {
    /// A key from its two parts.
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        Self { pk: pk.into(), sk: sk.into() }
    }

    /// The key of an item, if it carries both key attributes as strings.
    pub fn of(item: &Item) -> Result<Self, TableError> {
        let (pk, sk) = Self::parts_of(item)?;
        Ok(Self { pk: pk.to_owned(), sk: sk.to_owned() })
    }

    /// [`Key::of`], borrowed from the item: its partition and sort keys.
    pub fn parts_of(item: &Item) -> Result<(&str, &str), TableError> {
        let part = |name: &str| {
            item.get(name)
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .ok_or_else(|| TableError::Invalid(format!("item lacks a non-empty string `{name}`")))
        };
        Ok((part(PK)?, part(SK)?))
    }

    /// An item: this key's attributes plus the fields of `fields` (a JSON object; anything else adds nothing).
    pub fn with(&self, fields: Value) -> Item {
        let mut item = self.to_item();
        if let Value::Object(m) = fields {
            item.extend(m);
        }
        item
    }

    /// The key as an item holding only the key attributes.
    pub fn to_item(&self) -> Item {
        let mut m = Map::new();
        m.insert(PK.into(), Value::String(self.pk.clone()));
        m.insert(SK.into(), Value::String(self.sk.clone()));
        m
    }
}

/// A global secondary index. Both project every attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// `gsi1pk` / `gsi1sk`.
    Gsi1,
    /// `gsi2pk` / `gsi2sk`.
    Gsi2,
}

impl Index {
    /// Every index, for adapters that maintain them.
    pub const ALL: [Index; 2] = [Index::Gsi1, Index::Gsi2];

    /// The index name, as in the template.
    pub fn name(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1",
            Index::Gsi2 => "gsi2",
        }
    }

    /// The index's partition key attribute.
    pub fn pk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1pk",
            Index::Gsi2 => "gsi2pk",
        }
    }

    /// The index's sort key attribute.
    pub fn sk_attr(self) -> &'static str {
        match self {
            Index::Gsi1 => "gsi1sk",
            Index::Gsi2 => "gsi2sk",
        }
    }

    /// The item's key in this index, when it has one (both attributes present as strings).
    pub fn key_of(self, item: &Item) -> Option<(String, String)> {
        let pk = item.get(self.pk_attr())?.as_str()?;
        let sk = item.get(self.sk_attr())?.as_str()?;
        Some((pk.to_owned(), sk.to_owned()))
    }
}

/// A comparison operator for conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A typed write condition. It is evaluated against the item as stored before the write.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The item exists and has not expired.
    Exists,
    /// The item does not exist, or has expired.
    NotExists,
    /// The attribute is present.
    AttrExists(String),
    /// The attribute is absent.
    AttrNotExists(String),
    /// The attribute compares to the value (numbers numerically, strings by bytes; other pairs are false).
    Cmp {
        /// Attribute name.
        attr: String,
        /// Operator.
        op: CmpOp,
        /// Right-hand side.
        value: Value,
    },
    /// Every condition holds.
    And(Vec<Condition>),
    /// At least one condition holds.
    Or(Vec<Condition>),
}

impl Condition {
    /// `attr op value`.
    pub fn cmp(attr: impl Into<String>, op: CmpOp, value: impl Into<Value>) -> Self {
        Self::Cmp { attr: attr.into(), op, value: value.into() }
    }

    /// `attr = value`.
    pub fn eq(attr: impl Into<String>, value: impl Into<Value>) -> Self {
        Self::cmp(attr, CmpOp::Eq, value)
    }

    /// Optimistic concurrency: the stored `version` is `expected` (0 means the item must not exist yet).
    pub fn version(expected: u64) -> Self {
        if expected == 0 { Self::NotExists } else { Self::eq("version", expected) }
    }

    /// Evaluates the condition against the stored item (`None` when absent) at `now` (epoch seconds).
    pub fn evaluate(&self, item: Option<&Item>, now: i64) -> bool {
        let live = item.filter(|i| !is_expired(i, now));
        match self {
            Condition::Exists => live.is_some(),
            Condition::NotExists => live.is_none(),
            Condition::AttrExists(a) => item.is_some_and(|i| i.contains_key(a)),
            Condition::AttrNotExists(a) => !item.is_some_and(|i| i.contains_key(a)),
            Condition::Cmp { attr, op, value } => {
                let Some(left) = item.and_then(|i| i.get(attr)) else { return *op == CmpOp::Ne };
                match (op, compare(left, value)) {
                    (CmpOp::Ne, None) => true,
                    (_, None) => false,
                    (op, Some(ord)) => match op {
                        CmpOp::Eq => ord == Ordering::Equal,
                        CmpOp::Ne => ord != Ordering::Equal,
                        CmpOp::Lt => ord == Ordering::Less,
                        CmpOp::Le => ord != Ordering::Greater,
                        CmpOp::Gt => ord == Ordering::Greater,
                        CmpOp::Ge => ord != Ordering::Less,
                    },
                }
            }
            Condition::And(all) => all.iter().all(|c| c.evaluate(item, now)),
            Condition::Or(any) => any.iter().any(|c| c.evaluate(item, now)),
        }
    }
}

/// Orders two attribute values the way DynamoDB conditions do: numbers numerically, strings by UTF-8 bytes,
/// booleans and nulls only for equality; `None` when they are not comparable.
pub fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_i64(), y.as_i64()) {
            (Some(x), Some(y)) => Some(x.cmp(&y)),
            _ => x.as_f64()?.partial_cmp(&y.as_f64()?),
        },
        (Value::String(x), Value::String(y)) => Some(x.as_bytes().cmp(y.as_bytes())),
        (Value::Bool(x), Value::Bool(y)) if x == y => Some(Ordering::Equal),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        (x, y) if x == y => Some(Ordering::Equal),
        _ => None,
    }
}

/// Whether the item carries a `ttl` at or before `now` (epoch seconds).
pub fn is_expired(item: &Item, now: i64) -> bool {
    ttl_passed(item.get(TTL), now)
}

/// Whether an item whose `ttl` attribute is `ttl` has expired at `now` (seconds): a whole number of seconds
/// at or before `now`. Anything else (absent, text, a fraction) never expires.
pub fn ttl_passed(ttl: Option<&Value>, now: i64) -> bool {
    ttl.and_then(Value::as_i64).is_some_and(|t| t <= now)
}

/// An item as an adapter read it ([`Table::get_stored`]): an [`Item`], or the item's JSON text, which a
/// typed reader can read straight into its struct without building the attribute map first.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// The attributes.
    Item(Item),
    /// A JSON object of the attributes, as the embedded store keeps them.
    Json(Vec<u8>),
}

impl Stored {
    /// The attributes, parsing the JSON text if that is what was read.
    pub fn into_item(self) -> Result<Item, TableError> {
        match self {
            Stored::Item(item) => Ok(item),
            Stored::Json(text) => serde_json::from_slice(&text)
                .map_err(|e| TableError::Invalid(format!("a stored item is not a JSON object: {e}"))),
        }
    }
}

/// One change an update makes.
#[derive(Debug, Clone, PartialEq)]
pub enum UpdateAction {
    /// Sets an attribute.
    Set(String, Value),
    /// Sets an attribute only when it is absent.
    SetIfAbsent(String, Value),
    /// Adds to a numeric attribute (absent counts as 0).
    Add(String, i64),
    /// Removes an attribute.
    Remove(String),
}

/// An update: the changes applied, in order, to the stored item (or to an empty item with the key, when absent).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Update {
    /// The changes.
    pub actions: Vec<UpdateAction>,
}

impl Update {
    /// An update that changes nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `attr` to `value`.
    pub fn set(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.actions.push(UpdateAction::Set(attr.into(), value.into()));
        self
    }

    /// Sets `attr` to `value` when it is absent.
    pub fn set_if_absent(mut self, attr: impl Into<String>, value: impl Into<Value>) -> Self {
        self.actions.push(UpdateAction::SetIfAbsent(attr.into(), value.into()));
        self
    }

    /// Adds `by` to the number `attr`.
    pub fn add(mut self, attr: impl Into<String>, by: i64) -> Self {
        self.actions.push(UpdateAction::Add(attr.into(), by));
        self
    }

    /// Removes `attr`.
    pub fn remove(mut self, attr: impl Into<String>) -> Self {
        self.actions.push(UpdateAction::Remove(attr.into()));
        self
    }

    /// Checks the update does not touch the key and names each attribute at most once (as DynamoDB requires).
    pub fn validate(&self) -> Result<(), TableError> {
        let mut seen = std::collections::HashSet::new();
        for a in &self.actions {
            let name = match a {
                UpdateAction::Set(n, _)
                | UpdateAction::SetIfAbsent(n, _)
                | UpdateAction::Add(n, _)
                | UpdateAction::Remove(n) => n,
            };
            if name == PK || name == SK {
                return Err(TableError::Invalid("an update cannot change the key".into()));
            }
            if name.is_empty() || !seen.insert(name.as_str()) {
                return Err(TableError::Invalid(format!("attribute `{name}` named twice or empty")));
            }
        }
        if self.actions.is_empty() {
            return Err(TableError::Invalid("an update needs at least one action".into()));
        }
        Ok(())
    }

    /// Applies the update to `item` (the stored item, or the bare key when absent).
    pub fn apply(&self, item: &mut Item) -> Result<(), TableError> {
        for a in &self.actions {
            match a {
                UpdateAction::Set(n, v) => {
                    item.insert(n.clone(), v.clone());
                }
                UpdateAction::SetIfAbsent(n, v) => {
                    item.entry(n.clone()).or_insert_with(|| v.clone());
                }
                UpdateAction::Add(n, by) => {
                    let current = match item.get(n) {
                        None => 0,
                        Some(v) => v.as_i64().ok_or_else(|| TableError::Invalid(format!("`{n}` is not an integer")))?,
                    };
                    item.insert(n.clone(), Value::from(current + by));
                }
                UpdateAction::Remove(n) => {
                    item.remove(n);
                }
            }
        }
        Ok(())
    }
}

/// A condition on the sort key of a query (of the table or of an index).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkCondition {
    /// Equal.
    Eq(String),
    /// Starts with.
    BeginsWith(String),
    /// Between, both ends included.
    Between(String, String),
    /// Less than.
    Lt(String),
    /// At most.
    Le(String),
    /// Greater than.
    Gt(String),
    /// At least.
    Ge(String),
}

impl SkCondition {
    /// Whether a sort key satisfies the condition (byte order).
    pub fn matches(&self, sk: &str) -> bool {
        let sk = sk.as_bytes();
        match self {
            SkCondition::Eq(v) => sk == v.as_bytes(),
            SkCondition::BeginsWith(p) => sk.starts_with(p.as_bytes()),
            SkCondition::Between(a, b) => sk >= a.as_bytes() && sk <= b.as_bytes(),
            SkCondition::Lt(v) => sk < v.as_bytes(),
            SkCondition::Le(v) => sk <= v.as_bytes(),
            SkCondition::Gt(v) => sk > v.as_bytes(),
            SkCondition::Ge(v) => sk >= v.as_bytes(),
        }
    }
}

/// Where a page ended: opaque to callers, the same encoding in every adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(pub String);

impl Cursor {
    /// The cursor after `item`, for a query of the table or of `index`.
    pub fn after(item: &Item, index: Option<Index>) -> Result<Self, TableError> {
        let mut key = Key::of(item)?.to_item();
        if let Some(ix) = index {
            let (p, s) = ix.key_of(item).ok_or_else(|| TableError::Invalid("item lacks the index key".into()))?;
            key.insert(ix.pk_attr().into(), Value::String(p));
            key.insert(ix.sk_attr().into(), Value::String(s));
        }
        Ok(Self::from_key_item(&key))
    }

    /// The cursor for a key item (the table key plus, for an index, the index key).
    pub fn from_key_item(key: &Item) -> Self {
        Self(URL_SAFE_NO_PAD.encode(serde_json::to_vec(key).expect("a map serialises")))
    }

    /// The key item this cursor stands for; `Invalid` when it was not made by [`Cursor::after`].
    pub fn key_item(&self) -> Result<Item, TableError> {
        let bad = || TableError::Invalid("bad cursor".into());
        let bytes = URL_SAFE_NO_PAD.decode(self.0.as_bytes()).map_err(|_| bad())?;
        let item: Item = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        Key::of(&item).map_err(|_| bad())?;
        if item.values().any(|v| !v.is_string()) || item.len() > 4 {
            return Err(bad());
        }
        Ok(item)
    }
}

/// A query: one partition of the table or of an index, optionally narrowed by sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `None` for the table itself.
    pub index: Option<Index>,
    /// The partition key value.
    pub pk: String,
    /// Narrowing on the sort key.
    pub sk: Option<SkCondition>,
    /// Ascending sort key order when true.
    pub forward: bool,
    /// At most this many items in the page.
    pub limit: Option<usize>,
    /// Continue after this cursor.
    pub cursor: Option<Cursor>,
}

impl Query {
    /// All of a partition of the table, ascending.
    pub fn partition(pk: impl Into<String>) -> Self {
        Self { index: None, pk: pk.into(), sk: None, forward: true, limit: None, cursor: None }
    }

    /// All of a partition of `index`, ascending.
    pub fn index(index: Index, pk: impl Into<String>) -> Self {
        Self { index: Some(index), ..Self::partition(pk) }
    }

    /// Narrows by sort key.
    pub fn sk(mut self, cond: SkCondition) -> Self {
        self.sk = Some(cond);
        self
    }

    /// Only sort keys that start with `prefix`.
    pub fn prefix(self, prefix: impl Into<String>) -> Self {
        self.sk(SkCondition::BeginsWith(prefix.into()))
    }

    /// Descending order.
    pub fn backwards(mut self) -> Self {
        self.forward = false;
        self
    }

    /// Caps the page size.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = Some(n);
        self
    }

    /// Continues after a cursor.
    pub fn after(mut self, cursor: Option<Cursor>) -> Self {
        self.cursor = cursor;
        self
    }
}

/// One page of a query.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    /// The items, in the query's order, expired ones left out.
    pub items: Vec<Item>,
    /// Present when there may be more; pass it back to continue.
    pub cursor: Option<Cursor>,
}

/// One operation of a transaction.
#[derive(Debug, Clone, PartialEq)]
pub enum TxOp {
    /// Put an item (replacing any).
    Put {
        /// The item, with its key.
        item: Item,
        /// Must hold first.
        condition: Option<Condition>,
    },
    /// Update an item.
    Update {
        /// Which item.
        key: Key,
        /// The changes.
        update: Update,
        /// Must hold first.
        condition: Option<Condition>,
    },
    /// Delete an item.
    Delete {
        /// Which item.
        key: Key,
        /// Must hold first.
        condition: Option<Condition>,
    },
    /// Only check a condition.
    Check {
        /// Which item.
        key: Key,
        /// Must hold.
        condition: Condition,
    },
}

impl TxOp {
    /// The key the operation touches.
    pub fn key(&self) -> Result<Key, TableError> {
        let (pk, sk) = self.key_parts()?;
        Ok(Key::new(pk, sk))
    }

    /// [`TxOp::key`], borrowed: the partition and sort keys of the item the operation touches.
    pub fn key_parts(&self) -> Result<(&str, &str), TableError> {
        match self {
            TxOp::Put { item, .. } => Key::parts_of(item),
            TxOp::Update { key, .. } | TxOp::Delete { key, .. } | TxOp::Check { key, .. } => {
                Ok((key.pk.as_str(), key.sk.as_str()))
            }
        }
    }

    /// The condition that must hold, if any.
    pub fn condition(&self) -> Option<&Condition> {
        match self {
            TxOp::Put { condition, .. } | TxOp::Update { condition, .. } | TxOp::Delete { condition, .. } => {
                condition.as_ref()
            }
            TxOp::Check { condition, .. } => Some(condition),
        }
    }
}

/// Checks a transaction the way DynamoDB does: 1..=100 operations, each item at most once, valid keys.
pub fn validate_transaction(ops: &[TxOp]) -> Result<(), TableError> {
    if ops.is_empty() || ops.len() > MAX_TX_ITEMS {
        return Err(TableError::Invalid(format!(
            "a transaction takes 1..={MAX_TX_ITEMS} operations, got {}",
            ops.len()
        )));
    }
    let mut seen = std::collections::HashSet::with_capacity(ops.len());
    for op in ops {
        if !seen.insert(op.key_parts()?) {
            return Err(TableError::Invalid("a transaction touches an item twice".into()));
        }
        if let TxOp::Update { update, .. } = op {
            update.validate()?;
        }
    }
    Ok(())
}

/// Counts of the work an adapter did, for the "items read and written per message" numbers. Every adapter
/// counts alike, as DynamoDB bills requests (`kefu_conformance::table::stats_count_alike` holds them to it), so
/// the embedded store's figures compare with DynamoDB's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TableStats {
    /// Items read: one per get (found or not), each item a query returns, each `Check` of a transaction that
    /// went through. A write's own condition is part of the write, not a read.
    pub items_read: u64,
    /// Items written: each put, update or delete that went through, alone or in a transaction. A refused
    /// request writes nothing.
    pub items_written: u64,
    /// Round trips to the store.
    pub requests: u64,
}

/// The table port.
#[async_trait]
pub trait Table: Send + Sync {
    /// The item under `key`, unless absent or expired.
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError>;
    /// [`Table::get`], answering the item in the form the adapter read it ([`Stored`]), for a reader that
    /// wants a typed struct rather than the attribute map. Counts as a `get`. By default, the item `get` reads.
    async fn get_stored(&self, key: &Key) -> Result<Option<Stored>, TableError> {
        Ok(self.get(key).await?.map(Stored::Item))
    }
    /// Stores `item`, replacing any, when `condition` holds.
    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError>;
    /// Applies `update` to the item (creating it from its key when absent) when `condition` holds; returns the
    /// item as it now stands.
    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, TableError>;
    /// Deletes the item when `condition` holds; returns what was stored, if anything.
    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, TableError>;
    /// One page of a query.
    async fn query(&self, query: Query) -> Result<Page, TableError>;
    /// All of the operations, or none of them.
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError>;
    /// The work done so far by this adapter instance.
    fn stats(&self) -> TableStats;
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(v: Value) -> Item {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn conditions_follow_dynamodb() {
        let i = item(json!({"pk": "a", "sk": "b", "n": 5, "s": "x", "ttl": 100}));
        assert!(Condition::Exists.evaluate(Some(&i), 99));
        assert!(!Condition::Exists.evaluate(Some(&i), 100));
        assert!(Condition::NotExists.evaluate(Some(&i), 100));
        assert!(Condition::NotExists.evaluate(None, 0));
        assert!(Condition::cmp("n", CmpOp::Gt, 4).evaluate(Some(&i), 0));
        assert!(!Condition::cmp("n", CmpOp::Gt, "4").evaluate(Some(&i), 0));
        assert!(Condition::cmp("missing", CmpOp::Ne, 1).evaluate(Some(&i), 0));
        assert!(!Condition::eq("missing", 1).evaluate(Some(&i), 0));
        assert!(Condition::Or(vec![Condition::eq("s", "y"), Condition::eq("s", "x")]).evaluate(Some(&i), 0));
        assert!(!Condition::And(vec![Condition::eq("s", "y"), Condition::eq("s", "x")]).evaluate(Some(&i), 0));
    }

    #[test]
    fn updates_apply_in_order() {
        let mut i = Key::new("a", "b").to_item();
        Update::new().set("x", 1).add("n", 3).set_if_absent("y", "keep").apply(&mut i).unwrap();
        Update::new().add("n", 2).set_if_absent("y", "no").remove("x").apply(&mut i).unwrap();
        assert_eq!(Value::Object(i), json!({"pk": "a", "sk": "b", "n": 5, "y": "keep"}));
        assert!(Update::new().set("pk", "z").validate().is_err());
    }

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let i = item(json!({"pk": "a", "sk": "b", "gsi1pk": "g", "gsi1sk": "h", "other": 1}));
        let c = Cursor::after(&i, Some(Index::Gsi1)).unwrap();
        assert_eq!(Value::Object(c.key_item().unwrap()), json!({"pk": "a", "sk": "b", "gsi1pk": "g", "gsi1sk": "h"}));
        assert!(Cursor("not base64!".into()).key_item().is_err());
        assert!(Cursor(URL_SAFE_NO_PAD.encode(b"{\"pk\":1}")).key_item().is_err());
    }
}
