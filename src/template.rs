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
mod tests {
    use super::*;

    /// Renders `template` with `values` set; `count` (like `PRIORITY`) is numeric.
    fn render(template: &str, values: &[(&str, &str)]) -> String {
        let mut fields = FieldTable::new();
        let count = fields.intern("count");
        fields.mark_numeric(count);
        let parsed = Template::parse(template, &mut fields).unwrap_or_else(|e| panic!("{template}: {e}"));
        let ids: Vec<_> = values.iter().map(|&(name, _)| fields.intern(name)).collect();
        let mut entry = Entry::new(&fields);
        for (id, &(_, value)) in ids.into_iter().zip(values) {
            entry.set(id, value);
        }
        parsed.render_to_string(&entry, &fields)
    }

    /// Checks `(template, value of x and count, expected)` rows.
    fn check(rows: &[(&str, &str, &str)]) {
        for &(template, value, expected) in rows {
            let got = render(template, &[("x", value), ("count", value)]);
            assert_eq!(got, expected, "{template} with {value:?}");
        }
    }

    fn error(template: &str) -> String {
        Template::parse(template, &mut FieldTable::new()).unwrap_err().to_string()
    }

    #[test]
    fn literals_and_fields() {
        assert_eq!(render("", &[]), "");
        assert_eq!(render("{{literal}}", &[]), "{literal}");
        assert_eq!(render("a{{{x}}}b }}{{", &[("x", "v")]), "a{v}b }{");
        assert_eq!(render("{x:}}}", &[("x", "v")]), "v}");
        let values = [("thatIP", "192.0.2.1"), ("_SYSTEMD_UNIT", "sshd.service")];
        assert_eq!(render("ban {thatIP} ({_SYSTEMD_UNIT})", &values), "ban 192.0.2.1 (sshd.service)");
        // Python takes any name without `{}:!.[`, spaces and `]` included.
        assert_eq!(render("{ a }{a]}{é}", &[(" a ", "1"), ("a]", "2"), ("é", "3")]), "123");
    }

    #[test]
    fn missing_fields_render_none_with_the_spec() {
        check(&[("{x}", "", ""), ("{x!r}", "", "''")]);
        assert_eq!(render("{x}", &[]), "None");
        assert_eq!(render("{x!r}", &[]), "None");
        assert_eq!(render("{x:>6}", &[]), "  None");
        // Python would raise: None takes no spec.
        assert_eq!(render("{count:^9d}", &[]), "  None   ");
    }

    #[test]
    fn strings_format_like_python_str() {
        // Expected values from Python 3.11.
        check(&[
            ("{x:*>10}", "abc", "*******abc"),
            ("{x:.3}", "abcdef", "abc"),
            ("{x:^6}", "ab", "  ab  "),
            ("{x:^5}", "ab", " ab  "),
            ("{x:5}", "ab", "ab   "),
            ("{x:*^7.2}", "abc", "**ab***"),
            ("{x:05}", "ab", "ab000"),
            ("{x:é>6}", "ab", "ééééab"),
            ("{x:!<5}", "ab", "ab!!!"),
            ("{x::^6}", "ab", "::ab::"),
            ("{x:>5s}", "ab", "   ab"),
            ("{x:.0}", "ab", ""),
            ("{x:>3}", "abcdef", "abcdef"),
            // widths and precisions count code points
            ("{x:^7}", "é€😀", "  é€😀  "),
            ("{x:.2}", "é€😀", "é€"),
        ]);
    }

    #[test]
    fn numbers_format_like_python_int() {
        check(&[
            ("{count:^9d}", "12", "   12    "),
            ("{count}", "007", "7"),
            ("{count:5}", "42", "   42"),
            ("{count:<5}", "42", "42   "),
            ("{count:^4}", "5", " 5  "),
            ("{count:05}", "-5", "-0005"),
            ("{count:<05}", "5", "50000"),
            ("{count:+d}", "5", "+5"),
            ("{count: d}", "5", " 5"),
            ("{count:=+6}", "5", "+    5"),
            ("{count:=^5}", "5", "==5=="),
            ("{count:#d}", "5", "5"),
            ("{count:,}", "1234567", "1,234,567"),
            ("{count:_d}", "1234567", "1_234_567"),
            ("{count:x=10,}", "1234", "xxxxx1,234"),
            // zero padding goes inside the groups, even past the width
            ("{count:010,}", "1234", "00,001,234"),
            ("{count:09,}", "1234", "0,001,234"),
            ("{count:+010,}", "-1234", "-0,001,234"),
            ("{count:,}", "-123456789012345678901234567890", "-123,456,789,012,345,678,901,234,567,890"),
        ]);
        assert_eq!(render("{PRIORITY:>3}|{PRIORITY:3}", &[("PRIORITY", "6")]), "  6|  6");
    }

    #[test]
    fn only_numeric_fields_holding_integers_are_numbers() {
        check(&[("{count:5}", "many", "many "), ("{count:^9d}", "n/a", "   n/a   "), ("{count:5}", "1.5", "1.5  ")]);
        assert_eq!(render("{x:5}", &[("x", "42")]), "42   ");
        // Numeric-ness is read at render time: marking may come after parsing.
        let mut fields = FieldTable::new();
        let template = Template::parse("{n:4}", &mut fields).unwrap();
        let n = fields.get("n").unwrap();
        fields.mark_numeric(n);
        let mut entry = Entry::new(&fields);
        entry.set(n, "7");
        assert_eq!(template.render_to_string(&entry, &fields), "   7");
    }

