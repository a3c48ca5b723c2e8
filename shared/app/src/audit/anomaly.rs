//! Anomaly detection over the audit log: every recorded entry passes through [`observe`], which keeps a few
//! counters in the table and raises a **security alert** when one of these happens:
//!
//! | rule | what | threshold |
//! |---|---|---|
//! | `failed_sign_in_burst` (account) | failed sign-ins or MFA codes for one email | [`FAILED_SIGN_INS_PER_ACCOUNT`] in [`FAILED_SIGN_IN_WINDOW`] |
//! | `failed_sign_in_burst` (ip) | failed sign-ins from one IP, any account | [`FAILED_SIGN_INS_PER_IP`] in [`FAILED_SIGN_IN_WINDOW`] |
//! | `failed_sign_in_burst` (tenant) | failed sign-ins across the tenant (credential stuffing) | [`FAILED_SIGN_INS_PER_TENANT`] in [`FAILED_SIGN_IN_WINDOW`] |
//! | `new_network_sign_in` | a successful sign-in from a network (IPv4 /24, IPv6 /48) the account never used | the first time per network, not on the account's very first sign-in |
//! | `mass_read` | one actor reads many different customers or transcripts (list pages count every row) | [`MASS_READ_TARGETS`] distinct in [`MASS_READ_WINDOW`] |
//! | `mass_export` | one actor creates many exports | [`MASS_EXPORTS`] in [`MASS_EXPORT_WINDOW`] |
//!
//! An alert is an audit entry (action [`ALERT_ACTION`], appended without passing through [`observe`] again,
//! so alerts never feed the detector) and a `security.alert` event in the same transaction; the notify consumer
//! emails the tenant's admins ([`crate::audit::alerts`]).
//!
//! Counters are fixed windows in the table (like [`crate::plumbing::ratelimit`]): one atomic `ADD`, so exactly one writer
//! sees the count reach the threshold, and a burst sends **one alert per window** however long it lasts.
//! Detection is best effort: a store error is logged and never fails the request being audited.

use std::net::IpAddr;
use std::time::Duration;

