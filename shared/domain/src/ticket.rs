//! Tickets: work tracked apart from a live chat — made by an agent (standalone or from a conversation), by an
//! automation rule, by an API key, or by the widget's leave-a-message form (留言) when nobody is online.
//!
//! A ticket's status moves along one line, `open → pending → solved → closed`, and a solved or closed ticket
//! can be reopened (back to `open`). Every other move is refused with [`TicketMoveError`], which the app answers
//! with 409 `conflict`: the client asked for something the ticket's current state does not allow.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::conversation::MessageContent;
use crate::customer::Phone;
use crate::text::{Email, bounded_text};

pub use crate::ids::{TicketCommentId, TicketId};

/// The most characters a ticket's title has.
pub const TITLE_MAX_CHARS: usize = 200;
/// The most characters a ticket's description or comment has: room for a pasted log, bounded all the same.
pub const BODY_MAX_CHARS: usize = 10_000;
/// How many characters of a left message become its ticket's title.
pub const TITLE_FROM_MESSAGE_CHARS: usize = 60;

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketStatus {
    /// New or reopened: someone has to act.
    Open,
    /// Waiting on someone else (usually the customer's answer).
    Pending,
    /// The team thinks it is done; the customer may still say otherwise (then it reopens).
    Solved,
    /// Finished for good, unless reopened.
    Closed,
}

impl TicketStatus {
    /// Every status, in the order a ticket goes through them.
    pub const ALL: [TicketStatus; 4] =
        [TicketStatus::Open, TicketStatus::Pending, TicketStatus::Solved, TicketStatus::Closed];

    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketStatus::Open => "open",
            TicketStatus::Pending => "pending",
            TicketStatus::Solved => "solved",
            TicketStatus::Closed => "closed",
        }
    }

    /// The status named `s`, for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be open, pending, solved or closed"))
    }

    /// The statuses a ticket in `self` may move to: the next step of `open → pending → solved → closed`, and
    /// `open` again from `solved` and from `closed` (reopen). Users expect both a solved and a closed ticket to
    /// reopen when the customer writes back or the fix did not hold; `open` and `pending` need no reopen, and
    /// nothing goes backwards otherwise (`pending → open`, `closed → solved`…) or skips a step
    /// (`open → solved`), so a ticket's history always reads the same way.
    pub fn next(self) -> &'static [TicketStatus] {
        match self {
            TicketStatus::Open => &[TicketStatus::Pending],
            TicketStatus::Pending => &[TicketStatus::Solved],
            TicketStatus::Solved => &[TicketStatus::Closed, TicketStatus::Open],
            TicketStatus::Closed => &[TicketStatus::Open],
        }
    }

    /// Whether `self → to` is a reopen (a solved or closed ticket going back to `open`).
    pub fn is_reopen(self, to: TicketStatus) -> bool {
        matches!(self, TicketStatus::Solved | TicketStatus::Closed) && to == TicketStatus::Open
    }

    /// The status after asking for `to`. Asking for the status the ticket already has is no move and is
    /// answered with it (a PATCH that repeats the status changes nothing); a move not in [`TicketStatus::next`]
    /// is a [`TicketMoveError`] (409 `conflict`).
    pub fn move_to(self, to: TicketStatus) -> Result<TicketStatus, TicketMoveError> {
        if to == self || self.next().contains(&to) { Ok(to) } else { Err(TicketMoveError { from: self, to }) }
    }
}

impl fmt::Display for TicketStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status change the ticket's current status does not allow. The app answers 409 `conflict` with this message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a {from} ticket cannot become {to}; it can become {}", allowed(*from))]
pub struct TicketMoveError {
    /// The ticket's status.
    pub from: TicketStatus,
    /// The status asked for.
    pub to: TicketStatus,
}

fn allowed(from: TicketStatus) -> String {
    from.next().iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" or ")
}

/// How urgent a ticket is. Ordered: `Low < Normal < High < Urgent`, so lists sort by it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketPriority {
    /// Whenever there is time.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Before the normal ones.
    High,
    /// Now: the assignee is notified as urgent.
    Urgent,
}

impl TicketPriority {
    /// Every priority, lowest first.
    pub const ALL: [TicketPriority; 4] =
        [TicketPriority::Low, TicketPriority::Normal, TicketPriority::High, TicketPriority::Urgent];

    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketPriority::Low => "low",
            TicketPriority::Normal => "normal",
            TicketPriority::High => "high",
            TicketPriority::Urgent => "urgent",
        }
    }

    /// The priority named `s`, for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be low, normal, high or urgent"))
    }
}

/// Who made a ticket. Set by the endpoint that made it, never by the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TicketSource {
    /// A staff member, in the console (standalone or from a conversation).
    Agent,
    /// The widget's leave-a-message form.
    Widget,
    /// An automation rule's "create ticket" action.
    Rule,
    /// An integration, with an API key.
    Api,
}

