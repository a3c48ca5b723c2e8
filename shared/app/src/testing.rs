//! The one way a test builds an [`App`] on the embedded store: a fresh redb file in a temporary directory, the
//! clock the test gives, and the embedded adapters for everything else. Compiled for this crate's unit tests
//! and, with the `testing` feature, for every test crate (`kefu-app = { workspace = true, features =
//! ["testing"] }` under `[dev-dependencies]`), never for what ships.

use std::sync::Arc;

use kefu_domain::routing::Priority;
use kefu_domain::{ConversationId, CustomerId, TenantId};
use kefu_embedded::{EmbeddedStore, EmbeddedTopic, LocalBlobs, OutboxMailer, PushHub};
use kefu_ports::{Clock, FilterPolicy, Queue};

use crate::conversations::ConversationRecord;
use crate::plumbing::record::Record;
use crate::{App, AppParts, Config};

/// An app on a fresh embedded store, with the store (for queues) and the directory that holds both: the
/// directory is removed when this is dropped, so keep it alive as long as the app.
pub struct EmbeddedApp {
    /// The app: table, topic, blobs, push and mailer on the embedded adapters.
    pub app: App,
    /// The store under the app's table and topic.
    pub store: Arc<EmbeddedStore>,
    /// The temporary directory of the store, the blobs and the mail outbox.
    pub dir: tempfile::TempDir,
}

impl EmbeddedApp {
    /// An app with [`Config::default`] whose topic delivers to no queue.
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        Self::with_cache(clock, None)
    }

    /// An app like [`EmbeddedApp::new`] whose store's page cache holds at most `cache_bytes` (load runs that
    /// measure memory).
    pub fn with_cache(clock: Arc<dyn Clock>, cache_bytes: Option<usize>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open_with_cache(&dir.path().join("kefu.redb"), clock.clone(), cache_bytes)
            .expect("store opens");
        let outbox = Arc::new(OutboxMailer::new(dir.path().join("outbox.jsonl")));
        let app = App::from(AppParts {
            table: Arc::new(store.table()),
            topic: Arc::new(EmbeddedTopic::new(store.clone())),
            blobs: Arc::new(LocalBlobs::new(dir.path().join("blobs"))),
            push: Arc::new(PushHub::new()),
            mailer: outbox.clone(),
            mobile: outbox,
            clock,
            due: Arc::new(store.queue(crate::timers::DUE_QUEUE, None)),
            config: Arc::new(Config::default()),
            memo: Arc::default(),
            clearing: crate::plumbing::clearing::Clearing::inline(),
        });
        Self { app, store, dir }
    }

    /// The same app with other settings.
    pub fn with_config(mut self, config: Config) -> Self {
        self.app.config = Arc::new(config);
        self
    }

    /// Stores outbox entries in one partition, as `kefu serve` does (`Config::outbox_one_partition`).
    pub fn with_outbox_in_one_partition(self) -> Self {
        let config = Config { outbox_one_partition: true, ..(*self.app.config).clone() };
        self.with_config(config)
    }

    /// Makes the topic deliver the events `policy` accepts to the queue `name`, and answers that queue, so a
    /// test sees what was published.
    pub fn subscribe(&mut self, name: &str, policy: FilterPolicy) -> Arc<dyn Queue> {
        self.app.topic = Arc::new(EmbeddedTopic::new(self.store.clone()).subscribe(name, policy));
        Arc::new(self.store.queue(name, None))
    }
}

/// Stores a conversation as a visitor starts it (`pending`, no assignee, a new customer) at `at`, for tests that
/// need one without going through the widget.
pub async fn put_conversation(app: &App, t: &TenantId, c: &ConversationId, at: jiff::Timestamp) {
    let customer = CustomerId::generate();
    let started = ConversationRecord::started(t, c, &customer, None, Priority::Normal, None, at);
    app.table.put(started.to_item(), None).await.expect("conversation stored");
}

/// An app as `kefu serve` configures it (`local`), on a fresh embedded store, with the directory to keep alive.
pub fn embedded_app(clock: Arc<dyn Clock>) -> (App, tempfile::TempDir) {
    let e = EmbeddedApp::new(clock).with_config(Config { local: true, ..Config::default() });
    (e.app, e.dir)
}
