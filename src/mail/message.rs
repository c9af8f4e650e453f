//! A whole message: headers, then one text part or a `multipart/alternative` of text and
//! HTML, as the bytes a `sendmail -t` reads.
//!
//! The time comes from the caller (a [`crate::time::Clock`] reading), which keeps the
//! crate's rule that only the clock reads the time; the `Message-ID` adds the process id,
//! a counter and a random number, so two messages of the same microsecond still differ.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use chrono::{Local, TimeZone, Utc};

use super::encode::{address, fold, quoted_printable, subject};
use crate::config::EmailSettings;

/// A message ready for the mailer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    bytes: Vec<u8>,
    id: String,
}

impl Message {
    /// A `text/plain` message to `settings.to`, from `settings.from`. The caller picks the
    /// subject (`settings.subject` unless the action names one); `now_us` (microseconds
    /// since the epoch, a [`crate::time::Clock`] reading) gives the `Date`.
    pub fn text(settings: &EmailSettings, subject: &str, body: &str, now_us: u64) -> Message {
        let mut message = Message::start(settings, subject, now_us);
        message.push_part_headers("text/plain");
        message.push_str("\n");
        let encoded = quoted_printable(body);
        message.push_str(&encoded);
        // The mailer wants a final line break, and the decoded text must not gain one: a
        // soft break (`=` at the end of the line) ends the body without adding to it.
        if !encoded.is_empty() && !encoded.ends_with('\n') {
            message.push_str("=\n");
        }
        message
    }

    /// A `multipart/alternative` message: `text` as `text/plain`, then `html` as
    /// `text/html` (readers show the last part they can display, RFC 2046 §5.1.4).
    pub fn alternative(settings: &EmailSettings, subject: &str, text: &str, html: &str, now_us: u64) -> Message {
        let parts = [("text/plain", quoted_printable(text)), ("text/html", quoted_printable(html))];
        let boundary = boundary_for(&parts.iter().map(|(_, body)| body.as_str()).collect::<Vec<_>>());
        let mut message = Message::start(settings, subject, now_us);
        message.push_str(&fold("Content-Type", &format!("multipart/alternative; boundary=\"{boundary}\"")));
        message.push_str("\n\nThis is a message in MIME format: a text part, then the same as HTML.\n");
        for (content_type, body) in &parts {
            // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1),
            // so each body comes back exactly, with or without a final line break.
            message.push_str(&format!("\n--{boundary}\n"));
            message.push_part_headers(content_type);
            message.push_str("\n");
            message.push_str(body);
        }
        message.push_str(&format!("\n--{boundary}--\n"));
        message
    }

    /// The `Message-ID`, angle brackets included: for logs that tie a failure to a mail.
    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The headers common to both kinds, up to `MIME-Version`.
    fn start(settings: &EmailSettings, subject_text: &str, now_us: u64) -> Message {
        let id = message_id(now_us);
        let mut message = Message { bytes: Vec::with_capacity(1024), id };
        message.push_line(&fold("From", &address(&settings.from)));
        let to: Vec<String> = settings.to.iter().map(|t| address(t)).filter(|t| !t.is_empty()).collect();
        // No recipient, no `To`: the mailer then says so (`sendmail -t`: "no recipients").
        if !to.is_empty() {
            message.push_line(&fold("To", &to.join(", ")));
        }
        message.push_line(&subject(subject_text));
        message.push_line(&format!("Date: {}", rfc2822_date(now_us)));
        message.push_line(&format!("Message-ID: {}", message.id));
        // RFC 3834 §5: keeps vacation responders from answering a robot.
        message.push_line("Auto-Submitted: auto-generated");
        message.push_line("MIME-Version: 1.0");
        message
    }

    fn push_part_headers(&mut self, content_type: &str) {
        self.push_line(&format!("Content-Type: {content_type}; charset=utf-8"));
        self.push_line("Content-Transfer-Encoding: quoted-printable");
    }

    fn push_line(&mut self, line: &str) {
        self.push_str(line);
        self.push_str("\n");
    }

    fn push_str(&mut self, text: &str) {
        self.bytes.extend_from_slice(text.as_bytes());
    }
}

impl From<Message> for Vec<u8> {
    fn from(message: Message) -> Vec<u8> {
        message.bytes
    }
}

/// `Fri, 21 Nov 2025 13:00:00 +0100`: local time with its numeric offset (RFC 5322
/// §3.3). An instant chrono cannot represent (year 262,000) is written as the epoch.
fn rfc2822_date(now_us: u64) -> String {
    let local = i64::try_from(now_us).ok().and_then(|us| Local.timestamp_micros(us).single());
    match local {
        Some(t) => t.to_rfc2822(),
        None => Utc.timestamp_opt(0, 0).single().expect("the epoch exists").to_rfc2822(),
    }
}

/// `<TIME.PID.COUNTER.RANDOM@HOST>`. Unique per process by the counter, across processes
/// on one host by the pid and time, and across hosts (or a host name shared by mistake)
/// by the random part.
fn message_id(now_us: u64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("<{now_us}.{}.{count}.{:016x}@{}>", std::process::id(), random(count), host())
}

/// 64 random-ish bits without a dependency: std seeds each `RandomState` from the
/// operating system's random source (then varies it per instance), and hashing with it
/// scrambles the input.
fn random(salt: u64) -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(salt);
    hasher.finish()
}

/// The host name for `Message-ID`s, read once: `gethostname(2)`, kept to the characters of
/// a dot-atom (RFC 5322 §3.2.3) that host names use; `localhost` if nothing is left.
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let mut buf = [0u8; 256];
        // SAFETY: the pointer and length describe `buf`, which outlives the call;
        // gethostname writes at most `len` bytes.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        // POSIX leaves a truncated name without its NUL: take the buffer up to the first
        // NUL or its end.
        let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
        let name: String = match rc {
            0 => buf[..end]
                .iter()
                .map(|&b| char::from(b))
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
                .collect(),
            _ => String::new(),
        };
        let name = name.trim_matches('.');
        if name.is_empty() {
            "localhost".to_owned()
        } else {
            name.to_owned()
        }
    })
}

/// A multipart boundary found in none of `bodies`. It starts with `=_`, which
/// quoted-printable never produces (`=` is always followed by hex digits or a line
/// break), so a clash is impossible by construction; the check makes that a fact of this
/// code rather than of the encoder, and a clash would simply draw another.
fn boundary_for(bodies: &[&str]) -> String {
    pick_boundary(bodies, |salt| format!("=_banwarden_{:016x}{:016x}", random(salt), random(!salt)))
}

/// The first of `candidate(0)`, `candidate(1)`... that no body contains.
pub(super) fn pick_boundary(bodies: &[&str], mut candidate: impl FnMut(u64) -> String) -> String {
    (0..).map(&mut candidate).find(|b| !bodies.iter().any(|body| body.contains(b.as_str()))).expect("endless")
}
