//! Files attached to messages, both ways (issue 15; API.md `POST /v1/widget/attachments`,
//! `POST /v1/conversations/{id}/attachments`).
//!
//! 1. **Upload** ([`create`]): the visitor or an agent declares `{name, content_type, size}`; the type must be
//!    in the tenant's `attachments.content_types` (400) and the size at most `attachments.max_bytes` (413). A
//!    *pending* [`AttachmentRecord`] is stored in the conversation's partition, and the answer holds a link
//!    that takes exactly `size` bytes for 15 minutes: an S3 presigned `PUT` in AWS, a signed local URL in
//!    `kefu serve` (HMAC over tenant, conversation, attachment, size and expiry; [`upload_local`] stores the
//!    bytes and refuses a wrong size or a stale signature). The bytes go under `pending/…`.
//! 2. **Send** ([`take`]): a message with `attachment_ids` takes pending attachments of *the same conversation
//!    and the same uploader*; each must exist in the blob store with its declared size and carry the signature
//!    of its declared type (`kefu_domain::attachment::bytes_match`), else 400 on `attachment_ids[i]`. The bytes
//!    move to `attachments/{t}/{c}/{a}` (out of `pending/`, which S3 expires after a day), and the record turns
//!    *attached* in the message's own transaction (conditioned on still being pending, so one upload goes with
//!    one message).
//! 3. **Read** ([`link_views`]): every read makes fresh download links that live [`LINK_SECS`] (S3 presigned
//!    `GET`, or a signed local link served by [`download_local`]).
//! 4. **Expiry** ([`sweep_expired`], every minute from `timers`): a pending upload lives a day; its record
//!    carries `ttl` and sits in a due list (gsi1 `UPLOADDUE#{shard}`, by expiry, never a Scan), and the sweep
//!    deletes the record and the pending bytes. In AWS an S3 lifecycle rule on `pending/` removes the bytes too.
//! 5. **Deletion** ([`delete_blobs_of`]): when a conversation is deleted (retention), its files go with it.

use std::collections::BTreeMap;

use bytes::Bytes;
use jiff::{SignedDuration, Timestamp};
use kefu_domain::attachment::{self as rules, AttachmentMeta};
use kefu_domain::{AttachmentId, ConversationId, MessageId, TenantId, ValidationError};
use kefu_ports::table::{CmpOp, Condition, Index, Key, Query, SkCondition, TableError, TxOp, Update};
use kefu_ports::{BlobError, PresignedPut};
use serde::{Deserialize, Serialize};

pub use super::error::AttachmentError;
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How long an upload link works.
pub const UPLOAD_LINK_SECS: i64 = 15 * 60;
/// How long a download link works (API.md: at most 15 minutes).
pub const LINK_SECS: i64 = 15 * 60;
/// How long an upload may wait for its message: a day.
pub const PENDING_SECS: i64 = 24 * 60 * 60;

/// How many uploads one uploader may declare a minute (each is a stored record and a signed link).
pub const UPLOADS_PER_MINUTE: u32 = 20;

/// How long after its expiry a pending record stays for the sweep before the store's TTL may drop it.
pub const TTL_GRACE_SECS: i64 = 60 * 60;

/// Where an attachment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AttachmentStatus {
    /// Declared, maybe uploaded, not yet sent (expires after [`PENDING_SECS`]).
    Pending,
    /// Sent with a message.
    Attached,
}

/// An attachment: `T#{t}#CONV#{c}` / `UPLOAD#{a}`; while pending, in the due list (gsi1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentRecord {
    /// Its id.
    pub attachment_id: AttachmentId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// Its conversation: only a message of this conversation may carry it.
    pub conversation_id: ConversationId,
    /// Who uploaded it (the visitor's customer id or the agent's id): only they may send it.
    pub uploader: String,
    /// The file's name.
    pub name: String,
    /// Its declared MIME type.
    pub content_type: String,
    /// Its declared size in bytes.
    pub size: u64,
    /// Pending or attached.
    pub status: AttachmentStatus,
    /// When it was declared.
    pub created_at: Timestamp,
    /// When a pending upload is removed.
    pub expires_at: Timestamp,
    /// The message that carries it, once attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<MessageId>,
    /// DynamoDB's expiry (epoch seconds) while pending; removed when attached.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<i64>,
}

