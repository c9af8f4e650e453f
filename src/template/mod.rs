//! Python `str.format` templates, parsed once and rendered against entries.
//!
//! Pyruse rendered its `message` arguments with `template.format_map(entry)`,
//! a missing field giving `None`. A [`Template`] is parsed when the
//! configuration is loaded, and every mistake is reported then: bad syntax,
//! features we do not support (positional fields, attribute or index access,
//! nested specs, float types), and specs that Python would reject whatever the
//! value. Rendering therefore never fails, and it allocates nothing beyond the
//! growth of its output buffer.
//!
//! Field values are texts. A value formats as a Python `int` when its field is
//! numeric ([`FieldTable::is_numeric`]) and its text is an integer, as a `str`
//! otherwise. Numeric-ness is looked up at render time because a field may be
//! marked numeric after a template naming it was parsed. `__REALTIME_TIMESTAMP`
//! is the `str` of the local datetime python-systemd made of it, as
//! [`crate::time::format_local`] prints it.
//!
//! Where Python would still raise at run time (`None` with a spec, `d` on a
//! string, `s` or a precision on a number, a sign or grouping on a string),
//! the value is rendered as a string with the spec's fill, alignment, width
//! and precision (never cutting a number's digits): a message must always
//! come out.

use std::fmt::{self, Write};
use std::ops::Range;

use crate::entry::Entry;
use crate::fields::{FieldId, FieldTable, REALTIME_TIMESTAMP};

/// Why a template was rejected. Offsets count chars from the template's start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("unmatched '{{' at offset {offset}: write '{{{{' for a literal brace")]
    UnmatchedOpen { offset: usize },
    #[error("single '}}' at offset {offset}: write '}}}}' for a literal brace")]
    SingleClose { offset: usize },
    #[error("nested '{{' at offset {offset} is not supported")]
    Nested { offset: usize },
    #[error("positional field '{placeholder}' at offset {offset} is not supported: name a field")]
    Positional { placeholder: String, offset: usize },
    #[error("attribute or index access in '{placeholder}' at offset {offset} is not supported")]
    Access { placeholder: String, offset: usize },
    #[error("bad conversion in '{placeholder}' at offset {offset}: expected '!s', '!r' or '!a'")]
    Conversion { placeholder: String, offset: usize },
    #[error("unknown format type '{ty}' in '{placeholder}' at offset {offset}")]
    UnknownType { ty: char, placeholder: String, offset: usize },
    #[error("format type '{ty}' in '{placeholder}' at offset {offset} is not supported: use 's', 'd' or none")]
    UnsupportedType { ty: char, placeholder: String, offset: usize },
    #[error("invalid format spec in '{placeholder}' at offset {offset}: {reason}")]
    Spec { reason: String, placeholder: String, offset: usize },
}

/// A parsed template.
#[derive(Debug, Clone)]
pub struct Template {
    source: Box<str>,
    pieces: Vec<Piece>,
}

#[derive(Debug, Clone)]
enum Piece {
    /// A byte range of the source, so literals cost no copy. `{{` and `}}`
    /// end a literal just after their first brace; the next starts after the second.
    Literal(Range<usize>),
    Field(Placeholder),
}

#[derive(Debug, Clone)]
struct Placeholder {
    field: FieldId,
    /// `s`, `r` or `a`, after a `!`.
    conversion: Option<char>,
    spec: Spec,
    /// Whether a number may be formatted as one here: no conversion, and a
    /// spec Python accepts for an `int`.
    int_ok: bool,
}

/// `[[fill]align][sign][#][0][width][,|_][.precision][type]`, as parsed by
/// Python's `parse_internal_render_format_spec`.
#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    fill: Option<char>,
    align: Option<Align>,
    /// `+`, `-` or ` `.
    sign: Option<char>,
    alternate: bool,
    /// A `0` before the width: zero fill, and `=` alignment for numbers.
    zero: bool,
    width: usize,
    grouping: Option<char>,
    precision: Option<usize>,
    /// `s` or `d`; the parser rejects the others.
    ty: Option<char>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
    Center,
    /// `=`: padding between the sign and the digits.
    AfterSign,
}

