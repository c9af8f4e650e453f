//! Reading journal records. [`RecordReader`] takes recorded entries from a
//! byte stream, in the journal export format (`journalctl -o export`, see
//! [`export`]) or as JSON lines (`journalctl -o json`, see [`json`]), telling
//! which from the first non-whitespace byte; this module holds what both
//! formats share. A stream that starts as neither (a plain log line, whose
//! first word is followed by a space) is refused at once with
//! [`RecordError::NotRecords`], rather than read as an export field whose
//! binary length never comes.
//!
//! Invariants shared by both formats:
//! - a record is handed to the caller only once it has been read in full and
//!   found well-formed, so a [`RecordError::Malformed`] never leaves half a
//!   record behind in the caller's hands;
//! - after a malformed record the reader has already skipped to the start of
//!   the next one, so reading can go on;
//! - memory is bounded whatever the input: a field is at most
//!   [`MAX_FIELD_BYTES`], a record at most [`MAX_RECORD_BYTES`] and
//!   [`MAX_RECORD_FIELDS`]; a length read from the input is checked before
//!   anything is allocated for it;
//! - buffers are kept from one record to the next, so once warmed up, reading
//!   allocates nothing on the export path, and on the JSON path only the
//!   scratch buffer `serde_json` takes for a line with escaped strings.

use std::io::{self, BufRead, Read};
use std::ops::Range;

pub mod cursor;
mod export;
pub mod ids;
mod json;
pub mod native;
pub mod sd;
pub mod tail;

/// The largest field accepted, name and value together; far above what
/// journald stores, it mostly keeps a forged binary length from allocating.
pub const MAX_FIELD_BYTES: usize = 64 << 20;

/// The largest record accepted: the bytes of its fields, and for JSON lines
/// also of its line.
pub const MAX_RECORD_BYTES: usize = 4 * MAX_FIELD_BYTES;

/// The most field values a record may have; real records have a few dozen,
/// this only bounds the bookkeeping for a hostile one.
pub const MAX_RECORD_FIELDS: usize = 65_536;

/// Buffers that grew past this for an unusually large record are shrunk back
/// to it, so that one huge record does not pin its memory for the whole run.
const KEEP_CAPACITY: usize = 1 << 20;

/// The format of the stream being read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `journalctl -o export`.
    Export,
    /// `journalctl -o json`: one object per line.
    JsonLines,
}

/// Why [`RecordReader::next_record`] did not return a record.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// A record that could not be parsed; the reader has skipped to the next
    /// record, so the caller may log this and keep reading.
    ///
    /// `record` counts every record read so far, good or bad, from 1.
    /// `line` is the 1-based line of the input where the offending field
    /// (export format) or record (JSON lines) starts; every newline byte
    /// counts, including those inside binary export fields, so that it is
    /// the line an editor or `sed -n` shows.
    #[error("malformed record {record} at line {line}: {reason}")]
    Malformed { record: u64, line: u64, reason: String },
    /// The stream is in neither format: its first line is no export field
    /// (`NAME=value`, or a binary field's `NAME`) and no JSON object. The
    /// reader reads nothing more.
    #[error("the input is neither journal export format nor JSON lines: its first line starts {0}")]
    NotRecords(String),
    /// The stream itself failed; stop reading.
    #[error("cannot read records: {0}")]
    Io(#[from] io::Error),
}

/// Reads records one at a time from a byte stream in either format, detected
/// from the first non-whitespace byte (`{` means JSON lines).
pub struct RecordReader<R: BufRead> {
    input: Input<R>,
    format: Option<Format>,
    fields: Fields,
    /// The current line, for JSON lines; kept between records.
    line: Vec<u8>,
    /// Records read so far, good or bad.
    records: u64,
}

impl<R: BufRead> RecordReader<R> {
    pub fn new(input: R) -> Self {
        RecordReader { input: Input::new(input), format: None, fields: Fields::default(), line: Vec::new(), records: 0 }
    }

    /// The format of the stream; `None` until the first call to
    /// [`next_record`](Self::next_record) has seen a non-whitespace byte.
    pub fn format(&self) -> Option<Format> {
        self.format
    }

