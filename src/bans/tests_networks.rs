//! Networks through the ban service, over the fake kernel (which refuses an
//! overlapping nftables element as an interval set does) and a real store in
//! a temporary directory: what the kernel is sent when bans hold one
//! another, what unban says and lets back in, and the never-ban and
//! no-shrink rules for networks. No root.

use std::time::Duration;

use super::*;
use crate::firewall::fake::Call;

const HOUR: Option<u64> = Some(3_600);
const DAY: Option<u64> = Some(86_400);

use super::tests::{ip as net, no_warnings, request, world, World, HOUR_US, NOW};

fn nft_set() -> SetRef {
    SetRef::parse_nft("inet banwarden ssh_net4").unwrap()
}

impl World {
    fn ban(&mut self, target: &str, set: &SetRef, seconds: Option<u64>) -> Outcome {
        self.bans.ban(&[request(target, set, seconds)], &mut no_warnings).remove(0)
    }

    fn unban(&mut self, target: &str, set: &SetRef) -> Lifted {
        let mut lifted = self.bans.unban(net(target), UnbanFrom::Set(set.clone()), &mut no_warnings).unwrap();
        assert_eq!(lifted.len(), 1, "{lifted:?}");
        lifted.remove(0)
    }

    fn held(&self, set: &SetRef) -> Vec<Network> {
        self.kernel.held(set)
    }
}

fn nets(list: &[&str]) -> Vec<Network> {
    list.iter().map(|s| net(s)).collect()
}

#[test]
fn an_address_inside_a_banned_network_is_stored_not_sent() {
    let set = nft_set();
    let mut w = world(&[&set], &[]);
    assert!(matches!(w.ban("203.0.113.0/24", &set, None), Outcome::Banned(Until::Forever)));
    let calls = w.kernel.calls().len();
    let outcome = w.ban("203.0.113.7", &set, HOUR);
    assert!(matches!(outcome, Outcome::Banned(Until::At(t)) if t == NOW + HOUR_US), "{outcome:?}");
    assert_eq!(w.held(&set), nets(&["203.0.113.0/24"]), "only the network in the kernel");
    // Nothing went to the kernel for it (an empty batch at most).
    for call in &w.kernel.calls()[calls..] {
        assert!(matches!(call, Call::Add(sent) if sent.is_empty()), "{call:?}");
    }
    assert_eq!(w.bans.lookup(net("203.0.113.7"), &mut no_warnings).unwrap(), [(set.clone(), Until::At(NOW + HOUR_US))]);
    let inventory = w.bans.inventory(std::slice::from_ref(&set), KernelRead::Cheap, &mut no_warnings).unwrap();
    let row = inventory.rows.iter().find(|r| r.ip == net("203.0.113.7")).expect("listed");
    assert_eq!(row.covered_by, Some(net("203.0.113.0/24")));
    assert_eq!(row.left, None, "not in the kernel itself");
    let outer = inventory.rows.iter().find(|r| r.ip == net("203.0.113.0/24")).expect("listed");
    assert_eq!((outer.covered_by, outer.left), (None, Some(None)));
}

#[test]
fn a_network_over_banned_addresses_replaces_them_in_the_kernel() {
    for set in [nft_set(), SetRef::parse_ipset("ssh_net4").unwrap()] {
        let mut w = world(&[&set], &[]);
        w.bans.ban(&[request("203.0.113.7", &set, HOUR), request("203.0.113.8", &set, None)], &mut no_warnings);
        w.ban("198.51.100.1", &set, None);
        let before = w.kernel.calls().len();
        let outcome = w.ban("203.0.113.0/24", &set, DAY);
        assert!(matches!(outcome, Outcome::Banned(_)), "{set}: {outcome:?}");
        assert_eq!(w.held(&set), nets(&["198.51.100.1", "203.0.113.0/24"]), "{set}");
        // nftables: out before the network goes in (the interval set would
        // refuse the overlap); ipset: after (never out of the set meanwhile).
        let calls = &w.kernel.calls()[before..];
        let delete = Call::Delete(set.clone(), nets(&["203.0.113.7", "203.0.113.8"]));
        let add_at = calls.iter().position(|c| matches!(c, Call::Add(a) if !a.is_empty())).expect("added");
        let delete_at = calls.iter().position(|c| *c == delete).unwrap_or_else(|| panic!("{set}: {calls:?}"));
        match set.backend() {
            Backend::Nft => assert!(delete_at < add_at, "{calls:?}"),
            Backend::Ipset => assert!(delete_at > add_at, "{calls:?}"),
        }
        // The covered bans stay stored.
        assert_eq!(w.bans.lookup(net("203.0.113.8"), &mut no_warnings).unwrap().len(), 1);
    }
}

