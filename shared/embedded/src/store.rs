//! The database every embedded adapter shares.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_ports::{Clock, RedrivePolicy};
use std::sync::mpsc;

use redb::{Database, TableDefinition, WriteTransaction};
use tokio::sync::Notify;

/// Table items: encoded (pk, sk) → JSON.
pub(crate) const ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("items");
/// Item texts too long to sit among their neighbours: encoded (pk, sk) → JSON. Their entry in [`ITEMS`] is
/// empty (JSON text never is). See `table::INLINE_TEXT_LIMIT`.
pub(crate) const LARGE_ITEMS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("large_items");
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
db_err!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    std::io::Error
);

/// What a write job may look at besides the transaction: the clock and the queues' redrive policies.
pub(crate) struct Shared {
    pub(crate) clock: Arc<dyn Clock>,
    redrive: Mutex<HashMap<String, RedrivePolicy>>,
    /// How long a busy writer gathers jobs before it commits, in microseconds ([`GROUP_WINDOW`]).
    group_window_us: AtomicU64,
    /// Group commits made since the store opened.
    commits: AtomicU64,
    /// The read snapshot the reads since the last commit share ([`EmbeddedStore::snapshot`]). The writer
    /// empties it after every commit, before it answers the commit's writes.
    snapshot: Mutex<Option<Arc<Snapshot>>>,
}

/// A read transaction with the items' table open, shared by the reads that begin before the next commit.
///
/// Each read used to begin its own transaction (a lock in redb's transaction tracker and allocations) and open
/// the table (a lookup in the table tree); between two commits they would all see the same state anyway.
/// Holding a snapshot keeps redb from reusing the pages it reads; the writer lets go of it at every commit,
/// and the readers still using it drop it when they finish.
pub(crate) struct Snapshot {
    /// For the index tables, opened by the queries that read through an index.
    pub(crate) tx: redb::ReadTransaction,
    /// The items' table.
    pub(crate) items: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
    /// The texts of the items stored out of line ([`LARGE_ITEMS`]).
    pub(crate) large: redb::ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl Shared {
    pub(crate) fn redrive_of(&self, queue: &str) -> Option<RedrivePolicy> {
        self.redrive.lock().expect("redrive lock").get(queue).cloned()
    }

    pub(crate) fn now_ms(&self) -> u64 {
        u64::try_from(self.clock.now().as_millisecond()).unwrap_or(0)
    }
}

/// An error a write job can answer. A fatal one (the storage failed) aborts the whole group; any other
/// must leave the transaction as the job found it.
pub(crate) trait WriteFailure: Send + 'static {
    /// Whether the transaction may be half-written.
    fn is_fatal(&self) -> bool;
    /// The error every job of a group that failed to commit answers.
    fn commit_failed(message: String) -> Self;
}

/// Delivers a job's result: called with `None` once its group is durable, or with why the group failed.
type Finish = Box<dyn FnOnce(Option<&str>) + Send>;

/// A job's result, to be delivered once the group's fate is known.
struct Done {
    fatal: bool,
    finish: Finish,
}

type Job = Box<dyn FnOnce(&WriteTransaction, &Shared) -> Done + Send>;

/// The most jobs one group commit takes.
const MAX_GROUP: usize = 512;

/// How long a busy writer gathers jobs before it commits (see [`EmbeddedStore::set_group_window`]).
///
/// A commit's cost is mostly per commit, not per job: the `fdatasync`, and the B-tree pages near the roots and
/// redb's own bookkeeping pages, written once per commit however many jobs share it. Under load, waiting a
/// little for more jobs makes each commit carry several times more of them. Measured at 2,000 visitor
/// messages a second (docs/performance.md): 2 ms cut the writer's CPU by about a third, for about 2 ms more
/// per write. Once a message wrote fewer pages, the per-commit share grew, and 3 ms took another sixth off
/// the writer for about 1 ms more (4 ms gained no more). A writer that is not busy (its last group held one
/// job) commits at once.
pub const GROUP_WINDOW: Duration = Duration::from_millis(3);

