//! The keys of one counter: a bounded table, cheap per key, that forgets
//! the least telling keys first when full.
//!
//! Each key lives in a slot of one vector (72 bytes: the key's text inline
//! up to 39 bytes, which covers every IPv4 and IPv6 address, its ticks, two
//! list links); an index of slot numbers (a hash table of `u32`, keyed by
//! the text with std's per-process random SipHash, so crafted keys cannot
//! make it degrade) finds them. A slot's number never changes while its key
//! lives, which lets a save walk the slots over many loop turns.
//!
//! Two lists order the keys by their last raise: *once*, keys that had a
//! single live tick then, and *more*, the others (several ticks, or in
//! grace). When the table is full, a new key makes room by forgetting the
//! head of *once* (the key raised once longest ago), and only when *once*
//! is empty the head of *more*. A spray of one-shot addresses therefore
//! only churns among its own kind, while an address that has failed twice
//! stays counted until its ticks expire: it is what reaches a threshold.
//!
//! Expired keys go without a full sweep: each change looks at the heads of
//! both lists (the oldest raises, which expire first when a counter keeps
//! its ticks for one duration) and at two slots of a rover that walks the
//! whole table (for mixed durations and grace), and drops the idle ones.

use std::collections::VecDeque;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;

/// Tick expiry meaning "never".
pub const NEVER: u64 = u64::MAX;
/// Longest key kept inline; longer ones have a box of their own.
const INLINE: usize = 39;
/// No slot: the end of a list.
const NIL: u32 = u32::MAX;
/// Heads of each list looked at per change, and slots of the rover.
const EXPIRE_HEADS: usize = 4;
const EXPIRE_ROVER: usize = 2;
/// Keys forgotten per new key while above the limit (after a reload
/// lowered it): the excess goes in steps, never in one long pause.
const SHRINK_STEP: usize = 8;

/// A key's text, inline when short; a longer one is kept in the table's
/// `long` vector and `bytes` holds its index there (an enum with a box
/// would take 48 bytes instead of 40).
#[derive(Clone, Copy, Debug)]
struct Key {
    len: u8,
    bytes: [u8; INLINE],
}

/// `Key::len` of a key kept in `long`.
const LONG: u8 = u8::MAX;

impl Key {
    const EMPTY: Key = Key { len: 0, bytes: [0; INLINE] };

    fn long_index(&self) -> Option<usize> {
        (self.len == LONG).then(|| u32::from_le_bytes(self.bytes[..4].try_into().expect("4 bytes")) as usize)
    }
}

/// The text of `key`, whose long keys are in `long`.
fn key_bytes<'a>(key: &'a Key, long: &'a [Box<str>]) -> &'a [u8] {
    match key.long_index() {
        Some(i) => long[i].as_bytes(),
        None => &key.bytes[..key.len as usize],
    }
}

/// A key's live ticks (expiry times in µs, sorted) and grace: one tick
/// inline, the rare key with more (or in grace) boxed.
#[derive(Debug, Default)]
pub enum Ticks {
    #[default]
    None,
    One(u64),
    Many(Box<Many>),
}

#[derive(Debug, Default)]
pub struct Many {
    pub ticks: VecDeque<u64>,
    /// Raises are ignored before this time.
    pub grace_until_us: u64,
}

impl Ticks {
    pub fn grace_until_us(&self) -> u64 {
        match self {
            Ticks::Many(many) => many.grace_until_us,
            _ => 0,
        }
    }

    /// The last expiry, if any tick.
    fn last(&self) -> Option<u64> {
        match self {
            Ticks::None => None,
            Ticks::One(t) => Some(*t),
            Ticks::Many(many) => many.ticks.back().copied(),
        }
    }

