//! The table port on DynamoDB.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, Delete, Put, ReturnValue, TransactWriteItem, Update as DynamoUpdate,
};
use kefu_ports::table::{
    Condition, Cursor, Item, Key, PK, Page, Query, SK, SkCondition, Table, TableError, TableStats, TxOp, Update,
    is_expired, validate_transaction,
};
use kefu_ports::{Clock, SystemClock};
use serde_json::Value;

use crate::error::{code, describe, is_validation};
use crate::expr::Expr;

type Attributes = HashMap<String, AttributeValue>;

/// Sets a condition and the expression's placeholders on any DynamoDB request builder: the builders share these
/// method names but no trait.
macro_rules! with_expression {
    ($builder:expr, $cond:expr, $expr:expr) => {
        $builder
            .set_condition_expression($cond)
            .set_expression_attribute_names($expr.names())
            .set_expression_attribute_values($expr.values())
    };
}

/// A transaction part's builder result, its missing-field error as `Invalid`.
fn part<T>(built: Result<T, aws_sdk_dynamodb::error::BuildError>) -> Result<T, TableError> {
    built.map_err(|e| TableError::Invalid(e.to_string()))
}

/// One DynamoDB table (the single table of the template) behind the [`Table`] port.
///
/// Expiry is enforced at read time, because DynamoDB's TTL deletes items only eventually: reads drop items whose
/// `ttl` has passed and `Exists`/`NotExists` conditions test `ttl` against the adapter's clock.
pub struct DynamoTable {
    client: crate::LazyClient<Client>,
    table_name: String,
    clock: Arc<dyn Clock>,
    items_read: AtomicU64,
    items_written: AtomicU64,
    requests: AtomicU64,
}

impl std::fmt::Debug for DynamoTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoTable").field("table_name", &self.table_name).field("stats", &self.stats()).finish()
    }
}

impl DynamoTable {
    /// The adapter for `table_name`, judging expiry by the system clock.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, table_name: impl Into<String>) -> Self {
        Self::with_clock(client, table_name, Arc::new(SystemClock))
    }

    /// The adapter for `table_name`, judging expiry by `clock` (for previews and tests that move time).
    pub fn with_clock(
        client: impl Into<crate::LazyClient<Client>>,
        table_name: impl Into<String>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            client: client.into(),
            table_name: table_name.into(),
            clock,
            items_read: AtomicU64::new(0),
            items_written: AtomicU64::new(0),
            requests: AtomicU64::new(0),
        }
    }

    /// The table's name, for logs.
    pub fn table_name(&self) -> &str {
        &self.table_name
    }

    fn now(&self) -> i64 {
        self.clock.now().as_second()
    }

    fn count(&self, read: u64, written: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.items_read.fetch_add(read, Ordering::Relaxed);
        self.items_written.fetch_add(written, Ordering::Relaxed);
    }

    /// The live item from stored attributes: `None` when absent or expired.
    fn live(&self, attrs: Option<Attributes>) -> Result<Option<Item>, TableError> {
        let Some(attrs) = attrs.filter(|a| !a.is_empty()) else { return Ok(None) };
        let item = from_attributes(attrs)?;
        Ok((!is_expired(&item, self.now())).then_some(item))
    }
}

fn to_attributes(item: &Item) -> Result<Attributes, TableError> {
    serde_dynamo::to_item(item).map_err(|e| TableError::Invalid(format!("item not storable: {e}")))
}

fn from_attributes(attrs: Attributes) -> Result<Item, TableError> {
    serde_dynamo::from_item(attrs).map_err(|e| TableError::Unavailable(format!("unreadable item: {e}")))
}

fn key_attributes(key: &Key) -> Result<Attributes, TableError> {
    let checked = Key::of(&key.to_item())?;
    Ok(HashMap::from([(PK.to_owned(), AttributeValue::S(checked.pk)), (SK.to_owned(), AttributeValue::S(checked.sk))]))
}

/// Maps a single-item operation's error: a failed condition, a client mistake, or an unavailable service.
fn single<E>(err: SdkError<E>) -> TableError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let c = code(&err);
    if c == Some("ConditionalCheckFailedException") {
        TableError::ConditionFailed
    } else if is_validation(c) {
        TableError::Invalid(describe(&err))
    } else if matches!(c, Some("TransactionConflictException")) {
        TableError::Conflict
    } else {
        tracing::warn!(error = %describe(&err), "dynamodb request failed");
        TableError::Unavailable(describe(&err))
    }
}

