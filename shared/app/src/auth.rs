//! Staff sign-in: argon2id password hashes, opaque bearer tokens bound to stored sessions (so logout and
//! revocation take effect at once), and the principal every authenticated request carries.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use kefu_domain::security::{ApiKeyId, Restriction, SecurityPolicy, SessionId};
use kefu_domain::{AgentId, BuiltinRole, PermissionSet, RoleId, TenantId, ValidationError};
use kefu_ports::table::{Condition, Item, TableError, TxOp, Update};
use rand::RngCore;
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::App;
use crate::audit::{self, AuditEntry, Outcome};
use crate::{keys, mfa, security, sessions};

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

fn argon() -> Argon2<'static> {
    // OWASP: argon2id, m = 19 MiB, t = 2, p = 1.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(19 * 1024, 2, 1, None).expect("static params"))
}

/// Hashes a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    argon().hash_password(password.as_bytes(), &salt).expect("argon2 hashes").to_string()
}

/// Checks a password against a stored PHC hash.
pub fn verify_password(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

/// A hash to verify against when the account does not exist, so both answers take the same time.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password("kefu-dummy-password-for-timing"))
}

/// Spends the effort of one real password check, for the paths that refuse without one (unknown account,
/// malformed tenant id or email), so a refusal's timing says nothing about why.
pub fn spend_verification_effort(password: &str) {
    verify_password(dummy_hash(), password);
}

/// A new random secret of 32 bytes with a readable prefix.
pub fn new_secret(prefix: &str) -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(b))
}

/// SHA-256 of a token, hex: what the store keeps instead of the token.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// How the caller proved who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A staff member's sign-in session (`Authorization: Bearer kfs_…`).
    Session(SessionId),
    /// An integration's API key (`X-Api-Key: kfk_…`).
    ApiKey(ApiKeyId),
}

/// Who is calling, after authentication.
#[derive(Debug, Clone)]
pub struct Principal {
    /// The caller's tenant: every lookup is scoped to it.
    pub tenant_id: TenantId,
    /// The caller's account. For an API key this is an id no account has (`ag_` + the key's ULID), so
    /// "assigned to me" finds nothing and nothing is done in a person's name.
    pub agent_id: AgentId,
    /// The caller's role (`api_key` for an API key).
    pub role_id: RoleId,
    /// What the role (or the key) allows, read fresh on every request.
    pub permissions: PermissionSet,
    /// The session's key (for logout); empty for an API key.
    pub session_hash: String,
    /// Session or API key.
    pub caller: Caller,
    /// The client's IP (from `ClientIp`, never `X-Forwarded-For`).
    pub ip: IpAddr,
    /// What a signed-in account must do before it may work (expired password, MFA enrolment); `Staff`
    /// refuses a restricted principal, `SignedIn` lets the few routes that lift it through.
    pub restriction: Option<Restriction>,
}

impl Principal {
    /// The id audit entries name as the actor: the account, or the API key.
    pub fn actor_id(&self) -> String {
        match &self.caller {
            Caller::Session(_) => self.agent_id.to_string(),
            Caller::ApiKey(k) => k.to_string(),
        }
    }

    /// The session's public id, when the caller is a session.
    pub fn session_id(&self) -> Option<&SessionId> {
        match &self.caller {
            Caller::Session(s) => Some(s),
            Caller::ApiKey(_) => None,
        }
    }
}

/// The public view of a staff account.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AgentView {
    /// Account id.
    pub id: String,
    /// Tenant id.
    pub tenant_id: String,
    /// Sign-in email.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role id.
    pub role_id: String,
    /// `online` / `away` / `offline`.
    pub status: String,
    /// Groups the agent belongs to.
    pub group_ids: Vec<String>,
    /// Skills.
    pub skills: Vec<String>,
    /// Most conversations at once.
    pub max_concurrent: u32,
    /// Last successful sign-in.
    pub last_login_at: Option<String>,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether sign-in asks for a second factor (TOTP confirmed).
    pub mfa_enabled: bool,
    /// Created at.
    pub created_at: String,
}

