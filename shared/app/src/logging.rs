//! Structured JSON logs on stderr (CloudWatch reads them as fields; stdout stays free for what a person
//! reads, such as `kefu serve --demo`'s sign-in line), filtered by `RUST_LOG`.

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
