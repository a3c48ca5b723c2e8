//! Live chat as people expect it: typing indicators, read marks, recalls, ratings and the queue position.
//!
//! - **Typing** ([`visitor_typing`], [`agent_typing`]) costs no table write: a `typing` frame goes straight to
//!   the other side's sockets (the assignee's, or the visitor's), at most once per call. Clients throttle (one
//!   frame per keystroke burst, a final `typing: false`) and the receiving side hides the indicator by itself
//!   after a few seconds of silence. The visitor's draft reaches the agent only when the tenant turned
//!   `typing_preview` on; it is masked like message text, capped at [`MAX_DRAFT_CHARS`], and never stored or
//!   logged.
//! - **Read marks** ([`read`]): `visitor_read_up_to` / `agent_read_up_to` on the conversation move forward only
//!   (a conditional update, so a late or repeated mark changes nothing); a move emits `message.read`, which
//!   `notify` turns into a `message.read` frame for the other side.
//! - **Recall** ([`recall`]): the author within [`RECALL_WINDOW_SECS`], or a holder of `conversations.delete` at
//!   any time, withdraws a message: it stays stored with `recalled_at`, readers see it empty and
//!   `recalled: true` (holders of `audit.view` may still read it), audited (`message.recall`), and
//!   `message.recalled` tells the visitor and the assignee.
//! - **Ratings** ([`rate`], [`request_rating`]): the visitor rates 1 (bad), 2 (neutral) or 3 (good) with an
//!   optional comment; a later rating replaces the earlier one (`conversation.rated` carries both scores, so
//!   statistics count each conversation once). An agent asks with `rating.requested`.
//! - **Queue position** ([`position`], [`push_positions`]): counted on the queue's own index (gsi2, in queue
//!   order), never a scan; the estimated wait is the position times the tenant's recent interval between two
//!   conversations leaving the queue ([`QueuePace`], an average kept as they leave).

pub mod error;

use kefu_domain::{AgentId, Author, ConversationId, MessageId, Permission, TenantId, ValidationError};
use kefu_ports::table::{Condition, Index, Item, Key, Query, SkCondition, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use error::ChatError;

use crate::App;
use crate::conversations::record::{ConversationRecord, MessageRecord, Rating};
use crate::conversations::widget::Visitor;
use crate::identity::accounts::Principal;
use crate::plumbing::events::{
    ConversationRated, Envelope, MessageRead, MessageRecalled, RatingRequested, Reader, TranscriptRequested,
};
use crate::plumbing::keys;
use crate::plumbing::record::{Record, parse_ref};
use crate::realtime::frames::{Frame, types};

/// How long after sending an author may recall a message.
pub const RECALL_WINDOW_SECS: i64 = 120;

/// The longest draft a typing frame carries.
pub const MAX_DRAFT_CHARS: usize = 500;

/// The longest rating comment.
pub const MAX_COMMENT_CHARS: usize = 1000;

/// Who is typing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Who {
    /// The visitor.
    Visitor,
    /// An agent.
    Agent,
}

fn typing_frame(conversation: &ConversationId, who: Who, typing: bool, draft: Option<String>) -> Frame {
    let mut data = json!({"who": who, "typing": typing});
    if let Some(d) = draft {
        data["draft"] = Value::String(d);
    }
    Frame { frame_type: types::TYPING, conversation_id: conversation.to_string(), message: None, data: Some(data) }
}

/// Pushes one frame's text to every connection listed (typing and queue frames: nothing in them is masked).
async fn push_all(
    app: &App,
    connections: Vec<crate::realtime::Connection>,
    text: &str,
) -> Result<crate::realtime::PushReport, TableError> {
    let readers: Vec<_> = connections.into_iter().map(|c| (c, true)).collect();
    crate::realtime::push_to(app, &readers, |_| text.to_owned()).await
}

async fn conversation(app: &App, t: &TenantId, c: &ConversationId) -> Result<ConversationRecord, ChatError> {
    crate::conversations::load(app, t, c).await?.ok_or(ChatError::NotFound)
}

