//! Webhooks (a rule's `webhook` action): signed deliveries of an event to a tenant's URL, tried from a queue —
//! never inline in the automation consumer — and kept in a delivery log (`GET /v1/webhook_deliveries`).
//!
//! - **Enqueue** ([`enqueue`]): the automation consumer stores a [`DeliveryRecord`] (`pending`, with the body
//!   to send, so every try sends the same bytes and `X-Kefu-Delivery`) and its `webhook.requested` event in one
//!   transaction.
//! - **Try** ([`attempt`], the `notify` consumer): the host is resolved and every address it resolves to must
//!   be allowed by the deployment's [`WebhookPolicy`] (in AWS public addresses only: no private, loopback,
//!   link-local or metadata address); the connection is pinned to the checked addresses (a second resolution
//!   cannot swap them) and redirects are not followed. The body is signed `X-Kefu-Signature: sha256=<hex
//!   HMAC-SHA256>` with the tenant's secret. A 2xx answer is success; anything else is recorded as the last
//!   answer and the event is retried by its queue (with the queue's backoff: in AWS the 180 s visibility
//!   timeout, so the [`MAX_TRIES`] tries span 12 minutes) until the tries run out (`failed`).
//! - **Secret**: one per tenant ([`WebhookSecretRecord`]), made on first use, shown by `GET
//!   /v1/settings/webhooks`, replaced by `POST /v1/settings/webhooks/rotate`.

use std::net::{IpAddr, SocketAddr};

use kefu_domain::ids::WebhookDeliveryId;
use kefu_domain::webhook::{RefusedTarget, WebhookPolicy};
use kefu_domain::{ConversationId, TenantId};
use kefu_ports::Key;
use kefu_ports::table::{Condition, Query, TableError, TxOp};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::RuleError;
use crate::App;
use crate::audit::AuditEntry;
use crate::plumbing::events::{Envelope, WebhookRequested};
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// Tries per delivery: the queue's receive count ([`crate::plumbing::events::MAX_RECEIVE_COUNT`]), after which
/// the message would go to the dead-letter queue.
pub const MAX_TRIES: u32 = crate::plumbing::events::MAX_RECEIVE_COUNT;
/// The most deliveries `GET /v1/webhook_deliveries` lists.
pub const LIST_LIMIT: usize = 100;

/// A tenant's webhook signing secret: `T#{t}` / `SETTINGS#WEBHOOKS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookSecretRecord {
    /// The tenant.
    pub tenant_id: TenantId,
    /// The secret (64 hex characters).
    pub secret: String,
    /// When it was made.
    pub updated_at: jiff::Timestamp,
}

impl Record for WebhookSecretRecord {
    const TYPE: &'static str = "webhook_settings";

    fn key(&self) -> Key {
        keys::webhook_settings(&self.tenant_id)
    }
}

/// `GET /v1/settings/webhooks` answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct WebhookSettings {
    /// The key of `X-Kefu-Signature`'s HMAC-SHA256.
    pub secret: String,
}

