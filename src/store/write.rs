//! Records as the store writes them: Pyruse's JSON objects, one per line,
//! written straight into a buffer (no `Value` tree per record).

use std::collections::HashMap;

use super::{set_key, Record, Until};
use crate::vocab::{Backend, SetRef};

/// Pyruse's `timestamp`: seconds (a float), 0 for permanent.
pub(super) fn write_until(until: Until, out: &mut Vec<u8>) {
    match until {
        Until::Forever => out.push(b'0'),
        Until::At(us) => serde_json::to_writer(out, &(us as f64 / 1e6)).expect("a finite float serialises"),
    }
}

/// One record as a JSON object, written straight into `out` (the store
/// writes 100,000s of them in a flood: no `Value` tree per record).
/// Log lines carry an `op`; snapshot entries do not.
pub(super) fn write_record(backend: Backend, out: &mut Vec<u8>, names: &mut SetNames, op: Option<&str>, r: &Record) {
    let (ip, set, until, start) = (r.net, &r.set, r.until, r.start);
    use std::io::Write;
    out.push(b'{');
    if let Some(op) = op {
        write!(out, "\"op\": \"{op}\", ").expect("writing to a Vec");
    }
    write!(out, "\"IP\": \"{ip}\", \"{}\": ", set_key(backend)).expect("writing to a Vec");
    out.extend_from_slice(names.json(set));
    out.extend_from_slice(b", \"timestamp\": ");
    write_until(until, out);
    if start > 0 {
        out.extend_from_slice(b", \"start\": ");
        write_until(Until::At(start), out);
    }
    if let Some(by) = &r.by {
        out.extend_from_slice(b", \"by\": ");
        serde_json::to_writer(&mut *out, &**by).expect("a string serialises");
    }
    if let Some(why) = &r.why {
        super::reason::write(why, out);
    }
    out.push(b'}');
}

/// Set names as JSON strings, encoded once per set for a whole write.
#[derive(Default)]
pub(super) struct SetNames(HashMap<SetRef, Vec<u8>>);

impl SetNames {
    pub(super) fn json(&mut self, set: &SetRef) -> &[u8] {
        self.0.entry(set.clone()).or_insert_with(|| serde_json::to_vec(&set.to_string()).expect("a string serialises"))
    }
}
