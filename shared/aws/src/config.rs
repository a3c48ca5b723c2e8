//! Where the AWS adapters find their resources, and the one SDK configuration every client shares.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;

use crate::{ApiGatewayPush, DynamoTable, S3Blobs, SnsMailer, SnsTopic, SqsQueue};

/// Why the adapters could not be configured.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A required environment variable is unset or empty.
    #[error("environment variable {0} is not set")]
    Missing(&'static str),
}

/// The names of the resources the adapters use, as the template hands them to each function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsConfig {
    /// The DynamoDB table (`KEFU_TABLE`).
    pub table: String,
    /// The events topic (`KEFU_EVENTS_TOPIC_ARN`).
    pub events_topic_arn: String,
    /// The mail topic (`KEFU_MAIL_TOPIC_ARN`).
    pub mail_topic_arn: String,
    /// The bucket for archives and exports (`KEFU_EXPORT_BUCKET`).
    pub export_bucket: String,
    /// The WebSocket API's management endpoint (`KEFU_WS_ENDPOINT`), for functions that push.
    pub ws_endpoint: Option<String>,
    /// An endpoint overriding every service's (`AWS_ENDPOINT_URL`), for emulators such as moto.
    pub endpoint: Option<String>,
}

impl AwsConfig {
    /// Reads the resource names from the environment the template sets.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the resource names through `lookup` (the process environment, or the environment a template
    /// gives its functions, as tests do), so the variable names are read in one place only.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let required = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));
        Ok(Self {
            table: required("KEFU_TABLE")?,
            events_topic_arn: required("KEFU_EVENTS_TOPIC_ARN")?,
            mail_topic_arn: required("KEFU_MAIL_TOPIC_ARN")?,
            export_bucket: required("KEFU_EXPORT_BUCKET")?,
            ws_endpoint: var("KEFU_WS_ENDPOINT"),
            endpoint: var("AWS_ENDPOINT_URL"),
        })
    }
}

/// Every AWS adapter, built from one SDK configuration (loaded once per process, shared by all clients).
#[derive(Debug, Clone)]
pub struct AwsAdapters {
    /// The shared SDK configuration, for anything else the caller needs to build.
    pub sdk: SdkConfig,
    /// The table.
    pub table: Arc<DynamoTable>,
    /// The events topic.
    pub events: Arc<SnsTopic>,
    /// Email and SMS.
    pub mailer: Arc<SnsMailer>,
    /// The archive and export bucket.
    pub exports: Arc<S3Blobs>,
    /// WebSocket push, when `ws_endpoint` is configured.
    pub push: Option<Arc<ApiGatewayPush>>,
    sqs: aws_sdk_sqs::Client,
}

impl AwsAdapters {
    /// The adapters for the resources named in the environment, with credentials and region from the usual chain.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::load(AwsConfig::from_env()?).await)
    }

    /// The adapters for `config`, with credentials and region from the usual chain (`AWS_REGION`, the Lambda role…).
    pub async fn load(config: AwsConfig) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest());
        if let Some(ep) = &config.endpoint {
            loader = loader.endpoint_url(ep);
        }
        Self::with_sdk_config(loader.load().await, config)
    }

    /// The adapters for an emulator at `endpoint` (moto in tests): fixed dummy credentials, the given region.
    pub async fn for_emulator(config: AwsConfig, endpoint: &str, region: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "kefu-emulator"))
            .load()
            .await;
        Self::with_sdk_config(sdk, AwsConfig { endpoint: Some(endpoint.to_owned()), ..config })
    }

    /// The adapters over an SDK configuration the caller already loaded.
    pub fn with_sdk_config(sdk: SdkConfig, config: AwsConfig) -> Self {
        let emulated = config.endpoint.is_some() || sdk.endpoint_url().is_some();
        let dynamo = aws_sdk_dynamodb::Client::new(&sdk);
        let sns = aws_sdk_sns::Client::new(&sdk);
        let s3_config = aws_sdk_s3::config::Builder::from(&sdk).force_path_style(emulated).build();
        let s3 = aws_sdk_s3::Client::from_conf(s3_config);
        let push = config.ws_endpoint.as_deref().map(|ep| {
            let ep = management_endpoint(ep);
            let conf = aws_sdk_apigatewaymanagement::config::Builder::from(&sdk).endpoint_url(ep).build();
            Arc::new(ApiGatewayPush::new(aws_sdk_apigatewaymanagement::Client::from_conf(conf)))
        });
        Self {
            table: Arc::new(DynamoTable::new(dynamo, config.table)),
            events: Arc::new(SnsTopic::new(sns.clone(), config.events_topic_arn)),
            mailer: Arc::new(SnsMailer::new(sns, config.mail_topic_arn)),
            exports: Arc::new(S3Blobs::new(s3, config.export_bucket)),
            push,
            sqs: aws_sdk_sqs::Client::new(&sdk),
            sdk,
        }
    }

    /// The queue at `url` (queue URLs come from the template, or from an SQS event's source).
    pub fn queue(&self, url: impl Into<String>) -> SqsQueue {
        SqsQueue::new(self.sqs.clone(), url)
    }
}

/// The management API is called over HTTPS even when clients connect with `wss://`.
fn management_endpoint(ep: &str) -> String {
    match ep.strip_prefix("wss://") {
        Some(rest) => format!("https://{rest}"),
        None => match ep.strip_prefix("ws://") {
            Some(rest) => format!("http://{rest}"),
            None => ep.to_owned(),
        },
    }
}
