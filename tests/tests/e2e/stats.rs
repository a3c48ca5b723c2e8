//! Statistics and the live board end to end: conversations started, assigned, answered and closed through the
//! API are counted by the `notify` consumer as the events arrive, and `GET /v1/stats` answers exactly what was
//! created (JSON and CSV); `GET /v1/live` shows the queue and the agents now; bad parameters are 400 and a role
//! without `stats.view` is refused.

use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(15);
const AGENT_PASSWORD: &str = "a long enough agent password";

struct Shop {
    t: TestApp,
    tenant: String,
    admin_id: String,
    admin: String,
    widget_key: String,
}

impl Shop {
    async fn new() -> Self {
        let t = spawn_app().await;
        let created = t.create_tenant("Acme", "li@acme.test").await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
        Self {
            admin_id: created["admin_id"].as_str().unwrap().to_owned(),
            widget_key: created["widget_key"].as_str().unwrap().to_owned(),
            tenant,
            admin,
            t,
        }
    }

    async fn start(&self, body: Value) -> (String, String) {
        let r = self.t.start_conversation(&self.widget_key, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        (r.body["conversation_id"].as_str().unwrap().to_owned(), r.body["visitor_token"].as_str().unwrap().to_owned())
    }

    async fn status(&self, status: &str) {
        let r =
            self.t.call(Method::PUT, "/v1/me/status", Some(json!({"status": status})), Some(&self.admin), &[]).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    }

    async fn stats(&self, query: &str) -> Value {
        let r = self.t.get(&format!("/v1/stats{query}"), Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("{v} is not a count"))
}

#[tokio::test]
async fn statistics_count_exactly_what_was_created() {
    let s = Shop::new().await;
    let group = s.t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [s.admin_id]}), Some(&s.admin)).await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let sales = group.body["id"].as_str().unwrap().to_owned();
    s.status("online").await;

    let (c1, v1) = s.start(json!({"group_id": sales})).await;
    let (c2, v2) = s.start(json!({})).await;
    let (c3, v3) = s.start(json!({})).await;
    for v in [&v1, &v2, &v3] {
        for text in ["hello", "is anyone there?"] {
            assert_eq!(s.t.visitor_send(v, text).await.status, StatusCode::CREATED);
        }
    }
    for c in [&c1, &c2, &c3] {
        let path = format!("/v1/conversations/{c}");
        let assigned = eventually(WAIT, || async {
            s.t.get(&path, Some(&s.admin)).await.body["assignee_id"] == s.admin_id.as_str()
        })
        .await;
        assert!(assigned, "{c} was routed to the online admin");
    }
    for (c, body) in [
        (&c1, json!({"content": "hi, how can I help?"})),
        (&c1, json!({"content": "VIP customer", "internal": true})),
        (&c2, json!({"content": "good morning"})),
    ] {
        let r = s.t.post(&format!("/v1/conversations/{c}/messages"), body, Some(&s.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let closed = s.t.post(&format!("/v1/conversations/{c1}/close"), json!({}), Some(&s.admin)).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);

    // Six visitor messages and two replies; the internal note is not a message of the statistics. The counts
    // arrive as the consumer handles the events: wait for the last of them (the close's resolution).
    let settled = eventually(WAIT, || async {
        let r = s.stats("").await;
        r["messages"] == 8 && r["resolution_seconds"]["median"].is_u64() && r["by_agent"][0]["conversations"] == 3
    })
    .await;
    let r = s.stats("").await;
    assert!(settled, "the statistics caught up: {r}");
    assert_eq!((n(&r["conversations"]), n(&r["messages"])), (3, 8), "{r}");
    assert_eq!(n(&r["closed"]), 1, "one conversation was closed: {r}");
    assert!(r["first_response_seconds"]["median"].is_u64() && r["first_response_seconds"]["p90"].is_u64(), "{r}");
    assert!(r["avg_first_response_seconds"].is_number(), "{r}");
    assert_eq!(r["csat"], json!({"good": 0, "neutral": 0, "bad": 0}), "nobody rated yet");

    // Ratings: a visitor rates bad, then changes its mind (counted once, as good); another rates neutral.
    for (v, score) in [(&v1, 1), (&v1, 3), (&v2, 2)] {
        let r = s.t.post("/v1/widget/rating", json!({"score": score}), Some(v)).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    let rated =
        eventually(WAIT, || async { s.stats("").await["csat"] == json!({"good": 1, "neutral": 1, "bad": 0}) }).await;
    let r = s.stats("").await;
    assert!(rated, "each conversation's rating counts once: {}", r["csat"]);
    let _ = &v3;
    let agents = r["by_agent"].as_array().unwrap();
    assert_eq!(agents.len(), 1, "{r}");
    assert_eq!(agents[0]["agent_id"], s.admin_id.as_str());
    assert_eq!((n(&agents[0]["conversations"]), n(&agents[0]["messages"])), (3, 2), "its replies: {r}");
    let groups: Vec<(Value, u64)> =
        r["by_group"].as_array().unwrap().iter().map(|g| (g["group_id"].clone(), n(&g["conversations"]))).collect();
    assert!(groups.contains(&(Value::Null, 2)) && groups.contains(&(json!(sales), 1)), "{groups:?}");
    let days = r["by_day"].as_array().unwrap();
    assert!(!days.is_empty() && days.len() <= 8, "the last seven days in the tenant's zone: {}", days.len());
    let by_day = |f: &str| days.iter().map(|d| n(&d[f])).sum::<u64>();
    assert_eq!(
        (by_day("conversations"), by_day("closed"), by_day("messages")),
        (3, 1, 8),
        "the days add up to the total"
    );

    // Filters: the group's conversation; the agent's assigned conversations and replies.
    let g = s.stats(&format!("?group_id={sales}")).await;
    assert_eq!((n(&g["conversations"]), n(&g["messages"])), (1, 3), "{g}");
    let a = s.stats(&format!("?agent_id={}", s.admin_id)).await;
    assert_eq!((n(&a["conversations"]), n(&a["messages"])), (3, 2), "{a}");
    let bh = s.stats("?business_hours=true").await;
    assert_eq!(bh["business_hours"], true);
    assert_eq!(n(&bh["conversations"]), 3, "without working hours business time is wall-clock time");

    // The same numbers as CSV.
    let csv = s.t.client.get(format!("{}/v1/stats?format=csv", s.t.base)).bearer_auth(&s.admin).send().await.unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = csv.text().await.unwrap();
    assert!(text.starts_with("day,conversations,closed,messages,"), "{text}");
    assert!(text.lines().last().unwrap().starts_with("total,3,1,8,"), "{text}");

    // The live board: the admin holds the two open conversations, nobody waits.
    let live = s.t.get("/v1/live", Some(&s.admin)).await;
    assert_eq!(live.status, StatusCode::OK, "{:?}", live.body);
    assert_eq!(live.body["queued"], json!({"high": 0, "normal": 0, "low": 0}));
    assert!(live.body["longest_wait_seconds"].is_null());
    let me = &live.body["agents"][0];
    assert_eq!((me["agent_id"].as_str(), me["name"].as_str()), (Some(s.admin_id.as_str()), Some("Admin")));
    assert_eq!((me["status"].as_str(), n(&me["active"]), n(&me["idle_seconds"])), (Some("online"), 2, 0));
    let _ = (&c3, &s.tenant);
}

#[tokio::test]
async fn the_live_board_shows_the_queue_and_bad_parameters_are_refused() {
    let s = Shop::new().await;
    let (c1, _) = s.start(json!({})).await;
    let (c2, _) = s.start(json!({})).await;
    for c in [&c1, &c2] {
        let path = format!("/v1/conversations/{c}");
        // Routing has looked at it (nobody is online, so it waits in the queue).
        let routed =
            eventually(WAIT, || async { !s.t.get(&path, Some(&s.admin)).await.body["routing"].is_null() }).await;
        assert!(routed, "routing never looked at {c}");
    }
    let live = s.t.get("/v1/live", Some(&s.admin)).await;
    assert_eq!(live.body["queued"], json!({"high": 0, "normal": 2, "low": 0}), "{:?}", live.body);
    assert!(live.body["longest_wait_seconds"].is_u64());
    let me = &live.body["agents"][0];
    assert_eq!((me["status"].as_str(), n(&me["active"])), (Some("offline"), 0));
    assert!(me["idle_seconds"].is_null(), "an offline agent is not idle");

    for (query, field) in [
        ("?since=yesterday", "since"),
        ("?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("?since=2020-01-01T00:00:00Z&until=2026-01-01T00:00:00Z", "until"),
        ("?agent_id=nobody", "agent_id"),
        ("?group_id=x", "group_id"),
        ("?business_hours=yes", "business_hours"),
        ("?format=xml", "format"),
    ] {
        let r = s.t.get(&format!("/v1/stats{query}"), Some(&s.admin)).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field)),
            "{query}"
        );
    }

    let agent = s.t.add_staff(&s.tenant, "ann@acme.test", "agent", AGENT_PASSWORD).await;
    let token = s.t.login(&s.tenant, "ann@acme.test", AGENT_PASSWORD).await;
    for path in ["/v1/stats", "/v1/live"] {
        let r = s.t.get(path, Some(&token)).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{path} needs stats.view");
    }
    let _ = agent;
}
