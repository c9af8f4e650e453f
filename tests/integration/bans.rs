//! Bans in the real kernel: each test makes its own network namespace with
//! nftables sets, runs banwarden inside it (`ip netns exec`), reads the sets
//! back with `nft -j`, and deletes the namespace. Root only; skipped
//! otherwise, or failed under `CI=true` (`util::require`).

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use super::journald::PrivateJournald;
use super::util::{require_root, text, wait_until, Daemon};

const SETS: &str = "
table ip banwarden { set ban4 { type ipv4_addr; flags timeout; }; set plain4 { type ipv4_addr; }; }
table ip6 banwarden { set ban6 { type ipv6_addr; flags timeout; }; }
";

/// examples/recidive.json for `Netns::new`: storage left to it, sshd
/// routed on SYSLOG_IDENTIFIER (still with `_UID` 0, which a test running as
/// root gives its lines) and banwarden's own lines on their transport,
/// since in a sandbox no line carries the trusted _SYSTEMD_UNIT the example
/// routes on. The forging test (`forged`) runs the example as shipped.
pub fn recidive_in_a_sandbox() -> String {
    let shipped = std::fs::read_to_string(super::util::root().join("examples/recidive.json")).unwrap();
    let unit_of_sshd = r#""field": "_SYSTEMD_UNIT", "value": "sshd.service""#;
    let unit_of_banwarden =
        "      { \"filter\": \"filter_equals\", \"args\": { \"field\": \"_SYSTEMD_UNIT\", \"value\": \"banwarden.service\" } },\n";
    assert!(shipped.contains(unit_of_sshd) && shipped.contains(unit_of_banwarden), "examples/recidive.json changed");
    shipped
        .replace(unit_of_sshd, r#""field": "SYSLOG_IDENTIFIER", "value": "sshd""#)
        .replace(unit_of_banwarden, "")
        .replace("/var/lib/banwarden", "STORAGE")
}

/// A network namespace of our own with the sets above, deleted on drop.
pub struct Netns {
    pub name: String,
    pub state: tempfile::TempDir,
    pub config: PathBuf,
}

impl Netns {
    pub fn new(rules: &str) -> Option<Netns> {
        if !require_root("network namespaces") {
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
                // An address is a string, a network {"prefix": {"addr", "len"}};
                // either may be wrapped in {"elem": {"val", "expires"}}.
                let (val, expires) = match elem.get("elem") {
                    Some(inner) => (&inner["val"], inner["expires"].as_u64()),
                    None => (elem, None),
                };
                let target = match (val.as_str(), val.get("prefix")) {
                    (Some(ip), _) => ip.to_owned(),
                    (None, Some(p)) => format!("{}/{}", p["addr"].as_str().unwrap(), p["len"]),
                    _ => panic!("unexpected element {elem}"),
                };
                found.push((target, expires));
            }
        }
        found.sort();
        found
    }

    /// Runs `ipset ARGS` in the namespace; panics if it fails.
    pub fn ipset(&self, args: &[&str]) -> String {
        let out = Command::new("ip").args(["netns", "exec", &self.name, "ipset"]).args(args).output().unwrap();
        assert!(out.status.success(), "ipset {args:?}: {}", text(&out.stderr));
        text(&out.stdout)
    }

    /// The members of an ipset: (address, seconds left; None without timeout).
    pub fn ipset_members(&self, set: &str) -> Vec<(String, Option<u64>)> {
        let listing = self.ipset(&["list", set]);
        let members = listing.split_once("Members:\n").map_or("", |(_, m)| m);
        let mut found: Vec<(String, Option<u64>)> = members
            .lines()
            .filter(|l| !l.is_empty())
            .map(|line| {
                let mut words = line.split_whitespace();
                let ip = words.next().unwrap().to_owned();
                let timeout = match (words.next(), words.next()) {
                    (Some("timeout"), Some(secs)) => Some(secs.parse().unwrap()),
                    _ => None,
                };
                (ip, timeout)
            })
            .collect();
        found.sort();
        found
    }

    /// Starts `banwarden run` in the namespace on a private journald. `ip
    /// netns exec` execs banwarden: the child's PID is banwarden's.
    pub fn run(&self, journald: &PrivateJournald) -> Daemon {
        let mut command = Command::new("ip");
        command
            .args(["netns", "exec", &self.name, env!("CARGO_BIN_EXE_banwarden"), "run", "--config"])
            .arg(&self.config)
            .args(["--journal-namespace", journald.namespace()]);
        Daemon::start(&mut command)
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

/// `stderr` without the warnings about the rules that the small rule files
/// of these tests (no route, no capture: a ban and nothing else) get on
/// every load: bans any line reaches, fields nothing sets, chains after the
/// first that no entry reaches.
fn rule_warnings_left_out(stderr: &str) -> String {
    let about_the_rules = |l: &str| {
        ["reaches this ban", "can never be set", "no entry can reach this chain"].iter().any(|w| l.contains(w))
    };
    stderr.lines().filter(|l| !about_the_rules(l)).map(|l| format!("{l}\n")).collect()
}

pub const NO_RULES: &str = r#"{"actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE"}"#;

pub fn ok(out: &Output) -> String {
    assert!(out.status.success(), "exit {:?}: {}{}", out.status.code(), text(&out.stdout), text(&out.stderr));
    text(&out.stdout)
}

pub fn stored(storage: &Path) -> String {
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
    // A shorter re-ban keeps the longer ban, in the kernel and the store,
    // and says so; --replace shortens it; a longer one extends it.
    let out = ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4", "--for", "2m"]));
    assert!(out.contains("192.0.2.7 stays banned in ip banwarden ban4 until "), "{out}");
    let left = ns.elements("ip", "ban4")[0].1.unwrap();
    assert!((3580..=3600).contains(&left), "{left}");
    let out = ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4", "--for", "2m", "--replace"]));
    assert!(out.contains("banned 192.0.2.7 in ip banwarden ban4 for 120 s"), "{out}");
    let left = ns.elements("ip", "ban4")[0].1.unwrap();
    assert!((110..=120).contains(&left), "{left}");
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4"]));
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4", "--for", "1h"]));
    assert_eq!(ns.elements("ip", "ban4")[0].1, None, "permanent beats all");
    let stored = stored_until(&ns.storage(), "192.0.2.7");
    assert_eq!(stored, Some(0.0), "the store kept it permanent");
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "ip banwarden ban4", "--for", "2m", "--replace"]));
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
    // What the set can never hold is refused before it is stored: a record
    // no restore could apply would be a ghost.
    let out = ns.banwarden(&["ban", "192.0.2.9", "--set", "banwarden nosuchset"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("nosuchset\" does not exist: 192.0.2.9 not banned, nothing stored"), "{stderr}");
    let out = ns.banwarden(&["ban", "192.0.2.10", "--set", "banwarden plain4", "--for", "60"]);
    assert_eq!(out.status.code(), Some(1), "a timeout on a set without the timeout flag");
    assert!(text(&out.stderr).contains("plain4\" has no timeout support"), "{}", text(&out.stderr));
    let out = ns.banwarden(&["ban", "2001:db8::5", "--set", "banwarden ban4"]);
    assert_eq!(out.status.code(), Some(1), "an address of the other family");
    assert!(text(&out.stderr).contains("holds IPv4 addresses, not IPv6 ones"), "{}", text(&out.stderr));
    let out = ns.banwarden(&["ban", "255.255.255.255", "--set", "banwarden ban4"]);
    assert_eq!(out.status.code(), Some(2), "never a peer: {}", text(&out.stderr));
    assert!(!stored(&ns.storage()).contains("192.0.2.9") && !stored(&ns.storage()).contains("2001:db8::5"));
    let out = ns.banwarden(&["ban", "1.2.3.4}; flush ruleset", "--set", "banwarden ban4"]);
    assert_eq!(out.status.code(), Some(2));
    // A record for a never-ban address (written by hand) is not restored.
    let log = ns.storage().join("action_nftBan.json.log");
    std::fs::create_dir_all(ns.storage()).unwrap();
    let mut lines = std::fs::read_to_string(&log).unwrap_or_default();
    lines.push_str("{\"op\": \"ban\", \"IP\": \"127.0.0.9\", \"nfSet\": \"ip banwarden ban4\", \"timestamp\": 0}\n");
    // And one for a set that is gone (written when it existed).
    lines.push_str(
        "{\"op\": \"ban\", \"IP\": \"192.0.2.9\", \"nfSet\": \"ip banwarden nosuchset\", \"timestamp\": 0}\n",
    );
    std::fs::write(&log, lines).unwrap();
    let out = ns.banwarden(&["boot"]);
    assert_eq!(out.status.code(), Some(1), "boot reports what it could not restore");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("nosuchset"), "{stderr}");
    assert!(
        stderr.contains("127.0.0.9 in ip banwarden ban4 not restored: the address is on the never-ban list"),
        "{stderr}"
    );
    assert!(!ns.elements("ip", "ban4").iter().any(|e| e.0 == "127.0.0.9"));
}

