//! Bans in the real kernel: each test makes its own network namespace with
//! nftables sets, runs banwarden inside it (`ip netns exec`), reads the sets
//! back with `nft -j`, and deletes the namespace. Root only; skipped
//! otherwise.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::journald::PrivateJournald;
use super::util::text;

const SETS: &str = "
table ip banwarden { set ban4 { type ipv4_addr; flags timeout; }; set plain4 { type ipv4_addr; }; }
table ip6 banwarden { set ban6 { type ipv6_addr; flags timeout; }; }
";

/// A network namespace of our own with the sets above, deleted on drop.
pub struct Netns {
    pub name: String,
    pub state: tempfile::TempDir,
    pub config: PathBuf,
}

impl Netns {
    pub fn new(rules: &str) -> Option<Netns> {
        // SAFETY: getuid has no preconditions.
        if unsafe { libc::getuid() } != 0 {
            eprintln!("skipped: needs root (network namespaces)");
            return None;
        }
        static N: AtomicUsize = AtomicUsize::new(0);
        let name = format!("bwban-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let status = Command::new("ip").args(["netns", "add", &name]).status().unwrap();
        assert!(status.success(), "ip netns add {name}");
        let mut ns = Netns { name, state: tempfile::tempdir().unwrap(), config: PathBuf::new() };
        ns.nft_script(SETS);
        ns.config = ns.state.path().join("config.json");
        let storage = ns.state.path().join("state");
        std::fs::write(&ns.config, rules.replace("STORAGE", storage.to_str().unwrap())).unwrap();
        Some(ns)
    }

    pub fn storage(&self) -> PathBuf {
        self.state.path().join("state")
    }

    pub fn nft_script(&self, script: &str) {
        use std::io::Write;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-f", "-"])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(script.as_bytes()).unwrap();
        assert!(child.wait().unwrap().success(), "nft -f in {}", self.name);
    }

    /// Runs banwarden in the namespace with this configuration.
    pub fn banwarden(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, env!("CARGO_BIN_EXE_banwarden")])
            .args(args)
            .args(["--config", self.config.to_str().unwrap()])
            .output()
            .unwrap()
    }

    /// The elements of a set: (address, seconds left; None without timeout).
    pub fn elements(&self, family: &str, set: &str) -> Vec<(String, Option<u64>)> {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.name, "nft", "-j", "list", "set", family, "banwarden", set])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut found = Vec::new();
        for item in json["nftables"].as_array().unwrap() {
            for elem in item["set"]["elem"].as_array().into_iter().flatten() {
                match elem {
                    serde_json::Value::String(ip) => found.push((ip.clone(), None)),
                    other => found
                        .push((other["elem"]["val"].as_str().unwrap().to_owned(), other["elem"]["expires"].as_u64())),
                }
            }
        }
        found.sort();
        found
    }

    pub fn flush(&self) {
        self.nft_script("flush set ip banwarden ban4\nflush set ip6 banwarden ban6\n");
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.name]).status();
    }
}

const NO_RULES: &str = r#"{"actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE"}"#;

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}{}", out.status.code(), text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

fn stored(storage: &Path) -> String {
    let mut all = std::fs::read_to_string(storage.join("action_nftBan.json")).unwrap_or_default();
    all.push_str(&std::fs::read_to_string(storage.join("action_nftBan.json.log")).unwrap_or_default());
    all
}

#[test]
fn ban_reban_list_unban_by_hand() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "banwarden ban4", "--for", "1h"]));
    let elements = ns.elements("ip", "ban4");
    assert_eq!(elements.len(), 1);
    assert_eq!(elements[0].0, "192.0.2.7");
    assert!((3590..=3600).contains(&elements[0].1.unwrap()), "{elements:?}");
    // Re-ban: the new timeout replaces the old one.
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4", "--for", "2m"]));
    let left = ns.elements("ip", "ban4")[0].1.unwrap();
    assert!((110..=120).contains(&left), "{left}");
    ok(&ns.banwarden(&["ban", "2001:db8::7", "--set", "ip6 banwarden ban6"]));
    assert_eq!(ns.elements("ip6", "ban6"), [("2001:db8::7".to_owned(), None)]);
    let list = ok(&ns.banwarden(&["list"]));
    assert!(list.contains("192.0.2.7") && list.contains("2001:db8::7") && list.contains("permanent"), "{list}");
    let json = ok(&ns.banwarden(&["list", "--json"]));
    assert_eq!(json.lines().count(), 2, "{json}");
    assert!(json.contains(r#""in_kernel":true"#) && json.contains(r#""in_store":true"#), "{json}");
    let out = ok(&ns.banwarden(&["unban", "192.0.2.7"]));
    assert!(out.contains("unbanned 192.0.2.7 from ip banwarden ban4"), "{out}");
    assert!(ns.elements("ip", "ban4").is_empty());
    let out = ok(&ns.banwarden(&["unban", "192.0.2.7"]));
    assert!(out.contains("192.0.2.7 is not banned"), "{out}");
}

#[test]
fn boot_restores_after_a_flush_and_twice_changes_nothing() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ok(&ns.banwarden(&["ban", "192.0.2.1", "--set", "banwarden ban4", "--for", "1h"]));
    ok(&ns.banwarden(&["ban", "192.0.2.2", "--set", "banwarden ban4"]));
    ok(&ns.banwarden(&["ban", "2001:db8::2", "--set", "ip6 banwarden ban6", "--for", "1d"]));
    ns.flush();
    assert!(ns.elements("ip", "ban4").is_empty());
    assert!(ok(&ns.banwarden(&["boot"])).contains("restored 3 bans"));
    let v4 = ns.elements("ip", "ban4");
    assert_eq!(v4.len(), 2);
    assert!((3500..=3600).contains(&v4[0].1.unwrap()), "remaining time, not a fresh hour: {v4:?}");
    assert_eq!(v4[1], ("192.0.2.2".to_owned(), None));
    assert!(ns.elements("ip6", "ban6")[0].1.unwrap() > 86_000);
    let before = stored(&ns.storage());
    ok(&ns.banwarden(&["boot"]));
    assert_eq!(ns.elements("ip", "ban4").len(), 2);
    assert_eq!(stored(&ns.storage()), before, "boot twice changes nothing");
}