fn s(item: &Item, k: &str) -> String {
    item.get(k).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn strings(item: &Item, k: &str) -> Vec<String> {
    item.get(k)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default()
}

impl AgentView {
    /// The view of a stored account item.
    pub fn from_item(item: &Item) -> Self {
        Self {
            id: s(item, "agent_id"),
            tenant_id: s(item, "tenant_id"),
            email: s(item, "email"),
            name: s(item, "name"),
            role_id: s(item, "role_id"),
            status: item.get("status").and_then(Value::as_str).unwrap_or("offline").to_owned(),
            group_ids: strings(item, "group_ids"),
            skills: strings(item, "skills"),
            max_concurrent: item
                .get("max_concurrent")
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok())
                .unwrap_or(5),
            last_login_at: item.get("last_login_at").and_then(Value::as_str).map(str::to_owned),
            disabled: item.get("disabled").and_then(Value::as_bool).unwrap_or(false),
            mfa_enabled: item.get("mfa_enabled").and_then(Value::as_bool).unwrap_or(false),
            created_at: s(item, "created_at"),
        }
    }
}

/// A staff account item, as stored, ready to put.
pub fn agent_item(
    tenant: &TenantId,
    agent: &AgentId,
    email: &str,
    name: &str,
    password_hash: &str,
    role: &RoleId,
    at: jiff::Timestamp,
) -> Item {
    keys::agent(tenant, agent).with(json!({
        "type": "agent", "agent_id": agent, "tenant_id": tenant, "email": email, "name": name,
        "password_hash": password_hash, "role_id": role, "status": "offline", "group_ids": [], "skills": [],
        "max_concurrent": 5, "disabled": false, "created_at": at, "password_changed_at": at, "session_epoch": 0,
        "mfa_enabled": false, "version": 1,
    }))
}

/// A role item, as stored.
pub fn role_item(tenant: &TenantId, role_id: &str, name: &str, permissions: &PermissionSet, builtin: bool) -> Item {
    keys::role(tenant, role_id).with(
        json!({"type": "role", "role_id": role_id, "name": name, "permissions": permissions.names(), "builtin": builtin}),
    )
}

/// The operations creating the three built-in roles of a new tenant.
pub fn builtin_role_ops(tenant: &TenantId) -> Vec<TxOp> {
    BuiltinRole::ALL
        .iter()
        .map(|r| TxOp::Put {
            item: role_item(tenant, r.name(), r.name(), &r.permissions(), true),
            condition: Some(Condition::NotExists),
        })
        .collect()
}

/// A successful sign-in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MfaRequired {
    /// Always true.
    pub mfa_required: bool,
    /// Pass back to `POST /v1/auth/mfa` (and `POST /v1/auth/mfa/email`); lives 5 minutes.
    pub challenge: String,
}

/// What `POST /v1/auth/login` answers with 200.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
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

/// Records an audit entry; a failure to record is logged, not passed on (the action itself already happened).
pub async fn note(app: &App, entry: AuditEntry) {
    if let Err(e) = audit::record(app, entry).await {
        tracing::error!(error = %e, "audit entry not recorded");
    }
}

/// Tells an account's owner about a change to its security by email (best effort: a mailer failure is
/// logged), so a change they did not make does not go unnoticed.
pub(crate) async fn tell_owner(app: &App, to: &str, subject: &str, body: &str) {
    if let Err(e) = app.mailer.send_email(to, subject, body).await {
        tracing::warn!(error = %e, "security notice not sent");
    }
}

async fn account_by_email(app: &App, tenant: &TenantId, email: &str) -> Result<Option<Item>, TableError> {
    match app.table.get(&keys::agent_email(tenant, email)).await? {
        Some(claim) => match claim.get("agent_id").and_then(Value::as_str).and_then(AgentId::parse) {
            Some(id) => app.table.get(&keys::agent(tenant, &id)).await,
            None => Ok(None),
        },
        None => Ok(None),
    }
}

fn password_changed_at(agent: &Item) -> jiff::Timestamp {
    ["password_changed_at", "created_at"]
        .iter()
        .find_map(|k| agent.get(*k).and_then(Value::as_str).and_then(|s| s.parse().ok()))
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
}

