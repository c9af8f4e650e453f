//! `banwarden status` and the OpenMetrics endpoint with the real daemon:
//! attack lines through a private journald, bans into a namespace's nft
//! sets, then `status --json` checked against what was sent (per-chain
//! entries, matches and bans, the set's store and kernel counts, the
//! counter keys closest to their threshold), the human table, the metrics
//! fetched with curl and parsed by Prometheus' own Python parser
//! (`prometheus_client`), the control socket's mode and group (a user
//! outside the group is refused, one in it is answered), and `status` with
//! no daemon: what the files tell, exit 3. Root only for the daemon's part.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use super::bans::Netns;
use super::journald::PrivateJournald;
use super::util::{require, text, wait_until, TestDir};

/// sshd failures counted per address; the third within 10 minutes bans.
const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_counterRaise", "args": {"counter": "sshd", "for": "ip", "keepSeconds": 600, "save": "failures"}},
    {"filter": "filter_greaterOrEquals", "args": {"field": "failures", "value": 3}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE", "control": {"socket": "CONTROL", "group": "daemon"},
"metrics": {"listen": "127.0.0.1:9101"}}"#;

/// Debian's Python, which has python3-prometheus-client, whatever python3
/// comes first in PATH.
const PYTHON: &str = "/usr/bin/python3";

/// Counts the samples of an OpenMetrics text with prometheus_client's
/// parser (which refuses a text that breaks the format): a JSON list of
/// [name, labels, value].
const PARSE: &str = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        out.append([s.name, s.labels, s.value])
print(json.dumps(out))
"#;

fn failed(ip: &str) -> Vec<(String, Vec<u8>)> {
    vec![
        ("SYSLOG_IDENTIFIER".into(), b"sshd".to_vec()),
        ("MESSAGE".into(), format!("Failed password for root from {ip} port 22 ssh2").into_bytes()),
    ]
}

fn status_json(ns: &Netns) -> (Option<i32>, Value) {
    let out = ns.banwarden(&["status", "--json"]);
    let failed = || Value::String(format!("{}{}", text(&out.stdout), text(&out.stderr)));
    (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or_else(|_| failed()))
}

fn chain<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["chains"].as_array().unwrap().iter().find(|c| c["chain"] == name).unwrap_or(&Value::Null)
}

fn sample(samples: &[Value], name: &str, label: Option<(&str, &str)>) -> Option<f64> {
    samples.iter().find_map(|s| {
        let labelled = label.is_none_or(|(k, v)| s[1][k] == v);
        (s[0] == name && labelled).then(|| s[2].as_f64().unwrap())
    })
}

