//! `filter_pcre` and `filter_pcreAny`: a regular expression found in a field.
//!
//! Search semantics (found anywhere, as Python's `re.search`); an absent field
//! is searched as the empty string. On a match, `filter_pcre` stores the
//! positional groups under its `save` names first, then every named group
//! under its own name, in that order, as Pyruse did (so a named group wins
//! over a `save` name it collides with). A group that did not take part in
//! the match leaves its field absent (Python stored `None`, which behaves the
//! same in every filter and renders as `None` in templates).
//!
//! Captured text is first copied into a scratch buffer owned by the filter,
//! because the haystack is itself a field of the entry that is being written;
//! the buffer is reused, so a match allocates nothing once warmed up.

use std::cell::RefCell;

use super::pyregex::PyRegex;
use super::FilterError;
use crate::entry::Entry;
use crate::fields::FieldId;

/// Where each capture group goes, and room to hold the captures.
#[derive(Debug)]
struct Captures {
    /// (group index, destination field), in the order fields are written.
    targets: Vec<(usize, FieldId)>,
    /// Whether group i has a target, so unneeded groups are not copied.
    wanted: Vec<bool>,
}

#[derive(Debug, Default)]
struct Scratch {
    text: String,
    spans: Vec<Option<(usize, usize)>>,
}

impl Captures {
    /// The fields a match writes.
    fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.targets.iter().map(|&(_, field)| field)
    }

    fn new(regex: &PyRegex, save: &[FieldId], named: &[FieldId]) -> Captures {
        let mut targets: Vec<(usize, FieldId)> = save.iter().enumerate().map(|(i, &field)| (i + 1, field)).collect();
        targets.extend(regex.named_groups().iter().zip(named).map(|(&(group, _), &field)| (group, field)));
        let mut wanted = vec![false; regex.group_count() + 1];
        for &(group, _) in &targets {
            wanted[group] = true;
        }
        Captures { targets, wanted }
    }

    /// Searches `field`; on a match, writes the captures into the entry.
    fn apply(
        &self,
        regex: &PyRegex,
        field: FieldId,
        entry: &mut Entry,
        scratch: &mut Scratch,
    ) -> Result<bool, FilterError> {
        let haystack = entry.get(field).unwrap_or("");
        // Most lines do not match: deciding that needs no capture slots,
        // which the engines answer several times faster.
        let matched = regex.is_match(haystack)?;
        if !matched || self.targets.is_empty() {
            return Ok(matched);
        }
        let Scratch { text, spans } = scratch;
        text.clear();
        spans.clear();
        spans.resize(self.wanted.len(), None);
        let matched = regex.search(haystack, |group, capture| {
            if let (true, Some(capture)) = (self.wanted[group], capture) {
                let start = text.len();
                text.push_str(capture);
                spans[group] = Some((start, text.len()));
            }
        })?;
        if matched {
            for &(group, dest) in &self.targets {
                match spans[group] {
                    Some((start, end)) => entry.set(dest, &text[start..end]),
                    None => entry.remove(dest),
                }
            }
        }
        Ok(matched)
    }
}

#[derive(Debug)]
pub struct Pcre {
    field: FieldId,
    regex: PyRegex,
    captures: Captures,
    scratch: RefCell<Scratch>,
}

impl Pcre {
    /// The field this filter reads.
    pub fn field(&self) -> FieldId {
        self.field
    }

    /// `save[i]` receives group i+1; `named[j]` receives the j-th named group
    /// of `regex.named_groups()`. The caller checks that `save` is not longer
    /// than the number of groups.
    pub fn new(field: FieldId, regex: PyRegex, save: &[FieldId], named: &[FieldId]) -> Pcre {
        let captures = Captures::new(&regex, save, named);
        Pcre { field, regex, captures, scratch: RefCell::default() }
    }

    pub fn regex(&self) -> &PyRegex {
        &self.regex
    }

    /// The fields a match writes (`save` names and named groups).
    pub fn writes(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.captures.fields()
    }

    pub fn test(&self, entry: &mut Entry) -> Result<bool, FilterError> {
        self.captures.apply(&self.regex, self.field, entry, &mut self.scratch.borrow_mut())
    }
}

#[derive(Debug)]
pub struct PcreAny {
    field: FieldId,
    regexes: Vec<(PyRegex, Captures)>,
    scratch: RefCell<Scratch>,
}

impl PcreAny {
    /// The field this filter reads.
    pub fn field(&self) -> FieldId {
        self.field
    }

    /// Each regex comes with the fields for its named groups, in order.
    pub fn new(field: FieldId, regexes: Vec<(PyRegex, Vec<FieldId>)>) -> PcreAny {
        let regexes = regexes
            .into_iter()
            .map(|(regex, named)| {
                let captures = Captures::new(&regex, &[], &named);
                (regex, captures)
            })
            .collect();
        PcreAny { field, regexes, scratch: RefCell::default() }
    }

    pub fn regexes(&self) -> impl Iterator<Item = &PyRegex> {
        self.regexes.iter().map(|(r, _)| r)
    }

    /// The fields a match may write (the named groups of every regex).
    pub fn writes(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.regexes.iter().flat_map(|(_, captures)| captures.fields())
    }

