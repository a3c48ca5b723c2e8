//! `POST /v1/rules/dry_run`: which rules (the saved ones, or a draft list) would match an event, against a
//! sample or a real conversation. Reads only: nothing is written, no event is published, nothing is audited.
//!
//! A real conversation's facts are gathered from the stored conversation (its page), its customer (group and
//! tags) and its last visitor message (its content); the wait is the time since it started waiting, when it
//! waits.

use kefu_domain::automation::{Event, Facts, Matched, Rule, RuleSet};
use kefu_domain::conversation::Author;
use kefu_domain::{ConversationId, TenantId, ValidationError};
use kefu_ports::table::{Query, SkCondition, TableError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{RuleError, rule_set, webhook_policy};
use crate::App;
use crate::conversations::record::{ConversationRecord, MessageRecord};
use crate::plumbing::keys;
use crate::plumbing::record::Record;

/// `POST /v1/rules/dry_run` body.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct DryRunBody {
    /// The event to try.
    pub event: String,
    /// Draft rules to try instead of the saved ones.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Option<Vec<Object>>))]
    pub rules: Option<Vec<Value>>,
    /// A real conversation whose facts to use.
    #[serde(default)]
    pub conversation_id: Option<String>,
    /// Made-up facts: `{"message": {"content"}, "customer": {"group_id", "tags"}, "conversation": {"page_url",
    /// "unanswered_minutes"}, "time": {"in_working_hours"}}`.
    #[serde(default)]
    #[cfg_attr(feature = "http", schema(value_type = Option<Object>))]
    pub sample: Option<Value>,
}

/// One matching rule.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DryRunMatch {
    /// The saved rule's id (null for a draft).
    pub rule_id: Option<String>,
    /// Its name.
    pub name: String,
    /// Its actions.
    #[cfg_attr(feature = "http", schema(value_type = Vec<Object>))]
    pub actions: Vec<Value>,
}

/// `POST /v1/rules/dry_run` answer.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct DryRunResult {
    /// The rules that match, in the order they would run.
    pub matched: Vec<DryRunMatch>,
}

impl DryRunMatch {
    fn of(m: &Matched) -> Self {
        Self {
            rule_id: m.rule_id.as_ref().map(|r| r.to_string()),
            name: m.name.clone(),
            actions: m.actions.iter().map(|a| serde_json::to_value(a).unwrap_or(Value::Null)).collect(),
        }
    }
}

/// The newest visitor message of a conversation (newest first, a page at a time).
async fn last_visitor_message(
    app: &App,
    tenant: &TenantId,
    id: &ConversationId,
) -> Result<Option<MessageRecord>, TableError> {
    let mut cursor = None;
    loop {
        let q = Query::partition(keys::conversation_pk(tenant, id))
            .sk(SkCondition::Between(keys::MESSAGE_PREFIX.to_owned(), keys::MESSAGE_END.to_owned()))
            .backwards()
            .limit(50)
            .after(cursor);
        let page = app.table.query(q).await?;
        for item in page.items {
            let m = MessageRecord::from_item(item)?;
            if m.author == Author::Visitor && !m.internal {
                return Ok(Some(m));
            }
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(None);
        }
    }
}

/// The facts of a stored conversation: its page, its customer's group and tags, its last visitor message
/// (or `message`, the one an event is about), and how long it has waited.
pub async fn facts_of(
    app: &App,
    conversation: &ConversationRecord,
    message: Option<String>,
) -> Result<Facts, TableError> {
    let tenant = &conversation.tenant_id;
    let customer = crate::customers::load(app, tenant, &conversation.customer_id).await?;
    let message_content = match message {
        Some(m) => Some(m),
        None => last_visitor_message(app, tenant, &conversation.conversation_id).await?.map(|m| m.content),
    };
    let unanswered_seconds =
        conversation.waiting_since.map(|w| u64::try_from((app.now() - w).get_seconds()).unwrap_or(0));
    Ok(Facts {
        message_content,
        customer_group_id: customer.as_ref().and_then(|c| c.group_id.clone()),
        customer_tags: customer.map(|c| c.tags).unwrap_or_default(),
        page_url: conversation.page_url.clone(),
        unanswered_seconds,
        in_working_hours: None,
    })
}

/// Runs the dry run for `tenant`: changes nothing.
pub async fn dry_run(app: &App, tenant: &TenantId, body: &DryRunBody) -> Result<DryRunResult, RuleError> {
    let event = Event::parse(&body.event).ok_or_else(|| {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.as_str()).collect();
        ValidationError::new("event", format!("must be one of {}", names.join(", ")))
    })?;
    let set = match &body.rules {
        Some(drafts) => {
            let policy = webhook_policy(app);
            let mut rules = Vec::with_capacity(drafts.len());
            for (i, d) in drafts.iter().enumerate() {
                let rule = Rule::parse(d, policy).map_err(|e| e.under(&format!("rules[{i}]")))?;
                rules.push((None, rule));
            }
            std::sync::Arc::new(RuleSet::new(rules))
        }
        None => rule_set(app, tenant).await?,
    };
    let mut facts = match &body.conversation_id {
        Some(id) => {
            let id = ConversationId::parse(id).ok_or(RuleError::NotFound)?;
            let conv = crate::conversations::load(app, tenant, &id).await?.ok_or(RuleError::NotFound)?;
            facts_of(app, &conv, None).await?
        }
        None => Facts::default(),
    };
    if let Some(sample) = &body.sample {
        let s = Facts::from_sample(sample)?;
        // A sample's parts override what the conversation says.
        facts = Facts {
            message_content: s.message_content.or(facts.message_content),
            customer_group_id: s.customer_group_id.or(facts.customer_group_id),
            customer_tags: if s.customer_tags.is_empty() { facts.customer_tags } else { s.customer_tags },
            page_url: s.page_url.or(facts.page_url),
            unanswered_seconds: s.unanswered_seconds.or(facts.unanswered_seconds),
            in_working_hours: s.in_working_hours.or(facts.in_working_hours),
        };
    }
    let outcome = set.evaluate(event, &facts);
    Ok(DryRunResult { matched: outcome.matched.iter().map(DryRunMatch::of).collect() })
}
