//! The store's records in memory, keyed by address or network in order,
//! with their ends in order (as mini-redis's `db.rs` keeps its
//! expirations).
//!
//! Looking up one address (the no-shrink rule, `list ADDRESS`, an API's
//! `GET`) is one tree lookup; finding what has ended is a walk from the
//! start of the ordered ends, touching only what ended. Networks sort just
//! before the addresses inside them, so what a network holds is one range
//! of the tree, and the networks that hold an address are found by one
//! lookup per prefix length in use (a handful). An address is in one set
//! nearly always, so each holds a short list of [`Slot`]s.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use crate::vocab::{Network, Reason, SetRef, Until};

/// One ban of an address: its set, its end, when it was decided (µs;
/// 0: not known, as in Pyruse's records), who decided it and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub set: SetRef,
    pub until: Until,
    pub start: u64,
    pub by: Option<Arc<str>>,
    pub why: Option<Arc<Reason>>,
}

#[derive(Default)]
pub struct Index {
    by_ip: BTreeMap<Network, Vec<Slot>>,
    /// How many keys have each (family is IPv6, prefix length) below the
    /// full length: the lengths [`covering`](Index::covering) looks up.
    prefixes: BTreeMap<(bool, u8), usize>,
    /// `(end in µs, address, set)` of every timed record.
    ends: BTreeSet<(u64, Network, SetRef)>,
    len: usize,
}

