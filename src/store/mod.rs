//! The ban store: every ban banwarden made, so that bans outlive reboots.
//!
//! One store per firewall backend, in the storage directory:
//!
//! - `action_nftBan.json` (or `action_ipsetBan.json`): the snapshot, in
//!   Pyruse's format, a JSON list of `{"IP", "nfSet" (or "ipSet"),
//!   "timestamp"}` where `timestamp` is the Unix time the ban ends, `0` for a
//!   permanent one. Administrators read and edit it by hand;
//! - `action_nftBan.json.log`: the bans and unbans made since the snapshot
//!   was written, one JSON object per line, appended and `fsync`ed once per
//!   batch. Writing a ban costs one appended line, not a rewrite;
//! - `action_nftBan.json.lock`: an `flock(2)` lock, held by whoever writes
//!   (the daemon, the `ban`/`unban` commands), so no update is lost.
//!
//! The snapshot is rewritten (temporary file, `fsync`, `rename`, `fsync` of
//! the directory) once the log has grown as large as the snapshot, so the
//! rewrite cost per ban is bounded whatever the number of bans, and
//! expired bans are dropped then. A crash at any instant leaves a snapshot
//! that parses and a log whose complete lines are all durable: a torn last
//! line was never acknowledged (bans are stored before they are sent to the
//! kernel), so every ban the kernel accepted is on disk.
//!
//! Before every write the store looks at both files: if someone else
//! appended (the CLI) it reads the new lines; if the snapshot changed (an
//! administrator's edit) it reloads it and replays the log on top, since
//! the log holds bans the administrator could not see.
//!
//! What people write by hand is read leniently (a byte-order mark,
//! comments, trailing commas), and nothing that was on disk is ever lost
//! by being misread: a snapshot that still cannot be parsed is kept as it
//! is and never rewritten (new bans go on in the log; [`compact`] says
//! why it refuses, with the place), and a record that does not make sense
//! (a bad address, set or time) is reported and, at the next rewrite,
//! moved verbatim to `action_nftBan.json.rejected` with the reason instead
//! of being dropped.
//!
//! [`compact`]: BanStore::compact
//!
//! Two readers skip the index, for commands that need less than the
//! whole store in memory: [`BulkStore`] (every record once, for `boot`) and
//! [`scan`] (the records of one address, for `list ADDRESS`).
//!
//! Pyruse named the files `action_nftBan.py.json` and
//! `action_ipsetBan.py.json`: when the new file does not exist yet, the old
//! one is read as the snapshot, and the next rewrite creates the new one.

mod bulk;
pub(crate) mod files;
mod index;
mod parse;
mod reason;
pub mod scan;
mod settle;
mod write;

#[cfg(test)]
mod tests;

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::vocab::Until;
use crate::vocab::{Backend, Network, Reason, SetRef};
pub use bulk::BulkStore;
use files::Meta;
use index::Index;
pub use settle::settle_ends;
use write::{write_record, SetNames};

fn until_from_seconds(secs: f64) -> Option<Until> {
    if secs == 0.0 {
        Some(Until::Forever)
    } else if secs > 0.0 && secs < 1e13 {
        Some(Until::At((secs * 1e6).round() as u64))
    } else {
        None
    }
}

/// One ban: an address or network in a set, until a time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub net: Network,
    pub set: SetRef,
    pub until: Until,
    /// When the ban was decided (µs; 0: not known, as in Pyruse's records),
    /// kept as `"start"` beside Pyruse's keys: a ban put back later never
    /// gets more time than its own length, whatever the clock says then.
    pub start: u64,
    /// Who decided its end (`rule sshd#3`, `cli root`, `api alice`: see
    /// [`crate::vocab::Origin::tag`]), kept as `"by"` beside Pyruse's keys
    /// (which Pyruse ignores); `None` when not known.
    pub by: Option<Arc<str>>,
    /// Why (see [`Reason`]), kept as `"why"` beside Pyruse's keys: the
    /// reason of the ban that set the current end (a ban that changes no
    /// end changes no record); `None` when not known.
    pub why: Option<Arc<Reason>>,
}