#[test]
fn status_and_metrics_tell_what_the_daemon_did() {
    if !require(Command::new("curl").arg("--version").output().is_ok(), "curl")
        || !require(
            Command::new(PYTHON).args(["-c", "import prometheus_client"]).status().is_ok_and(|s| s.success()),
            "python3-prometheus-client",
        )
    {
        return;
    }
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(mut ns) = Netns::new(super::bans::NO_RULES) else { return };
    let sockets = ns.state.path().join("run");
    std::fs::create_dir(&sockets).unwrap();
    // Reachable by others: the socket's own mode and group decide.
    for dir in [ns.state.path(), &sockets] {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let control = sockets.join("control");
    let rules = RULES.replace("STORAGE", ns.storage().to_str().unwrap()).replace("CONTROL", control.to_str().unwrap());
    std::fs::write(&ns.config, rules).unwrap();
    let up = Command::new("ip").args(["netns", "exec", &ns.name, "ip", "link", "set", "lo", "up"]).status().unwrap();
    assert!(up.success());
    let daemon = ns.run(&journald);
    assert!(wait_until(10, || control.exists()), "no control socket: {}", daemon.stderr_so_far());

    // 10.0.0.1 fails three times (banned), 10.0.0.2 twice, 10.0.0.3 once;
    // two lines of another program enter the chain and leave it.
    let mut entries = Vec::new();
    for ip in ["10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.3", "10.0.0.2", "10.0.0.1"] {
        entries.push(failed(ip));
    }
    for _ in 0..2 {
        entries.push(vec![("SYSLOG_IDENTIFIER".into(), b"cron".to_vec()), ("MESSAGE".into(), b"tick".to_vec())]);
    }
    journald.write_many(entries.into_iter());
    let mut status = Value::Null;
    let judged = wait_until(20, || {
        status = status_json(&ns).1;
        status["topCounters"].as_array().is_some_and(|t| t.len() == 3) && status["bans"] == 1
    });
    assert!(judged, "{status:#}\n{}", daemon.stderr_so_far());
    let (code, status) = status_json(&ns);
    assert_eq!(code, Some(0));
    assert_eq!(status["running"], true);
    assert_eq!(status["pid"], daemon.pid());
    let sshd = chain(&status, "sshd");
    assert!(sshd["entered"].as_u64().unwrap() >= 8, "{sshd}");
    assert!(status["journal"]["judged"].as_u64().unwrap() >= sshd["entered"].as_u64().unwrap());
    assert_eq!((sshd["passed"].as_u64(), sshd["bans"].as_u64()), (Some(1), Some(1)), "{sshd}");
    let set = status["sets"].as_array().unwrap().iter().find(|s| s["set"] == "ip banwarden ban4").unwrap();
    assert_eq!((set["stored"].as_u64(), set["kernel"].as_u64()), (Some(1), Some(1)), "{set}");
    let top: Vec<(String, u64, u64)> = status["topCounters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (c["key"].as_str().unwrap().to_owned(), c["count"].as_u64().unwrap(), c["threshold"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(top, [("10.0.0.1".into(), 3, 3), ("10.0.0.2".into(), 2, 3), ("10.0.0.3".into(), 1, 3)]);
    assert_eq!(status["latency"]["verdictToKernel"]["count"], 1);
    assert!(status["latency"]["journalToVerdict"]["count"].as_u64().unwrap() >= 8);
    assert_eq!(ns.elements("ip", "ban4").into_iter().map(|(e, _)| e).collect::<Vec<_>>(), ["10.0.0.1"]);

    // The human view: aligned tables.
    let out = ns.banwarden(&["status"]);
    let human = text(&out.stdout);
    assert!(out.status.success(), "{human}{}", text(&out.stderr));
    assert!(human.starts_with(&format!("banwarden is running (pid {})", daemon.pid())), "{human}");
    assert!(
        human
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["sshd", &sshd["entered"].to_string(), "1", "1"]),
        "{human}"
    );
    assert!(
        human.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["sshd", "10.0.0.2", "2", "3"]),
        "{human}"
    );

    // The metrics, as a scraper sees them.
    let curl = Command::new("ip")
        .args(["netns", "exec", &ns.name, "curl", "-sS", "-w", "\n%{content_type}", "http://127.0.0.1:9101/metrics"])
        .output()
        .unwrap();
    let body = text(&curl.stdout);
    let (metrics, content_type) = body.rsplit_once('\n').unwrap();
    assert_eq!(content_type, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    let mut python = Command::new(PYTHON);
    python.args(["-c", PARSE]);
    let parsed = super::util::output(&mut python, metrics.as_bytes());
    assert!(parsed.status.success(), "the parser refused the text: {}\n{metrics}", text(&parsed.stderr));
    let samples: Vec<Value> = serde_json::from_slice(&parsed.stdout).unwrap();
    let chain_label = Some(("chain", "sshd"));
    assert_eq!(sample(&samples, "banwarden_chain_bans_total", chain_label), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_chain_passes_total", chain_label), Some(1.0));
    assert!(sample(&samples, "banwarden_chain_entries_total", chain_label).unwrap() >= 8.0);
    assert_eq!(sample(&samples, "banwarden_bans_total", None), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_set_stored_bans", Some(("set", "ip banwarden ban4"))), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_set_kernel_elements", Some(("set", "ip banwarden ban4"))), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_verdict_to_kernel_seconds_count", None), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_verdict_to_kernel_seconds_bucket", Some(("le", "+Inf"))), Some(1.0));
    assert_eq!(sample(&samples, "banwarden_counter_keys", Some(("counter", "sshd"))), Some(3.0));
    let missing = Command::new("ip")
        .args([
            "netns",
            "exec",
            &ns.name,
            "curl",
            "-s",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            "http://127.0.0.1:9101/",
        ])
        .output()
        .unwrap();
    assert_eq!(text(&missing.stdout), "404");

    // The control socket: root and the group "daemon" only.
    let meta = std::fs::metadata(&control).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o660);
    let daemon_gid = 1; // "daemon" on Debian
    assert_eq!(meta.gid(), daemon_gid);
    let connect = |groups: &str| {
        let script = format!("import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?}); s.sendall(b'{{\"command\": \"status\"}}\\n'); print(s.makefile().readline())", control.to_str().unwrap());
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", groups, PYTHON, "-c", &script])
            .output()
            .unwrap()
    };
    let outsider = connect("--clear-groups");
    assert!(
        !outsider.status.success() && text(&outsider.stderr).contains("Permission denied"),
        "{}",
        text(&outsider.stderr)
    );
    let member = connect("--groups=1");
    let answer: Value = serde_json::from_slice(&member.stdout).unwrap_or(Value::Null);
    assert_eq!(answer["ok"], true, "{}{}", text(&member.stdout), text(&member.stderr));

    // Hostile requests are refused with a reason, and the daemon goes on.
    let hostile = |request: &[u8]| {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&control).unwrap();
        let _ = s.write_all(request);
        let _ = s.shutdown(std::net::Shutdown::Write);
        let mut answer = String::new();
        s.read_to_string(&mut answer).unwrap();
        serde_json::from_str::<Value>(&answer).unwrap()
    };
    assert!(hostile(&vec![b'x'; 100_000])["error"].as_str().unwrap().contains("at most"));
    assert!(hostile(b"{\"command\": \"shutdown\"}\n")["error"].as_str().unwrap().contains("unknown command"));
    assert!(hostile(b"not json\n")["error"].as_str().unwrap().contains("not a JSON object"));
    assert_eq!(status_json(&ns).0, Some(0));

    let (exit, stderr) = daemon.stop();
    assert!(exit.success(), "{stderr}");
    assert!(!control.exists(), "the socket file is removed at the stop");

    // Stopped: what the files tell, exit 3.
    let (code, files) = status_json(&ns);
    assert_eq!(code, Some(3), "{files:#}");
    assert_eq!(files["running"], false);
    assert_eq!(files["sets"], serde_json::json!([["ip banwarden ban4", 1]]));
    assert_eq!(files["cursors"].as_array().unwrap().len(), 1);
    let out = ns.banwarden(&["status"]);
    let human = text(&out.stdout);
    assert!(human.starts_with("banwarden is not running"), "{human}");
    assert!(
        human.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["ip", "banwarden", "ban4", "1"]),
        "{human}"
    );
    ns.flush();
    let _ = &mut ns;
}

/// Without a daemon, and without root: exit 3 and what the (empty)
/// storage tells; the JSON says `"running": false`.
#[test]
fn status_without_a_daemon_says_so() {
    let dir = TestDir::new();
    let socket = dir.path().join("control");
    dir.config(&format!(
        r#"{{"actions": {{"a": [{{"action": "action_noop"}}]}}, "storage": "STORAGE", "control": {{"socket": "{}"}}}}"#,
        socket.display()
    ));
    let out = dir.banwarden(&["status"], b"");
    let human = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{human}{}", text(&out.stderr));
    assert!(human.starts_with("banwarden is not running (no daemon answers on"), "{human}");
    assert!(human.contains("no live ban in the store") && human.contains("none saved"), "{human}");
    let out = dir.banwarden(&["status", "--json"], b"");
    assert_eq!(out.status.code(), Some(3));
    let value: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(value["running"], false);
    assert!(value["error"].as_str().unwrap().contains(socket.to_str().unwrap()));
    assert!(!Path::new(&socket).exists());
}
