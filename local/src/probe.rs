//! `kefu probe-lambda`: runs a Lambda function binary against a local Lambda Runtime API and measures what
//! DESIGN.md's quality bar asks for: start-up to the first event, the first event's handling time, peak
//! memory and size. Read each function against `kefu-lambda-hello`, the baseline built the same way.
//!
//! Each cold process gets the event twice: the first pays for what a process does once (building SDK clients,
//! the first TLS handshake when its AWS endpoint is HTTPS), the second is the same work warm. An SQS event gets
//! fresh message and envelope ids for every delivery, so no delivery is acknowledged as a duplicate of another.

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
    /// The same for the second event, handed over once the first is answered (the process is warm).
    pub second_event_ms: f64,
    /// Peak resident memory (VmHWM) in MiB, after both events.
    pub peak_rss_mib: f64,
    /// Whether the function answered both events with a response (not an error).
    pub ok: bool,
    /// The function's answer to the first event (response or error body).
    pub answer: serde_json::Value,
    /// Its answer to the second event.
    pub second_answer: serde_json::Value,
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
    /// Median second event.
    pub second_event_ms_median: f64,
    /// Median over the runs of first event − second event: what the first event pays for being first.
    pub first_minus_second_ms_median: f64,
    /// Highest peak memory.
    pub peak_rss_mib_max: f64,
    /// Every run.
    pub runs: Vec<ProbeRun>,
}

/// What the function did so far in one run.
#[derive(Default)]
struct Progress {
    first_next: Option<Instant>,
    /// When each event was handed over, in order.
    delivered: Vec<Instant>,
    /// Each event's answer, in order: when, whether a response (not an error), the body.
    answered: Vec<(Instant, bool, serde_json::Value)>,
    /// Whether the function reported an init error.
    init_failed: bool,
}

#[derive(Clone)]
struct Runtime {
    events: Arc<Vec<Bytes>>,
    progress: Arc<Mutex<Progress>>,
    done: Arc<Notify>,
}

async fn next(State(rt): State<Runtime>) -> axum::response::Response {
    let delivery = {
        let mut p = rt.progress.lock().expect("progress");
        let now = Instant::now();
        p.first_next.get_or_insert(now);
        let i = p.delivered.len();
        (i < rt.events.len()).then(|| {
            p.delivered.push(now);
            i
        })
    };
    let Some(i) = delivery else {
        // Every event is handed over: there is no next one; the function waits until it is killed.
        std::future::pending::<()>().await;
        unreachable!("a pending future never completes")
    };
    let mut headers = HeaderMap::new();
    let deadline = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default()
        + Duration::from_secs(300);
    let request_id = HeaderValue::from_str(&format!("probe-invocation-{}", i + 1)).expect("a valid header");
    headers.insert("lambda-runtime-aws-request-id", request_id);
    headers.insert("lambda-runtime-deadline-ms", HeaderValue::from(deadline.as_millis() as u64));
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:kefu-probe"),
    );
    headers.insert("lambda-runtime-trace-id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000"));
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    (StatusCode::OK, headers, rt.events[i].clone()).into_response()
}

fn answer(rt: &Runtime, ok: bool, body: &[u8]) -> StatusCode {
    let at = Instant::now();
    let value = serde_json::from_slice(body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(body).into()));
    let mut p = rt.progress.lock().expect("progress");
    p.answered.push((at, ok, value));
    if p.answered.len() >= rt.events.len() {
        rt.done.notify_one();
    }
    StatusCode::ACCEPTED
}

async fn response(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    answer(&rt, true, &body)
}

async fn error(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    answer(&rt, false, &body)
}

async fn init_error(State(rt): State<Runtime>, body: Bytes) -> StatusCode {
    let text = String::from_utf8_lossy(&body).into_owned();
    let mut p = rt.progress.lock().expect("progress");
    p.init_failed = true;
    p.answered.push((Instant::now(), false, serde_json::Value::String(text)));
    rt.done.notify_one();
    StatusCode::ACCEPTED
}