    /// Reads the next record, calling `field(name, value)` for each field
    /// value in order (raw bytes: JSON strings are passed as their UTF-8
    /// bytes, byte arrays as the bytes; every value of a multi-valued field is
    /// passed, in order; null values are skipped).
    ///
    /// Returns `Ok(true)` when a record was read, `Ok(false)` at end of input.
    /// `field` is called only for a record that was read in full.
    pub fn next_record(&mut self, field: &mut dyn FnMut(&[u8], &[u8])) -> Result<bool, RecordError> {
        let format = match self.format {
            Some(format) => format,
            None => match self.input.skip_while(|b| b.is_ascii_whitespace())? {
                None => return Ok(false),
                Some(b'{') => *self.format.insert(Format::JsonLines),
                Some(_) => match self.input.first_line_is_a_field()? {
                    Ok(()) => *self.format.insert(Format::Export),
                    Err(start) => {
                        self.input.skip_to_end()?;
                        return Err(RecordError::NotRecords(quote(&start)));
                    }
                },
            },
        };
        let result = match format {
            Format::Export => export::read_record(&mut self.input, &mut self.fields),
            Format::JsonLines => json::read_record(&mut self.input, &mut self.line, &mut self.fields),
        };
        match result {
            Ok(false) => Ok(false),
            Ok(true) => {
                self.records += 1;
                self.fields.emit(field);
                Ok(true)
            }
            Err(Failure::Malformed { line, reason }) => {
                self.records += 1;
                Err(RecordError::Malformed { record: self.records, line, reason })
            }
            Err(Failure::Io(err)) => Err(RecordError::Io(err)),
        }
    }
}

/// What the format readers report; [`RecordReader`] adds the record number.
enum Failure {
    Malformed { line: u64, reason: String },
    Io(io::Error),
}

impl From<io::Error> for Failure {
    fn from(err: io::Error) -> Self {
        Failure::Io(err)
    }
}

/// Quotes a bad value for an error message: escaped, so that control bytes
/// cannot garble a terminal or a log, and cut short, so that a 64 MiB line
/// does not become a 64 MiB message.
fn quote(bytes: &[u8]) -> String {
    const SHOWN: usize = 64;
    let mut quoted = format!("{:?}", String::from_utf8_lossy(&bytes[..bytes.len().min(SHOWN)]));
    if bytes.len() > SHOWN {
        quoted.push('…');
    }
    quoted
}

/// Empties a buffer for the next record, giving back memory that an
/// unusually large record made it take.
fn reset<T>(buf: &mut Vec<T>, keep: usize) {
    buf.clear();
    if buf.capacity() > keep {
        buf.shrink_to(keep);
    }
}

/// Where a field's name and value lie in [`Fields::bytes`].
struct Span {
    name: Range<usize>,
    value: Range<usize>,
}

/// The fields of the record being read. Names and values are all in one
/// buffer, reused from record to record, and located by spans; the values of
/// a multi-valued field share the bytes of its name.
#[derive(Default)]
struct Fields {
    bytes: Vec<u8>,
    spans: Vec<Span>,
}

impl Fields {
    fn clear(&mut self) {
        reset(&mut self.bytes, KEEP_CAPACITY);
        reset(&mut self.spans, KEEP_CAPACITY / std::mem::size_of::<Span>());
    }

    /// Checks that a value of `value_len` bytes may be added to the field
    /// whose name is at `name`, `new_bytes` of it still to be put in the
    /// buffer; `u64` because export lengths are read as such.
    fn check_room(&self, name: &Range<usize>, value_len: u64, new_bytes: u64) -> Result<(), String> {
        if self.spans.len() >= MAX_RECORD_FIELDS {
            return Err(format!("record has more than {MAX_RECORD_FIELDS} field values"));
        }
        let field_len = (name.len() as u64).saturating_add(value_len);
        if field_len > MAX_FIELD_BYTES as u64 {
            return Err(format!(
                "field {} has {field_len} bytes, over the limit of {MAX_FIELD_BYTES}",
                self.quoted(name)
            ));
        }
        if (self.bytes.len() as u64).saturating_add(new_bytes) > MAX_RECORD_BYTES as u64 {
            return Err(format!("record has more than {MAX_RECORD_BYTES} bytes"));
        }
        Ok(())
    }

    /// Adds a field value whose bytes are already in the buffer.
    fn push(&mut self, name: Range<usize>, value: Range<usize>) -> Result<(), String> {
        self.check_room(&name, value.len() as u64, 0)?;
        self.spans.push(Span { name, value });
        Ok(())
    }

