//! The last counter raise of the entry being judged: a ban that follows a
//! raise in the same run (`action_counterRaise`, a threshold filter, then
//! `action_nftBan`, as every example chain does) gives the counter, its
//! key and the count reached as its reason. Forgotten at each new entry
//! ([`Counters::new_entry`], called by the workflow), so a ban never names
//! a raise made for another entry. The key's buffer is reused: remembering
//! costs no allocation once it has grown to the longest key.

use super::Counters;
use crate::vocab::reason::{Reason, NAME_MAX};
use crate::vocab::CounterValue;

#[derive(Debug, Default)]
pub(super) struct LastRaise {
    live: bool,
    category: usize,
    key: String,
    value: usize,
}

impl LastRaise {
    pub(super) fn note(&mut self, category: usize, key: &str, value: usize) {
        self.live = true;
        self.category = category;
        self.key.clear();
        self.key.push_str(key);
        self.value = value;
    }
}

impl Counters {
    /// A new entry is being judged: the last raise is no longer its own.
    pub fn new_entry(&mut self) {
        self.last.live = false;
    }

    /// The last raise of the entry being judged, as a ban's reason gives
    /// it; `None` when no counter was raised for it.
    pub fn last_raise(&self) -> Option<CounterValue> {
        let last = self.last.live.then_some(&self.last)?;
        Some(CounterValue {
            name: Reason::shorten(&self.categories[last.category].name, NAME_MAX),
            key: Reason::shorten(&last.key, NAME_MAX),
            count: last.value as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_raise_is_the_entrys_own() {
        let mut c = Counters::default();
        let sshd = c.category("sshd");
        let web = c.category("web");
        assert_eq!(c.last_raise(), None);
        c.raise(sshd, "192.0.2.7", 1, None);
        c.raise(web, "192.0.2.8", 2, None);
        c.raise(web, "192.0.2.8", 3, None);
        let last = c.last_raise().unwrap();
        assert_eq!((&*last.name, &*last.key, last.count), ("web", "192.0.2.8", 2), "the latest raise");
        c.new_entry();
        assert_eq!(c.last_raise(), None, "another entry's raise is not this one's reason");
    }
}
