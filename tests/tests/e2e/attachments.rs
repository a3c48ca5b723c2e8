//! Attachments both ways (issue 15 item 3), through `kefu serve`: declare, `PUT` to the signed local link, send
//! with `attachment_ids`, read with fresh download links; the refusals (type 400, size 413, never uploaded, size
//! or signature mismatch, another conversation's or tenant's upload, forged or stale links) and the agent
//! route's permission.

use kefu_domain::{AttachmentId, ConversationId, TenantId};
use kefu_e2e::{ADMIN_PASSWORD, Reply, TestApp, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A tiny PNG's signature and some bytes: what the type check reads.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

struct Setup {
    t: TestApp,
    tenant: String,
    admin: String,
    widget_key: String,
}

async fn setup() -> Setup {
    setup_on(spawn_app().await).await
}

async fn setup_on(t: TestApp) -> Setup {
    let created = t.create_tenant("Acme", "li@acme.test").await;
    let tenant = created["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "li@acme.test", ADMIN_PASSWORD).await;
    let widget_key = created["widget_key"].as_str().unwrap().to_owned();
    let on = json!({"attachments": {"enabled": true, "max_bytes": 1000,
        "content_types": ["image/*", "application/pdf", "text/plain"]}});
    let r = t.call(Method::PUT, "/v1/settings/widget", Some(on), Some(&admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    Setup { t, tenant, admin, widget_key }
}

impl Setup {
    /// A visitor's conversation: `(conversation id, visitor token)`.
    async fn visit(&self) -> (String, String) {
        let s = self.t.start_conversation(&self.widget_key, json!({"visitor": {"name": "Wang"}})).await;
        assert_eq!(s.status, StatusCode::CREATED, "{:?}", s.body);
        (s.body["conversation_id"].as_str().unwrap().to_owned(), s.body["visitor_token"].as_str().unwrap().to_owned())
    }

    /// Declares a file as the visitor.
    async fn declare(&self, visitor: &str, name: &str, content_type: &str, size: usize) -> Reply {
        let body = json!({"name": name, "content_type": content_type, "size": size});
        self.t.post("/v1/widget/attachments", body, Some(visitor)).await
    }

    /// Declares a file as staff in conversation `c`.
    async fn declare_staff(&self, token: &str, c: &str, name: &str, content_type: &str, size: usize) -> Reply {
        let body = json!({"name": name, "content_type": content_type, "size": size});
        self.t.post(&format!("/v1/conversations/{c}/attachments"), body, Some(token)).await
    }
}

/// `PUT`s `bytes` to a declaration's upload link with its headers; answers the status.
async fn put(t: &TestApp, ticket: &Value, bytes: &[u8]) -> StatusCode {
    let mut req = t.client.put(ticket["upload_url"].as_str().expect("an upload url")).body(bytes.to_vec());
    for (name, value) in ticket["upload_headers"].as_object().expect("upload headers") {
        req = req.header(name.as_str(), value.as_str().unwrap());
    }
    req.send().await.expect("upload sent").status()
}

/// Declares and uploads a file as the visitor; answers its id.
async fn uploaded(s: &Setup, visitor: &str, name: &str, content_type: &str, bytes: &[u8]) -> String {
    let r = s.declare(visitor, name, content_type, bytes.len()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(put(&s.t, &r.body, bytes).await, StatusCode::NO_CONTENT);
    r.body["attachment_id"].as_str().unwrap().to_owned()
}

async fn get_bytes(t: &TestApp, url: &str) -> (StatusCode, Vec<u8>, String) {
    let res = t.client.get(url).send().await.expect("download sent");
    let status = res.status();
    let ct = res.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (status, res.bytes().await.expect("body").to_vec(), ct)
}

fn field(r: &Reply) -> &str {
    r.body["error"]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_visitor_and_an_agent_send_files_both_ways_and_every_read_links_them() {
    let s = setup().await;
    let (conv, visitor) = s.visit().await;

    // The visitor: declare, upload, send with empty text.
    let declared = s.declare(&visitor, "shot.png", "image/png", PNG.len()).await;
    assert_eq!(declared.status, StatusCode::CREATED, "{:?}", declared.body);
    assert!(declared.body["expires_at"].is_string(), "{:?}", declared.body);
    assert_eq!(declared.body["upload_headers"]["content-type"], "image/png");
    let id = declared.body["attachment_id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("at_"), "{id}");
    assert_eq!(put(&s.t, &declared.body, PNG).await, StatusCode::NO_CONTENT);
    let sent = s.t.post("/v1/widget/messages", json!({"content": "", "attachment_ids": [id]}), Some(&visitor)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);

    // The agent reads it with a working link.
    let history = s.t.get(&format!("/v1/conversations/{conv}/messages"), Some(&s.admin)).await;
    assert_eq!(history.status, StatusCode::OK, "{:?}", history.body);
    let m = history.body["items"].as_array().unwrap().iter().find(|m| m["id"] == sent.body["id"]).expect("stored");
    assert_eq!(m["content"], "");
    let a = &m["attachments"][0];
    assert_eq!(
        (&a["id"], &a["name"], &a["content_type"], &a["size"]),
        (&json!(id), &json!("shot.png"), &json!("image/png"), &json!(PNG.len()))
    );
    let (status, bytes, ct) = get_bytes(&s.t, a["url"].as_str().unwrap()).await;
    assert_eq!((status, bytes.as_slice(), ct.as_str()), (StatusCode::OK, PNG, "image/png"));

    // The agent replies with a file; the visitor reads it with its own fresh link.
    let text = b"order 1234: shipped\n";
    let d = s.declare_staff(&s.admin, &conv, "status.txt", "text/plain", text.len()).await;
    assert_eq!(d.status, StatusCode::CREATED, "{:?}", d.body);
    assert_eq!(put(&s.t, &d.body, text).await, StatusCode::NO_CONTENT);
    let agent_file = d.body["attachment_id"].as_str().unwrap();
    let reply =
        s.t.post(
            &format!("/v1/conversations/{conv}/messages"),
            json!({"content": "here it is", "attachment_ids": [agent_file]}),
            Some(&s.admin),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{:?}", reply.body);
    assert_eq!(reply.body["attachments"][0]["name"], "status.txt");
    assert!(reply.body["attachments"][0]["url"].as_str().unwrap().starts_with("http"), "{:?}", reply.body);
    let polled = s.t.visitor_poll(&visitor, None).await;
    let mine = polled.body["items"].as_array().unwrap().iter().find(|m| m["id"] == reply.body["id"]).expect("polled");
    let url = mine["attachments"][0]["url"].as_str().unwrap();
    let (status, bytes, ct) = get_bytes(&s.t, url).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, &text[..]));
    assert!(ct.starts_with("text/plain"), "{ct}");

    // One upload goes with one message.
    let again =
        s.t.post("/v1/widget/messages", json!({"content": "again", "attachment_ids": [id]}), Some(&visitor)).await;
    assert_eq!((again.status, field(&again)), (StatusCode::BAD_REQUEST, "attachment_ids[0]"), "{:?}", again.body);

    // A forged or tampered link reads nothing.
    let forged = url.replace("sig=", "sig=00");
    assert_eq!(get_bytes(&s.t, &forged).await.0, StatusCode::NOT_FOUND);
    let later = url.split("&expires=").next().unwrap().to_owned() + "&expires=99999999999&sig=00";
    assert_eq!(get_bytes(&s.t, &later).await.0, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn declarations_outside_the_settings_are_refused_and_uploads_must_match_what_was_declared() {
    let s = setup().await;
    let (_conv, visitor) = s.visit().await;

    let zip = s.declare(&visitor, "a.zip", "application/zip", 10).await;
    assert_eq!((zip.status, zip.code(), field(&zip)), (StatusCode::BAD_REQUEST, "validation_failed", "content_type"));
    let big = s.declare(&visitor, "big.png", "image/png", 1001).await;
    assert_eq!((big.status, big.code()), (StatusCode::PAYLOAD_TOO_LARGE, "too_large"), "{:?}", big.body);
    let empty = s.declare(&visitor, "e.png", "image/png", 0).await;
    assert_eq!(field(&empty), "size");
    let name = s.declare(&visitor, "../etc/passwd", "text/plain", 3).await;
    assert_eq!(field(&name), "name");

    // A body of another size than declared is refused by the upload link.
    let d = s.declare(&visitor, "shot.png", "image/png", PNG.len()).await;
    assert_eq!(put(&s.t, &d.body, &PNG[..10]).await, StatusCode::BAD_REQUEST);
    let never = d.body["attachment_id"].as_str().unwrap();
    let send =
        |ids: Value| s.t.post("/v1/widget/messages", json!({"content": "look", "attachment_ids": ids}), Some(&visitor));
    let r = send(json!([never])).await;
    assert_eq!((r.status, field(&r)), (StatusCode::BAD_REQUEST, "attachment_ids[0]"), "never uploaded: {:?}", r.body);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("never uploaded"), "{:?}", r.body);

    // Bytes that are not what the type says.
    let fake = uploaded(&s, &visitor, "fake.png", "image/png", b"<svg onload=alert(1)>").await;
    let r = send(json!([fake])).await;
    assert_eq!((r.status, field(&r)), (StatusCode::BAD_REQUEST, "attachment_ids[0]"), "{:?}", r.body);
    let bad_text = uploaded(&s, &visitor, "notes.txt", "text/plain", &[0xC3, 0x28, 0x41]).await;
    assert_eq!(field(&send(json!([bad_text])).await), "attachment_ids[0]");

    // Bytes of another size than declared, put straight into the store (as a client could with S3).
    let d = s.declare(&visitor, "other.png", "image/png", PNG.len()).await;
    let other = d.body["attachment_id"].as_str().unwrap();
    let (t, c) = visitor_ids(&s, &visitor).await;
    let key = kefu_app::conversations::attachments::pending_key(&t, &c, &AttachmentId::parse(other).unwrap());
    s.t.app().blobs.put(&key, bytes::Bytes::from([PNG, b"more"].concat()), "image/png").await.unwrap();
    let r = send(json!([other])).await;
    assert!(r.body["error"]["message"].as_str().unwrap().contains("declared size"), "{:?}", r.body);

    // Not an id, twice the same one.
    assert_eq!(field(&send(json!(["nope"])).await), "attachment_ids[0]");
    let good = uploaded(&s, &visitor, "ok.png", "image/png", PNG).await;
    assert_eq!(field(&send(json!([good, good])).await), "attachment_ids[1]");
    // Nothing refused was stored.
    let polled = s.t.visitor_poll(&visitor, None).await;
    assert!(polled.body["items"].as_array().unwrap().iter().all(|m| m["author"] != "visitor"), "{:?}", polled.body);
    // Empty text without a file is still refused.
    let r = s.t.post("/v1/widget/messages", json!({"content": " "}), Some(&visitor)).await;
    assert_eq!(field(&r), "content");
}

/// The tenant and conversation of a visitor token.
async fn visitor_ids(s: &Setup, visitor: &str) -> (TenantId, ConversationId) {
    let v = kefu_app::conversations::widget::authenticate_visitor(s.t.app(), visitor).await.unwrap();
    (v.tenant_id, v.conversation_id)
}

#[tokio::test]
async fn an_upload_serves_only_its_own_conversation_and_uploader() {
    let s = setup().await;
    let (conv, visitor) = s.visit().await;
    let (_other_conv, other_visitor) = s.visit().await;
    let id = uploaded(&s, &visitor, "shot.png", "image/png", PNG).await;

    // Another visitor of the same tenant cannot send it.
    let r = s.t.post("/v1/widget/messages", json!({"attachment_ids": [id]}), Some(&other_visitor)).await;
    assert_eq!((r.status, field(&r)), (StatusCode::BAD_REQUEST, "attachment_ids[0]"), "{:?}", r.body);
    // The agent cannot send the visitor's upload as its own.
    let r =
        s.t.post(&format!("/v1/conversations/{conv}/messages"), json!({"attachment_ids": [id]}), Some(&s.admin)).await;
    assert_eq!((r.status, field(&r)), (StatusCode::BAD_REQUEST, "attachment_ids[0]"), "{:?}", r.body);
    // Another tenant's visitor cannot either, nor can its admin reach the conversation.
    let other = s.t.create_tenant("Other", "o@other.test").await;
    let other_admin = s.t.login(other["tenant_id"].as_str().unwrap(), "o@other.test", ADMIN_PASSWORD).await;
    let foreign = s.t.start_conversation(other["widget_key"].as_str().unwrap(), json!({"visitor": {}})).await;
    let foreign_visitor = foreign.body["visitor_token"].as_str().unwrap();
    let r = s.t.post("/v1/widget/messages", json!({"attachment_ids": [id]}), Some(foreign_visitor)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{:?}", r.body);
    let r = s.declare_staff(&other_admin, &conv, "x.png", "image/png", PNG.len()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    // Its owner still can.
    let r = s.t.post("/v1/widget/messages", json!({"attachment_ids": [id]}), Some(&visitor)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
}

#[tokio::test]
async fn the_agent_route_needs_the_reply_permission_and_visitors_need_uploads_turned_on() {
    let s = setup().await;
    let (conv, visitor) = s.visit().await;
    let role =
        s.t.post("/v1/roles", json!({"name": "Watcher", "permissions": ["conversations.view_all"]}), Some(&s.admin))
            .await;
    assert_eq!(role.status, StatusCode::CREATED, "{:?}", role.body);
    s.t.add_staff(&s.tenant, "w@acme.test", role.body["id"].as_str().unwrap(), "watcher-password-1").await;
    let watcher = s.t.login(&s.tenant, "w@acme.test", "watcher-password-1").await;
    let r = s.declare_staff(&watcher, &conv, "x.png", "image/png", PNG.len()).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{:?}", r.body);
    let r =
        s.t.post(
            &format!("/v1/conversations/{conv}/attachments"),
            json!({"name": "x.png", "content_type": "image/png", "size": 3}),
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = s.declare_staff(&s.admin, "cv_01jd2q8m6xg3r8w6b4s1e2c9va", "x.png", "image/png", PNG.len()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{:?}", r.body);

    let off = json!({"attachments": {"enabled": false, "max_bytes": 1000, "content_types": ["image/*"]}});
    s.t.call(Method::PUT, "/v1/settings/widget", Some(off), Some(&s.admin), &[]).await;
    let r = s.declare(&visitor, "x.png", "image/png", PNG.len()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{:?}", r.body);
    // Staff may still attach (the widget's switch is about visitors), within the same limits.
    let r = s.declare_staff(&s.admin, &conv, "x.png", "image/png", PNG.len()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    let r = s.declare_staff(&s.admin, &conv, "x.pdf", "application/pdf", 10).await;
    assert_eq!(field(&r), "content_type");

    // Declarations are rate limited per uploader.
    let mut codes = Vec::new();
    for _ in 0..kefu_app::conversations::attachments::UPLOADS_PER_MINUTE + 1 {
        codes.push(s.declare_staff(&s.admin, &conv, "x.png", "image/png", PNG.len()).await.status);
    }
    assert_eq!(codes.last(), Some(&StatusCode::TOO_MANY_REQUESTS), "{codes:?}");
}

/// The same round trip on the AWS adapters against moto (bucket from `infra/template.yaml`): the upload link is
/// an S3 presigned `PUT`, the download link an S3 presigned `GET`, and the send copies the bytes out of `pending/`.
#[tokio::test(flavor = "multi_thread")]
async fn files_go_through_s3_presigned_links_on_aws_adapters() {
    let Some(_) = kefu_testkit::require_moto() else { return };
    let stack = tokio::task::spawn_blocking(|| kefu_testkit::MotoStack::create("attach")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let s = setup_on(kefu_e2e::spawn_with(kefu_e2e::aws_config(&stack, dir.path())).await).await;
    let (conv, visitor) = s.visit().await;
    let d = s.declare(&visitor, "shot.png", "image/png", PNG.len()).await;
    assert_eq!(d.status, StatusCode::CREATED, "{:?}", d.body);
    let url = d.body["upload_url"].as_str().unwrap();
    assert!(url.starts_with(&stack.endpoint) && url.contains("X-Amz-Signature="), "an S3 presigned PUT: {url}");
    assert_eq!(put(&s.t, &d.body, PNG).await, StatusCode::OK);
    let id = d.body["attachment_id"].as_str().unwrap();
    let sent = s.t.post("/v1/widget/messages", json!({"attachment_ids": [id]}), Some(&visitor)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let history = s.t.get(&format!("/v1/conversations/{conv}/messages"), Some(&s.admin)).await;
    let m = &history.body["items"].as_array().unwrap()[0];
    let link = m["attachments"][0]["url"].as_str().unwrap();
    assert!(link.contains("X-Amz-Expires=900"), "a 15-minute presigned GET: {link}");
    let (status, bytes, _) = get_bytes(&s.t, link).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, PNG));
    let (t, c) = visitor_ids(&s, &visitor).await;
    let a = AttachmentId::parse(id).unwrap();
    let pending = kefu_app::conversations::attachments::pending_key(&t, &c, &a);
    assert!(s.t.app().blobs.get(&pending).await.unwrap().is_none(), "moved out of pending/");
}

/// Exports carry the files' metadata (never a link); retention archives the messages with it and deletes the
/// files of the conversations it deletes.
#[tokio::test]
async fn exports_and_retention_cover_attachments() {
    let s = setup().await;
    let (conv, visitor) = s.visit().await;
    let id = uploaded(&s, &visitor, "shot.png", "image/png", PNG).await;
    let sent = s.t.post("/v1/widget/messages", json!({"content": "see", "attachment_ids": [id]}), Some(&visitor)).await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);

    let r = s.t.post("/v1/exports", json!({"kind": "conversations", "format": "jsonl"}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let path = format!("/v1/exports/{}", r.body["id"].as_str().unwrap());
    let wait = std::time::Duration::from_secs(15);
    assert!(
        kefu_e2e::eventually(wait, || async { s.t.get(&path, Some(&s.admin)).await.body["status"] == "done" }).await
    );
    let url = s.t.get(&path, Some(&s.admin)).await.body["download_url"].as_str().unwrap().to_owned();
    let line: Value =
        serde_json::from_str(s.t.client.get(&url).send().await.unwrap().text().await.unwrap().lines().next().unwrap())
            .unwrap();
    let exported =
        &line["messages"].as_array().unwrap().iter().find(|m| m["id"] == sent.body["id"]).unwrap()["attachments"];
    assert_eq!(exported, &json!([{"id": id, "name": "shot.png", "content_type": "image/png", "size": PNG.len()}]));

    let closed = s.t.post(&format!("/v1/conversations/{conv}/close"), json!({}), Some(&s.admin)).await;
    assert_eq!(closed.status, StatusCode::OK, "{:?}", closed.body);
    let keep = json!({"messages_days": 1, "archive_before_delete": true});
    let r = s.t.call(Method::PUT, "/v1/settings/retention", Some(keep), Some(&s.admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let (t, c) = visitor_ids(&s, &visitor).await;
    let blob = kefu_app::conversations::attachments::blob_key(&t, &c, &AttachmentId::parse(&id).unwrap());
    assert!(s.t.app().blobs.get(&blob).await.unwrap().is_some());
    let as_of = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(48);
    let report = kefu_app::retention::run_tenant(s.t.app(), &t, as_of, false, None).await.unwrap();
    assert_eq!((report.conversations, report.archived), (1, 1), "{report:?}");
    assert!(s.t.app().blobs.get(&blob).await.unwrap().is_none(), "the file went with its conversation");
    let archive = s.t.app().blobs.get(&report.archives[0]).await.unwrap().unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&archive[..]), &mut text).unwrap();
    let archived: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let m = archived["messages"].as_array().unwrap().iter().find(|m| m["message_id"] == sent.body["id"]).unwrap();
    assert_eq!(m["attachments"][0]["name"], "shot.png", "the archive keeps the metadata: {m}");
}
