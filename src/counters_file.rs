//! The counters' file, `counters.json` in the storage directory: the live
//! counters saved with the journal position (so a restart forgives no one)
//! and taken back at start. The bytes are the counters' own format
//! (`Counters::save`); this module owns the file: its name, the crash-safe
//! replacement, and what happens to a damaged one (moved aside as
//! `counters.json.bad` for the administrator, the counters start empty).

use std::path::{Path, PathBuf};

use crate::diag;
use crate::workflow::Workflow;

/// The counters' file in the storage directory.
const COUNTERS_FILE: &str = "counters.json";

pub fn path(storage: &Path) -> PathBuf {
    storage.join(COUNTERS_FILE)
}

/// Saves the live counters of `workflow` at `now_us`, then gives the copy's
/// memory back to the system (see [`crate::memory`]).
pub fn save(workflow: &mut Workflow, storage: &Path, now_us: u64) {
    let bytes = workflow.counters_mut().save(now_us);
    let path = path(storage);
    if let Err(e) = crate::durable::replace_file(&path, &bytes) {
        diag!(Err, "cannot save the counters to {}: {e}", path.display());
    }
    drop(bytes);
    // The save builds a copy of every key and the whole file in memory:
    // with a million keys, hundreds of MB that glibc would otherwise keep
    // (benches/live.rs measured 225 MB before a save, 413 MB after).
    crate::memory::release_free_heap();
}

/// Takes back the counters saved by the last run, as of `now_us`.
pub fn restore(workflow: &mut Workflow, storage: &Path, now_us: u64) {
    let path = path(storage);
    let bytes = match crate::durable::read_if_exists(&path) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => return,
        Err(e) => {
            diag!(Err, "cannot read the saved counters {}: {e}; starting without them", path.display());
            return;
        }
    };
    match workflow.counters_mut().restore(&bytes, now_us) {
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
            diag!(Err, "{}: {e}; moved to {}, starting without saved counters", path.display(), aside.display());
        }
    }
}
