//! Automation rules (issue 12), over HTTP: saving, checking (unknown field, bad regular expression, a group,
//! agent or tag that does not exist → 400 naming the field), replacing and deleting rules, audited and
//! `rules.manage` only; another tenant's rules are 404; the dry run answers the matching rules against a sample
//! or a real conversation and writes nothing.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Shop {
    t: TestApp,
    tenant: String,
    widget_key: String,
    admin: String,
}

impl Shop {
    async fn in_app(t: TestApp, email: &str) -> Self {
        let created = t.create_tenant("Acme", email).await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, email, ADMIN_PASSWORD).await;
        Self { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
    }

    async fn group(&self, name: &str) -> String {
        let r = self.t.post("/v1/groups", json!({"name": name}), Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        s(&r.body["id"])
    }

    async fn save(&self, rule: Value) -> kefu_e2e::Reply {
        self.t.post("/v1/rules", rule, Some(&self.admin)).await
    }

    async fn invalid(&self, rule: Value, field: &str) {
        let r = self.save(rule).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{field}: {:?}", r.body);
        assert_eq!(r.body["error"]["field"].as_str(), Some(field), "{:?}", r.body);
    }
}

fn s(v: &Value) -> String {
    v.as_str().unwrap().to_owned()
}

fn refund_rule(group: &str) -> Value {
    json!({
        "name": "退款 to after-sales", "enabled": true, "position": 10, "event": "message.received",
        "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "退款"}]},
        "actions": [{"type": "add_tag", "tag": "refund"}, {"type": "assign_group", "group_id": group}],
        "stop_processing": false
    })
}

#[tokio::test]
async fn rules_are_checked_on_save_audited_and_managed_only_with_the_permission() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    let after_sales = shop.group("售后").await;

