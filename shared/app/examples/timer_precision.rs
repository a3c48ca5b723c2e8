//! How late timers fire in `kefu serve`: arms `KEFU_TIMERS` (default 300) `unanswered` timers on the embedded due
//! queue, their due times spread over the next `KEFU_TIMER_SPREAD_S` seconds (default 10), each with a delay
//! computed as `timers::arm` computes it, and receives them the way `kefu serve`'s due poller does (batches of
//! 10, a one-second long poll), firing each through `timers::fire`. Prints how long after its due time each
//! one was received and fired: p50, p95, p99, max (milliseconds), and how many came early (none should).
//!
//! `cargo run -p kefu-app --example timer_precision` (an unoptimised build).

use std::sync::Arc;
use std::time::Duration;

use kefu_app::timers::{self, Due};
use kefu_domain::{ConversationId, MessageId, TenantId};

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn pct(sorted: &[i64], p: f64) -> i64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let (n, spread_ms) = (env("KEFU_TIMERS", 300), env("KEFU_TIMER_SPREAD_S", 10) * 1000);
    let e = kefu_app::testing::EmbeddedApp::new(Arc::new(kefu_ports::SystemClock));
    let app = e.app.clone();
    let t = TenantId::generate();
    let start = app.now();
    for i in 0..n {
        let due_at = start + jiff::SignedDuration::from_millis(1000 + (i * spread_ms / n) as i64);
        let due = Due::Unanswered {
            tenant_id: t.clone(),
            conversation_id: ConversationId::generate(),
            message_id: MessageId::generate(),
            since: start,
            minutes: 1,
            due_at,
        };
        timers::arm(&app, &due).await.expect("armed");
    }
    let mut late_ms = Vec::new();
    let mut early = 0;
    while (late_ms.len() as u64) < n {
        let got = app.due.receive(10, timers::VISIBILITY, Duration::from_secs(1)).await.expect("receive");
        for m in got {
            let due: Due = serde_json::from_str(&m.body).expect("a due timer");
            timers::fire(&app, &m.body).await.expect("fired");
            let late = (app.now() - due.due_at()).get_milliseconds();
            if late < 0 {
                early += 1;
            }
            late_ms.push(late);
            app.due.delete(&m.receipt).await.expect("deleted");
        }
    }
    late_ms.sort_unstable();
    println!(
        "{n} timers over {}s: fired after their due time by p50 {} ms, p95 {} ms, p99 {} ms, max {} ms; early: {early}",
        spread_ms / 1000,
        pct(&late_ms, 0.5),
        pct(&late_ms, 0.95),
        pct(&late_ms, 0.99),
        late_ms[late_ms.len() - 1]
    );
}
