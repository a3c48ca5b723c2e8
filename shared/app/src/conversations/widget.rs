//! The visitor widget: starting a conversation with the tenant's widget key, visitor tokens (random, stored
//! only as a hash, expiring, like staff sessions), sending and polling messages.
//!
//! A visitor's send is the intake hot path: the message, the conversation's activity update and the outbox
//! entry are one transaction ([`plan_send`] builds it without I/O), with one `GetItem` for the token before it.

use std::time::Duration;

use kefu_domain::routing::Priority;
use kefu_domain::{
    AgentId, Author, ConversationId, ConversationStatus, CustomerId, Email, ExternalId, GroupId, MessageContent,
    MessageId, Name, Phone, TenantId, ValidationError,
};
use kefu_ports::table::{CmpOp, Condition, Key, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::ConversationError;
use crate::App;
use crate::conversations::attachments::{self, Taken};
use crate::conversations::{self, ConversationRecord, MessageView, NewConversation, NewMessage};
use crate::customers::{self, Contact};
use crate::identity::auth::AuthError;
use crate::identity::secrets::{new_secret, token_hash};
use crate::plumbing::events::{Envelope, Event};
use crate::plumbing::keys;
use crate::plumbing::ratelimit::{self, RateLimitError, limits};
use crate::plumbing::record::{Record, item_of, parse};

/// How long a visitor token works after the conversation starts.
pub const VISITOR_TOKEN_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// The prefix of visitor tokens.
pub const VISITOR_TOKEN_PREFIX: &str = "kfv_";

/// A visitor, after its token was checked: the tenant, the conversation it may write to and read, and its
/// customer record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visitor {
    /// The tenant of the widget.
    pub tenant_id: TenantId,
    /// The visitor's conversation.
    pub conversation_id: ConversationId,
    /// The visitor's customer record.
    pub customer_id: CustomerId,
    /// The token's hash (the rate limit's key).
    pub token_hash: String,
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX / 4)
}

/// A visitor token as stored, by the token's hash (the token itself is never stored).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct VisitorTokenRecord {
    /// The token's hash (also the key; absent on tokens stored before it was written).
    #[serde(default)]
    token_hash: String,
    tenant_id: TenantId,
    conversation_id: ConversationId,
    customer_id: CustomerId,
    created_at: jiff::Timestamp,
    /// Epoch seconds after which it no longer signs anyone in (and the table drops it).
    ttl: i64,
}

impl Record for VisitorTokenRecord {
    const TYPE: &'static str = "visitor_token";

    fn key(&self) -> Key {
        keys::visitor_token(&self.token_hash)
    }
}

/// A send's `Idempotency-Key` claim: the first send's answer, and its content's hash to refuse a different
/// message under the same key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct SendClaim {
    message_id: String,
    created_at: String,
    content_hash: String,
    ttl: i64,
}

/// Resolves a visitor token: it must be stored (by hash) and unexpired. Public so the real-time ticket
/// endpoint accepts visitor tokens too.
///
/// A token's item is written once, with its conversation, and nothing changes or deletes it before its `ttl`
/// (no route, consumer or operator command touches `VISITOR#…` again), so a process keeps what it read
/// (`plumbing::memo`, `Memo::keep`) and checks the expiry against the clock at every call: a
/// visitor's messages after the first read no item for the token. A token not found is not kept (it may be
/// stored a moment later by another process).
pub async fn authenticate_visitor(app: &App, token: &str) -> Result<Visitor, AuthError> {
    if token.len() > 200 || !token.starts_with(VISITOR_TOKEN_PREFIX) {
        return Err(AuthError::Unauthenticated);
    }
    let hash = token_hash(token);
    let memo_key = format!("visitor#{hash}");
    let record = match app.memo.kept::<VisitorTokenRecord>(&memo_key) {
        Some(kept) => kept,
        None => {
            let item = app.table.get(&keys::visitor_token(&hash)).await?.ok_or(AuthError::Unauthenticated)?;
            let record = std::sync::Arc::new(VisitorTokenRecord::from_item(item).map_err(TableError::from)?);
            app.memo.keep(memo_key, record.clone());
            record
        }
    };
    if record.ttl <= app.now().as_second() {
        return Err(AuthError::Unauthenticated);
    }
    Ok(Visitor {
        tenant_id: record.tenant_id.clone(),
        conversation_id: record.conversation_id.clone(),
        customer_id: record.customer_id.clone(),
        token_hash: hash,
    })
}

/// The tenant a widget key belongs to.
pub async fn tenant_of_widget_key(app: &App, key: &str) -> Result<Option<TenantId>, TableError> {
    if key.is_empty() || key.len() > 200 {
        return Ok(None);
    }
    Ok(app
        .table
        .get(&keys::widget_key(key))
        .await?
        .and_then(|i| i.get("tenant_id").and_then(Value::as_str).and_then(TenantId::parse)))
}

