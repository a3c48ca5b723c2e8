//! The secrets of identity: password hashes (argon2id) and random tokens, of which the store keeps only a
//! SHA-256 hash. Sign-in, sessions, MFA and API keys all build on these, so they sit below each of them.

use std::sync::OnceLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

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
