//! The counters on disk: JSON, by counter name, then key, the expiry times
//! of the live ticks (`null`: never) and the end of the grace period, in µs
//! since the epoch:
//!
//! `{"version":1,"categories":{"sshd":{"192.0.2.1":{"ticks":[1763700600000000]}}}}`
//!
//! Written a slice of slots at a time ([`Counters::save_some`]): a save of
//! a million keys takes the loop a few hundred short turns instead of one
//! long stop. A slot's key is written as it stands when the walk passes
//! it, so the file is the state of each key at some instant of the save; a
//! key dropped and made again meanwhile may appear twice, the later (newer)
//! one winning when read back.

use std::collections::BTreeMap;
use std::io::Write;

use serde::Deserialize;

use super::keys::{Ticks, NEVER};
use super::Counters;

/// Where a save stands: the next slot of the next category to write.
#[derive(Debug)]
pub struct SaveCursor {
    now_us: u64,
    category: usize,
    slot: usize,
    /// The current category's object is open, and whether a key is in it.
    open: bool,
    any_key: bool,
    done: bool,
}

impl SaveCursor {
    /// The time the save leaves expired ticks out by.
    pub fn now_us(&self) -> u64 {
        self.now_us
    }

    pub fn is_done(&self) -> bool {
        self.done
    }
}

#[derive(Deserialize)]
struct Saved {
    version: u32,
    categories: BTreeMap<String, BTreeMap<String, SavedKey>>,
}

#[derive(Deserialize)]
struct SavedKey {
    #[serde(default)]
    ticks: Vec<Option<u64>>,
    #[serde(default)]
    grace_until_us: u64,
}

/// What [`Counters::restore`] took back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub keys: usize,
    /// Keys whose ticks had all expired and whose grace was over.
    pub expired: usize,
    /// Categories the configuration no longer has (with keys).
    pub dropped_categories: Vec<String>,
}

fn write_key(out: &mut Vec<u8>, key: &str, ticks: &Ticks, now_us: u64) {
    serde_json::to_writer(&mut *out, key).expect("a string serialises");
    out.extend_from_slice(b":{");
    let mut live = ticks.iter().filter(|&t| t > now_us).peekable();
    let grace = ticks.grace_until_us();
    if live.peek().is_some() {
        out.extend_from_slice(b"\"ticks\":[");
        for (i, t) in live.enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match t {
                NEVER => out.extend_from_slice(b"null"),
                t => {
                    let _ = write!(out, "{t}");
                }
            }
        }
        out.push(b']');
        if grace > now_us {
            out.push(b',');
        }
    }
    if grace > now_us {
        let _ = write!(out, "\"grace_until_us\":{grace}");
    }
    out.push(b'}');
}

impl Counters {
    /// Begins a save of the live state at `now_us`; nothing is written yet.
    pub fn save_start(&self, now_us: u64) -> SaveCursor {
        SaveCursor { now_us, category: 0, slot: 0, open: false, any_key: false, done: false }
    }

    /// Writes up to `slots` more slots' worth of the save to `out`; whether
    /// the save is complete. The cursor must come from these counters.
    pub fn save_some(&self, cursor: &mut SaveCursor, out: &mut Vec<u8>, mut slots: usize) -> bool {
        if cursor.done {
            return true;
        }
        if cursor.category == 0 && !cursor.open && cursor.slot == 0 && out.is_empty() {
            out.extend_from_slice(b"{\"version\":1,\"categories\":{");
        }
        while let Some(category) = self.categories.get(cursor.category) {
            if !cursor.open {
                if cursor.category > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, &category.name).expect("a string serialises");
                out.extend_from_slice(b":{");
                cursor.open = true;
                cursor.any_key = false;
            }
            let table = &category.keys;
            while cursor.slot < table.slot_count() {
                if slots == 0 {
                    return false;
                }
                slots -= 1;
                if let Some((key, ticks)) = table.slot(cursor.slot) {
                    if !ticks.is_idle(cursor.now_us) {
                        if cursor.any_key {
                            out.push(b',');
                        }
                        write_key(out, key, ticks, cursor.now_us);
                        cursor.any_key = true;
                    }
                }
                cursor.slot += 1;
            }
            out.push(b'}');
            cursor.open = false;
            cursor.slot = 0;
            cursor.category += 1;
        }
        out.extend_from_slice(b"}}");
        cursor.done = true;
        true
    }

    /// The whole live state at `now_us`, at once (shutdown, tests).
    pub fn save(&self, now_us: u64) -> Vec<u8> {
        let mut cursor = self.save_start(now_us);
        let mut out = Vec::new();
        self.save_some(&mut cursor, &mut out, usize::MAX);
        out
    }

    /// Takes back what [`save`](Self::save) wrote, into the categories this
    /// configuration has; what has expired by `now_us` is not restored.
    pub fn restore(&mut self, bytes: &[u8], now_us: u64) -> Result<Restored, String> {
        self.apportion();
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if saved.version != 1 {
            return Err(format!("unknown format version {}", saved.version));
        }
        let mut restored = Restored::default();
        for (name, keys) in saved.categories {
            let Some(&index) = self.by_name.get(&name) else {
                if !keys.is_empty() {
                    restored.dropped_categories.push(name);
                }
                continue;
            };
            let table = &mut self.categories[index].keys;
            for (key, saved_key) in keys {
                let ticks_us = saved_key.ticks.iter().map(|t| t.unwrap_or(NEVER)).collect();
                if table.restore(&key, Ticks::from_parts(ticks_us, saved_key.grace_until_us, now_us), now_us) {
                    restored.keys += 1;
                } else {
                    restored.expired += 1;
                }
            }
        }
        Ok(restored)
    }
}
