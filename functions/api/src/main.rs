//! `api` in Lambda: the admin and agent REST API behind API Gateway.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kefu_lambda::run_http(kefu_fn_api::router).await
}
