//! Lambda wiring shared by every function's `main`: build the [`App`] on the AWS adapters from the
//! environment the template sets, then hand the handler to the runtime. Handlers themselves live in the
//! function crates and run unchanged in `kefu serve`.
//!
//! The HTTP runner (`run_http`, with the client-IP middleware) comes with the `http` feature, which only the
//! functions that serve HTTP enable: a queue or schedule consumer links neither axum nor utoipa.

use std::future::Future;
#[cfg(feature = "http")]
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use aws_lambda_events::event::sqs::{BatchItemFailure, SqsBatchResponse, SqsEvent};
#[cfg(feature = "http")]
use axum::Router;
#[cfg(feature = "http")]
use kefu_app::http::ClientIp;
use kefu_app::plumbing::consumer::{BatchItem, Consumer, process_batch};
use kefu_app::{App, AppParts, Config};
use kefu_aws::AwsAdapters;
use kefu_ports::{Push, PushError, QueueError, SystemClock};
#[cfg(feature = "http")]
use lambda_http::RequestExt;
use lambda_runtime::{Error, LambdaEvent, service_fn};

/// Push when no WebSocket endpoint is configured for this function: every push fails, visibly.
struct NoPush;

#[async_trait]
impl Push for NoPush {
    async fn send(&self, _connection_id: &str, _payload: &str) -> Result<(), PushError> {
        Err(PushError::Unavailable("KEFU_WS_ENDPOINT is not set for this function".into()))
    }

    async fn close(&self, _connection_id: &str) -> Result<(), PushError> {
        Err(PushError::Unavailable("KEFU_WS_ENDPOINT is not set for this function".into()))
    }
}

/// The due queue when `KEFU_DUE_QUEUE_URL` is not set for this function: every operation fails, visibly.
struct NoDueQueue;

#[async_trait]
impl kefu_ports::Queue for NoDueQueue {
    async fn send(&self, _body: &str) -> Result<String, QueueError> {
        Err(unset())
    }
    async fn send_delayed(&self, _body: &str, _delay: std::time::Duration) -> Result<String, QueueError> {
        Err(unset())
    }
    async fn send_batch(&self, _bodies: &[String]) -> Result<Vec<String>, QueueError> {
        Err(unset())
    }
    async fn receive(
        &self,
        _max: usize,
        _visibility: std::time::Duration,
        _wait: std::time::Duration,
    ) -> Result<Vec<kefu_ports::QueueMessage>, QueueError> {
        Err(unset())
    }
    async fn delete(&self, _receipt: &str) -> Result<(), QueueError> {
        Err(unset())
    }
    async fn delete_batch(&self, _receipts: &[String]) -> Result<Vec<Result<(), QueueError>>, QueueError> {
        Err(unset())
    }
    async fn change_visibility(&self, _receipt: &str, _visibility: std::time::Duration) -> Result<(), QueueError> {
        Err(unset())
    }
    async fn approximate_len(&self) -> Result<usize, QueueError> {
        Err(unset())
    }
}

fn unset() -> QueueError {
    QueueError::Unavailable("KEFU_DUE_QUEUE_URL is not set for this function".into())
}

/// Settings read from the environment: `KEFU_BOOTSTRAP_TOKEN`, `KEFU_WS_URL`.
pub fn config_from_env(local: bool) -> Config {
    let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
    Config {
        bootstrap_token: var("KEFU_BOOTSTRAP_TOKEN"),
        websocket_url: var("KEFU_WS_URL"),
        local,
        ..Config::default()
    }
}

/// The App on the AWS adapters, from the environment (resource names, optional emulator endpoint).
pub async fn aws_app(config: Config) -> Result<(App, AwsAdapters), Error> {
    let aws = AwsAdapters::from_env().await?;
    Ok((app_on(&aws, config), aws))
}

/// The App on adapters the caller already built.
pub fn app_on(aws: &AwsAdapters, config: Config) -> App {
    let push: Arc<dyn Push> = match &aws.push {
        Some(p) => p.clone(),
        None => Arc::new(NoPush),
    };
    App::from(AppParts {
        table: aws.table.clone(),
        topic: aws.events.clone(),
        blobs: aws.exports.clone(),
        push,
        mailer: aws.mailer.clone(),
        mobile: aws.mobile.clone(),
        clock: Arc::new(SystemClock),
        due: match &aws.due {
            Some(q) => q.clone(),
            None => Arc::new(NoDueQueue),
        },
        config: Arc::new(config),
        memo: Arc::default(),
        clearing: kefu_app::plumbing::clearing::Clearing::inline(),
    })
}

/// Serves an HTTP function's router from API Gateway, with the client IP taken from `sourceIp` (or, for a
/// request that came through the stack's own CloudFront distribution, the viewer's address it reports).
#[cfg(feature = "http")]
pub async fn run_http(build: fn(App) -> Router) -> Result<(), Error> {
    kefu_app::plumbing::logging::init();
    let (app, _) = aws_app(config_from_env(false)).await?;
    let router = build(app).layer(axum::middleware::from_fn(source_ip));
    lambda_http::run(router).await
}

/// The header the stack's CloudFront distribution adds to every request it forwards to the API, holding
/// `KEFU_CDN_SECRET` (infra/template.yaml), so the API knows the request came through it.
#[cfg(feature = "http")]
pub const CDN_SECRET_HEADER: &str = "x-kefu-cdn-secret";

