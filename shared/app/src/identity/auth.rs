//! Staff sign-in and authentication: the password check with its lockout and anomaly records, the second
//! factor's step, opaque bearer tokens bound to stored sessions (so logout and revocation take effect at once),
//! sign-out and password changes.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use kefu_domain::security::{Restriction, SecurityPolicy};
use kefu_domain::{AgentId, PermissionSet, TenantId, ValidationError};
use kefu_ports::table::{Condition, TableError, TxOp, Update};
use serde::Serialize;
use serde_json::json;

use super::accounts::{AccountRecord, AgentView, Caller, Principal, RoleRecord, tell_owner};
use super::secrets::{hash_password, spend_verification_effort, token_hash, verify_password};
use super::{mfa, security, sessions, version};
use crate::App;
use crate::audit::{Actor, AuditEntry, Outcome, note};
use crate::identity::sessions::SessionRecord;
use crate::plumbing::keys;
use crate::plumbing::record::{self, Record};

/// Why authentication failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown account or wrong password: deliberately indistinguishable.
    #[error("invalid credentials")]
    InvalidCredentials,
    /// No valid session behind the token.
    #[error("unauthenticated")]
    Unauthenticated,
    /// The caller's IP is not on the tenant's allowlist.
    #[error("ip not allowed")]
    IpNotAllowed,
    /// Too many failures in a row: locked for `retry_after` more seconds.
    #[error("account locked")]
    Locked {
        /// Seconds until the lock ends.
        retry_after: u64,
    },
    /// The second-factor code or challenge is wrong, expired, used up or replayed.
    #[error("mfa invalid")]
    MfaInvalid,
    /// A challenge already sent its emails.
    #[error("too many emails")]
    TooManyEmails,
    /// The mailer failed.
    #[error("mailer unavailable")]
    MailUnavailable,
    /// The store failed.
    #[error(transparent)]
    Table(#[from] TableError),
}

impl From<mfa::MfaError> for AuthError {
    fn from(e: mfa::MfaError) -> Self {
        match e {
            mfa::MfaError::Invalid | mfa::MfaError::Spent => AuthError::MfaInvalid,
            mfa::MfaError::TooManyEmails => AuthError::TooManyEmails,
            mfa::MfaError::Table(t) => AuthError::Table(t),
            mfa::MfaError::Mail(m) => {
                tracing::warn!(error = %m, "mailer failed");
                AuthError::MailUnavailable
            }
        }
    }
}

/// The default session lifetime when the tenant's policy does not set one.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// A successful sign-in.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct LoginOk {
    /// The bearer token; shown once.
    pub token: String,
    /// When the session ends.
    pub expires_at: String,
    /// The session's public id (for `GET /v1/me/sessions`).
    pub session_id: String,
    /// The account.
    pub agent: AgentView,
    /// The password is past the policy's maximum age: the session may only `POST /v1/me/password` (and read
    /// `/v1/me`, sign out) until it is changed; anything else answers 403 `password_expired`.
    pub password_change_required: bool,
    /// The policy requires MFA and the account has none: the session may only enrol
    /// (`POST /v1/me/mfa/totp`, `.../confirm`) until it has; anything else answers 403 `mfa_enrollment_required`.
    pub mfa_enrollment_required: bool,
}

/// The first step of sign-in for an account with MFA: finish it with `POST /v1/auth/mfa`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// Pass back to `POST /v1/auth/mfa` (and `POST /v1/auth/mfa/email`); lives 5 minutes.
    pub challenge: String,
}

/// What `POST /v1/auth/login` answers with 200.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "http", derive(utoipa::ToSchema))]
#[serde(untagged)]
pub enum LoginAnswer {
    /// Signed in.
    Session(Box<LoginOk>),
    /// A second factor is needed.
    Mfa(MfaRequired),
}

/// One sign-in attempt.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt<'a> {
    /// The tenant.
    pub tenant: &'a TenantId,
    /// The email, parsed.
    pub email: &'a str,
    /// The password as typed.
    pub password: &'a str,
    /// The client's IP.
    pub ip: IpAddr,
    /// The client's `User-Agent`.
    pub user_agent: Option<&'a str>,
}