/// The visitor types (or stopped): a `typing` frame to the assignee's sockets, with the draft when the tenant
/// shows drafts. Nothing is stored; nobody assigned means nobody to tell.
pub async fn visitor_typing(app: &App, visitor: &Visitor, typing: bool, draft: Option<&str>) -> Result<(), ChatError> {
    let c = conversation(app, &visitor.tenant_id, &visitor.conversation_id).await?;
    let Some(agent) = c.assignee_id else { return Ok(()) };
    let draft = match draft.filter(|d| typing && !d.is_empty()) {
        Some(d) if crate::conversations::widget_settings::get(app, &visitor.tenant_id).await?.typing_preview => {
            let d: String = d.chars().take(MAX_DRAFT_CHARS).collect();
            Some(kefu_domain::masking::mask_text(&d).into_owned())
        }
        _ => None,
    };
    let frame = typing_frame(&visitor.conversation_id, Who::Visitor, typing, draft).to_text();
    push_all(app, crate::realtime::agent_connections(app, &visitor.tenant_id, &agent).await?, &frame).await?;
    Ok(())
}

/// An agent types (or stopped) in a conversation it handles: a `typing` frame to the visitor's sockets.
pub async fn agent_typing(app: &App, tenant: &TenantId, c: &ConversationId, typing: bool) -> Result<(), ChatError> {
    let frame = typing_frame(c, Who::Agent, typing, None).to_text();
    push_all(app, crate::realtime::visitor_connections(app, tenant, c.as_str()).await?, &frame).await?;
    Ok(())
}

/// `POST .../read` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ReadRequest {
    /// The last message read.
    pub up_to: String,
}

