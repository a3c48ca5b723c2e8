//! Staff sign-in sessions: created at sign-in, listed and revoked by their public id (`se_…`, never the
//! token or its hash), and all ended at once on a password change, a disable or an admin's request.
//!
//! Revocation is exact, not eventual: every account carries a `session_epoch`, every session the epoch it was
//! issued under, and [`crate::identity::auth::authenticate`] refuses a session older than its account's epoch. So
//! [`revoke_all`] takes effect on the very next request even where the index that lists sessions lags; the
//! session items are then deleted too, so they stop being listed.

use std::time::Duration;

use jiff::Timestamp;
use kefu_domain::security::SessionId;
use kefu_domain::{AgentId, TenantId};
use kefu_ports::table::{Condition, Index, Item, Key, PK, Query, SkCondition, TableError, TxOp, Update};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::error::IdentityError;
use super::secrets::{new_secret, token_hash};
use crate::App;
use crate::identity::accounts::AccountRecord;
use crate::plumbing::keys;
use crate::plumbing::pages::{ListPage, PageRequest};
use crate::plumbing::record::{Record, RecordError, parse_ref};

/// The prefix of staff session tokens.
pub const TOKEN_PREFIX: &str = "kfs_";

/// The longest `User-Agent` kept with a session.
const USER_AGENT_MAX: usize = 200;

/// A session as its owner sees it (`GET /v1/me/sessions`).
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct SessionView {
    /// The session's public id.
    pub id: String,
    /// When it started.
    pub created_at: String,
    /// When it ends.
    pub expires_at: String,
    /// The IP it signed in from.
    pub ip: String,
    /// The browser or client it signed in with, as it said.
    pub user_agent: Option<String>,
    /// Whether sign-in passed a second factor.
    pub mfa: bool,
    /// Whether this is the session making the request.
    pub current: bool,
}

impl SessionView {
    fn of(r: &SessionRecord, current: Option<&SessionId>) -> Self {
        Self {
            current: current == Some(&r.session_id),
            id: r.session_id.to_string(),
            created_at: r.created_at.to_string(),
            expires_at: r.expires_at.to_string(),
            ip: r.ip.clone(),
            user_agent: r.user_agent.clone(),
            mfa: r.mfa,
        }
    }
}

/// A staff session as stored: `SESSION#{token hash}` / `SESSION`, listed by its account through gsi1
/// (`sessions_of` / its public id). The token itself is never stored; its hash is only in the key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    /// The hash of the bearer token: only in the key (`from_item` reads it back from `pk`).
    #[serde(skip)]
    pub token_hash: String,
    /// The public id.
    pub session_id: SessionId,
    /// The tenant.
    pub tenant_id: TenantId,
    /// The account.
    pub agent_id: AgentId,
    /// When it started.
    pub created_at: Timestamp,
    /// When it ends.
    pub expires_at: Timestamp,
    /// The IP it signed in from.
    pub ip: String,
    /// The client's `User-Agent` (cut to 200 characters), null when it sent none.
    #[serde(default)]
    pub user_agent: Option<String>,
    /// Whether sign-in passed a second factor.
    #[serde(default)]
    pub mfa: bool,
    /// The account's `session_epoch` when it was issued: older than the account's now means revoked.
    #[serde(default)]
    pub epoch: i64,
    /// When the store drops it (epoch seconds, = `expires_at`).
    pub ttl: i64,
}

impl Record for SessionRecord {
    const TYPE: &'static str = "session";

    fn key(&self) -> Key {
        keys::session(&self.token_hash)
    }

    fn index(&self) -> Vec<(&'static str, String)> {
        vec![("gsi1pk", keys::sessions_of(&self.tenant_id, &self.agent_id)), ("gsi1sk", self.session_id.to_string())]
    }

    fn from_item(item: Item) -> Result<Self, RecordError> {
        Self::from_ref(&item)
    }