fn shard_of(a: &AttachmentId) -> u32 {
    keys::shard_of(a.as_str(), keys::UPLOAD_DUE_SHARDS)
}

fn due_sk(at: Timestamp, t: &TenantId, c: &ConversationId, a: &AttachmentId) -> String {
    format!("{:013}#{t}#{c}#{a}", at.as_millisecond().max(0))
}

impl Record for AttachmentRecord {
    const TYPE: &'static str = "attachment";

    fn key(&self) -> Key {
        keys::attachment(&self.tenant_id, &self.conversation_id, &self.attachment_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        match self.status {
            AttachmentStatus::Pending => vec![
                (Index::Gsi1.pk_attr(), keys::upload_due_pk(shard_of(&self.attachment_id))),
                (
                    Index::Gsi1.sk_attr(),
                    due_sk(self.expires_at, &self.tenant_id, &self.conversation_id, &self.attachment_id),
                ),
            ],
            AttachmentStatus::Attached => Vec::new(),
        }
    }
}

/// Where the bytes of a pending upload are (S3 expires the `pending/` prefix after a day).
pub fn pending_key(t: &TenantId, c: &ConversationId, a: &AttachmentId) -> String {
    format!("pending/{t}/{c}/{a}")
}

/// Where the bytes of a sent attachment are.
pub fn blob_key(t: &TenantId, c: &ConversationId, a: &AttachmentId) -> String {
    format!("attachments/{t}/{c}/{a}")
}

/// `POST …/attachments` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// The file's name, 1..=200 characters.
    pub name: String,
    /// Its MIME type: one of the tenant's `attachments.content_types`.
    pub content_type: String,
    /// Its size in bytes, 1..=`attachments.max_bytes`.
    pub size: u64,
}

/// `POST …/attachments` answer: where to `PUT` the bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct UploadTicket {
    /// The id a message then names in `attachment_ids`.
    pub attachment_id: String,
    /// Where to `PUT` exactly `size` bytes.
    pub upload_url: String,
    /// Headers to send with the `PUT`.
    pub upload_headers: BTreeMap<String, String>,
    /// When the upload link stops working.
    pub expires_at: String,
}

/// A file as a message shows it (API.md): its metadata and a download link made afresh on every read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct AttachmentView {
    /// The attachment's id.
    pub id: String,
    /// The file's name.
    pub name: String,
    /// Its MIME type.
    pub content_type: String,
    /// Its size in bytes.
    pub size: u64,
    /// A download link that lives at most 15 minutes (empty only in a view built before its links were made).
    pub url: String,
}

impl AttachmentView {
    /// The view of a message's attachment before [`link_views`] gives it its link.
    pub fn unlinked(m: &AttachmentMeta) -> Self {
        Self {
            id: m.id.to_string(),
            name: m.name.clone(),
            content_type: m.content_type.clone(),
            size: m.size,
            url: String::new(),
        }
    }
}

/// The base URL of `kefu serve`'s own links, from its configuration (the WebSocket URL it derives from
/// `KEFU_PUBLIC_URL` or the bound address), never from a request's `Host` header.
fn local_base(app: &App) -> String {
    // The realtime capability's local WebSocket path (`realtime::LOCAL_WS_PATH`), which this one may not name.
    const WS_PATH: &str = "/v1/realtime/ws";
    let ws = app.config.websocket_url.as_deref().unwrap_or("ws://localhost");
    let ws = ws.strip_suffix(WS_PATH).unwrap_or(ws);
    match (ws.strip_prefix("wss://"), ws.strip_prefix("ws://")) {
        (Some(rest), _) => format!("https://{rest}"),
        (None, Some(rest)) => format!("http://{rest}"),
        _ => ws.to_owned(),
    }
    .trim_end_matches('/')
    .to_owned()
}