/// Marks conversation `c` read by `reader` up to message `up_to` (a message of that conversation): the mark
/// moves forward only; a move emits `message.read`. A mark at or behind the current one changes nothing. An
/// agent's mark also counts the visitor's messages it passes (`agent_read_count`, the inbox's unread count): the
/// messages between the old mark and the new one are counted and added on condition that the old mark is still
/// there, so two marks at once never count a message twice.
pub async fn read(
    app: &App,
    tenant: &TenantId,
    c: &ConversationId,
    reader: Reader,
    up_to: &str,
) -> Result<(), ChatError> {
    let bad = || ValidationError::new("up_to", "no such message in this conversation");
    let up_to = MessageId::parse(up_to).ok_or_else(bad)?;
    if app.table.get(&keys::message(tenant, c, &up_to)).await?.is_none() {
        // The conversation itself may be gone (deleted, or being deleted): say that rather than blame the message.
        if crate::conversations::load_live(app, tenant, c).await?.is_none() {
            return Err(ChatError::NotFound);
        }
        return Err(bad().into());
    }
    for _ in 0..5 {
        let current = conversation(app, tenant, c).await?;
        let (attr, mark) = match reader {
            Reader::Visitor => ("visitor_read_up_to", current.visitor_read_up_to.clone()),
            Reader::Agent => ("agent_read_up_to", current.agent_read_up_to.clone()),
        };
        if mark.as_ref().is_some_and(|m| *m >= up_to) {
            return Ok(());
        }
        let mut update = Update::new().set(attr, json!(up_to));
        if reader == Reader::Agent {
            let passed = visitor_messages_between(app, tenant, c, mark.as_ref(), &up_to).await?;
            if passed > 0 {
                update = update.add("agent_read_count", i64::try_from(passed).unwrap_or(i64::MAX));
            }
        }
        let same_mark = match &mark {
            Some(m) => Condition::eq(attr, json!(m)),
            None => Condition::AttrNotExists(attr.into()),
        };
        let op = TxOp::Update {
            key: keys::conversation(tenant, c),
            update,
            condition: Some(Condition::And(vec![Condition::Exists, same_mark])),
        };
        let event =
            Envelope::new(tenant, app.now(), MessageRead { conversation_id: c.clone(), reader, up_to: up_to.clone() });
        match crate::plumbing::outbox::commit(app, vec![op], vec![event]).await {
            Ok(()) => return Ok(()),
            // Another mark moved first: read it again and count from there.
            Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// How many of the visitor's messages lie after `after` (exclusive; from the start when `None`) and up to
/// `up_to` (inclusive): one Query of that stretch of the conversation's messages.
async fn visitor_messages_between(
    app: &App,
    tenant: &TenantId,
    c: &ConversationId,
    after: Option<&MessageId>,
    up_to: &MessageId,
) -> Result<u64, TableError> {
    let from = match after {
        Some(m) => format!("{}{}", keys::MESSAGE_PREFIX, ulid::Ulid(m.ulid().0.saturating_add(1))),
        None => keys::MESSAGE_PREFIX.to_owned(),
    };
    let to = keys::message(tenant, c, up_to).sk;
    let mut count = 0u64;
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(tenant, c))
            .sk(SkCondition::Between(from.clone(), to.clone()))
            .limit(500)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            let m = MessageRecord::from_item(item)?;
            if m.author == Author::Visitor {
                count += 1;
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(count);
        }
    }
}

/// Recalls message `message_id` of conversation `c` by `by`: its author within [`RECALL_WINDOW_SECS`], or a
/// holder of `conversations.delete` at any time (403 otherwise). Recalling a recalled message changes nothing.
/// The message stays stored (for `audit.view`); the change, its `message.recall` entry and the
/// `message.recalled` event are one transaction.
pub async fn recall(app: &App, by: &Principal, c: &ConversationId, message_id: &str) -> Result<(), ChatError> {
    let tenant = &by.tenant_id;
    let id = MessageId::parse(message_id).ok_or(ChatError::NotFound)?;
    let key = keys::message(tenant, c, &id);
    let m = MessageRecord::from_item(app.table.get(&key).await?.ok_or(ChatError::NotFound)?)?;
    if m.recalled_at.is_some() {
        return Ok(());
    }
    let now = app.now();
    let own = m.author == Author::Agent && m.author_id.as_deref() == Some(by.agent_id.as_str());
    let in_time = now.duration_since(m.created_at).as_secs() <= RECALL_WINDOW_SECS;
    if !by.permissions.has(Permission::ConversationsDelete) {
        if !own {
            return Err(ChatError::Forbidden("only its author, or a holder of conversations.delete, may recall it"));
        }
        if !in_time {
            return Err(ChatError::Forbidden("a message may be recalled within 2 minutes of sending"));
        }
    }
    let op = TxOp::Update {
        key,
        update: Update::new().set("recalled_at", json!(now)).set("recalled_by", json!(by.actor_id())),
        condition: Some(Condition::And(vec![Condition::Exists, Condition::AttrNotExists("recalled_at".into())])),
    };
    let event = Envelope::new(
        tenant,
        now,
        MessageRecalled { conversation_id: c.clone(), message_id: id.clone(), internal: m.internal },
    );
    let entry = by.audit("message.recall").target("message", &id).detail(json!({
        "conversation_id": c, "author": m.author, "author_id": m.author_id, "own": own,
    }));
    match crate::audit::commit(app, vec![op], vec![event], vec![entry]).await {
        Ok(()) | Err(TableError::TransactionCanceled { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// `POST /v1/widget/rating` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RatingRequest {
    /// 3 good, 2 neutral, 1 bad.
    pub score: i64,
    /// What the visitor wants to add.
    #[serde(default)]
    pub comment: Option<String>,
}

/// The visitor rates its conversation; a later rating replaces the earlier one. Emits `conversation.rated`.
pub async fn rate(app: &App, visitor: &Visitor, body: &RatingRequest) -> Result<(), ChatError> {
    let score = u8::try_from(body.score)
        .ok()
        .filter(|s| (1..=3).contains(s))
        .ok_or_else(|| ValidationError::new("score", "must be 1 (bad), 2 (neutral) or 3 (good)"))?;
    let comment = body.comment.as_deref().map(str::trim).filter(|c| !c.is_empty());
    if comment.is_some_and(|c| c.chars().count() > MAX_COMMENT_CHARS) {
        return Err(ValidationError::new("comment", format!("at most {MAX_COMMENT_CHARS} characters")).into());
    }
    let (t, c) = (&visitor.tenant_id, &visitor.conversation_id);
    let current = conversation(app, t, c).await?;
    let now = app.now();
    let rating = Rating { score, comment: comment.map(str::to_owned), at: now };
    let op = TxOp::Update {
        key: keys::conversation(t, c),
        update: Update::new().set("rating", json!(rating)),
        condition: Some(Condition::eq("version", json!(current.version))),
    };
    let event = Envelope::new(
        t,
        now,
        ConversationRated {
            conversation_id: c.clone(),
            score,
            previous_score: current.rating.as_ref().map(|r| r.score),
            agent_id: current.assignee_id.clone().or(current.previous_assignee_id.clone()),
            group_id: current.group_id.clone(),
        },
    );
    match crate::plumbing::outbox::commit(app, vec![op], vec![event]).await {
        Ok(()) => Ok(()),
        // The conversation moved meanwhile (a message, an assignment): rate against what it is now.
        Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => {
            Box::pin(rate(app, visitor, body)).await
        }
        Err(e) => Err(e.into()),
    }
}

/// An agent asks the visitor to rate the conversation (`rating.requested`).
pub async fn request_rating(app: &App, tenant: &TenantId, c: &ConversationId, by: &AgentId) -> Result<(), ChatError> {
    let event = Envelope::new(tenant, app.now(), RatingRequested { conversation_id: c.clone(), by: Some(by.clone()) });
    crate::plumbing::outbox::commit(app, Vec::new(), vec![event]).await?;
    Ok(())
}

/// The tenant's pace of the queue: the average interval between two conversations leaving it (seconds), kept
/// as an exponentially weighted mean so recent assignments weigh most.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuePace {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The mean interval, seconds.
    pub interval_secs: f64,
    /// When the last conversation left the queue.
    pub last_left_at: jiff::Timestamp,
}

impl Record for QueuePace {
    const TYPE: &'static str = "queue_pace";

    fn key(&self) -> Key {
        keys::queue_pace(&self.tenant_id)
    }
}

/// Intervals longer than this (an empty afternoon) are not a measure of the queue's pace.
const PACE_MAX_GAP_SECS: f64 = 3600.0;

/// Records that a queued conversation left the queue now (an assignment), updating the tenant's pace.
pub async fn left_queue(app: &App, tenant: &TenantId) -> Result<(), TableError> {
    let now = app.now();
    let current = match app.table.get(&keys::queue_pace(tenant)).await? {
        Some(item) => Some(QueuePace::from_item(item)?),
        None => None,
    };
    let next = match &current {
        None => QueuePace { tenant_id: tenant.clone(), interval_secs: 0.0, last_left_at: now },
        Some(p) => {
            let gap = now.duration_since(p.last_left_at).as_secs_f64().max(0.0);
            let interval = match (gap > PACE_MAX_GAP_SECS, p.interval_secs > 0.0) {
                (true, _) => p.interval_secs,
                (false, true) => 0.7 * p.interval_secs + 0.3 * gap,
                (false, false) => gap,
            };
            QueuePace { tenant_id: tenant.clone(), interval_secs: interval, last_left_at: now }
        }
    };
    app.table.put(next.to_item(), None).await?;
    Ok(())
}

/// A queued visitor's place and estimated wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Position {
    /// 1 for the next to be taken.
    pub position: u32,
    /// The estimated wait, when the tenant's pace is known.
    pub estimated_wait_seconds: Option<u64>,
}

/// The queue index attributes a conversation item carries while it waits in the queue.
#[derive(Debug, Deserialize)]
struct QueueEntry {
    #[serde(default)]
    gsi2pk: Option<String>,
    #[serde(default)]
    gsi2sk: Option<String>,
}

/// How many conversations of the tenant's queue come before the one at `sk` (bounded: past 10,000 the count
/// stops; the widget then shows "10000+").
async fn ahead_of(app: &App, tenant: &TenantId, sk: &str) -> Result<u32, TableError> {
    let mut count = 0u32;
    let mut cursor = None;
    loop {
        let q = Query::index(Index::Gsi2, keys::queue_pk(tenant))
            .sk(SkCondition::Lt(sk.to_owned()))
            .limit(1000)
            .after(cursor);
        let page = app.table.query(q).await?;
        count += u32::try_from(page.items.len()).unwrap_or(u32::MAX);
        cursor = page.cursor;
        if cursor.is_none() || count >= 10_000 {
            return Ok(count);
        }
    }
}

async fn pace(app: &App, tenant: &TenantId) -> Result<Option<f64>, TableError> {
    Ok(match app.table.get(&keys::queue_pace(tenant)).await? {
        Some(item) => Some(QueuePace::from_item(item)?.interval_secs).filter(|s| *s > 0.0),
        None => None,
    })
}

fn estimate(position: u32, pace: Option<f64>) -> Option<u64> {
    // Rounded to whole seconds; a pace is at most an hour, so this stays far within u64.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    pace.map(|p| (p * f64::from(position)).round() as u64)
}

/// The place of conversation `c` in its tenant's queue, `None` when it is not queued.
pub async fn position(app: &App, tenant: &TenantId, c: &ConversationId) -> Result<Option<Position>, TableError> {
    match app.table.get(&keys::conversation(tenant, c)).await? {
        Some(item) => position_of(app, tenant, &item).await,
        None => Ok(None),
    }
}

/// The place of the conversation stored as `item` (read by the caller) in its tenant's queue.
async fn position_of(app: &App, tenant: &TenantId, item: &Item) -> Result<Option<Position>, TableError> {
    let entry: QueueEntry = parse_ref("queue entry", item)?;
    let (Some(pk), Some(sk)) = (entry.gsi2pk, entry.gsi2sk) else { return Ok(None) };
    if pk != keys::queue_pk(tenant) {
        return Ok(None);
    }
    let ahead = ahead_of(app, tenant, &sk).await?;
    let position = ahead + 1;
    Ok(Some(Position { position, estimated_wait_seconds: estimate(position, pace(app, tenant).await?) }))
}

/// Tells every queued visitor of the tenant its place (`queue.position` frames), in queue order: after a
/// conversation joined or left the queue. One Query page per 1,000 queued, plus a connection lookup each.
pub async fn push_positions(app: &App, tenant: &TenantId) -> Result<crate::realtime::PushReport, TableError> {
    let pace = pace(app, tenant).await?;
    let mut report = crate::realtime::PushReport::default();
    let mut cursor = None;
    let mut position = 0u32;
    loop {
        let q = Query::index(Index::Gsi2, keys::queue_pk(tenant)).limit(1000).after(cursor);
        let page = app.table.query(q).await?;
        for item in &page.items {
            position += 1;
            let Some(c) = item.get("conversation_id").and_then(Value::as_str) else { continue };
            let connections = crate::realtime::visitor_connections(app, tenant, c).await?;
            if connections.is_empty() {
                continue;
            }
            let frame = Frame {
                frame_type: types::QUEUE_POSITION,
                conversation_id: c.to_owned(),
                message: None,
                data: Some(json!({"position": position, "estimated_wait_seconds": estimate(position, pace)})),
            }
            .to_text();
            report += push_all(app, connections, &frame).await?;
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(report);
        }
    }
}

/// What the widget shows about its conversation (`GET /v1/widget/conversation`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct WidgetConversation {
    /// The conversation.
    pub conversation_id: String,
    /// `open` | `queued` | `closed`.
    pub status: String,
    /// Who answers, by name.
    pub assignee: Option<AssigneeName>,
    /// The place in the queue while queued.
    pub queue_position: Option<u32>,
    /// The estimated wait while queued, when known.
    pub estimated_wait_seconds: Option<u64>,
    /// The last of the visitor's messages an agent has read.
    pub agent_read_up_to: Option<String>,
    /// The visitor's rating, if given.
    pub rating: Option<crate::conversations::RatingView>,
}

/// An assignee as the visitor sees it: a name only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct AssigneeName {
    /// The agent's display name.
    pub name: String,
}

