//! Tags as a registry: a tenant declares its tags once (`/v1/tags`, name, scope and colour), and only those can
//! be written to conversations and customers, each only where its scope allows. So a typo (`vipp`) or a
//! customer-only tag on a conversation is a 400 naming the field, not a new tag nobody filters on.
//!
//! Names are compared folded ([`crate::text::fold`]): `VIP` and `ｖｉｐ` are the registry's `vip`, written back
//! in the registry's spelling, and a second tag that folds like an existing one cannot be created.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::ValidationError;
use crate::conversation::TagName;
use crate::text::fold;

pub use crate::ids::TagId;

/// What a tag is written to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagTarget {
    /// A customer's `tags`.
    Customer,
    /// A conversation's `tags`.
    Conversation,
}

impl TagTarget {
    /// The name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            TagTarget::Customer => "customer",
            TagTarget::Conversation => "conversation",
        }
    }
}

/// Where a registered tag may be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TagScope {
    /// Customers only.
    Customer,
    /// Conversations only.
    Conversation,
    /// Both.
    Both,
}

impl TagScope {
    /// Every scope.
    pub const ALL: [TagScope; 3] = [TagScope::Customer, TagScope::Conversation, TagScope::Both];

    /// The name in the API and in the store.
    pub fn as_str(self) -> &'static str {
        match self {
            TagScope::Customer => "customer",
            TagScope::Conversation => "conversation",
            TagScope::Both => "both",
        }
    }

    /// The scope named `s`, for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| ValidationError::new(field, "must be customer, conversation or both"))
    }

    /// Whether a tag of this scope may be written to `target`.
    pub fn allows(self, target: TagTarget) -> bool {
        match self {
            TagScope::Both => true,
            TagScope::Customer => target == TagTarget::Customer,
            TagScope::Conversation => target == TagTarget::Conversation,
        }
    }
}

/// A tag's colour, `#rrggbb`, stored lower-case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TagColor(String);

impl TagColor {
    /// The colour of a tag created without one (a neutral grey).
    pub const DEFAULT: &'static str = "#8c8c8c";

    /// Checks a colour sent as `field` (usually `color`): `#` and six hexadecimal digits, either case.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        match t.strip_prefix('#') {
            Some(hex) if hex.len() == 6 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
                Ok(Self(t.to_ascii_lowercase()))
            }
            _ => Err(ValidationError::new(field, "must be a colour like #1677ff")),
        }
    }

    /// The colour.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TagColor {
    fn default() -> Self {
        Self(Self::DEFAULT.to_owned())
    }
}

/// One registered tag, as the registry check needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredTag {
    /// Its name, in the registry's spelling.
    pub name: TagName,
    /// Where it may be written.
    pub scope: TagScope,
}

/// A tenant's tag registry, looked up by folded name.
#[derive(Debug, Clone, Default)]
pub struct TagRegistry {
    by_folded: HashMap<String, RegisteredTag>,
}

impl TagRegistry {
    /// The registry of these entries. Should two fold alike (they cannot be created so, but old data may), the
    /// first is kept.
    pub fn new(entries: impl IntoIterator<Item = RegisteredTag>) -> Self {
        let mut by_folded = HashMap::new();
        for e in entries {
            by_folded.entry(fold(e.name.as_str())).or_insert(e);
        }
        Self { by_folded }
    }

    /// The registered tag `name` folds to, if any.
    pub fn get(&self, name: &str) -> Option<&RegisteredTag> {
        self.by_folded.get(&fold(name.trim()))
    }

    /// Checks a new tag's name sent as `field` (usually `name`): a valid [`TagName`] that does not fold like a
    /// registered one (the app answers 409 `conflict` when it does; the error says which).
    pub fn check_new(&self, name: &str, field: &str) -> Result<TagName, NewTagError> {
        let n = TagName::parse(name, field).map_err(NewTagError::Invalid)?;
        match self.get(n.as_str()) {
            Some(existing) => Err(NewTagError::Exists(existing.name.clone())),
            None => Ok(n),
        }
    }

