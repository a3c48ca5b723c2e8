//! A route's permission is declared once, in its OpenAPI annotation, and enforced from it (issue 10, item 6).
//! The authorization matrix proves every route answers every role as its declaration says; these prove the
//! declaration and the enforcement cannot part:
//!
//! - every route of the API enforces exactly the permission it declares: a key holding every permission but
//!   that one is refused naming it, a key holding only that one is let through;
//! - a declared permission holds even on a handler that never asks for a caller;
//! - a handler that asks for a staff caller on a route that declares no staff access is refused, never run
//!   unchecked;
//! - the published document's declarations read one way each (no unknown permission silently dropped).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use kefu_app::http::Staff;
use kefu_app::http::access::{Declared, RouteAccess};
use kefu_domain::Permission;
use kefu_e2e::{ADMIN_PASSWORD, Reply, spawn_app};
use reqwest::Method;
use serde_json::{Value, json};
use tower::ServiceExt;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[test]
fn the_published_document_declares_each_route_one_way() {
    let served = RouteAccess::from_openapi(&kefu_fn_api::openapi::document_of_all_routes())
        .unwrap_or_else(|p| panic!("ambiguous declarations:\n{}", p.join("\n")));
    let api = kefu_fn_api::access().expect("the API's declarations read one way");
    // The API's table is the served document's, route for route.
    for (method, path, declared) in api.routes() {
        assert_eq!(served.get(&method, &path), Some(declared), "{method} {path}");
    }
    // The widget's routes (served by `intake`) declare no staff access: no staff caller is made for them.
    let staff_in_served: BTreeSet<_> = served
        .routes()
        .into_iter()
        .filter(|(_, _, d)| *d != Declared::NotStaff)
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    let staff_in_api: BTreeSet<_> = api
        .routes()
        .into_iter()
        .filter(|(_, _, d)| *d != Declared::NotStaff)
        .map(|(m, p, _)| format!("{m} {p}"))
        .collect();
    assert_eq!(staff_in_served, staff_in_api);
    assert!(staff_in_api.len() >= 30, "the walk found the staff routes ({})", staff_in_api.len());
}

/// The routers that serve are built without the OpenAPI document (so a cold Lambda does not build it); they
/// carry exactly the routes and declarations the document publishes.
#[test]
fn the_serving_routers_declare_what_the_document_does() {
    let api = kefu_fn_api::access().expect("the API's declarations read one way");
    assert_eq!(kefu_fn_api::served_access(), api);
    let (_, widget_doc) = kefu_fn_intake::api().split_for_parts();
    let widget = RouteAccess::from_openapi(&widget_doc).expect("the widget's declarations read one way");
    assert_eq!(kefu_fn_intake::served_access(), widget);
    assert!(widget.routes().len() >= 14, "the widget's routes ({})", widget.routes().len());
    assert!(api.routes().len() >= 100, "the API's routes ({})", api.routes().len());
}

