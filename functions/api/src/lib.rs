//! `api`: the admin and agent REST API. One axum router, served by API Gateway through `lambda_http` in AWS
//! and directly by `kefu serve`.

pub mod agents;
pub mod api_keys;
pub mod approvals;
pub mod assignment_settings;
pub mod attachments;
pub mod audit;
pub mod auth;
pub mod auto_reply;
pub mod blocks;
pub mod chat;
pub mod conversations;
pub mod customers;
pub mod customers_push;
pub mod exports;
pub mod groups;
pub mod me;
pub mod notifications;
pub mod openapi;
mod query;
pub mod quick_replies;
pub mod realtime;
mod recorded;
pub mod retention;
pub mod roles;
pub mod rules;
pub mod schedules;
pub mod security_settings;
pub mod stats;
pub mod system;
pub mod tags;
pub mod tenants;
pub mod tickets;
pub mod webhooks;
pub mod widget_settings;

use axum::Router;
use axum::routing::get;
use kefu_app::App;
use kefu_app::http::access::RouteAccess;
use kefu_app::plain_routes;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Every route of the API, grouped by path as `utoipa_axum::routes!` groups them, handed to `$with`: one list
/// for the documented router ([`api`]) and the plain one that serves ([`routes`]), so they cannot differ.
macro_rules! each_route {
    ($with:ident) => {
        $with! {
            [system::health],
            [tenants::create],
            [auth::login],
            [auth::logout],
            [auth::me],
            // Identity and security (H2).
            [auth::mfa],
            [auth::mfa_email],
            [me::change_password],
            [me::list_sessions],
            [me::revoke_session],
            [me::enrol_totp],
            [me::confirm_totp],
            [security_settings::get, security_settings::put],
            [roles::list, roles::create],
            [roles::update, roles::delete],
            [api_keys::create, api_keys::list],
            [api_keys::revoke],
            [conversations::list],
            [conversations::get, conversations::delete],
            [conversations::messages, conversations::reply],
            [conversations::set_tags],
            [conversations::assign],
            [conversations::close],
            [conversations::reopen],
            [chat::typing],
            [chat::read],
            [chat::recall],
            [chat::rating_request],
            [customers::list],
            [customers::get, customers::patch],
            [customers::conversations],
            [customers::list_groups, customers::create_group],
            [customers::update_group, customers::delete_group],
            [realtime::ticket],
            // Audit log (H1).
            [audit::list],
            [agents::list, agents::create],
            [agents::get_one, agents::update],
            [agents::disable],
            [agents::enable],
            [agents::end_sessions],
            [agents::set_my_status],
            [groups::list, groups::create],
            [groups::update, groups::delete],
            [schedules::list, schedules::create],
            [schedules::update],
            [assignment_settings::get, assignment_settings::put],
            [widget_settings::get, widget_settings::put],
            // Automation rules (issue 12).
            [rules::list, rules::create],
            [rules::update, rules::delete],
            [rules::dry_run],
            // Tags as a registry (issue 11).
            [tags::list, tags::create],
            [tags::delete],
            // Quick replies (issue 11).
            [quick_replies::list, quick_replies::create],
            [quick_replies::update, quick_replies::delete],
            [quick_replies::render],
            // Blocks (issue 11).
            [blocks::list, blocks::create],
            [blocks::delete],
            // Customers pushed by integrations (issue 11).
            [customers_push::create],
            [customers_push::list_purchases, customers_push::record_purchase],
            // Tickets (issue 11).
            [tickets::list, tickets::create],
            [tickets::get, tickets::patch],
            [tickets::comment],
            [tickets::of_customer],
            // Approvals (issue 11).
            [approvals::get_settings, approvals::put_settings],
            [approvals::list],
            [approvals::approve],
            [approvals::reject],
            // Automation: auto-replies (issue 12).
            [auto_reply::get, auto_reply::put],
            // Notifications (issue 12).
            [notifications::get, notifications::put],
            [notifications::register_device, notifications::list_devices],
            [notifications::delete_device],
            // Webhooks (issue 12).
            [webhooks::get_settings],
            [webhooks::rotate],
            [webhooks::deliveries],
            // Statistics and the live board (issue 13).
            [stats::get],
            [stats::live],
            // Exports (issue 13).
            [exports::create],
            [exports::get],
            [exports::download],
            // Retention (issue 13).
            [retention::get_settings, retention::put_settings],
            [retention::run],
            // Attachments (issue 15).
            [attachments::create],
        }
    };
}