/// The visitor's view of its conversation.
pub async fn widget_conversation(app: &App, visitor: &Visitor) -> Result<WidgetConversation, ChatError> {
    let (t, c) = (&visitor.tenant_id, &visitor.conversation_id);
    // One read of the conversation serves both its fields and its place in the queue.
    let item = app.table.get(&keys::conversation(t, c)).await?.ok_or(ChatError::NotFound)?;
    let conv = ConversationRecord::from_ref(&item)?;
    let assignee = match &conv.assignee_id {
        Some(a) => crate::identity::accounts::display_name(app, t, a).await?.map(|name| AssigneeName { name }),
        None => None,
    };
    let pos = position_of(app, t, &item).await?;
    let detail = crate::conversations::ConversationDetail::of(&conv);
    Ok(WidgetConversation {
        conversation_id: c.to_string(),
        status: conv.status.shown().as_str().to_owned(),
        assignee,
        queue_position: pos.map(|p| p.position),
        estimated_wait_seconds: pos.and_then(|p| p.estimated_wait_seconds),
        agent_read_up_to: detail.agent_read_up_to,
        rating: detail.rating,
    })
}

/// `POST .../typing` body (staff).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TypingRequest {
    /// Typing now, or stopped.
    pub typing: bool,
}

/// `POST /v1/widget/typing` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct VisitorTypingRequest {
    /// Typing now, or stopped.
    pub typing: bool,
    /// What the visitor has typed so far (shown to the agent only with `typing_preview`; never stored).
    #[serde(default)]
    pub draft: Option<String>,
}