use kefu_domain::TenantId;
use kefu_ports::table::{Condition, Item, Key, Query, TableError, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::warn;

use super::chain::{self, AuditEntry, Outcome};
use crate::App;
use crate::plumbing::events::{
    AlertDetail, AlertKind, AlertNumbers, AlertScope, AlertTarget, Envelope, EventType, SecurityAlert,
};
use crate::plumbing::keys;
use crate::plumbing::record;

/// The audit action of an alert (and the event type that carries it).
pub const ALERT_ACTION: &str = EventType::SecurityAlert.as_str();

/// The window failed sign-ins are counted in.
pub const FAILED_SIGN_IN_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Failed sign-ins for one email in a window that raise an alert (twice the default lockout threshold: the
/// lockout has already answered twice, someone keeps trying).
pub const FAILED_SIGN_INS_PER_ACCOUNT: u64 = 10;
/// Failed sign-ins from one IP in a window, whatever the account (password spraying).
pub const FAILED_SIGN_INS_PER_IP: u64 = 20;
/// Failed sign-ins across a tenant in a window (credential stuffing from many addresses).
pub const FAILED_SIGN_INS_PER_TENANT: u64 = 50;
/// The window reads are counted in.
pub const MASS_READ_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Distinct customers and transcripts one actor may read in a window before it is an alert (one every six
/// seconds for ten minutes: more than a person answering chats, less than a script). Re-reading the same one
/// does not count.
pub const MASS_READ_TARGETS: u64 = 100;
/// The window exports are counted in.
pub const MASS_EXPORT_WINDOW: Duration = Duration::from_secs(60 * 60);
/// Exports one actor may create in a window before it is an alert.
pub const MASS_EXPORTS: u64 = 3;
/// How long a network stays known without a sign-in from it.
pub const NETWORK_MEMORY: Duration = Duration::from_secs(180 * 24 * 3600);

/// Looks at one recorded entry and raises any alert it completes. Never fails: detection problems are logged.
pub async fn observe(app: &App, entry: &AuditEntry) {
    if entry.action == ALERT_ACTION {
        return;
    }
    if let Err(e) = check(app, entry).await {
        warn!(tenant_id = %entry.tenant_id, action = %entry.action, error = %e, "anomaly detection failed");
    }
}

async fn check(app: &App, entry: &AuditEntry) -> Result<(), TableError> {
    match (entry.action.as_str(), entry.outcome) {
        ("auth.login" | "auth.mfa", Outcome::Failure | Outcome::Denied) => failed_sign_in(app, entry).await,
        ("auth.login", Outcome::Success) => sign_in(app, entry).await,
        ("customer.read" | "conversation.read", Outcome::Success) => read(app, entry).await,
        ("export.create", Outcome::Success) => export(app, entry).await,
        _ => Ok(()),
    }
}

/// The window's number and when it ends (epoch seconds).
fn window_of(app: &App, window: Duration) -> (i64, i64) {
    let len = i64::try_from(window.as_secs().max(1)).unwrap_or(i64::MAX);
    let index = app.now().as_second().div_euclid(len);
    (index, (index + 1) * len)
}

/// Adds one to a rule's counter for `subject` in the current window and answers the new count.
async fn count(app: &App, t: &TenantId, rule: &str, subject: &str, window: Duration) -> Result<u64, TableError> {
    count_by(app, t, rule, subject, window, 1).await
}

/// Adds `by` to a rule's counter for `subject` in the current window and answers the new count. The add is
/// atomic, so exactly one caller sees the count cross a threshold.
async fn count_by(
    app: &App,
    t: &TenantId,
    rule: &str,
    subject: &str,
    window: Duration,
    by: u64,
) -> Result<u64, TableError> {
    let (index, ends) = window_of(app, window);
    let item = app
        .table
        .update(
            &keys::anomaly_window(t, rule, subject, index),
            Update::new().add("count", i64::try_from(by).unwrap_or(i64::MAX)).set("ttl", json!(ends + 60)),
            None,
        )
        .await?;
    Ok(item.get("count").and_then(Value::as_u64).unwrap_or(0))
}

async fn failed_sign_in(app: &App, entry: &AuditEntry) -> Result<(), TableError> {
    let t = &entry.tenant_id;
    let email = entry.detail.as_ref().and_then(|d| d.get("email")).and_then(Value::as_str);
    let account = email.or(entry.actor_id.as_deref());
    let window_secs = FAILED_SIGN_IN_WINDOW.as_secs();
    if let Some(account) = account {
        let n = count(app, t, "signin_fail_account", account, FAILED_SIGN_IN_WINDOW).await?;
        if n == FAILED_SIGN_INS_PER_ACCOUNT {
            let (kind, id) = match &entry.actor_id {
                Some(agent) => (AlertTarget::Agent, agent.as_str()),
                None => (AlertTarget::Email, account),
            };
            let detail = burst(AlertScope::Account, n, window_secs, email);
            raise(app, entry, AlertKind::FailedSignInBurst, (kind, id), detail).await?;
        }
    }
    if let Some(ip) = &entry.ip {
        let n = count(app, t, "signin_fail_ip", ip, FAILED_SIGN_IN_WINDOW).await?;
        if n == FAILED_SIGN_INS_PER_IP {
            let detail = burst(AlertScope::Ip, n, window_secs, None);
            raise(app, entry, AlertKind::FailedSignInBurst, (AlertTarget::Ip, ip), detail).await?;
        }
    }
    let n = count(app, t, "signin_fail_tenant", "all", FAILED_SIGN_IN_WINDOW).await?;
    if n == FAILED_SIGN_INS_PER_TENANT {
        let detail = burst(AlertScope::Tenant, n, window_secs, None);
        raise(app, entry, AlertKind::FailedSignInBurst, (AlertTarget::Tenant, t.as_str()), detail).await?;
    }
    Ok(())
}

/// The numbers of a failed sign-in burst.
fn burst(scope: AlertScope, count: u64, window_seconds: u64, email: Option<&str>) -> AlertNumbers {
    AlertNumbers {
        scope: Some(scope),
        email: email.map(str::to_owned),
        count: Some(count),
        window_seconds: Some(window_seconds),
        ..AlertNumbers::default()
    }
}

/// The network an address belongs to, for "seen before": its /24 (IPv4) or /48 (IPv6). IPv4-mapped IPv6
/// addresses count as IPv4.
pub fn network_of(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => network_of(IpAddr::V4(v4)),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}::/48", s[0], s[1], s[2])
            }
        },
    }
}

