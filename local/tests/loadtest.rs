//! `kefu loadtest` end to end at a tiny scale: every message a visitor sends reaches its agent's WebSocket, and
//! the report adds up (no timing is asserted: the numbers are for people, in docs/performance.md).

use std::time::Duration;

use kefu_local::loadtest::{LoadConfig, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_load_reaches_every_agent_and_reports_table_work() {
    let report = run(LoadConfig {
        agents: 2,
        visitors: 8,
        rate: 4.0,
        warmup: Duration::from_secs(1),
        duration: Duration::from_secs(2),
        concurrency: 8,
        generator_threads: 1,
        target: None,
        server_pid: None,
        bootstrap_token: None,
        data_dir: None,
        typing_rate: 10.0,
        rules: 3,
    })
    .await
    .expect("the load test runs");
    assert!(report.sent >= 6, "{report:?}");
    assert_eq!(report.accepted, report.sent, "{report:?}");
    assert_eq!((report.rate_limited, report.errors, report.missing), (0, 0, 0), "{report:?}");
    assert_eq!(report.delivered, report.accepted);
    assert_eq!(report.rules, 3);
    let table = report.table_per_message.clone().expect("in process, the table's counters are read");
    assert!(table.items_written >= 3.0 && table.items_read >= 1.0, "{table:?}");
    assert!(report.latency_ms.max > 0.0 && report.latency_ms.p50 <= report.latency_ms.max);
    // Both latencies count every measured frame, from the HDR histograms.
    assert_eq!(report.latency_ms.count, report.delivered, "{report:?}");
    assert_eq!(report.uncorrected_latency_ms.count, report.delivered, "{report:?}");
    assert_eq!(report.send_lag_ms.count, report.sent, "{report:?}");
    assert!(!report.per_second.is_empty(), "{report:?}");
    // The server's CPU and the generator's are read apart (from /proc, per thread).
    assert!(report.server_cpu_cores.is_some() && report.generator_cpu_cores.is_some(), "{report:?}");
    // And the embedded store's writer threads', which the server's includes.
    let (busiest, all) =
        (report.busiest_writer_cpu_cores.expect("a writer"), report.writers_cpu_cores.expect("writers"));
    assert!(busiest <= all && all <= report.server_cpu_cores.unwrap_or(0.0) + 0.05, "{report:?}");
    // Typing: every call answered, a frame to the assignee for each, and not one table write.
    let typing = report.typing.clone().expect("the typing phase ran");
    assert!(typing.sent >= 10 && typing.accepted == typing.sent, "{typing:?}");
    assert_eq!(typing.frames_delivered, typing.accepted, "{typing:?}");
    let work = typing.table_per_call.expect("in process");
    assert_eq!(work.items_written, 0.0, "typing writes nothing: {work:?}");
}
