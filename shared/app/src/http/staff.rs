//! The permission-and-tenant check every staff route gets. A route's permission is declared once, in its
//! OpenAPI annotation (see [`super::access`]); the [`authorize`] layer reads the matched route's declaration
//! and, before the handler runs (and before its body is parsed: a caller without the permission learns
//! nothing from validation errors), authenticates the bearer token (or an integration's `X-Api-Key`), checks
//! the tenant's IP allowlist and, on a route that needs a permission, refuses a restricted session and checks
//! the permission. The [`Staff`] and [`SignedIn`] extractors hand the handler that caller (`Staff` refusing a
//! restricted session, `SignedIn` an API key); on a route that declares no staff access they refuse (500,
//! logged), so no handler can act for staff on a route the document does not say is theirs.
//! Handlers look ids up under `staff.tenant_id` only, so another tenant's ids are simply not found.
//!
//! A refusal (by the layer, or by `require`/`refuse` for the checks that depend on the data) is also written
//! to the audit log (outcome `denied`): it is noted in the request's denial slot, and the layer
//! [`record_denials`] (installed by `http::finish`, which has the app) records it once the answer is ready.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use kefu_domain::{Permission, TenantId};

use super::access::{Declared, RouteAccess};
use super::{ApiError, ClientIp};
use crate::App;
use crate::audit::{AuditEntry, Outcome};
use crate::identity::accounts::{Caller, Principal};
use crate::identity::auth;

/// An authenticated staff member (or API key) with an unrestricted session.
#[derive(Debug, Clone)]
pub struct Staff(pub Principal);

impl std::ops::Deref for Staff {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

/// A refusal for lack of permission, waiting to be audited.
#[derive(Debug, Clone)]
struct Denial {
    tenant_id: TenantId,
    actor: crate::audit::Actor,
    permission: &'static str,
    ip: String,
}

/// Where `require` leaves its refusal for the audit layer; one per request.
#[derive(Debug, Clone, Default)]
struct DenialSlot(Arc<Mutex<Option<Denial>>>);

tokio::task_local! {
    static DENIALS: DenialSlot;
}

impl Staff {
    /// Refuses with 403 `forbidden` unless the caller's role (or key) has `p`; the refusal is audited. For the
    /// checks that depend on the data (replying to a conversation one is not assigned): a route's own
    /// permission is declared in its annotation and checked by [`authorize`], never here.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.permissions.has(p) {
            return Ok(());
        }
        Err(self.refuse(p, format!("this needs the `{}` permission", p.name())))
    }

    /// A 403 `forbidden` saying `message`, audited like a [`Staff::require`] refusal (naming `p`, the
    /// permission that would have allowed it): for the checks that depend on more than the route's permission
    /// (the granting rules, a conversation's assignee).
    pub fn refuse(&self, p: Permission, message: impl Into<String>) -> ApiError {
        tracing::info!(tenant_id = %self.tenant_id, agent_id = %self.agent_id, permission = p.name(), "permission denied");
        let denial = Denial {
            tenant_id: self.tenant_id.clone(),
            actor: self.actor(),
            permission: p.name(),
            ip: self.ip.to_string(),
        };
        let _ = DENIALS.try_with(|slot| {
            if let Ok(mut d) = slot.0.lock() {
                *d = Some(denial);
            }
        });
        ApiError::forbidden(message)
    }
}

