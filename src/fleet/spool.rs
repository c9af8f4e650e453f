//! The fleet's outgoing queue on disk, `fleet.spool` in the storage
//! directory: what this host decided and has not yet published.
//!
//! One JSON object per line, appended under an exclusive `flock` and put
//! on disk (`fsync`) before the fleet counts on it: by the fleet's thread
//! as the loop hands it decisions, and by `banwarden ban --fleet` /
//! `unban --fleet`, which need no daemon running (their lines are
//! published at its next start). The fleet's thread reads it from where it
//! stopped, publishes in file order, and empties it (under the lock, only
//! when it has read all of it) once everything read is published. After a
//! crash the lines are read again: a line published twice changes nothing
//! on the other hosts (an entry applied twice is a no-op), so nothing is
//! lost and nothing goes wrong. A torn last line (a crash mid-write) is
//! skipped with a warning.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The spool's file name in the storage directory.
pub const FILE: &str = "fleet.spool";

/// One line: a decision as the fleet will publish it (the host is the
/// publisher's own `fleet.host`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// `ban` or `unban`.
    pub op: String,
    /// The set's shared name.
    pub set: String,
    pub net: String,
    /// Seconds since the epoch, rounded up; 0: for good (bans only).
    #[serde(default)]
    pub end: u64,
    /// Who decided it here (`rule sshd#3`, `cli root`, ...).
    #[serde(default)]
    pub by: String,
}

pub struct Spool {
    path: PathBuf,
    file: File,
    /// How far it has been read.
    read: u64,
}

/// Holds `flock(LOCK_EX)` on the spool until dropped.
struct Locked<'a>(&'a File);

impl<'a> Locked<'a> {
    fn take(file: &'a File) -> io::Result<Locked<'a>> {
        // SAFETY: flock on a descriptor we own; it blocks for the time
        // another writer takes to append a few lines.
        match unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } {
            0 => Ok(Locked(file)),
            _ => Err(io::Error::last_os_error()),
        }
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        // SAFETY: as above.
        unsafe { libc::flock(self.0.as_raw_fd(), libc::LOCK_UN) };
    }
}

