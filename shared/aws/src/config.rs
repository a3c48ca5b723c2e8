//! Where the AWS adapters find their resources, and the one SDK configuration every client shares.

use std::sync::Arc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_dynamodb::config::Credentials;
use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_http_client::{Builder, ConnectorBuilder, proxy::ProxyConfig};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::{ApiGatewayPush, DynamoTable, LazyClient, S3Blobs, SnsMailer, SnsMobile, SnsTopic, SqsQueue};

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
    /// The SNS platform application for Apple phones (`KEFU_APNS_APP_ARN`), if push to them is configured.
    pub apns_app_arn: Option<String>,
    /// The SNS platform application for Android phones (`KEFU_FCM_APP_ARN`), if push to them is configured.
    pub fcm_app_arn: Option<String>,
    /// The due queue (`KEFU_DUE_QUEUE_URL`): timers sent with a delay, for the functions that arm them.
    pub due_queue_url: Option<String>,
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
            apns_app_arn: var("KEFU_APNS_APP_ARN"),
            fcm_app_arn: var("KEFU_FCM_APP_ARN"),
            due_queue_url: var("KEFU_DUE_QUEUE_URL"),
        })
    }
}

/// Every AWS adapter, over one SDK configuration (loaded once per process, shared by all clients, each client
/// built on its first call).
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
    /// Mobile push.
    pub mobile: Arc<SnsMobile>,
    /// The archive and export bucket.
    pub exports: Arc<S3Blobs>,
    /// WebSocket push, when `ws_endpoint` is configured.
    pub push: Option<Arc<ApiGatewayPush>>,
    /// The due queue, when `due_queue_url` is configured.
    pub due: Option<Arc<SqsQueue>>,
    sqs: LazyClient<aws_sdk_sqs::Client>,
}

impl AwsAdapters {
    /// The adapters for the resources named in the environment, with credentials and region from the usual chain.
    pub async fn from_env() -> Result<Self, ConfigError> {
        Ok(Self::load(AwsConfig::from_env()?).await)
    }

    /// The adapters for `config`. In Lambda, region and credentials come straight from the environment Lambda
    /// sets ([`LambdaEnvironment`]); elsewhere from the usual chain (`AWS_REGION`, profiles, instance roles…).
    /// Every client shares one HTTPS client ([`https_client`]).
    pub async fn load(config: AwsConfig) -> Self {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client(if config.endpoint.is_some() { Roots::Native } else { Roots::Amazon }));
        if let Some(ep) = &config.endpoint {
            loader = loader.endpoint_url(ep);
        }
        if let Some(lambda) = LambdaEnvironment::from_lookup(|n| std::env::var(n).ok()) {
            loader = loader.region(Region::new(lambda.region)).credentials_provider(lambda.credentials);
        }
        Self::with_sdk_config(loader.load().await, config)
    }

    /// The adapters for an emulator at `endpoint` (moto in tests): fixed dummy credentials, the given region.
    pub async fn for_emulator(config: AwsConfig, endpoint: &str, region: &str) -> Self {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client(Roots::Native))
            .endpoint_url(endpoint)
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new("testing", "testing", None, None, "kefu-emulator"))
            .load()
            .await;
        Self::with_sdk_config(sdk, AwsConfig { endpoint: Some(endpoint.to_owned()), ..config })
    }

    /// The adapters over an SDK configuration the caller already loaded. No client is built here: each is built
    /// on its first call, so a function pays only for the services it uses.
    pub fn with_sdk_config(sdk: SdkConfig, config: AwsConfig) -> Self {
        let emulated = config.endpoint.is_some() || sdk.endpoint_url().is_some();
        let sns = LazyClient::new(&sdk, aws_sdk_sns::Client::new);
        let s3 = if emulated {
            LazyClient::new(&sdk, |sdk| {
                aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(sdk).force_path_style(true).build())
            })
        } else {
            LazyClient::new(&sdk, aws_sdk_s3::Client::new)
        };
        let push = config.ws_endpoint.as_deref().map(|ep| {
            // The endpoint is part of the client's configuration: build that configuration now (cheap), the
            // client on first use.
            let mut sdk = sdk.to_builder();
            sdk.set_endpoint_url(Some(management_endpoint(ep)));
            Arc::new(ApiGatewayPush::new(LazyClient::new(&sdk.build(), aws_sdk_apigatewaymanagement::Client::new)))
        });
        let sqs = LazyClient::new(&sdk, aws_sdk_sqs::Client::new);
        let due = config.due_queue_url.map(|url| Arc::new(SqsQueue::new(sqs.clone(), url)));
        Self {
            table: Arc::new(DynamoTable::new(LazyClient::new(&sdk, aws_sdk_dynamodb::Client::new), config.table)),
            events: Arc::new(SnsTopic::new(sns.clone(), config.events_topic_arn)),
            mobile: Arc::new(SnsMobile::new(sns.clone(), config.apns_app_arn, config.fcm_app_arn)),
            mailer: Arc::new(SnsMailer::new(sns, config.mail_topic_arn)),
            exports: Arc::new(S3Blobs::new(s3, config.export_bucket)),
            push,
            due,
            sqs,
            sdk,
        }
    }

    /// The queue at `url` (queue URLs come from the template, or from an SQS event's source).
    pub fn queue(&self, url: impl Into<String>) -> SqsQueue {
        SqsQueue::new(self.sqs.clone(), url)
    }
}

/// Which certificates an HTTPS client trusts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Roots {
    /// Amazon Trust Services' roots, embedded ([`AMAZON_TRUST_SERVICES`]): enough for every AWS endpoint.
    Amazon,
    /// The platform's store (an emulator or a proxy may present a certificate of another CA).
    Native,
}

