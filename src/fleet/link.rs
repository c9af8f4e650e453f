//! Connecting to Redis, and the state of the link that the operator sees.
//!
//! `fleet.redis` may list a primary and its replicas: each is tried in
//! turn and the first that says it is a primary (`ROLE`) is used, so after
//! a failover (Sentinel's, or a `REPLICAOF NO ONE` by hand) the next
//! reconnection finds the new primary. The password comes from
//! `fleet.passwordFile` (read again at each connection, so a rotated
//! password needs no restart) or the URL; it is never logged: URLs are
//! shown without it. Every connection has the connect and reply timeouts
//! of `fleet.timeout`.
//!
//! An outage is logged once when it starts (by whichever side of the
//! fleet meets it first) and once when it ends, never per ban; the reader
//! and the publisher retry with a backoff from 100 ms to 5 s.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Client, IntoConnectionInfo};

use super::status::Status;
use crate::config::fleet::{hide_password, FleetSettings};
use crate::diag;
use crate::time::Clock;

/// The first wait after a failure, doubled at each failure up to [`BACKOFF_MAX`].
pub const BACKOFF_MIN: Duration = Duration::from_millis(100);
pub const BACKOFF_MAX: Duration = Duration::from_secs(5);

/// Opens a connection to the primary among `fleet.redis`; `reply_extra` is
/// added to the reply timeout (a blocking read waits that long by design).
/// Returns it with the URL it reached (shown without password).
pub async fn connect(fleet: &FleetSettings, reply_extra: Duration) -> Result<(MultiplexedConnection, String), String> {
    let password = match &fleet.password_file {
        Some(path) => Some(read_password(path)?),
        None => None,
    };
    let timeout = Duration::from_secs(fleet.timeout_secs);
    let config =
        AsyncConnectionConfig::new().set_connection_timeout(timeout).set_response_timeout(timeout + reply_extra);
    let mut errors = Vec::new();
    for url in &fleet.redis {
        let shown = hide_password(url);
        let attempt = async {
            let client = client(fleet, url, password.as_deref())?;
            let mut con =
                client.get_multiplexed_async_connection_with_config(&config).await.map_err(|e| e.to_string())?;
            if fleet.redis.len() > 1 {
                let role: redis::Value = redis::cmd("ROLE").query_async(&mut con).await.map_err(|e| e.to_string())?;
                let primary = matches!(&role, redis::Value::Array(items)
                    if matches!(items.first(), Some(redis::Value::BulkString(b)) if b == b"master"));
                if !primary {
                    return Err("a replica, not the primary".to_owned());
                }
            }
            Ok::<_, String>(con)
        };
        match attempt.await {
            Ok(con) => return Ok((con, shown)),
            Err(e) => errors.push(format!("{shown}: {e}")),
        }
    }
    Err(errors.join("; "))
}

/// Reads what a connection will need (password file, certificates), so
/// that a missing or unreadable file fails the start with its key's name
/// instead of a warning at each try.
pub fn check_files(fleet: &FleetSettings) -> Result<(), String> {
    if let Some(path) = &fleet.password_file {
        read_password(path)?;
    }
    for url in &fleet.redis {
        client(fleet, url, None)?;
    }
    Ok(())
}

fn client(fleet: &FleetSettings, url: &str, password: Option<&str>) -> Result<Client, String> {
    let mut info = url.into_connection_info().map_err(|e| e.to_string())?;
    if let Some(user) = &fleet.user {
        info.redis.username = Some(user.clone());
    }
    if let Some(password) = password {
        info.redis.password = Some(password.to_owned());
    }
    match &fleet.tls {
        Some(tls) if url.starts_with("rediss://") => {
            let read = |path: &std::path::Path| {
                std::fs::read(path).map_err(|e| format!("fleet.tls: cannot read {}: {e}", path.display()))
            };
            let root_cert = tls.ca.as_deref().map(read).transpose()?;
            let client_tls = match &tls.client {
                Some(c) => {
                    Some(redis::ClientTlsConfig { client_cert: read(&c.certificate)?, client_key: read(&c.key)? })
                }
                None => None,
            };
            Client::build_with_tls(info, redis::TlsCertificates { client_tls, root_cert }).map_err(|e| e.to_string())
        }
        _ => Client::open(info).map_err(|e| e.to_string()),
    }
}

