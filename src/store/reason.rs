//! A ban's reason as the store keeps it: one more key, `"why"`, beside
//! Pyruse's (which Pyruse's `json.load` reads and ignores), holding a flat
//! object of optional keys:
//!
//! `{"time": 1733600000.123456, "cursor": "s=…", "message": "Failed password
//! for…", "counter": "sshd", "key": "192.0.2.7", "count": 5, "note": "…",
//! "client": "198.51.100.4"}`
//!
//! `time` is in seconds like Pyruse's `timestamp`. Reading is lenient: a
//! `"why"` that does not have this shape (an edit by hand) is left out,
//! never a reason to refuse the ban it is in; and every text read is
//! bounded again, so a hand-made store cannot make one record large.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::vocab::reason::{CURSOR_MAX, MESSAGE_MAX, NAME_MAX, NOTE_MAX};
use crate::vocab::{CounterValue, Reason};

#[derive(Serialize, Deserialize, Default)]
struct OnDisk<'a> {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    time: Option<f64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    cursor: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    message: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    counter: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    key: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    count: Option<u64>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    note: Option<std::borrow::Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    client: Option<std::borrow::Cow<'a, str>>,
}

/// Appends `, "why": {…}` to a record being written.
pub(super) fn write(reason: &Reason, out: &mut Vec<u8>) {
    let counter = reason.counter.as_ref();
    let disk = OnDisk {
        time: reason.time_us.map(|t| t as f64 / 1e6),
        cursor: reason.cursor.as_deref().map(Into::into),
        message: reason.message.as_deref().map(Into::into),
        counter: counter.map(|c| (&*c.name).into()),
        key: counter.map(|c| (&*c.key).into()),
        count: counter.map(|c| c.count),
        note: reason.note.as_deref().map(Into::into),
        client: reason.client.as_deref().map(Into::into),
    };
    out.extend_from_slice(b", \"why\": ");
    serde_json::to_writer(out, &disk).expect("a reason serialises");
}

