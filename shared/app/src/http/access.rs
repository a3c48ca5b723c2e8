//! Who may call each route, read from the route's OpenAPI annotation, which is the one place a route's
//! permission is declared: `security(("bearer" = ["customers.view"]))` means "staff holding
//! `customers.view`", `security(("bearer" = []))` "any signed-in staff member". The table is built once from
//! the generated document ([`RouteAccess::from_openapi`]) and the [`authorize`](super::staff::authorize) layer
//! enforces it before the handler runs, so the published document and the check cannot differ.
//!
//! Checks that depend on the data (a conversation's assignee, the granting rules, what `view_sensitive` shows)
//! are not the route's permission: they stay in the handlers and services.

use std::collections::HashMap;

use axum::http::Method;
use kefu_domain::Permission;

/// The security scheme of staff credentials (a session token, or an API key holding the permission).
pub const STAFF_SCHEME: &str = "bearer";

/// The other security schemes a route may declare (the widget's key, a visitor's token): their callers are
/// told apart and checked by the route itself.
pub const OTHER_SCHEMES: &[&str] = &["widget_key", "visitor"];

/// What a route's annotation declares about its callers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Declared {
    /// Staff only (`bearer`): any signed-in staff member (`None`) or those holding the permission.
    Staff(Option<Permission>),
    /// Any signed-in staff member or another kind of caller (`bearer = []` next to a visitor's scheme): the
    /// handler tells them apart (a real-time ticket).
    StaffOrOther,
    /// No staff credentials: a public route or a widget route.
    NotStaff,
}

/// The declared access of every route of a router, by path template (`/v1/customers/{id}`) and method.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteAccess {
    routes: HashMap<String, HashMap<Method, Declared>>,
}

impl RouteAccess {
    /// Reads every operation's `security` of an OpenAPI document. Refuses (with every problem found) a
    /// declaration that could be read two ways: a permission outside the catalogue, several permissions, an
    /// unknown scheme, or a permission on a route other callers may open too.
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Result<Self, Vec<String>> {
        let json = serde_json::to_value(doc).map_err(|e| vec![format!("the document does not serialise: {e}")])?;
        let mut access = RouteAccess::default();
        let mut problems = Vec::new();
        for (path, ops) in json["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) else {
                    problems.push(format!("{method} {path}: not an HTTP method"));
                    continue;
                };
                if let Err(e) = access.file(m, path, op.get("security")) {
                    problems.push(e);
                }
            }
        }
        if problems.is_empty() { Ok(access) } else { Err(problems) }
    }

    /// Adds one operation's declaration, read from its annotation's `security` (what [`plain_routes!`] does
    /// for each handler, without building the document). Refuses what [`RouteAccess::from_openapi`] refuses.
    pub fn declare(
        &mut self,
        method: &utoipa::openapi::HttpMethod,
        path: &str,
        security: Option<&[utoipa::openapi::security::SecurityRequirement]>,
    ) -> Result<(), String> {
        let m = method_of(method);
        let security = security
            .map(serde_json::to_value)
            .transpose()
            .map_err(|e| format!("{m} {path}: the security list does not serialise: {e}"))?;
        self.file(m, path, security.as_ref())
    }

    /// Files a declaration already read (from a [`Recorded`] table).
    pub fn insert(&mut self, method: Method, path: &str, declared: Declared) {
        self.routes.entry(path.to_owned()).or_default().insert(method, declared);
    }

    /// Files the declaration an operation's `security` list (as JSON) makes for `method path`.
    fn file(&mut self, method: Method, path: &str, security: Option<&serde_json::Value>) -> Result<(), String> {
        let d = declared(security, &format!("{method} {path}"))?;
        self.routes.entry(path.to_owned()).or_default().insert(method, d);
        Ok(())
    }

    /// Adds every route of `other` (a later declaration of the same route wins, as a later route does in a
    /// router).
    pub fn merge(&mut self, other: RouteAccess) {
        for (path, methods) in other.routes {
            self.routes.entry(path).or_default().extend(methods);
        }
    }

    /// What the route `method path_template` declares; `None` for a route the document does not describe.
    pub fn get(&self, method: &Method, path_template: &str) -> Option<Declared> {
        self.routes.get(path_template)?.get(method).copied()
    }

    /// Every route with its declaration, sorted by path then method (for tests and reports).
    pub fn routes(&self) -> Vec<(Method, String, Declared)> {
        let mut all: Vec<_> = self
            .routes
            .iter()
            .flat_map(|(p, methods)| methods.iter().map(|(m, d)| (m.clone(), p.clone(), *d)))
            .collect();
        all.sort_by(|a, b| (&a.1, a.0.as_str()).cmp(&(&b.1, b.0.as_str())));
        all
    }
}

