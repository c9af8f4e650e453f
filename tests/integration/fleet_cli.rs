//! The operator's side of the fleet, with the real binary and no Redis:
//! `ban --fleet` / `unban --fleet` (and `fleet.share` naming `cli`) put
//! the right lines in the spool, as the storage's owner, once the decision
//! is in force here, and refuse what cannot be shared before doing
//! anything; `fleet status` tells a running daemon from a stopped one by
//! its status file.

use serde_json::Value;

use super::bans::Netns;
use super::fleet::Redis;
use super::service::{owners, storage_for_nobody, NOBODY};
use super::util::{text, TestDir};

const RULES: &str = r#"{"actions": {"ssh": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<thatIP>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "thatIP", "banSeconds": 600, "nftSetIPv4": "ip banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6"}}
]}, "storage": "STORAGE"FLEET}"#;

fn now() -> u64 {
    use banwarden::time::Clock;
    banwarden::time::SystemClock.now_us() / 1_000_000
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

/// redis-cli on `redis`'s socket as banwarden's ACL user (password
/// `test-pw`): what it printed, error replies included.
fn as_user(redis: &Redis, words: &[&str]) -> String {
    let out = std::process::Command::new("redis-cli")
        .arg("-s")
        .arg(redis.socket())
        .args(["--user", "banwarden", "--pass", "test-pw", "--no-auth-warning"])
        .args(words)
        .output()
        .expect("redis-cli runs");
    text(&out.stdout) + &text(&out.stderr)
}

/// The ACL rule doc/fleet.md gives is all a daemon needs: a daemon
/// connected as that user publishes what `ban --fleet` spooled, catches up
/// from the snapshot and applies another host's entry, and Redis logs no
/// command refused (`ACL LOG`); the commands used only with options this
/// test does not set (`WAIT`, `ROLE`) and the pruning's are run as the user
/// too. And `fleet status` of the running daemon.
#[test]
fn the_acl_of_doc_fleet_md_is_enough() {
    let Some(journald) = super::journald::PrivateJournald::start() else { return };
    let Some(netns) = Netns::new(&RULES.replace("FLEET", "")) else { return };
    let Some(redis) = Redis::start() else { return };
    let guide = std::fs::read_to_string(super::util::root().join("doc/fleet.md")).unwrap();
    let rule = guide.lines().find(|l| l.starts_with("ACL SETUSER banwarden ")).expect("the ACL rule in doc/fleet.md");
    let words: Vec<&str> = rule.split_whitespace().map(|w| if w == ">PASSWORD" { ">test-pw" } else { w }).collect();
    assert_eq!(redis.cli(&words).trim(), "OK", "{rule}");
    let password = netns.state.path().join("redis.password");
    std::fs::write(&password, "test-pw\n").unwrap();
    let fleet = format!(
        r#", "fleet": {{"redis": "unix://{}", "user": "banwarden", "passwordFile": "{}", "host": "web-1"}}"#,
        redis.socket().display(),
        password.display()
    );
    configure(&netns, &fleet);
    // A ban of another host in the snapshot, for the catch-up of a new host.
    redis.cli(&["HSET", "banwarden:bans:live", "ban4 198.51.100.8", "0 web-3 rule sshd#1"]);
    redis.cli(&["ZADD", "banwarden:bans:ends", "253402300799", "ban4 198.51.100.8"]);
    let out = netns.banwarden(&["ban", "192.0.2.50", "--set", "ip banwarden ban4", "--for", "1h", "--fleet"]);
    assert!(out.status.success(), "{}", text(&out.stderr));

    let daemon = netns.run(&journald);
    let has = |ip: &str| netns.elements("ip", "ban4").iter().any(|(e, _)| e == ip);
    let published = || redis.cli(&["HGET", "banwarden:bans:live", "ban4 192.0.2.50"]).contains(" web-1 cli ");
    assert!(
        super::util::wait_until(10, || published() && has("198.51.100.8")),
        "{}",
        redis.cli(&["XRANGE", "banwarden:bans", "-", "+"])
    );
    let entry = "v 1 op ban host web-2 set ban4 net 198.51.100.9 end 0 by";
    let words: Vec<&str> =
        ["XADD", "banwarden:bans", "*"].into_iter().chain(entry.split(' ')).chain(["rule sshd#2"]).collect();
    redis.cli(&words);
    assert!(super::util::wait_until(10, || has("198.51.100.9")), "web-2's ban applied");

    assert!(as_user(&redis, &["ROLE"]).starts_with("master"), "{}", as_user(&redis, &["ROLE"]));
    assert_eq!(as_user(&redis, &["WAIT", "0", "100"]).trim(), "0");
    let prune = "local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[1]) \
                 for _, m in ipairs(gone) do redis.call('HDEL', KEYS[1], m) redis.call('ZREM', KEYS[2], m) end return #gone";
    let sha = as_user(&redis, &["SCRIPT", "LOAD", prune]);
    let pruned = as_user(&redis, &["EVALSHA", sha.trim(), "2", "banwarden:bans:live", "banwarden:bans:ends", "1"]);
    assert_eq!(pruned.trim(), "0", "{sha}");
    assert_eq!(redis.cli(&["ACL", "LOG"]).trim(), "", "commands refused to banwarden's user");
    assert!(as_user(&redis, &["GET", "other"]).contains("NOPERM"), "nothing more than the rule gives");

    let status = |netns: &Netns| {
        let out = netns.banwarden(&["fleet", "status", "--json"]);
        serde_json::from_slice::<Value>(&out.stdout).unwrap_or_default()
    };
    assert!(super::util::wait_until(5, || status(&netns)["hosts"]["web-2"]["applied"] == 1), "{}", status(&netns));
    let json = status(&netns);
    assert_eq!((json["running"].as_bool(), json["connected"].as_bool()), (Some(true), Some(true)), "{json}");
    assert_eq!(
        (json["published"].as_u64(), json["pending"].as_u64(), json["resyncs"].as_u64()),
        (Some(1), Some(0), Some(1)),
        "{json}"
    );
    // The catch-up's ban counts for its origin host too.
    assert_eq!(json["hosts"]["web-3"]["applied"], 1, "{json}");
    let (exit, stderr) = daemon.stop();
    assert!(exit.success(), "{stderr}");
}
