//! Delivering security alerts: the notify consumer hands every `security.alert` event (raised by
//! [`crate::audit::anomaly`]) to [`notify_admins`], which emails each enabled account of the tenant whose role is
//! `admin`, through the mailer port (SNS in AWS, the outbox file in `kefu serve`).
//!
//! A delivery is marked per admin once sent, so a retried event (another admin's address failed, the
//! function timed out) does not email the ones already told.

use std::time::Duration;

use kefu_ports::MailError;
use kefu_ports::table::{Condition, Item, Query};
use serde_json::Value;
use tracing::{info, warn};

use super::anomaly::MarkRecord;
use crate::App;
use crate::plumbing::consumer::HandlerError;
use crate::plumbing::events::{AlertKind, Envelope, SecurityAlert};
use crate::plumbing::keys;

/// How long a delivery mark is kept (longer than any redelivery of the event).
const SENT_MARK_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The accounts to alert: enabled staff whose role is the built-in `admin`.
async fn admins(app: &App, event: &Envelope) -> Result<Vec<Item>, HandlerError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(
                Query::partition(keys::tenant_pk(&event.tenant_id)).prefix(keys::AGENT_PREFIX).limit(200).after(cursor),
            )
            .await?;
        out.extend(page.items.into_iter().filter(|a| {
            a.get("type").and_then(Value::as_str) == Some("agent")
                && a.get("role_id").and_then(Value::as_str) == Some("admin")
                && !a.get("disabled").and_then(Value::as_bool).unwrap_or(false)
        }));
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// The alert as a subject and a plain-text body. It names the rule, the subject, the IP and the time, and
/// points at the audit log; it carries no secrets.
pub fn message(event: &Envelope, alert: &SecurityAlert) -> (String, String) {
    let d = &alert.detail.numbers;
    let n = |v: Option<u64>| v.unwrap_or(0);
    let minutes = n(d.window_seconds) / 60;
    let target = format!("{} {}", alert.target_type.as_str(), alert.target_id);
    let ip = alert.ip.as_deref().unwrap_or("-");
    let what = match alert.kind {
        AlertKind::FailedSignInBurst => format!(
            "{} failed sign-ins in {minutes} minutes for {target} ({} scope; last from IP {ip})",
            n(d.count),
            d.scope.map_or("-", |s| s.as_str())
        ),
        AlertKind::NewNetworkSignIn => {
            format!(
                "a sign-in to {target} from a network it never used before: {} (IP {ip})",
                d.network.as_deref().unwrap_or("-")
            )
        }
        AlertKind::MassRead => {
            format!("{target} read {} different customers or transcripts in {minutes} minutes", n(d.distinct_targets))
        }
        AlertKind::MassExport => format!("{target} created {} exports in {minutes} minutes (IP {ip})", n(d.count)),
    };
    let subject = format!("Kefu security alert: {}", alert.kind.as_str().replace('_', " "));
    let body = format!(
        "Kefu noticed {what}.\n\nWhen: {}\nTenant: {}\n\nIf this was not expected, review the audit log \
         (GET /v1/audit?action=security.alert, or every entry of that account with ?actor_id=), end the \
         account's sessions and change its password.\n",
        event.at, event.tenant_id
    );
    (subject, body)
}

/// Emails a `security.alert` (`event`, whose payload is `alert`) to every admin of its tenant who has not had
/// it yet.
pub async fn notify_admins(app: &App, event: &Envelope, alert: &SecurityAlert) -> Result<(), HandlerError> {
    let admins = admins(app, event).await?;
    if admins.is_empty() {
        warn!(tenant_id = %event.tenant_id, event_id = %event.id, "security alert: the tenant has no admin to tell");
        return Ok(());
    }
    let (subject, body) = message(event, alert);
    let mut retry = None;
    for admin in &admins {
        let (Some(agent), Some(email)) =
            (admin.get("agent_id").and_then(Value::as_str), admin.get("email").and_then(Value::as_str))
        else {
            continue;
        };
        let mark = keys::alert_sent(&event.tenant_id, &event.id, agent);
        if app.table.get(&mark).await?.is_some() {
            continue;
        }
        match app.mailer.send_email(email, &subject, &body).await {
            Ok(()) => {
                let ttl = app.now().as_second() + i64::try_from(SENT_MARK_TTL.as_secs()).unwrap_or(i64::MAX);
                app.table.put(MarkRecord { ttl }.item(mark), Some(Condition::NotExists)).await.ok();
                info!(tenant_id = %event.tenant_id, event_id = %event.id, agent_id = agent, "security alert emailed");
            }
            Err(MailError::InvalidRecipient(r)) => {
                warn!(tenant_id = %event.tenant_id, agent_id = agent, recipient = %r, "security alert: invalid address");
            }
            Err(MailError::Unavailable(e)) => retry = Some(e),
        }
    }
    match retry {
        Some(e) => Err(HandlerError::Retry(e)),
        None => Ok(()),
    }
}
