//! Automation rules: what a tenant writes (`/v1/rules`), how it is checked, and how a set of rules decides what
//! to do about one event.
//!
//! - [`Rule::parse`] reads a rule from the API's JSON and refuses anything it does not understand, naming the
//!   field's path (`conditions.all[1].op`, `actions[0].group_id`): an unknown key, event, field, operator or
//!   action type, a value of the wrong type, an operator the field does not have, a regular expression that
//!   does not compile or is too large ([`REGEX_SIZE_LIMIT`]), a webhook URL the [`WebhookPolicy`] refuses.
//!   Whether the groups, agents, customer groups and tags a rule names exist is the store's knowledge, so the
//!   rule lists them ([`Rule::references`]) and [`Rule::check_references`] takes the answer as a closure.
//! - [`RuleSet`] holds a tenant's rules, compiled once (regular expressions included), in `position` order, ties
//!   by id, then by the order given. [`RuleSet::evaluate`] runs the enabled rules of one event against the
//!   event's [`Facts`] and answers an [`Outcome`]: the rules that matched, in order, with their actions (what
//!   `POST /v1/rules/dry_run` answers), a trace of every rule considered and of each condition (what the
//!   conversation's `automation` record keeps, so a supervisor sees why something happened), the priority the
//!   `set_priority` actions resolve to (the last matching rule's wins), and the rule whose `stop_processing`
//!   ended the run. The same rules and facts give the same outcome every time.
//! - [`RuleSet::unanswered_thresholds`]: the minutes at which `conversation.unanswered` must fire.
//!
//! Regular expressions come from the `regex` crate, whose matching takes time linear in the input, so no pattern
//! can hang the consumer; the size limits bound the memory a compiled pattern takes.
//!
//! Text comparisons (`eq`, `ne`, `contains`, `not_contains`, `in` on `message.content` and
//! `conversation.page_url`) are made on the [folded](crate::text::fold) text, so `REFUND`, `refund` and
//! full-width `ｒｅｆｕｎｄ` are the same word; `matches` sees the text as written (write `(?i)` to ignore case).

use std::cell::OnceCell;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::conversation::{MessageContent, TagName};
use crate::ids::RuleId;
use crate::routing::Priority;
use crate::text::fold;
use crate::webhook::{WebhookPolicy, WebhookUrl};
use crate::{AgentId, CustomerGroupId, GroupId, Name, ValidationError};

/// The most rules a tenant keeps.
pub const MAX_RULES: usize = 200;
/// The most conditions in each of `all` and `any`.
pub const MAX_CONDITIONS: usize = 20;
/// The most actions of one rule.
pub const MAX_ACTIONS: usize = 20;
/// The longest text value of a condition, in characters.
pub const MAX_VALUE_CHARS: usize = 1000;
/// The most items of an `in` list.
pub const MAX_LIST_ITEMS: usize = 100;
/// The longest `matches` pattern, in characters.
pub const MAX_PATTERN_CHARS: usize = 1000;
/// The most memory one compiled pattern may take (`RegexBuilder::size_limit`).
pub const REGEX_SIZE_LIMIT: usize = 256 * 1024;
/// The most memory one pattern's lazy DFA may cache (`RegexBuilder::dfa_size_limit`).
pub const REGEX_DFA_SIZE_LIMIT: usize = 512 * 1024;
/// The largest `conversation.unanswered_minutes` value: a week.
pub const MAX_UNANSWERED_MINUTES: u64 = 7 * 24 * 60;
/// The largest `position`.
pub const MAX_POSITION: u64 = 1_000_000;
/// The most skills a `require_skills` action names.
pub const MAX_SKILLS: usize = 20;
/// The longest skill name, in characters.
pub const MAX_SKILL_CHARS: usize = 50;

/// What happened, that rules react to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Event {
    /// A visitor started a conversation (rules run before routing, so they shape the first assignment).
    #[serde(rename = "conversation.created")]
    ConversationCreated,
    /// A visitor's message arrived.
    #[serde(rename = "message.received")]
    MessageReceived,
    /// A conversation waited for an agent's reply for one of the rules' thresholds.
    #[serde(rename = "conversation.unanswered")]
    ConversationUnanswered,
    /// A ticket was created.
    #[serde(rename = "ticket.created")]
    TicketCreated,
    /// A conversation was closed.
    #[serde(rename = "conversation.closed")]
    ConversationClosed,
}

impl Event {
    /// Every event.
    pub const ALL: [Event; 5] = [
        Event::ConversationCreated,
        Event::MessageReceived,
        Event::ConversationUnanswered,
        Event::TicketCreated,
        Event::ConversationClosed,
    ];

    /// The event's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::ConversationCreated => "conversation.created",
            Event::MessageReceived => "message.received",
            Event::ConversationUnanswered => "conversation.unanswered",
            Event::TicketCreated => "ticket.created",
            Event::ConversationClosed => "conversation.closed",
        }
    }

    /// The event named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == s)
    }
}

/// A fact about the event that a condition tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Field {
    /// The visitor's message text.
    #[serde(rename = "message.content")]
    MessageContent,
    /// The customer's group (VIP, regular…).
    #[serde(rename = "customer.group_id")]
    CustomerGroupId,
    /// The customer's tags.
    #[serde(rename = "customer.tags")]
    CustomerTags,
    /// The page the visitor chats from.
    #[serde(rename = "conversation.page_url")]
    ConversationPageUrl,
    /// How long the visitor has waited for a reply, in minutes.
    #[serde(rename = "conversation.unanswered_minutes")]
    ConversationUnansweredMinutes,
    /// Whether the tenant's working hours are open now.
    #[serde(rename = "time.in_working_hours")]
    TimeInWorkingHours,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 6] = [
        Field::MessageContent,
        Field::CustomerGroupId,
        Field::CustomerTags,
        Field::ConversationPageUrl,
        Field::ConversationUnansweredMinutes,
        Field::TimeInWorkingHours,
    ];

    /// The field's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::MessageContent => "message.content",
            Field::CustomerGroupId => "customer.group_id",
            Field::CustomerTags => "customer.tags",
            Field::ConversationPageUrl => "conversation.page_url",
            Field::ConversationUnansweredMinutes => "conversation.unanswered_minutes",
            Field::TimeInWorkingHours => "time.in_working_hours",
        }
    }

    /// The field named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == s)
    }

    /// The operators the field has.
    pub fn ops(self) -> &'static [Op] {
        match self {
            Field::MessageContent | Field::ConversationPageUrl => {
                &[Op::Eq, Op::Ne, Op::Contains, Op::NotContains, Op::In, Op::Matches]
            }
            Field::CustomerGroupId => &[Op::Eq, Op::Ne, Op::In],
            Field::CustomerTags => &[Op::Contains, Op::NotContains, Op::In],
            Field::ConversationUnansweredMinutes => &[Op::Eq, Op::Ne, Op::Gt, Op::Lt],
            Field::TimeInWorkingHours => &[Op::Eq, Op::Ne],
        }
    }
}

/// A condition's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal (text: folded and trimmed).
    Eq,
    /// Not equal.
    Ne,
    /// Text: contains the value; tags: has the tag.
    Contains,
    /// The opposite of `contains`.
    NotContains,
    /// Equal to one of a list (tags: has one of them).
    In,
    /// Greater than (minutes: at least N minutes have passed, so the timer that fires at N minutes sees it hold).
    Gt,
    /// Less than (minutes: fewer than N have passed).
    Lt,
    /// Matches a regular expression somewhere in the text.
    Matches,
}

impl Op {
    /// Every operator.
    pub const ALL: [Op; 8] = [Op::Eq, Op::Ne, Op::Contains, Op::NotContains, Op::In, Op::Gt, Op::Lt, Op::Matches];

    /// The operator's name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Contains => "contains",
            Op::NotContains => "not_contains",
            Op::In => "in",
            Op::Gt => "gt",
            Op::Lt => "lt",
            Op::Matches => "matches",
        }
    }

    /// The operator named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.as_str() == s)
    }
}

/// A condition's value as written: what the API answers back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ConditionValue {
    /// `time.in_working_hours`.
    Bool(bool),
    /// `conversation.unanswered_minutes`.
    Number(u64),
    /// Text, an id or a tag.
    Text(String),
    /// The value of `in`.
    List(Vec<String>),
}

/// The compiled test of a condition.
#[derive(Debug, Clone)]
enum Test {
    /// Folded, trimmed text equal to one of these (`eq` has one).
    TextIn(Vec<String>),
    /// Folded text contains this; the slot is its needle in the rule set's one-pass search (set by
    /// [`RuleSet::new`]).
    TextContains(String, Option<usize>),
    /// The text as written matches.
    Regex(regex::Regex),
    /// The customer's group is one of these (`eq` has one).
    GroupIn(Vec<CustomerGroupId>),
    /// The customer has one of these tags (`contains` has one).
    TagIn(Vec<TagName>),
    /// Waited in `[n, n + 1)` minutes.
    MinutesEq(u64),
    /// Waited at least `n` minutes.
    MinutesGt(u64),
    /// Waited fewer than `n` minutes.
    MinutesLt(u64),
    /// Working hours are open (`true`) or closed.
    Bool(bool),
}

/// One condition: a field, an operator and a value, compiled.
#[derive(Debug, Clone)]
pub struct Condition {
    field: Field,
    op: Op,
    value: ConditionValue,
    test: Test,
    /// `ne` and `not_contains`: the test's answer is inverted (when the fact is known).
    negate: bool,
}

impl PartialEq for Condition {
    fn eq(&self, other: &Self) -> bool {
        (self.field, self.op, &self.value) == (other.field, other.op, &other.value)
    }
}

