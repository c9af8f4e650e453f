//! Quiet, then one attacker (part of `cargo bench --bench live`, or
//! `-- quiet` alone): the latency of a lone ban on a journal that has been
//! silent for `QUIET` (60 s; `BANWARDEN_QUIET_S` for a quick run), and
//! what the daemon costs meanwhile.
//!
//! - `live.quiet.kernel.p50`, `live.quiet.kernel.p99`: from handing the
//!   attacker's one line to journald to its address in the kernel set, over
//!   every trial (one figure, not a median of runs; `extra` has them all);
//! - `live.quiet.cpu`: the daemon's CPU over each quiet stretch, from
//!   /proc/PID/stat (utime + stime, all threads: what `top` shows), one
//!   sample per stretch of `QUIET` less a second; `extra` has the same from
//!   /proc/PID/task/*/schedstat (nanoseconds, where /proc/PID/stat counts
//!   10 ms ticks), and the floor: the CPU of a thread of the bench that
//!   does nothing but sleep 10 ms at a time during the first quiet minute
//!   (a wake-up's price on this machine, which no look can go below).
//!
//! Trials: `DAEMONS` real daemons (`banwarden run --journal-namespace`),
//! each on a journald of its own and in a network namespace of its own
//! (`ip netns add`, with a `bench ban4` set; deleted at the end), so that
//! nothing one trial does reaches another daemon: not its journal, not
//! its sets nor their notifications. Each daemon is quiet for `QUIET` after
//! it started, then gets one line every `QUIET` + 2 s, `ROUNDS` times; the
//! daemons' lines are spread over that period, so no two attacks overlap.
//! A daemon's quiet stretch starts with its own "Ban" line, read back a
//! few ms after the attacker's, so each is at least `QUIET` long.
//!
//! Why a minute is not needed for a quick run: with the journal's headers
//! watched (`src/daemon/look.rs`) the loop looks every 5 ms for
//! `ACTIVE_FOR` (10 s) after the last entry, then every 10 ms, whatever the
//! time since; its deadlines (the position saved 100 ms after the last
//! entry, the counters with it, the store looked at every second, the
//! ipsets every 2 s, the files found again every second) all fall within
//! the first seconds and then repeat. So beyond ~12 s of quiet the daemon's
//! state no longer changes, and the suite's 60 s only guards against
//! something slower (a cache or page gone cold), which the figures would
//! show.

use std::process::Command;
use std::time::{Duration, Instant};

use banwarden::firewall::nft::{NftClient, NftSet};

use super::journald::PrivateJournald;
use super::report;
use super::sandbox::RunningDaemon;

const DAEMONS: usize = 8;
const ROUNDS: usize = 3;
/// Between a daemon's ban and its next attacker, beyond `QUIET`.
const MARGIN: Duration = Duration::from_secs(2);
/// A lone ban not in the kernel by then is a failure.
const BAN_TIMEOUT: Duration = Duration::from_secs(10);

const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "bench ban4", "nftSetIPv6": "ip6 bench ban6", "banSeconds": 3600}},
    {"action": "action_log", "args": {"message": "Ban from SSH for {ip}"}}
]}, "storage": "STORAGE"}"#;
const SETS: &str = "table ip bench { set ban4 { type ipv4_addr; flags timeout; }; }\n\
                    table ip6 bench { set ban6 { type ipv6_addr; flags timeout; }; }\n";

fn quiet() -> Duration {
    let seconds = std::env::var("BANWARDEN_QUIET_S").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    Duration::from_secs(seconds)
}

/// A named network namespace with the bench's sets, deleted on drop.
struct Netns(String);

impl Netns {
    fn new(i: usize) -> Netns {
        let name = format!("bwquiet-{}-{i}", std::process::id());
        assert!(Command::new("ip").args(["netns", "add", &name]).status().unwrap().success(), "ip netns add {name}");
        let netns = Netns(name);
        let mut nft = Command::new("ip")
            .args(["netns", "exec", &netns.0, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write as _;
        nft.stdin.take().unwrap().write_all(SETS.as_bytes()).unwrap();
        assert!(nft.wait().unwrap().success(), "nft -f in {}", netns.0);
        netns
    }

    /// Moves the calling thread into it (setns(2) is per thread).
    fn enter(&self) {
        let file = std::fs::File::open(format!("/run/netns/{}", self.0)).unwrap();
        use std::os::fd::AsRawFd as _;
        // SAFETY: a namespace descriptor of ours, for this thread only.
        assert_eq!(unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) }, 0, "setns {}", self.0);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

/// CPU seconds of a process: (utime + stime from /proc/PID/stat, the sum
/// of its threads' run time from their schedstat).
fn cpu_of(pid: u32) -> (f64, f64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // After the command name, which may hold spaces: fields 3 on.
    let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    let mut ns = 0u64;
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().flatten() {
        if let Ok(text) = std::fs::read_to_string(task.path().join("schedstat")) {
            ns += text.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
    }
    (ticks as f64 / hz, ns as f64 / 1e9)
}

/// CPU seconds of the calling thread.
fn thread_cpu() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills the struct we own.
    assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) }, 0);
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

/// What one daemon measured: ban latencies (ms), and CPU shares (% of a
/// core) over its quiet stretches, from stat and from schedstat.
#[derive(Default)]
struct Trials {
    latencies: Vec<f64>,
    cpu: Vec<f64>,
    cpu_schedstat: Vec<f64>,
}

