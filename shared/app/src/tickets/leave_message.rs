//! The widget's leave-a-message form (留言, `POST /v1/widget/leave_message`): when nobody is online the visitor
//! leaves a message and a way back; it becomes a ticket with `source: widget` in the widget settings'
//! `leave_message_group_id`, for the customer the visitor is (a returning `external_id` finds the same one, as
//! when a conversation starts), and the group is told (`ticket.assigned`). Rate limited per IP and tenant like
//! conversation starts.

use kefu_domain::ticket::{LeaveMessage, TicketBody, TicketId};
use kefu_domain::{CustomerId, GroupId, TenantId, TicketPriority, TicketSource, TicketStatus};
use kefu_ports::table::TableError;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{TicketError, TicketRecord, new_ticket_writes};
use crate::App;
use crate::audit::{Actor, AuditEntry, Outcome};
use crate::conversations::widget::{StartRequest, VisitorInfo, validate_start};
use crate::customers;
use crate::plumbing::ratelimit::{self, limits};

/// The contact part of the form: how to answer the visitor.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ContactInput {
    /// An email to answer to.
    #[serde(default)]
    pub email: Option<String>,
    /// A phone to call back.
    #[serde(default)]
    pub phone: Option<String>,
}

/// `POST /v1/widget/leave_message` body.
#[derive(Debug, Clone, Default, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct LeaveMessageRequest {
    /// Who the visitor is, as far as the site knows (as for starting a conversation).
    #[serde(default)]
    pub visitor: VisitorInfo,
    /// The message, 1..=4000 characters.
    pub content: String,
    /// How to answer: an email or a phone (else the visitor's own must be given).
    #[serde(default)]
    pub contact: ContactInput,
}

/// `POST /v1/widget/leave_message` answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct LeftMessage {
    /// The ticket the message became.
    pub ticket_id: String,
}

/// Turns a left message into a ticket for a visitor of `tenant` from `ip` (see the module's documentation).
/// The customer (new or returning), the ticket, its pointers, its events and a `ticket.create` entry (by the
/// visitor's customer record) are committed together.
pub async fn leave_message(
    app: &App,
    tenant: &TenantId,
    ip: &str,
    req: &LeaveMessageRequest,
) -> Result<LeftMessage, TicketError> {
    let plan = validate_start(&StartRequest { visitor: req.visitor.clone(), ..StartRequest::default() })?;
    let reachable = plan.contact.email.is_some() || plan.contact.phone.is_some();
    let form =
        LeaveMessage::parse(&req.content, req.contact.email.as_deref(), req.contact.phone.as_deref(), reachable)?;
    let settings = crate::conversations::widget_settings::get(app, tenant).await?;
    // A group deleted since the settings named it: the ticket waits without a group rather than being lost.
    let group = match settings.leave_message_group_id.as_deref().and_then(GroupId::parse) {
        Some(g) if crate::conversations::group_exists(app, tenant, &g).await? => Some(g),
        _ => None,
    };
    let (per_ip, minute) = (limits::CONVERSATION_STARTS_PER_IP_PER_MINUTE, limits::MINUTE);
    match ip.parse::<std::net::IpAddr>() {
        Ok(addr) => ratelimit::hit_ip(app, "widget.leave_message", tenant.as_str(), addr, per_ip, minute).await?,
        Err(_) => ratelimit::hit(app, "widget.leave_message", &format!("{tenant}:{ip}"), per_ip, minute).await?,
    }
    // A concurrent visit with the same external_id may claim it between our read and our write: read again.
    for _ in 0..3 {
        let existing = match &plan.contact.external_id {
            Some(ext) => customers::by_external_id(app, tenant, ext).await?,
            None => None,
        };
        let at = app.now();
        let mut ops = Vec::new();
        let customer_id = match existing {
            Some(id) => {
                if let Some(current) = customers::load(app, tenant, &id).await? {
                    ops.extend(customers::fill_missing_ops(tenant, &id, &current, &plan.contact, at));
                }
                id
            }
            None => {
                let id = CustomerId::generate();
                ops.extend(customers::new_customer_ops(tenant, &id, &plan.contact, at));
                id
            }
        };
        let record = TicketRecord {
            ticket_id: TicketId::generate(),
            tenant_id: tenant.clone(),
            title: form.title.clone(),
            description: TicketBody::parse_description(form.content.as_str(), "content")?,
            customer_id: Some(customer_id.clone()),
            conversation_id: None,
            priority: TicketPriority::Normal,
            status: TicketStatus::Open,
            assignee_id: None,
            group_id: group.clone(),
            source: TicketSource::Widget,
            contact: Some(form.contact.clone()).filter(|c| !c.is_empty()),
            created_by: None,
            created_at: at,
            updated_at: at,
            version: 1,
        };
        let (ticket_ops, events) = new_ticket_writes(&record);
        ops.extend(ticket_ops);
        let entry = AuditEntry::new(tenant, "ticket.create", Outcome::Success)
            .by(&Actor::Visitor(customer_id))
            .target("ticket", &record.ticket_id)
            .detail(json!({"source": "widget", "group_id": record.group_id}))
            .ip(ip);
        match crate::audit::commit(app, ops, events, vec![entry]).await {
            Ok(()) => return Ok(LeftMessage { ticket_id: record.ticket_id.to_string() }),
            Err(TableError::TransactionCanceled { .. }) if plan.contact.external_id.is_some() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Err(TicketError::Conflict("another visit with this external_id came at the same moment; retry"))
}