#[test]
fn a_covered_ban_outliving_its_network_is_let_in_when_it_ends() {
    let set = nft_set();
    let mut w = world(&[&set], &[]);
    w.ban("2001:db8:1:2::/64", &set, HOUR);
    w.ban("2001:db8:1:2::7", &set, DAY);
    w.ban("2001:db8:1:2::8", &set, Some(1_800)); // ends before the network
    assert_eq!(w.held(&set), nets(&["2001:db8:1:2::/64"]));
    assert_eq!(w.bans.next_uncover(), Some(NOW + HOUR_US));
    // Not yet.
    w.clock.advance(HOUR_US - 1);
    assert_eq!(w.bans.uncover(&mut no_warnings).unwrap(), 0);
    assert_eq!(w.held(&set), nets(&["2001:db8:1:2::/64"]));
    // The network has ended: its element goes (the fake does not expire
    // elements; the kernel may not have yet either), the day-long ban
    // comes in with the time it has left.
    w.clock.advance(1);
    assert_eq!(w.bans.uncover(&mut no_warnings).unwrap(), 1);
    assert_eq!(w.held(&set), nets(&["2001:db8:1:2::7"]));
    let left = w.kernel.state().sets[&set].elements[&net("2001:db8:1:2::7")];
    assert_eq!(left, Some(Duration::from_secs(86_400 - 3_600)));
    assert_eq!(w.bans.next_uncover(), None);
}

#[test]
fn unban_of_an_address_inside_a_network_names_the_network() {
    let set = nft_set();
    let mut w = world(&[&set], &[]);
    w.ban("203.0.113.0/24", &set, DAY);
    w.ban("203.0.113.7", &set, HOUR);
    let before = w.kernel.calls().len();
    let lifted = w.unban("203.0.113.7", &set);
    assert!(lifted.was_stored && lifted.kernel.is_ok(), "{lifted:?}");
    assert_eq!(lifted.still_covered.map(|r| r.net), Some(net("203.0.113.0/24")));
    assert!(w.kernel.calls()[before..].iter().all(|c| !matches!(c, Call::Delete(..))), "kernel untouched");
    assert_eq!(w.held(&set), nets(&["203.0.113.0/24"]));
    assert!(w.bans.lookup(net("203.0.113.7"), &mut no_warnings).unwrap().is_empty(), "its record is gone");
    // An address never banned itself: the same answer, nothing stored.
    let lifted = w.unban("203.0.113.99", &set);
    assert!(!lifted.was_stored);
    assert_eq!(lifted.still_covered.map(|r| r.net), Some(net("203.0.113.0/24")));
}

#[test]
fn unban_of_the_network_lets_the_covered_bans_in() {
    let set = nft_set();
    let mut w = world(&[&set], &[]);
    w.ban("203.0.113.0/24", &set, None);
    w.bans.ban(
        &[
            request("203.0.113.7", &set, HOUR),
            request("203.0.113.64/26", &set, DAY),
            request("203.0.113.70", &set, None),
        ],
        &mut no_warnings,
    );
    assert_eq!(w.held(&set), nets(&["203.0.113.0/24"]));
    let lifted = w.unban("203.0.113.0/24", &set);
    assert!(lifted.was_stored && lifted.still_covered.is_none() && lifted.kernel.is_ok(), "{lifted:?}");
    // The outermost of what it covered: the /26 holds .70.
    assert_eq!(lifted.let_in, 2);
    assert_eq!(w.held(&set), nets(&["203.0.113.7", "203.0.113.64/26"]));
    let left = w.kernel.state().sets[&set].elements[&net("203.0.113.7")];
    assert_eq!(left, Some(Duration::from_secs(3_600)));
    // .70 outlives the /26: let in when the /26 ends.
    assert_eq!(w.bans.next_uncover(), Some(NOW + 24 * HOUR_US));
}

