//! The phones an agent registers for push notifications (`POST|GET /v1/me/devices`,
//! `DELETE /v1/me/devices/{id}`): one typed item per phone in the agent's devices partition, so its phones are
//! one Query. Registering a token again answers the phone it already is (idempotent).
//!
//! Registering a phone registers it with the mobile push port too (an SNS platform endpoint in AWS; the outbox
//! file in `kefu serve`), and the record keeps the endpoint the notify consumer sends to. Forgetting a phone
//! removes its endpoint; a phone the push service reports gone is forgotten when a push finds it so.

use kefu_domain::ids::DeviceId;
use kefu_domain::{AgentId, TenantId, ValidationError};
use kefu_ports::table::{Condition, Query, TableError, TxOp};
use kefu_ports::{Key, MobileError};
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
    /// Where pushes go (the SNS endpoint ARN in AWS); absent on phones registered before push was built, which
    /// the next registration of their token completes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
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
    let same = existing.iter().find(|d| d.token == token && d.platform == body.platform);
    if let Some(same) = same
        && same.endpoint.is_some()
    {
        return Ok(same.device_id.clone());
    }
    if same.is_none() && existing.len() >= MAX_DEVICES {
        return Err(ValidationError::new("token", format!("an agent registers at most {MAX_DEVICES} phones")).into());
    }
    let platform = match body.platform {
        Platform::Apns => "apns",
        Platform::Fcm => "fcm",
    };
    let endpoint = match app.mobile.register(platform, token).await {
        Ok(endpoint) => endpoint,
        Err(MobileError::InvalidToken(_)) => {
            return Err(ValidationError::new("token", format!("is not a token {platform} accepts")).into());
        }
        Err(MobileError::NotConfigured(_)) => {
            return Err(
                ValidationError::new("platform", format!("push to {platform} phones is not set up here")).into()
            );
        }
        Err(e @ (MobileError::Gone | MobileError::Unavailable(_))) => {
            return Err(NotificationError::Push(e.to_string()));
        }
    };
    let record = DeviceRecord {
        device_id: same.map_or_else(DeviceId::generate, |d| d.device_id.clone()),
        tenant_id: t.clone(),
        agent_id: a.clone(),
        platform: body.platform,
        token: token.to_owned(),
        endpoint: Some(endpoint),
        created_at: same.map_or_else(|| app.now(), |d| d.created_at),
    };
    let condition = if same.is_some() { Condition::Exists } else { Condition::NotExists };
    app.table.transact(vec![TxOp::Put { item: record.to_item(), condition: Some(condition) }]).await?;
    Ok(record.device_id)
}

/// Forgets one of the agent's phones and its push endpoint; `false` when it has none of that id.
pub async fn delete(app: &App, t: &TenantId, a: &AgentId, id: &str) -> Result<bool, NotificationError> {
    let Some(id) = DeviceId::parse(id) else { return Ok(false) };
    let Some(item) = app.table.get(&keys::device(t, a, &id)).await? else { return Ok(false) };
    let record = DeviceRecord::from_item(item)?;
    forget(app, &record).await.map_err(NotificationError::from)
}

/// Removes a phone's record, then its endpoint (an endpoint left behind by a failure there is harmless: nothing
/// sends to it any more). `false` when the record was gone already.
pub(crate) async fn forget(app: &App, d: &DeviceRecord) -> Result<bool, TableError> {
    let key = keys::device(&d.tenant_id, &d.agent_id, &d.device_id);
    match app.table.transact(vec![TxOp::Delete { key, condition: Some(Condition::Exists) }]).await {
        Ok(()) => {}
        Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => return Ok(false),
        Err(e) => return Err(e),
    }
    if let Some(endpoint) = &d.endpoint
        && let Err(e) = app.mobile.unregister(endpoint).await
    {
        tracing::warn!(error = %e, device_id = %d.device_id, "push endpoint not removed");
    }
    Ok(true)
}
