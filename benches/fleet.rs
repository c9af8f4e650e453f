//! The fleet (issue 16): bans shared through a Redis stream, measured on
//! real things: `redis-server` on a Unix socket of the benchmark's own
//! (AOF, fsync every second), and hosts that are each a network namespace
//! with its own nftables sets, private journald and `banwarden run`
//! (benches/fleet_rig.rs). Needs root, redis-server and redis-cli.
//!
//! (a) Propagation: hosts a, b and c; a lone attack (one "Failed password"
//!     line, which the rules ban at once) written into a's journal, timed
//!     from the entry handed to journald to the element in b's and c's
//!     kernel sets, as `nft monitor` in their namespaces prints it; 5 runs
//!     of 200 bans [`SPACING`] apart, 1,000 in all. `fleet.propagation.*`
//!     is the later of b and c (the fleet has it), `fleet.origin.*` a's own
//!     kernel (the ban path alone, for comparison).
//! (b) Flood: 100,000 API bans on a (`redis-cli --pipe` of
//!     `TTL_DROP_INSERT` into its Redis-protocol socket; `share` names
//!     "api"), timed from the first command sent to the last ban in b's
//!     and c's kernel sets (looked up by netlink: bans from one origin are
//!     applied in order); 5 runs. `fleet.flood` is the slower host's rate.
//! (c) Scale: 10 hosts on one Redis, each banning through its API, first
//!     at a steady [`STEADY_RATE`] bans/s each for [`STEADY_SECONDS`] s,
//!     then a flood of [`SCALE_FLOOD`] each at once; every host applies
//!     the 9 others' bans. Measured: bans published per second, Redis's CPU
//!     (/proc/PID/stat, all its threads) and its per-command time (`INFO
//!     commandstats`), the stream's and the snapshot's bytes per entry
//!     (`MEMORY USAGE ... SAMPLES 0`), from which `extra.capacity` works
//!     out what one Redis primary carries. Single runs.
//!
//! Run: `cargo bench --bench fleet [-- propagation|flood|scale]` (or
//! `benches/suite.py --only fleet`).

use std::collections::HashMap;
use std::net::IpAddr;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[allow(dead_code)]
#[path = "../tests/integration/journald.rs"]
mod journald;

#[allow(dead_code)]
#[path = "sandbox.rs"]
mod sandbox;

#[allow(dead_code)]
#[path = "report.rs"]
mod report;
use report::{figure, percentile, RUNS};

#[path = "fleet_rig.rs"]
mod rig;
use rig::{address, ban_commands, pipe, Host, Monitor, Redis, API_SET};

#[path = "fleet_scale.rs"]
mod scale;

/// Lone bans per run of (a), and the time between two.
const BANS: u32 = 200;
const SPACING: Duration = Duration::from_millis(25);
/// The stream (`fleet.stream`'s default).
const STREAM: &str = "banwarden:bans";
/// Bans of one flood of (b).
const FLOOD: u32 = 100_000;
/// Hosts of (c), the steady rate of each, and its flood.
const HOSTS: usize = 10;
const STEADY_RATE: u32 = 500;
const STEADY_SECONDS: u32 = 10;
const SCALE_FLOOD: u32 = 10_000;
/// Bounds of a broken run, far above any measurement.
const LONE_TIMEOUT: Duration = Duration::from_secs(5);
const FLOOD_TIMEOUT: Duration = Duration::from_secs(120);

// Each phase bans addresses of its own range of 10.0.0.0/8.
const PROPAGATION_BASE: u32 = 0xC8_0000;
const FLOOD_BASE: u32 = 0x10_0000;
const STEADY_BASE: u32 = 0x80_0000;
const SCALE_BASE: u32 = 0x40_0000;

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(f64::total_cmp);
    v
}

/// p50, p99 and the largest of samples, for `extra`.
fn spread(samples: &[f64]) -> serde_json::Value {
    let s = sorted(samples.to_vec());
    serde_json::json!({"p50": percentile(&s, 50.0), "p99": percentile(&s, 99.0), "max": s[s.len() - 1]})
}

