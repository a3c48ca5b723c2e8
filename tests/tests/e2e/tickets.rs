//! Tickets end to end: made from a conversation (linked, with its customer), standalone, by an API key and by
//! the widget's leave-a-message form; assigned; moved along `open → pending → solved → closed` with reopen
//! (other moves 409); commented on; listed by status, assignee, group and customer; audited; and delivered to
//! the assignee (or the group) as a `ticket.assigned` frame.

use std::time::Duration;

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

struct Tenant {
    id: String,
    admin_id: String,
    admin: String,
    widget_key: String,
}

async fn tenant(t: &TestApp, email: &str) -> Tenant {
    let created = t.create_tenant("Acme", email).await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, email, ADMIN_PASSWORD).await;
    Tenant {
        admin_id: created["admin_id"].as_str().unwrap().to_owned(),
        widget_key: created["widget_key"].as_str().unwrap().to_owned(),
        id,
        admin,
    }
}

async fn patch(t: &TestApp, path: &str, body: Value, token: &str) -> kefu_e2e::Reply {
    t.call(Method::PATCH, path, Some(body), Some(token), &[]).await
}

fn ids(list: &Value) -> Vec<String> {
    list["items"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_ticket_from_a_conversation_goes_through_its_statuses() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let started = t.start_conversation(&a.widget_key, json!({"visitor": {"name": "Wang Fang"}})).await;
    assert_eq!(started.status, StatusCode::CREATED);
    let (conversation, customer) =
        (started.body["conversation_id"].as_str().unwrap(), started.body["customer_id"].as_str().unwrap());

    let r = t
        .post(
            "/v1/tickets",
            json!({"title": "退货 refund", "description": "order 123", "conversation_id": conversation, "priority": "high"}),
            Some(&a.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ticket = r.body["id"].as_str().unwrap().to_owned();
    assert_eq!(r.body["customer_id"], customer, "linked with the conversation's customer");
    assert_eq!(r.body["conversation_id"], conversation);
    assert_eq!((r.body["status"].as_str(), r.body["source"].as_str()), (Some("open"), Some("agent")));
    assert_eq!(r.body["priority"], "high");
    assert!(r.body["assignee_id"].is_null() && r.body["created_at"].is_string() && r.body["updated_at"].is_string());

    let path = format!("/v1/tickets/{ticket}");
    let assigned = patch(&t, &path, json!({"assignee_id": a.admin_id}), &a.admin).await;
    assert_eq!(assigned.body["assignee_id"], a.admin_id.as_str(), "{:?}", assigned.body);

    // Skipping a step is refused and changes nothing.
    let skip = patch(&t, &path, json!({"status": "solved"}), &a.admin).await;
    assert_eq!((skip.status, skip.code()), (StatusCode::CONFLICT, "conflict"));
    assert_eq!(t.get(&path, Some(&a.admin)).await.body["status"], "open");
    for step in ["pending", "solved", "closed", "open"] {
        let r = patch(&t, &path, json!({"status": step}), &a.admin).await;
        assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::OK, Some(step)), "{step}: {:?}", r.body);
    }
    let back = patch(&t, &path, json!({"status": "closed"}), &a.admin).await;
    assert_eq!(back.status, StatusCode::CONFLICT, "a reopened ticket is open again: the line starts over");
    let bad = patch(&t, &path, json!({"status": "done"}), &a.admin).await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));

    let c = t.post(&format!("{path}/comments"), json!({"content": "called the customer"}), Some(&a.admin)).await;
    assert_eq!(c.status, StatusCode::CREATED, "{:?}", c.body);
    assert_eq!(c.body["author_id"], a.admin_id.as_str());
    t.post(&format!("{path}/comments"), json!({"content": "refund sent"}), Some(&a.admin)).await;
    let empty = t.post(&format!("{path}/comments"), json!({"content": "  "}), Some(&a.admin)).await;
    assert_eq!(empty.body["error"]["field"], "content");
    let detail = t.get(&path, Some(&a.admin)).await;
    let comments: Vec<&str> =
        detail.body["comments"].as_array().unwrap().iter().map(|c| c["content"].as_str().unwrap()).collect();
    assert_eq!(comments, ["called the customer", "refund sent"], "oldest first");
    assert_eq!(detail.body["title"], "退货 refund");

    let mine = t.get(&format!("/v1/customers/{customer}/tickets"), Some(&a.admin)).await;
    assert_eq!(ids(&mine.body), [ticket.as_str()]);

    let actions: Vec<String> = t
        .audit_entries(&a.id)
        .await
        .iter()
        .filter(|e| e["target_id"] == ticket.as_str())
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions.iter().filter(|a| *a == "ticket.create").count(), 1, "{actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "ticket.update").count(), 5, "assign and four moves: {actions:?}");
    assert_eq!(actions.iter().filter(|a| *a == "ticket.comment").count(), 2, "{actions:?}");
}

