//! The journal export format, as `journalctl -o export` writes it (see
//! <https://systemd.io/JOURNAL_EXPORT_FORMATS/>): records are runs of fields,
//! one per line, ended by an empty line or the end of input. A text field is
//! `NAME=value\n`, the value being any bytes but a newline (invalid UTF-8 is
//! passed through); a binary field is `NAME\n`, a little-endian `u64` length,
//! that many raw bytes and `\n`.
//!
//! Each line is read straight into the record's buffer and its name and
//! value are located there by spans, so a field costs no allocation once the
//! buffer has grown. Names are taken leniently: anything non-empty before the
//! first `=` (text) or on its own line (binary). A line without `=` is a
//! binary field only if a plausible length follows; otherwise the record is
//! malformed, and so is one with an empty name or a field over the limits.
//! After a malformed field the rest of its record, up to the next empty line,
//! is skipped; bytes that a rejected length was read from are not lost, as
//! they may be that empty line and the start of the next record.

use std::io::{self, BufRead};
use std::ops::Range;

use super::{quote, Failure, Fields, Input, LineEnd, MAX_FIELD_BYTES};

/// Reads one record into `fields`; `Ok(false)` at the end of input.
pub(super) fn read_record<R: BufRead>(input: &mut Input<R>, fields: &mut Fields) -> Result<bool, Failure> {
    fields.clear();
    // Several empty lines between records are harmless.
    if input.skip_while(|b| b == b'\n')?.is_none() {
        return Ok(false);
    }
    loop {
        let line = input.line();
        match read_field(input, fields) {
            Ok(Next::Field) => {}
            Ok(Next::End) => return Ok(true),
            Err(Bad::Io(err)) => return Err(Failure::Io(err)),
            Err(Bad::Field { reason, resume }) => {
                skip_rest_of_record(input, resume)?;
                return Err(Failure::Malformed { line, reason });
            }
        }
    }
}

/// What [`read_field`] found.
enum Next {
    /// A field, now in [`Fields`].
    Field,
    /// The end of the record: an empty line or the end of input.
    End,
}

/// Why [`read_field`] failed.
enum Bad {
    Io(io::Error),
    Field { reason: String, resume: Resume },
}

impl From<io::Error> for Bad {
    fn from(err: io::Error) -> Self {
        Bad::Io(err)
    }
}

/// Where the input stands after a malformed field, so that the rest of the
/// record can be skipped from there.
enum Resume {
    /// At the start of a line, which may be the empty line ending the record.
    LineStart,
    /// Within a line, which cannot end the record.
    MidLine,
    /// At or near the end of input, after a truncated field.
    End,
}

fn bad(reason: String, resume: Resume) -> Bad {
    Bad::Field { reason, resume }
}

fn read_field<R: BufRead>(input: &mut Input<R>, fields: &mut Fields) -> Result<Next, Bad> {
    let start = fields.bytes.len();
    // One byte more than a field for the `=`.
    if input.read_line(&mut fields.bytes, MAX_FIELD_BYTES + 1)? == LineEnd::TooLong {
        return Err(bad(format!("line is longer than {MAX_FIELD_BYTES} bytes"), Resume::MidLine));
    }
    let end = fields.bytes.len();
    let line = &fields.bytes[start..end];
    if line.is_empty() {
        return Ok(Next::End);
    }
    match line.iter().position(|&b| b == b'=') {
        Some(0) => Err(bad(format!("empty field name in {}", quote(line)), Resume::LineStart)),
        Some(eq) => {
            fields.push(start..start + eq, start + eq + 1..end).map_err(|reason| bad(reason, Resume::LineStart))?;
            Ok(Next::Field)
        }
        None => read_binary(input, fields, start..end),
    }
}

