//! The statistics items as stored (docs/data-model.md "Statistics").
//!
//! A day × agent × group item ([`CellRecord`]) is never written whole: every change is an update that adds to
//! its counters (DynamoDB `ADD`), so events counted at the same time never conflict and nothing is read first.
//! Its histograms are stored as one counter per non-empty bucket (`fr_b12`), their count (`fr_n`) and their sum
//! (`fr_sum`), which [`Histogram::from_buckets`] reads back. A conversation's state ([`ConversationStatsRecord`])
//! remembers what was counted for it that a later event depends on; a mark ([`CountedRecord`]) per counted event
//! makes a duplicate delivery count nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use kefu_domain::stats::{Csat, Histogram};
use kefu_domain::{AgentId, ConversationId, GroupId, TenantId};
use kefu_ports::table::{Key, Update};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// The `type` of a statistics item.
pub const CELL_TYPE: &str = "stats_day";

/// Which histogram of an item: first response or resolution, in wall-clock or business-hours seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// Creation to the first agent reply.
    FirstResponse,
    /// The same, counting only working hours.
    FirstResponseBusiness,
    /// Creation to the close.
    Resolution,
    /// The same, counting only working hours.
    ResolutionBusiness,
}

impl Measure {
    /// The attributes' prefix.
    pub fn prefix(self) -> &'static str {
        match self {
            Measure::FirstResponse => "fr",
            Measure::FirstResponseBusiness => "frb",
            Measure::Resolution => "res",
            Measure::ResolutionBusiness => "resb",
        }
    }
}

/// Counter attributes of an item.
pub mod attr {
    /// Conversations started (in the item's group; the agent is `-`).
    pub const CONVERSATIONS: &str = "conversations";
    /// Conversations assigned to the item's agent for the first time.
    pub const ASSIGNED: &str = "assigned";
    /// Visitor, agent and bot messages (not internal notes, not system lines).
    pub const MESSAGES: &str = "messages";
    /// Ratings of 3.
    pub const CSAT_GOOD: &str = "csat_good";
    /// Ratings of 2.
    pub const CSAT_NEUTRAL: &str = "csat_neutral";
    /// Ratings of 1.
    pub const CSAT_BAD: &str = "csat_bad";
}

/// Adds to the counters of one item: what an event changes there, netted (a first response replaced within one
/// item adds nothing twice), turned into one update.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CellDelta {
    adds: BTreeMap<String, i64>,
}

impl CellDelta {
    /// Adds `by` to `attr`.
    pub fn add(&mut self, attr: impl Into<String>, by: i64) {
        *self.adds.entry(attr.into()).or_default() += by;
    }

    /// Counts (`sign` 1) or uncounts (`sign` -1) one duration in a histogram.
    pub fn sample(&mut self, m: Measure, seconds: u64, sign: i64) {
        let p = m.prefix();
        let idx = kefu_domain::stats::bucket_index(seconds);
        self.add(format!("{p}_n"), sign);
        self.add(format!("{p}_sum"), sign.saturating_mul(i64::try_from(seconds).unwrap_or(i64::MAX)));
        self.add(format!("{p}_b{idx}"), sign);
    }

    /// Whether it changes nothing.
    pub fn is_empty(&self) -> bool {
        self.adds.values().all(|v| *v == 0)
    }

    /// The update of the item `(day, agent, group)`: its identifying attributes and the additions.
    pub fn update(&self, day: &str, agent: Option<&AgentId>, group: Option<&GroupId>) -> Update {
        let mut u = Update::new()
            .set("type", CELL_TYPE)
            .set("day", day)
            .set("agent_id", agent.map_or(Value::Null, |a| Value::String(a.to_string())))
            .set("group_id", group.map_or(Value::Null, |g| Value::String(g.to_string())));
        for (attr, by) in &self.adds {
            if *by != 0 {
                u = u.add(attr.clone(), *by);
            }
        }
        u
    }
}

/// A day × agent × group item: `T#{t}#STATS` / `DAY#{day}#A#{agent|-}#G#{group|-}`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CellRecord {
    /// The tenant's day.
    pub day: String,
    /// The agent (none: counts that belong to no agent).
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    /// The group (none: the default group).
    #[serde(default)]
    pub group_id: Option<GroupId>,
    /// Every other attribute: the counters.
    #[serde(flatten)]
    pub counters: BTreeMap<String, Value>,
}

