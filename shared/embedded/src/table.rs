//! The table port on redb, with DynamoDB's condition, index, TTL and transaction semantics.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use async_trait::async_trait;
use kefu_ports::table::{
    Condition, Cursor, Index, Item, Key, Page, Query, Stored, Table, TableError, TableStats, TxOp, Update, is_expired,
    ttl_passed, validate_transaction,
};
use redb::{ReadableTable, TableDefinition};
use serde_json::Value;

use crate::keys;
use crate::store::{EXPIRY, EmbeddedStore, GSI1, GSI2, ITEMS, LARGE_ITEMS};

/// The table adapter: items as JSON under an order-preserving key encoding, indexes kept in the same write.
pub struct EmbeddedTable {
    store: Arc<EmbeddedStore>,
    read: AtomicU64,
    written: AtomicU64,
    requests: AtomicU64,
}

impl EmbeddedTable {
    /// Group commits of the store under this table since it opened ([`EmbeddedStore::commits`]).
    pub fn commits(&self) -> u64 {
        self.store.commits()
    }
}

fn index_table(ix: Index) -> TableDefinition<'static, &'static [u8], &'static [u8]> {
    match ix {
        Index::Gsi1 => GSI1,
        Index::Gsi2 => GSI2,
    }
}

fn db(e: impl std::fmt::Display) -> TableError {
    TableError::Unavailable(e.to_string())
}

fn main_key(k: &Key) -> Vec<u8> {
    keys::encode(&[&k.pk, &k.sk])
}

fn index_key(ix: Index, item: &Item, k: &Key) -> Option<Vec<u8>> {
    let (p, s) = ix.key_of(item)?;
    Some(keys::encode(&[&p, &s, &k.pk, &k.sk]))
}

/// The expiry index key of an item with a `ttl`.
fn expiry_key(item: &Item, main: &[u8]) -> Option<Vec<u8>> {
    let ttl = u64::try_from(item.get(kefu_ports::table::TTL)?.as_i64()?).ok()?;
    let mut k = ttl.to_be_bytes().to_vec();
    k.extend_from_slice(main);
    Some(k)
}

fn parse(bytes: &[u8]) -> Result<Item, TableError> {
    serde_json::from_slice(bytes).map_err(db)
}

/// Whether a stored item's JSON text says it has expired ([`is_expired`]), reading only its `ttl`: the
/// other attributes are skipped, not built.
fn expired_text(bytes: &[u8], now: i64) -> Result<bool, TableError> {
    #[derive(serde::Deserialize)]
    struct Expiry {
        #[serde(default)]
        ttl: Option<Value>,
    }
    let e: Expiry = serde_json::from_slice(bytes).map_err(db)?;
    Ok(ttl_passed(e.ttl.as_ref(), now))
}

/// The attributes [`save`] reads from the item an operation replaces: its index keys and its expiry.
fn is_bookkeeping(name: &str) -> bool {
    name == kefu_ports::table::TTL || Index::ALL.iter().any(|ix| name == ix.pk_attr() || name == ix.sk_attr())
}

/// [`parse`], keeping only the attributes [`save`] reads ([`is_bookkeeping`]): the others are skipped, not
/// built. For an item the writer replaces without looking at it (a put, or a delete in a transaction, neither
/// with a condition): an outbox entry's event, a replaced item's text, are never materialised.
fn parse_bookkeeping(bytes: &[u8]) -> Result<Item, TableError> {
    use serde::de::{Deserializer, IgnoredAny, MapAccess, Visitor};

    /// An attribute's name: `Some` when it is kept.
    struct Name(Option<String>);
    impl<'de> serde::Deserialize<'de> for Name {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl Visitor<'_> for V {
                type Value = Name;
                fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                    f.write_str("an attribute name")
                }
                fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Name, E> {
                    Ok(Name(is_bookkeeping(name).then(|| name.to_owned())))
                }
            }
            d.deserialize_str(V)
        }
    }
    struct Kept;
    impl<'de> Visitor<'de> for Kept {
        type Value = Item;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an item")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
            let mut item = Item::new();
            while let Some(Name(name)) = map.next_key()? {
                match name {
                    Some(name) => {
                        item.insert(name, map.next_value()?);
                    }
                    None => {
                        map.next_value::<IgnoredAny>()?;
                    }
                }
            }
            Ok(item)
        }
    }
    serde_json::Deserializer::from_slice(bytes).deserialize_map(Kept).map_err(db)
}