fn new_secret() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// The tenant's secret, made (once, even when two callers race) on first use.
pub async fn secret(app: &App, t: &TenantId) -> Result<String, TableError> {
    for _ in 0..3 {
        if let Some(item) = app.table.get(&keys::webhook_settings(t)).await? {
            return Ok(WebhookSecretRecord::from_item(item)?.secret);
        }
        let rec = WebhookSecretRecord { tenant_id: t.clone(), secret: new_secret(), updated_at: app.now() };
        match app.table.transact(vec![TxOp::Put { item: rec.to_item(), condition: Some(Condition::NotExists) }]).await {
            Ok(()) => return Ok(rec.secret),
            Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(TableError::Conflict)
}

/// Replaces the tenant's secret, committed with `audit` (the caller's `settings.update` entry).
pub async fn rotate(app: &App, t: &TenantId, audit: AuditEntry) -> Result<String, RuleError> {
    let rec = WebhookSecretRecord { tenant_id: t.clone(), secret: new_secret(), updated_at: app.now() };
    let audit = audit.target("settings", "webhooks").with("rotated", Value::Bool(true));
    crate::audit::commit(app, vec![TxOp::Put { item: rec.to_item(), condition: None }], Vec::new(), vec![audit])
        .await?;
    Ok(rec.secret)
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for a (next) try.
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Every try failed.
    Failed,
}

impl DeliveryStatus {
    /// The name in the API and the index.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        [Self::Pending, Self::Succeeded, Self::Failed].into_iter().find(|x| x.as_str() == s)
    }
}

/// One delivery: `T#{t}#WEBHOOKS` / `DELIVERY#{id}`, indexed by status (gsi1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    /// Its id (`X-Kefu-Delivery`).
    pub delivery_id: WebhookDeliveryId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The target.
    pub url: String,
    /// The event (`X-Kefu-Event`).
    pub event: String,
    /// The body sent on every try.
    pub body: String,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Tries made.
    pub attempts: u32,
    /// The last answer's HTTP status, if one came.
    pub last_status: Option<u16>,
    /// The last answer's beginning, or why no answer came.
    pub last_answer: Option<String>,
    /// When it was made.
    pub created_at: jiff::Timestamp,
    /// When it last changed.
    pub updated_at: jiff::Timestamp,
}

impl Record for DeliveryRecord {
    const TYPE: &'static str = "webhook_delivery";

    fn key(&self) -> Key {
        keys::webhook_delivery(&self.tenant_id, &self.delivery_id)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![
            ("gsi1pk", keys::webhook_deliveries_by_status(&self.tenant_id, self.status.as_str())),
            ("gsi1sk", self.delivery_id.to_string()),
        ]
    }
}

/// A delivery as the log shows it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DeliveryView {
    /// Its id (`wh_…`).
    pub id: String,
    /// The event.
    pub event: String,
    /// The target.
    pub url: String,
    /// `pending` | `succeeded` | `failed`.
    pub status: DeliveryStatus,
    /// Tries made.
    pub attempts: u32,
    /// The last answer's HTTP status.
    pub last_status: Option<u16>,
    /// The last answer's beginning, or why none came.
    pub last_answer: Option<String>,
    /// Made at.
    pub created_at: String,
    /// Last changed at.
    pub updated_at: String,
}

impl DeliveryView {
    fn of(r: &DeliveryRecord) -> Self {
        Self {
            id: r.delivery_id.to_string(),
            event: r.event.clone(),
            url: r.url.clone(),
            status: r.status,
            attempts: r.attempts,
            last_status: r.last_status,
            last_answer: r.last_answer.clone(),
            created_at: r.created_at.to_string(),
            updated_at: r.updated_at.to_string(),
        }
    }
}

/// The body of a delivery (API.md): `{"id", "event", "tenant_id", "at", "conversation"?, "customer"?,
/// "message"?}`, the conversation and customer as the API shows them to a reader with every permission.
#[derive(Debug, Clone, Serialize)]
struct Body<'a> {
    id: &'a WebhookDeliveryId,
    event: &'a str,
    tenant_id: &'a TenantId,
    at: jiff::Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    conversation: Option<crate::conversations::ConversationView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    customer: Option<crate::customers::CustomerView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a Value>,
}

/// Stores a delivery of `event` about conversation `c` to `url` and queues its first try (the automation
/// consumer's `webhook` action). `message` is the event's message, if any.
pub async fn enqueue(
    app: &App,
    t: &TenantId,
    url: &str,
    event: &str,
    c: &ConversationId,
    message: Option<&Value>,
) -> Result<WebhookDeliveryId, TableError> {
    let conv = crate::conversations::load(app, t, c).await?;
    let customer = match &conv {
        Some(cv) => crate::customers::load(app, t, &cv.customer_id).await?,
        None => None,
    };
    let id = WebhookDeliveryId::generate();
    let now = app.now();
    let body = Body {
        id: &id,
        event,
        tenant_id: t,
        at: now,
        conversation: conv.as_ref().map(crate::conversations::ConversationView::of),
        customer: customer.as_ref().map(|cu| crate::customers::CustomerView::of(cu, true)),
        message,
    };
    let rec = DeliveryRecord {
        delivery_id: id.clone(),
        tenant_id: t.clone(),
        url: url.to_owned(),
        event: event.to_owned(),
        body: serde_json::to_string(&body).map_err(|e| TableError::Invalid(e.to_string()))?,
        status: DeliveryStatus::Pending,
        attempts: 0,
        last_status: None,
        last_answer: None,
        created_at: now,
        updated_at: now,
    };
    let ev = Envelope::new(t, now, WebhookRequested { delivery_id: id.clone() });
    crate::plumbing::outbox::commit(
        app,
        vec![TxOp::Put { item: rec.to_item(), condition: Some(Condition::NotExists) }],
        vec![ev],
    )
    .await?;
    Ok(id)
}

