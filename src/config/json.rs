//! A JSON tree that keeps objects as ordered lists of pairs.
//!
//! `serde_json::Value` collapses duplicate keys silently. Python's `json`
//! module does too (the last value wins, at the position of the first key), so
//! a Pyruse configuration with a duplicated chain label or argument "worked";
//! banwarden keeps Python's meaning but warns, which needs the duplicates to
//! survive parsing. Order matters as well: chain order drives default linking.

use std::collections::hash_map::{Entry, HashMap};
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Number(serde_json::Number),
    String(String),
    Array(Vec<Json>),
    /// Every pair in file order, duplicates included.
    Object(Vec<(String, Json)>),
}

impl Json {
    /// The name of this value's JSON type, for error messages.
    pub fn type_name(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "a list",
            Json::Object(_) => "an object",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Json::String(s) => Some(s),
            _ => None,
        }
    }
}

/// Resolves an object's pairs as Python's `json.loads` would: one entry per
/// key, at the position of its first occurrence, holding the last value.
/// Returns the keys that were duplicated, each once.
/// Linear in the number of pairs: the `actions` object of a large
/// configuration has 100,000 chains.
pub fn dedup_pairs(pairs: &[(String, Json)]) -> (Vec<(&str, &Json)>, Vec<&str>) {
    let mut out: Vec<(&str, &Json)> = Vec::with_capacity(pairs.len());
    // Key -> (its place in `out`, already listed as duplicated).
    let mut at: HashMap<&str, (usize, bool)> = HashMap::with_capacity(pairs.len());
    let mut dups: Vec<&str> = Vec::new();
    for (key, value) in pairs {
        match at.entry(key) {
            Entry::Occupied(mut slot) => {
                let (place, listed) = slot.get_mut();
                out[*place].1 = value;
                if !*listed {
                    *listed = true;
                    dups.push(key);
                }
            }
            Entry::Vacant(slot) => {
                slot.insert((out.len(), false));
                out.push((key, value));
            }
        }
    }
    (out, dups)
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Json, E> {
        serde_json::Number::from_f64(v).map(Json::Number).ok_or_else(|| E::custom(format!("number {v} is not finite")))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json, E> {
        Ok(Json::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Json, E> {
        Ok(Json::String(v))
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut pairs = Vec::new();
        while let Some((key, value)) = map.next_entry::<String, Json>()? {
            pairs.push((key, value));
        }
        Ok(Json::Object(pairs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_duplicates() {
        let j: Json = serde_json::from_str(r#"{"b": 1, "a": [true, null, "x"], "b": 2.5}"#).unwrap();
        let Json::Object(pairs) = &j else { panic!() };
        let keys: Vec<_> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "b"]);
        let (resolved, dups) = dedup_pairs(pairs);
        assert_eq!(resolved.iter().map(|(k, _)| *k).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(resolved[0].1, &Json::Number(serde_json::Number::from_f64(2.5).unwrap()));
        assert_eq!(dups, ["b"]);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = serde_json::from_str::<Json>("{\n  \"a\": [1,\n}").unwrap_err();
        assert_eq!(err.line(), 3);
        assert!(err.column() > 0);
    }
}
