//! The tenant's assignment settings: the routing strategy and the defaults routing falls back to.

use kefu_domain::routing::Strategy;
use kefu_domain::{TenantId, ValidationError};
use kefu_ports::table::TableError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::warn;

use super::drain;
use super::store::Settings;
use crate::App;
use crate::plumbing::keys;

use super::admin::{AdminError, check_groups, check_schedule};

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
    let audit = audit.target("settings", "assignment").detail(settings.to_json());
    crate::audit::commit(app, vec![kefu_ports::table::TxOp::Put { item, condition: None }], Vec::new(), vec![audit])
        .await?;
    if let Err(e) = drain(app, t).await {
        warn!(tenant_id = %t, error = %e, "drain after a settings change failed; timers retry");
    }
    Ok(settings)
}