/// The key local links are signed with: made once at random (the first writer wins), then read.
async fn link_key(app: &App) -> Result<Vec<u8>, AttachmentError> {
    #[derive(Serialize, Deserialize)]
    struct LinkKey {
        key: String,
    }
    for _ in 0..2 {
        if let Some(item) = app.table.get(&keys::attachment_link_key()).await? {
            let k: LinkKey = record::parse("attachment link key", item)?;
            return hex::decode(k.key).map_err(|e| AttachmentError::Table(TableError::Invalid(e.to_string())));
        }
        let fresh = LinkKey { key: hex::encode(rand::random::<[u8; 32]>()) };
        match app.table.put(record::item_of(keys::attachment_link_key(), &fresh), Some(Condition::NotExists)).await {
            Ok(()) | Err(TableError::ConditionFailed) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(AttachmentError::Table(TableError::Invalid("the attachment link key cannot be read".into())))
}

fn upload_text(t: &TenantId, c: &ConversationId, a: &AttachmentId, size: u64, expires: i64) -> String {
    format!("put/{t}/{c}/{a}/{size}/{expires}")
}

fn download_text(t: &TenantId, c: &ConversationId, a: &AttachmentId, expires: i64) -> String {
    format!("get/{t}/{c}/{a}/{expires}")
}

fn sign(key: &[u8], text: &str) -> String {
    kefu_domain::webhook::sign(key, text.as_bytes()).trim_start_matches("sha256=").to_owned()
}

fn verify(key: &[u8], text: &str, sig: &str) -> bool {
    kefu_domain::webhook::verify(key, text.as_bytes(), &format!("sha256={sig}"))
}

/// Declares an upload in `conversation` by `uploader` (a customer id or an agent id) and answers where to put
/// the bytes. `visitor`: the widget's call, which needs the tenant to have turned uploads on.
pub async fn create(
    app: &App,
    tenant: &TenantId,
    conversation: &ConversationId,
    uploader: &str,
    visitor: bool,
    req: &UploadRequest,
) -> Result<UploadTicket, AttachmentError> {
    let settings = super::widget_settings::get(app, tenant).await?.attachments;
    if visitor && !settings.enabled {
        return Err(AttachmentError::Disabled);
    }
    let name = rules::parse_name(&req.name, "name")?;
    let content_type = kefu_domain::widget::parse_content_type(&req.content_type, "content_type")?;
    if content_type.ends_with("/*") || !rules::type_accepted(&settings.content_types, &content_type) {
        return Err(ValidationError::new("content_type", "this type of file is not accepted").into());
    }
    if req.size == 0 {
        return Err(ValidationError::new("size", "must be at least 1").into());
    }
    if req.size > settings.max_bytes {
        return Err(AttachmentError::TooLarge { max: settings.max_bytes });
    }
    let window = crate::plumbing::ratelimit::limits::MINUTE;
    crate::plumbing::ratelimit::hit(app, "attachments.create", uploader, UPLOADS_PER_MINUTE, window).await?;
    let at = app.now();
    let id = AttachmentId::generate();
    let expires_at = at + SignedDuration::from_secs(PENDING_SECS);
    let r = AttachmentRecord {
        attachment_id: id.clone(),
        tenant_id: tenant.clone(),
        conversation_id: conversation.clone(),
        uploader: uploader.to_owned(),
        name,
        content_type: content_type.clone(),
        size: req.size,
        status: AttachmentStatus::Pending,
        created_at: at,
        expires_at,
        message_id: None,
        // An hour past the expiry, so the sweep (which removes the bytes too) finds the record before the store
        // drops it.
        ttl: Some(expires_at.as_second() + TTL_GRACE_SECS),
    };
    // Registered only while the conversation is there and its deletion has not begun: a record written into a
    // partition being deleted would outlive it.
    let ops = vec![
        TxOp::Put { item: r.to_item(), condition: Some(Condition::NotExists) },
        super::still_there(tenant, conversation),
    ];
    match app.table.transact(ops).await {
        Ok(_) => {}
        Err(TableError::TransactionCanceled { .. }) => return Err(AttachmentError::NotFound),
        Err(e) => return Err(e.into()),
    }
    let link_expires = at + SignedDuration::from_secs(UPLOAD_LINK_SECS);
    let life = std::time::Duration::from_secs(UPLOAD_LINK_SECS.unsigned_abs());
    let key = pending_key(tenant, conversation, &id);
    let (upload_url, upload_headers) = match app.blobs.presign_put(&key, &content_type, req.size, life).await? {
        Some(PresignedPut { url, headers }) => (url, headers.into_iter().collect()),
        None => {
            let expires = link_expires.as_second();
            let sig = sign(&link_key(app).await?, &upload_text(tenant, conversation, &id, req.size, expires));
            let url = format!(
                "{}/v1/widget/uploads/{id}?tenant_id={tenant}&conversation_id={conversation}&size={}&expires={expires}&sig={sig}",
                local_base(app),
                req.size
            );
            (url, BTreeMap::from([("content-type".to_owned(), content_type)]))
        }
    };
    Ok(UploadTicket { attachment_id: id.to_string(), upload_url, upload_headers, expires_at: link_expires.to_string() })
}

/// What a local signed link names (its query string).
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "http", into_params(parameter_in = Query))]
pub struct LinkQuery {
    /// The attachment's tenant.
    pub tenant_id: Option<String>,
    /// Its conversation.
    pub conversation_id: Option<String>,
    /// The size the upload link allows (upload links only).
    pub size: Option<u64>,
    /// When the link expires (epoch seconds).
    pub expires: Option<i64>,
    /// The signature.
    pub sig: Option<String>,
}

