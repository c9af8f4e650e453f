//! Counters under a spray (issue 14): 10,000,000 sshd failures, each from
//! an address of its own, through the real daemon, while attackers reach
//! the ban threshold among them. Needs root.
//!
//! The real binary (`banwarden run`) follows a private journald with the
//! shipped configuration rewritten for a sandbox (`sandbox::sandbox_config`:
//! sshd routed on SYSLOG_IDENTIFIER; 5 failures in 600 s ban for an hour
//! into `inet banwarden ssh_ban4`), in a network namespace of the bench's
//! own where etc/nftables/banwarden.nft is loaded: the bans are real.
//! The default `counterMaxKeys` holds: 700,000 keys shared by the three
//! counter names of that configuration, so `sshd` holds 233,333 and the
//! spray fills it forty times over.
//!
//! The spray comes from 11.0.0.0 upwards (none of the networks the
//! configuration never bans), written as fast as journald takes it while
//! the daemon follows. An attacker starts every 50,000 spray entries
//! (198.18.0.0/15) and fails 5 times, 20,000 spray entries apart: its key
//! has to survive 80,000 new keys between its first and last failure,
//! which only the eviction rule (one-shot keys first) lets it do. The
//! 5th failure is timed from being handed to journald until its address
//! is in the kernel set (a thread lists the set every millisecond).
//!
//! Figures (one run: a run takes about 7 minutes, so the spray is a step
//! of its own in `make bench`, and its figures are not medians of 5):
//! - `spray.rss`: the daemon's peak RSS (VmHWM) over the whole spray;
//!   `extra` has its RSS at start and at the end, and the bound the cap
//!   gives (the daemon at start + every counter full at the measured cost
//!   of a key + the text of a save of all of them);
//! - `spray.missed`: attackers not banned (the bench asserts none);
//! - `spray.kernel.p50`, `spray.kernel.p99`: journal to kernel latency of
//!   the attackers' bans during the spray (`extra`: the max, and per ban
//!   its latency, when it was seen, and how long of it the daemon's loop
//!   waited for a core; when each save was seen; the load average after);
//! - `spray.rate`: entries judged per second (the spray's duration).
//!
//! Run: `cargo bench --bench spray` (or `benches/suite.py --only spray`);
//! `BANWARDEN_SPRAY=N` sprays N addresses instead (a quick try: the
//! figures are then not the page's).

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use banwarden::actions::counter::DEFAULT_TOTAL_KEYS;
use banwarden::firewall::nft::{NftClient, NftSet};

#[allow(dead_code)]
#[path = "../tests/integration/journald.rs"]
mod journald;
#[allow(dead_code)]
#[path = "report.rs"]
mod report;
#[allow(dead_code)]
#[path = "sandbox.rs"]
mod sandbox;

use journald::PrivateJournald;
use sandbox::{mb, sandbox_config, Memory, RunningDaemon};

/// Distinct spraying addresses, one failure each.
const SPRAY: u32 = 10_000_000;
/// Spray entries handed to journald per second (see the module doc).
const RATE: u32 = 25_000;
/// An attacker starts every `ATTACKER_EVERY` spray entries and fails
/// `FAILURES` times (the configuration's threshold), `FAILURE_GAP` apart.
const ATTACKER_EVERY: u32 = 50_000;
const FAILURES: u32 = 5;
const FAILURE_GAP: u32 = 20_000;
/// Every failure falls on a multiple of this (their greatest common divisor).
const DUE_EVERY: u32 = 10_000;
const SET: &str = "inet banwarden ssh_ban4";
/// Bytes a key costs in memory (measured, `DEFAULT_TOTAL_KEYS`'s doc), and
/// the longest line an IPv4 key with one tick takes in a save.
const KEY_BYTES: u64 = 82;
const SAVED_KEY_BYTES: u64 = r#""255.255.255.255":{"ticks":[1763700600000000]},"#.len() as u64;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn spray_ip(i: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(11, 0, 0, 0)) + i)
}

fn attacker_ip(k: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + k)
}

fn failure(journald: &PrivateJournald, ip: Ipv4Addr, port: u32) {
    journald.write(&[
        ("MESSAGE", format!("Failed password for root from {ip} port {port} ssh2").as_bytes()),
        ("SYSLOG_IDENTIFIER", b"sshd"),
        ("PRIORITY", b"6"),
    ]);
}

/// An attacker's last failure: its address, when it was handed to
/// journald, and the daemon's `waited_for_cpu_ms` then.
type Sent = (Ipv4Addr, Instant, f64);

/// The identity of the counters file (replaced at each save).
fn counters_file(storage: &Path) -> Option<(u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt as _;
    let meta = std::fs::metadata(storage.join("counters.json")).ok()?;
    Some((meta.ino(), meta.mtime(), meta.mtime_nsec()))
}

