//! Notifications to agents: each agent's preferences (`GET|PUT /v1/me/notifications`) and the delivery of a
//! `notification.requested` event (the `notify` consumer calls [`deliver`]): a `notification` frame on every
//! live WebSocket of each agent concerned, else an email, as its preferences allow — with do-not-disturb and
//! working-hours-only holding all but urgent ones (the domain's [`Preferences::route`]).
//!
//! - **Storage.** One typed item per agent that saved preferences ([`PreferencesRecord`], `T#{t}` /
//!   `NOTIFY_PREFS#{agent}`); an agent that never did has the defaults.
//! - **Once per agent.** The recipients are deduplicated (an agent named and in the group is told once), and
//!   the consumer handles each event once (its idempotency record).
//!
//! It sits above assignment (the agents' schedules, a group's members), identity (the accounts' email) and
//! realtime (the sockets), and uses them; none of them knows about it.

pub mod devices;

use std::collections::BTreeSet;

use kefu_domain::notification::{Channel, Held, Preferences, Reach, Urgency};
use kefu_domain::{AgentId, TenantId, ValidationError};
use kefu_ports::Key;
use kefu_ports::table::{TableError, TxOp};
use kefu_ports::{MailError, MobileError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::App;
use crate::identity::accounts::AccountRecord;
use crate::plumbing::events::{Envelope, NotificationRequested};
use crate::plumbing::keys;
use crate::plumbing::record::Record;
use crate::realtime::frames::{Frame, types};
use crate::realtime::{self, PushReport};

/// Why a preferences request failed.
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    /// A field is invalid (named).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The mobile push service failed; the client may retry.
    #[error("push service: {0}")]
    Push(String),
}

impl From<crate::plumbing::record::RecordError> for NotificationError {
    fn from(e: crate::plumbing::record::RecordError) -> Self {
        Self::Table(e.into())
    }
}

/// An agent's saved preferences: `T#{t}` / `NOTIFY_PREFS#{agent}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreferencesRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The agent.
    pub agent_id: AgentId,
    /// The preferences, stored side by side with the others.
    #[serde(flatten)]
    pub preferences: Preferences,
    /// The last save.
    pub updated_at: jiff::Timestamp,
}

impl Record for PreferencesRecord {
    const TYPE: &'static str = "notification_preferences";

    fn key(&self) -> Key {
        keys::notification_preferences(&self.tenant_id, &self.agent_id)
    }
}

/// `GET|PUT /v1/me/notifications` answer (API.md's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct PreferencesView {
    /// Frames shown as desktop notifications by the console.
    pub desktop: bool,
    /// Mobile push (to devices registered with `/v1/me/devices`).
    pub mobile: bool,
    /// Email when no WebSocket is live.
    pub email: bool,
    /// SMS when no WebSocket is live.
    pub sms: bool,
    /// Where SMS go (E.164); null: no SMS.
    pub sms_number: Option<String>,
    /// Nothing but urgent notifications outside the agent's own schedule.
    pub working_hours_only: bool,
    /// Nothing but urgent notifications before this time (null: off).
    pub dnd_until: Option<String>,
    /// The kinds wanted: `conversation.new`, `message.new`, `conversation.assigned`, `ticket.assigned`,
    /// `conversation.unanswered`, `approval.requested`.
    pub events: Vec<String>,
}

impl From<&Preferences> for PreferencesView {
    fn from(p: &Preferences) -> Self {
        Self {
            desktop: p.desktop,
            mobile: p.mobile,
            email: p.email,
            sms: p.sms,
            sms_number: p.sms_number.clone(),
            working_hours_only: p.working_hours_only,
            dnd_until: p.dnd_until.map(|d| d.to_string()),
            events: p.events.clone(),
        }
    }
}

/// An agent's preferences (the defaults until it saves some).
pub async fn preferences(app: &App, t: &TenantId, a: &AgentId) -> Result<Preferences, TableError> {
    match app.table.get(&keys::notification_preferences(t, a)).await? {
        Some(item) => Ok(PreferencesRecord::from_item(item)?.preferences),
        None => Ok(Preferences::default()),
    }
}

/// Applies a `PUT /v1/me/notifications` body to the agent's preferences and saves them (bad input changes
/// nothing: 400 naming the field).
pub async fn update(app: &App, t: &TenantId, a: &AgentId, body: &Value) -> Result<Preferences, NotificationError> {
    let next = preferences(app, t, a).await?.updated(body)?;
    let record = PreferencesRecord {
        tenant_id: t.clone(),
        agent_id: a.clone(),
        preferences: next.clone(),
        updated_at: app.now(),
    };
    app.table.transact(vec![TxOp::Put { item: record.to_item(), condition: None }]).await?;
    Ok(next)
}

/// Why a delivery failed (the event is retried).
#[derive(Debug, thiserror::Error)]
pub enum DeliverError {
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
    /// The mail service is down.
    #[error("mail unavailable: {0}")]
    Mail(String),
    /// The mobile push service is down.
    #[error("push unavailable: {0}")]
    Push(String),
}

/// What [`deliver`] did.
#[derive(Debug, Clone, Default)]
pub struct Delivered {
    /// Frames pushed to sockets.
    pub pushed: PushReport,
    /// Agents told on their phones (one per agent, however many phones).
    pub phoned: usize,
    /// Agents told by SMS.
    pub texted: usize,
    /// Agents told by email.
    pub emailed: usize,
    /// Agents not told, and why.
    pub held: Vec<(AgentId, Held)>,
}

