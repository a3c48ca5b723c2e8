//! `kefu serve`: every Kefu function in one process. The API and widget routers share one listener, each
//! queue consumer runs as pollers (several per queue) with the same batch semantics as in Lambda, the outbox sweeper and the
//! schedules (timers every minute, retention daily) fire on their own, and shutdown drains the pollers.
//!
//! Data lives in the embedded store under `KEFU_DATA_DIR`, unless AWS endpoints are configured, in which
//! case the AWS adapters are used instead.

pub mod backup;
pub mod cli;
pub mod listener;
pub mod loadtest;
pub mod probe;
pub mod realtime;
pub mod runtime;
pub mod tls_front;
pub mod web;
pub mod wiring;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use kefu_app::App;
use kefu_app::plumbing::consumer::{Consumer, run_poller};
use kefu_app::plumbing::events::ConsumerName;
use kefu_ports::Queue;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

/// How `kefu serve` is configured (from flags and `KEFU_*` variables).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Where to listen (`KEFU_ADDR`, default `127.0.0.1:8080`; port 0 picks a free port).
    pub addr: SocketAddr,
    /// Where data lives (`KEFU_DATA_DIR`, default `./.kefu`).
    pub data_dir: PathBuf,
    /// The operator's secret for creating tenants (`KEFU_BOOTSTRAP_TOKEN`).
    pub bootstrap_token: Option<String>,
    /// Which adapters to run on.
    pub backend: Backend,
    /// How often the outbox sweeper runs.
    pub sweep_every: Duration,
    /// The server's public base URL (`KEFU_PUBLIC_URL`, e.g. `https://kefu.example.com`): real-time tickets
    /// name the WebSocket under it. Unset, they name this server's bound address.
    pub public_url: Option<String>,
    /// The most WebSockets open at once (`KEFU_MAX_WEBSOCKETS`, default
    /// [`realtime::DEFAULT_MAX_WEBSOCKETS`], at most three quarters of the connection cap); each also counts as
    /// a connection.
    pub max_websockets: usize,
    /// Caps on open connections and the header and idle timeouts (`KEFU_MAX_CONNECTIONS`…).
    pub connections: listener::ConnectionLimits,
    /// The web build (console and widget) to serve, if one was found (see [`web::locate`]); without one, `/`
    /// says how to build it.
    pub web_dir: Option<PathBuf>,
}

impl ServeConfig {
    /// A server on the embedded store in `data_dir`, on a free loopback port, with the defaults for everything
    /// else (no bootstrap token, no web build, the default caps, the sweeper every 2 s): what tests and
    /// `kefu loadtest` start from, changing the fields they need.
    pub fn embedded(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: data_dir.into(),
            bootstrap_token: None,
            backend: Backend::Embedded,
            sweep_every: Duration::from_secs(2),
            public_url: None,
            max_websockets: realtime::DEFAULT_MAX_WEBSOCKETS,
            connections: listener::ConnectionLimits::default(),
            web_dir: None,
        }
    }

    /// The configuration from the environment.
    pub fn from_env() -> Result<Self, String> {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let addr = var("KEFU_ADDR").unwrap_or_else(|| "127.0.0.1:8080".into());
        if var("AWS_ENDPOINT_URL").is_some() && var("KEFU_TABLE").is_none() {
            return Err("AWS_ENDPOINT_URL is set but KEFU_TABLE is not: set KEFU_TABLE, KEFU_EVENTS_TOPIC_ARN, \
                        KEFU_MAIL_TOPIC_ARN and KEFU_EXPORT_BUCKET to run on AWS adapters, or unset AWS_ENDPOINT_URL"
                .into());
        }
        Ok(Self {
            addr: addr.parse().map_err(|e| format!("KEFU_ADDR={addr}: {e}"))?,
            data_dir: var("KEFU_DATA_DIR").map_or_else(|| PathBuf::from(".kefu"), PathBuf::from),
            bootstrap_token: var("KEFU_BOOTSTRAP_TOKEN"),
            backend: if var("KEFU_TABLE").is_some() {
                let config = kefu_aws::AwsConfig::from_env().map_err(|e| e.to_string())?;
                let queue_urls = kefu_app::plumbing::events::ConsumerName::ALL
                    .iter()
                    .filter_map(|c| {
                        let url = var(&format!("KEFU_QUEUE_URL_{}", c.as_str().to_ascii_uppercase()))?;
                        Some((c.as_str().to_owned(), url))
                    })
                    .collect();
                Backend::Aws { config: Box::new(config), queue_urls, emulator: None }
            } else {
                Backend::Embedded
            },
            sweep_every: Duration::from_secs(2),
            public_url: var("KEFU_PUBLIC_URL"),
            max_websockets: match var("KEFU_MAX_WEBSOCKETS") {
                None => realtime::DEFAULT_MAX_WEBSOCKETS,
                Some(v) => v.trim().parse().map_err(|_| format!("KEFU_MAX_WEBSOCKETS={v}: expected a number"))?,
            },
            connections: listener::ConnectionLimits::from_env()?,
            web_dir: web::locate(var("KEFU_WEB_DIR").map(PathBuf::from).as_deref()),
        })
    }
}

