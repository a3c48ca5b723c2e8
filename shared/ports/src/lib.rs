//! The ports: the small traits through which Kefu's application talks to the world.
//!
//! Each port is shaped like the subset of the AWS service Kefu uses (DynamoDB, SQS, SNS, S3, the API Gateway
//! management API) so that the AWS adapters are thin, and the embedded adapters reproduce the same semantics on
//! a local store. One conformance suite per port (`kefu-conformance`) holds every adapter to the same contract.

pub mod blob;
pub mod clock;
pub mod mail;
pub mod mobile;
pub mod push;
pub mod queue;
pub mod table;
pub mod topic;

pub use blob::{BlobError, BlobStore, PresignedPut};
pub use clock::{Clock, ManualClock, SystemClock};
pub use mail::{MailError, Mailer};
pub use mobile::{MobileError, MobilePush};
pub use push::{Push, PushError};
pub use queue::{Queue, QueueError, QueueMessage, RedrivePolicy};
pub use table::{
    CmpOp, Condition, Cursor, Index, Item, Key, Page, Query, SkCondition, Stored, Table, TableError, TableStats, TxOp,
    Update, UpdateAction,
};
pub use topic::{FilterPolicy, Topic, TopicError};
