//! Conversations and their messages: the values a visitor or an agent sends, and the states a conversation is in.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::ids::MessageId;

/// The most characters a message may have (API.md: content is 1..=4000 characters).
pub const MESSAGE_MAX_CHARS: usize = 4000;

/// The text of a message: 1..=4000 characters (Unicode scalar values), not only whitespace, and no control
/// characters other than line breaks and tabs. Kept as written (not trimmed): the sender's formatting is theirs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MessageContent(String);

impl MessageContent {
    /// Checks message text sent as `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let mut n = 0usize;
        let mut blank = true;
        for c in s.chars() {
            n += 1;
            if n > MESSAGE_MAX_CHARS {
                return Err(ValidationError::new(field, format!("must be at most {MESSAGE_MAX_CHARS} characters")));
            }
            if c.is_control() && !matches!(c, '\n' | '\r' | '\t') {
                return Err(ValidationError::new(field, "must not contain control characters"));
            }
            blank &= c.is_whitespace();
        }
        if blank {
            return Err(ValidationError::new(field, "must not be empty"));
        }
        Ok(Self(s.to_owned()))
    }

    /// Checks message text sent as `field` that may be blank (a message that carries attachments): blank text
    /// is kept empty; anything else follows [`MessageContent::parse`].
    pub fn parse_or_empty(s: &str, field: &str) -> Result<Self, ValidationError> {
        if s.trim().is_empty() { Ok(Self(String::new())) } else { Self::parse(s, field) }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text, owned.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for MessageContent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl MessageId {
    /// The id of the message minted with this ULID (its creation time is the ULID's time).
    pub fn from_ulid(u: ulid::Ulid) -> Self {
        Self::parse(&format!("ms_{}", u.to_string().to_ascii_lowercase())).expect("a ULID is 26 alphanumerics")
    }

    /// The ULID inside, upper-case as ULIDs print: the message's sort key suffix (`MSG#{ulid}`).
    pub fn ulid(&self) -> ulid::Ulid {
        ulid::Ulid::from_string(&self.as_str()[3..]).expect("a parsed message id holds a ULID")
    }
}

/// Where a conversation stands, as stored. H3's assignment module owns every change after creation.
///
/// The API shows three of them (API.md: `open`, `queued`, `closed`): `Pending` is how routing tells a
/// conversation it has not placed in the waiting queue from one it has, and it reads `queued` to clients
/// ([`ConversationStatus::shown`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    /// Created and not routed yet, or routed without a place in the queue (the tenant does not queue): waiting
    /// without an assignee, outside the queue index. Shown as `queued`.
    Pending,
    /// Has an assignee.
    Open,
    /// Waiting for capacity.
    Queued,
    /// Ended; a new visitor message or an agent may reopen it.
    Closed,
}

impl ConversationStatus {
    /// Every status.
    pub const ALL: [ConversationStatus; 4] =
        [ConversationStatus::Pending, ConversationStatus::Open, ConversationStatus::Queued, ConversationStatus::Closed];

    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Pending => "pending",
            ConversationStatus::Open => "open",
            ConversationStatus::Queued => "queued",
            ConversationStatus::Closed => "closed",
        }
    }

    /// The status named `s`, for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be pending, open, queued or closed"))
    }
}

/// The statuses the API shows and filters on (API.md), in that order.
pub const SHOWN_STATUSES: [ConversationStatus; 3] =
    [ConversationStatus::Open, ConversationStatus::Queued, ConversationStatus::Closed];

impl ConversationStatus {
    /// The status the API shows: a conversation waiting without an assignee reads `queued` whether or not
    /// routing has placed it in the queue yet.
    pub fn shown(self) -> Self {
        match self {
            ConversationStatus::Pending => ConversationStatus::Queued,
            other => other,
        }
    }

    /// A status as a client names it (a list filter), for `field`: one of [`SHOWN_STATUSES`].
    pub fn parse_shown(s: &str, field: &str) -> Result<Self, ValidationError> {
        SHOWN_STATUSES
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be open, queued or closed"))
    }
}

/// Who wrote a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Author {
    /// The visitor, through the widget.
    Visitor,
    /// A staff member.
    Agent,
    /// An automation (auto-replies).
    Bot,
    /// Kefu itself (e.g. "conversation reopened").
    System,
}

impl Author {
    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Author::Visitor => "visitor",
            Author::Agent => "agent",
            Author::Bot => "bot",
            Author::System => "system",
        }
    }
}

/// The most tags a conversation or customer carries.
pub const MAX_TAGS: usize = 20;

