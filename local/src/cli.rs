//! The commands of the `kefu` binary.

use kefu_app::identity::tenants::{NewAdmin, NewTenant, create_tenant};

use crate::{ServeConfig, start, wiring};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The demo admin's password (the demo is for a developer's own machine).
pub const DEMO_PASSWORD: &str = "kefu-demo-password";

/// The demo admin's email.
pub const DEMO_EMAIL: &str = "admin@demo.kefu.dev";

/// `kefu serve [--demo]`: starts the server and prints, for a person, where it listens, where the console is
/// and how to sign in (the first line, `kefu serve listening on http://…`, is what scripts read the address
/// from), then serves until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig, demo: bool) -> Result<(), BoxError> {
    let web_dir = config.web_dir.clone();
    let data_dir = config.data_dir.clone();
    let aws = matches!(config.backend, crate::Backend::Aws { .. });
    let server = start(config).await?;
    let base = format!("http://{}", server.addr);
    println!("kefu serve listening on {base}");
    if demo {
        let created = create_tenant(
            &server.app,
            NewTenant {
                name: "Demo Company".into(),
                admin: NewAdmin { email: DEMO_EMAIL.into(), name: "Demo Admin".into(), password: DEMO_PASSWORD.into() },
                timezone: Some("Asia/Shanghai".into()),
            },
        )
        .await?;
        let (tenant, key) = (&created.tenant_id, &created.widget_key);
        println!("demo tenant created: tenant_id={tenant} widget_key={key}");
        println!("sign in:");
        if web_dir.is_some() {
            println!("  console   {base}/");
        }
        println!("  tenant    {tenant}");
        println!("  email     {DEMO_EMAIL}");
        println!("  password  {DEMO_PASSWORD}");
        println!(
            "  or curl -s {base}/v1/auth/login -H 'content-type: application/json' \\\n      -d '{{\"tenant_id\": \"{tenant}\", \"email\": \"{DEMO_EMAIL}\", \"password\": \"{DEMO_PASSWORD}\"}}'"
        );
        if web_dir.is_some() {
            println!("widget: paste into a page of your site (any origin, until the widget settings list some):");
            println!("  <script src=\"{base}/widget/kefu.js\" data-widget-key=\"{key}\" async></script>");
        }
    }
    match &web_dir {
        Some(dir) if !demo => println!("console: {base}/ (web build in {})", dir.display()),
        Some(_) => {}
        None => {
            println!("console: not built; run `npm ci && npm run build` in web/, then restart (or set KEFU_WEB_DIR)")
        }
    }
    if aws {
        println!("data: AWS adapters (KEFU_TABLE)");
    } else {
        println!("data: {}", data_dir.display());
    }
    println!("stop with Ctrl-C");
    server.run_until_signal().await;
    Ok(())
}

