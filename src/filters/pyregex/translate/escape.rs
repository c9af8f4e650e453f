//! Backslash sequences and character classes, read as Python reads them
//! and written so that Rust engines read the same characters.

use super::super::{syntax, unsupported, PyRegexError};
use super::{Escape, Last, Mode, Translator};

impl Translator {
    pub(super) fn escape_outside_class(&mut self, at: usize) -> Result<(), PyRegexError> {
        match self.escape(at, false)? {
            Escape::Literal(c) => self.literal(c),
            Escape::Class(c) if self.flags.ascii => self.emit(&format!("[{}]", perl_class(c, true)), Last::Item),
            Escape::Class(c) => self.emit(perl_class(c, false), Last::Item),
            Escape::Anchor('A') => self.emit(r"\A", Last::Anchor),
            Escape::Anchor('Z') => self.emit(r"\z", Last::Anchor),
            Escape::Anchor(c) => {
                let negated = c == 'B';
                let text = match (self.flags.ascii, self.mode == Mode::Backtracking, negated) {
                    (false, _, false) => r"\b",
                    (false, _, true) => r"\B",
                    (true, false, false) => r"(?-u:\b)",
                    (true, false, true) => r"(?-u:\B)",
                    // fancy_regex cannot disable Unicode: spell the boundary out.
                    (true, true, false) => r"(?:(?<=[[:word:]])(?![[:word:]])|(?<![[:word:]])(?=[[:word:]]))",
                    (true, true, true) => r"(?:(?<=[[:word:]])(?=[[:word:]])|(?<![[:word:]])(?![[:word:]]))",
                };
                self.emit(text, Last::Anchor);
            }
            Escape::Backref(group) => self.backref(group),
        }
        Ok(())
    }
    /// Reads the sequence after a backslash at `at`, as Python does inside or
    /// outside a character class.
    fn escape(&mut self, at: usize, in_class: bool) -> Result<Escape, PyRegexError> {
        let Some(c) = self.bump() else {
            return Err(syntax("bad escape (end of pattern)", at));
        };
        Ok(Escape::Literal(match c {
            'd' | 'D' | 's' | 'S' | 'w' | 'W' => return Ok(Escape::Class(c)),
            'A' | 'Z' | 'b' | 'B' if !in_class => return Ok(Escape::Anchor(c)),
            'b' => '\x08',
            'a' => '\x07',
            'f' => '\x0c',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'v' => '\x0b',
            'x' => self.hex(at, c, 2)?,
            'u' => self.hex(at, c, 4)?,
            'U' => self.hex(at, c, 8)?,
            'N' => return Err(unsupported(r"named character escape \N{...}", at)),
            '0' => self.octal(at, 0, 2)?,
            '1'..='7' if in_class => self.octal(at, c as u32 - '0' as u32, 2)?,
            '1'..='9' if !in_class => return self.backref_or_octal(at, c as usize - '0' as usize),
            c if c.is_ascii_alphanumeric() => return Err(syntax(format!("bad escape \\{c}"), at)),
            c => c,
        }))
    }

    /// Exactly `count` hex digits after `\x`, `\u` or `\U`.
    fn hex(&mut self, at: usize, kind: char, count: usize) -> Result<char, PyRegexError> {
        let start = self.pos;
        let mut value = 0u32;
        while let Some(digit) = self.peek().filter(|_| self.pos - start < count).and_then(|c| c.to_digit(16)) {
            value = value * 16 + digit;
            self.pos += 1;
        }
        let text = format!("\\{kind}{}", self.source(start));
        if self.pos - start < count {
            return Err(syntax(format!("incomplete escape {text}"), at));
        }
        match char::from_u32(value) {
            Some(c) => Ok(c),
            None if (0xd800..0xe000).contains(&value) => Err(unsupported(format!("surrogate code point {text}"), at)),
            None => Err(syntax(format!("bad escape {text}"), at)),
        }
    }

