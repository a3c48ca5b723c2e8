//! Customers: the visitors a tenant knows. Their contact data, the id a tenant's own site gives them, and the
//! search terms that let `GET /v1/customers?q=` be a prefix query instead of a scan.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// The id a tenant's own site gives a visitor (its user id): 1..=128 printable characters. A returning
/// `external_id` maps to the same customer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExternalId(String);

impl ExternalId {
    /// Checks an external id sent as `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 128 {
            return Err(ValidationError::new(field, "must be 1 to 128 characters"));
        }
        if t.chars().any(|c| c.is_control() || c.is_whitespace()) {
            return Err(ValidationError::new(field, "must not contain spaces or control characters"));
        }
        Ok(Self(t.to_owned()))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number as a person writes it: 5..=32 characters of digits, spaces, `+`, `-`, `(`, `)` and `.`,
/// with at least 5 digits. Kept as written; [`Phone::digits`] is what search uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Phone(String);

impl Phone {
    /// Checks a phone number sent as `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let ok_chars = t.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'));
        let digits = t.chars().filter(char::is_ascii_digit).count();
        if !ok_chars || t.len() > 32 || digits < 5 {
            return Err(ValidationError::new(field, "is not a phone number"));
        }
        Ok(Self(t.to_owned()))
    }

    /// The number.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Only the digits, for search.
    pub fn digits(&self) -> String {
        self.0.chars().filter(char::is_ascii_digit).collect()
    }
}

/// What a search term was made from. Email and phone terms are personal data: only readers with
/// `customers.view_sensitive` may search by them, or a search could probe for an address it cannot see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SearchKind {
    /// A name, or one word of it.
    Name,
    /// An email address.
    Email,
    /// A phone number's digits.
    Phone,
}

impl SearchKind {
    /// The one-letter tag of the kind in a search term's key.
    pub fn tag(self) -> &'static str {
        match self {
            SearchKind::Name => "N",
            SearchKind::Email => "E",
            SearchKind::Phone => "P",
        }
    }
}

/// The longest search term stored (longer values are cut at a character boundary).
pub const SEARCH_TERM_MAX_CHARS: usize = 64;

fn normalise_name(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase().chars().take(SEARCH_TERM_MAX_CHARS).collect()
}

/// The search terms of a customer, each `{kind tag}:{term}`: the whole name, each later word of it (so "lei"
/// finds "Li Lei"), the email, and the phone's digits. Deduplicated, at most 8.
pub fn search_terms(name: Option<&str>, email: Option<&str>, phone: Option<&Phone>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |kind: SearchKind, term: String| {
        let t = format!("{}:{term}", kind.tag());
        if !term.is_empty() && !out.contains(&t) && out.len() < 8 {
            out.push(t);
        }
    };
    if let Some(n) = name {
        let full = normalise_name(n);
        for word in full.split(' ').skip(1).take(4) {
            push(SearchKind::Name, word.to_owned());
        }
        push(SearchKind::Name, full);
    }
    if let Some(e) = email {
        push(SearchKind::Email, e.trim().to_lowercase().chars().take(SEARCH_TERM_MAX_CHARS).collect());
    }
    if let Some(p) = phone {
        push(SearchKind::Phone, p.digits());
    }
    out
}

/// A search request `q`, classified: an `@` makes it an email prefix, phone characters with a digit a phone
/// prefix, anything else a name prefix. Answers the kind and the `{kind tag}:{prefix}` to query.
pub fn search_prefix(q: &str) -> Result<(SearchKind, String), ValidationError> {
    let t = q.trim();
    let n = t.chars().count();
    if n == 0 || n > 100 {
        return Err(ValidationError::new("q", "must be 1 to 100 characters"));
    }
    let phone_like = t.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '+' | '-' | '(' | ')' | '.'))
        && t.chars().any(|c| c.is_ascii_digit());
    let (kind, term) = if t.contains('@') {
        (SearchKind::Email, t.to_lowercase())
    } else if phone_like {
        (SearchKind::Phone, t.chars().filter(char::is_ascii_digit).collect())
    } else {
        (SearchKind::Name, normalise_name(t))
    };
    Ok((kind, format!("{}:{term}", kind.tag())))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Whatever a name, every prefix of it (and of each later word) that a person would type finds it.
        #[test]
        fn every_typed_prefix_of_a_name_finds_it(name in "[A-Za-z\u{4e00}-\u{4e20}][A-Za-z\u{4e00}-\u{4e20} ]{0,30}", cut in 1usize..40) {
            let terms = search_terms(Some(&name), None, None);
            let normal = name.split_whitespace().collect::<Vec<_>>().join(" ");
            let words: Vec<&str> = normal.split(' ').collect();
            for typed in std::iter::once(normal.as_str()).chain(words.iter().skip(1).take(4).copied()) {
                let prefix: String = typed.chars().take(cut).collect();
                let (kind, key) = search_prefix(&prefix).unwrap();
                prop_assert_eq!(kind, SearchKind::Name);
                prop_assert!(terms.iter().any(|t| t.starts_with(&key)), "{:?} does not find {:?} in {:?}", prefix, name, terms);
            }
        }

        /// A phone number is found by any leading run of its digits, however it is written.
        #[test]
        fn a_phone_is_found_by_its_leading_digits(digits in "[0-9]{5,15}", cut in 1usize..16) {
            let written: String = digits.chars().enumerate().flat_map(|(i, c)| if i == 3 { vec!['-', c] } else { vec![c] }).collect();
            let phone = Phone::parse(&written, "phone").unwrap();
            let terms = search_terms(None, None, Some(&phone));
            let typed: String = digits.chars().take(cut).collect();
            let (kind, key) = search_prefix(&typed).unwrap();
            prop_assert_eq!(kind, SearchKind::Phone);
            prop_assert!(terms.iter().any(|t| t.starts_with(&key)));
        }
    }

    #[test]
    fn external_ids_and_phones() {
        assert_eq!(ExternalId::parse(" user-42 ", "visitor.external_id").unwrap().as_str(), "user-42");
        assert!(ExternalId::parse("", "x").is_err());
        assert!(ExternalId::parse("a b", "x").is_err());
        assert!(ExternalId::parse(&"x".repeat(129), "x").is_err());
        let p = Phone::parse("+86 138-0013-8000", "phone").unwrap();
        assert_eq!(p.digits(), "8613800138000");
        assert!(Phone::parse("call me", "phone").is_err());
        assert!(Phone::parse("123", "phone").is_err());
    }

    #[test]
    fn terms_and_prefixes_agree() {
        let phone = Phone::parse("138 0013 8000", "phone").unwrap();
        let terms = search_terms(Some("  Li   Lei "), Some("Li.Lei@Example.com"), Some(&phone));
        assert_eq!(terms, ["N:lei", "N:li lei", "E:li.lei@example.com", "P:13800138000"]);
        for (q, kind) in [("li l", SearchKind::Name), ("LEI", SearchKind::Name), ("li.lei@ex", SearchKind::Email)] {
            let (k, prefix) = search_prefix(q).unwrap();
            assert_eq!(k, kind);
            assert!(terms.iter().any(|t| t.starts_with(&prefix)), "{q}");
        }
        let (k, prefix) = search_prefix("138-0013").unwrap();
        assert_eq!((k, prefix.as_str()), (SearchKind::Phone, "P:1380013"));
        assert!(terms.iter().any(|t| t.starts_with(&prefix)));
        assert!(search_prefix("  ").is_err());
    }
}
