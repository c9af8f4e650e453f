//! A look at the journal's tail that costs a few memory loads: whether any
//! online journal file of a [`Source`] has gained an entry since the last
//! [`Tail::mark`], read from the file's header through a read-only mapping,
//! without a call into libsystemd and without a system call.
//!
//! Why: journald tells readers about new entries up to 250 ms late (it
//! coalesces its inotify "post change" into one per 250 ms), while an entry
//! can be read as soon as it is in the file; asking libsystemd (`next()`)
//! every few milliseconds costs ~20 µs a look. journald updates the header
//! (`n_entries`, `tail_entry_seqnum`) as it links each entry in, so two
//! loads from the header page tell whether `next()` has something to find.
//!
//! Which files: the ones libsystemd reads for the source that can still
//! grow: names ending in `.journal` without an `@` (archived files are
//! renamed `NAME@...journal`, and never written again), in the directories
//! `sd_journal_open(3)` and friends read (`/var/log/journal/MACHINE[.NS]`
//! and `/run/log/journal/MACHINE[.NS]`; a directory and its machine-id
//! subdirectories; or the files given), filtered by type as libsystemd's
//! `file_type_wanted()` does (`system*`, `user-UID*`). Files whose header
//! says "archived" are left out. A superset only costs a spare `next()`.
//!
//! Invariants and safety: only the first [`HEADER_BYTES`] bytes are mapped,
//! of a file at least that long whose signature is `LPKSHHRH` and whose
//! `header_size` covers the fields read. Reading a mapping past the end of
//! its file raises SIGBUS; the header is within the first page, and journald
//! never truncates an online file (it grows it with `fallocate` and touches
//! its size only with `ftruncate` to the same size, to notify readers), so
//! the page stays backed; a file replaced (rotation, `journalctl --rotate`,
//! a vacuum) is a new inode at the same path, while the old inode stays
//! intact for as long as it is mapped. libsystemd maps the whole of the same
//! files in this process, so a file cut short by hand would crash it as
//! well: the header mapping adds no failure of its own. [`Tail::rescan`]
//! follows rotation (a path's inode changed, new files, files gone or
//! archived); the daemon calls it when libsystemd reports files added or
//! removed (`SD_JOURNAL_INVALIDATE`) and once a second besides.

use std::ffi::OsStr;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::ptr::NonNull;

use super::sd::Source;

/// The journal file signature (journal-def.h, `HEADER_SIGNATURE`).
const SIGNATURE: &[u8; 8] = b"LPKSHHRH";
/// Offsets in the header (journal-def.h `struct Header`, little-endian).
const STATE: usize = 16;
const HEADER_SIZE: usize = 88;
const N_ENTRIES: usize = 152;
const TAIL_ENTRY_SEQNUM: usize = 160;
/// The bytes mapped and needed: the header of systemd 187 ends with
/// `tail_entry_monotonic` at 200..208; every later header is longer.
pub const HEADER_BYTES: usize = 208;
/// `state` of a file journald closed for good (journal-def.h `STATE_ARCHIVED`).
const STATE_ARCHIVED: u8 = 2;

/// What the header says about the entries: changes whenever one is appended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub n_entries: u64,
    pub tail_entry_seqnum: u64,
}

/// Why a file is not watched.
#[derive(Debug, PartialEq, Eq)]
pub enum Unwatchable {
    /// Shorter than a header: a file journald is creating, or not a journal.
    TooShort(u64),
    /// Not a journal file.
    Signature,
    /// Closed for good: no entry will be added.
    Archived,
    Io(std::io::ErrorKind),
}

/// The first bytes of one journal file, mapped read-only and shared.
pub struct Header {
    ptr: NonNull<u8>,
    /// Keeps the inode while it is watched (for `fstat`).
    file: File,
}

// SAFETY: the mapping is read-only and owned by this value alone.
unsafe impl Send for Header {}

