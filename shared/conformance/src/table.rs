//! Table conformance: the DynamoDB subset of `kefu_ports::table`.

use std::sync::Arc;

use kefu_ports::table::{
    CmpOp, Condition, Cursor, Index, Item, Key, Query, SkCondition, Table, TableError, TxOp, Update,
};
use serde_json::{Value, json};

fn item(v: Value) -> Item {
    v.as_object().expect("an object").clone()
}

fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i["sk"].as_str().unwrap().to_owned()).collect()
}

/// Put stores the whole item, get returns it, a second put replaces it.
pub async fn put_get_and_replace(t: Arc<dyn Table>) {
    let pk = crate::unique("T");
    let key = Key::new(&pk, "A");
    assert_eq!(t.get(&key).await.unwrap(), None);
    let first = item(json!({"pk": pk, "sk": "A", "name": "Li Lei", "n": 1, "tags": ["a", "b"], "m": {"x": true}}));
    t.put(first.clone(), None).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap(), Some(first.clone()));
    let stored = t.get_stored(&key).await.unwrap().expect("stored");
    assert_eq!(stored.into_item().unwrap(), first, "get_stored reads what get reads");
    let second = item(json!({"pk": pk, "sk": "A", "other": "x"}));
    t.put(second.clone(), None).await.unwrap();
    assert_eq!(t.get(&key).await.unwrap(), Some(second.clone()));
    assert_eq!(t.get_stored(&key).await.unwrap().unwrap().into_item().unwrap(), second);
    assert_eq!(t.get(&Key::new(&pk, "B")).await.unwrap(), None);
    assert_eq!(t.get_stored(&Key::new(&pk, "B")).await.unwrap(), None);
}

/// `NotExists` protects a first write; `Exists` protects an overwrite; comparisons read the stored item.
pub async fn conditional_put(t: Arc<dyn Table>) {
    let pk = crate::unique("T");
    let it = item(json!({"pk": pk, "sk": "A", "v": 1}));
    t.put(it.clone(), Some(Condition::Exists)).await.expect_err("nothing to overwrite");
    t.put(it.clone(), Some(Condition::NotExists)).await.unwrap();
    assert_eq!(t.put(it.clone(), Some(Condition::NotExists)).await, Err(TableError::ConditionFailed));
    let newer = item(json!({"pk": pk, "sk": "A", "v": 2}));
    assert_eq!(t.put(newer.clone(), Some(Condition::cmp("v", CmpOp::Gt, 5))).await, Err(TableError::ConditionFailed));
    t.put(newer.clone(), Some(Condition::And(vec![Condition::Exists, Condition::cmp("v", CmpOp::Lt, 2)])))
        .await
        .unwrap();
    assert_eq!(t.get(&Key::new(&pk, "A")).await.unwrap(), Some(newer));
    t.put(it.clone(), Some(Condition::AttrNotExists("v".into()))).await.expect_err("v is there");
    t.put(it.clone(), Some(Condition::Or(vec![Condition::eq("v", 9), Condition::AttrExists("v".into())])))
        .await
        .unwrap();
}

/// Update creates a missing item from its key, sets, adds, removes and answers the new item.
pub async fn update_semantics(t: Arc<dyn Table>) {
    let pk = crate::unique("T");
    let key = Key::new(&pk, "C");
    let created = t.update(&key, Update::new().set("name", "x").add("count", 2), None).await.unwrap();
    assert_eq!(Value::Object(created), json!({"pk": pk, "sk": "C", "name": "x", "count": 2}));
    let updated = t
        .update(&key, Update::new().add("count", 3).remove("name").set_if_absent("first", "keep"), None)
        .await
        .unwrap();
    assert_eq!(Value::Object(updated), json!({"pk": pk, "sk": "C", "count": 5, "first": "keep"}));
    let again = t.update(&key, Update::new().set_if_absent("first", "no"), None).await.unwrap();
    assert_eq!(again["first"], json!("keep"));
    let refused = t.update(&key, Update::new().add("count", 1), Some(Condition::cmp("count", CmpOp::Lt, 5))).await;
    assert_eq!(refused, Err(TableError::ConditionFailed));
    assert_eq!(t.get(&key).await.unwrap().unwrap()["count"], json!(5), "a failed condition changes nothing");
    let missing = Key::new(&pk, "none");
    assert_eq!(
        t.update(&missing, Update::new().set("a", 1), Some(Condition::Exists)).await,
        Err(TableError::ConditionFailed)
    );
    assert_eq!(t.get(&missing).await.unwrap(), None);
}

