//! Reading a whole store in one pass, for `boot`: every record once, in a
//! flat list, without the index, and without the file in memory.
//!
//! [`BanStore::open`] keeps the snapshot's bytes while it builds its index,
//! and the index costs some 200 bytes a record: 370 MB for 1,000,000 bans.
//! `boot` needs neither: it reads each record, sends the live ones and, if
//! the log held anything, rewrites the snapshot. So the snapshot is read in
//! blocks, split into its items as they come, and each record is kept as a
//! plain [`Record`] (64 bytes); the log, read first, says which snapshot
//! records it replaced or lifted.
//!
//! This path takes only the files banwarden writes. Anything else (a
//! hand-edited snapshot that is not plain JSON, a record that cannot be
//! read, two records of one address and set, Pyruse's old file name) makes
//! [`BulkStore::open`] answer `None`, and the caller opens the store the
//! careful way, which reports and keeps what it cannot read. The store's
//! lock is held from the read to the rewrite, as [`BanStore::hold`] does.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::parse::Reader;
use super::{file_name, files, write_record, Record, SetNames, StoreError};
use crate::vocab::{Backend, Network, SetRef};

/// A store read whole into a list, its lock held until dropped.
pub struct BulkStore {
    backend: Backend,
    snapshot: PathBuf,
    log: PathBuf,
    /// Every record (live or not), sorted by address then set, one per
    /// address and set.
    pub records: Vec<Record>,
    /// The log held lines: the snapshot is rewritten with them by
    /// [`rewrite`](Self::rewrite).
    pub dirty: bool,
    _lock: Option<File>,
}

