//! Administration of what routing runs on: agents (accounts with their routing item), groups, schedules and the
//! assignment settings. Each write keeps both sides of a relation in one transaction (an agent's `group_ids`
//! and a group's `agent_ids`), and each change that can free or add capacity is followed by a queue drain.

use std::collections::BTreeSet;

use kefu_domain::routing::Strategy;
use kefu_domain::schedule::{Schedule, ScheduleInput};
use kefu_domain::{AgentId, Email, GroupId, Name, Password, RoleId, ScheduleId, TenantId, ValidationError};
use kefu_ports::table::{CmpOp, Condition, Cursor, Item, MAX_TX_ITEMS, Query, SkCondition, TableError, TxOp, Update};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use tracing::warn;

use super::store::{AgentLoad, GroupRecord, Settings, s, strings, u32_of};
use super::{AssignmentError, drain, ensure_agent_load, events};
use crate::App;
use crate::access::{self, AccessError};
use crate::auth::{agent_item, hash_password, tell_owner};
use crate::events::Envelope;
use crate::http::ApiError;
use crate::http::list::ListParams;
use crate::keys;
use crate::outbox;

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

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(v) => v.into(),
            AdminError::NotFound => ApiError::not_found(),
            AdminError::Conflict(m) => ApiError::conflict(m),
            AdminError::Refused(r) => ApiError::forbidden(r.to_string()),
            AdminError::Table(t) => t.into(),
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

fn double<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
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

fn parse_max_concurrent(n: i64) -> Result<u32, ValidationError> {
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_CONCURRENT_LIMIT)
        .ok_or_else(|| ValidationError::new("max_concurrent", format!("must be from 0 to {MAX_CONCURRENT_LIMIT}")))
}

async fn check_schedule(
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

async fn check_groups(app: &App, t: &TenantId, ids: &[String], field: &str) -> Result<Vec<GroupRecord>, AdminError> {
    let mut out: Vec<GroupRecord> = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let bad = || ValidationError::new(format!("{field}[{i}]"), "no such group");
        let g = GroupId::parse(id).ok_or_else(bad)?;
        let item = app.table.get(&keys::group(t, &g)).await?.ok_or_else(bad)?;
        let rec = GroupRecord::from_item(&item).ok_or_else(bad)?;
        if !out.iter().any(|x| x.group_id == rec.group_id) {
            out.push(rec);
        }
    }
    Ok(out)
}

async fn check_role(app: &App, t: &TenantId, id: &str) -> Result<RoleId, AdminError> {
    let bad = || ValidationError::new("role_id", "no such role");
    let role = RoleId::parse_any(id).ok_or_else(bad)?;
    app.table.get(&keys::role(t, role.as_str())).await?.ok_or_else(bad)?;
    Ok(role)
}

/// The operation moving a group's member list from what was read to `agent_ids`.
fn group_members_op(t: &TenantId, g: &GroupRecord, agent_ids: &[AgentId]) -> TxOp {
    TxOp::Update {
        key: keys::group(t, &g.group_id),
        update: Update::new().set("agent_ids", json!(agent_ids)).add("version", 1),
        condition: Some(Condition::eq("version", g.version)),
    }
}

// ----------------------------------------------------------------------------------------------------- agents

/// `POST /v1/agents` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Sign-in email (unique in the tenant).
    pub email: String,
    /// Display name.
    pub name: String,
    /// Initial password.
    pub password: String,
    /// Role (`admin`, `supervisor`, `agent` or a custom role's id).
    pub role_id: String,
    /// Groups.
    #[serde(default)]
    pub group_ids: Vec<String>,
    /// Skills.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Most conversations at once (0..=100, default 5).
    #[serde(default)]
    pub max_concurrent: Option<i64>,
    /// Shift schedule.
    #[serde(default)]
    pub schedule_id: Option<String>,
}

