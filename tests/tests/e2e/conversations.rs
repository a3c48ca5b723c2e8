//! The agents' side of conversations and customers, over HTTP: the inbox with its filters and who sees what,
//! the history window with cursors, replies and notes, assignment through the assignment module, masking,
//! customers and customer groups, deletion, and another tenant's ids.

use std::time::Duration;

use kefu_domain::TenantId;
use kefu_e2e::{ADMIN_PASSWORD, TestApp, eventually, spawn_app};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const AGENT_PASSWORD: &str = "a long enough agent password";

struct Shop {
    t: TestApp,
    tenant: String,
    widget_key: String,
    admin: String,
}

impl Shop {
    async fn new(email: &str) -> Self {
        let t = spawn_app().await;
        Self::in_app(t, email).await
    }

    async fn in_app(t: TestApp, email: &str) -> Self {
        let created = t.create_tenant("Acme", email).await;
        let tenant = created["tenant_id"].as_str().unwrap().to_owned();
        let admin = t.login(&tenant, email, ADMIN_PASSWORD).await;
        Self { widget_key: created["widget_key"].as_str().unwrap().to_owned(), tenant, admin, t }
    }

    fn tenant_id(&self) -> TenantId {
        TenantId::parse(&self.tenant).unwrap()
    }

    async fn group(&self, name: &str) -> String {
        let r = self.t.post("/v1/groups", json!({"name": name}), Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        id(&r.body, "id")
    }

    /// An agent with a role and groups, signed in: (id, token).
    async fn agent(&self, email: &str, role: &str, groups: &[&str]) -> (String, String) {
        let body = json!({
            "email": email, "name": email.split('@').next().unwrap(), "password": AGENT_PASSWORD,
            "role_id": role, "group_ids": groups, "max_concurrent": 5,
        });
        let r = self.t.post("/v1/agents", body, Some(&self.admin)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        let token = self.t.login(&self.tenant, email, AGENT_PASSWORD).await;
        (id(&r.body, "id"), token)
    }

    async fn start(&self, body: Value) -> Value {
        let r = self.t.start_conversation(&self.widget_key, body).await;
        assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
        r.body
    }

    /// Waits until routing has looked at the conversation (its `routing` decision is set; the status reads
    /// `queued` before and after, as no agent is online).
    async fn routed(&self, conversation: &str) {
        let path = format!("/v1/conversations/{conversation}");
        let settled = eventually(Duration::from_secs(10), || async {
            !self.t.get(&path, Some(&self.admin)).await.body["routing"].is_null()
        })
        .await;
        assert!(settled, "routing never looked at {conversation}");
    }

    async fn ids(&self, path: &str, token: &str) -> Vec<String> {
        let r = self.t.get(path, Some(token)).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {:?}", r.body);
        r.body["items"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap().to_owned()).collect()
    }
}

fn id(v: &Value, field: &str) -> String {
    v[field].as_str().unwrap().to_owned()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test]
async fn the_inbox_filters_and_shows_each_role_what_it_may_see() {
    let s = Shop::new("li@acme.test").await;
    let sales = s.group("Sales").await;
    let support = s.group("Support").await;
    let (ann, ann_t) = s.agent("ann@acme.test", "agent", &[&sales]).await;
    let (_bob, bob_t) = s.agent("bob@acme.test", "agent", &[&support]).await;
    let (_sup, sup_t) = s.agent("sue@acme.test", "supervisor", &[]).await;
    let role =
        s.t.post("/v1/roles", json!({"name": "Viewer", "permissions": ["customers.view"]}), Some(&s.admin)).await;
    assert_eq!(role.status, StatusCode::CREATED, "{:?}", role.body);
    let (nobody, nobody_t) = s.agent("nat@acme.test", role.body["id"].as_str().unwrap(), &[]).await;

    let c1 = id(&s.start(json!({"group_id": sales})).await, "conversation_id");
    let c2 = id(&s.start(json!({"group_id": support})).await, "conversation_id");
    let c3 = id(&s.start(json!({})).await, "conversation_id");
    for c in [&c1, &c2, &c3] {
        s.routed(c).await;
    }
    let assign = |c: &str, agent: &str| {
        let (t, admin, path) = (&s.t, s.admin.clone(), format!("/v1/conversations/{c}/assign"));
        let body = json!({"agent_id": agent});
        async move { t.post(&path, body, Some(&admin)).await }
    };
    let r = assign(&c2, &ann).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["status"].as_str(), r.body["assignee_id"].as_str()), (Some("open"), Some(ann.as_str())));
    assert_eq!(assign(&c3, &nobody).await.status, StatusCode::OK);

