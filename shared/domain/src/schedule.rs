//! Working hours and shifts: a schedule in an IANA time zone with weekly hours, holidays and dated overrides.
//!
//! A schedule answers one question, [`Schedule::is_open`]: is this instant inside its hours? The week is read in
//! the schedule's own zone (so daylight-saving changes move nothing by accident). A range whose end is not after
//! its start runs overnight: `["22:00", "06:00"]` on Monday covers Monday 22:00 to Tuesday 06:00. A range belongs
//! to the day it starts on: a holiday or an override on Tuesday replaces Tuesday's own ranges, not the tail of
//! Monday's night shift. `"24:00"` is accepted as an end (midnight at the end of the day).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::{Date, Weekday};
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::{Name, TimeZoneName, ValidationError};

/// Minutes in a day: the largest end of a range (`24:00`).
const DAY_MINUTES: u16 = 24 * 60;
/// The most ranges one day may have.
pub const MAX_RANGES_PER_DAY: usize = 12;
/// The most holidays or overrides one schedule may have.
pub const MAX_DATED_ENTRIES: usize = 1000;

/// The day names of `weekly`, Monday first.
pub const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn day_index(w: Weekday) -> usize {
    usize::from(w.to_monday_zero_offset().unsigned_abs())
}

/// One range of a day, in minutes after local midnight. `end <= start` means it runs past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Hours {
    /// Opening minute, `0..1440`.
    pub start: u16,
    /// Closing minute, `0..=1440`; not after `start` for an overnight range.
    pub end: u16,
}

impl Hours {
    /// Whether the range runs past midnight into the next day.
    pub fn overnight(self) -> bool {
        self.end <= self.start
    }

    /// Whether `minute` of the range's own day is inside it.
    fn covers_same_day(self, minute: u16) -> bool {
        if self.overnight() { minute >= self.start } else { minute >= self.start && minute < self.end }
    }

    /// Whether `minute` of the next day is inside the range's overnight tail.
    fn covers_next_day(self, minute: u16) -> bool {
        self.overnight() && minute < self.end
    }

    /// The range as the API writes it: `["09:00", "18:00"]`.
    pub fn to_pair(self) -> [String; 2] {
        let f = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        [f(self.start), f(self.end)]
    }
}

/// Parses `"HH:MM"` (00:00..=23:59; `24:00` only where `allow_24` is true).
fn parse_clock(s: &str, allow_24: bool) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !h.bytes().chain(m.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) if allow_24 => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

/// Parses one day's ranges, blaming `field` (e.g. `weekly.mon`).
fn parse_day(ranges: &[Vec<String>], field: &str) -> Result<Vec<Hours>, ValidationError> {
    if ranges.len() > MAX_RANGES_PER_DAY {
        return Err(ValidationError::new(field, format!("at most {MAX_RANGES_PER_DAY} ranges a day")));
    }
    let mut out = Vec::with_capacity(ranges.len());
    for (i, pair) in ranges.iter().enumerate() {
        let at = format!("{field}[{i}]");
        let [start, end] = pair.as_slice() else {
            return Err(ValidationError::new(at, "a range is [\"HH:MM\", \"HH:MM\"]"));
        };
        let start = parse_clock(start, false)
            .ok_or_else(|| ValidationError::new(format!("{at}[0]"), "must be a time from 00:00 to 23:59"))?;
        let end = parse_clock(end, true)
            .ok_or_else(|| ValidationError::new(format!("{at}[1]"), "must be a time from 00:00 to 24:00"))?;
        if start == end {
            return Err(ValidationError::new(at, "a range must not start and end at the same time"));
        }
        out.push(Hours { start, end });
    }
    out.sort();
    // Ranges of one day must not overlap; an overnight range occupies the rest of its day.
    for (i, w) in out.windows(2).enumerate() {
        let first_end = if w[0].overnight() { DAY_MINUTES } else { w[0].end };
        if w[1].start < first_end {
            return Err(ValidationError::new(format!("{field}[{}]", i + 1), "overlaps another range of the day"));
        }
    }
    Ok(out)
}