/// The email's account, through its email claim.
async fn account_by_email(app: &App, tenant: &TenantId, email: &str) -> Result<Option<AccountRecord>, TableError> {
    let Some(claim) = app.table.get(&keys::agent_email(tenant, email)).await? else { return Ok(None) };
    let claim: EmailClaim = record::parse("email claim", claim)?;
    account(app, tenant, &claim.agent_id).await
}

/// An account by id.
async fn account(app: &App, tenant: &TenantId, agent: &AgentId) -> Result<Option<AccountRecord>, TableError> {
    match app.table.get(&keys::agent(tenant, agent)).await? {
        Some(item) => Ok(Some(AccountRecord::from_item(item)?)),
        None => Ok(None),
    }
}

/// What an email claim leads to.
#[derive(serde::Deserialize)]
struct EmailClaim {
    agent_id: AgentId,
}

fn password_changed_at(agent: &AccountRecord) -> jiff::Timestamp {
    agent.password_changed_at.unwrap_or(agent.created_at)
}

/// What an account's sessions are held to: the policy's (expired password, MFA enrolment), or a password
/// change when the account's password was set to be used once (`password_must_change`, set by the operator's
/// `kefu admin restore`).
fn restriction_of(policy: &SecurityPolicy, agent: &AccountRecord, now: jiff::Timestamp) -> Option<Restriction> {
    restriction(policy, agent.password_must_change == Some(true), agent.mfa_enabled, password_changed_at(agent), now)
}

/// [`restriction_of`] from the account's facts.
fn restriction(
    policy: &SecurityPolicy,
    password_must_change: bool,
    mfa_enabled: bool,
    password_changed_at: jiff::Timestamp,
    now: jiff::Timestamp,
) -> Option<Restriction> {
    if password_must_change {
        return Some(Restriction::PasswordChange);
    }
    policy.restriction(mfa_enabled, password_changed_at, now)
}

/// Opens a session for an account that passed every step, and answers as login does.
pub(crate) async fn open_session(
    app: &App,
    tenant: &TenantId,
    agent: &AccountRecord,
    policy: &SecurityPolicy,
    ip: IpAddr,
    user_agent: Option<&str>,
    mfa: bool,
) -> Result<LoginOk, AuthError> {
    let agent_id = agent.agent_id.clone();
    let ttl = Duration::from_secs(u64::from(policy.session_ttl_minutes) * 60);
    let created = sessions::create(
        app,
        sessions::NewSession {
            tenant,
            agent: &agent_id,
            epoch: sessions::epoch_of(agent),
            ip: &ip.to_string(),
            user_agent,
            ttl,
            mfa,
            audit: AuditEntry::new(tenant, "auth.login", Outcome::Success)
                .by(&Actor::Account(agent_id.clone()))
                .ip(ip)
                .detail(json!({"mfa": mfa})),
        },
    )
    .await?;
    let restriction = restriction_of(policy, agent, app.now());
    let mut view = AgentView::of(agent);
    view.last_login_at = Some(app.now().to_string());
    Ok(LoginOk {
        token: created.token,
        expires_at: created.expires_at.to_string(),
        session_id: created.session_id.to_string(),
        agent: view,
        password_change_required: restriction == Some(Restriction::PasswordChange),
        mfa_enrollment_required: restriction == Some(Restriction::MfaEnrollment),
    })
}

/// Who failed a sign-in step, and where.
struct Attempted<'a> {
    tenant: &'a TenantId,
    email: &'a str,
    account: Option<&'a AccountRecord>,
    policy: &'a SecurityPolicy,
    ip: IpAddr,
    /// The attempt's place in the run of failures, counted when it was claimed ([`security::claim_attempt`]).
    failures: i64,
}

/// Claims an attempt of `email` before anything is checked; answers its count, or `Locked` (audited as
/// `action` with reason `locked`) when it may not be checked.
async fn claim(
    app: &App,
    tenant: &TenantId,
    email: &str,
    account: Option<&AccountRecord>,
    policy: &SecurityPolicy,
    (action, ip): (&str, IpAddr),
) -> Result<i64, AuthError> {
    match security::claim_attempt(app, tenant, email, policy).await? {
        security::Claim::Granted(n) => Ok(n),
        security::Claim::Locked(retry_after) => {
            let mut entry = AuditEntry::new(tenant, action, Outcome::Failure)
                .ip(ip)
                .detail(json!({"email": email, "reason": "locked"}));
            if let Some(id) = account.map(|a| &a.agent_id) {
                entry = entry.by(&Actor::Account(id.clone())).target("agent", id);
            }
            note(app, entry).await;
            Err(AuthError::Locked { retry_after })
        }
    }
}

