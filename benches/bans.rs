//! Bans, in a network namespace of the benchmark's own (needs root):
//! (a) the ban stage alone (store + netlink), 100,000 distinct addresses in
//!     the daemon's batches of 1,024, and each half alone;
//! (b) a flood of 100,000 attackers through the whole daemon, journal to
//!     kernel set and store, into nftables and into ipset;
//! (c) `banwarden boot` of 100,000 and 1,000,000 stored bans (time and
//!     peak RSS), then `list` and `list ADDRESS` of the 1,000,000;
//! (d) one ban alone, journal entry to element in the kernel, p50/p99;
//! (e) the old way: one `nft add element` process per ban;
//! (f) a firewall reload under the daemon: `banwarden run` holding 10,000
//!     and 100,000 stored bans, then `nft -f` of `flush ruleset` and the
//!     same tables, timed until the daemon has put every ban back.
//!
//! Run: `cargo bench --bench bans [-- stage|flood|boot|single|nft|reconcile]` (or
//! `make bench`, which writes doc/performance.md). Every figure is the
//! median of 5 runs, reported with its spread through `report.rs`.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use std::sync::Arc;

use banwarden::bans::Bans;
use banwarden::config;
use banwarden::daemon::{Daemon, Options};
use banwarden::firewall::nft::{NftClient, NftSet};
use banwarden::firewall::{Firewall, Kernel, KernelBan};
use banwarden::journal::sd::Source;
use banwarden::store::{BanStore, Record, Until};
use banwarden::time::{Clock, SystemClock};
use banwarden::vocab::{Backend, BanRequest, Lifetime, Origin, SetRef};

#[allow(dead_code)]
#[path = "../tests/integration/journald.rs"]
mod journald;

use journald::PrivateJournald;

#[allow(dead_code)]
#[path = "sandbox.rs"]
mod sandbox;
use sandbox::RunningDaemon;

#[allow(dead_code)]
#[path = "report.rs"]
mod report;
use report::{figure, RUNS};

const N: u32 = 100_000;
/// The daemon's batch (`BAN_BATCH` in src/daemon.rs).
const BATCH: usize = 1024;
const SET: &str = "ip bench ban4";

const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "bench ban4", "nftSetIPv6": "ip6 bench ban6", "banSeconds": 3600}}
]}, "storage": "STORAGE"}"#;

/// The same into ipset sets.
const IPSET_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "bench4", "ipSetIPv6": "bench6", "banSeconds": 3600}}
]}, "storage": "STORAGE"}"#;

fn address(i: u32) -> IpAddr {
    IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i))
}

