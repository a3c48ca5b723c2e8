//! `kefu audit verify` as an operator runs it: exit 0 and "intact" on a clean chain; exit 1 naming every
//! edited and removed entry on a tampered one; a clear error for an unknown tenant or an empty data directory.

mod common;
use common::{kefu, text};
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use kefu_app::audit::{self, AuditEntry, Outcome};
use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};
use kefu_local::ServeConfig;
use kefu_ports::table::Update;
use serde_json::json;

fn config(dir: &Path) -> ServeConfig {
    ServeConfig { sweep_every: Duration::from_secs(60), ..ServeConfig::embedded(dir) }
}

fn verify(dir: &Path, tenant: &str, extra: &[&str]) -> Output {
    kefu(&["audit", "verify", "--tenant", tenant, "--data-dir"]).arg(dir).args(extra).output().expect("kefu runs")
}

#[tokio::test]
async fn verify_exits_zero_on_a_clean_chain_and_one_naming_each_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let server = kefu_local::start(config(dir.path())).await.unwrap();
    let created = create_tenant(
        &server.app,
        NewTenant {
            name: "Acme".into(),
            admin: NewAdmin {
                email: "admin@acme.example".into(),
                name: "Admin".into(),
                password: "a long enough admin password".into(),
            },
            timezone: None,
        },
    )
    .await
    .unwrap();
    let t = kefu_domain::TenantId::parse(&created.tenant_id).unwrap();
    for i in 0..6 {
        let e = AuditEntry::new(&t, "customer.update", Outcome::Success)
            .by(&kefu_app::audit::Actor::Operator)
            .target("customer", i)
            .ip("192.0.2.1");
        audit::record(&server.app, e).await.unwrap();
    }
    server.stop().await;

    let clean = verify(dir.path(), t.as_str(), &[]);
    assert!(clean.status.success(), "{} {}", text(&clean.stdout), text(&clean.stderr));
    assert!(text(&clean.stdout).contains("6 entries, intact"), "{}", text(&clean.stdout));

    // Tamper: change who did entry 3, remove entries 5 and 6 (the end of the chain).
    let server = kefu_local::start(config(dir.path())).await.unwrap();
    let table = &server.app.table;
    table
        .update(&kefu_app::plumbing::keys::audit_entry(&t, 3), Update::new().set("actor_id", json!("ag_y")), None)
        .await
        .unwrap();
    for seq in [5, 6] {
        table.delete(&kefu_app::plumbing::keys::audit_entry(&t, seq), None).await.unwrap();
    }
    server.stop().await;

    let broken = verify(dir.path(), t.as_str(), &[]);
    let out = text(&broken.stdout);
    assert_eq!(broken.status.code(), Some(1), "{out}");
    assert!(out.contains("EDITED   entry 3 (customer.update by ag_y at "), "{out}");
    assert!(out.contains("REMOVED  entries 5 to 6"), "{out}");
    assert!(text(&broken.stderr).contains("is broken"), "{}", text(&broken.stderr));
    let json_out = verify(dir.path(), t.as_str(), &["--json"]);
    assert_eq!(json_out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&json_out.stdout).unwrap();
    assert_eq!(report["intact"], false);
    assert_eq!(
        report["report"]["problems"],
        json!([{"kind": "edited", "seq": 3}, {"kind": "missing", "from": 5, "to": 6}])
    );

    // Operator mistakes are clear errors.
    let unknown = verify(dir.path(), "tn_01jzzzzzzzzzzzzzzzzzzzzzzz", &[]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(text(&unknown.stderr).contains("no tenant"), "{}", text(&unknown.stderr));
    let empty = tempfile::tempdir().unwrap();
    let nothing = verify(empty.path(), t.as_str(), &[]);
    assert!(!nothing.status.success());
    assert!(text(&nothing.stderr).contains("no Kefu data"), "{}", text(&nothing.stderr));
    assert!(!empty.path().join("kefu.redb").exists(), "verify never creates a store");
}