impl Serialize for Condition {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Condition", 3)?;
        st.serialize_field("field", &self.field)?;
        st.serialize_field("op", &self.op)?;
        st.serialize_field("value", &self.value)?;
        st.end()
    }
}

impl Condition {
    /// The field tested.
    pub fn field(&self) -> Field {
        self.field
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The value as written.
    pub fn value(&self) -> &ConditionValue {
        &self.value
    }

    /// Whether the condition holds for `facts`. A condition on a fact the event does not have (no wait time,
    /// no working-hours answer) does not hold, whatever its operator; a missing text is empty, missing tags are
    /// none, a missing customer group is no group.
    fn holds(&self, facts: &Prepared<'_>) -> bool {
        let f = facts.facts;
        let raw = match (&self.test, self.field) {
            (Test::TextIn(vs), _) => {
                let t = facts.folded(self.field);
                let t = t.trim();
                vs.iter().any(|v| v == t)
            }
            (Test::TextContains(_, Some(slot)), _) => facts.found(self.field, *slot),
            (Test::TextContains(v, None), _) => facts.folded(self.field).contains(v.as_str()),
            (Test::Regex(r), Field::MessageContent) => r.is_match(f.message_content.as_deref().unwrap_or_default()),
            (Test::Regex(r), _) => r.is_match(f.page_url.as_deref().unwrap_or_default()),
            (Test::GroupIn(gs), _) => f.customer_group_id.as_ref().is_some_and(|g| gs.contains(g)),
            (Test::TagIn(ts), _) => f.customer_tags.iter().any(|t| ts.contains(t)),
            (Test::MinutesEq(n), _) => match f.unanswered_seconds {
                Some(s) => s / 60 == *n,
                None => return false,
            },
            (Test::MinutesGt(n), _) => match f.unanswered_seconds {
                Some(s) => s >= n * 60,
                None => return false,
            },
            (Test::MinutesLt(n), _) => match f.unanswered_seconds {
                Some(s) => s < n * 60,
                None => return false,
            },
            (Test::Bool(b), _) => match f.in_working_hours {
                Some(open) => open == *b,
                None => return false,
            },
        };
        raw != self.negate
    }
}

/// A rule's conditions: every `all` must hold and, when `any` is not empty, one of `any`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Conditions {
    /// Conditions that must all hold.
    pub all: Vec<Condition>,
    /// Conditions of which one must hold (none when empty).
    pub any: Vec<Condition>,
}

/// Whom a `notify` action tells.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotifyTarget {
    /// One agent.
    AgentId(AgentId),
    /// The agents of a group.
    GroupId(GroupId),
}

/// What a matching rule does (API.md's actions; the consumer carries them out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Action {
    /// Route the conversation to a group.
    AssignGroup {
        /// The group.
        group_id: GroupId,
    },
    /// Give the conversation to an agent.
    AssignAgent {
        /// The agent.
        agent_id: AgentId,
    },
    /// Set the conversation's priority (a later rule's overrides an earlier one's).
    SetPriority {
        /// The priority.
        priority: Priority,
    },
    /// Tag the conversation.
    AddTag {
        /// The tag (in the tenant's registry).
        tag: TagName,
    },
    /// Send the visitor a bot message.
    AutoReply {
        /// The message.
        content: MessageContent,
    },
    /// Open a ticket for the conversation.
    CreateTicket {
        /// The group that works the ticket, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group_id: Option<GroupId>,
        /// The ticket's priority (normal when not given).
        priority: Priority,
    },
    /// Notify an agent or a group's agents.
    Notify {
        /// Whom.
        #[serde(flatten)]
        to: NotifyTarget,
        /// What to say.
        text: MessageContent,
    },
    /// Post the event to a URL (signed, queued and retried; see [`crate::webhook`]).
    Webhook {
        /// The target, as [`WebhookUrl`] normalised it.
        url: String,
    },
    /// Take the conversation from its agent and route it again.
    Reassign,
    /// Ask the visitor to rate the conversation.
    RequestRating,
    /// Close the conversation.
    Close,
    /// Routing considers only agents with all these skills.
    RequireSkills {
        /// The skills.
        skills: Vec<String>,
    },
}

impl Action {
    /// The action's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::AssignGroup { .. } => "assign_group",
            Action::AssignAgent { .. } => "assign_agent",
            Action::SetPriority { .. } => "set_priority",
            Action::AddTag { .. } => "add_tag",
            Action::AutoReply { .. } => "auto_reply",
            Action::CreateTicket { .. } => "create_ticket",
            Action::Notify { .. } => "notify",
            Action::Webhook { .. } => "webhook",
            Action::Reassign => "reassign",
            Action::RequestRating => "request_rating",
            Action::Close => "close",
            Action::RequireSkills { .. } => "require_skills",
        }
    }
}

/// Something a rule names that must exist in the tenant's data.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reference {
    /// An agent group.
    Group(GroupId),
    /// A staff account.
    Agent(AgentId),
    /// A customer group.
    CustomerGroup(CustomerGroupId),
    /// A tag of the registry.
    Tag(TagName),
}

/// A rule, checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rule {
    /// What it is called (1..=100 characters).
    pub name: Name,
    /// Disabled rules are kept but never run.
    pub enabled: bool,
    /// Rules run in ascending position.
    pub position: u64,
    /// The event it reacts to.
    pub event: Event,
    /// When it matches.
    pub conditions: Conditions,
    /// What it does, in order (1..=[`MAX_ACTIONS`]).
    pub actions: Vec<Action>,
    /// Whether no later rule runs after this one matched.
    pub stop_processing: bool,
}

/// Keys of a rule that a client may send back unchanged from a `GET` and that are not the rule's to set.
const IGNORED_RULE_KEYS: [&str; 3] = ["id", "created_at", "updated_at"];

fn path(parent: &str, key: &str) -> String {
    if parent.is_empty() { key.to_owned() } else { format!("{parent}.{key}") }
}

fn object<'a>(v: &'a Value, at: &str) -> Result<&'a Map<String, Value>, ValidationError> {
    v.as_object().ok_or_else(|| ValidationError::new(at, "must be an object"))
}

/// Refuses a key of `m` that is not in `known`.
fn known_keys(m: &Map<String, Value>, known: &[&str], at: &str) -> Result<(), ValidationError> {
    match m.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(ValidationError::new(path(at, k), "is not a known field")),
        None => Ok(()),
    }
}

/// `m[key]` as text; missing or null is `None`.
fn opt_str<'a>(m: &'a Map<String, Value>, key: &str, at: &str) -> Result<Option<&'a str>, ValidationError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ValidationError::new(path(at, key), "must be a string")),
    }
}

fn req_str<'a>(m: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a str, ValidationError> {
    opt_str(m, key, at)?.ok_or_else(|| ValidationError::new(path(at, key), "is required"))
}

fn opt_bool(m: &Map<String, Value>, key: &str, at: &str) -> Result<Option<bool>, ValidationError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ValidationError::new(path(at, key), "must be true or false")),
    }
}

fn opt_array<'a>(m: &'a Map<String, Value>, key: &str, at: &str) -> Result<&'a [Value], ValidationError> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ValidationError::new(path(at, key), "must be a list")),
    }
}

fn group_id(s: &str, at: &str) -> Result<GroupId, ValidationError> {
    GroupId::parse(s).ok_or_else(|| ValidationError::new(at, "is not a group id"))
}

fn agent_id(s: &str, at: &str) -> Result<AgentId, ValidationError> {
    AgentId::parse(s).ok_or_else(|| ValidationError::new(at, "is not an agent id"))
}

fn priority(s: &str, at: &str) -> Result<Priority, ValidationError> {
    Priority::parse(s).ok_or_else(|| ValidationError::new(at, "must be high, normal or low"))
}

fn bounded_text(s: &str, at: &str) -> Result<(), ValidationError> {
    if s.chars().count() > MAX_VALUE_CHARS {
        return Err(ValidationError::new(at, format!("must be at most {MAX_VALUE_CHARS} characters")));
    }
    if s.trim().is_empty() {
        return Err(ValidationError::new(at, "must not be empty"));
    }
    Ok(())
}

/// The text of a regex error that a person can act on (the crate's own message spans several lines).
fn regex_error(e: &regex::Error) -> String {
    match e {
        regex::Error::CompiledTooBig(_) => "is too large a regular expression".to_owned(),
        regex::Error::Syntax(s) => {
            let why = s.lines().rev().find_map(|l| l.trim().strip_prefix("error:")).unwrap_or("invalid syntax");
            format!("is not a valid regular expression: {}", why.trim())
        }
        _ => "is not a valid regular expression".to_owned(),
    }
}

/// Compiles a `matches` pattern with the size limits.
fn compile_pattern(p: &str, at: &str) -> Result<regex::Regex, ValidationError> {
    if p.chars().count() > MAX_PATTERN_CHARS {
        return Err(ValidationError::new(at, format!("must be at most {MAX_PATTERN_CHARS} characters")));
    }
    regex::RegexBuilder::new(p)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_SIZE_LIMIT)
        .build()
        .map_err(|e| ValidationError::new(at, regex_error(&e)))
}

