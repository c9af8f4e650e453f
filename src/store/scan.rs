//! Finding the records of one address in a store without reading it whole,
//! for `list ADDRESS`: opening a store of 1,000,000 bans (parsing every
//! record into the index) takes a second or more; searching its text
//! takes a few milliseconds.
//!
//! A record that concerns the address holds its text followed by a quote
//! (`"192.0.2.7"`, or `"::ffff:192.0.2.7"` as Pyruse may have stored it),
//! and one of a network that holds it holds a `/`. So the snapshot is read
//! in blocks, only the lines where either occurs are parsed, and the log
//! (read first, whole) has the last word, as when the store is opened.
//!
//! Like `bulk`, this takes only the files banwarden writes: a record it
//! cannot read, a line holding more than one record (a list written on one
//! line by hand) or Pyruse's old file name make [`records_of`] answer
//! `None`, and the caller opens the store. One limit it cannot see: an
//! IPv6 address spelled otherwise than banwarden writes it (upper case,
//! zeros not compressed) by someone who wrote the file by hand is not found
//! by its text; `list` without an address shows it.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use memchr::memmem;

use super::bulk::read_log;
use super::parse::Reader;
use super::{file_name, files, Record, StoreError};
use crate::vocab::{Backend, Network};

/// Lines longer than this (a list written on one line) are not searched.
const MAX_LINE: usize = 1 << 20;

/// The records (live or not) of `net` and of the networks that hold it,
/// in the store of `backend`; `None` when the store must be opened instead
/// (see the module doc). Empty when there is no store.
pub fn records_of(storage: &Path, backend: Backend, net: Network) -> Result<Option<Vec<Record>>, StoreError> {
    let snapshot = storage.join(file_name(backend));
    let log = snapshot.with_extension("json.log");
    let lock_path = snapshot.with_extension("json.lock");
    if !snapshot.exists() && storage.join(format!("{}.py.json", backend.action_name())).exists() {
        return Ok(None);
    }
    let io = |path: &Path| {
        let path = path.to_owned();
        move |error| StoreError::Io { path: path.clone(), error }
    };
    // Reading creates no file (not even the lock) for a backend never used.
    if !super::BanStore::exists(storage, backend) {
        return Ok(Some(Vec::new()));
    }
    // Held while reading, so that no rewrite is seen half done.
    let _lock = files::lock(&lock_path).map_err(io(&lock_path))?;
    let mut reader = Reader::new(backend);
    let Some((changes, _)) = read_log(&log, &mut reader).map_err(io(&log))? else { return Ok(None) };
    let wanted = |r: &Record| r.net == net || r.net.covers(&net);
    let mut found: Vec<Record> = Vec::new();
    let file = match File::open(&snapshot) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(StoreError::Io { path: snapshot, error: e }),
    };
    if let Some(file) = file {
        let needle = format!("{net}\"");
        let finder = memmem::Finder::new(needle.as_bytes());
        let mut usable = true;
        for_each_block_of_lines(file, |block| {
            for line in candidate_lines(block, &finder) {
                let Some(text) = record_text(line) else {
                    usable = false;
                    return false;
                };
                match reader.record(text) {
                    Ok(r) if r.op.is_none() => {
                        let r = r.into_record();
                        if wanted(&r) && !changes.contains_key(&(r.net, r.set.clone())) {
                            found.push(r);
                        }
                    }
                    _ => {
                        usable = false;
                        return false;
                    }
                }
            }
            true
        })
        .map_err(io(&snapshot))?;
        if !usable {
            return Ok(None);
        }
    }
    found.extend(changes.into_values().flatten().filter(|r| wanted(r)));
    Ok(Some(found))
}

/// Reads `input` in blocks of whole lines and calls `each` on them until
/// it answers false. A line longer than [`MAX_LINE`] is passed as it comes.
fn for_each_block_of_lines(mut input: impl Read, mut each: impl FnMut(&[u8]) -> bool) -> io::Result<()> {
    let mut buf = vec![0u8; 2 * MAX_LINE];
    let mut kept = 0;
    loop {
        let n = input.read(&mut buf[kept..])?;
        let end = kept + n;
        if n == 0 {
            if end > 0 {
                each(&buf[..end]);
            }
            return Ok(());
        }
        let cut = match memchr::memrchr(b'\n', &buf[..end]) {
            Some(i) => i + 1,
            None if end == buf.len() => end,
            None => {
                kept = end;
                continue;
            }
        };
        if !each(&buf[..cut]) {
            return Ok(());
        }
        buf.copy_within(cut..end, 0);
        kept = end - cut;
    }
}

