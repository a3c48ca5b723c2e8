//! `kefu loadtest`: drives visitors against `kefu serve` and measures what a visitor's message costs and how
//! fast it reaches the agent, without fooling itself.
//!
//! It starts a `kefu serve` in this process on a fresh data directory (or targets a running one with
//! `--target`), creates a tenant and `--agents` agents who sign in, go online and open a WebSocket each, and
//! `--visitors` visitors who start conversations through the widget endpoints (from many loopback addresses, since
//! conversation starts are limited per IP) and wait until every conversation is assigned. Then it sends
//! visitor messages at `--rate` per second for `--warmup` + `--duration`, round-robin over the visitors.
//!
//! Honest numbers:
//! - **Scheduled send times.** Message `seq` is due at `start + seq / rate`. When the generator cannot send it
//!   then (every request slot busy, its thread late), the wait counts: the *corrected* latency runs from the
//!   scheduled time to the `message.created` frame on the agent's WebSocket, so a stalled server cannot hide
//!   the messages it kept from being sent (coordinated omission). The *uncorrected* latency, from the moment the
//!   POST actually started, is reported beside it, with how many sends went out late.
//! - **HDR histograms** (the `hdrhistogram` crate, 3 significant digits): p50/p90/p99/p99.9/max per second of
//!   the run and over the measured window.
//! - **The server's CPU apart from the generator's.** The generator runs on its own threads (a separate tokio
//!   runtime whose threads are named [`GENERATOR_THREAD`]); the server is the rest of the process. CPU is read
//!   per thread from `/proc/self/task/*/stat`, so "messages per server CPU-second" does not include the load
//!   generator's own HTTP, WebSocket and JSON work. Against `--target`, `--server-pid` names the server's process
//!   and its CPU is read from `/proc/<pid>/stat`.
//! - In process, the table's items read and written per visitor message from the adapter's own counters
//!   (`Table::stats()`), which include all the background work a message causes (outbox, consumers, sweeps).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use hdrhistogram::Histogram;
use kefu_ports::{Table, TableStats};
use reqwest::{Client, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::{ServeConfig, Server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The most conversations an agent may take at once (the agents API's bound).
const MAX_CONCURRENT: usize = 100;

/// Loopback addresses from this index on sign agents in (visitors' addresses come before).
const AGENT_CLIENTS_FROM: usize = 5000;

/// The name of every thread the load generator runs on: the server's CPU is the process's minus these threads'.
pub const GENERATOR_THREAD: &str = "kefu-loadgen";

/// A send is counted late when it starts more than this after its scheduled time (the timer's own granularity
/// is about a millisecond).
pub const LATE_AFTER: Duration = Duration::from_millis(5);

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Agents online, each with one WebSocket.
    pub agents: usize,
    /// Visitors, each with its own conversation. A visitor may send 30 messages a minute (API.md), so
    /// `visitors` must be at least `rate` × 2.
    pub visitors: usize,
    /// Visitor messages per second to offer.
    pub rate: f64,
    /// How long to send before measuring (connections warm up, caches fill); not counted.
    pub warmup: Duration,
    /// How long to send and measure after the warm-up.
    pub duration: Duration,
    /// Most requests in flight at once (the client's concurrency). A message whose turn comes while every slot
    /// is busy waits, and the wait counts in the corrected latency.
    pub concurrency: usize,
    /// Worker threads of the load generator's own runtime.
    pub generator_threads: usize,
    /// A running `kefu serve` (`http://host:port`) instead of one in this process. Its table counters are not
    /// visible from here.
    pub target: Option<String>,
    /// The process id of the `--target` server, to read its CPU from `/proc/<pid>/stat`.
    pub server_pid: Option<u32>,
    /// The bootstrap token of the target (in process, a random one is made up).
    pub bootstrap_token: Option<String>,
    /// Where the in-process server keeps its data (default: a fresh temporary directory).
    pub data_dir: Option<PathBuf>,
    /// Visitor typing frames per second to offer after the message phase, for `duration` (0: none). Each is a
    /// `POST /v1/widget/typing`, as a widget sends one per keystroke burst; its cost is reported apart.
    pub typing_rate: f64,
    /// Enabled automation rules on `message.received` to create first (0: none): keyword rules, as a shop keeps
    /// them (a `matches` regex and a `contains` word each), that the load's messages do not match, so each
    /// message pays for evaluating them all and for nothing they would do.
    pub rules: usize,
}

/// The numbers of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Agents connected.
    pub agents: usize,
    /// Enabled automation rules the tenant had.
    pub rules: usize,
    /// Visitors (conversations).
    pub visitors: usize,
    /// The offered rate.
    pub offered_per_second: f64,
    /// Seconds of sending.
    pub seconds: f64,
    /// Messages sent.
    pub sent: u64,
    /// Messages accepted (201).
    pub accepted: u64,
    /// Messages refused with 429.
    pub rate_limited: u64,
    /// Other failures (non-201 answers, transport errors).
    pub errors: u64,
    /// `message.created` frames received by agents for the sent messages.
    pub delivered: u64,
    /// Accepted messages whose frame never came (within the drain time).
    pub missing: u64,
    /// Repeated `message.created` frames (same message id, same agent), not counted in `delivered`: the
    /// `notify` consumer's at-least-once copy of a frame pushed at intake, for instance.
    pub duplicate_frames: u64,
    /// Messages delivered to agents per second while sending (frames that came during the drain after it do not
    /// count): what the system sustains.
    pub delivered_per_second: f64,
    /// Sends that started more than [`LATE_AFTER`] after their scheduled time.
    pub late_sends: u64,
    /// How late the sends started, in milliseconds.
    pub send_lag_ms: Percentiles,
    /// Latency from the scheduled send time to the agent's frame (coordinated omission corrected), ms.
    pub latency_ms: Percentiles,
    /// Latency from the actual start of the POST to the agent's frame (what a closed-loop tool reports), ms.
    pub uncorrected_latency_ms: Percentiles,
    /// Every second of the run (warm-up included), by the frames that arrived in it.
    pub per_second: Vec<Second>,
    /// The table's work per accepted message (in process only).
    pub table_per_message: Option<PerMessage>,
    /// Group commits (each one `fdatasync`) of the table's store file per accepted message (in process only).
    pub table_commits_per_message: Option<f64>,
    /// CPU seconds the server used per second of the measured window (in process: every thread but the
    /// generator's; with `--target`, the `--server-pid` process).
    pub server_cpu_cores: Option<f64>,
    /// CPU seconds the load generator used per second of the measured window.
    pub generator_cpu_cores: Option<f64>,
    /// In process: the busiest embedded-store writer thread's CPU per second (one thread per redb file; a
    /// single writer bounds the server's throughput at about delivered ÷ this).
    pub busiest_writer_cpu_cores: Option<f64>,
    /// In process: all embedded-store writer threads' CPU per second (included in the server's).
    pub writers_cpu_cores: Option<f64>,
    /// Delivered messages per server CPU-second: the number that moves least with the neighbours' load.
    pub messages_per_server_cpu_second: Option<f64>,
    /// The typing phase, when asked for.
    pub typing: Option<TypingReport>,
}

/// The cost of visitor typing frames, measured in a phase of their own after the messages.
#[derive(Debug, Clone, Serialize)]
pub struct TypingReport {
    /// Offered typing calls per second.
    pub offered_per_second: f64,
    /// Calls sent / accepted (204).
    pub sent: u64,
    /// Calls answered 204.
    pub accepted: u64,
    /// `typing` frames the agents received.
    pub frames_delivered: u64,
    /// Latency of the call itself (from its scheduled time to the answer), ms.
    pub call_latency_ms: Percentiles,
    /// Table work per accepted call (in process): a typing frame must write nothing.
    pub table_per_call: Option<PerMessage>,
    /// Server CPU microseconds per accepted call.
    pub server_cpu_us_per_call: Option<f64>,
}

/// One second of the run.
#[derive(Debug, Clone, Serialize)]
pub struct Second {
    /// Seconds since sending started (the end of this second).
    pub t: f64,
    /// Frames delivered in this second.
    pub delivered: u64,
    /// Sends that started late in this second.
    pub late_sends: u64,
    /// Corrected latency of the frames that arrived in this second, ms.
    pub latency_ms: Percentiles,
    /// Uncorrected latency of the same frames, ms.
    pub uncorrected_latency_ms: Percentiles,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
    /// How many values.
    pub count: u64,
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// Worst.
    pub max: f64,
}

/// Table work per visitor message.
#[derive(Debug, Clone, Serialize)]
pub struct PerMessage {
    /// Items read per accepted message.
    pub items_read: f64,
    /// Items written per accepted message.
    pub items_written: f64,
    /// Store round trips per accepted message.
    pub requests: f64,
}

/// A histogram of microseconds, 1 µs to an hour at 3 significant digits (it grows past that if it must).
fn histogram() -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
    h.auto(true);
    h
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    let ms = |v: u64| v as f64 / 1000.0;
    Percentiles {
        count: h.len(),
        p50: ms(h.value_at_quantile(0.5)),
        p90: ms(h.value_at_quantile(0.9)),
        p99: ms(h.value_at_quantile(0.99)),
        p999: ms(h.value_at_quantile(0.999)),
        max: ms(h.max()),
    }
}