    fn from_ref(item: &Item) -> Result<Self, RecordError> {
        let mut record: Self = parse_ref(Self::TYPE, item)?;
        let hash = item.get(PK).and_then(Value::as_str).and_then(|pk| pk.strip_prefix("SESSION#"));
        record.token_hash = hash.unwrap_or_default().to_owned();
        Ok(record)
    }
}

/// What a new session needs to know.
#[derive(Debug, Clone)]
pub struct NewSession<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The account.
    pub agent: &'a AgentId,
    /// The account's `session_epoch` when it signed in.
    pub epoch: i64,
    /// The client's IP.
    pub ip: &'a str,
    /// The client's `User-Agent`, if any.
    pub user_agent: Option<&'a str>,
    /// How long it lasts (the policy's `session_ttl_minutes`).
    pub ttl: Duration,
    /// Whether sign-in passed a second factor.
    pub mfa: bool,
    /// The entry that records the sign-in, committed with the session (its target is set to the new session).
    pub audit: crate::audit::AuditEntry,
}

/// A new session: the bearer token (shown once) and its public id and end.
#[derive(Debug, Clone)]
pub struct Created {
    /// The bearer token.
    pub token: String,
    /// The public id.
    pub session_id: SessionId,
    /// When it ends.
    pub expires_at: jiff::Timestamp,
}

/// The epoch an account carries (0 when never revoked).
pub fn epoch_of(agent: &AccountRecord) -> i64 {
    i64::try_from(agent.session_epoch).unwrap_or(i64::MAX)
}

/// Stores a new session and stamps the account's `last_login_at`, in one transaction.
pub async fn create(app: &App, new: NewSession<'_>) -> Result<Created, TableError> {
    let now = app.now();
    let expires = now + jiff::SignedDuration::try_from(new.ttl).unwrap_or(jiff::SignedDuration::from_hours(12));
    let token = new_secret(TOKEN_PREFIX);
    let session_id = SessionId::generate();
    let user_agent: Option<String> = new.user_agent.map(|u| u.chars().take(USER_AGENT_MAX).collect());
    let item = SessionRecord {
        token_hash: token_hash(&token),
        session_id: session_id.clone(),
        tenant_id: new.tenant.clone(),
        agent_id: new.agent.clone(),
        created_at: now,
        expires_at: expires,
        ip: new.ip.to_owned(),
        user_agent,
        mfa: new.mfa,
        epoch: new.epoch,
        ttl: expires.as_second(),
    }
    .to_item();
    let stamp = TxOp::Update {
        key: keys::agent(new.tenant, new.agent),
        update: Update::new().set("last_login_at", json!(now)),
        condition: Some(Condition::Exists),
    };
    let entry = new.audit.target("session", &session_id);
    let ops = vec![TxOp::Put { item, condition: Some(Condition::NotExists) }, stamp];
    crate::audit::commit(app, ops, Vec::new(), vec![entry]).await?;
    Ok(Created { token, session_id, expires_at: expires })
}

/// A page of an account's live sessions, oldest first, marking `current`.
pub async fn list(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    current: Option<&SessionId>,
    params: &PageRequest,
) -> Result<ListPage<SessionView>, IdentityError> {
    let now = app.now().as_second();
    let q = params.apply(Query::index(Index::Gsi1, keys::sessions_of(tenant, agent)))?;
    let page = app.table.query(q).await?;
    let mut items = Vec::new();
    for item in &page.items {
        let r = SessionRecord::from_ref(item).map_err(TableError::from)?;
        if r.ttl > now {
            items.push(SessionView::of(&r, current));
        }
    }
    Ok(ListPage::new(items, page.cursor))
}

