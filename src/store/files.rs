//! The file operations of the ban store, each durable when it returns.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// What identifies a version of a file: someone else's write changes it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Version {
    pub inode: u64,
    pub len: u64,
    pub mtime_ns: i128,
}

impl Version {
    fn of(path: &Path) -> Option<Version> {
        let m = fs::metadata(path).ok()?;
        Some(Version {
            inode: m.ino(),
            len: m.len(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        })
    }
}

/// The state of a store's two files.
#[derive(Clone, Copy, Debug, Default)]
pub struct Meta {
    pub snapshot: Option<Version>,
    /// The log's inode (a replaced log means: reload).
    pub log_id: Option<u64>,
    pub log_len: u64,
}

impl Meta {
    pub fn of(snapshot: &Path, log: &Path) -> Meta {
        let log_version = Version::of(log);
        Meta {
            snapshot: Version::of(snapshot),
            log_id: log_version.map(|v| v.inode),
            log_len: log_version.map_or(0, |v| v.len),
        }
    }
}

/// Takes the store's exclusive lock, waiting for it. On a read-only file
/// system (a boot whose disk went read-only) nobody can write the store
/// anyway: the lock file is locked read-only if it exists, and the store is
/// read without a lock if not (`None`).
pub fn lock(path: &Path) -> io::Result<Option<File>> {
    let file = match OpenOptions::new().create(true).truncate(false).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.raw_os_error() == Some(libc::EROFS) => match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        },
        Err(e) => return Err(e),
    };
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Some(file))
}

/// The bytes of `path` from `offset` on (empty when it does not exist).
pub fn read_from(path: &Path, offset: u64) -> io::Result<Vec<u8>> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Appends the bytes in one write and makes them durable.
///
/// A crash in the middle of an earlier append can leave a last line cut
/// short. Those bytes were never acknowledged, and readers ignore them; but
/// appending after them would glue the first new line to them and lose it.
/// So a torn tail is cut off first (back to the last newline). A last line
/// that is whole but lacks its newline (written by hand) is a record
/// readers took in: it gets its newline instead.
pub fn append(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let new = !path.exists();
    let mut file = OpenOptions::new().create(true).read(true).append(true).open(path)?;
    end_last_line(&mut file)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    if new {
        sync_dir(path)?;
    }
    Ok(())
}

/// When `file` does not end with a newline: a last line that is a whole
/// JSON value gets one; anything else (a torn write) is cut off after the
/// last newline.
fn end_last_line(file: &mut File) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let len = file.metadata()?.len();
    let mut byte = [0u8];
    if len == 0 || (file.read_exact_at(&mut byte, len - 1).is_ok() && byte[0] == b'\n') {
        return Ok(());
    }
    // Look backwards, a block at a time, for the last newline.
    let mut end = len;
    let mut block = vec![0u8; 64 << 10];
    let mut line_start = 0;
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let chunk = &mut block[..(end - start) as usize];
        file.read_exact_at(chunk, start)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            line_start = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    // A record is a few hundred bytes: a longer "line" is no record.
    if len - line_start <= 64 << 10 {
        let mut tail = vec![0u8; (len - line_start) as usize];
        file.read_exact_at(&mut tail, line_start)?;
        if serde_json::from_slice::<serde::de::IgnoredAny>(&tail).is_ok() {
            return file.write_all(b"\n");
        }
    }
    file.set_len(line_start)
}

/// Empties the file (if it exists), durably.
pub fn truncate(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).open(path) {
        Ok(file) => {
            file.set_len(0)?;
            file.sync_all()
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// A rename or a creation is durable once its directory is (fsync(2)).
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path.parent().unwrap_or(Path::new(".")))?.sync_all()
}