/// Letters only, so personal-data masking (digits, emails) never touches the probe in a message.
fn encode(mut n: u64) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'a' + (n % 26) as u8);
        n /= 26;
        if n == 0 {
            break;
        }
    }
    s.reverse();
    String::from_utf8(s).expect("ascii")
}

fn decode(s: &str) -> Option<u64> {
    s.bytes().try_fold(0u64, |n, b| b.is_ascii_lowercase().then(|| n * 26 + u64::from(b - b'a')))
}

/// The content of probe message `seq`, whose POST started `at_micros` after the run's start.
fn probe(seq: u64, at_micros: u64) -> String {
    format!("loadtest {} {}", encode(seq), encode(at_micros))
}

fn parse_probe(content: &str) -> Option<(u64, u64)> {
    let mut parts = content.strip_prefix("loadtest ")?.split(' ');
    Some((decode(parts.next()?)?, decode(parts.next()?)?))
}

/// When message `seq` is due, in microseconds after the run's start: sending starts at `send_start` and offers
/// `rate` messages per second.
fn scheduled_micros(send_start: u64, seq: u64, rate: f64) -> u64 {
    send_start + (seq as f64 * 1_000_000.0 / rate) as u64
}

/// Clock ticks per second of `/proc/*/stat` (`USER_HZ`, 100 on every Linux this runs on).
const TICKS_PER_SECOND: f64 = 100.0;

/// The name and utime + stime (seconds) in a `/proc/…/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, f64)> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some((name, ticks / TICKS_PER_SECOND))
}

/// The name (as the kernel keeps it, 15 bytes) of the embedded store's writer threads, one per redb file.
const WRITER_THREAD: &str = "kefu-store-writ";

/// CPU seconds used so far, split between the server and the load generator, and each of the embedded store's
/// writer threads (by thread id): a single writer is the server's first bottleneck.
#[derive(Debug, Clone, Default)]
struct Cpu {
    server: f64,
    generator: f64,
    writers: Vec<(String, f64)>,
}

