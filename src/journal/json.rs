//! JSON lines, as `journalctl -o json` writes them: one object per line,
//! mapping field names to values. A value is a string; an array of byte
//! numbers, for a value that is not printable UTF-8; an array of such
//! strings and byte arrays, for a field that occurs several times; or null,
//! for a value journalctl elided for its size (skipped here).
//!
//! Each line is parsed by driving `serde_json` with visitors that copy names
//! and values straight into the record's buffer: no `serde_json::Value` is
//! built, and a string without escapes is copied from the line once. Being
//! lenient, numbers and booleans are taken as their text (integers exactly,
//! other numbers as Rust prints the `f64`) and an empty array as no value;
//! anything else (a line that is not one object, a nested object, an array
//! mixing bytes with strings, a byte over 255, an empty field name, a name
//! holding `=` or a newline) makes the record malformed. A malformed record
//! is one line, so reading goes on at the next; empty lines are skipped.

use std::fmt;
use std::io::{BufRead, Write};
use std::ops::Range;

use serde::de::{self, DeserializeSeed, Deserializer as _, MapAccess, SeqAccess, Unexpected, Visitor};

use super::{quote, reset, Failure, Fields, Input, LineEnd, KEEP_CAPACITY, MAX_RECORD_BYTES};

/// Reads one record into `fields`, using `line` for its text; `Ok(false)`
/// at the end of input.
pub(super) fn read_record<R: BufRead>(
    input: &mut Input<R>,
    line: &mut Vec<u8>,
    fields: &mut Fields,
) -> Result<bool, Failure> {
    fields.clear();
    loop {
        reset(line, KEEP_CAPACITY);
        let number = input.line();
        match input.read_line(line, MAX_RECORD_BYTES)? {
            LineEnd::TooLong => {
                input.skip_line()?;
                let reason = format!("line is longer than {MAX_RECORD_BYTES} bytes");
                return Err(Failure::Malformed { line: number, reason });
            }
            LineEnd::Eof if line.is_empty() => return Ok(false),
            LineEnd::Newline | LineEnd::Eof => {}
        }
        if line.trim_ascii_start().is_empty() {
            continue;
        }
        return match parse(line, fields) {
            Ok(()) => Ok(true),
            Err(reason) => Err(Failure::Malformed { line: number, reason }),
        };
    }
}

/// Parses one line into `fields`.
fn parse(line: &[u8], fields: &mut Fields) -> Result<(), String> {
    // The field being read, to say where an error is.
    let mut current = None;
    let mut de = serde_json::Deserializer::from_slice(line);
    let result =
        de.deserialize_map(RecordVisitor { fields: &mut *fields, current: &mut current }).and_then(|()| de.end());
    result.map_err(|err| match current {
        Some(name) => format!("field {}: {}", fields.quoted(&name), describe(&err)),
        None => describe(&err),
    })
}

/// `serde_json`'s message with the column, but not the line, which is
/// always 1 here and would be confused with the input's line.
fn describe(err: &serde_json::Error) -> String {
    let message = err.to_string();
    let position = format!(" at line {} column {}", err.line(), err.column());
    match message.strip_suffix(&position) {
        // Column 0 is serde_json's way of saying "before the first byte".
        Some(message) => format!("{message} at column {}", err.column().max(1)),
        None => message,
    }
}

/// The whole line: an object.
struct RecordVisitor<'a> {
    fields: &'a mut Fields,
    current: &'a mut Option<Range<usize>>,
}

impl<'de> Visitor<'de> for RecordVisitor<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(name) = map.next_key_seed(NameSeed(&mut *self.fields))? {
            *self.current = Some(name.clone());
            map.next_value_seed(ValueSeed { fields: &mut *self.fields, name })?;
            *self.current = None;
        }
        Ok(())
    }
}

/// A field name, copied into the buffer; its span is the result.
struct NameSeed<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for NameSeed<'_> {
    type Value = Range<usize>;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Self::Value, D::Error> {
        de.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for NameSeed<'_> {
    type Value = Range<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
        if name.is_empty() {
            return Err(E::custom("empty field name"));
        }
        // They could not be written back in the export format.
        if name.contains(['=', '\n']) {
            return Err(E::custom(format_args!("invalid field name {}", quote(name.as_bytes()))));
        }
        Ok(append(&mut self.0.bytes, name.as_bytes()))
    }
}

/// The value of the field named at `name`, added to the fields.
struct ValueSeed<'a> {
    fields: &'a mut Fields,
    name: Range<usize>,
}

