//! Structured JSON logs (CloudWatch reads them as fields), filtered by `RUST_LOG`.

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ =
        tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(true).with_span_list(false).with_target(false).try_init();
}