    let all = sorted(vec![c1.clone(), c2.clone(), c3.clone()]);
    assert_eq!(sorted(s.ids("/v1/conversations", &s.admin).await), all);
    assert_eq!(sorted(s.ids("/v1/conversations", &sup_t).await), all, "view_all");
    assert_eq!(sorted(s.ids("/v1/conversations", &ann_t).await), all, "her group, the default group, her own");
    assert_eq!(sorted(s.ids("/v1/conversations", &bob_t).await), sorted(vec![c2.clone(), c3.clone()]));
    assert_eq!(s.ids("/v1/conversations", &nobody_t).await, [c3.as_str()], "only what is assigned to it");

    assert_eq!(s.ids("/v1/conversations?assignee=me", &ann_t).await, [c2.as_str()]);
    assert_eq!(s.ids("/v1/conversations?assignee=me&status=open", &ann_t).await, [c2.as_str()]);
    assert!(s.ids("/v1/conversations?assignee=me&status=queued", &ann_t).await.is_empty());
    assert_eq!(s.ids(&format!("/v1/conversations?assignee={ann}"), &sup_t).await, [c2.as_str()]);
    assert_eq!(s.ids("/v1/conversations?assignee=unassigned", &sup_t).await, [c1.as_str()]);
    assert_eq!(s.ids(&format!("/v1/conversations?group_id={sales}"), &s.admin).await, [c1.as_str()]);
    assert_eq!(s.ids("/v1/conversations?status=open", &s.admin).await.len(), 2);
    // `queued` is every conversation waiting without an assignee, whether routing queued it or not.
    let waiting = s.ids("/v1/conversations?status=queued", &s.admin).await;
    assert_eq!(waiting, [c1.as_str()], "c1 waits (nobody online)");
    let r = s.t.get("/v1/conversations?status=pending", Some(&s.admin)).await;
    assert_eq!(
        (r.status, r.body["error"]["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("status")),
        "{:?}",
        r.body
    );

    let tagged =
        s.t.call(
            Method::PUT,
            &format!("/v1/conversations/{c3}/tags"),
            Some(json!({"tags": ["vip", "vip", "refund"]})),
            Some(&s.admin),
            &[],
        )
        .await;
    assert_eq!(tagged.status, StatusCode::OK, "{:?}", tagged.body);
    assert_eq!(tagged.body["tags"], json!(["vip", "refund"]));
    assert_eq!(s.ids("/v1/conversations?tag=vip", &s.admin).await, [c3.as_str()]);
    assert!(s.ids("/v1/conversations?tag=vip", &bob_t).await.contains(&c3));

    let one = s.t.get("/v1/conversations?limit=1", Some(&s.admin)).await;
    assert_eq!(one.body["items"].as_array().unwrap().len(), 1);
    let cursor = one.body["next_cursor"].as_str().expect("more pages").to_owned();
    let rest = s.ids(&format!("/v1/conversations?limit=2&cursor={cursor}"), &s.admin).await;
    assert_eq!(rest.len(), 2);
    assert!(!rest.contains(&id(&one.body["items"][0], "id")));

    for bad in ["status=done", "assignee=someone", "group_id=nope", "limit=0", "cursor=garbage"] {
        let r = s.t.get(&format!("/v1/conversations?{bad}"), Some(&s.admin)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{bad}");
    }

    let detail = s.t.get(&format!("/v1/conversations/{c1}"), Some(&bob_t)).await;
    assert_eq!(detail.status, StatusCode::NOT_FOUND, "bob may not see sales' conversation");
    let detail = s.t.get(&format!("/v1/conversations/{c1}"), Some(&ann_t)).await;
    assert_eq!(detail.status, StatusCode::OK);
    assert!(detail.body["routing"].is_object(), "the routing decision: {:?}", detail.body);
    assert_eq!(detail.body["group_id"], sales.as_str());
}

impl Shop {
    async fn call(&self, method: Method, path: &str, body: Option<Value>, token: &str) -> kefu_e2e::Reply {
        self.t.call(method, path, body, Some(token), &[]).await
    }
}

#[tokio::test]
async fn another_tenants_ids_are_not_found() {
    let s = Shop::new("li@acme.test").await;
    let started = s.start(json!({"visitor": {"name": "Wang"}})).await;
    let (c, cu) = (id(&started, "conversation_id"), id(&started, "customer_id"));
    let created = s.t.create_tenant("Other", "han@other.test").await;
    let other_admin = s.t.login(created["tenant_id"].as_str().unwrap(), "han@other.test", ADMIN_PASSWORD).await;
    let group = s.t.post("/v1/customer_groups", json!({"name": "VIP", "priority": "high"}), Some(&s.admin)).await;
    let g = id(&group.body, "id");
    for (method, path, body) in [
        (Method::GET, format!("/v1/conversations/{c}"), None),
        (Method::GET, format!("/v1/conversations/{c}/messages"), None),
        (Method::POST, format!("/v1/conversations/{c}/messages"), Some(json!({"content": "hi"}))),
        (Method::PUT, format!("/v1/conversations/{c}/tags"), Some(json!({"tags": ["x"]}))),
        (Method::POST, format!("/v1/conversations/{c}/close"), None),
        (Method::POST, format!("/v1/conversations/{c}/reopen"), None),
        (Method::DELETE, format!("/v1/conversations/{c}"), None),
        (Method::GET, format!("/v1/customers/{cu}"), None),
        (Method::PATCH, format!("/v1/customers/{cu}"), Some(json!({"name": "x"}))),
        (Method::GET, format!("/v1/customers/{cu}/conversations"), None),
        (Method::PUT, format!("/v1/customer_groups/{g}"), Some(json!({"name": "x"}))),
        (Method::DELETE, format!("/v1/customer_groups/{g}"), None),
        (Method::GET, "/v1/conversations/cv_nonsense".to_owned(), None),
    ] {
        let r = s.call(method.clone(), &path, body, &other_admin).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{method} {path}: {:?}", r.body);
    }
    assert!(s.ids("/v1/conversations", &other_admin).await.is_empty());
    assert!(s.ids("/v1/customers", &other_admin).await.is_empty());
    assert_eq!(s.t.get(&format!("/v1/conversations/{c}"), Some(&s.admin)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn history_comes_by_window_oldest_first_with_cursors() {
    let s = Shop::new("li@acme.test").await;
    let started = s.start(json!({})).await;
    let c = id(&started, "conversation_id");
    let token = started["visitor_token"].as_str().unwrap();
    let mut sent = Vec::new();
    for i in 0..5 {
        sent.push(id(&s.t.visitor_send(token, &format!("message {i}")).await.body, "id"));
    }
    // A message from ten days ago, written the way the widget writes one.
    let old_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(240);
    let old_ms = u64::try_from(old_at.as_millisecond()).unwrap();
    let old_id = kefu_domain::MessageId::from_ulid(ulid::Ulid::from_parts(old_ms, 7));
    let (tenant, conv) = (s.tenant_id(), kefu_domain::ConversationId::parse(&c).unwrap());
    let content = kefu_domain::MessageContent::parse("an old question", "content").unwrap();
    let old = kefu_app::conversations::NewMessage {
        tenant: &tenant,
        conversation: &conv,
        id: &old_id,
        author: kefu_domain::Author::Visitor,
        author_id: Some(started["customer_id"].as_str().unwrap()),
        content: &content,
        internal: false,
        at: old_at,
        attachments: &[],
    };
    s.t.app().table.put(old.item(), None).await.unwrap();

    let path = format!("/v1/conversations/{c}/messages");
    assert_eq!(s.ids(&path, &s.admin).await, sent, "the last 7 days by default, oldest first");
    let month = s.ids(&format!("{path}?days=30"), &s.admin).await;
    assert_eq!(month, [vec![old_id.to_string()], sent.clone()].concat());

    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!("{path}?days=30&limit=2&cursor={c}"),
            None => format!("{path}?days=30&limit=2"),
        };
        let r = s.t.get(&url, Some(&s.admin)).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        let items = r.body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        pages.extend(items.iter().map(|m| id(m, "id")));
        match r.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(pages, month, "pages join up without gaps or repeats");

    for bad in ["days=0", "days=400", "days=x", "limit=201", "cursor=garbage"] {
        let r = s.t.get(&format!("{path}?{bad}"), Some(&s.admin)).await;
        assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"), "{bad}");
    }
    let other = s.start(json!({})).await;
    let first_page = s.t.get(&format!("{path}?limit=1"), Some(&s.admin)).await;
    let foreign_cursor = first_page.body["next_cursor"].as_str().unwrap();
    let r =
        s.t.get(
            &format!("/v1/conversations/{}/messages?cursor={foreign_cursor}", id(&other, "conversation_id")),
            Some(&s.admin),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "a cursor of another conversation");

    let reads = audit_actions(&s, "conversation.read").await;
    assert!(reads.iter().any(|e| e["target_id"] == c.as_str()), "every transcript read is audited");
}

async fn audit_actions(s: &Shop, action: &str) -> Vec<Value> {
    let page =
        s.t.app()
            .table
            .query(
                kefu_ports::Query::partition(kefu_app::plumbing::keys::audit_pk(&s.tenant_id()))
                    .prefix(kefu_app::plumbing::keys::AUDIT_ENTRY_PREFIX),
            )
            .await
            .unwrap();
    page.items.into_iter().map(Value::Object).filter(|e| e["action"] == action).collect()
}

#[tokio::test]
async fn personal_data_is_masked_for_agents_without_the_sensitive_permission() {
    let s = Shop::new("li@acme.test").await;
    let (_ann, ann_t) = s.agent("ann@acme.test", "agent", &[]).await;
    let started = s
        .start(json!({"visitor": {"name": "Wang Fang", "email": "wang.fang@example.com", "phone": "13800138000"}}))
        .await;
    let (c, cu) = (id(&started, "conversation_id"), id(&started, "customer_id"));
    let token = started["visitor_token"].as_str().unwrap();
    s.t.visitor_send(token, "call me on 13912345678 please").await;

    let path = format!("/v1/conversations/{c}/messages");
    let masked = s.t.get(&path, Some(&ann_t)).await;
    let text = masked.body["items"][0]["content"].as_str().unwrap();
    assert!(!text.contains("13912345678"), "{text}");
    assert!(text.contains("139****5678"), "{text}");
    let plain = s.t.get(&path, Some(&s.admin)).await;
    assert_eq!(plain.body["items"][0]["content"], "call me on 13912345678 please");
    let visitor = s.t.visitor_poll(token, None).await;
    assert_eq!(visitor.body["items"][0]["content"], "call me on 13912345678 please", "the visitor's own words");

    let customer = s.t.get(&format!("/v1/customers/{cu}"), Some(&ann_t)).await;
    assert_eq!(customer.status, StatusCode::OK, "{:?}", customer.body);
    assert_eq!(customer.body["phone"], "138****8000");
    assert_ne!(customer.body["email"], "wang.fang@example.com");
    assert!(customer.body["email"].as_str().unwrap().ends_with("@example.com"));
    assert_eq!(customer.body["name"], "Wang Fang");
    let full = s.t.get(&format!("/v1/customers/{cu}"), Some(&s.admin)).await;
    assert_eq!(
        (full.body["phone"].as_str(), full.body["email"].as_str()),
        (Some("13800138000"), Some("wang.fang@example.com"))
    );

    let r = s.t.get("/v1/customers?q=1380013", Some(&ann_t)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "no probing phones without the permission");
    assert_eq!(s.ids("/v1/customers?q=1380013", &s.admin).await, [cu.as_str()]);
    assert_eq!(s.ids("/v1/customers?q=wang.fang%40ex", &s.admin).await, [cu.as_str()]);
    assert_eq!(s.ids("/v1/customers?q=fang", &ann_t).await, [cu.as_str()], "any later word of the name");
    assert_eq!(s.ids("/v1/customers?q=WANG%20F", &ann_t).await, [cu.as_str()]);
    assert!(s.ids("/v1/customers?q=zhang", &ann_t).await.is_empty());
    assert!(!audit_actions(&s, "customer.read").await.is_empty(), "customer reads are audited");
}

#[tokio::test]
async fn replies_need_the_permission_or_the_assignment() {
    let s = Shop::new("li@acme.test").await;
    let role = s.t.post("/v1/roles", json!({"name": "Trainee", "permissions": []}), Some(&s.admin)).await;
    let (trainee, trainee_t) = s.agent("tia@acme.test", role.body["id"].as_str().unwrap(), &[]).await;
    let (_ann, ann_t) = s.agent("ann@acme.test", "agent", &[]).await;
    let mine = id(&s.start(json!({})).await, "conversation_id");
    let theirs = id(&s.start(json!({})).await, "conversation_id");
    s.routed(&mine).await;
    let r = s.t.post(&format!("/v1/conversations/{mine}/assign"), json!({"agent_id": trainee}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    let reply = |c: &str, token: &str| {
        let (t, path, token) = (&s.t, format!("/v1/conversations/{c}/messages"), token.to_owned());
        async move { t.post(&path, json!({"content": "on it"}), Some(&token)).await }
    };
    assert_eq!(reply(&mine, &trainee_t).await.status, StatusCode::CREATED, "the assignee may reply");
    assert_eq!(reply(&theirs, &trainee_t).await.status, StatusCode::NOT_FOUND, "it cannot even see it");
    let role =
        s.t.post("/v1/roles", json!({"name": "Auditor", "permissions": ["conversations.view_all"]}), Some(&s.admin))
            .await;
    let (_auditor, auditor_t) = s.agent("aud@acme.test", role.body["id"].as_str().unwrap(), &[]).await;
    let r = reply(&theirs, &auditor_t).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "seeing is not answering");
    let r = s.call(Method::POST, &format!("/v1/conversations/{theirs}/close"), None, &auditor_t).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(reply(&theirs, &ann_t).await.status, StatusCode::CREATED, "conversations.reply, default group");
    let r = s.t.post(&format!("/v1/conversations/{theirs}/assign"), json!({"agent_id": trainee}), Some(&ann_t)).await;
    assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "assigning needs conversations.assign");
    let r = s.call(Method::DELETE, &format!("/v1/conversations/{theirs}"), None, &ann_t).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "deleting needs conversations.delete");
    let r = s.t.post(&format!("/v1/conversations/{mine}/messages"), json!({"content": ""}), Some(&trainee_t)).await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));
}

#[tokio::test]
async fn close_reopen_and_a_visitor_writing_to_a_closed_conversation() {
    let s = Shop::new("li@acme.test").await;
    let (ann, ann_t) = s.agent("ann@acme.test", "agent", &[]).await;
    let started = s.start(json!({})).await;
    let c = id(&started, "conversation_id");
    let token = started["visitor_token"].as_str().unwrap();
    s.routed(&c).await;
    let r = s.t.post(&format!("/v1/conversations/{c}/assign"), json!({"agent_id": ann}), Some(&s.admin)).await;
    assert_eq!(r.body["assignee_id"], ann.as_str());
    let r = s.t.post(&format!("/v1/conversations/{c}/reopen"), json!({}), Some(&ann_t)).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "only a closed one reopens");
    let r = s.call(Method::POST, &format!("/v1/conversations/{c}/close"), None, &ann_t).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["status"], "closed");
    assert_eq!(s.ids("/v1/conversations?assignee=me&status=closed", &ann_t).await, [c.as_str()]);

