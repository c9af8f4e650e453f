//! The header reader on real journal files, written by
//! systemd-journal-remote (which appends to an existing file, as journald
//! does to its online one).

use super::*;
use crate::testenv::require;

const JOURNAL_REMOTE: &str = "/lib/systemd/systemd-journal-remote";

/// Appends `n` entries to the journal file `path` (created if missing);
/// false (after "skipped") without systemd-journal-remote.
pub(crate) fn append(path: &Path, first: u64, n: u64) -> bool {
    if !require(Path::new(JOURNAL_REMOTE).exists(), "needs systemd-journal-remote (Debian package)") {
        return false;
    }
    let mut export = Vec::new();
    for i in first..first + n {
        export.extend_from_slice(
            format!(
                "__REALTIME_TIMESTAMP={}\n__MONOTONIC_TIMESTAMP={}\n_BOOT_ID=0123456789abcdef0123456789abcdef\n\
                 MESSAGE=entry {i}\n\n",
                1_700_000_000_000_000 + i,
                i + 1
            )
            .as_bytes(),
        );
    }
    let mut child = std::process::Command::new(JOURNAL_REMOTE)
        .args(["--split-mode=none", "-o"])
        .arg(path)
        .arg("-")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    use std::io::Write as _;
    child.stdin.take().unwrap().write_all(&export).unwrap();
    assert!(child.wait().unwrap().success(), "{JOURNAL_REMOTE} -o {}", path.display());
    true
}

#[test]
fn a_moving_tail_is_seen_and_only_then() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("remote-a.journal");
    if !append(&file, 0, 3) {
        return;
    }
    let header = Header::open(&file).unwrap();
    assert_eq!(header.stamp(), Stamp { n_entries: 3, tail_entry_seqnum: 3 });
    let mut tail = Tail::for_dirs(vec![dir.path().to_owned()]);
    assert_eq!(tail.paths().collect::<Vec<_>>(), [file.as_path()]);
    // Found since the last mark: it may hold entries not read yet.
    assert!(tail.moved());
    tail.mark();
    assert!(!tail.moved());
    assert!(!tail.moved(), "looking changes nothing");
    append(&file, 3, 2);
    assert!(tail.moved());
    assert_eq!(header.stamp(), Stamp { n_entries: 5, tail_entry_seqnum: 5 }, "the same inode, read through the map");
    tail.mark();
    assert!(!tail.moved());
    // A rescan with nothing changed keeps the mark.
    tail.rescan();
    assert_eq!(tail.watched(), 1);
    assert!(!tail.moved());
}

#[test]
fn a_rotated_or_replaced_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("system.journal");
    if !append(&file, 0, 2) {
        return;
    }
    let mut tail = Tail::for_dirs(vec![dir.path().to_owned()]);
    tail.mark();
    // journald's rotation: the online file renamed to its archived name,
    // a new one at the old path. The archived name is not watched.
    let archived = dir.path().join("system@0123456789abcdef0123456789abcdef-0000000000000001-0005f0d7a3b2c1d0.journal");
    std::fs::rename(&file, &archived).unwrap();
    append(&file, 2, 1);
    assert!(!tail.moved(), "the old inode did not move");
    tail.rescan();
    assert_eq!(tail.paths().collect::<Vec<_>>(), [file.as_path()]);
    assert!(tail.moved(), "the new file counts as moved until marked");
    tail.mark();
    assert!(!tail.moved());
    // Replaced by another file (a copy put in its place): a new inode.
    let copy = dir.path().join("copy");
    std::fs::copy(&file, &copy).unwrap();
    std::fs::rename(&copy, &file).unwrap();
    tail.rescan();
    assert_eq!(tail.watched(), 1);
    assert!(tail.moved(), "a replaced file is mapped anew");
    tail.mark();
    // Gone: let go.
    std::fs::remove_file(&file).unwrap();
    tail.rescan();
    assert_eq!(tail.watched(), 0);
    assert!(!tail.moved());
}