/// The stored keys of an account's sessions, found through the index.
async fn session_keys(app: &App, tenant: &TenantId, agent: &AgentId) -> Result<Vec<(Key, String)>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let page = app
            .table
            .query(Query::index(Index::Gsi1, keys::sessions_of(tenant, agent)).limit(200).after(cursor))
            .await?;
        for item in &page.items {
            let id = item.get("session_id").and_then(Value::as_str).unwrap_or_default().to_owned();
            out.push((Key::of(item)?, id));
        }
        cursor = page.cursor;
        if cursor.is_none() {
            return Ok(out);
        }
    }
}

/// Ends one session of an account by its public id; `false` when the account has no such session (another
/// account's session ids are simply not found).
///
/// `audit` (the caller's `auth.session_revoke` entry) is committed with the deletion.
pub async fn revoke(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    session: &SessionId,
    audit: crate::audit::AuditEntry,
) -> Result<bool, TableError> {
    let page = app
        .table
        .query(
            Query::index(Index::Gsi1, keys::sessions_of(tenant, agent))
                .sk(SkCondition::Eq(session.as_str().to_owned()))
                .limit(5),
        )
        .await?;
    let mut found = false;
    for item in &page.items {
        if item.get("session_id").and_then(Value::as_str) == Some(session.as_str()) {
            let ops = vec![TxOp::Delete { key: Key::of(item)?, condition: None }, super::version::bump(tenant)];
            crate::audit::commit(app, ops, Vec::new(), vec![audit.clone().target("session", session)]).await?;
            found = true;
        }
    }
    Ok(found)
}

