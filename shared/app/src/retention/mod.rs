//! Retention (`GET|PUT /v1/settings/retention`, `POST /v1/retention/run`, the daily `retention` function):
//! closed conversations whose last activity is older than the tenant's `messages_days` are archived to the blob
//! store (compressed JSONL, one object per tenant, day of last activity and page) when `archive_before_delete`
//! is on, then deleted with their messages.
//!
//! Old conversations are found through the tenant's activity index (gsi1 `T#{t}#CONVS`, ordered by last
//! message), oldest first, a page at a time: a page is archived, then deleted, so a run cut short (a Lambda
//! timeout) leaves whole pages done and the next run carries on from what is left; a page archived twice writes
//! the same object again (its name carries a hash of its content, so a page that changed in between, because
//! the run stopped while it deleted the page's first conversation, gets a new object and the first one keeps
//! what was deleted). Open conversations are left until they are closed. Each due conversation is marked as
//! being deleted (only while still closed with no new message) before its messages are read, so nothing can be
//! added to it between the archive and the deletion. Each run is audited
//! (`retention.run`, with what it archived and deleted) and a second run over the same data changes nothing.
//! The daily run reads the tenants that have a period from their list (`RETENTION_TENANTS`), never every tenant.

use std::io::Write;

use jiff::Timestamp;
use kefu_domain::{ConversationStatus, TenantId, ValidationError};
use kefu_ports::table::{Condition, Index, Query, SkCondition, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::App;
use crate::audit::AuditEntry;
use crate::conversations::{ConversationRecord, MessageRecord};
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// The longest period a tenant may keep conversations (ten years).
pub const MAX_DAYS: u32 = 3650;
/// Conversations read per page.
const PAGE: usize = 50;
/// Pages one run handles per tenant before it stops (the next run carries on).
pub const MAX_PAGES: usize = 200;

/// Why a retention request failed.
#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    /// A field is invalid.
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The blob store failed (nothing of the page was deleted).
    #[error("blob store: {0}")]
    Blob(String),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<crate::plumbing::record::RecordError> for RetentionError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        RetentionError::Table(e.into())
    }
}

/// `GET|PUT /v1/settings/retention`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Days a closed conversation is kept after its last message (`null`: forever).
    pub messages_days: Option<u32>,
    /// Archive to the blob store before deleting.
    pub archive_before_delete: bool,
}

impl Default for RetentionSettings {
    fn default() -> Self {
        Self { messages_days: None, archive_before_delete: true }
    }
}

/// The settings item: `T#{t}` / `SETTINGS#RETENTION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionSettingsRecord {
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The settings.
    #[serde(flatten)]
    pub settings: RetentionSettings,
    /// The last save.
    pub updated_at: Timestamp,
}

impl Record for RetentionSettingsRecord {
    const TYPE: &'static str = "retention_settings";

    fn key(&self) -> kefu_ports::table::Key {
        keys::retention_settings(&self.tenant_id)
    }
}

/// A tenant's entry in the list the daily run reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RetentionTenantRecord {
    /// The tenant.
    pub tenant_id: TenantId,
}

/// The tenant's settings (defaults until saved).
pub async fn settings(app: &App, t: &TenantId) -> Result<RetentionSettings, RetentionError> {
    match app.table.get(&keys::retention_settings(t)).await? {
        Some(item) => Ok(RetentionSettingsRecord::from_item(item)?.settings),
        None => Ok(RetentionSettings::default()),
    }
}

/// Saves the settings with `audit` (`settings.update`) and keeps the tenant in the daily run's list while it
/// has a period.
pub async fn put_settings(
    app: &App,
    t: &TenantId,
    s: RetentionSettings,
    audit: AuditEntry,
) -> Result<RetentionSettings, RetentionError> {
    if let Some(d) = s.messages_days
        && !(1..=MAX_DAYS).contains(&d)
    {
        return Err(ValidationError::new("messages_days", format!("must be 1..={MAX_DAYS} or null")).into());
    }
    let rec = RetentionSettingsRecord { tenant_id: t.clone(), settings: s.clone(), updated_at: app.now() };
    let listed = match s.messages_days {
        Some(_) => TxOp::Put {
            item: record::item_of(keys::retention_tenant(t), &RetentionTenantRecord { tenant_id: t.clone() }),
            condition: None,
        },
        None => TxOp::Delete { key: keys::retention_tenant(t), condition: None },
    };
    let entry = audit.target("settings", "retention").detail(json!({"retention": s}));
    crate::audit::commit(app, vec![TxOp::Put { item: rec.to_item(), condition: None }, listed], vec![], vec![entry])
        .await?;
    Ok(s)
}