fn nft(script: &str) {
    let mut child = Command::new("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "nft -f: {script}");
}

fn fresh_sets() {
    nft("flush ruleset\n\
         table ip bench { set ban4 { type ipv4_addr; flags timeout; }; }\n\
         table ip6 bench { set ban6 { type ipv6_addr; flags timeout; }; }\n");
}

/// Empty ipset sets bench4 and bench6, with timeouts and room for a flood.
fn fresh_ipsets() {
    for (set, family) in [("bench4", "inet"), ("bench6", "inet6")] {
        let _ = Command::new("ipset").args(["destroy", set]).stderr(Stdio::null()).status();
        let status = Command::new("ipset")
            .args(["create", set, "hash:ip", "family", family, "timeout", "0", "maxelem", "1048576"])
            .status()
            .expect("ipset runs (Debian package ipset)");
        assert!(status.success());
    }
}

fn kernel_count() -> usize {
    let set = NftSet::parse(SET).unwrap();
    NftClient::open().unwrap().list(&set).unwrap().len()
}

fn ipset_count() -> usize {
    Firewall::new().list(&SetRef::parse_ipset("bench4").unwrap()).unwrap().len()
}

fn ban_stage() {
    let now = SystemClock.now_us();
    let set = SetRef::parse_nft(SET).unwrap();
    let requests: Vec<BanRequest> = (0..N)
        .map(|i| {
            BanRequest::new(
                address(i).into(),
                set.clone(),
                Lifetime::from_seconds(Some(3600)),
                Origin::Cli { user: "bench".into() },
            )
        })
        .collect();
    let (mut whole, mut store_only, mut netlink_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..RUNS {
        fresh_sets();
        let dir = tempfile::tempdir().unwrap();
        let mut bans = Bans::new(dir.path(), Vec::new(), Arc::new(SystemClock));
        let start = Instant::now();
        for chunk in requests.chunks(BATCH) {
            bans.ban(chunk, &mut |w| panic!("{w}"));
        }
        whole.push(f64::from(N) / start.elapsed().as_secs_f64());
        assert_eq!(kernel_count(), N as usize);

        let dir = tempfile::tempdir().unwrap();
        let mut store = BanStore::open(dir.path(), Backend::Nft).unwrap();
        let records: Vec<Record> = requests
            .iter()
            .map(|r| Record {
                net: r.net,
                set: r.set.clone(),
                until: Until::At(now + 3_600_000_000),
                start: now,
                by: r.origin.tag(),
                why: None,
            })
            .collect();
        let start = Instant::now();
        for chunk in records.chunks(BATCH) {
            store.ban(chunk, now).unwrap();
        }
        store_only.push(f64::from(N) / start.elapsed().as_secs_f64());

        fresh_sets();
        let mut firewall = Firewall::new();
        let sends: Vec<KernelBan> = requests
            .iter()
            .map(|r| KernelBan { net: r.net, set: r.set.clone(), timeout: Some(Duration::from_secs(3600)) })
            .collect();
        let start = Instant::now();
        for chunk in sends.chunks(BATCH) {
            assert!(firewall.add(chunk).iter().all(Result::is_ok));
        }
        netlink_only.push(f64::from(N) / start.elapsed().as_secs_f64());
    }
    let extra = serde_json::json!({"bans": N, "batch": BATCH});
    figure("bans.stage", "(a) ban stage, store + netlink, batches of 1,024", "bans/s", &whole, extra.clone());
    figure(
        "bans.stage.store",
        "(a) the store alone (append, fsync per batch, compaction)",
        "bans/s",
        &store_only,
        extra.clone(),
    );
    figure("bans.stage.netlink", "(a) netlink alone", "bans/s", &netlink_only, extra);
}

/// Writes a marker, lets a daemon judge it and stop, so that the next
/// daemon on this storage starts right after it.
fn position_after_marker(journald: &PrivateJournald, text: &str) {
    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let config = config::compile(text, "bench.json").unwrap();
            let options =
                Options { source: Source::Namespace(journald.namespace().into()), from_tail: false, config: None };
            Daemon::open(config, &options, Arc::new(SystemClock))
                .unwrap()
                .run_observed(&stop, |_| stop.store(true, Ordering::Relaxed));
        });
        std::thread::sleep(Duration::from_millis(300));
        journald.log("marker", "position");
    });
}

fn attack(journald: &PrivateJournald, run: u32) {
    journald.write_many((0..N).map(|i| {
        vec![
            ("SYSLOG_IDENTIFIER".to_string(), b"sshd".to_vec()),
            (
                "MESSAGE".to_string(),
                format!("Failed password for root from {} port 22 ssh2", address(i + run * N)).into_bytes(),
            ),
        ]
    }));
}

