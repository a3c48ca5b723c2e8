//! Statistics and the live board (`GET /v1/stats`, `GET /v1/live`): what the team did and what it faces now.
//!
//! Owns the statistics kept as events happen (`keep`: the `notify` consumer hands it every conversation and
//! message event, and it adds to per-day counters in one transaction with a mark of the event, so a duplicate
//! delivery counts nothing), the items they are kept in (`record`), the report read from them (`report`:
//! O(days × agents × groups) items, whatever the tenant's history) and the live board (`live`: the routing
//! partition and the queue index, never the conversations). The pure parts (histograms, CSAT counts, the
//! tenant's days, business-hours time) are the domain's `kefu_domain::stats`.

pub mod error;
pub mod keep;
pub mod live;
pub mod record;
pub mod report;

pub use error::StatsError;
