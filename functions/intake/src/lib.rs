//! `intake`: the visitor widget's endpoints (`/v1/widget/...`), the hot path.
//!
//! A visitor starts a conversation with the tenant's widget key and gets a visitor token; with it, it sends
//! messages and polls its conversation. A send costs one `GetItem` (the token), one conditional counter update
//! (the rate limit) and one transaction (message, conversation activity, outbox entry); everything else is the
//! pure [`kefu_app::conversations::widget::plan_send`], measured by `benches/intake.rs`. Right after the commit,
//! the message's frames are pushed to the assignee's connections (`kefu_app::realtime::deliver`), so the agent
//! does not wait for the queue hop; the `notify` consumer delivers them again as the at-least-once fallback.

use axum::Router;
use axum::extract::{Extension, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use kefu_app::App;
use kefu_app::blocks::{self, ActiveBlocks};
use kefu_app::conversations::MessageView;
use kefu_app::conversations::widget::{self, Sent, StartRequest, Started, Visitor};
use kefu_app::conversations::widget_settings::WidgetConfig;
use kefu_app::customers::pageviews::PageviewBody;
use kefu_app::http::access::RouteAccess;
use kefu_app::http::list::{ListPage, ListParams};
use kefu_app::http::{ApiError, ApiJson, ClientIp, JsonBytes, cors};
use kefu_app::plain_routes;
use serde::Deserialize;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

struct WidgetSecurity;

impl Modify for WidgetSecurity {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "widget_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-Widget-Key"))),
        );
        components.add_security_scheme(
            "visitor",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The widget's part of the OpenAPI document: its security schemes and tag.
#[derive(OpenApi)]
#[openapi(modifiers(&WidgetSecurity), tags((name = "widget", description = "the visitor widget (intake)")))]
pub struct WidgetDoc;

/// Every widget route but the upload (which has its own body limit), grouped by path as `utoipa_axum::routes!`
/// groups them, handed to `$with`: one list for the documented router ([`api`]) and the plain one that serves
/// ([`routes`]).
macro_rules! each_route {
    ($with:ident) => {
        $with! {
            [self::start_conversation],
            [self::config],
            [self::send_message, self::poll_messages],
            [self::pageview],
            [self::leave_message],
            [self::conversation],
            [self::typing],
            [self::read],
            [self::rating],
            [self::transcript],
            // Attachments (issue 15).
            [self::create_attachment],
            [self::download],
        }
    };
}

/// The local upload link takes files up to the largest size a tenant may allow.
fn upload_limit() -> axum::extract::DefaultBodyLimit {
    axum::extract::DefaultBodyLimit::max(
        usize::try_from(kefu_app::conversations::widget_settings::ATTACHMENT_MAX_BYTES_LIMIT).unwrap_or(usize::MAX),
    )
}

/// The widget routes with their OpenAPI descriptions (merged into the API's document).
pub fn api() -> OpenApiRouter<App> {
    macro_rules! documented {
        ($( [ $($h:tt)+ ] ),* $(,)?) => {
            OpenApiRouter::with_openapi(WidgetDoc::openapi()) $( .routes(routes!($($h)+)) )*
        };
    }
    each_route!(documented).merge(OpenApiRouter::new().routes(routes!(upload)).layer(upload_limit()))
}

/// The widget routes, before the shared layers (so `kefu serve` can merge them with the API's). Built without
/// the OpenAPI document (see [`kefu_app::plain_routes`]); the widget's routes declare no staff access, so
/// their table is not enforced here (the handlers check the widget key and the visitor's token).
pub fn routes() -> Router<App> {
    serving().0
}

/// The access table of the serving router (for the test that it equals the document's).
pub fn served_access() -> RouteAccess {
    serving().1
}

/// The serving router and the declarations of its routes, built without the document.
fn serving() -> (Router<App>, RouteAccess) {
    let (router, mut access, _) = each_route!(plain_routes);
    let (upload, upload_access, _): (Router<App>, _, _) = plain_routes!([self::upload]);
    access.merge(upload_access);
    (router.merge(upload.layer(upload_limit())), access)
}

/// The finished router this function serves.
pub fn router(app: App) -> Router {
    kefu_app::http::finish(routes(), app)
}

/// The visitor behind the request's bearer token (401 `unauthenticated` without a valid one; 403 `blocked` when
/// its customer or its IP is blocked).
pub struct VisitorAuth(pub Visitor);

impl axum::extract::FromRequestParts<App> for VisitorAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // The CORS check already resolved the token for a cross-origin request: do not read it twice.
        let visitor = match parts.extensions.get::<Visitor>() {
            Some(visitor) => visitor.clone(),
            None => {
                let token = kefu_app::http::staff::bearer(parts).ok_or_else(ApiError::unauthenticated)?;
                widget::authenticate_visitor(app, token).await?
            }
        };
        tracing::Span::current().record("tenant_id", tracing::field::display(&visitor.tenant_id));
        // A blocked customer, or a visitor from a blocked range, goes no further (nothing stored, nobody told).
        let ClientIp(ip) = ClientIp::from_request_parts(parts, app).await.unwrap_or_else(|e| match e {});
        let active = blocks::active(app, &visitor.tenant_id).await?;
        blocks::check(&active, &visitor.tenant_id, Some(&visitor.customer_id), ip, app.now())?;
        Ok(VisitorAuth(visitor))
    }
}

