//! Automation: a tenant's rules (`/v1/rules`), checked on save, tried without effect (`/v1/rules/dry_run`), and
//! run by the `automation` consumer on events ([`run`]).
//!
//! - **Storage.** One typed item per rule ([`RuleRecord`]) in the tenant's rules partition
//!   (`T#<tenant>#RULES`, sort key `RULE#<id>`), so a tenant's whole rule set is one Query. The rule is kept in
//!   the API's JSON shape and read back through [`Rule::parse`], so the store never holds a rule the domain
//!   would refuse.
//! - **Checks.** [`Rule::parse`] refuses what it does not understand, naming the field; then every group,
//!   agent, customer group and tag the rule names must exist ([`check_references`]): 400 naming the field.
//! - **Evaluation** is the domain's ([`kefu_domain::automation::RuleSet`]): pure, deterministic, in position
//!   order with `stop_processing`.
//!
//! It sits above conversations, customers, assignment and tags, and uses them; none of them knows about it.

pub mod auto_reply;
pub mod dry_run;
pub mod error;
pub mod run;
pub mod webhooks;

use std::sync::Arc;

use kefu_domain::automation::{MAX_RULES, Reference, Rule, RuleSet};
use kefu_domain::ids::RuleId;
use kefu_domain::webhook::WebhookPolicy;
use kefu_domain::{TenantId, ValidationError};
use kefu_ports::Key;
use kefu_ports::table::{Condition, Item, Query, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::keys;
use crate::plumbing::record::Record;

pub use error::RuleError;

/// The webhook targets this deployment allows: `kefu serve` also http and loopback.
pub fn webhook_policy(app: &App) -> WebhookPolicy {
    if app.config.local { WebhookPolicy::LOCAL } else { WebhookPolicy::AWS }
}

/// A rule as stored: one item per rule in the tenant's rules partition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RuleRecord {
    /// Its id.
    pub rule_id: RuleId,
    /// Its tenant.
    pub tenant_id: TenantId,
    /// The rule in the API's JSON shape ([`Rule::to_json`]).
    pub rule: Value,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

impl Record for RuleRecord {
    const TYPE: &'static str = "rule";

    fn key(&self) -> Key {
        keys::rule(&self.tenant_id, &self.rule_id)
    }
}

impl RuleRecord {
    /// The record of an item, if it reads as one (an unreadable one is logged and skipped).
    pub fn of_item(item: &Item) -> Option<Self> {
        Self::from_ref(item).map_err(|e| tracing::warn!(error = %e, "unreadable rule record; skipped")).ok()
    }

    /// The checked rule (`None`, logged, when the stored rule no longer parses).
    pub fn parsed(&self, policy: WebhookPolicy) -> Option<Rule> {
        Rule::parse(&self.rule, policy)
            .map_err(|e| tracing::warn!(rule_id = %self.rule_id, error = %e, "stored rule no longer valid; skipped"))
            .ok()
    }

    /// The API's view.
    pub fn view(&self) -> RuleView {
        let r = &self.rule;
        RuleView {
            id: self.rule_id.to_string(),
            name: r.get("name").and_then(Value::as_str).unwrap_or_default().to_owned(),
            enabled: r.get("enabled").and_then(Value::as_bool).unwrap_or(true),
            position: r.get("position").and_then(Value::as_u64).unwrap_or(0),
            event: r.get("event").and_then(Value::as_str).unwrap_or_default().to_owned(),
            conditions: r.get("conditions").cloned().unwrap_or_else(|| json!({"all": [], "any": []})),
            actions: r.get("actions").and_then(Value::as_array).cloned().unwrap_or_default(),
            stop_processing: r.get("stop_processing").and_then(Value::as_bool).unwrap_or(false),
            created_at: self.created_at.to_string(),
            updated_at: self.updated_at.to_string(),
        }
    }
}

/// A rule as API.md shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RuleView {
    /// Rule id (`ru_…`).
    pub id: String,
    /// Name.
    pub name: String,
    /// Disabled rules are kept but never run.
    pub enabled: bool,
    /// Rules run in ascending position.
    pub position: u64,
    /// `conversation.created` | `message.received` | `conversation.unanswered` | `ticket.created` |
    /// `conversation.closed`.
    pub event: String,
    /// `{"all": [cond], "any": [cond]}`, each `{"field", "op", "value"}`.
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub conditions: Value,
    /// `[{"type", ...}]`.
    #[cfg_attr(feature = "http", schema(value_type = Vec<Object>))]
    pub actions: Vec<Value>,
    /// Whether a match ends the run.
    pub stop_processing: bool,
    /// Created at.
    pub created_at: String,
    /// Last changed at.
    pub updated_at: String,
}

