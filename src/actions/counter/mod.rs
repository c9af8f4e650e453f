//! `action_counterRaise` and `action_counterReset`: counting offences.
//!
//! A counter category (`"counter": "sshd"`) maps keys (the value of the `for`
//! field, usually an address) to ticks. A tick lives `keepSeconds` (forever
//! when absent); the counter's value is the number of live ticks. A reset
//! drops every tick of the key and, with `graceSeconds`, ignores raises of
//! that key for a while (the value is then 0).
//!
//! Time is the entry's own `__REALTIME_TIMESTAMP`, never the wall clock, so a
//! replay of last week's journal, or a catch-up after a restart, decides
//! exactly as live processing did.
//!
//! Memory stays bounded: each counter holds at most `counterMaxKeys` keys
//! (by default a share of [`DEFAULT_TOTAL_KEYS`], about 57 MB in all) in a
//! [`keys::KeyTable`], which forgets the keys raised only once, oldest
//! first, to make room, and drops expired keys as it goes. The first key
//! forgotten starts an *eviction episode*, which the daemon hears of once
//! ([`Counters::take_news`]); it ends when the counter is back under 90 %
//! of its limit.
//!
//! A key keeps at most [`Counters::max_ticks`] ticks, the latest to
//! expire: enough for every comparison the configuration makes, and a key
//! raised without end stays a few hundred bytes.
//!
//! Saving ([`saved`]) writes the same JSON as ever, but a slice of keys at
//! a time, so that the loop never stops for long; a reload moves the
//! counters the new rules still name, without copying a key.

mod keys;
mod last;
pub mod saved;

use std::collections::HashMap;

use super::ActionError;
use crate::entry::{push_decimal, Entry};
use crate::fields::{FieldId, FieldTable};
use keys::{KeyTable, NEVER};
use last::LastRaise;

pub use saved::{Restored, SaveCursor};

/// The keys all counters may hold by default, shared equally among the
/// counter names of a configuration: about 57 MB at the 82 bytes a key
/// measured (a million IPv4 keys: the table's slot and index).
pub const DEFAULT_TOTAL_KEYS: usize = 700_000;

/// The fewest ticks a key keeps, and the most: see [`Counters::max_ticks`].
pub const MIN_TICKS: usize = 64;
pub const MAX_TICKS: usize = 1_000_000;

/// Index of a counter category, assigned at configuration time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CategoryId(usize);

impl CategoryId {
    /// Its place among the counters' names (see [`Counters::sizes`]).
    pub fn index(self) -> usize {
        self.0
    }
}

#[derive(Debug)]
struct Category {
    name: String,
    keys: KeyTable,
    /// An eviction episode is going on (and was told).
    evicting: bool,
}

/// Something the daemon should log: an eviction episode began or ended.
#[derive(Debug, PartialEq, Eq)]
pub enum News {
    Evicting { counter: String, max_keys: usize },
    Evicted { counter: String, keys: u64 },
}

impl std::fmt::Display for News {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            News::Evicting { counter, max_keys } => write!(
                f,
                "counter {counter:?} holds its limit of {max_keys} keys (counterMaxKeys): to make room, the keys \
                 raised only once are forgotten, least recently raised first (then the others, the same way)"
            ),
            News::Evicted { counter, keys } => {
                write!(f, "counter {counter:?} is back under its limit; {keys} keys were forgotten to make room")
            }
        }
    }
}

/// Every counter category of a configuration.
#[derive(Debug, Default)]
pub struct Counters {
    categories: Vec<Category>,
    by_name: HashMap<String, usize>,
    /// `counterMaxKeys`; `None`: a share of [`DEFAULT_TOTAL_KEYS`].
    max_keys: Option<usize>,
    /// One more than the largest number a filter compares with.
    compared: usize,
    news: Vec<News>,
    /// The limits of the categories are to be set again: a shared default
    /// changes with their number, the ticks kept with the filters' numbers,
    /// and setting every limit each time one of those changes would be
    /// quadratic in a configuration of 50,000 counter names.
    stale: bool,
    /// The last raise of the entry being judged (see [`LastRaise`]).
    last: LastRaise,
}