/// What the spec parser found wrong, before it is placed in the template.
enum SpecError {
    Invalid(&'static str),
    UnknownType(char),
    UnsupportedType(char),
}

/// Format types Python knows but we do not support: floats, other bases, `c`, `n`.
const UNSUPPORTED_TYPES: &str = "bcoxXneEfFgG%";

/// Widths and precisions are capped so that a typo cannot make rendering
/// exhaust memory (Python would try).
const MAX_WIDTH: usize = 65_535;

impl Template {
    /// Parses `text`, interning each placeholder's field name in `fields`.
    pub fn parse(text: &str, fields: &mut FieldTable) -> Result<Template, TemplateError> {
        let bytes = text.as_bytes();
        let mut pieces = Vec::new();
        let (mut start, mut i) = (0, 0);
        // Every delimiter is ASCII, so byte indices always fall on char boundaries.
        while i < bytes.len() {
            match (bytes[i], bytes.get(i + 1)) {
                (b'{', Some(b'{')) | (b'}', Some(b'}')) => {
                    pieces.push(Piece::Literal(start..i + 1));
                    i += 2;
                    start = i;
                }
                (b'}', _) => return Err(TemplateError::SingleClose { offset: char_offset(text, i) }),
                (b'{', _) => {
                    pieces.push(Piece::Literal(start..i));
                    let close =
                        text[i..].find('}').ok_or(TemplateError::UnmatchedOpen { offset: char_offset(text, i) })?;
                    let end = i + close + 1;
                    pieces.push(Piece::Field(Placeholder::parse(text, i..end, fields)?));
                    i = end;
                    start = i;
                }
                _ => i += 1,
            }
        }
        pieces.push(Piece::Literal(start..text.len()));
        pieces.retain(|piece| !matches!(piece, Piece::Literal(range) if range.is_empty()));
        Ok(Template { source: text.into(), pieces })
    }

    /// Appends the template rendered against `entry` to `out`.
    pub fn render(&self, entry: &Entry, fields: &FieldTable, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(range) => out.push_str(&self.source[range.clone()]),
                Piece::Field(placeholder) => placeholder.render(entry, fields, out),
            }
        }
    }

    pub fn render_to_string(&self, entry: &Entry, fields: &FieldTable) -> String {
        let mut out = String::with_capacity(self.source.len() + 32);
        self.render(entry, fields, &mut out);
        out
    }

    /// The fields the placeholders name, in order, repeats included.
    pub fn fields(&self) -> impl Iterator<Item = FieldId> + '_ {
        self.pieces.iter().filter_map(|piece| match piece {
            Piece::Field(placeholder) => Some(placeholder.field),
            Piece::Literal(_) => None,
        })
    }

    /// The source text.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl Placeholder {
    /// Parses the placeholder at `at` (braces included) in `text`.
    fn parse(text: &str, at: Range<usize>, fields: &mut FieldTable) -> Result<Placeholder, TemplateError> {
        let offset = char_offset(text, at.start);
        let placeholder = || text[at.clone()].to_owned();
        let body = &text[at.start + 1..at.end - 1];
        if let Some(nested) = body.find('{') {
            return Err(TemplateError::Nested { offset: offset + 1 + char_offset(body, nested) });
        }
        // Like Python, the name ends at the first ':' or '!'; either may then
        // appear in the spec (as a fill char, say).
        let (name, rest) = body.split_at(body.find([':', '!']).unwrap_or(body.len()));
        if name.is_empty() || name.bytes().all(|b| b.is_ascii_digit()) {
            return Err(TemplateError::Positional { placeholder: placeholder(), offset });
        }
        if name.contains(['.', '[']) {
            return Err(TemplateError::Access { placeholder: placeholder(), offset });
        }
        let (conversion, spec) = match rest.strip_prefix('!') {
            None => (None, rest.strip_prefix(':').unwrap_or(rest)),
            Some(after) => {
                let mut chars = after.chars();
                match (chars.next(), chars.as_str()) {
                    (Some(c @ ('s' | 'r' | 'a')), "") => (Some(c), ""),
                    (Some(c @ ('s' | 'r' | 'a')), spec) if spec.starts_with(':') => (Some(c), &spec[1..]),
                    _ => return Err(TemplateError::Conversion { placeholder: placeholder(), offset }),
                }
            }
        };
        let spec = Spec::parse(spec).map_err(|e| match e {
            SpecError::Invalid(reason) => {
                TemplateError::Spec { reason: reason.into(), placeholder: placeholder(), offset }
            }
            SpecError::UnknownType(ty) => TemplateError::UnknownType { ty, placeholder: placeholder(), offset },
            SpecError::UnsupportedType(ty) => TemplateError::UnsupportedType { ty, placeholder: placeholder(), offset },
        })?;
        // Python raises when the spec suits neither kind of value this
        // placeholder can hold; that is a mistake in the configuration.
        let int_problem = match conversion {
            None => spec.int_problem().map(String::from),
            Some(c) => Some(format!("'!{c}' makes a string")),
        };
        if let (Some(str_problem), Some(int_problem)) = (spec.str_problem(), &int_problem) {
            let reason = format!("{str_problem}, and {int_problem}");
            return Err(TemplateError::Spec { reason, placeholder: placeholder(), offset });
        }
        Ok(Placeholder { field: fields.intern(name), conversion, spec, int_ok: int_problem.is_none() })
    }

    fn render(&self, entry: &Entry, fields: &FieldTable, out: &mut String) {
        let value = match entry.get(self.field) {
            None => Value::None,
            // python-systemd turned it into a datetime, and Pyruse printed that.
            Some(_) if self.field == REALTIME_TIMESTAMP => Value::Time(entry.time_us()),
            Some(text) if fields.is_numeric(self.field) => Int::parse(text).map_or(Value::Str(text), Value::Int),
            Some(text) => Value::Str(text),
        };
        let shown = Shown { value, conversion: self.conversion };
        match value {
            Value::Int(n) if self.int_ok => self.spec.write_int(n, out),
            // Python refuses a precision for an int; cutting digits off would mislead.
            Value::Int(_) if self.conversion.is_none() => {
                Spec { precision: None, ..self.spec }.write_str(shown, out);
            }
            _ => self.spec.write_str(shown, out),
        }
    }
}

