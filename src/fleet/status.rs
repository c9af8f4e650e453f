//! What the fleet's thread tells the operator: `fleet.status` in the
//! storage directory, a small JSON file replaced (write, rename) once a
//! second while the daemon runs, read by `banwarden fleet status`.
//!
//! It holds no secret: the URL is shown without its password.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The status file's name in the storage directory.
pub const FILE: &str = "fleet.status";

/// Counts per origin host.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PerHost {
    /// Bans and unbans applied here (stored and in the kernel, or already so).
    pub applied: u64,
    /// Refused here: never-ban list, allow sets, unknown set, failures.
    pub refused: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The daemon's process ID (to tell a stale file).
    pub pid: u32,
    /// When this file was written (seconds since the epoch).
    pub updated: u64,
    /// `fleet.host`.
    pub host: String,
    /// `fleet.stream`.
    pub stream: String,
    /// The server in use (or last tried), without password.
    pub redis: String,
    pub connected: bool,
    /// Since when connected or not (seconds since the epoch).
    pub since: u64,
    /// The last error, while not connected.
    pub last_error: Option<String>,
    /// The stream ID of the last entry applied (saved with the cursor).
    pub position: Option<String>,
    /// Entries of the stream after `position` (from `XINFO`), when known.
    pub lag_entries: Option<u64>,
    /// Age of the newest entry not yet applied, in ms (0: none behind).
    pub lag_ms: Option<u64>,
    /// Entries this host published since it started.
    pub published: u64,
    /// Decisions waiting in the spool to be published.
    pub pending: u64,
    /// Entries refused as malformed or hostile (see the log for each).
    pub malformed: u64,
    /// Resynchronisations from the snapshot (the stream was trimmed past
    /// this host's position, or this host was new).
    pub resyncs: u64,
    /// By origin host.
    pub hosts: BTreeMap<String, PerHost>,
}

impl Status {
    /// Writes the file (to a temporary name, then renamed over).
    pub fn write(&self, storage: &Path) -> std::io::Result<()> {
        let path = storage.join(FILE);
        let tmp = storage.join(format!("{FILE}.tmp"));
        let text = serde_json::to_vec_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&tmp, text)?;
        std::fs::rename(tmp, path)
    }

    /// Reads the file of `storage`, if any.
    pub fn read(storage: &Path) -> std::io::Result<Option<Status>> {
        match std::fs::read(storage.join(FILE)) {
            Ok(text) => serde_json::from_slice(&text).map(Some).map_err(std::io::Error::other),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_then_read() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Status::read(dir.path()).unwrap(), None);
        let mut status = Status { host: "web-1".into(), connected: true, published: 3, ..Status::default() };
        status.hosts.insert("web-2".into(), PerHost { applied: 5, refused: 1 });
        status.write(dir.path()).unwrap();
        assert_eq!(Status::read(dir.path()).unwrap(), Some(status));
    }
}
