//! The translator: reads a Python pattern token by token, as Python 3.11's
//! `re/_parser.py` does, and writes it in Rust engine syntax (see the
//! parent module for the rules). This file holds the token loop, groups and
//! flags; `escape` holds backslash sequences and character classes.

mod escape;

use super::{syntax, unsupported, PyRegexError};
use escape::push_literal;

/// A Python pattern rewritten for a Rust engine.
pub(super) struct Translation {
    pub(super) rust: String,
    pub(super) backtracking: bool,
    pub(super) group_count: usize,
    pub(super) named_groups: Vec<(usize, String)>,
}

// Python's inline flags, as bits.
const FLAG_CHARS: &str = "imsxauLt";
const I: u8 = 1;
const M: u8 = 2;
const S: u8 = 4;
const X: u8 = 8;
const A: u8 = 16;
const U: u8 = 32;
const L: u8 = 64;
const T: u8 = 128;
/// The flags choosing how `\w` & co. read characters; one at a time.
const TYPE_FLAGS: u8 = A | U | L;

fn flag_bit(c: char) -> Option<u8> {
    FLAG_CHARS.find(c).map(|index| 1 << index)
}

/// The flags Rust engines spell like Python (the others are done here).
fn engine_flags(bits: u8) -> String {
    [(I, 'i'), (M, 'm'), (S, 's')].iter().filter(|(bit, _)| bits & bit != 0).map(|&(_, c)| c).collect()
}

/// Flags that change how this translator reads or writes the pattern.
#[derive(Clone, Copy, Default)]
struct Flags {
    verbose: bool,
    ascii: bool,
}

impl Flags {
    fn apply(&mut self, on: u8, off: u8) {
        self.verbose = (self.verbose || on & X != 0) && off & X == 0;
        if on & (A | U) != 0 {
            self.ascii = on & A != 0;
        }
    }
}

/// What the last token of the current branch was, to judge a quantifier.
#[derive(Clone, Copy)]
enum Last {
    Nothing,
    Anchor,
    Repeat,
    Item,
}

enum FrameKind {
    Capture(usize),
    Conditional {
        branches: usize,
    },
    /// A look-around in a superset translation: its text is dropped.
    Dropped,
    Other,
}

/// An open parenthesis.
struct Frame {
    kind: FrameKind,
    /// Offset of `(` in the pattern.
    start: usize,
    /// Flags to restore at `)`.
    outer_flags: Flags,
    /// Where the group starts in the output, and where its body starts.
    out_start: usize,
    body_start: usize,
}

/// A backslash sequence, read as Python reads it.
enum Escape {
    Literal(char),
    /// `d D s S w W`.
    Class(char),
    /// `A Z b B`, outside classes only.
    Anchor(char),
    /// `\1` to `\99`, outside classes only.
    Backref(usize),
}

/// What a translation is for.
#[derive(Copy, Clone, PartialEq, Eq)]
pub(super) enum Mode {
    /// The linear engine (tried first for every pattern).
    Linear,
    /// The backtracking engine: ASCII word boundaries spelled as look-arounds.
    Backtracking,
    /// A linear pattern that matches at least wherever the pattern does:
    /// look-arounds dropped, back-references as `(?s:.*)`, atomic groups,
    /// possessive quantifiers and conditionals loosened. It runs before the
    /// backtracking engine, which allocates per search, so that the lines
    /// that cannot match (nearly all of them) cost a linear scan only.
    Superset,
}

pub(super) struct Translator {
    chars: Vec<char>,
    pos: usize,
    out: String,
    mode: Mode,
    flags: Flags,
    last: Last,
    /// Whether anything but comments and global flags has been read.
    started: bool,
    frames: Vec<Frame>,
    /// closed[i]: group i has been closed, so it may be referred to.
    closed: Vec<bool>,
    named_groups: Vec<(usize, String)>,
    /// (group, offset) of conditionals on a group not open yet.
    later_conditionals: Vec<(usize, usize)>,
    backtracking: bool,
}

