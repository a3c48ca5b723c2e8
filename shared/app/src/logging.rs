//! Structured JSON logs on stderr (CloudWatch reads them as fields; stdout stays free for what a person
//! reads, such as `kefu serve --demo`'s sign-in line), filtered by `RUST_LOG`.

/// Installs the JSON subscriber once; later calls do nothing.
pub fn init() {
    init_with_default("info");
}

/// Installs the JSON subscriber with `default` as the filter when `RUST_LOG` is unset (`kefu loadtest` logs
/// only warnings by default, so its numbers are not the cost of thousands of request lines a second).
pub fn init_with_default(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}
