//! `timers` in Lambda: an EventBridge schedule every minute.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kefu_lambda::run_schedule(|app, at| async move {
        let report = kefu_fn_timers::tick(&app, at).await?;
        Ok(serde_json::to_value(report)?)
    })
    .await
}