    /// Every tick, soonest first.
    pub fn iter(&self) -> impl Iterator<Item = u64> + '_ {
        let (one, many) = match self {
            Ticks::None => (None, None),
            Ticks::One(t) => (Some(*t), None),
            Ticks::Many(m) => (None, Some(m.ticks.iter().copied())),
        };
        one.into_iter().chain(many.into_iter().flatten())
    }

    pub fn is_idle(&self, now_us: u64) -> bool {
        self.grace_until_us() <= now_us && self.last().is_none_or(|t| t <= now_us)
    }

    /// Live ticks at `now_us` (0 during grace).
    pub fn value(&self, now_us: u64) -> usize {
        if now_us < self.grace_until_us() {
            return 0;
        }
        self.iter().filter(|&t| t > now_us).count()
    }

    /// From saved parts: ticks sorted, none expired by `now_us`, at most
    /// `max_ticks` (the latest).
    pub fn from_parts(mut ticks: Vec<u64>, grace_until_us: u64, now_us: u64, max_ticks: usize) -> Ticks {
        ticks.retain(|&t| t > now_us);
        ticks.sort_unstable();
        ticks.drain(..ticks.len().saturating_sub(max_ticks.max(1)));
        match (ticks.as_slice(), grace_until_us > now_us) {
            ([], false) => Ticks::None,
            ([t], false) => Ticks::One(*t),
            _ => Ticks::Many(Box::new(Many { ticks: ticks.into(), grace_until_us })),
        }
    }

    /// Adds a tick expiring at `expiry` (ticks of one counter may have
    /// different durations: kept sorted, so expired ones are in front),
    /// keeping the `max_ticks` that expire last; the number of live ticks.
    ///
    /// Dropping the soonest to expire makes the value at any later time
    /// the smaller of `max_ticks` and the true count: the ticks kept are
    /// the latest to expire, so as many of them are live as of all the
    /// ticks, up to `max_ticks`.
    fn add(&mut self, now_us: u64, expiry: u64, max_ticks: usize) -> usize {
        match std::mem::take(self) {
            Ticks::None => *self = Ticks::One(expiry),
            Ticks::One(t) if t <= now_us => *self = Ticks::One(expiry),
            Ticks::One(t) if max_ticks <= 1 => *self = Ticks::One(t.max(expiry)),
            Ticks::One(t) => {
                let pair = if t <= expiry { [t, expiry] } else { [expiry, t] };
                *self = Ticks::Many(Box::new(Many { ticks: pair.into(), grace_until_us: 0 }));
            }
            Ticks::Many(mut many) => {
                while many.ticks.front().is_some_and(|&t| t <= now_us) {
                    many.ticks.pop_front();
                }
                let at = many.ticks.partition_point(|&t| t <= expiry);
                many.ticks.insert(at, expiry);
                while many.ticks.len() > max_ticks.max(1) {
                    many.ticks.pop_front();
                }
                *self = Ticks::Many(many);
            }
        }
        self.value(now_us)
    }
}

/// Which list a slot is on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(u8)]
enum List {
    Once = 0,
    More = 1,
    /// A free slot (on the free list, through `next`).
    Free = 2,
}

#[derive(Debug)]
struct Slot {
    key: Key,
    ticks: Ticks,
    prev: u32,
    next: u32,
    list: List,
}

#[derive(Copy, Clone, Debug)]
struct Ends {
    head: u32,
    tail: u32,
}

#[derive(Debug)]
pub struct KeyTable {
    slots: Vec<Slot>,
    index: HashTable<u32>,
    hasher: RandomState,
    /// Keys longer than [`INLINE`], and the free places among them.
    long: Vec<Box<str>>,
    long_free: Vec<u32>,
    lists: [Ends; 2],
    free: u32,
    len: usize,
    rover: usize,
    max_keys: usize,
    /// Ticks a key keeps at most (the latest to expire; see [`Ticks::add`]).
    max_ticks: usize,
    /// Keys forgotten to make room (in the current episode; the owner
    /// resets it when told of the episode's end).
    pub evicted: u64,
    /// An eviction episode: keys were forgotten to make room, and the table
    /// has not been back under 90 % of its limit since.
    pub episode: bool,
}

