//! Embedded adapters: the ports on one local redb file, for `kefu serve`, demos and small installs.
//!
//! The table, the queues and the topic's fan-out can share one database or use one each (`kefu serve` keeps
//! the queues in a file of their own, so two writers commit in parallel); the topic and its queues share one,
//! so a publish that reaches several queues is one atomic write, and nothing accepted is lost across a restart. Blobs live in a directory, pushes go
//! through an in-process hub, and mail and SMS land in an outbox file.

pub mod blob;
mod keys;
pub mod mail;
pub mod push;
pub mod queue;
pub mod store;
pub mod table;
pub mod topic;

pub use blob::LocalBlobs;
pub use mail::OutboxMailer;
pub use push::PushHub;
pub use queue::EmbeddedQueue;
pub use store::{EmbeddedStore, GROUP_WINDOW, StoreError};
pub use table::EmbeddedTable;
pub use topic::EmbeddedTopic;
