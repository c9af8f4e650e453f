//! The store's records in memory, keyed by address, with their ends in
//! order (as mini-redis's `db.rs` keeps its expirations).
//!
//! Looking up one address (the no-shrink rule, `list ADDRESS`, an API's
//! `GET`) is one hash lookup; finding what has ended is a walk from the
//! start of the ordered set, touching only what ended. An address is in one
//! set nearly always, so each holds a short list of [`Slot`]s.

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;

use crate::vocab::{SetRef, Until};

/// One ban of an address: its set, its end, and when it was decided (µs;
/// 0: not known, as in Pyruse's records).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub set: SetRef,
    pub until: Until,
    pub start: u64,
}

#[derive(Default)]
pub struct Index {
    by_ip: HashMap<IpAddr, Vec<Slot>>,
    /// `(end in µs, address, set)` of every timed record.
    ends: BTreeSet<(u64, IpAddr, SetRef)>,
    len: usize,
}

impl Index {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn clear(&mut self) {
        *self = Index::default();
    }

    pub fn reserve(&mut self, n: usize) {
        self.by_ip.reserve(n);
    }

    /// Every set `ip` is stored in, with its end (live or not).
    pub fn of(&self, ip: IpAddr) -> &[Slot] {
        self.by_ip.get(&ip).map_or(&[], Vec::as_slice)
    }

    /// Records a ban, replacing the end of the same (address, set); returns
    /// the end it had.
    pub fn insert(&mut self, ip: IpAddr, set: &SetRef, until: Until, start: u64) -> Option<Until> {
        let sets = self.by_ip.entry(ip).or_insert_with(|| Vec::with_capacity(1));
        let old = match sets.iter_mut().find(|slot| slot.set == *set) {
            Some(slot) => {
                slot.start = start;
                Some(std::mem::replace(&mut slot.until, until))
            }
            None => {
                sets.push(Slot { set: set.clone(), until, start });
                self.len += 1;
                None
            }
        };
        if let Some(Until::At(t)) = old {
            self.ends.remove(&(t, ip, set.clone()));
        }
        if let Until::At(t) = until {
            self.ends.insert((t, ip, set.clone()));
        }
        old
    }

    /// Forgets a ban; returns its end and start.
    pub fn remove(&mut self, ip: IpAddr, set: &SetRef) -> Option<(Until, u64)> {
        let sets = self.by_ip.get_mut(&ip)?;
        let at = sets.iter().position(|slot| slot.set == *set)?;
        let Slot { until, start, .. } = sets.swap_remove(at);
        if sets.is_empty() {
            self.by_ip.remove(&ip);
        }
        if let Until::At(t) = until {
            self.ends.remove(&(t, ip, set.clone()));
        }
        self.len -= 1;
        Some((until, start))
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

    /// Every record, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (IpAddr, &Slot)> + '_ {
        self.by_ip.iter().flat_map(|(ip, sets)| sets.iter().map(move |slot| (*ip, slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn get(index: &Index, ip: IpAddr, set: &SetRef) -> Option<Until> {
        index.of(ip).iter().find(|slot| slot.set == *set).map(|slot| slot.until)
    }

    #[test]
    fn keyed_by_address_with_ends_in_order() {
        let a = SetRef::parse_nft("ip t a").unwrap();
        let b = SetRef::parse_nft("ip t b").unwrap();
        let mut index = Index::default();
        assert_eq!(index.insert(ip("192.0.2.1"), &a, Until::At(30), 1), None);
        assert_eq!(index.insert(ip("192.0.2.1"), &b, Until::Forever, 1), None);
        assert_eq!(index.insert(ip("192.0.2.2"), &a, Until::At(10), 1), None);
        assert_eq!(index.len(), 3);
        assert_eq!(index.of(ip("192.0.2.1")).len(), 2);
        assert_eq!(get(&index, ip("192.0.2.1"), &b), Some(Until::Forever));
        assert_eq!(index.next_end(), Some(10));
        // A re-ban moves its end.
        assert_eq!(index.insert(ip("192.0.2.2"), &a, Until::At(40), 1), Some(Until::At(10)));
        assert_eq!(index.next_end(), Some(30));
        assert_eq!(index.drop_ended(35), 1, "only 192.0.2.1 in a ended");
        assert_eq!(get(&index, ip("192.0.2.1"), &a), None);
        assert_eq!(get(&index, ip("192.0.2.1"), &b), Some(Until::Forever), "permanent bans never end");
        assert_eq!(index.remove(ip("192.0.2.2"), &a), Some((Until::At(40), 1)));
        assert_eq!(index.next_end(), None);
        assert_eq!(index.len(), 1);
        assert!(index.of(ip("192.0.2.2")).is_empty());
    }
}