struct Linked {
    tenant: TenantId,
    conversation: ConversationId,
    id: AttachmentId,
    expires: i64,
    sig: String,
}

fn linked(app: &App, id: &str, q: &LinkQuery) -> Result<Linked, AttachmentError> {
    let (Some(tenant), Some(conversation), Some(id), Some(expires), Some(sig)) = (
        q.tenant_id.as_deref().and_then(TenantId::parse),
        q.conversation_id.as_deref().and_then(ConversationId::parse),
        AttachmentId::parse(id),
        q.expires,
        q.sig.clone(),
    ) else {
        return Err(AttachmentError::NotFound);
    };
    if expires <= app.now().as_second() {
        return Err(AttachmentError::NotFound);
    }
    Ok(Linked { tenant, conversation, id, expires, sig })
}

async fn load(
    app: &App,
    t: &TenantId,
    c: &ConversationId,
    a: &AttachmentId,
) -> Result<Option<AttachmentRecord>, AttachmentError> {
    match app.table.get(&keys::attachment(t, c, a)).await? {
        Some(item) => Ok(Some(AttachmentRecord::from_item(item)?)),
        None => Ok(None),
    }
}

/// `PUT` through a local signed upload link (`kefu serve`): stores the bytes of a pending upload. A forged or
/// expired link, or an attachment no longer pending, is [`AttachmentError::NotFound`]; a body of another size
/// than the link allows is 400 on `size`.
pub async fn upload_local(app: &App, id: &str, q: &LinkQuery, body: Bytes) -> Result<(), AttachmentError> {
    let l = linked(app, id, q)?;
    let size = q.size.ok_or(AttachmentError::NotFound)?;
    if !verify(&link_key(app).await?, &upload_text(&l.tenant, &l.conversation, &l.id, size, l.expires), &l.sig) {
        return Err(AttachmentError::NotFound);
    }
    let r = load(app, &l.tenant, &l.conversation, &l.id).await?.ok_or(AttachmentError::NotFound)?;
    if r.status != AttachmentStatus::Pending {
        return Err(AttachmentError::NotFound);
    }
    if body.len() as u64 != size {
        return Err(ValidationError::new("size", format!("the upload must be exactly {size} bytes")).into());
    }
    app.blobs.put(&pending_key(&l.tenant, &l.conversation, &l.id), body, &r.content_type).await?;
    Ok(())
}

/// A downloaded attachment: its bytes and how they are served.
#[derive(Debug)]
pub struct Download {
    /// The file.
    pub body: Bytes,
    /// Its content type.
    pub content_type: String,
    /// Its name.
    pub name: String,
    /// Whether a browser may show it inline (pictures and PDF); anything else is offered as a download.
    pub inline: bool,
}

