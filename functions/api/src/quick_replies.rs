//! Quick replies: any signed-in staff member lists, searches and renders the replies it sees (its own personal
//! ones and the team's) and writes its personal ones; team replies are written by holders of
//! `quick_replies.manage` (a data-dependent check: the scope is in the body or the stored reply). Another
//! agent's personal reply answers 404, exactly like another tenant's.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use kefu_app::App;
use kefu_app::conversations::{self, ConversationView, Viewer};
use kefu_app::customers::{self, CustomerView, sees_sensitive};
use kefu_app::http::list::ListPage;
use kefu_app::http::{ApiError, ApiJson, Staff};
use kefu_app::quick_replies::{self, QuickReplyBody, QuickReplyError, QuickReplyFilter, QuickReplyView};
use kefu_domain::quick_reply::Variable;
use kefu_domain::{CustomerId, Permission};
use serde::{Deserialize, Serialize};

type E = kefu_app::http::error::ErrorEnvelope;

/// A refusal to write team replies is audited like every other permission refusal.
fn refused(staff: &Staff) -> impl Fn(QuickReplyError) -> ApiError + '_ {
    move |e| match e {
        QuickReplyError::TeamNeedsManage => staff.refuse(Permission::QuickRepliesManage, e.to_string()),
        other => other.into(),
    }
}

/// `GET /v1/quick_replies` parameters.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Words of the title or content (Chinese too: `退款` finds "申请退款流程").
    pub q: Option<String>,
    /// Only this category.
    pub category: Option<String>,
}

/// The quick replies the caller sees: its personal ones, then the team's, each by title.
#[utoipa::path(get, path = "/v1/quick_replies", tag = "quick_replies", security(("bearer" = [])), params(ListQuery),
    responses((status = 200, body = ListPage<QuickReplyView>), (status = 401, body = E)))]
pub async fn list(
    State(app): State<App>,
    staff: Staff,
    Query(q): Query<ListQuery>,
) -> Result<ApiJson<ListPage<QuickReplyView>>, ApiError> {
    let filter = QuickReplyFilter { q: q.q, category: q.category };
    Ok(ApiJson(ListPage::new(quick_replies::list(&app, &staff, &filter).await?, None)))
}

/// Creates a quick reply: personal by default; `team` needs `quick_replies.manage` (403 otherwise). A shortcut
/// already used in that scope is 409.
#[utoipa::path(post, path = "/v1/quick_replies", tag = "quick_replies", security(("bearer" = [])),
    request_body = QuickReplyBody,
    responses((status = 201, body = QuickReplyView), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E), (status = 409, body = E)))]
pub async fn create(
    State(app): State<App>,
    staff: Staff,
    ApiJson(body): ApiJson<QuickReplyBody>,
) -> Result<(StatusCode, ApiJson<QuickReplyView>), ApiError> {
    let reply =
        quick_replies::create(&app, &staff, &body, staff.audit("quick_reply.create")).await.map_err(refused(&staff))?;
    Ok((StatusCode::CREATED, ApiJson(reply)))
}

/// Replaces a quick reply's title, content, category and shortcut (its scope stays). Its owner changes a
/// personal one; a team one needs `quick_replies.manage`.
#[utoipa::path(put, path = "/v1/quick_replies/{id}", tag = "quick_replies", security(("bearer" = [])),
    request_body = QuickReplyBody, params(("id" = String, Path, description = "quick reply id")),
    responses((status = 200, body = QuickReplyView), (status = 400, body = E), (status = 401, body = E),
              (status = 403, body = E), (status = 404, body = E), (status = 409, body = E)))]
pub async fn update(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<QuickReplyBody>,
) -> Result<ApiJson<QuickReplyView>, ApiError> {
    let audit = staff.audit("quick_reply.update");
    Ok(ApiJson(quick_replies::update(&app, &staff, &id, &body, audit).await.map_err(refused(&staff))?))
}

/// Deletes a quick reply (its owner, or a holder of `quick_replies.manage` for a team one).
#[utoipa::path(delete, path = "/v1/quick_replies/{id}", tag = "quick_replies", security(("bearer" = [])),
    params(("id" = String, Path, description = "quick reply id")),
    responses((status = 204), (status = 401, body = E), (status = 403, body = E), (status = 404, body = E)))]
pub async fn delete(State(app): State<App>, staff: Staff, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let audit = staff.audit("quick_reply.delete");
    quick_replies::delete(&app, &staff, &id, audit).await.map_err(refused(&staff))?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/quick_replies/{id}/render` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    /// The conversation the reply goes to (one the caller sees).
    pub conversation_id: String,
}

/// A rendered quick reply.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    /// The content with its variables filled in, as the caller may see them (the customer's email masked
    /// without `customers.view_sensitive`); a missing value takes its fallback.
    pub content: String,
}

/// Fills in a quick reply's variables for a conversation the caller sees (404 for one it does not).
#[utoipa::path(post, path = "/v1/quick_replies/{id}/render", tag = "quick_replies", security(("bearer" = [])),
    request_body = RenderRequest, params(("id" = String, Path, description = "quick reply id")),
    responses((status = 200, body = Rendered), (status = 400, body = E), (status = 401, body = E),
              (status = 404, body = E)))]
pub async fn render(
    State(app): State<App>,
    staff: Staff,
    Path(id): Path<String>,
    ApiJson(req): ApiJson<RenderRequest>,
) -> Result<ApiJson<Rendered>, ApiError> {
    let (_, reply) = quick_replies::load_visible(&app, &staff, &id).await?;
    let viewer = Viewer::of(&app, &staff).await?;
    let conversation = conversations::load_visible(&app, &viewer, &req.conversation_id).await?;
    let conversation = ConversationView::of(&conversation);
    let needs = quick_replies::needs(&reply);
    let mut values = BTreeMap::new();
    values.insert(Variable::ConversationId, conversation.id.clone());
    if needs.contains(&Variable::CustomerName) || needs.contains(&Variable::CustomerEmail) {
        let customer = match CustomerId::parse(&conversation.customer_id) {
            Some(cu) => customers::load(&app, &staff.tenant_id, &cu).await?,
            None => None,
        };
        if let Some(c) = customer.map(|c| CustomerView::of(&c, sees_sensitive(&staff))) {
            values.extend(c.name.map(|n| (Variable::CustomerName, n)));
            values.extend(c.email.map(|e| (Variable::CustomerEmail, e)));
        }
    }
    if needs.contains(&Variable::AgentName) {
        let me = kefu_app::identity::auth::me(&app, &staff).await?;
        values.insert(Variable::AgentName, me.name);
    }
    Ok(ApiJson(Rendered { content: quick_replies::render(&reply, &values) }))
}