impl Spec {
    fn parse(text: &str) -> Result<Spec, SpecError> {
        let mut spec = Spec::default();
        let mut rest = text;
        let mut chars = rest.chars();
        let (first, second) = (chars.next(), chars.next());
        if let Some(align) = second.and_then(Align::from_char) {
            spec.fill = first;
            spec.align = Some(align);
            rest = chars.as_str();
        } else if let Some(align) = first.and_then(Align::from_char) {
            spec.align = Some(align);
            rest = &rest[1..];
        }
        spec.sign = ['-', '+', ' '].into_iter().find(|&c| eat(&mut rest, c));
        if eat(&mut rest, 'z') {
            return Err(SpecError::Invalid("'z' is for float types, which are not supported"));
        }
        spec.alternate = eat(&mut rest, '#');
        // After an explicit fill, Python reads a '0' as part of the width.
        spec.zero = spec.fill.is_none() && eat(&mut rest, '0');
        spec.width = number(&mut rest)?.unwrap_or(0);
        spec.grouping = [',', '_'].into_iter().find(|&c| eat(&mut rest, c));
        if spec.grouping.is_some() && rest.starts_with([',', '_']) {
            return Err(SpecError::Invalid("more than one grouping option"));
        }
        if eat(&mut rest, '.') {
            spec.precision = Some(number(&mut rest)?.ok_or(SpecError::Invalid("missing precision after '.'"))?);
        }
        let mut chars = rest.chars();
        spec.ty = match (chars.next(), chars.next()) {
            (None, _) => None,
            (Some(ty @ ('s' | 'd')), None) => Some(ty),
            (Some(ty), None) if UNSUPPORTED_TYPES.contains(ty) => return Err(SpecError::UnsupportedType(ty)),
            (Some(ty), None) => return Err(SpecError::UnknownType(ty)),
            _ => return Err(SpecError::Invalid("expected [[fill]align][sign][#][0][width][,|_][.precision][type]")),
        };
        Ok(spec)
    }

