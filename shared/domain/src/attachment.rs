//! Attachments' rules, without I/O: what a file's name and declared type may be, whether a tenant's settings
//! accept the type, and whether the bytes uploaded are what the type says (their signature, "magic numbers").

use serde::{Deserialize, Serialize};

use crate::AttachmentId;
use crate::error::ValidationError;

/// What a message keeps of each file attached to it (and what its events and exports carry): never the bytes
/// or where they are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentMeta {
    /// The attachment.
    pub id: AttachmentId,
    /// The file's name, as uploaded.
    pub name: String,
    /// Its MIME type, checked against its bytes.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
}

/// The longest file name kept.
pub const NAME_MAX_CHARS: usize = 200;

/// The most attachments one message carries.
pub const MAX_PER_MESSAGE: usize = 10;

/// Checks a file name as sent in `field`: 1..=200 characters, no control characters, no path separators (it is
/// shown and offered as the download's name, never used as a path).
pub fn parse_name(s: &str, field: &str) -> Result<String, ValidationError> {
    let name = s.trim();
    if name.is_empty() {
        return Err(ValidationError::new(field, "must not be empty"));
    }
    if name.chars().count() > NAME_MAX_CHARS {
        return Err(ValidationError::new(field, format!("must be at most {NAME_MAX_CHARS} characters")));
    }
    if name.chars().any(|c| c.is_control() || matches!(c, '/' | '\\' | '"')) {
        return Err(ValidationError::new(field, "must not contain control characters, slashes or quotes"));
    }
    Ok(name.to_owned())
}

/// Whether `content_type` (lower case, `type/subtype`) is one of `accepted` (`type/subtype` or `type/*`).
pub fn type_accepted(accepted: &[String], content_type: &str) -> bool {
    accepted.iter().any(|a| match a.strip_suffix("/*") {
        Some(major) => content_type.split_once('/').is_some_and(|(m, _)| m == major),
        None => a == content_type,
    })
}

/// Whether the bytes are what `content_type` says: PNG, JPEG, GIF, WebP and PDF by their leading signature,
/// `text/plain` as valid UTF-8; any other type the tenant accepts has no signature to check. A file too short
/// to hold its signature does not match.
pub fn bytes_match(content_type: &str, bytes: &[u8]) -> bool {
    match content_type {
        "image/png" => bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
        "image/jpeg" => bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
        "image/gif" => bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a"),
        "image/webp" => bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP",
        "application/pdf" => bytes.starts_with(b"%PDF-"),
        "text/plain" => std::str::from_utf8(bytes).is_ok(),
        _ => true,
    }
}

/// Whether a type is shown inline as a picture (the clients' choice, and the local download's disposition).
pub fn is_image(content_type: &str) -> bool {
    matches!(content_type, "image/png" | "image/jpeg" | "image/gif" | "image/webp")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_kept_trimmed_and_refused_when_they_could_mislead() {
        assert_eq!(parse_name("  shot.png ", "name").unwrap(), "shot.png");
        assert_eq!(parse_name("发票 2026.pdf", "name").unwrap(), "发票 2026.pdf");
        for bad in ["", "  ", "a/b.png", "..\\x", "a\"b", "a\nb"] {
            assert_eq!(parse_name(bad, "name").unwrap_err().field, "name", "{bad:?}");
        }
        assert!(parse_name(&"x".repeat(NAME_MAX_CHARS), "name").is_ok());
        assert!(parse_name(&"x".repeat(NAME_MAX_CHARS + 1), "name").is_err());
    }

    #[test]
    fn types_match_exactly_or_by_their_major_part() {
        let accepted = vec!["image/*".to_owned(), "application/pdf".to_owned()];
        assert!(type_accepted(&accepted, "image/png"));
        assert!(type_accepted(&accepted, "application/pdf"));
        assert!(!type_accepted(&accepted, "application/zip"));
        assert!(!type_accepted(&accepted, "imagex/png"));
        assert!(!type_accepted(&[], "image/png"));
    }

    #[test]
    fn bytes_must_carry_the_declared_types_signature() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert!(bytes_match("image/png", png));
        assert!(!bytes_match("image/jpeg", png));
        assert!(bytes_match("image/jpeg", &[0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10]));
        assert!(bytes_match("image/gif", b"GIF89a\x01\0"));
        assert!(!bytes_match("image/gif", b"GIF90a"));
        assert!(bytes_match("image/webp", b"RIFF\x24\0\0\0WEBPVP8 "));
        assert!(!bytes_match("image/webp", b"RIFF\x24\0\0\0WAVEfmt "));
        assert!(!bytes_match("image/webp", b"RIFF"));
        assert!(bytes_match("application/pdf", b"%PDF-1.7\n"));
        assert!(!bytes_match("application/pdf", b"<html>"));
        assert!(bytes_match("text/plain", "你好\n".as_bytes()));
        assert!(!bytes_match("text/plain", &[0xC3, 0x28]));
        assert!(!bytes_match("image/png", b""));
        assert!(bytes_match("application/zip", b"PK\x03\x04"));
    }
}
