//! Auto-replies (`GET|PUT /v1/settings/auto_reply`): the welcome message a new conversation gets, and the
//! off-hours reply it gets when its working hours are closed (its group's schedule, else the tenant's, with
//! holidays and overrides: the routing snapshot's [`crate::assignment::Snapshot::in_working_hours`]). Keyword
//! replies are rules (`auto_reply` actions).
//!
//! The settings are one typed record in the tenant's partition (`T#{t}` / `SETTINGS#AUTO_REPLY`); a tenant that
//! never saved any has them off. The `automation` consumer sends them on `conversation.created`
//! ([`greet`]) as bot messages ([`crate::conversations::bot_reply`]: the visitor sees them like an agent's
//! reply, and they never count as a first response), once per event even when it is delivered twice.

use std::time::Duration;

use kefu_domain::conversation::MessageContent;
use kefu_domain::{ConversationId, TenantId, ValidationError};
use kefu_ports::Key;
use kefu_ports::table::{TableError, TxOp};
use serde::{Deserialize, Deserializer, Serialize};

use super::RuleError;
use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::idempotency::{self, Claim};
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// The idempotency "consumer" name of the auto-replies of one `conversation.created` event.
const CLAIMS: &str = "auto-reply";

/// How long a claim holds while the replies are sent.
const CLAIM_FOR: Duration = Duration::from_secs(120);

/// A tenant's auto-replies, as API.md shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct AutoReplySettings {
    /// Sent to every new conversation (null: none).
    pub welcome: Option<String>,
    /// Sent to a new conversation whose working hours are closed (null: none).
    pub off_hours: Option<String>,
    /// Whether either is sent (default false).
    pub enabled: bool,
}

/// `PUT /v1/settings/auto_reply` body: the fields given replace the current ones, the others stay; `welcome`
/// or `off_hours` null (or blank) turns that message off.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct AutoReplyUpdate {
    /// The welcome message (1..=4000 characters), or null.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub welcome: Option<Option<String>>,
    /// The off-hours message (1..=4000 characters), or null.
    #[serde(default, deserialize_with = "present")]
    #[cfg_attr(feature = "http", schema(value_type = Option<String>))]
    pub off_hours: Option<Option<String>>,
    /// On or off.
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// Tells a field that is present and null from one that is absent.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// The stored settings: `T#{t}` / `SETTINGS#AUTO_REPLY`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AutoReplyRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The settings, stored side by side with the others.
    #[serde(flatten)]
    pub settings: AutoReplySettings,
    /// The last save.
    pub updated_at: jiff::Timestamp,
}

impl Record for AutoReplyRecord {
    const TYPE: &'static str = "auto_reply_settings";

    fn key(&self) -> Key {
        keys::auto_reply_settings(&self.tenant_id)
    }
}

/// A tenant's auto-replies; off when it never saved any (an unreadable record is an error).
pub async fn get(app: &App, t: &TenantId) -> Result<AutoReplySettings, TableError> {
    match app.table.get(&keys::auto_reply_settings(t)).await? {
        Some(item) => Ok(AutoReplyRecord::from_item(item)?.settings),
        None => Ok(AutoReplySettings::default()),
    }
}

/// The message of a field: null or blank is none; else checked like any message (400 naming the field).
fn message(v: Option<String>, field: &str) -> Result<Option<String>, ValidationError> {
    match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => MessageContent::parse(s, field).map(|_| Some(s.to_owned())),
    }
}

/// `current` with `update` applied (pure; nothing is saved).
pub fn apply(current: AutoReplySettings, update: AutoReplyUpdate) -> Result<AutoReplySettings, ValidationError> {
    Ok(AutoReplySettings {
        welcome: match update.welcome {
            Some(v) => message(v, "welcome")?,
            None => current.welcome,
        },
        off_hours: match update.off_hours {
            Some(v) => message(v, "off_hours")?,
            None => current.off_hours,
        },
        enabled: update.enabled.unwrap_or(current.enabled),
    })
}