/// A tag's name as written on conversations and customers: 1..=50 characters after trimming, no control
/// characters. Tags are named by their name wherever they are written or filtered on (API.md).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagName(String);

impl TagName {
    /// Checks a tag name sent as `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 50 {
            return Err(ValidationError::new(field, "must be 1 to 50 characters"));
        }
        if t.chars().any(char::is_control) || t.contains('#') {
            return Err(ValidationError::new(field, "must not contain control characters or #"));
        }
        Ok(Self(t.to_owned()))
    }

    /// Checks a whole list sent as `field`: at most [`MAX_TAGS`], duplicates dropped, order kept.
    pub fn parse_list(names: &[String], field: &str) -> Result<Vec<Self>, ValidationError> {
        if names.len() > MAX_TAGS {
            return Err(ValidationError::new(field, format!("at most {MAX_TAGS} tags")));
        }
        let mut out: Vec<Self> = Vec::with_capacity(names.len());
        for (i, n) in names.iter().enumerate() {
            let t = Self::parse(n, &format!("{field}[{i}]"))?;
            if !out.contains(&t) {
                out.push(t);
            }
        }
        Ok(out)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The longest history window an agent can ask for at once, in days.
pub const MAX_WINDOW_DAYS: u32 = 366;

/// The `days` of a history request: 1..=366 (API.md's windows are 7 and 30; default 7).
pub fn parse_window_days(days: Option<u32>) -> Result<u32, ValidationError> {
    match days {
        None => Ok(7),
        Some(d) if (1..=MAX_WINDOW_DAYS).contains(&d) => Ok(d),
        Some(_) => Err(ValidationError::new("days", format!("must be 1 to {MAX_WINDOW_DAYS}"))),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn content_bounds() {
        assert!(MessageContent::parse("", "content").is_err());
        assert!(MessageContent::parse(" \n\t ", "content").is_err());
        assert!(MessageContent::parse("a", "content").is_ok());
        assert!(MessageContent::parse(&"字".repeat(4000), "content").is_ok());
        let e = MessageContent::parse(&"字".repeat(4001), "content").unwrap_err();
        assert_eq!(e.field, "content");
        assert!(MessageContent::parse("line one\nline two\ttab", "content").is_ok());
        assert!(MessageContent::parse("bell\u{7}", "content").is_err());
        assert_eq!(MessageContent::parse("  hi  ", "content").unwrap().as_str(), "  hi  ");
    }

    #[test]
    fn message_ids_carry_their_ulid() {
        let u = ulid::Ulid::from_parts(1_700_000_000_000, 42);
        let id = MessageId::from_ulid(u);
        assert!(id.as_str().starts_with("ms_"));
        assert_eq!(MessageId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.ulid(), u);
    }

    #[test]
    fn enums_parse_their_names() {
        for s in ConversationStatus::ALL {
            assert_eq!(ConversationStatus::parse(s.as_str(), "status").unwrap(), s);
        }
        assert!(ConversationStatus::parse("done", "status").is_err());
    }

    #[test]
    fn clients_see_and_filter_on_api_md_statuses_only() {
        assert_eq!(ConversationStatus::Pending.shown(), ConversationStatus::Queued);
        for s in SHOWN_STATUSES {
            assert_eq!(s.shown(), s);
            assert_eq!(ConversationStatus::parse_shown(s.as_str(), "status").unwrap(), s);
        }
        assert_eq!(ConversationStatus::parse_shown("pending", "status").unwrap_err().field, "status");
        assert!(ConversationStatus::ALL.iter().all(|s| SHOWN_STATUSES.contains(&s.shown())));
    }

    #[test]
    fn tags_and_windows() {
        let list = TagName::parse_list(&["vip".into(), " vip ".into(), "refund".into()], "tags").unwrap();
        assert_eq!(list.iter().map(TagName::as_str).collect::<Vec<_>>(), ["vip", "refund"]);
        assert_eq!(TagName::parse_list(&["".into()], "tags").unwrap_err().field, "tags[0]");
        assert!(TagName::parse_list(&vec!["x".to_owned(); 21], "tags").is_err());
        assert_eq!(parse_window_days(None).unwrap(), 7);
        assert!(parse_window_days(Some(0)).is_err());
        assert_eq!(parse_window_days(Some(30)).unwrap(), 30);
    }

    proptest! {
        #[test]
        fn accepted_content_is_within_bounds(s in "\\PC{0,50}") {
            if let Ok(c) = MessageContent::parse(&s, "content") {
                let n = c.as_str().chars().count();
                prop_assert!((1..=MESSAGE_MAX_CHARS).contains(&n));
                prop_assert!(!c.as_str().trim().is_empty());
            }
        }
    }
}