/// The `notification` frame of a notification.
pub fn frame(n: &NotificationRequested) -> Frame {
    let mut data = json!({"kind": n.kind, "priority": n.priority, "text": n.text});
    if let Some(c) = &n.conversation_id {
        data["conversation_id"] = json!(c);
    }
    Frame {
        frame_type: types::NOTIFICATION,
        conversation_id: n.conversation_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        message: None,
        data: Some(data),
    }
}

/// The agents a notification is for: the one named, plus the members of the group named (each once, enabled
/// accounts only — disabled ones are left out when their account is read).
async fn recipients(app: &App, t: &TenantId, n: &NotificationRequested) -> Result<BTreeSet<AgentId>, TableError> {
    let mut out = BTreeSet::new();
    out.extend(n.agent_id.iter().cloned());
    if let Some(g) = &n.group_id
        && let Some(item) = app.table.get(&keys::group(t, g)).await?
    {
        out.extend(crate::assignment::GroupRecord::from_item(&item).map_err(TableError::from)?.agent_ids);
    }
    Ok(out)
}

/// Delivers a `notification.requested` event to each agent concerned, by its preferences: frames to its live
/// sockets (each reader's session re-checked), else an email; held by do-not-disturb or working hours unless
/// urgent. A mail service that is down is an error (the event is retried).
pub async fn deliver(app: &App, event: &Envelope, n: &NotificationRequested) -> Result<Delivered, DeliverError> {
    let t = &event.tenant_id;
    let now = app.now();
    let mut out = Delivered::default();
    let agents = recipients(app, t, n).await?;
    if agents.is_empty() {
        return Ok(out);
    }
    let snap = crate::assignment::snapshot(app, t).await?;
    let text = frame(n).to_text();
    for a in agents {
        let Some(item) = app.table.get(&keys::agent(t, &a)).await? else { continue };
        let account = AccountRecord::from_item(item).map_err(TableError::from)?;
        if account.disabled {
            continue;
        }
        let prefs = preferences(app, t, &a).await?;
        let in_hours = account.schedule_id.as_ref().and_then(|s| snap.schedules.get(s)).is_none_or(|s| s.is_open(now));
        let readers = realtime::agent_readers(app, t, &a, &mut out.pushed.closed).await?;
        let phones: Vec<devices::DeviceRecord> =
            devices::records(app, t, &a).await?.into_iter().filter(|d| d.endpoint.is_some()).collect();
        let mut reach = Reach { socket: !readers.is_empty(), phone: !phones.is_empty() };
        let subject = if n.priority == Urgency::Urgent { "[Urgent] Kefu notification" } else { "Kefu notification" };
        loop {
            match prefs.route(&n.kind, n.priority, now, in_hours, reach) {
                Ok(Channel::Socket) => out.pushed += realtime::push_to(app, &readers, |_| text.clone()).await?,
                Ok(Channel::Phone) => {
                    if !push_to_phones(app, &phones, subject, &n.text).await? {
                        // Every phone was gone (and is forgotten now): the next channel its preferences allow.
                        reach.phone = false;
                        continue;
                    }
                    out.phoned += 1;
                }
                Ok(Channel::Sms) => {
                    let number = prefs.sms_number.as_deref().unwrap_or_default();
                    match app.mailer.send_sms(number, &format!("{subject}: {}", n.text)).await {
                        Ok(()) => out.texted += 1,
                        Err(MailError::InvalidRecipient(r)) => {
                            tracing::warn!(tenant_id = %t, agent_id = %a, recipient = %r, "notification SMS refused");
                        }
                        Err(MailError::Unavailable(e)) => return Err(DeliverError::Mail(e)),
                    }
                }
                Ok(Channel::Email) => match app.mailer.send_email(&account.email, subject, &n.text).await {
                    Ok(()) => out.emailed += 1,
                    Err(MailError::InvalidRecipient(r)) => {
                        tracing::warn!(tenant_id = %t, agent_id = %a, recipient = %r, "notification email refused");
                    }
                    Err(MailError::Unavailable(e)) => return Err(DeliverError::Mail(e)),
                },
                Err(why) => out.held.push((a.clone(), why)),
            }
            break;
        }
    }
    Ok(out)
}

/// Pushes to each phone; a phone its push service reports gone is forgotten. Whether any phone took it. A push
/// service that is down is an error (the event is retried; phones that took it already may get it twice).
async fn push_to_phones(
    app: &App,
    phones: &[devices::DeviceRecord],
    title: &str,
    body: &str,
) -> Result<bool, DeliverError> {
    let mut reached = false;
    for d in phones {
        let Some(endpoint) = &d.endpoint else { continue };
        match app.mobile.send(endpoint, title, body).await {
            Ok(()) => reached = true,
            Err(MobileError::Gone | MobileError::InvalidToken(_)) => {
                tracing::info!(device_id = %d.device_id, "phone gone; forgotten");
                devices::forget(app, d).await?;
            }
            Err(MobileError::NotConfigured(p)) => {
                tracing::warn!(device_id = %d.device_id, platform = %p, "push not configured; phone skipped");
            }
            Err(MobileError::Unavailable(e)) => return Err(DeliverError::Push(e)),
        }
    }
    Ok(reached)
}
