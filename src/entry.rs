//! The entry: the fields of one journal record that the rules can see, plus
//! the fields computed by earlier steps (regex captures, counter values).
//!
//! An entry is a flat vector of slots indexed by [`FieldId`]; the reader fills
//! only the fields the configuration names. Slots keep their `String` buffers
//! between entries, so once warmed up, reusing an entry allocates nothing.
//! Values are always valid UTF-8: bytes that are not are decoded on the way in
//! with the configured 8-bit encoding (`8bit-message-encoding`), as Pyruse did.

use std::borrow::Cow;

use crate::fields::{FieldId, FieldTable, REALTIME_TIMESTAMP};

#[derive(Debug, Default)]
struct Slot {
    text: String,
    present: bool,
}

// By hand so that `clone_from` reuses the buffer: copying a prepared entry
// into a working one must not allocate.
impl Clone for Slot {
    fn clone(&self) -> Slot {
        Slot { text: self.text.clone(), present: self.present }
    }

    fn clone_from(&mut self, source: &Slot) {
        self.text.clone_from(&source.text);
        self.present = source.present;
    }
}

/// One record being judged.
#[derive(Debug)]
pub struct Entry {
    slots: Vec<Slot>,
    /// `__REALTIME_TIMESTAMP` in microseconds since the epoch; 0 when unknown.
    time_us: u64,
}

impl Clone for Entry {
    fn clone(&self) -> Entry {
        Entry { slots: self.slots.clone(), time_us: self.time_us }
    }

    fn clone_from(&mut self, source: &Entry) {
        self.slots.clone_from(&source.slots);
        self.time_us = source.time_us;
    }
}

impl Entry {
    /// An empty entry able to hold every field of `fields`.
    pub fn new(fields: &FieldTable) -> Entry {
        Entry { slots: vec![Slot::default(); fields.len()], time_us: 0 }
    }

    /// Forget every value, keeping the buffers.
    pub fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.present = false;
        }
        self.time_us = 0;
    }

    pub fn get(&self, id: FieldId) -> Option<&str> {
        match self.slots.get(id.index()) {
            Some(slot) if slot.present => Some(&slot.text),
            _ => None,
        }
    }

    pub fn is_present(&self, id: FieldId) -> bool {
        self.get(id).is_some()
    }

    /// Sets a field to a text value.
    pub fn set(&mut self, id: FieldId, value: &str) {
        self.set_with(id, |buf| buf.push_str(value));
    }

    /// Sets a field by writing into its (cleared) buffer, which avoids a
    /// temporary `String` for numbers and rendered text.
    pub fn set_with(&mut self, id: FieldId, write: impl FnOnce(&mut String)) {
        let Some(slot) = self.slots.get_mut(id.index()) else { return };
        slot.text.clear();
        write(&mut slot.text);
        slot.present = true;
        if id == REALTIME_TIMESTAMP {
            self.time_us = slot.text.trim().parse().unwrap_or(0);
        }
    }

    /// Sets a field from raw journal bytes, decoding them if they are not UTF-8.
    pub fn set_bytes(&mut self, id: FieldId, value: &[u8], decoder: &TextDecoder) {
        let text = decoder.decode(value);
        self.set(id, &text);
    }

    pub fn remove(&mut self, id: FieldId) {
        if let Some(slot) = self.slots.get_mut(id.index()) {
            slot.present = false;
        }
        if id == REALTIME_TIMESTAMP {
            self.time_us = 0;
        }
    }

    /// The record's time (`__REALTIME_TIMESTAMP`), microseconds since the epoch.
    pub fn time_us(&self) -> u64 {
        self.time_us
    }

    /// Sets `__REALTIME_TIMESTAMP`, both as time and as field text.
    pub fn set_time_us(&mut self, time_us: u64) {
        if let Some(slot) = self.slots.get_mut(REALTIME_TIMESTAMP.index()) {
            slot.text.clear();
            push_decimal(&mut slot.text, time_us);
            slot.present = true;
        }
        self.time_us = time_us;
    }

    /// The record's time in whole seconds, the unit counters and bans use.
    pub fn time_secs(&self) -> f64 {
        self.time_us as f64 / 1e6
    }
}

/// Appends `n` in decimal; `write!` costs more than the rest of setting a
/// field, and entries get a timestamp each.
pub fn push_decimal(buf: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.push_str(std::str::from_utf8(&digits[i..]).expect("ASCII digits"));
}

