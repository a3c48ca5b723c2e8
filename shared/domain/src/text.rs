//! Validated text values: email addresses, names, passwords, time zone names.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// An email address, trimmed and lower-cased so it can be a lookup key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` of at most 254 characters, without spaces or control characters.
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        let e = s.trim().to_lowercase();
        let bad = |m: &str| Err(ValidationError::new("email", m));
        if e.is_empty() || e.len() > 254 {
            return bad("must be 1 to 254 characters");
        }
        let Some((local, domain)) = e.split_once('@') else { return bad("must contain @") };
        if local.is_empty() || local.len() > 64 || domain.contains('@') {
            return bad("is not an email address");
        }
        let labels: Vec<&str> = domain.split('.').collect();
        if labels.len() < 2 || labels.iter().any(|l| l.is_empty() || l.starts_with('-') || l.ends_with('-')) {
            return bad("needs a domain like example.com");
        }
        if e.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';')) {
            return bad("contains characters an address cannot have");
        }
        Ok(Self(e))
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A display name: 1..=100 characters after trimming, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    /// Parses a name for `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let t = s.trim();
        let n = t.chars().count();
        if n == 0 || n > 100 {
            return Err(ValidationError::new(field, "must be 1 to 100 characters"));
        }
        if t.chars().any(char::is_control) {
            return Err(ValidationError::new(field, "must not contain control characters"));
        }
        if let Some(c) = t.chars().find(|c| is_invisible_format(*c)) {
            return Err(ValidationError::new(
                field,
                format!(
                    "must not contain invisible or direction-changing characters (U+{:04X}): they make one name look like another",
                    u32::from(c)
                ),
            ));
        }
        Ok(Self(t.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form two names are compared in when they must not be confused: NFKC (full-width `Ａdmin` and
    /// ligatures read as their plain letters), lower-cased, then NFKC again (lower-casing can leave a
    /// non-normalised sequence). So "Ａｄｍｉｎ" and "ADMIN" both fold to "admin".
    pub fn folded(&self) -> String {
        fold(&self.0)
    }
}

/// The comparison form of [`Name::folded`], for text that is not (yet) a `Name`.
pub fn fold(s: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let step = |t: &str| -> String { t.nfkc().collect::<String>().to_lowercase().nfkc().collect() };
    let mut folded = step(s);
    // A few characters need a second round (their lower case normalises further); a fixed point is
    // reached within a couple of rounds, bounded here all the same.
    for _ in 0..3 {
        let next = step(&folded);
        if next == folded {
            break;
        }
        folded = next;
    }
    folded
}

/// Characters that show nothing, or change the direction of the text around them: bidirectional embeddings,
/// overrides, isolates and marks, zero-width spaces and joiners, the soft hyphen, and blank fillers. In a name
/// they only serve to make it look like another one (`admin` + U+200B, or a right-to-left override that
/// reverses what follows), so names refuse them.
pub fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'                      // soft hyphen
        | '\u{034F}'                    // combining grapheme joiner
        | '\u{061C}'                    // Arabic letter mark
        | '\u{115F}' | '\u{1160}'        // Hangul fillers
        | '\u{180E}'                    // Mongolian vowel separator
        | '\u{200B}'..='\u{200F}'       // zero-width space, non-joiner, joiner; LRM, RLM
        | '\u{202A}'..='\u{202E}'       // bidirectional embeddings and overrides
        | '\u{2060}'..='\u{2064}'       // word joiner, invisible operators
        | '\u{2066}'..='\u{2069}'       // bidirectional isolates
        | '\u{3164}'                    // Hangul filler
        | '\u{FEFF}'                    // zero-width no-break space (BOM)
        | '\u{FFA0}'                    // half-width Hangul filler
    )
}

/// The longest password accepted: long enough for passphrases, short enough to bound hashing work.
pub const PASSWORD_MAX_CHARS: usize = 1024;
/// The default shortest password (NIST SP 800-63B / OWASP ASVS: at least 12 without composition rules).
pub const PASSWORD_MIN_CHARS: usize = 12;