/// Optimistic concurrency with a `version` attribute.
pub async fn version_checks(t: Arc<dyn Table>) {
    let pk = crate::unique("T");
    let key = Key::new(&pk, "V");
    t.put(item(json!({"pk": pk, "sk": "V", "version": 1})), Some(Condition::version(0))).await.unwrap();
    assert_eq!(
        t.put(item(json!({"pk": pk, "sk": "V", "version": 1})), Some(Condition::version(0))).await,
        Err(TableError::ConditionFailed)
    );
    t.update(&key, Update::new().set("version", 2), Some(Condition::version(1))).await.unwrap();
    assert_eq!(
        t.update(&key, Update::new().set("version", 2), Some(Condition::version(1))).await,
        Err(TableError::ConditionFailed)
    );
    assert_eq!(t.get(&key).await.unwrap().unwrap()["version"], json!(2));
}

/// Delete answers what was stored; a failing condition keeps it.
pub async fn conditional_delete(t: Arc<dyn Table>) {
    let pk = crate::unique("T");
    let key = Key::new(&pk, "D");
    assert_eq!(t.delete(&key, None).await.unwrap(), None);
    let it = item(json!({"pk": pk, "sk": "D", "state": "open"}));
    t.put(it.clone(), None).await.unwrap();
    assert_eq!(t.delete(&key, Some(Condition::eq("state", "closed"))).await, Err(TableError::ConditionFailed));
    assert_eq!(t.delete(&key, Some(Condition::eq("state", "open"))).await.unwrap(), Some(it));
    assert_eq!(t.get(&key).await.unwrap(), None);
    assert_eq!(t.delete(&key, Some(Condition::Exists)).await, Err(TableError::ConditionFailed));
}

async fn seed_partition(t: &dyn Table, pk: &str) {
    for sk in ["MSG#01", "MSG#02", "MSG#03", "MSG#10", "NOTE#01", "A", "Z"] {
        t.put(item(json!({"pk": pk, "sk": sk})), None).await.unwrap();
    }
    t.put(item(json!({"pk": format!("{pk}x"), "sk": "MSG#00"})), None).await.unwrap();
}

/// Sort-key ranges and prefixes, both directions, one partition only.
pub async fn query_ranges_and_order(t: Arc<dyn Table>) {
    let pk = crate::unique("Q");
    seed_partition(t.as_ref(), &pk).await;
    let q = |c: Option<SkCondition>| Query { sk: c, ..Query::partition(&pk) };
    let all = t.query(q(None)).await.unwrap();
    assert_eq!(sks(&all.items), ["A", "MSG#01", "MSG#02", "MSG#03", "MSG#10", "NOTE#01", "Z"]);
    let msgs = t.query(q(Some(SkCondition::BeginsWith("MSG#".into())))).await.unwrap();
    assert_eq!(sks(&msgs.items), ["MSG#01", "MSG#02", "MSG#03", "MSG#10"]);
    let back = t.query(Query::partition(&pk).prefix("MSG#").backwards()).await.unwrap();
    assert_eq!(sks(&back.items), ["MSG#10", "MSG#03", "MSG#02", "MSG#01"]);
    let between = t.query(q(Some(SkCondition::Between("MSG#02".into(), "MSG#10".into())))).await.unwrap();
    assert_eq!(sks(&between.items), ["MSG#02", "MSG#03", "MSG#10"]);
    assert_eq!(sks(&t.query(q(Some(SkCondition::Gt("MSG#10".into())))).await.unwrap().items), ["NOTE#01", "Z"]);
    assert_eq!(sks(&t.query(q(Some(SkCondition::Ge("NOTE#01".into())))).await.unwrap().items), ["NOTE#01", "Z"]);
    assert_eq!(sks(&t.query(q(Some(SkCondition::Lt("MSG#01".into())))).await.unwrap().items), ["A"]);
    assert_eq!(sks(&t.query(q(Some(SkCondition::Le("MSG#01".into())))).await.unwrap().items), ["A", "MSG#01"]);
    assert_eq!(sks(&t.query(q(Some(SkCondition::Eq("Z".into())))).await.unwrap().items), ["Z"]);
    assert!(t.query(Query::partition(crate::unique("empty"))).await.unwrap().items.is_empty());
}

