//! What the administration of routing shares: agents (accounts with their routing item, [`super::agents`]),
//! groups ([`super::groups`]), schedules ([`super::schedules`]) and the assignment settings
//! ([`super::settings`]) answer [`AdminError`] and check their input with these helpers. Each write keeps
//! both sides of a relation in one transaction (an agent's `group_ids` and a group's `agent_ids`), and each
//! change that can free or add capacity is followed by a queue drain.

use kefu_domain::{AgentId, GroupId, RoleId, ScheduleId, TenantId, ValidationError};
use kefu_ports::table::{Condition, Cursor, Item, MAX_TX_ITEMS, Query, TableError, TxOp, Update};
use serde::{Deserialize, Deserializer};
use serde_json::json;

use super::AssignmentError;
use super::store::GroupRecord;
use crate::App;
use crate::identity::access::AccessError;
use crate::plumbing::keys;
use crate::plumbing::pages::PageRequest;

/// The largest `max_concurrent`.
pub const MAX_CONCURRENT_LIMIT: u32 = 100;
/// The most skills an agent has.
pub const MAX_SKILLS: usize = 50;
/// The most members added to or removed from groups in one request (two items each in one transaction).
pub const MAX_MEMBER_CHANGES: usize = (MAX_TX_ITEMS - 2) / 2;

/// Why an administration request was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A field is invalid (with its path).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// No such thing in this tenant.
    #[error("not found")]
    NotFound,
    /// Taken or in use (email, default group…), or the tenant's last administrator.
    #[error("{0}")]
    Conflict(String),
    /// The granting rules refuse it: the caller would give, or touch, more than it holds.
    #[error("{0}")]
    Refused(kefu_domain::permission::GrantRefusal),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<AssignmentError> for AdminError {
    fn from(e: AssignmentError) -> Self {
        match e {
            AssignmentError::Table(t) => AdminError::Table(t),
            AssignmentError::AgentNotFound | AssignmentError::ConversationNotFound | AssignmentError::GroupNotFound => {
                AdminError::NotFound
            }
            other => AdminError::Conflict(other.to_string()),
        }
    }
}

impl From<AccessError> for AdminError {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Refused(r) => AdminError::Refused(r),
            AccessError::LastAdministrator => AdminError::Conflict(AccessError::LastAdministrator.to_string()),
            AccessError::Table(t) => AdminError::Table(t),
        }
    }
}

pub(super) fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// Skills: trimmed, lower-cased, 1..=50 characters each, at most [`MAX_SKILLS`], no duplicates kept.
pub fn parse_skills(skills: &[String], field: &str) -> Result<Vec<String>, ValidationError> {
    if skills.len() > MAX_SKILLS {
        return Err(ValidationError::new(field, format!("at most {MAX_SKILLS} skills")));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, s) in skills.iter().enumerate() {
        let t = s.trim().to_lowercase();
        if t.is_empty() || t.chars().count() > 50 || t.chars().any(char::is_control) {
            return Err(ValidationError::new(format!("{field}[{i}]"), "a skill is 1 to 50 characters"));
        }
        if !out.contains(&t) {
            out.push(t);
        }
    }
    Ok(out)
}

pub(super) fn parse_max_concurrent(n: i64) -> Result<u32, ValidationError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_CONCURRENT_LIMIT)
        .ok_or_else(|| ValidationError::new("max_concurrent", format!("must be from 0 to {MAX_CONCURRENT_LIMIT}")))
}

pub(super) async fn check_schedule(
    app: &App,
    t: &TenantId,
    id: Option<&str>,
    field: &str,
) -> Result<Option<ScheduleId>, AdminError> {
    let Some(id) = id else { return Ok(None) };
    let bad = || ValidationError::new(field, "no such schedule");
    let sid = ScheduleId::parse(id).ok_or_else(bad)?;
    app.table.get(&keys::schedule(t, &sid)).await?.ok_or_else(bad)?;
    Ok(Some(sid))
}

/// The group `id` names in the tenant, or a 400 on `field` ("no such group").
pub(super) async fn check_group(app: &App, t: &TenantId, id: &str, field: &str) -> Result<GroupRecord, AdminError> {
    let bad = || ValidationError::new(field, "no such group");
    let g = GroupId::parse(id).ok_or_else(bad)?;
    let item = app.table.get(&keys::group(t, &g)).await?.ok_or_else(bad)?;
    Ok(GroupRecord::from_item(&item).map_err(TableError::from)?)
}

pub(super) async fn check_groups(
    app: &App,
    t: &TenantId,
    ids: &[String],
    field: &str,
) -> Result<Vec<GroupRecord>, AdminError> {
    let mut out: Vec<GroupRecord> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let rec = check_group(app, t, id, &format!("{field}[{i}]")).await?;
        if !out.iter().any(|x| x.group_id == rec.group_id) {
            out.push(rec);
        }
    }
    Ok(out)
}

pub(super) async fn check_role(app: &App, t: &TenantId, id: &str) -> Result<RoleId, AdminError> {
    let bad = || ValidationError::new("role_id", "no such role");
    let role = RoleId::parse_any(id).ok_or_else(bad)?;
    app.table.get(&keys::role(t, role.as_str())).await?.ok_or_else(bad)?;
    Ok(role)
}

/// The operation moving a group's member list from what was read to `agent_ids`.
pub(super) fn group_members_op(t: &TenantId, g: &GroupRecord, agent_ids: &[AgentId]) -> TxOp {
    TxOp::Update {
        key: keys::group(t, &g.group_id),
        update: Update::new().set("agent_ids", json!(agent_ids)).add("version", 1),
        condition: Some(Condition::eq("version", g.version)),
    }
}

/// One page of the routing partition's items under `prefix` (groups, schedules), as views.
pub(super) async fn list_prefix<V>(
    app: &App,
    t: &TenantId,
    prefix: &str,
    params: &PageRequest,
    view: fn(&Item) -> Result<V, TableError>,
) -> Result<(Vec<V>, Option<Cursor>), AdminError> {
    let page = app.table.query(params.apply(Query::partition(keys::routing_pk(t)).prefix(prefix))?).await?;
    Ok((page.items.iter().map(view).collect::<Result<_, _>>()?, page.cursor))
}
