//! A whole message: headers, then one text part or a `multipart/alternative` of text and
//! HTML, as the bytes a `sendmail -t` reads.
//!
//! `mail-builder` writes the MIME structure and the headers (RFC 2047 encoded-words for
//! text that is not plain ASCII, folding); `encodify`, its encoder, writes the bodies as
//! quoted-printable. What stays here is what a mailer on a pipe needs beyond that: LF line
//! ends (see [`super`]), bodies that a `sendmail` without `-i` cannot cut short, and the
//! header values made one line first.
//!
//! The time comes from the caller (a [`crate::time::Clock`] reading), which keeps the
//! crate's rule that only the clock reads the time; the `Message-ID` adds the process id,
//! a counter and a random number, so two messages of the same microsecond still differ.

use std::borrow::Cow;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;

use chrono::{Local, TimeZone, Utc};
use mail_builder::headers::address::Address;
use mail_builder::headers::content_type::ContentType;
use mail_builder::headers::message_id::MessageId;
use mail_builder::headers::raw::Raw;
use mail_builder::headers::text::Text;
use mail_builder::mime::{BodyPart, MimePart};
use mail_builder::MessageBuilder;

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
        let mut part = Body::encode(body);
        // The mailer wants a final line break, and the decoded text must not gain one: a
        // soft break (`=` at the end of the line) ends the body without adding to it.
        if let Body { encoding: "quoted-printable", text } = &mut part {
            if !text.is_empty() && !text.ends_with("\r\n") {
                text.push_str("=\r\n");
            }
        }
        Message::build(settings, subject, now_us, part.into_part("text/plain"))
    }

    /// A `multipart/alternative` message: `text` as `text/plain`, then `html` as
    /// `text/html` (readers show the last part they can display, RFC 2046 §5.1.4).
    pub fn alternative(settings: &EmailSettings, subject: &str, text: &str, html: &str, now_us: u64) -> Message {
        let (text, html) = (Body::encode(text), Body::encode(html));
        let boundary = boundary_for(&[&text.text, &html.text]);
        // The line break before a delimiter belongs to the delimiter (RFC 2046 §5.1.1), and
        // mail-builder writes one there: each body comes back exactly, with or without a
        // final line break.
        let parts = vec![text.into_part("text/plain"), html.into_part("text/html")];
        let content_type = ContentType::new("multipart/alternative").attribute("boundary", boundary);
        Message::build(settings, subject, now_us, MimePart::new(content_type, parts))
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

    fn build(settings: &EmailSettings, subject: &str, now_us: u64, body: MimePart<'_>) -> Message {
        let id = message_id(now_us);
        let mut builder = MessageBuilder::new().from(address(&settings.from));
        let to: Vec<Address<'_>> =
            settings.to.iter().map(|t| one_line(t)).filter(|t| !t.is_empty()).map(|t| address(&t)).collect();
        // No recipient, no `To`: the mailer then says so (`sendmail -t`: "no recipients").
        if !to.is_empty() {
            builder = builder.to(Address::new_list(to));
        }
        let inner_id = id.trim_start_matches('<').trim_end_matches('>').to_owned();
        builder = builder
            .subject(Text::new(one_line(subject)))
            .header("Date", Raw::new(rfc2822_date(now_us)))
            .header("Message-ID", MessageId::new(inner_id))
            // RFC 3834 §5: keeps vacation responders from answering a robot.
            .header("Auto-Submitted", Raw::new("auto-generated"))
            .body(body);
        let mut crlf = Vec::with_capacity(1024);
        builder.serialize(&mut crlf);
        Message { bytes: lf_line_ends(&crlf), id }
    }
}

impl From<Message> for Vec<u8> {
    fn from(message: Message) -> Vec<u8> {
        message.bytes
    }
}

/// A body, encoded, with its `Content-Transfer-Encoding`.
struct Body {
    encoding: &'static str,
    text: String,
}

