//! `action_dnatCapture` and `action_dnatReplace`: seeing through a NAT or proxy.
//!
//! When a service only sees its proxy (or a DNAT'ed connection), the real
//! client shows in another log line first (the firewall's or the proxy's).
//! A capture remembers, for `keepSeconds` (63 by default) of entry time, that
//! the proxy-side tuple (`addr`, `port`, `daddr`, `dport`) stood for client
//! `saddr` (and `sport`). A later replace looks the tuple up from its own
//! fields and writes the real client into `saddrInto`/`sportInto`, so the
//! rest of the chain bans the right address.
//!
//! Memory is bounded twice: captures expire, and at most [`MAX_CAPTURES`] are
//! held (those closest to expiry go first), whatever the rate of new connections.

use std::collections::VecDeque;

use crate::entry::Entry;
use crate::fields::FieldId;

pub const MAX_CAPTURES: usize = 65_536;
pub const DEFAULT_KEEP_SECONDS: u64 = 63;

/// Where a captured tuple member comes from: a field, or a fixed value.
#[derive(Clone, Debug, PartialEq)]
pub enum Source {
    Field(FieldId),
    Value(String),
}

impl Source {
    fn resolve<'a>(&'a self, entry: &'a Entry) -> Option<&'a str> {
        match self {
            Source::Field(id) => entry.get(*id),
            Source::Value(v) => Some(v),
        }
    }
}

/// The proxy-side tuple: address, port, destination address, destination port.
pub type Tuple<T> = [Option<T>; 4];

#[derive(Debug)]
struct Capture {
    tuple: Tuple<String>,
    saddr: String,
    sport: Option<String>,
    expiry_us: u64,
}

#[derive(Debug, Default)]
pub struct DnatTable {
    /// Sorted by expiry, soonest first: purging is popping from the front,
    /// and with one `keepSeconds` (the usual case) inserting is a push.
    captures: VecDeque<Capture>,
}

impl DnatTable {
    fn purge(&mut self, now_us: u64) {
        while self.captures.front().is_some_and(|c| c.expiry_us <= now_us) {
            self.captures.pop_front();
        }
    }

    fn insert(&mut self, capture: Capture) {
        if self.captures.len() >= MAX_CAPTURES {
            self.captures.pop_front();
        }
        let at = self.captures.partition_point(|c| c.expiry_us <= capture.expiry_us);
        self.captures.insert(at, capture);
    }

    pub fn len(&self) -> usize {
        self.captures.len()
    }

    pub fn is_empty(&self) -> bool {
        self.captures.is_empty()
    }
}

#[derive(Debug)]
pub struct DnatCapture {
    saddr: FieldId,
    sport: Option<FieldId>,
    tuple: Tuple<Source>,
    keep_us: u64,
}

impl DnatCapture {
    pub fn new(saddr: FieldId, sport: Option<FieldId>, tuple: Tuple<Source>, keep_seconds: u64) -> DnatCapture {
        DnatCapture { saddr, sport, tuple, keep_us: keep_seconds.saturating_mul(1_000_000) }
    }

    /// The fields it reads: the client and the tuple's fields.
    pub fn reads(&self) -> Vec<FieldId> {
        let tuple = self.tuple.iter().filter_map(|s| match s {
            Some(Source::Field(id)) => Some(*id),
            _ => None,
        });
        [self.saddr].into_iter().chain(self.sport).chain(tuple).collect()
    }

    /// Remembers the entry's tuple; an entry lacking one of the fields is
    /// not a complete observation and is ignored, as in Pyruse.
    pub fn run(&self, entry: &Entry, table: &mut DnatTable) {
        let now = entry.time_us();
        let Some(saddr) = entry.get(self.saddr) else { return };
        let mut tuple: Tuple<String> = Default::default();
        for (slot, source) in tuple.iter_mut().zip(&self.tuple) {
            if let Some(source) = source {
                match source.resolve(entry) {
                    Some(value) => *slot = Some(value.to_owned()),
                    None => return,
                }
            }
        }
        let sport = self.sport.and_then(|id| entry.get(id)).map(str::to_owned);
        table.purge(now);
        table.insert(Capture { tuple, saddr: saddr.to_owned(), sport, expiry_us: now.saturating_add(self.keep_us) });
    }
}

#[derive(Debug)]
pub struct DnatReplace {
    tuple: Tuple<FieldId>,
    saddr_into: Option<FieldId>,
    sport_into: Option<FieldId>,
}

impl DnatReplace {
    pub fn new(tuple: Tuple<FieldId>, saddr_into: Option<FieldId>, sport_into: Option<FieldId>) -> DnatReplace {
        DnatReplace { tuple, saddr_into, sport_into }
    }

    /// The tuple's fields, which it looks the capture up with.
    pub fn reads(&self) -> Vec<FieldId> {
        self.tuple.iter().flatten().copied().collect()
    }

