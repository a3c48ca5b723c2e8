use serde_json::json;

use super::*;

fn at(s: &str) -> jiff::Timestamp {
    s.parse().unwrap()
}

#[test]
fn a_due_timer_travels_as_its_kind_and_fields_and_names_its_wait() {
    let (t, c, m, a) = (TenantId::generate(), ConversationId::generate(), MessageId::generate(), AgentId::generate());
    let due = Due::Reassign {
        tenant_id: t.clone(),
        conversation_id: c.clone(),
        message_id: m.clone(),
        agent_id: a.clone(),
        assigned_at: at("2026-03-01T10:00:00Z"),
        seconds: 30,
        due_at: at("2026-03-01T10:00:30Z"),
    };
    let body = serde_json::to_value(&due).unwrap();
    assert_eq!(
        body,
        json!({"kind": "reassign", "tenant_id": t, "conversation_id": c, "message_id": m, "agent_id": a,
               "assigned_at": "2026-03-01T10:00:00Z", "seconds": 30, "due_at": "2026-03-01T10:00:30Z"})
    );
    assert_eq!(serde_json::from_value::<Due>(body).unwrap(), due);
    let unanswered = Due::Unanswered {
        tenant_id: t,
        conversation_id: c.clone(),
        message_id: m.clone(),
        since: at("2026-03-01T10:00:00Z"),
        minutes: 5,
        due_at: at("2026-03-01T10:05:00Z"),
    };
    assert_eq!(unanswered.id(), format!("unanswered#{c}#{m}#5"));
    assert_ne!(unanswered.id(), due.id());
    assert!(serde_json::from_str::<Due>(r#"{"kind": "later", "tenant_id": "x"}"#).is_err());
}

#[test]
fn the_agents_a_conversation_had_are_stored_in_its_partition() {
    let (t, c, a) = (TenantId::generate(), ConversationId::generate(), AgentId::generate());
    let r = HadRecord {
        tenant_id: t.clone(),
        conversation_id: c.clone(),
        agent_id: a.clone(),
        at: at("2026-03-01T10:00:00Z"),
    };
    let item = r.to_item();
    assert_eq!(kefu_ports::Key::of(&item).unwrap(), keys::had_agent(&t, &c, &a));
    assert_eq!(record::parse::<HadRecord>("had agent", item).unwrap(), r);
}

#[tokio::test]
async fn a_timer_before_its_due_time_sends_itself_again_and_a_stale_one_does_nothing() {
    let clock = std::sync::Arc::new(kefu_ports::ManualClock::new(at("2026-03-01T10:00:00Z")));
    let (app, _dir) = crate::testing::embedded_app(clock.clone());
    let due = Due::Unanswered {
        tenant_id: TenantId::generate(),
        conversation_id: ConversationId::generate(),
        message_id: MessageId::generate(),
        since: at("2026-03-01T10:00:00Z"),
        minutes: 60,
        due_at: at("2026-03-01T11:00:00Z"),
    };
    let body = serde_json::to_string(&due).unwrap();
    assert_eq!(fire(&app, &body).await.unwrap(), Fired::Rearmed);
    assert_eq!(app.due.approximate_len().await.unwrap(), 1, "sent again, with the rest of its delay");
    clock.set(at("2026-03-01T11:00:01Z"));
    assert_eq!(fire(&app, &body).await.unwrap(), Fired::Stale, "no such conversation: nothing to alert");
    assert!(matches!(fire(&app, "{}").await, Err(TimerError::Body(_))));
}
