//! Writing an export (the `export` consumer): its rows, page by page through indexes, to the blob store in parts.
//!
//! - `conversations`: the conversations whose last activity falls in the range (the tenant's activity index,
//!   gsi1 `T#{t}#CONVS`, by last message), each with its messages (a `Query` on its partition). JSONL: one line
//!   per conversation with its `messages`; CSV: one line per message (notes included, marked `internal`), the
//!   conversation's fields repeated. A row is a line.
//! - `customers`: the customers created in the range (gsi1 `T#{t}#CUSTS`, by id: ids are ULIDs, so by time).
//! - `audit`: the entries in the range (gsi1 `T#{t}#AUDIT#BYTIME`, by time).
//!
//! Masked exports show emails and phones masked and message text through `mask_text`. A retry (the consumer
//! died) aborts the upload it left and starts over; a done or failed export is left alone.

use bytes::Bytes;
use jiff::Timestamp;
use kefu_domain::TenantId;
use kefu_domain::export::{ExportFormat, ExportKind, ExportStatus, csv_line};
use kefu_domain::ids::ExportId;
use kefu_domain::masking::mask_text;
use kefu_ports::blob::MIN_PART_BYTES;
use kefu_ports::table::{Index, Query, SkCondition, TableError, Update};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ExportError, ExportRecord, load};
use crate::App;
use crate::conversations::{ConversationRecord, MessageRecord};
use crate::customers::{CustomerRecord, CustomerView};
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How many items a page of the source reads.
const PAGE: usize = 200;

/// The rows so far, sent to the blob store a part at a time.
struct PartWriter<'a> {
    app: &'a App,
    record: &'a ExportRecord,
    key: String,
    upload_id: String,
    buf: Vec<u8>,
    tags: Vec<String>,
    rows: u64,
}

impl PartWriter<'_> {
    /// Adds a row (a line), sending a part once the buffer reaches [`MIN_PART_BYTES`].
    async fn row(&mut self, line: &str) -> Result<(), ExportError> {
        self.buf.extend_from_slice(line.as_bytes());
        self.rows += 1;
        if self.buf.len() >= MIN_PART_BYTES {
            self.send().await?;
        }
        Ok(())
    }

    /// A line that is not a row (the CSV header).
    fn header(&mut self, line: &str) {
        self.buf.extend_from_slice(line.as_bytes());
    }

    async fn send(&mut self) -> Result<(), ExportError> {
        let body = Bytes::from(std::mem::take(&mut self.buf));
        let number = u32::try_from(self.tags.len() + 1).unwrap_or(u32::MAX);
        let tag = self.app.blobs.upload_part(&self.key, &self.upload_id, number, body).await?;
        self.tags.push(tag);
        // Progress: the rows sent so far.
        let key = keys::export(&self.record.tenant_id, &self.record.export_id);
        self.app.table.update(&key, Update::new().set("rows", self.rows), None).await?;
        Ok(())
    }

    async fn finish(mut self) -> Result<u64, ExportError> {
        if !self.buf.is_empty() || self.tags.is_empty() {
            self.send().await?;
        }
        self.app.blobs.complete_upload(&self.key, &self.upload_id, &self.tags).await?;
        Ok(self.rows)
    }
}

/// The sort-key range of `[since, until)` in an index ordered by fixed-width epoch milliseconds.
fn ms_range(since: Option<Timestamp>, until: Option<Timestamp>) -> SkCondition {
    let ms = |t: Timestamp| t.as_millisecond().max(0);
    let from = since.map_or_else(|| "0".to_owned(), |s| format!("{:015}", ms(s)));
    let to = until.map_or_else(|| "~".to_owned(), |u| format!("{:015}", ms(u).saturating_sub(1)) + "#~");
    SkCondition::Between(from, to)
}

/// Every page of `q`, handed to `each` item by item (one page in memory at a time).
macro_rules! for_each_item {
    ($app:expr, $q:expr, |$item:ident| $body:block) => {{
        let mut cursor = None;
        loop {
            let page = $app.table.query($q.clone().limit(PAGE).after(cursor)).await?;
            for $item in page.items {
                $body
            }
            cursor = page.cursor;
            if cursor.is_none() {
                break;
            }
        }
    }};
}

