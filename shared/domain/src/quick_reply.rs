//! Quick replies: canned answers an agent drops into the composer, by search or by `/shortcut`.
//!
//! A quick reply is personal (its owner's alone) or team (every agent of the tenant sees it; writing one needs
//! `quick_replies.manage`). Its content may hold variables, `{{customer.name}}`, `{{customer.email}}`,
//! `{{agent.name}}` and `{{conversation.id}}`, each with an optional fallback (`{{customer.name|朋友}}`), checked
//! when the reply is saved ([`Template::parse`]) and filled in by [`render`] when it is used.
//!
//! # Search
//!
//! `GET /v1/quick_replies?q=` is answered from an inverted index, never by scanning: each reply is stored with
//! one index entry per term of its title and content ([`index_terms`]), keyed `term → quick reply id` under the
//! tenant, and carrying the reply's scope and owner so visibility is decided from the entry alone. A query is
//! cut into terms the same way ([`query_terms`]); the app reads each term's entries (the rarest first), keeps
//! the replies present under every term that the reader may see (its own personal ones and the team's), and
//! confirms each candidate by [`answers_search`] on the reply's text, so an index hit that is only a coincidence of
//! terms (`退款` and `款退` share single characters) never reaches the reader. Editing a reply replaces its
//! entries (old terms minus new terms are deleted); deleting it deletes them.
//!
//! Terms are made from the NFKC, lower-cased text ([`crate::text::fold`]), so full-width `ＲＥＦＵＮＤ` finds
//! `refund`:
//! - Chinese, Japanese and Korean have no spaces between words, so a run of those characters gives each
//!   character and each pair of neighbours (bigrams): `申请退款流程` indexes `申`, `申请`, `请`, `请退`, `退`,
//!   `退款`… and a search for `退款` looks up the bigram `退款`; a longer query looks up all its bigrams
//!   (`申请退款` → `申请`, `请退`, `退款`), a one-character query the character.
//! - Other scripts are cut into words (letters and digits); each word gives its prefixes up to
//!   [`MAX_PREFIX_CHARS`] characters, so `ref` finds `refund` while the words are typed. A query word longer
//!   than that looks up its first [`MAX_PREFIX_CHARS`] characters, and [`answers_search`] checks the rest.
//!
//! A reply gives at most [`MAX_INDEX_TERMS`] terms (title first), which bounds the writes a save costs; a
//! query at most [`MAX_QUERY_TERMS`], which bounds the reads a search costs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::ids::AgentId;
use crate::text::{bounded_text, fold};

pub use crate::ids::QuickReplyId;

/// The most characters of a quick reply's title.
pub const TITLE_MAX_CHARS: usize = 100;
/// The most characters of a quick reply's content, as written (variables unfilled): a message's limit.
pub const CONTENT_MAX_CHARS: usize = crate::conversation::MESSAGE_MAX_CHARS;
/// The most characters of a category.
pub const CATEGORY_MAX_CHARS: usize = 50;
/// The most characters of a shortcut.
pub const SHORTCUT_MAX_CHARS: usize = 32;
/// The most characters of a variable's fallback.
pub const FALLBACK_MAX_CHARS: usize = 100;
/// The longest word prefix indexed (and the longest word a query looks up).
pub const MAX_PREFIX_CHARS: usize = 12;
/// The most index terms one quick reply gives.
pub const MAX_INDEX_TERMS: usize = 300;
/// The most terms one search looks up.
pub const MAX_QUERY_TERMS: usize = 8;

/// Who sees a quick reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuickReplyScope {
    /// Only its owner sees and uses it; nobody else, whatever their permissions.
    Personal,
    /// Every agent of the tenant sees it; writing it needs `quick_replies.manage`.
    Team,
}

impl QuickReplyScope {
    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            QuickReplyScope::Personal => "personal",
            QuickReplyScope::Team => "team",
        }
    }

    /// The scope named `s`, for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        match s {
            "personal" => Ok(Self::Personal),
            "team" => Ok(Self::Team),
            _ => Err(ValidationError::new(field, "must be personal or team")),
        }
    }
}

