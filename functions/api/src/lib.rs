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
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API's routes, each registered together with its OpenAPI description, so the document (and the
/// route-walking tests built on it) cannot miss a route.
pub fn api() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .routes(routes!(system::health))
        .routes(routes!(tenants::create))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        // Identity and security (H2).
        .routes(routes!(auth::mfa))
        .routes(routes!(auth::mfa_email))
        .routes(routes!(me::change_password))
        .routes(routes!(me::list_sessions))
        .routes(routes!(me::revoke_session))
        .routes(routes!(me::enrol_totp))
        .routes(routes!(me::confirm_totp))
        .routes(routes!(security_settings::get, security_settings::put))
        .routes(routes!(roles::list, roles::create))
        .routes(routes!(roles::update, roles::delete))
        .routes(routes!(api_keys::create, api_keys::list))
        .routes(routes!(api_keys::revoke))
        .routes(routes!(conversations::list))
        .routes(routes!(conversations::get, conversations::delete))
        .routes(routes!(conversations::messages, conversations::reply))
        .routes(routes!(conversations::set_tags))
        .routes(routes!(conversations::assign))
        .routes(routes!(conversations::close))
        .routes(routes!(conversations::reopen))
        .routes(routes!(chat::typing))
        .routes(routes!(chat::read))
        .routes(routes!(chat::recall))
        .routes(routes!(chat::rating_request))
        .routes(routes!(customers::list))
        .routes(routes!(customers::get, customers::patch))
        .routes(routes!(customers::conversations))
        .routes(routes!(customers::list_groups, customers::create_group))
        .routes(routes!(customers::update_group, customers::delete_group))
        .routes(routes!(realtime::ticket))
        // Audit log (H1).
        .routes(routes!(audit::list))
        .routes(routes!(agents::list, agents::create))
        .routes(routes!(agents::get_one, agents::update))
        .routes(routes!(agents::disable))
        .routes(routes!(agents::enable))
        .routes(routes!(agents::end_sessions))
        .routes(routes!(agents::set_my_status))
        .routes(routes!(groups::list, groups::create))
        .routes(routes!(groups::update, groups::delete))
        .routes(routes!(schedules::list, schedules::create))
        .routes(routes!(schedules::update))
        .routes(routes!(assignment_settings::get, assignment_settings::put))
        .routes(routes!(widget_settings::get, widget_settings::put))
        // Automation rules (issue 12).
        .routes(routes!(rules::list, rules::create))
        .routes(routes!(rules::update, rules::delete))
        .routes(routes!(rules::dry_run))
        // Tags as a registry (issue 11).
        .routes(routes!(tags::list, tags::create))
        .routes(routes!(tags::delete))
        // Quick replies (issue 11).
        .routes(routes!(quick_replies::list, quick_replies::create))
        .routes(routes!(quick_replies::update, quick_replies::delete))
        .routes(routes!(quick_replies::render))
        // Blocks (issue 11).
        .routes(routes!(blocks::list, blocks::create))
        .routes(routes!(blocks::delete))
        // Customers pushed by integrations (issue 11).
        .routes(routes!(customers_push::create))
        .routes(routes!(customers_push::list_purchases, customers_push::record_purchase))
        // Tickets (issue 11).
        .routes(routes!(tickets::list, tickets::create))
        .routes(routes!(tickets::get, tickets::patch))
        .routes(routes!(tickets::comment))
        .routes(routes!(tickets::of_customer))
        // Approvals (issue 11).
        .routes(routes!(approvals::get_settings, approvals::put_settings))
        .routes(routes!(approvals::list))
        .routes(routes!(approvals::approve))
        .routes(routes!(approvals::reject))
        // Automation: auto-replies (issue 12).
        .routes(routes!(auto_reply::get, auto_reply::put))
        // Notifications (issue 12).
        .routes(routes!(notifications::get, notifications::put))
        .routes(routes!(notifications::register_device, notifications::list_devices))
        .routes(routes!(notifications::delete_device))
        // Webhooks (issue 12).
        .routes(routes!(webhooks::get_settings))
        .routes(routes!(webhooks::rotate))
        .routes(routes!(webhooks::deliveries))
        // Statistics and the live board (issue 13).
        .routes(routes!(stats::get))
        .routes(routes!(stats::live))
        // Exports (issue 13).
        .routes(routes!(exports::create))
        .routes(routes!(exports::get))
        .routes(routes!(exports::download))
        // Retention (issue 13).
        .routes(routes!(retention::get_settings, retention::put_settings))
        .routes(routes!(retention::run))
        // Attachments (issue 15).
        .routes(routes!(attachments::create))
}

/// Who may call each of the API's routes, read from the routes' own annotations (the one place a route's
/// permission is written). Fails, naming each, on a declaration that reads more than one way.
pub fn access() -> Result<RouteAccess, Vec<String>> {
    RouteAccess::from_openapi(&api().split_for_parts().1)
}

/// The API's routes, before the shared layers (so `kefu serve` can merge them with the widget's), each
/// enforcing the access its annotation declares.
///
/// # Panics
/// When an annotation's security reads more than one way (an unknown permission, several permissions): a
/// fault of the build, which `access()`'s test reports first.
pub fn routes(app: &App) -> Router<App> {
    let (router, doc) = api().split_for_parts();
    let access = RouteAccess::from_openapi(&doc)
        .unwrap_or_else(|problems| panic!("the routes' declared access is ambiguous:\n{}", problems.join("\n")));
    kefu_app::http::staff::enforce_declared_access(router, app.clone(), access)
        .route("/v1/openapi.json", get(openapi::document))
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(&app), app)
}
