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
//!
//! Read back as a stream ([`Counters::restore`]): each key goes into its
//! table as soon as it is parsed, so restoring holds no more than the
//! tables themselves (a million keys: the whole file as a map of strings
//! first peaked at 335 MB).

use std::fmt;
use std::io::Write;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
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

    /// Takes back what [`save`](Self::save) wrote, read from `reader` as it
    /// is parsed, into the categories this configuration has; what has
    /// expired by `now_us` is not restored. On an error, the keys read
    /// before it stay.
    pub fn restore(&mut self, reader: impl std::io::Read, now_us: u64) -> Result<Restored, String> {
        self.apportion();
        let mut restored = Restored::default();
        let mut de = serde_json::Deserializer::from_reader(reader);
        FileSeed { counters: self, now_us, restored: &mut restored }
            .deserialize(&mut de)
            .and_then(|()| de.end())
            .map_err(|e| e.to_string())?;
        Ok(restored)
    }
}

/// The whole file: `{"version":1,"categories":{...}}`, version first (as
/// written; a file with an unknown one is refused before any key).
struct FileSeed<'a> {
    counters: &'a mut Counters,
    now_us: u64,
    restored: &'a mut Restored,
}

impl<'de> DeserializeSeed<'de> for FileSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FileSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("the counters: an object with version and categories")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        use serde::de::Error as _;
        let mut version = None;
        let mut categories = false;
        while let Some(name) = map.next_key::<String>()? {
            match name.as_str() {
                "version" => {
                    let v: u32 = map.next_value()?;
                    if v != 1 {
                        return Err(A::Error::custom(format_args!("unknown format version {v}")));
                    }
                    version = Some(v);
                }
                "categories" => {
                    map.next_value_seed(CategoriesSeed {
                        counters: &mut *self.counters,
                        now_us: self.now_us,
                        restored: &mut *self.restored,
                    })?;
                    categories = true;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        match (version, categories) {
            (None, _) => Err(A::Error::missing_field("version")),
            (_, false) => Err(A::Error::missing_field("categories")),
            _ => Ok(()),
        }
    }
}

/// `{"sshd": {KEY: {...}, ...}, ...}`: each category into its table.
struct CategoriesSeed<'a> {
    counters: &'a mut Counters,
    now_us: u64,
    restored: &'a mut Restored,
}

impl<'de> DeserializeSeed<'de> for CategoriesSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for CategoriesSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of counters by name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key::<String>()? {
            let index = self.counters.by_name.get(&name).copied();
            let seed =
                KeysSeed { counters: &mut *self.counters, index, now_us: self.now_us, restored: &mut *self.restored };
            let any = map.next_value_seed(seed)?;
            if index.is_none() && any {
                self.restored.dropped_categories.push(name);
            }
        }
        Ok(())
    }
}

/// `{KEY: {"ticks": [...], "grace_until_us": N}, ...}` of one category,
/// into its table (`index`), or skipped if the configuration has no such
/// counter; whether it had a key.
struct KeysSeed<'a> {
    counters: &'a mut Counters,
    index: Option<usize>,
    now_us: u64,
    restored: &'a mut Restored,
}

impl<'de> DeserializeSeed<'de> for KeysSeed<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for KeysSeed<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let mut any = false;
        while let Some(key) = map.next_key::<String>()? {
            any = true;
            let Some(index) = self.index else {
                map.next_value::<IgnoredAny>()?;
                continue;
            };
            let saved: SavedKey = map.next_value()?;
            let table = &mut self.counters.categories[index].keys;
            let ticks_us = saved.ticks.iter().map(|t| t.unwrap_or(NEVER)).collect();
            let ticks = Ticks::from_parts(ticks_us, saved.grace_until_us, self.now_us, table.max_ticks());
            if table.restore(&key, ticks, self.now_us) {
                self.restored.keys += 1;
            } else {
                self.restored.expired += 1;
            }
        }
        Ok(any)
    }
}