/// What one try came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tried {
    /// Delivered now, or before (nothing sent again), or gone.
    Done,
    /// Failed; the queue tries again.
    Retry(String),
    /// Failed for the last time (`failed` in the log).
    GaveUp,
}

/// Resolves `host` and checks every address against `policy` (the SSRF guard, after DNS): answers the
/// addresses to connect to, or why none may be used.
pub async fn resolve_checked(policy: WebhookPolicy, host: &str, port: u16) -> Result<Vec<SocketAddr>, RefusedTarget> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<IpAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(found) => found.map(|a| a.ip()).collect(),
        Err(_) => Vec::new(),
    };
    let ok = policy.check_resolved(&addrs)?;
    Ok(ok.iter().map(|ip| SocketAddr::new(*ip, port)).collect())
}

/// The tries themselves: only the consumers that deliver webhooks build them (the `webhooks` feature links the
/// HTTP client; the other consumers do not).
#[cfg(feature = "webhooks")]
mod delivery {
    use std::time::Duration;

    use kefu_domain::TenantId;
    use kefu_domain::ids::WebhookDeliveryId;
    use kefu_domain::webhook::{self, WebhookPolicy, WebhookUrl};
    use kefu_ports::table::{Condition, TableError, TxOp};

    use super::{DeliveryRecord, DeliveryStatus, MAX_TRIES, Tried, resolve_checked, secret};
    use crate::App;
    use crate::automation::webhook_policy;
    use crate::plumbing::keys;
    use crate::plumbing::record::Record;

    /// How long one try waits for the receiver.
    const TRY_TIMEOUT: Duration = Duration::from_secs(10);
    /// The most characters of a receiver's answer kept in the log.
    const ANSWER_MAX_CHARS: usize = 500;