/// The busiest writer thread's cores and all writers' together, between two readings.
fn writer_cores(before: &Cpu, after: &Cpu, seconds: f64) -> Option<(f64, f64)> {
    let deltas: Vec<f64> = after
        .writers
        .iter()
        .map(|(tid, s)| s - before.writers.iter().find(|(t, _)| t == tid).map_or(0.0, |(_, b)| *b))
        .collect();
    let max = deltas.iter().copied().fold(None, |m: Option<f64>, d| Some(m.map_or(d, |m| m.max(d))))?;
    Some((max / seconds, deltas.iter().sum::<f64>() / seconds))
}

/// Reads the CPU split: in process, every thread named [`GENERATOR_THREAD`] is the generator and the rest of the
/// process (threads that ended included) the server; with a server process id, that process is the server and
/// this whole process the generator. `None` where `/proc` is not there.
fn cpu_split(server_pid: Option<u32>) -> Option<Cpu> {
    let total = parse_stat(&std::fs::read_to_string("/proc/self/stat").ok()?)?.1;
    if let Some(pid) = server_pid {
        let server = parse_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)?.1;
        return Some(Cpu { server, generator: total, writers: Vec::new() });
    }
    let mut generator = 0.0;
    let mut writers = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        match parse_stat(&stat) {
            Some((GENERATOR_THREAD, seconds)) => generator += seconds,
            Some((WRITER_THREAD, seconds)) => writers.push((task.file_name().to_string_lossy().into_owned(), seconds)),
            _ => {}
        }
    }
    Some(Cpu { server: total - generator, generator, writers })
}

/// A corrected and an uncorrected histogram of the same frames.
struct Pair {
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
}

impl Pair {
    fn new() -> Self {
        Self { corrected: histogram(), uncorrected: histogram() }
    }
}

/// What the agents' sockets have seen.
struct Observed {
    /// Probes from this sequence number on are measured (the warm-up's are not).
    measured_from: AtomicU64,
    /// When sending started, microseconds after the run's start (`u64::MAX` before).
    send_start: AtomicU64,
    assigned: AtomicU64,
    delivered: AtomicU64,
    /// `message.created` frames for a message the agent's socket had seen already (the direct push at intake and
    /// the `notify` consumer's at-least-once delivery both send it); dropped as clients drop them.
    duplicates: AtomicU64,
    /// `typing` frames received.
    typing: AtomicU64,
    /// The measured window.
    overall: Mutex<Pair>,
    /// The current second (all frames, warm-up included).
    window: Mutex<Pair>,
}

struct Counters {
    sent: AtomicU64,
    accepted: AtomicU64,
    rate_limited: AtomicU64,
    errors: AtomicU64,
    late: AtomicU64,
}

async fn call(
    client: &Client,
    url: String,
    body: Value,
    headers: &[(&str, &str)],
) -> Result<(StatusCode, Value), BoxError> {
    let mut req = client.post(url).json(&body);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await?;
    let status = res.status();
    let body = res.json::<Value>().await.unwrap_or(Value::Null);
    Ok((status, body))
}

fn expect(what: &str, status: StatusCode, body: &Value, want: StatusCode) -> Result<(), BoxError> {
    if status == want { Ok(()) } else { Err(format!("{what}: {status} {body}").into()) }
}

/// How many failed sends are shown (the rest are only counted).
const SHOWN_ERRORS: u64 = 5;

/// How long the generator keeps an idle connection for reuse: well under the server's idle timeout
/// (`KEFU_IDLE_TIMEOUT_SECS`, 60 s by default), so the server never closes a connection the generator is
/// sending on at that moment (a POST on a connection the server just closed fails, and is not retried). The
/// client's default, 90 s, left that race open: connections opened for a burst sat idle in the pool past 60 s.
const POOL_IDLE: Duration = Duration::from_secs(20);

/// A client whose connections leave from `127.0.0.{n}` (several visitors' IPs on one machine).
fn client_from(n: usize, loopback: bool) -> Result<Client, BoxError> {
    let mut b = Client::builder().pool_max_idle_per_host(256).pool_idle_timeout(POOL_IDLE).tcp_nodelay(true);
    if loopback {
        let n = n + 2;
        b = b.local_address(IpAddr::V4(Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250) as u8 + 1)));
    }
    Ok(b.build()?)
}