/// How bytes that are not valid UTF-8 are turned into text.
#[derive(Debug, Clone, Copy, Default)]
pub enum TextDecoder {
    /// ISO-8859-1: every byte is the code point of the same value (Python's
    /// `latin-1`). Handled here because the WHATWG tables behind `encoding_rs`
    /// map that label to windows-1252, which differs on 0x80..=0x9F.
    #[default]
    Latin1,
    Other(&'static encoding_rs::Encoding),
}

impl TextDecoder {
    /// Resolves an encoding name as Python spells it (`iso-8859-1`, `latin1`,
    /// `cp1252`, `iso8859_15`...).
    pub fn for_label(label: &str) -> Option<TextDecoder> {
        let norm: String = label.trim().chars().map(|c| if c == '_' { '-' } else { c.to_ascii_lowercase() }).collect();
        match norm.as_str() {
            "iso-8859-1" | "iso8859-1" | "8859" | "latin-1" | "latin1" | "l1" | "cp819" | "iso-ir-100" => {
                return Some(TextDecoder::Latin1)
            }
            _ => {}
        }
        let whatwg = match norm.as_str() {
            "cp1252" => "windows-1252",
            "cp1251" => "windows-1251",
            "cp1250" => "windows-1250",
            other => other,
        };
        let whatwg = whatwg.replacen("iso8859-", "iso-8859-", 1);
        encoding_rs::Encoding::for_label(whatwg.as_bytes()).map(TextDecoder::Other)
    }

    pub fn decode<'a>(&self, bytes: &'a [u8]) -> Cow<'a, str> {
        if let Ok(text) = std::str::from_utf8(bytes) {
            return Cow::Borrowed(text);
        }
        match self {
            TextDecoder::Latin1 => Cow::Owned(bytes.iter().map(|&b| b as char).collect()),
            TextDecoder::Other(enc) => Cow::Owned(enc.decode_without_bom_handling(bytes).0.into_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::MESSAGE;

    #[test]
    fn set_get_clear() {
        let mut fields = FieldTable::new();
        let ip = fields.intern("thatIP");
        let mut e = Entry::new(&fields);
        assert_eq!(e.get(ip), None);
        e.set(ip, "192.0.2.1");
        assert_eq!(e.get(ip), Some("192.0.2.1"));
        e.clear();
        assert_eq!(e.get(ip), None);
        e.set(ip, "");
        assert_eq!(e.get(ip), Some(""), "an empty value is present");
    }

    #[test]
    fn realtime_timestamp_sets_time() {
        let fields = FieldTable::new();
        let mut e = Entry::new(&fields);
        e.set(REALTIME_TIMESTAMP, "1735689624931461");
        assert_eq!(e.time_us(), 1_735_689_624_931_461);
        e.set_time_us(5);
        assert_eq!(e.get(REALTIME_TIMESTAMP), Some("5"));
        assert_eq!(e.time_us(), 5);
        e.set_time_us(u64::MAX);
        assert_eq!(e.get(REALTIME_TIMESTAMP), Some("18446744073709551615"));
        e.set_time_us(0);
        assert_eq!(e.get(REALTIME_TIMESTAMP), Some("0"));
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let mut big = FieldTable::new();
        let late = big.intern("late");
        let e_small = Entry::new(&FieldTable::new());
        assert_eq!(e_small.get(late), None);
    }

    #[test]
    fn non_utf8_is_decoded_as_latin1_by_default() {
        let fields = FieldTable::new();
        let mut e = Entry::new(&fields);
        e.set_bytes(MESSAGE, b"caf\xe9 \x80", &TextDecoder::default());
        assert_eq!(e.get(MESSAGE), Some("caf\u{e9} \u{80}"));
        // valid UTF-8 is never re-decoded
        e.set_bytes(MESSAGE, "café".as_bytes(), &TextDecoder::default());
        assert_eq!(e.get(MESSAGE), Some("café"));
    }

    #[test]
    fn python_encoding_labels() {
        assert!(matches!(TextDecoder::for_label("ISO-8859-1"), Some(TextDecoder::Latin1)));
        assert!(matches!(TextDecoder::for_label("latin_1"), Some(TextDecoder::Latin1)));
        let cp = TextDecoder::for_label("cp1252").unwrap();
        assert_eq!(cp.decode(b"\x80"), "\u{20ac}");
        let l9 = TextDecoder::for_label("iso8859_15").unwrap();
        assert_eq!(l9.decode(b"\xa4"), "\u{20ac}");
        assert!(TextDecoder::for_label("klingon").is_none());
    }
}