/// Runs one daemon's trials: quiet, one line, the element awaited.
fn trials(i: usize, pid: u32, journald: &PrivateJournald, netns: &Netns, first: Instant) -> Trials {
    netns.enter();
    let set = NftSet::parse("ip bench ban4").unwrap();
    let mut client = NftClient::open().unwrap();
    let period = quiet() + MARGIN;
    let mut out = Trials::default();
    let mut quiet_since = (Instant::now(), cpu_of(pid));
    for round in 0..ROUNDS {
        let attack = first + period * round as u32 + period / DAEMONS as u32 * i as u32;
        // The stretch ends just before the line (a second is left out
        // after the ban: the daemon's own line and position save).
        std::thread::sleep(attack.saturating_duration_since(Instant::now()).saturating_sub(Duration::from_millis(20)));
        let (since, cpu0) = quiet_since;
        let (cpu1, span) = (cpu_of(pid), since.elapsed().as_secs_f64());
        out.cpu.push((cpu1.0 - cpu0.0) / span * 100.0);
        out.cpu_schedstat.push((cpu1.1 - cpu0.1) / span * 100.0);
        std::thread::sleep(attack.saturating_duration_since(Instant::now()));
        let ip = std::net::Ipv4Addr::new(198, 51, 100, (i * ROUNDS + round + 1) as u8);
        let start = Instant::now();
        journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
        // A dump of a set this small costs ~0.1 ms.
        while !client.list(&set).unwrap().iter().any(|(found, _)| found.as_host() == Some(ip.into())) {
            assert!(start.elapsed() < BAN_TIMEOUT, "{ip} not banned by daemon {i} after {BAN_TIMEOUT:?}");
            std::thread::sleep(Duration::from_micros(200));
        }
        out.latencies.push(start.elapsed().as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_secs(1));
        quiet_since = (Instant::now(), cpu_of(pid));
    }
    out
}

pub fn quiet_then_attack() {
    let quiet = quiet();
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let mut rigs = Vec::new();
    for i in 0..DAEMONS {
        let Some(journald) = PrivateJournald::start() else { return };
        journald.log("bwbench", "started");
        let netns = Netns::new(i);
        let config = dir.path().join(format!("{i}.json"));
        let storage = dir.path().join(format!("storage-{i}"));
        std::fs::write(&config, RULES.replace("STORAGE", storage.to_str().unwrap())).unwrap();
        let daemon = RunningDaemon::start_in(&config, &journald, Duration::from_secs(30), Some(&netns.0));
        rigs.push((daemon, journald, netns));
    }
    let first = Instant::now() + quiet;
    // The floor: what a thread that only sleeps 10 ms at a time (the
    // daemon's pace when quiet) costs on this machine meanwhile.
    let floor = std::thread::spawn(move || {
        let (cpu0, t0) = (thread_cpu(), Instant::now());
        while Instant::now() + Duration::from_millis(10) < first {
            // SAFETY: no descriptors; a pure 10 ms sleep.
            unsafe { libc::poll(std::ptr::null_mut(), 0, 10) };
        }
        (thread_cpu() - cpu0) / t0.elapsed().as_secs_f64() * 100.0
    });
    let all: Vec<Trials> = std::thread::scope(|scope| {
        let handles: Vec<_> = rigs
            .iter()
            .enumerate()
            .map(|(i, (daemon, journald, netns))| {
                let pid = daemon.child.id();
                scope.spawn(move || trials(i, pid, journald, netns, first))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let floor = floor.join().unwrap();
    let mut latencies: Vec<f64> = all.iter().flat_map(|t| t.latencies.iter().copied()).collect();
    let cpu: Vec<f64> = all.iter().flat_map(|t| t.cpu.iter().copied()).collect();
    let cpu_schedstat: Vec<f64> = all.iter().flat_map(|t| t.cpu_schedstat.iter().copied()).collect();
    latencies.sort_by(f64::total_cmp);
    let extra = serde_json::json!({
        "trials": latencies.len(), "daemons": DAEMONS, "quiet_s": quiet.as_secs(),
        "latencies_ms": latencies, "max_ms": latencies[latencies.len() - 1],
    });
    report::figure(
        "live.quiet.kernel.p50",
        "quiet, then one attacker: journald to the kernel, p50 of all trials",
        "ms",
        &[report::percentile(&latencies, 50.0)],
        extra.clone(),
    );
    report::figure(
        "live.quiet.kernel.p99",
        "quiet, then one attacker: journald to the kernel, p99 of all trials",
        "ms",
        &[report::percentile(&latencies, 99.0)],
        extra,
    );
    let mut sorted = cpu_schedstat.clone();
    sorted.sort_by(f64::total_cmp);
    report::figure(
        "live.quiet.cpu",
        "CPU of the daemon over a quiet stretch (/proc/PID/stat)",
        "% of a core",
        &cpu,
        serde_json::json!({
            "stretches": cpu.len(), "stretch_s": quiet.as_secs_f64() + MARGIN.as_secs_f64() - 1.0,
            // As text: the page writes a float with two decimals.
            "schedstat_median": format!("{:.4}", report::median(&sorted)),
            "schedstat_max": format!("{:.4}", sorted[sorted.len() - 1]),
            "schedstat": cpu_schedstat,
            "sleep_10ms_floor": format!("{floor:.4}"),
        }),
    );
    eprintln!("quiet, then one attacker: {:.0} s", started.elapsed().as_secs_f64());
}
