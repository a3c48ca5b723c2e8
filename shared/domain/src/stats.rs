//! Statistics kept as events happen (`GET /v1/stats`): latency histograms, CSAT counts and the tenant's days.
//!
//! The read path must stay O(days × agents × groups) whatever the tenant's history, so nothing is computed from
//! the conversations at read time. Each day × agent × group keeps counters that are only ever added to: a
//! [`Histogram`] of first-response times and one of resolution times, and [`Csat`] counts. A report merges the
//! items of its range ([`Histogram::merge`], [`Csat::merge`]) and reads the median and p90 from the merged
//! histogram ([`Histogram::quantile`]), which is as exact as one histogram of all the samples.
//!
//! The histogram's buckets are whole seconds up to 15 s, then each about 10% wider than the one before, up to
//! about 3.4 years (values beyond count in the last bucket). A quantile is the middle of its bucket, so it is
//! within [`MAX_RELATIVE_ERROR`] (5%) of the exact nearest-rank quantile of the recorded samples; the count and
//! the mean are exact. Only non-empty buckets are stored, so a day's item holds a few pairs of numbers; a
//! store can also keep one counter per bucket and add to it atomically ([`bucket_index`]).

use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::schedule::Schedule;

/// Seconds below this have a bucket each (exact).
const EXACT: u64 = 16;
/// How many growing buckets follow the exact ones.
const LOG_BUCKETS: usize = 170;
/// The lower bound of each growing bucket: each is the previous plus a tenth of it (rounded down).
const LOG_BOUNDS: [u64; LOG_BUCKETS] = {
    let mut b = [0u64; LOG_BUCKETS];
    b[0] = EXACT;
    let mut i = 1;
    while i < LOG_BUCKETS {
        b[i] = b[i - 1] + b[i - 1] / 10;
        i += 1;
    }
    b
};

/// How many buckets a histogram has.
pub const BUCKETS: usize = EXACT as usize + LOG_BUCKETS;
/// The largest value a histogram tells apart: larger ones count in the last bucket (about 3.4 years).
pub const MAX_TRACKED_SECONDS: u64 = LOG_BOUNDS[LOG_BUCKETS - 1];
/// The most a quantile differs from the exact one, relative to it (for values up to [`MAX_TRACKED_SECONDS`]).
pub const MAX_RELATIVE_ERROR: f64 = 0.05;

/// The bucket `seconds` counts in.
pub fn bucket_index(seconds: u64) -> usize {
    if seconds < EXACT {
        // Below 16: fits.
        seconds as usize
    } else {
        EXACT as usize + LOG_BOUNDS.partition_point(|b| *b <= seconds) - 1
    }
}

/// The smallest and largest value of bucket `i` (the last bucket's largest is [`u64::MAX`]).
fn bucket_range(i: usize) -> (u64, u64) {
    if i < EXACT as usize {
        (i as u64, i as u64)
    } else {
        let k = i - EXACT as usize;
        let hi = LOG_BOUNDS.get(k + 1).map_or(u64::MAX, |b| b - 1);
        (LOG_BOUNDS[k], hi)
    }
}

/// The value a quantile in bucket `i` answers: its middle (the last bucket answers its lower bound).
fn bucket_value(i: usize) -> f64 {
    let (lo, hi) = bucket_range(i);
    if hi == u64::MAX { lo as f64 } else { (lo as f64 + hi as f64) / 2.0 }
}

/// A mergeable histogram of durations in seconds (first response, resolution).
#[derive(Clone, PartialEq, Eq)]
pub struct Histogram {
    counts: Vec<u64>,
    count: u64,
    sum: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Self { counts: vec![0; BUCKETS], count: 0, sum: 0 }
    }
}

impl fmt::Debug for Histogram {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Histogram").field("count", &self.count).field("sum", &self.sum).finish_non_exhaustive()
    }
}