    /// Why Python would refuse to format a `str` with this spec.
    fn str_problem(&self) -> Option<&'static str> {
        [
            (self.sign.is_some(), "a string takes no sign"),
            (self.alternate, "a string takes no '#'"),
            (self.align == Some(Align::AfterSign), "a string takes no '=' alignment"),
            (self.grouping.is_some(), "a string takes no grouping"),
            (self.ty == Some('d'), "'d' is for numbers"),
        ]
        .into_iter()
        .find_map(|(refused, why)| refused.then_some(why))
    }

    /// Why Python would refuse to format an `int` with this spec.
    fn int_problem(&self) -> Option<&'static str> {
        [(self.precision.is_some(), "a number takes no precision"), (self.ty == Some('s'), "'s' is for strings")]
            .into_iter()
            .find_map(|(refused, why)| refused.then_some(why))
    }

    /// The fill and alignment in effect, which depend on the kind of value.
    fn layout(&self, number: bool) -> (char, Align) {
        let fill = self.fill.unwrap_or(if self.zero { '0' } else { ' ' });
        let align = match self.align {
            // A string has no sign to pad after (Python raises).
            Some(Align::AfterSign) if !number => Align::Right,
            Some(align) => align,
            None if number && self.zero => Align::AfterSign,
            None if number => Align::Right,
            None => Align::Left,
        };
        (fill, align)
    }

    /// Formats like Python's `format(str, spec)`, ignoring what only suits numbers.
    fn write_str(&self, shown: Shown<'_>, out: &mut String) {
        if self.width == 0 && self.precision.is_none() {
            let _ = write!(out, "{shown}");
            return;
        }
        let limit = self.precision.unwrap_or(usize::MAX);
        let mut counter = Take { out: None, left: limit };
        let _ = write!(counter, "{shown}");
        let (fill, align) = self.layout(false);
        let (before, after) = align.split(self.width.saturating_sub(limit - counter.left));
        push_fill(out, fill, before);
        let _ = write!(Take { out: Some(out), left: limit }, "{shown}");
        push_fill(out, fill, after);
    }

    /// Formats like Python's `format(int, spec)`.
    fn write_int(&self, n: Int<'_>, out: &mut String) {
        let sign = match (n.negative, self.sign) {
            (true, _) => "-",
            (false, Some('+')) => "+",
            (false, Some(' ')) => " ",
            (false, _) => "",
        };
        let (fill, align) = self.layout(true);
        // Zero fill after the sign goes inside the digit groups, as in
        // Python's `format(1234, "010,")` == "00,001,234".
        let positions = match self.grouping {
            Some(_) if fill == '0' && align == Align::AfterSign => {
                zero_padded_positions(n.digits.len(), self.width.saturating_sub(sign.len()))
            }
            _ => n.digits.len(),
        };
        let separators = if self.grouping.is_some() { (positions - 1) / 3 } else { 0 };
        let (before, after) = align.split(self.width.saturating_sub(sign.len() + positions + separators));
        if align == Align::AfterSign {
            out.push_str(sign);
            push_fill(out, fill, before);
        } else {
            push_fill(out, fill, before);
            out.push_str(sign);
        }
        let zeros = std::iter::repeat_n('0', positions - n.digits.len());
        for (i, digit) in zeros.chain(n.digits.chars()).enumerate() {
            match self.grouping {
                Some(separator) if i > 0 && (positions - i) % 3 == 0 => out.push(separator),
                _ => {}
            }
            out.push(digit);
        }
        push_fill(out, fill, after);
    }
}

impl Align {
    fn from_char(c: char) -> Option<Align> {
        match c {
            '<' => Some(Align::Left),
            '>' => Some(Align::Right),
            '^' => Some(Align::Center),
            '=' => Some(Align::AfterSign),
            _ => None,
        }
    }

    /// Padding before and after the value; Python puts the odd one after.
    fn split(self, pad: usize) -> (usize, usize) {
        match self {
            Align::Left => (0, pad),
            Align::Right | Align::AfterSign => (pad, 0),
            Align::Center => (pad / 2, pad - pad / 2),
        }
    }
}

/// Consumes `c` if `rest` starts with it.
fn eat(rest: &mut &str, c: char) -> bool {
    rest.strip_prefix(c).map(|after| *rest = after).is_some()
}

/// Consumes a run of ASCII digits, if any.
fn number(rest: &mut &str) -> Result<Option<usize>, SpecError> {
    let len = rest.bytes().take_while(u8::is_ascii_digit).count();
    if len == 0 {
        return Ok(None);
    }
    let (digits, after) = rest.split_at(len);
    *rest = after;
    match digits.parse() {
        Ok(n) if n <= MAX_WIDTH => Ok(Some(n)),
        _ => Err(SpecError::Invalid("width or precision above 65535")),
    }
}

/// How many digit positions (leading zeros included) Python writes when
/// zero-filling a grouped number to `min_width` chars: a transcription of the
/// loop in CPython's `_PyUnicode_InsertThousandsGrouping` for groups of 3.
/// The result may exceed the width: Python never starts a group with a separator.
fn zero_padded_positions(digits: usize, min_width: usize) -> usize {
    let (mut remaining, mut min_width, mut positions) = (digits as isize, min_width as isize, 0);
    loop {
        let group = remaining.max(min_width).clamp(1, 3);
        positions += group;
        remaining -= group.min(remaining);
        min_width -= group;
        if remaining <= 0 && min_width <= 0 {
            return positions as usize;
        }
        min_width -= 1; // the separator
    }
}

fn push_fill(out: &mut String, fill: char, count: usize) {
    out.extend(std::iter::repeat_n(fill, count));
}