/// The API's routes, each registered together with its OpenAPI description, so the document (and the
/// route-walking tests built on it) cannot miss a route.
pub fn api() -> OpenApiRouter<App> {
    macro_rules! documented {
        ($( [ $($h:tt)+ ] ),* $(,)?) => {
            OpenApiRouter::with_openapi(openapi::ApiDoc::openapi()) $( .routes(routes!($($h)+)) )*
        };
    }
    each_route!(documented)
}

/// Who may call each of the API's routes, read from the routes' own annotations (the one place a route's
/// permission is written). Fails, naming each, on a declaration that reads more than one way.
pub fn access() -> Result<RouteAccess, Vec<String>> {
    RouteAccess::from_openapi(&api().split_for_parts().1)
}

/// The API's routes, before the shared layers (so `kefu serve` can merge them with the widget's), each
/// enforcing the access its annotation declares. Built without the OpenAPI document (see
/// [`kefu_app::plain_routes`]); `GET /v1/openapi.json` builds that on its first request.
///
/// # Panics
/// When an annotation's security reads more than one way (an unknown permission, several permissions): a
/// fault of the build, which `access()`'s test reports first.
pub fn routes(app: &App) -> Router<App> {
    let (router, access) = serving();
    kefu_app::http::staff::enforce_declared_access(router, app.clone(), access)
        .route("/v1/openapi.json", get(openapi::document))
}

/// The access table the serving router enforces (for the test that it equals the document's).
pub fn served_access() -> RouteAccess {
    serving().1
}

/// The serving router and the declarations of its routes, built without the document. The declarations are
/// read from `recorded.rs`, the annotations' table recorded ahead of time, rather than by building each route's
/// OpenAPI operation at start (half a millisecond of a cold start); a test keeps the two equal.
fn serving() -> (Router<App>, RouteAccess) {
    macro_rules! recorded_routes {
        ($($groups:tt)*) => { plain_routes!(recorded = recorded::RECORDED; $($groups)*) };
    }
    let (router, access, problems) = each_route!(recorded_routes);
    assert!(problems.is_empty(), "the routes' declared access is ambiguous:\n{}", problems.join("\n"));
    (router, access)
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(&app), app)
}

#[cfg(test)]
mod tests {
    use kefu_app::http::access::Recorded;

    /// The first lines of `src/recorded.rs`, which the test below writes.
    const RECORDED_HEADER: &str = "\
//! Every route's declared access as its OpenAPI annotation declares it, recorded so that the serving router
//! need not build a hundred OpenAPI operations at start. Written by the test
//! `the_recorded_declarations_are_the_annotations` (`KEFU_BLESS=1 cargo test -p kefu-fn-api recorded`): edit
//! the annotations, never this file.

";

    /// `src/recorded.rs` is the annotations' table: a changed, added or removed declaration fails here until the
    /// file is written again (with `KEFU_BLESS=1`, this test writes it).
    #[test]
    fn the_recorded_declarations_are_the_annotations() {
        let access = super::access().expect("the API's declarations read one way");
        let source = Recorded::source_of(&access, RECORDED_HEADER);
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/src/recorded.rs");
        let on_disk = std::fs::read_to_string(path).unwrap_or_default();
        if on_disk != source {
            if std::env::var_os("KEFU_BLESS").is_some() {
                std::fs::write(path, &source).expect("writing src/recorded.rs");
            } else {
                panic!(
                    "src/recorded.rs differs from the routes' annotations: run `KEFU_BLESS=1 cargo test -p \
                     kefu-fn-api recorded` and commit the file"
                );
            }
        }
        // Each route is found in the table (not read again from its annotation), and the serving router's
        // declarations are the annotations'.
        for (method, path, declared) in access.routes() {
            assert_eq!(super::recorded::RECORDED.declared(&method, &path), Some(declared), "{method} {path}");
        }
        assert_eq!(super::served_access(), access);
    }
}