async fn collect(t: &dyn Table, base: Query, page: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut cursor: Option<Cursor> = None;
    for _ in 0..100 {
        let p = t.query(base.clone().limit(page).after(cursor.clone())).await.unwrap();
        assert!(p.items.len() <= page);
        out.extend(sks(&p.items));
        match p.cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
    panic!("pagination did not end");
}

/// Limits and opaque cursors walk a partition without loss or repetition, both ways.
pub async fn query_pagination(t: Arc<dyn Table>) {
    let pk = crate::unique("P");
    seed_partition(t.as_ref(), &pk).await;
    let forward = collect(t.as_ref(), Query::partition(&pk), 2).await;
    assert_eq!(forward, ["A", "MSG#01", "MSG#02", "MSG#03", "MSG#10", "NOTE#01", "Z"]);
    let backward = collect(t.as_ref(), Query::partition(&pk).prefix("MSG#").backwards(), 3).await;
    assert_eq!(backward, ["MSG#10", "MSG#03", "MSG#02", "MSG#01"]);
    let first = t.query(Query::partition(&pk).limit(1)).await.unwrap();
    assert!(first.cursor.is_some(), "a full page says there may be more");
    let bad = t.query(Query::partition(&pk).after(Some(Cursor("%%%".into())))).await;
    assert!(matches!(bad, Err(TableError::Invalid(_))), "a garbage cursor is refused: {bad:?}");
}

/// Secondary indexes see items that carry their key, follow updates and deletes, and page with cursors.
pub async fn secondary_indexes(t: Arc<dyn Table>) {
    let g = crate::unique("G");
    for (pk, at) in [("c1", "2026-01-03"), ("c2", "2026-01-01"), ("c3", "2026-01-02")] {
        let pk = format!("{g}#{pk}");
        t.put(
            item(json!({"pk": pk, "sk": "META", "gsi1pk": g, "gsi1sk": at, "gsi2pk": format!("{g}#2"), "gsi2sk": pk})),
            None,
        )
        .await
        .unwrap();
    }
    t.put(item(json!({"pk": format!("{g}#c4"), "sk": "META"})), None).await.unwrap();
    let dates = |items: &[Item]| items.iter().map(|i| i["gsi1sk"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    let all = t.query(Query::index(Index::Gsi1, &g)).await.unwrap();
    assert_eq!(dates(&all.items), ["2026-01-01", "2026-01-02", "2026-01-03"]);
    assert_eq!(all.items[0]["pk"], json!(format!("{g}#c2")), "indexes project the whole item");
    let recent =
        t.query(Query::index(Index::Gsi1, &g).sk(SkCondition::Ge("2026-01-02".into())).backwards()).await.unwrap();
    assert_eq!(dates(&recent.items), ["2026-01-03", "2026-01-02"]);
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let p = t.query(Query::index(Index::Gsi1, &g).limit(1).after(cursor)).await.unwrap();
        seen.extend(dates(&p.items));
        cursor = p.cursor;
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["2026-01-01", "2026-01-02", "2026-01-03"]);
    t.update(&Key::new(format!("{g}#c2"), "META"), Update::new().set("gsi1sk", "2026-01-09"), None).await.unwrap();
    t.update(&Key::new(format!("{g}#c3"), "META"), Update::new().remove("gsi1pk"), None).await.unwrap();
    t.delete(&Key::new(format!("{g}#c1"), "META"), None).await.unwrap();
    let after = t.query(Query::index(Index::Gsi1, &g)).await.unwrap();
    assert_eq!(dates(&after.items), ["2026-01-09"]);
    assert_eq!(t.query(Query::index(Index::Gsi2, format!("{g}#2"))).await.unwrap().items.len(), 2);
}

/// All operations apply, or none; the failing positions are reported.
pub async fn transactions_all_or_nothing(t: Arc<dyn Table>) {
    let pk = crate::unique("X");
    t.put(item(json!({"pk": pk, "sk": "agent", "active": 2, "max": 2})), None).await.unwrap();
    t.put(item(json!({"pk": pk, "sk": "gone"})), None).await.unwrap();
    let assign = |conv: &str| {
        vec![
            TxOp::Update {
                key: Key::new(&pk, "agent"),
                update: Update::new().add("active", 1),
                condition: Some(Condition::cmp("active", CmpOp::Lt, 2)),
            },
            TxOp::Put {
                item: item(json!({"pk": pk, "sk": conv, "assignee": "agent"})),
                condition: Some(Condition::NotExists),
            },
            TxOp::Delete { key: Key::new(&pk, "gone"), condition: None },
        ]
    };
    assert_eq!(t.transact(assign("conv1")).await, Err(TableError::TransactionCanceled { failed: vec![0] }));
    assert_eq!(t.get(&Key::new(&pk, "conv1")).await.unwrap(), None, "nothing of a cancelled transaction lands");
    assert!(t.get(&Key::new(&pk, "gone")).await.unwrap().is_some());
    t.update(&Key::new(&pk, "agent"), Update::new().set("active", 1), None).await.unwrap();
    t.transact(assign("conv1")).await.unwrap();
    assert_eq!(t.get(&Key::new(&pk, "agent")).await.unwrap().unwrap()["active"], json!(2));
    assert!(t.get(&Key::new(&pk, "conv1")).await.unwrap().is_some());
    assert_eq!(t.get(&Key::new(&pk, "gone")).await.unwrap(), None);
    let twice = vec![
        TxOp::Check { key: Key::new(&pk, "conv1"), condition: Condition::NotExists },
        TxOp::Put { item: item(json!({"pk": pk, "sk": "new"})), condition: None },
        TxOp::Check { key: Key::new(&pk, "agent"), condition: Condition::eq("active", 0) },
    ];
    assert_eq!(t.transact(twice).await, Err(TableError::TransactionCanceled { failed: vec![0, 2] }));
    assert_eq!(t.get(&Key::new(&pk, "new")).await.unwrap(), None);
}

/// Up to 100 operations; more, none, or one item twice is invalid.
pub async fn transaction_limits(t: Arc<dyn Table>) {
    let pk = crate::unique("L");
    let ops = |n: usize| -> Vec<TxOp> {
        (0..n).map(|i| TxOp::Put { item: item(json!({"pk": pk, "sk": format!("{i:03}")})), condition: None }).collect()
    };
    t.transact(ops(100)).await.unwrap();
    assert_eq!(t.query(Query::partition(&pk)).await.unwrap().items.len(), 100);
    assert!(matches!(t.transact(ops(101)).await, Err(TableError::Invalid(_))));
    assert!(matches!(t.transact(Vec::new()).await, Err(TableError::Invalid(_))));
    let dup = vec![
        TxOp::Put { item: item(json!({"pk": pk, "sk": "d"})), condition: None },
        TxOp::Delete { key: Key::new(&pk, "d"), condition: None },
    ];
    assert!(matches!(t.transact(dup).await, Err(TableError::Invalid(_))));
}

/// An item whose `ttl` has passed is gone for reads and for existence conditions.
pub async fn ttl_hides_expired_items(t: Arc<dyn Table>) {
    let pk = crate::unique("E");
    t.put(item(json!({"pk": pk, "sk": "old", "ttl": now() - 60})), None).await.unwrap();
    t.put(item(json!({"pk": pk, "sk": "new", "ttl": now() + 3600})), None).await.unwrap();
    assert_eq!(t.get(&Key::new(&pk, "old")).await.unwrap(), None);
    assert_eq!(t.get_stored(&Key::new(&pk, "old")).await.unwrap(), None, "get_stored hides it too");
    assert!(t.get(&Key::new(&pk, "new")).await.unwrap().is_some());
    assert!(t.get_stored(&Key::new(&pk, "new")).await.unwrap().is_some());
    assert_eq!(sks(&t.query(Query::partition(&pk)).await.unwrap().items), ["new"]);
    t.put(item(json!({"pk": pk, "sk": "old", "claimed": true})), Some(Condition::NotExists)).await.unwrap();
    assert_eq!(t.get(&Key::new(&pk, "old")).await.unwrap().unwrap()["claimed"], json!(true));
    assert_eq!(
        t.put(item(json!({"pk": pk, "sk": "new"})), Some(Condition::NotExists)).await,
        Err(TableError::ConditionFailed)
    );
}

/// Many writers racing on one counter with a cap: the cap holds exactly.
pub async fn concurrent_conditional_updates(t: Arc<dyn Table>) {
    let pk = crate::unique("R");
    let key = Key::new(&pk, "agent");
    t.put(item(json!({"pk": pk, "sk": "agent", "active": 0})), None).await.unwrap();
    let tasks: Vec<_> = (0..24)
        .map(|i| {
            let t = t.clone();
            let key = key.clone();
            let pk = pk.clone();
            tokio::spawn(async move {
                loop {
                    let r = t
                        .transact(vec![
                            TxOp::Update {
                                key: key.clone(),
                                update: Update::new().add("active", 1),
                                condition: Some(Condition::cmp("active", CmpOp::Lt, 5)),
                            },
                            TxOp::Put {
                                item: item(json!({"pk": pk, "sk": format!("conv{i:02}")})),
                                condition: Some(Condition::NotExists),
                            },
                        ])
                        .await;
                    match r {
                        Err(TableError::Conflict) => continue,
                        other => return other.is_ok(),
                    }
                }
            })
        })
        .collect();
    let mut won = 0;
    for task in tasks {
        if task.await.unwrap() {
            won += 1;
        }
    }
    assert_eq!(won, 5);
    assert_eq!(t.get(&key).await.unwrap().unwrap()["active"], json!(5));
    assert_eq!(t.query(Query::partition(&pk).prefix("conv")).await.unwrap().items.len(), 5);
}

/// Items without a proper key, and updates of the key, are refused and change nothing.
pub async fn bad_input_is_rejected(t: Arc<dyn Table>) {
    let pk = crate::unique("B");
    assert!(matches!(t.put(item(json!({"pk": pk})), None).await, Err(TableError::Invalid(_))));
    assert!(matches!(t.put(item(json!({"pk": pk, "sk": 1})), None).await, Err(TableError::Invalid(_))));
    assert!(matches!(
        t.update(&Key::new(&pk, "a"), Update::new().set("pk", "other"), None).await,
        Err(TableError::Invalid(_))
    ));
    assert!(t.query(Query::partition(&pk)).await.unwrap().items.is_empty());
}

/// The adapter's counters count as DynamoDB bills: a get reads one item (found or not), a query the items it
/// returns, a transaction's checks read and its other operations write, a conditional write's condition is part
/// of the write, and a refused request moves no item. Each call is one request. Asks for a table of its own (a
/// fresh adapter instance), so the counts are this case's alone.
pub async fn stats_count_alike(t: Arc<dyn Table>) {
    let pk = crate::unique("S");
    let start = t.stats();
    let delta = |before: kefu_ports::table::TableStats| {
        let now = t.stats();
        (now.items_read - before.items_read, now.items_written - before.items_written, now.requests - before.requests)
    };
    for sk in ["a", "b", "c"] {
        t.put(item(json!({"pk": pk, "sk": sk, "v": 1})), Some(Condition::NotExists)).await.unwrap();
    }
    assert_eq!(delta(start), (0, 3, 3), "three conditional puts: written, not read");

    let before = t.stats();
    assert!(t.get(&Key::new(&pk, "a")).await.unwrap().is_some());
    assert!(t.get(&Key::new(&pk, "none")).await.unwrap().is_none());
    assert_eq!(delta(before), (2, 0, 2), "a get reads one item, found or not");
    let before = t.stats();
    assert!(t.get_stored(&Key::new(&pk, "a")).await.unwrap().is_some());
    assert!(t.get_stored(&Key::new(&pk, "none")).await.unwrap().is_none());
    assert_eq!(delta(before), (2, 0, 2), "get_stored counts as a get");

    let before = t.stats();
    assert_eq!(t.query(Query::partition(&pk)).await.unwrap().items.len(), 3);
    assert_eq!(t.query(Query::partition(&pk).limit(2)).await.unwrap().items.len(), 2);
    assert_eq!(delta(before), (5, 0, 2), "a query reads the items it returns");

    let before = t.stats();
    t.update(&Key::new(&pk, "a"), Update::new().add("v", 1), Some(Condition::eq("v", 1))).await.unwrap();
    assert!(t.delete(&Key::new(&pk, "b"), Some(Condition::Exists)).await.unwrap().is_some());
    assert_eq!(delta(before), (0, 2, 2), "an update and a delete write one item each");

    let before = t.stats();
    assert_eq!(
        t.put(item(json!({"pk": pk, "sk": "c"})), Some(Condition::NotExists)).await,
        Err(TableError::ConditionFailed)
    );
    assert_eq!(
        t.update(&Key::new(&pk, "a"), Update::new().add("v", 1), Some(Condition::eq("v", 1))).await.unwrap_err(),
        TableError::ConditionFailed
    );
    assert_eq!(delta(before), (0, 0, 2), "a refused write moves no item");

    let before = t.stats();
    t.transact(vec![
        TxOp::Check { key: Key::new(&pk, "c"), condition: Condition::Exists },
        TxOp::Put { item: item(json!({"pk": pk, "sk": "d"})), condition: Some(Condition::NotExists) },
        TxOp::Update { key: Key::new(&pk, "a"), update: Update::new().add("v", 1), condition: None },
        TxOp::Delete { key: Key::new(&pk, "c"), condition: None },
    ])
    .await
    .expect_err("one item twice");
    t.transact(vec![
        TxOp::Check { key: Key::new(&pk, "c"), condition: Condition::Exists },
        TxOp::Put { item: item(json!({"pk": pk, "sk": "d"})), condition: Some(Condition::NotExists) },
        TxOp::Update { key: Key::new(&pk, "a"), update: Update::new().add("v", 1), condition: None },
    ])
    .await
    .unwrap();
    assert_eq!(
        t.transact(vec![
            TxOp::Check { key: Key::new(&pk, "b"), condition: Condition::Exists },
            TxOp::Delete { key: Key::new(&pk, "d"), condition: None },
        ])
        .await,
        Err(TableError::TransactionCanceled { failed: vec![0] })
    );
    let (read, written, requests) = delta(before);
    assert_eq!((read, written), (1, 2), "one check read, a put and an update written; the refused ones moved nothing");
    // A transaction refused before it is sent (one item twice) may or may not count as a request.
    assert!((2..=3).contains(&requests), "{requests}");
    assert!(t.get(&Key::new(&pk, "d")).await.unwrap().is_some(), "the cancelled delete changed nothing");
}
