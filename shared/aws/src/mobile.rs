//! The mobile push port on SNS platform endpoints: a phone's token becomes an endpoint under the deployment's
//! APNs or FCM platform application (`KEFU_APNS_APP_ARN`, `KEFU_FCM_APP_ARN`; CloudFormation cannot create
//! platform applications, so the operator makes them with the push credentials and passes their ARNs).

use async_trait::async_trait;
use aws_sdk_sns::Client;
use kefu_ports::{MobileError, MobilePush};

use crate::error::{code, describe};

/// Mobile push through SNS.
#[derive(Debug, Clone)]
pub struct SnsMobile {
    client: crate::LazyClient<Client>,
    apns_app_arn: Option<String>,
    fcm_app_arn: Option<String>,
}

impl SnsMobile {
    /// Push through the given platform applications (either may be absent: that platform is not configured).
    pub fn new(
        client: impl Into<crate::LazyClient<Client>>,
        apns_app_arn: Option<String>,
        fcm_app_arn: Option<String>,
    ) -> Self {
        Self { client: client.into(), apns_app_arn, fcm_app_arn }
    }
}

/// The message for each push service: an alert with a title and a body (SNS picks the key of the endpoint's
/// platform; `default` for any other).
pub(crate) fn message(title: &str, body: &str) -> String {
    let apns = serde_json::json!({"aps": {"alert": {"title": title, "body": body}, "sound": "default"}});
    let fcm = serde_json::json!({"notification": {"title": title, "body": body}});
    serde_json::json!({
        "default": format!("{title}: {body}"),
        "APNS": apns.to_string(),
        "APNS_SANDBOX": apns.to_string(),
        "GCM": fcm.to_string(),
    })
    .to_string()
}

#[async_trait]
impl MobilePush for SnsMobile {
    async fn register(&self, platform: &str, token: &str) -> Result<String, MobileError> {
        let app = match platform {
            "apns" => self.apns_app_arn.as_ref(),
            "fcm" => self.fcm_app_arn.as_ref(),
            _ => None,
        }
        .ok_or_else(|| MobileError::NotConfigured(platform.to_owned()))?;
        let created =
            self.client.get().create_platform_endpoint().platform_application_arn(app).token(token).send().await;
        match created {
            Ok(out) => out.endpoint_arn.ok_or_else(|| MobileError::Unavailable("no endpoint ARN".into())),
            Err(e) if code(&e) == Some("InvalidParameter") => Err(MobileError::InvalidToken(describe(&e))),
            Err(e) => Err(MobileError::Unavailable(describe(&e))),
        }
    }

    async fn send(&self, endpoint: &str, title: &str, body: &str) -> Result<(), MobileError> {
        let sent = self
            .client
            .get()
            .publish()
            .target_arn(endpoint)
            .message_structure("json")
            .message(message(title, body))
            .send()
            .await;
        match sent {
            Ok(_) => Ok(()),
            Err(e) if matches!(code(&e), Some("EndpointDisabled" | "NotFound")) => Err(MobileError::Gone),
            Err(e) => Err(MobileError::Unavailable(describe(&e))),
        }
    }

    async fn unregister(&self, endpoint: &str) -> Result<(), MobileError> {
        match self.client.get().delete_endpoint().endpoint_arn(endpoint).send().await {
            Ok(_) => Ok(()),
            Err(e) if code(&e) == Some("NotFound") => Ok(()),
            Err(e) => Err(MobileError::Unavailable(describe(&e))),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn each_push_service_gets_its_alert() {
        let m: serde_json::Value = serde_json::from_str(&super::message("新会话", "Li Lei is waiting")).unwrap();
        let apns: serde_json::Value = serde_json::from_str(m["APNS"].as_str().unwrap()).unwrap();
        assert_eq!(apns["aps"]["alert"]["title"], "新会话");
        let fcm: serde_json::Value = serde_json::from_str(m["GCM"].as_str().unwrap()).unwrap();
        assert_eq!(fcm["notification"]["body"], "Li Lei is waiting");
        assert_eq!(m["default"], "新会话: Li Lei is waiting");
    }
}
