//! Rate limits kept in the table, so they hold across every Lambda instance and every `kefu serve` worker:
//! a fixed-window counter per (scope, key), incremented by one conditional update. The window's number is in
//! the item's key, so a new window starts from zero even before TTL removes the old one.

use std::time::Duration;

use kefu_ports::table::{CmpOp, Condition, TableError, Update};
use serde_json::json;

use crate::App;
use crate::http::ApiError;
use crate::keys;

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum RateLimitError {
    /// The limit is reached; the window ends in `retry_after` seconds.
    #[error("rate limited for {retry_after} s")]
    Limited {
        /// Seconds until the window ends (at least 1).
        retry_after: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<RateLimitError> for ApiError {
    fn from(e: RateLimitError) -> Self {
        match e {
            RateLimitError::Limited { retry_after } => ApiError::rate_limited(retry_after),
            RateLimitError::Table(t) => t.into(),
        }
    }
}

/// API.md's default limits.
pub mod limits {
    use std::time::Duration;

    /// Messages a visitor token may send per minute.
    pub const VISITOR_MESSAGES_PER_MINUTE: u32 = 30;
    /// Conversations one IP may start per minute per tenant.
    pub const CONVERSATION_STARTS_PER_IP_PER_MINUTE: u32 = 60;
    /// Sign-in attempts one IP may make per minute per tenant.
    pub const SIGN_INS_PER_IP_PER_MINUTE: u32 = 30;
    /// The window of all three.
    pub const MINUTE: Duration = Duration::from_secs(60);
}

/// Counts one hit of `key` in `scope` against `limit` per `window`. `Ok(())` when the hit is allowed (and
/// counted); `Limited` when the window's budget is spent (the refused hit is not counted). `scope` names the
/// limit (`widget.send`, `auth.login`…); `key` is what is limited (a token hash, `tenant:ip`…) and must carry
/// the tenant when the limit is per tenant.
pub async fn hit(app: &App, scope: &str, key: &str, limit: u32, window: Duration) -> Result<(), RateLimitError> {
    let window_secs = window.as_secs().max(1) as i64;
    let now = app.now().as_second();
    let index = now.div_euclid(window_secs);
    let ends = (index + 1) * window_secs;
    let condition =
        Condition::Or(vec![Condition::AttrNotExists("count".into()), Condition::cmp("count", CmpOp::Lt, limit)]);
    let update = Update::new().add("count", 1).set("ttl", json!(ends + 60));
    match app.table.update(&keys::rate_window(scope, key, index), update, Some(condition)).await {
        Ok(_) => Ok(()),
        Err(TableError::ConditionFailed) => {
            Err(RateLimitError::Limited { retry_after: u64::try_from(ends - now).unwrap_or(1).max(1) })
        }
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;

    use super::*;

    #[tokio::test]
    async fn counts_per_window_and_says_when_to_retry() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:10Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        for _ in 0..3 {
            hit(&app, "t", "k", 3, Duration::from_secs(60)).await.unwrap();
        }
        match hit(&app, "t", "k", 3, Duration::from_secs(60)).await {
            Err(RateLimitError::Limited { retry_after }) => assert_eq!(retry_after, 50),
            other => panic!("expected a limit, got {other:?}"),
        }
        hit(&app, "t", "other", 3, Duration::from_secs(60)).await.expect("keys are independent");
        hit(&app, "u", "k", 3, Duration::from_secs(60)).await.expect("scopes are independent");
        clock.advance(jiff::SignedDuration::from_secs(50));
        hit(&app, "t", "k", 3, Duration::from_secs(60)).await.expect("a new window");
    }
}
