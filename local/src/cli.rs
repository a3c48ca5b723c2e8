//! The commands of the `kefu` binary.

use kefu_app::tenants::{NewAdmin, NewTenant, create_tenant};

use crate::{ServeConfig, start, wiring};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The demo admin's password (the demo is for a developer's own machine).
pub const DEMO_PASSWORD: &str = "kefu-demo-password";

/// `kefu serve [--demo]`.
pub async fn serve(config: ServeConfig, demo: bool) -> Result<(), BoxError> {
    let server = start(config).await?;
    println!("kefu serve listening on http://{}", server.addr);
    if demo {
        let created = create_tenant(
            &server.app,
            NewTenant {
                name: "Demo Company".into(),
                admin: NewAdmin {
                    email: "admin@demo.kefu.dev".into(),
                    name: "Demo Admin".into(),
                    password: DEMO_PASSWORD.into(),
                },
                timezone: Some("Asia/Shanghai".into()),
            },
        )
        .await?;
        println!("demo tenant created: tenant_id={} widget_key={}", created.tenant_id, created.widget_key);
        println!(
            "sign in:\n  curl -s http://{}/v1/auth/login -H 'content-type: application/json' \\\n    -d '{{\"tenant_id\": \"{}\", \"email\": \"admin@demo.kefu.dev\", \"password\": \"{DEMO_PASSWORD}\"}}'",
            server.addr, created.tenant_id
        );
    }
    server.run_until_signal().await;
    Ok(())
}

/// `kefu sweep-outbox`: publishes every pending outbox entry now, whatever its age.
pub async fn sweep_outbox(config: ServeConfig) -> Result<(), BoxError> {
    let wired = wiring::wire(&config).await?;
    let report = kefu_app::outbox::sweep(&wired.app, std::time::Duration::ZERO).await?;
    println!("published {} outbox entries ({} failed)", report.published, report.failed);
    Ok(())
}

/// `kefu probe-lambda`: measures a function binary (see [`crate::probe`]).
pub async fn probe_lambda(
    binary: &std::path::Path,
    event: &std::path::Path,
    runs: usize,
    env: &[String],
) -> Result<(), BoxError> {
    let event = std::fs::read(event)?;
    let env: Vec<(String, String)> = env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| format!("--env {kv}: expected NAME=value"))
        })
        .collect::<Result<_, _>>()?;
    let summary = crate::probe::probe(binary, &event, &env, runs.max(1)).await?;
    println!("{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// `kefu audit verify`: walks a tenant's audit chain and reports every edited, removed or re-linked entry.
/// Progress goes to stderr on long chains; the findings to stdout (`--json`: the report as one JSON object).
/// Answers an error (so the exit status is non-zero) when the chain is broken.
pub async fn audit_verify(config: ServeConfig, tenant: &str, json: bool) -> Result<(), BoxError> {
    // `platform` names the chain of what happens outside any tenant (refused bootstrap tokens).
    let tenant = match tenant.trim() {
        "platform" => kefu_app::audit::platform(),
        t => kefu_domain::TenantId::parse(t).ok_or_else(|| format!("{tenant:?} is not a tenant id"))?,
    };
    if matches!(config.backend, crate::Backend::Embedded) && !config.data_dir.join("kefu.redb").exists() {
        return Err(format!("no Kefu data in {} (set --data-dir or KEFU_DATA_DIR)", config.data_dir.display()).into());
    }
    let wired = wiring::wire(&config).await.map_err(|e| {
        format!(
            "cannot open the store in {}: {e} (a running `kefu serve` holds it: stop it first)",
            config.data_dir.display()
        )
    })?;
    let mut stdout = std::io::stdout().lock();
    let report = verify_audit_chain(&wired.app, &tenant, &mut stdout, &mut std::io::stderr(), json).await?;
    if report.is_intact() { Ok(()) } else { Err(format!("the audit chain of {tenant} is broken").into()) }
}

/// Verifies a tenant's audit chain with [`kefu_app::audit::verify`], writing progress (at most every two
/// seconds, for chains of more than one page) to `progress` and the findings to `out`: one line per problem,
/// naming the entry's action, actor and time when it is still there, then a summary. Answers the report.
pub async fn verify_audit_chain(
    app: &kefu_app::App,
    tenant: &kefu_domain::TenantId,
    out: &mut impl std::io::Write,
    progress: &mut impl std::io::Write,
    json: bool,
) -> Result<kefu_app::audit::ChainReport, BoxError> {
    use kefu_app::audit::{self, ChainProblem};
    use serde_json::Value;

    let head = app.table.get(&kefu_app::keys::audit_head(tenant)).await?;
    let total = head.as_ref().and_then(|h| h.get("seq")).and_then(Value::as_u64).unwrap_or(0);
    if head.is_none() && app.table.get(&kefu_app::keys::tenant(tenant)).await?.is_none() {
        return Err(format!("no tenant {tenant} in this store").into());
    }
    let started = std::time::Instant::now();
    let mut last = started;
    let report = audit::verify(app, tenant, |read| {
        if last.elapsed() >= std::time::Duration::from_secs(2) {
            last = std::time::Instant::now();
            let _ = writeln!(progress, "checked {read} of {total} entries ({:.0} s)", started.elapsed().as_secs_f64());
        }
    })
    .await?;
    if json {
        writeln!(out, "{}", serde_json::json!({"tenant_id": tenant, "intact": report.is_intact(), "report": report}))?;
        return Ok(report);
    }
    for problem in &report.problems {
        let line = match problem {
            ChainProblem::Edited { seq } => {
                let what = match app.table.get(&kefu_app::keys::audit_entry(tenant, *seq)).await? {
                    Some(e) => {
                        let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
                        format!(" ({} by {} at {})", s("action"), s("actor_id"), s("at"))
                    }
                    None => String::new(),
                };
                format!("EDITED   entry {seq}{what}: its content no longer matches its hash")
            }
            ChainProblem::Missing { from, to } if from == to => format!("REMOVED  entry {from}"),
            ChainProblem::Missing { from, to } => format!("REMOVED  entries {from} to {to}"),
            ChainProblem::Relinked { seq } => {
                format!("RELINKED entry {seq} does not point at the entry before it (replaced or re-chained)")
            }
            ChainProblem::HeadMismatch => "HEAD     the chain's head does not match its last entry".to_owned(),
        };
        writeln!(out, "{line}")?;
    }
    if report.is_intact() {
        writeln!(out, "audit chain of {tenant}: {} entries, intact", report.entries)?;
    } else {
        writeln!(
            out,
            "audit chain of {tenant}: {} entries read, head at {}, BROKEN: {} problem(s)",
            report.entries,
            report.head_seq,
            report.problems.len()
        )?;
    }
    Ok(report)
}
