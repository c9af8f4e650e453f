//! The shipped ruleset's API sets in the real kernel: `api_accept4/6` let
//! an address through banwarden's chain whatever ban set also holds it,
//! but another table's drop still stops it (an accept ends one base chain
//! only); `api_drop4/6` and `api_drop_net4/6` drop like the other ban sets; and the file loads
//! over the table of the version before these sets, keeping its bans.
//!
//! Packets are real: UDP datagrams from an address on the namespace's
//! loopback to itself, which cross the input hook. A counter in a chain of
//! a later priority shows whether they passed banwarden's chain.

use std::process::Command;

use super::bans::{Netns, NO_RULES};
use super::package::{banwarden_rules, nft_in, RULESET};
use super::util::{root, text};

const V4: &str = "192.0.2.1";
const V6: &str = "2001:db8::1";

/// A namespace with lo up, the two test addresses on it, the shipped
/// ruleset loaded, and a counting chain after banwarden's (priority 10).
fn namespace() -> Option<Netns> {
    let ns = Netns::new(NO_RULES)?;
    for args in [
        vec!["link", "set", "lo", "up"],
        vec!["addr", "add", "192.0.2.1/32", "dev", "lo"],
        vec!["-6", "addr", "add", "2001:db8::1/128", "dev", "lo", "nodad"],
    ] {
        let out = Command::new("ip").args(["-n", &ns.name]).args(&args).output().unwrap();
        assert!(out.status.success(), "ip {args:?}: {}", text(&out.stderr));
    }
    nft_in(&ns, &["-f", root().join(RULESET).to_str().unwrap()]);
    ns.nft_script(
        "table inet observe {
             chain input { type filter hook input priority 10; policy accept;
                           ip saddr 192.0.2.1 udp dport 9 counter; ip6 saddr 2001:db8::1 udp dport 9 counter; }
         }",
    );
    Some(ns)
}

/// Packets from `address` to itself that reached the counting chain, after
/// sending one more.
fn passed_after_one_more(ns: &Netns, address: &str) -> u64 {
    // bash opens /dev/udp itself (getaddrinfo, IPv4 or IPv6); the port is
    // closed, which does not matter: the input hook has seen the datagram.
    let send = format!("echo x > /dev/udp/{address}/9");
    let out = Command::new("ip").args(["netns", "exec", &ns.name, "bash", "-c", &send]).output().unwrap();
    assert!(out.status.success(), "{send}: {}", text(&out.stderr));
    let chain = nft_in(ns, &["list", "chain", "inet", "observe", "input"]);
    let family = if address.contains(':') { "ip6" } else { "ip " };
    let line = chain.lines().find(|l| l.trim_start().starts_with(family)).unwrap_or_else(|| panic!("{chain}"));
    let packets = line.split_whitespace().skip_while(|w| *w != "packets").nth(1);
    packets.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no counter in {line:?}"))
}

#[test]
fn accept_sets_come_first_and_ban_sets_drop() {
    let Some(ns) = namespace() else { return };
    let rules = banwarden_rules(&ns);
    assert_eq!(rules[..2], ["ip saddr @api_accept4 accept", "ip6 saddr @api_accept6 accept"], "{rules:?}");
    assert!(rules[2..].iter().all(|r| r.ends_with(" drop")), "every accept before every drop: {rules:?}");
    assert!(rules.contains(&"ip saddr @api_drop4 drop".to_owned()), "{rules:?}");
    assert!(rules.contains(&"ip6 saddr @api_drop6 drop".to_owned()), "{rules:?}");
    assert!(rules.contains(&"ip saddr @api_drop_net4 drop".to_owned()), "{rules:?}");
    assert!(rules.contains(&"ip6 saddr @api_drop_net6 drop".to_owned()), "{rules:?}");

    for (address, ban, api_drop, accept, network) in [
        (V4, "ssh_ban4", "api_drop_net4", "api_accept4", "192.0.2.0/24"),
        (V6, "ssh_ban6", "api_drop_net6", "api_accept6", "2001:db8::/64"),
    ] {
        let add =
            |set: &str, element: &str| ns.nft_script(&format!("add element inet banwarden {set} {{ {element} }}"));
        let delete =
            |set: &str, element: &str| ns.nft_script(&format!("delete element inet banwarden {set} {{ {element} }}"));
        let before = passed_after_one_more(&ns, address);
        assert_eq!(passed_after_one_more(&ns, address), before + 1, "{address}: nothing banned yet, it passes");

        add(ban, address);
        let banned = passed_after_one_more(&ns, address);
        assert_eq!(passed_after_one_more(&ns, address), banned, "{address} in {ban}: dropped");
        add(accept, &format!("{network} timeout 1h"));
        assert_eq!(passed_after_one_more(&ns, address), banned + 1, "{address} in {ban} and {accept}: accepted first");
        delete(ban, address);

        add(api_drop, &format!("{network} timeout 1h"));
        assert_eq!(passed_after_one_more(&ns, address), banned + 2, "{address}: {accept} wins over {api_drop} too");
        delete(accept, network);
        assert_eq!(passed_after_one_more(&ns, address), banned + 2, "{address} in {api_drop} alone: dropped");
        delete(api_drop, network);
        assert_eq!(passed_after_one_more(&ns, address), banned + 3, "{address}: unbanned, it passes again");
    }
}