impl CellRecord {
    /// A counter (0 when absent).
    pub fn count(&self, attr: &str) -> u64 {
        self.counters.get(attr).and_then(Value::as_i64).map_or(0, |n| n.max(0).unsigned_abs())
    }

    /// One of its histograms.
    pub fn histogram(&self, m: Measure) -> Histogram {
        let p = m.prefix();
        let bucket_prefix = format!("{p}_b");
        let buckets = self.counters.iter().filter_map(|(k, v)| {
            let idx = k.strip_prefix(&bucket_prefix)?.parse::<usize>().ok()?;
            Some((idx, v.as_i64()?.max(0).unsigned_abs()))
        });
        // An index out of range cannot be written (bucket_index never answers one); an item that has one is
        // read without it rather than failing the report.
        let buckets: Vec<(usize, u64)> = buckets.filter(|(i, _)| *i < kefu_domain::stats::BUCKETS).collect();
        Histogram::from_buckets(buckets, self.count(&format!("{p}_sum"))).unwrap_or_default()
    }

    /// Its satisfaction counts.
    pub fn csat(&self) -> Csat {
        Csat {
            good: self.count(attr::CSAT_GOOD),
            neutral: self.count(attr::CSAT_NEUTRAL),
            bad: self.count(attr::CSAT_BAD),
        }
    }
}

/// The first response counted for a conversation: enough to take it back if an earlier reply turns up (events
/// arrive in any order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstResponse {
    /// When the reply was stored.
    pub at: Timestamp,
    /// Wall-clock seconds from the conversation's start.
    pub seconds: u64,
    /// The same inside working hours.
    pub business_seconds: u64,
    /// The item it was counted in (its sort key) and that item's agent and group.
    pub cell: String,
    /// The day of that item.
    pub day: String,
    /// The agent who replied.
    pub agent_id: AgentId,
    /// The conversation's group then.
    #[serde(default)]
    pub group_id: Option<GroupId>,
}

/// A conversation's statistics state: `T#{t}#CONV#{c}` / `STATS`. Written whole, conditioned on `version`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationStatsRecord {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The conversation.
    pub conversation_id: ConversationId,
    /// The agents it was counted for (each once, in `assigned`).
    #[serde(default)]
    pub agents: Vec<AgentId>,
    /// Its first response, once counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_response: Option<FirstResponse>,
    /// Optimistic concurrency: each write adds 1.
    pub version: u64,
}

impl ConversationStatsRecord {
    /// The state of a conversation nothing was counted for yet (version 0: not stored).
    pub fn empty(t: &TenantId, c: &ConversationId) -> Self {
        Self { tenant_id: t.clone(), conversation_id: c.clone(), agents: Vec::new(), first_response: None, version: 0 }
    }
}

impl Record for ConversationStatsRecord {
    const TYPE: &'static str = "conversation_stats";

    fn key(&self) -> Key {
        keys::conversation_stats(&self.tenant_id, &self.conversation_id)
    }
}

/// The mark of a counted event: `T#{t}#STATSEV#{event id}` / `STATSEV`, expiring by `ttl`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CountedRecord {
    /// When it was counted.
    pub counted_at: Timestamp,
    /// Expiry, epoch seconds.
    pub ttl: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_read_back_is_the_histogram_of_its_samples() {
        let mut d = CellDelta::default();
        for s in [3, 40, 40, 4000] {
            d.sample(Measure::FirstResponse, s, 1);
        }
        d.sample(Measure::FirstResponse, 40, -1);
        d.add(attr::MESSAGES, 2);
        let mut item = keys::stats_cell(&TenantId::generate(), "DAY#2026-01-01#A#-#G#-").to_item();
        d.update("2026-01-01", None, None).apply(&mut item).unwrap();
        let cell: CellRecord = crate::plumbing::record::parse("stats", item).unwrap();
        let mut want = Histogram::new();
        for s in [3, 40, 4000] {
            want.record(s);
        }
        assert_eq!(cell.histogram(Measure::FirstResponse), want);
        assert!(cell.histogram(Measure::Resolution).is_empty());
        assert_eq!((cell.count(attr::MESSAGES), cell.count(attr::CONVERSATIONS)), (2, 0));
        assert_eq!(cell.day, "2026-01-01");
        let mut undo = CellDelta::default();
        undo.sample(Measure::Resolution, 5, 1);
        undo.sample(Measure::Resolution, 5, -1);
        assert!(undo.is_empty());
    }
}