/// Which adapters `kefu serve` runs on.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded store under `data_dir`.
    Embedded,
    /// The AWS adapters (chosen when `KEFU_TABLE` is set; `AWS_ENDPOINT_URL` points them at an emulator).
    Aws {
        /// Resource names.
        config: Box<kefu_aws::AwsConfig>,
        /// Consumer name → queue URL to poll (`KEFU_QUEUE_URL_<NAME>`); Lambda event sources do it in AWS.
        queue_urls: std::collections::BTreeMap<String, String>,
        /// An emulator's endpoint and region with dummy credentials (tests), instead of the usual chain.
        emulator: Option<(String, String)>,
    },
}

/// A running server: its address, its app (for tests), and the handle that stops it.
pub struct Server {
    /// The bound address (useful with port 0).
    pub addr: SocketAddr,
    /// The application state the server runs on.
    pub app: App,
    /// The push hub this server's WebSockets are registered with.
    pub hub: Option<Arc<kefu_embedded::PushHub>>,
    /// The open connections under their caps (counts for tests and probes).
    pub connections: Arc<listener::Admissions>,
    /// The embedded table, when the server runs on the embedded store (its commits, for `kefu loadtest`).
    pub embedded_table: Option<Arc<kefu_embedded::EmbeddedTable>>,
    shutdown: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl Server {
    /// Stops accepting, lets in-flight requests finish, drains the pollers, clears the published outbox
    /// entries still waiting for their batch (and lets go of the store), and waits for all of it.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        while self.tasks.join_next().await.is_some() {}
        self.app.clearing.close().await;
    }

    /// Waits for SIGINT or SIGTERM, then stops gracefully.
    pub async fn run_until_signal(self) {
        wait_for_signal().await;
        tracing::info!("shutting down: draining pollers");
        self.stop().await;
        tracing::info!("stopped");
    }
}

/// Waits for SIGINT or SIGTERM.
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}

/// How many pollers each queue gets on the embedded store, like concurrent Lambda invocations on one event
/// source: a poller waits for its batch's store writes, and many overlap them (the embedded store commits
/// concurrent writes together, one fsync per group). `KEFU_POLLERS` overrides it; see docs/performance.md.
pub const POLLERS_PER_CONSUMER: usize = 32;

/// Pollers per queue on AWS adapters: SQS long polls; in AWS, Lambda's own concurrency does this.
pub const POLLERS_PER_SQS_CONSUMER: usize = 4;

/// Pollers per queue: `KEFU_POLLERS` (1..=256), else the backend's default.
fn pollers_per_consumer(backend: &Backend) -> usize {
    let default = match backend {
        Backend::Embedded => POLLERS_PER_CONSUMER,
        Backend::Aws { .. } => POLLERS_PER_SQS_CONSUMER,
    };
    let configured = std::env::var("KEFU_POLLERS").ok().and_then(|v| v.trim().parse().ok());
    configured.filter(|n| (1..=256).contains(n)).unwrap_or(default)
}

