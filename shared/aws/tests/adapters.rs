//! What the AWS adapters promise beyond the shared suites: error mapping, work counters, the mailer and push.

use std::time::Duration;

use kefu_aws::{AwsAdapters, AwsConfig};
use kefu_ports::{MailError, Mailer, Push, PushError, Query, Queue, QueueError, Table, TableError};
use kefu_testkit::MotoStack;
use serde_json::json;

async fn stack(prefix: &'static str, ws_endpoint: bool) -> Option<(MotoStack, AwsAdapters)> {
    let endpoint = kefu_testkit::require_moto()?;
    let stack = tokio::task::spawn_blocking(move || MotoStack::create_at(&endpoint, prefix)).await.expect("stack");
    let config = AwsConfig {
        table: stack.table.clone(),
        events_topic_arn: stack.events_topic_arn.clone(),
        mail_topic_arn: stack.mail_topic_arn.clone(),
        export_bucket: stack.export_bucket.clone(),
        ws_endpoint: ws_endpoint.then(|| stack.endpoint.clone()),
        endpoint: Some(stack.endpoint.clone()),
        apns_app_arn: None,
        fcm_app_arn: None,
        due_queue_url: None,
    };
    let adapters = AwsAdapters::for_emulator(config, &stack.endpoint, &stack.region).await;
    Some((stack, adapters))
}

#[tokio::test]
async fn garbage_receipts_are_invalid_receipts() {
    let Some((stack, adapters)) = stack("aws-receipts", false).await else { return };
    let q = adapters.queue(&stack.queue("notify").url);
    assert!(matches!(q.delete("not-a-receipt").await, Err(QueueError::InvalidReceipt)));
    assert!(matches!(q.change_visibility("not-a-receipt", Duration::ZERO).await, Err(QueueError::InvalidReceipt)));
    assert_eq!(q.send_batch(&[]).await.unwrap(), Vec::<String>::new());
    assert!(q.receive(0, Duration::from_secs(1), Duration::ZERO).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_missing_queue_is_unavailable_not_a_panic() {
    let Some((stack, adapters)) = stack("aws-missing", false).await else { return };
    let url = format!("{}/123456789012/no-such-queue", stack.endpoint);
    let q = adapters.queue(url);
    assert!(matches!(q.send("x").await, Err(QueueError::Unavailable(_))));
}

#[tokio::test]
async fn cursors_of_another_partition_are_refused() {
    let Some((_stack, adapters)) = stack("aws-cursor", false).await else { return };
    let t = adapters.table.clone();
    for sk in ["a", "b"] {
        t.put(json!({"pk": "C1", "sk": sk}).as_object().unwrap().clone(), None).await.unwrap();
    }
    let page = t.query(Query::partition("C1").limit(1)).await.unwrap();
    let other = t.query(Query::partition("C2").after(page.cursor)).await;
    assert!(matches!(other, Err(TableError::Invalid(_))), "{other:?}");
}

#[tokio::test]
async fn mailer_checks_recipients_and_publishes() {
    let Some((_stack, adapters)) = stack("aws-mail", false).await else { return };
    let m = adapters.mailer.clone();
    m.send_email("li.lei@example.cn", "新消息 / New message\n", "body").await.unwrap();
    assert!(matches!(m.send_email("not-an-address", "s", "b").await, Err(MailError::InvalidRecipient(_))));
    m.send_sms("+8613800138000", "code 123456").await.unwrap();
    assert!(matches!(m.send_sms("13800138000", "x").await, Err(MailError::InvalidRecipient(_))));
}

#[tokio::test]
async fn mobile_push_registers_sends_and_forgets_phones() {
    use kefu_ports::{MobileError, MobilePush};
    let Some((_stack, adapters)) = stack("aws-mobile", false).await else { return };
    let sns = aws_sdk_sns::Client::new(&adapters.sdk);
    let app = sns
        .create_platform_application()
        .name("kefu-fcm")
        .platform("GCM")
        .attributes("PlatformCredential", "fcm-server-key")
        .send()
        .await
        .expect("platform application")
        .platform_application_arn
        .expect("arn");
    let m = kefu_aws::SnsMobile::new(sns.clone(), None, Some(app));
    assert!(matches!(m.register("apns", "tok").await, Err(MobileError::NotConfigured(_))), "no APNs app here");
    let endpoint = m.register("fcm", "fcm-token-1").await.expect("registered");
    m.send(&endpoint, "新会话", "Li Lei is waiting").await.expect("sent");
    // A phone whose endpoint SNS disabled (the app was removed) is gone: the caller forgets it.
    sns.set_endpoint_attributes().endpoint_arn(&endpoint).attributes("Enabled", "false").send().await.unwrap();
    let gone = m.send(&endpoint, "t", "b").await;
    assert!(matches!(gone, Err(MobileError::Gone)), "{gone:?}");
    m.unregister(&endpoint).await.expect("forgotten");
    m.unregister(&endpoint).await.expect("forgetting twice is fine");
}

#[tokio::test]
async fn push_posts_to_the_management_api() {
    let Some((_stack, adapters)) = stack("aws-push", true).await else { return };
    let push = adapters.push.clone().expect("a push adapter when the endpoint is set");
    match push.send("conn-1", r#"{"type":"ping"}"#).await {
        Ok(()) | Err(PushError::Gone) => {}
        Err(e) => panic!("unexpected: {e}"),
    }
}
