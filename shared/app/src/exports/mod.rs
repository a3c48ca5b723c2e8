//! Exports (`POST /v1/exports`, `GET /v1/exports/{id}`): a tenant's conversations with their messages, its
//! customers or its audit log, as CSV or JSONL, within a time range.
//!
//! Asking ([`create`]) stores the export `queued` with its `export.create` audit entry (which the mass-export
//! anomaly rule counts) and an `export.requested` event, in one transaction; whether personal data is masked is
//! decided then, from the asker's `customers.view_sensitive`. The `export` consumer writes it ([`write::run`]):
//! the rows are read page by page through indexes and sent to the blob store in parts of
//! [`kefu_ports::blob::MIN_PART_BYTES`], so memory stays flat whatever the size, with `rows` kept up to date
//! while it runs. A done export's link ([`link`]) lives [`LINK_SECONDS`]: an S3 presigned URL in AWS, or in
//! `kefu serve` a URL signed with the store's link key that `GET /v1/exports/{id}/download` checks ([`download`]).
//! When the tenant puts exports behind an approval, the API files the request instead and the approvals
//! capability calls [`create`] once it is approved.

pub mod error;
pub mod write;

use jiff::Timestamp;
use kefu_domain::export::{ExportFormat, ExportKind, ExportStatus};
use kefu_domain::ids::ExportId;
use kefu_domain::{TenantId, ValidationError};
use kefu_ports::table::{Condition, Key, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub use error::ExportError;

use crate::App;
use crate::audit::AuditEntry;
use crate::identity::accounts::Principal;
use crate::plumbing::events::{Envelope, ExportRequested};
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// How long a download link lives (API.md: at most 15 minutes).
pub const LINK_SECONDS: u64 = 15 * 60;

/// `POST /v1/exports` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewExport {
    /// `conversations` | `customers` | `audit`.
    pub kind: String,
    /// `csv` | `jsonl`.
    pub format: String,
    /// From (RFC 3339, inclusive).
    #[serde(default)]
    pub since: Option<String>,
    /// Until (RFC 3339, exclusive).
    #[serde(default)]
    pub until: Option<String>,
}

/// A validated export request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportSpec {
    /// What.
    pub kind: ExportKind,
    /// How.
    pub format: ExportFormat,
    /// From.
    pub since: Option<Timestamp>,
    /// Until.
    pub until: Option<Timestamp>,
    /// Whether personal data is masked (the asker lacks `customers.view_sensitive`).
    pub masked: bool,
}

fn time(s: Option<&str>, field: &str) -> Result<Option<Timestamp>, ValidationError> {
    s.map(|s| s.parse::<Timestamp>().map_err(|_| ValidationError::new(field, "must be an RFC 3339 time"))).transpose()
}

impl ExportSpec {
    /// Checks a request by `principal` (masked unless it holds `customers.view_sensitive`).
    pub fn parse(req: &NewExport, principal: &Principal) -> Result<Self, ValidationError> {
        let kind = ExportKind::parse(&req.kind, "kind")?;
        let format = ExportFormat::parse(&req.format, "format")?;
        let since = time(req.since.as_deref(), "since")?;
        let until = time(req.until.as_deref(), "until")?;
        if let (Some(s), Some(u)) = (since, until)
            && u <= s
        {
            return Err(ValidationError::new("until", "must be after since"));
        }
        Ok(Self { kind, format, since, until, masked: !crate::customers::sees_sensitive(principal) })
    }
}

/// An export: `T#{t}` / `EXPORT#{id}`. Written whole when asked for; then only the `export` consumer changes it,
/// with updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// Its id.
    pub export_id: ExportId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What to write.
    #[serde(flatten)]
    pub spec: ExportSpec,
    /// Where it stands.
    pub status: ExportStatus,
    /// Rows written so far (all of them once done).
    #[serde(default)]
    pub rows: u64,
    /// Who asked (account or API key id).
    pub requested_by: String,
    /// When.
    pub created_at: Timestamp,
    /// When the consumer started it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When it was done or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    /// The blob's key, once done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blob_key: Option<String>,
    /// The upload in progress (aborted when a retry starts over).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upload_id: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl Record for ExportRecord {
    const TYPE: &'static str = "export";

    fn key(&self) -> Key {
        keys::export(&self.tenant_id, &self.export_id)
    }
}

/// `GET /v1/exports/{id}` (and the 202 of `POST /v1/exports`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ExportView {
    /// Its id.
    pub id: String,
    /// `queued` | `running` | `done` | `failed`.
    pub status: String,
    /// What it holds.
    pub kind: String,
    /// How it is written.
    pub format: String,
    /// Rows written so far.
    pub rows: u64,
    /// The link, once done (null before).
    pub download_url: Option<String>,
    /// When the link stops working.
    pub expires_at: Option<String>,
    /// Why it failed.
    pub error: Option<String>,
    /// When it was asked for.
    pub created_at: String,
}