impl KeyTable {
    pub fn new(max_keys: usize) -> KeyTable {
        KeyTable {
            slots: Vec::new(),
            index: HashTable::new(),
            hasher: RandomState::new(),
            long: Vec::new(),
            long_free: Vec::new(),
            lists: [Ends { head: NIL, tail: NIL }; 2],
            free: NIL,
            len: 0,
            rover: 0,
            max_keys: max_keys.max(1),
            max_ticks: usize::MAX,
            evicted: 0,
            episode: false,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn max_keys(&self) -> usize {
        self.max_keys
    }

    pub fn set_max_keys(&mut self, max_keys: usize) {
        self.max_keys = max_keys.max(1);
    }

    pub fn max_ticks(&self) -> usize {
        self.max_ticks
    }

    pub fn set_max_ticks(&mut self, max_ticks: usize) {
        self.max_ticks = max_ticks.max(1);
    }

    /// Number of slots, live or free: a save walks `0..slot_count()`.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The key and ticks in a slot, if it is live.
    pub fn slot(&self, slot: usize) -> Option<(&str, &Ticks)> {
        let s = self.slots.get(slot)?;
        let text = std::str::from_utf8(key_bytes(&s.key, &self.long)).expect("copied from a str");
        (s.list != List::Free).then_some((text, &s.ticks))
    }

    fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    fn find(&self, key: &str) -> Option<u32> {
        let (slots, long) = (&self.slots, &self.long);
        self.index
            .find(self.hash(key.as_bytes()), |&i| key_bytes(&slots[i as usize].key, long) == key.as_bytes())
            .copied()
    }

    pub fn get(&self, key: &str) -> Option<&Ticks> {
        self.find(key).map(|i| &self.slots[i as usize].ticks)
    }

    fn unlink(&mut self, i: u32) {
        let (prev, next, list) = {
            let s = &self.slots[i as usize];
            (s.prev, s.next, s.list)
        };
        let ends = &mut self.lists[list as usize];
        match prev {
            NIL => ends.head = next,
            p => self.slots[p as usize].next = next,
        }
        match next {
            NIL => self.lists[list as usize].tail = prev,
            n => self.slots[n as usize].prev = prev,
        }
    }

    fn push_back(&mut self, i: u32, list: List) {
        let tail = self.lists[list as usize].tail;
        let s = &mut self.slots[i as usize];
        s.list = list;
        s.prev = tail;
        s.next = NIL;
        match tail {
            NIL => self.lists[list as usize].head = i,
            t => self.slots[t as usize].next = i,
        }
        self.lists[list as usize].tail = i;
    }

    /// The list a key belongs on, after a change.
    fn list_for(ticks: &Ticks) -> List {
        match ticks {
            Ticks::None | Ticks::One(_) => List::Once,
            Ticks::Many(_) => List::More,
        }
    }

    fn remove_slot(&mut self, i: u32) {
        self.unlink(i);
        let key = self.slots[i as usize].key;
        let hash = self.hash(key_bytes(&key, &self.long));
        self.index.find_entry(hash, |&j| j == i).expect("a live slot is indexed").remove();
        if let Some(at) = key.long_index() {
            self.long[at] = Box::default();
            self.long_free.push(at as u32);
        }
        let s = &mut self.slots[i as usize];
        s.key = Key::EMPTY;
        s.ticks = Ticks::None;
        s.list = List::Free;
        s.next = self.free;
        self.free = i;
        self.len -= 1;
    }

    pub fn remove(&mut self, key: &str) {
        if let Some(i) = self.find(key) {
            self.remove_slot(i);
        }
    }

    /// Drops a few idle keys (see the module doc).
    fn expire_some(&mut self, now_us: u64) {
        for list in [List::Once, List::More] {
            for _ in 0..EXPIRE_HEADS {
                let head = self.lists[list as usize].head;
                if head == NIL || !self.slots[head as usize].ticks.is_idle(now_us) {
                    break;
                }
                self.remove_slot(head);
            }
        }
        for _ in 0..EXPIRE_ROVER {
            if self.slots.is_empty() {
                break;
            }
            self.rover = (self.rover + 1) % self.slots.len();
            let s = &self.slots[self.rover];
            if s.list != List::Free && s.ticks.is_idle(now_us) {
                self.remove_slot(self.rover as u32);
            }
        }
        if self.episode && self.len < self.max_keys - self.max_keys / 10 {
            self.episode = false;
        }
    }

    /// Forgets the least telling key (see the module doc).
    fn evict_one(&mut self) {
        let victim = match self.lists[List::Once as usize].head {
            NIL => self.lists[List::More as usize].head,
            once => once,
        };
        if victim != NIL {
            self.remove_slot(victim);
            self.evicted += 1;
            self.episode = true;
        }
    }

    /// The slot of `key`, made if new (forgetting others if full).
    fn slot_of(&mut self, key: &str, now_us: u64) -> u32 {
        self.expire_some(now_us);
        if let Some(i) = self.find(key) {
            return i;
        }
        let mut excess = (self.len + 1).saturating_sub(self.max_keys).min(SHRINK_STEP);
        while excess > 0 {
            self.evict_one();
            excess -= 1;
        }
        let slot = Slot { key: self.new_key(key), ticks: Ticks::None, prev: NIL, next: NIL, list: List::Once };
        let i = match self.free {
            NIL => {
                self.slots.push(slot);
                u32::try_from(self.slots.len() - 1).expect("fewer than 2^32 keys")
            }
            free => {
                self.free = self.slots[free as usize].next;
                self.slots[free as usize] = slot;
                free
            }
        };
        let hash = self.hash(key.as_bytes());
        let (slots, long, hasher) = (&self.slots, &self.long, &self.hasher);
        self.index.insert_unique(hash, i, |&j| hasher.hash_one(key_bytes(&slots[j as usize].key, long)));
        self.push_back(i, List::Once);
        self.len += 1;
        i
    }

    fn new_key(&mut self, text: &str) -> Key {
        if text.len() <= INLINE {
            let mut key = Key::EMPTY;
            key.len = text.len() as u8;
            key.bytes[..text.len()].copy_from_slice(text.as_bytes());
            return key;
        }
        let at = match self.long_free.pop() {
            Some(at) => {
                self.long[at as usize] = text.into();
                at
            }
            None => {
                self.long.push(text.into());
                u32::try_from(self.long.len() - 1).expect("fewer than 2^32 keys")
            }
        };
        let mut key = Key { len: LONG, bytes: [0; INLINE] };
        key.bytes[..4].copy_from_slice(&at.to_le_bytes());
        key
    }

    /// Re-files a changed key at the tail (most recent) of its list.
    fn refile(&mut self, i: u32) {
        self.unlink(i);
        let list = Self::list_for(&self.slots[i as usize].ticks);
        self.push_back(i, list);
    }

    /// Adds a tick expiring at `expiry`; the number of live ticks (0 during
    /// grace, when nothing is added).
    pub fn raise(&mut self, key: &str, now_us: u64, expiry: u64) -> usize {
        let i = self.slot_of(key, now_us);
        let ticks = &mut self.slots[i as usize].ticks;
        if now_us < ticks.grace_until_us() {
            return 0;
        }
        let value = ticks.add(now_us, expiry, self.max_ticks);
        self.refile(i);
        value
    }

    /// Drops the key's ticks; with a grace end, keeps the key to ignore
    /// raises until then.
    pub fn reset(&mut self, key: &str, now_us: u64, grace_until_us: Option<u64>) {
        match grace_until_us {
            Some(until) => {
                let i = self.slot_of(key, now_us);
                self.slots[i as usize].ticks =
                    Ticks::Many(Box::new(Many { ticks: VecDeque::new(), grace_until_us: until }));
                self.refile(i);
            }
            None => {
                self.expire_some(now_us);
                self.remove(key);
            }
        }
    }

    /// Puts back a saved key (at start or after a reload), unless idle.
    /// Whether it was put back.
    pub fn restore(&mut self, key: &str, ticks: Ticks, now_us: u64) -> bool {
        if ticks.is_idle(now_us) {
            return false;
        }
        let i = self.slot_of(key, now_us);
        self.slots[i as usize].ticks = ticks;
        self.refile(i);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000;

    #[test]
    fn slots_are_small() {
        assert_eq!(std::mem::size_of::<Slot>(), 72);
    }

    #[test]
    fn long_and_short_keys_are_found() {
        let mut t = KeyTable::new(10);
        let long = "a user name longer than thirty-nine bytes, boxed";
        t.raise("192.0.2.1", 0, NEVER);
        t.raise(long, 0, NEVER);
        t.raise("2001:db8:1234:5678:9abc:def0:1234:5678", 0, NEVER);
        assert_eq!(t.raise(long, 0, NEVER), 2);
        assert_eq!(t.get("192.0.2.1").unwrap().value(0), 1);
        assert_eq!(t.get("2001:db8:1234:5678:9abc:def0:1234:5678").unwrap().value(0), 1);
        assert!(t.get("192.0.2.").is_none());
        t.remove(long);
        assert!(t.get(long).is_none());
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_spray_of_one_shot_keys_does_not_evict_a_repeated_one() {
        let mut t = KeyTable::new(1_000);
        // The attacker fails twice, then once every 10 s; in between,
        // 10,000 one-shot addresses (ten times the limit) go by.
        let mut now = 0;
        t.raise("198.51.100.7", now, now + 600 * S);
        for round in 0..5u64 {
            now += 1_000;
            assert_eq!(t.raise("198.51.100.7", now, now + 600 * S), round as usize + 2);
            for i in 0..10_000u64 {
                now += 1_000;
                t.raise(&format!("10.0.{}.{}", i >> 8, i & 255), now, now + 600 * S);
            }
            assert!(t.len() <= 1_000);
        }
        // Raised once only, it would have been forgotten after the first
        // 1,000 of the spray; raised twice, it is kept.
        assert_eq!(t.get("198.51.100.7").unwrap().value(now), 6);
        assert!(t.evicted > 40_000, "{}", t.evicted);
    }

    #[test]
    fn the_oldest_one_shot_key_goes_first_then_the_oldest_repeated() {
        let mut t = KeyTable::new(3);
        t.raise("a", 0, NEVER);
        t.raise("a", 1, NEVER);
        t.raise("b", 2, NEVER);
        t.raise("c", 3, NEVER);
        t.raise("d", 4, NEVER); // full: "b", the oldest raised once, goes
        assert!(t.get("b").is_none());
        t.raise("c", 5, NEVER);
        t.raise("d", 6, NEVER); // all repeated now
        t.raise("e", 7, NEVER); // "a", the least recently raised, goes
        assert!(t.get("a").is_none());
        assert_eq!(t.len(), 3);
        assert_eq!(t.evicted, 2);
    }

    #[test]
    fn idle_keys_go_without_a_sweep() {
        let mut t = KeyTable::new(1_000_000);
        // 100,000 keys kept 10 s, one a millisecond: at most ~10 s of keys
        // plus what the heads have not caught yet are held.
        for i in 0..100_000u64 {
            t.raise(&format!("k{i}"), i * 1_000, i * 1_000 + 10 * S);
        }
        assert!(t.len() <= 10_100, "{}", t.len());
        // Mixed durations and grace are caught by the rover.
        let mut m = KeyTable::new(1_000);
        m.raise("forever", 0, NEVER);
        for i in 0..500u64 {
            m.raise(&format!("k{i}"), 0, S);
        }
        m.reset("graced", 0, Some(S));
        for i in 0..2_000u64 {
            m.raise("forever", 2 * S + i, NEVER);
        }
        assert_eq!(m.len(), 1, "only the key kept forever is left");
    }

    #[test]
    fn a_key_keeps_the_latest_ticks_and_counts_up_to_the_most() {
        let mut t = KeyTable::new(10);
        t.set_max_ticks(3);
        // Raised every second forever: 3 ticks at most, the value 3.
        for i in 0..1_000u64 {
            assert_eq!(t.raise("k", i * S, NEVER), (i as usize + 1).min(3));
        }
        assert_eq!(t.get("k").unwrap().iter().count(), 3);
        // With a window: the value is min(3, the true count) at any time
        // after, as the ticks kept are those that expire last.
        let mut w = KeyTable::new(10);
        w.set_max_ticks(3);
        for i in 0..10u64 {
            w.raise("k", i * S, i * S + 100 * S); // the 10th expires at 109 s
        }
        let ticks = w.get("k").unwrap();
        assert_eq!(
            [ticks.value(10 * S), ticks.value(107 * S), ticks.value(108 * S), ticks.value(109 * S)],
            [3, 2, 1, 0]
        );
        // Mixed durations: a short tick raised last goes first.
        w.raise("k", 10 * S, 11 * S);
        assert_eq!(w.get("k").unwrap().value(10 * S), 3);
        assert_eq!(w.get("k").unwrap().value(11 * S), 3, "the short tick was the one dropped");
        // One tick at most: the later one stays.
        let mut one = KeyTable::new(10);
        one.set_max_ticks(1);
        one.raise("k", 0, 50 * S);
        one.raise("k", S, 20 * S);
        assert_eq!(one.get("k").unwrap().value(30 * S), 1);
        // Saved parts are cut the same way.
        let parts = Ticks::from_parts(vec![5 * S, 9 * S, 7 * S, S], 0, 2 * S, 2);
        assert_eq!(parts.iter().collect::<Vec<_>>(), [7 * S, 9 * S]);
    }

    #[test]
    fn slots_are_reused_and_the_limit_can_shrink() {
        let mut t = KeyTable::new(100);
        for i in 0..100u64 {
            t.raise(&format!("k{i}"), 0, NEVER);
        }
        t.set_max_keys(10);
        for i in 100..120u64 {
            t.raise(&format!("k{i}"), 0, NEVER);
        }
        // Each new key forgets up to 8 others: 100 -> 93 -> ... -> 10.
        assert_eq!(t.len(), 10);
        assert!(t.slot_count() <= 100);
    }
}