/// The value of `in`: a non-empty list of strings, each checked by `item`.
fn string_list<T>(
    v: &Value,
    at: &str,
    mut item: impl FnMut(&str, &str) -> Result<T, ValidationError>,
) -> Result<(Vec<T>, Vec<String>), ValidationError> {
    let Value::Array(a) = v else {
        return Err(ValidationError::new(at, "must be a list of strings"));
    };
    if a.is_empty() || a.len() > MAX_LIST_ITEMS {
        return Err(ValidationError::new(at, format!("must have 1 to {MAX_LIST_ITEMS} items")));
    }
    let mut out = Vec::with_capacity(a.len());
    let mut raw = Vec::with_capacity(a.len());
    for (i, x) in a.iter().enumerate() {
        let at = format!("{at}[{i}]");
        let s = x.as_str().ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
        out.push(item(s, &at)?);
        raw.push(s.to_owned());
    }
    Ok((out, raw))
}

fn parse_condition(v: &Value, at: &str) -> Result<Condition, ValidationError> {
    let m = object(v, at)?;
    known_keys(m, &["field", "op", "value"], at)?;
    let field_at = path(at, "field");
    let field = Field::parse(req_str(m, "field", at)?).ok_or_else(|| {
        let names: Vec<&str> = Field::ALL.iter().map(|f| f.as_str()).collect();
        ValidationError::new(&field_at, format!("must be one of {}", names.join(", ")))
    })?;
    let op_at = path(at, "op");
    let op = Op::parse(req_str(m, "op", at)?).ok_or_else(|| {
        let names: Vec<&str> = Op::ALL.iter().map(|o| o.as_str()).collect();
        ValidationError::new(&op_at, format!("must be one of {}", names.join(", ")))
    })?;
    if !field.ops().contains(&op) {
        let names: Vec<&str> = field.ops().iter().map(|o| o.as_str()).collect();
        return Err(ValidationError::new(
            op_at,
            format!("{} has no operator {}; use {}", field.as_str(), op.as_str(), names.join(", ")),
        ));
    }
    let at = path(at, "value");
    let v = m.get("value").unwrap_or(&Value::Null);
    let text = |v: &Value| -> Result<String, ValidationError> {
        let s = v.as_str().ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
        bounded_text(s, &at)?;
        Ok(s.to_owned())
    };
    let negate = matches!(op, Op::Ne | Op::NotContains);
    let (test, value) = match field {
        Field::MessageContent | Field::ConversationPageUrl => match op {
            Op::Eq | Op::Ne => {
                let s = text(v)?;
                (Test::TextIn(vec![fold(s.trim())]), ConditionValue::Text(s))
            }
            Op::Contains | Op::NotContains => {
                let s = text(v)?;
                (Test::TextContains(fold(&s), None), ConditionValue::Text(s))
            }
            Op::In => {
                let (folded, raw) = string_list(v, &at, |s, at| {
                    bounded_text(s, at)?;
                    Ok(fold(s.trim()))
                })?;
                (Test::TextIn(folded), ConditionValue::List(raw))
            }
            _ => {
                let s = v.as_str().ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
                (Test::Regex(compile_pattern(s, &at)?), ConditionValue::Text(s.to_owned()))
            }
        },
        Field::CustomerGroupId => {
            let one = |s: &str, at: &str| {
                CustomerGroupId::parse(s).ok_or_else(|| ValidationError::new(at, "is not a customer group id"))
            };
            if op == Op::In {
                let (ids, raw) = string_list(v, &at, one)?;
                (Test::GroupIn(ids), ConditionValue::List(raw))
            } else {
                let s = v.as_str().ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
                (Test::GroupIn(vec![one(s, &at)?]), ConditionValue::Text(s.to_owned()))
            }
        }
        Field::CustomerTags => {
            if op == Op::In {
                let (tags, _) = string_list(v, &at, TagName::parse)?;
                let raw = tags.iter().map(|t| t.as_str().to_owned()).collect();
                (Test::TagIn(tags), ConditionValue::List(raw))
            } else {
                let s = v.as_str().ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
                let t = TagName::parse(s, &at)?;
                (Test::TagIn(vec![t.clone()]), ConditionValue::Text(t.as_str().to_owned()))
            }
        }
        Field::ConversationUnansweredMinutes => {
            let n = v.as_u64().filter(|n| *n <= MAX_UNANSWERED_MINUTES).ok_or_else(|| {
                ValidationError::new(&at, format!("must be a whole number 0..={MAX_UNANSWERED_MINUTES}"))
            })?;
            let test = match op {
                Op::Gt => Test::MinutesGt(n),
                Op::Lt => Test::MinutesLt(n),
                _ => Test::MinutesEq(n),
            };
            (test, ConditionValue::Number(n))
        }
        Field::TimeInWorkingHours => {
            let b = v.as_bool().ok_or_else(|| ValidationError::new(&at, "must be true or false"))?;
            (Test::Bool(b), ConditionValue::Bool(b))
        }
    };
    Ok(Condition { field, op, value, test, negate })
}

fn parse_conditions(v: Option<&Value>) -> Result<Conditions, ValidationError> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(Conditions::default());
    };
    let m = object(v, "conditions")?;
    known_keys(m, &["all", "any"], "conditions")?;
    let list = |key: &str| -> Result<Vec<Condition>, ValidationError> {
        let at = path("conditions", key);
        let items = opt_array(m, key, "conditions")?;
        if items.len() > MAX_CONDITIONS {
            return Err(ValidationError::new(at, format!("at most {MAX_CONDITIONS} conditions")));
        }
        items.iter().enumerate().map(|(i, c)| parse_condition(c, &format!("{at}[{i}]"))).collect()
    };
    Ok(Conditions { all: list("all")?, any: list("any")? })
}

fn parse_skills(m: &Map<String, Value>, at: &str) -> Result<Vec<String>, ValidationError> {
    let list_at = path(at, "skills");
    let Some(Value::Array(a)) = m.get("skills") else {
        return Err(ValidationError::new(list_at, "must be a list of skills"));
    };
    if a.is_empty() || a.len() > MAX_SKILLS {
        return Err(ValidationError::new(list_at, format!("must have 1 to {MAX_SKILLS} skills")));
    }
    let mut out: Vec<String> = Vec::with_capacity(a.len());
    for (i, x) in a.iter().enumerate() {
        let at = format!("{list_at}[{i}]");
        let s = x.as_str().map(str::trim).ok_or_else(|| ValidationError::new(&at, "must be a string"))?;
        let n = s.chars().count();
        if n == 0 || n > MAX_SKILL_CHARS || s.chars().any(char::is_control) {
            return Err(ValidationError::new(at, format!("must be 1 to {MAX_SKILL_CHARS} characters")));
        }
        if !out.iter().any(|o| o == s) {
            out.push(s.to_owned());
        }
    }
    Ok(out)
}

fn parse_action(v: &Value, at: &str, policy: WebhookPolicy) -> Result<Action, ValidationError> {
    let m = object(v, at)?;
    let kind = req_str(m, "type", at)?;
    let keys = |known: &[&str]| -> Result<(), ValidationError> {
        let mut all = vec!["type"];
        all.extend_from_slice(known);
        known_keys(m, &all, at)
    };
    let action = match kind {
        "assign_group" => {
            keys(&["group_id"])?;
            Action::AssignGroup { group_id: group_id(req_str(m, "group_id", at)?, &path(at, "group_id"))? }
        }
        "assign_agent" => {
            keys(&["agent_id"])?;
            Action::AssignAgent { agent_id: agent_id(req_str(m, "agent_id", at)?, &path(at, "agent_id"))? }
        }
        "set_priority" => {
            keys(&["priority"])?;
            Action::SetPriority { priority: priority(req_str(m, "priority", at)?, &path(at, "priority"))? }
        }
        "add_tag" => {
            keys(&["tag"])?;
            Action::AddTag { tag: TagName::parse(req_str(m, "tag", at)?, &path(at, "tag"))? }
        }
        "auto_reply" => {
            keys(&["content"])?;
            Action::AutoReply { content: MessageContent::parse(req_str(m, "content", at)?, &path(at, "content"))? }
        }
        "create_ticket" => {
            keys(&["group_id", "priority"])?;
            let group_id = opt_str(m, "group_id", at)?.map(|g| group_id(g, &path(at, "group_id"))).transpose()?;
            let priority = opt_str(m, "priority", at)?
                .map(|p| priority(p, &path(at, "priority")))
                .transpose()?
                .unwrap_or(Priority::Normal);
            Action::CreateTicket { group_id, priority }
        }
        "notify" => {
            keys(&["agent_id", "group_id", "text"])?;
            let to = match (opt_str(m, "agent_id", at)?, opt_str(m, "group_id", at)?) {
                (Some(a), None) => NotifyTarget::AgentId(agent_id(a, &path(at, "agent_id"))?),
                (None, Some(g)) => NotifyTarget::GroupId(group_id(g, &path(at, "group_id"))?),
                (Some(_), Some(_)) => {
                    return Err(ValidationError::new(path(at, "group_id"), "give agent_id or group_id, not both"));
                }
                (None, None) => {
                    return Err(ValidationError::new(path(at, "agent_id"), "agent_id or group_id is required"));
                }
            };
            Action::Notify { to, text: MessageContent::parse(req_str(m, "text", at)?, &path(at, "text"))? }
        }
        "webhook" => {
            keys(&["url"])?;
            let url = WebhookUrl::parse(req_str(m, "url", at)?, policy, &path(at, "url"))?;
            Action::Webhook { url: url.as_str().to_owned() }
        }
        "reassign" => {
            keys(&[])?;
            Action::Reassign
        }
        "request_rating" => {
            keys(&[])?;
            Action::RequestRating
        }
        "close" => {
            keys(&[])?;
            Action::Close
        }
        "require_skills" => {
            keys(&["skills"])?;
            Action::RequireSkills { skills: parse_skills(m, at)? }
        }
        _ => {
            return Err(ValidationError::new(
                path(at, "type"),
                "must be one of assign_group, assign_agent, set_priority, add_tag, auto_reply, create_ticket, \
                 notify, webhook, reassign, request_rating, close, require_skills",
            ));
        }
    };
    Ok(action)
}

