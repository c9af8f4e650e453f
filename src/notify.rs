//! Telling the service manager how the daemon is doing: the sd_notify
//! protocol (sd_notify(3)), spoken directly.
//!
//! systemd passes a datagram socket in `$NOTIFY_SOCKET` (a path, or an
//! abstract name written with a leading `@`) and, with `WatchdogSec=`, the
//! keep-alive period in `$WATCHDOG_USEC` (for the process `$WATCHDOG_PID`
//! names, when set). [`Notifier::from_env`] takes both and removes them from
//! the environment, so that programs banwarden runs (sendmail) do not
//! inherit them. Without `$NOTIFY_SOCKET` every call does nothing: the same
//! code runs in a terminal.
//!
//! The messages: `READY=1` once the configuration is compiled, the sets
//! checked and the journal open; `STATUS=` with what has been done;
//! `RELOADING=1` (with `MONOTONIC_USEC=`, as systemd 253+ requires) while a
//! new configuration is loaded, then `READY=1` again; `STOPPING=1`; and
//! `WATCHDOG=1` from the event loop, at half the period systemd expects:
//! a loop that hangs stops sending them and systemd restarts the service.
//!
//! Nothing here may stop the daemon: a failed send is reported once.

use std::os::linux::net::SocketAddrExt;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::{Duration, Instant};

use crate::diag;

pub struct Notifier {
    socket: Option<(UnixDatagram, SocketAddr)>,
    /// Half of `WATCHDOG_USEC`: how often to send a keep-alive.
    watchdog_every: Option<Duration>,
    /// When the last keep-alive went out (none yet: the first is due).
    last_watchdog: Option<Instant>,
    last_status: String,
    failed: bool,
}

impl Notifier {
    /// A notifier that sends nothing.
    pub fn none() -> Notifier {
        Notifier { socket: None, watchdog_every: None, last_watchdog: None, last_status: String::new(), failed: false }
    }

    /// Takes the socket and the watchdog period systemd passed, and clears
    /// them from the environment (call before any thread starts).
    pub fn from_env() -> Notifier {
        let mut notifier = Notifier::none();
        let socket = std::env::var_os("NOTIFY_SOCKET");
        let watchdog_usec = std::env::var("WATCHDOG_USEC").ok();
        let watchdog_pid = std::env::var("WATCHDOG_PID").ok();
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] {
            std::env::remove_var(name);
        }
        if let Some(path) = socket {
            match connect(path.as_encoded_bytes()) {
                Ok(pair) => notifier.socket = Some(pair),
                Err(e) => diag!(Warning, "cannot use $NOTIFY_SOCKET {}: {e}", path.to_string_lossy()),
            }
        }
        notifier.watchdog_every =
            watchdog_period(watchdog_usec.as_deref(), watchdog_pid.as_deref(), std::process::id());
        notifier
    }

    /// The keep-alive period systemd expects, if any.
    pub fn watchdog(&self) -> Option<Duration> {
        self.watchdog_every.map(|half| half * 2)
    }

    /// `wait`, shortened so that a keep-alive is not late.
    pub fn cap_wait(&self, wait: Duration) -> Duration {
        match self.watchdog_every {
            Some(every) => wait.min(every),
            None => wait,
        }
    }

    pub fn ready(&mut self, status: &str) {
        self.last_status = status.to_owned();
        self.send(&format!("READY=1\nSTATUS={status}"));
    }

    /// Says a new configuration is being loaded; [`ready`](Self::ready) ends it.
    pub fn reloading(&mut self) {
        self.send(&format!("RELOADING=1\nMONOTONIC_USEC={}", monotonic_usec()));
    }

    pub fn stopping(&mut self) {
        self.send("STOPPING=1\nSTATUS=stopping");
    }

    /// Sends the status line, if it changed.
    pub fn status(&mut self, status: &str) {
        if self.socket.is_some() && status != self.last_status {
            self.last_status = status.to_owned();
            self.send(&format!("STATUS={status}"));
        }
    }

    /// Sends a keep-alive if half the watchdog period has passed by `now`
    /// (the caller's monotonic clock).
    pub fn keep_alive(&mut self, now: Instant) {
        if let Some(every) = self.watchdog_every {
            if self.last_watchdog.is_none_or(|last| now.saturating_duration_since(last) >= every) {
                self.last_watchdog = Some(now);
                self.send("WATCHDOG=1");
            }
        }
    }

    fn send(&mut self, message: &str) {
        let Some((socket, address)) = &self.socket else { return };
        if let Err(e) = socket.send_to_addr(message.as_bytes(), address) {
            if !self.failed {
                self.failed = true;
                diag!(Warning, "cannot notify the service manager: {e}");
            }
        }
    }
}

fn connect(path: &[u8]) -> std::io::Result<(UnixDatagram, SocketAddr)> {
    let address = match path {
        [b'@', name @ ..] => SocketAddr::from_abstract_name(name)?,
        [b'/', ..] => SocketAddr::from_pathname(std::path::Path::new(std::ffi::OsStr::from_bytes(path)))?,
        _ => return Err(std::io::Error::other("neither an absolute path nor an abstract name")),
    };
    Ok((UnixDatagram::unbound()?, address))
}

/// Half the watchdog period, when the watchdog is on for this process.
fn watchdog_period(usec: Option<&str>, pid: Option<&str>, own_pid: u32) -> Option<Duration> {
    let usec: u64 = usec?.trim().parse().ok().filter(|&u| u > 0)?;
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(own_pid) {
            return None;
        }
    }
    Some(Duration::from_micros(usec / 2))
}

/// CLOCK_MONOTONIC in microseconds, the clock `MONOTONIC_USEC=` is read on.
fn monotonic_usec() -> u64 {
    let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes one timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut now) };
    now.tv_sec as u64 * 1_000_000 + now.tv_nsec as u64 / 1_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_watchdog_is_for_this_process_only() {
        assert_eq!(watchdog_period(Some("30000000"), None, 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_period(Some("30000000"), Some("7"), 7), Some(Duration::from_secs(15)));
        assert_eq!(watchdog_period(Some("30000000"), Some("8"), 7), None);
        assert_eq!(watchdog_period(Some("0"), None, 7), None);
        assert_eq!(watchdog_period(Some("soon"), None, 7), None);
        assert_eq!(watchdog_period(None, None, 7), None);
    }

    #[test]
    fn messages_reach_a_socket_by_path_and_by_abstract_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify");
        let listener = UnixDatagram::bind(&path).unwrap();
        let abstract_name = format!("banwarden-test-{}", std::process::id());
        let abstract_listener =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(abstract_name.as_bytes()).unwrap()).unwrap();
        for (target, listener) in
            [(path.to_str().unwrap().to_owned(), &listener), (format!("@{abstract_name}"), &abstract_listener)]
        {
            let mut notifier = Notifier::none();
            notifier.socket = Some(connect(target.as_bytes()).unwrap());
            notifier.ready("judging");
            notifier.status("judging");
            notifier.status("2 bans");
            let mut buf = [0u8; 256];
            let n = listener.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"READY=1\nSTATUS=judging");
            // The unchanged status was not sent again.
            let n = listener.recv(&mut buf).unwrap();
            assert_eq!(&buf[..n], b"STATUS=2 bans");
        }
        assert!(connect(b"relative").is_err());
    }
}