fn validate_item(item: &Item) -> Result<Key, TableError> {
    let key = Key::of(item)?;
    for ix in Index::ALL {
        for attr in [ix.pk_attr(), ix.sk_attr()] {
            if item.get(attr).is_some_and(|v| !v.is_string() || v.as_str() == Some("")) {
                return Err(TableError::Invalid(format!("index attribute `{attr}` must be a non-empty string")));
            }
        }
    }
    Ok(key)
}

/// The longest item text kept in [`ITEMS`] among its neighbours; a longer one is stored out of line, in
/// [`LARGE_ITEMS`] under the same key, and its entry in [`ITEMS`] is empty.
///
/// Why: redb splits a full leaf in two by size, and a key goes to the leaf that ends at or after it. A
/// conversation's messages are appended just before its `ROUTING` item (3–4 KB, up to 200 candidates). With
/// that item in the leaf, a leaf held one new message and the item, could hold no more, and split again at
/// the next message: every message got a leaf page of its own (about 430 bytes in 4 KiB), and each message
/// rewrote the item's page as well. With only an empty entry in its place, the messages fill their leaves as
/// appends do. Any long item in the middle of a growing partition did the same.
pub(crate) const INLINE_TEXT_LIMIT: usize = 1024;

/// The items' table, opened once per write job for all of its loads and saves: opening a table in a write
/// transaction looks it up, and closing it writes its root back.
type Items<'t> = redb::Table<'t, &'static [u8], &'static [u8]>;

/// [`LARGE_ITEMS`] in a write job, opened the first time a load or a save needs it.
struct LargeItems<'t> {
    tx: &'t redb::WriteTransaction,
    table: Option<Items<'t>>,
}

impl<'t> LargeItems<'t> {
    fn new(tx: &'t redb::WriteTransaction) -> Self {
        Self { tx, table: None }
    }

    fn table(&mut self) -> Result<&mut Items<'t>, TableError> {
        if self.table.is_none() {
            self.table = Some(self.tx.open_table(LARGE_ITEMS).map_err(db)?);
        }
        Ok(self.table.as_mut().expect("just opened"))
    }
}

/// Hands `read` the text of the item whose entry in [`ITEMS`] under main key `mk` is `entry`: the entry
/// itself, or, for an empty one, the text stored out of line in `large` ([`INLINE_TEXT_LIMIT`]).
fn with_text<T>(
    large: &impl ReadableTable<&'static [u8], &'static [u8]>,
    mk: &[u8],
    entry: &[u8],
    read: impl FnOnce(&[u8]) -> Result<T, TableError>,
) -> Result<T, TableError> {
    if !entry.is_empty() {
        return read(entry);
    }
    match large.get(mk).map_err(db)? {
        Some(text) => read(text.value()),
        None => Err(TableError::Unavailable("an item stored out of line has no text".into())),
    }
}

/// An item as a write job found it: what was read of it, and whether its text is stored out of line.
struct Found {
    item: Item,
    large: bool,
}

/// Reads the item under the main key `mk` as stored (expired or not): whole, or only what [`save`] reads.
fn load(items: &Items, large: &mut LargeItems, mk: &[u8], whole: bool) -> Result<Option<Found>, TableError> {
    let Some(entry) = items.get(mk).map_err(db)? else { return Ok(None) };
    let entry = entry.value();
    let parse_text = |text: &[u8]| if whole { parse(text) } else { parse_bookkeeping(text) };
    let item = if entry.is_empty() { with_text(large.table()?, mk, entry, parse_text)? } else { parse_text(entry)? };
    Ok(Some(Found { item, large: entry.is_empty() }))
}