/// `PATCH /v1/agents/{id}` body: only what is present changes; `schedule_id: null` removes the shift.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentPatch {
    /// New sign-in email.
    #[serde(default)]
    pub email: Option<String>,
    /// New name.
    #[serde(default)]
    pub name: Option<String>,
    /// New password.
    #[serde(default)]
    pub password: Option<String>,
    /// New role.
    #[serde(default)]
    pub role_id: Option<String>,
    /// New groups (replaces the list).
    #[serde(default)]
    pub group_ids: Option<Vec<String>>,
    /// New skills (replaces the list).
    #[serde(default)]
    pub skills: Option<Vec<String>>,
    /// New capacity.
    #[serde(default)]
    pub max_concurrent: Option<i64>,
    /// New shift schedule (`null` removes it).
    #[serde(default, deserialize_with = "double")]
    #[schema(value_type = Option<String>)]
    pub schedule_id: Option<Option<String>>,
}

/// An agent as administrators see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentAdminView {
    /// Account id.
    pub id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role id.
    pub role_id: String,
    /// Groups.
    pub group_ids: Vec<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Most conversations at once.
    pub max_concurrent: u32,
    /// Shift schedule.
    pub schedule_id: Option<String>,
    /// `online` / `away` / `offline`.
    pub status: String,
    /// Last successful sign-in.
    pub last_login_at: Option<String>,
    /// Open conversations assigned now.
    pub active_conversations: u32,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Created at.
    pub created_at: String,
}

impl AgentAdminView {
    /// The view of an account item and its routing item (which, when present, is authoritative for routing).
    pub fn of(account: &Item, load: Option<&Item>) -> Self {
        let r = load.unwrap_or(account);
        Self {
            id: s(account, "agent_id").unwrap_or_default().to_owned(),
            email: s(account, "email").unwrap_or_default().to_owned(),
            name: s(account, "name").unwrap_or_default().to_owned(),
            role_id: s(account, "role_id").unwrap_or_default().to_owned(),
            group_ids: strings(r, "group_ids"),
            skills: strings(r, "skills"),
            max_concurrent: u32_of(r, "max_concurrent").unwrap_or(super::store::DEFAULT_MAX_CONCURRENT),
            schedule_id: s(r, "schedule_id").map(str::to_owned),
            status: s(r, "status").unwrap_or("offline").to_owned(),
            last_login_at: s(account, "last_login_at").map(str::to_owned),
            active_conversations: load.and_then(|l| u32_of(l, "active")).unwrap_or(0),
            disabled: account.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            created_at: s(account, "created_at").unwrap_or_default().to_owned(),
        }
    }
}

/// A new password under the tenant's policy (length, common passwords, not the email or company name).
async fn new_password(app: &App, t: &TenantId, password: &str, email: &str) -> Result<Password, AdminError> {
    crate::security::check_new_password(app, t, password, email).await.map_err(|e| match e {
        crate::security::PasswordCheckError::Invalid(v) => AdminError::Invalid(v),
        crate::security::PasswordCheckError::Table(t) => AdminError::Table(t),
    })
}

