//! One daemon per storage directory. Two `banwarden run` on one storage
//! would both judge every entry, both count each other's recidive lines
//! (two real bans became a 30-day one) and race on the cursor and the
//! counters. The daemon holds an exclusive `flock(2)` on `daemon.lock` in
//! the storage directory for as long as it runs; a second one finds it held
//! and refuses to start, naming the first one's PID. The kernel drops the
//! lock with the process, so a crash never leaves a stale lock behind.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

const LOCK_FILE: &str = "daemon.lock";

/// The lock, held until dropped.
pub struct StorageLock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("another banwarden daemon (pid {pid}) is running on {storage}: one daemon per storage directory")]
    Held { storage: PathBuf, pid: String },
    #[error("cannot lock {path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
}

impl StorageLock {
    pub fn take(storage: &Path) -> Result<StorageLock, LockError> {
        let path = storage.join(LOCK_FILE);
        let io = |error| LockError::Io { path: path.clone(), error };
        std::fs::create_dir_all(storage).map_err(io)?;
        let mut file =
            OpenOptions::new().create(true).truncate(false).read(true).write(true).open(&path).map_err(io)?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let error = std::io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(io(error));
            }
            let mut pid = String::new();
            let _ = file.read_to_string(&mut pid);
            let pid = pid.trim().to_owned();
            return Err(LockError::Held {
                storage: storage.to_owned(),
                pid: if pid.is_empty() { "?".into() } else { pid },
            });
        }
        // Who holds it, for the message of the next one.
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .map_err(io)?;
        Ok(StorageLock { _file: file })
    }
}

/// The PID of the daemon that holds the lock on `storage` (as it wrote it,
/// "unknown" if it wrote none), or `None` when no daemon holds it. Only
/// looks: a shared lock, refused while a daemon holds its exclusive one,
/// released at once; the file is never created.
pub fn holder(storage: &Path) -> Option<String> {
    let path = storage.join(LOCK_FILE);
    let file = File::open(&path).ok()?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) } == 0 {
        return None;
    }
    let pid = std::fs::read_to_string(&path).unwrap_or_default().trim().to_owned();
    Some(if pid.is_empty() { "unknown".into() } else { pid })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_daemon_is_refused_until_the_first_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let first = StorageLock::take(dir.path()).unwrap();
        let err = StorageLock::take(dir.path()).err().expect("held").to_string();
        assert!(err.contains(&format!("(pid {})", std::process::id())), "{err}");
        assert_eq!(holder(dir.path()), Some(std::process::id().to_string()));
        drop(first);
        assert_eq!(holder(dir.path()), None);
        assert!(StorageLock::take(dir.path()).is_ok(), "free once the first is gone");
    }
}