/// The median and 90th percentile as `GET /v1/stats` answers them, in whole seconds (`null` without samples).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Summary {
    /// The 50th percentile.
    pub median: Option<u64>,
    /// The 90th percentile.
    pub p90: Option<u64>,
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one duration.
    pub fn record(&mut self, seconds: u64) {
        self.counts[bucket_index(seconds)] += 1;
        self.count += 1;
        self.sum = self.sum.saturating_add(seconds);
    }

    /// Adds `other`'s samples (another day, agent or group): the result is the histogram of both.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.count += other.count;
        self.sum = self.sum.saturating_add(other.sum);
    }

    /// How many samples.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether it has no sample.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The sum of the samples, in seconds.
    pub fn sum(&self) -> u64 {
        self.sum
    }

    /// The exact mean (`avg_first_response_seconds`), `None` without samples.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// The `q` quantile (0 < q ≤ 1; `q` outside is clamped) by nearest rank: the value of the sample at rank
    /// ⌈q·n⌉, within [`MAX_RELATIVE_ERROR`]. `None` without samples.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let q = if q.is_nan() { 0.5 } else { q.clamp(0.0, 1.0) };
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(bucket_value(i));
            }
        }
        None
    }

    /// The median and p90, rounded to whole seconds.
    pub fn summary(&self) -> Summary {
        let round = |q: f64| self.quantile(q).map(|v| v.round() as u64);
        Summary { median: round(0.5), p90: round(0.9) }
    }

    /// The non-empty buckets as (index, count), ascending: what is stored.
    pub fn buckets(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts.iter().enumerate().filter(|(_, c)| **c > 0).map(|(i, c)| (i, *c))
    }

    /// A histogram from stored per-bucket counters (e.g. kept by atomic adds at [`bucket_index`]) and the sum.
    /// Refuses an index out of range.
    pub fn from_buckets(buckets: impl IntoIterator<Item = (usize, u64)>, sum: u64) -> Result<Self, String> {
        let mut h = Self::new();
        for (i, c) in buckets {
            let slot = h.counts.get_mut(i).ok_or_else(|| format!("bucket {i} is out of range"))?;
            *slot += c;
            h.count += c;
        }
        h.sum = sum;
        Ok(h)
    }
}

/// The stored form: `{"n": count, "sum": seconds, "b": [[index, count], ...]}` with only non-empty buckets.
#[derive(Serialize, Deserialize)]
struct HistogramRepr {
    n: u64,
    sum: u64,
    b: Vec<(usize, u64)>,
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HistogramRepr { n: self.count, sum: self.sum, b: self.buckets().collect() }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let r = HistogramRepr::deserialize(d)?;
        let h = Histogram::from_buckets(r.b, r.sum).map_err(serde::de::Error::custom)?;
        if h.count != r.n {
            return Err(serde::de::Error::custom("the bucket counts do not add up to n"));
        }
        Ok(h)
    }
}

/// A visitor's rating (`POST /v1/widget/rating`: 3 good, 2 neutral, 1 bad).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Score {
    /// 1.
    Bad,
    /// 2.
    Neutral,
    /// 3.
    Good,
}

impl Score {
    /// The score sent as `field` (1, 2 or 3).
    pub fn parse(n: i64, field: &str) -> Result<Self, ValidationError> {
        match n {
            1 => Ok(Score::Bad),
            2 => Ok(Score::Neutral),
            3 => Ok(Score::Good),
            _ => Err(ValidationError::new(field, "must be 1, 2 or 3")),
        }
    }

    /// 1, 2 or 3.
    pub fn value(self) -> u8 {
        match self {
            Score::Bad => 1,
            Score::Neutral => 2,
            Score::Good => 3,
        }
    }

    /// The name of its counter (`good`, `neutral`, `bad`).
    pub fn as_str(self) -> &'static str {
        match self {
            Score::Bad => "bad",
            Score::Neutral => "neutral",
            Score::Good => "good",
        }
    }
}

/// Satisfaction counts (`"csat": {"good", "neutral", "bad"}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Csat {
    /// Ratings of 3.
    pub good: u64,
    /// Ratings of 2.
    pub neutral: u64,
    /// Ratings of 1.
    pub bad: u64,
}

impl Csat {
    fn slot(&mut self, s: Score) -> &mut u64 {
        match s {
            Score::Good => &mut self.good,
            Score::Neutral => &mut self.neutral,
            Score::Bad => &mut self.bad,
        }
    }

    /// Counts a rating; `previous` is the conversation's earlier rating, which a new one replaces (API.md), so
    /// each conversation counts once.
    pub fn record(&mut self, previous: Option<Score>, score: Score) {
        if let Some(p) = previous {
            let slot = self.slot(p);
            *slot = slot.saturating_sub(1);
        }
        *self.slot(score) += 1;
    }

    /// Adds `other`'s counts.
    pub fn merge(&mut self, other: &Csat) {
        self.good += other.good;
        self.neutral += other.neutral;
        self.bad += other.bad;
    }

