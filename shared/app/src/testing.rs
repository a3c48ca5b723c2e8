//! Unit-test wiring for this crate: an [`App`] on a fresh embedded store with the clock the test gives.

use std::sync::Arc;

use kefu_embedded::{EmbeddedStore, EmbeddedTopic, LocalBlobs, OutboxMailer, PushHub};
use kefu_ports::Clock;

use crate::{App, Config};

/// An app on a temporary embedded store (kept alive by the returned directory).
pub fn embedded_app(clock: Arc<dyn Clock>) -> (App, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = EmbeddedStore::open(&dir.path().join("kefu.redb"), clock.clone()).expect("store opens");
    let app = App {
        table: Arc::new(store.table()),
        topic: Arc::new(EmbeddedTopic::new(store.clone())),
        blobs: Arc::new(LocalBlobs::new(dir.path().join("blobs"))),
        push: Arc::new(PushHub::new()),
        mailer: Arc::new(OutboxMailer::new(dir.path().join("outbox.jsonl"))),
        clock,
        config: Arc::new(Config { local: true, ..Config::default() }),
    };
    (app, dir)
}
