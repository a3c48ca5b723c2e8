//! Approvals: the four-eyes rule for sensitive operations (`/v1/settings/approvals`, `/v1/approvals`).
//!
//! A tenant chooses which operations wait for a second person ([`settings`], [`put_settings`]): deleting a
//! conversation (`conversation.delete`), changing a customer's email or phone (`customer.update_sensitive`), and
//! creating an export (`export.create`: an approved one is asked for in the requester's name, masked as the
//! requester would see it). Such an operation
//! is not run: [`request`] stores it — the operation, its exact arguments, the requester and `expires_at` —
//! audited (`approval.request`), and the route answers 202 `{"approval_id", "status": "pending"}`.
//!
//! A holder of `approvals.review` other than the requester decides ([`decide`]). The move `pending → approved |
//! rejected` is a write conditioned on the version read (so on the request still being pending), committed with
//! its `approval.decide` entry; two decisions at once give one move and one 409. An approved request then runs
//! its operation once, in the reviewer's name, its entry naming the approval: the run happens strictly after the
//! conditional move, and only the caller whose move succeeded runs it, so a second approve (409) runs nothing.
//! Each operation is idempotent by its own key (the conversation item's deletion is conditioned on it existing;
//! a customer patch sets the same values again), so a run interrupted after the move and repeated by the
//! operator changes nothing twice. A rejected request changes nothing. Expiry is lazy: deciding a pending
//! request past `expires_at` records it as `expired` (audited) and answers 409; the list shows such requests
//! as expired even before anyone has written so.
//!
//! Reviewers are told: the request emits `approval.requested`, which the `notify` consumer turns into an
//! `approval.requested` frame for the connected holders of `approvals.review` ([`notify`]).
//!
//! Storage (`docs/data-model.md`): the settings item `SETTINGS#APPROVALS` and each request `APPROVAL#{id}` in
//! the tenant's partition; a request sits in gsi1 under its status (`T#{t}#APPROVALS#{status}`), by id, for
//! `GET /v1/approvals?status=`.

pub mod error;
pub mod notify;

use jiff::Timestamp;
use kefu_domain::approval::{ApprovalId, ApprovalSettings, ApprovalStatus, Decision, SensitiveOperation};
use kefu_domain::tag::TagTarget;
use kefu_domain::{ConversationId, CustomerId, TenantId, ValidationError};
use kefu_ports::table::{Condition, Index, Item, Key, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use error::ApprovalError;

use crate::App;
use crate::customers::CustomerPatch;
use crate::identity::accounts::Principal;
use crate::plumbing::events::{ApprovalRequested, Envelope};
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::Record;

/// An approval request as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ApprovalView {
    /// Approval id (`ap_…`).
    pub id: String,
    /// The operation: `conversation.delete` | `customer.update_sensitive` | `export.create`.
    pub operation: String,
    /// What it acts on (a conversation or customer id).
    pub target_id: String,
    /// The operation's exact arguments (a customer patch's fields; `{}` for a delete).
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub arguments: Value,
    /// `pending` | `approved` | `rejected` | `expired` (a pending request past `expires_at` shows `expired`).
    pub status: String,
    /// Who asked (an account or API key id).
    pub requested_by: String,
    /// When.
    pub requested_at: String,
    /// When it expires unless decided.
    pub expires_at: String,
    /// Who decided, once decided.
    pub decided_by: Option<String>,
    /// When, once decided.
    pub decided_at: Option<String>,
}

/// The 202 answer of an operation that waits for approval.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct Pending {
    /// The approval request's id.
    pub approval_id: String,
    /// Always `pending`.
    pub status: String,
}