/// A new password that passed the policy. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Password {
    /// Checks a new password: `min_chars..=1024` characters, not the account's email or the tenant's name,
    /// not on the bundled list of common passwords. No composition rules (ASVS 5 V6.2).
    pub fn parse(s: &str, min_chars: usize, email: &str, tenant_name: &str) -> Result<Self, ValidationError> {
        let n = s.chars().count();
        if n < min_chars {
            return Err(ValidationError::new("password", format!("must be at least {min_chars} characters")));
        }
        if n > PASSWORD_MAX_CHARS {
            return Err(ValidationError::new("password", format!("must be at most {PASSWORD_MAX_CHARS} characters")));
        }
        let lower = s.trim().to_lowercase();
        let local = email.split('@').next().unwrap_or_default().to_lowercase();
        if lower == email.to_lowercase()
            || (!local.is_empty() && lower == local)
            || lower == tenant_name.trim().to_lowercase()
        {
            return Err(ValidationError::new("password", "must not be your email or the company's name"));
        }
        if crate::security::is_common_password(s) {
            return Err(ValidationError::new("password", "is too common: it is on a list of leaked passwords"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The secret, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// An IANA time zone name such as `Asia/Shanghai`, checked against the bundled database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZoneName(String);

impl TimeZoneName {
    /// Accepts a zone jiff knows.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        if s.len() > 64 || jiff::tz::TimeZone::get(s).is_err() {
            return Err(ValidationError::new(field, "is not a known IANA time zone"));
        }
        Ok(Self(s.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for TimeZoneName {
    fn default() -> Self {
        Self("UTC".to_owned())
    }
}

/// Checks free text sent as `field`: trimmed, `min..=max` characters (Unicode scalar values) after trimming,
/// and no control characters, except line breaks and tabs when `multiline`. The one rule behind titles,
/// descriptions, reasons and comments, so each states only its bounds. Answers the trimmed text.
pub fn bounded_text(s: &str, field: &str, min: usize, max: usize, multiline: bool) -> Result<String, ValidationError> {
    let t = s.trim();
    let n = t.chars().count();
    if n < min || n > max {
        let m = if min == 0 {
            format!("must be at most {max} characters")
        } else {
            format!("must be {min} to {max} characters")
        };
        return Err(ValidationError::new(field, m));
    }
    if t.chars().any(|c| c.is_control() && !(multiline && matches!(c, '\n' | '\r' | '\t'))) {
        let m = if multiline {
            "must not contain control characters other than line breaks and tabs"
        } else {
            "must not contain control characters or line breaks"
        };
        return Err(ValidationError::new(field, m));
    }
    Ok(t.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails() {
        assert_eq!(Email::parse("  Li.Lei@Example.COM ").unwrap().as_str(), "li.lei@example.com");
        for bad in ["", "a", "a@b", "@b.com", "a@@b.com", "a b@c.com", "a@.com", "a@b..com", "a@-b.com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords() {
        assert!(Password::parse("correct horse battery", 12, "li@example.com", "Acme").is_ok());
        assert!(Password::parse("short", 12, "li@example.com", "Acme").is_err());
        assert!(Password::parse("li@example.com", 12, "li@example.com", "Acme").is_err());
        assert!(Password::parse("Acme Trading Co", 12, "li@example.com", "acme trading co").is_err());
        assert!(Password::parse(&"x".repeat(1025), 12, "li@example.com", "Acme").is_err());
        assert!(Password::parse(&"xy".repeat(64), 128, "li@example.com", "Acme").is_ok(), "128 characters are fine");
        assert_eq!(Password::parse("Password2024!", 12, "li@example.com", "Acme").unwrap_err().field, "password");
        assert!(Password::parse("qwertyuiop123", 12, "li@example.com", "Acme").is_err());
        assert!(Password::parse("密码很长很长很长很长很长很长", 12, "li@example.com", "Acme").is_ok());
        assert_eq!(format!("{:?}", Password::parse("correct horse battery", 12, "", "").unwrap()), "Password(***)");
    }

    #[test]
    fn names_refuse_invisible_and_direction_characters_and_fold_look_alikes() {
        assert_eq!(Name::parse("  Li Lei ", "name").unwrap().as_str(), "Li Lei");
        assert!(Name::parse("李雷", "name").is_ok());
        for bad in
            ["admin\u{200B}", "\u{202E}nimda", "ad\u{200D}min", "\u{2066}x\u{2069}", "\u{FEFF}admin", "a\u{00AD}b"]
        {
            let e = Name::parse(bad, "role.name").unwrap_err();
            assert_eq!(e.field, "role.name", "{bad:?}");
            assert!(e.message.contains("invisible"), "{e}");
        }
        let fold = |s: &str| Name::parse(s, "name").unwrap().folded();
        assert_eq!(fold("Ａｄｍｉｎ"), "admin");
        assert_eq!(fold("ＡＤＭＩＮ"), fold("admin"));
        assert_eq!(fold("Supervisor"), "supervisor");
        assert_ne!(fold("admin2"), fold("admin"));
    }

    #[test]
    fn bounded_texts_are_trimmed_and_refuse_controls() {
        assert_eq!(bounded_text("  退款  ", "title", 1, 5, false).unwrap(), "退款");
        assert_eq!(bounded_text("   ", "title", 1, 5, false).unwrap_err().field, "title");
        assert_eq!(bounded_text("", "description", 0, 5, true).unwrap(), "");
        assert!(bounded_text("123456", "title", 1, 5, false).is_err());
        assert!(bounded_text("a\nb", "title", 1, 5, false).is_err());
        assert_eq!(bounded_text("a\nb\tc", "description", 0, 5, true).unwrap(), "a\nb\tc");
        assert!(bounded_text("a\u{7}b", "description", 0, 5, true).is_err());
    }

    #[test]
    fn zones() {
        assert!(TimeZoneName::parse("Asia/Shanghai", "timezone").is_ok());
        assert!(TimeZoneName::parse("Mars/Olympus", "timezone").is_err());
    }

    proptest! {
        #[test]
        fn a_parsed_name_never_holds_an_invisible_character(s in "\\PC{0,20}", c in prop::sample::select(vec!['\u{200B}', '\u{200C}', '\u{200D}', '\u{202E}', '\u{2067}', '\u{FEFF}', '\u{061C}']), at in 0usize..20) {
            let mut chars: Vec<char> = s.chars().collect();
            chars.insert(at.min(chars.len()), c);
            let with: String = chars.into_iter().collect();
            prop_assert!(Name::parse(&with, "name").is_err());
            if let Ok(n) = Name::parse(&s, "name") {
                prop_assert!(!n.as_str().chars().any(is_invisible_format));
                prop_assert_eq!(fold(&n.folded()), n.folded(), "folding is idempotent");
            }
        }

        #[test]
        fn parsed_emails_are_stable(s in "\\PC{0,40}") {
            if let Ok(e) = Email::parse(&s) {
                prop_assert_eq!(Email::parse(e.as_str()).unwrap(), e.clone());
                prop_assert!(!e.as_str().chars().any(char::is_whitespace));
            }
        }
    }
}