/// A copy of `event` for one delivery. In an SQS event, each record gets a fresh `messageId` and, when its body
/// is an event envelope with an `id`, a fresh envelope id (a ULID, as the app mints them): consumers then claim
/// and handle it as a new event rather than acknowledge a duplicate, so every delivery does the same work.
/// Other events are handed over as they are.
pub fn delivery(event: &[u8]) -> Bytes {
    use serde_json::Value;
    let Ok(mut v) = serde_json::from_slice::<Value>(event) else { return Bytes::copy_from_slice(event) };
    let Some(records) = v.get_mut("Records").and_then(Value::as_array_mut) else {
        return Bytes::copy_from_slice(event);
    };
    let mut changed = false;
    for r in records.iter_mut().filter(|r| r.get("eventSource").and_then(Value::as_str) == Some("aws:sqs")) {
        let id = ulid::Ulid::new().to_string();
        r["messageId"] = Value::String(format!("probe-message-{id}"));
        if let Some(body) = r.get("body").and_then(Value::as_str)
            && let Ok(mut envelope) = serde_json::from_str::<Value>(body)
            && envelope.get("id").is_some_and(Value::is_string)
        {
            envelope["id"] = Value::String(id);
            r["body"] = Value::String(envelope.to_string());
        }
        changed = true;
    }
    if !changed {
        return Bytes::copy_from_slice(event);
    }
    Bytes::from(serde_json::to_vec(&v).expect("a JSON value serialises"))
}

fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// A local Runtime API on a free port that hands over `events` in order, then nothing.
async fn serve_runtime(
    events: Vec<Bytes>,
) -> Result<(std::net::SocketAddr, Runtime, tokio::task::JoinHandle<std::io::Result<()>>), String> {
    let rt = Runtime { events: Arc::new(events), progress: Arc::default(), done: Arc::new(Notify::new()) };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
        .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(rt.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((addr, rt, server))
}

/// Runs `binary` once with `env`, handing it `event` twice ([`delivery`] copies, one after the other); fails
/// when it does not answer both within `timeout`.
pub async fn run_once(
    binary: &Path,
    event: &[u8],
    env: &[(String, String)],
    timeout: Duration,
) -> Result<ProbeRun, String> {
    let (addr, rt, server) = serve_runtime(vec![delivery(event), delivery(event)]).await?;
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
    let waited = tokio::time::timeout(timeout, rt.done.notified()).await;
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
        return Err(format!("{} did not answer both events within {timeout:?}; stderr: {stderr}", binary.display()));
    }
    if p.init_failed {
        let reason = p.answered.last().map(|a| a.2.to_string()).unwrap_or_default();
        return Err(format!("{} failed its init: {reason}; stderr: {stderr}", binary.display()));
    }
    let first_next = p.first_next.ok_or("no /next")?;
    let ms = |i: usize| -> Result<f64, String> {
        let (delivered, answered) = (p.delivered.get(i).ok_or("an event was not delivered")?, p.answered.get(i));
        Ok((answered.ok_or("an event was not answered")?.0 - *delivered).as_secs_f64() * 1000.0)
    };
    Ok(ProbeRun {
        init_ms: (first_next - started).as_secs_f64() * 1000.0,
        first_event_ms: ms(0)?,
        second_event_ms: ms(1)?,
        peak_rss_mib: peak,
        ok: p.answered.iter().all(|a| a.1),
        answer: p.answered[0].2.clone(),
        second_answer: p.answered[1].2.clone(),
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
            "[{}/{runs}] {}: init {:.1} ms, first event {:.1} ms, second {:.1} ms, peak {:.1} MiB{}",
            i + 1,
            binary.file_name().unwrap_or_default().to_string_lossy(),
            run.init_ms,
            run.first_event_ms,
            run.second_event_ms,
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
        second_event_ms_median: median(all.iter().map(|r| r.second_event_ms).collect()),
        first_minus_second_ms_median: median(all.iter().map(|r| r.first_event_ms - r.second_event_ms).collect()),
        peak_rss_mib_max: all.iter().map(|r| r.peak_rss_mib).fold(0.0, f64::max),
        runs: all,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    const SQS: &str = include_str!("../../infra/events/sqs-tenant-created.json");
    const HTTP: &str = include_str!("../../infra/events/http-health.json");

    fn record(event: &[u8]) -> (Value, Value) {
        let v: Value = serde_json::from_slice(event).expect("JSON");
        let r = v["Records"][0].clone();
        let body = serde_json::from_str(r["body"].as_str().expect("a body")).expect("an envelope");
        (r, body)
    }

    #[test]
    fn each_sqs_delivery_is_a_new_message_with_a_new_event_id() {
        let (original, original_body) = record(SQS.as_bytes());
        let (a, a_body) = record(&delivery(SQS.as_bytes()));
        let (b, b_body) = record(&delivery(SQS.as_bytes()));
        assert_ne!(a["messageId"], original["messageId"]);
        assert_ne!(a["messageId"], b["messageId"]);
        assert_ne!(a_body["id"], original_body["id"]);
        assert_ne!(a_body["id"], b_body["id"]);
        assert!(ulid::Ulid::from_string(a_body["id"].as_str().expect("an id")).is_ok(), "{a_body}");
        // Everything else is the same event.
        for (mut fresh, mut body) in [(a, a_body), (b, b_body)] {
            fresh["messageId"] = original["messageId"].clone();
            body["id"] = original_body["id"].clone();
            assert_eq!(body, original_body);
            fresh["body"] = original["body"].clone();
            assert_eq!(fresh, original);
        }
    }

    #[test]
    fn other_events_are_handed_over_as_they_are() {
        assert_eq!(&delivery(HTTP.as_bytes())[..], HTTP.as_bytes());
        assert_eq!(&delivery(b"not json")[..], b"not json");
    }

    /// Acting as a function: two events come, each with its own request id, then none; both answers count.
    #[tokio::test]
    async fn the_runtime_hands_over_two_events_then_waits() {
        let events = vec![Bytes::from_static(b"{\"n\":1}"), Bytes::from_static(b"{\"n\":2}")];
        let (addr, rt, server) = serve_runtime(events).await.expect("runtime");
        let base = format!("http://{addr}/2018-06-01/runtime");
        let http = reqwest::Client::new();
        for n in 1..=2 {
            let got = http.get(format!("{base}/invocation/next")).send().await.expect("next");
            let id = got.headers()["lambda-runtime-aws-request-id"].to_str().expect("id").to_owned();
            assert_eq!(id, format!("probe-invocation-{n}"));
            assert_eq!(got.json::<Value>().await.expect("event"), serde_json::json!({"n": n}));
            let path = if n == 1 { "response" } else { "error" };
            let sent = http.post(format!("{base}/invocation/{id}/{path}")).body(format!("{{\"answer\":{n}}}"));
            assert_eq!(sent.send().await.expect("answer").status(), 202);
        }
        tokio::time::timeout(Duration::from_secs(1), rt.done.notified()).await.expect("done after two answers");
        let third =
            tokio::time::timeout(Duration::from_millis(200), http.get(format!("{base}/invocation/next")).send()).await;
        assert!(third.is_err(), "no third event");
        let p = rt.progress.lock().expect("progress");
        assert_eq!(p.delivered.len(), 2);
        let answers: Vec<(bool, Value)> = p.answered.iter().map(|a| (a.1, a.2.clone())).collect();
        assert_eq!(answers, [(true, serde_json::json!({"answer": 1})), (false, serde_json::json!({"answer": 2}))]);
        assert!(p.answered[0].0 <= p.delivered[1], "the second event is handed over after the first answer");
        drop(p);
        server.abort();
    }
}
