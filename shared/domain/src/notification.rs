//! Notifications to agents (API.md: `/v1/me/notifications`, the `notification` frame): an agent's preferences
//! and the pure decision of whether and how one notification reaches it.
//!
//! A notification goes as a `notification` frame to every live WebSocket the agent has; when it has none, as a
//! push to its registered phones, else by SMS to its `sms_number`, else by email, as its preferences allow. Before `dnd_until`, and with `working_hours_only` outside its own schedule,
//! nothing goes — except `urgent` notifications (about a customer of a `high` priority group), which always go
//! through. The kinds it wants are `events` (default: all of [`KINDS`]); notifications of other kinds (a rule's
//! `notify` on an event with no kind of its own) are not filtered by it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::ValidationError;

/// The kinds an agent may choose among (`events`).
pub const KINDS: [&str; 6] = [
    "conversation.new",
    "message.new",
    "conversation.assigned",
    "ticket.assigned",
    "conversation.unanswered",
    "approval.requested",
];

/// How pressing a notification is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Urgency {
    /// Goes through do-not-disturb and outside working hours.
    Urgent,
    /// The usual.
    #[default]
    Normal,
}

/// An agent's notification preferences (API.md's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    /// Frames shown as desktop notifications by the console.
    pub desktop: bool,
    /// Mobile push to registered devices.
    pub mobile: bool,
    /// Email when no WebSocket is live.
    pub email: bool,
    /// SMS when no WebSocket is live.
    pub sms: bool,
    /// Where SMS go (E.164, e.g. `+8613800138000`); none: no SMS.
    #[serde(default)]
    pub sms_number: Option<String>,
    /// Nothing (but urgent ones) outside the agent's own schedule.
    pub working_hours_only: bool,
    /// Nothing (but urgent ones) before this time.
    pub dnd_until: Option<Timestamp>,
    /// The kinds wanted (a subset of [`KINDS`]).
    pub events: Vec<String>,
}

impl Default for Preferences {
    fn default() -> Self {
        Self {
            desktop: true,
            mobile: true,
            email: true,
            sms: false,
            sms_number: None,
            working_hours_only: false,
            dnd_until: None,
            events: KINDS.iter().map(|k| (*k).to_owned()).collect(),
        }
    }
}

/// How one notification reaches an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// A `notification` frame on every live WebSocket.
    Socket,
    /// A push to every registered phone.
    Phone,
    /// An SMS to the agent's `sms_number`.
    Sms,
    /// An email to the account's address.
    Email,
}

/// Where an agent can be reached right now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    /// It has a live WebSocket.
    pub socket: bool,
    /// It has a phone registered for push.
    pub phone: bool,
}

impl From<bool> for Reach {
    /// Reached by a live socket or not, without a phone.
    fn from(socket: bool) -> Self {
        Self { socket, phone: false }
    }
}

/// Whether `n` is an E.164 number: `+` then 8 to 15 digits.
pub fn is_e164(n: &str) -> bool {
    n.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

/// Why a notification does not reach an agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Held {
    /// Not a kind it wants.
    NotWanted,
    /// Do-not-disturb.
    DoNotDisturb,
    /// Outside its working hours.
    OffHours,
    /// No live socket, and no other channel its preferences allow.
    NoChannel,
}

impl Preferences {
    /// Whether the agent wants notifications of `kind` (kinds outside [`KINDS`] are always wanted).
    pub fn wants(&self, kind: &str) -> bool {
        !KINDS.contains(&kind) || self.events.iter().any(|e| e == kind)
    }

