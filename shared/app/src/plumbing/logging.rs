//! Logs on stderr, filtered by `RUST_LOG`: structured JSON lines (CloudWatch reads them as fields) for
//! machines, readable lines for a person at a terminal. stdout stays free for what a person reads, such as
//! `kefu serve`'s address and sign-in lines.

use std::io::IsTerminal;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the request's span fields (Lambda, CI, log shippers).
    Json,
    /// Short readable lines, for a person watching `kefu serve` in a terminal.
    Text,
}

impl LogFormat {
    /// `KEFU_LOG_FORMAT` (`json` or `text`) when set, else text when stdout is a terminal and JSON otherwise.
    pub fn detect() -> Self {
        match std::env::var("KEFU_LOG_FORMAT").ok().as_deref().map(str::trim) {
            Some("json") => Self::Json,
            Some("text") => Self::Text,
            _ if std::io::stdout().is_terminal() => Self::Text,
            _ => Self::Json,
        }
    }
}

/// Installs the JSON subscriber once (`info` unless `RUST_LOG` says otherwise); later calls do nothing.
pub fn init() {
    init_with_default("info");
}

/// Installs the JSON subscriber with `default` as the filter when `RUST_LOG` is unset (`kefu loadtest` logs
/// only warnings by default, so its numbers are not the cost of thousands of request lines a second).
pub fn init_with_default(default: &str) {
    init_as(LogFormat::Json, default);
}

/// Installs the subscriber in `format` with `default` as the filter when `RUST_LOG` is unset.
pub fn init_as(format: LogFormat, default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().with_current_span(true).with_span_list(false).with_target(false).try_init(),
        LogFormat::Text => builder.compact().with_target(false).try_init(),
    };
}