/// The tenant named by the request's `X-Widget-Key` (401 `unauthenticated` without a known one; 403 `blocked`
/// for a visitor from a blocked IP range).
pub struct WidgetTenant(pub kefu_domain::TenantId);

impl axum::extract::FromRequestParts<App> for WidgetTenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &App) -> Result<Self, Self::Rejection> {
        // The CORS check already resolved the key for a cross-origin request: do not read it twice.
        let tenant = match parts.extensions.get::<cors::WidgetKeyTenant>() {
            Some(t) => t.0.clone(),
            None => {
                let key = parts.headers.get("x-widget-key").and_then(|v| v.to_str().ok()).unwrap_or_default();
                widget::tenant_of_widget_key(app, key.trim()).await?.ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "unauthenticated",
                        "the X-Widget-Key header is missing or unknown",
                    )
                })?
            }
        };
        tracing::Span::current().record("tenant_id", tracing::field::display(&tenant));
        // A visitor from a blocked range goes no further; the active blocks stay with the request for the
        // handler's own check of who the visitor is (`start_conversation`).
        let ClientIp(ip) = ClientIp::from_request_parts(parts, app).await.unwrap_or_else(|e| match e {});
        let active = blocks::active(app, &tenant).await?;
        blocks::check(&active, &tenant, None, ip, app.now())?;
        parts.extensions.insert(active);
        Ok(WidgetTenant(tenant))
    }
}