impl ValueSeed<'_> {
    /// Adds a number or boolean, as text.
    fn push_text<E: de::Error>(self, text: fmt::Arguments) -> Result<(), E> {
        let start = self.fields.bytes.len();
        // Writing to a Vec cannot fail.
        let _ = self.fields.bytes.write_fmt(text);
        let end = self.fields.bytes.len();
        self.fields.push(self.name, start..end).map_err(E::custom)
    }
}

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ValueSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string, an array of bytes, an array of values, or null")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<(), E> {
        self.fields.push_value(self.name, value.as_bytes()).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<(), E> {
        self.push_text(format_args!("{value}"))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        self.push_text(format_args!("{value}"))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<(), E> {
        self.push_text(format_args!("{value}"))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<(), E> {
        // Debug, unlike Display, switches to an exponent for large and small
        // numbers: `1e300` stays 5 bytes instead of 301.
        self.push_text(format_args!("{value:?}"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<(), A::Error> {
        Err(de::Error::custom("a nested object is not a field value"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ValueSeed { fields, name } = self;
        let start = fields.bytes.len();
        let mut next = seq.next_element_seed(ElementSeed(&mut *fields))?;
        if let Some(Element::Byte) = next {
            // One value, as bytes.
            while seq.next_element_seed(ByteSeed(&mut fields.bytes))?.is_some() {}
            let end = fields.bytes.len();
            return fields.push(name, start..end).map_err(de::Error::custom);
        }
        // Several values, in order.
        while let Some(element) = next {
            match element {
                Element::Value(value) => fields.push(name.clone(), value).map_err(de::Error::custom)?,
                Element::Null => {}
                Element::Byte => return Err(de::Error::custom("an array mixes bytes with other values")),
            }
            next = seq.next_element_seed(ElementSeed(&mut *fields))?;
        }
        Ok(())
    }
}

/// What an element of an array value was.
enum Element {
    /// A byte, appended to the buffer: the array is one value, as bytes.
    Byte,
    /// One of several values, a string or an array of bytes, in the buffer.
    Value(Range<usize>),
    Null,
}

/// An element of an array value; the first one tells what the array is.
struct ElementSeed<'a>(&'a mut Fields);

impl<'de> DeserializeSeed<'de> for ElementSeed<'_> {
    type Value = Element;

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<Element, D::Error> {
        de.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ElementSeed<'_> {
    type Value = Element;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a byte, a string, an array of bytes, or null")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Element, E> {
        ByteSeed(&mut self.0.bytes).visit_u64(value).map(|()| Element::Byte)
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Element, E> {
        Ok(Element::Value(append(&mut self.0.bytes, value.as_bytes())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Element, A::Error> {
        let start = self.0.bytes.len();
        while seq.next_element_seed(ByteSeed(&mut self.0.bytes))?.is_some() {}
        Ok(Element::Value(start..self.0.bytes.len()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Element, E> {
        Ok(Element::Null)
    }
}

/// A byte of an array of bytes, appended to the buffer.
struct ByteSeed<'a>(&'a mut Vec<u8>);

impl<'de> DeserializeSeed<'de> for ByteSeed<'_> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
        de.deserialize_u8(self)
    }
}

impl<'de> Visitor<'de> for ByteSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a byte (0 to 255)")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<(), E> {
        let byte = u8::try_from(value).map_err(|_| E::invalid_value(Unexpected::Unsigned(value), &self))?;
        self.0.push(byte);
        Ok(())
    }
}

/// Appends `bytes` to `buf` and returns where they are.
fn append(buf: &mut Vec<u8>, bytes: &[u8]) -> Range<usize> {
    let start = buf.len();
    buf.extend_from_slice(bytes);
    start..buf.len()
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read_all, read_all_with, Record, Trickle};
    use super::super::{Format, RecordReader, MAX_FIELD_BYTES};

    const SSHD_FAILED: &str = r#"{"__CURSOR":"s=5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f;i=1a2b;b=0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b;m=2c8e6f1a;t=5f3e2d1c0b9a8;x=9c8b7a6f5e4d3c2b","__REALTIME_TIMESTAMP":"1700000000123456","__MONOTONIC_TIMESTAMP":"747531034","__SEQNUM":"6699","__SEQNUM_ID":"5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f","_BOOT_ID":"0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b","_TRANSPORT":"syslog","PRIORITY":"6","SYSLOG_FACILITY":"4","SYSLOG_IDENTIFIER":"sshd","SYSLOG_PID":"48213","SYSLOG_TIMESTAMP":"Nov 14 22:13:20 ","_PID":"48213","_UID":"0","_GID":"0","_COMM":"sshd","_EXE":"/usr/sbin/sshd","_CMDLINE":"sshd: root [priv]","_SYSTEMD_CGROUP":"/system.slice/ssh.service","_SYSTEMD_UNIT":"ssh.service","_SYSTEMD_SLICE":"system.slice","_MACHINE_ID":"3f2e1d0c9b8a47e6a5b4c3d2e1f0a9b8","_HOSTNAME":"gateway","_SOURCE_REALTIME_TIMESTAMP":"1700000000123401","MESSAGE":"Failed password for root from 203.0.113.45 port 52814 ssh2"}"#;

    const SSHD_INVALID_USER: &str = r#"{"__CURSOR":"s=5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f;i=1a2c;b=0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b;m=2c8e7b02;t=5f3e2d1c0c8f0;x=1d2c3b4a5f6e7d8c","__REALTIME_TIMESTAMP":"1700000001082352","__MONOTONIC_TIMESTAMP":"748489930","_TRANSPORT":"syslog","SYSLOG_IDENTIFIER":"sshd","_PID":"48214","_SYSTEMD_UNIT":"ssh.service","_HOSTNAME":"gateway","MESSAGE":"Invalid user admin from 198.51.100.7 port 40022"}"#;

    fn value<'a>(record: &'a Record, name: &str) -> Option<&'a [u8]> {
        record.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    fn field(name: &str, value: &[u8]) -> (String, Vec<u8>) {
        (name.to_string(), value.to_vec())
    }

    #[test]
    fn reads_journalctl_records() {
        let input = format!("{SSHD_FAILED}\n{SSHD_INVALID_USER}\n");
        let mut reader = RecordReader::new(input.as_bytes());
        let mut names = Vec::new();
        assert!(reader.next_record(&mut |n, _| names.push(String::from_utf8(n.to_vec()).unwrap())).unwrap());
        assert_eq!(reader.format(), Some(Format::JsonLines));
        assert_eq!(names.len(), 25);
        // In the order of the line.
        assert_eq!(names[..3], ["__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP"]);
        assert_eq!(names[24], "MESSAGE");

        let records = read_all(input.as_bytes());
        assert_eq!(records.len(), 2);
        let first = records[0].as_ref().unwrap();
        assert_eq!(value(first, "_SYSTEMD_UNIT"), Some(&b"ssh.service"[..]));
        assert_eq!(value(first, "SYSLOG_TIMESTAMP"), Some(&b"Nov 14 22:13:20 "[..]));
        assert_eq!(value(first, "MESSAGE"), Some(&b"Failed password for root from 203.0.113.45 port 52814 ssh2"[..]));
        assert_eq!(value(records[1].as_ref().unwrap(), "_PID"), Some(&b"48214"[..]));
    }

    #[test]
    fn byte_arrays_escapes_and_multiple_values() {
        // "\xe9l\xe8ve \x01" in Latin-1, as journalctl writes non-UTF-8 values.
        let input = concat!(
            r#"{"__CURSOR":"s=1","MESSAGE":[233,108,232,118,101,32,1],"#,
            r#""TAG":["a",[98,255],null,"c\n\u00e9\"\\"],"ELIDED":null,"EMPTY":"","#,
            r#""NONE":[],"K\u0045Y":"v","BOOL":true,"NUM":-12,"BIG":18446744073709551615,"FLOAT":1e300,"F2":2.50}"#,
            "\n"
        );
        let expected = vec![
            field("__CURSOR", b"s=1"),
            field("MESSAGE", b"\xe9l\xe8ve \x01"),
            field("TAG", b"a"),
            field("TAG", b"b\xff"),
            field("TAG", "c\né\"\\".as_bytes()),
            field("EMPTY", b""),
            field("KEY", b"v"),
            field("BOOL", b"true"),
            field("NUM", b"-12"),
            field("BIG", b"18446744073709551615"),
            field("FLOAT", b"1e300"),
            field("F2", b"2.5"),
        ];
        assert_eq!(read_all(input.as_bytes()), [Ok(expected.clone())]);
        assert_eq!(read_all_with(RecordReader::new(Trickle(input.as_bytes()))), [Ok(expected)]);
    }

    #[test]
    fn malformed_lines_are_reported_and_skipped() {
        let lines = [
            SSHD_FAILED.as_bytes(),
            b"this is not JSON",
            br#"["an","array"]"#,
            br#"{"A":"1","B":{"nested":"object"}}"#,
            br#"{"MESSAGE":[70,300]}"#,
            br#"{"MESSAGE":[70,"a"]}"#,
            br#"{"TAG":["a",7]}"#,
            br#"{"":"empty name"}"#,
            br#"{"A=B":"x"}"#,
            br#"{"A":"1"} {"B":"2"}"#,
            b"{\"MESSAGE\":\"invalid \xff UTF-8\"}",
            br#"{"A":"1","#,
            SSHD_INVALID_USER.as_bytes(),
        ];
        let input = lines.join(&b"\n"[..]);
        let records = read_all(&input);
        let errors: Vec<&str> = records.iter().filter_map(|r| r.as_ref().err().map(String::as_str)).collect();
        assert_eq!(
            errors,
            [
                "malformed record 2 at line 2: expected ident at column 2",
                "malformed record 3 at line 3: invalid type: sequence, expected a JSON object at column 1",
                "malformed record 4 at line 4: field \"B\": a nested object is not a field value at column 14",
                "malformed record 5 at line 5: field \"MESSAGE\": invalid value: integer `300`, expected a byte (0 to 255) at column 18",
                "malformed record 6 at line 6: field \"MESSAGE\": invalid type: string \"a\", expected a byte (0 to 255) at column 18",
                "malformed record 7 at line 7: field \"TAG\": an array mixes bytes with other values at column 14",
                "malformed record 8 at line 8: empty field name at column 3",
                "malformed record 9 at line 9: invalid field name \"A=B\" at column 6",
                "malformed record 10 at line 10: trailing characters at column 11",
                "malformed record 11 at line 11: field \"MESSAGE\": invalid unicode code point at column 21",
                "malformed record 12 at line 12: EOF while parsing a value at column 9",
            ]
        );
        assert_eq!(records.len(), 13);
        assert_eq!(value(records[0].as_ref().unwrap(), "_PID"), Some(&b"48213"[..]));
        assert_eq!(value(records[12].as_ref().unwrap(), "_PID"), Some(&b"48214"[..]));
    }

    #[test]
    fn blank_lines_and_the_last_line() {
        let input = "\n  \n{\"A\":\"1\"}\r\n\n\t\n{\"B\":\"2\"}";
        assert_eq!(read_all(input.as_bytes()), [Ok(vec![field("A", b"1")]), Ok(vec![field("B", b"2")])]);
        // A line cut short at the end of input.
        let records = read_all(b"{\"A\":\"1\"}\n{\"B\":\"2");
        assert_eq!(
            records[1],
            Err("malformed record 2 at line 2: field \"B\": EOF while parsing a string at column 7".into())
        );
        assert_eq!(records.len(), 2);
    }

    #[test]
    fn oversized_values_are_rejected() {
        let mut input = br#"{"MESSAGE":""#.to_vec();
        input.resize(input.len() + MAX_FIELD_BYTES, b'x');
        input.extend(b"\"}\n{\"A\":\"1\"}\n");
        let records = read_all(&input);
        let err = records[0].as_ref().unwrap_err();
        assert!(
            err.starts_with("malformed record 1 at line 1: field \"MESSAGE\": field \"MESSAGE\" has 67108871 bytes"),
            "{err}"
        );
        assert_eq!(records[1], Ok(vec![field("A", b"1")]));
    }

    #[test]
    fn no_panic_on_arbitrary_bytes() {
        let base = format!("{SSHD_FAILED}\n{{\"M\":[1,2,255],\"T\":[\"a\",[3],null]}}\n{SSHD_INVALID_USER}\n");
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut input = base.clone().into_bytes();
            for _ in 0..1 + next() % 4 {
                let at = (next() % input.len() as u64) as usize;
                match next() % 3 {
                    0 => input[at] = next() as u8,
                    1 => input.truncate(at),
                    _ => input.insert(at, b"\n{}[]\",:0\\"[(next() % 10) as usize]),
                }
                if input.is_empty() {
                    break;
                }
            }
            read_all(&input);
        }
    }

    /// Not a correctness test: prints the throughput, for `--nocapture`.
    #[test]
    fn throughput() {
        let count = 100_000;
        let input = format!("{SSHD_FAILED}\n").repeat(count);
        let started = std::time::Instant::now();
        let mut reader = RecordReader::new(input.as_bytes());
        let (mut records, mut bytes) = (0, 0);
        while reader.next_record(&mut |name, value| bytes += name.len() + value.len()).unwrap() {
            records += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert_eq!(records, count);
        println!(
            "json: {count} records of 25 fields, {:.0} records/s, {:.0} MB/s",
            count as f64 / elapsed,
            input.len() as f64 / elapsed / 1e6
        );
        assert!(bytes > 0);
    }
}
