//! The counters' file, `counters.json` in the storage directory: the live
//! counters saved with the journal position (so a restart forgives no one)
//! and taken back at start. The bytes are the counters' own format
//! (`actions::counter::saved`); this module owns the file: its name, the
//! crash-safe replacement, and what happens to a damaged one (moved aside
//! as `counters.json.bad` for the administrator; the keys read before the
//! damage are kept, since the file is read as a stream).
//!
//! A save never stops the loop for long ([`Saver`]): the loop writes the
//! JSON a slice of keys per turn (about a millisecond each), then hands the
//! bytes to a thread of their own, which replaces the file (write, fsync,
//! rename: `durable`) while the loop goes on judging. Only the save at
//! shutdown is written at once.

use std::path::{Path, PathBuf};
use std::thread::JoinHandle;

use crate::actions::counter::SaveCursor;
use crate::diag;
use crate::workflow::Workflow;

/// The counters' file in the storage directory.
const COUNTERS_FILE: &str = "counters.json";

/// Slots a save writes per turn of the loop: about half a millisecond of
/// work (a million keys: 108 ms in all, the longest slice of 8,192 took
/// 4.9 ms, growing the buffer; half as many keep it near 2 ms).
pub const SLOTS_PER_TURN: usize = 4_096;

pub fn path(storage: &Path) -> PathBuf {
    storage.join(COUNTERS_FILE)
}

/// A save of the counters in progress: being written a slice at a time, or
/// being written to disk by its thread.
pub struct Saver {
    path: PathBuf,
    walk: Option<(SaveCursor, Vec<u8>)>,
    writing: Option<JoinHandle<()>>,
}

impl Saver {
    pub fn new(storage: &Path) -> Saver {
        Saver { path: path(storage), walk: None, writing: None }
    }

    /// Whether a save is being written in slices (the loop should call
    /// [`step`](Self::step) rather than wait long).
    pub fn is_walking(&self) -> bool {
        self.walk.is_some()
    }

    /// Starts a save of the live state at `now_us`, unless the last one is
    /// still going on (a slow disk): then it is skipped, and the caller
    /// tries again later. Whether it started.
    pub fn start(&mut self, workflow: &Workflow, now_us: u64) -> bool {
        if self.walk.is_some() || self.writing.as_ref().is_some_and(|w| !w.is_finished()) {
            return false;
        }
        if let Some(done) = self.writing.take() {
            let _ = done.join();
        }
        self.walk = Some((workflow.state().counters.save_start(now_us), Vec::new()));
        true
    }

    /// One slice of the save; the last one hands the bytes to a thread.
    pub fn step(&mut self, workflow: &Workflow) {
        let Some((cursor, bytes)) = &mut self.walk else { return };
        if !workflow.state().counters.save_some(cursor, bytes, SLOTS_PER_TURN) {
            return;
        }
        let (_, bytes) = self.walk.take().expect("walking");
        let path = self.path.clone();
        let spawned = std::thread::Builder::new().name("counters-save".into()).spawn(move || write(&path, bytes));
        match spawned {
            Ok(handle) => self.writing = Some(handle),
            Err(e) => diag!(Err, "cannot start the thread saving the counters: {e}; they are saved at the next turn"),
        }
    }

    /// Drops a save being walked (the counters it walks are replaced by a
    /// reload); the next is started as usual.
    pub fn abandon(&mut self) {
        self.walk = None;
    }

    /// The save at shutdown: the whole state now, written before returning
    /// (after a write still in progress).
    pub fn finish(&mut self, workflow: &Workflow, now_us: u64) {
        self.walk = None;
        if let Some(writing) = self.writing.take() {
            let _ = writing.join();
        }
        write(&self.path, workflow.state().counters.save(now_us));
    }
}

/// Replaces the file with `bytes`, then gives the copy's memory back to
/// the system (see [`crate::memory`]).
fn write(path: &Path, bytes: Vec<u8>) {
    if let Err(e) = crate::durable::replace_file(path, &bytes) {
        diag!(Err, "cannot save the counters to {}: {e}", path.display());
    }
    drop(bytes);
    // The file's text for a million keys is tens of MB, which glibc
    // would otherwise keep.
    crate::memory::release_free_heap();
}

/// Takes back the counters saved by the last run, as of `now_us`.
pub fn restore(workflow: &mut Workflow, storage: &Path, now_us: u64) {
    let path = path(storage);
    let file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            diag!(Err, "cannot read the saved counters {}: {e}; starting without them", path.display());
            return;
        }
    };
    // Parsed as it is read: the file's text is never held whole.
    match workflow.counters_mut().restore(std::io::BufReader::with_capacity(64 * 1024, file), now_us) {
        Ok(restored) => {
            diag!(
                Info,
                "restored {} counter keys from {} ({} expired meanwhile)",
                restored.keys,
                path.display(),
                restored.expired
            );
            if !restored.dropped_categories.is_empty() {
                diag!(
                    Notice,
                    "counters no rule uses any more were dropped: {}",
                    restored.dropped_categories.join(", ")
                );
            }
        }
        Err(e) => {
            let aside = path.with_extension("json.bad");
            let _ = std::fs::rename(&path, &aside);
            diag!(
                Err,
                "{}: {e}; moved to {}, keeping only the keys read before the damage",
                path.display(),
                aside.display()
            );
        }
    }
    // The tables grew by doubling while keys came.
    crate::memory::release_free_heap();
}