    /// Makes one try of delivery `id` (the `notify` consumer, on `webhook.requested`), and records it. Only the
    /// consumers that deliver webhooks build it (the `webhooks` feature links the HTTP client).
    pub async fn attempt(app: &App, t: &TenantId, id: &WebhookDeliveryId) -> Result<Tried, TableError> {
        let Some(item) = app.table.get(&keys::webhook_delivery(t, id)).await? else { return Ok(Tried::Done) };
        let mut rec = DeliveryRecord::from_item(item)?;
        if rec.status != DeliveryStatus::Pending {
            return Ok(Tried::Done);
        }
        let secret = secret(app, t).await?;
        let answer = send(webhook_policy(app), &rec, &secret).await;
        rec.attempts += 1;
        rec.updated_at = app.now();
        let tried = match answer {
            Ok(status) if webhook::is_success(status.0) => {
                rec.status = DeliveryStatus::Succeeded;
                (rec.last_status, rec.last_answer) = (Some(status.0), Some(status.1));
                Tried::Done
            }
            other => {
                let why = match other {
                    Ok((code, text)) => {
                        (rec.last_status, rec.last_answer) = (Some(code), Some(text));
                        format!("answered {code}")
                    }
                    Err(e) => {
                        (rec.last_status, rec.last_answer) = (None, Some(e.clone()));
                        e
                    }
                };
                if rec.attempts >= MAX_TRIES {
                    rec.status = DeliveryStatus::Failed;
                    Tried::GaveUp
                } else {
                    Tried::Retry(why)
                }
            }
        };
        let op = TxOp::Put {
            item: rec.to_item(),
            condition: Some(Condition::And(vec![
                Condition::eq("status", DeliveryStatus::Pending.as_str()),
                Condition::eq("attempts", i64::from(rec.attempts - 1)),
            ])),
        };
        match app.table.transact(vec![op]).await {
            Ok(()) => {}
            // Another try recorded meanwhile (a redelivery raced this one): its record stands.
            Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed) => return Ok(Tried::Done),
            Err(e) => return Err(e),
        }
        tracing::info!(tenant_id = %t, delivery_id = %id, attempts = rec.attempts, status = rec.status.as_str(), "webhook tried");
        Ok(tried)
    }

    /// Posts the delivery: `Ok((status, the answer's beginning))` when the receiver answered, `Err(why)` when it
    /// could not be reached or the target is refused.
    async fn send(policy: WebhookPolicy, rec: &DeliveryRecord, secret: &str) -> Result<(u16, String), String> {
        let url = WebhookUrl::parse(&rec.url, policy, "url").map_err(|e| e.to_string())?;
        let addrs = resolve_checked(policy, url.host(), url.port()).await.map_err(|e| format!("refused: {e}"))?;
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TRY_TIMEOUT)
            .resolve_to_addrs(url.host(), &addrs)
            .build()
            .map_err(|e| e.to_string())?;
        let signature = webhook::sign(secret.as_bytes(), rec.body.as_bytes());
        let answer = client
            .post(url.as_str())
            .header("content-type", "application/json")
            .header(webhook::EVENT_HEADER, &rec.event)
            .header(webhook::DELIVERY_HEADER, rec.delivery_id.as_str())
            .header(webhook::SIGNATURE_HEADER, signature)
            .body(rec.body.clone())
            .send()
            .await
            .map_err(|e| format!("no answer: {e}"))?;
        let status = answer.status().as_u16();
        let text = answer.text().await.unwrap_or_default();
        Ok((status, text.chars().take(ANSWER_MAX_CHARS).collect()))
    }
}

#[cfg(feature = "webhooks")]
pub use delivery::attempt;

/// The tenant's latest deliveries (at most [`LIST_LIMIT`], newest first), of one status if given: one Query of
/// the log partition, or of the status index.
pub async fn list(app: &App, t: &TenantId, status: Option<&str>) -> Result<Vec<DeliveryView>, RuleError> {
    let q = match status {
        Some(s) => {
            let s = DeliveryStatus::parse(s)
                .ok_or_else(|| kefu_domain::ValidationError::new("status", "must be pending, succeeded or failed"))?;
            Query::index(kefu_ports::Index::Gsi1, keys::webhook_deliveries_by_status(t, s.as_str()))
        }
        None => Query::partition(keys::webhook_deliveries_pk(t)).prefix(keys::WEBHOOK_DELIVERY_PREFIX),
    };
    let page = app.table.query(q.backwards().limit(LIST_LIMIT)).await?;
    let mut out = Vec::new();
    for item in page.items {
        out.push(DeliveryView::of(&DeliveryRecord::from_item(item).map_err(TableError::from)?));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_name_that_resolves_to_this_machine_is_refused_in_aws_and_allowed_locally() {
        let refused = resolve_checked(WebhookPolicy::AWS, "localhost", 443).await.unwrap_err();
        assert!(matches!(refused, RefusedTarget::Address { .. }), "{refused:?}");
        let local = resolve_checked(WebhookPolicy::LOCAL, "localhost", 8080).await.unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 8080), "{local:?}");
        // A literal private address is refused too, whatever the spelling.
        assert!(resolve_checked(WebhookPolicy::LOCAL, "10.0.0.7", 80).await.is_err());
        assert!(resolve_checked(WebhookPolicy::LOCAL, "169.254.169.254", 80).await.is_err());
        assert!(resolve_checked(WebhookPolicy::AWS, "[::1]", 443).await.is_err());
    }
}
