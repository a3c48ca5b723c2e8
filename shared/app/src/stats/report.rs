//! The statistics report (`GET /v1/stats`): read from the day × agent × group items of the range — one paged
//! `Query` on the tenant's statistics partition between the first and the last day — and merged, so the work is
//! O(days × agents × groups) whatever the tenant's history. Counts are exact; the median and p90 come from the
//! merged histograms (within 5%, see `kefu_domain::stats`).
//!
//! The report covers the whole days (in the tenant's zone) that `[since, until)` touches. Without a filter,
//! `conversations` counts the conversations started; per agent — and everywhere when `agent_id` filters — it
//! counts the conversations assigned to the agent (each once per agent). `messages` counts visitor, agent and
//! bot messages, never internal notes; per agent, the agent's own.

use std::collections::BTreeMap;

use jiff::Timestamp;
use kefu_domain::stats::{Csat, Histogram, days_between};
use kefu_domain::{AgentId, GroupId, TenantId, ValidationError};
use kefu_ports::table::{Query, SkCondition};
use serde::Serialize;

use super::StatsError;
use super::record::{CellRecord, Measure, attr};
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record;

/// How far back a report reaches when `since` is not given.
pub const DEFAULT_DAYS: i64 = 7;

/// A validated report request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatsRequest {
    /// The start (inclusive).
    pub since: Timestamp,
    /// The end (exclusive).
    pub until: Timestamp,
    /// Only this agent's counts.
    pub agent: Option<AgentId>,
    /// Only this group's counts.
    pub group: Option<GroupId>,
    /// Durations counted inside working hours only.
    pub business_hours: bool,
}

fn time(s: Option<&str>, field: &str) -> Result<Option<Timestamp>, ValidationError> {
    s.map(|s| s.parse::<Timestamp>().map_err(|_| ValidationError::new(field, "must be an RFC 3339 time"))).transpose()
}

impl StatsRequest {
    /// Reads the query's parameters (`until` defaults to `now`, `since` to [`DEFAULT_DAYS`] before `until`).
    pub fn parse(
        since: Option<&str>,
        until: Option<&str>,
        agent_id: Option<&str>,
        group_id: Option<&str>,
        business_hours: Option<&str>,
        now: Timestamp,
    ) -> Result<Self, ValidationError> {
        let until = time(until, "until")?.unwrap_or(now);
        let since = time(since, "since")?.unwrap_or(until - jiff::SignedDuration::from_hours(24 * DEFAULT_DAYS));
        if until <= since {
            return Err(ValidationError::new("until", "must be after since"));
        }
        let agent = agent_id
            .map(|a| AgentId::parse(a).ok_or_else(|| ValidationError::new("agent_id", "is not an agent id")))
            .transpose()?;
        let group = group_id
            .map(|g| GroupId::parse(g).ok_or_else(|| ValidationError::new("group_id", "is not a group id")))
            .transpose()?;
        let business_hours = match business_hours {
            None | Some("false") => false,
            Some("true") => true,
            Some(_) => return Err(ValidationError::new("business_hours", "must be true or false")),
        };
        Ok(Self { since, until, agent, group, business_hours })
    }
}

/// A median and a 90th percentile in whole seconds (`null` without samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Quantiles {
    /// The 50th percentile.
    pub median: Option<u64>,
    /// The 90th percentile.
    pub p90: Option<u64>,
}

impl From<&Histogram> for Quantiles {
    fn from(h: &Histogram) -> Self {
        let s = h.summary();
        Self { median: s.median, p90: s.p90 }
    }
}

/// Satisfaction counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct CsatCounts {
    /// Ratings of 3.
    pub good: u64,
    /// Ratings of 2.
    pub neutral: u64,
    /// Ratings of 1.
    pub bad: u64,
}

impl From<Csat> for CsatCounts {
    fn from(c: Csat) -> Self {
        Self { good: c.good, neutral: c.neutral, bad: c.bad }
    }
}

/// The figures of one slice (the whole range, an agent, a group or a day).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Figures {
    /// Conversations started (assigned, for an agent).
    pub conversations: u64,
    /// Conversations closed (each close of a conversation that was reopened counts again): the resolutions.
    pub closed: u64,
    /// Visitor, agent and bot messages.
    pub messages: u64,
    /// The mean first response, in seconds.
    pub avg_first_response_seconds: Option<f64>,
    /// First response times.
    pub first_response_seconds: Quantiles,
    /// Resolution times.
    pub resolution_seconds: Quantiles,
    /// Ratings.
    pub csat: CsatCounts,
}

/// One agent's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct AgentFigures {
    /// The agent.
    pub agent_id: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One group's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct GroupFigures {
    /// The group (`null`: the default group).
    pub group_id: Option<String>,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// One day's figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DayFigures {
    /// The tenant's day, `YYYY-MM-DD`.
    pub day: String,
    /// Its figures.
    #[serde(flatten)]
    pub figures: Figures,
}