    #[test]
    fn where_python_would_raise_the_text_is_formatted_as_a_str() {
        check(&[
            ("{x:d}", "ab", "ab"),
            ("{x:^6d}", "ab", "  ab  "),
            ("{x:+,}", "ab", "ab"),
            ("{x:=5}", "ab", "   ab"),
            ("{count:>6s}", "1234", "  1234"),
            // a precision never cuts a number's digits
            ("{count:6.2}", "1234", "1234  "),
        ]);
    }

    #[test]
    fn conversions() {
        check(&[
            ("{x!s:>4}", "ab", "  ab"),
            ("{x!r}", "abc", "'abc'"),
            ("{x!r}", "it's", r#""it's""#),
            ("{x!r}", r#"a'b"c"#, r#"'a\'b"c'"#),
            ("{x!r}", "tab\there\nnul\0\x7f\\", r"'tab\there\nnul\x00\x7f\\'"),
            ("{x!r}", "é\u{a0}\u{200b}😀", r"'é\xa0\u200b😀'"),
            ("{x!a}", "é\u{a0}\u{200b}😀", r"'\xe9\xa0\u200b\U0001f600'"),
            ("{x!r:>7}", "abc", "  'abc'"),
            ("{x!r:.3}", "abc", "'ab"),
            ("{count!r}", "12", "12"),
            ("{count!s:>4}", "12", "  12"),
        ]);
    }

    #[test]
    fn realtime_timestamp_renders_as_local_time() {
        let mut fields = FieldTable::new();
        let template =
            Template::parse("at {__REALTIME_TIMESTAMP}|{__REALTIME_TIMESTAMP:>34.19}|", &mut fields).unwrap();
        let mut entry = Entry::new(&fields);
        assert_eq!(template.render_to_string(&entry, &fields), "at None|                              None|");
        let time_us = 1_735_689_624_931_461;
        entry.set_time_us(time_us);
        let local = crate::time::format_local(time_us);
        let expected = format!("at {local}|{:>34}|", &local[..19]);
        assert_eq!(template.render_to_string(&entry, &fields), expected);
    }

    #[test]
    fn fields_and_source() {
        let mut fields = FieldTable::new();
        let text = "{thatIP} {MESSAGE!r:>5} {thatIP}";
        let template = Template::parse(text, &mut fields).unwrap();
        let ip = fields.get("thatIP").unwrap();
        assert_eq!(template.fields().collect::<Vec<_>>(), [ip, crate::fields::MESSAGE, ip]);
        assert_eq!(template.as_str(), text);
    }

    #[test]
    fn errors_say_what_and_where() {
        for (template, message) in [
            ("ab{", "unmatched '{' at offset 2: write '{{' for a literal brace"),
            ("é{x", "unmatched '{' at offset 1: write '{{' for a literal brace"),
            ("abc}", "single '}' at offset 3: write '}}' for a literal brace"),
            ("{x}}", "single '}' at offset 3: write '}}' for a literal brace"),
            ("{x:{w}}", "nested '{' at offset 3 is not supported"),
            ("a {}", "positional field '{}' at offset 2 is not supported: name a field"),
            ("{0:>5}", "positional field '{0:>5}' at offset 0 is not supported: name a field"),
            ("{!r}", "positional field '{!r}' at offset 0 is not supported: name a field"),
            ("{a.b}", "attribute or index access in '{a.b}' at offset 0 is not supported"),
            ("{a[0]}", "attribute or index access in '{a[0]}' at offset 0 is not supported"),
            ("{x!q}", "bad conversion in '{x!q}' at offset 0: expected '!s', '!r' or '!a'"),
            ("{x!}", "bad conversion in '{x!}' at offset 0: expected '!s', '!r' or '!a'"),
            ("{x!rr}", "bad conversion in '{x!rr}' at offset 0: expected '!s', '!r' or '!a'"),
            ("{x:q}", "unknown format type 'q' in '{x:q}' at offset 0"),
            ("{x:>8f}", "format type 'f' in '{x:>8f}' at offset 0 is not supported: use 's', 'd' or none"),
            ("{x:5x5}", "invalid format spec in '{x:5x5}' at offset 0: expected [[fill]align][sign][#][0][width][,|_][.precision][type]"),
            ("{x:.}", "invalid format spec in '{x:.}' at offset 0: missing precision after '.'"),
            ("{x:,_}", "invalid format spec in '{x:,_}' at offset 0: more than one grouping option"),
            ("{x:z}", "invalid format spec in '{x:z}' at offset 0: 'z' is for float types, which are not supported"),
            ("{x:99999}", "invalid format spec in '{x:99999}' at offset 0: width or precision above 65535"),
            ("{x:.3d}", "invalid format spec in '{x:.3d}' at offset 0: 'd' is for numbers, and a number takes no precision"),
            ("{x:+s}", "invalid format spec in '{x:+s}' at offset 0: a string takes no sign, and 's' is for strings"),
            ("{x:,.2}", "invalid format spec in '{x:,.2}' at offset 0: a string takes no grouping, and a number takes no precision"),
            ("{x!r:d}", "invalid format spec in '{x!r:d}' at offset 0: 'd' is for numbers, and '!r' makes a string"),
        ] {
            assert_eq!(error(template), message, "{template}");
        }
    }
}
