//! Overflow between groups end to end on `kefu serve` (issue 12's timers): a conversation queued in its group
//! for a rule's `after_seconds` is offered to the rule's group too, at that second (a due timer, not a sweep),
//! with `routing.reason = "overflow"` and capacity held; the rules are validated on save.

use std::time::Duration;

use kefu_app::timers::{self, Due, Fired};
use kefu_domain::AgentId;
use kefu_e2e::{TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::shop::{Tenant, tenant};
use crate::timers::{active, conversation_when, online_agent, visitor};

async fn group(t: &TestApp, ten: &Tenant, name: &str, agents: &[&AgentId]) -> String {
    let r = t.post("/v1/groups", json!({"name": name, "agent_ids": agents}), Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

async fn put(t: &TestApp, ten: &Tenant, default_group: &str, overflow: Value) -> kefu_e2e::Reply {
    t.call(
        Method::PUT,
        "/v1/settings/assignment",
        Some(json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": false,
                    "default_group_id": default_group, "overflow": overflow})),
        Some(&ten.admin),
        &[],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn overflow_rules_are_validated_and_a_refusal_changes_nothing() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Rules").await;
    let a = group(&t, &ten, "Pre-sales", &[]).await;
    let b = group(&t, &ten, "After-sales", &[]).await;
    let good = json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 30}]);
    let r = put(&t, &ten, &a, good.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["overflow"], good);
    let missing = "gr_01jd2q8m6xg3r8w6b4s1e2c9va";
    let cases = [
        (json!([{"from_group_id": a, "to_group_id": missing, "after_seconds": 30}]), "overflow[0].to_group_id"),
        (json!([{"from_group_id": "nope", "to_group_id": b, "after_seconds": 30}]), "overflow[0].from_group_id"),
        (json!([{"from_group_id": a, "to_group_id": a, "after_seconds": 30}]), "overflow[0].to_group_id"),
        (json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 0}]), "overflow[0].after_seconds"),
        (json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 86_401}]), "overflow[0].after_seconds"),
        (
            json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 5},
                   {"from_group_id": a, "to_group_id": b, "after_seconds": 9}]),
            "overflow[1]",
        ),
    ];
    for (overflow, field) in cases {
        let r = put(&t, &ten, &a, overflow.clone()).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{overflow}");
    }
    let r = put(&t, &ten, &a, json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 30, "x": 1}])).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "an unknown field: {:?}", r.body);
    let many: Vec<Value> =
        (1..=21).map(|n| json!({"from_group_id": a, "to_group_id": b, "after_seconds": n})).collect();
    let r = put(&t, &ten, &a, json!(many)).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("overflow")));
    let now = t.get("/v1/settings/assignment", Some(&ten.admin)).await;
    assert_eq!(now.body["overflow"], good, "refusals changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_queued_past_its_rule_goes_to_the_next_group_with_capacity_held() {
    let t = spawn_app().await;
    let ten = tenant(&t, "Overflow").await;
    let (pre, _) = online_agent(&t, &ten, 1, 1).await;
    let (after, after_token) = online_agent(&t, &ten, 2, 1).await;
    let a = group(&t, &ten, "Pre-sales", &[&pre]).await;
    let b = group(&t, &ten, "After-sales", &[&after]).await;
    let rule = json!([{"from_group_id": a, "to_group_id": b, "after_seconds": 3}]);
    let r = put(&t, &ten, &a, rule).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // The first visitor takes the pre-sales agent's only slot; the second waits in pre-sales' queue.
    let (first, _) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &first, Duration::from_secs(30), |c| c["assignee_id"] == pre.as_str()).await;
    let (second, _) = visitor(&t, &ten).await;
    let queued =
        conversation_when(&t, &ten, &second, Duration::from_secs(30), |c| c["routing"]["outcome"] == "queued").await;
    let state = kefu_app::assignment::store::conversation(t.app(), &ten.id, &second).await.unwrap().unwrap();
    let queued_at = state.queued_at.expect("a queued conversation has its moment");
    assert_eq!(queued["routing"]["outcome"], "queued");
    let excluded =
        &queued["routing"]["candidates"].as_array().unwrap().iter().find(|x| x["agent_id"] == after.as_str());
    assert_eq!(excluded.unwrap()["excluded"], "not_in_group", "after-sales is not offered before 3 s");

    // At its third second in the queue the due timer offers it to after-sales.
    let moved = conversation_when(&t, &ten, &second, Duration::from_secs(60), |c| c["status"] == "open").await;
    assert_eq!(moved["assignee_id"], after.as_str());
    let routing = &moved["routing"];
    assert_eq!((routing["reason"].as_str(), routing["overflow_group_id"].as_str()), (Some("overflow"), Some(&*b)));
    assert!(routing["queued_seconds"].as_i64().unwrap() >= 3, "never before its time: {routing}");
    assert_eq!(moved["group_id"], Value::Null, "offered to after-sales, its own group is unchanged");
    assert_eq!((active(&t, &ten, &pre).await, active(&t, &ten, &after).await), (1, 1));
    // The same moment delivered again (or late) finds it assigned and does nothing.
    let again = Due::Overflow {
        tenant_id: ten.id.clone(),
        conversation_id: second.clone(),
        queued_at,
        after_seconds: 3,
        due_at: queued_at + jiff::SignedDuration::from_secs(3),
    };
    let body = serde_json::to_string(&again).unwrap();
    assert_eq!(timers::fire(t.app(), &body).await.unwrap(), Fired::Stale);
    assert_eq!((active(&t, &ten, &pre).await, active(&t, &ten, &after).await), (1, 1));

    // Both full: a third visitor waits, offered to both after 3 s; when the after-sales agent frees its slot,
    // the queue drains into it (routing reads the rule, not only the timer).
    let (third, _) = visitor(&t, &ten).await;
    conversation_when(&t, &ten, &third, Duration::from_secs(30), |c| c["routing"]["outcome"] == "queued").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let still = t.get(&format!("/v1/conversations/{third}"), Some(&ten.admin)).await.body;
    assert_eq!(still["status"], "queued", "nobody has room: it waits, {still}");
    let r = t.post(&format!("/v1/conversations/{second}/close"), json!({}), Some(&after_token)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let got = conversation_when(&t, &ten, &third, Duration::from_secs(30), |c| c["status"] == "open").await;
    assert_eq!(
        (got["assignee_id"].as_str(), got["routing"]["reason"].as_str()),
        (Some(after.as_str()), Some("overflow"))
    );
    assert_eq!((active(&t, &ten, &pre).await, active(&t, &ten, &after).await), (1, 1), "capacity held");
}