/// `POST /v1/rules` and `PUT /v1/rules/{id}` body (documentation: the handler reads it with [`Rule::parse`],
/// which names the offending field's path).
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct RuleBody {
    /// Name (1..=100 characters).
    pub name: String,
    /// Default true.
    pub enabled: Option<bool>,
    /// Default 0; rules run in ascending position, ties by id.
    pub position: Option<u64>,
    /// The event it reacts to.
    pub event: String,
    /// `{"all": [cond], "any": [cond]}` (either may be missing).
    #[cfg_attr(feature = "http", schema(value_type = Object))]
    pub conditions: Option<Value>,
    /// 1..=20 actions.
    #[cfg_attr(feature = "http", schema(value_type = Vec<Object>))]
    pub actions: Vec<Value>,
    /// Default false.
    pub stop_processing: Option<bool>,
}

/// Every stored rule of a tenant: one Query of its rules partition.
pub async fn records(app: &App, tenant: &TenantId) -> Result<Vec<RuleRecord>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            app.table.query(Query::partition(keys::rules_pk(tenant)).prefix(keys::RULE_PREFIX).after(cursor)).await?;
        out.extend(page.items.iter().filter_map(RuleRecord::of_item));
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// The tenant's rules, compiled, in running order: one `GetItem` of the rule set's version, and the rules read
/// and compiled again only when this process has not compiled that version yet (`App::memo`). So an event
/// costs one item read and no regex compilation, however many rules the tenant has, and a rule saved anywhere
/// applies to the next event.
pub async fn rule_set(app: &App, tenant: &TenantId) -> Result<Arc<RuleSet>, TableError> {
    let version = app
        .table
        .get(&keys::rules_version(tenant))
        .await?
        .and_then(|i| i.get("version").and_then(Value::as_u64))
        .unwrap_or(0);
    let memo_key = format!("rules#{tenant}");
    if let Some(set) = app.memo.get::<RuleSet>(&memo_key, version) {
        return Ok(set);
    }
    let policy = webhook_policy(app);
    let recs = records(app, tenant).await?;
    let set = Arc::new(RuleSet::new(recs.iter().filter_map(|r| Some((Some(r.rule_id.clone()), r.parsed(policy)?)))));
    app.memo.put(memo_key, version, set.clone());
    Ok(set)
}

/// The write that moves the tenant's rule set to its next version (in every rule write's transaction).
fn next_version(tenant: &TenantId) -> TxOp {
    TxOp::Update {
        key: keys::rules_version(tenant),
        update: Update::new().add("version", 1).set("type", RULES_VERSION_TYPE),
        condition: None,
    }
}

/// The `type` of the rule set's version item.
pub const RULES_VERSION_TYPE: &str = "rules_version";

/// The tenant's rules in running order (position, then id).
pub async fn list(app: &App, tenant: &TenantId) -> Result<Vec<RuleView>, RuleError> {
    let mut recs = records(app, tenant).await?;
    recs.sort_by(|a, b| {
        let pos = |r: &RuleRecord| r.rule.get("position").and_then(Value::as_u64).unwrap_or(0);
        (pos(a), &a.rule_id).cmp(&(pos(b), &b.rule_id))
    });
    Ok(recs.iter().map(RuleRecord::view).collect())
}