#[test]
fn refusals_and_kernel_errors_are_clear() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    let out = ns.banwarden(&["ban", "127.0.0.5", "--set", "banwarden ban4"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("never-ban list"), "{}", text(&out.stderr));
    let out = ns.banwarden(&["ban", "192.0.2.9", "--set", "banwarden nosuchset"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nosuchset"), "the error names the set: {}", text(&out.stderr));
    // Stored all the same: boot applies it once the set exists.
    assert!(stored(&ns.storage()).contains("192.0.2.9"));
    let out = ns.banwarden(&["ban", "192.0.2.10", "--set", "banwarden plain4", "--for", "60"]);
    assert_eq!(out.status.code(), Some(1), "a timeout on a set without the timeout flag");
    assert!(text(&out.stderr).contains("plain4"), "{}", text(&out.stderr));
    let out = ns.banwarden(&["ban", "1.2.3.4}; flush ruleset", "--set", "banwarden ban4"]);
    assert_eq!(out.status.code(), Some(2));
    let out = ns.banwarden(&["boot"]);
    assert_eq!(out.status.code(), Some(1), "boot reports what it could not restore");
    assert!(text(&out.stderr).contains("nosuchset"), "{}", text(&out.stderr));
}

const SSH_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

#[test]
fn the_daemon_bans_from_the_journal_and_hostile_fields_never_reach_the_kernel() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let run = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
        .arg(&ns.config)
        .args(["--journal-namespace", journald.namespace()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for hostile in
        ["1.2.3.4};", "1.2.3.4}; flush ruleset", "$(reboot)", "::ffff:1.2.3.4.5", "999.1.1.1", "1.2.3.4\nPRIORITY=0"]
    {
        journald.log("sshd", &format!("Failed password for root from {hostile} port 22 ssh2"));
    }
    journald.log("sshd", "Failed password for root from 203.0.113.77 port 22 ssh2");
    journald.log("sshd", "Failed password for root from 2001:db8::77 port 22 ssh2");
    journald.log("sshd", "Failed password for root from ::ffff:198.51.100.7 port 22 ssh2");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ns.elements("ip", "ban4").len() < 2 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(run.id() as libc::pid_t, libc::SIGTERM) };
    let out = run.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let v4: Vec<String> = ns.elements("ip", "ban4").into_iter().map(|e| e.0).collect();
    assert_eq!(v4, ["198.51.100.7", "203.0.113.77"], "{stderr}");
    assert_eq!(ns.elements("ip6", "ban6").len(), 1);
    let store = stored(&ns.storage());
    assert!(store.contains("203.0.113.77") && store.contains("2001:db8::77") && !store.contains("1.2.3.4"), "{store}");
    assert!(stderr.contains("which is not an IP address"), "{stderr}");
}

#[test]
fn a_ban_by_hand_during_a_flood_of_daemon_bans_is_not_lost() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let mut run = Command::new("ip")
        .args(["netns", "exec", &ns.name, env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
        .arg(&ns.config)
        .args(["--journal-namespace", journald.namespace()])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    const N: u32 = 3000;
    std::thread::scope(|scope| {
        scope.spawn(|| {
            journald.write_many((0..N).map(|i| {
                vec![
                    ("SYSLOG_IDENTIFIER".to_string(), b"sshd".to_vec()),
                    (
                        "MESSAGE".to_string(),
                        format!("Failed password for root from 10.9.{}.{} port 22 ssh2", i / 250, i % 250 + 1)
                            .into_bytes(),
                    ),
                ]
            }));
        });
        for i in 0..20 {
            ok(&ns.banwarden(&["ban", &format!("192.0.2.{}", i + 100), "--set", "banwarden ban4", "--for", "1h"]));
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while ns.elements("ip", "ban4").len() < N as usize + 20 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: SIGTERM to our own child.
    unsafe { libc::kill(run.id() as libc::pid_t, libc::SIGTERM) };
    assert!(run.wait().unwrap().success());
    assert_eq!(ns.elements("ip", "ban4").len(), N as usize + 20);
    // Every ban, the daemon's and the hand-made ones, is in the store.
    let list = ok(&ns.banwarden(&["list", "--json"]));
    assert_eq!(list.lines().filter(|l| l.contains(r#""in_store":true"#)).count(), N as usize + 20);
}
