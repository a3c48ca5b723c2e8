//! The `assign` consumer in Lambda: SQS batches from its queue, partial batch failures reported.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    kefu_lambda::run_sqs(std::sync::Arc::new(kefu_fn_assign::AssignConsumer)).await
}
