//! The widget's rules that need no store: which web origins a tenant lets embed its widget (CORS), the
//! widget's colour, attachment content types, and what a pre-chat form accepts from a visitor.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// A web origin, `scheme://host[:port]` (RFC 6454), as a browser sends it in the `Origin` header: `http` or
/// `https`, a host name, IPv4 address or bracketed IPv6 address, and an optional port; no path, query,
/// fragment or user. Kept lower-cased, without a default port (`:443` for https, `:80` for http), so two
/// spellings of one origin compare equal.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Origin(String);

impl Origin {
    /// Parses an origin given as `field`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        let bad = |m: &str| ValidationError::new(field, m);
        let lower = s.trim().to_ascii_lowercase();
        let (scheme, rest) =
            lower.split_once("://").ok_or_else(|| bad("must be scheme://host[:port], e.g. https://shop.example"))?;
        if scheme != "http" && scheme != "https" {
            return Err(bad("the scheme must be http or https"));
        }
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', '\\']) {
            return Err(bad("must be scheme://host[:port] with no path, query or user (no trailing slash)"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (inner, after) = v6.split_once(']').ok_or_else(|| bad("has an unclosed IPv6 address"))?;
            if inner.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(bad("has an invalid IPv6 address"));
            }
            let port = match after {
                "" => None,
                p => Some(p.strip_prefix(':').ok_or_else(|| bad("has text after the IPv6 address"))?),
            };
            (format!("[{inner}]"), port)
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h.to_owned(), Some(p)),
                None => (rest.to_owned(), None),
            }
        };
        if !host.starts_with('[') && !is_host_name(&host) {
            return Err(bad("has an invalid host name"));
        }
        let port = match port {
            None => None,
            Some(p) => {
                let n: u16 = p
                    .parse()
                    .ok()
                    .filter(|n| *n > 0 && p.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| bad("has an invalid port"))?;
                let default = if scheme == "https" { 443 } else { 80 };
                (n != default).then_some(n)
            }
        };
        Ok(Self(match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        }))
    }

    /// The origin, normalised.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `host[:port]` part (what a `Host` header names).
    pub fn authority(&self) -> &str {
        self.0.split_once("://").map_or("", |(_, a)| a)
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Letters, digits, `-` and `.` in labels of 1..=63 characters, at most 253 in all (IPv4 addresses pass too).
fn is_host_name(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 253
        && h.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Whether a request from `origin` may use a widget whose tenant allows `allowed` (an empty list allows
/// every origin). `origin` is the raw `Origin` header; one that does not parse (e.g. `null`, from a sandboxed
/// frame or a file) is allowed only by an empty list.
pub fn origin_allowed(allowed: &[Origin], origin: &str) -> bool {
    allowed.is_empty() || Origin::parse(origin, "origin").is_ok_and(|o| allowed.contains(&o))
}

/// A CSS hex colour, `#rgb` or `#rrggbb`, kept lower-cased.
pub fn parse_color(s: &str, field: &str) -> Result<String, ValidationError> {
    let t = s.trim();
    match t.strip_prefix('#') {
        Some(hex) if matches!(hex.len(), 3 | 6) && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(t.to_ascii_lowercase())
        }
        _ => Err(ValidationError::new(field, "must be a hex colour like #1a73e8")),
    }
}

/// A MIME type a widget may upload, `type/subtype` or `type/*` (e.g. `image/png`, `image/*`), lower-cased.
pub fn parse_content_type(s: &str, field: &str) -> Result<String, ValidationError> {
    let t = s.trim().to_ascii_lowercase();
    let token = |p: &str| {
        !p.is_empty() && p.len() <= 64 && p.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match t.split_once('/') {
        Some((ty, sub)) if token(ty) && (sub == "*" || token(sub)) => Ok(t),
        _ => Err(ValidationError::new(field, "must be a MIME type like image/png or image/*")),
    }
}

/// The kinds of pre-chat form fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldKind {
    /// Free text, up to [`ANSWER_MAX_CHARS`].
    Text,
    /// An email address.
    Email,
    /// A phone number.
    Phone,
    /// One of the field's options.
    Select,
}

/// The longest text answer a pre-chat field takes.
pub const ANSWER_MAX_CHARS: usize = 500;

/// Checks a visitor's answer to one pre-chat field (`field` is its path, e.g. `pre_chat.email`) and answers it
/// normalised (an email lower-cased, text trimmed). `None`: the field was left empty.
pub fn check_answer(
    kind: FieldKind,
    options: &[String],
    value: &str,
    field: &str,
) -> Result<Option<String>, ValidationError> {
    let v = value.trim();
    if v.is_empty() {
        return Ok(None);
    }
    match kind {
        FieldKind::Text => {
            if v.chars().count() > ANSWER_MAX_CHARS || v.chars().any(|c| c.is_control() && c != '\n') {
                return Err(ValidationError::new(
                    field,
                    format!("must be at most {ANSWER_MAX_CHARS} characters of text"),
                ));
            }
            Ok(Some(v.to_owned()))
        }
        FieldKind::Email => {
            let e = crate::Email::parse(v).map_err(|e| ValidationError::new(field, e.message))?;
            Ok(Some(e.as_str().to_owned()))
        }
        FieldKind::Phone => Ok(Some(crate::Phone::parse(v, field)?.as_str().to_owned())),
        FieldKind::Select => {
            if options.iter().any(|o| o == v) {
                Ok(Some(v.to_owned()))
            } else {
                Err(ValidationError::new(field, "must be one of the field's options"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_scheme_host_and_port_only() {
        let ok = |s: &str| Origin::parse(s, "o").map(|o| o.to_string());
        assert_eq!(ok("https://Shop.Example").unwrap(), "https://shop.example");
        assert_eq!(ok("https://shop.example:443").unwrap(), "https://shop.example");
        assert_eq!(ok("http://localhost:5173").unwrap(), "http://localhost:5173");
        assert_eq!(ok("http://127.0.0.1:80").unwrap(), "http://127.0.0.1");
        assert_eq!(ok("http://[::1]:8080").unwrap(), "http://[::1]:8080");
        for bad in [
            "shop.example",
            "ftp://shop.example",
            "https://shop.example/",
            "https://shop.example/path",
            "https://user@shop.example",
            "https://shop.example:0",
            "https://shop.example:99999",
            "https://shop.example:+1",
            "https://-shop.example",
            "https://",
            "https://[::1",
            "null",
        ] {
            assert_eq!(Origin::parse(bad, "allowed_origins[0]").unwrap_err().field, "allowed_origins[0]", "{bad}");
        }
        assert_eq!(Origin::parse("http://[::1]:8080", "o").unwrap().authority(), "[::1]:8080");
    }

    #[test]
    fn an_empty_list_allows_every_origin_and_a_list_only_its_own() {
        let list = vec![Origin::parse("https://shop.example", "o").unwrap()];
        assert!(origin_allowed(&[], "https://anything.example"));
        assert!(origin_allowed(&[], "null"));
        assert!(origin_allowed(&list, "https://shop.example"));
        assert!(origin_allowed(&list, "https://SHOP.example:443"));
        assert!(!origin_allowed(&list, "http://shop.example"));
        assert!(!origin_allowed(&list, "https://evil.example"));
        assert!(!origin_allowed(&list, "https://shop.example.evil.example"));
        assert!(!origin_allowed(&list, "null"));
    }

    #[test]
    fn colours_and_content_types() {
        assert_eq!(parse_color("#1A73E8", "color").unwrap(), "#1a73e8");
        assert_eq!(parse_color("#fff", "color").unwrap(), "#fff");
        for bad in ["1a73e8", "#12345", "#ggg", "red", ""] {
            assert!(parse_color(bad, "color").is_err(), "{bad}");
        }
        assert_eq!(parse_content_type("Image/PNG", "c").unwrap(), "image/png");
        assert_eq!(parse_content_type("image/*", "c").unwrap(), "image/*");
        for bad in ["image", "*/*", "image/png; q=1", "/png"] {
            assert!(parse_content_type(bad, "c").is_err(), "{bad}");
        }
    }

    #[test]
    fn answers_are_checked_by_kind() {
        let opts = vec!["Sales".to_owned(), "Support".to_owned()];
        assert_eq!(check_answer(FieldKind::Text, &[], "  hi ", "pre_chat.x").unwrap().as_deref(), Some("hi"));
        assert_eq!(check_answer(FieldKind::Text, &[], "   ", "pre_chat.x").unwrap(), None);
        assert_eq!(
            check_answer(FieldKind::Email, &[], "Li@Shop.Example", "pre_chat.email").unwrap().as_deref(),
            Some("li@shop.example")
        );
        assert_eq!(check_answer(FieldKind::Email, &[], "nope", "pre_chat.email").unwrap_err().field, "pre_chat.email");
        assert_eq!(check_answer(FieldKind::Phone, &[], "abc", "pre_chat.tel").unwrap_err().field, "pre_chat.tel");
        assert!(check_answer(FieldKind::Phone, &[], "+86 138 0000 5678", "p").is_ok());
        assert!(check_answer(FieldKind::Select, &opts, "Sales", "p").is_ok());
        assert_eq!(
            check_answer(FieldKind::Select, &opts, "sales", "pre_chat.topic").unwrap_err().field,
            "pre_chat.topic"
        );
        assert!(check_answer(FieldKind::Text, &[], &"x".repeat(ANSWER_MAX_CHARS + 1), "p").is_err());
    }
}