/// A network an account signed in from: `known_network(t, agent, network)` (no `type`; the tenant and account
/// are only in the key, so it is written with `record::item_of`). `last_seen` and `ttl` move on at each sign-in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownNetworkRecord {
    /// The network (`network_of`: a /24 or a /64).
    pub network: String,
    /// The first sign-in from it.
    pub first_seen: jiff::Timestamp,
    /// The last sign-in from it.
    pub last_seen: jiff::Timestamp,
    /// When it is forgotten (epoch seconds).
    pub ttl: i64,
}

/// A mark that something happened once (a target read in a window, an alert emailed to one admin): its key says
/// what, it holds only when it lapses, and it is put with `NotExists` so the first one wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct MarkRecord {
    /// When it lapses (epoch seconds).
    pub ttl: i64,
}

impl MarkRecord {
    /// The mark's item under `key`.
    pub fn item(self, key: Key) -> Item {
        record::item_of(key, &self)
    }
}

async fn sign_in(app: &App, entry: &AuditEntry) -> Result<(), TableError> {
    let (Some(agent), Some(ip)) = (&entry.actor_id, &entry.ip) else { return Ok(()) };
    let Ok(addr) = ip.parse::<IpAddr>() else { return Ok(()) };
    let t = &entry.tenant_id;
    let network = network_of(addr);
    let now = app.now();
    let ttl = now.as_second() + i64::try_from(NETWORK_MEMORY.as_secs()).unwrap_or(i64::MAX);
    let key = keys::known_network(t, agent, &network);
    let item = record::item_of(
        key.clone(),
        &KnownNetworkRecord { network: network.clone(), first_seen: now, last_seen: now, ttl },
    );
    match app.table.put(item, Some(Condition::NotExists)).await {
        Ok(()) => {
            // New for this account; an alert unless it is the account's first network ever (its baseline).
            let known = app.table.query(Query::partition(keys::known_networks_pk(t, agent)).limit(2)).await?;
            if known.items.len() > 1 {
                let detail = AlertNumbers { network: Some(network), ..AlertNumbers::default() };
                raise(app, entry, AlertKind::NewNetworkSignIn, (AlertTarget::Agent, agent), detail).await?;
            }
            Ok(())
        }
        Err(TableError::ConditionFailed) => {
            let update = Update::new().set("last_seen", json!(now)).set("ttl", json!(ttl));
            app.table.update(&key, update, None).await.map(|_| ())
        }
        Err(e) => Err(e),
    }
}