impl ExportView {
    fn of(r: &ExportRecord, link: Option<(String, Timestamp)>) -> Self {
        let (download_url, expires_at) = match link {
            Some((u, e)) => (Some(u), Some(e.to_string())),
            None => (None, None),
        };
        Self {
            id: r.export_id.to_string(),
            status: r.status.as_str().to_owned(),
            kind: r.spec.kind.as_str().to_owned(),
            format: r.spec.format.as_str().to_owned(),
            rows: r.rows,
            download_url,
            expires_at,
            error: r.error.clone(),
            created_at: r.created_at.to_string(),
        }
    }
}

/// Stores the export `id` `queued` (once: an id asked for before is left as it is), with `audit` (the `export.create` entry; `approval` names the approval it ran
/// under, if any) and
/// its `export.requested` event, in one transaction.
pub async fn create(
    app: &App,
    tenant: &TenantId,
    id: ExportId,
    requested_by: String,
    spec: ExportSpec,
    audit: AuditEntry,
    approval: Option<serde_json::Value>,
) -> Result<ExportView, ExportError> {
    let record = ExportRecord {
        export_id: id,
        tenant_id: tenant.clone(),
        spec,
        status: ExportStatus::Queued,
        rows: 0,
        requested_by,
        created_at: app.now(),
        started_at: None,
        finished_at: None,
        blob_key: None,
        upload_id: None,
        error: None,
    };
    let entry = audit.target("export", &record.export_id).detail(json!({
        "kind": record.spec.kind.as_str(), "format": record.spec.format.as_str(),
        "since": record.spec.since, "until": record.spec.until, "masked": record.spec.masked, "approval": approval,
    }));
    let put = TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) };
    let event = Envelope::new(tenant, record.created_at, ExportRequested { export_id: record.export_id.clone() });
    match crate::audit::commit(app, vec![put], vec![event], vec![entry]).await {
        Ok(()) => Ok(ExportView::of(&record, None)),
        // Asked for before under this id (an approved request run again): nothing more to do.
        Err(TableError::TransactionCanceled { .. }) => Ok(ExportView::of(&record, None)),
        Err(e) => Err(e.into()),
    }
}

/// An export of the tenant.
pub async fn load(app: &App, tenant: &TenantId, id: &ExportId) -> Result<Option<ExportRecord>, TableError> {
    match app.table.get(&keys::export(tenant, id)).await? {
        Some(item) => Ok(Some(ExportRecord::from_item(item)?)),
        None => Ok(None),
    }
}

/// The base URL of `kefu serve`'s own links, from its configuration (the WebSocket URL it derives from
/// `KEFU_PUBLIC_URL` or the bound address), never from a request's `Host` header.
fn local_base(app: &App) -> String {
    let ws = app.config.websocket_url.as_deref().unwrap_or("ws://localhost");
    let ws = ws.strip_suffix(crate::realtime::LOCAL_WS_PATH).unwrap_or(ws);
    match (ws.strip_prefix("wss://"), ws.strip_prefix("ws://")) {
        (Some(rest), _) => format!("https://{rest}"),
        (None, Some(rest)) => format!("http://{rest}"),
        _ => ws.to_owned(),
    }
}

/// The export `id` as `GET /v1/exports/{id}` shows it, with a fresh link when done.
pub async fn view(app: &App, tenant: &TenantId, id: &str) -> Result<ExportView, ExportError> {
    let base = local_base(app);
    let base = base.as_str();
    let id = ExportId::parse(id).ok_or(ExportError::NotFound)?;
    let record = load(app, tenant, &id).await?.ok_or(ExportError::NotFound)?;
    let link = match (&record.status, &record.blob_key) {
        (ExportStatus::Done, Some(key)) => Some(link(app, &record, key, base).await?),
        _ => None,
    };
    Ok(ExportView::of(&record, link))
}

/// What a local link signs: the tenant, the export and the expiry.
fn signed_text(tenant: &TenantId, id: &ExportId, expires: i64) -> String {
    format!("{tenant}/{id}/{expires}")
}

/// The store's link key: made once at random (the first writer wins), then read.
async fn link_key(app: &App) -> Result<Vec<u8>, ExportError> {
    #[derive(Serialize, Deserialize)]
    struct LinkKey {
        key: String,
    }
    if let Some(item) = app.table.get(&keys::export_link_key()).await? {
        let k: LinkKey = record::parse("export link key", item)?;
        return hex::decode(k.key).map_err(|e| ExportError::Table(TableError::Invalid(e.to_string())));
    }
    let fresh = LinkKey { key: hex::encode(rand::random::<[u8; 32]>()) };
    match app.table.put(record::item_of(keys::export_link_key(), &fresh), Some(Condition::NotExists)).await {
        Ok(()) | Err(TableError::ConditionFailed) => Box::pin(link_key(app)).await,
        Err(e) => Err(e.into()),
    }
}

