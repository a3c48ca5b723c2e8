//! Kefu's application layer, one folder per capability, each named in the product's words:
//!
//! - [`identity`]: sign-in, sessions, MFA, roles, API keys, the security policy, granting access, tenants;
//! - [`conversations`]: conversations, messages, the visitor widget and its settings;
//! - [`customers`]: customer profiles and customer groups;
//! - [`assignment`]: routing, the waiting queue, agents, groups, schedules and assignment settings;
//! - [`audit`]: the hash-chained audit log, anomaly detection and security alerts;
//! - [`realtime`]: WebSocket connections, frames and agent presence;
//! - [`quick_replies`]: personal and team quick replies, their shortcuts, search index and variables;
//! - [`automation`]: a tenant's rules, checked on save, dry runs, and running them on events;
//! - [`notifications`]: agents' notification preferences and the delivery of notifications to them;
//! - [`tags`]: the tag registry, where each tag is used, and the removal of deleted tags;
//! - [`blocks`]: customers and IP ranges the widget refuses;
//! - [`tickets`]: tickets (from a conversation, standalone, by an API key, or the widget's leave-a-message form),
//!   their comments and their `ticket.assigned` frames;
//! - [`approvals`]: the four-eyes rule: settings, approval requests, decisions and the approved run;
//! - [`plumbing`]: state, keys, events, the outbox, idempotent consumers, rate limits, logging;
//!
//! and `http`, the HTTP conventions every function shares (errors, JSON, authentication of staff), with the
//! `http` feature. Each capability answers its own error type, free of HTTP; `http::error` is the one place
//! that maps them to API.md's JSON errors, so a queue consumer built without the feature links no HTTP stack.
//! `docs/architecture.md` says which capability may use which; `tests/capabilities.rs` holds the code to it.
//!
//! Nothing here knows whether it runs in Lambda or in `kefu serve`: both hand it the same [`App`].

pub mod approvals;
pub mod assignment;
pub mod audit;
pub mod automation;
pub mod blocks;
pub mod chat;
pub mod conversations;
pub mod customers;
pub mod exports;
#[cfg(feature = "http")]
pub mod http;
pub mod identity;
pub mod notifications;
pub mod plumbing;
pub mod quick_replies;
pub mod realtime;
pub mod retention;
pub mod stats;
pub mod tags;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
pub mod tickets;
pub mod timers;

pub use plumbing::state::{App, AppParts, Config};