    /// Copies a field value into the buffer and adds it.
    fn push_value(&mut self, name: Range<usize>, value: &[u8]) -> Result<(), String> {
        self.check_room(&name, value.len() as u64, value.len() as u64)?;
        let start = self.bytes.len();
        self.bytes.extend_from_slice(value);
        self.spans.push(Span { name, value: start..self.bytes.len() });
        Ok(())
    }

    /// The bytes at `range`, quoted for an error message.
    fn quoted(&self, range: &Range<usize>) -> String {
        quote(&self.bytes[range.clone()])
    }

    fn emit(&self, field: &mut dyn FnMut(&[u8], &[u8])) {
        for span in &self.spans {
            field(&self.bytes[span.name.clone()], &self.bytes[span.value.clone()]);
        }
    }
}

/// How [`Input::read_line`] stopped.
#[derive(Debug, PartialEq, Eq)]
enum LineEnd {
    /// At a newline, which was consumed.
    Newline,
    /// At the end of input; the line may be empty.
    Eof,
    /// Past the cap: nothing was kept, and the rest of the line is unread.
    TooLong,
}

/// The input stream, counting lines as it goes. Every read goes through
/// these methods so that the line count stays right.
struct Input<R> {
    source: Pushback<R>,
    /// The 1-based line number of the next unread byte.
    line: u64,
}

impl<R: BufRead> Input<R> {
    fn new(inner: R) -> Self {
        Input { source: Pushback { inner, pending: [0; 8], start: 0, end: 0 }, line: 1 }
    }

    fn line(&self) -> u64 {
        self.line
    }

    /// Skips the bytes for which `skip` holds and returns the next one,
    /// left unread; `None` at the end of input.
    fn skip_while(&mut self, skip: impl Fn(u8) -> bool) -> io::Result<Option<u8>> {
        loop {
            let (skipped, next, newlines) = {
                let buf = match self.source.fill_buf() {
                    Ok(buf) => buf,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err),
                };
                if buf.is_empty() {
                    return Ok(None);
                }
                let skipped = buf.iter().position(|&b| !skip(b)).unwrap_or(buf.len());
                (skipped, buf.get(skipped).copied(), count_newlines(&buf[..skipped]))
            };
            self.source.consume(skipped);
            self.line += newlines;
            if next.is_some() {
                return Ok(next);
            }
        }
    }

    /// Whether the line at hand can start an export record: a field name
    /// (printable ASCII, no space) up to the first `=`, or alone on its line
    /// (a binary field). Judged on what is buffered, which holds the line
    /// unless it is very long: a name that long is taken for one. The
    /// line's start is given back for the message when it cannot.
    fn first_line_is_a_field(&mut self) -> io::Result<Result<(), Vec<u8>>> {
        let buf = loop {
            match self.source.fill_buf() {
                Ok(buf) => break buf,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            }
        };
        let line = &buf[..buf.iter().position(|&b| b == b'\n').unwrap_or(buf.len())];
        let name = &line[..line.iter().position(|&b| b == b'=').unwrap_or(line.len())];
        Ok(match name.iter().all(u8::is_ascii_graphic) {
            true => Ok(()),
            false => Err(line.to_vec()),
        })
    }

    /// The next byte, left unread; `None` at the end of input.
    fn peek_byte(&mut self) -> io::Result<Option<u8>> {
        self.skip_while(|_| false)
    }

    /// Appends the rest of the current line, without its newline, to `buf`;
    /// a line longer than `cap` bytes is left in the input (past its first
    /// `cap + 1` bytes) and reported as [`LineEnd::TooLong`].
    fn read_line(&mut self, buf: &mut Vec<u8>, cap: usize) -> io::Result<LineEnd> {
        let start = buf.len();
        // `read_until` finds the newline with std's fast memchr.
        let read = (&mut self.source).take(cap as u64 + 1).read_until(b'\n', buf)?;
        if read > 0 && buf.last() == Some(&b'\n') {
            buf.pop();
            self.line += 1;
            Ok(LineEnd::Newline)
        } else if read > cap {
            buf.truncate(start);
            Ok(LineEnd::TooLong)
        } else {
            Ok(LineEnd::Eof)
        }
    }

    /// Skips the rest of the current line, newline included; false if the
    /// input ended first.
    fn skip_line(&mut self) -> io::Result<bool> {
        loop {
            let (used, found) = {
                let buf = match self.source.fill_buf() {
                    Ok(buf) => buf,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err),
                };
                if buf.is_empty() {
                    return Ok(false);
                }
                match buf.iter().position(|&b| b == b'\n') {
                    Some(at) => (at + 1, true),
                    None => (buf.len(), false),
                }
            };
            self.source.consume(used);
            if found {
                self.line += 1;
                return Ok(true);
            }
        }
    }

    /// Skips everything left.
    fn skip_to_end(&mut self) -> io::Result<()> {
        while self.skip_line()? {}
        Ok(())
    }

    /// The next 8 bytes as a little-endian number, left unread; `None` if
    /// fewer than 8 are left.
    fn peek_u64_le(&mut self) -> io::Result<Option<u64>> {
        Ok(self.source.peek8()?.map(u64::from_le_bytes))
    }

    /// Consumes the 8 bytes that [`peek_u64_le`](Self::peek_u64_le) saw.
    fn skip_u64(&mut self) -> io::Result<()> {
        let mut bytes = [0; 8];
        self.source.read_exact(&mut bytes)?;
        self.line += count_newlines(&bytes);
        Ok(())
    }

    /// Appends the next `len` bytes to `buf`; false if the input ended first.
    fn read_bytes(&mut self, buf: &mut Vec<u8>, len: usize) -> io::Result<bool> {
        let mut left = len;
        while left > 0 {
            let used = {
                let chunk = match self.source.fill_buf() {
                    Ok(chunk) => chunk,
                    Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                    Err(err) => return Err(err),
                };
                if chunk.is_empty() {
                    return Ok(false);
                }
                let chunk = &chunk[..left.min(chunk.len())];
                buf.extend_from_slice(chunk);
                self.line += count_newlines(chunk);
                chunk.len()
            };
            self.source.consume(used);
            left -= used;
        }
        Ok(true)
    }
}

