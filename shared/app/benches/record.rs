//! Reading a stored item into its record, the step every read on the hot path takes (a visitor's message reads
//! its conversation, its token, and for the push the agent's session, account, role and policy).
//!
//! `cargo bench -p kefu-app --bench record`

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_app::conversations::record::ConversationRecord;
use kefu_app::plumbing::keys;
use kefu_app::plumbing::record::Record;
use kefu_domain::ids::{AgentId, ConversationId, CustomerId, TenantId};
use kefu_ports::table::Item;
use serde_json::json;

/// An assigned conversation as the store holds it, with the index attributes no reader declares.
fn conversation() -> Item {
    let (t, c) = (TenantId::generate(), ConversationId::generate());
    keys::conversation(&t, &c).with(json!({
        "type": "conversation", "conversation_id": c, "tenant_id": t, "customer_id": CustomerId::generate(),
        "status": "open", "assignee_id": AgentId::generate(), "group_id": null, "priority": "normal",
        "skills": ["billing", "refunds"], "tags": ["vip"], "page_url": "https://shop.test/checkout",
        "created_at": "2026-03-01T10:00:00Z", "last_message_at": "2026-03-01T10:05:00Z", "version": 7,
        "assigned_at": "2026-03-01T10:00:01Z", "gsi1pk": format!("T#{t}#CONVS"), "gsi1sk": "1772359500000#x",
        "gsi2pk": "x", "gsi2sk": "y",
    }))
}

fn bench(c: &mut Criterion) {
    let item = conversation();
    c.bench_function("record/from_item (conversation)", |b| {
        b.iter_batched(
            || item.clone(),
            |i| black_box(ConversationRecord::from_item(i).unwrap()),
            criterion::BatchSize::SmallInput,
        )
    });
    c.bench_function("record/from_ref (conversation)", |b| {
        b.iter(|| black_box(ConversationRecord::from_ref(black_box(&item)).unwrap()))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