impl Index {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        *self = Index::default();
    }

    pub fn reserve(&mut self, _n: usize) {}

    /// Every set `ip` is stored in, with its end (live or not).
    pub fn of(&self, ip: Network) -> &[Slot] {
        self.by_ip.get(&ip).map_or(&[], Vec::as_slice)
    }

    /// Records a ban, replacing the end of the same (address, set); returns
    /// the end it had.
    pub fn insert(&mut self, ip: Network, slot: Slot) -> Option<Until> {
        let (set, until) = (slot.set.clone(), slot.until);
        let sets = self.by_ip.entry(ip).or_insert_with(|| {
            if !ip.is_host() {
                *self.prefixes.entry((ip.is_ipv6(), ip.prefix_len())).or_default() += 1;
            }
            Vec::with_capacity(1)
        });
        let old = match sets.iter_mut().find(|held| held.set == set) {
            Some(held) => Some(std::mem::replace(held, slot).until),
            None => {
                sets.push(slot);
                self.len += 1;
                None
            }
        };
        if let Some(Until::At(t)) = old {
            self.ends.remove(&(t, ip, set.clone()));
        }
        if let Until::At(t) = until {
            self.ends.insert((t, ip, set));
        }
        old
    }

    /// Forgets a ban; returns what it was.
    pub fn remove(&mut self, ip: Network, set: &SetRef) -> Option<Slot> {
        let sets = self.by_ip.get_mut(&ip)?;
        let at = sets.iter().position(|slot| slot.set == *set)?;
        let slot = sets.swap_remove(at);
        if sets.is_empty() {
            self.by_ip.remove(&ip);
            let key = (ip.is_ipv6(), ip.prefix_len());
            if let Some(n) = self.prefixes.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    self.prefixes.remove(&key);
                }
            }
        }
        if let Until::At(t) = slot.until {
            self.ends.remove(&(t, ip, set.clone()));
        }
        self.len -= 1;
        Some(slot)
    }

    /// Forgets the records that ended at or before `now_us`; how many.
    pub fn drop_ended(&mut self, now_us: u64) -> usize {
        let mut dropped = 0;
        while let Some((t, ip, set)) = self.ends.first().cloned() {
            if t > now_us {
                break;
            }
            self.remove(ip, &set);
            dropped += 1;
        }
        dropped
    }

    /// When the next timed record ends.
    pub fn next_end(&self) -> Option<u64> {
        self.ends.first().map(|(t, _, _)| *t)
    }

    /// The records of the networks that hold `net` (itself excluded),
    /// largest first.
    pub fn covering(&self, net: Network) -> impl Iterator<Item = (Network, &Slot)> + '_ {
        self.prefixes
            .keys()
            .filter(move |(v6, len)| *v6 == net.is_ipv6() && *len < net.prefix_len())
            .map(move |(_, len)| Network::of(net.first(), *len))
            .filter_map(move |outer| self.by_ip.get(&outer).map(move |slots| (outer, slots)))
            .flat_map(|(outer, slots)| slots.iter().map(move |slot| (outer, slot)))
    }

    /// The records of the addresses and networks inside `net` (itself
    /// excluded), in order.
    pub fn inside(&self, net: Network) -> impl Iterator<Item = (Network, &Slot)> + '_ {
        let (from, to) = match (net.masked(), Network::of(net.last(), net.max_len())) {
            (Network::V4 { addr: first, .. }, Network::V4 { addr: last, .. }) => {
                (Network::V4 { addr: first, len: 0 }, Network::V4 { addr: last, len: u8::MAX })
            }
            (Network::V6 { addr: first, .. }, Network::V6 { addr: last, .. }) => {
                (Network::V6 { addr: first, len: 0 }, Network::V6 { addr: last, len: u8::MAX })
            }
            _ => unreachable!("one family"),
        };
        self.by_ip
            .range(from..=to)
            .filter(move |(inner, _)| **inner != net && net.covers(inner))
            .flat_map(|(inner, slots)| slots.iter().map(move |slot| (*inner, slot)))
    }

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (Network, &Slot)> + '_ {
        self.by_ip.iter().flat_map(|(ip, sets)| sets.iter().map(move |slot| (*ip, slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> Network {
        Network::target(s).unwrap()
    }

    fn slot(set: &SetRef, until: Until) -> Slot {
        Slot { set: set.clone(), until, start: 1, by: None, why: None }
    }

    fn get(index: &Index, ip: Network, set: &SetRef) -> Option<Until> {
        index.of(ip).iter().find(|slot| slot.set == *set).map(|slot| slot.until)
    }

    #[test]
    fn keyed_by_address_with_ends_in_order() {
        let a = SetRef::parse_nft("ip t a").unwrap();
        let b = SetRef::parse_nft("ip t b").unwrap();
        let mut index = Index::default();
        assert_eq!(index.insert(ip("192.0.2.1"), slot(&a, Until::At(30))), None);
        assert_eq!(index.insert(ip("192.0.2.1"), slot(&b, Until::Forever)), None);
        assert_eq!(index.insert(ip("192.0.2.2"), slot(&a, Until::At(10))), None);
        assert_eq!(index.len(), 3);
        assert_eq!(index.of(ip("192.0.2.1")).len(), 2);
        assert_eq!(get(&index, ip("192.0.2.1"), &b), Some(Until::Forever));
        assert_eq!(index.next_end(), Some(10));
        // A re-ban moves its end.
        assert_eq!(index.insert(ip("192.0.2.2"), slot(&a, Until::At(40))), Some(Until::At(10)));
        assert_eq!(index.next_end(), Some(30));
        assert_eq!(index.drop_ended(35), 1, "only 192.0.2.1 in a ended");
        assert_eq!(get(&index, ip("192.0.2.1"), &a), None);
        assert_eq!(get(&index, ip("192.0.2.1"), &b), Some(Until::Forever), "permanent bans never end");
        assert_eq!(index.remove(ip("192.0.2.2"), &a), Some(slot(&a, Until::At(40))));
        assert_eq!(index.next_end(), None);
        assert_eq!(index.len(), 1);
        assert!(index.of(ip("192.0.2.2")).is_empty());
    }

    #[test]
    fn networks_find_what_they_hold_and_what_holds_them() {
        let a = SetRef::parse_nft("ip t a").unwrap();
        let mut index = Index::default();
        for (key, end) in [("10.0.0.0/8", 1), ("10.1.0.0/16", 2), ("10.1.2.3", 3), ("10.2.0.9", 4), ("11.0.0.1", 5)] {
            index.insert(ip(key), slot(&a, Until::At(end)));
        }
        let keys = |it: Vec<(Network, &Slot)>| it.into_iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        assert_eq!(keys(index.covering(ip("10.1.2.3")).collect()), ["10.0.0.0/8", "10.1.0.0/16"]);
        assert_eq!(keys(index.covering(ip("10.1.0.0/16")).collect()), ["10.0.0.0/8"]);
        assert!(index.covering(ip("11.0.0.1")).next().is_none());
        assert_eq!(keys(index.inside(ip("10.0.0.0/8")).collect()), ["10.1.0.0/16", "10.1.2.3", "10.2.0.9"]);
        assert_eq!(keys(index.inside(ip("10.1.0.0/16")).collect()), ["10.1.2.3"]);
        assert!(index.inside(ip("10.1.2.3")).next().is_none());
        index.remove(ip("10.0.0.0/8"), &a);
        assert!(index.covering(ip("10.2.0.9")).next().is_none(), "its prefix length is no longer looked up");
    }
}
