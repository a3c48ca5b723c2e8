//! Auto-replies (issue 12), over HTTP: `GET|PUT /v1/settings/auto_reply` (`settings.manage`, checked, audited);
//! a new conversation gets the welcome message, and the off-hours reply when its working hours are closed —
//! a holiday closes them, an override opens them again —; both reach the visitor like an agent's reply and
//! never count as a first response.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Shop {
    t: TestApp,
    tenant: String,
    widget_key: String,
    admin: String,
}

async fn shop(t: TestApp, email: &str) -> Shop {
    let created = t.create_tenant("Acme", email).await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, email, ADMIN_PASSWORD).await;
    Shop { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
}

impl Shop {
    async fn put(&self, path: &str, body: Value) -> kefu_e2e::Reply {
        self.t.call(Method::PUT, path, Some(body), Some(&self.admin), &[]).await
    }

    /// A visitor starts a conversation; answers its id and bot messages once the automation consumer has greeted it
    /// with `bots` bot messages (and, when `bots` is 0, once the conversation is routed, which comes after).
    async fn visit(&self, bots: usize) -> (String, Vec<Value>) {
        let started = self.t.start_conversation(&self.widget_key, json!({"visitor": {"name": "Zhang"}})).await;
        assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
        let token = started.body["visitor_token"].as_str().unwrap().to_owned();
        let id = started.body["conversation_id"].as_str().unwrap().to_owned();
        let path = format!("/v1/conversations/{id}");
        let polled = || async {
            let items = self.t.visitor_poll(&token, None).await.body["items"].as_array().cloned().unwrap_or_default();
            items.into_iter().filter(|m| m["author"] == "bot").collect::<Vec<Value>>()
        };
        let settled = eventually(std::time::Duration::from_secs(10), || async {
            polled().await.len() >= bots && !self.t.get(&path, Some(&self.admin)).await.body["routing"].is_null()
        })
        .await;
        assert!(settled);
        (id, polled().await)
    }
}

#[tokio::test]
async fn the_settings_are_checked_audited_and_need_the_permission() {
    let s = shop(spawn_app().await, "li@acme.test").await;
    let r = s.t.get("/v1/settings/auto_reply", Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body, json!({"welcome": null, "off_hours": null, "enabled": false}));

    let r = s.put("/v1/settings/auto_reply", json!({"welcome": "您好，欢迎光临", "enabled": true})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body, json!({"welcome": "您好，欢迎光临", "off_hours": null, "enabled": true}));
    // Only what is named changes.
    let r = s.put("/v1/settings/auto_reply", json!({"off_hours": "We are closed"})).await;
    assert_eq!(r.body, json!({"welcome": "您好，欢迎光临", "off_hours": "We are closed", "enabled": true}));

    // Bad input: the field named, nothing changed.
    for (body, field) in [
        (json!({"welcome": "x".repeat(4001)}), "welcome"),
        (json!({"enabled": "yes"}), "enabled"),
        (json!({"greeting": "Hi"}), "greeting"),
    ] {
        let r = s.put("/v1/settings/auto_reply", body).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{:?}", r.body);
        assert!(r.body["error"]["field"].as_str().is_some_and(|f| f.contains(field)), "{field}: {:?}", r.body);
    }
    let r = s.t.get("/v1/settings/auto_reply", Some(&s.admin)).await;
    assert_eq!(r.body["off_hours"], "We are closed");

    let audited = s.t.audit_entries(&s.tenant).await;
    assert!(audited.iter().any(|e| e["action"] == "settings.update" && e["target_id"] == "auto_reply"), "{audited:?}");

    s.t.add_staff(&s.tenant, "ann@acme.test", "agent", "a long enough agent password").await;
    let agent = s.t.login(&s.tenant, "ann@acme.test", "a long enough agent password").await;
    assert_eq!(s.t.get("/v1/settings/auto_reply", Some(&agent)).await.status, StatusCode::FORBIDDEN);
    let r = s.t.call(Method::PUT, "/v1/settings/auto_reply", Some(json!({"enabled": false})), Some(&agent), &[]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Another tenant has its own (off).
    let other = shop(s.t, "wang@other.test").await;
    let r = other.t.get("/v1/settings/auto_reply", Some(&other.admin)).await;
    assert_eq!(r.body["enabled"], false);
}

#[tokio::test]
async fn a_new_conversation_is_welcomed_and_told_when_nobody_works_today() {
    let s = shop(spawn_app().await, "li@acme.test").await;
    // Off: nothing is sent.
    let (_, bots) = s.visit(0).await;
    assert!(bots.is_empty(), "{bots:?}");

    let r = s
        .put(
            "/v1/settings/auto_reply",
            json!({"welcome": "您好，欢迎光临", "off_hours": "今天休息，明天回复您", "enabled": true}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Always open (no schedule): the welcome only.
    let (welcomed, bots) = s.visit(1).await;
    let texts: Vec<&str> = bots.iter().filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(texts, ["您好，欢迎光临"]);

    // Open every day around the clock, but today is a holiday: closed, so the off-hours reply follows.
    let today_date = s.t.app().now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let today = today_date.to_string();
    // Yesterday and tomorrow too, so a run across midnight UTC still visits on a holiday.
    let around: Vec<String> =
        [-1i64, 0, 1].iter().map(|d| today_date.checked_add(jiff::Span::new().days(*d)).unwrap().to_string()).collect();
    let all_day = json!([["00:00", "24:00"]]);
    let weekly = json!({"mon": all_day, "tue": all_day, "wed": all_day, "thu": all_day, "fri": all_day,
        "sat": all_day, "sun": all_day});
    let r =
        s.t.post(
            "/v1/schedules",
            json!({"name": "Shop hours", "timezone": "UTC", "weekly": weekly, "holidays": around}),
            Some(&s.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let schedule = r.body["id"].as_str().unwrap().to_owned();
    let r = s
        .put(
            "/v1/settings/assignment",
            json!({"strategy": "least_loaded", "queue_when_full": true, "sticky_returning_customers": true,
            "default_group_id": null, "schedule_id": schedule}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (_, bots) = s.visit(2).await;
    let texts: Vec<&str> = bots.iter().filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(texts, ["您好，欢迎光临", "今天休息，明天回复您"]);

    // An override for today opens it again: the welcome only.
    let r = s
        .put(
            &format!("/v1/schedules/{schedule}"),
            json!({"name": "Shop hours", "timezone": "UTC", "weekly": weekly, "holidays": [],
                "overrides": [{"date": today, "hours": [["00:00", "24:00"]]}]}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (_, bots) = s.visit(1).await;
    let texts: Vec<&str> = bots.iter().filter_map(|m| m["content"].as_str()).collect();
    assert_eq!(texts, ["您好，欢迎光临"]);

    // Bot messages are no first response.
    let tenant = kefu_domain::TenantId::parse(&s.tenant).unwrap();
    let c = kefu_domain::ConversationId::parse(&welcomed).unwrap();
    let stored = kefu_app::conversations::load(s.t.app(), &tenant, &c).await.unwrap().unwrap();
    assert_eq!(stored.first_response_at, None);
}