/// The reason a record's `"why"` holds; `None` when it holds nothing
/// usable.
pub(super) fn read(raw: &RawValue) -> Option<Reason> {
    let disk: OnDisk = serde_json::from_str(raw.get()).ok()?;
    // Texts this store wrote are within bounds already: cut again only
    // what a hand edit made longer (one more for the `…` of a cut text).
    let bounded = |text: Option<std::borrow::Cow<str>>, max: usize| text.map(|t| Reason::shorten(&t, max + 1));
    let counter = match (disk.counter, disk.key, disk.count) {
        (Some(name), Some(key), Some(count)) => Some(CounterValue {
            name: Reason::shorten(&name, NAME_MAX + 1),
            key: Reason::shorten(&key, NAME_MAX + 1),
            count,
        }),
        _ => None,
    };
    let reason = Reason {
        time_us: disk.time.filter(|t| *t > 0.0 && *t < 1e13).map(|t| (t * 1e6).round() as u64),
        cursor: disk.cursor.and_then(|c| Reason::cursor_checked(&c)).filter(|c| c.len() <= CURSOR_MAX),
        message: bounded(disk.message, MESSAGE_MAX),
        counter,
        note: bounded(disk.note, NOTE_MAX),
        client: bounded(disk.client, NAME_MAX),
    };
    (!reason.is_empty()).then_some(reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn a_reason_comes_back_as_written() {
        let reason = Reason {
            time_us: Some(1_733_600_000_123_456),
            cursor: Some("s=0123;i=4f;b=ab;m=12;t=5f;x=99".into()),
            message: Some("Failed password for root from 192.0.2.7 port 22 ssh2".into()),
            counter: Some(CounterValue { name: "sshd".into(), key: "192.0.2.7".into(), count: 5 }),
            note: Some("a \"quoted\" note".into()),
            client: None,
        };
        let mut out = Vec::new();
        write(&reason, &mut out);
        let text = String::from_utf8(out).unwrap();
        let object = text.strip_prefix(", \"why\": ").unwrap();
        assert!(!object.contains("client"), "absent parts are left out: {object}");
        assert_eq!(read(&raw(object)), Some(reason));
    }

    #[test]
    fn odd_reasons_are_left_out_or_bounded() {
        assert_eq!(read(&raw("\"spam\"")), None, "not an object");
        assert_eq!(read(&raw("{}")), None, "says nothing");
        assert_eq!(read(&raw(r#"{"count": "five"}"#)), None, "wrong type");
        let long = format!(r#"{{"message": "{}", "cursor": "{}"}}"#, "m".repeat(10_000), "c".repeat(10_000));
        let reason = read(&raw(&long)).unwrap();
        assert!(reason.message.unwrap().chars().count() <= MESSAGE_MAX + 2);
        assert_eq!(reason.cursor, None, "a cut cursor names no entry: left out");
        let partial = read(&raw(r#"{"counter": "sshd", "note": "by hand"}"#)).unwrap();
        assert_eq!((partial.counter, partial.note.as_deref()), (None, Some("by hand")), "a counter needs all three");
    }

    fn reason(note: &str) -> Option<std::sync::Arc<Reason>> {
        Some(std::sync::Arc::new(Reason::default().with_note(note)))
    }

    #[test]
    fn the_store_keeps_the_reason_of_the_current_end_through_log_and_snapshot() {
        use super::super::{BanStore, Record, Until};
        use crate::vocab::{Backend, SetRef};
        const NOW: u64 = 1_763_726_400_000_000;
        const HOUR: u64 = 3_600_000_000;
        let dir = tempfile::tempdir().unwrap();
        let open = || BanStore::open(dir.path(), Backend::Nft).unwrap();
        let mut store = open();
        let set = SetRef::parse_nft("ip t ban4").unwrap();
        let asked = |until, why| Record {
            net: "192.0.2.7".parse().unwrap(),
            set: set.clone(),
            until,
            start: NOW,
            by: None,
            why,
        };
        let why_of = |store: &mut BanStore| store.records_of("192.0.2.7".parse().unwrap(), NOW).unwrap()[0].why.clone();
        let first = asked(Until::At(NOW + 2 * HOUR), reason("first"));
        store.settle(&[first], NOW, &mut |current, _| current.map_or(Until::At(NOW + 2 * HOUR), |c| c)).unwrap();
        assert_eq!(why_of(&mut open()), reason("first"), "read back from the log");
        // A shorter ban changes no end, hence no reason; a longer one both.
        let extend = |store: &mut BanStore, until, note| {
            let r = asked(until, reason(note));
            store.settle(&[r], NOW, &mut |current, _| current.map_or(until, |c| c.later(until))).unwrap()
        };
        extend(&mut store, Until::At(NOW + HOUR), "shorter");
        assert_eq!(why_of(&mut open()), reason("first"), "the reason of the ban that set the end");
        extend(&mut store, Until::At(NOW + 3 * HOUR), "longer");
        assert_eq!(why_of(&mut open()), reason("longer"));
        store.compact(NOW, true).unwrap();
        let snapshot = std::fs::read_to_string(store.snapshot_path()).unwrap();
        assert!(snapshot.contains(r#""why": {"note":"longer"}"#), "{snapshot}");
        assert_eq!(why_of(&mut open()), reason("longer"), "read back from the snapshot");
        // Pyruse's own records (no "why") still read, and a bad "why" does
        // not cost the ban.
        std::fs::write(
            store.snapshot_path(),
            r#"[{"IP": "192.0.2.7", "nfSet": "ip t ban4", "timestamp": 0},
               {"IP": "192.0.2.8", "nfSet": "ip t ban4", "timestamp": 0, "why": [1, 2]}]"#,
        )
        .unwrap();
        let mut odd = open();
        assert!(odd.warnings.is_empty(), "{:?}", odd.warnings);
        let live = odd.live(NOW).unwrap();
        assert_eq!(live.len(), 2);
        assert!(live.iter().all(|r| r.why.is_none()));
    }
}