/// (a): the latencies of one run, in ms, per host (a, b, c) and for the
/// fleet (the later of b and c), ban by ban.
fn propagation_run(hosts: &[Host], run: u32) -> [Vec<f64>; 4] {
    let (tx, events) = mpsc::channel();
    let monitors: Vec<Monitor> = hosts.iter().enumerate().map(|(i, h)| Monitor::start(h, i, tx.clone())).collect();
    // A monitor is listening once it shows an element added by hand: one
    // added before it subscribed would never show, hence a new one every
    // 100 ms until each has shown one.
    let mut ready = vec![false; hosts.len()];
    for k in 1..=50u8 {
        for (host, _) in hosts.iter().zip(&ready).filter(|(_, r)| !**r) {
            host.nft(&format!("add element {} {{ 192.0.2.{k} timeout 10s }}", rig::RULE_SET));
        }
        while let Ok((h, ip, _)) = events.recv_timeout(Duration::from_millis(100)) {
            ready[h] |= matches!(ip, IpAddr::V4(v4) if v4.octets()[..3] == [192, 0, 2]);
        }
        if ready.iter().all(|r| *r) {
            break;
        }
    }
    assert!(ready.iter().all(|r| *r), "nft monitor never showed an element on some host: {ready:?}");
    let mut seen: HashMap<(usize, IpAddr), Instant> = HashMap::new();
    let mut wait_for = |ip: IpAddr, hosts: usize, deadline: Instant| -> Vec<Instant> {
        while (0..hosts).any(|h| !seen.contains_key(&(h, ip))) {
            let left = deadline.saturating_duration_since(Instant::now());
            match events.recv_timeout(left) {
                Ok((h, got, when)) => {
                    seen.entry((h, got)).or_insert(when);
                }
                Err(_) => panic!("{ip} not on every host after {LONE_TIMEOUT:?}: seen on {seen:?}"),
            }
        }
        (0..hosts).map(|h| seen[&(h, ip)]).collect()
    };
    let mut out: [Vec<f64>; 4] = Default::default();
    let origin = &hosts[0];
    for i in 0..BANS {
        let ip = address(PROPAGATION_BASE + run * BANS + i);
        let start = Instant::now();
        origin.journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
        let when = wait_for(ip.into(), hosts.len(), start + LONE_TIMEOUT);
        for (h, t) in when.iter().enumerate() {
            out[h].push(ms(*t - start));
        }
        out[3].push(ms(*when[1..].iter().max().unwrap() - start));
        std::thread::sleep(SPACING);
    }
    drop(monitors);
    out
}

fn propagation(hosts: &[Host]) {
    let mut pooled: [Vec<f64>; 4] = Default::default();
    let (mut p50, mut p99, mut origin50, mut origin99) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let load = rig::load();
    for run in 0..RUNS as u32 {
        let got = propagation_run(hosts, run);
        let fleet = sorted(got[3].clone());
        let origin = sorted(got[0].clone());
        eprintln!(
            "propagation run {run}: fleet p50 {:.2} ms, p99 {:.2} ms; a's own kernel p50 {:.2} ms, p99 {:.2} ms",
            percentile(&fleet, 50.0),
            percentile(&fleet, 99.0),
            percentile(&origin, 50.0),
            percentile(&origin, 99.0)
        );
        p50.push(percentile(&fleet, 50.0));
        p99.push(percentile(&fleet, 99.0));
        origin50.push(percentile(&origin, 50.0));
        origin99.push(percentile(&origin, 99.0));
        for (all, one) in pooled.iter_mut().zip(got) {
            all.extend(one);
        }
    }
    let extra = serde_json::json!({
        "bans": pooled[3].len(), "runs": RUNS, "spacing_ms": SPACING.as_millis() as u64, "load": rig::load_text(load),
        "pooled": {"a": spread(&pooled[0]), "b": spread(&pooled[1]), "c": spread(&pooled[2]), "fleet": spread(&pooled[3])},
    });
    let what = "(a) a lone ban in a's journal -> element in b's and c's kernel sets";
    figure("fleet.propagation.p50", &format!("{what}, p50"), "ms", &p50, extra.clone());
    figure("fleet.propagation.p99", &format!("{what}, p99"), "ms", &p99, extra.clone());
    let what = "(a) the same ban -> element in a's own kernel set";
    figure("fleet.origin.p50", &format!("{what}, p50"), "ms", &origin50, extra.clone());
    figure("fleet.origin.p99", &format!("{what}, p99"), "ms", &origin99, extra);
}