/// Creates an agent: account, email claim and routing item in one transaction with the groups it joins.
pub async fn create_agent(app: &App, t: &TenantId, req: NewAgent) -> Result<AgentAdminView, AdminError> {
    let email = Email::parse(&req.email)?;
    let name = Name::parse(&req.name, "name")?;
    let password = new_password(app, t, &req.password, email.as_str()).await?;
    let role = check_role(app, t, &req.role_id).await?;
    let skills = parse_skills(&req.skills, "skills")?;
    let max = parse_max_concurrent(req.max_concurrent.unwrap_or(i64::from(super::store::DEFAULT_MAX_CONCURRENT)))?;
    let schedule = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    let groups = check_groups(app, t, &req.group_ids, "group_ids").await?;
    if groups.len() > MAX_MEMBER_CHANGES {
        return Err(ValidationError::new("group_ids", format!("at most {MAX_MEMBER_CHANGES} groups at once")).into());
    }
    let a = AgentId::generate();
    let now = app.now();
    let group_ids: Vec<&GroupId> = groups.iter().map(|g| &g.group_id).collect();
    let mut account = agent_item(t, &a, email.as_str(), name.as_str(), &hash_password(password.expose()), &role, now);
    account.insert("group_ids".into(), json!(group_ids));
    account.insert("skills".into(), json!(skills));
    account.insert("max_concurrent".into(), json!(max));
    account.insert("schedule_id".into(), json!(schedule));
    let load = AgentLoad::item_for_account(t, &account).expect("a fresh account has an id");
    let mut ops = vec![
        TxOp::Put {
            item: keys::agent_email(t, email.as_str()).with(json!({"agent_id": a})),
            condition: Some(Condition::NotExists),
        },
        TxOp::Put { item: account.clone(), condition: Some(Condition::NotExists) },
        TxOp::Put { item: load.clone(), condition: Some(Condition::NotExists) },
    ];
    for g in &groups {
        let mut members = g.agent_ids.clone();
        members.push(a.clone());
        ops.push(group_members_op(t, g, &members));
    }
    match app.table.transact(ops).await {
        Ok(()) => Ok(AgentAdminView::of(&account, Some(&load))),
        Err(TableError::TransactionCanceled { failed }) if failed.contains(&0) => {
            Err(AdminError::Conflict("an account with this email exists".into()))
        }
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            Err(AdminError::Conflict("a group changed meanwhile; retry".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// One agent (404 for an id of another tenant).
pub async fn get_agent(app: &App, t: &TenantId, a: &AgentId) -> Result<AgentAdminView, AdminError> {
    let account = app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    let load = app.table.get(&keys::agent_load(t, a)).await?;
    Ok(AgentAdminView::of(&account, load.as_ref()))
}

/// A page of the tenant's agents, in id order: one `Query` for the accounts and one for their routing items
/// (the same sort keys in the routing partition).
pub async fn list_agents(
    app: &App,
    t: &TenantId,
    params: &ListParams,
) -> Result<(Vec<AgentAdminView>, Option<Cursor>), ApiError> {
    let query = params.apply(Query::partition(keys::tenant_pk(t)).prefix(keys::AGENT_PREFIX))?;
    let page = app.table.query(query).await?;
    let (Some(first), Some(last)) = (page.items.first(), page.items.last()) else { return Ok((vec![], None)) };
    let sk = |i: &Item| s(i, kefu_ports::table::SK).unwrap_or_default().to_owned();
    let loads = app
        .table
        .query(Query::partition(keys::routing_pk(t)).sk(SkCondition::Between(sk(first), sk(last))))
        .await?
        .items;
    let views = page
        .items
        .iter()
        .map(|acc| {
            let load = loads.iter().find(|l| s(l, "agent_id") == s(acc, "agent_id"));
            AgentAdminView::of(acc, load)
        })
        .collect();
    Ok((views, page.cursor))
}

/// Changes an agent. Groups joined and left are updated in the same transaction; capacity, groups, skills
/// and shift changes emit `agent.updated` (the queue drains).
pub async fn update_agent(app: &App, t: &TenantId, a: &AgentId, req: AgentPatch) -> Result<AgentAdminView, AdminError> {
    let account = app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    let load = ensure_agent_load(app, t, a).await?;
    let load_item = app.table.get(&keys::agent_load(t, a)).await?.ok_or(AdminError::NotFound)?;
    let membership_version = load_item.get("gv").and_then(Value::as_u64).unwrap_or(0);
    let mut acc = Update::new();
    let mut rt = Update::new();
    let mut ops = Vec::new();
    let mut routing_changed = false;
    let old_email = s(&account, "email").unwrap_or_default().to_owned();
    let email = match &req.email {
        Some(e) => Email::parse(e)?,
        None => Email::parse(&old_email).unwrap_or(Email::parse("unknown@invalid.example")?),
    };
    if req.email.is_some() && email.as_str() != old_email {
        acc = acc.set("email", email.as_str());
        ops.push(TxOp::Delete {
            key: keys::agent_email(t, &old_email),
            condition: Some(Condition::eq("agent_id", a.as_str())),
        });
        ops.push(TxOp::Put {
            item: keys::agent_email(t, email.as_str()).with(json!({"agent_id": a})),
            condition: Some(Condition::NotExists),
        });
    }
    let email_ops = ops.len();
    if let Some(n) = &req.name {
        acc = acc.set("name", Name::parse(n, "name")?.as_str());
    }
    if let Some(p) = &req.password {
        let p = new_password(app, t, p, email.as_str()).await?;
        acc = acc.set("password_hash", hash_password(p.expose())).set("password_changed_at", json!(app.now()));
    }
    let mut guard = None;
    if let Some(r) = &req.role_id {
        let role = check_role(app, t, r).await?;
        if s(&account, "role_id") != Some(role.as_str()) {
            guard = Some(access::keep_an_administrator(app, t, &access::set_role(a, role.as_str())).await?);
        }
        acc = acc.set("role_id", role.as_str());
    }
    if let Some(skills) = &req.skills {
        let skills = parse_skills(skills, "skills")?;
        acc = acc.set("skills", json!(skills));
        rt = rt.set("skills", json!(skills));
        routing_changed = true;
    }
    let new_max = req.max_concurrent.map(parse_max_concurrent).transpose()?;
    if let Some(m) = new_max {
        acc = acc.set("max_concurrent", m);
        rt = rt.set("max_concurrent", m);
        routing_changed = true;
    }
    if let Some(sc) = &req.schedule_id {
        let sc = check_schedule(app, t, sc.as_deref(), "schedule_id").await?;
        acc = acc.set("schedule_id", json!(sc));
        rt = rt.set("schedule_id", json!(sc));
        routing_changed = true;
    }
    if let Some(ids) = &req.group_ids {
        let wanted = check_groups(app, t, ids, "group_ids").await?;
        let wanted_ids: BTreeSet<&GroupId> = wanted.iter().map(|g| &g.group_id).collect();
        let had: BTreeSet<&GroupId> = load.group_ids.iter().collect();
        let mut changes = 0;
        for g in &wanted {
            if !had.contains(&g.group_id) {
                let mut members = g.agent_ids.clone();
                if !members.contains(a) {
                    members.push(a.clone());
                }
                ops.push(group_members_op(t, g, &members));
                changes += 1;
            }
        }
        let left: Vec<String> = had.iter().filter(|g| !wanted_ids.contains(*g)).map(|g| g.to_string()).collect();
        for g in check_groups(app, t, &left, "group_ids").await.unwrap_or_default() {
            let members: Vec<AgentId> = g.agent_ids.iter().filter(|x| *x != a).cloned().collect();
            ops.push(group_members_op(t, &g, &members));
            changes += 1;
        }
        if changes > MAX_MEMBER_CHANGES {
            return Err(
                ValidationError::new("group_ids", format!("at most {MAX_MEMBER_CHANGES} changes at once")).into()
            );
        }
        let list: Vec<&GroupId> = wanted.iter().map(|g| &g.group_id).collect();
        acc = acc.set("group_ids", json!(list));
        rt = rt.set("group_ids", json!(list)).set("gv", membership_version + 1);
        routing_changed = true;
    }
    if !acc.actions.is_empty() {
        ops.push(TxOp::Update { key: keys::agent(t, a), update: acc, condition: Some(Condition::Exists) });
    }
    let mut routing_op = None;
    if !rt.actions.is_empty() {
        let mut cond = vec![Condition::Exists];
        if req.group_ids.is_some() {
            cond.push(Condition::Or(vec![
                Condition::eq("gv", membership_version),
                Condition::And(vec![Condition::AttrNotExists("gv".into()), Condition::Exists]),
            ]));
        }
        if let Some(m) = new_max {
            // Capacity is never below what the agent holds: the invariant stays "active <= max_concurrent".
            cond.push(Condition::cmp("active", CmpOp::Le, m));
        }
        routing_op = Some(ops.len());
        ops.push(TxOp::Update { key: keys::agent_load(t, a), update: rt, condition: Some(Condition::And(cond)) });
    }
    if ops.is_empty() {
        return get_agent(app, t, a).await;
    }
    let guard_op = guard.map(|g| {
        ops.push(g);
        ops.len() - 1
    });
    let events = if routing_changed {
        vec![Envelope::new(events::AGENT_UPDATED, t, app.now(), json!({"agent_id": a}))]
    } else {
        vec![]
    };
    match outbox::commit(app, ops, events).await {
        Ok(()) => {
            if req.password.is_some() {
                // A password set by an administrator ends the sessions opened with the old one.
                crate::sessions::revoke_all(app, t, a, None).await?;
                tell_owner(
                    app,
                    email.as_str(),
                    "Your Kefu password was reset",
                    &format!(
                        "An administrator set a new password for your Kefu account {email}, and your sessions were \
                         ended. If you did not expect this, contact your administrator at once."
                    ),
                )
                .await;
            }
            if email_ops > 0 {
                // The old address is told, so a takeover through an email change does not go unnoticed.
                tell_owner(
                    app,
                    &old_email,
                    "Your Kefu sign-in email was changed",
                    &format!(
                        "The sign-in email of your Kefu account {old_email} was changed to {} by an administrator. \
                         If you did not expect this, contact your administrator at once.",
                        kefu_domain::masking::mask_email(email.as_str())
                    ),
                )
                .await;
            }
            get_agent(app, t, a).await
        }
        Err(e) if guard_op.is_some_and(|i| access::guard_failed(&e, i)) => {
            Err(AdminError::Conflict(access::GUARD_MOVED.into()))
        }
        Err(TableError::TransactionCanceled { failed }) if failed.iter().any(|f| *f < email_ops) => {
            Err(AdminError::Conflict("an account with this email exists".into()))
        }
        Err(TableError::TransactionCanceled { failed })
            if new_max.is_some() && failed.iter().any(|f| Some(*f) == routing_op) =>
        {
            let now = get_agent(app, t, a).await?;
            Err(AdminError::Conflict(format!(
                "the agent holds {} open conversations: close or transfer some before lowering max_concurrent below that",
                now.active_conversations
            )))
        }
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            Err(AdminError::Conflict("the agent or a group changed meanwhile; retry".into()))
        }
        Err(e) => Err(e.into()),
    }
}

/// Disables an agent: it cannot sign in or receive conversations; its open conversations go back to the queue
/// (keeping their place by original arrival) and are routed to others. Its sessions are ended by the caller.
/// Answers how many conversations were requeued.
///
/// Refused (409) when it would leave the tenant without an enabled administrator (see [`crate::access`]).
pub async fn disable_agent(app: &App, t: &TenantId, a: &AgentId) -> Result<usize, AdminError> {
    app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    ensure_agent_load(app, t, a).await?;
    let guard = access::keep_an_administrator(app, t, &access::disable(a)).await?;
    let now = app.now();
    let ops = vec![
        guard,
        TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new().set("disabled", true).set("status", "offline").set("disabled_at", json!(now)),
            condition: Some(Condition::Exists),
        },
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().set("disabled", true).set("status", "offline"),
            condition: Some(Condition::Exists),
        },
    ];
    match app.table.transact(ops).await {
        Ok(()) => {}
        Err(e) if access::guard_failed(&e, 0) => return Err(AdminError::Conflict(access::GUARD_MOVED.into())),
        Err(e) => return Err(e.into()),
    }
    crate::sessions::revoke_all(app, t, a, None).await?;
    let mut requeued = 0;
    loop {
        let page =
            app.table.query(Query::index(kefu_ports::Index::Gsi2, keys::assigned_pk(t, a, "open")).limit(50)).await?;
        if page.items.is_empty() {
            break;
        }
        let mut progressed = false;
        for item in &page.items {
            let Some(conv) = super::ConversationState::from_item(item) else { continue };
            if conv.status != "open" || conv.assignee_id.as_ref() != Some(a) {
                continue;
            }
            match requeue(app, t, &conv, a).await {
                Ok(true) => {
                    requeued += 1;
                    progressed = true;
                }
                Ok(false) => progressed = true,
                Err(e) => warn!(tenant_id = %t, conversation_id = %conv.id, error = %e, "requeue failed"),
            }
        }
        if !progressed {
            break;
        }
    }
    let event = Envelope::new(events::AGENT_DISABLED, t, app.now(), json!({"agent_id": a, "requeued": requeued}));
    outbox::commit(app, vec![], vec![event]).await.or_else(|e| match e {
        TableError::Invalid(_) => Ok(()),
        e => Err(e),
    })?;
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after disabling failed; the consumer retries");
    }
    Ok(requeued)
}