#[test]
fn short_foreign_and_archived_files_are_not_watched() {
    let dir = tempfile::tempdir().unwrap();
    let short = dir.path().join("short.journal");
    std::fs::write(&short, [0u8; 100]).unwrap();
    assert_eq!(Header::open(&short).err(), Some(Unwatchable::TooShort(100)));
    let empty = dir.path().join("empty.journal");
    std::fs::write(&empty, []).unwrap();
    assert_eq!(Header::open(&empty).err(), Some(Unwatchable::TooShort(0)));
    let foreign = dir.path().join("foreign.journal");
    std::fs::write(&foreign, [0u8; 4096]).unwrap();
    assert_eq!(Header::open(&foreign).err(), Some(Unwatchable::Signature));
    // The signature but a header too small for the fields read.
    let mut small = vec![0u8; 4096];
    small[..8].copy_from_slice(SIGNATURE);
    small[HEADER_SIZE] = 100;
    let small_header = dir.path().join("small.journal");
    std::fs::write(&small_header, &small).unwrap();
    assert_eq!(Header::open(&small_header).err(), Some(Unwatchable::Signature));
    assert_eq!(
        Header::open(&dir.path().join("missing.journal")).err(),
        Some(Unwatchable::Io(std::io::ErrorKind::NotFound))
    );
    let tail = Tail::for_dirs(vec![dir.path().to_owned()]);
    assert_eq!(tail.watched(), 0);
    assert!(!tail.moved());

    // A real file whose header says archived.
    let real = dir.path().join("real.journal");
    if !append(&real, 0, 1) {
        return;
    }
    let mut bytes = std::fs::read(&real).unwrap();
    bytes[STATE] = STATE_ARCHIVED;
    let archived = dir.path().join("archived.journal");
    std::fs::write(&archived, &bytes).unwrap();
    assert_eq!(Header::open(&archived).err(), Some(Unwatchable::Archived));
    let tail = Tail::for_dirs(vec![dir.path().to_owned()]);
    assert_eq!(tail.paths().collect::<Vec<_>>(), [real.as_path()]);
}

#[test]
fn files_given_are_watched_as_opened() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("given.journal");
    if !append(&file, 0, 1) {
        return;
    }
    let mut tail = Tail::with_places(places(
        &Source::Files(vec![file.clone()]),
        "m",
        0,
        Path::new("/nonexistent"),
        Path::new("/nonexistent"),
    ));
    assert_eq!(tail.watched(), 1);
    tail.mark();
    append(&file, 1, 1);
    assert!(tail.moved());
    tail.mark();
    // libsystemd keeps the inode it opened: so does the tail.
    std::fs::remove_file(&file).unwrap();
    tail.rescan();
    assert_eq!(tail.watched(), 1);
    assert!(!tail.moved());
}

#[test]
fn the_places_of_each_source() {
    let (var, run) = (Path::new("/var/log/journal"), Path::new("/run/log/journal"));
    let system = |users, other_machines| places(&Source::System { users, other_machines }, "abc", 1000, var, run);
    assert_eq!(
        system(false, false),
        Places::Dirs { dirs: vec![var.join("abc"), run.join("abc")], prefixes: vec!["system".into()] }
    );
    assert_eq!(
        system(true, false),
        Places::Dirs {
            dirs: vec![var.join("abc"), run.join("abc")],
            prefixes: vec!["system".into(), "user-1000".into()],
        }
    );
    assert_eq!(
        places(&Source::Namespace("ns".into()), "abc", 0, var, run),
        Places::Dirs { dirs: vec![var.join("abc.ns"), run.join("abc.ns")], prefixes: vec!["system".into()] }
    );
    // Other machines: the roots and their machine-id directories only.
    let root = tempfile::tempdir().unwrap();
    let id = "0123456789abcdef0123456789abcdef";
    for sub in [id, "0123456789abcdef0123456789abcdef.ns", "remote"] {
        std::fs::create_dir(root.path().join(sub)).unwrap();
    }
    assert_eq!(
        places(
            &Source::System { users: false, other_machines: true },
            "abc",
            0,
            root.path(),
            Path::new("/nonexistent")
        ),
        Places::Dirs {
            dirs: vec![root.path().to_owned(), root.path().join(id), PathBuf::from("/nonexistent")],
            prefixes: vec!["system".into()],
        }
    );
    assert_eq!(
        places(&Source::Directory(root.path().to_owned()), "abc", 0, var, run),
        Places::Dirs { dirs: vec![root.path().to_owned(), root.path().join(id)], prefixes: vec![] }
    );
}

#[test]
fn online_names() {
    let system = ["system".to_owned()];
    assert!(online_name(OsStr::new("system.journal"), &system));
    assert!(!online_name(OsStr::new("system@0123-01-02.journal"), &system));
    assert!(!online_name(OsStr::new("system@0123-01.journal~"), &system));
    assert!(!online_name(OsStr::new("user-1000.journal"), &system));
    assert!(online_name(OsStr::new("user-1000.journal"), &[]));
    assert!(!online_name(OsStr::new("system.journal.tmp"), &[]));
}
