//! `filter_in`: the field equals one of a list of values.
//!
//! Values follow the rule of `filter_equals`: strings compare as text,
//! numbers numerically. An absent field fails.

use super::compare::Number;
use crate::entry::Entry;
use crate::fields::FieldId;

#[derive(Debug)]
pub struct InList {
    field: FieldId,
    texts: Vec<String>,
    numbers: Vec<Number>,
}

impl InList {
    pub fn new(field: FieldId, texts: Vec<String>, numbers: Vec<Number>) -> InList {
        InList { field, texts, numbers }
    }

    pub fn field(&self) -> FieldId {
        self.field
    }

    pub fn texts(&self) -> &[String] {
        &self.texts
    }

    pub fn numbers(&self) -> &[Number] {
        &self.numbers
    }

    pub fn test(&self, entry: &Entry) -> bool {
        let Some(text) = entry.get(self.field) else { return false };
        if self.texts.iter().any(|t| t == text) {
            return true;
        }
        if self.numbers.is_empty() {
            return false;
        }
        match Number::parse(text) {
            Some(n) => self.numbers.iter().any(|v| n.compare(*v) == Some(std::cmp::Ordering::Equal)),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldTable, PRIORITY};

    #[test]
    fn text_and_numbers() {
        let mut fields = FieldTable::new();
        let unit = fields.intern("_SYSTEMD_UNIT");
        let mut e = Entry::new(&fields);
        e.set(unit, "sshd.service");
        e.set(PRIORITY, "4");
        let units = InList::new(unit, vec!["nginx.service".into(), "sshd.service".into()], vec![]);
        assert!(units.test(&e));
        let prio = InList::new(PRIORITY, vec![], vec![Number::Int(3), Number::Int(4)]);
        assert!(prio.test(&e));
        let none = InList::new(PRIORITY, vec!["04".into()], vec![Number::Int(5)]);
        assert!(!none.test(&e));
        e.remove(unit);
        assert!(!units.test(&e), "absent field fails");
    }
}
