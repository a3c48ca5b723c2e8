//! The tenant's assignment settings: the routing strategy and the defaults routing falls back to.

use kefu_domain::routing::{OverflowRule, Strategy};
use kefu_domain::{GroupId, ScheduleId, TenantId, ValidationError};
use kefu_ports::table::{Item, TableError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tracing::warn;

use super::drain;
use super::store::Settings;
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record;

use super::admin::{AdminError, check_group, check_schedule};

/// A tenant's assignment settings as stored: `T#{t}#ROUTING` / `SETTINGS` (the tenant is only in the key, so
/// it is written with `record::item_of`). Read leniently by `Settings::from_item` (a field missing or
/// malformed keeps its default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsRecord {
    /// How an agent is picked.
    pub strategy: Strategy,
    /// Whether a conversation nobody can take waits in the queue.
    pub queue_when_full: bool,
    /// Whether a returning customer goes to its last agent when that agent can take it.
    pub sticky_returning_customers: bool,
    /// Where conversations without a group go (null: every agent).
    pub default_group_id: Option<GroupId>,
    /// Working hours when the conversation's group has none (null: always open).
    pub schedule_id: Option<ScheduleId>,
    /// Seconds a visitor may wait for its assignee's reply before the conversation moves on (null: never).
    #[serde(default)]
    pub reassign_unanswered_seconds: Option<u32>,
    /// Whether an agent going offline hands its open conversations back to routing.
    #[serde(default)]
    pub requeue_on_offline: bool,
    /// Minutes without activity after which an online agent is set away (null: never).
    #[serde(default)]
    pub auto_away_minutes: Option<u32>,
    /// Overflow between groups.
    #[serde(default)]
    pub overflow: Vec<OverflowRule>,
    /// The last save.
    pub updated_at: jiff::Timestamp,
}

impl SettingsRecord {
    /// The `type` attribute of the settings item.
    pub const TYPE: &'static str = "assignment_settings";

    /// The record of validated settings saved at `at`.
    pub fn of(s: &Settings, at: jiff::Timestamp) -> Self {
        Self {
            strategy: s.strategy,
            queue_when_full: s.queue_when_full,
            sticky_returning_customers: s.sticky_returning_customers,
            default_group_id: s.default_group_id.clone(),
            schedule_id: s.schedule_id.clone(),
            reassign_unanswered_seconds: s.reassign_unanswered_seconds,
            requeue_on_offline: s.requeue_on_offline,
            auto_away_minutes: s.auto_away_minutes,
            overflow: s.overflow.clone(),
            updated_at: at,
        }
    }

    /// The item to store for tenant `t`.
    pub fn item(&self, t: &TenantId) -> Item {
        let mut item = record::item_of(keys::assignment_settings(t), self);
        item.insert("type".into(), Value::String(Self::TYPE.into()));
        item
    }
}

/// `PUT /v1/settings/assignment` body (and the `GET` answer).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
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
    /// Seconds (≥ 1) a visitor may wait for its assignee's reply before the conversation is moved to another
    /// eligible agent it never had, the reason recorded in `routing` (`null` or absent: never).
    #[serde(default)]
    pub reassign_unanswered_seconds: Option<u32>,
    /// An agent going offline hands its open conversations back to routing (`null`, `false` or absent: it keeps
    /// them).
    #[serde(default)]
    pub requeue_on_offline: Option<bool>,
    /// Minutes (≥ 1) without activity (a request, a WebSocket frame, typing) after which an online agent is set
    /// `away`, keeping its conversations, and told by a `notification` frame (`null` or absent: never).
    #[serde(default)]
    pub auto_away_minutes: Option<u32>,
    /// Overflow between groups: a conversation queued in `from_group_id` for `after_seconds` is offered to
    /// `to_group_id` too (chains count from the moment it was queued; `null` or absent: none). At most
    /// [`MAX_OVERFLOW_RULES`].
    #[serde(default)]
    pub overflow: Option<Vec<OverflowInput>>,
}

/// One overflow rule of [`SettingsInput`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct OverflowInput {
    /// The group whose queue overflows.
    pub from_group_id: String,
    /// The group it overflows to (not the same group).
    pub to_group_id: String,
    /// Seconds in the queue first: 1 to [`MAX_OVERFLOW_SECONDS`].
    pub after_seconds: u32,
}

/// The most overflow rules a tenant has.
pub const MAX_OVERFLOW_RULES: usize = 20;
/// The longest overflow wait: a day.
pub const MAX_OVERFLOW_SECONDS: u32 = 86_400;

