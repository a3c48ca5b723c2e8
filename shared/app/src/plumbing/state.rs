//! The application state every handler and consumer receives: the ports plus configuration.

use std::sync::Arc;

use kefu_ports::{BlobStore, Clock, Mailer, MobilePush, Push, Queue, Table, Topic};

/// Settings that come from the environment, not from tenants.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The operator's secret for `POST /v1/tenants`; tenant creation is closed when absent.
    pub bootstrap_token: Option<String>,
    /// Public base URL of the WebSocket endpoint (for real-time tickets).
    pub websocket_url: Option<String>,
    /// Whether this is `kefu serve` (development conveniences such as http webhooks are allowed).
    pub local: bool,
    /// Whether new outbox entries all go to one partition (`OUTBOX#0`) instead of being spread over
    /// [`OUTBOX_SHARDS`](super::keys::OUTBOX_SHARDS) by event id. Spreading keeps a DynamoDB partition under its
    /// write limit; the embedded store has one writer, and each partition an entry lands in is one more B-tree
    /// page in its commit, so `kefu serve` on it sets this. The sweeper reads every partition either way.
    pub outbox_one_partition: bool,
}

/// The ports and configuration, cheap to clone: one shared allocation, so that a clone (axum clones the state
/// for every request and every layer it passes) is one reference count, not one per port.
///
/// It reads as its [`AppParts`] (`app.table`). Changing a part of a clone (`app.push = …`) changes only that
/// clone: the parts are copied first if they are shared.
#[derive(Clone)]
pub struct App(Arc<AppParts>);

/// What an [`App`] holds.
#[derive(Clone)]
pub struct AppParts {
    /// The table (DynamoDB / redb).
    pub table: Arc<dyn Table>,
    /// The `events` topic.
    pub topic: Arc<dyn Topic>,
    /// Exports and archives.
    pub blobs: Arc<dyn BlobStore>,
    /// WebSocket pushes.
    pub push: Arc<dyn Push>,
    /// Email and SMS.
    pub mailer: Arc<dyn Mailer>,
    /// Push to agents' phones.
    pub mobile: Arc<dyn MobilePush>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// The due queue: timers sent with a delay, received when they fall due (the timers capability).
    pub due: Arc<dyn Queue>,
    /// Environment settings.
    pub config: Arc<Config>,
    /// Values derived from stored items, each kept for one version of its source (compiled rule sets).
    pub memo: Arc<super::memo::Memo>,
    /// How published outbox entries are deleted: each by its publish, or in batches off the request's path.
    pub clearing: super::clearing::Clearing,
}

impl From<AppParts> for App {
    fn from(parts: AppParts) -> Self {
        Self(Arc::new(parts))
    }
}

impl std::ops::Deref for App {
    type Target = AppParts;

    fn deref(&self) -> &AppParts {
        &self.0
    }
}

impl std::ops::DerefMut for App {
    fn deref_mut(&mut self) -> &mut AppParts {
        Arc::make_mut(&mut self.0)
    }
}

impl AppParts {
    /// Now, from the app's clock.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }
}
