//! Exports (`POST /v1/exports`): what may be exported, in which format, and how a CSV field is written.

use serde::{Deserialize, Serialize};

use crate::ValidationError;

/// What an export holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// Conversations with their messages (active in the range).
    Conversations,
    /// Customers (created in the range).
    Customers,
    /// The audit log (entries in the range).
    Audit,
    /// Tickets (created in the range), with their contact (masked like customers).
    Tickets,
}

impl ExportKind {
    /// The kind named `s` (`field` names it in the error).
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        match s {
            "conversations" => Ok(Self::Conversations),
            "customers" => Ok(Self::Customers),
            "audit" => Ok(Self::Audit),
            "tickets" => Ok(Self::Tickets),
            _ => Err(ValidationError::new(field, "must be conversations, customers, tickets or audit")),
        }
    }

    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Conversations => "conversations",
            Self::Customers => "customers",
            Self::Audit => "audit",
            Self::Tickets => "tickets",
        }
    }
}

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// Comma-separated values with a header line (RFC 4180).
    Csv,
    /// One JSON object per line.
    Jsonl,
}

impl ExportFormat {
    /// The format named `s`.
    pub fn parse(s: &str, field: &str) -> Result<Self, ValidationError> {
        match s {
            "csv" => Ok(Self::Csv),
            "jsonl" => Ok(Self::Jsonl),
            _ => Err(ValidationError::new(field, "must be csv or jsonl")),
        }
    }

    /// Its name in the API, also the file's extension.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Csv => "csv",
            Self::Jsonl => "jsonl",
        }
    }

    /// The object's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            Self::Csv => "text/csv; charset=utf-8",
            Self::Jsonl => "application/x-ndjson",
        }
    }
}

/// Where an export stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportStatus {
    /// Asked for; the `export` consumer has not started it.
    Queued,
    /// Being written (its `rows` grow).
    Running,
    /// Written: a link can be had.
    Done,
    /// Could not be written.
    Failed,
}

impl ExportStatus {
    /// Its name in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// One CSV field: quoted when it holds a comma, a quote or a line break (quotes doubled), and prefixed with `'`
/// when it starts like a spreadsheet formula (`=`, `+`, `-`, `@`, tab, carriage return), so opening an export
/// in a spreadsheet never runs what a visitor wrote.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// A CSV line of `fields` (with its line break).
pub fn csv_line<I: IntoIterator<Item = S>, S: AsRef<str>>(fields: I) -> String {
    let mut out = fields.into_iter().map(|f| csv_field(f.as_ref())).collect::<Vec<_>>().join(",");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_others_are_refused() {
        for k in [ExportKind::Conversations, ExportKind::Customers, ExportKind::Audit, ExportKind::Tickets] {
            assert_eq!(ExportKind::parse(k.as_str(), "kind").unwrap(), k);
        }
        assert_eq!(ExportKind::parse("ticket", "kind").unwrap_err().field, "kind");
        assert_eq!(ExportFormat::parse("jsonl", "format").unwrap(), ExportFormat::Jsonl);
        assert_eq!(ExportFormat::parse("xml", "format").unwrap_err().field, "format");
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("-1,2"), "\"'-1,2\"");
        assert_eq!(csv_field("你好"), "你好");
        assert_eq!(csv_line(["a", "b,c", ""]), "a,\"b,c\",\r\n");
    }
}
