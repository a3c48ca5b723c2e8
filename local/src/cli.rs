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