    /// Checks the tags written to `target` as `field` (usually `tags`): the list rules of
    /// [`TagName::parse_list`], then each name must be registered (`tags[i]`: "is not a registered tag") and its
    /// scope must allow `target` (`tags[i]`: "is a customer tag…"). Answers the names in the registry's
    /// spelling, each once, in the order given.
    pub fn check(&self, names: &[String], target: TagTarget, field: &str) -> Result<Vec<TagName>, ValidationError> {
        TagName::parse_list(names, field)?;
        let mut out: Vec<TagName> = Vec::with_capacity(names.len());
        for (i, raw) in names.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let n = TagName::parse(raw, &at)?;
            let Some(reg) = self.get(n.as_str()) else {
                return Err(ValidationError::new(at, format!("{} is not a registered tag", n.as_str())));
            };
            if !reg.scope.allows(target) {
                return Err(ValidationError::new(
                    at,
                    format!(
                        "{} is a {} tag; it cannot be put on a {}",
                        reg.name.as_str(),
                        reg.scope.as_str(),
                        target.as_str()
                    ),
                ));
            }
            if !out.contains(&reg.name) {
                out.push(reg.name.clone());
            }
        }
        Ok(out)
    }
}

impl TagRegistry {
    /// Whether no tag is registered.
    pub fn is_empty(&self) -> bool {
        self.by_folded.is_empty()
    }

    /// [`TagRegistry::check`] for a write that replaces a record's tags: the names the record already carries
    /// (`kept`, compared folded) pass unchecked — in the registry's spelling when registered, as stored when not —
    /// so a tag written before the tenant had a registry (or before its scope changed) does not block editing
    /// the others. Every other name must be registered and allowed for `target`. Errors name `field[i]`, `i`
    /// being the position in `names`.
    pub fn check_keeping(
        &self,
        names: &[String],
        kept: &[String],
        target: TagTarget,
        field: &str,
    ) -> Result<Vec<TagName>, ValidationError> {
        TagName::parse_list(names, field)?;
        let kept: Vec<String> = kept.iter().map(|k| fold(k.trim())).collect();
        let mut out: Vec<TagName> = Vec::with_capacity(names.len());
        for (i, raw) in names.iter().enumerate() {
            let at = format!("{field}[{i}]");
            let n = TagName::parse(raw, &at)?;
            let name = if kept.contains(&fold(n.as_str())) {
                self.get(n.as_str()).map(|r| r.name.clone()).unwrap_or(n)
            } else {
                let mut one = self
                    .check(std::slice::from_ref(raw), target, field)
                    .map_err(|e| ValidationError { field: at.clone(), ..e })?;
                one.remove(0)
            };
            if !out.iter().any(|o| fold(o.as_str()) == fold(name.as_str())) {
                out.push(name);
            }
        }
        Ok(out)
    }
}

