//! The operator's side of the fleet, with the real binary and no Redis:
//! `ban --fleet` / `unban --fleet` (and `fleet.share` naming `cli`) put
//! the right lines in the spool, as the storage's owner, once the decision
//! is in force here, and refuse what cannot be shared before doing
//! anything; `fleet status` tells a running daemon from a stopped one by
//! its status file.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use super::bans::Netns;
use super::service::{owners, storage_for_nobody, NOBODY};
use super::util::{text, TestDir};

const RULES: &str = r#"{"actions": {"ssh": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<thatIP>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "thatIP", "banSeconds": 600, "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6"}}
]}, "storage": "STORAGE"FLEET}"#;

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The spool's lines, parsed.
fn spool(storage: &std::path::Path) -> Vec<Value> {
    match std::fs::read_to_string(storage.join("fleet.spool")) {
        Ok(text) => text.lines().map(|l| serde_json::from_str(l).unwrap()).collect(),
        Err(_) => Vec::new(),
    }
}

/// Rewrites the namespace's configuration with this `fleet` (none: "").
fn configure(netns: &Netns, fleet: &str) {
    let storage = netns.storage();
    let json = RULES.replace("STORAGE", storage.to_str().unwrap()).replace("FLEET", fleet);
    std::fs::write(&netns.config, json).unwrap();
}