impl Rule {
    /// Reads a rule from the API's JSON (`POST /v1/rules`, `PUT /v1/rules/{id}`, a dry run's draft, or what the
    /// store kept), checking everything but whether the things it names exist ([`Rule::check_references`]).
    /// `enabled` defaults to true, `position` to 0, `stop_processing` to false; `conditions` may be missing.
    pub fn parse(v: &Value, policy: WebhookPolicy) -> Result<Rule, ValidationError> {
        let m = object(v, "")?;
        let mut known = vec!["name", "enabled", "position", "event", "conditions", "actions", "stop_processing"];
        known.extend(IGNORED_RULE_KEYS);
        known_keys(m, &known, "")?;
        let name = Name::parse(req_str(m, "name", "")?, "name")?;
        let enabled = opt_bool(m, "enabled", "")?.unwrap_or(true);
        let stop_processing = opt_bool(m, "stop_processing", "")?.unwrap_or(false);
        let position = match m.get("position") {
            None | Some(Value::Null) => 0,
            Some(p) => p.as_u64().filter(|p| *p <= MAX_POSITION).ok_or_else(|| {
                ValidationError::new("position", format!("must be a whole number 0..={MAX_POSITION}"))
            })?,
        };
        let event = Event::parse(req_str(m, "event", "")?).ok_or_else(|| {
            let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
            ValidationError::new("event", format!("must be one of {}", names.join(", ")))
        })?;
        let conditions = parse_conditions(m.get("conditions"))?;
        let Some(Value::Array(items)) = m.get("actions") else {
            return Err(ValidationError::new("actions", "must be a list of actions"));
        };
        if items.is_empty() || items.len() > MAX_ACTIONS {
            return Err(ValidationError::new("actions", format!("must have 1 to {MAX_ACTIONS} actions")));
        }
        let actions = items
            .iter()
            .enumerate()
            .map(|(i, a)| parse_action(a, &format!("actions[{i}]"), policy))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Rule { name, enabled, position, event, conditions, actions, stop_processing })
    }

    /// The rule in the API's JSON shape (what `GET /v1/rules` answers and the store keeps).
    pub fn to_json(&self) -> Value {
        serde_json::to_value(self).expect("a rule serialises")
    }

    /// Everything the rule names that must exist, each with the path of the field that names it.
    pub fn references(&self) -> Vec<(String, Reference)> {
        let mut out = Vec::new();
        for (list, conds) in [("all", &self.conditions.all), ("any", &self.conditions.any)] {
            for (i, c) in conds.iter().enumerate() {
                let at = format!("conditions.{list}[{i}].value");
                match (&c.test, &c.value) {
                    (Test::GroupIn(gs), ConditionValue::List(_)) => out.extend(
                        gs.iter().enumerate().map(|(j, g)| (format!("{at}[{j}]"), Reference::CustomerGroup(g.clone()))),
                    ),
                    (Test::GroupIn(gs), _) => {
                        out.extend(gs.iter().map(|g| (at.clone(), Reference::CustomerGroup(g.clone()))))
                    }
                    (Test::TagIn(ts), ConditionValue::List(_)) => out
                        .extend(ts.iter().enumerate().map(|(j, t)| (format!("{at}[{j}]"), Reference::Tag(t.clone())))),
                    (Test::TagIn(ts), _) => out.extend(ts.iter().map(|t| (at.clone(), Reference::Tag(t.clone())))),
                    _ => {}
                }
            }
        }
        for (i, a) in self.actions.iter().enumerate() {
            let at = |k: &str| format!("actions[{i}].{k}");
            match a {
                Action::AssignGroup { group_id } | Action::CreateTicket { group_id: Some(group_id), .. } => {
                    out.push((at("group_id"), Reference::Group(group_id.clone())))
                }
                Action::Notify { to: NotifyTarget::GroupId(g), .. } => {
                    out.push((at("group_id"), Reference::Group(g.clone())))
                }
                Action::AssignAgent { agent_id } | Action::Notify { to: NotifyTarget::AgentId(agent_id), .. } => {
                    out.push((at("agent_id"), Reference::Agent(agent_id.clone())))
                }
                Action::AddTag { tag } => out.push((at("tag"), Reference::Tag(tag.clone()))),
                _ => {}
            }
        }
        out
    }

    /// Refuses the rule when something it names does not exist; `exists` answers from the tenant's data. The
    /// error names the first such field, in the rule's order.
    pub fn check_references(&self, mut exists: impl FnMut(&Reference) -> bool) -> Result<(), ValidationError> {
        for (at, r) in self.references() {
            if !exists(&r) {
                let what = match r {
                    Reference::Group(_) => "no such group",
                    Reference::Agent(_) => "no such agent",
                    Reference::CustomerGroup(_) => "no such customer group",
                    Reference::Tag(_) => "no such tag",
                };
                return Err(ValidationError::new(at, what));
            }
        }
        Ok(())
    }
}

/// What the rules may test about one event. The application fills what the event has and leaves the rest out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Facts {
    /// The visitor's message text (`message.received`, and `conversation.created` with its first message).
    pub message_content: Option<String>,
    /// The customer's group.
    pub customer_group_id: Option<CustomerGroupId>,
    /// The customer's tags.
    pub customer_tags: Vec<TagName>,
    /// The page the visitor chats from.
    pub page_url: Option<String>,
    /// How long the visitor has waited for a reply, in seconds (`conversation.unanswered`).
    pub unanswered_seconds: Option<u64>,
    /// Whether the tenant's working hours are open now.
    pub in_working_hours: Option<bool>,
}

impl Facts {
    /// Reads a dry run's `sample` (`{"message": {"content"}, "customer": {"group_id", "tags"}, "conversation":
    /// {"page_url", "unanswered_minutes"}, "time": {"in_working_hours"}}`, each part optional), errors named
    /// under `sample`.
    pub fn from_sample(v: &Value) -> Result<Facts, ValidationError> {
        let m = object(v, "sample")?;
        known_keys(m, &["message", "customer", "conversation", "time"], "sample")?;
        let part = |key: &str, known: &[&str]| -> Result<Option<&Map<String, Value>>, ValidationError> {
            let at = path("sample", key);
            match m.get(key) {
                None | Some(Value::Null) => Ok(None),
                Some(v) => {
                    let p = object(v, &at)?;
                    known_keys(p, known, &at)?;
                    Ok(Some(p))
                }
            }
        };
        let mut facts = Facts::default();
        if let Some(p) = part("message", &["content"])? {
            facts.message_content = opt_str(p, "content", "sample.message")?.map(str::to_owned);
        }
        if let Some(p) = part("customer", &["group_id", "tags"])? {
            facts.customer_group_id = opt_str(p, "group_id", "sample.customer")?
                .map(|g| {
                    CustomerGroupId::parse(g)
                        .ok_or_else(|| ValidationError::new("sample.customer.group_id", "is not a customer group id"))
                })
                .transpose()?;
            let tags = opt_array(p, "tags", "sample.customer")?
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    t.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| ValidationError::new(format!("sample.customer.tags[{i}]"), "must be a string"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            facts.customer_tags = TagName::parse_list(&tags, "sample.customer.tags")?;
        }
        if let Some(p) = part("conversation", &["page_url", "unanswered_minutes"])? {
            facts.page_url = opt_str(p, "page_url", "sample.conversation")?.map(str::to_owned);
            facts.unanswered_seconds = match p.get("unanswered_minutes") {
                None | Some(Value::Null) => None,
                Some(n) => Some(
                    n.as_u64().filter(|n| *n <= MAX_UNANSWERED_MINUTES).ok_or_else(|| {
                        ValidationError::new(
                            "sample.conversation.unanswered_minutes",
                            "must be a whole number of minutes",
                        )
                    })? * 60,
                ),
            };
        }
        if let Some(p) = part("time", &["in_working_hours"])? {
            facts.in_working_hours = opt_bool(p, "in_working_hours", "sample.time")?;
        }
        Ok(facts)
    }
}

/// Every `contains` needle of one text field in a rule set, searched for in one pass over the text: with 200
/// rules, one scan of a long message instead of 200.
#[derive(Debug, Clone)]
struct Needles {
    search: aho_corasick::AhoCorasick,
    len: usize,
}

impl Needles {
    /// Gives each `contains` test of `field` its slot (equal needles share one) and builds the search.
    fn build<'a>(conditions: impl Iterator<Item = &'a mut Condition>, field: Field) -> Option<Needles> {
        let mut needles: Vec<String> = Vec::new();
        for c in conditions.filter(|c| c.field == field) {
            if let Test::TextContains(needle, slot) = &mut c.test {
                let i = needles.iter().position(|n| n == needle).unwrap_or_else(|| {
                    needles.push(needle.clone());
                    needles.len() - 1
                });
                *slot = Some(i);
            }
        }
        if needles.is_empty() {
            return None;
        }
        let search = aho_corasick::AhoCorasick::new(&needles).expect("needles are bounded in number and length");
        Some(Needles { search, len: needles.len() })
    }

    /// Which needles `text` contains.
    fn found_in(&self, text: &str) -> Vec<bool> {
        let mut found = vec![false; self.len];
        for m in self.search.find_overlapping_iter(text) {
            found[m.pattern().as_usize()] = true;
        }
        found
    }
}

