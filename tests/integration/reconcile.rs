//! Firewall reloads while the daemon runs: `banwarden run` in a network
//! namespace of its own (`bans::Netns`) on a private journald, bans from the
//! journal and by hand, then the firewall changed under it the way admins
//! and packages do (`nft -f` of a ruleset starting with `flush ruleset`,
//! tables deleted and made again, `ipset flush`). Every stored ban must be
//! back, with its remaining time, within 1 s for nftables (the kernel
//! announces the change) and within 5 s for ipset (counted every 2 s), and
//! nothing else: an element added by hand is neither put back nor removed.
//! The sets are read with `nft -j` and `ipset list` every 50 ms; the times
//! measured are printed (`--nocapture`). Root only (`util::require`).

use std::time::{Duration, Instant};

use super::bans::{Netns, IPSET_RULES, SSH_RULES};
use super::journald::PrivateJournald;
use super::util::{text, wait_until};

const TABLE4: &str =
    "table ip banwarden { set ban4 { type ipv4_addr; flags timeout; }; set plain4 { type ipv4_addr; }; }\n";
const TABLE6: &str = "table ip6 banwarden { set ban6 { type ipv6_addr; flags timeout; }; }\n";

/// nftables must have them all back within this of the set existing again.
const NFT_LIMIT: Duration = Duration::from_secs(1);
/// ipset: its check period (2 s) and the time to send, with room to spare.
const IPSET_LIMIT: Duration = Duration::from_secs(5);

fn attack(journald: &PrivateJournald, ips: &[&str]) {
    for ip in ips {
        journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
    }
}

fn addresses(elements: &[(String, Option<u64>)]) -> Vec<String> {
    elements.iter().map(|e| e.0.clone()).collect()
}

fn sorted(ips: &[&str]) -> Vec<String> {
    let mut ips: Vec<String> = ips.iter().map(|s| s.to_string()).collect();
    ips.sort();
    ips
}

/// Polls `read` every 50 ms until it returns `want`; how long that took
/// from `start`. Panics after 10 s with what it last read.
fn back_after(start: Instant, want: &[String], mut read: impl FnMut() -> Vec<String>) -> Duration {
    loop {
        let now = read();
        if now == want {
            return start.elapsed();
        }
        assert!(start.elapsed() < Duration::from_secs(10), "never back: {now:?}, want {want:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn ok(out: std::process::Output) {
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn a_flush_ruleset_reload_puts_every_ban_back_within_a_second() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let run = ns.run(&journald);
    attack(&journald, &["203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4", "2001:db8::1"]);
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 4 && ns.elements("ip6", "ban6").len() == 1));
    ok(ns.banwarden(&["ban", "192.0.2.50", "--set", "banwarden ban4", "--for", "1h"]));
    // By hand, not in the store: the reload takes it away for good.
    ns.nft_script("add element ip banwarden ban4 { 198.51.100.99 }\n");
    assert_eq!(ns.elements("ip", "ban4").len(), 6);

    // What `systemctl reload nftables` does.
    let start = Instant::now();
    ns.nft_script(&format!("flush ruleset\n{TABLE4}{TABLE6}"));
    let want4 = sorted(&["192.0.2.50", "203.0.113.1", "203.0.113.2", "203.0.113.3", "203.0.113.4"]);
    let took4 = back_after(start, &want4, || addresses(&ns.elements("ip", "ban4")));
    let took6 = back_after(start, &sorted(&["2001:db8::1"]), || addresses(&ns.elements("ip6", "ban6")));
    eprintln!("after `flush ruleset`: ban4 back in {} ms, ban6 in {} ms", took4.as_millis(), took6.as_millis());
    assert!(took4 < NFT_LIMIT && took6 < NFT_LIMIT, "{took4:?}, {took6:?}");
    // With the time they had left, not a fresh ban.
    for (ip, expires) in ns.elements("ip", "ban4") {
        let expires = expires.unwrap_or_else(|| panic!("{ip} without a timeout"));
        let limit = if ip == "192.0.2.50" { 3600 } else { 600 };
        assert!(expires <= limit && expires + 60 > limit, "{ip} expires in {expires} s");
    }

    // An element added by hand after the reload stays.
    ns.nft_script("add element ip banwarden ban4 { 198.51.100.100 }\n");
    std::thread::sleep(Duration::from_millis(500));
    assert!(addresses(&ns.elements("ip", "ban4")).contains(&"198.51.100.100".to_owned()));
    assert_eq!(ns.elements("ip", "ban4").len(), 6);
    // And the daemon goes on banning.
    attack(&journald, &["203.0.113.5"]);
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 7));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("put back 5 of 5 stored bans in nftables set \"ip banwarden ban4\" in "), "{stderr}");
    assert!(stderr.contains(" ms (deleted and created again)"), "{stderr}");
    assert!(stderr.contains("put back 1 of 1 stored bans in nftables set \"ip6 banwarden ban6\" in "), "{stderr}");
    assert!(!stderr.contains("is gone"), "deleted and created in one transaction: {stderr}");
}