/// Catch-up: 100,000 attack entries already in the journal, judged,
/// stored and banned by a daemon with `rules`; bans/s.
fn catch_up(journald: &PrivateJournald, rules: &str, batch: u32) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let text = rules.replace("STORAGE", dir.path().to_str().unwrap());
    position_after_marker(journald, &text);
    attack(journald, batch);
    let stop = AtomicBool::new(false);
    let mut judged = 0u32;
    let config = config::compile(&text, "bench.json").unwrap();
    let options = Options { source: Source::Namespace(journald.namespace().into()), from_tail: false, config: None };
    let start = Instant::now();
    let totals = Daemon::open(config, &options, Arc::new(SystemClock)).unwrap().run_observed(&stop, |_| {
        judged += 1;
        if judged == N {
            stop.store(true, Ordering::Relaxed);
        }
    });
    let rate = f64::from(N) / start.elapsed().as_secs_f64();
    assert_eq!(totals.bans, u64::from(N));
    rate
}

fn flood(journald: &PrivateJournald) {
    let (mut rates, mut ipset_rates, mut live, mut intake) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS as u32 {
        fresh_sets();
        rates.push(catch_up(journald, RULES, 3 * run));
        assert_eq!(kernel_count(), N as usize);
        fresh_ipsets();
        ipset_rates.push(catch_up(journald, IPSET_RULES, 3 * run + 2));
        assert_eq!(ipset_count(), N as usize);

        // Live: the daemon follows while the attack is written (journald's
        // intake is then the limit).
        fresh_sets();
        let dir = tempfile::tempdir().unwrap();
        let text = RULES.replace("STORAGE", dir.path().to_str().unwrap());
        let stop = AtomicBool::new(false);
        let (rate, written) = std::thread::scope(|scope| {
            let daemon = scope.spawn(|| {
                let config = config::compile(&text, "bench.json").unwrap();
                let options =
                    Options { source: Source::Namespace(journald.namespace().into()), from_tail: true, config: None };
                let mut judged = 0u32;
                Daemon::open(config, &options, Arc::new(SystemClock)).unwrap().run_observed(&stop, |_| {
                    judged += 1;
                    if judged == N {
                        stop.store(true, Ordering::Relaxed);
                    }
                });
                Instant::now()
            });
            std::thread::sleep(Duration::from_millis(300));
            let start = Instant::now();
            attack(journald, 3 * run + 1);
            let written = start.elapsed().as_secs_f64();
            let end = daemon.join().unwrap();
            (f64::from(N) / (end - start).as_secs_f64(), written)
        });
        live.push(rate);
        intake.push(written);
        assert_eq!(kernel_count(), N as usize);
    }
    let extra = serde_json::json!({"attackers": N});
    figure(
        "bans.flood.nft",
        "(b) flood through the daemon into nftables, journal backlog",
        "bans/s",
        &rates,
        extra.clone(),
    );
    figure(
        "bans.flood.ipset",
        "(b) flood through the daemon into ipset, journal backlog",
        "bans/s",
        &ipset_rates,
        extra,
    );
    intake.sort_by(f64::total_cmp);
    let extra = serde_json::json!({"attackers": N, "journald_intake_s": report::median(&intake)});
    figure("bans.flood.live", "(b) flood into nftables written while the daemon follows", "bans/s", &live, extra);
}

fn boot(count: u32) {
    fresh_sets();
    let dir = tempfile::tempdir().unwrap();
    let config = stored_bans(dir.path(), count);
    let (mut times, mut peaks) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        fresh_sets();
        let (secs, peak_mb) = run_boot(&config);
        times.push(secs);
        peaks.push(peak_mb);
        // Counting means dumping the set, which the kernel does in time
        // quadratic in its size (80 s for 1,000,000): only the smaller
        // one is counted here; the tests check boot's result.
        if count <= 200_000 {
            assert_eq!(kernel_count(), count as usize);
        }
    }
    let (again, _) = run_boot(&config);
    let (id, label) = match count {
        1_000_000 => ("bans.boot.1m", "(c) boot of 1,000,000 stored bans into an empty set"),
        _ => ("bans.boot.100k", "(c) boot of 100,000 stored bans into an empty set"),
    };
    figure(
        id,
        label,
        "s",
        &times,
        serde_json::json!({"bans": count, "permanent_share": 0.1, "again_over_full_set_s": again}),
    );
    figure(&format!("{id}.rss"), &format!("{label}: peak RSS"), "MB", &peaks, serde_json::json!({"bans": count}));
    if count == 1_000_000 {
        list(&config, count);
    }
}