/// Facts with their folded texts, each folded (and searched for the rule set's needles) once, and only when a
/// condition needs it.
struct Prepared<'a> {
    facts: &'a Facts,
    content: OnceCell<String>,
    url: OnceCell<String>,
    content_needles: Option<&'a Needles>,
    url_needles: Option<&'a Needles>,
    content_found: OnceCell<Vec<bool>>,
    url_found: OnceCell<Vec<bool>>,
}

impl Prepared<'_> {
    fn folded(&self, field: Field) -> &str {
        let (cell, raw) = if field == Field::ConversationPageUrl {
            (&self.url, &self.facts.page_url)
        } else {
            (&self.content, &self.facts.message_content)
        };
        cell.get_or_init(|| raw.as_deref().map(fold).unwrap_or_default())
    }

    /// Whether the folded text of `field` contains needle `slot`.
    fn found(&self, field: Field, slot: usize) -> bool {
        let (cell, needles) = if field == Field::ConversationPageUrl {
            (&self.url_found, self.url_needles)
        } else {
            (&self.content_found, self.content_needles)
        };
        let Some(needles) = needles else { return false };
        cell.get_or_init(|| needles.found_in(self.folded(field))).get(slot).copied().unwrap_or(false)
    }
}

/// Which list a traced condition is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum List {
    /// `conditions.all`.
    All,
    /// `conditions.any`.
    Any,
}

/// One condition's answer in a trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConditionTrace {
    /// Its list.
    pub list: List,
    /// Its index in the list.
    pub index: usize,
    /// The field it tests.
    pub field: Field,
    /// Its operator.
    pub op: Op,
    /// Whether it held.
    pub holds: bool,
}

/// What became of one rule in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Its conditions held: its actions run.
    Matched,
    /// A condition of `all` failed, or none of `any` held.
    NotMatched,
    /// Disabled: not evaluated.
    Disabled,
    /// An earlier matching rule had `stop_processing`: not evaluated.
    Stopped,
}

/// One rule's line in a run's trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleTrace {
    /// The rule (`None` for a dry run's draft).
    pub rule_id: Option<RuleId>,
    /// Its name.
    pub name: String,
    /// Its position.
    pub position: u64,
    /// What became of it.
    pub verdict: Verdict,
    /// Each condition's answer (empty unless evaluated).
    pub conditions: Vec<ConditionTrace>,
}

/// A matching rule and its actions (API.md's dry-run `matched` items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Matched {
    /// The rule (`None` for a dry run's draft).
    pub rule_id: Option<RuleId>,
    /// Its name.
    pub name: String,
    /// Its actions, as written.
    pub actions: Vec<Action>,
}

/// What a set of rules decided about one event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// The event.
    pub event: Event,
    /// The matching rules in the order they ran.
    pub matched: Vec<Matched>,
    /// Every rule of the event, in order, with its verdict.
    pub trace: Vec<RuleTrace>,
    /// The priority the `set_priority` actions resolve to: the last matching one's (a later rule overrides an
    /// earlier one), `None` when none matched.
    pub priority: Option<Priority>,
    /// The rule whose `stop_processing` ended the run, if one did.
    pub stopped_by: Option<String>,
}

impl Outcome {
    /// The actions to carry out, in order: every matching rule's, except that only the last `set_priority`
    /// stays (the one [`Outcome::priority`] names), so an overridden priority is never applied.
    pub fn actions(&self) -> Vec<&Action> {
        let all = self.matched.iter().flat_map(|m| &m.actions);
        let last_priority = all.clone().enumerate().filter(|(_, a)| matches!(a, Action::SetPriority { .. })).last();
        all.enumerate()
            .filter(|(i, a)| !matches!(a, Action::SetPriority { .. }) || last_priority.is_some_and(|(j, _)| j == *i))
            .map(|(_, a)| a)
            .collect()
    }
}

/// One rule of a set.
#[derive(Debug, Clone)]
struct Entry {
    id: Option<RuleId>,
    rule: Rule,
}

/// A tenant's rules, compiled and in running order: build it once per change of the rules, run it per event.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Entry>,
    content_needles: Option<Needles>,
    url_needles: Option<Needles>,
}

impl RuleSet {
    /// Orders the rules by `position`, then by id, then as given (a stable sort: drafts without ids keep their
    /// order), so the same rules run the same way whatever order the store lists them in.
    pub fn new(rules: impl IntoIterator<Item = (Option<RuleId>, Rule)>) -> Self {
        let mut rules: Vec<Entry> = rules.into_iter().map(|(id, rule)| Entry { id, rule }).collect();
        rules.sort_by(|a, b| (a.rule.position, &a.id).cmp(&(b.rule.position, &b.id)));
        let mut conditions = |field| {
            let all = rules.iter_mut().flat_map(|e| e.rule.conditions.all.iter_mut().chain(&mut e.rule.conditions.any));
            Needles::build(all, field)
        };
        let content_needles = conditions(Field::MessageContent);
        let url_needles = conditions(Field::ConversationPageUrl);
        Self { rules, content_needles, url_needles }
    }

    /// How many rules the set has.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether the set has no rule.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The rules in running order.
    pub fn rules(&self) -> impl Iterator<Item = (Option<&RuleId>, &Rule)> {
        self.rules.iter().map(|e| (e.id.as_ref(), &e.rule))
    }

    /// Runs the rules of `event` against `facts`: each enabled rule in order until one that matches has
    /// `stop_processing`. Changes nothing; the caller carries out [`Outcome::actions`].
    pub fn evaluate(&self, event: Event, facts: &Facts) -> Outcome {
        let prepared = Prepared {
            facts,
            content: OnceCell::new(),
            url: OnceCell::new(),
            content_needles: self.content_needles.as_ref(),
            url_needles: self.url_needles.as_ref(),
            content_found: OnceCell::new(),
            url_found: OnceCell::new(),
        };
        let mut out = Outcome { event, matched: Vec::new(), trace: Vec::new(), priority: None, stopped_by: None };
        for e in self.rules.iter().filter(|e| e.rule.event == event) {
            let r = &e.rule;
            let mut line = RuleTrace {
                rule_id: e.id.clone(),
                name: r.name.as_str().to_owned(),
                position: r.position,
                verdict: Verdict::Disabled,
                conditions: Vec::new(),
            };
            if out.stopped_by.is_some() {
                line.verdict = Verdict::Stopped;
            } else if r.enabled {
                let mut all = true;
                let mut any = r.conditions.any.is_empty();
                for (list, conds) in [(List::All, &r.conditions.all), (List::Any, &r.conditions.any)] {
                    for (index, c) in conds.iter().enumerate() {
                        let holds = c.holds(&prepared);
                        match list {
                            List::All => all &= holds,
                            List::Any => any |= holds,
                        }
                        line.conditions.push(ConditionTrace { list, index, field: c.field, op: c.op, holds });
                    }
                }
                if all && any {
                    line.verdict = Verdict::Matched;
                    for a in &r.actions {
                        if let Action::SetPriority { priority } = a {
                            out.priority = Some(*priority);
                        }
                    }
                    out.matched.push(Matched {
                        rule_id: e.id.clone(),
                        name: line.name.clone(),
                        actions: r.actions.clone(),
                    });
                    if r.stop_processing {
                        out.stopped_by = Some(line.name.clone());
                    }
                } else {
                    line.verdict = Verdict::NotMatched;
                }
            }
            out.trace.push(line);
        }
        out
    }