fn parse_date(s: &str, field: &str) -> Result<Date, ValidationError> {
    if s.len() != 10 {
        return Err(ValidationError::new(field, "must be a date like 2026-10-01"));
    }
    s.parse::<Date>().map_err(|_| ValidationError::new(field, "must be a date like 2026-10-01"))
}

/// A dated override as the API writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideInput {
    /// The day (`YYYY-MM-DD`, in the schedule's zone).
    pub date: String,
    /// That day's ranges, replacing its weekly hours (empty: closed).
    #[serde(default)]
    pub hours: Vec<Vec<String>>,
}

/// A schedule as the API writes it (`POST /v1/schedules`), before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleInput {
    /// Display name.
    pub name: String,
    /// IANA time zone.
    pub timezone: String,
    /// `{"mon": [["09:00", "18:00"]], ...}`; a missing day is closed.
    #[serde(default)]
    pub weekly: BTreeMap<String, Vec<Vec<String>>>,
    /// Dates closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
    /// Dates with their own hours.
    #[serde(default)]
    pub overrides: Vec<OverrideInput>,
}

/// A valid schedule.
#[derive(Debug, Clone)]
pub struct Schedule {
    name: Name,
    zone_name: TimeZoneName,
    zone: TimeZone,
    weekly: [Vec<Hours>; 7],
    holidays: BTreeSet<Date>,
    overrides: BTreeMap<Date, Vec<Hours>>,
}

impl PartialEq for Schedule {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
            && self.zone_name == other.zone_name
            && self.weekly == other.weekly
            && self.holidays == other.holidays
            && self.overrides == other.overrides
    }
}

impl Schedule {
    /// Validates a schedule; errors name the field path (`weekly.mon[0][1]`, `overrides[2].date`…).
    pub fn parse(input: &ScheduleInput) -> Result<Self, ValidationError> {
        let name = Name::parse(&input.name, "name")?;
        let zone_name = TimeZoneName::parse(&input.timezone, "timezone")?;
        let zone = TimeZone::get(zone_name.as_str()).map_err(|_| ValidationError::new("timezone", "unknown"))?;
        let mut weekly: [Vec<Hours>; 7] = Default::default();
        for (day, ranges) in &input.weekly {
            let Some(i) = DAY_NAMES.iter().position(|d| d == day) else {
                return Err(ValidationError::new(
                    format!("weekly.{day}"),
                    "days are mon, tue, wed, thu, fri, sat, sun",
                ));
            };
            weekly[i] = parse_day(ranges, &format!("weekly.{day}"))?;
        }
        if input.holidays.len() > MAX_DATED_ENTRIES {
            return Err(ValidationError::new("holidays", format!("at most {MAX_DATED_ENTRIES} dates")));
        }
        let mut holidays = BTreeSet::new();
        for (i, h) in input.holidays.iter().enumerate() {
            holidays.insert(parse_date(h, &format!("holidays[{i}]"))?);
        }
        if input.overrides.len() > MAX_DATED_ENTRIES {
            return Err(ValidationError::new("overrides", format!("at most {MAX_DATED_ENTRIES} overrides")));
        }
        let mut overrides = BTreeMap::new();
        for (i, o) in input.overrides.iter().enumerate() {
            let date = parse_date(&o.date, &format!("overrides[{i}].date"))?;
            let hours = parse_day(&o.hours, &format!("overrides[{i}].hours"))?;
            if overrides.insert(date, hours).is_some() {
                return Err(ValidationError::new(format!("overrides[{i}].date"), "the date has another override"));
            }
        }
        Ok(Self { name, zone_name, zone, weekly, holidays, overrides })
    }

    /// The schedule's name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }

    /// The schedule's zone.
    pub fn timezone(&self) -> &str {
        self.zone_name.as_str()
    }

    /// The ranges that start on `date`: its override, else nothing on a holiday, else its weekday's hours.
    pub fn hours_on(&self, date: Date) -> &[Hours] {
        if let Some(o) = self.overrides.get(&date) {
            return o;
        }
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.weekly[day_index(date.weekday())]
    }

