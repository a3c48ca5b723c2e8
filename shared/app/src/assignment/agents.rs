//! Agents: staff accounts with their routing item (capacity, skills, groups, schedule), created, changed,
//! disabled and enabled with the relations on both sides kept in one transaction.

use std::collections::BTreeSet;

use kefu_domain::routing::AgentStatus;
use kefu_domain::{AgentId, ConversationStatus, Email, GroupId, Name, Password, TenantId, ValidationError};
use kefu_ports::table::{CmpOp, Condition, Cursor, Item, Query, SkCondition, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::warn;

use super::store::{AgentLoad, AgentLoadRecord, Settings, s};
use super::{AssignmentError, drain, ensure_agent_load};
use crate::App;
use crate::audit::AuditEntry;
use crate::identity::access;
use crate::identity::accounts::{AccountRecord, tell_owner};
use crate::identity::secrets::hash_password;
use crate::identity::tenants::EmailClaimRecord;
use crate::plumbing::events::{AgentDisabled, AgentUpdated, ConversationQueued, Envelope};
use crate::plumbing::keys;
use crate::plumbing::outbox;
use crate::plumbing::pages::PageRequest;
use crate::plumbing::record::Record;

use super::admin::{
    AdminError, MAX_MEMBER_CHANGES, check_groups, check_role, check_schedule, double, group_members_op,
    parse_max_concurrent, parse_skills,
};

/// `POST /v1/agents` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub schedule_id: Option<Option<String>>,
}

/// An agent as administrators see it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
    #[cfg_attr(feature = "http", schema(value_type = String))]
    pub status: AgentStatus,
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
    pub fn of(account: &AccountRecord, load: Option<&AgentLoadRecord>) -> Self {
        let ids = |g: &[GroupId]| g.iter().map(ToString::to_string).collect();
        let (group_ids, skills, max_concurrent, schedule_id, status) = match load {
            Some(l) => (ids(&l.group_ids), l.skills.clone(), l.max_concurrent, l.schedule_id.clone(), l.status),
            None => (
                ids(&account.group_ids),
                account.skills.clone(),
                account.max_concurrent,
                account.schedule_id.clone(),
                account.status,
            ),
        };
        Self {
            id: account.agent_id.to_string(),
            email: account.email.clone(),
            name: account.name.clone(),
            role_id: account.role_id.to_string(),
            group_ids,
            skills,
            max_concurrent,
            schedule_id: schedule_id.map(|s| s.to_string()),
            status,
            last_login_at: account.last_login_at.map(|t| t.to_string()),
            active_conversations: load.map_or(0, |l| l.active),
            disabled: account.disabled,
            created_at: account.created_at.to_string(),
        }
    }
}

/// A new password under the tenant's policy (length, common passwords, not the email or company name).
pub(super) async fn new_password(app: &App, t: &TenantId, password: &str, email: &str) -> Result<Password, AdminError> {
    crate::identity::security::check_new_password(app, t, password, email).await.map_err(|e| match e {
        crate::identity::security::PasswordCheckError::Invalid(v) => AdminError::Invalid(v),
        crate::identity::security::PasswordCheckError::Table(t) => AdminError::Table(t),
    })
}

