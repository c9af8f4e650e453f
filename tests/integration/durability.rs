//! The store never loses what it holds, and `boot` restores whatever the
//! disk's state: a hand-edit typo, a full disk, a read-only one, a second
//! daemon on the same storage. Each test runs in a network namespace of its
//! own (root only); the disks are tmpfs mounts in a mount namespace of the
//! test's own (`unshare -m`), gone with it.

use std::process::{Command, Output};

use super::bans::{Netns, NO_RULES, SSH_RULES};
use super::journald::PrivateJournald;
use super::util::text;

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}{}", out.status.code(), text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

/// `count` permanent bans in `ip banwarden ban4`, by hand (in the store's
/// log, not yet rewritten into its snapshot), then the set emptied as a
/// reboot would.
fn banned(ns: &Netns, count: u32) -> Vec<String> {
    let ips: Vec<String> = (1..=count).map(|i| format!("192.0.{}.{}", 2 + i / 250, i % 250)).collect();
    for ip in &ips {
        ok(&ns.banwarden(&["ban", ip, "--set", "ip banwarden ban4"]));
    }
    ns.flush();
    ips
}

/// Runs `banwarden boot` in the namespace with its storage on a small
/// tmpfs that `prepare` (shell) fills or makes read-only after the store's
/// files are copied onto it. Returns boot's output and a listing of the
/// storage afterwards (after `--- files`).
fn boot_on_tmpfs(ns: &Netns, prepare: &str) -> Output {
    let storage = ns.storage();
    let script = format!(
        "set -e; copy=$(mktemp -d); cp -a {s}/. \"$copy\"; mount -t tmpfs -o size=512k tmpfs {s}; cp -a \"$copy\"/. {s}; \
         rm -r \"$copy\"; {prepare}; set +e; {bin} boot --config {config}; rc=$?; echo '--- files'; ls -a {s}; exit $rc",
        s = storage.display(),
        bin = env!("CARGO_BIN_EXE_banwarden"),
        config = ns.config.display(),
    );
    Command::new("ip").args(["netns", "exec", &ns.name, "unshare", "-m", "sh", "-c", &script]).output().unwrap()
}

#[test]
fn boot_restores_every_ban_on_a_full_disk_and_leaves_no_temporary_file() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    let ips = banned(&ns, 300);
    // Fill the tmpfs to its last byte.
    let out =
        boot_on_tmpfs(&ns, &format!("dd if=/dev/zero of={}/filler bs=4k 2>/dev/null || true", ns.storage().display()));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "exit {:?}: {stdout}{stderr}", out.status.code());
    assert!(stdout.contains("restored 300 bans"), "{stdout}");
    assert!(stderr.contains("could not be rewritten") && stderr.contains("restored all the same"), "{stderr}");
    let files = stdout.split("--- files").nth(1).unwrap();
    assert!(!files.contains(".tmp"), "a full disk is not made fuller by a half-written copy: {files}");
    let held: Vec<String> = ns.elements("ip", "ban4").into_iter().map(|e| e.0).collect();
    assert_eq!(held.len(), ips.len());
}

#[test]
fn boot_restores_every_ban_from_a_read_only_disk() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    banned(&ns, 50);
    let out = boot_on_tmpfs(&ns, &format!("mount -o remount,ro {}", ns.storage().display()));
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "exit {:?}: {stdout}{stderr}", out.status.code());
    assert!(stdout.contains("restored 50 bans"), "{stdout}");
    assert_eq!(ns.elements("ip", "ban4").len(), 50);
}