/// sshd failures banned for 10 minutes into `banwarden ban4`/`ban6`.
pub const SSH_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

#[test]
fn the_daemon_bans_from_the_journal_and_hostile_fields_never_reach_the_kernel() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let run = ns.run(&journald);
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
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
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
    let run = ns.run(&journald);
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
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4").len(), N as usize + 20);
    // Every ban, the daemon's and the hand-made ones, is in the store.
    let list = ok(&ns.banwarden(&["list", "--json"]));
    assert_eq!(list.lines().filter(|l| l.contains(r#""in_store":true"#)).count(), N as usize + 20);
}

const CHECKED_RULES: &str = r#"{"actions": {
  "a": [{"action": "action_nftBan", "args": {"IP": "ATTACKER", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden nosuch6", "banSeconds": 60}}],
  "b": [{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden plain4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 60}}],
  "c": [{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "ip6 banwarden ban6", "nftSetIPv6": "ip6 banwarden other6"}}],
  "e": [{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "banwarden ban4"}}],
  "d": [{"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "nosuchipset", "ipSetIPv6": "ban6", "banSeconds": 60}}]
}, "storage": "STORAGE"}"#;

#[test]
fn check_kernel_and_the_daemon_name_unusable_sets() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(CHECKED_RULES) else { return };
    ns.ipset(&["create", "ban6", "hash:ip", "family", "inet6"]);
    let out = ns.banwarden(&["check"]);
    assert!(out.status.success(), "without --kernel the sets are not looked at");
    let out = ns.banwarden(&["check", "--kernel"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let expected = [
        // Missing, with the commands that make it.
        r#"nftables set "ip6 banwarden nosuch6" does not exist; create it with: nft add table ip6 banwarden; nft add set ip6 banwarden nosuch6 '{ type ipv6_addr; flags timeout; }' (used at chain "a", step 0 (action_nftBan), arg "nftSetIPv6")"#,
        // banSeconds on a set without the flag.
        r#"nftables set "ip banwarden plain4" has no timeout support, so bans with banSeconds will be refused"#,
        // An IPv6 set named for IPv4 addresses: only that place is named.
        r#"nftables set "ip6 banwarden ban6" holds IPv6 addresses, but it receives IPv4 ones here (used at chain "c", step 0 (action_nftBan), arg "nftSetIPv4")"#,
        r#"nftables set "ip banwarden ban4" holds IPv4 addresses, but it receives IPv6 ones here (used at chain "e", step 0 (action_nftBan), arg "nftSetIPv6")"#,
        r#"nftables set "ip6 banwarden other6" does not exist"#,
        r#"ipset "nosuchipset" does not exist; create it with: ipset create nosuchipset hash:ip family inet timeout 0"#,
        r#"ipset "ban6" has no timeout support"#,
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("kernel: 7 set problem(s)"), "{stderr}");
    assert!(!stderr.contains("\"ip6 banwarden ban6\" does"), "a good set is not reported: {stderr}");
    // The daemon warns the same at start, and runs: a ban into the missing
    // set is an error, logged once per cause, and the next bans go through.
    let run = ns.run(&journald);
    for n in 1..=3 {
        journald.write(&[("ATTACKER", format!("2001:db8::{n}").as_bytes())]);
    }
    journald.write(&[("ATTACKER", b"192.0.2.77")]);
    wait_until(10, || !ns.elements("ip", "ban4").is_empty());
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("warning: ") && stderr.contains("nosuch6") && stderr.contains("nosuchipset"), "{stderr}");
    let failures: Vec<&str> = stderr.lines().filter(|l| l.contains("ban of 2001:db8::")).collect();
    assert_eq!(failures.len(), 1, "once per cause: {stderr}");
    assert!(failures[0].contains(r#"nftables set "ip6 banwarden nosuch6": no such table or set; stored"#), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4")[0].0, "192.0.2.77");
    // Stored all the same, for `boot` to apply once the set exists.
    assert!(stored(&ns.storage()).contains("2001:db8::3"));
}

/// A tiny deterministic generator, so a failure can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below
    }
}

/// Address-like text with hostile bits spliced in.
fn fuzzed_address(rng: &mut Lcg) -> String {
    const SEEDS: [&str; 8] = [
        "192.0.2.1",
        "2001:db8::1",
        "::ffff:192.0.2.1",
        "10.0.0.1",
        "fe80::1%eth0",
        "1.2.3.4",
        "::",
        "255.255.255.255",
    ];
    const BITS: [&str; 16] = [
        "}",
        ";",
        " flush ruleset",
        "$(reboot)",
        "`id`",
        "\n",
        "\u{0}",
        "%",
        "/24",
        ":",
        ".",
        "0",
        "ff",
        "\\",
        "'",
        "é",
    ];
    let mut s = SEEDS[rng.next(SEEDS.len())].to_owned();
    for _ in 0..rng.next(4) {
        let bit = BITS[rng.next(BITS.len())];
        let at = (0..=s.len()).filter(|&i| s.is_char_boundary(i)).nth(rng.next(s.len() + 1)).unwrap_or(s.len());
        match rng.next(3) {
            0 => s.insert_str(at, bit),
            1 => s.truncate(at),
            _ => s.push_str(bit),
        }
    }
    s
}

const ANY_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password from (?P<ip>.*) port 22$"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

#[test]
fn ten_thousand_fuzzed_address_fields_never_reach_the_kernel_as_text() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(ANY_RULES) else { return };
    let ruleset_before = ruleset(&ns);
    let mut rng = Lcg(20261121);
    let fuzzed: Vec<String> = (0..10_000).map(|_| fuzzed_address(&mut rng)).collect();
    // What may reach the kernel: the addresses these strings parse as,
    // IPv4-mapped ones as IPv4, minus the never-ban list (loopback) and
    // the addresses that are never a peer's (unspecified, broadcast,
    // multicast, 240.0.0.0/4).
    let mut expected: Vec<IpAddr> = fuzzed
        .iter()
        .filter_map(|s| s.parse::<IpAddr>().ok())
        .map(|ip| match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        })
        .filter(|ip| !ip.is_loopback())
        .filter(|ip| match ip {
            IpAddr::V4(v4) => !(v4.is_unspecified() || v4.is_multicast() || v4.octets()[0] >= 240),
            IpAddr::V6(v6) => !(v6.is_unspecified() || v6.is_multicast()),
        })
        .collect();
    expected.sort();
    expected.dedup();
    assert!(expected.len() >= 4 && expected.len() < 5_000, "the fuzz mixes valid and invalid: {}", expected.len());
    let run = ns.run(&journald);
    journald.write_many(fuzzed.iter().map(|s| {
        let mut message = b"Failed password from ".to_vec();
        message.extend_from_slice(s.as_bytes());
        message.extend_from_slice(b" port 22");
        vec![("SYSLOG_IDENTIFIER".to_string(), b"sshd".to_vec()), ("MESSAGE".to_string(), message)]
    }));
    journald.log("sshd", "Failed password from 198.51.100.200 port 22");
    wait_until(30, || ns.elements("ip", "ban4").iter().any(|e| e.0 == "198.51.100.200"));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    // Compared as addresses: nft writes some IPv6 ones differently (::255.255.0.1).
    let mut banned: Vec<IpAddr> =
        ns.elements("ip", "ban4").into_iter().chain(ns.elements("ip6", "ban6")).map(|e| e.0.parse().unwrap()).collect();
    banned.retain(|ip| ip.to_string() != "198.51.100.200");
    banned.sort();
    assert_eq!(banned, expected);
    // Nothing else in the ruleset changed: same tables, sets and rules.
    let strip = |r: &str| r.lines().filter(|l| !l.contains("elements =") && !l.contains("expires")).count();
    assert_eq!(strip(&ruleset(&ns)), strip(&ruleset_before), "{}", ruleset(&ns));
    assert!(stderr.contains("which is not an IP address"), "{stderr}");
}

