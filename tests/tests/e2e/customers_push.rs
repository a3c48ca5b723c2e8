//! What integrations push about customers with an API key: the customer itself (`POST /v1/customers`, an
//! upsert by `external_id`), its purchases (idempotent by `order_id`), and the profile that shows them with the
//! page trail the widget records and the conversation count; sensitive changes audited masked.

use kefu_e2e::{ADMIN_PASSWORD, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Tenant {
    id: String,
    widget_key: String,
    admin: String,
    key: String,
}

async fn tenant(t: &TestApp) -> Tenant {
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, "li@acme.test", ADMIN_PASSWORD).await;
    let k = t
        .post(
            "/v1/api_keys",
            json!({"name": "shop", "permissions": ["customers.view", "customers.edit"]}),
            Some(&admin),
        )
        .await;
    assert_eq!(k.status, StatusCode::CREATED, "{:?}", k.body);
    Tenant {
        id,
        widget_key: created["widget_key"].as_str().unwrap().to_owned(),
        admin,
        key: k.body["key"].as_str().unwrap().to_owned(),
    }
}

#[tokio::test]
async fn a_customer_is_upserted_by_external_id() {
    let t = spawn_app().await;
    let a = tenant(&t).await;
    let first = t
        .with_key(
            Method::POST,
            "/v1/customers",
            Some(json!({"external_id": "crm-1", "name": "Wang Fang", "email": "wang@example.com",
                        "attributes": {"plan": "gold", "orders": 3}})),
            &a.key,
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let id = first.body["id"].as_str().unwrap().to_owned();
    assert_eq!(first.body["external_id"], "crm-1");
    assert_eq!(first.body["attributes"]["plan"], "gold");
    assert_eq!(first.body["email"], "w***@example.com", "the key lacks customers.view_sensitive: masked");

    let again = t.with_key(Method::POST, "/v1/customers", Some(json!({"external_id": "crm-1"})), &a.key).await;
    assert_eq!((again.status, again.body["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let changed = t
        .with_key(
            Method::POST,
            "/v1/customers",
            Some(json!({"external_id": "crm-1", "email": "fang.wang@example.com", "phone": "13812345678"})),
            &a.key,
        )
        .await;
    assert_eq!((changed.status, changed.body["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let seen = t.get(&format!("/v1/customers/{id}"), Some(&a.admin)).await;
    assert_eq!(seen.body["email"], "fang.wang@example.com");
    assert_eq!(seen.body["name"], "Wang Fang", "fields not sent stay");

    // Search finds it by an external-id prefix.
    let found = t.get("/v1/customers?q=crm-", Some(&a.admin)).await;
    let ids: Vec<&str> = found.body["items"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert_eq!(ids, [id.as_str()], "{:?}", found.body);

    // The widget's returning visitor with that external id is the same customer.
    let s = t.start_conversation(&a.widget_key, json!({"visitor": {"external_id": "crm-1"}})).await;
    assert_eq!(s.body["customer_id"].as_str(), Some(id.as_str()));

    // Without external_id it always creates; bad fields are 400 with the field; a staff token works too.
    let plain = t.post("/v1/customers", json!({"name": "Walk-in"}), Some(&a.admin)).await;
    assert_eq!(plain.status, StatusCode::CREATED);
    assert_ne!(plain.body["id"].as_str(), Some(id.as_str()));
    for (body, field) in [
        (json!({"email": "nope"}), "email"),
        (json!({"external_id": "has space"}), "external_id"),
        (json!({"group_id": "cg_01HZZZZZZZZZZZZZZZZZZZZZZZ"}), "group_id"),
        (json!({"attributes": {"x": [1]}}), "attributes.x"),
    ] {
        let r = t.with_key(Method::POST, "/v1/customers", Some(body.clone()), &a.key).await;
        assert_eq!((r.status, r.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some(field)), "{body}");
    }

    // The email and phone change is audited, masked: neither old nor new value in clear.
    let log = t.audit_entries(&a.id).await;
    let text = serde_json::to_string(&log).unwrap();
    assert!(!text.contains("wang@example.com") && !text.contains("fang.wang@") && !text.contains("13812345678"));
    let update = log.iter().find(|e| e["action"] == "customer.update").expect("an update entry");
    let sensitive = update["detail"]["sensitive"].as_array().unwrap();
    assert_eq!(sensitive.len(), 2, "{update}");
    assert_eq!(sensitive[0]["old_masked"], "w***@example.com");
    assert!(log.iter().any(|e| e["action"] == "customer.create"));
}

#[tokio::test]
async fn patch_audits_sensitive_changes_masked() {
    let t = spawn_app().await;
    let a = tenant(&t).await;
    let c = t.post("/v1/customers", json!({"email": "zhang.san@example.com"}), Some(&a.admin)).await;
    let id = c.body["id"].as_str().unwrap();
    let same = t
        .call(
            Method::PATCH,
            &format!("/v1/customers/{id}"),
            Some(json!({"email": "Zhang.San@Example.com"})),
            Some(&a.admin),
            &[],
        )
        .await;
    assert_eq!(same.status, StatusCode::OK);
    let r = t
        .call(
            Method::PATCH,
            &format!("/v1/customers/{id}"),
            Some(json!({"email": "li.si@example.com"})),
            Some(&a.admin),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let log = t.audit_entries(&a.id).await;
    let updates: Vec<&Value> = log.iter().filter(|e| e["action"] == "customer.update").collect();
    assert_eq!(updates.len(), 2);
    assert!(updates[0]["detail"]["sensitive"].as_array().unwrap().is_empty(), "re-sending the same value is no change");
    let change = &updates[1]["detail"]["sensitive"][0];
    assert_eq!((change["field"].as_str(), change["old_masked"].as_str()), (Some("email"), Some("z***@example.com")));
    assert!(!serde_json::to_string(&log).unwrap().contains("li.si@example.com"));
}

#[tokio::test]
async fn purchases_are_idempotent_by_order_and_the_profile_shows_them_with_pages_and_counts() {
    let t = spawn_app().await;
    let a = tenant(&t).await;
    let s = t.start_conversation(&a.widget_key, json!({"visitor": {"external_id": "buyer-1", "name": "Li"}})).await;
    let (id, token) =
        (s.body["customer_id"].as_str().unwrap().to_owned(), s.body["visitor_token"].as_str().unwrap().to_owned());
    let path = format!("/v1/customers/{id}/purchases");
    let order = |n: u32, amount: Value, day: u32| {
        json!({"order_id": format!("SO-{n}"), "amount": amount, "currency": "cny",
               "items": ["Kettle", {"name": "Filter", "quantity": 2}], "purchased_at": format!("2026-06-{day:02}T08:00:00Z")})
    };
    let first = t.with_key(Method::POST, &path, Some(order(1, json!(19.99), 1)), &a.key).await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    assert_eq!((first.body["amount"].as_str(), first.body["currency"].as_str()), (Some("19.99"), Some("CNY")));
    assert_eq!(first.body["items"][1], json!({"name": "Filter", "quantity": 2}));
    let again = t.with_key(Method::POST, &path, Some(order(1, json!("25.00"), 1)), &a.key).await;
    assert_eq!((again.status, again.body["amount"].as_str()), (StatusCode::OK, Some("25.00")));
    for n in 2..=22 {
        let r = t.with_key(Method::POST, &path, Some(order(n, json!(n), n)), &a.key).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    }
    let listed = t.with_key(Method::GET, &format!("{path}?limit=200"), None, &a.key).await;
    let orders: Vec<&str> =
        listed.body["items"].as_array().unwrap().iter().map(|p| p["order_id"].as_str().unwrap()).collect();
    assert_eq!(orders.len(), 22, "re-posting SO-1 updated it");
    assert_eq!((orders[0], orders[21]), ("SO-22", "SO-1"), "newest first");

    let bad = t
        .with_key(
            Method::POST,
            &path,
            Some(
                json!({"order_id": "x", "amount": "1.234", "currency": "CNY", "purchased_at": "2026-06-01T00:00:00Z"}),
            ),
            &a.key,
        )
        .await;
    assert_eq!((bad.status, bad.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("amount")));
    let nobody = t
        .with_key(
            Method::POST,
            "/v1/customers/cu_01HZZZZZZZZZZZZZZZZZZZZZZZ/purchases",
            Some(order(1, json!(1), 1)),
            &a.key,
        )
        .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);

    // Page views from the widget, then a second conversation of the same customer.
    for n in 0..55 {
        let r = t
            .post(
                "/v1/widget/pageviews",
                json!({"url": format!("https://acme.test/p/{n}#top"), "title": format!("P{n}")}),
                Some(&token),
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    }
    let bad_url = t.post("/v1/widget/pageviews", json!({"url": "javascript:alert(1)"}), Some(&token)).await;
    assert_eq!((bad_url.status, bad_url.body["error"]["field"].as_str()), (StatusCode::BAD_REQUEST, Some("url")));
    t.start_conversation(&a.widget_key, json!({"visitor": {"external_id": "buyer-1"}})).await;

    let profile = t.get(&format!("/v1/customers/{id}"), Some(&a.admin)).await;
    assert_eq!(profile.status, StatusCode::OK, "{:?}", profile.body);
    assert_eq!(profile.body["name"], "Li");
    let purchases = profile.body["purchases"].as_array().unwrap();
    assert_eq!(purchases.len(), 20);
    assert_eq!(purchases[0]["order_id"], "SO-22");
    let pages = profile.body["recent_pages"].as_array().unwrap();
    assert_eq!(pages.len(), 50, "the last 50");
    assert_eq!((pages[0]["url"].as_str(), pages[0]["title"].as_str()), (Some("https://acme.test/p/54"), Some("P54")));
    assert_eq!(pages[49]["url"], "https://acme.test/p/5");
    assert_eq!(profile.body["conversations_count"], 2);
}
