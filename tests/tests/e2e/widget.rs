//! The visitor widget, as a visitor (and the agent answering it) would use it: start, send, poll, returning
//! visitors, validation, rate limits, idempotent retries, and what a visitor may never see.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Tenant {
    widget_key: String,
    admin: String,
}

async fn tenant(t: &TestApp, email: &str) -> Tenant {
    let created = t.create_tenant("Acme", email).await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, email, ADMIN_PASSWORD).await;
    Tenant { widget_key: created["widget_key"].as_str().unwrap().to_owned(), admin }
}

async fn start(t: &TestApp, key: &str, body: Value) -> Value {
    let r = t.start_conversation(key, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body
}

fn token(started: &Value) -> &str {
    started["visitor_token"].as_str().unwrap()
}

#[tokio::test]
async fn a_visitor_starts_sends_and_polls() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let s =
        start(&t, &a.widget_key, json!({"visitor": {"name": "Wang Fang"}, "page_url": "https://acme.test/kettles"}))
            .await;
    assert!(s["conversation_id"].as_str().unwrap().starts_with("cv_"));
    assert!(s["customer_id"].as_str().unwrap().starts_with("cu_"));
    assert!(token(&s).starts_with("kfv_"));

    let sent = t.visitor_send(token(&s), "你好, where is my kettle?").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let first = sent.body["id"].as_str().unwrap().to_owned();
    assert!(first.starts_with("ms_"));
    assert!(sent.body["created_at"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());
    let second = t.visitor_send(token(&s), "order 1234").await.body["id"].as_str().unwrap().to_owned();

    let all = t.visitor_poll(token(&s), None).await;
    assert_eq!(all.status, StatusCode::OK);
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["id"], first.as_str());
    assert_eq!(items[0]["author"], "visitor");
    assert_eq!(items[0]["author_id"], s["customer_id"]);
    assert_eq!(items[0]["content"], "你好, where is my kettle?");
    assert_eq!(items[0]["internal"], false);
    assert_eq!(items[1]["id"], second.as_str());
    assert!(all.body["next_cursor"].is_null());

    let after = t.visitor_poll(token(&s), Some(&first)).await;
    let ids: Vec<&str> = after.body["items"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [second.as_str()]);
    assert!(t.visitor_poll(token(&s), Some(&second)).await.body["items"].as_array().unwrap().is_empty());

    let conv = t.get(&format!("/v1/conversations/{}", s["conversation_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(conv.status, StatusCode::OK);
    assert_eq!(conv.body["customer_id"], s["customer_id"]);
    assert_eq!(conv.body["priority"], "normal");
    assert_eq!(conv.body["page_url"], "https://acme.test/kettles");
}

#[tokio::test]
async fn a_returning_external_id_is_the_same_customer() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let first = start(&t, &a.widget_key, json!({"visitor": {"external_id": "user-42", "name": "Wang Fang"}})).await;
    let again = start(
        &t,
        &a.widget_key,
        json!({"visitor": {"external_id": "user-42", "name": "Someone Else", "email": "wang@example.com"}}),
    )
    .await;
    assert_eq!(first["customer_id"], again["customer_id"]);
    let profile = t.get(&format!("/v1/customers/{}", first["customer_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(profile.body["name"], "Wang Fang", "a visitor never overwrites what the profile has");
    assert_eq!(profile.body["email"], "wang@example.com", "but fills in what it lacks");
    let found = t.get("/v1/customers?q=wang%40", Some(&a.admin)).await;
    assert_eq!(found.body["items"][0]["id"], first["customer_id"], "and it is searchable");
    assert_ne!(first["conversation_id"], again["conversation_id"]);
    let stranger = start(&t, &a.widget_key, json!({})).await;
    assert_ne!(stranger["customer_id"], first["customer_id"]);

    let b = tenant(&t, "han@other.test").await;
    let elsewhere = start(&t, &b.widget_key, json!({"visitor": {"external_id": "user-42"}})).await;
    assert_ne!(elsewhere["customer_id"], first["customer_id"], "external ids are per tenant");

    let customer = first["customer_id"].as_str().unwrap();
    let convs = t.get(&format!("/v1/customers/{customer}/conversations"), Some(&a.admin)).await;
    assert_eq!(convs.status, StatusCode::OK);
    let ids: Vec<&Value> = convs.body["items"].as_array().unwrap().iter().map(|c| &c["id"]).collect();
    assert_eq!(ids, [&again["conversation_id"], &first["conversation_id"]], "newest first");
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let r = t.start_conversation("wk_not-a-key", json!({})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let r = t.call(Method::POST, "/v1/widget/conversations", Some(json!({})), None, &[]).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    for (body, field) in [
        (json!({"visitor": {"email": "not-an-email"}}), "visitor.email"),
        (json!({"visitor": {"phone": "call me"}}), "visitor.phone"),
        (json!({"visitor": {"external_id": ""}}), "visitor.external_id"),
        (json!({"group_id": "gr_01jd2q8m6xg3r8w6b4s1e2c9va"}), "group_id"),
        (json!({"visitor": {"nickname": "x"}}), "visitor"),
    ] {
        let r = t.start_conversation(&a.widget_key, body).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{field}: {:?}", r.body);
        assert!(r.body["error"]["field"].as_str().unwrap().starts_with(field), "{:?}", r.body);
    }
    let r = t.call(Method::POST, "/v1/widget/conversations", None, None, &[("x-widget-key", &a.widget_key)]).await;
    assert_eq!(r.code(), "unsupported_media_type", "no body, so no JSON content type");

    let s = start(&t, &a.widget_key, json!({})).await;
    for content in [String::new(), "   \n ".to_owned(), "字".repeat(4001)] {
        let r = t.visitor_send(token(&s), &content).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
        assert_eq!(r.body["error"]["field"], "content");
    }
    let r = t.post("/v1/widget/messages", json!({"text": "hi"}), Some(token(&s))).await;
    assert_eq!(r.code(), "validation_failed");
    assert_eq!(t.visitor_send(token(&s), &"字".repeat(4000)).await.status, StatusCode::CREATED);
    let polled = t.visitor_poll(token(&s), None).await;
    assert_eq!(polled.body["items"].as_array().unwrap().len(), 1, "only the valid message was stored");

    for bad in ["kfv_nope", "kfs_nope", ""] {
        let r = t.visitor_send(bad, "hi").await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{bad}");
        assert_eq!(t.visitor_poll(bad, None).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(t.visitor_send(&a.admin, "a staff token is not a visitor token").await.status, StatusCode::UNAUTHORIZED);
    let r = t.visitor_poll(token(&s), Some("ms_bogus")).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
}

#[tokio::test]
async fn a_visitor_sends_at_most_30_messages_a_minute() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let s = start(&t, &a.widget_key, json!({})).await;
    let other = start(&t, &a.widget_key, json!({})).await;
    for i in 0..30 {
        let r = t.visitor_send(token(&s), &format!("message {i}")).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            // The minute rolled over mid-test: the window restarted, so the count restarts too.
            continue;
        }
        assert_eq!(r.status, StatusCode::CREATED, "{i}: {:?}", r.body);
    }
    let mut limited = None;
    for _ in 0..31 {
        let r = t.visitor_send(token(&s), "one too many").await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
    }
    let r = limited.expect("the 31st message within one minute is refused");
    assert_eq!(r.code(), "rate_limited");
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    assert_eq!(t.visitor_send(token(&other), "another visitor is not limited").await.status, StatusCode::CREATED);
}

#[tokio::test]
async fn one_ip_starts_at_most_60_conversations_a_minute_per_tenant() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let b = tenant(&t, "han@other.test").await;
    let mut limited = None;
    for _ in 0..122 {
        let r = t.start_conversation(&a.widget_key, json!({})).await;
        if r.status == StatusCode::TOO_MANY_REQUESTS {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status, StatusCode::CREATED);
    }
    let r = limited.expect("past 60 starts a minute the IP is refused");
    assert_eq!(r.code(), "rate_limited");
    assert!(r.headers.contains_key("retry-after"));
    assert_eq!(t.start_conversation(&b.widget_key, json!({})).await.status, StatusCode::CREATED, "per tenant");
}

#[tokio::test]
async fn an_idempotency_key_makes_a_retry_store_one_message() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let s = start(&t, &a.widget_key, json!({})).await;
    let send = |key: &'static str, content: &'static str| {
        let tok = token(&s).to_owned();
        let t = &t;
        async move {
            t.call(
                Method::POST,
                "/v1/widget/messages",
                Some(json!({"content": content})),
                Some(&tok),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send("retry-1", "hello").await;
    assert_eq!(first.status, StatusCode::CREATED);
    let again = send("retry-1", "hello").await;
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(again.body, first.body, "the same id and time");
    let other = send("retry-2", "hello").await;
    assert_ne!(other.body["id"], first.body["id"]);
    let misuse = send("retry-1", "a different message").await;
    assert_eq!((misuse.status, misuse.code()), (StatusCode::CONFLICT, "conflict"));
    let polled = t.visitor_poll(token(&s), None).await;
    assert_eq!(polled.body["items"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_visitor_sees_replies_but_never_internal_notes() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let s = start(&t, &a.widget_key, json!({})).await;
    let c = s["conversation_id"].as_str().unwrap();
    let asked = t.visitor_send(token(&s), "is it in stock?").await.body["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/conversations/{c}/messages");
    let note = t
        .post(&path, json!({"content": "customer is a reseller, check price list", "internal": true}), Some(&a.admin))
        .await;
    assert_eq!(note.status, StatusCode::CREATED, "{:?}", note.body);
    assert_eq!(note.body["internal"], true);
    let reply = t.post(&path, json!({"content": "Yes, 12 left."}), Some(&a.admin)).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.body["author"], "agent");
    assert_eq!(reply.body["internal"], false);

    let seen = t.visitor_poll(token(&s), Some(&asked)).await;
    let items = seen.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["content"], "Yes, 12 left.");
    let all = t.visitor_poll(token(&s), None).await;
    assert!(all.body["items"].as_array().unwrap().iter().all(|m| m["internal"] == false));

    let staff = t.get(&path, Some(&a.admin)).await;
    assert_eq!(staff.body["items"].as_array().unwrap().len(), 3, "staff see the note");
}

/// The same widget flow on the AWS adapters against moto (resources from `infra/template.yaml`): the
/// transaction's conditions (`status <> closed`, the idempotency claim) and cancellation reasons as DynamoDB
/// reports them.
#[tokio::test(flavor = "multi_thread")]
async fn the_widget_flow_holds_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("widget")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let a = tenant(&t, "li@acme.test").await;
    let s = start(&t, &a.widget_key, json!({"visitor": {"external_id": "u-9", "phone": "13800138000"}})).await;
    assert_eq!(
        start(&t, &a.widget_key, json!({"visitor": {"external_id": "u-9"}})).await["customer_id"],
        s["customer_id"]
    );
    let c = s["conversation_id"].as_str().unwrap();
    let send = |key: &'static str| {
        let (t, tok) = (&t, token(&s).to_owned());
        async move {
            t.call(
                Method::POST,
                "/v1/widget/messages",
                Some(json!({"content": "hello"})),
                Some(&tok),
                &[("idempotency-key", key)],
            )
            .await
        }
    };
    let first = send("k1").await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!(send("k1").await.body, first.body, "a retry answers the first send");
    let path = format!("/v1/conversations/{c}/messages");
    assert_eq!(
        t.post(&path, json!({"content": "note", "internal": true}), Some(&a.admin)).await.status,
        StatusCode::CREATED
    );
    assert_eq!(t.post(&path, json!({"content": "hi there"}), Some(&a.admin)).await.status, StatusCode::CREATED);
    let seen = t.visitor_poll(token(&s), None).await;
    let contents: Vec<&str> =
        seen.body["items"].as_array().unwrap().iter().map(|m| m["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["hello", "hi there"]);

    let closed = t.call(Method::POST, &format!("/v1/conversations/{c}/close"), None, Some(&a.admin), &[]).await;
    assert_eq!(closed.body["status"], "closed", "{:?}", closed.body);
    assert_eq!(t.visitor_send(token(&s), "still there?").await.status, StatusCode::CREATED);
    assert_ne!(t.get(&format!("/v1/conversations/{c}"), Some(&a.admin)).await.body["status"], "closed");
    let history = t.get(&path, Some(&a.admin)).await;
    assert_eq!(history.body["items"].as_array().unwrap().len(), 4, "{:?}", history.body);
}

#[tokio::test]
async fn the_widget_routes_are_documented_with_their_security() {
    let t = spawn_app().await;
    let doc = t.get("/v1/openapi.json", None).await.body;
    assert_eq!(doc["components"]["securitySchemes"]["widget_key"]["in"], "header");
    assert_eq!(doc["components"]["securitySchemes"]["widget_key"]["name"], "X-Widget-Key");
    assert_eq!(doc["components"]["securitySchemes"]["visitor"]["scheme"], "bearer");
    assert_eq!(doc["paths"]["/v1/widget/conversations"]["post"]["security"], json!([{"widget_key": []}]));
    for (path, method) in [("/v1/widget/messages", "post"), ("/v1/widget/messages", "get")] {
        assert_eq!(doc["paths"][path][method]["security"], json!([{"visitor": []}]), "{method} {path}");
    }
    assert_eq!(
        doc["paths"]["/v1/conversations/{id}"]["delete"]["security"],
        json!([{"bearer": ["conversations.delete"]}])
    );
    assert_eq!(doc["paths"]["/v1/conversations"]["get"]["security"], json!([{"bearer": []}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_visits_and_retries_make_one_customer_and_one_message() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let starts = futures::future::join_all(
        (0..6).map(|_| t.start_conversation(&a.widget_key, json!({"visitor": {"external_id": "racer"}}))),
    )
    .await;
    let customers: std::collections::BTreeSet<String> = starts
        .iter()
        .map(|r| {
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["customer_id"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(customers.len(), 1, "one external id, one customer, however many first visits race");

    let tok = starts[0].body["visitor_token"].as_str().unwrap().to_owned();
    let sends = futures::future::join_all((0..6).map(|_| {
        t.call(
            Method::POST,
            "/v1/widget/messages",
            Some(json!({"content": "paid twice?"})),
            Some(&tok),
            &[("idempotency-key", "pay-1")],
        )
    }))
    .await;
    let ids: std::collections::BTreeSet<String> = sends
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .map(|r| r.body["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 1, "every retry that succeeds answers the same message: {sends:?}");
    for r in &sends {
        assert!(r.status == StatusCode::CREATED || r.status == StatusCode::CONFLICT, "{r:?}");
    }
    assert_eq!(t.visitor_poll(&tok, None).await.body["items"].as_array().unwrap().len(), 1);
}