    /// Whether `at` falls inside the schedule's hours.
    pub fn is_open(&self, at: jiff::Timestamp) -> bool {
        let local = at.to_zoned(self.zone.clone());
        let date = local.date();
        let minute = u16::from(local.hour().unsigned_abs()) * 60 + u16::from(local.minute().unsigned_abs());
        if self.hours_on(date).iter().any(|h| h.covers_same_day(minute)) {
            return true;
        }
        match date.yesterday() {
            Ok(y) => self.hours_on(y).iter().any(|h| h.covers_next_day(minute)),
            Err(_) => false,
        }
    }

    /// The schedule in the API's shape (what `GET /v1/schedules` answers and what is stored).
    pub fn to_input(&self) -> ScheduleInput {
        let pairs = |hs: &[Hours]| hs.iter().map(|h| h.to_pair().to_vec()).collect::<Vec<_>>();
        ScheduleInput {
            name: self.name.as_str().to_owned(),
            timezone: self.zone_name.as_str().to_owned(),
            weekly: DAY_NAMES
                .iter()
                .zip(&self.weekly)
                .filter(|(_, hs)| !hs.is_empty())
                .map(|(d, hs)| ((*d).to_owned(), pairs(hs)))
                .collect(),
            holidays: self.holidays.iter().map(ToString::to_string).collect(),
            overrides: self
                .overrides
                .iter()
                .map(|(d, hs)| OverrideInput { date: d.to_string(), hours: pairs(hs) })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn schedule(v: serde_json::Value) -> Result<Schedule, ValidationError> {
        Schedule::parse(&serde_json::from_value(v).unwrap())
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn weekly_hours_in_the_schedules_zone() {
        let s = schedule(json!({"name": "Shanghai office", "timezone": "Asia/Shanghai",
            "weekly": {"mon": [["09:00", "12:00"], ["13:00", "18:00"]], "sat": [["10:00", "14:00"]]}}))
        .unwrap();
        // 2026-11-23 is a Monday. 09:30 in Shanghai is 01:30 UTC.
        assert!(s.is_open(ts("2026-11-23T01:30:00Z")));
        assert!(!s.is_open(ts("2026-11-23T00:59:59Z")), "08:59:59 local");
        assert!(!s.is_open(ts("2026-11-23T04:30:00Z")), "lunch, 12:30 local");
        assert!(!s.is_open(ts("2026-11-23T10:00:00Z")), "18:00 local: the end is exclusive");
        assert!(s.is_open(ts("2026-11-28T02:00:00Z")), "Saturday 10:00 local");
        assert!(!s.is_open(ts("2026-11-24T02:00:00Z")), "Tuesday has no hours");
    }

    #[test]
    fn overnight_ranges_belong_to_the_day_they_start() {
        let s = schedule(json!({"name": "Night", "timezone": "UTC",
            "weekly": {"mon": [["22:00", "06:00"]]}, "holidays": ["2026-11-30"]}))
        .unwrap();
        assert!(s.is_open(ts("2026-11-23T23:00:00Z")), "Monday 23:00");
        assert!(s.is_open(ts("2026-11-24T05:59:00Z")), "Tuesday 05:59, Monday's tail");
        assert!(!s.is_open(ts("2026-11-24T06:00:00Z")));
        assert!(!s.is_open(ts("2026-11-24T23:00:00Z")), "Tuesday night has no shift");
        assert!(!s.is_open(ts("2026-11-30T23:00:00Z")), "a Monday holiday closes the night shift it starts");
        assert!(!s.is_open(ts("2026-12-01T01:00:00Z")), "and its tail");
    }

    #[test]
    fn holidays_and_overrides_replace_the_week() {
        let s = schedule(json!({"name": "Office", "timezone": "Europe/Berlin",
            "weekly": {"thu": [["09:00", "17:00"]], "fri": [["09:00", "17:00"]]},
            "holidays": ["2026-12-24"], "overrides": [{"date": "2026-12-25", "hours": [["10:00", "12:00"]]},
            {"date": "2026-12-26", "hours": [["00:00", "24:00"]]}]}))
        .unwrap();
        assert!(!s.is_open(ts("2026-12-24T10:00:00Z")), "Thursday holiday");
        assert!(s.is_open(ts("2026-12-25T09:30:00Z")), "Friday override 10:30 local");
        assert!(!s.is_open(ts("2026-12-25T13:00:00Z")), "14:00 local: the override replaces 09–17");
        assert!(s.is_open(ts("2026-12-26T22:59:00Z")), "Saturday all day by override");
        assert!(!s.is_open(ts("2026-12-26T23:00:00Z")), "00:00 Sunday local");
    }

    #[test]
    fn daylight_saving_follows_the_wall_clock() {
        let s = schedule(json!({"name": "NY", "timezone": "America/New_York",
            "weekly": {"sun": [["09:00", "10:00"]]}}))
        .unwrap();
        // 2026-03-08: clocks go forward; 09:00 EDT is 13:00 UTC. The Sunday before it was 14:00 UTC.
        assert!(s.is_open(ts("2026-03-08T13:30:00Z")));
        assert!(s.is_open(ts("2026-03-01T14:30:00Z")));
        assert!(!s.is_open(ts("2026-03-01T13:30:00Z")));
    }

    #[test]
    fn validation_names_the_field() {
        let e = |v| schedule(v).unwrap_err().field;
        assert_eq!(e(json!({"name": "", "timezone": "UTC"})), "name");
        assert_eq!(e(json!({"name": "x", "timezone": "Mars/Base"})), "timezone");
        assert_eq!(e(json!({"name": "x", "timezone": "UTC", "weekly": {"monday": []}})), "weekly.monday");
        assert_eq!(
            e(json!({"name": "x", "timezone": "UTC", "weekly": {"mon": [["09:00", "25:00"]]}})),
            "weekly.mon[0][1]"
        );
        assert_eq!(
            e(json!({"name": "x", "timezone": "UTC", "weekly": {"mon": [["9:00", "12:00"]]}})),
            "weekly.mon[0][0]"
        );
        assert_eq!(e(json!({"name": "x", "timezone": "UTC", "weekly": {"tue": [["09:00"]]}})), "weekly.tue[0]");
        assert_eq!(
            e(json!({"name": "x", "timezone": "UTC", "weekly": {"tue": [["09:00", "09:00"]]}})),
            "weekly.tue[0]"
        );
        assert_eq!(
            e(json!({"name": "x", "timezone": "UTC", "weekly": {"tue": [["09:00", "12:00"], ["11:00", "13:00"]]}})),
            "weekly.tue[1]"
        );
        assert_eq!(e(json!({"name": "x", "timezone": "UTC", "holidays": ["2026-02-30"]})), "holidays[0]");
        assert_eq!(
            e(
                json!({"name": "x", "timezone": "UTC", "overrides": [{"date": "2026-01-01", "hours": [["24:00", "01:00"]]}]})
            ),
            "overrides[0].hours[0][0]"
        );
        assert_eq!(
            e(json!({"name": "x", "timezone": "UTC", "overrides": [{"date": "2026-01-01"}, {"date": "2026-01-01"}]})),
            "overrides[1].date"
        );
    }

    #[test]
    fn round_trips_through_the_api_shape() {
        let input: ScheduleInput = serde_json::from_value(json!({"name": "x", "timezone": "UTC",
            "weekly": {"mon": [["13:00", "18:00"], ["09:00", "12:00"]], "sun": []},
            "holidays": ["2026-10-01"], "overrides": [{"date": "2026-10-02", "hours": [["22:00", "02:00"]]}]}))
        .unwrap();
        let s = Schedule::parse(&input).unwrap();
        let back = s.to_input();
        assert_eq!(back.weekly["mon"], vec![vec!["09:00", "12:00"], vec!["13:00", "18:00"]]);
        assert!(!back.weekly.contains_key("sun"));
        assert_eq!(Schedule::parse(&back).unwrap(), s);
    }
}
