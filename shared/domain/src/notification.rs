//! Notifications to agents (API.md: `/v1/me/notifications`, the `notification` frame): an agent's preferences
//! and the pure decision of whether and how one notification reaches it.
//!
//! A notification goes as a `notification` frame to every live WebSocket the agent has; when it has none, by
//! email when its preferences allow. Before `dnd_until`, and with `working_hours_only` outside its own schedule,
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
    /// An email to the account's address.
    Email,
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
    /// schedule is open, `has_socket` whether it has a live WebSocket.
    pub fn route(
        &self,
        kind: &str,
        urgency: Urgency,
        now: Timestamp,
        in_hours: bool,
        has_socket: bool,
    ) -> Result<Channel, Held> {
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
        if has_socket {
            Ok(Channel::Socket)
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