impl Counters {
    /// Counters holding at most `max_keys` keys each (`None`: the default
    /// share, see [`DEFAULT_TOTAL_KEYS`]).
    pub fn with_max_keys(max_keys: Option<usize>) -> Counters {
        Counters { max_keys, ..Counters::default() }
    }

    /// The limit of each counter: given, or an equal share of the default.
    pub fn max_keys(&self) -> usize {
        self.max_keys.unwrap_or(DEFAULT_TOTAL_KEYS / self.categories.len().max(1))
    }

    /// The ticks each key keeps at most: one more than the largest number a
    /// comparison filter of the configuration names, within [`MIN_TICKS`]
    /// and [`MAX_TICKS`]. A key raised more often keeps the ticks that
    /// expire last, so its value is the smaller of this and the true count
    /// at every moment: a comparison with any number the configuration
    /// names decides as with every tick kept, and a key raised without
    /// end (a counter without `keepSeconds`) no longer grows without end.
    pub fn max_ticks(&self) -> usize {
        self.compared.clamp(MIN_TICKS, MAX_TICKS)
    }

    /// Notes a number a filter compares a field with (at configuration
    /// time): counter values up to it must be exact.
    pub fn compared_with(&mut self, number: f64) {
        if number.is_finite() && number >= 0.0 {
            // `as` saturates: 1e300 asks for MAX_TICKS, no more.
            self.compared = self.compared.max((number.floor() as usize).saturating_add(1));
            self.stale = true;
        }
    }

    /// The id of a category, created on first use (at configuration time).
    pub fn category(&mut self, name: &str) -> CategoryId {
        if let Some(&i) = self.by_name.get(name) {
            return CategoryId(i);
        }
        self.categories.push(Category { name: name.to_owned(), keys: KeyTable::new(1), evicting: false });
        self.by_name.insert(name.to_owned(), self.categories.len() - 1);
        self.stale = true;
        CategoryId(self.categories.len() - 1)
    }

    /// Gives every category its limits, once the categories and the
    /// numbers the filters compare with are all known (at the first raise,
    /// when restoring or taking over counters).
    fn apportion(&mut self) {
        if std::mem::take(&mut self.stale) {
            self.set_limits();
        }
    }

    fn set_limits(&mut self) {
        let (keys, ticks) = (self.max_keys(), self.max_ticks());
        for category in &mut self.categories {
            category.keys.set_max_keys(keys);
            category.keys.set_max_ticks(ticks);
        }
    }

    /// Adds a tick and returns the number of live ticks (0 during grace).
    pub fn raise(&mut self, id: CategoryId, key: &str, now_us: u64, keep_us: Option<u64>) -> usize {
        self.apportion();
        let category = &mut self.categories[id.0];
        let expiry = keep_us.map_or(NEVER, |k| now_us.saturating_add(k));
        let value = category.keys.raise(key, now_us, expiry);
        category.tell(&mut self.news);
        self.last.note(id.0, key, value);
        value
    }

    pub fn reset(&mut self, id: CategoryId, key: &str, now_us: u64, grace_us: Option<u64>) {
        let category = &mut self.categories[id.0];
        category.keys.reset(key, now_us, grace_us.map(|g| now_us.saturating_add(g)));
        category.tell(&mut self.news);
    }

    /// A category's name (`"counter"`).
    pub fn name(&self, id: CategoryId) -> &str {
        &self.categories[id.0].name
    }

    /// Number of live ticks of a key, without changing anything.
    pub fn value(&self, id: CategoryId, key: &str, now_us: u64) -> usize {
        self.categories[id.0].keys.get(key).map_or(0, |ticks| ticks.value(now_us))
    }

    /// Number of keys held in memory, over all categories.
    pub fn keys_held(&self) -> usize {
        self.categories.iter().map(|c| c.keys.len()).sum()
    }