#[test]
fn a_table_deleted_then_made_again_gets_its_bans_back() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let run = ns.run(&journald);
    ok(ns.banwarden(&["ban", "192.0.2.7", "--set", "banwarden ban4", "--for", "1h"]));
    ok(ns.banwarden(&["ban", "192.0.2.8", "--set", "banwarden ban4"]));
    ns.nft_script("delete table ip banwarden\n");
    std::thread::sleep(Duration::from_millis(300));
    // Bans meanwhile are stored (their kernel failure is logged).
    attack(&journald, &["203.0.113.9"]);
    std::thread::sleep(Duration::from_millis(300));
    let start = Instant::now();
    ns.nft_script(TABLE4);
    let took = back_after(start, &sorted(&["192.0.2.7", "192.0.2.8", "203.0.113.9"]), || {
        addresses(&ns.elements("ip", "ban4"))
    });
    eprintln!("table made again: ban4 back in {} ms", took.as_millis());
    assert!(took < NFT_LIMIT, "{took:?}");
    assert_eq!(ns.elements("ip", "ban4").iter().find(|e| e.0 == "192.0.2.8").unwrap().1, None, "permanent");
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let gone: Vec<&str> = stderr.lines().filter(|l| l.contains("\"ip banwarden ban4\" is gone")).collect();
    assert_eq!(gone.len(), 1, "{stderr}");
    assert!(gone[0].contains("is gone (deleted with its table): its 2 stored bans go back in"), "{stderr}");
    assert!(stderr.contains("put back 3 of 3 stored bans in nftables set \"ip banwarden ban4\""), "{stderr}");
    assert!(!stderr.contains("plain4"), "a set neither named nor holding bans is not watched: {stderr}");
}

#[test]
fn a_set_gone_for_good_is_said_once_and_banning_goes_on() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(SSH_RULES) else { return };
    let run = ns.run(&journald);
    ok(ns.banwarden(&["ban", "2001:db8::1", "--set", "ip6 banwarden ban6", "--for", "1h"]));
    ns.nft_script("delete table ip6 banwarden\n");
    attack(&journald, &["203.0.113.1", "203.0.113.2"]);
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 2));
    // Another reload, without the ip6 table: not said again.
    ns.nft_script(&format!("flush ruleset\n{TABLE4}"));
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 2));
    attack(&journald, &["203.0.113.3"]);
    assert!(wait_until(10, || ns.elements("ip", "ban4").len() == 3));
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let about: Vec<&str> = stderr.lines().filter(|l| l.contains("ip6 banwarden ban6")).collect();
    assert_eq!(about.len(), 1, "{stderr}");
    assert!(about[0].contains("is gone (deleted with its table): its 1 stored bans go back in"), "{stderr}");
}

#[test]
fn an_ipset_flushed_or_made_again_gets_its_bans_back_within_five_seconds() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(IPSET_RULES) else { return };
    ns.ipset(&["create", "ssh_ban4", "hash:ip", "family", "inet", "timeout", "0"]);
    ns.ipset(&["create", "ssh_ban6", "hash:ip", "family", "inet6", "timeout", "0"]);
    let run = ns.run(&journald);
    attack(&journald, &["203.0.113.1", "203.0.113.2", "203.0.113.3"]);
    assert!(wait_until(10, || ns.ipset_members("ssh_ban4").len() == 3));
    ok(ns.banwarden(&["ban", "192.0.2.50", "--ipset", "--set", "ssh_ban4", "--for", "1h"]));
    ns.ipset(&["add", "ssh_ban4", "198.51.100.99"]);
    let want = sorted(&["192.0.2.50", "203.0.113.1", "203.0.113.2", "203.0.113.3"]);

    let start = Instant::now();
    ns.ipset(&["flush", "ssh_ban4"]);
    let took = back_after(start, &want, || addresses(&ns.ipset_members("ssh_ban4")));
    eprintln!("ipset flush: back in {} ms", took.as_millis());
    assert!(took < IPSET_LIMIT, "{took:?}");
    for (ip, left) in ns.ipset_members("ssh_ban4") {
        let (left, limit) = (left.unwrap(), if ip == "192.0.2.50" { 3600 } else { 600 });
        assert!(left <= limit && left + 60 > limit, "{ip}: {left} s left");
    }

    ns.ipset(&["destroy", "ssh_ban4"]);
    std::thread::sleep(Duration::from_millis(2500));
    let start = Instant::now();
    ns.ipset(&["create", "ssh_ban4", "hash:ip", "family", "inet", "timeout", "0"]);
    let took = back_after(start, &want, || addresses(&ns.ipset_members("ssh_ban4")));
    eprintln!("ipset made again: back in {} ms", took.as_millis());
    assert!(took < IPSET_LIMIT, "{took:?}");
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    let gone: Vec<&str> = stderr.lines().filter(|l| l.contains("ipset \"ssh_ban4\" is gone")).collect();
    assert_eq!(gone.len(), 1, "{stderr}");
    assert!(stderr.contains("(0 elements, 4 stored bans)") && stderr.contains("(created again)"), "{stderr}");
}