fn count_newlines(bytes: &[u8]) -> u64 {
    // No early exit, so this vectorises.
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

/// A buffered reader that can look 8 bytes ahead even across the end of its
/// inner reader's buffer, by keeping them aside: the export reader needs to
/// see a binary field's length before deciding whether it is one, and must
/// not lose those bytes if it is not, since they may start the next record.
struct Pushback<R> {
    inner: R,
    /// Bytes taken from `inner` and not consumed yet: `pending[start..end]`.
    pending: [u8; 8],
    start: usize,
    end: usize,
}

impl<R: BufRead> Pushback<R> {
    fn peek8(&mut self) -> io::Result<Option<[u8; 8]>> {
        let mut bytes = [0; 8];
        let mut have = 0;
        while have < 8 {
            let buf = match self.fill_buf() {
                Ok(buf) => buf,
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            if have == 0 && buf.len() >= 8 {
                // The usual case: all there, nothing to set aside.
                bytes.copy_from_slice(&buf[..8]);
                return Ok(Some(bytes));
            }
            if buf.is_empty() {
                break;
            }
            let used = buf.len().min(8 - have);
            bytes[have..have + used].copy_from_slice(&buf[..used]);
            self.consume(used);
            have += used;
        }
        self.pending = bytes;
        self.start = 0;
        self.end = have;
        Ok((have == 8).then_some(bytes))
    }
}

impl<R: BufRead> Read for Pushback<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let used = {
            let buf = self.fill_buf()?;
            let used = buf.len().min(out.len());
            out[..used].copy_from_slice(&buf[..used]);
            used
        };
        self.consume(used);
        Ok(used)
    }
}