/// Why a new tag cannot be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NewTagError {
    /// The name is not a valid tag name (400 `validation_failed`).
    #[error(transparent)]
    Invalid(ValidationError),
    /// A registered tag already has this name, up to case and width (409 `conflict`).
    #[error("a tag named {} already exists", .0.as_str())]
    Exists(TagName),
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn reg(entries: &[(&str, TagScope)]) -> TagRegistry {
        TagRegistry::new(
            entries.iter().map(|(n, s)| RegisteredTag { name: TagName::parse(n, "name").unwrap(), scope: *s }),
        )
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn scopes_and_colours() {
        assert!(TagScope::Both.allows(TagTarget::Customer) && TagScope::Both.allows(TagTarget::Conversation));
        assert!(TagScope::Customer.allows(TagTarget::Customer) && !TagScope::Customer.allows(TagTarget::Conversation));
        assert!(!TagScope::Conversation.allows(TagTarget::Customer));
        for s in TagScope::ALL {
            assert_eq!(TagScope::parse(s.as_str(), "scope").unwrap(), s);
        }
        assert_eq!(TagScope::parse("all", "scope").unwrap_err().field, "scope");
        assert_eq!(TagColor::parse(" #1677FF ", "color").unwrap().as_str(), "#1677ff");
        for bad in ["1677ff", "#1677f", "#1677ffa", "#ggg000", "red", "#", "", "#１６７７ff"] {
            assert_eq!(TagColor::parse(bad, "color").unwrap_err().field, "color", "{bad:?}");
        }
        assert!(TagColor::parse(TagColor::DEFAULT, "color").is_ok());
        assert!(TagId::generate().as_str().starts_with("tg_"));
    }

    #[test]
    fn writing_tags_checks_the_registry_and_the_scope() {
        let r = reg(&[("vip", TagScope::Both), ("refund", TagScope::Conversation), ("wholesale", TagScope::Customer)]);
        let ok = r.check(&strings(&["VIP", "refund", " ｖｉｐ "]), TagTarget::Conversation, "tags").unwrap();
        assert_eq!(ok.iter().map(TagName::as_str).collect::<Vec<_>>(), ["vip", "refund"]);

        let e = r.check(&strings(&["vip", "vipp"]), TagTarget::Conversation, "tags").unwrap_err();
        assert_eq!(e.field, "tags[1]");
        assert!(e.message.contains("not a registered tag"), "{e}");

        let e = r.check(&strings(&["wholesale"]), TagTarget::Conversation, "tags").unwrap_err();
        assert_eq!(e.field, "tags[0]");
        assert_eq!(e.message, "wholesale is a customer tag; it cannot be put on a conversation");
        assert_eq!(r.check(&strings(&["refund"]), TagTarget::Customer, "tags").unwrap_err().field, "tags[0]");
        assert!(r.check(&strings(&["wholesale", "vip"]), TagTarget::Customer, "tags").is_ok());
        assert_eq!(r.check(&strings(&[""]), TagTarget::Customer, "tags").unwrap_err().field, "tags[0]");
        assert!(r.check(&[], TagTarget::Customer, "tags").unwrap().is_empty());
        assert!(TagRegistry::default().check(&strings(&["vip"]), TagTarget::Customer, "tags").is_err());
    }

    #[test]
    fn new_tags_must_not_fold_like_a_registered_one() {
        let r = reg(&[("VIP", TagScope::Both)]);
        assert_eq!(r.check_new("ｖｉｐ", "name"), Err(NewTagError::Exists(TagName::parse("VIP", "x").unwrap())));
        assert!(matches!(r.check_new("a#b", "name"), Err(NewTagError::Invalid(e)) if e.field == "name"));
        assert_eq!(r.check_new(" 售后 ", "name").unwrap().as_str(), "售后");
    }

    #[test]
    fn tags_a_record_already_has_are_kept_unchecked() {
        let r = reg(&[("vip", TagScope::Both), ("wholesale", TagScope::Customer)]);
        let kept = strings(&["legacy", "wholesale"]);
        let ok = r.check_keeping(&strings(&["Legacy", "VIP", "wholesale"]), &kept, TagTarget::Conversation, "tags");
        assert_eq!(ok.unwrap().iter().map(TagName::as_str).collect::<Vec<_>>(), ["Legacy", "vip", "wholesale"]);
        let e = r.check_keeping(&strings(&["legacy", "newone"]), &kept, TagTarget::Conversation, "tags").unwrap_err();
        assert_eq!(e.field, "tags[1]");
        assert!(e.message.contains("not a registered tag"), "{e}");
        let e = r.check_keeping(&strings(&["vip", "wholesale"]), &[], TagTarget::Conversation, "tags").unwrap_err();
        assert_eq!(e.field, "tags[1]");
        assert!(!r.is_empty() && TagRegistry::default().is_empty());
    }

    proptest! {
        #[test]
        fn checked_tags_are_registered_and_allowed(
            registry in prop::collection::vec(("[a-zA-Z]{1,4}", prop::sample::select(TagScope::ALL.to_vec())), 0..6),
            names in prop::collection::vec("[a-zA-Z]{1,4}", 0..6),
            to_customer in any::<bool>(),
        ) {
            let r = TagRegistry::new(registry.iter().map(|(n, s)| RegisteredTag { name: TagName::parse(n, "n").unwrap(), scope: *s }));
            let target = if to_customer { TagTarget::Customer } else { TagTarget::Conversation };
            let every_allowed = names.iter().all(|n| r.get(n).is_some_and(|t| t.scope.allows(target)));
            match r.check(&names, target, "tags") {
                Ok(out) => {
                    prop_assert!(every_allowed);
                    for t in &out {
                        let reg = r.get(t.as_str()).unwrap();
                        prop_assert_eq!(&reg.name, t, "written in the registry's spelling");
                    }
                }
                Err(e) => {
                    prop_assert!(!every_allowed);
                    prop_assert!(e.field.starts_with("tags["));
                }
            }
        }
    }
}
