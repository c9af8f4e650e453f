//! `banwarden run` live, on private journald instances (needs root; skipped
//! otherwise). Every figure is the median of `report::RUNS` (5) runs:
//!
//! - `live.verdict.p50`, `live.verdict.p99`: latency from handing an entry
//!   to journald to the end of its judging, daemon in-process
//!   (`Daemon::run_observed`); a run is 1,000 entries sent at 500 per
//!   second, on a schedule, and gives its p50 and p99 (`extra`: the max);
//! - `live.cpu.after`: CPU of this process (the daemon; the sender sleeps)
//!   in the 5 s after a run's last entry, while the loop still looks every
//!   5 ms (one window per run);
//! - `live.cpu.idle`: the same once the journal has been quiet for
//!   `ACTIVE_FOR` + 1 s, 5 windows of 2 s;
//! - `rss.idle`, `rss.entries`, `rss.counters`: VmRSS of the real binary
//!   (`banwarden run --config COPY --journal-namespace NS`) with a copy of
//!   etc/banwarden/banwarden.json routed on SYSLOG_IDENTIFIER (sshd,
//!   sshd-session) and without the `_SYSTEMD_UNIT` test of its own lines,
//!   as examples/demo.sh does (entries written by a client cannot carry
//!   trusted fields). Each daemon has a fresh journald and storage:
//!   - idle: started at the end of the journal, one entry judged (which
//!     lets go of the journal pages mapped to find the end), then quiet
//!     for the rest of the run (at least 3 s, ~15 s in practice);
//!   - entries: after judging the first 1,000,000 entries of the corpus of
//!     benches/corpus.py (seed 1), sent with their client-side fields
//!     (MESSAGE, SYSLOG_IDENTIFIER, PRIORITY, SYSLOG_FACILITY, SYSLOG_PID,
//!     SYSLOG_TIMESTAMP; journald drops `_` fields from clients and adds
//!     its own), bans into real sets included;
//!   - counters: after judging 1,000,000 sshd failures, each from its own
//!     IPv4 address (in 100.64.0.0/10), so 1,000,000 live keys of the
//!     `sshd` counter (600 s; `counterMaxKeys` raised to 1,000,000 for
//!     this daemon, the default would hold 233,333) and no ban, and after the counters holding
//!     all of them have been saved once, as a daemon does every 10 s while
//!     entries flow. That save copies every key, and the process keeps the
//!     memory: RSS goes from ~225 MB to ~413 MB here, so `extra` has the
//!     RSS before it, and the saves seen during the judging (one, when
//!     judging took over 10 s). The file it writes is checked for the
//!     keys.
//!
//! Loads written once: journald takes ~50,000 entries/s here (~34,000/s
//! with the daemon following on the other core: 30 s per million, 5 minutes
//! for the 10 million of five runs), so each load is written once per
//! invocation into a journald of its own, and its journal files are
//! hard-linked into the directory of each run's fresh journald. The
//! daemon is started with a saved position just before the load and
//! judges it from there, as a daemon restarted behind the journal does:
//! the same loop as when following (read until drained, journal pages let
//! go every 2,048 entries, position saved every second), only faster, so
//! fewer counter saves happen while judging than in a live flood of the
//! same entries. Its own log lines go to the run's journald. "Judged" is
//! known from a marker at the end of each load, five failures from
//! 198.18.0.1: the bench follows the journal (`journalctl -f`) for the
//! line the configuration logs on that ban, waits 1 s more, and reads
//! /proc/PID/status (VmHWM, RssAnon and RssFile go in `extra`). MB are
//! 10^6 bytes. The three daemons of a run overlap (the corpus is judged
//! while the counters daemon waits for its save): memory does not depend
//! on the cores being shared.
//!
//! The corpus is generated once per invocation (python3, ~25 s, while the
//! counter load is written) into a temporary directory under target/bench/,
//! removed once read, unless `BANWARDEN_CORPUS` names a directory with a
//! corpus.export. The process runs in a network namespace of its own
//! (unshare), where etc/nftables/banwarden.nft is loaded before each run:
//! the bans are real, and the host's firewall is never touched.
//!
//! - `live.quiet.*`: quiet, then one attacker: see benches/live_quiet.rs.
//!
//! Run: `cargo bench --bench live` (figures in doc/performance.md), or
//! `-- latency`, `-- memory`, `-- quiet` (or several) for those parts. It took 202 to 209 s on the
//! development machine (2 cores, two runs): 54 s for latency and CPU,
//! ~45 s to generate the corpus and write the two loads, ~100 s for the
//! five memory runs.

