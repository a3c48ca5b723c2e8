//! Latency of the embedded adapters' operations, one call at a time, on a redb file in a temp dir.
//!
//! Every write is one redb write transaction committed with `Durability::Immediate` (fsync), so the write
//! numbers are mostly the disk's flush latency; reads never touch the disk's write path. What each bench
//! measures, how to run them, and the numbers measured are in `benches/README.md`.
//!
//! Run: `cargo bench -p kefu-embedded --bench embedded` (set `KEFU_BENCH_DIR` to put the database on another
//! file system than the system temp dir).

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use kefu_embedded::{EmbeddedQueue, EmbeddedStore, EmbeddedTable};
use kefu_ports::table::{CmpOp, Condition, Index, Item, Key, Query, Table, TxOp, Update};
use kefu_ports::{Queue, RedrivePolicy, SystemClock};
use serde_json::{Value, json};
use tokio::runtime::Runtime;

/// A tenant-scoped partition, as the application writes them.
const TENANT: &str = "T#01JBENCHTENANT000000000000";

/// A store in a fresh temp dir, kept alive as long as the fixture.
struct Fixture {
    _dir: tempfile::TempDir,
    store: Arc<EmbeddedStore>,
    table: Arc<EmbeddedTable>,
}

fn fixture() -> Fixture {
    let dir = match std::env::var_os("KEFU_BENCH_DIR") {
        Some(base) => tempfile::tempdir_in(base).expect("temp dir in KEFU_BENCH_DIR"),
        None => tempfile::tempdir().expect("temp dir"),
    };
    let store = EmbeddedStore::open(&dir.path().join("kefu.redb"), Arc::new(SystemClock)).expect("open store");
    let table = Arc::new(store.table());
    Fixture { _dir: dir, store, table }
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("tokio runtime")
}

fn item(v: Value) -> Item {
    v.as_object().expect("object").clone()
}

/// A message-sized item (about 400 bytes of JSON), like the ones the intake path will write.
fn message(pk: &str, sk: &str) -> Item {
    item(json!({
        "pk": pk, "sk": sk, "type": "message", "author": "visitor", "conversation_id": "01JBENCHCONV0000000000000",
        "text": "Hello, I ordered a blue kettle last week and it has not arrived yet. Could you check order 48213?",
        "at": "2025-01-01T12:00:00Z", "attachments": [], "tags": ["order", "shipping"],
    }))
}

/// A unique sort key per call, so conditional puts never collide.
fn next_id(counter: &AtomicU64, prefix: &str) -> String {
    format!("{prefix}{:016}", counter.fetch_add(1, Ordering::Relaxed))
}

