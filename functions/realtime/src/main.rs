//! `realtime` in Lambda: WebSocket API events.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu_app::plumbing::logging::init();
    let (app, _) = kefu_lambda::aws_app(kefu_lambda::config_from_env(false)).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        let (route, ws) = kefu_fn_realtime::decode(&event.payload);
        let status = kefu_fn_realtime::handle(app, route, ws).await;
        let mut response = ApiGatewayProxyResponse::default();
        response.status_code = i64::from(status);
        Ok::<_, Error>(response)
    }))
    .await
}