/// Writes `new` in place of `old` under `key` (main key `mk`), keeping the indexes in step. `old_large`: the
/// old item's text is stored out of line.
#[allow(clippy::too_many_arguments)]
fn save(
    tx: &redb::WriteTransaction,
    items: &mut Items,
    large: &mut LargeItems,
    key: &Key,
    mk: &[u8],
    old: Option<&Item>,
    old_large: bool,
    new: Option<&Item>,
) -> Result<(), TableError> {
    for ix in Index::ALL {
        let before = old.and_then(|o| index_key(ix, o, key));
        let after = new.and_then(|n| index_key(ix, n, key));
        if before != after {
            let mut t = tx.open_table(index_table(ix)).map_err(db)?;
            if let Some(b) = before {
                t.remove(b.as_slice()).map_err(db)?;
            }
            if let Some(a) = after {
                t.insert(a.as_slice(), mk).map_err(db)?;
            }
        }
    }
    let before = old.and_then(|o| expiry_key(o, mk));
    let after = new.and_then(|n| expiry_key(n, mk));
    if before != after {
        let mut t = tx.open_table(EXPIRY).map_err(db)?;
        if let Some(b) = before {
            t.remove(b.as_slice()).map_err(db)?;
        }
        if let Some(a) = after {
            t.insert(a.as_slice(), ()).map_err(db)?;
        }
    }
    match new {
        Some(n) => {
            let bytes = serde_json::to_vec(n).map_err(db)?;
            if bytes.len() > INLINE_TEXT_LIMIT {
                large.table()?.insert(mk, bytes.as_slice()).map_err(db)?;
                // An entry already empty stays as it is: its leaf is not rewritten.
                if !old_large {
                    items.insert(mk, [].as_slice()).map_err(db)?;
                }
            } else {
                items.insert(mk, bytes.as_slice()).map_err(db)?;
                if old_large {
                    large.table()?.remove(mk).map_err(db)?;
                }
            }
        }
        None => {
            items.remove(mk).map_err(db)?;
            if old_large {
                large.table()?.remove(mk).map_err(db)?;
            }
        }
    }
    Ok(())
}

fn check(cond: Option<&Condition>, item: Option<&Item>, now: i64) -> bool {
    cond.is_none_or(|c| c.evaluate(item, now))
}

/// What one operation of a write does to its item.
enum Change {
    /// Nothing (a condition check).
    Keep,
    /// The item after the operation (`None`: deleted).
    Write(Option<Item>),
}

/// What `op` does to `stored`; a put's item moves into its outcome rather than being copied.
fn apply(op: TxOp, stored: Option<&Item>) -> Result<Change, TableError> {
    Ok(match op {
        TxOp::Put { item, .. } => Change::Write(Some(item)),
        TxOp::Update { key, update, .. } => {
            let mut next = stored.cloned().unwrap_or_else(|| key.to_item());
            update.apply(&mut next)?;
            validate_item(&next)?;
            Change::Write(Some(next))
        }
        TxOp::Delete { .. } => Change::Write(None),
        TxOp::Check { .. } => Change::Keep,
    })
}

/// The most items a query may ask for and still run on the calling task (see `EmbeddedStore::inline`); a
/// larger or unbounded page goes to a blocking thread.
const INLINE_READ_LIMIT: usize = 100;

/// What a scan hands each stored entry (key, value) to: answers whether to go on.
type Take<'a> = dyn FnMut(&[u8], &[u8], &mut Vec<Item>) -> Result<bool, TableError> + 'a;

