//! `list` and `list ADDRESS` in the ban service, against the fake kernel:
//! one lookup per set for an address, and large sets left unread unless asked.

use std::time::Duration;

use super::tests::{ip, no_warnings, request, world, HOUR_US, NOW};
use super::*;
use crate::firewall::fake::Call;
use crate::firewall::Held;

#[test]
fn one_address_is_looked_up_in_each_set_concerned_never_dumped() {
    let set = SetRef::parse_nft("ip t s").unwrap();
    let nets = SetRef::parse_ipset("net4").unwrap();
    let other = SetRef::parse_nft("ip t other").unwrap();
    let mut w = world(&[&set, &nets, &other], &[]);
    w.bans.ban(&[request("192.0.2.1", &set, Some(3600)), request("198.51.100.0/24", &nets, None)], &mut no_warnings);
    // Added by hand: the kernel alone holds it.
    w.kernel.state().sets.get_mut(&other).unwrap().elements.insert(ip("192.0.2.1"), Some(Duration::from_secs(9)));
    let named = [set.clone(), nets.clone(), other.clone()];
    let before = w.kernel.calls().len();

    // An address banned: its stored ban, the kernel's element with its time
    // left, and the hand-made element of another set.
    let looks = w.bans.inspect(ip("192.0.2.1"), &named, &mut no_warnings).unwrap();
    let summary: Vec<(String, String, bool, Held)> = looks
        .iter()
        .map(|l| (l.set.to_string(), l.net.to_string(), l.until.is_some(), l.kernel.clone().unwrap()))
        .collect();
    let by = |e: &str, secs| Held::By { element: ip(e), left: Some(Duration::from_secs(secs)) };
    assert_eq!(
        summary,
        [
            ("ip t s".into(), "192.0.2.1".into(), true, by("192.0.2.1", 3600)),
            ("ip t other".into(), "192.0.2.1".into(), false, by("192.0.2.1", 9)),
        ]
    );
    assert_eq!(looks[0].until, Some(Until::At(NOW + HOUR_US)));

    // An address inside a banned network: the network's ban, and ipset's
    // answer, which says held and no more.
    let looks = w.bans.inspect(ip("198.51.100.7"), &named, &mut no_warnings).unwrap();
    assert_eq!(looks.len(), 1, "{looks:?}");
    assert_eq!((looks[0].net, &looks[0].set, looks[0].until), (ip("198.51.100.0/24"), &nets, Some(Until::Forever)));
    assert_eq!(looks[0].kernel.as_ref().unwrap(), &Held::Matched);

    // Not banned anywhere.
    assert!(w.bans.inspect(ip("203.0.113.1"), &named, &mut no_warnings).unwrap().is_empty());

    // A stored ban missing from the kernel says so.
    w.kernel.flush(&set);
    let looks = w.bans.inspect(ip("192.0.2.1"), &named, &mut no_warnings).unwrap();
    assert_eq!(looks[0].kernel.as_ref().unwrap(), &Held::No);

    let calls = &w.kernel.calls()[before..];
    assert!(calls.iter().all(|c| matches!(c, Call::Lookup(..))), "lookups only, no dump: {calls:?}");
    assert_eq!(calls.len(), 4 * named.len(), "one lookup per set and address");
}

#[test]
fn a_large_set_is_read_only_when_asked_and_says_so() {
    let small = SetRef::parse_nft("ip t small").unwrap();
    let large = SetRef::parse_ipset("large4").unwrap();
    let mut w = world(&[&small, &large], &[]);
    w.bans.ban(&[request("192.0.2.1", &small, None), request("192.0.2.2", &large, None)], &mut no_warnings);
    {
        let mut state = w.kernel.state();
        let held = &mut state.sets.get_mut(&large).unwrap().elements;
        for i in 0..=CHEAP_IPSET as u32 {
            held.insert(Network::host(std::net::IpAddr::V4((0x0a00_0000 + i).into())), None);
        }
    }
    let named = [small.clone(), large.clone()];
    let cheap = w.bans.inventory(&named, KernelRead::Cheap, &mut no_warnings).unwrap();
    assert_eq!(cheap.unread, [(large.clone(), Size::Kernel(CHEAP_IPSET + 2))]);
    assert!(!w.kernel.calls().contains(&Call::List(large.clone())), "not dumped");
    let rows: Vec<(String, bool, bool)> =
        cheap.rows.iter().map(|r| (r.ip.to_string(), r.checked, r.left.is_some())).collect();
    assert_eq!(rows, [("192.0.2.1".into(), true, true), ("192.0.2.2".into(), false, false)], "store only for large4");

    let all = w.bans.inventory(&named, KernelRead::All, &mut no_warnings).unwrap();
    assert!(all.unread.is_empty());
    assert_eq!(all.rows.len(), CHEAP_IPSET + 3, "every kernel element, the hand-made ones too");
    assert!(all.rows.iter().all(|r| r.checked));
}
