//! Identity: who a staff member is and what they may do. Sign-in ([`auth`]), sessions, multi-factor sign-in,
//! roles, API keys, the tenant's security policy, the rules for granting access ([`access`]), and creating a
//! tenant with its first administrator ([`tenants`]).
//!
//! The shared pieces sit below the flows that use them: [`secrets`] (password hashes, tokens) and
//! [`accounts`] (the stored account and role items, the principal, mail to an account's owner), so sign-in,
//! sessions and MFA each build on them without needing one another in a circle.

pub mod access;
pub mod accounts;
pub mod api_keys;
pub mod auth;
pub mod error;
pub mod mfa;
pub mod roles;
pub mod secrets;
pub mod security;
pub mod sessions;
pub mod tenants;
pub mod version;
