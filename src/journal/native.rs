//! Writing to the journal with its native protocol (systemd.journal-fields(7),
//! "Native Journal Protocol"): one datagram per entry to journald's socket.
//!
//! banwarden writes its own entries (`action_log`) to the journal it
//! follows, so that it reads them back: when it follows a namespace, that
//! is the namespace's socket, which libsystemd's `sd_journal_send` cannot
//! address. Values holding a newline use the protocol's binary form, so a
//! message can never forge a field.

use std::io;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use super::sd::Source;
use crate::effect::Level;

pub const DEFAULT_SOCKET: &str = "/run/systemd/journal/socket";

/// Largest message sent whole. A datagram is limited by the socket's send
/// buffer; journald can take more through a memfd, which a log line of
/// banwarden's never needs.
const MAX_MESSAGE: usize = 32 * 1024;

pub struct JournalWriter {
    socket: UnixDatagram,
    path: PathBuf,
    buf: Vec<u8>,
}

impl JournalWriter {
    /// A writer to the socket of the journal `source` is read from (the
    /// default journal for directories and files).
    pub fn for_source(source: &Source) -> io::Result<JournalWriter> {
        match source {
            Source::Namespace(name) => JournalWriter::new(format!("/run/systemd/journal.{name}/socket")),
            _ => JournalWriter::new(DEFAULT_SOCKET),
        }
    }

    pub fn new(path: impl Into<PathBuf>) -> io::Result<JournalWriter> {
        Ok(JournalWriter { socket: UnixDatagram::unbound()?, path: path.into(), buf: Vec::with_capacity(512) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one entry with these fields.
    pub fn send(&mut self, fields: &[(&str, &[u8])]) -> io::Result<()> {
        self.buf.clear();
        for (name, value) in fields {
            encode_field(&mut self.buf, name, value);
        }
        self.socket.send_to(&self.buf, &self.path).map(|_| ())
    }

    /// Writes a log line as banwarden's `action_log` does.
    pub fn log(&mut self, identifier: &str, level: Level, message: &str) -> io::Result<()> {
        let message = truncate(message, MAX_MESSAGE);
        let priority = [b'0' + level.priority()];
        self.send(&[
            ("MESSAGE", message.as_bytes()),
            ("PRIORITY", &priority),
            ("SYSLOG_IDENTIFIER", identifier.as_bytes()),
        ])
    }
}

/// Appends one field: `NAME=value\n`, or for a value with a newline the
/// binary form `NAME\n`, little-endian u64 length, value, `\n`.
pub fn encode_field(buf: &mut Vec<u8>, name: &str, value: &[u8]) {
    buf.extend_from_slice(name.as_bytes());
    if value.contains(&b'\n') {
        buf.push(b'\n');
        buf.extend_from_slice(&(value.len() as u64).to_le_bytes());
        buf.extend_from_slice(value);
    } else {
        buf.push(b'=');
        buf.extend_from_slice(value);
    }
    buf.push(b'\n');
}

fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_is_binary_safe() {
        let mut buf = Vec::new();
        encode_field(&mut buf, "MESSAGE", b"one line");
        encode_field(&mut buf, "MESSAGE", b"two\nPRIORITY=0");
        let mut expected = b"MESSAGE=one line\nMESSAGE\n".to_vec();
        expected.extend_from_slice(&14u64.to_le_bytes());
        expected.extend_from_slice(b"two\nPRIORITY=0\n");
        assert_eq!(buf, expected);
    }

    #[test]
    fn sends_to_a_socket() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("socket");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut writer = JournalWriter::new(&path).unwrap();
        writer.log("banwarden", Level::Notice, "Ban from SSH for 192.0.2.7").unwrap();
        let mut got = [0u8; 256];
        let n = server.recv(&mut got).unwrap();
        assert_eq!(&got[..n], b"MESSAGE=Ban from SSH for 192.0.2.7\nPRIORITY=5\nSYSLOG_IDENTIFIER=banwarden\n");
        assert_eq!(truncate("aé", 2), "a");
    }
}
