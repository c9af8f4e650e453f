//! The systemd journal, read through libsystemd (`sd-journal`).
//!
//! [`JournalReader`] opens the system journal, a namespace, a directory (for
//! instance logs gathered by systemd-journal-remote) or files, positions
//! itself (at the end, at the start, at a time, or right after a saved
//! cursor) and fills an [`Entry`] with the next record.
//!
//! Only the fields some rule names are copied out, one `sd_journal_get_data`
//! each: libsystemd's cost is per field read, so copying every field of
//! every record would halve throughput (see shared/notes). Names the rules
//! compute (`thatIP`, `failures`) are never looked up: journal field names
//! are upper case, digits and `_` only (systemd.journal-fields(7)).
//! Values that are not UTF-8 are decoded with the configured 8-bit encoding.
//!
//! Whether the journal has moved is asked of the online files' headers
//! first ([`Tail`]): a look costs two memory loads per file, where asking
//! libsystemd costs ~20 µs. The reader marks the headers right before each
//! `next()`, so an entry appended after libsystemd said "no more" always
//! shows as a move.
//!
//! `systemd::journal::Journal` is not `Send`: a reader lives on the thread
//! that opened it.

use std::ffi::{CStr, CString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use systemd::journal::{Journal, JournalWaitResult, OpenDirectoryOptions, OpenFilesOptions, OpenOptions};

use super::tail::Tail;

use crate::entry::{Entry, TextDecoder};
use crate::fields::{FieldId, FieldTable, REALTIME_TIMESTAMP};

/// Which journal to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The local system journal (system units and the kernel), and with
    /// `users` the users' journals too. With `other_machines` also the
    /// journals of other machines found below /var/log/journal (containers
    /// linked in by systemd-nspawn `--link-journal`, systemd-journal-remote's
    /// files): their `_` fields are written by their own root, so they are
    /// left out unless the configuration asks (`journalOtherMachines`).
    System { users: bool, other_machines: bool },
    /// A journal namespace (`journalctl --namespace`), e.g. of a service run
    /// with `LogNamespace=`.
    Namespace(String),
    /// Every journal file below a directory.
    Directory(PathBuf),
    /// These journal files.
    Files(Vec<PathBuf>),
}