/// Whether `reader` sees a quick reply of `scope` owned by `owner`: a team reply every agent of the tenant sees,
/// a personal one only its owner, whatever the reader's permissions (a supervisor does not read an agent's
/// personal replies). The app applies it to lists, search results, `render` and `/shortcut` completion alike.
pub fn visible_to(scope: QuickReplyScope, owner: &AgentId, reader: &AgentId) -> bool {
    match scope {
        QuickReplyScope::Team => true,
        QuickReplyScope::Personal => owner == reader,
    }
}

/// Whether `actor` may create, change or delete a quick reply of `scope` owned by `owner`: its own personal
/// ones always; team ones with `quick_replies.manage` (`may_manage`). Nobody writes another's personal reply;
/// the app answers 404 for one the actor cannot see, 403 for a team one without the permission.
pub fn may_write(scope: QuickReplyScope, owner: &AgentId, actor: &AgentId, may_manage: bool) -> bool {
    match scope {
        QuickReplyScope::Team => may_manage,
        QuickReplyScope::Personal => owner == actor,
    }
}

/// A shortcut, typed as `/refund` in the composer: 1..=32 of `a-z`, `0-9`, `-` and `_`, starting with a letter
/// or digit. Upper-case ASCII letters are lowered and surrounding spaces and one leading `/` dropped, so what an
/// agent types is what is stored and uniqueness (per scope and owner) is decided on one spelling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shortcut(String);

impl Shortcut {
    /// Checks a shortcut sent as `field` (usually `shortcut`).
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let t = t.strip_prefix('/').unwrap_or(t).to_ascii_lowercase();
        let n = t.chars().count();
        if n == 0 || n > SHORTCUT_MAX_CHARS {
            return Err(ValidationError::new(field, format!("must be 1 to {SHORTCUT_MAX_CHARS} characters")));
        }
        let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_');
        if !t.chars().all(ok) || !t.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            return Err(ValidationError::new(
                field,
                "may hold only a-z, 0-9, - and _, and must start with a letter or digit",
            ));
        }
        Ok(Self(t))
    }

    /// The shortcut, without the `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A quick reply's title: 1..=100 characters after trimming, one line.
pub fn parse_title(s: &str, field: &str) -> Result<String, ValidationError> {
    bounded_text(s, field, 1, TITLE_MAX_CHARS, false)
}

/// A category: 1..=50 characters after trimming, one line; blank or absent means none.
pub fn parse_category(s: Option<&str>, field: &str) -> Result<Option<String>, ValidationError> {
    match s.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(c) => bounded_text(c, field, 1, CATEGORY_MAX_CHARS, false).map(Some),
    }
}

/// A variable a quick reply's content may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Variable {
    /// `customer.name`: the conversation's customer's name.
    CustomerName,
    /// `customer.email`: the customer's email, masked as the reader would see it.
    CustomerEmail,
    /// `agent.name`: the name of the agent using the reply.
    AgentName,
    /// `conversation.id`: the conversation's id.
    ConversationId,
}

impl Variable {
    /// Every variable.
    pub const ALL: [Variable; 4] =
        [Variable::CustomerName, Variable::CustomerEmail, Variable::AgentName, Variable::ConversationId];

    /// The name written between the braces.
    pub fn as_str(self) -> &'static str {
        match self {
            Variable::CustomerName => "customer.name",
            Variable::CustomerEmail => "customer.email",
            Variable::AgentName => "agent.name",
            Variable::ConversationId => "conversation.id",
        }
    }

    /// The variable named `s`, if it is one.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// Text kept as written.
    Text(String),
    /// A variable to fill in, and what to write when it has no value.
    Var {
        /// The variable.
        var: Variable,
        /// The fallback after `|`, trimmed; `None` when absent or blank.
        fallback: Option<String>,
    },
}

/// A quick reply's content, cut into text and variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    content: String,
    pieces: Vec<Piece>,
}