/// Creates an agent: account, email claim and routing item in one transaction with the groups it joins.
///
/// `audit` (the caller's `agent.create` entry, or `None` for the operator's restore, which records its own) is
/// committed with the account, its target and detail filled in here.
pub async fn create_agent(
    app: &App,
    t: &TenantId,
    req: NewAgent,
    audit: Option<AuditEntry>,
) -> Result<AgentAdminView, AdminError> {
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
    let mut record =
        AccountRecord::new(t, &a, email.as_str(), name.as_str(), &hash_password(password.expose()).await, &role, now);
    record.group_ids = group_ids.into_iter().cloned().collect();
    record.skills = skills;
    record.max_concurrent = max;
    record.schedule_id = schedule;
    let account = record.to_item();
    let load = AgentLoad::item_for_account(&record);
    let load_record = AgentLoadRecord::from_ref(&load).map_err(TableError::from)?;
    let mut ops = vec![
        TxOp::Put { item: EmailClaimRecord::item(t, email.as_str(), &a), condition: Some(Condition::NotExists) },
        TxOp::Put { item: account.clone(), condition: Some(Condition::NotExists) },
        TxOp::Put { item: load.clone(), condition: Some(Condition::NotExists) },
    ];
    for g in &groups {
        let mut members = g.agent_ids.clone();
        members.push(a.clone());
        ops.push(group_members_op(t, g, &members));
    }
    let entries: Vec<AuditEntry> = audit
        .into_iter()
        .map(|e| e.target("agent", &a).with("email", json!(email.as_str())).with("role_id", json!(role)))
        .collect();
    match crate::audit::commit(app, ops, Vec::new(), entries).await {
        Ok(()) => Ok(AgentAdminView::of(&record, Some(&load_record))),
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
    let account = AccountRecord::from_item(account).map_err(TableError::from)?;
    let load = app.table.get(&keys::agent_load(t, a)).await?.map(AgentLoadRecord::from_item).transpose();
    Ok(AgentAdminView::of(&account, load.map_err(TableError::from)?.as_ref()))
}

/// A page of the tenant's agents, in id order: one `Query` for the accounts and one for their routing items
/// (the same sort keys in the routing partition).
pub async fn list_agents(
    app: &App,
    t: &TenantId,
    params: &PageRequest,
) -> Result<(Vec<AgentAdminView>, Option<Cursor>), AdminError> {
    let query = params.apply(Query::partition(keys::tenant_pk(t)).prefix(keys::AGENT_PREFIX))?;
    let page = app.table.query(query).await?;
    let (Some(first), Some(last)) = (page.items.first(), page.items.last()) else { return Ok((vec![], None)) };
    let sk = |i: &Item| s(i, kefu_ports::table::SK).unwrap_or_default().to_owned();
    let loads = app
        .table
        .query(Query::partition(keys::routing_pk(t)).sk(SkCondition::Between(sk(first), sk(last))))
        .await?
        .items
        .into_iter()
        .filter(|l| s(l, kefu_ports::table::SK).is_some_and(|k| k.starts_with(keys::AGENT_LOAD_PREFIX)))
        .map(AgentLoadRecord::from_item)
        .collect::<Result<Vec<_>, _>>()
        .map_err(TableError::from)?;
    let mut views = Vec::with_capacity(page.items.len());
    for acc in page.items {
        let acc = AccountRecord::from_item(acc).map_err(TableError::from)?;
        views.push(AgentAdminView::of(&acc, loads.iter().find(|l| l.agent_id == acc.agent_id)));
    }
    Ok((views, page.cursor))
}

/// Changes an agent. Groups joined and left are updated in the same transaction; capacity, groups, skills
/// and shift changes emit `agent.updated` (the queue drains).
///
/// `audit` (the caller's `agent.update` entry) is committed with the change, with what changed of the role
/// and the email added here (the email masked and hashed, never in clear).
pub async fn update_agent(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    req: AgentPatch,
    audit: AuditEntry,
) -> Result<AgentAdminView, AdminError> {
    let mut audit = audit.target("agent", a);
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
        // Masked, with a SHA-256 to confirm a suspected address against: never the address in clear.
        let (mask, hash) = (kefu_domain::masking::mask_email, crate::identity::secrets::token_hash);
        audit = audit.with(
            "email",
            json!({
                "from": mask(&old_email), "to": mask(email.as_str()),
                "from_sha256": hash(&old_email), "to_sha256": hash(email.as_str()),
            }),
        );
        ops.push(TxOp::Delete {
            key: keys::agent_email(t, &old_email),
            condition: Some(Condition::eq("agent_id", a.as_str())),
        });
        ops.push(TxOp::Put {
            item: EmailClaimRecord::item(t, email.as_str(), a),
            condition: Some(Condition::NotExists),
        });
    }
    let email_ops = ops.len();
    if let Some(n) = &req.name {
        acc = acc.set("name", Name::parse(n, "name")?.as_str());
    }
    if let Some(p) = &req.password {
        let p = new_password(app, t, p, email.as_str()).await?;
        acc = acc.set("password_hash", hash_password(p.expose()).await).set("password_changed_at", json!(app.now()));
    }
    let mut guard = None;
    if let Some(r) = &req.role_id {
        let role = check_role(app, t, r).await?;
        if s(&account, "role_id") != Some(role.as_str()) {
            guard = Some(access::keep_an_administrator(app, t, &access::set_role(a, role.as_str())).await?);
            audit = audit.with("role_id", json!({"from": s(&account, "role_id"), "to": role.as_str()}));
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
        // Its role or password may have changed: sessions are checked again.
        ops.push(crate::identity::version::bump(t));
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
        crate::audit::record(app, audit).await?;
        return get_agent(app, t, a).await;
    }
    let guard_op = guard.map(|g| {
        ops.push(g);
        ops.len() - 1
    });
    let events = if routing_changed {
        vec![Envelope::new(t, app.now(), AgentUpdated::Agent { agent_id: a.clone() })]
    } else {
        vec![]
    };
    match crate::audit::commit(app, ops, events, vec![audit]).await {
        Ok(()) => {
            if req.password.is_some() {
                // A password set by an administrator ends the sessions opened with the old one.
                crate::identity::sessions::revoke_all(app, t, a, None, None).await?;
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
/// Refused (409) when it would leave the tenant without an enabled administrator (see [`crate::identity::access`]).
///
/// `audit` (the caller's `agent.update` entry) is committed with the account's disabling.
pub async fn disable_agent(app: &App, t: &TenantId, a: &AgentId, audit: AuditEntry) -> Result<usize, AdminError> {
    app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    ensure_agent_load(app, t, a).await?;
    let guard = access::keep_an_administrator(app, t, &access::disable(a)).await?;
    let now = app.now();
    let ops = vec![
        guard,
        TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new()
                .set("disabled", true)
                .set("status", AgentStatus::Offline.as_str())
                .set("disabled_at", json!(now)),
            condition: Some(Condition::Exists),
        },
        crate::identity::version::bump(t),
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().set("disabled", true).set("status", AgentStatus::Offline.as_str()),
            condition: Some(Condition::Exists),
        },
    ];
    let audit = audit.target("agent", a).with("disabled", json!(true));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => {}
        Err(e) if access::guard_failed(&e, 0) => return Err(AdminError::Conflict(access::GUARD_MOVED.into())),
        Err(e) => return Err(e.into()),
    }
    crate::identity::sessions::revoke_all(app, t, a, None, None).await?;
    let requeued = requeue_open(app, t, a).await?;
    let disabled = AgentDisabled { agent_id: a.clone(), requeued: u64::try_from(requeued).unwrap_or(u64::MAX) };
    let event = Envelope::new(t, app.now(), disabled);
    outbox::commit(app, vec![], vec![event]).await.or_else(|e| match e {
        TableError::Invalid(_) => Ok(()),
        e => Err(e),
    })?;
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after disabling failed; the consumer retries");
    }
    Ok(requeued)
}

/// Puts every open conversation of agent `a` back in the queue at its original place (by `waiting_since`),
/// each with its slot's release in one transaction; answers how many. One page of the agent's open
/// conversations (gsi2) at a time, until none is left.
pub async fn requeue_open(app: &App, t: &TenantId, a: &AgentId) -> Result<usize, TableError> {
    let mut requeued = 0;
    loop {
        let page = app
            .table
            .query(
                Query::index(kefu_ports::Index::Gsi2, keys::assigned_pk(t, a, ConversationStatus::Open.as_str()))
                    .limit(50),
            )
            .await?;
        if page.items.is_empty() {
            break;
        }
        let mut progressed = false;
        for item in &page.items {
            let conv = super::ConversationState::from_item(item).map_err(TableError::from)?;
            if conv.status != ConversationStatus::Open || conv.assignee_id.as_ref() != Some(a) {
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
    Ok(requeued)
}

/// With the tenant's `requeue_on_offline`, an agent that went offline hands its open conversations back to
/// routing (the assign consumer calls it on `agent.status_changed` to `offline`): they are requeued at their
/// place and the queue drains to the agents online. Nothing when the setting is off or the agent is no longer
/// offline (it came back meanwhile). Answers how many conversations went back.
pub async fn requeue_on_offline(app: &App, t: &TenantId, a: &AgentId) -> Result<usize, AssignmentError> {
    let settings =
        app.table.get(&keys::assignment_settings(t)).await?.map(|i| Settings::from_item(&i)).unwrap_or_default();
    if !settings.requeue_on_offline {
        return Ok(0);
    }
    let load = ensure_agent_load(app, t, a).await?;
    if load.status != AgentStatus::Offline {
        return Ok(0);
    }
    let requeued = requeue_open(app, t, a).await?;
    if requeued > 0 {
        drain(app, t).await?;
    }
    Ok(requeued)
}

/// Enables a disabled agent again: it may sign in and is routed conversations when it comes online (its
/// status stays `offline` until then). Enabling an enabled agent changes nothing.
///
/// `audit` (the caller's `agent.update` entry) is committed with the change.
pub async fn enable_agent(
    app: &App,
    t: &TenantId,
    a: &AgentId,
    audit: AuditEntry,
) -> Result<AgentAdminView, AdminError> {
    app.table.get(&keys::agent(t, a)).await?.ok_or(AdminError::NotFound)?;
    ensure_agent_load(app, t, a).await?;
    let ops = vec![
        TxOp::Update {
            key: keys::agent(t, a),
            update: Update::new().set("disabled", false).remove("disabled_at"),
            condition: Some(Condition::Exists),
        },
        crate::identity::version::bump(t),
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().set("disabled", false),
            condition: Some(Condition::Exists),
        },
    ];
    let event = Envelope::new(t, app.now(), AgentUpdated::Agent { agent_id: a.clone() });
    let audit = audit.target("agent", a).with("disabled", json!(false));
    crate::audit::commit(app, ops, vec![event], vec![audit]).await?;
    get_agent(app, t, a).await
}

/// Puts one of a (disabled) agent's open conversations back in the queue, releasing the slot.
pub(super) async fn requeue(
    app: &App,
    t: &TenantId,
    conv: &super::ConversationState,
    a: &AgentId,
) -> Result<bool, TableError> {
    let now = app.now();
    let ops = vec![
        TxOp::Update {
            key: keys::conversation(t, &conv.id),
            update: Update::new()
                .set("status", ConversationStatus::Queued.as_str())
                .remove("assignee_id")
                .set("queued_at", json!(now))
                .set("waiting_since", json!(conv.waiting_since))
                .set("gsi2pk", keys::queue_pk(t))
                .set("gsi2sk", keys::queue_sk(conv.priority.rank(), conv.waiting_since, &conv.id)),
            condition: Some(Condition::And(vec![
                Condition::eq("status", ConversationStatus::Open.as_str()),
                Condition::eq("assignee_id", a.as_str()),
            ])),
        },
        TxOp::Update {
            key: keys::agent_load(t, a),
            update: Update::new().add("active", -1),
            condition: Some(Condition::cmp("active", CmpOp::Gt, 0)),
        },
    ];
    let queued = ConversationQueued {
        conversation_id: conv.id.clone(),
        group_id: conv.group_id.clone(),
        priority: conv.priority,
    };
    let event = Envelope::new(t, now, queued);
    match outbox::commit(app, ops, vec![event]).await {
        Ok(()) => {
            super::mark_queued(app, t).await?;
            Ok(true)
        }
        Err(TableError::TransactionCanceled { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
