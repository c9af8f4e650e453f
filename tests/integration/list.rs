//! `banwarden list ADDRESS` against the real kernel, as root in a network
//! namespace of the test's own: an address banned, an address inside a
//! banned network, an address not banned, and an element only the kernel
//! holds (added by hand), in an nftables interval set and an ipset
//! `hash:net`. Skipped without root, or failed under `CI=true`.

use super::bans::{ok, Netns};

/// Rules that name the sets, so that `list ADDRESS` asks them about
/// elements the store does not know.
const RULES: &str = r#"{"actions": {
  "a": [{"action": "action_nftBan", "args": {"IP": "ip", "nftSetIPv4": "banwarden net4", "nftSetIPv6": "ip6 banwarden ban6", "banSeconds": 60}}],
  "b": [{"action": "action_ipsetBan", "args": {"IP": "ip", "ipSetIPv4": "lnet4", "ipSetIPv6": "lnet6", "banSeconds": 60}}]
}, "storage": "STORAGE"}"#;

fn rows(json: &str) -> Vec<serde_json::Value> {
    json.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[test]
fn list_address_looks_each_set_up() {
    let Some(ns) = Netns::new(RULES) else { return };
    ns.nft_script("table ip banwarden { set net4 { type ipv4_addr; flags interval,timeout; }; }");
    ns.ipset(&["create", "lnet4", "hash:net", "family", "inet", "timeout", "0"]);
    ns.ipset(&["create", "lnet6", "hash:net", "family", "inet6", "timeout", "0"]);
    ok(&ns.banwarden(&["ban", "192.0.2.7", "--set", "banwarden net4", "--for", "1h"]));
    ok(&ns.banwarden(&["ban", "203.0.113.0/24", "--set", "banwarden net4", "--for", "1d"]));
    ok(&ns.banwarden(&["ban", "198.51.100.0/24", "--set", "lnet4", "--ipset"]));
    // Added by hand: only the kernel holds them.
    ns.nft_script("add element ip banwarden net4 { 10.9.0.0/16 timeout 10m }");
    ns.ipset(&["add", "lnet4", "172.16.5.5"]);

    // An address banned: its own ban, and the kernel's element with its time left.
    let out = ok(&ns.banwarden(&["list", "192.0.2.7", "--json"]));
    let found = rows(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert_eq!((found[0]["IP"].as_str(), found[0]["set"].as_str()), (Some("192.0.2.7"), Some("ip banwarden net4")));
    assert_eq!((found[0]["in_store"].as_bool(), found[0]["in_kernel"].as_bool()), (Some(true), Some(true)));
    let left = found[0]["seconds_left"].as_u64().unwrap();
    assert!((3500..=3600).contains(&left), "{out}");

    // An address inside a banned network: the network's ban; in nftables the
    // interval that holds it, in ipset a match and no more.
    let out = ok(&ns.banwarden(&["list", "203.0.113.77", "--json"]));
    let found = rows(&out);
    assert_eq!(found.len(), 1, "{out}");
    assert_eq!(found[0]["IP"], "203.0.113.0/24");
    assert_eq!(found[0]["kernel_element"], "203.0.113.0/24");
    assert!((86_000..=86_400).contains(&found[0]["seconds_left"].as_u64().unwrap()), "{out}");
    let table = ok(&ns.banwarden(&["list", "203.0.113.77"]));
    assert!(table.lines().nth(1).unwrap().contains("203.0.113.77 is inside it"), "{table}");
    let found = rows(&ok(&ns.banwarden(&["list", "198.51.100.9", "--json"])));
    assert_eq!((found[0]["IP"].as_str(), found[0]["set"].as_str()), (Some("198.51.100.0/24"), Some("lnet4")));
    assert_eq!((found[0]["in_kernel"].as_bool(), found[0]["seconds_left_known"].as_bool()), (Some(true), Some(false)));
    assert!(found[0]["seconds_left"].is_null(), "ipset test tells no time: none is made up");

    // Not banned.
    assert_eq!(ok(&ns.banwarden(&["list", "192.0.2.8"])), "192.0.2.8 is not banned\n");
    assert_eq!(ok(&ns.banwarden(&["list", "192.0.2.8", "--json"])), "");

    // Kernel-only elements: found in the sets the rules name, not in the store.
    let found = rows(&ok(&ns.banwarden(&["list", "10.9.8.7", "--json"])));
    assert_eq!(found.len(), 1);
    assert_eq!((found[0]["IP"].as_str(), found[0]["in_store"].as_bool()), (Some("10.9.0.0/16"), Some(false)));
    let table = ok(&ns.banwarden(&["list", "172.16.5.5"]));
    assert!(table.contains("lnet4") && table.contains("not in the store (will not survive a reboot)"), "{table}");

    // A stored ban the kernel lost says so.
    ns.nft_script("flush set ip banwarden net4");
    let table = ok(&ns.banwarden(&["list", "192.0.2.7"]));
    assert!(table.contains("not in the kernel set (banwarden boot restores it)"), "{table}");
}
