//! Reading store records, fast for the files banwarden writes and lenient
//! for the ones people edit.
//!
//! Each record is first read into a typed struct borrowing its strings from
//! the file (no tree of `Value`s, no allocation for a plain record): a store
//! of 1,000,000 bans loads in a fraction of a second. A record that does not
//! fit that shape (a field of the wrong type, say) is read again as a
//! `Value`, only to say precisely what is wrong with it.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

/// Distinct origins shared by one reader.
const MAX_ORIGINS: usize = 4096;
/// A longer `"by"` is not an origin banwarden wrote: left out.
const MAX_ORIGIN_LEN: usize = 256;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use super::{set_key, until_from_seconds, Record, Until};
use crate::vocab::{Backend, Network, Reason, SetRef};

/// A record as it is on disk.
#[derive(Deserialize)]
struct OnDisk<'a> {
    #[serde(default, borrow)]
    op: Option<Cow<'a, str>>,
    #[serde(rename = "IP", borrow)]
    ip: Cow<'a, str>,
    #[serde(rename = "nfSet", default, borrow)]
    nf_set: Option<Cow<'a, str>>,
    #[serde(rename = "ipSet", default, borrow)]
    ip_set: Option<Cow<'a, str>>,
    timestamp: f64,
    /// banwarden's own key: when the ban was decided.
    #[serde(default)]
    start: Option<f64>,
    /// banwarden's own key: who decided the ban.
    #[serde(default, borrow)]
    by: Option<Cow<'a, str>>,
    /// banwarden's own key: why (read apart, leniently: see `reason`).
    #[serde(default, borrow)]
    why: Option<&'a RawValue>,
}

/// A record read, with its log operation if it had one.
pub struct Parsed {
    pub op: Option<String>,
    pub net: Network,
    pub set: SetRef,
    pub until: Until,
    /// When the ban was decided (µs), 0 when the record does not say.
    pub start: u64,
    /// Who decided it (`"by"`), when the record says.
    pub by: Option<Arc<str>>,
    /// Why (`"why"`), when the record says.
    pub why: Option<Arc<Reason>>,
}

impl Parsed {
    /// The record, without the log's operation.
    pub fn into_record(self) -> Record {
        Record { net: self.net, set: self.set, until: self.until, start: self.start, by: self.by, why: self.why }
    }
}

/// Reads records of one backend, remembering the last set name normalised
/// (records come in long runs of the same set).
pub struct Reader {
    backend: Backend,
    last_set: Option<(String, SetRef)>,
    /// The origins read so far, each kept once (a store of 1,000,000 bans
    /// holds a few dozen distinct ones).
    origins: HashMap<String, Arc<str>>,
}

impl Reader {
    pub fn new(backend: Backend) -> Reader {
        Reader { backend, last_set: None, origins: HashMap::new() }
    }

    /// One JSON object of the snapshot or the log, or why it is unusable.
    pub fn record(&mut self, text: &str) -> Result<Parsed, String> {
        match serde_json::from_str::<OnDisk>(text) {
            Ok(fields) => {
                // Accept either key: a store moved between backends by hand.
                let set = match self.backend {
                    Backend::Nft => fields.nf_set.as_ref().or(fields.ip_set.as_ref()),
                    Backend::Ipset => fields.ip_set.as_ref().or(fields.nf_set.as_ref()),
                };
                let set = set.ok_or_else(|| format!("no \"{}\" string", set_key(self.backend)))?;
                let parsed = self.check(fields.op.map(Cow::into_owned), &fields.ip, set, Some(fields.timestamp))?;
                let by = fields.by.as_deref().and_then(|by| self.origin(by));
                let why = fields.why.and_then(super::reason::read).map(Arc::new);
                Ok(Parsed { start: start_us(fields.start), by, why, ..parsed })
            }
            Err(_) => self.record_leniently(text),
        }
    }

    /// The slow path, for a precise message about an odd record.
    fn record_leniently(&mut self, text: &str) -> Result<Parsed, String> {
        let item: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        if !item.is_object() {
            return Err(format!("expected an object, found {}", kind(&item)));
        }
        let op = match item.get("op") {
            None => None,
            Some(Value::String(op)) => Some(op.clone()),
            Some(other) => return Err(format!("\"op\" should be a string, found {}", kind(other))),
        };
        let ip = item.get("IP").and_then(Value::as_str).ok_or("no \"IP\" string")?;
        let set = item
            .get(set_key(self.backend))
            .or_else(|| item.get("nfSet"))
            .or_else(|| item.get("ipSet"))
            .and_then(Value::as_str)
            .ok_or_else(|| format!("no \"{}\" string", set_key(self.backend)))?;
        let parsed = self.check(op, ip, set, item.get("timestamp").and_then(Value::as_f64))?;
        let by = item.get("by").and_then(Value::as_str).and_then(|by| self.origin(by));
        let why = item.get("why").and_then(|why| RawValue::from_string(why.to_string()).ok());
        let why = why.and_then(|raw| super::reason::read(&raw)).map(Arc::new);
        Ok(Parsed { start: start_us(item.get("start").and_then(Value::as_f64)), by, why, ..parsed })
    }