/// A link to a done export that lives [`LINK_SECONDS`], and when it expires.
pub async fn link(
    app: &App,
    record: &ExportRecord,
    blob_key: &str,
    base: &str,
) -> Result<(String, Timestamp), ExportError> {
    let life = std::time::Duration::from_secs(LINK_SECONDS);
    let expires_at = app.now() + jiff::SignedDuration::from_secs(LINK_SECONDS as i64);
    if let Some(url) = app.blobs.presign_get(blob_key, life).await? {
        return Ok((url, expires_at));
    }
    let expires = expires_at.as_second();
    let sig = kefu_domain::webhook::sign(
        &link_key(app).await?,
        signed_text(&record.tenant_id, &record.export_id, expires).as_bytes(),
    );
    let sig = sig.trim_start_matches("sha256=");
    let url = format!(
        "{}/v1/exports/{}/download?tenant_id={}&expires={expires}&sig={sig}",
        base.trim_end_matches('/'),
        record.export_id,
        record.tenant_id
    );
    Ok((url, expires_at))
}

/// A downloaded export: its bytes and how they are written.
#[derive(Debug)]
pub struct Download {
    /// The file.
    pub body: bytes::Bytes,
    /// Its content type.
    pub content_type: &'static str,
    /// A file name for it.
    pub file_name: String,
}

/// The export behind a local signed link, when the signature holds and the link has not expired; anything else
/// is [`ExportError::NotFound`] (a forged or stale link learns nothing).
pub async fn download(app: &App, tenant: &str, id: &str, expires: i64, sig: &str) -> Result<Download, ExportError> {
    let (Some(tenant), Some(id)) = (TenantId::parse(tenant), ExportId::parse(id)) else {
        return Err(ExportError::NotFound);
    };
    if expires <= app.now().as_second() {
        return Err(ExportError::NotFound);
    }
    let key = link_key(app).await?;
    if !kefu_domain::webhook::verify(&key, signed_text(&tenant, &id, expires).as_bytes(), &format!("sha256={sig}")) {
        return Err(ExportError::NotFound);
    }
    let record = load(app, &tenant, &id).await?.ok_or(ExportError::NotFound)?;
    let Some(blob_key) = record.blob_key.as_deref().filter(|_| record.status == ExportStatus::Done) else {
        return Err(ExportError::NotFound);
    };
    let body = app.blobs.get(blob_key).await?.ok_or(ExportError::NotFound)?;
    Ok(Download {
        body,
        content_type: record.spec.format.content_type(),
        file_name: format!("{}-{}.{}", record.spec.kind.as_str(), id, record.spec.format.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;
    use crate::audit::Outcome;

    #[tokio::test]
    async fn a_local_link_works_until_it_expires_and_a_second_run_changes_nothing() {
        let clock = Arc::new(ManualClock::new("2026-05-01T08:00:00Z".parse().unwrap()));
        let e = crate::testing::EmbeddedApp::new(clock.clone()).with_config(crate::Config {
            websocket_url: Some(format!("ws://kefu.test{}", crate::realtime::LOCAL_WS_PATH)),
            local: true,
            ..crate::Config::default()
        });
        let app = e.app.clone();
        let t = TenantId::generate();
        let spec =
            ExportSpec { kind: ExportKind::Audit, format: ExportFormat::Csv, since: None, until: None, masked: true };
        let id = ExportId::generate();
        let entry = AuditEntry::new(&t, "export.create", Outcome::Success);
        let view = create(&app, &t, id.clone(), "ag_test".into(), spec.clone(), entry.clone(), None).await.unwrap();
        assert_eq!((view.status.as_str(), view.download_url), ("queued", None));
        // Asked for again under the same id (an approval run twice): still one export.
        create(&app, &t, id.clone(), "ag_test".into(), spec, entry, None).await.unwrap();

        write::run(&app, &t, &id).await.unwrap();
        let done = load(&app, &t, &id).await.unwrap().unwrap();
        assert_eq!((done.status, done.rows), (ExportStatus::Done, 1), "the one export.create entry");
        write::run(&app, &t, &id).await.unwrap();
        assert_eq!(load(&app, &t, &id).await.unwrap().unwrap(), done, "a done export is left alone");

        let shown = view_of(&app, &t, &id).await;
        let url = shown.download_url.unwrap();
        assert!(url.starts_with("http://kefu.test/v1/exports/"), "{url}");
        let q: std::collections::HashMap<String, String> = url
            .split_once('?')
            .unwrap()
            .1
            .split('&')
            .map(|kv| kv.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).unwrap())
            .collect();
        let expires: i64 = q["expires"].parse().unwrap();
        assert_eq!(expires - app.now().as_second(), 900);
        let d = download(&app, &q["tenant_id"], id.as_str(), expires, &q["sig"]).await.unwrap();
        assert!(String::from_utf8_lossy(&d.body).starts_with("seq,at,actor_id,action"));
        assert_eq!(d.content_type, "text/csv; charset=utf-8");

        clock.advance(jiff::SignedDuration::from_secs(900));
        let late = download(&app, &q["tenant_id"], id.as_str(), expires, &q["sig"]).await;
        assert!(matches!(late, Err(ExportError::NotFound)), "expired after 15 minutes");
    }

    async fn view_of(app: &App, t: &TenantId, id: &ExportId) -> ExportView {
        view(app, t, id.as_str()).await.unwrap()
    }
}
