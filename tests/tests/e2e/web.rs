//! What the web widget and console need from `kefu serve`: the widget settings (`/v1/settings/widget`), the
//! widget's configuration (`/v1/widget/config`, with `online`), the pre-chat form and group choice on
//! `POST /v1/widget/conversations`, and CORS as API.md's Conventions give it (widget endpoints open to the
//! tenant's origins, staff endpoints to the console's own).

use kefu_e2e::{ADMIN_PASSWORD, Reply, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

struct Tenant {
    id: String,
    widget_key: String,
    admin: String,
}

async fn tenant(t: &TestApp, email: &str) -> Tenant {
    let created = t.create_tenant("Acme", email).await;
    let id = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&id, email, ADMIN_PASSWORD).await;
    Tenant { id, widget_key: created["widget_key"].as_str().unwrap().to_owned(), admin }
}

async fn put_settings(t: &TestApp, token: &str, body: Value) -> Reply {
    t.call(Method::PUT, "/v1/settings/widget", Some(body), Some(token), &[]).await
}

async fn group(t: &TestApp, ten: &Tenant, name: &str) -> String {
    let r = t.post("/v1/groups", json!({"name": name, "agent_ids": []}), Some(&ten.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

fn assignment(queue_when_full: bool, schedule_id: Option<&str>) -> Value {
    json!({"strategy": "least_loaded", "queue_when_full": queue_when_full, "sticky_returning_customers": true,
           "default_group_id": null, "schedule_id": schedule_id})
}

async fn config(t: &TestApp, key: &str) -> Reply {
    t.call(Method::GET, "/v1/widget/config", None, None, &[("x-widget-key", key)]).await
}

/// A header's value, or "" when absent.
fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn widget_settings_are_validated_stored_and_audited() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let defaults = t.get("/v1/settings/widget", Some(&a.admin)).await;
    assert_eq!(defaults.status, StatusCode::OK);
    assert_eq!(defaults.body["language"], "auto");
    assert_eq!(defaults.body["typing_preview"], false);
    assert_eq!(defaults.body["offline_mode"], "queue");
    assert_eq!(defaults.body["allowed_origins"], json!([]));
    assert_eq!(defaults.body["attachments"]["max_bytes"], 10 * 1024 * 1024);
    assert_eq!(defaults.body["pre_chat_form"], json!({"enabled": false, "fields": []}));

    let sales = group(&t, &a, "Sales").await;
    let support = group(&t, &a, "Support").await;
    let full = json!({
        "title": "Acme help", "color": "#FF6600", "greeting": "Hi! How can we help?", "language": "zh-CN",
        "allowed_origins": ["https://shop.acme.test", "http://localhost:5173"],
        "pre_chat_form": {"enabled": true, "fields": [
            {"name": "email", "label": "Email", "type": "email", "required": true},
            {"name": "topic", "label": "Topic", "type": "select", "required": false, "options": ["Orders", "Returns"]}
        ]},
        "visitor_group_ids": [sales, support], "offline_mode": "leave_message", "leave_message_group_id": support,
        "typing_preview": true, "attachments": {"enabled": true, "max_bytes": 1048576, "content_types": ["image/*"]}
    });
    let saved = put_settings(&t, &a.admin, full.clone()).await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    let mut expected = full.clone();
    expected["color"] = json!("#ff6600");
    // The answer also names the widget key (tests/me.rs checks it is the tenant's).
    expected["widget_key"] = saved.body["widget_key"].clone();
    assert!(expected["widget_key"].as_str().is_some_and(|k| k.starts_with("wk_")));
    assert_eq!(saved.body, expected);
    assert_eq!(t.get("/v1/settings/widget", Some(&a.admin)).await.body, expected);

    // Each bad field is named; nothing changes.
    let other = tenant(&t, "wu@other.test").await;
    let foreign_group = group(&t, &other, "Theirs").await;
    for (body, field) in [
        (json!({"color": "orange"}), "color"),
        (json!({"title": ""}), "title"),
        (json!({"language": "fr"}), "language"),
        (json!({"allowed_origins": ["https://ok.test", "shop.acme.test"]}), "allowed_origins[1]"),
        (json!({"allowed_origins": ["https://shop.acme.test/path"]}), "allowed_origins[0]"),
        (json!({"visitor_group_ids": [foreign_group]}), "visitor_group_ids[0]"),
        (json!({"leave_message_group_id": "gr_nope"}), "leave_message_group_id"),
        (json!({"offline_mode": "sleep"}), "offline_mode"),
        (
            json!({"pre_chat_form": {"enabled": true, "fields": [{"name": "t", "label": "T", "type": "select"}]}}),
            "pre_chat_form.fields[0].options",
        ),
        (
            json!({"pre_chat_form": {"enabled": true, "fields": [{"name": "t", "label": "T", "type": "date"}]}}),
            "pre_chat_form.fields[0].type",
        ),
        (json!({"attachments": {"enabled": true, "max_bytes": 0}}), "attachments.max_bytes"),
        (json!({"attachments": {"content_types": ["pdf"]}}), "attachments.content_types[0]"),
    ] {
        let r = put_settings(&t, &a.admin, body.clone()).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field)),
            "{body}: {:?}",
            r.body
        );
    }
    assert_eq!(t.get("/v1/settings/widget", Some(&a.admin)).await.body, expected, "refused changes changed nothing");

    // A partial update keeps the rest; another tenant sees only its own settings.
    let r = put_settings(&t, &a.admin, json!({"greeting": "你好", "leave_message_group_id": null})).await;
    assert_eq!(r.body["greeting"], "你好");
    assert!(r.body["leave_message_group_id"].is_null());
    assert_eq!(r.body["visitor_group_ids"], json!([sales, support]));
    assert_eq!(t.get("/v1/settings/widget", Some(&other.admin)).await.body["title"], "Chat with us");

    // settings.manage is needed; the change is audited.
    let agent = t.add_staff(&a.id, "agent@acme.test", "agent", "agent password long enough").await;
    let agent_token = t.login(&a.id, "agent@acme.test", "agent password long enough").await;
    assert_eq!(t.get("/v1/settings/widget", Some(&agent_token)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put_settings(&t, &agent_token, json!({"title": "X"})).await.status, StatusCode::FORBIDDEN);
    let audit = t.audit_entries(&a.id).await;
    let updates: Vec<&Value> =
        audit.iter().filter(|e| e["action"] == "settings.update" && e["target_id"] == "widget").collect();
    assert_eq!(updates.len(), 2, "two saved changes: {updates:?}");
    assert!(updates.iter().all(|e| e["outcome"] == "success" && e["target_type"] == "settings"));
    assert!(audit.iter().any(|e| e["outcome"] == "denied" && e["actor_id"] == agent.as_str()));
}