use std::io::BufRead as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use banwarden::config;
use banwarden::daemon::{Daemon, Options, ACTIVE_FOR};
use banwarden::fields::MESSAGE;
use banwarden::journal::sd::Source;

#[allow(dead_code)]
#[path = "../tests/integration/journald.rs"]
mod journald;
#[path = "live_quiet.rs"]
mod quiet;
#[allow(dead_code)]
#[path = "report.rs"]
mod report;
#[allow(dead_code)]
#[path = "sandbox.rs"]
mod sandbox;

use journald::PrivateJournald;
use sandbox::{mb, sandbox_config, Memory};

/// Entries per latency run, and their pace (500/s).
const LATENCY_ENTRIES: usize = 1000;
const LATENCY_GAP: Duration = Duration::from_millis(2);
/// The `live.cpu.after` window, from the last entry of a run on (within
/// `ACTIVE_FOR`, so the loop polls fast all along).
const AFTER: Duration = Duration::from_secs(5);
const IDLE_WINDOW: Duration = Duration::from_secs(2);
/// Entries of the realistic mix, and counter keys, per memory run.
const MEMORY_ENTRIES: usize = 1_000_000;
const COUNTER_KEYS: u32 = 1_000_000;
/// At least this long on a quiet journal before `rss.idle`.
const IDLE_AFTER_START: Duration = Duration::from_secs(3);
/// Between seeing the marker's ban and sampling memory.
const SETTLE: Duration = Duration::from_secs(1);
/// Bounds a daemon that does not keep up (or a broken marker).
const JUDGED_TIMEOUT: Duration = Duration::from_secs(120);
const MARKER_IP: &str = "198.18.0.1";