    /// The fields it writes when a capture matches.
    pub fn writes(&self) -> Vec<FieldId> {
        self.saddr_into.into_iter().chain(self.sport_into).collect()
    }

    /// Writes the client of the latest-expiring live capture matching every
    /// given tuple field (the newest, for one `keepSeconds`); does nothing
    /// when none matches.
    pub fn run(&self, entry: &mut Entry, table: &mut DnatTable) {
        let now = entry.time_us();
        let mut wanted: Tuple<&str> = [None; 4];
        for (slot, field) in wanted.iter_mut().zip(&self.tuple) {
            if let Some(id) = field {
                match entry.get(*id) {
                    Some(value) => *slot = Some(value),
                    None => return,
                }
            }
        }
        let found = table.captures.iter().rev().find(|c| {
            c.expiry_us > now
                && wanted.iter().zip(&c.tuple).all(|(w, have)| match w {
                    Some(w) => have.as_deref() == Some(*w),
                    None => true,
                })
        });
        let Some(capture) = found else { return };
        let (saddr, sport) = (capture.saddr.clone(), capture.sport.clone());
        if let Some(into) = self.saddr_into {
            entry.set(into, &saddr);
        }
        if let (Some(into), Some(sport)) = (self.sport_into, sport) {
            entry.set(into, &sport);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldTable;

    struct Fixture {
        fields: FieldTable,
        saddr: FieldId,
        sport: FieldId,
        port: FieldId,
        client: FieldId,
        client_port: FieldId,
    }

    fn fixture() -> Fixture {
        let mut fields = FieldTable::new();
        let saddr = fields.intern("saddr");
        let sport = fields.intern("sport");
        let port = fields.intern("port");
        let client = fields.intern("client");
        let client_port = fields.intern("clientPort");
        Fixture { fields, saddr, sport, port, client, client_port }
    }

    const S: u64 = 1_000_000;

    #[test]
    fn capture_then_replace_then_expire() {
        let f = fixture();
        let capture = DnatCapture::new(
            f.saddr,
            Some(f.sport),
            [Some(Source::Value("10.0.0.2".into())), Some(Source::Field(f.port)), None, None],
            DEFAULT_KEEP_SECONDS,
        );
        let replace = DnatReplace::new([None, Some(f.port), None, None], Some(f.client), Some(f.client_port));
        let mut table = DnatTable::default();

        let mut seen = Entry::new(&f.fields);
        seen.set_time_us(100 * S);
        seen.set(f.saddr, "203.0.113.8");
        seen.set(f.sport, "51000");
        seen.set(f.port, "40001");
        capture.run(&seen, &mut table);
        assert_eq!(table.len(), 1);

        let mut proxied = Entry::new(&f.fields);
        proxied.set_time_us(130 * S);
        proxied.set(f.port, "40001");
        replace.run(&mut proxied, &mut table);
        assert_eq!(proxied.get(f.client), Some("203.0.113.8"));
        assert_eq!(proxied.get(f.client_port), Some("51000"));

        let mut other_port = Entry::new(&f.fields);
        other_port.set_time_us(130 * S);
        other_port.set(f.port, "40002");
        replace.run(&mut other_port, &mut table);
        assert_eq!(other_port.get(f.client), None);

        let mut late = Entry::new(&f.fields);
        late.set_time_us(163 * S);
        late.set(f.port, "40001");
        replace.run(&mut late, &mut table);
        assert_eq!(late.get(f.client), None, "the capture expired after 63 s");
    }

    #[test]
    fn newest_capture_wins_and_incomplete_ones_are_ignored() {
        let f = fixture();
        let capture = DnatCapture::new(f.saddr, None, [None, Some(Source::Field(f.port)), None, None], 60);
        let replace = DnatReplace::new([None, Some(f.port), None, None], Some(f.client), None);
        let mut table = DnatTable::default();
        let mut e = Entry::new(&f.fields);
        e.set(f.saddr, "198.51.100.1");
        capture.run(&e, &mut table);
        assert!(table.is_empty(), "no port field: not captured");
        for client in ["198.51.100.1", "198.51.100.2"] {
            e.set(f.saddr, client);
            e.set(f.port, "8080");
            capture.run(&e, &mut table);
        }
        let mut q = Entry::new(&f.fields);
        q.set(f.port, "8080");
        replace.run(&mut q, &mut table);
        assert_eq!(q.get(f.client), Some("198.51.100.2"));
    }

    #[test]
    fn table_is_capped() {
        let f = fixture();
        let capture = DnatCapture::new(f.saddr, None, [None, Some(Source::Field(f.port)), None, None], 3600);
        let mut table = DnatTable::default();
        let mut e = Entry::new(&f.fields);
        e.set(f.saddr, "192.0.2.1");
        for port in 0..(MAX_CAPTURES + 10) {
            e.set(f.port, &port.to_string());
            capture.run(&e, &mut table);
        }
        assert_eq!(table.len(), MAX_CAPTURES);
    }
}