/// One page of a query: the items under `q`'s partition (through its index, if any) after `cursor_key`, at
/// most `limit`, skipping expired ones; and whether more follow.
fn read_page(
    s: &EmbeddedStore,
    q: &Query,
    cursor_key: Option<Vec<u8>>,
    limit: usize,
) -> Result<(Vec<Item>, bool), TableError> {
    let now = s.clock.now().as_second();
    let mut range = keys::range(&q.pk, q.sk.as_ref());
    if let Some(c) = cursor_key {
        range = keys::after_cursor(range, c, q.forward);
    }
    let bounds = (range.0.as_ref().map(Vec::as_slice), range.1.as_ref().map(Vec::as_slice));
    let snap = s.snapshot().map_err(db)?;
    let (items_t, large) = (&snap.items, &snap.large);
    let mut out = Vec::new();
    let mut more = false;
    let mut take = |key: &[u8], value: &[u8], out: &mut Vec<Item>| -> Result<bool, TableError> {
        let item = match q.index {
            None => with_text(large, key, value, parse)?,
            Some(_) => match items_t.get(value).map_err(db)? {
                Some(v) => with_text(large, value, v.value(), parse)?,
                None => return Ok(true),
            },
        };
        if is_expired(&item, now) {
            return Ok(true);
        }
        if out.len() == limit {
            more = true;
            return Ok(false);
        }
        out.push(item);
        Ok(true)
    };
    let scan =
        |t: &redb::ReadOnlyTable<&[u8], &[u8]>, out: &mut Vec<Item>, take: &mut Take<'_>| -> Result<(), TableError> {
            let r = t.range::<&[u8]>(bounds).map_err(db)?;
            let iter: Box<dyn Iterator<Item = _>> = if q.forward { Box::new(r) } else { Box::new(r.rev()) };
            for entry in iter {
                let (k, v) = entry.map_err(db)?;
                if !take(k.value(), v.value(), out)? {
                    break;
                }
            }
            Ok(())
        };
    match q.index {
        None => scan(items_t, &mut out, &mut take)?,
        Some(ix) => {
            let t = snap.tx.open_table(index_table(ix)).map_err(db)?;
            scan(&t, &mut out, &mut take)?;
        }
    }
    Ok((out, more))
}

impl EmbeddedTable {
    /// The store under this table (for a consistent backup while serving: [`EmbeddedStore::backup_to`]).
    pub fn store(&self) -> &Arc<EmbeddedStore> {
        &self.store
    }

    pub(crate) fn new(store: Arc<EmbeddedStore>) -> Self {
        Self { store, read: AtomicU64::new(0), written: AtomicU64::new(0), requests: AtomicU64::new(0) }
    }

    /// A get: reads the stored text under `key` on the shared snapshot and hands it to `read` with the time
    /// (seconds), which answers the item, or `None` when it has expired. Counts one read, found or not.
    fn get_with<T>(
        &self,
        key: &Key,
        read: impl FnOnce(&[u8], i64) -> Result<Option<T>, TableError>,
    ) -> Result<Option<T>, TableError> {
        let mk = main_key(key);
        let got = self.store.inline(|s| -> Result<Option<T>, TableError> {
            let snap = s.snapshot().map_err(db)?;
            let Some(entry) = snap.items.get(mk.as_slice()).map_err(db)? else { return Ok(None) };
            let now = s.clock.now().as_second();
            with_text(&snap.large, &mk, entry.value(), |text| read(text, now))
        })?;
        self.count(1, 0);
        Ok(got)
    }

