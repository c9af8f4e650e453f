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
//! Memory stays bounded: keys whose ticks have all expired and whose grace is
//! over are swept, at most once a minute of entry time, or sooner when the
//! number of keys has doubled since the last sweep (a flood of new keys).

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::{Deserialize, Serialize};

use super::ActionError;
use crate::entry::{push_decimal, Entry};
use crate::fields::{FieldId, FieldTable};

const SWEEP_EVERY_US: u64 = 60_000_000;
/// Tick expiry meaning "never".
const NEVER: u64 = u64::MAX;

/// Index of a counter category, assigned at configuration time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CategoryId(usize);

#[derive(Debug, Default)]
struct KeyState {
    /// Expiry times of the live ticks, in microseconds, sorted.
    ticks: VecDeque<u64>,
    /// Raises are ignored before this time.
    grace_until_us: u64,
}

impl KeyState {
    fn drop_expired(&mut self, now_us: u64) {
        while self.ticks.front().is_some_and(|&t| t <= now_us) {
            self.ticks.pop_front();
        }
    }

    fn is_idle(&self, now_us: u64) -> bool {
        self.grace_until_us <= now_us && self.ticks.back().is_none_or(|&t| t <= now_us)
    }
}

#[derive(Debug, Default)]
struct Category {
    name: String,
    keys: HashMap<String, KeyState>,
    next_sweep_us: u64,
    keys_after_sweep: usize,
}

impl Category {
    fn sweep_if_due(&mut self, now_us: u64) {
        if now_us < self.next_sweep_us && self.keys.len() < 2 * self.keys_after_sweep + 1024 {
            return;
        }
        self.keys.retain(|_, state| !state.is_idle(now_us));
        self.next_sweep_us = now_us.saturating_add(SWEEP_EVERY_US);
        self.keys_after_sweep = self.keys.len();
    }

    fn raise(&mut self, key: &str, now_us: u64, keep_us: Option<u64>) -> usize {
        self.sweep_if_due(now_us);
        if !self.keys.contains_key(key) {
            self.keys.insert(key.to_owned(), KeyState::default());
        }
        let state = self.keys.get_mut(key).expect("inserted above");
        if now_us < state.grace_until_us {
            return 0;
        }
        state.drop_expired(now_us);
        let expiry = keep_us.map_or(NEVER, |k| now_us.saturating_add(k));
        // Raises of one category may use different keepSeconds: keep the
        // ticks sorted by expiry so expired ones are always at the front.
        let at = state.ticks.partition_point(|&t| t <= expiry);
        state.ticks.insert(at, expiry);
        state.ticks.len()
    }

    fn reset(&mut self, key: &str, now_us: u64, grace_us: Option<u64>) {
        self.sweep_if_due(now_us);
        match grace_us {
            Some(grace) => {
                let state = self.keys.entry(key.to_owned()).or_default();
                state.ticks.clear();
                state.grace_until_us = now_us.saturating_add(grace);
            }
            None => {
                self.keys.remove(key);
            }
        }
    }
}

/// Every counter category of a configuration.
#[derive(Debug, Default)]
pub struct Counters {
    categories: Vec<Category>,
}

impl Counters {
    /// The id of a category, created on first use (at configuration time).
    pub fn category(&mut self, name: &str) -> CategoryId {
        if let Some(i) = self.categories.iter().position(|c| c.name == name) {
            return CategoryId(i);
        }
        self.categories.push(Category { name: name.to_owned(), ..Category::default() });
        CategoryId(self.categories.len() - 1)
    }

    /// Adds a tick and returns the number of live ticks (0 during grace).
    pub fn raise(&mut self, id: CategoryId, key: &str, now_us: u64, keep_us: Option<u64>) -> usize {
        self.categories[id.0].raise(key, now_us, keep_us)
    }

