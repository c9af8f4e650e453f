//! STUB (helper A): password hashes (PHC strings), checked with a cache so
//! that a client sending the same good password 20,000 times a second costs
//! one slow hash; failed attempts slowed down.

use crate::config::api::ApiUser;

/// `api.users`, ready to check.
pub struct Users {}

impl Users {
    pub fn new(users: &[ApiUser]) -> Users {
        let _ = users;
        Users {}
    }

    /// Whether `user` exists and `password` is theirs.
    pub async fn check(&self, user: &str, password: &str) -> bool {
        let _ = (user, password);
        false
    }

    pub fn is_empty(&self) -> bool {
        true
    }
}

/// One password (`resp.password`), ready to check.
pub struct Password {}

impl Password {
    /// From its PHC-format hash.
    pub fn new(hash: &str) -> Result<Password, String> {
        let _ = hash;
        Ok(Password {})
    }

    pub async fn check(&self, password: &[u8]) -> bool {
        let _ = password;
        false
    }
}

/// The PHC-format hash of a password (`banwarden hash-password`).
pub fn hash(password: &str) -> String {
    let _ = password;
    String::new()
}