    /// The minutes at which `conversation.unanswered` must fire: each `conversation.unanswered_minutes`
    /// threshold (`gt` or `eq` N → N) that an enabled `conversation.unanswered` rule names, ascending, once each.
    pub fn unanswered_thresholds(&self) -> Vec<u64> {
        let mut out: Vec<u64> = self
            .rules
            .iter()
            .filter(|e| e.rule.enabled && e.rule.event == Event::ConversationUnanswered)
            .flat_map(|e| e.rule.conditions.all.iter().chain(&e.rule.conditions.any))
            .filter_map(|c| match c.test {
                Test::MinutesGt(n) | Test::MinutesEq(n) if !c.negate => Some(n),
                _ => None,
            })
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The longest delay one queued timer message can carry (SQS `DelaySeconds`); a later due time is re-armed.
pub const MAX_TIMER_DELAY_SECONDS: u64 = 900;

/// The next `conversation.unanswered` threshold of a wait: the smallest of `thresholds` (minutes, ascending, as
/// [`RuleSet::unanswered_thresholds`] gives them) above `fired_up_to` (the largest already fired in this wait),
/// with the instant it falls due (`since` is when the wait began: the visitor's oldest unanswered message).
/// Firing each threshold once, in order, and remembering the largest fired is what makes a timer that fires
/// late or twice harmless.
pub fn next_unanswered(
    thresholds: &[u64],
    since: jiff::Timestamp,
    fired_up_to: Option<u64>,
) -> Option<(u64, jiff::Timestamp)> {
    let n = *thresholds.iter().find(|n| fired_up_to.is_none_or(|f| **n > f))?;
    let due = since.checked_add(jiff::SignedDuration::from_secs(i64::try_from(n).ok()?.checked_mul(60)?)).ok()?;
    Some((n, due))
}

/// How to arm a timer for `due` at `now`: the delay to queue it with (at most [`MAX_TIMER_DELAY_SECONDS`]) and
/// whether it is due then (`true`) or must only re-arm itself (`false`, the due time is further away).
pub fn timer_delay(now: jiff::Timestamp, due: jiff::Timestamp) -> (u64, bool) {
    let left = due.duration_since(now).as_secs();
    if left <= 0 {
        (0, true)
    } else {
        // Round up: a timer never fires before its due second.
        let left = left.unsigned_abs() + u64::from(due.duration_since(now).subsec_nanos() > 0);
        if left <= MAX_TIMER_DELAY_SECONDS { (left, true) } else { (MAX_TIMER_DELAY_SECONDS, false) }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde_json::json;

    use super::*;

    const G1: &str = "gr_01jd0000000000000000000001";
    const G2: &str = "gr_01jd0000000000000000000002";
    const A1: &str = "ag_01jd0000000000000000000001";
    const VIP: &str = "cg_01jd0000000000000000000001";

    fn rule(v: Value) -> Rule {
        Rule::parse(&v, WebhookPolicy::AWS).unwrap()
    }

    fn field_of(v: Value) -> String {
        Rule::parse(&v, WebhookPolicy::AWS).unwrap_err().field
    }

    fn rid(n: u8) -> RuleId {
        RuleId::parse(&format!("ru_01jd00000000000000000000{n:02}")).unwrap()
    }

    fn refund_rule() -> Value {
        json!({"name": "Refunds to after-sales", "position": 10, "event": "message.received",
            "conditions": {"any": [{"field": "message.content", "op": "contains", "value": "退款"},
                                   {"field": "message.content", "op": "contains", "value": "refund"},
                                   {"field": "message.content", "op": "matches", "value": "(?i)\\bmoney\\s+back\\b"}]},
            "actions": [{"type": "add_tag", "tag": "refund"},
                        {"type": "create_ticket", "group_id": G1, "priority": "high"},
                        {"type": "assign_group", "group_id": G1}]})
    }

    fn message(text: &str) -> Facts {
        Facts { message_content: Some(text.to_owned()), ..Facts::default() }
    }

    #[test]
    fn parses_the_api_shape_and_round_trips() {
        let r = rule(refund_rule());
        assert!(r.enabled && !r.stop_processing);
        assert_eq!((r.position, r.event), (10, Event::MessageReceived));
        assert_eq!(r.conditions.any.len(), 3);
        assert_eq!(r.actions[1], Action::CreateTicket { group_id: GroupId::parse(G1), priority: Priority::High });
        let back = r.to_json();
        assert_eq!(back["actions"][0], json!({"type": "add_tag", "tag": "refund"}));
        assert_eq!(back["conditions"]["any"][2]["value"], json!("(?i)\\bmoney\\s+back\\b"));
        assert_eq!(Rule::parse(&back, WebhookPolicy::AWS).unwrap(), r);

        let every = rule(json!({"name": "all actions", "event": "conversation.created", "stop_processing": true,
            "conditions": {"all": [{"field": "customer.group_id", "op": "in", "value": [VIP]},
                                   {"field": "customer.tags", "op": "not_contains", "value": "blocked"},
                                   {"field": "time.in_working_hours", "op": "eq", "value": false}]},
            "actions": [{"type": "assign_agent", "agent_id": A1}, {"type": "set_priority", "priority": "low"},
                        {"type": "auto_reply", "content": "We are closed"}, {"type": "notify", "group_id": G2, "text": "VIP"},
                        {"type": "notify", "agent_id": A1, "text": "VIP"},
                        {"type": "webhook", "url": "https://crm.example.com/hook"}, {"type": "reassign"},
                        {"type": "request_rating"}, {"type": "close"},
                        {"type": "require_skills", "skills": ["english", " english ", "billing"]}]}));
        assert_eq!(
            every.actions[3],
            Action::Notify {
                to: NotifyTarget::GroupId(GroupId::parse(G2).unwrap()),
                text: MessageContent::parse("VIP", "t").unwrap()
            }
        );
        assert_eq!(every.actions[9], Action::RequireSkills { skills: vec!["english".into(), "billing".into()] });
        let back = every.to_json();
        assert_eq!(back["actions"][4], json!({"type": "notify", "agent_id": A1, "text": "VIP"}));
        assert_eq!(back["actions"][6], json!({"type": "reassign"}));
        assert_eq!(Rule::parse(&back, WebhookPolicy::AWS).unwrap(), every);
        // The automation record stores actions; they read back.
        let actions: Vec<Action> = serde_json::from_value(back["actions"].clone()).unwrap();
        assert_eq!(actions, every.actions);
        // A client may send back what GET answered, id included.
        let mut echoed = back.clone();
        echoed["id"] = json!("ru_x");
        assert!(Rule::parse(&echoed, WebhookPolicy::AWS).is_ok());
    }

    #[test]
    fn validation_names_the_field_path() {
        let base = |patch: Value| {
            let mut v = refund_rule();
            for (k, x) in patch.as_object().unwrap() {
                v[k] = x.clone();
            }
            field_of(v)
        };
        let cond = |c: Value| {
            base(json!({"conditions": {"all": [{"field": "message.content", "op": "contains", "value": "x"}, c]}}))
        };
        let act = |a: Value| base(json!({"actions": [a]}));
        assert_eq!(base(json!({"colour": "red"})), "colour");
        assert_eq!(base(json!({"name": ""})), "name");
        assert_eq!(base(json!({"name": 5})), "name");
        assert_eq!(base(json!({"enabled": "yes"})), "enabled");
        assert_eq!(base(json!({"position": -1})), "position");
        assert_eq!(base(json!({"position": 1.5})), "position");
        assert_eq!(base(json!({"event": "message.sent"})), "event");
        assert_eq!(base(json!({"conditions": []})), "conditions");
        assert_eq!(base(json!({"conditions": {"none": []}})), "conditions.none");
        assert_eq!(base(json!({"conditions": {"all": {}}})), "conditions.all");
        assert_eq!(base(json!({"actions": []})), "actions");
        assert_eq!(base(json!({"actions": null})), "actions");
        assert_eq!(cond(json!({"field": "message.body", "op": "eq", "value": "x"})), "conditions.all[1].field");
        assert_eq!(cond(json!({"field": "message.content", "op": "like", "value": "x"})), "conditions.all[1].op");
        assert_eq!(cond(json!({"field": "message.content", "op": "gt", "value": "x"})), "conditions.all[1].op");
        assert_eq!(cond(json!({"field": "customer.tags", "op": "eq", "value": "x"})), "conditions.all[1].op");
        assert_eq!(cond(json!({"field": "message.content", "op": "eq", "value": 5})), "conditions.all[1].value");
        assert_eq!(cond(json!({"field": "message.content", "op": "eq"})), "conditions.all[1].value");
        assert_eq!(
            cond(json!({"field": "message.content", "op": "in", "value": ["a", 1]})),
            "conditions.all[1].value[1]"
        );
        assert_eq!(cond(json!({"field": "message.content", "op": "in", "value": []})), "conditions.all[1].value");
        assert_eq!(
            cond(json!({"field": "message.content", "op": "eq", "value": "x", "extra": 1})),
            "conditions.all[1].extra"
        );
        assert_eq!(
            cond(json!({"field": "message.content", "op": "matches", "value": "(unclosed"})),
            "conditions.all[1].value"
        );
        assert_eq!(cond(json!({"field": "customer.group_id", "op": "eq", "value": G1})), "conditions.all[1].value");
        assert_eq!(
            cond(json!({"field": "customer.group_id", "op": "in", "value": [VIP, "x"]})),
            "conditions.all[1].value[1]"
        );
        assert_eq!(
            cond(json!({"field": "conversation.unanswered_minutes", "op": "gt", "value": "5"})),
            "conditions.all[1].value"
        );
        assert_eq!(
            cond(json!({"field": "conversation.unanswered_minutes", "op": "gt", "value": 99999})),
            "conditions.all[1].value"
        );
        assert_eq!(
            cond(json!({"field": "time.in_working_hours", "op": "eq", "value": "true"})),
            "conditions.all[1].value"
        );
        assert_eq!(cond(json!("message.content contains x")), "conditions.all[1]");
        assert_eq!(act(json!({"type": "escalate"})), "actions[0].type");
        assert_eq!(act(json!({"group_id": G1})), "actions[0].type");
        assert_eq!(act(json!({"type": "assign_group"})), "actions[0].group_id");
        assert_eq!(act(json!({"type": "assign_group", "group_id": "sales"})), "actions[0].group_id");
        assert_eq!(act(json!({"type": "assign_group", "group_id": G1, "agent_id": A1})), "actions[0].agent_id");
        assert_eq!(act(json!({"type": "assign_agent", "agent_id": G1})), "actions[0].agent_id");
        assert_eq!(act(json!({"type": "set_priority", "priority": "urgent"})), "actions[0].priority");
        assert_eq!(act(json!({"type": "add_tag", "tag": "a#b"})), "actions[0].tag");
        assert_eq!(act(json!({"type": "auto_reply", "content": " "})), "actions[0].content");
        assert_eq!(act(json!({"type": "create_ticket", "priority": "p1"})), "actions[0].priority");
        assert_eq!(act(json!({"type": "notify", "text": "x"})), "actions[0].agent_id");
        assert_eq!(act(json!({"type": "notify", "agent_id": A1, "group_id": G1, "text": "x"})), "actions[0].group_id");
        assert_eq!(act(json!({"type": "notify", "agent_id": A1})), "actions[0].text");
        assert_eq!(act(json!({"type": "webhook", "url": "http://example.com/"})), "actions[0].url");
        assert_eq!(act(json!({"type": "webhook", "url": "https://169.254.169.254/"})), "actions[0].url");
        assert_eq!(act(json!({"type": "close", "now": true})), "actions[0].now");
        assert_eq!(act(json!({"type": "require_skills", "skills": []})), "actions[0].skills");
        assert_eq!(act(json!({"type": "require_skills", "skills": ["ok", ""]})), "actions[0].skills[1]");
        assert_eq!(field_of(json!([])), "");
        // `kefu serve` takes an http webhook to this machine.
        let mut local = refund_rule();
        local["actions"] = json!([{"type": "webhook", "url": "http://127.0.0.1:9000/hook"}]);
        assert!(Rule::parse(&local, WebhookPolicy::LOCAL).is_ok());
        assert!(Rule::parse(&local, WebhookPolicy::AWS).is_err());
    }

    #[test]
    fn regular_expressions_are_checked_and_bounded() {
        let with = |p: &str| {
            let mut v = refund_rule();
            v["conditions"] = json!({"all": [{"field": "message.content", "op": "matches", "value": p}]});
            Rule::parse(&v, WebhookPolicy::AWS)
        };
        let e = with("a(b").unwrap_err();
        assert_eq!(e.field, "conditions.all[0].value");
        assert!(e.message.starts_with("is not a valid regular expression: "), "{}", e.message);
        assert!(!e.message.contains('\n'));
        let big = with("\\w{1000}\\w{1000}").unwrap_err();
        assert_eq!(
            (big.field.as_str(), big.message.as_str()),
            ("conditions.all[0].value", "is too large a regular expression")
        );
        assert!(with(&"a".repeat(MAX_PATTERN_CHARS + 1)).is_err());
        assert!(with("^(a+)+$").is_ok(), "a classic catastrophic-backtracking pattern is harmless here");
        let r = RuleSet::new([(None, with("^(a+)+$").unwrap())]);
        let evil = format!("{}!", "a".repeat(4000));
        assert!(r.evaluate(Event::MessageReceived, &message(&evil)).matched.is_empty());
    }

    #[test]
    fn references_are_listed_and_checked_by_the_caller() {
        let r = rule(json!({"name": "r", "event": "conversation.created",
            "conditions": {"all": [{"field": "customer.group_id", "op": "eq", "value": VIP}],
                           "any": [{"field": "customer.tags", "op": "in", "value": ["a", "b"]}]},
            "actions": [{"type": "assign_group", "group_id": G1}, {"type": "notify", "agent_id": A1, "text": "hi"},
                        {"type": "create_ticket"}, {"type": "add_tag", "tag": "c"}]}));
        let refs = r.references();
        let paths: Vec<&str> = refs.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            paths,
            [
                "conditions.all[0].value",
                "conditions.any[0].value[0]",
                "conditions.any[0].value[1]",
                "actions[0].group_id",
                "actions[1].agent_id",
                "actions[3].tag"
            ]
        );
        assert!(r.check_references(|_| true).is_ok());
        let e = r.check_references(|x| !matches!(x, Reference::Agent(_))).unwrap_err();
        assert_eq!((e.field.as_str(), e.message.as_str()), ("actions[1].agent_id", "no such agent"));
        let e = r.check_references(|x| x != &Reference::Tag(TagName::parse("b", "t").unwrap())).unwrap_err();
        assert_eq!(e.field, "conditions.any[0].value[1]");
    }

    #[test]
    fn a_refund_question_becomes_an_after_sales_ticket() {
        let set = RuleSet::new([(Some(rid(1)), rule(refund_rule()))]);
        for text in ["我想退款", "I want a REFUND please", "Ｒｅｆｕｎｄ?", "my MONEY  back!"] {
            let out = set.evaluate(Event::MessageReceived, &message(text));
            assert_eq!(out.matched.len(), 1, "{text}");
            assert_eq!(out.matched[0].rule_id, Some(rid(1)));
            assert_eq!(out.actions().len(), 3);
        }
        let out = set.evaluate(Event::MessageReceived, &message("where is my parcel?"));
        assert!(out.matched.is_empty());
        assert_eq!(out.trace[0].verdict, Verdict::NotMatched);
        assert_eq!(out.trace[0].conditions.len(), 3);
        assert!(out.trace[0].conditions.iter().all(|c| !c.holds && c.list == List::Any));
        assert!(set.evaluate(Event::ConversationCreated, &message("退款")).trace.is_empty(), "other events only");
    }

    #[test]
    fn order_stop_processing_priority_and_trace() {
        let r = |name: &str, position: u64, cond: Value, actions: Value, stop: bool| {
            rule(json!({"name": name, "position": position, "event": "conversation.created", "stop_processing": stop,
                "conditions": {"all": cond}, "actions": actions}))
        };
        let always = json!([]);
        let vip = json!([{"field": "customer.group_id", "op": "eq", "value": VIP}]);
        let set = RuleSet::new([
            (Some(rid(9)), r("late", 30, always.clone(), json!([{"type": "set_priority", "priority": "low"}]), false)),
            (Some(rid(3)), r("vip high", 20, vip.clone(), json!([{"type": "set_priority", "priority": "high"}]), true)),
            (Some(rid(2)), r("tie b", 10, always.clone(), json!([{"type": "add_tag", "tag": "b"}]), false)),
            (
                Some(rid(1)),
                r(
                    "tie a",
                    10,
                    always.clone(),
                    json!([{"type": "set_priority", "priority": "normal"}, {"type": "add_tag", "tag": "a"}]),
                    false,
                ),
            ),
            (Some(rid(4)), {
                let mut d = r("disabled", 0, always.clone(), json!([{"type": "close"}]), true);
                d.enabled = false;
                d
            }),
        ]);
        let vip_facts = Facts { customer_group_id: CustomerGroupId::parse(VIP), ..Facts::default() };
        let out = set.evaluate(Event::ConversationCreated, &vip_facts);
        let names: Vec<&str> = out.matched.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["tie a", "tie b", "vip high"], "position order, ties by id, stopped after vip high");
        assert_eq!(out.priority, Some(Priority::High), "the later rule's set_priority overrides");
        assert_eq!(out.stopped_by.as_deref(), Some("vip high"));
        let verdicts: Vec<Verdict> = out.trace.iter().map(|t| t.verdict).collect();
        assert_eq!(
            verdicts,
            [Verdict::Disabled, Verdict::Matched, Verdict::Matched, Verdict::Matched, Verdict::Stopped]
        );
        let kinds: Vec<&str> = out.actions().iter().map(|a| a.kind()).collect();
        assert_eq!(kinds, ["add_tag", "add_tag", "set_priority"], "the overridden set_priority is dropped");
        assert_eq!(out.actions()[2], &Action::SetPriority { priority: Priority::High });

        let out = set.evaluate(Event::ConversationCreated, &Facts::default());
        let names: Vec<&str> = out.matched.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["tie a", "tie b", "late"]);
        assert_eq!(out.priority, Some(Priority::Low));
        assert_eq!(
            out.trace[3].conditions,
            [ConditionTrace { list: List::All, index: 0, field: Field::CustomerGroupId, op: Op::Eq, holds: false }]
        );
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(json["trace"][3]["verdict"], "not_matched");
        assert_eq!(serde_json::from_value::<Outcome>(json).unwrap(), out);
    }