impl Record {
    /// The record's place in the index.
    fn slot(&self) -> index::Slot {
        index::Slot {
            set: self.set.clone(),
            until: self.until,
            start: self.start,
            by: self.by.clone(),
            why: self.why.clone(),
        }
    }

    /// The time to give the kernel at `now_us`: what is left, never more
    /// than the ban's own length (a clock set back before NTP at boot would
    /// otherwise turn a 7-day ban into years); `None` when permanent.
    pub fn time_left(&self, now_us: u64) -> Option<std::time::Duration> {
        let left = self.until.left(now_us)?;
        match self.until {
            Until::At(end) if self.start > 0 && end > self.start => {
                Some(left.min(std::time::Duration::from_micros(end - self.start)))
            }
            _ => Some(left),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: io::Error },
    #[error("{path}: {why}; not rewritten while it cannot be read (fix it by hand; new bans are kept in the log)")]
    Unreadable { path: PathBuf, why: String },
}

impl StoreError {
    /// The kind of failure, without the path (for counting).
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            StoreError::Io { error, .. } => error.kind(),
            StoreError::Unreadable { .. } => io::ErrorKind::InvalidData,
        }
    }
}

/// A ban store on disk and in memory.
pub struct BanStore {
    backend: Backend,
    snapshot: PathBuf,
    log: PathBuf,
    lock: PathBuf,
    /// The records, by address, with their ends in order.
    records: Index,
    /// What the files looked like when last read or written by us.
    known: Meta,
    /// Problems met while reading (bad hand-written records), for the caller to report.
    pub warnings: Vec<String>,
    /// Why the snapshot could not be read, with the place: it is then
    /// never rewritten.
    unreadable: Option<(PathBuf, String)>,
    /// Records that could not be read, verbatim, with why: moved to the
    /// `.rejected` file at the next rewrite.
    rejected: Vec<(String, String)>,
    /// The lock, while a caller holds the store across several steps
    /// ([`hold`](Self::hold)).
    held: Option<File>,
    /// Times others' writes were taken in (see [`refresh`](Self::refresh)).
    others: u64,
}

/// The file name stem of a backend's store.
pub fn file_name(backend: Backend) -> String {
    format!("{}.json", backend.action_name())
}

fn set_key(backend: Backend) -> &'static str {
    match backend {
        Backend::Nft => "nfSet",
        Backend::Ipset => "ipSet",
    }
}

impl BanStore {
    /// Opens (and reads) the store of `backend` in `storage`, creating the
    /// directory if needed.
    pub fn open(storage: &Path, backend: Backend) -> Result<BanStore, StoreError> {
        std::fs::create_dir_all(storage).map_err(|error| StoreError::Io { path: storage.into(), error })?;
        let snapshot = storage.join(file_name(backend));
        let mut store = BanStore {
            backend,
            log: snapshot.with_extension("json.log"),
            lock: snapshot.with_extension("json.lock"),
            snapshot,
            records: Index::default(),
            known: Meta::default(),
            warnings: Vec::new(),
            unreadable: None,
            rejected: Vec::new(),
            held: None,
            others: 0,
        };
        let _guard = store.locked()?;
        store.reload()?;
        Ok(store)
    }

    /// Whether `storage` holds any file of this backend's store (new or
    /// Pyruse's), so callers need not create one just to find it empty.
    pub fn exists(storage: &Path, backend: Backend) -> bool {
        let snapshot = storage.join(file_name(backend));
        let legacy = storage.join(format!("{}.py.json", backend.action_name()));
        snapshot.exists() || snapshot.with_extension("json.log").exists() || legacy.exists()
    }

    pub fn snapshot_path(&self) -> &Path {
        &self.snapshot
    }

    fn io(&self, path: &Path) -> impl Fn(io::Error) -> StoreError {
        let path = path.to_owned();
        move |error| StoreError::Io { path: path.clone(), error }
    }

    /// The lock for one operation; none needed while the store is held.
    fn locked(&self) -> Result<Option<File>, StoreError> {
        match self.held {
            Some(_) => Ok(None),
            None => files::lock(&self.lock).map_err(self.io(&self.lock)),
        }
    }