    /// Each counter's name and the keys it holds, in the order of their ids.
    pub fn sizes(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.categories.iter().map(|c| (c.name.as_str(), c.keys.len()))
    }

    /// Calls `f` with each live key of each counter (its index, the key and
    /// its value at `now_us`), skipping keys whose value is 0: for `status`,
    /// a walk over every key (a million in tens of milliseconds).
    pub fn each_key(&self, now_us: u64, mut f: impl FnMut(usize, &str, usize)) {
        for (i, category) in self.categories.iter().enumerate() {
            for slot in 0..category.keys.slot_count() {
                if let Some((key, ticks)) = category.keys.slot(slot) {
                    let value = ticks.value(now_us);
                    if value > 0 {
                        f(i, key, value);
                    }
                }
            }
        }
    }

    /// Whether [`take_news`](Self::take_news) has something: one load and
    /// compare, cheap enough after every entry.
    pub fn has_news(&self) -> bool {
        !self.news.is_empty()
    }

    /// What happened that should be logged, once.
    pub fn take_news(&mut self) -> Vec<News> {
        std::mem::take(&mut self.news)
    }

    /// Takes over the keys of `old`'s categories that these counters also
    /// name (a reload): the tables move, no key is copied. Each keeps this
    /// configuration's limit; a lower one is reached step by step as keys
    /// come (see [`keys`]). What was taken, and the names left behind.
    pub fn take_over(&mut self, old: Counters) -> Restored {
        self.apportion();
        let mut restored = Restored::default();
        for category in old.categories {
            match self.by_name.get(&category.name) {
                Some(&i) => {
                    let (max, ticks) = (self.categories[i].keys.max_keys(), self.max_ticks());
                    restored.keys += category.keys.len();
                    self.categories[i].keys = category.keys;
                    self.categories[i].keys.set_max_keys(max);
                    // Keys over a lower limit keep their ticks until raised.
                    self.categories[i].keys.set_max_ticks(ticks);
                    self.categories[i].evicting = category.evicting;
                }
                None if category.keys.len() > 0 => restored.dropped_categories.push(category.name),
                None => {}
            }
        }
        restored
    }
}

impl Category {
    /// Starts or ends an eviction episode, and says so.
    fn tell(&mut self, news: &mut Vec<News>) {
        match (self.evicting, self.keys.episode) {
            (false, false) | (true, true) => {}
            (false, true) => {
                self.evicting = true;
                news.push(News::Evicting { counter: self.name.clone(), max_keys: self.keys.max_keys() });
            }
            (true, false) => {
                self.evicting = false;
                news.push(News::Evicted { counter: self.name.clone(), keys: std::mem::take(&mut self.keys.evicted) });
            }
        }
    }
}

fn key_of<'e>(entry: &'e Entry, fields: &FieldTable, id: FieldId) -> Result<&'e str, ActionError> {
    entry.get(id).ok_or_else(|| ActionError::missing(fields, id))
}

fn save_number(entry: &mut Entry, save: Option<FieldId>, value: usize) {
    if let Some(field) = save {
        entry.set_with(field, |buf| push_decimal(buf, value as u64));
    }
}

#[derive(Debug)]
pub struct CounterRaise {
    category: CategoryId,
    key: FieldId,
    keep_us: Option<u64>,
    save: Option<FieldId>,
}

impl CounterRaise {
    pub fn new(category: CategoryId, key: FieldId, keep_seconds: Option<u64>, save: Option<FieldId>) -> CounterRaise {
        CounterRaise { category, key, keep_us: keep_seconds.map(|s| s.saturating_mul(1_000_000)), save }
    }

    /// The counter raised, and the field its value is saved in.
    pub fn counter(&self) -> (CategoryId, Option<FieldId>) {
        (self.category, self.save)
    }

    /// The counter, the field its key is read from, and the field its value is saved in.
    pub fn parts(&self) -> (CategoryId, FieldId, Option<FieldId>) {
        (self.category, self.key, self.save)
    }

