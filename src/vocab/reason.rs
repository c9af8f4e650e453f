//! Why a ban was made, beyond who made it ([`super::Origin`]): the journal
//! entry that triggered it (its time, cursor and `MESSAGE`), the counter
//! value that reached the threshold, and a free text (the `ban` command's
//! `--reason`, an API client's `reason`, the origin host's own `by` for a
//! fleet ban).
//!
//! A reason is kept with each ban in the store and in memory, so every
//! text in it is bounded when it is made ([`Reason::shorten`]): the whole
//! is a few hundred bytes at most, whatever a log line or a client sent.
//! Control characters are escaped on the way in, so a reason printed on a
//! terminal or in a log line can never forge a line or move the cursor.

use std::fmt;

/// Longest `MESSAGE` kept, in characters.
pub const MESSAGE_MAX: usize = 200;
/// Longest free text kept, in characters.
pub const NOTE_MAX: usize = 200;
/// Longest counter name, key or client address kept, in characters.
pub const NAME_MAX: usize = 128;
/// Longest journal cursor kept (systemd's are about 130 bytes); a longer
/// one is not a cursor and is dropped rather than cut (cut, it would name
/// no entry).
pub const CURSOR_MAX: usize = 512;

/// The counter value a ban followed: the counter's name, the key raised
/// (usually the address) and the count it reached.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CounterValue {
    pub name: Box<str>,
    pub key: Box<str>,
    pub count: u64,
}

/// Why a ban was made. Every part is optional: a ban by hand has no
/// journal entry, a Pyruse record has no reason at all.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Reason {
    /// The triggering entry's `__REALTIME_TIMESTAMP` (µs since the epoch).
    pub time_us: Option<u64>,
    /// The triggering entry's journal cursor, to find it again.
    pub cursor: Option<Box<str>>,
    /// The triggering entry's `MESSAGE`, shortened and escaped.
    pub message: Option<Box<str>>,
    /// The counter raise the ban followed, in the same chain run.
    pub counter: Option<CounterValue>,
    /// A free text: `ban --reason`, an API request's reason, the fleet
    /// host's own origin of the ban.
    pub note: Option<Box<str>>,
    /// The API client's address, for a ban asked over the network.
    pub client: Option<Box<str>>,
}

impl Reason {
    /// Whether it says nothing (then nothing is stored).
    pub fn is_empty(&self) -> bool {
        *self == Reason::default()
    }

    /// `text` cut to `max` characters (on a character boundary, with `…`
    /// when cut) and its control characters escaped (`\n`, `\u{1b}`).
    pub fn shorten(text: &str, max: usize) -> Box<str> {
        let mut out = String::with_capacity(text.len().min(max * 2));
        for (i, c) in text.chars().enumerate() {
            if i == max {
                out.push('…');
                break;
            }
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        out.into_boxed_str()
    }

    /// A cursor as given, or `None` when it cannot be one (too long,
    /// control characters).
    pub fn cursor_checked(cursor: &str) -> Option<Box<str>> {
        let ok = !cursor.is_empty() && cursor.len() <= CURSOR_MAX && !cursor.chars().any(char::is_control);
        ok.then(|| cursor.into())
    }

    /// The reason with a free text (shortened).
    pub fn with_note(mut self, note: &str) -> Reason {
        self.note = Some(Reason::shorten(note, NOTE_MAX)).filter(|n| !n.is_empty());
        self
    }

    /// The short form `list` shows after the origin: the counter and the
    /// count it reached (`sshd=5`), else the note, else nothing.
    pub fn short(&self) -> Option<String> {
        match (&self.counter, &self.note) {
            (Some(c), _) => Some(format!("{}={}", c.name, c.count)),
            (None, Some(note)) => Some(note.to_string()),
            (None, None) => None,
        }
    }
}

impl fmt::Display for CounterValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "counter {:?} reached {} for {:?}", self.name, self.count, self.key)
    }
}

/// The reason in one line, as diagnostics print it.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = &self.counter {
            parts.push(c.to_string());
        }
        if let Some(note) = &self.note {
            parts.push(format!("{note:?}"));
        }
        if let Some(client) = &self.client {
            parts.push(format!("from {client}"));
        }
        if let Some(message) = &self.message {
            parts.push(format!("entry {message:?}"));
        }
        f.write_str(&parts.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_cut_on_a_char_boundary_and_escaped() {
        assert_eq!(&*Reason::shorten("short", 200), "short");
        assert_eq!(&*Reason::shorten("ééé", 2), "éé…");
        assert_eq!(&*Reason::shorten("a\nb\u{1b}[2J", 200), "a\\nb\\u{1b}[2J");
        let long = "x".repeat(1000);
        assert_eq!(Reason::shorten(&long, MESSAGE_MAX).chars().count(), MESSAGE_MAX + 1);
    }

    #[test]
    fn cursors_are_kept_whole_or_not_at_all() {
        assert_eq!(Reason::cursor_checked("s=abc;i=1").as_deref(), Some("s=abc;i=1"));
        assert_eq!(Reason::cursor_checked(&"c".repeat(CURSOR_MAX + 1)), None);
        assert_eq!(Reason::cursor_checked("a\nb"), None);
        assert_eq!(Reason::cursor_checked(""), None);
    }

    #[test]
    fn the_short_form_prefers_the_counter() {
        let mut r = Reason::default().with_note("abuse report #12");
        assert!(!r.is_empty());
        assert_eq!(r.short().as_deref(), Some("abuse report #12"));
        r.counter = Some(CounterValue { name: "sshd".into(), key: "192.0.2.7".into(), count: 5 });
        assert_eq!(r.short().as_deref(), Some("sshd=5"));
        assert_eq!(r.to_string(), r#"counter "sshd" reached 5 for "192.0.2.7", "abuse report #12""#);
        assert!(Reason::default().is_empty() && Reason::default().with_note("").is_empty());
    }
}
