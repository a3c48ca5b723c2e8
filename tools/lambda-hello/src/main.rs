//! The baseline: the smallest Rust Lambda, built with the same profile and runtime as Kefu's functions, so
//! their start-up, peak memory and size can be read against it (`kefu probe-lambda`).

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(|event: LambdaEvent<Value>| async move { Ok::<_, Error>(event.payload) })).await
}