/// What the widget shows before the visitor writes: title, colour, greeting, language, the pre-chat form, the
/// groups a visitor may choose, whether someone could take a chat now (`online`: working hours, and an online
/// agent with room or a queue), what it offers otherwise, typing preview and uploads.
#[utoipa::path(get, path = "/v1/widget/config", tag = "widget",
    security(("widget_key" = [])),
    params(("X-Widget-Key" = String, Header, description = "the tenant's widget key")),
    responses((status = 200, body = WidgetConfig), (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn config(
    State(app): State<App>,
    WidgetTenant(tenant): WidgetTenant,
) -> Result<ApiJson<WidgetConfig>, ApiError> {
    Ok(ApiJson(kefu_app::conversations::widget_settings::config(&app, &tenant).await?))
}

/// Starts a conversation: the widget key names the tenant; a returning `external_id` maps to the same
/// customer; the customer's group gives the conversation its priority. At most 60 starts a minute per IP and
/// tenant. A blocked visitor (by IP, or a returning `external_id` whose customer is blocked) gets 403 `blocked`.
#[utoipa::path(post, path = "/v1/widget/conversations", tag = "widget", request_body = StartRequest,
    security(("widget_key" = [])),
    params(("X-Widget-Key" = String, Header, description = "the tenant's widget key")),
    responses((status = 201, body = Started), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 429, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn start_conversation(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    WidgetTenant(tenant): WidgetTenant,
    Extension(active): Extension<ActiveBlocks>,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, ApiJson<Started>), ApiError> {
    let req: StartRequest = kefu_app::http::json::parse(&body)?;
    // A returning visitor whose customer is blocked is refused before anything is found, made or counted.
    blocks::check_external_id(&app, &active, &tenant, req.visitor.external_id.as_deref(), ip).await?;
    let started = widget::start(&app, &tenant, &ip.to_string(), &req).await?;
    tracing::info!(tenant_id = %tenant, conversation_id = %started.conversation_id, "conversation started");
    Ok((StatusCode::CREATED, ApiJson(started)))
}

/// Sends the visitor's message (1..=4000 characters). With `Idempotency-Key`, a retry stores nothing new and
/// answers the first send's id. At most 30 messages a minute per visitor token. A message to a closed
/// conversation reopens it.
#[utoipa::path(post, path = "/v1/widget/messages", tag = "widget", request_body = widget::SendRequest,
    security(("visitor" = [])),
    params(("Idempotency-Key" = Option<String>, Header, description = "makes a retried send store one message")),
    responses((status = 201, body = Sent), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 404, body = kefu_app::http::error::ErrorEnvelope),
              (status = 409, body = kefu_app::http::error::ErrorEnvelope),
              (status = 429, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn send_message(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, ApiJson<Sent>), ApiError> {
    let key = match headers.get("idempotency-key") {
        Some(v) => Some(v.to_str().map_err(|_| ApiError::validation("Idempotency-Key", "must be visible ASCII"))?),
        None => None,
    };
    let count = message_counter(&app, &visitor).await?;
    let stored = widget::send_stored(&app, &visitor, key, &body, Some(&*count)).await?;
    if let Some(mut event) = stored.event {
        let (pushed, automation_idle) =
            tokio::join!(push_now(&app, &event, stored.assignee.as_ref()), automation_idle(&app, &event));
        event.pushed = pushed;
        event.automation_idle = automation_idle;
        kefu_app::plumbing::outbox::publish(&app, std::slice::from_ref(&event)).await;
    }
    Ok((StatusCode::CREATED, ApiJson(stored.sent)))
}

/// Whether the `automation` consumer has nothing to do with a just-committed message (no timer to arm, no rule
/// of its event: `kefu_app::automation::run::idle_on`): its copy is then published marked, and skips that
/// queue. A failed read answers `false`, and the consumer decides for itself.
async fn automation_idle(app: &App, event: &kefu_app::plumbing::events::Envelope) -> bool {
    kefu_app::automation::run::idle_on(app, event).await.unwrap_or_else(|e| {
        tracing::warn!(event_id = %event.id, error = %e, "reading the rule set failed; the automation consumer decides");
        false
    })
}

/// What counts a visitor's message in the statistics inside the transaction that stores it: the day's item
/// of the conversation's group in the tenant's zone (`stats::keep::visitor_message_op`).
async fn message_counter(app: &App, visitor: &Visitor) -> Result<Box<widget::Counter>, ApiError> {
    let zone = kefu_app::stats::keep::tenant_zone(app, &visitor.tenant_id)
        .await
        .map_err(|e| ApiError::from(kefu_app::conversations::ConversationError::from(e)))?;
    let t = visitor.tenant_id.clone();
    Ok(Box::new(move |c, at| {
        kefu_app::stats::keep::visitor_message_op(&t, &zone, c.group_id.as_ref(), &c.conversation_id, at)
    }))
}

/// Pushes a just-committed message's frames to the connections concerned (the assignee's; the watchers' while
/// nobody is assigned) without waiting for the queue hop, before the event is published. Answers whether every
/// push went through: the event is then published marked `pushed`, and the `notify` consumer pushes nothing
/// again. Otherwise (a push failed, the store failed) it is published unmarked and `notify` delivers the same
/// frames (clients drop a `message.created` frame whose message id they already have). A failure here is
/// logged, never the visitor's error: the message is stored. `assignee`, the conversation's assignee at the
/// message's commit (the transaction was conditioned on it), spares reading the conversation again.
async fn push_now(
    app: &App,
    event: &kefu_app::plumbing::events::Envelope,
    assignee: Option<&kefu_domain::AgentId>,
) -> bool {
    match kefu_app::realtime::deliver_with(app, event, assignee).await {
        Ok(report) => {
            tracing::debug!(event_id = %event.id, sent = report.sent, failed = report.failed, "frames pushed at intake");
            report.failed == 0
        }
        Err(e) => {
            tracing::warn!(event_id = %event.id, error = %e, "direct push failed; the notify consumer delivers");
            false
        }
    }
}

/// `GET /v1/widget/messages` parameters.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PollParams {
    /// Only messages after this one (the last the widget has).
    pub after: Option<String>,
    /// Page size (default 50, max 200).
    pub limit: Option<String>,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// The visitor's conversation after `after`, oldest first: the visitor's own messages and the agents' and
/// bots' replies, never internal notes.
#[utoipa::path(get, path = "/v1/widget/messages", tag = "widget", params(PollParams),
    security(("visitor" = [])),
    responses((status = 200, body = ListPage<MessageView>), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 404, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn poll_messages(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    Query(q): Query<PollParams>,
) -> Result<ApiJson<ListPage<MessageView>>, ApiError> {
    let params = ListParams::parse(q.limit.as_deref(), q.cursor.as_deref())?;
    Ok(ApiJson(widget::poll(&app, &visitor, q.after.as_deref(), &params).await?))
}

/// Records a page the visitor opened, for its customer's page trail (the last 50 on the profile). One write.
#[utoipa::path(post, path = "/v1/widget/pageviews", tag = "widget", request_body = PageviewBody,
    security(("visitor" = [])),
    responses((status = 204), (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn pageview(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(body): ApiJson<PageviewBody>,
) -> Result<StatusCode, ApiError> {
    kefu_app::customers::pageviews::record(&app, &visitor.tenant_id, &visitor.customer_id, &body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The leave-a-message form (留言), for when nobody is online: the message and a way back (`contact`, or the
/// visitor's own email or phone) become a ticket with `source: widget` in the widget settings'
/// `leave_message_group_id`, for the visitor's customer (a returning `external_id` finds the same one); the
/// group is told. Rate limited like conversation starts (60 a minute per IP and tenant). A blocked visitor (by
/// IP, or a returning `external_id` of a blocked customer) is refused with 403 `blocked`, nothing stored.
#[utoipa::path(post, path = "/v1/widget/leave_message", tag = "widget",
    request_body = kefu_app::tickets::leave_message::LeaveMessageRequest,
    security(("widget_key" = [])),
    params(("X-Widget-Key" = String, Header, description = "the tenant's widget key")),
    responses((status = 201, body = kefu_app::tickets::leave_message::LeftMessage),
              (status = 400, body = kefu_app::http::error::ErrorEnvelope),
              (status = 401, body = kefu_app::http::error::ErrorEnvelope),
              (status = 403, body = kefu_app::http::error::ErrorEnvelope),
              (status = 429, body = kefu_app::http::error::ErrorEnvelope)))]
pub async fn leave_message(
    State(app): State<App>,
    ClientIp(ip): ClientIp,
    WidgetTenant(tenant): WidgetTenant,
    Extension(active): Extension<ActiveBlocks>,
    JsonBytes(body): JsonBytes,
) -> Result<(StatusCode, ApiJson<kefu_app::tickets::leave_message::LeftMessage>), ApiError> {
    let req: kefu_app::tickets::leave_message::LeaveMessageRequest = kefu_app::http::json::parse(&body)?;
    // A returning visitor whose customer is blocked leaves no message (the IP was checked by `WidgetTenant`).
    blocks::check_external_id(&app, &active, &tenant, req.visitor.external_id.as_deref(), ip).await?;
    let left = kefu_app::tickets::leave_message::leave_message(&app, &tenant, &ip.to_string(), &req).await?;
    tracing::info!(tenant_id = %tenant, ticket_id = %left.ticket_id, "message left");
    Ok((StatusCode::CREATED, ApiJson(left)))
}

type ErrorBody = kefu_app::http::error::ErrorEnvelope;

/// The visitor's conversation as the widget shows it: status, who answers (by name), the place in the queue
/// with an estimated wait while queued, how far an agent has read, and the rating given.
#[utoipa::path(get, path = "/v1/widget/conversation", tag = "widget", security(("visitor" = [])),
    responses((status = 200, body = kefu_app::chat::WidgetConversation), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn conversation(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
) -> Result<ApiJson<kefu_app::chat::WidgetConversation>, ApiError> {
    Ok(ApiJson(kefu_app::chat::widget_conversation(&app, &visitor).await?))
}

/// The visitor is typing (or stopped): a `typing` frame to the agent at once, with the draft only when the
/// tenant turned `typing_preview` on. Nothing is stored or logged.
#[utoipa::path(post, path = "/v1/widget/typing", tag = "widget", request_body = kefu_app::chat::VisitorTypingRequest,
    security(("visitor" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn typing(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(req): ApiJson<kefu_app::chat::VisitorTypingRequest>,
) -> Result<StatusCode, ApiError> {
    kefu_app::chat::visitor_typing(&app, &visitor, req.typing, req.draft.as_deref()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor has read its conversation up to a message: `visitor_read_up_to` moves forward, never back, and
/// the agent gets a `message.read` frame.
#[utoipa::path(post, path = "/v1/widget/read", tag = "widget", request_body = kefu_app::chat::ReadRequest,
    security(("visitor" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn read(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(req): ApiJson<kefu_app::chat::ReadRequest>,
) -> Result<StatusCode, ApiError> {
    use kefu_app::plumbing::events::Reader;
    kefu_app::chat::read(&app, &visitor.tenant_id, &visitor.conversation_id, Reader::Visitor, &req.up_to).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor rates the conversation: 3 good, 2 neutral, 1 bad, with an optional comment; a later rating
/// replaces the earlier one.
#[utoipa::path(post, path = "/v1/widget/rating", tag = "widget", request_body = kefu_app::chat::RatingRequest,
    security(("visitor" = [])),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn rating(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(req): ApiJson<kefu_app::chat::RatingRequest>,
) -> Result<StatusCode, ApiError> {
    kefu_app::chat::rate(&app, &visitor, &req).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The visitor asks for its conversation by email (without internal notes): accepted at once (202) and sent by
/// the `notify` consumer. At most 3 an hour per conversation (429 after).
#[utoipa::path(post, path = "/v1/widget/transcript", tag = "widget", request_body = kefu_app::chat::TranscriptRequest,
    security(("visitor" = [])),
    responses((status = 202), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn transcript(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(req): ApiJson<kefu_app::chat::TranscriptRequest>,
) -> Result<StatusCode, ApiError> {
    kefu_app::chat::request_transcript(&app, &visitor, &req).await?;
    Ok(StatusCode::ACCEPTED)
}

/// The visitor declares a file to attach (`{name, content_type, size}`): a type outside the tenant's
/// `attachments.content_types` is 400, a size over `attachments.max_bytes` 413, and uploads turned off 403. The
/// answer says where to `PUT` exactly `size` bytes within 15 minutes; a message then names the attachment in
/// `attachment_ids`.
#[utoipa::path(post, path = "/v1/widget/attachments", tag = "widget",
    request_body = kefu_app::conversations::attachments::UploadRequest, security(("visitor" = [])),
    responses((status = 201, body = kefu_app::conversations::attachments::UploadTicket),
              (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 404, body = ErrorBody), (status = 413, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn create_attachment(
    State(app): State<App>,
    VisitorAuth(visitor): VisitorAuth,
    ApiJson(req): ApiJson<kefu_app::conversations::attachments::UploadRequest>,
) -> Result<(StatusCode, ApiJson<kefu_app::conversations::attachments::UploadTicket>), ApiError> {
    let ticket = kefu_app::conversations::attachments::create(
        &app,
        &visitor.tenant_id,
        &visitor.conversation_id,
        visitor.customer_id.as_str(),
        true,
        &req,
    )
    .await?;
    Ok((StatusCode::CREATED, ApiJson(ticket)))
}

/// The bytes of a declared upload, through the signed link its declaration gave (`kefu serve`; in AWS the link
/// is an S3 presigned URL). The signature is the credential: a forged or expired link is 404, a body of another
/// size than declared 400.
#[utoipa::path(put, path = "/v1/widget/uploads/{id}", tag = "widget",
    params(("id" = String, Path, description = "attachment id"), kefu_app::conversations::attachments::LinkQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
              (status = 413, body = ErrorBody)))]
pub async fn upload(
    State(app): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
    q: Result<Query<kefu_app::conversations::attachments::LinkQuery>, axum::extract::rejection::QueryRejection>,
    body: bytes::Bytes,
) -> Result<StatusCode, ApiError> {
    let Ok(Query(q)) = q else { return Err(ApiError::not_found()) };
    kefu_app::conversations::attachments::upload_local(&app, &id, &q, body).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A sent attachment's bytes, through the signed link a message read gave (`kefu serve`; in AWS the link is an
/// S3 presigned URL). A forged or expired link is 404. Pictures and PDF are shown inline, anything else is a
/// download; nothing is sniffed or run (`nosniff`, a sandboxing CSP).
#[utoipa::path(get, path = "/v1/widget/files/{id}", tag = "widget",
    params(("id" = String, Path, description = "attachment id"), kefu_app::conversations::attachments::LinkQuery),
    responses((status = 200, description = "the file", body = Vec<u8>), (status = 404, body = ErrorBody)))]
pub async fn download(
    State(app): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
    q: Result<Query<kefu_app::conversations::attachments::LinkQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<axum::response::Response, ApiError> {
    use axum::http::header;
    use axum::response::IntoResponse;
    let Ok(Query(q)) = q else { return Err(ApiError::not_found()) };
    let d = kefu_app::conversations::attachments::download_local(&app, &id, &q).await?;
    let disposition =
        format!("{}; filename*=UTF-8''{}", if d.inline { "inline" } else { "attachment" }, percent_encode(&d.name));
    Ok((
        [
            (header::CONTENT_TYPE, d.content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            (header::CONTENT_SECURITY_POLICY, "sandbox; default-src 'none'".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=900".to_owned()),
        ],
        d.body,
    )
        .into_response())
}

/// A file name for `filename*` (RFC 5987): every byte outside the unreserved set percent-encoded.
fn percent_encode(name: &str) -> String {
    name.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
