//! Agent groups: their members (each member's `group_ids` and the group's `agent_ids` change together) and
//! their schedules.

use kefu_domain::{AgentId, GroupId, Name, TenantId, ValidationError};
use kefu_ports::table::{Condition, Cursor, Item, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::ensure_agent_load;
use super::store::GroupRecord;
use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::events::{AgentUpdated, Envelope};
use crate::plumbing::keys;
use crate::plumbing::pages::PageRequest;
use crate::plumbing::record::Record;

use super::admin::{AdminError, MAX_MEMBER_CHANGES, check_schedule, list_prefix};
use super::settings::get_settings;

/// `POST /v1/groups` and `PUT /v1/groups/{id}` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    /// Display name.
    pub name: String,
    /// Members.
    #[serde(default)]
    pub agent_ids: Vec<String>,
    /// Working hours of the group.
    #[serde(default)]
    pub schedule_id: Option<String>,
}

/// A group as the API answers it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct GroupView {
    /// Group id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Members.
    pub agent_ids: Vec<String>,
    /// Working hours.
    pub schedule_id: Option<String>,
    /// Created at.
    pub created_at: String,
}

impl GroupView {
    fn of(g: &GroupRecord) -> Self {
        Self {
            id: g.group_id.to_string(),
            name: g.name.clone(),
            agent_ids: g.agent_ids.iter().map(ToString::to_string).collect(),
            schedule_id: g.schedule_id.as_ref().map(ToString::to_string),
            created_at: g.created_at.to_string(),
        }
    }

    fn of_item(item: &Item) -> Result<Self, TableError> {
        Ok(Self::of(&GroupRecord::from_item(item)?))
    }
}

/// The members' side of a membership change: each agent's routing and account items.
pub(super) async fn member_ops(
    app: &App,
    t: &TenantId,
    g: &GroupId,
    joining: &[AgentId],
    leaving: &[AgentId],
) -> Result<Vec<TxOp>, AdminError> {
    if joining.len() + leaving.len() > MAX_MEMBER_CHANGES {
        return Err(ValidationError::new(
            "agent_ids",
            format!("at most {MAX_MEMBER_CHANGES} members can join or leave in one request"),
        )
        .into());
    }
    let mut ops = Vec::new();
    for (a, join) in joining.iter().map(|a| (a, true)).chain(leaving.iter().map(|a| (a, false))) {
        let load = ensure_agent_load(app, t, a).await?;
        let item = app.table.get(&keys::agent_load(t, a)).await?.ok_or(AdminError::NotFound)?;
        let gv = item.get("gv").and_then(Value::as_u64).unwrap_or(0);
        let mut groups: Vec<GroupId> = load.group_ids.into_iter().filter(|x| x != g).collect();
        if join {
            groups.push(g.clone());
        }
        ops.push(TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().set("group_ids", json!(groups)).set("gv", gv + 1),
            condition: Some(if gv == 0 {
                Condition::And(vec![Condition::Exists, Condition::AttrNotExists("gv".into())])
            } else {
                Condition::eq("gv", gv)
            }),
        });
        ops.push(TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new().set("group_ids", json!(groups)),
            condition: Some(Condition::Exists),
        });
    }
    Ok(ops)
}

pub(super) async fn parse_members(app: &App, t: &TenantId, ids: &[String]) -> Result<Vec<AgentId>, AdminError> {
    let mut out: Vec<AgentId> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let bad = || ValidationError::new(format!("agent_ids[{i}]"), "no such agent");
        let a = AgentId::parse(id).ok_or_else(bad)?;
        app.table.get(&keys::agent(t, &a)).await?.ok_or_else(bad)?;
        if !out.contains(&a) {
            out.push(a);
        }
    }
    Ok(out)
}

