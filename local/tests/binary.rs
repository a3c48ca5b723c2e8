//! The `kefu` binary as a user runs it: `kefu serve --demo` prints how to sign in, SIGTERM and SIGINT stop
//! it gracefully (exit 0), and a restart on the same data directory keeps everything.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running {
    child: Child,
    addr: String,
    lines: Vec<String>,
}

fn start(dir: &std::path::Path, demo: bool) -> Running {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kefu"));
    cmd.arg("serve")
        .env("KEFU_ADDR", "127.0.0.1:0")
        .env("KEFU_DATA_DIR", dir)
        .env("KEFU_BOOTSTRAP_TOKEN", "bin-test-token")
        .env("RUST_LOG", "warn")
        .env_remove("KEFU_TABLE")
        .env_remove("AWS_ENDPOINT_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().expect("kefu starts");
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut lines = Vec::new();
    let want = if demo { 3 } else { 1 };
    while lines.len() < want {
        let mut line = String::new();
        if out.read_line(&mut line).expect("read stdout") == 0 {
            panic!("kefu exited early; printed {lines:?}");
        }
        lines.push(line.trim_end().to_owned());
    }
    std::thread::spawn(move || for _ in out.lines() {});
    let addr = lines[0].rsplit("http://").next().expect("address line").to_owned();
    Running { child, addr, lines }
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill").arg(format!("-{sig}")).arg(child.id().to_string()).status().expect("kill runs");
    assert!(status.success());
}

fn wait_exit(mut child: Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("kefu did not stop within 20 s of the signal");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

async fn login(addr: &str, tenant: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://{addr}/v1/auth/login"))
        .json(&serde_json::json!({"tenant_id": tenant, "email": "admin@demo.kefu.dev", "password": kefu_local::cli::DEMO_PASSWORD}))
        .send()
        .await
        .expect("request")
        .status()
}

#[tokio::test]
async fn demo_signals_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let first = start(dir.path(), true);
    assert!(first.lines[0].starts_with("kefu serve listening on http://127.0.0.1:"), "{:?}", first.lines);
    let tenant = first.lines[1]
        .split("tenant_id=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .expect("tenant id printed")
        .to_owned();
    assert!(first.lines[2].starts_with("sign in:"));
    assert_eq!(login(&first.addr, &tenant).await, reqwest::StatusCode::OK);
    signal(&first.child, "TERM");
    assert!(wait_exit(first.child).success(), "SIGTERM stops it cleanly");

    let second = start(dir.path(), false);
    assert_eq!(login(&second.addr, &tenant).await, reqwest::StatusCode::OK, "the data survived the restart");
    signal(&second.child, "INT");
    assert!(wait_exit(second.child).success(), "SIGINT stops it cleanly");
    assert!(dir.path().join("kefu.redb").exists());
    let mail = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap_or_default();
    assert!(mail.contains("admin@demo.kefu.dev"), "the welcome mail went through the event pipeline: {mail}");
}

#[test]
fn sweep_outbox_command_runs_on_a_data_dir() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("sweep-outbox")
        .env("KEFU_DATA_DIR", dir.path())
        .env("RUST_LOG", "warn")
        .env_remove("KEFU_TABLE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("kefu runs");
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "published 0 outbox entries (0 failed)");
}

#[test]
fn a_bad_address_is_refused_with_a_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("serve")
        .env("KEFU_ADDR", "not an address")
        .env_remove("KEFU_TABLE")
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .expect("kefu runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("KEFU_ADDR"));
}

#[test]
fn openapi_prints_the_document_the_server_serves() {
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .arg("openapi")
        .env("KEFU_ADDR", "not an address: openapi needs no configuration")
        .output()
        .expect("kefu runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(doc, serde_json::from_str::<serde_json::Value>(kefu_fn_api::openapi::json()).unwrap());
    for path in ["/v1/settings/widget", "/v1/widget/config", "/v1/widget/conversations"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
}