    /// Up to `more` octal digits after those already read into `value`.
    fn octal(&mut self, at: usize, mut value: u32, more: usize) -> Result<char, PyRegexError> {
        for _ in 0..more {
            let Some(digit) = self.peek().and_then(|c| c.to_digit(8)) else { break };
            value = value * 8 + digit;
            self.pos += 1;
        }
        match u8::try_from(value) {
            Ok(byte) => Ok(char::from(byte)),
            Err(_) => Err(syntax(format!("octal escape value {} outside of range 0-0o377", self.source(at)), at)),
        }
    }

    /// `\1`..`\99` refer to a group, but three octal digits are a character.
    fn backref_or_octal(&mut self, at: usize, first: usize) -> Result<Escape, PyRegexError> {
        let mut group = first;
        if let Some(second) = self.peek().and_then(|c| c.to_digit(10)) {
            self.pos += 1;
            let third_is_octal = self.peek().is_some_and(|c| c.is_digit(8));
            if first < 8 && second < 8 && third_is_octal {
                return Ok(Escape::Literal(self.octal(at, first as u32 * 8 + second, 1)?));
            }
            group = group * 10 + second as usize;
        }
        match self.closed.get(group) {
            Some(true) => Ok(Escape::Backref(group)),
            Some(false) => Err(syntax("cannot refer to an open group", at)),
            None => Err(syntax(format!("invalid group reference {group}"), at + 1)),
        }
    }

    /// A character class, rebuilt item by item so that Rust's nested classes
    /// and set operations never come into play.
    pub(super) fn class(&mut self, at: usize) -> Result<(), PyRegexError> {
        self.out.push('[');
        if self.eat('^') {
            self.out.push('^');
        }
        let mut empty = true;
        loop {
            let item_at = self.pos;
            let Some(c) = self.bump() else {
                return Err(syntax("unterminated character set", at));
            };
            // A `]` right after `[` or `[^` is a literal.
            if c == ']' && !empty {
                break;
            }
            empty = false;
            let first = if c == '\\' { self.escape(item_at, true)? } else { Escape::Literal(c) };
            if !self.eat('-') {
                self.class_item(first);
                continue;
            }
            let Some(c) = self.bump() else {
                return Err(syntax("unterminated character set", at));
            };
            if c == ']' {
                // `a-]`: the `-` is a literal and the class is over.
                self.class_item(first);
                self.class_item(Escape::Literal('-'));
                break;
            }
            let second = if c == '\\' { self.escape(self.pos - 1, true)? } else { Escape::Literal(c) };
            match (first, second) {
                (Escape::Literal(low), Escape::Literal(high)) if low <= high => {
                    push_literal(&mut self.out, low);
                    self.out.push('-');
                    push_literal(&mut self.out, high);
                }
                _ => return Err(syntax(format!("bad character range {}", self.source(item_at)), item_at)),
            }
        }
        self.emit("]", Last::Item);
        Ok(())
    }

    fn class_item(&mut self, item: Escape) {
        match item {
            Escape::Class(c) => self.out.push_str(perl_class(c, self.flags.ascii)),
            Escape::Literal(c) => push_literal(&mut self.out, c),
            // escape() returns these only outside classes.
            Escape::Anchor(_) | Escape::Backref(_) => {}
        }
    }
}

/// Rust's spelling of Python's `\d \D \s \S \w \W`. With Unicode, Rust's own
/// escapes mean the same; ASCII ones are POSIX classes, written in brackets.
fn perl_class(c: char, ascii: bool) -> &'static str {
    match (c, ascii) {
        ('d', false) => r"\d",
        ('D', false) => r"\D",
        ('s', false) => r"\s",
        ('S', false) => r"\S",
        ('w', false) => r"\w",
        (_, false) => r"\W",
        ('d', true) => "[:digit:]",
        ('D', true) => "[:^digit:]",
        ('s', true) => "[:space:]",
        ('S', true) => "[:^space:]",
        ('w', true) => "[:word:]",
        (_, true) => "[:^word:]",
    }
}

/// Appends `c` so that both engines read it as that one character, in or
/// out of a class.
pub(super) fn push_literal(out: &mut String, c: char) {
    if c.is_control() {
        out.push_str(&format!("\\x{{{:X}}}", u32::from(c)));
        return;
    }
    if r"\.+*?()|[]{}^$#&-~".contains(c) {
        out.push('\\');
    }
    out.push(c);
}