    #[test]
    fn conditions_on_each_field() {
        let one = |c: Value, facts: &Facts| {
            let set = RuleSet::new([(
                None,
                rule(json!({"name": "r", "event": "message.received",
                "conditions": {"all": [c]}, "actions": [{"type": "close"}]})),
            )]);
            !set.evaluate(Event::MessageReceived, facts).matched.is_empty()
        };
        let f = Facts {
            message_content: Some("Hello World".into()),
            customer_group_id: CustomerGroupId::parse(VIP),
            customer_tags: vec![TagName::parse("gold", "t").unwrap()],
            page_url: Some("https://shop.example.com/Pricing".into()),
            unanswered_seconds: Some(5 * 60 + 30),
            in_working_hours: Some(false),
        };
        let empty = Facts::default();
        let c = |field: &str, op: &str, value: Value| json!({"field": field, "op": op, "value": value});
        assert!(one(c("message.content", "eq", json!(" hello world ")), &f));
        assert!(!one(c("message.content", "ne", json!("HELLO WORLD")), &f));
        assert!(one(c("message.content", "in", json!(["bye", "hello world"])), &f));
        assert!(one(c("message.content", "not_contains", json!("refund")), &f));
        assert!(one(c("message.content", "not_contains", json!("refund")), &empty), "no message: contains nothing");
        assert!(!one(c("message.content", "matches", json!("^hello")), &f), "matches sees the text as written");
        assert!(one(c("message.content", "matches", json!("(?i)^hello")), &f));
        assert!(one(c("conversation.page_url", "contains", json!("/pricing")), &f));
        assert!(one(c("customer.group_id", "eq", json!(VIP)), &f));
        assert!(one(c("customer.group_id", "ne", json!(VIP)), &empty), "no group is not VIP");
        assert!(!one(c("customer.group_id", "in", json!([VIP])), &empty));
        assert!(one(c("customer.tags", "contains", json!("gold")), &f));
        assert!(one(c("customer.tags", "in", json!(["silver", "gold"])), &f));
        assert!(!one(c("customer.tags", "not_contains", json!("gold")), &f));
        assert!(one(c("conversation.unanswered_minutes", "gt", json!(5)), &f));
        assert!(one(c("conversation.unanswered_minutes", "eq", json!(5)), &f));
        assert!(!one(c("conversation.unanswered_minutes", "gt", json!(6)), &f));
        assert!(one(c("conversation.unanswered_minutes", "lt", json!(6)), &f));
        assert!(one(c("conversation.unanswered_minutes", "ne", json!(4)), &f));
        assert!(!one(c("conversation.unanswered_minutes", "ne", json!(4)), &empty), "no wait: no minute test holds");
        assert!(!one(c("conversation.unanswered_minutes", "lt", json!(4)), &empty));
        assert!(one(c("time.in_working_hours", "eq", json!(false)), &f));
        assert!(one(c("time.in_working_hours", "ne", json!(true)), &f));
        assert!(!one(c("time.in_working_hours", "ne", json!(true)), &empty));
        // The timer fires at the threshold itself: gt N holds at exactly N minutes.
        let at = Facts { unanswered_seconds: Some(300), ..Facts::default() };
        assert!(one(c("conversation.unanswered_minutes", "gt", json!(5)), &at));
        assert!(!one(c("conversation.unanswered_minutes", "lt", json!(5)), &at));
    }

