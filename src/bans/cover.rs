//! Networks and the addresses inside them: what the kernel holds of a set
//! that has both.
//!
//! An nftables interval set refuses an element that overlaps another one
//! (a network over a banned address, an address inside a banned network),
//! so the kernel holds only the **outermost** live bans of each set: those
//! no other live ban of the set covers. A covered ban stays in the store
//! and is shown by `list`; when it outlives the network that covers it, it
//! is **deferred**: it goes into the kernel when that network ends or is
//! unbanned ([`Bans::uncover`](super::Bans::uncover)). ipset's `hash:net`
//! would take overlaps, but both backends follow the same rule, so that a
//! set's contents never depend on its backend.
//!
//! Prefixes nest or are disjoint, and a network sorts just before the
//! addresses inside it, so one sweep over a set's records in order finds the
//! outermost ones.

use std::collections::BTreeSet;

use crate::store::{Record, Until};
use crate::vocab::{Network, SetRef};

/// A network whose end lets covered bans into the kernel: (its end in µs,
/// its set, the network).
pub type Deferral = (u64, SetRef, Network);

/// What the kernel should hold of some records.
#[derive(Debug, Default)]
pub struct Plan<'a> {
    /// The outermost records: what to send.
    pub send: Vec<&'a Record>,
    /// How many records are inside another one (not sent).
    pub covered: usize,
    /// The outermost networks that cover a record outliving them.
    pub deferred: Vec<Deferral>,
}

/// Sorts `records` by set then network, and splits them into what the
/// kernel holds and what it does not (see the module doc). What is sent is
/// `records` itself, filtered in place: a million records cost one list.
pub fn plan(mut records: Vec<&Record>) -> Plan<'_> {
    records.sort_unstable_by(|a, b| (&a.set, a.net).cmp(&(&b.set, b.net)));
    let (mut covered, mut deferred) = (0, Vec::new());
    let mut outer: Option<&Record> = None;
    let mut outlived = false;
    records.retain(|r| match outer {
        Some(o) if o.set == r.set && o.net.covers(&r.net) => {
            covered += 1;
            outlived |= outlives(r.until, o.until);
            false
        }
        _ => {
            if let (Some(o), true) = (outer, outlived) {
                deferred.extend(deferral(o));
            }
            outer = Some(*r);
            outlived = false;
            true
        }
    });
    if let (Some(o), true) = (outer, outlived) {
        deferred.extend(deferral(o));
    }
    Plan { send: records, covered, deferred }
}

/// Whether a ban ending at `inner` is still live when one ending at `outer`
/// has ended.
pub fn outlives(inner: Until, outer: Until) -> bool {
    inner.later(outer) != outer
}

/// The deferral an outermost record makes, unless it never ends.
pub fn deferral(outer: &Record) -> Option<Deferral> {
    match outer.until {
        Until::At(t) => Some((t, outer.set.clone(), outer.net)),
        Until::Forever => None,
    }
}

/// The networks due to let covered bans in, by end.
#[derive(Debug, Default)]
pub struct Deferred(BTreeSet<Deferral>);

impl Deferred {
    pub fn add(&mut self, items: impl IntoIterator<Item = Deferral>) {
        self.0.extend(items);
    }

    /// When the next one is due.
    pub fn next(&self) -> Option<u64> {
        self.0.first().map(|(t, _, _)| *t)
    }

    /// Takes those due at `now_us` (an unbanned network is due at once:
    /// its end is given as 0).
    pub fn take_due(&mut self, now_us: u64) -> Vec<Deferral> {
        let mut due = Vec::new();
        while self.0.first().is_some_and(|(t, _, _)| *t <= now_us) {
            due.extend(self.0.pop_first());
        }
        due
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(net: &str, set: &SetRef, until: Until) -> Record {
        Record { net: Network::target(net).unwrap(), set: set.clone(), until, start: 1, by: None, why: None }
    }

    #[test]
    fn the_kernel_gets_the_outermost_bans_and_deferrals_for_the_rest() {
        let a = SetRef::parse_nft("ip t a").unwrap();
        let b = SetRef::parse_nft("ip t b").unwrap();
        let records = vec![
            rec("10.0.0.5", &a, Until::At(50)),      // outlives its network
            rec("10.0.0.0/24", &a, Until::At(40)),   // outermost
            rec("10.0.0.6", &a, Until::At(30)),      // ends first: never needed
            rec("10.0.0.7", &b, Until::At(30)),      // another set: its own
            rec("10.0.1.1", &a, Until::Forever),     // outside the /24
            rec("10.0.1.0/30", &a, Until::At(10)),   // covers 10.0.1.1, which outlives it
            rec("192.0.2.0/24", &a, Until::Forever), // never ends: no deferral
            rec("192.0.2.9", &a, Until::At(99)),
        ];
        let plan = plan(records.iter().collect());
        let sent: Vec<String> = plan.send.iter().map(|r| format!("{} {}", r.set, r.net)).collect();
        assert_eq!(sent, ["ip t a 10.0.0.0/24", "ip t a 10.0.1.0/30", "ip t a 192.0.2.0/24", "ip t b 10.0.0.7"]);
        assert_eq!(plan.covered, 4);
        let net = |s: &str| Network::target(s).unwrap();
        assert_eq!(plan.deferred, [(40, a.clone(), net("10.0.0.0/24")), (10, a, net("10.0.1.0/30"))]);
    }

    #[test]
    fn deferrals_come_due_in_order() {
        let a = SetRef::parse_nft("ip t a").unwrap();
        let net = Network::target("10.0.0.0/24").unwrap();
        let mut d = Deferred::default();
        d.add([(20, a.clone(), net), (10, a.clone(), net), (20, a.clone(), net)]);
        assert_eq!(d.len(), 2);
        assert_eq!(d.next(), Some(10));
        assert_eq!(d.take_due(15), [(10, a.clone(), net)]);
        assert_eq!(d.take_due(15), []);
        assert_eq!(d.take_due(20), [(20, a, net)]);
        assert!(d.is_empty());
    }

    #[test]
    fn ends_compare_with_forever_latest() {
        assert!(outlives(Until::At(5), Until::At(4)));
        assert!(!outlives(Until::At(4), Until::At(4)));
        assert!(outlives(Until::Forever, Until::At(4)));
        assert!(!outlives(Until::At(9), Until::Forever));
    }
}