#[tokio::test]
async fn every_route_enforces_exactly_the_permission_it_declares() {
    let t = spawn_app().await;
    let home = t.create_tenant("Home", "admin@home.test").await;
    let tenant = home["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "admin@home.test", ADMIN_PASSWORD).await;
    let access = kefu_fn_api::access().expect("declarations");
    let needed: BTreeSet<Permission> = access
        .routes()
        .into_iter()
        .filter_map(|(_, _, d)| match d {
            Declared::Staff(Some(p)) => Some(p),
            _ => None,
        })
        .collect();
    assert!(needed.len() >= 5, "routes declare permissions ({needed:?})");

    let key = |perms: Vec<&'static str>| {
        let (t, admin) = (&t, &admin);
        async move {
            let r = t.post("/v1/api_keys", json!({"name": "probe", "permissions": perms}), Some(admin)).await;
            assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
            r.body["key"].as_str().unwrap().to_owned()
        }
    };
    let mut failures = Vec::new();
    for p in needed {
        let all_but: Vec<&'static str> = Permission::ALL.iter().filter(|q| **q != p).map(|q| q.name()).collect();
        let (without, only) = (key(all_but).await, key(vec![p.name()]).await);
        for (method, path, declared) in access.routes() {
            if declared != Declared::Staff(Some(p)) {
                continue;
            }
            let m: Method = method.as_str().parse().unwrap();
            let concrete = path.replace("{id}", "xx_01hzzzzzzzzzzzzzzzzzzzzzzz");
            let body = matches!(m, Method::POST | Method::PUT | Method::PATCH).then(|| json!({}));
            let route = format!("{method} {path}");
            let refused: Reply = t.with_key(m.clone(), &concrete, body.clone(), &without).await;
            let short =
                |r: &Reply| format!("{} {}", r.status, r.body.to_string().chars().take(200).collect::<String>());
            let says = refused.body["error"]["message"].as_str().unwrap_or_default();
            if (refused.status, refused.code()) != (StatusCode::FORBIDDEN, "forbidden") || !says.contains(p.name()) {
                failures.push(format!(
                    "{route} with every permission but {}: {} {}",
                    p.name(),
                    refused.status,
                    refused.body
                ));
            }
            let let_through = t.with_key(m, &concrete, body, &only).await;
            if matches!(let_through.status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
                || let_through.status.is_server_error()
            {
                failures.push(format!("{route} with only {}: {}", p.name(), short(&let_through)));
            }
        }
    }
    assert!(failures.is_empty(), "declared and enforced permissions differ:\n{}", failures.join("\n"));
}

/// A handler that never asks who calls it.
#[utoipa::path(get, path = "/probe/declared", security(("bearer" = ["settings.manage"])), responses((status = 200)))]
async fn declared_probe() -> &'static str {
    "ran"
}

#[tokio::test]
async fn a_declared_permission_holds_though_the_handler_never_asks_and_no_staff_handler_runs_undeclared() {
    let t = spawn_app().await;
    let home = t.create_tenant("Home", "admin@home.test").await;
    let tenant = home["tenant_id"].as_str().unwrap().to_owned();
    let admin = t.login(&tenant, "admin@home.test", ADMIN_PASSWORD).await;
    let agent_id = t.add_staff(&tenant, "agent@home.test", "agent", "a long enough staff password").await;
    assert!(!agent_id.is_empty());
    let agent = t.login(&tenant, "agent@home.test", "a long enough staff password").await;
    assert!(
        !kefu_domain::BuiltinRole::from_name("agent").unwrap().permissions().has(Permission::SettingsManage),
        "the agent role lacks the probe's permission"
    );

    let ran = Arc::new(AtomicUsize::new(0));
    let counted = ran.clone();
    let (router, doc) = OpenApiRouter::new().routes(routes!(declared_probe)).split_for_parts();
    let access = RouteAccess::from_openapi(&doc).expect("declared");
    let app = t.app().clone();
    let router = kefu_app::http::staff::enforce_declared_access(router, app.clone(), access).route(
        "/probe/undeclared",
        get(move |staff: Staff| async move {
            counted.fetch_add(1, Ordering::SeqCst);
            staff.tenant_id.to_string()
        }),
    );
    let router = kefu_app::http::finish(router, app);
    let call = |path: &'static str, token: Option<String>| {
        let router = router.clone();
        async move {
            let mut req = Request::get(path);
            if let Some(token) = token {
                req = req.header("authorization", format!("Bearer {token}"));
            }
            let res = router.oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
            let status = res.status();
            let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
            (
                status,
                serde_json::from_slice::<Value>(&bytes)
                    .unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())),
            )
        }
    };

    // Declared `settings.manage`, handler asks nothing: still 401, 403, then through.
    assert_eq!(call("/probe/declared", None).await.0, StatusCode::UNAUTHORIZED);
    let (status, body) = call("/probe/declared", Some(agent.clone())).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "forbidden");
    assert_eq!(call("/probe/declared", Some(admin.clone())).await, (StatusCode::OK, json!("ran")));

    // A `Staff` handler on a route with no declaration never runs, whoever calls.
    for token in [None, Some(agent), Some(admin)] {
        let (status, body) = call("/probe/undeclared", token).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{body}");
    }
    assert_eq!(ran.load(Ordering::SeqCst), 0, "the undeclared staff handler never ran");
}