/// Amazon Trust Services' root certificates (<https://www.amazontrust.com/repository/>): Amazon Root CA 1 to 4
/// and Starfield Services Root Certificate Authority - G2, which cross-signs them. Every AWS service endpoint
/// chains to one of them, so a Lambda need not read and parse the system's whole CA store at its cold start.
pub const AMAZON_TRUST_SERVICES: &str = include_str!("amazon-trust-services.pem");

/// The one HTTPS client every SDK client of a process shares (rustls on aws-lc, as the SDK's default client,
/// with the proxy settings from the environment). Without it each service client builds its own connector
/// and parses the trust store again; with [`Roots::Amazon`] that store is five certificates.
pub fn https_client(roots: Roots) -> SharedHttpClient {
    let trust = match roots {
        Roots::Amazon => TrustStore::empty().with_pem_certificate(AMAZON_TRUST_SERVICES.as_bytes()),
        Roots::Native => TrustStore::default(),
    };
    let context = TlsContext::builder().with_trust_store(trust).build().expect("a trust store is a valid TLS context");
    Builder::new().build_with_connector_fn(move |settings, components| {
        let mut conn = ConnectorBuilder::default()
            .tls_provider(tls::Provider::Rustls(tls::rustls_provider::CryptoMode::AwsLc))
            .tls_context(context.clone());
        conn.set_connector_settings(settings.cloned());
        if let Some(components) = components {
            conn.set_sleep_impl(components.sleep_impl());
        }
        conn.set_proxy_config(Some(ProxyConfig::from_env()));
        conn.build()
    })
}

/// The region and credentials Lambda hands a function in its environment (`AWS_LAMBDA_FUNCTION_NAME`,
/// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`): the SDK's default chains
/// would find the same, after looking at profile files and more.
#[derive(Debug, Clone)]
pub struct LambdaEnvironment {
    /// `AWS_REGION`.
    pub region: String,
    /// The execution role's credentials.
    pub credentials: Credentials,
}

impl LambdaEnvironment {
    /// Read through `lookup`; `None` outside Lambda or when any of the variables is missing (then the usual
    /// chains apply).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Option<Self> {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        var("AWS_LAMBDA_FUNCTION_NAME")?;
        Some(Self {
            region: var("AWS_REGION")?,
            credentials: Credentials::new(
                var("AWS_ACCESS_KEY_ID")?,
                var("AWS_SECRET_ACCESS_KEY")?,
                var("AWS_SESSION_TOKEN"),
                None,
                "lambda-environment",
            ),
        })
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

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_dynamodb::config::ProvideCredentials;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| vars.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[tokio::test]
    async fn lambda_hands_region_and_credentials_in_its_environment() {
        let vars = [
            ("AWS_LAMBDA_FUNCTION_NAME", "kefu-notify"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ];
        let env = LambdaEnvironment::from_lookup(lookup(&vars)).expect("a Lambda environment");
        assert_eq!(env.region, "eu-west-1");
        let c = env.credentials.provide_credentials().await.expect("static credentials");
        assert_eq!(
            (c.access_key_id(), c.secret_access_key(), c.session_token()),
            ("AKIDEXAMPLE", "secret", Some("token"))
        );
        // Outside Lambda, or with anything missing, the usual chains apply.
        assert!(LambdaEnvironment::from_lookup(lookup(&vars[1..])).is_none());
        let no_secret = [vars[0], vars[1], vars[2]];
        assert!(LambdaEnvironment::from_lookup(lookup(&no_secret)).is_none());
    }

    #[tokio::test]
    async fn the_adapters_build_no_client_up_front() {
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client(Roots::Amazon))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let config = AwsConfig {
            table: "t".into(),
            events_topic_arn: "arn:aws:sns:us-east-1:1:e".into(),
            mail_topic_arn: "arn:aws:sns:us-east-1:1:m".into(),
            export_bucket: "b".into(),
            ws_endpoint: Some("wss://abc.execute-api.us-east-1.amazonaws.com/prod".into()),
            endpoint: None,
            apns_app_arn: None,
            fcm_app_arn: None,
            due_queue_url: None,
        };
        let aws = AwsAdapters::with_sdk_config(sdk, config);
        let shown = format!("{:?} {:?} {:?} {:?} {:?}", aws.events, aws.mailer, aws.exports, aws.push, aws.sqs);
        assert_eq!(shown.matches("built: false").count(), 5, "{shown}");
        assert!(!shown.contains("built: true"), "{shown}");
    }

    #[test]
    fn the_embedded_roots_are_amazon_trust_services_five() {
        assert_eq!(AMAZON_TRUST_SERVICES.matches("-----BEGIN CERTIFICATE-----").count(), 5);
        assert_eq!(AMAZON_TRUST_SERVICES.matches("-----END CERTIFICATE-----").count(), 5);
    }

    /// The shared client with the embedded roots makes a call: the TLS context (which parses the roots and
    /// panics on a bad one) is built for the first connection, even to a plain-HTTP endpoint.
    #[tokio::test]
    async fn the_shared_client_with_embedded_roots_calls_out() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.expect("accept");
            let mut buf = vec![0u8; 16 * 1024];
            let _ = socket.read(&mut buf).await;
            let body = r#"{"TableNames":["kefu"]}"#;
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(answer.as_bytes()).await.expect("answer");
        });
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .http_client(https_client(Roots::Amazon))
            .endpoint_url(format!("http://{addr}"))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "test"))
            .load()
            .await;
        let out = aws_sdk_dynamodb::Client::new(&sdk).list_tables().send().await.expect("the call goes through");
        assert_eq!(out.table_names(), ["kefu".to_owned()]);
        server.await.expect("the server answered");
    }
}