/// `POST /v1/widget/conversations` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct StartRequest {
    /// Who the visitor is, as far as the site knows.
    #[serde(default)]
    pub visitor: VisitorInfo,
    /// The page the widget is on.
    #[serde(default)]
    pub page_url: Option<String>,
    /// The agent group to route to (default: the tenant's default group); one of the widget settings'
    /// `visitor_group_ids` when that list is not empty.
    #[serde(default)]
    pub group_id: Option<String>,
    /// The pre-chat form's answers, field name → value, checked against the form (when it is on) and kept as
    /// the customer's attributes.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Option<HashMap<String, String>>))]
    pub pre_chat: Option<serde_json::Map<String, Value>>,
}

/// The visitor's details, all optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VisitorInfo {
    /// The site's own id for the visitor: a returning one maps to the same customer.
    #[serde(default)]
    pub external_id: Option<String>,
    /// Name.
    #[serde(default)]
    pub name: Option<String>,
    /// Email.
    #[serde(default)]
    pub email: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
}

/// `POST /v1/widget/conversations` answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Started {
    /// The new conversation.
    pub conversation_id: String,
    /// The visitor's customer record (the same one for a returning `external_id`).
    pub customer_id: String,
    /// The bearer token for the other widget endpoints; shown once.
    pub visitor_token: String,
}

/// The longest `page_url` kept.
pub const PAGE_URL_MAX: usize = 2048;

/// A validated start request.
#[derive(Debug, Clone)]
pub struct StartPlan {
    /// The visitor's contact data.
    pub contact: Contact,
    /// The page.
    pub page_url: Option<String>,
    /// The agent group asked for.
    pub group: Option<GroupId>,
}

/// Validates a start request (pure).
pub fn validate_start(req: &StartRequest) -> Result<StartPlan, ValidationError> {
    let v = &req.visitor;
    let field = |f: &str| format!("visitor.{f}");
    let contact = Contact {
        external_id: v.external_id.as_deref().map(|s| ExternalId::parse(s, &field("external_id"))).transpose()?,
        name: v.name.as_deref().map(|s| Name::parse(s, &field("name"))).transpose()?,
        email: v.email.as_deref().map(|s| Email::parse(s).map_err(|e| e.under("visitor"))).transpose()?,
        phone: v.phone.as_deref().map(|s| Phone::parse(s, &field("phone"))).transpose()?,
        attributes: Default::default(),
    };
    let page_url = match req.page_url.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        Some(u) if u.len() > PAGE_URL_MAX || u.chars().any(char::is_control) => {
            return Err(ValidationError::new("page_url", format!("must be at most {PAGE_URL_MAX} bytes of text")));
        }
        other => other.map(str::to_owned),
    };
    let group = req
        .group_id
        .as_deref()
        .map(|g| GroupId::parse(g).ok_or_else(|| ValidationError::new("group_id", "no such group")))
        .transpose()?;
    Ok(StartPlan { contact, page_url, group })
}

/// Starts a conversation for a visitor of `tenant` from `ip`: rate-limited per IP and tenant; finds the
/// customer of a returning `external_id` (filling in contact data it lacks) or creates one; stores the customer (if new), the conversation, the
/// customer's pointer to it and the visitor token with the `conversation.created` event, in one transaction.
pub async fn start(app: &App, tenant: &TenantId, ip: &str, req: &StartRequest) -> Result<Started, ConversationError> {
    let mut plan = validate_start(req)?;
    let settings = crate::conversations::widget_settings::get(app, tenant).await?;
    plan.contact.attributes =
        crate::conversations::widget_settings::check_pre_chat(&settings.pre_chat_form, req.pre_chat.as_ref())?;
    if let Some(g) = &plan.group {
        if !crate::conversations::widget_settings::group_choosable(&settings, g) {
            return Err(ValidationError::new("group_id", "is not one of the groups visitors may choose").into());
        }
        if !crate::conversations::group_exists(app, tenant, g).await? {
            return Err(ValidationError::new("group_id", "no such group").into());
        }
    }
    // Per address, and per IPv6 /64 (see `ratelimit::hit_ip`).
    let (per_ip, minute) = (limits::CONVERSATION_STARTS_PER_IP_PER_MINUTE, limits::MINUTE);
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => ratelimit::hit_ip(app, "widget.start", tenant.as_str(), addr, per_ip, minute).await?,
        Err(_) => ratelimit::hit(app, "widget.start", &format!("{tenant}:{ip}"), per_ip, minute).await?,
    }
    // A concurrent visit with the same external_id may claim it, or fill in the profile, between our read and
    // our write: read again and retry.
    for _ in 0..3 {
        let existing = match &plan.contact.external_id {
            Some(ext) => customers::by_external_id(app, tenant, ext).await?,
            None => None,
        };
        let at = app.now();
        let mut ops = Vec::new();
        let (customer_id, priority) = match existing {
            Some(id) => {
                let item = customers::load(app, tenant, &id).await?;
                if let Some(current) = &item {
                    ops.extend(customers::fill_missing_ops(tenant, &id, current, &plan.contact, at));
                }
                (id, customers::priority_of(app, tenant, item.as_ref()).await?)
            }
            None => {
                let id = CustomerId::generate();
                ops.extend(customers::new_customer_ops(tenant, &id, &plan.contact, at));
                (id, Priority::Normal)
            }
        };
        let conversation_id = ConversationId::generate();
        let c = NewConversation {
            tenant,
            id: &conversation_id,
            customer: &customer_id,
            group: plan.group.as_ref(),
            priority,
            page_url: plan.page_url.as_deref(),
            at,
        };
        let token = new_secret(VISITOR_TOKEN_PREFIX);
        let expires = at.as_second() + secs(VISITOR_TOKEN_TTL);
        ops.push(TxOp::Put { item: conversations::conversation_item(&c), condition: Some(Condition::NotExists) });
        ops.push(customers::conversation_pointer_op(tenant, &customer_id, &conversation_id, at));
        ops.push(customers::counts::conversation_started_op(tenant, &customer_id));
        let record = VisitorTokenRecord {
            token_hash: token_hash(&token),
            tenant_id: tenant.clone(),
            conversation_id: conversation_id.clone(),
            customer_id: customer_id.clone(),
            created_at: at,
            ttl: expires,
        };
        ops.push(TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) });
        match crate::plumbing::outbox::commit(app, ops, vec![conversations::created_event(&c)]).await {
            Ok(()) => {
                return Ok(Started {
                    conversation_id: conversation_id.to_string(),
                    customer_id: customer_id.to_string(),
                    visitor_token: token,
                });
            }
            Err(TableError::TransactionCanceled { .. }) if plan.contact.external_id.is_some() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(ConversationError::Conflict("another visit with this external_id started at the same moment; retry"))
}

