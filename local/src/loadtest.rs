//! `kefu loadtest`: drives visitors against `kefu serve` and measures what a visitor's message costs and how
//! fast it reaches the agent.
//!
//! It starts a `kefu serve` in this process on a fresh data directory (or targets a running one with
//! `--target`), creates a tenant and `--agents` agents who sign in, go online and open a WebSocket each, and
//! `--visitors` visitors who start conversations through the widget endpoints (from many loopback addresses, since
//! conversation starts are limited per IP) and wait until every conversation is assigned. Then it sends
//! visitor messages at `--rate` per second for `--duration`, round-robin over the visitors, and times each one
//! from the moment its `POST /v1/widget/messages` starts to the moment the `message.created` frame arrives on the
//! assigned agent's WebSocket. It prints progress every second, then a report: messages per second delivered,
//! latency percentiles, errors, and — in process — the table's items read and written per visitor message from
//! the adapter's own counters (`Table::stats()`), which include all the background work a message causes
//! (outbox, consumers, sweeps).

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kefu_ports::TableStats;
use reqwest::{Client, StatusCode};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore};
use tokio::task::JoinSet;

use crate::{ServeConfig, Server};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The most conversations an agent may take at once (the agents API's bound).
const MAX_CONCURRENT: usize = 100;

/// Loopback addresses from this index on sign agents in (visitors' addresses come before).
const AGENT_CLIENTS_FROM: usize = 5000;

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
    /// Most requests in flight at once (the client's concurrency).
    pub concurrency: usize,
    /// A running `kefu serve` (`http://host:port`) instead of one in this process. Its table counters are not
    /// visible from here.
    pub target: Option<String>,
    /// The bootstrap token of the target (in process, a random one is made up).
    pub bootstrap_token: Option<String>,
    /// Where the in-process server keeps its data (default: a fresh temporary directory).
    pub data_dir: Option<PathBuf>,
}

