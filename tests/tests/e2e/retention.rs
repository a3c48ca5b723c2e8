//! Retention end to end: with a period set, a dry run counts the closed conversations past it and changes
//! nothing; a run archives them (compressed JSONL in the blob store, read back here) and deletes them, leaves
//! open ones, is audited, and a second run changes nothing. Bad settings are 400.

use std::io::Read;
use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

#[tokio::test]
async fn a_run_archives_then_deletes_old_closed_conversations_and_a_second_run_changes_nothing() {
    let t = spawn_app().await;
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin_id = created["admin_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK);

    let mut ids = Vec::new();
    for name in ["A", "B", "C"] {
        let r = t.start_conversation(created["widget_key"].as_str().unwrap(), json!({"visitor": {"name": name}})).await;
        let token = r.body["visitor_token"].as_str().unwrap().to_owned();
        for text in ["hello", "bye"] {
            assert_eq!(t.visitor_send(&token, text).await.status, StatusCode::CREATED);
        }
        ids.push(r.body["conversation_id"].as_str().unwrap().to_owned());
    }
    for c in &ids {
        let path = format!("/v1/conversations/{c}");
        assert!(
            eventually(Duration::from_secs(15), || async {
                t.get(&path, Some(&admin)).await.body["assignee_id"] == admin_id.as_str()
            })
            .await
        );
    }
    for c in &ids[..2] {
        let r = t.post(&format!("/v1/conversations/{c}/close"), json!({}), Some(&admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    let defaults = t.get("/v1/settings/retention", Some(&admin)).await;
    assert_eq!(defaults.body, json!({"messages_days": null, "archive_before_delete": true}));
    for bad in [json!({"messages_days": 0, "archive_before_delete": true}), json!({"messages_days": 30})] {
        let r = t.call(Method::PUT, "/v1/settings/retention", Some(bad), Some(&admin), &[]).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    }
    let put = t
        .call(
            Method::PUT,
            "/v1/settings/retention",
            Some(json!({"messages_days": 1, "archive_before_delete": true})),
            Some(&admin),
            &[],
        )
        .await;
    assert_eq!(put.status, StatusCode::OK, "{:?}", put.body);

    // Two days from now every conversation is past a one-day period.
    let as_of = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48)).to_string();
    let bad = t.post("/v1/retention/run", json!({"as_of": "tomorrow"}), Some(&admin)).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("as_of")));
    let dry = t.post("/v1/retention/run", json!({"dry_run": true, "as_of": as_of}), Some(&admin)).await;
    assert_eq!(dry.status, StatusCode::OK, "{:?}", dry.body);
    assert_eq!(
        (dry.body["conversations"].as_u64(), dry.body["messages"].as_u64()),
        (Some(2), Some(4)),
        "{:?}",
        dry.body
    );
    assert_eq!((dry.body["skipped_open"].as_u64(), dry.body["archived"].as_u64()), (Some(1), Some(0)));
    for c in &ids {
        assert_eq!(
            t.get(&format!("/v1/conversations/{c}"), Some(&admin)).await.status,
            StatusCode::OK,
            "a dry run deletes nothing"
        );
    }

    let run = t.post("/v1/retention/run", json!({"as_of": as_of}), Some(&admin)).await;
    assert_eq!(run.status, StatusCode::OK, "{:?}", run.body);
    assert_eq!(
        (run.body["conversations"].as_u64(), run.body["archived"].as_u64()),
        (Some(2), Some(2)),
        "{:?}",
        run.body
    );
    assert_eq!(run.body["complete"], true);
    for c in &ids[..2] {
        assert_eq!(t.get(&format!("/v1/conversations/{c}"), Some(&admin)).await.status, StatusCode::NOT_FOUND);
    }
    assert_eq!(
        t.get(&format!("/v1/conversations/{}", ids[2]), Some(&admin)).await.status,
        StatusCode::OK,
        "open: kept"
    );

    // The archive reads back: every deleted conversation with its messages.
    let mut archived: Vec<String> = Vec::new();
    for key in run.body["archives"].as_array().unwrap() {
        let gz = t.app().blobs.get(key.as_str().unwrap()).await.unwrap().expect("archive stored");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        for line in text.lines() {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["messages"].as_array().unwrap().len(), 2);
            archived.push(v["conversation"]["conversation_id"].as_str().unwrap().to_owned());
        }
    }
    archived.sort();
    let mut want = ids[..2].to_vec();
    want.sort();
    assert_eq!(archived, want);

    let again = t.post("/v1/retention/run", json!({"as_of": as_of}), Some(&admin)).await;
    assert_eq!(
        (again.body["conversations"].as_u64(), again.body["archived"].as_u64()),
        (Some(0), Some(0)),
        "{:?}",
        again.body
    );
    let runs = t.audit_entries(&tenant).await.iter().filter(|e| e["action"] == "retention.run").count();
    assert_eq!(runs, 2, "each real run is audited, the dry one is not");

    // `kefu retention run` on the stopped store: every tenant with a period, as the daily function runs it.
    let mut t = t;
    t.stop().await;
    let config = kefu_e2e::embedded_config(&t.data_dir);
    kefu_local::cli::retention_run(config.clone(), None, false, Some(&as_of)).await.unwrap();
    let refused = kefu_local::cli::retention_run(config, None, false, Some("soon")).await;
    assert!(refused.is_err(), "a bad --as-of is refused");
}
