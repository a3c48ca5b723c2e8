//! CPU to run a tenant's rules against one event (issue 12 budget: 200 rules under 50 µs), and to build the
//! rule set (parsing and compiling every regular expression) once per change of the rules. See README.md.

#![allow(missing_docs)] // criterion_group! defines a public function that cannot carry a doc comment

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use kefu_domain::CustomerGroupId;
use kefu_domain::automation::{Event, Facts, Rule, RuleSet};
use kefu_domain::conversation::TagName;
use kefu_domain::webhook::WebhookPolicy;
use serde_json::{Value, json};

/// 200 rules of `message.received` as tenants write them: keyword tests (contains, in), a regular expression
/// on every fourth, a customer group or tag test on every third, working hours on every fifth; two to four
/// conditions each, none matching the benchmark's message except a few, so every rule is evaluated.
fn rules(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            let mut all = vec![json!({"field": "message.content", "op": "contains", "value": format!("keyword{i}")})];
            let mut any = vec![];
            if i % 4 == 0 {
                any.push(json!({"field": "message.content", "op": "matches", "value": format!(r"(?i)\border\s*#?{i}\d{{4}}\b")}));
                any.push(json!({"field": "message.content", "op": "in", "value": ["hi", "hello", format!("w{i}")]}));
            }
            if i % 3 == 0 {
                all.push(json!({"field": "customer.group_id", "op": "ne", "value": format!("cg_{:026}", i)}));
                all.push(json!({"field": "customer.tags", "op": "not_contains", "value": format!("t{i}")}));
            }
            if i % 5 == 0 {
                all.push(json!({"field": "time.in_working_hours", "op": "eq", "value": true}));
            }
            if i % 50 == 7 {
                all = vec![json!({"field": "message.content", "op": "contains", "value": "退款"})];
            }
            json!({"name": format!("rule {i}"), "position": i, "event": "message.received",
                "conditions": {"all": all, "any": any},
                "actions": [{"type": "add_tag", "tag": format!("tag{i}")}, {"type": "set_priority", "priority": "high"}]})
        })
        .collect()
}

fn build(json: &[Value]) -> RuleSet {
    RuleSet::new(json.iter().map(|r| (None, Rule::parse(r, WebhookPolicy::AWS).unwrap())))
}

fn bench(c: &mut Criterion) {
    let json = rules(200);
    let set = build(&json);
    let facts = Facts {
        message_content: Some("您好，我上周买的耳机有杂音，订单号 20261130-8891，想申请退款，谢谢！".to_owned()),
        customer_group_id: CustomerGroupId::parse(&format!("cg_{:026}", 3)),
        customer_tags: vec![TagName::parse("returning", "t").unwrap()],
        page_url: Some("https://shop.example.com/orders/8891".to_owned()),
        unanswered_seconds: None,
        in_working_hours: Some(true),
    };
    let out = set.evaluate(Event::MessageReceived, &facts);
    assert_eq!(out.trace.len(), 200);
    assert_eq!(out.matched.len(), 4, "rules 7, 57, 107 and 157 match");
    c.bench_function("evaluate/200 rules, one message", |b| {
        b.iter(|| set.evaluate(Event::MessageReceived, black_box(&facts)))
    });
    let long = Facts { message_content: Some("顾客留言：耳机有杂音。".repeat(180)), ..facts.clone() };
    c.bench_function("evaluate/200 rules, a 2,000-character message", |b| {
        b.iter(|| set.evaluate(Event::MessageReceived, black_box(&long)))
    });
    c.bench_function("build/parse and compile 200 rules", |b| b.iter(|| build(black_box(&json))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
