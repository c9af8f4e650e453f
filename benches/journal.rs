//! Reading a real journal: banwarden's reader and rules against the raw
//! floor of libsystemd iterating the same files.
//!
//! Run: `cargo bench --bench journal` (figures in doc/performance.md). The
//! first run builds a journal of `BENCH_JOURNAL_ENTRIES` (1,000,000) entries
//! under target/bench-journal with benches/make-journal.py and
//! systemd-journal-remote (~30 s, ~500 MB); later runs reuse it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use banwarden::config;
use banwarden::journal::sd::{JournalReader, Source};
use banwarden::workflow::Quiet;
use systemd::journal::OpenDirectoryOptions;

fn journal_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let entries: usize = std::env::var("BENCH_JOURNAL_ENTRIES").ok().and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let dir = root.join(format!("target/bench-journal/{entries}"));
    if dir.join("done").exists() {
        return dir;
    }
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    eprintln!("building a journal of {entries} entries in {}", dir.display());
    let mut generator = Command::new("python3")
        .arg(root.join("benches/make-journal.py"))
        .arg(entries.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 runs");
    let status = Command::new("/lib/systemd/systemd-journal-remote")
        .args(["--split-mode=none", "-o"])
        .arg(dir.join("bench.journal"))
        .arg("-")
        .stdin(generator.stdout.take().unwrap())
        .stderr(Stdio::null())
        .status()
        .expect("systemd-journal-remote runs (Debian package systemd-journal-remote)");
    assert!(status.success() && generator.wait().unwrap().success());
    std::fs::write(dir.join("done"), b"").unwrap();
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

fn main() {
    // `cargo test --all-targets` runs benches once as tests: skip the work.
    if std::env::args().any(|a| a == "--test") || !std::env::args().any(|a| a == "--bench") {
        eprintln!("journal benchmark: run with `cargo bench --bench journal`");
        return;
    }
    let dir = journal_dir();
    let report = |what: &str, (n, secs): (usize, f64)| {
        println!("{what:<58} {n} entries in {secs:.2} s: {:>7.0} entries/s", n as f64 / secs);
        n as f64 / secs
    };
    // Warm the page cache so every run reads from memory.
    floor(&dir, &["MESSAGE"]);
    for _ in 0..2 {
        let two = report("floor: libsystemd, MESSAGE + _SYSTEMD_UNIT", floor(&dir, &["MESSAGE", "_SYSTEMD_UNIT"]));
        let same = report(
            "floor: libsystemd, the 4 fields server.json reads",
            floor(&dir, &["MESSAGE", "_SYSTEMD_UNIT", "PRIORITY", "SYSLOG_IDENTIFIER"]),
        );
        let ours = report("banwarden: reader + rules of examples/server.json", banwarden(&dir));
        println!(
            "ratio: floor(2 fields)/banwarden = {:.2}, floor(same 4 fields)/banwarden = {:.2}",
            two / ours,
            same / ours
        );
    }
}