const LATENCY_CONFIG: &str = r#"{"actions": {"latency": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "latency"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^lat (?P<sent>\\d+)$"}},
    {"action": "action_noop"}
]}, "storage": "STORAGE"}"#;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// CPU time of this process (all threads), to the nanosecond.
fn cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the struct we own.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) }, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// Share of a core this process uses while `wait` runs, in %.
fn cpu_share(wait: impl FnOnce()) -> f64 {
    let (cpu0, t0) = (cpu_seconds(), Instant::now());
    wait();
    (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64() * 100.0
}

fn latency_and_cpu() {
    let Some(journald) = PrivateJournald::start() else { return };
    let state = tempfile::tempdir().unwrap();
    let text = LATENCY_CONFIG.replace("STORAGE", state.path().to_str().unwrap());
    let stop = AtomicBool::new(false);
    let origin = Instant::now();
    let (tx, rx) = mpsc::channel::<f64>();
    let namespace = journald.namespace().to_owned();
    let (mut p50s, mut p99s, mut maxes, mut after, mut idle) = (vec![], vec![], vec![], vec![], vec![]);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let config = config::compile(&text, "latency.json").unwrap();
            let options = Options { source: Source::Namespace(namespace), from_tail: true, config: None };
            let daemon = Daemon::open(config, &options, std::sync::Arc::new(banwarden::time::SystemClock)).unwrap();
            daemon.run_observed(&stop, |entry| {
                if let Some(sent) =
                    entry.get(MESSAGE).and_then(|m| m.strip_prefix("lat ")).and_then(|n| n.parse::<u128>().ok())
                {
                    let _ = tx.send((origin.elapsed().as_nanos() - sent) as f64 / 1e6);
                }
            });
        });
        std::thread::sleep(Duration::from_millis(500));
        let mut last_sent = Instant::now();
        for _ in 0..report::RUNS {
            // Each run starts the same way: the loop awake, nothing pending.
            journald.log("latency", "warming up");
            std::thread::sleep(Duration::from_millis(500));
            let mut latencies = Vec::with_capacity(LATENCY_ENTRIES);
            let start = Instant::now();
            for i in 0..LATENCY_ENTRIES {
                // On a schedule: 500/s whatever a send costs.
                std::thread::sleep((start + LATENCY_GAP * i as u32).saturating_duration_since(Instant::now()));
                journald.log("latency", &format!("lat {}", origin.elapsed().as_nanos()));
                latencies.extend(rx.try_iter());
            }
            last_sent = Instant::now();
            let deadline = last_sent + Duration::from_secs(5);
            while latencies.len() < LATENCY_ENTRIES && Instant::now() < deadline {
                latencies.extend(rx.recv_timeout(Duration::from_millis(100)).ok());
            }
            assert_eq!(latencies.len(), LATENCY_ENTRIES, "entries judged within 5 s of the last one");
            latencies.sort_by(f64::total_cmp);
            p50s.push(report::percentile(&latencies, 50.0));
            p99s.push(report::percentile(&latencies, 99.0));
            maxes.push(latencies[latencies.len() - 1]);
            // Right after the flow: the loop still looks every 5 ms.
            after.push(cpu_share(|| std::thread::sleep((last_sent + AFTER).saturating_duration_since(Instant::now()))));
        }
        // Idle: once the fast polling is over (a second to spare).
        std::thread::sleep((last_sent + ACTIVE_FOR + Duration::from_secs(1)).saturating_duration_since(Instant::now()));
        for _ in 0..report::RUNS {
            idle.push(cpu_share(|| std::thread::sleep(IDLE_WINDOW)));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let extra =
        serde_json::json!({"entries": LATENCY_ENTRIES, "per_second": 1000 / LATENCY_GAP.as_millis(), "max_ms": maxes});
    report::figure("live.verdict.p50", "latency, journald to judged, p50", "ms", &p50s, extra.clone());
    report::figure("live.verdict.p99", "latency, journald to judged, p99", "ms", &p99s, extra);
    report::figure(
        "live.cpu.after",
        &format!("CPU in the {} s after the last entry (looking every 5 ms)", AFTER.as_secs()),
        "% of a core",
        &after,
        serde_json::json!({"window_s": AFTER.as_secs_f64()}),
    );
    report::figure(
        "live.cpu.idle",
        "CPU while the journal is idle",
        "% of a core",
        &idle,
        serde_json::json!({"window_s": IDLE_WINDOW.as_secs_f64(), "quiet_for_s": ACTIVE_FOR.as_secs() + 1}),
    );
}

/// Entries to write: per entry, its fields (name, value) in order.
struct Corpus {
    names: Vec<String>,
    values: Vec<u8>,
    /// (index in `names`, start, end in `values`).
    fields: Vec<(usize, usize, usize)>,
    /// Ranges of `fields`, one per entry.
    entries: Vec<(usize, usize)>,
}

