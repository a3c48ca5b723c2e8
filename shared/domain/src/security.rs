//! A tenant's security policy (password length and age, lockout, MFA, IP allowlist, session lifetime), the
//! bundled list of common passwords, and the ids of sessions and API keys.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::OnceLock;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::ValidationError;

pub use crate::ids::{ApiKeyId, SessionId};

/// The common-password list: 30,000 passwords of a leaked corpus, most common first (see `data/README.md`
/// for its source and licence: zxcvbn 3.1.1, MIT).
const COMMON_PASSWORDS: &str = include_str!("../data/common-passwords.txt");

fn common_passwords() -> &'static HashSet<&'static str> {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    SET.get_or_init(|| COMMON_PASSWORDS.lines().map(str::trim).filter(|l| !l.is_empty()).collect())
}

/// The forms of a password compared with the lists: lower-cased; without white space; and without leading or
/// trailing digits and symbols (so `Password2024!` counts as `password`).
pub fn password_variants(password: &str) -> Vec<String> {
    let lower = password.trim().to_lowercase();
    let compact: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    let core = compact.trim_matches(|c: char| !c.is_alphabetic()).to_owned();
    let mut v = vec![lower, compact, core];
    v.retain(|s| !s.is_empty());
    v.dedup();
    v
}

/// Whether a password is on the bundled common-password list, or is one character repeated.
pub fn is_common_password(password: &str) -> bool {
    let list = common_passwords();
    let mut chars = password.chars();
    if let Some(first) = chars.next()
        && chars.all(|c| c == first)
    {
        return true;
    }
    password_variants(password).iter().any(|v| list.contains(v.as_str()))
}

/// How many entries the bundled list has (for documentation and tests).
pub fn common_password_count() -> usize {
    common_passwords().len()
}

/// The bounds a policy's fields must keep.
pub mod bounds {
    /// `password_min_length`: ASVS 5 asks for at least 8; 128 is the longest minimum we let a tenant ask for.
    pub const PASSWORD_MIN_LENGTH: (u32, u32) = (8, 128);
    /// `password_max_age_days` (or null: passwords never expire, which ASVS recommends).
    pub const PASSWORD_MAX_AGE_DAYS: (u32, u32) = (1, 3650);
    /// `lockout_threshold`: consecutive failures before an account locks.
    pub const LOCKOUT_THRESHOLD: (u32, u32) = (3, 100);
    /// `lockout_minutes`.
    pub const LOCKOUT_MINUTES: (u32, u32) = (1, 1440);
    /// `session_ttl_minutes`: 5 minutes to 30 days.
    pub const SESSION_TTL_MINUTES: (u32, u32) = (5, 43_200);
    /// The most CIDRs an allowlist may hold.
    pub const IP_ALLOWLIST_MAX: usize = 100;
}

/// A tenant's security policy (`GET|PUT /v1/settings/security`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecurityPolicy {
    /// Shortest password accepted (default 12).
    pub password_min_length: u32,
    /// Days after which a password must be changed at the next sign-in; `None`: never.
    pub password_max_age_days: Option<u32>,
    /// Consecutive failed sign-ins that lock an account (default 5).
    pub lockout_threshold: u32,
    /// How long a lock lasts (default 15).
    pub lockout_minutes: u32,
    /// Whether every staff account must enrol in MFA before it can work.
    pub mfa_required: bool,
    /// CIDRs staff and API keys may call from; empty: anywhere.
    pub ip_allowlist: Vec<String>,
    /// How long a session lasts (default 720 = 12 h).
    pub session_ttl_minutes: u32,
}

impl Default for SecurityPolicy {
    fn default() -> Self {
        Self {
            password_min_length: 12,
            password_max_age_days: None,
            lockout_threshold: 5,
            lockout_minutes: 15,
            mfa_required: false,
            ip_allowlist: Vec::new(),
            session_ttl_minutes: 720,
        }
    }
}

fn within(field: &str, v: u32, (lo, hi): (u32, u32)) -> Result<u32, ValidationError> {
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(ValidationError::new(field, format!("must be between {lo} and {hi}")))
    }
}