impl Source {
    /// A short name for messages and for the cursor file.
    pub fn describe(&self) -> String {
        match self {
            Source::System { users, other_machines } => {
                let users = if *users { " and user journals" } else { " journal" };
                let others = if *other_machines { ", other machines' journals included" } else { "" };
                format!("the system{users}{others}")
            }
            Source::Namespace(name) => format!("journal namespace {name:?}"),
            Source::Directory(dir) => format!("journal directory {}", dir.display()),
            Source::Files(files) => {
                let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
                format!("journal files {}", names.join(", "))
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("cannot open {source_name}: {error}")]
    Open { source_name: String, error: systemd::Error },
    #[error("{what}: {error}")]
    Io { what: &'static str, error: systemd::Error },
    #[error("{0:?} contains a NUL byte")]
    Nul(String),
}

fn io(what: &'static str) -> impl FnOnce(systemd::Error) -> JournalError {
    move |error| JournalError::Io { what, error }
}

/// Where a saved cursor put the reader.
#[derive(Debug, PartialEq, Eq)]
pub enum Resume {
    /// Right after the entry of the cursor.
    AfterCursor,
    /// The cursor's entry is gone (vacuumed, rotated away, another journal):
    /// at the first entry after its position, which will be read next.
    CursorGone,
}

/// Whether `name` can be a journal field (systemd.journal-fields(7): upper
/// case letters, digits and underscores, not starting with a digit).
pub fn is_journal_field(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

pub struct JournalReader {
    journal: Journal,
    /// Every journal field the rules use, with its name for `get_data`.
    wanted: Vec<(FieldId, CString)>,
    /// `__CURSOR` when some rule uses it (it costs a call per entry).
    cursor_field: Option<FieldId>,
    decoder: TextDecoder,
    /// The reader stands on an entry not read yet (after a cursor that was
    /// gone): the next `next_into` reads it instead of moving on.
    standing_on_unread: bool,
    /// Fields that could not be read since the last `take_unreadable`.
    unreadable: u64,
    /// The online files' headers, marked before each `next()`.
    tail: Tail,
}

impl JournalReader {
    pub fn open(source: &Source, fields: &FieldTable, decoder: TextDecoder) -> Result<JournalReader, JournalError> {
        let opened = match source {
            // SD_JOURNAL_LOCAL_ONLY, as journalctl without --merge: only
            // files of this machine id (sd_journal_open(3)).
            Source::System { users, other_machines } => {
                OpenOptions::default().system(true).current_user(*users).local_only(!*other_machines).open()
            }
            Source::Namespace(name) => {
                let name = CString::new(name.as_str()).map_err(|_| JournalError::Nul(name.clone()))?;
                OpenOptions::default().system(true).open_namespace(name.as_c_str())
            }
            Source::Directory(dir) => {
                let dir = path_cstring(dir)?;
                OpenDirectoryOptions::default().open_directory(dir.as_c_str())
            }
            Source::Files(files) => {
                let files = files.iter().map(|f| path_cstring(f)).collect::<Result<Vec<_>, _>>()?;
                OpenFilesOptions::default().open_files(files.iter().map(CString::as_c_str))
            }
        };
        let journal = opened.map_err(|error| JournalError::Open { source_name: source.describe(), error })?;
        let mut reader = JournalReader {
            journal,
            wanted: Vec::new(),
            cursor_field: None,
            decoder,
            standing_on_unread: false,
            unreadable: 0,
            tail: Tail::for_source(source),
        };
        reader.set_fields(fields, decoder);
        Ok(reader)
    }

    /// Reads these fields from the next entry on, decoding 8-bit text with
    /// `decoder` (a configuration reloaded may name others).
    pub fn set_fields(&mut self, fields: &FieldTable, decoder: TextDecoder) {
        self.wanted = fields
            .iter()
            .filter(|(id, name)| *id != REALTIME_TIMESTAMP && !name.starts_with("__") && is_journal_field(name))
            .map(|(id, name)| (id, CString::new(name).expect("journal field names have no NUL")))
            .collect();
        self.cursor_field = fields.get("__CURSOR");
        self.decoder = decoder;
    }

    /// Positions after the last entry: only entries written from now on
    /// will be read.
    pub fn seek_tail(&mut self) -> Result<(), JournalError> {
        self.journal.seek_tail().map_err(io("seeking the end of the journal"))?;
        self.standing_on_unread = false;
        // sd_journal_seek_tail() leaves no current entry: step back onto the
        // last one, then forward past everything, so that the next `next()`
        // returns only what is appended later.
        if self.journal.previous().map_err(io("reading the journal"))? == 0 {
            // No entry at all (a namespace's journald just started, say):
            // everything written from now on is new, so read from the head.
            // Left at the tail of an empty journal, libsystemd skipped the
            // entries appended in the next few milliseconds (measured: a
            // burst of 50 written right after opening lost its first 31).
            return self.seek_head();
        }
        while self.journal.next().map_err(io("reading the journal"))? > 0 {}
        Ok(())
    }

    pub fn seek_head(&mut self) -> Result<(), JournalError> {
        self.standing_on_unread = false;
        self.journal.seek_head().map_err(io("seeking the start of the journal"))
    }

    /// Positions before the first entry at or after `time_us`.
    pub fn seek_time(&mut self, time_us: u64) -> Result<(), JournalError> {
        self.standing_on_unread = false;
        self.journal.seek_realtime_usec(time_us).map_err(io("seeking a time in the journal"))
    }

    /// Positions right after the entry of `cursor`, the last one processed.
    pub fn seek_after_cursor(&mut self, cursor: &str) -> Result<Resume, JournalError> {
        let c = CString::new(cursor).map_err(|_| JournalError::Nul(cursor.to_owned()))?;
        self.journal.seek_cursor(c.as_c_str()).map_err(io("seeking the saved cursor"))?;
        // seek_cursor() moves to the cursor's place; next() lands on its
        // entry if it still exists, or on the first one after that place.
        if self.journal.next().map_err(io("reading the journal"))? == 0 {
            self.standing_on_unread = false;
            return Ok(Resume::AfterCursor);
        }
        let same = self.journal.test_cursor(c.as_c_str()).map_err(io("checking the saved cursor"))?;
        self.standing_on_unread = !same;
        Ok(if same { Resume::AfterCursor } else { Resume::CursorGone })
    }

    /// Moves to the next entry and fills `entry` with it; `Ok(false)` at the
    /// end of the journal (for now: more may be appended).
    pub fn next_into(&mut self, entry: &mut Entry) -> Result<bool, JournalError> {
        if self.standing_on_unread {
            self.standing_on_unread = false;
        } else {
            // Before asking: what is appended from now on moves the tail.
            self.tail.mark();
            if self.journal.next().map_err(io("reading the journal"))? == 0 {
                return Ok(false);
            }
        }
        entry.clear();
        let time_us = self.journal.timestamp_usec().map_err(io("reading an entry's time"))?;
        entry.set_time_us(time_us);
        for (id, name) in &self.wanted {
            // A field that cannot be read (a corrupted object: EBADMSG) is
            // absent for the rules, and counted for the administrator.
            match self.journal.get_data(name.as_c_str()) {
                Ok(Some(field)) => {
                    if let Some(value) = field.value() {
                        entry.set_bytes(*id, value, &self.decoder);
                    }
                }
                Ok(None) => {}
                Err(_) => self.unreadable += 1,
            }
        }
        if let Some(id) = self.cursor_field {
            if let Ok(cursor) = self.journal.cursor() {
                entry.set(id, &cursor);
            }
        }
        Ok(true)
    }

    /// How many fields could not be read (corrupted journal objects) since
    /// the last call.
    pub fn take_unreadable(&mut self) -> u64 {
        std::mem::take(&mut self.unreadable)
    }

    /// The cursor of the entry last read.
    pub fn cursor(&self) -> Result<String, JournalError> {
        self.journal.cursor().map_err(io("reading the journal cursor"))
    }

    /// The file descriptor to poll for changes; `None` when the journal
    /// cannot be watched (e.g. files opened one by one).
    pub fn fd(&self) -> Option<i32> {
        self.journal.fd().ok()
    }

    /// After the descriptor signalled, lets libsystemd take note of the
    /// change (new files, rotation), as sd_journal_process(3) requires; when
    /// files came or went, the tail's files are found again too.
    pub fn process(&mut self) -> Result<(), JournalError> {
        let result = self.journal.process().map_err(io("processing journal changes"))?;
        if matches!(result, JournalWaitResult::Invalidate) {
            self.tail.rescan();
        }
        Ok(())
    }

    /// Whether an online file has gained an entry since the reader last
    /// asked libsystemd for one (two loads per file, see [`Tail`]); `None`
    /// when no file can be watched (none found yet, say), and only
    /// libsystemd can tell.
    pub fn tail_moved(&self) -> Option<bool> {
        (self.tail.watched() > 0).then(|| self.tail.moved())
    }

    /// Finds the online files again (see [`Tail::rescan`]): a safety net
    /// for a rotation libsystemd's notification would not have shown.
    pub fn rescan_tail(&mut self) {
        self.tail.rescan();
    }

    /// The files whose headers are looked at.
    pub fn tail_files(&self) -> Vec<PathBuf> {
        self.tail.paths().map(Path::to_owned).collect()
    }

    /// Waits for a change at most `timeout` (sd_journal_wait(3)).
    pub fn wait(&mut self, timeout: Duration) -> Result<(), JournalError> {
        self.journal.wait(Some(timeout)).map(|_| ()).map_err(io("waiting for the journal"))
    }

    /// A field of the entry last read, decoded as the rules' fields are
    /// (for a ban's reason: read only when a ban is decided).
    pub fn current_field(&mut self, name: &CStr) -> Option<String> {
        let field = self.journal.get_data(name).ok()??;
        field.value().map(|value| self.decoder.decode(value).into_owned())
    }

    /// Every field of the entry at `cursor` (`why`), in the journal's
    /// order; `None` when that entry is no longer in the journal (vacuumed,
    /// rotated away, or from another journal).
    pub fn entry_at(&mut self, cursor: &str) -> Result<Option<Vec<(String, String)>>, JournalError> {
        let c = CString::new(cursor).map_err(|_| JournalError::Nul(cursor.to_owned()))?;
        self.standing_on_unread = false;
        self.journal.seek_cursor(c.as_c_str()).map_err(io("seeking a ban's cursor"))?;
        if self.journal.next().map_err(io("reading the journal"))? == 0
            || !self.journal.test_cursor(c.as_c_str()).map_err(io("checking a ban's cursor"))?
        {
            return Ok(None);
        }
        let mut fields = Vec::new();
        self.journal.restart_data();
        while let Some(field) = self.journal.enumerate_data().map_err(io("reading an entry's fields"))? {
            let name = String::from_utf8_lossy(field.name()).into_owned();
            let value = field.value().map(|v| self.decoder.decode(v).into_owned()).unwrap_or_default();
            fields.push((name, value));
        }
        Ok(Some(fields))
    }
}

/// Lets go of the journal pages mapped in this process: libsystemd reads
/// journal files through shared read-only mappings and keeps up to 64
/// windows of 8 MiB mapped (its mmap cache), so after reading a burst the
/// process's RSS shows tens of megabytes of journal file. `MADV_DONTNEED` on
/// a shared file mapping only drops our page-table entries (madvise(2)):
/// the mapping stays valid and a later read faults the same page back in
/// from the page cache, which journald shares. Returns the bytes released.
pub fn release_mapped_journal_pages() -> usize {
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else { return 0 };
    let mut released = 0;
    for line in maps.lines() {
        // "start-end perms offset dev inode path"
        let mut parts = line.split_whitespace();
        let (Some(range), Some(perms)) = (parts.next(), parts.next()) else { continue };
        let Some(path) = parts.nth(3) else { continue };
        let journal_file = path.ends_with(".journal") || path.ends_with(".journal~");
        // Shared and not writable: libsystemd's reader mappings, and the
        // tail's header pages (which the next look faults back in: a minor
        // fault, once per release).
        if !journal_file || !perms.starts_with("r-") || perms.as_bytes().get(3) != Some(&b's') {
            continue;
        }
        let Some((start, end)) = range.split_once('-') else { continue };
        let (Ok(start), Ok(end)) = (usize::from_str_radix(start, 16), usize::from_str_radix(end, 16)) else { continue };
        // SAFETY: the range is a whole mapping of this process, shared and
        // read-only, for which MADV_DONTNEED discards nothing but PTEs.
        if unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) } == 0 {
            released += end - start;
        }
    }
    released
}

fn path_cstring(path: &Path) -> Result<CString, JournalError> {
    use std::os::unix::ffi::OsStrExt;
    CString::new(path.as_os_str().as_bytes()).map_err(|_| JournalError::Nul(path.display().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_field_names() {
        for name in ["MESSAGE", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER", "__CURSOR", "CODE_LINE", "X2"] {
            assert!(is_journal_field(name), "{name}");
        }
        for name in ["thatIP", "failures", "2X", "", "MESS AGE", "message"] {
            assert!(!is_journal_field(name), "{name}");
        }
    }
}