/// The numbers of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Agents connected.
    pub agents: usize,
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
    /// Messages delivered to agents per second while sending (frames that came during the drain after it do not
    /// count): what the system sustains.
    pub delivered_per_second: f64,
    /// Latency percentiles send → agent frame, in milliseconds.
    pub latency_ms: Percentiles,
    /// The table's work per accepted message (in process only).
    pub table_per_message: Option<PerMessage>,
    /// CPU seconds this process used per second of sending (in process: server and load generator together).
    pub cpu_cores_used: Option<f64>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Percentiles {
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

fn percentiles(mut micros: Vec<u32>) -> Percentiles {
    if micros.is_empty() {
        return Percentiles::default();
    }
    micros.sort_unstable();
    let at = |q: f64| {
        let i = ((micros.len() as f64 - 1.0) * q).round() as usize;
        f64::from(micros[i.min(micros.len() - 1)]) / 1000.0
    };
    Percentiles { p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: at(1.0) }
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

/// The content of probe message `seq`, sent `at_micros` after the run's start.
fn probe(seq: u64, at_micros: u64) -> String {
    format!("loadtest {} {}", encode(seq), encode(at_micros))
}

fn parse_probe(content: &str) -> Option<(u64, u64)> {
    let mut parts = content.strip_prefix("loadtest ")?.split(' ');
    Some((decode(parts.next()?)?, decode(parts.next()?)?))
}

/// CPU seconds this process has used (Linux `/proc/self/stat`, utime + stime at 100 ticks per second).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// What the agents' sockets have seen.
struct Observed {
    /// Probes from this sequence number on are measured (the warm-up's are not).
    measured_from: AtomicU64,
    assigned: AtomicU64,
    delivered: AtomicU64,
    latencies: Mutex<Vec<u32>>,
    window: Mutex<Vec<u32>>,
}

struct Counters {
    sent: AtomicU64,
    accepted: AtomicU64,
    rate_limited: AtomicU64,
    errors: AtomicU64,
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

/// A client whose connections leave from `127.0.0.{n}` (several visitors' IPs on one machine).
fn client_from(n: usize, loopback: bool) -> Result<Client, BoxError> {
    let mut b = Client::builder().pool_max_idle_per_host(256).tcp_nodelay(true);
    if loopback {
        let n = n + 2;
        b = b.local_address(IpAddr::V4(Ipv4Addr::new(127, 0, (n / 250) as u8, (n % 250) as u8 + 1)));
    }
    Ok(b.build()?)
}

/// Runs a load test and prints progress and the report on stdout.
pub async fn run(cfg: LoadConfig) -> Result<Report, BoxError> {
    if cfg.agents == 0 || cfg.visitors == 0 || cfg.rate <= 0.0 {
        return Err("--agents, --visitors and --rate must be positive".into());
    }
    if (cfg.visitors as f64) < cfg.rate * 2.0 {
        println!(
            "note: {} visitors at {}/s send more than 30 messages a minute each; expect 429s (use --visitors {})",
            cfg.visitors,
            cfg.rate,
            (cfg.rate * 2.2).ceil()
        );
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
    let result = drive(&cfg, &base, &bootstrap, server.as_ref()).await;
    if let Some(s) = server {
        s.stop().await;
    }
    let report = result?;
    print_report(&report);
    Ok(report)
}

async fn drive(cfg: &LoadConfig, base: &str, bootstrap: &str, server: Option<&Server>) -> Result<Report, BoxError> {
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
        assigned: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        latencies: Mutex::new(Vec::new()),
        window: Mutex::new(Vec::new()),
    });
    let start = Instant::now();
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
            while let Some(Ok(msg)) = read.next().await {
                let tokio_tungstenite::tungstenite::Message::Text(text) = msg else { continue };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                match frame["type"].as_str() {
                    Some("conversation.assigned") => {
                        observed.assigned.fetch_add(1, Ordering::Relaxed);
                    }
                    Some("message.created") => {
                        let content = frame["message"]["content"].as_str().unwrap_or_default();
                        if let Some((seq, sent_at)) = parse_probe(content) {
                            let now = start.elapsed().as_micros() as u64;
                            let micros = u32::try_from(now.saturating_sub(sent_at)).unwrap_or(u32::MAX);
                            observed.window.lock().await.push(micros);
                            if seq >= observed.measured_from.load(Ordering::Relaxed) {
                                observed.delivered.fetch_add(1, Ordering::Relaxed);
                                observed.latencies.lock().await.push(micros);
                            }
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    println!("{} agents online and connected ({} conversations each at most)", cfg.agents, per_agent);

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
        "all {} conversations assigned; sending {}/s for {} s (the first {} s warm up)",
        cfg.visitors,
        cfg.rate,
        (cfg.warmup + cfg.duration).as_secs(),
        cfg.warmup.as_secs()
    );

    // Steady state: messages at the offered rate, round-robin over the visitors; the warm-up is not measured.
    let counters = Arc::new(Counters {
        sent: AtomicU64::new(0),
        accepted: AtomicU64::new(0),
        rate_limited: AtomicU64::new(0),
        errors: AtomicU64::new(0),
    });
    let visitors: Arc<Vec<String>> = Arc::new(visitors);
    let send_start = Instant::now();
    let mut measure_start: Option<(Instant, Option<TableStats>, Option<f64>)> = None;
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    let mut last_report = Instant::now();
    let mut last_delivered = 0u64;
    let mut seq = 0u64;
    let mut senders = JoinSet::new();
    while send_start.elapsed() < cfg.warmup + cfg.duration {
        tick.tick().await;
        if measure_start.is_none() && send_start.elapsed() >= cfg.warmup {
            observed.measured_from.store(seq, Ordering::Relaxed);
            measure_start = Some((Instant::now(), server.map(|s| s.app.table.stats()), cpu_seconds()));
            println!("  warm-up over: measuring from message {seq}");
        }
        let due = (send_start.elapsed().as_secs_f64() * cfg.rate) as u64;
        while seq < due {
            let permit = gate.clone().acquire_owned().await.expect("open semaphore");
            let client = clients[(seq as usize) % clients.len()].clone();
            let token = visitors[(seq as usize) % visitors.len()].clone();
            let (counters, url) = (counters.clone(), format!("{base}/v1/widget/messages"));
            let measured = measure_start.is_some();
            let content = probe(seq, start.elapsed().as_micros() as u64);
            senders.spawn(async move {
                let _permit = permit;
                let bearer = format!("Bearer {token}");
                let outcome = call(&client, url, json!({"content": content}), &[("authorization", &bearer)]).await;
                if !measured {
                    return;
                }
                counters.sent.fetch_add(1, Ordering::Relaxed);
                match outcome {
                    Ok((StatusCode::CREATED, _)) => counters.accepted.fetch_add(1, Ordering::Relaxed),
                    Ok((StatusCode::TOO_MANY_REQUESTS, _)) => counters.rate_limited.fetch_add(1, Ordering::Relaxed),
                    Ok(_) | Err(_) => counters.errors.fetch_add(1, Ordering::Relaxed),
                };
            });
            seq += 1;
        }
        while senders.try_join_next().is_some() {}
        if last_report.elapsed() >= Duration::from_secs(1) {
            let delivered = observed.delivered.load(Ordering::Relaxed);
            let window = percentiles(std::mem::take(&mut *observed.window.lock().await));
            println!(
                "  t={:>4.1}s offered {:>7} in flight {:>4} delivered {:>7} ({:>6.0}/s) p50 {:>6.1} ms p99 {:>7.1} ms 429s {} errors {}",
                send_start.elapsed().as_secs_f64(),
                seq,
                cfg.concurrency.max(1) - gate.available_permits(),
                delivered,
                delivered.saturating_sub(last_delivered) as f64 / last_report.elapsed().as_secs_f64(),
                window.p50,
                window.p99,
                counters.rate_limited.load(Ordering::Relaxed),
                counters.errors.load(Ordering::Relaxed),
            );
            last_delivered = delivered;
            last_report = Instant::now();
        }
    }
    let (measured_at, stats_before, cpu_before) = measure_start.ok_or("the run ended before the warm-up did")?;
    let seconds = measured_at.elapsed().as_secs_f64();
    let delivered_in_time = observed.delivered.load(Ordering::Relaxed);
    while senders.join_next().await.is_some() {}
    // Let the last frames arrive.
    let drain_by = Instant::now() + Duration::from_secs(10);
    while observed.delivered.load(Ordering::Relaxed) < counters.accepted.load(Ordering::Relaxed)
        && Instant::now() < drain_by
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cpu = match (cpu_before, cpu_seconds()) {
        (Some(a), Some(b)) if server.is_some() => Some((b - a) / measured_at.elapsed().as_secs_f64()),
        _ => None,
    };
    let table_per_message = match (stats_before, server.map(|s| s.app.table.stats())) {
        (Some(a), Some(b)) => {
            let n = counters.accepted.load(Ordering::Relaxed).max(1) as f64;
            Some(per_message(a, b, n))
        }
        _ => None,
    };
    sockets.abort_all();
    let accepted = counters.accepted.load(Ordering::Relaxed);
    let delivered = observed.delivered.load(Ordering::Relaxed);
    Ok(Report {
        agents: cfg.agents,
        visitors: cfg.visitors,
        offered_per_second: cfg.rate,
        seconds,
        sent: counters.sent.load(Ordering::Relaxed),
        accepted,
        rate_limited: counters.rate_limited.load(Ordering::Relaxed),
        errors: counters.errors.load(Ordering::Relaxed),
        delivered,
        missing: accepted.saturating_sub(delivered),
        delivered_per_second: delivered_in_time as f64 / seconds,
        latency_ms: percentiles(std::mem::take(&mut *observed.latencies.lock().await)),
        table_per_message,
        cpu_cores_used: cpu,
    })
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
    println!("| agents / visitors | {} / {} |", r.agents, r.visitors);
    println!("| offered | {:.0} messages/s for {:.1} s |", r.offered_per_second, r.seconds);
    println!("| sent / accepted / 429 / errors | {} / {} / {} / {} |", r.sent, r.accepted, r.rate_limited, r.errors);
    println!("| delivered to agents (missing) | {} ({}) |", r.delivered, r.missing);
    println!("| **delivered messages/s** | **{:.0}** |", r.delivered_per_second);
    let l = &r.latency_ms;
    println!("| latency send → agent frame p50 / p90 | {:.1} ms / {:.1} ms |", l.p50, l.p90);
    println!("| **p99** / p99.9 / max | **{:.1} ms** / {:.1} ms / {:.1} ms |", l.p99, l.p999, l.max);
    if let Some(t) = &r.table_per_message {
        println!("| table items read / written per message | {:.2} / {:.2} |", t.items_read, t.items_written);
        println!("| table requests per message | {:.2} |", t.requests);
    }
    if let Some(c) = r.cpu_cores_used {
        println!("| CPU used (server + load generator) | {c:.2} cores |");
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
    fn percentiles_pick_ranks() {
        let p = percentiles((1..=1000).map(|n| n * 1000).collect());
        assert_eq!((p.p50, p.p99, p.max), (501.0, 990.0, 1000.0));
        assert_eq!(percentiles(Vec::new()).max, 0.0);
    }
}
