//! Figure 2: reading a real journal of 1,000,000 entries: banwarden's
//! reader and rules, and `banwarden replay` end to end, against the raw
//! floor of libsystemd iterating the same files.
//!
//! Run: `cargo bench --bench journal` (or `make bench`). The journal is the
//! benchmark corpus (`benches/corpus.py --journal`: what a busy web, mail
//! and SSH server logs, ~25 fields per entry): the directory
//! `$BANWARDEN_CORPUS/journal` when the suite made it, otherwise made once
//! under target/bench/corpus-1000000 (~70 s) and reused.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use banwarden::config;
use banwarden::journal::sd::{JournalReader, Source};
use banwarden::workflow::Quiet;
use systemd::journal::OpenDirectoryOptions;

#[allow(dead_code)]
#[path = "report.rs"]
mod report;

const ENTRIES: usize = 1_000_000;

/// The corpus's journal directory, made if missing.
fn journal_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let corpus = match std::env::var_os("BANWARDEN_CORPUS") {
        Some(dir) => PathBuf::from(dir),
        None => root.join(format!("target/bench/corpus-{ENTRIES}")),
    };
    let dir = corpus.join("journal");
    if !dir.is_dir() {
        eprintln!("making the corpus and its journal in {} (about a minute)", corpus.display());
        let status = Command::new("python3")
            .arg(root.join("benches/corpus.py"))
            .args(["--seed", "1", "--entries", &ENTRIES.to_string(), "--journal", "--out"])
            .arg(&corpus)
            .stdout(Stdio::null())
            .status()
            .expect("python3 runs");
        assert!(status.success() && dir.is_dir(), "benches/corpus.py failed");
    }
    dir
}

/// libsystemd alone: iterate every entry, read `fields` with get_data.
fn floor(dir: &Path, fields: &[&str]) -> (usize, f64) {
    let mut journal = OpenDirectoryOptions::default().open_directory(dir.to_str().unwrap()).unwrap();
    let names: Vec<std::ffi::CString> = fields.iter().map(|f| std::ffi::CString::new(*f).unwrap()).collect();
    let started = Instant::now();
    let mut n = 0;
    let mut bytes = 0;
    while journal.next().unwrap() > 0 {
        for name in &names {
            if let Some(field) = journal.get_data(name.as_c_str()).unwrap() {
                bytes += field.data().len();
            }
        }
        n += 1;
    }
    assert!(bytes > 0);
    (n, started.elapsed().as_secs_f64())
}

/// banwarden: the reader fills an entry, the rules of examples/server.json judge it.
fn banwarden(dir: &Path) -> (usize, f64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = config::load(&root.join("examples/server.json")).unwrap();
    let mut workflow = config.workflow;
    let mut reader =
        JournalReader::open(&Source::Directory(dir.into()), workflow.fields(), config.settings.decoder).unwrap();
    let mut entry = workflow.new_entry();
    let mut effects = Vec::new();
    let started = Instant::now();
    let mut n = 0;
    while reader.next_into(&mut entry).unwrap() {
        workflow.run(&mut entry, &mut effects, &mut Quiet);
        effects.clear();
        n += 1;
    }
    (n, started.elapsed().as_secs_f64())
}

/// `banwarden replay --journal-dir` as a user runs it, effects to /dev/null.
fn replay(dir: &Path) -> (usize, f64) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_banwarden"))
        .args(["replay", "--config"])
        .arg(root.join("examples/server.json"))
        .arg("--journal-dir")
        .arg(dir)
        .stdout(Stdio::null())
        .output()
        .expect("banwarden replay runs");
    let secs = started.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let summary = String::from_utf8_lossy(&out.stderr);
    let read: usize = summary
        .split("replay: ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {summary}"));
    (read, secs)
}

fn main() {
    if !report::benchmarking() {
        eprintln!("journal benchmark: run with `cargo bench --bench journal`");
        return;
    }
    let dir = journal_dir();
    // Warm the page cache so every run reads from memory.
    floor(&dir, &["MESSAGE"]);
    let server_fields = ["MESSAGE", "_SYSTEMD_UNIT", "PRIORITY", "SYSLOG_IDENTIFIER"];
    let (mut two, mut same, mut ours, mut process, mut ratio) = (vec![], vec![], vec![], vec![], vec![]);
    let mut entries = 0;
    for _ in 0..report::RUNS {
        let rate = |(n, secs): (usize, f64)| n as f64 / secs;
        let (n, secs) = floor(&dir, &["MESSAGE", "_SYSTEMD_UNIT"]);
        entries = n;
        two.push(n as f64 / secs);
        let floor_same = floor(&dir, &server_fields);
        same.push(rate(floor_same));
        let reader = banwarden(&dir);
        assert_eq!(reader.0, n);
        ours.push(rate(reader));
        // Time over the floor's time for the same fields, within this run.
        ratio.push(reader.1 / floor_same.1);
        let replayed = replay(&dir);
        assert_eq!(replayed.0, n);
        process.push(rate(replayed));
    }
    let extra = serde_json::json!({"entries": entries, "config": "examples/server.json"});
    report::figure("journal.floor2", "libsystemd alone, MESSAGE and _SYSTEMD_UNIT", "entries/s", &two, extra.clone());
    report::figure(
        "journal.floor4",
        "libsystemd alone, the 4 fields examples/server.json names",
        "entries/s",
        &same,
        extra.clone(),
    );
    report::figure("journal.reader", "banwarden's reader and rules, in process", "entries/s", &ours, extra.clone());
    report::figure("journal.ratio", "banwarden's time / libsystemd's for the same fields", "x", &ratio, extra.clone());
    report::figure(
        "journal.replay",
        "`banwarden replay --journal-dir`, the whole command",
        "entries/s",
        &process,
        extra,
    );
}