/// `notify`'s part on `conversation.assigned`: when the conversation came from the queue, the tenant's pace is
/// updated and every visitor still queued hears its new place.
pub async fn on_assigned(
    app: &App,
    tenant: &TenantId,
    assigned: &crate::plumbing::events::ConversationAssigned,
) -> Result<crate::realtime::PushReport, TableError> {
    let Some(c) = crate::conversations::load(app, tenant, &assigned.conversation_id).await? else {
        return Ok(crate::realtime::PushReport::default());
    };
    let from_queue =
        assigned.previous_agent_id.is_none() && c.queued_at.is_some_and(|q| c.assigned_at.is_some_and(|a| a >= q));
    if !from_queue {
        return Ok(crate::realtime::PushReport::default());
    }
    left_queue(app, tenant).await?;
    // Its own visitor hears it is out of the queue (a null place); the others hear their new places.
    let out = Frame {
        frame_type: types::QUEUE_POSITION,
        conversation_id: c.conversation_id.to_string(),
        message: None,
        data: Some(json!({"position": null, "estimated_wait_seconds": null})),
    }
    .to_text();
    let connections = crate::realtime::visitor_connections(app, tenant, c.conversation_id.as_str()).await?;
    let mut report = push_all(app, connections, &out).await?;
    report += push_positions(app, tenant).await?;
    Ok(report)
}

