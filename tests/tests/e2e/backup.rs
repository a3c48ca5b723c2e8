//! Backups of the embedded store: a copy taken from a running `kefu serve` (`kefu backup --target`) holds what
//! was written before it, restores into another data directory (`kefu restore`), and a server started there
//! signs the tenant in and shows its conversation. A wrong token gets no copy.

use kefu_e2e::{ADMIN_PASSWORD, BOOTSTRAP, embedded_config, spawn_app, spawn_with};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_backup_of_a_running_server_restores_into_one_that_starts() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let started =
        t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": "Wang"}})).await;
    let conversation = started.body["conversation_id"].as_str().unwrap().to_owned();

    let refused =
        t.client.post(format!("{}/operator/backup", t.base)).header("x-bootstrap-token", "wrong").send().await.unwrap();
    let status = refused.status();
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{:?}", refused.text().await);

    let out_dir = tempfile::tempdir().unwrap();
    let copy = out_dir.path().join("kefu-backup.redb");
    let bytes = kefu_local::backup::backup(&t.data_dir, &copy, Some(&t.base), Some(BOOTSTRAP)).await.unwrap();
    assert!(bytes > 0 && copy.exists());
    // The server keeps serving while and after the copy is taken.
    assert_eq!(t.get("/v1/health", None).await.status, StatusCode::OK);
    let again = kefu_local::backup::backup(&t.data_dir, &copy, Some(&t.base), Some(BOOTSTRAP)).await;
    assert!(again.is_err(), "an existing file is never overwritten");

    let restored = tempfile::tempdir().unwrap();
    let kept = kefu_local::backup::restore(restored.path(), &copy).await.unwrap();
    assert!(kept.as_os_str().is_empty(), "nothing was there to keep");
    let mut r = spawn_with(embedded_config(restored.path())).await;
    let token = r.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let c = r.get(&format!("/v1/conversations/{conversation}"), Some(&token)).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    r.stop().await;
}
