//! `kefu probe-lambda`: runs a Lambda function binary against a local Lambda Runtime API and measures what
//! DESIGN.md's quality bar asks for: start-up to the first event, the first event's handling time, peak
//! memory and size. Read each function against `kefu-lambda-hello`, the baseline built the same way.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde::Serialize;
use tokio::sync::Notify;

/// One run of a function.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeRun {
    /// From exec to the runtime's first `GET /next` (the function's init).
    pub init_ms: f64,
    /// From handing over the event to the function's answer.
    pub first_event_ms: f64,
    /// Peak resident memory (VmHWM) in MiB.
    pub peak_rss_mib: f64,
    /// Whether the function answered with a response (not an error).
    pub ok: bool,
    /// The function's answer (response or error body).
    pub answer: serde_json::Value,
}

/// What a set of runs showed.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeSummary {
    /// The binary.
    pub binary: PathBuf,
    /// Its size in bytes.
    pub size_bytes: u64,
    /// Its size deflated (as in a Lambda zip), in bytes.
    pub zipped_bytes: u64,
    /// Median init.
    pub init_ms_median: f64,
    /// Median first event.
    pub first_event_ms_median: f64,
    /// Highest peak memory.
    pub peak_rss_mib_max: f64,
    /// Every run.
    pub runs: Vec<ProbeRun>,
}

#[derive(Default)]
struct Progress {
    first_next: Option<Instant>,
    delivered: Option<Instant>,
    answered: Option<(Instant, bool, serde_json::Value)>,
}

#[derive(Clone)]
struct Runtime {
    event: Bytes,
    progress: Arc<Mutex<Progress>>,
    answered: Arc<Notify>,
}

async fn next(State(rt): State<Runtime>) -> axum::response::Response {
    let first = {
        let mut p = rt.progress.lock().expect("progress");
        let now = Instant::now();
        p.first_next.get_or_insert(now);
        if p.delivered.is_some() {
            false
        } else {
            p.delivered = Some(now);
            true
        }
    };
    if !first {
        // The function asks for its next event once it has answered: there is none; it waits until killed.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
        + Duration::from_secs(300);
    headers.insert("lambda-runtime-aws-request-id", HeaderValue::from_static("probe-invocation-1"));
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline.as_millis() as u64));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:kefu-probe"),
    );
    headers.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, rt.event.clone()).into_response()
}

fn answer(rt: &Runtime, ok: bool, body: &[u8]) -> StatusCode {
    let value = serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into()));
    rt.progress.lock().expect("progress").answered.get_or_insert((Instant::now(), ok, value));
    rt.answered.notify_one();
    StatusCode::ACCEPTED
}

async fn response(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    answer(&rt, true, &body)
}

async fn error(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    answer(&rt, false, &body)
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Runs `binary` once on `event` with `env`; fails when it does not answer within `timeout`.
pub async fn run_once(
    binary: &Path,
    event: &[u8],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<ProbeRun, String> {
    let rt =
        Runtime { event: Bytes::copy_from_slice(event), progress: Arc::default(), answered: Arc::new(Notify::new()) };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let started = Instant::now();
    let mut child = tokio::process::Command::new(binary)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "kefu-probe")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/kefu-probe")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "probe")
        .env("RUST_LOG", "warn")
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let pid = child.id().unwrap_or_default();
    let waited = tokio::time::timeout(timeout, rt.answered.notified()).await;
    let peak = peak_rss_mib(pid);
    let _ = child.kill().await;
    server.abort();
    let stderr = match child.stderr.take() {
        Some(mut s) => {
            let mut buf = String::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(1), tokio::io::AsyncReadExt::read_to_string(&mut s, &mut buf))
                    .await;
            buf
        }
        None => String::new(),
    };
    let p = rt.progress.lock().expect("progress");
    if waited.is_err() {
        return Err(format!("{} did not answer within {timeout:?}; stderr: {stderr}", binary.display()));
    }
    let (first_next, delivered) = (p.first_next.ok_or("no /next")?, p.delivered.ok_or("no event delivered")?);
    let (at, ok, body) = p.answered.clone().ok_or("no answer")?;
    Ok(ProbeRun {
        init_ms: (first_next - started).as_secs_f64() * 1000.0,
        first_event_ms: (at - delivered).as_secs_f64() * 1000.0,
        peak_rss_mib: peak,
        ok,
        answer: body,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn zipped_size(binary: &Path) -> u64 {
    use std::io::Write;
    let Ok(bytes) = std::fs::read(binary) else { return 0 };
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::best());
    let _ = enc.write_all(&bytes);
    enc.finish().map_or(0, |b| b.len() as u64)
}

/// Runs `binary` `runs` times, printing progress to stderr, and summarises.
pub async fn probe(binary: &Path, event: &[u8], env: &[(String, String)], runs: usize) -> Result<ProbeSummary, String> {
    let mut all = Vec::with_capacity(runs);
    for i in 0..runs {
        let run = run_once(binary, event, env, Duration::from_secs(30)).await?;
        eprintln!(
            "[{}/{runs}] {}: init {:.1} ms, first event {:.1} ms, peak {:.1} MiB{}",
            i + 1,
            binary.file_name().unwrap_or_default().to_string_lossy(),
            run.init_ms,
            run.first_event_ms,
            run.peak_rss_mib,
            if run.ok { "" } else { " (answered an error)" }
        );
        all.push(run);
    }
    Ok(ProbeSummary {
        binary: binary.to_path_buf(),
        size_bytes: std::fs::metadata(binary).map(|m| m.len()).unwrap_or(0),
        zipped_bytes: zipped_size(binary),
        init_ms_median: median(all.iter().map(|r| r.init_ms).collect()),
        first_event_ms_median: median(all.iter().map(|r| r.first_event_ms).collect()),
        peak_rss_mib_max: all.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
        runs: all,
    })
}