/// Applies `update` and saves the result with `audit` (the caller's `settings.update` entry).
pub async fn put(
    app: &App,
    t: &TenantId,
    update: AutoReplyUpdate,
    audit: AuditEntry,
) -> Result<AutoReplySettings, RuleError> {
    let next = apply(get(app, t).await?, update)?;
    let record = AutoReplyRecord { tenant_id: t.clone(), settings: next.clone(), updated_at: app.now() };
    let audit = audit
        .target("settings", "auto_reply")
        .detail(serde_json::to_value(&next).map_err(|e| TableError::Invalid(e.to_string()))?);
    crate::audit::commit(app, vec![TxOp::Put { item: record.to_item(), condition: None }], Vec::new(), vec![audit])
        .await?;
    Ok(next)
}

/// What [`greet`] sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Greeted {
    /// The welcome message.
    pub welcome: bool,
    /// The off-hours reply.
    pub off_hours: bool,
}

/// Sends a new conversation the tenant's welcome message and, when its working hours are closed now, the
/// off-hours reply (the `automation` consumer, on `conversation.created` of id `event_id`). Once per event:
/// a redelivery sends nothing more.
pub async fn greet(app: &App, t: &TenantId, c: &ConversationId, event_id: &str) -> Result<Greeted, TableError> {
    let settings = get(app, t).await?;
    if !settings.enabled || (settings.welcome.is_none() && settings.off_hours.is_none()) {
        return Ok(Greeted::default());
    }
    match idempotency::claim(app, CLAIMS, event_id, CLAIM_FOR).await? {
        Claim::Acquired => {}
        Claim::AlreadyDone => return Ok(Greeted::default()),
        Claim::InProgress => {
            return Err(TableError::Invalid("the auto-replies of this event are being sent".into()));
        }
    }
    let sent = match send(app, t, c, &settings).await {
        Ok(sent) => sent,
        Err(e) => {
            let _ = idempotency::release(app, CLAIMS, event_id).await;
            return Err(e);
        }
    };
    idempotency::complete(app, CLAIMS, event_id).await?;
    Ok(sent)
}

async fn send(app: &App, t: &TenantId, c: &ConversationId, s: &AutoReplySettings) -> Result<Greeted, TableError> {
    let Some(conv) = crate::conversations::load(app, t, c).await? else { return Ok(Greeted::default()) };
    let mut sent = Greeted::default();
    if let Some(w) = &s.welcome {
        sent.welcome = bot(app, t, c, w).await?;
    }
    if let Some(o) = &s.off_hours {
        let snap = crate::assignment::snapshot(app, t).await?;
        let group = snap.route_group(conv.group_id.as_ref());
        if !snap.in_working_hours(group.as_ref(), app.now()) {
            sent.off_hours = bot(app, t, c, o).await?;
        }
    }
    Ok(sent)
}

/// Sends one bot message; `false` when it cannot be sent (the conversation is gone, or the stored text no
/// longer checks), logged.
async fn bot(app: &App, t: &TenantId, c: &ConversationId, text: &str) -> Result<bool, TableError> {
    let Ok(content) = MessageContent::parse(text, "content") else {
        tracing::warn!(tenant_id = %t, "stored auto-reply no longer checks; not sent");
        return Ok(false);
    };
    match crate::conversations::bot_reply(app, t, c, &content).await {
        Ok(_) => Ok(true),
        Err(crate::conversations::ConversationError::Table(e)) => Err(e),
        Err(e) => {
            tracing::warn!(tenant_id = %t, conversation_id = %c, error = %e, "auto-reply not sent");
            Ok(false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_replaces_what_it_names_and_checks_the_messages() {
        let current = AutoReplySettings { welcome: Some("Hi".into()), off_hours: None, enabled: true };
        let u: AutoReplyUpdate = serde_json::from_str(r#"{"off_hours": "We are closed"}"#).unwrap();
        let next = apply(current.clone(), u).unwrap();
        assert_eq!(next, AutoReplySettings { off_hours: Some("We are closed".into()), ..current.clone() });
        let u: AutoReplyUpdate = serde_json::from_str(r#"{"welcome": null, "enabled": false}"#).unwrap();
        assert_eq!(
            apply(next, u).unwrap(),
            AutoReplySettings { welcome: None, off_hours: Some("We are closed".into()), enabled: false }
        );
        let long = "x".repeat(20_000);
        let u = AutoReplyUpdate { welcome: Some(Some(long)), ..AutoReplyUpdate::default() };
        assert_eq!(apply(current, u).unwrap_err().field, "welcome");
        assert!(serde_json::from_str::<AutoReplyUpdate>(r#"{"greeting": "x"}"#).is_err());
    }
}