    /// Reads a `PUT /v1/me/notifications` body over `self`: the fields given replace the current ones (errors
    /// name the field; unknown fields are refused).
    pub fn updated(&self, body: &Value) -> Result<Preferences, ValidationError> {
        let m: &Map<String, Value> =
            body.as_object().ok_or_else(|| ValidationError::new("body", "must be a JSON object"))?;
        let mut next = self.clone();
        for (k, v) in m {
            let flag = |v: &Value| v.as_bool().ok_or_else(|| ValidationError::new(k.as_str(), "must be true or false"));
            match k.as_str() {
                "desktop" => next.desktop = flag(v)?,
                "mobile" => next.mobile = flag(v)?,
                "email" => next.email = flag(v)?,
                "sms" => next.sms = flag(v)?,
                "sms_number" => {
                    next.sms_number = match v {
                        Value::Null => None,
                        Value::String(n) if is_e164(n.trim()) => Some(n.trim().to_owned()),
                        _ => {
                            return Err(ValidationError::new(
                                "sms_number",
                                "must be a number in E.164 form (+ then 8 to 15 digits) or null",
                            ));
                        }
                    }
                }
                "working_hours_only" => next.working_hours_only = flag(v)?,
                "dnd_until" => {
                    next.dnd_until = match v {
                        Value::Null => None,
                        Value::String(s) => Some(
                            s.parse()
                                .map_err(|_| ValidationError::new("dnd_until", "must be a time (RFC 3339) or null"))?,
                        ),
                        _ => return Err(ValidationError::new("dnd_until", "must be a time (RFC 3339) or null")),
                    }
                }
                "events" => {
                    let list = v.as_array().ok_or_else(|| ValidationError::new("events", "must be a list of kinds"))?;
                    let mut events = Vec::new();
                    for (i, e) in list.iter().enumerate() {
                        let kind = e.as_str().filter(|s| KINDS.contains(s)).ok_or_else(|| {
                            ValidationError::new(format!("events[{i}]"), format!("must be one of {}", KINDS.join(", ")))
                        })?;
                        if !events.iter().any(|x| x == kind) {
                            events.push(kind.to_owned());
                        }
                    }
                    next.events = events;
                }
                other => return Err(ValidationError::new(other, "unknown field")),
            }
        }
        Ok(next)
    }