    /// An origin as one shared string; past [`MAX_ORIGINS`] distinct ones
    /// (a store edited by hand), each is its own.
    fn origin(&mut self, by: &str) -> Option<Arc<str>> {
        if by.is_empty() || by.len() > MAX_ORIGIN_LEN {
            return None;
        }
        if let Some(shared) = self.origins.get(by) {
            return Some(shared.clone());
        }
        let shared: Arc<str> = Arc::from(by);
        if self.origins.len() < MAX_ORIGINS {
            self.origins.insert(by.to_owned(), shared.clone());
        }
        Some(shared)
    }

    fn check(
        &mut self,
        op: Option<String>,
        ip_text: &str,
        set: &str,
        timestamp: Option<f64>,
    ) -> Result<Parsed, String> {
        // An address, or a network (`203.0.113.0/24`): Pyruse's `IP` key
        // holds either, and its boot hands the text to nft or ipset as is.
        let ip = Network::target(ip_text)?;
        let until = timestamp
            .and_then(until_from_seconds)
            .ok_or("no valid \"timestamp\" (end time in seconds, 0 for permanent)")?;
        let set = match &self.last_set {
            Some((raw, parsed)) if raw == set => parsed.clone(),
            _ => {
                let parsed = SetRef::parse(self.backend, set)?;
                self.last_set = Some((set.to_owned(), parsed.clone()));
                parsed
            }
        };
        Ok(Parsed { op, net: ip, set, until, start: 0, by: None, why: None })
    }
}

/// banwarden's `"start"` (seconds) in µs; a value that makes no sense is
/// read as unknown (0), which only means no cap on a restored timeout.
fn start_us(seconds: Option<f64>) -> u64 {
    match seconds {
        Some(s) if s > 0.0 && s < 1e13 => (s * 1e6).round() as u64,
        _ => 0,
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The objects of a JSON list, as raw text, without parsing them yet.
pub fn list_items(bytes: &[u8]) -> Result<Vec<&str>, serde_json::Error> {
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_slice(bytes)?;
    Ok(items.into_iter().map(|raw| raw.get()).collect())
}

/// The text without what people write by hand and JSON refuses: a UTF-8
/// byte-order mark, `//` and `/* */` comments, and commas before a closing
/// `]` or `}`. `None` when it has none of these (nothing to try again).
pub fn relaxed(bytes: &[u8]) -> Option<Vec<u8>> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut changed = body.len() != bytes.len();
    let mut out = Vec::with_capacity(body.len());
    let (mut i, mut in_string) = (0, false);
    while i < body.len() {
        let c = body[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < body.len() {
                out.push(body[i + 1]);
                i += 2;
                continue;
            }
            in_string = c != b'"';
            i += 1;
            continue;
        }
        match (c, body.get(i + 1)) {
            (b'"', _) => {
                in_string = true;
                out.push(c);
                i += 1;
            }
            (b'/', Some(b'/')) => {
                changed = true;
                while i < body.len() && body[i] != b'\n' {
                    i += 1;
                }
            }
            (b'/', Some(b'*')) => {
                changed = true;
                i += 2;
                while i < body.len() && !body[i..].starts_with(b"*/") {
                    i += 1;
                }
                i += 2;
            }
            (b']' | b'}', _) => {
                let end = out.iter().rposition(|b| !b.is_ascii_whitespace());
                if let Some(comma) = end.filter(|&j| out[j] == b',') {
                    out.remove(comma);
                    changed = true;
                }
                out.push(c);
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    changed.then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_json_is_read_leniently() {
        let text = "\u{feff}[ // banned by hand\n {\"IP\": \"192.0.2.1\", \"nfSet\": \"t s\", /* a note, with a , */ \"timestamp\": 0},\n]\n";
        assert!(list_items(text.as_bytes()).is_err());
        let fixed = relaxed(text.as_bytes()).unwrap();
        let items = list_items(&fixed).unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].contains("\"timestamp\": 0}"), "{}", items[0]);
        // Strings keep what looks like comments and commas.
        let text = br#"[{"IP": "192.0.2.1", "nfSet": "t // s,]", "timestamp": 0}]"#;
        assert_eq!(relaxed(text), None, "nothing to relax");
        assert_eq!(relaxed(b"[1,2,,]"), Some(b"[1,2,]".to_vec()), "only one comma goes: still invalid");
    }
}