/// An approval request as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ApprovalRecord {
    /// Its id.
    pub approval_id: ApprovalId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The operation.
    pub operation: SensitiveOperation,
    /// What it acts on.
    pub target_id: String,
    /// Its exact arguments.
    #[serde(default)]
    pub arguments: Value,
    /// Where it stands (as written; see [`ApprovalRecord::effective_status`]).
    pub status: ApprovalStatus,
    /// The requester's actor id.
    pub requested_by: String,
    /// When.
    pub requested_at: Timestamp,
    /// When it expires unless decided.
    pub expires_at: Timestamp,
    /// The reviewer, once decided.
    #[serde(default)]
    pub decided_by: Option<String>,
    /// When, once decided.
    #[serde(default)]
    pub decided_at: Option<Timestamp>,
    /// Bumped by each write; a decision is conditioned on it.
    pub version: u64,
    /// Whether an approved request's operation has run to the end. An approval whose run failed half-way
    /// stays `approved` with `done` false, and approving it again resumes the run (each operation is
    /// idempotent). Absent on requests stored before it existed: those may run again, harmlessly.
    #[serde(default)]
    pub done: bool,
}

impl Record for ApprovalRecord {
    const TYPE: &'static str = "approval";

    fn key(&self) -> Key {
        keys::approval(&self.tenant_id, &self.approval_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("gsi1pk", keys::approvals_by_status(&self.tenant_id, self.status)),
            ("gsi1sk", self.approval_id.to_string()),
        ]
    }
}

/// The tenant's approval settings as stored (`SETTINGS#APPROVALS`): the operations' flags and the expiry, in
/// the shape the API shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct ApprovalSettingsRecord {
    tenant_id: TenantId,
    #[serde(default)]
    settings: Map<String, Value>,
}

impl Record for ApprovalSettingsRecord {
    const TYPE: &'static str = "approval_settings";

    fn key(&self) -> Key {
        keys::approval_settings(&self.tenant_id)
    }
}

impl ApprovalRecord {
    fn of_item(item: &Item) -> Option<Self> {
        Self::from_ref(item).map_err(|e| tracing::warn!(error = %e, "unreadable approval record; skipped")).ok()
    }

    /// The status as of `now` (a pending request past its expiry is expired).
    pub fn effective_status(&self, now: Timestamp) -> ApprovalStatus {
        kefu_domain::approval::effective_status(self.status, now, self.expires_at)
    }

    /// The API's view as of `now`.
    pub fn view(&self, now: Timestamp) -> ApprovalView {
        ApprovalView {
            id: self.approval_id.to_string(),
            operation: self.operation.as_str().to_owned(),
            target_id: self.target_id.clone(),
            arguments: self.arguments.clone(),
            status: self.effective_status(now).as_str().to_owned(),
            requested_by: self.requested_by.clone(),
            requested_at: self.requested_at.to_string(),
            expires_at: self.expires_at.to_string(),
            decided_by: self.decided_by.clone(),
            decided_at: self.decided_at.map(|t| t.to_string()),
        }
    }
}

/// The tenant's approval settings (none required, 72 hours, until set).
pub async fn settings(app: &App, tenant: &TenantId) -> Result<ApprovalSettings, ApprovalError> {
    let Some(item) = app.table.get(&keys::approval_settings(tenant)).await? else {
        return Ok(ApprovalSettings::default());
    };
    let stored = ApprovalSettingsRecord::from_item(item).map_err(TableError::from)?;
    Ok(ApprovalSettings::parse(&stored.settings).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "unreadable approval settings; none required");
        ApprovalSettings::default()
    }))
}

