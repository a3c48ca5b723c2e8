//! The agents' conversation API: the inbox with its filters, one conversation with its routing decision, the
//! history by window, replies and internal notes, tags, deletion, and (through the assignment module) assign,
//! transfer, close and reopen.
//!
//! Visibility: `conversations.view_all` sees every conversation of the tenant; `conversations.view_group` those
//! of its agent groups; everyone sees the ones assigned to them. A conversation the caller may not see answers
//! 404, exactly like another tenant's.
//!
//! Acting: replying needs `conversations.reply` or the assignment; closing, reopening and retagging need the
//! assignment or `conversations.assign` (a colleague of the same group may see and answer, not close).

use crate::query::{nonempty, query_params};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::approvals;
use kefu_app::assignment;
use kefu_app::audit::{self};
use kefu_app::conversations::{
    self, AssigneeFilter, ConversationDetail, ConversationView, ListFilter, MessageView, Viewer,
};
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, Staff};
use kefu_app::tags;
use kefu_domain::{
    ConversationId, ConversationStatus, GroupId, MessageContent, Permission, SensitiveOperation, TagName, TagTarget,
};
use serde::Deserialize;

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// `GET /v1/conversations` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// `open` | `queued` | `closed` (`queued`: every conversation waiting without an assignee).
    pub status: Option<String>,
    /// `me` | `unassigned` | an agent id.
    pub assignee: Option<String>,
    /// A tag name.
    pub tag: Option<String>,
    /// An agent group id.
    pub group_id: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

impl ListQuery {
    fn filter(&self) -> Result<ListFilter, ApiError> {
        Ok(ListFilter {
            status: nonempty(&self.status).map(|s| ConversationStatus::parse_shown(&s, "status")).transpose()?,
            assignee: nonempty(&self.assignee).map(|s| AssigneeFilter::parse(&s)).transpose()?,
            tag: nonempty(&self.tag).map(|s| TagName::parse(&s, "tag")).transpose()?,
            group_id: nonempty(&self.group_id)
                .map(|s| GroupId::parse(&s).ok_or_else(|| ApiError::validation("group_id", "must be a group id")))
                .transpose()?,
        })
    }
}