/// Maps a transaction's error: cancellation reasons become failed positions or a conflict.
fn transaction(err: SdkError<TransactWriteItemsError>) -> TableError {
    if let SdkError::ServiceError(ctx) = &err {
        match ctx.err() {
            TransactWriteItemsError::TransactionCanceledException(e) => {
                let reasons = e.cancellation_reasons();
                let failed: Vec<usize> = reasons
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.code() == Some("ConditionalCheckFailed"))
                    .map(|(i, _)| i)
                    .collect();
                if !failed.is_empty() {
                    return TableError::TransactionCanceled { failed };
                }
                if reasons.iter().any(|r| r.code() == Some("TransactionConflict")) {
                    return TableError::Conflict;
                }
                if reasons.iter().any(|r| r.code() == Some("ValidationError")) {
                    return TableError::Invalid(describe(&err));
                }
                return TableError::Unavailable(describe(&err));
            }
            TransactWriteItemsError::TransactionInProgressException(_) => return TableError::Conflict,
            _ => {}
        }
    }
    single(err)
}

/// The exclusive start key a cursor stands for, checked against the query it is passed to.
fn start_key(cursor: &Cursor, query: &Query) -> Result<Attributes, TableError> {
    let key = cursor.key_item()?;
    let bad = || TableError::Invalid("cursor does not belong to this query".into());
    let (pk_attr, wanted) = match query.index {
        None => (PK, 2),
        Some(ix) => {
            ix.key_of(&key).ok_or_else(bad)?;
            (ix.pk_attr(), 4)
        }
    };
    if key.len() != wanted || key.get(pk_attr).and_then(Value::as_str) != Some(query.pk.as_str()) {
        return Err(bad());
    }
    Ok(key.into_iter().map(|(k, v)| (k, AttributeValue::S(v.as_str().unwrap_or_default().to_owned()))).collect())
}

