//! A topic shaped like SNS: publish with a `type` attribute, fan out to subscribed queues by filter policy.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Why a publish failed.
#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    /// The backend failed; the publish may be retried (the outbox sweeper will).
    #[error("topic unavailable: {0}")]
    Unavailable(String),
}

/// Publishes events to every subscriber whose filter policy accepts them.
#[async_trait]
pub trait Topic: Send + Sync {
    /// Publishes `body` with the message attribute `type` = `event_type`.
    async fn publish(&self, event_type: &str, body: &str) -> Result<(), TopicError>;
}

/// One accepted value in a filter policy: an exact string, or `{"prefix": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FilterValue {
    /// The attribute equals this string.
    Exact(String),
    /// The attribute starts with this string.
    Prefix {
        /// The required prefix.
        prefix: String,
    },
}

/// The subset of SNS filter policies Kefu uses: attribute name → accepted values (any of them).
///
/// The JSON form is the same as in `infra/template.yaml`, e.g. `{"type": ["message.received", {"prefix": "conversation."}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FilterPolicy(pub BTreeMap<String, Vec<FilterValue>>);

impl FilterPolicy {
    /// A policy accepting these exact event types.
    pub fn types<I, S>(types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values = types.into_iter().map(|t| FilterValue::Exact(t.into())).collect();
        Self(BTreeMap::from([("type".to_owned(), values)]))
    }

    /// Whether a message with these attributes passes: every named attribute must be present and match one value.
    pub fn accepts(&self, attributes: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(name, accepted)| {
            attributes.get(name).is_some_and(|v| {
                accepted.iter().any(|a| match a {
                    FilterValue::Exact(s) => s == v,
                    FilterValue::Prefix { prefix } => v.starts_with(prefix.as_str()),
                })
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_matches_exact_and_prefix() {
        let p: FilterPolicy =
            serde_json::from_str(r#"{"type": ["message.received", {"prefix": "conversation."}]}"#).unwrap();
        let attrs = |t: &str| BTreeMap::from([("type".to_owned(), t.to_owned())]);
        assert!(p.accepts(&attrs("message.received")));
        assert!(p.accepts(&attrs("conversation.created")));
        assert!(!p.accepts(&attrs("ticket.created")));
        assert!(!p.accepts(&BTreeMap::new()));
        assert!(FilterPolicy::default().accepts(&attrs("anything")));
    }
}
