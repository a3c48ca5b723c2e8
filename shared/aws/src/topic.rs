//! The topic port on SNS.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::types::MessageAttributeValue;
use kefu_ports::{Topic, TopicError};

use crate::error::describe;

/// One SNS topic (the `events` topic) behind the [`Topic`] port.
///
/// Fan-out is SNS's: each consumer queue's subscription carries a filter policy on the `type` attribute, so the
/// adapter only has to set that attribute. Subscriptions use raw delivery, so consumers see the body unchanged.
#[derive(Debug, Clone)]
pub struct SnsTopic {
    client: crate::LazyClient<Client>,
    arn: String,
}

impl SnsTopic {
    /// The adapter for the topic `arn`.
    pub fn new(client: impl Into<crate::LazyClient<Client>>, arn: impl Into<String>) -> Self {
        Self { client: client.into(), arn: arn.into() }
    }

    /// The topic's ARN, for logs.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// A `String` message attribute.
pub(crate) fn string_attribute(value: &str) -> Result<MessageAttributeValue, String> {
    MessageAttributeValue::builder().data_type("String").string_value(value).build().map_err(|e| e.to_string())
}

#[async_trait]
impl Topic for SnsTopic {
    async fn publish(&self, event_type: &str, body: &str, more: &[(&str, &str)]) -> Result<(), TopicError> {
        let ty = string_attribute(event_type).map_err(TopicError::Unavailable)?;
        let mut request = self.client.get().publish().topic_arn(&self.arn).message(body);
        for (name, value) in more {
            request = request.message_attributes(*name, string_attribute(value).map_err(TopicError::Unavailable)?);
        }
        // Set last: the attributes are a map, so an extra named `type` is replaced, as the port says.
        request.message_attributes("type", ty).send().await.map_err(|e| {
            tracing::warn!(error = %describe(&e), "sns publish failed");
            TopicError::Unavailable(describe(&e))
        })?;
        Ok(())
    }
}