#[test]
fn a_hand_edit_typo_loses_no_ban() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    std::fs::create_dir_all(ns.storage()).unwrap();
    let snapshot = ns.storage().join("action_nftBan.json");
    let records: Vec<String> = (1..=200)
        .map(|i| format!(r#"  {{"IP": "198.51.100.{i}", "nfSet": "ip banwarden ban4", "timestamp": 0}}"#))
        .collect();
    // A trailing comma and a comment, as people write: read leniently.
    std::fs::write(&snapshot, format!("[ // banned by hand\n{},\n]\n", records.join(",\n"))).unwrap();
    ok(&ns.banwarden(&["ban", "203.0.113.1", "--set", "ip banwarden ban4"]));
    ns.flush();
    let out = ok(&ns.banwarden(&["boot"]));
    assert!(out.contains("restored 201 bans"), "{out}");
    assert_eq!(ns.elements("ip", "ban4").len(), 201);
    let rewritten = std::fs::read_to_string(&snapshot).unwrap();
    assert!(serde_json::from_str::<serde_json::Value>(&rewritten).is_ok(), "plain JSON now: {rewritten}");
    assert_eq!(rewritten.matches("\"IP\"").count(), 201);

    // A typo JSON cannot be read past: the file is kept as it is, boot
    // restores what it can read (the log) and says where the typo is.
    let broken = format!("[\n{}}}\n]\n", records.join(",\n"));
    std::fs::write(&snapshot, &broken).unwrap();
    ok(&ns.banwarden(&["ban", "203.0.113.2", "--set", "ip banwarden ban4"]));
    ns.flush();
    let out = ns.banwarden(&["boot"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("action_nftBan.json: line 201, column"), "{stderr}");
    assert!(stderr.contains("not rewritten while it cannot be read"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&snapshot).unwrap(), broken, "not a byte changed");
    let held: Vec<String> = ns.elements("ip", "ban4").into_iter().map(|e| e.0).collect();
    assert_eq!(held, ["203.0.113.2"], "the log's ban is restored");
    // Fixed by hand (the 200 records): they come back, with the log's ban.
    std::fs::write(&snapshot, format!("[\n{}\n]\n", records.join(",\n"))).unwrap();
    let out = ok(&ns.banwarden(&["boot"]));
    assert!(out.contains("restored 201 bans"), "{out}");
}

#[test]
fn a_second_daemon_on_the_same_storage_is_refused() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    let Some(journald) = PrivateJournald::start() else { return };
    let first = ns.run(&journald);
    let second = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
        .arg(&ns.config)
        .args(["--journal-namespace", journald.namespace()])
        .output()
        .unwrap();
    let stderr = text(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("another banwarden daemon (pid {}) is running on", first.pid())), "{stderr}");
    let (status, _) = first.stop();
    assert!(status.success());
}

#[test]
fn bans_the_disk_refused_reach_the_kernel_and_are_stored_once_it_has_room() {
    use super::util::{wait_until, Daemon};
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    std::fs::create_dir_all(ns.storage()).unwrap();
    // The daemon's storage on a tmpfs of its own mount namespace.
    let script = format!(
        "mount -t tmpfs -o size=256k tmpfs {s} && exec {bin} run --config {config} --journal-namespace {j}",
        s = ns.storage().display(),
        bin = env!("CARGO_BIN_EXE_banwarden"),
        config = ns.config.display(),
        j = journald.namespace(),
    );
    let mut command = Command::new("ip");
    command.args(["netns", "exec", &ns.name, "unshare", "-m", "sh", "-c", &script]);
    let daemon = Daemon::start(&mut command);
    // Its view of the storage, from outside its mount namespace.
    let storage = std::path::PathBuf::from(format!("/proc/{}/root{}", daemon.pid(), ns.storage().display()));
    let store = || {
        let mut all = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_default();
        all.push_str(&std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap_or_default());
        all
    };
    // The disk full to its last byte.
    let filler = storage.join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        while file.write_all(&[0u8; 4096]).is_ok() {}
        let _ = file.write_all(&[0u8; 1]);
    }
    let attackers: Vec<String> = (1..=40).map(|i| format!("203.0.113.{i}")).collect();
    for ip in &attackers {
        journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
    }
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 40), "the kernel has every ban, disk full or not");
    assert!(!store().contains("203.0.113.1\""), "nothing could be stored");
    // Room again: the next flush stores what the disk refused.
    std::fs::remove_file(&filler).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    journald.log("sshd", "Failed password for root from 198.51.100.1 port 22 ssh2");
    let stored = wait_until(10, || {
        attackers.iter().chain(["198.51.100.1".to_owned()].iter()).all(|ip| store().contains(&format!("\"{ip}\"")))
    });
    let (status, stderr) = daemon.stop();
    assert!(status.success(), "{stderr}");
    assert!(stored, "every ban stored once the disk had room:\n{stderr}");
    assert!(stderr.contains("in the kernel but not stored"), "{stderr}");
    assert!(stderr.contains("stored 40 bans the store had refused earlier"), "{stderr}");
}