/// `POST /v1/widget/messages` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct SendRequest {
    /// 1..=4000 characters; may be empty when the message carries attachments.
    #[serde(default)]
    pub content: String,
    /// Uploads of this visitor in this conversation (`POST /v1/widget/attachments`) the message carries.
    #[serde(default)]
    pub attachment_ids: Vec<String>,
}

/// `POST /v1/widget/messages` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Sent {
    /// The stored message's id.
    pub id: String,
    /// When it was stored.
    pub created_at: String,
}

/// Where a planned send's operations sit in its transaction (the outbox entry follows them).
pub mod positions {
    /// The message put.
    pub const MESSAGE: usize = 0;
    /// The conversation's update (fails when the conversation is closed or gone).
    pub const CONVERSATION: usize = 1;
    /// The `Idempotency-Key` claim, when there is one.
    pub const CLAIM: usize = 2;
}

/// A visitor's send, ready to commit: everything the hot path computes without I/O.
#[derive(Debug, Clone)]
pub struct SendPlan {
    /// Message put, conversation update, and the idempotency claim (when a key was given).
    pub ops: Vec<TxOp>,
    /// `message.received`.
    pub event: Envelope,
    /// The answer.
    pub sent: Sent,
    /// The SHA-256 of the content (an idempotent retry must carry the same content).
    pub content_hash: String,
    /// The position in `ops` of the first attachment's update (`ops.len()` when there is none).
    pub first_attachment: usize,
    /// When the message is stored.
    pub at: jiff::Timestamp,
}

/// The SHA-256 of an `Idempotency-Key` (what the claim's key holds), or a validation error for a bad key.
pub fn idempotency_key_hash(key: &str) -> Result<String, ValidationError> {
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ValidationError::new("Idempotency-Key", "must be 1 to 255 visible ASCII characters"));
    }
    Ok(hex::encode(Sha256::digest(key.as_bytes())))
}

/// Parses, validates and builds a visitor's text send (pure: the bench measures exactly this): the JSON body, the
/// content rule, the message and conversation operations, the optional idempotency claim, and the event. A body
/// with `attachment_ids` is refused here: its attachments need I/O, which [`send`] does.
pub fn plan_send(
    body: &[u8],
    visitor: &Visitor,
    idempotency_key: Option<&str>,
    id: MessageId,
    at: jiff::Timestamp,
) -> Result<SendPlan, ConversationError> {
    let req: SendRequest = crate::plumbing::json::parse(body)?;
    if !req.attachment_ids.is_empty() {
        return Err(ValidationError::new("attachment_ids", "attachments are checked when the message is sent").into());
    }
    plan_request(&req, visitor, idempotency_key, id, at, &Taken::default())
}

/// Builds the operation that counts a visitor's message in the statistics, from its conversation as read and
/// the message's time. Intake passes one to [`send_stored`], so the transaction that stores the message counts
/// it, exactly once, and its event says so (`MessageReceived::counted`): the statistics keeper then neither
/// marks nor reads anything for it.
pub type Counter = dyn Fn(&ConversationRecord, jiff::Timestamp) -> TxOp + Send + Sync;

/// The minute a send at `at` counts in, or the refusal when the visitor's budget for it is spent (with the
/// seconds until the next minute).
fn send_budget(conversation: &ConversationRecord, at: jiff::Timestamp) -> Result<i64, ConversationError> {
    let window = limits::MINUTE.as_secs().cast_signed();
    let minute = at.as_second().div_euclid(window);
    if conversation.sends_minute == Some(minute)
        && conversation.sends_in_minute >= u64::from(limits::VISITOR_MESSAGES_PER_MINUTE)
    {
        let retry_after = u64::try_from((minute + 1) * window - at.as_second()).unwrap_or(1).max(1);
        return Err(RateLimitError::Limited { retry_after }.into());
    }
    Ok(minute)
}

