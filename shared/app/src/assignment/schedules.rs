//! Working-hours schedules that agents and groups follow.

use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{ScheduleId, TenantId};
use kefu_ports::table::{Condition, Cursor, Item, TableError, TxOp};
use serde::Serialize;
use serde_json::{Value, json};
use tracing::warn;

use super::drain;
use super::store::s;
use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::keys;
use crate::plumbing::pages::PageRequest;

use super::admin::{AdminError, list_prefix};

/// A schedule as the API answers it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct ScheduleView {
    /// Schedule id.
    pub id: String,
    /// Name, zone, weekly hours, holidays, overrides, as written.
    #[serde(flatten)]
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub schedule: ScheduleInput,
}

pub(super) fn schedule_view(item: &Item) -> ScheduleView {
    let schedule = serde_json::from_value(Value::Object(item.clone())).unwrap_or(ScheduleInput {
        name: String::new(),
        timezone: "UTC".into(),
        weekly: Default::default(),
        holidays: vec![],
        overrides: vec![],
    });
    ScheduleView { id: s(item, "schedule_id").unwrap_or_default().to_owned(), schedule }
}

pub(super) fn schedule_item(t: &TenantId, id: &ScheduleId, sc: &Schedule, at: jiff::Timestamp) -> Item {
    let mut item = keys::schedule(t, id).with(json!({"type": "schedule", "schedule_id": id, "tenant_id": t}));
    if let Value::Object(m) = serde_json::to_value(sc.to_input()).expect("serialises") {
        item.extend(m);
    }
    item.insert("updated_at".into(), json!(at));
    item
}

/// Creates a schedule, committed with `audit` (the caller's `settings.update` entry).
pub async fn create_schedule(
    app: &App,
    t: &TenantId,
    req: ScheduleInput,
    audit: AuditEntry,
) -> Result<ScheduleView, AdminError> {
    let sc = Schedule::parse(&req)?;
    let id = ScheduleId::generate();
    let item = schedule_item(t, &id, &sc, app.now());
    let op = TxOp::Put { item: item.clone(), condition: Some(Condition::NotExists) };
    crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("schedule", &id)]).await?;
    Ok(schedule_view(&item))
}

/// Replaces a schedule, committed with `audit` (the caller's `settings.update` entry); hours that open now
/// drain the queue.
pub async fn update_schedule(
    app: &App,
    t: &TenantId,
    id: &ScheduleId,
    req: ScheduleInput,
    audit: AuditEntry,
) -> Result<ScheduleView, AdminError> {
    let sc = Schedule::parse(&req)?;
    let item = schedule_item(t, id, &sc, app.now());
    let op = TxOp::Put { item: item.clone(), condition: Some(Condition::Exists) };
    match crate::audit::commit(app, vec![op], Vec::new(), vec![audit.target("schedule", id)]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) => return Err(AdminError::NotFound),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after a schedule change failed; timers retry");
    }
    Ok(schedule_view(&item))
}

/// One schedule.
pub async fn get_schedule(app: &App, t: &TenantId, id: &ScheduleId) -> Result<ScheduleView, AdminError> {
    let item = app.table.get(&keys::schedule(t, id)).await?.ok_or(AdminError::NotFound)?;
    Ok(schedule_view(&item))
}

/// The tenant's schedules, a page at a time.
pub async fn list_schedules(
    app: &App,
    t: &TenantId,
    params: &PageRequest,
) -> Result<(Vec<ScheduleView>, Option<Cursor>), AdminError> {
    list_prefix(app, t, keys::SCHEDULE_PREFIX, params, |i| Ok(schedule_view(i))).await
}
