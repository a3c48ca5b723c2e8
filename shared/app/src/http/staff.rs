//! The permission-and-tenant check every staff route uses: the `Staff` extractor authenticates the bearer
//! token (or an integration's `X-Api-Key`), checks the tenant's IP allowlist and refuses restricted sessions;
//! `require` checks one permission. Handlers look ids up under `staff.tenant_id` only, so another tenant's
//! ids are simply not found.
//!
//! A refusal by `require` is also written to the audit log (outcome `denied`): `require` notes it in the
//! request's denial slot, and the layer [`record_denials`] (installed by `http::finish`, which has the app)
//! records it once the answer is ready.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::Response;
use kefu_domain::{Permission, TenantId};

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
    /// Refuses with 403 `forbidden` unless the caller's role (or key) has `p`; the refusal is audited.
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
    let route = format!("{} {}", req.method(), req.uri().path());
    let slot = DenialSlot::default();
    let res = DENIALS.scope(slot.clone(), next.run(req)).await;
    let denial = slot.0.lock().ok().and_then(|mut d| d.take());
    if let Some(d) = denial {
        let entry = AuditEntry::new(&d.tenant_id, "permission.denied", Outcome::Denied)
            .by(&d.actor)
            .target("route", route)
            .ip(d.ip)
            .detail(serde_json::json!({"permission": d.permission}));
        crate::audit::note(&app, entry).await;
    }
    res
}

/// The permission each staff route declares in its OpenAPI annotation (`security(("bearer" = ["p"]))`), by
/// method and path template.
type Declared = HashMap<(String, String), Permission>;

static DECLARED: OnceLock<Declared> = OnceLock::new();

/// Registers the permissions the routes of an OpenAPI document declare, so the [`Staff`] extractor enforces
/// each route's declared permission before the handler runs (and before its body is parsed: a caller without
/// the permission learns nothing from validation errors). Handlers still call `require` themselves; this
/// makes the annotation and the check one thing. Called once by the API's router; later calls are ignored.
pub fn declare_permissions(doc: &utoipa::openapi::OpenApi) {
    DECLARED.get_or_init(|| {
        let mut map = Declared::new();
        let json = serde_json::to_value(doc).unwrap_or_default();
        for (path, ops) in json["paths"].as_object().into_iter().flatten() {
            for (method, op) in ops.as_object().into_iter().flatten() {
                let named = op["security"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|req| req.get("bearer")?.as_array()?.first()?.as_str())
                    .find_map(Permission::parse);
                if let Some(p) = named {
                    map.insert((method.to_ascii_uppercase(), path.clone()), p);
                }
            }
        }
        map
    });
}

/// The permission the matched route declares, if any.
fn declared(parts: &Parts) -> Option<Permission> {
    let path = parts.extensions.get::<MatchedPath>()?;
    DECLARED.get()?.get(&(parts.method.as_str().to_owned(), path.as_str().to_owned())).copied()
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
    Ok(principal)
}

impl FromRequestParts<App> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let principal = principal(parts, app).await?;
        if let Some(r) = principal.restriction {
            let message = match r {
                kefu_domain::security::Restriction::PasswordChange => {
                    "your password has expired: change it with POST /v1/me/password first"
                }
                kefu_domain::security::Restriction::MfaEnrollment => {
                    "this tenant requires MFA: enrol with POST /v1/me/mfa/totp and confirm it first"
                }
            };
            return Err(ApiError::new(StatusCode::FORBIDDEN, r.code(), message));
        }
        let staff = Staff(principal);
        if let Some(p) = declared(parts) {
            staff.require(p)?;
        }
        Ok(staff)
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
        let principal = principal(parts, app).await?;
        if matches!(principal.caller, Caller::ApiKey(_)) {
            return Err(ApiError::forbidden("this route is for a signed-in person, not an API key"));
        }
        Ok(SignedIn(principal))
    }
}