impl Translator {
    pub(super) fn new(pattern: &str, mode: Mode) -> Translator {
        Translator {
            chars: pattern.chars().collect(),
            pos: 0,
            out: String::with_capacity(pattern.len() + 16),
            mode,
            flags: Flags::default(),
            last: Last::Nothing,
            started: false,
            frames: Vec::new(),
            closed: vec![true],
            named_groups: Vec::new(),
            later_conditionals: Vec::new(),
            backtracking: false,
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += 1;
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        let found = self.peek() == Some(c);
        self.pos += usize::from(found);
        found
    }

    fn source(&self, from: usize) -> String {
        self.chars[from..self.pos].iter().collect()
    }

    pub(super) fn run(mut self) -> Result<Translation, PyRegexError> {
        while let Some(c) = self.bump() {
            let at = self.pos - 1;
            if self.flags.verbose && matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c') {
                continue;
            }
            if self.flags.verbose && c == '#' {
                while !matches!(self.bump(), None | Some('\n')) {}
                continue;
            }
            match c {
                '\\' => self.escape_outside_class(at)?,
                '[' => self.class(at)?,
                '*' => self.repeat(at, "*")?,
                '+' => self.repeat(at, "+")?,
                '?' => self.repeat(at, "?")?,
                '{' => self.brace(at)?,
                '(' => self.open_group(at)?,
                ')' => self.close_group(at)?,
                '|' => self.alternative(at)?,
                '^' => self.emit("^", Last::Anchor),
                '$' => self.emit("$", Last::Anchor),
                '.' => self.emit(".", Last::Item),
                c => self.literal(c),
            }
        }
        if let Some(frame) = self.frames.last() {
            return Err(syntax("missing ), unterminated subpattern", frame.start));
        }
        if let Some(&(group, at)) = self.later_conditionals.iter().find(|&&(group, _)| group >= self.closed.len()) {
            return Err(syntax(format!("invalid group reference {group}"), at));
        }
        // Python allows it, but fancy_regex wants the group opened first.
        if let Some(&(_, at)) = self.later_conditionals.first() {
            return Err(unsupported("conditional on a group opened after it", at));
        }
        Ok(Translation {
            rust: self.out,
            backtracking: self.backtracking,
            group_count: self.closed.len() - 1,
            named_groups: self.named_groups,
        })
    }

    fn emit(&mut self, text: &str, last: Last) {
        self.out.push_str(text);
        self.last = last;
        self.started = true;
    }

    fn literal(&mut self, c: char) {
        push_literal(&mut self.out, c);
        self.emit("", Last::Item);
    }

    /// A quantifier, already written as Rust reads it.
    fn repeat(&mut self, at: usize, quantifier: &str) -> Result<(), PyRegexError> {
        match self.last {
            Last::Item => {}
            Last::Repeat => return Err(syntax("multiple repeat", at)),
            Last::Nothing | Last::Anchor => return Err(syntax("nothing to repeat", at)),
        }
        self.out.push_str(quantifier);
        if self.eat('?') {
            self.out.push('?');
        } else if self.eat('+') {
            if self.mode != Mode::Superset {
                self.out.push('+');
            }
            self.backtracking = true;
        }
        self.last = Last::Repeat;
        Ok(())
    }

    /// `{m}`, `{m,}`, `{,n}`, `{m,n}`, or else a literal `{`.
    fn brace(&mut self, at: usize) -> Result<(), PyRegexError> {
        let digits = |t: &mut Translator| {
            let start = t.pos;
            while t.peek().is_some_and(|c| c.is_ascii_digit()) {
                t.pos += 1;
            }
            t.source(start)
        };
        let low = digits(self);
        let high = if self.eat(',') { Some(digits(self)) } else { None };
        if (low.is_empty() && high.is_none()) || !self.eat('}') {
            self.pos = at + 1;
            self.literal('{');
            return Ok(());
        }
        // Python's limit; the engines' size limits bite well before.
        let number = |text: &str| match text.parse::<u64>() {
            Ok(n) if n < u64::from(u32::MAX) => Ok(n),
            _ => Err(syntax("the repetition number is too large", at)),
        };
        let min = if low.is_empty() { 0 } else { number(&low)? };
        let quantifier = match high.as_deref() {
            None => format!("{{{min}}}"),
            Some("") => format!("{{{min},}}"),
            Some(high) => {
                let max = number(high)?;
                if max < min {
                    return Err(syntax("min repeat greater than max repeat", at + 1));
                }
                format!("{{{min},{max}}}")
            }
        };
        self.repeat(at, &quantifier)
    }

    fn alternative(&mut self, at: usize) -> Result<(), PyRegexError> {
        if let Some(Frame { kind: FrameKind::Conditional { branches }, .. }) = self.frames.last_mut() {
            *branches += 1;
            if *branches > 1 {
                return Err(syntax("conditional backref with more than two branches", at));
            }
        }
        self.out.push('|');
        self.last = Last::Nothing;
        self.started = true;
        Ok(())
    }

    fn backref(&mut self, group: usize) {
        match self.mode {
            Mode::Superset => self.emit("(?s:.*)", Last::Item),
            _ => self.emit(&format!(r"\k<{group}>"), Last::Item),
        }
        self.backtracking = true;
    }

    fn open_frame(&mut self, kind: FrameKind, at: usize, text: &str) {
        let out_start = self.out.len();
        self.out.push_str(text);
        let body_start = self.out.len();
        self.frames.push(Frame { kind, start: at, outer_flags: self.flags, out_start, body_start });
        self.last = Last::Nothing;
        self.started = true;
    }

