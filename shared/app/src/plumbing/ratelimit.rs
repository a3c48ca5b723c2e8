//! Rate limits kept in the table, so they hold across every Lambda instance and every `kefu serve` worker:
//! a fixed-window counter per (scope, key), incremented by one conditional update. The window's number is in
//! the item's key, so a new window starts from zero even before TTL removes the old one.
//!
//! Limits per client IP go through [`hit_ip`]: an IPv6 client is limited per address *and* per /64 prefix
//! (the block one subscriber usually gets, where a new address costs nothing), so rotating addresses inside
//! a /64 does not multiply the budget.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::Ipv6Net;

use kefu_ports::table::{CmpOp, Condition, TableError, Update};
use serde_json::json;

use crate::App;
use crate::plumbing::keys;

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

/// API.md's default limits.
pub mod limits {
    use std::time::Duration;

    /// Messages a visitor token may send per minute.
    pub const VISITOR_MESSAGES_PER_MINUTE: u32 = 30;
    /// Conversations one IP may start per minute per tenant.
    pub const CONVERSATION_STARTS_PER_IP_PER_MINUTE: u32 = 60;
    /// Sign-in attempts one IP may make per minute per tenant.
    pub const SIGN_INS_PER_IP_PER_MINUTE: u32 = 30;
    /// Refused bootstrap tokens (`POST /v1/tenants`) one IP may send per minute.
    pub const BOOTSTRAP_TRIES_PER_IP_PER_MINUTE: u32 = 10;
    /// How many times the per-address budget a whole IPv6 /64 gets (a household or office: several devices,
    /// as behind one IPv4 NAT address).
    pub const IPV6_PREFIX_FACTOR: u32 = 4;
    /// The window of all of them.
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

/// The keys a client IP is limited under, each with its limit: the address (IPv4, or IPv6 with IPv4-mapped
/// addresses read as IPv4), and for IPv6 also its /64 prefix with [`limits::IPV6_PREFIX_FACTOR`] times the
/// limit. `prefix` (e.g. the tenant) is put in front of each key.
pub fn ip_keys(prefix: &str, ip: IpAddr, limit: u32) -> Vec<(String, u32)> {
    let ip = ip.to_canonical();
    let mut keys = vec![(format!("{prefix}:{ip}"), limit)];
    if let IpAddr::V6(v6) = ip {
        let net = Ipv6Net::new(v6, 64).expect("64 is a valid IPv6 prefix length").trunc();
        keys.push((format!("{prefix}:{net}"), limit.saturating_mul(limits::IPV6_PREFIX_FACTOR)));
    }
    keys
}

/// [`hit`] for a client IP: counts the hit against the address and, for IPv6, its /64 ([`ip_keys`]);
/// `Limited` when either budget is spent.
pub async fn hit_ip(
    app: &App,
    scope: &str,
    prefix: &str,
    ip: IpAddr,
    limit: u32,
    window: Duration,
) -> Result<(), RateLimitError> {
    for (key, limit) in ip_keys(prefix, ip, limit) {
        hit(app, scope, &key, limit, window).await?;
    }
    Ok(())
}

/// Gives back one hit of [`hit_ip`] in the current window (for limits that count only failures: the hit is
/// taken before the check, so a burst checks at most the limit, and given back when the check passes).
pub async fn refund_ip(app: &App, scope: &str, prefix: &str, ip: IpAddr, window: Duration) -> Result<(), TableError> {
    let window_secs = window.as_secs().max(1) as i64;
    let index = app.now().as_second().div_euclid(window_secs);
    for (key, _) in ip_keys(prefix, ip, 1) {
        let positive = Condition::cmp("count", CmpOp::Gt, 0);
        match app
            .table
            .update(&keys::rate_window(scope, &key, index), Update::new().add("count", -1), Some(positive))
            .await
        {
            Ok(_) | Err(TableError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
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

    #[test]
    fn ipv6_clients_are_keyed_by_address_and_by_64() {
        let v4: IpAddr = "203.0.113.7".parse().unwrap();
        assert_eq!(ip_keys("tn", v4, 5), [("tn:203.0.113.7".to_owned(), 5)]);
        let mapped: IpAddr = "::ffff:203.0.113.7".parse().unwrap();
        assert_eq!(ip_keys("tn", mapped, 5), [("tn:203.0.113.7".to_owned(), 5)], "IPv4-mapped reads as IPv4");
        let v6: IpAddr = "2001:db8:1:2:aaaa:bbbb:cccc:dddd".parse().unwrap();
        assert_eq!(
            ip_keys("tn", v6, 5),
            [("tn:2001:db8:1:2:aaaa:bbbb:cccc:dddd".to_owned(), 5), ("tn:2001:db8:1:2::/64".to_owned(), 20)]
        );
    }

    #[tokio::test]
    async fn an_ipv6_client_rotating_addresses_in_its_64_is_limited_by_the_prefix() {
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:10Z".parse().unwrap()));
        let (app, _dir) = crate::testing::embedded_app(clock.clone());
        let minute = Duration::from_secs(60);
        // Two hits per address, eight per /64: four fresh addresses spend the prefix's budget.
        for k in 1..=8u16 {
            let ip = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0, 0, 0, k.div_ceil(2)));
            hit_ip(&app, "t", "tn", ip, 2, minute).await.expect("within both budgets");
        }
        let fresh = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 7, 0xffff, 0, 0, 1));
        assert!(matches!(hit_ip(&app, "t", "tn", fresh, 2, minute).await, Err(RateLimitError::Limited { .. })));
        let neighbour = IpAddr::V6(std::net::Ipv6Addr::new(0x2001, 0xdb8, 0, 8, 0, 0, 0, 1));
        hit_ip(&app, "t", "tn", neighbour, 2, minute).await.expect("another /64 has its own budget");
        // The per-address limit still holds inside a /64 with budget left.
        hit_ip(&app, "t", "tn", neighbour, 2, minute).await.unwrap();
        assert!(matches!(hit_ip(&app, "t", "tn", neighbour, 2, minute).await, Err(RateLimitError::Limited { .. })));
        // A refund gives one hit back.
        refund_ip(&app, "t", "tn", neighbour, minute).await.unwrap();
        hit_ip(&app, "t", "tn", neighbour, 2, minute).await.expect("refunded");
    }
}