/// The first line of the password file.
fn read_password(path: &std::path::Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("fleet.passwordFile: cannot read {}: {e}", path.display()))?;
    let line = text.lines().next().unwrap_or_default().trim_end_matches('\r');
    match line.is_empty() {
        true => Err(format!("fleet.passwordFile: {} is empty", path.display())),
        false => Ok(line.to_owned()),
    }
}

/// The two users of the link: an outage is one for both.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Side {
    Publish,
    Follow,
}

/// What both sides of the fleet share: the status shown to the operator,
/// and the link's state, so that an outage is told once.
pub struct Shared {
    pub status: Mutex<Status>,
    pub clock: Arc<dyn Clock>,
    link: Mutex<Link>,
}

#[derive(Default)]
struct Link {
    /// Each side's failure, while it fails.
    failing: [Option<String>; 2],
    /// An outage was told (and its end not yet).
    warned: bool,
    /// The first success was told.
    announced: bool,
}

impl Shared {
    pub fn new(status: Status, clock: Arc<dyn Clock>) -> Shared {
        Shared { status: Mutex::new(status), clock, link: Mutex::new(Link::default()) }
    }

    pub fn now_secs(&self) -> u64 {
        self.clock.now_us() / 1_000_000
    }

    /// A command on `side` succeeded at `url` (a connection alone proves
    /// nothing: a Redis still loading, or an ACL that refuses a command,
    /// accepts connections). The end of an outage is told once both sides
    /// work again.
    pub fn up(&self, side: Side, url: &str) {
        let now = self.now_secs();
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        link.failing[side as usize] = None;
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        s.redis = url.to_owned();
        if link.failing.iter().any(Option::is_some) {
            return;
        }
        if link.warned {
            diag!(
                Info,
                "fleet: Redis at {url} works again after {} s; what waited is published and applied",
                now.saturating_sub(s.since)
            );
            link.warned = false;
        } else if !link.announced {
            diag!(Info, "fleet: connected to Redis at {url}, stream {:?}", s.stream);
        }
        link.announced = true;
        if !s.connected || s.last_error.is_some() {
            s.since = now;
        }
        s.connected = true;
        s.last_error = None;
    }

    /// `side` failed: the first failure of an outage is logged, whichever
    /// side meets it, never one per try or per ban.
    pub fn down(&self, side: Side, error: &str) {
        let now = self.now_secs();
        let mut link = self.link.lock().unwrap_or_else(|e| e.into_inner());
        link.failing[side as usize] = Some(error.to_owned());
        let mut s = self.status.lock().unwrap_or_else(|e| e.into_inner());
        if !link.warned {
            diag!(
                Warning,
                "fleet: {error}; decisions wait in the spool and other hosts' bans are applied once it works again"
            );
            link.warned = true;
            s.since = now;
        }
        s.connected = false;
        s.last_error = Some(error.to_owned());
    }

    pub fn update(&self, f: impl FnOnce(&mut Status)) {
        f(&mut self.status.lock().unwrap_or_else(|e| e.into_inner()));
    }
}

/// What a failed command says, with where: a server that refuses (an ACL,
/// a Redis still loading, out of memory) is told apart from one that
/// cannot be reached.
pub fn failure(url: &str, doing: &str, e: &redis::RedisError) -> String {
    // An error the server sent has a code (ERR, NOPERM, LOADING...);
    // anything else is the connection's: refused, dropped, timed out, or a
    // reply cut short by a server that died while sending it.
    match e.code() {
        Some(_) => format!("Redis at {url} refuses {doing}: {e}"),
        None => format!("cannot reach Redis at {url} ({doing}): {e}"),
    }
}

/// Doubles a backoff, up to [`BACKOFF_MAX`].
pub fn next_backoff(current: Duration) -> Duration {
    (current * 2).clamp(BACKOFF_MIN, BACKOFF_MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        assert_eq!(next_backoff(Duration::ZERO), BACKOFF_MIN);
        assert_eq!(next_backoff(BACKOFF_MIN), Duration::from_millis(200));
        assert_eq!(next_backoff(Duration::from_secs(4)), BACKOFF_MAX);
    }

    #[test]
    fn the_password_file_gives_its_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\nrest\n").unwrap();
        assert_eq!(read_password(&path).unwrap(), "s3cret");
        std::fs::write(&path, "\n").unwrap();
        assert!(read_password(&path).unwrap_err().contains("is empty"));
        assert!(read_password(&dir.path().join("none")).unwrap_err().contains("cannot read"));
    }
}