    fn open_group(&mut self, at: usize) -> Result<(), PyRegexError> {
        if !self.eat('?') {
            self.closed.push(false);
            self.open_frame(FrameKind::Capture(self.closed.len() - 1), at, "(");
            return Ok(());
        }
        // Python points at the `?` for unknown extensions, at the end when there is none.
        let question = at + 1;
        let c = self.bump().ok_or_else(|| syntax("unexpected end of pattern", self.pos))?;
        match c {
            'P' if self.eat('<') => {
                let (name, name_at) = self.group_name('>')?;
                if let Some((group, _)) = self.named_groups.iter().find(|(_, known)| *known == name) {
                    let message = format!(
                        "redefinition of group name '{name}' as group {}; was group {group}",
                        self.closed.len()
                    );
                    return Err(syntax(message, name_at));
                }
                self.closed.push(false);
                let group = self.closed.len() - 1;
                self.named_groups.push((group, name));
                self.open_frame(FrameKind::Capture(group), at, "(");
            }
            'P' if self.eat('=') => {
                let (name, name_at) = self.group_name(')')?;
                let Some(&(group, _)) = self.named_groups.iter().find(|(_, known)| *known == name) else {
                    return Err(syntax(format!("unknown group name '{name}'"), name_at));
                };
                if !self.closed[group] {
                    return Err(syntax("cannot refer to an open group", name_at));
                }
                self.backref(group);
            }
            'P' => {
                let c = self.bump().ok_or_else(|| syntax("unexpected end of pattern", self.pos))?;
                return Err(syntax(format!("unknown extension ?P{c}"), question));
            }
            ':' => self.open_frame(FrameKind::Other, at, "(?:"),
            '#' => loop {
                // As in Python, a backslash hides the next character, even `)`.
                match self.bump() {
                    None => return Err(syntax("missing ), unterminated comment", at)),
                    Some(')') => break,
                    Some('\\') => self.pos = (self.pos + 1).min(self.chars.len()),
                    Some(_) => {}
                }
            },
            '=' | '!' => self.lookaround(at, if c == '=' { "(?=" } else { "(?!" }),
            '<' => match self.bump().ok_or_else(|| syntax("unexpected end of pattern", self.pos))? {
                '=' => self.lookaround(at, "(?<="),
                '!' => self.lookaround(at, "(?<!"),
                c => return Err(syntax(format!("unknown extension ?<{c}"), question)),
            },
            '(' => self.conditional(at)?,
            '>' => {
                let text = if self.mode == Mode::Superset { "(?:" } else { "(?>" };
                self.open_frame(FrameKind::Other, at, text);
                self.backtracking = true;
            }
            c if c == '-' || flag_bit(c).is_some() => self.flag_group(at, c)?,
            c => return Err(syntax(format!("unknown extension ?{c}"), question)),
        }
        Ok(())
    }

    fn lookaround(&mut self, at: usize, text: &str) {
        let kind = if self.mode == Mode::Superset { FrameKind::Dropped } else { FrameKind::Other };
        self.open_frame(kind, at, text);
        self.backtracking = true;
    }

    /// Reads a group name up to `terminator`; it must be an identifier.
    /// Returns it with its offset.
    fn group_name(&mut self, terminator: char) -> Result<(String, usize), PyRegexError> {
        let (name, at) = self.read_name(terminator)?;
        if !is_identifier(&name) {
            return Err(syntax(format!("bad character in group name '{name}'"), at));
        }
        Ok((name, at))
    }

    fn read_name(&mut self, terminator: char) -> Result<(String, usize), PyRegexError> {
        let start = self.pos;
        loop {
            match self.bump() {
                Some(c) if c == terminator => break,
                Some(_) => {}
                None if self.pos == start => return Err(syntax("missing group name", start)),
                None => return Err(syntax(format!("missing {terminator}, unterminated name"), start)),
            }
        }
        let name: String = self.chars[start..self.pos - 1].iter().collect();
        if name.is_empty() {
            return Err(syntax("missing group name", start));
        }
        Ok((name, start))
    }

    /// `(?(id)yes|no)`, where id is a group name or number.
    fn conditional(&mut self, at: usize) -> Result<(), PyRegexError> {
        let (id, id_at) = self.read_name(')')?;
        let group = if is_identifier(&id) {
            match self.named_groups.iter().find(|(_, known)| *known == id) {
                Some(&(group, _)) => group,
                None => return Err(syntax(format!("unknown group name '{id}'"), id_at)),
            }
        } else {
            match id.parse::<usize>() {
                Ok(0) => return Err(syntax("bad group number", id_at)),
                Ok(group) if id.bytes().all(|b| b.is_ascii_digit()) => {
                    if group >= self.closed.len() {
                        self.later_conditionals.push((group, id_at));
                    }
                    group
                }
                _ => return Err(syntax(format!("bad character in group name '{id}'"), id_at)),
            }
        };
        let text = if self.mode == Mode::Superset { "(?:".to_owned() } else { format!("(?({group})") };
        self.open_frame(FrameKind::Conditional { branches: 0 }, at, &text);
        self.backtracking = true;
        Ok(())
    }

