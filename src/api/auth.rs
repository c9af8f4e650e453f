//! Password checks for the servers: `api.users` (basic auth) and
//! `resp.password` (`AUTH`), kept as argon2 hashes in the PHC string format.
//!
//! argon2 is slow on purpose (tens of milliseconds and ~19 MiB a check with
//! the default costs), so a good credential is verified once and then
//! remembered: the cache holds a keyed digest (HMAC-SHA256 under a key drawn
//! at random when the process starts) of user and password, never the
//! password, and never a failure. At most [`CACHE_MAX`] digests are kept;
//! when full it is emptied (the next checks pay one argon2 each). An
//! uncached check runs on tokio's blocking pool, at most
//! [`CONCURRENT_HASHES`] at once so that a flood of wrong passwords costs a
//! bounded amount of memory and CPU; a failure is answered only after
//! [`FAILURE_DELAY`], which slows guessing down. A settings reload builds new
//! checkers, so a changed hash never meets an old cache entry.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use ring::hmac;
use ring::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;

use crate::config::api::ApiUser;

/// Most verified credentials remembered by one checker.
pub const CACHE_MAX: usize = 4_096;
/// Most argon2 verifications running at once in the process.
pub const CONCURRENT_HASHES: usize = 2;
/// How long a wrong credential waits before it is answered.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// The process's cache key, drawn once.
fn cache_key() -> &'static hmac::Key {
    static KEY: OnceLock<hmac::Key> = OnceLock::new();
    KEY.get_or_init(|| {
        hmac::Key::generate(hmac::HMAC_SHA256, &SystemRandom::new()).expect("the system's random source")
    })
}

/// The process-wide bound on argon2 work.
fn hashing() -> &'static Semaphore {
    static PERMITS: Semaphore = Semaphore::const_new(CONCURRENT_HASHES);
    &PERMITS
}

/// A hash of the right shape for no user: an unknown name costs what a
/// wrong password costs, so timing does not tell which names exist.
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash("no user has this password"))
}

/// Verified credentials, as keyed digests; and how many argon2 checks
/// were made.
#[derive(Default)]
struct Cache {
    digests: Mutex<HashSet<[u8; 32]>>,
    hashed: AtomicUsize,
}

impl Cache {
    fn digest(user: &str, password: &[u8]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(cache_key());
        // The length first: ("ab", "c") and ("a", "bc") differ.
        ctx.update(&(user.len() as u64).to_le_bytes());
        ctx.update(user.as_bytes());
        ctx.update(password);
        let mut out = [0; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }

    fn contains(&self, digest: &[u8; 32]) -> bool {
        self.digests.lock().unwrap_or_else(|e| e.into_inner()).contains(digest)
    }

    fn insert(&self, digest: [u8; 32]) {
        let mut set = self.digests.lock().unwrap_or_else(|e| e.into_inner());
        if set.len() >= CACHE_MAX {
            set.clear();
        }
        set.insert(digest);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.digests.lock().unwrap().len()
    }
}

/// Checks `password` against `hash` (or the decoy) with argon2, on the
/// blocking pool.
async fn verify(hash: Option<Arc<str>>, password: &[u8]) -> bool {
    let password = password.to_vec();
    let task = tokio::task::spawn_blocking(move || {
        let text = hash.as_deref().unwrap_or_else(|| decoy());
        let good = PasswordHash::new(text).is_ok_and(|h| Argon2::default().verify_password(&password, &h).is_ok());
        good && hash.is_some()
    });
    task.await.unwrap_or(false)
}

async fn check_with(cache: &Cache, user: &str, hash: Option<Arc<str>>, password: &[u8]) -> bool {
    let digest = Cache::digest(user, password);
    let known = hash.is_some();
    if known && cache.contains(&digest) {
        return true;
    }
    // Within the process's bound on argon2 work. A client opening many
    // connections at once with the same good password finds it verified
    // by the first ones when its turn comes: asked again under the permit.
    let Ok(permit) = hashing().acquire().await else { return false };
    if known && cache.contains(&digest) {
        return true;
    }
    cache.hashed.fetch_add(1, Ordering::Relaxed);
    let good = verify(hash, password).await;
    drop(permit);
    if good {
        cache.insert(digest);
        return true;
    }
    tokio::time::sleep(FAILURE_DELAY).await;
    false
}

/// `api.users`, ready to check.
pub struct Users {
    hashes: HashMap<String, Arc<str>>,
    cache: Cache,
}

impl Users {
    pub fn new(users: &[ApiUser]) -> Users {
        let hashes = users.iter().map(|u| (u.name.clone(), Arc::from(u.hash.as_str()))).collect();
        Users { hashes, cache: Cache::default() }
    }