/// `banwarden boot`: its time, and its peak RSS in MB.
fn run_boot(config: &Path) -> (f64, f64) {
    let start = Instant::now();
    let (out, peak_mb) = measured(&["boot", "--config", config.to_str().unwrap()]);
    let secs = start.elapsed().as_secs_f64();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    (secs, peak_mb)
}

/// Runs banwarden with `args` under GNU time (Debian package `time`), for
/// its peak RSS in MB. Not wait4(2) from here: a child exec'd from this
/// process starts its peak at this process's own (exec keeps the larger of
/// the old and the new image's), and this one held a million records. GNU
/// time forks from its own small image. Its line is the last of stderr.
fn measured(args: &[&str]) -> (std::process::Output, f64) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_banwarden"))
        .args(args)
        .output()
        .expect("GNU time (Debian package time)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kb: f64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).expect("GNU time's %M line");
    (out, kb / 1024.0)
}

/// `banwarden list` and `banwarden list ADDRESS` with `count` bans in the
/// store and in the kernel set (what the 1,000,000 boot left there).
fn list(config: &Path, count: u32) {
    let (mut whole, mut one, mut peaks) = (Vec::new(), Vec::new(), Vec::new());
    for run in 0..RUNS as u32 {
        let start = Instant::now();
        let out =
            Command::new(env!("CARGO_BIN_EXE_banwarden")).args(["list", "--config"]).arg(config).output().unwrap();
        whole.push(start.elapsed().as_secs_f64());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()).count(), count as usize + 1);
        // One address near the end of the set, another each run.
        let ip = address(count - 1 - run * 7919).to_string();
        let start = Instant::now();
        let (out, peak_mb) = measured(&["list", &ip, "--config", config.to_str().unwrap()]);
        one.push(start.elapsed().as_secs_f64() * 1000.0);
        peaks.push(peak_mb);
        assert!(out.status.success(), "banwarden list {ip}");
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(
            shown.lines().nth(1).is_some_and(|l| l.starts_with(&ip) && (l.contains(" s ") || l.contains("permanent"))),
            "{shown}"
        );
    }
    let extra = serde_json::json!({"bans": count, "in_kernel": count});
    figure(
        "bans.list.1m",
        "(c) list of 1,000,000 bans (store whole, the large set not dumped)",
        "s",
        &whole,
        extra.clone(),
    );
    figure(
        "bans.list.address",
        "(c) list ADDRESS with 1,000,000 bans in the store and the set",
        "ms",
        &one,
        extra.clone(),
    );
    figure("bans.list.address.rss", "(c) list ADDRESS: peak RSS", "MB", &peaks, extra);
}