#[tokio::test]
async fn lists_filter_by_status_assignee_and_group() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let group = t.post("/v1/groups", json!({"name": "After-sales", "agent_ids": []}), Some(&a.admin)).await;
    let group = group.body["id"].as_str().unwrap().to_owned();
    let mk = |body: Value| {
        let t = &t;
        let admin = a.admin.clone();
        async move {
            let r = t.post("/v1/tickets", body, Some(&admin)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["id"].as_str().unwrap().to_owned()
        }
    };
    let plain = mk(json!({"title": "standalone"})).await;
    let mine = mk(json!({"title": "mine", "assignee_id": a.admin_id})).await;
    let grouped = mk(json!({"title": "grouped", "group_id": group})).await;
    patch(&t, &format!("/v1/tickets/{grouped}"), json!({"status": "pending"}), &a.admin).await;

    let list = |q: &str| {
        let path = format!("/v1/tickets{q}");
        let (t, admin) = (&t, a.admin.clone());
        async move { t.get(&path, Some(&admin)).await }
    };
    assert_eq!(ids(&list("").await.body), [grouped.clone(), mine.clone(), plain.clone()], "newest first");
    assert_eq!(ids(&list("?status=open").await.body), [mine.clone(), plain.clone()]);
    assert_eq!(ids(&list("?status=pending").await.body), [grouped.as_str()]);
    assert_eq!(ids(&list("?assignee=me").await.body), [mine.as_str()]);
    assert_eq!(ids(&list(&format!("?assignee={}", a.admin_id)).await.body), [mine.as_str()]);
    assert_eq!(ids(&list("?assignee=unassigned").await.body), [grouped.clone(), plain.clone()]);
    assert_eq!(ids(&list("?assignee=unassigned&status=open").await.body), [plain.as_str()]);
    assert_eq!(ids(&list(&format!("?group_id={group}")).await.body), [grouped.as_str()]);
    assert_eq!(ids(&list(&format!("?group_id={group}&status=open")).await.body), Vec::<String>::new());
    let page = list("?limit=2").await.body;
    assert_eq!(ids(&page), [grouped.clone(), mine.clone()]);
    let rest = list(&format!("?limit=2&cursor={}", page["next_cursor"].as_str().unwrap())).await;
    assert_eq!(ids(&rest.body), [plain.as_str()]);

    // Moving the group moves the ticket between the group lists.
    patch(&t, &format!("/v1/tickets/{grouped}"), json!({"group_id": null}), &a.admin).await;
    assert!(ids(&list(&format!("?group_id={group}")).await.body).is_empty());
    let bad = list("?status=done").await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("status")));
}