impl Header {
    /// Maps the header of the journal file at `path`, after checking it is
    /// one (see the module doc for why this cannot fault later).
    pub fn open(path: &Path) -> Result<Header, Unwatchable> {
        let file = File::open(path).map_err(|e| Unwatchable::Io(e.kind()))?;
        let len = file.metadata().map_err(|e| Unwatchable::Io(e.kind()))?.len();
        if len < HEADER_BYTES as u64 {
            return Err(Unwatchable::TooShort(len));
        }
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh read-only shared mapping of HEADER_BYTES of a file
        // at least that long; checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(std::ptr::null_mut(), HEADER_BYTES, libc::PROT_READ, libc::MAP_SHARED, file.as_raw_fd(), 0)
        };
        if ptr == libc::MAP_FAILED {
            return Err(Unwatchable::Io(std::io::Error::last_os_error().kind()));
        }
        let header = Header { ptr: NonNull::new(ptr.cast()).expect("mmap returns no null on success"), file };
        let bytes = header.bytes();
        if &bytes[..8] != SIGNATURE {
            return Err(Unwatchable::Signature);
        }
        if u64::from_le_bytes(bytes[HEADER_SIZE..HEADER_SIZE + 8].try_into().unwrap()) < HEADER_BYTES as u64 {
            return Err(Unwatchable::Signature);
        }
        if header.archived() {
            return Err(Unwatchable::Archived);
        }
        Ok(header)
    }

    /// The mapped bytes, for the checks at open (the fields that change are
    /// read with volatile loads, see [`Header::stamp`]).
    fn bytes(&self) -> &[u8] {
        // SAFETY: HEADER_BYTES mapped and readable for self's life.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), HEADER_BYTES) }
    }

    fn load_u64(&self, offset: usize) -> u64 {
        debug_assert!(offset % 8 == 0 && offset + 8 <= HEADER_BYTES);
        // SAFETY: within the mapping and 8-aligned (mmap is page-aligned):
        // an aligned 8-byte load is single-copy atomic, so a value journald
        // writes meanwhile is seen whole, old or new. Volatile: the memory
        // changes under us.
        u64::from_le(unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(offset).cast::<u64>()) })
    }

    /// The entry count and last sequence number, now.
    pub fn stamp(&self) -> Stamp {
        Stamp { n_entries: self.load_u64(N_ENTRIES), tail_entry_seqnum: self.load_u64(TAIL_ENTRY_SEQNUM) }
    }

    pub fn archived(&self) -> bool {
        // SAFETY: within the mapping; a byte load is atomic.
        unsafe { std::ptr::read_volatile(self.ptr.as_ptr().add(STATE)) == STATE_ARCHIVED }
    }

    /// The file is still long enough to hold its header (see the module
    /// doc: journald never cuts one short; this catches a hand's doing at
    /// the next rescan).
    fn still_whole(&self) -> bool {
        self.file.metadata().is_ok_and(|m| m.len() >= HEADER_BYTES as u64)
    }
}

impl Drop for Header {
    fn drop(&mut self) {
        // SAFETY: our own mapping, of that length, unmapped once.
        unsafe { libc::munmap(self.ptr.as_ptr().cast(), HEADER_BYTES) };
    }
}

/// One watched file.
struct Watched {
    path: PathBuf,
    /// (device, inode) of the file mapped: a rotation puts another at `path`.
    id: (u64, u64),
    header: Header,
    /// The stamp at the last mark; `None` for a file found since, which
    /// counts as moved until marked (it may have entries already).
    seen: Option<Stamp>,
}

/// Where a source's online files are.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Places {
    /// Online files in these directories, whose names start with one of
    /// `prefixes` (all names when empty).
    Dirs { dirs: Vec<PathBuf>, prefixes: Vec<String> },
    /// These files, as opened: libsystemd does not follow their paths.
    Files(Vec<PathBuf>),
}

/// The online journal files of a source, their headers mapped.
pub struct Tail {
    places: Places,
    files: Vec<Watched>,
}

impl Tail {
    /// The files of `source`, found and mapped now. `machine_id` is this
    /// host's (/etc/machine-id), `uid` the reader's (for `users`).
    pub fn for_source(source: &Source) -> Tail {
        let machine = std::fs::read_to_string("/etc/machine-id").unwrap_or_default().trim().to_owned();
        // SAFETY: getuid has no preconditions.
        let uid = unsafe { libc::getuid() };
        Tail::with_places(places(source, &machine, uid, Path::new("/var/log/journal"), Path::new("/run/log/journal")))
    }

    fn with_places(places: Places) -> Tail {
        let mut tail = Tail { places, files: Vec::new() };
        tail.rescan();
        tail
    }

    /// Files in `dirs` (for tests and `--journal-dir`-like readers).
    pub fn for_dirs(dirs: Vec<PathBuf>) -> Tail {
        Tail::with_places(Places::Dirs { dirs, prefixes: Vec::new() })
    }