impl BulkStore {
    /// Reads the store of `backend` in `storage`; `None` when it must be
    /// opened with [`BanStore::open`](super::BanStore::open) instead (see
    /// the module doc) or does not exist.
    pub fn open(storage: &Path, backend: Backend) -> Result<Option<BulkStore>, StoreError> {
        let snapshot = storage.join(file_name(backend));
        let log = snapshot.with_extension("json.log");
        let lock_path = snapshot.with_extension("json.lock");
        let legacy = storage.join(format!("{}.py.json", backend.action_name()));
        if !snapshot.exists() && legacy.exists() {
            return Ok(None);
        }
        let io = |path: &Path| {
            let path = path.to_owned();
            move |error| StoreError::Io { path: path.clone(), error }
        };
        let lock = files::lock(&lock_path).map_err(io(&lock_path))?;
        let mut reader = Reader::new(backend);
        let Some((changes, dirty)) = read_log(&log, &mut reader).map_err(io(&log))? else { return Ok(None) };
        let mut records = Vec::new();
        match File::open(&snapshot) {
            Ok(file) => {
                // Room for as many records as the file could hold (the
                // shortest is some 50 bytes): pages never written cost no
                // memory, and the list is never moved to a larger one
                // while the old one still takes its room.
                let len = file.metadata().map_or(0, |m| m.len());
                records.reserve(usize::try_from(len / 50).unwrap_or(0) + changes.len());
                let clean = for_each_item(file, |item| {
                    let Ok(text) = std::str::from_utf8(item) else { return false };
                    let Ok(r) = reader.record(text) else { return false };
                    // (No hashing at all when the log is empty, as after a compaction.)
                    let replaced = !changes.is_empty() && changes.contains_key(&(r.net, r.set.clone()));
                    if r.op.is_none() && !replaced {
                        records.push(r.into_record());
                    }
                    true
                })
                .map_err(io(&snapshot))?;
                if !clean {
                    return Ok(None);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::Io { path: snapshot, error: e }),
        }
        records.extend(changes.into_values().flatten());
        records.sort_unstable_by(|a, b| (a.net, &a.set).cmp(&(b.net, &b.set)));
        if records.windows(2).any(|w| (w[0].net, &w[0].set) == (w[1].net, &w[1].set)) {
            return Ok(None); // two records of one ban, by hand: the careful path says which wins
        }
        Ok(Some(BulkStore { backend, snapshot, log, records, dirty, _lock: lock }))
    }

    /// Writes the records as the new snapshot and empties the log, as
    /// [`BanStore::compact`](super::BanStore::compact) does, one record at
    /// a time into the file.
    pub fn rewrite(&mut self) -> Result<(), StoreError> {
        let mut names = SetNames::default();
        let mut line = Vec::with_capacity(160);
        crate::durable::replace_file_with(&self.snapshot, |out| {
            out.write_all(b"[")?;
            for (i, r) in self.records.iter().enumerate() {
                line.clear();
                line.extend_from_slice(if i == 0 { b"\n  " } else { b",\n  " });
                write_record(self.backend, &mut line, &mut names, None, r);
                out.write_all(&line)?;
            }
            out.write_all(b"\n]\n")
        })
        .map_err(|error| StoreError::Io { path: self.snapshot.clone(), error })?;
        files::truncate(&self.log).map_err(|error| StoreError::Io { path: self.log.clone(), error })?;
        self.dirty = false;
        Ok(())
    }
}

/// The log's last word on each address and set (`None`: unbanned), and
/// whether it held any line; `None` when a line cannot be read (the careful
/// path reports it). A torn last line was never acknowledged: skipped.
pub(super) type LogChanges = HashMap<(Network, SetRef), Option<Record>>;

pub(super) fn read_log(path: &Path, reader: &mut Reader) -> io::Result<Option<(LogChanges, bool)>> {
    let mut changes = HashMap::new();
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Some((changes, false))),
        Err(e) => return Err(e),
    };
    let mut lines = BufReader::with_capacity(1 << 16, file);
    let (mut line, mut any) = (Vec::new(), false);
    loop {
        line.clear();
        if lines.read_until(b'\n', &mut line)? == 0 {
            return Ok(Some((changes, any)));
        }
        let whole = line.ends_with(b"\n");
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        if text.is_empty() {
            continue;
        }
        any = true;
        let parsed = std::str::from_utf8(text).map_err(|_| ()).and_then(|t| reader.record(t).map_err(|_| ()));
        match parsed {
            Ok(r) if r.op.as_deref() == Some("ban") => {
                let record = r.into_record();
                changes.insert((record.net, record.set.clone()), Some(record));
            }
            Ok(r) if r.op.as_deref() == Some("unban") => {
                changes.insert((r.net, r.set), None);
            }
            Err(()) if !whole => return Ok(Some((changes, any))),
            _ => return Ok(None),
        }
    }
}