/// Runs a load test and prints progress and the report on stdout. The server (in process) runs on the caller's
/// runtime; the generator on a runtime of its own, on threads named [`GENERATOR_THREAD`].
pub async fn run(cfg: LoadConfig) -> Result<Report, BoxError> {
    if cfg.agents == 0 || cfg.visitors == 0 || cfg.rate <= 0.0 || cfg.generator_threads == 0 {
        return Err("--agents, --visitors, --rate and --generator-threads must be positive".into());
    }
    if (cfg.visitors as f64) < cfg.rate * 2.0 {
        println!(
            "note: {} visitors at {}/s send more than 30 messages a minute each; expect 429s (use --visitors {})",
            cfg.visitors,
            cfg.rate,
            (cfg.rate * 2.2).ceil()
        );
    }
    if cfg.target.is_some() && cfg.server_pid.is_none() {
        println!("note: without --server-pid, the target's CPU is not reported");
    }
    let _dir;
    let (server, base, bootstrap): (Option<Server>, String, String) = match &cfg.target {
        Some(t) => {
            let token = cfg.bootstrap_token.clone().ok_or("--target needs the target's KEFU_BOOTSTRAP_TOKEN")?;
            (None, t.trim_end_matches('/').to_owned(), token)
        }
        None => {
            let data_dir = match &cfg.data_dir {
                Some(d) => d.clone(),
                None => {
                    let d = tempfile::tempdir()?;
                    let p = d.path().to_path_buf();
                    _dir = d;
                    p
                }
            };
            let token = kefu_app::identity::secrets::new_secret("lt_");
            let server =
                crate::start(ServeConfig { bootstrap_token: Some(token.clone()), ..ServeConfig::embedded(data_dir) })
                    .await?;
            let base = format!("http://{}", server.addr);
            println!("kefu serve started in process on {base}");
            (Some(server), base, token)
        }
    };
    let table = server.as_ref().map(|s| s.app.table.clone());
    let commits = server.as_ref().and_then(|s| s.embedded_table.clone());
    let (done, result) = tokio::sync::oneshot::channel();
    let generator = {
        let cfg = cfg.clone();
        std::thread::Builder::new().name(GENERATOR_THREAD.into()).spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(cfg.generator_threads)
                .thread_name(GENERATOR_THREAD)
                // Blocking threads that ended would take their CPU out of the generator's column.
                .thread_keep_alive(Duration::from_secs(24 * 3600))
                .enable_all()
                .build();
            let outcome = match runtime {
                Ok(rt) => rt.block_on(drive(&cfg, &base, &bootstrap, table, commits)),
                Err(e) => Err(e.into()),
            };
            let _ = done.send(outcome);
        })?
    };
    let result = result.await.unwrap_or_else(|_| Err("the load generator stopped".into()));
    if let Some(s) = server {
        s.stop().await;
    }
    let _ = tokio::task::spawn_blocking(move || generator.join()).await;
    let report = result?;
    print_report(&report);
    Ok(report)
}

/// Where the measured window began: the time, the table's counters, the CPU split and the store's commits.
struct Mark {
    at: Instant,
    stats: Option<TableStats>,
    cpu: Option<Cpu>,
    commits: Option<u64>,
}