/// What the scanner found.
enum Found<'a> {
    /// Text between variables.
    Text(&'a str),
    /// A known variable and its fallback.
    Var(Variable, Option<String>),
    /// A `{{` that does not open a known variable: why, and the text it covers as written.
    Bad(String, &'a str),
}

/// Cuts `s` into pieces. A `{{` that does not open a known variable is reported as `Bad`, with the reason and
/// the text it covers (up to its `}}`, or only the `{{` when it has no `}}` or holds another `{{`); the caller
/// decides whether that is an error (saving) or text (rendering).
fn scan<'a>(s: &'a str, mut each: impl FnMut(Found<'a>)) {
    let mut rest = s;
    while let Some(at) = rest.find("{{") {
        if at > 0 {
            each(Found::Text(&rest[..at]));
        }
        let after = &rest[at + 2..];
        let inner = after.find("}}").map(|close| &after[..close]);
        let Some(inner) = inner.filter(|i| !i.contains("{{")) else {
            let why = if inner.is_some() { "has a {{ inside a variable" } else { "has a {{ without its }}" };
            each(Found::Bad(why.to_owned(), &rest[at..at + 2]));
            rest = after;
            continue;
        };
        let raw = &rest[at..at + inner.len() + 4];
        let (name, fallback) = match inner.split_once('|') {
            Some((n, f)) => (n.trim(), Some(f.trim())),
            None => (inner.trim(), None),
        };
        match Variable::from_name(name) {
            None => each(Found::Bad(
                format!(
                    "has an unknown variable {{{{{}}}}}; known ones are {}",
                    name.chars().take(40).collect::<String>(),
                    Variable::ALL.map(Variable::as_str).join(", ")
                ),
                raw,
            )),
            Some(_) if fallback.is_some_and(|f| f.chars().count() > FALLBACK_MAX_CHARS) => {
                each(Found::Bad(format!("has a fallback of more than {FALLBACK_MAX_CHARS} characters"), raw))
            }
            Some(_) if fallback.is_some_and(|f| f.chars().any(char::is_control)) => {
                each(Found::Bad("has a fallback with control characters".to_owned(), raw))
            }
            Some(v) => each(Found::Var(v, fallback.filter(|f| !f.is_empty()).map(str::to_owned))),
        }
        rest = &rest[at + raw.len()..];
    }
    if !rest.is_empty() {
        each(Found::Text(rest));
    }
}

impl Template {
    /// Checks a quick reply's content sent as `field` (usually `content`), when it is saved: 1..=4000 characters,
    /// not blank, no control characters other than line breaks and tabs, and every `{{…}}` a known variable
    /// with an optional fallback of at most 100 characters. Kept as written (not trimmed), like a message.
    pub fn parse(content: &str, field: &str) -> Result<Self, ValidationError> {
        crate::conversation::MessageContent::parse(content, field)?;
        let mut pieces = Vec::new();
        let mut error = None;
        scan(content, |f| match f {
            Found::Text(t) => push_text(&mut pieces, t),
            Found::Var(var, fallback) => pieces.push(Piece::Var { var, fallback }),
            Found::Bad(why, _) => {
                error.get_or_insert(why);
            }
        });
        match error {
            Some(why) => Err(ValidationError::new(field, why)),
            None => Ok(Self { content: content.to_owned(), pieces }),
        }
    }

    /// The content as written.
    pub fn as_str(&self) -> &str {
        &self.content
    }

    /// The pieces, in order.
    pub fn pieces(&self) -> &[Piece] {
        &self.pieces
    }

    /// The variables used, each once, so the app loads only what the reply needs (no customer read for a
    /// reply that names only the agent).
    pub fn variables(&self) -> BTreeSet<Variable> {
        self.pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Var { var, .. } => Some(*var),
                Piece::Text(_) => None,
            })
            .collect()
    }
}

fn push_text(pieces: &mut Vec<Piece>, t: &str) {
    if let Some(Piece::Text(last)) = pieces.last_mut() {
        last.push_str(t);
    } else {
        pieces.push(Piece::Text(t.to_owned()));
    }
}