    /// Holds the store's lock until [`release`](Self::release), so that
    /// what the caller does in between (sending to the kernel what it just
    /// stored, or what it read) is not interleaved with another writer's
    /// update (an `unban` while `boot` sends would be undone).
    pub fn hold(&mut self) -> Result<(), StoreError> {
        if self.held.is_none() {
            self.held = self.locked()?;
        }
        Ok(())
    }

    pub fn release(&mut self) {
        self.held = None;
    }

    /// Reads the snapshot (or Pyruse's old file) and replays the whole log.
    fn reload(&mut self) -> Result<(), StoreError> {
        self.records.clear();
        self.unreadable = None;
        self.rejected.clear();
        let legacy = self.snapshot.with_file_name(format!("{}.py.json", self.backend.action_name()));
        let source = if self.snapshot.exists() || !legacy.exists() { self.snapshot.clone() } else { legacy };
        match std::fs::read(&source) {
            Ok(bytes) => self.load_snapshot(&source, &bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path: source, error: e }),
        }
        let tail = files::read_from(&self.log, 0).map_err(self.io(&self.log))?;
        self.apply_log(&tail);
        self.known = Meta::of(&self.snapshot, &self.log);
        Ok(())
    }

    fn load_snapshot(&mut self, path: &Path, bytes: &[u8]) {
        let relaxed;
        let items = match parse::list_items(bytes) {
            Ok(items) => items,
            Err(strict) => match parse::relaxed(bytes) {
                Some(text) if parse::list_items(&text).is_ok() => {
                    self.warnings.push(format!(
                        "{}: line {}, column {}: {strict}; read leniently (byte-order mark, comments or trailing \
                         commas), the next rewrite makes it plain JSON",
                        path.display(),
                        strict.line(),
                        strict.column()
                    ));
                    relaxed = text;
                    parse::list_items(&relaxed).expect("parsed just above")
                }
                _ => {
                    let why = match strict.is_data() {
                        true => "not a JSON list of bans".to_owned(),
                        false => format!("line {}, column {}: {strict}", strict.line(), strict.column()),
                    };
                    self.warnings.push(format!(
                        "{}: {why}; its bans are not read, and the file is kept as it is (never rewritten) \
                         until it is fixed",
                        path.display()
                    ));
                    self.unreadable = Some((path.to_owned(), why));
                    return;
                }
            },
        };
        let mut reader = parse::Reader::new(self.backend);
        self.records.reserve(items.len());
        for (i, item) in items.into_iter().enumerate() {
            match reader.record(item) {
                Ok(record) => {
                    let record = record.into_record();
                    self.records.insert(record.net, record.slot());
                }
                Err(why) => {
                    self.warnings.push(format!(
                        "{}: record {i}: {why}; skipped, and kept aside in {} at the next rewrite",
                        path.display(),
                        self.rejected_path().display()
                    ));
                    self.rejected.push((item.to_owned(), why));
                }
            }
        }
    }

    fn apply_log(&mut self, bytes: &[u8]) {
        let mut reader = parse::Reader::new(self.backend);
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            if line.is_empty() {
                continue;
            }
            let parsed = std::str::from_utf8(line).map_err(|_| "not UTF-8".to_owned()).and_then(|l| reader.record(l));
            match parsed {
                Ok(r) if r.op.as_deref() == Some("ban") => {
                    let r = r.into_record();
                    self.records.insert(r.net, r.slot());
                }
                Ok(r) if r.op.as_deref() == Some("unban") => {
                    self.records.remove(r.net, &r.set);
                }
                Ok(r) => self.warnings.push(format!(
                    "{}: line {}: unknown op {:?}; skipped",
                    self.log.display(),
                    i + 1,
                    r.op.unwrap_or_default()
                )),
                // A torn last line is a write that never completed, hence
                // was never acknowledged; anything else is worth a word.
                Err(_) if !bytes.ends_with(b"\n") && bytes.ends_with(line) => {}
                Err(why) => {
                    self.warnings.push(format!(
                        "{}: line {}: {why}; skipped, and kept aside in {} at the next rewrite",
                        self.log.display(),
                        i + 1,
                        self.rejected_path().display()
                    ));
                    self.rejected.push((String::from_utf8_lossy(line).into_owned(), why));
                }
            }
        }
    }

    /// Takes in what others wrote (the `ban`/`unban` commands, an edit by
    /// hand) since we last looked (two `stat`s when nothing changed, no
    /// lock taken then); how many times others' writes were taken in so
    /// far, by this or by any operation (which all catch up first).
    pub fn refresh(&mut self) -> Result<u64, StoreError> {
        let now = Meta::of(&self.snapshot, &self.log);
        if now.snapshot != self.known.snapshot || now.log_id != self.known.log_id || now.log_len != self.known.log_len {
            let _guard = self.locked()?;
            self.catch_up()?;
        }
        Ok(self.others)
    }

    /// Takes in what others wrote since we last looked (under the lock).
    fn catch_up(&mut self) -> Result<(), StoreError> {
        let now = Meta::of(&self.snapshot, &self.log);
        if now.snapshot != self.known.snapshot || now.log_id != self.known.log_id || now.log_len < self.known.log_len {
            self.others += 1;
            self.reload()?;
        } else if now.log_len > self.known.log_len {
            self.others += 1;
            let tail = files::read_from(&self.log, self.known.log_len).map_err(self.io(&self.log))?;
            self.apply_log(&tail);
            self.known.log_len = now.log_len;
        }
        Ok(())
    }

    fn write_record(&self, out: &mut Vec<u8>, names: &mut SetNames, op: Option<&str>, r: &Record) {
        write_record(self.backend, out, names, op, r)
    }

    /// Stores bans (a re-ban replaces the end time), durably, before the
    /// caller sends them to the kernel.
    pub fn ban(&mut self, records: &[Record], now_us: u64) -> Result<(), StoreError> {
        if records.is_empty() {
            return Ok(());
        }
        let _guard = self.locked()?;
        self.catch_up()?;
        let mut lines = Vec::with_capacity(records.len() * 80);
        let mut names = SetNames::default();
        for r in records {
            self.write_record(&mut lines, &mut names, Some("ban"), r);
            lines.push(b'\n');
        }
        self.append_locked(&lines)?;
        for r in records {
            self.records.insert(r.net, r.slot());
        }
        self.compact_if_due(now_us)
    }

    /// Stores bans whose ends `decide` settles from what is stored, all
    /// under the store's lock, so that no other writer comes between reading
    /// an end and writing the next. `decide(current, i)` gives the end of
    /// `asked[i]` from the current end of its address and set (a live stored
    /// one, or the one an earlier request of this batch settled; `None`:
    /// not banned). One record per address and set is written, and only
    /// where its end changed. Returns the end settled for each request.
    pub fn settle(
        &mut self,
        asked: &[Record],
        now_us: u64,
        decide: &mut dyn FnMut(Option<Until>, usize) -> Until,
    ) -> Result<Vec<Until>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        let (ends, changed) = settle_ends(asked, now_us, decide, |ip, set| {
            self.records
                .of(ip)
                .iter()
                .find(|slot| slot.set == *set)
                .map(|slot| slot.until)
                .filter(|u| u.is_live(now_us))
        });
        let mut lines = Vec::with_capacity(changed.len() * 80);
        let mut names = SetNames::default();
        for r in &changed {
            self.write_record(&mut lines, &mut names, Some("ban"), r);
            lines.push(b'\n');
        }
        self.append_locked(&lines)?;
        for r in &changed {
            self.records.insert(r.net, r.slot());
        }
        self.compact_if_due(now_us)?;
        Ok(ends)
    }

    /// Forgets bans; returns those that were stored.
    pub fn unban(&mut self, keys: &[(Network, SetRef)], now_us: u64) -> Result<Vec<Record>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        let removed: Vec<Record> = keys
            .iter()
            .filter_map(|(ip, set)| {
                let slot = self.records.remove(*ip, set)?;
                Some(record((*ip, &slot)))
            })
            .collect();
        let mut lines = Vec::new();
        let mut names = SetNames::default();
        for r in &removed {
            self.write_record(&mut lines, &mut names, Some("unban"), r);
            lines.push(b'\n');
        }
        if let Err(e) = self.append_locked(&lines) {
            for r in &removed {
                self.records.insert(r.net, r.slot());
            }
            return Err(e);
        }
        self.compact_if_due(now_us)?;
        Ok(removed)
    }

    /// Appends lines to the log; the caller holds the lock and has caught up.
    /// Appends complete lines (each ending in a newline), durably.
    fn append_locked(&mut self, lines: &[u8]) -> Result<(), StoreError> {
        if lines.is_empty() {
            return Ok(());
        }
        files::append(&self.log, lines).map_err(self.io(&self.log))?;
        self.known.log_len += lines.len() as u64;
        if self.known.log_id.is_none() {
            self.known = Meta::of(&self.snapshot, &self.log);
        }
        Ok(())
    }

    /// Rewrites the snapshot once the log is as large as it: each byte of a
    /// ban is then rewritten a bounded number of times, however many bans.
    /// Not while the snapshot cannot be read: the log grows meanwhile.
    fn compact_if_due(&mut self, now_us: u64) -> Result<(), StoreError> {
        let due = self.known.log_len > self.known.snapshot.map_or(0, |s| s.len).max(64 * 1024);
        if due && self.unreadable.is_none() {
            self.compact_locked(now_us, true)?;
        }
        Ok(())
    }

    /// Rewrites the snapshot with the records and empties the log;
    /// `drop_ended`: without the records that ended by `now_us` (not at
    /// boot, when the clock may not be right yet). Refused while the
    /// snapshot cannot be read.
    pub fn compact(&mut self, now_us: u64, drop_ended: bool) -> Result<(), StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        self.compact_locked(now_us, drop_ended)
    }

    /// `action_nftBan.json.rejected`: what could not be read, kept.
    pub fn rejected_path(&self) -> PathBuf {
        self.snapshot.with_extension("json.rejected")
    }

    /// Appends the records that could not be read to the `.rejected` file.
    fn keep_rejected(&mut self) -> Result<(), StoreError> {
        if self.rejected.is_empty() {
            return Ok(());
        }
        let mut lines = Vec::new();
        for (record, why) in &self.rejected {
            let line = serde_json::json!({"record": record, "why": why, "from": self.snapshot.display().to_string()});
            serde_json::to_writer(&mut lines, &line).expect("a JSON value serialises");
            lines.push(b'\n');
        }
        let path = self.rejected_path();
        files::append(&path, &lines).map_err(self.io(&path))?;
        self.rejected.clear();
        Ok(())
    }

    fn compact_locked(&mut self, now_us: u64, drop_ended: bool) -> Result<(), StoreError> {
        if let Some((path, why)) = &self.unreadable {
            return Err(StoreError::Unreadable { path: path.clone(), why: why.clone() });
        }
        let dropped = if drop_ended { self.records.drop_ended(now_us) } else { 0 };
        let unchanged =
            dropped == 0 && self.known.log_len == 0 && self.known.snapshot.is_some() && self.rejected.is_empty();
        if unchanged {
            // The snapshot already says exactly this (a second `boot`).
            return Ok(());
        }
        // Before the snapshot that no longer holds them is written.
        self.keep_rejected()?;
        let mut list: Vec<(Network, &index::Slot)> = self.records.iter().collect();
        list.sort_unstable_by(|a, b| (a.0, &a.1.set).cmp(&(b.0, &b.1.set)));
        // One record per line: still Pyruse's JSON list, and easy to edit.
        let mut text = Vec::with_capacity(list.len() * 80 + 4);
        let mut names = SetNames::default();
        text.push(b'[');
        for (i, (ip, slot)) in list.into_iter().enumerate() {
            text.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
            self.write_record(&mut text, &mut names, None, &record((ip, slot)));
        }
        text.extend_from_slice(b"\n]\n");
        crate::durable::replace_file(&self.snapshot, &text).map_err(self.io(&self.snapshot))?;
        // After the new snapshot is durable, the log is redundant; a crash
        // before the truncation only replays operations already in it.
        files::truncate(&self.log).map_err(self.io(&self.log))?;
        self.known = Meta::of(&self.snapshot, &self.log);
        Ok(())
    }

    /// How many records are held, expired ones included.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.len() == 0
    }

    /// The live records (after taking in what others wrote), sorted by
    /// set, then address.
    pub fn live(&mut self, now_us: u64) -> Result<Vec<Record>, StoreError> {
        let mut out = self.live_unsorted(now_us)?;
        out.sort_unstable_by(|a, b| (&a.set, a.net).cmp(&(&b.set, b.net)));
        Ok(out)
    }

    /// The live records of `sets` only, in no particular order.
    pub fn live_in(&mut self, sets: &[SetRef], now_us: u64) -> Result<Vec<Record>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        let mine = |slot: &index::Slot| slot.until.is_live(now_us) && sets.contains(&slot.set);
        Ok(self.records.iter().filter(|(_, slot)| mine(slot)).map(record).collect())
    }

    /// [`live`](Self::live) in no particular order (cheaper for a million).
    pub fn live_unsorted(&mut self, now_us: u64) -> Result<Vec<Record>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        Ok(self.records.iter().filter(|(_, slot)| slot.until.is_live(now_us)).map(record).collect())
    }

    /// The live bans of one address, by set: one lookup in the index, after
    /// taking in what others wrote (two `stat`s when nothing changed).
    pub fn lookup(&mut self, ip: Network, now_us: u64) -> Result<Vec<(SetRef, Until)>, StoreError> {
        Ok(self.records_of(ip, now_us)?.into_iter().map(|r| (r.set, r.until)).collect())
    }

    /// [`lookup`](Self::lookup), as whole records.
    pub fn records_of(&mut self, ip: Network, now_us: u64) -> Result<Vec<Record>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        Ok(self.records.of(ip).iter().filter(|slot| slot.until.is_live(now_us)).map(|s| record((ip, s))).collect())
    }

    /// The live bans of the networks that hold `net` (itself excluded).
    pub fn covering(&mut self, net: Network, now_us: u64) -> Result<Vec<Record>, StoreError> {
        let _guard = self.locked()?;
        self.catch_up()?;
        Ok(self.records.covering(net).filter(|(_, slot)| slot.until.is_live(now_us)).map(record).collect())
    }

    /// The live bans of the addresses and networks inside `net` (itself
    /// excluded), as this handle knows them (the caller holds the store or
    /// has just caught up).
    pub fn inside_known(&self, net: Network, now_us: u64) -> Vec<Record> {
        self.records.inside(net).filter(|(_, slot)| slot.until.is_live(now_us)).map(record).collect()
    }

    /// [`covering`](Self::covering) as this handle knows it.
    /// Whether a live record of one of `sets` overlaps `net` (holds it,
    /// is it, or lies inside it), from what is known (no file read).
    pub fn overlaps_known(&self, net: Network, sets: &[SetRef], now_us: u64) -> bool {
        let live = |slot: &index::Slot| slot.until.is_live(now_us) && sets.contains(&slot.set);
        self.records.of(net).iter().any(live)
            || self.records.covering(net).any(|(_, slot)| live(slot))
            || self.records.inside(net).any(|(_, slot)| live(slot))
    }

    pub fn covering_known(&self, net: Network, now_us: u64) -> Vec<Record> {
        self.records.covering(net).filter(|(_, slot)| slot.until.is_live(now_us)).map(record).collect()
    }

    /// When the next timed ban ends, as far as this handle knows.
    pub fn next_end(&self) -> Option<u64> {
        self.records.next_end()
    }
}

fn record((net, slot): (Network, &index::Slot)) -> Record {
    Record {
        net,
        set: slot.set.clone(),
        until: slot.until,
        start: slot.start,
        by: slot.by.clone(),
        why: slot.why.clone(),
    }
}