#[tokio::test]
async fn bad_input_and_other_tenants_ids_are_refused() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let b = tenant(&t, "admin@b.test").await;
    let refused = |body: Value, field: &'static str| {
        let t = &t;
        let admin = a.admin.clone();
        async move {
            let r = t.post("/v1/tickets", body.clone(), Some(&admin)).await;
            assert_eq!(r.status, StatusCode::BAD_REQUEST, "{body}: {:?}", r.body);
            assert_eq!(r.body["error"]["field"], field, "{body}");
        }
    };
    refused(json!({"title": " "}), "title").await;
    refused(json!({"title": "x", "priority": "critical"}), "priority").await;
    refused(json!({"title": "x", "assignee_id": b.admin_id}), "assignee_id").await;
    refused(json!({"title": "x", "group_id": "gr_01jd2q8m6xg3r8w6b4s1e2c9va"}), "group_id").await;
    refused(json!({"title": "x", "customer_id": "cu_01jd2q8m6xg3r8w6b4s1e2c9va"}), "customer_id").await;
    let foreign = t.start_conversation(&b.widget_key, json!({})).await;
    refused(json!({"title": "x", "conversation_id": foreign.body["conversation_id"]}), "conversation_id").await;
    assert!(ids(&t.get("/v1/tickets", Some(&a.admin)).await.body).is_empty(), "nothing stored");

    let theirs = t.post("/v1/tickets", json!({"title": "theirs"}), Some(&b.admin)).await;
    let path = format!("/v1/tickets/{}", theirs.body["id"].as_str().unwrap());
    assert_eq!(t.get(&path, Some(&a.admin)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(patch(&t, &path, json!({"status": "pending"}), &a.admin).await.status, StatusCode::NOT_FOUND);
    let c = t.post(&format!("{path}/comments"), json!({"content": "hi"}), Some(&a.admin)).await;
    assert_eq!(c.status, StatusCode::NOT_FOUND);
    let customer = foreign.body["customer_id"].as_str().unwrap();
    assert_eq!(t.get(&format!("/v1/customers/{customer}/tickets"), Some(&a.admin)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get(&path, Some(&b.admin)).await.body["status"], "open", "unchanged");
}

#[tokio::test]
async fn an_api_key_makes_api_tickets() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let key = t.post("/v1/api_keys", json!({"name": "crm", "permissions": ["tickets.manage"]}), Some(&a.admin)).await;
    let key = key.body["key"].as_str().unwrap().to_owned();
    let r = t.with_key(Method::POST, "/v1/tickets", Some(json!({"title": "from the CRM"})), &key).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["source"], "api");
}

