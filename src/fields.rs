//! Field names interned into small integer ids.
//!
//! Every field name a configuration can ever look at (filter fields, regex
//! group names, `save` targets, template placeholders) is known once the
//! configuration is compiled. Interning them lets an [`Entry`](crate::entry::Entry)
//! be a flat vector indexed by [`FieldId`] instead of a map of strings, and lets
//! readers skip every journal field no rule mentions.

use std::collections::HashMap;

/// Index of an interned field name. Only meaningful with the table that made it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(u32);

impl FieldId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// Fields that the engine itself reads or writes, interned first so their ids
/// are constants.
pub const REALTIME_TIMESTAMP: FieldId = FieldId(0);
pub const MESSAGE: FieldId = FieldId(1);
pub const PRIORITY: FieldId = FieldId(2);
pub const SYSLOG_IDENTIFIER: FieldId = FieldId(3);

const WELL_KNOWN: [&str; 4] = ["__REALTIME_TIMESTAMP", "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER"];

/// Journal fields that python-systemd hands to Pyruse as `int` (its
/// `DEFAULT_CONVERTERS`). It matters for templates: `{PRIORITY:>3}` and `{x:d}`
/// format a number, and numbers align right by default.
const NUMERIC_JOURNAL_FIELDS: [&str; 26] = [
    "PRIORITY",
    "LEADER",
    "SESSION_ID",
    "USERSPACE_USEC",
    "INITRD_USEC",
    "KERNEL_USEC",
    "_UID",
    "_GID",
    "_PID",
    "SYSLOG_FACILITY",
    "SYSLOG_PID",
    "_AUDIT_SESSION",
    "_AUDIT_LOGINUID",
    "_SYSTEMD_SESSION",
    "_SYSTEMD_OWNER_UID",
    "CODE_LINE",
    "ERRNO",
    "EXIT_STATUS",
    "COREDUMP_PID",
    "COREDUMP_UID",
    "COREDUMP_GID",
    "COREDUMP_SESSION",
    "COREDUMP_SIGNAL",
    "_LINE_BREAK_COUNT",
    "_STREAM_ID_NUM",
    "OBJECT_PID",
];

/// The set of field names a compiled configuration uses.
#[derive(Debug, Clone)]
pub struct FieldTable {
    names: Vec<Box<str>>,
    numeric: Vec<bool>,
    index: HashMap<Box<[u8]>, FieldId>,
}

impl Default for FieldTable {
    fn default() -> Self {
        Self::new()
    }
}

impl FieldTable {
    pub fn new() -> FieldTable {
        let mut table = FieldTable { names: Vec::new(), numeric: Vec::new(), index: HashMap::new() };
        for name in WELL_KNOWN {
            table.intern(name);
        }
        table
    }

    /// The id of `name`, adding it if it is new.
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(&id) = self.index.get(name.as_bytes()) {
            return id;
        }
        let id = FieldId(u32::try_from(self.names.len()).expect("fewer than 2^32 field names"));
        self.names.push(name.into());
        self.numeric.push(NUMERIC_JOURNAL_FIELDS.contains(&name));
        self.index.insert(name.as_bytes().into(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.get_bytes(name.as_bytes())
    }

    /// Lookup by raw bytes, as readers see field names in the journal.
    pub fn get_bytes(&self, name: &[u8]) -> Option<FieldId> {
        self.index.get(name).copied()
    }

    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id.index()]
    }

    /// Marks a field whose values are integers (a counter's `save` target).
    pub fn mark_numeric(&mut self, id: FieldId) {
        self.numeric[id.index()] = true;
    }

    /// Whether Pyruse would have held this field's value as an `int`.
    pub fn is_numeric(&self, id: FieldId) -> bool {
        self.numeric[id.index()]
    }

    pub fn len(&self) -> usize {
        self.names.len()
    }

    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.names.iter().enumerate().map(|(i, n)| (FieldId(i as u32), &**n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_ids_are_stable() {
        let t = FieldTable::new();
        assert_eq!(t.get("__REALTIME_TIMESTAMP"), Some(REALTIME_TIMESTAMP));
        assert_eq!(t.get("MESSAGE"), Some(MESSAGE));
        assert_eq!(t.get("PRIORITY"), Some(PRIORITY));
        assert_eq!(t.get("SYSLOG_IDENTIFIER"), Some(SYSLOG_IDENTIFIER));
    }

    #[test]
    fn intern_is_idempotent() {
        let mut t = FieldTable::new();
        let a = t.intern("thatIP");
        assert_eq!(t.intern("thatIP"), a);
        assert_eq!(t.get_bytes(b"thatIP"), Some(a));
        assert_eq!(t.name(a), "thatIP");
        assert_eq!(t.get("other"), None);
    }

    #[test]
    fn numeric_fields() {
        let mut t = FieldTable::new();
        assert!(t.is_numeric(PRIORITY));
        assert!(!t.is_numeric(MESSAGE));
        let pid = t.intern("_PID");
        assert!(t.is_numeric(pid));
        let n = t.intern("failures");
        assert!(!t.is_numeric(n));
        t.mark_numeric(n);
        assert!(t.is_numeric(n));
    }
}