fn ruleset(ns: &Netns) -> String {
    let out = Command::new("ip").args(["netns", "exec", &ns.name, "nft", "list", "ruleset"]).output().unwrap();
    text(&out.stdout)
}

#[test]
fn kill_9_during_a_flood_of_bans_then_boot_loses_no_acknowledged_ban() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    ns.nft_script("table ip banwarden { set ban4 { type ipv4_addr; flags timeout; size 200000; }; }");
    let run = ns.run(&journald);
    const N: u32 = 100_000;
    // Counted as they are handed to journald, whose intake (about 60,000 a
    // second) is slower than the daemon: the kill lands mid-flood however
    // fast the daemon or slow the test's own polling.
    let written = std::sync::atomic::AtomicU32::new(0);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            journald.write_many((0..N).map(|i| {
                written.store(i, std::sync::atomic::Ordering::Relaxed);
                vec![
                    ("SYSLOG_IDENTIFIER".to_string(), b"sshd".to_vec()),
                    (
                        "MESSAGE".to_string(),
                        format!(
                            "Failed password for root from 10.{}.{}.{} port 22 ssh2",
                            i >> 16,
                            (i >> 8) & 255,
                            i & 255
                        )
                        .into_bytes(),
                    ),
                ]
            }));
        });
        // Kill it in the middle of the flood.
        wait_until(60, || written.load(std::sync::atomic::Ordering::Relaxed) >= 40_000);
        let stderr = run.kill9();
        assert!(!stderr.contains("error"), "{stderr}");
    });
    // Everything the kernel holds was acknowledged to banwarden: each must be stored.
    let in_kernel: Vec<String> = ns.elements("ip", "ban4").into_iter().map(|e| e.0).collect();
    assert!(!in_kernel.is_empty() && in_kernel.len() < N as usize, "killed mid-flood: {}", in_kernel.len());
    ns.flush();
    let boot = ns.banwarden(&["boot"]);
    let out = ok(&boot);
    assert!(out.starts_with("restored "), "{out}");
    // The store parses cleanly; boot may have had to send some bans twice
    // (it reads the set back), never fail to.
    let boot_stderr = rule_warnings_left_out(&text(&boot.stderr));
    assert!(boot_stderr.lines().all(|l| l.contains("sending them again")), "{boot_stderr}");
    if !boot_stderr.is_empty() {
        eprintln!("kill -9 test: boot said: {boot_stderr}");
    }
    let restored: std::collections::HashSet<String> = ns.elements("ip", "ban4").into_iter().map(|e| e.0).collect();
    let lost: Vec<&String> = in_kernel.iter().filter(|ip| !restored.contains(*ip)).collect();
    assert!(lost.is_empty(), "{} acknowledged bans lost, e.g. {:?}", lost.len(), &lost[..lost.len().min(5)]);
    let boot = ns.banwarden(&["boot"]);
    let boot_stderr = rule_warnings_left_out(&text(&boot.stderr));
    assert!(boot_stderr.is_empty(), "the store parses cleanly: {boot_stderr}");
    // Restarted, the daemon resumes at its saved position: the attackers
    // it had not banned yet are banned now, and none is lost in between.
    let run = ns.run(&journald);
    wait_until(60, || ns.elements("ip", "ban4").len() >= N as usize);
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4").len(), N as usize, "{stderr}");
    let list = ok(&ns.banwarden(&["list", "--json"]));
    assert_eq!(list.lines().filter(|l| l.contains(r#""in_store":true"#)).count(), N as usize);
}

/// The same into the ipsets `ssh_ban4`/`ssh_ban6`.
pub const IPSET_RULES: &str = r#"{"actions": {"sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "ssh_ban4", "ipSetIPv6": "ssh_ban6", "banSeconds": 600}}
]}, "storage": "STORAGE"}"#;