/// One redb database holding the table, its indexes and every queue.
///
/// Writes go through one writer thread that takes every job waiting and runs them, in order, in one
/// transaction with one fsync (group commit): each job sees what the jobs before it wrote, so the semantics
/// are those of running them one by one, while concurrent writers share the cost of making them durable.
/// Reads run on MVCC snapshots, in parallel with the writer.
pub struct EmbeddedStore {
    pub(crate) db: Arc<Database>,
    pub(crate) clock: Arc<dyn Clock>,
    shared: Arc<Shared>,
    notifies: Mutex<HashMap<String, Arc<Notify>>>,
    writer: Mutex<Option<mpsc::Sender<Job>>>,
    thread: Mutex<Option<std::thread::JoinHandle<()>>>,
}

/// Takes the jobs waiting after `first`, and while the writer is `busy`, those that arrive within the group
/// window after it.
fn gather(first: Job, jobs: &mpsc::Receiver<Job>, busy: bool, shared: &Shared) -> Vec<Job> {
    let window = Duration::from_micros(shared.group_window_us.load(Ordering::Relaxed));
    if busy && !window.is_zero() {
        // Sleep through the window rather than wait on the channel: a writer blocked in `recv` is woken (a
        // futex call on the sender's side, a context switch on this one) by every job that arrives, while a
        // sleeping one is woken once, and the senders only queue their jobs.
        std::thread::sleep(window);
    }
    let mut group = vec![first];
    while group.len() < MAX_GROUP {
        match jobs.try_recv() {
            Ok(j) => group.push(j),
            Err(_) => break,
        }
    }
    group
}