/// Calls `each` with the text of every item of the JSON list `input`
/// holds, read in blocks; `each` answers whether the item was usable.
/// Returns whether the whole file was a plain JSON list of usable items;
/// stops at the first sign that it is not (a byte-order mark, a comment, a
/// trailing comma, anything after the list).
fn for_each_item(input: impl Read, mut each: impl FnMut(&[u8]) -> bool) -> io::Result<bool> {
    #[derive(PartialEq)]
    enum At {
        Start,
        /// Inside the list, before an item (`comma`: one was just read).
        Before {
            comma: bool,
            first: bool,
        },
        Item,
        After,
        End,
    }
    let mut input = BufReader::with_capacity(1 << 20, input);
    let mut at = At::Start;
    let mut item: Vec<u8> = Vec::with_capacity(256);
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    loop {
        let block = input.fill_buf()?;
        if block.is_empty() {
            return Ok(at == At::End);
        }
        let len = block.len();
        let mut i = 0;
        if escaped {
            // A backslash ended the last block: this byte is what it escapes.
            item.push(block[0]);
            escaped = false;
            i = 1;
        }
        while i < len {
            let c = block[i];
            match at {
                At::Item => {
                    // Copy up to the next byte that matters, found by memchr:
                    // in a string its end or an escape, outside one a quote or
                    // a brace (brackets nest inside the braces of an object).
                    let next = match in_string {
                        true => memchr::memchr2(b'"', b'\\', &block[i..]),
                        false => memchr::memchr3(b'"', b'{', b'}', &block[i..]),
                    };
                    let Some(offset) = next else {
                        item.extend_from_slice(&block[i..]);
                        break;
                    };
                    let stop = i + offset;
                    item.extend_from_slice(&block[i..=stop]);
                    i = stop + 1;
                    match (in_string, block[stop]) {
                        (true, b'\\') => {
                            // The escaped byte, which may be in the next block.
                            match block.get(i) {
                                Some(&b) => {
                                    item.push(b);
                                    i += 1;
                                }
                                None => escaped = true,
                            }
                        }
                        (true, _) => in_string = false,
                        (false, b'"') => in_string = true,
                        (false, b'{') => depth += 1,
                        (false, _) => {
                            depth -= 1;
                            if depth == 0 {
                                if !each(&item) {
                                    return Ok(false);
                                }
                                item.clear();
                                at = At::After;
                            }
                        }
                    }
                    continue;
                }
                _ if c.is_ascii_whitespace() => {}
                At::Start if c == b'[' => at = At::Before { comma: false, first: true },
                At::Before { first: true, .. } if c == b']' => at = At::End,
                At::Before { .. } if c == b'{' => {
                    at = At::Item;
                    depth = 1;
                    item.clear();
                    item.push(c);
                }
                At::After if c == b',' => at = At::Before { comma: true, first: false },
                At::After if c == b']' => at = At::End,
                _ => return Ok(false),
            }
            i += 1;
        }
        input.consume(len);
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;
    use crate::store::{BanStore, Until};

    fn items(text: &str) -> (bool, Vec<String>) {
        let mut found = Vec::new();
        let clean = for_each_item(text.as_bytes(), |item| {
            found.push(String::from_utf8(item.to_vec()).unwrap());
            true
        })
        .unwrap();
        (clean, found)
    }

    fn rec(ip: &str, set: &str, until: Until) -> Record {
        Record {
            net: ip.parse().unwrap(),
            set: SetRef::parse_nft(set).unwrap(),
            until,
            start: 7_000_000,
            by: None,
            why: None,
        }
    }

    /// The store as the careful path reads it: every record, live or not, in the bulk order.
    fn careful(dir: &Path) -> Vec<Record> {
        let mut records = BanStore::open(dir, Backend::Nft).unwrap().live(0).unwrap();
        records.sort_unstable_by(|a, b| (a.net, &a.set).cmp(&(b.net, &b.set)));
        records
    }

    #[test]
    fn the_bulk_read_sees_what_the_careful_one_does_and_rewrites_it_alike() {
        const NOW: u64 = 1_763_726_400_000_000;
        let dir = tempfile::tempdir().unwrap();
        let mut store = BanStore::open(dir.path(), Backend::Nft).unwrap();
        let a = |ip: &str, until| rec(ip, "ip t a", until);
        store
            .ban(
                &[a("192.0.2.1", Until::At(NOW)), a("192.0.2.2", Until::Forever), a("10.0.0.0/8", Until::Forever)],
                NOW,
            )
            .unwrap();
        store
            .ban(&[rec("192.0.2.1", "ip t b", Until::At(NOW + 5)), a("2001:db8::1", Until::At(NOW + 9))], NOW)
            .unwrap();
        store.compact(NOW, false).unwrap();
        // In the log, after the snapshot: a re-ban, an unban, a new ban, and a torn last line.
        store.ban(&[a("192.0.2.1", Until::At(NOW + 60))], NOW).unwrap();
        store.unban(&[(a("192.0.2.2", Until::Forever).net, SetRef::parse_nft("ip t a").unwrap())], NOW).unwrap();
        store.ban(&[a("198.51.100.9", Until::Forever)], NOW).unwrap();
        drop(store);
        let log = dir.path().join("action_nftBan.json.log");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&log)
            .unwrap()
            .write_all(b"{\"op\": \"ban\", \"IP\": \"19")
            .unwrap();
        let expected = careful(dir.path());
        assert_eq!(expected.len(), 5);

        let mut bulk = BulkStore::open(dir.path(), Backend::Nft).unwrap().expect("plain files");
        assert_eq!(bulk.records, expected);
        assert!(bulk.dirty);
        bulk.rewrite().unwrap();
        drop(bulk);
        assert_eq!(std::fs::metadata(&log).unwrap().len(), 0, "the log is in the snapshot now");
        assert_eq!(careful(dir.path()), expected, "Pyruse's format, read back alike");
        let again = BulkStore::open(dir.path(), Backend::Nft).unwrap().unwrap();
        assert_eq!((again.records.len(), again.dirty), (5, false));
    }

    #[test]
    fn what_people_write_goes_the_careful_way() {
        let dir = tempfile::tempdir().unwrap();
        assert!(BulkStore::open(dir.path(), Backend::Nft).unwrap().unwrap().records.is_empty(), "no store yet");
        let snapshot = dir.path().join("action_nftBan.json");
        let record = r#"{"IP": "192.0.2.1", "nfSet": "ip t a", "timestamp": 0}"#;
        for text in [
            format!("[{record}, // by hand\n]"),
            format!("[{record}, {record}]"),
            format!(r#"[{record}, {{"IP": "not an address", "nfSet": "ip t a", "timestamp": 0}}]"#),
        ] {
            std::fs::write(&snapshot, &text).unwrap();
            assert!(BulkStore::open(dir.path(), Backend::Nft).unwrap().is_none(), "{text}");
        }
        std::fs::write(&snapshot, format!("[{record}]")).unwrap();
        std::fs::write(dir.path().join("action_nftBan.json.log"), "{\"op\": \"forget\"}\n").unwrap();
        assert!(BulkStore::open(dir.path(), Backend::Nft).unwrap().is_none(), "a log line it cannot take");
        std::fs::remove_file(&snapshot).unwrap();
        std::fs::remove_file(dir.path().join("action_nftBan.json.log")).unwrap();
        std::fs::write(dir.path().join("action_nftBan.py.json"), format!("[{record}]")).unwrap();
        assert!(BulkStore::open(dir.path(), Backend::Nft).unwrap().is_none(), "Pyruse's file name");
    }

    #[test]
    fn a_plain_list_is_split_into_its_objects() {
        let (clean, found) =
            items("[\n  {\"IP\": \"192.0.2.1\", \"nfSet\": \"t {s}\\\"\"},\n  {\"a\": [1, {\"b\": 2}]}\n]\n");
        assert!(clean);
        assert_eq!(found, ["{\"IP\": \"192.0.2.1\", \"nfSet\": \"t {s}\\\"\"}", "{\"a\": [1, {\"b\": 2}]}"]);
        assert_eq!(items("[]"), (true, vec![]));
        assert_eq!(items(" [ ] \n"), (true, vec![]));
    }

    /// A reader that gives one byte per read: every item crosses blocks.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn items_split_across_blocks_come_whole() {
        let text = "[{\"IP\": \"192.0.2.1\", \"nfSet\": \"t \\\"{s}\\\\\"}, {\"a\": {\"b\": [1]}}]";
        let mut found = Vec::new();
        let clean = for_each_item(Trickle(text.as_bytes()), |item| {
            found.push(String::from_utf8(item.to_vec()).unwrap());
            true
        })
        .unwrap();
        assert!(clean);
        assert_eq!(found, ["{\"IP\": \"192.0.2.1\", \"nfSet\": \"t \\\"{s}\\\\\"}", "{\"a\": {\"b\": [1]}}"]);
    }

    #[test]
    fn anything_but_plain_json_is_left_to_the_careful_path() {
        for text in [
            "\u{feff}[{\"a\": 1}]",
            "[{\"a\": 1},]",
            "[{\"a\": 1}] x",
            "[// note\n{\"a\": 1}]",
            "[1, 2]",
            "{\"a\": 1}",
            "[{\"a\": 1}",
            "[{\"a\": 1} {\"b\": 2}]",
            "",
        ] {
            assert!(!items(text).0, "{text:?} passes for plain");
        }
    }
}
