//! A ban's reason, end to end: the daemon bans from a private journald
//! (in a network namespace of the test's own) after a counter reaches its
//! threshold; `why` then names the rule, the counter and its count, and
//! finds the triggering entry again by its cursor; `list` shows the reason
//! in one column; the `action_log` line carries the structured fields
//! `journalctl BANWARDEN_IP=` finds; a ban by hand keeps its `--reason`;
//! a cursor no longer in the journal is said to be gone; and the store
//! stays readable by Pyruse's `json.load`. Root only; skipped otherwise,
//! or failed under `CI=true`.

use std::process::Command;
use std::time::Duration;

use super::bans::{ok, Netns};
use super::journald::PrivateJournald;
use super::util::{text, wait_until};

/// sshd failures counted per address; the third bans and logs.
const RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_counterRaise", "args": {"counter": "sshd", "for": "ip", "keepSeconds": 600, "save": "fails"}},
    {"filter": "filter_greaterOrEquals", "args": {"field": "fails", "value": 3}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}},
    {"action": "action_log", "args": {"message": "Ban from SSH for {ip}"}}
]}, "storage": "STORAGE"}"#;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn why_tells_the_rule_the_counter_and_the_entry_and_the_journal_finds_the_ban_by_address() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(RULES) else { return };
    let namespace = journald.namespace().to_owned();
    let run = ns.run(&journald);
    for port in 1..=3 {
        journald.log("sshd", &format!("Failed password for root from 192.0.2.7 port {port} ssh2"));
    }
    let banned = wait_until(10, || !ns.elements("ip", "ban4").is_empty());
    journald.wait_for("Ban from SSH for 192.0.2.7", 1, Duration::from_secs(10));
    let (status, stderr) = run.stop();
    assert!(status.success() && banned, "{stderr}");

    // why --json: the rule, the counter at its threshold, the third entry.
    let why = |args: &[&str]| {
        let mut all = vec!["why"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--journal-namespace", &namespace]);
        ns.banwarden(&all)
    };
    let doc = json(&ok(&why(&["192.0.2.7", "--json"])));
    assert_eq!(doc["banned"], true, "{doc:#}");
    let ban = &doc["bans"][0];
    assert_eq!((ban["set"].as_str(), ban["by"].as_str()), (Some("ip banwarden ban4"), Some("rule sshd#4")), "{doc:#}");
    assert_eq!(ban["in_kernel"], true, "{doc:#}");
    let reason = &ban["reason"];
    assert_eq!(reason["counter"], serde_json::json!({"name": "sshd", "key": "192.0.2.7", "count": 3}), "{doc:#}");
    assert_eq!(reason["message"], "Failed password for root from 192.0.2.7 port 3 ssh2", "{doc:#}");
    assert!(reason["time"].as_f64().unwrap() > 1.7e9, "{doc:#}");
    assert!(reason["cursor"].as_str().is_some_and(|c| c.starts_with("s=")), "{doc:#}");
    let entry = &ban["entry"];
    assert_eq!(entry["found"], true, "{doc:#}");
    assert_eq!(entry["fields"]["MESSAGE"], "Failed password for root from 192.0.2.7 port 3 ssh2", "{doc:#}");
    assert_eq!(entry["fields"]["SYSLOG_IDENTIFIER"], "sshd", "{doc:#}");

    // The same as text.
    let out = ok(&why(&["192.0.2.7"]));
    assert!(out.starts_with("192.0.2.7 is banned in 1 set\n"), "{out}");
    for line in [
        "  by:       rule sshd#4",
        "  counter:  \"sshd\" reached 3 for \"192.0.2.7\"",
        "  message:  Failed password for root from 192.0.2.7 port 3 ssh2",
        "    MESSAGE=Failed password for root from 192.0.2.7 port 3 ssh2",
    ] {
        assert!(out.lines().any(|l| l == line), "no {line:?} in:\n{out}");
    }
    assert!(out.contains("in the kernel now"), "{out}");

    // Not banned: exit 1, and said so.
    let out = why(&["192.0.2.99"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "192.0.2.99 is not banned\n");

    // list: the reason in one column, and whole in the JSON.
    let table = ok(&ns.banwarden(&["list"]));
    assert!(table.lines().next().unwrap().contains("REASON"), "{table}");
    assert!(table.contains("rule sshd#4 (sshd=3)"), "{table}");
    let row = json(ok(&ns.banwarden(&["list", "--json"])).lines().next().unwrap());
    assert_eq!(row["reason"]["counter"]["count"], 3, "{row}");

    // The action_log line: MESSAGE unchanged, the fields beside it.
    let out = Command::new("journalctl")
        .args([&format!("--namespace={namespace}"), "-o", "json", "--no-pager", "BANWARDEN_IP=192.0.2.7"])
        .output()
        .unwrap();
    let lines: Vec<serde_json::Value> = text(&out.stdout).lines().map(json).collect();
    assert_eq!(lines.len(), 1, "{}{}", text(&out.stdout), text(&out.stderr));
    let line = &lines[0];
    assert_eq!(line["MESSAGE"], "Ban from SSH for 192.0.2.7");
    assert_eq!(line["MESSAGE_ID"], "6ee2896be58a4fab998dfb227dd50419");
    assert_eq!(
        (line["BANWARDEN_SET"].as_str(), line["BANWARDEN_CHAIN"].as_str()),
        (Some("ip banwarden ban4"), Some("sshd"))
    );

    // A ban by hand keeps its reason; list shows it after the origin.
    ok(&ns.banwarden(&["ban", "192.0.2.8", "--set", "banwarden ban4", "--for", "1h", "--reason", "abuse report #12"]));
    let out = ok(&why(&["192.0.2.8"]));
    assert!(out.contains("  reason:   abuse report #12"), "{out}");
    assert!(ok(&ns.banwarden(&["list", "192.0.2.8"])).contains("(abuse report #12)"));

    // A cursor the journal no longer has (or never had) is said to be gone.
    let log = ns.storage().join("action_nftBan.json.log");
    let mut lines = std::fs::read_to_string(&log).unwrap();
    let gone = "s=0123456789abcdef0123456789abcdef;i=1;b=0123456789abcdef0123456789abcdef;m=1;t=1;x=1";
    lines.push_str(&format!(
        "{{\"op\": \"ban\", \"IP\": \"192.0.2.9\", \"nfSet\": \"ip banwarden ban4\", \"timestamp\": 0, \"why\": {{\"cursor\": \"{gone}\"}}}}\n"
    ));
    std::fs::write(&log, lines).unwrap();
    let out = why(&["192.0.2.9"]);
    assert!(text(&out.stdout).contains("the entry is no longer in the journal"), "{}", text(&out.stdout));

    // Written as a snapshot, the store is still what Pyruse's json.load
    // and its keys read.
    ok(&ns.banwarden(&["boot"]));
    let snapshot = ns.storage().join("action_nftBan.json");
    let script = "import json, sys\nfor e in json.load(open(sys.argv[1])): print(e['IP'], e['nfSet'], e['timestamp'])";
    let out = Command::new("python3").args(["-c", script]).arg(&snapshot).output().unwrap();
    let pyruse = ok(&out);
    assert!(pyruse.contains("192.0.2.7 ip banwarden ban4") && pyruse.lines().count() == 3, "{pyruse}");
    assert!(std::fs::read_to_string(&snapshot).unwrap().contains("\"why\": {"), "the reasons are in the snapshot too");
}
