//! The `kefu` binary. `kefu serve` runs Kefu locally; `kefu serve --demo` also creates a demo tenant and
//! prints how to sign in; `kefu openapi` prints the API's OpenAPI document.

use clap::{Parser, Subcommand};

/// The allocator of the `kefu` binary. Under load, glibc's malloc took about a third of `kefu serve`'s CPU
/// (`perf`: `_int_malloc`, `malloc_consolidate`, `free`); mimalloc does the same work for less. See
/// docs/performance.md.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "kefu", version, about = "Kefu customer service: run it locally")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API, the widget endpoints and every consumer in one process.
    Serve {
        /// Create a demo tenant with an admin and print how to sign in.
        #[arg(long)]
        demo: bool,
    },
    /// Republish outbox entries now (operations), then exit.
    SweepOutbox,
    /// Print the OpenAPI document (the same JSON as `GET /v1/openapi.json`), e.g. for the web build to generate
    /// its API types without a running server.
    Openapi,
    /// Run a Lambda function binary against a local Runtime API and measure start-up, first event, memory and
    /// size (compare with `kefu-lambda-hello`). Prints one JSON summary on stdout.
    ProbeLambda {
        /// The function's binary (a `bootstrap`).
        #[arg(long)]
        binary: std::path::PathBuf,
        /// The event to hand it (JSON file; samples in infra/events/).
        #[arg(long)]
        event: std::path::PathBuf,
        /// How many cold starts to measure.
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// Extra environment for the function, `NAME=value` (repeatable).
        #[arg(long = "env")]
        env: Vec<String>,
    },
    /// A TLS endpoint in front of a plain-HTTP server (moto, for the Lambda probe): makes a certificate
    /// authority and a certificate for 127.0.0.1 and localhost, writes the authority's certificate to
    /// `--cert-out` (for `SSL_CERT_FILE`), and forwards each connection's bytes to the upstream until stopped.
    TlsFront {
        /// The plain-HTTP server to forward to (`http://127.0.0.1:5000`).
        #[arg(long)]
        upstream: String,
        /// Where to write the authority's certificate (PEM).
        #[arg(long)]
        cert_out: std::path::PathBuf,
        /// Where to listen (port 0: any free port; the first line printed says which).
        #[arg(long, default_value = "127.0.0.1:0")]
        listen: std::net::SocketAddr,
    },
    /// Drive visitors against `kefu serve` (in this process, or `--target`) and report messages per second,
    /// latency from a visitor's send to the agent's WebSocket frame, and table work per message.
    Loadtest {
        /// Agents online, each with one WebSocket.
        #[arg(long, default_value_t = 40)]
        agents: usize,
        /// Visitors, one conversation each (a visitor sends at most 30 messages a minute: use rate × 2.2).
        #[arg(long, default_value_t = 4400)]
        visitors: usize,
        /// Visitor messages per second offered.
        #[arg(long, default_value_t = 2000.0)]
        rate: f64,
        /// Seconds of sending before measuring (not counted).
        #[arg(long, default_value_t = 5)]
        warmup: u64,
        /// Seconds of sending and measuring after the warm-up.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Most requests in flight at once (a message due while all are busy waits, and the wait counts).
        #[arg(long, default_value_t = 512)]
        concurrency: usize,
        /// Worker threads of the load generator (its CPU is reported apart from the server's).
        #[arg(long, default_value_t = 1)]
        generator_threads: usize,
        /// A running kefu serve (`http://host:port`) instead of one in this process (table counters are then
        /// not reported); needs `KEFU_BOOTSTRAP_TOKEN`.
        #[arg(long)]
        target: Option<String>,
        /// The process id of the `--target` server, to report its CPU (from `/proc/<pid>/stat`).
        #[arg(long, requires = "target")]
        server_pid: Option<u32>,
        /// Visitor typing calls per second to offer after the messages, for `--duration` (0: none); their cost
        /// (table work, server CPU, frames delivered) is reported apart.
        #[arg(long, default_value_t = 0.0)]
        typing_rate: f64,
        /// Enabled automation rules on `message.received` to create first (keyword rules the messages do not
        /// match): each message then pays for evaluating them.
        #[arg(long, default_value_t = 0)]
        rules: usize,
    },
    /// The audit log (operations).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// A consistent copy of the embedded store: of a running `kefu serve` (`--target`, with
    /// `KEFU_BOOTSTRAP_TOKEN`), else of the stopped store in the data directory.
    Backup {
        /// Where to write the copy (must not exist).
        #[arg(long)]
        out: std::path::PathBuf,
        /// A running kefu serve (`http://host:port`).
        #[arg(long)]
        target: Option<String>,
        /// The data directory of a stopped store (default `KEFU_DATA_DIR`, else `./.kefu`).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Put a copy made by `kefu backup` in place of the data directory's store (stop `kefu serve` first; the
    /// replaced file is kept beside it).
    Restore {
        /// The copy.
        #[arg(long)]
        from: std::path::PathBuf,
        /// The data directory (default `KEFU_DATA_DIR`, else `./.kefu`).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
    /// Retention (operations).
    Retention {
        #[command(subcommand)]
        command: RetentionCommand,
    },
    /// Tenant administration for the operator (on a stopped store).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Give a tenant an administrator back: the account with this email is enabled, given the built-in admin
    /// role, unlocked, signed out everywhere, and given a one-time password (printed) that must be changed at
    /// the first sign-in. An account is created when no account has this email. Stop `kefu serve` first.
    Restore {
        /// The tenant's id (`tn_…`).
        #[arg(long)]
        tenant: String,
        /// The sign-in email of the account to restore (or create).
        #[arg(long)]
        email: String,
        /// The display name of a created account (default "Administrator").
        #[arg(long)]
        name: Option<String>,
        /// Also remove the account's TOTP second factor (a lost phone).
        #[arg(long)]
        reset_mfa: bool,
        /// The data directory of an embedded store (default `KEFU_DATA_DIR`, else `./.kefu`).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Print the result as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum RetentionCommand {
    /// Run retention now for every tenant with a period (or `--tenant`), as the daily function does, with a
    /// progress line per tenant; the reports are printed as JSON lines. Stop `kefu serve` first.
    Run {
        /// Only this tenant (`tn_…`).
        #[arg(long)]
        tenant: Option<String>,
        /// Count what would go, change nothing.
        #[arg(long)]
        dry_run: bool,
        /// Run as of this time (RFC 3339; default now).
        #[arg(long)]
        as_of: Option<String>,
        /// The data directory of an embedded store (default `KEFU_DATA_DIR`, else `./.kefu`).
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Walk a tenant's audit chain and report every edited or removed entry; exits 1 when it is broken.
    Verify {
        /// The tenant's id (`tn_…`), or `platform` for the chain of refused bootstrap tokens.
        #[arg(long)]
        tenant: String,
        /// The data directory of an embedded store (default `KEFU_DATA_DIR`, else `./.kefu`); with `KEFU_TABLE`
        /// set, the DynamoDB table is read instead.
        #[arg(long)]
        data_dir: Option<std::path::PathBuf>,
        /// Print the report as one JSON object.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Openapi => {
            println!("{}", kefu_fn_api::openapi::json());
            return std::process::ExitCode::SUCCESS;
        }
        Command::Loadtest { .. } => kefu_app::plumbing::logging::init_with_default("warn"),
        Command::Serve { .. } => {
            // At a terminal, a person reads the lines `serve` prints; logs show warnings only (RUST_LOG for more).
            use kefu_app::plumbing::logging::LogFormat;
            let format = LogFormat::detect();
            kefu_app::plumbing::logging::init_as(format, if format == LogFormat::Text { "warn" } else { "info" });
        }
        _ => kefu_app::plumbing::logging::init(),
    }
    let config = match kefu_local::ServeConfig::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("kefu: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    // Whether this process serves on the embedded store, whose writer thread the runtime's workers leave a
    // core: `serve` on the backend its configuration chose, and `loadtest` with its server in process (always
    // on a fresh embedded store).
    let serves_embedded = match &cli.command {
        Command::Serve { .. } => matches!(config.backend, kefu_local::Backend::Embedded),
        Command::Loadtest { target, .. } => target.is_none(),
        _ => false,
    };
    match kefu_local::runtime::build_for(serves_embedded) {
        Ok(rt) => rt.block_on(run(cli, config)),
        Err(e) => {
            eprintln!("kefu: {e}");
            std::process::ExitCode::from(2)
        }
    }
}

async fn run(cli: Cli, mut config: kefu_local::ServeConfig) -> std::process::ExitCode {
    let result = match cli.command {
        Command::Serve { demo } => kefu_local::cli::serve(config, demo).await,
        Command::SweepOutbox => kefu_local::cli::sweep_outbox(config).await,
        Command::Openapi => unreachable!("answered before the configuration is read"),
        Command::ProbeLambda { binary, event, runs, env } => {
            kefu_local::cli::probe_lambda(&binary, &event, runs, &env).await
        }
        Command::TlsFront { upstream, cert_out, listen } => {
            kefu_local::cli::tls_front(listen, &upstream, &cert_out).await
        }
        Command::Loadtest {
            agents,
            visitors,
            rate,
            warmup,
            duration,
            concurrency,
            generator_threads,
            target,
            server_pid,
            typing_rate,
            rules,
        } => {
            let run = kefu_local::loadtest::LoadConfig {
                agents,
                visitors,
                rate,
                warmup: std::time::Duration::from_secs(warmup),
                duration: std::time::Duration::from_secs(duration),
                concurrency,
                generator_threads,
                target,
                server_pid,
                bootstrap_token: config.bootstrap_token.clone(),
                data_dir: None,
                typing_rate,
                rules,
            };
            kefu_local::loadtest::run(run).await.map(drop)
        }
        Command::Audit { command: AuditCommand::Verify { tenant, data_dir, json } } => {
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            kefu_local::cli::audit_verify(config, &tenant, json).await
        }
        Command::Retention { command: RetentionCommand::Run { tenant, dry_run, as_of, data_dir } } => {
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            kefu_local::cli::retention_run(config, tenant.as_deref(), dry_run, as_of.as_deref()).await
        }
        Command::Backup { out, target, data_dir } => {
            let dir = data_dir.unwrap_or(config.data_dir.clone());
            let token = config.bootstrap_token.clone();
            kefu_local::backup::backup(&dir, &out, target.as_deref(), token.as_deref()).await.map(|bytes| {
                println!("backup written: {} ({bytes} bytes)", out.display());
            })
        }
        Command::Restore { from, data_dir } => {
            let dir = data_dir.unwrap_or(config.data_dir.clone());
            kefu_local::backup::restore(&dir, &from).await.map(|kept| {
                println!("restored {} into {}", from.display(), dir.join("kefu.redb").display());
                if !kept.as_os_str().is_empty() {
                    println!("the store it replaced is kept as {}", kept.display());
                }
            })
        }
        Command::Admin { command: AdminCommand::Restore { tenant, email, name, reset_mfa, data_dir, json } } => {
            if let Some(dir) = data_dir {
                config.data_dir = dir;
            }
            kefu_local::cli::admin_restore(config, &tenant, &email, name.as_deref(), reset_mfa, json).await
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kefu: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
