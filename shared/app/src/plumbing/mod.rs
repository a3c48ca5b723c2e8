//! The plumbing every capability builds on: the application state ([`state`]), the table's keys, the event
//! envelope and types, the transactional outbox, idempotent queue consumers, rate limits, paged reads, JSON bodies,
//! logging, an in-process memo of derived values ([`memo`]), and the typed records' one conversion to and from the table's items ([`record`]).
//!
//! It uses no capability: everything else may use it.

pub mod clearing;
pub mod consumer;
pub mod events;
pub mod idempotency;
pub mod json;
pub mod keys;
pub mod logging;
pub mod memo;
pub mod outbox;
pub mod pages;
pub mod ratelimit;
pub mod record;
pub mod state;
