//! A topic shaped like SNS: publish with a `type` attribute (and any others), fan out to subscribed queues by
//! filter policy.

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
    /// Publishes `body` with the message attribute `type` = `event_type`, and the string attributes `more` (an
    /// entry of `more` named `type` is ignored: the event type is always the one given).
    async fn publish(&self, event_type: &str, body: &str, more: &[(&str, &str)]) -> Result<(), TopicError>;
}

/// One accepted value in a filter policy: an exact string, `{"prefix": "..."}`, or `{"exists": bool}`.
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
    /// The attribute is present (`true`) or absent (`false`), whatever its value.
    Exists {
        /// Whether it must be present.
        exists: bool,
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

    /// This policy, accepting only messages without the attribute `name`.
    pub fn without(mut self, name: &str) -> Self {
        self.0.insert(name.to_owned(), vec![FilterValue::Exists { exists: false }]);
        self
    }

    /// Whether a message with these attributes passes: every named attribute must match one of its values (an
    /// absent attribute matches only `{"exists": false}`).
    pub fn accepts(&self, attributes: &BTreeMap<String, String>) -> bool {
        self.0.iter().all(|(name, accepted)| {
            let value = attributes.get(name);
            accepted.iter().any(|a| match (a, value) {
                (FilterValue::Exact(s), Some(v)) => s == v,
                (FilterValue::Prefix { prefix }, Some(v)) => v.starts_with(prefix.as_str()),
                (FilterValue::Exists { exists }, v) => *exists == v.is_some(),
                (_, None) => false,
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

    #[test]
    fn policy_matches_an_absent_attribute() {
        let p: FilterPolicy = serde_json::from_str(r#"{"type": ["a"], "done": [{"exists": false}]}"#).unwrap();
        assert_eq!(p, FilterPolicy::types(["a"]).without("done"));
        let attrs = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
        };
        assert!(p.accepts(&attrs(&[("type", "a")])));
        assert!(!p.accepts(&attrs(&[("type", "a"), ("done", "yes")])));
        assert!(!p.accepts(&attrs(&[("type", "b")])));
        let present: FilterPolicy = serde_json::from_str(r#"{"done": [{"exists": true}]}"#).unwrap();
        assert!(present.accepts(&attrs(&[("done", "")])));
        assert!(!present.accepts(&attrs(&[])));
    }
}
