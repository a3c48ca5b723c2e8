//! A model-based property test: random writes and queries against the embedded table and against a plain
//! ordered map must agree. Keys mix NULs, `#` and multi-byte characters to stress the key encoding, range
//! bounds, cursors and index upkeep. Half the items are long enough to be stored out of line.

use std::collections::BTreeMap;
use std::sync::Arc;

use kefu_embedded::EmbeddedStore;
use kefu_ports::SystemClock;
use kefu_ports::table::{CmpOp, Condition, Index, Item, Key, Query, SkCondition, Table, TableError, Update};
use proptest::prelude::*;
use serde_json::json;

#[derive(Debug, Clone)]
enum Op {
    Put { pk: String, sk: String, n: i64, g: Option<String>, cond: Option<bool> },
    Add { pk: String, sk: String, by: i64, below: Option<i64> },
    Delete { pk: String, sk: String },
    Query { pk: String, sk: Option<SkCondition>, forward: bool, page: usize },
    QueryIndex { g: String, sk: Option<SkCondition>, forward: bool, page: usize },
}

fn part() -> impl Strategy<Value = String> {
    prop::sample::select(vec!["p", "p\0", "pp", "p#1", "é"]).prop_map(str::to_owned)
}

fn sort_key() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!['a', 'b', '\0', '#', 'é', '\u{1}']), 1..4)
        .prop_map(|c| c.into_iter().collect())
}

fn sk_condition() -> impl Strategy<Value = Option<SkCondition>> {
    prop_oneof![
        Just(None),
        sort_key().prop_map(|v| Some(SkCondition::Eq(v))),
        sort_key().prop_map(|v| Some(SkCondition::BeginsWith(v))),
        sort_key().prop_map(|v| Some(SkCondition::Lt(v))),
        sort_key().prop_map(|v| Some(SkCondition::Le(v))),
        sort_key().prop_map(|v| Some(SkCondition::Gt(v))),
        sort_key().prop_map(|v| Some(SkCondition::Ge(v))),
        (sort_key(), sort_key()).prop_map(|(a, b)| Some(SkCondition::Between(a, b))),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (part(), sort_key(), -5i64..5, prop::option::of(part()), prop::option::of(any::<bool>()))
            .prop_map(|(pk, sk, n, g, cond)| Op::Put { pk, sk, n, g, cond }),
        2 => (part(), sort_key(), -3i64..4, prop::option::of(-2i64..6)).prop_map(|(pk, sk, by, below)| Op::Add { pk, sk, by, below }),
        1 => (part(), sort_key()).prop_map(|(pk, sk)| Op::Delete { pk, sk }),
        2 => (part(), sk_condition(), any::<bool>(), 1usize..4).prop_map(|(pk, sk, forward, page)| Op::Query { pk, sk, forward, page }),
        1 => (part(), sk_condition(), any::<bool>(), 1usize..4).prop_map(|(g, sk, forward, page)| Op::QueryIndex { g, sk, forward, page }),
    ]
}

type Model = BTreeMap<(String, String), Item>;

fn item(pk: &str, sk: &str, n: i64, g: Option<&str>) -> Item {
    let mut i = json!({"pk": pk, "sk": sk, "n": n}).as_object().unwrap().clone();
    // Odd items are long enough to be stored out of line, so a put over an item can move its text either way.
    if n.rem_euclid(2) == 1 {
        i.insert("pad".into(), json!("x".repeat(1_100)));
    }
    if let Some(g) = g {
        i.insert("gsi1pk".into(), json!(g));
        i.insert("gsi1sk".into(), json!(format!("{sk}{n}")));
    }
    i
}

async fn all_pages(t: &dyn Table, q: Query, page: usize) -> Vec<Item> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let p = t.query(q.clone().limit(page).after(cursor)).await.unwrap();
        assert!(p.items.len() <= page);
        out.extend(p.items);
        cursor = p.cursor;
        if cursor.is_none() {
            return out;
        }
    }
}

async fn run(ops: Vec<Op>) {
    let dir = tempfile::tempdir().unwrap();
    let store = EmbeddedStore::open(&dir.path().join("m.redb"), Arc::new(SystemClock)).unwrap();
    let t = store.table();
    let mut model: Model = BTreeMap::new();
    for op in ops {
        match op {
            Op::Put { pk, sk, n, g, cond } => {
                let cond = cond.map(|exists| if exists { Condition::Exists } else { Condition::NotExists });
                let current = model.get(&(pk.clone(), sk.clone()));
                let allowed = cond.as_ref().is_none_or(|c| c.evaluate(current, 0));
                let got = t.put(item(&pk, &sk, n, g.as_deref()), cond).await;
                assert_eq!(got.is_ok(), allowed, "put {pk:?}/{sk:?}");
                if allowed {
                    model.insert((pk.clone(), sk.clone()), item(&pk, &sk, n, g.as_deref()));
                } else {
                    assert_eq!(got, Err(TableError::ConditionFailed));
                }
            }
            Op::Add { pk, sk, by, below } => {
                let cond = below.map(|b| Condition::cmp("n", CmpOp::Lt, b));
                let current = model.get(&(pk.clone(), sk.clone()));
                let allowed = cond.as_ref().is_none_or(|c| c.evaluate(current, 0));
                let got = t.update(&Key::new(&pk, &sk), Update::new().add("n", by), cond).await;
                if allowed {
                    let mut next = current.cloned().unwrap_or_else(|| Key::new(&pk, &sk).to_item());
                    Update::new().add("n", by).apply(&mut next).unwrap();
                    assert_eq!(got.as_ref().ok(), Some(&next));
                    model.insert((pk, sk), next);
                } else {
                    assert_eq!(got, Err(TableError::ConditionFailed));
                }
            }
            Op::Delete { pk, sk } => {
                let got = t.delete(&Key::new(&pk, &sk), None).await.unwrap();
                assert_eq!(got, model.remove(&(pk, sk)));
            }
            Op::Query { pk, sk, forward, page } => {
                let mut want: Vec<Item> = model
                    .iter()
                    .filter(|((p, s), _)| *p == pk && sk.as_ref().is_none_or(|c| c.matches(s)))
                    .map(|(_, i)| i.clone())
                    .collect();
                if !forward {
                    want.reverse();
                }
                let q = Query { sk: sk.clone(), forward, ..Query::partition(&pk) };
                assert_eq!(all_pages(&t, q, page).await, want, "query {pk:?} {sk:?} forward={forward}");
            }
            Op::QueryIndex { g, sk, forward, page } => {
                let mut want: Vec<(String, String, String, Item)> = model
                    .values()
                    .filter_map(|i| {
                        let (gp, gs) = Index::Gsi1.key_of(i)?;
                        (gp == g && sk.as_ref().is_none_or(|c| c.matches(&gs))).then(|| {
                            (gs, i["pk"].as_str().unwrap().to_owned(), i["sk"].as_str().unwrap().to_owned(), i.clone())
                        })
                    })
                    .collect();
                want.sort_by(|a, b| (&a.0, &a.1, &a.2).cmp(&(&b.0, &b.1, &b.2)));
                if !forward {
                    want.reverse();
                }
                let want: Vec<Item> = want.into_iter().map(|w| w.3).collect();
                let q = Query { sk: sk.clone(), forward, ..Query::index(Index::Gsi1, &g) };
                assert_eq!(all_pages(&t, q, page).await, want, "index {g:?} {sk:?} forward={forward}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn the_embedded_table_behaves_like_an_ordered_map(ops in prop::collection::vec(op(), 1..60)) {
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
    }
}