/// The values a rendering fills in, by variable. The app puts in what the reader may see (a masked email for
/// a reader without `customers.view_sensitive`).
pub type Values = BTreeMap<Variable, String>;

/// Fills in a stored quick reply's variables: each takes its value, or, when the value is missing or blank,
/// its fallback, or else nothing. Values are inserted as they are, never read as templates themselves (a
/// customer named `{{agent.name}}` stays that). Any text is accepted: content stored before a rule changed, or
/// damaged, renders its unrecognised `{{…}}` as written rather than failing.
pub fn render(content: &str, values: &Values) -> String {
    let mut out = String::with_capacity(content.len());
    scan(content, |f| match f {
        Found::Text(t) => out.push_str(t),
        Found::Var(var, fallback) => match values.get(&var).map(String::as_str).filter(|v| !v.trim().is_empty()) {
            Some(v) => out.push_str(v),
            None => out.push_str(fallback.as_deref().unwrap_or_default()),
        },
        Found::Bad(_, raw) => out.push_str(raw),
    });
    out
}

/// The search text of content: its text pieces and fallbacks, without the variable names (nobody searches for
/// `customer.name`, and every reply using it would match).
fn searchable(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    scan(content, |f| match f {
        Found::Text(t) => out.push_str(t),
        Found::Var(_, fallback) => {
            out.push(' ');
            out.push_str(fallback.as_deref().unwrap_or_default());
            out.push(' ');
        }
        Found::Bad(_, raw) => out.push_str(raw),
    });
    out
}

/// Whether `c` is written without spaces between words (Han, kana, Hangul, CJK symbols of those blocks).
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{1100}'..='\u{11FF}'     // Hangul Jamo
        | '\u{3040}'..='\u{30FF}'   // Hiragana, Katakana
        | '\u{3130}'..='\u{318F}'   // Hangul compatibility Jamo
        | '\u{3400}'..='\u{4DBF}'   // CJK extension A
        | '\u{4E00}'..='\u{9FFF}'   // CJK unified ideographs
        | '\u{AC00}'..='\u{D7AF}'   // Hangul syllables
        | '\u{F900}'..='\u{FAFF}'   // CJK compatibility ideographs
        | '\u{20000}'..='\u{3134F}' // CJK extensions B to G
    )
}

/// A run of characters of one kind.
enum Run {
    Cjk(Vec<char>),
    Word(Vec<char>),
}