    let sent = s.t.visitor_send(token, "one more question").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let now = s.t.get(&format!("/v1/conversations/{c}"), Some(&s.admin)).await;
    assert_ne!(now.body["status"], "closed", "the visitor's message reopened it");
    assert!(s.ids(&format!("/v1/conversations/{c}/messages"), &s.admin).await.contains(&id(&sent.body, "id")));

    let r = s.call(Method::POST, &format!("/v1/conversations/{c}/close"), None, &s.admin).await;
    assert_eq!(r.body["status"], "closed");
    let r = s.call(Method::POST, &format!("/v1/conversations/{c}/reopen"), None, &s.admin).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_ne!(r.body["status"], "closed");

    let r = s.t.post(&format!("/v1/conversations/{c}/assign"), json!({}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r =
        s.t.post(
            &format!("/v1/conversations/{c}/assign"),
            json!({"group_id": "gr_01jd2q8m6xg3r8w6b4s1e2c9va"}),
            Some(&s.admin),
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::BAD_REQUEST, "validation_failed"));

    // Every change is in the audit log, with who did it; refused attempts are not logged as changes.
    let assigned = audit_actions(&s, "conversation.assign").await;
    assert_eq!(assigned.len(), 1, "{assigned:?}");
    assert_eq!(assigned[0]["detail"]["agent_id"], ann.as_str());
    let closes = audit_actions(&s, "conversation.close").await;
    assert_eq!(closes.iter().map(|e| e["actor_id"].as_str().unwrap()).collect::<Vec<_>>().len(), 2);
    assert!(closes.iter().any(|e| e["actor_id"] == ann.as_str() && e["target_id"] == c.as_str()));
    assert_eq!(audit_actions(&s, "conversation.reopen").await.len(), 1, "the refused reopen is not a change");
}

#[tokio::test]
async fn customers_groups_give_vips_high_priority() {
    let s = Shop::new("li@acme.test").await;
    let (_ann, ann_t) = s.agent("ann@acme.test", "agent", &[]).await;
    let first = s.start(json!({"visitor": {"external_id": "u-1", "name": "Zhang Wei"}})).await;
    let cu = id(&first, "customer_id");
    assert_eq!(
        s.t.get(&format!("/v1/conversations/{}", id(&first, "conversation_id")), Some(&s.admin)).await.body["priority"],
        "normal"
    );

    let r = s.t.post("/v1/customer_groups", json!({"name": "VIP", "priority": "high"}), Some(&ann_t)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "groups are settings");
    let vip = s.t.post("/v1/customer_groups", json!({"name": "VIP", "priority": "high"}), Some(&s.admin)).await;
    assert_eq!(vip.status, StatusCode::CREATED, "{:?}", vip.body);
    let g = id(&vip.body, "id");
    let r = s.t.post("/v1/customer_groups", json!({"name": "Odd", "priority": "urgent"}), Some(&s.admin)).await;
    assert_eq!(r.body["error"]["field"], "priority");
    assert_eq!(s.ids("/v1/customer_groups", &ann_t).await, [g.as_str()]);

    let patch = |body: Value, token: &str| {
        let (t, path, token) = (&s.t, format!("/v1/customers/{cu}"), token.to_owned());
        async move { t.call(Method::PATCH, &path, Some(body), Some(&token), &[]).await }
    };
    let r = patch(
        json!({"group_id": g, "tags": ["vip"], "attributes": {"plan": "gold", "seats": 12}, "email": "zw@example.com"}),
        &ann_t,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!((r.body["group_id"].as_str(), r.body["attributes"]["plan"].as_str()), (Some(g.as_str()), Some("gold")));
    assert_eq!(r.body["tags"], json!(["vip"]));
    assert_eq!(patch(json!({"email": "nope"}), &ann_t).await.body["error"]["field"], "email");
    assert_eq!(
        patch(json!({"group_id": "cg_01jd2q8m6xg3r8w6b4s1e2c9va"}), &ann_t).await.body["error"]["field"],
        "group_id"
    );
    assert_eq!(patch(json!({"shoe_size": 42}), &ann_t).await.code(), "validation_failed");
    let r = patch(json!({"attributes": {"plan": null}}), &ann_t).await;
    assert_eq!(r.body["attributes"], json!({"seats": 12}));

    assert_eq!(s.ids(&format!("/v1/customers?group_id={g}"), &ann_t).await, [cu.as_str()]);
    assert_eq!(s.ids("/v1/customers?tag=vip", &ann_t).await, [cu.as_str()]);
    assert_eq!(s.ids("/v1/customers?q=zhang", &ann_t).await, [cu.as_str()]);
    assert_eq!(s.ids("/v1/customers?q=zw%40", &s.admin).await, [cu.as_str()], "the new email is searchable");

    let again = s.start(json!({"visitor": {"external_id": "u-1"}})).await;
    assert_eq!(id(&again, "customer_id"), cu);
    let conv = s.t.get(&format!("/v1/conversations/{}", id(&again, "conversation_id")), Some(&s.admin)).await;
    assert_eq!(conv.body["priority"], "high", "a VIP's new conversation");

    let r = s.call(Method::DELETE, &format!("/v1/customer_groups/{g}"), None, &s.admin).await;
    assert_eq!((r.status, r.code()), (StatusCode::CONFLICT, "conflict"), "it still has a customer");
    assert_eq!(patch(json!({"group_id": null}), &ann_t).await.body["group_id"], Value::Null);
    let r =
        s.t.call(
            Method::PUT,
            &format!("/v1/customer_groups/{g}"),
            Some(json!({"name": "Gold", "priority": "normal"})),
            Some(&s.admin),
            &[],
        )
        .await;
    assert_eq!(r.body["name"], "Gold");
    assert_eq!(
        s.call(Method::DELETE, &format!("/v1/customer_groups/{g}"), None, &s.admin).await.status,
        StatusCode::NO_CONTENT
    );
    assert!(!audit_actions(&s, "customer.update").await.is_empty(), "customer changes are audited");
}

#[tokio::test]
async fn deleting_a_conversation_removes_its_messages() {
    let s = Shop::new("li@acme.test").await;
    let (ann, _) = s.agent("ann@acme.test", "agent", &[]).await;
    let started = s.start(json!({})).await;
    let (c, cu) = (id(&started, "conversation_id"), id(&started, "customer_id"));
    let token = started["visitor_token"].as_str().unwrap();
    s.t.visitor_send(token, "hello").await;
    s.routed(&c).await;
    s.t.post(&format!("/v1/conversations/{c}/assign"), json!({"agent_id": ann}), Some(&s.admin)).await;

    let r = s.call(Method::DELETE, &format!("/v1/conversations/{c}"), None, &s.admin).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    assert_eq!(s.t.get(&format!("/v1/conversations/{c}"), Some(&s.admin)).await.status, StatusCode::NOT_FOUND);
    assert!(s.ids(&format!("/v1/customers/{cu}/conversations"), &s.admin).await.is_empty());
    assert_eq!(s.t.visitor_poll(token, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(s.t.visitor_send(token, "anyone?").await.status, StatusCode::NOT_FOUND);
    let page =
        s.t.app()
            .table
            .query(kefu_ports::Query::partition(kefu_app::plumbing::keys::conversation_pk(
                &s.tenant_id(),
                &kefu_domain::ConversationId::parse(&c).unwrap(),
            )))
            .await
            .unwrap();
    assert!(page.items.is_empty(), "nothing of it is left: {:?}", page.items);
    let load = s.t.get("/v1/me", Some(&s.admin)).await;
    assert_eq!(load.status, StatusCode::OK);
    assert_eq!(
        s.call(Method::DELETE, &format!("/v1/conversations/{c}"), None, &s.admin).await.status,
        StatusCode::NOT_FOUND
    );
}

/// Issue 8, item 7: close, reopen and tags belong to the conversation's assignee or a holder of
/// `conversations.assign`; a colleague who merely sees the conversation (same group) cannot act on it.
#[tokio::test]
async fn only_the_assignee_or_conversations_assign_closes_reopens_and_tags() {
    let s = Shop::new("li@acme.test").await;
    let (ann, ann_t) = s.agent("ann@acme.test", "agent", &[]).await;
    let (_bob, bob_t) = s.agent("bob@acme.test", "agent", &[]).await;
    let (_sue, sue_t) = s.agent("sue@acme.test", "supervisor", &[]).await;
    let c = id(&s.start(json!({})).await, "conversation_id");
    s.routed(&c).await;
    let r = s.t.post(&format!("/v1/conversations/{c}/assign"), json!({"agent_id": ann}), Some(&s.admin)).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let close = format!("/v1/conversations/{c}/close");
    let reopen = format!("/v1/conversations/{c}/reopen");
    let tags = format!("/v1/conversations/{c}/tags");

    // Bob sees it (default group, conversations.view_group) but it is Ann's.
    assert_eq!(s.t.get(&format!("/v1/conversations/{c}"), Some(&bob_t)).await.status, StatusCode::OK);
    for (m, path, body) in [
        (Method::POST, &close, None),
        (Method::POST, &reopen, None),
        (Method::PUT, &tags, Some(json!({"tags": ["vip"]}))),
    ] {
        let r = s.t.call(m, path, body, Some(&bob_t), &[]).await;
        assert_eq!((r.status, r.code()), (StatusCode::FORBIDDEN, "forbidden"), "{path}: {:?}", r.body);
    }
    let now = s.t.get(&format!("/v1/conversations/{c}"), Some(&s.admin)).await;
    assert_eq!(now.body["status"], "open");
    assert_eq!(now.body["tags"], json!([]), "nothing changed");

    // The assignee tags and closes; a supervisor (conversations.assign) reopens and tags.
    let r = s.t.call(Method::PUT, &tags, Some(json!({"tags": ["refund"]})), Some(&ann_t), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(s.call(Method::POST, &close, None, &ann_t).await.status, StatusCode::OK);
    let r = s.call(Method::POST, &reopen, None, &bob_t).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "a closed conversation is still its last assignee's");
    assert_eq!(s.call(Method::POST, &reopen, None, &sue_t).await.status, StatusCode::OK);
    let r = s.t.call(Method::PUT, &tags, Some(json!({"tags": ["vip"]})), Some(&sue_t), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);

    // Each refusal is audited as a denial.
    let log = s.t.audit_entries(&s.tenant).await;
    let denied = log.iter().filter(|e| e["action"] == "permission.denied").count();
    assert!(denied >= 4, "{denied} denials logged");
}

/// After staff delete a conversation, the visitor's token still names it: every call that reads or adds to it
/// answers 404 `not_found` (the widget then starts afresh), and nothing is accepted into it.
#[tokio::test]
async fn a_visitor_whose_conversation_was_deleted_is_told_it_is_gone() {
    let s = Shop::new("li@acme.test").await;
    let uploads = json!({"attachments": {"enabled": true, "content_types": ["image/*"]}});
    let r = s.t.call(Method::PUT, "/v1/settings/widget", Some(uploads), Some(&s.admin), &[]).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let started = s.start(json!({})).await;
    let (c, token) = (id(&started, "conversation_id"), id(&started, "visitor_token"));
    let empty = s.t.visitor_poll(&token, None).await;
    assert_eq!((empty.status, empty.body["items"].as_array().map(Vec::len)), (StatusCode::OK, Some(0)));
    let sent = s.t.visitor_send(&token, "hello").await;
    assert_eq!(sent.status, StatusCode::CREATED, "{:?}", sent.body);
    let d = s.t.call(Method::DELETE, &format!("/v1/conversations/{c}"), None, Some(&s.admin), &[]).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{:?}", d.body);

    let upload = json!({"name": "a.png", "content_type": "image/png", "size": 3});
    let calls: Vec<(Method, &str, Option<Value>)> = vec![
        (Method::GET, "/v1/widget/conversation", None),
        (Method::GET, "/v1/widget/messages", None),
        (Method::POST, "/v1/widget/messages", Some(json!({"content": "still there?"}))),
        (Method::POST, "/v1/widget/typing", Some(json!({"typing": true}))),
        (Method::POST, "/v1/widget/read", Some(json!({"up_to": id(&sent.body, "id")}))),
        (Method::POST, "/v1/widget/rating", Some(json!({"score": 3}))),
        (Method::POST, "/v1/widget/transcript", Some(json!({"email": "v@example.test"}))),
        (Method::POST, "/v1/widget/attachments", Some(upload)),
    ];
    for (m, path, body) in calls {
        let r = s.t.call(m.clone(), path, body, Some(&token), &[]).await;
        assert_eq!((r.status, r.code()), (StatusCode::NOT_FOUND, "not_found"), "{m} {path}: {:?}", r.body);
    }
    let conversation = kefu_domain::ConversationId::parse(&c).unwrap();
    let partition = kefu_app::plumbing::keys::conversation_pk(&s.tenant_id(), &conversation);
    let left = s.t.app().table.query(kefu_ports::table::Query::partition(partition)).await.unwrap();
    assert!(left.items.is_empty(), "nothing was written into it: {:?}", left.items);
}