const CONVERSATION_CSV: [&str; 13] = [
    "conversation_id",
    "customer_id",
    "status",
    "assignee_id",
    "group_id",
    "conversation_created_at",
    "message_id",
    "author",
    "author_id",
    "internal",
    "content",
    "created_at",
    "attachments",
];

/// A message's attachments in one CSV cell: `id name (type, size bytes)`, separated by `; ` (metadata only).
fn attachments_cell(m: &MessageRecord) -> String {
    m.attachments
        .iter()
        .map(|a| format!("{} {} ({}, {} bytes)", a.id, a.name, a.content_type, a.size))
        .collect::<Vec<_>>()
        .join("; ")
}

fn opt(s: Option<&impl ToString>) -> String {
    s.map(ToString::to_string).unwrap_or_default()
}

async fn conversations(app: &App, r: &ExportRecord, w: &mut PartWriter<'_>) -> Result<(), ExportError> {
    let t = &r.tenant_id;
    if r.spec.format == ExportFormat::Csv {
        w.header(&csv_line(CONVERSATION_CSV));
    }
    let q = Query::index(Index::Gsi1, keys::conversations_index(t)).sk(ms_range(r.spec.since, r.spec.until));
    for_each_item!(app, q, |item| {
        let c = ConversationRecord::from_item(item)?;
        let text = |s: &str| if r.spec.masked { mask_text(s).into_owned() } else { s.to_owned() };
        let mq = Query::partition(keys::conversation_pk(t, &c.conversation_id))
            .sk(SkCondition::Between(keys::MESSAGE_PREFIX.to_owned(), keys::MESSAGE_END.to_owned()));
        let mut messages = Vec::new();
        for_each_item!(app, mq, |m| {
            let m = MessageRecord::from_item(m)?;
            match r.spec.format {
                ExportFormat::Csv => {
                    w.row(&csv_line([
                        c.conversation_id.to_string(),
                        c.customer_id.to_string(),
                        c.status.shown().as_str().to_owned(),
                        opt(c.assignee_id.as_ref()),
                        opt(c.group_id.as_ref()),
                        c.created_at.to_string(),
                        m.message_id.to_string(),
                        m.author.as_str().to_owned(),
                        m.author_id.clone().unwrap_or_default(),
                        m.internal.to_string(),
                        text(&m.content),
                        m.created_at.to_string(),
                        attachments_cell(&m),
                    ]))
                    .await?;
                }
                ExportFormat::Jsonl => messages.push(json!({
                    "id": m.message_id, "author": m.author.as_str(), "author_id": m.author_id,
                    "internal": m.internal, "content": text(&m.content), "created_at": m.created_at,
                    "attachments": m.attachments,
                })),
            }
        });
        if r.spec.format == ExportFormat::Jsonl {
            let line = json!({
                "id": c.conversation_id, "customer_id": c.customer_id, "status": c.status.shown().as_str(),
                "assignee_id": c.assignee_id, "group_id": c.group_id, "priority": c.priority.as_str(),
                "tags": c.tags, "created_at": c.created_at, "last_message_at": c.last_message_at,
                "messages": messages,
            });
            w.row(&format!("{line}\n")).await?;
        }
    });
    Ok(())
}

/// The customer id bound of a time (customer ids are `cu_` and a lower-case ULID).
fn customer_bound(at: Option<Timestamp>, end: bool) -> String {
    match at {
        Some(t) => {
            let ms = u64::try_from(t.as_millisecond()).unwrap_or(0);
            format!("cu_{}", ulid::Ulid::from_parts(ms, 0).to_string().to_ascii_lowercase())
        }
        None if end => "cu_~".to_owned(),
        None => "cu_".to_owned(),
    }
}

const CUSTOMER_CSV: [&str; 8] = ["id", "name", "email", "phone", "external_id", "group_id", "tags", "created_at"];