    /// Whether `user` exists and `password` is theirs.
    pub async fn check(&self, user: &str, password: &str) -> bool {
        check_with(&self.cache, user, self.hashes.get(user).cloned(), password.as_bytes()).await
    }

    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }
}

/// One password (`resp.password`), ready to check.
pub struct Password {
    hash: Arc<str>,
    cache: Cache,
}

impl Password {
    /// From its PHC-format hash.
    pub fn new(hash: &str) -> Result<Password, String> {
        crate::config::api::check_hash(hash)?;
        Ok(Password { hash: Arc::from(hash), cache: Cache::default() })
    }

    pub async fn check(&self, password: &[u8]) -> bool {
        check_with(&self.cache, "", Some(self.hash.clone()), password).await
    }
}

/// The PHC-format hash of a password (`banwarden hash-password`): argon2id
/// with the crate's default costs (OWASP's: 19 MiB, 2 passes) and a random
/// 16-byte salt.
pub fn hash(password: &str) -> String {
    let mut salt = [0u8; 16];
    SystemRandom::new().fill(&mut salt).expect("the system's random source");
    let salt = SaltString::encode_b64(&salt).expect("16 bytes are a valid salt");
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with its default costs").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users(hash: &str) -> Users {
        Users::new(&[ApiUser { name: "alice".into(), hash: hash.into() }])
    }

    #[tokio::test]
    async fn a_good_password_is_hashed_once() {
        let hashed = hash("correct horse");
        assert!(hashed.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hashed}");
        crate::config::api::check_hash(&hashed).unwrap();
        assert_ne!(hashed, hash("correct horse"), "a new salt each time");
        let u = users(&hashed);
        assert!(!u.is_empty());
        assert!(u.check("alice", "correct horse").await);
        assert_eq!(u.cache.len(), 1);
        // Cached: 20,000 checks cost no argon2 (each of which takes tens of
        // milliseconds, so this loop would take minutes without the cache).
        let clock = crate::time::SystemClock;
        let start = crate::time::Clock::instant(&clock);
        for _ in 0..20_000 {
            assert!(u.check("alice", "correct horse").await);
        }
        let took = crate::time::Clock::instant(&clock) - start;
        assert!(took < Duration::from_secs(2), "20,000 cached checks took {took:?}");
        assert_eq!(u.cache.len(), 1);
        assert_eq!(u.cache.hashed.load(Ordering::Relaxed), 1, "one argon2 check in all");
    }

    #[tokio::test]
    async fn wrong_passwords_and_unknown_users_fail_and_are_not_cached() {
        let u = users(&hash("right"));
        assert!(!u.check("alice", "wrong").await);
        assert!(!u.check("bob", "right").await);
        assert!(!u.check("", "").await);
        assert_eq!(u.cache.len(), 0);
        assert!(Users::new(&[]).is_empty());
        assert!(!Users::new(&[]).check("alice", "right").await);
    }

    #[tokio::test]
    async fn the_resp_password() {
        assert!(Password::new("hunter2").is_err());
        let p = Password::new(&hash("s3cret")).unwrap();
        assert!(p.check(b"s3cret").await);
        assert!(p.check(b"s3cret").await);
        assert!(!p.check(b"s3cret ").await);
        assert!(!p.check(&[0xff, 0]).await);
        assert_eq!(p.cache.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn many_connections_at_once_with_one_good_password_cost_few_hashes() {
        let u = Arc::new(users(&hash("at once")));
        let checks: Vec<_> = (0..64)
            .map(|_| {
                let u = u.clone();
                tokio::spawn(async move { u.check("alice", "at once").await })
            })
            .collect();
        for check in checks {
            assert!(check.await.unwrap());
        }
        let hashed = u.cache.hashed.load(Ordering::Relaxed);
        assert!(hashed <= CONCURRENT_HASHES, "{hashed} argon2 checks for 64 requests");
    }

    #[test]
    fn the_digest_separates_user_and_password_and_the_cache_is_bounded() {
        assert_ne!(Cache::digest("ab", b"c"), Cache::digest("a", b"bc"));
        let cache = Cache::default();
        for i in 0..CACHE_MAX + 10 {
            cache.insert(Cache::digest("u", i.to_string().as_bytes()));
        }
        assert!(cache.len() <= CACHE_MAX);
        assert!(cache.contains(&Cache::digest("u", (CACHE_MAX + 9).to_string().as_bytes())));
    }
}