#[test]
fn ipset_bans_from_the_journal_and_by_hand_list_unban_boot_and_long_bans() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(IPSET_RULES) else { return };
    ns.ipset(&["create", "ssh_ban4", "hash:ip", "family", "inet", "timeout", "0"]);
    ns.ipset(&["create", "ssh_ban6", "hash:ip", "family", "inet6", "timeout", "0"]);
    let run = ns.run(&journald);
    // In journal order: once the last is banned, the others were judged.
    journald.log("sshd", "Failed password for root from 127.0.0.1 port 22 ssh2");
    journald.log("sshd", "Failed password for root from 203.0.113.5 port 22 ssh2");
    journald.log("sshd", "Failed password for root from 2001:db8::5 port 22 ssh2");
    wait_until(10, || ns.ipset_members("ssh_ban6").len() == 1);
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("127.0.0.1 is on the never-ban list"), "{stderr}");
    let v4 = ns.ipset_members("ssh_ban4");
    assert_eq!(v4.len(), 1);
    assert_eq!(v4[0].0, "203.0.113.5");
    assert!((590..=600).contains(&v4[0].1.unwrap()), "{v4:?}");
    // By hand: permanent, then a re-ban for a time keeps it permanent;
    // --replace shortens it.
    ok(&ns.banwarden(&["ban", "192.0.2.50", "--ipset", "--set", "ssh_ban4"]));
    assert!(ns.ipset_members("ssh_ban4").contains(&("192.0.2.50".to_owned(), Some(0))));
    let out = ok(&ns.banwarden(&["ban", "192.0.2.50", "--ipset", "--set", "ssh_ban4", "--for", "2m"]));
    assert!(out.contains("192.0.2.50 stays banned in ssh_ban4 for good"), "{out}");
    assert!(ns.ipset_members("ssh_ban4").contains(&("192.0.2.50".to_owned(), Some(0))));
    ok(&ns.banwarden(&["ban", "192.0.2.50", "--ipset", "--set", "ssh_ban4", "--for", "2m", "--replace"]));
    let left = ns.ipset_members("ssh_ban4").into_iter().find(|m| m.0 == "192.0.2.50").unwrap().1.unwrap();
    assert!((110..=120).contains(&left), "{left}");
    // Longer than ipset's longest timeout: the kernel gets its longest, the
    // store keeps the whole ban, and the daemon puts it back in time.
    ok(&ns.banwarden(&["ban", "192.0.2.60", "--ipset", "--set", "ssh_ban4", "--for", "30d"]));
    let long = ns.ipset_members("ssh_ban4").into_iter().find(|m| m.0 == "192.0.2.60").unwrap().1.unwrap();
    assert!((2_147_000..=2_147_483).contains(&long), "{long}");
    let list = ok(&ns.banwarden(&["list", "--json"]));
    assert!(list.lines().any(|l| l.contains("192.0.2.60") && l.contains(r#""in_kernel":true"#)), "{list}");
    ns.ipset(&["del", "ssh_ban4", "192.0.2.60"]);
    let (status, stderr) = ns.run(&journald).stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("renewed 1 ipset bans"), "{stderr}");
    assert!(ns.ipset_members("ssh_ban4").iter().any(|m| m.0 == "192.0.2.60"));
    // Unban from every set the store has the address in.
    let out = ok(&ns.banwarden(&["unban", "2001:db8::5"]));
    assert!(out.contains("unbanned 2001:db8::5 from ssh_ban6"), "{out}");
    assert!(ns.ipset_members("ssh_ban6").is_empty());
    // Boot after a flush puts the rest back with the time they have left.
    ns.ipset(&["flush", "ssh_ban4"]);
    let out = ok(&ns.banwarden(&["boot"]));
    assert!(out.contains("restored 3 bans"), "{out}");
    let members = ns.ipset_members("ssh_ban4");
    let ips: Vec<&str> = members.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(ips, ["192.0.2.50", "192.0.2.60", "203.0.113.5"]);
    assert!((580..=600).contains(&members[2].1.unwrap()), "{members:?}");
    ok(&ns.banwarden(&["boot"]));
    assert_eq!(ns.ipset_members("ssh_ban4").len(), 3, "boot twice changes nothing");
}

#[test]
fn a_ban_the_store_cannot_record_still_reaches_the_kernel() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    // A directory where the store's log should be: every append fails (as
    // on a full disk), even for root.
    std::fs::create_dir_all(ns.storage().join("action_nftBan.json.log")).unwrap();
    let out = ns.banwarden(&["ban", "192.0.2.33", "--set", "banwarden ban4", "--for", "1h"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("192.0.2.33 is banned in ip banwarden ban4 for 3600 s, but the store could not record it"),
        "{stderr}"
    );
    assert!(stderr.contains("will not survive a reboot"), "{stderr}");
    assert_eq!(ns.elements("ip", "ban4").iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["192.0.2.33"]);
}

/// The store's end time of a ban (`timestamp` of its last record), in s.
fn stored_until(storage: &Path, ip: &str) -> Option<f64> {
    stored(storage)
        .lines()
        .rev()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim().trim_end_matches(',')).ok())
        .find(|r| r["IP"] == ip)
        .and_then(|r| r["timestamp"].as_f64())
}