async fn customers(app: &App, r: &ExportRecord, w: &mut PartWriter<'_>) -> Result<(), ExportError> {
    if r.spec.format == ExportFormat::Csv {
        w.header(&csv_line(CUSTOMER_CSV));
    }
    let range = SkCondition::Between(customer_bound(r.spec.since, false), customer_bound(r.spec.until, true));
    let q = Query::index(Index::Gsi1, keys::customers_index(&r.tenant_id)).sk(range);
    for_each_item!(app, q, |item| {
        let c = CustomerRecord::from_item(item)?;
        if r.spec.until.is_some_and(|u| c.created_at >= u) {
            continue;
        }
        let v = CustomerView::of(&c, !r.spec.masked);
        match r.spec.format {
            ExportFormat::Csv => {
                w.row(&csv_line([
                    v.id.clone(),
                    v.name.clone().unwrap_or_default(),
                    v.email.clone().unwrap_or_default(),
                    v.phone.clone().unwrap_or_default(),
                    v.external_id.clone().unwrap_or_default(),
                    v.group_id.clone().unwrap_or_default(),
                    v.tags.join(";"),
                    v.created_at.clone(),
                ]))
                .await?;
            }
            ExportFormat::Jsonl => w.row(&format!("{}\n", serde_json::to_string(&v).unwrap_or_default())).await?,
        }
    });
    Ok(())
}

fn ticket_bound(at: Option<Timestamp>, end: bool) -> String {
    match at {
        Some(t) => {
            let ms = u64::try_from(t.as_millisecond()).unwrap_or(0);
            format!("tk_{}", ulid::Ulid::from_parts(ms, 0).to_string().to_ascii_lowercase())
        }
        None if end => "tk_~".to_owned(),
        None => "tk_".to_owned(),
    }
}

const TICKET_CSV: [&str; 13] = [
    "id",
    "title",
    "status",
    "priority",
    "source",
    "customer_id",
    "conversation_id",
    "assignee_id",
    "group_id",
    "contact_email",
    "contact_phone",
    "created_at",
    "updated_at",
];

/// Tickets created in the range: each status's index (gsi1, by id, and ids grow with time) read between the
/// range's ids, so no ticket is read that is not written.
async fn tickets(app: &App, r: &ExportRecord, w: &mut PartWriter<'_>) -> Result<(), ExportError> {
    if r.spec.format == ExportFormat::Csv {
        w.header(&csv_line(TICKET_CSV));
    }
    let range = SkCondition::Between(ticket_bound(r.spec.since, false), ticket_bound(r.spec.until, true));
    for status in kefu_domain::TicketStatus::ALL {
        let q = Query::index(Index::Gsi1, keys::tickets_by_status(&r.tenant_id, status)).sk(range.clone());
        for_each_item!(app, q, |item| {
            let t = crate::tickets::TicketRecord::read(&item).map_err(|_| TableError::Invalid("ticket".into()))?;
            if r.spec.until.is_some_and(|u| t.created_at >= u) {
                continue;
            }
            let v = crate::tickets::TicketView::of(&t, !r.spec.masked);
            match r.spec.format {
                ExportFormat::Csv => {
                    let contact = v.contact.clone();
                    w.row(&csv_line([
                        v.id.clone(),
                        v.title.clone(),
                        v.status.clone(),
                        v.priority.clone(),
                        v.source.clone(),
                        v.customer_id.clone().unwrap_or_default(),
                        v.conversation_id.clone().unwrap_or_default(),
                        v.assignee_id.clone().unwrap_or_default(),
                        v.group_id.clone().unwrap_or_default(),
                        contact.as_ref().and_then(|c| c.email.clone()).unwrap_or_default(),
                        contact.as_ref().and_then(|c| c.phone.clone()).unwrap_or_default(),
                        v.created_at.clone(),
                        v.updated_at.clone(),
                    ]))
                    .await?;
                }
                ExportFormat::Jsonl => w.row(&format!("{}\n", serde_json::to_string(&v).unwrap_or_default())).await?,
            }
        });
    }
    Ok(())
}

/// What an export shows of an audit entry.
#[derive(Debug, Deserialize, serde::Serialize)]
struct AuditRow {
    seq: u64,
    at: Timestamp,
    #[serde(default)]
    actor_id: Option<String>,
    action: String,
    #[serde(default)]
    target_type: Option<String>,
    #[serde(default)]
    target_id: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    outcome: String,
    #[serde(default)]
    detail: Option<Value>,
    hash: String,
}