    pub fn reset(&mut self, id: CategoryId, key: &str, now_us: u64, grace_us: Option<u64>) {
        self.categories[id.0].reset(key, now_us, grace_us)
    }

    /// Number of live ticks of a key, without changing anything.
    pub fn value(&self, id: CategoryId, key: &str, now_us: u64) -> usize {
        match self.categories[id.0].keys.get(key) {
            Some(state) if now_us >= state.grace_until_us => state.ticks.iter().filter(|&&t| t > now_us).count(),
            _ => 0,
        }
    }

    /// Number of keys held in memory, over all categories.
    pub fn keys_held(&self) -> usize {
        self.categories.iter().map(|c| c.keys.len()).sum()
    }
}

/// The counters as saved on disk (see [`Counters::save`]): by category
/// name, then key, the expiry times of the live ticks (`null`: never) and
/// the end of the grace period, in µs since the epoch.
#[derive(Serialize, Deserialize)]
struct Saved {
    version: u32,
    categories: BTreeMap<String, BTreeMap<String, SavedKey>>,
}

#[derive(Serialize, Deserialize)]
struct SavedKey {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ticks: Vec<Option<u64>>,
    #[serde(default, skip_serializing_if = "is_zero")]
    grace_until_us: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// What [`Counters::restore`] took back.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub keys: usize,
    /// Keys whose ticks had all expired and whose grace was over.
    pub expired: usize,
    /// Categories the configuration no longer has.
    pub dropped_categories: Vec<String>,
}

impl Counters {
    /// The live state, as JSON: what is expired at `now_us` is left out.
    pub fn save(&self, now_us: u64) -> Vec<u8> {
        let mut saved = Saved { version: 1, categories: BTreeMap::new() };
        for category in &self.categories {
            let keys: BTreeMap<String, SavedKey> = category
                .keys
                .iter()
                .filter(|(_, state)| !state.is_idle(now_us))
                .map(|(key, state)| {
                    let ticks =
                        state.ticks.iter().filter(|&&t| t > now_us).map(|&t| (t != NEVER).then_some(t)).collect();
                    let grace_until_us = if state.grace_until_us > now_us { state.grace_until_us } else { 0 };
                    (key.clone(), SavedKey { ticks, grace_until_us })
                })
                .collect();
            if !keys.is_empty() {
                saved.categories.insert(category.name.clone(), keys);
            }
        }
        serde_json::to_vec(&saved).expect("counters serialise")
    }

    /// Takes back what [`save`](Self::save) wrote, into the categories this
    /// configuration has; what has expired by `now_us` is not restored.
    pub fn restore(&mut self, bytes: &[u8], now_us: u64) -> Result<Restored, String> {
        let saved: Saved = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if saved.version != 1 {
            return Err(format!("unknown format version {}", saved.version));
        }
        let mut restored = Restored::default();
        for (name, keys) in saved.categories {
            let Some(category) = self.categories.iter_mut().find(|c| c.name == name) else {
                restored.dropped_categories.push(name);
                continue;
            };
            for (key, saved_key) in keys {
                let mut ticks: Vec<u64> =
                    saved_key.ticks.iter().map(|t| t.unwrap_or(NEVER)).filter(|&t| t > now_us).collect();
                ticks.sort_unstable();
                let state = KeyState { ticks: ticks.into(), grace_until_us: saved_key.grace_until_us };
                if state.is_idle(now_us) {
                    restored.expired += 1;
                    continue;
                }
                category.keys.insert(key, state);
                restored.keys += 1;
            }
            category.keys_after_sweep = category.keys.len();
        }
        Ok(restored)
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
        let restored = fresh.restore(&bytes, later).unwrap();
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
        again.restore(&bytes, T + 1000 * 86_400 * S).unwrap();
        assert_eq!(again.value(bans2, "192.0.2.1", T + 1000 * 86_400 * S), 1);
        assert!(again.restore(b"{not json", T).unwrap_err().contains("line 1"));
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