fn mfa_enabled(agent: &Item) -> bool {
    agent.get("mfa_enabled").and_then(Value::as_bool).unwrap_or(false)
}

/// What an account's sessions are held to: the policy's (expired password, MFA enrolment), or a password
/// change when the account's password was set to be used once (`password_must_change`, set by the operator's
/// `kefu admin restore`).
fn restriction_of(policy: &SecurityPolicy, agent: &Item, now: jiff::Timestamp) -> Option<Restriction> {
    if agent.get("password_must_change").and_then(Value::as_bool).unwrap_or(false) {
        return Some(Restriction::PasswordChange);
    }
    policy.restriction(mfa_enabled(agent), password_changed_at(agent), now)
}

/// Opens a session for an account that passed every step, and answers as login does.
pub(crate) async fn open_session(
    app: &App,
    tenant: &TenantId,
    agent: &Item,
    policy: &SecurityPolicy,
    ip: IpAddr,
    user_agent: Option<&str>,
    mfa: bool,
) -> Result<LoginOk, AuthError> {
    let agent_id = AgentId::parse(&s(agent, "agent_id")).ok_or(AuthError::InvalidCredentials)?;
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
        },
    )
    .await?;
    let restriction = restriction_of(policy, agent, app.now());
    let mut view = AgentView::from_item(agent);
    view.last_login_at = Some(app.now().to_string());
    note(
        app,
        AuditEntry::new(tenant, "auth.login", Outcome::Success)
            .actor(&agent_id)
            .target("session", &created.session_id)
            .ip(ip)
            .detail(json!({"mfa": mfa})),
    )
    .await;
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
    account: Option<&'a Item>,
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
    account: Option<&Item>,
    policy: &SecurityPolicy,
    (action, ip): (&str, IpAddr),
) -> Result<i64, AuthError> {
    match security::claim_attempt(app, tenant, email, policy).await? {
        security::Claim::Granted(n) => Ok(n),
        security::Claim::Locked(retry_after) => {
            let mut entry = AuditEntry::new(tenant, action, Outcome::Failure)
                .ip(ip)
                .detail(json!({"email": email, "reason": "locked"}));
            if let Some(id) = account.map(|a| s(a, "agent_id")) {
                entry = entry.actor(&id).target("agent", &id);
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
    if let Some(id) = at.account.map(|a| s(a, "agent_id")) {
        entry = entry.actor(&id).target("agent", &id);
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
        spend_verification_effort(password);
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
            spend_verification_effort(password);
            return Err(e);
        }
    };
    let Some(agent) = account else {
        spend_verification_effort(password);
        return Err(failed(
            app,
            &Attempted { tenant, email, account: None, policy: &policy, ip, failures },
            "auth.login",
            "unknown_account",
            AuthError::InvalidCredentials,
        )
        .await);
    };
    let ok = verify_password(&s(&agent, "password_hash"), password);
    if !ok || agent.get("disabled").and_then(Value::as_bool).unwrap_or(false) {
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
    if mfa_enabled(&agent) {
        let agent_id = AgentId::parse(&s(&agent, "agent_id")).ok_or(AuthError::InvalidCredentials)?;
        let challenge = mfa::create_challenge(app, tenant, &agent_id, email, &ip.to_string()).await?;
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
    let agent = app.table.get(&keys::agent(&c.tenant_id, &c.agent_id)).await?;
    let agent = agent.filter(|a| !a.get("disabled").and_then(Value::as_bool).unwrap_or(false));
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
    note(app, AuditEntry::new(&c.tenant_id, "auth.mfa", Outcome::Success).actor(&c.agent_id).ip(ip)).await;
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
    let session = app.table.get(&keys::session(&hash)).await?.ok_or(AuthError::Unauthenticated)?;
    let expires = session.get("ttl").and_then(Value::as_i64).unwrap_or(0);
    if expires <= app.now().as_second() {
        return Err(AuthError::Unauthenticated);
    }
    let tenant = TenantId::parse(&s(&session, "tenant_id")).ok_or(AuthError::Unauthenticated)?;
    let agent_id = AgentId::parse(&s(&session, "agent_id")).ok_or(AuthError::Unauthenticated)?;
    let session_id = SessionId::parse(&s(&session, "session_id")).ok_or(AuthError::Unauthenticated)?;
    let agent_key = keys::agent(&tenant, &agent_id);
    let (agent, policy) = futures::try_join!(app.table.get(&agent_key), security::policy(app, &tenant))?;
    let agent = agent.ok_or(AuthError::Unauthenticated)?;
    if agent.get("disabled").and_then(Value::as_bool).unwrap_or(false) {
        return Err(AuthError::Unauthenticated);
    }
    if session.get("epoch").and_then(Value::as_i64).unwrap_or(0) < sessions::epoch_of(&agent) {
        return Err(AuthError::Unauthenticated);
    }
    if !security::ip_allowed(&policy, ip) {
        return Err(AuthError::IpNotAllowed);
    }
    let role_id = RoleId::parse_any(&s(&agent, "role_id")).ok_or(AuthError::Unauthenticated)?;
    let permissions = match app.table.get(&keys::role(&tenant, role_id.as_str())).await? {
        Some(role) => {
            PermissionSet::parse(strings(&role, "permissions").iter().map(String::as_str)).unwrap_or_default()
        }
        None => PermissionSet::default(),
    };
    let restriction = restriction_of(&policy, &agent, app.now());
    Ok(Principal {
        tenant_id: tenant,
        agent_id,
        role_id,
        permissions,
        session_hash: hash,
        caller: Caller::Session(session_id),
        ip,
        restriction,
    })
}

/// Ends a session at once.
pub async fn logout(app: &App, principal: &Principal) -> Result<(), AuthError> {
    if principal.session_hash.is_empty() {
        return Err(AuthError::Unauthenticated);
    }
    app.table.delete(&keys::session(&principal.session_hash), None).await?;
    note(
        app,
        AuditEntry::new(&principal.tenant_id, "auth.logout", Outcome::Success)
            .actor(principal.actor_id())
            .ip(principal.ip),
    )
    .await;
    Ok(())
}

/// The account of a principal.
pub async fn me(app: &App, principal: &Principal) -> Result<AgentView, AuthError> {
    let item = app
        .table
        .get(&keys::agent(&principal.tenant_id, &principal.agent_id))
        .await?
        .ok_or(AuthError::Unauthenticated)?;
    Ok(AgentView::from_item(&item))
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
    let agent = app.table.get(&key).await?.ok_or(AuthError::Unauthenticated)?;
    let email = s(&agent, "email");
    let policy = security::policy(app, &principal.tenant_id).await?;
    let failures =
        claim(app, &principal.tenant_id, &email, Some(&agent), &policy, ("auth.password_change", principal.ip)).await?;
    if !verify_password(&s(&agent, "password_hash"), current) {
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
    if verify_password(&s(&agent, "password_hash"), password.expose()) {
        return Err(ChangePasswordError::Invalid(ValidationError::new(
            "new_password",
            "must differ from the current password",
        )));
    }
    let update = Update::new()
        .set("password_hash", json!(hash_password(password.expose())))
        .set("password_changed_at", json!(app.now()))
        .remove("password_must_change");
    app.table.update(&key, update, Some(Condition::Exists)).await?;
    sessions::revoke_all(app, &principal.tenant_id, &principal.agent_id, principal.session_id()).await?;
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
    note(
        app,
        AuditEntry::new(&principal.tenant_id, "auth.password_change", Outcome::Success)
            .actor(principal.actor_id())
            .target("agent", &principal.agent_id)
            .ip(principal.ip),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("correct horse battery");
        let b = hash_password("correct horse battery");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "wrong horse battery"));
        assert!(!verify_password("not a hash", "x"));
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let t = new_secret("kfs_");
        assert!(t.starts_with("kfs_") && t.len() == 47);
        assert_ne!(t, new_secret("kfs_"));
        assert_eq!(token_hash(&t).len(), 64);
    }
}