/// An accept in banwarden's chain does not open what another table closes:
/// nftables runs every base chain of the hook, and any drop is final.
#[test]
fn an_allowed_address_is_still_dropped_by_another_table() {
    let Some(ns) = namespace() else { return };
    ns.nft_script(&format!(
        "add element inet banwarden api_accept4 {{ {V4} }}
         table inet filter {{ chain input {{ type filter hook input priority 0; policy accept; ip saddr {V4} udp dport 9 drop; }}; }}"
    ));
    let before = passed_after_one_more(&ns, V4);
    assert_eq!(passed_after_one_more(&ns, V4), before, "{V4} in api_accept4 passed a drop of inet filter");
    // The control: the IPv6 address, in no set and no other rule, passes.
    let before = passed_after_one_more(&ns, V6);
    assert_eq!(passed_after_one_more(&ns, V6), before + 1);
}

/// The table as the ruleset made it before the API's sets (network sets
/// already there): the new file adds the four sets and their rules, and the
/// bans stay.
#[test]
fn the_shipped_ruleset_loads_over_the_table_before_the_api_sets() {
    let Some(ns) = Netns::new(NO_RULES) else { return };
    let shipped = std::fs::read_to_string(root().join(RULESET)).unwrap();
    let before: String = shipped
        .lines()
        .filter(|l| !l.contains("@api_") && !l.trim_start().starts_with("set api_"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_ne!(before, shipped, "{RULESET} has no API sets");
    ns.nft_script(&before);
    ns.nft_script(
        "add element inet banwarden ssh_ban4 { 192.0.2.7 }\nadd element inet banwarden ssh_net6 { 2001:db8:7::/48 }",
    );
    assert!(banwarden_rules(&ns).iter().all(|r| !r.contains("api_")));

    nft_in(&ns, &["-f", root().join(RULESET).to_str().unwrap()]);
    assert_eq!(ns.elements("inet", "ssh_ban4"), [("192.0.2.7".to_owned(), None)], "the ban stays");
    assert_eq!(ns.elements("inet", "ssh_net6"), [("2001:db8:7::/48".to_owned(), None)], "the ban stays");
    for set in ["api_drop_net4", "api_drop_net6", "api_accept4", "api_accept6"] {
        let listed = nft_in(&ns, &["list", "set", "inet", "banwarden", set]);
        assert!(listed.contains("flags interval,timeout"), "{set}: {listed}");
    }
    // Single addresses in hash sets: their commit does not walk the set.
    for set in ["api_drop4", "api_drop6"] {
        let listed = nft_in(&ns, &["list", "set", "inet", "banwarden", set]);
        assert!(listed.contains("flags timeout") && !listed.contains("interval"), "{set}: {listed}");
    }
    let rules = banwarden_rules(&ns);
    assert_eq!(rules.len(), 22, "{rules:?}");
    assert!(rules[0].ends_with("@api_accept4 accept"), "{rules:?}");
}