/// Reads the length, data and newline of the binary field whose name was
/// just read into `fields` at `name`.
fn read_binary<R: BufRead>(input: &mut Input<R>, fields: &mut Fields, name: Range<usize>) -> Result<Next, Bad> {
    let Some(len) = input.peek_u64_le()? else {
        let reason = format!("truncated binary field {}: the input ends before its length", fields.quoted(&name));
        return Err(bad(reason, Resume::End));
    };
    if len > MAX_FIELD_BYTES as u64 {
        // Most likely a stray line: eight bytes of text make a length of at
        // least 2^61. Those bytes are still unread.
        let reason = format!(
            "no \"=\" in {} and no binary length after it: {len} is over the limit of {MAX_FIELD_BYTES} bytes",
            fields.quoted(&name)
        );
        return Err(bad(reason, Resume::LineStart));
    }
    fields.check_room(&name, len, len).map_err(|reason| bad(reason, Resume::LineStart))?;
    // Checked against MAX_FIELD_BYTES above, so it fits.
    let len = len as usize;
    input.skip_u64()?;
    let value_start = fields.bytes.len();
    if !input.read_bytes(&mut fields.bytes, len)? {
        let got = fields.bytes.len() - value_start;
        let reason = format!(
            "truncated binary field {}: {got} of its {len} bytes before the end of input",
            fields.quoted(&name)
        );
        return Err(bad(reason, Resume::End));
    }
    match input.peek_byte()? {
        // A missing final newline at the end of input is harmless.
        None => {}
        Some(b'\n') => {
            input.skip_line()?;
        }
        Some(_) => {
            let reason =
                format!("binary field {} is not followed by a newline after its {len} bytes", fields.quoted(&name));
            return Err(bad(reason, Resume::MidLine));
        }
    }
    fields.push(name, value_start..fields.bytes.len()).map_err(|reason| bad(reason, Resume::LineStart))?;
    Ok(Next::Field)
}

