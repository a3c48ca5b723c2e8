//! Nothing accepted is lost: data survives a restart, an event stored but never published (a crash between
//! the two) is republished by the sweeper, and a duplicate delivery is handled once.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
use kefu_app::plumbing::events::{ConsumerName, Envelope, EventType, TenantCreated};
use kefu_e2e::{ADMIN_PASSWORD, embedded_config, eventually, spawn_app, spawn_with};
use kefu_ports::{Topic, TopicError};
use reqwest::StatusCode;

#[tokio::test]
async fn restart_keeps_the_data() {
    let dir = tempfile::tempdir().unwrap();
    let mut first = spawn_with(embedded_config(dir.path())).await;
    let created = first.create_tenant("Acme", "li@acme.test").await;
    let token = first.login(created["tenant_id"].as_str().unwrap(), "li@acme.test", ADMIN_PASSWORD).await;
    first.stop().await;

    let second = spawn_with(embedded_config(dir.path())).await;
    assert_ne!(first.base, second.base, "a new process, a new port");
    assert_eq!(second.get("/v1/me", Some(&token)).await.status, StatusCode::OK, "sessions survive a restart");
    second.login(created["tenant_id"].as_str().unwrap(), "li@acme.test", ADMIN_PASSWORD).await;
}

#[tokio::test]
async fn a_tenant_created_event_reaches_its_consumer() {
    let t = spawn_app().await;
    t.create_tenant("Acme", "li@acme.test").await;
    let delivered = eventually(Duration::from_secs(10), || async {
        t.mail().iter().any(|m| m["to"] == "li@acme.test" && m["subject"] == "Your Kefu workspace is ready")
    })
    .await;
    assert!(delivered, "the notify consumer sent the welcome mail");
    t.app().clearing.flush().await;
    let pending = kefu_app::plumbing::outbox::pending(t.app()).await.unwrap();
    assert_eq!(pending["pending"], 0, "published entries are cleared from the outbox");
}

/// A topic that is down: every publish fails, as if the process died right after the commit.
struct DownTopic;

#[async_trait]
impl Topic for DownTopic {
    async fn publish(&self, _event_type: &str, _body: &str, _more: &[(&str, &str)]) -> Result<(), TopicError> {
        Err(TopicError::Unavailable("simulated crash before publish".into()))
    }
}

#[tokio::test]
async fn an_event_stored_but_never_published_is_not_lost() {
    let dir = tempfile::tempdir().unwrap();
    let config = embedded_config(dir.path());
    {
        let mut wired = kefu_local::wiring::embedded(&config).await.unwrap();
        wired.app.topic = Arc::new(DownTopic);
        let req = NewTenant {
            name: "Crashy".into(),
            admin: NewAdmin { email: "ops@crashy.test".into(), name: "Ops".into(), password: ADMIN_PASSWORD.into() },
            timezone: None,
        };
        create_tenant(&wired.app, req).await.expect("the state change commits even though the publish fails");
        assert_eq!(kefu_app::plumbing::outbox::pending(&wired.app).await.unwrap()["pending"], 1);
    }
    let t = spawn_with(config).await;
    assert!(t.mail().is_empty());
    let delivered =
        eventually(Duration::from_secs(20), || async { t.mail().iter().any(|m| m["to"] == "ops@crashy.test") }).await;
    assert!(delivered, "the sweeper republished the stored event after the restart");
    t.app().clearing.flush().await;
    assert_eq!(kefu_app::plumbing::outbox::pending(t.app()).await.unwrap()["pending"], 0);
}

#[tokio::test]
async fn a_duplicate_delivery_is_handled_once() {
    let t = spawn_app().await;
    let created = t.create_tenant("Twice", "twice@x.test").await;
    assert!(eventually(Duration::from_secs(10), || async { t.mail().len() == 1 }).await);
    let tenant = kefu_app::plumbing::keys::tenant_pk(&serde_json::from_value(created["tenant_id"].clone()).unwrap());
    assert!(tenant.starts_with("T#"));
    let again = TenantCreated {
        name: "Twice".into(),
        admin_id: serde_json::from_value(created["admin_id"].clone()).unwrap(),
        admin_email: "again@x.test".into(),
    };
    let event =
        Envelope::new(&serde_json::from_value(created["tenant_id"].clone()).unwrap(), jiff::Timestamp::now(), again);
    let body = serde_json::to_string(&event).unwrap();
    let ty = EventType::TenantCreated.as_str();
    t.app().topic.publish(ty, &body, &[]).await.unwrap();
    t.app().topic.publish(ty, &body, &[]).await.unwrap();
    assert!(eventually(Duration::from_secs(10), || async { t.mail().iter().any(|m| m["to"] == "again@x.test") }).await);
    let app = t.app();
    assert!(kefu_app::plumbing::idempotency::is_done(app, ConsumerName::Notify.as_str(), &event.id).await.unwrap());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        t.mail().iter().filter(|m| m["to"] == "again@x.test").count(),
        1,
        "the second copy was acknowledged, not re-sent"
    );
}