/// Records a failed step of `email` (already counted by its claim) and answers how it failed: `error`, or 423
/// when this failure locked it.
async fn failed(app: &App, at: &Attempted<'_>, action: &str, reason: &str, error: AuthError) -> AuthError {
    let state = match security::settle_failure(app, at.tenant, at.email, at.policy, at.failures).await {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let mut entry = AuditEntry::new(at.tenant, action, Outcome::Failure).ip(at.ip).detail(json!({
        "email": at.email, "reason": reason, "consecutive_failures": state.failures,
        "locked": state.locked_until.is_some(),
    }));
    if let Some(id) = at.account.map(|a| &a.agent_id) {
        entry = entry.by(&Actor::Account(id.clone())).target("agent", id);
    }
    note(app, entry).await;
    match state.retry_after(app.now().as_second()) {
        Some(retry_after) => AuthError::Locked { retry_after },
        None => error,
    }
}

/// Signs a staff member in. Unknown email, wrong password and disabled account answer alike (401
/// `invalid_credentials`) in about the same time; the lockout is kept per email, so an unknown email locks
/// like a real one and 423 says nothing about which exist. Order: IP allowlist, lock, password, second factor.
/// The attempt is counted before the password is checked, so a burst checks at most the lockout threshold.
pub async fn login(app: &App, attempt: LoginAttempt<'_>) -> Result<LoginAnswer, AuthError> {
    let LoginAttempt { tenant, email, password, ip, user_agent } = attempt;
    let tenant_key = keys::tenant(tenant);
    let (tenant_item, policy) = futures::try_join!(app.table.get(&tenant_key), security::policy(app, tenant))?;
    if tenant_item.is_none() {
        spend_verification_effort(password).await;
        return Err(AuthError::InvalidCredentials);
    }
    if !security::ip_allowed(&policy, ip) {
        note(
            app,
            AuditEntry::new(tenant, "auth.login", Outcome::Denied)
                .ip(ip)
                .detail(json!({"email": email, "reason": "ip_not_allowed"})),
        )
        .await;
        return Err(AuthError::IpNotAllowed);
    }
    let account = account_by_email(app, tenant, email).await?;
    let failures = match claim(app, tenant, email, account.as_ref(), &policy, ("auth.login", ip)).await {
        Ok(n) => n,
        Err(e) => {
            spend_verification_effort(password).await;
            return Err(e);
        }
    };
    let Some(agent) = account else {
        spend_verification_effort(password).await;
        return Err(failed(
            app,
            &Attempted { tenant, email, account: None, policy: &policy, ip, failures },
            "auth.login",
            "unknown_account",
            AuthError::InvalidCredentials,
        )
        .await);
    };
    let ok = verify_password(&agent.password_hash, password).await;
    if !ok || agent.disabled {
        let reason = if ok { "disabled" } else { "wrong_password" };
        return Err(failed(
            app,
            &Attempted { tenant, email, account: Some(&agent), policy: &policy, ip, failures },
            "auth.login",
            reason,
            AuthError::InvalidCredentials,
        )
        .await);
    }
    security::clear_failures(app, tenant, email).await?;
    if agent.mfa_enabled {
        let challenge = mfa::create_challenge(app, tenant, &agent.agent_id, email, &ip.to_string()).await?;
        return Ok(LoginAnswer::Mfa(MfaRequired { mfa_required: true, challenge }));
    }
    Ok(LoginAnswer::Session(Box::new(open_session(app, tenant, &agent, &policy, ip, user_agent, false).await?)))
}

/// Finishes a sign-in with its second factor: a TOTP code (each step once) or the emailed code. Every code
/// counts toward both the challenge's attempts and the account's lockout before it is checked, so a burst
/// checks at most the smaller limit.
pub async fn login_mfa(
    app: &App,
    challenge: &str,
    code: &str,
    ip: IpAddr,
    user_agent: Option<&str>,
) -> Result<LoginOk, AuthError> {
    let c = mfa::challenge(app, challenge).await.map_err(AuthError::from)?;
    let policy = security::policy(app, &c.tenant_id).await?;
    if !security::ip_allowed(&policy, ip) {
        return Err(AuthError::IpNotAllowed);
    }
    let agent = account(app, &c.tenant_id, &c.agent_id).await?.filter(|a| !a.disabled);
    let Some(agent) = agent else { return Err(AuthError::MfaInvalid) };
    let failures = claim(app, &c.tenant_id, &c.email, Some(&agent), &policy, ("auth.mfa", ip)).await?;
    let attempted =
        Attempted { tenant: &c.tenant_id, email: &c.email, account: Some(&agent), policy: &policy, ip, failures };
    match mfa::answer(app, &c, &agent, code).await {
        Ok(()) => {}
        Err(mfa::MfaError::Invalid) => {
            return Err(failed(app, &attempted, "auth.mfa", "wrong_code", AuthError::MfaInvalid).await);
        }
        Err(mfa::MfaError::Spent) => {
            return Err(failed(app, &attempted, "auth.mfa", "challenge_spent", AuthError::MfaInvalid).await);
        }
        Err(e) => {
            // Not the caller's mistake: the attempt does not count.
            security::clear_failures(app, &c.tenant_id, &c.email).await.ok();
            return Err(e.into());
        }
    }
    security::clear_failures(app, &c.tenant_id, &c.email).await?;
    note(
        app,
        AuditEntry::new(&c.tenant_id, "auth.mfa", Outcome::Success).by(&Actor::Account(c.agent_id.clone())).ip(ip),
    )
    .await;
    open_session(app, &c.tenant_id, &agent, &policy, ip, user_agent, true).await
}

/// Resolves a bearer token to its principal: the session must exist, be unexpired and not revoked (its epoch
/// at least its account's), the account enabled, and the IP on the tenant's allowlist; the role's
/// permissions and the policy are read now, so any change applies to the next request.
pub async fn authenticate(app: &App, token: &str, ip: IpAddr) -> Result<Principal, AuthError> {
    if token.len() > 200 || !token.starts_with(sessions::TOKEN_PREFIX) {
        return Err(AuthError::Unauthenticated);
    }
    authenticate_session(app, token_hash(token), ip).await
}

/// [`authenticate`] for a session known by its key (the token's hash), as a WebSocket remembers it: the same
/// checks, so a socket re-checked with it stops when the session would stop working.
pub async fn authenticate_session(app: &App, hash: String, ip: IpAddr) -> Result<Principal, AuthError> {
    authenticate_session_of(app, hash, ip, None).await
}

/// [`authenticate_session`] when the caller knows the session's tenant (a socket's record names it), which saves
/// reading the session to learn it the first time a process checks it. A session of another tenant is
/// answered as it is: the caller compares.
///
/// What the checks read (the session, its account, the tenant's policy and the role's permissions) is kept per
/// identity version ([`super::version`]): a check reads the version first (one item) and reads the four items
/// again only when it moved. The checks themselves (expiry, account enabled, session epoch, IP allowlist,
/// restriction) run on every call, at the time and from the IP of the call.
pub async fn authenticate_session_of(
    app: &App,
    hash: String,
    ip: IpAddr,
    tenant: Option<&TenantId>,
) -> Result<Principal, AuthError> {
    let memo_key = format!("session#{hash}");
    let tenant = match tenant {
        Some(t) => t.clone(),
        // A session never changes tenant: one kept for an older version still names it.
        None => match app.memo.latest::<SessionFacts>(&memo_key) {
            Some((_, f)) => f.tenant_id.clone(),
            None => {
                let session = app.table.get(&keys::session(&hash)).await?.ok_or(AuthError::Unauthenticated)?;
                SessionRecord::from_ref(&session).map_err(TableError::from)?.tenant_id
            }
        },
    };
    // The version is read before the items, so what is kept under it is at least as new as it.
    let version = version::read(app, &tenant).await?;
    let facts = match app.memo.get::<SessionFacts>(&memo_key, version) {
        Some(f) if f.tenant_id == tenant => f,
        _ => {
            let f = Arc::new(session_facts(app, &hash).await?.ok_or(AuthError::Unauthenticated)?);
            if f.tenant_id == tenant {
                app.memo.put(memo_key, version, f.clone());
            }
            f
        }
    };
    facts.principal(hash, ip, app.now())
}

/// What a session check reads, as kept between checks: only what the checks need (no password hash, no
/// second-factor secret).
#[derive(Debug)]
struct SessionFacts {
    tenant_id: TenantId,
    agent_id: AgentId,
    session_id: kefu_domain::security::SessionId,
    /// The session's expiry (epoch seconds).
    ttl: i64,
    /// The session's epoch.
    epoch: i64,
    /// Its account; `None` when there is none.
    account: Option<AccountFacts>,
    policy: SecurityPolicy,
    /// The role's permissions (none when the role is gone).
    permissions: PermissionSet,
}

#[derive(Debug)]
struct AccountFacts {
    role_id: kefu_domain::RoleId,
    disabled: bool,
    epoch: i64,
    password_must_change: bool,
    mfa_enabled: bool,
    password_changed_at: jiff::Timestamp,
}

/// Reads the session, its account, the tenant's policy and the account role's permissions; `None` when the
/// session does not exist.
async fn session_facts(app: &App, hash: &str) -> Result<Option<SessionFacts>, TableError> {
    let Some(session) = app.table.get(&keys::session(hash)).await? else { return Ok(None) };
    let session = SessionRecord::from_ref(&session)?;
    let (tenant, agent_id) = (session.tenant_id, session.agent_id);
    let (agent, policy) = futures::try_join!(account(app, &tenant, &agent_id), security::policy(app, &tenant))?;
    let permissions = match &agent {
        Some(agent) => match app.table.get(&keys::role(&tenant, agent.role_id.as_str())).await? {
            Some(role) => {
                let role = RoleRecord::from_ref(&role)?;
                PermissionSet::parse(role.permissions.iter().map(String::as_str)).unwrap_or_default()
            }
            None => PermissionSet::default(),
        },
        None => PermissionSet::default(),
    };
    let account = agent.map(|a| AccountFacts {
        epoch: sessions::epoch_of(&a),
        password_must_change: a.password_must_change == Some(true),
        mfa_enabled: a.mfa_enabled,
        password_changed_at: password_changed_at(&a),
        disabled: a.disabled,
        role_id: a.role_id,
    });
    Ok(Some(SessionFacts {
        tenant_id: tenant,
        agent_id,
        session_id: session.session_id,
        ttl: session.ttl,
        epoch: session.epoch,
        account,
        policy,
        permissions,
    }))
}

impl SessionFacts {
    /// The checks of a session, now and from `ip`: unexpired, its account there and enabled, not revoked (its
    /// epoch at least its account's), the IP on the allowlist; then the principal with its restriction.
    fn principal(&self, hash: String, ip: IpAddr, now: jiff::Timestamp) -> Result<Principal, AuthError> {
        if self.ttl <= now.as_second() {
            return Err(AuthError::Unauthenticated);
        }
        let agent = self.account.as_ref().ok_or(AuthError::Unauthenticated)?;
        if agent.disabled || self.epoch < agent.epoch {
            return Err(AuthError::Unauthenticated);
        }
        if !security::ip_allowed(&self.policy, ip) {
            return Err(AuthError::IpNotAllowed);
        }
        let restriction =
            restriction(&self.policy, agent.password_must_change, agent.mfa_enabled, agent.password_changed_at, now);
        Ok(Principal {
            tenant_id: self.tenant_id.clone(),
            agent_id: self.agent_id.clone(),
            role_id: agent.role_id.clone(),
            permissions: self.permissions.clone(),
            session_hash: hash,
            caller: Caller::Session(self.session_id.clone()),
            ip,
            restriction,
        })
    }
}

/// Ends a session at once.
pub async fn logout(app: &App, principal: &Principal) -> Result<(), AuthError> {
    if principal.session_hash.is_empty() {
        return Err(AuthError::Unauthenticated);
    }
    let entry =
        AuditEntry::new(&principal.tenant_id, "auth.logout", Outcome::Success).by(&principal.actor()).ip(principal.ip);
    let end = TxOp::Delete { key: keys::session(&principal.session_hash), condition: None };
    crate::audit::commit(app, vec![end, version::bump(&principal.tenant_id)], Vec::new(), vec![entry]).await?;
    Ok(())
}

/// The account of a principal.
pub async fn me(app: &App, principal: &Principal) -> Result<AgentView, AuthError> {
    let item = app
        .table
        .get(&keys::agent(&principal.tenant_id, &principal.agent_id))
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(AgentView::of(&AccountRecord::from_item(item).map_err(TableError::from)?))
}

/// Changes the caller's own password: the current one must be right (a wrong one counts toward the
/// lockout), the new one must pass the policy and differ from the current one; every other session of the
/// account ends.
pub async fn change_password(
    app: &App,
    principal: &Principal,
    current: &str,
    new: &str,
) -> Result<(), ChangePasswordError> {
    let key = keys::agent(&principal.tenant_id, &principal.agent_id);
    let agent = account(app, &principal.tenant_id, &principal.agent_id).await?.ok_or(AuthError::Unauthenticated)?;
    let email = agent.email.clone();
    let policy = security::policy(app, &principal.tenant_id).await?;
    let failures =
        claim(app, &principal.tenant_id, &email, Some(&agent), &policy, ("auth.password_change", principal.ip)).await?;
    if !verify_password(&agent.password_hash, current).await {
        let e = failed(
            app,
            &Attempted {
                tenant: &principal.tenant_id,
                email: &email,
                account: Some(&agent),
                policy: &policy,
                ip: principal.ip,
                failures,
            },
            "auth.password_change",
            "wrong_password",
            AuthError::InvalidCredentials,
        )
        .await;
        return Err(match e {
            AuthError::InvalidCredentials => {
                ChangePasswordError::Invalid(ValidationError::new("current_password", "is not your current password"))
            }
            other => other.into(),
        });
    }
    security::clear_failures(app, &principal.tenant_id, &email).await?;
    let password = security::check_new_password(app, &principal.tenant_id, new, &email).await.map_err(|e| match e {
        security::PasswordCheckError::Invalid(v) => {
            ChangePasswordError::Invalid(ValidationError::new("new_password", v.message))
        }
        security::PasswordCheckError::Table(t) => t.into(),
    })?;
    if verify_password(&agent.password_hash, password.expose()).await {
        return Err(ChangePasswordError::Invalid(ValidationError::new(
            "new_password",
            "must differ from the current password",
        )));
    }
    let update = Update::new()
        .set("password_hash", json!(hash_password(password.expose()).await))
        .set("password_changed_at", json!(app.now()))
        .remove("password_must_change");
    let entry = AuditEntry::new(&principal.tenant_id, "auth.password_change", Outcome::Success)
        .by(&principal.actor())
        .target("agent", &principal.agent_id)
        .ip(principal.ip);
    let change = TxOp::Update { key: key.clone(), update, condition: Some(Condition::Exists) };
    crate::audit::commit(app, vec![change, version::bump(&principal.tenant_id)], Vec::new(), vec![entry]).await?;
    sessions::revoke_all(app, &principal.tenant_id, &principal.agent_id, principal.session_id(), None).await?;
    tell_owner(
        app,
        &email,
        "Your Kefu password was changed",
        &format!(
            "The password of your Kefu account {email} was changed from {}, and your other sessions were ended. \
             If this was not you, contact your administrator at once.",
            principal.ip
        ),
    )
    .await;
    Ok(())
}

/// Why a password change was refused.
#[derive(Debug, thiserror::Error)]
pub enum ChangePasswordError {
    /// A field is wrong (`current_password`, `new_password`).
    #[error(transparent)]
    Invalid(#[from] ValidationError),
    /// Authentication failed or the account is locked.
    #[error(transparent)]
    Auth(#[from] AuthError),
}

impl From<TableError> for ChangePasswordError {
    fn from(e: TableError) -> Self {
        Self::Auth(AuthError::Table(e))
    }
}