fn writer_loop(db: Arc<Database>, shared: Arc<Shared>, jobs: mpsc::Receiver<Job>) {
    // Busy: the last group held more than one job, so writes are arriving concurrently and a short wait
    // gathers more of them. A lone writer (one write after another) never waits.
    let mut busy = false;
    while let Ok(first) = jobs.recv() {
        let group = gather(first, &jobs, busy, &shared);
        busy = group.len() > 1;
        let tx = match db.begin_write() {
            Ok(tx) => tx,
            Err(e) => {
                tracing::error!(error = %e, "embedded store: cannot begin a write; failing {} writes", group.len());
                continue;
            }
        };
        let mut fatal = false;
        let mut done = Vec::with_capacity(group.len());
        for job in group {
            // A job that panics is a bug; it must not take the writer (and every later write) down with it.
            // Its caller sees its answer dropped (`Unavailable`), and the group is aborted.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tx, &shared))) {
                Ok(d) => {
                    fatal |= d.fatal;
                    done.push(d.finish);
                }
                Err(_) => {
                    tracing::error!("embedded store: a write job panicked; aborting its group");
                    fatal = true;
                }
            }
        }
        let failure = if fatal {
            drop(tx);
            Some("a write in the same group failed; nothing was written".to_owned())
        } else {
            shared.commits.fetch_add(1, Ordering::Relaxed);
            let failed = tx.commit().err().map(|e| e.to_string());
            // Before any write of the group is answered: a read that begins after the answer must see it.
            drop(shared.snapshot.lock().expect("snapshot lock").take());
            failed
        };
        for finish in done {
            finish(failure.as_deref());
        }
    }
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`, with redb's default page cache (1 GiB at most).
    pub fn open(path: &Path, clock: Arc<dyn Clock>) -> Result<Arc<Self>, StoreError> {
        Self::open_with_cache(path, clock, None)
    }

    /// Opens (or creates) the store at `path` with a page cache of at most `cache_bytes` (`None`: redb's
    /// default). The cache is what grows when much data is read (an export, a backup): a small one keeps a
    /// process's memory flat at the price of more file reads.
    pub fn open_with_cache(
        path: &Path,
        clock: Arc<dyn Clock>,
        cache_bytes: Option<usize>,
    ) -> Result<Arc<Self>, StoreError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut builder = redb::Builder::new();
        if let Some(bytes) = cache_bytes {
            builder.set_cache_size(bytes);
        }
        let db = builder.create(path)?;
        let tx = db.begin_write()?;
        tx.open_table(ITEMS)?;
        tx.open_table(LARGE_ITEMS)?;
        tx.open_table(GSI1)?;
        tx.open_table(GSI2)?;
        tx.open_table(QUEUE_MESSAGES)?;
        tx.open_table(QUEUE_READY)?;
        tx.open_table(EXPIRY)?;
        tx.commit()?;
        let db = Arc::new(db);
        let shared = Arc::new(Shared {
            clock: clock.clone(),
            redrive: Mutex::default(),
            group_window_us: AtomicU64::new(GROUP_WINDOW.as_micros() as u64),
            commits: AtomicU64::new(0),
            snapshot: Mutex::default(),
        });
        let (sender, receiver) = mpsc::channel();
        let thread = {
            let (db, shared) = (db.clone(), shared.clone());
            std::thread::Builder::new()
                .name("kefu-store-writer".into())
                .spawn(move || writer_loop(db, shared, receiver))?
        };
        Ok(Arc::new(Self {
            db,
            clock,
            shared,
            notifies: Mutex::default(),
            writer: Mutex::new(Some(sender)),
            thread: Mutex::new(Some(thread)),
        }))
    }

    /// Writes a consistent copy of the whole store (table, indexes, expiry index and queues) to a new redb file
    /// at `out` while the store keeps serving: everything is read in one read transaction, a snapshot that no
    /// later write changes. `out` must not exist. Answers how many entries were copied. Blocking: call it from
    /// a blocking task.
    pub fn backup_to(&self, out: &Path) -> Result<u64, StoreError> {
        if out.exists() {
            return Err(StoreError::Db(format!("{} exists already", out.display())));
        }
        let read = self.db.begin_read()?;
        let copy = Database::create(out)?;
        let tx = copy.begin_write()?;
        let mut n = 0u64;
        for def in [ITEMS, LARGE_ITEMS, GSI1, GSI2, QUEUE_MESSAGES] {
            let from = read.open_table(def)?;
            let mut to = tx.open_table(def)?;
            for entry in redb::ReadableTable::iter(&from)? {
                let (k, v) = entry?;
                to.insert(k.value(), v.value())?;
                n += 1;
            }
        }
        for def in [QUEUE_READY, EXPIRY] {
            let from = read.open_table(def)?;
            let mut to = tx.open_table(def)?;
            for entry in redb::ReadableTable::iter(&from)? {
                let (k, _) = entry?;
                to.insert(k.value(), ())?;
                n += 1;
            }
        }
        tx.commit()?;
        Ok(n)
    }

    /// Sets how long a busy writer gathers jobs before it commits ([`GROUP_WINDOW`] by default; zero: commit
    /// whatever is waiting at once). Every write still answers only once its commit is durable.
    pub fn set_group_window(&self, window: Duration) {
        let us = u64::try_from(window.as_micros()).unwrap_or(u64::MAX);
        self.shared.group_window_us.store(us, Ordering::Relaxed);
    }

    /// Group commits made since the store opened (each one `fdatasync`).
    pub fn commits(&self) -> u64 {
        self.shared.commits.load(Ordering::Relaxed)
    }

    /// The table adapter over this store.
    pub fn table(self: &Arc<Self>) -> crate::EmbeddedTable {
        crate::EmbeddedTable::new(self.clone())
    }

    /// The queue `name`, moving messages to `redrive`'s dead-letter queue after too many receives.
    pub fn queue(self: &Arc<Self>, name: &str, redrive: Option<RedrivePolicy>) -> crate::EmbeddedQueue {
        let mut r = self.shared.redrive.lock().expect("redrive lock");
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

    pub(crate) fn notify_of(&self, queue: &str) -> Arc<Notify> {
        self.notifies.lock().expect("notify lock").entry(queue.to_owned()).or_default().clone()
    }

    pub(crate) fn now_ms(&self) -> u64 {
        self.shared.now_ms()
    }

    /// Runs a write job in the next group commit and answers its result once the group is durable.
    pub(crate) async fn write<T, E, F>(&self, job: F) -> Result<T, E>
    where
        F: FnOnce(&WriteTransaction, &Shared) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: WriteFailure,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let boxed: Job = Box::new(move |wtx, shared| {
            let result = job(wtx, shared);
            let fatal = matches!(&result, Err(e) if e.is_fatal());
            Done {
                fatal,
                finish: Box::new(move |failure: Option<&str>| {
                    let _ = tx.send(match failure {
                        None => result,
                        Some(m) => Err(E::commit_failed(m.to_owned())),
                    });
                }),
            }
        });
        let sent = match self.writer.lock().expect("writer lock").as_ref() {
            Some(w) => w.send(boxed).is_ok(),
            None => false,
        };
        if !sent {
            return Err(E::commit_failed("the embedded store is closed".into()));
        }
        rx.await.unwrap_or_else(|_| Err(E::commit_failed("the write could not begin".into())))
    }

    /// The snapshot a read begins on: the one shared since the last commit, or a new one ([`Snapshot`]). It
    /// holds every write answered so far: the writer empties the slot after each commit and before it answers,
    /// and a snapshot is begun and put in the slot under the slot's lock, so one begun before a commit is gone
    /// from the slot by the time that commit's writes are answered.
    pub(crate) fn snapshot(&self) -> Result<Arc<Snapshot>, StoreError> {
        let mut slot = self.shared.snapshot.lock().expect("snapshot lock");
        if let Some(s) = slot.as_ref() {
            return Ok(s.clone());
        }
        let tx = self.db.begin_read()?;
        let items = tx.open_table(ITEMS)?;
        let large = tx.open_table(LARGE_ITEMS)?;
        let s = Arc::new(Snapshot { tx, items, large });
        *slot = Some(s.clone());
        Ok(s)
    }

    /// Runs blocking read work off the async runtime's workers.
    /// Runs a short read on the calling task: a `get` or a page of at most [`INLINE_READ_LIMIT`] items, served
    /// from redb's page cache in microseconds, costs less than the hand-off to a blocking thread and back (two
    /// context switches and a wake per read; `perf` showed them as the largest single cost per message).
    pub(crate) fn inline<T, F>(&self, f: F) -> T
    where
        F: FnOnce(&EmbeddedStore) -> T,
    {
        f(self)
    }

    pub(crate) async fn blocking<T, F>(self: &Arc<Self>, f: F) -> T
    where
        F: FnOnce(&EmbeddedStore) -> T + Send + 'static,
        T: Send + 'static,
    {
        let me = self.clone();
        tokio::task::spawn_blocking(move || f(&me)).await.expect("store task panicked")
    }
}

impl Drop for EmbeddedStore {
    /// Lets the writer finish what it holds and closes the database, so the file can be opened again at once.
    fn drop(&mut self) {
        drop(self.writer.lock().expect("writer lock").take());
        if let Some(t) = self.thread.lock().expect("thread lock").take() {
            let _ = t.join();
        }
        // The shared snapshot holds the file open; let it go with the database.
        drop(self.shared.snapshot.lock().expect("snapshot lock").take());
    }
}

impl WriteFailure for kefu_ports::TableError {
    fn is_fatal(&self) -> bool {
        matches!(self, kefu_ports::TableError::Unavailable(_))
    }
    fn commit_failed(message: String) -> Self {
        kefu_ports::TableError::Unavailable(message)
    }
}

impl WriteFailure for kefu_ports::QueueError {
    fn is_fatal(&self) -> bool {
        matches!(self, kefu_ports::QueueError::Unavailable(_))
    }
    fn commit_failed(message: String) -> Self {
        kefu_ports::QueueError::Unavailable(message)
    }
}

impl WriteFailure for kefu_ports::TopicError {
    fn is_fatal(&self) -> bool {
        true
    }
    fn commit_failed(message: String) -> Self {
        kefu_ports::TopicError::Unavailable(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_ports::{SystemClock, TableError};

    fn store() -> (tempfile::TempDir, Arc<EmbeddedStore>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("s.redb"), Arc::new(SystemClock)).expect("open");
        (dir, store)
    }

    /// A write job that holds the writer for `pause`.
    async fn write(store: Arc<EmbeddedStore>, pause: Duration) -> Result<(), TableError> {
        store
            .write(move |_, _| {
                std::thread::sleep(pause);
                Ok::<(), TableError>(())
            })
            .await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_writer_commits_the_writes_of_its_window_together() {
        let (_dir, store) = store();
        store.set_group_window(Duration::from_secs(2));
        // A slow write holds the writer while two more queue behind it: they commit as a group of two, so the
        // writer is busy.
        let slow = tokio::spawn(write(store.clone(), Duration::from_millis(300)));
        tokio::time::sleep(Duration::from_millis(30)).await;
        let (a, b) =
            (tokio::spawn(write(store.clone(), Duration::ZERO)), tokio::spawn(write(store.clone(), Duration::ZERO)));
        for w in [slow, a, b] {
            w.await.expect("join").expect("write");
        }
        let before = store.commits();
        // The next write waits for the window; one sent 50 ms later joins its commit.
        let x = tokio::spawn(write(store.clone(), Duration::ZERO));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!x.is_finished(), "a busy writer gathers before it commits");
        let y = tokio::spawn(write(store.clone(), Duration::ZERO));
        for w in [x, y] {
            w.await.expect("join").expect("write");
        }
        assert_eq!(store.commits() - before, 1, "both writes in one commit");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_lone_writer_commits_at_once() {
        let (_dir, store) = store();
        store.set_group_window(Duration::from_secs(30));
        // One write after another: each group holds one job, so the writer never waits for the window.
        let writes = async {
            for _ in 0..5 {
                write(store.clone(), Duration::ZERO).await.expect("write");
            }
        };
        tokio::time::timeout(Duration::from_secs(20), writes).await.expect("no write waited for the window");
        assert_eq!(store.commits(), 5);
    }

    #[tokio::test]
    async fn reads_share_a_snapshot_until_the_next_commit() {
        let (_dir, store) = store();
        let first = store.snapshot().unwrap();
        assert!(Arc::ptr_eq(&first, &store.snapshot().unwrap()), "no commit between: the same snapshot");
        write(store.clone(), Duration::ZERO).await.unwrap();
        let second = store.snapshot().unwrap();
        assert!(!Arc::ptr_eq(&first, &second), "a commit lets go of the snapshot before it answers");
        assert!(Arc::ptr_eq(&second, &store.snapshot().unwrap()));
    }

    /// Readers and writers at once, on two threads: every read that begins after a write was answered sees
    /// that write, however the shared snapshot is taken and let go meanwhile.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_after_an_answered_write_sees_it_while_others_read_and_write() {
        use kefu_ports::table::{Key, Table};
        let (_dir, store) = store();
        store.set_group_window(Duration::from_micros(200));
        let table = Arc::new(store.table());
        let mut tasks = tokio::task::JoinSet::new();
        for writer in 0..4 {
            let table = table.clone();
            tasks.spawn(async move {
                let key = Key::new(format!("W#{writer}"), "COUNT");
                for n in 0..150_u64 {
                    let item = key.with(serde_json::json!({"n": n}));
                    table.put(item, None).await.unwrap();
                    let read = table.get(&key).await.unwrap().expect("written");
                    assert_eq!(read["n"], n, "writer {writer} reads its own answered write");
                }
            });
        }
        for reader in 0..2 {
            let table = table.clone();
            tasks.spawn(async move {
                // Another writer's counter never goes back, read after read.
                let mut last = [0_u64; 4];
                for _ in 0..600 {
                    for (w, seen) in last.iter_mut().enumerate() {
                        let got = table.get(&Key::new(format!("W#{w}"), "COUNT")).await.unwrap();
                        let n = got.map_or(0, |i| i["n"].as_u64().unwrap());
                        assert!(n >= *seen, "reader {reader}: writer {w} went back from {seen} to {n}");
                        *seen = n;
                    }
                    tokio::task::yield_now().await;
                }
            });
        }
        while let Some(done) = tasks.join_next().await {
            done.unwrap();
        }
    }
}