#[test]
fn recidive_end_to_end_escalates_in_the_kernel_and_the_store() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(&recidive_in_a_sandbox()) else { return };
    ns.nft_script(&std::fs::read_to_string(super::util::root().join("examples/recidive.nft")).unwrap());
    let run = ns.run(&journald);
    let attack = |round: usize| {
        for port in 0..4 {
            journald.log("sshd", &format!("Failed password for root from 203.0.113.50 port {round}{port} ssh2"));
        }
    };
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
    let element = || ns.elements("ip", "ssh_ban4").into_iter().find(|e| e.0 == "203.0.113.50");
    // 4 failures: 1 hour.
    attack(1);
    journald.wait_for("Ban from SSH for 203.0.113.50", 1, Duration::from_secs(10));
    // The log line is written when the entry is judged; the ban leaves a
    // moment later, once the journal is drained.
    assert!(wait_until(10, || element().is_some_and(|e| e.1.is_some())), "banned with a timeout");
    let left = element().unwrap().1.unwrap();
    assert!((3590..=3600).contains(&left), "{left}");
    let until = stored_until(&ns.storage(), "203.0.113.50").unwrap();
    assert!((until - now() - 3600.0).abs() < 10.0, "stored until {until}");
    // Below the threshold from an allow-listed address: nothing.
    for port in 0..6 {
        journald.log("sshd", &format!("Failed password for root from 192.168.1.9 port {port} ssh2"));
    }
    // The third ban in a week: 30 days.
    attack(2);
    journald.wait_for("Ban from SSH for 203.0.113.50", 2, Duration::from_secs(10));
    attack(3);
    journald.wait_for("Recidive ban from SSH for 203.0.113.50", 1, Duration::from_secs(10));
    assert!(wait_until(10, || element().and_then(|e| e.1).is_some_and(|left| left > 3600)), "30 days");
    let left = element().unwrap().1.unwrap();
    assert!((2_591_990..=2_592_000).contains(&left), "{left}");
    let until = stored_until(&ns.storage(), "203.0.113.50").unwrap();
    assert!((until - now() - 2_592_000.0).abs() < 10.0, "stored until {until}");
    // The fourth: for good.
    attack(4);
    journald.wait_for("Permanent ban from SSH for 203.0.113.50", 1, Duration::from_secs(10));
    assert!(wait_until(10, || element().is_some_and(|e| e.1.is_none())), "no timeout");
    assert_eq!(stored_until(&ns.storage(), "203.0.113.50"), Some(0.0));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let addresses: Vec<String> = ns.elements("ip", "ssh_ban4").into_iter().map(|e| e.0).collect();
    assert_eq!(addresses, ["203.0.113.50"], "the allow-listed address is not banned");
    // The store holds one record per address and set.
    let list = ok(&ns.banwarden(&["list", "--json"]));
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains(r#""until":null"#) && list.contains(r#""in_kernel":true"#), "{list}");
}