impl Corpus {
    /// The first `limit` entries of a `journalctl -o export` text, without
    /// the fields a client cannot write (`_` and `__` ones).
    fn from_export(data: &[u8], limit: usize) -> Corpus {
        let mut corpus = Corpus { names: vec![], values: vec![], fields: vec![], entries: vec![] };
        let (mut first, mut pos) = (0, 0);
        while pos < data.len() && corpus.entries.len() < limit {
            let eol = pos + data[pos..].iter().position(|&b| b == b'\n').expect("export: a line ends");
            let line = &data[pos..eol];
            if line.is_empty() {
                if corpus.fields.len() > first {
                    corpus.entries.push((first, corpus.fields.len()));
                    first = corpus.fields.len();
                }
                pos = eol + 1;
                continue;
            }
            let (name, value) = match line.iter().position(|&b| b == b'=') {
                Some(eq) => {
                    pos = eol + 1;
                    (&line[..eq], &line[eq + 1..])
                }
                None => {
                    // Binary form: NAME\n, u64 LE length, bytes, \n.
                    let len = u64::from_le_bytes(data[eol + 1..eol + 9].try_into().unwrap()) as usize;
                    pos = eol + 9 + len + 1;
                    (line, &data[eol + 9..eol + 9 + len])
                }
            };
            if name.starts_with(b"_") {
                continue;
            }
            let name = std::str::from_utf8(name).expect("export: field names are ASCII");
            let index = corpus.names.iter().position(|n| n == name).unwrap_or_else(|| {
                corpus.names.push(name.to_owned());
                corpus.names.len() - 1
            });
            let start = corpus.values.len();
            corpus.values.extend_from_slice(value);
            corpus.fields.push((index, start, corpus.values.len()));
        }
        if corpus.fields.len() > first && corpus.entries.len() < limit {
            corpus.entries.push((first, corpus.fields.len()));
        }
        corpus
    }

    fn write_to(&self, journald: &PrivateJournald) {
        let mut fields: Vec<(&str, &[u8])> = Vec::new();
        for &(first, end) in &self.entries {
            fields.clear();
            fields
                .extend(self.fields[first..end].iter().map(|&(n, s, e)| (self.names[n].as_str(), &self.values[s..e])));
            journald.write(&fields);
        }
    }
}

/// The corpus of `BANWARDEN_CORPUS`, or benches/corpus.py generating one
/// (into a temporary directory, removed once read; the generator is
/// stopped by its PID if the bench fails meanwhile).
struct PendingCorpus {
    dir: PathBuf,
    generator: Option<(Child, Instant)>,
    _temporary: Option<tempfile::TempDir>,
}

impl PendingCorpus {
    fn start() -> PendingCorpus {
        if let Some(dir) = std::env::var_os("BANWARDEN_CORPUS") {
            return PendingCorpus { dir: dir.into(), generator: None, _temporary: None };
        }
        let parent = root().join("target/bench");
        std::fs::create_dir_all(&parent).unwrap();
        let temporary = tempfile::Builder::new().prefix("live-corpus.").tempdir_in(&parent).unwrap();
        let child = Command::new("python3")
            .arg(root().join("benches/corpus.py"))
            .args(["--seed", "1", "--entries", &MEMORY_ENTRIES.to_string(), "--out"])
            .arg(temporary.path())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs benches/corpus.py");
        PendingCorpus {
            dir: temporary.path().to_owned(),
            generator: Some((child, Instant::now())),
            _temporary: Some(temporary),
        }
    }

    /// Its first `MEMORY_ENTRIES` entries, once generated.
    fn read(mut self) -> Corpus {
        if let Some((mut child, started)) = self.generator.take() {
            let status = child.wait().unwrap();
            assert!(status.success(), "benches/corpus.py: {status}");
            eprintln!("corpus of {MEMORY_ENTRIES} entries generated in {:.0} s", started.elapsed().as_secs_f64());
        }
        let path = self.dir.join("corpus.export");
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Corpus::from_export(&data, MEMORY_ENTRIES)
    }
}