    #[test]
    fn all_and_any() {
        let set = |all: Value, any: Value| {
            RuleSet::new([(
                None,
                rule(json!({"name": "r", "event": "message.received",
                "conditions": {"all": all, "any": any}, "actions": [{"type": "close"}]})),
            )])
        };
        let has = |w: &str| json!({"field": "message.content", "op": "contains", "value": w});
        let run = |s: &RuleSet, text: &str| !s.evaluate(Event::MessageReceived, &message(text)).matched.is_empty();
        let s = set(json!([has("a")]), json!([has("b"), has("c")]));
        assert!(run(&s, "a b"));
        assert!(run(&s, "a c"));
        assert!(!run(&s, "a"));
        assert!(!run(&s, "b c"));
        let s = set(json!([]), json!([]));
        assert!(run(&s, "anything"), "no conditions: always");
        let s = set(Value::Null, json!([has("x")]));
        assert!(run(&s, "x") && !run(&s, "y"));
    }

    #[test]
    fn unanswered_thresholds_for_the_timers() {
        let r = |enabled: bool, event: &str, conds: Value| {
            (
                None,
                rule(json!({"name": "r", "enabled": enabled, "event": event, "conditions": conds,
                "actions": [{"type": "reassign"}]})),
            )
        };
        let m = |op: &str, n: u64| json!({"field": "conversation.unanswered_minutes", "op": op, "value": n});
        let set = RuleSet::new([
            r(true, "conversation.unanswered", json!({"all": [m("gt", 10)], "any": [m("eq", 3), m("lt", 60)]})),
            r(true, "conversation.unanswered", json!({"all": [m("gt", 3), m("ne", 7)]})),
            r(false, "conversation.unanswered", json!({"all": [m("gt", 20)]})),
            r(true, "message.received", json!({"all": [m("gt", 30)]})),
        ]);
        assert_eq!(set.unanswered_thresholds(), [3, 10]);
        assert!(RuleSet::default().unanswered_thresholds().is_empty());
    }

    #[test]
    fn unanswered_timers_fire_each_threshold_once_in_order() {
        let since: jiff::Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        let at = |m: i64| since + jiff::SignedDuration::from_mins(m);
        let th = [3, 10, 60];
        assert_eq!(next_unanswered(&th, since, None), Some((3, at(3))));
        assert_eq!(next_unanswered(&th, since, Some(3)), Some((10, at(10))));
        assert_eq!(next_unanswered(&th, since, Some(5)), Some((10, at(10))), "a threshold removed since");
        assert_eq!(next_unanswered(&th, since, Some(60)), None);
        assert_eq!(next_unanswered(&[], since, None), None);
        assert_eq!(timer_delay(at(0), at(3)), (180, true));
        assert_eq!(timer_delay(at(0), at(60)), (MAX_TIMER_DELAY_SECONDS, false), "re-armed past 15 minutes");
        assert_eq!(timer_delay(at(5), at(3)), (0, true), "late: fire now");
        let half = at(0) + jiff::SignedDuration::from_millis(1500);
        assert_eq!(timer_delay(at(0), half), (2, true), "never before the due second");
    }

    #[test]
    fn dry_run_samples() {
        let f = Facts::from_sample(&json!({"message": {"content": "退款"}, "customer": {"group_id": VIP, "tags": ["a", "a"]},
            "conversation": {"page_url": "https://x.example/", "unanswered_minutes": 12}, "time": {"in_working_hours": true}}))
        .unwrap();
        assert_eq!(f.message_content.as_deref(), Some("退款"));
        assert_eq!(f.customer_tags.len(), 1);
        assert_eq!((f.unanswered_seconds, f.in_working_hours), (Some(720), Some(true)));
        assert_eq!(Facts::from_sample(&json!({})).unwrap(), Facts::default());
        let e = |v: Value| Facts::from_sample(&v).unwrap_err().field;
        assert_eq!(e(json!({"visitor": {}})), "sample.visitor");
        assert_eq!(e(json!({"message": {"text": "x"}})), "sample.message.text");
        assert_eq!(e(json!({"customer": {"group_id": "vip"}})), "sample.customer.group_id");
        assert_eq!(e(json!({"customer": {"tags": [1]}})), "sample.customer.tags[0]");
        assert_eq!(e(json!({"conversation": {"unanswered_minutes": -1}})), "sample.conversation.unanswered_minutes");
        assert_eq!(e(json!([])), "sample");
    }

    fn arb_rule() -> impl Strategy<Value = (u8, u64, bool, bool, Vec<(u8, bool)>, u8)> {
        // (id, position, enabled, stop, conditions as (word, negate), priority)
        (0u8..40, 0u64..5, any::<bool>(), any::<bool>(), prop::collection::vec((0u8..4, any::<bool>()), 0..3), 0u8..3)
    }

    fn build(
        (id, position, enabled, stop, conds, prio): (u8, u64, bool, bool, Vec<(u8, bool)>, u8),
    ) -> (Option<RuleId>, Rule) {
        let words = ["a", "b", "c", "d"];
        let all: Vec<Value> = conds
            .iter()
            .map(|(w, neg)| json!({"field": "message.content", "op": if *neg { "not_contains" } else { "contains" }, "value": words[*w as usize]}))
            .collect();
        let priority = Priority::ALL[prio as usize].as_str();
        let r = rule(
            json!({"name": format!("r{id}"), "position": position, "enabled": enabled, "stop_processing": stop,
            "event": "message.received", "conditions": {"all": all},
            "actions": [{"type": "set_priority", "priority": priority}, {"type": "add_tag", "tag": format!("t{id}")}]}),
        );
        (Some(rid(id)), r)
    }

    proptest! {
        #[test]
        fn evaluation_is_deterministic_and_ordered(rules in prop::collection::vec(arb_rule(), 0..12),
                                                   text in "[abcd ]{0,8}", seed in any::<u64>()) {
            let mut seen = std::collections::BTreeSet::new();
            let rules: Vec<_> = rules.into_iter().filter(|r| seen.insert(r.0)).map(build).collect();
            let mut shuffled = rules.clone();
            // A deterministic shuffle from the seed: the store may list rules in any order.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = usize::try_from(seed.rotate_left(i as u32) % (i as u64 + 1)).unwrap();
                shuffled.swap(i, j);
            }
            let facts = message(&text);
            let a = RuleSet::new(rules.clone()).evaluate(Event::MessageReceived, &facts);
            let b = RuleSet::new(shuffled).evaluate(Event::MessageReceived, &facts);
            prop_assert_eq!(&a, &b);
            // Matched rules are in (position, id) order, all enabled, and nothing matches after a stop.
            let keys: Vec<(u64, Option<RuleId>)> = a.trace.iter().filter(|t| t.verdict == Verdict::Matched)
                .map(|t| (t.position, t.rule_id.clone())).collect();
            prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));
            let stop_at = a.trace.iter().position(|t| t.verdict == Verdict::Matched
                && rules.iter().any(|(id, r)| id == &t.rule_id && r.stop_processing));
            if let Some(s) = stop_at {
                prop_assert!(a.trace[s + 1..].iter().all(|t| t.verdict == Verdict::Stopped));
            }
            // Each matched rule's conditions all hold; the resolved priority is the last matched one's.
            for t in &a.trace {
                if t.verdict == Verdict::Matched { prop_assert!(t.conditions.iter().all(|c| c.holds)); }
                if t.verdict == Verdict::NotMatched { prop_assert!(t.conditions.iter().any(|c| !c.holds)); }
            }
            let last = a.matched.last().map(|m| match m.actions[0] { Action::SetPriority { priority } => priority, _ => unreachable!() });
            prop_assert_eq!(a.priority, last);
            let priorities = a.actions().iter().filter(|x| matches!(x, Action::SetPriority { .. })).count();
            prop_assert!(priorities <= 1);
        }

        #[test]
        fn contains_and_not_contains_are_opposites(text in "\\PC{0,30}", word in "[a-zA-Zａ-ｚ退款]{1,3}") {
            let set = |op: &str| RuleSet::new([(None, rule(json!({"name": "r", "event": "message.received",
                "conditions": {"all": [{"field": "message.content", "op": op, "value": word}]}, "actions": [{"type": "close"}]})))]);
            let facts = message(&text);
            let yes = !set("contains").evaluate(Event::MessageReceived, &facts).matched.is_empty();
            let no = !set("not_contains").evaluate(Event::MessageReceived, &facts).matched.is_empty();
            prop_assert_ne!(yes, no);
            prop_assert_eq!(yes, fold(&text).contains(&fold(&word)));
        }

        #[test]
        fn any_pattern_either_compiles_or_names_its_field(p in "\\PC{0,40}") {
            let v = json!({"name": "r", "event": "message.received",
                "conditions": {"all": [{"field": "message.content", "op": "matches", "value": p}]}, "actions": [{"type": "close"}]});
            match Rule::parse(&v, WebhookPolicy::AWS) {
                Ok(r) => { RuleSet::new([(None, r)]).evaluate(Event::MessageReceived, &message("some text")); }
                Err(e) => prop_assert_eq!(e.field, "conditions.all[0].value"),
            }
        }
    }
}