/// Enables a disabled agent again: it may sign in and is routed conversations when it comes online (its
/// status stays `offline` until then). Enabling an enabled agent changes nothing.
pub async fn enable_agent(app: &App, t: &TenantId, a: &AgentId) -> Result<AgentAdminView, AdminError> {
    app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    ensure_agent_load(app, t, a).await?;
    let ops = vec![
        TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new().set("disabled", false).remove("disabled_at"),
            condition: Some(Condition::Exists),
        },
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().set("disabled", false),
            condition: Some(Condition::Exists),
        },
    ];
    let event = Envelope::new(events::AGENT_UPDATED, t, app.now(), json!({"agent_id": a}));
    outbox::commit(app, ops, vec![event]).await?;
    get_agent(app, t, a).await
}

/// Puts one of a (disabled) agent's open conversations back in the queue, releasing the slot.
async fn requeue(app: &App, t: &TenantId, conv: &super::ConversationState, a: &AgentId) -> Result<bool, TableError> {
    let now = app.now();
    let ops = vec![
        TxOp::Update {
            key: keys::conversation(t, &conv.id),
            update: Update::new()
                .set("status", "queued")
                .remove("assignee_id")
                .set("queued_at", json!(now))
                .set("waiting_since", json!(conv.waiting_since))
                .set("gsi2pk", keys::queue_pk(t))
                .set("gsi2sk", keys::queue_sk(conv.priority.rank(), conv.waiting_since, &conv.id)),
            condition: Some(Condition::And(vec![
                Condition::eq("status", "open"),
                Condition::eq("assignee_id", a.as_str()),
            ])),
        },
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().add("active", -1),
            condition: Some(Condition::cmp("active", CmpOp::Gt, 0)),
        },
    ];
    let event = Envelope::new(
        events::CONVERSATION_QUEUED,
        t,
        now,
        json!({"conversation_id": conv.id, "group_id": conv.group_id, "priority": conv.priority.as_str()}),
    );
    match outbox::commit(app, ops, vec![event]).await {
        Ok(()) => {
            super::mark_queued(app, t).await?;
            Ok(true)
        }
        Err(TableError::TransactionCanceled { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

// ----------------------------------------------------------------------------------------------------- groups

/// `POST /v1/groups` and `PUT /v1/groups/{id}` body.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
    fn of(item: &Item) -> Self {
        Self {
            id: s(item, "group_id").unwrap_or_default().to_owned(),
            name: s(item, "name").unwrap_or_default().to_owned(),
            agent_ids: strings(item, "agent_ids"),
            schedule_id: s(item, "schedule_id").map(str::to_owned),
            created_at: s(item, "created_at").unwrap_or_default().to_owned(),
        }
    }
}

/// The members' side of a membership change: each agent's routing and account items.
async fn member_ops(
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

async fn parse_members(app: &App, t: &TenantId, ids: &[String]) -> Result<Vec<AgentId>, AdminError> {
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

/// Creates a group with its members.
pub async fn create_group(app: &App, t: &TenantId, req: GroupInput) -> Result<GroupView, AdminError> {
    let name = Name::parse(&req.name, "name")?;
    let members = parse_members(app, t, &req.agent_ids).await?;
    let schedule = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    let g = GroupId::generate();
    let item = keys::group(t, &g).with(json!({
        "type": "group", "group_id": g, "tenant_id": t, "name": name.as_str(), "agent_ids": members,
        "schedule_id": schedule, "created_at": app.now(), "version": 1,
    }));
    let mut ops = vec![TxOp::Put { item: item.clone(), condition: Some(Condition::NotExists) }];
    ops.extend(member_ops(app, t, &g, &members, &[]).await?);
    let events: Vec<Envelope> = members
        .iter()
        .map(|a| Envelope::new(events::AGENT_UPDATED, t, app.now(), json!({"agent_id": a})))
        .take(1)
        .collect();
    match outbox::commit(app, ops, events).await {
        Ok(()) => Ok(GroupView::of(&item)),
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
    params: &ListParams,
) -> Result<(Vec<GroupView>, Option<Cursor>), ApiError> {
    list_prefix(app, t, keys::GROUP_PREFIX, params, GroupView::of).await
}

async fn list_prefix<V>(
    app: &App,
    t: &TenantId,
    prefix: &str,
    params: &ListParams,
    view: fn(&Item) -> V,
) -> Result<(Vec<V>, Option<Cursor>), ApiError> {
    let page = app.table.query(params.apply(Query::partition(keys::routing_pk(t)).prefix(prefix))?).await?;
    Ok((page.items.iter().map(view).collect(), page.cursor))
}

/// Replaces a group (name, members, schedule); members joining and leaving change in the same transaction.
pub async fn update_group(app: &App, t: &TenantId, g: &GroupId, req: GroupInput) -> Result<GroupView, AdminError> {
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    let rec = GroupRecord::from_item(&item).ok_or(AdminError::NotFound)?;
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
    let event = Envelope::new(events::AGENT_UPDATED, t, app.now(), json!({"group_id": g}));
    match outbox::commit(app, ops, vec![event]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            return Err(AdminError::Conflict("the group or an agent changed meanwhile; retry".into()));
        }
        Err(e) => return Err(e.into()),
    }
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    Ok(GroupView::of(&item))
}

/// Deletes a group, taking it out of its members' groups. The default group cannot be deleted. Conversations
/// of a deleted group are routed as if they had none (the default group).
pub async fn delete_group(app: &App, t: &TenantId, g: &GroupId) -> Result<(), AdminError> {
    let item = app.table.get(&keys::group(t, g)).await?.ok_or(AdminError::NotFound)?;
    let rec = GroupRecord::from_item(&item).ok_or(AdminError::NotFound)?;
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
    let event = Envelope::new(events::AGENT_UPDATED, t, app.now(), json!({"group_id": g}));
    match outbox::commit(app, ops, vec![event]).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCanceled { .. }) | Err(TableError::Conflict) => {
            Err(AdminError::Conflict("the group or an agent changed meanwhile; retry".into()))
        }
        Err(e) => Err(e.into()),
    }
}

// -------------------------------------------------------------------------------------------------- schedules

/// A schedule as the API answers it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScheduleView {
    /// Schedule id.
    pub id: String,
    /// Name, zone, weekly hours, holidays, overrides, as written.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub schedule: ScheduleInput,
}

fn schedule_view(item: &Item) -> ScheduleView {
    let schedule = serde_json::from_value(Value::Object(item.clone())).unwrap_or(ScheduleInput {
        name: String::new(),
        timezone: "UTC".into(),
        weekly: Default::default(),
        holidays: vec![],
        overrides: vec![],
    });
    ScheduleView { id: s(item, "schedule_id").unwrap_or_default().to_owned(), schedule }
}

fn schedule_item(t: &TenantId, id: &ScheduleId, sc: &Schedule, at: jiff::Timestamp) -> Item {
    let mut item = keys::schedule(t, id).with(json!({"type": "schedule", "schedule_id": id, "tenant_id": t}));
    if let Value::Object(m) = serde_json::to_value(sc.to_input()).expect("serialises") {
        item.extend(m);
    }
    item.insert("updated_at".into(), json!(at));
    item
}

/// Creates a schedule.
pub async fn create_schedule(app: &App, t: &TenantId, req: ScheduleInput) -> Result<ScheduleView, AdminError> {
    let sc = Schedule::parse(&req)?;
    let id = ScheduleId::generate();
    let item = schedule_item(t, &id, &sc, app.now());
    app.table.put(item.clone(), Some(Condition::NotExists)).await?;
    Ok(schedule_view(&item))
}

/// Replaces a schedule; hours that open now drain the queue.
pub async fn update_schedule(
    app: &App,
    t: &TenantId,
    id: &ScheduleId,
    req: ScheduleInput,
) -> Result<ScheduleView, AdminError> {
    let sc = Schedule::parse(&req)?;
    let item = schedule_item(t, id, &sc, app.now());
    match app.table.put(item.clone(), Some(Condition::Exists)).await {
        Ok(()) => {}
        Err(TableError::ConditionFailed) => return Err(AdminError::NotFound),
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
    params: &ListParams,
) -> Result<(Vec<ScheduleView>, Option<Cursor>), ApiError> {
    list_prefix(app, t, keys::SCHEDULE_PREFIX, params, schedule_view).await
}

// --------------------------------------------------------------------------------------------------- settings

/// `PUT /v1/settings/assignment` body (and the `GET` answer).
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SettingsInput {
    /// `least_loaded` | `round_robin`.
    pub strategy: String,
    /// Queue conversations nobody can take (else leave them unassigned).
    pub queue_when_full: bool,
    /// Route a returning customer to its last agent when it can take it.
    pub sticky_returning_customers: bool,
    /// Where conversations without a group go (`null`: every agent).
    #[serde(default)]
    pub default_group_id: Option<String>,
    /// Working hours when a conversation's group has none (`null`: always open).
    #[serde(default)]
    pub schedule_id: Option<String>,
}

/// The tenant's assignment settings (defaults until set).
pub async fn get_settings(app: &App, t: &TenantId) -> Result<Settings, TableError> {
    Ok(app.table.get(&keys::assignment_settings(t)).await?.map(|i| Settings::from_item(&i)).unwrap_or_default())
}

/// Replaces the assignment settings; the queue drains under the new rules.
pub async fn put_settings(app: &App, t: &TenantId, req: SettingsInput) -> Result<Settings, AdminError> {
    let strategy = Strategy::parse(&req.strategy)
        .ok_or_else(|| ValidationError::new("strategy", "must be least_loaded or round_robin"))?;
    let default_group_id = match req.default_group_id.as_deref() {
        None => None,
        Some(g) => Some(
            check_groups(app, t, &[g.to_owned()], "default_group_id").await.map_err(|e| match e {
                AdminError::Invalid(_) => {
                    AdminError::Invalid(ValidationError::new("default_group_id", "no such group"))
                }
                e => e,
            })?[0]
                .group_id
                .clone(),
        ),
    };
    let schedule_id = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    let settings = Settings {
        strategy,
        queue_when_full: req.queue_when_full,
        sticky_returning_customers: req.sticky_returning_customers,
        default_group_id,
        schedule_id,
    };
    let mut item = keys::assignment_settings(t).with(settings.to_json());
    item.insert("type".into(), json!("assignment_settings"));
    item.insert("updated_at".into(), json!(app.now()));
    app.table.put(item, None).await?;
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after a settings change failed; timers retry");
    }
    Ok(settings)
}
