//! `filter_equals`, `filter_lowerOrEquals`, `filter_greaterOrEquals`.
//!
//! Pyruse compared Python values: journal numbers such as `PRIORITY` arrive as
//! `int`, everything else as `str`. banwarden keeps every value as text and
//! decides by the configured value instead: a number in the configuration
//! compares numerically (the field's text parsed as a number), a string
//! compares as text (by code point, as Python orders `str`). An absent field
//! fails. A field that is not a number fails `filter_equals`, and is an error
//! for the ordering filters (Python raised `TypeError` there).

use std::cmp::Ordering;

use super::FilterError;
use crate::entry::Entry;
use crate::fields::FieldId;

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op {
    Equals,
    LowerOrEquals,
    GreaterOrEquals,
}

/// A JSON number: integers stay exact, anything else is a float.
#[derive(Copy, Clone, Debug, PartialEq)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Number {
    /// Parses a field's text the way Python's `int()` then `float()` would.
    pub fn parse(text: &str) -> Option<Number> {
        let text = text.trim();
        if let Ok(i) = text.parse::<i64>() {
            return Some(Number::Int(i));
        }
        // Rust accepts "inf"/"nan" spellings Python's float() also accepts;
        // reject the ones neither a journal nor Pyruse would produce.
        match text.parse::<f64>() {
            Ok(f) if !text.is_empty() => Some(Number::Float(f)),
            _ => None,
        }
    }

    pub fn from_json(n: &serde_json::Number) -> Option<Number> {
        match n.as_i64() {
            Some(i) => Some(Number::Int(i)),
            None => n.as_f64().map(Number::Float),
        }
    }

    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// Python's mixed int/float ordering; `None` when a NaN is involved.
    pub fn compare(self, other: Number) -> Option<Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// The configured value of a comparison.
#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Text(String),
    Number(Number),
}

#[derive(Debug)]
pub struct Compare {
    field: FieldId,
    op: Op,
    value: Operand,
}

impl Compare {
    pub fn new(field: FieldId, op: Op, value: Operand) -> Compare {
        Compare { field, op, value }
    }

    pub fn field(&self) -> FieldId {
        self.field
    }

    pub fn op(&self) -> Op {
        self.op
    }

    pub fn value(&self) -> &Operand {
        &self.value
    }

    pub fn test(&self, entry: &Entry) -> Result<bool, FilterError> {
        let Some(text) = entry.get(self.field) else { return Ok(false) };
        let ordering = match &self.value {
            Operand::Text(value) => Some(text.cmp(value.as_str())),
            Operand::Number(value) => match Number::parse(text) {
                Some(n) => n.compare(*value),
                None if self.op == Op::Equals => return Ok(false),
                None => return Err(FilterError::NotANumber(text.to_owned())),
            },
        };
        Ok(match (self.op, ordering) {
            (_, None) => false,
            (Op::Equals, Some(o)) => o == Ordering::Equal,
            (Op::LowerOrEquals, Some(o)) => o != Ordering::Greater,
            (Op::GreaterOrEquals, Some(o)) => o != Ordering::Less,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::{FieldTable, PRIORITY};

    fn entry_with(id: FieldId, value: &str) -> Entry {
        let mut e = Entry::new(&FieldTable::new());
        e.set(id, value);
        e
    }

    fn num(n: i64) -> Operand {
        Operand::Number(Number::Int(n))
    }

    #[test]
    fn equals_text_and_number() {
        let e = entry_with(PRIORITY, "3");
        assert!(Compare::new(PRIORITY, Op::Equals, num(3)).test(&e).unwrap());
        assert!(Compare::new(PRIORITY, Op::Equals, Operand::Number(Number::Float(3.0))).test(&e).unwrap());
        assert!(!Compare::new(PRIORITY, Op::Equals, num(4)).test(&e).unwrap());
        assert!(Compare::new(PRIORITY, Op::Equals, Operand::Text("3".into())).test(&e).unwrap());
        assert!(!Compare::new(PRIORITY, Op::Equals, Operand::Text("03".into())).test(&e).unwrap());
    }

    #[test]
    fn numbers_compare_as_numbers_not_text() {
        // As text "10" < "9"; as numbers it is the other way round.
        let e = entry_with(PRIORITY, "10");
        assert!(Compare::new(PRIORITY, Op::GreaterOrEquals, num(9)).test(&e).unwrap());
        assert!(!Compare::new(PRIORITY, Op::LowerOrEquals, num(9)).test(&e).unwrap());
        assert!(Compare::new(PRIORITY, Op::LowerOrEquals, Operand::Text("9".into())).test(&e).unwrap());
    }

    #[test]
    fn bounds_are_inclusive() {
        let e = entry_with(PRIORITY, "4");
        assert!(Compare::new(PRIORITY, Op::LowerOrEquals, num(4)).test(&e).unwrap());
        assert!(Compare::new(PRIORITY, Op::GreaterOrEquals, num(4)).test(&e).unwrap());
        assert!(!Compare::new(PRIORITY, Op::LowerOrEquals, num(3)).test(&e).unwrap());
    }

    #[test]
    fn absent_field_fails_without_error() {
        let e = Entry::new(&FieldTable::new());
        for op in [Op::Equals, Op::LowerOrEquals, Op::GreaterOrEquals] {
            assert!(!Compare::new(PRIORITY, op, num(1)).test(&e).unwrap());
        }
    }

    #[test]
    fn non_number_fails_equals_and_errors_ordering() {
        let e = entry_with(PRIORITY, "high");
        assert!(!Compare::new(PRIORITY, Op::Equals, num(1)).test(&e).unwrap());
        let err = Compare::new(PRIORITY, Op::LowerOrEquals, num(1)).test(&e).unwrap_err();
        assert_eq!(err.to_string(), r#"value "high" is not a number"#);
    }

    #[test]
    fn number_parsing() {
        assert_eq!(Number::parse(" 42 "), Some(Number::Int(42)));
        assert_eq!(Number::parse("-1.5"), Some(Number::Float(-1.5)));
        assert_eq!(Number::parse(""), None);
        assert_eq!(Number::parse("1e3"), Some(Number::Float(1000.0)));
        assert_eq!(Number::Int(i64::MAX).compare(Number::Int(i64::MAX - 1)), Some(Ordering::Greater));
    }
}