/// Checks that every group, agent, customer group and tag `rule` names exists in the tenant (400 naming the
/// first field that names one that does not). Tags are checked against the tag registry once the tenant has
/// one; a tenant with free-form tags may name any tag.
pub async fn check_references(app: &App, tenant: &TenantId, rule: &Rule) -> Result<(), RuleError> {
    let refs = rule.references();
    if refs.is_empty() {
        return Ok(());
    }
    let registry = if refs.iter().any(|(_, r)| matches!(r, Reference::Tag(_))) {
        Some(crate::tags::registry(app, tenant).await?)
    } else {
        None
    };
    let checker = registry.as_ref().map(|r| (r.enabled, r.checker()));
    let mut found = std::collections::BTreeMap::new();
    for (_, r) in &refs {
        if found.contains_key(r) {
            continue;
        }
        let exists = match r {
            Reference::Group(g) => app.table.get(&keys::group(tenant, g)).await?.is_some(),
            Reference::Agent(a) => app.table.get(&keys::agent(tenant, a)).await?.is_some(),
            Reference::CustomerGroup(g) => app.table.get(&keys::customer_group(tenant, g)).await?.is_some(),
            Reference::Tag(t) => match &checker {
                Some((true, reg)) => reg.get(t.as_str()).is_some(),
                _ => true,
            },
        };
        found.insert(r.clone(), exists);
    }
    rule.check_references(|r| found.get(r).copied().unwrap_or(false)).map_err(RuleError::from)
}

async fn checked(app: &App, tenant: &TenantId, body: &Value) -> Result<Rule, RuleError> {
    let rule = Rule::parse(body, webhook_policy(app))?;
    check_references(app, tenant, &rule).await?;
    Ok(rule)
}

/// Saves a new rule, committed with `audit` (the caller's `rule.create` entry).
pub async fn create(app: &App, tenant: &TenantId, body: &Value, audit: AuditEntry) -> Result<RuleView, RuleError> {
    let rule = checked(app, tenant, body).await?;
    if records(app, tenant).await?.len() >= MAX_RULES {
        return Err(ValidationError::new("name", format!("a tenant has at most {MAX_RULES} rules")).into());
    }
    let now = app.now();
    let rec = RuleRecord {
        rule_id: RuleId::generate(),
        tenant_id: tenant.clone(),
        rule: rule.to_json(),
        created_at: now,
        updated_at: now,
    };
    let ops = vec![TxOp::Put { item: rec.to_item(), condition: Some(Condition::NotExists) }, next_version(tenant)];
    let audit = audit
        .target("rule", rec.rule_id.as_str())
        .with("name", json!(rule.name.as_str()))
        .with("event", json!(rule.event.as_str()));
    crate::audit::commit(app, ops, Vec::new(), vec![audit]).await?;
    Ok(rec.view())
}

async fn load(app: &App, tenant: &TenantId, id: &str) -> Result<(RuleId, RuleRecord), RuleError> {
    let id = RuleId::parse(id).ok_or(RuleError::NotFound)?;
    let item = app.table.get(&keys::rule(tenant, &id)).await?.ok_or(RuleError::NotFound)?;
    let rec = RuleRecord::of_item(&item).ok_or(RuleError::NotFound)?;
    Ok((id, rec))
}

