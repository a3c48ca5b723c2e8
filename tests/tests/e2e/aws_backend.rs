//! `kefu serve` on the AWS adapters against moto, with resources created from `infra/template.yaml`: the
//! same flow as on the embedded store, and the template's subscriptions equal to the code's.

use std::time::Duration;

use kefu_app::plumbing::events::ConsumerName;
use kefu_e2e::{ADMIN_PASSWORD, eventually, spawn_with};
use kefu_local::Backend;
use kefu_ports::{FilterPolicy, Queue};
use kefu_testkit::{MotoStack, require_moto};
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn the_template_subscribes_each_consumer_as_the_code_expects() {
    let Some(_) = require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| MotoStack::create("subs")).await.unwrap();
    for name in ConsumerName::ALL {
        let declared: FilterPolicy =
            serde_json::from_value(stack.subscriptions[name.as_str()].clone()).expect("filter policy in the template");
        assert_eq!(declared, name.filter_policy(), "{} drifted from the template", name.as_str());
        assert_eq!(stack.queue(name.as_str()).max_receive_count, kefu_app::plumbing::events::MAX_RECEIVE_COUNT);
        assert_eq!(u64::from(stack.queue(name.as_str()).visibility_timeout), name.visibility_timeout().as_secs());
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tenants_sign_in_and_events_flow_on_aws_adapters() {
    let Some(_) = require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| MotoStack::create("e2e")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let created = t.create_tenant("Acme on AWS", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap();
    let token = t.login(tenant, "li@acme.test", ADMIN_PASSWORD).await;
    assert_eq!(t.get("/v1/me", Some(&token)).await.body["tenant_id"], tenant);
    let out = t.call(reqwest::Method::POST, "/v1/auth/logout", None, Some(&token), &[]).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    assert_eq!(t.get("/v1/me", Some(&token)).await.status, StatusCode::UNAUTHORIZED);

    let aws = kefu_aws::AwsAdapters::for_emulator(
        match &kefu_e2e::aws_config(&stack, dir.path()).backend {
            Backend::Aws { config, .. } => config.as_ref().clone(),
            Backend::Embedded => unreachable!(),
        },
        &stack.endpoint,
        &stack.region,
    )
    .await;
    let outbox_empty = eventually(Duration::from_secs(15), || async {
        kefu_app::plumbing::outbox::pending(t.app()).await.unwrap()["pending"] == 0
    })
    .await;
    assert!(outbox_empty, "the event was published to SNS and cleared");
    let notify = aws.queue(stack.queue("notify").url.clone());
    let consumed = eventually(Duration::from_secs(15), || async { notify.approximate_len().await.unwrap() == 0 }).await;
    assert!(consumed, "the notify poller consumed tenant.created from SQS");
    let dlq = aws.queue(stack.queue("notify").dlq_url.clone());
    assert_eq!(dlq.approximate_len().await.unwrap(), 0, "nothing dead-lettered");
}

/// An export on the AWS adapters: written to the template's bucket in parts, and its link is an S3 presigned URL
/// that reads the rows without credentials.
#[tokio::test(flavor = "multi_thread")]
async fn an_export_is_written_to_s3_and_read_through_a_presigned_link() {
    let Some(_) = require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| MotoStack::create("export")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let created = t.create_tenant("Acme on AWS", "li@acme.test").await;
    let token = t.login(created["tenant_id"].as_str().unwrap(), "li@acme.test", ADMIN_PASSWORD).await;
    let r = t.post("/v1/exports", serde_json::json!({"kind": "audit", "format": "jsonl"}), Some(&token)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let path = format!("/v1/exports/{}", r.body["id"].as_str().unwrap());
    let done =
        eventually(Duration::from_secs(30), || async { t.get(&path, Some(&token)).await.body["status"] == "done" })
            .await;
    let view = t.get(&path, Some(&token)).await.body;
    assert!(done, "{view}");
    let url = view["download_url"].as_str().unwrap();
    assert!(url.contains("X-Amz-Signature=") && url.contains("X-Amz-Expires=900"), "{url}");
    let body = reqwest::get(url).await.unwrap().text().await.unwrap();
    let rows = body.lines().count() as u64;
    assert_eq!(rows, view["rows"].as_u64().unwrap(), "{body}");
    assert!(body.contains("export.create"), "{body}");
}
