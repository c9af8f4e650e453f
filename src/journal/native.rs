//! Writing to the journal with its native protocol (systemd.journal-fields(7),
//! "Native Journal Protocol"): one datagram per entry to journald's socket.
//!
//! banwarden writes its own entries (`action_log`) to the journal it
//! follows, so that it reads them back: when it follows a namespace, that
//! is the namespace's socket, which libsystemd's `sd_journal_send` cannot
//! address. Values holding a newline use the protocol's binary form, so a
//! message can never forge a field.

use std::io;
use std::os::unix::ffi::OsStrExt;
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
        self.log_with(identifier, level, message, &[])
    }

    /// [`log`](Self::log) with more fields after the usual three
    /// (`MESSAGE_ID`, `BANWARDEN_IP`...: see [`super::ids`]).
    pub fn log_with(
        &mut self,
        identifier: &str,
        level: Level,
        message: &str,
        extra: &[(&str, &[u8])],
    ) -> io::Result<()> {
        let message = truncate(message, MAX_MESSAGE);
        let priority = [b'0' + level.priority()];
        self.buf.clear();
        let usual: [(&str, &[u8]); 3] =
            [("MESSAGE", message.as_bytes()), ("PRIORITY", &priority), ("SYSLOG_IDENTIFIER", identifier.as_bytes())];
        for (name, value) in usual.iter().chain(extra) {
            encode_field(&mut self.buf, name, value);
        }
        self.socket.send_to(&self.buf, &self.path).map(|_| ())
    }
}

/// The native socket of the journal that `fd` (a stream connected to
/// journald's `stdout` socket, as a service's stderr is) writes to: the
/// same directory's `socket`, so that lines sent natively land in the same
/// journal (namespace) as the stream's. `None` when `fd` is not connected
/// to such a socket.
pub fn socket_of_stream(fd: std::os::fd::RawFd) -> Option<PathBuf> {
    // SAFETY: getpeername fills at most `len` bytes of the zeroed address.
    let mut addr: libc::sockaddr_un = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
    if unsafe { libc::getpeername(fd, (&raw mut addr).cast(), &mut len) } != 0
        || addr.sun_family != libc::AF_UNIX as libc::sa_family_t
    {
        return None;
    }
    let path: Vec<u8> = addr.sun_path.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    socket_beside(Path::new(std::ffi::OsStr::from_bytes(&path)))
}

/// `/run/systemd/journal[.NS]/stdout` → the `socket` beside it.
fn socket_beside(stdout: &Path) -> Option<PathBuf> {
    let dir = stdout.parent()?;
    let journal = dir.file_name()?.to_str()?;
    let ours = stdout.file_name()? == "stdout" && (journal == "journal" || journal.starts_with("journal."));
    ours.then(|| dir.join("socket"))
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
        writer.log_with("banwarden", Level::Info, "m", &[("BANWARDEN_IP", b"192.0.2.7")]).unwrap();
        let n = server.recv(&mut got).unwrap();
        assert_eq!(&got[..n], b"MESSAGE=m\nPRIORITY=6\nSYSLOG_IDENTIFIER=banwarden\nBANWARDEN_IP=192.0.2.7\n");
    }

    #[test]
    fn the_native_socket_is_the_stream_s_neighbour() {
        let of = |p: &str| socket_beside(Path::new(p));
        assert_eq!(of("/run/systemd/journal/stdout"), Some(PathBuf::from("/run/systemd/journal/socket")));
        assert_eq!(of("/run/systemd/journal.web/stdout"), Some(PathBuf::from("/run/systemd/journal.web/socket")));
        assert_eq!(of("/tmp/stdout"), None);
        assert_eq!(of("/run/systemd/journal/socket"), None);
        // A pipe is no socket at all.
        let (read, _write) = std::io::pipe().unwrap();
        use std::os::fd::AsRawFd;
        assert_eq!(socket_of_stream(read.as_raw_fd()), None);
    }
}