/// Replaces a rule, committed with `audit` (the caller's `rule.update` entry).
pub async fn update(
    app: &App,
    tenant: &TenantId,
    id: &str,
    body: &Value,
    audit: AuditEntry,
) -> Result<RuleView, RuleError> {
    let (id, old) = load(app, tenant, id).await?;
    let rule = checked(app, tenant, body).await?;
    let rec = RuleRecord { rule: rule.to_json(), updated_at: app.now(), ..old };
    let ops = vec![TxOp::Put { item: rec.to_item(), condition: Some(Condition::Exists) }, next_version(tenant)];
    let audit = audit.target("rule", id.as_str()).with("name", json!(rule.name.as_str()));
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(rec.view()),
        Err(TableError::TransactionCanceled { .. }) => Err(RuleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

/// Deletes a rule, committed with `audit` (the caller's `rule.delete` entry).
pub async fn delete(app: &App, tenant: &TenantId, id: &str, audit: AuditEntry) -> Result<(), RuleError> {
    let (id, old) = load(app, tenant, id).await?;
    let ops =
        vec![TxOp::Delete { key: keys::rule(tenant, &id), condition: Some(Condition::Exists) }, next_version(tenant)];
    let name = old.rule.get("name").cloned().unwrap_or(Value::Null);
    let audit = audit.target("rule", id.as_str()).with("name", name);
    match crate::audit::commit(app, ops, Vec::new(), vec![audit]).await {
        Ok(()) => Ok(()),
        Err(TableError::TransactionCanceled { .. }) => Err(RuleError::NotFound),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_domain::automation::{Event, Facts};
    use kefu_ports::ManualClock;

    use super::*;

    fn entry(t: &TenantId, action: &str) -> AuditEntry {
        AuditEntry::new(t, action, crate::audit::Outcome::Success)
    }

    #[tokio::test]
    async fn a_saved_rule_reads_back_as_the_same_rule_and_runs_in_the_set() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let t = TenantId::generate();
        let body = json!({"name": "Refunds", "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "退款"}]},
            "actions": [{"type": "set_priority", "priority": "high"}]});
        let view = create(&app, &t, &body, entry(&t, "rule.create")).await.unwrap();
        let recs = records(&app, &t).await.unwrap();
        assert_eq!(recs.len(), 1);
        assert_eq!(recs[0].view(), view);
        assert_eq!(recs[0].parsed(WebhookPolicy::AWS).unwrap(), Rule::parse(&body, WebhookPolicy::AWS).unwrap());
        let set = rule_set(&app, &t).await.unwrap();
        let facts = Facts { message_content: Some("我要退款".into()), ..Facts::default() };
        assert_eq!(set.evaluate(Event::MessageReceived, &facts).matched.len(), 1);
        // Another tenant has none, and cannot touch this one.
        let other = TenantId::generate();
        assert!(records(&app, &other).await.unwrap().is_empty());
        assert!(matches!(delete(&app, &other, &view.id, entry(&other, "rule.delete")).await, Err(RuleError::NotFound)));
    }

    #[tokio::test]
    async fn the_compiled_set_is_kept_per_version_and_a_rule_saved_elsewhere_applies_to_the_next_read() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        // Another process on the same table: its own memo.
        let elsewhere = App::from(crate::AppParts { memo: Arc::default(), ..(*app).clone() });
        let t = TenantId::generate();
        assert_eq!(rule_set(&app, &t).await.unwrap().len(), 0);
        let rule = |word: &str| {
            json!({"name": word, "event": "message.received",
                "conditions": {"all": [{"field": "message.content", "op": "matches", "value": word}]},
                "actions": [{"type": "set_priority", "priority": "high"}]})
        };
        let first = create(&app, &t, &rule("退款"), entry(&t, "rule.create")).await.unwrap();
        let a = rule_set(&app, &t).await.unwrap();
        let b = rule_set(&app, &t).await.unwrap();
        assert!(Arc::ptr_eq(&a, &b), "the same version is compiled once");
        assert_eq!(a.len(), 1);
        create(&elsewhere, &t, &rule("refund"), entry(&t, "rule.create")).await.unwrap();
        assert_eq!(rule_set(&app, &t).await.unwrap().len(), 2, "a rule saved elsewhere applies at once");
        update(&elsewhere, &t, &first.id, &rule("发票"), entry(&t, "rule.update")).await.unwrap();
        let facts = Facts { message_content: Some("我要退款".into()), ..Facts::default() };
        assert!(rule_set(&app, &t).await.unwrap().evaluate(Event::MessageReceived, &facts).matched.is_empty());
        delete(&elsewhere, &t, &first.id, entry(&t, "rule.delete")).await.unwrap();
        assert_eq!(rule_set(&app, &t).await.unwrap().len(), 1);
        // The version item is no rule.
        assert_eq!(records(&app, &t).await.unwrap().len(), 1);
    }

    /// `automation` is idle on a visitor's message that began no wait while the tenant has no
    /// `message.received` rule (a rule of another event changes nothing); a message rule saved in another
    /// process makes the very next message heard, and deleting it makes them idle again. A message that may
    /// begin a wait is always heard (its timers), a message no rule looks at (an agent's, an internal note)
    /// never, and any other event always.
    #[tokio::test]
    async fn automation_is_idle_only_on_a_message_that_no_rule_and_no_timer_hears() {
        use crate::plumbing::events::{Envelope, EventMessage, MessageReceived};
        use kefu_domain::conversation::Author;
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let elsewhere = App::from(crate::AppParts { memo: Arc::default(), ..(*app).clone() });
        let t = TenantId::generate();
        let c = kefu_domain::ConversationId::generate();
        let at: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let event = |author: Author, internal: bool, starts_wait: Option<bool>| {
            let message = EventMessage {
                id: kefu_domain::MessageId::generate(),
                conversation_id: c.clone(),
                author,
                author_id: None,
                content: "where is my refund?".into(),
                internal,
                created_at: at,
                recalled: false,
                attachments: Vec::new(),
            };
            Envelope::new(&t, at, MessageReceived { conversation_id: c.clone(), message, counted: true, starts_wait })
        };
        let idle = |e: Envelope| {
            let app = app.clone();
            async move { run::idle_on(&app, &e).await.unwrap() }
        };
        assert!(idle(event(Author::Visitor, false, Some(false))).await, "no rule, no wait begun");
        assert!(!idle(event(Author::Visitor, false, Some(true))).await, "a wait begun arms timers");
        assert!(!idle(event(Author::Visitor, false, None)).await, "not known: the consumer looks");
        let greeting = json!({"name": "Hello", "event": "conversation.created",
            "actions": [{"type": "auto_reply", "content": "Hi"}]});
        create(&elsewhere, &t, &greeting, entry(&t, "rule.create")).await.unwrap();
        assert!(idle(event(Author::Visitor, false, Some(false))).await, "a rule of another event");
        let refunds = json!({"name": "Refunds", "event": "message.received",
            "conditions": {"all": [{"field": "message.content", "op": "contains", "value": "refund"}]},
            "actions": [{"type": "set_priority", "priority": "high"}]});
        let rule = create(&elsewhere, &t, &refunds, entry(&t, "rule.create")).await.unwrap();
        assert!(!idle(event(Author::Visitor, false, Some(false))).await, "a message rule saved elsewhere");
        assert!(idle(event(Author::Agent, false, Some(false))).await, "no rule hears an agent's message");
        assert!(idle(event(Author::Visitor, true, Some(false))).await, "nor an internal note");
        delete(&elsewhere, &t, &rule.id, entry(&t, "rule.delete")).await.unwrap();
        assert!(idle(event(Author::Visitor, false, Some(false))).await, "deleted elsewhere");
        let other = Envelope::new(
            &t,
            at,
            crate::plumbing::events::ConversationClosed { conversation_id: c.clone(), agent_id: None, by: None },
        );
        assert!(!idle(other).await, "another event is always heard");
    }

    #[tokio::test]
    async fn a_rule_naming_a_missing_group_is_refused_naming_the_field() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock);
        let t = TenantId::generate();
        let body = json!({"name": "To after-sales", "event": "conversation.created",
            "actions": [{"type": "auto_reply", "content": "Hi"}, {"type": "assign_group", "group_id": "gr_01J00000000000000000000000"}]});
        match create(&app, &t, &body, entry(&t, "rule.create")).await {
            Err(RuleError::Invalid(e)) => assert_eq!(e.field, "actions[1].group_id"),
            other => panic!("{other:?}"),
        }
        assert!(records(&app, &t).await.unwrap().is_empty());
    }
}