    fn count(&self, read: u64, written: u64) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.read.fetch_add(read, Ordering::Relaxed);
        self.written.fetch_add(written, Ordering::Relaxed);
    }

    /// Runs write operations as one unit: all conditions first, then all changes, or nothing. Answers what each
    /// operation left stored (a delete: what it removed), moved out rather than copied, so the caller, not the
    /// writer thread, frees what it does not keep. A failed condition is reported as a transaction's
    /// (`TransactionCanceled` with the failing positions) when `transaction`, else as a single write's
    /// (`ConditionFailed`).
    async fn write(&self, ops: Vec<TxOp>, transaction: bool) -> Result<Vec<Option<Item>>, TableError> {
        let checks = ops.iter().filter(|o| matches!(o, TxOp::Check { .. })).count() as u64;
        let writes = ops.len() as u64 - checks;
        let result = self
            .store
            .write(move |tx, shared| {
                let now = shared.clock.now().as_second();
                let mut items = tx.open_table(ITEMS).map_err(db)?;
                let mut large = LargeItems::new(tx);
                let mut stored = Vec::with_capacity(ops.len());
                let mut failed = Vec::new();
                for (i, op) in ops.iter().enumerate() {
                    let key = op.key()?;
                    let mk = main_key(&key);
                    // The whole stored item is needed to evaluate a condition, apply an update, or answer a
                    // single delete; a put, or a delete in a transaction, replaces it unseen: only what `save`
                    // reads of it is loaded.
                    let whole = op.condition().is_some()
                        || match op {
                            TxOp::Put { .. } => false,
                            TxOp::Delete { .. } => !transaction,
                            TxOp::Update { .. } | TxOp::Check { .. } => true,
                        };
                    let (cur, cur_large) = match load(&items, &mut large, &mk, whole)? {
                        Some(Found { item, large }) => (Some(item), large),
                        None => (None, false),
                    };
                    if !check(op.condition(), cur.as_ref(), now) {
                        failed.push(i);
                    }
                    stored.push((key, mk, cur, cur_large));
                }
                if !failed.is_empty() {
                    return Err(if transaction {
                        TableError::TransactionCanceled { failed }
                    } else {
                        TableError::ConditionFailed
                    });
                }
                // Every outcome is computed before anything is written, so a refused operation leaves the
                // shared group transaction untouched.
                let changes: Vec<Change> = ops
                    .into_iter()
                    .zip(&stored)
                    .map(|(op, (_, _, cur, _))| apply(op, cur.as_ref()))
                    .collect::<Result<_, _>>()?;
                let mut out = Vec::with_capacity(changes.len());
                for ((key, mk, cur, cur_large), change) in stored.into_iter().zip(changes) {
                    out.push(match change {
                        Change::Keep => cur,
                        Change::Write(next) => {
                            save(tx, &mut items, &mut large, &key, &mk, cur.as_ref(), cur_large, next.as_ref())?;
                            next.or(cur)
                        }
                    });
                }
                Ok(out)
            })
            .await;
        // Counted as DynamoDB's adapter counts (see `TableStats`): a transaction's checks are reads, its other
        // operations writes; a refused request moved no item. The loads the writer does to evaluate conditions
        // and keep the indexes are its own work, not reads the caller asked for.
        if result.is_ok() {
            self.count(checks, writes);
        } else {
            self.count(0, 0);
        }
        result
    }
}

impl EmbeddedTable {
    /// Deletes up to `limit` items whose `ttl` has passed, as DynamoDB's TTL does in the background; answers
    /// how many went. Reads already treat them as gone; this only reclaims the space.
    pub async fn purge_expired(&self, limit: usize) -> Result<usize, TableError> {
        self.store
            .write(move |tx, shared| -> Result<usize, TableError> {
                let Ok(now) = u64::try_from(shared.clock.now().as_second()) else { return Ok(0) };
                let mut due = Vec::new();
                {
                    let t = tx.open_table(EXPIRY).map_err(db)?;
                    let end = (now + 1).to_be_bytes();
                    for entry in t.range::<&[u8]>(..end.as_slice()).map_err(db)? {
                        let (k, _) = entry.map_err(db)?;
                        due.push(k.value()[8..].to_vec());
                        if due.len() >= limit {
                            break;
                        }
                    }
                }
                let mut items = tx.open_table(ITEMS).map_err(db)?;
                let mut large = LargeItems::new(tx);
                let mut purged = 0;
                for main in due {
                    let parts = keys::decode(&main);
                    let [pk, sk] = parts.as_slice() else { continue };
                    let key = Key::new(pk.clone(), sk.clone());
                    // Only the expiry and the index keys are read of it.
                    if let Some(found) = load(&items, &mut large, &main, false)?
                        && is_expired(&found.item, now as i64)
                    {
                        save(tx, &mut items, &mut large, &key, &main, Some(&found.item), found.large, None)?;
                        purged += 1;
                    }
                }
                Ok(purged)
            })
            .await
    }
}