/// Replaces the tenant's approval settings with `body` (every key optional: an absent operation needs no
/// approval); audited (`settings.update`).
pub async fn put_settings(
    app: &App,
    by: &Principal,
    body: &Map<String, Value>,
) -> Result<ApprovalSettings, ApprovalError> {
    let s = ApprovalSettings::parse(body)?;
    let settings = match s.to_json() {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let item = ApprovalSettingsRecord { tenant_id: by.tenant_id.clone(), settings }.to_item();
    let entry = by.audit("settings.update").target("settings", "approvals").detail(s.to_json());
    crate::audit::commit(app, vec![TxOp::Put { item, condition: None }], Vec::new(), vec![entry]).await?;
    Ok(s)
}

/// Whether the tenant requires an approval for `op`.
pub async fn required(app: &App, tenant: &TenantId, op: SensitiveOperation) -> Result<bool, ApprovalError> {
    Ok(settings(app, tenant).await?.requires(op))
}

/// Stores a request by `by` to run `op` on `target_id` with `arguments`, instead of running it; audited
/// (`approval.request`). Answers what the route answers with 202.
pub async fn request(
    app: &App,
    by: &Principal,
    op: SensitiveOperation,
    target_id: &str,
    arguments: Value,
) -> Result<Pending, ApprovalError> {
    let now = app.now();
    let s = settings(app, &by.tenant_id).await?;
    let record = ApprovalRecord {
        approval_id: ApprovalId::generate(),
        tenant_id: by.tenant_id.clone(),
        operation: op,
        target_id: target_id.to_owned(),
        arguments,
        status: ApprovalStatus::Pending,
        requested_by: by.actor_id(),
        requested_at: now,
        expires_at: s.expires_at(now),
        decided_by: None,
        decided_at: None,
        version: 1,
        done: false,
    };
    let entry = by.audit("approval.request").target("approval", &record.approval_id).detail(json!({
        "operation": op.as_str(), "target_id": target_id, "expires_at": record.expires_at,
    }));
    let put = TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) };
    let event = Envelope::new(
        &by.tenant_id,
        now,
        ApprovalRequested {
            approval_id: record.approval_id.clone(),
            operation: op,
            target_id: target_id.to_owned(),
            requested_by: record.requested_by.clone(),
            expires_at: record.expires_at,
        },
    );
    crate::audit::commit(app, vec![put], vec![event], vec![entry]).await?;
    Ok(Pending { approval_id: record.approval_id.to_string(), status: ApprovalStatus::Pending.as_str().to_owned() })
}

/// One request of the tenant.
pub async fn load(app: &App, tenant: &TenantId, id: &ApprovalId) -> Result<Option<ApprovalRecord>, TableError> {
    Ok(app.table.get(&keys::approval(tenant, id)).await?.and_then(|i| ApprovalRecord::of_item(&i)))
}

/// A page of the tenant's requests in `status` (as written; a pending one past its expiry is listed with
/// `pending` requests but shown `expired`), oldest first.
pub async fn list(
    app: &App,
    tenant: &TenantId,
    status: ApprovalStatus,
    params: &PageRequest,
) -> Result<ListPage<ApprovalView>, ApprovalError> {
    let q = params.apply(Query::index(Index::Gsi1, keys::approvals_by_status(tenant, status)))?;
    let page = app.table.query(q).await?;
    let now = app.now();
    let items = page.items.iter().filter_map(ApprovalRecord::of_item).map(|r| r.view(now)).collect();
    Ok(ListPage::new(items, page.cursor))
}

/// The conditional move of `record` to `status` by `by` at `now`, with its audit entry.
async fn move_to(
    app: &App,
    by: &Principal,
    record: &ApprovalRecord,
    status: ApprovalStatus,
    now: Timestamp,
) -> Result<ApprovalRecord, ApprovalError> {
    let mut next = record.clone();
    next.status = status;
    next.decided_at = Some(now);
    next.decided_by = (status != ApprovalStatus::Expired).then(|| by.actor_id());
    next.version = record.version + 1;
    let op = TxOp::Update {
        key: keys::approval(&record.tenant_id, &record.approval_id),
        update: Update::new()
            .set("status", json!(status))
            .set("decided_at", json!(now))
            .set("decided_by", json!(next.decided_by))
            .set("version", json!(next.version))
            .set("gsi1pk", json!(keys::approvals_by_status(&record.tenant_id, status))),
        condition: Some(Condition::And(vec![
            Condition::eq("status", json!(ApprovalStatus::Pending)),
            Condition::eq("version", json!(record.version)),
        ])),
    };
    let entry = by.audit("approval.decide").target("approval", &record.approval_id).detail(json!({
        "operation": record.operation.as_str(), "target_id": record.target_id, "status": status,
        "requested_by": record.requested_by,
    }));
    match crate::audit::commit(app, vec![op], Vec::new(), vec![entry]).await {
        Ok(()) => Ok(next),
        Err(TableError::TransactionCanceled { .. } | TableError::Conflict) => {
            Err(ApprovalError::Conflict("this request was decided meanwhile"))
        }
        Err(e) => Err(e.into()),
    }
}