async fn drive(
    cfg: &LoadConfig,
    base: &str,
    bootstrap: &str,
    table: Option<Arc<dyn Table>>,
    commits: Option<Arc<kefu_embedded::EmbeddedTable>>,
) -> Result<Report, BoxError> {
    let loopback = base.contains("://127.") || base.contains("://localhost");
    let admin_client = client_from(0, false)?;
    let password = kefu_app::identity::secrets::new_secret("pw-");

    // A tenant and its admin.
    let (s, created) = call(
        &admin_client,
        format!("{base}/v1/tenants"),
        json!({"name": "Load test", "admin": {"email": "admin@loadtest.kefu.dev", "name": "Admin", "password": password}}),
        &[("x-bootstrap-token", bootstrap)],
    )
    .await?;
    expect("create tenant", s, &created, StatusCode::CREATED)?;
    let tenant = created["tenant_id"].as_str().ok_or("no tenant_id")?.to_owned();
    let widget_key = created["widget_key"].as_str().ok_or("no widget_key")?.to_owned();
    let admin_token = login(&admin_client, base, &tenant, "admin@loadtest.kefu.dev", &password).await?;

    // Agents: created, signed in, online, connected.
    let per_agent = cfg.visitors.div_ceil(cfg.agents) + 1;
    if per_agent > MAX_CONCURRENT {
        return Err(format!(
            "{} visitors need at least {} agents (at most {MAX_CONCURRENT} conversations each)",
            cfg.visitors,
            (cfg.visitors).div_ceil(MAX_CONCURRENT - 1)
        )
        .into());
    }
    let observed = Arc::new(Observed {
        measured_from: AtomicU64::new(u64::MAX),
        send_start: AtomicU64::new(u64::MAX),
        assigned: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        duplicates: AtomicU64::new(0),
        typing: AtomicU64::new(0),
        overall: Mutex::new(Pair::new()),
        window: Mutex::new(Pair::new()),
    });
    let start = Instant::now();
    let rate = cfg.rate;
    let mut sockets = JoinSet::new();
    for i in 0..cfg.agents {
        let email = format!("agent{i}@loadtest.kefu.dev");
        let body = json!({"email": email, "name": format!("Agent {i}"), "password": password, "role_id": "agent",
                          "group_ids": [], "skills": [], "max_concurrent": per_agent});
        let (s, b) = call(
            &admin_client,
            format!("{base}/v1/agents"),
            body,
            &[("authorization", &format!("Bearer {admin_token}"))],
        )
        .await?;
        expect("create agent", s, &b, StatusCode::CREATED)?;
        // Sign-ins are limited per IP too: 20 agents per loopback address.
        let agent_client = client_from(AGENT_CLIENTS_FROM + i / 20, loopback)?;
        let token = login(&agent_client, base, &tenant, &email, &password).await?;
        let res = admin_client
            .put(format!("{base}/v1/me/status"))
            .bearer_auth(&token)
            .json(&json!({"status": "online"}))
            .send()
            .await?;
        if !res.status().is_success() {
            return Err(format!("agent online: {}", res.status()).into());
        }
        // Tickets are limited per IP too: ask from the agent's own address.
        let (s, t) = call(
            &agent_client,
            format!("{base}/v1/realtime/ticket"),
            json!({}),
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await?;
        expect("ticket", s, &t, StatusCode::OK)?;
        let url =
            format!("{}?ticket={}", t["url"].as_str().unwrap_or_default(), t["ticket"].as_str().unwrap_or_default());
        let (ws, _) = tokio_tungstenite::connect_async(url).await?;
        let observed = observed.clone();
        sockets.spawn(async move {
            let (_, mut read) = ws.split();
            // Message ids this agent has seen: a repeated frame is dropped, as the console drops it.
            let mut seen = std::collections::HashSet::new();
            while let Some(Ok(msg)) = read.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = msg else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                match frame["type"].as_str() {
                    Some("conversation.assigned") => {
                        observed.assigned.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("typing") => {
                        observed.typing.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("message.created") => {
                        let id = frame["message"]["id"].as_str().unwrap_or_default();
                        if !seen.insert(id.to_owned()) {
                            observed.duplicates.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let content = frame["message"]["content"].as_str().unwrap_or_default();
                        if let Some((seq, sent_at)) = parse_probe(content) {
                            let now = start.elapsed().as_micros() as u64;
                            let send_start = observed.send_start.load(Ordering::Relaxed);
                            let due = scheduled_micros(send_start, seq, rate);
                            // At least 1 µs: the histogram's lowest value.
                            let corrected = now.saturating_sub(due).max(1);
                            let uncorrected = now.saturating_sub(sent_at).max(1);
                            {
                                let mut w = observed.window.lock().expect("window lock");
                                w.corrected.saturating_record(corrected);
                                w.uncorrected.saturating_record(uncorrected);
                            }
                            if seq >= observed.measured_from.load(Ordering::Relaxed) {
                                observed.delivered.fetch_add(1, Ordering::Relaxed);
                                let mut o = observed.overall.lock().expect("overall lock");
                                o.corrected.saturating_record(corrected);
                                o.uncorrected.saturating_record(uncorrected);
                            }
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    println!("{} agents online and connected ({} conversations each at most)", cfg.agents, per_agent);
    for i in 0..cfg.rules {
        let body = json!({"name": format!("Keyword {i}"), "enabled": true, "position": i, "event": "message.received",
            "conditions": {"any": [
                {"field": "message.content", "op": "matches", "value": format!("(退款|refund)[ -]?{i}\\b")},
                {"field": "message.content", "op": "contains", "value": format!("kw-{i}-")}]},
            "actions": [{"type": "set_priority", "priority": "high"}]});
        let (s, b) = call(
            &admin_client,
            format!("{base}/v1/rules"),
            body,
            &[("authorization", &format!("Bearer {admin_token}"))],
        )
        .await?;
        expect("create rule", s, &b, StatusCode::CREATED)?;
    }
    if cfg.rules > 0 {
        println!("{} automation rules on message.received", cfg.rules);
    }

    // Visitors: conversations started from many loopback addresses (60 starts a minute per IP).
    let clients: Vec<Client> =
        (0..cfg.visitors.div_ceil(50).max(1)).map(|n| client_from(n + 1, loopback)).collect::<Result<_, _>>()?;
    let gate = Arc::new(Semaphore::new(cfg.concurrency.max(1)));
    let mut starts = JoinSet::new();
    for v in 0..cfg.visitors {
        let client = clients[v / 50].clone();
        let (url, key, gate) = (format!("{base}/v1/widget/conversations"), widget_key.clone(), gate.clone());
        starts.spawn(async move {
            let _permit = gate.acquire_owned().await.expect("open semaphore");
            let body = json!({"visitor": {"name": format!("Visitor {v}"), "external_id": format!("lt-{v}")}});
            let (s, b) = call(&client, url, body, &[("x-widget-key", &key)]).await?;
            expect("start conversation", s, &b, StatusCode::CREATED)?;
            Ok::<String, BoxError>(b["visitor_token"].as_str().ok_or("no visitor_token")?.to_owned())
        });
    }
    let mut visitors = Vec::with_capacity(cfg.visitors);
    while let Some(r) = starts.join_next().await {
        visitors.push(r??);
        if visitors.len() % 1000 == 0 {
            println!("  {} conversations started", visitors.len());
        }
    }
    println!("{} conversations started; waiting for routing", visitors.len());
    let routed_by = Instant::now() + Duration::from_secs(120);
    loop {
        let n = observed.assigned.load(Ordering::Relaxed) as usize;
        if n >= cfg.visitors {
            break;
        }
        if Instant::now() > routed_by {
            return Err(format!("only {n} of {} conversations were assigned within 120 s", cfg.visitors).into());
        }
        println!("  {n} assigned");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    println!(
        "all {} conversations assigned; sending {}/s for {} s (the first {} s warm up); latency is from each \
         message's scheduled send time",
        cfg.visitors,
        cfg.rate,
        (cfg.warmup + cfg.duration).as_secs(),
        cfg.warmup.as_secs()
    );

    // Steady state: message `seq` is due at send_start + seq / rate, round-robin over the visitors.
    let counters = Arc::new(Counters {
        sent: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        late: AtomicU64::new(0),
    });
    let visitors: Arc<Vec<String>> = Arc::new(visitors);
    let send_start = Instant::now();
    observed.send_start.store(send_start.duration_since(start).as_micros() as u64, Ordering::Relaxed);
    let total = cfg.warmup + cfg.duration;
    let last_seq = (total.as_secs_f64() * cfg.rate).ceil() as u64;
    let measure_seq = (cfg.warmup.as_secs_f64() * cfg.rate).ceil() as u64;
    let mut measure_start: Option<Mark> = None;
    let mut lag = histogram();
    let mut late_in_second = 0u64;
    let mut per_second = Vec::new();
    let mut last_report = Instant::now();
    let mut last_delivered = 0u64;
    let mut senders = JoinSet::new();
    for seq in 0..last_seq {
        let due = send_start + Duration::from_secs_f64(seq as f64 / cfg.rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        if seq == measure_seq {
            observed.measured_from.store(seq, Ordering::Relaxed);
            measure_start = Some(Mark {
                at: Instant::now(),
                stats: table.as_ref().map(|t| t.stats()),
                cpu: cpu_split(cfg.server_pid),
                commits: commits.as_ref().map(|t| t.commits()),
            });
            println!("  warm-up over: measuring from message {seq}");
        }
        // Every slot busy: this message waits, and its latency keeps counting from `due`.
        let permit = gate.clone().acquire_owned().await.expect("open semaphore");
        let late_by = Instant::now().saturating_duration_since(due);
        let measured = seq >= measure_seq;
        if late_by > LATE_AFTER {
            late_in_second += 1;
            if measured {
                counters.late.fetch_add(1, Ordering::Relaxed);
            }
        }
        if measured {
            lag.saturating_record(late_by.as_micros() as u64);
        }
        let client = clients[(seq as usize) % clients.len()].clone();
        let token = visitors[(seq as usize) % visitors.len()].clone();
        let (counted, url) = (counters.clone(), format!("{base}/v1/widget/messages"));
        let content = probe(seq, start.elapsed().as_micros() as u64);
        senders.spawn(async move {
            let _permit = permit;
            let bearer = format!("Bearer {token}");
            let outcome = call(&client, url, json!({"content": content}), &[("authorization", &bearer)]).await;
            if !measured {
                return;
            }
            counted.sent.fetch_add(1, Ordering::Relaxed);
            match outcome {
                Ok((StatusCode::CREATED, _)) => counted.accepted.fetch_add(1, Ordering::Relaxed),
                Ok((StatusCode::TOO_MANY_REQUESTS, _)) => counted.rate_limited.fetch_add(1, Ordering::Relaxed),
                Ok((status, body)) => {
                    let n = counted.errors.fetch_add(1, Ordering::Relaxed);
                    if n < SHOWN_ERRORS {
                        eprintln!("  send failed: {status} {body}");
                    }
                    n
                }
                Err(e) => {
                    let n = counted.errors.fetch_add(1, Ordering::Relaxed);
                    if n < SHOWN_ERRORS {
                        let mut cause = e.to_string();
                        let mut source = e.source();
                        while let Some(inner) = source {
                            cause.push_str(&format!(": {inner}"));
                            source = inner.source();
                        }
                        eprintln!("  send failed: {cause}");
                    }
                    n
                }
            };
        });
        while senders.try_join_next().is_some() {}
        if last_report.elapsed() >= Duration::from_secs(1) {
            let delivered = observed.delivered.load(Ordering::Relaxed);
            let window = std::mem::replace(&mut *observed.window.lock().expect("window lock"), Pair::new());
            let second = Second {
                t: send_start.elapsed().as_secs_f64(),
                delivered: window.corrected.len(),
                late_sends: late_in_second,
                latency_ms: percentiles(&window.corrected),
                uncorrected_latency_ms: percentiles(&window.uncorrected),
            };
            let (c, u) = (&second.latency_ms, &second.uncorrected_latency_ms);
            println!(
                "  t={:>5.1}s sent {:>7} in flight {:>4} late {:>5} delivered {:>6.0}/s | corrected p50 {:>7.1} \
                 p99 {:>7.1} p99.9 {:>7.1} max {:>7.1} ms | uncorrected p99 {:>7.1} ms | 429s {} errors {}",
                second.t,
                seq + 1,
                cfg.concurrency.max(1) - gate.available_permits(),
                late_in_second,
                delivered.saturating_sub(last_delivered) as f64 / last_report.elapsed().as_secs_f64(),
                c.p50,
                c.p99,
                c.p999,
                c.max,
                u.p99,
                counters.rate_limited.load(Ordering::Relaxed),
                counters.errors.load(Ordering::Relaxed),
            );
            per_second.push(second);
            late_in_second = 0;
            last_delivered = delivered;
            last_report = Instant::now();
        }
    }
    let Mark { at: measured_at, stats: stats_before, cpu: cpu_before, commits: commits_before } =
        measure_start.ok_or("the run ended before the warm-up did")?;
    let seconds = measured_at.elapsed().as_secs_f64();
    let delivered_in_time = observed.delivered.load(Ordering::Relaxed);
    let cpu_after = cpu_split(cfg.server_pid);
    while senders.join_next().await.is_some() {}
    // Let the last frames arrive.
    let drain_by = Instant::now() + Duration::from_secs(10);
    while observed.delivered.load(Ordering::Relaxed) < counters.accepted.load(Ordering::Relaxed)
        && Instant::now() < drain_by
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The frame is pushed at intake, ahead of the consumers: let their work for the last messages finish (no
    // table write for half a second, at most 10 s) so the table's counters hold all of it, and the typing
    // phase does not count it.
    if let Some(t) = &table {
        let quiet_by = Instant::now() + Duration::from_secs(10);
        let mut last = t.stats().items_written;
        while Instant::now() < quiet_by {
            tokio::time::sleep(Duration::from_millis(500)).await;
            let now = t.stats().items_written;
            if now == last {
                break;
            }
            last = now;
        }
    }
    // The CPU of the sending window only: the drain is mostly idle and would flatter the per-second figures.
    let (server_cpu_cores, generator_cpu_cores, writers) = match (&cpu_before, &cpu_after) {
        (Some(a), Some(b)) => (
            Some((b.server - a.server) / seconds),
            Some((b.generator - a.generator) / seconds),
            writer_cores(a, b, seconds),
        ),
        _ => (None, None, None),
    };
    let accepted_n = counters.accepted.load(Ordering::Relaxed).max(1) as f64;
    let table_per_message = match (stats_before, table.as_ref().map(|t| t.stats())) {
        (Some(a), Some(b)) => Some(per_message(a, b, accepted_n)),
        _ => None,
    };
    let table_commits_per_message = match (commits_before, commits.as_ref().map(|t| t.commits())) {
        (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / accepted_n),
        _ => None,
    };
    let typing = if cfg.typing_rate > 0.0 {
        Some(typing_phase(cfg, base, &clients, &visitors, &gate, &observed, table.as_ref()).await)
    } else {
        None
    };
    sockets.abort_all();
    let accepted = counters.accepted.load(Ordering::Relaxed);
    let delivered = observed.delivered.load(Ordering::Relaxed);
    let delivered_per_second = delivered_in_time as f64 / seconds;
    let overall = std::mem::replace(&mut *observed.overall.lock().expect("overall lock"), Pair::new());
    Ok(Report {
        agents: cfg.agents,
        rules: cfg.rules,
        visitors: cfg.visitors,
        offered_per_second: cfg.rate,
        seconds,
        sent: counters.sent.load(Ordering::Relaxed),
        accepted,
        rate_limited: counters.rate_limited.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        delivered,
        missing: accepted.saturating_sub(delivered),
        duplicate_frames: observed.duplicates.load(Ordering::Relaxed),
        delivered_per_second,
        late_sends: counters.late.load(Ordering::Relaxed),
        send_lag_ms: percentiles(&lag),
        latency_ms: percentiles(&overall.corrected),
        uncorrected_latency_ms: percentiles(&overall.uncorrected),
        per_second,
        table_per_message,
        table_commits_per_message,
        server_cpu_cores,
        generator_cpu_cores,
        busiest_writer_cpu_cores: writers.map(|w| w.0),
        writers_cpu_cores: writers.map(|w| w.1),
        messages_per_server_cpu_second: server_cpu_cores.filter(|c| *c > 0.0).map(|c| delivered_per_second / c),
        typing,
    })
}

/// Sends `typing_rate` visitor typing calls a second for `duration`, round-robin over the visitors, and measures
/// what they cost: the table's work (none is expected), the server's CPU, and the frames the agents receive.
async fn typing_phase(
    cfg: &LoadConfig,
    base: &str,
    clients: &[Client],
    visitors: &Arc<Vec<String>>,
    gate: &Arc<Semaphore>,
    observed: &Arc<Observed>,
    table: Option<&Arc<dyn Table>>,
) -> TypingReport {
    println!("typing: {}/s for {} s", cfg.typing_rate, cfg.duration.as_secs());
    let frames_before = observed.typing.load(Ordering::Relaxed);
    let (stats_before, cpu_before) = (table.map(|t| t.stats()), cpu_split(cfg.server_pid));
    let latency = Arc::new(Mutex::new(histogram()));
    let (sent, accepted) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let calls = (cfg.duration.as_secs_f64() * cfg.typing_rate).ceil() as u64;
    let mut tasks = JoinSet::new();
    for seq in 0..calls {
        let due = started + Duration::from_secs_f64(seq as f64 / cfg.typing_rate);
        if due > Instant::now() {
            tokio::time::sleep_until(due.into()).await;
        }
        let permit = gate.clone().acquire_owned().await.expect("open semaphore");
        let client = clients[(seq as usize) % clients.len()].clone();
        let bearer = format!("Bearer {}", visitors[(seq as usize) % visitors.len()]);
        let (url, latency, sent, accepted) =
            (format!("{base}/v1/widget/typing"), latency.clone(), sent.clone(), accepted.clone());
        tasks.spawn(async move {
            let _permit = permit;
            sent.fetch_add(1, Ordering::Relaxed);
            let res = client.post(url).header("authorization", bearer).json(&json!({"typing": true})).send().await;
            if res.is_ok_and(|r| r.status() == StatusCode::NO_CONTENT) {
                accepted.fetch_add(1, Ordering::Relaxed);
            }
            let waited = Instant::now().saturating_duration_since(due).as_micros() as u64;
            latency.lock().expect("latency lock").saturating_record(waited.max(1));
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    let cpu_after = cpu_split(cfg.server_pid);
    // Let the last frames arrive.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let accepted = accepted.load(Ordering::Relaxed);
    let n = accepted.max(1) as f64;
    let server_cpu_us_per_call = match (&cpu_before, &cpu_after) {
        (Some(a), Some(b)) => Some((b.server - a.server) * 1_000_000.0 / n),
        _ => None,
    };
    let table_per_call = match (stats_before, table.map(|t| t.stats())) {
        (Some(a), Some(b)) => Some(per_message(a, b, n)),
        _ => None,
    };
    let call_latency_ms = percentiles(&latency.lock().expect("latency lock"));
    TypingReport {
        offered_per_second: cfg.typing_rate,
        sent: sent.load(Ordering::Relaxed),
        accepted,
        frames_delivered: observed.typing.load(Ordering::Relaxed) - frames_before,
        call_latency_ms,
        table_per_call,
        server_cpu_us_per_call,
    }
}

fn per_message(a: TableStats, b: TableStats, n: f64) -> PerMessage {
    PerMessage {
        items_read: (b.items_read - a.items_read) as f64 / n,
        items_written: (b.items_written - a.items_written) as f64 / n,
        requests: (b.requests - a.requests) as f64 / n,
    }
}

async fn login(client: &Client, base: &str, tenant: &str, email: &str, password: &str) -> Result<String, BoxError> {
    let (s, b) = call(
        client,
        format!("{base}/v1/auth/login"),
        json!({"tenant_id": tenant, "email": email, "password": password}),
        &[],
    )
    .await?;
    expect("sign in", s, &b, StatusCode::OK)?;
    Ok(b["token"].as_str().ok_or("no token")?.to_owned())
}

fn print_report(r: &Report) {
    println!();
    println!("| measure | value |");
    println!("|---|---:|");
    println!("| agents / visitors / rules | {} / {} / {} |", r.agents, r.visitors, r.rules);
    println!("| offered | {:.0} messages/s for {:.1} s |", r.offered_per_second, r.seconds);
    println!("| sent / accepted / 429 / errors | {} / {} / {} / {} |", r.sent, r.accepted, r.rate_limited, r.errors);
    println!("| delivered to agents (missing) | {} ({}) |", r.delivered, r.missing);
    println!("| repeated frames dropped (same message id) | {} |", r.duplicate_frames);
    println!("| **delivered messages/s** | **{:.0}** |", r.delivered_per_second);
    let (l, u, s) = (&r.latency_ms, &r.uncorrected_latency_ms, &r.send_lag_ms);
    println!(
        "| latency from scheduled send (corrected) p50 / p90 / **p99** / p99.9 / max | {:.1} / {:.1} / **{:.1}** / \
         {:.1} / {:.1} ms |",
        l.p50, l.p90, l.p99, l.p999, l.max
    );
    println!(
        "| latency from actual send (uncorrected) p50 / p90 / p99 / p99.9 / max | {:.1} / {:.1} / {:.1} / {:.1} / \
         {:.1} ms |",
        u.p50, u.p90, u.p99, u.p999, u.max
    );
    println!(
        "| late sends (> {} ms after schedule); send lag p99 / max | {} ({:.1} %); {:.1} / {:.1} ms |",
        LATE_AFTER.as_millis(),
        r.late_sends,
        100.0 * r.late_sends as f64 / r.sent.max(1) as f64,
        s.p99,
        s.max
    );
    if let Some(t) = &r.table_per_message {
        println!("| table items read / written per message | {:.2} / {:.2} |", t.items_read, t.items_written);
        println!("| table requests per message | {:.2} |", t.requests);
    }
    if let Some(c) = r.table_commits_per_message {
        println!("| table store commits per message | {c:.3} |");
    }
    if let (Some(s), Some(g)) = (r.server_cpu_cores, r.generator_cpu_cores) {
        println!("| CPU: server / load generator | {s:.2} / {g:.2} cores |");
    }
    if let (Some(b), Some(a)) = (r.busiest_writer_cpu_cores, r.writers_cpu_cores) {
        println!("| store writer threads (in the server's): busiest / all | {b:.2} / {a:.2} cores |");
    }
    if let Some(m) = r.messages_per_server_cpu_second {
        println!("| **messages per server CPU-second** | **{m:.0}** |");
    }
    if let Some(t) = &r.typing {
        println!(
            "| typing: offered / sent / accepted / frames to agents | {:.0}/s / {} / {} / {} |",
            t.offered_per_second, t.sent, t.accepted, t.frames_delivered
        );
        println!(
            "| typing call latency p50 / p99 / max | {:.1} / {:.1} / {:.1} ms |",
            t.call_latency_ms.p50, t.call_latency_ms.p99, t.call_latency_ms.max
        );
        if let Some(w) = &t.table_per_call {
            println!("| typing: table items read / written per call | {:.2} / {:.2} |", w.items_read, w.items_written);
        }
        if let Some(c) = t.server_cpu_us_per_call {
            println!("| typing: server CPU per call | {c:.0} µs |");
        }
    }
    println!();
    println!("{}", serde_json::to_string(r).expect("report serialises"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_round_trip_in_letters_only() {
        for (seq, at) in [(0, 0), (1, 25), (26, 123_456_789), (u64::MAX / 27, 9)] {
            let p = probe(seq, at);
            assert!(!p.bytes().any(|b| b.is_ascii_digit()), "{p}");
            assert_eq!(parse_probe(&p), Some((seq, at)));
        }
        assert_eq!(parse_probe("hello"), None);
        assert_eq!(parse_probe("loadtest a1 b"), None);
    }

    #[test]
    fn percentiles_come_from_the_histogram() {
        let mut h = histogram();
        for ms in 1..=1000u64 {
            h.record(ms * 1000).expect("in range");
        }
        let p = percentiles(&h);
        assert_eq!(p.count, 1000);
        // Three significant digits: each value within 0.1 % of the exact rank.
        for (got, want) in [(p.p50, 500.0), (p.p90, 900.0), (p.p99, 990.0), (p.p999, 999.0), (p.max, 1000.0)] {
            assert!((got - want).abs() <= want / 1000.0, "{got} vs {want}");
        }
        assert_eq!(percentiles(&histogram()).max, 0.0);
    }

    #[test]
    fn the_schedule_counts_from_the_send_start() {
        assert_eq!(scheduled_micros(5_000, 0, 2000.0), 5_000);
        assert_eq!(scheduled_micros(5_000, 1, 2000.0), 5_500);
        assert_eq!(scheduled_micros(0, 4000, 2000.0), 2_000_000);
    }

    #[test]
    fn stat_lines_give_the_thread_name_and_its_cpu() {
        // The name may hold spaces and parentheses; utime and stime are fields 14 and 15.
        let line = "4242 (kefu (x) y) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0 99 0 0";
        assert_eq!(parse_stat(line), Some(("kefu (x) y", 3.0)));
        let cpu = cpu_split(None).expect("Linux has /proc");
        assert!(cpu.server >= 0.0 && cpu.generator >= 0.0, "{cpu:?}");
    }
}