/// The folded text cut into CJK runs and words; everything else separates them.
fn runs(text: &str) -> Vec<Run> {
    let mut out = Vec::new();
    let mut cur: Option<Run> = None;
    for c in fold(text).chars() {
        let next = match (is_cjk(c), c.is_alphanumeric()) {
            (true, _) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        match (&mut cur, next) {
            (Some(Run::Cjk(v)), Some(true)) | (Some(Run::Word(v)), Some(false)) => v.push(c),
            (_, next) => {
                out.extend(cur.take());
                cur = next.map(|cjk| if cjk { Run::Cjk(vec![c]) } else { Run::Word(vec![c]) });
            }
        }
    }
    out.extend(cur);
    out
}

/// Adds `term` once, while fewer than `max` are held.
fn add(out: &mut Vec<String>, seen: &mut BTreeSet<String>, max: usize, term: String) {
    if out.len() < max && seen.insert(term.clone()) {
        out.push(term);
    }
}

/// The index terms of a quick reply (see the module's documentation): title terms first, then content terms,
/// each once, at most [`MAX_INDEX_TERMS`]. Variable names are left out; fallbacks are searchable text.
pub fn index_terms(title: &str, content: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for text in [title.to_owned(), searchable(content)] {
        for run in runs(&text) {
            match run {
                Run::Cjk(cs) => {
                    for (i, c) in cs.iter().enumerate() {
                        add(&mut out, &mut seen, MAX_INDEX_TERMS, c.to_string());
                        if let Some(d) = cs.get(i + 1) {
                            add(&mut out, &mut seen, MAX_INDEX_TERMS, [*c, *d].iter().collect());
                        }
                    }
                }
                Run::Word(cs) => {
                    for k in 1..=cs.len().min(MAX_PREFIX_CHARS) {
                        add(&mut out, &mut seen, MAX_INDEX_TERMS, cs[..k].iter().collect());
                    }
                }
            }
        }
    }
    out
}

/// The terms a search `q` looks up, each once, at most [`MAX_QUERY_TERMS`]: a CJK run's bigrams (its character
/// when it is one), a word's first [`MAX_PREFIX_CHARS`] characters. Empty when `q` has no letter, digit or CJK
/// character (the app then lists without searching).
pub fn query_terms(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for run in runs(q) {
        match run {
            Run::Cjk(cs) if cs.len() == 1 => add(&mut out, &mut seen, MAX_QUERY_TERMS, cs[0].to_string()),
            Run::Cjk(cs) => {
                for w in cs.windows(2) {
                    add(&mut out, &mut seen, MAX_QUERY_TERMS, w.iter().collect());
                }
            }
            Run::Word(cs) => {
                add(&mut out, &mut seen, MAX_QUERY_TERMS, cs[..cs.len().min(MAX_PREFIX_CHARS)].iter().collect())
            }
        }
    }
    out
}

/// Whether a quick reply answers the search `q`, on its folded title and content: every CJK run of the query
/// appears in the text, and every other word of the query begins a word of the text. The check the app makes on
/// each index candidate, so the answer is exact whatever the terms' coincidences.
pub fn answers_search(title: &str, content: &str, q: &str) -> bool {
    let text = format!("{title}\n{}", searchable(content));
    let doc = runs(&text);
    runs(q).iter().all(|r| match r {
        Run::Cjk(qs) => {
            doc.iter().any(|d| matches!(d, Run::Cjk(ds) if ds.windows(qs.len()).any(|w| w == qs.as_slice())))
        }
        Run::Word(qs) => doc.iter().any(|d| matches!(d, Run::Word(ds) if ds.starts_with(qs))),
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn values(pairs: &[(Variable, &str)]) -> Values {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    }

    #[test]
    fn scopes_shortcuts_titles_categories() {
        assert_eq!(QuickReplyScope::parse("team", "scope").unwrap(), QuickReplyScope::Team);
        assert_eq!(QuickReplyScope::parse("everyone", "scope").unwrap_err().field, "scope");
        assert_eq!(Shortcut::parse(" /Refund ", "shortcut").unwrap().as_str(), "refund");
        assert_eq!(Shortcut::parse("order_2-b", "shortcut").unwrap().as_str(), "order_2-b");
        for bad in ["", "/", "-x", "_x", "退款", "re fund", "a.b", &"a".repeat(33)] {
            assert_eq!(Shortcut::parse(bad, "shortcut").unwrap_err().field, "shortcut", "{bad:?}");
        }
        assert!(Shortcut::parse(&"a".repeat(32), "shortcut").is_ok());
        assert_eq!(parse_title(" 退款流程 ", "title").unwrap(), "退款流程");
        assert!(parse_title("", "title").is_err());
        assert!(parse_title(&"x".repeat(101), "title").is_err());
        assert_eq!(parse_category(Some("  "), "category").unwrap(), None);
        assert_eq!(parse_category(Some(" 售后 "), "category").unwrap().as_deref(), Some("售后"));
        assert_eq!(parse_category(Some(&"x".repeat(51)), "category").unwrap_err().field, "category");
        assert!(QuickReplyId::generate().as_str().starts_with("qr_"));
    }

    #[test]
    fn personal_replies_are_their_owners_alone() {
        let (me, other) = (AgentId::generate(), AgentId::generate());
        assert!(visible_to(QuickReplyScope::Personal, &me, &me));
        assert!(!visible_to(QuickReplyScope::Personal, &other, &me));
        assert!(visible_to(QuickReplyScope::Team, &other, &me));
        assert!(may_write(QuickReplyScope::Personal, &me, &me, false));
        assert!(!may_write(QuickReplyScope::Personal, &other, &me, true), "not even a manager");
        assert!(!may_write(QuickReplyScope::Team, &me, &me, false));
        assert!(may_write(QuickReplyScope::Team, &other, &me, true));
    }

    #[test]
    fn templates_name_known_variables_only() {
        let t = Template::parse("您好 {{customer.name|朋友}}，我是{{ agent.name }}。", "content").unwrap();
        assert_eq!(
            t.pieces(),
            [
                Piece::Text("您好 ".into()),
                Piece::Var { var: Variable::CustomerName, fallback: Some("朋友".into()) },
                Piece::Text("，我是".into()),
                Piece::Var { var: Variable::AgentName, fallback: None },
                Piece::Text("。".into()),
            ]
        );
        assert_eq!(t.variables().into_iter().collect::<Vec<_>>(), [Variable::CustomerName, Variable::AgentName]);
        for bad in [
            "hi {{customer.phone}}",
            "hi {{customer.name",
            "hi {{ {{agent.name}} }}",
            "{{}}",
            "{{customer.name|a\u{7}}}",
            &format!("{{{{customer.name|{}}}}}", "x".repeat(101)),
        ] {
            let e = Template::parse(bad, "content").unwrap_err();
            assert_eq!(e.field, "content", "{bad:?}");
        }
        let e = Template::parse("hi {{order.id}}", "content").unwrap_err();
        assert!(e.message.contains("{{order.id}}") && e.message.contains("customer.name"), "{e}");
        assert!(Template::parse("", "content").is_err());
        assert!(Template::parse("no variables }} at all", "content").is_ok());
        assert_eq!(
            Template::parse("{{customer.name|}}", "content").unwrap().pieces()[0],
            Piece::Var { var: Variable::CustomerName, fallback: None }
        );
    }

    #[test]
    fn rendering_fills_values_then_fallbacks_then_nothing() {
        let c = "您好 {{customer.name|朋友}}，我是{{agent.name}}。会话 {{conversation.id}} {{customer.email|}}";
        let v = values(&[(Variable::CustomerName, "李雷"), (Variable::AgentName, "韩梅梅")]);
        assert_eq!(render(c, &v), "您好 李雷，我是韩梅梅。会话  ");
        let v = values(&[(Variable::CustomerName, "  "), (Variable::ConversationId, "cv_1")]);
        assert_eq!(render(c, &v), "您好 朋友，我是。会话 cv_1 ");
        let v = values(&[(Variable::CustomerName, "{{agent.name}}"), (Variable::AgentName, "A")]);
        assert_eq!(render("{{customer.name}}/{{agent.name}}", &v), "{{agent.name}}/A", "values are not templates");
        let v = values(&[(Variable::AgentName, "A")]);
        assert_eq!(render("{{unknown}} and {{ {{agent.name}} {{x", &v), "{{unknown}} and {{ A {{x", "kept as written");
    }

    #[test]
    fn a_search_for_a_word_inside_chinese_text_finds_it() {
        let terms = index_terms("申请退款流程", "请先提供订单号");
        for t in ["申", "申请", "退款", "流程", "程", "订单"] {
            assert!(terms.iter().any(|x| x == t), "{t} in {terms:?}");
        }
        let q = query_terms("退款");
        assert_eq!(q, ["退款"]);
        assert!(q.iter().all(|t| terms.contains(t)));
        assert_eq!(query_terms("申请退款"), ["申请", "请退", "退款"]);
        assert_eq!(query_terms("退"), ["退"]);
        assert!(answers_search("申请退款流程", "", "退款"));
        assert!(!answers_search("款退", "", "退款"), "the index's single characters coincide; the text does not");
        assert!(terms.contains(&"退".to_owned()) && terms.contains(&"款".to_owned()));
    }

    #[test]
    fn other_scripts_are_words_with_prefixes_folded() {
        let terms = index_terms("Refund policy", "Hello {{customer.name|friend}}, your ORDER-42 is ready");
        for t in ["r", "ref", "refund", "policy", "friend", "order", "42", "ready"] {
            assert!(terms.iter().any(|x| x == t), "{t} in {terms:?}");
        }
        assert!(!terms.iter().any(|x| x == "customer"), "variable names are not indexed");
        assert_eq!(query_terms("ＲＥＦ"), ["ref"]);
        assert_eq!(query_terms("  ,.!  "), Vec::<String>::new());
        assert_eq!(query_terms("internationalization"), ["internationa"]);
        assert!(answers_search("Internationalization", "", "internationaliz"));
        assert!(!answers_search("Internationalization", "", "internationally"));
        assert!(answers_search("Refund policy", "", "POL ref"));
        assert!(!answers_search("Refund policy", "", "fund"), "words match by their beginning");
        assert!(answers_search("退款 Refund", "", "退款 ref"), "mixed queries");
        let long = "word ".repeat(1000) + &(0..1000).map(|i| format!("w{i} ")).collect::<String>();
        assert_eq!(index_terms("t", &long).len(), MAX_INDEX_TERMS);
        assert_eq!(query_terms("a b c d e f g h i j").len(), MAX_QUERY_TERMS);
    }

    fn variable() -> impl Strategy<Value = Variable> {
        prop::sample::select(Variable::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn rendering_never_panics_and_plain_text_is_kept(s in "\\PC{0,80}", v in "\\PC{0,10}", var in variable()) {
            let vals = values(&[(var, &v)]);
            let out = render(&s, &vals);
            if !s.contains("{{") {
                prop_assert_eq!(out, s.clone());
            }
            let _ = Template::parse(&s, "content");
            let _ = index_terms(&s, &s);
            let _ = query_terms(&s);
            let _ = answers_search(&s, &s, &v);
        }

        #[test]
        fn braces_anywhere_never_panic(s in "[{}|a. ]{0,40}(customer.name|agent.name)?[{}|a. ]{0,20}") {
            let _ = render(&s, &Values::new());
            if let Ok(t) = Template::parse(&s, "content") {
                prop_assert!(t.pieces().iter().all(|p| !matches!(p, Piece::Text(x) if x.is_empty())));
            }
        }

        #[test]
        fn a_saved_template_renders_each_variable_as_its_value(
            a in "[^{}\\p{C}]{0,20}", b in "[^{}\\p{C}]{0,20}", var in variable(), value in "[a-z李雷]{1,10}", fallback in "[a-z朋友]{0,5}",
        ) {
            let content = format!("x{a}{{{{{}|{fallback}}}}}{b}", var.as_str());
            prop_assume!(Template::parse(&content, "content").is_ok());
            prop_assert_eq!(render(&content, &values(&[(var, &value)])), format!("x{a}{value}{b}"));
            prop_assert_eq!(render(&content, &Values::new()), format!("x{a}{fallback}{b}"));
        }

        #[test]
        fn a_query_taken_from_a_reply_finds_it(
            words in prop::collection::vec("[a-zA-Z0-9]{1,16}|[退款申请流程订单号您好]{1,6}", 1..12),
            pick in any::<prop::sample::Index>(), from in 0usize..16, len in 1usize..16,
        ) {
            let text = words.join(" ");
            let w: Vec<char> = words[pick.index(words.len())].chars().collect();
            // A CJK query may be any part of a run; a word query is a beginning of a word.
            let q: String = if w[0].is_ascii_alphanumeric() {
                w[..len.min(w.len())].iter().collect()
            } else {
                let s = from % w.len();
                w[s..(s + len).min(w.len())].iter().collect()
            };
            let terms = index_terms(&text, "");
            for t in query_terms(&q) {
                prop_assert!(terms.contains(&t), "{} from {:?} not in the index of {:?}", t, q, text);
            }
            prop_assert!(answers_search(&text, "", &q));
        }
    }
}
