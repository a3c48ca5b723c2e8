//! The mail and SMS port, and mobile push, as a local outbox file (JSON lines), so a developer can read what
//! would be sent.

use std::path::PathBuf;

use async_trait::async_trait;
use kefu_ports::{MailError, Mailer, MobileError, MobilePush};
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;

/// Appends every email and SMS to `outbox.jsonl` instead of sending it.
pub struct OutboxMailer {
    path: PathBuf,
    lock: Mutex<()>,
}

impl OutboxMailer {
    /// Writes to `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), lock: Mutex::new(()) }
    }

    async fn append(&self, record: serde_json::Value) -> Result<(), MailError> {
        let _guard = self.lock.lock().await;
        if let Some(dir) = self.path.parent() {
            tokio::fs::create_dir_all(dir).await.map_err(|e| MailError::Unavailable(e.to_string()))?;
        }
        let mut f = tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.path)
            .await
            .map_err(|e| MailError::Unavailable(e.to_string()))?;
        let mut line = record.to_string();
        line.push('\n');
        f.write_all(line.as_bytes()).await.map_err(|e| MailError::Unavailable(e.to_string()))?;
        f.flush().await.map_err(|e| MailError::Unavailable(e.to_string()))
    }
}

/// Whether `to` looks like an email address (one `@`, a dotted domain, no spaces).
pub fn plausible_email(to: &str) -> bool {
    let Some((local, domain)) = to.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !to.chars().any(char::is_whitespace)
        && !domain.contains('@')
        && to.len() <= 254
}

/// Whether `to` is an E.164 number.
pub fn plausible_phone(to: &str) -> bool {
    to.strip_prefix('+').is_some_and(|d| (8..=15).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()))
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send_email(&self, to: &str, subject: &str, body: &str) -> Result<(), MailError> {
        if !plausible_email(to) {
            return Err(MailError::InvalidRecipient(to.to_owned()));
        }
        self.append(serde_json::json!({"channel": "email", "to": to, "subject": subject, "body": body, "at": jiff::Timestamp::now()}))
            .await
    }

    async fn send_sms(&self, to: &str, text: &str) -> Result<(), MailError> {
        if !plausible_phone(to) {
            return Err(MailError::InvalidRecipient(to.to_owned()));
        }
        self.append(serde_json::json!({"channel": "sms", "to": to, "body": text, "at": jiff::Timestamp::now()})).await
    }
}

/// The longest push token accepted (the API's limit).
const TOKEN_MAX: usize = 4096;

/// Phones are "registered" by naming them `local:{platform}:{token}`; a push is an outbox line
/// `{"channel": "push", "to": endpoint, "title", "body", "at"}`.
#[async_trait]
impl MobilePush for OutboxMailer {
    async fn register(&self, platform: &str, token: &str) -> Result<String, MobileError> {
        if !kefu_ports::mobile::PLATFORMS.contains(&platform) {
            return Err(MobileError::NotConfigured(platform.to_owned()));
        }
        if token.is_empty() || token.len() > TOKEN_MAX || token.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(MobileError::InvalidToken(token.chars().take(32).collect()));
        }
        Ok(format!("local:{platform}:{token}"))
    }

    async fn send(&self, endpoint: &str, title: &str, body: &str) -> Result<(), MobileError> {
        if !endpoint.starts_with("local:") {
            return Err(MobileError::Gone);
        }
        self.append(serde_json::json!({"channel": "push", "to": endpoint, "title": title, "body": body, "at": jiff::Timestamp::now()}))
            .await
            .map_err(|e| MobileError::Unavailable(e.to_string()))
    }

    async fn unregister(&self, _endpoint: &str) -> Result<(), MobileError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn messages_land_in_the_outbox() {
        let dir = tempfile::tempdir().unwrap();
        let m = OutboxMailer::new(dir.path().join("outbox.jsonl"));
        m.send_email("li@example.com", "Code", "123456").await.unwrap();
        m.send_sms("+8613800138000", "Code 123456").await.unwrap();
        assert!(m.send_email("nobody", "x", "y").await.is_err());
        assert!(m.send_sms("13800138000", "x").await.is_err());
        let text = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["to"], "li@example.com");
        assert_eq!(lines[1]["channel"], "sms");
    }

    #[tokio::test]
    async fn pushes_land_in_the_outbox_too() {
        let dir = tempfile::tempdir().unwrap();
        let m = OutboxMailer::new(dir.path().join("outbox.jsonl"));
        let endpoint = m.register("fcm", "tok-1").await.unwrap();
        assert_eq!(m.register("fcm", "tok-1").await.unwrap(), endpoint, "the same token, the same endpoint");
        assert!(matches!(m.register("fcm", "two words").await, Err(MobileError::InvalidToken(_))));
        assert!(matches!(m.register("wap", "tok").await, Err(MobileError::NotConfigured(_))));
        m.send(&endpoint, "新会话", "A visitor is waiting").await.unwrap();
        assert!(matches!(m.send("arn:elsewhere", "t", "b").await, Err(MobileError::Gone)));
        m.unregister(&endpoint).await.unwrap();
        let text = std::fs::read_to_string(dir.path().join("outbox.jsonl")).unwrap();
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!((line["channel"].as_str(), line["to"].as_str()), (Some("push"), Some(endpoint.as_str())));
        assert_eq!(line["title"], "新会话");
    }
}