    pub fn run(&self, entry: &mut Entry, fields: &FieldTable, counters: &mut Counters) -> Result<(), ActionError> {
        let now = entry.time_us();
        let value = counters.raise(self.category, key_of(entry, fields, self.key)?, now, self.keep_us);
        save_number(entry, self.save, value);
        Ok(())
    }
}

#[derive(Debug)]
pub struct CounterReset {
    category: CategoryId,
    key: FieldId,
    grace_us: Option<u64>,
    save: Option<FieldId>,
}

impl CounterReset {
    pub fn new(category: CategoryId, key: FieldId, grace_seconds: Option<u64>, save: Option<FieldId>) -> CounterReset {
        CounterReset { category, key, grace_us: grace_seconds.map(|s| s.saturating_mul(1_000_000)), save }
    }

    /// The counter, the field its key is read from, and the field 0 is saved in.
    pub fn parts(&self) -> (CategoryId, FieldId, Option<FieldId>) {
        (self.category, self.key, self.save)
    }

    pub fn run(&self, entry: &mut Entry, fields: &FieldTable, counters: &mut Counters) -> Result<(), ActionError> {
        let now = entry.time_us();
        counters.reset(self.category, key_of(entry, fields, self.key)?, now, self.grace_us);
        save_number(entry, self.save, 0);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saved_state_comes_back_without_what_expired() {
        const T: u64 = 1_763_700_000 * S;
        let mut counters = Counters::default();
        let sshd = counters.category("sshd");
        let bans = counters.category("bans this week");
        counters.raise(sshd, "192.0.2.1", T, Some(600 * S));
        counters.raise(sshd, "192.0.2.1", T + S, Some(600 * S));
        counters.raise(sshd, "192.0.2.2", T, Some(10 * S)); // expired by the restart
        counters.raise(bans, "192.0.2.1", T, None); // forever
        counters.reset(sshd, "192.0.2.3", T, Some(3600 * S)); // in grace
        counters.raise(sshd, "192.0.2.3", T + S, Some(600 * S));
        let bytes = counters.save(T + 2 * S);

        // A restart 5 minutes later, with a configuration that also has a
        // new category and no longer "bans this week"... in another order.
        let later = T + 300 * S;
        let mut fresh = Counters::default();
        let other = fresh.category("other");
        let sshd2 = fresh.category("sshd");
        let restored = fresh.restore(&bytes[..], later).unwrap();
        assert_eq!(restored, Restored { keys: 2, expired: 1, dropped_categories: vec!["bans this week".into()] });
        assert_eq!(fresh.value(sshd2, "192.0.2.1", later), 2);
        assert_eq!(fresh.value(sshd2, "192.0.2.2", later), 0);
        // The grace period goes on: raises are still ignored.
        assert_eq!(fresh.raise(sshd2, "192.0.2.3", later, Some(600 * S)), 0);
        // The ticks keep their own end: 10 min after they were raised.
        assert_eq!(fresh.value(sshd2, "192.0.2.1", T + 600 * S), 1);
        assert_eq!(fresh.value(sshd2, "192.0.2.1", T + 601 * S), 0);
        assert_eq!(fresh.keys_held(), 2);
        let _ = other;

        // Forever ticks survive any delay.
        let mut again = Counters::default();
        let bans2 = again.category("bans this week");
        again.restore(&bytes[..], T + 1000 * 86_400 * S).unwrap();
        assert_eq!(again.value(bans2, "192.0.2.1", T + 1000 * 86_400 * S), 1);
        assert!(again.restore(&b"{not json"[..], T).unwrap_err().contains("line 1"));
    }

    const S: u64 = 1_000_000;

    #[test]
    fn ticks_expire_after_keep_seconds() {
        let mut c = Counters::default();
        let id = c.category("sshd");
        assert_eq!(c.raise(id, "192.0.2.1", 100 * S, Some(10 * S)), 1);
        assert_eq!(c.raise(id, "192.0.2.1", 105 * S, Some(10 * S)), 2);
        assert_eq!(c.raise(id, "192.0.2.2", 105 * S, Some(10 * S)), 1, "keys are separate");
        // At 110 s the first tick (expiring at 110 s) is gone.
        assert_eq!(c.raise(id, "192.0.2.1", 110 * S, Some(10 * S)), 2);
        assert_eq!(c.value(id, "192.0.2.1", 200 * S), 0);
    }

    #[test]
    fn no_keep_seconds_means_forever() {
        let mut c = Counters::default();
        let id = c.category("forever");
        c.raise(id, "k", 0, None);
        assert_eq!(c.raise(id, "k", 10_000_000 * S, None), 2);
    }

    #[test]
    fn categories_are_separate() {
        let mut c = Counters::default();
        let a = c.category("a");
        let b = c.category("b");
        assert_eq!(c.category("a"), a);
        c.raise(a, "k", 0, None);
        assert_eq!(c.raise(b, "k", 0, None), 1);
    }

    #[test]
    fn reset_and_grace() {
        let mut c = Counters::default();
        let id = c.category("sshd");
        c.raise(id, "k", 0, None);
        c.raise(id, "k", S, None);
        c.reset(id, "k", 2 * S, Some(30 * S));
        assert_eq!(c.raise(id, "k", 3 * S, None), 0, "raises during grace are ignored");
        assert_eq!(c.raise(id, "k", 31 * S, None), 0, "grace lasts until 32 s");
        assert_eq!(c.raise(id, "k", 32 * S, None), 1, "grace is over, earlier raises were not kept");
        c.reset(id, "k", 40 * S, None);
        assert_eq!(c.raise(id, "k", 41 * S, None), 1, "a reset without grace only clears");
    }

    #[test]
    fn mixed_keep_seconds_keep_ticks_sorted() {
        let mut c = Counters::default();
        let id = c.category("mixed");
        c.raise(id, "k", 0, Some(100 * S));
        c.raise(id, "k", S, Some(5 * S));
        // The short tick (expiring at 6 s) goes although it was added last.
        assert_eq!(c.raise(id, "k", 7 * S, Some(100 * S)), 2);
    }

    #[test]
    fn memory_is_bounded_under_a_flood_of_keys() {
        let mut c = Counters::default();
        let id = c.category("flood");
        // 1,000,000 distinct keys, one a millisecond, each kept 10 s.
        for i in 0..1_000_000u64 {
            c.raise(id, &format!("10.{}.{}.{}", i >> 16 & 255, i >> 8 & 255, i & 255), i * 1000, Some(10 * S));
        }
        // Only keys of the last 10 s (10,000) plus at most one sweep interval
        // or doubling may be held.
        assert!(c.keys_held() <= 2 * 70_000 + 1024, "held {}", c.keys_held());
    }

    #[test]
    fn the_limit_is_shared_or_given_and_eviction_is_told_once_per_episode() {
        let mut shared = Counters::default();
        shared.category("a");
        shared.category("b");
        assert_eq!(shared.max_keys(), DEFAULT_TOTAL_KEYS / 2);

        let mut c = Counters::with_max_keys(Some(100));
        let id = c.category("sshd");
        for i in 0..1_000u64 {
            c.raise(id, &format!("10.0.{}.{}", i >> 8, i & 255), i * S, Some(60 * S));
        }
        assert_eq!(c.keys_held(), 60, "a minute of keys, below the limit");
        assert!(!c.has_news());
        for i in 0..1_000u64 {
            c.raise(id, &format!("10.1.{}.{}", i >> 8, i & 255), 1_000 * S + i * S / 100, Some(60 * S));
        }
        assert_eq!(c.keys_held(), 100);
        let news = c.take_news();
        assert_eq!(news, [News::Evicting { counter: "sshd".into(), max_keys: 100 }], "once, not per key");
        assert!(news[0].to_string().contains("counterMaxKeys"), "{}", news[0]);
        // The spray stops; its keys expire: the episode ends, with a count.
        for i in 0..200u64 {
            c.raise(id, "192.0.2.1", 2_000 * S + i * S, Some(60 * S));
        }
        // 1,060 keys came to a table of 100; the few of the first spray
        // that expired in time were not forgotten, the rest were.
        let news = c.take_news();
        assert!(matches!(&news[..], [News::Evicted { counter, keys: 900..=960 }] if counter == "sshd"), "{news:?}");
        assert!(!c.has_news());
    }

    #[test]
    fn a_save_in_slices_is_the_save_at_once() {
        let mut c = Counters::with_max_keys(Some(10_000));
        let a = c.category("a");
        let b = c.category("b \"quoted\"");
        c.category("unused");
        for i in 0..3_000u64 {
            c.raise(a, &format!("k{i}"), 0, Some(10 * S));
            c.raise(if i % 2 == 0 { a } else { b }, &format!("k{i}"), S, None);
        }
        c.reset(b, "graced", S, Some(100 * S));
        let whole = c.save(2 * S);
        let mut cursor = c.save_start(2 * S);
        let mut sliced = Vec::new();
        let mut turns = 0;
        while !c.save_some(&mut cursor, &mut sliced, 100) {
            turns += 1;
        }
        assert!(turns > 40, "{turns}");
        assert_eq!(String::from_utf8(sliced).unwrap(), String::from_utf8(whole.clone()).unwrap());
        let mut back = Counters::default();
        let (a2, b2) = (back.category("a"), back.category("b \"quoted\""));
        let restored = back.restore(&whole[..], 3 * S).unwrap();
        assert_eq!(restored.keys, 4_501);
        assert_eq!(back.value(a2, "k0", 3 * S), 2);
        assert_eq!(back.value(b2, "k1", 3 * S), 1);
        assert_eq!(back.raise(b2, "graced", 3 * S, None), 0, "still in grace");
    }

    /// Gives `bytes` a few at a time, then fails at `fail_at`.
    struct Trickle<'a> {
        bytes: &'a [u8],
        at: usize,
        fail_at: usize,
    }

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.at >= self.fail_at {
                return Err(std::io::Error::other("disk gone"));
            }
            let n = buf.len().min(7).min(self.bytes.len() - self.at).min(self.fail_at - self.at);
            buf[..n].copy_from_slice(&self.bytes[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }

    #[test]
    fn a_restore_takes_each_key_as_it_is_read() {
        let mut c = Counters::default();
        let (sshd, gone) = (c.category("sshd"), c.category("gone"));
        for i in 0..1_000u64 {
            c.raise(sshd, &format!("192.0.{}.{}", i >> 8, i & 255), 0, None);
            c.raise(gone, &format!("k{i}"), 0, None);
        }
        let bytes = c.save(S);
        // Read 7 bytes at a time: the same as at once.
        let mut back = Counters::default();
        let sshd2 = back.category("sshd");
        let whole = back.restore(Trickle { bytes: &bytes, at: 0, fail_at: usize::MAX }, S).unwrap();
        assert_eq!(whole, Restored { keys: 1_000, expired: 0, dropped_categories: vec!["gone".into()] });
        assert_eq!(back.value(sshd2, "192.0.3.231", S), 1);
        // Failing half-way: the keys before the failure are in already,
        // which a restore that parsed the whole text first could not do.
        let mut half = Counters::default();
        let sshd3 = half.category("sshd");
        let err = half.restore(Trickle { bytes: &bytes, at: 0, fail_at: bytes.len() / 4 }, S).unwrap_err();
        assert!(err.contains("disk gone"), "{err}");
        assert!((100..1_000).contains(&half.keys_held()), "{}", half.keys_held());
        assert_eq!(half.value(sshd3, "192.0.0.0", S), 1);
        // An unknown version is refused before any key is taken.
        let mut other = Counters::default();
        other.category("sshd");
        let text = br#"{"version":2,"categories":{"sshd":{"192.0.2.1":{"ticks":[null]}}}}"#;
        assert_eq!(other.restore(&text[..], S).unwrap_err(), "unknown format version 2 at line 1 column 13");
        assert_eq!(other.keys_held(), 0);
        let missing = other.restore(&br#"{"categories":{}}"#[..], S).unwrap_err();
        assert!(missing.contains("missing field `version`"), "{missing}");
        // Trailing garbage is an error, as it was.
        assert!(other.restore(&br#"{"version":1,"categories":{}} x"#[..], S).is_err());
        // Saved ticks over the limit keep the latest.
        let mut few = Counters::default();
        let ever = few.category("ever");
        let many =
            format!(r#"{{"version":1,"categories":{{"ever":{{"k":{{"ticks":[{}]}}}}}}}}"#, vec!["null"; 500].join(","));
        few.restore(many.as_bytes(), S).unwrap();
        assert_eq!(few.value(ever, "k", S), MIN_TICKS);
    }

    #[test]
    fn ticks_are_kept_up_to_the_largest_number_compared() {
        let mut c = Counters::default();
        let id = c.category("ever");
        assert_eq!(c.max_ticks(), MIN_TICKS);
        c.compared_with(-3.0);
        c.compared_with(f64::NAN);
        c.compared_with(63.5);
        assert_eq!(c.max_ticks(), MIN_TICKS, "64 ticks decide a comparison with 63.5");
        c.compared_with(100.0);
        assert_eq!(c.max_ticks(), 101);
        c.compared_with(1e300);
        assert_eq!(c.max_ticks(), MAX_TICKS);
        let mut c = Counters::default();
        c.compared_with(100.0);
        let later = c.category("later");
        // Without keepSeconds, a million raises keep 101 ticks; the value
        // says 101 whenever the true count is 101 or more.
        for i in 0..1_000_000u64 {
            c.raise(later, "192.0.2.1", i, None);
        }
        assert_eq!(c.value(later, "192.0.2.1", S), 101);
        assert_eq!(c.categories[later.0].keys.get("192.0.2.1").unwrap().iter().count(), 101);
        let _ = id;
    }

    #[test]
    fn a_reload_takes_the_tables_over_by_name() {
        let mut old = Counters::default();
        let (sshd, gone) = (old.category("sshd"), old.category("gone"));
        old.raise(sshd, "192.0.2.1", 0, None);
        old.raise(sshd, "192.0.2.1", 0, None);
        old.raise(gone, "192.0.2.1", 0, None);
        let mut new = Counters::with_max_keys(Some(5));
        let other = new.category("other");
        let sshd2 = new.category("sshd");
        let restored = new.take_over(old);
        assert_eq!(restored, Restored { keys: 1, expired: 0, dropped_categories: vec!["gone".into()] });
        assert_eq!(new.value(sshd2, "192.0.2.1", 0), 2);
        assert_eq!(new.value(other, "192.0.2.1", 0), 0);
        assert_eq!(new.categories[sshd2.0].keys.max_keys(), 5, "the new rules' limit");
    }

    #[test]
    fn actions_use_entry_time_and_save() {
        let mut fields = FieldTable::new();
        let ip = fields.intern("thatIP");
        let n = fields.intern("n");
        let mut counters = Counters::default();
        let cat = counters.category("sshd");
        let raise = CounterRaise::new(cat, ip, Some(60), Some(n));
        let reset = CounterReset::new(cat, ip, None, Some(n));
        let mut e = Entry::new(&fields);
        e.set(ip, "192.0.2.9");
        e.set_time_us(1_000 * S);
        raise.run(&mut e, &fields, &mut counters).unwrap();
        raise.run(&mut e, &fields, &mut counters).unwrap();
        assert_eq!(e.get(n), Some("2"));
        e.set_time_us(1_061 * S);
        raise.run(&mut e, &fields, &mut counters).unwrap();
        assert_eq!(e.get(n), Some("1"), "judged by the entry's time, the first two ticks expired");
        reset.run(&mut e, &fields, &mut counters).unwrap();
        assert_eq!(e.get(n), Some("0"));
        e.remove(ip);
        let err = raise.run(&mut e, &fields, &mut counters).unwrap_err();
        assert_eq!(err.to_string(), r#"field "thatIP" is absent"#);
    }
}