impl SecurityPolicy {
    /// Checks every field against [`bounds`] and normalises the allowlist (each entry a CIDR; a bare address
    /// becomes a /32 or /128).
    pub fn validated(mut self) -> Result<Self, ValidationError> {
        within("password_min_length", self.password_min_length, bounds::PASSWORD_MIN_LENGTH)?;
        if let Some(d) = self.password_max_age_days {
            within("password_max_age_days", d, bounds::PASSWORD_MAX_AGE_DAYS)?;
        }
        within("lockout_threshold", self.lockout_threshold, bounds::LOCKOUT_THRESHOLD)?;
        within("lockout_minutes", self.lockout_minutes, bounds::LOCKOUT_MINUTES)?;
        within("session_ttl_minutes", self.session_ttl_minutes, bounds::SESSION_TTL_MINUTES)?;
        self.ip_allowlist = IpAllowlist::parse(&self.ip_allowlist)?.to_strings();
        Ok(self)
    }

    /// The allowlist, parsed (entries were validated when saved; one that no longer parses is skipped, which
    /// can only narrow the list).
    pub fn allowlist(&self) -> IpAllowlist {
        IpAllowlist(self.ip_allowlist.iter().filter_map(|s| parse_net(s)).collect())
    }

    /// What a signed-in account must do before it may work, if anything: change an expired password first,
    /// then enrol in MFA when the policy requires it.
    pub fn restriction(
        &self,
        mfa_enabled: bool,
        password_changed_at: jiff::Timestamp,
        now: jiff::Timestamp,
    ) -> Option<Restriction> {
        if let Some(days) = self.password_max_age_days {
            let age = jiff::SignedDuration::from_hours(i64::from(days) * 24);
            if password_changed_at.checked_add(age).is_ok_and(|due| due <= now) {
                return Some(Restriction::PasswordChange);
            }
        }
        if self.mfa_required && !mfa_enabled {
            return Some(Restriction::MfaEnrollment);
        }
        None
    }
}

/// Why a signed-in session may do only a few things.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Restriction {
    /// The password is older than the policy's maximum age: only `POST /v1/me/password` (403 `password_expired`).
    PasswordChange,
    /// The policy requires MFA and the account has none: only enrolment (403 `mfa_enrollment_required`).
    MfaEnrollment,
}

impl Restriction {
    /// The error code of a request the restriction refuses.
    pub fn code(self) -> &'static str {
        match self {
            Restriction::PasswordChange => "password_expired",
            Restriction::MfaEnrollment => "mfa_enrollment_required",
        }
    }
}

fn parse_net(s: &str) -> Option<IpNet> {
    let s = s.trim();
    s.parse::<IpNet>().ok().or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from)).map(|n| n.trunc())
}

/// A parsed IP allowlist.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct IpAllowlist(Vec<IpNet>);