/// The routes' declarations read ahead of time from their annotations, as `(path, method, declared)` sorted by
/// path then method: what [`plain_routes!`] reads instead of building each handler's OpenAPI operation at
/// start (about half a millisecond of a cold Lambda's init for the API's hundred routes). A crate keeps its
/// table in a generated file, and a test of that crate fails, printing the new file, when the table and the
/// annotations differ (it writes the file with [`Recorded::source_of`]); a route missing from the table is
/// read from its annotation.
pub struct Recorded(pub &'static [(&'static str, &'static str, Declared)]);

impl Recorded {
    /// No table: every route is read from its annotation.
    pub const NONE: Recorded = Recorded(&[]);

    /// What the table says `method path` declares.
    pub fn declared(&self, method: &Method, path: &str) -> Option<Declared> {
        let key = (path, method.as_str());
        self.0.binary_search_by(|(p, m, _)| (*p, *m).cmp(&key)).ok().map(|i| self.0[i].2)
    }

    /// The Rust source of the table for `access` (the generated file's whole text, `header` first).
    pub fn source_of(access: &RouteAccess, header: &str) -> String {
        let mut out = String::from(header);
        out.push_str("use kefu_app::http::access::Declared::*;\nuse kefu_app::http::access::Recorded;\n");
        out.push_str("use kefu_domain::Permission::*;\n\n");
        out.push_str(
            "/// Every route's declaration, by path then method.\npub(crate) const RECORDED: Recorded = Recorded(&[\n",
        );
        for (method, path, declared) in access.routes() {
            out.push_str(&format!("    ({path:?}, {:?}, {declared:?}),\n", method.as_str()));
        }
        out.push_str("]);\n");
        out
    }
}

/// The HTTP method a utoipa annotation names.
pub fn method_of(method: &utoipa::openapi::HttpMethod) -> Method {
    use utoipa::openapi::HttpMethod as H;
    match method {
        H::Get => Method::GET,
        H::Put => Method::PUT,
        H::Post => Method::POST,
        H::Delete => Method::DELETE,
        H::Options => Method::OPTIONS,
        H::Head => Method::HEAD,
        H::Patch => Method::PATCH,
        H::Trace => Method::TRACE,
    }
}

/// Builds a plain axum router, and the access table its handlers' annotations declare, from handlers annotated
/// with `#[utoipa::path]`, grouped as `utoipa_axum::routes!` groups them (`[module::get, module::put], …`):
/// the same routes as an `OpenApiRouter` built from the same groups, without the OpenAPI document. Building the
/// document (every schema, serialised) is milliseconds a cold Lambda would pay at init for a page few callers
/// ask for; it is built when asked for instead.
///
/// With a leading `recorded = TABLE;` (a [`Recorded`]), a route's declaration is taken from the table, and its
/// annotation is read (its OpenAPI operation built) only when the table lacks the route.
///
/// Evaluates to `(Router<S>, RouteAccess, Vec<String>)`, the last holding the declarations that read more than
/// one way. The calling crate depends on `axum`, `utoipa` and `utoipa_axum`. A bare handler is written
/// `self::handler`.
#[macro_export]
macro_rules! plain_routes {
    ($( [ $($m:ident :: $f:ident),+ $(,)? ] ),* $(,)?) => {
        $crate::plain_routes!(recorded = $crate::http::access::Recorded::NONE; $( [ $($m :: $f),+ ] ),*)
    };
    (recorded = $recorded:expr; $( [ $($m:ident :: $f:ident),+ $(,)? ] ),* $(,)?) => {{
        let recorded: &$crate::http::access::Recorded = &$recorded;
        use ::utoipa_axum::PathItemExt as _;
        let mut router = ::axum::Router::new();
        let mut access = $crate::http::access::RouteAccess::default();
        let mut problems: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
        $({
            let mut paths: ::std::vec::Vec<::std::string::String> = ::std::vec::Vec::new();
            let mut method_router = ::axum::routing::MethodRouter::new();
            $(
                ::utoipa_axum::paste! {
                    let path = <$m::[<__path_ $f>] as ::utoipa::Path>::path();
                    for method in <$m::[<__path_ $f>] as ::utoipa::Path>::methods() {
                        method_router = method_router.on(method.to_method_filter(), $m::$f);
                        let request_method = $crate::http::access::method_of(&method);
                        match recorded.declared(&request_method, &path) {
                            Some(declared) => access.insert(request_method, &path, declared),
                            None => {
                                let security = <$m::[<__path_ $f>] as ::utoipa::Path>::operation().security;
                                if let Err(e) = access.declare(&method, &path, security.as_deref()) {
                                    problems.push(e);
                                }
                            }
                        }
                    }
                }
                if !paths.contains(&path) {
                    paths.push(path);
                }
            )+
            for path in &paths {
                router = router.route(path, method_router.clone());
            }
        })*
        (router, access, problems)
    }};
}

/// The declaration of one operation's `security` list.
fn declared(security: Option<&serde_json::Value>, route: &str) -> Result<Declared, String> {
    let Some(requirements) = security.and_then(serde_json::Value::as_array) else { return Ok(Declared::NotStaff) };
    let (mut staff, mut other): (Option<Option<Permission>>, bool) = (None, false);
    for requirement in requirements {
        for (scheme, scopes) in requirement.as_object().into_iter().flatten() {
            let scopes: Vec<&str> = scopes.as_array().into_iter().flatten().filter_map(|s| s.as_str()).collect();
            match scheme.as_str() {
                STAFF_SCHEME => {
                    let permission = match scopes.as_slice() {
                        [] => None,
                        [name] => Some(
                            Permission::parse(name)
                                .ok_or_else(|| format!("{route}: `{name}` is not in the permission catalogue"))?,
                        ),
                        more => return Err(format!("{route}: one permission per route, not {more:?}")),
                    };
                    if staff.is_some_and(|prev| prev != permission) {
                        return Err(format!("{route}: several staff permissions"));
                    }
                    staff = Some(permission);
                }
                s if OTHER_SCHEMES.contains(&s) => other = true,
                s => return Err(format!("{route}: unknown security scheme `{s}`")),
            }
        }
    }
    match (staff, other) {
        (Some(permission), false) => Ok(Declared::Staff(permission)),
        (Some(None), true) => Ok(Declared::StaffOrOther),
        (Some(Some(p)), true) => {
            Err(format!("{route}: `{}` cannot be needed on a route other callers may open", p.name()))
        }
        (None, true) => Ok(Declared::NotStaff),
        (None, false) => Err(format!("{route}: an empty security list is no decision")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(paths: serde_json::Value) -> utoipa::openapi::OpenApi {
        serde_json::from_value(json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths}))
            .expect("a document")
    }

    #[test]
    fn each_declaration_reads_one_way() {
        let access = RouteAccess::from_openapi(&doc(json!({
            "/v1/customers/{id}": {
                "get": {"security": [{"bearer": ["customers.view"]}], "responses": {}},
                "patch": {"security": [{"bearer": ["customers.edit"]}], "responses": {}}
            },
            "/v1/me": {"get": {"security": [{"bearer": []}], "responses": {}}},
            "/v1/realtime/ticket": {"post": {"security": [{"bearer": []}, {"visitor": []}], "responses": {}}},
            "/v1/widget/config": {"get": {"security": [{"widget_key": []}], "responses": {}}},
            "/v1/health": {"get": {"responses": {}}}
        })))
        .expect("valid declarations");
        let get = |m: Method, p: &str| access.get(&m, p);
        assert_eq!(get(Method::GET, "/v1/customers/{id}"), Some(Declared::Staff(Some(Permission::CustomersView))));
        assert_eq!(get(Method::PATCH, "/v1/customers/{id}"), Some(Declared::Staff(Some(Permission::CustomersEdit))));
        assert_eq!(get(Method::GET, "/v1/me"), Some(Declared::Staff(None)));
        assert_eq!(get(Method::POST, "/v1/realtime/ticket"), Some(Declared::StaffOrOther));
        assert_eq!(get(Method::GET, "/v1/widget/config"), Some(Declared::NotStaff));
        assert_eq!(get(Method::GET, "/v1/health"), Some(Declared::NotStaff));
        assert_eq!(get(Method::DELETE, "/v1/customers/{id}"), None);
        assert_eq!(access.routes().len(), 6);
    }

    #[test]
    fn an_ambiguous_declaration_is_refused_not_ignored() {
        for (security, problem) in [
            (json!([{"bearer": ["customers.veiw"]}]), "not in the permission catalogue"),
            (json!([{"bearer": ["customers.view", "customers.edit"]}]), "one permission per route"),
            (json!([{"bearer": ["customers.view"]}, {"bearer": ["customers.edit"]}]), "several staff permissions"),
            (json!([{"cookie": []}]), "unknown security scheme"),
            (json!([{"bearer": ["customers.view"]}, {"visitor": []}]), "other callers may open"),
            (json!([]), "no decision"),
        ] {
            let problems = RouteAccess::from_openapi(&doc(json!({
                "/v1/customers": {"get": {"security": security, "responses": {}}}
            })))
            .expect_err("refused");
            assert!(problems.iter().any(|p| p.contains(problem)), "{problems:?} should say {problem}");
        }
    }
}