/// Creates a group with its members; `audit` (the caller's `group.create` entry) is committed with it.
pub async fn create_group(
    app: &App,
    t: &TenantId,
    req: GroupInput,
    audit: AuditEntry,
) -> Result<GroupView, AdminError> {
    let name = Name::parse(&req.name, "name")?;
    let members = parse_members(app, t, &req.agent_ids).await?;
    let schedule = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    let g = GroupId::generate();
    let group = GroupRecord {
        group_id: g.clone(),
        tenant_id: t.clone(),
        name: name.as_str().to_owned(),
        agent_ids: members.clone(),
        schedule_id: schedule,
        created_at: app.now(),
        version: 1,
    };
    let mut ops = vec![TxOp::Put { item: group.to_item(), condition: Some(Condition::NotExists) }];
    ops.extend(member_ops(app, t, &g, &members, &[]).await?);
    let events: Vec<Envelope> = members
        .iter()
        .map(|a| Envelope::new(t, app.now(), AgentUpdated::Agent { agent_id: a.clone() }))
        .take(1)
        .collect();
    let audit = audit.target("group", &g).with("agent_ids", json!(members));
    match crate::audit::commit(app, ops, events, vec![audit]).await {
        Ok(()) => Ok(GroupView::of(&group)),
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            Err(AdminError::Conflict("an agent changed meanwhile; retry".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// The tenant's groups, a page at a time.
pub async fn list_groups(
    app: &App,
    t: &TenantId,
    params: &PageRequest,
) -> Result<(Vec<GroupView>, Option<Cursor>), AdminError> {
    list_prefix(app, t, keys::GROUP_PREFIX, params, GroupView::of_item).await
}

/// Replaces a group (name, members, schedule); members joining and leaving change in the same transaction, and
/// `audit` (the caller's `group.update` entry) is committed with them.
pub async fn update_group(
    app: &App,
    t: &TenantId,
    g: &GroupId,
    req: GroupInput,
    audit: AuditEntry,
) -> Result<GroupView, AdminError> {
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    let rec = GroupRecord::from_item(&item).map_err(TableError::from)?;
    let name = Name::parse(&req.name, "name")?;
    let members = parse_members(app, t, &req.agent_ids).await?;
    let schedule = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    let joining: Vec<AgentId> = members.iter().filter(|a| !rec.agent_ids.contains(a)).cloned().collect();
    let leaving: Vec<AgentId> = rec.agent_ids.iter().filter(|a| !members.contains(a)).cloned().collect();
    let mut ops = vec![TxOp::Update {
        key: keys::group(t, g),
        update: Update::new()
            .set("name", name.as_str())
            .set("agent_ids", json!(members))
            .set("schedule_id", json!(schedule))
            .add("version", 1),
        condition: Some(Condition::eq("version", rec.version)),
    }];
    ops.extend(member_ops(app, t, g, &joining, &leaving).await?);
    let event = Envelope::new(t, app.now(), AgentUpdated::Group { group_id: g.clone() });
    let audit = audit.target("group", g).with("agent_ids", json!(members));
    match crate::audit::commit(app, ops, vec![event], vec![audit]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            return Err(AdminError::Conflict("the group or an agent changed meanwhile; retry".into()));
        }
        Err(e) => return Err(e.into()),
    }
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    Ok(GroupView::of_item(&item)?)
}

/// Deletes a group, taking it out of its members' groups. The default group cannot be deleted. Conversations
/// of a deleted group are routed as if they had none (the default group). `audit` (the caller's
/// `group.delete` entry) is committed with the deletion.
pub async fn delete_group(app: &App, t: &TenantId, g: &GroupId, audit: AuditEntry) -> Result<(), AdminError> {
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    let rec = GroupRecord::from_item(&item).map_err(TableError::from)?;
    let settings = get_settings(app, t).await?;
    if settings.default_group_id.as_ref() == Some(g) {
        return Err(AdminError::Conflict("this is the default group of the assignment settings".into()));
    }
    let mut ops = vec![TxOp::Delete { key: keys::group(t, g), condition: Some(Condition::eq("version", rec.version)) }];
    ops.extend(member_ops(app, t, g, &[], &rec.agent_ids).await.map_err(|e| match e {
        AdminError::Invalid(_) => {
            AdminError::Conflict(format!("the group has more than {MAX_MEMBER_CHANGES} members; remove some first"))
        }
        e => e,
    })?);
    let event = Envelope::new(t, app.now(), AgentUpdated::Group { group_id: g.clone() });
    let audit = audit.target("group", g);
    match crate::audit::commit(app, ops, vec![event], vec![audit]).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            Err(AdminError::Conflict("the group or an agent changed meanwhile; retry".into()))
        }
        Err(e) => Err(e.into()),
    }
}