/// Ends every session of an account at once, except `except` (the caller's own, on a password change).
/// Answers how many session items were deleted. Used by password changes, `POST /v1/agents/{id}/disable`
/// and `DELETE /v1/agents/{id}/sessions`. `audit`, when given, is committed with the revocation (with
/// `sessions_revoked`, how many live sessions it ended).
pub async fn revoke_all(
    app: &App,
    tenant: &TenantId,
    agent: &AgentId,
    except: Option<&SessionId>,
    audit: Option<crate::audit::AuditEntry>,
) -> Result<usize, TableError> {
    let agent_key = keys::agent(tenant, agent);
    // Bump the account's epoch (and lift the kept session to it) in one transaction, conditioned on the
    // epoch read, so a concurrent revocation cannot be lost.
    for attempt in 1.. {
        let Some(account) = app.table.get(&agent_key).await? else { return Ok(0) };
        let account = AccountRecord::from_item(account)?;
        let live = session_keys(app, tenant, agent).await?;
        let kept = except.and_then(|id| live.iter().find(|(_, sid)| sid == id.as_str()).cloned());
        let epoch = epoch_of(&account);
        let expected = if epoch == 0 {
            Condition::Or(vec![Condition::AttrNotExists("session_epoch".into()), Condition::eq("session_epoch", 0)])
        } else {
            Condition::eq("session_epoch", epoch)
        };
        let mut ops = vec![
            TxOp::Update {
                key: agent_key.clone(),
                update: Update::new().set("session_epoch", json!(epoch + 1)),
                condition: Some(Condition::And(vec![Condition::Exists, expected])),
            },
            super::version::bump(tenant),
        ];
        if let Some((key, _)) = &kept {
            ops.push(TxOp::Update {
                key: key.clone(),
                update: Update::new().set("epoch", json!(epoch + 1)),
                condition: Some(Condition::Exists),
            });
        }
        let ending = live.len() - usize::from(kept.is_some());
        let entries: Vec<_> = audit.iter().map(|e| e.clone().with("sessions_revoked", json!(ending))).collect();
        match crate::audit::commit(app, ops, Vec::new(), entries).await {
            Ok(()) => break,
            Err(TableError::TransactionCanceled { .. } | TableError::ConditionFailed | TableError::Conflict)
                if attempt < 10 => {}
            Err(e) => return Err(e),
        }
    }
    let mut deleted = 0;
    for (key, id) in session_keys(app, tenant, agent).await? {
        if except.is_some_and(|e| e.as_str() == id) {
            continue;
        }
        app.table.delete(&key, None).await?;
        deleted += 1;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};
    use std::sync::Arc;

    use kefu_ports::SystemClock;

    use super::*;
    use crate::identity::auth::{AuthError, authenticate};

    #[test]
    fn a_session_is_stored_as_before_and_reads_back() {
        let (t, a, se) = (TenantId::generate(), AgentId::generate(), SessionId::generate());
        let at: Timestamp = "2026-03-01T10:00:00Z".parse().unwrap();
        let ends: Timestamp = "2026-03-01T22:00:00Z".parse().unwrap();
        let r = SessionRecord {
            token_hash: "abc123".into(),
            session_id: se.clone(),
            tenant_id: t.clone(),
            agent_id: a.clone(),
            created_at: at,
            expires_at: ends,
            ip: "10.0.0.1".into(),
            user_agent: None,
            mfa: true,
            epoch: 2,
            ttl: ends.as_second(),
        };
        let expected = keys::session("abc123").with(json!({
            "type": "session", "session_id": se, "tenant_id": t, "agent_id": a,
            "created_at": at, "expires_at": ends, "ip": "10.0.0.1", "user_agent": null, "mfa": true,
            "epoch": 2, "ttl": ends.as_second(),
            "gsi1pk": keys::sessions_of(&t, &a), "gsi1sk": se,
        }));
        assert_eq!(r.to_item(), expected);
        assert_eq!(SessionRecord::from_item(expected).unwrap(), r);
    }

    #[tokio::test]
    async fn revoke_all_ends_every_session_but_the_one_kept_at_once() {
        let (app, _dir) = crate::testing::embedded_app(Arc::new(SystemClock));
        let (tenant, agent) = crate::identity::tenants::acme(&app).await;
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let entry = || crate::audit::AuditEntry::new(&tenant, "test", crate::audit::Outcome::Success);
        let open = || async {
            let new = NewSession {
                tenant: &tenant,
                agent: &agent,
                epoch: 0,
                ip: "127.0.0.1",
                user_agent: Some("test"),
                ttl: Duration::from_secs(600),
                mfa: false,
                audit: entry(),
            };
            create(&app, new).await.unwrap()
        };
        let (a, b, c) = (open().await, open().await, open().await);
        let listed = list(&app, &tenant, &agent, Some(&b.session_id), &PageRequest::default()).await.unwrap();
        assert_eq!(listed.items.len(), 3);
        assert_eq!(listed.items.iter().filter(|s| s.current).count(), 1);

        assert!(revoke(&app, &tenant, &agent, &a.session_id, entry()).await.unwrap());
        assert!(!revoke(&app, &tenant, &agent, &a.session_id, entry()).await.unwrap(), "gone");
        assert!(!revoke(&app, &tenant, &AgentId::generate(), &b.session_id, entry()).await.unwrap(), "not another's");
        assert!(matches!(authenticate(&app, &a.token, ip).await, Err(AuthError::Unauthenticated)));

        assert_eq!(revoke_all(&app, &tenant, &agent, Some(&b.session_id), None).await.unwrap(), 1);
        assert!(authenticate(&app, &b.token, ip).await.is_ok(), "the kept session lives on");
        assert!(matches!(authenticate(&app, &c.token, ip).await, Err(AuthError::Unauthenticated)));

        // A session issued under the old epoch is refused even if its item survived (a lagging index).
        let stale = open().await;
        assert!(matches!(authenticate(&app, &stale.token, ip).await, Err(AuthError::Unauthenticated)));
        assert_eq!(revoke_all(&app, &tenant, &agent, None, None).await.unwrap(), 2);
        assert!(matches!(authenticate(&app, &b.token, ip).await, Err(AuthError::Unauthenticated)));
        assert_eq!(revoke_all(&app, &tenant, &AgentId::generate(), None, None).await.unwrap(), 0, "no such account");
    }
}