/// The layer that audits `require`'s refusals: `permission.denied`, outcome `denied`, naming the request
/// and the permission it lacked.
pub async fn record_denials(State(app): State<App>, req: Request, next: Next) -> Response {
    // Kept as they are (a reference count), and written out only for a denial.
    let (method, uri) = (req.method().clone(), req.uri().clone());
    let slot = DenialSlot::default();
    let res = DENIALS.scope(slot.clone(), next.run(req)).await;
    let denial = slot.0.lock().ok().and_then(|mut d| d.take());
    if let Some(d) = denial {
        let entry = AuditEntry::new(&d.tenant_id, "permission.denied", Outcome::Denied)
            .by(&d.actor)
            .target("route", format!("{method} {}", uri.path()))
            .ip(d.ip)
            .detail(serde_json::json!({"permission": d.permission}));
        crate::audit::note(&app, entry).await;
    }
    res
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The `X-Api-Key` of a request, if any.
pub fn api_key(parts: &Parts) -> Option<&str> {
    parts.headers.get("x-api-key")?.to_str().ok().map(str::trim).filter(|k| !k.is_empty())
}

/// Authenticates a request: a bearer session, else an API key; 401 without either.
async fn principal(parts: &mut Parts, app: &App) -> Result<Principal, ApiError> {
    let Ok(ClientIp(ip)) = ClientIp::from_request_parts(parts, app).await;
    let principal = match (bearer(parts), api_key(parts)) {
        (Some(token), _) => auth::authenticate(app, token, ip).await?,
        (None, Some(key)) => crate::identity::api_keys::authenticate(app, key, ip).await?,
        (None, None) => return Err(ApiError::unauthenticated()),
    };
    let span = tracing::Span::current();
    span.record("tenant_id", tracing::field::display(&principal.tenant_id));
    span.record("agent_id", tracing::field::display(principal.actor_id()));
    if matches!(principal.caller, Caller::Session(_)) {
        // A person's request is activity (auto-away's clock; at most one write a minute).
        crate::assignment::activity::touch_quietly(app, &principal.tenant_id, &principal.agent_id).await;
    }
    Ok(principal)
}

/// The caller the [`authorize`] layer authenticated for a route that declares staff access.
#[derive(Debug, Clone)]
struct Authorized(Principal);

/// What the [`authorize`] layer found the matched route to declare.
#[derive(Debug, Clone, Copy)]
struct RouteDeclared(Declared);

/// Puts the [`authorize`] layer on every route of `router` (routes added to it later declare nothing, so
/// `Staff` refuses on them). `access` is read from the router's own OpenAPI document.
pub fn enforce_declared_access(router: Router<App>, app: App, access: RouteAccess) -> Router<App> {
    router.route_layer(axum::middleware::from_fn_with_state((app, Arc::new(access)), authorize))
}

/// The layer that enforces the matched route's declared access: a route declaring `bearer` (alone) answers
/// 401 without staff credentials, 403 with the restriction's code for a restricted session on a route that
/// needs a permission, and 403 `forbidden` (audited) without the declared permission, all before the
/// handler runs.
pub async fn authorize(State((app, access)): State<(App, Arc<RouteAccess>)>, req: Request, next: Next) -> Response {
    let declared = req.extensions().get::<MatchedPath>().and_then(|path| access.get(req.method(), path.as_str()));
    let Some(declared) = declared else { return next.run(req).await };
    let (mut parts, body) = req.into_parts();
    parts.extensions.insert(RouteDeclared(declared));
    if let Declared::Staff(permission) = declared {
        let staff = match principal(&mut parts, &app).await {
            Ok(p) => Staff(p),
            Err(e) => return e.into_response(),
        };
        if let Some(p) = permission
            && let Err(e) = unrestricted(&staff).and_then(|()| staff.require(p))
        {
            return e.into_response();
        }
        parts.extensions.insert(Authorized(staff.0));
    }
    next.run(Request::from_parts(parts, body)).await
}

/// Refuses a session that must first change its password or enrol in MFA, with the restriction's code.
fn unrestricted(principal: &Principal) -> Result<(), ApiError> {
    let Some(r) = principal.restriction else { return Ok(()) };
    let message = match r {
        kefu_domain::security::Restriction::PasswordChange => {
            "your password has expired: change it with POST /v1/me/password first"
        }
        kefu_domain::security::Restriction::MfaEnrollment => {
            "this tenant requires MFA: enrol with POST /v1/me/mfa/totp and confirm it first"
        }
    };
    Err(ApiError::new(StatusCode::FORBIDDEN, r.code(), message))
}

/// The staff caller of a route that declares staff access: the one [`authorize`] authenticated, or (on a
/// route open to other callers too) authenticated now. A route that declares no staff access (or a router
/// without [`authorize`]) is a server fault: refused with 500 and logged, never let through unchecked.
async fn declared_caller(parts: &mut Parts, app: &App) -> Result<Principal, ApiError> {
    if let Some(Authorized(p)) = parts.extensions.get::<Authorized>() {
        return Ok(p.clone());
    }
    match parts.extensions.get::<RouteDeclared>() {
        Some(RouteDeclared(Declared::StaffOrOther)) => principal(parts, app).await,
        declared => {
            let route = parts.extensions.get::<MatchedPath>().map_or("(unmatched)", MatchedPath::as_str);
            tracing::error!(method = %parts.method, route, ?declared, "a staff handler on a route that declares no staff access");
            Err(ApiError::internal())
        }
    }
}

impl FromRequestParts<App> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let principal = declared_caller(parts, app).await?;
        unrestricted(&principal)?;
        Ok(Staff(principal))
    }
}

/// A signed-in staff member, even one whose session is restricted (expired password, MFA enrolment
/// pending): for the few routes that let such a session lift its restriction (`/v1/me`, password change,
/// MFA enrolment, own sessions, logout). API keys are refused: these routes are about a person.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Principal);

impl std::ops::Deref for SignedIn {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl FromRequestParts<App> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let principal = declared_caller(parts, app).await?;
        if matches!(principal.caller, Caller::ApiKey(_)) {
            return Err(ApiError::forbidden("this route is for a signed-in person, not an API key"));
        }
        Ok(SignedIn(principal))
    }
}