async fn read(app: &App, entry: &AuditEntry) -> Result<(), TableError> {
    let Some(actor) = &entry.actor_id else { return Ok(()) };
    let t = &entry.tenant_id;
    let (index, ends) = window_of(app, MASS_READ_WINDOW);
    let added = match &entry.target_id {
        // One customer or transcript: counted once per window.
        Some(target) => {
            let kind = entry.target_type.as_deref().unwrap_or("item");
            let seen = keys::anomaly_seen(t, "reads", actor, index, &format!("{kind}:{target}"));
            match app.table.put(MarkRecord { ttl: ends + 60 }.item(seen), Some(Condition::NotExists)).await {
                Ok(()) => 1,
                Err(TableError::ConditionFailed) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        // A page of a list (`detail.list` = how many it showed): paging through every customer is a mass read.
        None => match entry.detail.as_ref().and_then(|d| d.get("list")).and_then(Value::as_u64) {
            Some(n) if n > 0 => n,
            _ => return Ok(()),
        },
    };
    let n = count_by(app, t, "reads", actor, MASS_READ_WINDOW, added).await?;
    if n >= MASS_READ_TARGETS && n - added < MASS_READ_TARGETS {
        let detail = AlertNumbers {
            distinct_targets: Some(n),
            window_seconds: Some(MASS_READ_WINDOW.as_secs()),
            ..AlertNumbers::default()
        };
        raise(app, entry, AlertKind::MassRead, (AlertTarget::Agent, actor), detail).await?;
    }
    Ok(())
}

async fn export(app: &App, entry: &AuditEntry) -> Result<(), TableError> {
    let Some(actor) = &entry.actor_id else { return Ok(()) };
    let n = count(app, &entry.tenant_id, "exports", actor, MASS_EXPORT_WINDOW).await?;
    if n == MASS_EXPORTS {
        let detail = AlertNumbers {
            count: Some(n),
            window_seconds: Some(MASS_EXPORT_WINDOW.as_secs()),
            ..AlertNumbers::default()
        };
        raise(app, entry, AlertKind::MassExport, (AlertTarget::Agent, actor), detail).await?;
    }
    Ok(())
}

/// Appends the alert's audit entry and its `security.alert` event in one transaction.
async fn raise(
    app: &App,
    cause: &AuditEntry,
    kind: AlertKind,
    (target_type, target_id): (AlertTarget, &str),
    numbers: AlertNumbers,
) -> Result<(), TableError> {
    let detail =
        AlertDetail { numbers, kind, cause_action: cause.action.clone(), cause_actor_id: cause.actor_id.clone() };
    let payload = SecurityAlert {
        kind,
        target_type,
        target_id: target_id.to_owned(),
        actor_id: cause.actor_id.clone(),
        ip: cause.ip.clone(),
        detail,
    };
    let mut detail = serde_json::to_value(&payload.detail).expect("an alert's detail serialises");
    let event = Envelope::new(&cause.tenant_id, app.now(), payload);
    if let Value::Object(map) = &mut detail {
        map.insert("event_id".into(), json!(event.id));
    }
    let (kind, target_type) = (kind.as_str(), target_type.as_str());
    let mut alert = AuditEntry::new(&cause.tenant_id, ALERT_ACTION, Outcome::Success).target(target_type, target_id);
    if let Some(ip) = &cause.ip {
        alert = alert.ip(ip);
    }
    alert = alert.detail(detail);
    chain::append(app, &alert, vec![event], None).await?;
    warn!(tenant_id = %cause.tenant_id, kind, target_type, target_id, "security alert raised");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use kefu_ports::ManualClock;
    use kefu_ports::table::Query;

    use super::*;
    use crate::audit;

    fn app_at(start: &str) -> (App, tempfile::TempDir, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(start.parse().unwrap()));
        let (app, dir) = crate::testing::embedded_app(clock.clone());
        (app, dir, clock)
    }

    /// Every alert in a tenant's log, oldest first: (kind, target_type, target_id).
    async fn alerts(app: &App, t: &TenantId) -> Vec<(String, String, String)> {
        let page = app.table.query(Query::partition(keys::audit_pk(t)).prefix("E#")).await.unwrap();
        page.items
            .iter()
            .filter(|i| i["action"] == ALERT_ACTION)
            .map(|i| {
                let s = |k: &str| i[k].as_str().unwrap_or_default().to_owned();
                (i["detail"]["kind"].as_str().unwrap().to_owned(), s("target_type"), s("target_id"))
            })
            .collect()
    }

    /// Records a failed sign-in.
    async fn fail(app: &App, t: &TenantId, email: &str, ip: &str) {
        let e = AuditEntry::new(t, "auth.login", Outcome::Failure).ip(ip).detail(json!({"email": email}));
        audit::record(app, e).await.unwrap();
    }

    #[test]
    fn networks_and_marks_are_stored_as_before() {
        let t = TenantId::generate();
        let at: jiff::Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let key = keys::known_network(&t, "ag_1", "10.0.0.0/24");
        let r = KnownNetworkRecord { network: "10.0.0.0/24".into(), first_seen: at, last_seen: at, ttl: 5 };
        let expected = key.clone().with(json!({"network": "10.0.0.0/24", "first_seen": at, "last_seen": at, "ttl": 5}));
        assert_eq!(record::item_of(key, &r), expected);
        assert_eq!(record::parse::<KnownNetworkRecord>("known network", expected).unwrap(), r);
        let seen = keys::anomaly_seen(&t, "reads", "ag_1", 3, "customer:cu_1");
        assert_eq!(MarkRecord { ttl: 9 }.item(seen.clone()), seen.with(json!({"ttl": 9})));
    }

    #[tokio::test]
    async fn a_burst_of_failed_sign_ins_for_one_account_alerts_once_per_window() {
        let (app, _dir, clock) = app_at("2026-01-01T00:00:00Z");
        let t = TenantId::generate();
        for i in 0..FAILED_SIGN_INS_PER_ACCOUNT - 1 {
            fail(&app, &t, "li@example.com", &format!("198.51.100.{i}")).await;
        }
        assert!(alerts(&app, &t).await.is_empty(), "below the threshold");
        for i in 0..5 {
            fail(&app, &t, "li@example.com", &format!("203.0.113.{i}")).await;
        }
        assert_eq!(
            alerts(&app, &t).await,
            vec![("failed_sign_in_burst".into(), "email".into(), "li@example.com".into())]
        );
        // The next window starts again.
        clock.advance(jiff::SignedDuration::from_secs(600));
        for _ in 0..FAILED_SIGN_INS_PER_ACCOUNT {
            fail(&app, &t, "li@example.com", "192.0.2.77").await;
        }
        assert_eq!(alerts(&app, &t).await.len(), 2);
        // The alerts themselves are in the chain, which still verifies.
        assert!(audit::verify(&app, &t, |_| {}).await.unwrap().is_intact());
    }

    #[tokio::test]
    async fn failed_sign_ins_from_one_ip_and_across_the_tenant_alert() {
        let (app, _dir, _clock) = app_at("2026-01-01T00:00:00Z");
        let t = TenantId::generate();
        for i in 0..FAILED_SIGN_INS_PER_IP {
            fail(&app, &t, &format!("user{i}@example.com"), "198.51.100.9").await;
        }
        assert_eq!(alerts(&app, &t).await, vec![("failed_sign_in_burst".into(), "ip".into(), "198.51.100.9".into())]);
        for i in FAILED_SIGN_INS_PER_IP..FAILED_SIGN_INS_PER_TENANT {
            fail(&app, &t, &format!("user{i}@example.com"), &format!("10.0.{}.{}", i / 200, i % 200)).await;
        }
        let all = alerts(&app, &t).await;
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[1], ("failed_sign_in_burst".into(), "tenant".into(), t.to_string()));
        // Another tenant's counters are its own.
        let other = TenantId::generate();
        fail(&app, &other, "user0@example.com", "198.51.100.9").await;
        assert!(alerts(&app, &other).await.is_empty());
    }

    async fn signed_in(app: &App, t: &TenantId, agent: &str, ip: &str) {
        let e = AuditEntry::new(t, "auth.login", Outcome::Success).actor_id_for_test(agent).ip(ip);
        audit::record(app, e).await.unwrap();
    }

    #[tokio::test]
    async fn a_sign_in_from_a_new_network_alerts_but_not_the_first_or_a_known_one() {
        let (app, _dir, _clock) = app_at("2026-01-01T00:00:00Z");
        let t = TenantId::generate();
        signed_in(&app, &t, "ag_1", "203.0.113.10").await;
        signed_in(&app, &t, "ag_1", "203.0.113.99").await;
        assert!(alerts(&app, &t).await.is_empty(), "first network, then the same /24");
        signed_in(&app, &t, "ag_1", "198.51.100.7").await;
        signed_in(&app, &t, "ag_1", "198.51.100.8").await;
        assert_eq!(alerts(&app, &t).await, vec![("new_network_sign_in".into(), "agent".into(), "ag_1".into())]);
        signed_in(&app, &t, "ag_1", "2001:db8:1:2::1").await;
        signed_in(&app, &t, "ag_1", "2001:db8:1:ffff::2").await;
        assert_eq!(alerts(&app, &t).await.len(), 2, "one alert for the new /48");
        signed_in(&app, &t, "ag_2", "198.51.100.7").await;
        assert_eq!(alerts(&app, &t).await.len(), 2, "networks are per account");
    }

    #[test]
    fn networks() {
        assert_eq!(network_of("203.0.113.77".parse().unwrap()), "203.0.113.0/24");
        assert_eq!(network_of("2001:db8:abcd:12::1".parse().unwrap()), "2001:db8:abcd::/48");
        assert_eq!(network_of("::ffff:192.0.2.1".parse().unwrap()), "192.0.2.0/24");
    }

    #[tokio::test]
    async fn mass_reads_of_distinct_targets_alert() {
        let (app, _dir, _clock) = app_at("2026-01-01T00:00:00Z");
        let t = TenantId::generate();
        let read = |kind: &'static str, id: String| {
            AuditEntry::new(&t, format!("{kind}.read"), Outcome::Success).actor_id_for_test("ag_1").target(kind, id)
        };
        // Re-reading one transcript many times is not a mass read.
        for _ in 0..MASS_READ_TARGETS + 5 {
            audit::record(&app, read("conversation", "cv_1".into())).await.unwrap();
        }
        assert!(alerts(&app, &t).await.is_empty());
        for i in 0..MASS_READ_TARGETS + 20 {
            let kind = if i % 2 == 0 { "customer" } else { "conversation" };
            audit::record(&app, read(kind, format!("x_{i}"))).await.unwrap();
        }
        assert_eq!(alerts(&app, &t).await, vec![("mass_read".into(), "agent".into(), "ag_1".into())]);
        // Paging through a list counts every row it showed.
        for _ in 0..3 {
            let page = AuditEntry::new(&t, "customer.read", Outcome::Success)
                .actor_id_for_test("ag_2")
                .detail(json!({"list": 50}));
            audit::record(&app, page).await.unwrap();
        }
        assert_eq!(alerts(&app, &t).await.len(), 2);
        assert_eq!(alerts(&app, &t).await[1].2, "ag_2");
    }

    #[tokio::test]
    async fn mass_exports_alert_with_a_security_alert_event() {
        use crate::plumbing::events::ConsumerName;
        use crate::testing::EmbeddedApp;

        // An app whose topic feeds a notify queue, to see the event the alert sends.
        let clock = Arc::new(ManualClock::new("2026-01-01T00:00:00Z".parse().unwrap()));
        let mut embedded =
            EmbeddedApp::new(clock).with_config(crate::Config { local: true, ..crate::Config::default() });
        let queue = embedded.subscribe("notify", ConsumerName::Notify.filter_policy());
        let app = embedded.app.clone();
        let t = TenantId::generate();
        for _ in 0..MASS_EXPORTS + 2 {
            let e = AuditEntry::new(&t, "export.create", Outcome::Success).actor_id_for_test("ag_9").ip("192.0.2.1");
            audit::record(&app, e).await.unwrap();
        }
        assert_eq!(alerts(&app, &t).await, vec![("mass_export".into(), "agent".into(), "ag_9".into())]);
        let got = queue.receive(10, Duration::from_secs(30), Duration::ZERO).await.unwrap();
        assert_eq!(got.len(), 1, "one event for one alert");
        let event: Envelope = serde_json::from_str(&got[0].body).unwrap();
        assert_eq!((event.event_type(), &event.tenant_id), (EventType::SecurityAlert, &t));
        assert_eq!(event.data()["kind"], "mass_export");
        assert_eq!(event.data()["detail"]["count"], MASS_EXPORTS);
        // Failed or denied exports are not counted.
        let denied = AuditEntry::new(&t, "export.create", Outcome::Denied).actor_id_for_test("ag_8");
        for _ in 0..MASS_EXPORTS {
            audit::record(&app, denied.clone()).await.unwrap();
        }
        assert_eq!(alerts(&app, &t).await.len(), 1);
    }
}
