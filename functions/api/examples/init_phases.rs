//! Where api's init goes, phase by phase, in a fresh process: the logger, the App on AWS adapters, the serving
//! router's routes and declarations (the first time, with its code cold, and again), and the finished router.
//! A cold Lambda pays each first time once. The probe (`scripts/probe-lambdas.sh`) measures the whole init;
//! this names its parts.
//!
//! ```sh
//! AWS_LAMBDA_FUNCTION_NAME=x AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x KEFU_TABLE=t \
//!   KEFU_EVENTS_TOPIC_ARN=arn:aws:sns:us-east-1:1:e KEFU_MAIL_TOPIC_ARN=arn:aws:sns:us-east-1:1:m \
//!   KEFU_EXPORT_BUCKET=b cargo run --release -p kefu-fn-api --example init_phases
//! ```
//!
//! Nothing is called over the network: the SDK's clients are built on their first call.
use std::time::Instant;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let ms = |since: Instant| since.elapsed().as_secs_f64() * 1000.0;
    let t = Instant::now();
    kefu_app::plumbing::logging::init();
    let logging = ms(t);
    let t = Instant::now();
    let (app, _) = kefu_lambda::aws_app(kefu_lambda::config_from_env(false)).await?;
    let aws_app = ms(t);
    let t = Instant::now();
    let cold = kefu_fn_api::served_access();
    let serving_cold = ms(t);
    let t = Instant::now();
    let warm = kefu_fn_api::served_access();
    let serving_warm = ms(t);
    let t = Instant::now();
    let router = kefu_fn_api::router(app);
    let router_ms = ms(t);
    println!(
        "logging {logging:.3} ms | App on AWS adapters {aws_app:.3} ms | routes and declarations {serving_cold:.3} ms \
         cold, {serving_warm:.3} ms warm | finished router {router_ms:.3} ms"
    );
    drop((cold, warm, router));
    Ok(())
}
