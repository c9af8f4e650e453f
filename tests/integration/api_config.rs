//! The API's configuration against the real kernel: `check --kernel`
//! checks the sets of `api.sets` like the rules' own, in a network
//! namespace of the test's own.

use super::bans::{ok, Netns};
use super::util::text;

#[test]
fn check_kernel_checks_the_api_sets_for_timeouts_and_networks() {
    let config = r#"{"api": {"http": ["unix:/run/banwarden-test/api.sock"],
        "sets": [{"target": "drop", "nftSetIPv4": "banwarden ban4", "nftSetIPv6": "ip6 banwarden api6"},
                 {"target": "accept", "chain": "forward", "ipSetIPv4": "bwtest_allow4"}]},
      "actions": {"a": [{"action": "action_noop"}]}, "storage": "STORAGE"}"#;
    let Some(ns) = Netns::new(config) else { return };
    ns.nft_script("table ip6 banwarden { set api6 { type ipv6_addr; flags interval, timeout; }; }");
    ok(&ns.banwarden(&["check"]));
    let out = ns.banwarden(&["check", "--kernel"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let expected = [
        // ban4 has timeouts but takes single addresses only, and a request may name a network.
        r#"nftables set "ip banwarden ban4" takes single addresses only, but it receives networks here"#,
        r#"(used at api.sets[0])"#,
        r#"ipset "bwtest_allow4" does not exist; create it with: ipset create bwtest_allow4 hash:net family inet timeout 0 maxelem 1048576 (used at api.sets[1])"#,
    ];
    for line in expected {
        assert!(stderr.contains(line), "missing {line:?} in:\n{stderr}");
    }
    assert!(stderr.contains("kernel: 2 set problem(s)"), "api6 is suitable: {stderr}");
}
