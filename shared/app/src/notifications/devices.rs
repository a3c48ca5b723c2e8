//! The phones an agent registers for push notifications (`POST|GET /v1/me/devices`,
//! `DELETE /v1/me/devices/{id}`): one typed item per phone in the agent's devices partition, so its phones are
//! one Query. Registering a token again answers the phone it already is (idempotent).
//!
//! Only the registration exists: no notification is pushed to phones yet (the SNS platform endpoints and the
//! push sender are still to come), and `Preferences::route` never picks a phone.

use kefu_domain::ids::DeviceId;
use kefu_domain::{AgentId, TenantId, ValidationError};
use kefu_ports::Key;
use kefu_ports::table::{Condition, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};

use super::NotificationError;
use crate::App;
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// The most phones one agent registers.
pub const MAX_DEVICES: usize = 10;
/// The longest push token kept.
pub const TOKEN_MAX_CHARS: usize = 4096;

/// A phone's push service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    /// Apple Push Notification service.
    Apns,
    /// Firebase Cloud Messaging.
    Fcm,
}

/// A registered phone: `T#{t}#DEVICES#{agent}` / `DEVICE#{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// Its id.
    pub device_id: DeviceId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// Whose phone.
    pub agent_id: AgentId,
    /// Its push service.
    pub platform: Platform,
    /// The push token the phone's app got from its push service.
    pub token: String,
    /// When it was registered.
    pub created_at: jiff::Timestamp,
}

impl Record for DeviceRecord {
    const TYPE: &'static str = "device";

    fn key(&self) -> Key {
        keys::device(&self.tenant_id, &self.agent_id, &self.device_id)
    }
}

/// `POST /v1/me/devices` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewDevice {
    /// `apns` | `fcm`.
    pub platform: Platform,
    /// The push token (1..=4096 characters, no white space).
    pub token: String,
}

/// A registered phone as `GET /v1/me/devices` shows it (the token is not shown back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DeviceView {
    /// Its id (`dv_…`).
    pub id: String,
    /// `apns` | `fcm`.
    pub platform: Platform,
    /// When it was registered.
    pub created_at: String,
}

impl DeviceView {
    fn of(r: &DeviceRecord) -> Self {
        Self { id: r.device_id.to_string(), platform: r.platform, created_at: r.created_at.to_string() }
    }
}

/// The agent's phones, oldest first (one Query of its devices partition).
pub async fn records(app: &App, t: &TenantId, a: &AgentId) -> Result<Vec<DeviceRecord>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page =
            app.table.query(Query::partition(keys::devices_pk(t, a)).prefix(keys::DEVICE_PREFIX).after(cursor)).await?;
        for item in page.items {
            out.push(DeviceRecord::from_item(item)?);
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// The agent's phones as the API shows them.
pub async fn list(app: &App, t: &TenantId, a: &AgentId) -> Result<Vec<DeviceView>, NotificationError> {
    Ok(records(app, t, a).await?.iter().map(DeviceView::of).collect())
}

/// Registers a phone (a token registered already answers its id); at most [`MAX_DEVICES`] per agent.
pub async fn register(app: &App, t: &TenantId, a: &AgentId, body: &NewDevice) -> Result<DeviceId, NotificationError> {
    let token = body.token.trim();
    if token.is_empty() || token.chars().count() > TOKEN_MAX_CHARS || token.chars().any(char::is_whitespace) {
        return Err(ValidationError::new(
            "token",
            format!("must be 1 to {TOKEN_MAX_CHARS} characters without white space"),
        )
        .into());
    }
    let existing = records(app, t, a).await?;
    if let Some(same) = existing.iter().find(|d| d.token == token && d.platform == body.platform) {
        return Ok(same.device_id.clone());
    }
    if existing.len() >= MAX_DEVICES {
        return Err(ValidationError::new("token", format!("an agent registers at most {MAX_DEVICES} phones")).into());
    }
    let record = DeviceRecord {
        device_id: DeviceId::generate(),
        tenant_id: t.clone(),
        agent_id: a.clone(),
        platform: body.platform,
        token: token.to_owned(),
        created_at: app.now(),
    };
    app.table.transact(vec![TxOp::Put { item: record.to_item(), condition: Some(Condition::NotExists) }]).await?;
    Ok(record.device_id)
}

/// Forgets one of the agent's phones; `false` when it has none of that id.
pub async fn delete(app: &App, t: &TenantId, a: &AgentId, id: &str) -> Result<bool, NotificationError> {
    let Some(id) = DeviceId::parse(id) else { return Ok(false) };
    match app
        .table
        .transact(vec![TxOp::Delete { key: keys::device(t, a, &id), condition: Some(Condition::Exists) }])
        .await
    {
        Ok(()) => Ok(true),
        Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