fn table_benches(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture();
    let table = f.table.clone();

    // Seed: one item to read, one agent with a load counter, a 100-item partition that is also a gsi1 partition.
    rt.block_on(async {
        table.put(message(TENANT, "MSG#hit"), None).await.unwrap();
        table
            .put(item(json!({"pk": TENANT, "sk": "AGENT#a1", "type": "agent", "active": 0, "max_concurrent": 1_000_000_000})), None)
            .await
            .unwrap();
        table.put(item(json!({"pk": TENANT, "sk": "TENANT", "type": "tenant"})), None).await.unwrap();
        for i in 0..100 {
            let mut m = message(&format!("{TENANT}#CONV#c100"), &format!("MSG#{i:04}"));
            m.insert("gsi1pk".into(), json!(format!("{TENANT}#INBOX")));
            m.insert("gsi1sk".into(), json!(format!("2025-01-01T12:00:{i:02}Z#{i:04}")));
            table.put(m, None).await.unwrap();
        }
    });

    let mut g = c.benchmark_group("table");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);

    let hit = Key::new(TENANT, "MSG#hit");
    g.bench_function("get_hit", |b| {
        b.to_async(&rt).iter(|| async { table.get(&hit).await.unwrap().expect("hit") });
    });

    g.bench_function("put", |b| {
        b.to_async(&rt).iter_batched(
            || message(TENANT, "MSG#overwritten"),
            |it| async { table.put(it, None).await.unwrap() },
            BatchSize::SmallInput,
        );
    });

    let ids = AtomicU64::new(0);
    g.bench_function("put_not_exists", |b| {
        b.to_async(&rt).iter_batched(
            || message(TENANT, &next_id(&ids, "MSG#new#")),
            |it| async { table.put(it, Some(Condition::NotExists)).await.unwrap() },
            BatchSize::SmallInput,
        );
    });

    // 64 writers at once: the group commit makes them share fsyncs, so this is far less than 64 × `put`.
    g.throughput(criterion::Throughput::Elements(64));
    g.bench_function("put_not_exists_64_concurrent", |b| {
        b.to_async(&rt).iter(|| {
            let table = table.clone();
            let batch: Vec<Item> = (0..64).map(|_| message(TENANT, &next_id(&ids, "MSG#conc#"))).collect();
            async move {
                let tasks: Vec<_> = batch
                    .into_iter()
                    .map(|it| {
                        let table = table.clone();
                        tokio::spawn(async move { table.put(it, Some(Condition::NotExists)).await.unwrap() })
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            }
        });
    });
    g.throughput(criterion::Throughput::Elements(1));

    let agent = Key::new(TENANT, "AGENT#a1");
    g.bench_function("update_add_cmp", |b| {
        b.to_async(&rt).iter(|| async {
            let cap = Condition::And(vec![Condition::Exists, Condition::cmp("active", CmpOp::Lt, 1_000_000_000)]);
            table.update(&agent, Update::new().add("active", 1), Some(cap)).await.unwrap()
        });
    });

    g.bench_function("query_100_limit_20", |b| {
        b.to_async(&rt).iter(|| async {
            let page =
                table.query(Query::partition(format!("{TENANT}#CONV#c100")).prefix("MSG#").limit(20)).await.unwrap();
            assert_eq!(page.items.len(), 20);
            page
        });
    });

    g.bench_function("query_gsi1_100_limit_20", |b| {
        b.to_async(&rt).iter(|| async {
            let page =
                table.query(Query::index(Index::Gsi1, format!("{TENANT}#INBOX")).backwards().limit(20)).await.unwrap();
            assert_eq!(page.items.len(), 20);
            page
        });
    });

    // The shape of an assignment: take a slot on the agent (capacity condition), store the conversation and its
    // outbox entry, and check the tenant still exists — one transaction, four items.
    let tx_ids = AtomicU64::new(0);
    g.bench_function("transact_4", |b| {
        b.to_async(&rt).iter_batched(
            || {
                let id = next_id(&tx_ids, "");
                vec![
                    TxOp::Update {
                        key: agent.clone(),
                        update: Update::new().add("active", 1),
                        condition: Some(Condition::cmp("active", CmpOp::Lt, 1_000_000_000)),
                    },
                    TxOp::Put { item: message(TENANT, &format!("CONV#{id}")), condition: Some(Condition::NotExists) },
                    TxOp::Put {
                        item: item(json!({"pk": format!("OUTBOX#{}", id.len() % 8), "sk": id, "type": "conversation.created", "body": "{}"})),
                        condition: Some(Condition::NotExists),
                    },
                    TxOp::Check { key: Key::new(TENANT, "TENANT"), condition: Condition::Exists },
                ]
            },
            |ops| async { table.transact(ops).await.unwrap() },
            BatchSize::SmallInput,
        );
    });
    g.finish();
    drop(f);
}

/// Sends `n` messages in batches of ten.
async fn fill(q: &EmbeddedQueue, n: u64) {
    let body = r#"{"id":"01JBENCHEVENT000000000000","type":"message.received","tenant_id":"t","at":"2025-01-01T12:00:00Z","data":{}}"#;
    let mut left = n;
    while left > 0 {
        let k = left.min(10);
        let bodies: Vec<String> = (0..k).map(|_| body.to_owned()).collect();
        q.send_batch(&bodies).await.unwrap();
        left -= k;
    }
}

fn queue_benches(c: &mut Criterion) {
    let rt = runtime();
    let f = fixture();
    let policy = |name: &str| Some(RedrivePolicy { dead_letter_queue: format!("{name}-dlq"), max_receive_count: 5 });
    let sent = f.store.queue("sent", policy("sent"));
    let cycled = f.store.queue("cycled", policy("cycled"));
    let body = r#"{"id":"01JBENCHEVENT000000000000","type":"message.received","tenant_id":"t","at":"2025-01-01T12:00:00Z","data":{}}"#;
    let batch: Vec<String> = (0..10).map(|_| body.to_owned()).collect();

    let mut g = c.benchmark_group("queue");
    g.measurement_time(Duration::from_secs(3)).warm_up_time(Duration::from_secs(1)).sample_size(20);

    g.bench_function("send", |b| {
        b.to_async(&rt).iter(|| async { sent.send(body).await.unwrap() });
    });

    g.bench_function("send_batch_10", |b| {
        b.to_async(&rt).iter(|| async { sent.send_batch(&batch).await.unwrap() });
    });

    // Only the receive and the delete are timed; the messages are sent before the clock starts.
    g.bench_function("receive_delete", |b| {
        b.to_async(&rt).iter_custom(|iters| {
            let q = &cycled;
            async move {
                fill(q, iters).await;
                let start = Instant::now();
                for _ in 0..iters {
                    let got = q.receive(1, Duration::from_secs(180), Duration::ZERO).await.unwrap();
                    let m = got.first().expect("a message is waiting");
                    q.delete(&m.receipt).await.unwrap();
                }
                start.elapsed()
            }
        });
    });

    // A consumer settling a batch of ten: ten deletes at once (ten write jobs, which one group commit takes
    // together) against one `delete_batch` (one write job). Receives are not timed.
    let settled = f.store.queue("settled", policy("settled"));
    for (name, batched) in [("settle_10_deletes", false), ("settle_10_delete_batch", true)] {
        g.bench_function(name, |b| {
            b.to_async(&rt).iter_custom(|iters| {
                let q = &settled;
                async move {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        fill(q, 10).await;
                        let got = q.receive(10, Duration::from_secs(180), Duration::ZERO).await.unwrap();
                        let receipts: Vec<String> = got.iter().map(|m| m.receipt.clone()).collect();
                        let start = Instant::now();
                        if batched {
                            q.delete_batch(&receipts).await.unwrap();
                        } else {
                            futures::future::join_all(receipts.iter().map(|r| q.delete(r))).await;
                        }
                        spent += start.elapsed();
                    }
                    spent
                }
            });
        });
    }
    g.finish();
    drop(f);
}

criterion_group!(benches, table_benches, queue_benches);
criterion_main!(benches);