    /// Inline flags after `(?`, global `(?aiLmsux)` or scoped
    /// `(?aiLmsux-imsx:...)`, checked as Python's `_parse_flags` does.
    /// Errors point where Python's do: at or just after the culprit.
    fn flag_group(&mut self, at: usize, first: char) -> Result<(), PyRegexError> {
        let mut c = first;
        let mut on = 0;
        if c != '-' {
            loop {
                let Some(bit) = flag_bit(c) else {
                    return Err(syntax(
                        if c.is_alphabetic() { "unknown flag" } else { "missing -, : or )" },
                        self.pos - 1,
                    ));
                };
                if bit == L {
                    return Err(syntax("bad inline flags: cannot use 'L' flag with a str pattern", self.pos));
                }
                on |= bit;
                if bit & TYPE_FLAGS != 0 && on & TYPE_FLAGS != bit {
                    return Err(syntax("bad inline flags: flags 'a', 'u' and 'L' are incompatible", self.pos));
                }
                c = self.bump().ok_or_else(|| syntax("missing -, : or )", self.pos))?;
                if matches!(c, ')' | '-' | ':') {
                    break;
                }
            }
        }
        if c == ')' {
            return self.global_flags(at, on);
        }
        if on & T != 0 {
            return Err(syntax("bad inline flags: cannot turn on global flag", self.pos - 1));
        }
        let mut off = 0;
        if c == '-' {
            let mut missing = "missing flag";
            loop {
                c = self.bump().ok_or_else(|| syntax(missing, self.pos))?;
                if c == ':' && off != 0 {
                    break;
                }
                let Some(bit) = flag_bit(c) else {
                    return Err(syntax(if c.is_alphabetic() { "unknown flag" } else { missing }, self.pos - 1));
                };
                if bit & TYPE_FLAGS != 0 {
                    return Err(syntax("bad inline flags: cannot turn off flags 'a', 'u' and 'L'", self.pos));
                }
                if bit == T {
                    return Err(syntax("bad inline flags: cannot turn off global flag", self.pos - 1));
                }
                off |= bit;
                missing = "missing :";
            }
        }
        if on & off != 0 {
            return Err(syntax("bad inline flags: flag turned on and off", self.pos - 1));
        }
        let (on_text, off_text) = (engine_flags(on), engine_flags(off));
        let dash = if off_text.is_empty() { "" } else { "-" };
        self.open_frame(FrameKind::Other, at, &format!("(?{on_text}{dash}{off_text}:"));
        self.flags.apply(on, off);
        Ok(())
    }

    fn global_flags(&mut self, at: usize, on: u8) -> Result<(), PyRegexError> {
        if self.started || !self.frames.is_empty() {
            return Err(syntax("global flags not at the start of the expression", at));
        }
        if on & T != 0 {
            return Err(unsupported("the TEMPLATE flag (?t)", at));
        }
        self.flags.apply(on, 0);
        let text = engine_flags(on);
        if !text.is_empty() {
            self.out.push_str(&format!("(?{text})"));
        }
        Ok(())
    }

    fn close_group(&mut self, at: usize) -> Result<(), PyRegexError> {
        let Some(frame) = self.frames.pop() else {
            return Err(syntax("unbalanced parenthesis", at));
        };
        match frame.kind {
            FrameKind::Capture(group) => self.closed[group] = true,
            // fancy_regex reads `(?(1))` and `(?(1)|)` as "group 1 matched",
            // Python as "match nothing either way", i.e. an empty group.
            FrameKind::Conditional { .. } if matches!(&self.out[frame.body_start..], "" | "|") => {
                self.out.truncate(frame.out_start);
                self.out.push_str("(?:");
            }
            // Either branch may be taken; a missing "no" branch matches empty.
            FrameKind::Conditional { branches: 0 } if self.mode == Mode::Superset => self.out.push('|'),
            // An assertion matches no text: dropping it only widens the match.
            FrameKind::Dropped => {
                self.out.truncate(frame.out_start);
                self.out.push_str("(?:");
            }
            FrameKind::Conditional { .. } | FrameKind::Other => {}
        }
        self.flags = frame.outer_flags;
        self.emit(")", Last::Item);
        Ok(())
    }
}

/// Python's `str.isidentifier`, give or take Unicode's fine print.
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c == '_' || c.is_alphabetic()) && chars.all(|c| c == '_' || c.is_alphanumeric())
}