/// The consumer for each queue.
pub fn consumer(name: ConsumerName) -> Arc<dyn Consumer> {
    match name {
        ConsumerName::Assign => Arc::new(kefu_fn_assign::AssignConsumer),
        ConsumerName::Automation => Arc::new(kefu_fn_automation::AutomationConsumer),
        ConsumerName::Notify => Arc::new(kefu_fn_notify::NotifyConsumer),
        ConsumerName::Export => Arc::new(kefu_fn_export::ExportConsumer),
    }
}

/// The API and widget routes, with the shared layers (`start` adds the WebSocket route).
pub fn router(app: App) -> axum::Router {
    kefu_app::http::finish(kefu_fn_api::routes(&app).merge(kefu_fn_intake::routes()), app)
}

/// Starts everything and answers once the listener is bound.
pub async fn start(config: ServeConfig) -> Result<Server, Box<dyn std::error::Error + Send + Sync>> {
    let wired = wiring::wire(&config).await?;
    let mut app = wired.app.clone();
    let (shutdown, rx) = watch::channel(false);
    let mut tasks = JoinSet::new();

    let tcp = TcpListener::bind(config.addr).await?;
    let addr = tcp.local_addr()?;
    if app.config.websocket_url.is_none() {
        let url = websocket_url(config.public_url.as_deref(), addr)?;
        app.config = Arc::new(kefu_app::Config { websocket_url: Some(url), ..(*app.config).clone() });
    }
    if wired.embedded_table.is_some() {
        // A long-running process: published outbox entries leave in batches, off the request's path.
        app.clearing = kefu_app::plumbing::clearing::Clearing::batched(app.table.clone());
    }
    let limits = config.connections.within_open_files(listener::raise_open_file_limit());
    let mut routes = kefu_fn_api::routes(&app).merge(kefu_fn_intake::routes());
    if let Some(hub) = &wired.hub {
        routes = routes.merge(realtime::routes(
            hub.clone(),
            rx.clone(),
            max_websockets(&config, &limits),
            limits.websocket_idle_timeout,
        ));
    }
    let mut router = web::with_site(kefu_app::http::finish(routes, app.clone()), config.web_dir.as_deref());
    if let (Some(table), Some(token)) = (&wired.embedded_table, &config.bootstrap_token) {
        router = router.merge(backup::routes(table.store().clone(), token.clone(), &config.data_dir));
    }
    let connections = Arc::new(listener::Admissions::new(limits));
    tasks.spawn(listener::serve(tcp, router, connections.clone(), rx.clone()));

    let pollers = pollers_per_consumer(&config.backend);
    for (name, queue) in wired.queues {
        for _ in 0..pollers {
            tasks.spawn(run_poller(app.clone(), queue.clone(), consumer(name), rx.clone()));
        }
    }
    // The due queue: timers fire as they fall due (no sweep), like the `due` function's SQS event source.
    tasks.spawn(kefu_app::timers::run_poller(app.clone(), rx.clone()));
    tasks.spawn(every(config.sweep_every, rx.clone(), app.clone(), |app| async move {
        if let Err(e) = kefu_app::plumbing::outbox::sweep(&app, kefu_app::plumbing::outbox::SWEEP_AFTER).await {
            tracing::warn!(error = %e, "outbox sweep failed");
        }
        if let Err(e) = kefu_app::audit::pending::sweep(&app, kefu_app::audit::pending::SWEEP_AFTER).await {
            tracing::warn!(error = %e, "audit sweep failed");
        }
    }));
    tasks.spawn(every(Duration::from_secs(60), rx.clone(), app.clone(), |app| async move {
        if let Err(e) = kefu_fn_timers::tick(&app, app.now()).await {
            tracing::warn!(error = %e, "timers tick failed");
        }
    }));
    tasks.spawn(every(Duration::from_secs(24 * 3600), rx.clone(), app.clone(), |app| async move {
        kefu_fn_retention::run(&app, app.now()).await;
    }));
    if let Some(table) = wired.embedded_table.clone() {
        tasks.spawn(every(Duration::from_secs(60), rx.clone(), app.clone(), move |_| {
            let table = table.clone();
            async move {
                match purge_in_slices(&table).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(purged = n, "expired items purged"),
                    Err(e) => tracing::warn!(error = %e, "ttl purge failed"),
                }
            }
        }));
    }
    tracing::info!(%addr, aws = matches!(config.backend, Backend::Aws { .. }), "kefu serve listening");
    match &config.web_dir {
        Some(dir) => tracing::info!(web_dir = %dir.display(), "serving the console and widget"),
        None => tracing::warn!(
            "no web build found (KEFU_WEB_DIR, web/ beside the binary, web/dist): `/` says how to build the console"
        ),
    }
    Ok(Server { addr, app, hub: wired.hub, connections, embedded_table: wired.embedded_table, shutdown, tasks })
}