impl TicketSource {
    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketSource::Agent => "agent",
            TicketSource::Widget => "widget",
            TicketSource::Rule => "rule",
            TicketSource::Api => "api",
        }
    }

    /// The source named `s` (a filter), for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        [TicketSource::Agent, TicketSource::Widget, TicketSource::Rule, TicketSource::Api]
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be agent, widget, rule or api"))
    }
}

/// A ticket's title: 1..=200 characters after trimming, one line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketTitle(String);

impl TicketTitle {
    /// Checks a title sent as `field` (usually `title`).
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        bounded_text(s, field, 1, TITLE_MAX_CHARS, false).map(Self)
    }

    /// A title made from a left message: its first non-blank line, cut to 60 characters with `…`. The message
    /// is already a valid [`MessageContent`], so the title is never empty.
    pub fn from_message(content: &MessageContent) -> Self {
        let line = content.as_str().lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or_default();
        let clean: String = line.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
        let mut t: String = clean.chars().take(TITLE_FROM_MESSAGE_CHARS).collect();
        t.truncate(t.trim_end().len());
        if clean.chars().count() > TITLE_FROM_MESSAGE_CHARS {
            t.push('…');
        }
        Self(t)
    }

    /// The title.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A ticket's description or a comment: trimmed, up to 10,000 characters, line breaks and tabs allowed.
/// A description may be empty (the title can say it all); a comment may not (see [`TicketBody::parse_comment`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TicketBody(String);

impl TicketBody {
    /// Checks a description sent as `field` (usually `description`): 0..=10,000 characters.
    pub fn parse_description(s: &str, field: &str) -> Result<Self, ValidationError> {
        bounded_text(s, field, 0, BODY_MAX_CHARS, true).map(Self)
    }

    /// Checks a comment sent as `field` (usually `content`): 1..=10,000 characters.
    pub fn parse_comment(s: &str, field: &str) -> Result<Self, ValidationError> {
        bounded_text(s, field, 1, BODY_MAX_CHARS, true).map(Self)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// How to reach the person who left a message: an email, a phone, or both (`contact` in API.md).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketContact {
    /// The email to answer to.
    pub email: Option<Email>,
    /// The phone to call back.
    pub phone: Option<Phone>,
}

impl TicketContact {
    /// Checks a contact sent as `field` (usually `contact`): each part optional, blank parts count as absent,
    /// errors name `contact.email` or `contact.phone`.
    pub fn parse(email: Option<&str>, phone: Option<&str>, field: &str) -> Result<Self, ValidationError> {
        let email = email.filter(|s| !s.trim().is_empty());
        let phone = phone.filter(|s| !s.trim().is_empty());
        let email = email.map(Email::parse).transpose().map_err(|e| e.under(field))?;
        let phone = phone.map(|p| Phone::parse(p, &format!("{field}.phone"))).transpose()?;
        Ok(Self { email, phone })
    }

    /// Whether neither part was given.
    pub fn is_empty(&self) -> bool {
        self.email.is_none() && self.phone.is_none()
    }
}

/// A leave-a-message form (`POST /v1/widget/leave_message`), checked: the message and a way to answer it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaveMessage {
    /// The ticket's title, from the message's first line.
    pub title: TicketTitle,
    /// The message: the ticket's description.
    pub content: MessageContent,
    /// How to reach the visitor.
    pub contact: TicketContact,
}