impl Drop for PendingCorpus {
    fn drop(&mut self) {
        if let Some((child, _)) = &mut self.generator {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Five failures from `MARKER_IP`: the configuration logs their ban.
fn write_marker(journald: &PrivateJournald) {
    for port in 40001..=40005 {
        journald.write(&[
            ("MESSAGE", format!("Failed password for root from {MARKER_IP} port {port} ssh2").as_bytes()),
            ("SYSLOG_IDENTIFIER", b"sshd"),
            ("PRIORITY", b"6"),
        ]);
    }
}

/// Journal files holding a load written once, and the cursor of the entry
/// just before it.
struct Template {
    files: tempfile::TempDir,
    cursor: String,
    entries: usize,
}

impl Template {
    /// Writes `write`'s entries and the marker into a journald of their own,
    /// and keeps its files (hard links, or copies).
    fn new(write: impl FnOnce(&PrivateJournald) -> usize) -> Option<Template> {
        let started = Instant::now();
        let journald = PrivateJournald::start()?;
        journald.log("bwbench", "load follows");
        journald.wait_for("load follows", 1, Duration::from_secs(10));
        let cursor = journald
            .export(&["MESSAGE"])
            .iter()
            .find(|e| journald::field(e, "MESSAGE") == Some(b"load follows"))
            .and_then(|e| journald::field(e, "__CURSOR"))
            .map(|c| String::from_utf8(c.to_vec()).unwrap())
            .expect("cursor of the entry before the load");
        let entries = write(&journald);
        write_marker(&journald);
        // Everything sent is in the files once this returns.
        let status = Command::new("journalctl")
            .arg(format!("--namespace={}", journald.namespace()))
            .arg("--sync")
            .status()
            .unwrap();
        assert!(status.success(), "journalctl --sync");
        let parent = root().join("target/bench");
        std::fs::create_dir_all(&parent).unwrap();
        let files = tempfile::Builder::new().prefix("live-journal.").tempdir_in(&parent).unwrap();
        for (i, file) in journal_files(&journald.journal_dir()).iter().enumerate() {
            link_or_copy(file, &files.path().join(format!("{i}.journal")));
        }
        // Stops journald: it marks its files offline (the same inodes).
        drop(journald);
        eprintln!("{entries} entries written into journald in {:.0} s", started.elapsed().as_secs_f64());
        Some(Template { files, cursor, entries })
    }

    /// Puts the files into `journald`'s directory, named as system journal
    /// files (the daemon reads only those).
    fn link_into(&self, journald: &PrivateJournald) {
        let dir = journald.journal_dir();
        for (i, file) in journal_files(self.files.path()).iter().enumerate() {
            link_or_copy(file, &dir.join(format!("system@bwbench-{i}.journal")));
        }
    }
}

fn journal_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "journal"))
        .collect();
    files.sort();
    files
}

fn link_or_copy(from: &Path, to: &Path) {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("{} to {}: {e}", from.display(), to.display()));
    }
}

/// The real binary on a journald of its own, with a storage directory of
/// its own; stopped by its PID on drop (SIGTERM, SIGKILL after 10 s).
struct RealDaemon {
    child: Option<Child>,
    /// When it was started, and when it was seen saving its counters.
    started: Instant,
    counter_saves: Vec<Instant>,
    state: tempfile::TempDir,
    /// Declared last: journald stops after the daemon.
    journald: PrivateJournald,
}

impl RealDaemon {
    /// A fresh journald with `template`'s files, and fresh storage; with
    /// `counterMaxKeys` set to `max_keys` if given.
    fn new(template: &Template, max_keys: Option<u32>) -> Option<RealDaemon> {
        let journald = PrivateJournald::start()?;
        // One entry of its own: its journal directory exists, and a daemon
        // started at the end has a position to save.
        journald.log("bwbench", "started");
        journald.wait_for("started", 1, Duration::from_secs(10));
        template.link_into(&journald);
        let state = tempfile::tempdir().unwrap();
        let mut config: serde_json::Value =
            serde_json::from_str(&sandbox_config(root(), &state.path().join("storage"))).unwrap();
        if let Some(max) = max_keys {
            config["counterMaxKeys"] = max.into();
        }
        std::fs::write(state.path().join("banwarden.json"), config.to_string()).unwrap();
        Some(RealDaemon { child: None, started: Instant::now(), counter_saves: vec![], state, journald })
    }

    fn cursor_file(&self) -> PathBuf {
        self.state.path().join("storage").join(format!("journal@{}.cursor", self.journald.namespace()))
    }