/// The per-minute send budget of a visitor token, kept on its conversation (a token is for one conversation):
/// refuses the send when this minute's budget is spent, else adds to the conversation's update the count and
/// the condition that it was not spent meanwhile (a concurrent send fails the transaction on the
/// conversation's position, and the retry reads the count again). No item, read or write of its own.
fn spend_send_budget(
    conversation: &ConversationRecord,
    at: jiff::Timestamp,
    op: &mut TxOp,
) -> Result<(), ConversationError> {
    let minute = send_budget(conversation, at)?;
    let limit = u64::from(limits::VISITOR_MESSAGES_PER_MINUTE);
    let TxOp::Update { update, .. } = op else { return Ok(()) };
    let (more, budget) = if conversation.sends_minute == Some(minute) {
        (
            std::mem::replace(update, Update::new()).add("sends_in_minute", 1),
            Condition::And(vec![
                Condition::cmp("sends_minute", CmpOp::Eq, minute),
                Condition::cmp("sends_in_minute", CmpOp::Lt, limit),
            ]),
        )
    } else {
        let fresh = match conversation.sends_minute {
            Some(m) => Condition::cmp("sends_minute", CmpOp::Eq, m),
            None => Condition::AttrNotExists("sends_minute".into()),
        };
        (std::mem::replace(update, Update::new()).set("sends_minute", minute).set("sends_in_minute", 1), fresh)
    };
    *update = more;
    and_condition(op, budget);
    Ok(())
}

/// Adds `more` to an update's or put's condition (all must hold).
fn and_condition(op: &mut TxOp, more: Condition) {
    let (TxOp::Update { condition, .. } | TxOp::Put { condition, .. } | TxOp::Delete { condition, .. }) = op else {
        return;
    };
    *condition = Some(match condition.take() {
        Some(Condition::And(mut all)) => {
            all.push(more);
            Condition::And(all)
        }
        Some(other) => Condition::And(vec![other, more]),
        None => more,
    });
}

/// Conditions the conversation's update on the assignee it was read with, when it has one, so that the
/// assignee the send answers ([`Stored::assignee`]) is the one at commit: a transfer meanwhile fails the
/// transaction on the conversation, and the send reads it again.
fn pin_assignee(conversation: &ConversationRecord, op: &mut TxOp) -> Option<AgentId> {
    let a = conversation.assignee_id.clone()?;
    and_condition(op, Condition::cmp("assignee_id", CmpOp::Eq, a.as_str()));
    Some(a)
}

/// Whether the message begins the visitor's wait (the conversation as read has no `wait_message_id`), made
/// exact by conditioning the conversation's update on what was read: a reply that ended the wait meanwhile, or
/// another message that began it, fails the transaction on the conversation's position, and the send reads
/// again. The event says so (`MessageReceived::starts_wait`), and the timers read nothing for a message that
/// did not begin a wait.
fn pin_wait(conversation: &ConversationRecord, op: &mut TxOp) -> bool {
    let read = match &conversation.wait_message_id {
        Some(id) => Condition::cmp("wait_message_id", CmpOp::Eq, id.as_str()),
        None => Condition::AttrNotExists("wait_message_id".into()),
    };
    and_condition(op, read);
    conversation.wait_message_id.is_none()
}

/// The plan of a parsed send whose attachments [`attachments::take`] checked (pure).
pub fn plan_request(
    req: &SendRequest,
    visitor: &Visitor,
    idempotency_key: Option<&str>,
    id: MessageId,
    at: jiff::Timestamp,
    taken: &Taken,
) -> Result<SendPlan, ConversationError> {
    let content = if taken.metas.is_empty() {
        MessageContent::parse(&req.content, "content")?
    } else {
        MessageContent::parse_or_empty(&req.content, "content")?
    };
    let claim_hash = idempotency_key.map(idempotency_key_hash).transpose()?;
    let author_id = visitor.customer_id.as_str();
    let m = NewMessage {
        tenant: &visitor.tenant_id,
        conversation: &visitor.conversation_id,
        id: &id,
        author: Author::Visitor,
        author_id: Some(author_id),
        content: &content,
        internal: false,
        at,
        attachments: &taken.metas,
    };
    let content_hash = content_hash(content.as_str(), &req.attachment_ids);
    let sent = Sent { id: id.to_string(), created_at: at.to_string() };
    let mut ops = m.ops();
    if let Some(h) = claim_hash {
        ops.push(TxOp::Put {
            item: item_of(
                keys::send_claim(&visitor.tenant_id, &visitor.conversation_id, &h),
                &SendClaim {
                    message_id: sent.id.clone(),
                    created_at: sent.created_at.clone(),
                    content_hash: content_hash.clone(),
                    ttl: at.as_second() + secs(IDEMPOTENCY_TTL),
                },
            ),
            condition: Some(Condition::NotExists),
        });
    }
    let first_attachment = ops.len();
    ops.extend(taken.ops.iter().cloned());
    Ok(SendPlan { ops, event: m.event(), sent, content_hash, first_attachment, at })
}