/// `GET` through a local signed download link (`kefu serve`): the bytes of a sent attachment. A forged or stale
/// link is [`AttachmentError::NotFound`].
pub async fn download_local(app: &App, id: &str, q: &LinkQuery) -> Result<Download, AttachmentError> {
    let l = linked(app, id, q)?;
    if !verify(&link_key(app).await?, &download_text(&l.tenant, &l.conversation, &l.id, l.expires), &l.sig) {
        return Err(AttachmentError::NotFound);
    }
    let r = load(app, &l.tenant, &l.conversation, &l.id).await?.ok_or(AttachmentError::NotFound)?;
    if r.status != AttachmentStatus::Attached {
        return Err(AttachmentError::NotFound);
    }
    let body = app.blobs.get(&blob_key(&l.tenant, &l.conversation, &l.id)).await?.ok_or(AttachmentError::NotFound)?;
    let inline = rules::is_image(&r.content_type) || r.content_type == "application/pdf";
    Ok(Download { body, content_type: r.content_type, name: r.name, inline })
}

/// Attachments checked and copied for a message, ready to commit with it.
#[derive(Debug, Clone, Default)]
pub struct Taken {
    /// What the message keeps.
    pub metas: Vec<AttachmentMeta>,
    /// The records' updates (pending → attached), to add to the message's transaction.
    pub ops: Vec<TxOp>,
    tenant: Option<TenantId>,
    conversation: Option<ConversationId>,
}

fn refused(i: usize, why: &str) -> AttachmentError {
    ValidationError::new(format!("attachment_ids[{i}]"), why).into()
}

/// Checks the attachments a message of `uploader` in `conversation` names and copies their bytes out of
/// `pending/`: each must be a pending upload of this conversation by this uploader, uploaded, of its declared
/// size and type (else 400 on `attachment_ids[i]`). Nothing is attached until [`Taken::ops`] commit with the
/// message; then [`settle`] (or, when the message fails, [`abandon`]).
pub async fn take(
    app: &App,
    tenant: &TenantId,
    conversation: &ConversationId,
    uploader: &str,
    ids: &[String],
    message: &MessageId,
) -> Result<Taken, AttachmentError> {
    if ids.is_empty() {
        return Ok(Taken::default());
    }
    if ids.len() > rules::MAX_PER_MESSAGE {
        let why = format!("a message carries at most {} attachments", rules::MAX_PER_MESSAGE);
        return Err(ValidationError::new("attachment_ids", why).into());
    }
    let now = app.now();
    let mut taken =
        Taken { tenant: Some(tenant.clone()), conversation: Some(conversation.clone()), ..Taken::default() };
    for (i, raw) in ids.iter().enumerate() {
        let id = AttachmentId::parse(raw).ok_or_else(|| refused(i, "must be an attachment id"))?;
        if taken.metas.iter().any(|m| m.id == id) {
            return Err(refused(i, "names the same attachment twice"));
        }
        // Another conversation's or another uploader's attachment reads the same as a missing one.
        let r = load(app, tenant, conversation, &id)
            .await?
            .filter(|r| r.uploader == uploader)
            .ok_or_else(|| refused(i, "no such upload in this conversation"))?;
        if r.status != AttachmentStatus::Pending {
            return Err(refused(i, "was sent already"));
        }
        if r.expires_at <= now {
            return Err(refused(i, "has expired; upload it again"));
        }
        let bytes = app
            .blobs
            .get(&pending_key(tenant, conversation, &id))
            .await?
            .ok_or_else(|| refused(i, "was never uploaded"))?;
        if bytes.len() as u64 != r.size {
            return Err(refused(i, "the uploaded file does not have its declared size"));
        }
        if !rules::bytes_match(&r.content_type, &bytes) {
            return Err(refused(i, &format!("the uploaded file is not {}", r.content_type)));
        }
        app.blobs.put(&blob_key(tenant, conversation, &id), bytes, &r.content_type).await?;
        taken.ops.push(TxOp::Update {
            key: keys::attachment(tenant, conversation, &id),
            update: Update::new()
                .set("status", "attached")
                .set("message_id", message.as_str())
                .remove("ttl")
                .remove(Index::Gsi1.pk_attr())
                .remove(Index::Gsi1.sk_attr()),
            condition: Some(Condition::And(vec![Condition::Exists, Condition::cmp("status", CmpOp::Eq, "pending")])),
        });
        taken.metas.push(AttachmentMeta { id, name: r.name, content_type: r.content_type, size: r.size });
    }
    Ok(taken)
}