const PERMANENT_RULES: &str = r#"{"actions": {
  "a": [{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden def4", "nftSetIPv6": "ip6 banwarden ban6"}}],
  "b": [{"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "ipport4", "ipSetIPv6": "ipport4"}}]
}, "storage": "STORAGE"}"#;

/// A set with a default timeout gives it to every element added without
/// one: ipset takes "timeout 0" for never, nftables has no such thing, so
/// banwarden says so; and an ipset type that wants more than an address is
/// named unsuitable.
#[test]
fn permanent_bans_and_sets_with_a_default_timeout() {
    let Some(ns) = Netns::new(PERMANENT_RULES) else { return };
    ns.nft_script("add set ip banwarden def4 { type ipv4_addr; flags timeout; timeout 1h; }");
    ns.ipset(&["create", "ipport4", "hash:ip,port", "family", "inet"]);
    ns.ipset(&["create", "def4", "hash:ip", "family", "inet", "timeout", "600"]);
    let out = ns.banwarden(&["check", "--kernel"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    for line in [
        r#"nftables set "ip banwarden def4" has a default timeout of 3600 s, so its permanent bans would be lifted after that; remove the set's `timeout` (keep `flags timeout`) (used at chain "a", step 0 (action_nftBan), arg "nftSetIPv4")"#,
        r#"ipset "ipport4" is of type hash:ip,port, which does not hold plain addresses"#,
    ] {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    // By hand: made, and said so.
    let out = ns.banwarden(&["ban", "192.0.2.60", "--set", "banwarden def4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("has a default timeout of 3600 s"), "{}", text(&out.stderr));
    // ipset: permanent means permanent, whatever the set's default.
    let out = ns.banwarden(&["ban", "192.0.2.61", "--ipset", "--set", "def4"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = rule_warnings_left_out(&text(&out.stderr));
    assert!(!stderr.contains("warning"), "{stderr}");
    let out = ns.banwarden(&["ban", "192.0.2.62", "--ipset", "--set", "def4", "--for", "2m"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let members = ns.ipset_members("def4");
    assert_eq!(members[0], ("192.0.2.61".to_owned(), Some(0)), "{members:?}");
    assert!((110..=120).contains(&members[1].1.unwrap()), "{members:?}");
}