#[test]
fn a_network_holding_a_never_ban_address_is_refused() {
    let set = nft_set();
    let mut w = world(&[&set], &["192.0.2.10", "2001:db8:0:1::1"]);
    for target in ["192.0.2.0/24", "192.0.0.0/16", "2001:db8::/48", "2001:db8:0:1::/64"] {
        let outcome = w.ban(target, &set, HOUR);
        assert!(matches!(outcome, Outcome::Refused(Refusal::NeverBan)), "{target}: {outcome:?}");
    }
    // Beside it: banned.
    assert!(matches!(w.ban("192.0.2.0/29", &set, HOUR), Outcome::Banned(_)));
    assert_eq!(w.held(&set), nets(&["192.0.2.0/29"]));
    assert!(w.bans.lookup(net("192.0.2.0/24"), &mut no_warnings).unwrap().is_empty(), "nothing stored");
}

#[test]
fn restore_sends_only_the_outermost_bans() {
    let set = nft_set();
    let six = SetRef::parse_nft("inet banwarden ssh_net6").unwrap();
    let mut w = world(&[&set, &six], &[]);
    w.bans.ban(
        &[
            request("203.0.113.7", &set, HOUR),
            request("203.0.113.0/24", &set, DAY),
            request("203.0.113.128/25", &set, None),
            request("198.51.100.1", &set, None),
            request("2001:db8:1:2::9", &six, None),
            request("2001:db8:1::/48", &six, HOUR),
        ],
        &mut no_warnings,
    );
    w.kernel.flush(&set);
    w.kernel.flush(&six);
    let report = w.bans.restore_all(&mut |_, _, _| {}, &mut no_warnings).unwrap();
    assert_eq!(report.restored, 3, "{report:?}");
    assert_eq!(report.covered, 3, "{report:?}");
    assert!(report.failed.is_empty(), "{report:?}");
    assert_eq!(w.held(&set), nets(&["198.51.100.1", "203.0.113.0/24"]));
    assert_eq!(w.held(&six), nets(&["2001:db8:1::/48"]));
    // The permanent /25 and the permanent IPv6 address outlive their networks.
    assert_eq!(w.bans.next_uncover(), Some(NOW + HOUR_US));
}

#[test]
fn a_network_ban_never_shrinks_unless_replaced() {
    let set = nft_set();
    let mut w = world(&[&set], &[]);
    w.ban("2001:db8:1:2::/64", &set, None);
    let outcome = w.ban("2001:db8:1:2::/64", &set, HOUR);
    assert!(matches!(outcome, Outcome::Kept(Until::Forever)), "{outcome:?}");
    assert_eq!(w.kernel.state().sets[&set].elements[&net("2001:db8:1:2::/64")], None, "still permanent");
    w.ban("203.0.113.0/24", &set, DAY);
    let outcome = w.ban("203.0.113.0/24", &set, HOUR);
    assert!(matches!(outcome, Outcome::Kept(Until::At(t)) if t == NOW + 24 * HOUR_US), "{outcome:?}");
    // Shortening is explicit.
    let mut shorter = request("203.0.113.0/24", &set, HOUR);
    shorter.replace = true;
    let outcome = w.bans.ban(&[shorter], &mut no_warnings).remove(0);
    assert!(matches!(outcome, Outcome::Banned(Until::At(t)) if t == NOW + HOUR_US), "{outcome:?}");
    assert_eq!(w.kernel.state().sets[&set].elements[&net("203.0.113.0/24")], Some(Duration::from_secs(3_600)));
}
