//! Agents (`agents.manage`): accounts with their routing settings, status, last sign-in and load; disabling;
//! and the caller's own presence (`PUT /v1/me/status`, any staff member).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::assignment::agents::{self, AgentAdminView, AgentPatch, NewAgent};
use kefu_app::assignment::{self, AssignmentError};
use kefu_app::audit::{AuditEntry, Outcome};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_app::identity::access::{self, AccessError};
use kefu_domain::AgentId;
use kefu_domain::routing::AgentStatus;
use serde::{Deserialize, Serialize};
use serde_json::json;

type E = kefu_app::http::error::ErrorEnvelope;

/// An agent id from the path: one of another shape cannot exist, so it is simply not found.
pub(crate) fn agent_id(id: &str) -> Result<AgentId, ApiError> {
    AgentId::parse(id).ok_or_else(ApiError::not_found)
}

/// Maps a refusal of the granting rules to 403, audited as a denial (like a missing permission); other
/// errors answer as they always do.
pub(crate) fn denied(staff: &Staff) -> impl Fn(AccessError) -> ApiError + '_ {
    move |e| match e {
        AccessError::Refused(r) => staff.refuse(access::refused_permission(&r), r.to_string()),
        e => e.into(),
    }
}

/// The account `id` names, with what it holds now; 404 when the tenant has none.
async fn target(app: &App, staff: &Staff, a: &AgentId) -> Result<access::Target, ApiError> {
    access::target(app, &staff.tenant_id, a).await?.ok_or_else(ApiError::not_found)
}

/// The audit entry of a change the caller makes (`agent.create`, `agent.update`, `group.*`): who, from where,
/// and `detail`. The service that makes the change names its target and commits the entry with it.
pub(crate) fn audit_entry(staff: &Staff, ip: &ClientIp, action: &str, detail: serde_json::Value) -> AuditEntry {
    AuditEntry::new(&staff.tenant_id, action, Outcome::Success).by(&staff.actor()).ip(ip.0).detail(detail)
}

/// The tenant's agents with status, last sign-in and active conversations.
#[utoipa::path(get, path = "/v1/agents", tag = "agents", security(("bearer" = ["agents.manage"])),
    params(("limit" = Option<u32>, Query, description = "1..=200, default 50"), ("cursor" = Option<String>, Query, description = "from next_cursor")),
    responses((status = 200, body = ListPage<AgentAdminView>), (status = 403, body = E)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    params: ListParams,
) -> Result<ApiJson<ListPage<AgentAdminView>>, ApiError> {
    let (items, next) = agents::list_agents(&app, &staff.tenant_id, &params).await?;
    Ok(ApiJson(ListPage::new(items, next)))
}

/// Creates an agent.
#[utoipa::path(post, path = "/v1/agents", tag = "agents", security(("bearer" = ["agents.manage"])), request_body = NewAgent,
    responses((status = 201, body = AgentAdminView), (status = 400, body = E), (status = 403, body = E), (status = 409, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    ApiJson(req): ApiJson<NewAgent>,
) -> Result<(StatusCode, ApiJson<AgentAdminView>), ApiError> {
    access::may_give_role(&app, &staff.tenant_id, &staff, &req.role_id).await.map_err(denied(&staff))?;
    let groups: Vec<&str> = req.group_ids.iter().map(String::as_str).collect();
    access::may_add_to_groups(&app, &staff.tenant_id, &staff, &groups).await.map_err(denied(&staff))?;
    let entry = audit_entry(&staff, &ip, "agent.create", json!({}));
    let view = agents::create_agent(&app, &staff.tenant_id, req, Some(entry)).await?;
    Ok((StatusCode::CREATED, ApiJson(view)))
}

/// One agent.
#[utoipa::path(get, path = "/v1/agents/{id}", tag = "agents", security(("bearer" = ["agents.manage"])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = AgentAdminView), (status = 403, body = E), (status = 404, body = E)))]
pub async fn get_one(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<AgentAdminView>, ApiError> {
    Ok(ApiJson(agents::get_agent(&app, &staff.tenant_id, &agent_id(&id)?).await?))
}

/// The refusal of a `password` in a PATCH of one's own account.
const OWN_PASSWORD: &str =
    "change your own password with POST /v1/me/password: it asks for the current one (password is refused here)";

/// Changes an agent: only the fields present change. Changing the email, password or role of an account that
/// holds a permission the caller lacks is 403, as is giving a role with such a permission or joining a group
/// whose conversations the caller does not see; a change that would leave the tenant without an enabled
/// administrator is 409. A `password` for the caller's own account is 403 too: that goes through
/// `POST /v1/me/password`, which asks for the current password and counts wrong ones toward the lockout (else a
/// stolen session could set a new password and keep the account). An email change is mailed to the old address; the audit entry names the old and new
/// role, and the old and new email masked (with their SHA-256).
#[utoipa::path(patch, path = "/v1/agents/{id}", tag = "agents", security(("bearer" = ["agents.manage"])), request_body = AgentPatch,
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = AgentAdminView), (status = 400, body = E), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AgentPatch>,
) -> Result<ApiJson<AgentAdminView>, ApiError> {
    let a = agent_id(&id)?;
    let changed: Vec<&str> = [
        ("email", req.email.is_some()),
        ("name", req.name.is_some()),
        ("password", req.password.is_some()),
        ("role_id", req.role_id.is_some()),
        ("group_ids", req.group_ids.is_some()),
        ("skills", req.skills.is_some()),
        ("max_concurrent", req.max_concurrent.is_some()),
        ("schedule_id", req.schedule_id.is_some()),
    ]
    .into_iter()
    .filter_map(|(f, on)| on.then_some(f))
    .collect();
    if req.password.is_some() && a == staff.agent_id {
        return Err(ApiError::forbidden(OWN_PASSWORD));
    }
    let before = target(&app, &staff, &a).await?;
    let touches_access = req.email.is_some() || req.password.is_some() || req.role_id.is_some();
    access::may_change(&app, &staff.tenant_id, &staff, &before, touches_access, req.role_id.as_deref())
        .await
        .map_err(denied(&staff))?;
    if let Some(wanted) = &req.group_ids {
        let had = access::groups_of_account(&before.account);
        let joining = access::joined(&had, wanted);
        access::may_add_to_groups(&app, &staff.tenant_id, &staff, &joining).await.map_err(denied(&staff))?;
    }
    let entry = audit_entry(&staff, &ip, "agent.update", json!({"fields": changed}));
    let view = agents::update_agent(&app, &staff.tenant_id, &a, req, entry).await?;
    Ok(ApiJson(view))
}