/// Time the daemon's loop (its main thread) has waited for a core, in ms
/// (`/proc/PID/schedstat`'s run_delay): a ban slower than this explains
/// waited for something else.
fn waited_for_cpu_ms(pid: u32) -> f64 {
    let text = std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/schedstat")).unwrap_or_default();
    text.split_whitespace().nth(1).and_then(|n| n.parse::<f64>().ok()).map_or(f64::NAN, |ns| ns / 1e6)
}

/// What the watcher saw.
#[derive(Default)]
struct Watched {
    /// Per attacker banned: ms from its 5th failure to the kernel.
    latencies: Vec<f64>,
    /// Per ban, how long of its latency the daemon's loop waited for a core.
    waited_ms: Vec<f64>,
    /// When (s into the spray) each ban was seen, and each save.
    bans_at: Vec<f64>,
    saves_at: Vec<f64>,
    missed: Vec<Ipv4Addr>,
    counter_saves: usize,
}

/// Lists the set every millisecond for the attackers sent on `sent`, and
/// notes the counters' saves, until `done` and every attacker is banned or
/// 10 s have passed since.
fn watch(sent: mpsc::Receiver<Sent>, done: &AtomicBool, storage: &Path, started: Instant, pid: u32) -> Watched {
    let set = NftSet::parse(SET).unwrap();
    let mut client = NftClient::open().unwrap();
    let mut pending: Vec<Sent> = Vec::new();
    let mut watched = Watched::default();
    let mut file = counters_file(storage);
    let mut done_at = None;
    loop {
        pending.extend(sent.try_iter());
        if !pending.is_empty() {
            let banned = client.list(&set).unwrap();
            let now = Instant::now();
            pending.retain(|&(ip, at, waited)| {
                let found = banned.iter().any(|(net, _)| net.as_host() == Some(IpAddr::V4(ip)));
                if found {
                    watched.latencies.push((now - at).as_secs_f64() * 1000.0);
                    watched.waited_ms.push(waited_for_cpu_ms(pid) - waited);
                    watched.bans_at.push((now - started).as_secs_f64());
                    if std::env::var_os("BANWARDEN_SPRAY_TRACE").is_some() {
                        eprintln!("{ip}: {:.1} ms", (now - at).as_secs_f64() * 1000.0);
                    }
                }
                !found
            });
        }
        let now_file = counters_file(storage);
        if now_file != file {
            (file, watched.counter_saves) = (now_file, watched.counter_saves + 1);
            watched.saves_at.push(started.elapsed().as_secs_f64());
        }
        if done.load(Ordering::Relaxed) {
            let since = *done_at.get_or_insert_with(Instant::now);
            pending.extend(sent.try_iter());
            if pending.is_empty() || since.elapsed() > Duration::from_secs(10) {
                watched.missed = pending.iter().map(|(ip, ..)| *ip).collect();
                return watched;
            }
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn main() {
    if !sandbox::enter("spray", "private journald, network namespace") {
        return;
    }
    let status = Command::new("nft").arg("-f").arg(root().join("etc/nftables/banwarden.nft")).status().unwrap();
    assert!(status.success(), "nft -f etc/nftables/banwarden.nft");
    let Some(journald) = PrivateJournald::start() else { return };
    journald.log("bwbench", "spray follows");
    let state = tempfile::tempdir().unwrap();
    let storage = state.path().join("storage");
    let config = state.path().join("banwarden.json");
    std::fs::write(&config, sandbox_config(root(), &storage)).unwrap();
    let daemon = RunningDaemon::start(&config, &journald, Duration::from_secs(30));
    let pid = daemon.child.id();
    std::thread::sleep(Duration::from_millis(500));
    let at_start = Memory::of(pid);

    let spray: u32 = std::env::var("BANWARDEN_SPRAY").map_or(SPRAY, |n| n.parse().expect("BANWARDEN_SPRAY: a count"));
    let rate: u32 = std::env::var("BANWARDEN_SPRAY_RATE").map_or(RATE, |n| n.parse().expect("BANWARDEN_SPRAY_RATE"));
    let attackers = (spray - FAILURES * FAILURE_GAP) / ATTACKER_EVERY;
    let done = AtomicBool::new(false);
    let (sent_tx, sent_rx) = mpsc::channel();
    let started = Instant::now();
    let watched = std::thread::scope(|scope| {
        let watcher = scope.spawn(|| watch(sent_rx, &done, &storage, started, pid));
        for i in 0..spray {
            if i % DUE_EVERY == 0 {
                // Attackers whose failure is due at this spray entry.
                for k in 0..attackers {
                    let offset = i.wrapping_sub(k * ATTACKER_EVERY);
                    if offset < FAILURES * FAILURE_GAP && offset % FAILURE_GAP == 0 {
                        failure(&journald, attacker_ip(k), 40_000 + offset / FAILURE_GAP);
                        if offset / FAILURE_GAP == FAILURES - 1 {
                            sent_tx.send((attacker_ip(k), Instant::now(), waited_for_cpu_ms(pid))).unwrap();
                        }
                    }
                }
            }
            if i % 1_000 == 0 {
                // On a schedule: `rate` a second whatever a send costs.
                let due = started + Duration::from_secs_f64(f64::from(i) / f64::from(rate));
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            failure(&journald, spray_ip(i), 1024 + i % 60_000);
            if i % 1_000_000 == 999_999 {
                eprintln!("spray: {} entries in {:.0} s", i + 1, started.elapsed().as_secs_f64());
            }
        }
        done.store(true, Ordering::Relaxed);
        watcher.join().unwrap()
    });
    let written = started.elapsed();
    // Judged: the last entry of the spray no longer waits (a marker
    // attacker banned after it).
    let marker = Ipv4Addr::new(198, 19, 255, 254);
    for port in 0..FAILURES {
        failure(&journald, marker, port);
    }
    let set = NftSet::parse(SET).unwrap();
    let mut client = NftClient::open().unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !client.list(&set).unwrap().iter().any(|(net, _)| net.as_host() == Some(IpAddr::V4(marker))) {
        assert!(Instant::now() < deadline, "the spray not judged 120 s after its last entry");
        std::thread::sleep(Duration::from_millis(5));
    }
    let judged = started.elapsed();
    let at_end = Memory::of(pid);
    let evicting = daemon.lines.try_iter().filter(|l| l.contains("holds its limit")).count();
    drop(daemon);

    let mut latencies = watched.latencies.clone();
    latencies.sort_by(f64::total_cmp);
    let bound_kb = at_start.rss + DEFAULT_TOTAL_KEYS as u64 * (KEY_BYTES + SAVED_KEY_BYTES) / 1024;
    eprintln!(
        "spray: {spray} entries written in {:.0} s, judged in {:.0} s; {} of {attackers} attackers banned; \
         {} counter saves; eviction warnings: {evicting}; peak RSS {:.1} MB (bound {:.1} MB)",
        written.as_secs_f64(),
        judged.as_secs_f64(),
        latencies.len(),
        watched.counter_saves,
        mb(at_end.hwm),
        mb(bound_kb)
    );
    let extra = serde_json::json!({
        "entries": spray, "attackers": attackers, "banned": latencies.len(),
        "written_s": written.as_secs_f64(), "judged_s": judged.as_secs_f64(),
        "counter_saves": watched.counter_saves, "eviction_warnings": evicting,
        "rss_start_mb": mb(at_start.rss), "rss_end_mb": mb(at_end.rss),
        "bound_mb": mb(bound_kb), "max_keys": DEFAULT_TOTAL_KEYS,
        "max_ms": latencies.last().copied().unwrap_or(f64::NAN),
        // To tell a slow ban's cause: when each was seen, and each save.
        "latencies_ms": watched.latencies.iter().map(|l| (l * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "waited_for_cpu_ms": watched.waited_ms.iter().map(|l| (l * 10.0).round() / 10.0).collect::<Vec<_>>(),
        "loadavg": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
        "bans_at_s": watched.bans_at.iter().map(|t| (t * 100.0).round() / 100.0).collect::<Vec<_>>(),
        "saves_at_s": watched.saves_at.iter().map(|t| (t * 100.0).round() / 100.0).collect::<Vec<_>>(),
    });
    report::figure("spray.rss", "peak RSS of banwarden run under the spray", "MB", &[mb(at_end.hwm)], extra.clone());
    report::figure(
        "spray.missed",
        "attackers that reached the threshold during the spray and were not banned",
        "attackers",
        &[watched.missed.len() as f64],
        extra.clone(),
    );
    if !latencies.is_empty() {
        for (id, p) in [("spray.kernel.p50", 50.0), ("spray.kernel.p99", 99.0)] {
            report::figure(
                id,
                &format!("attacker's last failure handed to journald -> in the kernel set during the spray, p{p}"),
                "ms",
                &[report::percentile(&latencies, p)],
                extra.clone(),
            );
        }
    }
    report::figure(
        "spray.rate",
        "spray entries judged per second",
        "entries/s",
        &[f64::from(spray) / judged.as_secs_f64()],
        extra,
    );
    let _ = std::io::stdout().flush();
    assert!(watched.missed.is_empty(), "attackers not banned: {:?}", watched.missed);
    assert!(evicting >= 1, "the eviction warning was logged");
    assert!(at_end.hwm < bound_kb, "peak RSS {} kB over the bound {bound_kb} kB", at_end.hwm);
}
