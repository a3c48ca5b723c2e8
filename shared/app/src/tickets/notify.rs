//! Telling people about tickets: a `ticket.assigned` event becomes a `ticket.assigned` frame (its `data` is the
//! ticket, as `GET /v1/tickets/{id}` shows it without comments) on every live socket of the assignee, or, while
//! the ticket waits in a group with nobody assigned, of each member of that group. Each reader's session is
//! re-checked when the frame is sent (a closed session's socket is closed and gets nothing) and its contact is
//! masked for readers without `customers.view_sensitive`.

use kefu_domain::AgentId;
use kefu_ports::table::TableError;
use serde_json::Value;

use super::{TicketRecord, TicketView};
use crate::App;
use crate::plumbing::events::{Envelope, TicketAssigned};
use crate::plumbing::keys;
use crate::realtime::frames::{Frame, types};
use crate::realtime::{self, PushReport};

/// Who a `ticket.assigned` event concerns: the assignee, else the members of its group (pure, given the
/// group's members).
pub fn recipients(assigned: &TicketAssigned, group_members: &[AgentId]) -> Vec<AgentId> {
    match &assigned.agent_id {
        Some(a) => vec![a.clone()],
        None => group_members.to_vec(),
    }
}

/// The `ticket.assigned` frame of a ticket, as a reader with (`sensitive`) or without `customers.view_sensitive`
/// sees it. It names the ticket's conversation, if it has one.
pub fn frame(record: &TicketRecord, sensitive: bool) -> Frame {
    Frame {
        frame_type: types::TICKET_ASSIGNED,
        conversation_id: record.conversation_id.as_ref().map(ToString::to_string).unwrap_or_default(),
        message: None,
        data: Some(serde_json::to_value(TicketView::of(record, sensitive)).expect("a ticket view serialises")),
    }
}

/// Delivers a `ticket.assigned` event (the `notify` consumer calls it): the ticket as it is now to each
/// recipient's sockets. A ticket gone since is nobody's concern.
pub async fn deliver_assigned(
    app: &App,
    event: &Envelope,
    assigned: &TicketAssigned,
) -> Result<PushReport, TableError> {
    let t = &event.tenant_id;
    let mut report = PushReport::default();
    let Some(item) = app.table.get(&keys::ticket(t, &assigned.ticket_id)).await? else { return Ok(report) };
    let Ok(record) = TicketRecord::read(&item) else {
        tracing::error!(ticket_id = %assigned.ticket_id, "a stored ticket does not read; no frame sent");
        return Ok(report);
    };
    let members = match (&assigned.agent_id, &assigned.group_id) {
        (None, Some(g)) => app
            .table
            .get(&keys::group(t, g))
            .await?
            .and_then(|g| g.get("agent_ids").and_then(Value::as_array).cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a.as_str().and_then(AgentId::parse))
            .collect(),
        _ => Vec::new(),
    };
    let (clear, masked) = (frame(&record, true).to_text(), frame(&record, false).to_text());
    for agent in recipients(assigned, &members) {
        let readers = realtime::agent_readers(app, t, &agent, &mut report.closed).await?;
        report += realtime::push_to(app, &readers, |sensitive| if sensitive { clear.clone() } else { masked.clone() })
            .await?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use kefu_domain::ticket::TicketId;

    use super::*;

    #[test]
    fn the_assignee_is_told_else_the_group() {
        let (a, b) = (AgentId::generate(), AgentId::generate());
        let mut e = TicketAssigned {
            ticket_id: TicketId::generate(),
            agent_id: Some(a.clone()),
            group_id: None,
            previous_agent_id: None,
            by: None,
        };
        assert_eq!(recipients(&e, std::slice::from_ref(&b)), [a]);
        e.agent_id = None;
        assert_eq!(recipients(&e, std::slice::from_ref(&b)), [b]);
    }
}