    /// How a notification of `kind` and `urgency` reaches the agent at `now`: `in_hours` says whether its own
    /// schedule is open, `reach` whether it has a live WebSocket and a phone. A live socket comes first; then
    /// its phones, SMS and email, in that order, as its preferences allow.
    pub fn route(
        &self,
        kind: &str,
        urgency: Urgency,
        now: Timestamp,
        in_hours: bool,
        reach: impl Into<Reach>,
    ) -> Result<Channel, Held> {
        let reach = reach.into();
        if !self.wants(kind) {
            return Err(Held::NotWanted);
        }
        if urgency == Urgency::Normal {
            if self.dnd_until.is_some_and(|d| now < d) {
                return Err(Held::DoNotDisturb);
            }
            if self.working_hours_only && !in_hours {
                return Err(Held::OffHours);
            }
        }
        if reach.socket {
            Ok(Channel::Socket)
        } else if self.mobile && reach.phone {
            Ok(Channel::Phone)
        } else if self.sms && self.sms_number.is_some() {
            Ok(Channel::Sms)
        } else if self.email {
            Ok(Channel::Email)
        } else {
            Err(Held::NoChannel)
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_live_socket_comes_first_then_email_as_allowed() {
        let p = Preferences::default();
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(p.route("message.new", Urgency::Normal, now, true, true), Ok(Channel::Socket));
        assert_eq!(p.route("message.new", Urgency::Normal, now, true, false), Ok(Channel::Email));
        let quiet = Preferences { email: false, ..p };
        assert_eq!(quiet.route("message.new", Urgency::Normal, now, true, false), Err(Held::NoChannel));
    }

    #[test]
    fn without_a_socket_phones_come_first_then_sms_then_email() {
        let now = at("2026-03-02T10:00:00Z");
        let phone = Reach { socket: false, phone: true };
        let p = Preferences { sms: true, sms_number: Some("+8613800138000".into()), ..Preferences::default() };
        assert_eq!(p.route("message.new", Urgency::Normal, now, true, phone), Ok(Channel::Phone));
        assert_eq!(
            p.route("message.new", Urgency::Normal, now, true, Reach { socket: true, phone: true }),
            Ok(Channel::Socket)
        );
        assert_eq!(p.route("message.new", Urgency::Normal, now, true, false), Ok(Channel::Sms));
        let no_push = Preferences { mobile: false, ..p.clone() };
        assert_eq!(no_push.route("message.new", Urgency::Normal, now, true, phone), Ok(Channel::Sms));
        let no_number = Preferences { sms_number: None, ..p.clone() };
        assert_eq!(no_number.route("message.new", Urgency::Normal, now, true, false), Ok(Channel::Email));
        let dnd = Preferences { dnd_until: Some(at("2026-03-02T12:00:00Z")), ..p };
        assert_eq!(dnd.route("message.new", Urgency::Normal, now, true, phone), Err(Held::DoNotDisturb));
        assert_eq!(dnd.route("message.new", Urgency::Urgent, now, true, phone), Ok(Channel::Phone));
    }

    #[test]
    fn an_sms_number_is_e164_or_nothing() {
        let p = Preferences::default();
        let set = p.updated(&json!({"sms": true, "sms_number": " +8613800138000 "})).unwrap();
        assert_eq!(set.sms_number.as_deref(), Some("+8613800138000"));
        assert_eq!(set.updated(&json!({"sms_number": null})).unwrap().sms_number, None);
        for bad in [json!("13800138000"), json!("+86 138"), json!(8613800138000u64)] {
            let e = p.updated(&json!({"sms_number": bad})).unwrap_err();
            assert_eq!(e.field, "sms_number");
        }
    }

    #[test]
    fn do_not_disturb_and_working_hours_hold_all_but_urgent() {
        let now = at("2026-03-02T10:00:00Z");
        let dnd = Preferences { dnd_until: Some(at("2026-03-02T12:00:00Z")), ..Preferences::default() };
        assert_eq!(dnd.route("conversation.new", Urgency::Normal, now, true, true), Err(Held::DoNotDisturb));
        assert_eq!(dnd.route("conversation.new", Urgency::Urgent, now, true, true), Ok(Channel::Socket));
        // Once it has passed, everything goes again.
        assert_eq!(
            dnd.route("conversation.new", Urgency::Normal, at("2026-03-02T12:00:00Z"), true, true),
            Ok(Channel::Socket)
        );
        let hours = Preferences { working_hours_only: true, ..Preferences::default() };
        assert_eq!(hours.route("message.new", Urgency::Normal, now, false, true), Err(Held::OffHours));
        assert_eq!(hours.route("message.new", Urgency::Normal, now, true, true), Ok(Channel::Socket));
        assert_eq!(hours.route("message.new", Urgency::Urgent, now, false, true), Ok(Channel::Socket));
    }

    #[test]
    fn only_the_kinds_chosen_but_other_kinds_always() {
        let p = Preferences::default().updated(&json!({"events": ["ticket.assigned"]})).unwrap();
        let now = at("2026-03-02T10:00:00Z");
        assert_eq!(p.route("message.new", Urgency::Normal, now, true, true), Err(Held::NotWanted));
        assert_eq!(p.route("ticket.assigned", Urgency::Normal, now, true, true), Ok(Channel::Socket));
        assert_eq!(p.route("rule", Urgency::Normal, now, true, true), Ok(Channel::Socket));
    }

    #[test]
    fn an_update_replaces_what_it_names_and_names_what_it_refuses() {
        let p = Preferences::default();
        let next = p.updated(&json!({"email": false, "dnd_until": "2026-03-02T12:00:00Z", "sms": true})).unwrap();
        assert_eq!(
            next,
            Preferences { email: false, sms: true, dnd_until: Some(at("2026-03-02T12:00:00Z")), ..p.clone() }
        );
        assert_eq!(next.updated(&json!({"dnd_until": null})).unwrap().dnd_until, None);
        for (body, field) in [
            (json!({"desktop": "yes"}), "desktop"),
            (json!({"dnd_until": "tomorrow"}), "dnd_until"),
            (json!({"events": ["message.new", "coffee"]}), "events[1]"),
            (json!({"colour": "red"}), "colour"),
        ] {
            assert_eq!(p.updated(&body).unwrap_err().field, field);
        }
    }
}