#[test]
fn bans_and_unbans_by_hand_go_to_the_spool_when_shared() {
    let Some(netns) = Netns::new(&RULES.replace("FLEET", "")) else { return };
    storage_for_nobody(&netns);
    let storage = netns.storage();
    let fleet = r#", "fleet": {"redis": "redis://192.0.2.10:6379", "host": "web-1", "sets": ["ban4"]}"#;
    configure(&netns, fleet);

    let out = netns.banwarden(&["ban", "192.0.2.44", "--set", "ip banwarden ban4", "--for", "1h", "--fleet"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("banned 192.0.2.44") && stdout.contains("shared with the fleet: 1 decision in "),
        "{stdout}"
    );
    let lines = spool(&storage);
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    assert_eq!(
        (line["op"].as_str(), line["set"].as_str(), line["net"].as_str()),
        (Some("ban"), Some("ban4"), Some("192.0.2.44"))
    );
    let end = line["end"].as_u64().unwrap();
    assert!(end.abs_diff(now() + 3600) <= 5, "end {end}, expected about an hour from now");
    assert!(line["by"].as_str().unwrap().starts_with("cli "), "{line}");
    assert_eq!(netns.elements("ip", "ban4").len(), 1, "banned here too");
    // Root wrote it as the storage's owner, as it does the store.
    let files = owners(&storage);
    assert!(files.iter().any(|(name, ..)| name == "fleet.spool"), "{files:?}");
    assert!(files.iter().all(|&(_, uid, gid)| (uid, gid) == (NOBODY, NOBODY)), "{files:?}");

    // A set the fleet does not share: refused, and nothing done here.
    let out = netns.banwarden(&["ban", "2001:db8::7", "--set", "ip6 banwarden ban6", "--fleet"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("goes by \"ban6\" in the fleet, a name fleet.sets does not list"),
        "{}",
        text(&out.stderr)
    );
    assert!(netns.elements("ip6", "ban6").is_empty());
    // Without --fleet (fleet.share is rules only): local only.
    let out = netns.banwarden(&["ban", "192.0.2.45", "--set", "ip banwarden ban4"]);
    assert!(out.status.success() && !text(&out.stdout).contains("shared"), "{}", text(&out.stdout));
    assert_eq!(spool(&storage).len(), 1);

    // Unban everywhere: the set it was lifted from.
    let out = netns.banwarden(&["unban", "192.0.2.44", "--fleet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = spool(&storage);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(
        (lines[1]["op"].as_str(), lines[1]["set"].as_str(), lines[1]["net"].as_str()),
        (Some("unban"), Some("ban4"), Some("192.0.2.44"))
    );
    // Not banned here, but maybe elsewhere: with --set it still goes out.
    let out = netns.banwarden(&["unban", "192.0.2.99", "--set", "ip banwarden ban4", "--fleet"]);
    assert!(out.status.success() && text(&out.stdout).contains("was not in the store"), "{}", text(&out.stdout));
    assert_eq!(spool(&storage).last().unwrap()["net"], "192.0.2.99");

    // fleet.share naming "cli": every ban by hand is shared.
    configure(&netns, &fleet.replace(r#""sets": ["ban4"]"#, r#""share": ["rules", "cli"]"#));
    let out = netns.banwarden(&["ban", "2001:db8::8", "--set", "ip6 banwarden ban6", "--for", "10m"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let last = spool(&storage).pop().unwrap();
    assert_eq!((last["set"].as_str(), last["net"].as_str()), (Some("ban6"), Some("2001:db8::8")), "{last}");
    assert_eq!(spool(&storage).len(), 4);

    // No fleet at all: --fleet is refused before anything is done.
    configure(&netns, "");
    let out = netns.banwarden(&["ban", "192.0.2.46", "--set", "ip banwarden ban4", "--fleet"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no \"fleet\": nothing can be shared"), "{}", text(&out.stderr));
    assert!(!netns.elements("ip", "ban4").iter().any(|(ip, _)| ip == "192.0.2.46"));
    assert_eq!(spool(&storage).len(), 4);
}

#[test]
fn fleet_status_tells_a_running_daemon_from_a_stopped_one() {
    let dir = TestDir::new();
    dir.config(r#"{"actions": {}, "storage": "STORAGE"}"#);
    let out = dir.banwarden(&["fleet", "status"], b"");
    assert_eq!(out.status.code(), Some(2), "no fleet: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no \"fleet\""), "{}", text(&out.stderr));

    dir.config(
        r#"{"actions": {}, "storage": "STORAGE", "fleet": {"redis": "redis://bw:secret@192.0.2.10", "host": "web-1"}}"#,
    );
    std::fs::create_dir(dir.storage()).unwrap();
    // Never started: what the settings say, and the spool's whole lines.
    dir.write("state/fleet.spool", "{\"op\":\"ban\",\"set\":\"s\",\"net\":\"192.0.2.1\",\"end\":0}\n{\"op\":\"ban\"");
    let out = dir.banwarden(&["fleet", "status"], b"");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    for needle in [
        "NOT RUNNING (it has not written its fleet status yet)",
        "host:       web-1",
        "redis://bw:***@192.0.2.10",
        "pending:    1 (in the spool)",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing from:\n{stdout}");
    }
    assert!(!stdout.contains("secret"), "{stdout}");

    // Written by a live process (this one), a second ago.
    let status = |pid: u32, updated: u64| {
        serde_json::json!({"pid": pid, "updated": updated, "host": "web-1", "stream": "banwarden:bans",
            "redis": "redis://bw:***@192.0.2.10", "connected": true, "since": updated - 100, "lastError": null,
            "position": "1765000000000-0", "lagEntries": 0, "lagMs": 0, "published": 9, "pending": 0,
            "malformed": 2, "resyncs": 1, "hosts": {"web-2": {"applied": 30, "refused": 1}}})
    };
    dir.write("state/fleet.status", status(std::process::id(), now() - 1).to_string());
    let out = dir.banwarden(&["fleet", "status"], b"");
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains(&format!("running (pid {}", std::process::id())) && stdout.contains("connected since"),
        "{stdout}"
    );
    assert!(stdout.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["web-2", "30", "1"]), "{stdout}");
    let out = dir.banwarden(&["fleet", "status", "--json"], b"");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["running"].as_bool(), json["pending"].as_u64(), json["published"].as_u64()),
        (Some(true), Some(0), Some(9))
    );

    // Not rewritten for a minute: stopped; what waits is the spool's.
    dir.write("state/fleet.status", status(std::process::id(), now() - 60).to_string());
    let out = dir.banwarden(&["fleet", "status", "--json"], b"");
    assert_eq!(out.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["running"].as_bool(), json["pending"].as_u64(), json["hosts"]["web-2"]["applied"].as_u64()),
        (Some(false), Some(1), Some(30))
    );
    let out = dir.banwarden(&["fleet", "status"], b"");
    assert!(text(&out.stdout).contains("NOT RUNNING (its fleet status was last written 6"), "{}", text(&out.stdout));
}