/// Skips to the empty line ending the current record, or the end of input.
fn skip_rest_of_record<R: BufRead>(input: &mut Input<R>, resume: Resume) -> io::Result<()> {
    match resume {
        Resume::End => return input.skip_to_end(),
        Resume::MidLine => {
            if !input.skip_line()? {
                return Ok(());
            }
        }
        Resume::LineStart => {}
    }
    while let Some(next) = input.peek_byte()? {
        input.skip_line()?;
        if next == b'\n' {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{read_all, read_all_with, Record, Trickle};
    use super::super::{Format, RecordReader, MAX_RECORD_BYTES, MAX_RECORD_FIELDS};
    use super::*;

    /// A binary field as journalctl writes it.
    fn binary(name: &str, value: &[u8]) -> Vec<u8> {
        let mut out = format!("{name}\n").into_bytes();
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
        out.extend_from_slice(value);
        out.push(b'\n');
        out
    }

    const SSHD_FAILED: &str = "\
__CURSOR=s=5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f;i=1a2b;b=0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b;m=2c8e6f1a;t=5f3e2d1c0b9a8;x=9c8b7a6f5e4d3c2b
__REALTIME_TIMESTAMP=1700000000123456
__MONOTONIC_TIMESTAMP=747531034
__SEQNUM=6699
__SEQNUM_ID=5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f
_BOOT_ID=0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b
_TRANSPORT=syslog
PRIORITY=6
SYSLOG_FACILITY=4
SYSLOG_IDENTIFIER=sshd
SYSLOG_PID=48213
SYSLOG_TIMESTAMP=Nov 14 22:13:20 
_PID=48213
_UID=0
_GID=0
_COMM=sshd
_EXE=/usr/sbin/sshd
_CMDLINE=sshd: root [priv]
_SYSTEMD_CGROUP=/system.slice/ssh.service
_SYSTEMD_UNIT=ssh.service
_SYSTEMD_SLICE=system.slice
_MACHINE_ID=3f2e1d0c9b8a47e6a5b4c3d2e1f0a9b8
_HOSTNAME=gateway
_SOURCE_REALTIME_TIMESTAMP=1700000000123401
MESSAGE=Failed password for root from 203.0.113.45 port 52814 ssh2
";

    const SSHD_INVALID_USER: &str = "\
__CURSOR=s=5b1f0e0b1d6a4e0c8f3e7a2b9c4d5e6f;i=1a2c;b=0e4d2a7c9b8f4e1d8c3b2a1f0e9d8c7b;m=2c8e7b02;t=5f3e2d1c0c8f0;x=1d2c3b4a5f6e7d8c
__REALTIME_TIMESTAMP=1700000001082352
__MONOTONIC_TIMESTAMP=748489930
_TRANSPORT=syslog
SYSLOG_IDENTIFIER=sshd
_PID=48214
_SYSTEMD_UNIT=ssh.service
_HOSTNAME=gateway
MESSAGE=Invalid user admin from 198.51.100.7 port 40022
";

    fn value<'a>(record: &'a Record, name: &str) -> Option<&'a [u8]> {
        record.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    #[test]
    fn reads_journalctl_records() {
        let input = format!("{SSHD_FAILED}\n{SSHD_INVALID_USER}\n");
        let mut reader = RecordReader::new(input.as_bytes());
        let mut names = Vec::new();
        assert!(reader.next_record(&mut |n, _| names.push(String::from_utf8(n.to_vec()).unwrap())).unwrap());
        assert_eq!(reader.format(), Some(Format::Export));
        assert_eq!(names.len(), 25);
        assert_eq!(names[..3], ["__CURSOR", "__REALTIME_TIMESTAMP", "__MONOTONIC_TIMESTAMP"]);

        let records = read_all(input.as_bytes());
        assert_eq!(records.len(), 2);
        let first = records[0].as_ref().unwrap();
        assert_eq!(value(first, "_SYSTEMD_UNIT"), Some(&b"ssh.service"[..]));
        assert_eq!(value(first, "MESSAGE"), Some(&b"Failed password for root from 203.0.113.45 port 52814 ssh2"[..]));
        // The value is everything after the first `=`, trailing space included.
        assert_eq!(value(first, "SYSLOG_TIMESTAMP"), Some(&b"Nov 14 22:13:20 "[..]));
        assert!(value(first, "__CURSOR").unwrap().starts_with(b"s=5b1f"));
        let second = records[1].as_ref().unwrap();
        assert_eq!(value(second, "MESSAGE"), Some(&b"Invalid user admin from 198.51.100.7 port 40022"[..]));
    }

    #[test]
    fn separators_and_the_last_record() {
        // Leading and repeated empty lines, no final empty line, no final newline.
        let input = b"\n\n\nA=1\nB=\n\n\n\nC=3\nD=4";
        let records = read_all(input);
        let expected: Vec<Result<Record, String>> = vec![
            Ok(vec![("A".into(), b"1".to_vec()), ("B".into(), b"".to_vec())]),
            Ok(vec![("C".into(), b"3".to_vec()), ("D".into(), b"4".to_vec())]),
        ];
        assert_eq!(records, expected);
    }

    #[test]
    fn binary_and_non_utf8_values() {
        let mut input = SSHD_FAILED.replace("MESSAGE=Failed", "X=").into_bytes();
        // journalctl writes a value with control characters or invalid UTF-8 as binary.
        let message = b"Failed password for \xe9l\xe8ve from 203.0.113.45\nport 22\x00";
        input.extend(binary("MESSAGE", message));
        input.extend(b"_CAP_EFFECTIVE=1ffffffffff\n");
        // Invalid UTF-8 on a text line is passed through too.
        input.extend(b"SYSLOG_RAW=\xff\xfe\n");
        input.extend(binary("EMPTY", b""));
        input.extend(b"\n");
        input.extend(SSHD_INVALID_USER.as_bytes());
        for records in [read_all(&input), read_all_with(RecordReader::new(Trickle(&input)))] {
            assert_eq!(records.len(), 2);
            let first = records[0].as_ref().unwrap();
            assert_eq!(value(first, "MESSAGE"), Some(&message[..]));
            assert_eq!(value(first, "_CAP_EFFECTIVE"), Some(&b"1ffffffffff"[..]));
            assert_eq!(value(first, "SYSLOG_RAW"), Some(&b"\xff\xfe"[..]));
            assert_eq!(value(first, "EMPTY"), Some(&b""[..]));
            assert!(records[1].is_ok());
        }
    }

    #[test]
    fn repeated_fields_keep_their_order() {
        let mut input = b"__CURSOR=s=1\nTAG=a\n".to_vec();
        input.extend(binary("TAG", b"b\xff"));
        input.extend(b"TAG=c\nMESSAGE=m\n");
        let records = read_all(&input);
        let tags: Vec<&[u8]> =
            records[0].as_ref().unwrap().iter().filter(|(n, _)| n == "TAG").map(|(_, v)| v.as_slice()).collect();
        assert_eq!(tags, [&b"a"[..], b"b\xff", b"c"]);
    }

    #[test]
    fn garbage_is_reported_and_skipped() {
        let input = format!(
            "{SSHD_FAILED}\nthis is not a field\n\n{SSHD_INVALID_USER}\nA=1\n=no name\nB=2\n\n{SSHD_INVALID_USER}"
        );
        let records = read_all(input.as_bytes());
        assert_eq!(records.len(), 5, "{records:?}");
        assert!(records[0].is_ok());
        let garbage_line = SSHD_FAILED.lines().count() + 2;
        assert_eq!(
            records[1].as_ref().unwrap_err(),
            &format!(
                "malformed record 2 at line {garbage_line}: no \"=\" in \"this is not a field\" and no binary \
                 length after it: {} is over the limit of {MAX_FIELD_BYTES} bytes",
                u64::from_le_bytes(*b"\n__CURSO")
            )
        );
        assert_eq!(value(records[2].as_ref().unwrap(), "_PID"), Some(&b"48214"[..]));
        let err = records[3].as_ref().unwrap_err();
        assert!(
            err.starts_with("malformed record 4 at line ") && err.ends_with(": empty field name in \"=no name\""),
            "{err}"
        );
        assert_eq!(value(records[4].as_ref().unwrap(), "_PID"), Some(&b"48214"[..]));
    }

    #[test]
    fn a_stray_line_before_a_record_boundary_loses_nothing_across_buffers() {
        // The look-ahead for a binary length reads past the empty line; with
        // a one-byte buffer those bytes must be put back, not dropped.
        let input = format!("A=1\nstray\n\n{SSHD_INVALID_USER}");
        let records = read_all_with(RecordReader::new(Trickle(input.as_bytes())));
        assert_eq!(records.len(), 2);
        assert!(records[0].as_ref().unwrap_err().starts_with("malformed record 1 at line 2: no \"=\" in \"stray\""));
        assert_eq!(records[1].as_ref().unwrap().len(), 9);
    }

    #[test]
    fn huge_lengths_do_not_allocate() {
        for len in [1u64 << 63, u64::MAX, MAX_FIELD_BYTES as u64 + 1] {
            let mut input = b"A=1\nMESSAGE\n".to_vec();
            input.extend(len.to_le_bytes());
            input.extend(b"short\nB=2\n\nC=3\n");
            let records = read_all(&input);
            assert_eq!(records.len(), 2);
            let err = records[0].as_ref().unwrap_err();
            let expected = format!(
                "malformed record 1 at line 2: no \"=\" in \"MESSAGE\" and no binary length after it: {len} is over"
            );
            assert!(err.starts_with(&expected), "{err}");
            assert_eq!(records[1], Ok(vec![("C".into(), b"3".to_vec())]));
        }
    }

    #[test]
    fn truncated_input() {
        let mut cut_in_data = b"A=1\n\nMESSAGE\n".to_vec();
        cut_in_data.extend(10u64.to_le_bytes());
        cut_in_data.extend(b"abc\n\nB=");
        let cases: [(&[u8], &str); 4] = [
            (b"A=1\n\nMESSAGE", "line 3: truncated binary field \"MESSAGE\": the input ends before its length"),
            (
                b"A=1\n\nMESSAGE\n\x05\x00\x00",
                "line 3: truncated binary field \"MESSAGE\": the input ends before its length",
            ),
            (&cut_in_data, "line 3: truncated binary field \"MESSAGE\": 7 of its 10 bytes before the end of input"),
            (
                b"A=1\n\nMESSAGE\n\x01\0\0\0\0\0\0\0xy\nB=2\n",
                "line 3: binary field \"MESSAGE\" is not followed by a newline",
            ),
        ];
        for (input, expected) in cases {
            for records in [read_all(input), read_all_with(RecordReader::new(Trickle(input)))] {
                assert_eq!(records.len(), 2, "{records:?}");
                assert_eq!(records[0], Ok(vec![("A".into(), b"1".to_vec())]));
                let err = records[1].as_ref().unwrap_err();
                assert!(err.starts_with(&format!("malformed record 2 at {expected}")), "{err}");
            }
        }
        // A complete binary field without its final newline at the end is fine.
        let mut input = b"A=1\n".to_vec();
        input.extend(&binary("M", b"x\ny")[..13]);
        assert_eq!(read_all(&input), [Ok(vec![("A".into(), b"1".to_vec()), ("M".into(), b"x\ny".to_vec())])]);
    }

    #[test]
    fn line_numbers_count_newlines_inside_binary_data() {
        let mut input = binary("M", b"1\n2\n3");
        input.extend(b"=bad\n\nA=1\n");
        let records = read_all(&input);
        assert!(records[0].as_ref().unwrap_err().starts_with("malformed record 1 at line 5: empty field name"));
        assert_eq!(records[1], Ok(vec![("A".into(), b"1".to_vec())]));
    }

    #[test]
    fn oversized_records_are_rejected() {
        // A text line over the field limit, without keeping it in memory.
        let mut input = b"A=".to_vec();
        input.resize(MAX_FIELD_BYTES + 10, b'x');
        input.extend(b"\nB=2\n\nC=3\n");
        let records = read_all(&input);
        assert_eq!(
            records[0],
            Err(format!("malformed record 1 at line 1: line is longer than {MAX_FIELD_BYTES} bytes"))
        );
        assert_eq!(records[1], Ok(vec![("C".into(), b"3".to_vec())]));

        // Fields each within the limit, together over the record limit.
        let mut input = Vec::new();
        for _ in 0..=MAX_RECORD_BYTES / MAX_FIELD_BYTES {
            input.extend(binary("M", &vec![b'y'; MAX_FIELD_BYTES - 1]));
        }
        input.extend(b"\nC=3\n");
        let records = read_all(&input);
        assert_eq!(
            records[0],
            Err(format!("malformed record 1 at line 9: record has more than {MAX_RECORD_BYTES} bytes"))
        );
        assert_eq!(records[1], Ok(vec![("C".into(), b"3".to_vec())]));

        // Too many fields, each tiny.
        let mut input = b"A=\n".repeat(MAX_RECORD_FIELDS + 1);
        input.extend(b"\nC=3\n");
        let records = read_all(&input);
        let line = MAX_RECORD_FIELDS + 1;
        let expected =
            format!("malformed record 1 at line {line}: record has more than {MAX_RECORD_FIELDS} field values");
        assert_eq!(records[0], Err(expected));
        assert_eq!(records[1], Ok(vec![("C".into(), b"3".to_vec())]));
    }

    #[test]
    fn no_panic_on_arbitrary_bytes() {
        // A cheap deterministic fuzz: mutations of a valid stream.
        let mut base = SSHD_FAILED.as_bytes().to_vec();
        base.extend(binary("MESSAGE", b"\xff\n\x00"));
        base.extend(b"\n");
        base.extend(SSHD_INVALID_USER.as_bytes());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let mut input = base.clone();
            for _ in 0..1 + next() % 4 {
                let at = (next() % input.len() as u64) as usize;
                match next() % 3 {
                    0 => input[at] = next() as u8,
                    1 => input.truncate(at),
                    _ => input.insert(at, [b'\n', b'=', 0, 0xff][(next() % 4) as usize]),
                }
                if input.is_empty() {
                    break;
                }
            }
            read_all(&input);
            read_all_with(RecordReader::new(Trickle(&input)));
        }
    }

    /// Not a correctness test: prints the throughput, for `--nocapture`.
    #[test]
    fn throughput() {
        let record = format!("{SSHD_FAILED}\n");
        let count = 100_000;
        let input = record.repeat(count);
        let started = std::time::Instant::now();
        let mut reader = RecordReader::new(input.as_bytes());
        let (mut records, mut bytes) = (0, 0);
        while reader.next_record(&mut |name, value| bytes += name.len() + value.len()).unwrap() {
            records += 1;
        }
        let elapsed = started.elapsed().as_secs_f64();
        assert_eq!(records, count);
        println!(
            "export: {count} records of 25 fields, {:.0} records/s, {:.0} MB/s",
            count as f64 / elapsed,
            input.len() as f64 / elapsed / 1e6
        );
        assert!(bytes > 0);
    }

    #[test]
    fn a_plain_log_line_is_neither_format() {
        for input in [
            &b"Failed password for root from 203.0.113.7 port 22 ssh2\n"[..],
            b"  Dec  8 01:02:03 host sshd[42]: Invalid user x from 203.0.113.7 port 22\nsecond line\n",
            b"key = value\n",
        ] {
            let read = read_all(input);
            assert_eq!(read.len(), 1, "{read:?}");
            let err = read[0].as_ref().unwrap_err();
            assert!(
                err.starts_with("the input is neither journal export format nor JSON lines: its first line starts \""),
                "{err}"
            );
        }
        // Field names of any case, and a binary field's name alone, are export.
        assert!(read_all(b"a=1\n")[0].is_ok());
        let mut binary = b"MESSAGE\n".to_vec();
        binary.extend(3u64.to_le_bytes());
        binary.extend(b"abc\n");
        assert!(read_all(&binary)[0].is_ok());
    }
}
