//! The `due` consumer in Lambda: SQS batches from the due queue, partial batch failures reported.

use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu_app::plumbing::logging::init();
    let (app, _) = kefu_lambda::aws_app(kefu_lambda::config_from_env(false)).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<aws_lambda_events::event::sqs::SqsEvent>| async move {
        Ok::<_, Error>(kefu_fn_due::handle(app, event.payload).await)
    }))
    .await
}
