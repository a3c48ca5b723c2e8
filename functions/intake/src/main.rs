//! `intake` in Lambda: the widget's HTTP routes behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kefu_lambda::run_http(kefu_fn_intake::router).await
}