impl Body {
    /// `text` as quoted-printable (CRLF and LF line breaks both become hard breaks; CR,
    /// controls and non-ASCII escaped; lines of at most 76 characters), unless a line of it
    /// would then start with `.` or `From `: then as base64, which can start neither.
    /// `sendmail` without `-i` (the default command is `sendmail -t`) ends the message at
    /// a line holding a single dot, and mbox writers turn `From ` into `>From `.
    fn encode(text: &str) -> Body {
        let qp = encodify::qp::BODY.encode(text);
        let risky = qp.split("\r\n").any(|line| line.starts_with('.') || line.starts_with("From "));
        match risky {
            false => Body { encoding: "quoted-printable", text: qp },
            true => Body { encoding: "base64", text: encodify::base64::MIME.encode(text.replace("\r\n", "\n")) },
        }
    }

    fn into_part(self, content_type: &'static str) -> MimePart<'static> {
        // A part that names its transfer encoding is written as it is given.
        MimePart::new(content_type, BodyPart::Text(Cow::Owned(self.text))).transfer_encoding(self.encoding)
    }
}

/// mail-builder's CRLF line ends as LF (see [`super`] for why). Every CR it writes ends a
/// line: bodies carry theirs escaped (`=0D`) or in base64, and header values are one line.
fn lf_line_ends(crlf: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(crlf.len());
    let mut rest = crlf;
    while let Some(at) = memchr::memmem::find(rest, b"\r\n") {
        out.extend_from_slice(&rest[..at]);
        out.push(b'\n');
        rest = &rest[at + 2..];
    }
    out.extend_from_slice(rest);
    out
}

/// A header value as one line of text: each run of control characters (CR and LF above
/// all, which would start a new header: header injection) becomes one space, and the
/// surrounding white space goes. mail-builder guards its text headers too; this keeps
/// the guarantee ours, for addresses as well.
pub(super) fn one_line(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    let mut in_run = false;
    for c in value.chars() {
        if c.is_control() {
            if !in_run {
                out.push(' ');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    out.trim().to_owned()
}

/// One address as the settings write it, `root@example.org` or `Name <root@example.org>`
/// (the name quoted or not), made one line; mail-builder encodes a name that is not
/// ASCII. The address itself is left alone: an address that is not ASCII can only
/// travel as UTF-8 (RFC 6532), and the mailer decides whether it can.
fn address(value: &str) -> Address<'static> {
    let value = one_line(value);
    let split = value.strip_suffix('>').and_then(|v| v.rfind('<'));
    let Some(open) = split else { return Address::new_address(None::<String>, value) };
    let name = value[..open].trim();
    let name = name.strip_prefix('"').and_then(|n| n.strip_suffix('"')).unwrap_or(name);
    let email = value[open + 1..value.len() - 1].to_owned();
    Address::new_address((!name.is_empty()).then(|| name.to_owned()), email)
}

/// `Fri, 21 Nov 2025 13:00:00 +0100`: local time with its numeric offset (RFC 5322
/// §3.3; mail-builder's own `Date` is UTC only). An instant chrono cannot represent (year
/// 262,000) is written as the epoch.
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

/// The host name for `Message-ID`s, read once: gethostname(2), kept to the characters of
/// a dot-atom (RFC 5322 §3.2.3) that host names use; `localhost` if nothing is left.
fn host() -> &'static str {
    static HOST: OnceLock<String> = OnceLock::new();
    HOST.get_or_init(|| {
        let name = nix::unistd::gethostname().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
        match name.trim_matches('.') {
            "" => "localhost".to_owned(),
            name => name.to_owned(),
        }
    })
}

/// A multipart boundary found in none of `bodies`. It starts with `=_`, which neither
/// quoted-printable (`=` is always followed by hex digits or a line break) nor base64
/// ever produces, so a clash is impossible by construction; the check makes that a fact
/// of this code rather than of the encoders, and a clash would simply draw another.
fn boundary_for(bodies: &[&str]) -> String {
    pick_boundary(bodies, |salt| format!("=_banwarden_{:016x}{:016x}", random(salt), random(!salt)))
}

/// The first of `candidate(0)`, `candidate(1)`... that no body contains.
pub(super) fn pick_boundary(bodies: &[&str], mut candidate: impl FnMut(u64) -> String) -> String {
    (0..).map(&mut candidate).find(|b| !bodies.iter().any(|body| body.contains(b.as_str()))).expect("endless")
}
