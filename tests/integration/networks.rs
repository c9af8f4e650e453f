//! Networks (CIDR) end to end, as root in network namespaces of the tests'
//! own: `ban`, `list`, `unban` and `boot` of networks into an nftables
//! interval set and an ipset `hash:net`; a packet from inside a banned
//! network dropped by the shipped ruleset between two namespaces joined by a
//! veth pair; and the real daemon on a private journald counting and
//! banning an IPv6 attacker by its /64. Skipped without root, or failed
//! under `CI=true` (`util::require`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use super::bans::{ok, stored, Netns, NO_RULES};
use super::journald::PrivateJournald;
use super::package::{banwarden_rules, nft_in, RULESET};
use super::util::{root, text, wait_until};

/// Interval sets beside bans.rs's `ban4`/`ban6` (same tables).
const NET_SETS: &str = "
table ip banwarden { set net4 { type ipv4_addr; flags interval,timeout; }; }
table ip6 banwarden { set net6 { type ipv6_addr; flags interval,timeout; }; }
";

fn targets(elements: Vec<(String, Option<u64>)>) -> Vec<String> {
    elements.into_iter().map(|e| e.0).collect()
}

#[test]
fn nft_networks_by_hand_ban_list_unban_boot() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ns.nft_script(NET_SETS);
    let out = ok(&ns.banwarden(&["ban", "203.0.113.0/24", "--set", "banwarden net4", "--for", "1h"]));
    assert!(out.contains("banned 203.0.113.0/24 in ip banwarden net4 for 3600 s"), "{out}");
    ok(&ns.banwarden(&["ban", "2001:db8:1:2::/64", "--set", "ip6 banwarden net6"]));
    let v4 = ns.elements("ip", "net4");
    assert_eq!(v4[0].0, "203.0.113.0/24");
    assert!((3590..=3600).contains(&v4[0].1.unwrap()), "{v4:?}");
    assert_eq!(ns.elements("ip6", "net6"), [("2001:db8:1:2::/64".to_owned(), None)]);

    // An address inside: stored, not sent (the /24's element holds it).
    let out = ok(&ns.banwarden(&["ban", "203.0.113.7", "--set", "banwarden net4"]));
    assert!(out.contains("203.0.113.7 is inside 203.0.113.0/24 banned in ip banwarden net4 until "), "{out}");
    assert_eq!(targets(ns.elements("ip", "net4")), ["203.0.113.0/24"]);
    let list = ok(&ns.banwarden(&["list"]));
    let row = list.lines().find(|l| l.starts_with("203.0.113.7 ")).unwrap_or_else(|| panic!("{list}"));
    assert!(row.ends_with("inside 203.0.113.0/24, whose element holds it"), "{list}");
    let header = list.lines().next().unwrap();
    let net_row = list.lines().find(|l| l.starts_with("203.0.113.0/24 ")).unwrap();
    assert_eq!(net_row.find(" ip banwarden"), header.find(" SET"), "columns aligned:\n{list}");
    let json = ok(&ns.banwarden(&["list", "--json"]));
    let covered = json.lines().find(|l| l.contains(r#""IP":"203.0.113.7""#)).unwrap();
    assert!(covered.contains(r#""covered_by":"203.0.113.0/24""#) && covered.contains(r#""in_kernel":false"#));

    // Unbanning the address: the /24 still bans it, and says until when.
    let out = ok(&ns.banwarden(&["unban", "203.0.113.7"]));
    assert!(
        out.contains(
            "203.0.113.7: its own ban is lifted in ip banwarden net4, but 203.0.113.0/24 still bans it until "
        ),
        "{out}"
    );
    assert_eq!(targets(ns.elements("ip", "net4")), ["203.0.113.0/24"]);

    // The store's IP holds the network text; boot puts the networks back.
    let store = stored(&ns.storage());
    assert!(store.contains(r#""IP": "203.0.113.0/24""#) && store.contains(r#""IP": "2001:db8:1:2::/64""#), "{store}");
    ns.nft_script("flush set ip banwarden net4\nflush set ip6 banwarden net6\n");
    let out = ok(&ns.banwarden(&["boot"]));
    assert!(out.contains("restored 2 bans"), "{out}");
    let v4 = ns.elements("ip", "net4");
    assert_eq!(v4[0].0, "203.0.113.0/24");
    assert!((3500..=3600).contains(&v4[0].1.unwrap()), "the time left, not a fresh hour: {v4:?}");
    assert_eq!(targets(ns.elements("ip6", "net6")), ["2001:db8:1:2::/64"]);

    let out = ok(&ns.banwarden(&["unban", "203.0.113.0/24"]));
    assert!(out.contains("unbanned 203.0.113.0/24 from ip banwarden net4"), "{out}");
    assert!(ns.elements("ip", "net4").is_empty());
    ok(&ns.banwarden(&["unban", "2001:db8:1:2::/64"]));
    assert!(ns.elements("ip6", "net6").is_empty());
    assert!(ok(&ns.banwarden(&["list", "--json"])).is_empty());
}

#[test]
fn ipset_hash_net_by_hand_ban_list_unban_boot() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ns.ipset(&["create", "net4", "hash:net", "family", "inet", "timeout", "0"]);
    ns.ipset(&["create", "net6", "hash:net", "family", "inet6", "timeout", "0"]);
    ok(&ns.banwarden(&["ban", "203.0.113.0/24", "--ipset", "--set", "net4", "--for", "1h"]));
    ok(&ns.banwarden(&["ban", "2001:db8:1:2::/64", "--ipset", "--set", "net6"]));
    let v4 = ns.ipset_members("net4");
    assert_eq!(v4[0].0, "203.0.113.0/24");
    assert!((3590..=3600).contains(&v4[0].1.unwrap()), "{v4:?}");
    assert_eq!(ns.ipset_members("net6"), [("2001:db8:1:2::/64".to_owned(), Some(0))]);
    let out = ok(&ns.banwarden(&["ban", "203.0.113.7", "--ipset", "--set", "net4"]));
    assert!(out.contains("is inside 203.0.113.0/24"), "{out}");
    assert_eq!(ns.ipset_members("net4").len(), 1, "only the network in the set");
    let out = ok(&ns.banwarden(&["unban", "203.0.113.7"]));
    assert!(out.contains("but 203.0.113.0/24 still bans it"), "{out}");

    let store = std::fs::read_to_string(ns.storage().join("action_ipsetBan.json.log")).unwrap_or_default()
        + &std::fs::read_to_string(ns.storage().join("action_ipsetBan.json")).unwrap_or_default();
    assert!(store.contains(r#""IP": "203.0.113.0/24""#), "{store}");
    ns.ipset(&["flush", "net4"]);
    ns.ipset(&["flush", "net6"]);
    assert!(ok(&ns.banwarden(&["boot"])).contains("restored 2 bans"));
    assert_eq!(ns.ipset_members("net4")[0].0, "203.0.113.0/24");
    assert_eq!(ns.ipset_members("net6")[0].0, "2001:db8:1:2::/64");
    ok(&ns.banwarden(&["unban", "203.0.113.0/24"]));
    assert!(ns.ipset_members("net4").is_empty());
}

#[test]
fn a_network_into_a_set_of_addresses_is_refused_and_not_stored() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ns.ipset(&["create", "ip4", "hash:ip", "family", "inet", "timeout", "0"]);
    for args in [
        &["ban", "203.0.113.0/24", "--set", "banwarden ban4"][..],
        &["ban", "2001:db8:1:2::/64", "--set", "ip6 banwarden ban6", "--for", "1h"],
        &["ban", "203.0.113.0/24", "--ipset", "--set", "ip4"],
    ] {
        let out = ns.banwarden(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("not banned, nothing stored"), "{args:?}: {}", text(&out.stderr));
    }
    assert!(ns.elements("ip", "ban4").is_empty() && ns.elements("ip6", "ban6").is_empty());
    assert!(ns.ipset_members("ip4").is_empty(), "not added as its 256 addresses either");
    assert!(!stored(&ns.storage()).contains("203.0.113.0"));
    assert!(ok(&ns.banwarden(&["list", "--json"])).is_empty());
}

/// A second network namespace, the sender's, deleted on drop.
struct Sender(String);

impl Drop for Sender {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "delete", &self.0]).status();
    }
}

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().unwrap();
    assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
}

fn sysctl(ns: &str, settings: &[&str]) {
    let out = Command::new("ip").args(["netns", "exec", ns, "sysctl", "-qw"]).args(settings).output().unwrap();
    assert!(out.status.success(), "sysctl {settings:?}: {}", text(&out.stderr));
}

/// One UDP datagram from `source` to `to` (port 9999), sent in `ns`.
fn send(ns: &str, source: &str, to: &str) {
    let family = if source.contains(':') { "AF_INET6" } else { "AF_INET" };
    let script = format!(
        "import socket; s = socket.socket(socket.{family}, socket.SOCK_DGRAM); \
         s.bind(('{source}', 0)); s.sendto(b'{source}', ('{to}', 9999))"
    );
    let out = Command::new("ip").args(["netns", "exec", ns, "python3", "-c", &script]).output().unwrap();
    assert!(out.status.success(), "sending from {source}: {}", text(&out.stderr));
}

/// Sends one datagram from each source; what the receiver got, by source.
fn exchange(receiver: &str, sender: &str, sources: &[(&str, &str)]) -> Vec<String> {
    // Listens on both families, says "ready", prints each datagram's text
    // (its source) until 1.5 s pass without one.
    let script = "import socket, select, sys
s4 = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s4.bind(('0.0.0.0', 9999))
s6 = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); s6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1); s6.bind(('::', 9999))
print('ready', flush=True)
while True:
    ready, _, _ = select.select([s4, s6], [], [], 1.5)
    if not ready: break
    for s in ready: print(s.recv(100).decode(), flush=True)