#[tokio::test]
async fn the_widget_config_shows_the_settings_groups_and_whether_someone_is_online() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    assert_eq!(config(&t, "wk_unknown").await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(t.get("/v1/widget/config", None).await.status, StatusCode::UNAUTHORIZED);

    let c = config(&t, &a.widget_key).await;
    assert_eq!(c.status, StatusCode::OK, "{:?}", c.body);
    assert_eq!(c.body["title"], "Chat with us");
    assert_eq!(c.body["groups"], json!([]));
    assert_eq!(c.body["online"], true, "nobody is online, but conversations queue by default");
    assert!(c.body.get("allowed_origins").is_none() && c.body.get("leave_message_group_id").is_none());

    let sales = group(&t, &a, "Sales").await;
    let r = put_settings(&t, &a.admin, json!({"title": "Acme", "visitor_group_ids": [sales], "typing_preview": true}))
        .await;
    assert_eq!(r.status, StatusCode::OK);
    let r = t.call(Method::PUT, "/v1/settings/assignment", Some(assignment(false, None)), Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let c = config(&t, &a.widget_key).await.body;
    assert_eq!(c["title"], "Acme");
    assert_eq!(c["typing_preview"], true);
    assert_eq!(c["groups"], json!([{"id": sales, "name": "Sales"}]));
    assert_eq!(c["online"], false, "no queue and nobody online");

    let r = t.call(Method::PUT, "/v1/me/status", Some(json!({"status": "online"})), Some(&a.admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(config(&t, &a.widget_key).await.body["online"], true, "the admin is online with room");

    // Working hours that are never open: offline whatever the agents.
    let r = t.post("/v1/schedules", json!({"name": "Never", "timezone": "UTC", "weekly": {}}), Some(&a.admin)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let schedule = r.body["id"].as_str().unwrap();
    let r = t
        .call(Method::PUT, "/v1/settings/assignment", Some(assignment(true, Some(schedule))), Some(&a.admin), &[])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(config(&t, &a.widget_key).await.body["online"], false);
}

#[tokio::test]
async fn the_pre_chat_form_and_the_group_choice_are_checked_when_a_visitor_starts() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let sales = group(&t, &a, "Sales").await;
    let hidden = group(&t, &a, "Internal").await;
    let r = put_settings(
        &t,
        &a.admin,
        json!({"visitor_group_ids": [sales], "pre_chat_form": {"enabled": true, "fields": [
            {"name": "email", "label": "Email", "type": "email", "required": true},
            {"name": "phone", "label": "Phone", "type": "phone"},
            {"name": "topic", "label": "Topic", "type": "select", "options": ["Orders", "Returns"], "required": true}
        ]}}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    for (pre_chat, field) in [
        (json!(null), "pre_chat.email"),
        (json!({"topic": "Orders"}), "pre_chat.email"),
        (json!({"email": "not an email", "topic": "Orders"}), "pre_chat.email"),
        (json!({"email": "w@x.test", "topic": "Refunds"}), "pre_chat.topic"),
        (json!({"email": "w@x.test", "topic": "Orders", "phone": "call me"}), "pre_chat.phone"),
        (json!({"email": "w@x.test", "topic": "Orders", "shoe_size": "42"}), "pre_chat.shoe_size"),
    ] {
        let r = t.start_conversation(&a.widget_key, json!({"pre_chat": pre_chat})).await;
        assert_eq!(
            (r.status, r.code(), r.body["error"]["field"].as_str()),
            (StatusCode::BAD_REQUEST, "validation_failed", Some(field)),
            "{pre_chat}: {:?}",
            r.body
        );
    }
    let r = t
        .start_conversation(
            &a.widget_key,
            json!({"group_id": hidden, "pre_chat": {"email": "w@x.test", "topic": "Orders"}}),
        )
        .await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("group_id")),
        "{:?}",
        r.body
    );
    let listed = t.get("/v1/conversations", Some(&a.admin)).await;
    assert_eq!(listed.body["items"], json!([]), "nothing was stored for refused starts");

    let r = t
        .start_conversation(
            &a.widget_key,
            json!({"group_id": sales, "pre_chat": {"email": "Wu@X.test", "topic": "Returns", "phone": "+86 138 0013 8000"}}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let customer = t.get(&format!("/v1/customers/{}", r.body["customer_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(customer.status, StatusCode::OK, "{:?}", customer.body);
    assert_eq!(
        customer.body["attributes"],
        json!({"email": "wu@x.test", "topic": "Returns", "phone": "+86 138 0013 8000"}),
        "the answers are the customer's attributes"
    );
    let conv =
        t.get(&format!("/v1/conversations/{}", r.body["conversation_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(conv.body["group_id"], sales.as_str());

    // A returning visitor's new answers replace the old ones of the same names.
    let first = t
        .start_conversation(
            &a.widget_key,
            json!({"visitor": {"external_id": "u-1"}, "pre_chat": {"email": "a@x.test", "topic": "Orders"}}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{:?}", first.body);
    let again = t
        .start_conversation(
            &a.widget_key,
            json!({"visitor": {"external_id": "u-1"}, "pre_chat": {"email": "a@x.test", "topic": "Returns"}}),
        )
        .await;
    assert_eq!(again.body["customer_id"], first.body["customer_id"]);
    let customer =
        t.get(&format!("/v1/customers/{}", first.body["customer_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(customer.body["attributes"]["topic"], "Returns");
}

#[tokio::test]
async fn preflights_on_widget_endpoints_echo_the_origin() {
    let t = spawn_app().await;
    for path in ["/v1/widget/conversations", "/v1/widget/messages", "/v1/widget/config", "/v1/realtime/ticket"] {
        let r = t
            .call(
                Method::OPTIONS,
                path,
                None,
                None,
                &[
                    ("origin", "https://shop.acme.test"),
                    ("access-control-request-method", "POST"),
                    ("access-control-request-headers", "content-type,x-widget-key"),
                ],
            )
            .await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&r, "access-control-allow-origin"), "https://shop.acme.test", "{path}");
        let methods = header(&r, "access-control-allow-methods");
        assert!(methods.contains("GET") && methods.contains("POST"), "{path}: {methods}");
        let headers = header(&r, "access-control-allow-headers").to_ascii_lowercase();
        for h in ["authorization", "content-type", "x-widget-key", "idempotency-key"] {
            assert!(headers.contains(h), "{path}: {headers}");
        }
        assert!(header(&r, "access-control-max-age").parse::<u32>().is_ok_and(|s| s > 0), "{path}");
        assert!(header(&r, "vary").to_ascii_lowercase().contains("origin"), "{path}");
    }
    // Staff endpoints grant no preflight.
    let r = t
        .call(
            Method::OPTIONS,
            "/v1/settings/widget",
            None,
            None,
            &[("origin", "https://shop.acme.test"), ("access-control-request-method", "PUT")],
        )
        .await;
    assert!(r.headers.get("access-control-allow-origin").is_none(), "{:?}", r.headers);
    assert_ne!(r.status, StatusCode::NO_CONTENT);
}

async fn start_from(t: &TestApp, key: &str, origin: &str) -> Reply {
    t.call(
        Method::POST,
        "/v1/widget/conversations",
        Some(json!({})),
        None,
        &[("x-widget-key", key), ("origin", origin)],
    )
    .await
}

async fn send_from(t: &TestApp, token: String, origin: &str) -> Reply {
    t.call(Method::POST, "/v1/widget/messages", Some(json!({"content": "hello"})), Some(&token), &[("origin", origin)])
        .await
}

#[tokio::test]
async fn widget_requests_from_origins_the_tenant_does_not_allow_are_refused_and_store_nothing() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let shop = "https://shop.acme.test";
    let evil = "https://evil.test";
    let key = a.widget_key.as_str();
    let start = |origin: &'static str| start_from(&t, key, origin);

    // An empty list allows every origin, and the answer says so to the browser.
    let r = start(evil).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(header(&r, "access-control-allow-origin"), evil);
    assert!(header(&r, "vary").to_ascii_lowercase().contains("origin"));
    let early_token = r.body["visitor_token"].as_str().unwrap().to_owned();

    assert_eq!(put_settings(&t, &a.admin, json!({"allowed_origins": [shop]})).await.status, StatusCode::OK);
    let before = t.get("/v1/conversations", Some(&a.admin)).await.body["items"].as_array().unwrap().len();
    let r = start(evil).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "origin_not_allowed"), "{:?}", r.body);
    let r = t.call(Method::GET, "/v1/widget/config", None, None, &[("x-widget-key", key), ("origin", evil)]).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "origin_not_allowed"));
    let after = t.get("/v1/conversations", Some(&a.admin)).await.body["items"].as_array().unwrap().len();
    assert_eq!(before, after, "a refused start stored nothing");

    let r = start(shop).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(header(&r, "access-control-allow-origin"), shop);
    let token = r.body["visitor_token"].as_str().unwrap().to_owned();
    let r = t.call(Method::GET, "/v1/widget/config", None, None, &[("x-widget-key", key), ("origin", shop)]).await;
    assert_eq!((r.status, header(&r, "access-control-allow-origin")), (StatusCode::OK, shop));

    // The visitor token names the tenant for the other endpoints.
    let send = |token: String, origin: &'static str| send_from(&t, token, origin);
    let r = send(token.clone(), evil).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "origin_not_allowed"), "{:?}", r.body);
    let r = send(early_token.clone(), evil).await;
    assert_eq!(r.code(), "origin_not_allowed", "a token from before the change follows the new list");
    let r = t.call(Method::POST, "/v1/realtime/ticket", Some(json!({})), Some(&token), &[("origin", evil)]).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "origin_not_allowed"));
    let polled = t.visitor_poll(&token, None).await;
    assert_eq!(polled.body["items"], json!([]), "the refused message was not stored");

    let r = send(token.clone(), shop).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(header(&r, "access-control-allow-origin"), shop);
    let r = t
        .call(Method::GET, "/v1/widget/messages", None, Some(&token), &[("origin", "https://SHOP.acme.test:443")])
        .await;
    assert_eq!((r.status, r.body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)));
    let r = t.call(Method::POST, "/v1/realtime/ticket", Some(json!({})), Some(&token), &[("origin", shop)]).await;
    assert_eq!((r.status, header(&r, "access-control-allow-origin")), (StatusCode::OK, shop), "{:?}", r.body);

    // Without an Origin (a server, curl) the list does not apply; an unknown key is 401, readable by the page.
    assert_eq!(t.visitor_send(&token, "from a server").await.status, StatusCode::CREATED);
    let r =
        t.call(Method::GET, "/v1/widget/config", None, None, &[("x-widget-key", "wk_nope"), ("origin", evil)]).await;
    assert_eq!((r.status, header(&r, "access-control-allow-origin")), (StatusCode::UNAUTHORIZED, evil));
}

#[tokio::test]
async fn staff_endpoints_answer_only_the_consoles_own_origin() {
    let t = spawn_app().await;
    let a = tenant(&t, "li@acme.test").await;
    let evil = "https://evil.test";

    // Reads carry no CORS header, so a browser on another origin cannot read them.
    let r = t.call(Method::GET, "/v1/me", None, Some(&a.admin), &[("origin", evil)]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.headers.get("access-control-allow-origin").is_none());

    // Changes from another origin are refused before they run; from the console's own origin they work.
    let r = put_settings(&t, &a.admin, json!({"title": "Hijacked"})).await;
    assert_eq!(r.status, StatusCode::OK, "no Origin: a server or curl");
    let r = t
        .call(Method::PUT, "/v1/settings/widget", Some(json!({"title": "Evil"})), Some(&a.admin), &[("origin", evil)])
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "origin_not_allowed"));
    assert!(r.headers.get("access-control-allow-origin").is_none());
    assert_eq!(t.get("/v1/settings/widget", Some(&a.admin)).await.body["title"], "Hijacked");
    let r = t
        .call(
            Method::POST,
            "/v1/auth/login",
            Some(json!({"tenant_id": a.id, "email": "li@acme.test", "password": ADMIN_PASSWORD})),
            None,
            &[("origin", evil)],
        )
        .await;
    assert_eq!(r.code(), "origin_not_allowed");
    let own = t.base.clone();
    let r = t
        .call(
            Method::PUT,
            "/v1/settings/widget",
            Some(json!({"title": "Console"})),
            Some(&a.admin),
            &[("origin", &own)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert!(r.headers.get("access-control-allow-origin").is_none(), "same origin needs no CORS header");
    let r = t.call(Method::POST, "/v1/realtime/ticket", Some(json!({})), Some(&a.admin), &[("origin", evil)]).await;
    assert_eq!(r.code(), "origin_not_allowed", "a staff token's ticket is a staff request");
}

/// A fake web build: the console's `index.html` and a fingerprinted asset, the widget's loader (with a gzip
/// sibling) and a fingerprinted chunk.
fn fake_build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("assets")).unwrap();
    std::fs::create_dir_all(p.join("widget")).unwrap();
    std::fs::write(p.join("index.html"), "<!doctype html><title>Kefu console</title>").unwrap();
    std::fs::write(p.join("assets/index-B6d2Fa9x.js"), "console.log('console')").unwrap();
    std::fs::write(p.join("widget/kefu.js"), "/* loader */").unwrap();
    std::fs::write(p.join("widget/kefu.js.gz"), b"\x1f\x8bfake gzip bytes").unwrap();
    std::fs::write(p.join("widget/chat-C1a2B3c4.js"), "/* chat ui */").unwrap();
    dir
}

struct Fetched {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }
}

async fn fetch(t: &TestApp, path: &str, headers: &[(&str, &str)]) -> Fetched {
    let mut req = t.client.get(format!("{}{path}", t.base));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("request sent");
    let (status, headers) = (res.status(), res.headers().clone());
    Fetched { status, headers, body: String::from_utf8_lossy(&res.bytes().await.expect("body")).into_owned() }
}

#[tokio::test]
async fn the_console_and_the_widget_are_served_with_their_cache_and_cors_headers() {
    let build = fake_build();
    let data = tempfile::tempdir().unwrap();
    let config =
        kefu_local::ServeConfig { web_dir: Some(build.path().to_path_buf()), ..kefu_e2e::embedded_config(data.path()) };
    let mut t = kefu_e2e::spawn_with(config).await;

    let index = fetch(&t, "/", &[]).await;
    assert_eq!(index.status, StatusCode::OK);
    assert!(index.body.contains("Kefu console"));
    assert_eq!(index.header("cache-control"), "no-cache");
    assert!(index.header("content-type").starts_with("text/html"));
    assert_eq!(index.header("x-frame-options"), "DENY");
    for spa_path in ["/inbox", "/conversations/cv_123", "/admin/widget?tab=embed"] {
        let r = fetch(&t, spa_path, &[]).await;
        assert_eq!((r.status, r.header("cache-control")), (StatusCode::OK, "no-cache"), "{spa_path}");
        assert!(r.body.contains("Kefu console"), "{spa_path} falls back to index.html");
    }

    let asset = fetch(&t, "/assets/index-B6d2Fa9x.js", &[]).await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(asset.header("cache-control"), "public, max-age=31536000, immutable");
    assert!(asset.header("content-type").contains("javascript"));
    assert_eq!(fetch(&t, "/assets/missing-B6d2Fa9x.js", &[]).await.status, StatusCode::NOT_FOUND);

    let loader = fetch(&t, "/widget/kefu.js", &[("origin", "https://shop.acme.test")]).await;
    assert_eq!(loader.status, StatusCode::OK);
    assert_eq!(loader.body, "/* loader */");
    assert_eq!(loader.header("cache-control"), "public, max-age=300");
    assert_eq!(loader.header("access-control-allow-origin"), "*");
    assert!(loader.header("x-frame-options").is_empty());
    let gz = fetch(&t, "/widget/kefu.js", &[("accept-encoding", "gzip")]).await;
    assert_eq!((gz.status, gz.header("content-encoding")), (StatusCode::OK, "gzip"), "the precompressed file");
    assert!(gz.header("vary").to_ascii_lowercase().contains("accept-encoding"));
    let chunk = fetch(&t, "/widget/chat-C1a2B3c4.js", &[("origin", "https://shop.acme.test")]).await;
    assert_eq!(chunk.status, StatusCode::OK);
    assert_eq!(chunk.header("cache-control"), "public, max-age=31536000, immutable");
    assert_eq!(chunk.header("access-control-allow-origin"), "*");
    assert_eq!(fetch(&t, "/widget/nope.js", &[]).await.status, StatusCode::NOT_FOUND);

    // The API is untouched: JSON, its own 404s.
    let health = fetch(&t, "/v1/health", &[]).await;
    assert_eq!((health.status, health.body.as_str()), (StatusCode::OK, r#"{"status":"ok"}"#));
    let missing = t.get("/v1/no/such/route", None).await;
    assert_eq!((missing.status, missing.code()), (StatusCode::NOT_FOUND, "not_found"));
    t.stop().await;
}

#[tokio::test]
async fn without_a_build_the_root_says_how_to_make_one() {
    let t = spawn_app().await;
    let r = fetch(&t, "/", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("npm run build"), "{}", r.body);
    assert_eq!(r.header("cache-control"), "no-cache");
    assert_eq!(fetch(&t, "/widget/kefu.js", &[]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(t.get("/v1/health", None).await.status, StatusCode::OK);
}

/// The settings record (nested objects, lists, an empty string, a null) survives DynamoDB, and the CORS check
/// and `/v1/widget/config` read it there, on the AWS adapters against a moto stack made from the template.
#[tokio::test(flavor = "multi_thread")]
async fn widget_settings_and_cors_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("web")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut t = kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await;
    let a = tenant(&t, "li@acme.test").await;
    let sales = group(&t, &a, "Sales").await;
    let body = json!({
        "greeting": "", "allowed_origins": ["https://shop.acme.test"], "visitor_group_ids": [sales],
        "leave_message_group_id": null,
        "pre_chat_form": {"enabled": true, "fields": [
            {"name": "topic", "label": "Topic", "type": "select", "required": true, "options": ["Orders", "Returns"]}
        ]},
    });
    let saved = put_settings(&t, &a.admin, body).await;
    assert_eq!(saved.status, StatusCode::OK, "{:?}", saved.body);
    assert_eq!(t.get("/v1/settings/widget", Some(&a.admin)).await.body, saved.body, "read back from DynamoDB");

    let key = a.widget_key.as_str();
    let c = t
        .call(
            Method::GET,
            "/v1/widget/config",
            None,
            None,
            &[("x-widget-key", key), ("origin", "https://shop.acme.test")],
        )
        .await;
    assert_eq!((c.status, header(&c, "access-control-allow-origin")), (StatusCode::OK, "https://shop.acme.test"));
    assert_eq!(c.body["groups"], json!([{"id": sales, "name": "Sales"}]));
    let r = start_from(&t, key, "https://evil.test").await;
    assert_eq!(r.code(), "origin_not_allowed");
    let r = t.start_conversation(key, json!({"pre_chat": {"topic": "Orders"}})).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let customer = t.get(&format!("/v1/customers/{}", r.body["customer_id"].as_str().unwrap()), Some(&a.admin)).await;
    assert_eq!(customer.body["attributes"], json!({"topic": "Orders"}));
    t.stop().await;
}
