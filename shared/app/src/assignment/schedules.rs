//! Working-hours schedules that agents and groups follow.

use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{ScheduleId, TenantId};
use kefu_ports::table::{Condition, Cursor, Item, Key, TableError, TxOp};
use serde::{Deserialize, Serialize};
use tracing::warn;

use super::drain;
use super::store::s;
use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::keys;
use crate::plumbing::pages::PageRequest;
use crate::plumbing::record::Record;

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
    let schedule = ScheduleInput::deserialize(item).unwrap_or(ScheduleInput {
        name: String::new(),
        timezone: "UTC".into(),
        weekly: Default::default(),
        holidays: vec![],
        overrides: vec![],
    });
    ScheduleView { id: s(item, "schedule_id").unwrap_or_default().to_owned(), schedule }
}

/// A working-hours schedule as stored: `T#{t}` / `SCHEDULE#{id}`, its input (name, zone, weekly hours,
/// holidays, overrides, as validated by `Schedule::parse`) side by side with its id. Written whole on every save.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleRecord {
    /// Its id.
    pub schedule_id: ScheduleId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// What was saved.
    #[serde(flatten)]
    pub schedule: ScheduleInput,
    /// The last save.
    pub updated_at: jiff::Timestamp,
}

impl Record for ScheduleRecord {
    const TYPE: &'static str = "schedule";

    fn key(&self) -> Key {
        keys::schedule(&self.tenant_id, &self.schedule_id)
    }
}

pub(super) fn schedule_item(t: &TenantId, id: &ScheduleId, sc: &Schedule, at: jiff::Timestamp) -> Item {
    ScheduleRecord { schedule_id: id.clone(), tenant_id: t.clone(), schedule: sc.to_input(), updated_at: at }.to_item()
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_schedule_is_stored_as_before_and_reads_back() {
        let (t, id) = (TenantId::generate(), ScheduleId::generate());
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let input: ScheduleInput = serde_json::from_value(json!({
            "name": "Office", "timezone": "Asia/Shanghai", "weekly": {"mon": [["09:00", "18:00"]]},
            "holidays": ["2026-10-01"],
        }))
        .unwrap();
        let sc = Schedule::parse(&input).unwrap();
        let item = schedule_item(&t, &id, &sc, at);
        // What the code wrote before the record: the key and ids, then the validated input's fields.
        let mut expected = keys::schedule(&t, &id).with(json!({"type": "schedule", "schedule_id": id, "tenant_id": t}));
        if let serde_json::Value::Object(m) = serde_json::to_value(sc.to_input()).unwrap() {
            expected.extend(m);
        }
        expected.insert("updated_at".into(), json!(at));
        assert_eq!(item, expected);
        let back = ScheduleRecord::from_item(item).unwrap();
        assert_eq!((back.schedule_id, back.schedule, back.updated_at), (id, sc.to_input(), at));
    }
}