    /// Starts `banwarden run`, after `cursor` if given (else at the end);
    /// returns once it has opened the journal (it saves its position then).
    fn start(&mut self, cursor: Option<&str>) {
        assert!(self.child.is_none());
        (self.started, self.counter_saves) = (Instant::now(), vec![]);
        let _ = std::fs::remove_file(self.cursor_file());
        if let Some(cursor) = cursor {
            std::fs::create_dir_all(self.state.path().join("storage")).unwrap();
            std::fs::write(self.cursor_file(), format!("{cursor}\n")).unwrap();
        }
        self.child = Some(
            Command::new(env!("CARGO_BIN_EXE_banwarden"))
                .args(["run", "--config"])
                .arg(self.state.path().join("banwarden.json"))
                .args(["--journal-namespace", self.journald.namespace()])
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(self.state.path().join("stderr")).unwrap())
                .spawn()
                .unwrap(),
        );
        if cursor.is_none() {
            let deadline = Instant::now() + Duration::from_secs(10);
            while !self.cursor_file().exists() {
                assert!(Instant::now() < deadline, "no {} after 10 s: {}", self.cursor_file().display(), self.stderr());
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().expect("started").id()
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(self.state.path().join("stderr")).unwrap_or_default()
    }

    /// The identity of its counters file (replaced at each save), if any.
    fn counters_file(&self) -> Option<(u64, i64, i64)> {
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(self.state.path().join("storage/counters.json")).ok()?;
        Some((meta.ino(), meta.mtime(), meta.mtime_nsec()))
    }

    /// Waits until the daemon has logged the marker's ban: every entry
    /// before the marker is judged. Notes the counter saves meanwhile.
    fn wait_until_judged(&mut self) {
        let message = format!("Ban from SSH for {MARKER_IP}");
        let mut follower = Command::new("journalctl")
            .arg(format!("--namespace={}", self.journald.namespace()))
            .args(["--follow", "--lines=all", "--quiet", "--output=cat", "SYSLOG_IDENTIFIER=banwarden"])
            .arg(format!("MESSAGE={message}"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("journalctl runs");
        let stdout = follower.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + JUDGED_TIMEOUT;
        let mut counters = self.counters_file();
        let seen = loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                other => break other,
            }
            let now = self.counters_file();
            if now != counters {
                (counters, _) = (now, self.counter_saves.push(Instant::now()));
            }
        };
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(follower.id() as libc::pid_t, libc::SIGTERM) };
        follower.wait().unwrap();
        reader.join().unwrap();
        assert_eq!(seen.as_deref(), Ok(message.as_str()), "marker not judged in time; daemon: {}", self.stderr());
    }