/// `kefu sweep-outbox`: publishes every pending outbox entry now, whatever its age, and appends every audit
/// entry still waiting for its place in a chain.
pub async fn sweep_outbox(config: ServeConfig) -> Result<(), BoxError> {
    let wired = wiring::wire(&config).await?;
    let report = kefu_app::plumbing::outbox::sweep(&wired.app, std::time::Duration::ZERO).await?;
    println!("published {} outbox entries ({} failed)", report.published, report.failed);
    let audit = kefu_app::audit::pending::sweep(&wired.app, std::time::Duration::ZERO).await?;
    if audit.appended + audit.failed > 0 {
        println!("appended {} pending audit entries ({} failed)", audit.appended, audit.failed);
    }
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

/// `kefu tls-front`: a TLS endpoint on `listen` in front of the plain-HTTP `upstream` (see [`crate::tls_front`]).
/// Writes the authority's certificate to `cert_out` once it listens, prints where it listens, and forwards until
/// SIGINT or SIGTERM.
pub async fn tls_front(
    listen: std::net::SocketAddr,
    upstream: &str,
    cert_out: &std::path::Path,
) -> Result<(), BoxError> {
    let host = upstream.strip_prefix("http://").unwrap_or(upstream).trim_end_matches('/');
    let upstream = tokio::net::lookup_host(host)
        .await
        .map_err(|e| format!("--upstream {upstream}: {e}"))?
        .next()
        .ok_or_else(|| format!("--upstream {upstream}: no address"))?;
    let front = crate::tls_front::TlsFront::start(listen, upstream).await?;
    std::fs::write(cert_out, &front.ca_pem)?;
    println!(
        "kefu tls-front listening on https://{} (forwarding to http://{upstream}; trust {})",
        front.addr,
        cert_out.display()
    );
    crate::wait_for_signal().await;
    eprintln!("kefu tls-front: {} TLS handshakes", front.handshakes());
    front.stop();
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

    let head = app.table.get(&kefu_app::plumbing::keys::audit_head(tenant)).await?;
    let total = head.as_ref().and_then(|h| h.get("seq")).and_then(Value::as_u64).unwrap_or(0);
    if head.is_none() && app.table.get(&kefu_app::plumbing::keys::tenant(tenant)).await?.is_none() {
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
                let what = match app.table.get(&kefu_app::plumbing::keys::audit_entry(tenant, *seq)).await? {
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

/// `kefu admin restore`: gives a tenant an administrator back on a stopped store (see
/// [`kefu_app::assignment::restore::restore_admin`]) and prints what it did, with the one-time password (`--json`: one
/// JSON object). For the operator of a tenant whose admins are all disabled, demoted, locked out or gone.
pub async fn admin_restore(
    config: ServeConfig,
    tenant: &str,
    email: &str,
    name: Option<&str>,
    reset_mfa: bool,
    json: bool,
) -> Result<(), BoxError> {
    let tenant = kefu_domain::TenantId::parse(tenant.trim()).ok_or_else(|| format!("{tenant:?} is not a tenant id"))?;
    if matches!(config.backend, crate::Backend::Embedded) && !config.data_dir.join("kefu.redb").exists() {
        return Err(format!("no Kefu data in {} (set --data-dir or KEFU_DATA_DIR)", config.data_dir.display()).into());
    }
    let wired = wiring::wire(&config).await.map_err(|e| {
        format!(
            "cannot open the store in {}: {e} (a running `kefu serve` holds it: stop it first)",
            config.data_dir.display()
        )
    })?;
    let r = kefu_app::assignment::restore::restore_admin(&wired.app, &tenant, email, name, reset_mfa).await?;
    let mut out = std::io::stdout().lock();
    write_restored(&mut out, &r, json)?;
    Ok(())
}

/// Writes what a restore did, for a person (or as one JSON object).
pub fn write_restored(
    out: &mut impl std::io::Write,
    r: &kefu_app::assignment::restore::Restored,
    json: bool,
) -> std::io::Result<()> {
    if json {
        return writeln!(out, "{}", serde_json::to_string(r).expect("serialises"));
    }
    let before = match (&r.previous_role, r.created, r.was_disabled) {
        (_, true, _) => "created (no account had this email)".to_owned(),
        (Some(role), false, true) => format!("existing; was disabled, role {role}"),
        (Some(role), false, false) => format!("existing; was enabled, role {role}"),
        (None, false, _) => "existing".to_owned(),
    };
    writeln!(out, "admin restored in tenant {}", r.tenant_id)?;
    writeln!(out, "  account   {} {} ({before})", r.agent_id, r.email)?;
    writeln!(out, "  role      admin, enabled, sign-in lock cleared")?;
    writeln!(out, "  password  {}", r.one_time_password)?;
    writeln!(out, "            one-time: the first sign-in must set a new password")?;
    writeln!(out, "  sessions  {} ended", r.sessions_ended)?;
    if r.mfa_reset {
        writeln!(out, "  mfa       TOTP removed: enrol again after signing in")?;
    }
    writeln!(out, "recorded in the tenant's audit log as agent.update by operator")?;
    Ok(())
}

/// `kefu retention run [--tenant] [--dry-run] [--as-of]` on a stopped store (or the AWS table with `KEFU_TABLE`):
/// every tenant with a retention period (or one), each run as the daily function runs it, with a progress line
/// per tenant on stderr (`[2/5] tn_…: 120 conversations, 3 archives`) and the reports as JSON lines on stdout.
pub async fn retention_run(
    config: ServeConfig,
    tenant: Option<&str>,
    dry_run: bool,
    as_of: Option<&str>,
) -> Result<(), BoxError> {
    if matches!(config.backend, crate::Backend::Embedded) && !config.data_dir.join("kefu.redb").exists() {
        return Err(format!("no Kefu data in {} (set --data-dir or KEFU_DATA_DIR)", config.data_dir.display()).into());
    }
    let wired = wiring::wire(&config).await.map_err(|e| {
        format!(
            "cannot open the store in {}: {e} (a running `kefu serve` holds it: stop it first, or use POST /v1/retention/run)",
            config.data_dir.display()
        )
    })?;
    let app = &wired.app;
    let as_of = match as_of {
        Some(s) => s.parse::<jiff::Timestamp>().map_err(|_| format!("--as-of {s:?} is not an RFC 3339 time"))?,
        None => app.now(),
    };
    let tenants = match tenant {
        Some(t) => vec![kefu_domain::TenantId::parse(t).ok_or_else(|| format!("{t:?} is not a tenant id"))?],
        None => kefu_app::retention::tenants(app).await?,
    };
    let total = tenants.len();
    for (i, t) in tenants.iter().enumerate() {
        let entry = kefu_app::audit::AuditEntry::new(t, "retention.run", kefu_app::audit::Outcome::Success)
            .by(&kefu_app::audit::Actor::Operator);
        let report = kefu_app::retention::run_tenant(app, t, as_of, dry_run, Some(entry)).await?;
        eprintln!(
            "[{}/{total}] {t}: {} conversations, {} messages, {} archives{}{}",
            i + 1,
            report.conversations,
            report.messages,
            report.archives.len(),
            if dry_run { " (dry run)" } else { "" },
            if report.complete { "" } else { ", more left for the next run" }
        );
        println!("{}", serde_json::json!({"tenant_id": t, "report": report}));
    }
    if total == 0 {
        eprintln!("no tenant has a retention period");
    }
    Ok(())
}