/// `GET /v1/stats`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct StatsReport {
    /// The start asked for.
    pub since: String,
    /// The end asked for.
    pub until: String,
    /// The tenant's zone, which the days are in.
    pub timezone: String,
    /// Whether durations count working hours only.
    pub business_hours: bool,
    /// The whole range.
    #[serde(flatten)]
    pub figures: Figures,
    /// Per agent (agents with any count in the range).
    pub by_agent: Vec<AgentFigures>,
    /// Per group (the default group's `group_id` is `null`).
    pub by_group: Vec<GroupFigures>,
    /// Per day, every day of the range.
    pub by_day: Vec<DayFigures>,
}

/// Merged counters.
#[derive(Debug, Clone, Default)]
struct Acc {
    conversations: u64,
    assigned: u64,
    messages: u64,
    fr: Histogram,
    res: Histogram,
    csat: Csat,
}

impl Acc {
    fn add(&mut self, c: &CellRecord, business: bool) {
        self.conversations += c.count(attr::CONVERSATIONS);
        self.assigned += c.count(attr::ASSIGNED);
        self.messages += c.count(attr::MESSAGES);
        let (fr, res) = if business {
            (Measure::FirstResponseBusiness, Measure::ResolutionBusiness)
        } else {
            (Measure::FirstResponse, Measure::Resolution)
        };
        self.fr.merge(&c.histogram(fr));
        self.res.merge(&c.histogram(res));
        self.csat.merge(&c.csat());
    }

    fn figures(&self, per_agent: bool) -> Figures {
        Figures {
            conversations: if per_agent { self.assigned } else { self.conversations },
            closed: self.res.count(),
            messages: self.messages,
            avg_first_response_seconds: self.fr.mean().map(|m| (m * 10.0).round() / 10.0),
            first_response_seconds: (&self.fr).into(),
            resolution_seconds: (&self.res).into(),
            csat: self.csat.into(),
        }
    }
}

/// The report of `req` for tenant `t`.
pub async fn report(app: &App, t: &TenantId, req: &StatsRequest) -> Result<StatsReport, StatsError> {
    let zone = super::keep::tenant_zone(app, t).await?;
    let days = days_between(req.since, req.until, &zone)?;
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Err(ValidationError::new("until", "must be after since").into());
    };
    let from = format!("{}{first}", keys::STATS_DAY_PREFIX);
    let to = format!("{}{last}#~", keys::STATS_DAY_PREFIX);
    let mut cells = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::stats_pk(t)).sk(SkCondition::Between(from.clone(), to.clone())).after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            cells.push(record::parse::<CellRecord>("stats", item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    cells.retain(|c| {
        req.agent.as_ref().is_none_or(|a| c.agent_id.as_ref() == Some(a))
            && req.group.as_ref().is_none_or(|g| c.group_id.as_ref() == Some(g))
    });
    let per_agent = req.agent.is_some();
    let mut total = Acc::default();
    let mut by_agent: BTreeMap<String, Acc> = BTreeMap::new();
    let mut by_group: BTreeMap<Option<String>, Acc> = BTreeMap::new();
    let mut by_day: BTreeMap<String, Acc> = days.iter().map(|d| (d.to_string(), Acc::default())).collect();
    for c in &cells {
        total.add(c, req.business_hours);
        if let Some(a) = &c.agent_id {
            by_agent.entry(a.to_string()).or_default().add(c, req.business_hours);
        }
        by_group.entry(c.group_id.as_ref().map(ToString::to_string)).or_default().add(c, req.business_hours);
        if let Some(d) = by_day.get_mut(&c.day) {
            d.add(c, req.business_hours);
        }
    }
    let timezone = zone.iana_name().unwrap_or("UTC").to_owned();
    Ok(StatsReport {
        since: req.since.to_string(),
        until: req.until.to_string(),
        timezone,
        business_hours: req.business_hours,
        figures: total.figures(per_agent),
        by_agent: by_agent
            .into_iter()
            .map(|(agent_id, a)| AgentFigures { agent_id, figures: a.figures(true) })
            .collect(),
        by_group: by_group
            .into_iter()
            .map(|(group_id, a)| GroupFigures { group_id, figures: a.figures(per_agent) })
            .collect(),
        by_day: by_day.into_iter().map(|(day, a)| DayFigures { day, figures: a.figures(per_agent) }).collect(),
    })
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_row(label: &str, f: &Figures) -> String {
    [
        label.to_owned(),
        f.conversations.to_string(),
        f.closed.to_string(),
        f.messages.to_string(),
        opt(f.avg_first_response_seconds),
        opt(f.first_response_seconds.median),
        opt(f.first_response_seconds.p90),
        opt(f.resolution_seconds.median),
        opt(f.resolution_seconds.p90),
        f.csat.good.to_string(),
        f.csat.neutral.to_string(),
        f.csat.bad.to_string(),
    ]
    .join(",")
}

/// The report as CSV (`format=csv`): a header, one row per day, then the `total` row. Every field is a day, a
/// number or empty, so nothing needs quoting.
pub fn to_csv(r: &StatsReport) -> String {
    let mut out = String::from(
        "day,conversations,closed,messages,avg_first_response_seconds,first_response_median,first_response_p90,\
         resolution_median,resolution_p90,csat_good,csat_neutral,csat_bad\n",
    );
    for d in &r.by_day {
        out.push_str(&csv_row(&d.day, &d.figures));
        out.push('\n');
    }
    out.push_str(&csv_row("total", &r.figures));
    out.push('\n');
    out
}