/// Items one purge write removes: small, so the hot path's writes interleave with the purge's (a purge of
/// thousands of expired rate-limit windows in one write held the store's writer for hundreds of milliseconds,
/// once a minute, under load).
pub const PURGE_SLICE: usize = 200;
/// The most items one minute's purge removes (the rest go the next minute; reads skip them meanwhile).
pub const PURGE_PER_TICK: usize = 20_000;

/// Purges expired items a [`PURGE_SLICE`] per write, yielding between slices, up to [`PURGE_PER_TICK`];
/// answers how many went.
pub async fn purge_in_slices(table: &kefu_embedded::EmbeddedTable) -> Result<usize, kefu_ports::table::TableError> {
    let mut total = 0;
    while total < PURGE_PER_TICK {
        let n = table.purge_expired(PURGE_SLICE).await?;
        total += n;
        if n < PURGE_SLICE {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    Ok(total)
}

/// The most WebSockets open at once: `KEFU_MAX_WEBSOCKETS`, but at most three quarters of the connection cap.
/// A WebSocket is never given up for a newcomer (an idle HTTP connection is), so the last quarter of the
/// places stays for HTTP, and a flood of sockets cannot lock the API (or `/v1/health`) out.
pub fn max_websockets(config: &ServeConfig, limits: &listener::ConnectionLimits) -> usize {
    config.max_websockets.min(limits.max_connections / 4 * 3).max(1)
}

/// Where tickets send clients: the WebSocket path under `KEFU_PUBLIC_URL` (`https` becomes `wss`), else
/// under the bound address (a wildcard address names loopback, as only a local client can use it unnamed).
/// Never the request's `Host` header, which the client writes.
pub fn websocket_url(public_url: Option<&str>, addr: SocketAddr) -> Result<String, String> {
    let path = kefu_app::realtime::LOCAL_WS_PATH;
    if let Some(base) = public_url {
        let base = base.trim().trim_end_matches('/');
        let rest = |scheme: &str| base.strip_prefix(scheme).filter(|r| !r.is_empty() && !r.contains(['?', '#']));
        return match (rest("https://"), rest("http://")) {
            (Some(host), _) => Ok(format!("wss://{host}{path}")),
            (None, Some(host)) => Ok(format!("ws://{host}{path}")),
            _ => Err(format!("KEFU_PUBLIC_URL={base}: expected http(s)://host[:port][/path]")),
        };
    }
    let ip = match addr.ip() {
        std::net::IpAddr::V4(v4) if v4.is_unspecified() => std::net::Ipv4Addr::LOCALHOST.into(),
        std::net::IpAddr::V6(v6) if v6.is_unspecified() => std::net::Ipv6Addr::LOCALHOST.into(),
        ip => ip,
    };
    Ok(format!("ws://{}{path}", SocketAddr::new(ip, addr.port())))
}

/// Runs `job` every `period` (first after one period) until shutdown.
async fn every<F, Fut>(period: Duration, mut stop: watch::Receiver<bool>, app: App, job: F)
where
    F: Fn(App) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => job(app.clone()).await,
            _ = async { let _ = stop.wait_for(|s| *s).await; } => return,
        }
    }
}

/// What wiring produced: the app, the queue each consumer polls, and the push hub.
pub struct Wired {
    /// The application state.
    pub app: App,
    /// Consumer → its queue.
    pub queues: Vec<(ConsumerName, Arc<dyn Queue>)>,
    /// The in-process push hub (WebSockets end at `kefu serve` whatever the store).
    pub hub: Option<Arc<kefu_embedded::PushHub>>,
    /// The embedded table, whose expired items `kefu serve` purges (DynamoDB's TTL does it in AWS).
    pub embedded_table: Option<Arc<kefu_embedded::EmbeddedTable>>,
}