const AUDIT_CSV: [&str; 10] =
    ["seq", "at", "actor_id", "action", "target_type", "target_id", "ip", "outcome", "detail", "hash"];

async fn audit(app: &App, r: &ExportRecord, w: &mut PartWriter<'_>) -> Result<(), ExportError> {
    if r.spec.format == ExportFormat::Csv {
        w.header(&csv_line(AUDIT_CSV));
    }
    let q = Query::index(Index::Gsi1, keys::audit_by_time(&r.tenant_id)).sk(ms_range(r.spec.since, r.spec.until));
    for_each_item!(app, q, |item| {
        let e: AuditRow = record::parse("audit entry", item)?;
        match r.spec.format {
            ExportFormat::Csv => {
                w.row(&csv_line([
                    e.seq.to_string(),
                    e.at.to_string(),
                    e.actor_id.clone().unwrap_or_default(),
                    e.action.clone(),
                    e.target_type.clone().unwrap_or_default(),
                    e.target_id.clone().unwrap_or_default(),
                    e.ip.clone().unwrap_or_default(),
                    e.outcome.clone(),
                    e.detail.as_ref().map(Value::to_string).unwrap_or_default(),
                    e.hash.clone(),
                ]))
                .await?;
            }
            ExportFormat::Jsonl => w.row(&format!("{}\n", serde_json::to_string(&e).unwrap_or_default())).await?,
        }
    });
    Ok(())
}

fn status_update(status: ExportStatus) -> Update {
    Update::new().set("status", status.as_str())
}

/// Writes export `id` of tenant `t`: `running` with its rows growing, then `done` (or `failed`, with why).
/// Table errors are returned (the consumer retries); a blob-store failure or a broken item fails the export.
pub async fn run(app: &App, t: &TenantId, id: &ExportId) -> Result<(), TableError> {
    let Some(record) = load(app, t, id).await? else { return Ok(()) };
    if matches!(record.status, ExportStatus::Done | ExportStatus::Failed) {
        return Ok(());
    }
    let key = keys::export_blob(t, id, record.spec.format.as_str());
    if let Some(previous) = &record.upload_id {
        let _ = app.blobs.abort_upload(&key, previous).await;
    }
    let item_key = keys::export(t, id);
    let outcome = async {
        let upload_id = app.blobs.start_upload(&key, record.spec.format.content_type()).await?;
        let started = status_update(ExportStatus::Running)
            .set("started_at", json!(app.now()))
            .set("upload_id", upload_id.clone())
            .set("rows", 0);
        app.table.update(&item_key, started, None).await?;
        let mut w = PartWriter {
            app,
            record: &record,
            key: key.clone(),
            upload_id: upload_id.clone(),
            buf: Vec::new(),
            tags: Vec::new(),
            rows: 0,
        };
        let written = match record.spec.kind {
            ExportKind::Conversations => conversations(app, &record, &mut w).await,
            ExportKind::Customers => customers(app, &record, &mut w).await,
            ExportKind::Audit => audit(app, &record, &mut w).await,
            ExportKind::Tickets => tickets(app, &record, &mut w).await,
        };
        if let Err(e) = written {
            let _ = app.blobs.abort_upload(&key, &upload_id).await;
            return Err(e);
        }
        w.finish().await
    }
    .await;
    let now = json!(app.now());
    match outcome {
        Ok(rows) => {
            let done = status_update(ExportStatus::Done)
                .set("rows", rows)
                .set("blob_key", key)
                .set("finished_at", now)
                .remove("upload_id");
            app.table.update(&item_key, done, None).await?;
            tracing::info!(export_id = %id, tenant_id = %t, rows, "export written");
            Ok(())
        }
        Err(ExportError::Table(e)) => Err(e),
        Err(e) => {
            tracing::warn!(export_id = %id, tenant_id = %t, error = %e, "export failed");
            let failed = status_update(ExportStatus::Failed).set("error", e.to_string()).set("finished_at", now);
            app.table.update(&item_key, failed, None).await?;
            Ok(())
        }
    }
}