    pub fn test(&self, entry: &mut Entry) -> Result<bool, FilterError> {
        let mut scratch = self.scratch.borrow_mut();
        for (regex, captures) in &self.regexes {
            if captures.apply(regex, self.field, entry, &mut scratch)? {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldTable, MESSAGE};

    fn named_fields(fields: &mut FieldTable, regex: &PyRegex) -> Vec<FieldId> {
        regex.named_groups().iter().map(|(_, name)| fields.intern(name)).collect()
    }

    const SSHD: &str =
        r"^Failed password for (?:invalid user )?(?P<user>\S+) from (?P<thatIP>[0-9a-fA-F.:]+) port (\d+) ssh2$";

    #[test]
    fn named_groups_are_stored() {
        let mut fields = FieldTable::new();
        let re = PyRegex::new(SSHD).unwrap();
        let named = named_fields(&mut fields, &re);
        let filter = Pcre::new(MESSAGE, re, &[], &named);
        let mut e = Entry::new(&fields);
        e.set(MESSAGE, "Failed password for invalid user admin from 192.0.2.7 port 4242 ssh2");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(fields.get("user").unwrap()), Some("admin"));
        assert_eq!(e.get(fields.get("thatIP").unwrap()), Some("192.0.2.7"));
    }

    #[test]
    fn save_then_named_and_search_semantics() {
        let mut fields = FieldTable::new();
        let re = PyRegex::new(r"for (\S+) from (?P<thatIP>\S+) port (\d+)").unwrap();
        let named = named_fields(&mut fields, &re);
        let save = [fields.intern("who"), fields.intern("thatIP"), fields.intern("port")];
        let filter = Pcre::new(MESSAGE, re, &save, &named);
        let mut e = Entry::new(&fields);
        // Found in the middle of the line: search, not match.
        e.set(MESSAGE, "Failed password for root from 198.51.100.2 port 22 ssh2");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(save[0]), Some("root"));
        // save[1] names group 2 "thatIP" too: the named group is written last.
        assert_eq!(e.get(save[1]), Some("198.51.100.2"));
        assert_eq!(e.get(save[2]), Some("22"));
    }

    #[test]
    fn capture_from_the_field_being_overwritten() {
        let mut fields = FieldTable::new();
        let re = PyRegex::new(r"^prefix: (.*)$").unwrap();
        let filter = Pcre::new(MESSAGE, re, &[MESSAGE], &[]);
        let mut e = Entry::new(&fields);
        e.set(MESSAGE, "prefix: rest of it");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(MESSAGE), Some("rest of it"));
        let _ = &mut fields;
    }

    #[test]
    fn non_participating_group_leaves_field_absent() {
        let mut fields = FieldTable::new();
        let re = PyRegex::new(r"rhost=(?P<thatIP>\S+)(?: +user=(?P<user>.*))?$").unwrap();
        let named = named_fields(&mut fields, &re);
        let filter = Pcre::new(MESSAGE, re, &[], &named);
        let user = fields.get("user").unwrap();
        let mut e = Entry::new(&fields);
        e.set(user, "stale");
        e.set(MESSAGE, "authentication failure; logname= rhost=203.0.113.4");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(user), None);
    }

    #[test]
    fn absent_field_is_searched_as_empty() {
        let mut fields = FieldTable::new();
        let other = fields.intern("NOPE");
        let e_fields = fields.clone();
        let matches_empty = Pcre::new(other, PyRegex::new("^$").unwrap(), &[], &[]);
        let needs_text = Pcre::new(other, PyRegex::new("x").unwrap(), &[], &[]);
        let mut e = Entry::new(&e_fields);
        assert!(matches_empty.test(&mut e).unwrap());
        assert!(!needs_text.test(&mut e).unwrap());
    }

    #[test]
    fn no_match_writes_nothing() {
        let mut fields = FieldTable::new();
        let re = PyRegex::new(SSHD).unwrap();
        let named = named_fields(&mut fields, &re);
        let filter = Pcre::new(MESSAGE, re, &[], &named);
        let mut e = Entry::new(&fields);
        e.set(MESSAGE, "Accepted publickey for alice from 192.0.2.1 port 1 ssh2");
        assert!(!filter.test(&mut e).unwrap());
        assert_eq!(e.get(fields.get("thatIP").unwrap()), None);
    }

    #[test]
    fn pcre_any_stores_groups_of_the_first_match() {
        let mut fields = FieldTable::new();
        let a = PyRegex::new(r"^user (?P<user>\S+) unknown").unwrap();
        let b = PyRegex::new(r"from (?P<thatIP>\S+)$").unwrap();
        let (na, nb) = (named_fields(&mut fields, &a), named_fields(&mut fields, &b));
        let filter = PcreAny::new(MESSAGE, vec![(a, na), (b, nb)]);
        let (user, ip) = (fields.get("user").unwrap(), fields.get("thatIP").unwrap());
        let mut e = Entry::new(&fields);
        e.set(MESSAGE, "user bob unknown from 192.0.2.3");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(user), Some("bob"));
        assert_eq!(e.get(ip), None, "only the first matching regex stores its groups");
        e.clear();
        e.set(MESSAGE, "login from 192.0.2.4");
        assert!(filter.test(&mut e).unwrap());
        assert_eq!(e.get(ip), Some("192.0.2.4"));
        e.set(MESSAGE, "nothing here");
        assert!(!filter.test(&mut e).unwrap());
    }
}
