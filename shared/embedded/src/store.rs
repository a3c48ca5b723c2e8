//! The database every embedded adapter shares.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use kefu_ports::{Clock, RedrivePolicy};
use redb::{Database, TableDefinition};
use tokio::sync::Notify;

/// Table items: encoded (pk, sk) → JSON.
pub(crate) const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// Index gsi1: encoded (gsi1pk, gsi1sk, pk, sk) → encoded (pk, sk).
pub(crate) const GSI1: TableDefinition<&[u8], &[u8]> = TableDefinition::new("gsi1");
/// Index gsi2: encoded (gsi2pk, gsi2sk, pk, sk) → encoded (pk, sk).
pub(crate) const GSI2: TableDefinition<&[u8], &[u8]> = TableDefinition::new("gsi2");
/// Expiry index: `ttl` (big-endian seconds) ++ encoded (pk, sk) → (), for the TTL purge.
pub(crate) const EXPIRY: TableDefinition<&[u8], ()> = TableDefinition::new("expiry");
/// Queue messages: encoded (queue, id) → JSON record.
pub(crate) const QUEUE_MESSAGES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("queue_messages");
/// Queue readiness: encoded (queue) ++ visible-at millis (big endian) ++ id → ().
pub(crate) const QUEUE_READY: TableDefinition<&[u8], ()> = TableDefinition::new("queue_ready");

/// Why the embedded store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or written.
    #[error("embedded store: {0}")]
    Db(String),
}

macro_rules! db_err {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.to_string())
            }
        }
    )*};
}
db_err!(redb::Error, redb::DatabaseError, redb::TransactionError, redb::TableError, redb::StorageError, redb::CommitError, std::io::Error);

/// One redb database holding the table, its indexes and every queue.
pub struct EmbeddedStore {
    pub(crate) db: Database,
    pub(crate) clock: Arc<dyn Clock>,
    notifies: Mutex<HashMap<String, Arc<Notify>>>,
    redrive: Mutex<HashMap<String, RedrivePolicy>>,
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Arc<Self>, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        tx.open_table(ITEMS)?;
        tx.open_table(GSI1)?;
        tx.open_table(GSI2)?;
        tx.open_table(QUEUE_MESSAGES)?;
        tx.open_table(QUEUE_READY)?;
        tx.open_table(EXPIRY)?;
        tx.commit()?;
        Ok(Arc::new(Self { db, clock, notifies: Mutex::default(), redrive: Mutex::default() }))
    }

    /// The table adapter over this store.
    pub fn table(self: &Arc<Self>) -> crate::EmbeddedTable {
        crate::EmbeddedTable::new(self.clone())
    }

    /// The queue `name`, moving messages to `redrive`'s dead-letter queue after too many receives.
    pub fn queue(self: &Arc<Self>, name: &str, redrive: Option<RedrivePolicy>) -> crate::EmbeddedQueue {
        let mut r = self.redrive.lock().expect("redrive lock");
        match redrive {
            Some(p) => {
                r.insert(name.to_owned(), p);
            }
            None => {
                r.remove(name);
            }
        }
        crate::EmbeddedQueue::new(self.clone(), name.to_owned())
    }

    pub(crate) fn redrive_of(&self, queue: &str) -> Option<RedrivePolicy> {
        self.redrive.lock().expect("redrive lock").get(queue).cloned()
    }

    pub(crate) fn notify_of(&self, queue: &str) -> Arc<Notify> {
        self.notifies.lock().expect("notify lock").entry(queue.to_owned()).or_default().clone()
    }

    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().as_millisecond()).unwrap_or(0)
    }

    /// Runs blocking database work off the async runtime's workers.
    pub(crate) async fn blocking<T, F>(self: &Arc<Self>, f: F) -> T
    where
        F: FnOnce(&EmbeddedStore) -> T + Send + 'static,
        T: Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me)).await.expect("store task panicked")
    }
}