    let r = shop.save(refund_rule(&after_sales)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = s(&r.body["id"]);
    assert!(id.starts_with("ru_"), "{id}");
    assert_eq!(r.body["event"], "message.received");
    assert_eq!(r.body["actions"][1]["group_id"], after_sales.as_str());

    // Checked on save, naming the field.
    let mut unknown = refund_rule(&after_sales);
    unknown["colour"] = json!("red");
    shop.invalid(unknown, "colour").await;
    let mut bad_field = refund_rule(&after_sales);
    bad_field["conditions"]["all"][0]["field"] = json!("message.mood");
    shop.invalid(bad_field, "conditions.all[0].field").await;
    let mut bad_regex = refund_rule(&after_sales);
    bad_regex["conditions"]["all"][0] = json!({"field": "message.content", "op": "matches", "value": "(退款"});
    shop.invalid(bad_regex, "conditions.all[0].value").await;
    shop.invalid(refund_rule("gr_01J00000000000000000000000"), "actions[1].group_id").await;
    let mut no_agent = refund_rule(&after_sales);
    no_agent["actions"] = json!([{"type": "assign_agent", "agent_id": "ag_01J00000000000000000000000"}]);
    shop.invalid(no_agent, "actions[0].agent_id").await;
    // Once the tenant registers tags, a rule may only add registered ones.
    let r = shop.t.post("/v1/tags", json!({"name": "VIP"}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    shop.invalid(refund_rule(&after_sales), "actions[0].tag").await;
    let r = shop.t.post("/v1/tags", json!({"name": "refund", "scope": "conversation"}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = shop.save(json!({"name": "Broken", "event": "message.received", "actions": []})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("actions")));

    // Replaced, listed in position order, deleted.
    let first = json!({"name": "VIP first", "position": 1, "event": "message.received",
        "actions": [{"type": "set_priority", "priority": "high"}]});
    let r = shop.save(first).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let first_id = s(&r.body["id"]);
    let mut renamed = refund_rule(&after_sales);
    renamed["name"] = json!("Refunds");
    let r = shop.t.call(Method::PUT, &format!("/v1/rules/{id}"), Some(renamed), Some(&shop.admin), &[]).await;
    assert_eq!((r.status, r.body["name"].as_str()), (StatusCode::OK, Some("Refunds")), "{:?}", r.body);
    let list = shop.t.get("/v1/rules", Some(&shop.admin)).await;
    assert_eq!(list.status, StatusCode::OK);
    let ids: Vec<&str> = list.body["items"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [first_id.as_str(), id.as_str()]);
    let r = shop.t.call(Method::DELETE, &format!("/v1/rules/{first_id}"), None, Some(&shop.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = shop.t.call(Method::DELETE, &format!("/v1/rules/{first_id}"), None, Some(&shop.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let list = shop.t.get("/v1/rules", Some(&shop.admin)).await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 1);

    // Audited.
    let actions: Vec<String> = shop
        .t
        .audit_entries(&shop.tenant)
        .await
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect();
    for a in ["rule.create", "rule.update", "rule.delete"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }

    // Only `rules.manage`: an agent is refused.
    shop.t.add_staff(&shop.tenant, "ann@acme.test", "agent", "a long enough agent password").await;
    let agent = shop.t.login(&shop.tenant, "ann@acme.test", "a long enough agent password").await;
    let r = shop.t.get("/v1/rules", Some(&agent)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Another tenant sees none of them.
    let other = Shop::in_app(shop.t, "wang@other.test").await;
    let r = other.t.get("/v1/rules", Some(&other.admin)).await;
    assert_eq!(r.body["items"].as_array().unwrap().len(), 0);
    let r = other
        .t
        .call(Method::PUT, &format!("/v1/rules/{id}"), Some(refund_rule(&after_sales)), Some(&other.admin), &[])
        .await;
    assert!(matches!(r.status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST), "{:?}", r.body);
    let r = other.t.call(Method::DELETE, &format!("/v1/rules/{id}"), None, Some(&other.admin), &[]).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_dry_run_answers_the_matching_rules_and_changes_nothing() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    let after_sales = shop.group("售后").await;
    let r = shop.save(refund_rule(&after_sales)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = s(&r.body["id"]);
    let r = shop
        .save(json!({"name": "Pricing", "position": 20, "event": "message.received",
            "conditions": {"any": [{"field": "message.content", "op": "contains", "value": "price"}]},
            "actions": [{"type": "set_priority", "priority": "high"}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // Against a sample.
    let dry = |body: Value| {
        let t = &shop.t;
        let admin = shop.admin.clone();
        async move { t.post("/v1/rules/dry_run", body, Some(&admin)).await }
    };
    let r = dry(json!({"event": "message.received", "sample": {"message": {"content": "我想退款"}}})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let matched = r.body["matched"].as_array().unwrap();
    assert_eq!(matched.len(), 1, "{:?}", r.body);
    assert_eq!(matched[0]["rule_id"], id.as_str());
    assert_eq!(matched[0]["actions"][0], json!({"type": "add_tag", "tag": "refund"}));
    let r = dry(json!({"event": "conversation.created", "sample": {"message": {"content": "我想退款"}}})).await;
    assert_eq!(r.body["matched"], json!([]));

    // Draft rules, checked with their path.
    let r = dry(json!({"event": "message.received", "rules": [{"name": "Draft", "event": "message.received",
        "actions": [{"type": "auto_reply", "content": "Hi"}]}], "sample": {}}))
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["matched"][0]["rule_id"], Value::Null);
    assert_eq!(r.body["matched"][0]["name"], "Draft");
    let r = dry(json!({"event": "message.received", "rules": [{"event": "message.received", "actions": []}]})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("rules[0].name")));
    let r = dry(json!({"event": "message.sent"})).await;
    assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("event")));

    // Against a real conversation: its last visitor message; nothing written.
    let started = shop.t.start_conversation(&shop.widget_key, json!({"visitor": {"name": "Zhang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let c = s(&started.body["conversation_id"]);
    let r = shop.t.visitor_send(started.body["visitor_token"].as_str().unwrap(), "你好，我要退款").await;
    assert!(r.status.is_success(), "{:?}", r.body);
    // The saved rules ran on that message (the consumer); wait for them, then nothing may change.
    let path = format!("/v1/conversations/{c}");
    let ran = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        let b = shop.t.get(&path, Some(&shop.admin)).await.body;
        b["automation"].is_array() && b["group_id"] == after_sales.as_str()
    })
    .await;
    assert!(ran);
    let before_conv = shop.t.get(&format!("/v1/conversations/{c}"), Some(&shop.admin)).await.body;
    let before_audit = shop.t.audit_entries(&shop.tenant).await.len();
    let before_messages =
        shop.t.visitor_poll(started.body["visitor_token"].as_str().unwrap(), None).await.body["items"]
            .as_array()
            .unwrap()
            .len();
    let r = dry(json!({"event": "message.received", "conversation_id": c})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let names: Vec<&str> = r.body["matched"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["退款 to after-sales"]);
    // A sample's part overrides the conversation's.
    let r = dry(json!({"event": "message.received", "conversation_id": c,
        "sample": {"message": {"content": "what is the price"}}}))
    .await;
    let names: Vec<&str> = r.body["matched"].as_array().unwrap().iter().map(|m| m["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Pricing"]);
    let after_conv = shop.t.get(&format!("/v1/conversations/{c}"), Some(&shop.admin)).await.body;
    // What a rule could change (routing may still settle after the consumer's transfer, so not the whole body).
    for field in ["tags", "group_id", "priority", "automation", "last_message_at"] {
        assert_eq!(before_conv[field], after_conv[field], "{field}");
    }
    let polled = shop.t.visitor_poll(started.body["visitor_token"].as_str().unwrap(), None).await.body;
    assert_eq!(polled["items"].as_array().unwrap().len(), before_messages, "no message written");
    assert_eq!(shop.t.audit_entries(&shop.tenant).await.len(), before_audit);

    // Another tenant's conversation is 404.
    let other = Shop::in_app(shop.t, "wang@other.test").await;
    let r = other
        .t
        .post("/v1/rules/dry_run", json!({"event": "message.received", "conversation_id": c}), Some(&other.admin))
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_refund_message_gets_the_tag_and_the_after_sales_group_once_with_the_run_recorded() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    let after_sales = shop.group("售后").await;
    let r = shop.save(refund_rule(&after_sales)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let refund_id = s(&r.body["id"]);
    let r = shop
        .save(json!({"name": "Acknowledge", "position": 20, "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "退款"}]},
            "actions": [{"type": "auto_reply", "content": "已收到您的退款申请"},
                        {"type": "set_priority", "priority": "high"},
                        {"type": "webhook", "url": "https://example.com/hook"}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let started = shop.t.start_conversation(&shop.widget_key, json!({"visitor": {"name": "Zhang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
    let c = s(&started.body["conversation_id"]);
    let token = s(&started.body["visitor_token"]);
    let r = shop.t.visitor_send(&token, "你好，我要退款").await;
    assert!(r.status.is_success(), "{:?}", r.body);

    let path = format!("/v1/conversations/{c}");
    let done = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        let b = shop.t.get(&path, Some(&shop.admin)).await.body;
        b["tags"] == json!(["refund"]) && b["group_id"] == after_sales.as_str() && b["automation"].is_array()
    })
    .await;
    let conv = shop.t.get(&path, Some(&shop.admin)).await.body;
    assert!(done, "{conv}");
    assert_eq!(conv["priority"], "high", "{conv}");
    // The run says why: which rules matched, what each action did (the webhook queued for the notify consumer).
    let run = conv["automation"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(run["event"], "message.received");
    let rules = run["rules"].as_array().unwrap();
    assert_eq!(rules[0]["rule_id"], refund_id.as_str());
    assert_eq!(
        rules[0]["actions"],
        json!([{"type": "add_tag", "result": "done"}, {"type": "assign_group", "result": "done"}])
    );
    assert_eq!(rules[1]["actions"][2], json!({"type": "webhook", "result": "queued"}));
    assert!(run["trace"].as_array().is_some_and(|t| t.len() == 2), "{run}");

    // The auto-reply reached the visitor as a bot message, and is no first response.
    let polled = shop.t.visitor_poll(&token, None).await.body;
    let bots: Vec<&Value> = polled["items"].as_array().unwrap().iter().filter(|m| m["author"] == "bot").collect();
    assert_eq!(bots.len(), 1, "{polled}");
    assert_eq!(bots[0]["content"], "已收到您的退款申请");
    let tenant = kefu_domain::TenantId::parse(&shop.tenant).unwrap();
    let cid = kefu_domain::ConversationId::parse(&c).unwrap();
    let stored = kefu_app::conversations::load(shop.t.app(), &tenant, &cid).await.unwrap().unwrap();
    assert_eq!(stored.first_response_at, None);

    // The same event delivered twice: each rule's actions run once.
    let message = kefu_app::plumbing::events::EventMessage {
        id: kefu_app::conversations::next_message_id(shop.t.app().now()),
        conversation_id: cid.clone(),
        author: kefu_domain::conversation::Author::Visitor,
        author_id: None,
        content: "还是要退款".into(),
        internal: false,
        created_at: shop.t.app().now(),
        recalled: false,
        attachments: Vec::new(),
    };
    let event = kefu_app::plumbing::events::Envelope::new(
        &tenant,
        shop.t.app().now(),
        kefu_app::plumbing::events::MessageReceived {
            conversation_id: cid.clone(),
            message,
            counted: false,
            starts_wait: None,
        },
    );
    let run_once = || async {
        let run = kefu_app::automation::run::run(shop.t.app(), &event).await.unwrap().unwrap();
        serde_json::to_value(run).unwrap()
    };
    let first = run_once().await;
    let second = run_once().await;
    assert_eq!(first["rules"][1]["actions"][0], json!({"type": "auto_reply", "result": "done"}));
    // Already tagged and in the group: nothing changes (its agent keeps it).
    assert_eq!(
        first["rules"][0]["actions"],
        json!([{"type": "add_tag", "result": "unchanged"}, {"type": "assign_group", "result": "unchanged"}])
    );
    assert_eq!(second["rules"][1]["actions"], json!([{"result": "already_done"}]));
    let polled = shop.t.visitor_poll(&token, None).await.body;
    let bots = polled["items"].as_array().unwrap().iter().filter(|m| m["author"] == "bot").count();
    assert_eq!(bots, 2, "one more auto-reply, not two: {polled}");
    let conv = shop.t.get(&path, Some(&shop.admin)).await.body;
    let recorded = conv["automation"].as_array().unwrap().iter().filter(|r| r["event_id"] == event.id.as_str()).count();
    assert_eq!(recorded, 1);
}

/// Signs an agent of the shop in and sets it online; answers its token.
async fn online_agent(shop: &Shop, email: &str, extra: Value) -> (String, String) {
    let mut body = json!({"email": email, "name": email, "password": "an agent's long password", "role_id": "agent"});
    body.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
    let r = shop.t.post("/v1/agents", body, Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let id = s(&r.body["id"]);
    let token = shop.t.login(&shop.tenant, email, "an agent's long password").await;
    let r = shop.t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&token), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    (id, token)
}

#[tokio::test]
async fn conversation_created_rules_shape_the_first_assignment() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    // Two agents online: one in the default pool, one in Sales who speaks English.
    online_agent(&shop, "ann@acme.test", json!({})).await;
    let (seller, _) = online_agent(&shop, "bo@acme.test", json!({"skills": ["english"]})).await;
    let r = shop.t.post("/v1/groups", json!({"name": "Sales", "agent_ids": [seller]}), Some(&shop.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let sales = s(&r.body["id"]);
    let r = shop
        .save(json!({"name": "Pricing page leads", "event": "conversation.created",
            "conditions": {"all": [{"field": "conversation.page_url", "op": "contains", "value": "/pricing"}]},
            "actions": [{"type": "assign_group", "group_id": sales}, {"type": "set_priority", "priority": "high"},
                        {"type": "require_skills", "skills": ["english"]}, {"type": "add_tag", "tag": "lead"}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    // Several leads in a row: every one's first assignment is the Sales agent's, high priority, with the skill.
    for n in 0..3 {
        let started = shop
            .t
            .start_conversation(
                &shop.widget_key,
                json!({"visitor": {"name": format!("Lead {n}")}, "page_url": "https://shop.example/pricing"}),
            )
            .await;
        assert_eq!(started.status, StatusCode::CREATED, "{:?}", started.body);
        let path = format!("/v1/conversations/{}", s(&started.body["conversation_id"]));
        let routed = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
            let b = shop.t.get(&path, Some(&shop.admin)).await.body;
            !b["routing"].is_null() && b["automation"].is_array()
        })
        .await;
        let conv = shop.t.get(&path, Some(&shop.admin)).await.body;
        assert!(routed, "{conv}");
        assert_eq!(conv["assignee_id"], seller.as_str(), "{conv}");
        assert_eq!(conv["group_id"], sales.as_str(), "{conv}");
        assert_eq!(conv["priority"], "high", "{conv}");
        // The automation consumer no longer moves new conversations, so only the shaping before routing can
        // have put it in Sales, high: the first decision already left the other agent out for the group.
        let others: Vec<&Value> = conv["routing"]["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["agent_id"] != seller.as_str())
            .collect();
        assert!(others.iter().all(|c| c["excluded"] == "not_in_group"), "{conv}");
        let run = conv["automation"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(run["event"], "conversation.created");
        assert_eq!(
            run["rules"][0]["actions"],
            json!([{"type": "assign_group", "result": "before_routing"},
                   {"type": "set_priority", "result": "before_routing"},
                   {"type": "require_skills", "result": "before_routing"},
                   {"type": "add_tag", "result": "done"}])
        );
    }

    // A conversation the rule does not match is routed as before (to the default pool's agent or the seller).
    let started = shop
        .t
        .start_conversation(
            &shop.widget_key,
            json!({"visitor": {"name": "Browser"}, "page_url": "https://shop.example/"}),
        )
        .await;
    let path = format!("/v1/conversations/{}", s(&started.body["conversation_id"]));
    let routed = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        !shop.t.get(&path, Some(&shop.admin)).await.body["routing"].is_null()
    })
    .await;
    let conv = shop.t.get(&path, Some(&shop.admin)).await.body;
    assert!(routed, "{conv}");
    assert_eq!(conv["priority"], "normal", "{conv}");
    assert_eq!(conv["group_id"], Value::Null, "{conv}");
}

#[tokio::test]
async fn rules_open_an_after_sales_ticket_assign_an_agent_and_close() {
    let shop = Shop::in_app(spawn_app().await, "li@acme.test").await;
    let after_sales = shop.group("售后").await;
    let (ann, _) = online_agent(&shop, "ann@acme.test", json!({})).await;
    let r = shop
        .save(json!({"name": "退款 ticket", "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "退款"}]},
            "actions": [{"type": "create_ticket", "group_id": after_sales, "priority": "high"},
                        {"type": "assign_agent", "agent_id": ann}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = shop
        .save(json!({"name": "Goodbye", "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "eq", "value": "bye"}]},
            "actions": [{"type": "close"}]}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);

    let started = shop.t.start_conversation(&shop.widget_key, json!({"visitor": {"name": "Zhang"}})).await;
    let c = s(&started.body["conversation_id"]);
    let customer = s(&started.body["customer_id"]);
    let token = s(&started.body["visitor_token"]);
    let r = shop.t.visitor_send(&token, "我要退款，订单 1234\n谢谢").await;
    assert!(r.status.is_success(), "{:?}", r.body);

    let tickets_path = format!("/v1/tickets?group_id={after_sales}");
    let made = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        shop.t.get(&tickets_path, Some(&shop.admin)).await.body["items"].as_array().is_some_and(|i| !i.is_empty())
    })
    .await;
    let tickets = shop.t.get(&tickets_path, Some(&shop.admin)).await.body;
    assert!(made, "{tickets}");
    let items = tickets["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{tickets}");
    let ticket = &items[0];
    assert_eq!(ticket["source"], "rule");
    assert_eq!(ticket["priority"], "high");
    assert_eq!(ticket["title"], "我要退款，订单 1234");
    assert_eq!(ticket["conversation_id"], c.as_str());
    assert_eq!(ticket["customer_id"], customer.as_str());
    let path = format!("/v1/conversations/{c}");
    let assigned = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        shop.t.get(&path, Some(&shop.admin)).await.body["assignee_id"] == ann.as_str()
    })
    .await;
    assert!(assigned);
    // The audit entry is committed with the ticket as a pending entry and settled into the chain right after.
    let audited = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        shop.t.audit_entries(&shop.tenant).await.iter().any(|e| e["action"] == "ticket.create")
    })
    .await;
    assert!(audited, "{:?}", shop.t.audit_entries(&shop.tenant).await);

    // "bye" closes it.
    let r = shop.t.visitor_send(&token, "bye").await;
    assert!(r.status.is_success(), "{:?}", r.body);
    let closed = kefu_e2e::eventually(std::time::Duration::from_secs(10), || async {
        shop.t.get(&path, Some(&shop.admin)).await.body["status"] == "closed"
    })
    .await;
    assert!(closed);
    // The refund rule did not match "bye": still one ticket.
    let tickets = shop.t.get(&tickets_path, Some(&shop.admin)).await.body;
    assert_eq!(tickets["items"].as_array().unwrap().len(), 1, "{tickets}");
}