/// A reviewer's decision on request `id`: the conditional move, then (approved) the operation, run once in the
/// reviewer's name. The requester may not decide (forbidden); a request already decided is a conflict; a
/// pending one past its expiry is recorded `expired` and is a conflict too. Answers the request as it now
/// stands.
pub async fn decide(app: &App, by: &Principal, id: &str, decision: Decision) -> Result<ApprovalView, ApprovalError> {
    let tenant = &by.tenant_id;
    let id = ApprovalId::parse(id).ok_or(ApprovalError::NotFound)?;
    let record = load(app, tenant, &id).await?.ok_or(ApprovalError::NotFound)?;
    let now = app.now();
    if record.status == ApprovalStatus::Approved && !record.done && decision == Decision::Approve {
        // A run that failed half-way: approving again resumes it (still not by the requester).
        if record.requested_by == by.actor_id() {
            return Err(kefu_domain::approval::ApprovalError::OwnRequest.into());
        }
        run(app, by, &record).await?;
        return Ok(mark_done(app, &record).await?.view(now));
    }
    let status = match kefu_domain::approval::decide(
        record.status,
        &record.requested_by,
        &by.actor_id(),
        now,
        record.expires_at,
        decision,
    ) {
        Ok(s) => s,
        Err(kefu_domain::approval::ApprovalError::Expired) => {
            move_to(app, by, &record, ApprovalStatus::Expired, now).await?;
            return Err(kefu_domain::approval::ApprovalError::Expired.into());
        }
        Err(e) => return Err(e.into()),
    };
    let decided = move_to(app, by, &record, status, now).await?;
    if status == ApprovalStatus::Approved {
        run(app, by, &decided).await?;
        return Ok(mark_done(app, &decided).await?.view(now));
    }
    Ok(decided.view(now))
}

/// Records that an approved request's operation ran to the end, so approving it again is a conflict.
async fn mark_done(app: &App, record: &ApprovalRecord) -> Result<ApprovalRecord, TableError> {
    let mut next = record.clone();
    next.done = true;
    next.version = record.version + 1;
    let update = Update::new().set("done", json!(true)).set("version", json!(next.version));
    let condition = Condition::eq("version", json!(record.version));
    match app.table.update(&record.key(), update, Some(condition)).await {
        // Someone else resumed and finished it meanwhile: it is done either way.
        Ok(_) | Err(TableError::Conflict | TableError::TransactionCanceled { .. }) => Ok(next),
        Err(e) => Err(e),
    }
}