    /// Makes it save its counters once more, and waits until it has: it
    /// does so with its position, 100 ms after the flow pauses, if the last
    /// save is `COUNTERS_EVERY` (10 s) old. Returns the saves seen before.
    fn save_counters(&mut self) -> usize {
        let before = self.counter_saves.len();
        let last = self.counter_saves.last().copied().unwrap_or(self.started);
        std::thread::sleep((last + Duration::from_millis(10_300)).saturating_duration_since(Instant::now()));
        let (counters, deadline) = (self.counters_file(), Instant::now() + Duration::from_secs(30));
        'save: loop {
            assert!(Instant::now() < deadline, "no counter save in 30 s: {}", self.stderr());
            // One entry (that no rule acts on), judged then saved.
            self.journald.log("bwbench", "save now");
            for _ in 0..40 {
                std::thread::sleep(Duration::from_millis(50));
                if self.counters_file() != counters {
                    break 'save;
                }
            }
        }
        // Replaced once written: it may be the previous save (a short
        // time); wait until the file stays as it is.
        let mut stable = self.counters_file();
        loop {
            std::thread::sleep(Duration::from_millis(200));
            let now = self.counters_file();
            if now == stable {
                break;
            }
            stable = now;
        }
        before
    }

    /// Stops it at once (SIGKILL).
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for RealDaemon {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: kill(2) on our own child, not yet reaped.
            unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(10);
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// What one memory run measures.
struct MemoryRun {
    idle: Memory,
    entries: Memory,
    /// Before and after the save of all keys, and the saves before it.
    keys_judged: Memory,
    counters: Memory,
    saves_before: usize,
}

/// One memory run: three daemons side by side, each on a journald of its
/// own (memory does not depend on their sharing the cores; the time they
/// take does not matter).
fn memory_run(run: usize, corpus: &Template, keys: &Template) -> Option<MemoryRun> {
    // Fresh sets, in this process's own network namespace.
    let status = Command::new("nft").arg("-f").arg(root().join("etc/nftables/banwarden.nft")).status().unwrap();
    assert!(status.success(), "nft -f etc/nftables/banwarden.nft");
    let mut idle = RealDaemon::new(corpus, None)?;
    idle.start(None);
    // One entry judged: the position is saved, and the journal pages mapped
    // while finding the end of the journal are let go, as on a server.
    idle.journald.log("bwbench", "idle from now on");
    let idle_since = Instant::now();
    // The keys first, alone: judged within 10 s, they are saved only once,
    // when asked. The corpus meanwhile, while that daemon waits.
    let (keys_judged_tx, keys_judged_rx) = mpsc::channel();
    let (entries, (keys_judged, counters, saves_before)) = std::thread::scope(|scope| {
        let entries = scope.spawn(move || {
            let _ = keys_judged_rx.recv();
            let mut daemon = RealDaemon::new(corpus, None).expect("journald started before");
            let started = Instant::now();
            daemon.start(Some(&corpus.cursor));
            daemon.wait_until_judged();
            eprintln!(
                "memory run {run}: {} entries judged in {:.1} s",
                corpus.entries,
                started.elapsed().as_secs_f64()
            );
            std::thread::sleep(SETTLE);
            Memory::of(daemon.pid())
        });
        let keys = scope.spawn(|| {
            let mut daemon = RealDaemon::new(keys, Some(COUNTER_KEYS)).expect("journald started before");
            let started = Instant::now();
            daemon.start(Some(&keys.cursor));
            daemon.wait_until_judged();
            let judged = Memory::of(daemon.pid());
            let time = started.elapsed();
            keys_judged_tx.send(()).unwrap();
            let saves = daemon.save_counters();
            std::thread::sleep(SETTLE);
            let counters = Memory::of(daemon.pid());
            eprintln!(
                "memory run {run}: {} keys judged in {:.1} s ({saves} counter saves meanwhile), RSS {:.0} MB; \
                 {:.0} MB once all are saved",
                keys.entries,
                time.as_secs_f64(),
                mb(judged.rss),
                mb(counters.rss)
            );
            // Each live key is saved with its ticks: all of them are there.
            let saved = std::fs::read(daemon.state.path().join("storage/counters.json")).unwrap();
            let saved_keys = saved.windows(8).filter(|w| w == b"\"ticks\":").count();
            assert!(saved_keys >= COUNTER_KEYS as usize, "{saved_keys} counter keys saved, {COUNTER_KEYS} expected");
            // Nothing more to keep: no need to wait for its final save.
            daemon.kill();
            (judged, counters, saves)
        });
        (entries.join().unwrap(), keys.join().unwrap())
    });
    std::thread::sleep(IDLE_AFTER_START.saturating_sub(idle_since.elapsed()));
    let idle = Memory::of(idle.pid());
    Some(MemoryRun { idle, entries, keys_judged, counters, saves_before })
}

fn memory() {
    // The corpus is generated while the keys are written.
    let pending = PendingCorpus::start();
    let Some(keys) = Template::new(|journald| {
        journald.write_many((0..COUNTER_KEYS).map(|i| {
            let ip = std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(100, 64, 0, 0)) + i);
            vec![
                (
                    "MESSAGE".to_owned(),
                    format!("Failed password for root from {ip} port {} ssh2", 1024 + i % 60000).into(),
                ),
                ("SYSLOG_IDENTIFIER".to_owned(), b"sshd".to_vec()),
                ("PRIORITY".to_owned(), b"6".to_vec()),
                ("SYSLOG_FACILITY".to_owned(), b"4".to_vec()),
            ]
        }));
        COUNTER_KEYS as usize
    }) else {
        return;
    };
    let entries = pending.read();
    let Some(corpus) = Template::new(|journald| {
        entries.write_to(journald);
        entries.entries.len()
    }) else {
        return;
    };
    drop(entries);
    let mut runs = Vec::new();
    for run in 1..=report::RUNS {
        let Some(run) = memory_run(run, &corpus, &keys) else { return };
        runs.push(run);
    }
    let column = |pick: fn(&MemoryRun) -> Memory| runs.iter().map(pick).collect::<Vec<_>>();
    let (idle, entries, counters) = (column(|r| r.idle), column(|r| r.entries), column(|r| r.counters));
    let rss = |memory: &[Memory]| memory.iter().map(|m| mb(m.rss)).collect::<Vec<_>>();
    let extra = |memory: &[Memory], more: serde_json::Value| {
        let mut extra = serde_json::json!({
            "vm_hwm_mb": memory.iter().map(|m| mb(m.hwm)).collect::<Vec<_>>(),
            "rss_anon_mb": memory.iter().map(|m| mb(m.anon)).collect::<Vec<_>>(),
            "rss_file_mb": memory.iter().map(|m| mb(m.file)).collect::<Vec<_>>(),
            "config": "etc/banwarden/banwarden.json, sshd routed on SYSLOG_IDENTIFIER",
        });
        extra.as_object_mut().unwrap().extend(more.as_object().unwrap().clone());
        extra
    };
    report::figure(
        "rss.idle",
        "RSS of banwarden run, journal idle",
        "MB",
        &rss(&idle),
        extra(&idle, serde_json::json!({})),
    );
    report::figure(
        "rss.entries",
        &format!("RSS of banwarden run after {} entries of a realistic mix", corpus.entries),
        "MB",
        &rss(&entries),
        extra(&entries, serde_json::json!({"entries": corpus.entries, "corpus": "benches/corpus.py --seed 1"})),
    );
    // What a key costs: anonymous memory over that of the idle daemon.
    let per_key = |memory: &[Memory]| {
        memory
            .iter()
            .zip(&idle)
            .map(|(c, i)| (c.anon as f64 - i.anon as f64) * 1024.0 / f64::from(COUNTER_KEYS))
            .collect::<Vec<_>>()
    };
    let judged = column(|r| r.keys_judged);
    report::figure(
        "rss.counters",
        &format!("RSS of banwarden run with {} live counter keys", keys.entries),
        "MB",
        &rss(&counters),
        extra(
            &counters,
            serde_json::json!({
                "keys": keys.entries, "anon_bytes_per_key": per_key(&counters),
                "before_full_save_rss_mb": rss(&judged),
                "before_full_save_anon_bytes_per_key": per_key(&judged),
                "counter_saves_before": runs.iter().map(|r| r.saves_before).collect::<Vec<_>>(),
            }),
        ),
    );
}

fn main() {
    if !sandbox::enter("live", "private journald, network namespace") {
        return;
    }
    // `cargo bench --bench live -- latency memory`: only the parts named.
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |name: &str| only.is_empty() || only.iter().any(|o| name.contains(o.as_str()));
    let started = Instant::now();
    if wanted("latency") {
        latency_and_cpu();
        eprintln!("latency and CPU: {:.0} s", started.elapsed().as_secs_f64());
    }
    if wanted("memory") {
        memory();
    }
    if wanted("quiet") {
        quiet::quiet_then_attack();
    }
    eprintln!("live benchmark: {:.0} s in all", started.elapsed().as_secs_f64());
}