/// After the message committed: the pending copies go (best effort: S3's lifecycle rule and the sweep catch
/// what a failure leaves).
pub async fn settle(app: &App, taken: &Taken) {
    let (Some(t), Some(c)) = (&taken.tenant, &taken.conversation) else { return };
    for m in &taken.metas {
        if let Err(e) = app.blobs.delete(&pending_key(t, c, &m.id)).await {
            tracing::warn!(error = %e, attachment_id = %m.id, "pending upload not removed");
        }
    }
}

/// After the message failed: the copies made for it go; the uploads stay pending (best effort).
pub async fn abandon(app: &App, taken: &Taken) {
    let (Some(t), Some(c)) = (&taken.tenant, &taken.conversation) else { return };
    for m in &taken.metas {
        if let Err(e) = app.blobs.delete(&blob_key(t, c, &m.id)).await {
            tracing::warn!(error = %e, attachment_id = %m.id, "copy of an unsent attachment not removed");
        }
    }
}

/// Gives every attachment of `views` (messages of `tenant`) a fresh download link.
pub async fn link_views(app: &App, tenant: &TenantId, views: &mut [super::MessageView]) -> Result<(), AttachmentError> {
    if views.iter().all(|v| v.attachments.is_empty()) {
        return Ok(());
    }
    let life = std::time::Duration::from_secs(LINK_SECS.unsigned_abs());
    let expires = (app.now() + SignedDuration::from_secs(LINK_SECS)).as_second();
    let mut local: Option<(Vec<u8>, String)> = None;
    for v in views.iter_mut() {
        let Some(c) = ConversationId::parse(&v.conversation_id) else { continue };
        for a in &mut v.attachments {
            let Some(id) = AttachmentId::parse(&a.id) else { continue };
            if let Some(url) = app.blobs.presign_get(&blob_key(tenant, &c, &id), life).await? {
                a.url = url;
                continue;
            }
            if local.is_none() {
                local = Some((link_key(app).await?, local_base(app)));
            }
            let (key, base) = local.as_ref().expect("set above");
            let sig = sign(key, &download_text(tenant, &c, &id, expires));
            a.url = format!(
                "{base}/v1/widget/files/{id}?tenant_id={tenant}&conversation_id={c}&expires={expires}&sig={sig}"
            );
        }
    }
    Ok(())
}