/// What disabling did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Disabled {
    /// The agent, now disabled.
    pub agent: AgentAdminView,
    /// Its open conversations put back in the queue (and routed to others when they can take them).
    pub requeued: usize,
}

/// Disables an agent: it cannot sign in, is taken out of routing, and its open conversations are requeued.
#[utoipa::path(post, path = "/v1/agents/{id}/disable", tag = "agents", security(("bearer" = ["agents.manage"])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = Disabled), (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn disable(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<Disabled>, ApiError> {
    let a = agent_id(&id)?;
    let before = target(&app, &staff, &a).await?;
    access::may_change(&app, &staff.tenant_id, &staff, &before, true, None).await.map_err(denied(&staff))?;
    if a == staff.agent_id {
        return Err(ApiError::conflict("you cannot disable your own account"));
    }
    let entry = audit_entry(&staff, &ip, "agent.update", json!({}));
    let requeued = agents::disable_agent(&app, &staff.tenant_id, &a, entry).await?;
    Ok(ApiJson(Disabled { agent: agents::get_agent(&app, &staff.tenant_id, &a).await?, requeued }))
}

/// Enables a disabled agent: it may sign in again and is routed conversations once it comes online. Like
/// disabling, it needs every permission the account holds (enabling an account above the caller would hand
/// back access the caller does not have).
#[utoipa::path(post, path = "/v1/agents/{id}/enable", tag = "agents", security(("bearer" = ["agents.manage"])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = AgentAdminView), (status = 403, body = E), (status = 404, body = E)))]
pub async fn enable(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<AgentAdminView>, ApiError> {
    let a = agent_id(&id)?;
    let before = target(&app, &staff, &a).await?;
    access::may_change(&app, &staff.tenant_id, &staff, &before, true, None).await.map_err(denied(&staff))?;
    let entry = audit_entry(&staff, &ip, "agent.update", json!({}));
    let view = agents::enable_agent(&app, &staff.tenant_id, &a, entry).await?;
    Ok(ApiJson(view))
}

/// `PUT /v1/me/status` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    /// `online` | `away` | `offline`.
    pub status: String,
}

/// The caller's presence.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusAnswer {
    /// The status now.
    pub status: String,
}

/// Sets the caller's presence; coming online lets the waiting queue drain to it.
#[utoipa::path(put, path = "/v1/me/status", tag = "agents", security(("bearer" = [])), request_body = StatusRequest,
    responses((status = 200, body = StatusAnswer), (status = 400, body = E), (status = 401, body = E)))]
pub async fn set_my_status(
    State(app): State<App>,
    staff: Staff,
    ApiJson(req): ApiJson<StatusRequest>,
) -> Result<ApiJson<StatusAnswer>, ApiError> {
    let status = AgentStatus::parse(&req.status)
        .ok_or_else(|| ApiError::validation("status", "must be online, away or offline"))?;
    match assignment::set_agent_status(&app, &staff.tenant_id, &staff.agent_id, status).await {
        Ok(()) => Ok(ApiJson(StatusAnswer { status: status.as_str().to_owned() })),
        Err(AssignmentError::AgentNotFound) => Err(ApiError::unauthenticated()),
        Err(e) => Err(e.into()),
    }
}

/// What ending an agent's sessions did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionsEnded {
    /// Sessions ended; every token the agent held stops working at once.
    pub revoked: usize,
}

/// Ends every session of an agent (e.g. a lost laptop); the agent signs in again. Like disabling, it needs
/// every permission the account holds (403 otherwise: a lower account cannot sign a higher one out everywhere);
/// one's own account is allowed.
#[utoipa::path(delete, path = "/v1/agents/{id}/sessions", tag = "agents", security(("bearer" = ["agents.manage"])),
    params(("id" = String, Path, description = "agent id")),
    responses((status = 200, body = SessionsEnded), (status = 403, body = E), (status = 404, body = E)))]
pub async fn end_sessions(
    State(app): State<App>,
    staff: Staff,
    ip: ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<SessionsEnded>, ApiError> {
    let a = agent_id(&id)?;
    let before = target(&app, &staff, &a).await?;
    access::may_change(&app, &staff.tenant_id, &staff, &before, true, None).await.map_err(denied(&staff))?;
    let entry = audit_entry(&staff, &ip, "agent.update", json!({})).target("agent", &a);
    let revoked = kefu_app::identity::sessions::revoke_all(&app, &staff.tenant_id, &a, None, Some(entry)).await?;
    Ok(ApiJson(SessionsEnded { revoked }))
}