impl<R: BufRead> BufRead for Pushback<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start < self.end {
            Ok(&self.pending[self.start..self.end])
        } else {
            self.inner.fill_buf()
        }
    }

    fn consume(&mut self, amount: usize) {
        if self.start < self.end {
            self.start = (self.start + amount).min(self.end);
        } else {
            self.inner.consume(amount);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record's fields, names as text.
    pub(super) type Record = Vec<(String, Vec<u8>)>;

    /// Reads every record: its fields, or the error's Display.
    pub(super) fn read_all(input: &[u8]) -> Vec<Result<Record, String>> {
        read_all_with(RecordReader::new(input))
    }

    pub(super) fn read_all_with<R: BufRead>(mut reader: RecordReader<R>) -> Vec<Result<Record, String>> {
        let mut out = Vec::new();
        loop {
            let mut fields = Vec::new();
            match reader.next_record(&mut |name, value| {
                fields.push((String::from_utf8_lossy(name).into_owned(), value.to_vec()))
            }) {
                Ok(true) => out.push(Ok(fields)),
                Ok(false) => return out,
                Err(RecordError::Malformed { .. }) if !fields.is_empty() => {
                    panic!("fields of a malformed record were passed")
                }
                Err(err @ RecordError::Malformed { .. }) => out.push(Err(err.to_string())),
                Err(err @ RecordError::NotRecords(_)) => out.push(Err(err.to_string())),
                Err(RecordError::Io(err)) => panic!("unexpected I/O error: {err}"),
            }
            assert!(out.len() < 10_000, "reader does not advance");
        }
    }

    #[test]
    fn detects_the_format_from_the_first_non_whitespace_byte() {
        for (input, format) in [
            (&b"\n \t{\"A\":\"1\"}\n"[..], Some(Format::JsonLines)),
            (b"\n\nA=1\n", Some(Format::Export)),
            (b"", None),
            (b" \n\r\n\t", None),
        ] {
            let mut reader = RecordReader::new(input);
            assert_eq!(reader.format(), None);
            let read = reader.next_record(&mut |_, _| {}).unwrap();
            assert_eq!(read, format.is_some());
            assert_eq!(reader.format(), format);
            assert!(!reader.next_record(&mut |_, _| {}).unwrap());
        }
    }

    #[test]
    fn quote_escapes_and_shortens() {
        assert_eq!(quote(b"a\x1b[31m\xff"), "\"a\\u{1b}[31m\u{fffd}\"");
        let long = quote(&[b'x'; 100]);
        assert!(long.ends_with("x\"…") && long.len() < 80, "{long}");
    }

    #[test]
    fn io_errors_stop_the_reader() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut reader = RecordReader::new(io::BufReader::new(Failing));
        let err = reader.next_record(&mut |_, _| {}).unwrap_err();
        assert!(matches!(err, RecordError::Io(_)));
        assert_eq!(err.to_string(), "cannot read records: disk on fire");
    }

    /// A reader that hands out one byte at a time, so that every look-ahead
    /// crosses a buffer boundary.
    pub(super) struct Trickle<'a>(pub &'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let len = out.len().min(1);
            self.0.read(&mut out[..len])
        }
    }

    impl BufRead for Trickle<'_> {
        fn fill_buf(&mut self) -> io::Result<&[u8]> {
            Ok(&self.0[..self.0.len().min(1)])
        }

        fn consume(&mut self, amount: usize) {
            self.0 = &self.0[amount..];
        }
    }

    #[test]
    fn peeking_across_buffer_boundaries_loses_nothing() {
        let mut input = Input::new(Trickle(b"0123456789\nrest"));
        assert_eq!(input.peek_u64_le().unwrap(), Some(u64::from_le_bytes(*b"01234567")));
        assert_eq!(input.peek_u64_le().unwrap(), Some(u64::from_le_bytes(*b"01234567")));
        let mut line = Vec::new();
        assert_eq!(input.read_line(&mut line, 100).unwrap(), LineEnd::Newline);
        assert_eq!(line, b"0123456789");
        assert_eq!(input.line(), 2);
        assert_eq!(input.peek_u64_le().unwrap(), None);
        line.clear();
        assert_eq!(input.read_line(&mut line, 100).unwrap(), LineEnd::Eof);
        assert_eq!(line, b"rest");
    }

    #[test]
    fn read_line_caps_long_lines() {
        let mut input = Input::new(&b"12345\n123456\n"[..]);
        let mut line = Vec::new();
        assert_eq!(input.read_line(&mut line, 5).unwrap(), LineEnd::Newline);
        assert_eq!(input.read_line(&mut line, 5).unwrap(), LineEnd::TooLong);
        assert_eq!(line, b"12345");
        assert!(input.skip_line().unwrap());
        assert_eq!(input.line(), 3);
        assert!(!input.skip_line().unwrap());
    }
}
