//! CPU per intake request: everything a visitor's send computes besides the store round trips — parse the
//! JSON body, validate the content, build the message, conversation and idempotency-claim operations, the
//! `message.received` event and its outbox entry. Budget: under 50 µs per request (see README.md).

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kefu_app::conversations::next_message_id;
use kefu_app::conversations::widget::{Visitor, plan_send};
use kefu_app::plumbing::outbox;
use kefu_domain::{ConversationId, CustomerId, TenantId};

fn visitor() -> Visitor {
    Visitor {
        tenant_id: TenantId::generate(),
        conversation_id: ConversationId::generate(),
        customer_id: CustomerId::generate(),
        token_hash: "0".repeat(64),
    }
}

fn body(chars: usize) -> Vec<u8> {
    let text: String =
        "你好, I ordered a kettle last week and it has not arrived yet. ".chars().cycle().take(chars).collect();
    serde_json::to_vec(&serde_json::json!({ "content": text })).expect("json")
}

fn intake(c: &mut Criterion) {
    let v = visitor();
    let config = kefu_app::Config::default();
    let at: jiff::Timestamp = "2026-11-25T04:00:00Z".parse().expect("time");
    let mut group = c.benchmark_group("intake");
    group.throughput(Throughput::Elements(1));
    for (name, chars, key) in [
        ("send_120_chars", 120, None),
        ("send_120_chars_idempotency_key", 120, Some("retry-7f3c2a")),
        ("send_4000_chars", 4000, None),
    ] {
        let b = body(chars);
        group.bench_function(name, |bench| {
            bench.iter(|| {
                let plan = plan_send(black_box(&b), &v, key, next_message_id(at), at).expect("valid");
                let mut ops = plan.ops;
                ops.extend(
                    outbox::ops_for(config.outbox_one_partition, std::slice::from_ref(&plan.event))
                        .expect("outbox entry"),
                );
                black_box(ops)
            })
        });
    }
    let bad = serde_json::to_vec(&serde_json::json!({ "content": "x".repeat(4001) })).expect("json");
    group.bench_function("refuse_4001_chars", |bench| {
        bench.iter(|| black_box(plan_send(black_box(&bad), &v, None, next_message_id(at), at).is_err()))
    });
    group.finish();
}

criterion_group!(benches, intake);
criterion_main!(benches);