/// `POST /v1/retention/run` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct RunRequest {
    /// Count what would go, change nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Run as of this time (RFC 3339; default now).
    #[serde(default)]
    pub as_of: Option<String>,
}

/// What a run did (or, dry, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RunReport {
    /// Whether nothing was changed.
    pub dry_run: bool,
    /// Conversations last active before this were due (null: the tenant keeps everything).
    pub cutoff: Option<String>,
    /// Conversations archived.
    pub archived: u64,
    /// Conversations deleted (or, dry, due).
    pub conversations: u64,
    /// Their messages.
    pub messages: u64,
    /// The archive objects written.
    pub archives: Vec<String>,
    /// Old conversations left because they are still open.
    pub skipped_open: u64,
    /// Whether every due conversation was handled (else the next run carries on).
    pub complete: bool,
}

/// The archive line of a conversation: the stored conversation and its messages.
#[derive(Serialize)]
struct ArchiveLine<'a> {
    conversation: &'a ConversationRecord,
    messages: &'a [MessageRecord],
}

async fn messages(app: &App, t: &TenantId, c: &ConversationRecord) -> Result<Vec<MessageRecord>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(t, &c.conversation_id))
            .sk(SkCondition::Between(keys::MESSAGE_PREFIX.to_owned(), keys::MESSAGE_END.to_owned()))
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            out.push(MessageRecord::from_item(item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Takes a due conversation as read by the run: marks its deletion as begun, only while it is still closed with
/// no message since (`conversations::begin_delete_closed`), then reads its messages. From the mark on, nothing
/// can be added to its partition (a visitor's send answers 404 instead of reopening it), so the messages read
/// are all it has: the archive misses none, and the deletion removes nothing that was not archived. `None`
/// when it was reopened or written to meanwhile (left alone, untouched).
async fn take(
    app: &App,
    t: &TenantId,
    c: ConversationRecord,
) -> Result<Option<(ConversationRecord, Vec<MessageRecord>)>, TableError> {
    if !crate::conversations::begin_delete_closed(app, t, &c).await? {
        return Ok(None);
    }
    let m = messages(app, t, &c).await?;
    Ok(Some((c, m)))
}

/// Deletes a conversation [`take`] marked: every item of its partition, then the conversation with its customer
/// pointer and count. Nothing can reopen it any more; answers false when it was gone already.
async fn delete(app: &App, t: &TenantId, c: &ConversationRecord) -> Result<bool, TableError> {
    crate::conversations::delete_contents(app, t, &c.conversation_id).await?;
    let last = vec![
        TxOp::Delete { key: keys::conversation(t, &c.conversation_id), condition: Some(Condition::Exists) },
        TxOp::Delete { key: keys::customer_conversation(t, &c.customer_id, &c.conversation_id), condition: None },
        crate::customers::counts::conversation_deleted_op(t, &c.customer_id),
    ];
    match app.table.transact(last).await {
        Ok(()) => Ok(true),
        // Gone meanwhile (a deletion through the API finished it).
        Err(TableError::TransactionCanceled { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

fn gzip(lines: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(lines)?;
    enc.finish()
}

/// Runs retention for tenant `t` as of `as_of`: archives (when on) and deletes its due conversations, at most
/// [`MAX_PAGES`] pages; dry, only counts. The run's `retention.run` entry is committed by the caller's `audit`
/// (none for a dry run).
pub async fn run_tenant(
    app: &App,
    t: &TenantId,
    as_of: Timestamp,
    dry_run: bool,
    audit: Option<AuditEntry>,
) -> Result<RunReport, RetentionError> {
    let s = settings(app, t).await?;
    let mut report = RunReport { dry_run, complete: true, ..RunReport::default() };
    let Some(days) = s.messages_days else { return Ok(report) };
    let cutoff = as_of - jiff::SignedDuration::from_hours(24 * i64::from(days));
    report.cutoff = Some(cutoff.to_string());
    let before = format!("{:015}", cutoff.as_millisecond().max(0));
    let mut cursor = None;
    for page_no in 0.. {
        if page_no == MAX_PAGES {
            report.complete = false;
            break;
        }
        let q = Query::index(Index::Gsi1, keys::conversations_index(t)).sk(SkCondition::Lt(before.clone()));
        let page = app.table.query(q.limit(PAGE).after(cursor)).await?;
        // Due conversations of the page, by the UTC day of their last activity.
        let mut by_day: std::collections::BTreeMap<String, Vec<(ConversationRecord, Vec<MessageRecord>)>> =
            std::collections::BTreeMap::new();
        for item in page.items {
            let c = ConversationRecord::from_item(item)?;
            if c.status != ConversationStatus::Closed {
                report.skipped_open += 1;
                continue;
            }
            let (c, m) = if dry_run {
                let m = messages(app, t, &c).await?;
                (c, m)
            } else {
                match take(app, t, c).await? {
                    Some(taken) => taken,
                    None => continue,
                }
            };
            by_day
                .entry(c.last_message_at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string())
                .or_default()
                .push((c, m));
        }
        for (day, convs) in by_day {
            report.conversations += convs.len() as u64;
            report.messages += convs.iter().map(|(_, m)| m.len() as u64).sum::<u64>();
            if dry_run {
                continue;
            }
            if s.archive_before_delete {
                let mut lines = Vec::new();
                for (c, m) in &convs {
                    serde_json::to_writer(&mut lines, &ArchiveLine { conversation: c, messages: m })
                        .map_err(|e| RetentionError::Blob(e.to_string()))?;
                    lines.push(b'\n');
                }
                let digest = hex::encode(&Sha256::digest(&lines)[..8]);
                let body = gzip(&lines).map_err(|e| RetentionError::Blob(e.to_string()))?;
                let key = keys::archive_blob(t, &day, &convs[0].0.conversation_id, &digest);
                app.blobs
                    .put(&key, body.into(), "application/gzip")
                    .await
                    .map_err(|e| RetentionError::Blob(e.to_string()))?;
                report.archived += convs.len() as u64;
                report.archives.push(key);
            }
            for (c, _) in &convs {
                // The conversation's files go with it (their metadata is in the archived messages).
                if delete(app, t, c).await? {
                    crate::conversations::attachments::delete_blobs_of(app, t, &c.conversation_id)
                        .await
                        .map_err(|e| RetentionError::Blob(e.to_string()))?;
                }
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            break;
        }
    }
    if let Some(entry) = audit.filter(|_| !dry_run) {
        let detail = json!({
            "as_of": as_of, "cutoff": report.cutoff, "conversations": report.conversations,
            "messages": report.messages, "archived": report.archived, "archives": report.archives.len(),
            "complete": report.complete,
        });
        crate::audit::record(app, entry.detail(detail)).await?;
    }
    Ok(report)
}

/// Every tenant with a retention period (one `Query` on their list), for the daily run.
pub async fn tenants(app: &App) -> Result<Vec<TenantId>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app.table.query(Query::partition(keys::RETENTION_TENANTS_PK).after(cursor)).await?;
        for item in page.items {
            out.push(record::parse::<RetentionTenantRecord>("retention tenant", item)?.tenant_id);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Parses `POST /v1/retention/run`'s `as_of` (default `now`).
pub fn as_of(req: &RunRequest, now: Timestamp) -> Result<Timestamp, ValidationError> {
    match req.as_of.as_deref() {
        None => Ok(now),
        Some(s) => s.parse().map_err(|_| ValidationError::new("as_of", "must be an RFC 3339 time")),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;
    use crate::conversations::{self, ConversationError, widget};

    /// A due conversation is marked before its messages are read for the archive: one reopened (or written to)
    /// after the run read it is left untouched, and once it is marked a visitor's message answers 404 instead
    /// of reopening it, so the deletion never removes a message the archive does not hold.
    #[tokio::test]
    async fn a_due_conversation_is_taken_only_while_still_closed_and_then_takes_nothing_more() {
        let clock = Arc::new(ManualClock::new("2026-01-05T10:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let t = TenantId::generate();
        let started = widget::start(&app, &t, "192.0.2.1", &widget::StartRequest::default()).await.unwrap();
        let visitor = widget::authenticate_visitor(&app, &started.visitor_token).await.unwrap();
        let c = visitor.conversation_id.clone();
        widget::send(&app, &visitor, None, br#"{"content": "hello"}"#).await.unwrap();
        assert!(crate::assignment::close(&app, &t, &c, None).await.unwrap());
        clock.advance(jiff::SignedDuration::from_hours(24 * 90));
        let load = || async { conversations::load(&app, &t, &c).await.unwrap().unwrap() };
        let partition =
            || async { app.table.query(Query::partition(keys::conversation_pk(&t, &c))).await.unwrap().items.len() };
        let stored = || async { messages(&app, &t, &load().await).await.unwrap().len() };

        let read = load().await;
        crate::assignment::reopen(&app, &t, &c, None).await.unwrap();
        assert!(take(&app, &t, read).await.unwrap().is_none(), "reopened since the run read it");
        let after = load().await;
        assert!(!after.deleting && after.status != ConversationStatus::Closed);
        assert_eq!(stored().await, 1, "its message, untouched");

        assert!(crate::assignment::close(&app, &t, &c, None).await.unwrap());
        let (taken, messages) = take(&app, &t, load().await).await.unwrap().expect("closed and due");
        assert_eq!(messages.len(), 1);
        assert!(load().await.deleting);
        let late = widget::send(&app, &visitor, None, br#"{"content": "still there?"}"#).await;
        assert!(matches!(late, Err(ConversationError::NotFound)), "{late:?}");
        let reopen = crate::assignment::reopen(&app, &t, &c, None).await;
        assert!(matches!(reopen, Err(crate::assignment::AssignmentError::ConversationNotFound)), "{reopen:?}");
        assert_eq!(stored().await, 1, "nothing more than what was read");

        assert!(delete(&app, &t, &taken).await.unwrap());
        assert_eq!(partition().await, 0);
        assert!(!delete(&app, &t, &taken).await.unwrap(), "gone already");
    }
    /// The lines of an archive object, as stored conversations and messages.
    async fn archived(app: &App, key: &str) -> Vec<(ConversationRecord, Vec<MessageRecord>)> {
        use std::io::Read;
        let gz = app.blobs.get(key).await.unwrap().expect("the archive");
        let mut text = String::new();
        flate2::read::GzDecoder::new(&gz[..]).read_to_string(&mut text).unwrap();
        text.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                (
                    serde_json::from_value(v["conversation"].clone()).unwrap(),
                    serde_json::from_value(v["messages"].clone()).unwrap(),
                )
            })
            .collect()
    }

    /// An archive's name carries a hash of its content: a page archived again as it was (a run that stopped
    /// before deleting it) writes the same object, and a page that changed (a run that stopped while it
    /// deleted the page's first conversation) writes a new one, so the first object keeps what was deleted.
    #[tokio::test]
    async fn a_page_archived_again_replaces_its_archive_only_with_the_same_content() {
        let clock = Arc::new(ManualClock::new("2026-01-05T10:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let t = TenantId::generate();
        let s = RetentionSettings { messages_days: Some(30), archive_before_delete: true };
        put_settings(&app, &t, s, AuditEntry::new(&t, "test", crate::audit::Outcome::Success)).await.unwrap();
        for _ in 0..2 {
            let started = widget::start(&app, &t, "192.0.2.1", &widget::StartRequest::default()).await.unwrap();
            let visitor = widget::authenticate_visitor(&app, &started.visitor_token).await.unwrap();
            for text in [&b"{\"content\": \"hello\"}"[..], b"{\"content\": \"bye\"}"] {
                widget::send(&app, &visitor, None, text).await.unwrap();
                clock.advance(jiff::SignedDuration::from_secs(1));
            }
            assert!(crate::assignment::close(&app, &t, &visitor.conversation_id, None).await.unwrap());
        }
        clock.advance(jiff::SignedDuration::from_hours(24 * 90));
        let restore = |lines: Vec<(ConversationRecord, Vec<MessageRecord>)>| {
            let app = &app;
            async move {
                for (c, messages) in lines {
                    app.table.put(c.to_item(), None).await.unwrap();
                    for m in messages {
                        app.table.put(m.to_item(), None).await.unwrap();
                    }
                }
            }
        };

        let first = run_tenant(&app, &t, app.now(), false, None).await.unwrap();
        assert_eq!((first.conversations, first.archives.len()), (2, 1), "{first:?}");
        let whole = archived(&app, &first.archives[0]).await;
        assert_eq!(whole.iter().map(|(_, m)| m.len()).collect::<Vec<_>>(), [2, 2]);

        restore(whole.clone()).await;
        let again = run_tenant(&app, &t, app.now(), false, None).await.unwrap();
        assert_eq!(again.archives, first.archives, "the same page, the same object");

        let mut partly = whole.clone();
        partly[0].1.pop();
        restore(partly).await;
        let rest = run_tenant(&app, &t, app.now(), false, None).await.unwrap();
        assert_eq!(rest.messages, 3);
        assert_ne!(rest.archives, first.archives, "a changed page gets an object of its own");
        assert_eq!(archived(&app, &first.archives[0]).await, whole, "the first object keeps every message");
    }
}