/// What an idempotent retry must repeat: the text, and the attachments when there are any.
fn content_hash(content: &str, attachment_ids: &[String]) -> String {
    let mut h = Sha256::new();
    h.update(content.as_bytes());
    for a in attachment_ids {
        h.update(b"\n");
        h.update(a.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Stores a visitor's message: rate-limited per token; with an `Idempotency-Key`, a retry answers the first
/// send's id and stores nothing. A message to a closed conversation reopens it (the assignment module routes
/// it again) and is stored. `attachment_ids` are checked and attached in the message's transaction.
pub async fn send(
    app: &App,
    visitor: &Visitor,
    idempotency_key: Option<&str>,
    body: &[u8],
) -> Result<Sent, ConversationError> {
    let stored = send_stored(app, visitor, idempotency_key, body, None).await?;
    if let Some(event) = &stored.event {
        crate::plumbing::outbox::publish(app, std::slice::from_ref(event)).await;
    }
    Ok(stored.sent)
}

/// What [`send_stored`] did: the answer, and the `message.received` event when this call stored the message
/// (none for a retry answered from its `Idempotency-Key`), committed to the outbox but not yet published: the
/// caller pushes its frames at once, then publishes it (`plumbing::outbox::publish`, with `pushed` set when
/// the push reached every connection concerned). Unpublished, the sweeper publishes the stored copy.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The answer.
    pub sent: Sent,
    /// The event committed with the message (stored in the outbox, for the caller to publish), when this call
    /// stored it.
    pub event: Option<Envelope>,
    /// The conversation's assignee when the message was committed, when it had one: the transaction was
    /// conditioned on it, so the caller may push to that agent without reading the conversation again.
    pub assignee: Option<AgentId>,
}

/// [`send`] without the publish: answers the committed event, which the caller publishes (intake pushes its
/// frames right after the commit and publishes the event marked `pushed`, so the `notify` consumer does not
/// push them again; when intake stops before publishing, the sweeper publishes the stored copy, unmarked, and
/// `notify` pushes: the at-least-once fallback).
pub async fn send_stored(
    app: &App,
    visitor: &Visitor,
    idempotency_key: Option<&str>,
    body: &[u8],
    count: Option<&Counter>,
) -> Result<Stored, ConversationError> {
    let at = app.now();
    let id = conversations::next_message_id(at);
    let req: SendRequest = crate::plumbing::json::parse(body)?;
    let conversation = conversations::load(app, &visitor.tenant_id, &visitor.conversation_id)
        .await?
        .ok_or(ConversationError::NotFound)?;
    if req.attachment_ids.is_empty() {
        let none = Taken::default();
        let replan = || plan_request(&req, visitor, idempotency_key, id.clone(), at, &none);
        return commit_send(app, visitor, idempotency_key, replan()?, &replan, conversation, count).await;
    }
    MessageContent::parse_or_empty(&req.content, "content")?;
    let claim_hash = idempotency_key.map(idempotency_key_hash).transpose()?;
    // Refused before the uploads are looked at when this minute's budget is spent (the transaction checks
    // it again).
    send_budget(&conversation, at)?;
    // A retry of a send that went through answers as the first did (its attachments are no longer pending).
    if let (Some(key), Some(hash)) = (idempotency_key, claim_hash)
        && app.table.get(&keys::send_claim(&visitor.tenant_id, &visitor.conversation_id, &hash)).await?.is_some()
    {
        return replay(app, visitor, key, &content_hash_of(&req)).await.map(|sent| Stored {
            sent,
            event: None,
            assignee: None,
        });
    }
    let uploader = visitor.customer_id.as_str();
    let taken =
        attachments::take(app, &visitor.tenant_id, &visitor.conversation_id, uploader, &req.attachment_ids, &id)
            .await?;
    let replan = || plan_request(&req, visitor, idempotency_key, id.clone(), at, &taken);
    let result = commit_send(app, visitor, idempotency_key, replan()?, &replan, conversation, count).await;
    match &result {
        Ok(_) => attachments::settle(app, &taken).await,
        Err(_) => attachments::abandon(app, &taken).await,
    }
    result
}

/// The hash a send's claim holds, from its request.
fn content_hash_of(req: &SendRequest) -> String {
    let content = if req.content.trim().is_empty() { "" } else { req.content.as_str() };
    content_hash(content, &req.attachment_ids)
}

/// Commits a planned send against the conversation as read (its send budget spent in the same transaction,
/// the statistics' count added when `count` is given), reopening a closed conversation once and answering a
/// replay for a reused key. A transaction refused on the conversation's position reads it again and retries.
/// The first attempt takes `plan`'s operations; a retry, which is rare, makes them again with `replan` (the
/// same plan: same message id and time) rather than every attempt copying them.
async fn commit_send(
    app: &App,
    visitor: &Visitor,
    idempotency_key: Option<&str>,
    plan: SendPlan,
    replan: &(dyn Fn() -> Result<SendPlan, ConversationError> + Sync),
    mut conversation: ConversationRecord,
    count: Option<&Counter>,
) -> Result<Stored, ConversationError> {
    let SendPlan { ops: first_ops, mut event, sent, content_hash, first_attachment, at } = plan;
    let planned = first_ops.len();
    let mut first_ops = Some(first_ops);
    if count.is_some()
        && let Event::MessageReceived(received) = &mut event.event
    {
        received.counted = true;
    }
    let mut reopened = false;
    for _ in 0..4 {
        if conversation.deleting {
            return Err(ConversationError::NotFound);
        }
        if conversation.status == ConversationStatus::Closed {
            if reopened {
                break;
            }
            reopen_for_visitor(app, visitor).await?;
            reopened = true;
            conversation = conversations::load(app, &visitor.tenant_id, &visitor.conversation_id)
                .await?
                .ok_or(ConversationError::NotFound)?;
            continue;
        }
        let mut ops = match first_ops.take() {
            Some(ops) => ops,
            None => replan()?.ops,
        };
        spend_send_budget(&conversation, at, &mut ops[positions::CONVERSATION])?;
        let starts_wait = pin_wait(&conversation, &mut ops[positions::CONVERSATION]);
        let assignee = pin_assignee(&conversation, &mut ops[positions::CONVERSATION]);
        if let Event::MessageReceived(received) = &mut event.event {
            received.starts_wait = Some(starts_wait);
        }
        if let Some(count) = count {
            // Last, and unconditional: it never fails, so the positions above still name what failed.
            ops.push(count(&conversation, at));
        }
        match crate::plumbing::outbox::commit_unpublished(app, ops, std::slice::from_ref(&event)).await {
            Ok(()) => return Ok(Stored { sent, event: Some(event), assignee }),
            Err(TableError::TransactionCanceled { failed }) => {
                if failed.contains(&positions::CLAIM)
                    && first_attachment > positions::CLAIM
                    && let Some(key) = idempotency_key
                {
                    let sent = replay(app, visitor, key, &content_hash).await?;
                    return Ok(Stored { sent, event: None, assignee: None });
                }
                if failed.iter().any(|p| *p >= first_attachment && *p < planned) {
                    return Err(ValidationError::new("attachment_ids", "an attachment was sent already").into());
                }
                if failed.contains(&positions::CONVERSATION) {
                    // Closed, gone or being deleted, transferred, or another send spent the budget first: read it
                    // again.
                    conversation = conversations::load(app, &visitor.tenant_id, &visitor.conversation_id)
                        .await?
                        .ok_or(ConversationError::NotFound)?;
                    continue;
                }
                break;
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ConversationError::Conflict("the conversation changed while the message was stored; retry"))
}

/// The answer of an earlier send with the same `Idempotency-Key` (409 if the content differs).
async fn replay(app: &App, visitor: &Visitor, key: &str, content_hash: &str) -> Result<Sent, ConversationError> {
    let hash = idempotency_key_hash(key)?;
    let claim = app
        .table
        .get(&keys::send_claim(&visitor.tenant_id, &visitor.conversation_id, &hash))
        .await?
        .ok_or(ConversationError::Conflict("a send with this Idempotency-Key is in progress; retry"))?;
    let claim: SendClaim = parse("send claim", claim).map_err(TableError::from)?;
    if claim.content_hash != content_hash {
        return Err(ConversationError::Conflict("this Idempotency-Key was used for a different message"));
    }
    Ok(Sent { id: claim.message_id, created_at: claim.created_at })
}

/// `GET /v1/widget/messages`: the visitor's conversation after `after`, never internal notes.
pub async fn poll(
    app: &App,
    visitor: &Visitor,
    after: Option<&str>,
    params: &crate::plumbing::pages::PageRequest,
) -> Result<crate::plumbing::pages::ListPage<MessageView>, ConversationError> {
    let after = after
        .filter(|s| !s.is_empty())
        .map(|s| MessageId::parse(s).ok_or_else(|| ValidationError::new("after", "must be a message id")))
        .transpose()?;
    conversations::visitor_messages(app, &visitor.tenant_id, &visitor.conversation_id, after.as_ref(), params).await
}

/// A visitor wrote to a closed conversation: it is reopened through the assignment module, which routes it
/// again, and then the message is stored.
pub async fn reopen_for_visitor(app: &App, visitor: &Visitor) -> Result<(), ConversationError> {
    match crate::assignment::reopen(app, &visitor.tenant_id, &visitor.conversation_id, None).await {
        // Someone else reopened it first: the message can go in now.
        Ok(_) | Err(crate::assignment::AssignmentError::InvalidState(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::SystemClock;

    use super::*;
    use crate::http::ApiError;
    use crate::plumbing::pages::PageRequest;

    /// The store work of one visitor message, from the adapter's own counters: the token `GetItem`, the
    /// conversation's `GetItem` (its send budget and state), one transaction of message + conversation (the
    /// budget spent in its update) + outbox entry, and the outbox entry's delete after publishing. No query, no
    /// scan, no rate-limit item. The writes' conditions are part of the writes, as DynamoDB counts them.
    #[tokio::test]
    async fn a_visitor_message_costs_four_requests_and_four_item_writes() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let tenant = TenantId::generate();
        let started = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let before = app.table.stats();
        let visitor = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        send(&app, &visitor, None, br#"{"content": "where is my order?"}"#).await.unwrap();
        let after = app.table.stats();
        assert_eq!(after.requests - before.requests, 4, "get token, get conversation, transaction, outbox delete");
        assert_eq!(after.items_written - before.items_written, 4, "message, conversation, outbox put and delete");
        assert_eq!(after.items_read - before.items_read, 2, "the token and the conversation");

        let before = app.table.stats();
        send(&app, &visitor, Some("k-1"), br#"{"content": "again"}"#).await.unwrap();
        assert_eq!(app.table.stats().items_written - before.items_written, 5, "plus the idempotency claim");
    }

    /// A token's budget is 30 messages a minute, kept on its conversation: the 31st is refused with the seconds
    /// left in the minute and stores nothing; the next minute starts afresh; another conversation is not
    /// touched.
    #[tokio::test]
    async fn the_send_budget_refuses_the_31st_message_of_a_minute_and_stores_nothing() {
        let clock = Arc::new(kefu_ports::ManualClock::new("2026-03-02T10:00:05Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let tenant = TenantId::generate();
        let first = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let other = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let visitor = authenticate_visitor(&app, &first.visitor_token).await.unwrap();
        for i in 0..30 {
            send(&app, &visitor, None, format!(r#"{{"content": "m{i}"}}"#).as_bytes()).await.unwrap();
        }
        let e = send(&app, &visitor, None, br#"{"content": "one too many"}"#).await.unwrap_err();
        match e {
            ConversationError::RateLimited(RateLimitError::Limited { retry_after }) => assert_eq!(retry_after, 55),
            other => panic!("{other:?}"),
        }
        let page = poll(&app, &visitor, None, &PageRequest { limit: 100, ..PageRequest::default() }).await.unwrap();
        assert_eq!(page.items.len(), 30, "the refused one is not stored");
        let another = authenticate_visitor(&app, &other.visitor_token).await.unwrap();
        send(&app, &another, None, br#"{"content": "not limited"}"#).await.unwrap();
        clock.advance(jiff::SignedDuration::from_secs(55));
        send(&app, &visitor, None, br#"{"content": "a new minute"}"#).await.unwrap();
    }

    /// A process reads a visitor token's item once and keeps it: the next calls read nothing, yet a kept token
    /// still lapses at its expiry; a token not found is not kept, so one stored later (by another process) is
    /// found; a token another process stored is read once by this one.
    #[tokio::test]
    async fn a_process_reads_a_visitor_token_once_and_still_lets_it_lapse() {
        let clock = Arc::new(kefu_ports::ManualClock::new("2026-03-02T10:00:05Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let tenant = TenantId::generate();
        let started = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let reads = || app.table.stats().items_read;
        let before = reads();
        let visitor = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        assert_eq!(reads() - before, 1, "the first call reads the token");
        let before = reads();
        let again = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        assert_eq!(reads() - before, 0, "kept");
        assert_eq!(
            (&again.tenant_id, &again.conversation_id, &again.customer_id, &again.token_hash),
            (&visitor.tenant_id, &visitor.conversation_id, &visitor.customer_id, &visitor.token_hash)
        );

        // Another process (another App on the same store) starts a visit: this one has never read its token.
        let other = App::from(crate::AppParts { memo: Default::default(), ..(*app).clone() });
        let elsewhere = start(&other, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let before = reads();
        authenticate_visitor(&app, &elsewhere.visitor_token).await.unwrap();
        assert_eq!(reads() - before, 1);

        // Unknown, then stored: found, since a miss is not kept.
        let token = new_secret(VISITOR_TOKEN_PREFIX);
        assert!(matches!(authenticate_visitor(&app, &token).await, Err(AuthError::Unauthenticated)));
        let record = VisitorTokenRecord {
            token_hash: token_hash(&token),
            tenant_id: tenant.clone(),
            conversation_id: visitor.conversation_id.clone(),
            customer_id: visitor.customer_id.clone(),
            created_at: app.now(),
            ttl: app.now().as_second() + 60,
        };
        app.table.put(record.to_item(), None).await.unwrap();
        assert!(authenticate_visitor(&app, &token).await.is_ok(), "a token stored after a miss is found");

        clock.advance(jiff::SignedDuration::from_secs(60));
        assert!(
            matches!(authenticate_visitor(&app, &token).await, Err(AuthError::Unauthenticated)),
            "a kept token lapses at its expiry"
        );
        clock.advance(VISITOR_TOKEN_TTL.try_into().unwrap());
        assert!(matches!(authenticate_visitor(&app, &started.visitor_token).await, Err(AuthError::Unauthenticated)));
    }

    /// The event says whether the message began the visitor's wait, as the transaction checked it: the first
    /// message does, the next does not, and after an agent's reply ended the wait the next one does again.
    #[tokio::test]
    async fn a_visitor_message_says_whether_it_began_the_wait() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let tenant = TenantId::generate();
        let started = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let visitor = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        let starts = |stored: Stored| match stored.event.map(|e| e.event) {
            Some(Event::MessageReceived(m)) => m.starts_wait,
            other => panic!("{other:?}"),
        };
        let first = send_stored(&app, &visitor, None, br#"{"content": "hello?"}"#, None).await.unwrap();
        assert_eq!(starts(first), Some(true));
        let second = send_stored(&app, &visitor, None, br#"{"content": "anyone?"}"#, None).await.unwrap();
        assert_eq!(starts(second), Some(false), "the wait began with the first");
        // An agent's reply ends the wait (its transaction removes the two attributes).
        let key = keys::conversation(&tenant, &visitor.conversation_id);
        app.table.update(&key, Update::new().remove("wait_message_id").remove("wait_since"), None).await.unwrap();
        let third = send_stored(&app, &visitor, None, br#"{"content": "thanks, one more thing"}"#, None).await.unwrap();
        assert_eq!(starts(third), Some(true));
    }

    /// The send answers the assignee the message was committed under: none while unassigned; the agent once
    /// assigned; and after a transfer that happened between the send's read and its commit, the new agent (the
    /// transaction, conditioned on the assignee read, fails and the send reads again).
    #[tokio::test]
    async fn a_send_answers_the_assignee_it_was_committed_under() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let tenant = TenantId::generate();
        let started = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let visitor = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        let first = send_stored(&app, &visitor, None, br#"{"content": "hello?"}"#, None).await.unwrap();
        assert_eq!(first.assignee, None);

        let key = keys::conversation(&tenant, &visitor.conversation_id);
        let (a, b) = (AgentId::generate(), AgentId::generate());
        app.table.update(&key, Update::new().set("assignee_id", a.as_str()), None).await.unwrap();
        let second = send_stored(&app, &visitor, None, br#"{"content": "still there?"}"#, None).await.unwrap();
        assert_eq!(second.assignee.as_ref(), Some(&a));

        // Read under `a`, transferred to `b` before the commit.
        let read = conversations::load(&app, &tenant, &visitor.conversation_id).await.unwrap().unwrap();
        app.table.update(&key, Update::new().set("assignee_id", b.as_str()), None).await.unwrap();
        let at = app.now();
        let req: SendRequest = crate::plumbing::json::parse(br#"{"content": "hello b"}"#).unwrap();
        let id = conversations::next_message_id(at);
        let replan = || plan_request(&req, &visitor, None, id.clone(), at, &Taken::default());
        let third = commit_send(&app, &visitor, None, replan().unwrap(), &replan, read, None).await.unwrap();
        assert_eq!(third.assignee.as_ref(), Some(&b), "the send read the conversation again");
        let page = poll(&app, &visitor, None, &PageRequest { limit: 10, ..PageRequest::default() }).await.unwrap();
        assert_eq!(page.items.len(), 3, "each message stored once");
    }

    #[tokio::test]
    async fn a_send_after_the_conversation_is_gone_is_not_found_and_stores_nothing() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let tenant = TenantId::generate();
        let started = start(&app, &tenant, "192.0.2.1", &StartRequest::default()).await.unwrap();
        let visitor = authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        app.table.delete(&keys::conversation(&tenant, &visitor.conversation_id), None).await.unwrap();
        let e = ApiError::from(send(&app, &visitor, None, br#"{"content": "hello?"}"#).await.unwrap_err());
        assert_eq!(e.code, "not_found");
        let polled = poll(&app, &visitor, None, &PageRequest::default()).await;
        assert!(matches!(polled, Err(ConversationError::NotFound)), "a read says it is gone: {polled:?}");
        let partition = kefu_ports::table::Query::partition(keys::conversation_pk(&tenant, &visitor.conversation_id));
        let left = app.table.query(partition).await.unwrap();
        assert!(left.items.is_empty(), "the message was not stored without its conversation: {:?}", left.items);
    }

    #[test]
    fn the_plan_refuses_bad_bodies_and_keys_before_any_io() {
        let v = Visitor {
            tenant_id: TenantId::generate(),
            conversation_id: ConversationId::generate(),
            customer_id: CustomerId::generate(),
            token_hash: String::new(),
        };
        let at = jiff::Timestamp::now();
        let plan = |body: &[u8], key: Option<&str>| {
            plan_send(body, &v, key, conversations::next_message_id(at), at).map_err(ApiError::from)
        };
        assert_eq!(plan(b"{", None).unwrap_err().code, "invalid_json");
        assert_eq!(plan(br#"{"content": ""}"#, None).unwrap_err().field.as_deref(), Some("content"));
        assert_eq!(plan(br#"{"content": "x", "extra": 1}"#, None).unwrap_err().code, "validation_failed");
        assert_eq!(
            plan(br#"{"content": "x"}"#, Some("has space")).unwrap_err().field.as_deref(),
            Some("Idempotency-Key")
        );
        let ok = plan(br#"{"content": "x"}"#, Some("k")).unwrap();
        assert_eq!(ok.ops.len(), 3);
        assert!(matches!(&ok.ops[positions::CLAIM], TxOp::Put { condition: Some(Condition::NotExists), .. }));
        assert_eq!(ok.event.data()["message"]["author"], "visitor");
        assert_eq!(ok.event.data()["message"]["author_id"], v.customer_id.as_str());
    }
}