impl IpAllowlist {
    /// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or bare addresses; at most 100.
    pub fn parse(entries: &[String]) -> Result<Self, ValidationError> {
        if entries.len() > bounds::IP_ALLOWLIST_MAX {
            return Err(ValidationError::new(
                "ip_allowlist",
                format!("must hold at most {} entries", bounds::IP_ALLOWLIST_MAX),
            ));
        }
        let mut nets = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let net = (e.len() <= 64).then(|| parse_net(e)).flatten().ok_or_else(|| {
                ValidationError::new(format!("ip_allowlist[{i}]"), "is not an IPv4 or IPv6 address or CIDR")
            })?;
            if !nets.contains(&net) {
                nets.push(net);
            }
        }
        Ok(Self(nets))
    }

    /// Whether the list lets `ip` in: an empty list allows everyone. IPv4-mapped IPv6 addresses count as IPv4.
    pub fn allows(&self, ip: IpAddr) -> bool {
        if self.0.is_empty() {
            return true;
        }
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        self.0.iter().any(|n| n.contains(&ip))
    }

    /// Whether the list is empty (everyone allowed).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The canonical text of each entry.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn the_common_list_is_real_and_matched_loosely() {
        assert!(common_password_count() >= 10_000);
        for p in ["password", "Password", "PASSWORD2024!", "qwerty123456", "qwertyuiop", "iloveyou", "aaaaaaaaaaaaa"] {
            assert!(is_common_password(p), "{p}");
        }
        for p in ["correct horse battery staple", "a long enough admin password", "密码很长很长很长很长很长很长"]
        {
            assert!(!is_common_password(p), "{p}");
        }
        assert!(is_common_password("  Dragon 2024 "));
    }

    #[test]
    fn policy_bounds() {
        assert!(SecurityPolicy::default().validated().is_ok());
        let bad = |p: SecurityPolicy, field: &str| assert_eq!(p.validated().unwrap_err().field, field);
        bad(SecurityPolicy { password_min_length: 7, ..Default::default() }, "password_min_length");
        bad(SecurityPolicy { password_min_length: 129, ..Default::default() }, "password_min_length");
        bad(SecurityPolicy { password_max_age_days: Some(0), ..Default::default() }, "password_max_age_days");
        bad(SecurityPolicy { lockout_threshold: 2, ..Default::default() }, "lockout_threshold");
        bad(SecurityPolicy { lockout_minutes: 0, ..Default::default() }, "lockout_minutes");
        bad(SecurityPolicy { session_ttl_minutes: 4, ..Default::default() }, "session_ttl_minutes");
        bad(
            SecurityPolicy { ip_allowlist: vec!["10.0.0.0/8".into(), "nope".into()], ..Default::default() },
            "ip_allowlist[1]",
        );
        let p = SecurityPolicy {
            ip_allowlist: vec!["10.1.2.3/8".into(), " 192.0.2.7 ".into(), "2001:db8::1/32".into()],
            ..Default::default()
        };
        assert_eq!(p.validated().unwrap().ip_allowlist, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
    }

    #[test]
    fn allowlists() {
        let l = IpAllowlist::parse(&["10.0.0.0/8".into(), "2001:db8::/32".into()]).unwrap();
        assert!(l.allows("10.9.8.7".parse().unwrap()));
        assert!(l.allows("::ffff:10.9.8.7".parse().unwrap()));
        assert!(l.allows("2001:db8:1::5".parse().unwrap()));
        assert!(!l.allows("11.0.0.1".parse().unwrap()));
        assert!(!l.allows("2001:db9::1".parse().unwrap()));
        assert!(IpAllowlist::default().allows("203.0.113.9".parse().unwrap()));
    }

    #[test]
    fn restrictions() {
        let now: jiff::Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
        let day = jiff::SignedDuration::from_hours(24);
        let p = SecurityPolicy { password_max_age_days: Some(90), mfa_required: true, ..Default::default() };
        assert_eq!(p.restriction(false, now - day * 90, now), Some(Restriction::PasswordChange));
        assert_eq!(p.restriction(true, now - day * 89, now), None);
        assert_eq!(p.restriction(false, now - day * 89, now), Some(Restriction::MfaEnrollment));
        assert_eq!(SecurityPolicy::default().restriction(false, now - day * 9000, now), None);
    }

    #[test]
    fn ids() {
        let s = SessionId::generate();
        assert_eq!(SessionId::parse(s.as_str()), Some(s.clone()));
        assert_eq!(ApiKeyId::parse(s.as_str()), None);
        assert_eq!(s.ulid_part().len(), 26);
    }

    proptest! {
        #[test]
        fn allowlist_entries_contain_themselves(a in any::<u32>(), len in 0u8..=32) {
            let ip = std::net::Ipv4Addr::from(a);
            let l = IpAllowlist::parse(&[format!("{ip}/{len}")]).unwrap();
            prop_assert!(l.allows(IpAddr::V4(ip)));
            let reparsed = IpAllowlist::parse(&l.to_strings()).unwrap();
            prop_assert_eq!(reparsed, l);
        }
    }
}