fn flood(redis: &Redis, hosts: &[Host]) {
    let (mut slower, mut rate_a, mut rate_b, mut rate_c) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut rate_stream = Vec::new();
    // CPU µs a ban: Redis, then each daemon (a takes, publishes and reads
    // its own entries back; b and c read and apply).
    let mut cpu: [Vec<f64>; 4] = Default::default();
    let load_before = rig::load();
    for run in 0..RUNS as u32 {
        let base = FLOOD_BASE + run * 0x2_0000;
        let commands = ban_commands((0..FLOOD).map(|i| address(base + i)));
        let last: IpAddr = address(base + FLOOD - 1).into();
        let watchers: Vec<_> =
            hosts[1..].iter().map(|h| h.watch(API_SET, vec![last], FLOOD_TIMEOUT, Duration::from_millis(2))).collect();
        let before = redis.query_u64(&["XLEN", STREAM]);
        let stream = redis.wait_len(STREAM, before + u64::from(FLOOD), FLOOD_TIMEOUT);
        let cpu_before: Vec<f64> =
            std::iter::once(redis.cpu_seconds()).chain(hosts.iter().map(Host::cpu_seconds)).collect();
        let start = Instant::now();
        pipe(&hosts[0].resp_socket(), vec![commands], None, FLOOD as usize);
        let a = start.elapsed();
        let published = stream.join().unwrap() - start;
        let done: Vec<Duration> = watchers.into_iter().map(|w| w.join().unwrap() - start).collect();
        let cpu_after = std::iter::once(redis.cpu_seconds()).chain(hosts.iter().map(Host::cpu_seconds));
        for ((all, after), before) in cpu.iter_mut().zip(cpu_after).zip(&cpu_before) {
            all.push((after - before) * 1e6 / f64::from(FLOOD));
        }
        let rate = |d: Duration| f64::from(FLOOD) / d.as_secs_f64();
        eprintln!(
            "flood run {run}: a took them in {:.2} s ({:.0}/s), all in the stream after {:.2} s ({:.0}/s); \
             b had them all after {:.2} s ({:.0}/s), c after {:.2} s ({:.0}/s)",
            a.as_secs_f64(),
            rate(a),
            published.as_secs_f64(),
            rate(published),
            done[0].as_secs_f64(),
            rate(done[0]),
            done[1].as_secs_f64(),
            rate(done[1])
        );
        for host in hosts {
            let count = host.count(API_SET);
            assert_eq!(count, ((run + 1) * FLOOD) as usize, "{}: every ban of the floods so far, once", host.name);
        }
        rate_a.push(rate(a));
        rate_stream.push(rate(published));
        rate_b.push(rate(done[0]));
        rate_c.push(rate(done[1]));
        slower.push(rate(*done.iter().max().unwrap()));
    }
    let median = |v: &[f64]| report::median(&sorted(v.to_vec()));
    let extra = serde_json::json!({
        "bans": FLOOD, "a_rate": median(&rate_a), "b_rate": median(&rate_b), "c_rate": median(&rate_c),
        "stream_rate": median(&rate_stream),
        "cpu_us_per_ban": {"redis": median(&cpu[0]), "a": median(&cpu[1]), "b": median(&cpu[2]), "c": median(&cpu[3])},
        // What the CPU measured allows: a core of its own for each, and the
        // machine's cores shared by all four (nothing else running).
        "one_core_rate": {"redis": (1e6 / median(&cpu[0])) as u64, "b": (1e6 / median(&cpu[2])) as u64},
        "machine_bound": (cores() * 1e6 / cpu.iter().map(|c| median(c)).sum::<f64>()) as u64,
        "cores": cores() as u64,
        "load": rig::load_text(load_before),
    });
    eprintln!("flood: CPU µs a ban (medians): {}", extra["cpu_us_per_ban"]);
    figure(
        "fleet.flood",
        "(b) 100,000 API bans on a, applied on b and c: bans/s of the slower host",
        "bans/s",
        &slower,
        extra.clone(),
    );
    figure(
        "fleet.flood.origin",
        "(b) the same bans taken by a's API (stored and in its kernel)",
        "bans/s",
        &rate_a,
        extra.clone(),
    );
    figure("fleet.flood.stream", "(b) the same bans published by a (all in the stream)", "bans/s", &rate_stream, extra);
}

fn cores() -> f64 {
    std::thread::available_parallelism().map_or(1, |n| n.get()) as f64
}

fn main() {
    if !sandbox::enter("fleet", "network namespaces, nftables sets, private journald") {
        return;
    }
    for (program, package) in [("redis-server", "redis-server"), ("redis-cli", "redis-tools")] {
        if Command::new(program).arg("--version").output().is_err() {
            eprintln!("fleet benchmark: skipped, needs {program} (Debian's {package})");
            return;
        }
    }
    let only: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with('-')).collect();
    let wanted = |phase: &str| only.is_empty() || only.iter().any(|o| o == phase);
    let dir = tempfile::tempdir().unwrap();
    if wanted("propagation") || wanted("flood") {
        let path = dir.path().join("three");
        std::fs::create_dir_all(&path).unwrap();
        let redis = Redis::start(&path);
        let hosts: Vec<Host> = ["a", "b", "c"].iter().map(|n| Host::start(n, &redis)).collect();
        if wanted("propagation") {
            propagation(&hosts);
        }
        if wanted("flood") {
            flood(&redis, &hosts);
        }
    }
    if wanted("scale") {
        let path = dir.path().join("ten");
        std::fs::create_dir_all(&path).unwrap();
        let redis = Redis::start(&path);
        scale::run(&redis);
    }
}