#[test]
fn one_record_the_set_cannot_hold_costs_no_other_and_is_named() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    std::fs::create_dir_all(ns.storage()).unwrap();
    let mut records: Vec<String> = (1..=5)
        .map(|i| format!(r#"{{"IP": "198.51.100.{i}", "nfSet": "ip banwarden ban4", "timestamp": 0}}"#))
        .collect();
    records.insert(2, r#"{"IP": "2001:db8::5", "nfSet": "ip banwarden ban4", "timestamp": 0}"#.into());
    std::fs::write(ns.storage().join("action_nftBan.json"), format!("[{}]", records.join(",\n"))).unwrap();
    let list = text(&ns.banwarden(&["list"]).stdout);
    assert!(list.contains("cannot be restored: the set holds IPv4 addresses"), "list does not promise it: {list}");
    let out = ns.banwarden(&["boot"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("restored 5 bans"), "{stdout}");
    assert!(stderr.contains("error: 2001:db8::5 in ip banwarden ban4 not restored: "), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4").len(), 5);
}

const PAIRED_RULES: &str = r#"{"actions": {"sshd": [
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6"}}
]}, "storage": "STORAGE"}"#;

#[test]
fn a_pyruse_store_s_mapped_address_goes_to_the_ipv4_set_of_its_pair() {
    let Some(ns) = Netns::new(PAIRED_RULES) else { return };
    std::fs::create_dir_all(ns.storage()).unwrap();
    // Pyruse put an IPv4-mapped address in the IPv6 set (its test was a colon).
    std::fs::write(
        ns.storage().join("action_nftBan.py.json"),
        r#"[{"IP": "::ffff:192.0.2.9", "nfSet": "ip6 banwarden ban6", "timestamp": 0},
            {"IP": "2001:db8::9", "nfSet": "ip6 banwarden ban6", "timestamp": 0}]"#,
    )
    .unwrap();
    let out = ns.banwarden(&["boot"]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.contains("restored 2 bans"), "{stdout}");
    assert!(stderr.contains("192.0.2.9 moved from ip6 banwarden ban6 to ip banwarden ban4"), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4"), [("192.0.2.9".to_owned(), None)]);
    assert_eq!(ns.elements("ip6", "ban6"), [("2001:db8::9".to_owned(), None)]);
}

/// Two rules on the same line: one bans for a day, the other (later in the
/// file) for an hour, as examples/nginx bans a scanner for a day and each of
/// its queued requests for an hour. The day stays, in the kernel and the
/// store, whatever order the bans arrive in.
const TWO_RULES: &str = r#"{"actions": {
  "day": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Scan from (?P<ip>\\S+)$"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 86400}}
  ],
  "hour": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^(Scan|Request) from (?P<ip>\\S+)$"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 3600}}
  ]
}, "storage": "STORAGE"}"#;

#[test]
fn an_attacker_s_queued_requests_do_not_shorten_its_ban() {
    use super::util::wait_until;
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(TWO_RULES) else { return };
    let run = ns.run(&journald);
    journald.log("sshd", "Scan from 203.0.113.7");
    for _ in 0..20 {
        journald.log("sshd", "Request from 203.0.113.7");
    }
    journald.log("sshd", "Request from 198.51.100.1");
    assert!(wait_until(10, || ns.elements("ip", "ban4").iter().any(|e| e.0 == "198.51.100.1")));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let left = ns.elements("ip", "ban4").into_iter().find(|e| e.0 == "203.0.113.7").unwrap().1.unwrap();
    assert!(left > 86_000, "the day stays in the kernel, not an hour: {left} s");
    let mut stored = std::fs::read_to_string(ns.storage().join("action_nftBan.json")).unwrap_or_default();
    stored.push_str(&std::fs::read_to_string(ns.storage().join("action_nftBan.json.log")).unwrap_or_default());
    let last = stored.lines().filter(|l| l.contains("203.0.113.7")).last().unwrap();
    let end: serde_json::Value = serde_json::from_str(last.trim().trim_end_matches(',')).unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    assert!(end["timestamp"].as_f64().unwrap() > now + 86_000.0, "and in the store: {last}");
}
