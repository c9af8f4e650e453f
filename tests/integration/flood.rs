//! The daemon under a flood of attackers whose bans the kernel refuses: a
//! full ipset, an nftables set whose type cannot take the addresses.
//!
//! Each ban is stored, then refused by the kernel, and the daemon says so on
//! stderr. Saying it once per attacker would turn an attack into a flood of
//! the daemon's own log (which it reads back), so what it writes must stay
//! bounded whatever the number of attackers, while every ban still reaches
//! the store and a ban into a good set still reaches the kernel.
//!
//! Each test runs the real `banwarden run` in a network namespace of its own
//! ([`Netns`]) on a private journald, as the tests in `bans` do. Root only;
//! skipped otherwise.

use std::path::Path;
use std::time::Instant;

use super::bans::Netns;
use super::journald::{Entry, PrivateJournald};
use super::util::{text, wait_until};

/// Attackers in the flood, each banned on its first line.
const ATTACKERS: u32 = 10_000;
/// The flood comes in waves, each judged (its bans stored) before the next
/// is written, as an attack spread over time reaches the daemon: each wave
/// is one batch of bans at least, so a message per batch shows as surely
/// as one per attacker.
const WAVE: u32 = 100;
/// Lines of stderr about the unusable set that a sane daemon stays within.
/// A throttle keyed by (set, kind of error) that reports the 1st, 10th,
/// 100th, 1,000th and 10,000th failure writes 5 lines for this flood, and
/// the start-up check one more (the nftables set of the wrong type). 50
/// leaves room for a few kinds of error per set and a summary or two, and is
/// still far below one line per attacker (10,000) or per batch (at least
/// one per wave: 100).
const MAX_FAILURE_LINES: usize = 50;

/// The attacker number `i`: 10.0.0.1 to 10.0.39.250.
fn attacker(i: u32) -> String {
    format!("10.0.{}.{}", i / 250, i % 250 + 1)
}

fn failed_password(identifier: &str, ip: &str) -> Entry {
    vec![
        ("SYSLOG_IDENTIFIER".to_string(), identifier.as_bytes().to_vec()),
        ("MESSAGE".to_string(), format!("Failed password for root from {ip} port 22 ssh2").into_bytes()),
    ]
}

/// The store's snapshot and log, as text.
fn store_text(storage: &Path, store: &str) -> String {
    let mut all = std::fs::read_to_string(storage.join(format!("{store}.json"))).unwrap_or_default();
    all.push_str(&std::fs::read_to_string(storage.join(format!("{store}.json.log"))).unwrap_or_default());
    all
}

/// Writes the flood (wave by wave, see [`WAVE`]) and waits until each wave
/// is judged: entries are judged in order and their bans stored in order,
/// so once the wave's last attacker is in the store, the whole wave is.
fn flood(journald: &PrivateJournald, ns: &Netns, store: &str) {
    let started = Instant::now();
    for wave in 0..ATTACKERS / WAVE {
        let first = wave * WAVE;
        journald.write_many((first..first + WAVE).map(|i| failed_password("sshd", &attacker(i))));
        let last = format!("\"{}\"", attacker(first + WAVE - 1));
        let judged = wait_until(30, || store_text(&ns.storage(), store).contains(&last));
        assert!(judged, "wave {wave}: the ban of {last} not stored after 30 s");
    }
    eprintln!("flood: {ATTACKERS} attackers judged and stored in {:?}", started.elapsed());
}

/// Runs the daemon through the flood, then one ban into a good set, which
/// must still reach the kernel (`good_in_kernel` tells); returns what the
/// daemon wrote on stderr once stopped.
fn flood_then_a_good_ban(
    journald: &PrivateJournald,
    ns: &Netns,
    store: &str,
    good_in_kernel: impl FnMut() -> bool,
) -> String {
    let started = Instant::now();
    let run = ns.run(journald);
    flood(journald, ns, store);
    journald.write_many(std::iter::once(failed_password("sshd-good", "203.0.113.9")));
    let good = wait_until(10, good_in_kernel);
    let (status, stderr) = run.stop();
    eprintln!("flood: the daemon ran {:?}", started.elapsed());
    assert!(good, "the ban into the good set after the flood did not reach the kernel: {}", head(&stderr));
    assert!(status.success(), "{status}");
    stderr
}

