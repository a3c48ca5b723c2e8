//! The tenant's identity version: one item (`keys::identity_version`) that every write which could change what
//! a session check answers moves by one, in the write's own transaction or right after it: a session ended, an
//! account's role, state, session epoch, password or second factor changed, a role's permissions changed or
//! removed, the security policy saved. A session check ([`super::auth::authenticate_session`]) reads this item
//! first and reuses what it read for that version (`plumbing::memo`), so a console request or a frame pushed to
//! an agent costs one item read instead of four, and a change made in any process applies to the very next
//! check. Nothing is kept for a version other than the one just read.

use kefu_domain::TenantId;
use kefu_ports::table::{TableError, TxOp, Update};
use serde_json::Value;

use crate::App;
use crate::plumbing::keys;

/// The `type` of the version item.
pub const TYPE: &str = "identity_version";

/// The write that moves the tenant's identity version (add it to the transaction of the change).
pub fn bump(t: &TenantId) -> TxOp {
    TxOp::Update { key: keys::identity_version(t), update: moved(), condition: None }
}

/// Moves the version on its own: after a change that was not one transaction (it must follow the change, never
/// precede it, or a check could keep the old state under the new version).
pub async fn bump_now(app: &App, t: &TenantId) -> Result<(), TableError> {
    app.table.update(&keys::identity_version(t), moved(), None).await.map(|_| ())
}

/// The version item's change: one more.
fn moved() -> Update {
    Update::new().add("version", 1).set("type", TYPE)
}

/// The tenant's identity version now (0 before its first change).
pub async fn read(app: &App, t: &TenantId) -> Result<u64, TableError> {
    Ok(app
        .table
        .get(&keys::identity_version(t))
        .await?
        .and_then(|i| i.get("version").and_then(Value::as_u64))
        .unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;
    use std::time::Duration;

    use kefu_domain::security::{Restriction, SecurityPolicy};
    use kefu_domain::{AgentId, Name, Permission, PermissionSet, RoleId};
    use kefu_ports::SystemClock;

    use super::*;
    use crate::assignment::agents::{AgentPatch, NewAgent, create_agent, disable_agent, update_agent};
    use crate::audit::{AuditEntry, Outcome};
    use crate::identity::auth::{AuthError, authenticate, logout};
    use crate::identity::sessions::{NewSession, create};
    use crate::identity::{roles, security};

    /// Each change a session check depends on, made after the check was kept, applies to the very next check;
    /// while nothing changed, a check reads one item.
    #[tokio::test]
    async fn a_kept_session_check_reads_one_item_and_sees_every_change_at_once() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let (t, _) = crate::identity::tenants::acme(&app).await;
        let entry = || AuditEntry::new(&t, "test", Outcome::Success);
        let reader = PermissionSet::parse(["conversations.view_all"]).unwrap();
        let role = roles::create(&app, &t, &Name::parse("Leads", "name").unwrap(), &reader, entry()).await.unwrap();
        let role_id = RoleId::parse_any(&role.id).unwrap();
        let agent = create_agent(
            &app,
            &t,
            NewAgent {
                email: "wang@acme.test".into(),
                name: "Wang".into(),
                password: "another long password".into(),
                role_id: role.id.clone(),
                group_ids: vec![],
                skills: vec![],
                max_concurrent: None,
                schedule_id: None,
            },
            None,
        )
        .await
        .unwrap();
        let a = AgentId::parse(&agent.id).unwrap();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let open = || async {
            let new = NewSession {
                tenant: &t,
                agent: &a,
                epoch: 0,
                ip: "127.0.0.1",
                user_agent: None,
                ttl: Duration::from_secs(600),
                mfa: false,
                audit: entry(),
            };
            create(&app, new).await.unwrap()
        };
        let (s, other) = (open().await, open().await);
        let check = |token: String| {
            let app = &app;
            async move { authenticate(app, &token, ip).await }
        };

        // Kept: the second check reads the version item only.
        let p = check(s.token.clone()).await.unwrap();
        assert!(p.permissions.has(Permission::ConversationsViewAll));
        let before = app.table.stats().items_read;
        check(s.token.clone()).await.unwrap();
        assert_eq!(app.table.stats().items_read - before, 1, "one item read while nothing changed");

        // The role's permissions change.
        let none = PermissionSet::default();
        roles::update(&app, &t, &role_id, &Name::parse("Leads", "name").unwrap(), &none, entry()).await.unwrap();
        assert!(!check(s.token.clone()).await.unwrap().permissions.has(Permission::ConversationsViewAll));

        // The account is given another role.
        let patch = AgentPatch { role_id: Some("agent".into()), ..AgentPatch::default() };
        update_agent(&app, &t, &a, patch, entry()).await.unwrap();
        assert_eq!(check(s.token.clone()).await.unwrap().role_id.as_str(), "agent");

        // The security policy: MFA required, then an allowlist without the caller.
        let mut policy = SecurityPolicy { mfa_required: true, ..SecurityPolicy::default() };
        security::save_policy(&app, &t, &policy, entry()).await.unwrap();
        assert_eq!(check(s.token.clone()).await.unwrap().restriction, Some(Restriction::MfaEnrollment));
        policy.ip_allowlist = vec!["10.0.0.0/8".into()];
        security::save_policy(&app, &t, &policy, entry()).await.unwrap();
        assert!(matches!(check(s.token.clone()).await, Err(AuthError::IpNotAllowed)));
        security::save_policy(&app, &t, &SecurityPolicy::default(), entry()).await.unwrap();
        let p = check(s.token.clone()).await.unwrap();
        assert_eq!(p.restriction, None);

        // Signing out ends that session only.
        check(other.token.clone()).await.unwrap();
        logout(&app, &p).await.unwrap();
        assert!(matches!(check(s.token.clone()).await, Err(AuthError::Unauthenticated)));
        check(other.token.clone()).await.unwrap();

        // Disabling the account ends the rest.
        disable_agent(&app, &t, &a, entry()).await.unwrap();
        assert!(matches!(check(other.token.clone()).await, Err(AuthError::Unauthenticated)));
    }

    #[tokio::test]
    async fn the_version_starts_at_zero_and_moves_by_one() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let t = TenantId::generate();
        assert_eq!(read(&app, &t).await.unwrap(), 0);
        app.table.transact(vec![bump(&t)]).await.unwrap();
        bump_now(&app, &t).await.unwrap();
        assert_eq!(read(&app, &t).await.unwrap(), 2);
        assert_eq!(read(&app, &TenantId::generate()).await.unwrap(), 0, "per tenant");
    }
}
