//! `realtime` in Lambda: WebSocket API events.

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu_app::logging::init();
    let (app, _) = kefu_lambda::aws_app(kefu_lambda::config_from_env(false)).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        let request = event.payload;
        let ctx = &request.request_context;
        let route = ctx.route_key.as_deref().and_then(kefu_fn_realtime::Route::parse);
        let ws = kefu_fn_realtime::WsEvent {
            connection_id: ctx.connection_id.as_deref().unwrap_or_default(),
            ticket: request.query_string_parameters.first("ticket"),
            body: request.body.as_deref(),
        };
        let status = kefu_fn_realtime::handle(app, route, ws).await;
        let mut response = ApiGatewayProxyResponse::default();
        response.status_code = i64::from(status);
        Ok::<_, Error>(response)
    }))
    .await
}