/// Checks the overflow rules: each group exists, a rule never overflows a group into itself, no two rules
/// join the same pair, each wait is within bounds. A refusal names the field (`overflow[1].to_group_id`).
async fn check_overflow(app: &App, t: &TenantId, rules: &[OverflowInput]) -> Result<Vec<OverflowRule>, AdminError> {
    if rules.len() > MAX_OVERFLOW_RULES {
        return Err(ValidationError::new("overflow", format!("at most {MAX_OVERFLOW_RULES} rules")).into());
    }
    let mut out: Vec<OverflowRule> = Vec::with_capacity(rules.len());
    for (i, r) in rules.iter().enumerate() {
        let field = |name: &str| format!("overflow[{i}].{name}");
        let from_group_id = check_group(app, t, &r.from_group_id, &field("from_group_id")).await?.group_id;
        let to_group_id = check_group(app, t, &r.to_group_id, &field("to_group_id")).await?.group_id;
        if from_group_id == to_group_id {
            return Err(ValidationError::new(field("to_group_id"), "must differ from from_group_id").into());
        }
        if !(1..=MAX_OVERFLOW_SECONDS).contains(&r.after_seconds) {
            return Err(ValidationError::new(
                field("after_seconds"),
                format!("must be between 1 and {MAX_OVERFLOW_SECONDS}"),
            )
            .into());
        }
        if out.iter().any(|o| o.from_group_id == from_group_id && o.to_group_id == to_group_id) {
            return Err(ValidationError::new(format!("overflow[{i}]"), "the same two groups twice").into());
        }
        out.push(OverflowRule { from_group_id, to_group_id, after_seconds: r.after_seconds });
    }
    Ok(out)
}

/// The tenant's assignment settings (defaults until set).
pub async fn get_settings(app: &App, t: &TenantId) -> Result<Settings, TableError> {
    Ok(app.table.get(&keys::assignment_settings(t)).await?.map(|i| Settings::from_item(&i)).unwrap_or_default())
}

/// Replaces the assignment settings, with `audit` (the caller's `settings.update` entry) committed alongside;
/// the queue drains under the new rules.
pub async fn put_settings(
    app: &App,
    t: &TenantId,
    req: SettingsInput,
    audit: crate::audit::AuditEntry,
) -> Result<Settings, AdminError> {
    let strategy = Strategy::parse(&req.strategy)
        .ok_or_else(|| ValidationError::new("strategy", "must be least_loaded or round_robin"))?;
    let default_group_id = match req.default_group_id.as_deref() {
        None => None,
        Some(g) => Some(check_group(app, t, g, "default_group_id").await?.group_id),
    };
    let schedule_id = check_schedule(app, t, req.schedule_id.as_deref(), "schedule_id").await?;
    if req.reassign_unanswered_seconds == Some(0) {
        return Err(ValidationError::new("reassign_unanswered_seconds", "must be at least 1, or null (off)").into());
    }
    if req.auto_away_minutes == Some(0) {
        return Err(ValidationError::new("auto_away_minutes", "must be at least 1, or null (off)").into());
    }
    let overflow = check_overflow(app, t, req.overflow.as_deref().unwrap_or_default()).await?;
    let settings = Settings {
        strategy,
        queue_when_full: req.queue_when_full,
        sticky_returning_customers: req.sticky_returning_customers,
        default_group_id,
        schedule_id,
        reassign_unanswered_seconds: req.reassign_unanswered_seconds,
        requeue_on_offline: req.requeue_on_offline.unwrap_or(false),
        auto_away_minutes: req.auto_away_minutes,
        overflow,
    };
    let item = SettingsRecord::of(&settings, app.now()).item(t);
    let audit = audit.target("settings", "assignment").detail(settings.to_json());
    crate::audit::commit(app, vec![kefu_ports::table::TxOp::Put { item, condition: None }], Vec::new(), vec![audit])
        .await?;
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after a settings change failed; timers retry");
    }
    Ok(settings)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn settings_are_stored_as_before_and_read_back() {
        let t = TenantId::generate();
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let g = GroupId::generate();
        let s = Settings {
            strategy: Strategy::RoundRobin,
            queue_when_full: true,
            sticky_returning_customers: false,
            default_group_id: Some(g),
            schedule_id: None,
            reassign_unanswered_seconds: Some(90),
            requeue_on_offline: true,
            auto_away_minutes: Some(5),
            overflow: vec![OverflowRule {
                from_group_id: GroupId::generate(),
                to_group_id: GroupId::generate(),
                after_seconds: 45,
            }],
        };
        let mut expected = keys::assignment_settings(&t).with(s.to_json());
        expected.insert("type".into(), json!("assignment_settings"));
        expected.insert("updated_at".into(), json!(at));
        assert_eq!(SettingsRecord::of(&s, at).item(&t), expected);
        assert_eq!(
            record::parse::<SettingsRecord>(SettingsRecord::TYPE, expected.clone()).unwrap(),
            SettingsRecord::of(&s, at)
        );
        assert_eq!(Settings::from_item(&expected), s);
    }
}