/// (d), one run: `BANS` lone bans 30 ms apart; the latencies in ms from
/// the entry handed to journald to the element in the kernel, and to the
/// entry judged.
fn single_ban_run(journald: &PrivateJournald, run: u32) -> (Vec<f64>, Vec<f64>) {
    const BANS: u32 = 200;
    fresh_sets();
    let dir = tempfile::tempdir().unwrap();
    let text = RULES.replace("STORAGE", dir.path().to_str().unwrap());
    let stop = AtomicBool::new(false);
    let (judged_tx, judged_rx) = std::sync::mpsc::channel::<(Instant, String)>();
    let (mut to_judged, mut to_kernel) = (Vec::new(), Vec::new());
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let config = config::compile(&text, "bench.json").unwrap();
            let options =
                Options { source: Source::Namespace(journald.namespace().into()), from_tail: true, config: None };
            Daemon::open(config, &options, Arc::new(SystemClock)).unwrap().run_observed(&stop, |entry| {
                let message = entry.get(banwarden::fields::MESSAGE).unwrap_or_default().to_owned();
                let _ = judged_tx.send((Instant::now(), message));
            });
        });
        std::thread::sleep(Duration::from_millis(300));
        let set = NftSet::parse(SET).unwrap();
        let mut client = NftClient::open().unwrap();
        for i in 0..BANS {
            let ip = address(0x50_0000 + run * BANS + i);
            let start = Instant::now();
            journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
            let needle = format!(" {ip} ");
            let judged = loop {
                let (when, message) = judged_rx.recv_timeout(Duration::from_secs(5)).expect("judged");
                if message.contains(&needle) {
                    break when;
                }
            };
            // Poll the kernel set for the element (a dump costs ~0.1 ms).
            while !client.list(&set).unwrap().iter().any(|(found, _)| found.as_host() == Some(ip)) {
                assert!(start.elapsed() < Duration::from_secs(5), "{ip} never banned");
                std::thread::sleep(Duration::from_micros(200));
            }
            to_kernel.push(start.elapsed().as_secs_f64() * 1000.0);
            to_judged.push((judged - start).as_secs_f64() * 1000.0);
            std::thread::sleep(Duration::from_millis(30));
        }
        stop.store(true, Ordering::Relaxed);
    });
    (to_kernel, to_judged)
}

fn single_ban_latency(journald: &PrivateJournald) {
    let mut samples: [Vec<f64>; 4] = Default::default();
    let mut bans = 0;
    for run in 0..RUNS as u32 {
        let (mut to_kernel, to_judged) = single_ban_run(journald, run);
        bans = to_kernel.len();
        let mut stage: Vec<f64> = to_kernel.iter().zip(&to_judged).map(|(k, j)| k - j).collect();
        to_kernel.sort_by(f64::total_cmp);
        stage.sort_by(f64::total_cmp);
        samples[0].push(report::percentile(&to_kernel, 50.0));
        samples[1].push(report::percentile(&to_kernel, 99.0));
        samples[2].push(report::percentile(&stage, 50.0));
        samples[3].push(report::percentile(&stage, 99.0));
    }
    let extra = serde_json::json!({"bans_per_run": bans, "apart_ms": 30});
    let [k50, k99, s50, s99] = samples;
    figure(
        "bans.kernel.p50",
        "(d) one ban alone, entry to journald -> element in the kernel, p50",
        "ms",
        &k50,
        extra.clone(),
    );
    figure(
        "bans.kernel.p99",
        "(d) one ban alone, entry to journald -> element in the kernel, p99",
        "ms",
        &k99,
        extra.clone(),
    );
    figure(
        "bans.stage_latency.p50",
        "(d) of which judged -> in the kernel (store fsync + netlink), p50",
        "ms",
        &s50,
        extra.clone(),
    );
    figure(
        "bans.stage_latency.p99",
        "(d) of which judged -> in the kernel (store fsync + netlink), p99",
        "ms",
        &s99,
        extra,
    );
}

fn nft_process_per_ban() {
    const BANS: u32 = 100;
    let mut rates = Vec::new();
    for _ in 0..RUNS {
        fresh_sets();
        let start = Instant::now();
        for i in 0..BANS {
            let status = Command::new("nft")
                .args(["add", "element", "ip", "bench", "ban4", &format!("{{ {} timeout 3600s }}", address(i))])
                .status()
                .unwrap();
            assert!(status.success());
        }
        rates.push(f64::from(BANS) / start.elapsed().as_secs_f64());
    }
    figure(
        "bans.nft_process",
        "(e) one `nft add element` process per ban",
        "bans/s",
        &rates,
        serde_json::json!({"bans_per_run": BANS}),
    );
}