/// Counts the lines of `stderr` about `set`, prints the figure, and checks it
/// against [`MAX_FAILURE_LINES`].
fn assert_bounded_failure_lines(stderr: &str, set: &str) {
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(set)).collect();
    eprintln!("flood: {} stderr lines about {set} for {ATTACKERS} refused bans", lines.len());
    assert!(
        lines.len() <= MAX_FAILURE_LINES,
        "{} stderr lines about {set} for {ATTACKERS} attackers (at most {MAX_FAILURE_LINES} expected); the first ones:\n{}",
        lines.len(),
        lines[..lines.len().min(5)].join("\n")
    );
}

/// The start of a long stderr, for a panic message.
fn head(stderr: &str) -> String {
    stderr.lines().take(20).collect::<Vec<_>>().join("\n")
}

/// How many bans of `set` `banwarden list --json` shows in the store.
fn listed_in_store(ns: &Netns, set: &str) -> usize {
    let out = ns.banwarden(&["list", "--json"]);
    assert!(out.status.success(), "list: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|row| row["set"] == set && row["in_store"] == true)
        .count()
}

const IPSET_RULES: &str = r#"{"actions": {
  "flood": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "full4", "ipSetIPv6": "good6", "banSeconds": 600}}
  ],
  "good": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd-good"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "good4", "ipSetIPv6": "good6", "banSeconds": 600}}
  ]
}, "storage": "STORAGE"}"#;

/// ipset says which address it could not add ("ipset "full4" is full (its
/// maxelem is reached), 10.0.0.1 was not added"), so a throttle keyed by
/// the message sees a new cause with every attacker.
#[test]
fn the_daemon_under_a_flood_against_a_full_ipset_logs_a_bounded_number_of_lines() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(IPSET_RULES) else { return };
    ns.ipset(&["create", "full4", "hash:ip", "family", "inet", "maxelem", "16", "timeout", "0"]);
    ns.ipset(&["create", "good4", "hash:ip", "family", "inet", "timeout", "0"]);
    ns.ipset(&["create", "good6", "hash:ip", "family", "inet6", "timeout", "0"]);
    // Full before the flood: every attacker's ban is refused.
    let fillers: Vec<String> = (1..=16).map(|n| format!("198.18.0.{n}")).collect();
    for ip in &fillers {
        ns.ipset(&["add", "full4", ip]);
    }
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &ns.name, "ipset", "add", "full4", "198.18.0.17"])
        .output()
        .unwrap();
    assert!(!out.status.success(), "the set is full: {}", text(&out.stderr));

    let stderr = flood_then_a_good_ban(&journald, &ns, "action_ipsetBan", || {
        ns.ipset_members("good4").iter().any(|m| m.0 == "203.0.113.9")
    });

    // Stored first, refused by the kernel: all in the store, none in the set.
    assert_eq!(listed_in_store(&ns, "full4"), ATTACKERS as usize, "bans of full4 in the store");
    let mut members: Vec<String> = ns.ipset_members("full4").into_iter().map(|m| m.0).collect();
    members.sort();
    let mut expected = fillers;
    expected.sort();
    assert_eq!(members, expected, "only the fillers in the full set");

    assert_bounded_failure_lines(&stderr, "full4");
}

const NFT_RULES: &str = r#"{"actions": {
  "flood": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden mac4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
  ],
  "good": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd-good"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<ip>\\S+) port"}},
    {"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 600}}
  ]
}, "storage": "STORAGE"}"#;

/// A set of `type ether_addr` named for IPv4 addresses: banwarden refuses
/// each batch with a message that names the batch's first address
/// ("nftables set "ip banwarden mac4" has type key type 0x9, which cannot
/// hold 10.0.0.1"), so a throttle keyed by the message sees a new cause
/// with every batch.
#[test]
fn the_daemon_under_a_flood_against_an_nft_set_of_the_wrong_type_logs_a_bounded_number_of_lines() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(NFT_RULES) else { return };
    ns.nft_script("add set ip banwarden mac4 { type ether_addr; flags timeout; }");

    let stderr = flood_then_a_good_ban(&journald, &ns, "action_nftBan", || {
        ns.elements("ip", "ban4").iter().any(|e| e.0 == "203.0.113.9")
    });

    assert_eq!(listed_in_store(&ns, "ip banwarden mac4"), ATTACKERS as usize, "bans of ip banwarden mac4 in the store");
    assert!(ns.elements("ip", "mac4").is_empty(), "nothing in the set of the wrong type");

    assert_bounded_failure_lines(&stderr, "banwarden mac4");
}