impl LeaveMessage {
    /// Checks the form. `content` follows the widget's message rule (1..=4000 characters). Nobody is online to
    /// answer, so the team needs a way back: a `contact` email or phone, or else the visitor's own
    /// (`visitor_reachable`: the visitor part of the form carried a valid email or phone). Without any, the
    /// error names `contact`.
    pub fn parse(
        content: &str,
        contact_email: Option<&str>,
        contact_phone: Option<&str>,
        visitor_reachable: bool,
    ) -> Result<Self, ValidationError> {
        let content = MessageContent::parse(content, "content")?;
        let contact = TicketContact::parse(contact_email, contact_phone, "contact")?;
        if contact.is_empty() && !visitor_reachable {
            return Err(ValidationError::new("contact", "give an email or a phone so the team can answer"));
        }
        Ok(Self { title: TicketTitle::from_message(&content), content, contact })
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::TicketStatus::*;
    use super::*;

    #[test]
    fn the_status_line_and_reopen() {
        assert_eq!(Open.move_to(Pending), Ok(Pending));
        assert_eq!(Pending.move_to(Solved), Ok(Solved));
        assert_eq!(Solved.move_to(Closed), Ok(Closed));
        assert_eq!(Solved.move_to(Open), Ok(Open));
        assert_eq!(Closed.move_to(Open), Ok(Open));
        assert!(Closed.is_reopen(Open) && Solved.is_reopen(Open) && !Pending.is_reopen(Open));
        assert_eq!(Open.move_to(Open), Ok(Open), "repeating the status is no move");
        for (from, to) in [(Open, Solved), (Open, Closed), (Pending, Open), (Pending, Closed), (Closed, Solved)] {
            let e = from.move_to(to).unwrap_err();
            assert_eq!((e.from, e.to), (from, to));
        }
        assert_eq!(
            Closed.move_to(Pending).unwrap_err().to_string(),
            "a closed ticket cannot become pending; it can become open"
        );
    }

    #[test]
    fn enums_parse_their_names() {
        for s in TicketStatus::ALL {
            assert_eq!(TicketStatus::parse(s.as_str(), "status").unwrap(), s);
        }
        assert_eq!(TicketStatus::parse("done", "status").unwrap_err().field, "status");
        for p in TicketPriority::ALL {
            assert_eq!(TicketPriority::parse(p.as_str(), "priority").unwrap(), p);
        }
        assert!(TicketPriority::parse("critical", "priority").is_err());
        assert!(TicketPriority::Urgent > TicketPriority::High && TicketPriority::Low < TicketPriority::default());
        assert_eq!(TicketSource::parse("widget", "source").unwrap(), TicketSource::Widget);
        assert_eq!(serde_json::to_string(&TicketSource::Api).unwrap(), "\"api\"");
        let t = TicketId::generate();
        assert!(t.as_str().starts_with("tk_"));
        assert_eq!(TicketId::parse(t.as_str()), Some(t.clone()));
        assert_eq!(TicketCommentId::parse(t.as_str()), None);
    }

    #[test]
    fn titles_bodies_and_contacts() {
        assert_eq!(TicketTitle::parse("  退货  ", "title").unwrap().as_str(), "退货");
        assert_eq!(TicketTitle::parse(" ", "title").unwrap_err().field, "title");
        assert!(TicketTitle::parse("two\nlines", "title").is_err());
        assert!(TicketTitle::parse(&"长".repeat(201), "title").is_err());
        assert_eq!(TicketBody::parse_description("", "description").unwrap().as_str(), "");
        assert_eq!(TicketBody::parse_description(" a\nb ", "description").unwrap().as_str(), "a\nb");
        assert!(TicketBody::parse_description("\u{1b}[31m", "description").is_err());
        assert_eq!(TicketBody::parse_comment("  ", "content").unwrap_err().field, "content");

        let c = TicketContact::parse(Some(" Li@Example.com "), Some(""), "contact").unwrap();
        assert_eq!(c.email.unwrap().as_str(), "li@example.com");
        assert!(c.phone.is_none());
        assert_eq!(TicketContact::parse(Some("nope"), None, "contact").unwrap_err().field, "contact.email");
        assert_eq!(TicketContact::parse(None, Some("12"), "contact").unwrap_err().field, "contact.phone");
        assert!(TicketContact::parse(None, None, "contact").unwrap().is_empty());
    }

    #[test]
    fn leave_message_needs_a_way_back() {
        let m = LeaveMessage::parse("\n 我想退货，订单号 123 \n谢谢", None, Some("138 0013 8000"), false).unwrap();
        assert_eq!(m.title.as_str(), "我想退货，订单号 123");
        assert_eq!(m.contact.phone.unwrap().digits(), "13800138000");
        assert_eq!(LeaveMessage::parse("hi", None, None, false).unwrap_err().field, "contact");
        assert!(LeaveMessage::parse("hi", None, None, true).is_ok(), "the visitor's own email will do");
        assert_eq!(LeaveMessage::parse(" ", Some("a@b.co"), None, false).unwrap_err().field, "content");
        let long = LeaveMessage::parse(&"字".repeat(100), Some("a@b.co"), None, false).unwrap();
        assert_eq!(long.title.as_str().chars().count(), TITLE_FROM_MESSAGE_CHARS + 1);
        assert!(long.title.as_str().ends_with('…'));
    }

    fn status() -> impl Strategy<Value = TicketStatus> {
        prop::sample::select(TicketStatus::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn moves_follow_the_line_or_reopen(from in status(), to in status()) {
            let forward = TicketStatus::ALL.iter().position(|s| *s == to)
                == TicketStatus::ALL.iter().position(|s| *s == from).map(|i| i + 1);
            let expected = to == from || forward || from.is_reopen(to);
            prop_assert_eq!(from.move_to(to).is_ok(), expected);
        }

        #[test]
        fn any_walk_of_allowed_moves_can_always_reach_closed(steps in prop::collection::vec(0usize..2, 0..20)) {
            let mut s = Open;
            for i in steps {
                let next = s.next();
                s = s.move_to(next[i % next.len()]).unwrap();
            }
            let mut hops = 0;
            while s != Closed {
                s = s.move_to(s.next()[0]).unwrap();
                hops += 1;
                prop_assert!(hops <= 3);
            }
        }

        #[test]
        fn titles_from_any_message_are_valid_titles(s in "\\PC{1,200}") {
            if let Ok(c) = MessageContent::parse(&s, "content") {
                let t = TicketTitle::from_message(&c);
                prop_assert!(TicketTitle::parse(t.as_str(), "title").is_ok(), "{:?}", t);
            }
        }
    }
}