/// A store of `count` bans in `SET` (10 % permanent, the rest for a day),
/// and a configuration naming it, in `dir`; the configuration's path.
fn stored_bans(dir: &Path, count: u32) -> std::path::PathBuf {
    let now = SystemClock.now_us();
    let mut store = BanStore::open(dir, Backend::Nft).unwrap();
    let set = SetRef::parse_nft(SET).unwrap();
    let records: Vec<Record> = (0..count)
        .map(|i| Record {
            net: address(i).into(),
            set: set.clone(),
            until: if i % 10 == 0 { Until::Forever } else { Until::At(now + 86_400_000_000) },
            start: now,
            by: Some("rule bench#0".into()),
            why: None,
        })
        .collect();
    store.ban(&records, now).unwrap();
    store.compact(now, true).unwrap();
    let config = dir.join("config.json");
    std::fs::write(&config, RULES.replace("STORAGE", dir.to_str().unwrap())).unwrap();
    config
}

/// (f) for `count` stored bans: the daemon runs (and has put them in the
/// set at its start); each run reloads the ruleset with `flush ruleset`
/// and times, from just before `nft -f` starts, until the daemon says the
/// bans are back (the line it writes once the kernel has acknowledged the
/// last of them). The time `nft` takes is in the figure: an upper bound.
fn reconcile(journald: &PrivateJournald, count: u32) {
    fresh_sets();
    let dir = tempfile::tempdir().unwrap();
    let config = stored_bans(dir.path(), count);
    let daemon = RunningDaemon::start(&config, journald, Duration::from_secs(120));
    let done = format!("put back {count} of {count} stored bans in nftables set \"{SET}\"");
    let (mut times, mut daemon_ms) = (Vec::new(), Vec::new());
    for _ in 0..RUNS {
        let start = Instant::now();
        fresh_sets();
        let line = daemon.line_with(&done, Duration::from_secs(60));
        times.push(start.elapsed().as_secs_f64() * 1000.0);
        let ms = line.rsplit_once(" in ").and_then(|(_, t)| t.split(' ').next()?.parse::<f64>().ok());
        daemon_ms.push(ms.unwrap_or(f64::NAN));
    }
    assert_eq!(kernel_count(), count as usize, "every ban back");
    drop(daemon);
    daemon_ms.sort_by(f64::total_cmp);
    let extra =
        serde_json::json!({"bans": count, "permanent_share": 0.1, "daemon_put_back_ms": report::median(&daemon_ms)});
    let (id, label) = match count {
        10_000 => ("bans.reconcile.10k", "(f) bans back after a `flush ruleset` reload, 10,000 stored"),
        _ => ("bans.reconcile.100k", "(f) bans back after a `flush ruleset` reload, 100,000 stored"),
    };
    figure(id, label, "ms", &times, extra);
}

fn main() {
    if !report::benchmarking() {
        eprintln!("bans benchmark: run with `cargo bench --bench bans`");
        return;
    }
    // SAFETY: getuid has no preconditions.
    if unsafe { libc::getuid() } != 0 {
        eprintln!("bans benchmark: skipped, needs root (a network namespace)");
        return;
    }
    // A network namespace for this process and all it starts: the host's
    // ruleset is never touched. Done before any thread exists, so every
    // thread is in it.
    // SAFETY: unshare(2) with a valid flag, single-threaded here.
    assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "unshare(CLONE_NEWNET)");
    let Some(journald) = PrivateJournald::start() else { return };
    let only = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let wanted = |name: &str| only.as_deref().is_none_or(|o| name.contains(o));
    if wanted("stage") {
        ban_stage();
    }
    if wanted("flood") {
        flood(&journald);
    }
    if wanted("boot") {
        boot(100_000);
        boot(1_000_000);
    }
    if wanted("single") {
        single_ban_latency(&journald);
    }
    if wanted("nft") {
        nft_process_per_ban();
    }
    if wanted("reconcile") {
        reconcile(&journald, 10_000);
        reconcile(&journald, 100_000);
    }
}
