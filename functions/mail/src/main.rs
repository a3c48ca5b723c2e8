//! `mail` in Lambda: the mail topic's queue in batches, each message sent with SES from `KEFU_MAIL_FROM`.

use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kefu_app::plumbing::logging::init();
    let (app, aws) = kefu_lambda::aws_app(kefu_lambda::config_from_env(false)).await?;
    let from = std::env::var("KEFU_MAIL_FROM").map_err(|_| "KEFU_MAIL_FROM is not set")?;
    let mailer = kefu_aws::SesMailer::on(&aws, from);
    let (app, mailer) = (&app, &mailer);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        Ok::<_, Error>(kefu_fn_mail::handle(app, mailer, event.payload).await)
    }))
    .await
}