/// The char offset of byte index `byte`, for error messages.
fn char_offset(text: &str, byte: usize) -> usize {
    text[..byte].chars().count()
}

/// A field's value as Pyruse held it.
#[derive(Clone, Copy)]
enum Value<'a> {
    None,
    Str(&'a str),
    Int(Int<'a>),
    /// `__REALTIME_TIMESTAMP`, microseconds since the epoch.
    Time(u64),
}

/// An integer kept as its text, so that any length formats exactly.
#[derive(Clone, Copy)]
struct Int<'a> {
    negative: bool,
    /// ASCII digits without leading zeros ("0" for zero).
    digits: &'a str,
}

impl Int<'_> {
    /// An optional sign and decimal digits, as counters and the journal write them.
    fn parse(text: &str) -> Option<Int<'_>> {
        let (negative, unsigned) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        if unsigned.is_empty() || !unsigned.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let digits = unsigned.trim_start_matches('0');
        let digits = if digits.is_empty() { "0" } else { digits };
        Some(Int { negative: negative && digits != "0", digits })
    }
}

/// A value as the `str` it becomes after the conversion (`str()` by default).
struct Shown<'a> {
    value: Value<'a>,
    conversion: Option<char>,
}

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ascii = self.conversion == Some('a');
        let quoted = ascii || self.conversion == Some('r');
        match self.value {
            // repr() of None and of an int are the same as str().
            Value::None => f.write_str("None"),
            Value::Int(n) => write!(f, "{}{}", if n.negative { "-" } else { "" }, n.digits),
            Value::Str(text) if quoted => {
                // Python's choice: single quotes unless only they appear in the text.
                let quote = if text.contains('\'') && !text.contains('"') { '"' } else { '\'' };
                f.write_char(quote)?;
                Escape { out: &mut *f, quote, ascii }.write_str(text)?;
                f.write_char(quote)
            }
            Value::Str(text) => f.write_str(text),
            // Python would show `datetime.datetime(...)`; the repr of the text is closer to useful.
            Value::Time(us) if quoted => {
                f.write_char('\'')?;
                crate::time::write_local(&mut Escape { out: &mut *f, quote: '\'', ascii }, us)?;
                f.write_char('\'')
            }
            Value::Time(us) => crate::time::write_local(f, us),
        }
    }
}

/// Writes text the way it appears between the quotes of Python's `repr()`
/// of a `str` (or `ascii()` when `ascii`).
struct Escape<'a, W> {
    out: &'a mut W,
    quote: char,
    ascii: bool,
}

impl<W: Write> Write for Escape<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        s.chars().try_for_each(|c| self.write_char(c))
    }

    fn write_char(&mut self, c: char) -> fmt::Result {
        match c {
            '\\' => self.out.write_str("\\\\"),
            '\t' => self.out.write_str("\\t"),
            '\n' => self.out.write_str("\\n"),
            '\r' => self.out.write_str("\\r"),
            c if c == self.quote => write!(self.out, "\\{c}"),
            ' '..='~' => self.out.write_char(c),
            c if !c.is_ascii() && !self.ascii && is_printable(c) => self.out.write_char(c),
            c if u32::from(c) < 0x100 => write!(self.out, "\\x{:02x}", u32::from(c)),
            c if u32::from(c) < 0x10000 => write!(self.out, "\\u{:04x}", u32::from(c)),
            c => write!(self.out, "\\U{:08x}", u32::from(c)),
        }
    }
}

/// Python's `str.isprintable` for one char: false for the Unicode categories
/// Cc, Cf, Cs, Co, Cn, Zl, Zp and Zs (but the space). Rust's `escape_debug`
/// escapes exactly those, plus grapheme extenders at the start of a string,
/// which the leading 'a' keeps from counting. (The Unicode versions differ:
/// chars assigned after Unicode 14 are printable here, not in Python 3.11.)
fn is_printable(c: char) -> bool {
    let mut buf = [b'a'; 5];
    let len = 1 + c.encode_utf8(&mut buf[1..]).len();
    let pair = std::str::from_utf8(&buf[..len]).expect("a char and an ASCII letter are UTF-8");
    pair.escape_debug().nth(1) == Some(c)
}

/// Passes at most `left` chars on to `out`, or only counts them without one.
struct Take<'a> {
    out: Option<&'a mut String>,
    left: usize,
}

impl Write for Take<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let end = s.char_indices().nth(self.left).map_or(s.len(), |(i, _)| i);
        let kept = &s[..end];
        self.left -= kept.chars().count();
        if let Some(out) = &mut self.out {
            out.push_str(kept);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