";
    let mut listener = Command::new("ip")
        .args(["netns", "exec", receiver, "python3", "-c", script])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(listener.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    for (source, to) in sources {
        send(sender, source, to);
    }
    let mut got: Vec<String> = lines.map(Result::unwrap).collect();
    assert!(listener.wait().unwrap().success());
    got.sort();
    got
}

#[test]
fn a_packet_from_inside_a_banned_network_is_dropped() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    static N: AtomicUsize = AtomicUsize::new(0);
    let sender = Sender(format!("bwsend-{}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed)));
    ip(&["netns", "add", &sender.0]);
    let (recv, send_ns) = (ns.name.as_str(), sender.0.as_str());
    // No duplicate address detection: the addresses are usable at once.
    for name in [recv, send_ns] {
        sysctl(name, &["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    }
    ip(&["-n", recv, "link", "add", "bwr", "type", "veth", "peer", "name", "bws", "netns", send_ns]);
    for (addr, dev, name) in [
        ("192.0.2.1/32", "bwr", recv),
        ("2001:db8:ffff::1/128", "bwr", recv),
        ("203.0.113.7/32", "bws", send_ns),
        ("198.51.100.7/32", "bws", send_ns),
        ("2001:db8:1:2::7/128", "bws", send_ns),
        ("2001:db8:9::7/128", "bws", send_ns),
    ] {
        ip(&["-n", name, "addr", "add", addr, "dev", dev, "nodad"]);
    }
    for (name, dev) in [(recv, "bwr"), (send_ns, "bws")] {
        ip(&["-n", name, "link", "set", "lo", "up"]);
        ip(&["-n", name, "link", "set", dev, "up"]);
    }
    for route in ["203.0.113.0/24", "198.51.100.0/24", "2001:db8:1::/48", "2001:db8:9::/48"] {
        ip(&["-n", recv, "route", "add", route, "dev", "bwr"]);
    }
    for route in ["192.0.2.1/32", "2001:db8:ffff::1/128"] {
        ip(&["-n", send_ns, "route", "add", route, "dev", "bws"]);
    }
    // The shipped ruleset, as installed.
    nft_in(&ns, &["-f", root().join(RULESET).to_str().unwrap()]);

    let sources = [
        ("203.0.113.7", "192.0.2.1"),
        ("198.51.100.7", "192.0.2.1"),
        ("2001:db8:1:2::7", "2001:db8:ffff::1"),
        ("2001:db8:9::7", "2001:db8:ffff::1"),
    ];
    let all: Vec<String> = {
        let mut all: Vec<String> = sources.iter().map(|s| s.0.to_owned()).collect();
        all.sort();
        all
    };
    assert_eq!(exchange(recv, send_ns, &sources), all, "before any ban, every datagram arrives");

    ok(&ns.banwarden(&["ban", "203.0.113.0/24", "--set", "inet banwarden ssh_net4", "--for", "1h"]));
    ok(&ns.banwarden(&["ban", "2001:db8:1:2::/64", "--set", "inet banwarden ssh_net6", "--for", "1h"]));
    let got = exchange(recv, send_ns, &sources);
    assert_eq!(got, ["198.51.100.7", "2001:db8:9::7"], "from inside the banned networks: dropped");

    ok(&ns.banwarden(&["unban", "203.0.113.0/24"]));
    ok(&ns.banwarden(&["unban", "2001:db8:1:2::/64"]));
    assert_eq!(exchange(recv, send_ns, &sources), all, "unbanned: they arrive again");
}

/// sshd failures counted by the attacker's network (its /64 for IPv6) and
/// by address: 5 failures of one address ban the address, 5 of one network
/// ban the network.
const BY_NETWORK_RULES: &str = r#"{"actions": {
  "sshd": [
    {"filter": "filter_equals", "args": {"field": "SYSLOG_IDENTIFIER", "value": "sshd"}},
    {"filter": "filter_pcre", "args": {"field": "MESSAGE", "re": "^Failed password for \\S+ from (?P<thatIP>\\S+) port"}},
    {"action": "action_network", "args": {"IP": "thatIP", "save": "thatNet", "ipv6Prefix": 64}},
    {"action": "action_counterRaise", "args": {"counter": "sshd address", "for": "thatIP", "keepSeconds": 600, "save": "byAddress"}},
    {"action": "action_counterRaise", "args": {"counter": "sshd network", "for": "thatNet", "keepSeconds": 600, "save": "byNetwork"}},
    {"filter": "filter_greaterOrEquals", "args": {"field": "byAddress", "value": 5}, "then": "sshd address ban", "else": "sshd network"}
  ],
  "sshd address ban": [
    {"action": "action_nftBan", "args": {"IP": "thatIP", "banSeconds": 600, "nftSetIPv4": "inet banwarden ssh_ban4", "nftSetIPv6": "inet banwarden ssh_ban6"}}
  ],
  "sshd network": [
    {"filter": "filter_greaterOrEquals", "args": {"field": "byNetwork", "value": 5}},
    {"action": "action_counterReset", "args": {"counter": "sshd network", "for": "thatNet"}},
    {"action": "action_nftBan", "args": {"IP": "thatNet", "banSeconds": 600, "nftSetIPv4": "inet banwarden ssh_net4", "nftSetIPv6": "inet banwarden ssh_net6"}}
  ]
}, "storage": "STORAGE"}"#;

#[test]
fn the_daemon_bans_an_attacker_rotating_through_its_64() {
    let Some(journald) = PrivateJournald::start() else { return };
    let Some(ns) = Netns::new(BY_NETWORK_RULES) else { return };
    nft_in(&ns, &["-f", root().join(RULESET).to_str().unwrap()]);
    assert_eq!(banwarden_rules(&ns).len(), 22, "a rule per set of the shipped file");
    let check = ns.banwarden(&["check", "--kernel"]);
    assert!(check.status.success(), "{}{}", text(&check.stdout), text(&check.stderr));
    let run = ns.run(&journald);
    let fail = |ip: &str| journald.log("sshd", &format!("Failed password for root from {ip} port 22 ssh2"));
    // Four failures from each address of one /64, then the next address:
    // never five from one address.
    for host in 1..=3 {
        for _ in 0..4 {
            fail(&format!("2001:db8:1:2::{host:x}"));
        }
    }
    // Then one attacker that keeps its address: banned by address (and its
    // ban, judged last, says every line before was judged).
    for _ in 0..5 {
        fail("2001:db8:77::1");
    }
    assert!(wait_until(20, || !ns.elements("inet", "ssh_ban6").is_empty()), "nothing banned");
    let (status, stderr) = run.stop();
    assert!(status.success(), "{stderr}");
    assert_eq!(targets(ns.elements("inet", "ssh_ban6")), ["2001:db8:77::1"], "{stderr}");
    assert_eq!(targets(ns.elements("inet", "ssh_net6")), ["2001:db8:1:2::/64"], "{stderr}");
    assert!(stored(&ns.storage()).contains(r#""IP": "2001:db8:1:2::/64""#));
}

/// The table as the ruleset before network sets made it: the new file must
/// load over it (a set declared again with other flags fails with "File
/// exists", so the network sets are new sets, and the old ones keep theirs).
const TABLE_BEFORE_NETWORKS: &str = "table inet banwarden {
    set ssh_ban4 { type ipv4_addr; flags timeout; }
    set ssh_ban6 { type ipv6_addr; flags timeout; }
    set web_ban4 { type ipv4_addr; flags timeout; }
    set web_ban6 { type ipv6_addr; flags timeout; }
    set mail_ban4 { type ipv4_addr; flags timeout; }
    set mail_ban6 { type ipv6_addr; flags timeout; }
    set xmpp_ban4 { type ipv4_addr; flags timeout; }
    set xmpp_ban6 { type ipv6_addr; flags timeout; }
    chain input { type filter hook input priority -10; policy accept; ip saddr @ssh_ban4 drop; }
}
add element inet banwarden ssh_ban4 { 192.0.2.1 }
";

#[test]
fn the_shipped_ruleset_loads_over_the_table_before_network_sets() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    ns.nft_script(TABLE_BEFORE_NETWORKS);
    nft_in(&ns, &["-f", root().join(RULESET).to_str().unwrap()]);
    assert_eq!(ns.elements("inet", "ssh_ban4"), [("192.0.2.1".to_owned(), None)], "the ban stays");
    for kind in ["ssh", "web", "mail", "xmpp"] {
        for family in ["4", "6"] {
            let set = nft_in(&ns, &["list", "set", "inet", "banwarden", &format!("{kind}_net{family}")]);
            assert!(set.contains("flags interval,timeout"), "{kind}_net{family}: {set}");
        }
    }
    let rules = banwarden_rules(&ns);
    assert_eq!(rules.len(), 22, "a rule per set: {rules:?}");
    assert!(rules.iter().any(|r| r == "ip6 saddr @ssh_net6 drop"), "{rules:?}");
}
