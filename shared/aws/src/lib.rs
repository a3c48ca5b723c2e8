//! The AWS adapters behind Kefu's ports: DynamoDB ([`DynamoTable`]), SQS ([`SqsQueue`]), SNS ([`SnsTopic`],
//! [`SnsMailer`]), S3 ([`S3Blobs`]) and the API Gateway management API ([`ApiGatewayPush`]).
//!
//! Each adapter is thin: the ports are shaped like the subset of the service Kefu uses, so an adapter mostly
//! translates types and maps errors. [`AwsAdapters`] loads one SDK configuration from the environment; each client
//! is built from it on its first call ([`LazyClient`]), over one shared HTTPS client ([`https_client`]). The same conformance suites that hold the embedded adapters run against these (on moto).

mod blob;
mod config;
mod error;
mod expr;
mod lazy;
mod mail;
mod mobile;
mod push;
mod queue;
#[cfg(feature = "ses")]
mod ses;
mod table;
mod topic;

pub use blob::S3Blobs;
pub use config::{AMAZON_TRUST_SERVICES, AwsAdapters, AwsConfig, ConfigError, LambdaEnvironment, Roots, https_client};
pub use lazy::LazyClient;
pub use mail::SnsMailer;
pub use mobile::SnsMobile;
pub use push::ApiGatewayPush;
pub use queue::SqsQueue;
#[cfg(feature = "ses")]
pub use ses::SesMailer;
pub use table::DynamoTable;
pub use topic::SnsTopic;