/// The lines of `block` where the address's text (`finder`) or a `/` occurs, each once.
fn candidate_lines<'a>(block: &'a [u8], finder: &memmem::Finder<'_>) -> Vec<&'a [u8]> {
    let mut hits: Vec<usize> = finder.find_iter(block).collect();
    hits.extend(memchr::memchr_iter(b'/', block));
    hits.sort_unstable();
    let mut lines: Vec<&[u8]> = Vec::new();
    let mut last_start = usize::MAX;
    for hit in hits {
        let start = memchr::memrchr(b'\n', &block[..hit]).map_or(0, |i| i + 1);
        if start == last_start {
            continue;
        }
        last_start = start;
        let end = memchr::memchr(b'\n', &block[hit..]).map_or(block.len(), |i| hit + i);
        lines.push(&block[start..end]);
    }
    lines
}

/// The one record a line of a snapshot holds: from its first `{` to its
/// last `}`; `None` when it holds no record or more than one.
fn record_text(line: &[u8]) -> Option<&str> {
    let start = memchr::memchr(b'{', line)?;
    let end = memchr::memrchr(b'}', line)?;
    let text = std::str::from_utf8(line.get(start..=end)?).ok()?;
    // Two records on a line: `}` then `{` outside the strings. banwarden
    // writes one per line; a hand-made line that holds two fails to parse.
    Some(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{BanStore, SetRef, Until};

    #[test]
    fn the_records_of_an_address_and_of_the_networks_holding_it() {
        const NOW: u64 = 1_763_726_400_000_000;
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(records_of(dir.path(), Backend::Nft, "192.0.2.7".parse().unwrap()).unwrap(), Some(vec![]));
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no file made for a store never used");
        let mut store = BanStore::open(dir.path(), Backend::Nft).unwrap();
        let rec = |ip: &str, until| Record {
            net: ip.parse().unwrap(),
            set: SetRef::parse_nft("ip t a").unwrap(),
            until,
            start: 0,
            by: None,
            why: None,
        };
        let mut bans: Vec<Record> = (0..200).map(|i| rec(&format!("192.0.2.{i}"), Until::At(NOW + i))).collect();
        bans.push(rec("192.0.0.0/16", Until::Forever));
        bans.push(rec("198.51.100.0/24", Until::Forever));
        bans.push(rec("2001:db8::7", Until::Forever));
        store.ban(&bans, NOW).unwrap();
        store.compact(NOW, false).unwrap();
        // After the snapshot, in the log: one lifted, one re-banned.
        store.unban(&[(rec("192.0.2.17", Until::Forever).net, bans[0].set.clone())], NOW).unwrap();
        store.ban(&[rec("192.0.2.7", Until::Forever)], NOW).unwrap();
        drop(store);
        let of = |ip: &str| {
            let mut found = records_of(dir.path(), Backend::Nft, ip.parse().unwrap()).unwrap().expect("plain files");
            found.sort_by_key(|r| r.net);
            found.into_iter().map(|r| (r.net.to_string(), r.until)).collect::<Vec<_>>()
        };
        // 192.0.2.7 is also a prefix of 192.0.2.70..79: only its own record.
        assert_eq!(of("192.0.2.7"), [("192.0.0.0/16".into(), Until::Forever), ("192.0.2.7".into(), Until::Forever)]);
        assert_eq!(of("192.0.2.17"), [("192.0.0.0/16".into(), Until::Forever)], "lifted in the log");
        assert_eq!(
            of("192.0.2.199"),
            [("192.0.0.0/16".into(), Until::Forever), ("192.0.2.199".into(), Until::At(NOW + 199))]
        );
        assert_eq!(of("198.51.100.0/24"), [("198.51.100.0/24".into(), Until::Forever)]);
        assert_eq!(of("2001:db8::7"), [("2001:db8::7".into(), Until::Forever)]);
        assert!(of("203.0.113.1").is_empty());
        // A list written on one line by hand: opened the careful way.
        let snapshot = dir.path().join("action_nftBan.json");
        std::fs::write(&snapshot, r#"[{"IP": "192.0.2.1", "nfSet": "ip t a", "timestamp": 0}, {"IP": "192.0.2.2", "nfSet": "ip t a", "timestamp": 0}]"#).unwrap();
        assert_eq!(records_of(dir.path(), Backend::Nft, "192.0.2.1".parse().unwrap()).unwrap(), None);
    }
}
