//! `banwarden run` live, on a private journald (needs root):
//! - latency from handing an entry to journald to the end of its judging,
//!   p50 and p99 over 1,000 entries sent at 500 per second;
//! - CPU used while the journal is idle, over 10 s;
//! - memory (peak RSS) of the real binary following a busy journal
//!   (200,000 entries) with examples/server.json.
//!
//! Run: `cargo bench --bench live` (figures in doc/performance.md).

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

use journald::PrivateJournald;

const CONFIG: &str = r#"{"actions": {"latency": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "latency"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^lat (?P<sent>\\d+)$"}},
    {"action": "action_noop"}
]}, "storage": "STORAGE"}"#;

fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let t = |tv: libc::timeval| tv.tv_sec as f64 + tv.tv_usec as f64 / 1e6;
    t(usage.ru_utime) + t(usage.ru_stime)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn latency_and_idle(journald: &PrivateJournald) {
    let state = tempfile::tempdir().unwrap();
    let text = CONFIG.replace("STORAGE", state.path().to_str().unwrap());
    let stop = AtomicBool::new(false);
    let origin = Instant::now();
    let (tx, rx) = mpsc::channel::<f64>();
    let namespace = journald.namespace().to_owned();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let config = config::compile(&text, "latency.json").unwrap();
            let options = Options { source: Source::Namespace(namespace), from_tail: true, config: None };
            let daemon = Daemon::open(config, &options).unwrap();
            daemon.run_observed(&stop, |entry| {
                if let Some(sent) =
                    entry.get(MESSAGE).and_then(|m| m.strip_prefix("lat ")).and_then(|n| n.parse::<u128>().ok())
                {
                    let _ = tx.send((origin.elapsed().as_nanos() - sent) as f64 / 1e6);
                }
            });
        });
        std::thread::sleep(Duration::from_millis(500));
        // Wake it up, then measure while entries flow.
        journald.log("latency", "warming up");
        std::thread::sleep(Duration::from_millis(500));
        let mut latencies = Vec::with_capacity(1000);
        for _ in 0..1000 {
            journald.log("latency", &format!("lat {}", origin.elapsed().as_nanos()));
            std::thread::sleep(Duration::from_millis(2));
            latencies.extend(rx.try_iter());
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while latencies.len() < 1000 && Instant::now() < deadline {
            latencies.extend(rx.recv_timeout(Duration::from_millis(100)).ok());
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "latency while entries flow (500/s): {} entries, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            latencies.len(),
            percentile(&latencies, 0.5),
            percentile(&latencies, 0.99),
            latencies.last().unwrap()
        );
        // Right after the flow: the loop still looks every few ms.
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        std::thread::sleep(ACTIVE_FOR - Duration::from_secs(1));
        let share = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64();
        println!(
            "CPU in the {} s after the last entry (fast polling): {:.3} % of a core",
            (ACTIVE_FOR - Duration::from_secs(1)).as_secs(),
            share * 100.0
        );
        // Idle: let the fast polling end, then count CPU over 10 s.
        std::thread::sleep(Duration::from_secs(2));
        let (cpu0, t0) = (cpu_seconds(), Instant::now());
        std::thread::sleep(Duration::from_secs(10));
        let share = (cpu_seconds() - cpu0) / t0.elapsed().as_secs_f64();
        println!("CPU while the journal is idle: {:.3} % of a core", share * 100.0);
        stop.store(true, Ordering::Relaxed);
    });
}

fn rss_under_load(journald: &PrivateJournald) {
    let state = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/server.json")).unwrap();
    let config_path = state.path().join("server.json");
    std::fs::write(&config_path, config.replace("/var/lib/banwarden", state.path().to_str().unwrap())).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_banwarden"))
        .args(["run", "--config", config_path.to_str().unwrap(), "--journal-namespace", journald.namespace()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let pid = child.id();
    let done = AtomicBool::new(false);
    let sample = |name: &str| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let idents = ["sshd", "nginx", "CRON", "dovecot", "exim"];
    let (peak_anon, peak_file) = std::thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            let (mut anon, mut file) = (0, 0);
            while !done.load(Ordering::Relaxed) {
                anon = anon.max(sample("RssAnon:"));
                file = file.max(sample("RssFile:"));
                std::thread::sleep(Duration::from_millis(20));
            }
            (anon, file)
        });
        journald.write_many((0..200_000u32).map(|i| {
            let ident = idents[i as usize % idents.len()];
            let message = match ident {
                "sshd" if i % 50 == 0 => {
                    format!("Failed password for invalid user admin from 198.51.{}.{} port 22 ssh2", i % 200, i % 250)
                }
                "sshd" => {
                    format!("Accepted publickey for deploy from 192.0.2.{} port {} ssh2", i % 250, 30000 + i % 30000)
                }
                "nginx" => format!(
                    "192.0.2.{} - - [21/Nov/2025:12:00:00 +0000] \"GET /articles/{i} HTTP/1.1\" 200 5123",
                    i % 250
                ),
                _ => format!("ordinary line number {i} of {ident}"),
            };
            vec![
                ("SYSLOG_IDENTIFIER".to_string(), ident.as_bytes().to_vec()),
                ("MESSAGE".to_string(), message.into_bytes()),
            ]
        }));
        std::thread::sleep(Duration::from_secs(3));
        done.store(true, Ordering::Relaxed);
        sampler.join().unwrap()
    });
    println!("memory during the load: peak {peak_anon} kB anonymous, peak {peak_file} kB file-backed");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let field = |name: &str| {
        status.lines().find(|l| l.starts_with(name)).unwrap_or("").split_whitespace().nth(1).unwrap_or("?").to_owned()
    };
    println!(
        "memory after 200,000 entries: peak RSS {} kB (now {} kB: {} kB anonymous, {} kB file-backed, i.e. journal pages mapped)",
        field("VmHWM:"),
        field("VmRSS:"),
        field("RssAnon:"),
        field("RssFile:")
    );
    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
    child.wait().unwrap();
}

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        eprintln!("live benchmark: run with `cargo bench --bench live`");
        return;
    }
    let Some(journald) = PrivateJournald::start() else { return };
    latency_and_idle(&journald);
    rss_under_load(&journald);
}