    /// How many files are watched: with none, [`Tail::moved`] can tell
    /// nothing and the caller must ask libsystemd.
    pub fn watched(&self) -> usize {
        self.files.len()
    }

    /// The paths watched, for messages and tests.
    pub fn paths(&self) -> impl Iterator<Item = &Path> {
        self.files.iter().map(|w| w.path.as_path())
    }

    /// Notes every file's stamp: [`Tail::moved`] compares with it. Called
    /// right before libsystemd is asked for the next entry, so that what is
    /// appended after that question is seen as a move.
    pub fn mark(&mut self) {
        for file in &mut self.files {
            file.seen = Some(file.header.stamp());
        }
    }

    /// Whether some file gained an entry (or was found) since the last mark.
    /// Two loads per file, no system call.
    pub fn moved(&self) -> bool {
        self.files.iter().any(|f| f.seen != Some(f.header.stamp()))
    }

    /// Finds the files again: new ones mapped (counting as moved until the
    /// next mark), those replaced at their path mapped anew, those gone,
    /// archived or cut short let go. Costs a directory listing and a `stat`
    /// per online file.
    pub fn rescan(&mut self) {
        let found: Vec<PathBuf> = match &self.places {
            Places::Files(files) => {
                // As opened: only let go of what can no longer grow.
                self.files.retain(|f| !f.header.archived() && f.header.still_whole());
                if !self.files.is_empty() || files.is_empty() {
                    return;
                }
                // The first scan (or none could be mapped yet).
                files.clone()
            }
            Places::Dirs { dirs, prefixes } => online_files(dirs, prefixes),
        };
        let mut kept = Vec::with_capacity(found.len());
        for path in found {
            let Ok(meta) = std::fs::metadata(&path) else { continue };
            let id = (meta.dev(), meta.ino());
            if let Some(i) = self.files.iter().position(|f| f.path == path && f.id == id) {
                let file = self.files.swap_remove(i);
                if !file.header.archived() && file.header.still_whole() {
                    kept.push(file);
                }
                continue;
            }
            if let Ok(header) = Header::open(&path) {
                kept.push(Watched { path, id, header, seen: None });
            }
        }
        self.files = kept;
    }
}

/// Where `source`'s online files are (see the module doc).
fn places(source: &Source, machine: &str, uid: u32, var: &Path, run: &Path) -> Places {
    let system = vec!["system".to_owned()];
    match source {
        Source::System { users, other_machines } => {
            let mut prefixes = system;
            if *users {
                prefixes.push(format!("user-{uid}"));
            }
            let dirs = if *other_machines {
                let mut dirs = Vec::new();
                for root in [var, run] {
                    dirs.push(root.to_owned());
                    dirs.extend(machine_dirs(root));
                }
                dirs
            } else {
                vec![var.join(machine), run.join(machine)]
            };
            Places::Dirs { dirs, prefixes }
        }
        Source::Namespace(name) => {
            let dir = format!("{machine}.{name}");
            Places::Dirs { dirs: vec![var.join(&dir), run.join(&dir)], prefixes: system }
        }
        Source::Directory(dir) => {
            let mut dirs = vec![dir.clone()];
            dirs.extend(machine_dirs(dir));
            Places::Dirs { dirs, prefixes: Vec::new() }
        }
        Source::Files(files) => Places::Files(files.clone()),
    }
}

/// The machine-id subdirectories of `root` (32 hex digits, no namespace).
fn machine_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else { return Vec::new() };
    entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            name.len() == 32 && name.as_bytes().iter().all(u8::is_ascii_hexdigit)
        })
        .map(|e| e.path())
        .collect()
}

/// Whether `name` is a journal file that may still be written.
fn online_name(name: &OsStr, prefixes: &[String]) -> bool {
    let name = name.as_bytes();
    name.ends_with(b".journal")
        && !name.contains(&b'@')
        && (prefixes.is_empty() || prefixes.iter().any(|p| name.starts_with(p.as_bytes())))
}

fn online_files(dirs: &[PathBuf], prefixes: &[String]) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else { continue };
        files.extend(entries.flatten().filter(|e| online_name(&e.file_name(), prefixes)).map(|e| e.path()));
    }
    files
}

#[cfg(test)]
#[path = "tail_tests.rs"]
pub(crate) mod tests;