async fn leave_message_setup(t: &TestApp, a: &Tenant) -> String {
    let group = t.post("/v1/groups", json!({"name": "After-sales", "agent_ids": [a.admin_id]}), Some(&a.admin)).await;
    assert_eq!(group.status, StatusCode::CREATED, "{:?}", group.body);
    let group = group.body["id"].as_str().unwrap().to_owned();
    let settings = json!({"offline_mode": "leave_message", "leave_message_group_id": group});
    let r = t.call(Method::PUT, "/v1/settings/widget", Some(settings), Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    group
}

async fn leave(t: &TestApp, key: &str, body: Value) -> kefu_e2e::Reply {
    t.call(Method::POST, "/v1/widget/leave_message", Some(body), None, &[("x-widget-key", key)]).await
}

#[tokio::test]
async fn a_left_message_becomes_a_widget_ticket_in_the_after_sales_group() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let group = leave_message_setup(&t, &a).await;
    let first = t.start_conversation(&a.widget_key, json!({"visitor": {"external_id": "user-42"}})).await;

    let r = leave(
        &t,
        &a.widget_key,
        json!({"visitor": {"external_id": "user-42", "name": "Li Lei"}, "content": "我想退货\n订单 123",
               "contact": {"phone": "13800138000"}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let ticket = t.get(&format!("/v1/tickets/{}", r.body["ticket_id"].as_str().unwrap()), Some(&a.admin)).await;
    let tk = &ticket.body;
    assert_eq!((tk["source"].as_str(), tk["group_id"].as_str()), (Some("widget"), Some(group.as_str())));
    assert_eq!(tk["customer_id"], first.body["customer_id"], "a returning external_id is the same customer");
    assert_eq!((tk["title"].as_str(), tk["description"].as_str()), (Some("我想退货"), Some("我想退货\n订单 123")));
    assert_eq!(tk["contact"]["phone"], "13800138000", "the admin sees it unmasked");
    assert_eq!(tk["status"], "open");
    let customer =
        t.get(&format!("/v1/customers/{}", first.body["customer_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(customer.body["name"], "Li Lei", "the profile got the name it lacked");
    for step in ["pending", "solved", "closed"] {
        let path = format!("/v1/tickets/{}", tk["id"].as_str().unwrap());
        assert_eq!(patch(&t, &path, json!({"status": step}), &a.admin).await.body["status"], step);
    }

    // A new visitor becomes a new customer; without any way back the form is refused and nothing is stored.
    let other = leave(&t, &a.widget_key, json!({"visitor": {"email": "li@example.com"}, "content": "hello"})).await;
    assert_eq!(other.status, StatusCode::CREATED, "the visitor's own email will do: {:?}", other.body);
    let none = leave(&t, &a.widget_key, json!({"visitor": {}, "content": "hello"})).await;
    assert_eq!((none.status, none.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("contact")));
    let blank = leave(&t, &a.widget_key, json!({"content": " ", "contact": {"email": "a@b.co"}})).await;
    assert_eq!(blank.body["error"]["field"], "content");
    let unknown = leave(&t, &a.widget_key, json!({"content": "x", "contact": {"email": "a@b.co"}, "extra": 1})).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    let nokey = leave(&t, "wk_nope", json!({"content": "x", "contact": {"email": "a@b.co"}})).await;
    assert_eq!(nokey.status, StatusCode::UNAUTHORIZED);
    let listed = t.get(&format!("/v1/tickets?group_id={group}"), Some(&a.admin)).await;
    assert_eq!(listed.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_assignee_gets_a_ticket_assigned_frame_and_the_group_too() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let group = leave_message_setup(&t, &a).await;
    let mut ws = t.websocket(&a.admin).await;

    let r = t.post("/v1/tickets", json!({"title": "call back", "assignee_id": a.admin_id}), Some(&a.admin)).await;
    let frame = ws.frame_of_type("ticket.assigned", WAIT).await.expect("a ticket.assigned frame");
    assert_eq!(frame["data"]["id"], r.body["id"]);
    assert_eq!(frame["data"]["assignee_id"], a.admin_id.as_str());

    let left =
        leave(&t, &a.widget_key, json!({"content": "nobody was there", "contact": {"email": "li@example.com"}})).await;
    let frame = ws.frame_of_type("ticket.assigned", WAIT).await.expect("the group's member is told");
    assert_eq!(frame["data"]["id"], left.body["ticket_id"]);
    assert_eq!(frame["data"]["group_id"], group.as_str());
    assert_eq!(frame["data"]["contact"]["email"], "li@example.com");
}

#[tokio::test]
async fn one_ip_leaves_at_most_60_messages_a_minute_per_tenant_and_a_refused_one_stores_nothing() {
    let t = spawn_app().await;
    let a = tenant(&t, "admin@a.test").await;
    let b = tenant(&t, "admin@b.test").await;
    let body = json!({"content": "call me back", "contact": {"phone": "13800138000"}});
    let mut limited = None;
    let mut taken = 0;
    // Within a window 60 pass; a window that turns over mid-loop allows at most 60 more.
    for _ in 0..122 {
        let r = leave(&t, &a.widget_key, body.clone()).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        taken += 1;
    }
    let r = limited.expect("past 60 messages a minute the IP is refused");
    assert_eq!(r.code(), "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    let mut stored = 0;
    let mut cursor: Option<String> = None;
    loop {
        let q = cursor.as_deref().map(|c| format!("&cursor={c}")).unwrap_or_default();
        let page = t.get(&format!("/v1/tickets?limit=200{q}"), Some(&a.admin)).await.body;
        stored += page["items"].as_array().unwrap().len();
        cursor = page["next_cursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(stored, taken, "the refused message made no ticket");
    assert_eq!(leave(&t, &b.widget_key, body).await.status, StatusCode::CREATED, "per tenant");
}