#[cfg(feature = "http")]
async fn source_ip(mut req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    static CDN_SECRET: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    let secret = CDN_SECRET.get_or_init(|| std::env::var("KEFU_CDN_SECRET").ok().filter(|s| !s.is_empty()));
    let ip = match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone(),
        Some(lambda_http::request::RequestContext::WebSocket(ctx)) => ctx.identity.source_ip.clone(),
        _ => None,
    };
    let ip = ip.and_then(|s| s.parse::<IpAddr>().ok());
    if let Some(ip) = viewer_ip(req.headers(), secret.as_deref()).or(ip) {
        req.extensions_mut().insert(ClientIp(ip));
    }
    next.run(req).await
}

/// Through CloudFront, API Gateway's `sourceIp` is an edge server's. CloudFront reports the viewer's address
/// in `CloudFront-Viewer-Address` (`ip:port`; an IPv6 address unbracketed), which is trusted only when the
/// request also carries the distribution's secret header: anyone can send the header to the API directly.
#[cfg(feature = "http")]
pub fn viewer_ip(headers: &axum::http::HeaderMap, secret: Option<&str>) -> Option<IpAddr> {
    let secret = secret?;
    let sent = headers.get(CDN_SECRET_HEADER)?.as_bytes();
    // Length, then every byte: the comparison takes the same time wherever a guess goes wrong.
    if sent.len() != secret.len() || sent.iter().zip(secret.as_bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) != 0 {
        return None;
    }
    let value = headers.get("cloudfront-viewer-address")?.to_str().ok()?;
    let (ip, port) = value.trim().rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.trim_start_matches('[').trim_end_matches(']').parse().ok()
}

/// Handles one SQS batch: every record through the consumer, the failed ones reported as partial batch
/// failures so SQS retries only those (and dead-letters them after their receives run out).
pub async fn handle_sqs(app: &App, consumer: &dyn Consumer, event: SqsEvent) -> SqsBatchResponse {
    let items: Vec<BatchItem> = event
        .records
        .into_iter()
        .map(|r| BatchItem { message_id: r.message_id.unwrap_or_default(), body: r.body.unwrap_or_default() })
        .collect();
    batch_response(process_batch(app, consumer, items).await)
}

/// The answer to an SQS batch whose messages `failed` (their ids) must come back: partial batch failures.
pub fn batch_response(failed: impl IntoIterator<Item = String>) -> SqsBatchResponse {
    let mut response = SqsBatchResponse::default();
    response.batch_item_failures = failed
        .into_iter()
        .map(|id| {
            let mut f = BatchItemFailure::default();
            f.item_identifier = id;
            f
        })
        .collect();
    response
}

/// Runs a queue consumer on SQS batches, reporting partial batch failures.
pub async fn run_sqs(consumer: Arc<dyn Consumer>) -> Result<(), Error> {
    kefu_app::plumbing::logging::init();
    let (app, _) = aws_app(config_from_env(false)).await?;
    let app = &app;
    let consumer = &consumer;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(handle_sqs(app, consumer.as_ref(), event.payload).await)
    }))
    .await
}

/// Runs a scheduled function on EventBridge events.
pub async fn run_schedule<F, Fut>(handler: F) -> Result<(), Error>
where
    F: Fn(App, jiff::Timestamp) -> Fut,
    Fut: Future<Output = Result<serde_json::Value, Error>>,
{
    kefu_app::plumbing::logging::init();
    let (app, _) = aws_app(config_from_env(false)).await?;
    let app = &app;
    let handler = &handler;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<EventBridgeEvent<serde_json::Value>>| async move {
        let at = event
            .payload
            .time
            .map(|t| t.to_rfc3339())
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(jiff::Timestamp::now);
        tracing::info!(source = ?event.payload.source, detail_type = ?event.payload.detail_type, %at, "scheduled run");
        handler(app.clone(), at).await
    }))
    .await
}

#[cfg(all(test, feature = "http"))]
mod viewer_ip_tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::viewer_ip;

    fn headers(secret: &'static str, address: &'static str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-kefu-cdn-secret", HeaderValue::from_static(secret));
        h.insert("cloudfront-viewer-address", HeaderValue::from_static(address));
        h
    }

    #[test]
    fn the_viewer_address_counts_only_with_the_distributions_secret() {
        assert_eq!(viewer_ip(&headers("s3cret", "203.0.113.7:51234"), Some("s3cret")), "203.0.113.7".parse().ok());
        assert_eq!(
            viewer_ip(&headers("s3cret", "2001:db8::1:443"), Some("s3cret")),
            "2001:db8::1".parse().ok(),
            "IPv6 comes unbracketed, the port last"
        );
        assert_eq!(viewer_ip(&headers("guess", "203.0.113.7:1"), Some("s3cret")), None);
        assert_eq!(viewer_ip(&headers("s3cret", "203.0.113.7:1"), None), None, "no CDN configured");
        assert_eq!(viewer_ip(&headers("s3cret", "not an address"), Some("s3cret")), None);
        assert_eq!(viewer_ip(&HeaderMap::new(), Some("s3cret")), None);
    }
}
