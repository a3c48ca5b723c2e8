//! The SES mailer against moto, with the resources of `infra/template.yaml`: a verified sender sends, an
//! unverified one is a failure to retry (the message stays queued), a malformed recipient is refused for good.

use kefu_aws::{AwsAdapters, AwsConfig, SesMailer};
use kefu_ports::{MailError, Mailer};
use kefu_testkit::MotoStack;

#[tokio::test]
async fn ses_sends_from_a_verified_sender_only() {
    let Some(endpoint) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(move || MotoStack::create_at(&endpoint, "mail-ses")).await.expect("stack");
    let config = AwsConfig::from_lookup(|name| stack.environment.get(name).cloned()).expect("template environment");
    let adapters = AwsAdapters::for_emulator(config, &stack.endpoint, &stack.region).await;
    let ses = aws_sdk_sesv2::Client::new(&adapters.sdk);
    ses.create_email_identity().email_identity("no-reply@kefu.example").send().await.expect("identity");

    let verified = SesMailer::on(&adapters, "no-reply@kefu.example");
    verified.send_email("li.lei@example.cn", "您的验证码 / Your sign-in code", "123456").await.expect("sent");
    assert!(matches!(verified.send_email("not-an-address", "s", "b").await, Err(MailError::InvalidRecipient(_))));

    let unverified = SesMailer::on(&adapters, "someone@elsewhere.example");
    let refused = unverified.send_email("li.lei@example.cn", "s", "b").await;
    assert!(matches!(refused, Err(MailError::Unavailable(_))), "{refused:?}");
}
