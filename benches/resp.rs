//! The Redis protocol in bulk, in a network namespace of the benchmark's
//! own (needs root and redis-cli): `redis-cli --pipe` of 1,000,000
//! distinct `TTL_DROP_INSERT ADDRESS 3600` into `banwarden run` over its
//! Unix socket, timed from the first byte sent to the last reply, each
//! command answered only once its ban is stored (`fsync`) and in the
//! kernel set (`inet banwarden api_drop4`, a hash set with timeouts as
//! the shipped ruleset makes it; networks would go to `api_drop_net4`). Each run starts from an empty store and
//! set. The first run checks `banwarden list` for every ban.
//!
//! Run: `cargo bench --bench resp` (or `make bench`, which writes
//! doc/performance.md). The figure is the median of 5 runs.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

const N: u32 = 1_000_000;

/// The API's default sets, as the tests load them.
const SETS: &str = include_str!("../tests/integration/api_sets.nft");

fn nft(script: &str) {
    let mut child = Command::new("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success(), "nft -f: {script}");
}

/// The commands as `redis-cli --pipe` reads them: RESP arrays.
fn pipe_file(path: &Path) {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    for i in 0..N {
        let address = format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255);
        write!(out, "*3\r\n$15\r\nTTL_DROP_INSERT\r\n${}\r\n{address}\r\n$4\r\n3600\r\n", address.len()).unwrap();
    }
    out.flush().unwrap();
}

fn main() {
    if !sandbox::enter("resp", "a network namespace, nftables sets") {
        return;
    }
    if Command::new("redis-cli").arg("--version").output().is_err() {
        eprintln!("resp benchmark: skipped, needs redis-cli (Debian's redis-tools)");
        return;
    }
    let journald = PrivateJournald::start().expect("a private journald");
    let dir = tempfile::tempdir().unwrap();
    let commands = dir.path().join("commands.resp");
    pipe_file(&commands);
    let mut samples = Vec::new();
    for run in 0..RUNS {
        let _ = Command::new("nft").args(["delete", "table", "inet", "banwarden"]).stderr(Stdio::null()).status();
        nft(SETS);
        let storage = dir.path().join(format!("state-{run}"));
        let socket = dir.path().join(format!("resp-{run}.sock"));
        let config = dir.path().join("config.json");
        let json = serde_json::json!({
            "actions": {"a": [{"action": "action_noop"}]},
            "storage": storage,
            "resp": {"listen": [format!("unix:{}", socket.display())]},
        });
        std::fs::write(&config, serde_json::to_string_pretty(&json).unwrap()).unwrap();
        let daemon = RunningDaemon::start(&config, &journald, Duration::from_secs(60));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            assert!(Instant::now() < deadline, "no socket at {}", socket.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        let input = std::fs::File::open(&commands).unwrap();
        let started = Instant::now();
        let out = Command::new("redis-cli").arg("-s").arg(&socket).arg("--pipe").stdin(input).output().unwrap();
        let seconds = started.elapsed().as_secs_f64();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.contains(&format!("errors: 0, replies: {N}")), "redis-cli --pipe: {said}");
        let rate = f64::from(N) / seconds;
        eprintln!("run {run}: {N} bans in {seconds:.2} s: {rate:.0} bans/s");
        samples.push(rate);
        if run == 0 {
            let list =
                Command::new(env!("CARGO_BIN_EXE_banwarden")).args(["list", "--config"]).arg(&config).output().unwrap();
            let listed = String::from_utf8_lossy(&list.stdout).lines().filter(|l| l.contains("10.")).count();
            assert!(listed >= N as usize, "list shows {listed} of the {N} bans");
        }
        drop(daemon);
    }
    figure(
        "resp.pipe",
        "redis-cli --pipe of 1,000,000 distinct TTL_DROP_INSERT (stored and in the kernel)",
        "bans/s",
        &samples,
        serde_json::json!({"bans": N}),
    );
}
