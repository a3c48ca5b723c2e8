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

/// Hashes a password with argon2id and a random salt (PHC string), on the calling thread: for tests and tools.
/// A server path uses [`hash_password`].
pub fn hash_password_now(password: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16-byte salt encodes");
    argon().hash_password(password.as_bytes(), &salt).expect("argon2 hashes").to_string()
}

/// Checks a password against a stored PHC hash, on the calling thread. A server path uses [`verify_password`].
pub fn verify_password_now(hash: &str, password: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon().verify_password(password.as_bytes(), &h).is_ok())
}

/// Runs argon2 work on the runtime's blocking threads. A hash or a check costs tens of milliseconds of CPU
/// (19 MiB, two passes), which on a runtime worker would hold up every request that worker serves meanwhile
/// (`kefu serve` runs one worker on two cores).
async fn off_worker<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(work).await {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("password work did not run: {e}"),
    }
}

/// Hashes a password with argon2id and a random salt (PHC string), off the runtime's workers.
pub async fn hash_password(password: &str) -> String {
    let password = password.to_owned();
    off_worker(move || hash_password_now(&password)).await
}

/// Checks a password against a stored PHC hash, off the runtime's workers.
pub async fn verify_password(hash: &str, password: &str) -> bool {
    let (hash, password) = (hash.to_owned(), password.to_owned());
    off_worker(move || verify_password_now(&hash, &password)).await
}

/// A hash to verify against when the account does not exist, so both answers take the same time.
fn dummy_hash() -> &'static str {
    static H: OnceLock<String> = OnceLock::new();
    H.get_or_init(|| hash_password_now("kefu-dummy-password-for-timing"))
}

/// Spends the effort of one real password check, for the paths that refuse without one (unknown account,
/// malformed tenant id or email), so a refusal's timing says nothing about why.
pub async fn spend_verification_effort(password: &str) {
    let password = password.to_owned();
    off_worker(move || verify_password_now(dummy_hash(), &password)).await;
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
        let a = hash_password_now("correct horse battery");
        let b = hash_password_now("correct horse battery");
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(verify_password_now(&a, "correct horse battery"));
        assert!(!verify_password_now(&a, "wrong horse battery"));
        assert!(!verify_password_now("not a hash", "x"));
    }

    /// On a runtime of one worker (the test's thread), another task keeps running while a password is hashed
    /// and checked: the argon2 work is on a blocking thread. Run on the worker, the hash would finish within
    /// the first yield (the spawned task would run it through), and the count would stay at 1.
    #[tokio::test(flavor = "current_thread")]
    async fn argon2_leaves_the_worker_free() {
        let work = tokio::spawn(async {
            let hash = hash_password("correct horse battery").await;
            assert!(verify_password(&hash, "correct horse battery").await);
            assert!(!verify_password(&hash, "wrong horse battery").await);
            spend_verification_effort("x").await;
        });
        let mut turns = 0u64;
        while !work.is_finished() {
            tokio::task::yield_now().await;
            turns += 1;
        }
        work.await.expect("hashing task");
        assert!(turns > 1, "the worker ran {turns} turn(s) during four argon2 runs");
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let t = new_secret("kfs_");
        assert!(t.starts_with("kfs_") && t.len() == 47);
        assert_ne!(t, new_secret("kfs_"));
        assert_eq!(token_hash(&t).len(), 64);
    }
}
