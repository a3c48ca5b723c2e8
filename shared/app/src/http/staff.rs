//! The permission-and-tenant check every staff route uses: the `Staff` extractor authenticates the bearer
//! token; `require` checks one permission. Handlers look ids up under `staff.tenant_id` only, so another
//! tenant's ids are simply not found.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use kefu_domain::Permission;

use super::ApiError;
use crate::App;
use crate::auth::{self, Principal};

/// An authenticated staff member.
#[derive(Debug, Clone)]
pub struct Staff(pub Principal);

impl std::ops::Deref for Staff {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.0
    }
}

impl Staff {
    /// Refuses with 403 `forbidden` unless the caller's role has `p`.
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.permissions.has(p) {
            Ok(())
        } else {
            tracing::info!(tenant_id = %self.tenant_id, agent_id = %self.agent_id, permission = p.name(), "permission denied");
            Err(ApiError::forbidden(format!("this needs the `{}` permission", p.name())))
        }
    }
}

/// The bearer token of a request, if any.
pub fn bearer(parts: &Parts) -> Option<&str> {
    let v = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

impl FromRequestParts<App> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(ApiError::unauthenticated)?;
        let principal = auth::authenticate(app, token).await?;
        let span = tracing::Span::current();
        span.record("tenant_id", tracing::field::display(&principal.tenant_id));
        span.record("agent_id", tracing::field::display(&principal.agent_id));
        Ok(Staff(principal))
    }
}
