//! Mail for people: building MIME messages ([`Message`]) and handing them to the
//! configured `sendmail` program ([`Mailer`] for the daemon, [`send_now`] for commands).
//!
//! The `email` settings give the sender, the recipients, the default subject and the
//! mailer command; the message goes to the mailer's standard input and the mailer reads
//! the recipients from the headers (`sendmail -t`). Bodies are UTF-8, quoted-printable
//! (base64 when a line would start with `.` or `From `), so that the bytes on the pipe
//! are 7-bit ASCII with short lines whatever the text. `mail-builder` writes the MIME
//! structure and encodes the headers.
//!
//! Lines end with LF, not CRLF. The message goes to a local program, not to an SMTP
//! server, and local mailers take the local line ending and make CRLF themselves on the
//! wire: Postfix before 2.9 (no `sendmail_fix_line_endings`) and other `sendmail`
//! replacements would turn CRLF into CR CRLF, double-spacing the mail; Python's `email`
//! package, which Pyruse used, writes LF as well. Bodies are encoded with LF too, and
//! their CRLF line breaks become LF (for `text/*` the decoded line breaks are a matter
//! of the reader's platform, RFC 2046 §4.1.1).
//!
//! Invariant: no value from the configuration or from an entry can add a header. Every
//! header value is made one line first (control characters become spaces), then encoded
//! or folded.

mod message;
mod sender;
#[cfg(test)]
mod tests;

use std::io;
use std::time::Duration;

pub use message::Message;
pub use sender::{send_now, Mailer, QUEUE_CAPACITY};

/// Why a message did not reach the mailer; each names the program, on one line. The
/// `io::Error`s are part of the text, not a `source()`, so that a cause-chain printer does
/// not repeat them.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the email \"sendmail\" command is empty")]
    NoCommand,
    #[error("cannot run mailer {program:?}: {error}")]
    Spawn { program: String, error: io::Error },
    #[error("mailer {program:?} {status}{}", on_stderr(.stderr))]
    Failed { program: String, status: String, stderr: String },
    #[error("mailer {program:?} did not finish within {timeout:?}, killed it{}", on_stderr(.stderr))]
    Timeout { program: String, timeout: Duration, stderr: String },
    #[error("mailer {program:?} exited without reading the whole message: {error}")]
    Unread { program: String, error: io::Error },
    #[error("cannot wait for mailer {program:?}: {error}")]
    Wait { program: String, error: io::Error },
    #[error("mailer {program:?} killed: banwarden is stopping")]
    Abandoned { program: String },
}

fn on_stderr(stderr: &str) -> String {
    match stderr {
        "" => " (nothing on stderr)".into(),
        text => format!(": {text}"),
    }
}