/// Runs an approved request's operation in `by`'s name, its audit entry naming the approval.
async fn run(app: &App, by: &Principal, record: &ApprovalRecord) -> Result<(), ApprovalError> {
    let tenant = &record.tenant_id;
    let approval = json!({"approval_id": record.approval_id, "requested_by": record.requested_by});
    match record.operation {
        SensitiveOperation::DeleteConversation => {
            let id = ConversationId::parse(&record.target_id)
                .ok_or_else(|| ValidationError::new("target_id", "not a conversation id"))?;
            // Already gone (a repeated run): nothing to do.
            let Some(conversation) = crate::conversations::load(app, tenant, &id).await? else {
                return Ok(());
            };
            crate::conversations::release_before_delete(app, by, &conversation).await?;
            let entry = by.audit("conversation.delete").detail(approval);
            match crate::conversations::delete(app, tenant, &conversation, entry).await {
                Ok(()) | Err(crate::conversations::ConversationError::NotFound) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        SensitiveOperation::ChangeCustomerSensitive => {
            let id = CustomerId::parse(&record.target_id)
                .ok_or_else(|| ValidationError::new("target_id", "not a customer id"))?;
            let mut patch: CustomerPatch = serde_json::from_value(record.arguments.clone())
                .map_err(|e| ValidationError::new("arguments", e.to_string()))?;
            let Some(current) = crate::customers::load(app, tenant, &id).await? else {
                return Ok(());
            };
            let sensitive = crate::customers::sensitive::changes(&current, &patch.email, &patch.phone)?;
            // Tags were checked when the request was made; a tag deleted since is not written back (the registry
            // says no), and the rest of the change still applies.
            let mut tags_refused = false;
            if let Some(names) = patch.tags.take() {
                let carried: Vec<String> = current.tags.iter().map(|t| t.as_str().to_owned()).collect();
                match crate::tags::prepare_write(app, tenant, TagTarget::Customer, id.as_str(), &carried, &names).await
                {
                    Ok(checked) => patch.tags = Some(checked.iter().map(|t| t.as_str().to_owned()).collect()),
                    Err(crate::tags::TagError::Invalid(_)) => tags_refused = true,
                    Err(e) => return Err(e.into()),
                }
            }
            let fields: Vec<&str> = record
                .arguments
                .as_object()
                .map(|m| m.keys().map(String::as_str).filter(|k| !(tags_refused && *k == "tags")).collect())
                .unwrap_or_default();
            let entry = by.audit("customer.update").detail(json!({
                "fields": fields, "sensitive": sensitive, "approval": approval, "tags_refused": tags_refused,
            }));
            crate::customers::update(app, tenant, &id, patch, entry).await?;
            Ok(())
        }
        SensitiveOperation::CreateExport => {
            // The request as the requester made it (masking decided by the requester's permissions then).
            let spec: crate::exports::ExportSpec = serde_json::from_value(record.arguments.clone())
                .map_err(|e| ValidationError::new("arguments", e.to_string()))?;
            let id = kefu_domain::ids::ExportId::parse(&record.target_id)
                .ok_or_else(|| ValidationError::new("target_id", "not an export id"))?;
            let entry = by.audit("export.create");
            crate::exports::create(app, tenant, id, record.requested_by.clone(), spec, entry, Some(approval)).await?;
            Ok(())
        }
    }
}

/// A customer patch's fields as the arguments of an approval request (a field sent as `null` stays `null`, an
/// absent one stays absent), so the approved run applies exactly what was sent.
pub fn patch_arguments(patch: &CustomerPatch) -> Value {
    let mut m = Map::new();
    let mut opt = |k: &str, v: &Option<Option<String>>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), json!(v));
        }
    };
    opt("name", &patch.name);
    opt("email", &patch.email);
    opt("phone", &patch.phone);
    opt("group_id", &patch.group_id);
    if let Some(t) = &patch.tags {
        m.insert("tags".into(), json!(t));
    }
    if let Some(a) = &patch.attributes {
        m.insert("attributes".into(), Value::Object(a.clone()));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_arguments_round_trip_into_the_same_patch() {
        let body = json!({"email": "li@example.com", "phone": null, "name": "Li", "attributes": {"vip": true}});
        let patch: CustomerPatch = serde_json::from_value(body.clone()).unwrap();
        let args = patch_arguments(&patch);
        assert_eq!(args, body);
        let back: CustomerPatch = serde_json::from_value(args).unwrap();
        assert_eq!(back.phone, Some(None));
        assert_eq!(back.email, Some(Some("li@example.com".into())));
        assert_eq!(back.group_id, None);
    }
}