/// The cursor for a last evaluated key, when no returned item can stand for it (all were expired).
fn cursor_of_key(attrs: Attributes, query: &Query) -> Result<Cursor, TableError> {
    let mut key = Item::new();
    let mut names = vec![PK, SK];
    if let Some(ix) = query.index {
        names.extend([ix.pk_attr(), ix.sk_attr()]);
    }
    for n in names {
        match attrs.get(n) {
            Some(AttributeValue::S(s)) => key.insert(n.to_owned(), Value::String(s.clone())),
            _ => return Err(TableError::Unavailable(format!("last evaluated key lacks `{n}`"))),
        };
    }
    Ok(Cursor::from_key_item(&key))
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        let out = self
            .client
            .get()
            .get_item()
            .table_name(&self.table_name)
            .set_key(Some(key_attributes(key)?))
            .consistent_read(true)
            .send()
            .await
            .map_err(single)?;
        let item = self.live(out.item)?;
        self.count(1, 0);
        Ok(item)
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        Key::of(&item)?;
        let mut expr = Expr::new(self.now());
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let request = self.client.get().put_item().table_name(&self.table_name).set_item(Some(to_attributes(&item)?));
        let result = with_expression!(request, cond, expr).send().await;
        self.count(0, u64::from(result.is_ok()));
        result.map(|_| ()).map_err(single)
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, TableError> {
        update.validate()?;
        let key = key_attributes(key)?;
        let mut expr = Expr::new(self.now());
        let text = expr.update(&update)?;
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let request =
            self.client.get().update_item().table_name(&self.table_name).set_key(Some(key)).update_expression(text);
        let result = with_expression!(request, cond, expr).return_values(ReturnValue::AllNew).send().await;
        self.count(0, u64::from(result.is_ok()));
        let out = result.map_err(single)?;
        from_attributes(out.attributes.unwrap_or_default())
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, TableError> {
        let key = key_attributes(key)?;
        let mut expr = Expr::new(self.now());
        let cond = condition.as_ref().map(|c| expr.condition(c)).transpose()?;
        let request = self.client.get().delete_item().table_name(&self.table_name).set_key(Some(key));
        let result = with_expression!(request, cond, expr).return_values(ReturnValue::AllOld).send().await;
        let out = result.map_err(|e| {
            self.count(0, 0);
            single(e)
        })?;
        self.count(0, 1);
        self.live(out.attributes)
    }

    async fn query(&self, query: Query) -> Result<Page, TableError> {
        let start = query.cursor.as_ref().map(|c| start_key(c, &query)).transpose()?;
        if let Some(SkCondition::Between(a, b)) = &query.sk
            && a > b
        {
            return Ok(Page::default());
        }
        if query.limit == Some(0) {
            return Ok(Page { items: Vec::new(), cursor: query.cursor.clone() });
        }
        let (pk_attr, sk_attr) = match query.index {
            None => (PK, SK),
            Some(ix) => (ix.pk_attr(), ix.sk_attr()),
        };
        let mut expr = Expr::new(self.now());
        let key_cond = expr.key_condition(pk_attr, &query.pk, sk_attr, query.sk.as_ref());
        let limit = query.limit.map(|n| i32::try_from(n).unwrap_or(i32::MAX));
        let out = self
            .client
            .get()
            .query()
            .table_name(&self.table_name)
            .set_index_name(query.index.map(|ix| ix.name().to_owned()))
            .key_condition_expression(key_cond)
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .scan_index_forward(query.forward)
            .set_limit(limit)
            .set_exclusive_start_key(start)
            // Indexes cannot be read consistently; the table can, so a write is seen by the next query.
            .set_consistent_read(query.index.is_none().then_some(true))
            .send()
            .await
            .map_err(|e| {
                self.count(0, 0);
                single(e)
            })?;
        let raw = out.items.unwrap_or_default();
        self.count(raw.len() as u64, 0);
        let now = self.now();
        let mut items = Vec::with_capacity(raw.len());
        for attrs in raw {
            let item = from_attributes(attrs)?;
            if !is_expired(&item, now) {
                items.push(item);
            }
        }
        let cursor = match (out.last_evaluated_key, items.last()) {
            (None, _) => None,
            (Some(lek), None) => Some(cursor_of_key(lek, &query)?),
            (Some(lek), Some(last)) => {
                // The last returned item stands for the last evaluated key unless that one was expired.
                let last_key = Key::of(last)?;
                let same = matches!((lek.get(PK), lek.get(SK)), (Some(AttributeValue::S(p)), Some(AttributeValue::S(s)))
                    if *p == last_key.pk && *s == last_key.sk);
                Some(if same { Cursor::after(last, query.index)? } else { cursor_of_key(lek, &query)? })
            }
        };
        Ok(Page { items, cursor })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        validate_transaction(&ops)?;
        let now = self.now();
        let mut items = Vec::with_capacity(ops.len());
        let (mut checks, mut writes) = (0u64, 0u64);
        for op in &ops {
            let mut expr = Expr::new(now);
            let cond = op.condition().map(|c| expr.condition(c)).transpose()?;
            let built = match op {
                TxOp::Put { item, .. } => {
                    let put = Put::builder().table_name(&self.table_name).set_item(Some(to_attributes(item)?));
                    TransactWriteItem::builder().put(part(with_expression!(put, cond, expr).build())?)
                }
                TxOp::Update { key, update, .. } => {
                    let text = expr.update(update)?;
                    let update = DynamoUpdate::builder()
                        .table_name(&self.table_name)
                        .set_key(Some(key_attributes(key)?))
                        .update_expression(text);
                    TransactWriteItem::builder().update(part(with_expression!(update, cond, expr).build())?)
                }
                TxOp::Delete { key, .. } => {
                    let delete = Delete::builder().table_name(&self.table_name).set_key(Some(key_attributes(key)?));
                    TransactWriteItem::builder().delete(part(with_expression!(delete, cond, expr).build())?)
                }
                TxOp::Check { key, .. } => {
                    let check =
                        ConditionCheck::builder().table_name(&self.table_name).set_key(Some(key_attributes(key)?));
                    TransactWriteItem::builder().condition_check(part(with_expression!(check, cond, expr).build())?)
                }
            };
            if matches!(op, TxOp::Check { .. }) {
                checks += 1;
            } else {
                writes += 1;
            }
            items.push(built.build());
        }
        let result = self.client.get().transact_write_items().set_transact_items(Some(items)).send().await;
        match result {
            Ok(_) => {
                self.count(checks, writes);
                Ok(())
            }
            Err(e) => {
                self.count(0, 0);
                Err(transaction(e))
            }
        }
    }

    fn stats(&self) -> TableStats {
        TableStats {
            items_read: self.items_read.load(Ordering::Relaxed),
            items_written: self.items_written.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}