/// Removes the pending uploads whose day has passed (records and bytes), from the due list's shards (no Scan),
/// a page of 100 per shard per call. Answers how many went. Run every minute by `timers`.
pub async fn sweep_expired(app: &App, at: Timestamp) -> Result<u64, AttachmentError> {
    let mut removed = 0;
    for shard in 0..keys::UPLOAD_DUE_SHARDS {
        let q = Query::index(Index::Gsi1, keys::upload_due_pk(shard))
            // Due at or before `at` (what `take` refuses as expired).
            .sk(SkCondition::Lt(format!("{:013}", at.as_millisecond().max(0) + 1)))
            .limit(100);
        for item in app.table.query(q).await?.items {
            let r = AttachmentRecord::from_item(item)?;
            if r.status != AttachmentStatus::Pending {
                continue;
            }
            app.blobs.delete(&pending_key(&r.tenant_id, &r.conversation_id, &r.attachment_id)).await?;
            let still_pending = Condition::And(vec![Condition::Exists, Condition::cmp("status", CmpOp::Eq, "pending")]);
            match app.table.delete(&r.key(), Some(still_pending)).await {
                Ok(_) => removed += 1,
                // Sent in the meantime: its bytes were copied out of `pending/` first.
                Err(TableError::ConditionFailed) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    if removed > 0 {
        tracing::info!(removed, "expired uploads removed");
    }
    Ok(removed)
}

/// Removes every file of a conversation (sent and pending), when the conversation itself is deleted.
pub async fn delete_blobs_of(app: &App, t: &TenantId, c: &ConversationId) -> Result<u64, BlobError> {
    let mut n = 0;
    for prefix in [format!("attachments/{t}/{c}/"), format!("pending/{t}/{c}/")] {
        for key in app.blobs.list(&prefix).await? {
            app.blobs.delete(&key).await?;
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;

    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n0123456789";

    fn query_of(url: &str) -> (String, LinkQuery) {
        let (path, query) = url.split_once('?').expect("a query");
        let id = path.rsplit('/').next().unwrap().to_owned();
        let mut q = LinkQuery::default();
        for (k, v) in query.split('&').filter_map(|p| p.split_once('=')) {
            match k {
                "tenant_id" => q.tenant_id = Some(v.to_owned()),
                "conversation_id" => q.conversation_id = Some(v.to_owned()),
                "size" => q.size = v.parse().ok(),
                "expires" => q.expires = v.parse().ok(),
                "sig" => q.sig = Some(v.to_owned()),
                _ => {}
            }
        }
        (id, q)
    }

    async fn pending(app: &App) -> Vec<AttachmentRecord> {
        let mut out = Vec::new();
        for shard in 0..keys::UPLOAD_DUE_SHARDS {
            let page = app.table.query(Query::index(Index::Gsi1, keys::upload_due_pk(shard))).await.unwrap();
            out.extend(page.items.into_iter().map(|i| AttachmentRecord::from_item(i).unwrap()));
        }
        out
    }

    #[tokio::test]
    async fn no_upload_is_registered_in_a_conversation_gone_or_being_deleted() {
        let clock = Arc::new(ManualClock::new("2026-05-01T08:00:00Z".parse().unwrap()));
        let e = crate::testing::EmbeddedApp::new(clock);
        let app = e.app.clone();
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        let req = UploadRequest { name: "shot.png".into(), content_type: "image/png".into(), size: PNG.len() as u64 };

        let r = create(&app, &t, &c, "cu_x", false, &req).await;
        assert!(matches!(r, Err(AttachmentError::NotFound)), "no such conversation: {r:?}");

        crate::testing::put_conversation(&app, &t, &c, app.now()).await;
        create(&app, &t, &c, "cu_x", false, &req).await.unwrap();
        assert!(super::super::begin_delete(&app, &t, &c).await.unwrap());
        let r = create(&app, &t, &c, "cu_x", false, &req).await;
        assert!(matches!(r, Err(AttachmentError::NotFound)), "its deletion has begun: {r:?}");

        let partition = app.table.query(Query::partition(keys::conversation_pk(&t, &c))).await.unwrap();
        assert_eq!(partition.items.len(), 2, "the conversation and the upload declared before the mark");
        assert_eq!(pending(&app).await.len(), 1);
    }

    #[tokio::test]
    async fn links_expire_and_an_unsent_upload_is_gone_after_a_day() {
        let clock = Arc::new(ManualClock::new("2026-05-01T08:00:00Z".parse().unwrap()));
        let e = crate::testing::EmbeddedApp::new(clock.clone());
        let app = e.app.clone();
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        crate::testing::put_conversation(&app, &t, &c, app.now()).await;
        let req = UploadRequest { name: "shot.png".into(), content_type: "image/png".into(), size: PNG.len() as u64 };

        // An upload link works for 15 minutes.
        let late = create(&app, &t, &c, "cu_x", false, &req).await.unwrap();
        let (late_id, late_q) = query_of(&late.upload_url);
        clock.advance(SignedDuration::from_secs(16 * 60));
        let r = upload_local(&app, &late_id, &late_q, Bytes::from_static(PNG)).await;
        assert!(matches!(r, Err(AttachmentError::NotFound)), "an expired upload link: {r:?}");

        // Uploaded in time, but never sent: after a day it is refused, then swept with its bytes.
        let kept = create(&app, &t, &c, "cu_x", false, &req).await.unwrap();
        let (kept_id, kept_q) = query_of(&kept.upload_url);
        upload_local(&app, &kept_id, &kept_q, Bytes::from_static(PNG)).await.unwrap();
        let kept_id = AttachmentId::parse(&kept_id).unwrap();
        assert!(app.blobs.get(&pending_key(&t, &c, &kept_id)).await.unwrap().is_some());
        assert_eq!(pending(&app).await.len(), 2, "both wait in the due list");
        assert_eq!(sweep_expired(&app, app.now()).await.unwrap(), 0, "nothing is due yet");

        clock.advance(SignedDuration::from_secs(24 * 3600));
        let message = MessageId::generate();
        let r = take(&app, &t, &c, "cu_x", &[kept_id.to_string()], &message).await;
        match r {
            Err(AttachmentError::Invalid(v)) => assert!(v.message.contains("expired"), "{v:?}"),
            other => panic!("an expired upload is refused: {other:?}"),
        }
        assert_eq!(sweep_expired(&app, app.now()).await.unwrap(), 2);
        assert!(pending(&app).await.is_empty());
        assert!(app.blobs.get(&pending_key(&t, &c, &kept_id)).await.unwrap().is_none(), "the bytes went too");
        assert!(load(&app, &t, &c, &kept_id).await.unwrap().is_none());
        assert_eq!(sweep_expired(&app, app.now()).await.unwrap(), 0, "a second sweep finds nothing");
    }

    #[tokio::test]
    async fn a_taken_upload_leaves_the_due_list_and_its_download_link_expires() {
        let clock = Arc::new(ManualClock::new("2026-05-01T08:00:00Z".parse().unwrap()));
        let e = crate::testing::EmbeddedApp::new(clock.clone());
        let app = e.app.clone();
        let (t, c) = (TenantId::generate(), ConversationId::generate());
        crate::testing::put_conversation(&app, &t, &c, app.now()).await;
        let req = UploadRequest { name: "shot.png".into(), content_type: "image/png".into(), size: PNG.len() as u64 };
        let ticket = create(&app, &t, &c, "ag_x", false, &req).await.unwrap();
        let (id, q) = query_of(&ticket.upload_url);
        let mut wrong = q.clone();
        wrong.size = Some(3);
        assert!(matches!(
            upload_local(&app, &id, &wrong, Bytes::from_static(b"abc")).await,
            Err(AttachmentError::NotFound)
        ));
        upload_local(&app, &id, &q, Bytes::from_static(PNG)).await.unwrap();

        let message = MessageId::generate();
        let taken = take(&app, &t, &c, "ag_x", std::slice::from_ref(&id), &message).await.unwrap();
        app.table.transact(taken.ops.clone()).await.unwrap();
        settle(&app, &taken).await;
        assert!(pending(&app).await.is_empty(), "attached: out of the due list");
        let id = AttachmentId::parse(&id).unwrap();
        let stored = load(&app, &t, &c, &id).await.unwrap().unwrap();
        assert_eq!(
            (stored.status, stored.ttl, stored.message_id.as_ref()),
            (AttachmentStatus::Attached, None, Some(&message))
        );
        assert!(app.blobs.get(&pending_key(&t, &c, &id)).await.unwrap().is_none());

        let mut views = [super::super::MessageView {
            id: message.to_string(),
            conversation_id: c.to_string(),
            author: kefu_domain::Author::Agent,
            author_id: None,
            content: String::new(),
            internal: false,
            created_at: app.now().to_string(),
            recalled: false,
            attachments: taken.metas.iter().map(AttachmentView::unlinked).collect(),
        }];
        link_views(&app, &t, &mut views).await.unwrap();
        let (link_id, link_q) = query_of(&views[0].attachments[0].url);
        let d = download_local(&app, &link_id, &link_q).await.unwrap();
        assert_eq!((d.body.as_ref(), d.content_type.as_str(), d.inline), (PNG, "image/png", true));
        clock.advance(SignedDuration::from_secs(16 * 60));
        assert!(matches!(download_local(&app, &link_id, &link_q).await, Err(AttachmentError::NotFound)));
        assert_eq!(delete_blobs_of(&app, &t, &c).await.unwrap(), 1);
        assert!(app.blobs.get(&blob_key(&t, &c, &id)).await.unwrap().is_none());
    }
}