/// Transcripts a visitor may ask for per conversation and hour.
pub const TRANSCRIPTS_PER_HOUR: u32 = 3;

/// `POST /v1/widget/transcript` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TranscriptRequest {
    /// Where to send the conversation.
    pub email: String,
}

/// The visitor asks for its conversation by email: checked and rate limited ([`TRANSCRIPTS_PER_HOUR`] per
/// conversation), then accepted as a `transcript.requested` event; `notify` sends it ([`send_transcript`]).
pub async fn request_transcript(app: &App, visitor: &Visitor, body: &TranscriptRequest) -> Result<(), ChatError> {
    let email =
        kefu_domain::text::Email::parse(body.email.trim()).map_err(|e| ValidationError::new("email", e.message))?;
    // A conversation deleted (or being deleted) has nothing left to mail: say so rather than accept.
    if crate::conversations::load_live(app, &visitor.tenant_id, &visitor.conversation_id).await?.is_none() {
        return Err(ChatError::NotFound);
    }
    crate::plumbing::ratelimit::hit(
        app,
        "widget.transcript",
        visitor.conversation_id.as_str(),
        TRANSCRIPTS_PER_HOUR,
        std::time::Duration::from_secs(3600),
    )
    .await?;
    let event = Envelope::new(
        &visitor.tenant_id,
        app.now(),
        TranscriptRequested { conversation_id: visitor.conversation_id.clone(), email: email.as_str().to_owned() },
    );
    crate::plumbing::outbox::commit(app, Vec::new(), vec![event]).await?;
    Ok(())
}

/// The transcript's text: the visitor's view of the conversation (no internal notes; a recalled message shows
/// as withdrawn), oldest first, each line with its time (UTC) and author.
pub fn transcript_text(messages: &[MessageRecord]) -> String {
    let mut out = String::from("Your conversation\n\n");
    for m in messages.iter().filter(|m| !m.internal) {
        let who = match m.author {
            Author::Visitor => "You",
            Author::Agent => "Agent",
            Author::Bot => "Bot",
            Author::System => "Notice",
        };
        let text = if m.recalled_at.is_some() { "(message withdrawn)" } else { m.content.as_str() };
        out.push_str(&format!("[{}] {who}: {text}\n", m.created_at.strftime("%Y-%m-%d %H:%M")));
    }
    out
}

/// `notify`'s part on `transcript.requested`: reads the conversation's messages (every page) and mails them.
pub async fn send_transcript(app: &App, tenant: &TenantId, t: &TranscriptRequested) -> Result<(), TranscriptError> {
    let mut messages = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(tenant, &t.conversation_id))
            .sk(SkCondition::Between(keys::MESSAGE_PREFIX.to_owned(), keys::MESSAGE_END.to_owned()))
            .limit(500)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            messages.push(MessageRecord::from_item(item).map_err(TableError::from)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    if messages.is_empty() {
        return Ok(());
    }
    app.mailer.send_email(&t.email, "Your conversation", &transcript_text(&messages)).await?;
    Ok(())
}

/// Why a transcript was not sent.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The store failed (retry).
    #[error(transparent)]
    Table(#[from] TableError),
    /// The mailer refused or failed.
    #[error(transparent)]
    Mail(#[from] kefu_ports::MailError),
}
