//! `retention` in Lambda: an EventBridge schedule once a day.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kefu_lambda::run_schedule(|app, at| async move { Ok(kefu_fn_retention::run(&app, at).await) }).await
}