    /// All ratings.
    pub fn total(&self) -> u64 {
        self.good + self.neutral + self.bad
    }
}

/// The most days one statistics request covers.
pub const MAX_STATS_DAYS: usize = 366;

/// The tenant's calendar day of `at` (statistics are kept and reported per day in the tenant's zone).
pub fn day_of(at: Timestamp, tz: &TimeZone) -> Date {
    at.to_zoned(tz.clone()).date()
}

/// The day's key in stored statistics: `YYYY-MM-DD`.
pub fn day_key(at: Timestamp, tz: &TimeZone) -> String {
    day_of(at, tz).to_string()
}

/// The tenant's days that `[since, until)` touches, in order: the items a report reads. At most
/// [`MAX_STATS_DAYS`]; `until` must be after `since`.
pub fn days_between(since: Timestamp, until: Timestamp, tz: &TimeZone) -> Result<Vec<Date>, ValidationError> {
    if until <= since {
        return Err(ValidationError::new("until", "must be after since"));
    }
    let last = day_of(until - jiff::SignedDuration::from_nanos(1), tz);
    let mut day = day_of(since, tz);
    let mut out = Vec::new();
    while day <= last {
        if out.len() == MAX_STATS_DAYS {
            return Err(ValidationError::new("until", format!("at most {MAX_STATS_DAYS} days at once")));
        }
        out.push(day);
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    Ok(out)
}

/// The most days [`business_seconds`] walks (about eleven years); time beyond is not counted.
pub const MAX_BUSINESS_DAYS: usize = 4000;

/// The local instant of `minute` after midnight of `date` (1440 is the next midnight). A wall time that a
/// daylight-saving change skips is read as jiff's "compatible" choice (the later side of the gap).
fn at_minute(date: Date, minute: u16, tz: &TimeZone) -> Option<Timestamp> {
    let (d, m) = if minute >= 24 * 60 { (date.tomorrow().ok()?, minute - 24 * 60) } else { (date, minute) };
    let (h, m) = (i8::try_from(m / 60).ok()?, i8::try_from(m % 60).ok()?);
    d.at(h, m, 0, 0).to_zoned(tz.clone()).ok().map(|z| z.timestamp())
}

/// How many seconds of `[from, to)` fall inside the schedule's hours (`GET /v1/stats?business_hours=true`
/// counts a wait or a resolution only while the team works). Holidays, overrides and overnight ranges count as
/// [`Schedule::is_open`] reads them.
pub fn business_seconds(schedule: &Schedule, from: Timestamp, to: Timestamp) -> u64 {
    if to <= from {
        return 0;
    }
    let tz = TimeZone::get(schedule.timezone()).unwrap_or(TimeZone::UTC);
    // The day before `from` may have an overnight range that reaches into it.
    let first = day_of(from, &tz);
    let mut day = first.yesterday().unwrap_or(first);
    let last = day_of(to, &tz);
    let mut total: u64 = 0;
    for _ in 0..MAX_BUSINESS_DAYS {
        for h in schedule.hours_on(day) {
            let end_day_minute = if h.overnight() { h.end + 24 * 60 } else { h.end };
            let (Some(start), Some(end)) = (at_minute(day, h.start, &tz), at_minute(day, end_day_minute, &tz)) else {
                continue;
            };
            let (s, e) = (start.max(from), end.min(to));
            if e > s {
                total += e.duration_since(s).as_secs().unsigned_abs();
            }
        }
        if day >= last {
            break;
        }
        day = match day.tomorrow() {
            Ok(d) => d,
            Err(_) => break,
        };
    }
    total
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn exact(sorted: &[u64], q: f64) -> f64 {
        let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
        sorted[rank - 1] as f64
    }

    fn hist(values: &[u64]) -> Histogram {
        let mut h = Histogram::new();
        for v in values {
            h.record(*v);
        }
        h
    }

    #[test]
    fn buckets_cover_every_value_once() {
        assert_eq!(BUCKETS, 186);
        let last = bucket_range(BUCKETS - 1);
        assert_eq!(last, (MAX_TRACKED_SECONDS, u64::MAX));
        assert!(last.0 > 100_000_000, "more than three years");
        for v in (0..5000).chain([MAX_TRACKED_SECONDS - 1, MAX_TRACKED_SECONDS, u64::MAX]) {
            let (lo, hi) = bucket_range(bucket_index(v));
            assert!(lo <= v && v <= hi, "{v} in [{lo}, {hi}]");
        }
        for i in 0..BUCKETS - 1 {
            let (lo, hi) = bucket_range(i);
            assert_eq!(bucket_range(i + 1).0, hi + 1, "buckets are contiguous");
            assert!((bucket_value(i) - lo as f64) <= MAX_RELATIVE_ERROR * lo as f64, "bucket {i} is narrow enough");
        }
        assert_eq!(bucket_index(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn small_values_are_exact_and_the_mean_is_exact() {
        let h = hist(&[3, 1, 2, 10, 5]);
        assert_eq!(h.quantile(0.5), Some(3.0));
        assert_eq!(h.quantile(0.9), Some(10.0));
        assert_eq!(h.quantile(0.0), Some(1.0));
        assert_eq!(h.mean(), Some(4.2));
        assert_eq!(h.summary(), Summary { median: Some(3), p90: Some(10) });
        let empty = Histogram::new();
        assert_eq!((empty.quantile(0.5), empty.mean(), empty.summary()), (None, None, Summary::default()));
        let h = hist(&[u64::MAX, u64::MAX]);
        assert_eq!(h.sum(), u64::MAX, "the sum saturates");
        assert_eq!(h.quantile(0.5), Some(MAX_TRACKED_SECONDS as f64), "beyond the range: the last bucket");
    }

    #[test]
    fn stored_form_is_compact_and_checked() {
        let h = hist(&[30, 30, 45, 7200]);
        let v = serde_json::to_value(&h).unwrap();
        assert_eq!(v["n"], 4);
        assert_eq!(v["sum"], 7305);
        assert_eq!(v["b"].as_array().unwrap().len(), 3, "only non-empty buckets");
        assert_eq!(serde_json::from_value::<Histogram>(v).unwrap(), h);
        assert!(serde_json::from_str::<Histogram>(r#"{"n": 2, "sum": 1, "b": [[1, 1]]}"#).is_err());
        assert!(serde_json::from_str::<Histogram>(r#"{"n": 1, "sum": 1, "b": [[999, 1]]}"#).is_err());
        let from = Histogram::from_buckets(h.buckets(), h.sum()).unwrap();
        assert_eq!(from, h);
    }

    #[test]
    fn csat_counts_each_conversation_once() {
        let mut c = Csat::default();
        c.record(None, Score::parse(3, "score").unwrap());
        c.record(None, Score::Bad);
        c.record(Some(Score::Bad), Score::Neutral);
        assert_eq!(c, Csat { good: 1, neutral: 1, bad: 0 });
        let mut d = Csat { good: 2, neutral: 0, bad: 5 };
        d.merge(&c);
        assert_eq!((d.total(), d.good, d.bad), (9, 3, 5));
        assert_eq!(Score::parse(0, "score").unwrap_err().field, "score");
        assert_eq!((Score::Good.value(), Score::Bad.as_str()), (3, "bad"));
        assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!({"good": 1, "neutral": 1, "bad": 0}));
    }

    #[test]
    fn days_in_the_tenants_zone() {
        let sh = TimeZone::get("Asia/Shanghai").unwrap();
        let ny = TimeZone::get("America/New_York").unwrap();
        let at: Timestamp = "2026-12-01T17:30:00Z".parse().unwrap();
        assert_eq!(day_key(at, &sh), "2026-12-02", "01:30 the next morning in Shanghai");
        assert_eq!(day_key(at, &ny), "2026-12-01");
        assert_eq!(day_key(at, &TimeZone::UTC), "2026-12-01");
        let since: Timestamp = "2026-11-30T16:00:00Z".parse().unwrap(); // Dec 1 00:00 Shanghai
        let until: Timestamp = "2026-12-02T16:00:00Z".parse().unwrap(); // Dec 3 00:00 Shanghai, exclusive
        let days: Vec<String> = days_between(since, until, &sh).unwrap().iter().map(ToString::to_string).collect();
        assert_eq!(days, ["2026-12-01", "2026-12-02"]);
        assert_eq!(days_between(until, since, &sh).unwrap_err().field, "until");
        let year_later: Timestamp = "2027-12-31T00:00:00Z".parse().unwrap();
        assert!(days_between(since, year_later, &sh).is_err());
        // Across a daylight-saving change the day is still one day.
        let dst: Timestamp = "2026-03-08T12:00:00Z".parse().unwrap();
        assert_eq!(day_key(dst, &ny), "2026-03-08");
    }

    fn office(tz: &str) -> Schedule {
        Schedule::parse(
            &serde_json::from_value(serde_json::json!({"name": "Office", "timezone": tz,
                "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "tue": [["09:00", "18:00"]],
                           "wed": [["22:00", "06:00"]], "thu": [["09:00", "24:00"]], "sat": [["10:00", "14:00"]]},
                "holidays": ["2026-12-08"], "overrides": [{"date": "2026-12-10", "hours": [["11:00", "12:30"]]}]}))
            .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn business_time_counts_only_working_hours() {
        let s = office("UTC");
        let t = |x: &str| x.parse::<Timestamp>().unwrap();
        // Monday 2026-11-30 08:00 to 14:00: 09–12 and 13–14.
        assert_eq!(business_seconds(&s, t("2026-11-30T08:00:00Z"), t("2026-11-30T14:00:00Z")), 4 * 3600);
        // Wednesday 23:00 to Thursday 10:00: the night shift's 23–06, then 09–10.
        assert_eq!(business_seconds(&s, t("2026-12-02T23:00:00Z"), t("2026-12-03T10:00:00Z")), 8 * 3600);
        // Tuesday 2026-12-08 is a holiday; Thursday 2026-12-10 has an override of 1.5 hours.
        assert_eq!(business_seconds(&s, t("2026-12-08T00:00:00Z"), t("2026-12-09T00:00:00Z")), 0);
        assert_eq!(
            business_seconds(&s, t("2026-12-10T00:00:00Z"), t("2026-12-11T00:00:00Z")),
            27000,
            "Wednesday night's tail, then the override"
        );
        assert_eq!(business_seconds(&s, t("2026-12-10T00:00:00Z"), t("2026-12-10T00:00:00Z")), 0);
        assert_eq!(business_seconds(&s, t("2026-12-11T00:00:00Z"), t("2026-12-10T00:00:00Z")), 0);
    }

    fn durations() -> impl Strategy<Value = Vec<u64>> {
        prop::collection::vec(prop_oneof![0u64..60, 0u64..3_600, 0u64..2_000_000, 0u64..=MAX_TRACKED_SECONDS], 1..200)
    }

    proptest! {
        #[test]
        fn quantiles_are_within_the_stated_error(values in durations(), q in 0.01f64..=1.0) {
            let h = hist(&values);
            let mut sorted = values.clone();
            sorted.sort_unstable();
            for q in [0.5, 0.9, q] {
                let want = exact(&sorted, q);
                let got = h.quantile(q).unwrap();
                prop_assert!((got - want).abs() <= MAX_RELATIVE_ERROR * want, "q {q}: got {got}, exact {want}");
            }
            prop_assert_eq!(h.count(), values.len() as u64);
            prop_assert_eq!(h.sum(), values.iter().sum::<u64>());
        }

        #[test]
        fn business_time_agrees_with_is_open(zone in prop::sample::select(vec!["UTC", "Asia/Shanghai", "America/New_York", "Asia/Kolkata"]),
                                             start in 0i64..(60 * 24 * 150), minutes in 0i64..(3 * 24 * 60)) {
            // From late October 2026 over five months: New York's clocks change on 1 November and 8 March.
            let s = office(zone);
            let base = "2026-10-20T00:00:00Z".parse::<Timestamp>().unwrap();
            let from = base + jiff::SignedDuration::from_mins(start);
            let to = from + jiff::SignedDuration::from_mins(minutes);
            let brute: u64 = (0..minutes)
                .filter(|m| s.is_open(from + jiff::SignedDuration::from_mins(*m)))
                .count() as u64 * 60;
            prop_assert_eq!(business_seconds(&s, from, to), brute);
        }

        #[test]
        fn merging_is_the_histogram_of_all_samples(a in durations(), b in durations()) {
            let mut ab = hist(&a);
            ab.merge(&hist(&b));
            let mut ba = hist(&b);
            ba.merge(&hist(&a));
            let all: Vec<u64> = a.iter().chain(&b).copied().collect();
            prop_assert_eq!(&ab, &hist(&all));
            prop_assert_eq!(&ab, &ba);
            let json = serde_json::to_string(&ab).unwrap();
            prop_assert_eq!(serde_json::from_str::<Histogram>(&json).unwrap(), ab);
        }
    }
}