/// The conversations the caller may see, by latest activity (newest first), filtered.
#[utoipa::path(get, path = "/v1/conversations", tag = "conversations", params(ListQuery),
    security(("bearer" = [])),
    responses((status = 200, body = ListPage<ConversationView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<ConversationView>>, ApiError> {
    let q = query_params(q)?;
    let filter = q.filter()?;
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let viewer = Viewer::of(&app, &staff).await?;
    Ok(ApiJson(conversations::list(&app, &viewer, &filter, &params).await?))
}

/// One conversation with its last routing decision.
#[utoipa::path(get, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 200, body = ConversationDetail), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    let viewer = Viewer::of(&app, &staff).await?;
    let item = conversations::load_visible(&app, &viewer, &id).await?;
    Ok(ApiJson(ConversationDetail::load(&app, &item).await?))
}

/// Deletes a conversation and its messages. When the tenant puts `conversation.delete` behind an approval, it
/// answers 202 with the approval request instead, and the deletion runs once a second person approves.
#[utoipa::path(delete, path = "/v1/conversations/{id}", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = ["conversations.delete"])),
    responses((status = 204), (status = 202, body = approvals::Pending), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<axum::response::Response, ApiError> {
    use axum::response::IntoResponse;
    let viewer = Viewer::of(&app, &staff).await?;
    let item = conversations::load_visible(&app, &viewer, &id).await?;
    if approvals::required(&app, &staff.tenant_id, SensitiveOperation::DeleteConversation).await? {
        let target = item.conversation_id.to_string();
        let pending =
            approvals::request(&app, &staff, SensitiveOperation::DeleteConversation, &target, serde_json::json!({}))
                .await?;
        return Ok((StatusCode::ACCEPTED, ApiJson(pending)).into_response());
    }
    conversations::release_before_delete(&app, &staff, &item).await?;
    conversations::delete(&app, &staff.tenant_id, &item, staff.audit("conversation.delete").ip(ip)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/conversations/{id}/messages` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryQuery {
    /// The window: the last N days (default 7, at most 366).
    pub days: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
    /// `true`: recalled messages keep their content (holders of `audit.view` only; 403 for others).
    pub include_recalled: Option<String>,
}

/// The conversation's messages of the last `days` days, oldest first, internal notes included; personal
/// data in the text is masked for readers without `customers.view_sensitive`. Each read is audited
/// (`conversation.read`).
#[utoipa::path(get, path = "/v1/conversations/{id}/messages", tag = "conversations",
    params(("id" = String, Path, description = "conversation id"), HistoryQuery), security(("bearer" = [])),
    responses((status = 200, body = ListPage<MessageView>), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn messages(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    q: Result<Query<HistoryQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<ApiJson<ListPage<MessageView>>, ApiError> {
    let q = query_params(q)?;
    let days = match q.days.as_deref() {
        None => None,
        Some(d) => Some(d.trim().parse::<u32>().map_err(|_| ApiError::validation("days", "must be a whole number"))?),
    };
    let days = kefu_domain::conversation::parse_window_days(days)?;
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    let include_recalled = match nonempty(&q.include_recalled).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(ApiError::validation("include_recalled", "must be true or false")),
    };
    let viewer = Viewer::of(&app, &staff).await?;
    let item = conversations::load_visible(&app, &viewer, &id).await?;
    if include_recalled {
        staff.require(Permission::AuditView)?;
    }
    let page = conversations::history(&app, &viewer, &item, days, &params, include_recalled).await?;
    audit::record(
        &app,
        staff
            .audit("conversation.read")
            .target("conversation", &id)
            .ip(ip)
            .detail(serde_json::json!({"days": days, "messages": page.items.len()})),
    )
    .await?;
    Ok(ApiJson(page))
}

/// `POST /v1/conversations/{id}/messages` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyRequest {
    /// 1..=4000 characters; may be empty when the reply carries attachments.
    #[serde(default)]
    pub content: String,
    /// An internal note, for staff only (default false).
    #[serde(default)]
    pub internal: bool,
    /// The caller's uploads in this conversation (`POST /v1/conversations/{id}/attachments`) the reply carries.
    #[serde(default)]
    pub attachment_ids: Vec<String>,
}

/// Replies to the visitor, or adds an internal note the visitor never sees. Needs `conversations.reply` and a
/// conversation the caller can see, or the conversation being assigned to the caller.
#[utoipa::path(post, path = "/v1/conversations/{id}/messages", tag = "conversations", request_body = ReplyRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 201, body = MessageView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn reply(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<ReplyRequest>,
) -> Result<(StatusCode, ApiJson<MessageView>), ApiError> {
    let conversation = handled(&app, &staff, &id).await?;
    let content = if req.attachment_ids.is_empty() {
        MessageContent::parse(&req.content, "content")?
    } else {
        MessageContent::parse_or_empty(&req.content, "content")?
    };
    let message =
        conversations::reply_with(&app, &staff, &conversation, &content, req.internal, &req.attachment_ids).await?;
    Ok((StatusCode::CREATED, ApiJson(message)))
}

/// `PUT /v1/conversations/{id}/tags` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TagsRequest {
    /// Tag names (replace the list; at most 20).
    pub tags: Vec<String>,
}

/// Replaces the conversation's tags (by name). Only its assignee, or a holder of `conversations.assign`, may
/// (403 otherwise). Once the tenant has a tag registry, each tag added must be registered with a scope that
/// allows conversations (400 `validation_failed` on `tags[i]` otherwise); tags it already carries may stay.
#[utoipa::path(put, path = "/v1/conversations/{id}/tags", tag = "conversations", request_body = TagsRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 200, body = ConversationView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn set_tags(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<TagsRequest>,
) -> Result<ApiJson<ConversationView>, ApiError> {
    let conversation = acted_on(&app, &staff, &id).await?;
    let current = conversations::load(&app, &staff.tenant_id, &conversation)
        .await?
        .map(|c| ConversationView::of(&c).tags)
        .unwrap_or_default();
    let tags = tags::prepare_write(
        &app,
        &staff.tenant_id,
        TagTarget::Conversation,
        conversation.as_str(),
        &current,
        &req.tags,
    )
    .await?;
    let entry = staff.audit("conversation.update").ip(ip);
    let item = conversations::set_tags(&app, &staff.tenant_id, &conversation, &tags, entry).await?;
    Ok(ApiJson(ConversationView::of(&item)))
}

/// `POST /v1/conversations/{id}/assign` body: exactly one of the two.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignRequest {
    /// Assign to this agent (within its capacity).
    #[serde(default)]
    pub agent_id: Option<String>,
    /// Transfer to this agent group (routed again within it).
    #[serde(default)]
    pub group_id: Option<String>,
}

async fn detail(app: &App, staff: &Staff, id: &ConversationId) -> Result<ApiJson<ConversationDetail>, ApiError> {
    let item = conversations::load(app, &staff.tenant_id, id).await?.ok_or_else(ApiError::not_found)?;
    Ok(ApiJson(ConversationDetail::load(app, &item).await?))
}

/// Assigns the conversation to an agent, or transfers it to an agent group (routed again there). Routing
/// and capacity are the assignment module's: an agent at capacity answers 409.
#[utoipa::path(post, path = "/v1/conversations/{id}/assign", tag = "conversations", request_body = AssignRequest,
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = ["conversations.assign"])),
    responses((status = 200, body = ConversationDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn assign(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<AssignRequest>,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    let viewer = Viewer::of(&app, &staff).await?;
    conversations::load_visible(&app, &viewer, &id).await?;
    let conversation = ConversationId::parse(&id).ok_or_else(ApiError::not_found)?;
    let by = Some(&staff.agent_id);
    let to = serde_json::json!({"agent_id": req.agent_id, "group_id": req.group_id});
    let entry = Some(staff.audit("conversation.assign").ip(ip).detail(to));
    match (req.agent_id.as_deref(), req.group_id.as_deref()) {
        (Some(a), None) => {
            let agent = kefu_domain::AgentId::parse(a)
                .ok_or_else(|| ApiError::validation("agent_id", "no such agent, or it is disabled"))?;
            assignment::assign_to_agent_recorded(&app, &staff.tenant_id, &conversation, &agent, by, entry).await?;
        }
        (None, Some(g)) => {
            let group = GroupId::parse(g).ok_or_else(|| ApiError::validation("group_id", "no such group"))?;
            assignment::transfer_to_group_recorded(&app, &staff.tenant_id, &conversation, &group, by, entry).await?;
        }
        _ => return Err(ApiError::validation("agent_id", "send exactly one of agent_id and group_id")),
    }
    detail(&app, &staff, &conversation).await
}

/// Loads a conversation the caller may act on as its handler: visible to the caller, and either assigned to
/// the caller or the caller holds `conversations.reply`.
///
/// The answer depends on the conversation (its assignee), not on one permission, so these routes declare
/// `security(("bearer" = []))` and check here: an unknown or invisible conversation is 404 first, then a
/// caller that is neither its assignee nor holds `conversations.reply` is 403.
pub(crate) async fn handled(app: &App, staff: &Staff, id: &str) -> Result<ConversationId, ApiError> {
    let viewer = Viewer::of(app, staff).await?;
    let item = conversations::load_visible(app, &viewer, id).await?;
    if !viewer.is_assignee(&item) {
        staff.require(Permission::ConversationsReply)?;
    }
    ConversationId::parse(id).ok_or_else(ApiError::not_found)
}

/// Loads a conversation the caller may act on as a whole (close, reopen, tags): visible to the caller, and
/// either assigned to the caller (a closed conversation keeps its last assignee) or the caller holds
/// `conversations.assign`, the permission of those who run the floor. A colleague who merely sees it (same
/// group) may answer it but not close, reopen or retag it.
///
/// The answer depends on the conversation, so these routes declare `security(("bearer" = []))` and check
/// here: an unknown or invisible conversation is 404 first, then anyone else is 403 (audited as a denial).
async fn acted_on(app: &App, staff: &Staff, id: &str) -> Result<ConversationId, ApiError> {
    let viewer = Viewer::of(app, staff).await?;
    let item = conversations::load_visible(app, &viewer, id).await?;
    if !viewer.is_assignee(&item) && !staff.permissions.has(Permission::ConversationsAssign) {
        return Err(staff.refuse(
            Permission::ConversationsAssign,
            "only the conversation's assignee, or a holder of `conversations.assign`, may close, reopen or tag it",
        ));
    }
    ConversationId::parse(id).ok_or_else(ApiError::not_found)
}

/// Closes the conversation: its agent's slot frees (the queue drains into it). Only its assignee, or a holder
/// of `conversations.assign`, may.
#[utoipa::path(post, path = "/v1/conversations/{id}/close", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 200, body = ConversationDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn close(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    transition(&app, &staff, ip, &id, Transition::Close).await
}

/// Reopens a closed conversation; it is routed again (sticky to its last agent when the tenant wants that).
/// Only its last assignee, or a holder of `conversations.assign`, may.
#[utoipa::path(post, path = "/v1/conversations/{id}/reopen", tag = "conversations",
    params(("id" = String, Path, description = "conversation id")), security(("bearer" = [])),
    responses((status = 200, body = ConversationDetail), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn reopen(
    State(app): State<App>,
    staff: Staff,
    ClientIp(ip): ClientIp,
    Path(id): Path<String>,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    transition(&app, &staff, ip, &id, Transition::Reopen).await
}

/// What a conversation's handler may do to it.
#[derive(Clone, Copy)]
enum Transition {
    Close,
    Reopen,
}

/// Closes or reopens a conversation the caller may act on ([`acted_on`]), through the assignment module (which frees or takes
/// an agent's slot), and records it in the audit log.
async fn transition(
    app: &App,
    staff: &Staff,
    ip: std::net::IpAddr,
    id: &str,
    to: Transition,
) -> Result<ApiJson<ConversationDetail>, ApiError> {
    let conversation = acted_on(app, staff, id).await?;
    let by = Some(&staff.agent_id);
    match to {
        Transition::Close => {
            let entry = Some(staff.audit("conversation.close").ip(ip));
            assignment::close_recorded(app, &staff.tenant_id, &conversation, by, entry).await?;
        }
        Transition::Reopen => {
            let entry = Some(staff.audit("conversation.reopen").ip(ip));
            assignment::reopen_recorded(app, &staff.tenant_id, &conversation, by, entry).await?;
        }
    }
    detail(app, staff, &conversation).await
}