impl Spool {
    /// Opens (or makes, mode 0600) the spool of `storage`.
    pub fn open(storage: &Path) -> io::Result<Spool> {
        use std::os::unix::fs::OpenOptionsExt;
        let path = storage.join(FILE);
        let file = OpenOptions::new().read(true).append(true).create(true).mode(0o600).open(&path)?;
        Ok(Spool { path, file, read: 0 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `lines` and puts them on disk.
    pub fn append(&mut self, lines: &[Line]) -> io::Result<()> {
        self.write(lines, false).map(|_| ())
    }

    /// [`append`](Self::append) for the reader of the spool: when nothing
    /// unread was before them, they count as read (the caller has them:
    /// `true`); otherwise [`read_new`](Self::read_new) gives them after the
    /// lines before them, in order.
    pub fn append_owned(&mut self, lines: &[Line]) -> io::Result<bool> {
        self.write(lines, true)
    }

    fn write(&mut self, lines: &[Line], owned: bool) -> io::Result<bool> {
        if lines.is_empty() {
            return Ok(true);
        }
        let mut text = Vec::with_capacity(lines.len() * 80);
        for line in lines {
            serde_json::to_writer(&mut text, line).map_err(io::Error::other)?;
            text.push(b'\n');
        }
        let _lock = Locked::take(&self.file)?;
        let before = self.file.metadata()?.len();
        (&self.file).write_all(&text)?;
        self.file.sync_data()?;
        let caught_up = owned && before == self.read;
        if caught_up {
            self.read += text.len() as u64;
        }
        Ok(caught_up)
    }

    /// The lines written since the last call (by anyone), in order; a torn
    /// or unreadable line goes to `warn` and is skipped.
    pub fn read_new(&mut self, warn: &mut dyn FnMut(String)) -> io::Result<Vec<Line>> {
        let len = self.file.metadata()?.len();
        if len < self.read {
            // Emptied by another process's publisher (not ours): start over.
            self.read = 0;
        }
        if len == self.read {
            return Ok(Vec::new());
        }
        let mut text = Vec::with_capacity((len - self.read) as usize);
        let mut file = &self.file;
        file.seek(SeekFrom::Start(self.read))?;
        file.take(len - self.read).read_to_end(&mut text)?;
        // Only whole lines: one being written is read next time.
        let whole = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.read += whole as u64;
        let mut out = Vec::new();
        for (i, raw) in text[..whole].split(|&b| b == b'\n').enumerate() {
            if raw.is_empty() {
                continue;
            }
            match serde_json::from_slice::<Line>(raw) {
                Ok(line) => out.push(line),
                Err(e) => warn(format!(
                    "{}: line {} after the last read is not a spool line ({e}); skipped",
                    self.path.display(),
                    i + 1
                )),
            }
        }
        Ok(out)
    }

    /// Empties the spool if nothing was added since it was last read
    /// (everything read is published); whether it did.
    pub fn clear_if_read(&mut self) -> io::Result<bool> {
        // Nothing read, nothing to empty: an idle publisher looks every
        // second, and must not lock, truncate and fsync an empty file each
        // time.
        if self.read == 0 {
            return Ok(false);
        }
        let _lock = Locked::take(&self.file)?;
        if self.file.metadata()?.len() != self.read {
            return Ok(false);
        }
        self.file.set_len(0)?;
        self.file.sync_data()?;
        self.read = 0;
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(net: &str) -> Line {
        Line { op: "ban".into(), set: "ban4".into(), net: net.into(), end: 1_765_000_000, by: "cli root".into() }
    }

    #[test]
    fn lines_written_by_two_writers_are_read_in_order_then_cleared() {
        let dir = tempfile::tempdir().unwrap();
        let mut daemon = Spool::open(dir.path()).unwrap();
        let mut cli = Spool::open(dir.path()).unwrap();
        daemon.append(&[line("192.0.2.1")]).unwrap();
        cli.append(&[line("192.0.2.2"), line("192.0.2.3")]).unwrap();
        let read = daemon.read_new(&mut |w| panic!("{w}")).unwrap();
        assert_eq!(read.iter().map(|l| l.net.as_str()).collect::<Vec<_>>(), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        assert!(daemon.read_new(&mut |w| panic!("{w}")).unwrap().is_empty());
        cli.append(&[line("192.0.2.4")]).unwrap();
        assert!(!daemon.clear_if_read().unwrap(), "a line not read yet keeps the spool");
        assert_eq!(daemon.read_new(&mut |w| panic!("{w}")).unwrap(), [line("192.0.2.4")]);
        assert!(daemon.clear_if_read().unwrap());
        assert_eq!(std::fs::metadata(daemon.path()).unwrap().len(), 0);
        // Its own lines, written when it had read everything, count as read.
        assert!(daemon.append_owned(&[line("192.0.2.5")]).unwrap());
        assert!(daemon.read_new(&mut |w| panic!("{w}")).unwrap().is_empty());
        cli.append(&[line("192.0.2.6")]).unwrap();
        assert!(!daemon.append_owned(&[line("192.0.2.7")]).unwrap(), "after an unread line: read in order");
        assert_eq!(daemon.read_new(&mut |w| panic!("{w}")).unwrap(), [line("192.0.2.6"), line("192.0.2.7")]);
    }

    #[test]
    fn a_torn_line_waits_and_a_bad_one_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::open(dir.path()).unwrap();
        std::fs::write(
            spool.path(),
            b"not json\n{\"op\":\"ban\",\"set\":\"s\",\"net\":\"192.0.2.9\",\"end\":0}\n{\"op\":",
        )
        .unwrap();
        let mut warnings = Vec::new();
        let read = spool.read_new(&mut |w| warnings.push(w)).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0].net, "192.0.2.9");
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(!spool.clear_if_read().unwrap(), "the torn line is not read yet");
    }
}