#[async_trait]
impl Table for EmbeddedTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.get_with(key, |text, now| Ok(Some(parse(text)?).filter(|i| !is_expired(i, now))))
    }

    /// The stored JSON text, copied out of the page: only its `ttl` is read here, to hide an expired item.
    async fn get_stored(&self, key: &Key) -> Result<Option<Stored>, TableError> {
        self.get_with(key, |text, now| Ok((!expired_text(text, now)?).then(|| Stored::Json(text.to_vec()))))
    }

    async fn put(&self, item: Item, condition: Option<Condition>) -> Result<(), TableError> {
        validate_item(&item)?;
        self.write(vec![TxOp::Put { item, condition }], false).await.map(drop)
    }

    async fn update(&self, key: &Key, update: Update, condition: Option<Condition>) -> Result<Item, TableError> {
        update.validate()?;
        let out = self.write(vec![TxOp::Update { key: key.clone(), update, condition }], false).await?;
        Ok(out.into_iter().next().flatten().expect("an update leaves an item"))
    }

    async fn delete(&self, key: &Key, condition: Option<Condition>) -> Result<Option<Item>, TableError> {
        let out = self.write(vec![TxOp::Delete { key: key.clone(), condition }], false).await?;
        let now = self.store.clock.now().as_second();
        Ok(out.into_iter().next().flatten().filter(|i| !is_expired(i, now)))
    }

    async fn query(&self, q: Query) -> Result<Page, TableError> {
        let cursor_key = match &q.cursor {
            None => None,
            Some(c) => {
                let k = c.key_item()?;
                let main = Key::of(&k)?;
                Some(match q.index {
                    None => main_key(&main),
                    Some(ix) => index_key(ix, &k, &main).ok_or_else(|| TableError::Invalid("bad cursor".into()))?,
                })
            }
        };
        let limit = q.limit.unwrap_or(usize::MAX).max(1);
        let index = q.index;
        let (items, more) = if limit <= INLINE_READ_LIMIT {
            self.store.inline(|s| read_page(s, &q, cursor_key, limit))?
        } else {
            self.store.blocking(move |s| read_page(s, &q, cursor_key, limit)).await?
        };
        self.count(items.len() as u64, 0);
        let cursor = match (more, items.last()) {
            (true, Some(last)) => Some(Cursor::after(last, index)?),
            _ => None,
        };
        Ok(Page { items, cursor })
    }

    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        validate_transaction(&ops)?;
        for op in &ops {
            if let TxOp::Put { item, .. } = op {
                validate_item(item)?;
            }
        }
        self.write(ops, true).await.map(drop)
    }

    fn stats(&self) -> TableStats {
        TableStats {
            items_read: self.read.load(Ordering::Relaxed),
            items_written: self.written.load(Ordering::Relaxed),
            requests: self.requests.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn open() -> (tempfile::TempDir, Arc<EmbeddedStore>, EmbeddedTable) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("t.redb"), Arc::new(kefu_ports::SystemClock)).expect("open");
        let table = store.table();
        (dir, store, table)
    }

    fn obj(v: Value) -> Item {
        v.as_object().expect("an object").clone()
    }

    /// How many entries the out-of-line table holds, and the items' table's leaf pages.
    fn layout(store: &EmbeddedStore) -> (u64, u64) {
        use redb::ReadableTableMetadata;
        let snap = store.snapshot().expect("snapshot");
        (snap.large.len().expect("len"), snap.items.stats().expect("stats").leaf_pages())
    }

    #[tokio::test]
    async fn a_long_item_is_stored_out_of_line_and_reads_as_a_short_one() {
        let (_dir, store, table) = open();
        let long = "x".repeat(INLINE_TEXT_LIMIT);
        let item = |text: &str| obj(json!({"pk": "P", "sk": "S", "gsi1pk": "G", "gsi1sk": "1", "text": text}));
        table.put(obj(json!({"pk": "P", "sk": "A", "gsi1pk": "G", "gsi1sk": "0"})), None).await.unwrap();
        table.put(item(&long), Some(Condition::NotExists)).await.unwrap();
        assert_eq!(layout(&store).0, 1, "the long text is out of line");
        let key = Key::new("P", "S");
        assert_eq!(table.get(&key).await.unwrap(), Some(item(&long)));
        let Some(Stored::Json(text)) = table.get_stored(&key).await.unwrap() else { panic!("stored text") };
        assert_eq!(serde_json::from_slice::<Item>(&text).unwrap(), item(&long));
        let by_partition = table.query(Query::partition("P")).await.unwrap().items;
        assert_eq!(by_partition.len(), 2);
        assert_eq!(by_partition[1], item(&long));
        let by_index = table.query(Query::index(Index::Gsi1, "G")).await.unwrap().items;
        assert_eq!(by_index.len(), 2);
        assert_eq!(by_index[1], item(&long));
        // A condition and an update read the text out of line; the result goes back in line when short.
        let short =
            table.update(&key, Update::new().set("text", json!("short")), Some(Condition::Exists)).await.unwrap();
        assert_eq!(short, item("short"));
        assert_eq!(layout(&store).0, 0, "a short text goes back in line");
        let longer = format!("{long}y");
        table.update(&key, Update::new().set("text", json!(longer)), None).await.unwrap();
        table.update(&key, Update::new().set("text", json!(long)), None).await.unwrap();
        assert_eq!(table.get(&key).await.unwrap(), Some(item(&long)));
        assert_eq!(layout(&store).0, 1);
        assert_eq!(table.delete(&key, Some(Condition::Exists)).await.unwrap(), Some(item(&long)));
        assert_eq!(layout(&store).0, 0, "a delete removes the text");
        assert_eq!(table.get(&key).await.unwrap(), None);
        assert_eq!(table.query(Query::index(Index::Gsi1, "G")).await.unwrap().items.len(), 1);
    }

    #[tokio::test]
    async fn an_expired_long_item_is_hidden_and_purged_with_its_text() {
        let (_dir, store, table) = open();
        let past = jiff::Timestamp::now().as_second() - 10;
        let item = obj(json!({"pk": "P", "sk": "S", "ttl": past, "text": "x".repeat(2 * INLINE_TEXT_LIMIT)}));
        table.put(item, None).await.unwrap();
        let key = Key::new("P", "S");
        assert_eq!(table.get(&key).await.unwrap(), None);
        assert!(table.get_stored(&key).await.unwrap().is_none());
        assert_eq!(table.purge_expired(10).await.unwrap(), 1);
        assert_eq!(layout(&store).0, 0, "the purge removes the text");
    }

    /// A conversation's messages are appended just before its long routing item. Each used to get a leaf page
    /// of its own (see [`INLINE_TEXT_LIMIT`]); now they fill their leaves.
    #[tokio::test]
    async fn items_appended_before_a_long_item_share_their_leaves() {
        let (_dir, store, table) = open();
        table.put(obj(json!({"pk": "C", "sk": "ROUTING", "routing": "r".repeat(3_500)})), None).await.unwrap();
        let messages = 200;
        for i in 0..messages {
            let m = obj(json!({"pk": "C", "sk": format!("MSG#{i:05}"), "content": "m".repeat(400)}));
            table.put(m, Some(Condition::NotExists)).await.unwrap();
        }
        let (_, leaves) = layout(&store);
        // About 9 messages fit in a 4 KiB leaf; half-full leaves would be 45.
        assert!(leaves < messages / 4, "{leaves} leaf pages for {messages} messages");
    }

    #[test]
    fn a_partial_parse_keeps_exactly_what_save_reads() {
        let item = json!({
            "pk": "T#1", "sk": "OUTBOX#2", "gsi1pk": "a\"b", "gsi1sk": "c", "gsi2pk": "d", "gsi2sk": "e",
            "ttl": 1_700_000_000, "event": {"data": {"message": {"content": "hello \u{1F600}", "n": [1, 2.5, null]}}},
            "gsi1pk_not": "x"
        });
        let bytes = serde_json::to_vec(&item).unwrap();
        let kept = parse_bookkeeping(&bytes).unwrap();
        let expected: Item = parse(&bytes).unwrap().into_iter().filter(|(k, _)| is_bookkeeping(k)).collect();
        assert_eq!(kept, expected);
        assert_eq!(kept.len(), 5, "{kept:?}");
        for ix in Index::ALL {
            assert!(index_key(ix, &kept, &Key::new("T#1", "OUTBOX#2")).is_some());
        }
        assert!(expiry_key(&kept, b"k").is_some());
        // A name written with an escape is still recognised.
        let escaped = br#"{"pk":"a","sk":"b","tt\u006c":7,"other":{"gsi1pk":"nested, not kept"}}"#;
        assert_eq!(parse_bookkeeping(escaped).unwrap(), json!({"ttl": 7}).as_object().unwrap().clone());
        assert!(parse_bookkeeping(b"[1, 2]").is_err(), "not an item");
        assert!(parse_bookkeeping(b"{\"gsi1pk\": ").is_err(), "cut short");
    }
}
